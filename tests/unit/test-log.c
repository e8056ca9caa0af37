/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of src/log/log.c: a group's label ("100 (ppp)") and the
 * journal fields a message carries (GROUP=, GROUP_NAME=, INTERFACE=), as a
 * log writer receives them; messages stay plain g_log() messages, which
 * test expectations see.
 */
#include "log/log.h"

#include <string.h>

#define DOMAIN "groupd-test"

/* What the writer got last: the message and the fields groupd adds. */
typedef struct {
    guint count;
    char *message;
    char *domain;
    char *group;
    char *group_name;
    char *interface;
} Written;

static Written written;

static void written_clear(void)
{
    g_clear_pointer(&written.message, g_free);
    g_clear_pointer(&written.domain, g_free);
    g_clear_pointer(&written.group, g_free);
    g_clear_pointer(&written.group_name, g_free);
    g_clear_pointer(&written.interface, g_free);
}

static GLogWriterOutput record(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                               gpointer user_data)
{
    written_clear();
    written.count++;
    for (gsize i = 0; i < n_fields; i++) {
        char **slot = g_str_equal(fields[i].key, "MESSAGE")      ? &written.message
                      : g_str_equal(fields[i].key, "GLIB_DOMAIN") ? &written.domain
                      : g_str_equal(fields[i].key, "GROUP")       ? &written.group
                      : g_str_equal(fields[i].key, "GROUP_NAME")  ? &written.group_name
                      : g_str_equal(fields[i].key, "INTERFACE")   ? &written.interface
                                                                  : NULL;
        if (!slot)
            continue;
        g_assert_null(*slot); /* each field once */
        *slot = fields[i].length < 0 ? g_strdup(fields[i].value)
                                     : g_strndup(fields[i].value, (gsize)fields[i].length);
    }
    return G_LOG_WRITER_HANDLED;
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                               gpointer user_data)
{
    return gd_log_write_fields(level, fields, n_fields, record, user_data);
}

static const char *namer(uint32_t id, gpointer user_data)
{
    g_assert_cmpstr(user_data, ==, "names");
    return id == 100 ? "ppp" : id == 7 ? "" : NULL;
}

static void test_label(void)
{
    char buf[GD_LOG_GROUP_LABEL_SIZE];
    gd_log_set_group_namer(NULL, NULL);
    g_assert_cmpstr(gd_log_group_label(100, buf, sizeof(buf)), ==, "100");
    gd_log_set_group_namer(namer, "names");
    g_assert_cmpstr(gd_log_group_label(100, buf, sizeof(buf)), ==, "100 (ppp)");
    g_assert_cmpstr(GD_LOG_GROUP(4294967295u), ==, "4294967295");
    /* An empty name is no name. */
    g_assert_cmpstr(GD_LOG_GROUP(7), ==, "7");
    /* Two in one expression: two buffers. */
    g_autofree char *both = g_strdup_printf("%s → %s", GD_LOG_GROUP(100), GD_LOG_GROUP(5));
    g_assert_cmpstr(both, ==, "100 (ppp) → 5");
    gd_log_set_group_namer(NULL, NULL);
}

static void test_group_fields(void)
{
    gd_log_set_group_namer(namer, "names");
    gd_log_group(G_LOG_LEVEL_MESSAGE, 100, "changed %u members", 3u);
    g_assert_cmpstr(written.message, ==, "group 100 (ppp): changed 3 members");
    g_assert_cmpstr(written.domain, ==, DOMAIN);
    g_assert_cmpstr(written.group, ==, "100");
    g_assert_cmpstr(written.group_name, ==, "ppp");
    g_assert_null(written.interface);

    /* A group without a name: GROUP= only. */
    gd_log_group(G_LOG_LEVEL_MESSAGE, 5, "x");
    g_assert_cmpstr(written.message, ==, "group 5: x");
    g_assert_cmpstr(written.group, ==, "5");
    g_assert_null(written.group_name);

    /* The message as given, the fields of the group and the interface. */
    gd_log_about(DOMAIN, G_LOG_LEVEL_MESSAGE,
                 &(GdLogAbout){.has_group = TRUE, .group = 100, .ifname = "wlan0"},
                 "mptcp: group %s: stalled on %s", GD_LOG_GROUP(100), "wlan0");
    g_assert_cmpstr(written.message, ==, "mptcp: group 100 (ppp): stalled on wlan0");
    g_assert_cmpstr(written.group, ==, "100");
    g_assert_cmpstr(written.interface, ==, "wlan0");
    gd_log_group_fields(G_LOG_LEVEL_MESSAGE, 100, "leaving group %s", GD_LOG_GROUP(100));
    g_assert_cmpstr(written.message, ==, "leaving group 100 (ppp)");
    g_assert_cmpstr(written.group_name, ==, "ppp");
    gd_log_set_group_namer(NULL, NULL);
}

static void test_link_fields(void)
{
    gd_log_link(G_LOG_LEVEL_MESSAGE, "eth0", "new, group %u", 0u);
    g_assert_cmpstr(written.message, ==, "link eth0: new, group 0");
    g_assert_cmpstr(written.interface, ==, "eth0");
    g_assert_null(written.group);
}

static void test_plain_after(void)
{
    /* The fields belong to their one message. */
    gd_log_group(G_LOG_LEVEL_MESSAGE, 100, "x");
    guint count = written.count;
    g_message("plain");
    g_assert_cmpuint(written.count, ==, count + 1);
    g_assert_cmpstr(written.message, ==, "plain");
    g_assert_null(written.group);
    g_assert_null(written.interface);
}

static void test_expected(void)
{
    /* Through g_log(): a test's expectation catches it, the writer does not
     * see it. */
    guint count = written.count;
    g_test_expect_message(DOMAIN, G_LOG_LEVEL_WARNING, "group 9: refused*");
    gd_log_group(G_LOG_LEVEL_WARNING, 9, "refused: %s", "Invalid argument");
    g_test_assert_expected_messages();
    g_assert_cmpuint(written.count, ==, count);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_writer_func(writer, NULL, NULL);
    g_test_add_func("/log/label", test_label);
    g_test_add_func("/log/group-fields", test_group_fields);
    g_test_add_func("/log/link-fields", test_link_fields);
    g_test_add_func("/log/plain-after", test_plain_after);
    g_test_add_func("/log/expected", test_expected);
    int r = g_test_run();
    written_clear();
    return r;
}
