/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl mptcp [status|mode|prefer|failover|monitor]: the MPTCP endpoints
 * and failover policy (net.groupd1.Mptcp at /net/groupd1/mptcp). */
#include <string.h>

#include "groupctl.h"
#include "text/text.h"

static const char *const modes[] = {"off", "failover", "power-save", "aggregate"};

/* The order of the XML, which is also the JSON's. */
static const char *const keys[] = {"Mode",   "Preference",    "ActiveGroup",   "Endpoints",
                                   "Limits", "Connections",   "Owner",         "OwnerDetail",
                                   "Health", "SysctlChanges", "FailoverCount", "LastError"};

static void field(const char *label, const char *value, const char *colour)
{
    g_autofree char *shown = gd_text_escape_controls(value);
    printf("%13s: %s%s%s\n", label, colour ? colour : "", shown, colour ? colour_off() : "");
}

/* Further lines of a field. */
static void more(const char *value)
{
    print_line("%13s  %s", "", value);
}

/* A property of the given type, or NULL (absent or of another type: an
 * older or newer groupd). */
static GVariant *prop(GVariant *props, const char *name, const char *type)
{
    return g_variant_lookup_value(props, name, G_VARIANT_TYPE(type));
}

static const char *prop_str(GVariant *props, const char *name)
{
    const char *s = "";
    g_variant_lookup(props, name, "&s", &s);
    return s;
}

static const char *health_colour(const char *state)
{
    if (!strcmp(state, "active"))
        return colour_on("up");
    if (!strcmp(state, "hold-down"))
        return colour_on("mixed");
    if (!strcmp(state, "down"))
        return colour_on("error");
    return NULL;
}

/* ---- JSON: structs as objects with named fields, like monitor's ---- */

static void json_endpoints(JsonBuilder *b, const char *key, GVariant *v)
{
    GVariantIter it;
    uint32_t id;
    const char *address, *iface, *group;
    GVariant *flags;
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(u&s&s&s@as)", &id, &address, &iface, &group, &flags)) {
        json_builder_begin_object(b);
        jb_int(b, "Id", id);
        jb_str(b, "Address", address);
        jb_str(b, "Interface", iface);
        jb_str(b, "Group", group);
        jb_gvariant(b, "Flags", flags);
        json_builder_end_object(b);
        g_variant_unref(flags);
    }
    json_builder_end_array(b);
}

static void json_connections(JsonBuilder *b, const char *key, GVariant *v)
{
    GVariantIter it, sit;
    uint32_t token;
    const char *local, *remote, *iface;
    gboolean backup;
    GVariant *subflows;
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(u&s&s@a(sssb))", &token, &local, &remote, &subflows)) {
        json_builder_begin_object(b);
        jb_int(b, "Token", token);
        jb_str(b, "Local", local);
        jb_str(b, "Remote", remote);
        json_builder_set_member_name(b, "Subflows");
        json_builder_begin_array(b);
        g_variant_iter_init(&sit, subflows);
        while (g_variant_iter_next(&sit, "(&s&s&sb)", &local, &remote, &iface, &backup)) {
            json_builder_begin_object(b);
            jb_str(b, "Local", local);
            jb_str(b, "Remote", remote);
            jb_str(b, "Interface", iface);
            jb_bool(b, "Backup", backup);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        g_variant_unref(subflows);
    }
    json_builder_end_array(b);
}

/* a(sss) as objects with the three given keys. */
static void json_triples(JsonBuilder *b, const char *key, GVariant *v, const char *k0,
                         const char *k1, const char *k2)
{
    GVariantIter it;
    const char *x, *y, *z;
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(&s&s&s)", &x, &y, &z)) {
        json_builder_begin_object(b);
        jb_str(b, k0, x);
        jb_str(b, k1, y);
        jb_str(b, k2, z);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void print_json(GVariant *props)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
        const char *key = keys[k];
        g_autoptr(GVariant) v = NULL;
        if (!strcmp(key, "Endpoints") && (v = prop(props, key, "a(usssas)"))) {
            json_endpoints(b, key, v);
        } else if (!strcmp(key, "Connections") && (v = prop(props, key, "a(ussa(sssb))"))) {
            json_connections(b, key, v);
        } else if (!strcmp(key, "Health") && (v = prop(props, key, "a(sss)"))) {
            json_triples(b, key, v, "Group", "State", "Reason");
        } else if (!strcmp(key, "SysctlChanges") && (v = prop(props, key, "a(sss)"))) {
            json_triples(b, key, v, "Path", "Previous", "Value");
        } else if ((v = g_variant_lookup_value(props, key, NULL))) {
            jb_gvariant(b, key, v); /* strings, as, a{su}, u */
        } else {
            json_builder_set_member_name(b, key);
            json_builder_add_null_value(b);
        }
    }
    json_builder_end_object(b);
    jb_print(b);
}

/* ---- status for a human ---- */

static void print_fields(GVariant *props)
{
    const char *owner = prop_str(props, "Owner"), *detail = prop_str(props, "OwnerDetail");
    const char *active = prop_str(props, "ActiveGroup"), *last = prop_str(props, "LastError");
    uint32_t failovers = 0;
    g_variant_lookup(props, "FailoverCount", "u", &failovers);

    field("Mode", prop_str(props, "Mode"), NULL);
    g_autofree char *owners =
        *detail ? g_strdup_printf("%s (%s)", owner, detail) : g_strdup(*owner ? owner : "-");
    field("Owner", owners, NULL);
    field("ActiveGroup", *active ? active : "-", *active ? colour_on("up") : NULL);

    g_autoptr(GVariant) pref = prop(props, "Preference", "as");
    g_autofree char *prefs = pref ? gvariant_text(pref) : g_strdup("-");
    field("Preference", prefs, NULL);

    g_autoptr(GVariant) limits = prop(props, "Limits", "a{su}");
    g_autoptr(GString) ls = g_string_new(NULL);
    if (limits) {
        GVariantIter it;
        const char *name;
        uint32_t value;
        g_variant_iter_init(&it, limits);
        while (g_variant_iter_next(&it, "{&su}", &name, &value))
            g_string_append_printf(ls, "%s%s %u", ls->len ? ", " : "", name, value);
    }
    field("Limits", ls->len ? ls->str : "-", NULL);

    g_autoptr(GVariant) sysctls = prop(props, "SysctlChanges", "a(sss)");
    if (sysctls && g_variant_n_children(sysctls) > 0) {
        GVariantIter it;
        const char *path, *before, *after;
        bool first = true;
        g_variant_iter_init(&it, sysctls);
        while (g_variant_iter_next(&it, "(&s&s&s)", &path, &before, &after)) {
            g_autofree char *line = g_strdup_printf("%s %s -> %s", path, before, after);
            if (first)
                field("SysctlChanges", line, NULL);
            else
                more(line);
            first = false;
        }
    } else {
        field("SysctlChanges", "-", NULL);
    }
    g_autofree char *counts = g_strdup_printf("%u", failovers);
    field("FailoverCount", counts, NULL);
    field("LastError", *last ? last : "-", *last ? colour_on("error") : NULL);
}

static void print_health(Ctl *ctl, GVariant *props)
{
    static const char *const headers[] = {"GROUP", "STATE", "REASON"};
    g_autoptr(GVariant) v = prop(props, "Health", "a(sss)");
    if (!v || g_variant_n_children(v) == 0) {
        puts("\nNo group takes part in MPTCP.");
        return;
    }
    g_autoptr(Table) t = table_new(3, headers, NULL);
    /* "hold-down" is the longest state: the column keeps its width. */
    table_set_min_width(t, 1, 9);
    GVariantIter it;
    const char *group, *state, *reason;
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(&s&s&s)", &group, &state, &reason)) {
        const char *cells[] = {group, state, *reason ? reason : "-"};
        table_add_row(t, cells, 1, health_colour(state));
    }
    putchar('\n');
    table_print(t, ctl->legend);
}

static void print_endpoints(Ctl *ctl, GVariant *props)
{
    static const char *const headers[] = {"ID", "ADDRESS", "INTERFACE", "GROUP", "FLAGS"};
    static const Align align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT};
    g_autoptr(GVariant) v = prop(props, "Endpoints", "a(usssas)");
    if (!v || g_variant_n_children(v) == 0) {
        puts("\nNo endpoints.");
        return;
    }
    g_autoptr(Table) t = table_new(5, headers, align);
    GVariantIter it;
    uint32_t id;
    const char *address, *iface, *group;
    GVariant *flags;
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(u&s&s&s@as)", &id, &address, &iface, &group, &flags)) {
        g_autofree char *ids = g_strdup_printf("%u", id);
        g_autofree const char **words = g_variant_get_strv(flags, NULL);
        g_autofree char *flagss = words[0] ? g_strjoinv(" ", (char **)words) : g_strdup("-");
        /* "": an endpoint groupd does not own (someone else's). */
        const char *cells[] = {ids, address, *iface ? iface : "-",
                               *group ? group : "(not groupd's)", flagss};
        table_add_row(t, cells, -1, NULL);
        g_variant_unref(flags);
    }
    putchar('\n');
    table_print(t, ctl->legend);
}

/* One row per connection, then one per subflow under it. */
static void print_connections(Ctl *ctl, GVariant *props)
{
    static const char *const headers[] = {"TOKEN", "LOCAL", "REMOTE", "PATH"};
    g_autoptr(GVariant) v = prop(props, "Connections", "a(ussa(sssb))");
    if (!v || g_variant_n_children(v) == 0) {
        puts("\nNo MPTCP connections.");
        return;
    }
    g_autoptr(Table) t = table_new(4, headers, NULL);
    GVariantIter it, sit;
    uint32_t token;
    const char *local, *remote, *iface;
    gboolean backup;
    GVariant *subflows;
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "(u&s&s@a(sssb))", &token, &local, &remote, &subflows)) {
        /* Hex, as `ip mptcp monitor` prints tokens. */
        g_autofree char *tokens = g_strdup_printf("%08x", token);
        size_t n = g_variant_n_children(subflows);
        g_autofree char *paths = g_strdup_printf("%zu subflow%s", n, n == 1 ? "" : "s");
        const char *cells[] = {tokens, local, remote, paths};
        table_add_row(t, cells, -1, NULL);
        g_variant_iter_init(&sit, subflows);
        while (g_variant_iter_next(&sit, "(&s&s&sb)", &local, &remote, &iface, &backup)) {
            g_autofree char *sub_local = g_strdup_printf("  %s", local);
            g_autofree char *path =
                g_strdup_printf("%s%s", *iface ? iface : "-", backup ? " (backup)" : "");
            const char *sub[] = {"", sub_local, remote, path};
            table_add_row(t, sub, -1, NULL);
        }
        g_variant_unref(subflows);
    }
    putchar('\n');
    table_print(t, ctl->legend);
}

static int mptcp_status(Ctl *ctl)
{
    g_autoptr(GVariant) props = NULL;
    int r = get_all(ctl, GD_MPTCP_PATH, GD_MPTCP_IFACE, &props);
    if (r)
        return r;
    if (ctl->json) {
        print_json(props);
        return EXIT_OK;
    }
    print_fields(props);
    print_health(ctl, props);
    print_endpoints(ctl, props);
    print_connections(ctl, props);
    return EXIT_OK;
}

/* ---- the mutating calls ---- */

static int mptcp_call(Ctl *ctl, const char *method, GVariant *params)
{
    return call_groupd(ctl, GD_MPTCP_PATH, GD_MPTCP_IFACE, method, params, NULL, NULL);
}

/* ---- monitor: ActiveGroupChanged ---- */

static bool on_active_group_changed(Ctl *ctl, const char *path, const char *member,
                                    GVariant *params)
{
    const char *group, *previous, *reason;
    if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sss)"))) {
        fprintf(stderr, "groupctl: ignoring a malformed ActiveGroupChanged\n");
        return false;
    }
    g_variant_get(params, "(&s&s&s)", &group, &previous, &reason);
    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        jb_str(b, "Signal", "ActiveGroupChanged");
        jb_str(b, "Group", group);
        jb_str(b, "Previous", previous);
        jb_str(b, "Reason", reason);
        json_builder_end_object(b);
        jb_print(b);
    } else {
        printf("ActiveGroupChanged: %s -> %s: %s\n", *previous ? previous : "-",
               *group ? group : "-", *reason ? reason : "no reason given");
    }
    return true;
}

static int mptcp_monitor(Ctl *ctl)
{
    static const MonitorMatch matches[] = {
        {GD_MPTCP_PATH, false, GD_MPTCP_IFACE, "ActiveGroupChanged", on_active_group_changed},
    };
    return monitor_run(ctl, GD_BUS_NAME " MPTCP", matches, G_N_ELEMENTS(matches));
}

/* ---- dispatch ---- */

int verb_mptcp(Ctl *ctl, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "status";
    int nargs = argc > 1 ? argc - 2 : 0;
    char **args = argv + 2;

    if (!strcmp(sub, "status")) {
        if (nargs > 0) {
            usage_error("mptcp status: too many arguments");
            return EXIT_USAGE;
        }
        return mptcp_status(ctl);
    }
    if (!strcmp(sub, "mode")) {
        if (nargs != 1) {
            usage_error("mptcp mode: needs one argument (off, failover, power-save, aggregate)");
            return EXIT_USAGE;
        }
        bool known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
            known = known || !strcmp(args[0], modes[i]);
        if (!known) {
            usage_error("mptcp mode: '%s' is not off, failover, power-save or aggregate", args[0]);
            return EXIT_USAGE;
        }
        return mptcp_call(ctl, "SetMode", g_variant_new("(s)", args[0]));
    }
    if (!strcmp(sub, "prefer")) {
        if (nargs < 1) {
            usage_error("mptcp prefer: missing argument (groups, most preferred first)");
            return EXIT_USAGE;
        }
        /* args is NULL-terminated: argv's end. */
        if (!args_are_utf8("building the call", args))
            return EXIT_DAEMON;
        return mptcp_call(ctl, "SetPreference", g_variant_new("(^as)", (const char *const *)args));
    }
    if (!strcmp(sub, "failover")) {
        if (nargs > 1) {
            usage_error("mptcp failover: too many arguments");
            return EXIT_USAGE;
        }
        if (!args_are_utf8("building the call", args))
            return EXIT_DAEMON;
        return mptcp_call(ctl, "Failover", g_variant_new("(s)", nargs ? args[0] : ""));
    }
    if (!strcmp(sub, "monitor")) {
        if (nargs > 0) {
            usage_error("mptcp monitor: too many arguments");
            return EXIT_USAGE;
        }
        return mptcp_monitor(ctl);
    }
    if (!strcmp(sub, "hand-over") || !strcmp(sub, "hand-back")) {
        if (nargs > 0) {
            usage_error("mptcp %s: too many arguments", sub);
            return EXIT_USAGE;
        }
        return mptcp_hand_over(ctl, !strcmp(sub, "hand-over"));
    }
    usage_error("mptcp: unknown command '%s' (status, mode, prefer, failover, monitor, hand-over, "
                "hand-back)",
                sub);
    return EXIT_USAGE;
}
