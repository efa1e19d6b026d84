/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to gstvfio: the open device files of this process. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GstVfioDeviceFile GstVfioDeviceFile;

/* Frees what the handles of a file share, when the file goes. Called with
 * the registry locked: it must not take a handle. */
typedef void (*GstVfioDeviceFileFreeFunc) (gpointer data);

G_GNUC_INTERNAL
GstVfioDeviceFile *gst_vfio_device_file_find (gint fd, const gchar * syspath);

G_GNUC_INTERNAL
GstVfioDeviceFile *gst_vfio_device_file_add (gint fd, gint group_fd,
    gint container_fd, const gchar * syspath, gboolean adopted,
    gboolean keep_while_held, gpointer data,
    GstVfioDeviceFileFreeFunc free_data);

G_GNUC_INTERNAL
void gst_vfio_device_file_release (GstVfioDeviceFile * file,
    gboolean keep);

G_GNUC_INTERNAL
gint gst_vfio_device_file_get_fd (GstVfioDeviceFile * file);

G_GNUC_INTERNAL
gpointer gst_vfio_device_file_get_data (GstVfioDeviceFile * file);

G_GNUC_INTERNAL
guint gst_vfio_device_file_collect (void);

G_END_DECLS
