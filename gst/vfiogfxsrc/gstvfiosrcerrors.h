/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/vfio/vfio.h>

G_BEGIN_DECLS

void gst_vfio_src_post_error (GstElement * element, const GError * error);

void gst_vfio_src_post_not_negotiated (GstElement * element,
    const GstVfioPlane * plane, GstCaps * offered);

void gst_vfio_src_post_unmappable (GstElement * element);

G_END_DECLS
