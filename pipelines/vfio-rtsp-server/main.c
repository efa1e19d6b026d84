/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-rtsp-server: serves the display of every VM on this host over RTSP,
 * at rtsp://HOST:8554/NAME (the VM's name when known, else the mdev UUID).
 * See "Serving VMs over RTSP" in docs/user-guide.md.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib-unix.h>
#include <gst/gst.h>
#include <stdlib.h>

#include "vfiortspserver.h"

static gchar *opt_address = NULL;
static gint opt_port = 8554;
static gchar *opt_auth_file = NULL;
static gchar *opt_encoder = NULL;
static gint opt_fps = 30;
static gint opt_bitrate = 4000;
static gint opt_key_interval = 0;
static gint opt_status = 5;

static GOptionEntry entries[] = {
  {"address", 'a', 0, G_OPTION_ARG_STRING, &opt_address,
      "Address to listen on (default 127.0.0.1: this host only; 0.0.0.0 for "
        "every network)", "ADDR"},
  {"port", 'p', 0, G_OPTION_ARG_INT, &opt_port,
      "TCP port of the RTSP server (default 8554; 0 for any free one)", "N"},
  {"auth-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_auth_file,
      "Require basic authentication from the users of FILE, one "
        "user:password a line", "FILE"},
  {"encoder", 'e', 0, G_OPTION_ARG_STRING, &opt_encoder,
      "auto (VA where there is a VA device, else x264), va or x264",
      "NAME"},
  {"fps", 0, 0, G_OPTION_ARG_INT, &opt_fps,
      "Frames per second of each stream (default 30)", "N"},
  {"bitrate", 'b', 0, G_OPTION_ARG_INT, &opt_bitrate,
      "Bitrate of each stream in kbit/s (default 4000)", "N"},
  {"key-interval", 'k', 0, G_OPTION_ARG_INT, &opt_key_interval,
      "Frames between key frames, the longest a new client waits for a "
        "picture (default: one second's worth)", "N"},
  {"status-interval", 's', 0, G_OPTION_ARG_INT, &opt_status,
      "Seconds between status lines (clients, fps, bitrate) per stream; 0: "
        "none (default 5)", "N"},
  {NULL}
};

static gboolean
check_options (VfioRtspOptions * o, gchar ** port, GError ** error)
{
  if (opt_port < 0 || opt_port > 65535 || opt_fps < 1 || opt_fps > 240
      || opt_bitrate < 100 || opt_key_interval < 0 || opt_status < 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--port must be 0..65535, --fps 1..240, --bitrate at least 100, "
        "--key-interval and --status-interval not negative");
    return FALSE;
  }
  o->encoding.kind = VFIO_RTSP_ENCODER_AUTO;
  if (opt_encoder && !vfio_rtsp_encoder_parse (opt_encoder,
          &o->encoding.kind)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--encoder must be auto, va or x264, not '%s'", opt_encoder);
    return FALSE;
  }
  *port = g_strdup_printf ("%d", opt_port);
  o->address = opt_address ? opt_address : "127.0.0.1";
  o->service = *port;
  o->auth_file = opt_auth_file;
  o->encoding.fps = opt_fps;
  o->encoding.bitrate = opt_bitrate;
  o->encoding.key_interval = opt_key_interval ? opt_key_interval : opt_fps;
  o->status_interval = opt_status;
  return TRUE;
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_args (int *argc, char ***argv, GError ** error)
{
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("- serve every VM's display over RTSP");

  g_option_context_set_summary (ctx, "Serves the display of each VM whose "
      "vGPU is a VFIO mdev at rtsp://ADDR:PORT/NAME, NAME being the VM's "
      "name when known, else the mdev UUID; rtsp://ADDR:PORT/NAME?mode="
      "1280x720@60 also gives the guest that screen mode. Capturing a "
      "running VM needs root or CAP_SYS_PTRACE.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  return g_option_context_parse (ctx, argc, argv, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VfioRtspServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autofree gchar *port = NULL;
  VfioRtspOptions options = { 0, };

  if (!parse_args (&argc, &argv, &error)
      || !check_options (&options, &port, &error)) {
    g_printerr ("vfio-rtsp-server: %s\n", error->message);
    return 2;
  }
  loop = g_main_loop_new (NULL, FALSE);
  server = vfio_rtsp_server_new (&options, &error);
  if (!server || !vfio_rtsp_server_start (server, g_main_context_default (),
          &error)) {
    g_printerr ("vfio-rtsp-server: %s\n", error->message);
    return 1;
  }
  g_unix_signal_add (SIGINT, quit, loop);
  g_unix_signal_add (SIGTERM, quit, loop);
  g_main_loop_run (loop);
  g_print ("vfio-rtsp-server: stopping\n");
  return 0;
}
