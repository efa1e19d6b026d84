/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

gboolean gst_vfio_copy_is_needed (GstQuery * query,
    const GstVideoInfo * plane_info);

gboolean gst_vfio_copy_decide_allocation (GstQuery * query,
    const GstVideoInfo * plane_info, gboolean copy);

/* Which step of gst_vfio_copy_frame() failed. */
typedef enum
{
  GST_VFIO_COPY_FAILED_NONE,
  GST_VFIO_COPY_FAILED_LAYOUT,  /* no default layout for the format */
  GST_VFIO_COPY_FAILED_ACQUIRE, /* the pool gave no buffer */
  GST_VFIO_COPY_FAILED_MAP_SOURCE,      /* the frame cannot be read */
  GST_VFIO_COPY_FAILED_MAP_COPY,        /* the copy cannot be written */
} GstVfioCopyFailure;

GstFlowReturn gst_vfio_copy_frame (GstBufferPool * pool, GstBuffer * source,
    const GstVideoInfo * plane_info, GstBuffer ** copy, gsize * copied,
    GstVfioCopyFailure * failure);

G_END_DECLS
