/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Requests to the kernel's path manager and sysctl writes, logged. */
/* glibc's netinet/in.h first: linux/in.h (via linux/mptcp.h) then defers to it. */
#include <netinet/in.h>

#include "mptcp/kernel.h"

#include <errno.h>
#include <linux/mptcp.h>

void gd_mp_kernel_init(GdMpKernel *k, GdMpPlatform *platform, GdCache *cache)
{
    *k = (GdMpKernel){.platform = platform, .cache = cache};
    k->endpoints = g_array_new(FALSE, TRUE, sizeof(GdMptcpEndpoint));
    k->owned = g_hash_table_new(NULL, NULL);
    k->sysctls = gd_mp_sysctls_changes_new();
    k->refusals = gd_mp_refusals_new();
    k->reports = gd_mp_reports_new();
    k->requests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

void gd_mp_kernel_clear(GdMpKernel *k)
{
    if (k->platform)
        k->platform->ops->free(k->platform);
    k->platform = NULL;
    g_clear_pointer(&k->endpoints, g_array_unref);
    g_clear_pointer(&k->owned, g_hash_table_unref);
    g_clear_pointer(&k->sysctls, g_ptr_array_unref);
    g_clear_pointer(&k->refusals, gd_mp_refusals_free);
    g_clear_pointer(&k->reports, gd_mp_reports_free);
    g_clear_pointer(&k->requests, g_hash_table_unref);
}

/* A problem: to the manager each time, to the log once (suffix: what only
 * the log says, such as when the request is tried again). */
static void report_with(GdMpKernel *k, const char *text, const char *suffix)
{
    if (gd_mp_reports_first(k->reports, text))
        g_warning("mptcp: %s%s", text, suffix);
    else
        g_debug("mptcp: %s%s", text, suffix);
    if (k->failed)
        k->failed(text, k->data);
}

static void report(GdMpKernel *k, const char *text)
{
    report_with(k, text, "");
}

/* A refused request: what was asked, and the kernel's reason. */
static void refused(GdMpKernel *k, const char *what, int error, const char *extack)
{
    g_autofree char *text = g_strdup_printf("%s: %s", what, extack ? extack : g_strerror(-error));
    report(k, text);
}

void gd_mp_kernel_link_name(const GdMpKernel *k, int ifindex, char name[IFNAMSIZ])
{
    GdLink *link = ifindex > 0 ? gd_cache_link_by_index(k->cache, ifindex) : NULL;
    if (link)
        g_strlcpy(name, link->nl.name, IFNAMSIZ);
    else if (ifindex > 0)
        g_snprintf(name, IFNAMSIZ, "#%d", ifindex);
    else
        name[0] = '\0';
}

char *gd_mp_kernel_endpoint_text(const GdMpKernel *k, const GdMptcpEndpoint *ep)
{
    g_autofree char *addr = gd_mp_pm_addr_format(ep->family, ep->addr);
    char name[IFNAMSIZ];
    gd_mp_kernel_link_name(k, ep->ifindex, name);
    g_auto(GStrv) flags = gd_mptcp_flags_names(ep->flags);
    g_autofree char *flag_text = g_strjoinv(" ", flags);
    return g_strdup_printf("endpoint %s%s%s [%s]", addr, *name ? " dev " : "", name, flag_text);
}

int gd_mp_kernel_read_endpoints(GdMpKernel *k)
{
    g_array_set_size(k->endpoints, 0);
    return k->platform->ops->dump_endpoints(k->platform, k->endpoints);
}

/* A request refused (text: why), by the kernel or by groupd knowing it
 * cannot work: it waits out its back-off. */
static void request_refused(GdMpKernel *k, const char *request, const char *text, gint64 now)
{
    gint64 wait = gd_mp_refusals_refused(k->refusals, request, text, now);
    g_autofree char *suffix =
        g_strdup_printf(" (tried again in %.0f s)", (double)wait / G_USEC_PER_SEC);
    report_with(k, text, suffix);
}

/* Whether request may be sent now: not while it backs off. */
static gboolean request_allowed(GdMpKernel *k, const char *request, gint64 now)
{
    g_hash_table_add(k->requests, g_strdup(request));
    const char *text;
    if (!gd_mp_refusals_waiting(k->refusals, request, now, &text))
        return TRUE;
    /* Still a problem: shown, not logged again. */
    gd_mp_reports_first(k->reports, text);
    if (k->failed)
        k->failed(text, k->data);
    return FALSE;
}

/* 0: done; 1: not sent, backing off; a negative errno: refused. */
static int endpoint_request(GdMpKernel *k, uint8_t cmd, const GdMptcpEndpoint *ep, gint64 now)
{
    g_autofree char *what = gd_mp_kernel_endpoint_text(k, ep);
    const char *verb = cmd == MPTCP_PM_CMD_ADD_ADDR   ? "add"
                       : cmd == MPTCP_PM_CMD_DEL_ADDR ? "delete"
                                                      : "set flags of";
    g_autofree char *request = g_strdup_printf("%s %s", verb, what);
    if (!request_allowed(k, request, now))
        return 1;
    g_autofree char *extack = NULL;
    int r = k->platform->ops->endpoint(k->platform, cmd, ep, &extack);
    if (r < 0) {
        g_autofree char *text =
            g_strdup_printf("cannot %s: %s", request, extack ? extack : g_strerror(-r));
        request_refused(k, request, text, now);
        return r;
    }
    gd_mp_refusals_accepted(k->refusals, request);
    g_message("mptcp: %s %s",
              cmd == MPTCP_PM_CMD_ADD_ADDR   ? "added"
              : cmd == MPTCP_PM_CMD_DEL_ADDR ? "deleted"
                                             : "flags set:",
              what);
    return 0;
}

/* An add groupd knows the kernel would refuse (text: why): never sent. */
static void endpoint_blocked(GdMpKernel *k, const GdMptcpEndpoint *ep, const char *text, gint64 now)
{
    g_autofree char *what = gd_mp_kernel_endpoint_text(k, ep);
    g_autofree char *request = g_strdup_printf("add %s", what);
    if (request_allowed(k, request, now))
        request_refused(k, request, text, now);
}

/* More endpoints wanted than the kernel keeps: the last ones are left out. */
static void report_left_out(GdMpKernel *k, const GArray *wants)
{
    g_autoptr(GString) left = g_string_new(NULL);
    for (guint i = GD_MPTCP_MAX_LIMIT; i < wants->len; i++) {
        g_autofree char *t = gd_mp_kernel_endpoint_text(k, &g_array_index(wants, GdMpWant, i).ep);
        g_string_append_printf(left, "%s%s", left->len ? ", " : "", t);
    }
    g_autofree char *text =
        g_strdup_printf("%u endpoints wanted, the kernel keeps at most %u; left out: %s",
                        wants->len, GD_MPTCP_MAX_LIMIT, left->str);
    report(k, text);
}

guint gd_mp_kernel_apply_endpoints(GdMpKernel *k, const GArray *wants, const GArray *shared,
                                   gboolean manage_all, gint64 now, gboolean *added)
{
    guint failed = 0;
    *added = FALSE;
    for (guint i = 0; i < shared->len; i++, failed++) {
        const GdMpShared *s = &g_array_index(shared, GdMpShared, i);
        endpoint_blocked(k, &s->want.ep, s->text, now);
    }
    if (wants->len > GD_MPTCP_MAX_LIMIT)
        report_left_out(k, wants);
    if (gd_mp_endpoints_flush_first(k->endpoints, wants, g_hash_table_size(k->owned), manage_all)) {
        g_autofree char *extack = NULL;
        int r = k->platform->ops->flush(k->platform, &extack);
        if (r == 0) {
            g_message("mptcp: Owner=groupd: flushed %u endpoints none of which is wanted",
                      k->endpoints->len);
            g_array_set_size(k->endpoints, 0);
        } else {
            refused(k, "cannot flush the endpoints", r, extack);
            failed++;
        }
    }
    g_autoptr(GArray) actions = gd_mp_endpoints_diff(k->endpoints, wants, k->owned, manage_all);
    for (guint i = 0; i < actions->len; i++) {
        const GdMpEndpointAction *a = &g_array_index(actions, GdMpEndpointAction, i);
        switch (a->op) {
        case GD_MP_ENDPOINT_DELETE: {
            int r = endpoint_request(k, MPTCP_PM_CMD_DEL_ADDR, &a->ep, now);
            failed += r != 0;
            /* Gone, or refused (it may be gone already): no longer groupd's.
             * One not asked for yet stays groupd's. */
            if (r <= 0)
                g_hash_table_remove(k->owned, GUINT_TO_POINTER(a->ep.id));
            break;
        }
        case GD_MP_ENDPOINT_REPLACE:
            if (endpoint_request(k, MPTCP_PM_CMD_DEL_ADDR, &a->old, now) != 0 ||
                endpoint_request(k, MPTCP_PM_CMD_ADD_ADDR, &a->ep, now) != 0)
                failed++;
            else
                *added = TRUE;
            break;
        case GD_MP_ENDPOINT_SET_FLAGS:
            if (endpoint_request(k, MPTCP_PM_CMD_SET_FLAGS, &a->ep, now) != 0)
                failed++;
            break;
        case GD_MP_ENDPOINT_ADD:
            if (endpoint_request(k, MPTCP_PM_CMD_ADD_ADDR, &a->ep, now) != 0)
                failed++;
            else
                *added = TRUE;
            break;
        case GD_MP_ENDPOINT_BLOCKED: {
            g_autofree char *what = gd_mp_kernel_endpoint_text(k, &a->ep);
            g_autofree char *other = gd_mp_kernel_endpoint_text(k, &a->old);
            g_autofree char *text = g_strdup_printf(
                "cannot add %s: the kernel has %s (id %u) for the same address, which groupd did "
                "not make",
                what, other, a->old.id);
            endpoint_blocked(k, &a->ep, text, now);
            failed++;
            break;
        }
        }
    }
    return failed;
}

/* The sysctl's value now, or NULL (reported). */
static char *read_sysctl(GdMpKernel *k, const char *path)
{
    char *current = NULL;
    int r = k->platform->ops->read_sysctl(k->platform, path, &current);
    if (r < 0) {
        g_autofree char *text = g_strdup_printf("cannot read sysctl %s: %s", path, g_strerror(-r));
        report(k, text);
        return NULL;
    }
    return current;
}

static void write_sysctl(GdMpKernel *k, const char *path, const char *current, const char *value)
{
    int r = k->platform->ops->write_sysctl(k->platform, path, value);
    if (r < 0) {
        g_autofree char *text =
            g_strdup_printf("cannot set sysctl %s=%s: %s", path, value, g_strerror(-r));
        report(k, text);
        return;
    }
    g_message("mptcp: sysctl %s: %s → %s", path, current, value);
    gd_mp_sysctls_record(k->sysctls, path, current, value);
    if (k->changed)
        k->changed(k->data);
}

static void ensure_sysctl(GdMpKernel *k, const GdMpSysctlWish *w, gboolean all_strict)
{
    g_autofree char *current = read_sysctl(k, w->path);
    if (current && !gd_mp_sysctls_keep(w, current, all_strict))
        write_sysctl(k, w->path, current, w->value);
}

void gd_mp_kernel_ensure_ping_range(GdMpKernel *k, uint32_t gid)
{
    g_autofree char *current = read_sysctl(k, GD_MP_SYSCTL_PING_RANGE);
    /* "1<TAB>0": shown as "1 0" in SysctlChanges. */
    if (current)
        g_strdelimit(current, "\t", ' ');
    g_autofree char *value = current ? gd_mp_sysctls_ping_range(current, gid) : NULL;
    if (value)
        write_sysctl(k, GD_MP_SYSCTL_PING_RANGE, current, value);
}

void gd_mp_kernel_ensure_sysctls(GdMpKernel *k, const GPtrArray *wishes)
{
    GdMpPlatform *p = k->platform;
    gboolean all_read = FALSE, all_strict = FALSE;
    for (guint i = 0; i < wishes->len; i++) {
        const GdMpSysctlWish *w = wishes->pdata[i];
        if (w->rp_filter && !all_read) {
            g_autofree char *all = NULL;
            all_strict = p->ops->read_sysctl(p, "net/ipv4/conf/all/rp_filter", &all) == 0 &&
                         g_str_equal(all, "1");
            all_read = TRUE;
        }
        ensure_sysctl(k, w, all_strict);
    }
}

void gd_mp_kernel_limits(GdMpKernel *k, gboolean set, int subflows, int add_addr_accepted)
{
    GdMpPlatform *p = k->platform;
    g_autofree char *extack = NULL;
    int r;
    if (set) {
        r = p->ops->set_limits(p, subflows, add_addr_accepted, &extack);
        if (r < 0)
            refused(k, "cannot set limits", r, extack);
        else
            g_message("mptcp: limits set: subflows %d, add_addr_accepted %d", subflows,
                      add_addr_accepted);
    }
    g_clear_pointer(&extack, g_free);
    r = p->ops->get_limits(p, &k->limits, &k->limits_known, &extack);
    if (r < 0)
        refused(k, "cannot read limits", r, extack);
}

void gd_mp_kernel_round_end(GdMpKernel *k)
{
    gd_mp_refusals_round(k->refusals, k->requests);
    g_hash_table_remove_all(k->requests);
    gd_mp_reports_round(k->reports);
}

gint64 gd_mp_kernel_next_retry(const GdMpKernel *k)
{
    return gd_mp_refusals_next_retry(k->refusals);
}
