/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/kernel: the kernel's MPTCP state as groupd last read it (its
 * endpoints, which of them are groupd's, the limits, the sysctls groupd
 * changed) and the requests that change it, through the platform. Every
 * request is logged; a problem is handed to the manager (which makes it
 * LastError) and logged once (mptcp/refusals); a refused endpoint request
 * waits out its back-off before it is sent again. Carries out what
 * mptcp/endpoints, mptcp/sysctls and mptcp/refusals decide; decides
 * nothing itself.
 * May call: mptcp/platform, mptcp/endpoints, mptcp/sysctls, mptcp/refusals,
 * cache, config.
 */
#pragma once

#include "mptcp/endpoints.h"
#include "mptcp/platform.h"
#include "mptcp/refusals.h"
#include "mptcp/sysctls.h"

typedef struct {
    GdMpPlatform *platform; /* owned */
    GdCache *cache;         /* link names in messages */
    GArray *endpoints;      /* GdMptcpEndpoint: the kernel's, as last read */
    GHashTable *owned;      /* ids of the endpoints groupd made or adopted */
    GdMptcpLimits limits;
    gboolean limits_known;
    GPtrArray *sysctls;     /* GdMptcpSysctl*: what groupd changed */
    GdMpRefusals *refusals; /* endpoint requests backing off */
    GdMpReports *reports;   /* problems logged in this round and the last */
    GHashTable *requests;   /* the endpoint requests of this round */
    /* A problem (a refused request, a failed sysctl), logged as needed. */
    void (*failed)(const char *text, gpointer data);
    /* sysctls changed. */
    void (*changed)(gpointer data);
    gpointer data;
} GdMpKernel;

/* Takes platform. */
void gd_mp_kernel_init(GdMpKernel *kernel, GdMpPlatform *platform, GdCache *cache);
void gd_mp_kernel_clear(GdMpKernel *kernel);

/* "wlan0", "#7" for a link the cache does not know, "" for 0. */
void gd_mp_kernel_link_name(const GdMpKernel *kernel, int ifindex, char name[IFNAMSIZ]);
/* "endpoint 10.0.0.2 dev wlan0 [subflow backup]", for messages. */
char *gd_mp_kernel_endpoint_text(const GdMpKernel *kernel, const GdMptcpEndpoint *ep);

/* Reads the kernel's endpoints again. */
int gd_mp_kernel_read_endpoints(GdMpKernel *kernel);
/* Brings the kernel's endpoints to wants (GdMpWant): a flush when
 * mptcp/endpoints says so, then its diff in order. shared (GdMpShared):
 * wants left out because another member has the address, reported as
 * refusals. manage_all: every endpoint is groupd's to manage
 * (Owner=groupd). *added: some were added (their ids are the kernel's
 * choice: read them back). Returns the number of failed requests. */
guint gd_mp_kernel_apply_endpoints(GdMpKernel *kernel, const GArray *wants, const GArray *shared,
                                   gboolean manage_all, gint64 now, gboolean *added);
/* The end of a round of requests (a reconcile): refusals of requests it did
 * not ask for are forgotten, problems it did not see may be logged again. */
void gd_mp_kernel_round_end(GdMpKernel *kernel);
/* When a refused request is due again, or G_MAXINT64. */
gint64 gd_mp_kernel_next_retry(const GdMpKernel *kernel);
/* The echoes of the subflow watch need ping sockets for group gid:
 * widens net.ipv4.ping_group_range to it when it must. */
void gd_mp_kernel_ensure_ping_range(GdMpKernel *kernel, uint32_t gid);
/* Sets what wishes (GdMpSysctlWish*) asks unless the current value is good
 * enough; records what changed. */
void gd_mp_kernel_ensure_sysctls(GdMpKernel *kernel, const GPtrArray *wishes);
/* set: sets the limits (-1 leaves one as it is) first; then reads them. */
void gd_mp_kernel_limits(GdMpKernel *kernel, gboolean set, int subflows, int add_addr_accepted);
