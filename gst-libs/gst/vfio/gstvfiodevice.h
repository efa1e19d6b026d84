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
 * @type: the VFIO_REGION_TYPE_* of its type capability, 0 without one
 * @subtype: the VFIO_REGION_SUBTYPE_* of its type capability
 */
typedef struct
{
  guint index;
  guint32 flags;
  guint64 offset;
  guint64 size;
  guint32 type;
  guint32 subtype;
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

/**
 * GstVfioExportPolicy:
 * @GST_VFIO_EXPORT_ONCE: each dmabuf_id may be exported once while the
 *   device is open: exporting it again corrupts kernel memory (mbochs).
 *   What is exported is kept until the device file closes. The default for
 *   every exporter not known to be safe.
 * @GST_VFIO_EXPORT_REPEATABLE: every export makes a new kernel object, so
 *   an id may be dropped and exported again (Intel GVT-g)
 *
 * How often the device's exporter allows a framebuffer to be exported.
 */
typedef enum
{
  GST_VFIO_EXPORT_ONCE,
  GST_VFIO_EXPORT_REPEATABLE,
} GstVfioExportPolicy;

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
GstVfioExportPolicy gst_vfio_device_get_export_policy (GstVfioDevice * self);

GST_VFIO_API
gboolean gst_vfio_device_is_adopted (GstVfioDevice * self);

GST_VFIO_API
gboolean gst_vfio_device_removal_requested (GstVfioDevice * self);

GST_VFIO_API
guint gst_vfio_device_close_unused (void);

GST_VFIO_API
GstVfioDevice *gst_vfio_device_borrow (const gchar * device, gint vmm_pid,
    GError ** error) G_GNUC_WARN_UNUSED_RESULT;

GST_VFIO_API
gboolean gst_vfio_device_watch_holder (GstVfioDevice * self, gint pid,
    GError ** error);

GST_VFIO_API
gboolean gst_vfio_device_holder_exited (GstVfioDevice * self);

GST_VFIO_API
gboolean gst_vfio_device_is_ending (GstVfioDevice * self);

GST_VFIO_API
gint gst_vfio_device_get_holder_pid (GstVfioDevice * self);

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
