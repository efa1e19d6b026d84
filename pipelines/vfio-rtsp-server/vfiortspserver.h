/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "vfiortspencoder.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *address;         /* to bind to */
  const gchar *service;         /* the port; "0": any free one */
  const gchar *auth_file;       /* user:password lines, or NULL */
  VfioRtspEncoding encoding;
  guint status_interval;        /* seconds between status lines, 0: none */
} VfioRtspOptions;

typedef struct _VfioRtspServer VfioRtspServer;

VfioRtspServer *vfio_rtsp_server_new (const VfioRtspOptions * options,
    GError ** error) G_GNUC_WARN_UNUSED_RESULT;

gboolean vfio_rtsp_server_start (VfioRtspServer * self,
    GMainContext * context, GError ** error);

void vfio_rtsp_server_free (VfioRtspServer * self);

guint vfio_rtsp_server_get_port (VfioRtspServer * self);

gchar **vfio_rtsp_server_dup_paths (VfioRtspServer * self);

GstElement *vfio_rtsp_server_get_source (VfioRtspServer * self,
    const gchar * name);

guint vfio_rtsp_server_count_clients (VfioRtspServer * self,
    const gchar * name);

gboolean vfio_rtsp_server_get_encoded (VfioRtspServer * self,
    const gchar * name, guint64 * frames, guint64 * bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VfioRtspServer, vfio_rtsp_server_free);

G_END_DECLS
