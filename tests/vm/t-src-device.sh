# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-device: the element opening the mdev itself, and the mdev going away
# (run by run-vm with an mbochs_rw mdev).
#  1. device=UUID, when nobody holds the device: frames flow
#  2. device=/sys/bus/mdev/devices/UUID: the same
#  3. device=UUID borrow=false while the guest program (the VMM) holds it:
#     the "busy" error, which tells to borrow or use device-fd (borrowing
#     itself: vm-src-borrow)
#  4. removing the mdev through sysfs while streaming: the removal blocks
#     (the samples send no request IRQ), the stream goes on, nothing hangs;
#     once the pipeline stops the removal completes; no kernel warning
#  5. device=UUID after the removal: a clear error
. "$(dirname "$0")/lib.sh"

uuid=$(mdev_uuid mbochs_rw-medium)
path=/sys/bus/mdev/devices/$uuid
log=/tmp/capture.log
caps='video/x-raw(memory:DMABuf),format=DMA_DRM,framerate=15/1'

# The mode stays set after the guest program exits (the pages go).
"$GUEST" --device "$uuid" 'mode 640 480; draw 1' >/dev/null ||
  fail "could not set a mode"

step "device=UUID"
run_logged $log timeout 60 "$CAPTURE" \
  "vfiogfxsrc device=$uuid num-buffers=5 ! $caps ! fakesink name=sink" ||
  fail "the pipeline failed"
expect $log '^capture: run 640x480 unchecked buffers=5$' "5 frames"

step "device=sysfs path"
run_logged $log timeout 60 "$CAPTURE" \
  "vfiogfxsrc device=$path num-buffers=5 ! $caps ! fakesink name=sink" ||
  fail "the pipeline failed"
expect $log '^capture: run 640x480 unchecked buffers=5$' "5 frames"

step "device=UUID borrow=false while the VMM holds the device"
rc=0
run_logged $log "$GUEST" --device "$uuid" run -- timeout 60 "$CAPTURE" \
  "vfiogfxsrc device=$uuid borrow=false ! fakesink name=sink" || rc=$?
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log \
  '^capture: error: Could not open /dev/vfio/[0-9]+: it is already open.*borrow.*device-fd' \
  "the busy error"

step "removing the mdev while streaming"
rm -f /tmp/ready
"$CAPTURE" --progress --ready /tmp/ready \
  "vfiogfxsrc device=$uuid ! $caps ! fakesink name=sink" >$log 2>&1 &
cap=$!
# A holder left behind would also hang the VM's power-off, which waits for
# the removal.
trap 'kill -KILL $cap 2>/dev/null' EXIT
for i in $(seq 100); do
  [ -e /tmp/ready ] || ! kill -0 $cap 2>/dev/null || sleep 0.1
done
[ -e /tmp/ready ] || { cat $log; fail "no frame within 10 s"; }
(echo 1 >"$path/remove") &
rem=$!
sleep 1
frames () {
  sed -n 's/^capture: progress.*: \([0-9]*\) frames.*/\1/p' $log | tail -n 1
}
before=$(frames)
sleep 2.5
after=$(frames)
say "frames while the removal waits: $before -> $after"
kill -0 $rem 2>/dev/null || fail "the removal did not wait for the open device"
kill -0 $cap 2>/dev/null ||
  { cat $log; fail "capture died during the removal"; }
[ "${after:-0}" -gt "${before:-0}" ] ||
  fail "the stream stopped while the removal waits"
# The kernel unlinks the device from sysfs before it waits.
[ -e "$path" ] && there=yes || there=no
say "$path exists while the removal waits: $there"
kill -INT $cap
timeout 20 tail --pid=$cap -f /dev/null ||
  fail "capture did not stop 20 s after SIGINT"
rc=0
wait $cap || rc=$?
trap - EXIT
sed 's/^/  | /' $log
[ $rc -eq 0 ] || fail "capture ended with status $rc"
timeout 20 tail --pid=$rem -f /dev/null ||
  fail "the removal did not complete 20 s after the pipeline stopped"
wait $rem || fail "the removal failed"
[ ! -e "$path" ] || fail "$path is still there"

step "device=UUID after the removal"
rc=0
run_logged $log timeout 60 "$CAPTURE" \
  "vfiogfxsrc device=$uuid ! fakesink name=sink" || rc=$?
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log "^capture: error: No device at $path" "the no-device error"
no_kernel_trouble
say "OK"
