/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioticker.h"

GST_DEBUG_CATEGORY_STATIC (gst_vfio_ticker_debug);
#define GST_CAT_DEFAULT gst_vfio_ticker_debug

void
gst_vfio_ticker_init (GstVfioTicker * ticker)
{
  GST_DEBUG_CATEGORY_INIT (gst_vfio_ticker_debug, "vfioticker", 0,
      "vfiogfxsrc capture pacing");

  memset (ticker, 0, sizeof (*ticker));
  g_mutex_init (&ticker->lock);
  ticker->period = GST_SECOND / 60;
}

/* Drops the periodic id: the next wait starts a new one. */
static void
drop_id (GstVfioTicker * ticker)
{
  if (ticker->clock_id)
    gst_clock_id_unref (ticker->clock_id);
  ticker->clock_id = NULL;
  gst_clear_object (&ticker->id_clock);
}

/* Drops the single-shot id: the next wait_until makes a new one. */
static void
drop_until_id (GstVfioTicker * ticker)
{
  if (ticker->until_id)
    gst_clock_id_unref (ticker->until_id);
  ticker->until_id = NULL;
  gst_clear_object (&ticker->until_clock);
}

void
gst_vfio_ticker_clear (GstVfioTicker * ticker)
{
  drop_id (ticker);
  drop_until_id (ticker);
  g_mutex_clear (&ticker->lock);
}

/* The next wait is tick 0 of a new grid of @period. */
void
gst_vfio_ticker_restart (GstVfioTicker * ticker, GstClockTime period)
{
  g_return_if_fail (GST_CLOCK_TIME_IS_VALID (period) && period > 0);

  g_mutex_lock (&ticker->lock);
  ticker->period = period;
  ticker->started = FALSE;
  drop_id (ticker);
  g_mutex_unlock (&ticker->lock);
}

static GstClockTime
running_time_now (GstClock * clock, GstClockTime base_time)
{
  GstClockTime now = gst_clock_get_time (clock);

  return now > base_time ? now - base_time : 0;
}

/* One periodic id per grid: a tick on time costs one wait, no allocation
 * and no clock read. A new grid starts at tick 0 = now; after a late tick
 * a new id takes the grid up again at tick n. Called with the lock. */
static void
ensure_id (GstVfioTicker * ticker, GstClock * clock, GstClockTime base_time)
{
  if (ticker->clock_id && ticker->id_clock == clock
      && ticker->id_base == base_time && ticker->started)
    return;
  drop_id (ticker);
  if (!ticker->started) {
    ticker->started = TRUE;
    ticker->first = running_time_now (clock, base_time);
    ticker->n = 0;
  }
  ticker->clock_id = gst_clock_new_periodic_id (clock, base_time +
      ticker->first + ticker->n * ticker->period, ticker->period);
  ticker->id_clock = gst_object_ref (clock);
  ticker->id_base = base_time;
}

/* After the wait of tick n, which returned @res @late behind it: skips
 * the ticks missed. An id whose wait ended EARLY keeps that status, and
 * the system clock logs an ERROR ("unexpected status") at its next wait:
 * a late tick costs a new id on the same grid instead. */
static void
advance (GstVfioTicker * ticker, GstClockReturn res, GstClockTime late)
{
  guint64 missed = late / ticker->period;

  ticker->n += 1 + missed;
  if (missed > 0)
    GST_DEBUG ("late by %" GST_TIME_FORMAT ": skipping %" G_GUINT64_FORMAT
        " ticks", GST_TIME_ARGS (late), missed);
  /* Skipped ticks too: the id would catch up tick by tick. */
  if (res == GST_CLOCK_EARLY || missed > 0)
    drop_id (ticker);
}

/**
 * gst_vfio_ticker_wait:
 * @clock: the clock to wait on
 * @base_time: the element's base time on @clock
 * @running_time: (out): the running time when the wait ended
 *
 * Returns: %GST_FLOW_OK at the tick, %GST_FLOW_FLUSHING when unlocked
 */
GstFlowReturn
gst_vfio_ticker_wait (GstVfioTicker * ticker, GstClock * clock,
    GstClockTime base_time, GstClockTime * running_time)
{
  GstClockTimeDiff jitter = 0;
  GstClockTime due, late;
  GstClockReturn res;
  GstClockID id;

  g_mutex_lock (&ticker->lock);
  if (ticker->flushing)
    goto flushing;
  ensure_id (ticker, clock, base_time);
  id = gst_clock_id_ref (ticker->clock_id);
  due = ticker->first + ticker->n * ticker->period;
  g_mutex_unlock (&ticker->lock);

  res = gst_clock_id_wait (id, &jitter);

  g_mutex_lock (&ticker->lock);
  gst_clock_id_unref (id);
  if (ticker->flushing)
    goto flushing;
  late = MAX (jitter, 0);
  advance (ticker, res, late);
  g_mutex_unlock (&ticker->lock);

  /* The wait has read the clock: the tick ended when it was due, or as
   * late as the jitter says. */
  *running_time = due + late;
  return GST_FLOW_OK;

flushing:
  g_mutex_unlock (&ticker->lock);
  return GST_FLOW_FLUSHING;
}

/**
 * gst_vfio_ticker_wait_until:
 * @clock: the clock to wait on
 * @base_time: the element's base time on @clock
 * @due: the running time to wait for, off the grid (flip locking)
 * @running_time: (out): the running time when the wait ended
 *
 * Waits once on a single-shot id; the periodic grid is left as it was,
 * and its next wait skips the ticks that passed meanwhile. A time already
 * past returns at once.
 *
 * Returns: %GST_FLOW_OK at @due, %GST_FLOW_FLUSHING when unlocked
 */
GstFlowReturn
gst_vfio_ticker_wait_until (GstVfioTicker * ticker, GstClock * clock,
    GstClockTime base_time, GstClockTime due, GstClockTime * running_time)
{
  GstClockTimeDiff jitter = 0;
  GstClockID id;

  g_return_val_if_fail (GST_CLOCK_TIME_IS_VALID (due), GST_FLOW_ERROR);

  g_mutex_lock (&ticker->lock);
  if (ticker->flushing)
    goto flushing;
  /* One id, re-armed for each wait: no allocation per query. */
  if (!ticker->until_id || ticker->until_clock != clock
      || !gst_clock_single_shot_id_reinit (clock, ticker->until_id,
          base_time + due)) {
    drop_until_id (ticker);
    ticker->until_id = gst_clock_new_single_shot_id (clock, base_time + due);
    ticker->until_clock = gst_object_ref (clock);
  }
  id = gst_clock_id_ref (ticker->until_id);
  g_mutex_unlock (&ticker->lock);

  gst_clock_id_wait (id, &jitter);

  g_mutex_lock (&ticker->lock);
  gst_clock_id_unref (id);
  if (ticker->flushing)
    goto flushing;
  g_mutex_unlock (&ticker->lock);

  *running_time = due + MAX (jitter, 0);
  return GST_FLOW_OK;

flushing:
  g_mutex_unlock (&ticker->lock);
  return GST_FLOW_FLUSHING;
}

void
gst_vfio_ticker_unlock (GstVfioTicker * ticker)
{
  g_mutex_lock (&ticker->lock);
  ticker->flushing = TRUE;
  if (ticker->clock_id)
    gst_clock_id_unschedule (ticker->clock_id);
  if (ticker->until_id)
    gst_clock_id_unschedule (ticker->until_id);
  g_mutex_unlock (&ticker->lock);
}

/* An unscheduled id stays unscheduled: the next wait makes a new one on the
 * same grid. */
void
gst_vfio_ticker_unlock_stop (GstVfioTicker * ticker)
{
  g_mutex_lock (&ticker->lock);
  ticker->flushing = FALSE;
  drop_id (ticker);
  drop_until_id (ticker);
  g_mutex_unlock (&ticker->lock);
}
