/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flipsim: flip→push latency of the three capture schedules side by side,
 * on guests that flip on a vblank timer (60 and 144 Hz, ±0.5 ms of
 * jitter, a random phase, a clock 100 ppm slow) and on a variable-rate
 * guest (8–40 ms between flips).
 *
 * Simulated in virtual time: the guest's flips are generated ahead, every
 * query is one QUERY_GFX_PLANE on the emulated mdev (whose guest has made
 * the flips due by then), and a query that finds a new buffer stands for a
 * push at that time. The schedules:
 *   every-tick  a query and a push every period of the stream;
 *   on-change   a query every period, a push when it found a new buffer;
 *   flip-locked the queries that gstvfiofliplock asks for, a push when one
 *               found a new buffer.
 * The stream's period is the guest's nominal one (60 Hz for the variable
 * guest); the polling schedules' grid moves to a new random phase
 * PHASES times per cell. Everything is counted from the start, flip
 * locking's acquisition included. Timer wake-up latency is not simulated:
 * the figures are the schedules' own. CPU time is the process's for the
 * whole cell (queries and estimator), per pushed frame.
 *
 * A new buffer is told by the emulator's flip count, not by the id: a
 * double-buffered guest flipping twice between two queries shows the same
 * id again, which the schedules would take as no flip.
 *
 * The flip-locked row is vfiogfxsrc itself (capture-mode=on-change,
 * flip-lock on) on a GstTestClock that the guest's flips are played
 * against: each of its waits is released at its own time, after the flips
 * due by then. A push's latency is from the latest flip to the query that
 * found it.
 *
 * flipvm: the same three schedules in real time on a real device (the
 * VM's mbochs, a guest flipping with tests/vm/guest's animate), one after
 * the other, --seconds each. A new dmabuf_id is a flip. Each query that
 * saw one prints "FLIPPUSH SCHEDULE SECONDS" (CLOCK_MONOTONIC, as the
 * guest's "guest: t=..." lines), between "FLIPSTART" (the first query,
 * which sees what the guest shows already) and "FLIPEND" (the last):
 * benchreport.py flipvm pairs them with the guest's flips in that window.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "benchmain.h"
#include "gstvfiofliplock.h"

#include <gst/check/gsttestclock.h>

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define MS ((gint64) GST_MSECOND)
#define US ((gint64) GST_USECOND)
#define SEED 20240601
/* The polling schedules' grid takes a new random phase this many times
 * per cell: their latency depends on it, flip locking's does not. */
#define PHASES 60
/* The same in the VM: the guest flips on its own 60 Hz timer, so a poll
 * grid kept at one phase would measure that phase's luck. */
#define VM_PHASES 10

typedef struct
{
  const gchar *name;
  gdouble hz;                   /* 0: variable rate */
  gint64 jitter;
  gdouble ppm;
} FlipGuest;

static const FlipGuest guests[] = {
  {"60hz", 60, 500 * US, 100},
  {"144hz", 144, 500 * US, 100},
  {"variable", 0, 0, 0},
};

typedef enum
{
  SCHEDULE_EVERY_TICK,
  SCHEDULE_ON_CHANGE,
  SCHEDULE_FLIP_LOCKED,
} Schedule;

static const gchar *schedule_names[] = { "every-tick", "on-change",
  "flip-locked"
};

/* The flip times of @guest over @end ns, ascending. */
static GArray *
guest_flips (const FlipGuest * guest, gint64 end, GRand * rand)
{
  GArray *flips = g_array_new (FALSE, FALSE, sizeof (gint64));
  gdouble period = guest->hz > 0 ? 1e9 / guest->hz * (1 + guest->ppm * 1e-6)
      : 0;
  gint64 phase = g_rand_int_range (rand, 0, 20 * MS), last = -1;

  for (guint64 n = 0;; n++) {
    gint64 t;

    if (guest->hz > 0)
      t = phase + n * period;
    else
      t = last < 0 ? phase : last + g_rand_int_range (rand, 8 * MS, 40 * MS);
    if (t >= end)
      break;
    if (guest->jitter > 0)
      t += g_rand_int_range (rand, -guest->jitter, guest->jitter + 1);
    if (t <= last)
      continue;
    g_array_append_val (flips, t);
    last = t;
  }
  return flips;
}

typedef struct
{
  GArray *latency;              /* gdouble, us: each flip pushed */
  guint64 queries;
  guint64 pushes;
  guint64 flips;
  guint64 flips_pushed;
  guint64 cpu_ns;
  /* The element's rows: GET_GFX_DMABUF calls on the device during the
   * cell, and the framebuffers it pushed (one GstMemory each); -1 for
   * the simulated rows, which export nothing. */
  gint64 exports;
  gint64 framebuffers;
} CellResult;

/* One schedule against one guest: queries at the times it asks for; a
 * query sees the flips made since the last one. */
static gboolean
simulate_cell (BenchDevice * dev, Schedule schedule, GArray * flips,
    gint64 period, gint64 end, CellResult * res)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (period);
  const gint64 *f = (const gint64 *) flips->data;
  gint fd = bench_device_fd (dev);
  guint64 cpu = bench_cpu_ns ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED);
  gint64 now = 0, phase_end = 0;
  guint i = 0;

  while (now < end) {
    gboolean flipped;
    gint64 latest = -1, next;

    if (schedule != SCHEDULE_FLIP_LOCKED && now >= phase_end) {
      now += g_rand_int_range (rand, 0, period);
      phase_end = now + end / PHASES;
    }
    while (i < flips->len && f[i] <= now) {
      bench_device_flip (dev);
      latest = f[i++];
      res->flips++;
    }
    if (!bench_bare_query (fd))
      return FALSE;
    flipped = latest >= 0;
    if (schedule == SCHEDULE_FLIP_LOCKED)
      next = gst_vfio_flip_lock_observe (lock, now, flipped, NULL);
    else
      next = now + period;
    res->queries++;
    res->pushes += flipped || schedule == SCHEDULE_EVERY_TICK;
    if (flipped) {
      gdouble us = (now - latest) / 1e3;

      g_array_append_val (res->latency, us);
      res->flips_pushed++;
    }
    now = next;
  }
  res->cpu_ns = bench_cpu_ns () - cpu;
  return TRUE;
}

/* The element's run: what its source pad pushes, at the virtual time of
 * the query that found it. */
typedef struct
{
  CellResult *res;
  gint64 due;                   /* running time of the query released */
  gint64 latest;                /* the latest flip made by then, -1 none */
  gint64 pushed;                /* that flip, once pushed */
  GHashTable *memories;         /* the GstMemory of each framebuffer pushed */
} ElementCell;

static GstPadProbeReturn
count_push (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  ElementCell *c = data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  c->res->pushes++;
  /* Its memory stays cached (and alive) for the stream: a pointer is a
   * framebuffer. */
  if (gst_buffer_n_memory (buffer) > 0)
    g_hash_table_add (c->memories, gst_buffer_peek_memory (buffer, 0));
  if (c->latest >= 0 && c->latest != c->pushed) {
    gdouble us = (c->due - c->latest) / 1e3;

    g_array_append_val (c->res->latency, us);
    c->res->flips_pushed++;
    c->pushed = c->latest;
  }
  return GST_PAD_PROBE_OK;
}

static guint64
queries_of (GstElement * src)
{
  g_autoptr (GstStructure) stats = NULL;
  guint64 queries = 0;

  g_object_get (src, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "queries", &queries);
  return queries;
}

static gboolean
element_cell (BenchDevice * dev, Schedule schedule, GArray * flips,
    gint64 period, gint64 end, CellResult * res)
{
  GstClock *clock = gst_test_clock_new ();
  GstTestClock *test_clock = GST_TEST_CLOCK (clock);
  GstElement *pipeline = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", NULL);
  GstElement *filter = gst_element_factory_make ("capsfilter", NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  const gint64 *f = (const gint64 *) flips->data;
  ElementCell c = {.res = res,.latest = -1,.pushed = -1,
    .memories = g_hash_table_new (NULL, NULL)
  };
  guint64 cpu, queries, exports;
  GstClockTime base;
  GstPad *pad;
  guint i = 0;

  g_object_set (src, "device-fd", bench_device_fd (dev), NULL);
  gst_util_set_object_arg (G_OBJECT (src), "capture-mode", "on-change");
  gst_util_set_object_arg (G_OBJECT (filter), "caps",
      "video/x-raw(memory:DMABuf)");
  g_object_set (sink, "sync", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, filter, sink, NULL);
  gst_element_link_many (src, filter, sink, NULL);
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_push, &c, NULL);
  gst_object_unref (pad);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    goto failed;
  base = gst_element_get_base_time (pipeline);

  cpu = bench_cpu_ns ();
  queries = queries_of (src);
  exports = bench_device_ioctl_count (dev, BENCH_IOCTL_GET_GFX_DMABUF);
  while (c.due < end) {
    GstClockID id;

    /* The element waits for its next query: the guest flips until then,
     * then the query is released and the element waits again. */
    gst_test_clock_wait_for_next_pending_id (test_clock, &id);
    c.due = (gint64) (gst_clock_id_get_time (id) - base);
    gst_clock_id_unref (id);
    while (i < flips->len && f[i] <= c.due) {
      bench_device_flip (dev);
      c.latest = f[i++];
      res->flips++;
    }
    gst_test_clock_set_time (test_clock, base + c.due);
    gst_test_clock_crank (test_clock);
  }
  gst_test_clock_wait_for_next_pending_id (test_clock, NULL);
  res->queries = queries_of (src) - queries;
  res->cpu_ns = bench_cpu_ns () - cpu;
  res->exports = bench_device_ioctl_count (dev, BENCH_IOCTL_GET_GFX_DMABUF) -
      exports;
  res->framebuffers = g_hash_table_size (c.memories);
  g_hash_table_unref (c.memories);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_object_unref (clock);
  return TRUE;

failed:
  g_hash_table_unref (c.memories);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_object_unref (clock);
  return FALSE;
}

/* What measures each schedule: the polling ones simulated, flip locking
 * by the element itself. */
#define CELL_FLIP_LOCKED element_cell

typedef gboolean (*CellFunc) (BenchDevice * dev, Schedule schedule,
    GArray * flips, gint64 period, gint64 end, CellResult * res);

static const CellFunc cells[] = {
  simulate_cell, simulate_cell, CELL_FLIP_LOCKED
};

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static void
report_cell (const FlipGuest * guest, Schedule schedule, CellResult * res)
{
  g_autofree gchar *prefix = g_strdup_printf ("flip.%s.%s", guest->name,
      schedule_names[schedule]);
  const gdouble *v = (const gdouble *) res->latency->data;
  guint n = res->latency->len;

  g_array_sort (res->latency, compare_doubles);
  bench_figure (prefix, "flips", res->flips, "flips");
  bench_figure (prefix, "pushed_pct", 100.0 * res->flips_pushed /
      MAX (res->flips, 1), "%");
  if (n > 0) {
    bench_figure (prefix, "p50_us", v[n / 2], "us");
    bench_figure (prefix, "p99_us", v[(n * 99 + 99) / 100 - 1], "us");
    bench_figure (prefix, "max_us", v[n - 1], "us");
  }
  bench_figure (prefix, "queries_per_frame", (gdouble) res->queries /
      MAX (res->pushes, 1), "queries/frame");
  bench_figure (prefix, "queries_per_flip", (gdouble) res->queries /
      MAX (res->flips, 1), "queries/flip");
  bench_figure (prefix, "cpu_ns_per_frame", (gdouble) res->cpu_ns /
      MAX (res->pushes, 1), "ns");
  if (res->exports >= 0) {
    bench_figure (prefix, "exports", res->exports, "exports");
    bench_figure (prefix, "framebuffers", res->framebuffers, "framebuffers");
  }
}

gint
bench_cmd_flipsim (void)
{
  gdouble seconds = opts.seconds > 0 ? opts.seconds : 60;
  gint64 end = seconds * GST_SECOND;

  bench_note ("flip: simulated in virtual time, %.0f s per cell, all "
      "counted; guests at 60 and 144 Hz with +-0.5 ms of jitter, a random "
      "phase and 100 ppm of drift, and one flipping every 8-40 ms; a query "
      "is one emulated QUERY_GFX_PLANE; polling grids at %d random phases",
      seconds, PHASES);
  for (guint g = 0; g < G_N_ELEMENTS (guests); g++) {
    gint64 period = GST_SECOND / (guests[g].hz > 0 ? guests[g].hz : 60);
    /* A device per guest: the element's row is the first to export its
     * framebuffers, so its exports count them all. */
    BenchDevice *dev = bench_device_new (g, 640, 480);

    if (!dev)
      return 2;
    for (guint s = 0; s < G_N_ELEMENTS (cells); s++) {
      g_autoptr (GRand) rand = g_rand_new_with_seed (SEED + g);
      g_autoptr (GArray) flips = guest_flips (&guests[g], end, rand);
      CellResult res = {.exports = -1,.framebuffers = -1 };
      gboolean ok;

      res.latency = g_array_new (FALSE, FALSE, sizeof (gdouble));
      ok = cells[s] (dev, s, flips, period, end, &res);
      if (ok)
        report_cell (&guests[g], s, &res);
      g_array_unref (res.latency);
      if (!ok) {
        g_printerr ("vfio-bench: flipsim: QUERY_GFX_PLANE failed\n");
        bench_device_free (dev);
        return 1;
      }
    }
    bench_device_free (dev);
  }
  return 0;
}

/* ---- flipvm: real time, a real device ---- */

/* The primary plane's dmabuf_id; 0 when disabled, -1 on an error. mbochs
 * fails the first query of each new id with ENOMEM: asked again. */
static gint64
query_id (gint fd)
{
  struct vfio_device_gfx_plane_info info;

  for (guint attempt = 0; attempt < 2; attempt++) {
    memset (&info, 0, sizeof (info));
    info.argsz = sizeof (info);
    info.flags = VFIO_GFX_PLANE_TYPE_DMABUF;
    info.drm_plane_type = 1;
    if (ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &info) == 0)
      return info.dmabuf_id;
    if (errno != ENOMEM)
      break;
  }
  g_printerr ("vfio-bench: QUERY_GFX_PLANE: %s\n", g_strerror (errno));
  return -1;
}

static void
sleep_until (gint64 t)
{
  struct timespec ts = {.tv_sec = t / GST_SECOND,.tv_nsec = t % GST_SECOND };

  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR);
}

static gboolean
flipvm_schedule (gint fd, Schedule schedule, gint64 period, gdouble seconds)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (period);
  const gchar *name = schedule_names[schedule];
  g_autofree gchar *prefix = g_strdup_printf ("vm.flip.%s", name);
  gint64 start = bench_now_ns (), end = start + seconds * GST_SECOND;
  gint64 next = start, last_id = query_id (fd), now, last_query = start;
  gint64 phase_length = seconds * GST_SECOND / VM_PHASES;
  gint64 phase_end = start + phase_length;
  guint64 queries = 0, pushes = 0, cpu = bench_cpu_ns ();

  /* The flips that count are those after the first query and up to the
   * last: a flip before it is what the guest showed already. */
  printf ("FLIPSTART %s %.9f\n", name, start / 1e9);

  while ((now = bench_now_ns ()) < end) {
    gint64 id;
    gboolean flipped;

    sleep_until (next);
    now = bench_now_ns ();
    if ((id = query_id (fd)) < 0)
      return FALSE;
    queries++;
    last_query = now;
    flipped = id != last_id;
    last_id = id;
    if (flipped)
      printf ("FLIPPUSH %s %.9f\n", name, now / 1e9);
    pushes += flipped || schedule == SCHEDULE_EVERY_TICK;
    if (schedule == SCHEDULE_FLIP_LOCKED) {
      next = start + gst_vfio_flip_lock_observe (lock, now - start, flipped,
          NULL);
    } else {
      next += period;
      if (next < now)           /* late: skip the ticks missed */
        next += (now - next) / period * period + period;
      if (now >= phase_end) {
        next += g_random_int_range (0, period / US) * US;
        phase_end += phase_length;
      }
    }
  }
  printf ("FLIPEND %s %.9f\n", name, last_query / 1e9);
  bench_figure (prefix, "queries_per_frame", (gdouble) queries /
      MAX (pushes, 1), "queries/frame");
  bench_figure (prefix, "cpu_ns_per_frame", (gdouble) (bench_cpu_ns () -
          cpu) / MAX (pushes, 1), "ns");
  bench_figure (prefix, "queries", queries, "queries");
  return TRUE;
}

gint
bench_cmd_flipvm (void)
{
  gdouble seconds = opts.seconds > 0 ? opts.seconds : 20;
  BenchDevice *dev;

  if (!(dev = bench_device_new (0, 640, 480)))
    return 2;
  bench_note ("vm.flip: real time on %s, %.0f s per schedule, a 60 Hz poll "
      "grid", bench_device_kind (), seconds);
  for (guint s = 0; s < G_N_ELEMENTS (schedule_names); s++)
    if (!flipvm_schedule (bench_device_fd (dev), s, GST_SECOND / 60,
            seconds))
      return 1;
  return 0;
}
