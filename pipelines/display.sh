#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shows the guest display in a local window. Both sinks import the guest
# framebuffer as a dma-buf (tiled ones too, where the GPU driver can), and
# fall back to system memory for linear ones.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] [--sink=gl|wayland] DEVICE

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  --sink=gl  glupload ! glimagesink (X11 or Wayland; the default)
  --sink=wayland
             waylandsink (Wayland only)"

SINK=(glupload ! glimagesink)
vfio_option () {
  case $1 in
    --sink=gl) SINK=(glupload ! glimagesink) ;;
    --sink=wayland) SINK=(waylandsink) ;;
    *) return 1 ;;
  esac
}

vfio_init "$@"
vfio_nargs 1 1
device=$(vfio_device_prop "${ARGS[0]}")

PIPELINE=(vfiogfxsrc "$device" ! "${SINK[@]}")
vfio_launch
