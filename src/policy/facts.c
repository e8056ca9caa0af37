/* SPDX-License-Identifier: LGPL-2.1-or-later
 * What [Match] needs that rtnetlink does not say: the link's type (sysfs
 * DEVTYPE, else its ARPHRD) and driver (sysfs device/driver). groupd runs
 * in the namespace it manages, and sysfs shows that namespace's links. */
#include "facts.h"

#include <linux/if_arp.h>
#include <string.h>

static const char *arphrd_type(uint16_t arptype)
{
    switch (arptype) {
    case ARPHRD_ETHER:
        return "ether";
    case ARPHRD_LOOPBACK:
        return "loopback";
    case ARPHRD_PPP:
        return "ppp";
    case ARPHRD_NONE:
        return "none";
    case ARPHRD_TUNNEL:
    case ARPHRD_TUNNEL6:
    case ARPHRD_SIT:
    case ARPHRD_IPGRE:
        return "tunnel";
    case ARPHRD_IEEE80211:
    case ARPHRD_IEEE80211_RADIOTAP:
        return "wlan";
    case ARPHRD_INFINIBAND:
        return "infiniband";
    case ARPHRD_CAN:
        return "can";
    default:
        return "other";
    }
}

void gd_link_facts_read(const char *sysfs_root, const GdNlLink *nl, GdLinkFacts *out)
{
    g_autofree char *uevent_path =
        g_build_filename(sysfs_root ? sysfs_root : "/sys", "class/net", nl->name, "uevent", NULL);
    g_autofree char *uevent = NULL;
    memset(out, 0, sizeof(*out));
    if (g_file_get_contents(uevent_path, &uevent, NULL, NULL)) {
        g_auto(GStrv) lines = g_strsplit(uevent, "\n", -1);
        for (guint i = 0; lines[i]; i++)
            if (g_str_has_prefix(lines[i], "DEVTYPE="))
                g_strlcpy(out->type, lines[i] + strlen("DEVTYPE="), sizeof(out->type));
    }
    if (!out->type[0])
        g_strlcpy(out->type, arphrd_type(nl->arptype), sizeof(out->type));

    g_autofree char *driver_link = g_build_filename(sysfs_root ? sysfs_root : "/sys", "class/net",
                                                    nl->name, "device/driver", NULL);
    g_autofree char *target = g_file_read_link(driver_link, NULL);
    if (target) {
        g_autofree char *base = g_path_get_basename(target);
        g_strlcpy(out->driver, base, sizeof(out->driver));
    }
}
