/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiogfxsrc and the lifetime of what it exports, against the emulated
 * mdev: each guest framebuffer is exported once for as long as the device
 * file is open, whatever the guest shows, however often the element
 * changes state, and however many elements use the device (mbochs frees
 * guest pages still in use at a second export: FACTS.md). Also the fds:
 * the adopted one, the exported ones, refused exports, region indexes.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <gst/allocators/allocators.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/vfio/vfio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srccheck.h"
#include "vfioemu.h"

#define UUID "0d3c2b1a-5e4f-4a6b-9c8d-7e6f5a4b3c2d"
#define GROUP 23
#define FAST_DMABUF "video/x-raw(memory:DMABuf), framerate=1000/1"
#define WIDTH 64
#define HEIGHT 32
#define PLANE_SIZE (WIDTH * HEIGHT * 4)

static VfioEmuDevice *dev;

static void
setup (void)
{
  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
}

static void
teardown (void)
{
  vfio_emu_reset ();
  gst_vfio_device_close_unused ();
  dev = NULL;
}

/* A harness on @fd (-1: the mdev by UUID). */
static GstHarness *
harness_on (gint fd)
{
  GstHarness *h = gst_harness_new_with_padnames ("vfiogfxsrc", NULL, "src");

  if (fd >= 0)
    g_object_set (h->element, "device-fd", fd, NULL);
  else
    g_object_set (h->element, "device", UUID, NULL);
  gst_harness_use_systemclock (h);
  gst_harness_set_sink_caps_str (h, FAST_DMABUF);
  return h;
}

static guint
exports (void)
{
  return vfio_emu_ioctl_count (dev, VFIO_DEVICE_GET_GFX_DMABUF);
}

/* The guest shows framebuffer @id of the same XR24 layout, as a guest
 * panning through a tall virtual framebuffer does. */
static void
show_id (guint32 id)
{
  struct vfio_device_gfx_plane_info info = {
    .drm_format = DRM_FORMAT_XRGB8888,
    .drm_format_mod = DRM_FORMAT_MOD_LINEAR,
    .width = WIDTH,
    .height = HEIGHT,
    .stride = WIDTH * 4,
    .size = PLANE_SIZE,
    .x_hot = G_MAXUINT32,
    .y_hot = G_MAXUINT32,
    .dmabuf_id = id,
  };

  vfio_emu_set_raw_plane (dev, &info, PLANE_SIZE);
}

/* Pulls until a buffer's memory differs from @old; returns that memory
 * (only compared, never dereferenced). */
static GstMemory *
pull_new_memory (GstHarness * h, GstMemory * old)
{
  for (gint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMemory *mem;

    fail_unless (buf != NULL);
    mem = gst_buffer_peek_memory (buf, 0);
    gst_buffer_unref (buf);
    if (mem != old)
      return mem;
  }
  fail ("the memory never changed");
  return NULL;
}

static void
pull_one (GstHarness * h)
{
  GstBuffer *buf = gst_harness_pull (h);

  fail_unless (buf != NULL);
  gst_buffer_unref (buf);
}

/* A guest cycling 2.5 times through 24 framebuffers, more than the old
 * bound of 16: each is exported once, never again after it went idle. */
GST_START_TEST (test_many_framebuffers_exported_once)
{
  GstHarness *h = harness_on (-1);
  GstMemory *mem = NULL;
  const guint ids = 24;

  gst_harness_play (h);
  for (guint n = 0; n < ids * 5 / 2; n++) {
    show_id (1 + n % ids);
    mem = pull_new_memory (h, mem);
  }

  fail_unless_equals_int (exports (), ids);
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), ids);
  fail_unless_equals_uint64 (stat_of (h->element, "rejected-planes"), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Past max-framebuffers the new framebuffers are skipped with a warning;
 * the ones exported stay and are never exported again. */
GST_START_TEST (test_bound_skips_new_framebuffers)
{
  GstHarness *h = harness_on (-1);
  GstBus *bus;
  GstMessage *warning;
  GError *error = NULL;
  gchar *debug = NULL;
  GstMemory *mem = NULL;

  g_object_set (h->element, "max-framebuffers", 4, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  for (guint32 id = 1; id <= 4; id++) {
    show_id (id);
    mem = pull_new_memory (h, mem);
  }
  fail_unless_equals_int (exports (), 4);

  show_id (5);
  warning = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning past the bound");
  gst_message_parse_warning (warning, &error, &debug);
  fail_unless (strstr (debug, "max-framebuffers") != NULL, "%s", debug);
  g_free (debug);
  g_clear_error (&error);
  gst_message_unref (warning);
  fail_unless (stat_of (h->element, "rejected-planes") > 0);

  for (guint32 id = 1; id <= 4; id++) {
    show_id (id);
    mem = pull_new_memory (h, mem);
  }
  fail_unless_equals_int (exports (), 4);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* PLAYING -> READY -> PLAYING three times on one device: no new export. */
GST_START_TEST (test_state_cycles_export_once)
{
  GstHarness *h = harness_on (-1);

  gst_harness_play (h);
  pull_one (h);
  for (gint cycle = 0; cycle < 3; cycle++) {
    fail_unless_equals_int (gst_element_set_state (h->element,
            GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
    gst_harness_play (h);
    pull_one (h);
  }
  fail_unless_equals_int (exports (), 1);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Two elements on the same adopted fd share its exports. */
GST_START_TEST (test_two_elements_one_fd)
{
  gint fd = vfio_emu_open_device_fd (dev);
  GstHarness *a = harness_on (fd);
  GstHarness *b = harness_on (fd);
  GstBuffer *buf_a, *buf_b;
  GstMemory *shown;

  gst_harness_play (a);
  gst_harness_play (b);
  buf_a = gst_harness_pull (a);
  buf_b = gst_harness_pull (b);
  shown = gst_buffer_peek_memory (buf_a, 0);
  fail_unless (shown == gst_buffer_peek_memory (buf_b, 0),
      "one framebuffer, two memories");
  gst_buffer_unref (buf_a);
  gst_buffer_unref (buf_b);

  /* Buffers of the first framebuffer may still be queued: pull past them. */
  vfio_emu_flip (dev);
  pull_new_memory (a, shown);
  pull_new_memory (b, shown);
  fail_unless_equals_int (exports (), 2);

  gst_harness_teardown (a);
  gst_harness_teardown (b);
  close (fd);
}

GST_END_TEST;

/* Two elements on fds dup'ed from one another: one open file, shared. */
GST_START_TEST (test_dup_fds_share_exports)
{
  gint fd = vfio_emu_open_device_fd (dev);
  gint copy = dup (fd);
  GstHarness *a = harness_on (fd);
  GstHarness *b = harness_on (copy);

  gst_harness_play (a);
  gst_harness_play (b);
  pull_one (a);
  pull_one (b);
  fail_unless_equals_int (exports (), 1);

  gst_harness_teardown (a);
  gst_harness_teardown (b);
  close (copy);
  close (fd);
}

GST_END_TEST;

/* An element created again on the fd the application still holds: the
 * device file stayed open, so its ids must not be exported again. Once the
 * application closes the fd, the element's copy goes too. */
GST_START_TEST (test_new_element_same_fd)
{
  gint fd = vfio_emu_open_device_fd (dev);
  GstHarness *h;

  h = harness_on (fd);
  gst_harness_play (h);
  pull_one (h);
  gst_harness_teardown (h);

  h = harness_on (fd);
  gst_harness_play (h);
  pull_one (h);
  gst_harness_teardown (h);
  fail_unless_equals_int (exports (), 1);

  /* Still held by the application: kept. */
  fail_unless_equals_int (gst_vfio_device_close_unused (), 1);
  fail_unless (vfio_emu_open_fds () > 0);
  close (fd);
  fail_unless_equals_int (gst_vfio_device_close_unused (), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
}

GST_END_TEST;

/* The element works on its own copy of device-fd: the application may
 * close its fd once the element is in READY, and the copy is closed at
 * READY -> NULL. */
GST_START_TEST (test_device_fd_is_duplicated)
{
  gint fd = vfio_emu_open_device_fd (dev);
  GstHarness *h = harness_on (fd);
  gint copy = dup (fd);
  GstBuffer *held;
  GstMemory *old;

  gst_harness_play (h);
  held = gst_harness_pull (h);
  fail_unless (held != NULL);
  old = gst_buffer_peek_memory (held, 0);
  close (fd);
  vfio_emu_flip (dev);
  pull_new_memory (h, old);
  gst_buffer_unref (held);
  fail_unless_equals_int (stat_of (h->element, "exports"), 2);

  close (copy);
  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless_equals_int (gst_vfio_device_close_unused (), 0);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Exported dma-bufs are close-on-exec, whatever the exporter did. */
GST_START_TEST (test_dmabuf_fds_close_on_exec)
{
  GstHarness *h = harness_on (-1);
  GstBuffer *buf;
  gint fd;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fd = gst_dmabuf_memory_get_fd (gst_buffer_peek_memory (buf, 0));
  fail_unless (fd >= 0);
  fail_unless (fcntl (fd, F_GETFD) & FD_CLOEXEC, "dma-buf fd %d would be "
      "inherited by children", fd);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* mbochs refuses to export a framebuffer that does not start on a page
 * (EINVAL) for good: one try, then the frames are skipped and counted. */
GST_START_TEST (test_refused_export_not_retried)
{
  GstHarness *h = harness_on (-1);
  GstBus *bus;
  GstMessage *warning;

  bus = attach_bus (h->element);
  gst_harness_play (h);
  pull_one (h);

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 0);
  show_id (9);
  warning = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning for a refused export");
  gst_message_unref (warning);
  for (gint i = 0; i < 5000 && stat_of (h->element, "rejected-planes") < 20;
      i++)
    g_usleep (1000);
  fail_unless (stat_of (h->element, "rejected-planes") >= 20,
      "the refused frames were not counted as rejected");
  fail_unless_equals_int (exports (), 2);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Waits until rejected-planes is past @count. */
static void
wait_rejected_past (GstHarness * h, guint64 count)
{
  for (gint i = 0; i < 5000 && stat_of (h->element, "rejected-planes") <=
      count; i++)
    g_usleep (1000);
  fail_unless (stat_of (h->element, "rejected-planes") > count,
      "rejected-planes stayed at %" G_GUINT64_FORMAT, count);
}

/* Refused framebuffers take their place under max-framebuffers: past it, a
 * new framebuffer is skipped and counted, not exported. */
GST_START_TEST (test_refused_count_against_bound)
{
  GstHarness *h = harness_on (-1);
  GstBus *bus;
  GstMessage *warning;
  GError *error = NULL;
  gchar *debug = NULL;
  guint64 rejected;

  g_object_set (h->element, "max-framebuffers", 3, NULL);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  pull_one (h);

  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 2);
  for (guint32 id = 5; id <= 6; id++) {
    rejected = stat_of (h->element, "rejected-planes");
    show_id (id);
    wait_rejected_past (h, rejected);
  }
  fail_unless_equals_int (exports (), 3);
  warning = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning for a refused export");
  gst_message_parse_warning (warning, &error, &debug);
  fail_unless (strstr (debug, "refuses to export") != NULL, "%s", debug);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (warning);

  /* A framebuffer the device would export, past the bound. */
  rejected = stat_of (h->element, "rejected-planes");
  show_id (7);
  wait_rejected_past (h, rejected + 10);
  fail_unless_equals_int (exports (), 3);
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), 1);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* Pulls events until EOS; fails without it. */
static void
expect_eos (GstHarness * h)
{
  GstEvent *event;

  while ((event = gst_harness_pull_event (h))) {
    GstEventType type = GST_EVENT_TYPE (event);

    gst_event_unref (event);
    if (type == GST_EVENT_EOS)
      return;
  }
  fail ("no EOS");
}

/* A VMM that waits to be killed. */
static pid_t
fork_vmm (void)
{
  pid_t vmm = fork ();

  if (vmm == 0) {
    pause ();
    _exit (0);
  }
  return vmm;
}

/* A harness streaming from the device fd of @vmm, which the application
 * already let go of: only the element's copy is left. */
static GstHarness *
harness_on_vmm_device (pid_t vmm, GstBus ** bus)
{
  gint fd = vfio_emu_open_device_fd (dev);
  GstHarness *h = harness_on (fd);

  g_object_set (h->element, "vmm-pid", (gint) vmm, NULL);
  *bus = attach_bus (h->element);
  gst_harness_play (h);
  pull_one (h);
  close (fd);
  return h;
}

static void
kill_vmm (pid_t vmm)
{
  gint status;

  kill (vmm, SIGKILL);
  fail_unless_equals_int (waitpid (vmm, &status, 0), vmm);
}

/* device-fd with the VMM's pid: when the VMM exits, the device is closed
 * at once and the stream ends with EOS and a message naming the pid. */
GST_START_TEST (test_vmm_exit_ends_stream)
{
  pid_t vmm = fork_vmm ();
  GstBus *bus;
  GstHarness *h = harness_on_vmm_device (vmm, &bus);
  GstStructure *msg;
  gint pid = 0;

  kill_vmm (vmm);
  msg = wait_element_message (bus, "vfiogfxsrc-vmm-exited");
  fail_unless (gst_structure_get_int (msg, "pid", &pid));
  fail_unless_equals_int (pid, vmm);
  gst_structure_free (msg);

  /* Buffers in flight, then EOS; the device is already closed. */
  expect_eos (h);
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* The VMM exits while frames are being captured: the watcher closes the
 * device under the streaming thread, which may query the closed fd before
 * it sees the end. The emulator holds the watcher right after the close,
 * so the streaming thread does query it: still an EOS, never an error. */
GST_START_TEST (test_vmm_exit_mid_capture_is_no_error)
{
  pid_t vmm = fork_vmm ();
  GstBus *bus;
  GstHarness *h = harness_on_vmm_device (vmm, &bus);
  GstMessage *error;

  vfio_emu_set_replace_delay (300);
  kill_vmm (vmm);
  gst_structure_free (wait_element_message (bus, "vfiogfxsrc-vmm-exited"));
  expect_eos (h);

  error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (error) {
    g_autoptr (GError) err = NULL;

    gst_message_parse_error (error, &err, NULL);
    fail ("the end of the VMM gave an error: %s", err->message);
  }
  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* mbochs: every scan-out buffer is its own id, and the first query of each
 * fails with ENOMEM. A guest panning through 24 buffers 2.5 times: each id
 * exported once (the emulated mbochs aborts at a second export). */
GST_START_TEST (test_mbochs_panning_guest)
{
  GstHarness *h;
  GstMemory *mem = NULL;
  const guint n_buffers = 24;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_personality (dev, VFIO_EMU_PERSONALITY_MBOCHS);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
  h = harness_on (-1);
  gst_harness_play (h);
  for (guint n = 0; n < n_buffers * 5 / 2; n++) {
    vfio_emu_show_buffer (dev, n % n_buffers);
    mem = pull_new_memory (h, mem);
  }
  fail_unless_equals_uint64 (stat_of (h->element, "exports"), n_buffers);
  for (guint n = 0; n < n_buffers; n++) {
    guint32 id = vfio_emu_show_buffer (dev, n);

    fail_unless_equals_int (vfio_emu_export_count (dev, id), 1);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Pulls until a buffer's memory differs from the one of @old (held, so
 * the comparison means something); returns that buffer. */
static GstBuffer *
pull_new_buffer (GstHarness * h, GstBuffer * old)
{
  GstMemory *old_mem = old ? gst_buffer_peek_memory (old, 0) : NULL;

  for (gint i = 0; i < 1000; i++) {
    GstBuffer *buf = gst_harness_pull (h);

    fail_unless (buf != NULL);
    if (gst_buffer_peek_memory (buf, 0) != old_mem)
      return buf;
    gst_buffer_unref (buf);
  }
  fail ("the memory never changed");
  return NULL;
}

/* GVT-g exports a new object each time: past the bound, idle framebuffers
 * are dropped and exported again, and no frame is skipped. GVT-g frees the
 * id of a dropped framebuffer with its last dma-buf and hands the number
 * to the next new framebuffer: what the element pushes for a number is
 * always the framebuffer that has it now, never the one that had it. */
GST_START_TEST (test_gvtg_reexports_past_bound)
{
  GstHarness *h;
  GstBuffer *buf = NULL;
  guint32 first_id[6] = { 0, };
  gboolean renumbered = FALSE;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_personality (dev, VFIO_EMU_PERSONALITY_GVTG);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
  h = harness_on (-1);
  g_object_set (h->element, "max-framebuffers", 4, NULL);
  gst_harness_play (h);
  for (guint n = 0; n < 18; n++) {
    guint shown = n % 6, mode, buffer;
    guint32 id = vfio_emu_show_buffer (dev, shown);
    GstBuffer *next = pull_new_buffer (h, buf);
    gint fd = gst_dmabuf_memory_get_fd (gst_buffer_peek_memory (next, 0));

    fail_unless (vfio_emu_dmabuf_buffer (fd, &mode, &buffer));
    fail_unless_equals_int (mode, 0);
    fail_unless (buffer == shown, "the guest shows buffer %u as id %u, the "
        "element pushed buffer %u", shown, id, buffer);
    if (!first_id[shown])
      first_id[shown] = id;
    renumbered |= first_id[shown] != id;
    gst_clear_buffer (&buf);
    buf = next;
  }
  gst_clear_buffer (&buf);
  fail_unless (renumbered, "no framebuffer got another number: the test "
      "did not exercise GVT-g's reuse of ids");
  fail_unless (stat_of (h->element, "exports") > 6);
  fail_unless_equals_uint64 (stat_of (h->element, "rejected-planes"), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Pulls the next buffer within two seconds, or NULL. */
static GstBuffer *
pull_within_2s (GstHarness * h)
{
  GstBuffer *buf = NULL;

  for (gint i = 0; i < 2000 && !buf; i++) {
    buf = gst_harness_try_pull (h);
    if (!buf)
      g_usleep (1000);
  }
  return buf;
}

/* capture-mode=on-change skips a framebuffer with the number of the last
 * one pushed. On GVT-g that number may have gone to another framebuffer
 * meanwhile: here the last pushed one is dropped to make room for one
 * whose export fails, GVT-g frees its id, and the next new framebuffer gets
 * it. That one is news and must be pushed. */
GST_START_TEST (test_gvtg_on_change_reused_number)
{
  GstHarness *h;
  GstBuffer *buf;
  guint mode, buffer;
  guint32 id;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, GROUP, VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  vfio_emu_set_personality (dev, VFIO_EMU_PERSONALITY_GVTG);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, WIDTH,
      HEIGHT, 0);
  h = harness_on (-1);
  gst_util_set_object_arg (G_OBJECT (h->element), "capture-mode",
      "on-change");
  g_object_set (h->element, "max-framebuffers", 1, NULL);
  gst_harness_play (h);
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  gst_buffer_unref (buf);
  fail_unless_equals_int (vfio_emu_current_id (dev), 1);

  /* Buffer 1 (id 2) is refused: id 1 was dropped for it, and freed. */
  vfio_emu_fail_ioctl (dev, VFIO_DEVICE_GET_GFX_DMABUF, EINVAL, 1, 1);
  fail_unless_equals_int (vfio_emu_show_buffer (dev, 1), 2);
  wait_rejected_past (h, 0);

  /* Buffer 2 is new and gets number 1. */
  id = vfio_emu_show_buffer (dev, 2);
  fail_unless_equals_int (id, 1);
  buf = pull_within_2s (h);
  fail_unless (buf != NULL, "the guest's new framebuffer %u was taken for "
      "the one pushed before", id);
  fail_unless (vfio_emu_dmabuf_buffer (gst_dmabuf_memory_get_fd
          (gst_buffer_peek_memory (buf, 0)), &mode, &buffer));
  fail_unless_equals_int (buffer, 2);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A driver with a request IRQ asks for its device back: the element
 * registered an eventfd for it, and ends the stream. */
GST_START_TEST (test_request_irq_ends_stream)
{
  GstHarness *h;
  GstBus *bus;

  vfio_emu_set_request_irq (dev, TRUE);
  h = harness_on (-1);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  pull_one (h);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev, VFIO_DEVICE_SET_IRQS),
      1);

  fail_unless (vfio_emu_request (dev), "no eventfd registered");
  gst_structure_free (wait_element_message (bus, "vfiogfxsrc-removed"));
  expect_eos (h);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* The removal request comes while the guest shows no plane yet: the wait
 * for the first plane ends too, with the message and EOS. */
GST_START_TEST (test_request_irq_before_first_plane)
{
  GstHarness *h;
  GstBus *bus;

  vfio_emu_set_request_irq (dev, TRUE);
  vfio_emu_set_blank (dev, TRUE);
  h = harness_on (-1);
  bus = attach_bus (h->element);
  gst_harness_play (h);
  for (gint i = 0; i < 5000 && stat_of (h->element, "queries") < 5; i++)
    g_usleep (1000);
  fail_unless (stat_of (h->element, "queries") >= 5, "no wait for a plane");

  fail_unless (vfio_emu_request (dev), "no eventfd registered");
  gst_structure_free (wait_element_message (bus, "vfiogfxsrc-removed"));
  expect_eos (h);
  fail_unless_equals_uint64 (stat_of (h->element, "frames"), 0);

  gst_harness_teardown (h);
  release_bus (bus);
}

GST_END_TEST;

/* On an adopted fd the request IRQ is the VMM's: never taken over. */
GST_START_TEST (test_request_irq_left_to_vmm)
{
  GstHarness *h;
  gint fd;

  vfio_emu_set_request_irq (dev, TRUE);
  fd = vfio_emu_open_device_fd (dev);
  h = harness_on (fd);
  gst_harness_play (h);
  pull_one (h);
  gst_harness_teardown (h);
  fail_unless_equals_int (vfio_emu_ioctl_count (dev, VFIO_DEVICE_SET_IRQS),
      0);
  close (fd);
}

GST_END_TEST;

static Suite *
exports_suite (void)
{
  Suite *s = suite_create ("vfiogfxsrc-exports");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, setup, teardown);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_many_framebuffers_exported_once);
  tcase_add_test (tc, test_bound_skips_new_framebuffers);
  tcase_add_test (tc, test_state_cycles_export_once);
  tcase_add_test (tc, test_two_elements_one_fd);
  tcase_add_test (tc, test_dup_fds_share_exports);
  tcase_add_test (tc, test_new_element_same_fd);
  tcase_add_test (tc, test_device_fd_is_duplicated);
  tcase_add_test (tc, test_dmabuf_fds_close_on_exec);
  tcase_add_test (tc, test_refused_export_not_retried);
  tcase_add_test (tc, test_refused_count_against_bound);
  tcase_add_test (tc, test_vmm_exit_ends_stream);
  tcase_add_test (tc, test_vmm_exit_mid_capture_is_no_error);
  tcase_add_test (tc, test_mbochs_panning_guest);
  tcase_add_test (tc, test_gvtg_reexports_past_bound);
  tcase_add_test (tc, test_gvtg_on_change_reused_number);
  tcase_add_test (tc, test_request_irq_ends_stream);
  tcase_add_test (tc, test_request_irq_before_first_plane);
  tcase_add_test (tc, test_request_irq_left_to_vmm);
  return s;
}

GST_CHECK_MAIN (exports);
