/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

gboolean gst_vfio_copy_is_needed (GstQuery * query,
    const GstVideoInfo * plane_info);

gboolean gst_vfio_copy_decide_allocation (GstQuery * query,
    const GstVideoInfo * plane_info, gboolean copy);

GstFlowReturn gst_vfio_copy_frame (GstBufferPool * pool, GstBuffer * source,
    const GstVideoInfo * plane_info, GstBuffer ** copy, gsize * copied);

G_END_DECLS
