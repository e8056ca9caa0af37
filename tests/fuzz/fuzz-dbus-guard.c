/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the guard's streams (src/bus/guard.c, src/bus/wire.c), what
 * reads every byte from the bus before GDBus does. After an authentication
 * as GDBus makes it, the input is the bus's side of the connection: the
 * first byte picks the chunk size it arrives in (1 to 256 bytes, or all at
 * once), and with its top bit set, a message of GDBus's is half written when
 * the input arrives (replies must wait for its end).
 * Properties besides memory safety:
 *   - what reaches GDBus is whole messages, each of which GDBus parses
 *     (g_dbus_message_new_from_blob), of at most GD_BUS_GUARD_MAX_BYTES
 *     and GD_BUS_GUARD_MAX_VALUES;
 *   - what goes to the bus is GDBus's own bytes, whole and in order, then
 *     the guard's error replies, each parsable, each an error to a call;
 *   - a refusal is counted for every reply.
 */
#include "fuzz-common.h"

#include "bus/bus.h"

#include <string.h>

static const char auth_out[] = "\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n";

static GDBusMessage *parse(const guint8 *data, gsize len)
{
    g_autoptr(GError) error = NULL;
    GDBusMessage *m =
        g_dbus_message_new_from_blob((guchar *)data, len, G_DBUS_CAPABILITY_FLAGS_NONE, &error);
    fuzz_assert(m != NULL);
    return m;
}

/* data[0..len) is whole messages; calls check on each. */
static guint each_message(const guint8 *data, gsize len, void (*check)(const guint8 *, gsize))
{
    guint n = 0;
    while (len > 0) {
        fuzz_assert(len >= 16);
        gssize total = g_dbus_message_bytes_needed((guchar *)data, 16, NULL);
        fuzz_assert(total >= 16 && (gsize)total <= len);
        check(data, (gsize)total);
        data += total;
        len -= (gsize)total;
        n++;
    }
    return n;
}

static void check_to_daemon(const guint8 *data, gsize len)
{
    fuzz_assert(len <= GD_BUS_GUARD_MAX_BYTES);
    g_autoptr(GDBusMessage) m = parse(data, len);
    GdWireFixed fixed;
    GdWireHeader header;
    fuzz_assert(gd_wire_parse_fixed(data, &fixed) == 0);
    fuzz_assert(gd_wire_parse_header(data, &fixed, &header) == 0);
    gsize values;
    fuzz_assert(gd_wire_count_values(data, len, fixed.header_len, fixed.big_endian,
                                     header.signature, GD_BUS_GUARD_MAX_VALUES, &values) == 0);
    gd_wire_header_clear(&header);
}

static void check_reply(const guint8 *data, gsize len)
{
    g_autoptr(GDBusMessage) m = parse(data, len);
    fuzz_assert(g_dbus_message_get_message_type(m) == G_DBUS_MESSAGE_TYPE_ERROR);
    fuzz_assert(g_dbus_message_get_destination(m) != NULL);
    const char *name = g_dbus_message_get_error_name(m);
    fuzz_assert(g_str_equal(name, "net.groupd1.Error.InvalidArgs") ||
                g_str_equal(name, "net.groupd1.Error.Busy"));
}

/* A signal of GDBus's, to be half written when the bus speaks. */
static GBytes *outgoing(void)
{
    g_autoptr(GDBusMessage) m =
        g_dbus_message_new_signal("/net/groupd1", "net.groupd1.Manager", "LinksChanged");
    g_dbus_message_set_body(m, g_variant_new_parsed("(@a(isuus) [(1, 'lo', 0, 65536, 'up')], "
                                                    "@ai [], uint32 0)"));
    g_dbus_message_set_serial(m, 5);
    gsize len;
    guchar *blob = g_dbus_message_to_blob(m, &len, G_DBUS_CAPABILITY_FLAGS_NONE, NULL);
    fuzz_assert(blob != NULL);
    return g_bytes_new_take(blob, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size < 1)
        return 0;
    guint8 mode = data[0];
    data++;
    size--;
    gsize chunk = (mode & 0x7f) == 0 ? G_MAXSIZE : (gsize)(mode & 0x7f) * 2;

    GdGuardFilter *f = gd_guard_filter_new();
    g_autoptr(GByteArray) to_daemon = g_byte_array_new();
    g_autoptr(GByteArray) to_bus = g_byte_array_new();
    gd_guard_filter_from_daemon(f, (const guint8 *)auth_out, sizeof(auth_out) - 1, to_daemon,
                                to_bus);
    fuzz_assert(to_bus->len == sizeof(auth_out) - 1 && to_daemon->len == 0);
    g_byte_array_set_size(to_bus, 0);

    g_autoptr(GBytes) signal = outgoing();
    gsize out_len;
    const guint8 *out = g_bytes_get_data(signal, &out_len);
    gsize half = (mode & 0x80) ? out_len / 2 : 0;
    gd_guard_filter_from_daemon(f, out, half, to_daemon, to_bus);

    for (size_t at = 0; at < size && !gd_guard_filter_broken(f); at += MIN(chunk, size - at))
        gd_guard_filter_from_bus(f, data + at, MIN(chunk, size - at), to_daemon, to_bus);
    each_message(to_daemon->data, to_daemon->len, check_to_daemon);
    if (gd_guard_filter_broken(f)) {
        /* The relay ends the connection here. */
        gd_guard_filter_free(f);
        return 0;
    }
    if (half)
        gd_guard_filter_from_daemon(f, out + half, out_len - half, to_daemon, to_bus);

    /* GDBus's bytes first, whole, then the guard's replies. */
    gsize skip = half ? out_len : 0;
    fuzz_assert(to_bus->len >= skip && memcmp(to_bus->data, out, skip) == 0);
    guint replies = each_message(to_bus->data + skip, to_bus->len - skip, check_reply);
    fuzz_assert(replies <= gd_guard_filter_refused(f));
    gd_guard_filter_free(f);
    return 0;
}
