# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-qemu: the element borrowing from a real QEMU that runs a real Linux guest
# on the mbochs_rw mdev (run by run-vm with --nested-guest kmsguest). The
# guest's kernel drives the mdev with its bochs DRM driver; its only program,
# kmsguest, sets the mode with KMS, then page-flips among three dumb buffers
# holding the test pattern, and powers the guest off.
#  1. while QEMU holds the group, a user without ptrace permission over it
#     gets the error that says what is missing
#  2. once the guest has set its mode, device=UUID borrows QEMU's device fd:
#     every buffer is a whole frame, several frames in the order the guest
#     flipped them; each of the three scan-out buffers is its own
#     dmabuf_id, exported once
#  3. the guest powers off, QEMU exits: the stream ends with EOS and a
#     warning naming QEMU's pid, and the mdev can be removed at once; neither
#     kernel logged a warning (the guest's console has loglevel 5, as
#     run-vm's)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/realvm.sh"

uuid=$(mdev_uuid mbochs_rw-medium)
path=/sys/bus/mdev/devices/$uuid

stop_all () {
  local p
  for p in $cap $qemu $cat_pid; do
    kill "$p" 2>/dev/null
  done
  wait 2>/dev/null
}
trap stop_all EXIT

qemu_holds_group () {
  local fd
  for fd in /proc/"$qemu"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$VFIO_GROUP" ] && return 0
  done
  return 1
}

step "QEMU with a Linux guest on the mdev (display=off)"
serial_open
started=$(now)
( exec qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
    -machine pc -accel tcg -cpu max -m 256 -smp 1 -display none -vga none \
    -kernel "$NESTED_KERNEL" -initrd "$NESTED_INITRD" \
    -append "$guest_cmdline" \
    -chardev pipe,id=serial,path=$serial -serial chardev:serial \
    -device "vfio-pci,sysfsdev=$path,display=off" ) >$vmm_log 2>&1 &
qemu=$!
wait_for 60 qemu_holds_group ||
  { cat $vmm_log; fail "QEMU did not open $VFIO_GROUP"; }
say "QEMU (pid $qemu) holds $VFIO_GROUP after $(since "$started") s"

step "no ptrace permission over QEMU"
chmod 0666 "$VFIO_GROUP"
# A registry this user can read: a plugin scan would take a minute here.
cp "$GST_REGISTRY" /tmp/registry-nobody.bin
chmod 0644 /tmp/registry-nobody.bin
rc=0
run_logged $log timeout 60 env HOME=/tmp GST_REGISTRY_UPDATE=no \
  GST_REGISTRY=/tmp/registry-nobody.bin setpriv --reuid=65534 \
  --regid=65534 --clear-groups "$CAPTURE" \
  "vfiogfxsrc device=$uuid ! video/x-raw,format=BGRx ! fakesink name=sink" ||
  rc=$?
chmod 0600 "$VFIO_GROUP"
[ $rc -eq 1 ] || fail "capture ended with status $rc, not an error"
expect $log "^capture: error: .*could not be borrowed.*ptrace permission" \
  "the permission error"
kill -0 "$qemu" || fail "QEMU died"

step "the guest sets its mode; the capture borrows QEMU's device"
capture_guest "$started"

step "the guest flips and powers off; the stream ends with EOS"
capture_ends "$started"
check_guest_frames

step "the mdev can be removed at once"
mdev_removable

no_kernel_trouble
say "OK"
