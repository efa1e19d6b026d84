/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiogfxsrc.h"
#ifdef HAVE_GUDEV
#include "gstvfiodeviceprovider.h"
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = GST_ELEMENT_REGISTER (vfiogfxsrc, plugin);

#ifdef HAVE_GUDEV
  ok &= GST_DEVICE_PROVIDER_REGISTER (vfiogfxdeviceprovider, plugin);
#endif
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vfiogfxsrc,
    "Capture of VFIO mediated device displays (mbochs, mdpy, GVT-g, vGPU)",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
