/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: generic netlink MPTCP parsing (src/mptcp/pm.c). The input is
 * one recv() buffer of generic netlink messages (the corpus holds events,
 * endpoint dumps, limits and the controller's family reply, as the kernel
 * sends them; capture-mptcp.py records them from a real connection). Every message libmnl
 * accepts is parsed as the controller's family reply, an endpoint, limits
 * and an event, with the message's own type as the family id.
 * Properties checked besides memory safety:
 *   - a parsed endpoint or event has family AF_INET, AF_INET6 (or none for
 *     an event without addresses) and its addresses format;
 *   - a parser refuses a message of another family id with -EINVAL;
 */
#include <netinet/in.h>

#include "fuzz-common.h"

#include "mptcp/pm.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>
#include <sys/socket.h>

static void parse_one(const struct nlmsghdr *nlh)
{
    uint16_t family_id = nlh->nlmsg_type;

    GdMptcpFamily family;
    (void)gd_mp_pm_parse_family(nlh, &family);

    GdMptcpEndpoint ep;
    int r = gd_mp_pm_parse_endpoint(nlh, family_id, &ep);
    if (r == 0) {
        fuzz_assert(ep.family == AF_INET || ep.family == AF_INET6);
        g_free(gd_mp_pm_addr_format(ep.family, ep.addr));
        g_free(gd_mp_pm_addr_port_format(ep.family, ep.addr, ep.port));
    }
    fuzz_assert(gd_mp_pm_parse_endpoint(nlh, (uint16_t)(family_id + 1), &ep) == -EINVAL);

    GdMptcpLimits limits;
    (void)gd_mp_pm_parse_limits(nlh, family_id, &limits);

    GdMptcpEvent ev;
    r = gd_mp_pm_parse_event(nlh, family_id, &ev);
    if (r == 0) {
        fuzz_assert(ev.family == 0 || ev.family == AF_INET || ev.family == AF_INET6);
        fuzz_assert(ev.backup >= -1 && ev.backup <= 1);
        fuzz_assert(gd_mp_pm_event_name(ev.type) != NULL);
        if (ev.family) {
            g_free(gd_mp_pm_addr_port_format(ev.family, ev.saddr, ev.sport));
            g_free(gd_mp_pm_addr_port_format(ev.family, ev.daddr, ev.dport));
        }
    }
    fuzz_assert(gd_mp_pm_parse_event(nlh, (uint16_t)(family_id + 1), &ev) == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 1 << 20)
        return 0;
    /* Netlink buffers are aligned: a fresh allocation of exactly size. */
    void *buf = g_memdup2(data, size);
    const struct nlmsghdr *nlh = buf;
    int left = (int)size;
    /* As in fuzz-rtnl.c: a length of 2^31 or more never comes from the kernel. */
    while (mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left) {
        parse_one(nlh);
        nlh = mnl_nlmsg_next(nlh, &left);
    }
    g_free(buf);
    return 0;
}
