/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the element tests share: the stats, the bus, the open fds. */
#pragma once

#include <dirent.h>
#include <gst/check/gstcheck.h>

/* A counter of the element's stats property. */
static inline guint64
stat_of (GstElement * element, const gchar * name)
{
  GstStructure *stats;
  guint64 value = G_MAXUINT64;

  g_object_get (element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, name, &value), "no stat %s",
      name);
  gst_structure_free (stats);
  return value;
}

/* A bus of its own for @element, outside any pipeline. */
static inline GstBus *
attach_bus (GstElement * element)
{
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (element, bus);
  return bus;
}

/* Queued messages hold the element, which holds the bus: flushing them
 * lets both go. */
static inline void
release_bus (GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

/* Waits for an element message of @name; returns its structure (copied).
 * Fails without it. */
static inline GstStructure *
wait_element_message (GstBus * bus, const gchar * name)
{
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
              GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (gst_structure_has_name (s, name)) {
      GstStructure *copy = gst_structure_copy (s);

      gst_message_unref (msg);
      return copy;
    }
    gst_message_unref (msg);
  }
  fail ("no %s message", name);
  return NULL;
}

static inline guint
count_open_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  guint n = 0;

  while (readdir (dir))
    n++;
  closedir (dir);
  return n;
}
