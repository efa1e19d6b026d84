/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device asking to be released: VFIO signals the request IRQ
 * (VFIO_PCI_REQ_IRQ_INDEX) when its driver wants to remove the device and
 * waits until every fd is closed. Only devices whose driver offers it send
 * one: vfio-pci does, and vendor drivers with a request op; the kernel's
 * mbochs and mdpy samples and GVT-g (6.12) offer none, and removing such an
 * mdev simply blocks until the fds close.
 *
 * Only a device this process opened itself registers the IRQ: on a fd
 * adopted from a VMM it would take the VMM's own eventfd away.
 *
 * A thread sleeps in poll() on the eventfd (gstvfiofdwatch.c), so
 * streaming pays nothing per frame: it reads one flag.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioremoval.h"
#include "gstvfiofdwatch.h"

#include <errno.h>
#include <gst/gst.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_removal_debug);
#define GST_CAT_DEFAULT gst_vfio_removal_debug

struct _GstVfioRemovalWatch
{
  gint device_fd;               /* not owned */
  gint request_fd;              /* the eventfd VFIO signals */
  GstVfioFdWatch *watch;
};

static gboolean
request_irq_offered (gint device_fd)
{
  struct vfio_irq_info info = {.argsz = sizeof (info),
    .index = VFIO_PCI_REQ_IRQ_INDEX
  };

  if (ioctl (device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0) {
    GST_DEBUG ("no request IRQ: %s", g_strerror (errno));
    return FALSE;
  }
  GST_DEBUG ("request IRQ: count %u, flags 0x%x", info.count, info.flags);
  return info.count > 0 && (info.flags & VFIO_IRQ_INFO_EVENTFD);
}

/* Sets (@fd >= 0) or clears (-1) the eventfd of the request IRQ. */
static gboolean
set_request_trigger (gint device_fd, gint fd)
{
  gsize size = sizeof (struct vfio_irq_set) + sizeof (gint32);
  g_autofree struct vfio_irq_set *set = g_malloc0 (size);
  gint32 efd = fd;

  set->argsz = size;
  set->index = VFIO_PCI_REQ_IRQ_INDEX;
  set->start = 0;
  if (fd >= 0) {
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->count = 1;
    memcpy (set->data, &efd, sizeof (efd));
  } else {
    set->argsz = sizeof (*set);
    set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->count = 0;
  }
  if (ioctl (device_fd, VFIO_DEVICE_SET_IRQS, set) < 0) {
    GST_WARNING ("could not %s the request IRQ: %s", fd >= 0 ? "set" :
        "clear", g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/**
 * gst_vfio_removal_watch_new:
 * @device_fd: a device fd this process opened itself
 * @func: (nullable): run on the watch's thread when the request comes
 *
 * Returns: (nullable): a watch, or %NULL when the device has no request IRQ
 */
GstVfioRemovalWatch *
gst_vfio_removal_watch_new (gint device_fd, GstVfioFdWatchFunc func,
    gpointer data)
{
  GstVfioRemovalWatch *watch;

  GST_DEBUG_CATEGORY_INIT (gst_vfio_removal_debug, "vfioremoval", 0,
      "VFIO device release requests");

  if (!request_irq_offered (device_fd))
    return NULL;

  watch = g_new0 (GstVfioRemovalWatch, 1);
  watch->device_fd = device_fd;
  watch->request_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (watch->request_fd < 0
      || !set_request_trigger (device_fd, watch->request_fd)) {
    if (watch->request_fd >= 0)
      close (watch->request_fd);
    g_free (watch);
    return NULL;
  }
  watch->watch = gst_vfio_fd_watch_new (watch->request_fd, "vfio-request",
      func, data);
  return watch;
}

gboolean
gst_vfio_removal_watch_requested (GstVfioRemovalWatch * watch)
{
  return watch && gst_vfio_fd_watch_fired (watch->watch);
}

/* Before the device fd is closed. */
void
gst_vfio_removal_watch_free (GstVfioRemovalWatch * watch)
{
  if (!watch)
    return;
  gst_vfio_fd_watch_free (watch->watch);
  set_request_trigger (watch->device_fd, -1);
  close (watch->request_fd);
  g_free (watch);
}
