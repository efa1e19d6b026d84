/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Called in the monitor's context for each VM display listed, and for
 * each one that goes (@added FALSE). */
typedef void (*VfioRtspDeviceFunc) (GstDevice * device, gboolean added,
    gpointer user_data);

typedef struct _VfioRtspMonitor VfioRtspMonitor;

VfioRtspMonitor *vfio_rtsp_monitor_start (GMainContext * context,
    VfioRtspDeviceFunc func, gpointer user_data, GError ** error);

void vfio_rtsp_monitor_stop (VfioRtspMonitor * self);

gchar *vfio_rtsp_device_uuid (GstDevice * device);

gchar *vfio_rtsp_device_vm_name (GstDevice * device);

G_END_DECLS
