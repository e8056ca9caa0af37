/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Private to src/config/ (its functions are gd_cfg_<file>_*): the key
 * tables. Each section of each file has one table (keys.c) that says which
 * keys it accepts and, for each, its value type (the parser), the field it
 * sets and its default. The tables drive validation (unknown section,
 * unknown key, repeated key, empty value), parsing, the defaults, and
 * gd_config_keys(), which the documentation checks read. */
#pragma once

#include "config/config.h"
#include "config/reader.h"

#include <stddef.h>

typedef struct ConfigKey ConfigKey;

/* What a value parser is given: the line (its value is not empty), its
 * table entry and the file's context. */
typedef struct {
    Report *r;
    const Item *item;
    const ConfigKey *key;
    const GdGroupNames *names; /* group files: the iproute2 group names */
} KeyInput;

/* Parses in->item->value into the section's struct; reports and returns
 * FALSE when the value is bad (the file is then refused as a whole). */
typedef gboolean (*KeyParser)(const KeyInput *in, void *section);

/* A kind of value: its name in gd_config_keys() and its parser. */
typedef struct {
    const char *name;
    KeyParser parse;
    void (*unset)(void *field); /* the field without a default (NULL: zero) */
} KeyType;

struct ConfigKey {
    const char *name;
    const KeyType *type;
    /* The field in the section's struct; unused by the handlers that know
     * their fields (gd_cfg_match_hwaddrs, gd_cfg_group_file_id, …). */
    size_t offset;
    /* A C bool (GdNlLinkChange's set_*) set once the value parsed. */
    gboolean sets_flag;
    size_t flag_offset;
    gboolean repeats;         /* may be given more than once ([Address] Address=) */
    guint64 min, max;         /* numbers; seconds in seconds, sizes in bytes */
    gboolean hex;             /* numbers: also 0x-hexadecimal */
    const char *const *words; /* choices, flags; numbers: the one word meaning -1 */
    const char *expected;     /* choices: the reason's tail, "\"V\" is not EXPECTED" */
    const char *def;          /* the default, as written in a file; NULL: none */
};

typedef struct {
    const char *name;
    const ConfigKey *keys;
    guint n_keys;
    size_t offset;                 /* of the section's struct in the file's */
    void (*opened)(void *section); /* on a "[Section]" line */
} ConfigSection;

typedef struct {
    const char *name; /* "groupd.conf", "*.group" */
    const ConfigSection *sections;
    guint n_sections;
} ConfigFile;

/* A group file while it is parsed: the policy, and what [Group] said for
 * the identity checks that follow. */
typedef struct {
    GdGroupPolicy policy;
    gboolean has_name, name_ok; /* Name= given, and valid */
    gboolean has_id, id_ok;     /* Id= given, and valid */
} GroupFile;

/* The two files: groupd.conf's struct is GdDaemonConfig, a group file's
 * GroupFile. */
extern const ConfigFile gd_cfg_keys_conf_file, gd_cfg_keys_group_file;

/* Parses the items into file_struct by file's tables: unknown sections
 * (once each) and keys, repeated keys and empty values are reported, every
 * other value goes to its parser. */
void gd_cfg_keys_parse_items(const ConfigFile *file, Report *r, GPtrArray *items,
                             const GdGroupNames *names, void *file_struct);
/* Sets every field of file_struct that has a table entry to its default. */
void gd_cfg_keys_set_defaults(const ConfigFile *file, void *file_struct);

/* The field a key sets in the section's struct. */
static inline void *key_field(const KeyInput *in, void *section)
{
    return (char *)section + in->key->offset;
}

/* Value parsers shared with match.c and group-file.c. */
gboolean gd_cfg_keys_parse_uint(const KeyInput *in, guint64 *out);
gboolean gd_cfg_keys_parse_hwaddr(const KeyInput *in, const char *text, uint8_t *bytes,
                                  uint8_t *len);
const char *gd_cfg_keys_names_source(const GdGroupNames *names);

/* [Match] (match.c). */
gboolean gd_cfg_match_globs(const KeyInput *in, void *match);
gboolean gd_cfg_match_hwaddrs(const KeyInput *in, void *match);
gboolean gd_cfg_match_groups(const KeyInput *in, void *match);

/* [Group] (group-file.c). */
gboolean gd_cfg_group_file_name(const KeyInput *in, void *group_file);
gboolean gd_cfg_group_file_id(const KeyInput *in, void *group_file);

/* One group file; always returns a policy (complete only when nothing was
 * reported). *id_known: policy->id is the file's id. (group-file.c) */
GdGroupPolicy *parse_group_file(Report *r, const char *data, gsize len, const GdGroupNames *names,
                                gboolean *id_known);
