/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioerror.h"

G_DEFINE_QUARK (gst-vfio-error-quark, gst_vfio_error);
