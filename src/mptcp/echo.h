/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/echo: ICMP echo requests over one given link, and their answers on
 * the main loop. Ping sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6: no
 * capability, the caller's group in net.ipv4.ping_group_range), one per
 * link and family, bound to the link's device, so that an echo leaves by
 * that link whatever the routing table prefers. Used by the watch.
 * May call: mptcp/stall (types), GLib.
 */
#pragma once

#include "mptcp/stall.h"

typedef struct GdMpEcho GdMpEcho;

/* from answered the echo sent over ifindex at sent_at (monotonic µs). */
typedef void (*GdMpEchoAnsweredFunc)(int ifindex, const GdMpAddr *from, gint64 sent_at,
                                     gpointer user_data);

GdMpEcho *gd_mp_echo_new(GdMpEchoAnsweredFunc answered, gpointer user_data);
void gd_mp_echo_free(GdMpEcho *echo);

/* One echo request to target over ifindex: 0, or a negative errno (the
 * link is gone, ping sockets are not allowed…), logged once per errno. */
int gd_mp_echo_send(GdMpEcho *echo, int ifindex, const GdMpAddr *target);
/* Reads the answers waiting in the sockets now (a timer may run before
 * the sockets' own watch on a busy main loop). */
void gd_mp_echo_drain(GdMpEcho *echo);
/* Closes the sockets of links not in ifindexes. */
void gd_mp_echo_keep(GdMpEcho *echo, const int *ifindexes, guint n);

/* ---- the messages, pure for tests ---- */

/* An echo request's ICMP header and payload for a ping socket (the kernel
 * sets the identifier and the checksum): into buf, returns its length. */
gsize gd_mp_echo_build(uint8_t family, uint16_t seq, uint8_t *buf, gsize len);
/* An answer read from a ping socket: 0 and *seq for an echo reply, -EINVAL
 * for anything else. */
int gd_mp_echo_parse(uint8_t family, const uint8_t *buf, gsize len, uint16_t *seq);
