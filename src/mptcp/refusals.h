/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mptcp/refusals: what the kernel refused (or would refuse: groupd knows a
 * request cannot work), when to ask again, and what to log. A refused
 * request is not sent again before its back-off passed — 1 s, doubled on
 * each refusal up to 60 s, as policy groups back off — and is forgotten
 * once it went through or is no longer asked for (the situation changed).
 * A problem is logged once: again only after a round of requests without
 * it, or when its text changed. Pure: the time is an argument.
 * May call: GLib.
 */
#pragma once

#include <glib.h>

#define GD_MP_RETRY_FIRST_MSEC 1000
#define GD_MP_RETRY_MAX_MSEC   60000

typedef struct GdMpRefusals GdMpRefusals;

GdMpRefusals *gd_mp_refusals_new(void);
void gd_mp_refusals_free(GdMpRefusals *refusals);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMpRefusals, gd_mp_refusals_free)

/* request (its description, the key) is backing off at now: not to be sent;
 * *text: why it was refused. */
gboolean gd_mp_refusals_waiting(GdMpRefusals *refusals, const char *request, gint64 now,
                                const char **text);
/* request was refused at now with text. Returns how long it waits (µs). */
gint64 gd_mp_refusals_refused(GdMpRefusals *refusals, const char *request, const char *text,
                              gint64 now);
/* request went through. */
void gd_mp_refusals_accepted(GdMpRefusals *refusals, const char *request);
/* One round of requests is over; requests (a set of descriptions) are
 * those it asked for (sent, or backing off): the others' refusals are
 * forgotten. */
void gd_mp_refusals_round(GdMpRefusals *refusals, GHashTable *requests);
/* The earliest moment a refused request may be sent again, or G_MAXINT64. */
gint64 gd_mp_refusals_next_retry(const GdMpRefusals *refusals);

/* Problems logged once. */
typedef struct GdMpReports GdMpReports;

GdMpReports *gd_mp_reports_new(void);
void gd_mp_reports_free(GdMpReports *reports);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdMpReports, gd_mp_reports_free)

/* text is a problem now: TRUE when it is to be logged (not seen in this
 * round or the one before). */
gboolean gd_mp_reports_first(GdMpReports *reports, const char *text);
/* One round is over: what it did not see again may be logged again. */
void gd_mp_reports_round(GdMpReports *reports);
