/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-vfiogfxsrc
 * @title: vfiogfxsrc
 *
 * Captures the display of a virtual machine whose vGPU is a VFIO mediated
 * device (Intel GVT-g, NVIDIA vGPU, the kernel's mbochs and mdpy samples).
 * At every tick it asks the device which framebuffer the guest shows and
 * pushes it without copying: dma-buf planes as DMABuf memory with DMA_DRM
 * caps (e.g. `drm-format=XR24:0x0100000000000001` for an X-tiled plane),
 * which VA encoders import directly; linear planes also as system memory
 * mapped from the same dma-buf; region planes as the mapped region.
 *
 * Each guest framebuffer is exported once and the same #GstMemory is pushed
 * whenever the guest shows it again, so importers cache their surfaces.
 *
 * The device is opened by UUID or sysfs path (#GstVfioGfxSrc:device); while
 * a VM holds it, its device fd is borrowed from the VMM
 * (#GstVfioGfxSrc:borrow), or adopted from a file descriptor that the VMM
 * hands over (#GstVfioGfxSrc:device-fd).
 *
 * #GstVfioGfxSrc:guest-mode chooses the guest's resolution: the element
 * writes an EDID with that preferred mode to the vGPU, as a cloud-gaming
 * server does when a client asks for its own screen size.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 vfiogfxsrc device=$UUID ! vah264enc ! h264parse ! mp4mux ! filesink location=vm.mp4 -e
 * ]| Encodes the guest display with VA, zero copy (pipelines/va-h264-mp4.sh).
 *
 * ## Messages
 * An element message `vfiogfxsrc-signal` with a boolean `present` is posted
 * whenever the guest display appears or goes (display off, guest reboot).
 * While it is gone the source keeps the stream alive with GAP events.
 * `vfiogfxsrc-removed` is posted, and the stream ends with EOS, when the
 * device's driver asks for the device back (its request IRQ, on devices the
 * element opened itself and whose driver offers one);
 * `vfiogfxsrc-vmm-exited` with the int `pid`, when the VMM whose device was
 * borrowed (or named by #GstVfioGfxSrc:vmm-pid) exits.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiogfxsrc.h"
#include "gstvfioguestmode.h"
#include "gstvfiosrcdevice.h"
#include "gstvfioticker.h"

#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_gfx_src_debug);
#define GST_CAT_DEFAULT gst_vfio_gfx_src_debug

#define DEFAULT_DEVICE NULL
#define DEFAULT_DEVICE_FD -1
#define DEFAULT_BORROW TRUE
#define DEFAULT_VMM_PID 0
#define DEFAULT_CAPTURE_MODE GST_VFIO_GFX_SRC_CAPTURE_EVERY_TICK
#define DEFAULT_MAX_FRAMEBUFFERS GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE
#define DEFAULT_FPS_N 60
#define DEFAULT_FPS_D 1
#define REJECT_WARNING_INTERVAL (5 * G_TIME_SPAN_SECOND)

enum
{
  PROP_0,
  PROP_DEVICE,
  PROP_DEVICE_FD,
  PROP_BORROW,
  PROP_VMM_PID,
  PROP_CAPTURE_MODE,
  PROP_MAX_FRAMEBUFFERS,
  PROP_STATS,
  PROP_GUEST_MODE,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

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
  GstVideoInfo vinfo;
  gboolean dmabuf_caps;
  GstClockTime frame_duration;
  guint32 last_id;
  gboolean pushed_any;
  GstVfioGfxSrcCaptureMode streaming_mode;      /* capture_mode at start */
  gint signal_present;          /* -1 unknown */
  gint64 last_reject_warning;
  GstVfioTicker ticker;
};

#define VIDEO_CAPS_COMMON \
  "width = (int) [ 1, 16384 ], height = (int) [ 1, 16384 ], " \
  "framerate = (fraction) [ 1/1, 1000/1 ]"

/* *INDENT-OFF* */
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (
        "video/x-raw(" GST_CAPS_FEATURE_MEMORY_DMABUF "), "
        "format = (string) DMA_DRM, " VIDEO_CAPS_COMMON "; "
        "video/x-raw, format = (string) { BGRx, BGRA, RGBx, RGBA, RGB16, "
        "YUY2, UYVY, YVYU, VYUY }, " VIDEO_CAPS_COMMON));
/* *INDENT-ON* */

#define gst_vfio_gfx_src_parent_class parent_class
G_DEFINE_TYPE (GstVfioGfxSrc, gst_vfio_gfx_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (vfiogfxsrc, "vfiogfxsrc", GST_RANK_NONE,
    GST_TYPE_VFIO_GFX_SRC);

GType
gst_vfio_gfx_src_capture_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_VFIO_GFX_SRC_CAPTURE_EVERY_TICK,
        "A frame at every tick of the framerate", "every-tick"},
    {GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE,
        "Poll at the framerate, push only new framebuffers", "on-change"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVfioGfxSrcCaptureMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- errors ---- */

/* Posts @error from the gstvfio library as an element error. */
static void
post_vfio_error (GstVfioGfxSrc * self, GError * error)
{
  GQuark domain = GST_RESOURCE_ERROR;
  gint code;

  switch (error->code) {
    case GST_VFIO_ERROR_NOT_FOUND:
    case GST_VFIO_ERROR_DEVICE_GONE:
      code = GST_RESOURCE_ERROR_NOT_FOUND;
      break;
    case GST_VFIO_ERROR_PERMISSION:
      code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
      break;
    case GST_VFIO_ERROR_BUSY:
      code = GST_RESOURCE_ERROR_BUSY;
      break;
    case GST_VFIO_ERROR_NOT_SUPPORTED:
    case GST_VFIO_ERROR_INVALID_ARGUMENT:
      code = GST_RESOURCE_ERROR_SETTINGS;
      break;
    default:
      code = GST_RESOURCE_ERROR_FAILED;
      break;
  }
  gst_element_message_full (GST_ELEMENT (self), GST_MESSAGE_ERROR, domain,
      code, g_strdup (error->message), g_strdup_printf ("%s (code %d)",
          g_quark_to_string (error->domain), error->code), __FILE__,
      GST_FUNCTION, __LINE__);
}

/* ---- stats and messages ---- */

/* Counters are written by the streaming thread and read by any: atomics
 * rather than the object lock on every frame. */
#define STATS_ADD(self, field, n) \
  __atomic_fetch_add (&(self)->stats.field, (n), __ATOMIC_RELAXED)
#define STATS_GET(self, field) \
  __atomic_load_n (&(self)->stats.field, __ATOMIC_RELAXED)

static GstStructure *
stats_to_structure (GstVfioGfxSrc * self)
{
  GstVfioGfxSrcStats s = {
    .queries = STATS_GET (self, queries),
    .exports = STATS_GET (self, exports),
    .frames = STATS_GET (self, frames),
    .renegotiations = STATS_GET (self, renegotiations),
    .rejected_planes = STATS_GET (self, rejected_planes),
    .bytes_copied = STATS_GET (self, bytes_copied),
  };

  return gst_structure_new ("vfiogfxsrc-stats",
      "queries", G_TYPE_UINT64, s.queries,
      "exports", G_TYPE_UINT64, s.exports,
      "frames", G_TYPE_UINT64, s.frames,
      "renegotiations", G_TYPE_UINT64, s.renegotiations,
      "rejected-planes", G_TYPE_UINT64, s.rejected_planes,
      "bytes-copied", G_TYPE_UINT64, s.bytes_copied,
      "edid-writes", G_TYPE_UINT64,
      gst_vfio_guest_mode_get_writes (&self->guest_mode), NULL);
}

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

/* ---- the plane ---- */

typedef enum
{
  PLANE_OK,
  PLANE_NONE,                   /* display off */
  PLANE_SKIP,                   /* rejected or transient: try next tick */
  PLANE_ERROR,                  /* posted */
  PLANE_END,                    /* the device went away: EOS */
} PlaneResult;

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
    post_vfio_error (self, error);
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

/* Polls until the guest shows a valid plane; FALSE when unlocked or on an
 * error (posted). Before caps there is no stream to keep alive. */
static gboolean
wait_for_plane (GstVfioGfxSrc * self)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstClockTime running_time;
  GstVfioPlane plane;
  gboolean found = FALSE;

  gst_vfio_ticker_restart (&self->ticker, GST_SECOND / DEFAULT_FPS_N);
  while (gst_vfio_ticker_wait (&self->ticker, clock, 0, &running_time) ==
      GST_FLOW_OK) {
    PlaneResult res = query_plane (self, &plane);

    if (res == PLANE_ERROR || res == PLANE_END)
      break;
    if (res == PLANE_OK) {
      self->plane = plane;
      self->have_plane = TRUE;
      found = TRUE;
      break;
    }
  }
  gst_object_unref (clock);
  return found;
}

/* ---- memory ---- */

static gboolean
memory_is_cpu_mappable (GstMemory * memory)
{
  GstMapInfo map;

  if (!gst_memory_map (memory, &map, GST_MAP_READ))
    return FALSE;
  gst_memory_unmap (memory, &map);
  return TRUE;
}

static void
post_unmappable_error (GstVfioGfxSrc * self)
{
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("The guest framebuffer cannot be mapped by the CPU, and downstream "
          "accepts only system memory. Put an element that imports DMABuf "
          "in front, such as vapostproc or glupload ! gldownload."),
      ("mmap() of the dma-buf failed: the exporter refuses CPU mappings or "
          "the plane is not a whole number of pages"));
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
    post_unmappable_error (self);
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
    } else {
      post_vfio_error (self, error);
      *result = PLANE_ERROR;
    }
  }
  return memory;
}

/* ---- negotiation ---- */

static GstCaps *
plane_caps_with_rate (const GstVfioPlane * plane)
{
  GstCaps *caps = gst_vfio_plane_get_caps (plane);

  if (caps)
    gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION_RANGE, 1, 1,
        1000, 1, NULL);
  return caps;
}

static void
post_not_negotiated (GstVfioGfxSrc * self, GstCaps * offered)
{
  g_autofree gchar *offered_str = gst_caps_to_string (offered);
  gboolean linear = self->plane.modifier == 0;

  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("Downstream accepts none of the formats of the guest framebuffer "
          "(%" GST_FOURCC_FORMAT ", %ux%u, %s). %s",
          GST_FOURCC_ARGS (self->plane.fourcc), self->plane.width,
          self->plane.height, linear ? "linear" : "tiled",
          linear ? "Add videoconvert, or a DMABuf importer such as "
          "vapostproc or glupload." : "A tiled framebuffer needs a DMABuf "
          "importer: add vapostproc (or glupload ! gldownload) in front."),
      ("offered %s", offered_str));
}

static void
configure_from_caps (GstVfioGfxSrc * self, GstCaps * caps)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint fps_n = DEFAULT_FPS_N, fps_d = DEFAULT_FPS_D;

  self->dmabuf_caps = gst_caps_features_contains (gst_caps_get_features (caps,
          0), GST_CAPS_FEATURE_MEMORY_DMABUF);
  if (self->dmabuf_caps) {
    GstVideoInfoDmaDrm drm_info;
    gst_vfio_plane_to_dma_drm_info (&self->plane, &drm_info);
    self->vinfo = drm_info.vinfo;
  } else {
    gst_vfio_plane_to_video_info (&self->plane, &self->vinfo);
  }

  gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d);
  self->vinfo.fps_n = fps_n;
  self->vinfo.fps_d = fps_d;
  self->frame_duration = gst_util_uint64_scale_int (GST_SECOND, fps_d, fps_n);
}

static GstCaps *
choose_caps (GstVfioGfxSrc * self, GstCaps * offered)
{
  GstCaps *caps;

  caps = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (self), offered);
  if (gst_caps_is_empty (caps)) {
    gst_caps_unref (caps);
    return NULL;
  }

  caps = gst_caps_truncate (caps);
  caps = gst_caps_make_writable (caps);
  gst_structure_fixate_field_nearest_fraction (gst_caps_get_structure (caps,
          0), "framerate", DEFAULT_FPS_N, DEFAULT_FPS_D);
  return gst_caps_fixate (caps);
}

static gboolean
gst_vfio_gfx_src_negotiate (GstBaseSrc * bsrc)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);
  g_autoptr (GstCaps) offered = NULL;
  g_autoptr (GstCaps) caps = NULL;

  /* guest-mode=auto: a size fixed downstream was given to the guest. */
  if (gst_vfio_guest_mode_negotiate (&self->guest_mode,
          GST_BASE_SRC_PAD (bsrc)))
    self->have_plane = FALSE;
  if (!self->have_plane && !wait_for_plane (self))
    return FALSE;

  offered = plane_caps_with_rate (&self->plane);
  if (offered)
    caps = choose_caps (self, offered);
  if (!caps) {
    post_not_negotiated (self, offered ? offered : gst_caps_new_empty ());
    return FALSE;
  }

  GST_INFO_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  configure_from_caps (self, caps);
  gst_vfio_ticker_restart (&self->ticker, self->frame_duration);
  return gst_base_src_set_caps (bsrc, caps);
}

/* A new layout mid-stream: new caps without restarting the pipeline. */
static gboolean
renegotiate (GstVfioGfxSrc * self, const GstVfioPlane * plane)
{
  GST_INFO_OBJECT (self, "mode change to %" GST_FOURCC_FORMAT " %ux%u "
      "stride %u", GST_FOURCC_ARGS (plane->fourcc), plane->width,
      plane->height, plane->stride);

  self->plane = *plane;
  gst_clear_mini_object ((GstMiniObject **) & self->region_memory);
  STATS_ADD (self, renegotiations, 1);
  return gst_base_src_negotiate (GST_BASE_SRC (self));
}

/* ---- capture ---- */

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
  ret = gst_vfio_ticker_wait (&self->ticker, clock, base_time, running_time);
  gst_object_unref (clock);
  return ret;
}

/* Keeps the stream going while the display is off. */
static void
push_gap (GstVfioGfxSrc * self, GstClockTime running_time)
{
  gst_pad_push_event (GST_BASE_SRC_PAD (self),
      gst_event_new_gap (running_time, self->frame_duration));
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
  gboolean changed;

  *buffer = NULL;
  res = query_plane (self, &plane);
  if (res == PLANE_ERROR)
    return GST_FLOW_ERROR;
  if (res == PLANE_END)
    return GST_FLOW_EOS;
  if (res == PLANE_NONE)
    push_gap (self, running_time);
  if (res != PLANE_OK)
    return GST_FLOW_OK;

  changed = !gst_vfio_plane_same_layout (&plane, &self->plane);
  if (changed && !renegotiate (self, &plane))
    return GST_FLOW_NOT_NEGOTIATED;
  if (!changed && is_duplicate (self, &plane))
    return GST_FLOW_OK;

  memory = get_memory (self, &plane, &res);
  if (!memory)
    return res == PLANE_ERROR ? GST_FLOW_ERROR : GST_FLOW_OK;

  self->plane = plane;
  self->last_id = plane.id;
  self->pushed_any = TRUE;
  *buffer = wrap_memory (self, memory, running_time);
  STATS_ADD (self, frames, 1);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_vfio_gfx_src_create (GstPushSrc * psrc, GstBuffer ** buffer)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (psrc);
  GstClockTime running_time;
  GstFlowReturn ret;

  do {
    ret = wait_for_tick (self, &running_time);
    if (ret == GST_FLOW_OK)
      ret = gst_vfio_src_check_device_end (GST_ELEMENT (self), self->device);
    if (ret == GST_FLOW_OK)
      ret = capture_tick (self, running_time, buffer);
  } while (ret == GST_FLOW_OK && !*buffer);

  return ret;
}

/* ---- GstBaseSrc ---- */

static GstVfioDevice *
open_device (GstVfioGfxSrc * self, GError ** error)
{
  GstVfioSrcDeviceSettings settings;
  GstVfioDevice *device;

  GST_OBJECT_LOCK (self);
  settings.path = g_strdup (self->device_path);
  settings.fd = self->device_fd;
  settings.borrow = self->borrow;
  settings.vmm_pid = self->vmm_pid;
  GST_OBJECT_UNLOCK (self);

  device = gst_vfio_src_open_device (GST_ELEMENT (self), &settings, error);
  g_free (settings.path);
  return device;
}

static void
reset_streaming_state (GstVfioGfxSrc * self)
{
  g_clear_pointer (&self->cache, gst_vfio_dmabuf_cache_free);
  gst_clear_mini_object ((GstMiniObject **) & self->region_memory);
  memset (&self->plane, 0, sizeof (self->plane));
  self->have_plane = FALSE;
  self->pushed_any = FALSE;
  self->signal_present = -1;
  self->last_reject_warning = 0;
  self->frame_duration = GST_SECOND / DEFAULT_FPS_N;
}

static gboolean
gst_vfio_gfx_src_start (GstBaseSrc * bsrc)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);
  guint max_framebuffers;

  reset_streaming_state (self);
  GST_OBJECT_LOCK (self);
  memset (&self->stats, 0, sizeof (self->stats));
  /* capture-mode is mutable in READY only. */
  self->streaming_mode = self->capture_mode;
  max_framebuffers = self->max_framebuffers;
  GST_OBJECT_UNLOCK (self);

  /* What it exports stays with the device file after stop(): a restart
   * finds it again instead of exporting twice. */
  self->cache = gst_vfio_dmabuf_cache_new (self->device, max_framebuffers);
  return TRUE;
}

/* The device is opened in NULL->READY, as v4l2src does: a failure then
 * fails the state change with our error alone, where a failing start()
 * makes GstBaseSrc post a second, generic one. */
static gboolean
open_and_probe (GstVfioGfxSrc * self)
{
  g_autoptr (GError) error = NULL;

  self->device = open_device (self, &error);
  if (!self->device
      || !gst_vfio_device_probe_planes (self->device, &error)) {
    post_vfio_error (self, error);
    gst_clear_object (&self->device);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "opened %s, %s", gst_vfio_device_get_description
      (self->device), gst_vfio_device_get_export_policy (self->device) ==
      GST_VFIO_EXPORT_ONCE ? "each framebuffer exported once" :
      "framebuffers may be exported again");
  if (!gst_vfio_guest_mode_attach (&self->guest_mode, self->device)) {
    gst_clear_object (&self->device);
    return FALSE;
  }
  return TRUE;
}

static GstStateChangeReturn
gst_vfio_gfx_src_change_state (GstElement * element, GstStateChange transition)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !open_and_probe (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_READY_TO_NULL
      || (transition == GST_STATE_CHANGE_NULL_TO_READY
          && ret == GST_STATE_CHANGE_FAILURE))
    gst_clear_object (&self->device);
  return ret;
}

static gboolean
gst_vfio_gfx_src_stop (GstBaseSrc * bsrc)
{
  reset_streaming_state (GST_VFIO_GFX_SRC (bsrc));
  return TRUE;
}

static gboolean
gst_vfio_gfx_src_unlock (GstBaseSrc * bsrc)
{
  gst_vfio_ticker_unlock (&GST_VFIO_GFX_SRC (bsrc)->ticker);
  return TRUE;
}

static gboolean
gst_vfio_gfx_src_unlock_stop (GstBaseSrc * bsrc)
{
  gst_vfio_ticker_unlock_stop (&GST_VFIO_GFX_SRC (bsrc)->ticker);
  return TRUE;
}

static gboolean
gst_vfio_gfx_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* A frame is at most one tick old when it leaves. */
    gst_query_set_latency (query, TRUE, self->frame_duration,
        self->frame_duration);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

/* ---- GObject ---- */

/* The device is open from READY on: device and device-fd change in NULL
 * only, the capture mode in READY too. */
static gboolean
check_settable (GstVfioGfxSrc * self, GParamSpec * pspec)
{
  GstState state = GST_STATE (self);
  GstState limit = (pspec->flags & GST_PARAM_MUTABLE_READY) ?
      GST_STATE_READY : GST_STATE_NULL;

  if (state > limit) {
    g_warning ("%s: cannot change '%s' in state %s; set it in %s",
        GST_OBJECT_NAME (self), pspec->name,
        gst_element_state_get_name (state),
        limit == GST_STATE_READY ? "READY or NULL" : "NULL");
    return FALSE;
  }
  return TRUE;
}

static void
gst_vfio_gfx_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (object);

  /* Applied at once, outside the object lock: it posts messages. */
  if (prop_id == PROP_GUEST_MODE) {
    gst_vfio_guest_mode_set (&self->guest_mode, g_value_get_string (value));
    return;
  }

  GST_OBJECT_LOCK (self);
  if (!check_settable (self, pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_DEVICE:
      g_free (self->device_path);
      self->device_path = g_value_dup_string (value);
      break;
    case PROP_DEVICE_FD:
      self->device_fd = g_value_get_int (value);
      break;
    case PROP_BORROW:
      self->borrow = g_value_get_boolean (value);
      break;
    case PROP_VMM_PID:
      self->vmm_pid = g_value_get_int (value);
      break;
    case PROP_CAPTURE_MODE:
      self->capture_mode = g_value_get_enum (value);
      break;
    case PROP_MAX_FRAMEBUFFERS:
      self->max_framebuffers = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vfio_gfx_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_to_structure (self));
    return;
  }
  if (prop_id == PROP_GUEST_MODE) {
    g_value_take_string (value, gst_vfio_guest_mode_dup (&self->guest_mode));
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_DEVICE:
      g_value_set_string (value, self->device_path);
      break;
    case PROP_DEVICE_FD:
      g_value_set_int (value, self->device_fd);
      break;
    case PROP_BORROW:
      g_value_set_boolean (value, self->borrow);
      break;
    case PROP_VMM_PID:
      g_value_set_int (value, self->vmm_pid);
      break;
    case PROP_CAPTURE_MODE:
      g_value_set_enum (value, self->capture_mode);
      break;
    case PROP_MAX_FRAMEBUFFERS:
      g_value_set_uint (value, self->max_framebuffers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vfio_gfx_src_finalize (GObject * object)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (object);

  reset_streaming_state (self);
  gst_clear_object (&self->device);
  gst_vfio_ticker_clear (&self->ticker);
  gst_vfio_guest_mode_clear (&self->guest_mode);
  g_free (self->device_path);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vfio_gfx_src_init (GstVfioGfxSrc * self)
{
  self->device_fd = DEFAULT_DEVICE_FD;
  self->borrow = DEFAULT_BORROW;
  self->vmm_pid = DEFAULT_VMM_PID;
  self->capture_mode = DEFAULT_CAPTURE_MODE;
  self->max_framebuffers = DEFAULT_MAX_FRAMEBUFFERS;
  self->signal_present = -1;
  self->frame_duration = GST_SECOND / DEFAULT_FPS_N;
  gst_vfio_ticker_init (&self->ticker);
  gst_vfio_guest_mode_init (&self->guest_mode, GST_ELEMENT (self));

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
install_properties (GObjectClass * gobject_class)
{
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  /**
   * GstVfioGfxSrc:device:
   *
   * The mdev to open: its UUID or sysfs path (/sys/bus/mdev/devices/UUID).
   * While a VM runs on it, its VFIO group is open in the VMM: the element
   * then borrows the VMM's device fd (see #GstVfioGfxSrc:borrow).
   */
  properties[PROP_DEVICE] = g_param_spec_string ("device", "Device",
      "mdev UUID or sysfs path (/sys/bus/mdev/devices/UUID)",
      DEFAULT_DEVICE, rw);

  /**
   * GstVfioGfxSrc:device-fd:
   *
   * An open VFIO device fd, e.g. inherited from the VMM or received over a
   * Unix socket (SCM_RIGHTS). The element works on a duplicate made in
   * NULL->READY and never closes the caller's fd; closing or reusing the
   * number afterwards does not affect it. Every element of the process on
   * the same open file shares what was exported. -1: unset.
   */
  properties[PROP_DEVICE_FD] = g_param_spec_int ("device-fd", "Device fd",
      "Open VFIO device fd handed over by the VMM (duplicated, not closed; "
      "-1: unset)", -1, G_MAXINT, DEFAULT_DEVICE_FD, rw);

  /**
   * GstVfioGfxSrc:capture-mode:
   *
   * every-tick pushes a frame at every tick of the negotiated framerate;
   * on-change polls at that rate but pushes only when the guest shows
   * another framebuffer or mode: the guest's own frame rate, no duplicates.
   */
  properties[PROP_CAPTURE_MODE] = g_param_spec_enum ("capture-mode",
      "Capture mode", "When to push frames",
      GST_TYPE_VFIO_GFX_SRC_CAPTURE_MODE, DEFAULT_CAPTURE_MODE,
      rw | GST_PARAM_MUTABLE_READY);

  /**
   * GstVfioGfxSrc:borrow:
   *
   * When the mdev named by #GstVfioGfxSrc:device is held by another
   * process (QEMU, libvirt's QEMU), take a copy of that process's device fd
   * with pidfd_getfd(2). Needs ptrace permission over the VMM: root,
   * CAP_SYS_PTRACE, or the same user with kernel.yama.ptrace_scope 0. The
   * device is closed as soon as the VMM exits, and the stream ends with
   * EOS and a `vfiogfxsrc-vmm-exited` message. Refused on exporters that
   * must export each framebuffer once when the VMM shows the display
   * itself (QEMU `display=on`).
   */
  properties[PROP_BORROW] = g_param_spec_boolean ("borrow", "Borrow",
      "Borrow the device fd of the VMM that holds the mdev",
      DEFAULT_BORROW, rw);

  /**
   * GstVfioGfxSrc:vmm-pid:
   *
   * The process that holds the device, when known: with
   * #GstVfioGfxSrc:device it is borrowed from this process without looking
   * through /proc (hosts that hide other processes); with
   * #GstVfioGfxSrc:device-fd the stream ends, and the device is closed, when
   * it exits. 0: unknown.
   */
  properties[PROP_VMM_PID] = g_param_spec_int ("vmm-pid", "VMM pid",
      "The process holding the device (0: unknown)", 0, G_MAXINT,
      DEFAULT_VMM_PID, rw);

  /**
   * GstVfioGfxSrc:max-framebuffers:
   *
   * How many distinct guest framebuffers (dma-buf ids) may be exported.
   * On exporters where a framebuffer must never be exported twice (mbochs,
   * and every exporter not known to be safe) each one is kept while the
   * device is open, and frames showing a framebuffer past this bound are
   * skipped, counted in rejected-planes and reported in a warning. On Intel
   * GVT-g, whose exports are independent objects, the least recently shown
   * idle framebuffer is dropped instead.
   */
  properties[PROP_MAX_FRAMEBUFFERS] = g_param_spec_uint ("max-framebuffers",
      "Maximum framebuffers", "How many distinct guest framebuffers may be "
      "exported", 1, 4096, DEFAULT_MAX_FRAMEBUFFERS,
      rw | GST_PARAM_MUTABLE_READY);

  /**
   * GstVfioGfxSrc:stats:
   *
   * Counters since start, all guint64: queries (plane queries), exports
   * (dma-bufs exported), frames (buffers pushed), renegotiations (mode
   * changes), rejected-planes (invalid guest planes skipped), bytes-copied,
   * edid-writes (EDIDs written for #GstVfioGfxSrc:guest-mode since the
   * device was opened).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters since start", GST_TYPE_STRUCTURE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GstVfioGfxSrc:guest-mode:
   *
   * The guest's screen mode, "WxH" or "WxH@R" (R in Hz, 60 when left
   * out), e.g. "1280x720@60": an EDID whose preferred mode it is is written
   * to the vGPU's EDID region when the device is opened, and again each
   * time this changes, also while playing (a client resizing its window).
   * The guest OS then switches to it, if it handles monitor hotplug, and
   * the caps follow. "auto" takes the size (and rate) from downstream when
   * the peer's caps fix them, e.g. a capsfilter.
   *
   * Empty (the default) leaves the guest's EDID alone. A mode larger than
   * the device's max_xres x max_yres, or a malformed one, is an error when
   * the device is opened and a warning later (the guest keeps its mode).
   * Nothing is restored on stop: the guest keeps the last EDID written.
   */
  properties[PROP_GUEST_MODE] = g_param_spec_string ("guest-mode",
      "Guest mode", "Screen mode to give the guest through the vGPU's EDID: "
      "WxH or WxH@R (e.g. 1920x1080@60), auto (from downstream caps), or "
      "empty to leave it alone", NULL, rw | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);
}

static void
gst_vfio_gfx_src_class_init (GstVfioGfxSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_gfx_src_debug, "vfiogfxsrc", 0,
      "VFIO display source");

  gobject_class->set_property = gst_vfio_gfx_src_set_property;
  gobject_class->get_property = gst_vfio_gfx_src_get_property;
  gobject_class->finalize = gst_vfio_gfx_src_finalize;
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "VFIO display source", "Source/Video",
      "Captures the display of a VM's mediated vGPU (VFIO mdev) as "
      "zero-copy DMABuf frames", "vfiogfxsrc developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_change_state);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_stop);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_negotiate);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_unlock);
  basesrc_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_VFIO_GFX_SRC_CAPTURE_MODE, 0);
}
