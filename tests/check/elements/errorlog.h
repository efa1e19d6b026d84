/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counts the ERROR-level messages of GStreamer's debug log, whatever
 * GST_DEBUG says, for tests that assert none is logged: an ERROR line is
 * what a user running with GST_DEBUG=1 sees.
 */
#pragma once

#include <gst/check/gstcheck.h>

typedef struct
{
  gint count;
  gchar *first;                 /* the first one, for the failure message */
} ErrorLog;

static void
error_log_func (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  ErrorLog *log = user_data;

  if (level != GST_LEVEL_ERROR)
    return;
  if (g_atomic_int_add (&log->count, 1) == 0)
    log->first = g_strdup_printf ("%s %s:%d:%s: %s",
        gst_debug_category_get_name (category), file, line, function,
        gst_debug_message_get (message));
}

/* From now on, ERROR messages of every category reach @log. */
static inline void
error_log_start (ErrorLog * log)
{
  GSList *categories = gst_debug_get_all_categories ();

  memset (log, 0, sizeof (*log));
  if (gst_debug_get_default_threshold () < GST_LEVEL_ERROR)
    gst_debug_set_default_threshold (GST_LEVEL_ERROR);
  /* GST_DEBUG=GST_CLOCK:0 would hide the very lines looked for. */
  for (GSList * l = categories; l; l = l->next)
    if (gst_debug_category_get_threshold (l->data) < GST_LEVEL_ERROR)
      gst_debug_category_set_threshold (l->data, GST_LEVEL_ERROR);
  g_slist_free (categories);
  gst_debug_set_active (TRUE);
  gst_debug_add_log_function (error_log_func, log, NULL);
}

/* Stops counting; returns how many ERROR messages were logged. */
static inline gint
error_log_stop (ErrorLog * log)
{
  gst_debug_remove_log_function_by_data (log);
  return g_atomic_int_get (&log->count);
}

static inline void
error_log_clear (ErrorLog * log)
{
  g_clear_pointer (&log->first, g_free);
}
