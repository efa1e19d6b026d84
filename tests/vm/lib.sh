# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/vm/lib.sh: helpers for the VM test scripts (tests/vm/t-*.sh), which
# run inside the VM that run-vm boots. meson passes the programs under test
# in GUEST, CAPTURE and DEVINFO; run-vm passes VFIO_MDEV_UUIDS. The guest
# root has no /dev/fd: no process substitution here.

set -u
step=0

say () { printf '== %s\n' "$*"; }
fail () { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# scenario NAME FUNCTION: runs FUNCTION as step NAME in a subshell, so that
# the next scenarios still run after a failure; scenarios_result fails
# naming the failed ones.
failed_scenarios=
scenario () {
  step "$1"
  ( "$2" ) || failed_scenarios="$failed_scenarios ${1%%.*}"
}

scenarios_result () {
  [ -z "$failed_scenarios" ] || fail "failed scenarios:$failed_scenarios"
}

# step TEXT: announces the next check.
step () {
  step=$((step + 1))
  printf '\n== %d. %s\n' "$step" "$*"
}

# mdev_uuid TYPE: the UUID of the mdev of that sysfs type (mbochs_rw-medium).
mdev_uuid () {
  local u t
  for u in $VFIO_MDEV_UUIDS; do
    t=$(readlink "/sys/bus/mdev/devices/$u/mdev_type")
    if [ "${t##*/}" = "$1" ]; then
      echo "$u"
      return 0
    fi
  done
  fail "no mdev of type $1 among $VFIO_MDEV_UUIDS"
}

# mdevs_of_type TYPE: the UUIDs of the mdevs of that sysfs type, one a line,
# in the order of run-vm's --mdev options.
mdevs_of_type () {
  local u t
  for u in $VFIO_MDEV_UUIDS; do
    t=$(readlink "/sys/bus/mdev/devices/$u/mdev_type")
    [ "${t##*/}" != "$1" ] || echo "$u"
  done
}

# run_logged LOG CMD...: runs CMD with its output shown and kept in LOG;
# returns CMD's status.
run_logged () {
  local log=$1 rc=0
  shift
  "$@" >"$log" 2>&1 || rc=$?
  sed 's/^/  | /' "$log"
  return $rc
}

# wait_for_line LOG REGEX SECONDS: until a line of LOG matches the ERE.
wait_for_line () {
  local i
  for i in $(seq $(($3 * 10))); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# expect LOG REGEX WHAT: fails unless a line of LOG matches the ERE.
expect () {
  grep -Eq -- "$2" "$1" || fail "$3: no line matches /$2/"
}

# expect_not LOG REGEX WHAT
expect_not () {
  ! grep -Eq -- "$2" "$1" || fail "$3: $(grep -E -m1 -- "$2" "$1")"
}

# expect_caps LOG MEDIA FIELD...: some caps line of capture's LOG starts
# with MEDIA (video/x-raw or video/x-raw(memory:DMABuf)) and has every FIELD
# (e.g. 'width=(int)640'), in any order.
expect_caps () {
  local log=$1 media=$2 lines f
  shift 2
  lines=$(grep -F "capture: caps $media, " "$log") ||
    fail "no $media caps"
  for f in "$@"; do
    lines=$(printf '%s\n' "$lines" | grep -E -- "[ ,]$(printf '%s' "$f" |
      sed 's/[]().[*^$]/\\&/g')(,|;|\$)") ||
      fail "no $media caps with $*"
  done
}

# device LOG UUID: the block of gst-device-monitor-1.0's output for that
# device.
device () {
  awk -v uuid="$2" '
    /^Device found:/ { if (found) exit; block = ""; next }
    { block = block $0 "\n" }
    $1 == "vfio.uuid" && $3 == uuid { found = 1 }
    END { if (found) printf "%s", block }' "$1"
}

# expect_field BLOCK NAME VALUE: the block has "NAME = VALUE" (a property)
# or "NAME : VALUE" (name, class).
expect_field () {
  printf '%s\n' "$1" | grep -Eq "^[[:space:]]+$2 +[=:] $3\$" ||
    fail "no '$2 = $3' in:
$1"
}

# caps_sizes LOG: WxH of each caps line, in order.
caps_sizes () {
  sed -n 's/^capture: caps .*/&,/p' "$1" |
    sed 's/.*[ ,]width=(int)\([0-9]*\),.*[ ,]height=(int)\([0-9]*\),.*/\1x\2/;
      s/.*[ ,]height=(int)\([0-9]*\),.*[ ,]width=(int)\([0-9]*\),.*/\2x\1/' |
    paste -sd' '
}

# digest LOG: capture's run and signal lines in one line: WxH:N for a run of
# frame N (consecutive runs of the same frame merged), ON / OFF for the
# signal messages. Runs of invalid frames (caught between a mode change and
# the guest's first flip) are left out.
digest () {
  awk '
    $1 == "capture:" && $2 == "run" && $4 ~ /^frame=/ {
      t = $3 ":" substr($4, 7)
      if (t != last) { out = out " " t; last = t }
    }
    $1 == "capture:" && $2 == "signal" {
      t = ($3 == "present=true") ? "ON" : "OFF"; out = out " " t; last = t
    }
    END { sub(/^ /, "", out); print out }' "$1"
}

# expect_frames LOG: every vfiogfxsrc of capture's LOG pushed buffers (its
# "source NAME frames=N" lines).
expect_frames () {
  local none
  grep -q '^capture: source ' "$1" || fail "capture named no source"
  none=$(sed -n 's/^capture: source \([^ ]*\) frames=0$/\1/p' "$1" |
    paste -sd' ')
  [ -z "$none" ] || fail "no buffer out of $none"
}

# stat LOG NAME: a counter from capture's stats line.
stat () {
  sed -n "s/.*stats vfiogfxsrc-stats.*[ ,]$2=(guint64)\([0-9]*\).*/\1/p" "$1"
}

# What a kernel in trouble logs: warnings, BUGs (bad page state among
# them), oopses.
kernel_trouble='WARNING|BUG|Oops|general protection|[Bb]ad page|refcount_t'

# no_kernel_trouble [WHEN]: the guest kernel logged no warning, BUG, oops
# or bad page (run-vm boots with oops=panic: an oops ends the VM, and
# run-vm says that the kernel panicked).
no_kernel_trouble () {
  if dmesg | grep -E "$kernel_trouble"; then
    fail "the guest kernel logged the trouble above${1:+ $1}"
  fi
}

# ---- mbochs' own count of dma-buf exports ----
#
# With dynamic debug on, mbochs (6.12, samples/vfio-mdev/mbochs.c) logs
#   mbochs UUID: mbochs_dmabuf_alloc/ID: XR24, WxH, stride S, off 0xO, ...
#                                       (a new id, at a query)
#   mbochs UUID: mbochs_dmabuf_export: ID (a new dma-buf for the id)
#   mbochs UUID: mbochs_release_dmabuf: ID (its last fd closed)
# (mbochs_rw the same). mbochs takes the page references of an id once and
# drops them at every release: an id exported twice frees pages it does not
# own. A second GET_GFX_DMABUF while the dma-buf is open logs nothing: it
# hands out the same file again without a reference; only the element's
# stats show it.

# mbochs_debug_on: mbochs and mbochs_rw log the three lines above.
mbochs_debug_on () {
  local control=/proc/dynamic_debug/control f
  if [ ! -w $control ]; then
    control=/sys/kernel/debug/dynamic_debug/control
    [ -w $control ] || mount -t debugfs none /sys/kernel/debug ||
      fail "cannot mount debugfs for dynamic debug"
  fi
  for f in mbochs_print_dmabuf mbochs_dmabuf_export mbochs_release_dmabuf; do
    echo "module mbochs* func $f +p" >$control ||
      fail "dynamic debug refused 'module mbochs* func $f +p'"
  done
}

# kernel_mark NAME: a line in the kernel log that kernel_log_since finds.
kernel_mark () {
  echo "vfiogfx-test: begin $1" >/dev/kmsg
}

# kernel_log_since NAME: the kernel log from kernel_mark NAME on.
kernel_log_since () {
  dmesg | sed -n "/vfiogfx-test: begin $1\$/,\$p"
}

# exports_per_id NAME UUID: "ID COUNT" for each dma-buf id that mbochs
# exported on mdev UUID since kernel_mark NAME, in id order.
exports_per_id () {
  kernel_log_since "$1" |
    awk -v dev="$2:" '$0 ~ dev " mbochs_dmabuf_export: [0-9]+$" {
      n[$NF]++ } END { for (id in n) print id, n[id] }' | sort -n
}

# ids_allocated NAME UUID: the dma-buf ids mbochs made for the modes the
# queries found, since kernel_mark NAME, one a line.
ids_allocated () {
  kernel_log_since "$1" |
    sed -n "s,.*$2: mbochs_dmabuf_alloc/\([0-9]*\):.*,\1,p" | sort -n
}

# stats_sum LOG NAME: NAME summed over every stats line of capture's LOG
# (one per element, and one per element before each restart).
stats_sum () {
  sed -n "s/.*stats vfiogfxsrc-stats.*[ ,]$2=(guint64)\([0-9]*\).*/\1/p" \
    "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# assert_each_id_exported_once NAME UUID LOG MIN-IDS: since kernel_mark
# NAME, mbochs exported each dma-buf id of mdev UUID at most once, every id
# it made for a query was exported, there are at least MIN-IDS of them, and
# the element's stats in capture's LOG count as many exports as mbochs.
assert_each_id_exported_once () {
  local name=$1 uuid=$2 log=$3 min=$4 exports allocated twice missing
  local id ids logged counted
  exports=$(exports_per_id "$name" "$uuid")
  allocated=$(ids_allocated "$name" "$uuid")
  say "mbochs exports per dma-buf id (id count):" $(printf '%s\n' \
    "$exports" | paste -sd,)
  [ -n "$exports" ] ||
    fail "mbochs logged no export on $uuid (is dynamic debug on?)"
  twice=$(printf '%s\n' "$exports" | awk '$2 > 1 {
    printf "%s%d:%d", s, $1, $2; s = " " }')
  [ -z "$twice" ] ||
    fail "dma-buf ids exported more than once on $uuid (id:exports): $twice"
  missing=
  for id in $allocated; do
    printf '%s\n' "$exports" | grep -q "^$id " || missing="$missing $id"
  done
  [ -z "$missing" ] || fail "ids queried but never exported:$missing"
  ids=$(printf '%s\n' "$exports" | wc -l)
  [ "$ids" -ge "$min" ] ||
    fail "only $ids dma-buf ids exported, the test needs $min"
  logged=$(printf '%s\n' "$exports" | awk '{ s += $2 } END { print s }')
  counted=$(stats_sum "$log" exports)
  [ "$counted" -le "$logged" ] ||
    fail "the elements called GET_GFX_DMABUF $counted times, mbochs made" \
      "$logged dma-bufs: $((counted - logged)) exports of an id whose" \
      "dma-buf was still open (mbochs hands out its file again without a" \
      "reference)"
  [ "$counted" -eq "$logged" ] ||
    fail "mbochs made $logged dma-bufs, the elements' stats count $counted"
  say "$ids ids, each exported once; the elements' stats agree"
}

# remove_mdev UUID: removes the mdev (it waits until its last fd is
# closed); mbochs frees its pages, where pages freed once too often show.
remove_mdev () {
  timeout 30 sh -c "echo 1 >/sys/bus/mdev/devices/$1/remove" ||
    fail "could not remove mdev $1 within 30 s (is a holder left?)"
  sync
}

# exports_end NAME UUID LOG MIN-IDS: the end of an export scenario: removes
# the mdev, shows the trouble the kernel logged since kernel_mark NAME, then
# asserts (assert_each_id_exported_once) and fails on that trouble.
exports_end () {
  local trouble
  remove_mdev "$2"
  trouble=$(kernel_log_since "$1" | grep -E "$kernel_trouble" || true)
  [ -z "$trouble" ] || printf 'the guest kernel logged:\n%s\n' "$trouble" |
    sed 's/^/  ! /'
  if ! (assert_each_id_exported_once "$@"); then
    say "mbochs' lines since the scenario began (the last 60):"
    kernel_log_since "$1" | grep -F "$2: mbochs_" | tail -n 60 |
      sed 's/^/  k /'
    exit 1
  fi
  [ -z "$trouble" ] ||
    fail "the guest kernel logged the trouble above after scenario $1"
}

: "${GUEST:?GUEST is not set}" "${CAPTURE:?CAPTURE is not set}"
