/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfiodevice.h>

G_BEGIN_DECLS

GST_VFIO_API
GstMemory *gst_vfio_region_map_plane (GstVfioDevice * device,
    const GstVfioPlane * plane, GError ** error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
