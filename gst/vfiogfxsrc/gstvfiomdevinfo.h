/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether an mdev has a display, as far as sysfs tells. */
typedef enum
{
  GST_VFIO_MDEV_DISPLAY_NONE,   /* known to have none: not listed */
  GST_VFIO_MDEV_DISPLAY_UNKNOWN,        /* a vfio-pci mdev of another kind */
  GST_VFIO_MDEV_DISPLAY_YES,    /* a type known to have one */
} GstVfioMdevDisplay;

/* What sysfs says about one mdev, read without opening it. */
typedef struct
{
  gchar *uuid;
  gchar *sysfs_path;
  gchar *parent;                /* the parent device (0000:00:02.0, mbochs) */
  gchar *parent_driver;         /* its driver, or class (i915, mbochs) */
  gchar *type;                  /* the type's directory (i915-GVTg_V5_4) */
  gchar *type_name;             /* mdev_type/name */
  gchar *type_description;      /* mdev_type/description, or NULL */
  gchar *device_api;            /* mdev_type/device_api (vfio-pci) */
  gint iommu_group;             /* -1 without one */
  GstVfioMdevDisplay display;
} GstVfioMdevInfo;

GstVfioMdevInfo *gst_vfio_mdev_info_read (const gchar * sysfs_path);

void gst_vfio_mdev_info_free (GstVfioMdevInfo * info);

const gchar *gst_vfio_mdev_display_to_string (GstVfioMdevDisplay display);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstVfioMdevInfo, gst_vfio_mdev_info_free)

G_END_DECLS
