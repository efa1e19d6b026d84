/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A clock whose waits end at once, at the time waited for, for tests that
 * need many ticks of vfiogfxsrc: the element then ticks as fast as it can
 * run, its timestamps still advance one period per tick, and every tick
 * calls a hook in the streaming thread, so a test can change the emulated
 * guest between two ticks deterministically ("a new mode every tick").
 *
 * Set it with gst_element_set_clock() after gst_harness_new*(), as
 * gst_harness_use_systemclock() does. The element waits on the system
 * clock only while no plane was seen yet (before the first caps).
 */
#pragma once

#include <gst/gst.h>

typedef void (*InstantClockTick) (guint64 tick, gpointer user_data);

#define INSTANT_TYPE_CLOCK (instant_clock_get_type ())
G_DECLARE_FINAL_TYPE (InstantClock, instant_clock, INSTANT, CLOCK, GstClock);

struct _InstantClock
{
  GstClock parent;

  GstClockTime now;             /* under the object lock */
  guint64 ticks;
  InstantClockTick tick;
  gpointer user_data;
};

G_DEFINE_TYPE (InstantClock, instant_clock, GST_TYPE_CLOCK);

static GstClockTime
instant_clock_get_internal_time (GstClock * clock)
{
  InstantClock *self = INSTANT_CLOCK (clock);
  GstClockTime now;

  GST_OBJECT_LOCK (self);
  now = self->now;
  GST_OBJECT_UNLOCK (self);
  return now;
}

/* The wait is over as soon as it starts: time jumps to the entry. */
static GstClockReturn
instant_clock_wait (GstClock * clock, GstClockEntry * entry,
    GstClockTimeDiff * jitter)
{
  InstantClock *self = INSTANT_CLOCK (clock);
  GstClockTime time = GST_CLOCK_ENTRY_TIME (entry);
  guint64 tick;

  GST_OBJECT_LOCK (self);
  if (jitter)
    *jitter = GST_CLOCK_DIFF (time, self->now);
  if (time > self->now)
    self->now = time;
  tick = self->ticks++;
  GST_OBJECT_UNLOCK (self);

  if (self->tick)
    self->tick (tick, self->user_data);
  return GST_CLOCK_OK;
}

static void
instant_clock_class_init (InstantClockClass * klass)
{
  GstClockClass *clock_class = GST_CLOCK_CLASS (klass);

  clock_class->get_internal_time = instant_clock_get_internal_time;
  clock_class->wait = instant_clock_wait;
}

static void
instant_clock_init (InstantClock * self)
{
  GST_OBJECT_FLAG_SET (self, GST_CLOCK_FLAG_CAN_SET_MASTER);
}

/* A new clock calling @tick (may be NULL) at every wait. */
static G_GNUC_UNUSED GstClock *
instant_clock_new (InstantClockTick tick, gpointer user_data)
{
  InstantClock *self = g_object_new (INSTANT_TYPE_CLOCK, "name",
      "instant-clock", NULL);

  gst_object_ref_sink (self);
  self->tick = tick;
  self->user_data = user_data;
  return GST_CLOCK (self);
}

static G_GNUC_UNUSED guint64
instant_clock_get_ticks (GstClock * clock)
{
  InstantClock *self = INSTANT_CLOCK (clock);
  guint64 ticks;

  GST_OBJECT_LOCK (self);
  ticks = self->ticks;
  GST_OBJECT_UNLOCK (self);
  return ticks;
}
