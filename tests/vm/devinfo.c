/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devinfo: what the gstvfio library finds on a device, for the VM tests.
 *
 *   devinfo [FD]     the device fd (default: $VFIO_DEVICE_FD, as guest's
 *                    'run' hands it over)
 *
 * Prints the EDID region through gst_vfio_device_get_edid_info():
 *   devinfo: edid region=N max=WxH link_state=S edid_size=N edid_max_size=N
 * or
 *   devinfo: edid none (MESSAGE)
 * and, with raw ioctls, the interrupts the device offers (the VFIO request
 * IRQ is how a driver asks a user to let go of a device being removed):
 *   devinfo: irqs N
 *   devinfo: irq INDEX (NAME): count=N flags=0xF | error
 *   devinfo: set_irqs req: OK | error
 * Exit status: 0, or 1 when the device cannot be adopted.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/vfio/vfio.h>

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static const char *const irq_names[] = {
  [VFIO_PCI_INTX_IRQ_INDEX] = "intx",
  [VFIO_PCI_MSI_IRQ_INDEX] = "msi",
  [VFIO_PCI_MSIX_IRQ_INDEX] = "msix",
  [VFIO_PCI_ERR_IRQ_INDEX] = "err",
  [VFIO_PCI_REQ_IRQ_INDEX] = "req",
};

static void
print_edid (GstVfioDevice * device)
{
  GstVfioEdidInfo edid;
  GError *error = NULL;

  if (!gst_vfio_device_get_edid_info (device, &edid, &error)) {
    printf ("devinfo: edid none (%s)\n", error->message);
    g_clear_error (&error);
    return;
  }
  printf ("devinfo: edid region=%u max=%ux%u link_state=%u edid_size=%u "
      "edid_max_size=%u\n", edid.region.index, edid.max_xres, edid.max_yres,
      edid.link_state, edid.edid_size, edid.edid_max_size);
}

/* What a user of the request IRQ would do: ask for its info, then try to
 * attach nothing (DATA_NONE, count 0 only checks that the index exists). */
static void
print_irqs (int fd)
{
  struct vfio_device_info info = {.argsz = sizeof info };
  struct vfio_irq_set set = {.argsz = sizeof set };
  guint i;

  if (ioctl (fd, VFIO_DEVICE_GET_INFO, &info) < 0) {
    printf ("devinfo: irqs: GET_INFO failed: %s\n", g_strerror (errno));
    return;
  }
  printf ("devinfo: irqs %u\n", info.num_irqs);
  for (i = 0; i < info.num_irqs; i++) {
    struct vfio_irq_info irq = {.argsz = sizeof irq,.index = i };

    if (ioctl (fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0)
      printf ("devinfo: irq %u (%s): %s\n", i,
          i < G_N_ELEMENTS (irq_names) ? irq_names[i] : "?",
          g_strerror (errno));
    else
      printf ("devinfo: irq %u (%s): count=%u flags=0x%x\n", i,
          i < G_N_ELEMENTS (irq_names) ? irq_names[i] : "?", irq.count,
          irq.flags);
  }
  set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  set.index = VFIO_PCI_REQ_IRQ_INDEX;
  set.count = 0;
  if (ioctl (fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
    printf ("devinfo: set_irqs req: %s\n", g_strerror (errno));
  else
    printf ("devinfo: set_irqs req: OK\n");
}

int
main (int argc, char **argv)
{
  const char *fd_text = argc > 1 ? argv[1] : g_getenv ("VFIO_DEVICE_FD");
  GstVfioDevice *device;
  GError *error = NULL;
  int fd;

  gst_init (&argc, &argv);
  if (!fd_text) {
    fprintf (stderr, "usage: devinfo [FD] (or set VFIO_DEVICE_FD)\n");
    return 2;
  }
  fd = atoi (fd_text);
  device = gst_vfio_device_new_from_fd (fd, &error);
  if (!device) {
    printf ("devinfo: error: %s\n", error->message);
    g_clear_error (&error);
    return 1;
  }
  printf ("devinfo: %s\n", gst_vfio_device_get_description (device));
  print_edid (device);
  print_irqs (fd);
  gst_object_unref (device);
  return 0;
}
