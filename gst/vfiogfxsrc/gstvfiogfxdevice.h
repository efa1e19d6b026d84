/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VFIO_GFX_DEVICE (gst_vfio_gfx_device_get_type ())
G_DECLARE_FINAL_TYPE (GstVfioGfxDevice, gst_vfio_gfx_device, GST,
    VFIO_GFX_DEVICE, GstDevice);

GstDevice *gst_vfio_gfx_device_new (const gchar * uuid,
    const gchar * sysfs_path, const gchar * display_name, GstCaps * caps,
    GstStructure * properties);

const gchar *gst_vfio_gfx_device_get_sysfs_path (GstVfioGfxDevice * self);

G_END_DECLS
