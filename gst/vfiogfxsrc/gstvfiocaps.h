/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/vfio/vfio.h>

G_BEGIN_DECLS

#define GST_VFIO_CAPS_DEFAULT_FPS 60

GstCaps *gst_vfio_caps_offer (const GstVfioPlane * plane,
    gboolean variable_rate);

gboolean gst_vfio_caps_has_system_memory (GstCaps * caps);

gboolean gst_vfio_caps_peer_accepts_anything (GstPad * srcpad);

GstCaps *gst_vfio_caps_choose (GstPad * srcpad, GstCaps * offered,
    gboolean system_memory_first);

gboolean gst_vfio_caps_is_dmabuf (GstCaps * caps);

GstClockTime gst_vfio_caps_get_period (GstCaps * caps, gboolean * variable);

G_END_DECLS
