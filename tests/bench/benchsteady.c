/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Steady state and scale: sources on the instant clock, CPU-bound.
 *
 * steady runs one variant (vfiogfxsrc, or a BenchSrc alternative) over a
 * window of frames and a bare QUERY_GFX_PLANE loop on the same device
 * before and after it, so that the element's frame rate can be set against
 * what the device allows. scale runs one source, then --sources sources in
 * as many pipelines of the same process, and compares CPU time per frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "benchmain.h"

#include <string.h>

#define MAX_FPS 1000

static const gchar *const variants[] = {
  "element", "floor", "floor-paced", "reexport", "copy", NULL
};

GstElement *
bench_make_source (const gchar * variant, BenchDevice * dev, guint width,
    guint height)
{
  GstElement *src;

  if (strcmp (variant, "element") == 0) {
    src = gst_element_factory_make ("vfiogfxsrc", NULL);
    if (!src)
      g_error ("no vfiogfxsrc: is GST_PLUGIN_PATH right?");
    g_object_set (src, "device-fd", bench_device_fd (dev), NULL);
    return src;
  }
  if (strcmp (variant, "floor") == 0)
    return bench_src_new (BENCH_SRC_FLOOR, -1, width, height);
  if (strcmp (variant, "floor-paced") == 0)
    return bench_src_new (BENCH_SRC_FLOOR_PACED, -1, width, height);
  if (strcmp (variant, "reexport") == 0) {
    bench_device_allow_reexport (dev);
    return bench_src_new (BENCH_SRC_REEXPORT, bench_device_fd (dev), 0, 0);
  }
  if (strcmp (variant, "copy") == 0)
    return bench_src_new (BENCH_SRC_COPY, bench_device_fd (dev), 0, 0);
  return NULL;
}

/* The capsfilter of @variant. The element negotiates the template's top
 * rate, 1000/1; the others fix their caps themselves. */
const gchar *
bench_caps_for (const gchar * variant, guint rate)
{
  g_autofree gchar *caps = NULL;

  if (strcmp (variant, "element") != 0)
    return strcmp (variant, "copy") == 0 ? "video/x-raw" :
        "video/x-raw(memory:DMABuf)";
  if (strcmp (opts.caps, "sysmem") == 0)
    caps = g_strdup_printf ("video/x-raw, format=BGRx, framerate=%u/1", rate);
  else
    caps = g_strdup_printf ("video/x-raw(memory:DMABuf), framerate=%u/1", rate);
  return g_intern_string (caps);
}

/* The element's window against the bare loop, in wall and in CPU time. */
static void
report_bare (BenchRun * run, const gchar * prefix, const BenchBare * bare)
{
  BenchSnapshot a, b;
  guint64 frames;

  bench_run_window (run, &a, &b);
  frames = b.frames - a.frames;
  bench_figure (prefix, "bare_calls", bare->calls, "calls");
  bench_figure (prefix, "bare_ns_per_call", bare->ns_per_call, "ns");
  bench_figure (prefix, "bare_cpu_ns_per_call", bare->cpu_ns_per_call, "ns");
  bench_figure (prefix, "bare_calls_per_s", 1e9 / bare->ns_per_call,
      "calls/s");
  bench_figure (prefix, "fps_vs_bare",
      bare->ns_per_call * frames / (b.time_ns - a.time_ns), "ratio");
  bench_figure (prefix, "cpu_vs_bare",
      bare->cpu_ns_per_call * frames / (b.cpu_ns - a.cpu_ns), "ratio");
}

/* The bare loop, before and after each run: the best of all is kept. */
static gboolean
bare (BenchDevice * dev, BenchBare * best)
{
  BenchBare now;

  if (!bench_bare_loop (dev, opts.frames, opts.bare_seconds, &now))
    return FALSE;
  if (best->calls == 0 || now.ns_per_call < best->ns_per_call)
    best->ns_per_call = now.ns_per_call;
  if (best->calls == 0 || now.cpu_ns_per_call < best->cpu_ns_per_call)
    best->cpu_ns_per_call = now.cpu_ns_per_call;
  best->calls += now.calls;
  return TRUE;
}

static gdouble
window_ns_per_frame (BenchRun * run)
{
  BenchSnapshot a, b;

  bench_run_window (run, &a, &b);
  return (gdouble) (b.time_ns - a.time_ns) / MAX (b.frames - a.frames, 1);
}

/* One repetition on a new pipeline; NULL when it could not run. */
static BenchRun *
steady_once (BenchDevice * dev, GstClock * clock, guint width, guint height)
{
  GstElement *src = bench_make_source (opts.variant, dev, width, height);
  BenchRun *run;
  gboolean ok;

  run = bench_run_new (src, bench_caps_for (opts.variant, MAX_FPS), clock, dev);
  bench_run_set_warmup (run, opts.warmup);
  ok = opts.seconds > 0 ? bench_run_seconds (run, opts.seconds) :
      bench_run_frames (run, opts.frames);
  if (!ok)
    g_clear_pointer (&run, bench_run_free);
  return run;
}

/* --repeat runs; the figures are those of the fastest, as the slower ones
 * were slowed by something else on the machine. */
static BenchRun *
steady_best (BenchDevice * dev, guint width, guint height, BenchBare * best)
{
  g_autoptr (GstClock) clock = bench_instant_clock_new ();
  gboolean with_bare = !opts.no_bare && dev != NULL;
  BenchRun *fastest = NULL;
  gdouble slowest = 0;

  for (gint i = 0; i < MAX (opts.repeat, 1); i++) {
    BenchRun *run = NULL;

    if ((with_bare && !bare (dev, best))
        || !(run = steady_once (dev, clock, width, height))
        || (with_bare && !bare (dev, best))) {
      g_clear_pointer (&run, bench_run_free);
      g_clear_pointer (&fastest, bench_run_free);
      break;
    }
    slowest = MAX (slowest, window_ns_per_frame (run));
    if (!fastest
        || window_ns_per_frame (run) < window_ns_per_frame (fastest)) {
      g_clear_pointer (&fastest, bench_run_free);
      fastest = g_steal_pointer (&run);
    }
    g_clear_pointer (&run, bench_run_free);
  }
  if (fastest)
    bench_figure (opts.name ? opts.name : opts.variant, "fps_slowest",
        1e9 / slowest, "frames/s");
  return fastest;
}

gint
bench_cmd_steady (void)
{
  const gchar *prefix = opts.name ? opts.name : opts.variant;
  BenchBare best = { 0, };
  BenchDevice *dev = NULL;
  guint width, height;
  const gchar *mode;
  BenchRun *run;

  if (!bench_parse_mode (opts.mode, &width, &height))
    return 2;
  if (!g_strv_contains (variants, opts.variant)) {
    g_printerr ("vfio-bench: unknown variant '%s'\n", opts.variant);
    return 2;
  }
  if (!g_str_has_prefix (opts.variant, "floor")
      && !(dev = bench_device_new (0, width, height)))
    return 2;
  mode = opts.mode;
  if (!bench_device_is_emulated ())
    mode = "the guest's mode";
  bench_note ("%s: %s on the %s device, %s, best of %d", prefix,
      opts.variant, bench_device_kind (), mode, MAX (opts.repeat, 1));

  run = steady_best (dev, width, height, &best);
  if (run) {
    bench_figure (prefix, "repeats", MAX (opts.repeat, 1), "runs");
    bench_run_report (run, prefix);
    if (best.calls)
      report_bare (run, prefix, &best);
    bench_run_free (run);
  }
  if (dev)
    bench_device_free (dev);
  return run ? 0 : 1;
}

/* ---- scale ---- */

typedef struct
{
  gdouble cpu_ns_per_frame;
  gdouble fps;                  /* all sources together */
} ScaleResult;

static gboolean
all_started (BenchRun ** runs, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (!bench_run_started (runs[i]))
      return FALSE;
  }
  return TRUE;
}

/* Plays @n pipelines at once. The window runs from the moment every source
 * is past its warm-up (so that no start-up, such as the emulator's first
 * export, is in it) to the last EOS. */
static gboolean
play_all (BenchRun ** runs, guint n, ScaleResult * res)
{
  g_autofree BenchSnapshot *mid = g_new0 (BenchSnapshot, n);
  BenchSnapshot start, end;
  guint64 cpu, t, frames = 0;
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++)
    ok &= bench_run_start (runs[i], opts.frames);
  while (ok && !all_started (runs, n))
    g_usleep (1000);
  cpu = bench_cpu_ns ();
  t = bench_now_ns ();
  for (guint i = 0; i < n; i++)
    bench_snapshot_take (&mid[i], bench_run_get_source (runs[i]), NULL);
  for (guint i = 0; i < n; i++)
    ok &= bench_run_wait (runs[i]);
  for (guint i = 0; i < n && ok; i++) {
    bench_run_window (runs[i], &start, &end);
    frames += end.frames - mid[i].frames;
  }
  if (!ok || frames == 0)
    return FALSE;
  res->cpu_ns_per_frame = (gdouble) (bench_cpu_ns () - cpu) / frames;
  res->fps = frames / ((bench_now_ns () - t) / 1e9);
  return TRUE;
}

static gboolean
scale_round (guint n, guint first_index, GstClock * clock, ScaleResult * res)
{
  g_autofree BenchRun **runs = g_new0 (BenchRun *, n);
  gboolean ok = TRUE;
  guint width, height;

  bench_parse_mode (opts.mode, &width, &height);
  for (guint i = 0; i < n; i++) {
    g_autoptr (GstClock) own = opts.clock_per_source ?
        bench_instant_clock_new () : NULL;
    BenchDevice *dev = NULL;

    if (!g_str_has_prefix (opts.variant, "floor")
        && !(dev = bench_device_new (first_index + i, width, height)))
      return FALSE;
    runs[i] = bench_run_new (bench_make_source (opts.variant, dev, width,
            height), bench_caps_for (opts.variant, MAX_FPS), own ? own : clock,
        dev);
    bench_run_set_warmup (runs[i], opts.warmup);
  }
  ok = play_all (runs, n, res);
  for (guint i = 0; i < n; i++)
    bench_run_free (runs[i]);
  return ok;
}

static void
keep_best (ScaleResult * best, const ScaleResult * res, gboolean first)
{
  if (first || res->cpu_ns_per_frame < best->cpu_ns_per_frame)
    best->cpu_ns_per_frame = res->cpu_ns_per_frame;
  if (first || res->fps > best->fps)
    best->fps = res->fps;
}

gint
bench_cmd_scale (void)
{
  g_autoptr (GstClock) clock = bench_instant_clock_new ();
  const gchar *name = opts.name ? opts.name : "scale";
  g_autofree gchar *p1 = g_strconcat (name, ".1", NULL);
  g_autofree gchar *pn = g_strconcat (name, ".n", NULL);
  ScaleResult one, all;
  guint width, height;

  if (!bench_parse_mode (opts.mode, &width, &height) || opts.sources < 1
      || !g_strv_contains (variants, opts.variant))
    return 2;
  bench_note ("%s: 1 then %d %s pipelines in one process, %s, %"
      G_GINT64_FORMAT " frames each, %u CPUs, best of %d", name,
      opts.sources, opts.variant, opts.clock_per_source ? "a clock each" :
      "one clock", opts.frames, g_get_num_processors (),
      MAX (opts.repeat, 1));
  for (gint i = 0; i < MAX (opts.repeat, 1); i++) {
    ScaleResult r1, rn;

    /* Each round on devices of its own: a new device exports at once. */
    if (!scale_round (1, i * (opts.sources + 1), clock, &r1)
        || !scale_round (opts.sources, i * (opts.sources + 1) + 1, clock,
            &rn))
      return 1;
    keep_best (&one, &r1, i == 0);
    keep_best (&all, &rn, i == 0);
  }
  bench_figure (p1, "cpu_ns_per_frame", one.cpu_ns_per_frame, "ns");
  bench_figure (p1, "fps", one.fps, "frames/s");
  bench_figure (pn, "sources", opts.sources, "sources");
  bench_figure (pn, "cpu_ns_per_frame", all.cpu_ns_per_frame, "ns");
  bench_figure (pn, "fps", all.fps, "frames/s");
  bench_figure (pn, "cpu_per_frame_vs_1",
      all.cpu_ns_per_frame / one.cpu_ns_per_frame, "ratio");
  return 0;
}
