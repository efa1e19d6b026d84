/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc's guest-mode against the emulated mdev: the EDID written when
 * the device opens and when the property changes while playing, the
 * device's limits, malformed modes (at open and while playing), auto from
 * downstream caps (set while playing, downstream changing, a state change
 * while it waits for the guest, a mode refused), a device the element no
 * longer owns, and the edid-writes counter. A thread plays the guest where
 * one must switch.
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

/* The warnings on @bus, in order; each one's text must have @needle. */
static guint
pop_warnings (GstBus * bus, const gchar * needle)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *error = NULL;

    gst_message_parse_warning (msg, &error, NULL);
    GST_INFO ("warning: %s", error->message);
    fail_unless (strstr (error->message, needle), "'%s' lacks '%s'",
        error->message, needle);
    g_error_free (error);
    gst_message_unref (msg);
    n++;
  }
  return n;
}

static guint
count_edid_writes (void)
{
  GArray *log = vfio_emu_take_edid_accesses (dev);
  guint n = 0;

  for (guint i = 0; i < log->len; i++)
    n += g_array_index (log, VfioEmuEdidAccess, i).write;
  g_array_unref (log);
  return n;
}

/* A refused value while playing: a warning naming what is wrong, nothing
 * written, the stream and the guest's mode go on; the property keeps the
 * value set. */
GST_START_TEST (test_refused_while_playing)
{
  static const struct
  {
    const gchar *value;
    const gchar *needle;
  } refused[] = {
    {"1280by720", "not a mode"},
    {"1280x720@500", "24 .. 240 Hz"},
    {"2560x1600", "at most 1920x1440"},
    {"1920x1440@240", "655350 kHz"},
  };
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBus *bus = attach_bus (h->element);

  g_object_set (h->element, "device", UUID, "guest-mode", "800x600", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, FAST_DMABUF);
  gst_harness_play (h);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  gst_buffer_unref (pull_until_width (h, 800));
  count_edid_writes ();

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    gchar *value = NULL;

    g_object_set (h->element, "guest-mode", refused[i].value, NULL);
    fail_unless_equals_int (pop_warnings (bus, refused[i].needle), 1);
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
    fail_unless_equals_int (count_edid_writes (), 0);
    fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 1);
    assert_shown (800, 600);
    g_object_get (h->element, "guest-mode", &value, NULL);
    fail_unless_equals_string (value, refused[i].value);
    g_free (value);
    gst_buffer_unref (pull_until_width (h, 800));
  }
  fail_unless_equals_int (GST_STATE (h->element), GST_STATE_PLAYING);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* guest-mode=auto set while playing: the next negotiation gives the guest
 * the size downstream fixes, and the caps follow. */
GST_START_TEST (test_auto_set_while_playing)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  gint stop = 0;
  GThread *guest;

  g_object_set (h->element, "device", UUID, "guest-mode", "800x600", NULL);
  gst_harness_use_systemclock (h);
  /* 1024x768 fixed first; anything else accepted too. */
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=1024, height=768, framerate=1000/1; " FAST_DMABUF);
  guest = g_thread_new ("guest", guest_thread, &stop);
  gst_harness_play (h);
  gst_buffer_unref (pull_until_width (h, 800));
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 1);

  g_object_set (h->element, "guest-mode", "auto", NULL);
  gst_buffer_unref (pull_until_width (h, 1024));
  assert_shown (1024, 768);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 2);

  gst_harness_teardown (h);
  g_atomic_int_set (&stop, 1);
  g_thread_join (guest);
}

GST_END_TEST;

/* In auto, downstream fixing another size later: the guest follows. */
GST_START_TEST (test_auto_follows_downstream_change)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  gint stop = 0;
  GThread *guest;

  g_object_set (h->element, "device", UUID, "guest-mode", "auto", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=1280, height=720, framerate=1000/1");
  guest = g_thread_new ("guest", guest_thread, &stop);
  gst_harness_play (h);
  gst_buffer_unref (pull_until_width (h, 1280));
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 1);

  /* A client resizes: the capsfilter changes and says so upstream. */
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=800, height=600, framerate=1000/1");
  fail_unless (gst_pad_push_event (h->sinkpad, gst_event_new_reconfigure ()));
  gst_buffer_unref (pull_until_width (h, 800));
  assert_shown (800, 600);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 2);

  gst_harness_teardown (h);
  g_atomic_int_set (&stop, 1);
  g_thread_join (guest);
}

GST_END_TEST;

typedef struct
{
  GstElement *element;
  GMutex lock;
  GCond cond;
  gboolean done;
  GstStateChangeReturn ret;
} StateChange;

static gpointer
set_null_thread (gpointer user_data)
{
  StateChange *change = user_data;
  GstStateChangeReturn ret = gst_element_set_state (change->element,
      GST_STATE_NULL);

  g_mutex_lock (&change->lock);
  change->ret = ret;
  change->done = TRUE;
  g_cond_signal (&change->cond);
  g_mutex_unlock (&change->lock);
  return NULL;
}

/* Notes the plane queries made when the element leaves PLAYING: it has
 * unlocked its streaming thread then. */
static GstBusSyncReply
note_paused (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  gint *queries = user_data;
  GstState old_state, new_state;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_STATE_CHANGED) {
    gst_message_parse_state_changed (msg, &old_state, &new_state, NULL);
    if (old_state == GST_STATE_PLAYING && new_state == GST_STATE_PAUSED)
      g_atomic_int_set (queries, vfio_emu_ioctl_count (dev,
              VFIO_DEVICE_QUERY_GFX_PLANE));
  }
  return GST_BUS_PASS;
}

/* auto, and a guest that never follows: while the source waits for it, a
 * state change to NULL stops the wait at once. The wait's plane queries
 * tell: it polls every 20 ms for 3 s unless interrupted, so after the
 * unlock (leaving PLAYING) at most the query under way may follow. The
 * bound on the state change only guards against a hang. */
GST_START_TEST (test_auto_wait_interrupted)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBus *bus = attach_bus (h->element);
  StateChange change = { h->element };
  gint queries_unlocked = -1;
  guint queries, w = 0, ht = 0;
  GThread *thread;
  gint64 guard;

  g_object_set (h->element, "device", UUID, "guest-mode", "auto", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=1280, height=720");
  gst_harness_play (h);
  /* Written: the streaming thread now waits for the guest. */
  guard = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  while (!(shown_mode (&w, &ht, NULL) && w == 1280)) {
    fail_unless (g_get_monotonic_time () < guard, "auto wrote no EDID");
    g_usleep (1000);
  }

  g_mutex_init (&change.lock);
  g_cond_init (&change.cond);
  gst_bus_set_sync_handler (bus, note_paused, &queries_unlocked, NULL);
  thread = g_thread_new ("set-null", set_null_thread, &change);
  guard = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&change.lock);
  while (!change.done)
    fail_unless (g_cond_wait_until (&change.cond, &change.lock, guard),
        "the state change hangs");
  g_mutex_unlock (&change.lock);
  g_thread_join (thread);

  fail_unless_equals_int (change.ret, GST_STATE_CHANGE_SUCCESS);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  fail_unless (g_atomic_int_get (&queries_unlocked) >= 0);
  queries = vfio_emu_ioctl_count (dev, VFIO_DEVICE_QUERY_GFX_PLANE) -
      g_atomic_int_get (&queries_unlocked);
  fail_unless (queries <= 1, "the wait went on polling: %u queries after "
      "the unlock", queries);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  g_mutex_clear (&change.lock);
  g_cond_clear (&change.cond);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* A pause cuts the wait for the guest short; when playing again the
 * source waits anew instead of negotiating the guest's old mode. */
GST_START_TEST (test_auto_wait_resumed)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBus *bus = attach_bus (h->element);
  gint stop = 0;
  GThread *guest;
  guint w = 0, ht = 0;
  gint64 guard;

  g_object_set (h->element, "device", UUID, "guest-mode", "auto", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=1280, height=720, framerate=1000/1");
  gst_harness_play (h);
  guard = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;
  while (!(shown_mode (&w, &ht, NULL) && w == 1280)) {
    fail_unless (g_get_monotonic_time () < guard, "auto wrote no EDID");
    g_usleep (1000);
  }
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);

  /* The guest follows only now. */
  guest = g_thread_new ("guest", guest_thread, &stop);
  gst_buffer_unref (pull_until_width (h, 1280));
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 1);

  gst_harness_teardown (h);
  g_atomic_int_set (&stop, 1);
  g_thread_join (guest);
  release_bus (bus);
}

GST_END_TEST;

/* auto with a size the device cannot show: one warning for that size,
 * not one at every renegotiation; the stream goes on with what the guest
 * shows. */
GST_START_TEST (test_auto_refused_warns_once)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstBus *bus = attach_bus (h->element);

  g_object_set (h->element, "device", UUID, "guest-mode", "auto", NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "width=2560, height=1600; " FAST_DMABUF);
  gst_harness_play (h);
  gst_buffer_unref (pull_until_width (h, 640));
  fail_unless_equals_int (pop_warnings (bus, "at most 1920x1440"), 1);

  /* The guest changes mode twice: two renegotiations, no new warning. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 0);
  gst_buffer_unref (pull_until_width (h, 800));
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  gst_buffer_unref (pull_until_width (h, 1024));
  fail_unless (stat_of (h->element, "renegotiations") >= 2);
  fail_unless_equals_int (pop_warnings (bus, "at most 1920x1440"), 0);
  fail_unless_equals_uint64 (stat_of (h->element, "edid-writes"), 0);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

static void
keep_device (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  GstObject **kept = user_data;

  /* That category logs with the device as the object. */
  if (object && !*kept
      && g_str_equal (gst_debug_category_get_name (category),
          "vfioedidwriter") && GST_IS_VFIO_DEVICE (object))
    *kept = gst_object_ref (object);
}

/* Back in NULL the element owns no device: setting guest-mode writes
 * nothing, even while something else still holds the device it had. */
GST_START_TEST (test_not_written_after_close)
{
  GstElement *src = new_source ("800x600");
  GstObject *kept = NULL;

  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_for_name ("vfioedidwriter", GST_LEVEL_INFO);
  gst_debug_add_log_function (keep_device, &kept, NULL);
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  gst_debug_remove_log_function (keep_device);
  fail_unless (kept != NULL, "the device logged nothing");
  gst_element_set_state (src, GST_STATE_NULL);
  count_edid_writes ();

  g_object_set (src, "guest-mode", "1024x768", NULL);
  fail_unless_equals_int (count_edid_writes (), 0);
  assert_shown (800, 600);

  /* The next open writes it. */
  fail_unless_equals_int (gst_element_set_state (src, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  assert_shown (1024, 768);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (kept);
  gst_object_unref (src);
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
  tcase_add_test (tc, test_refused_while_playing);
  tcase_add_test (tc, test_auto_set_while_playing);
  tcase_add_test (tc, test_auto_follows_downstream_change);
  tcase_add_test (tc, test_auto_wait_interrupted);
  tcase_add_test (tc, test_auto_wait_resumed);
  tcase_add_test (tc, test_auto_refused_warns_once);
  tcase_add_test (tc, test_not_written_after_close);
  return s;
}

GST_CHECK_MAIN (guestmode);
