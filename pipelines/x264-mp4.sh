#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Records the guest display to an H.264 MP4 with x264, for hosts without a
# VA encoder. The CPU reads the guest framebuffer in place (linear dma-bufs
# that the exporter lets the CPU map; see docs/user-guide.md) and converts it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] DEVICE OUT.mp4 [SECONDS]

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  OUT.mp4    output file
  SECONDS    stop after SECONDS * $VFIO_FPS frames (the default framerate);
             without it, stop with Ctrl-C"

vfio_init "$@"
vfio_nargs 2 3
device=$(vfio_device_prop "${ARGS[0]}")
location=$(vfio_quote "${ARGS[1]}")
num_buffers=$(vfio_num_buffers "${ARGS[2]:-}")

# video/x-raw without a format: system memory in whatever linear format the
# guest uses (BGRx for XR24). I420, or videoconvert would pick Y444 for RGB
# and x264 would write High 4:4:4, which most players cannot decode.
# shellcheck disable=SC2054 # the commas are in caps
PIPELINE=(vfiogfxsrc "$device" ${num_buffers:+"$num_buffers"} ! video/x-raw !
  videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency !
  h264parse ! mp4mux ! filesink "location=$location")
vfio_launch
