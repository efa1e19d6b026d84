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
 * region planes (VFIO_EMU_REGION) index 16 like mdpy, mmap-able. Dma-buf
 * fds are memfds; DMA_BUF_IOCTL_SYNC on them answers 0.
 *
 * All functions are thread-safe.
 */
#pragma once

#include <glib.h>
#include <linux/vfio.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _VfioEmuDevice VfioEmuDevice;

/* Region indexes of the EDID region and of the region-plane framebuffer. */
#define VFIO_EMU_EDID_REGION_INDEX VFIO_PCI_NUM_REGIONS
#define VFIO_EMU_DISPLAY_REGION_INDEX 16

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
 * VMM's fds (vfio_emu_open_device_fd()) are closed; fds the code under test
 * still holds are forgotten, not closed. VfioEmuDevice pointers die here. */
void vfio_emu_reset (void);

/* Add an mdev UUID in IOMMU group @group. */
VfioEmuDevice *vfio_emu_add_mdev (const char *uuid, int group,
    VfioEmuFlags flags);

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
 * formats) and size stride * height rounded up to a page.
 * Each distinct mode gets its own pair of dma-buf ids (double buffering),
 * stable for the life of the device, like mbochs and GVT-g; mode n (in the
 * order first shown) has ids 2n+1 and 2n+2, and showing a mode starts at
 * its first id. Every id of a mode shown so far can be exported. The pixels
 * of each buffer are filled with vfio_emu_pixel() at export. A region
 * device (VFIO_EMU_REGION) shows the mode in its display region, filled
 * with id VFIO_EMU_DISPLAY_REGION_INDEX; the region grows to the largest
 * mode shown. */
void vfio_emu_set_mode (VfioEmuDevice * dev, uint32_t fourcc,
    uint64_t modifier, uint32_t width, uint32_t height, uint32_t stride);

/* Show the other buffer of the current mode; returns the new dmabuf_id
 * (as vfio_emu_current_id()). Region planes have no buffers to flip. */
uint32_t vfio_emu_flip (VfioEmuDevice * dev);

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
 * mbochs and GVT-g proxies (mmap() is interposed too). */
void vfio_emu_set_dmabuf_mmap_fails (VfioEmuDevice * dev, gboolean fails);

/* Fail ioctl @request on @dev (NULL: any emulated fd, container included)
 * with @err on calls number @first .. @first + @count - 1 (1-based; @count
 * 0 = forever), counted from this call on: (dev, request, ENOMEM, 1, 1)
 * fails the next such call. A failing call still counts. Calls on @dev are
 * those on its device fds, its dma-bufs and the fds of its group. */
void vfio_emu_fail_ioctl (VfioEmuDevice * dev, unsigned long request,
    int err, unsigned first, unsigned count);

/* All later ioctls on @dev's device fds and group fds fail with ENODEV, as
 * after a hot-unplug; its sysfs entry goes away and open() of its group
 * gives ENOENT once no device of the group is left. Dma-bufs already
 * exported stay usable. */
void vfio_emu_unplug (VfioEmuDevice * dev);

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
 * mode; VFIO_EMU_DISPLAY_REGION_INDEX on a region-only device). */
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
