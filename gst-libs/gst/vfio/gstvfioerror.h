/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>

G_BEGIN_DECLS

#define GST_VFIO_ERROR (gst_vfio_error_quark ())

/**
 * GstVfioError:
 * @GST_VFIO_ERROR_FAILED: an unexpected failure; the message carries errno
 * @GST_VFIO_ERROR_NOT_FOUND: no such mdev, group or device node
 * @GST_VFIO_ERROR_PERMISSION: the user may not open the VFIO group
 * @GST_VFIO_ERROR_BUSY: the VFIO group is already open elsewhere (a VM)
 * @GST_VFIO_ERROR_NOT_SUPPORTED: the device or kernel lacks the feature
 * @GST_VFIO_ERROR_DEVICE_GONE: the device was removed (ENODEV)
 * @GST_VFIO_ERROR_INVALID_ARGUMENT: the configuration names no usable
 *   VFIO device (not an mdev, not a VFIO device fd)
 * @GST_VFIO_ERROR_TRANSIENT: a failure worth retrying on the next tick
 * @GST_VFIO_ERROR_REJECTED: a guest-supplied plane failed validation
 */
typedef enum
{
  GST_VFIO_ERROR_FAILED,
  GST_VFIO_ERROR_NOT_FOUND,
  GST_VFIO_ERROR_PERMISSION,
  GST_VFIO_ERROR_BUSY,
  GST_VFIO_ERROR_NOT_SUPPORTED,
  GST_VFIO_ERROR_DEVICE_GONE,
  GST_VFIO_ERROR_INVALID_ARGUMENT,
  GST_VFIO_ERROR_TRANSIENT,
  GST_VFIO_ERROR_REJECTED,
} GstVfioError;

GST_VFIO_API
GQuark gst_vfio_error_quark (void);

G_END_DECLS
