/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding the VMs' displays: a GstDeviceMonitor on Video/Source, of which
 * only the devices with a vfio.uuid property are VM displays (those of
 * vfiogfxsrc's device provider). Devices listed at start and those that
 * come and go later reach one callback, in the server's context.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspmonitor.h"

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_monitor_debug);
#define GST_CAT_DEFAULT vfio_rtsp_monitor_debug

struct _VfioRtspMonitor
{
  GstDeviceMonitor *monitor;
  GSource *watch;
  VfioRtspDeviceFunc func;
  gpointer user_data;
};

static gchar *
device_string (GstDevice * device, const gchar * field)
{
  g_autoptr (GstStructure) props = gst_device_get_properties (device);
  const gchar *value = props ? gst_structure_get_string (props, field) : NULL;

  return value && *value ? g_strdup (value) : NULL;
}

/* The mdev UUID of a VM display, NULL for other video sources. */
gchar *
vfio_rtsp_device_uuid (GstDevice * device)
{
  return device_string (device, "vfio.uuid");
}

/* The VM's name (the libvirt domain, QEMU's -name), when known. */
gchar *
vfio_rtsp_device_vm_name (GstDevice * device)
{
  return device_string (device, "vfio.vm-name");
}

static void
report (VfioRtspMonitor * self, GstDevice * device, gboolean added)
{
  g_autofree gchar *uuid = vfio_rtsp_device_uuid (device);

  if (!uuid) {
    GST_DEBUG ("not a VM display: %s", GST_OBJECT_NAME (device));
    return;
  }
  self->func (device, added, self->user_data);
}

static gboolean
on_message (GstBus * bus, GstMessage * message, gpointer user_data)
{
  VfioRtspMonitor *self = user_data;
  GstDevice *device = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_DEVICE_ADDED:
      gst_message_parse_device_added (message, &device);
      report (self, device, TRUE);
      break;
    case GST_MESSAGE_DEVICE_REMOVED:
      gst_message_parse_device_removed (message, &device);
      report (self, device, FALSE);
      break;
    default:
      break;
  }
  gst_clear_object (&device);
  return G_SOURCE_CONTINUE;
}

VfioRtspMonitor *
vfio_rtsp_monitor_start (GMainContext * context, VfioRtspDeviceFunc func,
    gpointer user_data, GError ** error)
{
  VfioRtspMonitor *self = g_new0 (VfioRtspMonitor, 1);
  g_autoptr (GstBus) bus = NULL;
  GList *devices;

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_monitor_debug, "vfiortspmonitor", 0,
      "RTSP server: finding the VMs");
  self->func = func;
  self->user_data = user_data;
  self->monitor = gst_device_monitor_new ();
  gst_device_monitor_add_filter (self->monitor, "Video/Source", NULL);
  bus = gst_device_monitor_get_bus (self->monitor);
  self->watch = gst_bus_create_watch (bus);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (on_message), self, NULL);
  g_source_attach (self->watch, context);
  if (!gst_device_monitor_start (self->monitor))
    goto start_failed;

  /* Devices listed at start; those also announced on the bus are told
   * twice, which the callback takes. */
  devices = gst_device_monitor_get_devices (self->monitor);
  for (GList * l = devices; l; l = l->next)
    report (self, l->data, TRUE);
  g_list_free_full (devices, gst_object_unref);
  return self;

  /* ERRORS */
start_failed:
  {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "No device provider lists video sources: is the vfiogfxsrc plugin "
        "installed (or GST_PLUGIN_PATH set to its build directory)?");
    vfio_rtsp_monitor_stop (self);
    return NULL;
  }
}

void
vfio_rtsp_monitor_stop (VfioRtspMonitor * self)
{
  if (!self)
    return;
  gst_device_monitor_stop (self->monitor);
  g_source_destroy (self->watch);
  g_source_unref (self->watch);
  gst_object_unref (self->monitor);
  g_free (self);
}
