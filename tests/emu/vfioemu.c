/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioemu: an emulated VFIO mdev with a display, at the libc boundary.
 *
 * Why not umockdev: its preload emulates ioctls on device nodes that the
 * program opens by path. VFIO hands out the device fd from an ioctl
 * (VFIO_GROUP_GET_DEVICE_FD) and every dma-buf fd from another one
 * (VFIO_DEVICE_GET_GFX_DMABUF); umockdev's preload cannot follow fds born
 * that way, so their ioctls would reach the real kernel.
 *
 * How it works: every emulated fd (container, group, device, dma-buf) is a
 * real memfd, so fd numbers are unique, close() and poll() behave, and the
 * device fd and dma-bufs hold real memory for pread() and mmap(). A table
 * maps those fd numbers to what they emulate; ioctl() on them is answered
 * here with the semantics of the kernel (drivers/vfio/container.c,
 * group.c, samples/vfio-mdev/mbochs.c and mdpy.c), anything else goes to
 * libc through dlsym (RTLD_NEXT).
 *
 * Device memory layout (the device memfd): region i at (i + 1) MiB. The
 * PCI config space is index VFIO_PCI_CONFIG_REGION_INDEX (7), the EDID
 * region index VFIO_PCI_NUM_REGIONS (9) like mbochs, the display region of
 * region planes index 16 like mdpy.
 *
 * What differs between the drivers emulated (dma-buf ids, sizes, double
 * exports, mbochs' quirks) lives in vfioemu-personality.c; this file asks
 * it through vfioemu-private.h.
 *
 * Locking: one global mutex, a pthread one rather than a GMutex: GMutex is
 * a bare futex on Linux, which helgrind, DRD and TSan cannot see, so every
 * test using the emulator would report false races. While it is held, this
 * thread only calls the real libc functions; a thread-local flag also sends
 * any interposed call made under the lock (from glib or libc) to libc.
 */

/* The interposers define the plain names (open, mmap, ...): no redirection
 * to the *64 names and no fortified inline wrappers in this file. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "vfioemu-private.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define EDID_REGION_SIZE 0x1000
#define EDID_BLOB_OFFSET 0x100
#define EDID_MAX_SIZE 512
#define EDID_BLOB_SIZE 128
#define CONFIG_REGION_SIZE 256
#define MDEV_SYSFS_PREFIX "/sys/bus/mdev/devices"
#define GROUPS_SYSFS_PREFIX "/sys/kernel/iommu_groups"
#define VFIO_DEV_PREFIX "/dev/vfio/"

#define offsetofend(type, member) \
    (offsetof (type, member) + sizeof (((type *) 0)->member))

/* Prototypes of the interposed libc symbols that no header declares. */
int __open_2 (const char *path, int flags);
int __open64_2 (const char *path, int flags);
int __openat_2 (int dirfd, const char *path, int flags);
int __openat64_2 (int dirfd, const char *path, int flags);
ssize_t __readlink_chk (const char *path, char *buf, size_t len,
    size_t buflen);
ssize_t __readlinkat_chk (int dirfd, const char *path, char *buf, size_t len,
    size_t buflen);

/* ---------------------------------------------------------------------- */
/* The libc functions behind the interposers */

typedef int (*OpenFunc) (const char *path, int flags, ...);
typedef int (*OpenatFunc) (int dirfd, const char *path, int flags, ...);
typedef int (*Open2Func) (const char *path, int flags);
typedef int (*Openat2Func) (int dirfd, const char *path, int flags);
typedef int (*CloseFunc) (int fd);
typedef int (*Dup2Func) (int oldfd, int newfd);
typedef int (*Dup3Func) (int oldfd, int newfd, int flags);
typedef int (*IoctlFunc) (int fd, unsigned long request, ...);
typedef void *(*MmapFunc) (void *addr, size_t len, int prot, int flags,
    int fd, off_t offset);
typedef void *(*Mmap64Func) (void *addr, size_t len, int prot, int flags,
    int fd, off64_t offset);
typedef ssize_t (*ReadlinkFunc) (const char *path, char *buf, size_t size);
typedef ssize_t (*ReadlinkatFunc) (int dirfd, const char *path, char *buf,
    size_t size);
typedef ssize_t (*ReadlinkChkFunc) (const char *path, char *buf, size_t len,
    size_t buflen);
typedef ssize_t (*ReadlinkatChkFunc) (int dirfd, const char *path, char *buf,
    size_t len, size_t buflen);

static struct
{
  OpenFunc open, open64;
  OpenatFunc openat, openat64;
  Open2Func open_2, open64_2;
  Openat2Func openat_2, openat64_2;
  CloseFunc close;
  Dup2Func dup2;
  Dup3Func dup3;
  IoctlFunc ioctl;
  MmapFunc mmap;
  Mmap64Func mmap64;
  ReadlinkFunc readlink;
  ReadlinkatFunc readlinkat;
  ReadlinkChkFunc readlink_chk;
  ReadlinkatChkFunc readlinkat_chk;
} real;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static int
fallback_open_2 (const char *path, int flags)
{
  return real.open (path, flags);
}

static int
fallback_openat_2 (int dirfd, const char *path, int flags)
{
  return real.openat (dirfd, path, flags);
}

static ssize_t
fallback_readlink_chk (const char *path, char *buf, size_t len,
    size_t buflen)
{
  return real.readlink (path, buf, len);
}

static ssize_t
fallback_readlinkat_chk (int dirfd, const char *path, char *buf, size_t len,
    size_t buflen)
{
  return real.readlinkat (dirfd, path, buf, len);
}

static void
resolve_real_symbols (void)
{
  real.open = (OpenFunc) dlsym (RTLD_NEXT, "open");
  real.open64 = (OpenFunc) dlsym (RTLD_NEXT, "open64");
  real.openat = (OpenatFunc) dlsym (RTLD_NEXT, "openat");
  real.openat64 = (OpenatFunc) dlsym (RTLD_NEXT, "openat64");
  real.open_2 = (Open2Func) dlsym (RTLD_NEXT, "__open_2");
  real.open64_2 = (Open2Func) dlsym (RTLD_NEXT, "__open64_2");
  real.openat_2 = (Openat2Func) dlsym (RTLD_NEXT, "__openat_2");
  real.openat64_2 = (Openat2Func) dlsym (RTLD_NEXT, "__openat64_2");
  real.close = (CloseFunc) dlsym (RTLD_NEXT, "close");
  real.dup2 = (Dup2Func) dlsym (RTLD_NEXT, "dup2");
  real.dup3 = (Dup3Func) dlsym (RTLD_NEXT, "dup3");
  real.ioctl = (IoctlFunc) dlsym (RTLD_NEXT, "ioctl");
  real.mmap = (MmapFunc) dlsym (RTLD_NEXT, "mmap");
  real.mmap64 = (Mmap64Func) dlsym (RTLD_NEXT, "mmap64");
  real.readlink = (ReadlinkFunc) dlsym (RTLD_NEXT, "readlink");
  real.readlinkat = (ReadlinkatFunc) dlsym (RTLD_NEXT, "readlinkat");
  real.readlink_chk = (ReadlinkChkFunc) dlsym (RTLD_NEXT, "__readlink_chk");
  real.readlinkat_chk = (ReadlinkatChkFunc) dlsym (RTLD_NEXT,
      "__readlinkat_chk");

  /* The large-file and fortify variants are optional in a libc. */
  if (!real.open64)
    real.open64 = real.open;
  if (!real.openat64)
    real.openat64 = real.openat;
  if (!real.mmap64)
    real.mmap64 = (Mmap64Func) real.mmap;
  if (!real.open_2)
    real.open_2 = fallback_open_2;
  if (!real.open64_2)
    real.open64_2 = real.open_2;
  if (!real.openat_2)
    real.openat_2 = fallback_openat_2;
  if (!real.openat64_2)
    real.openat64_2 = real.openat_2;
  if (!real.readlink_chk)
    real.readlink_chk = fallback_readlink_chk;
  if (!real.readlinkat_chk)
    real.readlinkat_chk = fallback_readlinkat_chk;
}

static void
ensure_real_symbols (void)
{
  pthread_once (&real_once, resolve_real_symbols);
}

/* ---------------------------------------------------------------------- */
/* State */

typedef enum
{
  FD_CONTAINER,
  FD_GROUP,
  FD_DEVICE,
  FD_DMABUF,
} FdKind;

/* A container outlives its fd while a group is attached to it. */
typedef struct
{
  guint refs;
  guint n_groups;
  unsigned long iommu_type;
} EmuContainer;

/* An emulated open file, known by the identity of the memfd behind it so
 * that dups and fds received over a socket are recognised too. Dups share
 * it (group and container state is per open file, as in the kernel); each
 * device fd has its own, all on the device memfd. */
typedef struct
{
  guint refs;                   /* fd numbers bound to it */
  dev_t st_dev;
  ino_t st_ino;
  FdKind kind;
  gboolean vmm_owned;           /* made by vfio_emu_open_device_fd() */
  EmuContainer *container;      /* container: its own; group: attached */
  int group;                    /* FD_GROUP */
  VfioEmuDevice *dev;           /* FD_DEVICE, FD_DMABUF */
  int mmap_errno;               /* FD_DMABUF: what mmap() fails with */
  uint64_t mmap_limit;          /* FD_DMABUF: bytes it maps, whole pages */
  uint32_t dmabuf_id;           /* FD_DMABUF */
  gboolean of_scanout;          /* FD_DMABUF: of a buffer, not a raw plane */
  guint mode_index;             /* FD_DMABUF of a buffer: which one */
  guint buffer;
  unsigned life;                /* FD_DMABUF: the device life it came from */
} EmuFile;

typedef struct
{
  VfioEmuDevice *dev;           /* NULL: any device */
  unsigned long request;
  int err;
  unsigned first;
  unsigned count;
  unsigned calls;               /* matching calls since the rule was set */
} EmuFault;

static pthread_mutex_t emu_mutex = PTHREAD_MUTEX_INITIALIZER;

static struct
{
  GPtrArray *devices;           /* VfioEmuDevice */
  GHashTable *fds;              /* fd -> EmuFile */
  GPtrArray *files;             /* every EmuFile with an fd bound */
  GHashTable *open_groups;      /* group numbers with an open fd */
  GHashTable *group_errnos;     /* group -> errno of open() */
  GHashTable *counts;           /* request -> calls, every emulated fd */
  GPtrArray *faults;            /* EmuFault */
  char *sysfs_root;
  pid_t sysfs_owner;            /* a forked child must not remove it */
  int closing_fd;               /* close() of it in progress, or -1 */
} emu = {.closing_fd = -1 };

/* Set while this thread holds emu_mutex: interposed calls made from inside
 * the emulator (glib, libc) go straight to libc. */
/* How long a thread that replaced a device fd with dup2()/dup3() sleeps
 * after it: see vfio_emu_set_replace_delay(). */
static guint replace_delay_ms;

static __thread gboolean emu_busy
    __attribute__ ((tls_model ("initial-exec")));

void
emu_lock (void)
{
  pthread_mutex_lock (&emu_mutex);
  emu_busy = TRUE;
}

void
emu_unlock (void)
{
  emu_busy = FALSE;
  pthread_mutex_unlock (&emu_mutex);
}

static void
ensure_tables (void)
{
  if (emu.fds)
    return;
  emu.devices = g_ptr_array_new ();
  emu.fds = g_hash_table_new (NULL, NULL);
  emu.files = g_ptr_array_new ();
  emu.open_groups = g_hash_table_new (NULL, NULL);
  emu.group_errnos = g_hash_table_new (NULL, NULL);
  emu.counts = g_hash_table_new (NULL, NULL);
  emu.faults = g_ptr_array_new_with_free_func (g_free);
}

/* A negative errno (kernel style) to libc style. */
static int
return_errno (int ret)
{
  if (ret < 0) {
    errno = -ret;
    return -1;
  }
  return ret;
}

uint64_t
emu_round_up_to_page (uint64_t size)
{
  return (size + EMU_PAGE_SIZE - 1) & ~(uint64_t) (EMU_PAGE_SIZE - 1);
}

/* ---------------------------------------------------------------------- */
/* Emulated files and the fd table */

static EmuContainer *
container_new (void)
{
  EmuContainer *container = g_new0 (EmuContainer, 1);

  container->refs = 1;
  return container;
}

static void
container_unref (EmuContainer * container)
{
  if (--container->refs == 0)
    g_free (container);
}

static void
detach_group (EmuFile * group)
{
  EmuContainer *container = group->container;

  group->container = NULL;
  /* The last group out returns the container to its unset state. */
  if (--container->n_groups == 0)
    container->iommu_type = 0;
  container_unref (container);
}

static gboolean
is_same_file (const EmuFile * file, const struct stat *st)
{
  return file->st_dev == st->st_dev && file->st_ino == st->st_ino;
}

/* Whether an fd of this process that the table does not know (a dup not
 * used yet; the one being closed aside) still holds @file. */
static gboolean
file_has_unknown_fd (const EmuFile * file)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  gboolean found = FALSE;

  if (!dir)
    return FALSE;
  while (!found && (entry = readdir (dir))) {
    struct stat st;
    int fd;

    if (!g_ascii_isdigit (entry->d_name[0]))
      continue;
    fd = atoi (entry->d_name);
    if (fd == emu.closing_fd || fd == dirfd (dir))
      continue;
    found = fstat (fd, &st) == 0 && is_same_file (file, &st);
  }
  closedir (dir);
  return found;
}

/* The last fd of a dma-buf is gone: the driver may free its id (GVT-g). */
static void
release_dmabuf (EmuFile * file)
{
  VfioEmuDevice *dev = file->dev;

  if (!file->of_scanout || !dev->open || file->life != dev->life)
    return;
  if (emu_personality_ids_follow_dmabufs (dev) && !file_has_unknown_fd (file))
    emu_personality_dmabuf_released (dev, file->dmabuf_id);
}

/* The last fd of @file is gone: what the kernel's release() does. */
static void
release_file (EmuFile * file)
{
  if (file->kind == FD_DMABUF)
    release_dmabuf (file);
  if (file->kind == FD_CONTAINER)
    container_unref (file->container);
  if (file->kind == FD_GROUP) {
    if (file->container)
      detach_group (file);
    g_hash_table_remove (emu.open_groups, GINT_TO_POINTER (file->group));
  }
}

static void
file_unref (EmuFile * file)
{
  if (--file->refs > 0)
    return;
  release_file (file);
  g_ptr_array_remove_fast (emu.files, file);
  g_free (file);
}

/* Drops fd number @fd from the table; the caller closes it (or it is closed
 * already and its number was handed out again). */
static void
forget_fd_locked (int fd)
{
  EmuFile *file;

  if (!emu.fds)
    return;
  file = g_hash_table_lookup (emu.fds, GINT_TO_POINTER (fd));
  if (!file)
    return;
  g_hash_table_remove (emu.fds, GINT_TO_POINTER (fd));
  file_unref (file);
}

/* close (@fd) is about to happen. */
static void
forget_fd (int fd)
{
  if (fd < 0)
    return;
  emu_lock ();
  emu.closing_fd = fd;
  forget_fd_locked (fd);
  emu.closing_fd = -1;
  emu_unlock ();
}

static void
bind_fd (int fd, EmuFile * file)
{
  forget_fd_locked (fd);
  file->refs++;
  g_hash_table_insert (emu.fds, GINT_TO_POINTER (fd), file);
}

/* A new emulated file on the memfd @fd, described by @st. */
static EmuFile *
new_file (int fd, const struct stat *st, FdKind kind, gboolean vmm_owned)
{
  EmuFile *file = g_new0 (EmuFile, 1);

  file->st_dev = st->st_dev;
  file->st_ino = st->st_ino;
  file->kind = kind;
  file->vmm_owned = vmm_owned;
  file->group = -1;
  g_ptr_array_add (emu.files, file);
  bind_fd (fd, file);
  return file;
}

static EmuFile *
add_fd (int fd, FdKind kind, gboolean vmm_owned)
{
  struct stat st;

  /* A memfd made a moment ago: fstat() cannot fail. */
  fstat (fd, &st);
  return new_file (fd, &st, kind, vmm_owned);
}

static VfioEmuDevice *
find_device_by_memory (const struct stat *st)
{
  for (guint i = 0; i < emu.devices->len; i++) {
    VfioEmuDevice *dev = g_ptr_array_index (emu.devices, i);

    if (dev->mem_dev == st->st_dev && dev->mem_ino == st->st_ino)
      return dev;
  }
  return NULL;
}

static EmuFile *
find_file (const struct stat *st)
{
  for (guint i = 0; i < emu.files->len; i++) {
    EmuFile *file = g_ptr_array_index (emu.files, i);

    if (is_same_file (file, st))
      return file;
  }
  return NULL;
}

/* An fd met for the first time (a dup, or received over a socket): a
 * device fd of a known device, or another fd of a known file. */
static EmuFile *
adopt_fd (int fd, const struct stat *st)
{
  VfioEmuDevice *dev = find_device_by_memory (st);
  EmuFile *file;

  if (dev) {
    file = new_file (fd, st, FD_DEVICE, FALSE);
    file->dev = dev;
    dev->open = TRUE;
    return file;
  }
  file = find_file (st);
  if (file)
    bind_fd (fd, file);
  return file;
}

/* The emulated file behind @fd, NULL when it is not one. The number is
 * checked against the file: an fd closed behind our back (close_range(),
 * a raw syscall) and handed out again is not taken for the old one. */
static EmuFile *
lookup_fd (int fd)
{
  EmuFile *file;
  struct stat st;

  if (!emu.fds || fd < 0)
    return NULL;
  file = g_hash_table_lookup (emu.fds, GINT_TO_POINTER (fd));
  if (fstat (fd, &st) < 0) {
    forget_fd_locked (fd);
    return NULL;
  }
  if (file && is_same_file (file, &st))
    return file;
  forget_fd_locked (fd);
  return adopt_fd (fd, &st);
}

/* Drops the numbers that no longer refer to their file, so that counts and
 * open groups are right whatever closed them. */
static void
prune_stale_fds (void)
{
  GHashTableIter iter;
  gpointer key, value;

  if (!emu.fds)
    return;
  g_hash_table_iter_init (&iter, emu.fds);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    struct stat st;

    if (fstat (GPOINTER_TO_INT (key), &st) == 0 && is_same_file (value, &st))
      continue;
    g_hash_table_iter_remove (&iter);
    file_unref (value);
  }
}

/* A memfd standing for an emulated file. */
static int
new_memfd (const char *name, gboolean cloexec)
{
  int fd = memfd_create (name, cloexec ? MFD_CLOEXEC : 0);

  return fd < 0 ? -errno : fd;
}

/* ---------------------------------------------------------------------- */
/* Device lives */

/* Whether an fd of this process other than the emulator's own is on the
 * memory of @dev: the table alone would miss dups not used yet. */
static gboolean
device_has_open_fd (const VfioEmuDevice * dev)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  gboolean found = FALSE;

  if (!dir) {
    for (guint i = 0; i < emu.files->len && !found; i++) {
      const EmuFile *file = g_ptr_array_index (emu.files, i);

      found = file->kind == FD_DEVICE && file->dev == dev;
    }
    return found;
  }
  while (!found && (entry = readdir (dir))) {
    struct stat st;
    int fd;

    if (!g_ascii_isdigit (entry->d_name[0]))
      continue;
    fd = atoi (entry->d_name);
    if (fd == dev->mem_fd || fd == dirfd (dir))
      continue;
    found = fstat (fd, &st) == 0 && st.st_dev == dev->mem_dev
        && st.st_ino == dev->mem_ino;
  }
  closedir (dir);
  return found;
}

/* What the driver's close_device() and the vfio core do when the last
 * device fd goes: ids and export records, the request eventfd, and a
 * removal that waited. */
static void
end_device_life (VfioEmuDevice * dev)
{
  dev->open = FALSE;
  dev->life++;
  emu_personality_life_ends (dev);
  if (dev->request_fd >= 0) {
    real.close (dev->request_fd);
    dev->request_fd = -1;
  }
  if (dev->unplug_pending) {
    dev->unplug_pending = FALSE;
    dev->unplugged = TRUE;
  }
}

/* Ends the life of @dev if its last fd was closed, however it went (close(),
 * close_range(), a raw syscall). Checked where it shows: before a new
 * device fd is handed out and in the vfio_emu_* calls that report on the
 * life, so close() stays cheap; an fd in flight in a socket meanwhile
 * keeps the life going, as in the kernel. */
static void
check_device_life (VfioEmuDevice * dev)
{
  if (dev->open && !device_has_open_fd (dev))
    end_device_life (dev);
}

/* Before ids are handed out by the test's hand (a mode, a flip): MBOCHS
 * and GVTG ids belong to a life. */
static void
check_life_of_ids (VfioEmuDevice * dev)
{
  if (dev->personality != VFIO_EMU_PERSONALITY_GENERIC)
    check_device_life (dev);
}

/* ---------------------------------------------------------------------- */
/* Counters and faults */

static void
count_call (GHashTable * counts, unsigned long request)
{
  gpointer key = GSIZE_TO_POINTER (request);
  guint calls = GPOINTER_TO_UINT (g_hash_table_lookup (counts, key));

  g_hash_table_insert (counts, key, GUINT_TO_POINTER (calls + 1));
}

static unsigned
calls_of (GHashTable * counts, unsigned long request)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts,
          GSIZE_TO_POINTER (request)));
}

/* Whether a call on @file is a call on @dev: its device fd and dma-bufs,
 * and the fds of its group. */
static gboolean
fd_is_of_device (const EmuFile * file, const VfioEmuDevice * dev)
{
  switch (file->kind) {
    case FD_DEVICE:
    case FD_DMABUF:
      return file->dev == dev;
    case FD_GROUP:
      return file->group == dev->group;
    case FD_CONTAINER:
      break;
  }
  return FALSE;
}

static void
count_ioctl (const EmuFile * file, unsigned long request)
{
  count_call (emu.counts, request);
  for (guint i = 0; i < emu.devices->len; i++) {
    VfioEmuDevice *dev = g_ptr_array_index (emu.devices, i);

    if (fd_is_of_device (file, dev))
      count_call (dev->counts, request);
  }
}

/* Counts the call against every matching rule; the errno of the first rule
 * whose window holds it, else 0. */
static int
injected_errno (const EmuFile * file, unsigned long request)
{
  int err = 0;

  for (guint i = 0; i < emu.faults->len; i++) {
    EmuFault *fault = g_ptr_array_index (emu.faults, i);

    if (fault->request != request)
      continue;
    if (fault->dev && !fd_is_of_device (file, fault->dev))
      continue;
    fault->calls++;
    if (err == 0 && fault->calls >= fault->first
        && (fault->count == 0 || fault->calls - fault->first < fault->count))
      err = fault->err;
  }
  return err;
}

/* ---------------------------------------------------------------------- */
/* Devices and groups */

static VfioEmuDevice *
find_device (int group, const char *uuid)
{
  for (guint i = 0; i < emu.devices->len; i++) {
    VfioEmuDevice *dev = g_ptr_array_index (emu.devices, i);

    if ((group < 0 || dev->group == group) && strcmp (dev->uuid, uuid) == 0)
      return dev;
  }
  return NULL;
}

/* The /dev/vfio/N node exists while a device of the group is plugged. */
static gboolean
group_has_plugged_device (int group)
{
  for (guint i = 0; i < emu.devices->len; i++) {
    VfioEmuDevice *dev = g_ptr_array_index (emu.devices, i);

    if (dev->group == group && !dev->unplugged)
      return TRUE;
  }
  return FALSE;
}

static gboolean
fd_device_is_gone (const EmuFile * file)
{
  if (file->kind == FD_DEVICE)
    return file->dev->unplugged;
  if (file->kind == FD_GROUP)
    return !group_has_plugged_device (file->group);
  return FALSE;
}

/* The second display region lies far above the first, which grows with
 * the largest mode shown. */
#define DISPLAY2_OFFSET (REGION_OFFSET (VFIO_EMU_DISPLAY_REGION_INDEX) + \
    ((uint64_t) 256 << 20))

static uint64_t
display_region_offset (guint index)
{
  return index == VFIO_EMU_DISPLAY_REGION2_INDEX ? DISPLAY2_OFFSET :
      REGION_OFFSET (VFIO_EMU_DISPLAY_REGION_INDEX);
}

static guint
device_num_regions (const VfioEmuDevice * dev)
{
  if (dev->flags & VFIO_EMU_REGION)
    return (dev->second_display ? VFIO_EMU_DISPLAY_REGION2_INDEX :
        VFIO_EMU_DISPLAY_REGION_INDEX) + 1;
  if (dev->flags & VFIO_EMU_EDID)
    return VFIO_EMU_EDID_REGION_INDEX + 1;
  return VFIO_PCI_NUM_REGIONS;
}

/* Regions below num_regions that the device lacks answer size 0, like
 * unimplemented PCI BARs; every device has its PCI config space. */
static gboolean
describe_region (const VfioEmuDevice * dev, uint32_t index, EmuRegion * r)
{
  if (index >= device_num_regions (dev))
    return FALSE;

  memset (r, 0, sizeof (*r));
  r->offset = REGION_OFFSET (index);
  if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
    r->size = CONFIG_REGION_SIZE;
    r->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  } else if (index == VFIO_EMU_EDID_REGION_INDEX
      && (dev->flags & VFIO_EMU_EDID)) {
    r->size = EDID_REGION_SIZE;
    r->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    r->edid = TRUE;
    r->type = VFIO_REGION_TYPE_GFX;
    r->subtype = VFIO_REGION_SUBTYPE_GFX_EDID;
  } else if ((index == VFIO_EMU_DISPLAY_REGION_INDEX
          || index == VFIO_EMU_DISPLAY_REGION2_INDEX)
      && (dev->flags & VFIO_EMU_REGION)) {
    guint n = index - VFIO_EMU_DISPLAY_REGION_INDEX;

    r->offset = display_region_offset (index);
    r->size = dev->display_size;
    r->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
        VFIO_REGION_INFO_FLAG_MMAP;
    r->type = dev->display_type[n];
    r->subtype = dev->display_subtype[n];
  }
  return TRUE;
}

static int
grow_device_memory (VfioEmuDevice * dev, uint64_t size)
{
  if (size <= dev->mem_size)
    return 0;
  if (ftruncate (dev->mem_fd, size) < 0)
    return -errno;
  dev->mem_size = size;
  return 0;
}

/* The start of a type 0 PCI header: the vendor and device ids of the
 * personality, class 0x0300 (VGA display controller). */
int
emu_write_config_region (VfioEmuDevice * dev)
{
  uint64_t offset = REGION_OFFSET (VFIO_PCI_CONFIG_REGION_INDEX);
  guint8 header[CONFIG_REGION_SIZE] = { 0 };
  uint16_t vendor, device;
  int ret;

  emu_personality_pci_ids (dev, &vendor, &device);
  header[0x00] = vendor & 0xff;
  header[0x01] = vendor >> 8;
  header[0x02] = device & 0xff;
  header[0x03] = device >> 8;
  header[0x0b] = 0x03;
  ret = grow_device_memory (dev, offset + sizeof (header));
  if (ret < 0)
    return ret;
  if (pwrite (dev->mem_fd, header, sizeof (header), offset) < 0)
    return -errno;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Pixels */

static guint
bytes_per_pixel (uint32_t fourcc)
{
  switch (fourcc) {
    case EMU_FOURCC ('C', '8', ' ', ' '):
    case EMU_FOURCC ('R', '8', ' ', ' '):
      return 1;
    case EMU_FOURCC ('R', 'G', '1', '6'):
    case EMU_FOURCC ('B', 'G', '1', '6'):
    case EMU_FOURCC ('X', 'R', '1', '5'):
    case EMU_FOURCC ('A', 'R', '1', '5'):
    case EMU_FOURCC ('X', 'B', '1', '5'):
    case EMU_FOURCC ('A', 'B', '1', '5'):
    case EMU_FOURCC ('Y', 'U', 'Y', 'V'):
    case EMU_FOURCC ('Y', 'V', 'Y', 'U'):
    case EMU_FOURCC ('U', 'Y', 'V', 'Y'):
    case EMU_FOURCC ('V', 'Y', 'U', 'Y'):
      return 2;
    default:
      return 4;
  }
}

static void
put_pixel (guint8 * p, guint bpp, uint32_t value)
{
  uint16_t v16 = value;
  uint8_t v8 = value;

  if (bpp == 4)
    memcpy (p, &value, 4);
  else if (bpp == 2)
    memcpy (p, &v16, 2);
  else
    memcpy (p, &v8, 1);
}

/* Writes the pattern of buffer @id for @mode into @avail bytes at @base,
 * bounded by @avail whatever the (possibly hostile) mode says. */
static void
fill_pattern (guint8 * base, uint64_t avail, const EmuMode * mode,
    uint32_t id)
{
  guint bpp = bytes_per_pixel (mode->fourcc);
  uint64_t width = MIN (mode->width, mode->stride / bpp);

  for (uint64_t y = 0; y < mode->height; y++) {
    uint64_t row = y * mode->stride;

    if (width == 0 || row + bpp > avail)
      break;
    for (uint64_t x = 0; x < width && row + (x + 1) * bpp <= avail; x++)
      put_pixel (base + row + x * bpp, bpp, vfio_emu_pixel (id, x, y));
  }
}

static int
fill_file (int fd, uint64_t offset, uint64_t size, const EmuMode * mode,
    uint32_t id)
{
  void *map;

  if (size == 0)
    return 0;
  map = real.mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
      offset);
  if (map == MAP_FAILED)
    return -errno;
  fill_pattern (map, size, mode, id);
  munmap (map, size);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* EDID */

/* A 1024x768 monitor "vfioemu", EDID 1.4 with one preferred timing. */
static const guint8 edid_base[EDID_BLOB_SIZE] = {
  0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,       /* header */
  0x15, 0xb5, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,       /* "EMU", 0x1234 */
  0x01, 0x22, 0x01, 0x04,       /* week 1 of 2024, EDID 1.4 */
  0xa5, 0x1f, 0x17, 0x78, 0x06, /* digital 8 bpc DP, 31x23 cm, 2.2, sRGB */
  0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54,   /* sRGB */
  0x21, 0x08, 0x00,             /* 640x480, 800x600, 1024x768 at 60 Hz */
  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,       /* no standard */
  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,       /* timings */
  /* 1024x768 at 60 Hz, 65 MHz, 310x230 mm */
  0x64, 0x19, 0x00, 0x40, 0x41, 0x00, 0x26, 0x30, 0x18,
  0x88, 0x36, 0x00, 0x36, 0xe6, 0x10, 0x00, 0x00, 0x18,
  /* monitor name */
  0x00, 0x00, 0x00, 0xfc, 0x00, 'v', 'f', 'i', 'o', 'e', 'm', 'u', '\n',
  ' ', ' ', ' ', ' ', ' ',
  /* range limits: 50-75 Hz, 30-90 kHz, 170 MHz */
  0x00, 0x00, 0x00, 0xfd, 0x00, 0x32, 0x4b, 0x1e, 0x5a, 0x11, 0x00, 0x0a,
  ' ', ' ', ' ', ' ', ' ', ' ',
  /* dummy descriptor */
  0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00,                   /* no extension; checksum set at run time */
};

/* The EDID region as the kernel's vendor drivers keep it: registers and a
 * blob in device memory, not in the memfd (pread/pwrite go through the
 * model at the end of this file). Starts with the link up and the blob
 * above, unlike mbochs (link_state 0 until a VMM sets it). */
typedef struct _EmuEdid
{
  struct vfio_region_gfx_edid regs;
  guint8 blob[EDID_MAX_SIZE];
  GArray *accesses;             /* VfioEmuEdidAccess, since the last take */
} EmuEdid;

static void
edid_free (EmuEdid * edid)
{
  if (!edid)
    return;
  g_array_unref (edid->accesses);
  g_free (edid);
}

static int
write_edid_region (VfioEmuDevice * dev)
{
  EmuEdid *edid = g_new0 (EmuEdid, 1);
  guint8 sum = 0;

  edid->regs.edid_offset = EDID_BLOB_OFFSET;
  edid->regs.edid_max_size = EDID_MAX_SIZE;
  edid->regs.edid_size = EDID_BLOB_SIZE;
  edid->regs.max_xres = 1920;
  edid->regs.max_yres = 1440;
  edid->regs.link_state = VFIO_DEVICE_GFX_LINK_STATE_UP;
  memcpy (edid->blob, edid_base, EDID_BLOB_SIZE);
  for (guint i = 0; i < EDID_BLOB_SIZE - 1; i++)
    sum += edid->blob[i];
  edid->blob[EDID_BLOB_SIZE - 1] = (guint8) (0x100 - sum);
  edid->accesses = g_array_new (FALSE, FALSE, sizeof (VfioEmuEdidAccess));
  dev->edid = edid;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Fake sysfs */

static gboolean
ensure_sysfs_root (void)
{
  if (emu.sysfs_root)
    return TRUE;
  emu.sysfs_root = g_dir_make_tmp ("vfioemu-sysfs-XXXXXX", NULL);
  emu.sysfs_owner = getpid ();
  return emu.sysfs_root != NULL;
}

static char *
sysfs_device_dir (const VfioEmuDevice * dev)
{
  return g_strconcat (emu.sysfs_root, "/bus/mdev/devices/", dev->uuid, NULL);
}

static char *
sysfs_group_dir (int group)
{
  return g_strdup_printf ("%s/kernel/iommu_groups/%d", emu.sysfs_root, group);
}

/* ROOT/bus/mdev/devices/UUID/iommu_group -> ../../../../kernel/iommu_groups/N
 * and ROOT/kernel/iommu_groups/N/devices/UUID -> back, as in sysfs. */
static gboolean
add_sysfs_device (const VfioEmuDevice * dev)
{
  g_autofree char *dir = sysfs_device_dir (dev);
  g_autofree char *group_dir = sysfs_group_dir (dev->group);
  g_autofree char *group_devices = g_strconcat (group_dir, "/devices", NULL);
  g_autofree char *link = g_strconcat (dir, "/iommu_group", NULL);
  g_autofree char *target = g_strdup_printf
      ("../../../../kernel/iommu_groups/%d", dev->group);
  g_autofree char *back = g_strconcat (group_devices, "/", dev->uuid, NULL);
  g_autofree char *back_target = g_strconcat ("../../../../bus/mdev/devices/",
      dev->uuid, NULL);

  return g_mkdir_with_parents (dir, 0755) == 0
      && g_mkdir_with_parents (group_devices, 0755) == 0
      && symlink (target, link) == 0 && symlink (back_target, back) == 0;
}

static void
remove_sysfs_device (const VfioEmuDevice * dev)
{
  g_autofree char *dir = sysfs_device_dir (dev);
  g_autofree char *group_dir = sysfs_group_dir (dev->group);
  g_autofree char *group_devices = g_strconcat (group_dir, "/devices", NULL);
  g_autofree char *link = g_strconcat (dir, "/iommu_group", NULL);
  g_autofree char *back = g_strconcat (group_devices, "/", dev->uuid, NULL);

  unlink (link);
  rmdir (dir);
  unlink (back);
  /* These fail while another device of the group is left, as they should. */
  rmdir (group_devices);
  rmdir (group_dir);
}

static int
remove_tree_entry (const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
  remove (path);
  return 0;
}

static void
remove_sysfs_tree (void)
{
  if (!emu.sysfs_root)
    return;
  if (emu.sysfs_owner == getpid ())
    nftw (emu.sysfs_root, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
  g_clear_pointer (&emu.sysfs_root, g_free);
}

static void remove_sysfs_tree_at_exit (void) __attribute__ ((destructor));

static void
remove_sysfs_tree_at_exit (void)
{
  emu_lock ();
  remove_sysfs_tree ();
  emu_unlock ();
}

static gboolean
has_dir_prefix (const char *path, const char *prefix)
{
  size_t len = strlen (prefix);

  return strncmp (path, prefix, len) == 0
      && (path[len] == '\0' || path[len] == '/');
}

static gboolean
is_redirected_path (const char *path)
{
  return has_dir_prefix (path, MDEV_SYSFS_PREFIX)
      || has_dir_prefix (path, GROUPS_SYSFS_PREFIX);
}

/* @path ("/sys/...") inside the fake tree, NULL when there is none. */
static char *
redirect_path (const char *path)
{
  char *redirected = NULL;

  emu_lock ();
  if (emu.sysfs_root)
    redirected = g_strconcat (emu.sysfs_root, path + strlen ("/sys"), NULL);
  emu_unlock ();
  return redirected;
}

/* ---------------------------------------------------------------------- */
/* Opening /dev/vfio nodes */

static int
open_container_locked (int flags, gboolean vmm_owned)
{
  int fd = new_memfd ("vfioemu-container", flags & O_CLOEXEC);
  EmuFile *file;

  if (fd < 0)
    return fd;
  file = add_fd (fd, FD_CONTAINER, vmm_owned);
  file->container = container_new ();
  return fd;
}

static int
open_group_locked (int group, int flags, gboolean vmm_owned)
{
  int err = GPOINTER_TO_INT (g_hash_table_lookup (emu.group_errnos,
          GINT_TO_POINTER (group)));
  EmuFile *file;
  int fd;

  if (err && !vmm_owned)
    return -err;
  if (!group_has_plugged_device (group))
    return -ENOENT;
  /* drivers/vfio/group.c: a group is open in one place at a time. */
  prune_stale_fds ();
  if (g_hash_table_contains (emu.open_groups, GINT_TO_POINTER (group)))
    return -EBUSY;

  fd = new_memfd ("vfioemu-group", flags & O_CLOEXEC);
  if (fd < 0)
    return fd;
  file = add_fd (fd, FD_GROUP, vmm_owned);
  file->group = group;
  g_hash_table_add (emu.open_groups, GINT_TO_POINTER (group));
  return fd;
}

static gboolean
parse_group_node (const char *path, int *group)
{
  const char *name = path + strlen (VFIO_DEV_PREFIX);
  gint64 number;

  if (!g_ascii_isdigit (name[0])
      || !g_ascii_string_to_signed (name, 10, 0, G_MAXINT, &number, NULL))
    return FALSE;
  *group = number;
  return TRUE;
}

static int
open_vfio_node (const char *path, int flags)
{
  int group, ret;

  emu_lock ();
  ensure_tables ();
  if (strcmp (path, VFIO_DEV_PREFIX "vfio") == 0)
    ret = open_container_locked (flags, FALSE);
  else if (parse_group_node (path, &group))
    ret = open_group_locked (group, flags, FALSE);
  else
    ret = -ENOENT;
  emu_unlock ();
  return return_errno (ret);
}

/* ---------------------------------------------------------------------- */
/* Container ioctls (drivers/vfio/container.c) */

static int
container_set_iommu (EmuContainer * container, unsigned long type)
{
  if (container->n_groups == 0 || container->iommu_type)
    return -EINVAL;
  if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
    return -ENODEV;
  container->iommu_type = type;
  return 0;
}

static int
container_ioctl (EmuFile * file, unsigned long request, unsigned long arg)
{
  switch (request) {
    case VFIO_GET_API_VERSION:
      return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
      return arg == VFIO_TYPE1_IOMMU || arg == VFIO_TYPE1v2_IOMMU;
    case VFIO_SET_IOMMU:
      return container_set_iommu (file->container, arg);
    default:
      return -ENOTTY;
  }
}

/* ---------------------------------------------------------------------- */
/* Group ioctls (drivers/vfio/group.c) */

static int
group_get_status (EmuFile * file, struct vfio_group_status *status)
{
  if (status->argsz < offsetofend (struct vfio_group_status, flags))
    return -EINVAL;
  status->flags = VFIO_GROUP_FLAGS_VIABLE;
  if (file->container)
    status->flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
  return 0;
}

static int
group_set_container (EmuFile * file, int container_fd)
{
  EmuFile *container = lookup_fd (container_fd);

  if (file->container)
    return -EINVAL;
  if (!container || container->kind != FD_CONTAINER)
    return fcntl (container_fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
  file->container = container->container;
  file->container->refs++;
  file->container->n_groups++;
  return 0;
}

static int
new_device_fd_locked (VfioEmuDevice * dev, gboolean vmm_owned)
{
  /* Like the kernel's, each device fd is an open file of its own (kcmp
   * tells them apart), on the one memory of the device. */
  char path[64];
  EmuFile *file;
  int fd;

  /* The last fd may have gone without close(): a new life starts then. */
  check_device_life (dev);
  g_snprintf (path, sizeof (path), "/proc/self/fd/%d", dev->mem_fd);
  fd = real.open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  file = add_fd (fd, FD_DEVICE, vmm_owned);
  file->dev = dev;
  dev->open = TRUE;
  return fd;
}

/* Gone, or going once its fds are closed: no new device fd either way. */
static gboolean
device_is_removed (const VfioEmuDevice * dev)
{
  return dev->unplugged || dev->unplug_pending;
}

static int
group_get_device_fd (EmuFile * file, const char *name)
{
  VfioEmuDevice *dev;

  if (!file->container || !file->container->iommu_type)
    return -EINVAL;
  dev = find_device (file->group, name);
  if (!dev || device_is_removed (dev))
    return -ENODEV;
  return new_device_fd_locked (dev, file->vmm_owned);
}

static int
group_ioctl (EmuFile * file, unsigned long request, unsigned long arg)
{
  switch (request) {
    case VFIO_GROUP_GET_STATUS:
      return group_get_status (file, (struct vfio_group_status *) arg);
    case VFIO_GROUP_SET_CONTAINER:
      return group_set_container (file, *(const int *) arg);
    case VFIO_GROUP_UNSET_CONTAINER:
      if (!file->container)
        return -EINVAL;
      detach_group (file);
      return 0;
    case VFIO_GROUP_GET_DEVICE_FD:
      return group_get_device_fd (file, (const char *) arg);
    default:
      return -ENOTTY;
  }
}

/* ---------------------------------------------------------------------- */
/* Device ioctls (samples/vfio-mdev/mbochs.c, mdpy.c) */

static int
device_get_info (VfioEmuDevice * dev, struct vfio_device_info *info)
{
  struct vfio_device_info answer = {
    .argsz = info->argsz,
    .flags = VFIO_DEVICE_FLAGS_PCI,
    .num_regions = device_num_regions (dev),
    .num_irqs = VFIO_PCI_NUM_IRQS,
  };

  if (info->argsz < offsetofend (struct vfio_device_info, num_irqs))
    return -EINVAL;
  memcpy (info, &answer, MIN (info->argsz, sizeof (answer)));
  return 0;
}

/* The generic capability-chain protocol (vfio_info_add_capability()): too
 * small an argsz gets the size needed and cap_offset 0. */
static int
device_get_region_info (VfioEmuDevice * dev, struct vfio_region_info *info)
{
  struct vfio_region_info_cap_type cap = {
    .header = {.id = VFIO_REGION_INFO_CAP_TYPE,.version = 1,.next = 0},
  };
  const uint32_t needed = sizeof (*info) + sizeof (cap);
  EmuRegion region;

  if (info->argsz < offsetofend (struct vfio_region_info, offset))
    return -EINVAL;
  if (!describe_region (dev, info->index, &region))
    return -EINVAL;
  if (emu_personality_own_region_info (dev))
    return emu_personality_region_info (dev, &region, info);

  info->flags = region.flags;
  info->size = region.size;
  info->offset = region.offset;
  info->cap_offset = 0;
  if (!region.type)
    return 0;
  cap.type = region.type;
  cap.subtype = region.subtype;

  info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
  if (info->argsz < needed) {
    info->argsz = needed;
    return 0;
  }
  memcpy ((guint8 *) info + sizeof (*info), &cap, sizeof (cap));
  info->cap_offset = sizeof (*info);
  return 0;
}

static const EmuMode *
current_mode (const VfioEmuDevice * dev)
{
  if (dev->mode < 0)
    return NULL;
  return &g_array_index (dev->modes, EmuMode, dev->mode);
}

static void
copy_plane_out_fields (struct vfio_device_gfx_plane_info *plane,
    const struct vfio_device_gfx_plane_info *from)
{
  size_t start = offsetof (struct vfio_device_gfx_plane_info, drm_format);

  memcpy ((guint8 *) plane + start, (const guint8 *) from + start,
      sizeof (*plane) - start);
}

static gboolean
raw_plane_answers (const VfioEmuDevice * dev, uint32_t plane_type)
{
  uint32_t raw_type = dev->raw.drm_plane_type;

  if (!dev->raw_set)
    return FALSE;
  return raw_type == plane_type
      || (raw_type == 0 && plane_type == VFIO_EMU_PLANE_PRIMARY);
}

/* Fills the out-fields of a plane answer; a disabled plane, a cursor and
 * any other plane type stay all zero (mbochs_query_gfx_plane()). */
static void
describe_plane (VfioEmuDevice * dev, gboolean region,
    struct vfio_device_gfx_plane_info *plane)
{
  const EmuMode *mode = current_mode (dev);

  if (raw_plane_answers (dev, plane->drm_plane_type)) {
    copy_plane_out_fields (plane, &dev->raw);
    return;
  }
  if (plane->drm_plane_type != VFIO_EMU_PLANE_PRIMARY || dev->blank || !mode)
    return;

  plane->drm_format = mode->fourcc;
  plane->drm_format_mod = mode->modifier;
  plane->width = mode->width;
  plane->height = mode->height;
  plane->stride = mode->stride;
  plane->size = mode->size;
  if (region)
    plane->region_index = dev->display_region;
  else
    plane->dmabuf_id = emu_personality_shown_id (dev);
}

static gboolean
device_offers (const VfioEmuDevice * dev, uint32_t plane_flags)
{
  if (plane_flags == VFIO_GFX_PLANE_TYPE_DMABUF)
    return dev->flags & VFIO_EMU_DMABUF;
  if (plane_flags == VFIO_GFX_PLANE_TYPE_REGION)
    return dev->flags & VFIO_EMU_REGION;
  return FALSE;
}

/* Whether a query of @plane_type answers a mode's dma-buf, not a raw plane
 * or an all-zero one. */
static gboolean
shows_dmabuf_primary (const VfioEmuDevice * dev, uint32_t kind,
    uint32_t plane_type)
{
  return kind == VFIO_GFX_PLANE_TYPE_DMABUF
      && plane_type == VFIO_EMU_PLANE_PRIMARY
      && !raw_plane_answers (dev, plane_type) && !dev->blank && dev->mode >= 0;
}

static int
device_query_plane (VfioEmuDevice * dev,
    struct vfio_device_gfx_plane_info *arg)
{
  const size_t minsz = offsetofend (struct vfio_device_gfx_plane_info,
      region_index);
  struct vfio_device_gfx_plane_info plane = { 0 };
  uint32_t kind;

  if (arg->argsz < minsz)
    return -EINVAL;

  kind = arg->flags & ~VFIO_GFX_PLANE_TYPE_PROBE;
  if (!device_offers (dev, kind))
    return -EINVAL;
  if (arg->flags & VFIO_GFX_PLANE_TYPE_PROBE)
    return 0;

  if (shows_dmabuf_primary (dev, kind, arg->drm_plane_type)) {
    int err = emu_personality_query_errno (dev);

    if (err < 0)
      return err;
  }

  plane.argsz = arg->argsz;
  plane.flags = arg->flags;
  plane.drm_plane_type = arg->drm_plane_type;
  describe_plane (dev, kind == VFIO_GFX_PLANE_TYPE_REGION, &plane);
  memcpy (arg, &plane, minsz);
  return 0;
}

/* The mode (and backing size) of buffer @id, FALSE when there is none. */
static gboolean
lookup_buffer (const VfioEmuDevice * dev, uint32_t id, EmuMode * mode)
{
  if (dev->raw_set && id == dev->raw.dmabuf_id) {
    mode->fourcc = dev->raw.drm_format;
    mode->modifier = dev->raw.drm_format_mod;
    mode->width = dev->raw.width;
    mode->height = dev->raw.height;
    mode->stride = dev->raw.stride;
    mode->size = dev->raw_backing;
    mode->backing = dev->raw_backing;
    return TRUE;
  }
  return emu_personality_lookup_id (dev, id, mode);
}

static int
device_export_dmabuf (VfioEmuDevice * dev, uint32_t id)
{
  guint mode_index = 0, buffer = 0;
  gboolean of_scanout;
  EmuMode mode;
  EmuFile *file;
  int fd, ret;

  if (!(dev->flags & VFIO_EMU_DMABUF))
    return -ENOTTY;
  if (!lookup_buffer (dev, id, &mode))
    return emu_personality_unknown_id_errno (dev);
  of_scanout = !(dev->raw_set && id == dev->raw.dmabuf_id)
      && emu_personality_buffer_of_id (dev, id, &mode_index, &buffer);
  emu_personality_record_export (dev, id);

  /* mbochs exports without O_CLOEXEC (dma_buf_fd (buf, 0)). */
  fd = new_memfd ("vfioemu-dmabuf", FALSE);
  if (fd < 0)
    return fd;
  ret = ftruncate (fd, mode.backing) < 0 ? -errno : 0;
  if (ret == 0)
    ret = fill_file (fd, 0, mode.backing, &mode, id);
  if (ret < 0) {
    real.close (fd);
    return ret;
  }
  file = add_fd (fd, FD_DMABUF, FALSE);
  file->dev = dev;
  file->dmabuf_id = id;
  file->of_scanout = of_scanout;
  file->mode_index = mode_index;
  file->buffer = buffer;
  file->life = dev->life;
  if (of_scanout)
    emu_personality_dmabuf_exported (dev, id);
  file->mmap_errno = emu_personality_dmabuf_mmap_errno (dev);
  /* dma_buf_mmap_internal(): whole pages inside the buffer's size. */
  file->mmap_limit = mode.backing & ~(uint64_t) (EMU_PAGE_SIZE - 1);
  return fd;
}

/* ---------------------------------------------------------------------- */
/* Interrupts: none, except the request IRQ a GENERIC device may offer
 * (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_intrs.c). The samples and
 * GVT-g on 6.12 answer count 0 for every index. */

static gboolean
offers_request_irq (const VfioEmuDevice * dev, uint32_t index)
{
  return index == VFIO_PCI_REQ_IRQ_INDEX && dev->request_offered
      && dev->personality == VFIO_EMU_PERSONALITY_GENERIC;
}

static int
device_get_irq_info (VfioEmuDevice * dev, struct vfio_irq_info *info)
{
  if (info->argsz < offsetofend (struct vfio_irq_info, count)
      || info->index >= VFIO_PCI_NUM_IRQS)
    return -EINVAL;
  info->flags = 0;
  info->count = 0;
  if (offers_request_irq (dev, info->index)) {
    info->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
    info->count = 1;
  }
  return 0;
}

/* eventfd_ctx_fdget(): EBADF for no fd, EINVAL for another kind of file;
 * the device keeps its own reference, a dup. */
static int
register_request_eventfd (VfioEmuDevice * dev, int fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  char target[64] = { 0 };
  int copy;

  if (fcntl (fd, F_GETFD) < 0)
    return -EBADF;
  if (real.readlink (path, target, sizeof (target) - 1) < 0
      || strcmp (target, "anon_inode:[eventfd]") != 0)
    return -EINVAL;
  copy = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0)
    return -errno;
  if (dev->request_fd >= 0)
    real.close (dev->request_fd);
  dev->request_fd = copy;
  return 0;
}

static void
unregister_request_eventfd (VfioEmuDevice * dev)
{
  if (dev->request_fd >= 0)
    real.close (dev->request_fd);
  dev->request_fd = -1;
}

/* fd -1 unregisters, other negative numbers are ignored. */
static int
set_request_eventfd (VfioEmuDevice * dev, const guint8 * data)
{
  int32_t fd;

  memcpy (&fd, data, sizeof (fd));
  if (fd == -1)
    unregister_request_eventfd (dev);
  if (fd < 0)
    return 0;
  return register_request_eventfd (dev, fd);
}

static void
signal_request_eventfd (VfioEmuDevice * dev)
{
  uint64_t one = 1;

  if (dev->request_fd >= 0 && write (dev->request_fd, &one, sizeof (one)) < 0)
    g_warning ("vfioemu: cannot signal the request eventfd: %s",
        g_strerror (errno));
}

/* vfio_set_irqs_validate_and_prepare() for an index with one interrupt,
 * then vfio_pci_set_ctx_trigger_single(). */
static int
device_set_irqs (VfioEmuDevice * dev, struct vfio_irq_set *set)
{
  const size_t minsz = offsetofend (struct vfio_irq_set, count);
  uint32_t data = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
  uint32_t action = set->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
  size_t size;

  if (set->argsz < minsz || (set->flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK |
              VFIO_IRQ_SET_ACTION_TYPE_MASK)))
    return -EINVAL;
  if (data == VFIO_IRQ_SET_DATA_NONE)
    size = 0;
  else if (data == VFIO_IRQ_SET_DATA_BOOL)
    size = 1;
  else if (data == VFIO_IRQ_SET_DATA_EVENTFD)
    size = sizeof (int32_t);
  else
    return -EINVAL;
  if (action != VFIO_IRQ_SET_ACTION_MASK
      && action != VFIO_IRQ_SET_ACTION_UNMASK
      && action != VFIO_IRQ_SET_ACTION_TRIGGER)
    return -EINVAL;
  if (!offers_request_irq (dev, set->index) || set->start != 0
      || set->count > 1 || set->argsz - minsz < set->count * size)
    return -EINVAL;
  if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
    return -ENOTTY;

  if (data == VFIO_IRQ_SET_DATA_NONE) {
    /* count 1 signals (loopback), count 0 unregisters */
    if (dev->request_fd < 0)
      return -EINVAL;
    if (set->count)
      signal_request_eventfd (dev);
    else
      unregister_request_eventfd (dev);
    return 0;
  }
  if (set->count == 0)
    return -EINVAL;
  if (data == VFIO_IRQ_SET_DATA_BOOL) {
    if (set->data[0])
      signal_request_eventfd (dev);
    return 0;
  }
  return set_request_eventfd (dev, set->data);
}

static int
device_ioctl (EmuFile * file, unsigned long request, unsigned long arg)
{
  switch (request) {
    case VFIO_DEVICE_GET_INFO:
      return device_get_info (file->dev, (struct vfio_device_info *) arg);
    case VFIO_DEVICE_GET_REGION_INFO:
      return device_get_region_info (file->dev,
          (struct vfio_region_info *) arg);
    case VFIO_DEVICE_QUERY_GFX_PLANE:
      return device_query_plane (file->dev,
          (struct vfio_device_gfx_plane_info *) arg);
    case VFIO_DEVICE_GET_GFX_DMABUF:
      return device_export_dmabuf (file->dev, *(const uint32_t *) arg);
    case VFIO_DEVICE_GET_IRQ_INFO:
      return device_get_irq_info (file->dev, (struct vfio_irq_info *) arg);
    case VFIO_DEVICE_SET_IRQS:
      return device_set_irqs (file->dev, (struct vfio_irq_set *) arg);
    default:
      return -ENOTTY;
  }
}

/* GstDmaBufAllocator syncs around CPU access; memfds need nothing. */
static int
dmabuf_ioctl (EmuFile * file, unsigned long request, unsigned long arg)
{
  return request == DMA_BUF_IOCTL_SYNC ? 0 : -ENOTTY;
}

static int
emulate_ioctl (EmuFile * file, unsigned long request, unsigned long arg)
{
  int err;

  count_ioctl (file, request);
  err = injected_errno (file, request);
  if (err)
    return -err;
  if (fd_device_is_gone (file))
    return -ENODEV;

  switch (file->kind) {
    case FD_CONTAINER:
      return container_ioctl (file, request, arg);
    case FD_GROUP:
      return group_ioctl (file, request, arg);
    case FD_DEVICE:
      return device_ioctl (file, request, arg);
    case FD_DMABUF:
      return dmabuf_ioctl (file, request, arg);
  }
  return -ENOTTY;
}

/* ---------------------------------------------------------------------- */
/* mmap */

/* drivers/vfio/pci: a mapping must lie in one mmap-able region (rounded up
 * to pages); dma-bufs exported while mmap fails refuse it like mbochs. */
static int
check_emulated_mmap (int fd, uint64_t offset, uint64_t len)
{
  EmuFile *file = lookup_fd (fd);
  EmuRegion region;

  if (!file)
    return 0;
  switch (file->kind) {
    case FD_CONTAINER:
    case FD_GROUP:
      return ENODEV;
    case FD_DMABUF:
      if (file->mmap_errno)
        return file->mmap_errno;
      return offset + emu_round_up_to_page (len) <= file->mmap_limit ? 0 :
          EINVAL;
    case FD_DEVICE:
      break;
  }
  for (uint32_t i = 0; describe_region (file->dev, i, &region); i++) {
    if ((region.flags & VFIO_REGION_INFO_FLAG_MMAP) && offset >= region.offset
        && offset + len <= region.offset + emu_round_up_to_page (region.size))
      return 0;
  }
  return EINVAL;
}

static int
mmap_errno (int fd, uint64_t offset, uint64_t len)
{
  int err;

  if (fd < 0 || emu_busy)
    return 0;
  emu_lock ();
  err = check_emulated_mmap (fd, offset, len);
  emu_unlock ();
  return err;
}

/* ---------------------------------------------------------------------- */
/* Public API */

static void
free_device (VfioEmuDevice * dev)
{
  if (dev->mem_fd >= 0)
    real.close (dev->mem_fd);
  if (dev->request_fd >= 0)
    real.close (dev->request_fd);
  emu_personality_free (dev);
  g_array_unref (dev->modes);
  g_hash_table_unref (dev->counts);
  edid_free (dev->edid);
  g_free (dev->uuid);
  g_free (dev->sysfs_path);
  g_free (dev);
}

/* Closes the fds that the emulated VMM holds; the code under test owns the
 * others, which are only forgotten. */
static void
close_vmm_fds (void)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, emu.fds);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    EmuFile *file = value;

    if (file->vmm_owned && file->kind != FD_DEVICE)
      real.close (GPOINTER_TO_INT (key));
  }
}

static void
forget_everything (void)
{
  for (guint i = 0; i < emu.files->len; i++) {
    release_file (g_ptr_array_index (emu.files, i));
    g_free (g_ptr_array_index (emu.files, i));
  }
  g_clear_pointer (&emu.files, g_ptr_array_unref);
  g_clear_pointer (&emu.fds, g_hash_table_unref);
  for (guint i = 0; i < emu.devices->len; i++)
    free_device (g_ptr_array_index (emu.devices, i));
  g_clear_pointer (&emu.devices, g_ptr_array_unref);
  g_clear_pointer (&emu.open_groups, g_hash_table_unref);
  g_clear_pointer (&emu.group_errnos, g_hash_table_unref);
  g_clear_pointer (&emu.counts, g_hash_table_unref);
  g_clear_pointer (&emu.faults, g_ptr_array_unref);
}

void
vfio_emu_reset (void)
{
  ensure_real_symbols ();
  emu_lock ();
  if (emu.fds) {
    close_vmm_fds ();
    forget_everything ();
  }
  emu_personality_reset ();
  g_atomic_int_set (&replace_delay_ms, 0);
  remove_sysfs_tree ();
  emu_unlock ();
}

static VfioEmuDevice *
device_new (const char *uuid, int group, VfioEmuFlags flags)
{
  VfioEmuDevice *dev = g_new0 (VfioEmuDevice, 1);
  struct stat st;

  dev->uuid = g_strdup (uuid);
  dev->sysfs_path = g_strconcat (MDEV_SYSFS_PREFIX "/", uuid, NULL);
  dev->group = group;
  dev->flags = flags;
  dev->mode = -1;
  dev->display_region = VFIO_EMU_DISPLAY_REGION_INDEX;
  dev->modes = g_array_new (FALSE, TRUE, sizeof (EmuMode));
  dev->counts = g_hash_table_new (NULL, NULL);
  dev->request_fd = -1;
  emu_personality_init (dev);
  dev->mem_fd = new_memfd ("vfioemu-device", TRUE);
  if (dev->mem_fd >= 0 && fstat (dev->mem_fd, &st) == 0) {
    dev->mem_dev = st.st_dev;
    dev->mem_ino = st.st_ino;
  }
  return dev;
}

static VfioEmuDevice *
add_mdev_locked (const char *uuid, int group, VfioEmuFlags flags)
{
  VfioEmuDevice *dev;

  ensure_tables ();
  if (find_device (-1, uuid)) {
    g_critical ("vfioemu: mdev %s exists already", uuid);
    return NULL;
  }
  if (!ensure_sysfs_root ()) {
    g_critical ("vfioemu: cannot create the fake sysfs tree");
    return NULL;
  }

  dev = device_new (uuid, group, flags);
  if (dev->mem_fd < 0 || !add_sysfs_device (dev)
      || emu_write_config_region (dev) < 0
      || ((flags & VFIO_EMU_EDID) && write_edid_region (dev) < 0)) {
    g_critical ("vfioemu: cannot create mdev %s: %s", uuid,
        g_strerror (errno));
    free_device (dev);
    return NULL;
  }
  g_ptr_array_add (emu.devices, dev);
  return dev;
}

VfioEmuDevice *
vfio_emu_add_mdev (const char *uuid, int group, VfioEmuFlags flags)
{
  VfioEmuDevice *dev;

  g_return_val_if_fail (uuid != NULL && *uuid && !strchr (uuid, '/'), NULL);
  g_return_val_if_fail (group >= 0, NULL);

  ensure_real_symbols ();
  emu_lock ();
  dev = add_mdev_locked (uuid, group, flags);
  emu_unlock ();
  return dev;
}

const char *
vfio_emu_device_sysfs_path (VfioEmuDevice * dev)
{
  g_return_val_if_fail (dev != NULL, NULL);
  return dev->sysfs_path;
}

static int
attach_vmm_group (int group_fd, int container_fd)
{
  EmuFile *group = lookup_fd (group_fd);
  int ret = group_set_container (group, container_fd);

  if (ret < 0)
    return ret;
  if (group->container->iommu_type)
    return 0;
  return container_set_iommu (group->container, VFIO_TYPE1v2_IOMMU);
}

/* What a VMM does at start-up, without the counters or faults: the code
 * under test did not make these calls. */
static int
open_device_as_vmm (VfioEmuDevice * dev)
{
  int container_fd, group_fd, ret;

  if (device_is_removed (dev))
    return -ENODEV;
  container_fd = open_container_locked (O_CLOEXEC, TRUE);
  if (container_fd < 0)
    return container_fd;
  group_fd = open_group_locked (dev->group, O_CLOEXEC, TRUE);
  if (group_fd < 0) {
    forget_fd_locked (container_fd);
    real.close (container_fd);
    return group_fd;
  }
  ret = attach_vmm_group (group_fd, container_fd);
  if (ret == 0)
    ret = new_device_fd_locked (dev, TRUE);
  if (ret < 0) {
    forget_fd_locked (group_fd);
    forget_fd_locked (container_fd);
    real.close (group_fd);
    real.close (container_fd);
  }
  return ret;
}

int
vfio_emu_open_device_fd (VfioEmuDevice * dev)
{
  int ret;

  g_return_val_if_fail (dev != NULL, -1);

  emu_lock ();
  ret = open_device_as_vmm (dev);
  emu_unlock ();
  return return_errno (ret);
}

void
vfio_emu_set_group_open_errno (int group, int err)
{
  ensure_real_symbols ();
  emu_lock ();
  ensure_tables ();
  if (err)
    g_hash_table_insert (emu.group_errnos, GINT_TO_POINTER (group),
        GINT_TO_POINTER (err));
  else
    g_hash_table_remove (emu.group_errnos, GINT_TO_POINTER (group));
  emu_unlock ();
}

static int
find_or_add_mode (VfioEmuDevice * dev, const EmuMode * mode)
{
  for (guint i = 0; i < dev->modes->len; i++) {
    const EmuMode *known = &g_array_index (dev->modes, EmuMode, i);

    if (known->fourcc == mode->fourcc && known->modifier == mode->modifier
        && known->width == mode->width && known->height == mode->height
        && known->stride == mode->stride)
      return i;
  }
  g_array_append_val (dev->modes, *mode);
  return dev->modes->len - 1;
}

/* The display region grows to the largest mode shown and holds the pixels
 * of the current one, with id = the region index. */
static void
show_mode_in_region (VfioEmuDevice * dev, const EmuMode * mode)
{
  uint64_t offset = display_region_offset (dev->display_region);

  dev->display_size = MAX (dev->display_size, mode->size);
  if (grow_device_memory (dev, offset + dev->display_size) < 0
      || fill_file (dev->mem_fd, offset, mode->size, mode,
          dev->display_region) < 0)
    g_critical ("vfioemu: cannot fill the display region: %s",
        g_strerror (errno));
}

void
vfio_emu_set_mode (VfioEmuDevice * dev, uint32_t fourcc, uint64_t modifier,
    uint32_t width, uint32_t height, uint32_t stride)
{
  EmuMode mode = {
    .fourcc = fourcc,
    .modifier = modifier,
    .width = width,
    .height = height,
    .stride = stride ? stride : width * bytes_per_pixel (fourcc),
  };
  int index;

  g_return_if_fail (dev != NULL);

  emu_lock ();
  check_life_of_ids (dev);
  emu_personality_size_mode (dev, &mode);
  index = find_or_add_mode (dev, &mode);
  if (index != dev->mode) {
    dev->mode = index;
    dev->buffer = 0;
  }
  if (dev->flags & VFIO_EMU_REGION)
    show_mode_in_region (dev, &mode);
  emu_unlock ();
}

/* The id the primary plane shows now, 0 when blank; a region-only device
 * shows its display region. */
static uint32_t
shown_id (VfioEmuDevice * dev)
{
  if (dev->blank || dev->mode < 0)
    return 0;
  if (!(dev->flags & VFIO_EMU_DMABUF))
    return dev->display_region;
  return emu_personality_shown_id (dev);
}

static uint64_t
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t
show_buffer_locked (VfioEmuDevice * dev, guint index)
{
  check_life_of_ids (dev);
  if (dev->mode >= 0 && (dev->flags & VFIO_EMU_DMABUF))
    dev->buffer = index;
  dev->last_flip_time = monotonic_ns ();
  return shown_id (dev);
}

void
vfio_emu_set_display_region (VfioEmuDevice * dev, unsigned index)
{
  g_return_if_fail (dev != NULL && (dev->flags & VFIO_EMU_REGION));
  g_return_if_fail (index == VFIO_EMU_DISPLAY_REGION_INDEX
      || index == VFIO_EMU_DISPLAY_REGION2_INDEX);

  emu_lock ();
  if (index == VFIO_EMU_DISPLAY_REGION2_INDEX)
    dev->second_display = TRUE;
  dev->display_region = index;
  if (current_mode (dev))
    show_mode_in_region (dev, current_mode (dev));
  emu_unlock ();
}

void
vfio_emu_set_region_type (VfioEmuDevice * dev, unsigned index,
    uint32_t type, uint32_t subtype)
{
  guint n = index - VFIO_EMU_DISPLAY_REGION_INDEX;

  g_return_if_fail (dev != NULL);
  g_return_if_fail (index == VFIO_EMU_DISPLAY_REGION_INDEX
      || index == VFIO_EMU_DISPLAY_REGION2_INDEX);

  emu_lock ();
  dev->display_type[n] = type;
  dev->display_subtype[n] = subtype;
  emu_unlock ();
}

uint32_t
vfio_emu_flip (VfioEmuDevice * dev)
{
  uint32_t id;

  g_return_val_if_fail (dev != NULL, 0);

  emu_lock ();
  id = show_buffer_locked (dev, dev->buffer == 0 ? 1 : 0);
  emu_unlock ();
  return id;
}

uint32_t
vfio_emu_show_buffer (VfioEmuDevice * dev, unsigned index)
{
  uint32_t id;

  g_return_val_if_fail (dev != NULL, 0);
  g_return_val_if_fail (index < 2
      || dev->personality != VFIO_EMU_PERSONALITY_GENERIC, 0);

  emu_lock ();
  id = show_buffer_locked (dev, index);
  emu_unlock ();
  return id;
}

void
vfio_emu_set_blank (VfioEmuDevice * dev, gboolean blank)
{
  g_return_if_fail (dev != NULL);

  emu_lock ();
  dev->blank = blank;
  emu_unlock ();
}

void
vfio_emu_set_raw_plane (VfioEmuDevice * dev,
    const struct vfio_device_gfx_plane_info *info, uint64_t backing_size)
{
  g_return_if_fail (dev != NULL);

  emu_lock ();
  dev->raw_set = info != NULL;
  if (info)
    dev->raw = *info;
  dev->raw_backing = backing_size;
  emu_unlock ();
}

void
vfio_emu_set_dmabuf_mmap_fails (VfioEmuDevice * dev, gboolean fails)
{
  g_return_if_fail (dev != NULL);

  emu_lock ();
  dev->mmap_fails = fails;
  emu_unlock ();
}

void
vfio_emu_fail_ioctl (VfioEmuDevice * dev, unsigned long request, int err,
    unsigned first, unsigned count)
{
  EmuFault *fault;

  g_return_if_fail (err > 0);

  fault = g_new0 (EmuFault, 1);
  fault->dev = dev;
  fault->request = request;
  fault->err = err;
  fault->first = MAX (first, 1);
  fault->count = count;
  ensure_real_symbols ();
  emu_lock ();
  ensure_tables ();
  g_ptr_array_add (emu.faults, fault);
  emu_unlock ();
}

void
vfio_emu_unplug (VfioEmuDevice * dev)
{
  g_return_if_fail (dev != NULL);

  emu_lock ();
  if (!device_is_removed (dev)) {
    remove_sysfs_device (dev);
    check_device_life (dev);
    if (dev->open && emu_personality_unplug_waits (dev))
      dev->unplug_pending = TRUE;
    else
      dev->unplugged = TRUE;
  }
  emu_unlock ();
}

gboolean
vfio_emu_unplug_pending (VfioEmuDevice * dev)
{
  gboolean pending;

  g_return_val_if_fail (dev != NULL, FALSE);

  emu_lock ();
  check_device_life (dev);
  pending = dev->unplug_pending;
  emu_unlock ();
  return pending;
}

gboolean
vfio_emu_dmabuf_buffer (int fd, unsigned *mode, unsigned *buffer)
{
  EmuFile *file;
  gboolean found;

  ensure_real_symbols ();
  emu_lock ();
  file = lookup_fd (fd);
  found = file && file->kind == FD_DMABUF && file->of_scanout;
  if (found) {
    *mode = file->mode_index;
    *buffer = file->buffer;
  }
  emu_unlock ();
  return found;
}

unsigned
vfio_emu_export_count (VfioEmuDevice * dev, uint32_t id)
{
  unsigned count;

  g_return_val_if_fail (dev != NULL, 0);

  emu_lock ();
  check_device_life (dev);
  count = emu_personality_export_count (dev, id);
  emu_unlock ();
  return count;
}

void
vfio_emu_set_request_irq (VfioEmuDevice * dev, gboolean offered)
{
  g_return_if_fail (dev != NULL);

  emu_lock ();
  dev->request_offered = offered;
  if (!offered)
    unregister_request_eventfd (dev);
  emu_unlock ();
}

gboolean
vfio_emu_request (VfioEmuDevice * dev)
{
  gboolean registered;

  g_return_val_if_fail (dev != NULL, FALSE);

  emu_lock ();
  check_device_life (dev);
  registered = dev->request_fd >= 0;
  signal_request_eventfd (dev);
  emu_unlock ();
  return registered;
}

unsigned
vfio_emu_ioctl_count (VfioEmuDevice * dev, unsigned long request)
{
  unsigned calls = 0;

  emu_lock ();
  if (dev)
    calls = calls_of (dev->counts, request);
  else if (emu.counts)
    calls = calls_of (emu.counts, request);
  emu_unlock ();
  return calls;
}

static gboolean
is_open_vfio_fd (const EmuFile * file)
{
  return file->kind != FD_DMABUF && !file->vmm_owned;
}

/* Live dma-bufs are files (a dup is the same buffer); open fds are fds. */
unsigned
vfio_emu_live_dmabufs (VfioEmuDevice * dev)
{
  unsigned n = 0;

  emu_lock ();
  prune_stale_fds ();
  for (guint i = 0; emu.files && i < emu.files->len; i++) {
    const EmuFile *file = g_ptr_array_index (emu.files, i);

    n += file->kind == FD_DMABUF && (!dev || file->dev == dev);
  }
  emu_unlock ();
  return n;
}

unsigned
vfio_emu_open_fds (void)
{
  GHashTableIter iter;
  gpointer value;
  unsigned n = 0;

  emu_lock ();
  prune_stale_fds ();
  if (emu.fds) {
    g_hash_table_iter_init (&iter, emu.fds);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      n += is_open_vfio_fd (value);
  }
  emu_unlock ();
  return n;
}

uint32_t
vfio_emu_pixel (uint32_t dmabuf_id, uint32_t x, uint32_t y)
{
  return ((x & 0xff) << 16) | ((y & 0xff) << 8) | (dmabuf_id & 0xff);
}

uint32_t
vfio_emu_current_id (VfioEmuDevice * dev)
{
  uint32_t id;

  g_return_val_if_fail (dev != NULL, 0);

  emu_lock ();
  check_life_of_ids (dev);
  id = shown_id (dev);
  emu_unlock ();
  return id;
}

/* ---------------------------------------------------------------------- */
/* The interposers */

typedef enum
{
  CALL_OPEN,
  CALL_OPEN64,
  CALL_OPENAT,
  CALL_OPENAT64,
  CALL_OPEN_2,
  CALL_OPEN64_2,
  CALL_OPENAT_2,
  CALL_OPENAT64_2,
} OpenCall;

static int
call_real_open (OpenCall call, int dirfd, const char *path, int flags,
    mode_t mode)
{
  switch (call) {
    case CALL_OPEN:
      return real.open (path, flags, mode);
    case CALL_OPEN64:
      return real.open64 (path, flags, mode);
    case CALL_OPENAT:
      return real.openat (dirfd, path, flags, mode);
    case CALL_OPENAT64:
      return real.openat64 (dirfd, path, flags, mode);
    case CALL_OPEN_2:
      return real.open_2 (path, flags);
    case CALL_OPEN64_2:
      return real.open64_2 (path, flags);
    case CALL_OPENAT_2:
      return real.openat_2 (dirfd, path, flags);
    case CALL_OPENAT64_2:
      return real.openat64_2 (dirfd, path, flags);
  }
  errno = EINVAL;
  return -1;
}

static int
open_redirected (OpenCall call, int dirfd, const char *path, int flags,
    mode_t mode)
{
  g_autofree char *redirected = redirect_path (path);
  int fd, err;

  if (!redirected) {
    errno = ENOENT;
    return -1;
  }
  fd = call_real_open (call, dirfd, redirected, flags, mode);
  err = errno;
  forget_fd (fd);
  errno = err;
  return fd;
}

static int
open_common (OpenCall call, int dirfd, const char *path, int flags,
    mode_t mode)
{
  int fd;

  ensure_real_symbols ();
  if (emu_busy)
    return call_real_open (call, dirfd, path, flags, mode);
  if (g_str_has_prefix (path, VFIO_DEV_PREFIX))
    return open_vfio_node (path, flags);
  if (is_redirected_path (path))
    return open_redirected (call, dirfd, path, flags, mode);

  fd = call_real_open (call, dirfd, path, flags, mode);
  /* An emulated fd closed behind our back (not through close()) leaves a
   * stale entry: the kernel handing its number out again clears it. */
  if (fd >= 0)
    forget_fd (fd);
  return fd;
}

static gboolean
open_needs_mode (int flags)
{
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define READ_MODE(flags, mode)                  \
  G_STMT_START {                                \
    if (open_needs_mode (flags)) {              \
      va_list ap;                               \
      va_start (ap, flags);                     \
      mode = va_arg (ap, int);                  \
      va_end (ap);                              \
    }                                           \
  } G_STMT_END

int
open (const char *path, int flags, ...)
{
  mode_t mode = 0;

  READ_MODE (flags, mode);
  return open_common (CALL_OPEN, AT_FDCWD, path, flags, mode);
}

int
open64 (const char *path, int flags, ...)
{
  mode_t mode = 0;

  READ_MODE (flags, mode);
  return open_common (CALL_OPEN64, AT_FDCWD, path, flags, mode);
}

int
openat (int dirfd, const char *path, int flags, ...)
{
  mode_t mode = 0;

  READ_MODE (flags, mode);
  return open_common (CALL_OPENAT, dirfd, path, flags, mode);
}

int
openat64 (int dirfd, const char *path, int flags, ...)
{
  mode_t mode = 0;

  READ_MODE (flags, mode);
  return open_common (CALL_OPENAT64, dirfd, path, flags, mode);
}

int
__open_2 (const char *path, int flags)
{
  return open_common (CALL_OPEN_2, AT_FDCWD, path, flags, 0);
}

int
__open64_2 (const char *path, int flags)
{
  return open_common (CALL_OPEN64_2, AT_FDCWD, path, flags, 0);
}

int
__openat_2 (int dirfd, const char *path, int flags)
{
  return open_common (CALL_OPENAT_2, dirfd, path, flags, 0);
}

int
__openat64_2 (int dirfd, const char *path, int flags)
{
  return open_common (CALL_OPENAT64_2, dirfd, path, flags, 0);
}

int
close (int fd)
{
  ensure_real_symbols ();
  if (!emu_busy)
    forget_fd (fd);
  return real.close (fd);
}

/* Whether @fd is an emulated device fd, for the replace delay. */
static gboolean
is_device_fd (int fd)
{
  EmuFile *file;
  gboolean device;

  if (emu_busy || fd < 0)
    return FALSE;
  emu_lock ();
  file = lookup_fd (fd);
  device = file && file->kind == FD_DEVICE;
  emu_unlock ();
  return device;
}

/* dup2()/dup3() onto an emulated fd closes its file, as the kernel does. */
static int
replaced (int ret, int newfd, gboolean was_device)
{
  int err = errno;
  guint delay_ms = g_atomic_int_get (&replace_delay_ms);

  if (ret >= 0 && !emu_busy)
    forget_fd (newfd);
  if (ret >= 0 && was_device && delay_ms)
    g_usleep (delay_ms * G_TIME_SPAN_MILLISECOND);
  errno = err;
  return ret;
}

int
dup2 (int oldfd, int newfd)
{
  gboolean was_device;

  ensure_real_symbols ();
  was_device = oldfd != newfd && is_device_fd (newfd);
  return replaced (real.dup2 (oldfd, newfd), newfd, was_device);
}

int
dup3 (int oldfd, int newfd, int flags)
{
  gboolean was_device;

  ensure_real_symbols ();
  was_device = is_device_fd (newfd);
  return replaced (real.dup3 (oldfd, newfd, flags), newfd, was_device);
}

void
vfio_emu_set_replace_delay (guint ms)
{
  g_atomic_int_set (&replace_delay_ms, ms);
}

int
ioctl (int fd, unsigned long request, ...)
{
  unsigned long arg;
  EmuFile *file;
  va_list ap;
  int ret;

  va_start (ap, request);
  arg = va_arg (ap, unsigned long);
  va_end (ap);

  ensure_real_symbols ();
  if (emu_busy || fd < 0)
    return real.ioctl (fd, request, arg);

  emu_lock ();
  file = lookup_fd (fd);
  ret = file ? emulate_ioctl (file, request, arg) : 0;
  emu_unlock ();
  if (!file)
    return real.ioctl (fd, request, arg);
  return return_errno (ret);
}

void *
mmap (void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
  int err;

  ensure_real_symbols ();
  err = mmap_errno (fd, offset, len);
  if (err) {
    errno = err;
    return MAP_FAILED;
  }
  return real.mmap (addr, len, prot, flags, fd, offset);
}

void *
mmap64 (void *addr, size_t len, int prot, int flags, int fd, off64_t offset)
{
  int err;

  ensure_real_symbols ();
  err = mmap_errno (fd, offset, len);
  if (err) {
    errno = err;
    return MAP_FAILED;
  }
  return real.mmap64 (addr, len, prot, flags, fd, offset);
}

typedef enum
{
  CALL_READLINK,
  CALL_READLINKAT,
  CALL_READLINK_CHK,
  CALL_READLINKAT_CHK,
} ReadlinkCall;

static ssize_t
call_real_readlink (ReadlinkCall call, int dirfd, const char *path,
    char *buf, size_t len, size_t buflen)
{
  switch (call) {
    case CALL_READLINK:
      return real.readlink (path, buf, len);
    case CALL_READLINKAT:
      return real.readlinkat (dirfd, path, buf, len);
    case CALL_READLINK_CHK:
      return real.readlink_chk (path, buf, len, buflen);
    case CALL_READLINKAT_CHK:
      return real.readlinkat_chk (dirfd, path, buf, len, buflen);
  }
  errno = EINVAL;
  return -1;
}

static ssize_t
readlink_common (ReadlinkCall call, int dirfd, const char *path, char *buf,
    size_t len, size_t buflen)
{
  g_autofree char *redirected = NULL;

  ensure_real_symbols ();
  if (emu_busy || !is_redirected_path (path))
    return call_real_readlink (call, dirfd, path, buf, len, buflen);

  redirected = redirect_path (path);
  if (!redirected) {
    errno = ENOENT;
    return -1;
  }
  return call_real_readlink (call, dirfd, redirected, buf, len, buflen);
}

ssize_t
readlink (const char *path, char *buf, size_t size)
{
  return readlink_common (CALL_READLINK, AT_FDCWD, path, buf, size, size);
}

ssize_t
readlinkat (int dirfd, const char *path, char *buf, size_t size)
{
  return readlink_common (CALL_READLINKAT, dirfd, path, buf, size, size);
}

ssize_t
__readlink_chk (const char *path, char *buf, size_t len, size_t buflen)
{
  return readlink_common (CALL_READLINK_CHK, AT_FDCWD, path, buf, len,
      buflen);
}

ssize_t
__readlinkat_chk (int dirfd, const char *path, char *buf, size_t len,
    size_t buflen)
{
  return readlink_common (CALL_READLINKAT_CHK, dirfd, path, buf, len, buflen);
}

uint64_t
vfio_emu_last_flip_time (VfioEmuDevice * dev)
{
  uint64_t t;

  g_return_val_if_fail (dev != NULL, 0);

  emu_lock ();
  t = dev->last_flip_time;
  emu_unlock ();
  return t;
}

/* ---------------------------------------------------------------------- */
/* The EDID region: register semantics of pread/pwrite */

ssize_t __pread_chk (int fd, void *buf, size_t len, off_t offset,
    size_t buflen);
ssize_t __pread64_chk (int fd, void *buf, size_t len, off64_t offset,
    size_t buflen);

typedef ssize_t (*PreadFunc) (int fd, void *buf, size_t len, off_t offset);
typedef ssize_t (*PwriteFunc) (int fd, const void *buf, size_t len,
    off_t offset);

static struct
{
  PreadFunc pread, pread64;
  PwriteFunc pwrite, pwrite64;
} real_rw;

static pthread_once_t real_rw_once = PTHREAD_ONCE_INIT;

static void
resolve_real_rw (void)
{
  real_rw.pread = (PreadFunc) dlsym (RTLD_NEXT, "pread");
  real_rw.pread64 = (PreadFunc) dlsym (RTLD_NEXT, "pread64");
  real_rw.pwrite = (PwriteFunc) dlsym (RTLD_NEXT, "pwrite");
  real_rw.pwrite64 = (PwriteFunc) dlsym (RTLD_NEXT, "pwrite64");
  if (!real_rw.pread64)
    real_rw.pread64 = real_rw.pread;
  if (!real_rw.pwrite64)
    real_rw.pwrite64 = real_rw.pwrite;
}

/* What drm_edid_block_valid() checks first: the header and the sum. */
static gboolean
edid_block_valid (const EmuEdid * edid)
{
  static const guint8 header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
  guint8 sum = 0;

  if (edid->regs.edid_size < EDID_BLOB_SIZE
      || memcmp (edid->blob, header, sizeof (header)))
    return FALSE;
  for (guint i = 0; i < EDID_BLOB_SIZE; i++)
    sum += edid->blob[i];
  return sum == 0;
}

/* One register write, with GVT-g's checks (handle_edid_regs() in
 * drivers/gpu/drm/i915/gvt/kvmgt.c; mbochs takes anything silently). */
static int
edid_write_register (EmuEdid * edid, uint32_t offset, uint32_t value)
{
  switch (offset) {
    case offsetof (struct vfio_region_gfx_edid, link_state):
      if (value == VFIO_DEVICE_GFX_LINK_STATE_UP && !edid_block_valid (edid))
        return -EINVAL;
      if (value != VFIO_DEVICE_GFX_LINK_STATE_UP
          && value != VFIO_DEVICE_GFX_LINK_STATE_DOWN)
        return -EINVAL;
      edid->regs.link_state = value;
      return 0;
    case offsetof (struct vfio_region_gfx_edid, edid_size):
      if (value > edid->regs.edid_max_size)
        return -EINVAL;
      edid->regs.edid_size = value;
      return 0;
    default:
      return -EPERM;
  }
}

/* One access as the vendor driver sees it: registers take exactly 4
 * aligned bytes, the blob anything up to edid_size. */
static int
edid_access (EmuEdid * edid, uint32_t offset, guint8 * data, uint32_t size,
    gboolean write)
{
  uint32_t value;

  if (offset < edid->regs.edid_offset) {
    if (size != 4 || offset % 4 || offset + 4 > sizeof (edid->regs))
      return -EINVAL;
    if (!write) {
      memcpy (data, (guint8 *) & edid->regs + offset, 4);
      return 0;
    }
    memcpy (&value, data, 4);
    return edid_write_register (edid, offset, value);
  }
  offset -= edid->regs.edid_offset;
  if ((uint64_t) offset + size > edid->regs.edid_size)
    return -EINVAL;
  if (write)
    memcpy (edid->blob + offset, data, size);
  else
    memcpy (data, edid->blob + offset, size);
  return 0;
}

static void
log_access (EmuEdid * edid, uint32_t offset, const guint8 * data,
    uint32_t size, gboolean write)
{
  VfioEmuEdidAccess a = {.write = write,.offset = offset,.size = size };

  memcpy (&a.value, data, MIN (size, 4));
  g_array_append_val (edid->accesses, a);
}

/* A pread/pwrite of the region, split into aligned 4, 2 and 1-byte
 * accesses as mbochs_read() and intel_vgpu_read() do. Returns the bytes
 * done or a negative errno. */
static ssize_t
edid_rw (VfioEmuDevice * dev, guint8 * data, size_t len, uint64_t offset,
    gboolean write)
{
  EmuEdid *edid = dev->edid;
  size_t done = 0;

  if (dev->unplugged)
    return -ENODEV;
  if (offset + len > EDID_REGION_SIZE)
    return -EINVAL;
  while (done < len) {
    uint32_t at = offset + done, step = 1;
    int ret;

    if (len - done >= 4 && at % 4 == 0)
      step = 4;
    else if (len - done >= 2 && at % 2 == 0)
      step = 2;
    ret = edid_access (edid, at, data + done, step, write);
    if (ret < 0)
      return ret;
    done += step;
  }
  return done;
}

/* Whether @fd is a device fd and [offset, offset + len) starts in its EDID
 * region; then does the access into *ret. */
static gboolean
emulate_edid_rw (int fd, void *buf, size_t len, uint64_t offset,
    gboolean write, ssize_t * ret)
{
  uint64_t start = REGION_OFFSET (VFIO_EMU_EDID_REGION_INDEX);
  EmuFile *file;
  gboolean handled = FALSE;

  ensure_real_symbols ();
  if (emu_busy || fd < 0 || offset < start
      || offset >= start + EDID_REGION_SIZE)
    return FALSE;
  emu_lock ();
  file = lookup_fd (fd);
  if (file && file->kind == FD_DEVICE && file->dev->edid) {
    handled = TRUE;
    *ret = edid_rw (file->dev, buf, len, offset - start, write);
    if (*ret >= 0)
      log_access (file->dev->edid, offset - start, buf, len, write);
  }
  emu_unlock ();
  if (handled && *ret < 0) {
    errno = -*ret;
    *ret = -1;
  }
  return handled;
}

ssize_t
pread (int fd, void *buf, size_t len, off_t offset)
{
  ssize_t ret;

  pthread_once (&real_rw_once, resolve_real_rw);
  if (emulate_edid_rw (fd, buf, len, offset, FALSE, &ret))
    return ret;
  return real_rw.pread (fd, buf, len, offset);
}

ssize_t
pread64 (int fd, void *buf, size_t len, off64_t offset)
{
  ssize_t ret;

  pthread_once (&real_rw_once, resolve_real_rw);
  if (emulate_edid_rw (fd, buf, len, offset, FALSE, &ret))
    return ret;
  return real_rw.pread64 (fd, buf, len, offset);
}

ssize_t
__pread_chk (int fd, void *buf, size_t len, off_t offset, size_t buflen)
{
  if (len > buflen)
    abort ();
  return pread (fd, buf, len, offset);
}

ssize_t
__pread64_chk (int fd, void *buf, size_t len, off64_t offset, size_t buflen)
{
  if (len > buflen)
    abort ();
  return pread64 (fd, buf, len, offset);
}

ssize_t
pwrite (int fd, const void *buf, size_t len, off_t offset)
{
  ssize_t ret;

  pthread_once (&real_rw_once, resolve_real_rw);
  if (emulate_edid_rw (fd, (void *) buf, len, offset, TRUE, &ret))
    return ret;
  return real_rw.pwrite (fd, buf, len, offset);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t len, off64_t offset)
{
  ssize_t ret;

  pthread_once (&real_rw_once, resolve_real_rw);
  if (emulate_edid_rw (fd, (void *) buf, len, offset, TRUE, &ret))
    return ret;
  return real_rw.pwrite64 (fd, buf, len, offset);
}

static EmuEdid *
device_edid (VfioEmuDevice * dev)
{
  if (!dev->edid)
    g_critical ("vfioemu: mdev %s has no EDID region (VFIO_EMU_EDID)",
        dev->uuid);
  return dev->edid;
}

void
vfio_emu_set_edid_limits (VfioEmuDevice * dev, uint32_t max_xres,
    uint32_t max_yres, uint32_t edid_max_size)
{
  EmuEdid *edid;

  g_return_if_fail (dev != NULL);
  g_return_if_fail (edid_max_size <= EDID_MAX_SIZE);

  emu_lock ();
  edid = device_edid (dev);
  if (edid) {
    edid->regs.max_xres = max_xres;
    edid->regs.max_yres = max_yres;
    edid->regs.edid_max_size = edid_max_size;
    edid->regs.edid_size = MIN (edid->regs.edid_size, edid_max_size);
  }
  emu_unlock ();
}

GArray *
vfio_emu_take_edid_accesses (VfioEmuDevice * dev)
{
  GArray *taken = NULL;
  EmuEdid *edid;

  g_return_val_if_fail (dev != NULL, NULL);

  emu_lock ();
  edid = device_edid (dev);
  if (edid) {
    taken = edid->accesses;
    edid->accesses = g_array_new (FALSE, FALSE, sizeof (VfioEmuEdidAccess));
  }
  emu_unlock ();
  return taken;
}

GBytes *
vfio_emu_edid_shown (VfioEmuDevice * dev, uint32_t * link_state)
{
  GBytes *shown = NULL;
  EmuEdid *edid;

  g_return_val_if_fail (dev != NULL, NULL);

  emu_lock ();
  edid = device_edid (dev);
  if (edid && link_state)
    *link_state = edid->regs.link_state;
  if (edid && edid->regs.link_state == VFIO_DEVICE_GFX_LINK_STATE_UP)
    shown = g_bytes_new (edid->blob, edid->regs.edid_size);
  emu_unlock ();
  return shown;
}
