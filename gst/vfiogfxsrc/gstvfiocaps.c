/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The caps vfiogfxsrc offers for a guest plane, and the choice among them.
 *
 * every-tick streams have a fixed rate in [1, 1000]. on-change streams are
 * variable-rate, as screen casts are: framerate=0/1 with max-framerate the
 * poll rate; a fixed-rate variant follows for peers that insist on one.
 * DMA_DRM caps carry the colorimetry the system-memory form would have.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiocaps.h"

#include <gst/allocators/allocators.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_caps_debug);
#define GST_CAT_DEFAULT gst_vfio_caps_debug

#define MAX_FPS 1000

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_caps_debug, "vfiogfxsrccaps", 0,
        "vfiogfxsrc negotiation");
    g_once_init_leave (&done, 1);
  }
}

/* What GStreamer would say of the same pixels in system memory: sRGB for
 * RGB (the 10-bit formats included), BT.601/709 by size for YUV. */
static void
set_colorimetry (GstStructure * s, const GstVfioPlane * plane)
{
  const GstVfioFormatInfo *format = gst_vfio_format_lookup (plane->fourcc);
  GstVideoFormat vformat = GST_VIDEO_FORMAT_BGRx;
  GstVideoInfo info;
  g_autofree gchar *str = NULL;

  if (format && format->format != GST_VIDEO_FORMAT_UNKNOWN)
    vformat = format->format;
  if (!gst_video_info_set_format (&info, vformat, plane->width, plane->height))
    return;
  str = gst_video_colorimetry_to_string (&info.colorimetry);
  if (str)
    gst_structure_set (s, "colorimetry", G_TYPE_STRING, str, NULL);
}

static void
set_fixed_rate (GstStructure * s)
{
  gst_structure_set (s, "framerate", GST_TYPE_FRACTION_RANGE, 1, 1, MAX_FPS,
      1, NULL);
}

static void
set_variable_rate (GstStructure * s)
{
  gst_structure_set (s, "framerate", GST_TYPE_FRACTION, 0, 1,
      "max-framerate", GST_TYPE_FRACTION_RANGE, 1, 1, MAX_FPS, 1, NULL);
}

/**
 * gst_vfio_caps_offer:
 * @plane: a validated plane
 * @variable_rate: offer variable-rate caps first (capture-mode=on-change)
 *
 * Returns: (transfer full) (nullable): the caps @plane can be pushed with,
 * best first, or %NULL if none fit.
 */
GstCaps *
gst_vfio_caps_offer (const GstVfioPlane * plane, gboolean variable_rate)
{
  GstCaps *caps = gst_vfio_plane_get_caps (plane);
  GstCaps *fixed;

  init_debug ();
  if (!caps)
    return NULL;

  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);

    if (!gst_structure_has_field (s, "colorimetry"))
      set_colorimetry (s, plane);
  }

  fixed = gst_caps_copy (caps);
  for (guint i = 0; i < gst_caps_get_size (fixed); i++)
    set_fixed_rate (gst_caps_get_structure (fixed, i));
  if (!variable_rate) {
    gst_caps_unref (caps);
    return fixed;
  }

  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    set_variable_rate (gst_caps_get_structure (caps, i));
  gst_caps_append (caps, fixed);
  return caps;
}

static gboolean
structure_is_dmabuf (GstCaps * caps, guint i)
{
  GstCapsFeatures *features = gst_caps_get_features (caps, i);

  return features && gst_caps_features_contains (features,
      GST_CAPS_FEATURE_MEMORY_DMABUF);
}

gboolean
gst_vfio_caps_is_dmabuf (GstCaps * caps)
{
  return gst_caps_get_size (caps) > 0 && structure_is_dmabuf (caps, 0);
}

gboolean
gst_vfio_caps_has_system_memory (GstCaps * caps)
{
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    if (!structure_is_dmabuf (caps, i))
      return TRUE;
  }
  return FALSE;
}

/* A peer that accepts anything (fakesink, a plain appsink) gets what any
 * application can read, as gstvabasedec decides. */
gboolean
gst_vfio_caps_peer_accepts_anything (GstPad * srcpad)
{
  GstCaps *peer = gst_pad_peer_query_caps (srcpad, NULL);
  gboolean any = !peer || gst_caps_is_any (peer);

  gst_clear_caps (&peer);
  return any;
}

/* @caps with the system-memory structures first, order kept otherwise. */
static GstCaps *
sort_system_memory_first (GstCaps * caps)
{
  GstCaps *sorted = gst_caps_new_empty ();
  GstCaps *dmabuf = gst_caps_new_empty ();

  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    GstCaps *one = gst_caps_copy_nth (caps, i);

    gst_caps_append (structure_is_dmabuf (caps, i) ? dmabuf : sorted, one);
  }
  gst_caps_append (sorted, dmabuf);
  return sorted;
}

static void
fixate_rate (GstStructure * s)
{
  const gchar *field = gst_structure_has_field (s, "max-framerate") ?
      "max-framerate" : "framerate";

  gst_structure_fixate_field_nearest_fraction (s, field,
      GST_VFIO_CAPS_DEFAULT_FPS, 1);
}

/**
 * gst_vfio_caps_choose:
 * @srcpad: the source pad
 * @offered: what gst_vfio_caps_offer() gave
 * @system_memory_first: prefer system memory over DMABuf
 *
 * Returns: (transfer full) (nullable): fixed caps the peer accepts, %NULL
 * when it accepts none of @offered.
 */
GstCaps *
gst_vfio_caps_choose (GstPad * srcpad, GstCaps * offered,
    gboolean system_memory_first)
{
  g_autoptr (GstCaps) order = system_memory_first ?
      sort_system_memory_first (offered) : gst_caps_ref (offered);
  GstCaps *peer = gst_pad_peer_query_caps (srcpad, order);
  GstCaps *caps;

  init_debug ();
  /* The peer may answer in its own order: ours decides. */
  caps = gst_caps_intersect_full (order, peer, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (peer);
  GST_DEBUG_OBJECT (srcpad, "offered %" GST_PTR_FORMAT ", possible %"
      GST_PTR_FORMAT, order, caps);
  if (gst_caps_is_empty (caps)) {
    gst_caps_unref (caps);
    return NULL;
  }

  caps = gst_caps_truncate (caps);
  caps = gst_caps_make_writable (caps);
  fixate_rate (gst_caps_get_structure (caps, 0));
  return gst_caps_fixate (caps);
}

/**
 * gst_vfio_caps_get_period:
 * @caps: fixed caps from gst_vfio_caps_choose()
 * @variable: (out): whether @caps are variable-rate
 *
 * Returns: the tick period @caps ask for: the frame duration, or for
 * variable-rate caps the poll period (1 / max-framerate).
 */
GstClockTime
gst_vfio_caps_get_period (GstCaps * caps, gboolean * variable)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint n = GST_VFIO_CAPS_DEFAULT_FPS, d = 1;

  gst_structure_get_fraction (s, "framerate", &n, &d);
  *variable = n == 0;
  if (*variable) {
    n = GST_VFIO_CAPS_DEFAULT_FPS;
    d = 1;
    gst_structure_get_fraction (s, "max-framerate", &n, &d);
  }
  if (n <= 0 || d <= 0)
    return GST_SECOND / GST_VFIO_CAPS_DEFAULT_FPS;
  return gst_util_uint64_scale_int (GST_SECOND, d, n);
}
