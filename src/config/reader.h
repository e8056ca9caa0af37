/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Private to src/config/: the line reader of groupd.conf and the *.group
 * files (GKeyFile's grammar, see config.h) and the error messages, in the
 * four forms config.h lists. */
#pragma once

#include <glib.h>

/* Where messages about one file go. */
typedef struct {
    const char *path;
    GPtrArray *errors; /* never NULL inside the module */
} Report;

void report_take(Report *r, char *msg);
/* "PATH: reason" */
G_GNUC_PRINTF(2, 3) void report_file(Report *r, const char *fmt, ...);
/* "PATH:LINE: reason" */
G_GNUC_PRINTF(3, 4) void report_line(Report *r, guint line, const char *fmt, ...);
/* "PATH: [Section] Key: reason" */
G_GNUC_PRINTF(4, 5)
void report_key(Report *r, const char *section, const char *key, const char *fmt, ...);

/* One "[Section]" (key NULL) or "Key=Value" line. */
typedef struct {
    guint line;
    char *section;
    char *key; /* NULL for a "[Section]" line */
    char *value;
} Item;

/* The items of data in file order. Bad lines are reported and left out,
 * and so are the keys under a bad section line. *syntax_errors counts the
 * bad lines. */
GPtrArray *gd_cfg_reader_scan(Report *r, const char *data, gsize len, guint *syntax_errors);
