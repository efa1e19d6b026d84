/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Region planes (mdpy, NVIDIA vGPU) against the emulated mdev:
 * gst_vfio_region_map_plane() maps the region that holds the plane, checks
 * it against the region's real size and hands out a memory that outlives
 * the device.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>
#include <vfioemu.h>

#include <drm_fourcc.h>

/* The uAPI spells this bit (1 << 31), a shift into an int's sign bit. */
#define PCI_VENDOR_TYPE_BIT (1u << 31)

#define UUID "2f3a4f61-1b6e-4c8e-9e0a-6d0f0b5c0d16"
#define GROUP 3

/* Each test: an emulated mdpy showing 640x480 XR24, opened. */
static VfioEmuDevice *dev;
static GstVfioDevice *device;

static void
open_emulated (VfioEmuFlags flags)
{
  GError *error = NULL;

  dev = vfio_emu_add_mdev (UUID, GROUP, flags);
  fail_unless (dev != NULL);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640,
      480, 0);
  device = gst_vfio_device_open (UUID, &error);
  g_assert_no_error (error);
  fail_unless (device != NULL);
}

static void
setup (void)
{
  vfio_emu_reset ();
  open_emulated (VFIO_EMU_REGION);
}

static void
teardown (void)
{
  gst_clear_object (&device);
  vfio_emu_reset ();
  dev = NULL;
}

static GstVfioPlane
query (void)
{
  GstVfioPlane plane;
  GError *error = NULL;

  fail_unless (gst_vfio_device_query_plane (device, GST_VFIO_PLANE_PRIMARY,
          &plane, &error));
  g_assert_no_error (error);
  fail_unless (plane.present);
  fail_unless (gst_vfio_plane_validate (&plane, &error));
  g_assert_no_error (error);
  return plane;
}

/* The guest shows @info (on the region it names): the plane queried. */
static GstVfioPlane
show_raw_plane (const struct vfio_device_gfx_plane_info *info)
{
  vfio_emu_set_raw_plane (dev, info, 0);
  return query ();
}

static GstMemory *
map_plane (const GstVfioPlane * plane)
{
  GError *error = NULL;
  GstMemory *memory = gst_vfio_region_map_plane (device, plane, &error);

  g_assert_no_error (error);
  fail_unless (memory != NULL);
  return memory;
}

/* Mapping @plane fails with @code and, unless NULL, a message that contains
 * @needle. */
static void
assert_map_fails (const GstVfioPlane * plane, gint code, const gchar * needle)
{
  GError *error = NULL;

  fail_unless (gst_vfio_region_map_plane (device, plane, &error) == NULL);
  g_assert_error (error, GST_VFIO_ERROR, code);
  if (needle)
    fail_unless (strstr (error->message, needle) != NULL, "%s", error->message);
  g_clear_error (&error);
}

/* Every pixel of @plane (XR24) in @memory is the emulator's pattern for
 * buffer @id, laid out with @stride. */
static void
check_pixels (GstMemory * memory, const GstVfioPlane * plane, guint32 id,
    guint32 stride)
{
  GstMapInfo map;

  fail_unless (gst_memory_map (memory, &map, GST_MAP_READ));
  for (guint32 y = 0; y < plane->height; y++) {
    for (guint32 x = 0; x < plane->width; x++) {
      guint32 value;

      memcpy (&value, map.data + (gsize) y * stride + x * 4, 4);
      if (value != vfio_emu_pixel (id, x, y))
        fail ("pixel %u,%u is 0x%08x, not 0x%08x", x, y, value,
            vfio_emu_pixel (id, x, y));
    }
  }
  gst_memory_unmap (memory, &map);
}

GST_START_TEST (test_map_region_plane)
{
  GstVfioPlane plane = query ();
  GstMemory *mem;
  GstMapInfo map;
  gsize size, offset, maxsize;

  fail_unless_equals_int (plane.type, GST_VFIO_PLANE_TYPE_REGION);
  fail_unless_equals_int (plane.id, VFIO_EMU_DISPLAY_REGION_INDEX);
  fail_unless_equals_int (plane.stride, 2560);
  fail_unless_equals_int (plane.size, 2560 * 480);

  mem = map_plane (&plane);
  size = gst_memory_get_sizes (mem, &offset, &maxsize);
  fail_unless_equals_int (size, plane.size);
  fail_unless_equals_int (offset, 0);
  fail_unless_equals_int (maxsize, plane.size);
  fail_unless (GST_MEMORY_IS_READONLY (mem));
  fail_if (gst_is_dmabuf_memory (mem));
  fail_if (gst_memory_map (mem, &map, GST_MAP_WRITE));

  check_pixels (mem, &plane, VFIO_EMU_DISPLAY_REGION_INDEX, plane.stride);
  gst_memory_unref (mem);
}

GST_END_TEST;

/* The memory is a live view of the region, not a copy: what the guest draws
 * later shows through it. */
GST_START_TEST (test_mapping_is_live)
{
  GstVfioPlane plane = query ();
  GstMemory *mem = map_plane (&plane);
  GstVfioPlane small = plane;

  /* The emulator redraws the region in the new mode's layout. */
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 320,
      200, 4096);
  small.width = 320;
  small.height = 200;
  check_pixels (mem, &small, VFIO_EMU_DISPLAY_REGION_INDEX, 4096);
  gst_memory_unref (mem);
}

GST_END_TEST;

/* Each call maps afresh; both mappings stay valid. */
GST_START_TEST (test_map_twice)
{
  GstVfioPlane plane = query ();
  GstMemory *a = map_plane (&plane);
  GstMemory *b = map_plane (&plane);

  fail_unless (a != b);
  gst_memory_unref (a);
  check_pixels (b, &plane, VFIO_EMU_DISPLAY_REGION_INDEX, plane.stride);
  gst_memory_unref (b);
}

GST_END_TEST;

/* A guest that claims more than the region holds is refused. */
GST_START_TEST (test_region_smaller_than_plane)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 1024,
    .height = 768,
    .stride = 4096,
    .size = 4096 * 768,
    .region_index = VFIO_EMU_DISPLAY_REGION_INDEX,
  };
  GstVfioRegionInfo region;
  GstVfioPlane plane;

  fail_unless (gst_vfio_device_get_region_info (device,
          VFIO_EMU_DISPLAY_REGION_INDEX, &region, NULL));
  fail_unless_equals_uint64 (region.size, 2560 * 480);

  plane = show_raw_plane (&info);
  assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED, "3145728");

  /* One byte too many is too many. */
  info.width = 640;
  info.height = 480;
  info.stride = 2560;
  info.size = 2560 * 480 + 1;
  plane = show_raw_plane (&info);
  assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED, NULL);

  /* All of it is fine. */
  info.size = 2560 * 480;
  plane = show_raw_plane (&info);
  gst_memory_unref (map_plane (&plane));
}

GST_END_TEST;

/* A region the device labels as something else (here the EDID region),
 * or one without the mmap flag, is no display region: the frame is
 * rejected, naming the region and why. */
GST_START_TEST (test_region_not_mappable)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 16,
    .height = 16,
    .stride = 64,
    .size = 1024,
    .region_index = VFIO_EMU_EDID_REGION_INDEX,
  };
  GstVfioPlane plane;

  gst_clear_object (&device);
  vfio_emu_reset ();
  open_emulated (VFIO_EMU_REGION | VFIO_EMU_EDID);

  plane = show_raw_plane (&info);
  assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED, "region 9 is the EDID");

  /* Index 12: the device reports it, empty and not mappable. */
  info.region_index = 12;
  plane = show_raw_plane (&info);
  assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED,
      "region 12 cannot be mapped");
}

GST_END_TEST;

/* A mappable region of the right size that carries the type capability of
 * a known non-display region (migration, an IGD OpRegion, EDID) is
 * refused; a type this library does not know is left to the driver. */
GST_START_TEST (test_region_typed)
{
  const struct
  {
    guint32 type, subtype;
    const gchar *needle;
  } refused[] = {
    {VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID, "EDID"},
    {VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
        VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED, "migration"},
    {VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_SCHIB, "CCW"},
    {PCI_VENDOR_TYPE_BIT | 0x8086,
        VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, "Intel IGD"},
  };
  GstVfioPlane plane;
  GstMemory *mem;

  vfio_emu_set_display_region (dev, VFIO_EMU_DISPLAY_REGION2_INDEX);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    vfio_emu_set_region_type (dev, VFIO_EMU_DISPLAY_REGION2_INDEX,
        refused[i].type, refused[i].subtype);
    plane = query ();
    fail_unless_equals_int (plane.id, VFIO_EMU_DISPLAY_REGION2_INDEX);
    assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED, refused[i].needle);
  }

  vfio_emu_set_region_type (dev, VFIO_EMU_DISPLAY_REGION2_INDEX,
      PCI_VENDOR_TYPE_BIT | 0x10de, 0x42);
  plane = query ();
  mem = map_plane (&plane);
  check_pixels (mem, &plane, VFIO_EMU_DISPLAY_REGION2_INDEX, plane.stride);
  gst_memory_unref (mem);
}

GST_END_TEST;

/* A region index the device does not have. */
GST_START_TEST (test_region_missing)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = 16,
    .height = 16,
    .stride = 64,
    .size = 1024,
    .region_index = 40,
  };
  GstVfioPlane plane;

  plane = show_raw_plane (&info);
  assert_map_fails (&plane, GST_VFIO_ERROR_REJECTED, "region 40");

  /* A BAR, the config space or the VGA window is never a display region:
   * refused before anything looks it up. */
  for (guint32 index = 0; index < VFIO_PCI_NUM_REGIONS; index++) {
    GError *error = NULL;

    info.region_index = index;
    vfio_emu_set_raw_plane (dev, &info, 0);
    fail_unless (gst_vfio_device_query_plane (device, GST_VFIO_PLANE_PRIMARY,
            &plane, &error));
    fail_if (gst_vfio_plane_validate (&plane, &error));
    g_assert_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED);
    fail_unless (strstr (error->message, "PCI region") != NULL, "%s",
        error->message);
    g_clear_error (&error);
  }
}

GST_END_TEST;

/* The memory keeps its mapping after the device is gone. */
GST_START_TEST (test_memory_outlives_device)
{
  GstVfioPlane plane = query ();
  GstMemory *mem = map_plane (&plane);

  gst_clear_object (&device);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  check_pixels (mem, &plane, VFIO_EMU_DISPLAY_REGION_INDEX, plane.stride);
  gst_memory_unref (mem);
}

GST_END_TEST;

GST_START_TEST (test_unplug)
{
  GstVfioPlane plane = query ();
  GstMemory *mem = map_plane (&plane);

  vfio_emu_unplug (dev);
  assert_map_fails (&plane, GST_VFIO_ERROR_DEVICE_GONE, NULL);

  /* What was mapped stays readable. */
  check_pixels (mem, &plane, VFIO_EMU_DISPLAY_REGION_INDEX, plane.stride);
  gst_memory_unref (mem);
}

GST_END_TEST;

static Suite *
vfioregion_suite (void)
{
  Suite *s = suite_create ("vfioregion");
  TCase *tc = tcase_create ("region");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_map_region_plane);
  tcase_add_test (tc, test_mapping_is_live);
  tcase_add_test (tc, test_map_twice);
  tcase_add_test (tc, test_region_smaller_than_plane);
  tcase_add_test (tc, test_region_not_mappable);
  tcase_add_test (tc, test_region_typed);
  tcase_add_test (tc, test_region_missing);
  tcase_add_test (tc, test_memory_outlives_device);
  tcase_add_test (tc, test_unplug);

  return s;
}

GST_CHECK_MAIN (vfioregion);
