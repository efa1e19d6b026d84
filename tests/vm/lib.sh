# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/vm/lib.sh: helpers for the VM test scripts (tests/vm/t-*.sh), which
# run inside the VM that run-vm boots. meson passes the programs under test
# in GUEST, CAPTURE and DEVINFO; run-vm passes VFIO_MDEV_UUIDS.

set -u
step=0

say () { printf '== %s\n' "$*"; }
fail () { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

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

# run_logged LOG CMD...: runs CMD with its output shown and kept in LOG;
# returns CMD's status.
run_logged () {
  local log=$1 rc=0
  shift
  "$@" >"$log" 2>&1 || rc=$?
  sed 's/^/  | /' "$log"
  return $rc
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

# stat LOG NAME: a counter from capture's stats line.
stat () {
  sed -n "s/.*stats vfiogfxsrc-stats.*[ ,]$2=(guint64)\([0-9]*\).*/\1/p" "$1"
}

# no_kernel_trouble: the guest kernel logged no warning, BUG or oops (run-vm
# boots with oops=panic: an oops ends the VM anyway).
no_kernel_trouble () {
  if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|bad page'; then
    fail "the guest kernel logged the trouble above"
  fi
}

: "${GUEST:?GUEST is not set}" "${CAPTURE:?CAPTURE is not set}"
