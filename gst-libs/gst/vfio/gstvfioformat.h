/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfioplane.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstVfioFormatInfo:
 * @fourcc: DRM fourcc
 * @bytes_per_pixel: bytes per pixel (2 for the packed 4:2:2 formats)
 * @format: the linear system-memory #GstVideoFormat, or
 *   %GST_VIDEO_FORMAT_UNKNOWN where GStreamer has none
 */
typedef struct
{
  guint32 fourcc;
  guint bytes_per_pixel;
  GstVideoFormat format;
} GstVfioFormatInfo;

GST_VFIO_API
const GstVfioFormatInfo *gst_vfio_format_lookup (guint32 fourcc);

GST_VFIO_API
gboolean gst_vfio_modifier_get_tile (guint64 modifier, guint * tile_width,
    guint * tile_height);

GST_VFIO_API
gboolean gst_vfio_plane_to_dma_drm_info (const GstVfioPlane * plane,
    GstVideoInfoDmaDrm * drm_info);

GST_VFIO_API
gboolean gst_vfio_plane_to_video_info (const GstVfioPlane * plane,
    GstVideoInfo * info);

GST_VFIO_API
GstCaps *gst_vfio_plane_get_caps (const GstVfioPlane * plane);

G_END_DECLS
