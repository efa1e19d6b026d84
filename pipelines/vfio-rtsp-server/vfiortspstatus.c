/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The status of a stream: its clients (RTSP sessions playing its media),
 * and the frame rate and bitrate of what its encoder made since the last
 * status line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspstatus.h"

typedef struct
{
  GstRTSPMedia *media;
  guint count;
} CountClients;

static GstRTSPFilterResult
find_media (GstRTSPSession * session, GstRTSPSessionMedia * sm,
    gpointer user_data)
{
  CountClients *c = user_data;

  if (gst_rtsp_session_media_get_media (sm) == c->media)
    c->count++;
  return GST_RTSP_FILTER_KEEP;
}

static GstRTSPFilterResult
count_session (GstRTSPSessionPool * pool, GstRTSPSession * session,
    gpointer user_data)
{
  gst_rtsp_session_filter (session, find_media, user_data);
  return GST_RTSP_FILTER_KEEP;
}

/* The sessions of @pool that have set up @media (NULL: none). */
guint
vfio_rtsp_count_clients (GstRTSPSessionPool * pool, GstRTSPMedia * media)
{
  CountClients c = { media, 0 };

  if (!media)
    return 0;
  gst_rtsp_session_pool_filter (pool, count_session, &c);
  return c.count;
}

/* One line on @name's stream; @last becomes @now. */
gchar *
vfio_rtsp_status_line (const gchar * name, guint clients,
    VfioRtspCounts * last, const VfioRtspCounts * now)
{
  gdouble seconds = (now->time - last->time) / 1e6;
  gdouble fps = 0, kbits = 0;

  if (seconds > 0) {
    fps = (now->frames - last->frames) / seconds;
    kbits = (now->bytes - last->bytes) * 8 / 1000.0 / seconds;
  }
  *last = *now;
  return g_strdup_printf ("%s: %u client%s, %.1f fps, %.0f kbit/s", name,
      clients, clients == 1 ? "" : "s", fps, kbits);
}
