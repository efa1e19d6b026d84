/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Flip locking (gstvfiofliplock.c) on generated flip sequences, in virtual
 * time: a guest's flips on a grid (jitter, unknown phase, drift, skipped
 * vblanks, pauses, a rate change) or off any grid, and queries made when
 * the estimator asks. Asserts lock, the latency from each flip to the query
 * that sees it, the error of the estimated flip time, queries per flip and
 * the fallback to plain polling. Nothing here is timed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>

#include "gstvfiofliplock.h"

#define MS ((gint64) GST_MSECOND)
#define US ((gint64) GST_USECOND)
#define POLL (GST_SECOND / 60)

typedef struct
{
  gdouble hz;
  gint64 phase;
  gint64 jitter;                /* uniform in [-jitter, +jitter] */
  gdouble ppm;                  /* the guest's clock runs this much slow */
  gdouble skip;                 /* probability of a skipped vblank */
  gint64 stop_from, stop_to;    /* no flips in [stop_from, stop_to) */
  gint64 change_at;             /* from then on at change_hz */
  gdouble change_hz;
  gint64 random_min, random_max;        /* > 0: no grid, random intervals */
  gint64 end;
  guint32 seed;
} Guest;

/* The flip times of @guest, ascending. */
static GArray *
guest_flips (const Guest * g)
{
  GArray *flips = g_array_new (FALSE, FALSE, sizeof (gint64));
  GRand *rand = g_rand_new_with_seed (g->seed);
  gdouble t0 = g->phase, hz = g->hz;
  gint64 last = -1;

  if (g->random_max > 0) {
    for (gint64 t = g->phase; t < g->end;
        t += g_rand_int_range (rand, g->random_min, g->random_max))
      g_array_append_val (flips, t);
    g_rand_free (rand);
    return flips;
  }
  for (guint64 n = 0;; n++) {
    gdouble nominal = t0 + n * (1e9 / hz) * (1 + g->ppm * 1e-6);
    gint64 t;

    if (g->change_at > 0 && hz != g->change_hz && nominal >= g->change_at) {
      t0 = nominal;
      hz = g->change_hz;
      n = 0;
    }
    if (nominal >= g->end)
      break;
    t = nominal;
    if (g->jitter > 0)
      t += g_rand_int_range (rand, -g->jitter, g->jitter + 1);
    if (g->skip > 0 && g_rand_double (rand) < g->skip)
      continue;
    if ((t >= g->stop_from && t < g->stop_to) || t <= last)
      continue;
    g_array_append_val (flips, t);
    last = t;
  }
  g_rand_free (rand);
  return flips;
}

typedef struct
{
  guint64 queries;
  guint64 flips;                /* of the guest, in the window */
  guint64 seen;                 /* queries that saw a flip, in the window */
  guint64 locked_seen;
  gint64 max_latency;           /* locked, in the window */
  gint64 max_error;             /* |estimate - flip|, locked, in the window */
  GArray *latency;              /* gint64, locked, in the window */
  gint64 locked_at;             /* first time locked after the window opened */
  gint64 locked_time;           /* time spent locked in the window */
} Outcome;

/* Runs @lock against @flips from @from to @to (the window: counted from
 * @count_from). A query sees a flip when one happened since the last
 * query; the latency is from the latest such flip. */
static void
simulate (GstVfioFlipLock * lock, GArray * flips, gint64 * now, gint64 to,
    gint64 count_from, Outcome * out)
{
  const gint64 *f = (const gint64 *) flips->data;
  guint i = 0;

  memset (out, 0, sizeof (*out));
  out->latency = g_array_new (FALSE, FALSE, sizeof (gint64));
  out->locked_at = -1;
  while (i < flips->len && f[i] <= *now)
    i++;
  while (*now < to) {
    gboolean was_locked = gst_vfio_flip_lock_get_state (lock) ==
        GST_VFIO_FLIP_LOCK_LOCKED;
    gboolean counted = *now >= count_from;
    GstClockTime estimate, next;
    gint64 latest = -1;

    while (i < flips->len && f[i] <= *now) {
      latest = f[i++];
      out->flips += counted;
    }
    next = gst_vfio_flip_lock_observe (lock, *now, latest >= 0, &estimate);
    fail_unless (next > (GstClockTime) * now);
    fail_unless ((latest >= 0) == GST_CLOCK_TIME_IS_VALID (estimate));
    if (counted) {
      out->queries++;
      out->seen += latest >= 0;
      if (was_locked)
        out->locked_time += MIN ((gint64) next, to) - *now;
    }
    if (counted && was_locked && latest >= 0) {
      gint64 latency = *now - latest;
      gint64 error = ABS ((gint64) estimate - latest);

      g_array_append_val (out->latency, latency);
      out->locked_seen++;
      out->max_latency = MAX (out->max_latency, latency);
      out->max_error = MAX (out->max_error, error);
      fail_unless ((gint64) estimate <= *now);
    }
    if (counted && out->locked_at < 0 && gst_vfio_flip_lock_get_state (lock)
        == GST_VFIO_FLIP_LOCK_LOCKED)
      out->locked_at = *now;
    *now = next;
  }
}

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
percentile (GArray * values, guint pct)
{
  fail_unless (values->len > 0);
  g_array_sort (values, compare_gint64);
  return g_array_index (values, gint64, (values->len * pct + 99) / 100 - 1);
}

static void
outcome_clear (Outcome * out)
{
  g_array_unref (out->latency);
}

/* A locked guest on a grid over @seconds: the figures every grid case
 * asserts. */
static void
assert_locked_run (const Guest * guest, gint64 max_p99, gint64 max_latency,
    gint64 max_error, gdouble max_queries)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
  g_autoptr (GArray) flips = guest_flips (guest);
  gint64 now = 0;
  Outcome all, tail;

  /* The whole run, acquisition included, for the budget; then the lock's
   * steady state after the first second. */
  simulate (lock, flips, &now, GST_SECOND, 0, &all);
  fail_unless (all.locked_at >= 0 && all.locked_at < 500 * MS,
      "not locked within 0.5 s (%" G_GINT64_FORMAT ")", all.locked_at);
  simulate (lock, flips, &now, guest->end, 0, &tail);
  GST_INFO ("%.0f Hz: %" G_GUINT64_FORMAT " queries for %" G_GUINT64_FORMAT
      " flips; p50 %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT
      " us, max %" G_GINT64_FORMAT " us, error max %" G_GINT64_FORMAT " us",
      guest->hz, all.queries + tail.queries, all.flips + tail.flips,
      percentile (tail.latency, 50) / US, percentile (tail.latency, 99) / US,
      tail.max_latency / US, tail.max_error / US);
  fail_unless_equals_int (gst_vfio_flip_lock_get_state (lock),
      GST_VFIO_FLIP_LOCK_LOCKED);
  /* Flips are seen on their own (none hides behind another), and locked
   * (a burst of skipped vblanks may unlock it for a moment). */
  fail_unless (tail.locked_seen * 100 >= tail.flips * 99, "%" G_GUINT64_FORMAT
      " flips, %" G_GUINT64_FORMAT " seen locked", tail.flips,
      tail.locked_seen);
  fail_unless (percentile (tail.latency, 99) <= max_p99,
      "p99 latency %" G_GINT64_FORMAT " us", percentile (tail.latency,
          99) / US);
  fail_unless (tail.max_latency <= max_latency, "max latency %"
      G_GINT64_FORMAT " us", tail.max_latency / US);
  fail_unless (tail.max_error <= max_error, "flip time off by %"
      G_GINT64_FORMAT " us", tail.max_error / US);
  fail_unless ((gdouble) (all.queries + tail.queries) / (all.flips +
          tail.flips) <= max_queries, "%.3f queries per flip",
      (gdouble) (all.queries + tail.queries) / (all.flips + tail.flips));
  outcome_clear (&all);
  outcome_clear (&tail);
}

GST_START_TEST (test_regular_60)
{
  Guest g = {.hz = 60,.phase = 7 * MS + 123 * US,.end = 60 * GST_SECOND };

  assert_locked_run (&g, 700 * US, 1 * MS, 700 * US, 1.25);
}

GST_END_TEST;

GST_START_TEST (test_jitter_60)
{
  Guest g = {.hz = 60,.phase = 3 * MS,.jitter = 500 * US,.end =
        60 * GST_SECOND,.seed = 1
  };

  assert_locked_run (&g, 1500 * US, 2 * MS, 1500 * US, 1.25);
}

GST_END_TEST;

GST_START_TEST (test_jitter_144)
{
  Guest g = {.hz = 144,.phase = 5 * MS,.jitter = 500 * US,.end =
        60 * GST_SECOND,.seed = 2
  };

  assert_locked_run (&g, 1500 * US, 2 * MS, 1500 * US, 1.25);
}

GST_END_TEST;

GST_START_TEST (test_drift)
{
  Guest slow = {.hz = 60,.phase = 11 * MS,.jitter = 500 * US,.ppm = 100,
    .end = 120 * GST_SECOND,.seed = 3
  };
  Guest fast = slow;

  fast.ppm = -100;
  fast.seed = 4;
  /* 100 ppm is 12 ms over the run: without tracking the grid would leave
   * the flips within seconds. */
  assert_locked_run (&slow, 1500 * US, 2 * MS, 1500 * US, 1.25);
  assert_locked_run (&fast, 1500 * US, 2 * MS, 1500 * US, 1.25);
}

GST_END_TEST;

GST_START_TEST (test_missed_flips)
{
  Guest g = {.hz = 60,.phase = 2 * MS,.jitter = 300 * US,.skip = 0.1,.end =
        60 * GST_SECOND,.seed = 5
  };

  /* A skipped vblank looks like a late flip until the retries give up:
   * 1 + 0.1 x 3 queries per vblank, 0.9 flips. */
  assert_locked_run (&g, 1500 * US, 2 * MS, 1500 * US, 1.7);
}

GST_END_TEST;

/* The guest stops for 3 s and comes back at another phase: polling while it
 * is away, locked again soon after. */
GST_START_TEST (test_stop_restart)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
  Guest a = {.hz = 60,.phase = 4 * MS,.jitter = 300 * US,.end =
        5 * GST_SECOND,.seed = 6
  };
  Guest b = {.hz = 60,.phase = 8 * GST_SECOND + 9 * MS,.jitter = 300 * US,
    .end = 12 * GST_SECOND,.seed = 7
  };
  g_autoptr (GArray) flips = guest_flips (&a);
  g_autoptr (GArray) more = guest_flips (&b);
  gint64 now = 0;
  Outcome before, gap, after;

  g_array_append_vals (flips, more->data, more->len);
  simulate (lock, flips, &now, 5 * GST_SECOND, 0, &before);
  fail_unless_equals_int (gst_vfio_flip_lock_get_state (lock),
      GST_VFIO_FLIP_LOCK_LOCKED);
  simulate (lock, flips, &now, 8 * GST_SECOND, 5 * GST_SECOND + 200 * MS,
      &gap);
  fail_unless_equals_int (gst_vfio_flip_lock_get_state (lock),
      GST_VFIO_FLIP_LOCK_POLLING);
  /* Polling as plain on-change does: one query per poll interval. */
  fail_unless ((gint64) gap.queries <= (2800 * MS) / POLL + 1,
      "%" G_GUINT64_FORMAT " queries in the pause", gap.queries);
  fail_unless_equals_int (gap.locked_time, 0);
  simulate (lock, flips, &now, 12 * GST_SECOND, 8 * GST_SECOND, &after);
  fail_unless (after.locked_at >= 0
      && after.locked_at < 8 * GST_SECOND + 500 * MS);
  fail_unless_equals_int (gst_vfio_flip_lock_get_state (lock),
      GST_VFIO_FLIP_LOCK_LOCKED);
  fail_unless (after.max_latency <= 2 * MS);
  outcome_clear (&before);
  outcome_clear (&gap);
  outcome_clear (&after);
}

GST_END_TEST;

/* 60 Hz, then 144 Hz: the probes find flips between periods, it unlocks
 * and locks to the new rate. */
GST_START_TEST (test_rate_change)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
  Guest g = {.hz = 60,.phase = 1 * MS,.jitter = 300 * US,.change_at =
        5 * GST_SECOND,.change_hz = 144,.end = 10 * GST_SECOND,.seed = 8
  };
  g_autoptr (GArray) flips = guest_flips (&g);
  gint64 now = 0, period;
  Outcome before, change, after;

  simulate (lock, flips, &now, 5 * GST_SECOND, 0, &before);
  period = gst_vfio_flip_lock_get_period (lock);
  fail_unless (ABS (period - (gint64) (GST_SECOND / 60)) < 50 * US);
  simulate (lock, flips, &now, 7 * GST_SECOND, 5 * GST_SECOND, &change);
  simulate (lock, flips, &now, 10 * GST_SECOND, 7 * GST_SECOND, &after);
  period = gst_vfio_flip_lock_get_period (lock);
  fail_unless (ABS (period - (gint64) (GST_SECOND / 144)) < 50 * US,
      "period %" G_GINT64_FORMAT " ns", period);
  fail_unless (after.locked_seen >= after.flips - 1);
  fail_unless (after.max_latency <= 2 * MS);
  outcome_clear (&before);
  outcome_clear (&change);
  outcome_clear (&after);
}

GST_END_TEST;

/* A variable-rate guest: no grid to lock to. Flips are still seen as plain
 * polling sees them, and the failed acquisitions back off, so the queries
 * stay within the budget of a locked guest (1.25 times plain polling's). */
GST_START_TEST (test_variable_rate)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
  Guest g = {.phase = 2 * MS,.random_min = 8 * MS,.random_max = 40 * MS,
    .end = 60 * GST_SECOND,.seed = 9
  };
  g_autoptr (GArray) flips = guest_flips (&g);
  gint64 now = 0, plain = 60 * GST_SECOND / POLL;
  Outcome out;

  simulate (lock, flips, &now, 60 * GST_SECOND, 0, &out);
  GST_INFO ("variable rate: %" G_GUINT64_FORMAT " queries (plain %"
      G_GINT64_FORMAT "), locked %" G_GINT64_FORMAT " ms", out.queries,
      plain, out.locked_time / MS);
  fail_unless ((gint64) out.queries * 4 <= plain * 5, "%" G_GUINT64_FORMAT
      " queries, plain polling makes %" G_GINT64_FORMAT, out.queries, plain);
  fail_unless (out.locked_time < 3 * GST_SECOND);
  outcome_clear (&out);
}

GST_END_TEST;

/* Idle: no flip, or a blinking cursor. Exactly plain polling's queries. */
GST_START_TEST (test_idle)
{
  Guest cursor = {.hz = 1.9,.phase = 100 * MS,.end = 60 * GST_SECOND };
  Guest none = {.hz = 1,.phase = 61 * GST_SECOND,.end = 60 * GST_SECOND };
  const Guest *guests[] = { &none, &cursor };

  for (guint i = 0; i < G_N_ELEMENTS (guests); i++) {
    g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
    g_autoptr (GArray) flips = guest_flips (guests[i]);
    gint64 now = 0;
    Outcome out;

    simulate (lock, flips, &now, 60 * GST_SECOND, 0, &out);
    fail_unless_equals_int (out.queries, (60 * GST_SECOND + POLL - 1) / POLL);
    fail_unless_equals_int (out.locked_time, 0);
    outcome_clear (&out);
  }
}

GST_END_TEST;

/* Times that go back, huge times and a reset do not break it. */
GST_START_TEST (test_odd_input)
{
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (POLL);
  GstClockTime next, t;

  next = gst_vfio_flip_lock_observe (lock, 5 * GST_SECOND, TRUE, &t);
  fail_unless_equals_uint64 (t, 5 * GST_SECOND);
  fail_unless (next > 5 * GST_SECOND);
  next = gst_vfio_flip_lock_observe (lock, GST_SECOND, FALSE, &t);
  fail_unless (next > 5 * GST_SECOND);
  fail_unless_equals_uint64 (t, GST_CLOCK_TIME_NONE);
  next = gst_vfio_flip_lock_observe (lock, G_MAXUINT64 - 1, TRUE, NULL);
  fail_unless (GST_CLOCK_TIME_IS_VALID (next));
  gst_vfio_flip_lock_reset (lock);
  fail_unless_equals_int (gst_vfio_flip_lock_get_state (lock),
      GST_VFIO_FLIP_LOCK_POLLING);
  fail_unless_equals_uint64 (gst_vfio_flip_lock_get_period (lock), 0);
}

GST_END_TEST;

static Suite *
fliplock_suite (void)
{
  Suite *s = suite_create ("fliplock");
  TCase *tc = tcase_create ("estimator");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_regular_60);
  tcase_add_test (tc, test_jitter_60);
  tcase_add_test (tc, test_jitter_144);
  tcase_add_test (tc, test_drift);
  tcase_add_test (tc, test_missed_flips);
  tcase_add_test (tc, test_stop_restart);
  tcase_add_test (tc, test_rate_change);
  tcase_add_test (tc, test_variable_rate);
  tcase_add_test (tc, test_idle);
  tcase_add_test (tc, test_odd_input);
  return s;
}

GST_CHECK_MAIN (fliplock);
