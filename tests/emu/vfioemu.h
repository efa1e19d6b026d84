/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioemu: an emulated mdev at the ioctl boundary.
 *
 * Linked into a test program (before libc), it interposes open(), openat()
 * (and their 64-bit and fortified variants), close(), ioctl(), mmap() and
 * readlink() so that the production code of gstvfio runs unchanged against
 * emulated devices:
 *
 *  - /sys/bus/mdev/devices/UUID paths are redirected to a fake sysfs tree in a
 *    temporary directory (iommu_group symlink to .../iommu_groups/N);
 *  - /dev/vfio/vfio and /dev/vfio/N open emulated container and group fds;
 *  - VFIO_GROUP_GET_DEVICE_FD hands out an emulated device fd, which is a
 *    real memfd holding the device's regions, so mmap() and pread() of
 *    regions work as on the kernel; pread() and pwrite() of the EDID region
 *    go through a model of its registers (see VfioEmuEdidAccess);
 *  - VFIO_DEVICE_GET_GFX_DMABUF returns a real memfd holding the pixels.
 *
 * Every call on an emulated fd is counted per ioctl request, and any ioctl
 * can be made to fail with an errno on the Nth call.
 *
 * Emulated fds are memfds recognised by their inode: a dup of a device fd,
 * or one received over a socket (SCM_RIGHTS), is a device fd too, even after
 * the original is closed. Dups of container, group and dma-buf fds are
 * recognised while another fd of the same file is still known.
 *
 * Region layout of the device fd: region i at offset (i + 1) MiB; the EDID
 * region (VFIO_EMU_EDID) is index 9 like mbochs, the display region of
 * region planes (VFIO_EMU_REGION) index 16 like mdpy, mmap-able (a second
 * one, index 17, at offset 16 MiB + 256 MiB on demand); the PCI
 * config space (VFIO_PCI_CONFIG_REGION_INDEX, 256 bytes, the vendor and
 * device id of the personality at offsets 0 and 2) is there on every
 * device; the other PCI regions answer size 0. Dma-buf fds are memfds;
 * DMA_BUF_IOCTL_SYNC on them answers 0; like any dma-buf they map in whole
 * pages inside their size only (dma_buf_mmap_internal()).
 *
 * A device life runs from the first device fd opened until every device fd
 * of the process is closed (dups, fds received over a socket and those of
 * vfio_emu_open_device_fd() included; an fd in flight in a socket and an
 * mmap of a region do not keep it), like the driver's open_device ..
 * close_device. What the driver forgets at close_device (ids, export
 * records, the request eventfd) is forgotten then.
 *
 * Double exports: on mbochs a second VFIO_DEVICE_GET_GFX_DMABUF of one id in
 * a device life corrupts host memory. On the GENERIC and MBOCHS
 * personalities it prints both call sites (backtraces) to stderr and aborts
 * the test, unless vfio_emu_set_double_export_fatal (FALSE).
 *
 * Interrupts: VFIO_DEVICE_GET_IRQ_INFO answers count 0 for every index, as
 * the kernel samples and GVT-g on 6.12 do, except the request IRQ that a
 * GENERIC device may offer (vfio_emu_set_request_irq());
 * VFIO_DEVICE_SET_IRQS fails with EINVAL on anything not offered.
 *
 * All functions are thread-safe.
 */
#pragma once

#include <glib.h>
#include <linux/vfio.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _VfioEmuDevice VfioEmuDevice;

/* The kernel driver a device behaves like (see vfioemu-personality.c):
 *
 * GENERIC: ids as described at vfio_emu_set_mode(), sizes rounded up to a
 *   page, PCI ids 0x1b36:0x000f (like mdpy), strict about double exports,
 *   vfio_emu_unplug() fails the fds with ENODEV at once, a request IRQ on
 *   demand.
 * MBOCHS (samples/vfio-mdev/mbochs.c): a new dmabuf_id per (mode, scan-out
 *   buffer), from a counter never reset while the mdev exists; the ids are
 *   dropped when the device life ends, so a mode shown in the next life
 *   gets a new one. The first query of the primary plane showing a buffer
 *   without an id in this life fails with ENOMEM (always, not a fault).
 *   size = stride * height exactly (800x600 XR24: 1920000), the dma-buf has
 *   that size (lseek SEEK_END) and maps in whole pages inside it only.
 *   GET_REGION_INFO: EINVAL for argsz > 48; on the EDID region argsz 32
 *   gets argsz 48, CAPS and cap_offset 32 without the capability. Strict
 *   about double exports. PCI ids 0x1234:0x1111.
 * GVTG (drivers/gpu/drm/i915/gvt/dmabuf.c): ids per (mode, scan-out
 *   buffer), the lowest free id from 1. An id is freed when the last
 *   dma-buf exported for it is released (a dup the emulator has not seen
 *   counts), or when the device life ends if it was never exported; the
 *   next new buffer shown gets the lowest free number, and a buffer whose
 *   id was freed gets a new one when shown again. Its export count
 *   (vfio_emu_export_count()) goes with it. GET_GFX_DMABUF of an unknown id
 *   is EINVAL;
 *   size = stride * height rounded up to whole tiles (X 8 rows, Y and Yf
 *   32), the dma-buf page-rounded; a dma-buf refuses mmap() with ENODEV;
 *   every export is a new fd, re-exports are fine. PCI ids 0x8086:0x1912.
 *
 * MBOCHS and GVTG have no request IRQ, and vfio_emu_unplug() on them waits
 * for the device fds to close (vfio_emu_unplug_pending()). */
typedef enum
{
  VFIO_EMU_PERSONALITY_GENERIC,
  VFIO_EMU_PERSONALITY_MBOCHS,
  VFIO_EMU_PERSONALITY_GVTG,
} VfioEmuPersonality;

/* Region indexes of the EDID region and of the region-plane framebuffer;
 * a second display region exists once the guest moves its plane there
 * (vfio_emu_set_display_region()). */
#define VFIO_EMU_EDID_REGION_INDEX VFIO_PCI_NUM_REGIONS
#define VFIO_EMU_DISPLAY_REGION_INDEX 16
#define VFIO_EMU_DISPLAY_REGION2_INDEX 17

/* drm_plane_type values (DRM_PLANE_TYPE_* of the kernel). */
#define VFIO_EMU_PLANE_PRIMARY 1
#define VFIO_EMU_PLANE_CURSOR 2

typedef enum
{
  VFIO_EMU_DMABUF = 1 << 0,     /* planes as dma-bufs (mbochs, GVT-g) */
  VFIO_EMU_REGION = 1 << 1,     /* planes in a region (mdpy, NVIDIA) */
  VFIO_EMU_EDID = 1 << 2,       /* an EDID region */
  VFIO_EMU_NO_DISPLAY = 0,      /* QUERY_GFX_PLANE answers EINVAL */
} VfioEmuFlags;

/* Forget every device, fault and counter; remove the fake sysfs tree. The
 * VMM's container and group fds (vfio_emu_open_device_fd()) are closed;
 * the device fd it returned is the caller's to close. Fds the code under
 * test still holds are forgotten, not closed. VfioEmuDevice pointers die
 * here. */
void vfio_emu_reset (void);

/* Add an mdev UUID in IOMMU group @group. */
VfioEmuDevice *vfio_emu_add_mdev (const char *uuid, int group,
    VfioEmuFlags flags);

/* Make @dev behave like @p (default GENERIC). Call it right after
 * vfio_emu_add_mdev(), before the device is opened or a mode is shown. */
void vfio_emu_set_personality (VfioEmuDevice * dev, VfioEmuPersonality p);

/* The sysfs path of @dev, /sys/bus/mdev/devices/UUID. */
const char *vfio_emu_device_sysfs_path (VfioEmuDevice * dev);

/* Open @dev as a VMM would (container, group, device fd) and return the
 * device fd (-1 with errno on failure); the container and group stay open
 * until vfio_emu_reset(), so open() of the group gives EBUSY meanwhile, as
 * with a running VM. These calls are not counted and no fault applies. */
int vfio_emu_open_device_fd (VfioEmuDevice * dev);

/* Make open("/dev/vfio/@group") fail with @err (EACCES, EBUSY, ENOENT);
 * 0 restores it. */
void vfio_emu_set_group_open_errno (int group, int err);

/* Show a mode: the primary plane becomes @fourcc/@modifier @width x @height
 * with @stride (0: width * bytes per pixel, i.e. width * 4 for 32-bit
 * formats), showing its scan-out buffer 0; the size depends on the
 * personality (GENERIC: stride * height rounded up to a page).
 * GENERIC: each distinct mode gets its own pair of dma-buf ids (double
 * buffering), stable for the life of the mdev; mode n (in the order first
 * shown) has ids 2n+1 and 2n+2, and showing a mode starts at its first id.
 * Every id of a mode shown so far can be exported. MBOCHS and GVTG hand ids
 * out per buffer shown, see VfioEmuPersonality. The pixels
 * of each buffer are filled with vfio_emu_pixel() at export. A region
 * device (VFIO_EMU_REGION) shows the mode in the display region its plane
 * names (VFIO_EMU_DISPLAY_REGION_INDEX unless moved), filled with that
 * region's index as the id; the regions grow to the largest mode shown. */
void vfio_emu_set_mode (VfioEmuDevice * dev, uint32_t fourcc,
    uint64_t modifier, uint32_t width, uint32_t height, uint32_t stride);

/* A region device moves its plane to display region @index
 * (VFIO_EMU_DISPLAY_REGION_INDEX or VFIO_EMU_DISPLAY_REGION2_INDEX) with
 * the same layout: the plane names that region, which shows the current
 * mode filled with id @index. Region 17 exists from the first call naming
 * it on (the device then has 18 regions). */
void vfio_emu_set_display_region (VfioEmuDevice * dev, unsigned index);

/* Gives display region @index a VFIO_REGION_INFO_CAP_TYPE capability of
 * @type and @subtype (0 and 0: none, the default), as a driver labelling
 * the region as something else would. */
void vfio_emu_set_region_type (VfioEmuDevice * dev, unsigned index,
    uint32_t type, uint32_t subtype);

/* Show the other buffer of the current mode (buffer 0 <-> 1); returns the
 * new dmabuf_id (as vfio_emu_current_id()). Region planes have no buffers
 * to flip. */
uint32_t vfio_emu_flip (VfioEmuDevice * dev);

/* A page flip to scan-out buffer @index of the current mode (the scan-out
 * offset index * size, as a guest rewriting bochs' Y_OFFSET): MBOCHS and
 * GVTG give it its own dmabuf_id the first time it is shown or queried in
 * a device life, stable after; GENERIC has buffers 0 and 1 only. Returns
 * the id shown, as vfio_emu_current_id(). */
uint32_t vfio_emu_show_buffer (VfioEmuDevice * dev, unsigned index);

/* Display off (all-zero plane answer) or back on. */
void vfio_emu_set_blank (VfioEmuDevice * dev, gboolean blank);

/* Answer the next QUERY_GFX_PLANE calls with @info verbatim (hostile guest
 * tests); dma-bufs for its dmabuf_id are memfds of @backing_size bytes.
 * It answers queries for @info->drm_plane_type (0: the primary plane); the
 * in-fields (argsz, flags, drm_plane_type) stay the caller's.
 * NULL returns to the mode set with vfio_emu_set_mode(). */
void vfio_emu_set_raw_plane (VfioEmuDevice * dev,
    const struct vfio_device_gfx_plane_info *info, uint64_t backing_size);

/* Every dma-buf exported from now on refuses mmap() with EINVAL, like stock
 * mbochs, which exports read-only (mmap() is interposed too). GVTG
 * dma-bufs always refuse it, with ENODEV. */
void vfio_emu_set_dmabuf_mmap_fails (VfioEmuDevice * dev, gboolean fails);

/* Fail ioctl @request on @dev (NULL: any emulated fd, container included)
 * with @err on calls number @first .. @first + @count - 1 (1-based; @count
 * 0 = forever), counted from this call on: (dev, request, ENOMEM, 1, 1)
 * fails the next such call. A failing call still counts. Calls on @dev are
 * those on its device fds, its dma-bufs and the fds of its group. */
void vfio_emu_fail_ioctl (VfioEmuDevice * dev, unsigned long request,
    int err, unsigned first, unsigned count);

/* Remove the mdev; returns at once. Its sysfs entry goes away and no new
 * device fd is handed out (ENODEV). GENERIC: all later ioctls on @dev's
 * device fds and group fds fail with ENODEV, as after a hot-unplug whose
 * request the VMM honoured. MBOCHS and GVTG, which have no request IRQ: as
 * the kernel, the removal waits until every device fd is closed, and the
 * fds keep working meanwhile (vfio_emu_unplug_pending()). Once removed,
 * open() of its group gives ENOENT when no device of the group is left.
 * Dma-bufs already exported stay usable. */
void vfio_emu_unplug (VfioEmuDevice * dev);

/* Whether a vfio_emu_unplug() of @dev is waiting for its device fds to be
 * closed (MBOCHS, GVTG); FALSE before the unplug and once it is done. */
gboolean vfio_emu_unplug_pending (VfioEmuDevice * dev);

/* GENERIC only: offer (or withdraw) the request IRQ. When offered,
 * GET_IRQ_INFO for VFIO_PCI_REQ_IRQ_INDEX answers count 1 with
 * VFIO_IRQ_INFO_EVENTFD; SET_IRQS with DATA_EVENTFD | ACTION_TRIGGER
 * registers an eventfd, fd -1 (or DATA_NONE with count 0) unregisters it,
 * as vfio-pci does. Off by default. */
void vfio_emu_set_request_irq (VfioEmuDevice * dev, gboolean offered);

/* Signal the registered request eventfd, as the kernel does when the device
 * is to be removed; FALSE when none is registered. */
gboolean vfio_emu_request (VfioEmuDevice * dev);

/* Exports of dmabuf_id @id of @dev in the current device life (0 once the
 * last device fd is closed). */
unsigned vfio_emu_export_count (VfioEmuDevice * dev, uint32_t id);

/* The scan-out buffer that dma-buf @fd holds: the index of its mode (in
 * the order first shown) and of the buffer in it, whatever its dmabuf_id
 * names now. FALSE when @fd is not a dma-buf of a mode's buffer (a raw
 * plane's, or no dma-buf at all). */
gboolean vfio_emu_dmabuf_buffer (int fd, unsigned *mode, unsigned *buffer);

/* Whether a second export of an id in one device life aborts (GENERIC,
 * MBOCHS); default TRUE, and vfio_emu_reset() restores it. FALSE counts the
 * export and hands out a new dma-buf: for the emulator's own tests and for
 * benchmarks of what re-exporting costs, never to make a test pass. */
void vfio_emu_set_double_export_fatal (gboolean fatal);

/* After a thread replaces an emulated device fd with dup2()/dup3() (a way
 * to close a file under a number other threads may still use), it sleeps
 * @ms: the window in which those threads meet the new file grows from
 * nanoseconds to something tests can hit. 0 (the default, restored by
 * vfio_emu_reset()) does not sleep. */
void vfio_emu_set_replace_delay (guint ms);

/* Number of ioctl @request calls on @dev (NULL: all emulated fds), failed
 * ones included, since vfio_emu_reset(). Calls made by
 * vfio_emu_open_device_fd() are not counted. */
unsigned vfio_emu_ioctl_count (VfioEmuDevice * dev, unsigned long request);

/* Number of dma-bufs exported for @dev and not closed yet. */
unsigned vfio_emu_live_dmabufs (VfioEmuDevice * dev);

/* Number of emulated fds (container, group, device) open now, excluding
 * those made by vfio_emu_open_device_fd(). */
unsigned vfio_emu_open_fds (void);

/* The value of pixel (@x, @y) of buffer @dmabuf_id: a pattern tests can
 * check (XR24: 0x00RRGGBB with R = x, G = y, B = id, each & 0xff). */
uint32_t vfio_emu_pixel (uint32_t dmabuf_id, uint32_t x, uint32_t y);

/* The dmabuf_id the primary plane shows now (0 when blank or before any
 * mode; VFIO_EMU_DISPLAY_REGION_INDEX on a region-only device). MBOCHS and
 * GVTG hand one out when the buffer shown has none in this device life, as
 * the next query would. */
uint32_t vfio_emu_current_id (VfioEmuDevice * dev);

/* When vfio_emu_flip() last ran on @dev: CLOCK_MONOTONIC in nanoseconds
 * (0: never), for latency measurements. */
uint64_t vfio_emu_last_flip_time (VfioEmuDevice * dev);

/* One pread() or pwrite() of the EDID region, as the code under test made
 * it: @offset within the region, @size bytes, @value their first 4 bytes.
 * The emulated driver splits it into aligned 4, 2 and 1-byte accesses like
 * mbochs and GVT-g; registers take only whole aligned 4-byte ones (EINVAL
 * otherwise, EPERM for the read-only ones), the blob none past edid_size,
 * link_state UP only over a block with a valid header and checksum, as
 * GVT-g. */
typedef struct
{
  gboolean write;
  uint32_t offset;
  uint32_t size;
  uint32_t value;
} VfioEmuEdidAccess;

/* max_xres, max_yres (0: no limit) and edid_max_size (at most 512) of the
 * EDID region of @dev (VFIO_EMU_EDID); by default 1920, 1440 and 512. */
void vfio_emu_set_edid_limits (VfioEmuDevice * dev, uint32_t max_xres,
    uint32_t max_yres, uint32_t edid_max_size);

/* The accesses to the EDID region of @dev since it was added or since the
 * last call, in order (VfioEmuEdidAccess); free with g_array_unref(). */
GArray *vfio_emu_take_edid_accesses (VfioEmuDevice * dev);

/* The EDID the guest sees (edid_size bytes of the blob) while the link is
 * up, else NULL (as mbochs shows it in its MMIO BAR); @link_state
 * (nullable) gets the register. */
GBytes *vfio_emu_edid_shown (VfioEmuDevice * dev, uint32_t * link_state);

G_END_DECLS
