/* SPDX-License-Identifier: LGPL-2.1-or-later
 * What another network manager applies to a link: NetworkManager's applied
 * connection and networkd's state and .network files, parsed. */
#include "peers/peer-link.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

const char *const gd_peer_kind_names[] = {"none", "NetworkManager", "systemd-networkd", NULL};

const char *gd_peer_kind_name(GdPeerKind kind)
{
    return (guint)kind <= GD_PEER_NETWORKD ? gd_peer_kind_names[kind] : "none";
}

GdPeerLink *gd_peer_link_new(GdPeerKind manager)
{
    GdPeerLink *link = g_new0(GdPeerLink, 1);
    link->manager = manager;
    link->addresses = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    return link;
}

GdPeerLink *gd_peer_link_copy(const GdPeerLink *from)
{
    GdPeerLink *link = g_memdup2(from, sizeof(*from));
    link->source = g_strdup(from->source);
    link->addresses = g_array_copy(from->addresses);
    return link;
}

void gd_peer_link_free(GdPeerLink *link)
{
    if (!link)
        return;
    g_free(link->source);
    g_array_unref(link->addresses);
    g_free(link);
}

gboolean gd_peer_link_equal(const GdPeerLink *a, const GdPeerLink *b)
{
    if (a->manager != b->manager || g_strcmp0(a->source, b->source) != 0 ||
        a->active != b->active || a->set_mtu != b->set_mtu || a->mtu != b->mtu ||
        a->set_state != b->set_state || a->up != b->up || a->set_group != b->set_group ||
        a->group != b->group || a->set_hwaddr != b->set_hwaddr || a->hwaddr_len != b->hwaddr_len ||
        memcmp(a->hwaddr, b->hwaddr, a->hwaddr_len) != 0 || a->set_txqlen != b->set_txqlen ||
        a->txqlen != b->txqlen || a->owns_addresses[0] != b->owns_addresses[0] ||
        a->owns_addresses[1] != b->owns_addresses[1] || a->has_mptcp_flags != b->has_mptcp_flags ||
        a->mptcp_flags != b->mptcp_flags || a->addresses->len != b->addresses->len)
        return FALSE;
    return a->addresses->len == 0 || memcmp(a->addresses->data, b->addresses->data,
                                            (gsize)a->addresses->len * sizeof(GdNlAddr)) == 0;
}

char *gd_peer_link_describe(const GdPeerLink *link)
{
    const char *name = gd_peer_kind_name(link->manager);
    if (!link->source)
        return g_strdup_printf("%s (no profile applied)", name);
    if (link->manager == GD_PEER_NETWORKMANAGER)
        return g_strdup_printf("%s connection \"%s\"", name, link->source);
    return g_strdup_printf("%s %s", name, link->source);
}

static void add_address(GdPeerLink *link, const char *text)
{
    GdNlAddr addr;
    if (gd_nl_cidr_parse(text, &addr) < 0 || gd_nl_addr_is_unspecified(&addr))
        return;
    addr.ifindex = 0;
    for (guint i = 0; i < link->addresses->len; i++) {
        const GdNlAddr *a = &g_array_index(link->addresses, GdNlAddr, i);
        if (a->family == addr.family && memcmp(a->addr, addr.addr, sizeof(a->addr)) == 0)
            return;
    }
    g_array_append_val(link->addresses, addr);
}

/* ---- NetworkManager ---- */

static const char *nm_string(GVariant *applied, const char *setting, const char *key)
{
    const char *value = NULL;
    g_autoptr(GVariant) section = g_variant_lookup_value(applied, setting, G_VARIANT_TYPE_VARDICT);
    if (section)
        g_variant_lookup(section, key, "&s", &value);
    return value;
}

/* ipv4/ipv6 "address-data": aa{sv} of "address" s and "prefix" u. */
static void nm_addresses(GdPeerLink *link, GVariant *applied, const char *setting, int family)
{
    g_autoptr(GVariant) section = g_variant_lookup_value(applied, setting, G_VARIANT_TYPE_VARDICT);
    if (!section)
        return;
    const char *method = NULL;
    g_variant_lookup(section, "method", "&s", &method);
    /* "ignore" (IPv6) leaves the family alone; every other method makes
     * NetworkManager remove addresses it did not configure when it
     * (re)applies. */
    link->owns_addresses[family] = method && !g_str_equal(method, "ignore");
    g_autoptr(GVariant) data =
        g_variant_lookup_value(section, "address-data", G_VARIANT_TYPE("aa{sv}"));
    if (!data)
        return;
    GVariantIter iter;
    GVariant *entry;
    g_variant_iter_init(&iter, data);
    while ((entry = g_variant_iter_next_value(&iter))) {
        const char *address = NULL;
        guint32 prefix = family ? 128 : 32;
        g_variant_lookup(entry, "address", "&s", &address);
        g_variant_lookup(entry, "prefix", "u", &prefix);
        if (address) {
            g_autofree char *text = g_strdup_printf("%s/%u", address, prefix);
            add_address(link, text);
        }
        g_variant_unref(entry);
    }
}

GdPeerLink *gd_peer_link_from_nm(gboolean managed, guint32 state, GVariant *applied)
{
    if (!managed || state <= GD_NM_DEVICE_STATE_UNMANAGED)
        return NULL;
    GdPeerLink *link = gd_peer_link_new(GD_PEER_NETWORKMANAGER);
    /* NetworkManager sets the devices it manages up, profile or not. */
    link->set_state = TRUE;
    link->up = TRUE;
    link->active = state == GD_NM_DEVICE_STATE_ACTIVATED;
    if (!applied || !g_variant_is_of_type(applied, G_VARIANT_TYPE("a{sa{sv}}")))
        return link;
    link->source = g_strdup(nm_string(applied, "connection", "id"));
    if (!link->source)
        link->source = g_strdup("(no id)");
    g_autoptr(GVariant) connection =
        g_variant_lookup_value(applied, "connection", G_VARIANT_TYPE_VARDICT);
    guint32 flags = 0;
    if (connection && g_variant_lookup(connection, "mptcp-flags", "u", &flags))
        link->mptcp_flags = flags;
    link->has_mptcp_flags = TRUE;
    /* The MTU lives in the type's own setting; 0 means "leave it". */
    static const char *const mtu_settings[] = {
        "802-3-ethernet", "802-11-wireless", "gsm", "cdma", "wireguard", "tun", "vlan",
        "bond",           "bridge"};
    for (guint i = 0; i < G_N_ELEMENTS(mtu_settings); i++) {
        g_autoptr(GVariant) s =
            g_variant_lookup_value(applied, mtu_settings[i], G_VARIANT_TYPE_VARDICT);
        guint32 mtu = 0;
        if (s && g_variant_lookup(s, "mtu", "u", &mtu) && mtu) {
            link->set_mtu = TRUE;
            link->mtu = mtu;
        }
        /* cloned-mac-address is also "preserve", "random"…: only an address
         * is a value to compare (assigned-mac-address is its text form). */
        const char *mac = NULL;
        if (s && g_variant_lookup(s, "assigned-mac-address", "&s", &mac)) {
            int n = gd_nl_hwaddr_parse(mac, link->hwaddr, sizeof(link->hwaddr));
            if (n > 0) {
                link->set_hwaddr = TRUE;
                link->hwaddr_len = (uint8_t)n;
            }
        }
    }
    nm_addresses(link, applied, "ipv4", 0);
    nm_addresses(link, applied, "ipv6", 1);
    return link;
}

uint32_t gd_nm_mptcp_effective(uint32_t flags)
{
    if (flags == 0)
        return GD_NM_MPTCP_ENABLED | GD_NM_MPTCP_SUBFLOW;
    if (flags & GD_NM_MPTCP_DISABLED)
        return GD_NM_MPTCP_DISABLED;
    return flags | GD_NM_MPTCP_ENABLED; /* implied by any other flag */
}

gboolean gd_nm_mptcp_adds_endpoints(uint32_t flags, gboolean sysctl_enabled,
                                    gboolean has_default_route)
{
    uint32_t f = gd_nm_mptcp_effective(flags);
    if (f & GD_NM_MPTCP_DISABLED)
        return FALSE;
    if (!sysctl_enabled && !(f & GD_NM_MPTCP_ALSO_WITHOUT_SYSCTL))
        return FALSE;
    return has_default_route || (f & GD_NM_MPTCP_ALSO_WITHOUT_ROUTE);
}

char *gd_nm_mptcp_flags_text(uint32_t flags)
{
    static const struct {
        uint32_t bit;
        const char *word;
    } words[] = {
        {GD_NM_MPTCP_DISABLED, "disabled"},
        {GD_NM_MPTCP_ENABLED, "enabled"},
        {GD_NM_MPTCP_ALSO_WITHOUT_SYSCTL, "also-without-sysctl"},
        {GD_NM_MPTCP_ALSO_WITHOUT_ROUTE, "also-without-default-route"},
        {GD_NM_MPTCP_SIGNAL, "signal"},
        {GD_NM_MPTCP_SUBFLOW, "subflow"},
        {GD_NM_MPTCP_BACKUP, "backup"},
        {GD_NM_MPTCP_FULLMESH, "fullmesh"},
    };
    if (flags == 0)
        return g_strdup("default");
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(words); i++)
        if (flags & words[i].bit)
            g_string_append_printf(text, "%s%s", text->len ? "," : "", words[i].word);
    return g_string_free(text, FALSE);
}

/* ---- systemd-networkd ---- */

/* NETWORK_FILE_DROPINS="a" "b" (networkd quotes each path). */
static GStrv split_quoted(const char *text)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    gint argc = 0;
    g_auto(GStrv) argv = NULL;
    if (*text && g_shell_parse_argv(text, &argc, &argv, NULL))
        for (gint i = 0; i < argc; i++)
            if (*argv[i])
                g_strv_builder_add(b, argv[i]);
    return g_strv_builder_end(b);
}

gboolean gd_networkd_state_parse(const char *text, char **network_file, GStrv *dropins,
                                 char **admin_state)
{
    *network_file = NULL;
    *dropins = NULL;
    *admin_state = NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        char *eq = strchr(lines[i], '=');
        if (lines[i][0] == '#' || !eq)
            continue;
        *eq = '\0';
        const char *value = eq + 1;
        if (g_str_equal(lines[i], "ADMIN_STATE")) {
            g_free(*admin_state);
            *admin_state = g_strdup(value);
        } else if (g_str_equal(lines[i], "NETWORK_FILE") && *value) {
            g_free(*network_file);
            *network_file = g_strdup(value);
        } else if (g_str_equal(lines[i], "NETWORK_FILE_DROPINS")) {
            g_strfreev(*dropins);
            *dropins = split_quoted(value);
        }
    }
    return *admin_state && !g_str_equal(*admin_state, "unmanaged");
}

/* MTUBytes=: bytes with an optional K, M or G (1024-based). */
static gboolean parse_bytes(const char *text, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(text, &end, 10);
    if (end == text || errno)
        return FALSE;
    guint shift = 0;
    if (*end && !end[1] && strchr("KMG", *end))
        shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30, end++;
    if (*end || v == 0 || v > (G_MAXUINT32 >> shift))
        return FALSE;
    *out = (uint32_t)(v << shift);
    return TRUE;
}

void gd_networkd_network_parse(const char *text, GdPeerLink *link)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *section = NULL;
    for (guint i = 0; lines[i]; i++) {
        g_autofree char *line = g_strstrip(g_strdup(lines[i]));
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            g_free(section);
            section = close ? g_strndup(line + 1, (gsize)(close - line - 1)) : NULL;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!section || !eq)
            continue;
        *eq = '\0';
        const char *key = g_strstrip(line);
        const char *value = g_strstrip(eq + 1);
        if (g_str_equal(section, "Link")) {
            uint32_t v;
            guint64 group;
            if (g_str_equal(key, "MTUBytes")) {
                link->set_mtu = *value && parse_bytes(value, &v);
                link->mtu = link->set_mtu ? v : 0;
            } else if (g_str_equal(key, "MACAddress")) {
                int n = gd_nl_hwaddr_parse(value, link->hwaddr, sizeof(link->hwaddr));
                link->set_hwaddr = n > 0;
                link->hwaddr_len = n > 0 ? (uint8_t)n : 0;
            } else if (g_str_equal(key, "Group")) {
                link->set_group =
                    g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT32, &group, NULL);
                link->group = link->set_group ? (uint32_t)group : 0;
            } else if (g_str_equal(key, "ActivationPolicy")) {
                /* up/always-up bring the link up, down/always-down take it
                 * down; manual and bound leave the state to others. */
                link->set_state = g_str_equal(value, "up") || g_str_equal(value, "always-up") ||
                                  g_str_equal(value, "down") || g_str_equal(value, "always-down");
                link->up = g_str_has_suffix(value, "up");
                if (!*value) { /* reset to the default, "up" */
                    link->set_state = TRUE;
                    link->up = TRUE;
                }
            }
        } else if ((g_str_equal(section, "Network") || g_str_equal(section, "Address")) &&
                   g_str_equal(key, "Address")) {
            add_address(link, value);
        } else if (g_str_equal(section, "Network") && g_str_equal(key, "KeepConfiguration")) {
            /* networkd leaves the addresses it did not make alone when it
             * keeps the configuration it finds ("yes", "static"). */
            gboolean keeps = g_str_equal(value, "yes") || g_str_equal(value, "static");
            link->owns_addresses[0] = link->owns_addresses[1] = !keeps;
        }
    }
}
