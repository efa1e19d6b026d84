/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RTSP server: one mount per VM display that the device monitor lists,
 * at /NAME (the VM's name when its holder is known, see vfiortspmonitor.c,
 * or once its VM runs: name_late_vms()) and at /UUID, both served by the VM's one shared media. VM displays that
 * come and go are mounted and unmounted live. A stream that ends (the VM
 * stopped, its device went, an error) lets its clients go: RTCP BYE with
 * the EOS first, then their sessions are removed, and a client left
 * without one is disconnected, so that no client waits on a dead stream
 * (vfiortspteardown.c). The capture of a running VM outlives its clients
 * (vfio_rtsp_factory_hold()).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspserver.h"
#include "vfiortspauth.h"
#include "vfiortspfactory.h"
#include "vfiortspmedia.h"
#include "vfiortspmonitor.h"
#include "vfiortspstatus.h"
#include "vfiortspteardown.h"

#include <gst/vfio/vfio.h>

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_server_debug);
#define GST_CAT_DEFAULT vfio_rtsp_server_debug

/* How long clients have to receive the BYE after the EOS, and how long a
 * removed VM's stream has to end by itself before it is cut. */
#define BYE_GRACE_MS 300
#define END_TIMEOUT_MS 2000
#define SESSION_CLEANUP_S 2
/* How often the VMs served at their UUID are looked for a name: a VM
 * started after its mdev was listed (starting a VM sends no event). */
#define NAME_LOOKUP_S 5

typedef struct
{
  VfioRtspFactory *factory;
  GPtrArray *paths;             /* mount paths */
  VfioRtspCounts counts;        /* at the last status line */
  guint idle_ticks;             /* session cleanups without a client */
} Vm;

struct _VfioRtspServer
{
  gchar *address;
  gchar *service;
  guint status_interval;
  VfioRtspEncoding encoding;

  GstRTSPServer *server;
  GstRTSPMountPoints *mounts;
  GstRTSPAuth *auth;
  GMainContext *context;
  GSource *server_source;
  GSource *status_source;
  GSource *cleanup_source;
  GSource *name_source;
  VfioRtspMonitor *monitor;

  GMutex lock;
  GHashTable *vms;              /* UUID -> Vm, under lock */
};

static void
vm_free (gpointer data)
{
  Vm *vm = data;

  g_object_unref (vm->factory);
  g_ptr_array_unref (vm->paths);
  g_free (vm);
}

static void
say (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

/* Progress for the one running the server, on stdout. */
static void
say (const gchar * format, ...)
{
  g_autofree gchar *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("vfio-rtsp-server: %s\n", text);
}

/* ---- ending a stream ---- */

static void
let_clients_go (VfioRtspServer * self, VfioRtspFactory * factory,
    GstRTSPMedia * media)
{
  guint ended = vfio_rtsp_let_clients_go (self->server, media);

  vfio_rtsp_factory_release (factory, media);
  GST_INFO ("media %p: %u sessions ended", media, ended);
}

/* Something to do with a VM's media in the server's context. */
typedef struct
{
  VfioRtspServer *server;
  VfioRtspFactory *factory;
  GstRTSPMedia *media;
} MediaTask;

static MediaTask *
media_task_new (VfioRtspFactory * factory, GstRTSPMedia * media)
{
  MediaTask *t = g_new0 (MediaTask, 1);

  t->server = g_object_get_data (G_OBJECT (factory), "server");
  t->factory = g_object_ref (factory);
  t->media = g_object_ref (media);
  return t;
}

static void
media_task_free (gpointer data)
{
  MediaTask *t = data;

  g_object_unref (t->factory);
  g_object_unref (t->media);
  g_free (t);
}

static gboolean
end_task_run (gpointer data)
{
  MediaTask *t = data;

  let_clients_go (t->server, t->factory, t->media);
  return G_SOURCE_REMOVE;
}

/* Lets @media's clients go in @ms, in the server's context. */
static void
schedule_end (VfioRtspFactory * factory, GstRTSPMedia * media, guint ms)
{
  MediaTask *t = media_task_new (factory, media);
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, end_task_run, t, media_task_free);
  g_source_attach (source, t->server->context);
  g_source_unref (source);
}

/* From the media's bus thread. */
static void
on_media_ended (VfioRtspMedia * media, const gchar * why, gpointer user_data)
{
  VfioRtspFactory *factory = user_data;

  say ("%s: the stream ended (%s)", vfio_rtsp_factory_get_name (factory),
      why);
  schedule_end (factory, GST_RTSP_MEDIA (media), BYE_GRACE_MS);
}

static gboolean
hold_task_run (gpointer data)
{
  MediaTask *t = data;

  vfio_rtsp_factory_hold (t->factory, t->media);
  return G_SOURCE_REMOVE;
}

/* From the thread that prepared it. */
static void
on_media_prepared (GstRTSPMedia * media, gpointer user_data)
{
  MediaTask *t = media_task_new (user_data, media);

  g_main_context_invoke_full (t->server->context, G_PRIORITY_DEFAULT,
      hold_task_run, t, media_task_free);
}

static void
on_media_configure (GstRTSPMediaFactory * factory, GstRTSPMedia * media,
    gpointer user_data)
{
  g_signal_connect_object (media, "ended", G_CALLBACK (on_media_ended),
      factory, 0);
  g_signal_connect_object (media, "prepared", G_CALLBACK (on_media_prepared),
      factory, 0);
}

/* ---- requests ---- */

/* A client asks for a VM's stream: a kept one encodes again, and a
 * ?mode=WxH[@R] is given to the guest (a malformed one is refused, 400). */
static GstRTSPStatusCode
on_pre_describe (GstRTSPClient * client, GstRTSPContext * ctx,
    VfioRtspServer * self)
{
  g_autoptr (GstRTSPMediaFactory) factory = NULL;
  g_autofree gchar *mode = NULL;

  if (!ctx->uri)
    return GST_RTSP_STS_OK;
  if (!vfio_rtsp_url_mode (ctx->uri, &mode)) {
    GST_INFO ("refused query '%s': expected mode=WxH or mode=WxH@R",
        ctx->uri->query);
    return GST_RTSP_STS_BAD_REQUEST;
  }
  factory = gst_rtsp_mount_points_match (self->mounts, ctx->uri->abspath,
      NULL);
  if (!factory || !VFIO_IS_RTSP_FACTORY (factory))
    return GST_RTSP_STS_OK;
  vfio_rtsp_factory_set_idle (VFIO_RTSP_FACTORY (factory), FALSE);
  if (mode)
    vfio_rtsp_factory_set_mode (VFIO_RTSP_FACTORY (factory), mode);
  return GST_RTSP_STS_OK;
}

static void
on_client_connected (GstRTSPServer * server, GstRTSPClient * client,
    VfioRtspServer * self)
{
  g_signal_connect (client, "pre-describe-request",
      G_CALLBACK (on_pre_describe), self);
}

/* ---- VMs coming and going ---- */

/* A name usable as one URL path segment as it is; others are served at
 * their UUID only. */
static gboolean
name_is_plain (const gchar * name)
{
  return g_regex_match_simple ("^[A-Za-z0-9][A-Za-z0-9._-]*$", name, 0, 0);
}

static gboolean
path_taken (VfioRtspServer * self, const gchar * path)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Vm *vm = value;

    for (guint i = 0; i < vm->paths->len; i++) {
      if (g_str_equal (g_ptr_array_index (vm->paths, i), path))
        return TRUE;
    }
  }
  return FALSE;
}

static void
mount (VfioRtspServer * self, Vm * vm, const gchar * path)
{
  g_ptr_array_add (vm->paths, g_strdup (path));
  gst_rtsp_mount_points_add_factory (self->mounts, path,
      g_object_ref (GST_RTSP_MEDIA_FACTORY (vm->factory)));
  say ("serving %s at rtsp://%s:%u%s", vfio_rtsp_factory_get_uuid
      (vm->factory), self->address, vfio_rtsp_server_get_port (self), path);
}

/* Serves @vm at /@name too when that is a free plain name. */
static gboolean
mount_name (VfioRtspServer * self, Vm * vm, const gchar * name)
{
  g_autofree gchar *path = NULL;

  if (!name || !name_is_plain (name))
    return FALSE;
  path = g_strconcat ("/", name, NULL);
  if (path_taken (self, path))
    return FALSE;
  vfio_rtsp_factory_set_name (vm->factory, name);
  mount (self, vm, path);
  return TRUE;
}

/* Names the VMs still served at their UUID only whose VM runs now. */
static gboolean
name_late_vms (gpointer data)
{
  VfioRtspServer *self = data;
  GHashTableIter iter;
  gpointer key, value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Vm *vm = value;
    gint group = vfio_rtsp_factory_get_iommu_group (vm->factory);
    GstVfioHolder *holder;

    if (vm->paths->len > 1 || group < 0)
      continue;
    holder = gst_vfio_holder_find (group, key, 0, NULL);
    if (holder && mount_name (self, vm, holder->vm_name))
      say ("%s: the VM %s runs", (const gchar *) key, holder->vm_name);
    g_clear_pointer (&holder, gst_vfio_holder_free);
  }
  g_mutex_unlock (&self->lock);
  return G_SOURCE_CONTINUE;
}

static void
add_vm (VfioRtspServer * self, GstDevice * device, const gchar * uuid)
{
  g_autofree gchar *vm_name = vfio_rtsp_device_vm_name (device);
  g_autofree gchar *uuid_path = g_strconcat ("/", uuid, NULL);
  Vm *vm;

  g_mutex_lock (&self->lock);
  if (g_hash_table_contains (self->vms, uuid)) {
    g_mutex_unlock (&self->lock);
    return;
  }
  vm = g_new0 (Vm, 1);
  vm->factory = vfio_rtsp_factory_new (device, uuid, uuid, &self->encoding);
  vm->paths = g_ptr_array_new_with_free_func (g_free);
  vm->counts.time = g_get_monotonic_time ();
  g_object_set_data (G_OBJECT (vm->factory), "server", self);
  if (self->auth)
    vfio_rtsp_auth_allow_viewers (GST_RTSP_MEDIA_FACTORY (vm->factory));
  g_signal_connect (vm->factory, "media-configure",
      G_CALLBACK (on_media_configure), NULL);
  g_hash_table_insert (self->vms, g_strdup (uuid), vm);
  mount_name (self, vm, vm_name);
  mount (self, vm, uuid_path);
  g_mutex_unlock (&self->lock);
}

static void
remove_vm (VfioRtspServer * self, const gchar * uuid)
{
  g_autoptr (GstRTSPMedia) media = NULL;
  Vm *vm;

  g_mutex_lock (&self->lock);
  vm = g_hash_table_lookup (self->vms, uuid);
  if (!vm) {
    g_mutex_unlock (&self->lock);
    return;
  }
  for (guint i = 0; i < vm->paths->len; i++)
    gst_rtsp_mount_points_remove_factory (self->mounts,
        g_ptr_array_index (vm->paths, i));
  say ("%s (%s) is gone: unmounted", vfio_rtsp_factory_get_name (vm->factory),
      uuid);
  /* EOS first, so that clients get a BYE; cut it if it does not end. */
  media = vfio_rtsp_factory_get_media (vm->factory);
  if (media && vfio_rtsp_factory_end (vm->factory))
    schedule_end (vm->factory, media, END_TIMEOUT_MS);
  g_hash_table_remove (self->vms, uuid);
  g_mutex_unlock (&self->lock);
}

static void
on_device (GstDevice * device, gboolean added, gpointer user_data)
{
  VfioRtspServer *self = user_data;
  g_autofree gchar *uuid = vfio_rtsp_device_uuid (device);

  if (added)
    add_vm (self, device, uuid);
  else
    remove_vm (self, uuid);
}

/* ---- status ---- */

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  const Vm *va = *(Vm * const *) a, *vb = *(Vm * const *) b;

  return g_strcmp0 (vfio_rtsp_factory_get_name (va->factory),
      vfio_rtsp_factory_get_name (vb->factory));
}

static gboolean
print_status (gpointer data)
{
  VfioRtspServer *self = data;
  g_autoptr (GstRTSPSessionPool) pool =
      gst_rtsp_server_get_session_pool (self->server);
  g_autoptr (GPtrArray) vms = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (vms, value);
  g_ptr_array_sort (vms, compare_names);
  for (guint i = 0; i < vms->len; i++) {
    Vm *vm = g_ptr_array_index (vms, i);
    g_autoptr (GstRTSPMedia) media =
        vfio_rtsp_factory_get_media (vm->factory);
    g_autofree gchar *line = NULL;
    VfioRtspCounts now = { 0, 0, g_get_monotonic_time () };

    vfio_rtsp_factory_get_counts (vm->factory, &now.frames, &now.bytes);
    line = vfio_rtsp_status_line (vfio_rtsp_factory_get_name (vm->factory),
        vfio_rtsp_count_clients (pool, media), &vm->counts, &now);
    say ("%s", line);
  }
  g_mutex_unlock (&self->lock);
  return G_SOURCE_CONTINUE;
}

/* A kept stream without clients for two ticks rests its encoder; a
 * client that just asked for it has a tick to set up its session. */
static void
update_idle (VfioRtspServer * self, GstRTSPSessionPool * pool)
{
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Vm *vm = value;
    g_autoptr (GstRTSPMedia) media =
        vfio_rtsp_factory_get_media (vm->factory);

    if (media && vfio_rtsp_count_clients (pool, media) == 0)
      vm->idle_ticks++;
    else
      vm->idle_ticks = 0;
    if (vm->idle_ticks >= 2)
      vfio_rtsp_factory_set_idle (vm->factory, TRUE);
  }
  g_mutex_unlock (&self->lock);
}

/* Sessions whose client went without a TEARDOWN expire. */
static gboolean
cleanup_sessions (gpointer data)
{
  VfioRtspServer *self = data;
  g_autoptr (GstRTSPSessionPool) pool =
      gst_rtsp_server_get_session_pool (self->server);

  gst_rtsp_session_pool_cleanup (pool);
  update_idle (self, pool);
  return G_SOURCE_CONTINUE;
}

static GSource *
add_timeout (VfioRtspServer * self, guint seconds, GSourceFunc func)
{
  GSource *source = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* ---- public ---- */

VfioRtspServer *
vfio_rtsp_server_new (const VfioRtspOptions * options, GError ** error)
{
  g_autoptr (VfioRtspServer) self = g_new0 (VfioRtspServer, 1);

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_server_debug, "vfiortspserver", 0,
      "RTSP server");
  g_mutex_init (&self->lock);
  self->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      vm_free);
  self->address = g_strdup (options->address);
  self->service = g_strdup (options->service);
  self->status_interval = options->status_interval;
  self->encoding = options->encoding;
  if (!vfio_rtsp_encoder_resolve (&self->encoding, error))
    return NULL;
  say ("encoder: %s", vfio_rtsp_encoder_name (self->encoding.kind));

  if (options->auth_file) {
    self->auth = vfio_rtsp_auth_from_file (options->auth_file, error);
    if (!self->auth)
      return NULL;
  }
  self->server = gst_rtsp_server_new ();
  gst_rtsp_server_set_address (self->server, self->address);
  gst_rtsp_server_set_service (self->server, self->service);
  if (self->auth)
    gst_rtsp_server_set_auth (self->server, self->auth);
  self->mounts = gst_rtsp_server_get_mount_points (self->server);
  g_signal_connect (self->server, "client-connected",
      G_CALLBACK (on_client_connected), self);
  return g_steal_pointer (&self);
}

gboolean
vfio_rtsp_server_start (VfioRtspServer * self, GMainContext * context,
    GError ** error)
{
  guint id;

  self->context = g_main_context_ref (context);
  id = gst_rtsp_server_attach (self->server, context);
  if (id == 0)
    goto attach_failed;
  self->server_source = g_source_ref (g_main_context_find_source_by_id
      (context, id));
  say ("listening on %s:%u%s", self->address,
      vfio_rtsp_server_get_port (self), self->auth ?
      ", basic authentication" : "");

  self->monitor = vfio_rtsp_monitor_start (context, on_device, self, error);
  if (!self->monitor)
    return FALSE;
  self->cleanup_source = add_timeout (self, SESSION_CLEANUP_S,
      cleanup_sessions);
  self->name_source = add_timeout (self, NAME_LOOKUP_S, name_late_vms);
  if (self->status_interval > 0)
    self->status_source = add_timeout (self, self->status_interval,
        print_status);
  return TRUE;

  /* ERRORS */
attach_failed:
  {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "Could not listen on %s port %s: is another server using it? "
        "Choose another with --port.", self->address, self->service);
    return FALSE;
  }
}

static GstRTSPFilterResult
remove_client (GstRTSPServer * server, GstRTSPClient * client, gpointer data)
{
  return GST_RTSP_FILTER_REMOVE;
}

/* The streams kept for running VMs stop. */
static void
release_all (VfioRtspServer * self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Vm *vm = value;
    g_autoptr (GstRTSPMedia) media =
        vfio_rtsp_factory_get_media (vm->factory);

    if (media)
      vfio_rtsp_factory_release (vm->factory, media);
  }
}

static void
destroy_source (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

void
vfio_rtsp_server_free (VfioRtspServer * self)
{
  if (!self)
    return;
  vfio_rtsp_monitor_stop (self->monitor);
  destroy_source (&self->status_source);
  destroy_source (&self->cleanup_source);
  destroy_source (&self->name_source);
  destroy_source (&self->server_source);
  if (self->server)
    gst_rtsp_server_client_filter (self->server, remove_client, NULL);
  release_all (self);
  g_hash_table_unref (self->vms);
  g_clear_object (&self->mounts);
  g_clear_object (&self->auth);
  g_clear_object (&self->server);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_free (self->address);
  g_free (self->service);
  g_free (self);
}

/* The port listened on (useful with service "0"). */
guint
vfio_rtsp_server_get_port (VfioRtspServer * self)
{
  gint port = gst_rtsp_server_get_bound_port (self->server);

  return port > 0 ? port : 0;
}

/* The mount paths, sorted. */
gchar **
vfio_rtsp_server_dup_paths (VfioRtspServer * self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  gchar **paths;
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Vm *vm = value;

    for (guint i = 0; i < vm->paths->len; i++)
      g_strv_builder_add (builder, g_ptr_array_index (vm->paths, i));
  }
  g_mutex_unlock (&self->lock);
  paths = g_strv_builder_end (builder);
  qsort (paths, g_strv_length (paths), sizeof (gchar *),
      (GCompareFunc) g_strcmp0);
  return paths;
}

/* The VM named or with the UUID @name, with a ref on its factory. */
static VfioRtspFactory *
find_factory (VfioRtspServer * self, const gchar * name)
{
  VfioRtspFactory *found = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->vms);
  while (!found && g_hash_table_iter_next (&iter, &key, &value)) {
    Vm *vm = value;

    if (g_str_equal (key, name)
        || g_str_equal (vfio_rtsp_factory_get_name (vm->factory), name))
      found = g_object_ref (vm->factory);
  }
  g_mutex_unlock (&self->lock);
  return found;
}

/* The vfiogfxsrc capturing VM @name now, or NULL. */
GstElement *
vfio_rtsp_server_get_source (VfioRtspServer * self, const gchar * name)
{
  g_autoptr (VfioRtspFactory) factory = find_factory (self, name);

  return factory ? vfio_rtsp_factory_get_source (factory) : NULL;
}

/* The clients playing VM @name's stream now. */
guint
vfio_rtsp_server_count_clients (VfioRtspServer * self, const gchar * name)
{
  g_autoptr (VfioRtspFactory) factory = find_factory (self, name);
  g_autoptr (GstRTSPMedia) media = NULL;
  g_autoptr (GstRTSPSessionPool) pool = NULL;

  if (!factory)
    return 0;
  media = vfio_rtsp_factory_get_media (factory);
  pool = gst_rtsp_server_get_session_pool (self->server);
  return vfio_rtsp_count_clients (pool, media);
}

/* Frames and bytes VM @name's encoder made since it was listed; FALSE
 * when there is no such VM. */
gboolean
vfio_rtsp_server_get_encoded (VfioRtspServer * self, const gchar * name,
    guint64 * frames, guint64 * bytes)
{
  g_autoptr (VfioRtspFactory) factory = find_factory (self, name);

  if (!factory)
    return FALSE;
  vfio_rtsp_factory_get_counts (factory, frames, bytes);
  return TRUE;
}
