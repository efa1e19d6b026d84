/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What gstvfiogfxsrc.c (the element: properties, states, negotiation) and
 * gstvfiogfxsrccapture.c (the streaming thread) share.
 */
#pragma once

#include "gstvfiogfxsrc.h"
#include "gstvfiocaps.h"
#include "gstvfiofliplock.h"
#include "gstvfioguestmode.h"
#include "gstvfioticker.h"

#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_vfio_gfx_src_debug);

#define DEFAULT_PERIOD (GST_SECOND / GST_VFIO_CAPS_DEFAULT_FPS)

typedef struct
{
  guint64 queries;
  guint64 exports;
  guint64 frames;
  guint64 renegotiations;
  guint64 rejected_planes;
  guint64 bytes_copied;
} GstVfioGfxSrcStats;

struct _GstVfioGfxSrc
{
  GstPushSrc parent;

  /* properties, under the object lock */
  gchar *device_path;
  gint device_fd;
  gboolean borrow;
  gint vmm_pid;
  GstVfioGfxSrcCaptureMode capture_mode;
  gboolean flip_lock_enabled;
  guint max_framebuffers;
  GstVfioGfxSrcStats stats;
  GstVfioGuestMode guest_mode;  /* its own lock */

  /* streaming thread */
  GstVfioDevice *device;
  GstVfioDmabufCache *cache;
  GstMemory *region_memory;
  guint32 region_index;         /* of region_memory */
  GstVfioPlane plane;           /* the layout the caps describe */
  gboolean have_plane;
  gboolean negotiated;          /* caps set for the plane */
  gboolean negotiating_in_create;
  gboolean error_posted;        /* by the negotiation that failed */
  GstVideoInfo vinfo;           /* with the plane's stride */
  gboolean dmabuf_caps;
  gboolean variable_rate;
  GstClockTime period;          /* between ticks */
  GstClockTime frame_duration;  /* NONE for variable-rate caps */
  gboolean copy_frames;
  gboolean copy_announced;
  guint32 last_id;
  gboolean pushed_any;
  GstVfioGfxSrcCaptureMode streaming_mode;      /* capture_mode at start */
  GstVfioFlipLock *flip_lock;   /* on-change with flip-lock, else NULL */
  GstClockTime next_query;      /* the flip lock's, NONE: on the grid */
  GstClockTime last_pts;
  gint signal_present;          /* -1 unknown */
  gint64 last_reject_warning;
  GstVfioTicker ticker;
};

/* Counters are written by the streaming thread and read by any: atomics
 * rather than the object lock on every frame. */
#define STATS_ADD(self, field, n) \
  __atomic_fetch_add (&(self)->stats.field, (n), __ATOMIC_RELAXED)
#define STATS_GET(self, field) \
  __atomic_load_n (&(self)->stats.field, __ATOMIC_RELAXED)

GstFlowReturn gst_vfio_gfx_src_create (GstPushSrc * psrc, GstBuffer ** buffer);

gboolean gst_vfio_gfx_src_dmabufs_are_mappable (GstVfioGfxSrc * self);

G_END_DECLS
