/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfioplane.h>

G_BEGIN_DECLS

/**
 * GstVfioRegionInfo:
 * @index: the region index
 * @flags: VFIO_REGION_INFO_FLAG_*
 * @offset: offset of the region in the device fd
 * @size: size of the region in bytes
 */
typedef struct
{
  guint index;
  guint32 flags;
  guint64 offset;
  guint64 size;
} GstVfioRegionInfo;

/**
 * GstVfioEdidInfo:
 * @region: the EDID region
 * @edid_offset: offset of the EDID blob within the region
 * @edid_max_size: room for the EDID blob
 * @edid_size: size of the current blob
 * @max_xres: largest width the device can show (0: no limit given)
 * @max_yres: largest height the device can show (0: no limit given)
 * @link_state: 1 up, 2 down (mbochs starts at 0: never set by a VMM)
 */
typedef struct
{
  GstVfioRegionInfo region;
  guint32 edid_offset;
  guint32 edid_max_size;
  guint32 edid_size;
  guint32 max_xres;
  guint32 max_yres;
  guint32 link_state;
} GstVfioEdidInfo;

#define GST_TYPE_VFIO_DEVICE (gst_vfio_device_get_type ())
GST_VFIO_API
G_DECLARE_FINAL_TYPE (GstVfioDevice, gst_vfio_device, GST, VFIO_DEVICE,
    GstObject);

GST_VFIO_API
GstVfioDevice *gst_vfio_device_open (const gchar * device,
    GError ** error) G_GNUC_WARN_UNUSED_RESULT;

GST_VFIO_API
GstVfioDevice *gst_vfio_device_new_from_fd (gint fd,
    GError ** error) G_GNUC_WARN_UNUSED_RESULT;

GST_VFIO_API
gint gst_vfio_device_get_fd (GstVfioDevice * self);

GST_VFIO_API
const gchar *gst_vfio_device_get_description (GstVfioDevice * self);

GST_VFIO_API
GstVfioPlaneTypes gst_vfio_device_probe_planes (GstVfioDevice * self,
    GError ** error);

GST_VFIO_API
gboolean gst_vfio_device_query_plane (GstVfioDevice * self,
    GstVfioPlaneKind kind, GstVfioPlane * plane, GError ** error);

GST_VFIO_API
gint gst_vfio_device_export_dmabuf (GstVfioDevice * self, guint32 dmabuf_id,
    GError ** error);

GST_VFIO_API
gboolean gst_vfio_device_get_region_info (GstVfioDevice * self, guint index,
    GstVfioRegionInfo * info, GError ** error);

GST_VFIO_API
gboolean gst_vfio_device_get_edid_info (GstVfioDevice * self,
    GstVfioEdidInfo * info, GError ** error);

G_END_DECLS
