/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The media of one VM's stream: GstRTSPMedia, which leaves a pipeline that
 * reached EOS or failed prepared and its clients waiting. This one says
 * when its stream ends, with the signal "ended" (a reason string), emitted
 * once, from the media's bus thread: at EOS (the VM's process exited, the
 * device is being removed, the server ended it) or at an error.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspmedia.h"

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_media_debug);
#define GST_CAT_DEFAULT vfio_rtsp_media_debug

struct _VfioRtspMedia
{
  GstRTSPMedia parent;

  gchar *reason;                /* why the source ends, from its message */
  gboolean ended;
};

G_DEFINE_TYPE (VfioRtspMedia, vfio_rtsp_media, GST_TYPE_RTSP_MEDIA);

enum
{
  SIGNAL_ENDED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void
end (VfioRtspMedia * self, const gchar * why)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  GST_INFO_OBJECT (self, "stream ended: %s", why);
  g_signal_emit (self, signals[SIGNAL_ENDED], 0, why);
}

static void
note_source_message (VfioRtspMedia * self, GstMessage * message)
{
  const GstStructure *s = gst_message_get_structure (message);

  if (gst_structure_has_name (s, "vfiogfxsrc-vmm-exited")) {
    gint pid = 0;

    gst_structure_get_int (s, "pid", &pid);
    g_free (self->reason);
    self->reason = g_strdup_printf ("the VM's process %d exited", pid);
  } else if (gst_structure_has_name (s, "vfiogfxsrc-removed")) {
    g_free (self->reason);
    self->reason = g_strdup ("the device is being removed");
  }
}

static gboolean
vfio_rtsp_media_handle_message (GstRTSPMedia * media, GstMessage * message)
{
  VfioRtspMedia *self = VFIO_RTSP_MEDIA (media);
  gboolean ret = GST_RTSP_MEDIA_CLASS (vfio_rtsp_media_parent_class)
      ->handle_message (media, message);

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT:
      note_source_message (self, message);
      break;
    case GST_MESSAGE_EOS:
      end (self, self->reason ? self->reason : "end of stream");
      break;
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) error = NULL;
      g_autofree gchar *why = NULL;

      gst_message_parse_error (message, &error, NULL);
      why = g_strdup_printf ("error from %s: %s",
          GST_MESSAGE_SRC_NAME (message), error->message);
      end (self, why);
      break;
    }
    default:
      break;
  }
  return ret;
}

static void
vfio_rtsp_media_finalize (GObject * object)
{
  VfioRtspMedia *self = VFIO_RTSP_MEDIA (object);

  g_free (self->reason);
  G_OBJECT_CLASS (vfio_rtsp_media_parent_class)->finalize (object);
}

static void
vfio_rtsp_media_class_init (VfioRtspMediaClass * klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstRTSPMediaClass *media_class = GST_RTSP_MEDIA_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_media_debug, "vfiortspmedia", 0,
      "RTSP server: a VM's media");
  object_class->finalize = vfio_rtsp_media_finalize;
  media_class->handle_message = vfio_rtsp_media_handle_message;

  signals[SIGNAL_ENDED] = g_signal_new ("ended", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
vfio_rtsp_media_init (VfioRtspMedia * self)
{
}
