#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Streams the guest display to a client at the client's own resolution, as a
# cloud-gaming server does: the client asks for WxH@R, the guest is given a
# monitor whose preferred mode that is (vfiogfxsrc guest-mode, through the
# vGPU's EDID), the guest OS switches, and the stream follows. H.264 over
# RTP/UDP, a key frame every second with SPS/PPS, so a client can join at
# any time.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] [--va] --mode=WxH[@R] DEVICE HOST PORT

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  HOST PORT  where to send the RTP packets (payload type 96)
  --mode=WxH[@R]
             the mode the client asks for, e.g. --mode=1280x720@60 (R in Hz,
             60 when left out); the stream runs at R frames per second
  --va       encode with vah264enc, zero copy (default: x264enc in software)

The guest switches only if it handles monitor hotplug: see 'Choosing the
guest's resolution' in docs/user-guide.md. Receive with, for example:
  gst-launch-1.0 udpsrc port=PORT \\
    caps='application/x-rtp,media=video,encoding-name=H264,clock-rate=90000' \\
    ! rtpjitterbuffer ! rtph264depay ! h264parse ! decodebin ! autovideosink"

MODE=
VA=0
vfio_option () {
  case $1 in
    --mode=*) MODE=${1#--mode=} ;;
    --va) VA=1 ;;
    *) return 1 ;;
  esac
}

vfio_init "$@"
vfio_nargs 3 3
[[ $MODE =~ ^([0-9]+)x([0-9]+)(@([0-9]+))?$ ]] ||
  vfio_usage_error "--mode=WxH[@R] is required, e.g. --mode=1920x1080@60"
rate=${BASH_REMATCH[4]:-60}
vfio_int R "$rate" 24 240
device=$(vfio_device_prop "${ARGS[0]}")
host=$(vfio_quote "${ARGS[1]}")
vfio_int PORT "${ARGS[2]}" 1 65535

if [ "$VA" = 1 ]; then
  ENCODE=("video/x-raw(memory:DMABuf),framerate=$rate/1" ! vah264enc
    "key-int-max=$rate")
else
  ENCODE=("video/x-raw,framerate=$rate/1" ! videoconvert !
    video/x-raw,format=I420 ! x264enc tune=zerolatency "key-int-max=$rate")
fi
PIPELINE=(vfiogfxsrc "$device" "guest-mode=$MODE" ! "${ENCODE[@]}" !
  rtph264pay config-interval=-1 pt=96 ! udpsink "host=$host"
  "port=${ARGS[2]}")
vfio_launch
