/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstVfioDmabufCache against the emulated mdev: one export and one GstMemory
 * per dmabuf_id, the bound on what it keeps, what it never evicts, and the
 * check of a plane against the real size of its dma-buf.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>
#include <vfioemu.h>

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>

#define UUID "4b20d080-1b54-4048-85b3-a6a62d165c01"
#define GROUP 7

/* Each test: one emulated mbochs, opened, its cache. */
static VfioEmuDevice *dev;
static GstVfioDevice *device;

/* The guest switches to an XR24 mode of @width x @height, tightly packed. */
static void
set_mode (guint32 width, guint32 height)
{
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, width,
      height, 0);
}

static void
setup (void)
{
  GError *error = NULL;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  fail_unless (dev != NULL);
  set_mode (640, 480);
  device = gst_vfio_device_open (UUID, &error);
  g_assert_no_error (error);
  fail_unless (device != NULL);
}

/* The same, an emulated GVT-g vGPU (re-exports allowed). */
static void
setup_gvtg (void)
{
  GError *error = NULL;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_personality (dev, VFIO_EMU_PERSONALITY_GVTG);
  set_mode (640, 480);
  device = gst_vfio_device_open (UUID, &error);
  g_assert_no_error (error);
  fail_unless (device != NULL);
}

static void
teardown (void)
{
  gst_clear_object (&device);
  vfio_emu_reset ();
  dev = NULL;
}

/* The cache has @n entries and @n dma-bufs of the device are open. */
static void
assert_entries (GstVfioDmabufCache * cache, guint n)
{
  fail_unless_equals_int (gst_vfio_dmabuf_cache_get_size (cache), n);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), n);
}

/* Looking @plane up fails with @code and, unless NULL, a message that
 * contains @needle. */
static void
assert_lookup_fails (GstVfioDmabufCache * cache, const GstVfioPlane * plane,
    gboolean * exported, gint code, const gchar * needle)
{
  GError *error = NULL;

  fail_unless (gst_vfio_dmabuf_cache_lookup (cache, plane, exported,
          &error) == NULL);
  g_assert_error (error, GST_VFIO_ERROR, code);
  if (needle)
    fail_unless (strstr (error->message, needle) != NULL, "%s", error->message);
  g_clear_error (&error);
}

static guint
exports (void)
{
  return vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_GFX_DMABUF);
}

/* The primary plane as the device shows it now, validated. */
static GstVfioPlane
query (void)
{
  GstVfioPlane plane;
  GError *error = NULL;

  fail_unless (gst_vfio_device_query_plane (device, GST_VFIO_PLANE_PRIMARY,
          &plane, &error));
  g_assert_no_error (error);
  fail_unless (plane.present);
  fail_unless_equals_int (plane.type, GST_VFIO_PLANE_TYPE_DMABUF);
  fail_unless (gst_vfio_plane_validate (&plane, &error));
  g_assert_no_error (error);
  return plane;
}

/* query(), and the plane shown is dmabuf_id @id. */
static GstVfioPlane
query_id (guint32 id)
{
  GstVfioPlane plane = query ();

  fail_unless_equals_int (plane.id, id);
  return plane;
}

static GstMemory *
lookup (GstVfioDmabufCache * cache, const GstVfioPlane * plane,
    gboolean * exported)
{
  GError *error = NULL;
  GstMemory *memory;

  memory = gst_vfio_dmabuf_cache_lookup (cache, plane, exported, &error);
  g_assert_no_error (error);
  fail_unless (memory != NULL, "no memory for id %u", plane->id);
  return memory;
}

/* Looks the shown plane up and releases the memory at once, as a consumer
 * that is done with the frame would. */
static GstMemory *
lookup_and_release (GstVfioDmabufCache * cache)
{
  GstVfioPlane plane = query ();
  GstMemory *memory = lookup (cache, &plane, NULL);

  gst_memory_unref (memory);
  return memory;
}

static void
check_pixels (GstMemory * memory, const GstVfioPlane * plane)
{
  GstMapInfo map;

  fail_unless (gst_memory_map (memory, &map, GST_MAP_READ));
  fail_unless (map.size >= plane->size);
  for (guint32 y = 0; y < plane->height; y++) {
    for (guint32 x = 0; x < plane->width; x++) {
      guint32 value;

      memcpy (&value, map.data + (gsize) y * plane->stride + x * 4, 4);
      if (value != vfio_emu_pixel (plane->id, x, y))
        fail ("id %u pixel %u,%u is 0x%08x, not 0x%08x", plane->id, x, y,
            value, vfio_emu_pixel (plane->id, x, y));
    }
  }
  gst_memory_unmap (memory, &map);
}

GST_START_TEST (test_same_id_same_memory)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device,
      GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE);
  GstVfioPlane plane = query ();
  GstMemory *mem, *again;
  gboolean exported = FALSE;

  mem = lookup (cache, &plane, &exported);
  fail_unless (exported);
  fail_unless_equals_int (exports (), 1);
  assert_entries (cache, 1);

  for (guint i = 0; i < 50; i++) {
    plane = query ();
    again = lookup (cache, &plane, &exported);
    fail_unless (again == mem, "lookup %u gave another memory", i);
    fail_if (exported);
    gst_memory_unref (again);
  }
  fail_unless_equals_int (exports (), 1);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  /* One ref from the export table, one from the cache's last hit, one
   * here. */
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (mem), 3);

  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
  /* The export belongs to the device file: it goes with the device. */
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* A dma-buf memory of the real dma-buf size, read-only. */
GST_START_TEST (test_memory_properties)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *mem = lookup (cache, &plane, NULL);
  GstMapInfo map;
  gsize size, offset, maxsize;
  gint fd;

  fail_unless (gst_is_dmabuf_memory (mem));
  fail_unless (GST_MEMORY_IS_READONLY (mem));
  fd = gst_dmabuf_memory_get_fd (mem);
  fail_unless (fd >= 0);
  fail_unless (fcntl (fd, F_GETFD) >= 0);
  size = gst_memory_get_sizes (mem, &offset, &maxsize);
  fail_unless_equals_int (size, 640 * 4 * 480);
  fail_unless_equals_int (offset, 0);
  fail_unless (size >= plane.size);

  fail_if (gst_memory_map (mem, &map, GST_MAP_WRITE));
  fail_unless (gst_memory_map (mem, &map, GST_MAP_READ));
  gst_memory_unmap (mem, &map);

  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

GST_START_TEST (test_pixels)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *mem = lookup (cache, &plane, NULL);

  fail_unless_equals_int (plane.id, 1);
  check_pixels (mem, &plane);
  gst_memory_unref (mem);

  /* The other buffer has its own pixels. */
  vfio_emu_flip (dev);
  plane = query_id (2);
  mem = lookup (cache, &plane, NULL);
  check_pixels (mem, &plane);
  gst_memory_unref (mem);

  /* A mode with a padded stride. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 800,
      600, 4096);
  plane = query ();
  fail_unless_equals_int (plane.stride, 4096);
  mem = lookup (cache, &plane, NULL);
  check_pixels (mem, &plane);
  gst_memory_unref (mem);

  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Double buffering: two ids, two exports, however long it runs. */
GST_START_TEST (test_flip)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device,
      GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE);
  GstMemory *mems[2];

  mems[0] = lookup_and_release (cache);
  vfio_emu_flip (dev);
  mems[1] = lookup_and_release (cache);
  fail_unless (mems[0] != mems[1]);

  for (guint i = 0; i < 100; i++) {
    vfio_emu_flip (dev);
    fail_unless (lookup_and_release (cache) == mems[i % 2]);
  }
  fail_unless_equals_int (exports (), 2);
  assert_entries (cache, 2);

  gst_vfio_dmabuf_cache_free (cache);
  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* A guest that switches mode and back shows its old ids again: nothing is
 * exported again (on mbochs that would corrupt kernel memory). */
GST_START_TEST (test_mode_change_and_back)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device,
      GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE);
  GstMemory *vga[2];

  vga[0] = lookup_and_release (cache);
  vfio_emu_flip (dev);
  vga[1] = lookup_and_release (cache);

  set_mode (1024, 768);
  query_id (3);
  lookup_and_release (cache);
  vfio_emu_flip (dev);
  lookup_and_release (cache);
  fail_unless_equals_int (exports (), 4);

  for (guint i = 0; i < 5; i++) {
    set_mode (640, 480);
    fail_unless (lookup_and_release (cache) == vga[0]);
    vfio_emu_flip (dev);
    fail_unless (lookup_and_release (cache) == vga[1]);
    set_mode (1024, 768);
    lookup_and_release (cache);
  }
  fail_unless_equals_int (exports (), 4);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 4);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Past max_entries an export-once device refuses new ids: nothing it
 * exported is dropped, so nothing is ever exported twice. */
GST_START_TEST (test_bound_export_once)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  gboolean exported;
  GstVfioPlane plane;
  GstMemory *mem;

  fail_unless_equals_int (gst_vfio_dmabuf_cache_get_policy (cache),
      GST_VFIO_EXPORT_ONCE);
  /* Two modes, two buffers each: ids 1..4, all released at once. */
  for (guint m = 0; m < 2; m++) {
    set_mode (640 + 64 * m, 480);
    lookup_and_release (cache);
    vfio_emu_flip (dev);
    lookup_and_release (cache);
  }
  assert_entries (cache, 4);

  /* Ids 5 and 6 are refused, naming the property to raise. */
  set_mode (768, 480);
  plane = query_id (5);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
      "max-framebuffers");
  fail_if (exported);
  fail_unless_equals_int (exports (), 4);

  /* Id 1, idle since long ago, comes back without an export. */
  set_mode (640, 480);
  plane = query_id (1);
  mem = lookup (cache, &plane, &exported);
  fail_if (exported);
  gst_memory_unref (mem);
  fail_unless_equals_int (exports (), 4);
  assert_entries (cache, 4);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Every cache on one device shares its exports: a cache made after another
 * was freed (an element restarted) finds them without exporting. */
GST_START_TEST (test_caches_share_exports)
{
  GstVfioDmabufCache *one = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioDmabufCache *other = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *a = lookup (one, &plane, NULL);
  GstMemory *b;
  gboolean exported;

  b = lookup (other, &plane, &exported);
  fail_unless (a == b);
  fail_if (exported);
  gst_memory_unref (b);
  gst_vfio_dmabuf_cache_free (one);
  gst_vfio_dmabuf_cache_free (other);

  other = gst_vfio_dmabuf_cache_new (device, 4);
  b = lookup (other, &plane, &exported);
  fail_unless (a == b);
  fail_if (exported);
  fail_unless_equals_int (exports (), 1);
  gst_memory_unref (a);
  gst_memory_unref (b);
  gst_vfio_dmabuf_cache_free (other);
}

GST_END_TEST;

/* An export the device refuses for good (EINVAL) is not tried again. */
GST_START_TEST (test_refused_export_remembered)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  gboolean exported = TRUE;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 1);
  for (guint i = 0; i < 3; i++) {
    assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
        "refuses to export");
    fail_if (exported);
  }
  fail_unless_equals_int (exports (), 1);
  assert_entries (cache, 0);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* The guest shows framebuffer @id of the current layout, backed by a
 * dma-buf of exactly its size. */
static GstVfioPlane
show_raw_id (guint32 id)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 640,
    .height = 480,
    .stride = 2560,
    .size = 2560 * 480,
    .dmabuf_id = id,
  };

  vfio_emu_set_raw_plane (dev, &info, info.size);
  return query_id (id);
}

/* Refused ids count against the bound like exported ones: a guest showing
 * one refused framebuffer after another (mbochs: a new id for every scan-out
 * offset, refused when it is not on a page) cannot grow the table, and a
 * new id past the bound is not exported. */
GST_START_TEST (test_refused_exports_bounded)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  gboolean exported = TRUE;
  GstVfioPlane plane;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 4);
  for (guint32 id = 10; id < 14; id++) {
    plane = show_raw_id (id);
    assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
        "refuses to export");
  }
  fail_unless_equals_int (exports (), 4);

  plane = show_raw_id (14);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
      "max-framebuffers");
  fail_if (exported);
  fail_unless_equals_int (exports (), 4);
  assert_entries (cache, 0);

  /* The refused ones are still refused without an ioctl. */
  plane = show_raw_id (10);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
      "refuses to export");
  fail_unless_equals_int (exports (), 4);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* The memories outlive the cache and the device. */
GST_START_TEST (test_memory_outlives_cache)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *mem = lookup (cache, &plane, NULL);

  gst_vfio_dmabuf_cache_free (cache);
  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  check_pixels (mem, &plane);
  gst_memory_unref (mem);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* The cache keeps the device open. */
GST_START_TEST (test_cache_holds_device)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();

  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_open_fds (), 3);
  gst_memory_unref (lookup (cache, &plane, NULL));
  gst_vfio_dmabuf_cache_free (cache);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* A guest that claims more than its dma-buf holds is refused, and the id
 * is not exported again on the next tick. */
GST_START_TEST (test_plane_larger_than_dmabuf)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 640,
    .height = 480,
    .stride = 2560,
    .size = 2560 * 480,
    .dmabuf_id = 50,
  };
  GstVfioPlane plane;

  vfio_emu_set_raw_plane (dev, &info, 64 * 1024);
  plane = query_id (50);

  for (guint i = 0; i < 3; i++) {
    assert_lookup_fails (cache, &plane, NULL, GST_VFIO_ERROR_REJECTED,
        "1228800");
    fail_unless_equals_int (exports (), 1);
    fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 1);
  }

  /* A plane that fits the same dma-buf is fine. */
  plane.height = 16;
  plane.size = 2560 * 16;
  gst_memory_unref (lookup (cache, &plane, NULL));
  plane.size = 64 * 1024;
  gst_memory_unref (lookup (cache, &plane, NULL));
  plane.size = 64 * 1024 + 1;
  fail_unless (gst_vfio_dmabuf_cache_lookup (cache, &plane, NULL,
          NULL) == NULL);
  fail_unless_equals_int (exports (), 1);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* A failed export caches nothing: the next tick tries again. */
GST_START_TEST (test_export_fails)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  gboolean exported = TRUE;
  GstMemory *mem;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EAGAIN, 1, 1);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_TRANSIENT,
      NULL);
  fail_if (exported);
  assert_entries (cache, 0);

  mem = lookup (cache, &plane, &exported);
  fail_unless (exported);
  fail_unless_equals_int (exports (), 2);
  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Stock mbochs and GVT-g dma-bufs cannot be mapped: the cache never maps. */
GST_START_TEST (test_unmappable_dmabuf)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *mem;
  GstMapInfo map;

  vfio_emu_set_dmabuf_mmap_fails (dev, TRUE);
  mem = lookup (cache, &plane, NULL);
  fail_unless (gst_is_dmabuf_memory (mem));
  fail_if (gst_memory_map (mem, &map, GST_MAP_READ));
  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* After an unplug, exported dma-bufs stay usable; new ids fail. */
GST_START_TEST (test_unplug)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  GstVfioPlane plane = query ();
  GstMemory *mem = lookup (cache, &plane, NULL);
  GstMemory *again;

  vfio_emu_unplug (dev);
  again = lookup (cache, &plane, NULL);
  fail_unless (again == mem);
  gst_memory_unref (again);
  check_pixels (mem, &plane);

  plane.id = 2;
  assert_lookup_fails (cache, &plane, NULL, GST_VFIO_ERROR_DEVICE_GONE, NULL);
  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* The size of the dma-buf behind @memory. */
static gsize
memory_size (GstMemory * memory)
{
  return gst_memory_get_sizes (memory, NULL, NULL);
}

/* GVT-g makes a new object at each export: past max_entries, idle
 * memories go, least recently seen first, and are exported again. GVT-g
 * frees an id with its last dma-buf, so the number of an evicted
 * framebuffer comes back for a new one: the memory is always that of the
 * framebuffer shown now. */
GST_START_TEST (test_bound_repeatable)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 4);
  /* Id 1 is evicted for id 5 and freed; the next new one gets it. */
  const guint32 ids[] = { 1, 2, 3, 4, 5, 1 };
  gboolean exported;
  GstVfioPlane plane;
  GstMemory *mem;

  fail_unless_equals_int (gst_vfio_dmabuf_cache_get_policy (cache),
      GST_VFIO_EXPORT_REPEATABLE);
  /* Three modes (640, 704 and 768 wide), two buffers each. */
  for (guint m = 0; m < 3; m++) {
    set_mode (640 + 64 * m, 480);
    plane = query_id (ids[2 * m]);
    gst_memory_unref (lookup (cache, &plane, NULL));
    vfio_emu_flip (dev);
    plane = query_id (ids[2 * m + 1]);
    gst_memory_unref (lookup (cache, &plane, NULL));
    fail_unless (vfio_emu_live_dmabufs (dev) <= 4);
    fail_unless (gst_vfio_dmabuf_cache_get_size (cache) <= 4);
  }
  fail_unless_equals_int (exports (), 6);
  assert_entries (cache, 4);

  /* The newest are kept: id 1, now the second 768-wide buffer, comes
   * without an export, and is that buffer, not the first 640-wide one. */
  plane = query_id (1);
  mem = lookup (cache, &plane, &exported);
  fail_if (exported);
  fail_unless_equals_int (memory_size (mem), 768 * 4 * 480);
  gst_memory_unref (mem);
  fail_unless_equals_int (exports (), 6);

  /* The first 640-wide buffer lost its number: it gets the lowest free one
   * (2, freed with its eviction), is exported again, and the bound
   * holds. */
  set_mode (640, 480);
  plane = query_id (2);
  mem = lookup (cache, &plane, &exported);
  fail_unless (exported);
  fail_unless_equals_int (memory_size (mem), 640 * 4 * 480);
  gst_memory_unref (mem);
  fail_unless_equals_int (exports (), 7);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 4);

  gst_vfio_dmabuf_cache_free (cache);
  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* A memory that a buffer downstream still holds is never evicted (and so
 * never exported again), even when it is the oldest. */
GST_START_TEST (test_held_not_evicted)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 2);
  const GstVfioPlane vga = query ();
  GstVfioPlane plane = vga;
  GstMemory *held = lookup (cache, &plane, NULL);
  GstMemory *mem, *third, *again;
  gboolean exported;

  fail_unless_equals_int (plane.id, 1);
  vfio_emu_flip (dev);
  lookup_and_release (cache);   /* id 2 */
  set_mode (1024, 768);
  lookup_and_release (cache);   /* id 3: evicts id 2, not the held id 1 */
  fail_unless_equals_int (exports (), 3);
  assert_entries (cache, 2);

  mem = lookup (cache, &vga, &exported);
  fail_unless (mem == held);
  fail_if (exported);
  fail_unless_equals_int (exports (), 3);
  gst_memory_unref (mem);

  /* Everything held: the cache grows past its bound rather than drop a
   * memory in use. The new buffers get the numbers freed by the evictions
   * (GVT-g frees an id with its last dma-buf). */
  vfio_emu_flip (dev);
  plane = query_id (2);
  mem = lookup (cache, &plane, NULL);   /* evicts id 3, the only idle one */
  assert_entries (cache, 2);

  set_mode (1280, 720);
  plane = query_id (3);
  third = lookup (cache, &plane, NULL);
  assert_entries (cache, 3);
  fail_unless_equals_int (exports (), 5);

  /* Held ones still come back as they are. */
  again = lookup (cache, &vga, &exported);
  fail_unless (again == held);
  fail_if (exported);
  gst_memory_unref (again);
  fail_unless_equals_int (exports (), 5);

  gst_memory_unref (third);
  gst_memory_unref (mem);
  gst_memory_unref (held);
  gst_vfio_dmabuf_cache_free (cache);
  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_live_dmabufs (dev), 0);
}

GST_END_TEST;

/* A refused id is an entry like the others where re-exports are safe:
 * it goes when the bound needs room, so that a number the driver hands out
 * again later (GVT-g reuses freed ids) is exported then. */
GST_START_TEST (test_refused_evicted_repeatable)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 2);
  gboolean exported;
  GstVfioPlane plane;
  GstMemory *mem;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 1);
  plane = show_raw_id (7);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
      NULL);

  /* Two more framebuffers fill the bound: the refusal is the oldest. */
  for (guint32 id = 8; id <= 9; id++) {
    plane = show_raw_id (id);
    gst_memory_unref (lookup (cache, &plane, NULL));
  }
  fail_unless_equals_int (exports (), 3);

  plane = show_raw_id (7);
  mem = lookup (cache, &plane, &exported);
  fail_unless (exported);
  fail_unless_equals_int (exports (), 4);
  fail_unless (gst_vfio_dmabuf_cache_get_size (cache) <= 2);
  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* GVT-g answers EINVAL for an id whose object went away between the
 * query and the export, and hands the number to the next framebuffer: a
 * refusal there is tried again after a second, however empty the table,
 * and not before. */
GST_START_TEST (test_refusal_expires_repeatable)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device,
      GST_VFIO_DMABUF_CACHE_DEFAULT_SIZE);
  gboolean exported;
  GstVfioPlane plane;
  GstMemory *mem;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 1);
  plane = show_raw_id (7);
  for (guint i = 0; i < 3; i++)
    assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
        NULL);
  fail_unless_equals_int (exports (), 1);

  g_usleep (1100 * 1000);
  mem = lookup (cache, &plane, &exported);
  fail_unless (exported);
  fail_unless_equals_int (exports (), 2);
  gst_memory_unref (mem);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Refusals never hold the table past its bound on their own. */
GST_START_TEST (test_refused_bounded_repeatable)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 2);
  GstVfioPlane plane;
  gboolean exported;

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 0);
  for (guint32 id = 20; id < 30; id++) {
    plane = show_raw_id (id);
    assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
        NULL);
  }
  fail_unless_equals_int (exports (), 10);

  /* Id 20 was dropped to make room: it is tried again. */
  plane = show_raw_id (20);
  assert_lookup_fails (cache, &plane, &exported, GST_VFIO_ERROR_REJECTED,
      NULL);
  fail_unless_equals_int (exports (), 11);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

/* Once memories held past the bound are released, the cache shrinks back
 * to its bound on the next export instead of staying above it. */
GST_START_TEST (test_bound_after_all_held)
{
  GstVfioDmabufCache *cache = gst_vfio_dmabuf_cache_new (device, 2);
  GstMemory *held[3];
  GstVfioPlane plane;

  /* Ids 1, 2 and 3, all held: three entries for a bound of two. */
  for (guint i = 0; i < 3; i++) {
    if (i == 2)
      set_mode (1024, 768);
    else if (i == 1)
      vfio_emu_flip (dev);
    plane = query_id (i + 1);
    held[i] = lookup (cache, &plane, NULL);
  }
  assert_entries (cache, 3);
  for (guint i = 0; i < 3; i++)
    gst_memory_unref (held[i]);

  /* Ids 4, 5 and 6, released at once. */
  vfio_emu_flip (dev);
  lookup_and_release (cache);
  assert_entries (cache, 2);
  set_mode (1280, 720);
  lookup_and_release (cache);
  vfio_emu_flip (dev);
  lookup_and_release (cache);
  fail_unless_equals_int (exports (), 6);
  assert_entries (cache, 2);
  gst_vfio_dmabuf_cache_free (cache);
}

GST_END_TEST;

static Suite *
vfiodmabufcache_suite (void)
{
  Suite *s = suite_create ("vfiodmabufcache");
  TCase *tc = tcase_create ("cache");
  TCase *tc_gvtg = tcase_create ("repeatable");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_same_id_same_memory);
  tcase_add_test (tc, test_memory_properties);
  tcase_add_test (tc, test_pixels);
  tcase_add_test (tc, test_flip);
  tcase_add_test (tc, test_mode_change_and_back);
  tcase_add_test (tc, test_bound_export_once);
  tcase_add_test (tc, test_caches_share_exports);
  tcase_add_test (tc, test_refused_export_remembered);
  tcase_add_test (tc, test_refused_exports_bounded);
  tcase_add_test (tc, test_memory_outlives_cache);
  tcase_add_test (tc, test_cache_holds_device);
  tcase_add_test (tc, test_plane_larger_than_dmabuf);
  tcase_add_test (tc, test_export_fails);
  tcase_add_test (tc, test_unmappable_dmabuf);
  tcase_add_test (tc, test_unplug);


  suite_add_tcase (s, tc_gvtg);
  tcase_add_checked_fixture (tc_gvtg, setup_gvtg, teardown);
  tcase_add_test (tc_gvtg, test_bound_repeatable);
  tcase_add_test (tc_gvtg, test_held_not_evicted);
  tcase_add_test (tc_gvtg, test_bound_after_all_held);
  tcase_add_test (tc_gvtg, test_refused_evicted_repeatable);
  tcase_add_test (tc_gvtg, test_refused_bounded_repeatable);
  tcase_add_test (tc_gvtg, test_refusal_expires_repeatable);

  return s;
}

GST_CHECK_MAIN (vfiodmabufcache);
