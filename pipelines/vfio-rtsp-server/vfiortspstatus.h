/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/rtsp-server/rtsp-server.h>

G_BEGIN_DECLS

/* Encoded frames and bytes of a stream at some time. */
typedef struct
{
  guint64 frames;
  guint64 bytes;
  gint64 time;                  /* g_get_monotonic_time() */
} VfioRtspCounts;

guint vfio_rtsp_count_clients (GstRTSPSessionPool * pool,
    GstRTSPMedia * media);

gchar *vfio_rtsp_status_line (const gchar * name, guint clients,
    VfioRtspCounts * last, const VfioRtspCounts * now);

G_END_DECLS
