/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to gstvfio: what its files share and do not export. */
#pragma once

#include "gstvfiodevice.h"
#include "gstvfioledger.h"

G_BEGIN_DECLS

/* The dma-bufs exported from one open device file (gstvfiodmabufcache.c),
 * shared by every GstVfioDmabufCache on a device using that file. */
typedef struct _GstVfioExportTable GstVfioExportTable;

G_GNUC_INTERNAL
GstVfioExportTable *gst_vfio_export_table_new (GstVfioExportPolicy policy);

G_GNUC_INTERNAL
void gst_vfio_export_table_free (GstVfioExportTable * table);

G_GNUC_INTERNAL
void gst_vfio_export_table_set_ledger (GstVfioExportTable * table,
    GstVfioLedger * ledger);

G_GNUC_INTERNAL
gboolean gst_vfio_export_table_has_exports (GstVfioExportTable * table);

G_GNUC_INTERNAL
GstVfioExportTable *gst_vfio_device_get_export_table (GstVfioDevice * self);

G_GNUC_INTERNAL
gchar *gst_vfio_resolve_sysfs_path (const gchar * device, GError ** error);

G_GNUC_INTERNAL
gboolean gst_vfio_check_sysfs_device (const gchar * sysfs_path,
    GError ** error);

G_GNUC_INTERNAL
gint gst_vfio_read_iommu_group (const gchar * sysfs_path, GError ** error);

G_GNUC_INTERNAL
GstVfioDevice *gst_vfio_device_adopt_owned_fd (gint owned,
    const gchar * description, GError ** error);

G_END_DECLS
