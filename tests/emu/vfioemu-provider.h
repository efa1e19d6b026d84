/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device provider of emulated mdevs: it lists them as vfiogfxsrc's
 * provider lists real ones (a Video/Source device with vfio.uuid and, when
 * named, vfio.vm-name, whose element is vfiogfxsrc device=UUID), for
 * programs that find VMs with a GstDeviceMonitor (vfio-rtsp-server).
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Registers the provider "emumdev" (rank primary); FALSE on failure. */
gboolean vfio_emu_provider_register (void);

/* A device for the emulated mdev @uuid, of the VM @vm_name (nullable). */
GstDevice *vfio_emu_provider_device_new (const gchar * uuid,
    const gchar * vm_name);

/* The devices listed when the provider starts (a ref is taken on each);
 * NULL: none. */
void vfio_emu_provider_set_initial (GList * devices);

/* The provider; add and remove devices with
 * gst_device_provider_device_add() and _remove(). */
GstDeviceProvider *vfio_emu_provider_get (void);

G_END_DECLS
