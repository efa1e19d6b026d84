/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Region planes (mdpy, NVIDIA vGPU): the framebuffer is a region of the
 * device fd. It is mapped, never read with pread(): both kernel samples
 * get the offsets of pread/pwrite on these regions wrong. The region must
 * be a display region (docs/security.md): a device-specific one the device
 * reports, that carries no type of another kind, maps, and holds the
 * plane.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioregion.h"
#include "gstvfioerror.h"

#include <errno.h>
#include <linux/vfio.h>
#include <sys/mman.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_region_debug);
#define GST_CAT_DEFAULT gst_vfio_region_debug

typedef struct
{
  gpointer data;
  gsize size;
} RegionMapping;

static void
region_mapping_free (RegionMapping * mapping)
{
  GST_DEBUG ("unmapping %" G_GSIZE_FORMAT " bytes at %p", mapping->size,
      mapping->data);
  munmap (mapping->data, mapping->size);
  g_free (mapping);
}

static gboolean
reject (GError ** error, guint index, const gchar * why)
{
  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
      "The plane names region %u, which is no display region: region %u %s",
      index, index, why);
  return FALSE;
}

/* What a region typed by the uAPI is, when it is known to hold no
 * framebuffer; NULL for no type, and for types this does not know (a
 * vendor's display region may carry one). */
/* The uAPI spells this bit (1 << 31), a shift into an int's sign bit. */
#define PCI_VENDOR_TYPE_BIT (1u << 31)

static const gchar *
non_display_type (const GstVfioRegionInfo * region)
{
  guint32 vendor = region->type & VFIO_REGION_TYPE_PCI_VENDOR_MASK;

  if (region->type == VFIO_REGION_TYPE_GFX
      && region->subtype == VFIO_REGION_SUBTYPE_GFX_EDID)
    return "is the EDID region";
  if (region->type == VFIO_REGION_TYPE_CCW)
    return "is a CCW (s390 channel I/O) region";
  if (region->type == VFIO_REGION_TYPE_MIGRATION_DEPRECATED)
    return "is a migration region";
  if (!(region->type & PCI_VENDOR_TYPE_BIT))
    return NULL;
  if (vendor == 0x8086
      && region->subtype >= VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION
      && region->subtype <= VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG)
    return "is an Intel IGD OpRegion or config region";
  if (vendor == 0x10de
      && region->subtype == VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM)
    return "is NVIDIA NVLink2 RAM";
  if (vendor == 0x1014
      && region->subtype == VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD)
    return "is an IBM NVLink2 ATSD region";
  return NULL;
}

/* A display region: not labelled as anything else, mappable, and large
 * enough for the plane. The plane's index is the guest's word (or the
 * vendor driver's): a bad one rejects the frame. */
static gboolean
check_region (const GstVfioPlane * plane, const GstVfioRegionInfo * region,
    GError ** error)
{
  const gchar *other = non_display_type (region);
  g_autofree gchar *why = NULL;

  if (other)
    return reject (error, region->index, other);
  if (!(region->flags & VFIO_REGION_INFO_FLAG_MMAP))
    return reject (error, region->index, "cannot be mapped");
  if (plane->size > region->size) {
    why = g_strdup_printf ("holds %" G_GUINT64_FORMAT " bytes, less than "
        "the plane's %u", region->size, plane->size);
    return reject (error, region->index, why);
  }
  return TRUE;
}

/* The region of @plane; one the device does not have rejects the frame. */
static gboolean
get_region (GstVfioDevice * device, const GstVfioPlane * plane,
    GstVfioRegionInfo * region, GError ** error)
{
  GError *local = NULL;

  if (gst_vfio_device_get_region_info (device, plane->id, region, &local))
    return TRUE;
  if (g_error_matches (local, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND)) {
    g_clear_error (&local);
    return reject (error, plane->id, "is not reported by the device");
  }
  g_propagate_error (error, local);
  return FALSE;
}

/**
 * gst_vfio_region_map_plane:
 * @device: the device
 * @plane: a validated region plane
 * @error: why it failed: %GST_VFIO_ERROR_REJECTED when @plane names no
 *   display region of @device (one the device does not report, one it
 *   labels as another kind, one that cannot be mapped or is too small)
 *
 * Maps the region that holds @plane, read-only. The mapping belongs to the
 * returned memory and goes when the last buffer holding it is freed. The
 * guest keeps drawing into it: readers may see a frame being drawn
 * (tearing), as with any region plane.
 *
 * Returns: (transfer full) (nullable): a memory of @plane->size bytes
 */
GstMemory *
gst_vfio_region_map_plane (GstVfioDevice * device, const GstVfioPlane * plane,
    GError ** error)
{
  GstVfioRegionInfo region;
  RegionMapping *mapping;
  gpointer data;

  g_return_val_if_fail (plane->type == GST_VFIO_PLANE_TYPE_REGION, NULL);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_region_debug, "vfioregion", 0,
      "VFIO region planes");

  if (!get_region (device, plane, &region, error)
      || !check_region (plane, &region, error))
    return NULL;

  data = mmap (NULL, plane->size, PROT_READ, MAP_SHARED,
      gst_vfio_device_get_fd (device), region.offset);
  if (data == MAP_FAILED) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not map region %u: %s", region.index, g_strerror (errno));
    return NULL;
  }

  mapping = g_new0 (RegionMapping, 1);
  mapping->data = data;
  mapping->size = plane->size;
  GST_DEBUG ("mapped region %u, %u bytes at %p", region.index, plane->size,
      data);
  return gst_memory_new_wrapped (GST_MEMORY_FLAG_READONLY, data,
      plane->size, 0, plane->size, mapping,
      (GDestroyNotify) region_mapping_free);
}
