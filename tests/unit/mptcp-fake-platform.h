/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A fake platform for the MPTCP manager: the kernel's path manager kept in
 * memory (endpoint table with ids as the kernel gives them, limits), the
 * sysctls in a table, default routes and other path managers as the test
 * sets them, and a clock the test moves. Every request is recorded, and a
 * request can be made to fail. Events, route changes and stalls are
 * injected through the handlers the manager installed.
 */
#pragma once

#include "mptcp/platform.h"

typedef struct {
    uint8_t cmd; /* MPTCP_PM_CMD_ADD_ADDR, _DEL_ADDR, _SET_FLAGS, _FLUSH_ADDRS, _SET_LIMITS */
    GdMptcpEndpoint ep;
} FakeRequest;

typedef struct {
    GdMpPlatform base;
    GArray *endpoints; /* GdMptcpEndpoint: the kernel's table */
    GArray *requests;  /* FakeRequest, in order */
    GdMptcpLimits limits;
    GHashTable *sysctls;     /* path → value; a path not in it cannot be read */
    GHashTable *read_only;   /* paths whose writes fail with EACCES */
    GHashTable *routes_lost; /* ifindex set */
    GHashTable *link_types;  /* name → type ("wlan"…); others "ether" */
    char *listener;          /* another path manager, described */
    gboolean watching_routes;
    GArray *subflow_links; /* int: what the manager watches */
    guint subflow_interval;
    GArray *probed_paths; /* GdMpPathProbe: the paths the manager probes with echoes */
    int fail_cmd;         /* a request of this cmd fails (-1: none)… */
    int fail_errno;       /* …with this errno… */
    char *fail_extack;    /* …and this message */
    int dump_errno;       /* the endpoint dump fails with it (0: works) */
    gint64 now;
    GArray *timers; /* armed one-shot timers */
    guint next_timer;
} FakePlatform;

FakePlatform *fake_platform_new(gboolean available);
/* Moves the clock; the timers that are due then run (in order). */
void fake_platform_advance(FakePlatform *f, gint64 usec);
/* The earliest armed timer, or G_MAXINT64. */
gint64 fake_platform_next_timer(FakePlatform *f);
/* An endpoint made by someone else: returns its id. */
uint8_t fake_platform_add_endpoint(FakePlatform *f, const char *addr, int ifindex, uint32_t flags);
/* The endpoint with this address, or NULL. */
const GdMptcpEndpoint *fake_platform_endpoint(FakePlatform *f, const char *addr);
/* The kernel's events and the watch's reports, as the Linux platform gives them. */
void fake_platform_event(FakePlatform *f, const GdMptcpEvent *event);
void fake_platform_routes_changed(FakePlatform *f);
void fake_platform_stalled(FakePlatform *f, int ifindex, const char *detail);
/* The same, with an address that answers echoes over the link ("10.9.0.1"). */
void fake_platform_stalled_at(FakePlatform *f, int ifindex, const char *detail, const char *target);
void fake_platform_path_alive(FakePlatform *f, int ifindex);
/* Counts the recorded requests of cmd, and forgets them all. */
guint fake_platform_count(FakePlatform *f, uint8_t cmd);
void fake_platform_forget_requests(FakePlatform *f);
