/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain inputs for the tests of the MPTCP decisions: members, groups, a
 * configuration and a selection state, built in one line each. */
#pragma once

#include "mptcp/active.h"

/* Member flags for fx_member(). */
enum {
    FX_UP = 1 << 0,
    FX_CARRIER = 1 << 1,
    FX_ROUTE_LOST = 1 << 2,
    FX_OK = FX_UP | FX_CARRIER,
};

/* A member; addrs: NULL-terminated CIDRs ("10.0.0.2/24", "fd00::2/64"),
 * global scope. */
GdMpMember *fx_member(int ifindex, const char *name, unsigned flags, const char *const *addrs);
/* An address of scope and IFA_F_* flags. */
GdNlAddr fx_addr(const char *cidr, uint8_t scope, uint32_t ifa_flags);

/* A group with Endpoint=subflow, unjudged. */
GdMpGroup *fx_group(uint32_t id, const char *name);
/* The same, judged healthy (eligible at once) or down. */
GdMpGroup *fx_group_healthy(uint32_t id, const char *name, gboolean healthy);

/* groupd.conf's defaults in failover mode: HoldDownSec=5, HoldDownMaxSec=60,
 * FlapWindowSec=60, FlapThreshold=3, StaleLossCount=2, RelaxRpFilter=yes,
 * StallDetectMSec=100, limits kept. */
GdMptcpConfig fx_config(void);

/* An empty state in mode; fx_state_clear() frees what fx_add() put in. */
GdMpState fx_state(GdMptcpMode mode);
GdMpGroup *fx_add(GdMpState *st, GdMpGroup *group);
void fx_state_clear(GdMpState *st);

/* "10.0.0.2" → an endpoint of that address (id 0). */
GdMptcpEndpoint fx_endpoint(const char *addr, int ifindex, uint32_t flags);

#define SEC(n) ((gint64)(n)*G_USEC_PER_SEC)

/* A configuration loaded as groupd loads it, from a temporary root with
 * etc/groupd/groupd.conf (conf) and etc/groupd/groups.d/<name> files given
 * as name, text pairs (NULL-terminated). */
GdConfig *fx_load(const char *conf, const char *const *groups);
