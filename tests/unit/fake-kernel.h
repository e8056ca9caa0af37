/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A fake rtnetlink kernel for unit tests: links and addresses in memory, an
 * executor backend that carries group operations out on them the way the
 * kernel does (a group change member by member, stopping at the first that
 * refuses and keeping what it changed; per-link messages each with its own
 * answer), and the events it would send, fed straight into a detached cache.
 * Faults are set per test: a link that refuses, answers that get lost, adds
 * that are acknowledged but not made, DOWN links whose moves are not
 * announced (stock kernels).
 */
#pragma once

#include "cache/cache.h"
#include "policy/ops.h"

#include <glib.h>

typedef struct FakeKernel FakeKernel;

/* cache: a detached cache (gd_cache_new_detached()) that receives the
 * events. */
FakeKernel *fake_kernel_new(GdCache *cache);
void fake_kernel_free(FakeKernel *fk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FakeKernel, fake_kernel_free)

/* A link, announced to the cache; MTU 1500 (68…65535), txqlen 1000. */
void fake_kernel_add_link(FakeKernel *fk, int ifindex, const char *name, uint32_t group,
                          gboolean up);
void fake_kernel_del_link(FakeKernel *fk, int ifindex);
void fake_kernel_add_addr(FakeKernel *fk, int ifindex, const char *cidr);
const GdNlLink *fake_kernel_link(FakeKernel *fk, int ifindex);
/* Someone else renames ifindex (announced). */
void fake_kernel_rename(FakeKernel *fk, int ifindex, const char *name);
/* Someone else sets the MTU of ifindex (announced). */
void fake_kernel_set_mtu(FakeKernel *fk, int ifindex, uint32_t mtu);
gboolean fake_kernel_has_addr(FakeKernel *fk, int ifindex, const char *cidr);

/* Every change of ifindex is refused with error (negative errno) and,
 * when the kernel validates, text as its extended ack. */
void fake_kernel_refuse(FakeKernel *fk, int ifindex, int error, const char *text);
/* The answers to the next operations are lost (-ENOBUFS); what they asked
 * for is still done. */
void fake_kernel_lose_answers(FakeKernel *fk, gboolean lose);
/* Address adds are acknowledged and not made. */
void fake_kernel_silent_adds(FakeKernel *fk, gboolean silent);
/* Someone else deletes ifindex right after the kernel answered the next
 * per-link messages (announced before the runner reads the answers). */
void fake_kernel_delete_after_next(FakeKernel *fk, int ifindex);
/* Whether a DOWN link's group change is announced (stock kernels: no). */
void fake_kernel_announce_down_moves(FakeKernel *fk, gboolean announce);

/* An executor that runs operations on fk, on the main loop. */
GdExecutor *fake_kernel_executor(FakeKernel *fk);
/* Operations fk has run. */
guint fake_kernel_ops(FakeKernel *fk);
/* Group-scoped messages, and per-link messages (undos included). */
guint fake_kernel_group_messages(FakeKernel *fk);
guint fake_kernel_link_messages(FakeKernel *fk);
/* The ifindex of every per-link message (undos included), in the order
 * they reached the fake. */
const GArray *fake_kernel_sent(FakeKernel *fk);
