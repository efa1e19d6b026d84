/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DRM fourcc and modifier to GStreamer video formats and caps.
 *
 * The table holds what the VFIO display exporters produce: GVT-g's primary
 * formats (drivers/gpu/drm/i915/gvt/fb_decoder.c) and the samples' XR24.
 * Names and linear system-memory formats come from GStreamer's own
 * gst_video_dma_drm_* helpers, so caps are spelled exactly as GStreamer
 * parses them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioformat.h"

#include <drm_fourcc.h>

static const GstVfioFormatInfo formats[] = {
  {DRM_FORMAT_XRGB8888, 4, GST_VIDEO_FORMAT_BGRx},
  {DRM_FORMAT_ARGB8888, 4, GST_VIDEO_FORMAT_BGRA},
  {DRM_FORMAT_XBGR8888, 4, GST_VIDEO_FORMAT_RGBx},
  {DRM_FORMAT_ABGR8888, 4, GST_VIDEO_FORMAT_RGBA},
  /* GStreamer has no system-memory name for these two before 1.28. */
  {DRM_FORMAT_XRGB2101010, 4, GST_VIDEO_FORMAT_UNKNOWN},
  {DRM_FORMAT_XBGR2101010, 4, GST_VIDEO_FORMAT_UNKNOWN},
  {DRM_FORMAT_RGB565, 2, GST_VIDEO_FORMAT_RGB16},
  {DRM_FORMAT_YUYV, 2, GST_VIDEO_FORMAT_YUY2},
  {DRM_FORMAT_UYVY, 2, GST_VIDEO_FORMAT_UYVY},
  {DRM_FORMAT_YVYU, 2, GST_VIDEO_FORMAT_YVYU},
  {DRM_FORMAT_VYUY, 2, GST_VIDEO_FORMAT_VYUY},
};

/**
 * gst_vfio_format_lookup:
 * @fourcc: a DRM fourcc
 *
 * Returns: (nullable): what we know of @fourcc, or %NULL for formats we
 * cannot express (C8, whose palette the uAPI does not carry) or do not know.
 */
const GstVfioFormatInfo *
gst_vfio_format_lookup (guint32 fourcc)
{
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    if (formats[i].fourcc == fourcc)
      return &formats[i];
  }
  return NULL;
}

/**
 * gst_vfio_modifier_get_tile:
 * @modifier: a DRM format modifier
 * @tile_width: (out): bytes per tile row (1 for linear)
 * @tile_height: (out): rows per tile (1 for linear)
 *
 * Tile sizes for 16 and 32 bit pixels, the only sizes in the table.
 *
 * Returns: %FALSE for modifiers we do not know.
 */
gboolean
gst_vfio_modifier_get_tile (guint64 modifier, guint * tile_width,
    guint * tile_height)
{
  switch (modifier) {
    case DRM_FORMAT_MOD_LINEAR:
      *tile_width = 1;
      *tile_height = 1;
      return TRUE;
    case I915_FORMAT_MOD_X_TILED:
      *tile_width = 512;
      *tile_height = 8;
      return TRUE;
    case I915_FORMAT_MOD_Y_TILED:
    case I915_FORMAT_MOD_Yf_TILED:
      *tile_width = 128;
      *tile_height = 32;
      return TRUE;
    default:
      return FALSE;
  }
}

/**
 * gst_vfio_plane_to_dma_drm_info:
 * @plane: a validated plane
 * @drm_info: (out caller-allocates): DMA_DRM video info for @plane
 *
 * Returns: %FALSE if @plane cannot be described.
 */
gboolean
gst_vfio_plane_to_dma_drm_info (const GstVfioPlane * plane,
    GstVideoInfoDmaDrm * drm_info)
{
  GstVideoInfo *vinfo = &drm_info->vinfo;

  if (!plane->present || !gst_vfio_format_lookup (plane->fourcc))
    return FALSE;

  gst_video_info_dma_drm_init (drm_info);
  if (!gst_video_info_set_format (vinfo, GST_VIDEO_FORMAT_DMA_DRM,
          plane->width, plane->height))
    return FALSE;

  drm_info->drm_fourcc = plane->fourcc;
  drm_info->drm_modifier = plane->modifier;
  vinfo->stride[0] = plane->stride;
  vinfo->offset[0] = 0;
  vinfo->size = plane->size;
  return TRUE;
}

/**
 * gst_vfio_plane_to_video_info:
 * @plane: a validated plane
 * @info: (out caller-allocates): system-memory video info for @plane
 *
 * Only linear layouts of formats GStreamer names have a system-memory form.
 *
 * Returns: %FALSE when @plane has none.
 */
gboolean
gst_vfio_plane_to_video_info (const GstVfioPlane * plane, GstVideoInfo * info)
{
  const GstVfioFormatInfo *format = gst_vfio_format_lookup (plane->fourcc);

  if (!plane->present || !format || format->format == GST_VIDEO_FORMAT_UNKNOWN
      || plane->modifier != DRM_FORMAT_MOD_LINEAR)
    return FALSE;

  if (!gst_video_info_set_format (info, format->format, plane->width,
          plane->height))
    return FALSE;

  info->stride[0] = plane->stride;
  info->offset[0] = 0;
  info->size = (gsize) plane->stride * plane->height;
  return TRUE;
}

/**
 * gst_vfio_plane_get_caps:
 * @plane: a validated plane
 *
 * The caps @plane can be pushed with, best first: DMABuf memory with the
 * DMA_DRM format (dma-buf planes only), then system memory where the layout
 * allows it. No framerate is set.
 *
 * Returns: (transfer full) (nullable): the caps, %NULL if none fit.
 */
GstCaps *
gst_vfio_plane_get_caps (const GstVfioPlane * plane)
{
  GstCaps *caps = gst_caps_new_empty ();
  GstVideoInfoDmaDrm drm_info;
  GstVideoInfo info;

  if (plane->type == GST_VFIO_PLANE_TYPE_DMABUF
      && gst_vfio_plane_to_dma_drm_info (plane, &drm_info)) {
    GstCaps *drm_caps = gst_video_info_dma_drm_to_caps (&drm_info);
    if (drm_caps)
      gst_caps_append (caps, drm_caps);
  }

  if (gst_vfio_plane_to_video_info (plane, &info))
    gst_caps_append (caps, gst_video_info_to_caps (&info));

  if (gst_caps_is_empty (caps)) {
    gst_caps_unref (caps);
    return NULL;
  }

  /* The rate is the element's business, not the plane's. */
  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    gst_structure_remove_field (gst_caps_get_structure (caps, i), "framerate");
  return caps;
}
