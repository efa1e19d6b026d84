/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one copy vfiogfxsrc makes: a guest framebuffer whose layout is not
 * GStreamer's default (a padded stride, as real GPUs pitch their scan-out)
 * going to a peer that cannot read GstVideoMeta. Such a peer would take the
 * padding for pixels, so the frame is copied into a default-layout buffer
 * from a pool; every other case is zero copy and activates no pool.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiocopy.h"

GST_DEBUG_CATEGORY_STATIC (gst_vfio_copy_debug);
#define GST_CAT_DEFAULT gst_vfio_copy_debug

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_copy_debug, "vfiogfxsrccopy", 0,
        "vfiogfxsrc copies into the default layout");
    g_once_init_leave (&done, 1);
  }
}

/* GStreamer's layout for the format and size of @plane_info. */
static gboolean
default_layout (const GstVideoInfo * plane_info, GstVideoInfo * info)
{
  GstVideoFormat format = GST_VIDEO_INFO_FORMAT (plane_info);

  if (format == GST_VIDEO_FORMAT_DMA_DRM || format == GST_VIDEO_FORMAT_UNKNOWN
      || format == GST_VIDEO_FORMAT_ENCODED)
    return FALSE;
  return gst_video_info_set_format (info, format,
      GST_VIDEO_INFO_WIDTH (plane_info), GST_VIDEO_INFO_HEIGHT (plane_info));
}

/**
 * gst_vfio_copy_is_needed:
 * @query: the answered allocation query
 * @plane_info: the negotiated format with the guest's stride and offset
 *
 * Returns: %TRUE when frames must be copied: system memory, a layout other
 * than the default, and no GstVideoMeta support downstream (the check
 * v4l2src makes).
 */
gboolean
gst_vfio_copy_is_needed (GstQuery * query, const GstVideoInfo * plane_info)
{
  GstVideoInfo info;

  init_debug ();
  if (!default_layout (plane_info, &info))
    return FALSE;
  if (info.stride[0] == plane_info->stride[0]
      && info.offset[0] == plane_info->offset[0])
    return FALSE;
  return !gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE,
      NULL);
}

static void
remove_pools (GstQuery * query)
{
  while (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_remove_nth_allocation_pool (query, 0);
}

/**
 * gst_vfio_copy_decide_allocation:
 * @query: the answered allocation query
 * @plane_info: as for gst_vfio_copy_is_needed()
 * @copy: what gst_vfio_copy_is_needed() said
 *
 * Leaves exactly the pool @copy needs in @query: none for zero copy, a
 * video pool of default-layout buffers otherwise. GstBaseSrc activates
 * what is left.
 *
 * Returns: %FALSE if the pool cannot be configured.
 */
gboolean
gst_vfio_copy_decide_allocation (GstQuery * query,
    const GstVideoInfo * plane_info, gboolean copy)
{
  GstBufferPool *pool;
  GstStructure *config;
  GstCaps *caps = NULL;
  GstVideoInfo info;

  init_debug ();
  remove_pools (query);
  if (!copy)
    return TRUE;

  gst_query_parse_allocation (query, &caps, NULL);
  if (!caps || !default_layout (plane_info, &info))
    return FALSE;

  pool = gst_video_buffer_pool_new ();
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, info.size, 0, 0);
  /* Memory from downstream's allocator, as GstBaseSrc's default
   * decide_allocation gives it. */
  if (gst_query_get_n_allocation_params (query) > 0) {
    GstAllocator *allocator = NULL;
    GstAllocationParams params;

    gst_query_parse_nth_allocation_param (query, 0, &allocator, &params);
    gst_buffer_pool_config_set_allocator (config, allocator, &params);
    gst_clear_object (&allocator);
  }
  if (!gst_buffer_pool_set_config (pool, config)) {
    gst_object_unref (pool);
    return FALSE;
  }
  GST_DEBUG ("copying into a pool of %" G_GSIZE_FORMAT "-byte buffers",
      info.size);
  gst_query_add_allocation_pool (query, pool, info.size, 0, 0);
  gst_object_unref (pool);
  return TRUE;
}

/**
 * gst_vfio_copy_frame:
 * @pool: the active pool from gst_vfio_copy_decide_allocation()
 * @source: the frame in the guest's layout (with its GstVideoMeta)
 * @plane_info: as for gst_vfio_copy_is_needed()
 * @copy: (out): the frame in the default layout
 * @copied: (out): bytes copied
 * @failure: (out): which step failed, %GST_VFIO_COPY_FAILED_NONE on success
 *
 * Returns: %GST_FLOW_OK; the pool's flow return when it gave no buffer;
 * %GST_FLOW_ERROR (nothing posted) when a frame cannot be mapped.
 */
GstFlowReturn
gst_vfio_copy_frame (GstBufferPool * pool, GstBuffer * source,
    const GstVideoInfo * plane_info, GstBuffer ** copy, gsize * copied,
    GstVfioCopyFailure * failure)
{
  GstVideoFrame in, out;
  GstVideoInfo info;
  GstFlowReturn ret;

  *copy = NULL;
  *copied = 0;
  *failure = GST_VFIO_COPY_FAILED_NONE;
  if (!default_layout (plane_info, &info)) {
    *failure = GST_VFIO_COPY_FAILED_LAYOUT;
    return GST_FLOW_ERROR;
  }
  ret = gst_buffer_pool_acquire_buffer (pool, copy, NULL);
  if (ret != GST_FLOW_OK) {
    GST_DEBUG ("no buffer from the pool: %s", gst_flow_get_name (ret));
    *failure = GST_VFIO_COPY_FAILED_ACQUIRE;
    return ret;
  }

  if (!gst_video_frame_map (&in, plane_info, source, GST_MAP_READ)) {
    *failure = GST_VFIO_COPY_FAILED_MAP_SOURCE;
    goto map_failed;
  }
  if (!gst_video_frame_map (&out, &info, *copy, GST_MAP_WRITE)) {
    gst_video_frame_unmap (&in);
    *failure = GST_VFIO_COPY_FAILED_MAP_COPY;
    goto map_failed;
  }
  gst_video_frame_copy (&out, &in);
  gst_video_frame_unmap (&out);
  gst_video_frame_unmap (&in);

  /* Timestamps and flags, not the metas: the source's GstVideoMeta
   * describes the guest's layout, not this one. */
  gst_buffer_copy_into (*copy, source, GST_BUFFER_COPY_FLAGS |
      GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  *copied = (gsize) GST_VIDEO_INFO_COMP_PSTRIDE (&info, 0) *
      GST_VIDEO_INFO_WIDTH (&info) * GST_VIDEO_INFO_HEIGHT (&info);
  return GST_FLOW_OK;

  /* ERRORS */
map_failed:
  {
    GST_WARNING ("could not map the %s for copying",
        *failure == GST_VFIO_COPY_FAILED_MAP_SOURCE ? "guest framebuffer" :
        "pool's buffer");
    gst_clear_buffer (copy);
    return GST_FLOW_ERROR;
  }
}
