/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * policy/conflict-log: the engine's memory of the conflicts with other
 * network managers (policy/conflicts.h): the current ones (what the Group
 * object shows), each logged once when it appears (per link, attribute and
 * groupd's value), and the repairs counted while it lasts; a conflict
 * that goes away is forgotten with its count. Main loop only.
 * May call: policy/conflicts, log.
 */
#pragma once

#include "policy/conflicts.h"

typedef struct GdConflictLog GdConflictLog;

GdConflictLog *gd_conflict_log_new(void);
void gd_conflict_log_free(GdConflictLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdConflictLog, gd_conflict_log_free)

/* Sets each conflict's repairs from the counts (a new plan's conflicts). */
void gd_conflict_log_fill(GdConflictLog *log, GPtrArray *conflicts);
/* conflicts (GdConflict *, referenced) become the current ones: new ones
 * are logged, gone ones forgotten. TRUE when the list changed. */
gboolean gd_conflict_log_track(GdConflictLog *log, GPtrArray *conflicts);
/* groupd is about to put its value back over the other manager's: one
 * more repair of c (its repairs updated). */
void gd_conflict_log_repair(GdConflictLog *log, GdConflict *c);
/* The current conflicts of group id (GdConflict *, owned by the log until
 * the next track; the array is the caller's). */
GPtrArray *gd_conflict_log_group(GdConflictLog *log, uint32_t id);
