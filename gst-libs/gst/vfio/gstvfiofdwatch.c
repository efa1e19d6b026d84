/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One event on a fd (an eventfd the kernel signals, a pidfd that becomes
 * readable when its process exits), waited for by a thread sleeping in
 * poll(): the streaming thread pays one atomic read per frame, no syscall.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvfiofdwatch.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct _GstVfioFdWatch
{
  gint fd;                      /* not owned */
  gint stop_fd;                 /* an eventfd that ends the thread */
  gint fired;                   /* atomic */
  GstVfioFdWatchFunc func;
  gpointer data;
  GThread *thread;
};

static gpointer
wait_for_event (gpointer user_data)
{
  GstVfioFdWatch *watch = user_data;
  struct pollfd fds[2] = {
    {.fd = watch->fd,.events = POLLIN},
    {.fd = watch->stop_fd,.events = POLLIN},
  };

  while (poll (fds, G_N_ELEMENTS (fds), -1) < 0 && errno == EINTR);
  if ((fds[0].revents & (POLLIN | POLLHUP)) && !fds[1].revents) {
    if (watch->func)
      watch->func (watch->data);
    g_atomic_int_set (&watch->fired, TRUE);
  }
  return NULL;
}

/**
 * gst_vfio_fd_watch_new:
 * @fd: the fd to wait on; stays the caller's, open while the watch lives
 * @name: the thread's name
 * @func: (nullable): run once on the watch's thread when @fd is readable,
 *   before gst_vfio_fd_watch_fired() turns %TRUE
 *
 * Returns: (nullable): the watch, %NULL if no thread could be started
 */
GstVfioFdWatch *
gst_vfio_fd_watch_new (gint fd, const gchar * name, GstVfioFdWatchFunc func,
    gpointer data)
{
  GstVfioFdWatch *watch = g_new0 (GstVfioFdWatch, 1);

  watch->fd = fd;
  watch->func = func;
  watch->data = data;
  watch->stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (watch->stop_fd < 0) {
    g_free (watch);
    return NULL;
  }
  watch->thread = g_thread_new (name, wait_for_event, watch);
  return watch;
}

gboolean
gst_vfio_fd_watch_fired (GstVfioFdWatch * watch)
{
  return watch && g_atomic_int_get (&watch->fired);
}

void
gst_vfio_fd_watch_free (GstVfioFdWatch * watch)
{
  guint64 one = 1;

  if (!watch)
    return;
  /* An eventfd write of 1 cannot fail short of a bug. */
  if (write (watch->stop_fd, &one, sizeof (one)) != sizeof (one))
    g_warning ("could not stop the watch of fd %d", watch->fd);
  g_thread_join (watch->thread);
  close (watch->stop_fd);
  g_free (watch);
}
