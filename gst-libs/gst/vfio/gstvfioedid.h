/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>

G_BEGIN_DECLS

/* The base block is all a GVT-g vGPU takes (its edid_max_size is 128). */
#define GST_VFIO_EDID_BLOCK_SIZE 128

/* What one EDID detailed timing can describe. */
#define GST_VFIO_EDID_MAX_WIDTH 4095
#define GST_VFIO_EDID_MAX_HEIGHT 4095
#define GST_VFIO_EDID_MIN_REFRESH 24
#define GST_VFIO_EDID_MAX_REFRESH 240
#define GST_VFIO_EDID_DEFAULT_REFRESH 60

/**
 * GstVfioEdidMode:
 * @width: active pixels per line
 * @height: active lines
 * @refresh: vertical refresh rate in Hz
 *
 * The mode a generated EDID offers as its preferred timing.
 */
typedef struct
{
  guint width;
  guint height;
  guint refresh;

  /*< private >*/
  guint _reserved[4];
} GstVfioEdidMode;

/**
 * GstVfioEdidTiming:
 * @pixel_clock_khz: pixel clock in kHz, a multiple of 10 (the EDID's unit)
 * @h_active: active pixels per line
 * @h_front_porch: pixels between the active area and the sync pulse
 * @h_sync: sync pulse width in pixels
 * @h_back_porch: pixels after the sync pulse
 * @v_active: active lines
 * @v_front_porch: lines between the active area and the sync pulse
 * @v_sync: sync pulse in lines
 * @v_back_porch: lines after the sync pulse
 *
 * A CVT reduced-blanking (version 2) timing, as written in the EDID.
 */
typedef struct
{
  guint pixel_clock_khz;
  guint h_active;
  guint h_front_porch;
  guint h_sync;
  guint h_back_porch;
  guint v_active;
  guint v_front_porch;
  guint v_sync;
  guint v_back_porch;

  /*< private >*/
  guint _reserved[4];
} GstVfioEdidTiming;

GST_VFIO_API
gboolean gst_vfio_edid_mode_parse (const gchar * str, GstVfioEdidMode * mode,
    GError ** error);

GST_VFIO_API
gchar *gst_vfio_edid_mode_to_string (const GstVfioEdidMode * mode);

GST_VFIO_API
gboolean gst_vfio_edid_mode_equal (const GstVfioEdidMode * a,
    const GstVfioEdidMode * b);

GST_VFIO_API
gboolean gst_vfio_edid_compute_timing (const GstVfioEdidMode * mode,
    GstVfioEdidTiming * timing, GError ** error);

GST_VFIO_API
GBytes *gst_vfio_edid_generate (const GstVfioEdidMode * mode, gsize max_size,
    GError ** error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
