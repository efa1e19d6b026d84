# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-limits: what the samples cannot do, and what they have (run by
# run-vm with mbochs, mbochs_rw and mdpy loaded, one mdev of each).
#  1. mbochs_rw at 800x600 (1 920 000 B, not whole pages) as DMABuf: frames
#     flow with DMA_DRM caps, although the CPU cannot map them
#  2. the same as system memory: the element's error, naming vapostproc
#     (or, if the element ever copies, pixel-exact frames); never a crash
#  3. stock mbochs (read-only dma-bufs) as system memory: that error
#  4. stock mbochs as DMABuf: frames flow
#  5. the EDID region: found on mbochs-medium (max 1920x1440), not on mdpy;
#     the interrupts both offer (no request IRQ to use)
. "$(dirname "$0")/lib.sh"

rw=$(mdev_uuid mbochs_rw-medium)
ro=$(mdev_uuid mbochs-medium)
mdpy=$(mdev_uuid mdpy-vga)
log=/tmp/capture.log
dmabuf='video/x-raw(memory:DMABuf),format=DMA_DRM,framerate=15/1'
sysmem='video/x-raw,format=BGRx,framerate=15/1'

# capture DEVICE MODE CAPS: captures 1 s of frame 0 at MODE; the status is
# capture's.
capture () {
  rm -f /tmp/ready
  run_logged $log "$GUEST" --device "$1" --mode "$2" \
    --script 'await /tmp/ready; sleep 1; signal INT' \
    run -- sh -c "exec \"\$CAPTURE\" --check --ready /tmp/ready \
      \"vfiogfxsrc device-fd=\$VFIO_DEVICE_FD ! $3 ! fakesink name=sink\""
}

# refused: capture's log shows the element's error, and no frame.
refused () {
  expect $log '^capture: error: .*cannot be mapped by the CPU.*vapostproc' \
    "the element's error"
  expect_not $log '^capture: run ' "a frame was pushed"
}

step "mbochs_rw 800x600, DMABuf"
capture "$rw" 800x600 "$dmabuf" || fail "the pipeline failed"
expect_caps $log 'video/x-raw(memory:DMABuf)' 'drm-format=(string)XR24' \
  'width=(int)800' 'height=(int)600'
expect $log '^capture: run 800x600 unmapped buffers=([5-9]|[1-9][0-9]+)$' \
  "at least 5 frames"

step "mbochs_rw 800x600, system memory"
rc=0
capture "$rw" 800x600 "$sysmem" || rc=$?
if [ $rc -eq 0 ]; then
  # A copy: the frames must be whole.
  [ "$(digest $log)" = "ON 800x600:0" ] || fail "copied frames are not frame 0"
  say "the element copied the frames"
else
  [ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
  refused
fi

step "stock mbochs, system memory"
rc=0
capture "$ro" 640x480 "$sysmem" || rc=$?
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
refused

step "stock mbochs, DMABuf"
capture "$ro" 640x480 "$dmabuf" || fail "the pipeline failed"
expect_caps $log 'video/x-raw(memory:DMABuf)' 'drm-format=(string)XR24' \
  'width=(int)640' 'height=(int)480'
expect $log '^capture: run 640x480 unmapped buffers=([5-9]|[1-9][0-9]+)$' \
  "at least 5 frames"

step "EDID region and interrupts"
run_logged $log "$GUEST" --device "$ro" run -- "$DEVINFO" ||
  fail "devinfo failed on mbochs"
expect $log '^devinfo: edid region=[0-9]+ max=1920x1440 ' "mbochs-medium's EDID"
run_logged $log "$GUEST" --device "$mdpy" run -- "$DEVINFO" ||
  fail "devinfo failed on mdpy"
expect $log '^devinfo: edid none ' "no EDID region on mdpy"
no_kernel_trouble
say "OK"
