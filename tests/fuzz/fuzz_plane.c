/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_plane: a libFuzzer target for what a guest controls, a plane answer
 * of VFIO_DEVICE_QUERY_GFX_PLANE, and for everything built from a plane
 * that passed validation (docs/security.md).
 *
 * Input: 72 bytes, shorter inputs padded with zeros, the rest ignored. A
 * struct vfio_device_gfx_plane_info as the kernel fills it, in host byte
 * order (little-endian on x86-64), then the size of what backs the plane:
 *
 *   offset  size  field
 *        0     4  argsz            ignored
 *        4     4  flags            VFIO_GFX_PLANE_TYPE_REGION (1 << 2) set:
 *                                  a region plane, else a dma-buf plane
 *        8     4  drm_plane_type   2: the cursor, else the primary plane
 *       12     4  drm_format
 *       16     8  drm_format_mod
 *       24     4  width
 *       28     4  height
 *       32     4  stride
 *       36     4  size
 *       40     4  x_pos
 *       44     4  y_pos
 *       48     4  x_hot
 *       52     4  y_hot
 *       56     4  dmabuf_id or region_index
 *       60     4  padding of the struct
 *       64     8  backing size: what lseek() says of the dma-buf, or the
 *                 size of the region
 *
 * tests/fuzz/make-corpus writes the seeds of corpus/ in this layout.
 *
 * Each input becomes a GstVfioPlane the way gst_vfio_device_query_plane()
 * makes one, then:
 *  - gst_vfio_plane_validate() must agree with the rules of
 *    docs/security.md, restated here independently, both ways;
 *  - gst_vfio_plane_fits() must accept exactly size <= backing size;
 *  - for a plane that passed both: the DMA_DRM and system-memory video
 *    info and the caps must describe it exactly (stride, size, one plane
 *    at offset 0) and the caps must parse back (gst_video_info_from_caps,
 *    gst_video_info_dma_drm_from_caps) to the same fourcc, modifier and
 *    size;
 *  - then a real memfd of the backing size is mapped, with the end of the
 *    plane against an inaccessible page, and every byte the plane
 *    describes is read: each line (width x bytes per pixel, or what
 *    GStreamer's own description of the format covers, whichever is more)
 *    of a linear plane, the whole tile rows of a tiled one; for system
 *    memory also through gst_video_frame_map() and the format's unpack
 *    function, as videoconvert would. A read past the plane faults.
 * An oracle that fails aborts: libFuzzer keeps the input.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/allocators/allocators.h>
#include <gst/vfio/vfio.h>
#include <gst/video/video.h>

#include <drm_fourcc.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void) (addr), (void) (size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void) (addr), (void) (size))
#endif

#define INPUT_SIZE 72
/* Larger backings are validated and described, not mapped: fast runs. */
#define MAX_MAPPED (64u << 20)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

#define CHECK(cond, ...) G_STMT_START {                                 \
  if (G_UNLIKELY (!(cond))) {                                           \
    fprintf (stderr, "fuzz_plane: %s:%d: failed: %s: ", __FILE__,      \
        __LINE__, #cond);                                               \
    fprintf (stderr, __VA_ARGS__);                                      \
    fprintf (stderr, "\n");                                             \
    abort ();                                                           \
  }                                                                     \
} G_STMT_END

#define PLANE_FMT "%" GST_FOURCC_FORMAT " mod 0x%" G_GINT64_MODIFIER "x " \
    "%ux%u stride %u size %u"
#define PLANE_ARGS(p) GST_FOURCC_ARGS ((p)->fourcc), (p)->modifier, \
    (p)->width, (p)->height, (p)->stride, (p)->size

/* ---------------------------------------------------------------------- */
/* The input */

static void
decode (const uint8_t * data, size_t size, GstVfioPlane * plane,
    guint64 * backing)
{
  guint8 bytes[INPUT_SIZE] = { 0, };
  struct vfio_device_gfx_plane_info info;

  G_STATIC_ASSERT (sizeof (info) == 64);
  G_STATIC_ASSERT (sizeof (info) + sizeof (*backing) == INPUT_SIZE);

  memcpy (bytes, data, MIN (size, sizeof (bytes)));
  memcpy (&info, bytes, sizeof (info));
  memcpy (backing, bytes + sizeof (info), sizeof (*backing));

  /* As plane_from_info() in gstvfiodevice.c. */
  memset (plane, 0, sizeof (*plane));
  plane->kind = info.drm_plane_type == GST_VFIO_PLANE_CURSOR ?
      GST_VFIO_PLANE_CURSOR : GST_VFIO_PLANE_PRIMARY;
  plane->type = (info.flags & VFIO_GFX_PLANE_TYPE_REGION) ?
      GST_VFIO_PLANE_TYPE_REGION : GST_VFIO_PLANE_TYPE_DMABUF;
  plane->fourcc = info.drm_format;
  plane->modifier = info.drm_format_mod;
  plane->width = info.width;
  plane->height = info.height;
  plane->stride = info.stride;
  plane->size = info.size;
  plane->x = info.x_pos;
  plane->y = info.y_pos;
  plane->x_hot = info.x_hot;
  plane->y_hot = info.y_hot;
  plane->id = info.dmabuf_id;
  plane->present = info.drm_format || info.drm_format_mod || info.width
      || info.height || info.stride || info.size || info.dmabuf_id;
}

/* ---------------------------------------------------------------------- */
/* The rules of docs/security.md, restated */

static guint
rule_bytes_per_pixel (guint32 fourcc)
{
  switch (fourcc) {
    case DRM_FORMAT_XRGB8888:
    case DRM_FORMAT_ARGB8888:
    case DRM_FORMAT_XBGR8888:
    case DRM_FORMAT_ABGR8888:
    case DRM_FORMAT_XRGB2101010:
    case DRM_FORMAT_XBGR2101010:
      return 4;
    case DRM_FORMAT_RGB565:
    case DRM_FORMAT_YUYV:
    case DRM_FORMAT_UYVY:
    case DRM_FORMAT_YVYU:
    case DRM_FORMAT_VYUY:
      return 2;
    default:
      return 0;                 /* C8 and the unknown */
  }
}

static gboolean
rule_tile (guint64 modifier, guint * width, guint * height)
{
  switch (modifier) {
    case DRM_FORMAT_MOD_LINEAR:
      *width = *height = 1;
      return TRUE;
    case I915_FORMAT_MOD_X_TILED:
      *width = 512;
      *height = 8;
      return TRUE;
    case I915_FORMAT_MOD_Y_TILED:
    case I915_FORMAT_MOD_Yf_TILED:
      *width = 128;
      *height = 32;
      return TRUE;
    default:
      return FALSE;
  }
}

/* Rows the plane occupies: whole tile rows. */
static guint64
rule_rows (const GstVfioPlane * p)
{
  guint tile_width = 1, tile_height = 1;

  rule_tile (p->modifier, &tile_width, &tile_height);
  return ((guint64) p->height + tile_height - 1) / tile_height * tile_height;
}

/* Packed 4:2:2 pixels come in pairs: a line holds whole pairs. */
static guint64
rule_line_pixels (const GstVfioPlane * p)
{
  switch (p->fourcc) {
    case DRM_FORMAT_YUYV:
    case DRM_FORMAT_UYVY:
    case DRM_FORMAT_YVYU:
    case DRM_FORMAT_VYUY:
      return ((guint64) p->width + 1) / 2 * 2;
    default:
      return p->width;
  }
}

static gboolean
rule_valid (const GstVfioPlane * p)
{
  guint bpp = rule_bytes_per_pixel (p->fourcc);
  guint tile_width, tile_height;

  if (!p->present || p->width < 1 || p->width > 16384 || p->height < 1
      || p->height > 16384 || bpp == 0
      || !rule_tile (p->modifier, &tile_width, &tile_height))
    return FALSE;
  /* A region plane names a device-specific region: never a BAR, the
   * config space or the VGA window (indexes 0 .. 8). */
  if (p->type == GST_VFIO_PLANE_TYPE_REGION && p->id < 9)
    return FALSE;
  return (guint64) p->stride >= rule_line_pixels (p) * bpp
      && p->stride <= 256 * 1024 && p->stride % tile_width == 0
      && (guint64) p->size >= (guint64) p->stride * rule_rows (p);
}

static void
check_validation (const GstVfioPlane * p, gboolean valid, GError * error)
{
  CHECK (valid == rule_valid (p), "validate says %d for " PLANE_FMT, valid,
      PLANE_ARGS (p));
  if (valid) {
    CHECK (error == NULL, "%s", error->message);
  } else {
    CHECK (error != NULL, "no reason for " PLANE_FMT, PLANE_ARGS (p));
    CHECK (g_error_matches (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED),
        "%s", error->message);
    CHECK (error->message && *error->message, "empty reason");
  }
}

/* ---------------------------------------------------------------------- */
/* Descriptions: video info and caps */

static gboolean
has_sysmem_form (const GstVfioPlane * p)
{
  const GstVfioFormatInfo *format = gst_vfio_format_lookup (p->fourcc);

  return p->modifier == DRM_FORMAT_MOD_LINEAR
      && format->format != GST_VIDEO_FORMAT_UNKNOWN;
}

static void
check_video_infos (const GstVfioPlane * p, GstVideoInfo * sysmem)
{
  const GstVfioFormatInfo *format = gst_vfio_format_lookup (p->fourcc);
  GstVideoInfoDmaDrm drm;

  CHECK (format != NULL && format->bytes_per_pixel ==
      rule_bytes_per_pixel (p->fourcc), PLANE_FMT, PLANE_ARGS (p));

  CHECK (gst_vfio_plane_to_dma_drm_info (p, &drm), PLANE_FMT,
      PLANE_ARGS (p));
  CHECK (drm.drm_fourcc == p->fourcc && drm.drm_modifier == p->modifier,
      PLANE_FMT, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_FORMAT (&drm.vinfo) == GST_VIDEO_FORMAT_DMA_DRM,
      PLANE_FMT, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_WIDTH (&drm.vinfo) == (gint) p->width
      && GST_VIDEO_INFO_HEIGHT (&drm.vinfo) == (gint) p->height,
      PLANE_FMT, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_PLANE_STRIDE (&drm.vinfo, 0) == (gint) p->stride
      && GST_VIDEO_INFO_PLANE_OFFSET (&drm.vinfo, 0) == 0
      && GST_VIDEO_INFO_SIZE (&drm.vinfo) == p->size, PLANE_FMT,
      PLANE_ARGS (p));

  CHECK (gst_vfio_plane_to_video_info (p, sysmem) == has_sysmem_form (p),
      PLANE_FMT, PLANE_ARGS (p));
  if (!has_sysmem_form (p))
    return;
  CHECK (GST_VIDEO_INFO_FORMAT (sysmem) == format->format, PLANE_FMT,
      PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_N_PLANES (sysmem) == 1, PLANE_FMT, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_WIDTH (sysmem) == (gint) p->width
      && GST_VIDEO_INFO_HEIGHT (sysmem) == (gint) p->height, PLANE_FMT,
      PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_PLANE_STRIDE (sysmem, 0) == (gint) p->stride
      && GST_VIDEO_INFO_PLANE_OFFSET (sysmem, 0) == 0, PLANE_FMT,
      PLANE_ARGS (p));
  /* The buffer pushed holds the plane: its size bounds a frame. */
  CHECK (GST_VIDEO_INFO_SIZE (sysmem) == (gsize) p->stride * p->height
      && GST_VIDEO_INFO_SIZE (sysmem) <= p->size, PLANE_FMT, PLANE_ARGS (p));
}

static void
check_dmabuf_caps (const GstVfioPlane * p, GstCaps * one)
{
  GstStructure *s = gst_caps_get_structure (one, 0);
  g_autofree gchar *name = gst_video_dma_drm_fourcc_to_string (p->fourcc,
      p->modifier);
  GstVideoInfoDmaDrm drm;

  CHECK (g_strcmp0 (gst_structure_get_string (s, "format"), "DMA_DRM") == 0,
      PLANE_FMT, PLANE_ARGS (p));
  CHECK (name && g_strcmp0 (gst_structure_get_string (s, "drm-format"),
          name) == 0, PLANE_FMT, PLANE_ARGS (p));
  CHECK (gst_video_info_dma_drm_from_caps (&drm, one), PLANE_FMT,
      PLANE_ARGS (p));
  CHECK (drm.drm_fourcc == p->fourcc && drm.drm_modifier == p->modifier,
      "caps give back %08x:%016" G_GINT64_MODIFIER "x for " PLANE_FMT,
      drm.drm_fourcc, drm.drm_modifier, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_WIDTH (&drm.vinfo) == (gint) p->width
      && GST_VIDEO_INFO_HEIGHT (&drm.vinfo) == (gint) p->height,
      PLANE_FMT, PLANE_ARGS (p));
}

static void
check_sysmem_caps (const GstVfioPlane * p, GstCaps * one,
    const GstVideoInfo * sysmem)
{
  GstVideoInfo info;

  CHECK (gst_video_info_from_caps (&info, one), PLANE_FMT, PLANE_ARGS (p));
  CHECK (GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_INFO_FORMAT (sysmem)
      && GST_VIDEO_INFO_WIDTH (&info) == (gint) p->width
      && GST_VIDEO_INFO_HEIGHT (&info) == (gint) p->height, PLANE_FMT,
      PLANE_ARGS (p));
  /* A stride GStreamer picks itself never exceeds the frame we push. */
  CHECK (GST_VIDEO_INFO_SIZE (&info) <= (gsize) p->stride * p->height
      || GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) > (gint) p->stride,
      PLANE_FMT, PLANE_ARGS (p));
}

static void
check_caps (const GstVfioPlane * p, const GstVideoInfo * sysmem)
{
  GstCaps *caps = gst_vfio_plane_get_caps (p);
  gboolean want_dmabuf = p->type == GST_VFIO_PLANE_TYPE_DMABUF;
  guint n_dmabuf = 0, n_sysmem = 0;

  CHECK ((caps != NULL) == (want_dmabuf || has_sysmem_form (p)), PLANE_FMT,
      PLANE_ARGS (p));
  if (!caps)
    return;

  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    GstCaps *one = gst_caps_copy_nth (caps, i);

    CHECK (gst_caps_is_fixed (one), PLANE_FMT, PLANE_ARGS (p));
    CHECK (!gst_structure_has_field (gst_caps_get_structure (one, 0),
            "framerate"), PLANE_FMT, PLANE_ARGS (p));
    if (gst_caps_features_contains (gst_caps_get_features (one, 0),
            GST_CAPS_FEATURE_MEMORY_DMABUF)) {
      /* DMABuf first: the best one. */
      CHECK (i == 0, PLANE_FMT, PLANE_ARGS (p));
      check_dmabuf_caps (p, one);
      n_dmabuf++;
    } else {
      check_sysmem_caps (p, one, sysmem);
      n_sysmem++;
    }
    gst_caps_unref (one);
  }
  CHECK (n_dmabuf == (want_dmabuf ? 1u : 0u), PLANE_FMT, PLANE_ARGS (p));
  CHECK (n_sysmem == (has_sysmem_form (p) ? 1u : 0u), PLANE_FMT,
      PLANE_ARGS (p));
  gst_caps_unref (caps);
}

/* ---------------------------------------------------------------------- */
/* Reading what the plane describes */

static volatile guint8 sink;

/* A branch of its own for a condition that is only data otherwise: how
 * close a plane comes to its end is what the fuzzer has to explore, and
 * coverage alone cannot tell a tight plane from a loose one. */
static volatile guint guide_sink;
#define GUIDE(cond) G_STMT_START { if (cond) guide_sink = __LINE__; } G_STMT_END

static void
read_bytes (const guint8 * data, gsize n)
{
  guint8 x = 0;

  for (gsize i = 0; i < n; i++)
    x ^= data[i];
  sink ^= x;
}

/* The bytes of one line that GStreamer's description of @info's format
 * covers: the last byte of every component of the last pixel (group). */
static gsize
format_line_extent (const GstVideoInfo * info)
{
  const GstVideoFormatInfo *finfo = info->finfo;
  gsize extent = 0;

  for (guint c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo); c++) {
    gsize width = GST_VIDEO_SUB_SCALE (GST_VIDEO_FORMAT_INFO_W_SUB (finfo,
            c), GST_VIDEO_INFO_WIDTH (info));
    gsize bytes = (GST_VIDEO_FORMAT_INFO_SHIFT (finfo, c) +
        GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) + 7) / 8;

    if (GST_VIDEO_FORMAT_INFO_PLANE (finfo, c) != 0 || width == 0)
      continue;
    extent = MAX (extent, GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c) +
        (width - 1) * GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c) + bytes);
  }
  return extent;
}

/* Every line, as the plane and GStreamer describe it. */
static void
read_lines (const GstVfioPlane * p, const guint8 * plane,
    const GstVideoInfo * sysmem)
{
  gsize line = (gsize) p->width * rule_bytes_per_pixel (p->fourcc);

  if (p->modifier != DRM_FORMAT_MOD_LINEAR) {
    /* A tiled surface is read in whole tiles, by the GPU or a detiler. */
    read_bytes (plane, (gsize) p->stride * rule_rows (p));
    return;
  }
  if (sysmem)
    line = MAX (line, format_line_extent (sysmem));

  {
    gint64 end = (gint64) (p->height - 1) * p->stride + line;

    GUIDE (end > (gint64) p->size);
    GUIDE (end == (gint64) p->size);
    GUIDE (end < (gint64) p->size && end + 8 > (gint64) p->size);
    GUIDE (line > (gsize) p->width * rule_bytes_per_pixel (p->fourcc));
    GUIDE (line == p->stride);
    GUIDE (p->width % 2 == 1);
  }
  for (guint y = 0; y < p->height; y++)
    read_bytes (plane + (gsize) y * p->stride, line);
}

/* What videoconvert does with a system-memory frame: map it, unpack each
 * line. GStreamer is not instrumented: the guard page catches it. */
static void
unpack_frame (const GstVfioPlane * p, guint8 * plane,
    const GstVideoInfo * sysmem)
{
  const GstVideoFormatInfo *finfo = sysmem->finfo;
  const GstVideoFormatInfo *unpack_info =
      gst_video_format_get_info (finfo->unpack_format);
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0, };
  gint stride[GST_VIDEO_MAX_PLANES] = { (gint) p->stride, };
  GstBuffer *buffer;
  GstVideoFrame frame;
  gpointer line;

  buffer = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY, plane,
      p->size, 0, p->size, NULL, NULL);
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (sysmem), p->width, p->height, 1, offset,
      stride);
  CHECK (gst_video_frame_map (&frame, (GstVideoInfo *) sysmem, buffer,
          GST_MAP_READ), "cannot map " PLANE_FMT, PLANE_ARGS (p));

  line = g_malloc ((gsize) (p->width + 8) *
      GST_VIDEO_FORMAT_INFO_PSTRIDE (unpack_info, 0));
  for (guint y = 0; y < p->height; y++)
    finfo->unpack_func (finfo, GST_VIDEO_PACK_FLAG_NONE, line, frame.data,
        frame.info.stride, 0, y, p->width);
  g_free (line);

  gst_video_frame_unmap (&frame);
  gst_buffer_unref (buffer);
}

/* Maps a memfd of @backing bytes so that the plane ends against a page
 * that cannot be read, and reads it. The plane starts at offset
 * (pages - size) of the mapping rather than 0: any byte read past
 * @p->size, by us or by GStreamer, faults; our own reads past it are also
 * caught by ASan in the rest of that page. */
static void
read_plane (const GstVfioPlane * p, guint64 backing,
    const GstVideoInfo * sysmem)
{
  gsize page = sysconf (_SC_PAGESIZE);
  gsize map_size = (p->size + page - 1) / page * page;
  guint8 *reserved, *base, *plane;
  int fd;

  fd = memfd_create ("fuzz-plane", MFD_CLOEXEC);
  CHECK (fd >= 0, "memfd_create: %s", g_strerror (errno));
  CHECK (ftruncate (fd, backing) == 0, "ftruncate %" G_GUINT64_FORMAT
      ": %s", backing, g_strerror (errno));

  reserved = mmap (NULL, map_size + page, PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK (reserved != MAP_FAILED, "mmap: %s", g_strerror (errno));
  base = mmap (reserved, map_size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  CHECK (base == reserved, "mmap of the memfd: %s", g_strerror (errno));
  plane = base + (map_size - p->size);
  ASAN_POISON_MEMORY_REGION (base, map_size - p->size);

  read_lines (p, plane, sysmem);
  if (sysmem)
    unpack_frame (p, plane, sysmem);

  ASAN_UNPOISON_MEMORY_REGION (base, map_size);
  munmap (reserved, map_size + page);
  close (fd);
}

/* ---------------------------------------------------------------------- */

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* Types and caps only: no plugin is loaded or scanned. */
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", FALSE);
  g_setenv ("GST_PLUGIN_PATH_1_0", "", FALSE);
  g_setenv ("GST_REGISTRY_FORK", "no", FALSE);
  gst_init (NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GstVfioPlane plane;
  GstVideoInfo sysmem;
  GError *error = NULL;
  guint64 backing;
  gboolean valid, fits;

  decode (data, size, &plane, &backing);

  valid = gst_vfio_plane_validate (&plane, &error);
  check_validation (&plane, valid, error);
  g_clear_error (&error);
  if (!valid)
    return 0;

  fits = gst_vfio_plane_fits (&plane, backing, &error);
  CHECK (fits == (plane.size <= backing), "fits says %d for %u bytes in %"
      G_GUINT64_FORMAT, fits, plane.size, backing);
  CHECK (fits == (error == NULL), "error set: %d", fits);
  g_clear_error (&error);
  if (!fits)
    return 0;

  CHECK (gst_vfio_plane_same_layout (&plane, &plane), "same layout");
  check_video_infos (&plane, &sysmem);
  check_caps (&plane, &sysmem);

  if (backing <= MAX_MAPPED)
    read_plane (&plane, backing, has_sysmem_form (&plane) ? &sysmem : NULL);
  return 0;
}
