# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-export-shared: two vfiogfxsrc in one process on the same stock
# mbochs device (the same adopted device fd) between them export each
# dma-buf id once, and both get frames. On mbochs a second GET_GFX_DMABUF
# for an id whose dma-buf is open hands out the same file again without a
# reference (a kernel BUG when the fds close), and one after the release
# frees pages a second time (FACTS.md). Counted by mbochs itself (dynamic
# debug) and by the elements' stats. Run by run-vm with one mbochs-medium
# mdev; the scenario ends by removing it and checking the kernel log. A
# separate VM from vm-src-export-once: where the bug is, this one takes the
# kernel down.
#  c. two elements in one pipeline, the guest flipping between two buffers
. "$(dirname "$0")/lib.sh"

uuid=$(mdev_uuid mbochs-medium)
log=/tmp/capture.log
caps='video/x-raw(memory:DMABuf),format=DMA_DRM,framerate=30/1'
# branch NAME SINK: a vfiogfxsrc on the device fd that guest hands over.
branch () {
  printf 'vfiogfxsrc name=%s device-fd=$VFIO_DEVICE_FD' "$1"
  printf ' capture-mode=every-tick ! %s ! fakesink name=%s' "$caps" "$2"
}
mbochs_debug_on

scenario_c () {
  kernel_mark c
  rm -f /tmp/ready
  run_logged $log "$GUEST" --device "$uuid" --mode 640x480 \
    --script "await /tmp/ready; animate 1 40 5 flip; sleep 1; signal INT" \
    run -- sh -c "exec \"\$CAPTURE\" --ready /tmp/ready --frames 90 \
      \"$(branch src0 sink) $(branch src1 sink1)\"" ||
    fail "the pipeline failed"
  [ "$(grep -c '^capture: source src[01] frames=' $log)" -eq 2 ] ||
    fail "capture did not run two sources"
  expect_frames $log
  exports_end c "$uuid" $log 2
}

scenario "c. two elements on one device" scenario_c
scenarios_result
say "OK"
