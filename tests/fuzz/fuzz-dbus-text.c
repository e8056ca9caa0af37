/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: outside text on its way into D-Bus strings. The input is
 * three byte strings separated by NUL bytes: a link name, a file name, a
 * kernel message. They go where groupd puts such text:
 *   - the link name as IFLA_IFNAME of an RTM_NEWLINK into a detached cache
 *     (src/cache/cache.c), then the cache's links through ListLinks's and
 *     LinksChanged's serialiser (gd_bus_link_list(), src/bus/link-list.c),
 *     into a whole D-Bus message (GDBus serialises it: invalid UTF-8 there
 *     aborts), and back;
 *   - the file name and the kernel message as string values
 *     (gd_bus_shown_text()), and all three in an error as the one errno mapping
 *     makes it, shown as gd_bus_error_return() shows it, in an error
 *     reply;
 *   - the link name in the plan JSON (src/policy/planner.c), and every
 *     shown form through groupctl's terminal escaping.
 * Properties: every message serialises and parses back; each name reads
 * back as its shown form (src/text/text.h), which gives the bytes back;
 * the link list is in GVariant normal form; the JSON is valid UTF-8 and
 * quotes the shown name; nothing shown for a terminal has a control
 * character left.
 */
#include "fuzz-common.h"

#include "bus/bus.h"
#include "text/text.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>

#define IFINDEX 7

/* The next NUL-separated field of the input, as a string. */
static char *field(const uint8_t **data, size_t *size)
{
    const uint8_t *end = memchr(*data, '\0', *size);
    size_t n = end ? (size_t)(end - *data) : *size;
    char *text = fuzz_strndup(*data, n);
    *data += n + (end ? 1 : 0);
    *size -= n + (end ? 1 : 0);
    return text;
}

/* The raw bytes a shown form stands for: must be raw. */
static void assert_shows(const char *shown, const char *raw)
{
    g_autofree char *expected = gd_text_escape(raw);
    fuzz_assert(g_strcmp0(shown, expected) == 0);
    g_autofree char *back = NULL;
    fuzz_assert(gd_text_unescape(shown, &back) == 0);
    fuzz_assert(strcmp(back, raw) == 0);
}

/* Serialises body in a signal and parses it back (GDBus checks UTF-8). */
static GVariant *round_trip(GVariant *body)
{
    g_autoptr(GDBusMessage) m =
        g_dbus_message_new_signal("/net/groupd1", "net.groupd1.Manager", "LinksChanged");
    g_dbus_message_set_body(m, body);
    g_dbus_message_set_serial(m, 1);
    gsize len;
    g_autoptr(GError) error = NULL;
    g_autofree guchar *blob = g_dbus_message_to_blob(m, &len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
    fuzz_assert(blob != NULL);
    g_autoptr(GDBusMessage) back =
        g_dbus_message_new_from_blob(blob, len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
    fuzz_assert(back != NULL);
    return g_variant_ref(g_dbus_message_get_body(back));
}

/* A JSON string as the planner writes one (escapes written again here). */
static char *json_quoted(const char *text)
{
    GString *out = g_string_new("\"");
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '"':
        case '\\':
            g_string_append_printf(out, "\\%c", *p);
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        default:
            if ((guchar)*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\u%04x", (guchar)*p);
            else
                g_string_append_c(out, *p);
        }
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

static void link_name(const char *name)
{
    /* What the kernel sends; IFNAMSIZ bounds the name. */
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = IFINDEX;
    char ifname[IFNAMSIZ] = {0};
    g_strlcpy(ifname, name, sizeof(ifname));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    mnl_attr_put_u32(nlh, IFLA_GROUP, 100);
    mnl_attr_put_u32(nlh, IFLA_MTU, 1500);

    g_autoptr(GdCache) cache = gd_cache_new_detached();
    if (gd_cache_apply_message(cache, nlh) < 0) {
        fuzz_assert(ifname[0] == '\0');
        return;
    }
    g_autoptr(GPtrArray) links = gd_cache_links(cache);
    fuzz_assert(links->len == 1);
    GVariant *list = g_variant_ref_sink(gd_bus_link_list(links));
    fuzz_assert(g_variant_is_normal_form(list));
    g_autoptr(GVariant) body = round_trip(g_variant_new(
        "(@a(isuus)@aiu)", list, g_variant_new_array(G_VARIANT_TYPE_INT32, NULL, 0), 0));
    g_variant_unref(list);
    const char *shown;
    gint32 index;
    g_autoptr(GVariant) changed = g_variant_get_child_value(body, 0);
    fuzz_assert(g_variant_n_children(changed) == 1);
    g_variant_get_child(changed, 0, "(i&suu&s)", &index, &shown, NULL, NULL, NULL);
    fuzz_assert(index == IFINDEX);
    assert_shows(shown, ifname);
    /* GetLink takes the shown form back: the same link. */
    g_autofree char *raw = NULL;
    fuzz_assert(gd_text_unescape(shown, &raw) == 0);
    fuzz_assert(gd_cache_link_by_name(cache, raw) == links->pdata[0]);
    g_autofree char *terminal = gd_text_escape_controls(shown);
    for (const char *p = terminal; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        fuzz_assert(c >= 0x20 && !(c >= 0x7f && c < 0xa0));
    }

    /* The plan JSON quotes it too, shown and JSON-escaped. */
    static const char policy_text[] = "[Group]\nId=100\n[Match]\nName=*\n[Link]\nMTU=1400\n";
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdGroupPolicy *policy =
        gd_group_policy_parse("/x/50-a.group", policy_text, strlen(policy_text), NULL, errors);
    fuzz_assert(policy != NULL);
    g_autoptr(GdConfig) config = g_new0(GdConfig, 1);
    gd_daemon_config_init(&config->daemon);
    config->policies = g_ptr_array_new_with_free_func((GDestroyNotify)gd_group_policy_free);
    g_ptr_array_add(config->policies, policy);
    GdPlanLinkFacts input = {.link = links->pdata[0]};
    gd_plan_match_input(links->pdata[0], NULL, NULL, &input.match);
    g_autoptr(GdPlan) plan = NULL;
    fuzz_assert(gd_plan_build(config, &input, 1, NULL, &plan) == 0);
    g_autofree char *json = gd_plan_to_json(plan);
    fuzz_assert(g_utf8_validate(json, -1, NULL));
    g_autofree char *quoted = json_quoted(shown);
    fuzz_assert(strstr(json, quoted) != NULL);
}

static void strings_and_error(const char *name, const char *file, const char *kernel)
{
    g_autoptr(GVariant) body =
        round_trip(g_variant_new("(@s@s)", gd_bus_shown_text(file), gd_bus_shown_text(kernel)));
    const char *a, *b;
    g_variant_get(body, "(&s&s)", &a, &b);
    assert_shows(a, file);
    assert_shows(b, kernel);

    /* An error as the bus makes one, shown as it leaves. */
    g_autoptr(GError) error =
        gd_bus_error_from_errno(-EINVAL, TRUE, kernel, "group %s: %s: %s", name, file, "refused");
    g_autoptr(GError) shown = gd_bus_shown_error(error);
    assert_shows(shown->message, error->message);
    g_autoptr(GDBusMessage) call = g_dbus_message_new_method_call(
        "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "SetGroup");
    g_dbus_message_set_serial(call, 9);
    g_dbus_message_set_sender(call, ":1.9");
    g_autofree char *error_name = g_dbus_error_encode_gerror(shown);
    g_autoptr(GDBusMessage) reply =
        g_dbus_message_new_method_error_literal(call, error_name, shown->message);
    g_dbus_message_set_serial(reply, 10);
    gsize len;
    g_autoptr(GError) blob_error = NULL;
    g_autofree guchar *blob =
        g_dbus_message_to_blob(reply, &len, G_DBUS_CAPABILITY_FLAGS_NONE, &blob_error);
    fuzz_assert(blob != NULL);
    fuzz_assert(g_str_equal(error_name, "net.groupd1.Error.Kernel"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    g_autofree char *name = field(&data, &size);
    g_autofree char *file = field(&data, &size);
    g_autofree char *kernel = fuzz_strndup(data, size);
    link_name(name);
    strings_and_error(name, file, kernel);
    return 0;
}
