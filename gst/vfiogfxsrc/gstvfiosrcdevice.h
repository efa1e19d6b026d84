/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/vfio/vfio.h>

G_BEGIN_DECLS

/* Where the device comes from: the element's properties. */
typedef struct
{
  gchar *path;                  /* device: UUID or sysfs path */
  gint fd;                      /* device-fd, -1 unset */
  gboolean borrow;              /* borrow from the holder when busy */
  gint vmm_pid;                 /* the holder, 0 unknown */
} GstVfioSrcDeviceSettings;

GstVfioDevice *gst_vfio_src_open_device (GstElement * element,
    const GstVfioSrcDeviceSettings * settings, GError ** error);

GstFlowReturn gst_vfio_src_check_device_end (GstElement * element,
    GstVfioDevice * device);

G_END_DECLS
