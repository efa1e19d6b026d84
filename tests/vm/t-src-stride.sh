# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-stride: a padded stride on the real mbochs (run by run-vm with an
# mbochs_rw mdev, whose dma-bufs the CPU can map). The guest switches its
# 640x480 mode to a virtual width of 704 pixels: mbochs' stride becomes
# 2816 bytes, 256 of them padding, as real GPUs pitch their scan-out. Then
# it flips twice. Checked, pixel by pixel, for frames in system memory:
#  1. at a sink without GstVideoMeta support (fakesink), in the layout the
#     caps imply: the element copies into it (bytes-copied > 0)
#  2. at a sink that reads GstVideoMeta, through the meta: zero copy
# and in both: every frame shown, in order, no invalid frame, one
# renegotiation (the stride changed).
. "$(dirname "$0")/lib.sh"

uuid=$(mdev_uuid mbochs_rw-medium)
log=/tmp/capture.log

# padded CAPTURE-OPTIONS: one run; the padded mode comes with frame 1.
padded () {
  rm -f /tmp/ready
  run_logged $log "$GUEST" --device "$uuid" --mode 640x480 --script '
    await /tmp/ready; sleep 0.5; vmode 640 480 704 1; sleep 1
    flip 2; sleep 1; flip 3; sleep 1; signal INT' \
    run -- sh -c "exec \"\$CAPTURE\" --check $1 --ready /tmp/ready \
      \"vfiogfxsrc device-fd=\$VFIO_DEVICE_FD ! \
       video/x-raw,format=BGRx,framerate=15/1 ! fakesink name=sink\"" ||
    fail "the pipeline failed"
  expect $log 'mode 640x480 stride=2816' "the guest's padded mode"
  d=$(digest $log)
  say "digest: $d"
  echo "$d" | grep -Eqx 'ON 640x480:0 (OFF ON )?640x480:1 640x480:2 640x480:3' ||
    fail "the frames are not 0, 1, 2, 3 in order"
  expect_not $log '^capture: run .* (invalid|unmapped)' \
    "a buffer that is not a whole frame"
  [ "$(stat $log renegotiations)" = 1 ] || fail "not 1 renegotiation"
}

step "a sink without GstVideoMeta support: copied into the default layout"
padded ""
copied=$(stat $log bytes-copied)
say "bytes-copied: $copied"
[ "$copied" -ge $((640 * 480 * 4)) ] || fail "no frame copied"
expect $log 'padded layout' "the message about the copy"

step "a sink that reads GstVideoMeta: zero copy"
padded --meta
[ "$(stat $log bytes-copied)" = 0 ] || fail "copied with meta support"
no_kernel_trouble
say "OK"
