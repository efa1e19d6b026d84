/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc's pixels in every layout: each format of the table that the
 * emulated mdev can show, at GStreamer's default stride and at a padded one
 * (as real GPUs pitch their scan-out), read pixel by pixel as a peer with
 * GstVideoMeta support reads them (the meta's stride and offset) and as one
 * without reads them (the layout the caps imply).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/allocators/allocators.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "srccheck.h"
#include <gst/vfio/vfio.h>
#include "vfioemu.h"

#define UUID "3c1f0e2d-5b4a-4c7d-9e8f-0a1b2c3d4e5f"
#define GROUP 44
#define HEIGHT 48

typedef struct
{
  guint32 fourcc;
  const gchar *format;          /* system-memory name, NULL: DMA_DRM only */
  guint bpp;
} Format;

static const Format formats[] = {
  {DRM_FORMAT_XRGB8888, "BGRx", 4},
  {DRM_FORMAT_ARGB8888, "BGRA", 4},
  {DRM_FORMAT_XBGR8888, "RGBx", 4},
  {DRM_FORMAT_ABGR8888, "RGBA", 4},
  {DRM_FORMAT_RGB565, "RGB16", 2},
  {DRM_FORMAT_YUYV, "YUY2", 2},
  {DRM_FORMAT_UYVY, "UYVY", 2},
  {DRM_FORMAT_YVYU, "YVYU", 2},
  {DRM_FORMAT_VYUY, "VYUY", 2},
  {DRM_FORMAT_XRGB2101010, NULL, 4},
  {DRM_FORMAT_XBGR2101010, NULL, 4},
};

typedef struct
{
  guint width;
  guint pad;                    /* pixels of padding per line */
} Layout;

/* 64 px: default stride everywhere; 64 + 24 px: padded; 63 px RGB16:
 * 126-byte lines where GStreamer's default rounds to 128; 63 px 4:2:2:
 * too short a line for the last pixel pair (refused), and padded. */
static const Layout layouts[] = {
  {64, 0},
  {64, 24},
  {63, 0},
  {63, 9},
};

static VfioEmuDevice *dev;

static void
setup (void)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
}

static void
teardown (void)
{
  vfio_emu_reset ();
  /* The device files the test's fds kept open: closed now. */
  gst_vfio_device_close_unused ();
  dev = NULL;
}

static guint32
expected_pixel (guint32 id, guint x, guint y, guint bpp)
{
  guint32 value = vfio_emu_pixel (id, x, y);

  return bpp == 2 ? (value & 0xffff) : value;
}

static guint32
read_pixel (const guint8 * data, gsize offset, gint stride, guint x, guint y,
    guint bpp)
{
  guint32 value = 0;
  guint16 v16;

  if (bpp == 2) {
    memcpy (&v16, data + offset + (gsize) y * stride + x * 2, 2);
    value = v16;
  } else {
    memcpy (&value, data + offset + (gsize) y * stride + x * 4, 4);
  }
  return value;
}

/* Every pixel, in the layout a peer with (@use_meta) or without GstVideoMeta
 * support takes the buffer to have. */
static void
check_pixels (GstBuffer * buf, GstCaps * caps, const Format * f, guint width,
    guint32 id, gboolean use_meta)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  GstVideoInfo info;
  GstMapInfo map;
  gsize offset;
  gint stride;

  if (use_meta) {
    fail_unless (meta != NULL, "no GstVideoMeta");
    offset = meta->offset[0];
    stride = meta->stride[0];
  } else {
    fail_unless (gst_video_info_from_caps (&info, caps));
    offset = GST_VIDEO_INFO_PLANE_OFFSET (&info, 0);
    stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
    fail_unless (gst_buffer_get_size (buf) >= GST_VIDEO_INFO_SIZE (&info),
        "%" G_GSIZE_FORMAT " bytes, caps say %" G_GSIZE_FORMAT,
        gst_buffer_get_size (buf), GST_VIDEO_INFO_SIZE (&info));
    /* A meta left on the buffer must say the same. */
    if (meta) {
      fail_unless_equals_int (meta->stride[0], stride);
      fail_unless_equals_int (meta->offset[0], offset);
    }
  }

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (guint y = 0; y < HEIGHT; y++) {
    for (guint x = 0; x < width; x++) {
      guint32 got = read_pixel (map.data, offset, stride, x, y, f->bpp);
      guint32 want = expected_pixel (id, x, y, f->bpp);

      if (got != want) {
        gst_buffer_unmap (buf, &map);
        fail ("%s %ux%u stride %d: pixel (%u, %u) is 0x%08x, not 0x%08x",
            f->format ? f->format : "DMA_DRM", width, HEIGHT, stride, x, y,
            got, want);
      }
    }
  }
  gst_buffer_unmap (buf, &map);
}

static void
run_case (const Format * f, const Layout * l, gboolean meta)
{
  guint stride = (l->width + l->pad) * f->bpp;
  g_autofree gchar *sink_caps = f->format ?
      g_strdup_printf ("video/x-raw, format=%s, framerate=1000/1", f->format)
      : g_strdup ("video/x-raw(memory:DMABuf), framerate=1000/1");
  GstHarness *h;
  GstBuffer *buf;
  GstCaps *caps;
  GstVideoInfo def;
  gboolean padded;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_mode (dev, f->fourcc, DRM_FORMAT_MOD_LINEAR, l->width, HEIGHT,
      stride);

  h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (h->element, "device", UUID, NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, sink_caps);
  if (meta)
    gst_harness_add_propose_allocation_meta (h, GST_VIDEO_META_API_TYPE,
        NULL);
  gst_harness_play (h);

  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  caps = gst_pad_get_current_caps (h->sinkpad);
  GST_INFO ("%s %u+%u meta %d: %" GST_PTR_FORMAT, f->format, l->width,
      l->pad, meta, caps);
  check_pixels (buf, caps, f, l->width, vfio_emu_current_id (dev),
      meta || !f->format);

  if (f->format) {
    fail_unless (gst_video_info_set_format (&def,
            gst_video_format_from_string (f->format), l->width, HEIGHT));
    padded = (guint) GST_VIDEO_INFO_PLANE_STRIDE (&def, 0) != stride;
    /* Copied exactly when a peer without meta support gets a padded
     * layout; zero copy otherwise. */
    if (padded && !meta)
      fail_unless (stat_of (h->element, "bytes-copied") >=
          (guint64) l->width * f->bpp * HEIGHT);
    else
      fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"), 0);
    fail_unless_equals_int (gst_is_dmabuf_memory (gst_buffer_peek_memory (buf,
                0)), !(padded && !meta));
  }

  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

/* 4:2:2 pixels come in pairs (Y0 U Y1 V): a line of an odd width ends
 * with a whole pair, so 63 pixels take 128 bytes. */
static gboolean
is_packed_422 (const Format * f)
{
  return f->bpp == 2 && f->fourcc != DRM_FORMAT_RGB565;
}

/* A plane whose lines cannot hold that last pair is refused, with the
 * reason, and nothing is pushed; the stream is not failed. */
static void
run_refused_case (const Format * f, const Layout * l)
{
  guint stride = (l->width + l->pad) * f->bpp;
  g_autofree gchar *sink_caps = g_strdup_printf ("video/x-raw, format=%s, "
      "framerate=1000/1", f->format);
  g_autofree gchar *reason = g_strdup_printf ("stride %u is less than %u "
      "for %u pixels", stride, GST_ROUND_UP_2 (l->width) * f->bpp, l->width);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_mode (dev, f->fourcc, DRM_FORMAT_MOD_LINEAR, l->width, HEIGHT,
      stride);
  h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (h->element, "device", UUID, NULL);
  gst_element_set_bus (h->element, bus);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, sink_caps);
  gst_harness_play (h);

  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no warning", f->format);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_WARNING);
  gst_message_parse_warning (msg, &error, &debug);
  fail_unless (strstr (error->message, "cannot be captured") != NULL, "%s",
      error->message);
  fail_unless (strstr (debug, reason) != NULL, "%s: '%s', not '%s'",
      f->format, debug, reason);
  fail_unless (stat_of (h->element, "rejected-planes") > 0);
  fail_unless_equals_uint64 (stat_of (h->element, "frames"), 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);

  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

GST_START_TEST (test_formats_and_strides)
{
  const Format *f = &formats[__i__ / (2 * G_N_ELEMENTS (layouts))];
  const Layout *l = &layouts[(__i__ / 2) % G_N_ELEMENTS (layouts)];
  gboolean meta = __i__ % 2;

  if (is_packed_422 (f)
      && (l->width + l->pad) < GST_ROUND_UP_2 (l->width))
    run_refused_case (f, l);
  else
    run_case (f, l, meta);
}

GST_END_TEST;

/* Copying is announced once, with what to do about it. */
GST_START_TEST (test_copy_announced_once)
{
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  guint infos = 0;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 704 * 4);
  h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (h->element, "device", UUID, NULL);
  gst_element_set_bus (h->element, bus);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw, format=BGRx, "
      "framerate=1000/1");
  gst_harness_play (h);
  for (gint i = 0; i < 10; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    fail_unless_equals_int (gst_buffer_get_size (buf), 640 * 480 * 4);
    gst_buffer_unref (buf);
  }
  /* Both stats of a stopped stream: while it runs, a frame can be copied
   * between reading one and the other. */
  gst_element_set_state (h->element, GST_STATE_READY);
  fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"),
      stat_of (h->element, "frames") * 640 * 480 * 4);

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_INFO))) {
    GError *error = NULL;
    gst_message_parse_info (msg, &error, NULL);
    fail_unless (strstr (error->message, "copied") != NULL, "%s",
        error->message);
    fail_unless (strstr (error->message, "GstVideoMeta") != NULL, "%s",
        error->message);
    g_error_free (error);
    gst_message_unref (msg);
    infos++;
  }
  fail_unless_equals_int (infos, 1);

  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

GST_END_TEST;

/* An allocator that never has memory. */
typedef GstAllocator FailingAllocator;
typedef GstAllocatorClass FailingAllocatorClass;
static GType failing_allocator_get_type (void);
G_DEFINE_TYPE (FailingAllocator, failing_allocator, GST_TYPE_ALLOCATOR);

static GstMemory *
failing_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  return NULL;
}

static void
failing_free (GstAllocator * allocator, GstMemory * memory)
{
}

static void
failing_allocator_class_init (FailingAllocatorClass * klass)
{
  klass->alloc = failing_alloc;
  klass->free = failing_free;
}

static void
failing_allocator_init (FailingAllocator * allocator)
{
}

/* A copy that gets no buffer to copy into says so, not that the guest
 * framebuffer cannot be mapped: it can. */
GST_START_TEST (test_copy_without_buffer_says_so)
{
  GstAllocator *allocator = g_object_new (failing_allocator_get_type (),
      NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  GstMessage *msg;
  GError *error = NULL;

  gst_object_ref_sink (allocator);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 704 * 4);
  h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (h->element, "device", UUID, NULL);
  gst_element_set_bus (h->element, bus);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw, format=BGRx, "
      "framerate=1000/1");
  gst_harness_set_propose_allocator (h, gst_object_ref (allocator), NULL);
  /* Not gst_harness_play (): the error may come before the state change
   * returns, which then fails, and that is not what is tested here. */
  gst_element_set_state (h->element, GST_STATE_PLAYING);

  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error");
  gst_message_parse_error (msg, &error, NULL);
  fail_if (strstr (error->message, "cannot be mapped") != NULL, "%s",
      error->message);
  fail_unless (strstr (error->message, "no buffer") != NULL, "%s",
      error->message);
  fail_unless_equals_uint64 (stat_of (h->element, "frames"), 0);
  g_error_free (error);
  gst_message_unref (msg);

  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (allocator);
}

GST_END_TEST;

static Suite *
layouts_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-layouts");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_formats_and_strides, 0,
      G_N_ELEMENTS (formats) * G_N_ELEMENTS (layouts) * 2);
  tcase_add_test (tc, test_copy_announced_once);
  tcase_add_test (tc, test_copy_without_buffer_says_so);
  return s;
}

GST_CHECK_MAIN (layouts);
