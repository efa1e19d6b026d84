/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

G_BEGIN_DECLS

#define VFIO_TYPE_RTSP_MEDIA (vfio_rtsp_media_get_type ())
G_DECLARE_FINAL_TYPE (VfioRtspMedia, vfio_rtsp_media, VFIO, RTSP_MEDIA,
    GstRTSPMedia);

G_END_DECLS
