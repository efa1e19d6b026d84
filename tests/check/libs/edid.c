/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * EDID generation and the EDID region protocol.
 *
 * Generation is checked by others' code, not by bytes written here:
 * libdisplay-info parses every generated block and must report no failure,
 * its CVT implementation gives the reduced-blanking v2 timing each
 * preferred mode must match, its DMT table the timings behind the lower
 * modes; edid-decode --check must pass each block too. Without
 * libdisplay-info (or edid-decode) the rest runs and the test ends as
 * skipped, saying what was not checked.
 *
 * The protocol runs against the emulated mdev (tests/emu), whose EDID
 * region keeps GVT-g's rules: the register sequence, the access sizes,
 * the device's limits and refusals.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/vfio/vfio.h>
#include <glib/gstdio.h>
#include <vfioemu.h>

#include <drm_fourcc.h>
#include <math.h>
#include <stddef.h>

#ifdef HAVE_LIBDISPLAY_INFO
#include <libdisplay-info/cvt.h>
#include <libdisplay-info/dmt.h>
#include <libdisplay-info/edid.h>
#include <libdisplay-info/info.h>
#endif

#define UUID "5d0c2a7e-3f1b-4c8e-9b2d-6e7f8a9b0c1d"
#define GROUP 21
#define EXIT_SKIP 77

#define LINK_STATE offsetof (struct vfio_region_gfx_edid, link_state)
#define EDID_SIZE offsetof (struct vfio_region_gfx_edid, edid_size)

/* The modes every check runs over: common ones, odd sizes, high rates. */
static const GstVfioEdidMode modes[] = {
  {640, 480, 60},
  {800, 600, 60},
  {1024, 768, 60},
  {1280, 720, 60},
  {1280, 800, 60},
  {1366, 768, 60},
  {1440, 900, 60},
  {1600, 900, 60},
  {1920, 1080, 60},
  {1920, 1080, 144},
  {1920, 1200, 60},
  {2560, 1440, 60},
  {2560, 1440, 144},
  {3440, 1440, 60},
  {3840, 2160, 60},
  {1280, 720, 120},
  {1024, 768, 75},
  {1360, 768, 60},
  {1921, 1081, 60},
  {800, 600, 30},
  {640, 480, 240},
  {4095, 2160, 60},
  {4095, 4095, 24},
  {1920, 1080, 240},
  {800, 600, 24},
  {4095, 1, 240},
  /* Line rates up to the range limits' 510 kHz, written with the offset
   * flags: the maximum's, and both where no lower mode fits (< 640 wide). */
  {640, 1889, 240},
  {560, 1889, 240},
  {600, 1800, 240},
};

static void
setup (void)
{
  vfio_emu_reset ();
}

static void
teardown (void)
{
  vfio_emu_reset ();
}

static void
assert_error (GError * error, gint code, const gchar * needle1,
    const gchar * needle2)
{
  fail_unless (error != NULL, "no error");
  fail_unless (error->domain == GST_VFIO_ERROR, "domain %s: %s",
      g_quark_to_string (error->domain), error->message);
  fail_unless (error->code == code, "code %d, not %d: %s", error->code, code,
      error->message);
  GST_INFO ("error %d: %s", error->code, error->message);
  fail_unless (!needle1 || strstr (error->message, needle1),
      "'%s' does not mention '%s'", error->message, needle1);
  fail_unless (!needle2 || strstr (error->message, needle2),
      "'%s' does not mention '%s'", error->message, needle2);
}

static GBytes *
generate (const GstVfioEdidMode * mode)
{
  GError *error = NULL;
  GBytes *edid = gst_vfio_edid_generate (mode, 512, &error);

  fail_unless (edid != NULL, "%ux%u@%u: %s", mode->width, mode->height,
      mode->refresh, error ? error->message : "no error");
  fail_unless_equals_int (g_bytes_get_size (edid), 128);
  return edid;
}

/* ---- modes ---- */

GST_START_TEST (test_mode_parse)
{
  static const struct
  {
    const gchar *str;
    guint width, height, refresh;
  } good[] = {
    {"1920x1080", 1920, 1080, 60},
    {"1280x720@120", 1280, 720, 120},
    {"1366X768@60", 1366, 768, 60},
    {"4095x4095@24", 4095, 4095, 24},
    {"1x1@240", 1, 1, 240},
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    GstVfioEdidMode mode;
    GError *error = NULL;
    g_autofree gchar *back = NULL;

    fail_unless (gst_vfio_edid_mode_parse (good[i].str, &mode, &error),
        "%s: %s", good[i].str, error ? error->message : "");
    fail_unless_equals_int (mode.width, good[i].width);
    fail_unless_equals_int (mode.height, good[i].height);
    fail_unless_equals_int (mode.refresh, good[i].refresh);
    back = gst_vfio_edid_mode_to_string (&mode);
    fail_unless (gst_vfio_edid_mode_parse (back, &mode, NULL));
    fail_unless_equals_int (mode.width, good[i].width);
  }
}

GST_END_TEST;

GST_START_TEST (test_mode_parse_errors)
{
  static const struct
  {
    const gchar *str;
    const gchar *needle;
  } bad[] = {
    {"", "not a mode"},
    {"1920", "not a mode"},
    {"1920x", "not a mode"},
    {"x1080", "not a mode"},
    {"1920x1080@", "not a mode"},
    {"1920x1080@60Hz", "not a mode"},
    {" 1920x1080", "not a mode"},
    {"1920 x 1080", "not a mode"},
    {"-1920x1080", "not a mode"},
    {"1920x1080@-60", "not a mode"},
    {"0x1080", "1x1 .. 4095x4095"},
    {"4096x2160", "4095x4095"},
    {"1920x99999", "4095x4095"},
    {"1920x999999", "not a mode"},
    {"1920x1080@23", "24 .. 240 Hz"},
    {"1920x1080@241", "24 .. 240 Hz"},
    {"auto", "not a mode"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GstVfioEdidMode mode;
    GError *error = NULL;

    fail_if (gst_vfio_edid_mode_parse (bad[i].str, &mode, &error), "%s",
        bad[i].str);
    assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, bad[i].needle, NULL);
    g_clear_error (&error);
  }
}

GST_END_TEST;

GST_START_TEST (test_generate_limits)
{
  static const struct
  {
    GstVfioEdidMode mode;
    const gchar *needle;
  } too_fast_lines[] = {
    {{640, 2400, 240}, "648 kHz line rate"},
    {{1000, 4095, 120}, "521 kHz line rate"},
    {{800, 3000, 165}, "536 kHz line rate"},
    {{640, 1891, 240}, "511 kHz line rate"},
    {{1, 4095, 240}, "1105 kHz line rate"},
  };
  GstVfioEdidMode mode = { 1920, 1080, 60 };
  GstVfioEdidMode fast = { 3840, 2160, 120 };
  GError *error = NULL;
  GBytes *edid;

  fail_if (gst_vfio_edid_generate (&mode, 127, &error));
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, "127", NULL);
  g_clear_error (&error);

  edid = gst_vfio_edid_generate (&mode, 128, &error);
  g_assert_no_error (error);
  fail_unless_equals_int (g_bytes_get_size (edid), 128);
  g_bytes_unref (edid);

  /* Nor one below 10 MHz. */
  mode.width = 640;
  mode.height = 480;
  mode.refresh = 24;
  fail_if (gst_vfio_edid_generate (&mode, 512, &error));
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, "8550 kHz", "10 MHz");
  g_clear_error (&error);

  /* A clock beyond 655.35 MHz has no detailed timing. */
  fail_if (gst_vfio_edid_generate (&fast, 512, &error));
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, "655350 kHz", NULL);
  g_clear_error (&error);

  /* Tall modes at high rates: a clock a detailed timing holds, a line
   * rate the range limits do not (at most 510 kHz with the offset). */
  for (guint i = 0; i < G_N_ELEMENTS (too_fast_lines); i++) {
    fail_if (gst_vfio_edid_generate (&too_fast_lines[i].mode, 512, &error),
        "%ux%u@%u", too_fast_lines[i].mode.width,
        too_fast_lines[i].mode.height, too_fast_lines[i].mode.refresh);
    assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT,
        too_fast_lines[i].needle, "range limits hold (510 kHz)");
    g_clear_error (&error);
  }
}

GST_END_TEST;

/* Header, version and checksum without any other library. */
GST_START_TEST (test_generate_block)
{
  static const guint8 header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autoptr (GBytes) edid = generate (&modes[i]);
    const guint8 *b = g_bytes_get_data (edid, NULL);
    guint8 sum = 0;

    fail_unless (memcmp (b, header, 8) == 0);
    fail_unless_equals_int (b[18], 1);
    fail_unless_equals_int (b[19], 4);
    for (guint j = 0; j < 128; j++)
      sum += b[j];
    fail_unless_equals_int (sum, 0);
  }
}

GST_END_TEST;

#ifdef HAVE_LIBDISPLAY_INFO

/* Our timing against libdisplay-info's CVT reduced blanking v2: the same
 * totals, porches and 10 kHz clock. */
GST_START_TEST (test_timing_matches_cvt)
{
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    const GstVfioEdidMode *m = &modes[i];
    struct di_cvt_options options = {
      .red_blank_ver = DI_CVT_REDUCED_BLANKING_V2,
      .h_pixels = m->width,
      .v_lines = m->height,
      .ip_freq_rqd = m->refresh,
    };
    struct di_cvt_timing cvt;
    GstVfioEdidTiming t;
    GError *error = NULL;
    guint cvt_khz, cvt_v_total, v_total;

    di_cvt_compute (&cvt, &options);
    fail_unless (gst_vfio_edid_compute_timing (m, &t, &error), "%s",
        error ? error->message : "");

    /* CVT steps the clock by 1 kHz; EDID counts 10 kHz. */
    cvt_khz = (guint) floor (cvt.act_pixel_freq * 1000 + 0.5) / 10 * 10;
    fail_unless_equals_int (t.pixel_clock_khz, cvt_khz);
    fail_unless_equals_int (t.h_active, (gint) cvt.total_active_pixels);
    fail_unless_equals_int (t.h_front_porch, (gint) cvt.h_front_porch);
    fail_unless_equals_int (t.h_sync, (gint) cvt.h_sync);
    fail_unless_equals_int (t.h_back_porch, (gint) cvt.h_back_porch);
    fail_unless_equals_int (t.v_active, (gint) cvt.v_lines_rnd);
    fail_unless_equals_int (t.v_sync, (gint) cvt.v_sync);
    cvt_v_total = cvt.v_lines_rnd + cvt.v_front_porch + cvt.v_sync +
        cvt.v_back_porch;
    v_total = t.v_active + t.v_front_porch + t.v_sync + t.v_back_porch;
    fail_unless_equals_int (v_total, cvt_v_total);
    /* A front porch too long for a descriptor moves to the back porch. */
    if (cvt.v_front_porch <= 63) {
      fail_unless_equals_int (t.v_front_porch, (gint) cvt.v_front_porch);
      fail_unless_equals_int (t.v_back_porch, (gint) cvt.v_back_porch);
    } else {
      fail_unless_equals_int (t.v_front_porch, 63);
    }
    GST_INFO ("%ux%u@%u: %u kHz, CVT %.3f MHz, %.3f Hz", m->width, m->height,
        m->refresh, t.pixel_clock_khz, cvt.act_pixel_freq,
        cvt.act_frame_rate);
  }
}

GST_END_TEST;

static const struct di_edid_display_range_limits *
find_range_limits (const struct di_edid *edid)
{
  const struct di_edid_display_descriptor *const *d =
      di_edid_get_display_descriptors (edid);

  for (; *d; d++)
    if (di_edid_display_descriptor_get_tag (*d) ==
        DI_EDID_DISPLAY_DESCRIPTOR_RANGE_LIMITS)
      return di_edid_display_descriptor_get_range_limits (*d);
  return NULL;
}

static const gchar *
find_name (const struct di_edid *edid)
{
  const struct di_edid_display_descriptor *const *d =
      di_edid_get_display_descriptors (edid);

  for (; *d; d++)
    if (di_edid_display_descriptor_get_tag (*d) ==
        DI_EDID_DISPLAY_DESCRIPTOR_PRODUCT_NAME)
      return di_edid_display_descriptor_get_string (*d);
  return NULL;
}

/* A timing with @clock_hz and totals is inside the range limits. */
static void
assert_in_range (const struct di_edid_display_range_limits *r,
    gint64 clock_hz, gint h_total, gint v_total, const gchar * what)
{
  gdouble h_hz = (gdouble) clock_hz / h_total;
  gdouble v_hz = h_hz / v_total;

  fail_unless (v_hz >= r->min_vert_rate_hz && v_hz <= r->max_vert_rate_hz,
      "%s: %.3f Hz outside %d .. %d Hz", what, v_hz, r->min_vert_rate_hz,
      r->max_vert_rate_hz);
  fail_unless (h_hz >= r->min_horiz_rate_hz && h_hz <= r->max_horiz_rate_hz,
      "%s: %.0f Hz outside %d .. %d Hz", what, h_hz, r->min_horiz_rate_hz,
      r->max_horiz_rate_hz);
  fail_unless (clock_hz <= r->max_pixel_clock_hz, "%s: clock %" G_GINT64_FORMAT
      " above %" G_GINT64_FORMAT, what, clock_hz, r->max_pixel_clock_hz);
}

static void
check_preferred (const struct di_edid *edid, const GstVfioEdidMode * m)
{
  const struct di_edid_detailed_timing_def *const *dtd =
      di_edid_get_detailed_timing_defs (edid);
  const struct di_edid_detailed_timing_def *t = dtd[0];
  const struct di_edid_misc_features *misc = di_edid_get_misc_features (edid);
  GstVfioEdidTiming want;
  gdouble refresh;
  gint h_total, v_total;

  fail_unless (gst_vfio_edid_compute_timing (m, &want, NULL));
  fail_unless (t != NULL && dtd[1] == NULL, "not one detailed timing");
  fail_unless (misc->preferred_timing_is_native);
  fail_unless_equals_int (t->horiz_video, m->width);
  fail_unless_equals_int (t->vert_video, m->height);
  fail_unless_equals_int (t->pixel_clock_hz, want.pixel_clock_khz * 1000);
  fail_unless (!t->interlaced);
  fail_unless (t->signal_type ==
      DI_EDID_DETAILED_TIMING_DEF_SIGNAL_DIGITAL_SEPARATE);
  h_total = t->horiz_video + t->horiz_blank;
  v_total = t->vert_video + t->vert_blank;
  refresh = (gdouble) t->pixel_clock_hz / h_total / v_total;
  fail_unless (fabs (refresh - m->refresh) / m->refresh < 0.005,
      "%ux%u@%u: %.3f Hz", m->width, m->height, m->refresh, refresh);
  assert_in_range (find_range_limits (edid), t->pixel_clock_hz, h_total,
      v_total, "the preferred mode");
}

/* Every lower mode is a DMT timing inside the range limits, and fits in
 * the preferred mode. */
static guint
check_lower_modes (const struct di_edid *edid, const GstVfioEdidMode * m)
{
  const struct di_edid_standard_timing *const *std =
      di_edid_get_standard_timings (edid);
  const struct di_edid_established_timings_i_ii *est =
      di_edid_get_established_timings_i_ii (edid);
  const struct di_edid_display_range_limits *r = find_range_limits (edid);
  guint n = 0;

  for (; *std; std++, n++) {
    const struct di_dmt_timing *dmt = di_edid_standard_timing_get_dmt (*std);
    g_autofree gchar *what = NULL;

    fail_unless (dmt != NULL, "a standard timing without a DMT");
    what = g_strdup_printf ("DMT %dx%d", dmt->horiz_video, dmt->vert_video);
    fail_unless (dmt->horiz_video <= (gint) m->width
        && dmt->vert_video <= (gint) m->height, "%s in %ux%u", what,
        m->width, m->height);
    fail_unless_equals_int ((*std)->refresh_rate_hz, 60);
    assert_in_range (r, dmt->pixel_clock_hz, dmt->horiz_video +
        dmt->horiz_blank, dmt->vert_video + dmt->vert_blank, what);
  }
  /* The DMT timings of the established 60 Hz modes (DMT 04h, 09h, 10h). */
  fail_unless_equals_int (est->has_640x480_60hz, m->width >= 640
      && m->height >= 480 && !(m->width == 640 && m->height == 480));
  if (est->has_640x480_60hz)
    assert_in_range (r, 25175000, 800, 525, "640x480");
  if (est->has_800x600_60hz)
    assert_in_range (r, 40000000, 1056, 628, "800x600");
  if (est->has_1024x768_60hz)
    assert_in_range (r, 65000000, 1344, 806, "1024x768");
  return n + est->has_640x480_60hz + est->has_800x600_60hz +
      est->has_1024x768_60hz;
}

GST_START_TEST (test_libdisplay_info)
{
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    const GstVfioEdidMode *m = &modes[i];
    g_autoptr (GBytes) blob = generate (m);
    gsize size;
    const guint8 *data = g_bytes_get_data (blob, &size);
    struct di_info *info = di_info_parse_edid (data, size);
    const struct di_edid *edid;
    const gchar *failures;
    g_autofree gchar *model = NULL;
    guint lower;

    fail_unless (info != NULL, "%ux%u@%u: libdisplay-info cannot parse it",
        m->width, m->height, m->refresh);
    failures = di_info_get_failure_msg (info);
    fail_unless (failures == NULL, "%ux%u@%u:\n%s", m->width, m->height,
        m->refresh, failures);
    edid = di_info_get_edid (info);
    fail_unless_equals_int (di_edid_get_version (edid), 1);
    fail_unless_equals_int (di_edid_get_revision (edid), 4);
    fail_unless_equals_string (find_name (edid), "vfiogfxsrc");
    fail_unless (find_range_limits (edid) != NULL);
    model = di_info_get_model (info);
    fail_unless_equals_string (model, "vfiogfxsrc");
    check_preferred (edid, m);
    lower = check_lower_modes (edid, m);
    GST_INFO ("%ux%u@%u: valid, %u lower modes", m->width, m->height,
        m->refresh, lower);
    di_info_destroy (info);
  }
}

GST_END_TEST;

/* A mode that contains them all lists the 3 established and 8 standard
 * timings; one that contains none lists none. */
GST_START_TEST (test_lower_modes)
{
  static const struct
  {
    GstVfioEdidMode mode;
    guint lower;
  } cases[] = {
    {{3840, 2160, 60}, 11},
    {{1920, 1200, 60}, 10},
    {{1280, 720, 60}, 2},
    {{640, 480, 60}, 0},
    {{600, 400, 60}, 0},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GBytes) blob = generate (&cases[i].mode);
    struct di_info *info = di_info_parse_edid (g_bytes_get_data (blob, NULL),
        g_bytes_get_size (blob));

    fail_unless (info && !di_info_get_failure_msg (info));
    fail_unless_equals_int (check_lower_modes (di_info_get_edid (info),
            &cases[i].mode), cases[i].lower);
    di_info_destroy (info);
  }
}

GST_END_TEST;

#endif /* HAVE_LIBDISPLAY_INFO */

/* edid-decode's conformity check passes for every mode. */
GST_START_TEST (test_edid_decode)
{
  const gchar *edid_decode = g_getenv ("EDID_DECODE");
  g_autofree gchar *dir = g_dir_make_tmp ("edid-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "edid.bin", NULL);

  fail_unless (edid_decode && *edid_decode);
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autoptr (GBytes) blob = generate (&modes[i]);
    const gchar *argv[] = { edid_decode, "--check", path, NULL };
    g_autofree gchar *out = NULL, *err = NULL;
    GError *error = NULL;
    gint status;

    fail_unless (g_file_set_contents (path, g_bytes_get_data (blob, NULL),
            g_bytes_get_size (blob), NULL));
    fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
            G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error), "%s",
        error ? error->message : "");
    fail_unless (g_spawn_check_wait_status (status, NULL)
        && strstr (out, "EDID conformity: PASS")
        && !strstr (out, "Warning") && !strstr (out, "Failure"),
        "%ux%u@%u: edid-decode --check says\n%s%s", modes[i].width,
        modes[i].height, modes[i].refresh, out, err);
  }
  g_unlink (path);
  g_rmdir (dir);
}

GST_END_TEST;

/* ---- the region protocol ---- */

static GstVfioDevice *
open_emulated (VfioEmuDevice ** emu_dev, VfioEmuFlags flags)
{
  VfioEmuDevice *dev = vfio_emu_add_mdev (UUID, GROUP, flags);
  GError *error = NULL;
  GstVfioDevice *device;

  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 1024,
      768, 0);
  device = gst_vfio_device_open (UUID, &error);
  fail_unless (device != NULL, "%s", error ? error->message : "");
  *emu_dev = dev;
  return device;
}

static gboolean
is_write (const VfioEmuEdidAccess * a, guint32 offset, guint32 value)
{
  return a->write && a->offset == offset && a->size == 4 && a->value == value;
}

/* The writes are exactly: link down, size, the blob word by word in
 * order, link up; every access the writer makes is 4 bytes. */
GST_START_TEST (test_write_sequence)
{
  GstVfioEdidMode mode = { 1280, 720, 60 };
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  g_autoptr (GBytes) want = generate (&mode);
  g_autoptr (GBytes) shown = NULL;
  GError *error = NULL;
  GArray *log;
  GPtrArray *writes = g_ptr_array_new ();
  const guint8 *blob = g_bytes_get_data (want, NULL);
  guint32 link = 0;

  g_array_unref (vfio_emu_take_edid_accesses (dev));
  fail_unless (gst_vfio_edid_set_mode (device, &mode, &error), "%s",
      error ? error->message : "");

  log = vfio_emu_take_edid_accesses (dev);
  for (guint i = 0; i < log->len; i++) {
    VfioEmuEdidAccess *a = &g_array_index (log, VfioEmuEdidAccess, i);

    if (a->write)
      g_ptr_array_add (writes, a);
    else if (a->offset == LINK_STATE)
      fail_unless_equals_int (a->size, 4);
  }
  fail_unless_equals_int (writes->len, 2 + 128 / 4 + 1);
  fail_unless (is_write (writes->pdata[0], LINK_STATE,
          VFIO_DEVICE_GFX_LINK_STATE_DOWN));
  fail_unless (is_write (writes->pdata[1], EDID_SIZE, 128));
  for (guint i = 0; i < 128 / 4; i++) {
    guint32 word;

    memcpy (&word, blob + 4 * i, 4);
    fail_unless (is_write (writes->pdata[2 + i], 0x100 + 4 * i, word),
        "blob word %u", i);
  }
  fail_unless (is_write (writes->pdata[writes->len - 1], LINK_STATE,
          VFIO_DEVICE_GFX_LINK_STATE_UP));
  /* The link state is read back after the last write. */
  fail_unless (!g_array_index (log, VfioEmuEdidAccess, log->len - 1).write);

  shown = vfio_emu_edid_shown (dev, &link);
  fail_unless_equals_int (link, VFIO_DEVICE_GFX_LINK_STATE_UP);
  fail_unless (shown && g_bytes_equal (shown, want));

  g_ptr_array_unref (writes);
  g_array_unref (log);
  gst_object_unref (device);
}

GST_END_TEST;

/* The size goes first: with a device whose edid_size is 0 (GVT-g refuses
 * blob writes past it) the write still works. */
GST_START_TEST (test_write_after_empty)
{
  GstVfioEdidMode mode = { 800, 600, 60 };
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  g_autoptr (GBytes) shown = NULL;
  g_autoptr (GBytes) want = generate (&mode);

  vfio_emu_set_edid_limits (dev, 1920, 1440, 0);
  vfio_emu_set_edid_limits (dev, 1920, 1440, 512);
  fail_unless (gst_vfio_edid_write (device, want, NULL));
  shown = vfio_emu_edid_shown (dev, NULL);
  fail_unless (shown && g_bytes_equal (shown, want));
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_write_beyond_limits)
{
  static const struct
  {
    guint max_x, max_y;
    GstVfioEdidMode mode;
    const gchar *needle;
  } cases[] = {
    {800, 600, {1024, 768, 60}, "at most 800x600"},
    {800, 600, {800, 601, 60}, "at most 800x600"},
    {0, 600, {4000, 768, 60}, "at most any widthx600"},
    {1920, 0, {1921, 4000, 60}, "at most 1920xany height"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    VfioEmuDevice *dev;
    GstVfioDevice *device;
    GError *error = NULL;
    GArray *log;

    vfio_emu_reset ();
    device = open_emulated (&dev, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
    vfio_emu_set_edid_limits (dev, cases[i].max_x, cases[i].max_y, 512);
    g_array_unref (vfio_emu_take_edid_accesses (dev));
    fail_if (gst_vfio_edid_set_mode (device, &cases[i].mode, &error));
    assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, cases[i].needle,
        "max_xres");
    g_clear_error (&error);
    /* Refused before anything was written. */
    log = vfio_emu_take_edid_accesses (dev);
    for (guint j = 0; j < log->len; j++)
      fail_if (g_array_index (log, VfioEmuEdidAccess, j).write);
    g_array_unref (log);
    gst_object_unref (device);
  }

  /* Within the limits, and no limit at all. */
  {
    VfioEmuDevice *dev;
    GstVfioDevice *device;
    GstVfioEdidMode mode = { 800, 600, 60 }, big = { 3840, 2160, 60 };

    vfio_emu_reset ();
    device = open_emulated (&dev, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
    vfio_emu_set_edid_limits (dev, 800, 600, 512);
    fail_unless (gst_vfio_edid_set_mode (device, &mode, NULL));
    vfio_emu_set_edid_limits (dev, 0, 0, 512);
    fail_unless (gst_vfio_edid_set_mode (device, &big, NULL));
    gst_object_unref (device);
  }
}

GST_END_TEST;

GST_START_TEST (test_write_too_large)
{
  GstVfioEdidMode mode = { 1024, 768, 60 };
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  g_autoptr (GBytes) two_blocks = g_bytes_new_take (g_malloc0 (256), 256);
  g_autoptr (GBytes) odd = g_bytes_new_take (g_malloc0 (126), 126);
  GError *error = NULL;

  vfio_emu_set_edid_limits (dev, 1920, 1440, 64);
  fail_if (gst_vfio_edid_set_mode (device, &mode, &error));
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, "at most 64 bytes",
      NULL);
  g_clear_error (&error);

  vfio_emu_set_edid_limits (dev, 1920, 1440, 128);
  fail_if (gst_vfio_edid_write (device, two_blocks, &error));
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED, "at most 128",
      "edid_max_size");
  g_clear_error (&error);
  fail_if (gst_vfio_edid_write (device, odd, &error));
  assert_error (error, GST_VFIO_ERROR_INVALID_ARGUMENT, "126 bytes", NULL);
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

/* GVT-g refuses link up over an invalid block: the error says so and that
 * the monitor stays unplugged. */
GST_START_TEST (test_write_refused)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  g_autoptr (GBytes) zeros = g_bytes_new_take (g_malloc0 (128), 128);
  GError *error = NULL;
  guint32 link = 0;
  GBytes *shown;

  fail_if (gst_vfio_edid_write (device, zeros, &error));
  assert_error (error, GST_VFIO_ERROR_FAILED, "link_state UP",
      "left unplugged");
  g_clear_error (&error);
  shown = vfio_emu_edid_shown (dev, &link);
  fail_unless (shown == NULL);
  fail_unless_equals_int (link, VFIO_DEVICE_GFX_LINK_STATE_DOWN);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_write_no_region)
{
  GstVfioEdidMode mode = { 1024, 768, 60 };
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF);
  GError *error = NULL;

  fail_if (gst_vfio_edid_set_mode (device, &mode, &error));
  assert_error (error, GST_VFIO_ERROR_NOT_SUPPORTED,
      "Cannot choose the guest's mode", "no EDID region");
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

GST_START_TEST (test_write_unplugged)
{
  GstVfioEdidMode mode = { 1024, 768, 60 };
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  g_autoptr (GBytes) edid = generate (&mode);
  GError *error = NULL;

  vfio_emu_unplug (dev);
  fail_if (gst_vfio_edid_set_mode (device, &mode, &error));
  assert_error (error, GST_VFIO_ERROR_DEVICE_GONE, NULL, NULL);
  g_clear_error (&error);
  gst_object_unref (device);
}

GST_END_TEST;

/* The emulated region keeps the drivers' rules, or the tests above prove
 * nothing: registers take only aligned 4-byte accesses. */
GST_START_TEST (test_emulated_region_rules)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device = open_emulated (&dev, VFIO_EMU_DMABUF |
      VFIO_EMU_EDID);
  GstVfioEdidInfo info;
  gint fd = gst_vfio_device_get_fd (device);
  guint16 half = VFIO_DEVICE_GFX_LINK_STATE_DOWN;
  guint32 word = 64;

  fail_unless (gst_vfio_device_get_edid_info (device, &info, NULL));
  fail_unless (pwrite (fd, &half, 2, info.region.offset + LINK_STATE) < 0);
  fail_unless_equals_int (errno, EINVAL);
  fail_unless (pwrite (fd, &word, 4, info.region.offset + 2) < 0);
  fail_unless_equals_int (errno, EINVAL);
  /* max_xres is read-only. */
  fail_unless (pwrite (fd, &word, 4, info.region.offset + 12) < 0);
  fail_unless_equals_int (errno, EPERM);
  /* No blob write past edid_size. */
  fail_unless (pwrite (fd, &word, 4, info.region.offset + EDID_SIZE) == 4);
  fail_unless (pwrite (fd, &word, 4, info.region.offset + 0x100 + 64) < 0);
  fail_unless_equals_int (errno, EINVAL);
  gst_object_unref (device);
}

GST_END_TEST;

static Suite *
edid_suite (void)
{
  Suite *s = suite_create ("vfioedid");
  TCase *tc_gen = tcase_create ("generate");
  TCase *tc_write = tcase_create ("write");

  suite_add_tcase (s, tc_gen);
  tcase_add_test (tc_gen, test_mode_parse);
  tcase_add_test (tc_gen, test_mode_parse_errors);
  tcase_add_test (tc_gen, test_generate_limits);
  tcase_add_test (tc_gen, test_generate_block);
#ifdef HAVE_LIBDISPLAY_INFO
  tcase_add_test (tc_gen, test_timing_matches_cvt);
  tcase_add_test (tc_gen, test_libdisplay_info);
  tcase_add_test (tc_gen, test_lower_modes);
#endif
  if (g_getenv ("EDID_DECODE") && *g_getenv ("EDID_DECODE"))
    tcase_add_test (tc_gen, test_edid_decode);

  suite_add_tcase (s, tc_write);
  tcase_add_checked_fixture (tc_write, setup, teardown);
  tcase_add_test (tc_write, test_write_sequence);
  tcase_add_test (tc_write, test_write_after_empty);
  tcase_add_test (tc_write, test_write_beyond_limits);
  tcase_add_test (tc_write, test_write_too_large);
  tcase_add_test (tc_write, test_write_refused);
  tcase_add_test (tc_write, test_write_no_region);
  tcase_add_test (tc_write, test_write_unplugged);
  tcase_add_test (tc_write, test_emulated_region_rules);

  return s;
}

int
main (int argc, char **argv)
{
  gboolean have_edid_decode = g_getenv ("EDID_DECODE")
      && *g_getenv ("EDID_DECODE");
  Suite *s;
  gint failed;

  gst_check_init (&argc, &argv);
  s = edid_suite ();
  failed = gst_check_run_suite (s, "vfioedid", __FILE__);
  if (failed)
    return failed;
#ifndef HAVE_LIBDISPLAY_INFO
  g_print ("SKIP: libdisplay-info was not found at build time: the "
      "generated EDIDs were not checked by it\n");
  return EXIT_SKIP;
#endif
  if (!have_edid_decode) {
    g_print ("SKIP: edid-decode was not found at build time: the generated "
        "EDIDs were not checked by it\n");
    return EXIT_SKIP;
  }
  return 0;
}
