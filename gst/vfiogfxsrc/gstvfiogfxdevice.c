/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM display found by the device provider: an mdev, captured by
 * vfiogfxsrc with device=UUID (which opens it, or borrows it from the VMM
 * that holds it).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiogfxdevice.h"

struct _GstVfioGfxDevice
{
  GstDevice parent;

  gchar *uuid;
  gchar *sysfs_path;
};

G_DEFINE_TYPE (GstVfioGfxDevice, gst_vfio_gfx_device, GST_TYPE_DEVICE);

static GstElement *
gst_vfio_gfx_device_create_element (GstDevice * device, const gchar * name)
{
  GstVfioGfxDevice *self = GST_VFIO_GFX_DEVICE (device);
  GstElement *element = gst_element_factory_make ("vfiogfxsrc", name);

  if (element)
    g_object_set (element, "device", self->uuid, NULL);
  return element;
}

static gboolean
gst_vfio_gfx_device_reconfigure_element (GstDevice * device,
    GstElement * element)
{
  GstVfioGfxDevice *self = GST_VFIO_GFX_DEVICE (device);
  GstElementFactory *factory = gst_element_get_factory (element);

  if (!factory || g_strcmp0 (GST_OBJECT_NAME (factory), "vfiogfxsrc") != 0)
    return FALSE;
  g_object_set (element, "device", self->uuid, NULL);
  return TRUE;
}

static void
gst_vfio_gfx_device_finalize (GObject * object)
{
  GstVfioGfxDevice *self = GST_VFIO_GFX_DEVICE (object);

  g_free (self->uuid);
  g_free (self->sysfs_path);
  G_OBJECT_CLASS (gst_vfio_gfx_device_parent_class)->finalize (object);
}

static void
gst_vfio_gfx_device_class_init (GstVfioGfxDeviceClass * klass)
{
  GstDeviceClass *device_class = GST_DEVICE_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  device_class->create_element = gst_vfio_gfx_device_create_element;
  device_class->reconfigure_element = gst_vfio_gfx_device_reconfigure_element;
  object_class->finalize = gst_vfio_gfx_device_finalize;
}

static void
gst_vfio_gfx_device_init (GstVfioGfxDevice * self)
{
}

/* Takes @properties. */
GstDevice *
gst_vfio_gfx_device_new (const gchar * uuid, const gchar * sysfs_path,
    const gchar * display_name, GstCaps * caps, GstStructure * properties)
{
  GstVfioGfxDevice *self = g_object_new (GST_TYPE_VFIO_GFX_DEVICE,
      "display-name", display_name, "caps", caps, "device-class",
      "Video/Source", "properties", properties, NULL);

  gst_structure_free (properties);
  self->uuid = g_strdup (uuid);
  self->sysfs_path = g_strdup (sysfs_path);
  return GST_DEVICE (self);
}

const gchar *
gst_vfio_gfx_device_get_sysfs_path (GstVfioGfxDevice * self)
{
  return self->sysfs_path;
}
