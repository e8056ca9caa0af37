/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl address add|del GROUP ADDR: an address on every member. */
#include <string.h>

#include "groupctl.h"

int verb_address(Ctl *ctl, int argc, char **argv)
{
    const char *method;

    if (!strcmp(argv[1], "add"))
        method = "AddGroupAddress";
    else if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete") || !strcmp(argv[1], "remove"))
        method = "RemoveGroupAddress";
    else {
        usage_error("address: 'add' or 'del', not '%s'", argv[1]);
        return EXIT_USAGE;
    }
    if (!args_are_utf8("building the call", argv + 2))
        return EXIT_DAEMON;
    g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
    if (ctl->force)
        g_variant_builder_add(&options, "{sv}", "force", g_variant_new_boolean(TRUE));
    return call_manager(ctl, method, g_variant_new("(ssa{sv})", argv[2], argv[3], &options), NULL,
                        NULL);
}
