/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Latency and stability against the emulated mdev.
 *
 * latency: in plain on-change mode (flip-lock=false) on the system clock,
 * the guest flips at a random phase of the poll period; the figure is the
 * time from the flip (the emulator's timestamp) to the buffer leaving the
 * source (a probe on its src pad), both CLOCK_MONOTONIC.
 *
 * stability: a long run on the instant clock with flips and mode changes
 * (more modes than the dma-buf cache holds, so it evicts), sampling the
 * process's open fds and RSS.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "benchmain.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRIVAL_TIMEOUT (2 * G_TIME_SPAN_SECOND)
#define LATENCY_WARMUP 2
#define FLIP_EVERY 100
#define MODE_EVERY 10000

/* ---- latency ---- */

typedef struct
{
  GMutex lock;
  GCond cond;
  guint64 buffers;
  guint64 last_ns;
} Arrivals;

static GstPadProbeReturn
on_arrival (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Arrivals *arrivals = user_data;
  guint64 now = bench_now_ns ();

  g_mutex_lock (&arrivals->lock);
  arrivals->buffers++;
  arrivals->last_ns = now;
  g_cond_signal (&arrivals->cond);
  g_mutex_unlock (&arrivals->lock);
  return GST_PAD_PROBE_OK;
}

/* When the first buffer after @seen buffers arrived; 0 on a timeout. */
static guint64
wait_arrival (Arrivals * arrivals, guint64 seen)
{
  gint64 deadline = g_get_monotonic_time () + ARRIVAL_TIMEOUT;
  guint64 when = 0;

  g_mutex_lock (&arrivals->lock);
  while (arrivals->buffers <= seen
      && g_cond_wait_until (&arrivals->cond, &arrivals->lock, deadline));
  if (arrivals->buffers > seen)
    when = arrivals->last_ns;
  g_mutex_unlock (&arrivals->lock);
  return when;
}

static guint64
arrivals_count (Arrivals * arrivals)
{
  guint64 n;

  g_mutex_lock (&arrivals->lock);
  n = arrivals->buffers;
  g_mutex_unlock (&arrivals->lock);
  return n;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static void
report_latency (guint rate, GArray * us)
{
  g_autofree gchar *prefix = g_strdup_printf ("latency.%uhz", rate);
  const gdouble *v = (const gdouble *) us->data;
  guint n = us->len, p99 = (n * 99 + 99) / 100 - 1;

  g_array_sort (us, compare_doubles);
  bench_figure (prefix, "samples", n, "flips");
  bench_figure (prefix, "period_us", 1e6 / rate, "us");
  bench_figure (prefix, "median_us", v[n / 2], "us");
  bench_figure (prefix, "p99_us", v[p99], "us");
  bench_figure (prefix, "max_us", v[n - 1], "us");
}

/* Flips at random phases of the poll period; latencies in µs. The first
 * two flips are not counted: they show each buffer once, and the first
 * sight of a buffer costs an export (in the emulator, a fill of every
 * pixel), which steady state does not have. */
static gboolean
sample_latencies (BenchDevice * dev, Arrivals * arrivals, guint rate,
    GArray * us)
{
  gdouble period_us = 1e6 / rate;

  if (!wait_arrival (arrivals, 0))
    return FALSE;
  for (gint i = -LATENCY_WARMUP; i < opts.samples; i++) {
    guint64 seen, arrived, flipped;
    gdouble latency;

    g_usleep (g_random_double_range (0, period_us));
    seen = arrivals_count (arrivals);
    bench_device_flip (dev);
    flipped = bench_device_last_flip_ns (dev);
    if (!(arrived = wait_arrival (arrivals, seen)))
      return FALSE;
    latency = ((gint64) (arrived - flipped)) / 1e3;
    if (i >= 0)
      g_array_append_val (us, latency);
  }
  return TRUE;
}

static gboolean
latency_at (BenchDevice * dev, guint rate)
{
  GstElement *src = bench_make_source ("element", dev, 0, 0);
  g_autoptr (GArray) us = g_array_new (FALSE, FALSE, sizeof (gdouble));
  Arrivals arrivals = { 0, };
  GstPad *pad = gst_element_get_static_pad (src, "src");
  BenchRun *run;
  gboolean ok;

  /* Plain on-change: polling on its own grid, which flip locking (on by
   * default) would leave once the flips look periodic. */
  gst_util_set_object_arg (G_OBJECT (src), "capture-mode", "on-change");
  g_object_set (src, "flip-lock", FALSE, NULL);
  run = bench_run_new (src, bench_caps_for ("element", rate), NULL, dev);
  bench_run_set_warmup (run, 1);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_arrival, &arrivals,
      NULL);
  ok = bench_run_start (run, 0) && sample_latencies (dev, &arrivals, rate, us);
  bench_run_free (run);
  gst_object_unref (pad);
  if (!ok) {
    g_printerr ("vfio-bench: latency at %u Hz: no buffer after a flip\n", rate);
    return FALSE;
  }
  report_latency (rate, us);
  return TRUE;
}

gint
bench_cmd_latency (void)
{
  g_auto (GStrv) rates = g_strsplit (opts.rates, ",", -1);
  BenchDevice *dev;
  guint width, height;

  if (!bench_parse_mode (opts.mode, &width, &height)
      || !(dev = bench_device_new (0, width, height)))
    return 2;
  /* Threads inherit the slack of the thread that makes them. */
  if (opts.timer_slack_ns > 0)
    prctl (PR_SET_TIMERSLACK, (unsigned long) opts.timer_slack_ns);
  bench_note ("latency: on-change, flip-lock off, system clock, %d flips "
      "per rate at a random phase (after %d not counted), timer slack %ld ns",
      opts.samples, LATENCY_WARMUP, (long) prctl (PR_GET_TIMERSLACK));
  for (guint i = 0; rates[i]; i++) {
    guint rate = atoi (rates[i]);

    if (rate < 1 || rate > 1000 || !latency_at (dev, rate))
      return 1;
  }
  return 0;
}

/* ---- stability ---- */

static const guint soak_modes[][2] = {
  {1920, 1080}, {1280, 720}, {1024, 768}, {800, 600}, {640, 480},
  {1600, 900}, {1366, 768}, {1440, 900}, {1280, 1024}, {1680, 1050},
};

typedef struct
{
  BenchDevice *dev;
  guint64 frames;
  guint64 flips;
  guint64 mode_changes;
  GArray *at;                   /* guint64 frame of each sample */
  GArray *fds;                  /* guint64 */
  GArray *rss_kib;              /* guint64 */
} Soak;

static guint64
count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  guint64 n = 0;
  struct dirent *d;

  if (!dir)
    return 0;
  while ((d = readdir (dir)))
    n += d->d_name[0] != '.';
  closedir (dir);
  return n - 1;                 /* the one opendir() holds */
}

static guint64
rss_kib (void)
{
  FILE *f = fopen ("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  guint64 page_kib = sysconf (_SC_PAGESIZE) / 1024;

  if (f) {
    if (fscanf (f, "%lu %lu", &size, &resident) != 2)
      resident = 0;
    fclose (f);
  }
  return resident * page_kib;
}

static void
soak_sample (Soak * soak)
{
  guint64 fds = count_fds (), rss = rss_kib ();

  g_array_append_val (soak->at, soak->frames);
  g_array_append_val (soak->fds, fds);
  g_array_append_val (soak->rss_kib, rss);
}

/* In the streaming thread, before each buffer leaves. */
static GstPadProbeReturn
on_soak_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Soak *soak = user_data;

  soak->frames++;
  if (soak->frames % FLIP_EVERY == 0) {
    bench_device_flip (soak->dev);
    soak->flips++;
  }
  if (soak->frames % MODE_EVERY == 0) {
    guint i = (soak->frames / MODE_EVERY) % G_N_ELEMENTS (soak_modes);

    bench_device_set_mode (soak->dev, soak_modes[i][0], soak_modes[i][1]);
    soak->mode_changes++;
  }
  if (soak->frames % opts.sample_every == 0)
    soak_sample (soak);
  return GST_PAD_PROBE_OK;
}

/* first, last and max of @values from index @from. */
static void
report_series (const gchar * name, GArray * values, guint from,
    const gchar * unit)
{
  g_autofree gchar *first = g_strconcat (name, "_first", NULL);
  g_autofree gchar *last = g_strconcat (name, "_last", NULL);
  g_autofree gchar *max = g_strconcat (name, "_max", NULL);
  guint64 top = 0;

  for (guint i = from; i < values->len; i++)
    top = MAX (top, g_array_index (values, guint64, i));
  bench_figure ("stability", first, g_array_index (values, guint64, from),
      unit);
  bench_figure ("stability", last, g_array_index (values, guint64,
          values->len - 1), unit);
  bench_figure ("stability", max, top, unit);
}

static void
report_soak (Soak * soak, GstElement * src)
{
  /* Samples from the third cycle of modes on: the first two warm up (the
   * first exports every mode, the second evicts and exports again). */
  guint64 warm = 2 * G_N_ELEMENTS (soak_modes) * MODE_EVERY;
  guint from = 0;
  GString *series = g_string_new ("stability samples (frame fds rss_kib):");

  for (guint i = 0; i < soak->at->len; i++) {
    g_string_append_printf (series, " %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT
        ":%" G_GUINT64_FORMAT, g_array_index (soak->at, guint64, i),
        g_array_index (soak->fds, guint64, i),
        g_array_index (soak->rss_kib, guint64, i));
    if (g_array_index (soak->at, guint64, i) < warm)
      from = i + 1;
  }
  bench_note ("%s", series->str);
  g_string_free (series, TRUE);
  from = MIN (from, soak->at->len - 1);
  bench_figure ("stability", "flips", soak->flips, "flips");
  bench_figure ("stability", "mode_changes", soak->mode_changes, "changes");
  bench_figure ("stability", "samples", soak->at->len - from, "samples");
  report_series ("fds", soak->fds, from, "fds");
  report_series ("rss_kib", soak->rss_kib, from, "KiB");
}

gint
bench_cmd_stability (void)
{
  g_autoptr (GstClock) clock = bench_instant_clock_new ();
  Soak soak = { 0, };
  GstElement *src;
  GstPad *pad;
  BenchRun *run;
  gboolean ok;

  if (opts.sample_every < 1 || opts.frames < opts.sample_every)
    return 2;
  soak.dev = bench_device_new (0, soak_modes[0][0], soak_modes[0][1]);
  if (!soak.dev)
    return 2;
  soak.at = g_array_new (FALSE, FALSE, sizeof (guint64));
  soak.fds = g_array_new (FALSE, FALSE, sizeof (guint64));
  soak.rss_kib = g_array_new (FALSE, FALSE, sizeof (guint64));
  bench_note ("stability: %" G_GINT64_FORMAT " frames, a flip every %d, a "
      "mode change every %d among %u modes", opts.frames, FLIP_EVERY,
      MODE_EVERY, (guint) G_N_ELEMENTS (soak_modes));

  src = bench_make_source ("element", soak.dev, 0, 0);
  run = bench_run_new (src, bench_caps_for ("element", 1000), clock, soak.dev);
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_soak_buffer, &soak,
      NULL);
  gst_object_unref (pad);
  ok = bench_run_frames (run, opts.frames);
  if (ok) {
    bench_run_report (run, "stability");
    report_soak (&soak, src);
  }
  bench_run_free (run);
  g_array_unref (soak.at);
  g_array_unref (soak.fds);
  g_array_unref (soak.rss_kib);
  return ok ? 0 : 1;
}
