# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/vm/realvm.sh: what the real-VMM scenarios share (t-qemu.sh starts
# QEMU itself, t-libvirt.sh has libvirt start it). Both run the nested guest
# of run-vm --nested-guest: its kernel's bochs DRM driver drives the mdev;
# its only program, kmsguest, sets the mode, waits for a line on its
# console, page-flips among three dumb buffers holding the test pattern and
# powers the guest off. Sourced after lib.sh; the caller sets $qemu (the
# pid of the VM's QEMU) and $uuid.

: "${NESTED_KERNEL:?run-vm --nested-guest gives NESTED_KERNEL}"
: "${NESTED_INITRD:?run-vm --nested-guest gives NESTED_INITRD}"
log=/tmp/capture.log
serial=/tmp/serial
frames=12
guest_cmdline="console=ttyS0 panic=-1 loglevel=5 cryptomgr.notests \
mitigations=off KMSGUEST_FRAMES=$frames"
qemu=
cat_pid=
cap=
vmm_log=/tmp/qemu.log   # what QEMU printed

now () { date +%s.%N; }
since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for SECONDS CMD...: polls CMD every 0.2 s; fails when QEMU is gone.
wait_for () {
  local t=$1 i
  shift
  for i in $(seq $((t * 5))); do
    "$@" && return 0
    [ -z "$qemu" ] || kill -0 "$qemu" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# The guest's console: $serial.in and $serial.out, QEMU's "pipe" chardev;
# what the guest prints collects in $serial.log. This shell holds a write
# end (fd 3) until QEMU is gone, so that the reader meets no end of file
# before (libvirt opens and closes the FIFO while it prepares the VM).
serial_open () {
  rm -f $serial.in $serial.out $serial.log
  mkfifo $serial.in $serial.out
  chmod 0666 $serial.in $serial.out
  exec 3<>$serial.out
  cat $serial.out >$serial.log 3>&- &
  cat_pid=$!
}

# serial_close: once QEMU is gone, the reader ends after the last line.
serial_close () {
  exec 3>&-
  wait "$cat_pid" || true
  cat_pid=
}

# The guest's console ends its lines with CR LF; QEMU's own messages.
show_serial () {
  tr -d '\r' <$serial.log | sed 's/^/  serial| /'
  [ ! -s "$vmm_log" ] || sed 's/^/  qemu| /' "$vmm_log"
}

# capture_guest STARTED: once the guest has set its mode, a capture of
# device=$uuid until EOS; tells the guest to flip.
capture_guest () {
  wait_for 200 grep -q '^kmsguest: .* mode set ' $serial.log ||
    { show_serial; fail "no mode set by the guest"; }
  mode_set=$(since "$1")
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
}

# capture_ends STARTED: QEMU exits after the guest's power-off; the capture
# ends at EOS with the warning naming QEMU's pid.
capture_ends () {
  local pid=$qemu rc=0

  timeout 120 tail --pid="$qemu" -f /dev/null ||
    { show_serial; fail "QEMU still runs 120 s after the flips started"; }
  wait "$qemu" 2>/dev/null || true
  qemu=
  whole=$(since "$1")
  timeout 20 tail --pid="$cap" -f /dev/null ||
    { kill -KILL "$cap"; fail "the capture went on after QEMU exited"; }
  wait "$cap" || rc=$?
  cap=
  serial_close
  tr -d '\r' <$serial.log >$serial.txt
  show_serial
  sed 's/^/  | /' $log
  [ $rc -eq 0 ] || fail "capture ended with status $rc, not at EOS"
  expect $log "^capture: warning: The VM's process $pid exited" \
    "the warning naming QEMU"
  expect_not $log '^capture: error' "an error"
}

# check_guest_frames: every buffer a whole frame, several frames in the
# order the guest flipped them; three scan-out buffers, three dmabuf_ids,
# each exported once.
check_guest_frames () {
  local seen last=0 f exports buffers flips

  expect_not $log '^capture: run [0-9]+x[0-9]+ (invalid|unmapped)' \
    "a buffer that is not a whole frame"
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
  for f in "$@"; do
    case $f in
      1024x768:*) ;;
      *) fail "not a frame of the guest (or a blank): $f in $seen" ;;
    esac
    [ "${f#*:}" -gt $last ] || fail "frames out of order: $seen"
    last=${f#*:}
  done
  exports=$(stat $log exports)
  [ "$exports" = 3 ] || fail "$exports exports for the guest's 3 buffers"
  buffers=$(awk '$2 == "run" { sub(/buffers=/, "", $5); n += $5 }
    END { print n + 0 }' $log)
  flips=$(grep -c '^kmsguest: .* flip frame ' $serial.txt)
  say "QEMU start -> mode set ${mode_set} s, whole run ${whole} s;" \
    "$flips flips, $# frames and $buffers buffers captured"
}

# mdev_removable: once QEMU is gone the mdev goes at once.
mdev_removable () {
  local path=/sys/bus/mdev/devices/$uuid

  timeout 10 sh -c "echo 1 >$path/remove" ||
    fail "removing the mdev did not complete within 10 s"
  [ ! -e "$path" ] || fail "$path is still there"
}
