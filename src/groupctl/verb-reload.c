/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl reload [--dry-run]: Reload(flags), then the plan it returned. */
#include "groupctl.h"

#define RELOAD_DRY_RUN 1u

int verb_reload(Ctl *ctl, int argc, char **argv)
{
    g_autoptr(GVariant) reply = NULL;
    const char *plan;
    int r = call_manager(ctl, "Reload", g_variant_new("(u)", ctl->dry_run ? RELOAD_DRY_RUN : 0u),
                         "(s)", &reply);
    if (r)
        return r;
    g_variant_get(reply, "(&s)", &plan);
    if (ctl->json) {
        puts(plan);
        return EXIT_OK;
    }
    puts(ctl->dry_run ? "Dry run: nothing was changed. A reload would do:" : "Reloaded. Applied:");
    return print_plan(ctl, plan, ctl->dry_run);
}
