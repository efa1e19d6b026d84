/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VFIO_GFX_DEVICE_PROVIDER \
  (gst_vfio_gfx_device_provider_get_type ())
G_DECLARE_FINAL_TYPE (GstVfioGfxDeviceProvider, gst_vfio_gfx_device_provider,
    GST, VFIO_GFX_DEVICE_PROVIDER, GstDeviceProvider);

GST_DEVICE_PROVIDER_REGISTER_DECLARE (vfiogfxdeviceprovider);

G_END_DECLS
