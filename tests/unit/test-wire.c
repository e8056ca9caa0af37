/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of the guard's reading of D-Bus messages: src/bus/wire.c
 * (header, fields, the value count, malformed bodies, the error reply) on
 * messages GDBus serialises, in both byte orders; and the streams of
 * src/bus/guard.c (authentication, what passes whole, what is skipped
 * unread, the one large call GDBus may hold, replies only between two of
 * GDBus's messages).
 */
#include "bus/bus.h"

#include <errno.h>
#include <string.h>

static GBytes *blob_of(GDBusMessage *m, guint32 serial, gboolean big_endian)
{
    g_dbus_message_set_serial(m, serial);
    g_dbus_message_set_byte_order(m, big_endian ? G_DBUS_MESSAGE_BYTE_ORDER_BIG_ENDIAN
                                                : G_DBUS_MESSAGE_BYTE_ORDER_LITTLE_ENDIAN);
    gsize len;
    g_autoptr(GError) error = NULL;
    guchar *data = g_dbus_message_to_blob(m, &len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
    g_assert_no_error(error);
    return g_bytes_new_take(data, len);
}

/* A method call to groupd from sender with body (floating, or NULL). */
static GBytes *call(const char *sender, const char *member, GVariant *body, guint32 serial,
                    gboolean big_endian)
{
    g_autoptr(GDBusMessage) m = g_dbus_message_new_method_call("net.groupd1", "/net/groupd1",
                                                               "net.groupd1.Manager", member);
    g_dbus_message_set_sender(m, sender);
    if (body)
        g_dbus_message_set_body(m, body);
    return blob_of(m, serial, big_endian);
}

static GVariant *strings(guint n, const char *each)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
    for (guint i = 0; i < n; i++)
        g_variant_builder_add(&b, "s", each);
    return g_variant_new("(@as)", g_variant_builder_end(&b));
}

static int count(GBytes *blob, gsize max, gsize *values)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(blob, &len);
    GdWireFixed fixed;
    GdWireHeader header;
    g_assert_cmpint(gd_wire_parse_fixed(data, &fixed), ==, 0);
    g_assert_cmpuint(fixed.total, ==, len);
    g_assert_cmpint(gd_wire_parse_header(data, &fixed, &header), ==, 0);
    int r = gd_wire_count_values(data, len, fixed.header_len, fixed.big_endian, header.signature,
                                 max, values);
    gd_wire_header_clear(&header);
    return r;
}

static void test_count(void)
{
    for (int big = 0; big <= 1; big++) {
        gsize values;
        g_autoptr(GBytes) empty = call(":1.5", "ListLinks", NULL, 2, big);
        g_assert_cmpint(count(empty, 10, &values), ==, 0);
        g_assert_cmpuint(values, ==, 0);
        g_autoptr(GBytes) one = call(":1.5", "GetLink", g_variant_new("(s)", "eth0"), 2, big);
        g_assert_cmpint(count(one, 10, &values), ==, 0);
        g_assert_cmpuint(values, ==, 1);
        g_autoptr(GBytes) many = call(":1.5", "SetLinkGroup", strings(1000, ""), 2, big);
        g_assert_cmpint(count(many, 2000, &values), ==, 0);
        g_assert_cmpuint(values, ==, 1001);
        g_assert_cmpint(count(many, 1000, &values), ==, -E2BIG);
        /* a{sv}: each entry is four values (entry, key, variant, value). */
        g_autoptr(GBytes) dict =
            call(":1.5", "SetGroup",
                 g_variant_new_parsed("('100', {'MTU': <uint32 1400>, 'State': <'up'>}, "
                                      "@a{sv} {'force': <<(true, [byte 1, 2])>>})"),
                 2, big);
        g_assert_cmpint(count(dict, 100, &values), ==, 0);
        /* s; a{sv} of two; a{sv} of one whose value is a variant holding a
         * struct of a boolean and a byte array (one value). */
        g_assert_cmpuint(values, ==, 1 + (1 + 2 * 4) + (1 + 4 + 3));
        /* Every basic type once, in a struct. */
        g_autoptr(GBytes) all =
            call(":1.5", "X",
                 g_variant_new_parsed("((byte 1, true, int16 -2, uint16 3, -4, uint32 5, int64 -6, "
                                      "uint64 7, 8.5, 's', objectpath '/o', signature 'a{sv}'),)"),
                 2, big);
        g_assert_cmpint(count(all, 100, &values), ==, 0);
        g_assert_cmpuint(values, ==, 13);
        /* Arrays of fixed-size numbers are one value each, as GDBus reads
         * them in one piece; booleans are not. */
        GVariant *bytes = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "abcdef", 6, 1);
        const guint32 words[] = {1, 2, 3};
        GVariant *u32s = g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, words, 3, 4);
        const guint8 flags[] = {TRUE, FALSE, TRUE};
        GVariant *bools = g_variant_new_fixed_array(G_VARIANT_TYPE_BOOLEAN, flags, 3, 1);
        g_autoptr(GBytes) arrays =
            call(":1.5", "X", g_variant_new("(@ay@au@abh)", bytes, u32s, bools, 0), 2, big);
        g_assert_cmpint(count(arrays, 100, &values), ==, 0);
        g_assert_cmpuint(values, ==, 1 + 1 + (1 + 3) + 1);
    }
}

/* A copy of blob with bytes at offset replaced. */
static GBytes *patched(GBytes *blob, gsize offset, const void *bytes, gsize n)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(blob, &len);
    guint8 *copy = g_memdup2(data, len);
    memcpy(copy + offset, bytes, n);
    return g_bytes_new_take(copy, len);
}

static gsize body_offset(GBytes *blob)
{
    GdWireFixed fixed;
    g_assert_cmpint(gd_wire_parse_fixed(g_bytes_get_data(blob, NULL), &fixed), ==, 0);
    return fixed.header_len;
}

static void test_malformed(void)
{
    gsize values;
    g_autoptr(GBytes) base = call(":1.5", "GetLink", g_variant_new("(s)", "eth0"), 2, FALSE);
    gsize body = body_offset(base);
    const guint32 too_long = GUINT32_TO_LE(100);
    g_autoptr(GBytes) long_string = patched(base, body, &too_long, 4);
    g_assert_cmpint(count(long_string, 10, &values), ==, -EBADMSG);
    g_autoptr(GBytes) no_nul = patched(base, body + 8, "x", 1);
    g_assert_cmpint(count(no_nul, 10, &values), ==, -EBADMSG);
    g_autoptr(GBytes) not_utf8 = patched(base, body + 5, "\xff", 1);
    g_assert_cmpint(count(not_utf8, 10, &values), ==, -EBADMSG);
    g_autoptr(GBytes) inner_nul = patched(base, body + 5, "", 1);
    g_assert_cmpint(count(inner_nul, 10, &values), ==, -EBADMSG);

    g_autoptr(GBytes) flag = call(":1.5", "X", g_variant_new("(yb)", 1, TRUE), 2, FALSE);
    body = body_offset(flag);
    g_autoptr(GBytes) padding = patched(flag, body + 1, "\x01", 1);
    g_assert_cmpint(count(padding, 10, &values), ==, -EBADMSG);
    g_autoptr(GBytes) two = patched(flag, body + 4, "\x02", 1);
    g_assert_cmpint(count(two, 10, &values), ==, -EBADMSG);

    /* A variant whose signature is two types. */
    g_autoptr(GBytes) variant =
        call(":1.5", "X", g_variant_new("(v)", g_variant_new_byte(7)), 2, FALSE);
    body = body_offset(variant);
    g_autoptr(GBytes) twotypes = patched(variant, body, "\x02yy\x00", 4);
    g_assert_cmpint(count(twotypes, 10, &values), ==, -EBADMSG);

    /* Bodies of the wrong length, signatures D-Bus does not have. */
    gsize len;
    const guint8 *data = g_bytes_get_data(base, &len);
    GdWireFixed fixed;
    g_assert_cmpint(gd_wire_parse_fixed(data, &fixed), ==, 0);
    g_assert_cmpint(gd_wire_count_values(data, len - 1, fixed.header_len, FALSE, "s", 10, &values),
                    ==, -EBADMSG);
    g_assert_cmpint(gd_wire_count_values(data, len, fixed.header_len, FALSE, "", 10, &values), ==,
                    -EBADMSG);
    const char *const bad_sigs[] = {"()", "{sv}", "a{vs}", "m", "(s", "a"};
    for (guint i = 0; i < G_N_ELEMENTS(bad_sigs); i++)
        g_assert_cmpint(
            gd_wire_count_values(data, len, fixed.header_len, FALSE, bad_sigs[i], 10, &values), ==,
            -EBADMSG);
    g_autofree char *deep = g_strnfill(70, 'a');
    g_autofree char *deep_sig = g_strconcat(deep, "y", NULL);
    g_assert_cmpint(gd_wire_count_values(data, len, fixed.header_len, FALSE, deep_sig, 10, &values),
                    ==, -EBADMSG);

    /* The fixed header. */
    guint8 fixed_bytes[16];
    memcpy(fixed_bytes, data, 16);
    fixed_bytes[0] = 'x';
    g_assert_cmpint(gd_wire_parse_fixed(fixed_bytes, &fixed), ==, -EBADMSG);
    memcpy(fixed_bytes, data, 16);
    fixed_bytes[3] = 2;
    g_assert_cmpint(gd_wire_parse_fixed(fixed_bytes, &fixed), ==, -EBADMSG);
}

static void test_header(void)
{
    for (int big = 0; big <= 1; big++) {
        g_autoptr(GBytes) blob = call(":1.42", "GetLink", g_variant_new("(s)", "eth0"), 77, big);
        const guint8 *data = g_bytes_get_data(blob, NULL);
        GdWireFixed fixed;
        GdWireHeader h;
        g_assert_cmpint(gd_wire_parse_fixed(data, &fixed), ==, 0);
        g_assert_cmpint(fixed.big_endian, ==, big);
        g_assert_cmpuint(fixed.serial, ==, 77);
        g_assert_cmpuint(fixed.type, ==, GD_WIRE_METHOD_CALL);
        g_assert_cmpint(gd_wire_parse_header(data, &fixed, &h), ==, 0);
        g_assert_cmpstr(h.path, ==, "/net/groupd1");
        g_assert_cmpstr(h.interface, ==, "net.groupd1.Manager");
        g_assert_cmpstr(h.member, ==, "GetLink");
        g_assert_cmpstr(h.destination, ==, "net.groupd1");
        g_assert_cmpstr(h.sender, ==, ":1.42");
        g_assert_cmpstr(h.signature, ==, "s");
        gd_wire_header_clear(&h);
    }
}

static GDBusMessage *parse(const guint8 *data, gsize len)
{
    g_autoptr(GError) error = NULL;
    GDBusMessage *m =
        g_dbus_message_new_from_blob((guchar *)data, len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
    g_assert_no_error(error);
    return m;
}

static void test_error_reply(void)
{
    g_autoptr(GBytes) blob = call(":1.42", "GetLink", g_variant_new("(s)", "eth0"), 77, TRUE);
    const guint8 *data = g_bytes_get_data(blob, NULL);
    GdWireFixed fixed;
    GdWireHeader h;
    g_assert_cmpint(gd_wire_parse_fixed(data, &fixed), ==, 0);
    g_assert_cmpint(gd_wire_parse_header(data, &fixed, &h), ==, 0);
    g_autoptr(GByteArray) reply =
        gd_wire_error_reply(&fixed, &h, 0xF0000001u, "net.groupd1.Error.InvalidArgs", "too big");
    gd_wire_header_clear(&h);
    g_autoptr(GDBusMessage) m = parse(reply->data, reply->len);
    g_assert_cmpint(g_dbus_message_get_message_type(m), ==, G_DBUS_MESSAGE_TYPE_ERROR);
    g_assert_cmpuint(g_dbus_message_get_reply_serial(m), ==, 77);
    g_assert_cmpuint(g_dbus_message_get_serial(m), ==, 0xF0000001u);
    g_assert_cmpstr(g_dbus_message_get_destination(m), ==, ":1.42");
    g_assert_cmpstr(g_dbus_message_get_error_name(m), ==, "net.groupd1.Error.InvalidArgs");
    const char *text;
    g_variant_get(g_dbus_message_get_body(m), "(&s)", &text);
    g_assert_cmpstr(text, ==, "too big");
}

/* ---- the guard's streams ---- */

typedef struct {
    GdGuardFilter *f;
    GByteArray *to_daemon, *to_bus;
} Streams;

static void streams_init(Streams *s)
{
    s->f = gd_guard_filter_new();
    s->to_daemon = g_byte_array_new();
    s->to_bus = g_byte_array_new();
}

static void streams_clear(Streams *s)
{
    gd_guard_filter_free(s->f);
    g_byte_array_unref(s->to_daemon);
    g_byte_array_unref(s->to_bus);
}

static void from_daemon(Streams *s, const void *data, gsize len)
{
    gd_guard_filter_from_daemon(s->f, data, len, s->to_daemon, s->to_bus);
}

static void from_bus(Streams *s, const void *data, gsize len)
{
    gd_guard_filter_from_bus(s->f, data, len, s->to_daemon, s->to_bus);
}

static void take_text(GByteArray *a, const char *want)
{
    g_assert_cmpuint(a->len, ==, strlen(want));
    g_assert_cmpint(memcmp(a->data, want, a->len), ==, 0);
    g_byte_array_set_size(a, 0);
}

/* Through authentication, as GDBus on a unix socket does it. */
static void authenticate(Streams *s)
{
    from_daemon(s, "\0AUTH\r\n", 7);
    g_assert_cmpuint(s->to_bus->len, ==, 7);
    g_byte_array_set_size(s->to_bus, 0);
    from_bus(s, "REJECTED EXTERNAL\r\n", 19);
    take_text(s->to_daemon, "REJECTED EXTERNAL\r\n");
    from_daemon(s, "AUTH EXTERNAL\r\n", 15);
    take_text(s->to_bus, "AUTH EXTERNAL\r\n");
    from_bus(s, "DATA\r\nOK 0123456789abcdef0123456789abcdef\r\n", 44);
    g_assert_cmpuint(s->to_daemon->len, ==, 44);
    g_byte_array_set_size(s->to_daemon, 0);
    from_daemon(s, "DATA\r\nNEGOTIATE_UNIX_FD\r\n", 25);
    take_text(s->to_bus, "DATA\r\n");
    take_text(s->to_daemon, "ERROR file descriptors do not pass groupd's guard\r\n");
    from_daemon(s, "BEGIN\r\n", 7);
    take_text(s->to_bus, "BEGIN\r\n");
}

static void feed_bus_blob(Streams *s, GBytes *blob, gsize chunk)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(blob, &len);
    for (gsize at = 0; at < len; at += chunk)
        from_bus(s, data + at, MIN(chunk, len - at));
}

/* to_bus holds exactly one error reply to serial: its name. */
static char *take_reply(Streams *s, guint32 serial)
{
    g_assert_cmpuint(s->to_bus->len, >, 0);
    g_autoptr(GDBusMessage) m = parse(s->to_bus->data, s->to_bus->len);
    g_assert_cmpint(g_dbus_message_bytes_needed(s->to_bus->data, s->to_bus->len, NULL), ==,
                    (gssize)s->to_bus->len);
    g_assert_cmpuint(g_dbus_message_get_reply_serial(m), ==, serial);
    g_byte_array_set_size(s->to_bus, 0);
    return g_strdup(g_dbus_message_get_error_name(m));
}

static void test_stream_passes_and_skips(void)
{
    Streams s;
    streams_init(&s);
    authenticate(&s);
    /* Small calls pass whole, in any chunks. */
    g_autoptr(GBytes) small = call(":1.5", "GetLink", g_variant_new("(s)", "eth0"), 2, FALSE);
    for (gsize chunk = 1; chunk <= 64; chunk *= 4) {
        feed_bus_blob(&s, small, chunk);
        g_assert_cmpuint(s.to_daemon->len, ==, g_bytes_get_size(small));
        g_assert_cmpint(memcmp(s.to_daemon->data, g_bytes_get_data(small, NULL), s.to_daemon->len),
                        ==, 0);
        g_byte_array_set_size(s.to_daemon, 0);
    }
    /* A header that announces 24 MB: the body is skipped as it comes,
     * then the caller gets InvalidArgs. */
    g_autoptr(GBytes) small_be = call(":1.6", "GetLink", g_variant_new("(s)", ""), 3, FALSE);
    gsize header_len = body_offset(small_be);
    guint8 *head = g_memdup2(g_bytes_get_data(small_be, NULL), header_len);
    const guint32 body_len = GUINT32_TO_LE(24 * 1000 * 1000);
    memcpy(head + 4, &body_len, 4);
    from_bus(&s, head, header_len);
    g_free(head);
    g_autofree guint8 *zeros = g_malloc0(65536);
    for (guint64 left = 24 * 1000 * 1000; left > 0;) {
        gsize n = (gsize)MIN(left, (guint64)65536);
        g_assert_cmpuint(s.to_bus->len, ==, 0);
        from_bus(&s, zeros, n);
        left -= n;
    }
    g_assert_cmpuint(s.to_daemon->len, ==, 0);
    g_autofree char *name = take_reply(&s, 3);
    g_assert_cmpstr(name, ==, "net.groupd1.Error.InvalidArgs");
    /* Too many values: dropped whole; the next passes. */
    g_autoptr(GBytes) lots = call(":1.5", "GetLink", strings(GD_BUS_GUARD_MAX_VALUES, ""), 4, TRUE);
    feed_bus_blob(&s, lots, 4096);
    g_assert_cmpuint(s.to_daemon->len, ==, 0);
    g_autofree char *name2 = take_reply(&s, 4);
    g_assert_cmpstr(name2, ==, "net.groupd1.Error.InvalidArgs");
    feed_bus_blob(&s, small, 100);
    g_assert_cmpuint(s.to_daemon->len, ==, g_bytes_get_size(small));
    g_assert_cmpuint(gd_guard_filter_refused(s.f), ==, 2);
    g_assert_null(gd_guard_filter_broken(s.f));
    streams_clear(&s);
}

static void test_stream_one_large_call(void)
{
    Streams s;
    streams_init(&s);
    authenticate(&s);
    guint n = GD_BUS_GUARD_LARGE_VALUES;
    g_autoptr(GBytes) first = call(":1.5", "SetLinkGroup", strings(n, "x"), 10, FALSE);
    g_autoptr(GBytes) second = call(":1.6", "SetLinkGroup", strings(n, "x"), 11, FALSE);
    feed_bus_blob(&s, first, 65536);
    g_assert_cmpuint(s.to_daemon->len, ==, g_bytes_get_size(first));
    g_byte_array_set_size(s.to_daemon, 0);
    feed_bus_blob(&s, second, 65536);
    g_assert_cmpuint(s.to_daemon->len, ==, 0);
    g_autofree char *busy = take_reply(&s, 11);
    g_assert_cmpstr(busy, ==, "net.groupd1.Error.Busy");
    /* GDBus answers the first: the slot is free again. A reply to another
     * serial, or to another sender, does not free it. */
    g_autoptr(GDBusMessage) m = g_dbus_message_new_method_call(
        "net.groupd1", "/net/groupd1", "net.groupd1.Manager", "SetLinkGroup");
    g_dbus_message_set_sender(m, ":1.5");
    g_dbus_message_set_serial(m, 10);
    g_autoptr(GDBusMessage) wrong = g_dbus_message_new_method_reply(m);
    g_dbus_message_set_reply_serial(wrong, 9);
    g_autoptr(GBytes) wrong_blob = blob_of(wrong, 100, FALSE);
    from_daemon(&s, g_bytes_get_data(wrong_blob, NULL), g_bytes_get_size(wrong_blob));
    g_byte_array_set_size(s.to_bus, 0);
    g_autoptr(GBytes) third = call(":1.7", "SetLinkGroup", strings(n, "x"), 12, FALSE);
    feed_bus_blob(&s, third, 65536);
    g_autofree char *still_busy = take_reply(&s, 12);
    g_assert_cmpstr(still_busy, ==, "net.groupd1.Error.Busy");
    g_autoptr(GDBusMessage) reply = g_dbus_message_new_method_reply(m);
    g_dbus_message_set_body(reply, g_variant_new("(u)", 0));
    g_autoptr(GBytes) reply_blob = blob_of(reply, 101, TRUE);
    from_daemon(&s, g_bytes_get_data(reply_blob, NULL), g_bytes_get_size(reply_blob));
    g_assert_cmpuint(s.to_bus->len, ==, g_bytes_get_size(reply_blob));
    g_byte_array_set_size(s.to_bus, 0);
    feed_bus_blob(&s, third, 65536);
    g_assert_cmpuint(s.to_daemon->len, ==, g_bytes_get_size(third));
    g_assert_cmpuint(gd_guard_filter_large(s.f), ==, 2);
    /* A large signal has no reply to wait for: dropped, unanswered. */
    g_autoptr(GDBusMessage) signal = g_dbus_message_new_signal("/x", "x.y", "Z");
    g_dbus_message_set_sender(signal, ":1.8");
    g_dbus_message_set_body(signal, strings(n, ""));
    g_autoptr(GBytes) signal_blob = blob_of(signal, 5, FALSE);
    g_byte_array_set_size(s.to_daemon, 0);
    feed_bus_blob(&s, signal_blob, 65536);
    g_assert_cmpuint(s.to_daemon->len, ==, 0);
    g_assert_cmpuint(s.to_bus->len, ==, 0);
    streams_clear(&s);
}

/* The guard's reply waits while a message of GDBus is half passed. */
static void test_stream_reply_between_messages(void)
{
    Streams s;
    streams_init(&s);
    authenticate(&s);
    g_autoptr(GDBusMessage) sig =
        g_dbus_message_new_signal("/net/groupd1", "net.groupd1.Manager", "LinksChanged");
    g_dbus_message_set_body(sig, strings(100, "ifb0"));
    g_autoptr(GBytes) outgoing = blob_of(sig, 50, FALSE);
    gsize len;
    const guint8 *data = g_bytes_get_data(outgoing, &len);
    from_daemon(&s, data, 20);
    g_autoptr(GBytes) lots =
        call(":1.5", "GetLink", strings(GD_BUS_GUARD_MAX_VALUES, ""), 4, FALSE);
    feed_bus_blob(&s, lots, 1 << 20);
    g_assert_cmpuint(s.to_bus->len, ==, 20);
    from_daemon(&s, data + 20, len - 20);
    g_assert_cmpuint(s.to_bus->len, >, len);
    g_assert_cmpint(memcmp(s.to_bus->data, data, len), ==, 0);
    g_byte_array_remove_range(s.to_bus, 0, (guint)len);
    g_autofree char *name = take_reply(&s, 4);
    g_assert_cmpstr(name, ==, "net.groupd1.Error.InvalidArgs");
    /* Garbage from the bus breaks the streams. */
    from_bus(&s, "0123456789abcdef", 16);
    g_assert_nonnull(gd_guard_filter_broken(s.f));
    streams_clear(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/wire/count", test_count);
    g_test_add_func("/wire/malformed", test_malformed);
    g_test_add_func("/wire/header", test_header);
    g_test_add_func("/wire/error-reply", test_error_reply);
    g_test_add_func("/guard/passes-and-skips", test_stream_passes_and_skips);
    g_test_add_func("/guard/one-large-call", test_stream_one_large_call);
    g_test_add_func("/guard/reply-between-messages", test_stream_reply_between_messages);
    return g_test_run();
}
