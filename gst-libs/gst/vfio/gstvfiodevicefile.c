/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The open VFIO device files of this process, shared by every GstVfioDevice
 * that uses the same one.
 *
 * Some exporters must never see a dmabuf_id exported twice while the device
 * is open (mbochs frees guest pages still in use when it is: FACTS.md), so
 * what was exported belongs to the open device file, not to whoever asked:
 * two handles on one file (two elements adopting the same fd, or fds dup'ed
 * from one another) find the same entry here and share its exports.
 *
 * Files are told apart with kcmp(KCMP_FILE): fds of one open file compare
 * equal whatever their numbers; where kcmp is unavailable, by whether a
 * change of O_NONBLOCK on one shows on the other (status flags belong to
 * the open file, not the fd).
 *
 * When the last handle goes, the entry goes with its fds and exports, with
 * one exception: for exporters that must not export again, an adopted file
 * that another fd of this process still holds (the application keeps the
 * VMM's fd and may create a new element on it) is kept, "dormant", until
 * that other fd is closed. A watcher thread checks that once a second while
 * any file is dormant; gst_vfio_device_file_collect() checks at once.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiodevicefile.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/gst.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_device_file_debug);
#define GST_CAT_DEFAULT gst_vfio_device_file_debug

#define WATCH_INTERVAL (1 * G_TIME_SPAN_SECOND)

struct _GstVfioDeviceFile
{
  gint handles;
  gint fd;
  gint group_fd;
  gint container_fd;
  gchar *syspath;               /* NULL when unknown (adopted fds) */
  gboolean adopted;
  gboolean keep_while_held;
  gboolean dormant;
  gpointer data;
  GstVfioDeviceFileFreeFunc free_data;
};

static GMutex registry_lock;
static GCond registry_cond;
static GList *registry;         /* of GstVfioDeviceFile */
static gboolean watcher_running;

static void
ensure_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_vfio_device_file_debug, "vfiodevicefile", 0,
        "VFIO device files shared in the process");
    g_once_init_leave (&done, 1);
  }
}

/* ---- telling open files apart ---- */

static gint
kcmp_files (gint fd_a, gint fd_b)
{
  pid_t pid = getpid ();

  return syscall (SYS_kcmp, pid, pid, KCMP_FILE, fd_a, fd_b);
}

/* Without kcmp (seccomp, kernels without CONFIG_KCMP): the status flags
 * are shared by every fd of an open file. */
static gboolean
same_by_status_flags (gint fd_a, gint fd_b)
{
  gint flags_a = fcntl (fd_a, F_GETFL);
  gint flags_b = fcntl (fd_b, F_GETFL);
  gboolean same;

  if (flags_a < 0 || flags_b < 0 || flags_a != flags_b)
    return FALSE;
  if (fcntl (fd_a, F_SETFL, flags_a ^ O_NONBLOCK) < 0)
    return FALSE;
  same = fcntl (fd_b, F_GETFL) == (flags_a ^ O_NONBLOCK);
  fcntl (fd_a, F_SETFL, flags_a);
  return same;
}

/* 1 same, 0 not, -1 unknown (kcmp unavailable). */
static gint
compare_files (gint fd_a, gint fd_b)
{
  gint res = kcmp_files (fd_a, fd_b);

  if (res >= 0)
    return res == 0;
  return errno == EBADF ? 0 : -1;
}

static gboolean
is_vfio_device_fd (gint fd)
{
  gchar link[64], target[64];
  ssize_t len;

  g_snprintf (link, sizeof (link), "/proc/self/fd/%d", fd);
  len = readlink (link, target, sizeof (target) - 1);
  if (len < 0)
    return FALSE;
  target[len] = '\0';
  return g_str_equal (target, "anon_inode:[vfio-device]");
}

static gboolean
gst_vfio_device_file_same (gint fd_a, gint fd_b)
{
  gint res;

  if (fd_a < 0 || fd_b < 0)
    return FALSE;
  if (fd_a == fd_b)
    return TRUE;
  res = compare_files (fd_a, fd_b);
  if (res >= 0)
    return res;
  /* Flags are only toggled on VFIO device fds, never on others' files. */
  return is_vfio_device_fd (fd_b) && same_by_status_flags (fd_a, fd_b);
}

/* Whether a fd of this process other than those of @file holds its open
 * file. Without /proc nothing can be known: then it is taken as held. */
static gboolean
held_elsewhere (GstVfioDeviceFile * file)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const gchar *name;
  gboolean held = FALSE;

  if (!dir)
    return TRUE;
  while (!held && (name = g_dir_read_name (dir))) {
    gint fd = atoi (name);

    if (fd != file->fd)
      held = gst_vfio_device_file_same (file->fd, fd);
    if (held)
      GST_LOG ("device file fd %d is also fd %d", file->fd, fd);
  }
  g_dir_close (dir);
  return held;
}

/* ---- the registry ---- */

static void
file_free (GstVfioDeviceFile * file)
{
  GST_DEBUG ("closing device file fd %d (%s)", file->fd,
      file->syspath ? file->syspath : "adopted");
  if (file->free_data)
    file->free_data (file->data);
  /* The device fd before the group, the group before the container. */
  if (file->fd >= 0)
    close (file->fd);
  if (file->group_fd >= 0)
    close (file->group_fd);
  if (file->container_fd >= 0)
    close (file->container_fd);
  g_free (file->syspath);
  g_free (file);
}

/**
 * gst_vfio_device_file_find:
 * @fd: a device fd, or -1
 * @syspath: the device's sysfs path, or %NULL
 *
 * Returns: (nullable): the entry of the open file behind @fd, or of the
 * device opened from @syspath, with one more handle
 */
GstVfioDeviceFile *
gst_vfio_device_file_find (gint fd, const gchar * syspath)
{
  GstVfioDeviceFile *found = NULL;

  ensure_debug ();
  g_mutex_lock (&registry_lock);
  for (GList * l = registry; l && !found; l = l->next) {
    GstVfioDeviceFile *file = l->data;

    if ((syspath && g_strcmp0 (file->syspath, syspath) == 0)
        || (fd >= 0 && gst_vfio_device_file_same (file->fd, fd)))
      found = file;
  }
  if (found) {
    found->handles++;
    if (found->dormant)
      GST_INFO ("device file fd %d is in use again", found->fd);
    found->dormant = FALSE;
  }
  g_mutex_unlock (&registry_lock);
  return found;
}

/**
 * gst_vfio_device_file_add:
 * @fd: the device fd, owned by the entry from now on
 * @group_fd: the group fd, owned, or -1
 * @container_fd: the container fd, owned, or -1
 * @syspath: (nullable): the sysfs path of the device when known
 * @adopted: whether @fd is a copy of somebody else's fd
 * @keep_while_held: keep the entry after its last handle while another fd
 *   of the process holds the file (exporters that must not export again)
 * @data: what the handles share (the exports), owned
 * @free_data: frees @data with the file
 *
 * Returns: a new entry with one handle
 */
GstVfioDeviceFile *
gst_vfio_device_file_add (gint fd, gint group_fd, gint container_fd,
    const gchar * syspath, gboolean adopted, gboolean keep_while_held,
    gpointer data, GstVfioDeviceFileFreeFunc free_data)
{
  GstVfioDeviceFile *file = g_new0 (GstVfioDeviceFile, 1);

  ensure_debug ();
  file->handles = 1;
  file->fd = fd;
  file->group_fd = group_fd;
  file->container_fd = container_fd;
  file->syspath = g_strdup (syspath);
  file->adopted = adopted;
  file->keep_while_held = keep_while_held;
  file->data = data;
  file->free_data = free_data;

  g_mutex_lock (&registry_lock);
  registry = g_list_prepend (registry, file);
  g_mutex_unlock (&registry_lock);
  return file;
}

/* With the registry lock: frees dormant files nobody holds any more.
 * Returns how many stay dormant. */
static guint
collect_locked (void)
{
  guint dormant = 0;
  GList *l = registry;

  while (l) {
    GList *next = l->next;
    GstVfioDeviceFile *file = l->data;

    if (file->dormant && !held_elsewhere (file)) {
      registry = g_list_delete_link (registry, l);
      file_free (file);
    } else if (file->dormant) {
      dormant++;
    }
    l = next;
  }
  return dormant;
}

static gpointer
watch_dormant (gpointer unused)
{
  g_mutex_lock (&registry_lock);
  while (collect_locked () > 0) {
    gint64 until = g_get_monotonic_time () + WATCH_INTERVAL;

    while (g_cond_wait_until (&registry_cond, &registry_lock, until));
  }
  watcher_running = FALSE;
  g_mutex_unlock (&registry_lock);
  return NULL;
}

/**
 * gst_vfio_device_file_collect:
 *
 * Closes the dormant files that no other fd of the process holds any more.
 *
 * Returns: how many files stay dormant
 */
guint
gst_vfio_device_file_collect (void)
{
  guint dormant;

  g_mutex_lock (&registry_lock);
  dormant = collect_locked ();
  g_mutex_unlock (&registry_lock);
  return dormant;
}

/**
 * gst_vfio_device_file_release:
 * @keep: whether the file has something to keep (exports) should it be
 *   held elsewhere
 *
 * Drops a handle.
 */
void
gst_vfio_device_file_release (GstVfioDeviceFile * file, gboolean keep)
{
  if (!file)
    return;

  g_mutex_lock (&registry_lock);
  if (--file->handles > 0) {
    g_mutex_unlock (&registry_lock);
    return;
  }
  if (keep && file->keep_while_held && file->adopted
      && held_elsewhere (file)) {
    GST_INFO ("keeping device file fd %d and its exports: another fd of "
        "the process still holds it", file->fd);
    file->dormant = TRUE;
    if (!watcher_running) {
      watcher_running = TRUE;
      g_thread_unref (g_thread_new ("vfio-devfile", watch_dormant, NULL));
    }
  } else {
    registry = g_list_remove (registry, file);
    file_free (file);
  }
  g_mutex_unlock (&registry_lock);
}

gint
gst_vfio_device_file_get_fd (GstVfioDeviceFile * file)
{
  return file->fd;
}

gpointer
gst_vfio_device_file_get_data (GstVfioDeviceFile * file)
{
  return file->data;
}
