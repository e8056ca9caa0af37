/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl plan: what the policies would change now, in human terms. The
 * plan is groupd's JSON (groupd-dbus(7)), read with json-glib; a member of
 * another type than expected reads as absent. */
#include "groupctl.h"

/* obj's member key, or NULL (absent, or obj is not an object). */
static JsonNode *member(JsonNode *obj, const char *key)
{
    if (!obj || !JSON_NODE_HOLDS_OBJECT(obj))
        return NULL;
    return json_object_get_member(json_node_get_object(obj), key);
}

static unsigned length(JsonNode *arr)
{
    return arr && JSON_NODE_HOLDS_ARRAY(arr) ? json_array_get_length(json_node_get_array(arr)) : 0;
}

static JsonNode *element(JsonNode *arr, unsigned i)
{
    return i < length(arr) ? json_array_get_element(json_node_get_array(arr), i) : NULL;
}

static bool is_true(JsonNode *v)
{
    return v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_BOOLEAN &&
           json_node_get_boolean(v);
}

/* A value for a human: "-" for null or absent, yes/no, strings as is,
 * arrays joined with ", ", objects as "key=value ...". */
static char *text(JsonNode *v)
{
    if (!v || JSON_NODE_HOLDS_NULL(v))
        return g_strdup("-");
    if (JSON_NODE_HOLDS_ARRAY(v)) {
        g_autoptr(GString) s = g_string_new(NULL);
        for (unsigned i = 0; i < length(v); i++) {
            g_autofree char *t = text(element(v, i));
            g_string_append_printf(s, "%s%s", i ? ", " : "", t);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
    }
    if (JSON_NODE_HOLDS_OBJECT(v)) {
        g_autoptr(GString) s = g_string_new(NULL);
        JsonObjectIter it;
        const char *key;
        JsonNode *value;
        json_object_iter_init_ordered(&it, json_node_get_object(v));
        while (json_object_iter_next_ordered(&it, &key, &value)) {
            g_autofree char *t = text(value);
            g_string_append_printf(s, "%s%s=%s", s->len ? " " : "", key, t);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
    }
    GType type = json_node_get_value_type(v);
    if (type == G_TYPE_BOOLEAN)
        return g_strdup(json_node_get_boolean(v) ? "yes" : "no");
    if (type == G_TYPE_INT64)
        return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(v));
    if (type == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_dtostr(buf, sizeof buf, json_node_get_double(v)));
    }
    return g_strdup(json_node_get_string(v));
}

/* "ifb0, ifb1, … (N)": long lists stay one readable line. */
static char *names_text(JsonNode *links)
{
    enum { MAX_SHOWN = 8 };
    g_autoptr(GString) s = g_string_new(NULL);
    unsigned n = length(links);
    for (unsigned i = 0; i < n && i < MAX_SHOWN; i++) {
        g_autofree char *t = text(element(links, i));
        g_string_append_printf(s, "%s%s", i ? ", " : "", t);
    }
    if (n > MAX_SHOWN)
        g_string_append_printf(s, ", ... (%u links)", n);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The lines of one group's change; whether it has any. */
static bool print_change(JsonNode *change)
{
    if (!change || !JSON_NODE_HOLDS_OBJECT(change))
        return false;
    bool any = false;
    JsonObjectIter it;
    const char *attr;
    JsonNode *c;
    json_object_iter_init_ordered(&it, json_node_get_object(change));
    while (json_object_iter_next_ordered(&it, &attr, &c)) {
        g_autofree char *to = text(member(c, "to"));
        JsonNode *from = member(c, "from");
        for (unsigned f = 0; f < length(from); f++) {
            JsonNode *bucket = element(from, f);
            g_autofree char *value = text(member(bucket, "value"));
            g_autofree char *links = names_text(member(bucket, "links"));
            print_line("  %s %s -> %s on %s", attr, value, to, links);
        }
        if (length(from) == 0)
            print_line("  %s -> %s", attr, to);
        any = true;
    }
    return any;
}

int print_plan(Ctl *ctl, const char *plan_json, bool dry_run)
{
    g_autoptr(JsonNode) plan = json_from_string(plan_json, NULL);
    JsonNode *groups = member(plan, "groups");
    unsigned changing = 0;

    if (!groups || !JSON_NODE_HOLDS_ARRAY(groups)) {
        fprintf(stderr, "groupctl: groupd returned a plan that is not the expected JSON\n");
        return EXIT_DAEMON;
    }
    for (unsigned i = 0; i < length(groups); i++) {
        JsonNode *g = element(groups, i);
        g_autofree char *id = text(member(g, "id"));
        JsonNode *name = member(g, "name");
        g_autofree char *members = text(member(g, "members"));
        g_autofree char *drifted = text(member(g, "drifted"));
        g_autofree char *desired = text(member(g, "desired"));
        JsonNode *moves = member(g, "moves");
        JsonNode *addresses = member(g, "addresses");
        JsonNode *problems = member(g, "problems");
        const char *name_text =
            name && JSON_NODE_HOLDS_VALUE(name) && json_node_get_value_type(name) == G_TYPE_STRING
                ? json_node_get_string(name)
                : "";

        print_line("group %s%s%s%s: %s members, %s drifted, desired: %s%s", id,
                   *name_text ? " (" : "", name_text, *name_text ? ")" : "", members, drifted,
                   desired[0] ? desired : "-",
                   is_true(member(g, "override")) ? " (runtime override)" : "");
        bool any = false;
        for (unsigned m = 0; m < length(moves); m++) {
            JsonNode *mv = element(moves, m);
            g_autofree char *link = text(member(mv, "link"));
            g_autofree char *from = text(member(mv, "from"));
            print_line("  move %s from group %s", link, from);
            any = true;
        }
        if (print_change(member(g, "change")))
            any = true;
        for (unsigned a = 0; a < length(addresses); a++) {
            JsonNode *ad = element(addresses, a);
            g_autofree char *addr = text(member(ad, "address"));
            g_autofree char *links = names_text(member(ad, "links"));
            print_line("  add %s on %s", addr, links);
            any = true;
        }
        for (unsigned p = 0; p < length(problems); p++) {
            g_autofree char *problem = text(element(problems, p));
            print_line("  problem: %s", problem);
        }
        /* Another manager's profile says otherwise (absent from older groupd). */
        JsonNode *conflicts = member(g, "conflicts");
        for (unsigned c = 0; c < length(conflicts); c++) {
            JsonNode *cf = element(conflicts, c);
            g_autofree char *link = text(member(cf, "link"));
            g_autofree char *attr = text(member(cf, "attribute"));
            g_autofree char *ours = text(member(cf, "groupd"));
            g_autofree char *theirs = text(member(cf, "other"));
            g_autofree char *manager = text(member(cf, "manager"));
            g_autofree char *source = text(member(cf, "source"));
            g_autofree char *action = text(member(cf, "action"));
            g_autofree char *repairs = text(member(cf, "repairs"));
            print_line("  conflict: %s %s: groupd %s, %s %s (%s); %s, %s repairs", link, attr, ours,
                       manager, theirs, source, action, repairs);
        }
        if (any)
            changing++;
        else
            printf("  in line, nothing to change\n");
    }
    unsigned n = length(groups);
    if (n == 0)
        printf("No policy groups.\n");
    else
        printf("%u policy group%s, %u %s changes.\n", n, n == 1 ? "" : "s", changing,
               dry_run ? "would get" : "with");
    return EXIT_OK;
}

int verb_plan(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) reply = NULL;
    const char *plan;
    int r = call_manager(ctl, "Plan", NULL, "(s)", &reply);
    if (r)
        return r;
    g_variant_get(reply, "(&s)", &plan);
    if (ctl->json) {
        puts(plan);
        return EXIT_OK;
    }
    return print_plan(ctl, plan, true);
}
