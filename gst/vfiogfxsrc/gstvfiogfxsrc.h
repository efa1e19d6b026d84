/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

/**
 * GstVfioGfxSrcCaptureMode:
 * @GST_VFIO_GFX_SRC_CAPTURE_EVERY_TICK: a frame at every tick of the
 *   negotiated framerate (constant rate, for encoders)
 * @GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE: poll at the framerate, push only when
 *   the guest shows another framebuffer or mode
 */
typedef enum
{
  GST_VFIO_GFX_SRC_CAPTURE_EVERY_TICK,
  GST_VFIO_GFX_SRC_CAPTURE_ON_CHANGE,
} GstVfioGfxSrcCaptureMode;

#define GST_TYPE_VFIO_GFX_SRC_CAPTURE_MODE \
  (gst_vfio_gfx_src_capture_mode_get_type ())
GType gst_vfio_gfx_src_capture_mode_get_type (void);

#define GST_TYPE_VFIO_GFX_SRC (gst_vfio_gfx_src_get_type ())
G_DECLARE_FINAL_TYPE (GstVfioGfxSrc, gst_vfio_gfx_src, GST, VFIO_GFX_SRC,
    GstPushSrc);

GST_ELEMENT_REGISTER_DECLARE (vfiogfxsrc);

G_END_DECLS
