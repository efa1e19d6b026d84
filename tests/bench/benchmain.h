/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-bench's commands and options (bench.c). */
#pragma once

#include "bench.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *variant;
  gchar *name;
  gchar *mode;
  gchar *caps;
  gint64 frames;
  gdouble seconds;
  gdouble bare_seconds;
  gint64 warmup;
  gboolean count_allocs;
  gboolean no_bare;
  gchar *rates;
  gint samples;
  gint timer_slack_ns;
  gint sources;
  gint repeat;
  gboolean clock_per_source;
  gint64 sample_every;
} BenchOptions;

extern BenchOptions opts;

gboolean bench_parse_mode (const gchar * mode, guint * width, guint * height);
typedef struct
{
  guint64 calls;
  gdouble ns_per_call;
  gdouble cpu_ns_per_call;
} BenchBare;

gboolean bench_bare_query (gint fd);

gboolean bench_bare_loop (BenchDevice * dev, guint64 calls, gdouble seconds,
    BenchBare * result);

/* benchsteady.c */
GstElement *bench_make_source (const gchar * variant, BenchDevice * dev,
    guint width, guint height);
const gchar *bench_caps_for (const gchar * variant, guint rate);
gint bench_cmd_steady (void);
gint bench_cmd_scale (void);

/* benchsoak.c */
gint bench_cmd_latency (void);
gint bench_cmd_stability (void);

/* benchflip.c */
gint bench_cmd_flipsim (void);
gint bench_cmd_flipvm (void);

G_END_DECLS
