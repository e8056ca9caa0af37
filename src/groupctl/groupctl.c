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
 * for many seconds: do not give up after sd-bus's default 25 s. */
#define CALL_TIMEOUT_USEC (300ULL * 1000 * 1000)

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
static int ctl_connect(Ctl *ctl)
{
    int r;

    if (ctl->bus)
        return 0;
    if (arg_address) {
        r = sd_bus_new(&ctl->bus);
        if (r >= 0)
            r = sd_bus_set_address(ctl->bus, arg_address);
        if (r >= 0)
            r = sd_bus_set_bus_client(ctl->bus, 1);
        if (r >= 0)
            r = sd_bus_start(ctl->bus);
    } else {
        r = sd_bus_open_system(&ctl->bus);
    }
    if (r < 0) {
        fprintf(stderr, "groupctl: cannot connect to the bus%s%s: %s\n", arg_address ? " at " : "",
                arg_address ? arg_address : "", strerror(-r));
        ctl->bus = sd_bus_flush_close_unref(ctl->bus);
        return EXIT_NOBUS;
    }
    (void)sd_bus_set_method_call_timeout(ctl->bus, CALL_TIMEOUT_USEC);
    /* Like networkctl: a user polkit would authorize after a password
     * prompt gets the prompt instead of AccessDenied. */
    (void)sd_bus_set_allow_interactive_authorization(ctl->bus, 1);
    return 0;
}

static int call_message(Ctl *ctl, sd_bus_message *m, sd_bus_message **reply)
{
    _cleanup_err_ sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call(ctl->bus, m, 0, &error, reply);
    if (r < 0)
        return report_bus_error(&error, r);
    return 0;
}

int call_manager(Ctl *ctl, const char *method, sd_bus_message **reply, const char *types, ...)
{
    _cleanup_msg_ sd_bus_message *m = NULL;
    va_list ap;
    int r = ctl_connect(ctl);
    if (r)
        return r;
    r = sd_bus_message_new_method_call(ctl->bus, &m, GD_BUS_NAME, GD_MANAGER_PATH, GD_MANAGER_IFACE,
                                       method);
    if (r < 0)
        return report_errno("building the call", r);
    if (types) {
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
            return report_errno("building the call", r);
    }
    return call_message(ctl, m, reply);
}

/* Exported for verbs that build their own message (set, address). */
int call_built(Ctl *ctl, sd_bus_message *m, sd_bus_message **reply)
{
    return call_message(ctl, m, reply);
}

int new_manager_call(Ctl *ctl, const char *method, sd_bus_message **m)
{
    int r = ctl_connect(ctl);
    if (r)
        return r;
    r = sd_bus_message_new_method_call(ctl->bus, m, GD_BUS_NAME, GD_MANAGER_PATH, GD_MANAGER_IFACE,
                                       method);
    return r < 0 ? report_errno("building the call", r) : 0;
}

int bus_connect(Ctl *ctl)
{
    return ctl_connect(ctl);
}

int bus_connect_groupd_owner(Ctl *ctl, char **owner)
{
    _cleanup_err_ sd_bus_error error = SD_BUS_ERROR_NULL;
    _cleanup_msg_ sd_bus_message *reply = NULL;
    const char *name;
    int r = bus_connect(ctl);
    if (r)
        return r;
    r = sd_bus_call_method(ctl->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
                           GD_BUS_NAME);
    if (r < 0)
        return report_bus_error(&error, r);
    r = sd_bus_message_read(reply, "s", &name);
    if (r < 0)
        return report_errno("reading GetNameOwner", r);
    *owner = g_strdup(name);
    return 0;
}

int read_gvariant(sd_bus_message *m, GVariant **out)
{
    char type;
    const char *contents;
    int r = sd_bus_message_peek_type(m, &type, &contents);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENXIO;

    switch (type) {
    case SD_BUS_TYPE_BYTE:
    case SD_BUS_TYPE_BOOLEAN:
    case SD_BUS_TYPE_INT16:
    case SD_BUS_TYPE_UINT16:
    case SD_BUS_TYPE_INT32:
    case SD_BUS_TYPE_UINT32:
    case SD_BUS_TYPE_INT64:
    case SD_BUS_TYPE_UINT64:
    case SD_BUS_TYPE_DOUBLE:
    case SD_BUS_TYPE_STRING:
    case SD_BUS_TYPE_OBJECT_PATH:
    case SD_BUS_TYPE_SIGNATURE: {
        union {
            uint8_t y;
            int b;
            int16_t n;
            uint16_t q;
            int32_t i;
            uint32_t u;
            int64_t x;
            uint64_t t;
            double d;
            const char *s;
        } v;
        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
            return r;
        GVariant *g = NULL;
        switch (type) {
        case SD_BUS_TYPE_BYTE:
            g = g_variant_new_byte(v.y);
            break;
        case SD_BUS_TYPE_BOOLEAN:
            g = g_variant_new_boolean(v.b);
            break;
        case SD_BUS_TYPE_INT16:
            g = g_variant_new_int16(v.n);
            break;
        case SD_BUS_TYPE_UINT16:
            g = g_variant_new_uint16(v.q);
            break;
        case SD_BUS_TYPE_INT32:
            g = g_variant_new_int32(v.i);
            break;
        case SD_BUS_TYPE_UINT32:
            g = g_variant_new_uint32(v.u);
            break;
        case SD_BUS_TYPE_INT64:
            g = g_variant_new_int64(v.x);
            break;
        case SD_BUS_TYPE_UINT64:
            g = g_variant_new_uint64(v.t);
            break;
        case SD_BUS_TYPE_DOUBLE:
            g = g_variant_new_double(v.d);
            break;
        case SD_BUS_TYPE_OBJECT_PATH:
            g = g_variant_new_object_path(v.s);
            break;
        case SD_BUS_TYPE_SIGNATURE:
            g = g_variant_new_signature(v.s);
            break;
        default:
            g = g_variant_new_string(v.s);
            break;
        }
        *out = g_variant_ref_sink(g);
        return 0;
    }
    case SD_BUS_TYPE_VARIANT:
    case SD_BUS_TYPE_ARRAY:
    case SD_BUS_TYPE_STRUCT:
    case SD_BUS_TYPE_DICT_ENTRY: {
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
            return r;
        g_autoptr(GPtrArray) children =
            g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
        for (;;) {
            r = sd_bus_message_at_end(m, false);
            if (r < 0)
                return r;
            if (r > 0)
                break;
            GVariant *child;
            r = read_gvariant(m, &child);
            if (r < 0)
                return r;
            g_ptr_array_add(children, child);
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
            return r;
        GVariant **items = (GVariant **)children->pdata;
        GVariant *g;
        if (type == SD_BUS_TYPE_VARIANT) {
            if (children->len != 1)
                return -EBADMSG;
            g = g_variant_new_variant(items[0]);
        } else if (type == SD_BUS_TYPE_ARRAY) {
            g_autoptr(GVariantType) element = g_variant_type_new(contents);
            g = g_variant_new_array(element, items, children->len);
        } else if (type == SD_BUS_TYPE_DICT_ENTRY) {
            if (children->len != 2)
                return -EBADMSG;
            g = g_variant_new_dict_entry(items[0], items[1]);
        } else {
            g = g_variant_new_tuple(items, children->len);
        }
        *out = g_variant_ref_sink(g);
        return 0;
    }
    default:
        return -EBADMSG;
    }
}

int get_all(Ctl *ctl, const char *path, const char *iface, GVariant **out)
{
    _cleanup_err_ sd_bus_error error = SD_BUS_ERROR_NULL;
    _cleanup_msg_ sd_bus_message *reply = NULL;
    int r = ctl_connect(ctl);
    if (r)
        return r;
    r = sd_bus_call_method(ctl->bus, GD_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                           &error, &reply, "s", iface);
    if (r < 0)
        return report_bus_error(&error, r);
    r = read_gvariant(reply, out);
    return r < 0 ? report_errno("reading the properties", r) : 0;
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
    _cleanup_msg_ sd_bus_message *reply = NULL;
    uint32_t id, count;
    const char *name;
    int r = call_manager(ctl, "ListGroups", &reply, NULL);
    if (r)
        return r;
    g_autoptr(GHashTable) names = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    r = sd_bus_message_enter_container(reply, 'a', "(usu)");
    while (r >= 0 && (r = sd_bus_message_read(reply, "(usu)", &id, &name, &count)) > 0)
        g_hash_table_insert(names, GUINT_TO_POINTER(id), g_strdup(name));
    if (r < 0)
        return report_errno("reading ListGroups", r);
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
        sd_bus_flush_close_unref(ctl.bus);
        return code;
    }
    usage_error("unknown command '%s'", name);
    return EXIT_USAGE;
}
