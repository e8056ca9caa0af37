/* SPDX-License-Identifier: LGPL-2.1-or-later
 * policy/facts: what [Match] needs of a link that rtnetlink does not say. */
#pragma once

#include "netlink/nl.h"

#include <glib.h>

typedef struct {
    char type[32];   /* sysfs DEVTYPE ("wlan", "wwan", "bridge"…), else from the ARPHRD */
    char driver[64]; /* sysfs device/driver, "" for virtual links */
} GdLinkFacts;

/* Reads the facts of link nl from sysfs_root (NULL: "/sys"). */
void gd_link_facts_read(const char *sysfs_root, const GdNlLink *nl, GdLinkFacts *out);
