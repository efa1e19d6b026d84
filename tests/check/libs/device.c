/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstVfioDevice against the emulated mdev (tests/emu): opening by UUID, by
 * sysfs path and by adopting a device fd, every way opening fails (each
 * with its error code and a message that says what to do), plane probing
 * and queries, unplug, and EDID discovery.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/vfio/vfio.h>
#include <glib/gstdio.h>
#include <vfioemu.h>

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define UUID "4b20d080-1b54-4048-85b3-a6a62d165c01"
#define OTHER_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define GROUP 12
#define SYSFS_PATH "/sys/bus/mdev/devices/" UUID

static void
setup (void)
{
  vfio_emu_reset ();
}

static void
teardown (void)
{
  vfio_emu_reset ();
}

/* @error is in domain GST_VFIO_ERROR with @code, and its message contains
 * each of the NULL-terminated strings in @needles. */
static void
assert_error_valist (GError * error, gint code, va_list needles)
{
  const gchar *needle;

  fail_unless (error != NULL, "no error");
  fail_unless (error->domain == GST_VFIO_ERROR, "domain %s: %s",
      g_quark_to_string (error->domain), error->message);
  fail_unless (error->code == code, "code %d, not %d: %s", error->code, code,
      error->message);
  GST_INFO ("error %d: %s", error->code, error->message);

  while ((needle = va_arg (needles, const gchar *)))
      fail_unless (strstr (error->message, needle) != NULL,
        "'%s' does not mention '%s'", error->message, needle);
}

/* assert_error_valist() with the strings as arguments. */
static void
assert_error (GError * error, gint code, ...)
{
  va_list args;

  va_start (args, code);
  assert_error_valist (error, code, args);
  va_end (args);
}

/* Opening @device fails with @code and a message that contains each of the
 * NULL-terminated strings that follow. */
static void
assert_open_fails (const gchar * device, gint code, ...)
{
  GError *error = NULL;
  va_list args;

  fail_unless (gst_vfio_device_open (device, &error) == NULL);
  va_start (args, code);
  assert_error_valist (error, code, args);
  va_end (args);
  g_clear_error (&error);
}

/* Querying the @kind plane of @device fails with @code and a message that
 * contains each of the NULL-terminated strings that follow. */
static void
assert_query_fails (GstVfioDevice * device, GstVfioPlaneKind kind,
    GstVfioPlane * plane, gint code, ...)
{
  GError *error = NULL;
  va_list args;

  fail_if (gst_vfio_device_query_plane (device, kind, plane, &error));
  va_start (args, code);
  assert_error_valist (error, code, args);
  va_end (args);
  g_clear_error (&error);
}

/* Querying the @kind plane of @device succeeds, without an error. */
static void
query_plane (GstVfioDevice * device, GstVfioPlaneKind kind,
    GstVfioPlane * plane)
{
  GError *error = NULL;

  fail_unless (gst_vfio_device_query_plane (device, kind, plane, &error));
  g_assert_no_error (error);
}

static GstVfioDevice *
open_device (const gchar * device)
{
  GError *error = NULL;
  GstVfioDevice *self = gst_vfio_device_open (device, &error);

  fail_unless (self != NULL, "open %s: %s", device,
      error ? error->message : "no error");
  g_assert_no_error (error);
  fail_unless (GST_IS_VFIO_DEVICE (self));
  return self;
}

/* An mbochs-like device, opened, showing 1024x768 XR24. */
static GstVfioDevice *
open_mbochs (VfioEmuDevice ** emu_dev)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  if (emu_dev)
    *emu_dev = dev;
  return open_device (UUID);
}

static gboolean
fd_is_open (gint fd)
{
  return fcntl (fd, F_GETFD) >= 0;
}

/* Opening */

GST_START_TEST (test_open_by_uuid)
{
  GstVfioDevice *device;
  gint fd;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  device = open_device (UUID);

  fail_unless_equals_string (gst_vfio_device_get_description (device),
      SYSFS_PATH);
  fd = gst_vfio_device_get_fd (device);
  fail_unless (fd >= 0);
  fail_unless (fd_is_open (fd));
  /* Container, group and device. */
  fail_unless_equals_int (vfio_emu_open_fds (), 3);

  gst_object_unref (device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  fail_if (fd_is_open (fd));
}

GST_END_TEST;

GST_START_TEST (test_open_by_sysfs_path)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  GstVfioDevice *device;

  fail_unless_equals_string (vfio_emu_device_sysfs_path (dev), SYSFS_PATH);
  device = open_device (SYSFS_PATH);
  fail_unless_equals_string (gst_vfio_device_get_description (device),
      SYSFS_PATH);
  fail_unless_equals_int (vfio_emu_open_fds (), 3);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, NULL),
      GST_VFIO_PLANE_TYPE_DMABUF);

  gst_object_unref (device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* Two mdevs in two groups, opened side by side, are told apart. */
GST_START_TEST (test_open_two_devices)
{
  GstVfioDevice *a, *b;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_add_mdev (OTHER_UUID, GROUP + 1, VFIO_EMU_REGION);

  a = open_device (UUID);
  b = open_device (OTHER_UUID);
  fail_unless_equals_int (vfio_emu_open_fds (), 6);
  fail_unless_equals_int (gst_vfio_device_probe_planes (a, NULL),
      GST_VFIO_PLANE_TYPE_DMABUF);
  fail_unless_equals_int (gst_vfio_device_probe_planes (b, NULL),
      GST_VFIO_PLANE_TYPE_REGION);

  gst_object_unref (a);
  fail_unless_equals_int (vfio_emu_open_fds (), 3);
  gst_object_unref (b);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* The fd a VMM hands over is the caller's: used, never closed. */
GST_START_TEST (test_new_from_fd)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  GstVfioDevice *device;
  GstVfioPlane plane;
  GError *error = NULL;
  gchar *description;
  gint fd;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  fd = vfio_emu_open_device_fd (dev);
  fail_unless (fd >= 0);

  device = gst_vfio_device_new_from_fd (fd, &error);
  g_assert_no_error (error);
  fail_unless (device != NULL);
  /* A close-on-exec copy of the same open file. */
  fail_if (gst_vfio_device_get_fd (device) == fd);
  fail_unless (fcntl (gst_vfio_device_get_fd (device), F_GETFD) &
      FD_CLOEXEC);
  fail_unless (gst_vfio_device_is_adopted (device));
  description = g_strdup_printf ("VFIO device fd %d", fd);
  fail_unless_equals_string (gst_vfio_device_get_description (device),
      description);
  g_free (description);
  /* Adopting opens nothing but the copy. */
  fail_unless_equals_int (vfio_emu_open_fds (), 1);

  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.width, 640);

  gst_object_unref (device);
  fail_unless (fd_is_open (fd), "the adopted fd was closed");
  /* Nothing exported: the copy went with the device. */
  fail_unless_equals_int (gst_vfio_device_close_unused (), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  /* Still a working device fd: adopt it again. */
  device = gst_vfio_device_new_from_fd (fd, &error);
  g_assert_no_error (error);
  gst_object_unref (device);
  fail_unless (fd_is_open (fd));
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_open_missing_uuid)
{
  /* No mdev at all, then another one only. */
  assert_open_fails (UUID, GST_VFIO_ERROR_NOT_FOUND, UUID, "Create the mdev",
      NULL);

  vfio_emu_add_mdev (OTHER_UUID, GROUP, VFIO_EMU_DMABUF);
  assert_open_fails (UUID, GST_VFIO_ERROR_NOT_FOUND, UUID, "check the UUID",
      NULL);

  assert_open_fails (SYSFS_PATH, GST_VFIO_ERROR_NOT_FOUND, SYSFS_PATH, NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_open_garbage)
{
  static const gchar *const garbage[] = {
    "",
    "mbochs",
    "4b20d080-1b54-4048-85b3",
    "4b20d080-1b54-4048-85b3-a6a62d165c01x",
    "../../etc/passwd",
    ("sys/bus/mdev/devices/" UUID),
  };

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++)
    assert_open_fails (garbage[i], GST_VFIO_ERROR_INVALID_ARGUMENT, "UUID",
        "/sys/bus/mdev/devices/", garbage[i], NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* A directory that exists but has no IOMMU group is not a VFIO device. */
GST_START_TEST (test_open_not_vfio)
{
  const gchar *dir = g_get_tmp_dir ();

  assert_open_fails (dir, GST_VFIO_ERROR_INVALID_ARGUMENT, dir,
      "not a VFIO device", NULL);

  assert_open_fails ("/nonexistent/mdev", GST_VFIO_ERROR_NOT_FOUND,
      "/nonexistent/mdev", NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_open_group_eacces)
{
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_group_open_errno (GROUP, EACCES);

  assert_open_fails (UUID, GST_VFIO_ERROR_PERMISSION, "/dev/vfio/12",
      "Permission denied", "udev", NULL);
  /* The container opened before the group is closed again. */
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  vfio_emu_set_group_open_errno (GROUP, EPERM);
  assert_open_fails (UUID, GST_VFIO_ERROR_PERMISSION, "/dev/vfio/12", NULL);

  /* Granted: it opens. */
  vfio_emu_set_group_open_errno (GROUP, 0);
  gst_object_unref (open_device (UUID));
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_open_group_ebusy)
{
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_group_open_errno (GROUP, EBUSY);

  assert_open_fails (UUID, GST_VFIO_ERROR_BUSY, "/dev/vfio/12", "device-fd",
      NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* The real case behind EBUSY: a VM holds the group. Its device fd, handed
 * over, works. */
GST_START_TEST (test_open_group_held_by_vm)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  GstVfioDevice *device;
  GError *error = NULL;
  gint vm_fd = vfio_emu_open_device_fd (dev);

  fail_unless (vm_fd >= 0);
  assert_open_fails (UUID, GST_VFIO_ERROR_BUSY, "/dev/vfio/12", "device-fd",
      NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  device = gst_vfio_device_new_from_fd (vm_fd, &error);
  g_assert_no_error (error);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_DMABUF);
  gst_object_unref (device);
  close (vm_fd);
}

GST_END_TEST;

/* A group opens once: a second open in the same process shares the open
 * device (and so what it exported) instead of failing. */
GST_START_TEST (test_open_twice)
{
  GstVfioDevice *device, *again;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  device = open_device (UUID);
  again = open_device (UUID);
  fail_if (again == device);
  fail_unless_equals_int (gst_vfio_device_get_fd (again),
      gst_vfio_device_get_fd (device));
  fail_unless_equals_int (vfio_emu_open_fds (), 3);
  gst_object_unref (device);
  fail_unless_equals_int (vfio_emu_open_fds (), 3);
  gst_object_unref (again);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  /* Closed: the group can be opened again. */
  device = open_device (UUID);
  gst_object_unref (device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_open_group_enoent)
{
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_group_open_errno (GROUP, ENOENT);

  assert_open_fails (UUID, GST_VFIO_ERROR_NOT_FOUND, "/dev/vfio/12", "vfio",
      "modules", NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* A failure after the group is set up closes everything opened so far. */
GST_START_TEST (test_open_get_device_fd_fails)
{
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_fail_ioctl (NULL, VFIO_GROUP_GET_DEVICE_FD, EPERM, 1, 1);

  assert_open_fails (UUID, GST_VFIO_ERROR_FAILED, UUID, NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  vfio_emu_fail_ioctl (NULL, VFIO_SET_IOMMU, ENOMEM, 1, 1);
  assert_open_fails (UUID, GST_VFIO_ERROR_FAILED, "/dev/vfio/12", NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

GST_START_TEST (test_new_from_bad_fd)
{
  GError *error = NULL;
  gchar *path = NULL;
  gint fd;

  fail_unless (gst_vfio_device_new_from_fd (-1, &error) == NULL);
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, "-1", NULL);
  g_clear_error (&error);

  /* A regular file: VFIO_DEVICE_GET_INFO fails with ENOTTY. */
  fd = g_file_open_tmp ("vfio-device-XXXXXX", &path, NULL);
  fail_unless (fd >= 0);
  fail_unless (gst_vfio_device_new_from_fd (fd, &error) == NULL);
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, "not a VFIO device",
      "VFIO_GROUP_GET_DEVICE_FD", NULL);
  g_clear_error (&error);
  fail_unless (fd_is_open (fd), "a rejected fd was closed");
  close (fd);
  g_unlink (path);
  g_free (path);

  /* A VFIO group fd is not a device fd either. */
  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  fd = open ("/dev/vfio/12", O_RDWR | O_CLOEXEC);
  fail_unless (fd >= 0);
  fail_unless (gst_vfio_device_new_from_fd (fd, &error) == NULL);
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, NULL);
  g_clear_error (&error);
  close (fd);
}

GST_END_TEST;

/* Probing */

GST_START_TEST (test_probe_planes)
{
  static const struct
  {
    VfioEmuFlags flags;
    GstVfioPlaneTypes types;
  } cases[] = {
    {VFIO_EMU_DMABUF, GST_VFIO_PLANE_TYPE_DMABUF},
    {VFIO_EMU_DMABUF | VFIO_EMU_EDID, GST_VFIO_PLANE_TYPE_DMABUF},
    {VFIO_EMU_REGION, GST_VFIO_PLANE_TYPE_REGION},
    {VFIO_EMU_DMABUF | VFIO_EMU_REGION,
        GST_VFIO_PLANE_TYPE_DMABUF | GST_VFIO_PLANE_TYPE_REGION},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstVfioDevice *device;
    GError *error = NULL;

    vfio_emu_reset ();
    vfio_emu_add_mdev (UUID, GROUP, cases[i].flags);
    device = open_device (UUID);
    fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
        cases[i].types);
    g_assert_no_error (error);
    /* Probing is repeatable. */
    fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
        cases[i].types);
    gst_object_unref (device);
  }
}

GST_END_TEST;

GST_START_TEST (test_probe_no_display)
{
  GstVfioDevice *device;
  GstVfioPlane plane;
  GError *error = NULL;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_NO_DISPLAY);
  device = open_device (UUID);

  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_NONE);
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, SYSFS_PATH,
      "mdev type with a display", NULL);
  g_clear_error (&error);

  /* A query without a probe probes, and fails the same way. */
  assert_query_fails (device, GST_VFIO_PLANE_PRIMARY, &plane,
      GST_VFIO_ERROR_NOT_SUPPORTED, NULL);
  gst_object_unref (device);
}

GST_END_TEST;

/* A passing failure of the probe is retried; any other failure means the
 * plane type is not offered, as QEMU takes it: a vendor driver answering
 * EOPNOTSUPP for dma-bufs still has its region planes found. */
GST_START_TEST (test_probe_failures)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GError *error = NULL;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, EINTR, 1, 1);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_DMABUF);
  g_assert_no_error (error);

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, EIO, 1, 1);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_NONE);
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, "has no display", NULL);
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_probe_eopnotsupp)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF |
      VFIO_EMU_REGION);
  GstVfioDevice *device;
  GError *error = NULL;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  device = gst_vfio_device_open (UUID, &error);
  g_assert_no_error (error);
  /* The dma-buf probe answers EOPNOTSUPP, the region probe works. */
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, EOPNOTSUPP, 1, 1);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_REGION);
  g_assert_no_error (error);
  gst_object_unref (device);
}

GST_END_TEST;

/* Queries */

GST_START_TEST (test_query_primary)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;

  /* No explicit probe: the query does it. */
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.kind, GST_VFIO_PLANE_PRIMARY);
  fail_unless_equals_int (plane.type, GST_VFIO_PLANE_TYPE_DMABUF);
  fail_unless_equals_int (plane.fourcc, DRM_FORMAT_XRGB8888);
  fail_unless_equals_uint64 (plane.modifier, DRM_FORMAT_MOD_LINEAR);
  fail_unless_equals_int (plane.width, 1024);
  fail_unless_equals_int (plane.height, 768);
  fail_unless_equals_int (plane.stride, 4096);
  fail_unless_equals_int (plane.size, 4096 * 768);
  fail_unless_equals_int (plane.id, 1);
  fail_unless_equals_int (plane.id, vfio_emu_current_id (dev));
  fail_unless (gst_vfio_plane_validate (&plane, NULL));

  /* The other buffer. */
  fail_unless_equals_int (vfio_emu_flip (dev), 2);
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless_equals_int (plane.id, 2);

  /* A mode change: new ids, new values. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XBGR8888, I915_FORMAT_MOD_X_TILED, 1920,
      1080, 7680);
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.fourcc, DRM_FORMAT_XBGR8888);
  fail_unless_equals_uint64 (plane.modifier, I915_FORMAT_MOD_X_TILED);
  fail_unless_equals_int (plane.width, 1920);
  fail_unless_equals_int (plane.height, 1080);
  fail_unless_equals_int (plane.stride, 7680);
  fail_unless_equals_int (plane.id, 3);
  gst_object_unref (device);
}

GST_END_TEST;

/* Every field of the answer reaches the plane, cursor values included. */
GST_START_TEST (test_query_raw_fields)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  struct vfio_device_gfx_plane_info info = {
    .drm_plane_type = VFIO_EMU_PLANE_CURSOR,
    .drm_format = DRM_FORMAT_ARGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 64,
    .height = 64,
    .stride = 256,
    .size = 16384,
    .x_pos = 300,
    .y_pos = 200,
    .x_hot = 5,
    .y_hot = 6,
    .dmabuf_id = 77,
  };
  GstVfioPlane plane;

  vfio_emu_set_raw_plane (dev, &info, 16384);
  query_plane (device, GST_VFIO_PLANE_CURSOR, &plane);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.kind, GST_VFIO_PLANE_CURSOR);
  fail_unless_equals_int (plane.fourcc, DRM_FORMAT_ARGB8888);
  fail_unless_equals_int (plane.width, 64);
  fail_unless_equals_int (plane.height, 64);
  fail_unless_equals_int (plane.stride, 256);
  fail_unless_equals_int (plane.size, 16384);
  fail_unless_equals_int (plane.x, 300);
  fail_unless_equals_int (plane.y, 200);
  fail_unless_equals_int (plane.x_hot, 5);
  fail_unless_equals_int (plane.y_hot, 6);
  fail_unless_equals_int (plane.id, 77);

  /* The primary plane still shows the mode. */
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless_equals_int (plane.width, 1024);
  fail_unless_equals_int (plane.id, 1);

  /* Unknown hotspot. */
  info.x_hot = info.y_hot = G_MAXUINT32;
  vfio_emu_set_raw_plane (dev, &info, 16384);
  query_plane (device, GST_VFIO_PLANE_CURSOR, &plane);
  fail_unless_equals_int (plane.x_hot, G_MAXUINT32);
  fail_unless_equals_int (plane.y_hot, G_MAXUINT32);
  gst_object_unref (device);
}

GST_END_TEST;

static void
assert_blank (const GstVfioPlane * plane, GstVfioPlaneKind kind)
{
  fail_if (plane->present);
  fail_unless_equals_int (plane->kind, kind);
  fail_unless_equals_int (plane->fourcc, 0);
  fail_unless_equals_int (plane->width, 0);
  fail_unless_equals_int (plane->height, 0);
  fail_unless_equals_int (plane->stride, 0);
  fail_unless_equals_int (plane->size, 0);
  fail_unless_equals_int (plane->id, 0);
}

GST_START_TEST (test_query_blank)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;

  vfio_emu_set_blank (dev, TRUE);
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  assert_blank (&plane, GST_VFIO_PLANE_PRIMARY);
  fail_if (gst_vfio_plane_validate (&plane, NULL));

  /* mbochs has no cursor: an all-zero answer too. */
  vfio_emu_set_blank (dev, FALSE);
  query_plane (device, GST_VFIO_PLANE_CURSOR, &plane);
  assert_blank (&plane, GST_VFIO_PLANE_CURSOR);

  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  gst_object_unref (device);
}

GST_END_TEST;

/* Before the guest enables the display there is no mode at all. */
GST_START_TEST (test_query_before_mode)
{
  GstVfioDevice *device;
  GstVfioPlane plane;

  vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  device = open_device (UUID);
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  assert_blank (&plane, GST_VFIO_PLANE_PRIMARY);
  gst_object_unref (device);
}

GST_END_TEST;

/* GVT-g answers ENODEV for a disabled plane on a device that is still
 * there: that is a blank plane, not an unplug. */
GST_START_TEST (test_query_enodev_disabled_plane)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;

  fail_unless (gst_vfio_device_probe_planes (device, NULL));
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, ENODEV, 1, 1);
  query_plane (device, GST_VFIO_PLANE_CURSOR, &plane);
  assert_blank (&plane, GST_VFIO_PLANE_CURSOR);
  gst_object_unref (device);
}

GST_END_TEST;

/* mbochs fails the first query in a new mode with ENOMEM: retried at once. */
GST_START_TEST (test_query_enomem_once)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;
  guint before;

  fail_unless (gst_vfio_device_probe_planes (device, NULL));
  before = vfio_emu_ioctl_count (dev, VFIO_DEVICE_QUERY_GFX_PLANE);
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, ENOMEM, 1, 1);

  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.width, 1024);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_QUERY_GFX_PLANE), before + 2);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_query_enomem_twice)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;

  fail_unless (gst_vfio_device_probe_planes (device, NULL));
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, ENOMEM, 1, 2);

  assert_query_fails (device, GST_VFIO_PLANE_PRIMARY, &plane,
      GST_VFIO_ERROR_TRANSIENT, SYSFS_PATH, NULL);
  fail_if (plane.present);

  /* The next tick works. */
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  gst_object_unref (device);
}

GST_END_TEST;

/* Other errnos are not retried and not transient. */
GST_START_TEST (test_query_failed)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioPlane plane;
  guint before;

  fail_unless (gst_vfio_device_probe_planes (device, NULL));
  before = vfio_emu_ioctl_count (dev, VFIO_DEVICE_QUERY_GFX_PLANE);
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, EIO, 1, 1);
  assert_query_fails (device, GST_VFIO_PLANE_PRIMARY, &plane,
      GST_VFIO_ERROR_FAILED, NULL);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_QUERY_GFX_PLANE), before + 1);
  gst_object_unref (device);
}

GST_END_TEST;

/* GVT-g answers EINVAL or EFAULT for a plane the guest set up in a way it
 * cannot decode: the guest's doing, rejected like an invalid plane. */
GST_START_TEST (test_query_undecodable)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  const gint errs[] = { EINVAL, EFAULT };
  GstVfioPlane plane;

  fail_unless (gst_vfio_device_probe_planes (device, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (errs); i++) {
    vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, errs[i], 1, 1);
    assert_query_fails (device, GST_VFIO_PLANE_PRIMARY, &plane,
        GST_VFIO_ERROR_REJECTED, SYSFS_PATH, NULL);
    fail_if (plane.present);
  }
  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  fail_unless (plane.present);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_unplug)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioRegionInfo region;
  GstVfioEdidInfo edid;
  GstVfioPlane plane;
  GError *error = NULL;

  query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane);
  vfio_emu_unplug (dev);

  assert_query_fails (device, GST_VFIO_PLANE_PRIMARY, &plane,
      GST_VFIO_ERROR_DEVICE_GONE, SYSFS_PATH, NULL);

  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_NONE);
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  g_clear_error (&error);

  fail_unless (gst_vfio_device_export_dmabuf (device, 1, &error) < 0);
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  g_clear_error (&error);

  fail_if (gst_vfio_device_get_region_info (device, 0, &region, &error));
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  g_clear_error (&error);

  fail_if (gst_vfio_device_get_edid_info (device, &edid, &error));
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  g_clear_error (&error);

  /* Closing still closes everything. */
  gst_object_unref (device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  /* And it cannot be opened again. */
  assert_open_fails (UUID, GST_VFIO_ERROR_NOT_FOUND, NULL);
}

GST_END_TEST;

/* An unplug before the first probe is an unplug, not "no display". */
GST_START_TEST (test_unplug_before_probe)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GError *error = NULL;

  vfio_emu_unplug (dev);
  fail_unless_equals_int (gst_vfio_device_probe_planes (device, &error),
      GST_VFIO_PLANE_TYPE_NONE);
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

/* Exports */

GST_START_TEST (test_export_dmabuf)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GError *error = NULL;
  gint fd;

  fd = gst_vfio_device_export_dmabuf (device, 1, &error);
  g_assert_no_error (error);
  fail_unless (fd >= 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 1);
  /* The caller owns it. */
  gst_object_unref (device);
  fail_unless (fd_is_open (fd));
  close (fd);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* An id the device does not know (ENOENT): worth trying next tick. */
GST_START_TEST (test_export_unknown_id)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GError *error = NULL;

  fail_unless (gst_vfio_device_export_dmabuf (device, 99, &error) < 0);
  assert_error (error, GST_VFIO_ERROR_TRANSIENT, "99", NULL);
  g_clear_error (&error);

  /* EINVAL is for good: mbochs for a framebuffer off a page boundary,
   * GVT-g for an id it does not know. */
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 1);
  fail_unless (gst_vfio_device_export_dmabuf (device, 1, &error) < 0);
  assert_error (error, GST_VFIO_ERROR_REJECTED, "refuses to export", NULL);
  g_clear_error (&error);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  gst_object_unref (device);
}

GST_END_TEST;

/* Regions and EDID */

GST_START_TEST (test_region_info)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_REGION);
  GstVfioDevice *device;
  GstVfioRegionInfo region;
  GError *error = NULL;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  device = open_device (UUID);
  fail_unless (gst_vfio_device_get_region_info (device,
          VFIO_EMU_DISPLAY_REGION_INDEX, &region, &error));
  g_assert_no_error (error);
  fail_unless_equals_int (region.index, VFIO_EMU_DISPLAY_REGION_INDEX);
  fail_unless (region.flags & VFIO_REGION_INFO_FLAG_MMAP);
  fail_unless_equals_uint64 (region.size, 640 * 4 * 480);
  fail_unless (region.offset > 0);

  /* Past the last region: the device answers EINVAL. */
  fail_if (gst_vfio_device_get_region_info (device,
          VFIO_EMU_DISPLAY_REGION_INDEX + 1, &region, &error));
  assert_error (error, GST_VFIO_ERROR_NOT_FOUND, NULL);
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_edid_info)
{
  GstVfioDevice *device = open_mbochs (NULL);
  GstVfioEdidInfo edid;
  GError *error = NULL;

  memset (&edid, 0xff, sizeof (edid));
  fail_unless (gst_vfio_device_get_edid_info (device, &edid, &error));
  g_assert_no_error (error);

  /* What the emulator puts there (like mbochs-medium). */
  fail_unless_equals_int (edid.region.index, VFIO_EMU_EDID_REGION_INDEX);
  fail_unless (edid.region.flags & VFIO_REGION_INFO_FLAG_READ);
  fail_unless (edid.region.flags & VFIO_REGION_INFO_FLAG_WRITE);
  fail_unless_equals_uint64 (edid.region.size, 0x1000);
  fail_unless_equals_int (edid.max_xres, 1920);
  fail_unless_equals_int (edid.max_yres, 1440);
  fail_unless_equals_int (edid.edid_offset, 0x100);
  fail_unless_equals_int (edid.edid_max_size, 512);
  fail_unless_equals_int (edid.edid_size, 128);
  fail_unless_equals_int (edid.link_state, VFIO_DEVICE_GFX_LINK_STATE_UP);

  /* The header is read from the region, every time. */
  fail_unless (gst_vfio_device_get_edid_info (device, &edid, &error));
  fail_unless_equals_int (edid.max_xres, 1920);
  gst_object_unref (device);
}

GST_END_TEST;

/* The EDID region is found behind a capability chain that needs a second
 * GET_REGION_INFO with the argsz the kernel asked for. */
GST_START_TEST (test_edid_region_info_retry)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioEdidInfo edid;
  guint calls;

  calls = vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_REGION_INFO);
  fail_unless (gst_vfio_device_get_edid_info (device, &edid, NULL));
  calls = vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_REGION_INFO) - calls;
  /* Regions 0..9 once, the EDID region a second time for its caps. */
  fail_unless_equals_int (calls, VFIO_EMU_EDID_REGION_INDEX + 2);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_edid_not_supported)
{
  static const VfioEmuFlags flags[] = { VFIO_EMU_DMABUF, VFIO_EMU_REGION,
    VFIO_EMU_NO_DISPLAY
  };

  for (guint i = 0; i < G_N_ELEMENTS (flags); i++) {
    GstVfioDevice *device;
    GstVfioEdidInfo edid;
    GError *error = NULL;

    vfio_emu_reset ();
    vfio_emu_add_mdev (UUID, GROUP, flags[i]);
    device = open_device (UUID);
    fail_if (gst_vfio_device_get_edid_info (device, &edid, &error));
    assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, "EDID", NULL);
    g_clear_error (&error);
    gst_object_unref (device);
  }
}

GST_END_TEST;

/* A region that fails GET_REGION_INFO (a sparse index) is skipped. */
GST_START_TEST (test_edid_skips_bad_region)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_mbochs (&dev);
  GstVfioEdidInfo edid;
  GError *error = NULL;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_REGION_INFO, EINVAL, 3, 1);
  fail_unless (gst_vfio_device_get_edid_info (device, &edid, &error));
  g_assert_no_error (error);
  fail_unless_equals_int (edid.max_xres, 1920);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_error_quark)
{
  fail_unless_equals_string (g_quark_to_string (GST_VFIO_ERROR),
      "gst-vfio-error-quark");
  fail_unless_equals_int (gst_vfio_error_quark (), GST_VFIO_ERROR);
}

GST_END_TEST;

static Suite *
vfiodevice_suite (void)
{
  Suite *s = suite_create ("vfiodevice");
  TCase *tc_open = tcase_create ("open");
  TCase *tc_query = tcase_create ("query");
  TCase *tc_region = tcase_create ("region");

  suite_add_tcase (s, tc_open);
  tcase_add_checked_fixture (tc_open, setup, teardown);
  tcase_add_test (tc_open, test_error_quark);
  tcase_add_test (tc_open, test_open_by_uuid);
  tcase_add_test (tc_open, test_open_by_sysfs_path);
  tcase_add_test (tc_open, test_open_two_devices);
  tcase_add_test (tc_open, test_new_from_fd);
  tcase_add_test (tc_open, test_open_missing_uuid);
  tcase_add_test (tc_open, test_open_garbage);
  tcase_add_test (tc_open, test_open_not_vfio);
  tcase_add_test (tc_open, test_open_group_eacces);
  tcase_add_test (tc_open, test_open_group_ebusy);
  tcase_add_test (tc_open, test_open_group_held_by_vm);
  tcase_add_test (tc_open, test_open_twice);
  tcase_add_test (tc_open, test_open_group_enoent);
  tcase_add_test (tc_open, test_open_get_device_fd_fails);
  tcase_add_test (tc_open, test_new_from_bad_fd);

  suite_add_tcase (s, tc_query);
  tcase_add_checked_fixture (tc_query, setup, teardown);
  tcase_add_test (tc_query, test_probe_planes);
  tcase_add_test (tc_query, test_probe_failures);
  tcase_add_test (tc_query, test_probe_eopnotsupp);
  tcase_add_test (tc_query, test_probe_no_display);
  tcase_add_test (tc_query, test_query_primary);
  tcase_add_test (tc_query, test_query_raw_fields);
  tcase_add_test (tc_query, test_query_blank);
  tcase_add_test (tc_query, test_query_before_mode);
  tcase_add_test (tc_query, test_query_enodev_disabled_plane);
  tcase_add_test (tc_query, test_query_enomem_once);
  tcase_add_test (tc_query, test_query_enomem_twice);
  tcase_add_test (tc_query, test_query_failed);
  tcase_add_test (tc_query, test_query_undecodable);
  tcase_add_test (tc_query, test_unplug);
  tcase_add_test (tc_query, test_unplug_before_probe);
  tcase_add_test (tc_query, test_export_dmabuf);
  tcase_add_test (tc_query, test_export_unknown_id);

  suite_add_tcase (s, tc_region);
  tcase_add_checked_fixture (tc_region, setup, teardown);
  tcase_add_test (tc_region, test_region_info);
  tcase_add_test (tc_region, test_edid_info);
  tcase_add_test (tc_region, test_edid_region_info_retry);
  tcase_add_test (tc_region, test_edid_not_supported);
  tcase_add_test (tc_region, test_edid_skips_bad_region);

  return s;
}

GST_CHECK_MAIN (vfiodevice);
