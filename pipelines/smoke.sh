#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Smoke test: captures N frames into fakesink and prints the negotiated caps
# and the measured frame rate (rendered, dropped, current and average fps).
# No encoder and no CPU access: fakesink takes the DMABuf caps.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USAGE="Usage: ${0##*/} [--print-pipeline] DEVICE [N]

  DEVICE     mdev UUID, /sys/bus/mdev/devices/UUID, or fd:N for an inherited
             VFIO device fd N
  N          frames to capture (default $((5 * VFIO_FPS)))

For the element's own counters (queries, exports, frames) see the 'stats'
property (read it from an application)."

vfio_init "$@"
vfio_nargs 1 2
device=$(vfio_device_prop "${ARGS[0]}")
n=${ARGS[1]:-$((5 * VFIO_FPS))}
vfio_int N "$n" 1 100000000

PIPELINE=(vfiogfxsrc "$device" "num-buffers=$n" !
  fpsdisplaysink video-sink=fakesink text-overlay=false)
# -v prints the caps and fpsdisplaysink's measurements.
vfio_launch -v
