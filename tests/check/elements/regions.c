/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc on region planes (mdpy, NVIDIA vGPU) against the emulated
 * mdev: a plane that names no display region is a skipped frame, never a
 * stream error, and a plane that moves to another display region with the
 * same layout shows that region's pixels.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/vfio/vfio.h>

#include "srccheck.h"
#include "vfioemu.h"

#define UUID "6a1f0e2d-3c4b-4a59-8e7f-1d2c3b4a5f60"
#define GROUP 31
#define FAST_BGRX "video/x-raw, format=BGRx, framerate=1000/1"
#define WIDTH 64
#define HEIGHT 32

static VfioEmuDevice *dev;

static void
setup (void)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_REGION | VFIO_EMU_EDID);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
}

static void
teardown (void)
{
  vfio_emu_reset ();
  dev = NULL;
}

static GstHarness *
harness_new (void)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");

  g_object_set (h->element, "device", UUID, NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, FAST_BGRX);
  return h;
}

/* Whether every pixel of @buf is the emulator's pattern for region
 * @index. */
static gboolean
shows_region (GstBuffer * buf, guint32 index)
{
  gboolean same = TRUE;
  GstMapInfo map;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (guint32 y = 0; y < HEIGHT && same; y++) {
    for (guint32 x = 0; x < WIDTH && same; x++) {
      guint32 value;

      memcpy (&value, map.data + (gsize) y * WIDTH * 4 + x * 4, 4);
      same = value == vfio_emu_pixel (index, x, y);
    }
  }
  gst_buffer_unmap (buf, &map);
  return same;
}

/* Pulls until a frame shows region @index whole; fails after 1000. */
static void
pull_until_region (GstHarness * h, guint32 index)
{
  for (gint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    gboolean shown;

    fail_unless (buf != NULL, "the stream ended");
    shown = shows_region (buf, index);
    gst_buffer_unref (buf);
    if (shown)
      return;
  }
  fail ("region %u never came out", index);
}

/* The guest's plane names region @index, same layout. */
static void
name_region (guint32 index)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = WIDTH,
    .height = HEIGHT,
    .stride = WIDTH * 4,
    .size = WIDTH * 4 * HEIGHT,
    .region_index = index,
  };

  vfio_emu_set_raw_plane (dev, &info, 0);
}

/* Waits for a warning whose debug text names @needle; fails on an error
 * or without it. */
static void
expect_warning (GstBus * bus, const gchar * needle)
{
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
              GST_MESSAGE_WARNING | GST_MESSAGE_ERROR))) {
    GError *error = NULL;
    gchar *debug = NULL;
    gboolean found;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &error, &debug);
      fail ("error: %s (%s)", error->message, debug);
    }
    gst_message_parse_warning (msg, &error, &debug);
    found = debug && strstr (debug, needle);
    g_clear_error (&error);
    g_free (debug);
    gst_message_unref (msg);
    if (found)
      return;
  }
  fail ("no warning naming %s", needle);
}

/* rejected-planes grows past @count + 5 within five seconds. */
static void
wait_rejected_past (GstHarness * h, guint64 count)
{
  for (gint i = 0; i < 5000 && stat_of (h->element, "rejected-planes") <=
      count + 5; i++)
    g_usleep (1000);
  fail_unless (stat_of (h->element, "rejected-planes") > count + 5,
      "rejected-planes stayed at %" G_GUINT64_FORMAT, count);
}

/* The EDID region, an index the device lacks and an empty unmappable one:
 * each plane naming them is a skipped frame with a warning (one per five
 * seconds: each case gets an element of its own), and the stream goes on
 * once the guest names its display region again. */
GST_START_TEST (test_bad_region_skipped)
{
  const struct
  {
    guint32 index;
    const gchar *why;
  } bad[] = {
    {VFIO_EMU_EDID_REGION_INDEX, "region 9 is the EDID region"},
    {40, "region 40 is not reported"},
    {12, "region 12 cannot be mapped"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GstHarness *h = harness_new ();
    GstBus *bus = attach_bus (h->element);
    GstMessage *error;

    gst_harness_play (h);
    pull_until_region (h, VFIO_EMU_DISPLAY_REGION_INDEX);
    name_region (bad[i].index);
    expect_warning (bus, bad[i].why);
    wait_rejected_past (h, 0);

    vfio_emu_set_raw_plane (dev, NULL, 0);
    pull_until_region (h, VFIO_EMU_DISPLAY_REGION_INDEX);
    error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (error == NULL, "an error for region %u", bad[i].index);
    gst_harness_teardown (h);
    release_bus (bus);
  }
}

GST_END_TEST;

/* The guest moves its plane to another display region with the same
 * layout: the element maps that region, not the old one. */
GST_START_TEST (test_region_moved_remaps)
{
  GstHarness *h = harness_new ();

  gst_harness_play (h);
  pull_until_region (h, VFIO_EMU_DISPLAY_REGION_INDEX);
  vfio_emu_set_display_region (dev, VFIO_EMU_DISPLAY_REGION2_INDEX);
  pull_until_region (h, VFIO_EMU_DISPLAY_REGION2_INDEX);
  vfio_emu_set_display_region (dev, VFIO_EMU_DISPLAY_REGION_INDEX);
  pull_until_region (h, VFIO_EMU_DISPLAY_REGION_INDEX);
  fail_unless_equals_uint64 (stat_of (h->element, "renegotiations"), 0);
  fail_unless_equals_uint64 (stat_of (h->element, "rejected-planes"), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
regions_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-regions");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_bad_region_skipped);
  tcase_add_test (tc, test_region_moved_remaps);
  return s;
}

GST_CHECK_MAIN (regions);
