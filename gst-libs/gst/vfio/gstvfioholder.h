/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/vfio/vfio-prelude.h>

G_BEGIN_DECLS

/**
 * GstVfioHolder:
 * @pid: the process that holds the VFIO group (the VMM)
 * @command: its command name (/proc/PID/comm)
 * @uid: its real user id
 * @user: that user's name, or the uid as text
 * @displays: whether its command line shows that it consumes the mdev's
 *   display itself (QEMU `display=on` for this device)
 * @vm_name: (nullable): the VM's name from its command line (QEMU's
 *   `-name`, which libvirt sets to the domain name), or %NULL
 * @device_fd: its fd of the mdev's device once taken, else -1
 * @start_time: when it started, in clock ticks since boot (with @pid, it
 *   names the process for good)
 *
 * The process that holds an mdev's VFIO group, as seen in /proc.
 */
typedef struct
{
  gint pid;
  gchar *command;
  guint uid;
  gchar *user;
  gboolean displays;
  gchar *vm_name;
  gint device_fd;
  guint64 start_time;
} GstVfioHolder;

GST_VFIO_API
GstVfioHolder *gst_vfio_holder_find (gint group, const gchar * uuid,
    gint pid, GError ** error) G_GNUC_WARN_UNUSED_RESULT;

GST_VFIO_API
gint gst_vfio_holder_take_device_fd (GstVfioHolder * holder,
    const gchar * uuid, GError ** error);

GST_VFIO_API
void gst_vfio_holder_free (GstVfioHolder * holder);

GST_VFIO_API
gboolean gst_vfio_cmdline_displays_mdev (const gchar * cmdline, gsize len,
    const gchar * uuid);

GST_VFIO_API
gchar *gst_vfio_cmdline_get_vm_name (const gchar * cmdline, gsize len);

GST_VFIO_API
gchar *gst_vfio_fdinfo_get_syspath (const gchar * fdinfo);

GST_VFIO_API
gint gst_vfio_read_ptrace_scope (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstVfioHolder, gst_vfio_holder_free)

G_END_DECLS
