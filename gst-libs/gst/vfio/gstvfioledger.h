/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to gstvfio: which framebuffers of a VM's device were exported,
 * by any process. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GstVfioLedger GstVfioLedger;

G_GNUC_INTERNAL
GstVfioLedger *gst_vfio_ledger_new (const gchar * uuid, const gchar * life);

G_GNUC_INTERNAL
gboolean gst_vfio_ledger_claim (GstVfioLedger * ledger, guint32 id);

G_GNUC_INTERNAL
void gst_vfio_ledger_free (GstVfioLedger * ledger);

G_END_DECLS
