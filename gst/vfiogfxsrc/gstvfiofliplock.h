/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Flip locking: guests flip on vblank, a host timer at the display's rate,
 * so flips land on a grid. This state machine learns that grid from the
 * outcomes of plane queries (did the buffer change since the last one?)
 * and says when to query next, so that a flip is seen just after it
 * happens with about one query per frame. It reads no clock: times are
 * running times in ns, given by the caller.
 *
 * POLLING: no grid known: a query every poll interval (plain on-change).
 * A flip seen there starts ACQUIRING: a burst of closely spaced queries
 * times a few flips; the median of their intervals (a missed flip counts
 * as two intervals) gives the period, the flips the phase. LOCKED: one
 * query per period just after the predicted flip; a flip not there yet is
 * looked for again a little later; a loop with bounded gains keeps the
 * grid on the flips (drift). A query in the middle of the period now and
 * then catches a faster guest. Flips that stop, or stop following the
 * grid, send it back to POLLING; a failed acquisition waits longer and
 * longer before the next one. */
typedef enum
{
  GST_VFIO_FLIP_LOCK_POLLING,
  GST_VFIO_FLIP_LOCK_ACQUIRING,
  GST_VFIO_FLIP_LOCK_LOCKED,
} GstVfioFlipLockState;

typedef struct _GstVfioFlipLock GstVfioFlipLock;

GstVfioFlipLock *gst_vfio_flip_lock_new (GstClockTime poll_interval)
    G_GNUC_WARN_UNUSED_RESULT;

void gst_vfio_flip_lock_free (GstVfioFlipLock * lock);

/* Forgets the grid and the back-off: the next observation starts over. */
void gst_vfio_flip_lock_reset (GstVfioFlipLock * lock);

/* The query interval while no grid is known (the element's frame period). */
void gst_vfio_flip_lock_set_poll_interval (GstVfioFlipLock * lock,
    GstClockTime poll_interval);

GstClockTime gst_vfio_flip_lock_observe (GstVfioFlipLock * lock,
    GstClockTime now, gboolean flipped, GstClockTime * flip_time);

GstVfioFlipLockState gst_vfio_flip_lock_get_state (GstVfioFlipLock * lock);

GstClockTime gst_vfio_flip_lock_get_period (GstVfioFlipLock * lock);

GstClockTime gst_vfio_flip_lock_get_margin (GstVfioFlipLock * lock);

const gchar *gst_vfio_flip_lock_state_name (GstVfioFlipLockState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstVfioFlipLock, gst_vfio_flip_lock_free);

G_END_DECLS
