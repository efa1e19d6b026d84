/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfiodevice.h>
#include <gst/vfio/gstvfioedid.h>

G_BEGIN_DECLS

GST_VFIO_API
gboolean gst_vfio_edid_check_mode (const GstVfioEdidInfo * info,
    const GstVfioEdidMode * mode, GError ** error);

GST_VFIO_API
gboolean gst_vfio_edid_write (GstVfioDevice * device, GBytes * edid,
    GError ** error);

GST_VFIO_API
gboolean gst_vfio_edid_set_mode (GstVfioDevice * device,
    const GstVfioEdidMode * mode, GError ** error);

G_END_DECLS
