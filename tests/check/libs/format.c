/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DRM fourcc/modifier table and the caps a plane is offered with:
 * gst_vfio_format_lookup(), gst_vfio_modifier_get_tile(),
 * gst_vfio_plane_to_dma_drm_info(), gst_vfio_plane_to_video_info() and
 * gst_vfio_plane_get_caps().
 *
 * The expected names are written out here and also compared with what
 * GStreamer's own gst_video_dma_drm_* helpers say, so the test catches both a
 * wrong table and a spelling GStreamer would not parse.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>

#include <drm_fourcc.h>

typedef struct
{
  guint32 fourcc;
  const gchar *name;
  guint bpp;
  GstVideoFormat format;
  const gchar *format_name;     /* NULL: no system-memory format */
} Format;

/* GVT-g's primary formats without C8 (fb_decoder.c). */
static const Format formats[] = {
  {DRM_FORMAT_XRGB8888, "XR24", 4, GST_VIDEO_FORMAT_BGRx, "BGRx"},
  {DRM_FORMAT_ARGB8888, "AR24", 4, GST_VIDEO_FORMAT_BGRA, "BGRA"},
  {DRM_FORMAT_XBGR8888, "XB24", 4, GST_VIDEO_FORMAT_RGBx, "RGBx"},
  {DRM_FORMAT_ABGR8888, "AB24", 4, GST_VIDEO_FORMAT_RGBA, "RGBA"},
  {DRM_FORMAT_XRGB2101010, "XR30", 4, GST_VIDEO_FORMAT_UNKNOWN, NULL},
  {DRM_FORMAT_XBGR2101010, "XB30", 4, GST_VIDEO_FORMAT_UNKNOWN, NULL},
  {DRM_FORMAT_RGB565, "RG16", 2, GST_VIDEO_FORMAT_RGB16, "RGB16"},
  {DRM_FORMAT_YUYV, "YUYV", 2, GST_VIDEO_FORMAT_YUY2, "YUY2"},
  {DRM_FORMAT_UYVY, "UYVY", 2, GST_VIDEO_FORMAT_UYVY, "UYVY"},
  {DRM_FORMAT_YVYU, "YVYU", 2, GST_VIDEO_FORMAT_YVYU, "YVYU"},
  {DRM_FORMAT_VYUY, "VYUY", 2, GST_VIDEO_FORMAT_VYUY, "VYUY"},
};

typedef struct
{
  guint64 modifier;
  const gchar *suffix;          /* of drm-format; linear has none */
  guint tile_width;
  guint tile_height;
} Layout;

static const Layout layouts[] = {
  {DRM_FORMAT_MOD_LINEAR, "", 1, 1},
  {I915_FORMAT_MOD_X_TILED, ":0x0100000000000001", 512, 8},
  {I915_FORMAT_MOD_Y_TILED, ":0x0100000000000002", 128, 32},
  {I915_FORMAT_MOD_Yf_TILED, ":0x0100000000000003", 128, 32},
};

#define WIDTH 1920
#define HEIGHT 1080

/* A valid 1920x1080 plane: stride a whole number of 512-byte tiles, size
 * whole 32-row tile rows. */
static GstVfioPlane
make_plane (GstVfioPlaneTypes type, guint32 fourcc, guint bpp, guint64 modifier)
{
  GstVfioPlane plane = {
    .kind = GST_VFIO_PLANE_PRIMARY,
    .type = type,
    .present = TRUE,
    .fourcc = fourcc,
    .modifier = modifier,
    .width = WIDTH,
    .height = HEIGHT,
    .stride = GST_ROUND_UP_N (WIDTH * bpp, 512),
    /* A dma-buf id, or a device-specific region (mdpy's is 16). */
    .id = type == GST_VFIO_PLANE_TYPE_REGION ? 16 : 3,
  };

  plane.size = plane.stride * GST_ROUND_UP_N (HEIGHT, 32);
  fail_unless (gst_vfio_plane_validate (&plane, NULL));
  return plane;
}

/* For failure messages: check's printf does not know GST_PTR_FORMAT. The
 * string lives until the next call. */
static const gchar *
describe (const GstCaps * caps)
{
  static gchar *str;

  g_free (str);
  str = caps ? gst_caps_to_string (caps) : g_strdup ("NULL");
  return str;
}

static gboolean
structure_is_dmabuf (GstCaps * caps, guint i)
{
  GstCapsFeatures *features = gst_caps_get_features (caps, i);

  return features && gst_caps_features_contains (features,
      GST_CAPS_FEATURE_MEMORY_DMABUF);
}

static gboolean
structure_is_sysmem (GstCaps * caps, guint i)
{
  GstCapsFeatures *features = gst_caps_get_features (caps, i);

  return !features || gst_caps_features_is_equal (features,
      GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY);
}

/* caps[i] as caps of its own, with its features. */
static GstCaps *
nth_caps (GstCaps * caps, guint i)
{
  return gst_caps_copy_nth (caps, i);
}

static void
check_dmabuf_structure (GstCaps * caps, guint i, const Format * format,
    const Layout * layout)
{
  GstStructure *s = gst_caps_get_structure (caps, i);
  gchar *expected = g_strconcat (format->name, layout->suffix, NULL);
  gchar *gst_name = gst_video_dma_drm_fourcc_to_string (format->fourcc,
      layout->modifier);
  gint width, height;

  fail_unless (structure_is_dmabuf (caps, i), "%s", describe (caps));
  fail_unless (gst_structure_has_name (s, "video/x-raw"));
  fail_unless_equals_string (gst_structure_get_string (s, "format"), "DMA_DRM");
  fail_unless_equals_string (gst_structure_get_string (s, "drm-format"),
      expected);
  fail_unless_equals_string (gst_structure_get_string (s, "drm-format"),
      gst_name);
  fail_unless (gst_structure_get_int (s, "width", &width));
  fail_unless (gst_structure_get_int (s, "height", &height));
  fail_unless_equals_int (width, WIDTH);
  fail_unless_equals_int (height, HEIGHT);

  g_free (gst_name);
  g_free (expected);
}

static void
check_sysmem_structure (GstCaps * caps, guint i, const Format * format)
{
  GstStructure *s = gst_caps_get_structure (caps, i);
  gint width, height;

  fail_unless (structure_is_sysmem (caps, i), "%s", describe (caps));
  fail_unless (gst_structure_has_name (s, "video/x-raw"));
  fail_unless_equals_string (gst_structure_get_string (s, "format"),
      format->format_name);
  fail_unless_equals_string (gst_structure_get_string (s, "format"),
      gst_video_format_to_string (format->format));
  fail_if (gst_structure_has_field (s, "drm-format"));
  fail_unless (gst_structure_get_int (s, "width", &width));
  fail_unless (gst_structure_get_int (s, "height", &height));
  fail_unless_equals_int (width, WIDTH);
  fail_unless_equals_int (height, HEIGHT);
}

GST_START_TEST (test_lookup)
{
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    const GstVfioFormatInfo *info = gst_vfio_format_lookup (formats[i].fourcc);

    fail_unless (info != NULL, "%s missing", formats[i].name);
    fail_unless_equals_int (info->fourcc, formats[i].fourcc);
    fail_unless_equals_int (info->bytes_per_pixel, formats[i].bpp);
    fail_unless_equals_int (info->format, formats[i].format);
  }

  fail_unless (gst_vfio_format_lookup (DRM_FORMAT_C8) == NULL);
  fail_unless (gst_vfio_format_lookup (DRM_FORMAT_NV12) == NULL);
  fail_unless (gst_vfio_format_lookup (DRM_FORMAT_RGB888) == NULL);
  fail_unless (gst_vfio_format_lookup (0) == NULL);
  fail_unless (gst_vfio_format_lookup (G_MAXUINT32) == NULL);
}

GST_END_TEST;

/* The table agrees with GStreamer's own fourcc <-> format mapping. */
GST_START_TEST (test_lookup_matches_gstreamer)
{
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    const GstVfioFormatInfo *info = gst_vfio_format_lookup (formats[i].fourcc);
    GstVideoFormat gst_format =
        gst_video_dma_drm_fourcc_to_format (formats[i].fourcc);

    fail_unless (info != NULL, "%s missing", formats[i].name);
    if (info->format != GST_VIDEO_FORMAT_UNKNOWN) {
      fail_unless_equals_int (info->format, gst_format);
      fail_unless_equals_int (gst_video_dma_drm_fourcc_from_format
          (info->format), formats[i].fourcc);
    } else {
#if !GST_CHECK_VERSION (1, 27, 0)
      /* XR30/XB30: GStreamer 1.26 has no name for them either. Newer ones
       * do: the table may then name them too. */
      fail_unless_equals_int (gst_format, GST_VIDEO_FORMAT_UNKNOWN);
#endif
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_modifier_tile)
{
  for (guint i = 0; i < G_N_ELEMENTS (layouts); i++) {
    guint tile_width = 0, tile_height = 0;

    fail_unless (gst_vfio_modifier_get_tile (layouts[i].modifier,
            &tile_width, &tile_height));
    fail_unless_equals_int (tile_width, layouts[i].tile_width);
    fail_unless_equals_int (tile_height, layouts[i].tile_height);
  }

  {
    guint tile_width, tile_height;

    fail_if (gst_vfio_modifier_get_tile (I915_FORMAT_MOD_Y_TILED_CCS,
            &tile_width, &tile_height));
    fail_if (gst_vfio_modifier_get_tile (I915_FORMAT_MOD_4_TILED,
            &tile_width, &tile_height));
    fail_if (gst_vfio_modifier_get_tile (DRM_FORMAT_MOD_INVALID,
            &tile_width, &tile_height));
  }
}

GST_END_TEST;

/* The exact spelling for XR24, which GStreamer parses: linear without a
 * modifier suffix, tiled with the 16-digit hex modifier. */
GST_START_TEST (test_xr24_drm_format_strings)
{
  static const gchar *const expected[] = {
    "XR24",
    "XR24:0x0100000000000001",
    "XR24:0x0100000000000002",
    "XR24:0x0100000000000003",
  };

  for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
    GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
        DRM_FORMAT_XRGB8888, 4, layouts[l].modifier);
    GstCaps *caps = gst_vfio_plane_get_caps (&plane);
    GstStructure *s;
    GstCaps *expected_caps, *drm_caps;
    gchar *str;

    fail_unless (caps != NULL);
    GST_DEBUG ("%" GST_PTR_FORMAT, caps);
    s = gst_caps_get_structure (caps, 0);
    fail_unless_equals_string (gst_structure_get_string (s, "drm-format"),
        expected[l]);

    /* What a DMABuf consumer asking for exactly this accepts. */
    str = g_strdup_printf ("video/x-raw(memory:DMABuf), format=DMA_DRM, "
        "drm-format=%s, width=%d, height=%d", expected[l], WIDTH, HEIGHT);
    expected_caps = gst_caps_from_string (str);
    fail_unless (gst_caps_can_intersect (caps, expected_caps),
        "%s does not meet %s", describe (caps), str);
    drm_caps = nth_caps (caps, 0);
    fail_unless (gst_caps_is_subset (drm_caps, expected_caps));
    gst_caps_unref (drm_caps);
    gst_caps_unref (expected_caps);
    g_free (str);
    gst_caps_unref (caps);
  }
}

GST_END_TEST;

/* Every format and modifier: DMA_DRM caps first, then system memory only
 * where the layout is linear and GStreamer names the format. */
GST_START_TEST (test_dmabuf_plane_caps)
{
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      const Format *format = &formats[f];
      const Layout *layout = &layouts[l];
      GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
          format->fourcc, format->bpp, layout->modifier);
      GstCaps *caps = gst_vfio_plane_get_caps (&plane);
      gboolean sysmem = format->format_name != NULL
          && layout->modifier == DRM_FORMAT_MOD_LINEAR;

      fail_unless (caps != NULL, "no caps for %s%s", format->name,
          layout->suffix);
      GST_DEBUG ("%s%s: %" GST_PTR_FORMAT, format->name, layout->suffix, caps);
      fail_unless_equals_int (gst_caps_get_size (caps), sysmem ? 2 : 1);
      check_dmabuf_structure (caps, 0, format, layout);
      if (sysmem)
        check_sysmem_structure (caps, 1, format);
      gst_caps_unref (caps);
    }
  }
}

GST_END_TEST;

/* No system-memory caps for XR30/XB30 in any layout, and none for tiled
 * layouts of any format. */
GST_START_TEST (test_no_sysmem_caps)
{
  static const guint32 ten_bit[] = { DRM_FORMAT_XRGB2101010,
    DRM_FORMAT_XBGR2101010
  };

  for (guint i = 0; i < G_N_ELEMENTS (ten_bit); i++) {
    GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF, ten_bit[i],
        4, DRM_FORMAT_MOD_LINEAR);
    GstCaps *caps = gst_vfio_plane_get_caps (&plane);
    GstVideoInfo info;

    fail_unless_equals_int (gst_caps_get_size (caps), 1);
    fail_unless (structure_is_dmabuf (caps, 0));
    fail_if (gst_vfio_plane_to_video_info (&plane, &info));
    gst_caps_unref (caps);
  }

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint l = 1; l < G_N_ELEMENTS (layouts); l++) {
      GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
          formats[f].fourcc, formats[f].bpp, layouts[l].modifier);
      GstCaps *caps = gst_vfio_plane_get_caps (&plane);
      GstVideoInfo info;

      for (guint i = 0; i < gst_caps_get_size (caps); i++)
        fail_unless (structure_is_dmabuf (caps, i), "%s", describe (caps));
      fail_if (gst_vfio_plane_to_video_info (&plane, &info));
      gst_caps_unref (caps);
    }
  }
}

GST_END_TEST;

/* A region plane is read through a mapping: system memory only, never
 * DMABuf, and nothing at all where system memory cannot describe it. */
GST_START_TEST (test_region_plane_caps)
{
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      const Format *format = &formats[f];
      const Layout *layout = &layouts[l];
      GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_REGION,
          format->fourcc, format->bpp, layout->modifier);
      GstCaps *caps = gst_vfio_plane_get_caps (&plane);

      if (format->format_name && layout->modifier == DRM_FORMAT_MOD_LINEAR) {
        fail_unless (caps != NULL);
        fail_unless_equals_int (gst_caps_get_size (caps), 1);
        check_sysmem_structure (caps, 0, format);
        gst_caps_unref (caps);
      } else {
        fail_unless (caps == NULL, "%s%s region: %s", format->name,
            layout->suffix, describe (caps));
      }
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_no_caps)
{
  GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
      DRM_FORMAT_XRGB8888, 4, DRM_FORMAT_MOD_LINEAR);
  GstVideoInfoDmaDrm drm_info;
  GstVideoInfo info;

  /* C8: the uAPI carries no palette. */
  plane.fourcc = DRM_FORMAT_C8;
  fail_unless (gst_vfio_plane_get_caps (&plane) == NULL);
  fail_if (gst_vfio_plane_to_dma_drm_info (&plane, &drm_info));
  fail_if (gst_vfio_plane_to_video_info (&plane, &info));
  plane.type = GST_VFIO_PLANE_TYPE_REGION;
  fail_unless (gst_vfio_plane_get_caps (&plane) == NULL);

  /* Unknown format. */
  plane.type = GST_VFIO_PLANE_TYPE_DMABUF;
  plane.fourcc = DRM_FORMAT_NV12;
  fail_unless (gst_vfio_plane_get_caps (&plane) == NULL);

  /* Display off. */
  memset (&plane, 0, sizeof (plane));
  plane.type = GST_VFIO_PLANE_TYPE_DMABUF;
  fail_unless (gst_vfio_plane_get_caps (&plane) == NULL);
  fail_if (gst_vfio_plane_to_dma_drm_info (&plane, &drm_info));
  fail_if (gst_vfio_plane_to_video_info (&plane, &info));

  /* The values of a plane that is not present are not looked at. */
  plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF, DRM_FORMAT_XRGB8888, 4,
      DRM_FORMAT_MOD_LINEAR);
  plane.present = FALSE;
  fail_unless (gst_vfio_plane_get_caps (&plane) == NULL);
}

GST_END_TEST;

/* The rate belongs to the element: no structure carries one. */
GST_START_TEST (test_no_framerate)
{
  static const GstVfioPlaneTypes types[] = { GST_VFIO_PLANE_TYPE_DMABUF,
    GST_VFIO_PLANE_TYPE_REGION
  };

  for (guint t = 0; t < G_N_ELEMENTS (types); t++) {
    for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
      for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
        GstVfioPlane plane = make_plane (types[t], formats[f].fourcc,
            formats[f].bpp, layouts[l].modifier);
        GstCaps *caps = gst_vfio_plane_get_caps (&plane);

        if (!caps)
          continue;
        for (guint i = 0; i < gst_caps_get_size (caps); i++) {
          GstStructure *s = gst_caps_get_structure (caps, i);

          fail_if (gst_structure_has_field (s, "framerate"),
              "%s", describe (caps));
          fail_if (gst_structure_has_field (s, "max-framerate"));
        }
        gst_caps_unref (caps);
      }
    }
  }
}

GST_END_TEST;

/* The caps parse back into the plane's fourcc, modifier and size with
 * GStreamer's own parsers, as a DMABuf or system-memory consumer would. */
GST_START_TEST (test_caps_parse_back)
{
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      const Format *format = &formats[f];
      const Layout *layout = &layouts[l];
      GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
          format->fourcc, format->bpp, layout->modifier);
      GstCaps *caps = gst_vfio_plane_get_caps (&plane);
      GstCaps *drm_caps = nth_caps (caps, 0);
      GstVideoInfoDmaDrm drm_info;

      fail_unless (gst_video_is_dma_drm_caps (drm_caps), "%s",
          describe (drm_caps));
      fail_unless (gst_caps_is_fixed (drm_caps));
      fail_unless (gst_video_info_dma_drm_from_caps (&drm_info, drm_caps),
          "%s does not parse", describe (drm_caps));
      fail_unless_equals_int (drm_info.drm_fourcc, format->fourcc);
      fail_unless_equals_uint64 (drm_info.drm_modifier, layout->modifier);
      fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&drm_info.vinfo), WIDTH);
      fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&drm_info.vinfo), HEIGHT);
      gst_caps_unref (drm_caps);

      if (gst_caps_get_size (caps) > 1) {
        GstCaps *sys_caps = nth_caps (caps, 1);
        GstVideoInfo info;

        fail_unless (gst_caps_is_fixed (sys_caps));
        fail_unless (gst_video_info_from_caps (&info, sys_caps));
        fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info), format->format);
        fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), WIDTH);
        fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), HEIGHT);
        gst_caps_unref (sys_caps);
      }
      gst_caps_unref (caps);
    }
  }
}

GST_END_TEST;

/* The video infos carry the guest's stride and size, not GStreamer's
 * defaults for the width. */
GST_START_TEST (test_video_info_layout)
{
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      const Format *format = &formats[f];
      const Layout *layout = &layouts[l];
      GstVfioPlane plane = make_plane (GST_VFIO_PLANE_TYPE_DMABUF,
          format->fourcc, format->bpp, layout->modifier);
      GstVideoInfoDmaDrm drm_info;
      GstVideoInfo info;
      gboolean sysmem = format->format_name != NULL
          && layout->modifier == DRM_FORMAT_MOD_LINEAR;

      /* A stride past the tight one, as GVT-g shows for odd widths. */
      plane.stride += 512;
      plane.size = plane.stride * GST_ROUND_UP_N (HEIGHT, 32);
      fail_unless (gst_vfio_plane_validate (&plane, NULL));

      fail_unless (gst_vfio_plane_to_dma_drm_info (&plane, &drm_info));
      fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&drm_info.vinfo),
          GST_VIDEO_FORMAT_DMA_DRM);
      fail_unless_equals_int (drm_info.drm_fourcc, format->fourcc);
      fail_unless_equals_uint64 (drm_info.drm_modifier, layout->modifier);
      fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&drm_info.vinfo), WIDTH);
      fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&drm_info.vinfo), HEIGHT);
      fail_unless_equals_int (GST_VIDEO_INFO_PLANE_STRIDE (&drm_info.vinfo,
              0), plane.stride);
      fail_unless_equals_int (GST_VIDEO_INFO_PLANE_OFFSET (&drm_info.vinfo,
              0), 0);
      fail_unless_equals_int (GST_VIDEO_INFO_SIZE (&drm_info.vinfo),
          plane.size);

      fail_unless_equals_int (gst_vfio_plane_to_video_info (&plane, &info),
          sysmem);
      if (!sysmem)
        continue;
      fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info), format->format);
      fail_unless_equals_int (GST_VIDEO_INFO_N_PLANES (&info), 1);
      fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), WIDTH);
      fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), HEIGHT);
      fail_unless_equals_int (GST_VIDEO_INFO_PLANE_STRIDE (&info, 0),
          plane.stride);
      fail_unless_equals_int (GST_VIDEO_INFO_PLANE_OFFSET (&info, 0), 0);
      /* The lines only: a frame is never larger than its memory. */
      fail_unless_equals_int (GST_VIDEO_INFO_SIZE (&info),
          plane.stride * HEIGHT);
      fail_unless (GST_VIDEO_INFO_SIZE (&info) <= plane.size);
    }
  }
}

GST_END_TEST;

/* mbochs at 640x480: the values FACTS.md measured. */
GST_START_TEST (test_mbochs_caps)
{
  GstVfioPlane plane = {
    .kind = GST_VFIO_PLANE_PRIMARY,
    .type = GST_VFIO_PLANE_TYPE_DMABUF,
    .present = TRUE,
    .fourcc = DRM_FORMAT_XRGB8888,
    .modifier = DRM_FORMAT_MOD_LINEAR,
    .width = 640,
    .height = 480,
    .stride = 2560,
    .size = 1228800,
    .id = 1,
  };
  GstCaps *caps = gst_vfio_plane_get_caps (&plane);
  GstCaps *expected = gst_caps_from_string ("video/x-raw(memory:DMABuf), "
      "format=DMA_DRM, drm-format=XR24, width=640, height=480; "
      "video/x-raw, format=BGRx, width=640, height=480");

  fail_unless (gst_caps_is_subset (caps, expected), "%s", describe (caps));
  fail_unless_equals_int (gst_caps_get_size (caps), 2);
  fail_unless (structure_is_dmabuf (caps, 0));
  fail_unless (structure_is_sysmem (caps, 1));
  gst_caps_unref (expected);
  gst_caps_unref (caps);
}

GST_END_TEST;

static Suite *
vfioformat_suite (void)
{
  Suite *s = suite_create ("vfioformat");
  TCase *tc = tcase_create ("format");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_lookup);
  tcase_add_test (tc, test_lookup_matches_gstreamer);
  tcase_add_test (tc, test_modifier_tile);
  tcase_add_test (tc, test_xr24_drm_format_strings);
  tcase_add_test (tc, test_dmabuf_plane_caps);
  tcase_add_test (tc, test_no_sysmem_caps);
  tcase_add_test (tc, test_region_plane_caps);
  tcase_add_test (tc, test_no_caps);
  tcase_add_test (tc, test_no_framerate);
  tcase_add_test (tc, test_caps_parse_back);
  tcase_add_test (tc, test_video_info_layout);
  tcase_add_test (tc, test_mbochs_caps);

  return s;
}

GST_CHECK_MAIN (vfioformat);
