/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl address add|del GROUP ADDR: an address on every member. */
#include <string.h>

#include "groupctl.h"

int verb_address(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
    const char *method;

    if (!strcmp(argv[1], "add"))
        method = "AddGroupAddress";
    else if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete") || !strcmp(argv[1], "remove"))
        method = "RemoveGroupAddress";
    else {
        usage_error("address: 'add' or 'del', not '%s'", argv[1]);
        return EXIT_USAGE;
    }
    int r = new_manager_call(ctl, method, &m);
    if (r)
        return r;
    r = sd_bus_message_append(m, "ss", argv[2], argv[3]);
    if (r >= 0)
        r = ctl->force ? sd_bus_message_append(m, "a{sv}", 1, "force", "b", 1)
                       : sd_bus_message_append(m, "a{sv}", 0);
    if (r < 0)
        return report_errno("building the call", r);
    return call_built(ctl, m, &reply);
}
