# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# pipelines/lib.sh: shared by the scripts in this directory; sourced, not run.
#
# A script sets USAGE, calls vfio_init "$@", builds the gst-launch-1.0 words
# of its pipeline into the array PIPELINE and calls vfio_launch. Every
# script accepts:
#
#   --print-pipeline   print the launch description and exit (the tests in
#                      tests/check/pipelines/ run exactly what is printed)
#   -h, --help         print the usage text and exit
#
# The description is built once, as gst-launch-1.0 arguments. Values that
# may hold spaces are double-quoted inside their word, so that joining the
# words with spaces gives the same description that gst-launch-1.0 parses
# (gst_parse_launchv() escapes only spaces outside quotes).

# The element's default framerate: [SECONDS] arguments become
# num-buffers = SECONDS * VFIO_FPS (every-tick mode pushes one per tick).
VFIO_FPS=60

vfio_die () {
  printf '%s: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

vfio_usage_error () {
  [ $# -gt 0 ] && printf '%s: %s\n' "${0##*/}" "$*" >&2
  printf '%s\n' "$USAGE" >&2
  exit 2
}

# Parses the common options; a script may define vfio_option OPTION, which
# returns 0 for options of its own. Leaves the positional arguments in ARGS.
vfio_init () {
  PRINT_ONLY=0
  while [ $# -gt 0 ]; do
    case $1 in
      --print-pipeline) PRINT_ONLY=1 ;;
      -h | --help) printf '%s\n' "$USAGE"; exit 0 ;;
      --) shift; break ;;
      -?*)
        if declare -F vfio_option >/dev/null && vfio_option "$1"; then
          :
        else
          vfio_usage_error "unknown option '$1'"
        fi
        ;;
      *) break ;;
    esac
    shift
  done
  ARGS=("$@")
}

# Checks that there are between $1 and $2 positional arguments.
vfio_nargs () {
  [ ${#ARGS[@]} -ge "$1" ] && [ ${#ARGS[@]} -le "$2" ] ||
    vfio_usage_error "expected $1 to $2 arguments, got ${#ARGS[@]}"
}

# A double-quoted gst-launch value. The parser cannot take '"' or '\' in a
# quoted value, so such names are refused rather than mangled.
vfio_quote () {
  case $1 in
    *'"'* | *'\'*) vfio_die "'$1': '\"' and '\\' are not supported here" ;;
    '') vfio_die "empty value" ;;
  esac
  printf '"%s"' "$1"
}

# The source's device property from DEVICE: an mdev UUID or sysfs path, or
# fd:N for a VFIO device fd N inherited from the caller (device-fd=N).
vfio_device_prop () {
  case $1 in
    fd:*)
      local n=${1#fd:}
      [[ $n =~ ^[0-9]+$ ]] || vfio_usage_error "'$1': fd:N needs a number"
      if [ "$PRINT_ONLY" = 0 ] && [ ! -e "/proc/$$/fd/$n" ]; then
        vfio_die "fd $n is not open: the caller must pass it open" \
          "(not close-on-exec) to this script"
      fi
      printf 'device-fd=%s' "$n"
      ;;
    '') vfio_usage_error "DEVICE is empty" ;;
    -*) vfio_usage_error "'$1' is not a device" ;;
    *) printf 'device=%s' "$(vfio_quote "$1")" ;;
  esac
}

# Checks that $2 is an integer in [$3, $4]; $1 names it.
vfio_int () {
  [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
    vfio_usage_error "$1 must be an integer from $3 to $4, not '$2'"
}

# "num-buffers=N" for an optional SECONDS argument, nothing without one.
vfio_num_buffers () {
  [ -z "${1:-}" ] && return 0
  vfio_int SECONDS "$1" 1 86400
  printf 'num-buffers=%s' $(($1 * VFIO_FPS))
}

# Prints the description or runs it. -e: EOS on Ctrl-C and at num-buffers,
# so that muxers finish their files.
vfio_launch () {
  if [ "$PRINT_ONLY" = 1 ]; then
    printf '%s\n' "${PIPELINE[*]}"
    exit 0
  fi
  command -v gst-launch-1.0 >/dev/null ||
    vfio_die "gst-launch-1.0 not found: install gstreamer1.0-tools"
  gst-inspect-1.0 --exists vfiogfxsrc ||
    vfio_die "the vfiogfxsrc element is not installed: run 'meson install'" \
      "or set GST_PLUGIN_PATH=BUILDDIR/gst/vfiogfxsrc"
  exec gst-launch-1.0 -e "$@" "${PIPELINE[@]}"
}

# The VA-to-MP4 scripts: vfio_va_mp4 CODEC ENCODER PARSER "$@" records the
# guest display with ENCODER, zero copy, to an MP4 file.
vfio_va_mp4 () {
  local codec=$1 encoder=$2 parser=$3
  shift 3
  USAGE="Usage: ${0##*/} [--print-pipeline] [--postproc] DEVICE OUT.mp4 [SECONDS]

Records the guest display as $codec with $encoder, zero copy.

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  OUT.mp4    output file
  SECONDS    stop after SECONDS * $VFIO_FPS frames (the default framerate);
             without it, stop with Ctrl-C
  --postproc put vapostproc before the encoder, for tiled guest framebuffers
             whose modifier the encoder does not take"

  POSTPROC=()
  vfio_option () {
    [ "$1" = --postproc ] && POSTPROC=(vapostproc !)
  }

  vfio_init "$@"
  vfio_nargs 2 3
  local device location num_buffers
  device=$(vfio_device_prop "${ARGS[0]}")
  location=$(vfio_quote "${ARGS[1]}")
  num_buffers=$(vfio_num_buffers "${ARGS[2]:-}")

  PIPELINE=(vfiogfxsrc "$device" ${num_buffers:+"$num_buffers"} !
    "${POSTPROC[@]}" "$encoder" ! "$parser" ! mp4mux !
    filesink "location=$location")
  vfio_launch
}
