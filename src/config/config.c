/* SPDX-License-Identifier: LGPL-2.1-or-later
 * groupd.conf and the *.group policy files: reading, parsing, validation,
 * and [Match] evaluation. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1024 * 1024)

/* ---- error messages ---- */

/* Where messages about one file go. */
typedef struct {
    const char *path;
    GPtrArray *errors; /* never NULL inside this file */
} Report;

/* Messages quote paths and file contents as they are (bytes): the bus
 * shows them by the rule of text/text.h as they leave. */
static void report_take(Report *r, char *msg)
{
    g_ptr_array_add(r->errors, msg);
}

/* "PATH: reason" */
G_GNUC_PRINTF(2, 3) static void report_file(Report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s: %s", r->path, reason));
}

/* "PATH:LINE: reason" */
G_GNUC_PRINTF(3, 4) static void report_line(Report *r, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s:%u: %s", r->path, line, reason));
}

/* "PATH: [Section] Key: reason" */
G_GNUC_PRINTF(4, 5)
static void report_key(Report *r, const char *section, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report_take(r, g_strdup_printf("%s: [%s] %s: %s", r->path, section, key, reason));
}

/* A line quoted in a message, cut when long. */
static char *quote_line(const char *line)
{
    if (g_utf8_strlen(line, -1) <= 60)
        return g_strdup_printf("\"%s\"", line);
    g_autofree char *head = g_utf8_substring(line, 0, 60);
    return g_strdup_printf("\"%s…\"", head);
}

/* ---- the line reader ---- */

/* GKeyFile's grammar, read here rather than by GKeyFile because GKeyFile
 * stops at the first bad line without saying which, keeps only the last of
 * a repeated key, and accepts invalid UTF-8. */

typedef struct {
    guint line;
    char *section;
    char *key; /* NULL for a "[Section]" line */
    char *value;
} Item;

static void item_free(gpointer data)
{
    Item *item = data;
    g_free(item->section);
    g_free(item->key);
    g_free(item->value);
    g_free(item);
}

static gboolean valid_key_name(const char *key)
{
    if (!*key)
        return FALSE;
    for (const char *p = key; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_-.", *p))
            return FALSE;
    return TRUE;
}

/* As GKeyFile: no brackets or control characters, not empty. */
static gboolean valid_section_name(const char *name)
{
    if (!*name)
        return FALSE;
    for (const char *p = name; *p; p++)
        if (*p == '[' || *p == ']' || g_ascii_iscntrl(*p))
            return FALSE;
    return TRUE;
}

/* The items of data in file order. Bad lines are reported and left out,
 * and so are the keys under a bad section line. *syntax_errors counts the
 * bad lines. */
static GPtrArray *scan(Report *r, const char *data, gsize len, guint *syntax_errors)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(item_free);
    g_autofree char *section = NULL;
    gboolean bad_section = FALSE;
    guint before = r->errors->len;

    if (memchr(data, '\0', len)) {
        report_file(r, "contains a NUL byte");
        *syntax_errors = 1;
        return items;
    }
    const char *p = data, *end = data + len;
    for (guint n = 1; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);
        if (l && p[l - 1] == '\r')
            l--;
        g_autofree char *line = g_strndup(p, l);
        p = nl ? nl + 1 : end;

        if (!g_utf8_validate(line, -1, NULL)) {
            report_line(r, n, "not valid UTF-8");
            continue;
        }
        g_strstrip(line);
        if (!*line || *line == '#')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (close && close[1] == '\0') {
                *close = '\0';
                if (valid_section_name(line + 1)) {
                    g_free(section);
                    section = g_strdup(line + 1);
                    bad_section = FALSE;
                    Item *item = g_new0(Item, 1);
                    item->line = n;
                    item->section = g_strdup(section);
                    g_ptr_array_add(items, item);
                    continue;
                }
                *close = ']';
            }
            g_autofree char *q = quote_line(line);
            report_line(r, n, "%s is not a valid [Section] line", q);
            bad_section = TRUE;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            g_autofree char *q = quote_line(line);
            report_line(r, n, "%s is not a [Section], Key=Value or # comment line", q);
            continue;
        }
        *eq = '\0';
        char *key = g_strchomp(line);
        char *value = g_strchug(eq + 1);
        if (!valid_key_name(key)) {
            g_autofree char *q = quote_line(key);
            report_line(r, n, "invalid key name %s (letters, digits, \"_-.\")", q);
            continue;
        }
        if (!section && !bad_section) {
            report_line(r, n, "%s= comes before any [Section]", key);
            continue;
        }
        /* "MTU=1400   # jumbo" would otherwise keep the comment in the value. */
        if (strstr(value, " #") || strstr(value, "\t#")) {
            report_line(r, n, "a # comment must be on a line of its own");
            continue;
        }
        if (bad_section)
            continue;
        Item *item = g_new0(Item, 1);
        item->line = n;
        item->section = g_strdup(section);
        item->key = g_strdup(key);
        item->value = g_strdup(value);
        g_ptr_array_add(items, item);
    }
    *syntax_errors = r->errors->len - before;
    return items;
}

/* Reports a key seen before in the same section; TRUE when it is new. */
static gboolean first_time(Report *r, GHashTable *seen, const Item *item)
{
    g_autofree char *id = g_strdup_printf("%s\n%s", item->section, item->key);
    gpointer first = g_hash_table_lookup(seen, id);
    if (first) {
        report_key(r, item->section, item->key, "given more than once (lines %u and %u)",
                   GPOINTER_TO_UINT(first), item->line);
        return FALSE;
    }
    g_hash_table_insert(seen, g_steal_pointer(&id), GUINT_TO_POINTER(item->line));
    return TRUE;
}

/* Reports each unknown section once; TRUE when it is known. */
static gboolean known_section(Report *r, GHashTable *unknown, const Item *item,
                              const char *const *sections)
{
    if (g_strv_contains(sections, item->section))
        return TRUE;
    if (!item->key && g_hash_table_add(unknown, g_strdup(item->section)))
        report_take(r, g_strdup_printf("%s: [%s]: unknown section", r->path, item->section));
    return FALSE;
}

/* The keys each section accepts. [MPTCP] of groupd.conf is "MPTCP",
 * that of a group file "MPTCP.group". */
static gboolean known_key(const char *section, const char *key)
{
    static const char *const keys[][14] = {
        {"Daemon", "RepairDrift", "AdminGroup", "NetlinkReceiveBuffer", "DriftDebounceSec", NULL},
        {"Group", "Name", "Id", NULL},
        {"Match", "Name", "Kind", "Type", "Driver", "MACAddress", "Group"},
        {"Link", "MTU", "State", "MACAddress", "TxQueueLength", NULL},
        {"Address", "Address", NULL},
        {"MPTCP", "Mode", "Preference", "HoldDownSec", "FlapThreshold", "FlapWindowSec",
         "HoldDownMaxSec", "StaleLossCount", "RelaxRpFilter", "Subflows", "AddAddrAccepted",
         "Owner", "StallDetectMSec", NULL},
        {"MPTCP.group", "Endpoint", "Class", "Role", NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (!g_str_equal(keys[i][0], section))
            continue;
        for (guint k = 1; k < G_N_ELEMENTS(keys[i]) && keys[i][k]; k++)
            if (g_str_equal(keys[i][k], key))
                return TRUE;
    }
    return FALSE;
}

int gd_config_check_syntax(const char *path, const char *data, gsize len, GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    Report r = {.path = path, .errors = errors ? errors : own_errors};
    guint syntax_errors;
    g_autoptr(GPtrArray) items = scan(&r, data, len, &syntax_errors);
    return syntax_errors ? -EINVAL : 0;
}

/* ---- values ---- */

/* A decimal (or with allow_hex also 0x-hexadecimal) number in min..max. */
static gboolean parse_uint(Report *r, const Item *item, gboolean allow_hex, guint64 min,
                           guint64 max, guint64 *out)
{
    const char *text = item->value;
    const char *digits = text;
    guint base = 10;
    if (allow_hex && (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))) {
        base = 16;
        digits = text + 2;
    }
    gboolean ok = *digits != '\0';
    for (const char *p = digits; *p && ok; p++)
        ok = base == 16 ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p);
    if (!ok) {
        report_key(r, item->section, item->key, "\"%s\" is not a number", text);
        return FALSE;
    }
    /* Only digits are left, so the one possible failure is the range. */
    if (!g_ascii_string_to_unsigned(digits, base, min, max, out, NULL)) {
        report_key(r, item->section, item->key,
                   "\"%s\" is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")", text,
                   min, max);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_hwaddr(Report *r, const Item *item, const char *text, uint8_t *bytes,
                             uint8_t *len)
{
    int n = gd_nl_hwaddr_parse(text, bytes, GD_NL_MAX_HWADDR);
    if (n <= 0) {
        report_key(r, item->section, item->key,
                   "\"%s\" is not a hardware address (hexadecimal bytes separated by \":\")", text);
        return FALSE;
    }
    *len = (uint8_t)n;
    return TRUE;
}

static gboolean empty_value(Report *r, const Item *item)
{
    if (*item->value)
        return FALSE;
    report_key(r, item->section, item->key, "empty value");
    return TRUE;
}

static const char *names_source(const GdGroupNames *names)
{
    const char *source = names ? gd_group_names_source(names) : NULL;
    return source ? source : "the iproute2 group file";
}

/* ---- [Daemon] ---- */

void gd_daemon_config_init(GdDaemonConfig *config)
{
    config->repair_drift = TRUE;
    config->admin_group = g_strdup(GD_CONFIG_DEFAULT_ADMIN_GROUP);
    config->netlink_receive_buffer = GD_NL_DEFAULT_RCVBUF;
    config->drift_debounce_msec = GD_CONFIG_DEFAULT_DRIFT_DEBOUNCE_MSEC;
    config->mptcp = (GdMptcpConfig){
        .mode = GD_MPTCP_MODE_OFF,
        .hold_down_msec = 5000,
        .flap_threshold = 3,
        .flap_window_msec = 60000,
        .hold_down_max_msec = 60000,
        .stale_loss_cnt = 2,
        .relax_rp_filter = TRUE,
        .subflows = -1,
        .add_addr_accepted = -1,
        .stall_detect_msec = 100,
    };
}

void gd_daemon_config_clear(GdDaemonConfig *config)
{
    g_clear_pointer(&config->admin_group, g_free);
    g_clear_pointer(&config->mptcp.preference, g_strfreev);
    g_clear_pointer(&config->mptcp.preference_ids, g_array_unref);
}

/* ---- MPTCP words ---- */

static const char *const mode_names[] = {
    [GD_MPTCP_MODE_OFF] = "off",
    [GD_MPTCP_MODE_FAILOVER] = "failover",
    [GD_MPTCP_MODE_POWER_SAVE] = "power-save",
    [GD_MPTCP_MODE_AGGREGATE] = "aggregate",
};

const char *gd_mptcp_mode_name(GdMptcpMode mode)
{
    return (guint)mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "off";
}

int gd_mptcp_mode_parse(const char *text, GdMptcpMode *out)
{
    for (guint i = 0; i < G_N_ELEMENTS(mode_names); i++) {
        if (g_str_equal(text, mode_names[i])) {
            *out = (GdMptcpMode)i;
            return 0;
        }
    }
    return -EINVAL;
}

static const struct {
    const char *name;
    uint32_t bit;
} flag_names[] = {
    {"signal", GD_MPTCP_FLAG_SIGNAL},   {"subflow", GD_MPTCP_FLAG_SUBFLOW},
    {"backup", GD_MPTCP_FLAG_BACKUP},   {"fullmesh", GD_MPTCP_FLAG_FULLMESH},
    {"laminar", GD_MPTCP_FLAG_LAMINAR},
};

int gd_mptcp_flags_parse(const char *text, uint32_t *out, char **bad_word)
{
    g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
    uint32_t flags = 0;
    for (guint i = 0; words[i]; i++) {
        if (!*words[i])
            continue;
        guint k = 0;
        while (k < G_N_ELEMENTS(flag_names) && !g_str_equal(words[i], flag_names[k].name))
            k++;
        if (k == G_N_ELEMENTS(flag_names)) {
            if (bad_word)
                *bad_word = g_strdup(words[i]);
            return -EINVAL;
        }
        flags |= flag_names[k].bit;
    }
    *out = flags;
    return 0;
}

GStrv gd_mptcp_flags_names(uint32_t flags)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint k = 0; k < G_N_ELEMENTS(flag_names); k++)
        if (flags & flag_names[k].bit)
            g_strv_builder_add(b, flag_names[k].name);
    return g_strv_builder_end(b);
}

static gboolean parse_boolean(Report *r, const Item *item, gboolean *out)
{
    const char *const yes[] = {"yes", "true", "on", "1"};
    const char *const no[] = {"no", "false", "off", "0"};
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(item->value, yes[i]) == 0) {
            *out = TRUE;
            return TRUE;
        }
        if (g_ascii_strcasecmp(item->value, no[i]) == 0) {
            *out = FALSE;
            return TRUE;
        }
    }
    report_key(r, item->section, item->key, "\"%s\" is not \"yes\" or \"no\"", item->value);
    return FALSE;
}

static gboolean valid_unix_group(const char *name)
{
    gboolean all_digits = TRUE;
    if (!*name || *name == '-' || strlen(name) > 255)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
            return FALSE;
        all_digits = all_digits && g_ascii_isdigit(*p);
    }
    return !all_digits;
}

/* Bytes with an optional K, M or G (1024-based) suffix. */
static gboolean parse_size(Report *r, const Item *item, int *out)
{
    const char *text = item->value;
    const char *p = text;
    guint64 value = 0;
    for (; g_ascii_isdigit(*p); p++) {
        /* Past the maximum the value only matters as "too large"; this
         * also keeps value << 30 below 2^64. */
        if (value <= GD_CONFIG_MAX_RCVBUF)
            value = value * 10 + (guint64)(*p - '0');
    }
    guint shift = 0;
    if (p != text && *p && !p[1] && strchr("KMG", *p)) {
        shift = *p == 'K' ? 10 : *p == 'M' ? 20 : 30;
        p++;
    }
    if (p == text || *p) {
        report_key(r, item->section, item->key,
                   "\"%s\" is not a size (bytes, or with a K, M or G suffix)", text);
        return FALSE;
    }
    value <<= shift;
    if (value < GD_CONFIG_MIN_RCVBUF || value > GD_CONFIG_MAX_RCVBUF) {
        report_key(r, item->section, item->key, "\"%s\" is out of range (%d..%d bytes)", text,
                   GD_CONFIG_MIN_RCVBUF, GD_CONFIG_MAX_RCVBUF);
        return FALSE;
    }
    *out = (int)value;
    return TRUE;
}

/* Seconds as "S", "S.m", "S.mm" or "S.mmm", in milliseconds. */
static gboolean parse_seconds(Report *r, const Item *item, guint *out_msec)
{
    const char *text = item->value;
    const char *p = text;
    guint64 msec = 0;
    for (; g_ascii_isdigit(*p); p++) {
        /* Past the maximum the value only matters as "too large". */
        if (msec <= GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC)
            msec = msec * 10 + (guint64)(*p - '0') * 1000;
    }
    gboolean ok = p != text;
    if (ok && *p == '.') {
        guint scale = 100, digits = 0;
        for (p++; g_ascii_isdigit(*p); p++, digits++, scale /= 10)
            msec += (guint64)(*p - '0') * scale;
        ok = digits >= 1 && digits <= 3;
    }
    if (!ok || *p) {
        report_key(r, item->section, item->key,
                   "\"%s\" is not a number of seconds with at most 3 decimals (1, 0.5, …)", text);
        return FALSE;
    }
    if (msec > GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC) {
        report_key(r, item->section, item->key, "\"%s\" is out of range (0..%u seconds)", text,
                   GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC / 1000);
        return FALSE;
    }
    *out_msec = (guint)msec;
    return TRUE;
}

static void parse_int_or(Report *r, const Item *item, const char *word, int word_value, guint64 min,
                         guint64 max, int *out)
{
    guint64 v;
    if (word && g_str_equal(item->value, word))
        *out = word_value;
    else if (parse_uint(r, item, FALSE, min, max, &v))
        *out = (int)v;
}

static void parse_daemon_mptcp_key(Report *r, const Item *item, GdMptcpConfig *m)
{
    const char *key = item->key;
    guint64 v;
    if (g_str_equal(key, "Mode")) {
        if (gd_mptcp_mode_parse(item->value, &m->mode) < 0)
            report_key(r, item->section, key,
                       "\"%s\" is not one of off, failover, power-save, aggregate", item->value);
    } else if (g_str_equal(key, "Preference")) {
        g_auto(GStrv) words = g_strsplit_set(item->value, " \t", -1);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        for (guint i = 0; words[i]; i++)
            if (*words[i])
                g_strv_builder_add(b, words[i]);
        g_strfreev(m->preference);
        m->preference = g_strv_builder_end(b);
    } else if (g_str_equal(key, "HoldDownSec")) {
        parse_seconds(r, item, &m->hold_down_msec);
    } else if (g_str_equal(key, "FlapWindowSec")) {
        parse_seconds(r, item, &m->flap_window_msec);
    } else if (g_str_equal(key, "HoldDownMaxSec")) {
        parse_seconds(r, item, &m->hold_down_max_msec);
    } else if (g_str_equal(key, "FlapThreshold")) {
        if (parse_uint(r, item, FALSE, 1, 1000, &v))
            m->flap_threshold = (guint)v;
    } else if (g_str_equal(key, "StaleLossCount")) {
        parse_int_or(r, item, "keep", -1, 1, 255, &m->stale_loss_cnt);
    } else if (g_str_equal(key, "RelaxRpFilter")) {
        parse_boolean(r, item, &m->relax_rp_filter);
    } else if (g_str_equal(key, "Subflows")) {
        parse_int_or(r, item, NULL, 0, 0, GD_MPTCP_MAX_LIMIT, &m->subflows);
    } else if (g_str_equal(key, "AddAddrAccepted")) {
        parse_int_or(r, item, NULL, 0, 0, GD_MPTCP_MAX_LIMIT, &m->add_addr_accepted);
    } else if (g_str_equal(key, "Owner")) {
        if (g_str_equal(item->value, "groupd") || g_str_equal(item->value, "auto"))
            m->owner_forced = g_str_equal(item->value, "groupd");
        else
            report_key(r, item->section, key, "\"%s\" is not \"auto\" or \"groupd\"", item->value);
    } else if (g_str_equal(key, "StallDetectMSec")) {
        if (parse_uint(r, item, FALSE, 0, 10000, &v))
            m->stall_detect_msec = (guint)v;
    }
}

int gd_daemon_config_parse(const char *path, const char *data, gsize len, GdDaemonConfig *out,
                           GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    Report report = {.path = path, .errors = errors ? errors : own_errors};
    Report *r = &report;
    guint before = r->errors->len, syntax_errors;
    const char *const sections[] = {"Daemon", "MPTCP", NULL};
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) unknown = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) items = scan(r, data, len, &syntax_errors);

    for (guint i = 0; i < items->len; i++) {
        const Item *item = items->pdata[i];
        if (!known_section(r, unknown, item, sections) || !item->key)
            continue;
        if (!known_key(item->section, item->key)) {
            report_key(r, item->section, item->key, "unknown key");
            continue;
        }
        if (!first_time(r, seen, item) || empty_value(r, item))
            continue;
        if (g_str_equal(item->section, "MPTCP")) {
            parse_daemon_mptcp_key(r, item, &out->mptcp);
        } else if (g_str_equal(item->key, "RepairDrift")) {
            parse_boolean(r, item, &out->repair_drift);
        } else if (g_str_equal(item->key, "AdminGroup")) {
            if (!valid_unix_group(item->value)) {
                report_key(r, item->section, item->key,
                           "\"%s\" is not a Unix group name (letters, digits, \"_.-\")",
                           item->value);
                continue;
            }
            g_free(out->admin_group);
            out->admin_group = g_strdup(item->value);
        } else if (g_str_equal(item->key, "NetlinkReceiveBuffer")) {
            parse_size(r, item, &out->netlink_receive_buffer);
        } else {
            parse_seconds(r, item, &out->drift_debounce_msec);
        }
    }
    return r->errors->len > before ? -EINVAL : 0;
}

/* ---- [Match] ---- */

void gd_match_clear(GdMatch *match)
{
    GdMatchKey *keys[] = {&match->name,   &match->kind,   &match->type,
                          &match->driver, &match->hwaddr, &match->group};
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_clear_pointer(&keys[i]->values, g_strfreev);
        keys[i]->set = keys[i]->negate = FALSE;
    }
    g_clear_pointer(&match->hwaddrs, g_array_unref);
    g_clear_pointer(&match->groups, g_array_unref);
}

/* "a b c" or "!a b c" into key; FALSE (reported) for an empty list or a
 * '!' that is not first. */
static gboolean parse_match_list(Report *r, const Item *item, GdMatchKey *key)
{
    const char *text = item->value;
    gboolean negate = *text == '!';
    g_auto(GStrv) words = g_strsplit_set(negate ? text + 1 : text, " \t", -1);
    g_autoptr(GStrvBuilder) values = g_strv_builder_new();
    guint n = 0;
    for (guint i = 0; words[i]; i++) {
        if (!*words[i])
            continue;
        if (words[i][0] == '!') {
            report_key(r, item->section, item->key,
                       "\"!\" negates the whole list and goes only at its start");
            return FALSE;
        }
        g_strv_builder_add(values, words[i]);
        n++;
    }
    if (n == 0) {
        report_key(r, item->section, item->key, negate ? "nothing after \"!\"" : "empty value");
        return FALSE;
    }
    key->set = TRUE;
    key->negate = negate;
    key->values = g_strv_builder_end(values);
    return TRUE;
}

static void parse_match_key(Report *r, const Item *item, const GdGroupNames *names, GdMatch *m)
{
    GdMatchKey *const keys[] = {&m->name, &m->kind, &m->type, &m->driver, &m->hwaddr, &m->group};
    const char *const key_names[] = {"Name", "Kind", "Type", "Driver", "MACAddress", "Group"};
    GdMatchKey *key = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
        if (g_str_equal(item->key, key_names[i]))
            key = keys[i];
    g_assert(key); /* known_key() */

    GdMatchKey parsed = {0};
    if (!parse_match_list(r, item, &parsed))
        return;
    gboolean ok = TRUE;
    if (key == &m->hwaddr) {
        g_autoptr(GArray) hwaddrs = g_array_new(FALSE, TRUE, sizeof(GdMatchHwaddr));
        for (guint i = 0; parsed.values[i]; i++) {
            GdMatchHwaddr hw = {0};
            if (parse_hwaddr(r, item, parsed.values[i], hw.bytes, &hw.len))
                g_array_append_val(hwaddrs, hw);
            else
                ok = FALSE;
        }
        if (ok)
            m->hwaddrs = g_steal_pointer(&hwaddrs);
    } else if (key == &m->group) {
        g_autoptr(GArray) groups = g_array_new(FALSE, TRUE, sizeof(uint32_t));
        for (guint i = 0; parsed.values[i]; i++) {
            uint32_t id;
            int err = gd_group_names_resolve(names, parsed.values[i], &id);
            if (err == 0) {
                g_array_append_val(groups, id);
                continue;
            }
            ok = FALSE;
            if (err == -ENOENT)
                report_key(r, item->section, item->key, "no group is named \"%s\" in %s",
                           parsed.values[i], names_source(names));
            else
                report_key(r, item->section, item->key,
                           "\"%s\" is not a group number (0..4294967295) or name",
                           parsed.values[i]);
        }
        if (ok)
            m->groups = g_steal_pointer(&groups);
    }
    if (ok)
        *key = parsed;
    else
        g_strfreev(parsed.values);
}

/* Whether one key holds: any value matched, inverted by '!'. */
static gboolean key_holds(const GdMatchKey *key, gboolean any)
{
    return key->negate ? !any : any;
}

static gboolean any_glob(const GdMatchKey *key, const char *text)
{
    if (!text || !*text)
        return FALSE; /* nothing to match: no kind, no driver… */
    for (guint i = 0; key->values[i]; i++)
        if (fnmatch(key->values[i], text, 0) == 0)
            return TRUE;
    return FALSE;
}

gboolean gd_match_link(const GdMatch *m, const GdMatchInput *link)
{
    const struct {
        const GdMatchKey *key;
        const char *text;
    } globs[] = {
        {&m->name, link->name},
        {&m->kind, link->kind},
        {&m->type, link->type},
        {&m->driver, link->driver},
    };
    gboolean any_set = FALSE;

    for (guint i = 0; i < G_N_ELEMENTS(globs); i++) {
        if (!globs[i].key->set)
            continue;
        any_set = TRUE;
        if (!key_holds(globs[i].key, any_glob(globs[i].key, globs[i].text)))
            return FALSE;
    }
    if (m->hwaddr.set) {
        gboolean any = FALSE;
        any_set = TRUE;
        for (guint i = 0; i < m->hwaddrs->len && link->hwaddr_len && !any; i++) {
            const GdMatchHwaddr *hw = &g_array_index(m->hwaddrs, GdMatchHwaddr, i);
            any = hw->len == link->hwaddr_len && memcmp(hw->bytes, link->hwaddr, hw->len) == 0;
        }
        if (!key_holds(&m->hwaddr, any))
            return FALSE;
    }
    if (m->group.set) {
        gboolean any = FALSE;
        any_set = TRUE;
        for (guint i = 0; i < m->groups->len && !any; i++)
            any = g_array_index(m->groups, uint32_t, i) == link->group;
        if (!key_holds(&m->group, any))
            return FALSE;
    }
    /* No keys: no automatic members (see config.h). */
    return any_set;
}

/* ---- *.group ---- */

void gd_group_policy_free(GdGroupPolicy *policy)
{
    if (!policy)
        return;
    g_free(policy->path);
    g_free(policy->file_name);
    g_free(policy->name);
    gd_match_clear(&policy->match);
    g_clear_pointer(&policy->addresses, g_array_unref);
    g_free(policy->mptcp.link_class);
    g_free(policy);
}

typedef struct {
    Report *r;
    const GdGroupNames *names;
    GdGroupPolicy *policy;
    gboolean has_name, name_ok; /* Name= given, and valid */
    gboolean has_id, id_ok;     /* Id= given, and valid */
} GroupParse;

static void parse_group_key(GroupParse *gp, const Item *item)
{
    Report *r = gp->r;
    if (g_str_equal(item->key, "Name")) {
        gp->has_name = TRUE;
        if (!gd_group_names_valid_name(item->value)) {
            report_key(r, item->section, item->key,
                       "\"%s\" is not a group name (letters, digits, \"_-.:\"; not starting "
                       "with a digit)",
                       item->value);
            return;
        }
        gp->name_ok = TRUE;
        gp->policy->name = g_strdup(item->value);
    } else {
        guint64 id;
        gp->has_id = TRUE;
        if (!parse_uint(r, item, TRUE, 0, G_MAXUINT32, &id))
            return;
        gp->id_ok = TRUE;
        gp->policy->id = (uint32_t)id;
    }
}

static void parse_link_key(Report *r, const Item *item, GdNlLinkChange *link)
{
    guint64 v;
    if (g_str_equal(item->key, "MTU")) {
        if (!parse_uint(r, item, FALSE, 1, G_MAXINT32, &v))
            return;
        link->set_mtu = true;
        link->mtu = (uint32_t)v;
    } else if (g_str_equal(item->key, "State")) {
        if (!g_str_equal(item->value, "up") && !g_str_equal(item->value, "down")) {
            report_key(r, item->section, item->key, "\"%s\" is not \"up\" or \"down\"",
                       item->value);
            return;
        }
        link->set_state = true;
        link->up = g_str_equal(item->value, "up");
    } else if (g_str_equal(item->key, "MACAddress")) {
        if (!parse_hwaddr(r, item, item->value, link->hwaddr, &link->hwaddr_len))
            return;
        link->set_hwaddr = true;
    } else {
        if (!parse_uint(r, item, FALSE, 0, G_MAXUINT32, &v))
            return;
        link->set_txqlen = true;
        link->txqlen = (uint32_t)v;
    }
}

static void parse_address_key(Report *r, const Item *item, GArray *addresses)
{
    g_auto(GStrv) words = g_strsplit_set(item->value, " \t", -1);
    for (guint i = 0; words[i]; i++) {
        GdNlAddr addr;
        if (!*words[i])
            continue;
        if (gd_nl_cidr_parse(words[i], &addr) < 0) {
            report_key(r, item->section, item->key,
                       "\"%s\" is not an IPv4 or IPv6 address with an optional /prefix", words[i]);
            continue;
        }
        if (gd_nl_addr_is_unspecified(&addr)) {
            report_key(r, item->section, item->key,
                       "\"%s\" is the unspecified address, which no interface can have", words[i]);
            continue;
        }
        /* The kernel keys addresses by address: a second prefix would be
         * refused (IPv6) or be a surprise (IPv4). */
        gboolean twice = FALSE;
        for (guint j = 0; j < addresses->len && !twice; j++) {
            const GdNlAddr *other = &g_array_index(addresses, GdNlAddr, j);
            twice = other->family == addr.family &&
                    memcmp(other->addr, addr.addr, sizeof(addr.addr)) == 0;
        }
        if (twice) {
            report_key(r, item->section, item->key, "\"%s\" is given twice", words[i]);
            continue;
        }
        g_array_append_val(addresses, addr);
    }
}

static void parse_group_mptcp_key(Report *r, const Item *item, GdGroupMptcp *m)
{
    if (g_str_equal(item->key, "Endpoint")) {
        g_autofree char *bad = NULL;
        if (gd_mptcp_flags_parse(item->value, &m->flags, &bad) < 0)
            report_key(r, item->section, item->key,
                       "\"%s\" is not an endpoint flag (subflow, signal, backup, fullmesh, "
                       "laminar)",
                       bad);
    } else if (g_str_equal(item->key, "Class")) {
        const char *const classes[] = {"wlan", "wwan", "ether", NULL};
        if (!g_strv_contains(classes, item->value)) {
            report_key(r, item->section, item->key, "\"%s\" is not wlan, wwan or ether",
                       item->value);
            return;
        }
        g_free(m->link_class);
        m->link_class = g_strdup(item->value);
    } else if (g_str_equal(item->key, "Role")) {
        if (g_str_equal(item->value, "failover") || g_str_equal(item->value, "always"))
            m->always = g_str_equal(item->value, "always");
        else
            report_key(r, item->section, item->key, "\"%s\" is not \"failover\" or \"always\"",
                       item->value);
    }
}

/* Parses one group file; always returns a policy (complete only when
 * nothing was reported). *id_known: policy->id is the file's id. */
static GdGroupPolicy *parse_group_file(Report *r, const char *data, gsize len,
                                       const GdGroupNames *names, gboolean *id_known)
{
    const char *const sections[] = {"Group", "Match", "Link", "Address", "MPTCP", NULL};
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) unknown = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint syntax_errors;
    g_autoptr(GPtrArray) items = scan(r, data, len, &syntax_errors);
    GdGroupPolicy *policy = g_new0(GdGroupPolicy, 1);
    GroupParse gp = {.r = r, .names = names, .policy = policy};

    policy->path = g_strdup(r->path);
    policy->file_name = g_path_get_basename(r->path);
    policy->addresses = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    policy->mptcp.flags = GD_MPTCP_FLAG_SUBFLOW;
    *id_known = FALSE;

    for (guint i = 0; i < items->len; i++) {
        const Item *item = items->pdata[i];
        if (!known_section(r, unknown, item, sections))
            continue;
        if (g_str_equal(item->section, "MPTCP")) {
            policy->mptcp.enabled = TRUE;
            if (!item->key)
                continue;
            Item as_group = *item;
            as_group.section = "MPTCP.group";
            if (!known_key(as_group.section, item->key)) {
                report_key(r, item->section, item->key, "unknown key");
                continue;
            }
            if (!first_time(r, seen, item) || empty_value(r, item))
                continue;
            parse_group_mptcp_key(r, item, &policy->mptcp);
            continue;
        }
        if (!item->key)
            continue;
        if (!known_key(item->section, item->key)) {
            report_key(r, item->section, item->key, "unknown key");
            continue;
        }
        /* Address= is the one key that may repeat. */
        if (g_str_equal(item->section, "Address")) {
            if (!empty_value(r, item))
                parse_address_key(r, item, policy->addresses);
            continue;
        }
        if (!first_time(r, seen, item) || empty_value(r, item))
            continue;
        if (g_str_equal(item->section, "Group"))
            parse_group_key(&gp, item);
        else if (g_str_equal(item->section, "Match"))
            parse_match_key(r, item, names, &policy->match);
        else
            parse_link_key(r, item, &policy->link);
    }

    /* Identity: Id= and Name= against the iproute2 file. */
    uint32_t by_name = 0;
    gboolean name_known =
        gp.name_ok && names && gd_group_names_resolve(names, policy->name, &by_name) == 0;
    if (!gp.has_id) {
        if (name_known) {
            policy->id = by_name;
            *id_known = TRUE;
        } else if (syntax_errors) {
            /* The Id= line may be the bad one: saying "missing" would mislead. */
        } else if (gp.name_ok) {
            report_key(r, "Group", "Id", "missing, and \"%s\" is not in %s", policy->name,
                       names_source(names));
        } else if (!gp.has_name) {
            report_key(r, "Group", "Id", "missing (needed unless Name= is in %s)",
                       names_source(names));
        }
    } else if (gp.id_ok) {
        const char *known = names ? gd_group_names_name(names, policy->id) : NULL;
        *id_known = TRUE;
        if (gp.name_ok && name_known && by_name != policy->id)
            report_key(r, "Group", "Name", "\"%s\" is group %u in %s, not %u", policy->name,
                       by_name, names_source(names), policy->id);
        if (gp.name_ok && known && !g_str_equal(known, policy->name))
            report_key(r, "Group", "Id", "group %u is named \"%s\" in %s, not \"%s\"", policy->id,
                       known, names_source(names), policy->name);
        if (!gp.has_name && known)
            policy->name = g_strdup(known);
    }
    /* Below 68 the kernel takes IPv4 away from a link: the addresses could
     * not stay. (An MTU this low without IPv4 addresses is allowed.) */
    if (policy->link.set_mtu && policy->link.mtu < GD_NL_IPV4_MIN_MTU) {
        for (guint i = 0; i < policy->addresses->len; i++) {
            if (g_array_index(policy->addresses, GdNlAddr, i).family == AF_INET) {
                report_key(r, "Link", "MTU",
                           "%u is below %u, the least IPv4 works with, and [Address] has IPv4 "
                           "addresses",
                           policy->link.mtu, GD_NL_IPV4_MIN_MTU);
                break;
            }
        }
    }
    /* The group message reaches every member of group 0: lo, the uplink and
     * every link nobody configured. D-Bus changes it only when forced; a
     * policy may move links into it but never change it. */
    if (*id_known && policy->id == 0 &&
        (policy->link.set_mtu || policy->link.set_state || policy->link.set_hwaddr ||
         policy->link.set_txqlen || policy->addresses->len > 0))
        report_key(r, "Group", "Id",
                   "group 0 (default) holds every link nobody configured, lo and the uplink "
                   "included: its policy may not have [Link] or [Address] settings");
    return policy;
}

GdGroupPolicy *gd_group_policy_parse(const char *path, const char *data, gsize len,
                                     const GdGroupNames *names, GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GdGroupNames) builtin = names ? NULL : gd_group_names_parse("", 0, NULL);
    Report r = {.path = path, .errors = errors ? errors : own_errors};
    guint before = r.errors->len;
    gboolean id_known;
    g_autoptr(GdGroupPolicy) policy =
        parse_group_file(&r, data, len, names ? names : builtin, &id_known);
    return r.errors->len > before ? NULL : g_steal_pointer(&policy);
}

/* ---- files ---- */

/* Reads an open regular file of at most MAX_FILE_SIZE bytes. */
/* Configuration decides what a privileged daemon does to the network: it
 * must be root's (or the daemon's own user's), and writable by nobody else. */
static gboolean trusted(Report *r, const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        report_file(r, "owned by uid %u, not root: refused", (unsigned)st->st_uid);
        return FALSE;
    }
    if ((st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0)) {
        report_file(r, "writable by users other than root (mode %04o): refused",
                    (unsigned)(st->st_mode & 07777));
        return FALSE;
    }
    return TRUE;
}

static gboolean read_fd(Report *r, int fd, char **data, gsize *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        report_file(r, "cannot read: %s", g_strerror(errno));
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        report_file(r, "not a regular file");
        return FALSE;
    }
    if (!trusted(r, &st))
        return FALSE;
    /* The size is a hint: the file may change while it is read. */
    g_autoptr(GByteArray) buf = g_byte_array_sized_new((guint)MIN(st.st_size, MAX_FILE_SIZE) + 1);
    for (;;) {
        guint8 chunk[8192];
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            report_file(r, "cannot read: %s", g_strerror(errno));
            return FALSE;
        }
        if (got == 0)
            break;
        if (buf->len + (gsize)got > MAX_FILE_SIZE) {
            report_file(r, "larger than %d bytes", MAX_FILE_SIZE);
            return FALSE;
        }
        g_byte_array_append(buf, chunk, (guint)got);
    }
    *len = buf->len;
    g_byte_array_append(buf, (const guint8 *)"", 1);
    *data = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
    return TRUE;
}

static int open_read(const char *path, int extra_flags)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags);
}

static gboolean inside_dirs(const char *resolved, GPtrArray *real_dirs)
{
    for (guint i = 0; i < real_dirs->len; i++) {
        const char *dir = real_dirs->pdata[i];
        size_t l = strlen(dir);
        if (strncmp(resolved, dir, l) == 0 && resolved[l] == '/')
            return TRUE;
    }
    return FALSE;
}

/* Opens r->path to read it, confined: a symlink is followed only to a
 * file inside real_dirs (a symlink to /dev/null is a mask: *masked), and
 * the file is opened with O_NOFOLLOW so that a symlink swapped in meanwhile
 * is not followed either. -1 when it could not be opened (reported, but
 * for a missing file when missing_ok) or is masked. */
static int open_confined(Report *r, GPtrArray *real_dirs, gboolean missing_ok, gboolean *masked)
{
    struct stat st;
    g_autofree char *resolved = NULL;
    const char *open_path = r->path;

    *masked = FALSE;
    if (lstat(r->path, &st) < 0) {
        if (!(missing_ok && errno == ENOENT))
            report_file(r, "cannot read: %s", g_strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        g_autofree char *target = g_file_read_link(r->path, NULL);
        if (target && g_str_equal(target, "/dev/null")) {
            *masked = TRUE;
            return -1;
        }
        resolved = realpath(r->path, NULL);
        if (!resolved) {
            report_file(r, "symlink to \"%s\" cannot be followed: %s", target ? target : "?",
                        g_strerror(errno));
            return -1;
        }
        if (g_str_equal(resolved, "/dev/null")) {
            *masked = TRUE;
            return -1;
        }
        if (!inside_dirs(resolved, real_dirs)) {
            report_file(r, "symlink to \"%s\" leads out of the configuration directories; refused",
                        target ? target : resolved);
            return -1;
        }
        open_path = resolved;
    } else if (!S_ISREG(st.st_mode)) {
        report_file(r, "not a regular file");
        return -1;
    }
    int fd = open_read(open_path, O_NOFOLLOW);
    if (fd < 0)
        report_file(r, "cannot read: %s", g_strerror(errno));
    return fd;
}

/* One group file's text. FALSE when it could not be read (reported) or is
 * a mask (*masked): an empty file, or a symlink to /dev/null. */
static gboolean read_group_file(Report *r, GPtrArray *real_dirs, char **data, gsize *len,
                                gboolean *masked)
{
    int fd = open_confined(r, real_dirs, FALSE, masked);
    if (fd < 0)
        return FALSE;
    gboolean ok = read_fd(r, fd, data, len);
    close(fd);
    if (ok && *len == 0) {
        *masked = TRUE;
        g_clear_pointer(data, g_free);
        return FALSE;
    }
    return ok;
}

/* Adds dir's *.group files to files (base name → path), replacing those of
 * earlier directories, and dir's resolved path to real_dirs. */
static void list_group_dir(const char *dir, GHashTable *files, GPtrArray *real_dirs,
                           GPtrArray *errors)
{
    Report r = {.path = dir, .errors = errors};
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return;
        if (errno == ENOTDIR)
            report_file(&r, "not a directory");
        else
            report_file(&r, "cannot open: %s", g_strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(dirfd(d), &st) < 0 || !trusted(&r, &st)) {
        /* A directory others may write to could hold anything: none of it. */
        closedir(d);
        return;
    }
    char *real = realpath(dir, NULL);
    if (real)
        g_ptr_array_add(real_dirs, real);
    const struct dirent *de;
    while ((de = readdir(d))) {
        /* Hidden files are editors' and package managers' leftovers. */
        if (de->d_name[0] == '.' || !g_str_has_suffix(de->d_name, ".group"))
            continue;
        g_hash_table_replace(files, g_strdup(de->d_name), g_build_filename(dir, de->d_name, NULL));
    }
    closedir(d);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* groupd.conf is confined like the group files: a symlink only to a file
 * in groupd's configuration directories (etc/groupd, usr/lib/groupd,
 * run/groupd), never to anything else root may read, whose lines would
 * be quoted back in errors. */
static void load_daemon_conf(const char *root, GdDaemonConfig *daemon, GPtrArray *errors)
{
    static const char *const dirs[] = {"etc/groupd", "usr/lib/groupd", "run/groupd"};
    g_autofree char *path = g_build_filename(root, GD_CONFIG_FILE, NULL);
    Report r = {.path = path, .errors = errors};
    g_autofree char *data = NULL;
    gsize len;
    gboolean masked;
    g_autoptr(GPtrArray) real_dirs = g_ptr_array_new_with_free_func(free);
    for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *dir = g_build_filename(root, dirs[i], NULL);
        char *real = realpath(dir, NULL);
        if (real)
            g_ptr_array_add(real_dirs, real);
    }
    int fd = open_confined(&r, real_dirs, TRUE, &masked);
    if (fd < 0) {
        if (masked)
            g_debug("%s: masked, the defaults apply", path);
        return;
    }
    gboolean ok = read_fd(&r, fd, &data, &len);
    close(fd);
    if (ok)
        gd_daemon_config_parse(path, data, len, daemon, errors);
}

/* Ids and names are unique across files; the later file is the one blamed. */
static void check_unique(GPtrArray *policies, GPtrArray *errors)
{
    g_autoptr(GHashTable) by_id = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < policies->len; i++) {
        const GdGroupPolicy *p = policies->pdata[i];
        Report r = {.path = p->path, .errors = errors};
        const GdGroupPolicy *other = g_hash_table_lookup(by_id, GUINT_TO_POINTER(p->id));
        if (other) {
            report_key(&r, "Group", "Id", "group %u is also defined by %s", p->id, other->path);
            continue;
        }
        g_hash_table_insert(by_id, GUINT_TO_POINTER(p->id), (gpointer)p);
        if (!p->name)
            continue;
        other = g_hash_table_lookup(by_name, p->name);
        if (other) {
            report_key(&r, "Group", "Name", "\"%s\" is also the name of group %u in %s", p->name,
                       other->id, other->path);
            continue;
        }
        g_hash_table_insert(by_name, p->name, (gpointer)p);
    }
}

/* The kernel keeps one MPTCP endpoint per address: two groups with [MPTCP]
 * whose [Address] give their members the same address can never both
 * have their endpoints. */
static void check_mptcp_addresses(const GPtrArray *policies, GPtrArray *errors)
{
    for (guint i = 0; i < policies->len; i++) {
        const GdGroupPolicy *p = policies->pdata[i];
        if (!p->mptcp.enabled)
            continue;
        Report r = {.path = p->path, .errors = errors};
        for (guint k = 0; k < i; k++) {
            const GdGroupPolicy *other = policies->pdata[k];
            if (!other->mptcp.enabled)
                continue;
            for (guint a = 0; a < p->addresses->len; a++) {
                const GdNlAddr *mine = &g_array_index(p->addresses, GdNlAddr, a);
                for (guint b = 0; b < other->addresses->len; b++) {
                    const GdNlAddr *theirs = &g_array_index(other->addresses, GdNlAddr, b);
                    if (mine->family != theirs->family ||
                        memcmp(mine->addr, theirs->addr, sizeof(mine->addr)) != 0)
                        continue;
                    g_autofree char *text = gd_nl_addr_format(mine);
                    report_key(&r, "Address", "Address",
                               "%s is also an address of group %u in %s, and both groups have "
                               "[MPTCP]: the kernel keeps one MPTCP endpoint per address",
                               text, other->id, other->path);
                }
            }
        }
    }
}

/* [MPTCP] Preference= names groups that have an [MPTCP] section. */
static void resolve_preference(const char *root, GdConfig *config, const GdGroupNames *names,
                               GPtrArray *errors)
{
    GdMptcpConfig *m = &config->daemon.mptcp;
    if (!m->preference)
        return;
    g_autofree char *path = g_build_filename(root, GD_CONFIG_FILE, NULL);
    Report r = {.path = path, .errors = errors};
    m->preference_ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; m->preference[i]; i++) {
        const char *word = m->preference[i];
        uint32_t id = 0;
        gboolean found = FALSE;
        for (guint k = 0; k < config->policies->len && !found; k++) {
            const GdGroupPolicy *p = config->policies->pdata[k];
            found = p->name && g_str_equal(p->name, word);
            id = p->id;
        }
        if (!found && gd_group_names_resolve(names, word, &id) == 0)
            found = TRUE;
        const GdGroupPolicy *p = found ? gd_config_policy_for_group(config, id) : NULL;
        if (!p || !p->mptcp.enabled) {
            report_key(&r, "MPTCP", "Preference", "\"%s\" is not a group with an [MPTCP] section",
                       word);
            continue;
        }
        for (guint k = 0; k < m->preference_ids->len; k++) {
            if (g_array_index(m->preference_ids, uint32_t, k) == id) {
                report_key(&r, "MPTCP", "Preference", "\"%s\" is given twice", word);
                found = FALSE;
            }
        }
        if (found)
            g_array_append_val(m->preference_ids, id);
    }
}

void gd_config_free(GdConfig *config)
{
    if (!config)
        return;
    gd_daemon_config_clear(&config->daemon);
    g_clear_pointer(&config->policies, g_ptr_array_unref);
    g_free(config);
}

int gd_config_load(const char *root, const GdGroupNames *names, GdConfig **out, GPtrArray *errors)
{
    const char *const dirs[] = {GD_CONFIG_VENDOR_DIR, GD_CONFIG_ADMIN_DIR, GD_CONFIG_RUNTIME_DIR};
    const char *base = root && *root ? root : "/";
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GdGroupNames) own_names = names ? NULL : gd_group_names_load(root);
    g_autoptr(GHashTable) files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GPtrArray) real_dirs = g_ptr_array_new_with_free_func(free);
    g_autoptr(GdConfig) config = g_new0(GdConfig, 1);

    if (!errors)
        errors = own_errors;
    if (!names)
        names = own_names;
    guint before = errors->len;
    gd_daemon_config_init(&config->daemon);
    /* Until the end, also the policies with errors whose id is known, so
     * that duplicate ids are reported along with everything else. */
    config->policies = g_ptr_array_new_with_free_func((GDestroyNotify)gd_group_policy_free);

    load_daemon_conf(base, &config->daemon, errors);
    for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *dir = g_build_filename(base, dirs[i], NULL);
        list_group_dir(dir, files, real_dirs, errors);
    }

    guint n_files;
    g_autofree gpointer *file_names = g_hash_table_get_keys_as_array(files, &n_files);
    qsort(file_names, n_files, sizeof(*file_names), compare_names);
    for (guint i = 0; i < n_files; i++) {
        Report r = {.path = g_hash_table_lookup(files, file_names[i]), .errors = errors};
        g_autofree char *data = NULL;
        gsize len;
        gboolean masked, id_known;
        if (!read_group_file(&r, real_dirs, &data, &len, &masked)) {
            if (masked)
                g_debug("%s: masked", r.path);
            continue;
        }
        guint file_before = errors->len;
        g_autoptr(GdGroupPolicy) policy = parse_group_file(&r, data, len, names, &id_known);
        /* A file without errors always has its id. */
        g_assert(id_known || errors->len > file_before);
        if (id_known)
            g_ptr_array_add(config->policies, g_steal_pointer(&policy));
    }
    check_unique(config->policies, errors);
    check_mptcp_addresses(config->policies, errors);
    resolve_preference(base, config, names, errors);
    if (errors->len > before) {
        *out = NULL;
        return -EINVAL;
    }
    *out = g_steal_pointer(&config);
    return 0;
}

const GdGroupPolicy *gd_config_first_match(const GdConfig *config, const GdMatchInput *link)
{
    for (guint i = 0; i < config->policies->len; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        if (gd_match_link(&p->match, link))
            return p;
    }
    return NULL;
}

const GdGroupPolicy *gd_config_policy_for_group(const GdConfig *config, uint32_t id)
{
    for (guint i = 0; i < config->policies->len; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        if (p->id == id)
            return p;
    }
    return NULL;
}
