/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl: the command-line client of groupd (net.groupd1), on sd-bus.
 * One file per verb; this header is the interface of the shared helpers
 * (output.c: errors, colour, JSON writing; table.c: aligned tables;
 * json.c: reading the plan JSON). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>
#include <systemd/sd-bus.h>

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
    sd_bus *bus;
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

/* ---- cleanup helpers (sd-bus has no g_autoptr support) ---- */
static inline void ctl_bus_message_unrefp(sd_bus_message **m)
{
    sd_bus_message_unref(*m);
}
#define _cleanup_msg_ __attribute__((cleanup(ctl_bus_message_unrefp)))
#define _cleanup_err_ __attribute__((cleanup(sd_bus_error_free)))

/* ---- output.c ---- */
void usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints one line of text from groupd (names, messages) with its control
 * characters as \xNN (text/text.h): nothing groupd relays reaches the
 * terminal as an escape sequence. */
void print_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints "groupctl: NAME: message" and returns the exit code for it
 * (EXIT_NOBUS when groupd is not on the bus, else EXIT_DAEMON). */
int report_bus_error(const sd_bus_error *error, int r);
/* Prints "groupctl: what: strerror" for a failure outside a call. */
int report_errno(const char *what, int r);
bool use_colour(void);
const char *colour_on(const char *state);
const char *colour_off(void);

/* A simple JSON writer: commas and escaping are its business. */
typedef struct {
    GString *s;
    unsigned depth;
    bool first[64];
} JsonW;
void jw_init(JsonW *w);
void jw_obj_begin(JsonW *w);
void jw_obj_end(JsonW *w);
void jw_arr_begin(JsonW *w);
void jw_arr_end(JsonW *w);
void jw_key(JsonW *w, const char *key);
void jw_str(JsonW *w, const char *v);
void jw_uint(JsonW *w, uint64_t v);
void jw_int(JsonW *w, int64_t v);
void jw_bool(JsonW *w, bool v);
void jw_null(JsonW *w);
/* Prints the document with a newline and frees it. */
void jw_print(JsonW *w);
void json_escape(GString *s, const char *text);
/* Any GVariant as JSON: a{s*} as an object, variants unwrapped. */
void jw_gvariant(JsonW *w, GVariant *v);
/* An object of the given keys of an a{sv} dict, in that order (null for a
 * key the dict lacks): stable keys whatever groupd sends. */
void jw_dict_object(JsonW *w, GVariant *dict, const char *const *keys, size_t n_keys);
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

/* ---- json.c: a small reader for the plan ---- */
typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;
typedef struct JsonValue JsonValue;
struct JsonValue {
    JsonType type;
    char *text; /* string value, or the number as written */
    double number;
    bool boolean;
    GPtrArray *items; /* array: JsonValue*; object: alternating key (JSON_STRING) and value */
};
JsonValue *json_parse(const char *text);
void json_value_free(JsonValue *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JsonValue, json_value_free)
const JsonValue *json_get(const JsonValue *obj, const char *key);
unsigned json_len(const JsonValue *v);
const JsonValue *json_at(const JsonValue *arr, unsigned i);
/* The value as text for a human: strings as is, numbers as written, … */
char *json_to_text(const JsonValue *v);

/* ---- shared bus helpers (groupctl.c) ---- */
/* Calls a Manager method; on failure reports it and returns the exit code
 * (> 0), else 0 with *reply set. */
int call_manager(Ctl *ctl, const char *method, sd_bus_message **reply, const char *types, ...);
/* Resolves a group given by number or name to its id (names through
 * ListGroups). Returns 0, or an exit code after reporting the problem. */
int resolve_group(Ctl *ctl, const char *text, uint32_t *id);
/* ListGroups → GHashTable id (GUINT_TO_POINTER) → name (char*). */
int group_names(Ctl *ctl, GHashTable **out);
bool parse_u32(const char *text, uint32_t *out);
/* Connects if not yet connected; 0 or EXIT_NOBUS (reported). */
int bus_connect(Ctl *ctl);
/* bus_connect(), then groupd's unique name (owner, g_free()): signal
 * matches name it, since sd-bus dispatches locally on the sender and
 * resolves no well-known name. 0 or an exit code. */
int bus_connect_groupd_owner(Ctl *ctl, char **owner);
/* A new Manager method call to append arguments to; 0 or an exit code. */
int new_manager_call(Ctl *ctl, const char *method, sd_bus_message **m);
/* Sends it; 0, or the exit code after reporting the error. */
int call_built(Ctl *ctl, sd_bus_message *m, sd_bus_message **reply);
/* Reads the next complete value of m into a GVariant (a new reference). */
int read_gvariant(sd_bus_message *m, GVariant **out);
/* Properties.GetAll as an a{sv} GVariant; on failure returns an exit code > 0
 * after reporting it. */
int get_all(Ctl *ctl, const char *path, const char *iface, GVariant **out);
int print_plan(Ctl *ctl, const char *plan_json, bool dry_run);
