/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VFIO mdev with a display: opening it (by sysfs path or UUID through its
 * IOMMU group, or adopting a device fd a VMM handed over) and the display
 * ioctls of <linux/vfio.h>.
 *
 * A GstVfioDevice is a handle on an open device file that it shares with
 * every other handle of this process on the same file (gstvfiodevicefile.c):
 * the exports belong to the file, so that no id is exported twice.
 *
 * The iommufd cdev (/dev/vfio/devices/vfioX) is not used yet: Debian's
 * kernels leave CONFIG_IOMMUFD off, and on kernels that have it the group
 * path above still works. See docs/user-guide.md.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiodevice.h"
#include "gstvfiodevicefile.h"
#include "gstvfioerror.h"
#include "gstvfiofdwatch.h"
#include "gstvfioremoval.h"
#include "gstvfio-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_device_debug);
#define GST_CAT_DEFAULT gst_vfio_device_debug

#define MDEV_SYSFS_DIR "/sys/bus/mdev/devices/"

/* PCI vendor of Intel GVT-g vGPUs: their config space is the host GPU's. */
#define PCI_VENDOR_ID_INTEL 0x8086

/* What the handles on one device file share. */
typedef struct
{
  GstVfioExportPolicy policy;
  guint16 pci_vendor;
  GstVfioExportTable *exports;
  GstVfioRemovalWatch *removal;
  /* The VMM whose device this is, when known: its exit closes the file. */
  gint holder_pid;
  gint holder_pidfd;
  gint device_fd;
  GstVfioFdWatch *holder_watch;
  gint holder_exited;           /* atomic: set before the file is closed */
  gint ending;                  /* atomic: either watch fired */
} SharedState;

struct _GstVfioDevice
{
  GstObject parent;

  gchar *description;
  GstVfioDeviceFile *file;
  SharedState *shared;          /* the file's */
  gint device_fd;               /* the file's */
  gboolean adopted;
  guint num_regions;
  GstVfioPlaneTypes plane_types;
  gboolean probed;
};

G_DEFINE_TYPE_WITH_CODE (GstVfioDevice, gst_vfio_device, GST_TYPE_OBJECT,
    GST_DEBUG_CATEGORY_INIT (gst_vfio_device_debug, "vfiodevice", 0,
        "VFIO display device"));

static void
close_fd (gint * fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
shared_state_free (SharedState * shared)
{
  gst_vfio_fd_watch_free (shared->holder_watch);
  if (shared->holder_pidfd >= 0)
    close (shared->holder_pidfd);
  gst_vfio_removal_watch_free (shared->removal);
  gst_vfio_export_table_free (shared->exports);
  g_free (shared);
}

static void
gst_vfio_device_finalize (GObject * object)
{
  GstVfioDevice *self = GST_VFIO_DEVICE (object);

  gst_vfio_device_file_release (self->file, self->shared
      && gst_vfio_export_table_has_exports (self->shared->exports));
  g_free (self->description);

  G_OBJECT_CLASS (gst_vfio_device_parent_class)->finalize (object);
}

static void
gst_vfio_device_class_init (GstVfioDeviceClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_vfio_device_finalize;
}

static void
gst_vfio_device_init (GstVfioDevice * self)
{
  self->device_fd = -1;
}

static GstVfioDevice *
device_new (const gchar * description)
{
  GstVfioDevice *self = g_object_new (GST_TYPE_VFIO_DEVICE, NULL);

  gst_object_ref_sink (self);
  self->description = g_strdup (description);
  return self;
}

/* Maps an open() errno of a device node to an error that says what to do. */
static void
set_open_error (GError ** error, const gchar * node, gint err)
{
  switch (err) {
    case ENOENT:
    case ENODEV:
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
          "Could not open %s: %s. Load the vfio and vfio_iommu_type1 "
          "modules and check that the mdev exists.", node, g_strerror (err));
      break;
    case EACCES:
    case EPERM:
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_PERMISSION,
          "Could not open %s: %s. Give the user access to it, e.g. with "
          "the udev rule SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\" "
          "and membership of group kvm.", node, g_strerror (err));
      break;
    case EBUSY:
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_BUSY,
          "Could not open %s: it is already open, most likely by the VM "
          "that uses this mdev. A VFIO group can be open in one process "
          "only: borrow the VMM's device fd (borrow=true, which needs "
          "ptrace permission over the VMM) or have the VMM hand it over and "
          "use device-fd.", node);
      break;
    default:
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
          "Could not open %s: %s", node, g_strerror (err));
      break;
  }
}

/* "/sys/bus/mdev/devices/UUID" for a UUID, the path itself for a path. */
gchar *
gst_vfio_resolve_sysfs_path (const gchar * device, GError ** error)
{
  if (device[0] == '/')
    return g_strdup (device);
  if (g_uuid_string_is_valid (device))
    return g_strconcat (MDEV_SYSFS_DIR, device, NULL);

  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
      "'%s' is neither an mdev UUID nor a sysfs path such as "
      MDEV_SYSFS_DIR "<UUID>", device);
  return NULL;
}

gboolean
gst_vfio_check_sysfs_device (const gchar * sysfs_path, GError ** error)
{
  gint fd = open (sysfs_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
        "No device at %s: %s. Create the mdev first (echo UUID > "
        "/sys/class/mdev_bus/PARENT/mdev_supported_types/TYPE/create) "
        "or check the UUID.", sysfs_path, g_strerror (errno));
    return FALSE;
  }
  close (fd);
  return TRUE;
}

/* The IOMMU group number from the iommu_group link, -1 on error. */
gint
gst_vfio_read_iommu_group (const gchar * sysfs_path, GError ** error)
{
  g_autofree gchar *link = g_build_filename (sysfs_path, "iommu_group", NULL);
  gchar target[PATH_MAX];
  const gchar *name;
  gchar *end;
  ssize_t len;
  gint64 group;

  len = readlink (link, target, sizeof (target) - 1);
  if (len < 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "%s is not a VFIO device (no IOMMU group: %s). Check that it is an "
        "mdev and that vfio_mdev / the vendor driver is loaded.",
        sysfs_path, g_strerror (errno));
    return -1;
  }
  target[len] = '\0';

  name = strrchr (target, '/');
  name = name ? name + 1 : target;
  group = g_ascii_strtoll (name, &end, 10);
  if (end == name || *end != '\0' || group < 0 || group > G_MAXINT) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Unexpected IOMMU group link %s -> %s", link, target);
    return -1;
  }
  return (gint) group;
}

/* The fds of a device opened through its group, until a file owns them. */
typedef struct
{
  gint container;
  gint group;
  gint device;
} GroupFds;

static void
group_fds_close (GroupFds * fds)
{
  close_fd (&fds->device);
  close_fd (&fds->group);
  close_fd (&fds->container);
}

static gboolean
open_container (GroupFds * fds, GError ** error)
{
  fds->container = open ("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
  if (fds->container < 0) {
    set_open_error (error, "/dev/vfio/vfio", errno);
    return FALSE;
  }

  if (ioctl (fds->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "The kernel's VFIO API version is not %d", VFIO_API_VERSION);
    return FALSE;
  }
  return TRUE;
}

static gboolean
attach_group (GroupFds * fds, gint group, GError ** error)
{
  g_autofree gchar *node = g_strdup_printf ("/dev/vfio/%d", group);
  struct vfio_group_status status = {.argsz = sizeof (status) };
  unsigned long type = VFIO_TYPE1v2_IOMMU;

  fds->group = open (node, O_RDWR | O_CLOEXEC);
  if (fds->group < 0) {
    set_open_error (error, node, errno);
    return FALSE;
  }

  if (ioctl (fds->group, VFIO_GROUP_GET_STATUS, &status) < 0)
    goto ioctl_failed;
  if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "VFIO group %s is not viable: bind every device of the group to "
        "a VFIO driver.", node);
    return FALSE;
  }
  if (ioctl (fds->group, VFIO_GROUP_SET_CONTAINER, &fds->container))
    goto ioctl_failed;

  /* Mediated devices take type1 (v2 where offered); nothing is mapped. */
  if (ioctl (fds->container, VFIO_CHECK_EXTENSION, type) <= 0)
    type = VFIO_TYPE1_IOMMU;
  if (ioctl (fds->container, VFIO_SET_IOMMU, type) < 0)
    goto ioctl_failed;
  return TRUE;

  /* ERRORS */
ioctl_failed:
  {
    gint err = errno;
    GST_DEBUG ("group setup of %s failed: %s", node, g_strerror (err));
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not set up VFIO group %s: %s", node, g_strerror (err));
    return FALSE;
  }
}

static gboolean
get_device_fd (GroupFds * fds, const gchar * sysfs_path, gint group,
    GError ** error)
{
  g_autofree gchar *name = g_path_get_basename (sysfs_path);

  fds->device = ioctl (fds->group, VFIO_GROUP_GET_DEVICE_FD, name);
  if (fds->device < 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not get the device fd of %s from group %d: %s", name, group,
        g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_device_info (GstVfioDevice * self, GError ** error)
{
  struct vfio_device_info info = {.argsz = sizeof (info) };

  if (ioctl (self->device_fd, VFIO_DEVICE_GET_INFO, &info) < 0) {
    gint err = errno;
    if (err == ENODEV)
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_DEVICE_GONE,
          "%s was removed", self->description);
    else
      g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
          "%s is not a VFIO device (%s). Pass the device fd that "
          "VFIO_GROUP_GET_DEVICE_FD returned.", self->description,
          g_strerror (err));
    return FALSE;
  }
  self->num_regions = info.num_regions;
  GST_DEBUG_OBJECT (self, "flags 0x%x, %u regions, %u irqs", info.flags,
      info.num_regions, info.num_irqs);
  return TRUE;
}

static struct vfio_region_info *get_region_info_raw (GstVfioDevice * self,
    guint index, GError ** error);

/* The vendor id in the device's PCI config space; 0 when unreadable. */
static guint16
read_pci_vendor (GstVfioDevice * self)
{
  g_autofree struct vfio_region_info *config = NULL;
  guint16 vendor = 0;

  config = get_region_info_raw (self, VFIO_PCI_CONFIG_REGION_INDEX, NULL);
  if (!config || pread (self->device_fd, &vendor, sizeof (vendor),
          config->offset) != sizeof (vendor))
    return 0;
  return GUINT16_FROM_LE (vendor);
}

/* GVT-g makes a new object at each export (intel_vgpu_get_dmabuf()):
 * exporting again is safe there. mbochs frees pages still in use when it
 * does, and other exporters are unknown: they export once. */
static GstVfioExportPolicy
policy_for_vendor (guint16 vendor)
{
  return vendor == PCI_VENDOR_ID_INTEL ? GST_VFIO_EXPORT_REPEATABLE :
      GST_VFIO_EXPORT_ONCE;
}

/* On a watch's thread: one flag for the streaming thread to read. */
static void
mark_ending (gpointer data)
{
  SharedState *shared = data;

  g_atomic_int_set (&shared->ending, TRUE);
}

static SharedState *
shared_state_new (GstVfioDevice * self, gboolean watch_removal)
{
  SharedState *shared = g_new0 (SharedState, 1);

  shared->holder_pidfd = -1;
  shared->device_fd = self->device_fd;
  shared->pci_vendor = read_pci_vendor (self);
  shared->policy = policy_for_vendor (shared->pci_vendor);
  shared->exports = gst_vfio_export_table_new (shared->policy);
  if (watch_removal)
    shared->removal = gst_vfio_removal_watch_new (self->device_fd,
        mark_ending, shared);
  GST_INFO_OBJECT (self, "PCI vendor 0x%04x: exports %s, %s request IRQ",
      shared->pci_vendor, shared->policy == GST_VFIO_EXPORT_ONCE ?
      "once per id" : "repeatable", shared->removal ? "with a" : "no");
  return shared;
}

/* Takes a handle on @file, whose fds are already the device's. */
static void
use_file (GstVfioDevice * self, GstVfioDeviceFile * file)
{
  self->file = file;
  self->device_fd = gst_vfio_device_file_get_fd (file);
  self->shared = gst_vfio_device_file_get_data (file);
}

/* Another handle of this process on the device: share its file. */
static GstVfioDevice *
device_from_known_file (const gchar * description, gint fd,
    const gchar * sysfs_path, GError ** error)
{
  g_autoptr (GstVfioDevice) self = NULL;
  GstVfioDeviceFile *file = gst_vfio_device_file_find (fd, sysfs_path);

  if (!file)
    return NULL;
  self = device_new (description);
  use_file (self, file);
  self->adopted = fd >= 0;
  GST_INFO_OBJECT (self, "sharing the open device file of another handle");
  if (!read_device_info (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* Registers the file behind the fds in @fds, which it owns from now on. */
static void
register_file (GstVfioDevice * self, GroupFds * fds, const gchar * sysfs_path,
    gboolean adopted)
{
  SharedState *shared;

  self->device_fd = fds->device;
  shared = shared_state_new (self, !adopted);
  self->file = gst_vfio_device_file_add (fds->device, fds->group,
      fds->container, sysfs_path, adopted,
      shared->policy == GST_VFIO_EXPORT_ONCE, shared,
      (GstVfioDeviceFileFreeFunc) shared_state_free);
  self->shared = shared;
  self->adopted = adopted;
  fds->device = fds->group = fds->container = -1;
}

/**
 * gst_vfio_device_open:
 * @device: an mdev UUID or its sysfs path (/sys/bus/mdev/devices/UUID)
 * @error: why it failed, with what to do about it
 *
 * Opens the container and the IOMMU group of @device and gets its device
 * fd, or shares the device with another handle of this process that opened
 * it. A group can be open in one process only: while a VM holds it this
 * fails with %GST_VFIO_ERROR_BUSY.
 *
 * Returns: (transfer full) (nullable): the device
 */
GstVfioDevice *
gst_vfio_device_open (const gchar * device, GError ** error)
{
  g_autoptr (GstVfioDevice) self = NULL;
  g_autofree gchar *sysfs_path = NULL;
  GroupFds fds = { -1, -1, -1 };
  GError *failure = NULL;
  gint group;

  g_return_val_if_fail (device != NULL, NULL);

  sysfs_path = gst_vfio_resolve_sysfs_path (device, error);
  if (!sysfs_path || !gst_vfio_check_sysfs_device (sysfs_path, error))
    return NULL;
  self = device_from_known_file (sysfs_path, -1, sysfs_path, &failure);
  if (failure)
    g_propagate_error (error, failure);
  if (self || failure)
    return g_steal_pointer (&self);
  group = gst_vfio_read_iommu_group (sysfs_path, error);
  if (group < 0)
    return NULL;

  if (!open_container (&fds, error) || !attach_group (&fds, group, error)
      || !get_device_fd (&fds, sysfs_path, group, error)) {
    group_fds_close (&fds);
    return NULL;
  }

  self = device_new (sysfs_path);
  self->device_fd = fds.device;
  if (!read_device_info (self, error)) {
    group_fds_close (&fds);
    return NULL;
  }
  register_file (self, &fds, sysfs_path, FALSE);
  return g_steal_pointer (&self);
}

/* Adopts @owned, a fd of this process's own (closed on failure): shares
 * the file of another handle on it, or registers it. */
GstVfioDevice *
gst_vfio_device_adopt_owned_fd (gint owned, const gchar * description,
    GError ** error)
{
  g_autoptr (GstVfioDevice) self = NULL;
  GroupFds fds = { -1, -1, owned };
  GError *failure = NULL;

  self = device_from_known_file (description, owned, NULL, &failure);
  if (self || failure) {
    close (owned);
    if (failure)
      g_propagate_error (error, failure);
    return g_steal_pointer (&self);
  }

  self = device_new (description);
  self->device_fd = fds.device;
  if (!read_device_info (self, error)) {
    group_fds_close (&fds);
    return NULL;
  }
  register_file (self, &fds, NULL, TRUE);
  return g_steal_pointer (&self);
}

/**
 * gst_vfio_device_new_from_fd:
 * @fd: an open VFIO device fd, e.g. inherited from the VMM
 * @error: why it failed
 *
 * Adopts a duplicate of @fd (close-on-exec), closed when the last handle on
 * its open file goes: @fd itself stays the caller's, and closing or reusing
 * the number later does not affect the device. Handles of this process on
 * the same open file share what was exported.
 *
 * Returns: (transfer full) (nullable): the device
 */
GstVfioDevice *
gst_vfio_device_new_from_fd (gint fd, GError ** error)
{
  g_autofree gchar *description = NULL;
  gint copy;

  if (fd < 0 || fcntl (fd, F_GETFD) < 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "%d is not an open file descriptor", fd);
    return NULL;
  }
  copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not duplicate fd %d: %s", fd, g_strerror (errno));
    return NULL;
  }
  description = g_strdup_printf ("VFIO device fd %d", fd);
  return gst_vfio_device_adopt_owned_fd (copy, description, error);
}

/* The holder exited: close the device file at once, so that the device is
 * really released (a new VM can open it, the mdev can be removed). The fd
 * number is replaced by /dev/null rather than closed, so that a thread
 * still using it can never reach a file opened later under that number. */
static void
release_on_holder_exit (gpointer data)
{
  SharedState *shared = data;
  gint null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);

  GST_INFO ("process %d holding the device exited: closing it",
      shared->holder_pid);
  /* Said first: a thread whose ioctl fails on the closed device then knows
   * why, and takes it for the end, not an error. */
  g_atomic_int_set (&shared->holder_exited, TRUE);
  mark_ending (shared);
  if (null_fd < 0 || dup3 (null_fd, shared->device_fd, O_CLOEXEC) < 0)
    GST_WARNING ("could not close the device of exited process %d: %s",
        shared->holder_pid, g_strerror (errno));
  if (null_fd >= 0)
    close (null_fd);
}

/**
 * gst_vfio_device_watch_holder:
 * @pid: the process whose device this is (the VMM)
 * @error: why it cannot be watched
 *
 * When @pid exits, the device file is closed at once (the device goes back
 * to the VMM's successor) and gst_vfio_device_holder_exited() turns %TRUE.
 * One holder per device file.
 *
 * Returns: %TRUE when watched
 */
gboolean
gst_vfio_device_watch_holder (GstVfioDevice * self, gint pid, GError ** error)
{
  SharedState *shared;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);
  shared = self->shared;
  if (shared->holder_pid == pid)
    return TRUE;
  if (shared->holder_pid > 0) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_INVALID_ARGUMENT,
        "%s already belongs to process %d", self->description,
        shared->holder_pid);
    return FALSE;
  }
  shared->holder_pidfd = syscall (SYS_pidfd_open, pid, 0);
  if (shared->holder_pidfd < 0) {
    g_set_error (error, GST_VFIO_ERROR, errno == ESRCH ?
        GST_VFIO_ERROR_NOT_FOUND : GST_VFIO_ERROR_FAILED,
        "Cannot watch process %d: %s", pid, g_strerror (errno));
    return FALSE;
  }
  shared->holder_pid = pid;
  shared->holder_watch = gst_vfio_fd_watch_new (shared->holder_pidfd,
      "vfio-holder", release_on_holder_exit, shared);
  return TRUE;
}

/**
 * gst_vfio_device_holder_exited:
 *
 * Returns: %TRUE once the watched holder exited (the device is closed,
 * or about to be); a plain read, cheap enough for every frame
 */
gboolean
gst_vfio_device_holder_exited (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);
  return g_atomic_int_get (&self->shared->holder_exited);
}

/**
 * gst_vfio_device_is_ending:
 *
 * Returns: %TRUE once the holder exited or the driver asked for the device
 * back (see gst_vfio_device_holder_exited() and
 * gst_vfio_device_removal_requested()); one call for every frame
 */
gboolean
gst_vfio_device_is_ending (GstVfioDevice * self)
{
  return g_atomic_int_get (&self->shared->ending);
}

/**
 * gst_vfio_device_get_holder_pid:
 *
 * Returns: the pid of the watched holder, 0 when none
 */
gint
gst_vfio_device_get_holder_pid (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), 0);
  return self->shared->holder_pid;
}

/**
 * gst_vfio_device_get_export_policy:
 *
 * Returns: whether a dmabuf_id of this device may be exported again
 */
GstVfioExportPolicy
gst_vfio_device_get_export_policy (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), GST_VFIO_EXPORT_ONCE);
  return self->shared->policy;
}

/**
 * gst_vfio_device_is_adopted:
 *
 * Returns: %TRUE when the device came from another process's fd
 */
gboolean
gst_vfio_device_is_adopted (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);
  return self->adopted;
}

/**
 * gst_vfio_device_removal_requested:
 *
 * Whether the device's driver asked for it to be released (the request IRQ
 * of a device this process opened). It waits until every fd of the device
 * is closed. A plain read, cheap enough for every frame.
 *
 * Returns: %TRUE once the request came
 */
gboolean
gst_vfio_device_removal_requested (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);
  return gst_vfio_removal_watch_requested (self->shared->removal);
}

/**
 * gst_vfio_device_close_unused:
 *
 * An adopted device file whose last handle went while another fd of the
 * process still held it is kept open with its exports, so that a new handle
 * on it does not export again; it is closed once no other fd holds it, as
 * checked once a second. This checks now.
 *
 * Returns: how many such files stay open
 */
guint
gst_vfio_device_close_unused (void)
{
  return gst_vfio_device_file_collect ();
}

GstVfioExportTable *
gst_vfio_device_get_export_table (GstVfioDevice * self)
{
  return self->shared->exports;
}

gint
gst_vfio_device_get_fd (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), -1);
  return self->device_fd;
}

/**
 * gst_vfio_device_get_description:
 *
 * Returns: the sysfs path, or "VFIO device fd N" for an adopted fd
 */
const gchar *
gst_vfio_device_get_description (GstVfioDevice * self)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), NULL);
  return self->description;
}

static gint
query_gfx_plane (GstVfioDevice * self, struct vfio_device_gfx_plane_info *info)
{
  return ioctl (self->device_fd, VFIO_DEVICE_QUERY_GFX_PLANE, info);
}

/* ENODEV after unplug; GVT-g also answers ENODEV for a disabled plane, so
 * a cheap second ioctl tells the two apart. */
static gboolean
device_is_gone (GstVfioDevice * self, gint err)
{
  struct vfio_device_info info = {.argsz = sizeof (info) };

  if (err != ENODEV)
    return FALSE;
  return ioctl (self->device_fd, VFIO_DEVICE_GET_INFO, &info) < 0
      && errno == ENODEV;
}

/* ENODEV comes only once the device was unregistered: its driver removed
 * it (an unplug, the parent unbound). A VM shutting down closes its own fds
 * but not ours, so it never shows here. */
static void
set_gone_error (GstVfioDevice * self, GError ** error)
{
  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_DEVICE_GONE,
      "%s was removed: its driver answers ENODEV (the mdev was removed or "
      "its parent device unbound)", self->description);
}

static gboolean
is_transient (gint err)
{
  /* mbochs answers ENOMEM once for a mode it has not seen before. */
  return err == EINTR || err == EAGAIN || err == ENOMEM || err == EBUSY;
}

/* One QUERY_GFX_PLANE with @flags for @kind into @info, repeated once on a
 * transient failure. Returns 0 or the errno. */
static gint
query_with_retry (GstVfioDevice * self, guint32 flags, GstVfioPlaneKind kind,
    struct vfio_device_gfx_plane_info *info)
{
  gint err = 0;

  for (gint attempt = 0; attempt < 2; attempt++) {
    memset (info, 0, sizeof (*info));
    info->argsz = sizeof (*info);
    info->flags = flags;
    info->drm_plane_type = kind;
    if (query_gfx_plane (self, info) == 0)
      return 0;
    err = errno;
    if (!is_transient (err))
      break;
  }
  return err;
}

/* Whether the device offers planes of @type_flag. Any failure but the
 * device being gone means "not offered", as QEMU takes it: vendor drivers
 * answer EINVAL, ENOTTY or EOPNOTSUPP. A transient one is retried once. */
static gboolean
probe_one (GstVfioDevice * self, guint32 type_flag, GError ** error)
{
  struct vfio_device_gfx_plane_info info;
  gint err;

  err = query_with_retry (self, VFIO_GFX_PLANE_TYPE_PROBE | type_flag,
      GST_VFIO_PLANE_PRIMARY, &info);
  if (err == 0)
    return TRUE;
  if (device_is_gone (self, err)) {
    set_gone_error (self, error);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "%s planes not offered: %s",
      type_flag == VFIO_GFX_PLANE_TYPE_DMABUF ? "dma-buf" : "region",
      g_strerror (err));
  return FALSE;
}

/**
 * gst_vfio_device_probe_planes:
 * @error: %GST_VFIO_ERROR_NOT_SUPPORTED when the device has no display
 *
 * Asks the device how it exposes planes. Later queries use dma-bufs where
 * offered, else regions.
 *
 * Returns: the plane types the device supports, %GST_VFIO_PLANE_TYPE_NONE
 * on error
 */
GstVfioPlaneTypes
gst_vfio_device_probe_planes (GstVfioDevice * self, GError ** error)
{
  GstVfioPlaneTypes types = GST_VFIO_PLANE_TYPE_NONE;
  GError *failure = NULL;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), GST_VFIO_PLANE_TYPE_NONE);

  if (probe_one (self, VFIO_GFX_PLANE_TYPE_DMABUF, &failure))
    types |= GST_VFIO_PLANE_TYPE_DMABUF;
  if (!failure && probe_one (self, VFIO_GFX_PLANE_TYPE_REGION, &failure))
    types |= GST_VFIO_PLANE_TYPE_REGION;

  if (failure) {
    g_propagate_error (error, failure);
    return GST_VFIO_PLANE_TYPE_NONE;
  }
  if (types == GST_VFIO_PLANE_TYPE_NONE) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
        "%s has no display (VFIO_DEVICE_QUERY_GFX_PLANE not supported). "
        "Use an mdev type with a display: a GVT-g type, an NVIDIA vGPU "
        "profile with display enabled, or mbochs/mdpy.", self->description);
    return GST_VFIO_PLANE_TYPE_NONE;
  }

  GST_INFO_OBJECT (self, "plane types:%s%s",
      types & GST_VFIO_PLANE_TYPE_DMABUF ? " dmabuf" : "",
      types & GST_VFIO_PLANE_TYPE_REGION ? " region" : "");
  self->plane_types = types;
  self->probed = TRUE;
  return types;
}

static void
plane_from_info (GstVfioPlane * plane, GstVfioPlaneKind kind,
    GstVfioPlaneTypes type, const struct vfio_device_gfx_plane_info *info)
{
  memset (plane, 0, sizeof (*plane));
  plane->kind = kind;
  plane->type = type;
  plane->fourcc = info->drm_format;
  plane->modifier = info->drm_format_mod;
  plane->width = info->width;
  plane->height = info->height;
  plane->stride = info->stride;
  plane->size = info->size;
  plane->x = info->x_pos;
  plane->y = info->y_pos;
  plane->x_hot = info->x_hot;
  plane->y_hot = info->y_hot;
  plane->id = info->dmabuf_id;
  /* A disabled plane is a successful answer with every field zero. */
  plane->present = info->drm_format || info->drm_format_mod || info->width
      || info->height || info->stride || info->size || info->dmabuf_id;
}

/**
 * gst_vfio_device_query_plane:
 * @kind: primary or cursor
 * @plane: (out caller-allocates): the answer; @plane->present is %FALSE when
 *   the display is off
 * @error: %GST_VFIO_ERROR_TRANSIENT (try again next tick),
 *   %GST_VFIO_ERROR_REJECTED (the device cannot describe what the guest
 *   shows: skip it), %GST_VFIO_ERROR_DEVICE_GONE or %GST_VFIO_ERROR_FAILED
 *
 * One VFIO_DEVICE_QUERY_GFX_PLANE, repeated once on a transient failure.
 * The values are not validated: see gst_vfio_plane_validate().
 *
 * Returns: %TRUE on an answer (including "no plane")
 */
gboolean
gst_vfio_device_query_plane (GstVfioDevice * self, GstVfioPlaneKind kind,
    GstVfioPlane * plane, GError ** error)
{
  struct vfio_device_gfx_plane_info info;
  GstVfioPlaneTypes type;
  gint err;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);

  if (!self->probed && !gst_vfio_device_probe_planes (self, error))
    return FALSE;
  type = (self->plane_types & GST_VFIO_PLANE_TYPE_DMABUF) ?
      GST_VFIO_PLANE_TYPE_DMABUF : GST_VFIO_PLANE_TYPE_REGION;

  err = query_with_retry (self, type == GST_VFIO_PLANE_TYPE_DMABUF ?
      VFIO_GFX_PLANE_TYPE_DMABUF : VFIO_GFX_PLANE_TYPE_REGION, kind, &info);
  if (err == 0) {
    plane_from_info (plane, kind, type, &info);
    return TRUE;
  }

  memset (plane, 0, sizeof (*plane));
  plane->kind = kind;
  plane->type = type;
  if (err == ENODEV && !device_is_gone (self, err))
    return TRUE;                /* GVT-g: plane disabled */
  if (err == ENODEV) {
    set_gone_error (self, error);
  } else if (is_transient (err)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_TRANSIENT,
        "Querying the plane of %s failed: %s", self->description,
        g_strerror (err));
  } else if (err == EINVAL || err == EFAULT) {
    /* GVT-g's answer to a plane it cannot decode: a format it does not
     * know, a zero size, a surface outside the guest's aperture
     * (vgpu_get_plane_info() in drivers/gpu/drm/i915/gvt/dmabuf.c). The
     * guest's doing, like an invalid plane: skipped, not fatal. */
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        "%s cannot describe the guest's plane: %s", self->description,
        g_strerror (err));
  } else {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Querying the plane of %s failed: %s", self->description,
        g_strerror (err));
  }
  return FALSE;
}

/**
 * gst_vfio_device_export_dmabuf:
 * @dmabuf_id: an id from a plane answer
 * @error: %GST_VFIO_ERROR_TRANSIENT when the id went away (mbochs: ENOENT),
 *   %GST_VFIO_ERROR_REJECTED when the device refuses it for good (EINVAL:
 *   mbochs for a framebuffer not on a page boundary, GVT-g for an id it
 *   does not know), else why it failed
 *
 * One VFIO_DEVICE_GET_GFX_DMABUF. Some exporters break when an id is
 * exported twice (see GstVfioDmabufCache): call this from the cache only.
 *
 * Returns: a new close-on-exec dma-buf fd owned by the caller, or -1
 */
gint
gst_vfio_device_export_dmabuf (GstVfioDevice * self, guint32 dmabuf_id,
    GError ** error)
{
  gint fd, err;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), -1);

  fd = ioctl (self->device_fd, VFIO_DEVICE_GET_GFX_DMABUF, &dmabuf_id);
  if (fd >= 0) {
    /* mbochs exports without O_CLOEXEC; a child must not inherit it. */
    if (fcntl (fd, F_SETFD, FD_CLOEXEC) < 0)
      GST_WARNING_OBJECT (self, "could not set close-on-exec on dma-buf "
          "fd %d: %s", fd, g_strerror (errno));
    GST_DEBUG_OBJECT (self, "exported dma-buf id %u as fd %d", dmabuf_id, fd);
    return fd;
  }

  err = errno;
  if (device_is_gone (self, err))
    set_gone_error (self, error);
  else if (err == EINVAL)
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_REJECTED,
        "%s refuses to export framebuffer %u (%s): the guest's framebuffer "
        "cannot be shared, e.g. it does not start on a page boundary",
        self->description, dmabuf_id, g_strerror (err));
  else
    g_set_error (error, GST_VFIO_ERROR,
        is_transient (err) || err == ENOENT ? GST_VFIO_ERROR_TRANSIENT :
        GST_VFIO_ERROR_FAILED, "Exporting dma-buf %u of %s failed: %s",
        dmabuf_id, self->description, g_strerror (err));
  return -1;
}

/* GET_REGION_INFO into a buffer large enough for the capability chain. */
static struct vfio_region_info *
get_region_info_raw (GstVfioDevice * self, guint index, GError ** error)
{
  struct vfio_region_info *info = g_malloc0 (sizeof (*info));
  guint32 argsz = sizeof (*info);

  for (gint attempt = 0; attempt < 2; attempt++) {
    info = g_realloc (info, argsz);
    memset (info, 0, argsz);
    info->argsz = argsz;
    info->index = index;
    if (ioctl (self->device_fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0) {
      gint err = errno;
      g_free (info);
      if (device_is_gone (self, err))
        set_gone_error (self, error);
      else if (err == EINVAL)
        /* The answer for an index the device lacks (argsz is right). */
        g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_FOUND,
            "%s has no region %u: %s", self->description, index,
            g_strerror (err));
      else
        g_set_error (error, GST_VFIO_ERROR, is_transient (err) ?
            GST_VFIO_ERROR_TRANSIENT : GST_VFIO_ERROR_FAILED,
            "Could not get region %u of %s: %s", index, self->description,
            g_strerror (err));
      return NULL;
    }
    /* The kernel says how much room the capabilities need; cap it. */
    if (info->argsz <= argsz || info->argsz > 64 * 1024)
      break;
    argsz = info->argsz;
  }
  /* From here on argsz bounds the buffer. */
  info->argsz = MIN (info->argsz, argsz);
  return info;
}

/* The type capability in the chain of @raw: FALSE without one. Every
 * offset comes from the kernel but is still bounded by the buffer. */
static gboolean
region_type (const struct vfio_region_info *raw, guint32 * type,
    guint32 * subtype)
{
  guint32 offset;
  guint hops = 0;

  if (!(raw->flags & VFIO_REGION_INFO_FLAG_CAPS))
    return FALSE;

  for (offset = raw->cap_offset; offset && hops < 16; hops++) {
    const struct vfio_info_cap_header *header;
    const struct vfio_region_info_cap_type *cap;

    if (offset < sizeof (*raw) || raw->argsz < sizeof (*cap)
        || offset > raw->argsz - sizeof (*cap))
      return FALSE;
    header = (const struct vfio_info_cap_header *) ((const guint8 *) raw +
        offset);
    cap = (const struct vfio_region_info_cap_type *) header;
    if (header->id == VFIO_REGION_INFO_CAP_TYPE) {
      *type = cap->type;
      *subtype = cap->subtype;
      return TRUE;
    }
    offset = header->next;
  }
  return FALSE;
}

static void
region_from_raw (GstVfioRegionInfo * region,
    const struct vfio_region_info *raw)
{
  region->index = raw->index;
  region->flags = raw->flags;
  region->offset = raw->offset;
  region->size = raw->size;
  if (!region_type (raw, &region->type, &region->subtype))
    region->type = region->subtype = 0;
}

/**
 * gst_vfio_device_get_region_info:
 * @index: a region index (e.g. from a region plane)
 * @info: (out caller-allocates): the region, with the type of its type
 *   capability if it has one
 * @error: %GST_VFIO_ERROR_NOT_FOUND when the device has no region @index
 *   (it answers EINVAL)
 *
 * Returns: %TRUE on success
 */
gboolean
gst_vfio_device_get_region_info (GstVfioDevice * self, guint index,
    GstVfioRegionInfo * info, GError ** error)
{
  g_autofree struct vfio_region_info *raw = NULL;

  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);

  raw = get_region_info_raw (self, index, error);
  if (!raw)
    return FALSE;
  region_from_raw (info, raw);
  return TRUE;
}

/* Whether the capability chain of @raw names the GFX EDID region type. */
static gboolean
region_is_edid (const struct vfio_region_info *raw)
{
  guint32 type, subtype;

  return region_type (raw, &type, &subtype) && type == VFIO_REGION_TYPE_GFX
      && subtype == VFIO_REGION_SUBTYPE_GFX_EDID;
}

static gboolean
read_edid_header (GstVfioDevice * self, GstVfioEdidInfo * edid,
    GError ** error)
{
  struct vfio_region_gfx_edid header;
  ssize_t len;

  len = pread (self->device_fd, &header, sizeof (header),
      edid->region.offset);
  if (len != sizeof (header)) {
    g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_FAILED,
        "Could not read the EDID region of %s: %s", self->description,
        len < 0 ? g_strerror (errno) : "short read");
    return FALSE;
  }

  edid->edid_offset = header.edid_offset;
  edid->edid_max_size = header.edid_max_size;
  edid->edid_size = header.edid_size;
  edid->max_xres = header.max_xres;
  edid->max_yres = header.max_yres;
  edid->link_state = header.link_state;
  return TRUE;
}

/**
 * gst_vfio_device_get_edid_info:
 * @info: (out caller-allocates): the EDID region and its header
 * @error: %GST_VFIO_ERROR_NOT_SUPPORTED when the device has no EDID region
 *
 * Finds the VFIO_REGION_SUBTYPE_GFX_EDID region through the region-info
 * capability chains and reads its header.
 *
 * Returns: %TRUE when found and read
 */
gboolean
gst_vfio_device_get_edid_info (GstVfioDevice * self, GstVfioEdidInfo * info,
    GError ** error)
{
  g_return_val_if_fail (GST_IS_VFIO_DEVICE (self), FALSE);

  for (guint index = 0; index < self->num_regions; index++) {
    g_autofree struct vfio_region_info *raw = NULL;
    GError *local = NULL;

    raw = get_region_info_raw (self, index, &local);
    if (!raw) {
      /* Sparse indexes (unimplemented BARs) answer EINVAL: skip them. */
      if (g_error_matches (local, GST_VFIO_ERROR,
              GST_VFIO_ERROR_DEVICE_GONE)) {
        g_propagate_error (error, local);
        return FALSE;
      }
      g_clear_error (&local);
      continue;
    }
    if (region_is_edid (raw)) {
      memset (info, 0, sizeof (*info));
      region_from_raw (&info->region, raw);
      return read_edid_header (self, info, error);
    }
  }

  g_set_error (error, GST_VFIO_ERROR, GST_VFIO_ERROR_NOT_SUPPORTED,
      "%s has no EDID region", self->description);
  return FALSE;
}
