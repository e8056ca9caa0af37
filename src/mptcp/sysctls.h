/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/sysctls: the sysctls MPTCP failover needs while groupd manages the
 * endpoints (net.mptcp.stale_loss_cnt, a loose rp_filter on the members,
 * and, while it watches subflows, a net.ipv4.ping_group_range that lets it
 * send echoes), when a current value is good enough, and the record of
 * what groupd changed (the SysctlChanges property). Pure: the manager
 * reads and writes.
 * May call: mptcp/active (types), config (types), GLib.
 */
#pragma once

#include "mptcp/active.h"

/* A value groupd wants under /proc/sys. */
typedef struct {
    char *path; /* "net/mptcp/stale_loss_cnt" */
    char *value;
    gboolean rp_filter; /* a loose rp_filter: a current value that is loose already is kept */
} GdMpSysctlWish;

/* What to set (GdMpSysctlWish*, caller's), in order. */
GPtrArray *gd_mp_sysctls_wanted(const GdMptcpConfig *cfg, const GdMpState *st);

/* TRUE when current is good enough for wish. all_strict: conf/all/rp_filter
 * is 1 — the kernel applies max(conf/all, conf/<link>), so a link is strict
 * when either is 1, and 2 (loose) on the link makes it loose either way. */
gboolean gd_mp_sysctls_keep(const GdMpSysctlWish *wish, const char *current, gboolean all_strict);

#define GD_MP_SYSCTL_PING_RANGE "net/ipv4/ping_group_range"

/* What to write to net.ipv4.ping_group_range ("LOW HIGH", the groups that
 * may open ping sockets) so that group gid may, from current: NULL when it
 * already may; else current widened to gid ("gid gid" for the empty range
 * "1 0" of a new network namespace). */
char *gd_mp_sysctls_ping_range(const char *current, uint32_t gid);

typedef struct {
    char *path, *previous, *value;
} GdMptcpSysctl;

/* Records that path went from previous to value in changes (GdMptcpSysctl*):
 * the first previous value is kept. */
void gd_mp_sysctls_record(GPtrArray *changes, const char *path, const char *previous,
                          const char *value);
/* A GPtrArray of GdMptcpSysctl* (owning them). */
GPtrArray *gd_mp_sysctls_changes_new(void);
