#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Records the guest display to an H.265 MP4 with a VA encoder, zero copy:
# the guest framebuffer goes to the GPU encoder as a dma-buf.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] [--postproc] DEVICE OUT.mp4 [SECONDS]

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
device=$(vfio_device_prop "${ARGS[0]}")
location=$(vfio_quote "${ARGS[1]}")
num_buffers=$(vfio_num_buffers "${ARGS[2]:-}")

PIPELINE=(vfiogfxsrc "$device" ${num_buffers:+"$num_buffers"} !
  "${POSTPROC[@]}" vah265enc ! h265parse ! mp4mux !
  filesink "location=$location")
vfio_launch
