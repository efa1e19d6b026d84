# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm-guest: the kernel samples as guest.c drives them, without the element
# (run by run-vm with mbochs, mbochs_rw and mdpy loaded, one mdev of each).
#  1. mbochs_rw: modes, a return to a known mode, double buffering, blanking
#     and 800x600: each checks the pixels of the mmapped dma-buf
#  2. stock mbochs: the chain works up to mmap (read-only exports)
#  3. mdpy: the region plane shows what is drawn
#  4. run: a child with the inherited device fd sees what the parent draws
. "$(dirname "$0")/lib.sh"

rw=$(mdev_uuid mbochs_rw-medium)
ro=$(mdev_uuid mbochs-medium)
mdpy=$(mdev_uuid mdpy-vga)

step "mbochs_rw: modes, flips, blanking"
"$GUEST" --device "$rw" 'mode 640 480; draw 7; probe 7; mode 1024 768;
  draw 9; probe 9; mode 640 480; draw 10; probe 10; flip 11; probe 11;
  flip 12; probe 12; blank; probe; unblank; probe 12; mode 800 600; draw 13;
  probe 13' || fail "guest failed on mbochs_rw"

step "stock mbochs: read-only dma-bufs"
"$GUEST" --device "$ro" 'mode 640 480; draw 1; probe' ||
  fail "guest failed on mbochs"

step "mdpy: region plane"
"$GUEST" --device "$mdpy" 'draw 5; probe 5' || fail "guest failed on mdpy"

step "run: the child sees what the parent draws"
"$GUEST" --device "$rw" --script \
  'sleep 2; mode 1024 768; draw 1; blank; unblank; animate 2 5 30 flip' \
  run -- "$GUEST" 'probe 0; sleep 5; probe 6' || fail "guest run failed"
no_kernel_trouble
say "OK"
