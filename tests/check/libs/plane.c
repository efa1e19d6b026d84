/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation of guest-supplied plane values: gst_vfio_plane_validate(),
 * gst_vfio_plane_fits() and gst_vfio_plane_same_layout().
 *
 * Every rule gets a case just past its limit (rejected, with domain
 * GST_VFIO_ERROR and code REJECTED) and, where there is one, a case right at
 * the limit (accepted), so a rule that is dropped or off by one fails here.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/vfio/vfio.h>

#include <drm_fourcc.h>

/* Tile geometry of the i915 layouts, in bytes per tile row x rows (the
 * Intel PRM; X: 512 B x 8, Y and Yf: 128 B x 32 for 16/32-bit pixels). */
typedef struct
{
  guint64 modifier;
  guint tile_width;
  guint tile_height;
} Layout;

static const Layout layouts[] = {
  {DRM_FORMAT_MOD_LINEAR, 1, 1},
  {I915_FORMAT_MOD_X_TILED, 512, 8},
  {I915_FORMAT_MOD_Y_TILED, 128, 32},
  {I915_FORMAT_MOD_Yf_TILED, 128, 32},
};

/* The primary formats of GVT-g (fb_decoder.c) except C8, with bytes per
 * pixel. */
typedef struct
{
  guint32 fourcc;
  guint bpp;
} Format;

static const Format gvt_formats[] = {
  {DRM_FORMAT_XRGB8888, 4},
  {DRM_FORMAT_ARGB8888, 4},
  {DRM_FORMAT_XBGR8888, 4},
  {DRM_FORMAT_ABGR8888, 4},
  {DRM_FORMAT_XRGB2101010, 4},
  {DRM_FORMAT_XBGR2101010, 4},
  {DRM_FORMAT_RGB565, 2},
  {DRM_FORMAT_YUYV, 2},
  {DRM_FORMAT_UYVY, 2},
  {DRM_FORMAT_YVYU, 2},
  {DRM_FORMAT_VYUY, 2},
};

static GstVfioPlane
make_plane (guint32 fourcc, guint64 modifier, guint32 width, guint32 height,
    guint32 stride, guint32 size)
{
  GstVfioPlane plane = {
    .kind = GST_VFIO_PLANE_PRIMARY,
    .type = GST_VFIO_PLANE_TYPE_DMABUF,
    .present = TRUE,
    .fourcc = fourcc,
    .modifier = modifier,
    .width = width,
    .height = height,
    .stride = stride,
    .size = size,
    .x_hot = G_MAXUINT32,
    .y_hot = G_MAXUINT32,
    .id = 1,
  };

  return plane;
}

/* 640x480 XR24 linear, as mbochs shows it. */
static GstVfioPlane
vga_plane (void)
{
  return make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 640, 480,
      2560, 2560 * 480);
}

static void
assert_valid (const GstVfioPlane * plane)
{
  GError *error = NULL;
  gboolean valid = gst_vfio_plane_validate (plane, &error);

  fail_unless (valid, "plane %" GST_FOURCC_FORMAT ":0x%016" G_GINT64_MODIFIER
      "x %ux%u stride %u size %u rejected: %s",
      GST_FOURCC_ARGS (plane->fourcc), plane->modifier, plane->width,
      plane->height, plane->stride, plane->size, valid ? "" : error->message);
  g_assert_no_error (error);
}

/* Rejected with GST_VFIO_ERROR_REJECTED and a message that contains
 * @needle (when not NULL). Also checks that a NULL GError is fine. */
static void
assert_rejected (const GstVfioPlane * plane, const gchar * needle)
{
  GError *error = NULL;

  fail_if (gst_vfio_plane_validate (plane, &error),
      "plane %" GST_FOURCC_FORMAT ":0x%016" G_GINT64_MODIFIER
      "x %ux%u stride %u size %u accepted", GST_FOURCC_ARGS (plane->fourcc),
      plane->modifier, plane->width, plane->height, plane->stride, plane->size);
  g_assert_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED);
  g_assert_nonnull (error->message);
  if (needle)
    fail_unless (strstr (error->message, needle) != NULL,
        "message '%s' does not mention '%s'", error->message, needle);
  g_clear_error (&error);

  fail_if (gst_vfio_plane_validate (plane, NULL));
}

GST_START_TEST (test_valid_mbochs_plane)
{
  GstVfioPlane plane = vga_plane ();

  assert_valid (&plane);
}

GST_END_TEST;

GST_START_TEST (test_not_present)
{
  GstVfioPlane plane = { 0 };

  plane.kind = GST_VFIO_PLANE_PRIMARY;
  assert_rejected (&plane, NULL);

  /* present is what counts, not the other values. */
  plane = vga_plane ();
  plane.present = FALSE;
  assert_rejected (&plane, NULL);
}

GST_END_TEST;

GST_START_TEST (test_zero_width)
{
  GstVfioPlane plane = vga_plane ();

  plane.width = 0;
  assert_rejected (&plane, "empty");
}

GST_END_TEST;

GST_START_TEST (test_zero_height)
{
  GstVfioPlane plane = vga_plane ();

  plane.height = 0;
  assert_rejected (&plane, "empty");
}

GST_END_TEST;

GST_START_TEST (test_width_over_max)
{
  const guint32 stride = (GST_VFIO_PLANE_MAX_WIDTH + 128) * 4;
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      GST_VFIO_PLANE_MAX_WIDTH, 16, stride, stride * 16);

  assert_valid (&plane);
  plane.width = GST_VFIO_PLANE_MAX_WIDTH + 1;
  assert_rejected (&plane, "larger");
}

GST_END_TEST;

GST_START_TEST (test_height_over_max)
{
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      16, GST_VFIO_PLANE_MAX_HEIGHT, 64, 64 * (GST_VFIO_PLANE_MAX_HEIGHT + 8));

  assert_valid (&plane);
  plane.height = GST_VFIO_PLANE_MAX_HEIGHT + 1;
  assert_rejected (&plane, "larger");
}

GST_END_TEST;

/* The largest plane the limits allow: 16384 x 16384 x 4 B = 1 GiB. */
GST_START_TEST (test_max_plane)
{
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888,
      I915_FORMAT_MOD_Y_TILED, GST_VFIO_PLANE_MAX_WIDTH,
      GST_VFIO_PLANE_MAX_HEIGHT, GST_VFIO_PLANE_MAX_WIDTH * 4,
      (guint32) GST_VFIO_PLANE_MAX_WIDTH * 4 * GST_VFIO_PLANE_MAX_HEIGHT);

  assert_valid (&plane);
}

GST_END_TEST;

GST_START_TEST (test_unknown_fourcc)
{
  GstVfioPlane plane = vga_plane ();

  plane.fourcc = DRM_FORMAT_NV12;
  assert_rejected (&plane, "unknown format");

  plane.fourcc = 0xdeadbeef;
  assert_rejected (&plane, "0xdeadbeef");

  /* Formats GVT-g never shows: 24-bit and 64-bit pixels. */
  plane.fourcc = DRM_FORMAT_RGB888;
  assert_rejected (&plane, NULL);
  plane.fourcc = DRM_FORMAT_XRGB16161616F;
  assert_rejected (&plane, NULL);
}

GST_END_TEST;

GST_START_TEST (test_c8_needs_palette)
{
  GstVfioPlane plane = make_plane (DRM_FORMAT_C8, DRM_FORMAT_MOD_LINEAR, 640,
      480, 640, 640 * 480);

  assert_rejected (&plane, "palette");
}

GST_END_TEST;

GST_START_TEST (test_unknown_modifier)
{
  GstVfioPlane plane = vga_plane ();

  /* Render compression is never exported by GVT-g and has an aux plane. */
  plane.modifier = I915_FORMAT_MOD_Y_TILED_CCS;
  assert_rejected (&plane, "modifier");

  plane.modifier = DRM_FORMAT_MOD_INVALID;
  assert_rejected (&plane, "modifier");

  plane.modifier = I915_FORMAT_MOD_4_TILED;
  assert_rejected (&plane, "modifier");
}

GST_END_TEST;

GST_START_TEST (test_stride_less_than_line)
{
  GstVfioPlane plane = vga_plane ();

  plane.stride = 640 * 4 - 1;
  assert_rejected (&plane, "stride");
  plane.stride = 640 * 4 - 4;
  assert_rejected (&plane, "stride");
  plane.stride = 640;
  assert_rejected (&plane, "stride");
  plane.stride = 0;
  assert_rejected (&plane, "stride");

  /* A 16-bit format needs half the bytes. */
  plane = make_plane (DRM_FORMAT_RGB565, DRM_FORMAT_MOD_LINEAR, 640, 480,
      640 * 2, 640 * 2 * 480);
  assert_valid (&plane);
  plane.stride = 640 * 2 - 1;
  assert_rejected (&plane, "stride");

  plane = make_plane (DRM_FORMAT_YUYV, DRM_FORMAT_MOD_LINEAR, 640, 480,
      640 * 2, 640 * 2 * 480);
  assert_valid (&plane);
  plane.stride = 640 * 2 - 2;
  assert_rejected (&plane, "stride");
}

GST_END_TEST;

/* Packed 4:2:2 pixels come in pairs: a line of an odd width ends with a
 * whole pair, which GStreamer's unpack (videoconvert) and importers read.
 * 33x17 YUYV with stride 66 and size 1122 used to pass, and the last
 * line's read ended 2 bytes past the plane (tests/fuzz/fuzz_plane's seed
 * regress-yuyv-odd-width). */
GST_START_TEST (test_stride_packed_422_odd_width)
{
  const guint32 fourccs[] = { DRM_FORMAT_YUYV, DRM_FORMAT_UYVY,
    DRM_FORMAT_YVYU, DRM_FORMAT_VYUY
  };

  for (guint i = 0; i < G_N_ELEMENTS (fourccs); i++) {
    GstVfioPlane plane = make_plane (fourccs[i], DRM_FORMAT_MOD_LINEAR, 33,
        17, 34 * 2, 34 * 2 * 17);

    assert_valid (&plane);
    plane.stride = 33 * 2 + 1;
    plane.size = plane.stride * 17;
    assert_rejected (&plane, "stride");
    plane.stride = 33 * 2;
    plane.size = plane.stride * 17;
    assert_rejected (&plane, "stride");
  }
}

GST_END_TEST;

GST_START_TEST (test_stride_over_max)
{
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      64, 16, GST_VFIO_PLANE_MAX_STRIDE, GST_VFIO_PLANE_MAX_STRIDE * 16);

  assert_valid (&plane);
  plane.stride = GST_VFIO_PLANE_MAX_STRIDE + 1;
  plane.size = plane.stride * 16;
  assert_rejected (&plane, "stride");
  plane.stride = G_MAXUINT32;
  plane.size = G_MAXUINT32;
  assert_rejected (&plane, "stride");

  /* Same rule for tiled layouts, at a tile multiple. */
  plane.modifier = I915_FORMAT_MOD_X_TILED;
  plane.stride = GST_VFIO_PLANE_MAX_STRIDE + 512;
  plane.size = plane.stride * 16;
  assert_rejected (&plane, "stride");
}

GST_END_TEST;

GST_START_TEST (test_tiled_stride_multiple)
{
  /* 100 XR24 pixels = 400 B: fine linear, not a whole X or Y tile row. */
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      100, 64, 400, 400 * 64);

  assert_valid (&plane);

  plane.modifier = I915_FORMAT_MOD_X_TILED;
  assert_rejected (&plane, "tile");
  plane.stride = 512;
  plane.size = 512 * 64;
  assert_valid (&plane);
  /* A multiple of the Y tile width but not of the X one. */
  plane.stride = 640;
  plane.size = 640 * 64;
  assert_rejected (&plane, "tile");

  plane.modifier = I915_FORMAT_MOD_Y_TILED;
  assert_valid (&plane);
  plane.stride = 448;
  plane.size = 448 * 64;
  assert_rejected (&plane, "tile");

  plane.modifier = I915_FORMAT_MOD_Yf_TILED;
  assert_rejected (&plane, "tile");
  plane.stride = 512;
  plane.size = 512 * 64;
  assert_valid (&plane);
}

GST_END_TEST;

GST_START_TEST (test_size_less_than_lines)
{
  GstVfioPlane plane = vga_plane ();

  plane.size = 2560 * 480 - 1;
  assert_rejected (&plane, "size");
  plane.size = 2560 * 479;
  assert_rejected (&plane, "size");
  plane.size = 0;
  assert_rejected (&plane, "size");

  /* A larger stride needs a larger size. */
  plane = vga_plane ();
  plane.stride = 4096;
  assert_rejected (&plane, "size");
  plane.size = 4096 * 480;
  assert_valid (&plane);
}

GST_END_TEST;

/* Tiled planes occupy whole tile rows: 481 lines are 488 X-tile rows and
 * 512 Y-tile rows. */
GST_START_TEST (test_size_tiled_rows)
{
  GstVfioPlane plane = make_plane (DRM_FORMAT_XRGB8888,
      I915_FORMAT_MOD_X_TILED, 640, 481, 2560, 2560 * 481);

  /* Enough for the lines, not for the tile rows. */
  assert_rejected (&plane, "size");
  plane.size = 2560 * 488 - 1;
  assert_rejected (&plane, "size");
  plane.size = 2560 * 488;
  assert_valid (&plane);

  plane.modifier = I915_FORMAT_MOD_Y_TILED;
  assert_rejected (&plane, "size");
  plane.size = 2560 * 512 - 1;
  assert_rejected (&plane, "size");
  plane.size = 2560 * 512;
  assert_valid (&plane);

  plane.modifier = I915_FORMAT_MOD_Yf_TILED;
  plane.size = 2560 * 512 - 1;
  assert_rejected (&plane, "size");
  plane.size = 2560 * 512;
  assert_valid (&plane);

  /* Linear needs the lines only. */
  plane.modifier = DRM_FORMAT_MOD_LINEAR;
  plane.size = 2560 * 481;
  assert_valid (&plane);
}

GST_END_TEST;

GST_START_TEST (test_overflow_width)
{
  GstVfioPlane plane = vga_plane ();

  /* 0xffffffff * 4 wraps to 0xfffffffc in 32 bits. */
  plane.width = G_MAXUINT32;
  assert_rejected (&plane, NULL);
  plane.stride = G_MAXUINT32 - 3;
  plane.size = G_MAXUINT32;
  assert_rejected (&plane, NULL);

  /* 0x40000000 * 4 wraps to 0. */
  plane = vga_plane ();
  plane.width = 0x40000000;
  assert_rejected (&plane, NULL);

  plane = vga_plane ();
  plane.height = G_MAXUINT32;
  assert_rejected (&plane, NULL);
}

GST_END_TEST;

/* stride * rows is 2^32 or more while size is a u32: in 32-bit arithmetic
 * the product wraps and a small size would pass. */
GST_START_TEST (test_overflow_stride_times_height)
{
  GstVfioPlane plane;

  /* 262144 * 16384 = 2^32, which wraps to 0. */
  plane = make_plane (DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64,
      GST_VFIO_PLANE_MAX_HEIGHT, GST_VFIO_PLANE_MAX_STRIDE, G_MAXUINT32);
  assert_rejected (&plane, "size");
  plane.size = 0x1000;
  assert_rejected (&plane, "size");

  /* 262144 * 16383 fits in a u32, but Y-tiled rows round it up to 2^32. */
  plane.height = GST_VFIO_PLANE_MAX_HEIGHT - 1;
  plane.size = GST_VFIO_PLANE_MAX_STRIDE * plane.height;
  assert_valid (&plane);
  plane.modifier = I915_FORMAT_MOD_Y_TILED;
  assert_rejected (&plane, "size");
  plane.size = G_MAXUINT32;
  assert_rejected (&plane, "size");

  /* The same with X tiles: 16377 lines are 16384 tile rows. */
  plane.modifier = I915_FORMAT_MOD_X_TILED;
  plane.height = 16377;
  plane.size = GST_VFIO_PLANE_MAX_STRIDE * plane.height;
  assert_rejected (&plane, "size");
  plane.size = G_MAXUINT32;
  assert_rejected (&plane, "size");
}

GST_END_TEST;

/* Every GVT-g format with every GVT-g modifier, at 1920x1080 (which is not a
 * whole number of tile rows): the smallest size passes, one byte less fails,
 * and so does one tile row less of stride where the tile allows it. */
GST_START_TEST (test_gvt_formats_valid)
{
  for (guint f = 0; f < G_N_ELEMENTS (gvt_formats); f++) {
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      const Format *format = &gvt_formats[f];
      const Layout *layout = &layouts[l];
      guint32 line = 1920 * format->bpp;
      guint32 stride = GST_ROUND_UP_N (line, 512);
      guint32 rows = GST_ROUND_UP_N (1080, layout->tile_height);
      GstVfioPlane plane = make_plane (format->fourcc, layout->modifier,
          1920, 1080, stride, stride * rows);

      assert_valid (&plane);

      plane.size = stride * rows - 1;
      assert_rejected (&plane, "size");

      /* The tightest stride: a line rounded up to a tile. */
      plane.stride = GST_ROUND_UP_N (line, layout->tile_width);
      plane.size = plane.stride * rows;
      assert_valid (&plane);
      plane.stride -= layout->tile_width;
      assert_rejected (&plane, "stride");

      /* Cursor planes follow the same rules. */
      plane = make_plane (format->fourcc, layout->modifier, 1920, 1080,
          stride, stride * rows);
      plane.kind = GST_VFIO_PLANE_CURSOR;
      assert_valid (&plane);
    }
  }
}

GST_END_TEST;

/* The GVT-g cursor: 64..256 square AR24 linear, hotspot possibly unknown. */
GST_START_TEST (test_cursor_plane)
{
  for (guint side = 64; side <= 256; side *= 2) {
    GstVfioPlane plane = make_plane (DRM_FORMAT_ARGB8888,
        DRM_FORMAT_MOD_LINEAR, side, side, side * 4, side * side * 4);

    plane.kind = GST_VFIO_PLANE_CURSOR;
    plane.x = 100;
    plane.y = 200;
    assert_valid (&plane);
    plane.x_hot = 3;
    plane.y_hot = 7;
    assert_valid (&plane);
  }
}

GST_END_TEST;

GST_START_TEST (test_fits)
{
  GstVfioPlane plane = vga_plane ();
  GError *error = NULL;

  fail_unless (gst_vfio_plane_fits (&plane, plane.size, &error));
  g_assert_no_error (error);
  fail_unless (gst_vfio_plane_fits (&plane, plane.size + 1, &error));
  g_assert_no_error (error);
  /* mbochs pages: 1228800 is a page multiple already, 4 MiB is a BAR. */
  fail_unless (gst_vfio_plane_fits (&plane, 4 * 1024 * 1024, &error));
  g_assert_no_error (error);
  fail_unless (gst_vfio_plane_fits (&plane, G_GUINT64_CONSTANT (1) << 40,
          &error));
  g_assert_no_error (error);

  fail_if (gst_vfio_plane_fits (&plane, plane.size - 1, &error));
  g_assert_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED);
  fail_unless (strstr (error->message, "1228800") != NULL, "%s",
      error->message);
  g_clear_error (&error);

  fail_if (gst_vfio_plane_fits (&plane, 0, &error));
  g_assert_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED);
  g_clear_error (&error);

  fail_if (gst_vfio_plane_fits (&plane, 4096, NULL));

  /* A u32 size against a backing size past 2^32 must not truncate it. */
  plane.size = G_MAXUINT32;
  fail_unless (gst_vfio_plane_fits (&plane, G_GUINT64_CONSTANT (1) << 32,
          NULL));
  fail_if (gst_vfio_plane_fits (&plane, G_MAXUINT32 - 1, NULL));
}

GST_END_TEST;

GST_START_TEST (test_error_quark)
{
  GError *error = NULL;
  GstVfioPlane plane = vga_plane ();

  fail_unless_equals_string (g_quark_to_string (GST_VFIO_ERROR),
      "gst-vfio-error-quark");
  fail_unless_equals_int (gst_vfio_error_quark (), GST_VFIO_ERROR);

  plane.width = 0;
  fail_if (gst_vfio_plane_validate (&plane, &error));
  fail_unless_equals_int (error->domain, GST_VFIO_ERROR);
  fail_unless_equals_int (error->code, GST_VFIO_ERROR_REJECTED);
  g_clear_error (&error);
}

GST_END_TEST;

GST_START_TEST (test_same_layout)
{
  GstVfioPlane a = vga_plane ();
  GstVfioPlane b = vga_plane ();

  fail_unless (gst_vfio_plane_same_layout (&a, &b));

  /* Another buffer of the same mode: only the id and the size differ, and
   * for a cursor the position. */
  b.id = 2;
  b.size = a.size + 4096;
  b.x = 10;
  b.y = 20;
  b.x_hot = 1;
  b.y_hot = 2;
  fail_unless (gst_vfio_plane_same_layout (&a, &b));
  fail_unless (gst_vfio_plane_same_layout (&b, &a));

#define CHECK_DIFFERS(field, value) G_STMT_START { \
    b = a; \
    b.field = (value); \
    fail_if (gst_vfio_plane_same_layout (&a, &b), #field " ignored"); \
    fail_if (gst_vfio_plane_same_layout (&b, &a), #field " ignored"); \
  } G_STMT_END

  CHECK_DIFFERS (present, FALSE);
  CHECK_DIFFERS (type, GST_VFIO_PLANE_TYPE_REGION);
  CHECK_DIFFERS (fourcc, DRM_FORMAT_XBGR8888);
  CHECK_DIFFERS (modifier, I915_FORMAT_MOD_X_TILED);
  CHECK_DIFFERS (width, 641);
  CHECK_DIFFERS (height, 481);
  CHECK_DIFFERS (stride, 4096);

#undef CHECK_DIFFERS

  /* Two blank planes have the same (no) layout. */
  memset (&a, 0, sizeof (a));
  memset (&b, 0, sizeof (b));
  fail_unless (gst_vfio_plane_same_layout (&a, &b));
}

GST_END_TEST;

static Suite *
vfioplane_suite (void)
{
  Suite *s = suite_create ("vfioplane");
  TCase *tc = tcase_create ("validate");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_valid_mbochs_plane);
  tcase_add_test (tc, test_not_present);
  tcase_add_test (tc, test_zero_width);
  tcase_add_test (tc, test_zero_height);
  tcase_add_test (tc, test_width_over_max);
  tcase_add_test (tc, test_height_over_max);
  tcase_add_test (tc, test_max_plane);
  tcase_add_test (tc, test_unknown_fourcc);
  tcase_add_test (tc, test_c8_needs_palette);
  tcase_add_test (tc, test_unknown_modifier);
  tcase_add_test (tc, test_stride_less_than_line);
  tcase_add_test (tc, test_stride_packed_422_odd_width);
  tcase_add_test (tc, test_stride_over_max);
  tcase_add_test (tc, test_tiled_stride_multiple);
  tcase_add_test (tc, test_size_less_than_lines);
  tcase_add_test (tc, test_size_tiled_rows);
  tcase_add_test (tc, test_overflow_width);
  tcase_add_test (tc, test_overflow_stride_times_height);
  tcase_add_test (tc, test_gvt_formats_valid);
  tcase_add_test (tc, test_cursor_plane);
  tcase_add_test (tc, test_fits);
  tcase_add_test (tc, test_error_quark);
  tcase_add_test (tc, test_same_layout);

  return s;
}

GST_CHECK_MAIN (vfioplane);
