/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl monitor: one line per batch groupd signals (LinksChanged,
 * PropertiesChanged, group objects appearing or going), until SIGINT/SIGTERM
 * or --count batches. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "groupctl.h"

typedef struct {
    Ctl *ctl;
    unsigned seen;
    int exit_code;
    bool done;
} Monitor;

static void emit_done(Monitor *mon)
{
    fflush(stdout);
    mon->seen++;
    if (mon->ctl->count && mon->seen >= mon->ctl->count)
        mon->done = true;
}

/* "ifb0 ifb1 … (+N)" */
static void append_names(GString *s, GPtrArray *names)
{
    enum { MAX_SHOWN = 8 };
    for (unsigned i = 0; i < names->len && i < MAX_SHOWN; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", (char *)names->pdata[i]);
    if (names->len > MAX_SHOWN)
        g_string_append_printf(s, " ... (+%u)", names->len - MAX_SHOWN);
}

static int on_links_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    Monitor *mon = userdata;
    g_autoptr(GVariant) changed = NULL, removed = NULL, flagsv = NULL;
    if (read_gvariant(m, &changed) < 0 || read_gvariant(m, &removed) < 0 ||
        read_gvariant(m, &flagsv) < 0 ||
        !g_variant_is_of_type(changed, G_VARIANT_TYPE("a(isuus)")) ||
        !g_variant_is_of_type(removed, G_VARIANT_TYPE("ai")) ||
        !g_variant_is_of_type(flagsv, G_VARIANT_TYPE_UINT32)) {
        fprintf(stderr, "groupctl: ignoring a malformed LinksChanged\n");
        return 0;
    }
    uint32_t flags = g_variant_get_uint32(flagsv);
    if (mon->ctl->json) {
        JsonW w;
        jw_init(&w);
        jw_obj_begin(&w);
        jw_key(&w, "Signal");
        jw_str(&w, "LinksChanged");
        jw_key(&w, "Changed");
        jw_arr_begin(&w);
        GVariantIter it;
        int32_t idx;
        const char *name, *oper;
        uint32_t group, mtu;
        g_variant_iter_init(&it, changed);
        while (g_variant_iter_next(&it, "(i&suu&s)", &idx, &name, &group, &mtu, &oper)) {
            jw_obj_begin(&w);
            jw_key(&w, "Index");
            jw_int(&w, idx);
            jw_key(&w, "Name");
            jw_str(&w, name);
            jw_key(&w, "Group");
            jw_uint(&w, group);
            jw_key(&w, "MTU");
            jw_uint(&w, mtu);
            jw_key(&w, "OperState");
            jw_str(&w, oper);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_key(&w, "Removed");
        jw_gvariant(&w, removed);
        jw_key(&w, "Flags");
        jw_uint(&w, flags);
        jw_obj_end(&w);
        jw_print(&w);
    } else {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        GVariantIter it;
        const char *name;
        g_variant_iter_init(&it, changed);
        while (g_variant_iter_next(&it, "(i&suu&s)", NULL, &name, NULL, NULL, NULL))
            g_ptr_array_add(names, g_strdup(name));
        g_autoptr(GString) s = g_string_new(NULL);
        g_string_append_printf(s, "LinksChanged: %u changed", names->len);
        if (names->len) {
            g_string_append(s, " (");
            append_names(s, names);
            g_string_append(s, ")");
        }
        g_string_append_printf(s, ", %zu removed%s", g_variant_n_children(removed),
                               flags & 1 ? " [resync]" : "");
        print_line("%s", s->str);
    }
    emit_done(mon);
    return 0;
}

static const char *object_name(const char *path, char *buf, size_t size)
{
    if (g_str_has_prefix(path, GD_GROUP_PREFIX))
        snprintf(buf, size, "group %s", path + strlen(GD_GROUP_PREFIX));
    else if (!strcmp(path, GD_MANAGER_PATH))
        snprintf(buf, size, "manager");
    else
        snprintf(buf, size, "%s", path);
    return buf;
}

static int on_generic(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    Monitor *mon = userdata;
    const char *member = sd_bus_message_get_member(m);
    const char *path = sd_bus_message_get_path(m);
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
    char buf[256];

    for (;;) {
        GVariant *v;
        int r = sd_bus_message_at_end(m, true);
        if (r != 0)
            break;
        if (read_gvariant(m, &v) < 0)
            break;
        g_ptr_array_add(args, v);
    }
    if (mon->ctl->json) {
        JsonW w;
        jw_init(&w);
        jw_obj_begin(&w);
        jw_key(&w, "Signal");
        jw_str(&w, member);
        jw_key(&w, "Path");
        jw_str(&w, path);
        jw_key(&w, "Arguments");
        jw_arr_begin(&w);
        for (unsigned i = 0; i < args->len; i++)
            jw_gvariant(&w, args->pdata[i]);
        jw_arr_end(&w);
        jw_obj_end(&w);
        jw_print(&w);
        emit_done(mon);
        return 0;
    }

    g_autoptr(GString) s = g_string_new(NULL);
    if (!strcmp(member, "PropertiesChanged") && args->len == 3) {
        /* (s interface, a{sv} changed, as invalidated) */
        g_string_append_printf(s, "PropertiesChanged %s:", object_name(path, buf, sizeof buf));
        GVariantIter it;
        const char *key;
        GVariant *value;
        g_variant_iter_init(&it, args->pdata[1]);
        while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
            g_autofree char *text = gvariant_text(value);
            g_string_append_printf(s, " %s=%s", key, text);
            g_variant_unref(value);
        }
        g_autofree const char **inval = g_variant_get_strv(args->pdata[2], NULL);
        if (inval[0]) {
            g_autofree char *joined = g_strjoinv(",", (char **)inval);
            g_string_append_printf(s, " (invalidated: %s)", joined);
        }
    } else if (!strcmp(member, "InterfacesAdded") && args->len >= 1) {
        g_string_append_printf(
            s, "%s appeared",
            object_name(g_variant_get_string(args->pdata[0], NULL), buf, sizeof buf));
    } else if (!strcmp(member, "InterfacesRemoved") && args->len >= 1) {
        g_string_append_printf(
            s, "%s disappeared",
            object_name(g_variant_get_string(args->pdata[0], NULL), buf, sizeof buf));
    } else {
        g_string_append_printf(s, "%s %s", member, path);
    }
    print_line("%s", s->str);
    emit_done(mon);
    return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    Monitor *mon = userdata;
    const char *name, *old_owner, *new_owner;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
        return 0;
    if (!strcmp(name, GD_BUS_NAME) && !*new_owner) {
        fprintf(stderr, "groupctl: groupd left the bus\n");
        mon->exit_code = EXIT_NOBUS;
        mon->done = true;
    }
    return 0;
}

static int wait_bus(sd_bus *bus, int sfd, bool *signalled)
{
    uint64_t until;
    int timeout = -1;
    int events = sd_bus_get_events(bus);
    if (events < 0)
        return events;
    if (sd_bus_get_timeout(bus, &until) >= 0 && until != UINT64_MAX) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        timeout = until <= now ? 0 : (int)MIN((until - now + 999) / 1000, (uint64_t)INT32_MAX);
    }
    struct pollfd fds[2] = {{sd_bus_get_fd(bus), (short)events, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, timeout) < 0)
        return errno == EINTR ? 0 : -errno;
    if (fds[1].revents & POLLIN)
        *signalled = true;
    return 0;
}

int verb_monitor(Ctl *ctl, int argc, char **argv)
{
    Monitor mon = {.ctl = ctl};
    g_autofree char *owner = NULL;
    int r = bus_connect_groupd_owner(ctl, &owner);
    if (r)
        return r;

    g_autofree char *links_rule =
        g_strdup_printf("type='signal',sender='%s',path='" GD_MANAGER_PATH
                        "',interface='" GD_MANAGER_IFACE "',member='LinksChanged'",
                        owner);
    g_autofree char *props_rule =
        g_strdup_printf("type='signal',sender='%s',interface='org.freedesktop.DBus.Properties',"
                        "member='PropertiesChanged',path_namespace='" GD_MANAGER_PATH "'",
                        owner);
    g_autofree char *om_rule = g_strdup_printf("type='signal',sender='%s',path='" GD_MANAGER_PATH
                                               "',interface='org.freedesktop.DBus.ObjectManager'",
                                               owner);
    const char *owner_rule = "type='signal',sender='org.freedesktop.DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                             "arg0='" GD_BUS_NAME "'";
    /* sd_bus_add_match() waits for the bus to acknowledge each rule: once it
     * returns, no signal can slip by. */
    r = sd_bus_add_match(ctl->bus, NULL, links_rule, on_links_changed, &mon);
    if (r >= 0)
        r = sd_bus_add_match(ctl->bus, NULL, props_rule, on_generic, &mon);
    if (r >= 0)
        r = sd_bus_add_match(ctl->bus, NULL, om_rule, on_generic, &mon);
    if (r >= 0)
        r = sd_bus_add_match(ctl->bus, NULL, owner_rule, on_owner_changed, &mon);
    if (r < 0)
        return report_errno("subscribing to groupd's signals", r);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return report_errno("blocking signals", -errno);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return report_errno("signalfd", -errno);
    /* Tests (and users) wait for this line before changing anything. */
    fprintf(stderr, "Monitoring %s (%s), Ctrl-C to stop.\n", GD_BUS_NAME, owner);

    bool signalled = false;
    while (!mon.done && !signalled) {
        r = sd_bus_process(ctl->bus, NULL);
        if (r < 0) {
            mon.exit_code = report_errno("reading the bus", r);
            break;
        }
        if (r > 0)
            continue;
        r = wait_bus(ctl->bus, sfd, &signalled);
        if (r < 0) {
            mon.exit_code = report_errno("waiting on the bus", r);
            break;
        }
    }
    close(sfd);
    return mon.exit_code;
}
