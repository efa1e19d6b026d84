# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-modes: one stream through mode changes, page flips and a display
# turned off and on (run by run-vm with an mbochs_rw mdev). The guest goes
# 640x480 -> 1024x768 -> 1280x720, flipping in each mode, and blanks the
# display in the middle. Each mode is programmed with its first frame drawn
# before the display is enabled (guest.c's vmode), so the guest never shows
# anything but whole frames. Checked, at a sink taking system memory:
#  - the caps of the frames: 640x480, 1024x768, 1280x720, in that order
#  - every frame shown, in order, pixel-exact at the size of its caps; no
#    invalid frame at all
#  - vfiogfxsrc-signal present=false then present=true around the blank,
#    and frames of the same buffer again after it
#  - 2 renegotiations in the element's stats; EOS ends it cleanly
. "$(dirname "$0")/lib.sh"

log=/tmp/capture.log
run_logged $log "$GUEST" --device "$(mdev_uuid mbochs_rw-medium)" \
  --mode 640x480 --script '
    await /tmp/ready; sleep 0.5; flip 1; sleep 1
    vmode 1024 768 1024 2; sleep 1; blank; sleep 1; unblank; sleep 1
    vmode 1280 720 1280 3; sleep 1; flip 4; sleep 1
    signal INT' \
  run -- sh -c 'exec "$CAPTURE" --check --ready /tmp/ready \
    "vfiogfxsrc device-fd=$VFIO_DEVICE_FD ! \
     video/x-raw,format=BGRx,framerate=15/1 ! fakesink name=sink"' ||
  fail "the pipeline failed"

sizes=$(caps_sizes $log)
say "caps: $sizes"
[ "$sizes" = "640x480 1024x768 1280x720" ] ||
  fail "the caps are not 640x480, 1024x768, 1280x720"
d=$(digest $log)
say "digest: $d"
# A query may catch the display disabled while a mode is programmed (the
# optional OFF ON).
want='ON 640x480:0 640x480:1 (OFF ON )?1024x768:2 OFF ON 1024x768:2 '
want+='(OFF ON )?1280x720:3 1280x720:4'
echo "$d" | grep -Eqx "$want" ||
  fail "not the frames and signals expected"
expect_not $log '^capture: run .* (invalid|unmapped)' \
  "a buffer that is not a whole frame"
[ "$(stat $log renegotiations)" = 2 ] || fail "not 2 renegotiations"
expect $log '^capture: done: ' "capture's summary"
no_kernel_trouble
say "OK"
