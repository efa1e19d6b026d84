/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * capture: run a vfiogfxsrc pipeline and tell what happened, for the VM
 * tests and the demo.
 *
 *   capture [OPTIONS] PIPELINE...
 *
 * PIPELINE is a gst-launch description with one or more vfiogfxsrc (the
 * first one counts the frames and the rate). Lines on stdout, all starting
 * with "capture: ":
 *   source-caps CAPS        what vfiogfxsrc negotiated
 *   caps CAPS               what the element named "sink" (if any) receives
 *   run WxH STATE buffers=N consecutive buffers at the sink that look the
 *                           same: STATE is frame=N (a whole frame of
 *                           guest.c's test pattern, checked pixel by pixel
 *                           with --check), invalid (not one), unmapped (the
 *                           CPU cannot map it) or unchecked
 *   signal present=BOOL     the element's vfiogfxsrc-signal message, in
 *                           streaming order with the runs (it ends a run)
 *   progress ...            with --progress, once a second
 *   error: TEXT / debug: TEXT / warning: TEXT / info: TEXT
 *   stats ...               each vfiogfxsrc's stats property, with its
 *                           name in element=, at the end and before each
 *                           restart (the counters start again at 0)
 *   source NAME frames=N    buffers out of each vfiogfxsrc, at the end
 *   restart N of M          --cycles: PAUSED, READY, PLAYING again
 *   pipeline N of M         --runs: the pipeline built again
 *   done: N frames in S s (F fps) [until EOS]: S from the first frame
 *
 * Options:
 *   --check        check each buffer at "sink" against the test pattern,
 *                  in the layout its caps imply (as a sink without
 *                  GstVideoMeta support reads it), or with --meta or DMA_DRM
 *                  caps in the layout its GstVideoMeta says
 *   --meta         "sink" answers allocation queries with GstVideoMeta
 *   --progress     a progress line every second (frames, fps; buffers out
 *                  of the element named "enc" when there is one)
 *   --duration S   send EOS after S seconds
 *   --ready FILE   create FILE when the first buffer leaves vfiogfxsrc
 *                  (guest.c's 'await FILE' waits for it)
 *   --hold NAME    hold back what leaves element NAME (a queue) until EOS
 *                  is sent: the demo captures first and encodes after,
 *                  as x264 under TCG would take the CPU the capture needs
 *   --eos-timeout S  give up S seconds after EOS was sent (default 60)
 *   --set-on-usr1 PROP=VALUE
 *                  set a property of vfiogfxsrc at SIGUSR1 (guest.c's
 *                  'signal USR1'), printing "capture: set PROP=VALUE"
 *   --frames K     send EOS once every vfiogfxsrc pushed K buffers since
 *                  it (re)started
 *   --cycles N     once every vfiogfxsrc pushed K buffers (--frames, 10 if
 *                  not given), set the pipeline to PAUSED, READY and
 *                  PLAYING again; N times, then EOS after K more buffers
 *   --runs N       run the pipeline N times, each built anew from the
 *                  description (the same device-fd), until EOS, then set to
 *                  NULL and freed; needs --frames, --duration or num-buffers
 *
 * SIGINT or SIGTERM sends EOS, a second one quits at once. Exit status: 0
 * after EOS, 1 on an error message or a timeout, 2 on bad usage.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  GMutex lock;                  /* the run and the counters */
  GstVideoInfo vinfo;
  gboolean have_vinfo;
  gboolean dma_drm;
  gchar *run;                   /* "WxH STATE" of the current run */
  guint64 run_buffers;
  gint frames;                  /* out of vfiogfxsrc, atomic */
  gint encoded;                 /* out of "enc", atomic */
  gint frames_at_last_tick;
  gchar *ready_file;
  gint64 first_time;            /* of the first buffer, 0 before */
} Counters;

typedef struct
{
  GstElement *element;
  gint frames;                  /* atomic */
  gint segment_start;           /* frames at the last (re)start */
} Source;

typedef struct
{
  GstElement *pipeline;
  GstElement *src;              /* the first of sources */
  GArray *sources;              /* of Source, every vfiogfxsrc */
  GMainLoop *loop;
  Counters c;
  gboolean check;
  gboolean meta;
  gboolean progress;
  gboolean have_enc;
  gboolean eos_sent;
  gint eos_timeout;
  gchar *hold;
  gchar *set_on_usr1;
  GstPad *hold_pad;
  gulong hold_probe;
  gint64 start;
  gint64 eos_time;
  gint eos_frames;
  gint status;
  gint frames_per_segment;
  gint cycles;
  gint cycles_done;
  gboolean interrupted;
  guint eos_timeout_id;         /* timeouts of the current pipeline, 0 */
  guint duration_id;            /* once they are gone */
  guint progress_id;
  guint segment_id;
} App;

static void
say (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

/* One write() per line: stdout and stderr often go to the same file, and
 * GStreamer logs from other threads; a line written in pieces would be cut
 * by theirs. */
static void
write_line (gint fd, const gchar * prefix, const gchar * text)
{
  gchar *line = g_strconcat (prefix, text,
      g_str_has_suffix (text, "\n") ? "" : "\n", NULL);
  gsize len = strlen (line);

  fflush (stdout);
  if (write (fd, line, len) != (gssize) len)
    g_printerr ("%s", line);
  g_free (line);
}

/* GStreamer's log lines, each in one write() (see write_line()). */
static void
log_function (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  gchar *text = gst_debug_log_get_line (category, level, file, function, line,
      object, message);
  write_line (STDERR_FILENO, "", text);
  g_free (text);
}

static void
say (const gchar * format, ...)
{
  va_list args;
  gchar *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  write_line (STDOUT_FILENO, "capture: ", text);
  g_free (text);
}

/* ---- what reaches the sink ---- */

/* The frame number if the plane is guest.c's test pattern, where pixel
 * (x, y) of frame N is 0x00RRGGBB with R = x & 0xff, G = y & 0xff,
 * B = N & 0xff; -1 if any pixel differs. */
static gint
pattern_frame (const guint8 * data, guint width, guint height, gsize stride)
{
  guint32 n = ((const guint32 *) data)[0] & 0xff;

  for (guint y = 0; y < height; y++) {
    const guint32 *row = (const guint32 *) (data + y * stride);
    guint32 base = (y & 0xff) << 8 | n;

    for (guint x = 0; x < width; x++)
      if ((row[x] & 0xffffff) != ((x & 0xff) << 16 | base))
        return -1;
  }
  return n;
}

/* Maps the buffer as a whole: with DMA_DRM caps the video meta says
 * DMA_DRM, which gst_video_frame_map() does not take. */
static gchar *
describe_buffer (App * app, GstBuffer * buffer)
{
  const GstVideoInfo *vinfo = &app->c.vinfo;
  guint width = vinfo->width, height = vinfo->height;
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);
  gsize offset = GST_VIDEO_INFO_PLANE_OFFSET (vinfo, 0);
  gsize stride = GST_VIDEO_INFO_PLANE_STRIDE (vinfo, 0);
  GstMapInfo map;
  gint n;

  if (!app->check)
    return g_strdup_printf ("%ux%u unchecked", width, height);
  if (meta && (app->meta || app->c.dma_drm)) {
    offset = meta->offset[0];
    stride = meta->stride[0];
  }
  if (GST_VIDEO_INFO_FORMAT (vinfo) != GST_VIDEO_FORMAT_BGRx
      || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return g_strdup_printf ("%ux%u unmapped", width, height);
  if (height == 0 || stride < width * 4u
      || map.size < offset + stride * (height - 1) + width * 4u)
    n = -1;
  else
    n = pattern_frame (map.data + offset, width, height, stride);
  gst_buffer_unmap (buffer, &map);
  if (n < 0)
    return g_strdup_printf ("%ux%u invalid", width, height);
  return g_strdup_printf ("%ux%u frame=%d", width, height, n);
}

/* Under the lock. */
static void
end_run (App * app)
{
  if (app->c.run)
    say ("run %s buffers=%" G_GUINT64_FORMAT, app->c.run, app->c.run_buffers);
  g_clear_pointer (&app->c.run, g_free);
  app->c.run_buffers = 0;
}

static void
set_caps (App * app, GstCaps * caps)
{
  GstVideoInfoDmaDrm drm;
  gchar *text = gst_caps_to_string (caps);

  say ("caps %s", text);
  g_free (text);
  /* DMA_DRM caps describe a linear BGRx plane as drm-format=XR24. */
  app->c.dma_drm = gst_video_is_dma_drm_caps (caps);
  if (app->c.dma_drm)
    app->c.have_vinfo = gst_video_info_dma_drm_from_caps (&drm, caps)
        && gst_video_info_dma_drm_to_video_info (&drm, &app->c.vinfo);
  else
    app->c.have_vinfo = gst_video_info_from_caps (&app->c.vinfo, caps);
}

static GstPadProbeReturn
sink_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  App *app = user_data;
  gchar *state;

  g_mutex_lock (&app->c.lock);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCaps *caps;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      gst_event_parse_caps (event, &caps);
      end_run (app);
      set_caps (app, caps);
    }
  } else if (app->c.have_vinfo) {
    state = describe_buffer (app, GST_PAD_PROBE_INFO_BUFFER (info));
    if (app->c.run && strcmp (app->c.run, state))
      end_run (app);
    if (!app->c.run)
      app->c.run = state;
    else
      g_free (state);
    app->c.run_buffers++;
  }
  g_mutex_unlock (&app->c.lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
source_caps_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps;
  gchar *text;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    gst_event_parse_caps (event, &caps);
    text = gst_caps_to_string (caps);
    say ("source-caps %s", text);
    g_free (text);
  }
  return GST_PAD_PROBE_OK;
}

/* At the first buffer: the rate counts from here; --ready's file. */
static GstPadProbeReturn
first_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Counters *c = user_data;
  GError *error = NULL;

  g_mutex_lock (&c->lock);
  c->first_time = g_get_monotonic_time ();
  g_mutex_unlock (&c->lock);
  if (c->ready_file && !g_file_set_contents (c->ready_file, "", 0, &error)) {
    say ("error: --ready: %s", error->message);
    g_clear_error (&error);
  }
  return GST_PAD_PROBE_REMOVE;
}

/* ---- messages ---- */

/* In the thread that posts: vfiogfxsrc posts its signal messages from the
 * streaming thread, so they land between the runs they separate. */
static GstBusSyncReply
sync_handler (GstBus * bus, GstMessage * message, gpointer user_data)
{
  App *app = user_data;
  const GstStructure *s = gst_message_get_structure (message);
  gboolean present;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ELEMENT
      && gst_structure_has_name (s, "vfiogfxsrc-signal")
      && gst_structure_get_boolean (s, "present", &present)) {
    g_mutex_lock (&app->c.lock);
    end_run (app);
    say ("signal present=%s", present ? "true" : "false");
    g_mutex_unlock (&app->c.lock);
  }
  return GST_BUS_PASS;
}

static void
print_gerror (const gchar * what, GError * error, const gchar * debug)
{
  say ("%s: %s", what, error->message);
  if (debug)
    say ("debug: %s", debug);
}

static gboolean
bus_watch (GstBus * bus, GstMessage * message, gpointer user_data)
{
  App *app = user_data;
  GError *error = NULL;
  gchar *debug = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR:
      /* The first error says why; those after it are consequences. */
      gst_message_parse_error (message, &error, &debug);
      print_gerror (app->status ? "later error" : "error", error, debug);
      app->status = 1;
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (message, &error, &debug);
      print_gerror ("warning", error, debug);
      break;
    case GST_MESSAGE_INFO:
      gst_message_parse_info (message, &error, &debug);
      print_gerror ("info", error, debug);
      break;
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  g_clear_error (&error);
  g_free (debug);
  return G_SOURCE_CONTINUE;
}

/* ---- time ---- */

static gdouble
elapsed (App * app)
{
  return (g_get_monotonic_time () - app->start) / 1e6;
}

static gboolean
eos_timed_out (gpointer user_data)
{
  App *app = user_data;

  say ("error: no EOS %d s after it was sent", app->eos_timeout);
  app->eos_timeout_id = 0;
  app->status = 1;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static void
send_eos (App * app)
{
  if (app->eos_sent)
    return;
  app->eos_sent = TRUE;
  app->eos_time = g_get_monotonic_time ();
  app->eos_frames = g_atomic_int_get (&app->c.frames);
  say ("sending EOS after %.1f s", elapsed (app));
  /* First let go: the source may be waiting for room in the queue. */
  if (app->hold_probe) {
    gst_pad_remove_probe (app->hold_pad, app->hold_probe);
    app->hold_probe = 0;
  }
  gst_element_send_event (app->pipeline, gst_event_new_eos ());
  app->eos_timeout_id = g_timeout_add_seconds (app->eos_timeout,
      eos_timed_out, app);
}

static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  app->interrupted = TRUE;
  if (!app->pipeline)
    return G_SOURCE_CONTINUE;
  if (app->eos_sent) {
    say ("error: interrupted again: quitting without EOS");
    app->status = 1;
    g_main_loop_quit (app->loop);
  }
  send_eos (app);
  return G_SOURCE_CONTINUE;
}

/* --set-on-usr1: on every vfiogfxsrc of the pipeline. */
static gboolean
on_usr1 (gpointer user_data)
{
  App *app = user_data;
  g_auto (GStrv) kv = g_strsplit (app->set_on_usr1, "=", 2);

  if (!kv[0] || !kv[1]) {
    say ("error: --set-on-usr1 takes PROP=VALUE, not '%s'", app->set_on_usr1);
    return G_SOURCE_CONTINUE;
  }
  say ("set %s=%s", kv[0], kv[1]);
  for (guint i = 0; app->sources && i < app->sources->len; i++)
    gst_util_set_object_arg (G_OBJECT (g_array_index (app->sources, Source,
                i).element), kv[0], kv[1]);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_duration (gpointer user_data)
{
  App *app = user_data;

  app->duration_id = 0;
  send_eos (app);
  return G_SOURCE_REMOVE;
}

static gboolean
on_progress (gpointer user_data)
{
  App *app = user_data;
  gint frames = g_atomic_int_get (&app->c.frames);
  gchar enc[64] = "";

  if (app->have_enc)
    g_snprintf (enc, sizeof enc, ", %d encoded",
        g_atomic_int_get (&app->c.encoded));
  say ("progress %5.1f s: %d frames (%d fps)%s%s", elapsed (app), frames,
      frames - app->c.frames_at_last_tick, enc,
      app->eos_sent ? ", finishing" : "");
  app->c.frames_at_last_tick = frames;
  return G_SOURCE_CONTINUE;
}

/* ---- set-up ---- */

/* Every vfiogfxsrc, in the order of the description. */
static void
find_sources (App * app)
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (app->pipeline));
  GValue item = G_VALUE_INIT;

  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&item);
    GstElementFactory *f = gst_element_get_factory (e);

    /* The bin iterates its children from the last added. */
    if (f && !g_strcmp0 (GST_OBJECT_NAME (f), "vfiogfxsrc")) {
      Source source = {.element = gst_object_ref (e) };

      g_array_prepend_val (app->sources, source);
    }
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  if (app->sources->len)
    app->src = g_array_index (app->sources, Source, 0).element;
}

static GstPadProbeReturn
hold_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  return GST_PAD_PROBE_OK;
}

static gboolean
add_hold (App * app)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (app->pipeline), app->hold);

  if (!e) {
    say ("error: --hold: no element named '%s'", app->hold);
    return FALSE;
  }
  app->hold_pad = gst_element_get_static_pad (e, "src");
  gst_object_unref (e);
  if (!app->hold_pad) {
    say ("error: --hold: '%s' has no src pad", app->hold);
    return FALSE;
  }
  app->hold_probe = gst_pad_add_probe (app->hold_pad,
      GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER, hold_probe, NULL,
      NULL);
  return TRUE;
}

/* --meta: a sink that reads GstVideoMeta says so (fakesink itself does
 * not answer allocation queries). */
static GstPadProbeReturn
meta_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (GST_QUERY_TYPE (query) != GST_QUERY_ALLOCATION)
    return GST_PAD_PROBE_OK;
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return GST_PAD_PROBE_HANDLED;
}

static void
add_probes (App * app)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (app->pipeline), "sink");
  GstElement *enc = gst_bin_get_by_name (GST_BIN (app->pipeline), "enc");
  GstPad *pad;

  for (guint i = 0; i < app->sources->len; i++) {
    Source *s = &g_array_index (app->sources, Source, i);

    pad = gst_element_get_static_pad (s->element, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe,
        &s->frames, NULL);
    gst_object_unref (pad);
  }
  pad = gst_element_get_static_pad (app->src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe,
      &app->c.frames, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      source_caps_probe, NULL, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, first_probe, &app->c,
      NULL);
  gst_object_unref (pad);
  if (enc) {
    app->have_enc = TRUE;
    pad = gst_element_get_static_pad (enc, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe,
        &app->c.encoded, NULL);
    gst_object_unref (pad);
    gst_object_unref (enc);
  }
  if (sink) {
    pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, sink_probe, app, NULL);
    if (app->meta)
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM |
          GST_PAD_PROBE_TYPE_PUSH, meta_probe, NULL, NULL);
    gst_object_unref (pad);
    gst_object_unref (sink);
  }
}

/* The stats of every vfiogfxsrc, named. */
static void
print_source_stats (App * app)
{
  for (guint i = 0; i < app->sources->len; i++) {
    GstElement *e = g_array_index (app->sources, Source, i).element;
    GstStructure *stats = NULL;
    gchar *text;

    g_object_get (e, "stats", &stats, NULL);
    if (!stats)
      continue;
    gst_structure_set (stats, "element", G_TYPE_STRING, GST_OBJECT_NAME (e),
        NULL);
    text = gst_structure_to_string (stats);
    say ("stats %s", text);
    g_free (text);
    gst_structure_free (stats);
  }
}

static void
print_stats (App * app)
{
  gint64 end = app->eos_sent ? app->eos_time : g_get_monotonic_time ();
  gint frames = app->eos_sent ? app->eos_frames : app->c.frames;
  gdouble seconds = 0;

  print_source_stats (app);
  for (guint i = 0; i < app->sources->len; i++) {
    Source *s = &g_array_index (app->sources, Source, i);

    say ("source %s frames=%d", GST_OBJECT_NAME (s->element),
        g_atomic_int_get (&s->frames));
  }
  /* The rate of the capture: from the first frame up to EOS, not while
   * the encoder drains. */
  g_mutex_lock (&app->c.lock);
  if (app->c.first_time)
    seconds = (end - app->c.first_time) / 1e6;
  g_mutex_unlock (&app->c.lock);
  say ("done: %d frames in %.1f s (%.1f fps)%s", frames, seconds,
      seconds > 0 ? (frames - 1) / seconds : 0.0,
      app->eos_sent ? " until EOS" : "");
}

/* ---- segments: --frames and --cycles ---- */

static gboolean
set_state_and_wait (App * app, GstState state)
{
  GstStateChangeReturn ret = gst_element_set_state (app->pipeline, state);

  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state (app->pipeline, NULL, NULL, 30 * GST_SECOND);
  if (ret == GST_STATE_CHANGE_FAILURE || ret == GST_STATE_CHANGE_ASYNC) {
    say ("error: could not go to %s", gst_element_state_get_name (state));
    return FALSE;
  }
  return TRUE;
}

/* PAUSED, READY (vfiogfxsrc stops streaming, the device stays open) and
 * PLAYING again; the stats before the restart, as start() zeroes them. */
static gboolean
restart (App * app)
{
  say ("restart %d of %d", app->cycles_done + 1, app->cycles);
  if (!set_state_and_wait (app, GST_STATE_PAUSED))
    return FALSE;
  g_usleep (G_USEC_PER_SEC / 5);
  if (!set_state_and_wait (app, GST_STATE_READY))
    return FALSE;
  print_source_stats (app);
  app->cycles_done++;
  return set_state_and_wait (app, GST_STATE_PLAYING);
}

/* True when every vfiogfxsrc pushed the buffers of a segment. */
static gboolean
segment_done (App * app)
{
  for (guint i = 0; i < app->sources->len; i++) {
    Source *s = &g_array_index (app->sources, Source, i);

    if (g_atomic_int_get (&s->frames) - s->segment_start <
        app->frames_per_segment)
      return FALSE;
  }
  return TRUE;
}

static gboolean
on_segment_check (gpointer user_data)
{
  App *app = user_data;

  if (app->eos_sent || !segment_done (app))
    return G_SOURCE_CONTINUE;
  if (app->cycles_done == app->cycles) {
    app->segment_id = 0;
    send_eos (app);
    return G_SOURCE_REMOVE;
  }
  if (!restart (app)) {
    app->segment_id = 0;
    app->status = 1;
    g_main_loop_quit (app->loop);
    return G_SOURCE_REMOVE;
  }
  for (guint i = 0; i < app->sources->len; i++) {
    Source *s = &g_array_index (app->sources, Source, i);

    s->segment_start = g_atomic_int_get (&s->frames);
  }
  return G_SOURCE_CONTINUE;
}

/* ---- main ---- */

/* Builds the pipeline from @description, runs it until EOS or an error
 * and frees it. */
static void
run_pipeline (App * app, const gchar * description, gdouble duration)
{
  GError *error = NULL;
  GstBus *bus;

  memset (&app->c.vinfo, 0, sizeof app->c.vinfo);
  app->c.have_vinfo = FALSE;
  app->c.frames = app->c.encoded = app->c.frames_at_last_tick = 0;
  app->c.first_time = 0;
  app->eos_sent = FALSE;
  app->cycles_done = 0;
  app->pipeline = gst_parse_launch (description, &error);
  if (!app->pipeline) {
    say ("error: bad pipeline: %s", error->message);
    g_clear_error (&error);
    app->status = 2;
    return;
  }
  app->sources = g_array_new (FALSE, TRUE, sizeof (Source));
  find_sources (app);
  if (!app->src) {
    say ("error: no vfiogfxsrc in '%s'", description);
    app->status = 2;
    goto done;
  }
  add_probes (app);
  if (app->hold && !add_hold (app)) {
    app->status = 2;
    goto done;
  }

  bus = gst_element_get_bus (app->pipeline);
  gst_bus_set_sync_handler (bus, sync_handler, app, NULL);
  gst_bus_add_watch (bus, bus_watch, app);
  if (duration > 0)
    app->duration_id = g_timeout_add (duration * 1000, on_duration, app);
  if (app->progress)
    app->progress_id = g_timeout_add_seconds (1, on_progress, app);
  if (app->frames_per_segment > 0)
    app->segment_id = g_timeout_add (50, on_segment_check, app);

  app->start = g_get_monotonic_time ();
  if (gst_element_set_state (app->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE) {
    g_main_loop_run (app->loop);
  } else {
    /* The error message that says why is still on the bus. */
    GstMessage *m;

    while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR |
                GST_MESSAGE_WARNING))) {
      bus_watch (bus, m, app);
      gst_message_unref (m);
    }
    if (app->status == 0)
      say ("error: the pipeline did not start, and no element said why");
    app->status = 1;
  }

  gst_element_set_state (app->pipeline, GST_STATE_NULL);
  g_mutex_lock (&app->c.lock);
  end_run (app);
  g_mutex_unlock (&app->c.lock);
  print_stats (app);

  g_clear_handle_id (&app->eos_timeout_id, g_source_remove);
  g_clear_handle_id (&app->duration_id, g_source_remove);
  g_clear_handle_id (&app->progress_id, g_source_remove);
  g_clear_handle_id (&app->segment_id, g_source_remove);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
done:
  gst_clear_object (&app->hold_pad);
  app->hold_probe = 0;
  for (guint i = 0; i < app->sources->len; i++)
    gst_object_unref (g_array_index (app->sources, Source, i).element);
  g_clear_pointer (&app->sources, g_array_unref);
  app->src = NULL;
  gst_clear_object (&app->pipeline);
}

int
main (int argc, char **argv)
{
  App app = {.eos_timeout = 60 };
  gdouble duration = 0;
  gint runs = 1;
  gchar **args = NULL, *description;
  GOptionEntry entries[] = {
    {"check", 0, 0, G_OPTION_ARG_NONE, &app.check,
        "Check buffers at 'sink' against the test pattern", NULL},
    {"meta", 0, 0, G_OPTION_ARG_NONE, &app.meta,
        "'sink' reads GstVideoMeta", NULL},
    {"progress", 0, 0, G_OPTION_ARG_NONE, &app.progress,
        "A progress line every second", NULL},
    {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration,
        "Send EOS after S seconds", "S"},
    {"ready", 0, 0, G_OPTION_ARG_FILENAME, &app.c.ready_file,
        "Create FILE at the first buffer", "FILE"},
    {"hold", 0, 0, G_OPTION_ARG_STRING, &app.hold,
        "Hold back the output of element NAME until EOS", "NAME"},
    {"eos-timeout", 0, 0, G_OPTION_ARG_INT, &app.eos_timeout,
        "Give up S seconds after EOS (60)", "S"},
    {"set-on-usr1", 0, 0, G_OPTION_ARG_STRING, &app.set_on_usr1,
        "Set a property of vfiogfxsrc at SIGUSR1", "PROP=VALUE"},
    {"frames", 0, 0, G_OPTION_ARG_INT, &app.frames_per_segment,
        "EOS once every vfiogfxsrc pushed K buffers", "K"},
    {"cycles", 0, 0, G_OPTION_ARG_INT, &app.cycles,
        "Restart (PAUSED, READY, PLAYING) N times, every K buffers", "N"},
    {"runs", 0, 0, G_OPTION_ARG_INT, &runs,
        "Build and run the pipeline N times", "N"},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL,
        "PIPELINE..."},
    {NULL},
  };
  GOptionContext *context = g_option_context_new ("PIPELINE...");
  GError *error = NULL;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error) || !args) {
    fprintf (stderr, "capture: %s\n", error ? error->message :
        "no pipeline given");
    return 2;
  }
  g_option_context_free (context);
  gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (log_function, NULL, NULL);
  if (app.cycles < 0 || app.frames_per_segment < 0 || runs < 1) {
    fprintf (stderr, "capture: --cycles, --frames and --runs take counts\n");
    return 2;
  }
  if (app.cycles > 0 && app.frames_per_segment == 0)
    app.frames_per_segment = 10;
  g_mutex_init (&app.c.lock);

  description = g_strjoinv (" ", args);
  app.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  if (app.set_on_usr1)
    g_unix_signal_add (SIGUSR1, on_usr1, &app);
  for (gint run = 1; run <= runs && !app.status && !app.interrupted; run++) {
    if (runs > 1)
      say ("pipeline %d of %d", run, runs);
    run_pipeline (&app, description, duration);
  }

  g_main_loop_unref (app.loop);
  g_free (description);
  g_strfreev (args);
  return app.status;
}
