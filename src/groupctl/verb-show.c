/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl show GROUP: every property of one group object. */
#include "groupctl.h"
#include "text/text.h"

/* The order of the XML, which is also the JSON's. */
static const char *const keys[] = {"Id",      "Name",      "MemberCount",   "Members",
                                   "MTU",     "State",     "TxQueueLength", "Policy",
                                   "Drifted", "Conflicts", "LastError"};

static void field(const char *label, const char *value, const char *colour)
{
    g_autofree char *shown = gd_text_escape_controls(value);
    printf("%13s: %s%s%s\n", label, colour ? colour : "", shown, colour ? colour_off() : "");
}

int verb_show(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) props = NULL;
    uint32_t id;
    int r = resolve_group(ctl, argv[1], &id);
    if (r)
        return r;
    g_autofree char *path = g_strdup_printf(GD_GROUP_PREFIX "%u", id);
    r = get_all(ctl, path, GD_GROUP_IFACE, &props);
    if (r)
        return r;

    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        jb_dict_object(b, NULL, props, keys, G_N_ELEMENTS(keys));
        jb_print(b);
        return EXIT_OK;
    }

    uint32_t count = 0, mtu = 0, txqlen = 0, drifted = 0;
    const char *name = "", *state = "", *last_error = "";
    g_autofree const char **members = NULL;
    g_autoptr(GVariant) policy = NULL;
    g_variant_lookup(props, "Name", "&s", &name);
    g_variant_lookup(props, "MemberCount", "u", &count);
    g_variant_lookup(props, "Members", "^a&s", &members);
    g_variant_lookup(props, "MTU", "u", &mtu);
    g_variant_lookup(props, "State", "&s", &state);
    g_variant_lookup(props, "TxQueueLength", "u", &txqlen);
    g_variant_lookup(props, "Drifted", "u", &drifted);
    g_variant_lookup(props, "LastError", "&s", &last_error);
    policy = g_variant_lookup_value(props, "Policy", G_VARIANT_TYPE_VARDICT);

    g_autofree char *ids = g_strdup_printf("%u", id);
    field("Id", ids, NULL);
    field("Name", *name ? name : "-", NULL);
    g_autofree char *counts = g_strdup_printf("%u", count);
    field("MemberCount", counts, NULL);
    if (members && members[0]) {
        field("Members", members[0], NULL);
        for (size_t i = 1; members[i]; i++)
            print_line("%13s  %s", "", members[i]);
    } else {
        field("Members", "-", NULL);
    }
    /* 0: the members differ. */
    g_autofree char *mtus = mtu ? g_strdup_printf("%u", mtu) : g_strdup("- (members differ)");
    field("MTU", mtus, NULL);
    field("State", state, colour_on(state));
    g_autofree char *txqs = txqlen ? g_strdup_printf("%u", txqlen) : g_strdup("- (members differ)");
    field("TxQueueLength", txqs, NULL);
    if (policy && g_variant_n_children(policy) > 0) {
        GVariantIter it;
        const char *key;
        GVariant *value;
        bool first = true;
        g_variant_iter_init(&it, policy);
        while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
            g_autofree char *text = gvariant_text(value);
            g_autofree char *line = g_strdup_printf("%s=%s", key, text);
            if (first)
                field("Policy", line, NULL);
            else
                print_line("%13s  %s", "", line);
            first = false;
            g_variant_unref(value);
        }
    } else {
        field("Policy", "-", NULL);
    }
    g_autofree char *drifts = g_strdup_printf("%u", drifted);
    field("Drifted", drifts, NULL);
    /* Only where another manager's profile says otherwise (groupd(8)). */
    g_autoptr(GVariant) conflicts =
        g_variant_lookup_value(props, "Conflicts", G_VARIANT_TYPE("a(sssssssu)"));
    for (gsize i = 0; conflicts && i < g_variant_n_children(conflicts); i++) {
        const char *link, *attr, *ours, *theirs, *manager, *source, *action;
        uint32_t repairs;
        g_variant_get_child(conflicts, i, "(&s&s&s&s&s&s&su)", &link, &attr, &ours, &theirs,
                            &manager, &source, &action, &repairs);
        g_autofree char *line =
            g_strdup_printf("%s %s: groupd %s, %s %s (%s); %s, %u repairs", link, attr, ours,
                            manager, theirs, source, action, repairs);
        if (i == 0)
            field("Conflicts", line, colour_on("error"));
        else
            print_line("%13s  %s", "", line);
    }
    field("LastError", *last_error ? last_error : "-", *last_error ? colour_on("error") : NULL);
    return EXIT_OK;
}
