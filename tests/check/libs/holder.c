/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the library reads of the process holding an mdev: whether its
 * command line consumes the mdev's display, which device its fds name, and
 * the watch on its exit. Finding and borrowing from a real holder needs a
 * real VFIO group: tests/vm/t-src-borrow.sh does that on the kernel.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/vfio/vfio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vfioemu.h>

#include <drm_fourcc.h>

#define UUID "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"
#define OTHER "11111111-2222-4333-8444-555555555555"

/* A /proc/PID/cmdline from its arguments. */
static gchar *
cmdline (gsize * len, const gchar * first, ...)
{
  GString *text = g_string_new (NULL);
  va_list args;

  va_start (args, first);
  for (const gchar * arg = first; arg; arg = va_arg (args, const gchar *))
    g_string_append_len (text, arg, strlen (arg) + 1);
  va_end (args);
  *len = text->len;
  return g_string_free (text, FALSE);
}

GST_START_TEST (test_cmdline_display_on)
{
  gsize len;
  gchar *text;

  /* QEMU started by hand. */
  text = cmdline (&len, "qemu-system-x86_64", "-m", "256", "-device",
      "vfio-pci,sysfsdev=/sys/bus/mdev/devices/" UUID ",display=on", NULL);
  fail_unless (gst_vfio_cmdline_displays_mdev (text, len, UUID));
  fail_if (gst_vfio_cmdline_displays_mdev (text, len, OTHER));
  g_free (text);

  text = cmdline (&len, "qemu-system-x86_64", "-device",
      "vfio-pci,sysfsdev=/sys/bus/mdev/devices/" UUID ",display=off",
      "-display", "gtk,gl=on", NULL);
  fail_if (gst_vfio_cmdline_displays_mdev (text, len, UUID));
  g_free (text);

  /* libvirt's JSON form. */
  text = cmdline (&len, "/usr/bin/qemu-system-x86_64", "-name",
      "guest=win11,debug-threads=on", "-device", "{\"driver\":\"vfio-pci\","
      "\"id\":\"hostdev0\",\"sysfsdev\":\"/sys/bus/mdev/devices/" UUID "\","
      "\"display\":\"on\",\"bus\":\"pci.0\"}", NULL);
  fail_unless (gst_vfio_cmdline_displays_mdev (text, len, UUID));
  g_free (text);

  /* display=on for another device only. */
  text = cmdline (&len, "qemu", "-device", "vfio-pci,sysfsdev=/sys/bus/mdev/"
      "devices/" OTHER ",display=on", "-device", "vfio-pci,sysfsdev=/sys/bus/"
      "mdev/devices/" UUID, NULL);
  fail_if (gst_vfio_cmdline_displays_mdev (text, len, UUID));
  fail_unless (gst_vfio_cmdline_displays_mdev (text, len, OTHER));
  g_free (text);

  fail_if (gst_vfio_cmdline_displays_mdev (NULL, 0, UUID));
}

GST_END_TEST;

/* The VM name a /proc/PID/cmdline gives, NULL for none. */
static gchar *
vm_name (const gchar * first, ...)
{
  GString *text = g_string_new (NULL);
  g_autofree gchar *args = NULL;
  va_list ap;
  gchar *name;

  va_start (ap, first);
  for (const gchar * arg = first; arg; arg = va_arg (ap, const gchar *))
    g_string_append_len (text, arg, strlen (arg) + 1);
  va_end (ap);
  name = gst_vfio_cmdline_get_vm_name (text->str, text->len);
  g_string_free (text, TRUE);
  return name;
}

#define assert_vm_name(expected, ...) G_STMT_START { \
  gchar *name_ = vm_name (__VA_ARGS__, NULL); \
  fail_unless_equals_string (name_, expected); \
  g_free (name_); \
} G_STMT_END

GST_START_TEST (test_cmdline_vm_name)
{
  /* libvirt's form: the domain name as guest=. */
  assert_vm_name ("win11", "/usr/bin/qemu-system-x86_64", "-name",
      "guest=win11,debug-threads=on", "-S", "-object", "{\"qom-type\":1}");
  /* By hand: QEMU's implied key, with options after it or not. */
  assert_vm_name ("desk", "qemu-system-x86_64", "-m", "2G", "-name", "desk");
  assert_vm_name ("desk", "qemu", "-name", "desk,process=qemu-desk");
  assert_vm_name ("desk", "qemu", "--name", "desk");
  /* guest= after another option. */
  assert_vm_name ("lab", "qemu", "-name", "process=q,guest=lab");
  /* A comma in the name is doubled on the command line. */
  assert_vm_name ("a,b", "qemu", "-name", "guest=a,,b,debug-threads=on");
  assert_vm_name ("a,b", "qemu", "-name", "a,,b");
  /* Not UTF-8: the name still is. */
  assert_vm_name ("vm\357\277\275x", "qemu", "-name", "guest=vm\377x");

  /* No name, or not a usable one. */
  assert_vm_name (NULL, "qemu-system-x86_64", "-m", "256");
  assert_vm_name (NULL, "qemu", "-name");
  assert_vm_name (NULL, "qemu", "-name", "");
  assert_vm_name (NULL, "qemu", "-name", "guest=");
  assert_vm_name (NULL, "qemu", "-name", "process=q,debug-threads=on");
  fail_unless (gst_vfio_cmdline_get_vm_name (NULL, 0) == NULL);
  /* A cmdline cut in the middle (no final NUL). */
  {
    const gchar text[] = { 'q', 0, '-', 'n', 'a', 'm', 'e', 0, 'v', 'm' };
    gchar *name = gst_vfio_cmdline_get_vm_name (text, sizeof (text));
    fail_unless_equals_string (name, "vm");
    g_free (name);
  }
}

GST_END_TEST;

GST_START_TEST (test_fdinfo_syspath)
{
  gchar *path;

  path = gst_vfio_fdinfo_get_syspath ("pos:\t0\nflags:\t02000002\n"
      "mnt_id:\t15\nino:\t1057\nvfio-device-syspath: /sys/devices/pci0000:00"
      "/0000:00:02.0/" UUID "\n");
  fail_unless_equals_string (path, "/sys/devices/pci0000:00/0000:00:02.0/"
      UUID);
  g_free (path);

  /* Before Linux 6.18 the line is not there. */
  fail_unless (gst_vfio_fdinfo_get_syspath ("pos:\t0\nflags:\t02000002\n")
      == NULL);
  fail_unless (gst_vfio_fdinfo_get_syspath (NULL) == NULL);
  /* A last line without a newline. */
  path = gst_vfio_fdinfo_get_syspath ("pos:\t0\nvfio-device-syspath:/x/y");
  fail_unless_equals_string (path, "/x/y");
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_ptrace_scope)
{
  gchar *text = NULL;
  gint scope = gst_vfio_read_ptrace_scope ();

  if (g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &text, NULL,
          NULL)) {
    fail_unless_equals_int (scope, atoi (text));
  } else {
    fail_unless_equals_int (scope, -1);
  }
  g_free (text);
}

GST_END_TEST;

/* A device whose holder exits is closed at once: its fd then leads
 * nowhere (it is /dev/null), and the watch says so. */
GST_START_TEST (test_holder_exit_closes_device)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device;
  GError *error = NULL;
  gint fd, status;
  pid_t vmm;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, 3, VFIO_EMU_DMABUF);
  vfio_emu_set_mode (dev, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR, 64, 64,
      0);
  fd = vfio_emu_open_device_fd (dev);
  device = gst_vfio_device_new_from_fd (fd, &error);
  g_assert_no_error (error);
  close (fd);

  vmm = fork ();
  if (vmm == 0) {
    pause ();
    _exit (0);
  }
  fail_unless (gst_vfio_device_watch_holder (device, vmm, &error));
  g_assert_no_error (error);
  fail_unless_equals_int (gst_vfio_device_get_holder_pid (device), vmm);
  fail_if (gst_vfio_device_holder_exited (device));
  fail_unless_equals_int (vfio_emu_open_fds (), 1);

  kill (vmm, SIGKILL);
  fail_unless_equals_int (waitpid (vmm, &status, 0), vmm);
  for (gint i = 0; i < 5000 && !gst_vfio_device_holder_exited (device); i++)
    g_usleep (1000);
  fail_unless (gst_vfio_device_holder_exited (device));
  /* The device file is closed though the handle lives on. */
  fail_unless_equals_int (vfio_emu_open_fds (), 0);

  gst_object_unref (device);
  vfio_emu_reset ();
}

GST_END_TEST;

GST_START_TEST (test_watch_missing_process)
{
  VfioEmuDevice *dev;
  GstVfioDevice *device;
  GError *error = NULL;
  gint fd, status;
  pid_t gone;

  vfio_emu_reset ();
  dev = vfio_emu_add_mdev (UUID, 3, VFIO_EMU_DMABUF);
  fd = vfio_emu_open_device_fd (dev);
  device = gst_vfio_device_new_from_fd (fd, &error);
  g_assert_no_error (error);

  gone = fork ();
  if (gone == 0)
    _exit (0);
  waitpid (gone, &status, 0);
  fail_if (gst_vfio_device_watch_holder (device, gone, &error));
  g_assert_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  gst_object_unref (device);
  close (fd);
  vfio_emu_reset ();
}

GST_END_TEST;

static Suite *
holder_suite (void)
{
  Suite *s = suite_create ("vfioholder");
  TCase *tc = tcase_create ("holder");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cmdline_display_on);
  tcase_add_test (tc, test_cmdline_vm_name);
  tcase_add_test (tc, test_fdinfo_syspath);
  tcase_add_test (tc, test_ptrace_scope);
  tcase_add_test (tc, test_holder_exit_closes_device);
  tcase_add_test (tc, test_watch_missing_process);
  return s;
}

GST_CHECK_MAIN (holder);
