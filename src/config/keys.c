/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The key tables of groupd.conf and the *.group files, the value types
 * they use, the section loop they drive, and groupd.conf's struct. */
#include "config/keys.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

G_STATIC_ASSERT(sizeof(guint) == sizeof(uint32_t));

/* ---- numbers ---- */

/* A decimal (with key->hex also 0x-hexadecimal) number in key->min..max. */
gboolean gd_cfg_keys_parse_uint(const KeyInput *in, guint64 *out)
{
    const Item *item = in->item;
    const char *text = item->value;
    const char *digits = text;
    guint base = 10;
    if (in->key->hex && (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))) {
        base = 16;
        digits = text + 2;
    }
    gboolean ok = *digits != '\0';
    for (const char *p = digits; *p && ok; p++)
        ok = base == 16 ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p);
    if (!ok) {
        report_key(in->r, item->section, item->key, "\"%s\" is not a number", text);
        return FALSE;
    }
    /* Only digits are left, so the one possible failure is the range. */
    guint64 min = in->key->min, max = in->key->max;
    if (!g_ascii_string_to_unsigned(digits, base, min, max, out, NULL)) {
        report_key(in->r, item->section, item->key,
                   "\"%s\" is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")", text,
                   min, max);
        return FALSE;
    }
    return TRUE;
}

/* A number into a uint32_t (or guint) field. */
static gboolean parse_number(const KeyInput *in, void *section)
{
    guint64 v;
    if (!gd_cfg_keys_parse_uint(in, &v))
        return FALSE;
    *(uint32_t *)key_field(in, section) = (uint32_t)v;
    return TRUE;
}

/* A number, or key->words[0] for -1, into an int field. */
static gboolean parse_limit(const KeyInput *in, void *section)
{
    int *field = key_field(in, section);
    guint64 v;
    if (in->key->words && g_str_equal(in->item->value, in->key->words[0])) {
        *field = -1;
        return TRUE;
    }
    if (!gd_cfg_keys_parse_uint(in, &v))
        return FALSE;
    *field = (int)v;
    return TRUE;
}

static void unset_limit(void *field)
{
    *(int *)field = -1; /* leave the kernel's value */
}

/* Seconds as "S", "S.m", "S.mm" or "S.mmm" into a guint of milliseconds. */
static gboolean parse_seconds(const KeyInput *in, void *section)
{
    const Item *item = in->item;
    const char *text = item->value;
    const char *p = text;
    guint64 max_msec = in->key->max * 1000, msec = 0;
    for (; g_ascii_isdigit(*p); p++) {
        /* Past the maximum the value only matters as "too large". */
        if (msec <= max_msec)
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
        report_key(in->r, item->section, item->key,
                   "\"%s\" is not a number of seconds with at most 3 decimals (1, 0.5, …)", text);
        return FALSE;
    }
    if (msec < in->key->min * 1000 || msec > max_msec) {
        report_key(in->r, item->section, item->key,
                   "\"%s\" is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " seconds)",
                   text, in->key->min, in->key->max);
        return FALSE;
    }
    *(guint *)key_field(in, section) = (guint)msec;
    return TRUE;
}

/* Bytes with an optional K, M or G (1024-based) suffix into an int. */
static gboolean parse_size(const KeyInput *in, void *section)
{
    const Item *item = in->item;
    const char *text = item->value;
    const char *p = text;
    guint64 min = in->key->min, max = in->key->max, value = 0;
    for (; g_ascii_isdigit(*p); p++) {
        /* Past the maximum the value only matters as "too large"; this
         * also keeps value << 30 below 2^64. */
        if (value <= max)
            value = value * 10 + (guint64)(*p - '0');
    }
    guint shift = 0;
    if (p != text && *p && !p[1] && strchr("KMG", *p)) {
        shift = *p == 'K' ? 10 : *p == 'M' ? 20 : 30;
        p++;
    }
    if (p == text || *p) {
        report_key(in->r, item->section, item->key,
                   "\"%s\" is not a size (bytes, or with a K, M or G suffix)", text);
        return FALSE;
    }
    value <<= shift;
    if (value < min || value > max) {
        report_key(in->r, item->section, item->key,
                   "\"%s\" is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " bytes)",
                   text, min, max);
        return FALSE;
    }
    *(int *)key_field(in, section) = (int)value;
    return TRUE;
}

/* ---- words ---- */

static gboolean parse_boolean(const KeyInput *in, void *section)
{
    const char *const yes[] = {"yes", "true", "on", "1"};
    const char *const no[] = {"no", "false", "off", "0"};
    gboolean *field = key_field(in, section);
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(in->item->value, yes[i]) == 0) {
            *field = TRUE;
            return TRUE;
        }
        if (g_ascii_strcasecmp(in->item->value, no[i]) == 0) {
            *field = FALSE;
            return TRUE;
        }
    }
    report_key(in->r, in->item->section, in->item->key, "\"%s\" is not \"yes\" or \"no\"",
               in->item->value);
    return FALSE;
}

/* The index of the value in key->words, or -1 (reported). */
static int choose(const KeyInput *in)
{
    const char *const *words = in->key->words;
    for (guint i = 0; words[i]; i++)
        if (g_str_equal(in->item->value, words[i]))
            return (int)i;
    report_key(in->r, in->item->section, in->item->key, "\"%s\" is not %s", in->item->value,
               in->key->expected);
    return -1;
}

/* One of key->words, its index into an int field (an enum, a gboolean). */
static gboolean parse_choice(const KeyInput *in, void *section)
{
    int i = choose(in);
    if (i >= 0)
        *(int *)key_field(in, section) = i;
    return i >= 0;
}

/* The same into a C bool. */
static gboolean parse_choice_bool(const KeyInput *in, void *section)
{
    int i = choose(in);
    if (i >= 0)
        *(bool *)key_field(in, section) = i != 0;
    return i >= 0;
}

/* The same, the word itself into a string. */
static gboolean parse_choice_text(const KeyInput *in, void *section)
{
    char **field = key_field(in, section);
    if (choose(in) < 0)
        return FALSE;
    g_free(*field);
    *field = g_strdup(in->item->value);
    return TRUE;
}

/* Words separated by whitespace into a GStrv. */
static gboolean parse_list(const KeyInput *in, void *section)
{
    GStrv *field = key_field(in, section);
    g_auto(GStrv) words = g_strsplit_set(in->item->value, " \t", -1);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; words[i]; i++)
        if (*words[i])
            g_strv_builder_add(b, words[i]);
    g_strfreev(*field);
    *field = g_strv_builder_end(b);
    return TRUE;
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

static gboolean parse_unix_group(const KeyInput *in, void *section)
{
    char **field = key_field(in, section);
    if (!valid_unix_group(in->item->value)) {
        report_key(in->r, in->item->section, in->item->key,
                   "\"%s\" is not a Unix group name (letters, digits, \"_.-\")", in->item->value);
        return FALSE;
    }
    g_free(*field);
    *field = g_strdup(in->item->value);
    return TRUE;
}

gboolean gd_cfg_keys_parse_hwaddr(const KeyInput *in, const char *text, uint8_t *bytes,
                                  uint8_t *len)
{
    int n = gd_nl_hwaddr_parse(text, bytes, GD_NL_MAX_HWADDR);
    if (n <= 0) {
        report_key(in->r, in->item->section, in->item->key,
                   "\"%s\" is not a hardware address (hexadecimal bytes separated by \":\")", text);
        return FALSE;
    }
    *len = (uint8_t)n;
    return TRUE;
}

/* [Link] MACAddress=: the bytes and their number. */
static gboolean parse_link_hwaddr(const KeyInput *in, void *section)
{
    GdNlLinkChange *link = section;
    return gd_cfg_keys_parse_hwaddr(in, in->item->value, link->hwaddr, &link->hwaddr_len);
}

/* IPv4 and IPv6 addresses, added to a GArray of GdNlAddr. */
static gboolean parse_addresses(const KeyInput *in, void *section)
{
    GArray *addresses = *(GArray **)key_field(in, section);
    g_auto(GStrv) words = g_strsplit_set(in->item->value, " \t", -1);
    gboolean ok = TRUE;
    for (guint i = 0; words[i]; i++) {
        GdNlAddr addr;
        if (!*words[i])
            continue;
        if (gd_nl_cidr_parse(words[i], &addr) < 0) {
            report_key(in->r, in->item->section, in->item->key,
                       "\"%s\" is not an IPv4 or IPv6 address with an optional /prefix", words[i]);
            ok = FALSE;
            continue;
        }
        if (gd_nl_addr_is_unspecified(&addr)) {
            report_key(in->r, in->item->section, in->item->key,
                       "\"%s\" is the unspecified address, which no interface can have", words[i]);
            ok = FALSE;
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
            report_key(in->r, in->item->section, in->item->key, "\"%s\" is given twice", words[i]);
            ok = FALSE;
            continue;
        }
        g_array_append_val(addresses, addr);
    }
    return ok;
}

/* ---- MPTCP words ---- */

static const char *const mode_names[] = {
    [GD_MPTCP_MODE_OFF] = "off",
    [GD_MPTCP_MODE_FAILOVER] = "failover",
    [GD_MPTCP_MODE_POWER_SAVE] = "power-save",
    [GD_MPTCP_MODE_AGGREGATE] = "aggregate",
    NULL,
};

const char *gd_mptcp_mode_name(GdMptcpMode mode)
{
    return (guint)mode < G_N_ELEMENTS(mode_names) - 1 ? mode_names[mode] : "off";
}

int gd_mptcp_mode_parse(const char *text, GdMptcpMode *out)
{
    for (guint i = 0; mode_names[i]; i++) {
        if (g_str_equal(text, mode_names[i])) {
            *out = (GdMptcpMode)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* The endpoint flags' words and the kernel's bits, in the same order. */
static const char *const flag_words[] = {"signal",   "subflow", "backup",
                                         "fullmesh", "laminar", NULL};
static const uint32_t flag_bits[] = {GD_MPTCP_FLAG_SIGNAL, GD_MPTCP_FLAG_SUBFLOW,
                                     GD_MPTCP_FLAG_BACKUP, GD_MPTCP_FLAG_FULLMESH,
                                     GD_MPTCP_FLAG_LAMINAR};
G_STATIC_ASSERT(G_N_ELEMENTS(flag_words) == G_N_ELEMENTS(flag_bits) + 1);

int gd_mptcp_flags_parse(const char *text, uint32_t *out, char **bad_word)
{
    g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
    uint32_t flags = 0;
    for (guint i = 0; words[i]; i++) {
        if (!*words[i])
            continue;
        guint k = 0;
        while (k < G_N_ELEMENTS(flag_bits) && !g_str_equal(words[i], flag_words[k]))
            k++;
        if (k == G_N_ELEMENTS(flag_bits)) {
            if (bad_word)
                *bad_word = g_strdup(words[i]);
            return -EINVAL;
        }
        flags |= flag_bits[k];
    }
    *out = flags;
    return 0;
}

GStrv gd_mptcp_flags_names(uint32_t flags)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint k = 0; k < G_N_ELEMENTS(flag_bits); k++)
        if (flags & flag_bits[k])
            g_strv_builder_add(b, flag_words[k]);
    return g_strv_builder_end(b);
}

/* [MPTCP] Endpoint=: flags into a uint32_t. */
static gboolean parse_flags(const KeyInput *in, void *section)
{
    g_autofree char *bad = NULL;
    if (gd_mptcp_flags_parse(in->item->value, key_field(in, section), &bad) == 0)
        return TRUE;
    report_key(in->r, in->item->section, in->item->key,
               "\"%s\" is not an endpoint flag (subflow, signal, backup, fullmesh, laminar)", bad);
    return FALSE;
}

/* A group file's "[MPTCP]", even empty, makes the group take part. */
static void mptcp_opened(void *section)
{
    ((GdGroupMptcp *)section)->enabled = TRUE;
}

const char *gd_cfg_keys_names_source(const GdGroupNames *names)
{
    const char *source = names ? gd_group_names_source(names) : NULL;
    return source ? source : "the iproute2 group file";
}

/* ---- the tables ---- */

static const KeyType boolean_value = {"boolean", parse_boolean};
static const KeyType number_value = {"number", parse_number};
static const KeyType limit_value = {"number", parse_limit, unset_limit};
static const KeyType seconds_value = {"seconds", parse_seconds};
static const KeyType size_value = {"size", parse_size};
static const KeyType choice_value = {"choice", parse_choice};
static const KeyType choice_bool_value = {"choice", parse_choice_bool};
static const KeyType choice_text_value = {"choice", parse_choice_text};
static const KeyType list_value = {"list", parse_list};
static const KeyType unix_group_value = {"unix-group", parse_unix_group};
static const KeyType flags_value = {"flags", parse_flags};
static const KeyType hwaddr_value = {"hwaddr", parse_link_hwaddr};
static const KeyType addresses_value = {"addresses", parse_addresses};
static const KeyType globs_value = {"globs", gd_cfg_match_globs};
static const KeyType hwaddrs_value = {"hwaddrs", gd_cfg_match_hwaddrs};
static const KeyType groups_value = {"groups", gd_cfg_match_groups};
static const KeyType group_name_value = {"group-name", gd_cfg_group_file_name};
static const KeyType group_id_value = {"number", gd_cfg_group_file_id};

/* Left as written: clang-format would spread WORDS() over five lines. */
/* clang-format off */
#define FIELD(type, member) .offset = offsetof(type, member)
#define SETS(type, member)  .sets_flag = TRUE, .flag_offset = offsetof(type, member)
#define WORDS(...)          .words = (const char *const[]){__VA_ARGS__, NULL}
#define KEYS(keys)          keys, G_N_ELEMENTS(keys)
/* clang-format on */
#define MAX_SEC (GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC / 1000)

/* groupd.conf */

static const ConfigKey daemon_keys[] = {
    {"RepairDrift", &boolean_value, FIELD(GdDaemonConfig, repair_drift), .def = "yes"},
    {"AdminGroup", &unix_group_value, FIELD(GdDaemonConfig, admin_group),
     .def = GD_CONFIG_DEFAULT_ADMIN_GROUP},
    {"NetlinkReceiveBuffer", &size_value, FIELD(GdDaemonConfig, netlink_receive_buffer),
     .min = GD_CONFIG_MIN_RCVBUF, .max = GD_CONFIG_MAX_RCVBUF, .def = "32M"},
    {"DriftDebounceSec", &seconds_value, FIELD(GdDaemonConfig, drift_debounce_msec), .max = MAX_SEC,
     .def = "1"},
};

static const ConfigKey mptcp_keys[] = {
    {"Mode", &choice_value, FIELD(GdMptcpConfig, mode), .words = mode_names,
     .expected = "one of off, failover, power-save, aggregate", .def = "off"},
    {"Preference", &list_value, FIELD(GdMptcpConfig, preference)},
    {"HoldDownSec", &seconds_value, FIELD(GdMptcpConfig, hold_down_msec), .max = MAX_SEC,
     .def = "5"},
    {"FlapThreshold", &number_value, FIELD(GdMptcpConfig, flap_threshold), .min = 1, .max = 1000,
     .def = "3"},
    {"FlapWindowSec", &seconds_value, FIELD(GdMptcpConfig, flap_window_msec), .max = MAX_SEC,
     .def = "60"},
    {"HoldDownMaxSec", &seconds_value, FIELD(GdMptcpConfig, hold_down_max_msec), .max = MAX_SEC,
     .def = "60"},
    {"StaleLossCount", &limit_value, FIELD(GdMptcpConfig, stale_loss_cnt), .min = 1, .max = 255,
     WORDS("keep"), .def = "2"},
    {"RelaxRpFilter", &boolean_value, FIELD(GdMptcpConfig, relax_rp_filter), .def = "yes"},
    {"Subflows", &limit_value, FIELD(GdMptcpConfig, subflows), .max = GD_MPTCP_MAX_LIMIT},
    {"AddAddrAccepted", &limit_value, FIELD(GdMptcpConfig, add_addr_accepted),
     .max = GD_MPTCP_MAX_LIMIT},
    {"Owner", &choice_value, FIELD(GdMptcpConfig, owner_forced), WORDS("auto", "groupd"),
     .expected = "\"auto\" or \"groupd\"", .def = "auto"},
    {"StallDetectMSec", &number_value, FIELD(GdMptcpConfig, stall_detect_msec), .max = 10000,
     .def = "100"},
};

static const ConfigSection conf_sections[] = {
    {"Daemon", KEYS(daemon_keys), 0},
    {"MPTCP", KEYS(mptcp_keys), offsetof(GdDaemonConfig, mptcp)},
};

const ConfigFile gd_cfg_keys_conf_file = {"groupd.conf", conf_sections,
                                          G_N_ELEMENTS(conf_sections)};

/* *.group */

static const ConfigKey group_keys[] = {
    {"Name", &group_name_value},
    {"Id", &group_id_value, .max = G_MAXUINT32, .hex = TRUE},
};

static const ConfigKey match_keys[] = {
    {"Name", &globs_value, FIELD(GdMatch, name)},
    {"Kind", &globs_value, FIELD(GdMatch, kind)},
    {"Type", &globs_value, FIELD(GdMatch, type)},
    {"Driver", &globs_value, FIELD(GdMatch, driver)},
    {"MACAddress", &hwaddrs_value},
    {"Group", &groups_value},
};

static const ConfigKey link_keys[] = {
    {"MTU", &number_value, FIELD(GdNlLinkChange, mtu), SETS(GdNlLinkChange, set_mtu), .min = 1,
     .max = G_MAXINT32},
    {"State", &choice_bool_value, FIELD(GdNlLinkChange, up), SETS(GdNlLinkChange, set_state),
     WORDS("down", "up"), .expected = "\"up\" or \"down\""},
    {"MACAddress", &hwaddr_value, SETS(GdNlLinkChange, set_hwaddr)},
    {"TxQueueLength", &number_value, FIELD(GdNlLinkChange, txqlen),
     SETS(GdNlLinkChange, set_txqlen), .max = G_MAXUINT32},
};

static const ConfigKey address_keys[] = {
    {"Address", &addresses_value, FIELD(GdGroupPolicy, addresses), .repeats = TRUE},
};

static const ConfigKey group_mptcp_keys[] = {
    {"Endpoint", &flags_value, FIELD(GdGroupMptcp, flags), .words = flag_words, .def = "subflow"},
    {"Class", &choice_text_value, FIELD(GdGroupMptcp, link_class), WORDS("wlan", "wwan", "ether"),
     .expected = "wlan, wwan or ether"},
    {"Role", &choice_value, FIELD(GdGroupMptcp, always), WORDS("failover", "always"),
     .expected = "\"failover\" or \"always\"", .def = "failover"},
};

static const ConfigSection group_sections[] = {
    {"Group", KEYS(group_keys), 0},
    {"Match", KEYS(match_keys), offsetof(GroupFile, policy.match)},
    {"Link", KEYS(link_keys), offsetof(GroupFile, policy.link)},
    {"Address", KEYS(address_keys), offsetof(GroupFile, policy)},
    {"MPTCP", KEYS(group_mptcp_keys), offsetof(GroupFile, policy.mptcp), mptcp_opened},
};

const ConfigFile gd_cfg_keys_group_file = {"*.group", group_sections, G_N_ELEMENTS(group_sections)};

/* ---- the section loop ---- */

static const ConfigSection *find_section(const ConfigFile *file, const char *name)
{
    for (guint i = 0; i < file->n_sections; i++)
        if (g_str_equal(file->sections[i].name, name))
            return &file->sections[i];
    return NULL;
}

static const ConfigKey *find_key(const ConfigSection *section, const char *name)
{
    for (guint i = 0; i < section->n_keys; i++)
        if (g_str_equal(section->keys[i].name, name))
            return &section->keys[i];
    return NULL;
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

static gboolean empty_value(Report *r, const Item *item)
{
    if (*item->value)
        return FALSE;
    report_key(r, item->section, item->key, "empty value");
    return TRUE;
}

void gd_cfg_keys_parse_items(const ConfigFile *file, Report *r, GPtrArray *items,
                             const GdGroupNames *names, void *file_struct)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) unknown = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < items->len; i++) {
        const Item *item = items->pdata[i];
        const ConfigSection *s = find_section(file, item->section);
        if (!s) {
            if (!item->key && g_hash_table_add(unknown, g_strdup(item->section)))
                report_take(r,
                            g_strdup_printf("%s: [%s]: unknown section", r->path, item->section));
            continue;
        }
        void *section = (char *)file_struct + s->offset;
        if (!item->key) {
            if (s->opened)
                s->opened(section);
            continue;
        }
        const ConfigKey *key = find_key(s, item->key);
        if (!key) {
            report_key(r, item->section, item->key, "unknown key");
            continue;
        }
        if ((!key->repeats && !first_time(r, seen, item)) || empty_value(r, item))
            continue;
        KeyInput in = {.r = r, .item = item, .key = key, .names = names};
        if (key->type->parse(&in, section) && key->sets_flag)
            *(bool *)((char *)section + key->flag_offset) = true;
    }
}

void gd_cfg_keys_set_defaults(const ConfigFile *file, void *file_struct)
{
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    Report r = {.path = file->name, .errors = errors};
    for (guint s = 0; s < file->n_sections; s++) {
        const ConfigSection *sec = &file->sections[s];
        void *section = (char *)file_struct + sec->offset;
        for (guint k = 0; k < sec->n_keys; k++) {
            const ConfigKey *key = &sec->keys[k];
            if (key->type->unset)
                key->type->unset((char *)section + key->offset);
            if (!key->def)
                continue;
            Item item = {
                .section = (char *)sec->name, .key = (char *)key->name, .value = (char *)key->def};
            KeyInput in = {.r = &r, .item = &item, .key = key};
            if (!key->type->parse(&in, section))
                g_error("a default of the key table is refused: %s", (char *)errors->pdata[0]);
        }
    }
}

GArray *gd_config_keys(void)
{
    const ConfigFile *const files[] = {&gd_cfg_keys_conf_file, &gd_cfg_keys_group_file};
    GArray *out = g_array_new(FALSE, TRUE, sizeof(GdConfigKeyInfo));
    for (guint f = 0; f < G_N_ELEMENTS(files); f++) {
        for (guint s = 0; s < files[f]->n_sections; s++) {
            const ConfigSection *sec = &files[f]->sections[s];
            for (guint k = 0; k < sec->n_keys; k++) {
                const ConfigKey *key = &sec->keys[k];
                GdConfigKeyInfo info = {
                    .file = files[f]->name,
                    .section = sec->name,
                    .key = key->name,
                    .type = key->type->name,
                    .min = key->min,
                    .max = key->max,
                    .words = key->words,
                    .default_value = key->def,
                    .repeats = key->repeats,
                };
                g_array_append_val(out, info);
            }
        }
    }
    return out;
}

/* ---- groupd.conf ---- */

void gd_daemon_config_init(GdDaemonConfig *config)
{
    *config = (GdDaemonConfig){0};
    gd_cfg_keys_set_defaults(&gd_cfg_keys_conf_file, config);
}

void gd_daemon_config_clear(GdDaemonConfig *config)
{
    g_clear_pointer(&config->admin_group, g_free);
    g_clear_pointer(&config->mptcp.preference, g_strfreev);
    g_clear_pointer(&config->mptcp.preference_ids, g_array_unref);
}

int gd_daemon_config_parse(const char *path, const char *data, gsize len, GdDaemonConfig *out,
                           GPtrArray *errors)
{
    g_autoptr(GPtrArray) own_errors = errors ? NULL : g_ptr_array_new_with_free_func(g_free);
    Report r = {.path = path, .errors = errors ? errors : own_errors};
    guint before = r.errors->len, syntax_errors;
    g_autoptr(GPtrArray) items = gd_cfg_reader_scan(&r, data, len, &syntax_errors);
    gd_cfg_keys_parse_items(&gd_cfg_keys_conf_file, &r, items, NULL, out);
    return r.errors->len > before ? -EINVAL : 0;
}
