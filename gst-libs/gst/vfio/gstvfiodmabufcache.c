/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dma-bufs of a device, by dmabuf_id.
 *
 * Each id is exported once and wrapped in one GstMemory that is handed out
 * again every time the guest shows that framebuffer, so importers that cache
 * per memory (VA keeps its surface as qdata on it) import once. Memories of
 * earlier modes stay too: a guest that switches back shows the old ids.
 *
 * What was exported belongs to the open device file, not to one cache: every
 * cache on a device that uses the same file (several elements on one
 * adopted fd, an element started again) shares one export table, so no id
 * is exported twice by this process while the file is open.
 *
 * The export policy of the device decides what happens past the bound:
 *  - GST_VFIO_EXPORT_ONCE (mbochs, and every exporter not known to be
 *    safe): an exported id is kept until the device file closes, because
 *    exporting it again corrupts kernel memory on mbochs (FACTS.md). A new
 *    id past the bound is refused (GST_VFIO_ERROR_REJECTED), never made
 *    room for.
 *  - GST_VFIO_EXPORT_REPEATABLE (GVT-g, which makes a new object per
 *    export): the least recently seen id that no buffer holds is dropped,
 *    and exported again should it come back.
 *
 * An export the device refuses for good (mbochs: a framebuffer that does
 * not start on a page) is remembered and refused again without an ioctl.
 * Refused ids are entries too and count against the same bound, so a guest
 * cannot grow the table by showing one refused framebuffer after another.
 * Where re-exports are safe they are dropped like idle memories, and tried
 * again a second after they were made (GVT-g refuses an id whose object
 * went away and hands the number out again, for another framebuffer); on
 * an export-once device they stay, as the exports do.
 *
 * The GstDmaBufAllocator owns each fd: it closes it when the last buffer
 * holding the memory is gone. Thread-safe: the table has its own lock.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiodmabufcache.h"
#include "gstvfioerror.h"
#include "gstvfioledger.h"
#include "gstvfio-private.h"

#include <errno.h>
#include <gst/allocators/allocators.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_dmabuf_cache_debug);
#define GST_CAT_DEFAULT gst_vfio_dmabuf_cache_debug

/* How long a refusal stands where re-exports are safe: one try a second
 * for a framebuffer the guest keeps showing. */
#define REFUSAL_LIFETIME G_TIME_SPAN_SECOND

typedef struct
{
  guint32 id;
  GstMemory *memory;            /* NULL: the device refused to export it */
  gchar *refusal;
  gint64 refused_at;            /* monotonic time of the refusal */
  guint64 size;
  guint64 last_seen;
} CacheEntry;

struct _GstVfioExportTable
{
  GMutex lock;
  GstVfioExportPolicy policy;
  GstAllocator *allocator;
  GHashTable *entries;
  guint exported;               /* entries with a memory */
  guint64 clock;
  GstVfioLedger *ledger;        /* exports of other processes, or NULL */
};

struct _GstVfioDmabufCache
{
  GstVfioDevice *device;
  GstVfioExportTable *table;
  guint max_entries;
  /* The last hit, for the steady state (the guest shows the same buffer
   * again) without the table's lock: its reference keeps it out of
   * eviction. */
  guint32 last_id;
  GstMemory *last_memory;
  guint64 last_size;
};

static void
cache_entry_free (CacheEntry * entry)
{
  if (entry->memory)
    gst_memory_unref (entry->memory);
  g_free (entry->refusal);
  g_free (entry);
}

static void
ensure_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_dmabuf_cache_debug, "vfiodmabufcache",
        0, "VFIO dma-buf cache");
    g_once_init_leave (&done, 1);
  }
}

GstVfioExportTable *
gst_vfio_export_table_new (GstVfioExportPolicy policy)
{
  GstVfioExportTable *table = g_new0 (GstVfioExportTable, 1);

  ensure_debug ();
  g_mutex_init (&table->lock);
  table->policy = policy;
  table->allocator = gst_dmabuf_allocator_new ();
  table->entries = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) cache_entry_free);
  return table;
}

void
gst_vfio_export_table_free (GstVfioExportTable * table)
{
  if (!table)
    return;
  GST_DEBUG ("dropping %u exported dma-bufs", table->exported);
  g_hash_table_unref (table->entries);
  gst_vfio_ledger_free (table->ledger);
  gst_object_unref (table->allocator);
  g_mutex_clear (&table->lock);
  g_free (table);
}

/* Exports of other processes on the same device count too: @ledger (taken)
 * says which ids they exported. */
void
gst_vfio_export_table_set_ledger (GstVfioExportTable * table,
    GstVfioLedger * ledger)
{
  g_mutex_lock (&table->lock);
  gst_vfio_ledger_free (table->ledger);
  table->ledger = ledger;
  g_mutex_unlock (&table->lock);
}

gboolean
gst_vfio_export_table_has_exports (GstVfioExportTable * table)
{
  gboolean any;

  g_mutex_lock (&table->lock);
  any = table->exported > 0;
  g_mutex_unlock (&table->lock);
  return any;
}

/**
 * gst_vfio_dmabuf_cache_new:
 * @device: the device whose dma-bufs are looked up
 * @max_entries: how many ids the device file may keep, exported or
 *   refused, e.g. %GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE (see the export
 *   policy for what happens past it)
 *
 * Returns: (transfer full): a cache on the export table of @device's file
 */
GstVfioDmabufCache *
gst_vfio_dmabuf_cache_new (GstVfioDevice * device, guint max_entries)
{
  GstVfioDmabufCache *cache;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (device), NULL);
  g_return_val_if_fail (max_entries > 0, NULL);

  ensure_debug ();
  cache = g_new0 (GstVfioDmabufCache, 1);
  cache->device = gst_object_ref (device);
  cache->table = gst_vfio_device_get_export_table (device);
  cache->max_entries = max_entries;
  return cache;
}

/**
 * gst_vfio_dmabuf_cache_free:
 *
 * Frees the cache. What it exported stays with the device file (see the
 * export policy): another cache on the same file finds it again.
 */
void
gst_vfio_dmabuf_cache_free (GstVfioDmabufCache * cache)
{
  if (!cache)
    return;
  if (cache->last_memory)
    gst_memory_unref (cache->last_memory);
  gst_object_unref (cache->device);
  g_free (cache);
}

/**
 * gst_vfio_dmabuf_cache_get_size:
 *
 * Returns: how many exported dma-bufs the device file keeps
 */
guint
gst_vfio_dmabuf_cache_get_size (GstVfioDmabufCache * cache)
{
  guint size;

  g_return_val_if_fail (cache != NULL, 0);
  g_mutex_lock (&cache->table->lock);
  size = cache->table->exported;
  g_mutex_unlock (&cache->table->lock);
  return size;
}

GstVfioExportPolicy
gst_vfio_dmabuf_cache_get_policy (GstVfioDmabufCache * cache)
{
  g_return_val_if_fail (cache != NULL, GST_VFIO_EXPORT_ONCE);
  return cache->table->policy;
}

/* A refusal, or a memory that only the table holds: no buffer anywhere
 * references it. */
static gboolean
entry_is_idle (const CacheEntry * entry)
{
  return !entry->memory
      || GST_MINI_OBJECT_REFCOUNT_VALUE (entry->memory) == 1;
}

/* Repeatable exports only: drops the least recently seen idle entry (a
 * refusal or a memory); FALSE when none is idle. */
static gboolean
evict_one (GstVfioExportTable * table)
{
  GHashTableIter iter;
  CacheEntry *entry, *oldest = NULL;

  g_hash_table_iter_init (&iter, table->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) & entry)) {
    if (entry_is_idle (entry)
        && (!oldest || entry->last_seen < oldest->last_seen))
      oldest = entry;
  }

  if (!oldest) {
    GST_WARNING ("all %u exported dma-bufs are in use downstream",
        table->exported);
    return FALSE;
  }
  GST_DEBUG ("evicting %s id %u", oldest->memory ? "dma-buf" : "refused",
      oldest->id);
  if (oldest->memory)
    table->exported--;
  g_hash_table_remove (table->entries, GUINT_TO_POINTER (oldest->id));
  return TRUE;
}

/* Whether a new id may take an entry (exported or refused); makes room
 * where the policy allows. */
static gboolean
make_room (GstVfioDmabufCache * cache, guint32 id, GError ** error)
{
  GstVfioExportTable *table = cache->table;
  guint entries = g_hash_table_size (table->entries);

  if (table->policy == GST_VFIO_EXPORT_REPEATABLE) {
    /* Entries kept past the bound while in use go once they are idle. */
    while (g_hash_table_size (table->entries) >= cache->max_entries
        && evict_one (table));
    return TRUE;
  }
  if (entries < cache->max_entries)
    return TRUE;
  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
      "The guest shows framebuffer %u after %u others (%u exported, %u "
      "refused), the most this device's exporter allows (it must not export "
      "a framebuffer twice, so none is dropped). Raise max-framebuffers.",
      id, entries, table->exported, entries - table->exported);
  return FALSE;
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
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        "dma-buf %u has no size: %s", id,
        size < 0 ? g_strerror (errno) : "empty");
    close (fd);
    return NULL;
  }

  entry = g_new0 (CacheEntry, 1);
  entry->id = id;
  entry->size = size;
  entry->memory = gst_dmabuf_allocator_alloc (cache->table->allocator, fd,
      size);
  /* The guest owns the pixels: nobody downstream may write them. */
  GST_MINI_OBJECT_FLAG_SET (entry->memory, GST_MEMORY_FLAG_READONLY);
  GST_DEBUG ("dma-buf id %u: fd %d, %" G_GUINT64_FORMAT " bytes", id, fd,
      entry->size);
  return entry;
}

/* An id the device refuses for good: remembered, so that it costs no ioctl
 * and no second try. */
static CacheEntry *
refused_entry (guint32 id, const GError * error)
{
  CacheEntry *entry = g_new0 (CacheEntry, 1);

  entry->id = id;
  entry->refusal = g_strdup (error->message);
  entry->refused_at = g_get_monotonic_time ();
  return entry;
}

/* Where re-exports are safe, an old refusal is forgotten: the number may
 * name another framebuffer by now. */
static gboolean
refusal_expired (const GstVfioExportTable * table, const CacheEntry * entry)
{
  return !entry->memory && table->policy == GST_VFIO_EXPORT_REPEATABLE
      && g_get_monotonic_time () - entry->refused_at >= REFUSAL_LIFETIME;
}

static CacheEntry *
find_or_export (GstVfioDmabufCache * cache, guint32 id, gboolean * exported,
    GError ** error)
{
  GstVfioExportTable *table = cache->table;
  GError *failure = NULL;
  CacheEntry *entry;

  entry = g_hash_table_lookup (table->entries, GUINT_TO_POINTER (id));
  if (entry && refusal_expired (table, entry)) {
    GST_DEBUG ("trying refused id %u again", id);
    g_hash_table_remove (table->entries, GUINT_TO_POINTER (id));
    entry = NULL;
  }
  if (entry)
    return entry;
  if (!make_room (cache, id, error))
    return NULL;

  if (table->ledger && !gst_vfio_ledger_claim (table->ledger, id)) {
    g_set_error (&failure, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        "Framebuffer %u of this VM was exported by another capture process "
        "since the VM started: this device must not export it twice (that "
        "corrupts host memory). It is captured again once the VM restarts "
        "or shows another framebuffer.", id);
    entry = refused_entry (id, failure);
    g_clear_error (&failure);
    g_hash_table_insert (table->entries, GUINT_TO_POINTER (id), entry);
    return entry;
  }

  entry = export_entry (cache, id, &failure);
  if (!entry && g_error_matches (failure, GST_VFIO_ERROR,
          GST_VFIO_ERROR_REJECTED))
    entry = refused_entry (id, failure);
  if (!entry) {
    g_propagate_error (error, failure);
    return NULL;
  }
  g_clear_error (&failure);

  g_hash_table_insert (table->entries, GUINT_TO_POINTER (id), entry);
  if (entry->memory) {
    table->exported++;
    *exported = TRUE;
  }
  return entry;
}

/**
 * gst_vfio_dmabuf_cache_lookup:
 * @plane: a validated dma-buf plane
 * @exported: (out) (optional): set to %TRUE when this call exported the id
 * @error: %GST_VFIO_ERROR_REJECTED when the plane does not fit its dma-buf,
 *   when the device (or another process's export of the id) refuses the
 *   export, or when a new id is past the bound of an export-once device;
 *   else what the export failed with
 *
 * Returns: (transfer full) (nullable): the memory for @plane's dmabuf_id,
 * the same one every time
 */
GstMemory *
gst_vfio_dmabuf_cache_lookup (GstVfioDmabufCache * cache,
    const GstVfioPlane * plane, gboolean * exported, GError ** error)
{
  GstVfioExportTable *table;
  GstMemory *memory = NULL;
  gboolean did_export = FALSE;
  CacheEntry *entry;

  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (plane->type == GST_VFIO_PLANE_TYPE_DMABUF, NULL);

  if (exported)
    *exported = FALSE;
  if (cache->last_memory && plane->id == cache->last_id) {
    if (!gst_vfio_plane_fits (plane, cache->last_size, error))
      return NULL;
    return gst_memory_ref (cache->last_memory);
  }
  /* Another id: the last hit must not look in use to the eviction. */
  gst_clear_mini_object ((GstMiniObject **) & cache->last_memory);

  table = cache->table;
  g_mutex_lock (&table->lock);
  entry = find_or_export (cache, plane->id, &did_export, error);
  if (!entry)
    goto done;
  entry->last_seen = ++table->clock;

  if (!entry->memory)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        "%s", entry->refusal);
  /* Kept even when it does not fit: the id must not be exported again. */
  else if (gst_vfio_plane_fits (plane, entry->size, error)) {
    memory = gst_memory_ref (entry->memory);
    gst_mini_object_replace ((GstMiniObject **) & cache->last_memory,
        (GstMiniObject *) memory);
    cache->last_id = entry->id;
    cache->last_size = entry->size;
  }

done:
  g_mutex_unlock (&table->lock);
  if (exported)
    *exported = did_export;
  return memory;
}
