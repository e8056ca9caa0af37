/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The objects' method tables (src/bus/manager-object.c, mptcp-object.c)
 * against what the repository says elsewhere: every method of
 * dbus/net.groupd1.*.xml has one entry and no entry names another; every
 * polkit action is declared in data/net.groupd1.policy, and every declared
 * action is used; and the bus policy, dbus/net.groupd1.conf, lets every
 * caller make exactly the reads and the admin group exactly the changes.
 */
#include "bus/bus.h"

#include <string.h>

static char *source_path(const char *rel)
{
    return g_build_filename(GD_SOURCE_ROOT, rel, NULL);
}

static char *read_source(const char *rel)
{
    g_autofree char *path = source_path(rel);
    g_autoptr(GError) error = NULL;
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    g_assert_no_error(error);
    return text;
}

/* "interface method" of every method of dbus/net.groupd1.*.xml. */
static GHashTable *xml_methods(void)
{
    GHashTable *methods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *dir_path = source_path("dbus");
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    g_assert_nonnull(dir);
    const char *name;
    guint files = 0;
    while ((name = g_dir_read_name(dir))) {
        if (!g_str_has_prefix(name, "net.groupd1.") || !g_str_has_suffix(name, ".xml"))
            continue;
        files++;
        g_autofree char *rel = g_build_filename("dbus", name, NULL);
        g_autofree char *xml = read_source(rel);
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        for (guint i = 0; node->interfaces[i]; i++)
            for (guint k = 0; node->interfaces[i]->methods[k]; k++)
                g_hash_table_add(methods, g_strdup_printf("%s %s", node->interfaces[i]->name,
                                                          node->interfaces[i]->methods[k]->name));
    }
    g_assert_cmpuint(files, ==, 3);
    return methods;
}

typedef struct {
    const char *interface;
    const GdBusMethod *methods;
    guint n;
} Table;

static void tables(Table out[2])
{
    out[0].interface = "net.groupd1.Manager";
    out[0].methods = gd_bus_manager_methods(&out[0].n);
    out[1].interface = "net.groupd1.Mptcp";
    out[1].methods = gd_bus_mptcp_methods(&out[1].n);
}

static void test_tables_match_xml(void)
{
    g_autoptr(GHashTable) xml = xml_methods();
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    Table t[2];
    tables(t);
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        for (guint k = 0; k < t[i].n; k++) {
            g_autofree char *key = g_strdup_printf("%s %s", t[i].interface, t[i].methods[k].name);
            if (!g_hash_table_contains(xml, key))
                g_error("%s is in a table but not in dbus/*.xml", key);
            if (!g_hash_table_add(seen, g_strdup(key)))
                g_error("%s is twice in its table", key);
            g_assert_nonnull(t[i].methods[k].handle);
            g_assert_nonnull(t[i].methods[k].run);
            g_assert_true(gd_bus_methods_find(t[i].methods, t[i].n, t[i].methods[k].name) ==
                          &t[i].methods[k]);
        }
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, xml);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        if (!g_hash_table_contains(seen, key))
            g_error("%s is in dbus/*.xml but in no table", (char *)key);
    g_assert_null(gd_bus_methods_find(t[0].methods, t[0].n, "Nothing"));
}

/* ---- data/net.groupd1.policy: the action ids ---- */

static void action_start(GMarkupParseContext *context, const char *element, const char **names,
                         const char **values, gpointer user_data, GError **error)
{
    if (!g_str_equal(element, "action"))
        return;
    for (guint i = 0; names[i]; i++)
        if (g_str_equal(names[i], "id"))
            g_hash_table_add(user_data, g_strdup(values[i]));
}

static GHashTable *parse_markup(const char *rel, const GMarkupParser *parser, gpointer data)
{
    g_autofree char *text = read_source(rel);
    g_autoptr(GError) error = NULL;
    g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new(parser, 0, data, NULL);
    g_assert_true(g_markup_parse_context_parse(context, text, -1, &error));
    g_assert_true(g_markup_parse_context_end_parse(context, &error));
    g_assert_no_error(error);
    return data;
}

static void test_actions_declared(void)
{
    static const GMarkupParser parser = {.start_element = action_start};
    g_autoptr(GHashTable) declared =
        parse_markup("data/net.groupd1.policy", &parser,
                     g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL));
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);
    Table t[2];
    tables(t);
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        for (guint k = 0; k < t[i].n; k++) {
            const char *action = t[i].methods[k].action;
            if (!action)
                continue;
            if (!g_hash_table_contains(declared, action))
                g_error("%s's action %s is not in data/net.groupd1.policy", t[i].methods[k].name,
                        action);
            g_hash_table_add(used, (gpointer)action);
        }
    g_assert_cmpuint(g_hash_table_size(used), ==, g_hash_table_size(declared));
    /* Every Mptcp method changes something. */
    for (guint k = 0; k < t[1].n; k++)
        g_assert_cmpstr(t[1].methods[k].action, ==, "net.groupd1.manage-mptcp");
}

/* ---- dbus/net.groupd1.conf: who may call what ---- */

typedef struct {
    GHashTable *everyone; /* "interface member" the default context allows */
    GHashTable *group;    /* … the one <policy group="…"> allows */
    GHashTable *current;  /* the <policy> being read, or NULL */
    guint group_policies;
} BusPolicy;

static const char *attribute(const char **names, const char **values, const char *name)
{
    for (guint i = 0; names[i]; i++)
        if (g_str_equal(names[i], name))
            return values[i];
    return NULL;
}

static void policy_start(GMarkupParseContext *context, const char *element, const char **names,
                         const char **values, gpointer user_data, GError **error)
{
    BusPolicy *p = user_data;
    if (g_str_equal(element, "policy")) {
        if (g_strcmp0(attribute(names, values, "context"), "default") == 0) {
            p->current = p->everyone;
        } else if (attribute(names, values, "group")) {
            p->group_policies++;
            p->current = p->group;
        }
        return;
    }
    const char *member = attribute(names, values, "send_member");
    if (!p->current || !g_str_equal(element, "allow") || !member ||
        g_strcmp0(attribute(names, values, "send_destination"), GD_BUS_NAME) != 0)
        return;
    const char *interface = attribute(names, values, "send_interface");
    if (g_str_has_prefix(interface, "org.freedesktop.DBus."))
        return; /* properties, introspection, the object manager: open */
    g_hash_table_add(p->current, g_strdup_printf("%s %s", interface, member));
}

static void policy_end(GMarkupParseContext *context, const char *element, gpointer user_data,
                       GError **error)
{
    if (g_str_equal(element, "policy"))
        ((BusPolicy *)user_data)->current = NULL;
}

static void test_bus_policy_agrees(void)
{
    static const GMarkupParser parser = {.start_element = policy_start, .end_element = policy_end};
    BusPolicy p = {
        .everyone = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .group = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    parse_markup("dbus/net.groupd1.conf", &parser, &p);
    g_assert_cmpuint(p.group_policies, ==, 1);
    Table t[2];
    tables(t);
    guint reads = 0, changes = 0;
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        for (guint k = 0; k < t[i].n; k++) {
            g_autofree char *key = g_strdup_printf("%s %s", t[i].interface, t[i].methods[k].name);
            gboolean read = t[i].methods[k].action == NULL;
            if (g_hash_table_contains(p.everyone, key) != read)
                g_error("%s: the default context %s it, but it is a %s", key,
                        read ? "does not allow" : "allows", read ? "read" : "change");
            if (g_hash_table_contains(p.group, key) != !read)
                g_error("%s: the admin group %s it, but it is a %s", key,
                        read ? "is allowed" : "is not allowed", read ? "read" : "change");
            reads += read;
            changes += !read;
        }
    /* Nothing else is allowed (a method the tables do not know). */
    g_assert_cmpuint(g_hash_table_size(p.everyone), ==, reads);
    g_assert_cmpuint(g_hash_table_size(p.group), ==, changes);
    g_assert_cmpuint(reads, ==, 4);
    g_assert_cmpuint(changes, ==, 8);
    g_hash_table_unref(p.everyone);
    g_hash_table_unref(p.group);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bus-methods/tables-match-xml", test_tables_match_xml);
    g_test_add_func("/bus-methods/actions-declared", test_actions_declared);
    g_test_add_func("/bus-methods/bus-policy-agrees", test_bus_policy_agrees);
    return g_test_run();
}
