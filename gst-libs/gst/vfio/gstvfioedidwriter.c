/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Giving the guest a new monitor: the EDID update protocol of
 * struct vfio_region_gfx_edid (<linux/vfio.h>): link_state DOWN, edid_size,
 * the blob at edid_offset, link_state UP.
 *
 * Every access is one 4-byte pread/pwrite: mbochs ignores register
 * accesses of any other size, GVT-g refuses them (handle_edid_regs() in
 * samples/vfio-mdev/mbochs.c and drivers/gpu/drm/i915/gvt/kvmgt.c). The
 * size goes before the blob because GVT-g refuses blob writes past
 * edid_size; on link UP GVT-g checks the block and emulates a hotplug,
 * mbochs shows the blob at the start of its MMIO BAR. pread/pwrite are
 * right for this region on both (only the framebuffer regions of the
 * samples get the offsets wrong).
 *
 * Nothing is restored afterwards: the guest keeps the last EDID written.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioedidwriter.h"
#include "gstvfioerror.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_edid_writer_debug);
#define GST_CAT_DEFAULT gst_vfio_edid_writer_debug

#define REG_LINK_STATE offsetof (struct vfio_region_gfx_edid, link_state)
#define REG_EDID_SIZE offsetof (struct vfio_region_gfx_edid, edid_size)

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_edid_writer_debug, "vfioedidwriter", 0,
        "VFIO EDID region writes");
    g_once_init_leave (&done, 1);
  }
}

static void
set_access_error (GstVfioDevice * device, const gchar * what, gint err,
    GError ** error)
{
  const gchar *name = gst_vfio_device_get_description (device);

  GST_DEBUG_OBJECT (device, "EDID region access to %s failed: %s", what,
      g_strerror (err));
  if (err == ENODEV)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_DEVICE_GONE,
        "%s was removed while its EDID was written", name);
  else if (err == 0)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Writing the EDID of %s: a short access to %s", name, what);
  else
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Writing the EDID of %s: the device refused %s (%s)", name, what,
        g_strerror (err));
}

/* One 4-byte write at @offset of the region. */
static gboolean
write_u32 (GstVfioDevice * device, const GstVfioEdidInfo * info,
    guint32 offset, guint32 value, const gchar * what, GError ** error)
{
  ssize_t n = pwrite (gst_vfio_device_get_fd (device), &value, sizeof (value),
      info->region.offset + offset);

  if (n == sizeof (value))
    return TRUE;
  set_access_error (device, what, n < 0 ? errno : 0, error);
  return FALSE;
}

static gboolean
read_u32 (GstVfioDevice * device, const GstVfioEdidInfo * info,
    guint32 offset, guint32 * value, const gchar * what, GError ** error)
{
  ssize_t n = pread (gst_vfio_device_get_fd (device), value, sizeof (*value),
      info->region.offset + offset);

  if (n == sizeof (*value))
    return TRUE;
  set_access_error (device, what, n < 0 ? errno : 0, error);
  return FALSE;
}

static gboolean
check_blob (GstVfioDevice * device, const GstVfioEdidInfo * info, gsize size,
    GError ** error)
{
  if (!(info->region.flags & VFIO_REGION_INFO_FLAG_WRITE)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "The EDID region of %s is read-only",
        gst_vfio_device_get_description (device));
    return FALSE;
  }
  if (size == 0 || size % 4 != 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "An EDID of %" G_GSIZE_FORMAT " bytes: the device takes whole "
        "4-byte words (EDID blocks are 128 bytes)", size);
    return FALSE;
  }
  if (size > info->edid_max_size) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "An EDID of %" G_GSIZE_FORMAT " bytes does not fit: %s takes at most "
        "%u (edid_max_size)", size, gst_vfio_device_get_description (device),
        info->edid_max_size);
    return FALSE;
  }
  /* The device's own numbers must agree with each other. */
  if (info->edid_offset < sizeof (struct vfio_region_gfx_edid)
      || info->edid_offset % 4 != 0
      || (guint64) info->edid_offset + size > info->region.size) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "The EDID region of %s is inconsistent: blob at %u, %" G_GSIZE_FORMAT
        " bytes, region of %" G_GUINT64_FORMAT " bytes",
        gst_vfio_device_get_description (device), info->edid_offset, size,
        info->region.size);
    return FALSE;
  }
  return TRUE;
}

static gboolean
write_blob (GstVfioDevice * device, const GstVfioEdidInfo * info,
    const guint8 * data, gsize size, GError ** error)
{
  for (gsize i = 0; i < size; i += 4) {
    guint32 word;

    memcpy (&word, data + i, 4);
    if (!write_u32 (device, info, info->edid_offset + i, word, "the EDID blob",
            error))
      return FALSE;
  }
  return TRUE;
}

/* The four steps; a failure after the first leaves the link down, which
 * the error says: nothing is restored behind the caller's back. */
static gboolean
write_with_info (GstVfioDevice * device, const GstVfioEdidInfo * info,
    GBytes * edid, GError ** error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (edid, &size);
  guint32 link = 0;

  if (!check_blob (device, info, size, error))
    return FALSE;

  if (!write_u32 (device, info, REG_LINK_STATE,
          VFIO_DEVICE_GFX_LINK_STATE_DOWN, "link_state DOWN", error))
    return FALSE;
  if (!write_u32 (device, info, REG_EDID_SIZE, size, "edid_size", error)
      || !write_blob (device, info, data, size, error)
      || !write_u32 (device, info, REG_LINK_STATE,
          VFIO_DEVICE_GFX_LINK_STATE_UP, "link_state UP (a device that "
          "checks the EDID found it invalid)", error))
    goto link_left_down;
  if (!read_u32 (device, info, REG_LINK_STATE, &link, "link_state", error))
    return FALSE;
  if (link != VFIO_DEVICE_GFX_LINK_STATE_UP) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Writing the EDID of %s: link_state reads %u after setting it up",
        gst_vfio_device_get_description (device), link);
    goto link_left_down;
  }

  GST_INFO_OBJECT (device, "wrote a %" G_GSIZE_FORMAT "-byte EDID", size);
  return TRUE;

  /* ERRORS */
link_left_down:
  {
    g_prefix_error (error, "The guest's monitor is left unplugged (link "
        "down). ");
    return FALSE;
  }
}

/**
 * gst_vfio_edid_check_mode:
 * @info: the device's EDID region
 * @mode: a mode
 * @error: %GST_VFIO_ERROR_INVALID_ARGUMENT naming the limit
 *
 * Returns: %TRUE when @mode is within max_xres x max_yres (0: no limit)
 */
gboolean
gst_vfio_edid_check_mode (const GstVfioEdidInfo * info,
    const GstVfioEdidMode * mode, GError ** error)
{
  gboolean too_wide = info->max_xres && mode->width > info->max_xres;
  gboolean too_high = info->max_yres && mode->height > info->max_yres;
  g_autofree gchar *max_x = NULL, *max_y = NULL;

  if (!too_wide && !too_high)
    return TRUE;

  max_x = info->max_xres ? g_strdup_printf ("%u", info->max_xres) :
      g_strdup ("any width");
  max_y = info->max_yres ? g_strdup_printf ("%u", info->max_yres) :
      g_strdup ("any height");
  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
      "Mode %ux%u is larger than the device can show: at most %sx%s "
      "(max_xres x max_yres of its EDID region)", mode->width, mode->height,
      max_x, max_y);
  return FALSE;
}

/**
 * gst_vfio_edid_write:
 * @device: a device with an EDID region
 * @edid: the blob, whole 4-byte words, at most edid_max_size bytes
 * @error: %GST_VFIO_ERROR_NOT_SUPPORTED without an EDID region or room,
 *   else why the device refused it
 *
 * Sets the link down, writes the size and the blob, sets the link up, in
 * 4-byte accesses. Nothing is restored later: the guest keeps this EDID
 * until the next write (or until the device is reset).
 *
 * Returns: %TRUE when the device took it
 */
gboolean
gst_vfio_edid_write (GstVfioDevice * device, GBytes * edid, GError ** error)
{
  GstVfioEdidInfo info;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (device), FALSE);
  g_return_val_if_fail (edid != NULL, FALSE);
  init_debug ();

  return gst_vfio_device_get_edid_info (device, &info, error)
      && write_with_info (device, &info, edid, error);
}

/**
 * gst_vfio_edid_set_mode:
 * @device: a device with an EDID region
 * @mode: the guest's new preferred mode
 * @error: why not
 *
 * Checks @mode against the device's limits, generates an EDID for it
 * (gst_vfio_edid_generate()) and writes it (gst_vfio_edid_write()).
 *
 * Returns: %TRUE when the device took it
 */
gboolean
gst_vfio_edid_set_mode (GstVfioDevice * device, const GstVfioEdidMode * mode,
    GError ** error)
{
  g_autoptr (GBytes) edid = NULL;
  GstVfioEdidInfo info;
  GError *local = NULL;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (device), FALSE);
  g_return_val_if_fail (mode != NULL, FALSE);
  init_debug ();

  if (!gst_vfio_device_get_edid_info (device, &info, &local))
    goto no_region;
  if (!gst_vfio_edid_check_mode (&info, mode, error))
    return FALSE;
  edid = gst_vfio_edid_generate (mode, info.edid_max_size, error);
  if (!edid)
    return FALSE;
  GST_INFO_OBJECT (device, "guest mode %ux%u@%u", mode->width, mode->height,
      mode->refresh);
  return write_with_info (device, &info, edid, error);

  /* ERRORS */
no_region:
  {
    if (g_error_matches (local, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED))
      g_prefix_error (&local, "Cannot choose the guest's mode: ");
    g_propagate_error (error, local);
    return FALSE;
  }
}
