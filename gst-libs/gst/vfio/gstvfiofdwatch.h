/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to gstvfio: one event on a fd, waited for off the streaming
 * thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GstVfioFdWatch GstVfioFdWatch;

/* Runs on the watch's thread, once, when the fd becomes readable. */
typedef void (*GstVfioFdWatchFunc) (gpointer data);

G_GNUC_INTERNAL
GstVfioFdWatch *gst_vfio_fd_watch_new (gint fd, const gchar * name,
    GstVfioFdWatchFunc func, gpointer data);

G_GNUC_INTERNAL
gboolean gst_vfio_fd_watch_fired (GstVfioFdWatch * watch);

G_GNUC_INTERNAL
void gst_vfio_fd_watch_free (GstVfioFdWatch * watch);

G_END_DECLS
