/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl plan: what the policies would change now, in human terms. */
#include "groupctl.h"

/* "ifb0, ifb1, … (N)": long lists stay one readable line. */
static char *names_text(const JsonValue *links)
{
    enum { MAX_SHOWN = 8 };
    g_autoptr(GString) s = g_string_new(NULL);
    unsigned n = json_len(links);
    for (unsigned i = 0; i < n && i < MAX_SHOWN; i++) {
        g_autofree char *t = json_to_text(json_at(links, i));
        g_string_append_printf(s, "%s%s", i ? ", " : "", t);
    }
    if (n > MAX_SHOWN)
        g_string_append_printf(s, ", ... (%u links)", n);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

int print_plan(Ctl *ctl, const char *plan_json, bool dry_run)
{
    g_autoptr(JsonValue) plan = json_parse(plan_json);
    const JsonValue *groups = json_get(plan, "groups");
    unsigned changing = 0;

    if (!plan || !groups || groups->type != JSON_ARRAY) {
        fprintf(stderr, "groupctl: groupd returned a plan that is not the expected JSON\n");
        return EXIT_DAEMON;
    }
    for (unsigned i = 0; i < json_len(groups); i++) {
        const JsonValue *g = json_at(groups, i);
        g_autofree char *id = json_to_text(json_get(g, "id"));
        const JsonValue *name = json_get(g, "name");
        g_autofree char *members = json_to_text(json_get(g, "members"));
        g_autofree char *drifted = json_to_text(json_get(g, "drifted"));
        g_autofree char *desired = json_to_text(json_get(g, "desired"));
        const JsonValue *override = json_get(g, "override");
        const JsonValue *moves = json_get(g, "moves");
        const JsonValue *change = json_get(g, "change");
        const JsonValue *addresses = json_get(g, "addresses");
        const JsonValue *problems = json_get(g, "problems");
        bool has_name = name && name->type == JSON_STRING && name->text[0];

        print_line("group %s%s%s%s: %s members, %s drifted, desired: %s%s", id,
                   has_name ? " (" : "", has_name ? name->text : "", has_name ? ")" : "", members,
                   drifted, desired[0] ? desired : "-",
                   override && override->boolean ? " (runtime override)" : "");
        bool any = false;
        for (unsigned m = 0; m < json_len(moves); m++) {
            const JsonValue *mv = json_at(moves, m);
            g_autofree char *link = json_to_text(json_get(mv, "link"));
            g_autofree char *from = json_to_text(json_get(mv, "from"));
            print_line("  move %s from group %s", link, from);
            any = true;
        }
        if (change && change->type == JSON_OBJECT) {
            for (unsigned k = 0; k + 1 < change->items->len; k += 2) {
                const JsonValue *attr = change->items->pdata[k];
                const JsonValue *c = change->items->pdata[k + 1];
                g_autofree char *to = json_to_text(json_get(c, "to"));
                const JsonValue *from = json_get(c, "from");
                for (unsigned f = 0; f < json_len(from); f++) {
                    const JsonValue *b = json_at(from, f);
                    g_autofree char *value = json_to_text(json_get(b, "value"));
                    g_autofree char *links = names_text(json_get(b, "links"));
                    print_line("  %s %s -> %s on %s", attr->text, value, to, links);
                }
                if (json_len(from) == 0)
                    print_line("  %s -> %s", attr->text, to);
                any = true;
            }
        }
        for (unsigned a = 0; a < json_len(addresses); a++) {
            const JsonValue *ad = json_at(addresses, a);
            g_autofree char *addr = json_to_text(json_get(ad, "address"));
            g_autofree char *links = names_text(json_get(ad, "links"));
            print_line("  add %s on %s", addr, links);
            any = true;
        }
        for (unsigned p = 0; p < json_len(problems); p++) {
            g_autofree char *text = json_to_text(json_at(problems, p));
            print_line("  problem: %s", text);
        }
        if (any)
            changing++;
        else
            printf("  in line, nothing to change\n");
    }
    unsigned n = json_len(groups);
    if (n == 0)
        printf("No policy groups.\n");
    else
        printf("%u policy group%s, %u %s changes.\n", n, n == 1 ? "" : "s", changing,
               dry_run ? "would get" : "with");
    return EXIT_OK;
}

int verb_plan(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *reply = NULL;
    const char *plan;
    int r = call_manager(ctl, "Plan", &reply, NULL);
    if (r)
        return r;
    r = sd_bus_message_read(reply, "s", &plan);
    if (r < 0)
        return report_errno("reading Plan's reply", r);
    if (ctl->json) {
        puts(plan);
        return EXIT_OK;
    }
    return print_plan(ctl, plan, true);
}
