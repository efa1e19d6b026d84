/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

G_BEGIN_DECLS

/* The role every user of the password file has. */
#define VFIO_RTSP_ROLE "viewer"

GstRTSPAuth *vfio_rtsp_auth_from_file (const gchar * path, GError ** error);

void vfio_rtsp_auth_allow_viewers (GstRTSPMediaFactory * factory);

G_END_DECLS
