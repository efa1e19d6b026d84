/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scripts of pipelines/ against the emulated mdev.
 *
 * Each script prints its launch description with --print-pipeline; this test
 * runs that very description with gst_parse_launch(), with num-buffers on the
 * source, waits for EOS and checks the output (MP4 samples, PNG pixels, RTP
 * packets, the source's frame counter).
 *
 * One run checks one script, named by the only argument (see the table
 * below; meson declares one test per entry). A script that cannot run here
 * says why on one line ("SKIP name: reason") and exits 77, which meson
 * counts as skipped, in two cases only: an element whose plugin is not
 * installed or needs a device that is missing (VA registers no element
 * without a VA device), or a display sink without a display. Any other
 * element that cannot be made, a misspelt name first of all, fails.
 *
 * VFIOGFX_PIPELINES_DIR overrides the scripts' directory (to try a changed
 * copy of a script).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <gst/allocators/allocators.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfioemu.h"

#define UUID "3c5b1f0e-7d2a-4e8b-9a61-5f4c2b8d7e90"
#define GROUP 17
#define WIDTH 640
#define HEIGHT 480
#define N_BUFFERS 10
#define TIMEOUT (60 * GST_SECOND)
#define EXIT_SKIP 77

typedef enum
{
  OUTPUT_MP4,
  OUTPUT_PNG,
  OUTPUT_RTP,
  OUTPUT_DISPLAY,
  OUTPUT_NONE,
} Output;

/* The memory the source negotiates. */
typedef enum
{
  MEMORY_ANY,
  MEMORY_DMABUF,                /* zero copy into a DMABuf importer */
  MEMORY_SYSTEM,                /* the CPU maps the guest framebuffer */
} Memory;

typedef struct
{
  const gchar *name;            /* the meson test */
  const gchar *script;
  const gchar *option;          /* an option of the script, or NULL */
  Output output;
  Memory memory;
  const gchar *media_type;      /* OUTPUT_MP4: the stream in the file */
  gboolean by_fd;               /* fd:N instead of the UUID */
  const gchar *display_env;     /* needs one of these variables set */
} PipelineCase;

/* *INDENT-OFF* */
static const PipelineCase cases[] = {
  {"va-h264-rtp", "va-h264-rtp.sh", NULL, OUTPUT_RTP, MEMORY_DMABUF},
  {"va-h264-mp4", "va-h264-mp4.sh", NULL, OUTPUT_MP4, MEMORY_DMABUF,
      "video/x-h264"},
  {"va-h264-mp4-postproc", "va-h264-mp4.sh", "--postproc", OUTPUT_MP4,
      MEMORY_DMABUF, "video/x-h264"},
  {"va-h265-mp4", "va-h265-mp4.sh", NULL, OUTPUT_MP4, MEMORY_DMABUF,
      "video/x-h265"},
  {"va-av1-mp4", "va-av1-mp4.sh", NULL, OUTPUT_MP4, MEMORY_DMABUF,
      "video/x-av1"},
  {"x264-mp4", "x264-mp4.sh", NULL, OUTPUT_MP4, MEMORY_SYSTEM,
      "video/x-h264"},
  {"snapshot-png", "snapshot-png.sh", NULL, OUTPUT_PNG, MEMORY_SYSTEM},
  {"display-gl", "display.sh", "--sink=gl", OUTPUT_DISPLAY, MEMORY_ANY, NULL,
      FALSE, "WAYLAND_DISPLAY DISPLAY"},
  {"display-wayland", "display.sh", "--sink=wayland", OUTPUT_DISPLAY,
      MEMORY_ANY, NULL, FALSE, "WAYLAND_DISPLAY"},
  /* fakesink takes anything: system memory, as the emulated dma-bufs map. */
  {"smoke", "smoke.sh", NULL, OUTPUT_NONE, MEMORY_SYSTEM},
  {"smoke-fd", "smoke.sh", NULL, OUTPUT_NONE, MEMORY_SYSTEM, NULL, TRUE},
  {"cloud-gaming", "cloud-gaming.sh", "--mode=1280x720@30", OUTPUT_RTP,
      MEMORY_SYSTEM},
};
/* *INDENT-ON* */

/* The elements of the scripts that may be missing here, and the plugin
 * that has each. An element of a script that is neither made nor listed
 * here is a mistake in the script, not a reason to skip. */
typedef struct
{
  const gchar *element;
  const gchar *plugin;
  const gchar *device;          /* the plugin registers the element only
                                 * when it finds this, or NULL */
} PluginElement;

#define VA_DEVICE "VA device (/dev/dri/renderD*)"

/* *INDENT-OFF* */
static const PluginElement plugin_elements[] = {
  {"vah264enc", "va", VA_DEVICE},
  {"vah265enc", "va", VA_DEVICE},
  {"vaav1enc", "va", VA_DEVICE},
  {"vapostproc", "va", VA_DEVICE},
  {"glupload", "opengl"},
  {"glimagesink", "opengl"},
  {"waylandsink", "waylandsink"},
  {"x264enc", "x264"},
  {"h264parse", "videoparsersbad"},
  {"h265parse", "videoparsersbad"},
  {"av1parse", "videoparsersbad"},
  {"mp4mux", "isomp4"},
  {"qtdemux", "isomp4"},
  {"rtph264pay", "rtp"},
  {"udpsink", "udp"},
  {"pngenc", "png"},
  {"pngdec", "png"},
  {"videoconvert", "videoconvertscale"},
};
/* *INDENT-ON* */

static const PipelineCase *the_case;

/* What a script writes to, and what the test checks afterwards. */
typedef struct
{
  gchar *dir;                   /* temporary directory */
  gchar *file;                  /* OUTPUT_MP4, OUTPUT_PNG */
  gint sock;                    /* OUTPUT_RTP: bound to 127.0.0.1 */
  guint16 port;
} Sink;

/* ---- running the scripts ---- */

static gchar *
script_path (const PipelineCase * c)
{
  const gchar *dir = g_getenv ("VFIOGFX_PIPELINES_DIR");

  return g_build_filename (dir ? dir : PIPELINES_DIR, c->script, NULL);
}

/* The launch description that the script prints for @device and @sink;
 * NULL with @error set when the script fails. */
static gchar *
print_pipeline (const PipelineCase * c, const gchar * device,
    const Sink * sink, GError ** error)
{
  g_autofree gchar *path = script_path (c);
  g_autofree gchar *port = g_strdup_printf ("%u", sink->port);
  g_autofree gchar *n = g_strdup_printf ("%d", N_BUFFERS);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  gint status;

  g_ptr_array_add (argv, path);
  g_ptr_array_add (argv, (gpointer) "--print-pipeline");
  if (c->option)
    g_ptr_array_add (argv, (gpointer) c->option);
  g_ptr_array_add (argv, (gpointer) device);
  switch (c->output) {
    case OUTPUT_MP4:
    case OUTPUT_PNG:
      g_ptr_array_add (argv, sink->file);
      break;
    case OUTPUT_RTP:
      g_ptr_array_add (argv, (gpointer) "127.0.0.1");
      g_ptr_array_add (argv, port);
      break;
    case OUTPUT_NONE:
      g_ptr_array_add (argv, n);
      break;
    case OUTPUT_DISPLAY:
      break;
  }
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_DEFAULT,
          NULL, NULL, &out, &err, &status, error))
    return NULL;
  if (!g_spawn_check_wait_status (status, error)) {
    g_prefix_error (error, "%s: %s", path, err);
    return NULL;
  }
  return g_strstrip (g_steal_pointer (&out));
}

/* ---- skipping ---- */

static const PluginElement *
find_plugin_element (const gchar * element)
{
  for (guint i = 0; i < G_N_ELEMENTS (plugin_elements); i++) {
    if (g_str_equal (plugin_elements[i].element, element))
      return &plugin_elements[i];
  }
  return NULL;
}

/* Why @element, which could not be made, may be missing here: NULL with
 * @error set when it should have been made. */
static gchar *
missing_element_reason (const gchar * element, GError ** error)
{
  const PluginElement *pe = find_plugin_element (element);
  GstPlugin *plugin;

  if (!pe) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no element '%s': a misspelt name, or an element missing from the "
        "table plugin_elements in %s", element, __FILE__);
    return NULL;
  }
  plugin = gst_registry_find_plugin (gst_registry_get (), pe->plugin);
  if (!plugin)
    return g_strdup_printf ("%s: plugin '%s' is not installed", element,
        pe->plugin);
  gst_object_unref (plugin);
  if (pe->device)
    return g_strdup_printf ("%s: no %s, plugin '%s' registers no element "
        "without one", element, pe->device, pe->plugin);
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
      "plugin '%s' is installed but has no element '%s'", pe->plugin,
      element);
  return NULL;
}

/* Why @c cannot run here, or NULL when it can (or when it must fail: then
 * the test itself reports why). */
static gchar *
skip_reason (const PipelineCase * c)
{
  Sink sink = { NULL, (gchar *) "check.out", -1, 5004 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GstParseContext) ctx = gst_parse_context_new ();
  g_autofree gchar *desc = NULL;
  g_auto (GStrv) missing = NULL;
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  GstElement *pipeline;

  desc = print_pipeline (c, UUID, &sink, &error);
  if (!desc)
    return NULL;

  pipeline = gst_parse_launch_full (desc, ctx, GST_PARSE_FLAG_NONE, &error);
  gst_clear_object (&pipeline);
  missing = gst_parse_context_get_missing_elements (ctx);
  for (guint i = 0; missing && missing[i]; i++) {
    g_autoptr (GError) missing_error = NULL;
    gchar *reason = missing_element_reason (missing[i], &missing_error);

    if (!reason) {
      g_printerr ("%s: %s\n", c->name, missing_error->message);
      return NULL;
    }
    g_ptr_array_add (reasons, reason);
  }
  if (reasons->len > 0) {
    g_ptr_array_add (reasons, NULL);
    return g_strjoinv ("; ", (gchar **) reasons->pdata);
  }

  if (c->display_env) {
    g_auto (GStrv) vars = g_strsplit (c->display_env, " ", -1);
    for (guint i = 0; vars[i]; i++) {
      if (g_getenv (vars[i]))
        return NULL;
    }
    return g_strdup_printf ("no display: %s unset", c->display_env);
  }
  return NULL;
}

/* ---- outputs ---- */

static void
sink_prepare (Sink * sink, Output output)
{
  struct sockaddr_in addr = { 0, };
  socklen_t len = sizeof (addr);
  const gchar *name = output == OUTPUT_PNG ? "out.png" : "out.mp4";

  sink->dir = g_dir_make_tmp ("vfiogfxsrc-pipelines-XXXXXX", NULL);
  fail_unless (sink->dir != NULL);
  sink->file = g_build_filename (sink->dir, name, NULL);
  sink->sock = -1;
  if (output != OUTPUT_RTP)
    return;

  sink->sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  fail_unless (sink->sock >= 0, "socket: %s", g_strerror (errno));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fail_unless (bind (sink->sock, (struct sockaddr *) &addr, len) == 0);
  fail_unless (getsockname (sink->sock, (struct sockaddr *) &addr, &len) == 0);
  sink->port = ntohs (addr.sin_port);
}

static void
sink_clear (Sink * sink)
{
  if (sink->sock >= 0)
    close (sink->sock);
  g_unlink (sink->file);
  g_rmdir (sink->dir);
  g_free (sink->file);
  g_free (sink->dir);
}

/* The last buffer and caps that reach the fakesink named "sink". */
typedef struct
{
  guint count;
  GstBuffer *buffer;
  GstCaps *caps;
} Received;

static void
on_handoff (GstElement * fakesink, GstBuffer * buffer, GstPad * pad,
    Received * r)
{
  r->count++;
  gst_buffer_replace (&r->buffer, buffer);
  gst_caps_take (&r->caps, gst_pad_get_current_caps (pad));
}

/* Plays @pipeline until EOS; fails on an error or a timeout. */
static void
play_to_eos (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  /* A failure to start posts an error too. */
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, TIMEOUT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no EOS within %" GST_TIME_FORMAT,
      GST_TIME_ARGS (TIMEOUT));
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *debug = NULL;

    gst_message_parse_error (msg, &error, &debug);
    fail ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg),
        error->message, debug);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
}

/* Decodes @file with @chain (ending in a fakesink named "sink"). */
static void
read_back (const gchar * file, const gchar * chain, Received * r)
{
  g_autofree gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! %s",
      file, chain);
  g_autoptr (GError) error = NULL;
  GstElement *pipeline, *sink;

  pipeline = gst_parse_launch (desc, &error);
  fail_unless (pipeline != NULL, "%s: %s", desc, error ? error->message : "");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "signal-handoffs", TRUE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), r);
  play_to_eos (pipeline);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

/* @file is there, not empty, and @element can decode it: its plugin is
 * the one that made the file (skip_reason() saw it). */
static void
check_readable (const gchar * file, const gchar * element)
{
  GstElementFactory *factory = gst_element_factory_find (element);
  GStatBuf st;

  fail_unless (g_stat (file, &st) == 0, "no %s", file);
  fail_unless (st.st_size > 0, "%s is empty", file);
  fail_unless (factory != NULL, "no %s to read %s back", element, file);
  gst_object_unref (factory);
}

static void
check_size (GstCaps * caps)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint width = 0, height = 0;

  fail_unless (gst_structure_get_int (s, "width", &width));
  fail_unless (gst_structure_get_int (s, "height", &height));
  fail_unless_equals_int (width, WIDTH);
  fail_unless_equals_int (height, HEIGHT);
}

static void
check_mp4 (const gchar * file, const gchar * media_type, guint frames)
{
  g_autofree gchar *str = NULL;
  Received r = { 0, };

  check_readable (file, "qtdemux");
  read_back (file, "qtdemux ! fakesink name=sink", &r);
  fail_unless (r.caps != NULL);
  str = gst_caps_to_string (r.caps);
  GST_INFO ("%s: %u samples, %s", file, r.count, str);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (r.caps, 0),
          media_type), "%s is not %s", str, media_type);
  check_size (r.caps);
  /* 4:4:4 profiles are valid but most players cannot decode them. */
  fail_if (strstr (str, "4:4:4") != NULL, "%s: a 4:4:4 profile", str);
  fail_unless_equals_int (r.count, frames);
  gst_clear_buffer (&r.buffer);
  gst_clear_caps (&r.caps);
}

/* The PNG shows the guest's pixels, see vfio_emu_pixel(). */
static void
check_png (const gchar * file, guint32 id)
{
  static const guint points[][2] = { {0, 0}, {5, 7}, {300, 200},
  {WIDTH - 1, HEIGHT - 1}
  };
  Received r = { 0, };
  GstVideoInfo info;
  GstVideoFrame frame;

  check_readable (file, "pngdec");
  read_back (file, "pngdec ! videoconvert ! video/x-raw,format=BGRx ! "
      "fakesink name=sink", &r);
  fail_unless_equals_int (r.count, 1);
  check_size (r.caps);
  fail_unless (gst_video_info_from_caps (&info, r.caps));
  fail_unless (gst_video_frame_map (&frame, &info, r.buffer, GST_MAP_READ));
  for (guint i = 0; i < G_N_ELEMENTS (points); i++) {
    guint x = points[i][0], y = points[i][1];
    const guint8 *line = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
        0) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
    guint32 got = GST_READ_UINT32_LE (line + x * 4) & 0xffffff;

    fail_unless_equals_int (got, vfio_emu_pixel (id, x, y) & 0xffffff);
  }
  gst_video_frame_unmap (&frame);
  gst_clear_buffer (&r.buffer);
  gst_clear_caps (&r.caps);
}

/* RTP packets (version 2, payload type 96) arrived on the socket. */
static void
check_rtp (gint sock)
{
  guint8 packet[2048];
  guint packets = 0;
  ssize_t len;

  while ((len = recv (sock, packet, sizeof (packet), MSG_DONTWAIT)) > 0) {
    fail_unless (len >= 12);
    fail_unless_equals_int (packet[0] >> 6, 2);
    fail_unless_equals_int (packet[1] & 0x7f, 96);
    packets++;
  }
  GST_INFO ("%u RTP packets", packets);
  fail_unless (packets > 0, "no RTP packet received");
}

/* ---- the test ---- */

static GstElement *
find_source (GstElement * pipeline)
{
  GstElement *src = NULL;
  GstIterator *it = gst_bin_iterate_sources (GST_BIN (pipeline));
  GValue item = G_VALUE_INIT;

  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&item);
    GstElementFactory *f = gst_element_get_factory (e);

    if (f && g_str_equal (GST_OBJECT_NAME (f), "vfiogfxsrc"))
      src = gst_object_ref (e);
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  fail_unless (src != NULL, "no vfiogfxsrc in the pipeline");
  return src;
}

static GstPadProbeReturn
on_src_event (GstPad * pad, GstPadProbeInfo * info, GstCaps ** caps)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *c;

    gst_event_parse_caps (event, &c);
    gst_caps_replace (caps, c);
  }
  return GST_PAD_PROBE_OK;
}

static void
check_memory (GstCaps * caps, Memory memory)
{
  g_autofree gchar *str = NULL;
  gboolean dmabuf;

  fail_unless (caps != NULL, "the source negotiated no caps");
  str = gst_caps_to_string (caps);
  GST_INFO ("source caps %s", str);
  dmabuf = gst_caps_features_contains (gst_caps_get_features (caps, 0),
      GST_CAPS_FEATURE_MEMORY_DMABUF);
  if (memory == MEMORY_DMABUF)
    fail_unless (dmabuf, "not zero copy: %s", str);
  else if (memory == MEMORY_SYSTEM)
    fail_unless (!dmabuf, "not system memory: %s", str);
}

static guint64
frames_pushed (GstElement * src)
{
  GstStructure *stats = NULL;
  guint64 frames = 0;

  g_object_get (src, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  fail_unless (gst_structure_get_uint64 (stats, "frames", &frames));
  gst_structure_free (stats);
  return frames;
}

GST_START_TEST (test_pipeline)
{
  const PipelineCase *c = the_case;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *device = NULL;
  g_autofree gchar *desc = NULL;
  GstElement *pipeline, *src;
  GstCaps *caps = NULL;
  GstPad *srcpad;
  VfioEmuDevice *dev;
  Sink sink = { 0, };
  gint num_buffers;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
  if (c->by_fd)
    device = g_strdup_printf ("fd:%d", vfio_emu_open_device_fd (dev));
  else
    device = g_strdup (UUID);
  sink_prepare (&sink, c->output);

  desc = print_pipeline (c, device, &sink, &error);
  fail_unless (desc != NULL, "%s", error ? error->message : "");
  GST_INFO ("%s: %s", c->script, desc);
  pipeline = gst_parse_launch (desc, &error);
  fail_unless (pipeline != NULL && error == NULL, "%s: %s", desc,
      error ? error->message : "");

  /* The scripts run until Ctrl-C unless they set num-buffers. */
  src = find_source (pipeline);
  g_object_get (src, "num-buffers", &num_buffers, NULL);
  if (num_buffers < 0) {
    num_buffers = N_BUFFERS;
    g_object_set (src, "num-buffers", num_buffers, NULL);
  }

  srcpad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) on_src_event, &caps, NULL);
  gst_object_unref (srcpad);

  play_to_eos (pipeline);
  fail_unless_equals_uint64 (frames_pushed (src), num_buffers);
  check_memory (caps, c->memory);
  gst_caps_unref (caps);
  gst_object_unref (src);
  gst_object_unref (pipeline);

  switch (c->output) {
    case OUTPUT_MP4:
      check_mp4 (sink.file, c->media_type, num_buffers);
      break;
    case OUTPUT_PNG:
      check_png (sink.file, vfio_emu_current_id (dev));
      break;
    case OUTPUT_RTP:
      check_rtp (sink.sock);
      break;
    case OUTPUT_DISPLAY:
    case OUTPUT_NONE:
      break;
  }

  sink_clear (&sink);
  vfio_emu_reset ();
}

GST_END_TEST;

static const PipelineCase *
find_case (const gchar * name)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    if (g_str_equal (cases[i].name, name))
      return &cases[i];
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *reason = NULL;
  Suite *s;
  TCase *tc;

  gst_check_init (&argc, &argv);
  if (argc != 2 || !(the_case = find_case (argv[1]))) {
    g_printerr ("usage: %s PIPELINE (a name from the table in %s)\n",
        argv[0], __FILE__);
    return 2;
  }

  reason = skip_reason (the_case);
  if (reason) {
    g_print ("SKIP %s: %s\n", the_case->name, reason);
    return EXIT_SKIP;
  }

  /* skip_reason() made elements, and with them threads (udpsink's GIO):
   * a child forked now could inherit a lock held by one of them and hang.
   * One test per run: nothing to isolate, so run it in this process. */
  g_setenv ("CK_FORK", "no", TRUE);

  s = suite_create ("pipelines");
  tc = tcase_create (the_case->name);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_pipeline);
  return gst_check_run_suite (s, "pipelines", the_case->name);
}
