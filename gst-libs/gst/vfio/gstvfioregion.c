/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Region planes (mdpy, NVIDIA vGPU): the framebuffer is a region of the
 * device fd. It is mapped, never read with pread(): both kernel samples
 * get the offsets of pread/pwrite on these regions wrong.
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
check_region (const GstVfioPlane * plane, const GstVfioRegionInfo * region,
    GError ** error)
{
  if (!(region->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "Region %u holding the framebuffer cannot be mapped", region->index);
    return FALSE;
  }
  return gst_vfio_plane_fits (plane, region->size, error);
}

/**
 * gst_vfio_region_map_plane:
 * @device: the device
 * @plane: a validated region plane
 * @error: why it failed
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

  if (!gst_vfio_device_get_region_info (device, plane->id, &region, error)
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
