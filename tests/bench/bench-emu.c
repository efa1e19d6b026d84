/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-bench's devices: emulated mdevs (tests/emu), opened as a VMM would
 * open them, their device fds handed to the element through device-fd.
 * The emulator counts every ioctl per request.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "bench.h"
#include "vfioemu.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>

#define BENCH_GROUP_BASE 100

struct _BenchDevice
{
  VfioEmuDevice *emu;
  gint fd;
};

/* The VFIO requests other than the display ones. */
static const unsigned long other_requests[] = {
  VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
  VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_GET_DEVICE_FD,
  VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO,
};

const gchar *
bench_device_kind (void)
{
  return "emulated";
}

gboolean
bench_device_is_emulated (void)
{
  return TRUE;
}

BenchDevice *
bench_device_new (guint index, guint width, guint height)
{
  g_autofree gchar *uuid = g_strdup_printf ("6c8a1f0e-0000-4000-8000-%012x",
      index);
  BenchDevice *dev = g_new0 (BenchDevice, 1);

  dev->emu = vfio_emu_add_mdev (uuid, BENCH_GROUP_BASE + index,
      VFIO_EMU_DMABUF | VFIO_EMU_EDID);
  bench_device_set_mode (dev, width, height);
  dev->fd = vfio_emu_open_device_fd (dev->emu);
  if (dev->fd < 0) {
    g_printerr ("vfio-bench: cannot open emulated mdev %s: %s\n", uuid,
        g_strerror (errno));
    g_free (dev);
    return NULL;
  }
  return dev;
}

/* The emulator keeps its devices and fds until vfio_emu_reset(). */
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
  vfio_emu_set_double_export_fatal (FALSE);
}

guint64
bench_device_ioctl_count (BenchDevice * dev, BenchIoctl which)
{
  guint64 n = 0;

  switch (which) {
    case BENCH_IOCTL_QUERY_GFX_PLANE:
      return vfio_emu_ioctl_count (dev->emu, VFIO_DEVICE_QUERY_GFX_PLANE);
    case BENCH_IOCTL_GET_GFX_DMABUF:
      return vfio_emu_ioctl_count (dev->emu, VFIO_DEVICE_GET_GFX_DMABUF);
    case BENCH_IOCTL_DMABUF_SYNC:
      return vfio_emu_ioctl_count (dev->emu, DMA_BUF_IOCTL_SYNC);
    case BENCH_IOCTL_OTHER:
      for (guint i = 0; i < G_N_ELEMENTS (other_requests); i++)
        n += vfio_emu_ioctl_count (dev->emu, other_requests[i]);
      return n;
    case BENCH_N_IOCTLS:
      break;
  }
  g_return_val_if_reached (0);
}

void
bench_device_flip (BenchDevice * dev)
{
  vfio_emu_flip (dev->emu);
}

guint64
bench_device_last_flip_ns (BenchDevice * dev)
{
  return vfio_emu_last_flip_time (dev->emu);
}

void
bench_device_set_mode (BenchDevice * dev, guint width, guint height)
{
  vfio_emu_set_mode (dev->emu, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR,
      width, height, 0);
}
