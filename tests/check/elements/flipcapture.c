/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc with capture-mode=on-change and flip-lock on a virtual clock:
 * an emulated guest flips on a 60 Hz or 144 Hz grid of unknown phase, up
 * to 0.5 ms late, 100 ppm slow; once the element has found the grid and
 * its loop has settled, every flip is pushed once, by the first query of
 * its period at most the lock's margin (plus one loop step) after it, or
 * by a retry when it came after that query; stamped within the margin of
 * the flip, at most 1.25 queries per frame. Also: flip locking keeps out
 * of region planes, and late ticks on the system clock log no ERROR.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>

#include "errorlog.h"
#include "gstvfiofliplock.h"
#include "srccheck.h"
#include "vfioemu.h"

#define UUID "3f2e1d0c-9b8a-4766-8544-332211009988"
#define GROUP 31

static VfioEmuDevice *dev;

static void
setup (void)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64, 64,
      0);
}

static void
teardown (void)
{
  vfio_emu_reset ();
  dev = NULL;
}

typedef struct
{
  GstHarness *h;
  GstTestClock *clock;
  GstClockTime period;
  GstClockTime grid;            /* the guest's next vblank */
  GstClockTime next_flip;       /* its flip then, a little after it */
  GRand *rand;
  GArray *flips;                /* GstClockTime, the guest's flips */
} Guest;

/* Flips of the guest up to @until: a grid of @period, each flip up to
 * 0.5 ms late (the guest's own jitter). */
static void
guest_flips_until (Guest * g, GstClockTime until)
{
  while (g->next_flip <= until) {
    GstClockTime t = g->next_flip;

    vfio_emu_flip (dev);
    g_array_append_val (g->flips, t);
    g->grid += g->period;
    g->next_flip = g->grid + g_rand_int_range (g->rand, 0, 500) *
        GST_USECOND;
  }
}

/* The last flip at or before @t. */
static GstClockTime
flip_before (Guest * g, GstClockTime t)
{
  for (guint i = g->flips->len; i > 0; i--) {
    GstClockTime f = g_array_index (g->flips, GstClockTime, i - 1);
    if (f <= t)
      return f;
  }
  return GST_CLOCK_TIME_NONE;
}

/* One push: when the query that found it ran, when the query before it
 * ran, the flip it showed and its stamp. */
typedef struct
{
  GstClockTime due;
  GstClockTime prev;
  GstClockTime flip;
  GstClockTime pts;
} Push;

typedef struct
{
  GArray *pushes;               /* Push */
  GArray *queries;              /* GstClockTime, every query's time */
  GstClockTime acquired;        /* the last query of the last burst */
} Capture;

/* Plays a guest flipping at @hz (100 ppm slow, up to 0.5 ms late, a phase
 * the element does not know) against the element, which polls at @hz,
 * until @end of virtual time, with @flip_lock or without. */
static void
capture_flips (Guest * g, guint hz, gboolean flip_lock, GstClockTime end,
    Capture * c)
{
  g_autofree gchar *caps = g_strdup_printf ("video/x-raw(memory:DMABuf), "
      "max-framerate=%u/1", hz);
  GstClockTime last = 0;

  g->period = gst_util_uint64_scale_round (GST_SECOND, 10000, hz * 9999);
  g->grid = g->next_flip = 7 * GST_MSECOND + 300 * GST_USECOND;
  g->rand = g_rand_new_with_seed (7);
  g->flips = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  g->h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (g->h->element, "device", UUID, "flip-lock", flip_lock, NULL);
  gst_util_set_object_arg (G_OBJECT (g->h->element), "capture-mode",
      "on-change");
  gst_harness_set_sink_caps_str (g->h, caps);
  gst_harness_use_testclock (g->h);
  g->clock = gst_harness_get_testclock (g->h);
  c->pushes = g_array_new (FALSE, FALSE, sizeof (Push));
  c->queries = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  gst_harness_play (g->h);

  while (gst_clock_get_time (GST_CLOCK (g->clock)) < end) {
    GstClockID id;
    GstClockTime due;
    GstBuffer *buf;

    /* The element waits for its next query: the guest lives until then. */
    gst_test_clock_wait_for_next_pending_id (g->clock, &id);
    due = gst_clock_id_get_time (id);
    gst_clock_id_unref (id);
    guest_flips_until (g, due);
    gst_test_clock_set_time (g->clock, due);
    gst_test_clock_crank (g->clock);
    g_array_append_val (c->queries, due);

    /* What that query pushed, once the element waits again. */
    gst_test_clock_wait_for_next_pending_id (g->clock, NULL);
    while ((buf = gst_harness_try_pull (g->h))) {
      Push p = { due, last, flip_before (g, due), GST_BUFFER_PTS (buf) };

      g_array_append_val (c->pushes, p);
      gst_buffer_unref (buf);
    }
    last = due;
  }
}

/* Acquisition is a burst of queries BURST_STEP apart (gstvfiofliplock.c);
 * a locked period retries at most twice, so four such steps in a row are a
 * burst. The end of the last one, or NONE. */
static GstClockTime
last_burst_end (GArray * queries)
{
  const GstClockTime step = 500 * GST_USECOND;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  guint run = 0;

  for (guint i = 1; i < queries->len; i++) {
    GstClockTime a = g_array_index (queries, GstClockTime, i - 1);
    GstClockTime b = g_array_index (queries, GstClockTime, i);

    run = b - a == step ? run + 1 : 0;
    if (run >= 4)
      end = b;
  }
  return end;
}

static void
guest_free (Guest * g, Capture * c)
{
  gst_object_unref (g->clock);
  gst_harness_teardown (g->h);
  g_array_unref (g->flips);
  g_rand_free (g->rand);
  g_array_unref (c->pushes);
  g_array_unref (c->queries);
}

/* The flips in [@from, @to]. */
static guint
flips_between (Guest * g, GstClockTime from, GstClockTime to)
{
  guint n = 0;

  for (guint i = 0; i < g->flips->len; i++) {
    GstClockTime f = g_array_index (g->flips, GstClockTime, i);

    n += f >= from && f <= to;
  }
  return n;
}

/* After acquisition, once the loop has settled (256 periods: its phase
 * gain is at its floor after 64, and its frequency term has taken out most
 * of the tens of us by which the burst's period is off; first queries up
 * to 0.25 ms later than below were seen until about 130 periods in), with
 * a guest whose flips come up to 0.5 ms (the lock's margin) after its
 * vblank: every flip is pushed once, by one of two queries.
 *
 * The first query of its period (the usual case): at most the margin
 * after the flip, plus the loop's floor gain (40 us). The loop keeps that
 * query at the 90th percentile of the flips' jitter; when a flip comes
 * after it, it moves later by 9/10 of the gain, so it can land up to that
 * far past the guest's latest flip, and the period's error adds a few us.
 *
 * A retry, at most RETRY_MAX (1 ms) after the query before it: only for a
 * flip that came after that query. The loop's quantile wanders with the
 * draws; after a run of early flips a flip can come more than RETRY_MIN
 * after the first query and be seen by the second retry, up to 1.25 ms
 * after it at 60 Hz. Never a flip that an earlier query could have seen.
 *
 * Stamps are the estimated flip times, within the margin of the flip. At
 * most 1.25 queries per frame. */
static void
check_pushes_follow_flips (guint hz)
{
  const GstClockTime end = 15 * GST_SECOND, loop_gain = 40 * GST_USECOND;
  const GstClockTime retry_max = GST_MSECOND;
  g_autoptr (GstVfioFlipLock) lock = gst_vfio_flip_lock_new (GST_SECOND);
  const GstClockTime margin = gst_vfio_flip_lock_get_margin (lock);
  Guest g = { 0, };
  Capture c = { 0, };
  GstClockTime settle, worst = 0, last_flip = GST_CLOCK_TIME_NONE;
  GstClockTimeDiff worst_stamp = 0;
  guint checked = 0, over_margin = 0, retries = 0;
  guint64 queries = 0, frames = 0;

  capture_flips (&g, hz, TRUE, end, &c);
  c.acquired = last_burst_end (c.queries);
  fail_unless (GST_CLOCK_TIME_IS_VALID (c.acquired), "%u Hz: no burst", hz);
  fail_unless (c.acquired < GST_SECOND, "%u Hz: acquired at %"
      GST_TIME_FORMAT, hz, GST_TIME_ARGS (c.acquired));
  settle = c.acquired + 256 * g.period;

  for (guint i = 0; i < c.pushes->len; i++) {
    Push *p = &g_array_index (c.pushes, Push, i);
    GstClockTime delay;
    GstClockTimeDiff stamp;

    if (p->due < settle)
      continue;
    fail_unless (GST_CLOCK_TIME_IS_VALID (p->flip));
    fail_unless (p->flip != last_flip, "%u Hz: flip at %" GST_TIME_FORMAT
        " pushed twice", hz, GST_TIME_ARGS (p->flip));
    last_flip = p->flip;
    delay = p->due - p->flip;
    stamp = GST_CLOCK_DIFF (p->flip, p->pts);
    checked++;
    worst = MAX (worst, delay);
    worst_stamp = MAX (worst_stamp, ABS (stamp));
    if (p->due - p->prev <= retry_max) {
      retries++;
      fail_unless (p->prev < p->flip, "%u Hz: the flip at %" GST_TIME_FORMAT
          " was there at the query at %" GST_TIME_FORMAT " but pushed by "
          "the one at %" GST_TIME_FORMAT, hz, GST_TIME_ARGS (p->flip),
          GST_TIME_ARGS (p->prev), GST_TIME_ARGS (p->due));
    } else {
      fail_unless (delay <= margin + loop_gain, "%u Hz: the flip at %"
          GST_TIME_FORMAT " pushed %" GST_TIME_FORMAT " after it", hz,
          GST_TIME_ARGS (p->flip), GST_TIME_ARGS (delay));
      over_margin += delay > margin;
    }
    fail_unless (ABS (stamp) <= (GstClockTimeDiff) margin, "%u Hz: buffer "
        "stamped %" GST_STIME_FORMAT " from its flip", hz,
        GST_STIME_ARGS (stamp));
    if (!queries) {
      /* The counters as this push left: the frames and queries after it. */
      queries = stat_of (g.h->element, "queries");
      frames = stat_of (g.h->element, "frames");
    }
  }
  {
    Push *p = &g_array_index (c.pushes, Push, c.pushes->len - 1);
    guint flips = flips_between (&g, settle, p->due);

    /* The first push checked may show a flip just before settle. */
    fail_unless (checked == flips || checked == flips + 1, "%u Hz: %u flips "
        "after the lock, %u pushed", hz, flips, checked);
  }
  GST_INFO ("%u Hz: acquired at %" GST_TIME_FORMAT ", %u flips checked, "
      "%u by a retry, worst delay %" GST_TIME_FORMAT " (%u first queries "
      "over the margin), worst stamp %" GST_STIME_FORMAT, hz,
      GST_TIME_ARGS (c.acquired), checked, retries, GST_TIME_ARGS (worst),
      over_margin, GST_STIME_ARGS (worst_stamp));
  fail_unless (checked >= 9 * hz, "%u Hz: only %u flips pushed after the "
      "lock", hz, checked);
  queries = stat_of (g.h->element, "queries") - queries;
  frames = stat_of (g.h->element, "frames") - frames;
  fail_unless (queries * 4 <= frames * 5, "%u Hz: %" G_GUINT64_FORMAT
      " queries for %" G_GUINT64_FORMAT " frames", hz, queries, frames);
  guest_free (&g, &c);
}

/* flip-lock=false: plain on-change. The queries stay on the element's own
 * grid, a poll period apart, whatever the guest does; each flip is pushed
 * by the first query after it, less than a period later, stamped with
 * that query's time. */
GST_START_TEST (test_without_flip_lock_polls)
{
  const GstClockTime end = 5 * GST_SECOND;
  Guest g = { 0, };
  Capture c = { 0, };
  GstClockTime closest = GST_CLOCK_TIME_NONE, poll = GST_SECOND / 60;
  guint64 queries, frames;

  capture_flips (&g, 60, FALSE, end, &c);
  fail_unless (!GST_CLOCK_TIME_IS_VALID (last_burst_end (c.queries)));
  for (guint i = 1; i < c.queries->len; i++)
    closest = MIN (closest, g_array_index (c.queries, GstClockTime, i) -
        g_array_index (c.queries, GstClockTime, i - 1));
  fail_unless (closest >= poll - 1, "queries %" GST_TIME_FORMAT " apart",
      GST_TIME_ARGS (closest));
  for (guint i = 1; i < c.pushes->len; i++) {
    Push *p = &g_array_index (c.pushes, Push, i);

    fail_unless (p->prev < p->flip && p->flip <= p->due,
        "the flip at %" GST_TIME_FORMAT " pushed at %" GST_TIME_FORMAT,
        GST_TIME_ARGS (p->flip), GST_TIME_ARGS (p->due));
    fail_unless_equals_uint64 (p->pts, p->due);
  }
  queries = stat_of (g.h->element, "queries");
  frames = stat_of (g.h->element, "frames");
  /* The guest's clock is 100 ppm slow: a few polls see no flip. */
  fail_unless (frames + 5 >= queries && frames <= queries, "%"
      G_GUINT64_FORMAT " frames for %" G_GUINT64_FORMAT " queries", frames,
      queries);
  fail_unless (c.pushes->len >= 5 * 60 - 2, "%u pushes", c.pushes->len);
  guest_free (&g, &c);
}

GST_END_TEST;

GST_START_TEST (test_pushes_follow_flips_60)
{
  check_pushes_follow_flips (60);
}

GST_END_TEST;

GST_START_TEST (test_pushes_follow_flips_144)
{
  check_pushes_follow_flips (144);
}

GST_END_TEST;

/* The streaming thread held up downstream for 1.5 periods at each frame:
 * ticks come late. The guest flips at each frame too, so on-change pushes
 * each time. */
static GstPadProbeReturn
hold_up_and_flip (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  vfio_emu_flip (dev);
  g_usleep (25 * G_TIME_SPAN_MILLISECOND);
  return GST_PAD_PROBE_OK;
}

/* Ordinary capture on the system clock, in each schedule, with ticks
 * late by less than a period: not one ERROR in GStreamer's log. */
static void
capture_late_logs_nothing (const gchar * mode, gboolean flip_lock)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  GstPad *pad = gst_element_get_static_pad (h->element, "src");
  ErrorLog log;
  gint errors;

  g_object_set (h->element, "device", UUID, "flip-lock", flip_lock, NULL);
  gst_util_set_object_arg (G_OBJECT (h->element), "capture-mode", mode);
  gst_harness_set_sink_caps_str (h, "video/x-raw(memory:DMABuf), "
      "framerate=60/1; video/x-raw(memory:DMABuf), max-framerate=60/1");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, hold_up_and_flip, NULL,
      NULL);
  gst_object_unref (pad);
  gst_harness_use_systemclock (h);
  error_log_start (&log);
  gst_harness_play (h);
  for (guint i = 0; i < 12; i++)
    gst_buffer_unref (gst_harness_pull (h));
  gst_harness_teardown (h);
  errors = error_log_stop (&log);
  fail_unless (errors == 0, "%s, flip-lock %d: %d ERROR messages, the "
      "first: %s", mode, flip_lock, errors, log.first);
  error_log_clear (&log);
}

GST_START_TEST (test_late_ticks_log_no_error)
{
  capture_late_logs_nothing ("every-tick", FALSE);
  capture_late_logs_nothing ("on-change", FALSE);
  capture_late_logs_nothing ("on-change", TRUE);
}

GST_END_TEST;

/* A region plane (mdpy, NVIDIA) has no flip to see: the region stays the
 * same while the guest draws into it, so on-change pushes it at every
 * query. Flip locking stays out of the way: the queries keep the poll
 * grid, no burst of queries 0.5 ms apart, one query per frame. */
GST_START_TEST (test_region_plane_polls)
{
  const GstClockTime period = GST_SECOND / 60, end = 10 * GST_SECOND;
  GstHarness *h;
  GstTestClock *clock;
  GstClockTime last = GST_CLOCK_TIME_NONE, closest = GST_CLOCK_TIME_NONE;
  guint64 queries, frames;
  guint pulled = 0;
  GstBuffer *buf;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_REGION);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64, 64,
      0);
  h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (h->element, "device", UUID, NULL);
  gst_util_set_object_arg (G_OBJECT (h->element), "capture-mode",
      "on-change");
  gst_harness_set_sink_caps_str (h, "video/x-raw, max-framerate=60/1");
  gst_harness_use_testclock (h);
  clock = gst_harness_get_testclock (h);
  gst_harness_play (h);

  while (!GST_CLOCK_TIME_IS_VALID (last) || last < end) {
    GstClockID id;
    GstClockTime due;

    gst_test_clock_wait_for_next_pending_id (clock, &id);
    due = gst_clock_id_get_time (id);
    gst_clock_id_unref (id);
    if (GST_CLOCK_TIME_IS_VALID (last) && due > last)
      closest = MIN (closest, due - last);
    last = due;
    gst_test_clock_set_time (clock, due);
    gst_test_clock_crank (clock);
    while ((buf = gst_harness_try_pull (h))) {
      pulled++;
      gst_buffer_unref (buf);
    }
  }
  gst_test_clock_wait_for_next_pending_id (clock, NULL);
  queries = stat_of (h->element, "queries");
  frames = stat_of (h->element, "frames");

  fail_unless (closest >= period - 1, "queries %" GST_TIME_FORMAT
      " apart, the poll period is %" GST_TIME_FORMAT, GST_TIME_ARGS (closest),
      GST_TIME_ARGS (period));
  /* The first query (on the system clock) pushes nothing: it finds caps. */
  fail_unless (queries <= frames + 1, "%" G_GUINT64_FORMAT " queries for %"
      G_GUINT64_FORMAT " frames", queries, frames);
  fail_unless (frames <= end / period + 2 && frames + 2 >= end / period,
      "%" G_GUINT64_FORMAT " frames in 10 s at 60 Hz", frames);
  fail_unless (pulled + 2 >= frames);

  gst_object_unref (clock);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A peer that takes anything, on an exporter whose dma-bufs the CPU cannot
 * map (GVT-g, stock mbochs): the source finds out once and streams DMABuf.
 * Finding out is not an error, and GStreamer's log shows none. */
GST_START_TEST (test_unmappable_exporter_logs_no_error)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  ErrorLog log;
  gint errors;

  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  g_object_set (h->element, "device", UUID, NULL);
  gst_harness_use_systemclock (h);
  error_log_start (&log);
  gst_harness_play (h);
  for (guint i = 0; i < 3; i++)
    gst_buffer_unref (gst_harness_pull (h));
  gst_harness_teardown (h);
  errors = error_log_stop (&log);
  fail_unless (errors == 0, "%d ERROR messages, the first: %s", errors,
      log.first);
  error_log_clear (&log);
}

GST_END_TEST;

static Suite *
flipcapture_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-flip-lock");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_pushes_follow_flips_60);
  tcase_add_test (tc, test_pushes_follow_flips_144);
  tcase_add_test (tc, test_without_flip_lock_polls);
  tcase_add_test (tc, test_late_ticks_log_no_error);
  tcase_add_test (tc, test_unmappable_exporter_logs_no_error);
  tcase_add_test (tc, test_region_plane_polls);
  return s;
}

GST_CHECK_MAIN (flipcapture);
