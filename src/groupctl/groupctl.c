/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl: options, verb dispatch and the bus helpers every verb shares. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "groupctl.h"
#include "text/text.h"

/* A group change on thousands of UP members can hold groupd inside the kernel
 * for many seconds: do not give up after the default 25 s. */
#define CALL_TIMEOUT_MSEC (300 * 1000)

static const char *arg_address;

static void help(FILE *f)
{
    fprintf(f, "Usage: groupctl [OPTIONS] COMMAND [ARGS...]\n"
               "\n"
               "Query and change network device groups through groupd (net.groupd1).\n"
               "\n"
               "Commands:\n"
               "  status                         daemon version, counters\n"
               "  list                           groups: id, name, members, MTU, state, drift\n"
               "  links [GROUP]                  links (of one group)\n"
               "  show GROUP                     every property of a group, its policy, members\n"
               "  set GROUP [mtu N] [state up|down] [mac MAC] [txqlen N]\n"
               "                                 change every member with one kernel message\n"
               "  join GROUP LINK...             move links into a group\n"
               "  address add|del GROUP ADDR     add/remove an address on every member\n"
               "  reload [--dry-run]             reload the configuration, print the plan\n"
               "  plan                           what the policies would change now\n"
               "  monitor [--count N]            print change batches as they come\n"
               "  mptcp [status]                 MPTCP mode, active group, health, endpoints,\n"
               "                                 connections\n"
               "  mptcp mode MODE                off, failover, power-save or aggregate\n"
               "  mptcp prefer GROUP...          the failover order, most preferred first\n"
               "  mptcp failover [GROUP]         move traffic off the active group now\n"
               "  mptcp monitor [--count N]      print active group changes as they come\n"
               "  mptcp hand-over                give NetworkManager's MPTCP on the devices of\n"
               "                                 the [MPTCP] groups to groupd (mptcp-flags\n"
               "                                 \"disabled\" in their profiles)\n"
               "  mptcp hand-back                give it back (mptcp-flags default)\n"
               "\n"
               "Options:\n"
               "  -h --help          show this help\n"
               "     --version       show the version\n"
               "     --json          JSON output (read verbs, plan, reload, monitor)\n"
               "     --no-pager      accepted; groupctl never pages\n"
               "     --no-legend     no table header\n"
               "     --force         allow changing group 0 (set, address)\n"
               "     --dry-run       reload: compute the plan only, change nothing\n"
               "     --count N       monitor: exit after N batches (mptcp monitor: N changes)\n"
               "     --address ADDR  connect to this D-Bus address instead of the system bus\n"
               "\n"
               "Exit status: 0 success, 1 error from groupd, 2 bad usage,\n"
               "3 no bus or groupd not running.\n");
}

void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("groupctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nUsage: groupctl [OPTIONS] COMMAND [ARGS...]; see 'groupctl --help'.\n", stderr);
}

/* Connects on first use, so that bad usage is reported as such (exit 2)
 * even when there is no bus. */
int bus_connect(Ctl *ctl)
{
    g_autoptr(GError) error = NULL;

    if (ctl->bus)
        return 0;
    if (arg_address)
        ctl->bus = g_dbus_connection_new_for_address_sync(
            arg_address,
            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
            NULL, NULL, &error);
    else
        ctl->bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (!ctl->bus) {
        fprintf(stderr, "groupctl: cannot connect to the bus%s%s: %s\n", arg_address ? " at " : "",
                arg_address ? arg_address : "", error->message);
        return EXIT_NOBUS;
    }
    /* A closed connection is an error to report, not a reason to exit. */
    g_dbus_connection_set_exit_on_close(ctl->bus, FALSE);
    return 0;
}

/* Every call: a long timeout, and like networkctl, interactive
 * authorization (a user polkit would authorize after a password prompt gets
 * the prompt instead of AccessDenied). */
static GVariant *call_sync(Ctl *ctl, const char *dest, const char *path, const char *iface,
                           const char *method, GVariant *params, const char *reply_type,
                           GError **error)
{
    return g_dbus_connection_call_sync(
        ctl->bus, dest, path, iface, method, params, reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
        G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, CALL_TIMEOUT_MSEC, NULL, error);
}

int call_groupd(Ctl *ctl, const char *path, const char *iface, const char *method, GVariant *params,
                const char *reply_type, GVariant **reply)
{
    g_autoptr(GError) error = NULL;
    /* Taken now: it is ours to free whatever happens. */
    g_autoptr(GVariant) args = params ? g_variant_ref_sink(params) : NULL;
    int r = bus_connect(ctl);
    if (r)
        return r;
    g_autoptr(GVariant) result =
        call_sync(ctl, GD_BUS_NAME, path, iface, method, args, reply_type, &error);
    if (!result)
        return report_bus_error(error);
    if (reply)
        *reply = g_steal_pointer(&result);
    return 0;
}

int call_manager(Ctl *ctl, const char *method, GVariant *params, const char *reply_type,
                 GVariant **reply)
{
    return call_groupd(ctl, GD_MANAGER_PATH, GD_MANAGER_IFACE, method, params, reply_type, reply);
}

int bus_groupd_owner(Ctl *ctl, char **owner)
{
    g_autoptr(GError) error = NULL;
    int r = bus_connect(ctl);
    if (r)
        return r;
    g_autoptr(GVariant) reply =
        call_sync(ctl, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "GetNameOwner", g_variant_new("(s)", GD_BUS_NAME), "(s)", &error);
    if (!reply)
        return report_bus_error(error);
    g_variant_get(reply, "(s)", owner);
    return 0;
}

int get_all(Ctl *ctl, const char *path, const char *iface, GVariant **out)
{
    g_autoptr(GVariant) reply = NULL;
    int r = call_groupd(ctl, path, "org.freedesktop.DBus.Properties", "GetAll",
                        g_variant_new("(s)", iface), "(a{sv})", &reply);
    if (r)
        return r;
    *out = g_variant_get_child_value(reply, 0);
    return 0;
}

bool args_are_utf8(const char *what, char *const *strv)
{
    for (; *strv; strv++) {
        if (!g_utf8_validate(*strv, -1, NULL)) {
            report_errno(what, -EINVAL);
            return false;
        }
    }
    return true;
}

bool parse_u32(const char *text, uint32_t *out)
{
    char *end;
    if (!text[0] || text[0] == '-' || text[0] == '+' || g_ascii_isspace(text[0]))
        return false;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

int group_names(Ctl *ctl, GHashTable **out)
{
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GVariantIter) it = NULL;
    uint32_t id, count;
    const char *name;
    int r = call_manager(ctl, "ListGroups", NULL, "(a(usu))", &reply);
    if (r)
        return r;
    g_autoptr(GHashTable) names = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_variant_get(reply, "(a(usu))", &it);
    while (g_variant_iter_next(it, "(u&su)", &id, &name, &count))
        g_hash_table_insert(names, GUINT_TO_POINTER(id), g_strdup(name));
    *out = g_steal_pointer(&names);
    return 0;
}

int resolve_group(Ctl *ctl, const char *text, uint32_t *id)
{
    g_autoptr(GHashTable) names = NULL;
    GHashTableIter it;
    gpointer key, value;

    if (parse_u32(text, id))
        return 0;
    int r = group_names(ctl, &names);
    if (r)
        return r;
    g_hash_table_iter_init(&it, names);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (strcmp(value, text) == 0) {
            *id = GPOINTER_TO_UINT(key);
            return 0;
        }
    }
    fprintf(stderr, "groupctl: no group with members is named '%s'\n", text);
    return EXIT_DAEMON;
}

typedef struct {
    const char *name;
    int min_args, max_args; /* after the verb; -1: no maximum */
    VerbFunc func;
} Verb;

static const Verb verbs[] = {
    {"status", 0, 0, verb_status},   {"list", 0, 0, verb_list},     {"links", 0, 1, verb_links},
    {"show", 1, 1, verb_show},       {"set", 3, -1, verb_set},      {"join", 2, -1, verb_join},
    {"address", 3, 3, verb_address}, {"reload", 0, 0, verb_reload}, {"plan", 0, 0, verb_plan},
    {"monitor", 0, 0, verb_monitor}, {"mptcp", 0, -1, verb_mptcp},
};

int main(int argc, char **argv)
{
    enum {
        OPT_VERSION = 0x100,
        OPT_JSON,
        OPT_NO_PAGER,
        OPT_NO_LEGEND,
        OPT_FORCE,
        OPT_DRY_RUN,
        OPT_COUNT,
        OPT_ADDRESS
    };
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"json", no_argument, NULL, OPT_JSON},
        {"no-pager", no_argument, NULL, OPT_NO_PAGER},
        {"no-legend", no_argument, NULL, OPT_NO_LEGEND},
        {"force", no_argument, NULL, OPT_FORCE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"count", required_argument, NULL, OPT_COUNT},
        {"address", required_argument, NULL, OPT_ADDRESS},
        {},
    };
    Ctl ctl = {.legend = true};
    int c;

    opterr = 0; /* we print our own message, then the usage */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
        switch (c) {
        case 'h':
            help(stdout);
            return EXIT_OK;
        case OPT_VERSION:
            printf("groupctl %s\n", GROUPD_VERSION);
            return EXIT_OK;
        case OPT_JSON:
            ctl.json = true;
            break;
        case OPT_NO_PAGER:
            break;
        case OPT_NO_LEGEND:
            ctl.legend = false;
            break;
        case OPT_FORCE:
            ctl.force = true;
            break;
        case OPT_DRY_RUN:
            ctl.dry_run = true;
            break;
        case OPT_COUNT: {
            uint32_t n;
            if (!parse_u32(optarg, &n) || n == 0) {
                usage_error("--count needs a positive number, not '%s'", optarg);
                return EXIT_USAGE;
            }
            ctl.count = n;
            break;
        }
        case OPT_ADDRESS:
            arg_address = optarg;
            break;
        case '?':
        default:
            if (optopt >= OPT_VERSION || (optopt == 0 && argv[optind - 1]))
                usage_error("unknown option or missing argument: '%s'", argv[optind - 1]);
            else
                usage_error("unknown option: '-%c'", optopt);
            return EXIT_USAGE;
        }
    }

    if (optind >= argc) {
        usage_error("missing command");
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    int nargs = argc - optind - 1;
    for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
        const Verb *v = &verbs[i];
        if (strcmp(v->name, name) != 0)
            continue;
        if (nargs < v->min_args) {
            usage_error("%s: missing argument", name);
            return EXIT_USAGE;
        }
        if (v->max_args >= 0 && nargs > v->max_args) {
            usage_error("%s: too many arguments", name);
            return EXIT_USAGE;
        }
        /* Arguments are text on the bus: a link name that is not UTF-8
         * (typed as its bytes) becomes its shown form, "bad\\xff"; valid
         * text is taken as a shown form already. */
        g_autoptr(GPtrArray) shown = g_ptr_array_new_with_free_func(g_free);
        for (int a = optind + 1; a < argc; a++) {
            if (gd_text_is_valid(argv[a]))
                continue;
            g_ptr_array_add(shown, gd_text_escape(argv[a]));
            argv[a] = g_ptr_array_index(shown, shown->len - 1);
        }
        int code = v->func(&ctl, nargs + 1, argv + optind);
        fflush(stdout);
        g_clear_object(&ctl.bus);
        return code;
    }
    usage_error("unknown command '%s'", name);
    return EXIT_USAGE;
}
