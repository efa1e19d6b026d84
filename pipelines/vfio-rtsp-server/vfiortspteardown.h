/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

G_BEGIN_DECLS

guint vfio_rtsp_let_clients_go (GstRTSPServer * server, GstRTSPMedia * media);

G_END_DECLS
