/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc under failing ioctls and hostile guests, against the emulated
 * mdev: every ioctl the element makes failing with every plausible errno on
 * the first, the Nth and every call (the table below says what must happen
 * in each case), an unmappable dma-buf, a dma-buf smaller than its plane,
 * export and mode-change storms, a flapping display, and unplugs at every
 * stage. Whatever happens: no crash, no hang, no fd, dma-buf or reference
 * left behind, and when the stream ends, exactly one error message of the
 * element's own, first (GstBaseSrc may add its generic one after it: see
 * is_base_src_error()). VFIOGFX_SOAK_FRAMES, VFIOGFX_SOAK_SEED and
 * VFIOGFX_STORM_TICKS size the long runs.
 *
 * The element runs on an InstantClock (instantclock.h): ticks come as fast
 * as the element can take them and the test changes the guest between two
 * ticks from the clock's hook, so "the Nth call" and "every tick" are exact.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gst/allocators/allocators.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <gst/vfio/vfio.h>
#include <stdio.h>
#include <unistd.h>

#include "instantclock.h"
#include "srccheck.h"
#include "vfioemu.h"

#define UUID "3c9b2f70-5d1e-4f8a-9b6c-7e0d1a2b3c4d"
#define GROUP 21
#define DMABUF_CAPS "video/x-raw(memory:DMABuf), framerate=1000/1"
#define BGRX_CAPS "video/x-raw, format=BGRx, framerate=1000/1"

/* GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE: max-framebuffers by default. */
#define CACHE_SIZE 64
/* Buffers the test keeps alive, as a slow consumer would. */
#define HOLD 4

/* A case runs until both, or until MAX_TICKS ticks without them. */
#define MIN_TICKS 40
#define MIN_FRAMES 20
#define MAX_TICKS 300

/* ---------------------------------------------------------------------- */
/* A running element and what it did */

typedef struct _Run Run;
typedef void (*Stimulus) (Run * run, guint64 tick);

struct _Run
{
  VfioEmuDevice *dev;
  GstHarness *h;
  GstClock *clock;
  GstBus *bus;
  Stimulus stimulus;
  gpointer data;
  guint fds_before;
  gboolean dmabuf_caps;

  GMutex lock;
  GCond cond;
  /* under the lock */
  guint64 ticks;
  guint buffers;
  guint gaps;
  guint errors;                 /* the element's own error messages */
  guint base_errors;            /* GstBaseSrc's generic follow-ups */
  gboolean base_error_first;    /* one came before the element's own */
  guint warnings;
  guint signals;
  gchar *error_text;
  guint max_live_dmabufs;
  GstBuffer *held[HOLD];
  guint n_held;
};

static void
on_tick (guint64 tick, gpointer user_data)
{
  Run *run = user_data;
  guint live;

  if (run->stimulus)
    run->stimulus (run, tick);
  live = vfio_emu_live_dmabufs (run->dev);

  g_mutex_lock (&run->lock);
  run->ticks = tick + 1;
  run->max_live_dmabufs = MAX (run->max_live_dmabufs, live);
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

static void
hold_buffer (Run * run, GstBuffer * buffer)
{
  GstBuffer *old = run->held[run->n_held % HOLD];

  run->held[run->n_held++ % HOLD] = gst_buffer_ref (buffer);
  if (old)
    gst_buffer_unref (old);
}

static GstPadProbeReturn
on_data (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Run *run = user_data;
  GstPadProbeReturn ret = GST_PAD_PROBE_OK;

  g_mutex_lock (&run->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
    GstMemory *memory;

    fail_unless_equals_int (gst_buffer_n_memory (buffer), 1);
    memory = gst_buffer_peek_memory (buffer, 0);
    /* The guest's pixels: nobody downstream may write them. */
    fail_unless (GST_MEMORY_IS_READONLY (memory));
    fail_unless (!run->dmabuf_caps || gst_is_dmabuf_memory (memory));
    fail_unless (gst_buffer_get_video_meta (buffer) != NULL);
    hold_buffer (run, buffer);
    run->buffers++;
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) ==
      GST_EVENT_GAP) {
    /* Not sticky: dropped here rather than queued in the harness. */
    run->gaps++;
    ret = GST_PAD_PROBE_DROP;
  }
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
  return ret;
}

/* GstBaseSrc adds a generic error of its own after the element's: "Internal
 * data stream error" when create() or negotiate() fails (gst_base_src_loop())
 * and "Failed to start" when start() does (gst_base_src_start()). */
static gboolean
is_base_src_error (GstMessage * message, const GError * error)
{
  const GstStructure *details = NULL;

  gst_message_parse_error_details (message, &details);
  if (details && gst_structure_has_field (details, "flow-return"))
    return TRUE;
  return g_error_matches (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE);
}

/* Counts the element's messages and drops them all: nothing piles up. */
static GstBusSyncReply
on_message (GstBus * bus, GstMessage * message, gpointer user_data)
{
  Run *run = user_data;

  g_mutex_lock (&run->lock);
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;
      gchar *debug = NULL;

      gst_message_parse_error (message, &error, &debug);
      GST_INFO ("error: %s (%s)", error->message, debug);
      if (is_base_src_error (message, error)) {
        run->base_errors++;
        run->base_error_first |= run->errors == 0;
      } else {
        run->errors++;
        if (!run->error_text)
          run->error_text = g_strdup (error->message);
      }
      g_error_free (error);
      g_free (debug);
      break;
    }
    case GST_MESSAGE_WARNING:
      run->warnings++;
      break;
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (message, "vfiogfxsrc-signal"))
        run->signals++;
      break;
    default:
      break;
  }
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
  /* A sync handler that drops a message owns it. */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

/* An element on @run->dev with @caps downstream, on an InstantClock, not
 * started yet. */
static void
run_init (Run * run, VfioEmuDevice * dev, const gchar * caps,
    Stimulus stimulus)
{
  GstPad *srcpad;

  memset (run, 0, sizeof (*run));
  g_mutex_init (&run->lock);
  g_cond_init (&run->cond);
  run->dev = dev;
  run->stimulus = stimulus;
  run->fds_before = count_open_fds ();
  run->dmabuf_caps = strstr (caps, "memory:DMABuf") != NULL;

  run->h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");
  g_object_set (run->h->element, "device", vfio_emu_device_sysfs_path (dev),
      NULL);
  gst_harness_set_sink_caps_str (run->h, caps);
  gst_harness_set_drop_buffers (run->h, TRUE);

  run->clock = instant_clock_new (on_tick, run);
  gst_element_set_clock (run->h->element, run->clock);

  srcpad = gst_element_get_static_pad (run->h->element, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_data, run, NULL);
  gst_object_unref (srcpad);

  run->bus = gst_bus_new ();
  gst_bus_set_sync_handler (run->bus, on_message, run, NULL);
  gst_element_set_bus (run->h->element, run->bus);
}

static GstStateChangeReturn
run_start (Run * run)
{
  return gst_element_set_state (run->h->element, GST_STATE_PLAYING);
}

/* Caps events of renegotiations queue up in the harness: drop them. */
static void
drain_events (Run * run)
{
  GstEvent *event;

  while ((event = gst_harness_try_pull_event (run->h)))
    gst_event_unref (event);
}

typedef gboolean (*RunDone) (Run * run);

/* Waits until @done (called with the lock held) says so; 20 s is a hang. */
static void
run_wait (Run * run, RunDone done)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&run->lock);
  while (!done (run)) {
    gint64 step = g_get_monotonic_time () + 2 * G_TIME_SPAN_MILLISECOND;

    fail_if (g_get_monotonic_time () > deadline,
        "hang: %" G_GUINT64_FORMAT " ticks, %u buffers, %u errors",
        run->ticks, run->buffers, run->errors);
    g_mutex_unlock (&run->lock);
    drain_events (run);
    g_mutex_lock (&run->lock);
    g_cond_wait_until (&run->cond, &run->lock, step);
  }
  g_mutex_unlock (&run->lock);
}

static void
run_stop (Run * run)
{
  fail_unless_equals_int (gst_element_set_state (run->h->element,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  drain_events (run);
}

/* run_init() and a start that must succeed. */
static void
run_init_started (Run * run, VfioEmuDevice * dev, const gchar * caps,
    Stimulus stimulus)
{
  run_init (run, dev, caps, stimulus);
  fail_unless (run_start (run) != GST_STATE_CHANGE_FAILURE);
}

/* Starts an element (which must succeed), runs it until @done, stops it. */
static void
run_until_done (Run * run, VfioEmuDevice * dev, const gchar * caps,
    Stimulus stimulus, RunDone done)
{
  run_init_started (run, dev, caps, stimulus);
  run_wait (run, done);
  run_stop (run);
}

/* Tears the element down and checks that it left nothing open. */
static void
run_clear (Run * run)
{
  GstElement *element = run->h->element;

  for (guint i = 0; i < HOLD; i++)
    gst_clear_buffer (&run->held[i]);
  g_object_add_weak_pointer (G_OBJECT (element), (gpointer *) & element);
  gst_harness_teardown (run->h);
  fail_unless (element == NULL, "a reference to the element was leaked");
  gst_object_unref (run->bus);
  gst_object_unref (run->clock);

  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (run->dev), 0);
  fail_unless_equals_int (count_open_fds (), run->fds_before);

  g_free (run->error_text);
  g_mutex_clear (&run->lock);
  g_cond_clear (&run->cond);
}

static void
assert_no_error (Run * run)
{
  fail_unless_equals_int (run->errors, 0);
  fail_unless_equals_int (run->base_errors, 0);
}

/* Exactly one error from the element, said first; GstBaseSrc may follow it
 * with its generic one, once. */
static void
assert_one_error (Run * run)
{
  fail_unless_equals_int (run->errors, 1);
  fail_unless (run->base_errors <= 1, "%u generic errors",
      run->base_errors);
  fail_if (run->base_error_first, "a generic error came before '%s'",
      run->error_text);
}

/* ---------------------------------------------------------------------- */
/* The device */

static VfioEmuDevice *
add_device (VfioEmuFlags flags)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, flags);

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  return dev;
}

static void
setup (void)
{
  /* The system clock, which the element polls on before its first caps,
   * keeps fds for the life of the process: have it before counting. */
  gst_object_unref (gst_system_clock_obtain ());
  vfio_emu_reset ();
}

static void
teardown (void)
{
  vfio_emu_reset ();
  /* The device files the test's fds kept open: closed now. */
  gst_vfio_device_close_unused ();
}

/* ---------------------------------------------------------------------- */
/* Each ioctl failing with each errno */

typedef enum
{
  RUNS,                         /* frames go on, no tick missed */
  SKIPS,                        /* a tick or more without a frame, then on */
  REJECTS,                      /* the same, counted as rejected planes */
  GAPS,                         /* the display reads as off, then back */
  STALLS,                       /* no frame at all, no error, stops fine */
  FAILS,                        /* one error message, stops fine */
} Outcome;

static const gchar *const outcome_names[] = {
  "RUNS", "SKIPS", "REJECTS", "GAPS", "STALLS", "FAILS",
};

static const int errnos[] = {
  EINVAL, ENOENT, ENODEV, EBUSY, ENOMEM, EINTR, EAGAIN, EFAULT, EIO, ENOTTY,
};

#define N_ERRNOS G_N_ELEMENTS (errnos)

typedef enum
{
  ON_DEVICE,                    /* the device, its dma-bufs and its group */
  ON_ANY_FD,                    /* the container too */
} FaultScope;

typedef struct
{
  const gchar *name;
  unsigned long request;
  FaultScope scope;
  VfioEmuFlags flags;           /* the device: dma-buf or region planes */
  unsigned first;               /* the fault: calls first .. first+count-1 */
  unsigned count;               /* 0: every call from first on */
  /* A second fault that makes the first reachable (0: none). */
  unsigned long also_request;
  int also_errno;
  unsigned also_first;
  Outcome outcome[N_ERRNOS];
} FaultCase;

#define DMABUF_DEV (VFIO_EMU_DMABUF | VFIO_EMU_EDID)
#define REGION_DEV VFIO_EMU_REGION
#define FIRST 1, 1
#define EVERY 1, 0
#define ALL(o) {o, o, o, o, o, o, o, o, o, o}
/* The three rows of an ioctl made once, at start (on a dma-buf device):
 * its 1st, 2nd and every call failing. */
#define ONCE_AT_START(ioctl, scope, first, second, every) \
  {#ioctl ", 1st call", VFIO_##ioctl, scope, DMABUF_DEV, FIRST, 0, 0, 0, \
      ALL (first)}, \
  {#ioctl ", 2nd call", VFIO_##ioctl, scope, DMABUF_DEV, 2, 1, 0, 0, 0, \
      ALL (second)}, \
  {#ioctl ", every call", VFIO_##ioctl, scope, DMABUF_DEV, EVERY, 0, 0, 0, \
      ALL (every)}

/*
 * Calls the element makes, in order: at start GET_API_VERSION,
 * GROUP_GET_STATUS, GROUP_SET_CONTAINER, CHECK_EXTENSION, SET_IOMMU,
 * GROUP_GET_DEVICE_FD, GET_INFO, GET_REGION_INFO of the PCI config space
 * (its vendor decides the export policy), then QUERY_GFX_PLANE twice
 * (probing dma-buf and region planes); then one QUERY_GFX_PLANE to
 * negotiate and one per tick. GET_GFX_DMABUF once per new dmabuf_id,
 * GET_REGION_INFO once per layout of a region plane, GET_INFO again after
 * an ENODEV (unplugged or just a disabled plane?). The stimulus flips the
 * guest's buffers every 5 ticks and changes the mode at tick 15: so the
 * 10th QUERY_GFX_PLANE is at tick 7, the 2nd GET_GFX_DMABUF at tick 5, the
 * 3rd GET_REGION_INFO at 15.
 *
 * Columns: EINVAL ENOENT ENODEV EBUSY ENOMEM EINTR EAGAIN EFAULT EIO ENOTTY.
 */
/* *INDENT-OFF* */
static const FaultCase fault_cases[] = {
  /* Probing: a transient failure is retried once, anything else means the
   * device has no display. */
  {"QUERY_GFX_PLANE, 1st call (probe)", VFIO_DEVICE_QUERY_GFX_PLANE,
      ON_DEVICE, DMABUF_DEV, FIRST, 0, 0, 0,
      {FAILS, FAILS, FAILS, RUNS, RUNS, RUNS, RUNS, FAILS, FAILS, FAILS}},
  /* Streaming: transient errnos are retried at once; GVT-g answers EINVAL
   * and EFAULT for planes it cannot decode (a guest's doing: skipped and
   * counted); ENODEV without an unplug is a disabled plane (GVT-g before
   * 5.x); the rest is a broken device. */
  {"QUERY_GFX_PLANE, 10th call (tick 7)", VFIO_DEVICE_QUERY_GFX_PLANE,
      ON_DEVICE, DMABUF_DEV, 10, 1, 0, 0, 0,
      {REJECTS, FAILS, GAPS, RUNS, RUNS, RUNS, RUNS, REJECTS, FAILS, FAILS}},
  {"QUERY_GFX_PLANE, every call", VFIO_DEVICE_QUERY_GFX_PLANE,
      ON_DEVICE, DMABUF_DEV, EVERY, 0, 0, 0, ALL (FAILS)},

  /* A failed export is tried again at the next tick when transient or
   * when the id went away in between (mbochs: ENOENT). EINVAL is for good
   * on this export-once device (mbochs: a framebuffer off a page
   * boundary): that framebuffer is skipped and counted, never tried again
   * (GVT-g, where the number may come back for another framebuffer, tries
   * again after a second: libs/dmabufcache). */
  {"GET_GFX_DMABUF, 1st call", VFIO_DEVICE_GET_GFX_DMABUF,
      ON_DEVICE, DMABUF_DEV, FIRST, 0, 0, 0,
      {REJECTS, SKIPS, FAILS, SKIPS, SKIPS, SKIPS, SKIPS, FAILS, FAILS,
          FAILS}},
  {"GET_GFX_DMABUF, 2nd call (tick 5)", VFIO_DEVICE_GET_GFX_DMABUF,
      ON_DEVICE, DMABUF_DEV, 2, 1, 0, 0, 0,
      {REJECTS, SKIPS, FAILS, SKIPS, SKIPS, SKIPS, SKIPS, FAILS, FAILS,
          FAILS}},
  {"GET_GFX_DMABUF, every call", VFIO_DEVICE_GET_GFX_DMABUF,
      ON_DEVICE, DMABUF_DEV, EVERY, 0, 0, 0,
      {STALLS, STALLS, FAILS, STALLS, STALLS, STALLS, STALLS, FAILS, FAILS,
          FAILS}},

  /* At start the PCI config space is read for the vendor: without it the
   * device is taken as one that exports once, and it runs. Region planes:
   * the region is looked up when a layout is first shown; EINVAL is the
   * answer for a region the device does not have, so the plane names no
   * display region: that frame is skipped and counted. */
  {"GET_REGION_INFO, 1st call (PCI config)", VFIO_DEVICE_GET_REGION_INFO,
      ON_DEVICE, REGION_DEV, FIRST, 0, 0, 0, ALL (RUNS)},
  {"GET_REGION_INFO, 2nd call (first plane)", VFIO_DEVICE_GET_REGION_INFO,
      ON_DEVICE, REGION_DEV, 2, 1, 0, 0, 0,
      {REJECTS, FAILS, FAILS, SKIPS, SKIPS, SKIPS, SKIPS, FAILS, FAILS,
          FAILS}},
  {"GET_REGION_INFO, 3rd call (tick 15)", VFIO_DEVICE_GET_REGION_INFO,
      ON_DEVICE, REGION_DEV, 3, 1, 0, 0, 0,
      {REJECTS, FAILS, FAILS, SKIPS, SKIPS, SKIPS, SKIPS, FAILS, FAILS,
          FAILS}},
  {"GET_REGION_INFO, every call", VFIO_DEVICE_GET_REGION_INFO,
      ON_DEVICE, REGION_DEV, EVERY, 0, 0, 0,
      {STALLS, FAILS, FAILS, STALLS, STALLS, STALLS, STALLS, FAILS, FAILS,
          FAILS}},

  /* At start: "not a VFIO device". After a query's ENODEV it decides
   * between unplugged (ENODEV again) and a disabled plane (anything else). */
  {"GET_INFO, 1st call (start)", VFIO_DEVICE_GET_INFO,
      ON_DEVICE, DMABUF_DEV, FIRST, 0, 0, 0, ALL (FAILS)},
  {"GET_INFO, 2nd call (after an ENODEV query)", VFIO_DEVICE_GET_INFO,
      ON_DEVICE, DMABUF_DEV, 2, 1, VFIO_DEVICE_QUERY_GFX_PLANE, ENODEV, 10,
      {GAPS, GAPS, FAILS, GAPS, GAPS, GAPS, GAPS, GAPS, GAPS, GAPS}},
  {"GET_INFO, every call", VFIO_DEVICE_GET_INFO,
      ON_DEVICE, DMABUF_DEV, EVERY, 0, 0, 0, ALL (FAILS)},

  /* Container and group ioctls happen once, at start: a 2nd call never
   * comes. Without CHECK_EXTENSION the element takes type1 (not v2). */
  ONCE_AT_START (GET_API_VERSION, ON_ANY_FD, FAILS, RUNS, FAILS),
  ONCE_AT_START (CHECK_EXTENSION, ON_ANY_FD, RUNS, RUNS, RUNS),
  ONCE_AT_START (SET_IOMMU, ON_ANY_FD, FAILS, RUNS, FAILS),
  ONCE_AT_START (GROUP_GET_STATUS, ON_DEVICE, FAILS, RUNS, FAILS),
  ONCE_AT_START (GROUP_SET_CONTAINER, ON_DEVICE, FAILS, RUNS, FAILS),
  ONCE_AT_START (GROUP_GET_DEVICE_FD, ON_DEVICE, FAILS, RUNS, FAILS),
};
/* *INDENT-ON* */

/* Flips every 5 ticks; a new mode at tick 15 (a new layout to map). */
static void
fault_stimulus (Run * run, guint64 tick)
{
  if (tick % 5 == 4)
    vfio_emu_flip (run->dev);
  if (tick == 14)
    vfio_emu_set_mode (run->dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
        1024, 768, 0);
}

static gboolean
fault_case_done (Run * run)
{
  return run->errors > 0 || run->ticks >= MAX_TICKS
      || (run->ticks >= MIN_TICKS && run->buffers >= MIN_FRAMES);
}

static Outcome
observed_outcome (Run * run, guint64 queries, guint64 frames,
    guint64 rejected)
{
  if (run->errors > 0)
    return FAILS;
  if (run->buffers == 0)
    return STALLS;
  if (rejected > 0)
    return REJECTS;
  if (run->gaps > 0)
    return GAPS;
  /* One query negotiates, then one per tick; a tick pushes or skips. */
  if (queries - 1 > frames)
    return SKIPS;
  return RUNS;
}

static void
fault_case_check (const FaultCase * c, int err, Outcome expected, Run * run,
    GstStateChangeReturn started)
{
  guint64 queries = stat_of (run->h->element, "queries");
  guint64 frames = stat_of (run->h->element, "frames");
  guint64 rejected = stat_of (run->h->element, "rejected-planes");
  Outcome seen = observed_outcome (run, queries, frames, rejected);

  GST_INFO ("%s, %s: %s; %" G_GUINT64_FORMAT " ticks, %u buffers, %"
      G_GUINT64_FORMAT " queries, %" G_GUINT64_FORMAT " rejected, %u gaps, "
      "%u+%u errors (%s)", c->name, g_strerror (err), outcome_names[seen],
      run->ticks, run->buffers, queries, rejected, run->gaps, run->errors,
      run->base_errors, run->error_text);

  fail_unless (seen == expected, "%s failing with %s: %s, expected %s "
      "(%u buffers, %" G_GUINT64_FORMAT " ticks, error '%s')", c->name,
      g_strerror (err), outcome_names[seen], outcome_names[expected],
      run->buffers, run->ticks, run->error_text);

  if (seen == FAILS)
    assert_one_error (run);
  else
    assert_no_error (run);
  if (seen == FAILS)
    fail_unless ((started == GST_STATE_CHANGE_FAILURE) == (run->buffers == 0
            && run->ticks == 0), "%s, %s: start returned %d",
        c->name, g_strerror (err), started);
  else
    fail_unless (started != GST_STATE_CHANGE_FAILURE);

  if (seen != FAILS && seen != STALLS)
    fail_unless (run->buffers >= MIN_FRAMES);
  if (seen == STALLS)
    fail_unless (run->ticks >= MAX_TICKS);
}

GST_START_TEST (test_fault)
{
  const FaultCase *c = &fault_cases[__i__ / N_ERRNOS];
  int err = errnos[__i__ % N_ERRNOS];
  VfioEmuDevice *dev = add_device (c->flags);
  const gchar *caps = c->flags & VFIO_EMU_DMABUF ? DMABUF_CAPS : BGRX_CAPS;
  GstStateChangeReturn started;
  Run run;

  vfio_emu_fail_ioctl (c->scope == ON_ANY_FD ? NULL : dev, c->request, err,
      c->first, c->count);
  if (c->also_request)
    vfio_emu_fail_ioctl (dev, c->also_request, c->also_errno, c->also_first,
        1);

  run_init (&run, dev, caps, fault_stimulus);
  started = run_start (&run);
  if (started != GST_STATE_CHANGE_FAILURE)
    run_wait (&run, fault_case_done);
  run_stop (&run);
  fault_case_check (c, err, c->outcome[__i__ % N_ERRNOS], &run, started);
  run_clear (&run);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Hostile guests */

static gboolean
has_error (Run * run)
{
  return run->errors > 0;
}

/* Stock mbochs and GVT-g dma-bufs refuse mmap(): with system-memory caps
 * that is one error that says what to put in front. */
GST_START_TEST (test_unmappable_dmabuf_sysmem)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  run_until_done (&run, dev, BGRX_CAPS, NULL, has_error);

  assert_one_error (&run);
  fail_unless (strstr (run.error_text, "vapostproc") != NULL, "%s",
      run.error_text);
  fail_unless_equals_int (run.buffers, 0);
  fail_unless_equals_uint64 (stat_of (run.h->element, "frames"), 0);
  run_clear (&run);
}

GST_END_TEST;

static gboolean
ticked_100 (Run * run)
{
  return run->errors > 0 || run->ticks >= 100;
}

/* The guest claims more than the dma-buf holds: exported once (an id is
 * never exported twice), checked against its real size, never pushed. */
GST_START_TEST (test_dmabuf_smaller_than_plane)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  const struct vfio_device_gfx_plane_info liar = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .width = 640,
    .height = 480,
    .stride = 2560,
    .size = 2560 * 480,
    .dmabuf_id = 42,
  };
  Run run;

  vfio_emu_set_raw_plane (dev, &liar, 2560 * 240);
  run_until_done (&run, dev, DMABUF_CAPS, NULL, ticked_100);

  assert_no_error (&run);
  fail_unless_equals_int (run.buffers, 0);
  fail_unless_equals_uint64 (stat_of (run.h->element, "frames"), 0);
  fail_unless (stat_of (run.h->element, "rejected-planes") + 1 >= run.ticks,
      "%" G_GUINT64_FORMAT " rejected in %" G_GUINT64_FORMAT " ticks",
      stat_of (run.h->element, "rejected-planes"), run.ticks);
  fail_unless_equals_uint64 (stat_of (run.h->element, "exports"), 1);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev,
          VFIO_DEVICE_GET_GFX_DMABUF), 1);
  /* Warned once, not at every tick. */
  fail_unless_equals_int (run.warnings, 1);
  run_clear (&run);
}

GST_END_TEST;

/* The same mid-stream: the good frames before, none of the lying plane. */
GST_START_TEST (test_dmabuf_shrinks_mid_stream)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  run_init_started (&run, dev, DMABUF_CAPS, NULL);
  run_wait (&run, ticked_100);
  {
    const struct vfio_device_gfx_plane_info liar = {
      .drm_format = DRM_FORMAT_XRGB8888,
      .width = 640,
      .height = 480,
      .stride = 2560,
      .size = 2560 * 480,
      .dmabuf_id = 42,
    };
    guint before;

    g_mutex_lock (&run.lock);
    before = run.buffers;
    g_mutex_unlock (&run.lock);
    vfio_emu_set_raw_plane (dev, &liar, 4096);
    g_usleep (20 * 1000);
    g_mutex_lock (&run.lock);
    /* At most the tick in flight when the plane changed. */
    fail_unless (run.buffers <= before + 2, "%u buffers after %u",
        run.buffers, before);
    g_mutex_unlock (&run.lock);
  }
  run_stop (&run);
  assert_no_error (&run);
  fail_unless (stat_of (run.h->element, "rejected-planes") > 0);
  run_clear (&run);
}

GST_END_TEST;

/* A new dmabuf_id at every tick: the cache keeps at most CACHE_SIZE ids
 * (plus what downstream holds), so fds stay bounded. */
static void
show_id (VfioEmuDevice * dev, guint32 id)
{
  const struct vfio_device_gfx_plane_info plane = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .width = 64,
    .height = 64,
    .stride = 256,
    .size = 256 * 64,
    .dmabuf_id = id,
  };

  vfio_emu_set_raw_plane (dev, &plane, 256 * 64);
}

static void
new_id_stimulus (Run * run, guint64 tick)
{
  show_id (run->dev, 1000 + tick);
}

static gboolean
ticked_2000 (Run * run)
{
  return run->errors > 0 || run->ticks >= 2000;
}

GST_START_TEST (test_export_storm)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  show_id (dev, 999);
  run_until_done (&run, dev, DMABUF_CAPS, new_id_stimulus, ticked_2000);

  assert_no_error (&run);
  GST_INFO ("%u buffers, %" G_GUINT64_FORMAT " exports, at most %u live "
      "dma-bufs", run.buffers, stat_of (run.h->element, "exports"),
      run.max_live_dmabufs);
  /* Each tick showed a new id. The device exports each once and keeps
   * it: past the bound the new ones are skipped and counted, nothing is
   * dropped and exported again. */
  fail_unless_equals_uint64 (stat_of (run.h->element, "exports"),
      CACHE_SIZE);
  fail_unless_equals_uint64 (stat_of (run.h->element, "frames"), CACHE_SIZE);
  fail_unless (stat_of (run.h->element, "rejected-planes") + CACHE_SIZE + 2
      >= 2000);
  fail_unless (run.max_live_dmabufs <= CACHE_SIZE,
      "%u dma-bufs alive", run.max_live_dmabufs);
  run_clear (&run);
}

GST_END_TEST;

/* A new mode at every tick: a renegotiation each, nothing piles up. */
static void
new_mode_stimulus (Run * run, guint64 tick)
{
  vfio_emu_set_mode (run->dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      16 + tick % 100, 16 + tick / 100, 0);
}

static guint env_uint (const gchar * name, guint fallback);

static guint
storm_ticks (void)
{
  return env_uint ("VFIOGFX_STORM_TICKS", 10000);
}

static gboolean
ticked_storm (Run * run)
{
  return run->errors > 0 || run->ticks >= storm_ticks ();
}

GST_START_TEST (test_mode_storm)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  guint64 renegotiations, frames;
  gint64 start = g_get_monotonic_time ();
  Run run;

  run_until_done (&run, dev, DMABUF_CAPS, new_mode_stimulus, ticked_storm);

  assert_no_error (&run);
  renegotiations = stat_of (run.h->element, "renegotiations");
  frames = stat_of (run.h->element, "frames");
  GST_INFO ("%" G_GUINT64_FORMAT " ticks in %.1f s: %" G_GUINT64_FORMAT
      " frames, %" G_GUINT64_FORMAT " renegotiations, at most %u live "
      "dma-bufs", run.ticks, (g_get_monotonic_time () - start) / 1e6, frames,
      renegotiations, run.max_live_dmabufs);
  /* Every tick but the first showed a new mode, with a new id: each was
   * negotiated, and the first CACHE_SIZE were exported, once. */
  fail_unless (renegotiations + 2 >= storm_ticks (), "%" G_GUINT64_FORMAT
      " renegotiations", renegotiations);
  fail_unless_equals_uint64 (frames, CACHE_SIZE);
  fail_unless_equals_uint64 (stat_of (run.h->element, "exports"),
      CACHE_SIZE);
  fail_unless (run.max_live_dmabufs <= CACHE_SIZE,
      "%u dma-bufs alive", run.max_live_dmabufs);
  run_clear (&run);
}

GST_END_TEST;

/* The display goes off and on at every tick. */
static void
flap_stimulus (Run * run, guint64 tick)
{
  vfio_emu_set_blank (run->dev, tick % 2);
}

GST_START_TEST (test_flapping_display)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  run_until_done (&run, dev, DMABUF_CAPS, flap_stimulus, ticked_2000);

  assert_no_error (&run);
  GST_INFO ("%" G_GUINT64_FORMAT " ticks: %u buffers, %u gaps, %u signal "
      "messages", run.ticks, run.buffers, run.gaps, run.signals);
  /* Every tick a frame or a gap, in turn; every change said once. */
  fail_unless (run.buffers + run.gaps + 2 >= run.ticks);
  fail_unless (run.buffers + 2 >= run.gaps && run.gaps + 2 >= run.buffers,
      "%u buffers, %u gaps", run.buffers, run.gaps);
  fail_unless (run.signals + 2 >= run.buffers + run.gaps);
  fail_unless (run.signals <= run.buffers + run.gaps + 2);
  /* One buffer shown all along: one export. */
  fail_unless_equals_uint64 (stat_of (run.h->element, "exports"), 1);
  run_clear (&run);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Unplug */

static gboolean
has_signal (Run * run)
{
  return run->signals > 0;
}

static void
assert_removed_error (Run * run)
{
  assert_one_error (run);
  fail_unless (strstr (run->error_text, "was removed") != NULL, "%s",
      run->error_text);
}

/* Before the display ever came on: the element polls for it. */
GST_START_TEST (test_unplug_while_waiting_for_display)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  vfio_emu_set_blank (dev, TRUE);
  run_init_started (&run, dev, DMABUF_CAPS, NULL);
  run_wait (&run, has_signal);
  vfio_emu_unplug (dev);
  run_wait (&run, has_error);
  run_stop (&run);

  assert_removed_error (&run);
  fail_unless_equals_int (run.buffers, 0);
  run_clear (&run);
}

GST_END_TEST;

/* Before start: the sysfs entry is gone, opening fails. */
GST_START_TEST (test_unplug_before_start)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  run_init (&run, dev, DMABUF_CAPS, NULL);
  vfio_emu_unplug (dev);
  fail_unless_equals_int (run_start (&run), GST_STATE_CHANGE_FAILURE);
  run_stop (&run);
  assert_one_error (&run);
  fail_unless (strstr (run.error_text, "No device at") != NULL, "%s",
      run.error_text);
  run_clear (&run);
}

GST_END_TEST;

static void
unplug_at_tick_10 (Run * run, guint64 tick)
{
  if (tick == 10)
    vfio_emu_unplug (run->dev);
}

GST_START_TEST (test_unplug_mid_stream)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  run_until_done (&run, dev, DMABUF_CAPS, unplug_at_tick_10, has_error);

  assert_removed_error (&run);
  fail_unless (run.buffers >= 9 && run.buffers <= 10, "%u", run.buffers);
  run_clear (&run);
}

GST_END_TEST;

/* Unplugged while the display is off: the GAP path notices too. */
static void
blank_then_unplug (Run * run, guint64 tick)
{
  if (tick == 5)
    vfio_emu_set_blank (run->dev, TRUE);
  if (tick == 10)
    vfio_emu_unplug (run->dev);
}

GST_START_TEST (test_unplug_while_blank)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  Run run;

  run_until_done (&run, dev, DMABUF_CAPS, blank_then_unplug, has_error);

  assert_removed_error (&run);
  fail_unless (run.gaps >= 4);
  run_clear (&run);
}

GST_END_TEST;

static gpointer
unplug_thread (gpointer data)
{
  Run *run = data;

  g_usleep (g_random_int_range (0, 2000));
  vfio_emu_unplug (run->dev);
  return NULL;
}

static gboolean
has_10_buffers (Run * run)
{
  return run->buffers >= 10;
}

/* Unplugged while the element stops, at random moments: it stops cleanly
 * with at most one error, whichever comes first. */
GST_START_TEST (test_unplug_during_stop)
{
  for (gint i = 0; i < 25; i++) {
    VfioEmuDevice *dev;
    GThread *thread;
    Run run;

    vfio_emu_reset ();
    dev = add_device (DMABUF_DEV);
    run_init_started (&run, dev, DMABUF_CAPS, NULL);
    run_wait (&run, has_10_buffers);
    thread = g_thread_new ("unplug", unplug_thread, &run);
    g_usleep (g_random_int_range (0, 2000));
    run_stop (&run);
    g_thread_join (thread);

    GST_INFO ("round %d: %u errors", i, run.errors);
    if (run.errors || run.base_errors)
      assert_removed_error (&run);
    run_clear (&run);
  }
}

GST_END_TEST;

/* The device fd was handed over: unplug ends the stream, the fd stays. */
GST_START_TEST (test_unplug_adopted_fd)
{
  VfioEmuDevice *dev = add_device (DMABUF_DEV);
  gint fd = vfio_emu_open_device_fd (dev);
  Run run;

  fail_unless (fd >= 0);
  run_init (&run, dev, DMABUF_CAPS, unplug_at_tick_10);
  g_object_set (run.h->element, "device", NULL, "device-fd", fd, NULL);
  fail_unless (run_start (&run) != GST_STATE_CHANGE_FAILURE);
  run_wait (&run, has_error);
  run_stop (&run);

  assert_removed_error (&run);
  fail_unless (fcntl (fd, F_GETFD) >= 0, "the adopted fd was closed");
  /* The element's copy of the fd stays, with its exports, while the
   * application holds the device: closed with the application's fd. */
  close (fd);
  run.fds_before--;
  fail_unless_equals_int (gst_vfio_device_close_unused (), 0);
  run_clear (&run);
}

GST_END_TEST;

/* ---------------------------------------------------------------------- */
/* Soak: a long run of everything a guest does, at random */

typedef struct
{
  GRand *rand;
  gint done;                    /* atomic: the test has its frames */
  guint blank_left;             /* ticks of the current blank period */
  guint64 ids_seen;             /* bit n: dmabuf_id n was shown */
  guint flips, mode_changes, blank_periods, faults;
} Soak;

/* Modes a guest desktop goes through; with two buffers each, the ids fit
 * the cache (8 x 2 = CACHE_SIZE), so no id is ever exported twice. */
static const guint soak_modes[][2] = {
  {640, 480}, {800, 600}, {1024, 768}, {1280, 720},
  {1280, 1024}, {1366, 768}, {1600, 900}, {1920, 1080},
};

static const int transient_errnos[] = { EINTR, EAGAIN, ENOMEM, EBUSY };

static void
soak_fault (Soak * soak, VfioEmuDevice * dev)
{
  int err = transient_errnos[g_rand_int_range (soak->rand, 0,
          G_N_ELEMENTS (transient_errnos))];
  guint count = g_rand_int_range (soak->rand, 1, 4);

  /* Mostly queries (1 or 2 failures in a row are retried within the tick,
   * 3 skip it); exports only happen for new ids, so rarely hit. */
  if (g_rand_int_range (soak->rand, 0, 4) == 0)
    vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, err, 1, count);
  else
    vfio_emu_fail_ioctl (dev, VFIO_DEVICE_QUERY_GFX_PLANE, err, 1, count);
  soak->faults++;
}

/* Per tick: a flip 1 in 20, a mode change 1 in 500, a blank period of up
 * to 50 ticks 1 in 1000, a burst of transient errors 1 in 1000. */
static void
soak_stimulus (Run * run, guint64 tick)
{
  Soak *soak = run->data;
  gdouble r = g_rand_double (soak->rand);
  guint32 id;

  if (g_atomic_int_get (&soak->done)) {
    vfio_emu_set_blank (run->dev, TRUE);
    return;
  }
  if (soak->blank_left > 0 && --soak->blank_left == 0)
    vfio_emu_set_blank (run->dev, FALSE);

  if (r < 0.05) {
    vfio_emu_flip (run->dev);
    soak->flips++;
  } else if (r < 0.052) {
    const guint *mode = soak_modes[g_rand_int_range (soak->rand, 0,
            G_N_ELEMENTS (soak_modes))];

    vfio_emu_set_mode (run->dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
        mode[0], mode[1], 0);
    soak->mode_changes++;
  } else if (r < 0.053 && soak->blank_left == 0) {
    soak->blank_left = g_rand_int_range (soak->rand, 1, 51);
    vfio_emu_set_blank (run->dev, TRUE);
    soak->blank_periods++;
  } else if (r < 0.054) {
    soak_fault (soak, run->dev);
  }

  id = vfio_emu_current_id (run->dev);
  fail_unless (id < 64);
  if (id)
    soak->ids_seen |= G_GUINT64_CONSTANT (1) << id;
}

static guint
env_uint (const gchar * name, guint fallback)
{
  const gchar *env = g_getenv (name);

  return env && *env ? (guint) g_ascii_strtoull (env, NULL, 10) : fallback;
}

/* Resident set size from /proc/self/statm, in bytes. */
static guint64
rss_bytes (void)
{
  g_autofree gchar *statm = NULL;
  guint64 size, resident;

  fail_unless (g_file_get_contents ("/proc/self/statm", &statm, NULL,
          NULL));
  fail_unless (sscanf (statm, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
          &size, &resident) == 2);
  return resident * sysconf (_SC_PAGESIZE);
}

#define SOAK_RSS_GROWTH_MAX (8 * 1024 * 1024)

/* ASan keeps freed memory in quarantine (256 MiB by default): the RSS of an
 * ASan build grows by design, and LeakSanitizer checks leaks there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_IS_MEANINGFUL FALSE
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_IS_MEANINGFUL FALSE
#endif
#endif
#ifndef RSS_IS_MEANINGFUL
#define RSS_IS_MEANINGFUL TRUE
#endif

GST_START_TEST (test_soak)
{
  guint frames = env_uint ("VFIOGFX_SOAK_FRAMES", 20000);
  guint32 seed = env_uint ("VFIOGFX_SOAK_SEED", g_random_int ());
  guint warmup = MAX (frames / 10, 1000);
  guint64 rss_warm = 0, rss_max = 0, queries, exports, stat_frames;
  guint fds_max = 0, pulled = 0, progress_at = 0;
  gint64 start = g_get_monotonic_time (), progress_time = start;
  gdouble seconds;
  Soak soak = { 0, };
  VfioEmuDevice *dev;
  Run run;

  g_print ("soak: seed %u (VFIOGFX_SOAK_SEED=%u repeats it), %u frames\n",
      seed, seed, frames);
  soak.rand = g_rand_new_with_seed (seed);
  dev = add_device (DMABUF_DEV);
  run_init (&run, dev, DMABUF_CAPS, soak_stimulus);
  run.data = &soak;
  fail_unless (run_start (&run) != GST_STATE_CHANGE_FAILURE);

  while (pulled < frames) {
    gint64 now = g_get_monotonic_time ();

    g_usleep (20 * 1000);
    drain_events (&run);
    g_mutex_lock (&run.lock);
    pulled = run.buffers;
    assert_no_error (&run);
    g_mutex_unlock (&run.lock);

    /* A hang is 10 s without a frame (the longest blank is 50 ticks). */
    if (pulled > progress_at) {
      progress_at = pulled;
      progress_time = now;
    }
    fail_if (now - progress_time > 10 * G_TIME_SPAN_SECOND,
        "no frame for 10 s after %u", pulled);

    fds_max = MAX (fds_max, count_open_fds ());
    if (pulled >= warmup) {
      if (!rss_warm)
        rss_warm = rss_bytes ();
      rss_max = MAX (rss_max, rss_bytes ());
    }
  }

  /* Display off for good: nothing is in flight when the element stops, so
   * its counters and ours must agree exactly. */
  g_atomic_int_set (&soak.done, TRUE);
  {
    guint64 ticks;

    g_mutex_lock (&run.lock);
    ticks = run.ticks;
    while (run.ticks < ticks + 3)
      g_cond_wait (&run.cond, &run.lock);
    g_mutex_unlock (&run.lock);
  }
  run_stop (&run);
  seconds = (g_get_monotonic_time () - start) / 1e6;

  queries = stat_of (run.h->element, "queries");
  exports = stat_of (run.h->element, "exports");
  stat_frames = stat_of (run.h->element, "frames");
  g_print ("soak: %u frames in %" G_GUINT64_FORMAT " ticks, %.1f s (%.0f "
      "frames/s); %u flips, %u mode changes (%" G_GUINT64_FORMAT
      " renegotiations), %u blank periods (%u gaps), %u fault bursts; %"
      G_GUINT64_FORMAT " queries, %" G_GUINT64_FORMAT " exports of %d ids; "
      "RSS %.1f MiB after warm-up, %.1f MiB at most (+%.2f MiB); fds %u "
      "before, %u at most; dma-bufs %u at most\n", run.buffers, run.ticks,
      seconds, run.buffers / seconds, soak.flips, soak.mode_changes,
      stat_of (run.h->element, "renegotiations"), soak.blank_periods,
      run.gaps, soak.faults, queries, exports,
      __builtin_popcountll (soak.ids_seen), rss_warm / 1048576.0,
      rss_max / 1048576.0, (rss_max - rss_warm) / 1048576.0, run.fds_before,
      fds_max,
      run.max_live_dmabufs);

  assert_no_error (&run);
  fail_unless_equals_uint64 (stat_frames, run.buffers);
  fail_unless (queries >= stat_frames);
  fail_unless (exports <= (guint64) __builtin_popcountll (soak.ids_seen),
      "%" G_GUINT64_FORMAT " exports of fewer ids", exports);
  fail_unless (run.max_live_dmabufs <= CACHE_SIZE + HOLD);
  fail_unless (fds_max <= run.fds_before + CACHE_SIZE + HOLD + 8,
      "%u fds open at most, %u before", fds_max, run.fds_before);
  if (RSS_IS_MEANINGFUL)
    fail_unless (rss_max - rss_warm < SOAK_RSS_GROWTH_MAX,
        "RSS grew by %" G_GUINT64_FORMAT " bytes", rss_max - rss_warm);
  else
    g_print ("soak: RSS not checked under ASan (quarantine)\n");
  run_clear (&run);
  g_rand_free (soak.rand);
}

GST_END_TEST;

static Suite *
faults_suite (void)
{
  Suite *s = suite_create ("faults");
  TCase *tc_ioctl = tcase_create ("ioctl");
  TCase *tc_guest = tcase_create ("guest");
  TCase *tc_unplug = tcase_create ("unplug");
  TCase *tc_soak = tcase_create ("soak");

  suite_add_tcase (s, tc_ioctl);
  tcase_add_checked_fixture (tc_ioctl, setup, teardown);
  tcase_add_loop_test (tc_ioctl, test_fault, 0,
      G_N_ELEMENTS (fault_cases) * N_ERRNOS);

  suite_add_tcase (s, tc_guest);
  tcase_add_checked_fixture (tc_guest, setup, teardown);
  tcase_set_timeout (tc_guest, 300);
  tcase_add_test (tc_guest, test_unmappable_dmabuf_sysmem);
  tcase_add_test (tc_guest, test_dmabuf_smaller_than_plane);
  tcase_add_test (tc_guest, test_dmabuf_shrinks_mid_stream);
  tcase_add_test (tc_guest, test_export_storm);
  tcase_add_test (tc_guest, test_mode_storm);
  tcase_add_test (tc_guest, test_flapping_display);

  suite_add_tcase (s, tc_unplug);
  tcase_add_checked_fixture (tc_unplug, setup, teardown);
  tcase_add_test (tc_unplug, test_unplug_while_waiting_for_display);
  tcase_add_test (tc_unplug, test_unplug_before_start);
  tcase_add_test (tc_unplug, test_unplug_mid_stream);
  tcase_add_test (tc_unplug, test_unplug_while_blank);
  tcase_add_test (tc_unplug, test_unplug_during_stop);
  tcase_add_test (tc_unplug, test_unplug_adopted_fd);

  suite_add_tcase (s, tc_soak);
  tcase_add_checked_fixture (tc_soak, setup, teardown);
  /* A slow machine does 2000 frames a second. */
  tcase_set_timeout (tc_soak, 60 + env_uint ("VFIOGFX_SOAK_FRAMES", 20000)
      / 2000);
  tcase_add_test (tc_soak, test_soak);
  return s;
}

GST_CHECK_MAIN (faults);
