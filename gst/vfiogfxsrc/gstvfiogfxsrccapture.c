/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming side of vfiogfxsrc: at each tick, one plane query, the
 * memory of the framebuffer shown (one GstMemory per guest framebuffer),
 * new caps when the layout changes, a GAP while the display is off, and
 * the copy into the default layout where downstream needs it. The wait for
 * the guest's first plane happens here too, in create(), where unlock()
 * interrupts it as any other wait.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiogfxsrcpriv.h"
#include "gstvfiosrcdevice.h"
#include "gstvfiocopy.h"
#include "gstvfiosrcerrors.h"

#include <gst/allocators/allocators.h>
#include <sys/mman.h>

#define GST_CAT_DEFAULT gst_vfio_gfx_src_debug

#define REJECT_WARNING_INTERVAL (5 * G_TIME_SPAN_SECOND)

typedef enum
{
  PLANE_OK,
  PLANE_NONE,                   /* display off */
  PLANE_SKIP,                   /* rejected or transient: try next tick */
  PLANE_ERROR,                  /* posted */
  PLANE_END,                    /* the device went away: EOS */
} PlaneResult;

static void
post_signal (GstVfioGfxSrc * self, gboolean present)
{
  GstStructure *s;

  if (self->signal_present == (gint) present)
    return;
  self->signal_present = present;

  GST_INFO_OBJECT (self, "guest display %s", present ? "present" : "gone");
  s = gst_structure_new ("vfiogfxsrc-signal", "present", G_TYPE_BOOLEAN,
      present, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
note_rejected (GstVfioGfxSrc * self, const GError * error)
{
  gint64 now = g_get_monotonic_time ();

  STATS_ADD (self, rejected_planes, 1);
  GST_DEBUG_OBJECT (self, "plane rejected: %s", error->message);

  if (self->last_reject_warning
      && now - self->last_reject_warning < REJECT_WARNING_INTERVAL)
    return;
  self->last_reject_warning = now;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
      ("The guest shows a framebuffer that cannot be captured; skipping it."),
      ("%s", error->message));
}

/* One query, validated. */
static PlaneResult
query_plane (GstVfioGfxSrc * self, GstVfioPlane * plane)
{
  g_autoptr (GError) error = NULL;

  STATS_ADD (self, queries, 1);
  if (!gst_vfio_device_query_plane (self->device, GST_VFIO_PLANE_PRIMARY,
          plane, &error)) {
    if (g_error_matches (error, GST_VFIO_ERROR, GST_VFIO_ERROR_TRANSIENT)) {
      GST_DEBUG_OBJECT (self, "%s", error->message);
      return PLANE_SKIP;
    }
    if (g_error_matches (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED)) {
      note_rejected (self, error);
      return PLANE_SKIP;
    }
    /* The VMM exited while we asked: its end, not an error. */
    if (gst_vfio_src_check_device_end (GST_ELEMENT (self), self->device) ==
        GST_FLOW_EOS)
      return PLANE_END;
    gst_vfio_src_post_error (GST_ELEMENT (self), error);
    return PLANE_ERROR;
  }

  if (!plane->present) {
    post_signal (self, FALSE);
    return PLANE_NONE;
  }
  post_signal (self, TRUE);

  if (!gst_vfio_plane_validate (plane, &error)) {
    note_rejected (self, error);
    return PLANE_SKIP;
  }
  return PLANE_OK;
}

/* Polls until the guest shows a valid plane, on the system clock: before
 * caps there is no stream to keep alive. Called from create(), where
 * unlock() makes it return FLUSHING as for any other wait. A device that
 * ends meanwhile (removal requested, VMM gone) ends the wait with EOS. */
static GstFlowReturn
wait_for_first_plane (GstVfioGfxSrc * self)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstClockTime running_time;
  GstVfioPlane plane;
  GstFlowReturn ret;

  gst_vfio_ticker_restart (&self->ticker, DEFAULT_PERIOD);
  while ((ret = gst_vfio_ticker_wait (&self->ticker, clock, 0,
              &running_time)) == GST_FLOW_OK) {
    PlaneResult res;

    ret = gst_vfio_src_check_device_end (GST_ELEMENT (self), self->device);
    if (ret != GST_FLOW_OK)
      break;
    res = query_plane (self, &plane);

    if (res == PLANE_ERROR || res == PLANE_END) {
      ret = res == PLANE_END ? GST_FLOW_EOS : GST_FLOW_ERROR;
      break;
    }
    if (res == PLANE_OK) {
      self->plane = plane;
      self->have_plane = TRUE;
      break;
    }
  }
  gst_object_unref (clock);
  return ret;
}

/* Whether the CPU can map @memory. A dma-buf is tried with the mmap()
 * that GstFdMemory's map makes, which logs a refusal (GVT-g, stock mbochs)
 * as an ERROR: here a refusal is an answer, not an error. */
static gboolean
memory_is_cpu_mappable (GstMemory * memory)
{
  GstMapInfo map;
  gsize maxsize;
  gpointer data;

  if (gst_is_fd_memory (memory)) {
    gst_memory_get_sizes (memory, NULL, &maxsize);
    data = mmap (NULL, maxsize, PROT_READ, MAP_SHARED,
        gst_fd_memory_get_fd (memory), 0);
    if (data == MAP_FAILED)
      return FALSE;
    munmap (data, maxsize);
    return TRUE;
  }
  if (!gst_memory_map (memory, &map, GST_MAP_READ))
    return FALSE;
  gst_memory_unmap (memory, &map);
  return TRUE;
}

/* The memory showing @plane, the same one each time for the same buffer.
 * NULL with *result set when none can be had. */
static GstMemory *
get_memory (GstVfioGfxSrc * self, const GstVfioPlane * plane,
    PlaneResult * result)
{
  g_autoptr (GError) error = NULL;
  gboolean exported = FALSE;
  GstMemory *memory;

  if (plane->type == GST_VFIO_PLANE_TYPE_REGION) {
    /* Another region with the same layout: map that one, not the old. */
    if (self->region_memory && self->region_index != plane->id)
      gst_clear_mini_object ((GstMiniObject **) & self->region_memory);
    if (!self->region_memory) {
      self->region_memory = gst_vfio_region_map_plane (self->device, plane,
          &error);
      self->region_index = plane->id;
    }
    memory = self->region_memory ? gst_memory_ref (self->region_memory) : NULL;
  } else {
    memory = gst_vfio_dmabuf_cache_lookup (self->cache, plane, &exported,
        &error);
    if (exported)
      STATS_ADD (self, exports, 1);
  }

  if (memory && exported && !self->dmabuf_caps
      && !memory_is_cpu_mappable (memory)) {
    gst_memory_unref (memory);
    gst_vfio_src_post_unmappable (GST_ELEMENT (self));
    *result = PLANE_ERROR;
    return NULL;
  }

  if (!memory) {
    if (g_error_matches (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED)) {
      note_rejected (self, error);
      *result = PLANE_SKIP;
    } else if (g_error_matches (error, GST_VFIO_ERROR,
            GST_VFIO_ERROR_TRANSIENT)) {
      *result = PLANE_SKIP;
    } else if (gst_vfio_src_check_device_end (GST_ELEMENT (self),
            self->device) == GST_FLOW_EOS) {
      /* As in query_plane(): the device closed under the export. */
      *result = PLANE_END;
    } else {
      gst_vfio_src_post_error (GST_ELEMENT (self), error);
      *result = PLANE_ERROR;
    }
  }
  return memory;
}

/* Whether the CPU can map the dma-bufs of the plane the caps are for:
 * GVT-g never, stock mbochs never, an mbochs exporting read-write only
 * when the plane is whole pages (640x480 is, 800x600 is not). Learnt at
 * each negotiation from the plane's dma-buf, which stays cached for the
 * stream: one mmap per mode change. */
gboolean
gst_vfio_gfx_src_dmabufs_are_mappable (GstVfioGfxSrc * self)
{
  g_autoptr (GError) error = NULL;
  gboolean exported = FALSE, mappable;
  GstMemory *memory;

  memory = gst_vfio_dmabuf_cache_lookup (self->cache, &self->plane, &exported,
      &error);
  if (exported)
    STATS_ADD (self, exports, 1);
  if (!memory) {
    GST_DEBUG_OBJECT (self, "no dma-buf to try: %s", error->message);
    return FALSE;
  }
  mappable = memory_is_cpu_mappable (memory);
  GST_INFO_OBJECT (self, "the CPU %s map the dma-bufs of this plane",
      mappable ? "can" : "cannot");
  gst_memory_unref (memory);
  return mappable;
}

/* GstBaseSrc's negotiation, run from create(). Refused while flushing, it
 * is a flush, tried again after it. Refused otherwise, the stream ends:
 * with our error, EOS, as GstBaseSrc ends it after a fatal flow return
 * but without the generic error it would post after ours. */
static GstFlowReturn
negotiate_in_create (GstVfioGfxSrc * self)
{
  gboolean done;

  self->error_posted = FALSE;
  self->negotiating_in_create = TRUE;
  done = gst_base_src_negotiate (GST_BASE_SRC (self));
  self->negotiating_in_create = FALSE;
  if (done)
    return GST_FLOW_OK;

  self->negotiated = FALSE;
  if (GST_PAD_IS_FLUSHING (GST_BASE_SRC_PAD (self)))
    return GST_FLOW_FLUSHING;
  return self->error_posted ? GST_FLOW_EOS : GST_FLOW_NOT_NEGOTIATED;
}

/* A new layout mid-stream: new caps without restarting the pipeline. */
static GstFlowReturn
renegotiate (GstVfioGfxSrc * self, const GstVfioPlane * plane)
{
  GST_INFO_OBJECT (self, "mode change to %" GST_FOURCC_FORMAT " %ux%u "
      "stride %u", GST_FOURCC_ARGS (plane->fourcc), plane->width,
      plane->height, plane->stride);

  self->plane = *plane;
  gst_clear_mini_object ((GstMiniObject **) & self->region_memory);
  STATS_ADD (self, renegotiations, 1);
  return negotiate_in_create (self);
}

static GstBuffer *
wrap_memory (GstVfioGfxSrc * self, GstMemory * memory, GstClockTime pts)
{
  GstBuffer *buffer = gst_buffer_new ();
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0, };
  gint stride[GST_VIDEO_MAX_PLANES] = { (gint) self->plane.stride, };

  gst_buffer_append_memory (buffer, memory);
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (&self->vinfo), self->plane.width,
      self->plane.height, 1, offset, stride);

  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = self->frame_duration;
  return buffer;
}

static void
announce_copy (GstVfioGfxSrc * self)
{
  if (self->copy_announced)
    return;
  self->copy_announced = TRUE;
  GST_ELEMENT_INFO (self, STREAM, FORMAT,
      ("The guest framebuffer has a padded layout (stride %u for %u pixels) "
          "and downstream cannot read GstVideoMeta, so every frame is copied. "
          "To avoid the copy, put an element that reads GstVideoMeta "
          "(videoconvert to another format, an encoder) or a DMABuf importer "
          "(vapostproc, glupload) in front.", self->plane.stride,
          self->plane.width), (NULL));
}

/* Each step of a copy that can fail, with what it means. */
static void
post_copy_failure (GstVfioGfxSrc * self, GstVfioCopyFailure failure,
    GstFlowReturn ret)
{
  switch (failure) {
    case GST_VFIO_COPY_FAILED_MAP_SOURCE:
      gst_vfio_src_post_unmappable (GST_ELEMENT (self));
      break;
    case GST_VFIO_COPY_FAILED_ACQUIRE:
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Could not copy the guest framebuffer: no buffer to copy it "
              "into."), ("the pool gave none: %s", gst_flow_get_name (ret)));
      break;
    case GST_VFIO_COPY_FAILED_MAP_COPY:
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not copy the guest framebuffer: the buffer to copy it "
              "into cannot be written."), ("mapping the pool's buffer "
              "failed"));
      break;
    default:
      GST_ELEMENT_ERROR (self, CORE, FAILED,
          ("Could not copy the guest framebuffer: %s has no default layout.",
              gst_video_format_to_string (GST_VIDEO_INFO_FORMAT
                  (&self->vinfo))), (NULL));
      break;
  }
}

/* Into GStreamer's default layout, for a peer without GstVideoMeta. */
static GstFlowReturn
copy_to_default_layout (GstVfioGfxSrc * self, GstBuffer ** buffer)
{
  GstBufferPool *pool = gst_base_src_get_buffer_pool (GST_BASE_SRC (self));
  GstVfioCopyFailure failure;
  GstBuffer *copy = NULL;
  GstFlowReturn ret;
  gsize copied;

  if (!pool)
    goto no_pool;
  announce_copy (self);
  ret = gst_vfio_copy_frame (pool, *buffer, &self->vinfo, &copy, &copied,
      &failure);
  gst_object_unref (pool);
  /* A pool deactivated by a flush gives FLUSHING: not an error. */
  if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING)
    post_copy_failure (self, failure, ret);
  if (ret != GST_FLOW_OK)
    return ret;

  STATS_ADD (self, bytes_copied, copied);
  gst_buffer_replace (buffer, copy);
  gst_buffer_unref (copy);
  return GST_FLOW_OK;

  /* ERRORS */
no_pool:
  {
    GST_ELEMENT_ERROR (self, CORE, FAILED,
        ("No buffers to copy the guest framebuffer into."),
        ("decide_allocation left no active pool"));
    return GST_FLOW_ERROR;
  }
}

static GstFlowReturn
wait_for_tick (GstVfioGfxSrc * self, GstClockTime * running_time)
{
  GstClock *clock;
  GstClockTime base_time;
  GstFlowReturn ret;

  /* One lock for both, without the type checks of the getters. */
  GST_OBJECT_LOCK (self);
  clock = GST_ELEMENT_CLOCK (self);
  if (clock)
    gst_object_ref (clock);
  base_time = GST_ELEMENT_CAST (self)->base_time;
  GST_OBJECT_UNLOCK (self);

  /* Without a pipeline clock, pace on the system clock. */
  if (!clock) {
    clock = gst_system_clock_obtain ();
    base_time = 0;
  }
  if (GST_CLOCK_TIME_IS_VALID (self->next_query))
    ret = gst_vfio_ticker_wait_until (&self->ticker, clock, base_time,
        self->next_query, running_time);
  else
    ret = gst_vfio_ticker_wait (&self->ticker, clock, base_time,
        running_time);
  gst_object_unref (clock);
  return ret;
}

/* Flip locking: the query at @now showed a new buffer (@buffer) or not;
 * the lock says when to query next and when the flip was, which stamps
 * the buffer (strictly after the one before). A region plane shows no
 * flips (the guest draws into the same region, pushed at every query):
 * there the ticks stay on the poll grid. */
static void
follow_flips (GstVfioGfxSrc * self, GstClockTime now, GstBuffer * buffer)
{
  GstClockTime flip_time = GST_CLOCK_TIME_NONE;

  if (self->plane.type == GST_VFIO_PLANE_TYPE_REGION) {
    self->next_query = GST_CLOCK_TIME_NONE;
    return;
  }
  self->next_query = gst_vfio_flip_lock_observe (self->flip_lock, now,
      buffer != NULL, &flip_time);
  if (!buffer || !GST_CLOCK_TIME_IS_VALID (flip_time))
    return;
  if (GST_CLOCK_TIME_IS_VALID (self->last_pts))
    flip_time = MAX (flip_time, self->last_pts + 1);
  GST_BUFFER_PTS (buffer) = self->last_pts = flip_time;
}

/* The segment goes before the first event that needs one: at the start,
 * and again after a flush, whose FLUSH_STOP takes the pad's segment away.
 * The pad knows, so no flag of ours can miss a flush. */
static void
push_segment_if_missing (GstVfioGfxSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  GstEvent *current;
  GstSegment segment;

  current = gst_pad_get_sticky_event (GST_BASE_SRC_PAD (self),
      GST_EVENT_SEGMENT, 0);
  if (current) {
    gst_event_unref (current);
    return;
  }
  GST_OBJECT_LOCK (self);
  gst_segment_copy_into (&bsrc->segment, &segment);
  GST_OBJECT_UNLOCK (self);
  gst_base_src_push_segment (bsrc, &segment);
}

/* Keeps the stream going while the display is off. */
static void
push_gap (GstVfioGfxSrc * self, GstClockTime running_time)
{
  push_segment_if_missing (self);
  gst_pad_push_event (GST_BASE_SRC_PAD (self),
      gst_event_new_gap (running_time, self->period));
}

static gboolean
is_duplicate (GstVfioGfxSrc * self, const GstVfioPlane * plane)
{
  return self->streaming_mode == GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE
      && self->pushed_any
      && plane->type == GST_VFIO_PLANE_TYPE_DMABUF && plane->id == self->last_id;
}

/* One tick: a buffer, nothing (*buffer NULL), or an error. */
static GstFlowReturn
capture_tick (GstVfioGfxSrc * self, GstClockTime running_time,
    GstBuffer ** buffer)
{
  PlaneResult res;
  GstVfioPlane plane;
  GstMemory *memory;
  GstFlowReturn ret;
  gboolean changed;

  *buffer = NULL;
  res = query_plane (self, &plane);
  if (res == PLANE_ERROR)
    return GST_FLOW_ERROR;
  if (res == PLANE_END)
    return GST_FLOW_EOS;
  if (res == PLANE_NONE) {
    /* What the guest shows when it comes back is news. */
    self->pushed_any = FALSE;
    push_gap (self, running_time);
  }
  if (res != PLANE_OK)
    return GST_FLOW_OK;

  changed = !gst_vfio_plane_same_layout (&plane, &self->plane);
  if (changed && (ret = renegotiate (self, &plane)) != GST_FLOW_OK)
    return ret;
  /* guest-mode=auto gave the guest a new mode meanwhile: wait for it. */
  if (!self->negotiated)
    return GST_FLOW_OK;
  if (!changed && is_duplicate (self, &plane))
    return GST_FLOW_OK;

  memory = get_memory (self, &plane, &res);
  if (!memory) {
    /* The cache let go of the framebuffer pushed last to look this one
     * up: on GVT-g its number may name another framebuffer from now on. */
    self->pushed_any = FALSE;
    if (res == PLANE_END)
      return GST_FLOW_EOS;
    return res == PLANE_ERROR ? GST_FLOW_ERROR : GST_FLOW_OK;
  }

  self->plane = plane;
  self->last_id = plane.id;
  self->pushed_any = TRUE;
  *buffer = wrap_memory (self, memory, running_time);
  if (self->copy_frames && (ret = copy_to_default_layout (self,
              buffer)) != GST_FLOW_OK) {
    gst_clear_buffer (buffer);
    return ret;
  }
  STATS_ADD (self, frames, 1);
  return GST_FLOW_OK;
}

/* Caps wait for the guest's first plane; in create() a flush or a state
 * change interrupts the wait as it does any other. Later (downstream asked
 * for other caps, a flush interrupted a negotiation) the plane is known. */
static GstFlowReturn
negotiate_plane (GstVfioGfxSrc * self)
{
  GstFlowReturn ret;

  if (!self->have_plane && (ret = wait_for_first_plane (self)) != GST_FLOW_OK)
    return ret;
  return negotiate_in_create (self);
}

GstFlowReturn
gst_vfio_gfx_src_create (GstPushSrc * psrc, GstBuffer ** buffer)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (psrc);
  GstClockTime running_time;
  GstFlowReturn ret = GST_FLOW_OK;

  *buffer = NULL;
  while (ret == GST_FLOW_OK && !*buffer) {
    /* A flag, not gst_pad_has_current_caps (): this runs every frame.
     * Negotiating again when guest-mode=auto wrote a mode meanwhile. */
    if (!self->negotiated) {
      ret = negotiate_plane (self);
      continue;
    }
    ret = wait_for_tick (self, &running_time);
    if (ret == GST_FLOW_OK)
      ret = gst_vfio_src_check_device_end (GST_ELEMENT (self), self->device);
    if (ret == GST_FLOW_OK)
      ret = capture_tick (self, running_time, buffer);
    if (ret == GST_FLOW_OK && self->flip_lock)
      follow_flips (self, running_time, *buffer);
  }
  return ret;
}
