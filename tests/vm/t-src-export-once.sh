# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-export-once: the element exports each dma-buf id of a stock mbochs
# device once for as long as the device stays open, counted by mbochs
# itself (dynamic debug) and by the element's stats. mbochs drops the page
# references of an id at every release of its dma-buf, so a second export
# frees pages it does not own (FACTS.md). Run by run-vm with three
# mbochs-medium mdevs, one per scenario; each scenario ends by removing its
# mdev and checking the kernel log.
#  a. the guest pans among 24 scan-out buffers (24 ids, more than a cache of
#     16 would keep) 2.5 times while the element captures every tick
#  b. one element, three restarts PLAYING -> PAUSED -> READY -> PLAYING
#  d. the element freed and made again on the same adopted device fd, three
#     times
# (c., two elements on one device, is vm-src-export-shared.)
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2207 # UUIDs have no blanks
mdevs=($(mdevs_of_type mbochs-medium))
[ ${#mdevs[@]} -ge 3 ] || fail "3 mbochs-medium mdevs wanted: ${mdevs[*]}"
log=/tmp/capture.log
# DMABuf caps: stock mbochs exports read-only, nothing maps a frame.
src='vfiogfxsrc device-fd=$VFIO_DEVICE_FD capture-mode=every-tick'
caps='video/x-raw(memory:DMABuf),format=DMA_DRM,framerate=30/1'
mbochs_debug_on

# capture_on UUID MODE SCRIPT CAPTURE-OPTIONS: the guest sets MODE (WxH) and
# shows frame 0, runs SCRIPT once capture has its first buffer, then
# interrupts capture if it still runs.
capture_on () {
  rm -f /tmp/ready
  run_logged $log "$GUEST" --device "$1" --mode "$2" \
    --script "await /tmp/ready; $3; sleep 1; signal INT" \
    run -- sh -c "exec \"\$CAPTURE\" --ready /tmp/ready ${4:-} \
      \"$src ! $caps ! fakesink name=sink\"" ||
    fail "the pipeline failed"
}

# 320x240 XR24: 75 pages a buffer, 24 fit in the 16 MiB of mbochs-medium.
# The guest pans at 10 fps, the element looks 30 times a second.
scenario_a () {
  kernel_mark a
  capture_on "${mdevs[0]}" 320x240 "cycle 24 60 10"
  expect_frames $log
  exports_end a "${mdevs[0]}" $log 20
}

scenario_b () {
  kernel_mark b
  capture_on "${mdevs[1]}" 640x480 "animate 1 60 5 flip" \
    "--cycles 3 --frames 15"
  [ "$(grep -c '^capture: restart ' $log)" -eq 3 ] || fail "not 3 restarts"
  expect_frames $log
  exports_end b "${mdevs[1]}" $log 1
}

scenario_d () {
  kernel_mark d
  capture_on "${mdevs[2]}" 640x480 "animate 1 60 5 flip" \
    "--runs 3 --frames 15"
  [ "$(grep -c '^capture: pipeline [0-9] of 3' $log)" -eq 3 ] ||
    fail "not 3 pipelines"
  expect_frames $log
  exports_end d "${mdevs[2]}" $log 1
}

scenario "a. 24 scan-out buffers, each shown 2 or 3 times" scenario_a
scenario "b. three restarts through PAUSED and READY" scenario_b
scenario "d. the element made again on the same device fd" scenario_d
scenarios_result
say "OK"
