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
 * mapped from the same dma-buf; region planes as the mapped region. A peer
 * that accepts anything (fakesink, a plain appsink) gets system memory when
 * the exporter's dma-bufs can be mapped by the CPU. A padded framebuffer is
 * copied into GStreamer's default layout only for a peer that cannot read
 * #GstVideoMeta.
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
 *
 * With `capture-mode=on-change` the caps are variable-rate
 * (`framerate=0/1, max-framerate=N/1`, N the poll rate) unless downstream
 * insists on a fixed rate.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiogfxsrcpriv.h"
#include "gstvfiocaps.h"
#include "gstvfiocopy.h"
#include "gstvfiosrcdevice.h"
#include "gstvfiosrcerrors.h"

GST_DEBUG_CATEGORY (gst_vfio_gfx_src_debug);
#define GST_CAT_DEFAULT gst_vfio_gfx_src_debug

#define DEFAULT_DEVICE NULL
#define DEFAULT_DEVICE_FD -1
#define DEFAULT_BORROW TRUE
#define DEFAULT_VMM_PID 0
#define DEFAULT_CAPTURE_MODE GST_VFIO_GFX_SRC_CAPTURE_EVERY_TICK
#define DEFAULT_MAX_FRAMEBUFFERS GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE
#define DEFAULT_FLIP_LOCK TRUE

enum
{
  PROP_0,
  PROP_DEVICE,
  PROP_DEVICE_FD,
  PROP_BORROW,
  PROP_VMM_PID,
  PROP_CAPTURE_MODE,
  PROP_FLIP_LOCK,
  PROP_MAX_FRAMEBUFFERS,
  PROP_GUEST_MODE,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

#define VIDEO_CAPS_COMMON \
  "width = (int) [ 1, 16384 ], height = (int) [ 1, 16384 ], " \
  "framerate = (fraction) [ 0/1, 1000/1 ]"

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

/* ---- stats ---- */

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

/* ---- negotiation ---- */

/* For a peer that accepts anything: system memory where it is zero copy. */
static gboolean
prefer_system_memory (GstVfioGfxSrc * self, GstCaps * offered)
{
  if (!gst_vfio_caps_has_system_memory (offered)
      || !gst_vfio_caps_peer_accepts_anything (GST_BASE_SRC_PAD (self)))
    return FALSE;
  return self->plane.type == GST_VFIO_PLANE_TYPE_REGION
      || gst_vfio_gfx_src_dmabufs_are_mappable (self);
}

static void
configure_from_caps (GstVfioGfxSrc * self, GstCaps * caps)
{
  GstClockTime old_period = self->period;

  self->dmabuf_caps = gst_vfio_caps_is_dmabuf (caps);
  if (self->dmabuf_caps) {
    GstVideoInfoDmaDrm drm_info;
    gst_vfio_plane_to_dma_drm_info (&self->plane, &drm_info);
    self->vinfo = drm_info.vinfo;
  } else {
    gst_vfio_plane_to_video_info (&self->plane, &self->vinfo);
  }

  self->period = gst_vfio_caps_get_period (caps, &self->variable_rate);
  self->frame_duration = self->variable_rate ? GST_CLOCK_TIME_NONE :
      self->period;
  /* The pipeline's latency was computed with the old rate. */
  if (gst_pad_has_current_caps (GST_BASE_SRC_PAD (self))
      && self->period != old_period)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
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
  /* create() negotiates, once the guest shows a plane: there a flush
   * stops the wait, and a refusal ends the stream with our error alone,
   * where GstBaseSrc's loop would add its generic one. */
  self->negotiated = FALSE;
  if (!self->have_plane || !self->negotiating_in_create)
    return TRUE;

  offered = gst_vfio_caps_offer (&self->plane,
      self->streaming_mode == GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE);
  if (offered)
    caps = gst_vfio_caps_choose (GST_BASE_SRC_PAD (self), offered,
        prefer_system_memory (self, offered));
  if (!caps)
    goto refused;

  GST_INFO_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  configure_from_caps (self, caps);
  gst_vfio_ticker_restart (&self->ticker, self->period);
  if (self->flip_lock)
    gst_vfio_flip_lock_set_poll_interval (self->flip_lock, self->period);
  self->negotiated = gst_base_src_set_caps (bsrc, caps);
  return self->negotiated;

  /* ERRORS */
refused:
  {
    /* A flushing peer answers nothing: a flush, not a refusal. */
    if (GST_PAD_IS_FLUSHING (GST_BASE_SRC_PAD (self)))
      return FALSE;
    gst_vfio_src_post_not_negotiated (GST_ELEMENT (self), &self->plane,
        offered);
    self->error_posted = TRUE;
    return FALSE;
  }
}

static gboolean
gst_vfio_gfx_src_decide_allocation (GstBaseSrc * bsrc, GstQuery * query)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);
  GstCaps *caps = NULL;

  /* A flushing peer answers no allocation query: that says nothing of
   * its GstVideoMeta support. Failing makes GstBaseSrc negotiate again
   * after the flush. */
  if (GST_PAD_IS_FLUSHING (GST_BASE_SRC_PAD (self)))
    return FALSE;
  /* Before the first plane GstBaseSrc asks without caps. */
  gst_query_parse_allocation (query, &caps, NULL);
  self->copy_frames = caps && !self->dmabuf_caps
      && gst_vfio_copy_is_needed (query, &self->vinfo);
  if (!gst_vfio_copy_decide_allocation (query, &self->vinfo,
          self->copy_frames))
    goto pool_failed;
  return TRUE;

  /* ERRORS */
pool_failed:
  {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Could not set up buffers to copy the guest framebuffer into."),
        ("configuring a video buffer pool failed"));
    self->error_posted = TRUE;
    return FALSE;
  }
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
  g_clear_pointer (&self->flip_lock, gst_vfio_flip_lock_free);
  self->next_query = self->last_pts = GST_CLOCK_TIME_NONE;
  gst_clear_mini_object ((GstMiniObject **) & self->region_memory);
  memset (&self->plane, 0, sizeof (self->plane));
  self->have_plane = FALSE;
  self->negotiated = FALSE;
  self->pushed_any = FALSE;
  self->signal_present = -1;
  self->last_reject_warning = 0;
  self->period = self->frame_duration = DEFAULT_PERIOD;
  self->variable_rate = FALSE;
  self->copy_frames = FALSE;
  self->copy_announced = FALSE;
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
  if (self->streaming_mode == GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE
      && self->flip_lock_enabled)
    self->flip_lock = gst_vfio_flip_lock_new (DEFAULT_PERIOD);
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
    gst_vfio_src_post_error (GST_ELEMENT (self), error);
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
          && ret == GST_STATE_CHANGE_FAILURE)) {
    gst_vfio_guest_mode_detach (&self->guest_mode);
    gst_clear_object (&self->device);
  }
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
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);

  gst_vfio_ticker_unlock (&self->ticker);
  gst_vfio_guest_mode_unlock (&self->guest_mode);
  return TRUE;
}

static gboolean
gst_vfio_gfx_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);

  gst_vfio_ticker_unlock_stop (&self->ticker);
  gst_vfio_guest_mode_unlock_stop (&self->guest_mode);
  /* After a flush the guest's grid is learnt again. */
  if (self->flip_lock)
    gst_vfio_flip_lock_reset (self->flip_lock);
  self->next_query = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static gboolean
gst_vfio_gfx_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstVfioGfxSrc *self = GST_VFIO_GFX_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* A frame is at most one tick (one poll period) old when it leaves. */
    gst_query_set_latency (query, TRUE, self->period, self->period);
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
    case PROP_FLIP_LOCK:
      self->flip_lock_enabled = g_value_get_boolean (value);
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
    case PROP_FLIP_LOCK:
      g_value_set_boolean (value, self->flip_lock_enabled);
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
  self->flip_lock_enabled = DEFAULT_FLIP_LOCK;
  self->max_framebuffers = DEFAULT_MAX_FRAMEBUFFERS;
  self->next_query = self->last_pts = GST_CLOCK_TIME_NONE;
  self->signal_present = -1;
  self->period = self->frame_duration = DEFAULT_PERIOD;
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
   * on-change polls at max-framerate but pushes only when the guest shows
   * another framebuffer or mode, or shows one again after the display was
   * off: the guest's own frame rate, no duplicates, variable-rate caps
   * (framerate=0/1).
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
   * How many distinct guest framebuffers (dma-buf ids) may be kept,
   * exported or refused by the device (a refusal is remembered so that it
   * is not tried again). On exporters where a framebuffer must never be
   * exported twice (mbochs, and every exporter not known to be safe) each
   * one is kept while the device is open, and frames showing a new
   * framebuffer past this bound are skipped, counted in rejected-planes and
   * reported in a warning; nothing is exported for them. On Intel GVT-g,
   * whose exports are independent objects, the least recently shown idle
   * framebuffer or refusal is dropped instead.
   */
  properties[PROP_MAX_FRAMEBUFFERS] = g_param_spec_uint ("max-framebuffers",
      "Maximum framebuffers", "How many distinct guest framebuffers may be "
      "exported", 1, 4096, DEFAULT_MAX_FRAMEBUFFERS,
      rw | GST_PARAM_MUTABLE_READY);

  /**
   * GstVfioGfxSrc:flip-lock:
   *
   * With `capture-mode=on-change`: learn when the guest flips (guests flip
   * on vblank, a host timer at the display's rate, so flips land on a
   * grid) and query the plane just after each predicted flip, instead of
   * on a grid of its own that a flip waits on for half a period on
   * average. A short burst of queries finds the grid; a loop follows its
   * drift; without a regular grid (an idle desktop, variable frame times)
   * it polls as plain on-change does and tries again later. Buffers are
   * stamped with the estimated flip time. Costs about 1.2 queries per
   * frame at 60 Hz; see docs/performance.md. Region planes (mdpy, NVIDIA
   * vGPU) show no flips, so on them it stays off: plain on-change.
   */
  properties[PROP_FLIP_LOCK] = g_param_spec_boolean ("flip-lock",
      "Flip lock", "In on-change mode, query just after the guest's "
      "predicted flips", DEFAULT_FLIP_LOCK, rw | GST_PARAM_MUTABLE_READY);

  /**
   * GstVfioGfxSrc:stats:
   *
   * Counters since start, all guint64: queries (plane queries), exports
   * (dma-bufs exported), frames (buffers pushed), renegotiations (mode
   * changes), rejected-planes (frames skipped without a buffer: invalid
   * guest planes, planes larger than their dma-buf or naming no display
   * region, framebuffers the device refuses to export, and new
   * framebuffers past #GstVfioGfxSrc:max-framebuffers), bytes-copied,
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
   * the peer's caps fix them, e.g. a capsfilter: the source then waits up
   * to 3 s for the guest to switch before it sets caps (a flush or a state
   * change ends that wait at once), and warns once about a size the
   * device refuses, not at every renegotiation.
   *
   * Empty (the default) leaves the guest's EDID alone. A mode the device
   * cannot show (larger than its max_xres x max_yres, or beyond what an
   * EDID describes) or a malformed one is an error when the device is
   * opened; later it is a warning naming the limit: nothing is written,
   * the stream and the guest's mode go on, and the property keeps the
   * value, so the next open fails with that error. Set in the NULL state
   * it is only written at the next open. Nothing is restored on stop: the
   * guest keeps the last EDID written.
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
  basesrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_decide_allocation);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_unlock);
  basesrc_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_query);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_vfio_gfx_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_VFIO_GFX_SRC_CAPTURE_MODE, 0);
}
