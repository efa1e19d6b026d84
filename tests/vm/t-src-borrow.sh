# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-src-borrow: the element borrowing the device of the process that holds
# it (run by run-vm with an mbochs_rw mdev). The guest program plays the
# VMM: it opens the mdev, draws a frame and keeps the group open, as QEMU
# does; the capture is another process, not its child.
#  1. device=UUID while the VMM holds the group: the VMM's device fd is
#     borrowed (pidfd_getfd), frames are pixel-exact; the VMM exits: the
#     stream ends with EOS and a warning naming its pid, and the group can
#     be opened again at once (nothing kept it)
#  2. a second capture process on the same running VM does not export what
#     the first one exported (mbochs would corrupt host memory): it skips
#     it; after the VM restarts, frames come again
#  3. a VMM that shows the display itself (display=on in its command line)
#     is refused on mbochs, which must not export a framebuffer twice
#  4. a user without ptrace permission over the VMM gets the error that
#     says what is missing
. "$(dirname "$0")/lib.sh"

uuid=$(mdev_uuid mbochs_rw-medium)
path=/sys/bus/mdev/devices/$uuid
log=/tmp/capture.log
caps='video/x-raw,format=BGRx,framerate=15/1'
vmm=

# start_vmm [ARGV0]: the guest program holding the mdev, with frame 3 shown;
# ARGV0 is what its command line says (a VMM's arguments).
start_vmm () {
  rm -f /tmp/vmm.log
  ( exec -a "${1:-vmm}" "$GUEST" --device "$uuid" \
      'mode 640 480; draw 3; echo holding; sleep 120' ) >/tmp/vmm.log 2>&1 &
  vmm=$!
  for i in $(seq 200); do
    grep -q '^holding' /tmp/vmm.log 2>/dev/null && return 0
    kill -0 $vmm 2>/dev/null || break
    sleep 0.1
  done
  cat /tmp/vmm.log
  fail "the VMM did not start"
}

stop_vmm () {
  kill $vmm 2>/dev/null
  wait $vmm 2>/dev/null
  vmm=
}
trap 'stop_vmm' EXIT

step "device=UUID while the VMM holds it: borrowed; the VMM exits: EOS"
start_vmm
rm -f /tmp/ready
"$CAPTURE" --check --ready /tmp/ready \
  "vfiogfxsrc device=$uuid ! $caps ! fakesink name=sink" >$log 2>&1 &
cap=$!
for i in $(seq 200); do
  [ -e /tmp/ready ] || ! kill -0 $cap 2>/dev/null || sleep 0.1
done
[ -e /tmp/ready ] || { cat $log; fail "no frame within 20 s"; }
sleep 1
kill -0 $vmm || fail "the VMM died"
pid=$vmm
stop_vmm
timeout 20 tail --pid=$cap -f /dev/null ||
  { kill -KILL $cap; fail "the capture went on after the VMM exited"; }
rc=0
wait $cap || rc=$?
sed 's/^/  | /' $log
[ $rc -eq 0 ] || fail "capture ended with status $rc, not at EOS"
expect $log '^capture: run 640x480 frame=3 buffers=[0-9]+$' "exact frames"
expect $log "^capture: warning: The VM's process $pid exited" \
  "the warning naming the VMM"
"$GUEST" --device "$uuid" 'query' >/tmp/reopen.log 2>&1 ||
  { cat /tmp/reopen.log; fail "the group is still held after the VMM exited"; }

step "a second capture process on the same running VM exports nothing again"
# mbochs corrupts host memory when a framebuffer is exported again after
# the first capture released it: the second process must skip it.
start_vmm
run_logged $log timeout 60 "$CAPTURE" --check \
  "vfiogfxsrc device=$uuid num-buffers=5 ! $caps ! fakesink name=sink" ||
  fail "the first capture failed"
expect $log '^capture: run 640x480 frame=3 buffers=5$' "5 exact frames"
run_logged $log timeout 60 "$CAPTURE" --duration 4 \
  "vfiogfxsrc device=$uuid ! $caps ! fakesink name=sink" ||
  fail "the second capture failed"
expect $log 'exported by another capture process' "the refusal"
expect_not $log '^capture: run ' "a frame from a second export"
# A new life of the VM: its framebuffers are captured again.
stop_vmm
start_vmm
run_logged $log timeout 60 "$CAPTURE" --check \
  "vfiogfxsrc device=$uuid num-buffers=5 ! $caps ! fakesink name=sink" ||
  fail "the capture after the VM restarted failed"
expect $log '^capture: run 640x480 frame=3 buffers=5$' "5 exact frames"
stop_vmm

step "a VMM showing the display itself: refused on mbochs"
start_vmm "qemu-system-x86_64 -device vfio-pci,sysfsdev=$path,display=on"
rc=0
run_logged $log timeout 60 "$CAPTURE" \
  "vfiogfxsrc device=$uuid ! $caps ! fakesink name=sink" || rc=$?
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log "^capture: error: .*could not be borrowed.*display=on" \
  "the two-consumers error"
stop_vmm

step "no ptrace permission over the VMM"
start_vmm
chmod 0666 "$VFIO_GROUP"
rc=0
run_logged $log timeout 60 env HOME=/tmp setpriv --reuid=65534 \
  --regid=65534 --clear-groups "$CAPTURE" \
  "vfiogfxsrc device=$uuid ! $caps ! fakesink name=sink" || rc=$?
chmod 0600 "$VFIO_GROUP"
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log "^capture: error: .*could not be borrowed.*ptrace permission" \
  "the permission error"
stop_vmm

no_kernel_trouble
say "OK"
