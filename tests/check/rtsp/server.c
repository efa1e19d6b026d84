/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-rtsp-server with real clients, against two emulated mdevs.
 *
 * The server runs in this process, on its own thread and main context,
 * linked with the emulated mdev; the emulated mdevs' device provider
 * (tests/emu/vfioemu-provider.h) lists them as vfiogfxsrc's provider lists
 * real ones (vfio.uuid, vfio.vm-name) and makes them come and go. The
 * clients are separate processes: gst-launch-1.0 with rtspsrc !
 * rtph264depay ! avdec_h264 (gst-libav), ffprobe and ffmpeg. Decoded
 * frames are compared with the emulated guest's pattern (vfio_emu_pixel())
 * by 16x16 block averages, with a tolerance for lossy coding.
 *
 * VM "alpha" (named) shows 320x240, the unnamed one 352x288, so each
 * client's picture size also says which VM it got.
 *
 * A program this test needs and that is missing (gst-launch-1.0, ffmpeg,
 * an element of gst-libav or x264) makes it say so and exit 77.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <signal.h>
#include <sys/wait.h>

#include "vfioemu.h"
#include "vfioemu-provider.h"
#include "vfiortspserver.h"

#define UUID_A "0b6c1e9a-31f2-4d7e-9c55-2a8e7f1d0a01"
#define UUID_B "0b6c1e9a-31f2-4d7e-9c55-2a8e7f1d0b02"
#define NAME_A "alpha"
#define FPS 30
#define EXIT_SKIP 77
#define BLOCK 16
#define TOLERANCE 12.0
#define CLIENT_TIMEOUT_S 60

static GstDeviceProvider *
emu_provider (void)
{
  GstDeviceProvider *p = vfio_emu_provider_get ();

  fail_unless (p != NULL);
  return p;
}

/* ---- the server ---- */

static VfioEmuDevice *dev_a, *dev_b;
static GstDevice *gst_dev_a, *gst_dev_b;
static VfioRtspServer *server;
static GMainContext *server_context;
static GMainLoop *server_loop;
static GThread *server_thread;
static gchar *tmpdir;
static gchar *auth_file;        /* the next server's password file */

static gpointer
run_server (gpointer data)
{
  g_main_context_push_thread_default (server_context);
  g_main_loop_run (server_loop);
  g_main_context_pop_thread_default (server_context);
  return NULL;
}

/* Emulated VMs A (named) and B, both listed at start unless @b_later. */
static void
start_server (gboolean b_later)
{
  VfioRtspOptions options = {
    .address = "127.0.0.1",
    .service = "0",
    .encoding = {VFIO_RTSP_ENCODER_AUTO, FPS, 2000, FPS / 2},
    .status_interval = 1,
  };
  g_autoptr (GError) error = NULL;
  GList *initial;

  vfio_emu_reset ();
  dev_a = vfio_emu_add_mdev (UUID_A, 31, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_mode (dev_a, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 320,
      240, 0);
  dev_b = vfio_emu_add_mdev (UUID_B, 32, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_request_irq (dev_b, TRUE);
  vfio_emu_set_mode (dev_b, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 352,
      288, 0);
  gst_dev_a = vfio_emu_provider_device_new (UUID_A, NAME_A);
  gst_dev_b = vfio_emu_provider_device_new (UUID_B, NULL);
  initial = g_list_append (NULL, gst_dev_a);
  if (!b_later)
    initial = g_list_append (initial, gst_dev_b);
  vfio_emu_provider_set_initial (initial);
  g_list_free (initial);

  tmpdir = g_dir_make_tmp ("vfio-rtsp-XXXXXX", NULL);
  fail_unless (tmpdir != NULL);
  if (auth_file) {
    g_autofree gchar *users = g_build_filename (tmpdir, "users", NULL);

    fail_unless (g_file_set_contents_full (users, "# viewers\n"
            "viewer:s3cret\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
    g_free (auth_file);
    auth_file = g_steal_pointer (&users);
    options.auth_file = auth_file;
  }
  server_context = g_main_context_new ();
  server_loop = g_main_loop_new (server_context, FALSE);
  server = vfio_rtsp_server_new (&options, &error);
  fail_unless (server != NULL, "%s", error ? error->message : "");
  fail_unless (vfio_rtsp_server_start (server, server_context, &error), "%s",
      error ? error->message : "");
  server_thread = g_thread_new ("server", run_server, NULL);
}

static void
stop_server (void)
{
  g_main_loop_quit (server_loop);
  g_thread_join (server_thread);
  vfio_rtsp_server_free (server);
  g_main_loop_unref (server_loop);
  g_main_context_unref (server_context);
  vfio_emu_provider_set_initial (NULL);
  gst_clear_object (&gst_dev_a);
  gst_clear_object (&gst_dev_b);
  /* the clients' frames */
  {
    g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const gchar *f;

    while (dir && (f = g_dir_read_name (dir))) {
      g_autofree gchar *path = g_build_filename (tmpdir, f, NULL);
      g_unlink (path);
    }
  }
  g_rmdir (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&auth_file, g_free);
  vfio_emu_reset ();
}

static gchar *
url (const gchar * path)
{
  return g_strdup_printf ("rtsp://127.0.0.1:%u/%s",
      vfio_rtsp_server_get_port (server), path);
}

/* ---- clients ---- */

typedef struct
{
  GPid pid;
  gchar *log;
  gint status;
  gboolean exited;
} Client;

static Client *
client_spawn (const gchar * const *argv)
{
  static guint n;
  Client *c = g_new0 (Client, 1);
  g_autoptr (GError) error = NULL;
  gint fd;

  c->log = g_strdup_printf ("%s/client-%u.log", tmpdir, n++);
  fd = g_open (c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  fail_unless (fd >= 0);
  /* Descriptors left open: GLib then spawns with posix_spawn, which runs
   * no code of this process (the emulator's interposers) in the child. */
  fail_unless (g_spawn_async_with_fds (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
          G_SPAWN_LEAVE_DESCRIPTORS_OPEN, NULL, NULL, &c->pid, -1, fd, fd,
          &error), "%s: %s", argv[0], error ? error->message : "");
  close (fd);
  GST_INFO ("client %d: %s", c->pid, argv[0]);
  return c;
}

static gchar *
client_output (Client * c)
{
  gchar *text = NULL;

  g_file_get_contents (c->log, &text, NULL, NULL);
  return text ? text : g_strdup ("");
}

/* Whether @c exited within @seconds. */
static gboolean
client_wait (Client * c, guint seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!c->exited) {
    pid_t r = waitpid (c->pid, &c->status, WNOHANG);

    if (r == c->pid) {
      c->exited = TRUE;
      break;
    }
    if (g_get_monotonic_time () > end)
      return FALSE;
    g_usleep (50 * 1000);
  }
  return TRUE;
}

/* Waits for @c, which must end with status 0. */
static void
client_finish (Client * c)
{
  g_autofree gchar *out = NULL;

  if (!client_wait (c, CLIENT_TIMEOUT_S)) {
    kill (c->pid, SIGKILL);
    client_wait (c, 5);
    out = client_output (c);
    fail ("client %d still running after %u s:\n%s", c->pid,
        CLIENT_TIMEOUT_S, out);
  }
  out = client_output (c);
  GST_INFO ("client %d: status %d\n%s", c->pid, c->status, out);
  fail_unless (WIFEXITED (c->status) && WEXITSTATUS (c->status) == 0,
      "client %d failed (status 0x%x):\n%s", c->pid, c->status, out);
}

static void
client_free (Client * c)
{
  if (!c->exited) {
    kill (c->pid, SIGKILL);
    client_wait (c, 5);
  }
  g_spawn_close_pid (c->pid);
  g_unlink (c->log);
  g_free (c->log);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free);

/* gst-launch-1.0 playing @path, writing BGRx frames PREFIX-NNNNN.bgrx;
 * @frames > 0: it ends after that many, else it runs until killed and
 * keeps the last 3 frames. */
static Client *
gst_client (const gchar * path, const gchar * prefix, gint frames)
{
  g_autofree gchar *location = url (path);
  g_autofree gchar *loc = g_strdup_printf ("location=%s", location);
  g_autofree gchar *eos = g_strdup_printf ("eos-after=%d", frames);
  g_autofree gchar *out = g_strdup_printf ("location=%s/%s-%%05d.bgrx",
      tmpdir, prefix);
  const gchar *argv[] = { "gst-launch-1.0", "-e", "rtspsrc", loc,
    "protocols=tcp", "latency=100", "!", "rtph264depay", "!", "avdec_h264",
    "!", "videoconvert", "!", "video/x-raw,format=BGRx", "!", "identity",
    frames > 0 ? eos : "silent=true", "!", "multifilesink", out,
    "max-files=3", NULL
  };

  return client_spawn (argv);
}

/* The number of frames written with @prefix so far (the next index). */
static guint
frames_written (const gchar * prefix)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const gchar *f;
  guint next = 0;

  gsize len = strlen (prefix);

  while ((f = g_dir_read_name (dir))) {
    gchar *end;
    guint64 n;

    if (strncmp (f, prefix, len) != 0 || f[len] != '-')
      continue;
    n = g_ascii_strtoull (f + len + 1, &end, 10);
    if (g_str_equal (end, ".bgrx") && n + 1 > next)
      next = n + 1;
  }
  return next;
}

/* ---- pictures ---- */

/* The frame @pixels of @width x @height BGRx shows the pattern of buffer
 * @id, by block averages. */
static void
check_picture (const guint8 * pixels, guint width, guint height, guint32 id,
    const gchar * what)
{
  gdouble worst = 0;

  for (guint by = 0; by + BLOCK <= height; by += BLOCK) {
    for (guint bx = 0; bx + BLOCK <= width; bx += BLOCK) {
      gdouble got[3] = { 0, }, want[3] = { 0, };

      for (guint y = by; y < by + BLOCK; y++) {
        for (guint x = bx; x < bx + BLOCK; x++) {
          const guint8 *p = pixels + (y * width + x) * 4;
          guint32 v = vfio_emu_pixel (id, x, y);

          for (guint c = 0; c < 3; c++) {
            got[c] += p[c];
            want[c] += (v >> (8 * c)) & 0xff;
          }
        }
      }
      for (guint c = 0; c < 3; c++) {
        gdouble diff = ABS (got[c] - want[c]) / (BLOCK * BLOCK);

        worst = MAX (worst, diff);
        fail_unless (diff <= TOLERANCE, "%s: block (%u, %u) channel %u: "
            "%.1f, expected %.1f", what, bx, by, c, got[c] / (BLOCK * BLOCK),
            want[c] / (BLOCK * BLOCK));
      }
    }
  }
  GST_INFO ("%s: the pattern, worst block off by %.1f", what, worst);
}

/* The last frame that a gst client wrote with @prefix. */
static void
check_gst_frames (const gchar * prefix, guint frames, guint width,
    guint height, guint32 id)
{
  guint written = frames_written (prefix);
  g_autofree gchar *file = g_strdup_printf ("%s/%s-%05u.bgrx", tmpdir,
      prefix, written - 1);
  g_autofree gchar *data = NULL;
  gsize size = 0;

  /* identity eos-after=N ends the stream instead of passing the Nth. */
  fail_unless (written + 1 >= frames, "%s: %u frames decoded, not %u",
      prefix, written, frames);
  fail_unless (g_file_get_contents (file, &data, &size, NULL), "no %s",
      file);
  fail_unless (size == (gsize) width * height * 4, "%s: %" G_GSIZE_FORMAT
      " bytes, not a %ux%u BGRx frame", file, size, width, height);
  check_picture ((const guint8 *) data, width, height, id, file);
}

/* ---- tests ---- */

GST_START_TEST (test_gst_clients_play_both)
{
  g_autoptr (Client) a = NULL;
  g_autoptr (Client) b = NULL;

  start_server (FALSE);
  a = gst_client (NAME_A, "a", 20);
  b = gst_client (UUID_B, "b", 20);
  client_finish (a);
  client_finish (b);
  check_gst_frames ("a", 20, 320, 240, vfio_emu_current_id (dev_a));
  check_gst_frames ("b", 20, 352, 288, vfio_emu_current_id (dev_b));
  stop_server ();
}

GST_END_TEST;

static Client *
ffprobe_client_at (const gchar * location)
{
  const gchar *argv[] = { "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
    "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
    "-of", "default=noprint_wrappers=1", location, NULL
  };

  return client_spawn (argv);
}

static Client *
ffprobe_client (const gchar * path)
{
  g_autofree gchar *location = url (path);

  return ffprobe_client_at (location);
}

static Client *
ffmpeg_client (const gchar * path, const gchar * file, guint frames)
{
  g_autofree gchar *location = url (path);
  g_autofree gchar *n = g_strdup_printf ("%u", frames);
  const gchar *argv[] = { "ffmpeg", "-nostdin", "-v", "error",
    "-rtsp_transport", "tcp", "-i", location, "-frames:v", n, "-f",
    "rawvideo", "-pix_fmt", "bgr0", "-y", file, NULL
  };

  return client_spawn (argv);
}

static void
check_ffprobe (Client * c, guint width, guint height)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *want = g_strdup_printf ("codec_name=h264\nwidth=%u\n"
      "height=%u\n", width, height);

  client_finish (c);
  out = client_output (c);
  fail_unless (strstr (out, want) != NULL, "ffprobe said:\n%s\nnot:\n%s",
      out, want);
}

static void
check_ffmpeg (Client * c, const gchar * file, guint frames, guint width,
    guint height, guint32 id)
{
  gsize frame_size = (gsize) width * height * 4;
  g_autofree gchar *data = NULL;
  gsize size = 0;

  client_finish (c);
  fail_unless (g_file_get_contents (file, &data, &size, NULL));
  fail_unless (size == frames * frame_size, "%s: %" G_GSIZE_FORMAT " bytes, "
      "not %u frames of %ux%u", file, size, frames, width, height);
  check_picture ((const guint8 *) data + size - frame_size, width, height,
      id, file);
  g_unlink (file);
}

/* ffprobe and ffmpeg; VM B appears while the server runs. */
GST_START_TEST (test_ffmpeg_clients_play_both)
{
  g_autofree gchar *file_a = NULL;
  g_autofree gchar *file_b = NULL;
  g_autoptr (GstDeviceProvider) provider = NULL;
  g_autoptr (Client) probe_a = NULL;
  g_autoptr (Client) probe_b = NULL;
  g_autoptr (Client) a = NULL;
  g_autoptr (Client) b = NULL;
  g_auto (GStrv) paths = NULL;

  start_server (TRUE);
  paths = vfio_rtsp_server_dup_paths (server);
  fail_unless_equals_int (g_strv_length (paths), 2);   /* A's name, UUID */

  provider = emu_provider ();
  gst_device_provider_device_add (provider, gst_object_ref (gst_dev_b));
  for (gint i = 0; i < 100 && g_strv_length (paths) < 3; i++) {
    g_usleep (20 * 1000);
    g_strfreev (paths);
    paths = vfio_rtsp_server_dup_paths (server);
  }
  fail_unless (g_strv_contains ((const gchar * const *) paths, "/" UUID_B),
      "VM B, added while the server runs, is not served");

  probe_a = ffprobe_client (NAME_A);
  probe_b = ffprobe_client (UUID_B);
  check_ffprobe (probe_a, 320, 240);
  check_ffprobe (probe_b, 352, 288);

  file_a = g_build_filename (tmpdir, "a.bgr0", NULL);
  file_b = g_build_filename (tmpdir, "b.bgr0", NULL);
  a = ffmpeg_client (NAME_A, file_a, 20);
  b = ffmpeg_client (UUID_B, file_b, 20);
  check_ffmpeg (a, file_a, 20, 320, 240, vfio_emu_current_id (dev_a));
  check_ffmpeg (b, file_b, 20, 352, 288, vfio_emu_current_id (dev_b));
  stop_server ();
}

GST_END_TEST;

/* With a password file, only its users play. */
GST_START_TEST (test_basic_auth)
{
  g_autoptr (Client) anonymous = NULL;
  g_autoptr (Client) wrong = NULL;
  g_autoptr (Client) viewer = NULL;
  g_autofree gchar *wrong_url = NULL;
  g_autofree gchar *viewer_url = NULL;

  auth_file = g_strdup ("");    /* start_server() writes it */
  start_server (FALSE);
  wrong_url = g_strdup_printf ("rtsp://viewer:guess@127.0.0.1:%u/" NAME_A,
      vfio_rtsp_server_get_port (server));
  viewer_url = g_strdup_printf ("rtsp://viewer:s3cret@127.0.0.1:%u/" NAME_A,
      vfio_rtsp_server_get_port (server));
  anonymous = ffprobe_client (NAME_A);
  wrong = ffprobe_client_at (wrong_url);
  fail_unless (client_wait (anonymous, CLIENT_TIMEOUT_S));
  fail_unless (client_wait (wrong, CLIENT_TIMEOUT_S));
  fail_if (WIFEXITED (anonymous->status)
      && WEXITSTATUS (anonymous->status) == 0, "played without a password");
  fail_if (WIFEXITED (wrong->status) && WEXITSTATUS (wrong->status) == 0,
      "played with a wrong password");
  viewer = ffprobe_client_at (viewer_url);
  check_ffprobe (viewer, 320, 240);
  stop_server ();
}

GST_END_TEST;

/* Waits until @n clients play VM @name. */
static void
wait_clients (const gchar * name, guint n)
{
  guint have = 0;

  for (gint i = 0; i < 600; i++) {
    have = vfio_rtsp_server_count_clients (server, name);
    if (have == n)
      return;
    g_usleep (50 * 1000);
  }
  fail ("%u clients play %s, not %u", have, name, n);
}

static guint64
stat_of (GstElement * src, const gchar * field)
{
  GstStructure *stats = NULL;
  guint64 value = 0;

  g_object_get (src, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &value));
  gst_structure_free (stats);
  return value;
}

GST_START_TEST (test_two_clients_share_one_capture)
{
  g_autoptr (Client) c1 = NULL;
  g_autoptr (Client) c2 = NULL;
  g_autoptr (GstElement) src = NULL;
  guint64 q0, q1, q2, f0, f1;
  guint e0, e1;
  gdouble seconds, rate;
  gint64 t0, t1;

  start_server (FALSE);
  c1 = gst_client (NAME_A, "c1", 120);
  c2 = gst_client (UUID_A, "c2", 60);
  wait_clients (NAME_A, 2);
  src = vfio_rtsp_server_get_source (server, NAME_A);
  fail_unless (src != NULL, "no capture of VM A");

  /* Every query the device sees is this source's: one capture. The source
   * counts a query just before making it (and not the probes made when
   * it opens the device: compare what both count over a second). */
  q0 = stat_of (src, "queries");
  e0 = vfio_emu_ioctl_count (dev_a, VFIO_DEVICE_QUERY_GFX_PLANE);
  f0 = stat_of (src, "frames");
  t0 = g_get_monotonic_time ();
  g_usleep (G_USEC_PER_SEC);
  q1 = stat_of (src, "queries");
  e1 = vfio_emu_ioctl_count (dev_a, VFIO_DEVICE_QUERY_GFX_PLANE);
  q2 = stat_of (src, "queries");
  f1 = stat_of (src, "frames");
  t1 = g_get_monotonic_time ();
  fail_unless (e1 - e0 + 1 >= q1 - q0 && e1 - e0 <= q2 - q0 + 1,
      "in a second the device saw %u queries, the server's capture made %"
      G_GUINT64_FORMAT ": more than one capture of VM A", e1 - e0, q2 - q0);

  /* One query a tick, one frame a query. */
  seconds = (t1 - t0) / 1e6;
  rate = (q2 - q0) / seconds;
  GST_INFO ("%.1f queries/s, %.1f frames/s", rate, (f1 - f0) / seconds);
  fail_unless (rate <= FPS * 1.25, "%.1f queries/s for %d fps", rate, FPS);
  fail_unless (rate >= FPS * 0.5, "%.1f queries/s for %d fps", rate, FPS);
  fail_unless (q2 - q0 <= f1 - f0 + 2, "%" G_GUINT64_FORMAT " queries for %"
      G_GUINT64_FORMAT " frames", q2 - q0, f1 - f0);

  client_finish (c1);
  client_finish (c2);
  fail_unless (frames_written ("c1") >= 119 && frames_written ("c2") >= 59);
  stop_server ();
}

GST_END_TEST;

/* The mode the emulated guest's EDID prefers, 0x0 without one. */
static void
edid_mode (VfioEmuDevice * dev, guint * width, guint * height)
{
  g_autoptr (GBytes) shown = vfio_emu_edid_shown (dev, NULL);
  const guint8 *b;

  *width = *height = 0;
  if (!shown || g_bytes_get_size (shown) < 128)
    return;
  b = g_bytes_get_data (shown, NULL);
  *width = b[56] | (b[58] & 0xf0) << 4;
  *height = b[59] | (b[61] & 0xf0) << 4;
}

GST_START_TEST (test_mode_writes_one_edid)
{
  g_autoptr (Client) c1 = NULL;
  g_autoptr (Client) c2 = NULL;
  g_autoptr (Client) bad = NULL;
  g_autoptr (GstElement) src = NULL;
  g_autofree gchar *mode = NULL;
  guint w, h;

  start_server (FALSE);
  c1 = gst_client (NAME_A "?mode=1280x720@60", "m1", 150);
  wait_clients (NAME_A, 1);
  src = vfio_rtsp_server_get_source (server, NAME_A);
  fail_unless (src != NULL);
  g_object_get (src, "guest-mode", &mode, NULL);
  fail_unless_equals_string (mode, "1280x720@60");
  edid_mode (dev_a, &w, &h);
  fail_unless (w == 1280 && h == 720, "the guest's EDID prefers %ux%u", w, h);
  fail_unless_equals_uint64 (stat_of (src, "edid-writes"), 1);

  /* The same mode again, no mode, a malformed one: no EDID written. */
  c2 = gst_client (UUID_A "?mode=1280x720@60", "m2", 10);
  client_finish (c2);
  g_clear_pointer (&c2, client_free);
  c2 = gst_client (NAME_A, "m3", 10);
  client_finish (c2);
  bad = gst_client (NAME_A "?mode=big", "m4", 10);
  fail_unless (client_wait (bad, CLIENT_TIMEOUT_S));
  fail_if (WIFEXITED (bad->status) && WEXITSTATUS (bad->status) == 0,
      "a client asking for mode=big played");
  fail_unless_equals_uint64 (stat_of (src, "edid-writes"), 1);
  fail_unless_equals_int (vfio_rtsp_server_count_clients (server, NAME_A), 1);
  client_finish (c1);
  stop_server ();
}

GST_END_TEST;

/* Clients of VMs A and B that play until killed. */
static void
play_a_and_b (Client ** a, Client ** b)
{
  *a = gst_client (NAME_A, "ra", 0);
  *b = gst_client (UUID_B, "rb", 0);
  wait_clients (NAME_A, 1);
  wait_clients (UUID_B, 1);
  while (frames_written ("rb") < 5)
    g_usleep (20 * 1000);
}

/* A's client still plays and decodes, and is alone on the server. */
static void
check_a_plays_on (Client * a)
{
  guint before = frames_written ("ra");

  g_usleep (G_USEC_PER_SEC);
  fail_unless (frames_written ("ra") >= before + FPS / 3,
      "VM A's client decoded %u frames in a second after B went",
      frames_written ("ra") - before);
  fail_if (client_wait (a, 0), "VM A's client ended too:\n%s",
      client_output (a));
  fail_unless_equals_int (vfio_rtsp_server_count_clients (server, NAME_A), 1);
  kill (a->pid, SIGINT);
  client_finish (a);
}

GST_START_TEST (test_vm_removed_ends_its_stream_only)
{
  g_autoptr (GstDeviceProvider) provider = emu_provider ();
  g_autoptr (Client) a = NULL;
  g_autoptr (Client) b = NULL;
  g_auto (GStrv) paths = NULL;

  start_server (FALSE);
  play_a_and_b (&a, &b);

  /* The mdev goes as the kernel removes one: its driver asks for it back
   * (the element ends its stream), udev says it is gone, it is gone. B's
   * client gets the end of its stream (RTCP BYE): it ends without error. */
  fail_unless (vfio_emu_request (dev_b));
  gst_device_provider_device_remove (provider, gst_dev_b);
  client_finish (b);
  vfio_emu_unplug (dev_b);

  paths = vfio_rtsp_server_dup_paths (server);
  fail_if (g_strv_contains ((const gchar * const *) paths, "/" UUID_B));
  fail_unless (g_strv_contains ((const gchar * const *) paths, "/" NAME_A));
  check_a_plays_on (a);
  stop_server ();
}

GST_END_TEST;

/* B's device fails under the stream (no request IRQ: the source fails
 * with an error): B's client is not left waiting, A's plays on. */
GST_START_TEST (test_vm_gone_abruptly_no_client_left_hanging)
{
  g_autoptr (Client) a = NULL;
  g_autoptr (Client) b = NULL;

  start_server (FALSE);
  play_a_and_b (&a, &b);
  vfio_emu_unplug (dev_b);
  fail_unless (client_wait (b, 15), "B's client still waits 15 s after its "
      "device went:\n%s", client_output (b));
  check_a_plays_on (a);
  stop_server ();
}

GST_END_TEST;

/* ---- main ---- */

static const gchar *const needed_elements[] = { "rtspsrc", "rtph264depay",
  "avdec_h264", "videoconvert", "identity", "multifilesink", "x264enc",
  "rtph264pay", "vfiogfxsrc", NULL
};

static const gchar *const needed_programs[] = { "gst-launch-1.0", "ffmpeg",
  "ffprobe", NULL
};

static gchar *
skip_reason (void)
{
  for (guint i = 0; needed_programs[i]; i++) {
    g_autofree gchar *path = g_find_program_in_path (needed_programs[i]);

    if (!path)
      return g_strdup_printf ("no %s (gstreamer1.0-tools, ffmpeg)",
          needed_programs[i]);
  }
  for (guint i = 0; needed_elements[i]; i++) {
    GstElementFactory *f = gst_element_factory_find (needed_elements[i]);

    if (!f)
      return g_strdup_printf ("no element %s (gstreamer1.0-rtsp, -libav, "
          "-plugins-ugly)", needed_elements[i]);
    gst_object_unref (f);
  }
  return NULL;
}

static Suite *
rtsp_server_suite (void)
{
  Suite *s = suite_create ("vfio-rtsp-server");
  TCase *tc = tcase_create ("clients");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_gst_clients_play_both);
  tcase_add_test (tc, test_ffmpeg_clients_play_both);
  tcase_add_test (tc, test_two_clients_share_one_capture);
  tcase_add_test (tc, test_mode_writes_one_edid);
  tcase_add_test (tc, test_basic_auth);
  tcase_add_test (tc, test_vm_removed_ends_its_stream_only);
  tcase_add_test (tc, test_vm_gone_abruptly_no_client_left_hanging);
  return s;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *reason = NULL;

  gst_check_init (&argc, &argv);
  reason = skip_reason ();
  if (reason) {
    g_print ("SKIP rtsp-server: %s\n", reason);
    return EXIT_SKIP;
  }
  if (!vfio_emu_provider_register ()) {
    g_printerr ("cannot register the test's device provider\n");
    return 1;
  }
  return gst_check_run_suite (rtsp_server_suite (), "rtsp-server", __FILE__);
}
