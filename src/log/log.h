/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * log: the one way a message names a group, "group 100 (ppp)" (its number,
 * and its name when it has one), and the journal fields that let an
 * operator pick a group's or an interface's lines: GROUP=, GROUP_NAME=,
 * INTERFACE= (journalctl GROUP=100). A leaf: every module of the daemon
 * may use it.
 *
 * Messages go out through g_log(), so that GLib's handlers and the unit
 * tests' expectations see them as any other; the fields ride along with
 * that one g_log() call, and the daemon's log writer adds them
 * (gd_log_write_fields()). Call from the main thread: the namer reads the
 * running configuration.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Where group names come from (the daemon: a policy's Name=, else the
 * iproute2 file); NULL or no namer: numbers only. */
typedef const char *(*GdLogGroupNamer)(uint32_t id, gpointer user_data);
void gd_log_set_group_namer(GdLogGroupNamer namer, gpointer user_data);

/* Names have at most 255 bytes. */
#define GD_LOG_GROUP_LABEL_SIZE 272
/* "100 (ppp)", or "100" for a group without a name, in buf. */
const char *gd_log_group_label(uint32_t id, char *buf, gsize size);
/* The same in a buffer that lives until the end of the enclosing block. */
#define GD_LOG_GROUP(id)                                                                           \
    gd_log_group_label((id), (char[GD_LOG_GROUP_LABEL_SIZE]){0}, GD_LOG_GROUP_LABEL_SIZE)

/* What a message is about: its journal fields. */
typedef struct {
    gboolean has_group;
    uint32_t group;     /* GROUP=, and GROUP_NAME= when the group has a name */
    const char *ifname; /* INTERFACE=, or NULL */
} GdLogAbout;

/* The message as given, with about's fields. */
void gd_log_about(const char *domain, GLogLevelFlags level, const GdLogAbout *about,
                  const char *format, ...) G_GNUC_PRINTF(4, 5);
/* "group 100 (ppp): " and the message, with GROUP= (and GROUP_NAME=). */
void gd_log_group_full(const char *domain, GLogLevelFlags level, uint32_t group, const char *format,
                       ...) G_GNUC_PRINTF(4, 5);
/* "link eth0: " and the message, with INTERFACE=. */
void gd_log_link_full(const char *domain, GLogLevelFlags level, const char *ifname,
                      const char *format, ...) G_GNUC_PRINTF(4, 5);

#define gd_log_group(level, id, ...) gd_log_group_full(G_LOG_DOMAIN, level, id, __VA_ARGS__)
/* The message as given (it names the group with GD_LOG_GROUP()), with the
 * group's fields. */
#define gd_log_group_fields(level, id, ...)                                                        \
    gd_log_about(G_LOG_DOMAIN, level, &(GdLogAbout){.has_group = TRUE, .group = (id)}, __VA_ARGS__)
#define gd_log_link(level, ifname, ...) gd_log_link_full(G_LOG_DOMAIN, level, ifname, __VA_ARGS__)

/* For a log writer (g_log_set_writer_func()): hands fields, and the fields
 * of the gd_log_*() call being written if any, to next. */
GLogWriterOutput gd_log_write_fields(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                     GLogWriterFunc next, gpointer user_data);
