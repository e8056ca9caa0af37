/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * src/mptcp/connections.c: connections and subflows from a sequence of
 * the kernel's mptcp_pm events, with their interfaces and backup flags. */
#include <netinet/in.h>

#include "mptcp-fixtures.h"
#include "mptcp/connections.h"

#include <arpa/inet.h>
#include <linux/mptcp.h>
#include <string.h>

/* The manager's lookup, here a table: ifindex 3 wlan0, 4 wwan0; without
 * an ifindex, the link whose address is 10.1.0.2 (wlan0). */
static const char *names(int ifindex, uint8_t family, const uint8_t *addr, char buf[IFNAMSIZ],
                         gpointer data)
{
    guint *calls = data;
    (*calls)++;
    uint8_t wlan[4];
    inet_pton(AF_INET, "10.1.0.2", wlan);
    const char *name = ifindex == 3                                                      ? "wlan0"
                       : ifindex == 4                                                    ? "wwan0"
                       : ifindex == 0 && family == AF_INET && memcmp(addr, wlan, 4) == 0 ? "wlan0"
                                                                                         : "";
    g_strlcpy(buf, name, IFNAMSIZ);
    return buf;
}

static GdMptcpEvent event(uint8_t type, uint32_t token, const char *saddr, uint16_t sport,
                          int ifindex, int8_t backup)
{
    GdMptcpEvent ev = {.type = type, .token = token, .ifindex = ifindex, .backup = backup};
    if (saddr) {
        ev.family = AF_INET;
        inet_pton(AF_INET, saddr, ev.saddr);
        inet_pton(AF_INET, "10.9.0.1", ev.daddr);
        ev.sport = sport;
        ev.dport = 80;
    }
    return ev;
}

static gboolean apply(GHashTable *conns, const GdMptcpEvent *ev, const GArray *endpoints,
                      guint *calls)
{
    g_autofree char *local =
        ev->family ? gd_mp_pm_addr_port_format(ev->family, ev->saddr, ev->sport) : g_strdup("");
    g_autofree char *remote =
        ev->family ? gd_mp_pm_addr_port_format(ev->family, ev->daddr, ev->dport) : g_strdup("");
    return gd_mp_connections_apply(conns, ev, local, remote, names, calls, endpoints);
}

static const GdMptcpSubflow *subflow(GHashTable *conns, uint32_t token, guint i)
{
    const GdMptcpConnection *c = g_hash_table_lookup(conns, GUINT_TO_POINTER(token));
    g_assert_nonnull(c);
    g_assert_cmpuint(i, <, c->subflows->len);
    return c->subflows->pdata[i];
}

static void test_events(void)
{
    g_autoptr(GHashTable) conns = gd_mp_connections_new();
    g_autoptr(GArray) eps = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    GdMptcpEndpoint wwan_backup = fx_endpoint("10.2.0.2", 4, GD_MPTCP_FLAG_SUBFLOW);
    g_array_append_val(eps, wwan_backup);
    guint calls = 0;

    /* CREATED: the connection and its initial subflow, on the link that
     * has the local address. */
    GdMptcpEvent ev = event(MPTCP_EVENT_CREATED, 7, "10.1.0.2", 40000, 0, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    const GdMptcpConnection *c = g_hash_table_lookup(conns, GUINT_TO_POINTER(7));
    g_assert_cmpstr(c->local, ==, "10.1.0.2:40000");
    g_assert_cmpstr(c->remote, ==, "10.9.0.1:80");
    g_assert_cmpuint(c->subflows->len, ==, 1);
    g_assert_cmpstr(subflow(conns, 7, 0)->interface, ==, "wlan0");
    /* ESTABLISHED: the same subflow, no second lookup. */
    ev.type = MPTCP_EVENT_ESTABLISHED;
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpuint(c->subflows->len, ==, 1);
    g_assert_cmpuint(calls, ==, 1);

    /* A joined subflow on wwan0, backup by the peer's choice. */
    ev = event(MPTCP_EVENT_SUB_ESTABLISHED, 7, "10.2.0.2", 40001, 4, 1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpuint(c->subflows->len, ==, 2);
    const GdMptcpSubflow *s = subflow(conns, 7, 1);
    g_assert_cmpstr(s->interface, ==, "wwan0");
    g_assert_true(s->peer_backup && s->backup);
    /* The peer clears it (MP_PRIO). */
    ev.type = MPTCP_EVENT_SUB_PRIORITY;
    ev.backup = 0;
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_false(s->peer_backup || s->backup);
    /* Our side: its endpoint became backup; no event says so. */
    g_array_index(eps, GdMptcpEndpoint, 0).flags |= GD_MPTCP_FLAG_BACKUP;
    gd_mp_connections_update_backup(conns, eps);
    g_assert_true(s->backup);
    g_assert_false(s->peer_backup);
    g_assert_false(subflow(conns, 7, 0)->backup);
    /* An event without the interface keeps the one known. */
    ev = event(MPTCP_EVENT_SUB_PRIORITY, 7, "10.2.0.2", 40001, 0, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpstr(subflow(conns, 7, 1)->interface, ==, "wwan0");

    /* SUB_CLOSED removes it; of an unknown connection, nothing. */
    ev = event(MPTCP_EVENT_SUB_CLOSED, 7, "10.2.0.2", 40001, 4, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpuint(c->subflows->len, ==, 1);
    ev.token = 99;
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_null(g_hash_table_lookup(conns, GUINT_TO_POINTER(99)));

    /* A subflow event before any CREATED makes the connection. */
    ev = event(MPTCP_EVENT_SUB_ESTABLISHED, 8, "10.5.0.2", 1, 0, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpstr(subflow(conns, 8, 0)->interface, ==, "");
    g_assert_cmpuint(g_hash_table_size(conns), ==, 2);

    /* The peer's addresses are not ours to track. */
    ev = event(MPTCP_EVENT_ANNOUNCED, 7, NULL, 0, 0, -1);
    g_assert_false(apply(conns, &ev, eps, &calls));
    ev.type = MPTCP_EVENT_REMOVED;
    g_assert_false(apply(conns, &ev, eps, &calls));

    /* CLOSED (token only). */
    ev = event(MPTCP_EVENT_CLOSED, 7, NULL, 0, 0, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_null(g_hash_table_lookup(conns, GUINT_TO_POINTER(7)));
    /* CREATED without addresses: a connection, no subflow. */
    ev = event(MPTCP_EVENT_CREATED, 9, NULL, 0, 0, -1);
    g_assert_true(apply(conns, &ev, eps, &calls));
    g_assert_cmpuint(
        ((GdMptcpConnection *)g_hash_table_lookup(conns, GUINT_TO_POINTER(9)))->subflows->len, ==,
        0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptcp/connections/events", test_events);
    return g_test_run();
}
