# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-libvirt: the element borrowing from a VM that libvirt runs, the way
# most people start VMs (run by run-vm with --nested-guest kmsguest; the
# guest is t-qemu.sh's). libvirtd runs without systemd, with its stock
# qemu.conf; the domain has <hostdev mode='subsystem' type='mdev'
# display='off'>. Its QEMU runs as libvirt-qemu, in its own mount
# namespace with a private /dev: the holder is found by device number.
#  1. gst-device-monitor-1.0 lists the mdev with its holder: QEMU's pid and
#     the domain's name
#  2. once the guest has set its mode, device=UUID borrows QEMU's device fd:
#     whole frames in the order the guest flipped them, each of the three
#     scan-out buffers exported once
#  3. the guest powers off, the domain ends: the stream ends with EOS and a
#     warning naming QEMU's pid; the mdev can be removed at once; no kernel
#     trouble
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/realvm.sh"

uuid=$(mdev_uuid mbochs_rw-medium)
domain=vfio-guest
virsh="virsh -q -c qemu:///system"
monlog=/tmp/monitor.log
vmm_log=/var/log/libvirt/qemu/$domain.log

stop_all () {
  local p
  [ -z "$qemu" ] || $virsh destroy $domain >/dev/null 2>&1
  for p in $cap $cat_pid; do
    kill "$p" 2>/dev/null
  done
  pkill -x libvirtd
  pkill -x virtlogd
  wait 2>/dev/null
}
trap stop_all EXIT

# libvirt keeps its configuration, state, logs and caches under these; the
# root is read-only, so each gets a writable copy.
writable_copy () {
  mkdir -p "/tmp/rw$1" "$1" 2>/dev/null
  [ -d "$1" ] || fail "$1 is missing: is libvirt installed?"
  cp -a "$1/." "/tmp/rw$1/"
  mount --bind "/tmp/rw$1" "$1" || fail "cannot make $1 writable"
}

domain_xml () {
  cat <<XML
<domain type='qemu'>
  <name>$domain</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/tmp/guest/vmlinux</kernel>
    <initrd>/tmp/guest/initrd</initrd>
    <cmdline>$guest_cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='pipe'><source path='$serial'/></serial>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>
      <source><address uuid='$uuid'/></source>
    </hostdev>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

step "libvirtd without systemd"
command -v libvirtd >/dev/null || fail "libvirtd is missing (libvirt-daemon)"
for d in /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
  writable_copy $d
done
started=$(now)
virtlogd -d || fail "virtlogd did not start"
libvirtd -d || fail "libvirtd did not start"
wait_for 60 $virsh version >/dev/null 2>&1 ||
  fail "libvirtd does not answer after 60 s"
say "libvirtd answers after $(since "$started") s"

step "a domain with the mdev (display='off') and a Linux guest"
# Copies that libvirt may hand to its QEMU user (the root is read-only).
mkdir -p /tmp/guest
cp "$NESTED_KERNEL" /tmp/guest/vmlinux
cp "$NESTED_INITRD" /tmp/guest/initrd
chmod 0755 /tmp/guest
chmod 0644 /tmp/guest/*
domain_xml >/tmp/guest/$domain.xml
serial_open
started=$(now)
$virsh create /tmp/guest/$domain.xml ||
  { cat $vmm_log 2>/dev/null; fail "libvirt did not start the domain"; }
qemu=$(cat /run/libvirt/qemu/$domain.pid) || fail "no pid file for $domain"
say "libvirt's QEMU (pid $qemu) runs after $(since "$started") s"
user=$(ps -o user= -p "$qemu")
[ "$user" = libvirt-qemu ] || fail "QEMU runs as '$user', not libvirt-qemu"
[ "$(readlink /proc/$qemu/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] ||
  fail "QEMU shares our mount namespace: not the setup to test"
expect /proc/$qemu/cmdline "guest=$domain" "the domain's name"

step "gst-device-monitor-1.0 names the holder and the domain"
run_logged $monlog timeout 60 gst-device-monitor-1.0 Video/Source ||
  fail "gst-device-monitor-1.0 failed"
block=$(device $monlog "$uuid")
[ -n "$block" ] || fail "the monitor does not list $uuid"
expect_field "$block" vfio.holder-pid "$qemu"
expect_field "$block" vfio.holder-user libvirt-qemu
expect_field "$block" vfio.vm-name "$domain"

step "the guest sets its mode; the capture borrows QEMU's device"
capture_guest "$started"

step "the guest flips and powers off; the domain and the stream end"
capture_ends "$started"
check_guest_frames
$virsh list --name | grep -qx "$domain" && fail "the domain still runs"

step "the mdev can be removed at once"
mdev_removable

no_kernel_trouble
say "OK"
