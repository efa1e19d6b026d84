/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the plugin documentation cache (gst_plugins_cache.json) for the
 * plugins given on the command line, in the layout of GStreamer's
 * gst-hotdoc-plugins-scanner, which Debian does not ship: for each element
 * its metadata, pad templates and properties, and the enums it registers.
 *
 *   gen-plugins-cache OUT.json PLUGIN.so...
 */
#include <gst/gst.h>

/* A small JSON writer: members and values with indentation. */
typedef struct
{
  GString *out;
  guint depth;
  gboolean need_comma[64];
} JsonBuilder;

static void
json_newline (JsonBuilder * b)
{
  if (b->need_comma[b->depth])
    g_string_append_c (b->out, ',');
  if (b->depth > 0)
    g_string_append_c (b->out, '\n');
  for (guint i = 0; i < b->depth; i++)
    g_string_append (b->out, "    ");
  b->need_comma[b->depth] = TRUE;
}

static void
json_string (GString * out, const gchar * str)
{
  g_string_append_c (out, '"');
  for (const gchar * p = str ? str : ""; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else if ((guchar) * p < 0x20)
      g_string_append_printf (out, "\\u%04x", (guchar) * p);
    else
      g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
}

static gboolean pending_member;

static void
json_builder_set_member_name (JsonBuilder * b, const gchar * name)
{
  json_newline (b);
  json_string (b->out, name);
  g_string_append (b->out, ": ");
  pending_member = TRUE;
}

static void
json_value_start (JsonBuilder * b)
{
  if (pending_member)
    pending_member = FALSE;
  else
    json_newline (b);
}

static void
json_open (JsonBuilder * b, gchar c)
{
  json_value_start (b);
  g_string_append_c (b->out, c);
  b->depth++;
  b->need_comma[b->depth] = FALSE;
}

static void
json_close (JsonBuilder * b, gchar c)
{
  gboolean empty = !b->need_comma[b->depth];

  b->depth--;
  if (!empty) {
    g_string_append_c (b->out, '\n');
    for (guint i = 0; i < b->depth; i++)
      g_string_append (b->out, "    ");
  }
  g_string_append_c (b->out, c);
}

#define json_builder_begin_object(b) json_open (b, '{')
#define json_builder_end_object(b) json_close (b, '}')
#define json_builder_begin_array(b) json_open (b, '[')
#define json_builder_end_array(b) json_close (b, ']')

static void
json_builder_add_string_value (JsonBuilder * b, const gchar * value)
{
  json_value_start (b);
  json_string (b->out, value);
}

static void
json_builder_add_boolean_value (JsonBuilder * b, gboolean value)
{
  json_value_start (b);
  g_string_append (b->out, value ? "true" : "false");
}

static void
json_builder_add_int_value (JsonBuilder * b, gint64 value)
{
  json_value_start (b);
  g_string_append_printf (b->out, "%" G_GINT64_FORMAT, value);
}

static void
add_value (JsonBuilder * b, const gchar * member, const GValue * value)
{
  g_autofree gchar *str = NULL;

  json_builder_set_member_name (b, member);
  if (G_VALUE_HOLDS_STRING (value)) {
    const gchar *s = g_value_get_string (value);
    json_builder_add_string_value (b, s ? s : "NULL");
    return;
  }
  if (G_VALUE_HOLDS_ENUM (value)) {
    GEnumValue *ev = g_enum_get_value (G_ENUM_CLASS (g_type_class_peek
            (G_VALUE_TYPE (value))), g_value_get_enum (value));
    json_builder_add_string_value (b, ev ? ev->value_nick : "");
    return;
  }
  str = gst_value_serialize (value);
  json_builder_add_string_value (b, str ? str : "");
}

static void
add_property (JsonBuilder * b, GObject * object, GParamSpec * pspec)
{
  GValue value = G_VALUE_INIT;

  json_builder_set_member_name (b, pspec->name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "blurb");
  json_builder_add_string_value (b, g_param_spec_get_blurb (pspec));
  json_builder_set_member_name (b, "construct-only");
  json_builder_add_boolean_value (b,
      (pspec->flags & G_PARAM_CONSTRUCT_ONLY) != 0);
  json_builder_set_member_name (b, "mutable");
  json_builder_add_string_value (b,
      pspec->flags & GST_PARAM_MUTABLE_PLAYING ? "playing" :
      pspec->flags & GST_PARAM_MUTABLE_PAUSED ? "paused" :
      pspec->flags & GST_PARAM_MUTABLE_READY ? "ready" : "null");
  json_builder_set_member_name (b, "readable");
  json_builder_add_boolean_value (b, (pspec->flags & G_PARAM_READABLE) != 0);
  json_builder_set_member_name (b, "writable");
  json_builder_add_boolean_value (b, (pspec->flags & G_PARAM_WRITABLE) != 0);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, g_type_name (pspec->value_type));

  g_value_init (&value, pspec->value_type);
  g_param_value_set_default (pspec, &value);
  if (pspec->value_type != GST_TYPE_STRUCTURE)
    add_value (b, "default", &value);
  g_value_unset (&value);

  if (G_IS_PARAM_SPEC_INT (pspec)) {
    GParamSpecInt *p = G_PARAM_SPEC_INT (pspec);
    g_autofree gchar *min = g_strdup_printf ("%d", p->minimum);
    g_autofree gchar *max = g_strdup_printf ("%d", p->maximum);
    json_builder_set_member_name (b, "min");
    json_builder_add_string_value (b, min);
    json_builder_set_member_name (b, "max");
    json_builder_add_string_value (b, max);
  }
  json_builder_end_object (b);
  (void) object;
}

static void
add_enum (JsonBuilder * b, GType type)
{
  GEnumClass *klass = g_type_class_ref (type);

  json_builder_set_member_name (b, g_type_name (type));
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "enum");
  json_builder_set_member_name (b, "values");
  json_builder_begin_array (b);
  for (guint i = 0; i < klass->n_values; i++) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "desc");
    json_builder_add_string_value (b, klass->values[i].value_name);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, klass->values[i].value_nick);
    json_builder_set_member_name (b, "value");
    json_builder_add_int_value (b, klass->values[i].value);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_type_class_unref (klass);
}

static void
add_pad_templates (JsonBuilder * b, GstElementFactory * factory)
{
  const GList *l;

  json_builder_set_member_name (b, "pad-templates");
  json_builder_begin_object (b);
  for (l = gst_element_factory_get_static_pad_templates (factory); l;
      l = l->next) {
    GstStaticPadTemplate *t = l->data;
    json_builder_set_member_name (b, t->name_template);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "caps");
    json_builder_add_string_value (b, t->static_caps.string);
    json_builder_set_member_name (b, "direction");
    json_builder_add_string_value (b, t->direction == GST_PAD_SRC ? "src" :
        "sink");
    json_builder_set_member_name (b, "presence");
    json_builder_add_string_value (b, t->presence == GST_PAD_ALWAYS ?
        "always" : t->presence == GST_PAD_SOMETIMES ? "sometimes" :
        "request");
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
}

static void
add_metadata (JsonBuilder * b, GstElementFactory * factory)
{
  static const gchar *keys[][2] = {
    {"author", GST_ELEMENT_METADATA_AUTHOR},
    {"description", GST_ELEMENT_METADATA_DESCRIPTION},
    {"klass", GST_ELEMENT_METADATA_KLASS},
    {"long-name", GST_ELEMENT_METADATA_LONGNAME},
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    json_builder_set_member_name (b, keys[i][0]);
    json_builder_add_string_value (b,
        gst_element_factory_get_metadata (factory, keys[i][1]));
  }
}

/* Properties the element class adds (not those of its parents). */
static void
add_element (JsonBuilder * b, GstElementFactory * factory, GList ** enums)
{
  GstElement *element = gst_element_factory_create (factory, NULL);
  GType type = G_OBJECT_TYPE (element);
  GParamSpec **pspecs;
  guint n;

  json_builder_set_member_name (b, GST_OBJECT_NAME (factory));
  json_builder_begin_object (b);
  add_metadata (b, factory);
  json_builder_set_member_name (b, "hierarchy");
  json_builder_begin_array (b);
  for (GType t = type; t; t = g_type_parent (t))
    json_builder_add_string_value (b, g_type_name (t));
  json_builder_end_array (b);
  add_pad_templates (b, factory);

  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (element), &n);
  for (guint i = 0; i < n; i++) {
    if (pspecs[i]->owner_type != type)
      continue;
    add_property (b, G_OBJECT (element), pspecs[i]);
    if (G_TYPE_IS_ENUM (pspecs[i]->value_type)
        && !g_list_find (*enums, GSIZE_TO_POINTER (pspecs[i]->value_type)))
      *enums = g_list_append (*enums, GSIZE_TO_POINTER (pspecs[i]->value_type));
  }
  g_free (pspecs);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "rank");
  json_builder_add_string_value (b,
      gst_plugin_feature_get_rank (GST_PLUGIN_FEATURE (factory)) ==
      GST_RANK_NONE ? "none" : "primary");
  json_builder_end_object (b);
  gst_object_unref (element);
}

static void
add_plugin (JsonBuilder * b, GstPlugin * plugin)
{
  GList *features, *l, *enums = NULL;

  json_builder_set_member_name (b, gst_plugin_get_name (plugin));
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, gst_plugin_get_description (plugin));
  json_builder_set_member_name (b, "license");
  json_builder_add_string_value (b, gst_plugin_get_license (plugin));
  json_builder_set_member_name (b, "package");
  json_builder_add_string_value (b, gst_plugin_get_package (plugin));
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, gst_plugin_get_source (plugin));
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, gst_plugin_get_origin (plugin));

  json_builder_set_member_name (b, "elements");
  json_builder_begin_object (b);
  features = gst_registry_get_feature_list_by_plugin (gst_registry_get (),
      gst_plugin_get_name (plugin));
  for (l = features; l; l = l->next) {
    if (GST_IS_ELEMENT_FACTORY (l->data))
      add_element (b, GST_ELEMENT_FACTORY (l->data), &enums);
  }
  gst_plugin_feature_list_free (features);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "other-types");
  json_builder_begin_object (b);
  for (l = enums; l; l = l->next)
    add_enum (b, (GType) GPOINTER_TO_SIZE (l->data));
  g_list_free (enums);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

int
main (int argc, char **argv)
{
  JsonBuilder b = { g_string_new (NULL), 0, {FALSE,} };
  g_autoptr (GError) error = NULL;

  gst_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: %s OUT.json PLUGIN.so...\n", argv[0]);
    return 2;
  }

  json_builder_begin_object (&b);
  for (gint i = 2; i < argc; i++) {
    GstPlugin *plugin = gst_plugin_load_file (argv[i], &error);
    if (!plugin) {
      g_printerr ("%s\n", error->message);
      return 1;
    }
    add_plugin (&b, plugin);
    gst_object_unref (plugin);
  }
  json_builder_end_object (&b);
  g_string_append_c (b.out, '\n');

  if (!g_file_set_contents (argv[1], b.out->str, b.out->len, &error)) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  g_string_free (b.out, TRUE);
  return 0;
}
