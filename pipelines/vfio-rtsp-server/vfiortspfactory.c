/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream of one VM: a shared media factory whose pipeline is the VM's
 * display device (made by its GstDevice: vfiogfxsrc device=UUID), the
 * encoder and the payloader. Every client of the VM gets the one media
 * (one capture, one encode) whatever its URL says, since a VM's display
 * can be captured once only: a request for rtsp://HOST/NAME?mode=WxH@R
 * joins it and sets the source's guest-mode, which rewrites the guest's
 * EDID only when the mode differs from the one written.
 *
 * The media is cached by the factory, which constructs it for the first
 * client only: the server applies the mode of the later ones
 * (vfio_rtsp_factory_set_mode()) when they ask for a description.
 *
 * While the VM runs, the stream of a VM borrowed from its VMM is kept
 * (vfio_rtsp_factory_hold()): on exporters that must not export a
 * framebuffer twice in a VM's life (mbochs), a new capture would skip every
 * framebuffer the last one exported, so the capture stays, the device
 * open, and only the encoder rests while nobody watches
 * (vfio_rtsp_factory_set_idle()). It ends with the VM.
 *
 * It also counts the encoded frames and bytes that reach the payloader,
 * for the server's status line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspfactory.h"
#include "vfiortspmedia.h"

#include <gst/vfio/vfio.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_factory_debug);
#define GST_CAT_DEFAULT vfio_rtsp_factory_debug

struct _VfioRtspFactory
{
  GstRTSPMediaFactory parent;

  GstDevice *device;
  gchar *uuid;
  const gchar *name;            /* interned: renamed while in use */
  gint iommu_group;             /* -1: unknown */
  VfioRtspEncoding encoding;
  gint idle;                    /* atomic: drop frames before the encoder */

  /* the media being served and its source (a GObject has no object lock) */
  GMutex lock;
  GstRTSPMedia *media;
  GstElement *source;
  GstRTSPMedia *held;           /* prepared once more, by the server */

  guint64 frames;               /* atomic */
  guint64 bytes;                /* atomic */
};

G_DEFINE_TYPE (VfioRtspFactory, vfio_rtsp_factory,
    GST_TYPE_RTSP_MEDIA_FACTORY);

/* ---- the pipeline ---- */

static GstPadProbeReturn
count_encoded (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  VfioRtspFactory *self = user_data;

  __atomic_fetch_add (&self->frames, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->bytes,
      gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)),
      __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
drop_when_idle (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  VfioRtspFactory *self = user_data;

  return g_atomic_int_get (&self->idle) ? GST_PAD_PROBE_DROP :
      GST_PAD_PROBE_OK;
}

static void
watch_payloader (VfioRtspFactory * self, GstBin * bin)
{
  g_autoptr (GstElement) pay = gst_bin_get_by_name (bin, "pay0");
  g_autoptr (GstPad) pad = gst_element_get_static_pad (pay, "sink");

  /* The probe lives with the pad, the factory outlives its media. */
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_encoded,
      g_object_ref (self), g_object_unref);
}

static GstElement *
vfio_rtsp_factory_create_element (GstRTSPMediaFactory * factory,
    const GstRTSPUrl * url)
{
  VfioRtspFactory *self = VFIO_RTSP_FACTORY (factory);
  g_autofree gchar *desc = vfio_rtsp_encoder_describe (&self->encoding);
  g_autoptr (GError) error = NULL;
  GstElement *bin, *src, *first;

  bin = gst_parse_bin_from_description (desc, FALSE, &error);
  if (!bin)
    goto parse_failed;
  src = gst_device_create_element (self->device, "src");
  if (!src)
    goto no_source;
  gst_bin_add (GST_BIN (bin), src);
  first = gst_bin_get_by_name (GST_BIN (bin), "rate");
  if (!first || !gst_element_link (src, first)) {
    gst_clear_object (&first);
    goto link_failed;
  }
  {
    g_autoptr (GstPad) pad = gst_element_get_static_pad (first, "src");

    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, drop_when_idle,
        g_object_ref (self), g_object_unref);
  }
  gst_object_unref (first);
  watch_payloader (self, GST_BIN (bin));
  GST_INFO_OBJECT (self, "%s: vfiogfxsrc ! %s", self->name, desc);
  return bin;

  /* ERRORS */
parse_failed:
  {
    GST_ERROR_OBJECT (self, "%s: %s", desc, error->message);
    return NULL;
  }
no_source:
  {
    GST_ERROR_OBJECT (self, "%s: the device made no element", self->uuid);
    gst_object_unref (bin);
    return NULL;
  }
link_failed:
  {
    GST_ERROR_OBJECT (self, "%s: cannot link the source to %s", self->uuid,
        desc);
    gst_object_unref (bin);
    return NULL;
  }
}

/* Every client shares the one media, whatever its URL. */
static gchar *
vfio_rtsp_factory_gen_key (GstRTSPMediaFactory * factory,
    const GstRTSPUrl * url)
{
  return g_strdup ("vm");
}

/* ---- the media being served ---- */

static void
on_unprepared (GstRTSPMedia * media, VfioRtspFactory * self)
{
  g_mutex_lock (&self->lock);
  if (self->media == media) {
    g_clear_object (&self->media);
    gst_clear_object (&self->source);
  }
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "%s: media %p unprepared", self->name, media);
}

static void
track_media (VfioRtspFactory * self, GstRTSPMedia * media)
{
  g_autoptr (GstElement) element = gst_rtsp_media_get_element (media);
  GstElement *source = gst_bin_get_by_name (GST_BIN (element), "src");

  g_mutex_lock (&self->lock);
  if (self->media == media) {
    g_mutex_unlock (&self->lock);
    gst_clear_object (&source);
    return;
  }
  g_set_object (&self->media, media);
  gst_clear_object (&self->source);
  self->source = source;
  g_mutex_unlock (&self->lock);
  g_signal_connect_object (media, "unprepared", G_CALLBACK (on_unprepared),
      self, 0);
}

gboolean
vfio_rtsp_mode_is_valid (const gchar * mode)
{
  return g_regex_match_simple ("^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}"
      "(@[1-9][0-9]{0,2})?$", mode, 0, 0);
}

/**
 * vfio_rtsp_url_mode:
 * @mode: (out): the mode=WxH[@R] of @url's query, or NULL
 *
 * Returns: FALSE for a malformed query or mode
 */
gboolean
vfio_rtsp_url_mode (const GstRTSPUrl * url, gchar ** mode)
{
  g_autoptr (GHashTable) params = NULL;
  const gchar *value;

  *mode = NULL;
  if (!url->query || !*url->query)
    return TRUE;
  params = g_uri_parse_params (url->query, -1, "&", G_URI_PARAMS_NONE, NULL);
  if (!params)
    return FALSE;
  value = g_hash_table_lookup (params, "mode");
  if (!value)
    return TRUE;
  if (!vfio_rtsp_mode_is_valid (value))
    return FALSE;
  *mode = g_strdup (value);
  return TRUE;
}

static GstRTSPMedia *
vfio_rtsp_factory_construct (GstRTSPMediaFactory * factory,
    const GstRTSPUrl * url)
{
  VfioRtspFactory *self = VFIO_RTSP_FACTORY (factory);
  g_autofree gchar *mode = NULL;
  GstRTSPMedia *media;

  if (!vfio_rtsp_url_mode (url, &mode))
    goto bad_mode;
  media = GST_RTSP_MEDIA_FACTORY_CLASS (vfio_rtsp_factory_parent_class)
      ->construct (factory, url);
  if (!media)
    return NULL;
  track_media (self, media);
  if (mode)
    vfio_rtsp_factory_set_mode (self, mode);
  return media;

  /* ERRORS */
bad_mode:
  {
    GST_WARNING_OBJECT (self, "%s: refused query '%s': expected "
        "mode=WxH or mode=WxH@R", self->name, url->query);
    return NULL;
  }
}

/* ---- public ---- */

VfioRtspFactory *
vfio_rtsp_factory_new (GstDevice * device, const gchar * uuid,
    const gchar * name, const VfioRtspEncoding * encoding)
{
  VfioRtspFactory *self = g_object_new (VFIO_TYPE_RTSP_FACTORY, NULL);
  GstRTSPMediaFactory *factory = GST_RTSP_MEDIA_FACTORY (self);

  self->device = gst_object_ref (device);
  self->uuid = g_strdup (uuid);
  self->name = g_intern_string (name);
  self->encoding = *encoding;
  self->iommu_group = -1;
  {
    g_autoptr (GstStructure) props = gst_device_get_properties (device);

    if (props)
      gst_structure_get_int (props, "vfio.iommu-group", &self->iommu_group);
  }
  gst_rtsp_media_factory_set_shared (factory, TRUE);
  gst_rtsp_media_factory_set_media_gtype (factory, VFIO_TYPE_RTSP_MEDIA);
  /* Nothing to keep running without a client: the capture stops. */
  gst_rtsp_media_factory_set_stop_on_disconnect (factory, TRUE);
  return self;
}

const gchar *
vfio_rtsp_factory_get_uuid (VfioRtspFactory * self)
{
  return self->uuid;
}

const gchar *
vfio_rtsp_factory_get_name (VfioRtspFactory * self)
{
  return g_atomic_pointer_get (&self->name);
}

/* The VM's name, once known (an interned string: readers of the old one
 * keep a valid pointer). */
void
vfio_rtsp_factory_set_name (VfioRtspFactory * self, const gchar * name)
{
  g_atomic_pointer_set (&self->name, g_intern_string (name));
}

gint
vfio_rtsp_factory_get_iommu_group (VfioRtspFactory * self)
{
  return self->iommu_group;
}

/* The media being served, or NULL. */
GstRTSPMedia *
vfio_rtsp_factory_get_media (VfioRtspFactory * self)
{
  GstRTSPMedia *media;

  g_mutex_lock (&self->lock);
  media = self->media ? g_object_ref (self->media) : NULL;
  g_mutex_unlock (&self->lock);
  return media;
}

/* The capturing vfiogfxsrc, or NULL. */
GstElement *
vfio_rtsp_factory_get_source (VfioRtspFactory * self)
{
  GstElement *source;

  g_mutex_lock (&self->lock);
  source = self->source ? gst_object_ref (self->source) : NULL;
  g_mutex_unlock (&self->lock);
  return source;
}

/**
 * vfio_rtsp_factory_set_mode:
 *
 * Gives the guest @mode through the source's guest-mode, which writes the
 * EDID only when the mode differs from the one it wrote.
 */
void
vfio_rtsp_factory_set_mode (VfioRtspFactory * self, const gchar * mode)
{
  g_autoptr (GstElement) source = vfio_rtsp_factory_get_source (self);

  if (!source)
    return;
  GST_INFO_OBJECT (self, "%s: guest-mode=%s", self->name, mode);
  g_object_set (source, "guest-mode", mode, NULL);
}

/**
 * vfio_rtsp_factory_hold:
 *
 * Keeps @media, just prepared, prepared after its last client leaves, when
 * it borrowed the device from a running VM: another process holds the
 * mdev's group. A capture that opened the mdev itself (no VM runs) is not
 * kept: it would keep the VM from starting.
 */
void
vfio_rtsp_factory_hold (VfioRtspFactory * self, GstRTSPMedia * media)
{
  g_autoptr (GError) error = NULL;
  GstVfioHolder *holder;

  if (self->iommu_group < 0)
    return;
  holder = gst_vfio_holder_find (self->iommu_group, self->uuid, 0, &error);
  if (!holder || holder->pid == getpid ()) {
    GST_INFO_OBJECT (self, "%s: no VM holds it (%s): not kept", self->name,
        holder ? "opened here" : error->message);
    g_clear_pointer (&holder, gst_vfio_holder_free);
    return;
  }
  g_mutex_lock (&self->lock);
  if (self->held || self->media != media) {
    g_mutex_unlock (&self->lock);
    gst_vfio_holder_free (holder);
    return;
  }
  self->held = g_object_ref (media);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "%s: borrowed from %s (pid %d): kept while it runs",
      self->name, holder->command, holder->pid);
  gst_vfio_holder_free (holder);
  gst_rtsp_media_prepare (media, NULL);
}

/* Lets @media go if it was kept. */
void
vfio_rtsp_factory_release (VfioRtspFactory * self, GstRTSPMedia * media)
{
  GstRTSPMedia *held = NULL;

  g_mutex_lock (&self->lock);
  if (self->held == media)
    held = g_steal_pointer (&self->held);
  g_mutex_unlock (&self->lock);
  if (!held)
    return;
  GST_INFO_OBJECT (self, "%s: media %p released", self->name, held);
  gst_rtsp_media_unprepare (held);
  g_object_unref (held);
}

/* Whether the kept stream has nobody to encode for. */
void
vfio_rtsp_factory_set_idle (VfioRtspFactory * self, gboolean idle)
{
  if (g_atomic_int_exchange (&self->idle, idle) != idle)
    GST_INFO_OBJECT (self, "%s: %s", self->name, idle ? "idle: the encoder "
        "rests" : "encoding");
}

/* Encoded frames and bytes since the factory was made. */
void
vfio_rtsp_factory_get_counts (VfioRtspFactory * self, guint64 * frames,
    guint64 * bytes)
{
  *frames = __atomic_load_n (&self->frames, __ATOMIC_RELAXED);
  *bytes = __atomic_load_n (&self->bytes, __ATOMIC_RELAXED);
}

/**
 * vfio_rtsp_factory_end:
 *
 * Ends the stream being served with EOS from its source, so that its
 * clients are told (RTCP BYE) before they are let go.
 *
 * Returns: whether a stream was being served
 */
gboolean
vfio_rtsp_factory_end (VfioRtspFactory * self)
{
  g_autoptr (GstElement) source = vfio_rtsp_factory_get_source (self);

  if (!source)
    return FALSE;
  GST_INFO_OBJECT (self, "%s: ending the stream", self->name);
  gst_element_send_event (source, gst_event_new_eos ());
  return TRUE;
}

/* ---- GObject ---- */

static void
vfio_rtsp_factory_finalize (GObject * object)
{
  VfioRtspFactory *self = VFIO_RTSP_FACTORY (object);

  g_clear_object (&self->media);
  g_clear_object (&self->held);
  gst_clear_object (&self->source);
  gst_clear_object (&self->device);
  g_free (self->uuid);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (vfio_rtsp_factory_parent_class)->finalize (object);
}

static void
vfio_rtsp_factory_class_init (VfioRtspFactoryClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstRTSPMediaFactoryClass *factory_class =
      GST_RTSP_MEDIA_FACTORY_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_factory_debug, "vfiortspfactory", 0,
      "RTSP server: a VM's stream");
  object_class->finalize = vfio_rtsp_factory_finalize;
  factory_class->create_element = vfio_rtsp_factory_create_element;
  factory_class->gen_key = vfio_rtsp_factory_gen_key;
  factory_class->construct = vfio_rtsp_factory_construct;
}

static void
vfio_rtsp_factory_init (VfioRtspFactory * self)
{
  g_mutex_init (&self->lock);
}
