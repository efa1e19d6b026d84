/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Basic authentication from a password file: one "user:password" a line,
 * '#' starts a comment. RTSP basic authentication compares the
 * base64 of "user:password" itself, so the file holds the passwords in
 * clear: it must be readable by the server's user only.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vfiortspauth.h"

#include <sys/stat.h>

GST_DEBUG_CATEGORY_STATIC (vfio_rtsp_auth_debug);
#define GST_CAT_DEFAULT vfio_rtsp_auth_debug

static gboolean
add_line (GstRTSPAuth * auth, GstRTSPToken * token, const gchar * path,
    guint lineno, gchar * line, GError ** error)
{
  g_autofree gchar *basic = NULL;
  gchar *colon;

  g_strstrip (line);
  if (line[0] == '\0' || line[0] == '#')
    return TRUE;
  colon = strchr (line, ':');
  if (!colon || colon == line || colon[1] == '\0')
    goto bad_line;
  *colon = '\0';
  basic = gst_rtsp_auth_make_basic (line, colon + 1);
  gst_rtsp_auth_add_basic (auth, basic, token);
  GST_INFO ("user %s", line);
  return TRUE;

  /* ERRORS */
bad_line:
  {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s:%u: expected user:password", path, lineno);
    return FALSE;
  }
}

/**
 * vfio_rtsp_auth_from_file:
 *
 * Returns: an authenticator that admits the users of @path, with the role
 * %VFIO_RTSP_ROLE; NULL with @error set when the file cannot be read or
 * names nobody.
 */
GstRTSPAuth *
vfio_rtsp_auth_from_file (const gchar * path, GError ** error)
{
  g_autoptr (GstRTSPAuth) auth = NULL;
  g_autoptr (GstRTSPToken) token = NULL;
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  struct stat st;
  guint users = 0;

  GST_DEBUG_CATEGORY_INIT (vfio_rtsp_auth_debug, "vfiortspauth", 0,
      "RTSP server: authentication");
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  if (stat (path, &st) == 0 && (st.st_mode & 0077))
    g_printerr ("vfio-rtsp-server: warning: %s holds passwords and can be "
        "read by others: chmod 600 it\n", path);

  auth = gst_rtsp_auth_new ();
  token = gst_rtsp_token_new (GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE,
      G_TYPE_STRING, VFIO_RTSP_ROLE, NULL);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    const gchar *l = g_strstrip (lines[i]);

    if (!add_line (auth, token, path, i + 1, lines[i], error))
      return NULL;
    if (l[0] != '\0' && l[0] != '#')
      users++;
  }
  if (users == 0)
    goto no_users;
  return g_steal_pointer (&auth);

  /* ERRORS */
no_users:
  {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s names no user: add lines user:password", path);
    return NULL;
  }
}

/* Lets the users of the password file see and play @factory's stream. */
void
vfio_rtsp_auth_allow_viewers (GstRTSPMediaFactory * factory)
{
  gst_rtsp_media_factory_add_role (factory, VFIO_RTSP_ROLE,
      GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
      GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, NULL);
}
