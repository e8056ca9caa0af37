/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl join GROUP LINK...: SetLinkGroup, all moves in one sendmsg(). */
#include "groupctl.h"

int verb_join(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
    uint32_t moved = 0;

    int r = new_manager_call(ctl, "SetLinkGroup", &m);
    if (r)
        return r;
    /* argv[2..] is NULL-terminated, as sd_bus_message_append_strv wants. */
    r = sd_bus_message_append_strv(m, argv + 2);
    if (r >= 0)
        r = sd_bus_message_append(m, "s", argv[1]);
    if (r < 0)
        return report_errno("building SetLinkGroup", r);
    r = call_built(ctl, m, &reply);
    if (r)
        return r;
    r = sd_bus_message_read(reply, "u", &moved);
    if (r < 0)
        return report_errno("reading SetLinkGroup's reply", r);
    if (ctl->json)
        printf("{\"Moved\":%u}\n", moved);
    else
        printf("Moved %u link%s into group %s.\n", moved, moved == 1 ? "" : "s", argv[1]);
    return EXIT_OK;
}
