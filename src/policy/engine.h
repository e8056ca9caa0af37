/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/engine: keeps the kernel in line with the group policies. Owns the
 * running configuration and the runtime overrides; plans (planner.c) on
 * start, on reload, after the cache published changes (drift), debounced,
 * and at once for links that appear (hot-plug, planned alone); runs the
 * plan's operations through the runner; backs off per group when the
 * kernel refuses. May call: cache, config, planner,
 * runner. Never includes GDBus.
 */
#pragma once

#include "cache/cache.h"
#include "config/config.h"
#include "policy/ops.h"
#include "peers/peer-link.h"
#include "policy/planner.h"
#include "policy/runner.h"

#include <glib.h>

typedef struct GdEngine GdEngine;

/* Called when what the engine reports changed: policies, drift, errors. */
typedef void (*GdEngineChangedFunc)(GdEngine *engine, gpointer user_data);
/* Called when an apply (or a dry run) finished. error: NULL on success, or
 * the errors (of the configuration, or of the kernel), one per line. */
typedef void (*GdEngineDoneFunc)(GdEngine *engine, const char *plan_json, const char *error,
                                 gpointer user_data);

/* Takes config. config_root: where reloads read from (NULL: "/"). */
GdEngine *gd_engine_new(GdCache *cache, GdRunner *runner, const GdGroupNames *names,
                        const char *config_root, GdConfig *config, GdEngineChangedFunc changed,
                        gpointer user_data);
void gd_engine_free(GdEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdEngine, gd_engine_free)

const GdDaemonConfig *gd_engine_daemon_config(GdEngine *engine);
/* The running configuration; replaced (a new pointer) by a reload. */
const GdConfig *gd_engine_config(GdEngine *engine);

/* The first apply; done runs when its operations were answered. */
void gd_engine_start(GdEngine *engine, GdEngineDoneFunc done, gpointer user_data);

/* The cache published changes: reconcile after the debounce (drift
 * repair waits that long: a tug of war with another manager is not
 * fought at event speed). Links that appear or are renamed do not wait:
 * the engine hears of them from the cache at once
 * (gd_cache_set_link_appeared()) and applies their policy alone, in
 * batches of what arrived while the previous batch ran. */
void gd_engine_links_changed(GdEngine *engine);

/* Loads the configuration again. Bad: done gets every error and the
 * running configuration stays. Dry run: done gets the plan of the new
 * configuration and nothing is written. Otherwise the new configuration
 * replaces the old, overrides are dropped, and done runs after the apply. */
void gd_engine_reload(GdEngine *engine, gboolean dry_run, GdEngineDoneFunc done,
                      gpointer user_data);

/* The current plan as JSON (what would change now). */
char *gd_engine_plan_json(GdEngine *engine);

/* What gd_engine_override_done() needs to take an override back. */
typedef struct {
    gboolean had_previous;
    GdNlLinkChange previous;
    guint generation; /* reloads so far: a reload drops every override */
} GdEngineOverrideUndo;

/* A SetGroup on a policy group: its set fields become the group's desired
 * state until the next reload. Returns FALSE (and does nothing) when the
 * group has no policy. Until gd_engine_override_done() the group is left
 * out of applies: a repair must neither undo the call nor repeat it.
 * applied FALSE (the kernel refused) restores the previous override,
 * unless a reload came in between. */
gboolean gd_engine_set_override(GdEngine *engine, uint32_t id, const GdNlLinkChange *change,
                                GdEngineOverrideUndo *undo);
void gd_engine_override_done(GdEngine *engine, uint32_t id, gboolean applied,
                             const GdEngineOverrideUndo *undo);

/* What the bus shows of a group. */
typedef struct {
    gboolean has_policy;
    const char *file;       /* the policy's file */
    GdNlLinkChange desired; /* [Link] with the override merged in */
    GArray *addresses;      /* GdNlAddr, the policy's (not owned) */
    gboolean overridden;
    gboolean yield_to_others; /* OtherManagers=yield */
    guint drifted;
    const char *last_error; /* "" when none */
} GdEngineGroupState;

/* FALSE when the group has no policy (state is zeroed, last_error ""). */
gboolean gd_engine_group_state(GdEngine *engine, uint32_t id, GdEngineGroupState *state);
/* The name a policy gives group id (Name=), or NULL. */
const char *gd_engine_group_name(GdEngine *engine, uint32_t id);
/* The group a policy names name, 0 on success or -ENOENT. */
int gd_engine_resolve_name(GdEngine *engine, const char *name, uint32_t *id);
/* Who else manages each link (peers/peers.h's gd_peers_lookup): for
 * [Match] ManagedBy= and the conflicts with the other manager's profile.
 * Without it every link is managed by "none" and nothing conflicts. */
void gd_engine_set_peers(GdEngine *engine, GdPeerLookupFunc lookup, gpointer data);
/* What a lookup answers changed: plan again (after the debounce). */
void gd_engine_peers_changed(GdEngine *engine);
/* The conflicts of group id with other managers as of the last apply
 * (GdConflict *, policy/conflicts.h, owned by the engine until the next
 * apply; the array is the caller's). */
GPtrArray *gd_engine_group_conflicts(GdEngine *engine, uint32_t id);

/* Ids of the groups that have a policy, in config order. */
GArray *gd_engine_policy_groups(GdEngine *engine);
