/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The guard between the bus and GDBus. GDBus reads a whole message and
 * turns every value of its body into a GVariant before anything looks at
 * the message: 24 MB of empty strings sent to GetLink by any user cost
 * 500 MB, most of it kept after the reply. GLib has no limit to set, and a
 * filter (g_dbus_connection_add_filter) sees messages after they are
 * parsed. So GDBus talks to the bus through a socket pair, and a thread
 * here relays the bytes: from GDBus to the bus as they are (noting the
 * replies); from the bus message by message, each measured first (wire.c):
 *
 *   - more than GD_BUS_GUARD_MAX_BYTES bytes: skipped as it arrives, never
 *     held;
 *   - more than GD_BUS_GUARD_MAX_VALUES values, or malformed: dropped;
 *   - large (GD_BUS_GUARD_LARGE_BYTES or GD_BUS_GUARD_LARGE_VALUES and more, up to those limits): a
 *     method call passes only while no other large call waits for its
 *     reply, so GDBus holds one parsed large message at a time; any other
 *     large message is dropped.
 *
 * A method call that does not pass gets net.groupd1.Error.InvalidArgs (or
 * Busy, for a second large call) from here. So what a message makes groupd
 * allocate is bounded, whoever sends it and whatever the bus's policy.
 */
#include "bus.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define INVALID_ARGS "net.groupd1.Error.InvalidArgs"
#define BUSY         "net.groupd1.Error.Busy"
/* An authentication line longer than this is not one. */
#define MAX_AUTH_LINE 16384
/* Serials of the guard's own replies: far above GDBus's, which count from 1. */
#define FIRST_GUARD_SERIAL 0xF0000000u
/* Refusals logged one by one; after that, one in this many. */
#define LOGGED_REFUSALS 20
#define LOG_EVERY       1000
/* A large call whose reply never came (a bug) frees its slot after this. */
#define LARGE_CALL_TIMEOUT_USEC (300 * G_USEC_PER_SEC)

struct GdGuardFilter {
    /* Bus → GDBus. */
    gboolean binary;   /* after BEGIN: messages */
    GByteArray *msg;   /* the message being read */
    GdWireFixed fixed; /* once msg has 16 bytes */
    gboolean have_fixed;
    GdWireHeader header; /* once msg has the header */
    gboolean have_header;
    guint64 skip;      /* bytes of a refused message still to drop */
    GByteArray *reply; /* the refused call's reply, sent when skipped */
    /* The large call GDBus holds: its sender and serial, until the reply. */
    char *large_sender;
    guint32 large_serial;
    gint64 large_since;
    /* GDBus → bus. */
    gboolean nul_seen;    /* the credentials byte */
    GByteArray *line;     /* an authentication line being read */
    GByteArray *out_head; /* the header of GDBus's message being passed */
    GdWireFixed out_fixed;
    guint64 out_left;     /* bytes of it still to pass after out_head */
    GByteArray *injected; /* replies waiting for a message boundary */
    guint32 next_serial;
    guint64 refused;
    guint64 large; /* large messages passed on */
    char *broken;
};

GdGuardFilter *gd_guard_filter_new(void)
{
    GdGuardFilter *f = g_new0(GdGuardFilter, 1);
    f->msg = g_byte_array_new();
    f->line = g_byte_array_new();
    f->out_head = g_byte_array_new();
    f->injected = g_byte_array_new();
    f->next_serial = FIRST_GUARD_SERIAL;
    return f;
}

void gd_guard_filter_free(GdGuardFilter *f)
{
    if (!f)
        return;
    g_byte_array_unref(f->msg);
    g_byte_array_unref(f->line);
    g_byte_array_unref(f->out_head);
    g_byte_array_unref(f->injected);
    if (f->reply)
        g_byte_array_unref(f->reply);
    gd_wire_header_clear(&f->header);
    g_free(f->large_sender);
    g_free(f->broken);
    g_free(f);
}

const char *gd_guard_filter_broken(const GdGuardFilter *f)
{
    return f->broken;
}

guint64 gd_guard_filter_refused(const GdGuardFilter *f)
{
    return f->refused;
}

guint64 gd_guard_filter_large(const GdGuardFilter *f)
{
    return f->large;
}

static void set_broken(GdGuardFilter *f, const char *why)
{
    if (!f->broken)
        f->broken = g_strdup(why);
}

/* ---- bus → GDBus ---- */

/* A buffer that held a large message is given back, not kept for the next. */
#define KEPT_BUFFER (64 * 1024)

static void next_message(GdGuardFilter *f)
{
    if (f->msg->len > KEPT_BUFFER) {
        g_byte_array_unref(f->msg);
        f->msg = g_byte_array_new();
    }
    g_byte_array_set_size(f->msg, 0);
    f->have_fixed = f->have_header = FALSE;
    gd_wire_header_clear(&f->header);
}

static gboolean at_boundary(const GdGuardFilter *f)
{
    return f->out_head->len == 0 && f->out_left == 0;
}

/* Replies go to the bus between two of GDBus's messages, never inside one. */
static void inject(GdGuardFilter *f, GByteArray *reply, GByteArray *to_bus)
{
    g_byte_array_append(at_boundary(f) ? to_bus : f->injected, reply->data, reply->len);
}

static gboolean wants_reply(const GdGuardFilter *f)
{
    return f->fixed.type == GD_WIRE_METHOD_CALL && !(f->fixed.flags & 0x1) && f->header.sender;
}

/* Drops the message (msg, and skip more bytes of it); a method call gets
 * the error. */
static void refuse(GdGuardFilter *f, const char *error_name, const char *why, gsize values,
                   guint64 skip, GByteArray *to_bus)
{
    const GdWireHeader *h = &f->header;
    f->refused++;
    if (f->refused <= LOGGED_REFUSALS || f->refused % LOG_EVERY == 0)
        g_message("guard: refused %s %s.%s from %s (%" G_GUINT64_FORMAT " bytes, %" G_GSIZE_FORMAT
                  " values or more): %s; %" G_GUINT64_FORMAT " refused so far",
                  f->fixed.type == GD_WIRE_METHOD_CALL ? "a call of" : "a message",
                  h->interface ? h->interface : "?", h->member ? h->member : "?",
                  h->sender ? h->sender : "?", (guint64)f->fixed.total, values, why, f->refused);
    if (wants_reply(f)) {
        g_autofree char *text =
            g_str_equal(error_name, BUSY)
                ? g_strdup_printf("%s refused before it was read: groupd holds another large "
                                  "call (%u bytes or %u values and more) until it answers it; "
                                  "try again then. Nothing was done",
                                  h->member, GD_BUS_GUARD_LARGE_BYTES, GD_BUS_GUARD_LARGE_VALUES)
                : g_strdup_printf("%s refused before it was read: a message to groupd may have "
                                  "at most %u bytes and %u values (this one: %" G_GUINT64_FORMAT
                                  " bytes, %s); nothing was done",
                                  h->member, GD_BUS_GUARD_MAX_BYTES, GD_BUS_GUARD_MAX_VALUES,
                                  (guint64)f->fixed.total, why);
        g_autoptr(GByteArray) reply =
            gd_wire_error_reply(&f->fixed, h, f->next_serial++, error_name, text);
        if (f->next_serial == 0)
            f->next_serial = FIRST_GUARD_SERIAL;
        if (skip == 0)
            inject(f, reply, to_bus);
        else
            f->reply = g_byte_array_ref(reply);
    }
    f->skip = skip;
    next_message(f);
}

/* Whether the large call slot is taken (and not stale). */
static gboolean large_call_held(GdGuardFilter *f)
{
    if (f->large_sender && g_get_monotonic_time() - f->large_since > LARGE_CALL_TIMEOUT_USEC) {
        g_warning("guard: no reply to the large call %u of %s after %d s; its slot is free",
                  f->large_serial, f->large_sender,
                  (int)(LARGE_CALL_TIMEOUT_USEC / G_USEC_PER_SEC));
        g_clear_pointer(&f->large_sender, g_free);
    }
    return f->large_sender != NULL;
}

/* msg holds a whole message: pass it on, or refuse it. */
static void judge(GdGuardFilter *f, GByteArray *to_daemon, GByteArray *to_bus)
{
    gsize values = 0;
    int r =
        gd_wire_count_values(f->msg->data, f->msg->len, f->fixed.header_len, f->fixed.big_endian,
                             f->header.signature, GD_BUS_GUARD_MAX_VALUES, &values);
    if (r == -E2BIG) {
        refuse(f, INVALID_ARGS, "too many values", values, 0, to_bus);
        return;
    }
    if (r < 0) {
        refuse(f, INVALID_ARGS, "malformed", values, 0, to_bus);
        return;
    }
    if (f->msg->len >= GD_BUS_GUARD_LARGE_BYTES || values >= GD_BUS_GUARD_LARGE_VALUES) {
        if (!wants_reply(f)) {
            refuse(f, INVALID_ARGS, "large, and no reply to wait for", values, 0, to_bus);
            return;
        }
        if (large_call_held(f)) {
            refuse(f, BUSY, "another large call is held", values, 0, to_bus);
            return;
        }
        f->large_sender = g_strdup(f->header.sender);
        f->large_serial = f->fixed.serial;
        f->large_since = g_get_monotonic_time();
        f->large++;
    }
    g_byte_array_append(to_daemon, f->msg->data, f->msg->len);
    next_message(f);
}

static gsize take(GByteArray *into, gsize want, const guint8 *data, gsize len)
{
    gsize n = MIN(want - into->len, len);
    g_byte_array_append(into, data, (guint)n);
    return n;
}

void gd_guard_filter_from_bus(GdGuardFilter *f, const guint8 *data, gsize len,
                              GByteArray *to_daemon, GByteArray *to_bus)
{
    while (len > 0 && !f->broken) {
        if (!f->binary) {
            /* Authentication: the bus only answers, and only in lines. */
            g_byte_array_append(to_daemon, data, (guint)len);
            return;
        }
        if (f->skip > 0) {
            gsize n = (gsize)MIN(f->skip, (guint64)len);
            f->skip -= n;
            data += n;
            len -= n;
            if (f->skip == 0 && f->reply) {
                inject(f, f->reply, to_bus);
                g_clear_pointer(&f->reply, g_byte_array_unref);
            }
            continue;
        }
        if (!f->have_fixed) {
            gsize n = take(f->msg, 16, data, len);
            data += n;
            len -= n;
            if (f->msg->len < 16)
                return;
            if (gd_wire_parse_fixed(f->msg->data, &f->fixed) < 0) {
                set_broken(f, "a message from the bus does not start with a D-Bus header");
                return;
            }
            f->have_fixed = TRUE;
            if (f->fixed.fields_len > GD_BUS_GUARD_MAX_HEADER) {
                /* Who sent it is in the fields: it cannot be answered. */
                refuse(f, INVALID_ARGS, "header fields too long", 0, f->fixed.total - 16, to_bus);
                continue;
            }
        }
        if (!f->have_header) {
            gsize n = take(f->msg, f->fixed.header_len, data, len);
            data += n;
            len -= n;
            if (f->msg->len < f->fixed.header_len)
                return;
            f->have_header = TRUE;
            const char *why = NULL;
            if (gd_wire_parse_header(f->msg->data, &f->fixed, &f->header) < 0)
                why = "malformed header";
            else if (f->header.unix_fds > 0)
                why = "file descriptors";
            else if (f->fixed.total > GD_BUS_GUARD_MAX_BYTES)
                why = "too large";
            if (why) {
                refuse(f, INVALID_ARGS, why, 0, f->fixed.body_len, to_bus);
                continue;
            }
        }
        gsize n = take(f->msg, f->fixed.total, data, len);
        data += n;
        len -= n;
        if (f->msg->len == f->fixed.total)
            judge(f, to_daemon, to_bus);
    }
}

/* ---- GDBus → bus ---- */

static void auth_line(GdGuardFilter *f, GByteArray *to_daemon, GByteArray *to_bus)
{
    static const char negotiate[] = "NEGOTIATE_UNIX_FD\r\n";
    static const char begin[] = "BEGIN\r\n";
    if (f->line->len == strlen(negotiate) && !memcmp(f->line->data, negotiate, f->line->len)) {
        static const char no[] = "ERROR file descriptors do not pass groupd's guard\r\n";
        g_byte_array_append(to_daemon, (const guint8 *)no, strlen(no));
    } else {
        g_byte_array_append(to_bus, f->line->data, f->line->len);
        if (f->line->len == strlen(begin) && !memcmp(f->line->data, begin, f->line->len))
            f->binary = TRUE;
    }
    g_byte_array_set_size(f->line, 0);
}

/* GDBus's message header is whole (out_head): a reply to the large call
 * frees its slot. */
static void note_outgoing(GdGuardFilter *f)
{
    if (!f->large_sender ||
        (f->out_fixed.type != GD_WIRE_METHOD_RETURN && f->out_fixed.type != GD_WIRE_ERROR))
        return;
    GdWireHeader h;
    if (gd_wire_parse_header(f->out_head->data, &f->out_fixed, &h) == 0 && h.has_reply_serial &&
        h.reply_serial == f->large_serial && g_strcmp0(h.destination, f->large_sender) == 0)
        g_clear_pointer(&f->large_sender, g_free);
    gd_wire_header_clear(&h);
}

void gd_guard_filter_from_daemon(GdGuardFilter *f, const guint8 *data, gsize len,
                                 GByteArray *to_daemon, GByteArray *to_bus)
{
    while (len > 0 && !f->broken) {
        if (!f->nul_seen) {
            f->nul_seen = TRUE;
            g_byte_array_append(to_bus, data, 1);
            data++;
            len--;
            continue;
        }
        if (!f->binary) {
            const guint8 *nl = memchr(data, '\n', len);
            gsize n = nl ? (gsize)(nl - data) + 1 : len;
            g_byte_array_append(f->line, data, (guint)n);
            data += n;
            len -= n;
            if (f->line->len > MAX_AUTH_LINE) {
                set_broken(f, "an authentication line of GDBus is too long");
                return;
            }
            if (nl)
                auth_line(f, to_daemon, to_bus);
            continue;
        }
        if (at_boundary(f) && f->injected->len > 0) {
            /* Replies waiting go first, then GDBus's next message. */
            g_byte_array_append(to_bus, f->injected->data, f->injected->len);
            g_byte_array_set_size(f->injected, 0);
        }
        if (f->out_left > 0) {
            gsize n = (gsize)MIN(f->out_left, (guint64)len);
            g_byte_array_append(to_bus, data, (guint)n);
            f->out_left -= n;
            data += n;
            len -= n;
            continue;
        }
        /* The header: passed on as it comes, read once whole. */
        gsize want = f->out_head->len < 16 ? 16 : f->out_fixed.header_len;
        gsize n = take(f->out_head, want, data, len);
        g_byte_array_append(to_bus, data, (guint)n);
        data += n;
        len -= n;
        if (f->out_head->len < want)
            continue;
        if (want == 16) {
            if (gd_wire_parse_fixed(f->out_head->data, &f->out_fixed) < 0 ||
                f->out_fixed.fields_len > GD_BUS_GUARD_MAX_HEADER) {
                set_broken(f, "a message of GDBus does not start with a D-Bus header");
                return;
            }
            continue;
        }
        note_outgoing(f);
        f->out_left = f->out_fixed.body_len;
        g_byte_array_set_size(f->out_head, 0);
    }
    if (f->binary && at_boundary(f) && f->injected->len > 0) {
        g_byte_array_append(to_bus, f->injected->data, f->injected->len);
        g_byte_array_set_size(f->injected, 0);
    }
}

/* ---- the relay thread ---- */

/* Reading from one side stops while this much waits for the other. */
#define MAX_QUEUED (8 * 1024 * 1024)

typedef struct {
    GByteArray *data;
    gsize done; /* bytes of data already written */
} Queue;

typedef struct {
    GIOStream *bus_stream; /* owns the bus socket */
    int bus_fd;
    int inner_fd; /* our end of the socket pair */
    int wake_fd;  /* eventfd: stop */
    GThread *thread;
    GdGuardFilter *filter;
} Guard;

static gsize queued(const Queue *q)
{
    return q->data->len - q->done;
}

/* Writes what it can; FALSE on an error other than "later". */
static gboolean flush_queue(int fd, Queue *q)
{
    while (queued(q) > 0) {
        ssize_t n = send(fd, q->data->data + q->done, queued(q), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        q->done += (gsize)n;
    }
    if (q->data->len > KEPT_BUFFER) {
        g_byte_array_unref(q->data);
        q->data = g_byte_array_new();
    }
    g_byte_array_set_size(q->data, 0);
    q->done = 0;
    return TRUE;
}

static void compact(Queue *q)
{
    if (q->done > 0 && q->done >= q->data->len / 2) {
        g_byte_array_remove_range(q->data, 0, (guint)q->done);
        q->done = 0;
    }
}

/* GDBus parses a large message into many small blocks, freed after the
 * reply but kept by malloc: given back a moment later, on the main loop.
 * (GLib 2.74's slice allocator keeps its own unless G_SLICE=always-malloc,
 * which the unit sets: about 12 MB after a 70000-value message.) */
#define TRIM_DELAY_MS 1000
static gint trim_pending;

static gboolean trim_cb(gpointer user_data)
{
    g_atomic_int_set(&trim_pending, 0);
    malloc_trim(0);
    return G_SOURCE_REMOVE;
}

static void schedule_trim(void)
{
    if (!g_atomic_int_compare_and_exchange(&trim_pending, 0, 1))
        return;
    GSource *source = g_timeout_source_new(TRIM_DELAY_MS);
    g_source_set_callback(source, trim_cb, NULL, NULL);
    g_source_attach(source, NULL);
    g_source_unref(source);
}

/* Reads once from fd into the filter; FALSE at the end of the stream. */
static gboolean pump(Guard *g, int fd, gboolean from_bus, Queue *to_daemon, Queue *to_bus)
{
    guint8 buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0)
        return FALSE;
    guint64 large = gd_guard_filter_large(g->filter);
    if (from_bus)
        gd_guard_filter_from_bus(g->filter, buf, (gsize)n, to_daemon->data, to_bus->data);
    else
        gd_guard_filter_from_daemon(g->filter, buf, (gsize)n, to_daemon->data, to_bus->data);
    if (gd_guard_filter_large(g->filter) != large)
        schedule_trim();
    return TRUE;
}

static gpointer relay_thread(gpointer user_data)
{
    Guard *g = user_data;
    Queue to_daemon = {g_byte_array_new(), 0}, to_bus = {g_byte_array_new(), 0};
    const char *end = NULL;
    while (!end) {
        struct pollfd fds[3] = {
            {.fd = g->bus_fd,
             .events = (short)((queued(&to_daemon) < MAX_QUEUED ? POLLIN : 0) |
                               (queued(&to_bus) ? POLLOUT : 0))},
            {.fd = g->inner_fd,
             .events = (short)((queued(&to_bus) < MAX_QUEUED ? POLLIN : 0) |
                               (queued(&to_daemon) ? POLLOUT : 0))},
            {.fd = g->wake_fd, .events = POLLIN},
        };
        if (poll(fds, G_N_ELEMENTS(fds), -1) < 0) {
            if (errno == EINTR)
                continue;
            end = "poll failed";
            break;
        }
        if (fds[2].revents)
            break; /* stopped: GDBus's connection is gone */
        if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !pump(g, g->inner_fd, FALSE, &to_daemon, &to_bus))
            end = "GDBus closed the connection";
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !pump(g, g->bus_fd, TRUE, &to_daemon, &to_bus))
            end = "the bus closed the connection";
        if (gd_guard_filter_broken(g->filter))
            end = gd_guard_filter_broken(g->filter);
        if (!flush_queue(g->bus_fd, &to_bus))
            end = end ? end : "writing to the bus failed";
        if (!flush_queue(g->inner_fd, &to_daemon))
            end = end ? end : "writing to GDBus failed";
        compact(&to_bus);
        compact(&to_daemon);
    }
    if (end)
        g_message("guard: %s; the bus connection ends", end);
    /* What GDBus sent last (a reply, NameLost) still goes out. */
    flush_queue(g->bus_fd, &to_bus);
    /* Both ends see the end: GDBus reports the connection closed. */
    shutdown(g->inner_fd, SHUT_RDWR);
    shutdown(g->bus_fd, SHUT_RDWR);
    g_byte_array_unref(to_daemon.data);
    g_byte_array_unref(to_bus.data);
    return NULL;
}

static void guard_free(gpointer data)
{
    Guard *g = data;
    if (g->thread) {
        guint64 one = 1;
        if (write(g->wake_fd, &one, sizeof(one)) < 0)
            g_warning("guard: cannot stop the relay: %s", g_strerror(errno));
        g_thread_join(g->thread);
    }
    if (g->wake_fd >= 0)
        close(g->wake_fd);
    if (g->inner_fd >= 0)
        close(g->inner_fd);
    g_clear_object(&g->bus_stream);
    gd_guard_filter_free(g->filter);
    g_free(g);
}

GDBusConnection *gd_bus_guard_connect(const char *address, GBusType type, GError **error)
{
    g_autofree char *bus_address =
        address ? g_strdup(address) : g_dbus_address_get_for_bus_sync(type, NULL, error);
    if (!bus_address)
        return NULL;
    Guard *g = g_new0(Guard, 1);
    g->inner_fd = g->wake_fd = -1;
    g->filter = gd_guard_filter_new();
    g->bus_stream = g_dbus_address_get_stream_sync(bus_address, NULL, NULL, error);
    if (!g->bus_stream) {
        guard_free(g);
        return NULL;
    }
    if (!G_IS_SOCKET_CONNECTION(g->bus_stream)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: not a socket; the guard needs one", bus_address);
        guard_free(g);
        return NULL;
    }
    g->bus_fd = g_socket_get_fd(g_socket_connection_get_socket(G_SOCKET_CONNECTION(g->bus_stream)));
    int pair[2] = {-1, -1};
    if ((g->wake_fd = eventfd(0, EFD_CLOEXEC)) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        int err = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "guard: %s", g_strerror(err));
        guard_free(g);
        return NULL;
    }
    g->inner_fd = pair[1];
    g_autoptr(GSocket) socket = g_socket_new_from_fd(pair[0], error);
    if (!socket) {
        close(pair[0]);
        guard_free(g);
        return NULL;
    }
    g_autoptr(GSocketConnection) inner = g_socket_connection_factory_create_connection(socket);
    g->thread = g_thread_new("gd-bus-guard", relay_thread, g);
    GDBusConnection *conn =
        g_dbus_connection_new_sync(G_IO_STREAM(inner), NULL,
                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                   NULL, NULL, error);
    if (!conn) {
        guard_free(g);
        return NULL;
    }
    /* The relay lives as long as the connection. */
    g_object_set_data_full(G_OBJECT(conn), "gd-bus-guard", g, guard_free);
    return conn;
}
