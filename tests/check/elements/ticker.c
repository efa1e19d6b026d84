/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc's ticker (gstvfioticker.c): a wait until an absolute running
 * time, as flip locking asks for, next to the periodic grid; unlocked from
 * another thread while it waits. Nothing here is timed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/check/gsttestclock.h>

#include "gstvfioticker.h"
#include "errorlog.h"

#define BASE (10 * GST_SECOND)

typedef struct
{
  GstVfioTicker *ticker;
  GstClock *clock;
  GstClockTime due;
  GstClockTime running_time;
  GstFlowReturn ret;
} Wait;

static gpointer
wait_until_thread (gpointer data)
{
  Wait *w = data;

  w->ret = gst_vfio_ticker_wait_until (w->ticker, w->clock, BASE, w->due,
      &w->running_time);
  return NULL;
}

GST_START_TEST (test_wait_until)
{
  GstClock *clock = gst_test_clock_new_with_start_time (BASE);
  GstTestClock *test_clock = GST_TEST_CLOCK (clock);
  GstVfioTicker ticker;
  Wait w = { &ticker, clock, 5 * GST_MSECOND, 0, GST_FLOW_ERROR };
  GThread *thread;

  gst_vfio_ticker_init (&ticker);
  thread = g_thread_new ("wait", wait_until_thread, &w);
  gst_test_clock_wait_for_next_pending_id (test_clock, NULL);
  gst_test_clock_set_time (test_clock, BASE + 6 * GST_MSECOND);
  gst_clock_id_unref (gst_test_clock_process_next_clock_id (test_clock));
  g_thread_join (thread);
  fail_unless_equals_int (w.ret, GST_FLOW_OK);
  fail_unless (w.running_time >= 5 * GST_MSECOND);

  gst_vfio_ticker_clear (&ticker);
  gst_object_unref (clock);
}

GST_END_TEST;

/* On the system clock: a time already past returns at once, late by as
 * much; the periodic grid works after it, from now. */
GST_START_TEST (test_wait_until_past)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstClockTime base = gst_clock_get_time (clock) - GST_SECOND, rt;
  GstVfioTicker ticker;

  gst_vfio_ticker_init (&ticker);
  fail_unless_equals_int (gst_vfio_ticker_wait_until (&ticker, clock, base,
          GST_MSECOND, &rt), GST_FLOW_OK);
  fail_unless (rt >= GST_SECOND);
  gst_vfio_ticker_restart (&ticker, GST_SECOND / 60);
  fail_unless_equals_int (gst_vfio_ticker_wait (&ticker, clock, base, &rt),
      GST_FLOW_OK);
  fail_unless (rt >= GST_SECOND);
  gst_vfio_ticker_clear (&ticker);
  gst_object_unref (clock);
}

GST_END_TEST;

/* On the system clock: a wait an hour ahead, ended by unlock. */
GST_START_TEST (test_wait_until_unlock)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstVfioTicker ticker;
  Wait w = { &ticker, clock, 3600 * GST_SECOND, 0, GST_FLOW_ERROR };
  GstClockTime rt;
  GThread *thread;

  w.due += gst_clock_get_time (clock) - BASE;
  gst_vfio_ticker_init (&ticker);
  thread = g_thread_new ("wait", wait_until_thread, &w);
  /* Whether the unlock comes before the wait or during it, the wait ends. */
  g_usleep (20000);
  gst_vfio_ticker_unlock (&ticker);
  g_thread_join (thread);
  fail_unless_equals_int (w.ret, GST_FLOW_FLUSHING);
  /* Still flushing: no wait at all. */
  fail_unless_equals_int (gst_vfio_ticker_wait_until (&ticker, clock, BASE,
          GST_SECOND, &rt), GST_FLOW_FLUSHING);
  gst_vfio_ticker_unlock_stop (&ticker);
  fail_unless_equals_int (gst_vfio_ticker_wait_until (&ticker, clock,
          gst_clock_get_time (clock), 0, &rt), GST_FLOW_OK);
  gst_vfio_ticker_clear (&ticker);
  gst_object_unref (clock);
}

GST_END_TEST;

/* On the system clock, ticks that come late but less than a period late
 * (a streaming thread held up downstream): each wait ends at once, and
 * GStreamer logs no ERROR for it. A periodic id whose last wait ended
 * EARLY makes the system clock log "unexpected status" at the next one. */
GST_START_TEST (test_late_ticks_log_nothing)
{
  const GstClockTime period = 20 * GST_MSECOND;
  GstClock *clock = gst_system_clock_obtain ();
  GstClockTime base = gst_clock_get_time (clock), rt = 0, last = 0;
  GstVfioTicker ticker;
  ErrorLog log;
  gint errors;

  gst_vfio_ticker_init (&ticker);
  gst_vfio_ticker_restart (&ticker, period);
  error_log_start (&log);
  for (guint i = 0; i < 6; i++) {
    fail_unless_equals_int (gst_vfio_ticker_wait (&ticker, clock, base, &rt),
        GST_FLOW_OK);
    fail_unless (i == 0 || rt > last);
    last = rt;
    /* Held up for 1.5 periods: the next tick is due in the past. */
    g_usleep (30 * G_TIME_SPAN_MILLISECOND);
  }
  errors = error_log_stop (&log);
  fail_unless (errors == 0, "%d ERROR messages, the first: %s", errors,
      log.first);
  error_log_clear (&log);
  gst_vfio_ticker_clear (&ticker);
  gst_object_unref (clock);
}

GST_END_TEST;

static Suite *
ticker_suite (void)
{
  Suite *s = suite_create ("ticker");
  TCase *tc = tcase_create ("wait_until");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_wait_until);
  tcase_add_test (tc, test_wait_until_past);
  tcase_add_test (tc, test_wait_until_unlock);
  tcase_add_test (tc, test_late_ticks_log_nothing);
  return s;
}

GST_CHECK_MAIN (ticker);
