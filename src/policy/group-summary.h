/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/group-summary: what a group is as a whole, from its members: how
 * many, the MTU and tx queue length they share, and whether they are up.
 * Pure: the bus shows it as the Group object's properties. May call: cache
 * (types).
 */
#pragma once

#include "cache/cache.h"

#include <glib.h>

typedef struct {
    guint member_count;
    uint32_t mtu;    /* the members' common MTU; 0 when they differ or there are none */
    uint32_t txqlen; /* the same for the tx queue length */
    /* "up" when every member is, "down" when none is (or there are none),
     * else "mixed". */
    const char *state;
} GdGroupSummary;

/* members: GdLink*. */
void gd_group_summary_of(GPtrArray *members, GdGroupSummary *out);
