/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc's device: opened by path, adopted from a fd, or borrowed from
 * the VMM that holds it; and the end of it (the VMM exits, the driver asks
 * for the device back), which ends the stream.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiosrcdevice.h"

GST_DEBUG_CATEGORY_STATIC (gst_vfio_src_device_debug);
#define GST_CAT_DEFAULT gst_vfio_src_device_debug

static void
ensure_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_src_device_debug, "vfiosrcdevice", 0,
        "vfiogfxsrc device acquisition");
    g_once_init_leave (&done, 1);
  }
}

/* The group is open elsewhere (a running VM): take the VMM's device fd. */
static GstVfioDevice *
borrow (GstElement * element, const GstVfioSrcDeviceSettings * settings,
    GError ** error)
{
  GError *failure = NULL;
  GstVfioDevice *device;

  GST_INFO_OBJECT (element, "%s is held by another process: borrowing it",
      settings->path);
  device = gst_vfio_device_borrow (settings->path, settings->vmm_pid,
      &failure);
  if (device)
    return device;
  /* Still "busy" to the application, unless permission is what lacks. */
  g_set_error (error, GST_VFIO_ERROR, g_error_matches (failure,
          GST_VFIO_ERROR, GST_VFIO_ERROR_PERMISSION) ?
      GST_VFIO_ERROR_PERMISSION : GST_VFIO_ERROR_BUSY,
      "%s is in use by another process (a VM) and could not be borrowed "
      "from it: %s Alternatively, have the VMM hand over its device fd and "
      "use device-fd.", settings->path, failure->message);
  g_error_free (failure);
  return NULL;
}

static GstVfioDevice *
open_by_path (GstElement * element, const GstVfioSrcDeviceSettings * settings,
    GError ** error)
{
  GError *failure = NULL;
  GstVfioDevice *device = gst_vfio_device_open (settings->path, &failure);

  if (device)
    return device;
  if (settings->borrow
      && g_error_matches (failure, GST_VFIO_ERROR, GST_VFIO_ERROR_BUSY)) {
    g_clear_error (&failure);
    return borrow (element, settings, error);
  }
  g_propagate_error (error, failure);
  return NULL;
}

static GstVfioDevice *
adopt (const GstVfioSrcDeviceSettings * settings, GError ** error)
{
  GstVfioDevice *device = gst_vfio_device_new_from_fd (settings->fd, error);

  if (device && settings->vmm_pid > 0
      && !gst_vfio_device_watch_holder (device, settings->vmm_pid, error))
    gst_clear_object (&device);
  return device;
}

/**
 * gst_vfio_src_open_device:
 *
 * Returns: (transfer full) (nullable): the device the settings name
 */
GstVfioDevice *
gst_vfio_src_open_device (GstElement * element,
    const GstVfioSrcDeviceSettings * settings, GError ** error)
{
  ensure_debug ();

  if (settings->path && settings->fd >= 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Both device (%s) and device-fd (%d) are set: set only one.",
        settings->path, settings->fd);
    return NULL;
  }
  if (settings->path)
    return open_by_path (element, settings, error);
  if (settings->fd >= 0)
    return adopt (settings, error);

  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
      "No device: set device to an mdev UUID or sysfs path, or device-fd "
      "to a VFIO device fd handed over by the VMM.");
  return NULL;
}

static void
post_end_message (GstElement * element, GstStructure * s)
{
  gst_element_post_message (element,
      gst_message_new_element (GST_OBJECT (element), s));
}

/**
 * gst_vfio_src_check_device_end:
 *
 * Whether the device went away under the stream: its VMM exited (the
 * device is already closed) or its driver asked for it back. Posts a
 * warning and an element message saying which.
 *
 * Returns: %GST_FLOW_EOS when the stream must end, else %GST_FLOW_OK
 */
GstFlowReturn
gst_vfio_src_check_device_end (GstElement * element, GstVfioDevice * device)
{
  /* Every frame: one cheap check, the details only when it ends. */
  if (G_LIKELY (!gst_vfio_device_is_ending (device)))
    return GST_FLOW_OK;
  if (gst_vfio_device_holder_exited (device)) {
    gint pid = gst_vfio_device_get_holder_pid (device);

    GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
        ("The VM's process %d exited: the device is closed and the stream "
            "ends.", pid), ("%s", gst_vfio_device_get_description (device)));
    post_end_message (element, gst_structure_new ("vfiogfxsrc-vmm-exited",
            "pid", G_TYPE_INT, pid, NULL));
    return GST_FLOW_EOS;
  }
  if (gst_vfio_device_removal_requested (device)) {
    GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
        ("The device %s is being removed: ending the stream.",
            gst_vfio_device_get_description (device)),
        ("the device signalled its request IRQ"));
    post_end_message (element, gst_structure_new_empty ("vfiogfxsrc-removed"));
    return GST_FLOW_EOS;
  }
  return GST_FLOW_OK;
}
