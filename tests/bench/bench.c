/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-bench: the benchmarks of vfiogfxsrc (docs/performance.md). tools/bench
 * runs them and makes the table; each prints "BENCH name=value unit=..."
 * lines and exits non-zero only when it could not run.
 *
 *   vfio-bench steady [--variant element|floor|floor-paced|reexport|copy]
 *                     [--mode WxH]
 *                     [--frames N | --seconds S] [--count-allocs] [--no-bare]
 *   vfio-bench bare [--frames N]
 *   vfio-bench latency [--rates 60,120,240] [--samples N]
 *   vfio-bench flipsim [--seconds S]
 *   vfio-bench-dev flipvm [--seconds S]
 *   vfio-bench stability [--frames N]
 *   vfio-bench scale [--sources N] [--frames N]
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"
#include "benchmain.h"

#include <errno.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

BenchOptions opts = {
  .variant = "element",
  .mode = "1920x1080",
  .caps = "dmabuf",
  .frames = 100000,
  .warmup = 1000,
  .rates = "60,120,240",
  .samples = 200,
  .sources = 16,
  .repeat = 1,
  .sample_every = 50000,
};

/* *INDENT-OFF* */
static GOptionEntry entries[] = {
  {"variant", 0, 0, G_OPTION_ARG_STRING, &opts.variant,
      "steady, scale: element, floor, floor-paced, reexport or copy", "NAME"},
  {"name", 0, 0, G_OPTION_ARG_STRING, &opts.name,
      "Prefix of the figures (default: the variant)", "NAME"},
  {"mode", 0, 0, G_OPTION_ARG_STRING, &opts.mode,
      "Display mode of the emulated guest", "WxH"},
  {"caps", 0, 0, G_OPTION_ARG_STRING, &opts.caps,
      "element: dmabuf or sysmem caps", "KIND"},
  {"frames", 0, 0, G_OPTION_ARG_INT64, &opts.frames,
      "Frames per run (per source)", "N"},
  {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opts.seconds,
      "steady: run for a time instead of --frames", "S"},
  {"bare-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opts.bare_seconds,
      "steady: time of the bare ioctl loop (default: as many calls as "
      "frames)", "S"},
  {"repeat", 0, 0, G_OPTION_ARG_INT, &opts.repeat,
      "steady, scale: runs, of which the fastest is reported", "N"},
  {"warmup", 0, 0, G_OPTION_ARG_INT64, &opts.warmup,
      "Frames before the measured window", "N"},
  {"count-allocs", 0, 0, G_OPTION_ARG_NONE, &opts.count_allocs,
      "Count buffers and memories (slows every push a little)", NULL},
  {"no-bare", 0, 0, G_OPTION_ARG_NONE, &opts.no_bare,
      "steady: no bare QUERY_GFX_PLANE loop", NULL},
  {"rates", 0, 0, G_OPTION_ARG_STRING, &opts.rates,
      "latency: poll rates in Hz", "LIST"},
  {"samples", 0, 0, G_OPTION_ARG_INT, &opts.samples,
      "latency: flips per rate", "N"},
  {"timer-slack-ns", 0, 0, G_OPTION_ARG_INT, &opts.timer_slack_ns,
      "latency: the timer slack of the streaming threads (default: the "
      "process's, 50 us)", "NS"},
  {"sources", 0, 0, G_OPTION_ARG_INT, &opts.sources,
      "scale: sources in the process", "N"},
  {"clock-per-source", 0, 0, G_OPTION_ARG_NONE, &opts.clock_per_source,
      "scale: a clock per pipeline instead of one for all", NULL},
  {"sample-every", 0, 0, G_OPTION_ARG_INT64, &opts.sample_every,
      "stability: frames between samples of fds and RSS", "N"},
  {NULL}
};
/* *INDENT-ON* */

/* ---- figures ---- */

void
bench_figure (const gchar * prefix, const gchar * name, gdouble value,
    const gchar * unit)
{
  printf ("BENCH %s.%s=%.6g unit=%s\n", prefix, name, value, unit);
  fflush (stdout);
}

void
bench_note (const gchar * format, ...)
{
  va_list ap;

  va_start (ap, format);
  printf ("# ");
  vprintf (format, ap);
  printf ("\n");
  va_end (ap);
  fflush (stdout);
}

gboolean
bench_parse_mode (const gchar * mode, guint * width, guint * height)
{
  return sscanf (mode, "%ux%u", width, height) == 2 && *width > 0
      && *height > 0;
}

/* ---- the bare loop ---- */

/* One QUERY_GFX_PLANE as the element asks it, nothing else. */
gboolean
bench_bare_query (gint fd)
{
  struct vfio_device_gfx_plane_info info;

  memset (&info, 0, sizeof (info));
  info.argsz = sizeof (info);
  info.flags = VFIO_GFX_PLANE_TYPE_DMABUF;
  info.drm_plane_type = 1;
  return ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &info) == 0;
}

/* @calls calls, or as many as fit in @seconds when > 0. */
gboolean
bench_bare_loop (BenchDevice * dev, guint64 calls, gdouble seconds,
    BenchBare * result)
{
  gint fd = bench_device_fd (dev);
  guint64 start, cpu, end, n = 0, deadline;

  /* mbochs fails the first query of a mode it has not seen with ENOMEM. */
  bench_bare_query (fd);
  start = bench_now_ns ();
  cpu = bench_cpu_ns ();
  deadline = start + seconds * 1e9;
  do {
    for (guint i = 0; i < 1024 && (seconds > 0 || n < calls); i++, n++) {
      if (!bench_bare_query (fd)) {
        g_printerr ("vfio-bench: QUERY_GFX_PLANE: %s\n", g_strerror (errno));
        return FALSE;
      }
    }
    end = bench_now_ns ();
  } while (seconds > 0 ? end < deadline : n < calls);
  result->calls = n;
  result->ns_per_call = (gdouble) (end - start) / n;
  result->cpu_ns_per_call = (gdouble) (bench_cpu_ns () - cpu) / n;
  return TRUE;
}

static gint
cmd_bare (void)
{
  guint width, height;
  BenchDevice *dev;
  BenchBare bare;
  gboolean ok;

  if (!bench_parse_mode (opts.mode, &width, &height)
      || !(dev = bench_device_new (0, width, height)))
    return 2;
  ok = bench_bare_loop (dev, opts.frames, opts.bare_seconds, &bare);
  bench_device_free (dev);
  if (!ok)
    return 1;
  bench_figure ("bare", "calls", bare.calls, "calls");
  bench_figure ("bare", "ns_per_call", bare.ns_per_call, "ns");
  bench_figure ("bare", "cpu_ns_per_call", bare.cpu_ns_per_call, "ns");
  bench_figure ("bare", "calls_per_s", 1e9 / bare.ns_per_call, "calls/s");
  return 0;
}

/* ---- main ---- */

typedef gint (*CommandFunc) (void);

static const struct
{
  const gchar *name;
  CommandFunc func;
  gboolean emulated_only;
} commands[] = {
  {"steady", bench_cmd_steady, FALSE},
  {"bare", cmd_bare, FALSE},
  {"latency", bench_cmd_latency, TRUE},
  {"flipsim", bench_cmd_flipsim, TRUE},
  {"flipvm", bench_cmd_flipvm, FALSE},
  {"stability", bench_cmd_stability, TRUE},
  {"scale", bench_cmd_scale, TRUE},
};

gint
main (gint argc, gchar ** argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("COMMAND");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_option_context_set_summary (ctx, "Commands: steady, bare, latency, "
      "flipsim, flipvm, stability, scale (see docs/performance.md).");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    g_printerr ("vfio-bench: %s\n", error ? error->message :
        "one command expected (--help)");
    return 2;
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (strcmp (argv[1], commands[i].name) != 0)
      continue;
    if (commands[i].emulated_only && !bench_device_is_emulated ()) {
      g_printerr ("vfio-bench: '%s' needs the emulated device (vfio-bench, "
          "not %s)\n", argv[1], g_get_prgname ());
      return 2;
    }
    if (opts.count_allocs)
      bench_alloc_counting_start ();
    return commands[i].func ();
  }
  g_printerr ("vfio-bench: unknown command '%s'\n", argv[1]);
  return 2;
}
