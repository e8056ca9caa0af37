/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl set GROUP mtu N state up|down mac M txqlen N: SetGroup, every
 * property in the one group-scoped kernel message. */
#include <string.h>

#include "groupctl.h"

int verb_set(Ctl *ctl, int argc, char **argv)
{
    const char *group = argv[1];
    bool seen[4] = {false};
    uint32_t mtu = 0, txqlen = 0;
    const char *state = NULL, *mac = NULL;

    /* Check every argument before talking to groupd: bad usage is exit 2. */
    if ((argc - 2) % 2 != 0) {
        usage_error("set: '%s' needs a value", argv[argc - 1]);
        return EXIT_USAGE;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *key = argv[i], *value = argv[i + 1];
        int k;
        if (!strcmp(key, "mtu"))
            k = 0;
        else if (!strcmp(key, "state"))
            k = 1;
        else if (!strcmp(key, "mac") || !strcmp(key, "address"))
            k = 2;
        else if (!strcmp(key, "txqlen") || !strcmp(key, "txqueuelen"))
            k = 3;
        else {
            usage_error("set: unknown property '%s' (mtu, state, mac, txqlen)", key);
            return EXIT_USAGE;
        }
        if (seen[k]) {
            usage_error("set: '%s' given twice", key);
            return EXIT_USAGE;
        }
        seen[k] = true;
        if ((k == 0 && !parse_u32(value, &mtu)) || (k == 3 && !parse_u32(value, &txqlen))) {
            usage_error("set: %s needs a number, not '%s'", key, value);
            return EXIT_USAGE;
        }
        if (k == 1 && strcmp(value, "up") != 0 && strcmp(value, "down") != 0) {
            usage_error("set: state is 'up' or 'down', not '%s'", value);
            return EXIT_USAGE;
        }
        if (k == 1)
            state = value;
        if (k == 2)
            mac = value;
    }

    /* argv[1..] is NULL-terminated: the group, then keys and values. */
    if (!args_are_utf8("building SetGroup", argv + 1))
        return EXIT_DAEMON;
    g_auto(GVariantBuilder) props = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
    if (seen[0])
        g_variant_builder_add(&props, "{sv}", "MTU", g_variant_new_uint32(mtu));
    if (state)
        g_variant_builder_add(&props, "{sv}", "State", g_variant_new_string(state));
    if (mac)
        g_variant_builder_add(&props, "{sv}", "MACAddress", g_variant_new_string(mac));
    if (seen[3])
        g_variant_builder_add(&props, "{sv}", "TxQueueLength", g_variant_new_uint32(txqlen));
    /* Send "force" only when asked: groupd refuses unknown keys, not absent ones. */
    g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
    if (ctl->force)
        g_variant_builder_add(&options, "{sv}", "force", g_variant_new_boolean(TRUE));
    return call_manager(ctl, "SetGroup", g_variant_new("(sa{sv}a{sv})", group, &props, &options),
                        NULL, NULL);
}
