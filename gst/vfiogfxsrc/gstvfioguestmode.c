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
 * The device is the element's from attach (NULL->READY) to detach
 * (READY->NULL), and written only in between. Auto's wait for the guest
 * polls on a condition that unlock() signals, so a flush or a state
 * change never waits for it.
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

/* What negotiating in auto mode does next. */
typedef enum
{
  STEP_DONE,                    /* nothing to write or wait for */
  STEP_WAIT,                    /* a mode written: wait for the guest */
  STEP_REFUSED,                 /* a mode the device refused, first time */
} AutoStep;

typedef enum
{
  GUEST_SWITCHED,
  GUEST_LATE,                   /* not switched in AUTO_WAIT */
  GUEST_WAIT_INTERRUPTED,       /* unlocked: a flush or a state change */
} GuestWait;

void
gst_vfio_guest_mode_init (GstVfioGuestMode * self, GstElement * element)
{
  GST_DEBUG_CATEGORY_INIT (gst_vfio_guest_mode_debug, "vfioguestmode", 0,
      "vfiogfxsrc guest-mode (EDID writes)");
  memset (self, 0, sizeof (*self));
  self->element = element;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

void
gst_vfio_guest_mode_clear (GstVfioGuestMode * self)
{
  gst_clear_object (&self->device);
  g_clear_pointer (&self->requested, g_free);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);
}

static gboolean
is_auto (const gchar * requested)
{
  return g_strcmp0 (requested, AUTO) == 0;
}

/* Under the lock, with a device. */
static gboolean
write_mode (GstVfioGuestMode * self, const GstVfioEdidMode * mode,
    GError ** error)
{
  if (!gst_vfio_edid_set_mode (self->device, mode, error))
    return FALSE;
  self->written = *mode;
  __atomic_fetch_add (&self->writes, 1, __ATOMIC_RELAXED);
  GST_INFO_OBJECT (self->element, "EDID written: %ux%u@%u", mode->width,
      mode->height, mode->refresh);
  return TRUE;
}

/* Writes the requested mode to the device the element has open, if any;
 * @always also when it was written already (a newly opened device). A
 * failure is an error when @fatal, else a warning: a client asking too
 * much must not end the stream. */
static gboolean
apply (GstVfioGuestMode * self, gboolean always, gboolean fatal)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *requested = NULL;
  GstVfioEdidMode mode;
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  requested = g_strdup (self->requested);
  if (self->device && requested && !is_auto (requested)) {
    ok = gst_vfio_edid_mode_parse (requested, &mode, &error);
    if (ok && (always || !gst_vfio_edid_mode_equal (&mode, &self->written)))
      ok = write_mode (self, &mode, &error);
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
 * negotiation, which this asks for. Without a device (NULL state) it is
 * only kept, for the next open. */
void
gst_vfio_guest_mode_set (GstVfioGuestMode * self, const gchar * value)
{
  gboolean open;
  GstPad *pad;

  g_mutex_lock (&self->lock);
  g_free (self->requested);
  self->requested = value && *value ? g_strdup (value) : NULL;
  /* Set again, a refused auto mode is worth another try. */
  memset (&self->refused, 0, sizeof (self->refused));
  self->awaiting = FALSE;
  open = self->device != NULL;
  g_mutex_unlock (&self->lock);

  if (!open)
    return;
  if (!is_auto (value)) {
    apply (self, FALSE, FALSE);
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
 * Writes the requested mode (an error is posted when that fails) and keeps
 * @device for later writes, until gst_vfio_guest_mode_detach().
 *
 * Returns: %FALSE when the device cannot show the requested mode; then
 * nothing is kept
 */
gboolean
gst_vfio_guest_mode_attach (GstVfioGuestMode * self, GstVfioDevice * device)
{
  g_mutex_lock (&self->lock);
  gst_object_replace ((GstObject **) & self->device, GST_OBJECT (device));
  memset (&self->written, 0, sizeof (self->written));
  memset (&self->refused, 0, sizeof (self->refused));
  self->awaiting = FALSE;
  __atomic_store_n (&self->writes, 0, __ATOMIC_RELAXED);
  g_mutex_unlock (&self->lock);

  if (apply (self, TRUE, TRUE))
    return TRUE;
  gst_vfio_guest_mode_detach (self);
  return FALSE;
}

/**
 * gst_vfio_guest_mode_detach:
 *
 * Lets the device go (the element closes it): once this returns nothing
 * is written to it, whoever else still holds it.
 */
void
gst_vfio_guest_mode_detach (GstVfioGuestMode * self)
{
  g_mutex_lock (&self->lock);
  gst_clear_object (&self->device);
  self->awaiting = FALSE;
  g_mutex_unlock (&self->lock);
}

/**
 * gst_vfio_guest_mode_unlock:
 *
 * Ends a wait for the guest at once, and keeps later ones from starting,
 * until gst_vfio_guest_mode_unlock_stop(): GstBaseSrc's unlock.
 */
void
gst_vfio_guest_mode_unlock (GstVfioGuestMode * self)
{
  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
gst_vfio_guest_mode_unlock_stop (GstVfioGuestMode * self)
{
  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
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

static gboolean
guest_shows (GstVfioDevice * device, const GstVfioEdidMode * mode)
{
  GstVfioPlane plane;

  return gst_vfio_device_query_plane (device, GST_VFIO_PLANE_PRIMARY, &plane,
      NULL) && plane.present && plane.width == mode->width
      && plane.height == mode->height;
}

/* Until the guest shows @mode, for a few seconds at most; unlock() ends
 * the wait at once. Queries outside the lock. */
static GuestWait
wait_for_guest (GstVfioGuestMode * self, GstVfioDevice * device,
    const GstVfioEdidMode * mode)
{
  gint64 deadline = g_get_monotonic_time () + AUTO_WAIT;
  GuestWait result;

  g_mutex_lock (&self->lock);
  for (;;) {
    gboolean shown;
    gint64 now;

    if (self->flushing) {
      result = GUEST_WAIT_INTERRUPTED;
      break;
    }
    g_mutex_unlock (&self->lock);
    shown = guest_shows (device, mode);
    g_mutex_lock (&self->lock);
    if (shown) {
      result = GUEST_SWITCHED;
      break;
    }
    now = g_get_monotonic_time ();
    if (now >= deadline) {
      result = GUEST_LATE;
      break;
    }
    if (!self->flushing)
      g_cond_wait_until (&self->cond, &self->lock,
          MIN (now + AUTO_POLL, deadline));
  }
  if (result != GUEST_WAIT_INTERRUPTED)
    self->awaiting = FALSE;
  g_mutex_unlock (&self->lock);
  return result;
}

/* Under the lock: writes @mode unless written already, or refused
 * already (warned once is enough). */
static AutoStep
auto_step (GstVfioGuestMode * self, const GstVfioEdidMode * mode,
    GError ** error)
{
  if (!self->device || !is_auto (self->requested))
    return STEP_DONE;
  if (gst_vfio_edid_mode_equal (mode, &self->written))
    return self->awaiting ? STEP_WAIT : STEP_DONE;
  if (gst_vfio_edid_mode_equal (mode, &self->refused))
    return STEP_DONE;
  if (!write_mode (self, mode, error)) {
    self->refused = *mode;
    return STEP_REFUSED;
  }
  memset (&self->refused, 0, sizeof (self->refused));
  self->awaiting = TRUE;
  return STEP_WAIT;
}

/**
 * gst_vfio_guest_mode_negotiate:
 * @srcpad: the source pad, about to negotiate
 *
 * With guest-mode=auto: when the peer fixes a size (and rate) other than
 * the last one written, writes it and waits a little for the guest to
 * switch, so that the caps that follow can be the new ones. A wait cut
 * short by gst_vfio_guest_mode_unlock() is taken up again at the next
 * negotiation, which this asks for. A size the device refuses is warned
 * about once, not at every negotiation.
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
  gboolean wanted;
  AutoStep step;

  g_mutex_lock (&self->lock);
  wanted = self->device && is_auto (self->requested);
  g_mutex_unlock (&self->lock);
  if (!wanted || !mode_from_peer (srcpad, &mode))
    return FALSE;

  g_mutex_lock (&self->lock);
  step = auto_step (self, &mode, &error);
  if (step == STEP_WAIT)
    device = gst_object_ref (self->device);
  g_mutex_unlock (&self->lock);

  text = gst_vfio_edid_mode_to_string (&mode);
  switch (step) {
    case STEP_DONE:
      return FALSE;
    case STEP_REFUSED:
      GST_ELEMENT_WARNING (self->element, RESOURCE, SETTINGS,
          ("guest-mode=auto: downstream asks for %s: %s. The guest keeps "
              "its current mode.", text, error->message), (NULL));
      return FALSE;
    case STEP_WAIT:
      break;
  }

  switch (wait_for_guest (self, device, &mode)) {
    case GUEST_SWITCHED:
      break;
    case GUEST_LATE:
      GST_INFO_OBJECT (self->element, "the guest has not switched to %s yet",
          text);
      break;
    case GUEST_WAIT_INTERRUPTED:
      GST_DEBUG_OBJECT (self->element, "waiting for the guest to show %s: "
          "interrupted, again when streaming resumes", text);
      gst_pad_mark_reconfigure (srcpad);
      break;
  }
  return TRUE;
}

guint64
gst_vfio_guest_mode_get_writes (GstVfioGuestMode * self)
{
  return __atomic_load_n (&self->writes, __ATOMIC_RELAXED);
}
