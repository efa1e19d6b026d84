/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>
#include <gst/vfio/gstvfioerror.h>
#include <gst/vfio/gstvfioplane.h>
#include <gst/vfio/gstvfioformat.h>
#include <gst/vfio/gstvfiodevice.h>
#include <gst/vfio/gstvfiodmabufcache.h>
#include <gst/vfio/gstvfioregion.h>
#include <gst/vfio/gstvfioholder.h>
#include <gst/vfio/gstvfioedid.h>
#include <gst/vfio/gstvfioedidwriter.h>
