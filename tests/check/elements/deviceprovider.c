/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device provider on a fake sysfs: umockdev's testbed holds mdevs of
 * several kinds (their mdev_type directories, parents and iommu_group
 * links) and sends their uevents; the test runs with umockdev's preload
 * library (LD_PRELOAD, set by meson), which shows the testbed as /sys.
 * Holders need a real VFIO group: tests/vm/t-monitor.sh checks them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <umockdev.h>

#define MBOCHS_UUID "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"
#define GVT_UUID "a297db4a-f4c2-11e6-90f6-d3b88d6c9525"
#define NVIDIA_Q_UUID "11111111-2222-4333-8444-555555555555"
#define NVIDIA_C_UUID "22222222-2222-4333-8444-555555555555"
#define OTHER_UUID "33333333-2222-4333-8444-555555555555"
#define MTTY_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define CCW_UUID "44444444-2222-4333-8444-555555555555"
#define LATE_UUID "55555555-2222-4333-8444-555555555555"

static UMockdevTestbed *testbed;

/* An mdev type directory of @parent with its attributes. */
static void
add_type (const gchar * parent, const gchar * type, const gchar * name,
    const gchar * description, const gchar * device_api)
{
  g_autofree gchar *root = umockdev_testbed_get_root_dir (testbed);
  g_autofree gchar *dir = g_build_filename (root, parent,
      "mdev_supported_types", type, NULL);
  g_autofree gchar *attr = g_build_filename ("mdev_supported_types", type,
      NULL);
  g_autofree gchar *name_attr = g_build_filename (attr, "name", NULL);
  g_autofree gchar *api_attr = g_build_filename (attr, "device_api", NULL);
  g_autofree gchar *count_attr = g_build_filename (attr,
      "available_instances", NULL);

  fail_unless (g_mkdir_with_parents (dir, 0755) == 0);
  if (name)
    umockdev_testbed_set_attribute (testbed, parent, name_attr, name);
  umockdev_testbed_set_attribute (testbed, parent, api_attr, device_api);
  umockdev_testbed_set_attribute (testbed, parent, count_attr, "1");
  if (description) {
    g_autofree gchar *desc_attr = g_build_filename (attr, "description",
        NULL);
    umockdev_testbed_set_attribute (testbed, parent, desc_attr, description);
  }
}

/* A parent device: a class device like the kernel samples (@driver NULL)
 * or a PCI device bound to @driver. */
static gchar *
add_parent (const gchar * subsystem, const gchar * name, const gchar * driver)
{
  gchar *path = umockdev_testbed_add_device (testbed, subsystem, name, NULL,
      NULL, NULL);

  fail_unless (path != NULL);
  if (driver) {
    g_autofree gchar *link = g_strconcat ("../../bus/pci/drivers/", driver,
        NULL);
    umockdev_testbed_set_attribute_link (testbed, path, "driver", link);
  }
  return path;
}

/* The mdev's links: to its type and IOMMU group. */
static void
link_mdev (const gchar * path, const gchar * type, gint group)
{
  g_autofree gchar *type_link = g_strconcat ("../mdev_supported_types/",
      type, NULL);
  g_autofree gchar *group_link =
      g_strdup_printf ("../../../kernel/iommu_groups/%d", group);

  umockdev_testbed_set_attribute_link (testbed, path, "mdev_type", type_link);
  umockdev_testbed_set_attribute_link (testbed, path, "iommu_group",
      group_link);
}

static gchar *
add_mdev (const gchar * parent, const gchar * uuid, const gchar * type,
    gint group)
{
  gchar *path = umockdev_testbed_add_device (testbed, "mdev", uuid, parent,
      NULL, NULL);

  fail_unless (path != NULL);
  link_mdev (path, type, group);
  return path;
}

/* The machine: what each kind of vfio-pci and other mdev looks like. */
static void
setup (void)
{
  g_autofree gchar *mbochs = NULL, *gpu = NULL, *nvidia = NULL;
  g_autofree gchar *acme = NULL, *mtty = NULL, *ccw = NULL;

  testbed = umockdev_testbed_new ();
  fail_unless (umockdev_in_mock_environment (),
      "not under umockdev's preload library (LD_PRELOAD)");

  mbochs = add_parent ("mbochs", "mbochs", NULL);
  add_type (mbochs, "mbochs-medium", "mbochs-medium",
      "virtual display, 16 MB video memory", "vfio-pci");
  g_free (add_mdev (mbochs, MBOCHS_UUID, "mbochs-medium", 12));

  gpu = add_parent ("pci", "0000:00:02.0", "i915");
  add_type (gpu, "i915-GVTg_V5_4", "GVTg_V5_4", "low_gm_size: 128MB\n"
      "high_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4",
      "vfio-pci");
  g_free (add_mdev (gpu, GVT_UUID, "i915-GVTg_V5_4", 3));

  nvidia = add_parent ("pci", "0000:41:00.0", "nvidia");
  add_type (nvidia, "nvidia-222", "GRID T4-2Q", "num_heads=4, "
      "frl_config=60, framebuffer=2048M, max_resolution=5120x2880", "vfio-pci");
  add_type (nvidia, "nvidia-230", "GRID T4-4C", "num_heads=1, "
      "frl_config=60, framebuffer=4096M, max_resolution=4096x2160", "vfio-pci");
  g_free (add_mdev (nvidia, NVIDIA_Q_UUID, "nvidia-222", 40));
  g_free (add_mdev (nvidia, NVIDIA_C_UUID, "nvidia-230", 41));

  /* a vfio-pci mdev of a driver the provider does not know; no name */
  acme = add_parent ("pci", "0000:05:00.0", "acme");
  add_type (acme, "acme-1", NULL, NULL, "vfio-pci");
  g_free (add_mdev (acme, OTHER_UUID, "acme-1", 50));

  /* no display: the mtty sample (a serial port), a vfio-ccw mdev */
  mtty = add_parent ("mtty", "mtty", NULL);
  add_type (mtty, "mtty-2", "Dual-port-serial", NULL, "vfio-pci");
  g_free (add_mdev (mtty, MTTY_UUID, "mtty-2", 13));
  ccw = add_parent ("css", "0.0.0013", "vfio_ccw");
  add_type (ccw, "vfio_ccw-io", "I/O subchannel (Non-QDIO)", NULL, "vfio-ccw");
  g_free (add_mdev (ccw, CCW_UUID, "vfio_ccw-io", 14));
}

static void
teardown (void)
{
  g_clear_object (&testbed);
}

static GstDevice *
find_uuid (GList * devices, const gchar * uuid)
{
  for (GList * l = devices; l; l = l->next) {
    GstStructure *props = gst_device_get_properties (l->data);
    gboolean match = props &&
        g_strcmp0 (gst_structure_get_string (props, "vfio.uuid"), uuid) == 0;

    if (props)
      gst_structure_free (props);
    if (match)
      return l->data;
  }
  return NULL;
}

static GstStructure *
properties_of (GList * devices, const gchar * uuid)
{
  GstDevice *device = find_uuid (devices, uuid);

  fail_unless (device != NULL, "%s is not listed", uuid);
  return gst_device_get_properties (device);
}

static void
assert_property (const GstStructure * props, const gchar * name,
    const gchar * expected)
{
  const gchar *value = gst_structure_get_string (props, name);

  fail_unless (value != NULL, "no %s in %" GST_PTR_FORMAT, name, props);
  fail_unless_equals_string (value, expected);
}

static GstDeviceProvider *
get_provider (void)
{
  GstDeviceProvider *provider =
      gst_device_provider_factory_get_by_name ("vfiogfxdeviceprovider");

  fail_unless (provider != NULL, "no vfiogfxdeviceprovider in the registry");
  return provider;
}

GST_START_TEST (test_probe_lists_displays)
{
  GstDeviceProvider *provider = get_provider ();
  GList *devices = gst_device_provider_get_devices (provider);
  GstStructure *props;
  gchar *name;
  gint group;

  /* display: mbochs, GVT-g, NVIDIA Q; unknown: NVIDIA C, acme */
  fail_unless_equals_int (g_list_length (devices), 5);
  fail_if (find_uuid (devices, MTTY_UUID), "the mtty mdev is listed");
  fail_if (find_uuid (devices, CCW_UUID), "the vfio-ccw mdev is listed");

  props = properties_of (devices, MBOCHS_UUID);
  assert_property (props, "device.api", "vfio");
  assert_property (props, "vfio.sysfs-path", "/sys/devices/mbochs/"
      MBOCHS_UUID);
  assert_property (props, "vfio.parent", "mbochs");
  assert_property (props, "vfio.parent-driver", "mbochs");
  assert_property (props, "vfio.type", "mbochs-medium");
  assert_property (props, "vfio.type-name", "mbochs-medium");
  assert_property (props, "vfio.type-description",
      "virtual display, 16 MB video memory");
  assert_property (props, "vfio.device-api", "vfio-pci");
  assert_property (props, "vfio.display", "yes");
  fail_unless (gst_structure_get_int (props, "vfio.iommu-group", &group));
  fail_unless_equals_int (group, 12);
  /* No process holds it: nothing says one does. */
  fail_if (gst_structure_has_field (props, "vfio.holder-pid"));
  fail_if (gst_structure_has_field (props, "vfio.vm-name"));
  gst_structure_free (props);
  name = gst_device_get_display_name (find_uuid (devices, MBOCHS_UUID));
  fail_unless_equals_string (name, "mbochs-medium " MBOCHS_UUID);
  g_free (name);
  fail_unless (gst_device_has_classes (find_uuid (devices, MBOCHS_UUID),
          "Video/Source"));

  props = properties_of (devices, GVT_UUID);
  assert_property (props, "vfio.parent", "0000:00:02.0");
  assert_property (props, "vfio.parent-driver", "i915");
  assert_property (props, "vfio.type", "i915-GVTg_V5_4");
  assert_property (props, "vfio.type-name", "GVTg_V5_4");
  assert_property (props, "vfio.display", "yes");
  fail_unless (gst_structure_get_int (props, "vfio.iommu-group", &group));
  fail_unless_equals_int (group, 3);
  gst_structure_free (props);

  props = properties_of (devices, NVIDIA_Q_UUID);
  assert_property (props, "vfio.type-name", "GRID T4-2Q");
  assert_property (props, "vfio.display", "yes");
  gst_structure_free (props);
  props = properties_of (devices, NVIDIA_C_UUID);
  assert_property (props, "vfio.display", "unknown");
  gst_structure_free (props);

  /* Without a name attribute the type's directory names it. */
  props = properties_of (devices, OTHER_UUID);
  assert_property (props, "vfio.parent-driver", "acme");
  assert_property (props, "vfio.type-name", "acme-1");
  assert_property (props, "vfio.display", "unknown");
  fail_if (gst_structure_has_field (props, "vfio.type-description"));
  gst_structure_free (props);

  g_list_free_full (devices, gst_object_unref);
  gst_object_unref (provider);
}

GST_END_TEST;

GST_START_TEST (test_device_caps)
{
  GstDeviceProvider *provider = get_provider ();
  GList *devices = gst_device_provider_get_devices (provider);
  GstCaps *caps = gst_device_get_caps (find_uuid (devices, GVT_UUID));
  GstCaps *dmabuf = gst_caps_from_string ("video/x-raw(memory:DMABuf), "
      "format=DMA_DRM, drm-format=XR24, width=1024, height=768, "
      "framerate=30/1");

  /* vfiogfxsrc's caps: the mode is the guest's, unknown until captured */
  fail_unless (caps != NULL);
  fail_if (gst_caps_is_any (caps));
  fail_unless (gst_caps_can_intersect (caps, dmabuf));
  gst_caps_unref (dmabuf);
  gst_caps_unref (caps);
  g_list_free_full (devices, gst_object_unref);
  gst_object_unref (provider);
}

GST_END_TEST;

GST_START_TEST (test_create_element)
{
  GstDeviceProvider *provider = get_provider ();
  GList *devices = gst_device_provider_get_devices (provider);
  GstDevice *device = find_uuid (devices, MBOCHS_UUID);
  GstElement *element, *other;
  gchar *uuid = NULL;

  element = gst_device_create_element (device, "cap");
  fail_unless (element != NULL);
  fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory
          (element)), "vfiogfxsrc");
  fail_unless_equals_string (GST_OBJECT_NAME (element), "cap");
  g_object_get (element, "device", &uuid, NULL);
  fail_unless_equals_string (uuid, MBOCHS_UUID);
  g_free (uuid);

  /* Reconfiguring points a vfiogfxsrc at another mdev; nothing else. */
  fail_unless (gst_device_reconfigure_element (find_uuid (devices, GVT_UUID),
          element));
  g_object_get (element, "device", &uuid, NULL);
  fail_unless_equals_string (uuid, GVT_UUID);
  g_free (uuid);
  other = gst_element_factory_make ("fakesrc", NULL);
  fail_if (gst_device_reconfigure_element (device, other));
  gst_object_unref (other);

  gst_object_unref (element);
  g_list_free_full (devices, gst_object_unref);
  gst_object_unref (provider);
}

GST_END_TEST;

/* The next device-added or -removed message of this provider (devices of
 * other providers on the system are skipped); NULL after @timeout. */
static GstDevice *
next_device_message (GstBus * bus, GstMessageType type, GstClockTime timeout)
{
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (bus, timeout, type))) {
    GstDevice *device = NULL;
    GstStructure *props;
    gboolean ours;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_DEVICE_ADDED)
      gst_message_parse_device_added (msg, &device);
    else
      gst_message_parse_device_removed (msg, &device);
    gst_message_unref (msg);
    props = gst_device_get_properties (device);
    ours = props && g_strcmp0 (gst_structure_get_string (props,
            "device.api"), "vfio") == 0;
    if (props)
      gst_structure_free (props);
    if (ours)
      return device;
    gst_object_unref (device);
  }
  return NULL;
}

static gchar *
uuid_of (GstDevice * device)
{
  GstStructure *props = gst_device_get_properties (device);
  gchar *uuid = g_strdup (gst_structure_get_string (props, "vfio.uuid"));

  gst_structure_free (props);
  return uuid;
}

static gboolean
monitor_lists (GstDeviceMonitor * monitor, const gchar * uuid)
{
  GList *devices = gst_device_monitor_get_devices (monitor);
  gboolean found = find_uuid (devices, uuid) != NULL;

  g_list_free_full (devices, gst_object_unref);
  return found;
}

GST_START_TEST (test_monitor_add_remove)
{
  GstDeviceMonitor *monitor = gst_device_monitor_new ();
  GstBus *bus = gst_device_monitor_get_bus (monitor);
  g_autofree gchar *gpu = g_strdup ("/sys/devices/0000:00:02.0");
  g_autofree gchar *late = NULL, *mtty = NULL;
  GstDevice *device;
  gchar *uuid;

  fail_unless (gst_device_monitor_add_filter (monitor, "Video/Source", NULL));
  fail_unless (gst_device_monitor_start (monitor));
  fail_unless (monitor_lists (monitor, MBOCHS_UUID));
  fail_if (monitor_lists (monitor, LATE_UUID));
  /* Drop what the start listed (posted before start() returned). */
  gst_bus_set_flushing (bus, TRUE);
  gst_bus_set_flushing (bus, FALSE);

  /* A new mdev, announced before its links exist (as the kernel does):
   * listed once they do. */
  late = umockdev_testbed_add_device (testbed, "mdev", LATE_UUID, gpu, NULL,
      NULL);
  fail_unless (late != NULL);
  umockdev_testbed_uevent (testbed, late, "add");
  g_usleep (150 * 1000);
  link_mdev (late, "i915-GVTg_V5_4", 4);
  device = next_device_message (bus, GST_MESSAGE_DEVICE_ADDED, 5 * GST_SECOND);
  fail_unless (device != NULL, "no device-added for the new mdev");
  uuid = uuid_of (device);
  fail_unless_equals_string (uuid, LATE_UUID);
  g_free (uuid);
  gst_object_unref (device);
  fail_unless (monitor_lists (monitor, LATE_UUID));

  /* A new mdev without a display: no message. */
  mtty = add_mdev ("/sys/devices/mtty", "66666666-2222-4333-8444-"
      "555555555555", "mtty-2", 15);
  umockdev_testbed_uevent (testbed, mtty, "add");

  /* The removal of one that has none and of one that is listed. */
  umockdev_testbed_uevent (testbed, mtty, "remove");
  umockdev_testbed_remove_device (testbed, mtty);
  umockdev_testbed_uevent (testbed, late, "remove");
  umockdev_testbed_remove_device (testbed, late);
  device = next_device_message (bus, GST_MESSAGE_DEVICE_REMOVED,
      5 * GST_SECOND);
  fail_unless (device != NULL, "no device-removed for the removed mdev");
  uuid = uuid_of (device);
  fail_unless_equals_string (uuid, LATE_UUID);
  g_free (uuid);
  gst_object_unref (device);
  fail_if (monitor_lists (monitor, LATE_UUID));
  fail_unless (monitor_lists (monitor, MBOCHS_UUID));
  /* nothing came of the mdev without a display */
  fail_if (next_device_message (bus, GST_MESSAGE_DEVICE_ADDED |
          GST_MESSAGE_DEVICE_REMOVED, GST_SECOND));

  gst_device_monitor_stop (monitor);
  gst_object_unref (bus);
  gst_object_unref (monitor);
}

GST_END_TEST;

static Suite *
deviceprovider_suite (void)
{
  Suite *s = suite_create ("vfiodeviceprovider");
  TCase *tc = tcase_create ("provider");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_probe_lists_displays);
  tcase_add_test (tc, test_device_caps);
  tcase_add_test (tc, test_create_element);
  tcase_add_test (tc, test_monitor_add_remove);
  return s;
}

GST_CHECK_MAIN (deviceprovider);
