/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-bench-rtsp: vfio-rtsp-server serving N emulated VMs, one client each.
 *
 *   vfio-bench-rtsp --vms N [--seconds S] [--mode WxH] [--fps R]
 *
 * The server runs in this process with the emulated mdev (x264, R fps,
 * WxH); each guest flips between its two buffers every frame, which differ
 * in one channel only: nearly still content, as a desktop mostly is. The
 * clients are separate processes, gst-launch-1.0 rtspsrc ! fakesink (they
 * depacketize, nothing more), so this process's CPU time is the server's.
 * After a warm-up it measures for S seconds:
 *
 *   rtsp.vmsN.cpu_pct_per_stream  the server's CPU time (user + system)
 *                                 per stream, in % of one core
 *   rtsp.vmsN.fps                 frames encoded per second and stream
 *                                 (the capture drops those the encoder
 *                                 has no time for)
 *   rtsp.vmsN.latency_p50_us/_p99_us
 *                                 from a frame leaving the source to its
 *                                 first RTP packet leaving the payloader,
 *                                 on VM 0 (pad-probe timestamps)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "vfioemu.h"
#include "vfioemu-provider.h"
#include "vfiortspserver.h"

static gint opt_vms = 1;
static gint opt_seconds = 10;
static gchar *opt_mode = NULL;
static gint opt_fps = 30;

static GOptionEntry entries[] = {
  {"vms", 0, 0, G_OPTION_ARG_INT, &opt_vms, "Emulated VMs (streams)", "N"},
  {"seconds", 0, 0, G_OPTION_ARG_INT, &opt_seconds, "Measured seconds", "S"},
  {"mode", 0, 0, G_OPTION_ARG_STRING, &opt_mode, "Guest mode (1280x720)",
      "WxH"},
  {"fps", 0, 0, G_OPTION_ARG_INT, &opt_fps, "Frames per second", "R"},
  {NULL}
};

#define WARMUP_S 3

static void
die (const gchar * what)
{
  g_printerr ("vfio-bench-rtsp: %s\n", what);
  exit (1);
}

/* ---- the guests ---- */

static VfioEmuDevice **devs;
static gint stop_flipping;

static gpointer
flip_guests (gpointer data)
{
  while (!g_atomic_int_get (&stop_flipping)) {
    for (gint i = 0; i < opt_vms; i++)
      vfio_emu_flip (devs[i]);
    g_usleep (G_USEC_PER_SEC / opt_fps);
  }
  return NULL;
}

/* ---- latency: source pad -> first RTP packet ---- */

/* Each frame carries the time it left the source in a reference-timestamp
 * meta (copied by videoconvert, the encoder and the payloader, as metas
 * without tags are); timestamps cannot say it, since the encoder moves
 * them. */
#define MAX_SAMPLES 100000

static GstCaps *ref_caps;
static GMutex lat_lock;
static gint64 *samples;
static guint n_samples;
static gboolean measuring;
static GstClockTime last_stamp = GST_CLOCK_TIME_NONE;

static GstPadProbeReturn
on_source_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));

  gst_buffer_add_reference_timestamp_meta (buf, ref_caps,
      g_get_monotonic_time () * GST_USECOND, GST_CLOCK_TIME_NONE);
  info->data = buf;
  return GST_PAD_PROBE_OK;
}

static void
note_packet (GstBuffer * packet, gint64 now)
{
  GstReferenceTimestampMeta *meta =
      gst_buffer_get_reference_timestamp_meta (packet, ref_caps);

  if (!meta)
    return;
  g_mutex_lock (&lat_lock);
  /* the first packet of each frame only */
  if (meta->timestamp != last_stamp && measuring && n_samples < MAX_SAMPLES)
    samples[n_samples++] = now - (gint64) (meta->timestamp / GST_USECOND);
  last_stamp = meta->timestamp;
  g_mutex_unlock (&lat_lock);
}

static GstPadProbeReturn
on_rtp (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      note_packet (gst_buffer_list_get (list, i), now);
  } else {
    note_packet (GST_PAD_PROBE_INFO_BUFFER (info), now);
  }
  return GST_PAD_PROBE_OK;
}

static void
watch_latency (GstElement * src)
{
  g_autoptr (GstObject) bin = gst_object_get_parent (GST_OBJECT (src));
  g_autoptr (GstElement) pay = gst_bin_get_by_name (GST_BIN (bin), "pay0");
  g_autoptr (GstPad) srcpad = gst_element_get_static_pad (src, "src");
  g_autoptr (GstPad) paypad = NULL;

  if (!pay)
    die ("no payloader next to the source");
  paypad = gst_element_get_static_pad (pay, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, on_source_buffer,
      NULL, NULL);
  gst_pad_add_probe (paypad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp, NULL, NULL);
}

static gint
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
percentile (guint p)
{
  if (n_samples == 0)
    return 0;
  return samples[MIN (n_samples - 1, (n_samples * p) / 100)];
}

/* ---- clients ---- */

static GPid
spawn_client (guint port, const gchar * uuid)
{
  g_autofree gchar *loc = g_strdup_printf ("location=rtsp://127.0.0.1:%u/%s",
      port, uuid);
  const gchar *argv[] = { "gst-launch-1.0", "-q", "rtspsrc", loc,
    "protocols=tcp", "latency=0", "!", "fakesink", "sync=false", NULL
  };
  g_autoptr (GError) error = NULL;
  GPid pid;

  /* posix_spawn (descriptors left open): no code of this process, whose
   * calls the emulator interposes, runs in the child. */
  if (!g_spawn_async (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH |
          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_LEAVE_DESCRIPTORS_OPEN |
          G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &error))
    die (error->message);
  return pid;
}

/* ---- main ---- */

static VfioRtspServer *server;
static GMainLoop *loop;

static gpointer
run_server (gpointer context)
{
  g_main_context_push_thread_default (context);
  g_main_loop_run (loop);
  return NULL;
}

static gint64
cpu_us (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC +
      ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Frames VM @uuid's encoder made. */
static guint64
frames_of (const gchar * uuid)
{
  guint64 frames = 0, bytes = 0;

  vfio_rtsp_server_get_encoded (server, uuid, &frames, &bytes);
  return frames;
}

static gchar *
uuid_of (gint i)
{
  return g_strdup_printf ("7e0a4b2c-0000-4000-8000-%012d", i);
}

static void
setup_vms (guint width, guint height)
{
  GList *devices = NULL;

  vfio_emu_reset ();
  devs = g_new0 (VfioEmuDevice *, opt_vms);
  for (gint i = 0; i < opt_vms; i++) {
    g_autofree gchar *uuid = uuid_of (i);

    devs[i] = vfio_emu_add_mdev (uuid, 40 + i, VFIO_EMU_DMABUF);
    vfio_emu_set_mode (devs[i], DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
        width, height, 0);
    devices = g_list_append (devices, vfio_emu_provider_device_new (uuid,
            NULL));
  }
  vfio_emu_provider_set_initial (devices);
  g_list_free_full (devices, gst_object_unref);
}

static void
wait_for_clients (void)
{
  for (gint tries = 0; tries < 600; tries++) {
    gint ready = 0;

    for (gint i = 0; i < opt_vms; i++) {
      g_autofree gchar *uuid = uuid_of (i);

      ready += vfio_rtsp_server_count_clients (server, uuid) > 0;
    }
    if (ready == opt_vms)
      return;
    g_usleep (100 * 1000);
  }
  die ("the clients did not all start playing within 60 s");
}

static void
report (const gchar * name, gdouble value, const gchar * unit)
{
  printf ("BENCH rtsp.vms%d.%s=%.6g unit=%s\n", opt_vms, name, value, unit);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("");
  g_autoptr (GError) error = NULL;
  VfioRtspOptions options = {
    .address = "127.0.0.1", .service = "0",
    .status_interval = 0,
  };
  g_autofree gchar *uuid0 = NULL;
  g_autoptr (GstElement) src0 = NULL;
  GMainContext *context;
  GThread *thread, *flipper;
  GPid *clients;
  guint width = 1280, height = 720;
  guint64 *f0;
  gint64 c0, t0, c1, t1;
  gdouble seconds, fps = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die (error->message);
  if (opt_mode && sscanf (opt_mode, "%ux%u", &width, &height) != 2)
    die ("--mode must be WxH");
  if (opt_vms < 1 || opt_fps < 1 || opt_seconds < 1)
    die ("--vms, --fps and --seconds must be positive");
  options.encoding = (VfioRtspEncoding) {
  VFIO_RTSP_ENCODER_X264, opt_fps, 4000, opt_fps};
  if (!vfio_emu_provider_register ())
    die ("cannot register the emulated mdevs' provider");
  setup_vms (width, height);
  ref_caps = gst_caps_new_empty_simple ("timestamp/x-vfio-bench-capture");
  samples = g_new0 (gint64, MAX_SAMPLES);

  context = g_main_context_new ();
  loop = g_main_loop_new (context, FALSE);
  server = vfio_rtsp_server_new (&options, &error);
  if (!server || !vfio_rtsp_server_start (server, context, &error))
    die (error->message);
  thread = g_thread_new ("server", run_server, context);
  flipper = g_thread_new ("guests", flip_guests, NULL);

  clients = g_new0 (GPid, opt_vms);
  for (gint i = 0; i < opt_vms; i++) {
    g_autofree gchar *uuid = uuid_of (i);

    clients[i] = spawn_client (vfio_rtsp_server_get_port (server), uuid);
  }
  wait_for_clients ();
  uuid0 = uuid_of (0);
  src0 = vfio_rtsp_server_get_source (server, uuid0);
  if (!src0)
    die ("no capture of VM 0");
  watch_latency (src0);
  g_usleep (WARMUP_S * G_USEC_PER_SEC);

  f0 = g_new0 (guint64, opt_vms);
  for (gint i = 0; i < opt_vms; i++) {
    g_autofree gchar *uuid = uuid_of (i);

    f0[i] = frames_of (uuid);
  }
  g_mutex_lock (&lat_lock);
  measuring = TRUE;
  g_mutex_unlock (&lat_lock);
  c0 = cpu_us ();
  t0 = g_get_monotonic_time ();
  g_usleep (opt_seconds * G_USEC_PER_SEC);
  c1 = cpu_us ();
  t1 = g_get_monotonic_time ();
  g_mutex_lock (&lat_lock);
  measuring = FALSE;
  g_mutex_unlock (&lat_lock);

  seconds = (t1 - t0) / 1e6;
  for (gint i = 0; i < opt_vms; i++) {
    g_autofree gchar *uuid = uuid_of (i);

    fps += (frames_of (uuid) - f0[i]) / seconds / opt_vms;
  }
  qsort (samples, n_samples, sizeof (gint64), compare_i64);
  printf ("# rtsp: %d VMs %ux%u@%d x264, %.1f s measured, %u latency "
      "samples\n", opt_vms, width, height, opt_fps, seconds, n_samples);
  report ("cpu_pct_per_stream", (c1 - c0) / 1e4 / seconds / opt_vms, "%");
  report ("fps", fps, "frames/s");
  report ("latency_p50_us", percentile (50), "us");
  report ("latency_p99_us", percentile (99), "us");

  for (gint i = 0; i < opt_vms; i++) {
    kill (clients[i], SIGTERM);
    waitpid (clients[i], NULL, 0);
    g_spawn_close_pid (clients[i]);
  }
  g_atomic_int_set (&stop_flipping, TRUE);
  g_thread_join (flipper);
  g_main_loop_quit (loop);
  g_thread_join (thread);
  vfio_rtsp_server_free (server);
  return 0;
}
