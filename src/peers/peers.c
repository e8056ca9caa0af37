/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Who manages each link besides groupd: NetworkManager over D-Bus,
 * systemd-networkd from its state files. */
/* Before peers.h: glibc's <net/if.h> and <linux/if.h> coexist only in
 * this order. */
#include <net/if.h>

#include "peers/peers.h"

#include <errno.h>
#include <string.h>

#define NM_NAME         "org.freedesktop.NetworkManager"
#define NM_PATH         "/org/freedesktop/NetworkManager"
#define NM_DEVICE       NM_NAME ".Device"
#define NM_CALL_TIMEOUT 10000
#define NETWORKD_LINKS  "run/systemd/netif/links"
/* A burst of link changes: NetworkManager's connections read once after it. */
#define REREAD_DELAY_MSEC 30
/* A profile changed (Settings.Connection.Updated): read again at once and
 * once more later, as a reapply that follows the change sends no signal. */
#define UPDATED_AGAIN_MSEC 1000
/* NetworkManager removes its devices from the bus when it stops, just
 * before it leaves: the removal of a device whose link is still there takes
 * effect only if NetworkManager is still on the bus this much later. */
#define REMOVAL_DELAY_MSEC 10000
/* NetworkManager takes its name before it exports its objects: GetDevices
 * is tried again this often, at most LIST_ATTEMPTS times. */
#define LIST_RETRY_MSEC 200
#define LIST_ATTEMPTS   50
/* NetworkManager's device states: below "prepare" no connection is applied. */
#define NM_DEVICE_STATE_PREPARE 40

typedef struct {
    GdPeers *peers;
    char *path;
    char *ifname;
    guint32 ifindex;  /* 0: not known */
    GdPeerLink *link; /* NULL: not managed */
    gboolean reading, again;
    gboolean removing; /* DeviceRemoved, not yet taken (REMOVAL_DELAY_MSEC) */
    gboolean stale;    /* not listed by the NetworkManager that came last */
    GCancellable *cancel;
} NmDevice;

struct GdPeers {
    GDBusConnection *conn;
    char *root;
    guint grace_msec;
    GdPeersChangedFunc changed;
    gpointer user_data;

    /* NetworkManager */
    guint name_watch;
    guint signal_ids[4];
    guint poll_msec, poll_timer;
    guint removal_timer;
    guint updated_timer;
    gboolean nm_on_bus;
    guint grace_timer;
    GHashTable *nm_devices; /* path → NmDevice */
    guint nm_pending;       /* reads of this instance's first look still out */
    gboolean nm_listed;     /* GetDevices of this instance answered */
    gboolean settled;       /* a first look was complete once (sticky) */
    guint list_timer, list_attempts;
    guint reread_timer;
    GCancellable *cancel;

    /* systemd-networkd */
    char *links_dir;
    GFileMonitor *monitor;
    GHashTable *networkd; /* ifindex → GdPeerLink */

    guint changed_source;
};

/* ---- change notification ---- */

static gboolean changed_idle(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->changed_source = 0;
    if (peers->changed)
        peers->changed(peers, peers->user_data);
    return G_SOURCE_REMOVE;
}

static void note_changed(GdPeers *peers)
{
    if (!peers->changed_source)
        peers->changed_source = g_idle_add(changed_idle, peers);
}

/* ---- NetworkManager: one device ---- */

static void nm_device_free(NmDevice *dev)
{
    g_cancellable_cancel(dev->cancel);
    g_object_unref(dev->cancel);
    g_free(dev->path);
    g_free(dev->ifname);
    gd_peer_link_free(dev->link);
    g_free(dev);
}

static void set_device_link(NmDevice *dev, const char *ifname, GdPeerLink *link)
{
    gboolean same =
        g_strcmp0(ifname, dev->ifname) == 0 &&
        ((!link && !dev->link) || (link && dev->link && gd_peer_link_equal(link, dev->link)));
    if (!same) {
        /* Which profile manages a link: worth a line; the rest debug. */
        if (link && (!dev->link || g_strcmp0(link->source, dev->link->source) != 0)) {
            g_autofree char *what = gd_peer_link_describe(link);
            g_message("peers: link %s: %s", ifname ? ifname : dev->path, what);
        } else if (!link && dev->link) {
            g_message("peers: link %s: no longer managed by NetworkManager",
                      ifname ? ifname : dev->path);
        }
        g_free(dev->ifname);
        dev->ifname = g_strdup(ifname);
        gd_peer_link_free(dev->link);
        dev->link = link;
        note_changed(dev->peers);
    } else {
        gd_peer_link_free(link);
    }
}

static void nm_read_device(NmDevice *dev);

/* The look at a NetworkManager that came is complete: the devices it did
 * not list go only now, so that none looks unmanaged in between. */
static void look_done(GdPeers *peers)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, peers->nm_devices);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((NmDevice *)value)->stale)
            g_hash_table_iter_remove(&it);
    peers->settled = TRUE;
    note_changed(peers);
}

/* One read of a device ended: the first look may be complete; a change
 * that came during the read asks for another. */
static void device_read_done(NmDevice *dev, gboolean first_look)
{
    GdPeers *peers = dev->peers;
    dev->reading = FALSE;
    if (first_look && peers->nm_pending > 0 && --peers->nm_pending == 0 && peers->nm_listed)
        look_done(peers);
    if (dev->again) {
        dev->again = FALSE;
        nm_read_device(dev);
    }
}

typedef struct {
    NmDevice *dev;
    char *ifname;
    gboolean managed;
    guint32 state;
    gboolean first_look;
} DeviceRead;

static void device_read_free(DeviceRead *read)
{
    g_free(read->ifname);
    g_free(read);
}

/* The error of a call says NetworkManager is no longer there to answer. */
static gboolean nm_went_away(const GdPeers *peers, const GError *error)
{
    return !peers->nm_on_bus || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER);
}

static void applied_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
    DeviceRead *read = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        device_read_free(read);
        return;
    }
    g_autoptr(GVariant) applied = NULL;
    if (reply)
        g_variant_get(reply, "(@a{sa{sv}}t)", &applied, NULL);
    else
        g_debug("peers: %s: GetAppliedConnection: %s", read->ifname, error->message);
    if (!reply && read->dev->link && nm_went_away(read->dev->peers, error)) {
        /* A read that NetworkManager's exit cut short: what it applied
         * last stands through its restart. */
        device_read_done(read->dev, read->first_look);
        device_read_free(read);
        return;
    }
    /* No applied connection (deactivated meanwhile): managed, no profile. */
    set_device_link(read->dev, read->ifname,
                    gd_peer_link_from_nm(read->managed, read->state, applied));
    device_read_done(read->dev, read->first_look);
    device_read_free(read);
}

static void props_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
    DeviceRead *read = user_data;
    NmDevice *dev = read->dev;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        device_read_free(read);
        return;
    }
    if (!reply) {
        g_debug("peers: %s: %s", dev->path, error->message);
        device_read_done(dev, read->first_look);
        device_read_free(read);
        return;
    }
    g_autoptr(GVariant) props = g_variant_get_child_value(reply, 0);
    g_variant_lookup(props, "Interface", "s", &read->ifname);
    g_variant_lookup(props, "Ifindex", "u", &dev->ifindex);
    g_variant_lookup(props, "Managed", "b", &read->managed);
    g_variant_lookup(props, "State", "u", &read->state);
    if (read->managed && read->state >= NM_DEVICE_STATE_PREPARE) {
        g_dbus_connection_call(dev->peers->conn, NM_NAME, dev->path, NM_DEVICE,
                               "GetAppliedConnection", g_variant_new("(u)", 0),
                               G_VARIANT_TYPE("(a{sa{sv}}t)"), G_DBUS_CALL_FLAGS_NONE,
                               NM_CALL_TIMEOUT, dev->cancel, applied_cb, read);
        return;
    }
    set_device_link(dev, read->ifname, gd_peer_link_from_nm(read->managed, read->state, NULL));
    device_read_done(dev, read->first_look);
    device_read_free(read);
}

static void nm_read_device_as(NmDevice *dev, gboolean first_look)
{
    if (dev->reading) {
        dev->again = TRUE;
        return;
    }
    dev->reading = TRUE;
    DeviceRead *read = g_new0(DeviceRead, 1);
    read->dev = dev;
    read->first_look = first_look;
    g_dbus_connection_call(dev->peers->conn, NM_NAME, dev->path, "org.freedesktop.DBus.Properties",
                           "GetAll", g_variant_new("(s)", NM_DEVICE), G_VARIANT_TYPE("(a{sv})"),
                           G_DBUS_CALL_FLAGS_NONE, NM_CALL_TIMEOUT, dev->cancel, props_cb, read);
}

static void nm_read_device(NmDevice *dev)
{
    nm_read_device_as(dev, FALSE);
}

static NmDevice *nm_device(GdPeers *peers, const char *path, gboolean create)
{
    NmDevice *dev = g_hash_table_lookup(peers->nm_devices, path);
    if (!dev && create) {
        dev = g_new0(NmDevice, 1);
        dev->peers = peers;
        dev->path = g_strdup(path);
        dev->cancel = g_cancellable_new();
        g_hash_table_insert(peers->nm_devices, dev->path, dev);
    }
    return dev;
}

/* ---- NetworkManager: the daemon ---- */

static void nm_forget_devices(GdPeers *peers)
{
    if (g_hash_table_size(peers->nm_devices) == 0)
        return;
    g_hash_table_remove_all(peers->nm_devices);
    note_changed(peers);
}

static gboolean list_devices_cb(gpointer user_data);

static void devices_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GdPeers *peers = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (!reply && ++peers->list_attempts < LIST_ATTEMPTS) {
        g_debug("peers: NetworkManager's devices: %s; trying again", error->message);
        peers->list_timer = g_timeout_add(LIST_RETRY_MSEC, list_devices_cb, peers);
        return;
    }
    peers->nm_listed = TRUE;
    if (!reply) {
        g_message("peers: NetworkManager's devices cannot be read: %s", error->message);
        look_done(peers);
        return;
    }
    g_autoptr(GVariantIter) iter = NULL;
    const char *path;
    g_variant_get(reply, "(ao)", &iter);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, peers->nm_devices);
    while (g_hash_table_iter_next(&it, NULL, &value))
        ((NmDevice *)value)->stale = TRUE;
    while (g_variant_iter_loop(iter, "&o", &path)) {
        NmDevice *dev = nm_device(peers, path, TRUE);
        dev->removing = dev->stale = FALSE;
        peers->nm_pending++;
        nm_read_device_as(dev, TRUE);
    }
    if (peers->nm_pending == 0)
        look_done(peers);
}

static gboolean list_devices_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->list_timer = 0;
    g_dbus_connection_call(peers->conn, NM_NAME, NM_PATH, NM_NAME, "GetDevices", NULL,
                           G_VARIANT_TYPE("(ao)"), G_DBUS_CALL_FLAGS_NONE, NM_CALL_TIMEOUT,
                           peers->cancel, devices_cb, peers);
    return G_SOURCE_REMOVE;
}

static gboolean grace_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->grace_timer = 0;
    g_message("peers: NetworkManager did not come back within %u ms: its devices are no longer "
              "taken as managed",
              peers->grace_msec);
    nm_forget_devices(peers);
    return G_SOURCE_REMOVE;
}

static void nm_appeared(GDBusConnection *conn, const char *name, const char *owner,
                        gpointer user_data)
{
    GdPeers *peers = user_data;
    g_message("peers: NetworkManager is on the bus (%s)", owner);
    g_clear_handle_id(&peers->grace_timer, g_source_remove);
    peers->nm_on_bus = TRUE;
    peers->nm_listed = FALSE;
    peers->nm_pending = 0;
    peers->list_attempts = 0;
    g_clear_handle_id(&peers->list_timer, g_source_remove);
    g_cancellable_cancel(peers->cancel);
    g_object_unref(peers->cancel);
    peers->cancel = g_cancellable_new();
    /* Reads of the previous instance are answered by nobody. */
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, peers->nm_devices);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        NmDevice *dev = value;
        g_cancellable_cancel(dev->cancel);
        g_object_unref(dev->cancel);
        dev->cancel = g_cancellable_new();
        dev->reading = dev->again = FALSE;
    }
    list_devices_cb(peers);
    note_changed(peers);
}

static void nm_vanished(GDBusConnection *conn, const char *name, gpointer user_data)
{
    GdPeers *peers = user_data;
    gboolean was = peers->nm_on_bus;
    peers->nm_on_bus = FALSE;
    /* NetworkManager is not there (or went before the look ended). */
    peers->settled = TRUE;
    g_clear_handle_id(&peers->list_timer, g_source_remove);
    if (!was) {
        note_changed(peers);
        return;
    }
    if (g_hash_table_size(peers->nm_devices) > 0 && peers->grace_msec > 0) {
        g_message("peers: NetworkManager left the bus; its %u devices stay its own for %u ms",
                  g_hash_table_size(peers->nm_devices), peers->grace_msec);
        g_clear_handle_id(&peers->grace_timer, g_source_remove);
        peers->grace_timer = g_timeout_add(peers->grace_msec, grace_cb, peers);
    } else {
        g_message("peers: NetworkManager left the bus");
        nm_forget_devices(peers);
    }
    note_changed(peers);
}

static gboolean removal_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->removal_timer = 0;
    if (!peers->nm_on_bus)
        return G_SOURCE_REMOVE; /* it stopped: the grace period decides */
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, peers->nm_devices);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((NmDevice *)value)->removing) {
            g_hash_table_iter_remove(&it);
            note_changed(peers);
        }
    return G_SOURCE_REMOVE;
}

/* NetworkManager removed the device of a link that is still there: it is
 * stopping (a link deleted, or deleted and made again, is another ifindex). */
static gboolean nm_link_still_there(const NmDevice *dev)
{
    if (!dev->ifname)
        return FALSE;
    unsigned int ifindex = if_nametoindex(dev->ifname);
    return ifindex > 0 && (dev->ifindex == 0 || ifindex == dev->ifindex);
}

static void nm_signal(GDBusConnection *conn, const char *sender, const char *path,
                      const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
    GdPeers *peers = user_data;
    if (!peers->nm_on_bus)
        return;
    if (g_str_equal(signal, "DeviceAdded") || g_str_equal(signal, "DeviceRemoved")) {
        const char *device;
        g_variant_get(params, "(&o)", &device);
        NmDevice *dev = nm_device(peers, device, g_str_equal(signal, "DeviceAdded"));
        if (dev && g_str_equal(signal, "DeviceAdded")) {
            dev->removing = FALSE;
            nm_read_device(dev);
        } else if (dev && nm_link_still_there(dev)) {
            dev->removing = TRUE;
            if (!peers->removal_timer)
                peers->removal_timer = g_timeout_add(REMOVAL_DELAY_MSEC, removal_cb, peers);
        } else if (dev) {
            g_hash_table_remove(peers->nm_devices, device);
            note_changed(peers);
        }
        return;
    }
    NmDevice *dev = nm_device(peers, path, FALSE);
    if (!dev)
        return;
    if (g_str_equal(signal, "PropertiesChanged")) {
        /* Only what decides the answer: Managed, Interface, State. */
        g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
        static const char *const keys[] = {"Managed", "Interface", "State"};
        gboolean relevant = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS(keys) && !relevant; i++) {
            g_autoptr(GVariant) v = g_variant_lookup_value(changed, keys[i], NULL);
            relevant = v != NULL;
        }
        if (!relevant)
            return;
    }
    nm_read_device(dev);
}

static void reread_applied(GdPeers *peers);

static gboolean updated_again_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->updated_timer = 0;
    reread_applied(peers);
    return G_SOURCE_REMOVE;
}

/* A profile changed: what is applied may change with a reapply that
 * NetworkManager does not announce. */
static void nm_settings_signal(GDBusConnection *conn, const char *sender, const char *path,
                               const char *iface, const char *signal, GVariant *params,
                               gpointer user_data)
{
    GdPeers *peers = user_data;
    if (!peers->nm_on_bus)
        return;
    reread_applied(peers);
    g_clear_handle_id(&peers->updated_timer, g_source_remove);
    peers->updated_timer = g_timeout_add(UPDATED_AGAIN_MSEC, updated_again_cb, peers);
}

static void nm_watch(GdPeers *peers)
{
    peers->signal_ids[0] =
        g_dbus_connection_signal_subscribe(peers->conn, NM_NAME, NM_NAME, NULL, NM_PATH, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, nm_signal, peers, NULL);
    peers->signal_ids[1] =
        g_dbus_connection_signal_subscribe(peers->conn, NM_NAME, NM_DEVICE, "StateChanged", NULL,
                                           NULL, G_DBUS_SIGNAL_FLAGS_NONE, nm_signal, peers, NULL);
    peers->signal_ids[2] = g_dbus_connection_signal_subscribe(
        peers->conn, NM_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
        NM_DEVICE, G_DBUS_SIGNAL_FLAGS_NONE, nm_signal, peers, NULL);
    peers->signal_ids[3] = g_dbus_connection_signal_subscribe(
        peers->conn, NM_NAME, NM_NAME ".Settings.Connection", "Updated", NULL, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, nm_settings_signal, peers, NULL);
    peers->name_watch = g_bus_watch_name_on_connection(
        peers->conn, NM_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, nm_appeared, nm_vanished, peers, NULL);
}

/* The devices that have a connection applied, read again. */
static void reread_applied(GdPeers *peers)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, peers->nm_devices);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        NmDevice *dev = value;
        if (dev->link && dev->link->source)
            nm_read_device(dev);
    }
}

static gboolean reread_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    peers->reread_timer = 0;
    reread_applied(peers);
    return G_SOURCE_REMOVE;
}

static gboolean poll_cb(gpointer user_data)
{
    GdPeers *peers = user_data;
    if (peers->nm_on_bus)
        reread_applied(peers);
    return G_SOURCE_CONTINUE;
}

void gd_peers_set_polling(GdPeers *peers, guint msec)
{
    if (!peers || peers->poll_msec == msec)
        return;
    peers->poll_msec = msec;
    g_clear_handle_id(&peers->poll_timer, g_source_remove);
    if (msec)
        peers->poll_timer = g_timeout_add(msec, poll_cb, peers);
}

void gd_peers_links_changed(GdPeers *peers)
{
    if (!peers || !peers->nm_on_bus || peers->reread_timer)
        return;
    peers->reread_timer = g_timeout_add(REREAD_DELAY_MSEC, reread_cb, peers);
}

/* ---- systemd-networkd ---- */

static char *under_root(GdPeers *peers, const char *path)
{
    return g_build_filename(peers->root, path, NULL);
}

/* networkd's view of one link, from its state file and .network files. */
static GdPeerLink *networkd_read(GdPeers *peers, int ifindex)
{
    g_autofree char *name = g_strdup_printf("%d", ifindex);
    g_autofree char *path = g_build_filename(peers->links_dir, name, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_autofree char *network = NULL, *admin = NULL;
    g_auto(GStrv) dropins = NULL;
    if (!gd_networkd_state_parse(text, &network, &dropins, &admin))
        return NULL;
    GdPeerLink *link = gd_peer_link_new(GD_PEER_NETWORKD);
    link->active = g_str_equal(admin, "configured") || g_str_equal(admin, "configuring");
    if (!network)
        return link; /* pending: no .network file chosen yet */
    link->source = g_strdup(network);
    /* networkd's defaults: ActivationPolicy=up, KeepConfiguration=no. */
    link->set_state = link->up = TRUE;
    link->owns_addresses[0] = link->owns_addresses[1] = TRUE;
    GStrvBuilder *files = g_strv_builder_new();
    g_strv_builder_add(files, network);
    if (dropins)
        g_strv_builder_addv(files, (const char **)dropins);
    g_auto(GStrv) all = g_strv_builder_end(files);
    g_strv_builder_unref(files);
    for (guint i = 0; all[i]; i++) {
        g_autofree char *file = under_root(peers, all[i]);
        g_autofree char *data = NULL;
        g_autoptr(GError) error = NULL;
        if (g_file_get_contents(file, &data, NULL, &error))
            gd_networkd_network_parse(data, link);
        else
            g_debug("peers: systemd-networkd's %s: %s", file, error->message);
    }
    return link;
}

static void networkd_update(GdPeers *peers, int ifindex)
{
    GdPeerLink *link = networkd_read(peers, ifindex);
    GdPeerLink *old = g_hash_table_lookup(peers->networkd, GINT_TO_POINTER(ifindex));
    if ((!link && !old) || (link && old && gd_peer_link_equal(link, old))) {
        gd_peer_link_free(link);
        return;
    }
    if (link)
        g_hash_table_replace(peers->networkd, GINT_TO_POINTER(ifindex), link);
    else
        g_hash_table_remove(peers->networkd, GINT_TO_POINTER(ifindex));
    note_changed(peers);
}

static gboolean ifindex_of(const char *name, int *ifindex)
{
    guint64 v;
    if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT, &v, NULL))
        return FALSE;
    *ifindex = (int)v;
    return TRUE;
}

static void networkd_scan(GdPeers *peers)
{
    g_autoptr(GDir) dir = g_dir_open(peers->links_dir, 0, NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    const char *name;
    int ifindex;
    while (dir && (name = g_dir_read_name(dir)))
        if (ifindex_of(name, &ifindex)) {
            g_hash_table_add(seen, GINT_TO_POINTER(ifindex));
            networkd_update(peers, ifindex);
        }
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, peers->networkd);
    while (g_hash_table_iter_next(&it, &key, NULL))
        if (!g_hash_table_contains(seen, key)) {
            g_hash_table_iter_remove(&it);
            note_changed(peers);
        }
}

static void networkd_event(GFileMonitor *monitor, GFile *file, GFile *other,
                           GFileMonitorEvent event, gpointer user_data)
{
    GdPeers *peers = user_data;
    g_autofree char *name = g_file_get_basename(file);
    int ifindex;
    if (ifindex_of(name, &ifindex)) {
        networkd_update(peers, ifindex);
        return;
    }
    /* The directory itself came or went: read it all. */
    networkd_scan(peers);
}

static void networkd_watch(GdPeers *peers)
{
    peers->links_dir = under_root(peers, NETWORKD_LINKS);
    g_autoptr(GFile) dir = g_file_new_for_path(peers->links_dir);
    g_autoptr(GError) error = NULL;
    /* networkd writes a new file and renames it over the old one. */
    peers->monitor = g_file_monitor_directory(dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
    if (peers->monitor) {
        g_file_monitor_set_rate_limit(peers->monitor, 0);
        g_signal_connect(peers->monitor, "changed", G_CALLBACK(networkd_event), peers);
    } else {
        g_message("peers: cannot watch %s: %s", peers->links_dir, error->message);
    }
    networkd_scan(peers);
}

/* ---- the module ---- */

GdPeers *gd_peers_new(GDBusConnection *conn, const char *root, guint grace_msec,
                      GdPeersChangedFunc changed, gpointer user_data)
{
    GdPeers *peers = g_new0(GdPeers, 1);
    peers->conn = conn ? g_object_ref(conn) : NULL;
    peers->root = g_strdup(root && *root ? root : "/");
    peers->grace_msec = grace_msec;
    peers->changed = changed;
    peers->user_data = user_data;
    peers->cancel = g_cancellable_new();
    peers->nm_devices =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)nm_device_free);
    peers->networkd = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)gd_peer_link_free);
    networkd_watch(peers);
    if (peers->conn)
        nm_watch(peers);
    else
        peers->settled = TRUE;
    return peers;
}

void gd_peers_free(GdPeers *peers)
{
    if (!peers)
        return;
    if (peers->name_watch)
        g_bus_unwatch_name(peers->name_watch);
    for (guint i = 0; i < G_N_ELEMENTS(peers->signal_ids); i++)
        if (peers->signal_ids[i])
            g_dbus_connection_signal_unsubscribe(peers->conn, peers->signal_ids[i]);
    g_cancellable_cancel(peers->cancel);
    g_object_unref(peers->cancel);
    g_clear_handle_id(&peers->grace_timer, g_source_remove);
    g_clear_handle_id(&peers->reread_timer, g_source_remove);
    g_clear_handle_id(&peers->poll_timer, g_source_remove);
    g_clear_handle_id(&peers->updated_timer, g_source_remove);
    g_clear_handle_id(&peers->removal_timer, g_source_remove);
    g_clear_handle_id(&peers->list_timer, g_source_remove);
    g_clear_handle_id(&peers->changed_source, g_source_remove);
    g_hash_table_unref(peers->nm_devices);
    g_hash_table_unref(peers->networkd);
    if (peers->monitor) {
        g_signal_handlers_disconnect_by_data(peers->monitor, peers);
        g_file_monitor_cancel(peers->monitor);
    }
    g_clear_object(&peers->monitor);
    g_clear_object(&peers->conn);
    g_free(peers->links_dir);
    g_free(peers->root);
    g_free(peers);
}

void gd_peers_set_grace(GdPeers *peers, guint grace_msec)
{
    peers->grace_msec = grace_msec;
}

const GdPeerLink *gd_peers_lookup(int ifindex, const char *ifname, gpointer data)
{
    GdPeers *peers = data;
    if (!peers)
        return NULL;
    if (ifname) {
        /* A device on its way out (removed while a link of its name exists)
         * answers only if no other device has that name: a link deleted and
         * made again at once is NetworkManager's new device. */
        const GdPeerLink *removing = NULL;
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, peers->nm_devices);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            NmDevice *dev = value;
            if (!dev->link || g_strcmp0(dev->ifname, ifname) != 0)
                continue;
            if (!dev->removing)
                return dev->link;
            removing = dev->link;
        }
        if (removing)
            return removing;
    }
    return g_hash_table_lookup(peers->networkd, GINT_TO_POINTER(ifindex));
}

gboolean gd_peers_settled(GdPeers *peers)
{
    return peers->settled;
}

gboolean gd_peers_nm_present(GdPeers *peers)
{
    return peers->nm_on_bus || peers->grace_timer != 0;
}

gboolean gd_peers_nm_restarting(GdPeers *peers)
{
    return !peers->nm_on_bus && peers->grace_timer != 0;
}
