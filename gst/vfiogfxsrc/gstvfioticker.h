/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Paces capture ticks on a clock: tick n is due at tick 0 + n periods, so
 * late ticks are skipped rather than accumulating drift. Interruptible from
 * another thread by gst_vfio_ticker_unlock(). */
typedef struct
{
  GMutex lock;
  GstClockID clock_id;          /* periodic, on id_clock from id_base */
  GstClockID until_id;          /* single shot, on until_clock, reused */
  GstClock *until_clock;
  GstClock *id_clock;
  GstClockTime id_base;
  gboolean flushing;
  gboolean started;
  GstClockTime period;
  GstClockTime first;
  guint64 n;
} GstVfioTicker;

void gst_vfio_ticker_init (GstVfioTicker * ticker);
void gst_vfio_ticker_clear (GstVfioTicker * ticker);
void gst_vfio_ticker_restart (GstVfioTicker * ticker, GstClockTime period);
GstFlowReturn gst_vfio_ticker_wait (GstVfioTicker * ticker, GstClock * clock,
    GstClockTime base_time, GstClockTime * running_time);
GstFlowReturn gst_vfio_ticker_wait_until (GstVfioTicker * ticker,
    GstClock * clock, GstClockTime base_time, GstClockTime due,
    GstClockTime * running_time);
void gst_vfio_ticker_unlock (GstVfioTicker * ticker);
void gst_vfio_ticker_unlock_stop (GstVfioTicker * ticker);

G_END_DECLS
