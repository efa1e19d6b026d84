/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation of guest-supplied plane values.
 *
 * Everything in a VFIO_DEVICE_QUERY_GFX_PLANE answer is set by the guest
 * (GVT-g decodes the guest's plane registers). Nothing may size, map or
 * describe a buffer before these rules hold; docs/security.md lists them.
 * All arithmetic is done in 64 bits on 32-bit inputs, so it cannot overflow.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioplane.h"
#include "gstvfioerror.h"

#include <linux/vfio.h>
#include "gstvfioformat.h"

#include <drm_fourcc.h>

static gboolean
reject (GError ** error, const gchar * format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
reject (GError ** error, const gchar * format, ...)
{
  va_list args;

  va_start (args, format);
  if (error)
    *error = g_error_new_valist (GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        format, args);
  va_end (args);
  return FALSE;
}

static gboolean
validate_format (const GstVfioPlane * plane, const GstVfioFormatInfo ** info,
    GError ** error)
{
  *info = gst_vfio_format_lookup (plane->fourcc);
  if (*info)
    return TRUE;

  if (plane->fourcc == DRM_FORMAT_C8)
    return reject (error, "format C8 (8-bit palette) cannot be shown: the "
        "palette is not part of the plane");
  return reject (error, "unknown format 0x%08x", plane->fourcc);
}

static gboolean
validate_size (const GstVfioPlane * plane, GError ** error)
{
  if (plane->width == 0 || plane->height == 0)
    return reject (error, "empty plane %ux%u", plane->width, plane->height);
  if (plane->width > GST_VFIO_PLANE_MAX_WIDTH
      || plane->height > GST_VFIO_PLANE_MAX_HEIGHT)
    return reject (error, "plane %ux%u is larger than %ux%u", plane->width,
        plane->height, GST_VFIO_PLANE_MAX_WIDTH, GST_VFIO_PLANE_MAX_HEIGHT);
  return TRUE;
}

/* Pixels a line holds. Packed 4:2:2 pixels come in pairs (Y0 U Y1 V): a
 * line of an odd width still ends with a whole pair, and GStreamer's unpack
 * functions and importers read it. */
static guint64
line_pixels (const GstVfioPlane * plane)
{
  switch (plane->fourcc) {
    case DRM_FORMAT_YUYV:
    case DRM_FORMAT_UYVY:
    case DRM_FORMAT_YVYU:
    case DRM_FORMAT_VYUY:
      return GST_ROUND_UP_2 ((guint64) plane->width);
    default:
      return plane->width;
  }
}

static gboolean
validate_layout (const GstVfioPlane * plane, const GstVfioFormatInfo * info,
    GError ** error)
{
  guint tile_width, tile_height;
  guint64 min_stride, rows, min_size;

  if (!gst_vfio_modifier_get_tile (plane->modifier, &tile_width,
          &tile_height))
    return reject (error, "unknown modifier 0x%016" G_GINT64_MODIFIER "x",
        plane->modifier);

  min_stride = line_pixels (plane) * info->bytes_per_pixel;
  if (plane->stride < min_stride)
    return reject (error, "stride %u is less than %" G_GUINT64_FORMAT
        " for %u pixels", plane->stride, min_stride, plane->width);
  if (plane->stride > GST_VFIO_PLANE_MAX_STRIDE)
    return reject (error, "stride %u is larger than %u", plane->stride,
        GST_VFIO_PLANE_MAX_STRIDE);
  if (plane->stride % tile_width != 0)
    return reject (error, "stride %u is not a multiple of the %u-byte tile",
        plane->stride, tile_width);

  /* Tiled layouts occupy whole tile rows. */
  rows = ((guint64) plane->height + tile_height - 1) / tile_height
      * tile_height;
  min_size = (guint64) plane->stride * rows;
  if (plane->size < min_size)
    return reject (error, "size %u is less than %" G_GUINT64_FORMAT
        " (stride %u x %" G_GUINT64_FORMAT " rows)", plane->size, min_size,
        plane->stride, rows);
  return TRUE;
}

/* A region plane lives in a device-specific region: never in a BAR, the
 * config space or the VGA window, which the guest must not make us map. */
static gboolean
validate_region (const GstVfioPlane * plane, GError ** error)
{
  if (plane->type == GST_VFIO_PLANE_TYPE_REGION
      && plane->id < VFIO_PCI_NUM_REGIONS)
    return reject (error, "region %u is a PCI region, not a display region",
        plane->id);
  return TRUE;
}

/**
 * gst_vfio_plane_validate:
 * @plane: a plane answer that is present
 * @error: the reason, in domain %GST_VFIO_ERROR, code
 *   %GST_VFIO_ERROR_REJECTED
 *
 * Checks the values of @plane on their own: size limits, a known format and
 * modifier, a stride that holds a line (and whole tiles), and a size that
 * holds every line. What backs the plane is checked by gst_vfio_plane_fits().
 *
 * Returns: %TRUE if @plane may be described and mapped.
 */
gboolean
gst_vfio_plane_validate (const GstVfioPlane * plane, GError ** error)
{
  const GstVfioFormatInfo *info;

  g_return_val_if_fail (plane != NULL, FALSE);

  if (!plane->present)
    return reject (error, "no plane");

  return validate_size (plane, error)
      && validate_region (plane, error)
      && validate_format (plane, &info, error)
      && validate_layout (plane, info, error);
}

/**
 * gst_vfio_plane_fits:
 * @plane: a validated plane
 * @backing_size: the real size of the dma-buf or region behind @plane
 * @error: the reason
 *
 * Returns: %TRUE if @backing_size holds all of @plane.
 */
gboolean
gst_vfio_plane_fits (const GstVfioPlane * plane, guint64 backing_size,
    GError ** error)
{
  if (plane->size > backing_size)
    return reject (error, "plane of %u bytes does not fit its %"
        G_GUINT64_FORMAT "-byte buffer", plane->size, backing_size);
  return TRUE;
}

/**
 * gst_vfio_plane_same_layout:
 *
 * Returns: %TRUE if @a and @b are described by the same caps and video meta,
 * whatever buffer they show.
 */
gboolean
gst_vfio_plane_same_layout (const GstVfioPlane * a, const GstVfioPlane * b)
{
  return a->present == b->present && a->type == b->type
      && a->fourcc == b->fourcc && a->modifier == b->modifier
      && a->width == b->width && a->height == b->height
      && a->stride == b->stride;
}
