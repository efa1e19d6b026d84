/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to gstvfio: the device's request to release it. */
#pragma once

#include <glib.h>

#include "gstvfiofdwatch.h"

G_BEGIN_DECLS

typedef struct _GstVfioRemovalWatch GstVfioRemovalWatch;

G_GNUC_INTERNAL
GstVfioRemovalWatch *gst_vfio_removal_watch_new (gint device_fd,
    GstVfioFdWatchFunc func, gpointer data);

G_GNUC_INTERNAL
gboolean gst_vfio_removal_watch_requested (GstVfioRemovalWatch * watch);

G_GNUC_INTERNAL
void gst_vfio_removal_watch_free (GstVfioRemovalWatch * watch);

G_END_DECLS
