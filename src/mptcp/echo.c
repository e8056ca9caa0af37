/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ICMP echoes over one link, through ping sockets. */
#include <netinet/in.h>

#include "mptcp/echo.h"

#include <errno.h>
#include <glib-unix.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ICMP_ECHO_REQUEST   8
#define ICMP_ECHO_REPLY     0
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY   129
#define HEADER_LEN          8
/* An answer later than this is no answer: its request is forgotten. */
#define FORGET_AFTER_USEC (5 * G_USEC_PER_SEC)

typedef struct {
    uint16_t seq;
    GdMpAddr target;
    gint64 sent_at;
} Sent;

typedef struct {
    GdMpEcho *echo;
    int ifindex;
    uint8_t family;
    int fd;
    guint watch;
    uint16_t next_seq;
    GArray *sent; /* Sent, oldest first */
} Sock;

struct GdMpEcho {
    GdMpEchoAnsweredFunc answered;
    gpointer user_data;
    GPtrArray *socks;   /* Sock* */
    int reported_errno; /* the last failure logged, so that it is logged once */
};

gsize gd_mp_echo_build(uint8_t family, uint16_t seq, uint8_t *buf, gsize len)
{
    static const char payload[] = "groupd";
    gsize n = HEADER_LEN + sizeof(payload);
    g_assert(len >= n);
    memset(buf, 0, HEADER_LEN);
    buf[0] = family == AF_INET6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
    buf[6] = (uint8_t)(seq >> 8);
    buf[7] = (uint8_t)seq;
    memcpy(buf + HEADER_LEN, payload, sizeof(payload));
    return n;
}

int gd_mp_echo_parse(uint8_t family, const uint8_t *buf, gsize len, uint16_t *seq)
{
    if (len < HEADER_LEN || buf[0] != (family == AF_INET6 ? ICMPV6_ECHO_REPLY : ICMP_ECHO_REPLY) ||
        buf[1] != 0)
        return -EINVAL;
    *seq = (uint16_t)(buf[6] << 8 | buf[7]);
    return 0;
}

static void sock_free(gpointer data)
{
    Sock *s = data;
    g_clear_handle_id(&s->watch, g_source_remove);
    if (s->fd >= 0)
        close(s->fd);
    g_array_unref(s->sent);
    g_free(s);
}

static void report(GdMpEcho *echo, const char *what, int error)
{
    if (echo->reported_errno == error) {
        g_debug("mptcp: %s: %s", what, g_strerror(error));
        return;
    }
    echo->reported_errno = error;
    g_message("mptcp: %s: %s%s", what, g_strerror(error),
              error == EACCES ? " (net.ipv4.ping_group_range leaves groupd out): "
                                "a silent path is found only while sending"
                              : "");
}

static gboolean readable_cb(gint fd, GIOCondition condition, gpointer user_data)
{
    Sock *s = user_data;
    for (;;) {
        uint8_t buf[256];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof(from);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            /* An ICMP error for an echo (unreachable) is no answer. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                continue;
            return G_SOURCE_CONTINUE;
        }
        uint16_t seq;
        if (gd_mp_echo_parse(s->family, buf, (gsize)n, &seq) < 0)
            continue;
        GdMpAddr addr = {.family = s->family};
        if (s->family == AF_INET)
            memcpy(addr.addr, &((struct sockaddr_in *)&from)->sin_addr, 4);
        else
            memcpy(addr.addr, &((struct sockaddr_in6 *)&from)->sin6_addr, 16);
        for (guint i = 0; i < s->sent->len; i++) {
            Sent sent = g_array_index(s->sent, Sent, i);
            if (sent.seq != seq || !gd_mp_addr_equal(&sent.target, &addr))
                continue;
            g_array_remove_index(s->sent, i);
            s->echo->answered(s->ifindex, &addr, sent.sent_at, s->echo->user_data);
            break;
        }
    }
}

static Sock *sock_get(GdMpEcho *echo, int ifindex, uint8_t family, int *error)
{
    for (guint i = 0; i < echo->socks->len; i++) {
        Sock *s = echo->socks->pdata[i];
        if (s->ifindex == ifindex && s->family == family)
            return s;
    }
    char name[IF_NAMESIZE];
    if (!if_indextoname((unsigned)ifindex, name)) {
        *error = errno;
        return NULL;
    }
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd < 0) {
        *error = errno;
        return NULL;
    }
    /* Bound to the device: the echo leaves by this link (a route lookup
     * with the device as output), not by the preferred default route. */
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name) + 1) < 0) {
        *error = errno;
        close(fd);
        return NULL;
    }
    Sock *s = g_new0(Sock, 1);
    s->echo = echo;
    s->ifindex = ifindex;
    s->family = family;
    s->fd = fd;
    s->next_seq = (uint16_t)g_random_int();
    s->sent = g_array_new(FALSE, FALSE, sizeof(Sent));
    s->watch = g_unix_fd_add_full(G_PRIORITY_HIGH, fd, G_IO_IN, readable_cb, s, NULL);
    g_ptr_array_add(echo->socks, s);
    return s;
}

int gd_mp_echo_send(GdMpEcho *echo, int ifindex, const GdMpAddr *target)
{
    int error = 0;
    Sock *s = sock_get(echo, ifindex, target->family, &error);
    if (!s) {
        report(echo, "cannot open an ICMP echo socket", error);
        return -error;
    }
    gint64 now = g_get_monotonic_time();
    while (s->sent->len && now - g_array_index(s->sent, Sent, 0).sent_at > FORGET_AFTER_USEC)
        g_array_remove_index(s->sent, 0);
    uint8_t buf[64];
    uint16_t seq = s->next_seq++;
    gsize len = gd_mp_echo_build(target->family, seq, buf, sizeof(buf));
    struct sockaddr_storage to = {0};
    socklen_t to_len;
    if (target->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&to;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, target->addr, 4);
        to_len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, target->addr, 16);
        sin6->sin6_scope_id = (uint32_t)ifindex; /* a link-local gateway */
        to_len = sizeof(*sin6);
    }
    if (sendto(s->fd, buf, len, 0, (struct sockaddr *)&to, to_len) < 0) {
        /* No route over the link, no address on it: no answer will come. */
        g_debug("mptcp: echo over #%d: %s", ifindex, g_strerror(errno));
        return -errno;
    }
    Sent sent = {.seq = seq, .target = *target, .sent_at = now};
    g_array_append_val(s->sent, sent);
    echo->reported_errno = 0;
    return 0;
}

void gd_mp_echo_drain(GdMpEcho *echo)
{
    /* An answer may change what is watched, and close sockets: by index. */
    for (guint i = 0; i < echo->socks->len; i++) {
        Sock *s = echo->socks->pdata[i];
        readable_cb(s->fd, G_IO_IN, s);
    }
}

void gd_mp_echo_keep(GdMpEcho *echo, const int *ifindexes, guint n)
{
    for (guint i = echo->socks->len; i-- > 0;) {
        Sock *s = echo->socks->pdata[i];
        gboolean keep = FALSE;
        for (guint k = 0; k < n && !keep; k++)
            keep = ifindexes[k] == s->ifindex;
        if (!keep)
            g_ptr_array_remove_index_fast(echo->socks, i);
    }
}

GdMpEcho *gd_mp_echo_new(GdMpEchoAnsweredFunc answered, gpointer user_data)
{
    GdMpEcho *echo = g_new0(GdMpEcho, 1);
    echo->answered = answered;
    echo->user_data = user_data;
    echo->socks = g_ptr_array_new_with_free_func(sock_free);
    return echo;
}

void gd_mp_echo_free(GdMpEcho *echo)
{
    if (!echo)
        return;
    g_ptr_array_unref(echo->socks);
    g_free(echo);
}
