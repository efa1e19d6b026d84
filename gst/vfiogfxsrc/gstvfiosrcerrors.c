/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error messages of vfiogfxsrc: each says what went wrong and what to
 * do; the debug text carries the library's error domain and code.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiosrcerrors.h"

/* Posts @error from the gstvfio library as an element error. */
void
gst_vfio_src_post_error (GstElement * element, const GError * error)
{
  GQuark domain = GST_RESOURCE_ERROR;
  gint code;

  switch (error->code) {
    case GST_VFIO_ERROR_NOT_FOUND:
    case GST_VFIO_ERROR_DEVICE_GONE:
      code = GST_RESOURCE_ERROR_NOT_FOUND;
      break;
    case GST_VFIO_ERROR_PERMISSION:
      code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
      break;
    case GST_VFIO_ERROR_BUSY:
      code = GST_RESOURCE_ERROR_BUSY;
      break;
    case GST_VFIO_ERROR_NOT_SUPPORTED:
    case GST_VFIO_ERROR_INVALID_ARGUMENT:
      code = GST_RESOURCE_ERROR_SETTINGS;
      break;
    default:
      code = GST_RESOURCE_ERROR_FAILED;
      break;
  }
  gst_element_message_full (element, GST_MESSAGE_ERROR, domain, code,
      g_strdup (error->message), g_strdup_printf ("%s (code %d)",
          g_quark_to_string (error->domain), error->code), __FILE__,
      GST_FUNCTION, __LINE__);
}

void
gst_vfio_src_post_not_negotiated (GstElement * element,
    const GstVfioPlane * plane, GstCaps * offered)
{
  g_autofree gchar *offered_str = offered ? gst_caps_to_string (offered) :
      g_strdup ("nothing");
  gboolean linear = plane->modifier == 0;

  GST_ELEMENT_ERROR (element, CORE, NEGOTIATION,
      ("Downstream accepts none of the formats of the guest framebuffer "
          "(%" GST_FOURCC_FORMAT ", %ux%u, %s). %s",
          GST_FOURCC_ARGS (plane->fourcc), plane->width, plane->height,
          linear ? "linear" : "tiled",
          linear ? "Add videoconvert, or a DMABuf importer such as "
          "vapostproc or glupload." : "A tiled framebuffer needs a DMABuf "
          "importer: add vapostproc (or glupload ! gldownload) in front."),
      ("offered %s", offered_str));
}

void
gst_vfio_src_post_unmappable (GstElement * element)
{
  GST_ELEMENT_ERROR (element, STREAM, FORMAT,
      ("The guest framebuffer cannot be mapped by the CPU, and downstream "
          "accepts only system memory. Put an element that imports DMABuf "
          "in front, such as vapostproc or glupload ! gldownload."),
      ("mmap() of the dma-buf failed: the exporter refuses CPU mappings or "
          "the plane is not a whole number of pages"));
}
