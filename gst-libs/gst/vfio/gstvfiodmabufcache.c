/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dma-bufs of a device, by dmabuf_id.
 *
 * Each id is exported once and wrapped in one GstMemory that is handed out
 * again every time the guest shows that framebuffer, so importers that cache
 * per memory (VA keeps its surface as qdata on it) import once. Memories of
 * earlier modes stay too: a guest that switches back shows the old ids.
 *
 * One export per id is also what keeps the exporters safe: mbochs corrupts
 * kernel memory when a live id is exported again and when an id is exported
 * again after its fd was closed. Eviction (past max_entries, least recently
 * seen first) therefore only drops memories nobody else holds, and a
 * re-export happens only for an id evicted long ago.
 *
 * The GstDmaBufAllocator owns each fd: it closes it when the last buffer
 * holding the memory is gone. Not thread-safe: one streaming thread uses it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiodmabufcache.h"
#include "gstvfioerror.h"

#include <errno.h>
#include <gst/allocators/allocators.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_dmabuf_cache_debug);
#define GST_CAT_DEFAULT gst_vfio_dmabuf_cache_debug

typedef struct
{
  guint32 id;
  GstMemory *memory;
  guint64 size;
  guint64 last_seen;
} CacheEntry;

struct _GstVfioDmabufCache
{
  GstVfioDevice *device;
  GstAllocator *allocator;
  GHashTable *entries;
  guint max_entries;
  guint64 clock;
};

static void
cache_entry_free (CacheEntry * entry)
{
  gst_memory_unref (entry->memory);
  g_free (entry);
}

/**
 * gst_vfio_dmabuf_cache_new:
 * @device: the device whose dma-bufs are cached
 * @max_entries: how many ids to keep, e.g.
 *   %GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE
 *
 * Returns: (transfer full): a new cache
 */
GstVfioDmabufCache *
gst_vfio_dmabuf_cache_new (GstVfioDevice * device, guint max_entries)
{
  GstVfioDmabufCache *cache;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (device), NULL);
  g_return_val_if_fail (max_entries > 0, NULL);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_dmabuf_cache_debug, "vfiodmabufcache", 0,
      "VFIO dma-buf cache");

  cache = g_new0 (GstVfioDmabufCache, 1);
  cache->device = gst_object_ref (device);
  cache->allocator = gst_dmabuf_allocator_new ();
  cache->entries = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) cache_entry_free);
  cache->max_entries = max_entries;
  return cache;
}

void
gst_vfio_dmabuf_cache_free (GstVfioDmabufCache * cache)
{
  if (!cache)
    return;
  g_hash_table_unref (cache->entries);
  gst_object_unref (cache->allocator);
  gst_object_unref (cache->device);
  g_free (cache);
}

/**
 * gst_vfio_dmabuf_cache_clear:
 *
 * Drops every memory. Memories still in buffers keep their fds until those
 * buffers are freed.
 */
void
gst_vfio_dmabuf_cache_clear (GstVfioDmabufCache * cache)
{
  g_return_if_fail (cache != NULL);
  g_hash_table_remove_all (cache->entries);
}

guint
gst_vfio_dmabuf_cache_get_size (GstVfioDmabufCache * cache)
{
  g_return_val_if_fail (cache != NULL, 0);
  return g_hash_table_size (cache->entries);
}

/* Only the cache holds it: no buffer anywhere references the memory. */
static gboolean
entry_is_idle (const CacheEntry * entry)
{
  return GST_MINI_OBJECT_REFCOUNT_VALUE (entry->memory) == 1;
}

/* Drops the least recently seen idle entry; FALSE when none is idle. */
static gboolean
evict_one (GstVfioDmabufCache * cache)
{
  GHashTableIter iter;
  CacheEntry *entry, *oldest = NULL;

  g_hash_table_iter_init (&iter, cache->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & entry)) {
    if (entry_is_idle (entry)
        && (!oldest || entry->last_seen < oldest->last_seen))
      oldest = entry;
  }

  if (!oldest) {
    GST_WARNING ("all %u cached dma-bufs are in use downstream: keeping "
        "more than %u", g_hash_table_size (cache->entries), cache->max_entries);
    return FALSE;
  }
  GST_DEBUG ("evicting dma-buf id %u", oldest->id);
  g_hash_table_remove (cache->entries, GUINT_TO_POINTER (oldest->id));
  return TRUE;
}

static CacheEntry *
export_entry (GstVfioDmabufCache * cache, guint32 id, GError ** error)
{
  CacheEntry *entry;
  off_t size;
  gint fd;

  fd = gst_vfio_device_export_dmabuf (cache->device, id, error);
  if (fd < 0)
    return NULL;

  /* The real size bounds what the guest may claim for the plane. */
  size = lseek (fd, 0, SEEK_END);
  if (size <= 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "dma-buf %u has no size: %s", id,
        size < 0 ? g_strerror (errno) : "empty");
    close (fd);
    return NULL;
  }

  entry = g_new0 (CacheEntry, 1);
  entry->id = id;
  entry->size = size;
  entry->memory = gst_dmabuf_allocator_alloc (cache->allocator, fd, size);
  /* The guest owns the pixels: nobody downstream may write them. */
  GST_MINI_OBJECT_FLAG_SET (entry->memory, GST_MEMORY_FLAG_READONLY);
  GST_DEBUG ("dma-buf id %u: fd %d, %" G_GUINT64_FORMAT " bytes", id, fd,
      entry->size);
  return entry;
}

/**
 * gst_vfio_dmabuf_cache_lookup:
 * @plane: a validated dma-buf plane
 * @exported: (out) (optional): set to %TRUE when this call exported the id
 * @error: %GST_VFIO_ERROR_REJECTED when the plane does not fit its dma-buf,
 *   or what the export failed with
 *
 * Returns: (transfer full) (nullable): the memory for @plane's dmabuf_id,
 * the same one every time
 */
GstMemory *
gst_vfio_dmabuf_cache_lookup (GstVfioDmabufCache * cache,
    const GstVfioPlane * plane, gboolean * exported, GError ** error)
{
  CacheEntry *entry;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (plane->type == GST_VFIO_PLANE_TYPE_DMABUF, NULL);

  if (exported)
    *exported = FALSE;

  entry = g_hash_table_lookup (cache->entries, GUINT_TO_POINTER (plane->id));
  if (!entry) {
    /* Entries kept past the bound while in use go once they are idle. */
    while (g_hash_table_size (cache->entries) >= cache->max_entries) {
      if (!evict_one (cache))
        break;
    }
    entry = export_entry (cache, plane->id, error);
    if (!entry)
      return NULL;
    g_hash_table_insert (cache->entries, GUINT_TO_POINTER (plane->id), entry);
    if (exported)
      *exported = TRUE;
  }
  entry->last_seen = ++cache->clock;

  /* Kept even when it does not fit: the id must not be exported again. */
  if (!gst_vfio_plane_fits (plane, entry->size, error))
    return NULL;
  return gst_memory_ref (entry->memory);
}
