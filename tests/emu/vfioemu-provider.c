/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device provider of emulated mdevs (see vfioemu-provider.h).
 */
#include "vfioemu-provider.h"

#define EMU_TYPE_DEVICE (emu_device_get_type ())
G_DECLARE_FINAL_TYPE (EmuDevice, emu_device, EMU, DEVICE, GstDevice);
struct _EmuDevice
{
  GstDevice parent;
  gchar *uuid;
};
G_DEFINE_TYPE (EmuDevice, emu_device, GST_TYPE_DEVICE);

static GstElement *
emu_device_create_element (GstDevice * device, const gchar * name)
{
  GstElement *src = gst_element_factory_make ("vfiogfxsrc", name);

  if (src)
    g_object_set (src, "device", EMU_DEVICE (device)->uuid, NULL);
  return src;
}

static void
emu_device_finalize (GObject * object)
{
  g_free (EMU_DEVICE (object)->uuid);
  G_OBJECT_CLASS (emu_device_parent_class)->finalize (object);
}

static void
emu_device_class_init (EmuDeviceClass * klass)
{
  GST_DEVICE_CLASS (klass)->create_element = emu_device_create_element;
  G_OBJECT_CLASS (klass)->finalize = emu_device_finalize;
}

static void
emu_device_init (EmuDevice * self)
{
}

GstDevice *
vfio_emu_provider_device_new (const gchar * uuid, const gchar * vm_name)
{
  GstStructure *props = gst_structure_new ("vfio-device",
      "vfio.uuid", G_TYPE_STRING, uuid, NULL);
  GstCaps *caps = gst_caps_new_empty_simple ("video/x-raw");
  EmuDevice *dev;

  if (vm_name)
    gst_structure_set (props, "vfio.vm-name", G_TYPE_STRING, vm_name, NULL);
  dev = g_object_new (EMU_TYPE_DEVICE, "display-name",
      vm_name ? vm_name : uuid, "device-class", "Video/Source", "caps", caps,
      "properties", props, NULL);
  dev->uuid = g_strdup (uuid);
  gst_structure_free (props);
  gst_caps_unref (caps);
  return gst_object_ref_sink (GST_DEVICE (dev));
}

#define EMU_TYPE_PROVIDER (emu_provider_get_type ())
G_DECLARE_FINAL_TYPE (EmuProvider, emu_provider, EMU, PROVIDER,
    GstDeviceProvider);
struct _EmuProvider
{
  GstDeviceProvider parent;
};
G_DEFINE_TYPE (EmuProvider, emu_provider, GST_TYPE_DEVICE_PROVIDER);

static GMutex initial_lock;
static GList *initial_devices;

static gpointer
ref_device (gconstpointer device, gpointer user_data)
{
  return gst_object_ref ((gpointer) device);
}

void
vfio_emu_provider_set_initial (GList * devices)
{
  g_mutex_lock (&initial_lock);
  g_list_free_full (initial_devices, gst_object_unref);
  initial_devices = g_list_copy_deep (devices, ref_device, NULL);
  g_mutex_unlock (&initial_lock);
}

static gboolean
emu_provider_start (GstDeviceProvider * provider)
{
  g_mutex_lock (&initial_lock);
  for (GList * l = initial_devices; l; l = l->next)
    gst_device_provider_device_add (provider, gst_object_ref (l->data));
  g_mutex_unlock (&initial_lock);
  return TRUE;
}

static GList *
emu_provider_probe (GstDeviceProvider * provider)
{
  return NULL;
}

static void
emu_provider_class_init (EmuProviderClass * klass)
{
  GstDeviceProviderClass *pclass = GST_DEVICE_PROVIDER_CLASS (klass);

  pclass->start = emu_provider_start;
  pclass->probe = emu_provider_probe;
  gst_device_provider_class_set_static_metadata (pclass, "Emulated mdevs",
      "Video/Source", "The emulated mdevs of the tests", "vfiogfxsrc");
}

static void
emu_provider_init (EmuProvider * self)
{
}

gboolean
vfio_emu_provider_register (void)
{
  return gst_device_provider_register (NULL, "emumdev", GST_RANK_PRIMARY,
      EMU_TYPE_PROVIDER);
}

GstDeviceProvider *
vfio_emu_provider_get (void)
{
  return gst_device_provider_factory_get_by_name ("emumdev");
}
