# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-monitor: the device provider on the real kernel's sysfs (run by run-vm
# with mbochs, mbochs_rw, mdpy and mtty mdevs).
#  1. gst-device-monitor-1.0 Video/Source lists the display mdevs with their
#     UUID, sysfs path, parent and type, and the vfiogfxsrc launch line; not
#     the mtty one (a serial port)
#  2. while the guest program holds one (as a VMM whose command line names
#     the VM with -name guest=NAME, as libvirt does), that device shows its
#     holder (pid, command) and the VM's name, which also names the device;
#     the others show no holder
#  3. with udevd running, gst-device-monitor-1.0 -f reports an mdev created
#     through sysfs, and its removal
. "$(dirname "$0")/lib.sh"

rw=$(mdev_uuid mbochs_rw-medium)
mbochs=$(mdev_uuid mbochs-medium)
mdpy=$(mdev_uuid mdpy-vga)
mtty=$(mdev_uuid mtty-2)
log=/tmp/monitor.log
vmm=

command -v gst-device-monitor-1.0 >/dev/null ||
  fail "gst-device-monitor-1.0 is missing (gstreamer1.0-plugins-base-apps)"

monitor () {
  run_logged $log timeout 60 gst-device-monitor-1.0 Video/Source ||
    fail "gst-device-monitor-1.0 failed"
}

stop_vmm () {
  [ -z "$vmm" ] || { kill $vmm 2>/dev/null; wait $vmm 2>/dev/null; }
  vmm=
}
follower=
stop_all () {
  stop_vmm
  [ -z "$follower" ] || kill $follower 2>/dev/null
  udevadm control --exit 2>/dev/null || true
}
trap 'stop_all' EXIT

step "gst-device-monitor-1.0 lists the displays, not the serial port"
monitor
for u in $rw $mbochs $mdpy; do
  block=$(device $log "$u")
  [ -n "$block" ] || fail "$u is not listed"
  expect_field "$block" vfio.sysfs-path "/sys/devices/virtual/.*/$u"
  expect_field "$block" vfio.device-api vfio-pci
  printf '%s\n' "$block" | grep -Eq "gst-launch-1.0 vfiogfxsrc device=$u( |\$)" ||
    fail "no launch line with device=$u"
  printf '%s\n' "$block" | grep -q 'vfio.holder-pid' &&
    fail "$u shows a holder while nobody holds it"
done
block=$(device $log "$mbochs")
expect_field "$block" vfio.parent mbochs
expect_field "$block" vfio.type mbochs-medium
expect_field "$block" vfio.display yes
expect_field "$block" name "mbochs-medium $mbochs"
expect_field "$block" class Video/Source
block=$(device $log "$mdpy")
expect_field "$block" vfio.type mdpy-vga
expect_field "$block" vfio.display yes
# The rig's renamed mbochs is a driver the provider does not know: listed,
# marked unknown.
block=$(device $log "$rw")
expect_field "$block" vfio.parent-driver mbochs_rw
expect_field "$block" vfio.display unknown
[ -z "$(device $log "$mtty")" ] || fail "the mtty mdev is listed"
[ "$(grep -c '^Device found:' $log)" -eq 3 ] ||
  fail "$(grep -c '^Device found:' $log) devices listed, not 3"

step "the holder of a running VM and the VM's name"
# The guest program's last words become its script's last command (echo),
# so they can be a VMM's arguments: its command line reads
# "qemu-system-x86_64 --device UUID SCRIPT -name guest=win-test,...".
( exec -a qemu-system-x86_64 "$GUEST" --device "$mbochs" \
    'mode 640 480; draw 1; echo holding; sleep 60; echo' \
    -name guest=win-test,debug-threads=on ) >/tmp/vmm.log 2>&1 &
vmm=$!
for i in $(seq 200); do
  grep -q '^holding' /tmp/vmm.log 2>/dev/null && break
  kill -0 $vmm 2>/dev/null || break
  sleep 0.1
done
grep -q '^holding' /tmp/vmm.log || { cat /tmp/vmm.log; fail "the VMM did not start"; }
monitor
block=$(device $log "$mbochs")
expect_field "$block" vfio.holder-pid "$vmm"
expect_field "$block" vfio.holder-command guest
expect_field "$block" vfio.holder-user root
expect_field "$block" vfio.vm-name win-test
expect_field "$block" name win-test
for u in $rw $mdpy; do
  device $log "$u" | grep -q 'vfio.holder-pid' &&
    fail "$u shows a holder"
done
stop_vmm

step "mdevs created and removed while it runs"
# The monitor follows udev's events, which udevd sends once it has
# processed the kernel's.
udevd=$(command -v systemd-udevd || echo /usr/lib/systemd/systemd-udevd)
[ -x "$udevd" ] || fail "no systemd-udevd here (package udev)"
"$udevd" --daemon || fail "systemd-udevd did not start"
follow=/tmp/follow.log
stdbuf -oL gst-device-monitor-1.0 -f Video/Source >$follow 2>&1 &
follower=$!
wait_for_line $follow "vfio.uuid = $mdpy\$" 60 ||
  { cat $follow; fail "the monitor listed nothing within 60 s"; }
new=$(cat /proc/sys/kernel/random/uuid)
echo "$new" >/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-xga/create ||
  fail "could not create an mdpy-xga mdev"
wait_for_line $follow "vfio.uuid = $new\$" 30 ||
  { cat $follow; fail "no device-added for the new mdev $new"; }
echo 1 >/sys/bus/mdev/devices/$new/remove || fail "could not remove $new"
wait_for_line $follow "^Device removed:" 30 ||
  { cat $follow; fail "no device-removed for $new"; }
kill $follower
wait $follower 2>/dev/null
follower=
sed 's/^/  | /' $follow
block=$(device $follow "$new")
expect_field "$block" vfio.type mdpy-xga
expect_field "$block" name "mdpy-xga $new"
grep -A1 '^Device removed:' $follow | grep -Eq "name +: mdpy-xga $new\$" ||
  fail "the removal does not name mdpy-xga $new"
[ "$(grep -c '^Device removed:' $follow)" -eq 1 ] ||
  fail "more than one device removed"

no_kernel_trouble
say "OK"
