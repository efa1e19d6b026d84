/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfiodevice.h>

G_BEGIN_DECLS

/* Far above triple buffering times a few modes; a guest panning through
 * a tall virtual framebuffer shows a few dozen. */
#define GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE 64

typedef struct _GstVfioDmabufCache GstVfioDmabufCache;

GST_VFIO_API
GstVfioDmabufCache *gst_vfio_dmabuf_cache_new (GstVfioDevice * device,
    guint max_entries) G_GNUC_WARN_UNUSED_RESULT;

GST_VFIO_API
void gst_vfio_dmabuf_cache_free (GstVfioDmabufCache * cache);

GST_VFIO_API
GstMemory *gst_vfio_dmabuf_cache_lookup (GstVfioDmabufCache * cache,
    const GstVfioPlane * plane, gboolean * exported, GError ** error);

GST_VFIO_API
guint gst_vfio_dmabuf_cache_get_size (GstVfioDmabufCache * cache);

GST_VFIO_API
GstVfioExportPolicy gst_vfio_dmabuf_cache_get_policy (GstVfioDmabufCache *
    cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstVfioDmabufCache, gst_vfio_dmabuf_cache_free)

G_END_DECLS
