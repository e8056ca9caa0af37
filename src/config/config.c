/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Loading the configuration: groupd.conf and the *.group files of the
 * three directories (replacement, masking, symlink confinement, ownership),
 * then the checks across files. Parsing is keys.c's and group-file.c's. */
#include "config.h"

#include "config/keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1024 * 1024)

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
