/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Flip locking (gstvfiofliplock.h): a clock-free state machine fed with
 * the outcome of each plane query. Times are signed ns internally, so
 * that "before the grid" needs no care with unsigned wrap-around.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiofliplock.h"

#include <stdlib.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_flip_lock_debug);
#define GST_CAT_DEFAULT gst_vfio_flip_lock_debug

#define US ((gint64) GST_USECOND)
#define MS ((gint64) GST_MSECOND)

/* Acquisition: a query every BURST_STEP until flips are timed over
 * ACQ_SPAN (the period's error shrinks with the span: 0.5 ms of jitter
 * over 6 periods of 144 Hz leaves it ~1 % off), at least ACQ_MIN_FLIPS and
 * at most ACQ_FLIPS of them, or until ACQ_TIMEOUT. Periods outside
 * [MIN_PERIOD, MAX_PERIOD] are not grids we lock to. */
#define BURST_STEP (500 * US)
#define ACQ_SPAN (100 * MS)
#define ACQ_FLIPS 16
#define ACQ_MIN_FLIPS 5
#define ACQ_TIMEOUT (250 * MS)
#define MIN_PERIOD (2 * MS)
#define MAX_PERIOD (100 * MS)
/* Polling: a burst needs flips in ACQ_TRIGGER of the last 8 polls, so a
 * blinking cursor on an idle desktop never starts one. */
#define ACQ_TRIGGER 3
#define BACKOFF_FIRST (2 * GST_SECOND)
#define BACKOFF_MAX (32 * GST_SECOND)
/* Locked: the first query of a period at grid + MARGIN; the loop moves
 * the grid so that TARGET_HITS of 10 flips are seen by it, the rest by
 * at most MAX_RETRIES retries that follow, RETRY_MIN then a RETRY_DIV-th
 * of the period apart: a skipped vblank costs no more than that. */
#define MARGIN (500 * US)
#define TARGET_HITS 9
#define RETRY_DIV 16
#define MAX_RETRIES 2
#define RETRY_MIN (250 * US)
#define RETRY_MAX (1 * MS)
/* Phase gain: from GAIN_START down to GAIN_MIN as periods pass; the
 * frequency gain a fraction of it, from 1/FREQ_DIV_START (a short burst
 * leaves the period tens of us off) to 1/FREQ_DIV_MAX; the period kept
 * within MAX_PPM of the acquired one, which is a few thousand ppm off. */
#define GAIN_START (200 * US)
#define GAIN_MIN (40 * US)
#define FREQ_DIV_START 4
#define FREQ_DIV_MAX 64
#define MAX_PPM 20000
/* Unlock: MISS_IN_ROW periods without a flip (the guest stopped), or in
 * the last 16 periods MAX_MISSES without or MAX_OFF_GRID not seen within
 * ON_GRID_RETRIES retries (no longer on the grid), or flips at two probes
 * in a row (mid period, every PROBE_EVERY periods: a faster guest). */
#define MISS_IN_ROW 4
#define MAX_MISSES 6
#define MAX_OFF_GRID 10
#define ON_GRID_RETRIES 1
#define PROBE_EVERY 32
#define HELD_CYCLES 256         /* a lock this long forgets the back-off */

typedef enum
{
  STEP_FIRST,                   /* the query just after the predicted flip */
  STEP_RETRY,                   /* the flip was not there yet */
  STEP_PROBE,                   /* mid period: no flip expected */
} LockedStep;

struct _GstVfioFlipLock
{
  gint64 poll_interval;
  GstVfioFlipLockState state;
  gint64 last_query;            /* -1: none yet */

  /* POLLING */
  gint64 poll_due;
  guint8 poll_history;          /* bit set: that poll saw a flip */
  gint64 acquire_after;
  gint64 backoff;

  /* ACQUIRING: midpoints of the query intervals that saw a flip */
  gint64 burst_start;
  gint64 flips[ACQ_FLIPS];
  guint n_flips;

  /* LOCKED */
  gint64 period;
  gint64 period_acquired;
  gint64 grid;                  /* the predicted flip of this period */
  LockedStep step;
  guint64 cycles;
  guint16 missed_history;       /* bit set: that period saw no flip */
  guint16 off_grid_history;     /* bit set: seen late or not at all */
  guint retries;                /* queries after the first, this period */
  guint missed_in_row;
  guint probe_flips;
};

GstVfioFlipLock *
gst_vfio_flip_lock_new (GstClockTime poll_interval)
{
  GstVfioFlipLock *lock = g_new0 (GstVfioFlipLock, 1);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_flip_lock_debug, "vfiofliplock", 0,
      "vfiogfxsrc flip locking");
  gst_vfio_flip_lock_set_poll_interval (lock, poll_interval);
  gst_vfio_flip_lock_reset (lock);
  return lock;
}

void
gst_vfio_flip_lock_free (GstVfioFlipLock * lock)
{
  g_free (lock);
}

static void
enter_polling (GstVfioFlipLock * lock, gint64 acquire_after)
{
  lock->state = GST_VFIO_FLIP_LOCK_POLLING;
  lock->poll_due = -1;
  lock->poll_history = 0;
  lock->acquire_after = acquire_after;
  lock->period = 0;
}

void
gst_vfio_flip_lock_reset (GstVfioFlipLock * lock)
{
  lock->last_query = -1;
  lock->backoff = BACKOFF_FIRST;
  enter_polling (lock, 0);
}

void
gst_vfio_flip_lock_set_poll_interval (GstVfioFlipLock * lock,
    GstClockTime poll_interval)
{
  g_return_if_fail (GST_CLOCK_TIME_IS_VALID (poll_interval)
      && poll_interval > 0 && poll_interval <= G_MAXINT64);

  lock->poll_interval = poll_interval;
}

/* Where the flip seen by the query at @now happened: @guess if it lies
 * after the previous query, else the middle of the interval (@now when
 * there was none). */
static gint64
flip_between (GstVfioFlipLock * lock, gint64 now, gint64 guess)
{
  gint64 lo = lock->last_query;

  if (lo < 0)
    return now;
  if (guess > now)
    guess = now;
  if (guess <= lo)
    guess = lo + (now - lo) / 2;
  return guess;
}

/* ---- POLLING ---- */

static gint64
next_poll (GstVfioFlipLock * lock, gint64 now)
{
  if (lock->poll_due < 0 || lock->poll_due + lock->poll_interval <= now)
    lock->poll_due = now;
  lock->poll_due += lock->poll_interval;
  return lock->poll_due;
}

static gint64
observe_polling (GstVfioFlipLock * lock, gint64 now, gboolean flipped)
{
  if (lock->last_query >= 0)
    lock->poll_history = (lock->poll_history << 1) | (flipped ? 1 : 0);
  if (flipped && now >= lock->acquire_after
      && __builtin_popcount (lock->poll_history) >= ACQ_TRIGGER) {
    GST_DEBUG ("flips in %d of the last 8 polls: acquiring",
        __builtin_popcount (lock->poll_history));
    lock->state = GST_VFIO_FLIP_LOCK_ACQUIRING;
    lock->burst_start = now;
    lock->n_flips = 0;
    return now + BURST_STEP;
  }
  return next_poll (lock, now);
}

/* ---- ACQUIRING ---- */

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
median (gint64 * values, guint n)
{
  qsort (values, n, sizeof (gint64), compare_gint64);
  return values[n / 2];
}

/* How many periods of @period @interval spans; 0 if it is not close to a
 * whole number of them. */
static gint64
whole_periods (gint64 interval, gint64 period)
{
  gint64 k = (interval + period / 2) / period;
  /* Two flips' jitter (0.5 ms each) and the burst's resolution. */
  gint64 tolerance = MAX (3 * BURST_STEP, period / 8);

  if (k < 1 || ABS (interval - k * period) > tolerance)
    return 0;
  return k;
}

/* Numbers each flip of the burst by its vblank after the first, counting
 * intervals in whole periods of the median interval (a missed flip spans
 * two). Returns how many intervals fit; sets @index. */
static guint
number_flips (GstVfioFlipLock * lock, gint64 * index)
{
  gint64 intervals[ACQ_FLIPS], estimate;
  guint n = lock->n_flips, fits = 0;

  for (guint i = 0; i + 1 < n; i++)
    intervals[i] = lock->flips[i + 1] - lock->flips[i];
  estimate = median (intervals, n - 1);
  if (estimate < MIN_PERIOD || estimate > MAX_PERIOD)
    return 0;
  index[0] = 0;
  for (guint i = 0; i + 1 < n; i++) {
    gint64 k = whole_periods (lock->flips[i + 1] - lock->flips[i], estimate);

    index[i + 1] = index[i] + MAX (k, 1);
    fits += k > 0;
  }
  return fits;
}

/* The grid of the burst's flips: a least-squares line through (vblank,
 * time), all but one interval in five fitting the median. Sets period and
 * grid (on the last flip). */
static gboolean
fit_grid (GstVfioFlipLock * lock)
{
  gint64 index[ACQ_FLIPS];
  guint n = lock->n_flips, fits = number_flips (lock, index);
  gdouble mean_i = 0, mean_t = 0, sii = 0, sit = 0, slope;

  if (fits < n - 1 - (n - 1) / 5 || fits < ACQ_MIN_FLIPS - 1)
    return FALSE;
  for (guint i = 0; i < n; i++) {
    mean_i += (gdouble) index[i] / n;
    mean_t += (gdouble) (lock->flips[i] - lock->flips[0]) / n;
  }
  for (guint i = 0; i < n; i++) {
    gdouble di = index[i] - mean_i;

    sii += di * di;
    sit += di * (lock->flips[i] - lock->flips[0] - mean_t);
  }
  slope = sit / sii;
  if (slope < MIN_PERIOD || slope > MAX_PERIOD)
    return FALSE;
  lock->period = slope;
  lock->grid = lock->flips[0] + mean_t + (index[n - 1] - mean_i) * slope;
  return TRUE;
}

/* Flips already off any grid (from the fourth on): the burst can stop. */
static gboolean
burst_hopeless (GstVfioFlipLock * lock)
{
  gint64 index[ACQ_FLIPS];

  return lock->n_flips >= 4 && number_flips (lock, index) < lock->n_flips - 1;
}

static gint64 start_period (GstVfioFlipLock * lock, gint64 now);

static gint64
observe_acquiring (GstVfioFlipLock * lock, gint64 now, gboolean flipped)
{
  gboolean timed_out = now - lock->burst_start >= ACQ_TIMEOUT;

  if (flipped)
    lock->flips[lock->n_flips++] = flip_between (lock, now, -1);
  if (lock->n_flips < ACQ_FLIPS && !timed_out && !burst_hopeless (lock)
      && (lock->n_flips < ACQ_MIN_FLIPS
          || lock->flips[lock->n_flips - 1] - lock->flips[0] < ACQ_SPAN))
    return now + BURST_STEP;
  if (lock->n_flips >= ACQ_MIN_FLIPS && fit_grid (lock)) {
    GST_DEBUG ("locked: period %" G_GINT64_FORMAT " ns from %u flips",
        lock->period, lock->n_flips);
    lock->state = GST_VFIO_FLIP_LOCK_LOCKED;
    lock->period_acquired = lock->period;
    lock->cycles = 0;
    lock->missed_history = lock->off_grid_history = 0;
    lock->missed_in_row = lock->probe_flips = 0;
    return start_period (lock, now);
  }
  GST_DEBUG ("no grid in %u flips: polling, next try in %" G_GINT64_FORMAT
      " ms", lock->n_flips, lock->backoff / MS);
  enter_polling (lock, now + lock->backoff);
  lock->backoff = MIN (2 * lock->backoff, (gint64) BACKOFF_MAX);
  return next_poll (lock, now);
}

/* ---- LOCKED ---- */

/* The grid's next period whose first query is still ahead. */
static gint64
start_period (GstVfioFlipLock * lock, gint64 now)
{
  do
    lock->grid += lock->period;
  while (lock->grid + MARGIN <= now);
  lock->step = STEP_FIRST;
  lock->retries = 0;
  return lock->grid + MARGIN;
}

static gint64
retry_step (GstVfioFlipLock * lock)
{
  return CLAMP (lock->period / RETRY_DIV, RETRY_MIN, RETRY_MAX);
}

/* The loop: a flip at the first query pulls the grid a little earlier, a
 * later one pushes it further later, so that TARGET_HITS in 10 are seen
 * at once whatever the jitter; the frequency follows the same error. */
static void
steer (GstVfioFlipLock * lock, gboolean hit)
{
  gint64 gain = MAX (GAIN_MIN, GAIN_START * 16 / (16 + (gint64) lock->cycles));
  gint64 error = hit ? -gain * (10 - TARGET_HITS) / 10 :
      gain * TARGET_HITS / 10;
  gint64 bound = lock->period_acquired * MAX_PPM / 1000000;
  gint64 freq_div = MIN (FREQ_DIV_START + (gint64) lock->cycles / 8,
      FREQ_DIV_MAX);

  lock->grid += error;
  lock->period = CLAMP (lock->period + error / freq_div,
      lock->period_acquired - bound, lock->period_acquired + bound);
}

static void
unlock (GstVfioFlipLock * lock, gint64 now, const gchar * why)
{
  GST_DEBUG ("unlocked after %" G_GUINT64_FORMAT " periods: %s",
      lock->cycles, why);
  if (lock->cycles >= HELD_CYCLES)
    lock->backoff = BACKOFF_FIRST;
  enter_polling (lock, now);
}

/* Records how the period ended; FALSE when the grid is lost. */
static gboolean
end_period (GstVfioFlipLock * lock, gint64 now, gboolean seen,
    gboolean on_grid)
{
  lock->cycles++;
  lock->missed_history = (lock->missed_history << 1) | (seen ? 0 : 1);
  lock->off_grid_history = (lock->off_grid_history << 1) | (on_grid ? 0 : 1);
  lock->missed_in_row = seen ? 0 : lock->missed_in_row + 1;
  if (lock->missed_in_row >= MISS_IN_ROW)
    unlock (lock, now, "no flips");
  else if (__builtin_popcount (lock->missed_history) >= MAX_MISSES)
    unlock (lock, now, "flips missing");
  else if (__builtin_popcount (lock->off_grid_history) >= MAX_OFF_GRID)
    unlock (lock, now, "flips off the grid");
  else
    return TRUE;
  return FALSE;
}

/* After a period: a probe in its middle now and then, or the next one. */
static gint64
next_after_period (GstVfioFlipLock * lock, gint64 now)
{
  gint64 probe = lock->grid + lock->period / 2 + lock->period / 8;

  if ((lock->cycles % PROBE_EVERY == 0 || lock->probe_flips > 0)
      && probe > now) {
    lock->step = STEP_PROBE;
    return probe;
  }
  return start_period (lock, now);
}

static gint64
observe_locked (GstVfioFlipLock * lock, gint64 now, gboolean flipped,
    gint64 * flip_time)
{
  gboolean hit = lock->step == STEP_FIRST;

  if (lock->step == STEP_PROBE) {
    if (flipped) {
      *flip_time = flip_between (lock, now, -1);
      if (++lock->probe_flips >= 2) {
        unlock (lock, now, "flips between periods");
        return next_poll (lock, now);
      }
    } else {
      lock->probe_flips = 0;
    }
    return start_period (lock, now);
  }
  if (flipped) {
    *flip_time = flip_between (lock, now, lock->grid);
    steer (lock, hit);
  } else if (lock->retries < MAX_RETRIES
      && now + retry_step (lock) <= lock->grid + lock->period / 2) {
    /* Most late flips are just late: look again soon, then less often. */
    gint64 step = hit ? RETRY_MIN : retry_step (lock);

    lock->step = STEP_RETRY;
    lock->retries++;
    return now + step;
  }
  if (!end_period (lock, now, flipped, flipped
          && lock->retries <= ON_GRID_RETRIES))
    return next_poll (lock, now);
  return next_after_period (lock, now);
}

/**
 * gst_vfio_flip_lock_observe:
 * @now: the running time of the query
 * @flipped: whether it showed a new buffer (a new dmabuf_id, a new
 *   content generation)
 * @flip_time: (out) (optional): the estimated running time of that flip,
 *   %GST_CLOCK_TIME_NONE when @flipped is %FALSE
 *
 * Feeds the outcome of a query. The first query is made at any time.
 *
 * Returns: the running time of the next query (after @now)
 */
GstClockTime
gst_vfio_flip_lock_observe (GstVfioFlipLock * lock, GstClockTime now,
    gboolean flipped, GstClockTime * flip_time)
{
  gint64 t = MIN (now, (GstClockTime) G_MAXINT64 / 2), when = t, next;

  g_return_val_if_fail (GST_CLOCK_TIME_IS_VALID (now), GST_CLOCK_TIME_NONE);

  /* Times go forward: a query before the last one is taken as at it. */
  if (t < lock->last_query)
    t = when = lock->last_query;
  switch (lock->state) {
    case GST_VFIO_FLIP_LOCK_POLLING:
      next = observe_polling (lock, t, flipped);
      break;
    case GST_VFIO_FLIP_LOCK_ACQUIRING:
      when = flip_between (lock, t, -1);
      next = observe_acquiring (lock, t, flipped);
      break;
    default:
      next = observe_locked (lock, t, flipped, &when);
      break;
  }
  lock->last_query = t;
  if (flip_time)
    *flip_time = flipped ? (GstClockTime) when : GST_CLOCK_TIME_NONE;
  return MAX (next, t + 1);
}

GstVfioFlipLockState
gst_vfio_flip_lock_get_state (GstVfioFlipLock * lock)
{
  return lock->state;
}

/* The period of the grid; 0 when none is locked. */
GstClockTime
gst_vfio_flip_lock_get_period (GstVfioFlipLock * lock)
{
  return lock->state == GST_VFIO_FLIP_LOCK_LOCKED ? lock->period : 0;
}

/* How long after a predicted flip the first query of a period is made:
 * the least latency a locked capture adds. */
GstClockTime
gst_vfio_flip_lock_get_margin (GstVfioFlipLock * lock)
{
  return MARGIN;
}

const gchar *
gst_vfio_flip_lock_state_name (GstVfioFlipLockState state)
{
  switch (state) {
    case GST_VFIO_FLIP_LOCK_POLLING:
      return "polling";
    case GST_VFIO_FLIP_LOCK_ACQUIRING:
      return "acquiring";
    case GST_VFIO_FLIP_LOCK_LOCKED:
      return "locked";
  }
  return "unknown";
}
