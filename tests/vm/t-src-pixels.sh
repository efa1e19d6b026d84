# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-pixels: frames through the element are pixel-exact, for each kind of
# plane (run by run-vm with mbochs_rw and mdpy loaded, one mdev of each).
#  1. mbochs_rw dma-bufs as system memory (BGRx): every buffer is a whole
#     frame of the test pattern, the flips show up in order, two exports
#  2. the same as DMABuf memory with DMA_DRM caps (drm-format=XR24), mapped
#  3. mdpy's region plane as system memory, a redraw shows up
. "$(dirname "$0")/lib.sh"

rw=$(mdev_uuid mbochs_rw-medium)
mdpy=$(mdev_uuid mdpy-vga)
src='vfiogfxsrc device-fd=$VFIO_DEVICE_FD'
log=/tmp/capture.log

# pixels DEVICE GUEST-OPTIONS SCRIPT CAPS: the guest shows frame 0, then
# runs SCRIPT once capture reports its first buffer; capture checks every
# buffer reaching the sink through CAPS.
pixels () {
  rm -f /tmp/ready
  run_logged $log "$GUEST" --device "$1" $2 \
    --script "await /tmp/ready; sleep 0.5; $3; sleep 1; signal INT" \
    run -- sh -c "exec \"\$CAPTURE\" --check --ready /tmp/ready \
      \"$src ! $4,framerate=15/1 ! fakesink name=sink\"" ||
    fail "the pipeline failed"
  say "digest: $(digest $log)"
}

step "mbochs_rw, system memory"
pixels "$rw" "--mode 1024x768" "flip 1; sleep 1; flip 2" \
  "video/x-raw,format=BGRx"
expect_caps $log video/x-raw 'format=(string)BGRx' 'width=(int)1024' \
  'height=(int)768'
[ "$(digest $log)" = "ON 1024x768:0 1024x768:1 1024x768:2" ] ||
  fail "the frames are not 0, 1, 2 in order"
expect_not $log '^capture: run .* (invalid|unmapped)' \
  "a buffer that is not a whole frame"
[ "$(stat $log exports)" = 2 ] || fail "not 2 exports (one per buffer)"

step "mbochs_rw, DMABuf with DMA_DRM caps"
pixels "$rw" "--mode 1024x768" "flip 1; sleep 1; flip 2" \
  "video/x-raw(memory:DMABuf),format=DMA_DRM"
expect_caps $log 'video/x-raw(memory:DMABuf)' 'format=(string)DMA_DRM' \
  'drm-format=(string)XR24' 'width=(int)1024' 'height=(int)768'
[ "$(digest $log)" = "ON 1024x768:0 1024x768:1 1024x768:2" ] ||
  fail "the frames are not 0, 1, 2 in order"
expect_not $log '^capture: run .* (invalid|unmapped)' \
  "a buffer that is not a whole frame"

step "mdpy, region plane as system memory"
pixels "$mdpy" "" "draw 1" "video/x-raw,format=BGRx"
expect_caps $log video/x-raw 'format=(string)BGRx' 'width=(int)640' \
  'height=(int)480'
# The guest draws into the plane that is shown: a buffer caught while it
# draws is torn (invalid), the frames before and after are whole.
[ "$(digest $log)" = "ON 640x480:0 640x480:1" ] ||
  fail "the frames are not 0 then 1"
no_kernel_trouble
say "OK"
