/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest-mode property: which monitor the guest sees. A mode "WxH" or
 * "WxH@R" becomes an EDID whose preferred timing it is (gstvfioedid.c),
 * written to the vGPU's EDID region when the device opens and again
 * whenever the property changes; "auto" takes the size (and rate) from
 * downstream when the peer's caps fix them.
 *
 * Writes happen in the thread that sets the property (or, for auto, the
 * streaming thread while negotiating), under this module's lock: never
 * under the object lock, as errors and warnings are posted from here.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioguestmode.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_guest_mode_debug);
#define GST_CAT_DEFAULT gst_vfio_guest_mode_debug

#define AUTO "auto"
/* How long auto waits for the guest to show the mode it was given. */
#define AUTO_WAIT (3 * G_USEC_PER_SEC)
#define AUTO_POLL (20 * G_TIME_SPAN_MILLISECOND)

void
gst_vfio_guest_mode_init (GstVfioGuestMode * self, GstElement * element)
{
  GST_DEBUG_CATEGORY_INIT (gst_vfio_guest_mode_debug, "vfioguestmode", 0,
      "vfiogfxsrc guest-mode (EDID writes)");
  memset (self, 0, sizeof (*self));
  self->element = element;
  g_mutex_init (&self->lock);
  g_weak_ref_init (&self->device, NULL);
}

void
gst_vfio_guest_mode_clear (GstVfioGuestMode * self)
{
  g_weak_ref_clear (&self->device);
  g_clear_pointer (&self->requested, g_free);
  g_mutex_clear (&self->lock);
}

static gboolean
is_auto (const gchar * requested)
{
  return g_strcmp0 (requested, AUTO) == 0;
}

/* Under the lock. */
static gboolean
write_mode (GstVfioGuestMode * self, GstVfioDevice * device,
    const GstVfioEdidMode * mode, GError ** error)
{
  if (!gst_vfio_edid_set_mode (device, mode, error))
    return FALSE;
  self->written = *mode;
  __atomic_fetch_add (&self->writes, 1, __ATOMIC_RELAXED);
  GST_INFO_OBJECT (self->element, "EDID written: %ux%u@%u", mode->width,
      mode->height, mode->refresh);
  return TRUE;
}

/* Writes the requested mode; @always also when it was written already
 * (a newly opened device). A failure is an error when @fatal, else a
 * warning: a client asking too much must not end the stream. */
static gboolean
apply (GstVfioGuestMode * self, GstVfioDevice * device, gboolean always,
    gboolean fatal)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *requested = NULL;
  GstVfioEdidMode mode;
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  requested = g_strdup (self->requested);
  if (requested && !is_auto (requested)) {
    ok = gst_vfio_edid_mode_parse (requested, &mode, &error);
    if (ok && (always || !gst_vfio_edid_mode_equal (&mode, &self->written)))
      ok = write_mode (self, device, &mode, &error);
  }
  g_mutex_unlock (&self->lock);

  if (ok)
    return TRUE;
  if (fatal)
    GST_ELEMENT_ERROR (self->element, RESOURCE, SETTINGS,
        ("guest-mode=%s: %s", requested, error->message),
        ("%s (code %d)", g_quark_to_string (error->domain), error->code));
  else
    GST_ELEMENT_WARNING (self->element, RESOURCE, SETTINGS,
        ("guest-mode=%s: %s. The guest keeps its current mode.", requested,
            error->message), ("%s (code %d)",
            g_quark_to_string (error->domain), error->code));
  return FALSE;
}

/* A new value takes effect at once on an open device; auto at the next
 * negotiation, which this asks for. */
void
gst_vfio_guest_mode_set (GstVfioGuestMode * self, const gchar * value)
{
  g_autoptr (GstVfioDevice) device = NULL;
  GstPad *pad;

  g_mutex_lock (&self->lock);
  g_free (self->requested);
  self->requested = value && *value ? g_strdup (value) : NULL;
  g_mutex_unlock (&self->lock);

  device = g_weak_ref_get (&self->device);
  if (!device)
    return;
  if (!is_auto (value)) {
    apply (self, device, FALSE, FALSE);
    return;
  }
  pad = gst_element_get_static_pad (self->element, "src");
  if (pad) {
    gst_pad_mark_reconfigure (pad);
    gst_object_unref (pad);
  }
}

gchar *
gst_vfio_guest_mode_dup (GstVfioGuestMode * self)
{
  gchar *value;

  g_mutex_lock (&self->lock);
  value = g_strdup (self->requested);
  g_mutex_unlock (&self->lock);
  return value;
}

/**
 * gst_vfio_guest_mode_attach:
 * @device: the device just opened
 *
 * Writes the requested mode (an error is posted when that fails).
 *
 * Returns: %FALSE when the device cannot show the requested mode
 */
gboolean
gst_vfio_guest_mode_attach (GstVfioGuestMode * self, GstVfioDevice * device)
{
  g_mutex_lock (&self->lock);
  memset (&self->written, 0, sizeof (self->written));
  __atomic_store_n (&self->writes, 0, __ATOMIC_RELAXED);
  g_mutex_unlock (&self->lock);

  g_weak_ref_set (&self->device, device);
  return apply (self, device, TRUE, TRUE);
}

/* The mode downstream fixes: width and height fixed in the first caps
 * structure of the peer, the rate too if fixed (else 60 Hz). */
static gboolean
mode_from_peer (GstPad * srcpad, GstVfioEdidMode * mode)
{
  g_autoptr (GstCaps) caps = gst_pad_peer_query_caps (srcpad, NULL);
  GstStructure *s;
  gint width, height, fps_n, fps_d;

  if (gst_caps_is_empty (caps) || gst_caps_is_any (caps))
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_int (s, "width", &width)
      || !gst_structure_get_int (s, "height", &height))
    return FALSE;

  memset (mode, 0, sizeof (*mode));
  mode->width = width;
  mode->height = height;
  mode->refresh = GST_VFIO_EDID_DEFAULT_REFRESH;
  if (gst_structure_get_fraction (s, "framerate", &fps_n, &fps_d)
      && fps_n > 0 && fps_d > 0)
    mode->refresh = CLAMP ((fps_n + fps_d / 2) / fps_d,
        GST_VFIO_EDID_MIN_REFRESH, GST_VFIO_EDID_MAX_REFRESH);
  return TRUE;
}

/* Until the guest shows @mode, for a few seconds at most. */
static gboolean
wait_for_guest (GstVfioDevice * device, const GstVfioEdidMode * mode)
{
  gint64 deadline = g_get_monotonic_time () + AUTO_WAIT;
  GstVfioPlane plane;

  do {
    if (gst_vfio_device_query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane,
            NULL) && plane.present && plane.width == mode->width
        && plane.height == mode->height)
      return TRUE;
    g_usleep (AUTO_POLL);
  } while (g_get_monotonic_time () < deadline);
  return FALSE;
}

/**
 * gst_vfio_guest_mode_negotiate:
 * @srcpad: the source pad, about to negotiate
 *
 * With guest-mode=auto: when the peer fixes a size (and rate) other than
 * the last one written, writes it and waits a little for the guest to
 * switch, so that the caps that follow can be the new ones.
 *
 * Returns: %TRUE when a new mode was written: the plane must be queried
 * again
 */
gboolean
gst_vfio_guest_mode_negotiate (GstVfioGuestMode * self, GstPad * srcpad)
{
  g_autoptr (GstVfioDevice) device = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  GstVfioEdidMode mode;
  gboolean wanted, ok;

  g_mutex_lock (&self->lock);
  wanted = is_auto (self->requested);
  g_mutex_unlock (&self->lock);
  if (!wanted || !mode_from_peer (srcpad, &mode))
    return FALSE;
  device = g_weak_ref_get (&self->device);
  if (!device)
    return FALSE;

  g_mutex_lock (&self->lock);
  if (gst_vfio_edid_mode_equal (&mode, &self->written)) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  ok = write_mode (self, device, &mode, &error);
  g_mutex_unlock (&self->lock);

  text = gst_vfio_edid_mode_to_string (&mode);
  if (!ok) {
    GST_ELEMENT_WARNING (self->element, RESOURCE, SETTINGS,
        ("guest-mode=auto: downstream asks for %s: %s. The guest keeps its "
            "current mode.", text, error->message), (NULL));
    return FALSE;
  }
  if (!wait_for_guest (device, &mode))
    GST_INFO_OBJECT (self->element, "the guest has not switched to %s yet",
        text);
  return TRUE;
}

guint64
gst_vfio_guest_mode_get_writes (GstVfioGuestMode * self)
{
  return __atomic_load_n (&self->writes, __ATOMIC_RELAXED);
}
