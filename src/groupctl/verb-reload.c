/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl reload [--dry-run]: Reload(flags), then the plan it returned. */
#include "groupctl.h"

#define RELOAD_DRY_RUN 1u

int verb_reload(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *reply = NULL;
    const char *plan;
    int r = call_manager(ctl, "Reload", &reply, "u", ctl->dry_run ? RELOAD_DRY_RUN : 0u);
    if (r)
        return r;
    r = sd_bus_message_read(reply, "s", &plan);
    if (r < 0)
        return report_errno("reading Reload's reply", r);
    if (ctl->json) {
        puts(plan);
        return EXIT_OK;
    }
    puts(ctl->dry_run ? "Dry run: nothing was changed. A reload would do:" : "Reloaded. Applied:");
    return print_plan(ctl, plan, ctl->dry_run);
}
