/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: rtnetlink parsing (src/netlink/nl-msg.c) and the cache fed
 * by it (src/cache/cache.c). The input is one recv() buffer of
 * NETLINK_ROUTE messages (the corpus holds real dumps, captured by
 * capture-rtnl.py); every message that libmnl accepts is parsed as a link,
 * an address and a status, and fed to a detached cache: once as events,
 * once inside a resync (mark and sweep), once more as events.
 * Properties checked besides memory safety:
 *   - parsed structs are within their bounds (name NUL-terminated and not
 *     empty, hwaddr_len <= GD_NL_MAX_HWADDR, prefix within the family);
 *   - an extack points inside the message and ends inside it;
 *   - the cache stays consistent: every link is found by its ifindex, is
 *     a member of its group, group sizes add up to the link count, and a
 *     lookup by name gives NULL or a link of that name.
 */
#include "fuzz-common.h"

#include "cache/cache.h"
#include "netlink/nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>
#include <sys/socket.h>

static void parse_one(const struct nlmsghdr *nlh)
{
    GdNlLink link;
    int r = gd_nl_parse_link(nlh, &link);
    if (r == 0) {
        fuzz_assert(link.ifindex > 0);
        fuzz_assert(memchr(link.name, '\0', sizeof(link.name)) != NULL);
        fuzz_assert(link.name[0] != '\0');
        fuzz_assert(memchr(link.kind, '\0', sizeof(link.kind)) != NULL);
        fuzz_assert(link.hwaddr_len <= GD_NL_MAX_HWADDR);
        fuzz_assert(link.carrier >= -1 && link.carrier <= 1);
    }

    GdNlAddr addr;
    r = gd_nl_parse_addr(nlh, &addr);
    if (r == 0) {
        fuzz_assert(addr.family == AF_INET || addr.family == AF_INET6);
        fuzz_assert(addr.prefixlen <= (addr.family == AF_INET ? 32 : 128));
        fuzz_assert(addr.ifindex > 0);
        g_free(gd_nl_addr_format(&addr));
    }

    int error = 1;
    const char *extack = (const char *)1;
    r = gd_nl_parse_status(nlh, &error, &extack);
    if (r == 0) {
        fuzz_assert(error <= 0);
        if (extack) {
            const char *start = (const char *)nlh, *end = start + nlh->nlmsg_len;
            fuzz_assert(extack >= start && extack < end);
            fuzz_assert(memchr(extack, '\0', (size_t)(end - extack)) != NULL);
        }
    } else {
        fuzz_assert(extack == NULL);
    }
}

static void feed(GdCache *cache, const void *buf, size_t len, gboolean parse)
{
    const struct nlmsghdr *nlh = buf;
    int left = (int)len;
    /* mnl_nlmsg_ok() compares (int)nlmsg_len <= len: a length of 2^31 or
     * more passes it (and MNL_ALIGN() wraps it to 0 near 2^32, so
     * mnl_nlmsg_next() would not advance). The kernel never sends such a
     * length, so the input is cut there, as a reader of a real socket
     * would never see it. */
    while (mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left) {
        if (parse)
            parse_one(nlh);
        (void)gd_cache_apply_message(cache, nlh);
        nlh = mnl_nlmsg_next(nlh, &left);
    }
}

static void check_cache(GdCache *cache)
{
    GPtrArray *links = gd_cache_links(cache);
    fuzz_assert(links->len == gd_cache_link_count(cache));
    for (guint i = 0; i < links->len; i++) {
        GdLink *link = links->pdata[i];
        fuzz_assert(link != NULL && link->addrs != NULL);
        fuzz_assert(gd_cache_link_by_index(cache, link->nl.ifindex) == link);
        GdLink *named = gd_cache_link_by_name(cache, link->nl.name);
        fuzz_assert(named == NULL || strcmp(named->nl.name, link->nl.name) == 0);
        (void)gd_link_is_up(link);
        fuzz_assert(gd_link_operstate_name(link) != NULL);
        GPtrArray *members = gd_cache_group_members(cache, link->nl.group);
        gboolean found = FALSE;
        for (guint m = 0; m < members->len; m++)
            found |= members->pdata[m] == link;
        fuzz_assert(found);
        g_ptr_array_unref(members);
    }
    GArray *ids = gd_cache_group_ids(cache);
    guint total = 0;
    for (guint i = 0; i < ids->len; i++) {
        uint32_t id = g_array_index(ids, uint32_t, i);
        GPtrArray *members = gd_cache_group_members(cache, id);
        fuzz_assert(members->len > 0 && members->len == gd_cache_group_size(cache, id));
        for (guint m = 0; m < members->len; m++) {
            GdLink *link = members->pdata[m];
            fuzz_assert(link != NULL && link->nl.group == id);
        }
        total += members->len;
        g_ptr_array_unref(members);
    }
    fuzz_assert(total == links->len);
    g_array_unref(ids);
    g_ptr_array_unref(links);
}

static void check_changes(GdCache *cache)
{
    GdChangeSet *set = gd_cache_take_changes(cache);
    fuzz_assert(set != NULL);
    (void)gd_change_set_is_empty(set);
    /* A changed link is in the cache; a removed one is not. */
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, set->changed);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        fuzz_assert(gd_cache_link_by_index(cache, GPOINTER_TO_INT(key)) != NULL);
    g_hash_table_iter_init(&iter, set->removed);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        fuzz_assert(gd_cache_link_by_index(cache, GPOINTER_TO_INT(key)) == NULL);
    gd_change_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 1 << 20)
        return 0;
    /* Netlink buffers are aligned: copy into a fresh allocation of exactly
     * the input's size. */
    void *buf = g_malloc(size ? size : 1);
    if (size)
        memcpy(buf, data, size);

    GdCache *cache = gd_cache_new_detached();
    feed(cache, buf, size, TRUE);
    check_cache(cache);
    check_changes(cache);

    gd_cache_resync_begin(cache);
    feed(cache, buf, size, FALSE);
    gd_cache_resync_end(cache);
    check_cache(cache);
    check_changes(cache);

    /* Resync over half the input: whatever the second half alone created
     * is swept. */
    gd_cache_resync_begin(cache);
    feed(cache, buf, size / 2, FALSE);
    gd_cache_resync_end(cache);
    check_cache(cache);
    check_changes(cache);

    feed(cache, buf, size, FALSE);
    check_cache(cache);
    check_changes(cache);

    gd_cache_free(cache);
    g_free(buf);
    return 0;
}
