/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counts every GstMiniObject created (buffers, memories, the rest) with a
 * tracer hook. GStreamer sets its tracing up at gst_init() whether or not
 * GST_TRACERS is set, so that tools can attach hooks later: here a tracer
 * object of our own registers "mini-object-created", which
 * gst_mini_object_init() calls for every buffer and every memory, whatever
 * allocator or pool made it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <gst/gsttracer.h>

#define BENCH_TYPE_ALLOC_TRACER (bench_alloc_tracer_get_type ())
G_DECLARE_FINAL_TYPE (BenchAllocTracer, bench_alloc_tracer, BENCH,
    ALLOC_TRACER, GstTracer);

struct _BenchAllocTracer
{
  GstTracer parent;
};

G_DEFINE_TYPE (BenchAllocTracer, bench_alloc_tracer, GST_TYPE_TRACER);

static gint n_buffers, n_memories, n_other;
static GstTracer *tracer;

static void
on_mini_object_created (GObject * self, GstClockTime ts, GstMiniObject * object)
{
  GType type = GST_MINI_OBJECT_TYPE (object);

  if (type == GST_TYPE_BUFFER)
    g_atomic_int_inc (&n_buffers);
  else if (type == GST_TYPE_MEMORY)
    g_atomic_int_inc (&n_memories);
  else
    g_atomic_int_inc (&n_other);
}

static void
bench_alloc_tracer_class_init (BenchAllocTracerClass * klass)
{
}

static void
bench_alloc_tracer_init (BenchAllocTracer * self)
{
  gst_tracing_register_hook (GST_TRACER (self), "mini-object-created",
      G_CALLBACK (on_mini_object_created));
}

void
bench_alloc_counting_start (void)
{
  if (!tracer)
    tracer = gst_object_ref_sink (g_object_new (BENCH_TYPE_ALLOC_TRACER, NULL));
}

gboolean
bench_alloc_counting_enabled (void)
{
  return tracer != NULL;
}

void
bench_alloc_counts_read (BenchAllocCounts * counts)
{
  counts->buffers = g_atomic_int_get (&n_buffers);
  counts->memories = g_atomic_int_get (&n_memories);
  counts->other = g_atomic_int_get (&n_other);
}
