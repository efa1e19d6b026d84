/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pipeline under measurement: SRC ! capsfilter ! fakesink sync=false, and
 * a window over which everything is counted. The window opens when the
 * warm-up buffer leaves the source (a pad probe, removed then, so that the
 * measured pushes carry no probe) and closes at EOS or after a time.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#define DEFAULT_WARMUP 1000
#define RUN_TIMEOUT (900 * GST_SECOND)

struct _BenchRun
{
  GstElement *pipeline;
  GstElement *src;
  BenchDevice *dev;
  GstBus *bus;
  guint64 warmup;
  guint64 seen;                 /* streaming thread, until the window */
  gint started;                 /* atomic */
  BenchSnapshot start;
  BenchSnapshot end;
};

BenchRun *
bench_run_new (GstElement * src, const gchar * caps, GstClock * clock,
    BenchDevice * dev)
{
  BenchRun *run = g_new0 (BenchRun, 1);
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);

  if (!filter || !sink)
    g_error ("no capsfilter or fakesink: is GST_PLUGIN_PATH right?");
  gst_util_set_object_arg (G_OBJECT (filter), "caps", caps);
  g_object_set (sink, "sync", FALSE, NULL);

  run->pipeline = gst_pipeline_new (NULL);
  run->src = gst_object_ref (src);
  run->dev = dev;
  run->warmup = DEFAULT_WARMUP;
  gst_bin_add_many (GST_BIN (run->pipeline), src, filter, sink, NULL);
  if (!gst_element_link_many (src, filter, sink, NULL))
    g_error ("cannot link the pipeline");
  if (clock)
    gst_pipeline_use_clock (GST_PIPELINE (run->pipeline), clock);
  run->bus = gst_element_get_bus (run->pipeline);
  return run;
}

void
bench_run_free (BenchRun * run)
{
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  gst_object_unref (run->bus);
  gst_object_unref (run->src);
  gst_object_unref (run->pipeline);
  g_free (run);
}

GstElement *
bench_run_get_source (BenchRun * run)
{
  return run->src;
}

void
bench_run_set_warmup (BenchRun * run, guint64 warmup)
{
  run->warmup = MAX (warmup, 1);
}

static guint64
stat_of (const GstStructure * stats, const gchar * name)
{
  guint64 value = 0;

  gst_structure_get_uint64 (stats, name, &value);
  return value;
}

void
bench_snapshot_take (BenchSnapshot * snap, GstElement * src, BenchDevice * dev)
{
  GstStructure *stats;

  snap->time_ns = bench_now_ns ();
  snap->cpu_ns = bench_cpu_ns ();
  for (guint i = 0; i < BENCH_N_IOCTLS; i++)
    snap->ioctls[i] = dev ? bench_device_ioctl_count (dev, i) : 0;
  bench_alloc_counts_read (&snap->allocs);

  g_object_get (src, "stats", &stats, NULL);
  snap->frames = stat_of (stats, "frames");
  snap->queries = stat_of (stats, "queries");
  snap->exports = stat_of (stats, "exports");
  snap->bytes_copied = stat_of (stats, "bytes-copied");
  gst_structure_free (stats);
}

static GstPadProbeReturn
on_warmup_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  BenchRun *run = user_data;

  if (++run->seen < run->warmup)
    return GST_PAD_PROBE_OK;
  bench_snapshot_take (&run->start, run->src, run->dev);
  g_atomic_int_set (&run->started, 1);
  return GST_PAD_PROBE_REMOVE;
}

gboolean
bench_run_start (BenchRun * run, guint64 frames)
{
  GstPad *pad = gst_element_get_static_pad (run->src, "src");

  g_object_set (run->src, "num-buffers",
      frames ? (gint) MIN (frames, G_MAXINT) : -1, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_warmup_buffer, run,
      NULL);
  gst_object_unref (pad);
  return gst_element_set_state (run->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE;
}

/* EOS (TRUE) or an error (printed), within @timeout. */
static gboolean
wait_message (BenchRun * run, GstClockTime timeout, gboolean * timed_out)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (run->bus, timeout,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;

  *timed_out = msg == NULL;
  if (!msg)
    return FALSE;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    gst_message_unref (msg);
    return TRUE;
  }
  gst_message_parse_error (msg, &error, &debug);
  g_printerr ("vfio-bench: %s (%s)\n", error->message, debug);
  gst_message_unref (msg);
  return FALSE;
}

gboolean
bench_run_wait (BenchRun * run)
{
  gboolean timed_out;
  gboolean ok = wait_message (run, RUN_TIMEOUT, &timed_out);

  if (timed_out)
    g_printerr ("vfio-bench: no EOS after %" GST_TIME_FORMAT "\n",
        GST_TIME_ARGS (RUN_TIMEOUT));
  if (ok)
    bench_snapshot_take (&run->end, run->src, run->dev);
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  return ok && g_atomic_int_get (&run->started);
}

gboolean
bench_run_started (BenchRun * run)
{
  return g_atomic_int_get (&run->started);
}

gboolean
bench_run_frames (BenchRun * run, guint64 frames)
{
  if (frames <= run->warmup) {
    g_printerr ("vfio-bench: %" G_GUINT64_FORMAT " frames is not more than "
        "the warm-up (%" G_GUINT64_FORMAT ")\n", frames, run->warmup);
    return FALSE;
  }
  return bench_run_start (run, frames) && bench_run_wait (run);
}

gboolean
bench_run_seconds (BenchRun * run, gdouble seconds)
{
  gboolean timed_out = FALSE;

  if (!bench_run_start (run, 0))
    return FALSE;
  while (!g_atomic_int_get (&run->started)) {
    if (wait_message (run, 10 * GST_MSECOND, &timed_out) || !timed_out)
      goto stopped;
  }
  if (wait_message (run, seconds * GST_SECOND, &timed_out) || !timed_out)
    goto stopped;
  bench_snapshot_take (&run->end, run->src, run->dev);
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  return TRUE;

stopped:
  g_printerr ("vfio-bench: the pipeline stopped before the time was up\n");
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  return FALSE;
}

void
bench_run_window (BenchRun * run, BenchSnapshot * start, BenchSnapshot * end)
{
  *start = run->start;
  *end = run->end;
}

static void
per_frame (const gchar * prefix, const gchar * name, guint64 a, guint64 b,
    guint64 frames, const gchar * unit)
{
  bench_figure (prefix, name, (gdouble) (b - a) / frames, unit);
}

static void
report_ioctls (const gchar * prefix, const BenchSnapshot * a,
    const BenchSnapshot * b, guint64 frames)
{
  static const gchar *names[BENCH_N_IOCTLS] = {
    "query_ioctls", "export_ioctls", "sync_ioctls", "other_ioctls",
  };

  for (guint i = 0; i < BENCH_N_IOCTLS; i++)
    per_frame (prefix, names[i], a->ioctls[i], b->ioctls[i], frames,
        "ioctls/frame");
}

static void
report_allocs (const gchar * prefix, const BenchSnapshot * a,
    const BenchSnapshot * b, guint64 frames)
{
  per_frame (prefix, "buffers", a->allocs.buffers, b->allocs.buffers,
      frames, "allocs/frame");
  per_frame (prefix, "memories", a->allocs.memories, b->allocs.memories,
      frames, "allocs/frame");
  per_frame (prefix, "other_miniobjects", a->allocs.other, b->allocs.other,
      frames, "allocs/frame");
}

void
bench_run_report (BenchRun * run, const gchar * prefix)
{
  const BenchSnapshot *a = &run->start, *b = &run->end;
  guint64 frames = b->frames - a->frames;
  gdouble seconds = (b->time_ns - a->time_ns) / 1e9;

  if (frames == 0) {
    g_printerr ("vfio-bench: %s: no frame in the window\n", prefix);
    return;
  }
  bench_figure (prefix, "frames", frames, "frames");
  bench_figure (prefix, "seconds", seconds, "s");
  bench_figure (prefix, "fps", frames / seconds, "frames/s");
  bench_figure (prefix, "ns_per_frame", seconds * 1e9 / frames, "ns");
  per_frame (prefix, "cpu_ns_per_frame", a->cpu_ns, b->cpu_ns, frames, "ns");
  per_frame (prefix, "queries", a->queries, b->queries, frames,
      "queries/frame");
  per_frame (prefix, "exports", a->exports, b->exports, frames,
      "exports/frame");
  per_frame (prefix, "bytes_copied", a->bytes_copied, b->bytes_copied,
      frames, "bytes/frame");
  if (bench_device_is_emulated ())
    report_ioctls (prefix, a, b, frames);
  if (bench_alloc_counting_enabled ())
    report_allocs (prefix, a, b, frames);
}
