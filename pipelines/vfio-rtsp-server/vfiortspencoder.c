/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The encoding half of each VM's pipeline: what follows vfiogfxsrc, up to
 * the payloader the RTSP media streams (pay0). H.264 with live settings:
 * no B-frames (each frame is sent as soon as it is encoded), a key frame
 * every key_interval frames with SPS/PPS repeated before it, so a client
 * that joins a shared stream starts decoding within that interval.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspencoder.h"

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_encoder_debug);
#define GST_CAT_DEFAULT vfio_rtsp_encoder_debug

static void
init_debug (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (vfio_rtsp_encoder_debug, "vfiortspencoder", 0,
        "RTSP server: encoder choice");
    g_once_init_leave (&once, 1);
  }
}

gboolean
vfio_rtsp_encoder_parse (const gchar * name, VfioRtspEncoderKind * kind)
{
  if (g_strcmp0 (name, "auto") == 0)
    *kind = VFIO_RTSP_ENCODER_AUTO;
  else if (g_strcmp0 (name, "va") == 0)
    *kind = VFIO_RTSP_ENCODER_VA;
  else if (g_strcmp0 (name, "x264") == 0)
    *kind = VFIO_RTSP_ENCODER_X264;
  else
    return FALSE;
  return TRUE;
}

const gchar *
vfio_rtsp_encoder_name (VfioRtspEncoderKind kind)
{
  switch (kind) {
    case VFIO_RTSP_ENCODER_VA:
      return "vah264enc (VA, zero copy)";
    case VFIO_RTSP_ENCODER_X264:
      return "x264enc (software)";
    case VFIO_RTSP_ENCODER_AUTO:
      break;
  }
  return "auto";
}

static gboolean
have_elements (const gchar * const *names, const gchar ** missing)
{
  for (guint i = 0; names[i]; i++) {
    GstElementFactory *f = gst_element_factory_find (names[i]);

    if (!f) {
      *missing = names[i];
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

static const gchar *const va_elements[] = { "vapostproc", "vah264enc",
  "rtph264pay", NULL
};
static const gchar *const x264_elements[] = { "videoconvert", "x264enc",
  "rtph264pay", NULL
};

/**
 * vfio_rtsp_encoder_resolve:
 *
 * Replaces %VFIO_RTSP_ENCODER_AUTO by the encoder that exists here: VA
 * (the va plugin registers its elements only where a VA device is), else
 * x264. Fails when the chosen one is missing.
 */
gboolean
vfio_rtsp_encoder_resolve (VfioRtspEncoding * encoding, GError ** error)
{
  const gchar *missing = NULL;

  init_debug ();
  if (encoding->kind == VFIO_RTSP_ENCODER_AUTO) {
    if (have_elements (va_elements, &missing)) {
      encoding->kind = VFIO_RTSP_ENCODER_VA;
    } else {
      GST_INFO ("no %s (no VA device, or the va plugin is missing): x264",
          missing);
      encoding->kind = VFIO_RTSP_ENCODER_X264;
    }
  }
  if (!have_elements (encoding->kind == VFIO_RTSP_ENCODER_VA ? va_elements :
          x264_elements, &missing))
    goto missing_element;
  return TRUE;

  /* ERRORS */
missing_element:
  {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "The encoder %s needs the element %s, which is not installed (x264enc "
        "is in gstreamer1.0-plugins-ugly, rtph264pay in "
        "gstreamer1.0-plugins-good, the VA elements in "
        "gstreamer1.0-plugins-bad with a VA driver).",
        vfio_rtsp_encoder_name (encoding->kind), missing);
    return FALSE;
  }
}

/**
 * vfio_rtsp_encoder_describe:
 *
 * The launch description of the chain after the source, for a resolved
 * @encoding. VA takes the guest framebuffer as a dma-buf (vapostproc turns
 * it into the encoder's surface on the GPU); x264 reads it in system
 * memory. The leaky queue keeps the capture on its grid when the encoder
 * falls behind: a late frame is dropped, not the tick.
 */
gchar *
vfio_rtsp_encoder_describe (const VfioRtspEncoding * e)
{
  const gchar *pay = "rtph264pay name=pay0 pt=96 config-interval=-1";

  if (e->kind == VFIO_RTSP_ENCODER_VA)
    return g_strdup_printf ("capsfilter name=rate "
        "caps=\"video/x-raw(memory:DMABuf),framerate=%u/1\" ! "
        "queue max-size-buffers=1 leaky=downstream ! "
        "vapostproc ! vah264enc b-frames=0 ref-frames=1 key-int-max=%u "
        "rate-control=cbr bitrate=%u target-usage=7 ! %s", e->fps,
        e->key_interval, e->bitrate, pay);

  /* I420: from RGB, videoconvert would pick Y444 and x264 High 4:4:4,
   * which most players cannot decode. */
  return g_strdup_printf ("capsfilter name=rate "
      "caps=\"video/x-raw,framerate=%u/1\" ! "
      "queue max-size-buffers=1 leaky=downstream ! videoconvert ! "
      "video/x-raw,format=I420 ! x264enc tune=zerolatency "
      "speed-preset=superfast bframes=0 key-int-max=%u bitrate=%u ! %s",
      e->fps, e->key_interval, e->bitrate, pay);
}
