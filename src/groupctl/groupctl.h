/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl: the command-line client of groupd (net.groupd1), on GDBus, the
 * D-Bus stack of groupd itself. One file per verb; this header is the
 * interface of the shared helpers (groupctl.c: the bus; output.c: errors,
 * colour, JSON output through json-glib; table.c: aligned tables;
 * verb-monitor.c: the signal loop both monitors share). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define GD_BUS_NAME      "net.groupd1"
#define GD_MANAGER_PATH  "/net/groupd1"
#define GD_MANAGER_IFACE "net.groupd1.Manager"
#define GD_GROUP_IFACE   "net.groupd1.Group"
#define GD_GROUP_PREFIX  "/net/groupd1/group/"
#define GD_MPTCP_PATH    "/net/groupd1/mptcp"
#define GD_MPTCP_IFACE   "net.groupd1.Mptcp"

/* Exit codes (see groupctl --help). */
enum {
    EXIT_OK = 0,
    EXIT_DAEMON = 1, /* a D-Bus error from groupd, or a failed request */
    EXIT_USAGE = 2,
    EXIT_NOBUS = 3, /* no bus, or groupd is not on it */
};

typedef struct {
    GDBusConnection *bus;
    bool json;
    bool legend;
    bool force;
    bool dry_run;
    unsigned count; /* monitor: stop after this many batches (mptcp monitor:
                     * signals), 0: never */
} Ctl;

typedef int (*VerbFunc)(Ctl *ctl, int argc, char **argv);

/* Verbs: argv[0] is the verb; return an exit code. */
int verb_status(Ctl *ctl, int argc, char **argv);
int verb_list(Ctl *ctl, int argc, char **argv);
int verb_links(Ctl *ctl, int argc, char **argv);
int verb_show(Ctl *ctl, int argc, char **argv);
int verb_set(Ctl *ctl, int argc, char **argv);
int verb_join(Ctl *ctl, int argc, char **argv);
int verb_address(Ctl *ctl, int argc, char **argv);
int verb_reload(Ctl *ctl, int argc, char **argv);
int verb_plan(Ctl *ctl, int argc, char **argv);
int verb_monitor(Ctl *ctl, int argc, char **argv);
int verb_mptcp(Ctl *ctl, int argc, char **argv);
/* mptcp hand-over (over) / hand-back: NetworkManager's connection.mptcp-flags
 * on the devices of groupd's [MPTCP] groups (verb-handover.c). */
int mptcp_hand_over(Ctl *ctl, bool over);

/* ---- output.c ---- */
void usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints one line of text from groupd (names, messages) with its control
 * characters as \xNN (text/text.h): nothing groupd relays reaches the
 * terminal as an escape sequence. */
void print_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints "groupctl: NAME: message" for an error of the bus or groupd and
 * returns the exit code for it (EXIT_NOBUS when groupd is not on the bus,
 * else EXIT_DAEMON). */
int report_bus_error(const GError *error);
/* Prints "groupctl: what: strerror" for a failure outside a call. */
int report_errno(const char *what, int r);
bool use_colour(void);
const char *colour_on(const char *state);
const char *colour_off(void);

/* JSON output on a JsonBuilder: each jb_* adds a value, as the member key
 * of the current object, or as the next element of the current array when
 * key is NULL. */
void jb_str(JsonBuilder *b, const char *key, const char *value);
void jb_int(JsonBuilder *b, const char *key, int64_t value);
void jb_bool(JsonBuilder *b, const char *key, bool value);
/* Any GVariant (json-glib's mapping: a{s*} as an object, variants unwrapped,
 * tuples as arrays; a uint64 above INT64_MAX would wrap). */
void jb_gvariant(JsonBuilder *b, const char *key, GVariant *value);
/* An object of the given keys of an a{sv} dict, in that order (null for a
 * key the dict lacks): stable keys whatever groupd sends. */
void jb_dict_object(JsonBuilder *b, const char *key, GVariant *dict, const char *const *keys,
                    size_t n_keys);
/* Prints the builder's document on one line and a newline. */
void jb_print(JsonBuilder *b);
/* A property value for a human: strings as is, arrays joined with ", ". */
char *gvariant_text(GVariant *v);

/* ---- table.c ---- */
typedef struct Table Table;
typedef enum { ALIGN_LEFT, ALIGN_RIGHT } Align;
/* Columns: a header and an alignment each; min_width lets a column keep its
 * width whatever the values (stable output). */
Table *table_new(unsigned columns, const char *const *headers, const Align *align);
void table_set_min_width(Table *t, unsigned column, unsigned width);
/* Adds a row of `columns` cells (copied); colour: an escape sequence or NULL
 * for the given column's cell (colour_column, -1 for none). */
void table_add_row(Table *t, const char *const *cells, int colour_column, const char *colour);
void table_print(Table *t, bool legend);
void table_free(Table *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Table, table_free)

/* ---- the bus (groupctl.c) ---- */
/* Connects if not yet connected; 0 or EXIT_NOBUS (reported). */
int bus_connect(Ctl *ctl);
/* Calls method of iface at path on groupd (params: floating or NULL; it is
 * consumed). On failure reports it and returns the exit code (> 0), else 0
 * with *reply (if not NULL) the reply tuple of reply_type. */
int call_groupd(Ctl *ctl, const char *path, const char *iface, const char *method, GVariant *params,
                const char *reply_type, GVariant **reply);
/* call_groupd() on the Manager. */
int call_manager(Ctl *ctl, const char *method, GVariant *params, const char *reply_type,
                 GVariant **reply);
/* Properties.GetAll as an a{sv} GVariant; on failure returns an exit code > 0
 * after reporting it. */
int get_all(Ctl *ctl, const char *path, const char *iface, GVariant **out);
/* bus_connect(), then groupd's unique name (owner, g_free()): a monitor
 * names it, so that a new groupd's signals are not taken for the old one's.
 * 0 or an exit code. */
int bus_groupd_owner(Ctl *ctl, char **owner);
/* Whether every string of the NULL-terminated strv is UTF-8, as D-Bus
 * strings must be; else reports "groupctl: what: Invalid argument". */
bool args_are_utf8(const char *what, char *const *strv);
/* Resolves a group given by number or name to its id (names through
 * ListGroups). Returns 0, or an exit code after reporting the problem. */
int resolve_group(Ctl *ctl, const char *text, uint32_t *id);
/* ListGroups → GHashTable id (GUINT_TO_POINTER) → name (char*). */
int group_names(Ctl *ctl, GHashTable **out);
bool parse_u32(const char *text, uint32_t *out);

/* ---- verb-monitor.c: the signal loop of both monitors ---- */
/* Handles one signal of groupd; returns true when it counts towards
 * --count. */
typedef bool (*MonitorFunc)(Ctl *ctl, const char *path, const char *member, GVariant *params);
/* A subscription: NULL matches any path / member; path_prefix also takes
 * the paths under path (path_namespace). */
typedef struct {
    const char *path;
    bool path_prefix;
    const char *iface;
    const char *member;
    MonitorFunc func;
} MonitorMatch;
/* Subscribes to the matches from groupd's current owner and to groupd
 * leaving the bus, prints "Monitoring <what> (<owner>), Ctrl-C to stop." on
 * stderr once the bus has them, then runs until SIGINT/SIGTERM (exit 0),
 * --count signals (0), groupd leaving (EXIT_NOBUS) or the bus closing. */
int monitor_run(Ctl *ctl, const char *what, const MonitorMatch *matches, size_t n_matches);

/* ---- verb-plan.c ---- */
int print_plan(Ctl *ctl, const char *plan_json, bool dry_run);
