/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * MPTCP connections from the kernel's events. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/connections.h"
#include "config/config.h"

#include <linux/mptcp.h>
#include <string.h>
#include <sys/socket.h>

static void subflow_free(gpointer data)
{
    GdMptcpSubflow *s = data;
    g_free(s->local);
    g_free(s->remote);
    g_free(s->interface);
    g_free(s);
}

static void connection_free(gpointer data)
{
    GdMptcpConnection *c = data;
    g_free(c->local);
    g_free(c->remote);
    g_ptr_array_unref(c->subflows);
    g_free(c);
}

GHashTable *gd_mp_connections_new(void)
{
    return g_hash_table_new_full(NULL, NULL, NULL, connection_free);
}

static void replace(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

static GdMptcpConnection *connection_get(GHashTable *connections, uint32_t token)
{
    GdMptcpConnection *c = g_hash_table_lookup(connections, GUINT_TO_POINTER(token));
    if (!c) {
        c = g_new0(GdMptcpConnection, 1);
        c->token = token;
        c->local = g_strdup("");
        c->remote = g_strdup("");
        c->subflows = g_ptr_array_new_with_free_func(subflow_free);
        g_hash_table_insert(connections, GUINT_TO_POINTER(token), c);
    }
    return c;
}

static int subflow_find(const GdMptcpConnection *c, const char *local, const char *remote)
{
    for (guint i = 0; i < c->subflows->len; i++) {
        const GdMptcpSubflow *s = c->subflows->pdata[i];
        if (g_str_equal(s->local, local) && g_str_equal(s->remote, remote))
            return (int)i;
    }
    return -1;
}

static GdMptcpSubflow *subflow_add(GdMptcpConnection *c, const GdMptcpEvent *ev, const char *local,
                                   const char *remote)
{
    GdMptcpSubflow *s = g_new0(GdMptcpSubflow, 1);
    s->local = g_strdup(local);
    s->remote = g_strdup(remote);
    s->family = ev->family;
    memcpy(s->local_addr, ev->saddr, sizeof(s->local_addr));
    g_ptr_array_add(c->subflows, s);
    return s;
}

static void update_backup(GdMptcpSubflow *s, const GArray *endpoints)
{
    gboolean local = FALSE;
    for (guint i = 0; i < endpoints->len && !local; i++) {
        const GdMptcpEndpoint *ep = &g_array_index(endpoints, GdMptcpEndpoint, i);
        local = ep->family == s->family &&
                memcmp(ep->addr, s->local_addr, s->family == AF_INET ? 4 : 16) == 0 &&
                (ep->flags & GD_MPTCP_FLAG_BACKUP);
    }
    s->backup = s->peer_backup || local;
}

void gd_mp_connections_update_backup(GHashTable *connections, const GArray *endpoints)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, connections);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GdMptcpConnection *c = value;
        for (guint i = 0; i < c->subflows->len; i++)
            update_backup(c->subflows->pdata[i], endpoints);
    }
}

gboolean gd_mp_connections_apply(GHashTable *connections, const GdMptcpEvent *ev, const char *local,
                                 const char *remote, GdMpIfnameFunc ifname, gpointer ifname_data,
                                 const GArray *endpoints)
{
    char name[IFNAMSIZ];
    switch (ev->type) {
    case MPTCP_EVENT_CREATED:
    case MPTCP_EVENT_ESTABLISHED: {
        GdMptcpConnection *c = connection_get(connections, ev->token);
        replace(&c->local, local);
        replace(&c->remote, remote);
        if (subflow_find(c, local, remote) < 0 && ev->family) {
            /* The initial subflow: the event names no interface; it is the
             * link that has the local address. */
            GdMptcpSubflow *s = subflow_add(c, ev, local, remote);
            s->interface = g_strdup(ifname(0, ev->family, ev->saddr, name, ifname_data));
        }
        return TRUE;
    }
    case MPTCP_EVENT_CLOSED:
        g_hash_table_remove(connections, GUINT_TO_POINTER(ev->token));
        return TRUE;
    case MPTCP_EVENT_SUB_ESTABLISHED:
    case MPTCP_EVENT_SUB_PRIORITY: {
        GdMptcpConnection *c = connection_get(connections, ev->token);
        int i = subflow_find(c, local, remote);
        GdMptcpSubflow *s = i >= 0 ? c->subflows->pdata[i] : subflow_add(c, ev, local, remote);
        ifname(ev->ifindex > 0 ? ev->ifindex : 0, ev->family, ev->saddr, name, ifname_data);
        if (*name || !s->interface)
            replace(&s->interface, name);
        if (ev->backup >= 0)
            s->peer_backup = ev->backup;
        update_backup(s, endpoints);
        return TRUE;
    }
    case MPTCP_EVENT_SUB_CLOSED: {
        GdMptcpConnection *c = g_hash_table_lookup(connections, GUINT_TO_POINTER(ev->token));
        int i = c ? subflow_find(c, local, remote) : -1;
        if (i >= 0)
            g_ptr_array_remove_index(c->subflows, (guint)i);
        return TRUE;
    }
    default:
        return FALSE;
    }
}
