/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>

G_BEGIN_DECLS

/* Limits on guest-supplied plane values (see docs/security.md). */
#define GST_VFIO_PLANE_MAX_WIDTH 16384
#define GST_VFIO_PLANE_MAX_HEIGHT 16384
#define GST_VFIO_PLANE_MAX_STRIDE (256 * 1024)

/**
 * GstVfioPlaneKind:
 * @GST_VFIO_PLANE_PRIMARY: the primary (framebuffer) plane
 * @GST_VFIO_PLANE_CURSOR: the cursor plane
 *
 * Values are DRM_PLANE_TYPE_*, as the uAPI takes them.
 */
typedef enum
{
  GST_VFIO_PLANE_PRIMARY = 1,
  GST_VFIO_PLANE_CURSOR = 2,
} GstVfioPlaneKind;

/**
 * GstVfioPlaneTypes:
 * @GST_VFIO_PLANE_TYPE_NONE: no display support
 * @GST_VFIO_PLANE_TYPE_DMABUF: planes are exported as dma-bufs
 * @GST_VFIO_PLANE_TYPE_REGION: planes live in a VFIO region
 */
typedef enum
{
  GST_VFIO_PLANE_TYPE_NONE = 0,
  GST_VFIO_PLANE_TYPE_DMABUF = 1 << 0,
  GST_VFIO_PLANE_TYPE_REGION = 1 << 1,
} GstVfioPlaneTypes;

/**
 * GstVfioPlane:
 * @kind: primary or cursor
 * @type: how the framebuffer is reached (dma-buf or region)
 * @present: %FALSE when the device answered with an all-zero plane
 *   (display off, guest still booting); the other fields are then zero
 * @fourcc: DRM fourcc
 * @modifier: DRM format modifier
 * @width: width in pixels
 * @height: height in pixels
 * @stride: bytes per line
 * @size: bytes of the framebuffer
 * @x: cursor position
 * @y: cursor position
 * @x_hot: cursor hotspot, %G_MAXUINT32 when unknown
 * @y_hot: cursor hotspot, %G_MAXUINT32 when unknown
 * @id: the dma-buf id or the region index
 *
 * One answer of VFIO_DEVICE_QUERY_GFX_PLANE. Every value comes from the
 * guest: check it with gst_vfio_plane_validate() before use.
 */
typedef struct
{
  GstVfioPlaneKind kind;
  GstVfioPlaneTypes type;
  gboolean present;
  guint32 fourcc;
  guint64 modifier;
  guint32 width;
  guint32 height;
  guint32 stride;
  guint32 size;
  guint32 x;
  guint32 y;
  guint32 x_hot;
  guint32 y_hot;
  guint32 id;
} GstVfioPlane;

GST_VFIO_API
gboolean gst_vfio_plane_validate (const GstVfioPlane * plane, GError ** error);

GST_VFIO_API
gboolean gst_vfio_plane_fits (const GstVfioPlane * plane,
    guint64 backing_size, GError ** error);

GST_VFIO_API
gboolean gst_vfio_plane_same_layout (const GstVfioPlane * a,
    const GstVfioPlane * b);

G_END_DECLS
