/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * config: group names from the iproute2 group file ("ID NAME" per line,
 * '#' comments), as `ip` reads them. Never includes GDBus.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct GdGroupNames GdGroupNames;

/* Parses the file format; bad lines are skipped and described in
 * *warnings (may be NULL), as iproute2 skips them. */
GdGroupNames *gd_group_names_parse(const char *data, gsize len, GPtrArray *warnings);
/* Loads <root>/etc/iproute2/group, else <root>/usr/share/iproute2/group;
 * root may be NULL or "" for "/". Missing files give the built-in
 * "0 default" only. */
GdGroupNames *gd_group_names_load(const char *root);
void gd_group_names_free(GdGroupNames *names);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdGroupNames, gd_group_names_free)

/* Whether name is a group name as iproute2 writes them: letters, digits
 * and "_-.:", not starting with a digit (ip(8) would read a number). */
gboolean gd_group_names_valid_name(const char *name);
/* The name of a group, or NULL when it has none. */
const char *gd_group_names_name(const GdGroupNames *names, uint32_t id);
/* "100", "0x64" or a name → id. -EINVAL for an empty or malformed text,
 * -ENOENT for an unknown name. */
int gd_group_names_resolve(const GdGroupNames *names, const char *text, uint32_t *id);
/* The path that was read, or NULL. */
const char *gd_group_names_source(const GdGroupNames *names);
