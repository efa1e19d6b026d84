/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:provider-vfiogfxdeviceprovider
 * @title: vfiogfxdeviceprovider
 *
 * Lists the VMs' displays: every VFIO mediated device (mdev) whose type
 * has a display, or may have one, as a `Video/Source` device whose element
 * is `vfiogfxsrc device=UUID`, and reports mdevs created and removed while
 * it runs (udev events of the subsystem `mdev`).
 *
 * Whether an mdev has a display is decided from sysfs without opening the
 * device, which a running VM holds: vfio-pci mdevs of Intel GVT-g, of the
 * kernel's mbochs and mdpy samples and NVIDIA's Q and B profiles are
 * listed with `vfio.display` "yes"; other vfio-pci mdevs are listed with
 * "unknown"; other device APIs (vfio-ccw, vfio-ap) and the mtty sample are
 * not listed.
 *
 * Each device carries these properties: `vfio.uuid`, `vfio.sysfs-path`,
 * `vfio.parent` (the parent device), `vfio.parent-driver`, `vfio.type`
 * (the type's sysfs name), `vfio.type-name`, `vfio.type-description`,
 * `vfio.device-api`, `vfio.iommu-group`, `vfio.display`, and, when a
 * process holds the mdev's VFIO group (a running VM), `vfio.holder-pid`,
 * `vfio.holder-command`, `vfio.holder-user`, `vfio.holder-displays` (the
 * VMM shows the display itself) and `vfio.vm-name` (QEMU's `-name`, the
 * libvirt domain). The holder is the one at the time the device was
 * listed: starting a VM sends no event.
 *
 * ## Example
 * |[
 * gst-device-monitor-1.0 Video/Source
 * ]|
 *
 * Since: 0.1
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiodeviceprovider.h"
#include "gstvfiogfxdevice.h"
#include "gstvfiomdevinfo.h"

#include <gst/vfio/vfio.h>
#include <gudev/gudev.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_device_provider_debug);
#define GST_CAT_DEFAULT gst_vfio_device_provider_debug

struct _GstVfioGfxDeviceProvider
{
  GstDeviceProvider parent;

  /* monitoring (start/stop), under the object lock */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  gboolean started;
  GCond started_cond;
};

G_DEFINE_TYPE (GstVfioGfxDeviceProvider, gst_vfio_gfx_device_provider,
    GST_TYPE_DEVICE_PROVIDER);
GST_DEVICE_PROVIDER_REGISTER_DEFINE (vfiogfxdeviceprovider,
    "vfiogfxdeviceprovider", GST_RANK_MARGINAL,
    GST_TYPE_VFIO_GFX_DEVICE_PROVIDER);

static const gchar *const mdev_subsystems[] = { "mdev", NULL };

/* The caps of vfiogfxsrc's source pad: what a device gives depends on the
 * guest's mode, unknown until it is captured. */
static GstCaps *
source_caps (void)
{
  GstElementFactory *factory = gst_element_factory_find ("vfiogfxsrc");
  GstCaps *caps = NULL;

  if (factory) {
    const GList *l = gst_element_factory_get_static_pad_templates (factory);

    for (; l && !caps; l = l->next) {
      GstStaticPadTemplate *templ = l->data;

      if (templ->direction == GST_PAD_SRC)
        caps = gst_static_pad_template_get_caps (templ);
    }
    gst_object_unref (factory);
  }
  return caps ? caps : gst_caps_new_any ();
}

static void
set_holder_properties (GstStructure * props, const GstVfioMdevInfo * info,
    gchar ** vm_name)
{
  g_autoptr (GstVfioHolder) holder = NULL;
  g_autoptr (GError) error = NULL;

  if (info->iommu_group < 0)
    return;
  holder = gst_vfio_holder_find (info->iommu_group, info->uuid, 0, &error);
  if (!holder) {
    GST_DEBUG ("%s: no holder: %s", info->uuid, error->message);
    return;
  }
  gst_structure_set (props, "vfio.holder-pid", G_TYPE_INT, holder->pid,
      "vfio.holder-command", G_TYPE_STRING, holder->command,
      "vfio.holder-user", G_TYPE_STRING, holder->user,
      "vfio.holder-displays", G_TYPE_BOOLEAN, holder->displays, NULL);
  if (holder->vm_name) {
    gst_structure_set (props, "vfio.vm-name", G_TYPE_STRING, holder->vm_name,
        NULL);
    *vm_name = g_strdup (holder->vm_name);
  }
}

static GstStructure *
mdev_properties (const GstVfioMdevInfo * info, gchar ** vm_name)
{
  GstStructure *props = gst_structure_new ("vfio-device",
      "device.api", G_TYPE_STRING, "vfio",
      "device.path", G_TYPE_STRING, info->sysfs_path,
      "vfio.uuid", G_TYPE_STRING, info->uuid,
      "vfio.sysfs-path", G_TYPE_STRING, info->sysfs_path,
      "vfio.parent", G_TYPE_STRING, info->parent,
      "vfio.type", G_TYPE_STRING, info->type,
      "vfio.type-name", G_TYPE_STRING, info->type_name,
      "vfio.display", G_TYPE_STRING,
      gst_vfio_mdev_display_to_string (info->display), NULL);

  if (info->parent_driver)
    gst_structure_set (props, "vfio.parent-driver", G_TYPE_STRING,
        info->parent_driver, NULL);
  if (info->type_description)
    gst_structure_set (props, "vfio.type-description", G_TYPE_STRING,
        info->type_description, NULL);
  if (info->device_api)
    gst_structure_set (props, "vfio.device-api", G_TYPE_STRING,
        info->device_api, NULL);
  if (info->iommu_group >= 0)
    gst_structure_set (props, "vfio.iommu-group", G_TYPE_INT,
        info->iommu_group, NULL);
  set_holder_properties (props, info, vm_name);
  return props;
}

/* The device for the mdev @info describes, NULL when it has no display. */
static GstDevice *
device_from_info (const GstVfioMdevInfo * info)
{
  g_autofree gchar *vm_name = NULL;
  g_autofree gchar *display_name = NULL;
  g_autoptr (GstCaps) caps = NULL;
  GstStructure *props;

  if (info->display == GST_VFIO_MDEV_DISPLAY_NONE) {
    GST_DEBUG ("%s: type %s (device API %s, parent driver %s) has no "
        "display", info->uuid, info->type, GST_STR_NULL (info->device_api),
        GST_STR_NULL (info->parent_driver));
    return NULL;
  }
  props = mdev_properties (info, &vm_name);
  display_name = vm_name ? g_strdup (vm_name) :
      g_strdup_printf ("%s %s", info->type_name, info->uuid);
  caps = source_caps ();
  GST_INFO ("%s: %s, type %s, display %s", info->uuid, display_name,
      info->type, gst_vfio_mdev_display_to_string (info->display));
  return gst_vfio_gfx_device_new (info->uuid, info->sysfs_path, display_name,
      caps, props);
}

static GstDevice *
device_from_sysfs (const gchar * sysfs_path)
{
  g_autoptr (GstVfioMdevInfo) info = gst_vfio_mdev_info_read (sysfs_path);

  if (!info) {
    GST_DEBUG ("%s is not an mdev (no mdev_type)", sysfs_path);
    return NULL;
  }
  return device_from_info (info);
}

static GList *
list_devices (GUdevClient * client)
{
  GList *udev_devices = g_udev_client_query_by_subsystem (client, "mdev");
  GList *devices = NULL;

  for (GList * l = udev_devices; l; l = l->next) {
    GstDevice *device =
        device_from_sysfs (g_udev_device_get_sysfs_path (l->data));

    if (device)
      devices = g_list_prepend (devices, gst_object_ref_sink (device));
  }
  g_list_free_full (udev_devices, g_object_unref);
  return g_list_reverse (devices);
}

static GList *
gst_vfio_gfx_device_provider_probe (GstDeviceProvider * provider)
{
  /* NULL subsystems: a client that listens to no events. */
  g_autoptr (GUdevClient) client = g_udev_client_new (NULL);

  return list_devices (client);
}

/* ---- monitoring ---- */

static GstDevice *
find_device (GstDeviceProvider * provider, const gchar * sysfs_path)
{
  GstDevice *found = NULL;

  GST_OBJECT_LOCK (provider);
  for (GList * l = provider->devices; l && !found; l = l->next) {
    if (g_strcmp0 (gst_vfio_gfx_device_get_sysfs_path (l->data),
            sysfs_path) == 0)
      found = gst_object_ref (l->data);
  }
  GST_OBJECT_UNLOCK (provider);
  return found;
}

/* The kernel adds an mdev's mdev_type and iommu_group links just after
 * it announces the device: an mdev that is not complete yet is read again
 * a little later. */
#define ADD_RETRIES 20
#define ADD_RETRY_MS 50

typedef struct
{
  GstDeviceProvider *provider;
  gchar *sysfs_path;
  guint tries;
} PendingAdd;

static void
pending_add_free (gpointer data)
{
  PendingAdd *pending = data;

  gst_object_unref (pending->provider);
  g_free (pending->sysfs_path);
  g_free (pending);
}

static gboolean
try_add (gpointer data)
{
  PendingAdd *pending = data;
  g_autoptr (GstDevice) known = find_device (pending->provider,
      pending->sysfs_path);
  g_autoptr (GstVfioMdevInfo) info = NULL;
  GstDevice *device;

  if (known)
    return G_SOURCE_REMOVE;
  info = gst_vfio_mdev_info_read (pending->sysfs_path);
  if (!info || info->iommu_group < 0) {
    /* not complete yet, or removed meanwhile */
    if (!g_file_test (pending->sysfs_path, G_FILE_TEST_IS_DIR))
      return G_SOURCE_REMOVE;
    if (++pending->tries < ADD_RETRIES)
      return G_SOURCE_CONTINUE;
    if (!info)
      return G_SOURCE_REMOVE;
  }
  device = device_from_info (info);
  if (device)
    gst_device_provider_device_add (pending->provider, device);
  return G_SOURCE_REMOVE;
}

static void
add_when_complete (GstDeviceProvider * provider, const gchar * sysfs_path)
{
  PendingAdd *pending = g_new0 (PendingAdd, 1);
  GSource *source;

  pending->provider = gst_object_ref (provider);
  pending->sysfs_path = g_strdup (sysfs_path);
  if (try_add (pending) == G_SOURCE_REMOVE) {
    pending_add_free (pending);
    return;
  }
  source = g_timeout_source_new (ADD_RETRY_MS);
  g_source_set_callback (source, try_add, pending, pending_add_free);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static void
on_uevent (GUdevClient * client, const gchar * action,
    GUdevDevice * udev_device, GstDeviceProvider * provider)
{
  const gchar *sysfs_path = g_udev_device_get_sysfs_path (udev_device);
  GstDevice *device;

  GST_DEBUG_OBJECT (provider, "%s %s", action, sysfs_path);
  if (g_str_equal (action, "add") || g_str_equal (action, "bind")) {
    add_when_complete (provider, sysfs_path);
  } else if (g_str_equal (action, "remove")) {
    device = find_device (provider, sysfs_path);
    if (device) {
      gst_device_provider_device_remove (provider, device);
      gst_object_unref (device);
    }
  }
}

/* Runs the context whose GUdevClient delivers the uevents, after listing
 * what exists. */
static gpointer
monitor_thread (gpointer data)
{
  GstVfioGfxDeviceProvider *self = data;
  GstDeviceProvider *provider = GST_DEVICE_PROVIDER (self);
  g_autoptr (GUdevClient) client = NULL;
  GList *devices;

  g_main_context_push_thread_default (self->context);
  client = g_udev_client_new (mdev_subsystems);
  g_signal_connect (client, "uevent", G_CALLBACK (on_uevent), self);

  devices = list_devices (client);
  for (GList * l = devices; l; l = l->next)
    gst_device_provider_device_add (provider, l->data);
  g_list_free_full (devices, gst_object_unref);

  GST_OBJECT_LOCK (self);
  self->started = TRUE;
  g_cond_broadcast (&self->started_cond);
  GST_OBJECT_UNLOCK (self);

  g_main_loop_run (self->loop);
  g_signal_handlers_disconnect_by_data (client, self);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static gboolean
gst_vfio_gfx_device_provider_start (GstDeviceProvider * provider)
{
  GstVfioGfxDeviceProvider *self = GST_VFIO_GFX_DEVICE_PROVIDER (provider);

  GST_OBJECT_LOCK (self);
  g_assert (self->thread == NULL);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->started = FALSE;
  self->thread = g_thread_new ("vfio-device-provider", monitor_thread, self);
  while (!self->started)
    g_cond_wait (&self->started_cond, GST_OBJECT_GET_LOCK (self));
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
gst_vfio_gfx_device_provider_stop (GstDeviceProvider * provider)
{
  GstVfioGfxDeviceProvider *self = GST_VFIO_GFX_DEVICE_PROVIDER (provider);
  GThread *thread;

  GST_OBJECT_LOCK (self);
  thread = g_steal_pointer (&self->thread);
  GST_OBJECT_UNLOCK (self);
  if (!thread)
    return;

  g_main_context_invoke (self->context, quit_loop, self->loop);
  g_thread_join (thread);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

static void
gst_vfio_gfx_device_provider_finalize (GObject * object)
{
  GstVfioGfxDeviceProvider *self = GST_VFIO_GFX_DEVICE_PROVIDER (object);

  g_cond_clear (&self->started_cond);
  G_OBJECT_CLASS (gst_vfio_gfx_device_provider_parent_class)->finalize (object);
}

static void
gst_vfio_gfx_device_provider_class_init (GstVfioGfxDeviceProviderClass * klass)
{
  GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS (klass);
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_device_provider_debug,
      "vfiodeviceprovider", 0, "Listing the VMs' VFIO displays");

  provider_class->probe = gst_vfio_gfx_device_provider_probe;
  provider_class->start = gst_vfio_gfx_device_provider_start;
  provider_class->stop = gst_vfio_gfx_device_provider_stop;
  object_class->finalize = gst_vfio_gfx_device_provider_finalize;

  gst_device_provider_class_set_static_metadata (provider_class,
      "VFIO display device provider", "Source/Video",
      "Lists the displays of VMs' mediated vGPUs (VFIO mdevs) and their "
      "holders", "vfiogfxsrc developers");
}

static void
gst_vfio_gfx_device_provider_init (GstVfioGfxDeviceProvider * self)
{
  g_cond_init (&self->started_cond);
}
