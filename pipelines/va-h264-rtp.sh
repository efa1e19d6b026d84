#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Streams the guest display as H.264 over RTP/UDP with a VA encoder, zero
# copy. A key frame every second and SPS/PPS with each one, so that a
# receiver can join at any time.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] [--postproc] DEVICE HOST PORT

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  HOST PORT  where to send the RTP packets (payload type 96)
  --postproc put vapostproc before the encoder, for tiled guest framebuffers
             whose modifier the encoder does not take

Receive with, for example:
  gst-launch-1.0 udpsrc port=PORT \\
    caps='application/x-rtp,media=video,encoding-name=H264,clock-rate=90000' \\
    ! rtpjitterbuffer ! rtph264depay ! h264parse ! decodebin ! autovideosink"

POSTPROC=()
vfio_option () {
  [ "$1" = --postproc ] && POSTPROC=(vapostproc !)
}

vfio_init "$@"
vfio_nargs 3 3
device=$(vfio_device_prop "${ARGS[0]}")
host=$(vfio_quote "${ARGS[1]}")
vfio_int PORT "${ARGS[2]}" 1 65535

PIPELINE=(vfiogfxsrc "$device" ! "${POSTPROC[@]}"
  vah264enc "key-int-max=$VFIO_FPS" ! rtph264pay config-interval=-1 pt=96 !
  udpsink "host=$host" "port=${ARGS[2]}")
vfio_launch
