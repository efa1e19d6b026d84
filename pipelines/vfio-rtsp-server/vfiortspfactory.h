/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

#include "vfiortspencoder.h"

G_BEGIN_DECLS

#define VFIO_TYPE_RTSP_FACTORY (vfio_rtsp_factory_get_type ())
G_DECLARE_FINAL_TYPE (VfioRtspFactory, vfio_rtsp_factory, VFIO,
    RTSP_FACTORY, GstRTSPMediaFactory);

VfioRtspFactory *vfio_rtsp_factory_new (GstDevice * device,
    const gchar * uuid, const gchar * name,
    const VfioRtspEncoding * encoding) G_GNUC_WARN_UNUSED_RESULT;

const gchar *vfio_rtsp_factory_get_uuid (VfioRtspFactory * self);

const gchar *vfio_rtsp_factory_get_name (VfioRtspFactory * self);

void vfio_rtsp_factory_set_name (VfioRtspFactory * self, const gchar * name);

gint vfio_rtsp_factory_get_iommu_group (VfioRtspFactory * self);

GstRTSPMedia *vfio_rtsp_factory_get_media (VfioRtspFactory * self);

GstElement *vfio_rtsp_factory_get_source (VfioRtspFactory * self);

void vfio_rtsp_factory_get_counts (VfioRtspFactory * self, guint64 * frames,
    guint64 * bytes);

gboolean vfio_rtsp_factory_end (VfioRtspFactory * self);

void vfio_rtsp_factory_hold (VfioRtspFactory * self, GstRTSPMedia * media);

void vfio_rtsp_factory_release (VfioRtspFactory * self,
    GstRTSPMedia * media);

void vfio_rtsp_factory_set_idle (VfioRtspFactory * self, gboolean idle);

void vfio_rtsp_factory_set_mode (VfioRtspFactory * self, const gchar * mode);

gboolean vfio_rtsp_mode_is_valid (const gchar * mode);

gboolean vfio_rtsp_url_mode (const GstRTSPUrl * url, gchar ** mode);

G_END_DECLS
