/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-bench-dev's device: a real VFIO device fd inherited in
 * $VFIO_DEVICE_FD (tests/vm/guest run hands one over). Nothing here counts
 * ioctls: the element's stats and strace -c do.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"

#include <stdlib.h>

struct _BenchDevice
{
  gint fd;
};

const gchar *
bench_device_kind (void)
{
  return "kernel";
}

gboolean
bench_device_is_emulated (void)
{
  return FALSE;
}

BenchDevice *
bench_device_new (guint index, guint width, guint height)
{
  const gchar *env = g_getenv ("VFIO_DEVICE_FD");
  BenchDevice *dev;
  gchar *end = NULL;
  gint64 fd;

  if (index > 0) {
    g_printerr ("vfio-bench-dev: one device only ($VFIO_DEVICE_FD)\n");
    return NULL;
  }
  fd = env ? g_ascii_strtoll (env, &end, 10) : -1;
  if (!env || *end || fd < 0 || fd > G_MAXINT) {
    g_printerr ("vfio-bench-dev: set VFIO_DEVICE_FD to an open VFIO device "
        "fd (tests/vm/guest run hands one over)\n");
    return NULL;
  }
  dev = g_new0 (BenchDevice, 1);
  dev->fd = fd;
  return dev;
}

void
bench_device_free (BenchDevice * dev)
{
  g_free (dev);
}

gint
bench_device_fd (BenchDevice * dev)
{
  return dev->fd;
}

void
bench_device_allow_reexport (BenchDevice * dev)
{
}

guint64
bench_device_ioctl_count (BenchDevice * dev, BenchIoctl which)
{
  return 0;
}

void
bench_device_flip (BenchDevice * dev)
{
  g_return_if_reached ();
}

guint64
bench_device_last_flip_ns (BenchDevice * dev)
{
  g_return_val_if_reached (0);
}

void
bench_device_set_mode (BenchDevice * dev, guint width, guint height)
{
  g_return_if_reached ();
}
