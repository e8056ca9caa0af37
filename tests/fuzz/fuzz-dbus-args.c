/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the D-Bus argument validation of src/bus/args.c, the a{sv}
 * "props" of SetGroup (gd_bus_args_link_change()) and the a{sv} "options"
 * of every mutating call (gd_bus_args_options()), as src/bus/group-ops.c
 * calls them. The input is one GVariant of type (a{sv}a{sv}) = (props, options):
 *   - "T" then GVariant text ("({'MTU': <uint32 1400>}, {'force': <true>})"),
 *     which keeps seeds readable and lets the fuzzer mutate the structure;
 *   - anything else: the serialized form (g_variant_new_from_data(),
 *     untrusted), any bytes, as a hostile peer controls the body.
 * Properties: fails <=> an error; it is net.groupd1.Error.InvalidArgs;
 * its message is valid UTF-8 (it goes out on
 * D-Bus, where invalid UTF-8 is a protocol error) and bounded; a parsed
 * change is within range and survives a round trip (rebuilt as a{sv},
 * parsed again, equal); options succeed exactly when every key is a boolean
 * "force", and force is the last one.
 */
#include "fuzz-common.h"

#include "bus/bus.h"

#include <errno.h>
#include <string.h>

#define MESSAGE_MAX 2000

static void check_error(gboolean ok, const GError *error)
{
    fuzz_assert(ok == (error == NULL));
    if (ok)
        return;
    fuzz_assert(g_error_matches(error, GD_BUS_ERROR, GD_BUS_ERROR_INVALID_ARGS));
    fuzz_assert(g_utf8_validate(error->message, -1, NULL));
    fuzz_assert(strlen(error->message) > 0 && strlen(error->message) < MESSAGE_MAX);
}

static GVariant *rebuild(const GdNlLinkChange *c)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    if (c->set_mtu)
        g_variant_builder_add(&b, "{sv}", "MTU", g_variant_new_uint32(c->mtu));
    if (c->set_state)
        g_variant_builder_add(&b, "{sv}", "State", g_variant_new_string(c->up ? "up" : "down"));
    if (c->set_txqlen)
        g_variant_builder_add(&b, "{sv}", "TxQueueLength", g_variant_new_uint32(c->txqlen));
    if (c->set_hwaddr) {
        g_autofree char *text = gd_nl_hwaddr_format(c->hwaddr, c->hwaddr_len);
        g_variant_builder_add(&b, "{sv}", "MACAddress", g_variant_new_string(text));
    }
    return g_variant_ref_sink(g_variant_builder_end(&b));
}

static gboolean same_change(const GdNlLinkChange *a, const GdNlLinkChange *b)
{
    return a->set_mtu == b->set_mtu && (!a->set_mtu || a->mtu == b->mtu) &&
           a->set_state == b->set_state && (!a->set_state || a->up == b->up) &&
           a->set_txqlen == b->set_txqlen && (!a->set_txqlen || a->txqlen == b->txqlen) &&
           a->set_hwaddr == b->set_hwaddr &&
           (!a->set_hwaddr ||
            (a->hwaddr_len == b->hwaddr_len && memcmp(a->hwaddr, b->hwaddr, a->hwaddr_len) == 0));
}

static void props(GVariant *v)
{
    GdNlLinkChange change;
    g_autoptr(GError) error = NULL;
    gboolean ok = gd_bus_args_link_change(v, &change, &error);
    check_error(ok, error);
    if (!ok)
        return;
    fuzz_assert(change.set_mtu || change.set_state || change.set_hwaddr || change.set_txqlen);
    fuzz_assert(!change.set_mtu || (change.mtu > 0 && change.mtu <= G_MAXINT32));
    fuzz_assert(!change.set_hwaddr ||
                (change.hwaddr_len > 0 && change.hwaddr_len <= GD_NL_MAX_HWADDR));
    /* Every key was a known one, of its type. */
    GVariantIter iter;
    const char *key;
    GVariant *value;
    g_variant_iter_init(&iter, v);
    while (g_variant_iter_loop(&iter, "{&sv}", &key, &value))
        fuzz_assert((g_str_equal(key, "MTU") || g_str_equal(key, "TxQueueLength"))
                        ? g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32)
                        : (g_str_equal(key, "State") || g_str_equal(key, "MACAddress")) &&
                              g_variant_is_of_type(value, G_VARIANT_TYPE_STRING));
    g_autoptr(GVariant) again = rebuild(&change);
    GdNlLinkChange second;
    ok = gd_bus_args_link_change(again, &second, &error);
    fuzz_assert(ok && error == NULL);
    fuzz_assert(same_change(&change, &second));
}

static void options(GVariant *v)
{
    gboolean force = TRUE, expect_force = FALSE, expect_ok = TRUE;
    g_autoptr(GError) error = NULL;
    gboolean ok = gd_bus_args_options(v, &force, &error);
    check_error(ok, error);
    GVariantIter iter;
    const char *key;
    GVariant *value;
    g_variant_iter_init(&iter, v);
    while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
        if (!g_str_equal(key, "force") || !g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN)) {
            expect_ok = FALSE;
            g_variant_unref(value);
            break;
        }
        expect_force = g_variant_get_boolean(value);
    }
    fuzz_assert(ok == expect_ok);
    if (ok)
        fuzz_assert(force == expect_force);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    const GVariantType *type = G_VARIANT_TYPE("(a{sv}a{sv})");
    g_autoptr(GVariant) args = NULL;
    if (size > 0 && data[0] == 'T') {
        g_autofree char *text = fuzz_strndup(data + 1, size - 1);
        /* g_variant_parse() wants UTF-8 (it builds strings from the text
         * unchecked); on D-Bus every string is valid UTF-8 anyway. */
        if (!g_utf8_validate(text, -1, NULL))
            return 0;
        /* Not floating: the reference is ours already. */
        args = g_variant_parse(type, text, NULL, NULL, NULL);
        if (!args)
            return 0;
    } else {
        /* Copied: GVariant keeps a reference to the bytes. */
        g_autoptr(GBytes) bytes = g_bytes_new(data, size);
        args = g_variant_ref_sink(g_variant_new_from_bytes(type, bytes, FALSE));
    }
    g_autoptr(GVariant) p = g_variant_get_child_value(args, 0);
    g_autoptr(GVariant) o = g_variant_get_child_value(args, 1);
    props(p);
    options(o);
    /* The options parsed as props and the other way round: more shapes. */
    props(o);
    options(p);
    return 0;
}
