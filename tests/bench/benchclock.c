/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A clock whose waits return at once. vfiogfxsrc paces its ticks on the
 * pipeline clock (one gst_clock_id_wait() per tick); with this clock the
 * wait costs what it costs in CPU but never sleeps, so a steady-state run
 * measures the per-frame work and nothing else.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <time.h>

#define BENCH_TYPE_INSTANT_CLOCK (bench_instant_clock_get_type ())
G_DECLARE_FINAL_TYPE (BenchInstantClock, bench_instant_clock, BENCH,
    INSTANT_CLOCK, GstClock);

struct _BenchInstantClock
{
  GstClock parent;
};

G_DEFINE_TYPE (BenchInstantClock, bench_instant_clock, GST_TYPE_CLOCK);

static GstClockTime
bench_instant_clock_get_internal_time (GstClock * clock)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return GST_TIMESPEC_TO_TIME (ts);
}

static GstClockReturn
bench_instant_clock_wait (GstClock * clock, GstClockEntry * entry,
    GstClockTimeDiff * jitter)
{
  if (jitter)
    *jitter = 0;
  return GST_CLOCK_OK;
}

static void
bench_instant_clock_class_init (BenchInstantClockClass * klass)
{
  GstClockClass *clock_class = GST_CLOCK_CLASS (klass);

  clock_class->get_internal_time = bench_instant_clock_get_internal_time;
  clock_class->wait = bench_instant_clock_wait;
}

static void
bench_instant_clock_init (BenchInstantClock * self)
{
}

GstClock *
bench_instant_clock_new (void)
{
  GstClock *clock = g_object_new (BENCH_TYPE_INSTANT_CLOCK, "name",
      "instant-clock", NULL);

  return gst_object_ref_sink (clock);
}

guint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return GST_TIMESPEC_TO_TIME (ts);
}

guint64
bench_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return GST_TIMESPEC_TO_TIME (ts);
}
