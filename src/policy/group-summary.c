/* SPDX-License-Identifier: LGPL-2.1-or-later
 * A group as a whole, from its members (group-summary.h). */
#include "group-summary.h"

void gd_group_summary_of(GPtrArray *members, GdGroupSummary *out)
{
    guint up = 0;
    *out = (GdGroupSummary){.member_count = members->len};
    for (guint i = 0; i < members->len; i++) {
        const GdLink *link = members->pdata[i];
        if (i == 0) {
            out->mtu = link->nl.mtu;
            out->txqlen = link->nl.txqlen;
        } else {
            if (out->mtu != link->nl.mtu)
                out->mtu = 0;
            if (out->txqlen != link->nl.txqlen)
                out->txqlen = 0;
        }
        up += gd_link_is_up(link) ? 1 : 0;
    }
    out->state = up == 0 ? "down" : up == members->len ? "up" : "mixed";
}
