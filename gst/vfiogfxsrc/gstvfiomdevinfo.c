/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An mdev as sysfs describes it, and whether it has a display.
 *
 * Asking the device (VFIO_DEVICE_QUERY_GFX_PLANE) would be exact, but it
 * needs the device open: impossible while a VM holds its group, and while
 * the probe holds it, a VM starting at that moment fails with EBUSY. So the
 * answer comes from sysfs alone:
 *  - the type's device_api must be vfio-pci: the display uAPI exists only
 *    there (vfio-ccw and vfio-ap mdevs have none);
 *  - the parent's driver (its class for the kernel samples, which have no
 *    driver) names the kind of vGPU: Intel GVT-g (i915), the kernel's
 *    mbochs and mdpy samples, and NVIDIA vGPU profiles of the Q
 *    (workstation) and B (virtual PC) series have a display; the mtty
 *    sample (a serial port) has none;
 *  - any other vfio-pci mdev is kept, marked unknown: listing a device
 *    without a display costs a failed capture, hiding one with a display
 *    costs the user the device.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiomdevinfo.h"

#include <string.h>

typedef struct
{
  const gchar *driver;
  GstVfioMdevDisplay display;
} KnownParent;

static const KnownParent known_parents[] = {
  {"i915", GST_VFIO_MDEV_DISPLAY_YES},  /* Intel GVT-g */
  {"mbochs", GST_VFIO_MDEV_DISPLAY_YES},        /* kernel sample, dma-bufs */
  {"mdpy", GST_VFIO_MDEV_DISPLAY_YES},  /* kernel sample, region */
  {"mtty", GST_VFIO_MDEV_DISPLAY_NONE}, /* kernel sample, serial port */
};

void
gst_vfio_mdev_info_free (GstVfioMdevInfo * info)
{
  if (!info)
    return;
  g_free (info->uuid);
  g_free (info->sysfs_path);
  g_free (info->parent);
  g_free (info->parent_driver);
  g_free (info->type);
  g_free (info->type_name);
  g_free (info->type_description);
  g_free (info->device_api);
  g_free (info);
}

const gchar *
gst_vfio_mdev_display_to_string (GstVfioMdevDisplay display)
{
  switch (display) {
    case GST_VFIO_MDEV_DISPLAY_YES:
      return "yes";
    case GST_VFIO_MDEV_DISPLAY_UNKNOWN:
      return "unknown";
    case GST_VFIO_MDEV_DISPLAY_NONE:
      break;
  }
  return "no";
}

/* A sysfs attribute's text, stripped; NULL when unreadable or empty. */
static gchar *
read_attribute (const gchar * dir, const gchar * name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  g_strstrip (text);
  if (*text == '\0')
    g_clear_pointer (&text, g_free);
  return text;
}

/* The last component of a symlink's target, NULL without the link. */
static gchar *
read_link_name (const gchar * dir, const gchar * name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autofree gchar *target = g_file_read_link (path, NULL);

  return target ? g_path_get_basename (target) : NULL;
}

static gint
parse_group (const gchar * name)
{
  gchar *end;
  gint64 group;

  if (!name)
    return -1;
  group = g_ascii_strtoll (name, &end, 10);
  if (end == name || *end != '\0' || group < 0 || group > G_MAXINT)
    return -1;
  return (gint) group;
}

/* NVIDIA names its profiles "GRID T4-2Q", "NVIDIA A40-8B": the letter is
 * the series, and only workstation (Q) and virtual PC (B) profiles drive
 * a display; apps (A) and compute (C) profiles may not. */
static GstVfioMdevDisplay
nvidia_display (const gchar * type_name)
{
  gsize len = type_name ? strlen (type_name) : 0;

  if (len > 0 && (type_name[len - 1] == 'Q' || type_name[len - 1] == 'B'))
    return GST_VFIO_MDEV_DISPLAY_YES;
  return GST_VFIO_MDEV_DISPLAY_UNKNOWN;
}

static GstVfioMdevDisplay
decide_display (const GstVfioMdevInfo * info)
{
  if (g_strcmp0 (info->device_api, "vfio-pci") != 0)
    return GST_VFIO_MDEV_DISPLAY_NONE;
  if (g_strcmp0 (info->parent_driver, "nvidia") == 0)
    return nvidia_display (info->type_name);
  for (guint i = 0; i < G_N_ELEMENTS (known_parents); i++) {
    if (g_strcmp0 (info->parent_driver, known_parents[i].driver) == 0)
      return known_parents[i].display;
  }
  return GST_VFIO_MDEV_DISPLAY_UNKNOWN;
}

/* The parent's driver; a class device (the kernel samples) has none, and
 * the kernel then names the types after its class. */
static gchar *
read_parent_driver (const gchar * parent_path)
{
  gchar *driver = read_link_name (parent_path, "driver");

  return driver ? driver : read_link_name (parent_path, "subsystem");
}

/* The parent is the directory above the device's real path: resolve the
 * link of /sys/bus/mdev/devices/UUID first. */
static gchar *
parent_path_of (const gchar * sysfs_path)
{
  g_autofree gchar *link = g_file_read_link (sysfs_path, NULL);
  g_autofree gchar *dir = g_path_get_dirname (sysfs_path);
  g_autofree gchar *real = link ? g_canonicalize_filename (link, dir) :
      g_canonicalize_filename (sysfs_path, NULL);

  return g_path_get_dirname (real);
}

/**
 * gst_vfio_mdev_info_read:
 * @sysfs_path: the mdev's directory in sysfs (its real path or the link in
 *   /sys/bus/mdev/devices)
 *
 * Returns: (nullable): what sysfs says of the mdev, %NULL when @sysfs_path
 * is not an mdev (no mdev_type link)
 */
GstVfioMdevInfo *
gst_vfio_mdev_info_read (const gchar * sysfs_path)
{
  g_autoptr (GstVfioMdevInfo) info = g_new0 (GstVfioMdevInfo, 1);
  g_autofree gchar *type_dir = NULL;
  g_autofree gchar *parent_path = NULL;
  g_autofree gchar *group = NULL;

  g_return_val_if_fail (sysfs_path != NULL, NULL);

  info->type = read_link_name (sysfs_path, "mdev_type");
  if (!info->type)
    return NULL;
  info->sysfs_path = g_strdup (sysfs_path);
  info->uuid = g_path_get_basename (sysfs_path);
  type_dir = g_build_filename (sysfs_path, "mdev_type", NULL);
  info->type_name = read_attribute (type_dir, "name");
  if (!info->type_name)
    info->type_name = g_strdup (info->type);
  info->type_description = read_attribute (type_dir, "description");
  info->device_api = read_attribute (type_dir, "device_api");

  parent_path = parent_path_of (sysfs_path);
  info->parent = g_path_get_basename (parent_path);
  info->parent_driver = read_parent_driver (parent_path);

  group = read_link_name (sysfs_path, "iommu_group");
  info->iommu_group = parse_group (group);
  info->display = decide_display (info);
  return g_steal_pointer (&info);
}
