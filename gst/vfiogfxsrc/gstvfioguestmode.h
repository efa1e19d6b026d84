/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/vfio/vfio.h>

G_BEGIN_DECLS

/* The guest-mode property of vfiogfxsrc: the EDID written to the vGPU. */
typedef struct
{
  GstElement *element;          /* the owner, for messages; not a ref */
  GMutex lock;                  /* the fields below; held while writing */
  GCond cond;                   /* signalled when flushing is set */
  gchar *requested;             /* the property; NULL: leave the EDID alone */
  GstVfioDevice *device;        /* the element's open device, NULL: none */
  GstVfioEdidMode written;      /* the last mode written, zero: none */
  GstVfioEdidMode refused;      /* the last auto mode refused, zero: none */
  gboolean awaiting;            /* auto: written, the guest not seen in it */
  gboolean flushing;            /* unlocked: no waiting for the guest */
  guint64 writes;               /* EDID writes since the device opened */
} GstVfioGuestMode;

void gst_vfio_guest_mode_init (GstVfioGuestMode * self, GstElement * element);

void gst_vfio_guest_mode_clear (GstVfioGuestMode * self);

void gst_vfio_guest_mode_set (GstVfioGuestMode * self, const gchar * value);

gchar *gst_vfio_guest_mode_dup (GstVfioGuestMode * self);

gboolean gst_vfio_guest_mode_attach (GstVfioGuestMode * self,
    GstVfioDevice * device);

void gst_vfio_guest_mode_detach (GstVfioGuestMode * self);

void gst_vfio_guest_mode_unlock (GstVfioGuestMode * self);

void gst_vfio_guest_mode_unlock_stop (GstVfioGuestMode * self);

gboolean gst_vfio_guest_mode_negotiate (GstVfioGuestMode * self,
    GstPad * srcpad);

guint64 gst_vfio_guest_mode_get_writes (GstVfioGuestMode * self);

G_END_DECLS
