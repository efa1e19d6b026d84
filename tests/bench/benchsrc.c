/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The alternatives vfiogfxsrc is measured against, as one bench-only push
 * source. Each pushes what vfiogfxsrc pushes (a buffer with a GstVideoMeta,
 * PTS and duration) and differs only in where the memory comes from:
 *
 *  - floor: a memory made once, pushed again in a new buffer every frame;
 *    no device, no clock wait. What GStreamer itself costs per frame.
 *  - floor-paced: the same after one wait on the pipeline clock per frame,
 *    as every live source that paces itself on the clock does (basesrc's
 *    own sync included): what pacing costs in GStreamer.
 *  - reexport: what kmsgrab-style grabbers do, one QUERY_GFX_PLANE, one
 *    GET_GFX_DMABUF (a new fd) and a new GstDmaBufMemory per frame; the
 *    allocator closes the fd when the buffer is freed. Emulated devices
 *    only: mbochs breaks when an id is exported again (FACTS.md).
 *  - copy: one QUERY_GFX_PLANE, then the framebuffer (exported once per id,
 *    mapped) copied into a buffer from a GstVideoBufferPool.
 *
 * floor-paced, reexport and copy wait on the pipeline clock once per frame
 * like the element, so that only the memory path differs.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <errno.h>
#include <gst/allocators/allocators.h>
#include <gst/video/video.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAME_DURATION (GST_SECOND / 1000)

enum
{
  PROP_0,
  PROP_STATS,
};

struct _BenchSrc
{
  GstPushSrc parent;

  BenchSrcVariant variant;
  gint device_fd;
  guint width;
  guint height;
  guint stride;

  /* under the object lock */
  guint64 queries;
  guint64 exports;
  guint64 frames;
  guint64 bytes_copied;

  /* streaming thread */
  GstAllocator *allocator;
  GstMemory *floor_memory;
  GHashTable *memories;         /* copy: dmabuf_id -> GstMemory */
  GstBufferPool *pool;
  GstVideoFormat format;
};

G_DEFINE_TYPE (BenchSrc, bench_src, GST_TYPE_PUSH_SRC);

/* *INDENT-OFF* */
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (
        "video/x-raw(" GST_CAPS_FEATURE_MEMORY_DMABUF "), "
        "format = (string) DMA_DRM; video/x-raw, format = (string) BGRx"));
/* *INDENT-ON* */

#define STATS_ADD(self, field, n) G_STMT_START { \
  GST_OBJECT_LOCK (self); \
  (self)->field += (n); \
  GST_OBJECT_UNLOCK (self); \
} G_STMT_END

/* ---- the device ---- */

static gboolean
query_plane (BenchSrc * self, struct vfio_device_gfx_plane_info *plane)
{
  memset (plane, 0, sizeof (*plane));
  plane->argsz = sizeof (*plane);
  plane->flags = VFIO_GFX_PLANE_TYPE_DMABUF;
  plane->drm_plane_type = 1;    /* primary */
  STATS_ADD (self, queries, 1);
  if (ioctl (self->device_fd, VFIO_DEVICE_QUERY_GFX_PLANE, plane) < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot query the plane."),
        ("QUERY_GFX_PLANE: %s", g_strerror (errno)));
    return FALSE;
  }
  if (plane->width == 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("The display is off."), (NULL));
    return FALSE;
  }
  return TRUE;
}

static GstMemory *
export_memory (BenchSrc * self, const struct vfio_device_gfx_plane_info *pl)
{
  guint32 id = pl->dmabuf_id;
  gint fd = ioctl (self->device_fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);

  if (fd < 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Export failed."),
        ("GET_GFX_DMABUF %u: %s", id, g_strerror (errno)));
    return NULL;
  }
  STATS_ADD (self, exports, 1);
  /* The allocator owns the fd and closes it with the memory. */
  return gst_dmabuf_allocator_alloc (self->allocator, fd, pl->size);
}

/* ---- per frame ---- */

static GstBuffer *
wrap_memory (BenchSrc * self, GstMemory * memory, GstClockTime pts)
{
  GstBuffer *buffer = gst_buffer_new ();
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0, };
  gint stride[GST_VIDEO_MAX_PLANES] = { (gint) self->stride, };

  gst_buffer_append_memory (buffer, memory);
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
      self->format, self->width, self->height, 1, offset, stride);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = FRAME_DURATION;
  return buffer;
}

/* One wait on the pipeline clock, as the element's ticker does. */
static GstClockTime
pace (BenchSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
  GstClockTime now;
  GstClockID id;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  id = gst_clock_new_single_shot_id (clock, now);
  gst_clock_id_wait (id, NULL);
  gst_clock_id_unref (id);
  gst_object_unref (clock);
  return now > base ? now - base : 0;
}

static GstMemory *
cached_memory (BenchSrc * self, const struct vfio_device_gfx_plane_info *pl)
{
  GstMemory *memory = g_hash_table_lookup (self->memories,
      GUINT_TO_POINTER (pl->dmabuf_id));

  if (!memory) {
    memory = export_memory (self, pl);
    if (memory)
      g_hash_table_insert (self->memories, GUINT_TO_POINTER (pl->dmabuf_id),
          memory);
  }
  return memory;
}

static void
copy_rows (guint8 * dst, gint dst_stride, const guint8 * src,
    guint src_stride, guint row_bytes, guint height)
{
  if (dst_stride == (gint) src_stride) {
    memcpy (dst, src, (gsize) src_stride * height);
    return;
  }
  for (guint y = 0; y < height; y++)
    memcpy (dst + (gsize) y * dst_stride, src + (gsize) y * src_stride,
        row_bytes);
}

static GstFlowReturn
copy_frame (BenchSrc * self, const struct vfio_device_gfx_plane_info *pl,
    GstBuffer ** buffer)
{
  GstMemory *memory = cached_memory (self, pl);
  GstVideoMeta *meta;
  GstMapInfo in, out;
  GstFlowReturn ret;

  if (!memory)
    return GST_FLOW_ERROR;
  ret = gst_buffer_pool_acquire_buffer (self->pool, buffer, NULL);
  if (ret != GST_FLOW_OK)
    return ret;
  if (!gst_memory_map (memory, &in, GST_MAP_READ))
    goto map_failed;
  gst_buffer_map (*buffer, &out, GST_MAP_WRITE);
  meta = gst_buffer_get_video_meta (*buffer);
  copy_rows (out.data, meta->stride[0], in.data, pl->stride, pl->width * 4,
      pl->height);
  gst_buffer_unmap (*buffer, &out);
  gst_memory_unmap (memory, &in);
  STATS_ADD (self, bytes_copied, (guint64) pl->width * 4 * pl->height);
  return GST_FLOW_OK;

map_failed:
  gst_clear_buffer (buffer);
  GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot map the framebuffer."),
      (NULL));
  return GST_FLOW_ERROR;
}

static GstFlowReturn
bench_src_create (GstPushSrc * psrc, GstBuffer ** buffer)
{
  BenchSrc *self = BENCH_SRC (psrc);
  struct vfio_device_gfx_plane_info plane;
  GstClockTime pts;
  GstMemory *memory;
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->variant == BENCH_SRC_FLOOR) {
    *buffer = wrap_memory (self, gst_memory_ref (self->floor_memory),
        self->frames * FRAME_DURATION);
    STATS_ADD (self, frames, 1);
    return GST_FLOW_OK;
  }

  pts = pace (self);
  if (self->variant == BENCH_SRC_FLOOR_PACED) {
    *buffer = wrap_memory (self, gst_memory_ref (self->floor_memory), pts);
    STATS_ADD (self, frames, 1);
    return GST_FLOW_OK;
  }

  if (!query_plane (self, &plane))
    return GST_FLOW_ERROR;
  if (self->variant == BENCH_SRC_REEXPORT) {
    memory = export_memory (self, &plane);
    if (!memory)
      return GST_FLOW_ERROR;
    *buffer = wrap_memory (self, memory, pts);
  } else {
    ret = copy_frame (self, &plane, buffer);
    if (ret == GST_FLOW_OK) {
      GST_BUFFER_PTS (*buffer) = pts;
      GST_BUFFER_DURATION (*buffer) = FRAME_DURATION;
    }
  }
  if (ret == GST_FLOW_OK)
    STATS_ADD (self, frames, 1);
  return ret;
}

/* ---- GstBaseSrc ---- */

/* floor: a dma-buf of our own (a memfd), never the device's. */
static gboolean
make_floor_memory (BenchSrc * self)
{
  gsize size = (gsize) self->stride * self->height;
  gint fd = memfd_create ("bench-floor", MFD_CLOEXEC);

  if (fd < 0 || ftruncate (fd, size) < 0) {
    if (fd >= 0)
      close (fd);
    return FALSE;
  }
  self->floor_memory = gst_dmabuf_allocator_alloc (self->allocator, fd, size);
  return TRUE;
}

static gboolean
bench_src_start (GstBaseSrc * bsrc)
{
  BenchSrc *self = BENCH_SRC (bsrc);
  struct vfio_device_gfx_plane_info plane;

  self->allocator = gst_dmabuf_allocator_new ();
  self->memories = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) gst_memory_unref);
  if (self->variant == BENCH_SRC_FLOOR
      || self->variant == BENCH_SRC_FLOOR_PACED) {
    self->stride = self->width * 4;
    return make_floor_memory (self);
  }
  if (!query_plane (self, &plane))
    return FALSE;
  self->width = plane.width;
  self->height = plane.height;
  self->stride = plane.stride;
  return TRUE;
}

static gboolean
bench_src_stop (GstBaseSrc * bsrc)
{
  BenchSrc *self = BENCH_SRC (bsrc);

  if (self->pool)
    gst_buffer_pool_set_active (self->pool, FALSE);
  gst_clear_object (&self->pool);
  gst_clear_mini_object ((GstMiniObject **) & self->floor_memory);
  g_clear_pointer (&self->memories, g_hash_table_unref);
  gst_clear_object (&self->allocator);
  return TRUE;
}

static GstBufferPool *
make_pool (GstCaps * caps, guint size)
{
  GstBufferPool *pool = gst_video_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);

  gst_buffer_pool_config_set_params (config, caps, size, 4, 0);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE))
    gst_clear_object (&pool);
  return pool;
}

static gboolean
bench_src_negotiate (GstBaseSrc * bsrc)
{
  BenchSrc *self = BENCH_SRC (bsrc);
  g_autoptr (GstCaps) caps = NULL;
  g_autofree gchar *str = NULL;
  gboolean copy = self->variant == BENCH_SRC_COPY;

  str = g_strdup_printf ("video/x-raw%s, format=%s, %swidth=%u, height=%u, "
      "framerate=1000/1", copy ? "" : "(memory:DMABuf)",
      copy ? "BGRx" : "DMA_DRM", copy ? "" : "drm-format=XR24, ",
      self->width, self->height);
  caps = gst_caps_from_string (str);
  self->format = copy ? GST_VIDEO_FORMAT_BGRx : GST_VIDEO_FORMAT_DMA_DRM;
  if (copy && !self->pool)
    self->pool = make_pool (caps, self->width * 4 * self->height);
  if (copy && !self->pool)
    return FALSE;
  return gst_base_src_set_caps (bsrc, caps);
}

/* ---- GObject ---- */

static void
bench_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  BenchSrc *self = BENCH_SRC (object);
  GstStructure *s;

  if (prop_id != PROP_STATS) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("bench-src-stats",
      "queries", G_TYPE_UINT64, self->queries,
      "exports", G_TYPE_UINT64, self->exports,
      "frames", G_TYPE_UINT64, self->frames,
      "bytes-copied", G_TYPE_UINT64, self->bytes_copied, NULL);
  GST_OBJECT_UNLOCK (self);
  g_value_take_boxed (value, s);
}

static void
bench_src_class_init (BenchSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);

  gobject_class->get_property = bench_src_get_property;
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Counters since start",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Bench source",
      "Source/Video", "The naive alternatives of the benchmarks",
      "vfiogfxsrc developers");

  basesrc_class->start = bench_src_start;
  basesrc_class->stop = bench_src_stop;
  basesrc_class->negotiate = bench_src_negotiate;
  GST_PUSH_SRC_CLASS (klass)->create = bench_src_create;
}

static void
bench_src_init (BenchSrc * self)
{
  self->device_fd = -1;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

GstElement *
bench_src_new (BenchSrcVariant variant, gint device_fd, guint width,
    guint height)
{
  BenchSrc *self = g_object_new (BENCH_TYPE_SRC, NULL);

  self->variant = variant;
  self->device_fd = device_fd;
  self->width = width;
  self->height = height;
  return GST_ELEMENT (self);
}
