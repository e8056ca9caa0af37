/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The a{sv} arguments of the Manager's changes: pure, free of the bus
 * connection, so that a fuzzer reaches them (tests/fuzz/fuzz-dbus-args.c). */
#include "bus.h"

#include <errno.h>
#include <string.h>

char *gd_bus_args_clip(const char *text, gsize max)
{
    gsize len = strlen(text);
    if (len <= max)
        return g_strdup(text);
    /* Not inside a character: "%.64s" could cut one and make the message
     * invalid UTF-8, which GDBus refuses to send. */
    const char *end = text + max;
    while (end > text && ((guchar)*end & 0xC0) == 0x80)
        end--;
    return g_strndup(text, (gsize)(end - text));
}

/* FALSE with the error for err (InvalidArgs for -EINVAL, -ERANGE) and message. */
static gboolean refuse(GError **error, int err, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean refuse(GError **error, int err, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_propagate_error(error, gd_bus_error_from_errno(err, FALSE, NULL, "%s", message));
    return FALSE;
}

static gboolean parse_option(const char *key, GVariant *value, gboolean *force, GError **error)
{
    if (g_str_equal(key, "force") && g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN)) {
        *force = g_variant_get_boolean(value);
        return TRUE;
    }
    if (g_str_equal(key, "force"))
        return refuse(error, -EINVAL, "option \"force\" must be a boolean, not %s",
                      g_variant_get_type_string(value));
    g_autofree char *clipped = gd_bus_args_clip(key, 64);
    return refuse(error, -EINVAL, "unknown option \"%s\"", clipped);
}

gboolean gd_bus_args_options(GVariant *options, gboolean *force, GError **error)
{
    GVariantIter iter;
    const char *key;
    GVariant *value;
    *force = FALSE;
    g_variant_iter_init(&iter, options);
    while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
        gboolean ok = parse_option(key, value, force, error);
        g_variant_unref(value);
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

static gboolean expect_type(const char *key, GVariant *value, const GVariantType *type,
                            GError **error)
{
    if (g_variant_is_of_type(value, type))
        return TRUE;
    return refuse(error, -EINVAL, "property \"%s\" must be of type %s, not %s", key,
                  (const char *)type, g_variant_get_type_string(value));
}

static gboolean parse_property(const char *key, GVariant *value, GdNlLinkChange *change,
                               GError **error)
{
    if (g_str_equal(key, "MTU")) {
        if (!expect_type(key, value, G_VARIANT_TYPE_UINT32, error))
            return FALSE;
        change->mtu = g_variant_get_uint32(value);
        if (change->mtu == 0 || change->mtu > G_MAXINT32)
            return refuse(error, -ERANGE, "MTU %u is out of range", change->mtu);
        change->set_mtu = true;
    } else if (g_str_equal(key, "State")) {
        if (!expect_type(key, value, G_VARIANT_TYPE_STRING, error))
            return FALSE;
        const char *state = g_variant_get_string(value, NULL);
        if (!g_str_equal(state, "up") && !g_str_equal(state, "down")) {
            g_autofree char *clipped = gd_bus_args_clip(state, 32);
            return refuse(error, -EINVAL, "State must be \"up\" or \"down\", not \"%s\"", clipped);
        }
        change->set_state = true;
        change->up = g_str_equal(state, "up");
    } else if (g_str_equal(key, "MACAddress")) {
        if (!expect_type(key, value, G_VARIANT_TYPE_STRING, error))
            return FALSE;
        const char *text = g_variant_get_string(value, NULL);
        int len = gd_nl_hwaddr_parse(text, change->hwaddr, sizeof(change->hwaddr));
        if (len < 0) {
            g_autofree char *clipped = gd_bus_args_clip(text, 64);
            return refuse(error, len,
                          "malformed MACAddress \"%s\": expected hexadecimal bytes separated by "
                          "':'",
                          clipped);
        }
        change->set_hwaddr = true;
        change->hwaddr_len = (uint8_t)len;
    } else if (g_str_equal(key, "TxQueueLength")) {
        if (!expect_type(key, value, G_VARIANT_TYPE_UINT32, error))
            return FALSE;
        change->set_txqlen = true;
        change->txqlen = g_variant_get_uint32(value);
    } else {
        g_autofree char *clipped = gd_bus_args_clip(key, 64);
        return refuse(error, -EINVAL,
                      "unknown property \"%s\" (known: MTU, State, MACAddress, TxQueueLength)",
                      clipped);
    }
    return TRUE;
}

gboolean gd_bus_args_link_change(GVariant *props, GdNlLinkChange *change, GError **error)
{
    GVariantIter iter;
    const char *key;
    GVariant *value;
    memset(change, 0, sizeof(*change));
    g_variant_iter_init(&iter, props);
    while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
        gboolean ok = parse_property(key, value, change, error);
        g_variant_unref(value);
        if (!ok)
            return FALSE;
    }
    if (!change->set_mtu && !change->set_state && !change->set_hwaddr && !change->set_txqlen)
        return refuse(error, -EINVAL, "no property to change");
    return TRUE;
}
