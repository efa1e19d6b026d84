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

void
gst_vfio_ticker_clear (GstVfioTicker * ticker)
{
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
  g_mutex_unlock (&ticker->lock);
}

static GstClockTime
running_time_now (GstClock * clock, GstClockTime base_time)
{
  GstClockTime now = gst_clock_get_time (clock);

  return now > base_time ? now - base_time : 0;
}

/* The running time the next tick is due at; called with the lock. */
static GstClockTime
next_due (GstVfioTicker * ticker, GstClockTime now)
{
  GstClockTime due;

  if (!ticker->started) {
    ticker->started = TRUE;
    ticker->first = now;
    ticker->n = 0;
    return now;
  }

  ticker->n++;
  due = ticker->first + ticker->n * ticker->period;
  if (now >= due + ticker->period) {
    guint64 n = (now - ticker->first) / ticker->period;
    ticker->skipped += n - ticker->n;
    GST_DEBUG ("late by %" GST_TIME_FORMAT ": skipping %" G_GUINT64_FORMAT
        " ticks", GST_TIME_ARGS (now - due), n - ticker->n);
    ticker->n = n;
    due = ticker->first + n * ticker->period;
  }
  return due;
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
  GstClockID id;
  GstClockTime due;

  g_mutex_lock (&ticker->lock);
  if (ticker->flushing)
    goto flushing;

  due = next_due (ticker, running_time_now (clock, base_time));
  id = gst_clock_new_single_shot_id (clock, base_time + due);
  ticker->clock_id = id;
  g_mutex_unlock (&ticker->lock);

  gst_clock_id_wait (id, NULL);

  g_mutex_lock (&ticker->lock);
  ticker->clock_id = NULL;
  gst_clock_id_unref (id);
  if (ticker->flushing)
    goto flushing;
  g_mutex_unlock (&ticker->lock);

  *running_time = running_time_now (clock, base_time);
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
  g_mutex_unlock (&ticker->lock);
}

void
gst_vfio_ticker_unlock_stop (GstVfioTicker * ticker)
{
  g_mutex_lock (&ticker->lock);
  ticker->flushing = FALSE;
  g_mutex_unlock (&ticker->lock);
}
