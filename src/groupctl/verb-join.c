/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl join GROUP LINK...: SetLinkGroup, all moves in one sendmsg(). */
#include "groupctl.h"

int verb_join(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) reply = NULL;
    uint32_t moved = 0;

    /* argv[1..] is NULL-terminated: the group, then the links. */
    if (!args_are_utf8("building SetLinkGroup", argv + 1))
        return EXIT_DAEMON;
    int r = call_manager(ctl, "SetLinkGroup",
                         g_variant_new("(^ass)", (const char *const *)argv + 2, argv[1]), "(u)",
                         &reply);
    if (r)
        return r;
    g_variant_get(reply, "(u)", &moved);
    if (ctl->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        jb_int(b, "Moved", moved);
        json_builder_end_object(b);
        jb_print(b);
    } else {
        printf("Moved %u link%s into group %s.\n", moved, moved == 1 ? "" : "s", argv[1]);
    }
    return EXIT_OK;
}
