/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config: groupd.conf ([Daemon]) and the *.group policy files, parsed and
 * validated into plain structs. Pure: reads files, never touches the
 * kernel or the bus. May call: netlink (text forms only), GLib.
 *
 * File syntax: GKeyFile's grammar, read by this module line by line. Not
 * GKeyFile itself: it reports no line number for a bad line, keeps only
 * the last of a repeated key (Address= must repeat) and drops Key[xx]=
 * lines silently. A unit test checks both accept the same lines.
 *   - "# comment" lines, blank lines, "[Section]" and "Key=Value" lines;
 *     leading and trailing whitespace and whitespace around '=' are
 *     ignored; a section may appear more than once (its keys add up).
 *   - Key names are letters, digits and "_-.". Values are taken as written
 *     (no escapes). '#' starts a comment only at the start of a line; a
 *     value containing " #" is refused rather than silently kept.
 *   - A key given twice in one file is an error, except [Address] Address=.
 *   - Every file must be UTF-8 without NUL bytes, at most 1 MiB.
 *
 * Errors are strings, each one of:
 *   "PATH:LINE: reason"              the line cannot be parsed
 *   "PATH: [Section] Key: reason"    a value is wrong, missing or repeated
 *   "PATH: [Section]: reason"        a section is unknown
 *   "PATH: reason"                   the file as a whole (symlink, type, …)
 * Loading collects every error of every file before failing.
 */
#pragma once

#include "config/group-names.h"
#include "netlink/nl.h"

#include <glib.h>
#include <stdint.h>

/* Only the line grammar above (sections, keys, values, encoding), no
 * section or key is checked: 0 or -EINVAL with the messages in errors. */
int gd_config_check_syntax(const char *path, const char *data, gsize len, GPtrArray *errors);

/* ---- groupd.conf ---- */

#define GD_CONFIG_DEFAULT_ADMIN_GROUP "netdev"
/* NetlinkReceiveBuffer= bounds, as --netlink-rcvbuf's (the kernel doubles it). */
#define GD_CONFIG_MIN_RCVBUF              4096
#define GD_CONFIG_MAX_RCVBUF              (G_MAXINT32 / 2)
#define GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC (3600 * 1000)

/* MPTCP endpoint flags, the kernel's MPTCP_PM_ADDR_FLAG_* bits. */
#define GD_MPTCP_FLAG_SIGNAL   (1u << 0)
#define GD_MPTCP_FLAG_SUBFLOW  (1u << 1)
#define GD_MPTCP_FLAG_BACKUP   (1u << 2)
#define GD_MPTCP_FLAG_FULLMESH (1u << 3)
#define GD_MPTCP_FLAG_LAMINAR  (1u << 5)
#define GD_MPTCP_MAX_LIMIT     8 /* the kernel's MPTCP_PM_ADDR_MAX and limits */

typedef enum {
    GD_MPTCP_MODE_OFF,
    GD_MPTCP_MODE_FAILOVER,
    GD_MPTCP_MODE_POWER_SAVE,
    GD_MPTCP_MODE_AGGREGATE,
} GdMptcpMode;

/* "off", "failover", "power-save", "aggregate"; parse returns -EINVAL. */
const char *gd_mptcp_mode_name(GdMptcpMode mode);
int gd_mptcp_mode_parse(const char *text, GdMptcpMode *out);
/* "subflow backup" ↔ bits; parse returns -EINVAL naming nothing (the
 * caller reports the word). names: NULL-terminated, g_strfreev(). */
int gd_mptcp_flags_parse(const char *text, uint32_t *out, char **bad_word);
GStrv gd_mptcp_flags_names(uint32_t flags);

/* The keys of every section, their values' form, range and default are
 * declared once, in the key tables of keys.c (gd_config_keys() lists them);
 * the man pages groupd.conf(5) and groupd.group(5) describe them. */

/* groupd.conf [MPTCP]: the namespace-wide failover policy. */
typedef struct {
    GdMptcpMode mode;         /* Mode= */
    GStrv preference;         /* Preference= as written (names or numbers); NULL: default */
    GArray *preference_ids;   /* uint32_t, resolved by gd_config_load(); NULL: default */
    guint hold_down_msec;     /* HoldDownSec= */
    guint flap_threshold;     /* FlapThreshold= failures ... */
    guint flap_window_msec;   /* ... within FlapWindowSec= ... */
    guint hold_down_max_msec; /* ... double the hold-down up to HoldDownMaxSec= */
    int stale_loss_cnt;       /* StaleLossCount=; -1 "keep" */
    gboolean relax_rp_filter; /* RelaxRpFilter= */
    int subflows;             /* Subflows=; -1 (unset) leaves the kernel's */
    int add_addr_accepted;    /* AddAddrAccepted=; -1 (unset) leaves it */
    gboolean owner_forced;    /* Owner=groupd (not auto) */
    guint stall_detect_msec;  /* StallDetectMSec=; 0 off */
} GdMptcpConfig;

/* groupd.conf; every key is optional, unknown sections and keys are errors. */
typedef struct {
    gboolean repair_drift;      /* RepairDrift= */
    char *admin_group;          /* AdminGroup=, not looked up here */
    int netlink_receive_buffer; /* NetlinkReceiveBuffer=, bytes */
    guint drift_debounce_msec;  /* DriftDebounceSec= */
    GdMptcpConfig mptcp;        /* the [MPTCP] section */
} GdDaemonConfig;

void gd_daemon_config_init(GdDaemonConfig *config); /* the defaults of the key tables */
void gd_daemon_config_clear(GdDaemonConfig *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GdDaemonConfig, gd_daemon_config_clear)

/* Parses groupd.conf text (path is only used in messages) over the
 * defaults in *out, which the caller has initialized with
 * gd_daemon_config_init(). Returns 0, or -EINVAL with the messages appended
 * to errors (may be NULL; elements are g_free()d strings). */
int gd_daemon_config_parse(const char *path, const char *data, gsize len, GdDaemonConfig *out,
                           GPtrArray *errors);

/* ---- [Match] ---- */

/* One [Match] key: a whitespace-separated list of values, any of which may
 * match (OR). A list starting with '!' ("Name=!eth* wlan*") is negated as a
 * whole: the key holds when none of the values match. */
typedef struct {
    gboolean set;    /* the key was given */
    gboolean negate; /* the list started with '!' */
    GStrv values;    /* the values as written, without the '!'; NULL when !set */
} GdMatchKey;

/* A hardware address for MACAddress=. */
typedef struct {
    uint8_t bytes[GD_NL_MAX_HWADDR];
    uint8_t len;
} GdMatchHwaddr;

/* The [Match] section. Every key that is set must hold (AND).
 *   Name=        shell globs (fnmatch(3)) on the interface name
 *   Kind=        globs on the rtnl link kind ("veth", "dummy", …)
 *   Type=        globs on the link type ("ether", "wlan", "wwan", "loopback",
 *                "ppp", "none", …: sysfs DEVTYPE, else from the ARPHRD)
 *   Driver=      globs on the driver name
 *   MACAddress=  hardware addresses ("aa:bb:cc:dd:ee:ff")
 *   Group=       the link's current kernel group: numbers or iproute2 names
 * A link that has no kind, driver, type or hardware address matches no value
 * of that key, so "Kind=*" means "has a kind" and "Kind=!*" "has none".
 * An empty value ("Kind=") is an error.
 * A group file without [Match], or with an empty [Match], has no automatic
 * members: it matches no link (there is no implicit "match everything";
 * write "Name=*" for that). */
typedef struct {
    GdMatchKey name, kind, type, driver, hwaddr, group;
    GArray *hwaddrs; /* GdMatchHwaddr, parsed hwaddr.values (NULL when unset) */
    GArray *groups;  /* uint32_t, resolved group.values (NULL when unset) */
} GdMatch;

void gd_match_clear(GdMatch *match);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GdMatch, gd_match_clear)

/* What a link looks like to [Match]; plain data so that rules are testable
 * without a kernel. NULL or "" strings and hwaddr_len 0 mean "none". */
typedef struct {
    const char *name;
    const char *kind;
    const char *type;
    const char *driver;
    const uint8_t *hwaddr;
    size_t hwaddr_len;
    uint32_t group;
} GdMatchInput;

/* TRUE when at least one key is set and every key that is set holds. */
gboolean gd_match_link(const GdMatch *match, const GdMatchInput *link);

/* ---- *.group files ---- */

/* A group file's [MPTCP] section. */
typedef struct {
    gboolean enabled; /* the file has an [MPTCP] section */
    uint32_t flags;   /* Endpoint=: GD_MPTCP_FLAG_* */
    char *link_class; /* Class=, or NULL */
    gboolean always;  /* Role=always: endpoints whatever the mode */
} GdGroupMptcp;

/* One *.group file: [Group], [Match], [Link], [Address], [MPTCP].
 * Id= may be left out when Name= is in the iproute2 group file; when that
 * file names Id= or knows Name=, both must agree with it. Address= may
 * repeat (also in repeated [Address] sections); order is kept, the same
 * address twice is an error. Group 0's policy may not set [Link] or
 * [Address]. */
typedef struct {
    char *path;      /* the file as found in its directory (not resolved) */
    char *file_name; /* its base name: identity across directories, sort key */
    char *name;      /* Name=, else the iproute2 name of id, else NULL */
    uint32_t id;
    GdMatch match;
    GdNlLinkChange link; /* what [Link] sets; unset fields are not managed */
    GArray *addresses;   /* GdNlAddr (ifindex 0), file order; never NULL */
    GdGroupMptcp mptcp;
} GdGroupPolicy;

void gd_group_policy_free(GdGroupPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdGroupPolicy, gd_group_policy_free)

/* Parses one group file's text. names: the iproute2 group names (NULL: only
 * the built-in "0 default"). Returns NULL, with the messages appended to
 * errors (may be NULL), when anything is wrong. */
GdGroupPolicy *gd_group_policy_parse(const char *path, const char *data, gsize len,
                                     const GdGroupNames *names, GPtrArray *errors);

/* ---- the keys ---- */

/* One key a file accepts, as the key tables declare it: for the checks of
 * the documentation against the code (test-config --dump-config-keys). */
typedef struct {
    const char *file;          /* "groupd.conf" or "*.group" */
    const char *section;       /* "Daemon", "MPTCP", "Group", "Match", … */
    const char *key;           /* "RepairDrift", … */
    const char *type;          /* "boolean", "number", "seconds", "size", "choice", "flags", … */
    guint64 min, max;          /* number, seconds (in seconds), size: the range */
    const char *const *words;  /* choice, flags: the words; number: a word meaning "keep" */
    const char *default_value; /* as written in a file; NULL: none (see the man page) */
    gboolean repeats;          /* may be given more than once */
} GdConfigKeyInfo;

/* Every key of groupd.conf, then of a group file, section by section in
 * table order. An array of GdConfigKeyInfo; g_array_unref(). */
GArray *gd_config_keys(void);

/* ---- the whole configuration ---- */

typedef struct {
    GdDaemonConfig daemon;
    GPtrArray *policies; /* GdGroupPolicy *, by file_name (strcmp order) */
} GdConfig;

void gd_config_free(GdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdConfig, gd_config_free)

/* Loads <root>/etc/groupd/groupd.conf (missing: the defaults; a symlink is
 * followed, it is a single file the administrator names) and the
 * *.group files of GD_CONFIG_{VENDOR,ADMIN,RUNTIME}_DIR under root (NULL or
 * "" for "/"):
 *   - a file in a later directory replaces the one of the same name in an
 *     earlier one; an empty file, or a symlink to /dev/null, masks it;
 *   - names that start with '.' or do not end in ".group" are ignored;
 *   - a symlink is followed only when its target (resolved) is a regular
 *     file inside one of the directories; any other symlink is refused,
 *     and so is anything that is not a regular file;
 *   - no two files may have the same Id=, or the same Name= with different
 *     ids.
 * names: the iproute2 group names (NULL: loaded from root). On success
 * *out is the configuration and 0 is returned; otherwise -EINVAL with
 * every message appended to errors (may be NULL) and *out NULL. */
int gd_config_load(const char *root, const GdGroupNames *names, GdConfig **out, GPtrArray *errors);

/* Paths under the root, the group directories in the order they apply. */
#define GD_CONFIG_FILE        "etc/groupd/groupd.conf"
#define GD_CONFIG_VENDOR_DIR  "usr/lib/groupd/groups.d"
#define GD_CONFIG_ADMIN_DIR   "etc/groupd/groups.d"
#define GD_CONFIG_RUNTIME_DIR "run/groupd/groups.d"

/* The first policy (in file order) whose [Match] matches, or NULL. */
const GdGroupPolicy *gd_config_first_match(const GdConfig *config, const GdMatchInput *link);
/* The policy of group id, or NULL. */
const GdGroupPolicy *gd_config_policy_for_group(const GdConfig *config, uint32_t id);
