#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Records the guest display to an AV1 MP4 with a VA encoder, zero copy:
# the guest framebuffer goes to the GPU encoder as a dma-buf.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vfio_va_mp4 AV1 vaav1enc av1parse "$@"
