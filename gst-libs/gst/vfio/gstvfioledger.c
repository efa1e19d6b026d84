/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which framebuffers of a borrowed device were exported, by any process.
 *
 * On an exporter that must export each framebuffer once while the device is
 * open (mbochs), a second capture process borrowing from the same running
 * VM would export again what the first one exported and released: mbochs
 * then drops page references it no longer holds, and host memory is
 * corrupted. The processes cannot share the dma-bufs themselves, so they
 * share a ledger: a file per mdev in the user's runtime directory that
 * names the device's life (the VMM's pid, its start time and its fd) and the
 * ids exported in it, under flock(). A process may export only the ids it
 * claims; the others are skipped until the VM restarts.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfioledger.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/gst.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (gst_vfio_ledger_debug);
#define GST_CAT_DEFAULT gst_vfio_ledger_debug

struct _GstVfioLedger
{
  gchar *path;
  gchar *life;
};

/**
 * gst_vfio_ledger_new:
 * @uuid: the mdev
 * @life: what names this open of the device (changes when the VM restarts)
 *
 * Returns: (transfer full): the ledger of @uuid
 */
GstVfioLedger *
gst_vfio_ledger_new (const gchar * uuid, const gchar * life)
{
  GstVfioLedger *ledger = g_new0 (GstVfioLedger, 1);
  g_autofree gchar *dir = g_build_filename (g_get_user_runtime_dir (),
      "vfiogfxsrc", NULL);

  GST_DEBUG_CATEGORY_INIT (gst_vfio_ledger_debug, "vfioledger", 0,
      "Framebuffers exported by any process");
  if (g_mkdir_with_parents (dir, 0700) < 0)
    GST_WARNING ("cannot create %s: %s", dir, g_strerror (errno));
  ledger->path = g_strdup_printf ("%s/exports-%s", dir, uuid);
  ledger->life = g_strdup (life);
  return ledger;
}

void
gst_vfio_ledger_free (GstVfioLedger * ledger)
{
  if (!ledger)
    return;
  g_free (ledger->path);
  g_free (ledger->life);
  g_free (ledger);
}

static gchar *
read_all (gint fd)
{
  GString *text = g_string_new (NULL);
  gchar buf[4096];
  ssize_t len;

  lseek (fd, 0, SEEK_SET);
  while ((len = read (fd, buf, sizeof (buf))) > 0)
    g_string_append_len (text, buf, len);
  return g_string_free (text, FALSE);
}

/* Whether @text (the ledger of this life) lists @id. */
static gboolean
lists_id (const gchar * text, guint32 id)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 1; lines[i]; i++) {
    if (*lines[i] && strtoul (lines[i], NULL, 10) == id)
      return TRUE;
  }
  return FALSE;
}

static gboolean
write_all (gint fd, const gchar * text)
{
  gsize len = strlen (text);

  return write (fd, text, len) == (ssize_t) len;
}

/**
 * gst_vfio_ledger_claim:
 * @id: a dmabuf_id about to be exported
 *
 * Records @id for this process, unless another process exported it in the
 * same life of the device. Without a usable ledger file it cannot know and
 * lets the export go ahead.
 *
 * Returns: %FALSE when @id was already exported in this life
 */
gboolean
gst_vfio_ledger_claim (GstVfioLedger * ledger, guint32 id)
{
  g_autofree gchar *text = NULL;
  g_autofree gchar *line = g_strdup_printf ("%u\n", id);
  gboolean ours = TRUE;
  gint fd;

  fd = open (ledger->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || flock (fd, LOCK_EX) < 0) {
    GST_WARNING ("ledger %s unusable: %s", ledger->path, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    return TRUE;
  }

  text = read_all (fd);
  if (!g_str_has_prefix (text, ledger->life)
      || text[strlen (ledger->life)] != '\n') {
    /* Another life of the device (the VM restarted): start afresh. */
    g_autofree gchar *head = g_strdup_printf ("%s\n", ledger->life);
    if (ftruncate (fd, 0) < 0 || lseek (fd, 0, SEEK_SET) < 0
        || !write_all (fd, head))
      GST_WARNING ("cannot write %s: %s", ledger->path, g_strerror (errno));
  } else if (lists_id (text, id)) {
    ours = FALSE;
  }
  if (ours) {
    lseek (fd, 0, SEEK_END);
    if (!write_all (fd, line))
      GST_WARNING ("cannot write %s: %s", ledger->path, g_strerror (errno));
  }
  close (fd);
  GST_DEBUG ("id %u %s", id, ours ? "claimed" : "exported elsewhere");
  return ours;
}
