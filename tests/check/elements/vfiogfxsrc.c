/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc against the emulated mdev: negotiation, zero copy, the one-query
 * steady state, capture modes, mode changes, display off and errors.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gst/allocators/allocators.h>
#include <gst/base/gstbasesrc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "srccheck.h"
#include <gst/vfio/vfio.h>
#include "vfioemu.h"

#define UUID "6a1e7c52-9b5d-4a53-8f4e-2d3c1b0a9e11"
#define GROUP 42
#define FAST_DMABUF "video/x-raw(memory:DMABuf), framerate=1000/1"
#define FAST_BGRX "video/x-raw, format=BGRx, framerate=1000/1"

static VfioEmuDevice *dev;

static void
setup (void)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
}

static void
teardown (void)
{
  vfio_emu_reset ();
  /* The device files the test's fds kept open: closed now. */
  gst_vfio_device_close_unused ();
  dev = NULL;
}

static GstHarness *
harness_new (const gchar * sink_caps, const gchar * mode)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");

  g_object_set (h->element, "device", UUID, NULL);
  if (mode)
    gst_util_set_object_arg (G_OBJECT (h->element), "capture-mode", mode);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, sink_caps);
  return h;
}

static gchar *
current_caps_string (GstHarness * h)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  gchar *str;

  fail_unless (caps != NULL);
  str = gst_caps_to_string (caps);
  gst_caps_unref (caps);
  return str;
}

static const gchar *
current_drm_format (GstHarness * h)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  const gchar *fmt;

  fmt = gst_structure_get_string (gst_caps_get_structure (caps, 0),
      "drm-format");
  gst_caps_unref (caps);
  return fmt ? g_intern_string (fmt) : NULL;
}

static gboolean
signal_present (GstBus * bus)
{
  GstStructure *s = wait_element_message (bus, "vfiogfxsrc-signal");
  gboolean present = FALSE;

  fail_unless (gst_structure_get_boolean (s, "present", &present));
  gst_structure_free (s);
  return present;
}

/* The error message posted by the element; NULL if none within 10 s. */
static gchar *
wait_error (GstBus * bus, GQuark * domain, gint * code)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ERROR);
  GError *error = NULL;
  gchar *text;

  if (!msg)
    return NULL;
  gst_message_parse_error (msg, &error, NULL);
  if (domain)
    *domain = error->domain;
  if (code)
    *code = error->code;
  text = g_strdup (error->message);
  g_error_free (error);
  gst_message_unref (msg);
  return text;
}

static guint32
pixel_of (GstBuffer * buffer, guint x, guint y)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);
  GstMapInfo map;
  guint32 value;

  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
  value = *(guint32 *) (map.data + meta->offset[0] + y * meta->stride[0] +
      x * 4);
  gst_buffer_unmap (buffer, &map);
  return value;
}

GST_START_TEST (test_dmabuf_caps_linear)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBuffer *buf;
  GstVideoMeta *meta;
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);

  caps = current_caps_string (h);
  GST_INFO ("caps %s", caps);
  fail_unless_equals_string (current_drm_format (h), "XR24");
  fail_unless (strstr (caps, "memory:DMABuf") != NULL);
  fail_unless (strstr (caps, "format=(string)DMA_DRM") != NULL);
  fail_unless (strstr (caps, "width=(int)640") != NULL);
  fail_unless (strstr (caps, "height=(int)480") != NULL);
  fail_unless (strstr (caps, "framerate=(fraction)1000/1") != NULL);

  fail_unless_equals_int (gst_buffer_n_memory (buf), 1);
  fail_unless (gst_is_dmabuf_memory (gst_buffer_peek_memory (buf, 0)));
  meta = gst_buffer_get_video_meta (buf);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->width, 640);
  fail_unless_equals_int (meta->height, 480);
  fail_unless_equals_int (meta->stride[0], 2560);
  fail_unless_equals_int (meta->offset[0], 0);
  fail_unless (GST_BUFFER_PTS_IS_VALID (buf));
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), GST_MSECOND);

  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

static void
check_tiled_caps (guint64 modifier, const gchar * expected)
{
  GstHarness *h;
  GstBuffer *buf;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, modifier, 640, 480, 0);
  h = harness_new (FAST_DMABUF, NULL);
  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  fail_unless_equals_string (current_drm_format (h), expected);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_START_TEST (test_dmabuf_caps_tiled)
{
  check_tiled_caps (I915_FORMAT_MOD_X_TILED, "XR24:0x0100000000000001");
  check_tiled_caps (I915_FORMAT_MOD_Y_TILED, "XR24:0x0100000000000002");
}

GST_END_TEST;

GST_START_TEST (test_sysmem_zero_copy_pixels)
{
  GstHarness *h = harness_new (FAST_BGRX, NULL);
  GstBuffer *buf;
  guint32 id;
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);

  caps = current_caps_string (h);
  fail_unless (strstr (caps, "memory:DMABuf") == NULL, "%s", caps);
  fail_unless (strstr (caps, "format=(string)BGRx") != NULL, "%s", caps);
  /* Zero copy: system memory caps, the guest's dma-buf mapped by the CPU. */
  fail_unless (gst_is_dmabuf_memory (gst_buffer_peek_memory (buf, 0)));

  id = vfio_emu_current_id (dev);
  fail_unless_equals_int (pixel_of (buf, 5, 7), vfio_emu_pixel (id, 5, 7));
  fail_unless_equals_int (pixel_of (buf, 639, 479),
      vfio_emu_pixel (id, 639, 479));
  fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"), 0);

  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_same_memory_and_one_query_per_tick)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstMemory *first_memory = NULL;
  guint64 queries, frames;
  guint probes;

  gst_harness_play (h);
  for (gint i = 0; i < 50; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMemory *mem = gst_buffer_peek_memory (buf, 0);
    if (!first_memory)
      first_memory = mem;
    fail_unless (mem == first_memory, "buffer %d has another memory", i);
    gst_buffer_unref (buf);
  }
  gst_element_set_state (h->element, GST_STATE_NULL);

  queries = stat_of (h->element, "queries");
  frames = stat_of (h->element, "frames");
  /* One query while negotiating, then exactly one per frame. */
  fail_unless_equals_uint64 (queries, frames + 1);
  fail_unless (frames >= 50);
  /* Two probes at start, then the queries. */
  probes = vfio_emu_ioctl_count (dev, VFIO_DEVICE_QUERY_GFX_PLANE) - queries;
  fail_unless_equals_int (probes, 2);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 1);
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), 1);

  gst_harness_teardown (h);
}

GST_END_TEST;

/* Pulls buffers until one shows dma-buf memory other than @old. */
static GstBuffer *
pull_until_memory_changes (GstHarness * h, GstMemory * old)
{
  for (gint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    if (gst_buffer_peek_memory (buf, 0) != old)
      return buf;
    gst_buffer_unref (buf);
  }
  fail ("memory never changed");
  return NULL;
}

GST_START_TEST (test_flip_exports_once_per_id)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBuffer *buf;
  GstMemory *a, *b;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  a = gst_buffer_peek_memory (buf, 0);
  gst_buffer_unref (buf);

  vfio_emu_flip (dev);
  buf = pull_until_memory_changes (h, a);
  b = gst_buffer_peek_memory (buf, 0);
  gst_buffer_unref (buf);

  vfio_emu_flip (dev);
  buf = pull_until_memory_changes (h, b);
  fail_unless (gst_buffer_peek_memory (buf, 0) == a,
      "the first framebuffer came back as another memory");
  gst_buffer_unref (buf);

  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 2);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_on_change_pushes_only_flips)
{
  GstHarness *h = harness_new (FAST_DMABUF, "on-change");
  GstBuffer *buf;
  guint64 queries;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  gst_buffer_unref (buf);

  /* ~100 ticks with nothing new: no buffer. */
  g_usleep (100 * 1000);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  queries = stat_of (h->element, "queries");
  fail_unless (queries > 10, "only %" G_GUINT64_FORMAT " queries", queries);

  vfio_emu_flip (dev);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  gst_buffer_unref (buf);
  g_usleep (50 * 1000);
  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless_equals_uint64 (stat_of (h->element, "frames"), 2);

  gst_harness_teardown (h);
}

GST_END_TEST;

static GstBuffer *
pull_until_width (GstHarness * h, gint width)
{
  for (gint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    if (gst_buffer_get_video_meta (buf)->width == (guint) width)
      return buf;
    gst_buffer_unref (buf);
  }
  fail ("no buffer %d wide", width);
  return NULL;
}

GST_START_TEST (test_mode_change_renegotiates)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBuffer *buf;
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  buf = pull_until_width (h, 1024);
  fail_unless_equals_int (gst_buffer_get_video_meta (buf)->height, 768);
  fail_unless_equals_int (gst_buffer_get_video_meta (buf)->stride[0], 4096);
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "width=(int)1024") != NULL, "%s", caps);
  gst_buffer_unref (buf);

  /* Back to the first mode: its memory again, no new export. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  gst_buffer_unref (pull_until_width (h, 640));
  fail_unless_equals_uint64 (stat_of (h->element, "renegotiations"), 2);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 2);

  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_waits_for_display)
{
  GstHarness *h;
  GstBus *bus;
  GstBuffer *buf;

  vfio_emu_set_blank (dev, TRUE);
  h = harness_new (FAST_DMABUF, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);

  fail_if (signal_present (bus));
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  vfio_emu_set_blank (dev, FALSE);
  fail_unless (signal_present (bus));
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  gst_buffer_unref (buf);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_display_off_mid_stream_sends_gaps)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  gboolean gap = FALSE;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  fail_unless (signal_present (bus));

  vfio_emu_set_blank (dev, TRUE);
  fail_if (signal_present (bus));
  for (gint i = 0; i < 1000 && !gap; i++) {
    GstEvent *event = gst_harness_pull_event (h);
    fail_unless (event != NULL);
    gap = GST_EVENT_TYPE (event) == GST_EVENT_GAP;
    gst_event_unref (event);
  }
  fail_unless (gap, "no GAP event while the display is off");

  vfio_emu_set_blank (dev, FALSE);
  fail_unless (signal_present (bus));
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_state_change_during_wait)
{
  GstHarness *h;
  GstBus *bus;

  vfio_emu_set_blank (dev, TRUE);
  h = harness_new (FAST_DMABUF, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  fail_if (signal_present (bus));

  /* Must return: unlock() interrupts the wait for the display. */
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Starts a bare element with @prop = @value and returns the error text. */
static gchar *
start_error (const gchar * prop, const gchar * value, GQuark * domain,
    gint * code)
{
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", NULL);
  GstBus *bus = attach_bus (src);
  gchar *text;

  if (prop)
    gst_util_set_object_arg (G_OBJECT (src), prop, value);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  text = wait_error (bus, domain, code);
  fail_unless (text != NULL, "no error message");
  GST_INFO ("error: %s", text);
  /* Ours alone: no generic "failed to start" after it. */
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL,
      "a second error after '%s'", text);

  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
  release_bus (bus);
  return text;
}

GST_START_TEST (test_error_missing_device)
{
  GQuark domain;
  gint code;
  g_autofree gchar *text = start_error ("device",
      "00000000-0000-0000-0000-000000000000", &domain, &code);

  fail_unless (domain == GST_RESOURCE_ERROR);
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_NOT_FOUND);
  fail_unless (strstr (text, "Create the mdev") != NULL, "%s", text);
}

GST_END_TEST;

GST_START_TEST (test_error_permission)
{
  GQuark domain;
  gint code;
  g_autofree gchar *text = NULL;

  vfio_emu_set_group_open_errno (GROUP, EACCES);
  text = start_error ("device", UUID, &domain, &code);
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  fail_unless (strstr (text, "/dev/vfio/42") != NULL, "%s", text);
  fail_unless (strstr (text, "udev") != NULL, "%s", text);
}

GST_END_TEST;

GST_START_TEST (test_error_busy)
{
  gint code;
  g_autofree gchar *text = NULL;

  vfio_emu_set_group_open_errno (GROUP, EBUSY);
  text = start_error ("device", UUID, NULL, &code);
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_BUSY);
  fail_unless (strstr (text, "device-fd") != NULL, "%s", text);
}

GST_END_TEST;

GST_START_TEST (test_error_no_display)
{
  gint code;
  g_autofree gchar *text = NULL;

  vfio_emu_add_mdev ("0b7e1bb4-8c57-4a8e-9e2f-5f7a6c3d2e10", 43,
      VFIO_EMU_NO_DISPLAY);
  text = start_error ("device", "0b7e1bb4-8c57-4a8e-9e2f-5f7a6c3d2e10", NULL,
      &code);
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_SETTINGS);
  fail_unless (strstr (text, "has no display") != NULL, "%s", text);
}

GST_END_TEST;

GST_START_TEST (test_error_configuration)
{
  g_autofree gchar *none = start_error (NULL, NULL, NULL, NULL);
  g_autofree gchar *garbage = start_error ("device", "not-a-device", NULL,
      NULL);
  g_autofree gchar *not_vfio = NULL;
  gint fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  g_autofree gchar *fd_str = g_strdup_printf ("%d", fd);

  fail_unless (strstr (none, "No device") != NULL, "%s", none);
  fail_unless (strstr (garbage, "neither an mdev UUID") != NULL, "%s",
      garbage);
  not_vfio = start_error ("device-fd", fd_str, NULL, NULL);
  fail_unless (strstr (not_vfio, "is not a VFIO device") != NULL, "%s",
      not_vfio);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_error_both_device_and_fd)
{
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", NULL);
  GstBus *bus = attach_bus (src);
  gint fd = vfio_emu_open_device_fd (dev);
  g_autofree gchar *text = NULL;

  g_object_set (src, "device", UUID, "device-fd", fd, NULL);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  text = wait_error (bus, NULL, NULL);
  fail_unless (text && strstr (text, "set only one") != NULL, "%s", text);

  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
  release_bus (bus);
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_adopted_fd_stays_open)
{
  gint fd = vfio_emu_open_device_fd (dev);
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBuffer *buf;

  g_object_set (h->element, "device-fd", fd, NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, FAST_DMABUF);
  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);

  fail_unless (fcntl (fd, F_GETFD) >= 0, "the adopted fd was closed");
  close (fd);
}

GST_END_TEST;

GST_START_TEST (test_unplug_mid_stream)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  g_autofree gchar *text = NULL;
  gint code;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  vfio_emu_unplug (dev);

  text = wait_error (bus, NULL, &code);
  fail_unless (text != NULL, "no error after unplug");
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_NOT_FOUND);
  fail_unless (strstr (text, "was removed") != NULL, "%s", text);

  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_unmappable_dmabuf_refuses_sysmem)
{
  GstHarness *h;
  GstBus *bus;
  g_autofree gchar *text = NULL;

  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  h = harness_new (FAST_BGRX, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);

  text = wait_error (bus, NULL, NULL);
  fail_unless (text != NULL);
  fail_unless (strstr (text, "vapostproc") != NULL, "%s", text);
  fail_unless_equals_uint64 (stat_of (h->element, "frames"), 0);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_tiled_refuses_sysmem)
{
  GstHarness *h;
  GstBus *bus;
  g_autofree gchar *text = NULL;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, I915_FORMAT_MOD_X_TILED, 640,
      480, 0);
  h = harness_new (FAST_BGRX, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);

  text = wait_error (bus, NULL, NULL);
  fail_unless (text != NULL);
  fail_unless (strstr (text, "tiled") != NULL, "%s", text);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_rejected_plane_skipped)
{
  struct vfio_device_gfx_plane_info bad = {
    .argsz = sizeof (bad),
    .drm_format = DRM_FORMAT_XRGB8888,
    .width = 640,
    .height = 480,
    .stride = 100,              /* less than a line */
    .size = 640 * 480 * 4,
    .dmabuf_id = 77,
  };
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  GstMessage *warning;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));

  vfio_emu_set_raw_plane (dev, &bad, 640 * 480 * 4);
  warning = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning for a rejected plane");
  gst_message_unref (warning);
  g_usleep (20 * 1000);
  fail_unless (stat_of (h->element, "rejected-planes") > 0);
  /* Never exported, never pushed. */
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 1);

  vfio_emu_set_raw_plane (dev, NULL, 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

GST_START_TEST (test_no_fd_leak_over_10000_frames)
{
  GstHarness *h;
  guint before = count_open_fds ();

  h = harness_new (FAST_DMABUF, NULL);
  gst_harness_play (h);
  for (gint i = 0; i < 10000; i++) {
    if (i % 100 == 0)
      vfio_emu_flip (dev);
    if (i % 2500 == 0)
      vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
          (i / 2500) % 2 ? 800 : 640, 480, 0);
    gst_buffer_unref (gst_harness_pull (h));
  }
  gst_harness_teardown (h);

  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
  fail_unless_equals_int (count_open_fds (), before);
}

GST_END_TEST;

/* No error on the bus within @ms milliseconds. */
static void
assert_no_error_for (GstBus * bus, guint ms)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, ms * GST_MSECOND,
      GST_MESSAGE_ERROR);

  if (msg) {
    GError *error = NULL;
    gst_message_parse_error (msg, &error, NULL);
    fail ("error: %s", error->message);
  }
}

/* PLAYING -> PAUSED -> PLAYING while the guest has not shown anything yet:
 * the wait for the display is interrupted, not failed. */
GST_START_TEST (test_pause_while_waiting_for_display)
{
  GstHarness *h;
  GstBus *bus;

  vfio_emu_set_blank (dev, TRUE);
  h = harness_new (FAST_DMABUF, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  fail_if (signal_present (bus));

  for (gint i = 0; i < 3; i++) {
    gst_element_set_state (h->element, GST_STATE_PAUSED);
    g_usleep (20 * 1000);
    gst_element_set_state (h->element, GST_STATE_PLAYING);
    g_usleep (20 * 1000);
  }
  assert_no_error_for (bus, 200);

  vfio_emu_set_blank (dev, FALSE);
  gst_buffer_unref (gst_harness_pull (h));
  assert_no_error_for (bus, 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* gst-launch-1.0 -e and Ctrl-C during guest boot: EOS, not an error. */
GST_START_TEST (test_eos_while_waiting_for_display)
{
  GstHarness *h;
  GstBus *bus;
  gboolean eos = FALSE;

  vfio_emu_set_blank (dev, TRUE);
  h = harness_new (FAST_DMABUF, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  fail_if (signal_present (bus));

  fail_unless (gst_element_send_event (h->element, gst_event_new_eos ()));
  for (gint i = 0; i < 10 && !eos; i++) {
    GstEvent *event = gst_harness_pull_event (h);
    fail_unless (event != NULL, "no EOS");
    eos = GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
  }
  assert_no_error_for (bus, 100);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

static GstPadProbeReturn
blank_on_caps (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CAPS)
    vfio_emu_set_blank (dev, TRUE);
  return GST_PAD_PROBE_OK;
}

/* The display goes off between negotiation and the first buffer: the GAP
 * comes after a segment, as every event that needs one. */
GST_START_TEST (test_segment_before_first_gap)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstPad *srcpad = gst_element_get_static_pad (h->element, "src");
  gboolean segment = FALSE, gap = FALSE;

  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      blank_on_caps, NULL, NULL);
  gst_object_unref (srcpad);
  gst_harness_play (h);

  for (gint i = 0; i < 100 && !gap; i++) {
    GstEvent *event = gst_harness_pull_event (h);
    fail_unless (event != NULL);
    if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
      segment = TRUE;
    if (GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
      gap = TRUE;
      fail_unless (segment, "a GAP before the first SEGMENT");
    }
    gst_event_unref (event);
  }
  fail_unless (gap, "no GAP");
  gst_harness_teardown (h);
}

GST_END_TEST;

static GstHarness *
harness_any_peer (void)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");

  g_object_set (h->element, "device", UUID, NULL);
  gst_harness_use_systemclock (h);
  return h;
}

/* fakesink, a plain appsink: linear planes whose dma-bufs the CPU can map
 * come as system memory, still zero copy. */
GST_START_TEST (test_any_peer_gets_system_memory)
{
  GstHarness *h = harness_any_peer ();
  GstBuffer *buf;
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "memory:DMABuf") == NULL, "%s", caps);
  fail_unless (strstr (caps, "format=(string)BGRx") != NULL, "%s", caps);
  fail_unless (gst_is_dmabuf_memory (gst_buffer_peek_memory (buf, 0)));
  fail_unless_equals_int (pixel_of (buf, 9, 4),
      vfio_emu_pixel (vfio_emu_current_id (dev), 9, 4));
  fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"), 0);
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), 1);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Stock mbochs, GVT-g: their dma-bufs cannot be mapped, so a peer that
 * accepts anything gets DMA_DRM rather than an error. */
GST_START_TEST (test_any_peer_unmappable_gets_dmabuf)
{
  GstHarness *h;
  GstBus *bus;
  GstBuffer *buf;

  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  h = harness_any_peer ();
  bus = attach_bus (h->element);
  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless_equals_string (current_drm_format (h), "XR24");
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), 1);
  assert_no_error_for (bus, 0);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Region planes (mdpy, NVIDIA) are always mappable. */
GST_START_TEST (test_any_peer_region_gets_system_memory)
{
  GstHarness *h;
  GstBuffer *buf;
  g_autofree gchar *caps = NULL;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_REGION);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  h = harness_any_peer ();
  gst_harness_play (h);
  buf = gst_harness_pull (h);
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "format=(string)BGRx") != NULL, "%s", caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A peer that names memory:DMABuf gets it, even if it takes both. */
GST_START_TEST (test_dmabuf_peer_gets_dmabuf)
{
  GstHarness *h = harness_new ("video/x-raw(memory:DMABuf); video/x-raw",
      NULL);
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "memory:DMABuf") != NULL, "%s", caps);
  fail_unless (strstr (caps, "colorimetry=(string)sRGB") != NULL, "%s",
      caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Answers allocation queries with a pool entry, as many sinks do. */
static GstPadProbeReturn
propose_pool (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (GST_QUERY_TYPE (query) == GST_QUERY_ALLOCATION)
    gst_query_add_allocation_pool (query, NULL, 640 * 480 * 4, 2, 0);
  return GST_PAD_PROBE_OK;
}

/* Zero copy activates no pool, even one downstream proposes. */
GST_START_TEST (test_no_pool_when_zero_copy)
{
  GstHarness *h = harness_new (FAST_BGRX, NULL);
  GstBufferPool *pool;

  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM |
      GST_PAD_PROBE_TYPE_PULL, propose_pool, NULL, NULL);
  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  pool = gst_base_src_get_buffer_pool (GST_BASE_SRC (h->element));
  fail_unless (pool == NULL, "an unused pool %" GST_PTR_FORMAT, pool);
  gst_harness_teardown (h);
}

GST_END_TEST;

static GstClockTime
query_min_latency (GstHarness * h)
{
  GstQuery *query = gst_query_new_latency ();
  GstClockTime min = GST_CLOCK_TIME_NONE;
  gboolean live = FALSE;

  fail_unless (gst_pad_peer_query (h->sinkpad, query));
  gst_query_parse_latency (query, &live, &min, NULL);
  fail_unless (live);
  gst_query_unref (query);
  return min;
}

/* on-change is variable-rate: framerate=0/1 with the poll rate as
 * max-framerate, no claimed durations, the poll period as latency; what
 * the guest shows again after the display was off is pushed again. */
GST_START_TEST (test_on_change_is_variable_rate)
{
  GstHarness *h = harness_new ("video/x-raw(memory:DMABuf), "
      "max-framerate=1000/1", "on-change");
  GstBus *bus = attach_bus (h->element);
  GstBuffer *buf;
  g_autofree gchar *caps = NULL;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "framerate=(fraction)0/1") != NULL, "%s", caps);
  fail_unless (strstr (caps, "max-framerate=(fraction)1000/1") != NULL,
      "%s", caps);
  fail_if (GST_BUFFER_DURATION_IS_VALID (buf));
  fail_unless_equals_uint64 (query_min_latency (h), GST_MSECOND);
  gst_buffer_unref (buf);
  fail_unless (signal_present (bus));

  vfio_emu_set_blank (dev, TRUE);
  fail_if (signal_present (bus));
  vfio_emu_set_blank (dev, FALSE);
  fail_unless (signal_present (bus));
  for (gint i = 0; i < 1000; i++) {
    if (gst_harness_buffers_in_queue (h) > 0)
      break;
    g_usleep (1000);
  }
  buf = gst_harness_try_pull (h);
  fail_unless (buf != NULL, "the frame shown again was not pushed");
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* A peer asking for another rate: new caps, new latency, and a message
 * that says so. */
GST_START_TEST (test_rate_change_posts_latency)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  GstMessage *msg;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  fail_unless_equals_uint64 (query_min_latency (h), GST_MSECOND);

  gst_harness_set_sink_caps_str (h,
      "video/x-raw(memory:DMABuf), framerate=500/1");
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_LATENCY);
  fail_unless (msg != NULL, "no latency message");
  gst_message_unref (msg);
  fail_unless_equals_uint64 (query_min_latency (h), 2 * GST_MSECOND);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* ---- flushes in the middle of a negotiation ---- */

/* A flushing seek or a pause that lands while create() negotiates: a probe
 * on the source pad holds the streaming thread at a query of @type until
 * the application's FLUSH_START has made the pad flushing (GstBaseSrc marks
 * it before it waits for create() to return), then fails the query as a
 * flushing peer would: no caps for a caps query, no answer for an
 * allocation query. One-shot. */
typedef struct
{
  GstQueryType type;
  GMutex lock;
  GCond cond;
  gboolean armed;
  gboolean reached;
} FlushAtQuery;

static GstPadProbeReturn
flush_at_query (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  FlushAtQuery *f = user_data;
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);
  GstCaps *filter = NULL;

  if (GST_QUERY_TYPE (query) != f->type)
    return GST_PAD_PROBE_OK;
  /* The query that chooses the caps, not a look at what the peer takes. */
  if (f->type == GST_QUERY_CAPS) {
    gst_query_parse_caps (query, &filter);
    if (!filter)
      return GST_PAD_PROBE_OK;
  }
  g_mutex_lock (&f->lock);
  if (!f->armed) {
    g_mutex_unlock (&f->lock);
    return GST_PAD_PROBE_OK;
  }
  f->armed = FALSE;
  f->reached = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);

  for (gint i = 0; i < 10000 && !GST_PAD_IS_FLUSHING (pad); i++)
    g_usleep (1000);
  if (f->type == GST_QUERY_CAPS) {
    GstCaps *none = gst_caps_new_empty ();

    gst_query_set_caps_result (query, none);
    gst_caps_unref (none);
    return GST_PAD_PROBE_HANDLED;
  }
  return GST_PAD_PROBE_DROP;
}

static void
flush_at_query_arm (GstHarness * h, FlushAtQuery * f, GstQueryType type)
{
  GstPad *srcpad = gst_element_get_static_pad (h->element, "src");

  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->type = type;
  f->reached = FALSE;
  f->armed = TRUE;
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      flush_at_query, f, NULL);
  gst_object_unref (srcpad);
}

/* Once the streaming thread is at the query: FLUSH_START, as a flushing
 * seek sends it; it returns once create() has returned. */
static void
flush_at_query_start_flush (GstHarness * h, FlushAtQuery * f)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&f->lock);
  while (!f->reached)
    if (!g_cond_wait_until (&f->cond, &f->lock, end))
      break;
  g_mutex_unlock (&f->lock);
  fail_unless (f->reached, "the negotiation never made the query");
  fail_unless (gst_element_send_event (h->element,
          gst_event_new_flush_start ()));
}

/* The guest changes mode while a flush starts: the renegotiation that the
 * flush refuses is a flush, not an error, and streaming goes on in the new
 * mode after it. */
GST_START_TEST (test_renegotiation_refused_while_flushing)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  FlushAtQuery f;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  flush_at_query_arm (h, &f, GST_QUERY_CAPS);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  flush_at_query_start_flush (h, &f);
  assert_no_error_for (bus, 100);

  /* FLUSHING, not NOT_NEGOTIATED: nothing ended the stream. */
  fail_unless (gst_element_send_event (h->element,
          gst_event_new_flush_stop (TRUE)));
  gst_buffer_unref (pull_until_width (h, 1024));
  assert_no_error_for (bus, 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Errors on @bus within @ms milliseconds, each logged. */
static guint
count_errors (GstBus * bus, guint ms)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_timed_pop_filtered (bus, ms * GST_MSECOND,
              GST_MESSAGE_ERROR))) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    GST_INFO ("error %u: %s", n, error->message);
    g_error_free (error);
    gst_message_unref (msg);
    n++;
  }
  return n;
}

/* A mode downstream refuses, in normal streaming: one error, ours, which
 * says what to do; no generic one from GstBaseSrc after it. */
GST_START_TEST (test_refused_mode_posts_one_error)
{
  GstHarness *h = harness_new ("video/x-raw(memory:DMABuf), width=640, "
      "height=480, framerate=1000/1", NULL);
  GstBus *bus = attach_bus (h->element);
  g_autofree gchar *text = NULL;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  text = wait_error (bus, NULL, NULL);
  fail_unless (text != NULL, "no error");
  fail_unless (strstr (text, "Downstream accepts none") != NULL, "%s", text);
  fail_unless_equals_int (count_errors (bus, 300), 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* The same when downstream changes its mind (a RECONFIGURE). */
GST_START_TEST (test_refused_caps_change_posts_one_error)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstBus *bus = attach_bus (h->element);
  g_autofree gchar *text = NULL;

  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  gst_harness_set_sink_caps_str (h,
      "video/x-raw(memory:DMABuf), width=800, framerate=1000/1");
  text = wait_error (bus, NULL, NULL);
  fail_unless (text != NULL, "no error");
  fail_unless (strstr (text, "Downstream accepts none") != NULL, "%s", text);
  fail_unless_equals_int (count_errors (bus, 300), 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* A padded mode whose allocation query a flush refuses: that says nothing
 * of downstream's GstVideoMeta support, so after the flush frames are not
 * copied for a peer that reads the meta. */
GST_START_TEST (test_allocation_refused_while_flushing_no_copy)
{
  GstHarness *h = harness_new (FAST_BGRX, NULL);
  GstBus *bus = attach_bus (h->element);
  GstVideoMeta *meta;
  GstBuffer *buf = NULL;
  FlushAtQuery f;

  gst_harness_add_propose_allocation_meta (h, GST_VIDEO_META_API_TYPE, NULL);
  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  flush_at_query_arm (h, &f, GST_QUERY_ALLOCATION);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 704 * 4);
  flush_at_query_start_flush (h, &f);
  fail_unless (gst_element_send_event (h->element,
          gst_event_new_flush_stop (TRUE)));

  for (gint i = 0; i < 1000; i++) {
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL);
    meta = gst_buffer_get_video_meta (buf);
    if (meta && meta->stride[0] == 704 * 4)
      break;
    gst_clear_buffer (&buf);
    fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"), 0);
  }
  fail_unless (buf != NULL, "no frame in the padded layout");
  gst_buffer_unref (buf);
  for (gint i = 0; i < 5; i++)
    gst_buffer_unref (gst_harness_pull (h));
  fail_unless_equals_uint64 (stat_of (h->element, "bytes-copied"), 0);
  assert_no_error_for (bus, 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Event types that leave the source pad, in order. */
typedef struct
{
  GMutex lock;
  GArray *types;
} EventLog;

static GstPadProbeReturn
log_event (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  EventLog *log = user_data;
  GstEventType type = GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info));

  g_mutex_lock (&log->lock);
  g_array_append_val (log->types, type);
  g_mutex_unlock (&log->lock);
  return GST_PAD_PROBE_OK;
}

/* The first SEGMENT or GAP after the last FLUSH_STOP of @log: 0 if none
 * yet. */
static GstEventType
first_after_flush (EventLog * log)
{
  GstEventType found = 0;
  guint start = 0;

  g_mutex_lock (&log->lock);
  for (guint i = 0; i < log->types->len; i++)
    if (g_array_index (log->types, GstEventType, i) == GST_EVENT_FLUSH_STOP)
      start = i + 1;
  for (guint i = start; i < log->types->len && !found; i++) {
    GstEventType t = g_array_index (log->types, GstEventType, i);
    if (t == GST_EVENT_SEGMENT || t == GST_EVENT_GAP)
      found = t;
  }
  g_mutex_unlock (&log->lock);
  return found;
}

/* A flushing seek while the display is off: after FLUSH_STOP the pad has
 * no segment, and the GAPs that keep the stream alive need one first. */
GST_START_TEST (test_segment_before_gap_after_flush)
{
  GstHarness *h = harness_new (FAST_DMABUF, NULL);
  GstPad *srcpad = gst_element_get_static_pad (h->element, "src");
  EventLog log = { 0 };
  GstEventType first = 0;
  gboolean gap = FALSE;

  g_mutex_init (&log.lock);
  log.types = g_array_new (FALSE, FALSE, sizeof (GstEventType));
  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  vfio_emu_set_blank (dev, TRUE);
  for (gint i = 0; i < 1000 && !gap; i++) {
    GstEvent *event = gst_harness_pull_event (h);
    fail_unless (event != NULL);
    gap = GST_EVENT_TYPE (event) == GST_EVENT_GAP;
    gst_event_unref (event);
  }
  fail_unless (gap, "no GAP while the display is off");

  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
      GST_PAD_PROBE_TYPE_EVENT_FLUSH, log_event, &log, NULL);
  fail_unless (gst_element_send_event (h->element,
          gst_event_new_flush_start ()));
  fail_unless (gst_element_send_event (h->element,
          gst_event_new_flush_stop (TRUE)));
  for (gint i = 0; i < 5000 && !first; i++) {
    g_usleep (1000);
    first = first_after_flush (&log);
  }
  fail_unless (first != 0, "nothing after the flush");
  fail_unless (first == GST_EVENT_SEGMENT, "a %s before the SEGMENT after "
      "the flush", gst_event_type_get_name (first));

  gst_harness_teardown (h);
  gst_object_unref (srcpad);
  g_array_unref (log.types);
  g_mutex_clear (&log.lock);
}

GST_END_TEST;

/* Whether the CPU can map an exporter's dma-bufs can depend on the mode:
 * mbochs (read-write export) maps 640x480 (300 pages) but not 800x600
 * (1,920,000 bytes, not whole pages). A peer that accepts anything gets
 * system memory, then DMA_DRM, not an error. */
GST_START_TEST (test_any_peer_unmappable_mode_gets_dmabuf)
{
  GstHarness *h;
  GstBus *bus;
  GstBuffer *buf;
  gint64 end;
  g_autofree gchar *caps = NULL;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_personality (dev, VFIO_EMU_PERSONALITY_MBOCHS);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  h = harness_any_peer ();
  bus = attach_bus (h->element);
  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  caps = current_caps_string (h);
  fail_unless (strstr (caps, "format=(string)BGRx") != NULL, "%s", caps);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  for (;;) {
    buf = gst_harness_try_pull (h);
    if (buf && gst_buffer_get_video_meta (buf)->width == 800)
      break;
    gst_clear_buffer (&buf);
    assert_no_error_for (bus, 1);
    fail_unless (g_get_monotonic_time () < end, "no 800x600 frame");
  }
  fail_unless_equals_string (current_drm_format (h), "XR24");
  fail_unless (gst_is_dmabuf_memory (gst_buffer_peek_memory (buf, 0)));
  gst_buffer_unref (buf);
  assert_no_error_for (bus, 0);
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

static Suite *
vfiogfxsrc_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_dmabuf_caps_linear);
  tcase_add_test (tc, test_dmabuf_caps_tiled);
  tcase_add_test (tc, test_sysmem_zero_copy_pixels);
  tcase_add_test (tc, test_same_memory_and_one_query_per_tick);
  tcase_add_test (tc, test_flip_exports_once_per_id);
  tcase_add_test (tc, test_on_change_pushes_only_flips);
  tcase_add_test (tc, test_mode_change_renegotiates);
  tcase_add_test (tc, test_waits_for_display);
  tcase_add_test (tc, test_display_off_mid_stream_sends_gaps);
  tcase_add_test (tc, test_state_change_during_wait);
  tcase_add_test (tc, test_error_missing_device);
  tcase_add_test (tc, test_error_permission);
  tcase_add_test (tc, test_error_busy);
  tcase_add_test (tc, test_error_no_display);
  tcase_add_test (tc, test_error_configuration);
  tcase_add_test (tc, test_error_both_device_and_fd);
  tcase_add_test (tc, test_adopted_fd_stays_open);
  tcase_add_test (tc, test_unplug_mid_stream);
  tcase_add_test (tc, test_unmappable_dmabuf_refuses_sysmem);
  tcase_add_test (tc, test_tiled_refuses_sysmem);
  tcase_add_test (tc, test_rejected_plane_skipped);
  tcase_add_test (tc, test_no_fd_leak_over_10000_frames);
  tcase_add_test (tc, test_pause_while_waiting_for_display);
  tcase_add_test (tc, test_eos_while_waiting_for_display);
  tcase_add_test (tc, test_segment_before_first_gap);
  tcase_add_test (tc, test_any_peer_gets_system_memory);
  tcase_add_test (tc, test_any_peer_unmappable_gets_dmabuf);
  tcase_add_test (tc, test_any_peer_region_gets_system_memory);
  tcase_add_test (tc, test_dmabuf_peer_gets_dmabuf);
  tcase_add_test (tc, test_no_pool_when_zero_copy);
  tcase_add_test (tc, test_on_change_is_variable_rate);
  tcase_add_test (tc, test_rate_change_posts_latency);
  tcase_add_test (tc, test_renegotiation_refused_while_flushing);
  tcase_add_test (tc, test_refused_mode_posts_one_error);
  tcase_add_test (tc, test_refused_caps_change_posts_one_error);
  tcase_add_test (tc, test_allocation_refused_while_flushing_no_copy);
  tcase_add_test (tc, test_segment_before_gap_after_flush);
  tcase_add_test (tc, test_any_peer_unmappable_mode_gets_dmabuf);
  return s;
}

GST_CHECK_MAIN (vfiogfxsrc);
