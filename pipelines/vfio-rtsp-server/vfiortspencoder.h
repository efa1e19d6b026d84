/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum
{
  VFIO_RTSP_ENCODER_AUTO,       /* VA where it exists, else x264 */
  VFIO_RTSP_ENCODER_VA,
  VFIO_RTSP_ENCODER_X264,
} VfioRtspEncoderKind;

typedef struct
{
  VfioRtspEncoderKind kind;
  guint fps;                    /* frames per second of every stream */
  guint bitrate;                /* kbit/s */
  guint key_interval;           /* frames between key frames */
} VfioRtspEncoding;

gboolean vfio_rtsp_encoder_parse (const gchar * name,
    VfioRtspEncoderKind * kind);

const gchar *vfio_rtsp_encoder_name (VfioRtspEncoderKind kind);

gboolean vfio_rtsp_encoder_resolve (VfioRtspEncoding * encoding,
    GError ** error);

gchar *vfio_rtsp_encoder_describe (const VfioRtspEncoding * encoding);

G_END_DECLS
