/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who owns the MPTCP endpoints: pure decisions. */
#include "mptcp/owner.h"
#include "peers/peer-link.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>

#define PID_MAX_LIMIT 4194304

gboolean gd_mp_owner_contested(const GdMpOwnerFacts *f)
{
    return f->available && f->mode != GD_MPTCP_MODE_OFF && !f->forced;
}

void gd_mp_owner_decide(const GdMpOwnerFacts *f, char **owner, char **detail)
{
    *owner = NULL;
    *detail = NULL;
    if (!f->available) {
        *owner = g_strdup("none");
        *detail = g_strdup("the kernel has no MPTCP path manager (mptcp_pm)");
    } else if (f->mode == GD_MPTCP_MODE_OFF) {
        *owner = g_strdup("none");
    } else if (f->forced) {
        *owner = g_strdup("groupd");
    } else if (!f->peers_known) {
        *owner = g_strdup("none");
        *detail = g_strdup("waiting to learn which devices NetworkManager manages");
    } else if (f->listener) {
        *owner = g_strdup("mptcpd");
        *detail = g_strdup_printf("%s; set [MPTCP] Owner=groupd to take over", f->listener);
    } else if (f->n_nm) {
        GString *text = g_string_new("NetworkManager adds MPTCP endpoints on ");
        for (guint i = 0; i < f->n_nm; i++) {
            g_autofree char *flags = gd_nm_mptcp_flags_text(f->nm[i].flags);
            g_autofree char *effective =
                gd_nm_mptcp_flags_text(gd_nm_mptcp_effective(f->nm[i].flags));
            g_string_append_printf(text, "%s%s (connection \"%s\", connection.mptcp-flags %s%s%s)",
                                   i ? ", " : "", f->nm[i].ifname, f->nm[i].source, flags,
                                   f->nm[i].flags ? "" : ": ", f->nm[i].flags ? "" : effective);
        }
        g_string_append(text, "; hand them over with \"groupctl mptcp hand-over\", or set "
                              "[MPTCP] Owner=groupd to take over");
        *owner = g_strdup("NetworkManager");
        *detail = g_string_free(text, FALSE);
    } else if (f->foreign) {
        *owner = g_strdup("foreign-endpoints");
        *detail = g_strdup_printf(
            "%s was not made by groupd; set [MPTCP] Owner=groupd to take over", f->foreign);
    } else {
        *owner = g_strdup("groupd");
    }
}

int gd_mp_owner_first_foreign(const GArray *have, GHashTable *owned)
{
    for (guint i = 0; i < have->len; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(have, GdMptcpEndpoint, i);
        if (!g_hash_table_contains(owned, GUINT_TO_POINTER(ep->id)))
            return (int)i;
    }
    return -1;
}

GArray *gd_mp_owner_listeners(const char *text, pid_t self, uint32_t events_group)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(GdMpListener));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    /* The first line names the columns. */
    for (guint i = 1; lines[0] && lines[i]; i++) {
        unsigned long long sk;
        int proto;
        unsigned portid;
        unsigned groups;
        if (sscanf(lines[i], "%llx %d %u %x", &sk, &proto, &portid, &groups) != 4)
            continue;
        if (proto != NETLINK_GENERIC || portid == 0 || (pid_t)portid == self)
            continue;
        GdMpListener l = {.portid = portid, .known = events_group >= 1 && events_group <= 32};
        if (l.known && !(groups & (1u << (events_group - 1))))
            continue;
        g_array_append_val(out, l);
    }
    return out;
}

char *gd_mp_owner_describe_listener(const GdMpListener *l, const char *comm, int comm_errno)
{
    if (!comm) {
        if (comm_errno == ENOENT && l->known && l->portid <= PID_MAX_LIMIT)
            return g_strdup_printf("a process groupd cannot see (netlink port %u) listens "
                                   "to mptcp_pm_events",
                                   l->portid);
        return NULL;
    }
    if (g_str_equal(comm, "mptcpd"))
        return g_strdup_printf("mptcpd runs in this network namespace (pid %u)", l->portid);
    return NULL;
}
