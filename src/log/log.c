/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Group labels and the journal fields of a message (log.h). */
#include "log.h"

static GdLogGroupNamer group_namer;
static gpointer group_namer_data;

/* The fields of the gd_log_*() call on this thread, while its g_log() runs. */
typedef struct {
    char group[16];
    const char *group_name;
    const char *ifname;
} Fields;
static __thread const Fields *current_fields;

void gd_log_set_group_namer(GdLogGroupNamer namer, gpointer user_data)
{
    group_namer = namer;
    group_namer_data = user_data;
}

static const char *group_name(uint32_t id)
{
    const char *name = group_namer ? group_namer(id, group_namer_data) : NULL;
    return name && *name ? name : NULL;
}

const char *gd_log_group_label(uint32_t id, char *buf, gsize size)
{
    const char *name = group_name(id);
    if (name)
        g_snprintf(buf, size, "%" G_GUINT32_FORMAT " (%s)", id, name);
    else
        g_snprintf(buf, size, "%" G_GUINT32_FORMAT, id);
    return buf;
}

static void log_with_fields(const char *domain, GLogLevelFlags level, const GdLogAbout *about,
                            const char *message)
{
    Fields fields = {.ifname = about->ifname};
    if (about->has_group) {
        g_snprintf(fields.group, sizeof(fields.group), "%" G_GUINT32_FORMAT, about->group);
        fields.group_name = group_name(about->group);
    }
    const Fields *outer = current_fields;
    current_fields = &fields;
    g_log(domain, level, "%s", message);
    current_fields = outer;
}

void gd_log_about(const char *domain, GLogLevelFlags level, const GdLogAbout *about,
                  const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);
    log_with_fields(domain, level, about, message);
}

void gd_log_group_full(const char *domain, GLogLevelFlags level, uint32_t group, const char *format,
                       ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *text = g_strdup_vprintf(format, ap);
    va_end(ap);
    char label[GD_LOG_GROUP_LABEL_SIZE];
    g_autofree char *message =
        g_strdup_printf("group %s: %s", gd_log_group_label(group, label, sizeof(label)), text);
    const GdLogAbout about = {.has_group = TRUE, .group = group};
    log_with_fields(domain, level, &about, message);
}

void gd_log_link_full(const char *domain, GLogLevelFlags level, const char *ifname,
                      const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *text = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_autofree char *message = g_strdup_printf("link %s: %s", ifname, text);
    const GdLogAbout about = {.ifname = ifname};
    log_with_fields(domain, level, &about, message);
}

GLogWriterOutput gd_log_write_fields(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                     GLogWriterFunc next, gpointer user_data)
{
    const Fields *extra = current_fields;
    if (!extra)
        return next(level, fields, n_fields, user_data);
    g_autofree GLogField *all = g_new(GLogField, n_fields + 3);
    gsize n = 0;
    for (gsize i = 0; i < n_fields; i++)
        all[n++] = fields[i];
    if (extra->group[0])
        all[n++] = (GLogField){"GROUP", extra->group, -1};
    if (extra->group_name)
        all[n++] = (GLogField){"GROUP_NAME", extra->group_name, -1};
    if (extra->ifname)
        all[n++] = (GLogField){"INTERFACE", extra->ifname, -1};
    return next(level, all, n, user_data);
}
