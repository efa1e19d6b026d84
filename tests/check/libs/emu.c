/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-test of the emulated mdev (tests/emu/vfioemu.c): raw open(), ioctl(),
 * mmap(), pread() and readlink() against it, as the kernel would answer
 * them, so that the library tests built on it can trust what it says.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

#include <dlfcn.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfioemu.h"

#define UUID "0b0e4c6a-7f0e-4d55-9a4c-1d2f3e4a5b6c"
#define UUID2 "5e1d2c3b-4a59-4867-8f9e-0a1b2c3d4e5f"
#define GROUP 12
#define GROUP2 13

static void
reset (void)
{
  vfio_emu_reset ();
}

/* ---------------------------------------------------------------------- */
/* Helpers: the steps of a VMM, each asserted */

static int
open_container (void)
{
  int fd = open ("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

  fail_unless (fd >= 0, "container: %s", g_strerror (errno));
  return fd;
}

static int
open_group (int group)
{
  g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", group);
  int fd = open (node, O_RDWR | O_CLOEXEC);

  fail_unless (fd >= 0, "%s: %s", node, g_strerror (errno));
  return fd;
}

static void
attach (int group_fd, int container_fd)
{
  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_SET_CONTAINER,
          &container_fd), 0);
  fail_unless_equals_int (ioctl (container_fd, VFIO_SET_IOMMU,
          (unsigned long) VFIO_TYPE1v2_IOMMU), 0);
}

/* Container, group and device fd; returns the device fd. */
static int
open_stack (int group, const char *uuid, int *container_fd, int *group_fd)
{
  int fd;

  *container_fd = open_container ();
  *group_fd = open_group (group);
  attach (*group_fd, *container_fd);
  fd = ioctl (*group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
  fail_unless (fd >= 0, "device fd: %s", g_strerror (errno));
  return fd;
}

static void
close_stack (int device_fd, int container_fd, int group_fd)
{
  fail_unless_equals_int (close (device_fd), 0);
  fail_unless_equals_int (close (group_fd), 0);
  fail_unless_equals_int (close (container_fd), 0);
}

static int
query (int fd, guint32 flags, guint32 plane_type,
    struct vfio_device_gfx_plane_info *plane)
{
  memset (plane, 0xa5, sizeof (*plane));
  plane->argsz = sizeof (*plane);
  plane->flags = flags;
  plane->drm_plane_type = plane_type;
  return ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, plane);
}

static int
probe (int fd, guint32 flags)
{
  struct vfio_device_gfx_plane_info plane;

  return query (fd, VFIO_GFX_PLANE_TYPE_PROBE | flags, 0, &plane);
}

static void
assert_plane_is_zero (const struct vfio_device_gfx_plane_info *plane)
{
  fail_unless_equals_int (plane->drm_format, 0);
  fail_unless_equals_uint64 (plane->drm_format_mod, 0);
  fail_unless_equals_int (plane->width, 0);
  fail_unless_equals_int (plane->height, 0);
  fail_unless_equals_int (plane->stride, 0);
  fail_unless_equals_int (plane->size, 0);
  fail_unless_equals_int (plane->x_pos, 0);
  fail_unless_equals_int (plane->y_pos, 0);
  fail_unless_equals_int (plane->x_hot, 0);
  fail_unless_equals_int (plane->y_hot, 0);
  fail_unless_equals_int (plane->dmabuf_id, 0);
}

static guint32
query_primary_id (int fd)
{
  struct vfio_device_gfx_plane_info plane;

  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  return plane.dmabuf_id;
}

static int
export (int fd, guint32 id)
{
  return ioctl (fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
}

#define assert_fails_with(call, err) G_STMT_START {           \
    errno = 0;                                                \
    fail_unless_equals_int ((call), -1);                      \
    fail_unless_equals_int (errno, (err));                    \
  } G_STMT_END

static void
assert_xr24_pixels (const guint8 * map, guint32 stride, guint32 width,
    guint32 height, guint32 id)
{
  const guint32 xs[] = { 0, 1, 255, 256, width - 1 };
  const guint32 ys[] = { 0, 1, 255, height - 1 };

  for (guint i = 0; i < G_N_ELEMENTS (xs); i++) {
    for (guint j = 0; j < G_N_ELEMENTS (ys); j++) {
      guint32 value;

      if (xs[i] >= width || ys[j] >= height)
        continue;
      memcpy (&value, map + ys[j] * stride + xs[i] * 4, 4);
      fail_unless_equals_int (value, vfio_emu_pixel (id, xs[i], ys[j]));
    }
  }
}

/* ---------------------------------------------------------------------- */
/* Fake sysfs */

GST_START_TEST (test_sysfs_layout)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  char target[256];
  ssize_t len;
  int fd;

  fail_unless_equals_string (vfio_emu_device_sysfs_path (dev),
      "/sys/bus/mdev/devices/" UUID);

  fd = open ("/sys/bus/mdev/devices/" UUID, O_PATH | O_DIRECTORY | O_CLOEXEC);
  fail_unless (fd >= 0, "%s", g_strerror (errno));
  fail_unless_equals_int (close (fd), 0);

  len = readlink ("/sys/bus/mdev/devices/" UUID "/iommu_group", target,
      sizeof (target) - 1);
  fail_unless (len > 0, "%s", g_strerror (errno));
  target[len] = '\0';
  fail_unless_equals_string (target, "../../../../kernel/iommu_groups/12");

  /* The link resolves, and the group lists the device. */
  fd = open ("/sys/bus/mdev/devices/" UUID "/iommu_group",
      O_PATH | O_DIRECTORY | O_CLOEXEC);
  fail_unless (fd >= 0, "%s", g_strerror (errno));
  close (fd);
  fd = open ("/sys/kernel/iommu_groups/12/devices/" UUID,
      O_PATH | O_DIRECTORY | O_CLOEXEC);
  fail_unless (fd >= 0, "%s", g_strerror (errno));
  close (fd);

  /* Nothing else of the tree is there. */
  assert_fails_with (open ("/sys/bus/mdev/devices/" UUID2,
          O_PATH | O_DIRECTORY | O_CLOEXEC), ENOENT);
  assert_fails_with (readlink ("/sys/bus/mdev/devices/" UUID2
          "/iommu_group", target, sizeof (target)), ENOENT);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_sysfs_reset_removes_tree)
{
  int fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_reset ();

  assert_fails_with (open ("/sys/bus/mdev/devices/" UUID,
          O_PATH | O_DIRECTORY | O_CLOEXEC), ENOENT);
  assert_fails_with (open ("/sys/kernel/iommu_groups/12", O_PATH), ENOENT);

  /* A new device after a reset gets a new tree. */
  vfio_emu_add_mdev (UUID2, GROUP, VFIO_EMU_DMABUF);
  fd = open ("/sys/bus/mdev/devices/" UUID2, O_PATH | O_DIRECTORY);
  fail_unless (fd >= 0, "%s", g_strerror (errno));
  close (fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Container and group */

GST_START_TEST (test_container_ioctls)
{
  int fd = open_container ();

  fail_unless_equals_int (vfio_emu_open_fds (), 1);
  fail_unless_equals_int (ioctl (fd, VFIO_GET_API_VERSION), VFIO_API_VERSION);
  fail_unless_equals_int (ioctl (fd, VFIO_CHECK_EXTENSION,
          (unsigned long) VFIO_TYPE1v2_IOMMU), 1);
  fail_unless_equals_int (ioctl (fd, VFIO_CHECK_EXTENSION,
          (unsigned long) VFIO_TYPE1_IOMMU), 1);
  fail_unless_equals_int (ioctl (fd, VFIO_CHECK_EXTENSION,
          (unsigned long) VFIO_NOIOMMU_IOMMU), 0);
  /* No group: the container may not set an IOMMU yet. */
  assert_fails_with (ioctl (fd, VFIO_SET_IOMMU,
          (unsigned long) VFIO_TYPE1v2_IOMMU), EINVAL);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_INFO, NULL), ENOTTY);

  fail_unless_equals_int (close (fd), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_group_setup)
{
  struct vfio_group_status status = {.argsz = sizeof (status) };
  int container_fd, group_fd, device_fd, not_a_container;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  container_fd = open_container ();
  group_fd = open_group (GROUP);

  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status), 0);
  fail_unless_equals_int (status.flags, VFIO_GROUP_FLAGS_VIABLE);
  status.argsz = 4;
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status),
      EINVAL);

  /* No device fd before the container has an IOMMU. */
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID), EINVAL);

  not_a_container = open ("/dev/null", O_RDONLY);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_SET_CONTAINER,
          &not_a_container), EINVAL);
  close (not_a_container);

  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_SET_CONTAINER,
          &container_fd), 0);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_SET_CONTAINER,
          &container_fd), EINVAL);
  status.argsz = sizeof (status);
  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status), 0);
  fail_unless_equals_int (status.flags,
      VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID), EINVAL);

  assert_fails_with (ioctl (container_fd, VFIO_SET_IOMMU, 42UL), ENODEV);
  fail_unless_equals_int (ioctl (container_fd, VFIO_SET_IOMMU,
          (unsigned long) VFIO_TYPE1_IOMMU), 0);
  assert_fails_with (ioctl (container_fd, VFIO_SET_IOMMU,
          (unsigned long) VFIO_TYPE1_IOMMU), EINVAL);

  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID2),
      ENODEV);
  device_fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  fail_unless (device_fd >= 0, "%s", g_strerror (errno));
  fail_unless (fcntl (device_fd, F_GETFD) & FD_CLOEXEC);
  fail_unless_equals_int (vfio_emu_open_fds (), 3);

  close_stack (device_fd, container_fd, group_fd);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_group_unset_container)
{
  int container_fd, group_fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  container_fd = open_container ();
  group_fd = open_group (GROUP);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
  attach (group_fd, container_fd);
  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_UNSET_CONTAINER), 0);
  /* The last group out unsets the container's IOMMU. */
  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_SET_CONTAINER,
          &container_fd), 0);
  fail_unless_equals_int (ioctl (container_fd, VFIO_SET_IOMMU,
          (unsigned long) VFIO_TYPE1v2_IOMMU), 0);
  close (group_fd);
  close (container_fd);
}

GST_END_TEST;

GST_START_TEST (test_group_open_once)
{
  int fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  fd = open_group (GROUP);
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), EBUSY);
  fail_unless_equals_int (close (fd), 0);
  fd = open_group (GROUP);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_group_open_errno)
{
  int fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_group_open_errno (GROUP, EACCES);
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), EACCES);
  vfio_emu_set_group_open_errno (GROUP, EBUSY);
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), EBUSY);
  vfio_emu_set_group_open_errno (GROUP, 0);
  fd = open_group (GROUP);
  close (fd);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_unknown_nodes)
{
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  assert_fails_with (open ("/dev/vfio/13", O_RDWR), ENOENT);
  assert_fails_with (open ("/dev/vfio/devices/vfio0", O_RDWR), ENOENT);
  assert_fails_with (open ("/dev/vfio/12x", O_RDWR), ENOENT);
  assert_fails_with (open ("/dev/vfio/", O_RDWR), ENOENT);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_two_devices_in_a_group)
{
  VfioEmuDevice *a = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  VfioEmuDevice *b = vfio_emu_add_mdev (UUID2, GROUP, VFIO_EMU_REGION);
  int container_fd, group_fd, fd_a, fd_b;

  fd_a = open_stack (GROUP, UUID, &container_fd, &group_fd);
  fd_b = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID2);
  fail_unless (fd_b >= 0);
  fail_unless_equals_int (probe (fd_a, VFIO_GFX_PLANE_TYPE_DMABUF), 0);
  fail_unless_equals_int (probe (fd_b, VFIO_GFX_PLANE_TYPE_REGION), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (a,
          VFIO_DEVICE_QUERY_GFX_PLANE), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (b,
          VFIO_DEVICE_QUERY_GFX_PLANE), 1);
  /* Group calls count for every device of the group. */
  fail_unless_equals_int (vfio_emu_ioctl_count (a,
          VFIO_GROUP_GET_DEVICE_FD), 2);
  fail_unless_equals_int (vfio_emu_ioctl_count (b,
          VFIO_GROUP_GET_DEVICE_FD), 2);
  close (fd_b);
  close_stack (fd_a, container_fd, group_fd);
}

GST_END_TEST;

GST_START_TEST (test_vmm_open)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  int fd = vfio_emu_open_device_fd (dev);

  fail_unless (fd >= 0, "%s", g_strerror (errno));
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL,
          VFIO_GROUP_GET_DEVICE_FD), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL, VFIO_SET_IOMMU), 0);

  /* The VMM holds the group. */
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), EBUSY);
  assert_fails_with (vfio_emu_open_device_fd (dev), EBUSY);

  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_INFO), 1);
  fail_unless_equals_int (close (fd), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  /* vfio_emu_reset() lets the group go. */
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  fd = open_group (GROUP);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_close_order)
{
  struct vfio_device_info info = {.argsz = sizeof (info) };
  int container_fd, group_fd, device_fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  device_fd = open_stack (GROUP, UUID, &container_fd, &group_fd);

  /* Device fd first: the group still hands out another one. */
  fail_unless_equals_int (close (device_fd), 0);
  assert_fails_with (ioctl (device_fd, VFIO_DEVICE_GET_INFO, &info), EBADF);
  fail_unless_equals_int (vfio_emu_open_fds (), 2);
  device_fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  fail_unless (device_fd >= 0);

  /* Container and group first: the device fd keeps working. */
  fail_unless_equals_int (close (container_fd), 0);
  fail_unless_equals_int (close (group_fd), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 1);
  fail_unless_equals_int (ioctl (device_fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (close (device_fd), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  /* The group is free again. */
  group_fd = open_group (GROUP);
  close (group_fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Device info and regions */

static guint32
num_regions_of (VfioEmuFlags flags)
{
  struct vfio_device_info info = {.argsz = sizeof (info) };
  VfioEmuDevice *dev;
  int fd;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, flags);
  fd = vfio_emu_open_device_fd (dev);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (info.flags, VFIO_DEVICE_FLAGS_PCI);
  fail_unless_equals_int (info.num_irqs, VFIO_PCI_NUM_IRQS);
  close (fd);
  return info.num_regions;
}

GST_START_TEST (test_device_info)
{
  fail_unless_equals_int (num_regions_of (VFIO_EMU_NO_DISPLAY),
      VFIO_PCI_NUM_REGIONS);
  fail_unless_equals_int (num_regions_of (VFIO_EMU_DMABUF),
      VFIO_PCI_NUM_REGIONS);
  fail_unless_equals_int (num_regions_of (VFIO_EMU_DMABUF | VFIO_EMU_EDID),
      VFIO_EMU_EDID_REGION_INDEX + 1);
  fail_unless_equals_int (num_regions_of (VFIO_EMU_REGION),
      VFIO_EMU_DISPLAY_REGION_INDEX + 1);
}

GST_END_TEST;

GST_START_TEST (test_device_info_argsz)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);
  struct vfio_device_info info;

  memset (&info, 0xa5, sizeof (info));
  info.argsz = offsetof (struct vfio_device_info, num_irqs);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), EINVAL);

  /* An old, shorter struct: nothing past argsz is written. */
  info.argsz = offsetof (struct vfio_device_info, cap_offset);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (info.num_regions, VFIO_PCI_NUM_REGIONS);
  fail_unless_equals_int (info.cap_offset, 0xa5a5a5a5);

  info.argsz = sizeof (info);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (info.cap_offset, 0);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_region_info_edid_caps)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  int fd = vfio_emu_open_device_fd (dev);
  struct
  {
    struct vfio_region_info info;
    struct vfio_region_info_cap_type cap;
  } r;

  /* Too small for the chain: the size needed, and no chain. */
  memset (&r, 0, sizeof (r));
  r.info.argsz = sizeof (r.info);
  r.info.index = VFIO_EMU_EDID_REGION_INDEX;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_int (r.info.argsz, sizeof (r));
  fail_unless (r.info.flags & VFIO_REGION_INFO_FLAG_CAPS);
  fail_unless_equals_int (r.info.cap_offset, 0);
  fail_unless_equals_int (r.cap.header.id, 0);

  /* Large enough: the chain. */
  r.info.argsz = sizeof (r);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_int (r.info.flags, VFIO_REGION_INFO_FLAG_READ |
      VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_CAPS);
  fail_unless_equals_int (r.info.cap_offset, sizeof (r.info));
  fail_unless_equals_uint64 (r.info.offset,
      (guint64) (VFIO_EMU_EDID_REGION_INDEX + 1) << 20);
  fail_unless_equals_uint64 (r.info.size, 0x1000);
  fail_unless_equals_int (r.cap.header.id, VFIO_REGION_INFO_CAP_TYPE);
  fail_unless_equals_int (r.cap.header.version, 1);
  fail_unless_equals_int (r.cap.header.next, 0);
  fail_unless_equals_int (r.cap.type, VFIO_REGION_TYPE_GFX);
  fail_unless_equals_int (r.cap.subtype, VFIO_REGION_SUBTYPE_GFX_EDID);

  /* Unimplemented PCI regions: size 0, no caps; past the end: EINVAL. */
  memset (&r, 0, sizeof (r));
  r.info.argsz = sizeof (r);
  r.info.index = 0;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_uint64 (r.info.size, 0);
  fail_unless_equals_int (r.info.flags, 0);
  r.info.index = VFIO_EMU_EDID_REGION_INDEX + 1;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);
  r.info.index = 0;
  r.info.argsz = 16;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_edid_contents)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  const guint8 magic[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
  const off_t offset = (off_t) (VFIO_EMU_EDID_REGION_INDEX + 1) << 20;
  int fd = vfio_emu_open_device_fd (dev);
  struct vfio_region_gfx_edid header;
  guint8 blob[128], sum = 0;

  fail_unless_equals_int (pread (fd, &header, sizeof (header), offset),
      sizeof (header));
  fail_unless (header.edid_offset >= sizeof (header));
  fail_unless_equals_int (header.edid_max_size, 512);
  fail_unless_equals_int (header.edid_size, 128);
  fail_unless_equals_int (header.max_xres, 1920);
  fail_unless_equals_int (header.max_yres, 1440);
  fail_unless_equals_int (header.link_state, VFIO_DEVICE_GFX_LINK_STATE_UP);

  fail_unless_equals_int (pread (fd, blob, sizeof (blob),
          offset + header.edid_offset), sizeof (blob));
  fail_unless (memcmp (blob, magic, sizeof (magic)) == 0);
  for (guint i = 0; i < sizeof (blob); i++)
    sum += blob[i];
  fail_unless_equals_int (sum, 0);
  /* The preferred timing is 1024x768. */
  fail_unless_equals_int (blob[56] | ((blob[58] & 0xf0) << 4), 1024);
  fail_unless_equals_int (blob[59] | ((blob[61] & 0xf0) << 4), 768);
  close (fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* QUERY_GFX_PLANE */

GST_START_TEST (test_probe)
{
  VfioEmuDevice *dmabuf = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  VfioEmuDevice *region = vfio_emu_add_mdev (UUID2, GROUP2, VFIO_EMU_REGION);
  VfioEmuDevice *none = vfio_emu_add_mdev ("none", 14, VFIO_EMU_NO_DISPLAY);
  struct vfio_device_gfx_plane_info plane;
  int fd_dmabuf = vfio_emu_open_device_fd (dmabuf);
  int fd_region = vfio_emu_open_device_fd (region);
  int fd_none = vfio_emu_open_device_fd (none);

  fail_unless_equals_int (probe (fd_dmabuf, VFIO_GFX_PLANE_TYPE_DMABUF), 0);
  assert_fails_with (probe (fd_dmabuf, VFIO_GFX_PLANE_TYPE_REGION), EINVAL);
  assert_fails_with (probe (fd_region, VFIO_GFX_PLANE_TYPE_DMABUF), EINVAL);
  fail_unless_equals_int (probe (fd_region, VFIO_GFX_PLANE_TYPE_REGION), 0);
  assert_fails_with (probe (fd_none, VFIO_GFX_PLANE_TYPE_DMABUF), EINVAL);
  assert_fails_with (probe (fd_none, VFIO_GFX_PLANE_TYPE_REGION), EINVAL);

  /* PROBE alone, both kinds, no kind: EINVAL. */
  assert_fails_with (probe (fd_dmabuf, 0), EINVAL);
  assert_fails_with (probe (fd_dmabuf, VFIO_GFX_PLANE_TYPE_DMABUF |
          VFIO_GFX_PLANE_TYPE_REGION), EINVAL);
  assert_fails_with (query (fd_dmabuf, 0, VFIO_EMU_PLANE_PRIMARY, &plane),
      EINVAL);
  assert_fails_with (query (fd_dmabuf, VFIO_GFX_PLANE_TYPE_REGION,
          VFIO_EMU_PLANE_PRIMARY, &plane), EINVAL);
  assert_fails_with (query (fd_none, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), EINVAL);
  close (fd_dmabuf);
  close (fd_region);
  close (fd_none);
}

GST_END_TEST;

GST_START_TEST (test_query_argsz)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  memset (&plane, 0, sizeof (plane));
  plane.argsz = offsetof (struct vfio_device_gfx_plane_info, region_index);
  plane.flags = VFIO_GFX_PLANE_TYPE_DMABUF;
  plane.drm_plane_type = VFIO_EMU_PLANE_PRIMARY;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &plane), EINVAL);
  plane.flags = VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &plane), EINVAL);

  /* Up to region_index is enough; reserved is not written. */
  plane.argsz = offsetof (struct vfio_device_gfx_plane_info, reserved);
  plane.flags = VFIO_GFX_PLANE_TYPE_DMABUF;
  plane.reserved = 0x5a5a5a5a;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &plane), 0);
  fail_unless_equals_int (plane.dmabuf_id, 1);
  fail_unless_equals_int (plane.reserved, 0x5a5a5a5a);
  fail_unless_equals_int (plane.argsz,
      offsetof (struct vfio_device_gfx_plane_info, reserved));
  fail_unless_equals_int (plane.flags, VFIO_GFX_PLANE_TYPE_DMABUF);
  fail_unless_equals_int (plane.drm_plane_type, VFIO_EMU_PLANE_PRIMARY);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_query_dmabuf_modes)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);

  /* Before the guest enables the display: an all-zero plane. */
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  assert_plane_is_zero (&plane);
  fail_unless_equals_int (vfio_emu_current_id (dev), 0);
  fail_unless_equals_int (vfio_emu_flip (dev), 0);

  /* mbochs at 640x480. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.drm_format, DRM_FORMAT_XRGB8888);
  fail_unless_equals_uint64 (plane.drm_format_mod, DRM_FORMAT_MOD_LINEAR);
  fail_unless_equals_int (plane.width, 640);
  fail_unless_equals_int (plane.height, 480);
  fail_unless_equals_int (plane.stride, 2560);
  fail_unless_equals_int (plane.size, 1228800);
  fail_unless_equals_int (plane.x_pos, 0);
  fail_unless_equals_int (plane.y_hot, 0);
  fail_unless_equals_int (plane.dmabuf_id, 1);
  fail_unless_equals_int (vfio_emu_current_id (dev), 1);

  /* No cursor: all zero. */
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_CURSOR, &plane), 0);
  assert_plane_is_zero (&plane);

  /* Double buffering: two ids per mode, stable. */
  fail_unless_equals_int (vfio_emu_flip (dev), 2);
  fail_unless_equals_int (query_primary_id (fd), 2);
  fail_unless_equals_int (vfio_emu_flip (dev), 1);
  fail_unless_equals_int (query_primary_id (fd), 1);

  /* A new mode gets a new pair; an old one gets its pair back. The size is
   * rounded up to a page. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.dmabuf_id, 3);
  fail_unless_equals_int (plane.size, 1921024);
  fail_unless_equals_int (vfio_emu_flip (dev), 4);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fail_unless_equals_int (query_primary_id (fd), 1);
  /* Same size, other stride: another mode. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 4096);
  fail_unless_equals_int (query_primary_id (fd), 5);

  /* Blank: all zero, then back. */
  vfio_emu_set_blank (dev, TRUE);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  assert_plane_is_zero (&plane);
  fail_unless_equals_int (vfio_emu_current_id (dev), 0);
  vfio_emu_set_blank (dev, FALSE);
  fail_unless_equals_int (query_primary_id (fd), 5);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_dmabuf_export_pixels)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
  int fd = vfio_emu_open_device_fd (dev);
  int buf1, buf2;
  guint8 *map;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fail_unless_equals_int (vfio_emu_pixel (7, 0x123, 0x45), 0x234507);

  buf1 = export (fd, query_primary_id (fd));
  fail_unless (buf1 >= 0, "%s", g_strerror (errno));
  /* As mbochs' dma_buf_fd (buf, 0): not close-on-exec. */
  fail_if (fcntl (buf1, F_GETFD) & FD_CLOEXEC);
  fail_unless_equals_int (lseek (buf1, 0, SEEK_END), 1228800);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  fail_unless_equals_int (vfio_emu_live_dmabufs (NULL), 1);

  map = mmap (NULL, 1228800, PROT_READ, MAP_SHARED, buf1, 0);
  fail_unless (map != MAP_FAILED, "%s", g_strerror (errno));
  assert_xr24_pixels (map, 2560, 640, 480, 1);
  munmap (map, 1228800);
  fail_unless_equals_int (ioctl (buf1, DMA_BUF_IOCTL_SYNC, &sync), 0);

  /* The other buffer of the pair has its own pattern. */
  buf2 = export (fd, vfio_emu_flip (dev));
  map = mmap (NULL, 1228800, PROT_READ, MAP_SHARED, buf2, 0);
  fail_unless (map != MAP_FAILED);
  assert_xr24_pixels (map, 2560, 640, 480, 2);
  munmap (map, 1228800);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 2);

  fail_unless_equals_int (close (buf1), 0);
  fail_unless_equals_int (close (buf2), 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_dmabuf_padded_stride_and_rgb565)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);
  int buf;
  guint8 *map;
  guint16 value;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 300,
      200, 2048);
  buf = export (fd, query_primary_id (fd));
  fail_unless_equals_int (lseek (buf, 0, SEEK_END), 2048 * 200);
  map = mmap (NULL, 2048 * 200, PROT_READ, MAP_SHARED, buf, 0);
  assert_xr24_pixels (map, 2048, 300, 200, 1);
  /* Padding stays zero. */
  fail_unless_equals_int (map[2048 * 5 + 300 * 4], 0);
  munmap (map, 2048 * 200);
  close (buf);

  /* RGB565, stride 0 = width * 2: the low 16 bits of the pattern. */
  vfio_emu_set_mode (dev, DRM_FORMAT_RGB565, DRM_FORMAT_MOD_LINEAR, 320,
      240, 0);
  buf = export (fd, query_primary_id (fd));
  fail_unless (buf >= 0);
  fail_unless_equals_int (lseek (buf, 0, SEEK_END), 4096 * 38);
  map = mmap (NULL, 320 * 2 * 240, PROT_READ, MAP_SHARED, buf, 0);
  memcpy (&value, map + 17 * 640 + 33 * 2, 2);
  fail_unless_equals_int (value, vfio_emu_pixel (3, 33, 17) & 0xffff);
  munmap (map, 320 * 2 * 240);
  close (buf);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_dmabuf_unknown_id)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);

  assert_fails_with (export (fd, 1), ENOENT);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  assert_fails_with (export (fd, 0), ENOENT);
  assert_fails_with (export (fd, 3), ENOENT);
  assert_fails_with (export (fd, 0xffffffff), ENOENT);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 4);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_dmabuf_mmap_fails)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);
  int refusing, mapping;
  void *map;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  refusing = export (fd, query_primary_id (fd));
  fail_unless (refusing >= 0);
  errno = 0;
  fail_unless (mmap (NULL, 16384, PROT_READ, MAP_SHARED, refusing, 0) ==
      MAP_FAILED);
  fail_unless_equals_int (errno, EINVAL);

  /* The setting applies at export: the refusing fd stays refusing. */
  vfio_emu_set_dmabuf_mmap_fails (dev, FALSE);
  mapping = export (fd, vfio_emu_flip (dev));
  map = mmap (NULL, 16384, PROT_READ, MAP_SHARED, mapping, 0);
  fail_unless (map != MAP_FAILED);
  munmap (map, 16384);
  fail_unless (mmap (NULL, 16384, PROT_READ, MAP_SHARED, refusing, 0) ==
      MAP_FAILED);
  /* Size and reads still work, as they do on mbochs. */
  fail_unless_equals_int (lseek (refusing, 0, SEEK_END), 16384);
  close (refusing);
  close (mapping);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_region_plane)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_REGION);
  struct vfio_region_info info = {.argsz = sizeof (info),
    .index = VFIO_EMU_DISPLAY_REGION_INDEX
  };
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);
  guint8 *map;

  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_REGION,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  assert_plane_is_zero (&plane);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_REGION,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.region_index, VFIO_EMU_DISPLAY_REGION_INDEX);
  fail_unless_equals_int (plane.stride, 4096);
  fail_unless_equals_int (plane.size, 4096 * 768);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_REGION,
          VFIO_EMU_PLANE_CURSOR, &plane), 0);
  assert_plane_is_zero (&plane);

  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
  fail_unless_equals_int (info.flags, VFIO_REGION_INFO_FLAG_READ |
      VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
  fail_unless_equals_uint64 (info.size, 4096 * 768);
  fail_unless_equals_uint64 (info.offset,
      (guint64) (VFIO_EMU_DISPLAY_REGION_INDEX + 1) << 20);

  map = mmap (NULL, info.size, PROT_READ, MAP_SHARED, fd, info.offset);
  fail_unless (map != MAP_FAILED, "%s", g_strerror (errno));
  assert_xr24_pixels (map, 4096, 1024, 768, VFIO_EMU_DISPLAY_REGION_INDEX);
  munmap (map, info.size);

  /* Outside a mmap-able region: EINVAL. */
  errno = 0;
  fail_unless (mmap (NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
  fail_unless_equals_int (errno, EINVAL);
  fail_unless (mmap (NULL, info.size + 4096, PROT_READ, MAP_SHARED, fd,
          info.offset) == MAP_FAILED);

  /* No buffers to flip, no dma-bufs; a smaller mode keeps the region. */
  fail_unless_equals_int (vfio_emu_flip (dev), VFIO_EMU_DISPLAY_REGION_INDEX);
  fail_unless_equals_int (vfio_emu_current_id (dev),
      VFIO_EMU_DISPLAY_REGION_INDEX);
  assert_fails_with (export (fd, 1), ENOTTY);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
  fail_unless_equals_uint64 (info.size, 4096 * 768);
  map = mmap (NULL, 2560 * 480, PROT_READ, MAP_SHARED, fd, info.offset);
  assert_xr24_pixels (map, 2560, 640, 480, VFIO_EMU_DISPLAY_REGION_INDEX);
  munmap (map, 2560 * 480);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_raw_plane)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_gfx_plane_info hostile = {
    .drm_plane_type = VFIO_EMU_PLANE_PRIMARY,
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = 0x1234,
    .width = 0xffffffff,
    .height = 0x10000,
    .stride = 64,
    .size = 4096,
    .x_pos = 7,
    .x_hot = 0xffffffff,
    .dmabuf_id = 77,
  };
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);
  int buf;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  vfio_emu_set_raw_plane (dev, &hostile, 8192);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.flags, VFIO_GFX_PLANE_TYPE_DMABUF);
  fail_unless_equals_uint64 (plane.drm_format_mod, 0x1234);
  fail_unless_equals_int (plane.width, 0xffffffff);
  fail_unless_equals_int (plane.height, 0x10000);
  fail_unless_equals_int (plane.size, 4096);
  fail_unless_equals_int (plane.x_pos, 7);
  fail_unless_equals_int (plane.x_hot, 0xffffffff);
  fail_unless_equals_int (plane.dmabuf_id, 77);

  /* The backing is what was asked, whatever the plane says. */
  buf = export (fd, 77);
  fail_unless (buf >= 0, "%s", g_strerror (errno));
  fail_unless_equals_int (lseek (buf, 0, SEEK_END), 8192);
  close (buf);

  /* A raw cursor answers the cursor only. */
  hostile.drm_plane_type = VFIO_EMU_PLANE_CURSOR;
  vfio_emu_set_raw_plane (dev, &hostile, 4096);
  fail_unless_equals_int (query_primary_id (fd), 1);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_CURSOR, &plane), 0);
  fail_unless_equals_int (plane.dmabuf_id, 77);

  vfio_emu_set_raw_plane (dev, NULL, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_CURSOR, &plane), 0);
  assert_plane_is_zero (&plane);
  assert_fails_with (export (fd, 77), ENOENT);
  close (fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Faults, unplug, counters */

GST_START_TEST (test_fail_ioctl_window)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  /* One call made before the rule: numbers count from the rule on. */
  fail_unless_equals_int (query_primary_id (fd), 1);

  /* mbochs's first query in a new mode: ENOMEM once. */
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, ENOMEM, 2, 2);
  fail_unless_equals_int (query_primary_id (fd), 1);
  assert_fails_with (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), ENOMEM);
  assert_fails_with (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), ENOMEM);
  fail_unless_equals_int (query_primary_id (fd), 1);
  /* Failed calls count. */
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_QUERY_GFX_PLANE), 5);

  /* Count 0: forever; other requests are untouched. */
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EIO, 1, 0);
  for (int i = 0; i < 5; i++)
    assert_fails_with (export (fd, 1), EIO);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  fail_unless_equals_int (query_primary_id (fd), 1);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_fail_ioctl_scope)
{
  VfioEmuDevice *a = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  VfioEmuDevice *b = vfio_emu_add_mdev (UUID2, GROUP2, VFIO_EMU_DMABUF);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  int fd_a = vfio_emu_open_device_fd (a);
  int fd_b = vfio_emu_open_device_fd (b);
  int container_fd;

  /* A device rule leaves the other device alone. */
  vfio_emu_fail_ioctl (b, VFIO_DEVICE_GET_INFO, EIO, 1, 1);
  fail_unless_equals_int (ioctl (fd_a, VFIO_DEVICE_GET_INFO, &info), 0);
  assert_fails_with (ioctl (fd_b, VFIO_DEVICE_GET_INFO, &info), EIO);
  fail_unless_equals_int (ioctl (fd_b, VFIO_DEVICE_GET_INFO, &info), 0);

  /* A global rule counts calls on every emulated fd, containers too. */
  vfio_emu_fail_ioctl (NULL, VFIO_DEVICE_GET_INFO, EAGAIN, 2, 1);
  fail_unless_equals_int (ioctl (fd_b, VFIO_DEVICE_GET_INFO, &info), 0);
  assert_fails_with (ioctl (fd_a, VFIO_DEVICE_GET_INFO, &info), EAGAIN);
  fail_unless_equals_int (ioctl (fd_a, VFIO_DEVICE_GET_INFO, &info), 0);

  container_fd = open_container ();
  vfio_emu_fail_ioctl (NULL, VFIO_GET_API_VERSION, EPERM, 1, 1);
  assert_fails_with (ioctl (container_fd, VFIO_GET_API_VERSION), EPERM);
  fail_unless_equals_int (ioctl (container_fd, VFIO_GET_API_VERSION),
      VFIO_API_VERSION);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL, VFIO_GET_API_VERSION),
      2);
  fail_unless_equals_int (vfio_emu_ioctl_count (a, VFIO_GET_API_VERSION), 0);

  /* A fault takes precedence over unplug; the unplug shows after. */
  vfio_emu_fail_ioctl (a, VFIO_DEVICE_GET_INFO, EIO, 1, 1);
  vfio_emu_unplug (a);
  assert_fails_with (ioctl (fd_a, VFIO_DEVICE_GET_INFO, &info), EIO);
  assert_fails_with (ioctl (fd_a, VFIO_DEVICE_GET_INFO, &info), ENODEV);
  close (container_fd);
  close (fd_a);
  close (fd_b);
}

GST_END_TEST;

GST_START_TEST (test_unplug)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  struct vfio_group_status status = {.argsz = sizeof (status) };
  struct vfio_region_info region = {.argsz = sizeof (region) };
  struct vfio_device_gfx_plane_info plane;
  int container_fd, group_fd, fd, buf;
  char target[256];
  void *map;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  buf = export (fd, query_primary_id (fd));

  vfio_emu_unplug (dev);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), ENODEV);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &region),
      ENODEV);
  assert_fails_with (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), ENODEV);
  assert_fails_with (export (fd, 1), ENODEV);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status),
      ENODEV);
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID),
      ENODEV);
  /* The container is not the device's. */
  fail_unless_equals_int (ioctl (container_fd, VFIO_GET_API_VERSION),
      VFIO_API_VERSION);
  /* An exported buffer lives on. */
  map = mmap (NULL, 16384, PROT_READ, MAP_SHARED, buf, 0);
  fail_unless (map != MAP_FAILED);
  munmap (map, 16384);

  close_stack (fd, container_fd, group_fd);
  close (buf);
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), ENOENT);
  assert_fails_with (open ("/sys/bus/mdev/devices/" UUID,
          O_PATH | O_DIRECTORY), ENOENT);
  assert_fails_with (readlink ("/sys/bus/mdev/devices/" UUID "/iommu_group",
          target, sizeof (target)), ENOENT);
  assert_fails_with (vfio_emu_open_device_fd (dev), ENODEV);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_counters)
{
  VfioEmuDevice *a = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  VfioEmuDevice *b = vfio_emu_add_mdev (UUID2, GROUP2, VFIO_EMU_DMABUF);
  struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ };
  int container_fd, group_fd, fd_a, fd_b, buf, null_fd;

  vfio_emu_set_mode (a, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64, 64,
      0);
  fd_a = open_stack (GROUP, UUID, &container_fd, &group_fd);
  fd_b = vfio_emu_open_device_fd (b);

  for (int i = 0; i < 3; i++)
    query_primary_id (fd_a);
  probe (fd_b, VFIO_GFX_PLANE_TYPE_DMABUF);
  buf = export (fd_a, 1);
  fail_unless_equals_int (ioctl (buf, DMA_BUF_IOCTL_SYNC, &sync), 0);

  fail_unless_equals_int (vfio_emu_ioctl_count (a,
          VFIO_DEVICE_QUERY_GFX_PLANE), 3);
  fail_unless_equals_int (vfio_emu_ioctl_count (b,
          VFIO_DEVICE_QUERY_GFX_PLANE), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL,
          VFIO_DEVICE_QUERY_GFX_PLANE), 4);
  fail_unless_equals_int (vfio_emu_ioctl_count (a,
          VFIO_DEVICE_GET_GFX_DMABUF), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (a, DMA_BUF_IOCTL_SYNC), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (a, VFIO_GROUP_SET_CONTAINER),
      1);
  fail_unless_equals_int (vfio_emu_ioctl_count (b, VFIO_GROUP_SET_CONTAINER),
      0);
  /* Container calls belong to no device. */
  fail_unless_equals_int (vfio_emu_ioctl_count (a, VFIO_SET_IOMMU), 0);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL, VFIO_SET_IOMMU), 1);

  /* Calls on other fds are not counted. */
  null_fd = open ("/dev/null", O_RDWR);
  assert_fails_with (ioctl (null_fd, VFIO_DEVICE_QUERY_GFX_PLANE, NULL),
      ENOTTY);
  close (null_fd);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL,
          VFIO_DEVICE_QUERY_GFX_PLANE), 4);

  vfio_emu_reset ();
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL,
          VFIO_DEVICE_QUERY_GFX_PLANE), 0);
  close (buf);
  close (fd_b);
  close_stack (fd_a, container_fd, group_fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Interposition */

GST_START_TEST (test_pass_through)
{
  char target[PATH_MAX];
  ssize_t len;
  void *map;
  int fd;

  fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  fail_unless (fd >= 0);
  assert_fails_with (ioctl (fd, VFIO_GET_API_VERSION), ENOTTY);
  fail_unless_equals_int (close (fd), 0);
  assert_fails_with (ioctl (-1, VFIO_GET_API_VERSION), EBADF);

  map = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
      -1, 0);
  fail_unless (map != MAP_FAILED);
  munmap (map, 4096);

  len = readlink ("/proc/self/exe", target, sizeof (target) - 1);
  fail_unless (len > 0);
}

GST_END_TEST;

/* The variadic mode of open() reaches libc. */
GST_START_TEST (test_pass_through_create_mode)
{
  g_autofree char *dir = g_dir_make_tmp ("vfioemu-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "file", NULL);
  mode_t old_mask = umask (0);
  GStatBuf st;
  int fd;

  fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
  umask (old_mask);
  fail_unless (fd >= 0, "%s", g_strerror (errno));
  close (fd);
  fail_unless_equals_int (g_stat (path, &st), 0);
  fail_unless_equals_int (st.st_mode & 0777, 0640);
  unlink (path);
  rmdir (dir);
}

GST_END_TEST;

typedef int (*OpenFn) (const char *path, int flags, ...);
typedef int (*OpenatFn) (int dirfd, const char *path, int flags, ...);
typedef int (*Open2Fn) (const char *path, int flags);
typedef int (*Openat2Fn) (int dirfd, const char *path, int flags);
typedef void *(*MmapFn) (void *addr, size_t len, int prot, int flags, int fd,
    off_t offset);
typedef ssize_t (*ReadlinkChkFn) (const char *path, char *buf, size_t len,
    size_t buflen);
typedef ssize_t (*ReadlinkatFn) (int dirfd, const char *path, char *buf,
    size_t len);

/* Every entry point by its symbol name: the open() of this file may well be
 * open64() once _FILE_OFFSET_BITS is 64. */
static void
assert_opens_container (int fd, const char *how)
{
  fail_unless (fd >= 0, "%s: %s", how, g_strerror (errno));
  fail_unless_equals_int (vfio_emu_open_fds (), 1);
  fail_unless_equals_int (ioctl (fd, VFIO_GET_API_VERSION), VFIO_API_VERSION);
  close (fd);
}

GST_START_TEST (test_entry_points)
{
  const char *opens[] = { "open", "open64" };
  const char *openats[] = { "openat", "openat64" };
  const char *open2s[] = { "__open_2", "__open64_2" };
  const char *openat2s[] = { "__openat_2", "__openat64_2" };
  const char *mmaps[] = { "mmap", "mmap64" };
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);

  for (guint i = 0; i < 2; i++) {
    OpenFn open_fn = (OpenFn) dlsym (RTLD_DEFAULT, opens[i]);
    OpenatFn openat_fn = (OpenatFn) dlsym (RTLD_DEFAULT, openats[i]);
    Open2Fn open2_fn = (Open2Fn) dlsym (RTLD_DEFAULT, open2s[i]);
    Openat2Fn openat2_fn = (Openat2Fn) dlsym (RTLD_DEFAULT, openat2s[i]);
    MmapFn mmap_fn = (MmapFn) dlsym (RTLD_DEFAULT, mmaps[i]);
    int buf;

    assert_opens_container (open_fn ("/dev/vfio/vfio", O_RDWR), opens[i]);
    assert_opens_container (openat_fn (AT_FDCWD, "/dev/vfio/vfio", O_RDWR),
        openats[i]);
    assert_opens_container (open2_fn ("/dev/vfio/vfio", O_RDWR), open2s[i]);
    assert_opens_container (openat2_fn (AT_FDCWD, "/dev/vfio/vfio", O_RDWR),
        openat2s[i]);

    /* Redirection through each of them. */
    buf = openat_fn (AT_FDCWD, "/sys/bus/mdev/devices/" UUID, O_PATH);
    fail_unless (buf >= 0, "%s", openats[i]);
    close (buf);

    vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
        64, 0);
    vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
    /* One export per id while the device is open: another buffer each. */
    vfio_emu_show_buffer (dev, i);
    buf = export (fd, query_primary_id (fd));
    fail_unless (mmap_fn (NULL, 4096, PROT_READ, MAP_SHARED, buf, 0) ==
        MAP_FAILED, "%s", mmaps[i]);
    close (buf);
  }
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_readlink_entry_points)
{
  ReadlinkatFn readlinkat_fn = (ReadlinkatFn) dlsym (RTLD_DEFAULT,
      "readlinkat");
  ReadlinkChkFn readlink_chk_fn = (ReadlinkChkFn) dlsym (RTLD_DEFAULT,
      "__readlink_chk");
  const char *link = "/sys/bus/mdev/devices/" UUID "/iommu_group";
  const char *target = "../../../../kernel/iommu_groups/12";
  char buf[64] = { 0 };

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  fail_unless_equals_int (readlinkat_fn (AT_FDCWD, link, buf, sizeof (buf)),
      strlen (target));
  fail_unless_equals_string (buf, target);
  memset (buf, 0, sizeof (buf));
  fail_unless_equals_int (readlink_chk_fn (link, buf, sizeof (buf) - 1,
          sizeof (buf)), strlen (target));
  fail_unless_equals_string (buf, target);
}

GST_END_TEST;

/* A VMM hands its device fd over: dups and fds received over a socket are
 * device fds too, and count as fds of the code under test. */
GST_START_TEST (test_dup_device_fd)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  int fd = vfio_emu_open_device_fd (dev);
  int copy = dup (fd);
  int cloexec_copy = fcntl (fd, F_DUPFD_CLOEXEC, 100);

  fail_unless (copy >= 0 && cloexec_copy >= 100);
  fail_unless_equals_int (close (fd), 0);
  fail_unless_equals_int (ioctl (copy, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (ioctl (cloexec_copy, VFIO_DEVICE_GET_INFO, &info),
      0);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_INFO), 2);
  fail_unless_equals_int (vfio_emu_open_fds (), 2);
  close (copy);
  close (cloexec_copy);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* dup2()/dup3() onto a device fd closes the device file there, as in the
 * kernel; the replace delay holds the replacing thread afterwards. */
GST_START_TEST (test_device_fd_replaced)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  int fd = vfio_emu_open_device_fd (dev);
  int copy = dup (fd);
  int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  gint64 start;

  fail_unless (fd >= 0 && copy >= 0 && null_fd >= 0);
  fail_unless_equals_int (dup3 (null_fd, fd, O_CLOEXEC), fd);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), ENOTTY);
  fail_unless_equals_int (ioctl (copy, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 1);

  vfio_emu_set_replace_delay (50);
  start = g_get_monotonic_time ();
  fail_unless_equals_int (dup2 (null_fd, copy), copy);
  fail_unless (g_get_monotonic_time () - start >= 50 * G_TIME_SPAN_MILLISECOND);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  /* Not a device fd any more: no delay. */
  start = g_get_monotonic_time ();
  fail_unless_equals_int (dup2 (null_fd, copy), copy);
  fail_unless (g_get_monotonic_time () - start < 50 * G_TIME_SPAN_MILLISECOND);
  close (fd);
  close (copy);
  close (null_fd);
}

GST_END_TEST;

static void
send_fd (int sock, int fd)
{
  char byte = 0, control[CMSG_SPACE (sizeof (int))] = { 0 };
  struct iovec iov = {.iov_base = &byte,.iov_len = 1 };
  struct msghdr msg = {.msg_iov = &iov,.msg_iovlen = 1,
    .msg_control = control,.msg_controllen = sizeof (control)
  };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);

  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  fail_unless_equals_int (sendmsg (sock, &msg, 0), 1);
}

static int
receive_fd (int sock)
{
  char byte, control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = {.iov_base = &byte,.iov_len = 1 };
  struct msghdr msg = {.msg_iov = &iov,.msg_iovlen = 1,
    .msg_control = control,.msg_controllen = sizeof (control)
  };
  int fd;

  fail_unless_equals_int (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC), 1);
  memcpy (&fd, CMSG_DATA (CMSG_FIRSTHDR (&msg)), sizeof (int));
  return fd;
}

GST_START_TEST (test_device_fd_over_socket)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  struct vfio_device_gfx_plane_info plane;
  int socks[2], fd;

  fail_unless_equals_int (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
          socks), 0);
  fd = vfio_emu_open_device_fd (dev);
  send_fd (socks[0], fd);
  /* The sender lets go before the receiver looks at it. */
  close (fd);
  fd = receive_fd (socks[1]);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.dmabuf_id, 1);
  fail_unless_equals_int (vfio_emu_open_fds (), 1);
  close (fd);
  close (socks[0]);
  close (socks[1]);
}

GST_END_TEST;

GST_START_TEST (test_dup_dmabuf)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);
  int buf, copy;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  buf = export (fd, query_primary_id (fd));
  copy = dup (buf);
  fail_unless (mmap (NULL, 4096, PROT_READ, MAP_SHARED, copy, 0) ==
      MAP_FAILED);
  /* One buffer, however many fds. */
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  close (buf);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  close (copy);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  close (fd);
}

GST_END_TEST;

/* An fd closed without close() (close_range(), a raw syscall) is not taken
 * for the emulated file when its number comes back. */
GST_START_TEST (test_closed_behind_our_back)
{
  int container_fd, group_fd, null_fd, reused_fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  container_fd = open_container ();
  group_fd = open_group (GROUP);
  fail_unless_equals_int (syscall (SYS_close, group_fd), 0);
  fail_unless_equals_int (syscall (SYS_close, container_fd), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  group_fd = open_group (GROUP);
  close (group_fd);

  container_fd = open_container ();
  fail_unless_equals_int (syscall (SYS_close, container_fd), 0);
  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  reused_fd = dup2 (null_fd, container_fd);
  fail_unless_equals_int (reused_fd, container_fd);
  assert_fails_with (ioctl (reused_fd, VFIO_GET_API_VERSION), ENOTTY);
  close (reused_fd);
  close (null_fd);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL, VFIO_GET_API_VERSION),
      0);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Threads */

#define N_THREADS 4
#define N_ROUNDS 200

static gpointer
hammer (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);

  for (int i = 0; i < N_ROUNDS; i++) {
    int container_fd = open ("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    int buf = export (fd, query_primary_id (fd));
    void *map = mmap (NULL, 16384, PROT_READ, MAP_SHARED, buf, 0);

    g_assert_true (container_fd >= 0 && buf >= 0 && map != MAP_FAILED);
    munmap (map, 16384);
    close (buf);
    close (container_fd);
  }
  return NULL;
}

GST_START_TEST (test_threads)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  GThread *threads[N_THREADS];
  int fd = vfio_emu_open_device_fd (dev);

  /* Every thread exports the ids again and again: counted, not fatal. */
  vfio_emu_set_double_export_fatal (FALSE);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  for (int i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("hammer", hammer, GINT_TO_POINTER (fd));
  for (int i = 0; i < N_THREADS; i++) {
    vfio_emu_flip (dev);
    g_thread_join (threads[i]);
  }

  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), N_THREADS * N_ROUNDS);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1) +
      vfio_emu_export_count (dev, 2), N_THREADS * N_ROUNDS);
  fail_unless_equals_int (vfio_emu_ioctl_count (NULL,
          VFIO_DEVICE_QUERY_GFX_PLANE), N_THREADS * N_ROUNDS);
  fail_unless_equals_int (vfio_emu_live_dmabufs (NULL), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  close (fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Device lives and double exports */

static VfioEmuDevice *
add_personality (const char *uuid, int group, VfioEmuPersonality p)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (uuid, group,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);

  vfio_emu_set_personality (dev, p);
  return dev;
}

/* The primary plane's id once it answers: mbochs fails the first query of
 * a new scan-out with ENOMEM, which must happen exactly then. */
static guint32
query_primary_id_after_enomem (int fd)
{
  struct vfio_device_gfx_plane_info plane;

  assert_fails_with (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), ENOMEM);
  return query_primary_id (fd);
}

/* Exports id 1 twice in a child with stderr in a pipe: returns how the
 * child ended and what it printed. The child allocates nothing: under
 * valgrind it is checked for leaks when it ends. */
static int
double_export_in_child (VfioEmuPersonality p, char **output)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP, p);
  GString *text;
  int pipe_fds[2], status = 0;
  char chunk[1024];
  ssize_t len;
  pid_t pid;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fail_unless_equals_int (pipe (pipe_fds), 0);
  pid = fork ();
  fail_unless (pid >= 0);
  if (pid == 0) {
    struct vfio_device_gfx_plane_info plane;
    int fd;

    dup2 (pipe_fds[1], STDERR_FILENO);
    fd = vfio_emu_open_device_fd (dev);
    /* Gives the buffer shown its id on every personality. */
    query (fd, VFIO_GFX_PLANE_TYPE_DMABUF, VFIO_EMU_PLANE_PRIMARY, &plane);
    if (export (fd, 1) < 0)
      _exit (1);
    export (fd, 1);
    _exit (0);
  }
  close (pipe_fds[1]);
  text = g_string_new (NULL);
  while ((len = read (pipe_fds[0], chunk, sizeof (chunk))) > 0)
    g_string_append_len (text, chunk, len);
  close (pipe_fds[0]);
  fail_unless_equals_int (waitpid (pid, &status, 0), pid);
  *output = g_string_free (text, FALSE);
  return status;
}

GST_START_TEST (test_double_export_aborts)
{
  const VfioEmuPersonality strict[] = { VFIO_EMU_PERSONALITY_GENERIC,
    VFIO_EMU_PERSONALITY_MBOCHS
  };

  for (guint i = 0; i < G_N_ELEMENTS (strict); i++) {
    g_autofree char *output = NULL;
    int status;

    vfio_emu_reset ();
    status = double_export_in_child (strict[i], &output);
    fail_unless (WIFSIGNALED (status) && WTERMSIG (status) == SIGABRT,
        "status 0x%x, stderr: %s", status, output);
    /* The device, the id and both call sites (the export() of this file
     * in each backtrace). */
    fail_unless (strstr (output, "dmabuf_id 1 of mdev " UUID), "%s", output);
    fail_unless (strstr (output, "first export of dmabuf_id 1:"), "%s",
        output);
    fail_unless (strstr (output, "export 2 of dmabuf_id 1:"), "%s", output);
    fail_unless (strstr (output, "libs_emu"), "%s", output);
  }
}

GST_END_TEST;

/* GVT-g makes a new proxy per export: a re-export is fine there. */
GST_START_TEST (test_double_export_gvtg_survives)
{
  g_autofree char *output = NULL;
  int status = double_export_in_child (VFIO_EMU_PERSONALITY_GVTG, &output);

  fail_unless (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "status 0x%x, stderr: %s", status, output);
}

GST_END_TEST;

GST_START_TEST (test_double_export_counted)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);
  int buf1, buf2;

  vfio_emu_set_double_export_fatal (FALSE);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 0);
  buf1 = export (fd, 1);
  buf2 = export (fd, 1);
  fail_unless (buf1 >= 0 && buf2 >= 0 && buf1 != buf2);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 2);
  fail_unless_equals_int (vfio_emu_export_count (dev, 2), 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 2);
  close (buf1);
  close (buf2);
  /* Closing the dma-bufs does not end the device life. */
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 2);
  close (fd);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 0);

  /* vfio_emu_reset() makes it fatal again. */
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  fd = vfio_emu_open_device_fd (dev);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  buf1 = export (fd, 1);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 1);
  close (buf1);
  close (fd);
}

GST_END_TEST;

/* The life lasts while any device fd is open: dups, the VMM's fd and fds
 * from GET_DEVICE_FD alike; a new life may export each id once more. */
GST_START_TEST (test_device_life)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int container_fd, group_fd, fd, vmm_fd, copy, buf;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  buf = export (fd, 1);
  close (buf);

  /* A dup not used yet keeps the device open. */
  copy = dup (fd);
  fail_unless_equals_int (close (fd), 0);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 1);
  /* So does a second device fd from the group. */
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  fail_unless (fd >= 0);
  close (copy);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 1);
  close (fd);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 0);

  /* A new life: id 1 once more. */
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  buf = export (fd, 1);
  fail_unless (buf >= 0);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 1);
  close (buf);

  /* A device fd closed behind our back ends the life too. */
  fail_unless_equals_int (syscall (SYS_close, fd), 0);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 0);
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  buf = export (fd, 1);
  fail_unless (buf >= 0);
  close (buf);
  close_stack (fd, container_fd, group_fd);

  /* The VMM's fd is a device fd like any other. */
  vmm_fd = vfio_emu_open_device_fd (dev);
  buf = export (vmm_fd, 2);
  close (buf);
  copy = dup (vmm_fd);
  close (vmm_fd);
  fail_unless_equals_int (vfio_emu_export_count (dev, 2), 1);
  close (copy);
  fail_unless_equals_int (vfio_emu_export_count (dev, 2), 0);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Personalities */

static guint16
config_word (int fd, off_t at)
{
  struct vfio_region_info info = {.argsz = sizeof (info),
    .index = VFIO_PCI_CONFIG_REGION_INDEX
  };
  guint16 value = 0;

  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &info), 0);
  fail_unless_equals_uint64 (info.size, 256);
  fail_unless_equals_int (info.flags & (VFIO_REGION_INFO_FLAG_READ |
          VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP),
      VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  fail_unless_equals_int (pread (fd, &value, 2, info.offset + at), 2);
  return GUINT16_FROM_LE (value);
}

GST_START_TEST (test_config_region_ids)
{
  const struct
  {
    VfioEmuPersonality p;
    guint16 vendor, device;
  } ids[] = {
    {VFIO_EMU_PERSONALITY_GENERIC, 0x1b36, 0x000f},
    {VFIO_EMU_PERSONALITY_MBOCHS, 0x1234, 0x1111},
    {VFIO_EMU_PERSONALITY_GVTG, 0x8086, 0x1912},
  };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++) {
    VfioEmuDevice *dev;
    int fd;

    vfio_emu_reset ();
    dev = add_personality (UUID, GROUP, ids[i].p);
    fd = vfio_emu_open_device_fd (dev);
    fail_unless_equals_int (config_word (fd, 0), ids[i].vendor);
    fail_unless_equals_int (config_word (fd, 2), ids[i].device);
    /* Class 0x03: a display controller. */
    fail_unless_equals_int (config_word (fd, 0x0a), 0x0300);
    close (fd);
  }

  /* A device without display has its config space too. */
  vfio_emu_reset ();
  {
    VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_NO_DISPLAY);
    int fd = vfio_emu_open_device_fd (dev);

    fail_unless_equals_int (config_word (fd, 0), 0x1b36);
    close (fd);
  }
}

GST_END_TEST;

GST_START_TEST (test_personality_set_late)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int fd = vfio_emu_open_device_fd (dev);

  ASSERT_CRITICAL (vfio_emu_set_personality (dev,
          VFIO_EMU_PERSONALITY_MBOCHS));
  /* Still generic: no ENOMEM, ids by mode. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fail_unless_equals_int (query_primary_id (fd), 1);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_mbochs_sizes_and_mmap)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP,
      VFIO_EMU_PERSONALITY_MBOCHS);
  struct vfio_device_gfx_plane_info plane;
  int fd = vfio_emu_open_device_fd (dev);
  guint8 *map;
  int buf;

  /* 800x600 XR24: 1920000 bytes, not a whole number of pages. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  assert_fails_with (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), ENOMEM);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.stride, 3200);
  fail_unless_equals_int (plane.size, 1920000);
  fail_unless_equals_int (plane.dmabuf_id, 1);

  buf = export (fd, 1);
  fail_unless (buf >= 0, "%s", g_strerror (errno));
  fail_unless_equals_int (lseek (buf, 0, SEEK_END), 1920000);
  /* The whole size rounds up past the last whole page: EINVAL. */
  errno = 0;
  fail_unless (mmap (NULL, 1920000, PROT_READ, MAP_SHARED, buf, 0) ==
      MAP_FAILED);
  fail_unless_equals_int (errno, EINVAL);
  fail_unless (mmap (NULL, 4096, PROT_READ, MAP_SHARED, buf, 1916928) ==
      MAP_FAILED);
  /* 468 whole pages map. */
  map = mmap (NULL, 1916928, PROT_READ, MAP_SHARED, buf, 0);
  fail_unless (map != MAP_FAILED, "%s", g_strerror (errno));
  assert_xr24_pixels (map, 3200, 800, 598, 1);
  munmap (map, 1916928);
  map = mmap (NULL, 4096, PROT_READ, MAP_SHARED, buf, 1912832);
  fail_unless (map != MAP_FAILED, "%s", g_strerror (errno));
  munmap (map, 4096);
  close (buf);

  /* A page multiple maps whole; a padded stride counts. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 4096);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 2);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.size, 4096 * 480);
  buf = export (fd, 2);
  map = mmap (NULL, 4096 * 480, PROT_READ, MAP_SHARED, buf, 0);
  fail_unless (map != MAP_FAILED, "%s", g_strerror (errno));
  munmap (map, 4096 * 480);
  close (buf);

  /* Stock mbochs exports read-only: no mmap at all. */
  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  buf = export (fd, vfio_emu_flip (dev));
  assert_fails_with (GPOINTER_TO_INT (mmap (NULL, 4096, PROT_READ,
              MAP_SHARED, buf, 0)), EINVAL);
  close (buf);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_mbochs_ids)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP,
      VFIO_EMU_PERSONALITY_MBOCHS);
  struct vfio_device_gfx_plane_info plane;
  int container_fd, group_fd;
  int fd = open_stack (GROUP, UUID, &container_fd, &group_fd);

  /* Disabled display and cursor: all zero, no ENOMEM. */
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  assert_plane_is_zero (&plane);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_CURSOR, &plane), 0);
  assert_plane_is_zero (&plane);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 1);
  fail_unless_equals_int (query_primary_id (fd), 1);

  /* bochs-drm flips by scan-out offset: 1 -> 2 -> 3 -> 2 -> 1, each new
   * buffer costing one ENOMEM (FACTS, measured on 6.12). */
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 2);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 2);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 2), 3);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 3);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 2);
  fail_unless_equals_int (query_primary_id (fd), 2);
  fail_unless_equals_int (vfio_emu_flip (dev), 1);
  fail_unless_equals_int (query_primary_id (fd), 1);

  /* Another mode: the next id; the old mode keeps its ids. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 4);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  fail_unless_equals_int (query_primary_id (fd), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_QUERY_GFX_PLANE), 14);

  /* Every id of this life exports; others are ENOENT. */
  for (guint32 id = 1; id <= 4; id++) {
    int buf = export (fd, id);

    fail_unless (buf >= 0, "id %u: %s", id, g_strerror (errno));
    close (buf);
  }
  assert_fails_with (export (fd, 5), ENOENT);
  assert_fails_with (export (fd, 0), ENOENT);

  /* A new device life: ids dropped, never reused, ENOMEM again; the
   * emulator's view follows at once. */
  close (fd);
  fail_unless_equals_int (vfio_emu_current_id (dev), 5);
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  assert_fails_with (export (fd, 1), ENOENT);
  fail_unless_equals_int (query_primary_id_after_enomem (fd), 5);
  fail_unless_equals_int (vfio_emu_current_id (dev), 5);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 6);
  close_stack (fd, container_fd, group_fd);
}

GST_END_TEST;

GST_START_TEST (test_mbochs_region_info)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP,
      VFIO_EMU_PERSONALITY_MBOCHS);
  int fd = vfio_emu_open_device_fd (dev);
  struct
  {
    struct vfio_region_info info;
    struct vfio_region_info_cap_type cap;
    guint8 more[8];
  } r;

  /* argsz 32 on the EDID region: argsz 48, CAPS and cap_offset 32, but
   * the capability is not written. */
  memset (&r, 0xa5, sizeof (r));
  r.info.argsz = sizeof (r.info);
  r.info.index = VFIO_EMU_EDID_REGION_INDEX;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_int (r.info.argsz, 48);
  fail_unless (r.info.flags & VFIO_REGION_INFO_FLAG_CAPS);
  fail_unless_equals_int (r.info.cap_offset, 32);
  fail_unless_equals_int (r.cap.header.id, 0xa5a5);

  /* argsz 48: the capability. */
  r.info.argsz = 48;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_int (r.cap.header.id, VFIO_REGION_INFO_CAP_TYPE);
  fail_unless_equals_int (r.cap.type, VFIO_REGION_TYPE_GFX);
  fail_unless_equals_int (r.cap.subtype, VFIO_REGION_SUBTYPE_GFX_EDID);
  fail_unless_equals_uint64 (r.info.size, 0x1000);

  /* More than the driver's struct: EINVAL, whatever the region. */
  r.info.argsz = sizeof (r);
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);
  r.info.argsz = 49;
  r.info.index = VFIO_PCI_CONFIG_REGION_INDEX;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);

  /* A region without capability keeps the caller's argsz. */
  memset (&r, 0xa5, sizeof (r));
  r.info.argsz = 48;
  r.info.index = VFIO_PCI_CONFIG_REGION_INDEX;
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
  fail_unless_equals_int (r.info.argsz, 48);
  fail_unless_equals_int (r.info.cap_offset, 0);
  fail_unless_equals_uint64 (r.info.size, 256);
  r.info.argsz = 16;
  assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_REGION_INFO, &r), EINVAL);
  close (fd);
}

GST_END_TEST;

static void
assert_unplug_waits (VfioEmuPersonality p)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP, p);
  struct vfio_device_info info = {.argsz = sizeof (info) };
  struct vfio_group_status status = {.argsz = sizeof (status) };
  int container_fd, group_fd, fd, buf;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      64, 0);
  fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  fail_unless (!vfio_emu_unplug_pending (dev));
  vfio_emu_unplug (dev);
  fail_unless (vfio_emu_unplug_pending (dev));

  /* The sysfs entry is gone at once; the open device works on. */
  assert_fails_with (open ("/sys/bus/mdev/devices/" UUID,
          O_PATH | O_DIRECTORY), ENOENT);
  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_INFO, &info), 0);
  fail_unless_equals_int (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status),
      0);
  if (p == VFIO_EMU_PERSONALITY_MBOCHS)
    query_primary_id_after_enomem (fd);
  buf = export (fd, query_primary_id (fd));
  fail_unless (buf >= 0, "%s", g_strerror (errno));
  /* No new device fd. */
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID),
      ENODEV);
  assert_fails_with (vfio_emu_open_device_fd (dev), ENODEV);

  /* The last device fd closes: the removal completes. */
  close (fd);
  fail_unless (!vfio_emu_unplug_pending (dev));
  assert_fails_with (ioctl (group_fd, VFIO_GROUP_GET_STATUS, &status),
      ENODEV);
  close (group_fd);
  close (container_fd);
  close (buf);
  assert_fails_with (open ("/dev/vfio/12", O_RDWR | O_CLOEXEC), ENOENT);
}

GST_START_TEST (test_unplug_waits_for_close)
{
  VfioEmuDevice *dev;

  assert_unplug_waits (VFIO_EMU_PERSONALITY_MBOCHS);
  vfio_emu_reset ();
  assert_unplug_waits (VFIO_EMU_PERSONALITY_GVTG);

  /* Nothing open: removed at once. */
  vfio_emu_reset ();
  dev = add_personality (UUID, GROUP, VFIO_EMU_PERSONALITY_MBOCHS);
  vfio_emu_unplug (dev);
  fail_unless (!vfio_emu_unplug_pending (dev));
  assert_fails_with (vfio_emu_open_device_fd (dev), ENODEV);
}

GST_END_TEST;

GST_START_TEST (test_gvtg)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP,
      VFIO_EMU_PERSONALITY_GVTG);
  const guint64 x_tiled = I915_FORMAT_MOD_X_TILED;
  const guint64 y_tiled = I915_FORMAT_MOD_Y_TILED;
  struct vfio_device_gfx_plane_info plane;
  int container_fd, group_fd;
  int fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  struct stat st1, st2;
  int buf1, buf2;

  /* Linear 800x600: size exact, the proxy object page-rounded; no
   * ENOMEM. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.size, 1920000);
  fail_unless_equals_int (plane.dmabuf_id, 1);
  buf1 = export (fd, 1);
  fail_unless_equals_int (lseek (buf1, 0, SEEK_END), 1921024);
  /* No CPU mmap of a proxy object. */
  assert_fails_with (GPOINTER_TO_INT (mmap (NULL, 4096, PROT_READ,
              MAP_SHARED, buf1, 0)), ENODEV);

  /* Each export is a new object and fd. */
  buf2 = export (fd, 1);
  fail_unless (buf2 >= 0);
  fstat (buf1, &st1);
  fstat (buf2, &st2);
  fail_unless (st1.st_ino != st2.st_ino);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 2);
  close (buf1);
  close (buf2);

  /* Both released: id 1 is free for the next framebuffer. Tiled: whole
   * tile rows. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, x_tiled, 1000, 601, 4096);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.size, 4096 * 608);
  fail_unless_equals_int (plane.dmabuf_id, 1);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, y_tiled, 1024, 770, 4096);
  fail_unless_equals_int (query (fd, VFIO_GFX_PLANE_TYPE_DMABUF,
          VFIO_EMU_PLANE_PRIMARY, &plane), 0);
  fail_unless_equals_int (plane.size, 4096 * 800);
  fail_unless_equals_int (plane.dmabuf_id, 2);
  /* Double buffering: two ids per mode. */
  fail_unless_equals_int (vfio_emu_flip (dev), 3);
  fail_unless_equals_int (vfio_emu_flip (dev), 2);

  /* Unknown ids: EINVAL. */
  assert_fails_with (export (fd, 4), EINVAL);
  assert_fails_with (export (fd, 0), EINVAL);

  /* Ids never exported are released when the device closes: the lowest
   * is reused. */
  close (fd);
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  assert_fails_with (export (fd, 3), EINVAL);
  fail_unless_equals_int (query_primary_id (fd), 1);
  fail_unless_equals_int (vfio_emu_flip (dev), 2);
  close_stack (fd, container_fd, group_fd);
}

GST_END_TEST;

/* GVT-g frees an id when the last dma-buf exported for it is released
 * (the dmabuf object's kref, dmabuf_gem_object_free() -> idr_remove()); a
 * framebuffer queried and never exported keeps its id (initref). The next
 * new framebuffer gets the lowest free id. */
GST_START_TEST (test_gvtg_ids_freed_on_release)
{
  VfioEmuDevice *dev = add_personality (UUID, GROUP,
      VFIO_EMU_PERSONALITY_GVTG);
  int container_fd, group_fd;
  int fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  int a, b, c, copy;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      32, 0);
  fail_unless_equals_int (query_primary_id (fd), 1);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 2);
  fail_unless_equals_int (query_primary_id (fd), 2);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 2), 3);

  /* Id 1 lives while one of its dma-bufs is open. */
  a = export (fd, 1);
  b = export (fd, 1);
  fail_unless (a >= 0 && b >= 0);
  close (a);
  c = export (fd, 1);
  fail_unless (c >= 0);
  close (b);
  close (c);
  assert_fails_with (export (fd, 1), EINVAL);
  fail_unless_equals_int (vfio_emu_export_count (dev, 1), 0);

  /* Id 2, never exported, stays. */
  a = export (fd, 2);
  fail_unless (a >= 0);

  /* A new framebuffer gets number 1; the one that had it gets another. */
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 3), 1);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 0), 4);

  /* A dup of a dma-buf keeps it (and its id) alive. */
  close (a);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 2);
  a = export (fd, 3);
  copy = dup (a);
  close (a);
  a = export (fd, 3);
  fail_unless (a >= 0);
  close (a);
  close (copy);
  close_stack (fd, container_fd, group_fd);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Interrupts */

static int
irq_count (int fd, guint32 index, guint32 * flags)
{
  struct vfio_irq_info info = {.argsz = sizeof (info),.index = index };

  fail_unless_equals_int (ioctl (fd, VFIO_DEVICE_GET_IRQ_INFO, &info), 0);
  if (flags)
    *flags = info.flags;
  return info.count;
}

static int
set_request_trigger (int fd, guint32 data_flag, guint32 count,
    gint32 eventfd_or_bool)
{
  struct
  {
    struct vfio_irq_set set;
    gint32 data;
  } s = {
    .set = {
          .argsz = sizeof (s),
          .flags = data_flag | VFIO_IRQ_SET_ACTION_TRIGGER,
          .index = VFIO_PCI_REQ_IRQ_INDEX,
          .start = 0,
          .count = count,
        },
    .data = eventfd_or_bool,
  };

  return ioctl (fd, VFIO_DEVICE_SET_IRQS, &s);
}

GST_START_TEST (test_no_irqs)
{
  const VfioEmuPersonality all[] = { VFIO_EMU_PERSONALITY_GENERIC,
    VFIO_EMU_PERSONALITY_MBOCHS, VFIO_EMU_PERSONALITY_GVTG
  };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    struct vfio_irq_info info = {.argsz = sizeof (info) };
    VfioEmuDevice *dev;
    int fd, efd;

    vfio_emu_reset ();
    dev = add_personality (UUID, GROUP, all[i]);
    /* Only a generic device can offer it. */
    vfio_emu_set_request_irq (dev, all[i] != VFIO_EMU_PERSONALITY_GENERIC);
    fd = vfio_emu_open_device_fd (dev);
    for (guint32 index = 0; index < VFIO_PCI_NUM_IRQS; index++)
      fail_unless_equals_int (irq_count (fd, index, NULL), 0);
    info.index = VFIO_PCI_NUM_IRQS;
    assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL);
    info.index = 0;
    info.argsz = offsetof (struct vfio_irq_info, count);
    assert_fails_with (ioctl (fd, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL);

    efd = eventfd (0, EFD_CLOEXEC);
    assert_fails_with (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD,
            1, efd), EINVAL);
    fail_unless (!vfio_emu_request (dev));
    fail_unless_equals_int (vfio_emu_ioctl_count (dev,
            VFIO_DEVICE_GET_IRQ_INFO), VFIO_PCI_NUM_IRQS + 2);
    fail_unless_equals_int (vfio_emu_ioctl_count (dev,
            VFIO_DEVICE_SET_IRQS), 1);
    close (efd);
    close (fd);
  }
}

GST_END_TEST;

GST_START_TEST (test_request_irq)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  int container_fd, group_fd, fd, efd, pipe_fds[2];
  guint64 value = 0;
  guint32 flags;

  vfio_emu_set_request_irq (dev, TRUE);
  fd = open_stack (GROUP, UUID, &container_fd, &group_fd);
  fail_unless_equals_int (irq_count (fd, VFIO_PCI_REQ_IRQ_INDEX, &flags), 1);
  fail_unless (flags & VFIO_IRQ_INFO_EVENTFD);
  fail_unless_equals_int (irq_count (fd, VFIO_PCI_ERR_IRQ_INDEX, NULL), 0);
  fail_unless (!vfio_emu_request (dev));

  /* Register, let go of our fd: the device holds its own reference. */
  efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  fail_unless_equals_int (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD,
          1, efd), 0);
  fail_unless (vfio_emu_request (dev));
  fail_unless (vfio_emu_request (dev));
  fail_unless_equals_int (read (efd, &value, sizeof (value)), 8);
  fail_unless_equals_uint64 (value, 2);
  assert_fails_with (read (efd, &value, sizeof (value)), EAGAIN);

  /* Not an eventfd, no fd, a bad range. */
  fail_unless_equals_int (pipe2 (pipe_fds, O_CLOEXEC), 0);
  assert_fails_with (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD, 1,
          pipe_fds[0]), EINVAL);
  assert_fails_with (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD, 1,
          1000), EBADF);
  assert_fails_with (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD, 2,
          efd), EINVAL);
  close (pipe_fds[0]);
  close (pipe_fds[1]);
  /* The registration survived the failures. */
  fail_unless (vfio_emu_request (dev));

  /* fd -1 unregisters; so does DATA_NONE with count 0. */
  fail_unless_equals_int (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD,
          1, -1), 0);
  fail_unless (!vfio_emu_request (dev));
  fail_unless_equals_int (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD,
          1, efd), 0);
  fail_unless_equals_int (set_request_trigger (fd, VFIO_IRQ_SET_DATA_NONE,
          0, 0), 0);
  fail_unless (!vfio_emu_request (dev));

  /* Closing the device unregisters it. */
  fail_unless_equals_int (set_request_trigger (fd, VFIO_IRQ_SET_DATA_EVENTFD,
          1, efd), 0);
  close (fd);
  fail_unless (!vfio_emu_request (dev));
  fail_unless_equals_int (vfio_emu_ioctl_count (dev, VFIO_DEVICE_SET_IRQS),
      8);

  /* Withdrawn: count 0 again. */
  vfio_emu_set_request_irq (dev, FALSE);
  fd = ioctl (group_fd, VFIO_GROUP_GET_DEVICE_FD, UUID);
  fail_unless_equals_int (irq_count (fd, VFIO_PCI_REQ_IRQ_INDEX, NULL), 0);
  close_stack (fd, container_fd, group_fd);
  close (efd);
}

GST_END_TEST;

static Suite *
emu_suite (void)
{
  Suite *s = suite_create ("vfioemu");
  TCase *tc_sysfs = tcase_create ("sysfs");
  TCase *tc_group = tcase_create ("container-group");
  TCase *tc_device = tcase_create ("device");
  TCase *tc_plane = tcase_create ("plane");
  TCase *tc_faults = tcase_create ("faults");
  TCase *tc_interpose = tcase_create ("interpose");
  TCase *tc_exports = tcase_create ("exports");
  TCase *tc_personality = tcase_create ("personality");
  TCase *tc_irq = tcase_create ("irq");

  suite_add_tcase (s, tc_sysfs);
  tcase_add_checked_fixture (tc_sysfs, reset, reset);
  tcase_add_test (tc_sysfs, test_sysfs_layout);
  tcase_add_test (tc_sysfs, test_sysfs_reset_removes_tree);

  suite_add_tcase (s, tc_group);
  tcase_add_checked_fixture (tc_group, reset, reset);
  tcase_add_test (tc_group, test_container_ioctls);
  tcase_add_test (tc_group, test_group_setup);
  tcase_add_test (tc_group, test_group_unset_container);
  tcase_add_test (tc_group, test_group_open_once);
  tcase_add_test (tc_group, test_group_open_errno);
  tcase_add_test (tc_group, test_unknown_nodes);
  tcase_add_test (tc_group, test_two_devices_in_a_group);
  tcase_add_test (tc_group, test_vmm_open);
  tcase_add_test (tc_group, test_close_order);

  suite_add_tcase (s, tc_device);
  tcase_add_checked_fixture (tc_device, reset, reset);
  tcase_add_test (tc_device, test_device_info);
  tcase_add_test (tc_device, test_device_info_argsz);
  tcase_add_test (tc_device, test_region_info_edid_caps);
  tcase_add_test (tc_device, test_edid_contents);

  suite_add_tcase (s, tc_plane);
  tcase_add_checked_fixture (tc_plane, reset, reset);
  tcase_add_test (tc_plane, test_probe);
  tcase_add_test (tc_plane, test_query_argsz);
  tcase_add_test (tc_plane, test_query_dmabuf_modes);
  tcase_add_test (tc_plane, test_dmabuf_export_pixels);
  tcase_add_test (tc_plane, test_dmabuf_padded_stride_and_rgb565);
  tcase_add_test (tc_plane, test_dmabuf_unknown_id);
  tcase_add_test (tc_plane, test_dmabuf_mmap_fails);
  tcase_add_test (tc_plane, test_region_plane);
  tcase_add_test (tc_plane, test_raw_plane);

  suite_add_tcase (s, tc_faults);
  tcase_add_checked_fixture (tc_faults, reset, reset);
  tcase_add_test (tc_faults, test_fail_ioctl_window);
  tcase_add_test (tc_faults, test_fail_ioctl_scope);
  tcase_add_test (tc_faults, test_unplug);
  tcase_add_test (tc_faults, test_counters);

  suite_add_tcase (s, tc_interpose);
  tcase_add_checked_fixture (tc_interpose, reset, reset);
  tcase_add_test (tc_interpose, test_pass_through);
  tcase_add_test (tc_interpose, test_pass_through_create_mode);
  tcase_add_test (tc_interpose, test_entry_points);
  tcase_add_test (tc_interpose, test_readlink_entry_points);
  tcase_add_test (tc_interpose, test_dup_device_fd);
  tcase_add_test (tc_interpose, test_device_fd_replaced);
  tcase_add_test (tc_interpose, test_device_fd_over_socket);
  tcase_add_test (tc_interpose, test_dup_dmabuf);
  tcase_add_test (tc_interpose, test_closed_behind_our_back);
  tcase_add_test (tc_interpose, test_threads);

  suite_add_tcase (s, tc_exports);
  tcase_add_checked_fixture (tc_exports, reset, reset);
  tcase_add_test (tc_exports, test_double_export_aborts);
  tcase_add_test (tc_exports, test_double_export_gvtg_survives);
  tcase_add_test (tc_exports, test_double_export_counted);
  tcase_add_test (tc_exports, test_device_life);

  suite_add_tcase (s, tc_personality);
  tcase_add_checked_fixture (tc_personality, reset, reset);
  tcase_add_test (tc_personality, test_config_region_ids);
  tcase_add_test (tc_personality, test_personality_set_late);
  tcase_add_test (tc_personality, test_mbochs_sizes_and_mmap);
  tcase_add_test (tc_personality, test_mbochs_ids);
  tcase_add_test (tc_personality, test_mbochs_region_info);
  tcase_add_test (tc_personality, test_unplug_waits_for_close);
  tcase_add_test (tc_personality, test_gvtg);
  tcase_add_test (tc_personality, test_gvtg_ids_freed_on_release);

  suite_add_tcase (s, tc_irq);
  tcase_add_checked_fixture (tc_irq, reset, reset);
  tcase_add_test (tc_irq, test_no_irqs);
  tcase_add_test (tc_irq, test_request_irq);

  return s;
}

GST_CHECK_MAIN (emu);
