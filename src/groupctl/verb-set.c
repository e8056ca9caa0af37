/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* groupctl set GROUP mtu N state up|down mac M txqlen N: SetGroup, every
 * property in the one group-scoped kernel message. */
#include <string.h>

#include "groupctl.h"

int verb_set(Ctl *ctl, int argc, char **argv)
{
    _cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
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

    int r = new_manager_call(ctl, "SetGroup", &m);
    if (r)
        return r;
    r = sd_bus_message_append(m, "s", group);
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "{sv}");
    if (r >= 0 && seen[0])
        r = sd_bus_message_append(m, "{sv}", "MTU", "u", mtu);
    if (r >= 0 && state)
        r = sd_bus_message_append(m, "{sv}", "State", "s", state);
    if (r >= 0 && mac)
        r = sd_bus_message_append(m, "{sv}", "MACAddress", "s", mac);
    if (r >= 0 && seen[3])
        r = sd_bus_message_append(m, "{sv}", "TxQueueLength", "u", txqlen);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    /* Send "force" only when asked: groupd refuses unknown keys, not absent ones. */
    if (r >= 0)
        r = ctl->force ? sd_bus_message_append(m, "a{sv}", 1, "force", "b", 1)
                       : sd_bus_message_append(m, "a{sv}", 0);
    if (r < 0)
        return report_errno("building SetGroup", r);
    return call_built(ctl, m, &reply);
}
