/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Letting the clients of an ended stream go: their sessions with its media
 * are removed, and a client left without a session is disconnected. They
 * have had the end of the stream (RTCP BYE) already: this is for those that
 * ignore it, or missed it, so that none waits on a dead stream.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspteardown.h"

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_teardown_debug);
#define GST_CAT_DEFAULT vfio_rtsp_teardown_debug

typedef struct
{
  GstRTSPMedia *media;
  guint removed;
  guint kept;
} EndMedia;

static GstRTSPFilterResult
has_media (GstRTSPSession * session, GstRTSPSessionMedia * sm, gpointer data)
{
  EndMedia *end = data;

  if (gst_rtsp_session_media_get_media (sm) == end->media)
    end->removed++;
  return GST_RTSP_FILTER_KEEP;
}

static GstRTSPFilterResult
end_session (GstRTSPClient * client, GstRTSPSession * session, gpointer data)
{
  EndMedia *end = data;
  guint before = end->removed;

  gst_rtsp_session_filter (session, has_media, end);
  if (end->removed > before)
    return GST_RTSP_FILTER_REMOVE;
  end->kept++;
  return GST_RTSP_FILTER_KEEP;
}

static GstRTSPFilterResult
end_client (GstRTSPServer * server, GstRTSPClient * client, gpointer data)
{
  EndMedia *end = data;
  guint removed = end->removed;

  end->kept = 0;
  gst_rtsp_client_session_filter (client, end_session, end);
  if (end->removed == removed)
    return GST_RTSP_FILTER_KEEP;
  /* A client that was watching this stream only is disconnected. */
  GST_INFO ("client %p: %u sessions ended, %u kept", client,
      end->removed - removed, end->kept);
  return end->kept == 0 ? GST_RTSP_FILTER_REMOVE : GST_RTSP_FILTER_KEEP;
}

/**
 * vfio_rtsp_let_clients_go:
 *
 * Returns: the number of sessions of @media removed
 */
guint
vfio_rtsp_let_clients_go (GstRTSPServer * server, GstRTSPMedia * media)
{
  EndMedia end = { media, 0, 0 };

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_teardown_debug, "vfiortspteardown", 0,
      "RTSP server: letting clients go");
  gst_rtsp_server_client_filter (server, end_client, &end);
  return end.removed;
}
