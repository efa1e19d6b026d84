/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc with capture-mode=on-change and flip-lock on a virtual clock:
 * an emulated guest flips on a 60 Hz grid of unknown phase, with jitter and
 * drift; once the element has found the grid, every flip is pushed within
 * a few milliseconds of it (not half a period later), stamped with a time
 * close to the flip's, at about one query per frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>

#include "errorlog.h"
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

GST_START_TEST (test_pushes_follow_flips)
{
  Guest g = {.period = 16666667 + 1667,       /* 60 Hz, 100 ppm slow */
    .grid = 7 * GST_MSECOND + 300 * GST_USECOND,
  };
  const GstClockTime settle = 2 * GST_SECOND, end = 12 * GST_SECOND;
  guint64 queries_at_settle = 0, frames_at_settle = 0;
  guint late = 0, checked = 0;
  GstClockTime worst = 0;

  g.next_flip = g.grid;
  g.rand = g_rand_new_with_seed (7);
  g.flips = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  g.h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (g.h->element, "device", UUID, NULL);
  gst_util_set_object_arg (G_OBJECT (g.h->element), "capture-mode",
      "on-change");
  gst_harness_set_sink_caps_str (g.h, "video/x-raw(memory:DMABuf)");
  gst_harness_use_testclock (g.h);
  g.clock = gst_harness_get_testclock (g.h);
  gst_harness_play (g.h);

  while (gst_clock_get_time (GST_CLOCK (g.clock)) < end) {
    GstClockID id;
    GstClockTime due, flip;
    GstBuffer *buf;

    /* The element waits for its next query: the guest lives until then. */
    gst_test_clock_wait_for_next_pending_id (g.clock, &id);
    due = gst_clock_id_get_time (id);
    gst_clock_id_unref (id);
    guest_flips_until (&g, due);
    gst_test_clock_set_time (g.clock, due);
    gst_test_clock_crank (g.clock);

    if (!queries_at_settle && due >= settle) {
      queries_at_settle = stat_of (g.h->element, "queries");
      frames_at_settle = stat_of (g.h->element, "frames");
    }
    /* What that query pushed, once the element waits again. */
    gst_test_clock_wait_for_next_pending_id (g.clock, NULL);
    while ((buf = gst_harness_try_pull (g.h))) {
      flip = flip_before (&g, due);
      if (due >= settle && GST_CLOCK_TIME_IS_VALID (flip)) {
        GstClockTime delay = due - flip;
        GstClockTimeDiff stamp = GST_CLOCK_DIFF (flip,
            GST_BUFFER_PTS (buf));

        checked++;
        worst = MAX (worst, delay);
        if (delay > 3 * GST_MSECOND)
          late++;
        fail_unless (ABS (stamp) <= 2 * GST_MSECOND, "buffer stamped %"
            GST_STIME_FORMAT " from its flip", GST_STIME_ARGS (stamp));
      }
      gst_buffer_unref (buf);
    }
  }

  GST_INFO ("%u flips checked, worst delay %" GST_TIME_FORMAT ", %u late",
      checked, GST_TIME_ARGS (worst), late);
  fail_unless (checked >= 500, "only %u flips pushed after the lock",
      checked);
  /* A flip whose jitter outruns the retries may be seen a period late. */
  fail_unless (late * 50 <= checked, "%u of %u flips pushed late", late,
      checked);
  {
    guint64 queries = stat_of (g.h->element, "queries") - queries_at_settle;
    guint64 frames = stat_of (g.h->element, "frames") - frames_at_settle;

    fail_unless (queries * 4 <= frames * 5, "%" G_GUINT64_FORMAT
        " queries for %" G_GUINT64_FORMAT " frames", queries, frames);
  }

  gst_object_unref (g.clock);
  gst_harness_teardown (g.h);
  g_array_unref (g.flips);
  g_rand_free (g.rand);
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

static Suite *
flipcapture_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-flip-lock");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_pushes_follow_flips);
  tcase_add_test (tc, test_late_ticks_log_no_error);
  tcase_add_test (tc, test_region_plane_polls);
  return s;
}

GST_CHECK_MAIN (flipcapture);
