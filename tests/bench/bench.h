/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The benchmarks of vfiogfxsrc (see docs/performance.md): shared pieces.
 *
 * One program, two builds: vfio-bench runs against the emulated mdev of
 * tests/emu (bench-emu.c), vfio-bench-dev against a real device fd handed
 * over in $VFIO_DEVICE_FD (bench-dev.c), e.g. inside the test VM.
 *
 * Every figure is printed as one machine-readable line
 *   BENCH <name>=<value> unit=<unit>
 * which tools/bench collects into its table. Timing never fails a run.
 */
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* ---- the device (bench-emu.c or bench-dev.c) ---- */

typedef struct _BenchDevice BenchDevice;

typedef enum
{
  BENCH_IOCTL_QUERY_GFX_PLANE,
  BENCH_IOCTL_GET_GFX_DMABUF,
  BENCH_IOCTL_DMABUF_SYNC,
  BENCH_IOCTL_OTHER,            /* every other VFIO request */
  BENCH_N_IOCTLS
} BenchIoctl;

/* "emulated" or "kernel". */
const gchar *bench_device_kind (void);

/* Device @index (0, 1, ...) showing XR24 @width x @height. The real device
 * is the one in $VFIO_DEVICE_FD and shows what its guest shows. NULL with
 * a message printed when there is none. */
BenchDevice *bench_device_new (guint index, guint width, guint height);

void bench_device_free (BenchDevice * dev);

/* A VFIO device fd for the element's device-fd and for raw ioctls. */
gint bench_device_fd (BenchDevice * dev);

/* The reexport variant exports one dmabuf_id again and again, which only
 * GVT-g takes (mbochs corrupts host memory): the emulated device stops
 * treating that as fatal; a real device is left as it is. */
void bench_device_allow_reexport (BenchDevice * dev);

/* Whether ioctls, flips and mode changes are available (emulated only). */
gboolean bench_device_is_emulated (void);

/* Calls of @which on @dev so far (0 on a real device). */
guint64 bench_device_ioctl_count (BenchDevice * dev, BenchIoctl which);

/* Emulated only: the guest flips, or shows a new mode. */
void bench_device_flip (BenchDevice * dev);
guint64 bench_device_last_flip_ns (BenchDevice * dev);
void bench_device_set_mode (BenchDevice * dev, guint width, guint height);

/* ---- an instant clock (benchclock.c) ---- */

/* A clock on CLOCK_MONOTONIC whose waits return at once: a live source
 * paced on it runs as fast as the CPU allows. */
GstClock *bench_instant_clock_new (void);

/* ---- allocation counts (benchcount.c) ---- */

typedef struct
{
  guint64 buffers;
  guint64 memories;
  guint64 other;                /* events, queries, caps, samples ... */
} BenchAllocCounts;

/* Starts counting every GstMiniObject created, through a tracer hook
 * ("mini-object-created"). Hooks slow every push a little: timed runs do
 * not count. */
void bench_alloc_counting_start (void);
gboolean bench_alloc_counting_enabled (void);
void bench_alloc_counts_read (BenchAllocCounts * counts);

/* ---- the naive sources (benchsrc.c) ---- */

typedef enum
{
  BENCH_SRC_FLOOR,              /* a pre-made memory, a new buffer + meta */
  BENCH_SRC_FLOOR_PACED,        /* the same after a wait on the clock */
  BENCH_SRC_REEXPORT,           /* a new dma-buf fd and GstMemory per frame */
  BENCH_SRC_COPY,               /* a memcpy into a pooled system buffer */
} BenchSrcVariant;

#define BENCH_TYPE_SRC (bench_src_get_type ())
G_DECLARE_FINAL_TYPE (BenchSrc, bench_src, BENCH, SRC, GstPushSrc)

GstElement *bench_src_new (BenchSrcVariant variant, gint device_fd,
    guint width, guint height);

/* ---- a pipeline under measurement (benchrun.c) ---- */

/* What a source has done so far: taken at the start and end of a run's
 * window, so that start-up and negotiation stay out of the figures. */
typedef struct
{
  guint64 time_ns;
  guint64 cpu_ns;
  guint64 ioctls[BENCH_N_IOCTLS];
  BenchAllocCounts allocs;
  guint64 frames;
  guint64 queries;
  guint64 exports;
  guint64 bytes_copied;
} BenchSnapshot;

typedef struct _BenchRun BenchRun;

/* @src ! capsfilter caps=@caps ! fakesink sync=false, on @clock (NULL: the
 * pipeline's default, the system clock). @src has a "stats" property
 * (vfiogfxsrc or BenchSrc); @dev (nullable) counts its ioctls. */
BenchRun *bench_run_new (GstElement * src, const gchar * caps,
    GstClock * clock, BenchDevice * dev);
void bench_run_free (BenchRun * run);

GstElement *bench_run_get_source (BenchRun * run);

/* The window starts when buffer @warmup leaves the source (default 1000). */
void bench_run_set_warmup (BenchRun * run, guint64 warmup);

/* Plays until the source has pushed @frames (num-buffers, EOS). */
gboolean bench_run_frames (BenchRun * run, guint64 frames);

/* Plays for @seconds of window, then stops. */
gboolean bench_run_seconds (BenchRun * run, gdouble seconds);

/* Sets PLAYING for @frames without waiting: bench_run_wait() then. */
gboolean bench_run_start (BenchRun * run, guint64 frames);
gboolean bench_run_wait (BenchRun * run);

/* Whether the window has opened (the warm-up buffer has left). */
gboolean bench_run_started (BenchRun * run);

void bench_run_window (BenchRun * run, BenchSnapshot * start,
    BenchSnapshot * end);

/* Prints the per-frame figures of the window under @prefix. */
void bench_run_report (BenchRun * run, const gchar * prefix);

void bench_snapshot_take (BenchSnapshot * snap, GstElement * src,
    BenchDevice * dev);

/* ---- figures ---- */

/* Prints "BENCH <prefix>.<name>=<value> unit=<unit>". */
void bench_figure (const gchar * prefix, const gchar * name, gdouble value,
    const gchar * unit);

/* Prints "# <text>": context that tools/bench passes through. */
void bench_note (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

guint64 bench_now_ns (void);

/* CPU time of the process (user + system), ns. */
guint64 bench_cpu_ns (void);

G_END_DECLS
