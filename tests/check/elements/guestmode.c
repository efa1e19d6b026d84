/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc's guest-mode against the emulated mdev: the EDID written when
 * the device opens and when the property changes while playing, the
 * device's limits, malformed modes, auto from downstream caps, and the
 * edid-writes counter. A thread plays the guest where one must switch.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "srccheck.h"
#include <gst/vfio/vfio.h>
#include "vfioemu.h"

#define UUID "7e2f1a90-4c3b-4d5e-8f60-718293a4b5c6"
#define GROUP 43
#define FAST_DMABUF "video/x-raw(memory:DMABuf), framerate=1000/1"

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

/* The preferred mode of what the guest sees; FALSE when the link is down
 * or the block has no detailed timing. */
static gboolean
shown_mode (guint * width, guint * height, gdouble * refresh)
{
  g_autoptr (GBytes) shown = vfio_emu_edid_shown (dev, NULL);
  const guint8 *b;
  guint clock, h_total, v_total;

  if (!shown || g_bytes_get_size (shown) < 128)
    return FALSE;
  b = g_bytes_get_data (shown, NULL);
  clock = b[54] | b[55] << 8;
  *width = b[56] | (b[58] & 0xf0) << 4;
  *height = b[59] | (b[61] & 0xf0) << 4;
  h_total = *width + (b[57] | (b[58] & 0x0f) << 8);
  v_total = *height + (b[60] | (b[61] & 0x0f) << 8);
  if (refresh)
    *refresh = clock * 10000.0 / h_total / v_total;
  return clock != 0;
}

static void
assert_shown (guint width, guint height)
{
  guint w = 0, h = 0;

  fail_unless (shown_mode (&w, &h, NULL), "the guest sees no EDID");
  fail_unless (w == width && h == height, "the guest sees %ux%u, not %ux%u",
      w, h, width, height);
}

static GstElement *
new_source (const gchar * guest_mode)
{
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", NULL);

  g_object_set (src, "device", UUID, "guest-mode", guest_mode, NULL);
  return src;
}

/* Opening fails with one error whose text has @needle1 and @needle2. */
static void
assert_open_fails (const gchar * guest_mode, const gchar * needle1,
    const gchar * needle2)
{
  GstElement *src = new_source (guest_mode);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_bus (src, bus);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &error, NULL);
  GST_INFO ("error: %s", error->message);
  fail_unless (strstr (error->message, needle1), "'%s' lacks '%s'",
      error->message, needle1);
  fail_unless (!needle2 || strstr (error->message, needle2),
      "'%s' lacks '%s'", error->message, needle2);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  g_clear_error (&error);
  gst_message_unref (msg);

  gst_element_set_state (src, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (src);
}

GST_START_TEST (test_written_at_open)
{
  GstElement *src = new_source ("1280x720@60");
  gchar *value = NULL;
  guint w, h;
  gdouble refresh;

  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (shown_mode (&w, &h, &refresh));
  fail_unless_equals_int (w, 1280);
  fail_unless_equals_int (h, 720);
  fail_unless (refresh > 59.7 && refresh < 60.3, "%f Hz", refresh);
  fail_unless_equals_uint64 (stat_of (src, "edid-writes"), 1);
  g_object_get (src, "guest-mode", &value, NULL);
  fail_unless_equals_string (value, "1280x720@60");
  g_free (value);

  /* Nothing is restored when the element stops. */
  gst_element_set_state (src, GST_STATE_NULL);
  assert_shown (1280, 720);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_empty_leaves_edid_alone)
{
  GstElement *src = new_source (NULL);
  GArray *log;

  g_array_unref (vfio_emu_take_edid_accesses (dev));
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  log = vfio_emu_take_edid_accesses (dev);
  fail_unless_equals_int (log->len, 0);
  g_array_unref (log);
  fail_unless_equals_uint64 (stat_of (src, "edid-writes"), 0);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_beyond_limit_refused)
{
  vfio_emu_set_edid_limits (dev, 800, 600, 512);
  assert_open_fails ("1024x768", "guest-mode=1024x768", "at most 800x600");
  /* The emulator's own monitor (1024x768) is still there. */
  assert_shown (1024, 768);
}

GST_END_TEST;

GST_START_TEST (test_malformed_refused)
{
  assert_open_fails ("1280by720", "not a mode", "1920x1080@60");
  assert_open_fails ("1280x720@500", "24 .. 240 Hz", NULL);
}

GST_END_TEST;

GST_START_TEST (test_no_edid_region)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  assert_open_fails ("1024x768", "Cannot choose the guest's mode",
      "no EDID region");
}

GST_END_TEST;

static GstBuffer *
pull_until_width (GstHarness * h, guint width)
{
  for (guint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstVideoMeta *meta = gst_buffer_get_video_meta (buf);

    if (meta && meta->width == width)
      return buf;
    gst_buffer_unref (buf);
  }
  fail ("no buffer %u pixels wide", width);
  return NULL;
}

GST_START_TEST (test_change_while_playing)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  gdouble refresh;
  guint w, ht;

  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "device", UUID, "guest-mode", "800x600", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, FAST_DMABUF);
  gst_harness_play (h);
  gst_buffer_unref (gst_harness_pull (h));
  assert_shown (800, 600);

  /* A client resizes: a new EDID at once; the guest follows. */
  g_object_set (h->element, "guest-mode", "1280x720@75", NULL);
  fail_unless (shown_mode (&w, &ht, &refresh));
  fail_unless (w == 1280 && ht == 720 && refresh > 74.6 && refresh < 75.4,
      "%ux%u@%f", w, ht, refresh);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 2);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1280,
      720, 0);
  gst_buffer_unref (pull_until_width (h, 1280));

  /* The same mode again writes nothing. */
  g_object_set (h->element, "guest-mode", "1280x720@75", NULL);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 2);

  /* Too large for the device: a warning, the stream goes on. */
  g_object_set (h->element, "guest-mode", "2560x1600", NULL);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning");
  {
    GError *error = NULL;

    gst_message_parse_warning (msg, &error, NULL);
    fail_unless (strstr (error->message, "at most 1920x1440"), "%s",
        error->message);
    g_error_free (error);
  }
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 2);
  assert_shown (1280, 720);
  gst_buffer_unref (gst_harness_pull (h));

  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

GST_END_TEST;

/* The guest: when the EDID names another mode, switch to it. */
static gpointer
guest_thread (gpointer user_data)
{
  gint *stop = user_data;
  guint cur_w = 640, cur_h = 480;

  while (!g_atomic_int_get (stop)) {
    guint w, h;

    if (shown_mode (&w, &h, NULL) && (w != cur_w || h != cur_h)) {
      vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, w,
          h, 0);
      cur_w = w;
      cur_h = h;
    }
    g_usleep (5000);
  }
  return NULL;
}

GST_START_TEST (test_auto_from_downstream)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  gint stop = 0;
  GThread *guest;
  GstBuffer *buf;
  GstCaps *caps;
  GstStructure *s;
  gint width = 0, height = 0;
  guint w, ht;
  gdouble refresh;

  g_object_set (h->element, "device", UUID, "guest-mode", "auto", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=1280, height=720, framerate=50/1");
  guest = g_thread_new ("guest", guest_thread, &stop);
  gst_harness_play (h);

  buf = gst_harness_pull (h);
  fail_unless_equals_int (gst_buffer_get_video_meta (buf)->width, 1280);
  gst_buffer_unref (buf);
  caps = gst_pad_get_current_caps (h->sinkpad);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_get_int (s, "width", &width)
      && gst_structure_get_int (s, "height", &height));
  fail_unless_equals_int (width, 1280);
  fail_unless_equals_int (height, 720);
  gst_caps_unref (caps);
  fail_unless (shown_mode (&w, &ht, &refresh));
  fail_unless (refresh > 49.7 && refresh < 50.3, "%f Hz", refresh);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 1);

  gst_harness_teardown (h);
  g_atomic_int_set (&stop, 1);
  g_thread_join (guest);
}

GST_END_TEST;

GST_START_TEST (test_property_documented)
{
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", NULL);
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (src),
      "guest-mode");

  fail_unless (pspec != NULL);
  fail_unless (pspec->flags & GST_PARAM_MUTABLE_PLAYING);
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "WxH@R"));
  gst_object_unref (src);
}

GST_END_TEST;

static Suite *
guestmode_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-guest-mode");
  TCase *tc = tcase_create ("guest-mode");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_property_documented);
  tcase_add_test (tc, test_written_at_open);
  tcase_add_test (tc, test_empty_leaves_edid_alone);
  tcase_add_test (tc, test_beyond_limit_refused);
  tcase_add_test (tc, test_malformed_refused);
  tcase_add_test (tc, test_no_edid_region);
  tcase_add_test (tc, test_change_while_playing);
  tcase_add_test (tc, test_auto_from_downstream);
  return s;
}

GST_CHECK_MAIN (guestmode);
