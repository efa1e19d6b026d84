/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A virtual monitor for the guest: an EDID 1.4 base block (VESA E-EDID
 * release A rev. 2) whose preferred detailed timing is the mode asked for,
 * computed with the CVT reduced-blanking version 2 formula (VESA CVT 1.2,
 * section 5.4), followed by the common lower modes a monitor also lists.
 *
 * Only the 128-byte base block: GVT-g takes nothing larger, and one
 * detailed timing describes up to 4095x4095 at 655.35 MHz. The range
 * limits descriptor holds line rates up to 510 kHz, which tall modes at
 * high rates exceed (640x2400@240 needs 648 kHz): those are refused.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioedid.h"
#include "gstvfioerror.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_edid_debug);
#define GST_CAT_DEFAULT gst_vfio_edid_debug

/* CVT 1.2, reduced blanking version 2 (table 5-2 and section 5.4). */
#define RB2_MIN_VBLANK_US 460
#define RB2_H_BLANK 80
#define RB2_H_FRONT_PORCH 8
#define RB2_H_SYNC 32
#define RB2_V_MIN_FRONT_PORCH 1
#define RB2_V_SYNC 8
#define RB2_V_BACK_PORCH 6

/* Field widths of a detailed timing descriptor (E-EDID table 3.21). */
#define DTD_MAX_CLOCK_KHZ 655350
/* Below this edid-decode takes a detailed timing for invalid data. */
#define DTD_MIN_CLOCK_KHZ 10000
#define DTD_MAX_H_PORCH 1023
#define DTD_MAX_V_PORCH 63

/* The range limits descriptor (E-EDID 1.4 section 3.10.3.3): each rate
 * one byte of whole Hz (vertical) or kHz (horizontal), plus 255 when its
 * offset flag in byte 4 is set; the clock one byte of 10 MHz. */
#define RANGE_RATE_OFFSET 255
#define RANGE_MAX_RATE (255 + RANGE_RATE_OFFSET)
#define RANGE_V_MAX_OFFSET 0x02
#define RANGE_V_MIN_OFFSET 0x01
#define RANGE_H_MAX_OFFSET 0x08
#define RANGE_H_MIN_OFFSET 0x04
#define RANGE_CLOCK_STEP_KHZ 10000
/* Every clock a detailed timing holds fits the range limits' byte. */
G_STATIC_ASSERT ((DTD_MAX_CLOCK_KHZ + RANGE_CLOCK_STEP_KHZ - 1) /
    RANGE_CLOCK_STEP_KHZ <= 255);

#define MONITOR_NAME "vfiogfxsrc"
#define MODEL_YEAR 2026

static void
init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_edid_debug, "vfioedid", 0,
        "VFIO EDID generation");
    g_once_init_leave (&done, 1);
  }
}

/* ---- modes ---- */

/* A decimal number of at most 5 digits at *p, advancing it. */
static gboolean
parse_number (const gchar ** p, guint * value)
{
  guint digits = 0;

  *value = 0;
  while (g_ascii_isdigit (**p) && digits < 6) {
    *value = *value * 10 + (**p - '0');
    (*p)++;
    digits++;
  }
  return digits > 0 && digits <= 5;
}

static gboolean
check_mode_range (const GstVfioEdidMode * mode, GError ** error)
{
  if (mode->width < 1 || mode->width > GST_VFIO_EDID_MAX_WIDTH
      || mode->height < 1 || mode->height > GST_VFIO_EDID_MAX_HEIGHT) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Mode %ux%u is outside 1x1 .. %ux%u, what an EDID detailed timing "
        "can describe", mode->width, mode->height, GST_VFIO_EDID_MAX_WIDTH,
        GST_VFIO_EDID_MAX_HEIGHT);
    return FALSE;
  }
  if (mode->refresh < GST_VFIO_EDID_MIN_REFRESH
      || mode->refresh > GST_VFIO_EDID_MAX_REFRESH) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Refresh rate %u Hz is outside %u .. %u Hz", mode->refresh,
        GST_VFIO_EDID_MIN_REFRESH, GST_VFIO_EDID_MAX_REFRESH);
    return FALSE;
  }
  return TRUE;
}

/**
 * gst_vfio_edid_mode_parse:
 * @str: "WxH" or "WxH@R", e.g. "1920x1080@60"; R defaults to 60 Hz
 * @mode: (out caller-allocates): the mode
 * @error: %GST_VFIO_ERROR_INVALID_ARGUMENT, saying what is wrong
 *
 * Returns: %TRUE when @str is a mode an EDID can describe
 */
gboolean
gst_vfio_edid_mode_parse (const gchar * str, GstVfioEdidMode * mode,
    GError ** error)
{
  const gchar *p = str;

  g_return_val_if_fail (mode != NULL, FALSE);
  init_debug ();

  memset (mode, 0, sizeof (*mode));
  mode->refresh = GST_VFIO_EDID_DEFAULT_REFRESH;
  if (!str || !parse_number (&p, &mode->width) || (*p != 'x' && *p != 'X'))
    goto malformed;
  p++;
  if (!parse_number (&p, &mode->height))
    goto malformed;
  if (*p == '@') {
    p++;
    if (!parse_number (&p, &mode->refresh))
      goto malformed;
  }
  if (*p != '\0')
    goto malformed;
  return check_mode_range (mode, error);

  /* ERRORS */
malformed:
  {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "'%s' is not a mode: write WxH or WxH@R, e.g. 1280x720 or "
        "1920x1080@60", str ? str : "(null)");
    return FALSE;
  }
}

/**
 * gst_vfio_edid_mode_to_string:
 *
 * Returns: (transfer full): "WxH@R"
 */
gchar *
gst_vfio_edid_mode_to_string (const GstVfioEdidMode * mode)
{
  return g_strdup_printf ("%ux%u@%u", mode->width, mode->height,
      mode->refresh);
}

gboolean
gst_vfio_edid_mode_equal (const GstVfioEdidMode * a, const GstVfioEdidMode * b)
{
  return a->width == b->width && a->height == b->height
      && a->refresh == b->refresh;
}

/* ---- CVT reduced blanking v2 ---- */

/**
 * gst_vfio_edid_compute_timing:
 * @mode: a mode within the ranges gst_vfio_edid_mode_parse() accepts
 * @timing: (out caller-allocates): its CVT-RB v2 timing
 * @error: why no detailed timing can describe it
 *
 * The CVT formula in integers: with a whole refresh rate R, the blanking
 * lines are floor(460 us / line period) + 1 = floor(460 * V * R /
 * (10^6 - 460 * R)) + 1, and the clock R * H_total * V_total Hz, rounded down
 * to the EDID's 10 kHz (CVT's 1 kHz step first, which changes nothing more).
 *
 * A front porch longer than a descriptor holds (63 lines, at high rates)
 * gives its excess to the back porch: totals and clock stay CVT's.
 *
 * Returns: %TRUE on success
 */
gboolean
gst_vfio_edid_compute_timing (const GstVfioEdidMode * mode,
    GstVfioEdidTiming * timing, GError ** error)
{
  guint64 rate = mode->refresh, lines = mode->height, vbi, v_total, h_total;
  guint64 clock_khz;

  init_debug ();
  if (!check_mode_range (mode, error))
    return FALSE;

  vbi = RB2_MIN_VBLANK_US * lines * rate / (1000000 - RB2_MIN_VBLANK_US *
      rate) + 1;
  vbi = MAX (vbi, RB2_V_MIN_FRONT_PORCH + RB2_V_SYNC + RB2_V_BACK_PORCH);
  v_total = lines + vbi;
  h_total = mode->width + RB2_H_BLANK;
  clock_khz = rate * h_total * v_total / 10000 * 10;

  if (clock_khz > DTD_MAX_CLOCK_KHZ) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Mode %ux%u@%u needs a %" G_GUINT64_FORMAT " kHz pixel clock, more "
        "than an EDID detailed timing holds (%u kHz): lower the rate or the "
        "size", mode->width, mode->height, mode->refresh, clock_khz,
        DTD_MAX_CLOCK_KHZ);
    return FALSE;
  }

  if (clock_khz < DTD_MIN_CLOCK_KHZ) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Mode %ux%u@%u needs only a %" G_GUINT64_FORMAT " kHz pixel clock, "
        "less than the 10 MHz EDID detailed timings start at: raise the "
        "rate or the size", mode->width, mode->height, mode->refresh,
        clock_khz);
    return FALSE;
  }

  memset (timing, 0, sizeof (*timing));
  timing->pixel_clock_khz = clock_khz;
  timing->h_active = mode->width;
  timing->h_front_porch = RB2_H_FRONT_PORCH;
  timing->h_sync = RB2_H_SYNC;
  timing->h_back_porch = RB2_H_BLANK - RB2_H_FRONT_PORCH - RB2_H_SYNC;
  timing->v_active = mode->height;
  timing->v_sync = RB2_V_SYNC;
  timing->v_front_porch = vbi - RB2_V_SYNC - RB2_V_BACK_PORCH;
  timing->v_back_porch = RB2_V_BACK_PORCH;
  if (timing->v_front_porch > DTD_MAX_V_PORCH) {
    timing->v_back_porch += timing->v_front_porch - DTD_MAX_V_PORCH;
    timing->v_front_porch = DTD_MAX_V_PORCH;
  }
  return TRUE;
}

static guint
timing_h_total (const GstVfioEdidTiming * t)
{
  return t->h_active + t->h_front_porch + t->h_sync + t->h_back_porch;
}

static guint
timing_v_total (const GstVfioEdidTiming * t)
{
  return t->v_active + t->v_front_porch + t->v_sync + t->v_back_porch;
}

/* ---- the lower modes ---- */

typedef enum
{
  ASPECT_16_10 = 0,
  ASPECT_4_3 = 1,
  ASPECT_5_4 = 2,
  ASPECT_16_9 = 3,
} StdAspect;

/* Common 60 Hz modes with a VESA DMT timing (DMT 1.0 rev. 13): the first
 * three as established timings, the rest as standard timings, which a
 * sink resolves to the DMT. Clocks and totals feed the range limits. */
typedef struct
{
  guint width;
  guint height;
  gint established;             /* bit in bytes 35-37, MSB first; -1: none */
  StdAspect aspect;
  guint clock_khz;
  guint h_total;
  guint v_total;
} LowerMode;

static const LowerMode lower_modes[] = {
  {640, 480, 2, ASPECT_4_3, 25175, 800, 525},
  {800, 600, 7, ASPECT_4_3, 40000, 1056, 628},
  {1024, 768, 12, ASPECT_4_3, 65000, 1344, 806},
  {1280, 720, -1, ASPECT_16_9, 74250, 1650, 750},
  {1280, 800, -1, ASPECT_16_10, 83500, 1680, 831},
  {1280, 1024, -1, ASPECT_5_4, 108000, 1688, 1066},
  {1440, 900, -1, ASPECT_16_10, 106500, 1904, 934},
  {1600, 900, -1, ASPECT_16_9, 108000, 1800, 1000},
  {1680, 1050, -1, ASPECT_16_10, 146250, 2240, 1089},
  {1920, 1080, -1, ASPECT_16_9, 148500, 2200, 1125},
  {1920, 1200, -1, ASPECT_16_10, 193250, 2592, 1245},
};

static gboolean
lower_mode_fits (const LowerMode * lower, const GstVfioEdidMode * mode)
{
  return lower->width <= mode->width && lower->height <= mode->height
      && (lower->width != mode->width || lower->height != mode->height);
}

/* ---- the block ---- */

/* Rates of every mode listed, for the range limits descriptor. */
typedef struct
{
  guint64 min_v_mhz, max_v_mhz; /* vertical, in mHz */
  guint64 min_h_hz, max_h_hz;
  guint max_clock_khz;
} Ranges;

/* The same in the descriptor's units, widened outwards. */
typedef struct
{
  guint min_v_hz, max_v_hz;
  guint min_h_khz, max_h_khz;
  guint max_clock_10mhz;
} RangeLimits;

static void
ranges_add (Ranges * r, guint clock_khz, guint h_total, guint v_total)
{
  guint64 h_hz = (guint64) clock_khz * 1000 / h_total;
  guint64 v_mhz = (guint64) clock_khz * 1000000 / h_total / v_total;

  r->min_v_mhz = MIN (r->min_v_mhz, v_mhz);
  r->max_v_mhz = MAX (r->max_v_mhz, v_mhz);
  r->min_h_hz = MIN (r->min_h_hz, h_hz);
  r->max_h_hz = MAX (r->max_h_hz, h_hz);
  r->max_clock_khz = MAX (r->max_clock_khz, clock_khz);
}

/* The preferred mode has the highest rates; a tall mode at a high rate
 * can need a line rate no range limits descriptor holds. */
static gboolean
range_limits_from_ranges (const Ranges * r, const GstVfioEdidMode * mode,
    RangeLimits * limits, GError ** error)
{
  limits->min_v_hz = r->min_v_mhz / 1000;
  limits->max_v_hz = (r->max_v_mhz + 999) / 1000;
  limits->min_h_khz = r->min_h_hz / 1000;
  limits->max_h_khz = (r->max_h_hz + 999) / 1000;
  limits->max_clock_10mhz = (r->max_clock_khz + RANGE_CLOCK_STEP_KHZ - 1) /
      RANGE_CLOCK_STEP_KHZ;

  if (limits->max_h_khz > RANGE_MAX_RATE) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Mode %ux%u@%u needs a %u kHz line rate, more than an EDID's range "
        "limits hold (%u kHz): lower the rate or the height", mode->width,
        mode->height, mode->refresh, limits->max_h_khz, RANGE_MAX_RATE);
    return FALSE;
  }
  if (limits->max_v_hz > RANGE_MAX_RATE) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "Mode %ux%u@%u needs a %u Hz refresh rate, more than an EDID's range "
        "limits hold (%u Hz)", mode->width, mode->height, mode->refresh,
        limits->max_v_hz, RANGE_MAX_RATE);
    return FALSE;
  }
  return TRUE;
}

static void
write_header (guint8 * b)
{
  /* "VFG": three letters, five bits each, 'A' = 1. */
  guint16 vendor = ('V' - '@') << 10 | ('F' - '@') << 5 | ('G' - '@');
  static const guint8 magic[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };

  memcpy (b, magic, sizeof (magic));
  b[8] = vendor >> 8;
  b[9] = vendor & 0xff;
  b[10] = 0x01;                 /* product code 1 */
  b[16] = 0;                    /* no week given */
  b[17] = MODEL_YEAR - 1990;
  b[18] = 1;                    /* EDID 1.4 */
  b[19] = 4;
}

/* Digital 8 bpc DisplayPort; no physical size (a virtual screen); gamma
 * 2.2; RGB 4:4:4, sRGB default colour space, preferred timing native. */
static void
write_basic_parameters (guint8 * b)
{
  /* sRGB primaries and D65 in 10-bit CIE fractions (x * 1024). */
  static const guint16 xy[8] = { 655, 338, 307, 614, 154, 61, 320, 337 };

  b[20] = 0x80 | 0x20 | 0x05;
  b[21] = 0;
  b[22] = 0;
  b[23] = 220 - 100;
  b[24] = 0x04 | 0x02;
  b[25] = (xy[0] & 3) << 6 | (xy[1] & 3) << 4 | (xy[2] & 3) << 2 | (xy[3] & 3);
  b[26] = (xy[4] & 3) << 6 | (xy[5] & 3) << 4 | (xy[6] & 3) << 2 | (xy[7] & 3);
  for (guint i = 0; i < 8; i++)
    b[27 + i] = xy[i] >> 2;
}

static void
write_lower_modes (guint8 * b, const GstVfioEdidMode * mode, Ranges * r)
{
  guint n_standard = 0;

  memset (b + 38, 0x01, 16);    /* unused standard timings */
  for (guint i = 0; i < G_N_ELEMENTS (lower_modes); i++) {
    const LowerMode *m = &lower_modes[i];

    if (!lower_mode_fits (m, mode))
      continue;
    if (m->established >= 0) {
      b[35 + m->established / 8] |= 0x80 >> (m->established % 8);
    } else if (n_standard < 8) {
      b[38 + 2 * n_standard] = m->width / 8 - 31;
      b[39 + 2 * n_standard] = m->aspect << 6 | (60 - 60);
      n_standard++;
    } else {
      continue;
    }
    ranges_add (r, m->clock_khz, m->h_total, m->v_total);
  }
}

static void
write_detailed_timing (guint8 * d, const GstVfioEdidTiming * t)
{
  guint h_blank = timing_h_total (t) - t->h_active;
  guint v_blank = timing_v_total (t) - t->v_active;
  guint clock = t->pixel_clock_khz / 10;

  d[0] = clock & 0xff;
  d[1] = clock >> 8;
  d[2] = t->h_active & 0xff;
  d[3] = h_blank & 0xff;
  d[4] = (t->h_active >> 8) << 4 | (h_blank >> 8);
  d[5] = t->v_active & 0xff;
  d[6] = v_blank & 0xff;
  d[7] = (t->v_active >> 8) << 4 | (v_blank >> 8);
  d[8] = t->h_front_porch & 0xff;
  d[9] = t->h_sync & 0xff;
  d[10] = (t->v_front_porch & 0xf) << 4 | (t->v_sync & 0xf);
  d[11] = (t->h_front_porch >> 8) << 6 | (t->h_sync >> 8) << 4
      | (t->v_front_porch >> 4) << 2 | (t->v_sync >> 4);
  /* d[12..16]: no image size, no border. Digital separate sync, as CVT
   * reduced blanking has it: H positive, V negative. */
  d[17] = 0x18 | 0x02;
}

static void
write_name (guint8 * d)
{
  gsize len = strlen (MONITOR_NAME);

  d[3] = 0xfc;
  memset (d + 5, ' ', 13);
  memcpy (d + 5, MONITOR_NAME, len);
  d[5 + len] = '\n';
}

/* A minimum and a maximum rate of 1 .. 510 into their bytes: above 255
 * less 255, with the offset flag set (the minimum only with the maximum). */
static void
write_rate_pair (guint8 * d, guint min, guint max, guint8 * flags,
    guint8 min_flag, guint8 max_flag)
{
  if (max > 255) {
    *flags |= max_flag;
    max -= RANGE_RATE_OFFSET;
    if (min > 255) {
      *flags |= min_flag;
      min -= RANGE_RATE_OFFSET;
    }
  }
  d[0] = min;
  d[1] = max;
}

/* Range limits only: no formula for other modes. */
static void
write_range_limits (guint8 * d, const RangeLimits * r)
{
  d[3] = 0xfd;
  write_rate_pair (d + 5, r->min_v_hz, r->max_v_hz, &d[4],
      RANGE_V_MIN_OFFSET, RANGE_V_MAX_OFFSET);
  write_rate_pair (d + 7, r->min_h_khz, r->max_h_khz, &d[4],
      RANGE_H_MIN_OFFSET, RANGE_H_MAX_OFFSET);
  d[9] = r->max_clock_10mhz;
  d[10] = 0x01;
  d[11] = '\n';
  memset (d + 12, ' ', 6);
}

static void
write_checksum (guint8 * b)
{
  guint8 sum = 0;

  for (guint i = 0; i < GST_VFIO_EDID_BLOCK_SIZE - 1; i++)
    sum += b[i];
  b[GST_VFIO_EDID_BLOCK_SIZE - 1] = 0x100 - sum;
}

/**
 * gst_vfio_edid_generate:
 * @mode: the preferred mode
 * @max_size: room for the blob (the EDID region's edid_max_size)
 * @error: why it cannot be made
 *
 * An EDID 1.4 base block for a virtual monitor "vfiogfxsrc": @mode as the
 * preferred detailed timing (CVT reduced blanking v2), the DMT modes at
 * 60 Hz that fit inside it as established and standard timings, the
 * monitor name and range limits covering every mode listed.
 *
 * Fails for a mode no base block can describe: a pixel clock outside
 * 10 .. 655.35 MHz (a detailed timing's), a line rate above 510 kHz (the
 * range limits').
 *
 * Returns: (transfer full) (nullable): 128 bytes
 */
GBytes *
gst_vfio_edid_generate (const GstVfioEdidMode * mode, gsize max_size,
    GError ** error)
{
  guint8 *b;
  GstVfioEdidTiming timing;
  Ranges ranges = { G_MAXUINT64, 0, G_MAXUINT64, 0, 0 };
  RangeLimits limits;

  g_return_val_if_fail (mode != NULL, NULL);
  init_debug ();

  if (max_size < GST_VFIO_EDID_BLOCK_SIZE) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "The device takes at most %" G_GSIZE_FORMAT " bytes of EDID, less "
        "than one %u-byte block", max_size, GST_VFIO_EDID_BLOCK_SIZE);
    return NULL;
  }
  if (!gst_vfio_edid_compute_timing (mode, &timing, error))
    return NULL;

  b = g_malloc0 (GST_VFIO_EDID_BLOCK_SIZE);
  write_header (b);
  write_basic_parameters (b);
  ranges_add (&ranges, timing.pixel_clock_khz, timing_h_total (&timing),
      timing_v_total (&timing));
  write_lower_modes (b, mode, &ranges);
  if (!range_limits_from_ranges (&ranges, mode, &limits, error)) {
    g_free (b);
    return NULL;
  }
  write_detailed_timing (b + 54, &timing);
  write_name (b + 72);
  write_range_limits (b + 90, &limits);
  b[108 + 3] = 0x10;            /* a dummy descriptor */
  write_checksum (b);

  GST_DEBUG ("EDID for %ux%u@%u: %u kHz, totals %ux%u", mode->width,
      mode->height, mode->refresh, timing.pixel_clock_khz,
      timing_h_total (&timing), timing_v_total (&timing));
  return g_bytes_new_take (b, GST_VFIO_EDID_BLOCK_SIZE);
}
