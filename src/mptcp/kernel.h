/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/kernel: the kernel's MPTCP state as groupd last read it (its
 * endpoints, which of them are groupd's, the limits, the sysctls groupd
 * changed) and the requests that change it, through the platform. Every
 * request is logged; a refusal is logged and handed to the manager (which
 * makes it LastError). Carries out what mptcp/endpoints and mptcp/sysctls
 * decide; decides nothing itself.
 * May call: mptcp/platform, mptcp/endpoints, mptcp/sysctls, cache, config.
 */
#pragma once

#include "mptcp/endpoints.h"
#include "mptcp/platform.h"
#include "mptcp/sysctls.h"

typedef struct {
    GdMpPlatform *platform; /* owned */
    GdCache *cache;         /* link names in messages */
    GArray *endpoints;      /* GdMptcpEndpoint: the kernel's, as last read */
    GHashTable *owned;      /* ids of the endpoints groupd made or adopted */
    GdMptcpLimits limits;
    gboolean limits_known;
    GPtrArray *sysctls; /* GdMptcpSysctl*: what groupd changed */
    /* A refused request or a failed sysctl, already logged. */
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
 * mptcp/endpoints says so, then its diff in order. manage_all: every
 * endpoint is groupd's to manage (Owner=groupd). *added: some were added
 * (their ids are the kernel's choice: read them back). Returns the number
 * of failed requests. */
guint gd_mp_kernel_apply_endpoints(GdMpKernel *kernel, const GArray *wants, gboolean manage_all,
                                   gboolean *added);
/* Sets what wishes (GdMpSysctlWish*) asks unless the current value is good
 * enough; records what changed. */
void gd_mp_kernel_ensure_sysctls(GdMpKernel *kernel, const GPtrArray *wishes);
/* set: sets the limits (-1 leaves one as it is) first; then reads them. */
void gd_mp_kernel_limits(GdMpKernel *kernel, gboolean set, int subflows, int add_addr_accepted);
