/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Borrowing an mdev from the process that holds it.
 *
 * A VFIO group opens in one process only: while QEMU (by hand or under
 * libvirt) runs the VM, it holds the group. Nothing in VFIO ties the display
 * ioctls to the process that opened the device, and pidfd_getfd(2) (Linux
 * >= 5.6) duplicates another process's fd for a caller with ptrace-attach
 * permission over it: root, CAP_SYS_PTRACE, or the same user with Yama's
 * ptrace_scope 0.
 *
 * The holder is the process with a fd on the group's character device. It
 * is found by device number, not by path: libvirt runs QEMU in a mount
 * namespace with a private /dev, where the path names another node.
 * Its device fd for the mdev is the one whose fdinfo names the mdev
 * (`vfio-device-syspath:`, Linux >= 6.18), else the one device fd of the
 * process that offers a display.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioholder.h"
#include "gstvfiodevice.h"
#include "gstvfioerror.h"
#include "gstvfio-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/gst.h>
#include <linux/vfio.h>
#include <pwd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_holder_debug);
#define GST_CAT_DEFAULT gst_vfio_holder_debug

#define VFIO_DEVICE_LINK "anon_inode:[vfio-device]"

static void
ensure_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_holder_debug, "vfioholder", 0,
        "Borrowing VFIO devices from their holder");
    g_once_init_leave (&done, 1);
  }
}

void
gst_vfio_holder_free (GstVfioHolder * holder)
{
  if (!holder)
    return;
  g_free (holder->command);
  g_free (holder->user);
  g_free (holder->vm_name);
  g_free (holder);
}

/**
 * gst_vfio_read_ptrace_scope:
 *
 * Returns: Yama's kernel.yama.ptrace_scope, -1 without Yama
 */
gint
gst_vfio_read_ptrace_scope (void)
{
  g_autofree gchar *text = NULL;

  if (!g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &text,
          NULL, NULL))
    return -1;
  return atoi (text);
}

/* ---- what /proc says ---- */

/* Whether one of the fds of @pid is the character device @rdev. Sets
 * *@denied when the process's fds cannot be listed. */
static gboolean
process_has_device (gint pid, dev_t rdev, gboolean * denied)
{
  g_autofree gchar *dir_path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = NULL;
  GError *error = NULL;
  const gchar *name;

  dir = g_dir_open (dir_path, 0, &error);
  if (!dir) {
    if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_ACCES)
        || g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_PERM))
      *denied = TRUE;
    g_clear_error (&error);
    return FALSE;
  }
  while ((name = g_dir_read_name (dir))) {
    g_autofree gchar *fd_path = g_build_filename (dir_path, name, NULL);
    struct stat st;

    if (stat (fd_path, &st) == 0 && S_ISCHR (st.st_mode)
        && st.st_rdev == rdev)
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_pid_name (const gchar * name)
{
  for (const gchar * p = name; *p; p++) {
    if (!g_ascii_isdigit (*p))
      return FALSE;
  }
  return *name != '\0';
}

/* The pid holding @rdev, 0 when none is visible; counts the processes whose
 * fds could not be listed in *@denied. */
static gint
scan_for_holder (dev_t rdev, guint * denied)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *name;
  gint self = getpid ();

  if (!proc)
    return 0;
  while ((name = g_dir_read_name (proc))) {
    gboolean no_access = FALSE;
    gint pid;

    if (!is_pid_name (name) || (pid = atoi (name)) == self)
      continue;
    if (process_has_device (pid, rdev, &no_access))
      return pid;
    if (no_access)
      (*denied)++;
  }
  return 0;
}

static gchar *
read_proc_text (gint pid, const gchar * file, gsize * len)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/%s", pid, file);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, len, NULL))
    return NULL;
  return text;
}

static guint
read_uid (gint pid)
{
  g_autofree gchar *status = read_proc_text (pid, "status", NULL);
  const gchar *line = status ? strstr (status, "\nUid:") : NULL;

  return line ? (guint) strtoul (line + 5, NULL, 10) : G_MAXUINT;
}

static gchar *
user_name (guint uid)
{
  struct passwd *pw = uid == G_MAXUINT ? NULL : getpwuid (uid);

  if (pw)
    return g_strdup (pw->pw_name);
  return uid == G_MAXUINT ? g_strdup ("unknown") : g_strdup_printf ("%u", uid);
}

/**
 * gst_vfio_cmdline_displays_mdev:
 * @cmdline: a /proc/PID/cmdline: arguments separated by NUL bytes
 * @len: its length
 * @uuid: the mdev's UUID
 *
 * Whether the VMM consumes the mdev's display itself: a QEMU argument that
 * names the mdev with `display=on`, in the `-device vfio-pci,…` form or in
 * libvirt's JSON form (`"display":"on"`).
 *
 * Returns: %TRUE when it does
 */
gboolean
gst_vfio_cmdline_displays_mdev (const gchar * cmdline, gsize len,
    const gchar * uuid)
{
  gsize start = 0;

  g_return_val_if_fail (uuid != NULL, FALSE);

  while (cmdline && start < len) {
    const gchar *arg = cmdline + start;
    gsize arg_len = strnlen (arg, len - start);
    g_autofree gchar *copy = g_strndup (arg, arg_len);

    if (strstr (copy, uuid) && (strstr (copy, "display=on")
            || strstr (copy, "\"display\":\"on\"")))
      return TRUE;
    start += arg_len + 1;
  }
  return FALSE;
}

/* The options of a QEMU option group, split at lone commas (",," is an
 * escaped comma, as QEMU and libvirt write one inside a value). */
static GPtrArray *
split_options (const gchar * opts)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_free);
  GString *item = g_string_new (NULL);

  for (const gchar * p = opts; *p; p++) {
    if (*p == ',' && p[1] == ',') {
      g_string_append_c (item, ',');
      p++;
    } else if (*p == ',') {
      g_ptr_array_add (items, g_string_free (item, FALSE));
      item = g_string_new (NULL);
    } else {
      g_string_append_c (item, *p);
    }
  }
  g_ptr_array_add (items, g_string_free (item, FALSE));
  return items;
}

/* The guest name of `-name`'s options: `guest=NAME`, or a first option
 * without a key (QEMU's implied key). Any process can write its command
 * line: the name is made valid UTF-8 for the properties that show it. */
static gchar *
name_from_options (const gchar * opts)
{
  g_autoptr (GPtrArray) items = split_options (opts);

  for (guint i = 0; i < items->len; i++) {
    const gchar *item = g_ptr_array_index (items, i);

    if (g_str_has_prefix (item, "guest=") && item[strlen ("guest=")])
      return g_utf8_make_valid (item + strlen ("guest="), -1);
    if (i == 0 && *item && !strchr (item, '='))
      return g_utf8_make_valid (item, -1);
  }
  return NULL;
}

/**
 * gst_vfio_cmdline_get_vm_name:
 * @cmdline: a /proc/PID/cmdline: arguments separated by NUL bytes
 * @len: its length
 *
 * The VM's name from a QEMU command line: `-name NAME` or
 * `-name guest=NAME,…`, the form libvirt uses with the domain name
 * (`,,` stands for a comma in the name).
 *
 * Returns: (transfer full) (nullable): the name, %NULL without one
 */
gchar *
gst_vfio_cmdline_get_vm_name (const gchar * cmdline, gsize len)
{
  gsize start = 0;
  gboolean next_is_name = FALSE;

  while (cmdline && start < len) {
    const gchar *arg = cmdline + start;
    gsize arg_len = strnlen (arg, len - start);
    g_autofree gchar *copy = g_strndup (arg, arg_len);

    if (next_is_name)
      return name_from_options (copy);
    next_is_name = g_str_equal (copy, "-name") || g_str_equal (copy, "--name");
    start += arg_len + 1;
  }
  return NULL;
}

/**
 * gst_vfio_fdinfo_get_syspath:
 * @fdinfo: the text of /proc/PID/fdinfo/FD
 *
 * Returns: (nullable): the sysfs path of a VFIO device fd's device, which
 * Linux >= 6.18 shows as `vfio-device-syspath:`; %NULL without it
 */
gchar *
gst_vfio_fdinfo_get_syspath (const gchar * fdinfo)
{
  const gchar *key = "vfio-device-syspath:";
  const gchar *line;

  if (!fdinfo)
    return NULL;
  for (line = fdinfo; line; line = strchr (line, '\n')) {
    if (*line == '\n')
      line++;
    if (g_str_has_prefix (line, key)) {
      const gchar *value = line + strlen (key);
      const gchar *end = strchr (value, '\n');

      return g_strstrip (end ? g_strndup (value, end - value) :
          g_strdup (value));
    }
  }
  return NULL;
}

/* Field 22 of /proc/PID/stat, after the command in parentheses. */
static guint64
read_start_time (gint pid)
{
  g_autofree gchar *stat = read_proc_text (pid, "stat", NULL);
  const gchar *p = stat ? strrchr (stat, ')') : NULL;
  guint field = 2;

  while (p && *p && field < 22) {
    if (*p++ == ' ')
      field++;
  }
  return p ? g_ascii_strtoull (p, NULL, 10) : 0;
}

static GstVfioHolder *
holder_new (gint pid, const gchar * uuid)
{
  GstVfioHolder *holder = g_new0 (GstVfioHolder, 1);
  g_autofree gchar *cmdline = NULL;
  gsize len = 0;

  holder->pid = pid;
  holder->device_fd = -1;
  holder->start_time = read_start_time (pid);
  holder->command = read_proc_text (pid, "comm", NULL);
  if (holder->command)
    g_strstrip (holder->command);
  else
    holder->command = g_strdup ("?");
  holder->uid = read_uid (pid);
  holder->user = user_name (holder->uid);
  cmdline = read_proc_text (pid, "cmdline", &len);
  holder->displays = gst_vfio_cmdline_displays_mdev (cmdline, len, uuid);
  holder->vm_name = gst_vfio_cmdline_get_vm_name (cmdline, len);
  return holder;
}

/**
 * gst_vfio_holder_find:
 * @group: the IOMMU group of the mdev
 * @uuid: the mdev's UUID
 * @pid: the holder's pid when known (a VMM started by the application,
 *   hosts that hide other processes in /proc), 0 to look for it
 * @error: %GST_VFIO_ERROR_NOT_FOUND when no visible process holds it
 *
 * Returns: (transfer full) (nullable): the process holding the group
 */
GstVfioHolder *
gst_vfio_holder_find (gint group, const gchar * uuid, gint pid,
    GError ** error)
{
  g_autofree gchar *node = g_strdup_printf ("/dev/vfio/%d", group);
  gboolean no_access = FALSE;
  guint denied = 0;
  struct stat st;

  ensure_debug ();
  if (stat (node, &st) < 0 || !S_ISCHR (st.st_mode)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "%s is not a VFIO group device", node);
    return NULL;
  }

  if (pid > 0 && !process_has_device (pid, st.st_rdev, &no_access)) {
    g_set_error (error, GST_VFIO_ERROR, no_access ?
        GST_VFIO_ERROR_PERMISSION : GST_VFIO_ERROR_NOT_FOUND,
        "Process %d does not hold %s%s", pid, node, no_access ?
        " as far as this user can see: its fds cannot be listed without "
        "ptrace permission (root, CAP_SYS_PTRACE, or the same user)" : "");
    return NULL;
  }
  if (pid <= 0)
    pid = scan_for_holder (st.st_rdev, &denied);
  if (pid <= 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "%s is open, but no process visible to this user holds it (%u "
        "processes could not be inspected). Run with ptrace permission "
        "over the VMM (root or CAP_SYS_PTRACE), or name it with vmm-pid.",
        node, denied);
    return NULL;
  }
  GST_INFO ("%s is held by process %d", node, pid);
  return holder_new (pid, uuid);
}

/* ---- taking the fd ---- */

static gint
pidfd_open_pid (gint pid)
{
  return syscall (SYS_pidfd_open, pid, 0);
}

static gint
pidfd_getfd_of (gint pidfd, gint target)
{
  return syscall (SYS_pidfd_getfd, pidfd, target, 0);
}

static void
set_borrow_error (GError ** error, const GstVfioHolder * holder, gint err)
{
  gint scope = gst_vfio_read_ptrace_scope ();
  g_autofree gchar *scope_text = scope < 0 ? g_strdup ("no Yama here") :
      g_strdup_printf ("it is %d here", scope);

  if (err == EPERM || err == EACCES)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_PERMISSION,
        "Could not borrow the device from process %d (%s, user %s): %s. "
        "Borrowing needs ptrace permission over the VMM: run as root, grant "
        "CAP_SYS_PTRACE, or run as the same user with "
        "kernel.yama.ptrace_scope = 0 (%s), or an LSM policy that allows "
        "it.", holder->pid, holder->command, holder->user, g_strerror (err),
        scope_text);
  else if (err == ESRCH)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "Process %d (%s) that held the device has exited", holder->pid,
        holder->command);
  else
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not borrow the device from process %d (%s): %s",
        holder->pid, holder->command, g_strerror (err));
}

/* Whether @fd offers a display (as the device probe asks it). */
static gboolean
offers_display (gint fd)
{
  static const guint32 types[] = { VFIO_GFX_PLANE_TYPE_DMABUF,
    VFIO_GFX_PLANE_TYPE_REGION
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    struct vfio_device_gfx_plane_info info = {.argsz = sizeof (info),
      .flags = VFIO_GFX_PLANE_TYPE_PROBE | types[i],
      .drm_plane_type = 1,      /* primary */
    };

    if (ioctl (fd, VFIO_DEVICE_QUERY_GFX_PLANE, &info) == 0)
      return TRUE;
  }
  return FALSE;
}

typedef struct
{
  gint target;                  /* in the holder */
  gboolean names_mdev;          /* its fdinfo says so */
} Candidate;

/* The holder's VFIO device fds that may be the mdev's. */
static GArray *
list_candidates (const GstVfioHolder * holder, const gchar * uuid)
{
  g_autofree gchar *dir_path = g_strdup_printf ("/proc/%d/fd", holder->pid);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  GArray *candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    g_autofree gchar *link = g_build_filename (dir_path, name, NULL);
    g_autofree gchar *target = g_file_read_link (link, NULL);
    g_autofree gchar *fdinfo = NULL;
    g_autofree gchar *syspath = NULL;
    g_autofree gchar *info_file = NULL;
    Candidate c = {.target = atoi (name) };

    if (g_strcmp0 (target, VFIO_DEVICE_LINK) != 0)
      continue;
    info_file = g_strdup_printf ("fdinfo/%d", c.target);
    fdinfo = read_proc_text (holder->pid, info_file, NULL);
    syspath = gst_vfio_fdinfo_get_syspath (fdinfo);
    if (syspath) {
      g_autofree gchar *base = g_path_get_basename (syspath);
      if (!g_str_equal (base, uuid))
        continue;               /* another device of the VMM */
      c.names_mdev = TRUE;
    }
    g_array_append_val (candidates, c);
  }
  return candidates;
}

static gchar *
describe_candidates (GArray * candidates)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < candidates->len; i++)
    g_string_append_printf (text, "%s%d", i ? ", " : "",
        g_array_index (candidates, Candidate, i).target);
  return g_string_free (text, FALSE);
}

/* Borrows each candidate and keeps the one that offers a display. */
static gint
pick_by_display (gint pidfd, GstVfioHolder * holder, GArray * candidates,
    GError ** error)
{
  gint chosen = -1, found = 0;

  for (guint i = 0; i < candidates->len; i++) {
    gint target = g_array_index (candidates, Candidate, i).target;
    gint fd = pidfd_getfd_of (pidfd, target);

    if (fd < 0) {
      set_borrow_error (error, holder, errno);
      goto failed;
    }
    if (offers_display (fd) && found++ == 0) {
      chosen = fd;
      holder->device_fd = target;
      continue;
    }
    close (fd);
  }
  if (found == 1)
    return chosen;
  {
    g_autofree gchar *list = describe_candidates (candidates);
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "Process %d (%s) holds %d VFIO devices with a display (fds %s) and "
        "this kernel does not say which is the mdev: hand the device fd "
        "over with device-fd instead.", holder->pid, holder->command, found,
        list);
  }
failed:
  if (chosen >= 0)
    close (chosen);
  return -1;
}

/**
 * gst_vfio_holder_take_device_fd:
 * @holder: the process holding the group
 * @uuid: the mdev's UUID
 * @error: %GST_VFIO_ERROR_PERMISSION without ptrace permission (the text
 *   says what grants it), %GST_VFIO_ERROR_NOT_FOUND when no device fd of
 *   the holder is the mdev's, or several could be
 *
 * Duplicates the holder's device fd of the mdev into this process.
 *
 * Returns: a close-on-exec fd, or -1
 */
gint
gst_vfio_holder_take_device_fd (GstVfioHolder * holder, const gchar * uuid,
    GError ** error)
{
  g_autoptr (GArray) candidates = NULL;
  gint pidfd, fd = -1;

  g_return_val_if_fail (holder != NULL && uuid != NULL, -1);
  ensure_debug ();

  candidates = list_candidates (holder, uuid);
  if (candidates->len == 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "Process %d (%s) holds the group but no device fd of %s", holder->pid,
        holder->command, uuid);
    return -1;
  }

  pidfd = pidfd_open_pid (holder->pid);
  if (pidfd < 0) {
    set_borrow_error (error, holder, errno);
    return -1;
  }
  if (g_array_index (candidates, Candidate, 0).names_mdev) {
    holder->device_fd = g_array_index (candidates, Candidate, 0).target;
    fd = pidfd_getfd_of (pidfd, holder->device_fd);
    if (fd < 0)
      set_borrow_error (error, holder, errno);
  } else {
    fd = pick_by_display (pidfd, holder, candidates, error);
  }
  close (pidfd);
  if (fd >= 0)
    GST_INFO ("borrowed the device fd of %s from process %d (%s)", uuid,
        holder->pid, holder->command);
  return fd;
}

/* ---- a device borrowed from its holder ---- */

/* Two consumers of one display export the same framebuffers: on an
 * exporter that must export each once (mbochs), that corrupts kernel
 * memory. */
static gboolean
check_single_consumer (GstVfioDevice * device, const GstVfioHolder * holder,
    const gchar * uuid, GError ** error)
{
  if (!holder->displays
      || gst_vfio_device_get_export_policy (device) ==
      GST_VFIO_EXPORT_REPEATABLE)
    return TRUE;
  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_BUSY,
      "Process %d (%s) shows the display of %s itself (display=on): on this "
      "device a framebuffer must be exported once, and two consumers would "
      "export it twice, which corrupts kernel memory. Start the VM with "
      "display=off for this device.", holder->pid, holder->command, uuid);
  return FALSE;
}

/* Other processes borrowing from the same VM are told what was exported:
 * the device's life is the holder's open of it. */
static void
share_exports (GstVfioDevice * device, const GstVfioHolder * holder,
    const gchar * uuid)
{
  g_autofree gchar *life = NULL;

  if (gst_vfio_device_get_export_policy (device) != GST_VFIO_EXPORT_ONCE)
    return;
  life = g_strdup_printf ("pid %d started %" G_GUINT64_FORMAT " fd %d",
      holder->pid, holder->start_time, holder->device_fd);
  gst_vfio_export_table_set_ledger (gst_vfio_device_get_export_table (device),
      gst_vfio_ledger_new (uuid, life));
}

/**
 * gst_vfio_device_borrow:
 * @device: an mdev UUID or its sysfs path
 * @vmm_pid: the process holding it when known, 0 to look for it
 * @error: why it failed, saying which process and what permission is
 *   missing
 *
 * Takes a copy of the device fd of the process (the VMM) that holds the
 * mdev's group, with pidfd_getfd(2). The device is closed as soon as that
 * process exits: see gst_vfio_device_holder_exited().
 *
 * Returns: (transfer full) (nullable): the device
 */
GstVfioDevice *
gst_vfio_device_borrow (const gchar * device, gint vmm_pid, GError ** error)
{
  g_autofree gchar *sysfs_path = NULL;
  g_autofree gchar *uuid = NULL;
  g_autofree gchar *description = NULL;
  g_autoptr (GstVfioHolder) holder = NULL;
  g_autoptr (GstVfioDevice) self = NULL;
  gint group, fd;

  g_return_val_if_fail (device != NULL, NULL);
  ensure_debug ();

  sysfs_path = gst_vfio_resolve_sysfs_path (device, error);
  if (!sysfs_path || !gst_vfio_check_sysfs_device (sysfs_path, error))
    return NULL;
  group = gst_vfio_read_iommu_group (sysfs_path, error);
  if (group < 0)
    return NULL;
  uuid = g_path_get_basename (sysfs_path);

  holder = gst_vfio_holder_find (group, uuid, vmm_pid, error);
  if (!holder)
    return NULL;
  fd = gst_vfio_holder_take_device_fd (holder, uuid, error);
  if (fd < 0)
    return NULL;

  description = g_strdup_printf ("%s (borrowed from process %d, %s)",
      sysfs_path, holder->pid, holder->command);
  self = gst_vfio_device_adopt_owned_fd (fd, description, error);
  if (!self || !check_single_consumer (self, holder, uuid, error)
      || !gst_vfio_device_watch_holder (self, holder->pid, error))
    return NULL;
  share_exports (self, holder, uuid);
  return g_steal_pointer (&self);
}
