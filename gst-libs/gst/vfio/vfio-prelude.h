/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#ifndef GST_VFIO_API
# ifdef BUILDING_GST_VFIO
#  define GST_VFIO_API GST_API_EXPORT
# else
#  define GST_VFIO_API GST_API_IMPORT
# endif
#endif
