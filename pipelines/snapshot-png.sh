#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Saves one frame of the guest display as a PNG. The CPU reads the guest
# framebuffer in place (linear dma-bufs that the exporter lets the CPU map;
# see docs/user-guide.md).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] DEVICE OUT.png

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  OUT.png    output file

The source waits until the guest shows a framebuffer (display on)."

vfio_init "$@"
vfio_nargs 2 2
device=$(vfio_device_prop "${ARGS[0]}")
location=$(vfio_quote "${ARGS[1]}")

PIPELINE=(vfiogfxsrc "$device" num-buffers=1 ! video/x-raw ! videoconvert !
  pngenc ! filesink "location=$location")
vfio_launch
