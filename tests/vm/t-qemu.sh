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

: "${NESTED_KERNEL:?run-vm --nested-guest gives NESTED_KERNEL}"
: "${NESTED_INITRD:?run-vm --nested-guest gives NESTED_INITRD}"
uuid=$(mdev_uuid mbochs_rw-medium)
path=/sys/bus/mdev/devices/$uuid
log=/tmp/capture.log
serial=/tmp/serial
frames=12
qemu=
cat_pid=
cap=

stop_all () {
  local p
  for p in $cap $qemu $cat_pid; do
    kill "$p" 2>/dev/null
  done
  wait 2>/dev/null
}
trap stop_all EXIT

now () { date +%s.%N; }
since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for SECONDS CMD...: polls CMD every 0.2 s; fails when QEMU is gone.
wait_for () {
  local t=$1 i
  shift
  for i in $(seq $((t * 5))); do
    "$@" && return 0
    kill -0 "$qemu" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

qemu_holds_group () {
  local fd
  for fd in /proc/"$qemu"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$VFIO_GROUP" ] && return 0
  done
  return 1
}

# The guest's console ends its lines with CR LF.
show_serial () { tr -d '\r' <$serial.log | sed 's/^/  serial| /'; }

step "QEMU with a Linux guest on the mdev (display=off)"
rm -f $serial.in $serial.out
mkfifo $serial.in $serial.out
cat $serial.out >$serial.log &
cat_pid=$!
started=$(now)
( exec qemu-system-x86_64 -nodefaults -no-user-config -no-reboot \
    -machine pc -accel tcg -cpu max -m 256 -smp 1 -display none -vga none \
    -kernel "$NESTED_KERNEL" -initrd "$NESTED_INITRD" \
    -append "console=ttyS0 panic=-1 loglevel=5 cryptomgr.notests \
      mitigations=off KMSGUEST_FRAMES=$frames" \
    -chardev pipe,id=serial,path=$serial -serial chardev:serial \
    -device "vfio-pci,sysfsdev=$path,display=off" ) >/tmp/qemu.log 2>&1 &
qemu=$!
wait_for 60 qemu_holds_group ||
  { cat /tmp/qemu.log; fail "QEMU did not open $VFIO_GROUP"; }
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
wait_for 200 grep -q '^kmsguest: .* mode set ' $serial.log ||
  { show_serial; cat /tmp/qemu.log; fail "no mode set by the guest"; }
mode_set=$(since "$started")
say "the guest's mode set $mode_set s after QEMU started"
rm -f /tmp/ready
"$CAPTURE" --check --ready /tmp/ready \
  "vfiogfxsrc device=$uuid ! video/x-raw,format=BGRx ! fakesink name=sink" \
  >$log 2>&1 &
cap=$!
wait_for 30 test -e /tmp/ready ||
  { cat $log; show_serial; fail "no frame within 30 s"; }
# The guest holds frame 1 until it reads a line on its console.
timeout 5 sh -c "echo go >$serial.in" || fail "the guest's console is gone"

step "the guest flips and powers off; the stream ends with EOS"
timeout 120 tail --pid="$qemu" -f /dev/null ||
  { show_serial; fail "QEMU still runs 120 s after the flips started"; }
pid=$qemu
wait "$qemu" || true
qemu=
whole=$(since "$started")
timeout 20 tail --pid="$cap" -f /dev/null ||
  { kill -KILL "$cap"; fail "the capture went on after QEMU exited"; }
rc=0
wait "$cap" || rc=$?
cap=
wait "$cat_pid" || true
cat_pid=
tr -d '\r' <$serial.log >$serial.txt
show_serial
sed 's/^/  | /' $log
[ $rc -eq 0 ] || fail "capture ended with status $rc, not at EOS"
expect $log "^capture: warning: The VM's process $pid exited" \
  "the warning naming QEMU"
expect_not $log '^capture: run [0-9]+x[0-9]+ (invalid|unmapped)' \
  "a buffer that is not a whole frame"
expect_not $log '^capture: error' "an error"
expect $serial.txt "^kmsguest: .* flip frame $frames\$" "the guest's last flip"
expect $serial.txt '^kmsguest: .* power off$' "the guest's power-off"
expect_not $serial.txt 'kmsguest: error|WARNING:|BUG:|Oops' \
  "trouble in the guest"
seen=$(digest $log)
say "frames captured: $seen"
set -- $seen
[ "${1:-}" = ON ] || fail "the stream did not start with present=true: $seen"
shift
[ $# -ge 4 ] || fail "$# distinct frames, not 4 or more: $seen"
last=0
for f in "$@"; do
  case $f in
    1024x768:*) ;;
    *) fail "not a frame of the guest (or a blank): $f in $seen" ;;
  esac
  [ "${f#*:}" -gt $last ] || fail "frames out of order: $seen"
  last=${f#*:}
done
# Three scan-out buffers, three dmabuf_ids: each exported once.
exports=$(stat $log exports)
[ "$exports" = 3 ] || fail "$exports exports for the guest's 3 buffers"
buffers=$(awk '$2 == "run" { sub(/buffers=/, "", $5); n += $5 }
  END { print n + 0 }' $log)
flips=$(grep -c '^kmsguest: .* flip frame ' $serial.txt)
say "QEMU start -> mode set ${mode_set} s, whole run ${whole} s;" \
  "$flips flips, $# frames and $buffers buffers captured"

step "the mdev can be removed at once"
timeout 10 sh -c "echo 1 >$path/remove" ||
  fail "removing the mdev did not complete within 10 s"
[ ! -e "$path" ] || fail "$path is still there"

no_kernel_trouble
say "OK"
