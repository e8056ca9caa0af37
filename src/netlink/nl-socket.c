/* SPDX-License-Identifier: LGPL-2.1-or-later
 * NETLINK_ROUTE sockets: options, draining, batched requests, dumps. */
#include "nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Larger than any datagram the kernel builds for a dump or an event. */
#define RECV_BUFFER_SIZE  (64 * 1024)
#define DUMP_MAX_RESTARTS 16

struct GdNlSocket {
    struct mnl_socket *mnl;
    uint32_t portid;
    uint32_t next_seq;
    int sndbuf;
    uint8_t *buffer;
};

void gd_nl_ack_clear(GdNlAck *ack)
{
    g_clear_pointer(&ack->extack, g_free);
    ack->error = 0;
}

static int set_int_option(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return -errno;
    return 0;
}

static int force_buffer(int fd, int force_opt, int plain_opt, int bytes)
{
    /* FORCE needs CAP_NET_ADMIN and ignores the rmem_max/wmem_max sysctls. */
    if (set_int_option(fd, SOL_SOCKET, force_opt, bytes) == 0)
        return 0;
    return set_int_option(fd, SOL_SOCKET, plain_opt, bytes);
}

int gd_nl_socket_set_rcvbuf(GdNlSocket *sock, int bytes)
{
    return force_buffer(mnl_socket_get_fd(sock->mnl), SO_RCVBUFFORCE, SO_RCVBUF, bytes);
}

int gd_nl_socket_open(const unsigned *groups, size_t n_groups, int rcvbuf, int sndbuf,
                      GdNlSocket **out)
{
    return gd_nl_socket_open_protocol(NETLINK_ROUTE, groups, n_groups, rcvbuf, sndbuf, out);
}

int gd_nl_socket_open_protocol(int protocol, const unsigned *groups, size_t n_groups, int rcvbuf,
                               int sndbuf, GdNlSocket **out)
{
    g_autofree GdNlSocket *sock = g_new0(GdNlSocket, 1);
    int r;

    sock->mnl = mnl_socket_open2(protocol, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!sock->mnl)
        return -errno;
    int fd = mnl_socket_get_fd(sock->mnl);

    if (mnl_socket_bind(sock->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
        r = -errno;
        goto fail;
    }
    /* Extended acks carry the kernel's reason; strict checking makes dump
     * filters an error rather than silently ignored; capped acks keep a
     * batch of thousands of acks small. */
    const int options[] = {NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK};
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        r = set_int_option(fd, SOL_NETLINK, options[i], 1);
        if (r < 0)
            goto fail;
    }
    for (size_t i = 0; i < n_groups; i++) {
        r = set_int_option(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, (int)groups[i]);
        if (r < 0)
            goto fail;
    }
    if (rcvbuf > 0 && (r = force_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf)) < 0)
        goto fail;
    if (sndbuf > 0 && (r = force_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf)) < 0)
        goto fail;
    sock->sndbuf = sndbuf;
    sock->portid = mnl_socket_get_portid(sock->mnl);
    sock->next_seq = (uint32_t)time(NULL);
    sock->buffer = g_malloc(RECV_BUFFER_SIZE);
    *out = g_steal_pointer(&sock);
    return 0;

fail:
    mnl_socket_close(sock->mnl);
    return r;
}

void gd_nl_socket_close(GdNlSocket *sock)
{
    if (!sock)
        return;
    mnl_socket_close(sock->mnl);
    g_free(sock->buffer);
    g_free(sock);
}

int gd_nl_socket_fd(GdNlSocket *sock)
{
    return mnl_socket_get_fd(sock->mnl);
}

uint32_t gd_nl_socket_reserve_seq(GdNlSocket *sock, uint32_t n)
{
    uint32_t first = sock->next_seq;
    sock->next_seq += n;
    /* 0 is what the kernel uses for unsolicited messages. */
    if (first == 0 || first + n < first) {
        first = 1;
        sock->next_seq = 1 + n;
    }
    return first;
}

/* One datagram: >0 bytes, 0 nothing queued (non-blocking), <0 errno. */
static ssize_t receive(GdNlSocket *sock)
{
    for (;;) {
        ssize_t n = recv(gd_nl_socket_fd(sock), sock->buffer, RECV_BUFFER_SIZE, MSG_TRUNC);
        if (n >= 0) {
            if (n > RECV_BUFFER_SIZE)
                return -EMSGSIZE;
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

static int wait_readable(GdNlSocket *sock, int timeout_ms)
{
    struct pollfd pfd = {.fd = gd_nl_socket_fd(sock), .events = POLLIN};
    for (;;) {
        int r = poll(&pfd, 1, timeout_ms);
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int gd_nl_socket_drain(GdNlSocket *sock, guint max_datagrams, GdNlMessageFunc func,
                       gpointer user_data)
{
    bool overrun = false;
    for (guint count = 0;; count++) {
        if (max_datagrams > 0 && count >= max_datagrams && !overrun)
            return 1;
        ssize_t n = receive(sock);
        if (n == 0)
            break;
        if (n == -ENOBUFS) {
            overrun = true;
            continue;
        }
        if (n < 0)
            return (int)n;
        int left = (int)n;
        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)sock->buffer;
             mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
            func(nlh, user_data);
    }
    return overrun ? -ENOBUFS : 0;
}

static int ensure_sndbuf(GdNlSocket *sock, size_t len)
{
    /* The kernel refuses a sendmsg() larger than the socket's send buffer. */
    if (len + 4096 <= (size_t)sock->sndbuf || len > INT32_MAX / 2)
        return len > INT32_MAX / 2 ? -EMSGSIZE : 0;
    int want = (int)len + 65536;
    int r = force_buffer(gd_nl_socket_fd(sock), SO_SNDBUFFORCE, SO_SNDBUF, want);
    if (r == 0)
        sock->sndbuf = want;
    return r;
}

void gd_nl_answers_init(GdNlAnswers *answers, uint32_t portid, uint32_t first_seq, guint n,
                        GdNlAck *acks)
{
    *answers = (GdNlAnswers){.portid = portid, .first_seq = first_seq, .n = n, .acks = acks};
    for (guint i = 0; i < n; i++) {
        acks[i].error = -ETIMEDOUT;
        acks[i].extack = NULL;
    }
}

void gd_nl_answers_expect_final(GdNlAnswers *answers, uint32_t final_seq)
{
    answers->final_only = true;
    answers->final_seq = final_seq;
}

void gd_nl_answers_file(GdNlAnswers *answers, const void *datagram, size_t len)
{
    int left = (int)MIN(len, (size_t)INT_MAX);
    for (const struct nlmsghdr *nlh = datagram; mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
        uint32_t slot = nlh->nlmsg_seq - answers->first_seq;
        if (nlh->nlmsg_pid != answers->portid || slot >= answers->n)
            continue; /* a late answer to an earlier, abandoned request */
        if (nlh->nlmsg_type != NLMSG_ERROR) {
            if (answers->on_reply)
                answers->on_reply(nlh, answers->user_data);
            continue;
        }
        const char *extack = NULL;
        int error = -EPROTO;
        gd_nl_parse_status(nlh, &error, &extack);
        GdNlAck *ack = &answers->acks[slot];
        if (ack->error == -ETIMEDOUT)
            answers->received++;
        g_free(ack->extack);
        ack->error = error;
        ack->extack = extack ? g_strdup(extack) : NULL;
        if (answers->final_only && nlh->nlmsg_seq == answers->final_seq)
            answers->final_read = true;
    }
}

bool gd_nl_answers_complete(GdNlAnswers *answers)
{
    if (!answers->final_only)
        return answers->received >= answers->n;
    if (!answers->final_read)
        return false;
    /* The kernel handled the requests in order and answered each refusal
     * before the final ack: the requests without an answer succeeded. */
    for (guint i = 0; i < answers->n; i++)
        if (answers->acks[i].error == -ETIMEDOUT)
            answers->acks[i].error = 0;
    return true;
}

void gd_nl_answers_lost(GdNlAnswers *answers, int error)
{
    if (error != -ENOBUFS)
        return;
    for (guint i = 0; i < answers->n; i++)
        if (answers->acks[i].error == -ETIMEDOUT)
            answers->acks[i].error = -ENOBUFS;
}

/* Sends buf and reads the answers until they are complete. */
static int transact(GdNlSocket *sock, const void *buf, size_t len, GdNlAnswers *answers,
                    int timeout_ms)
{
    int r = ensure_sndbuf(sock, len);
    if (r < 0)
        return r;
    /* The kernel runs every request of the buffer inside this one call. */
    if (mnl_socket_sendto(sock->mnl, buf, len) < 0)
        return -errno;

    bool overrun = false;
    while (!gd_nl_answers_complete(answers)) {
        ssize_t got = receive(sock);
        if (got == 0) {
            /* Overrun: the answers still queued are read (which also lets
             * the kernel report the next overrun: it reports none while
             * the queue is not empty); the rest were dropped. */
            if (overrun) {
                r = -ENOBUFS;
                goto lost;
            }
            r = wait_readable(sock, timeout_ms);
            if (r < 0)
                goto lost;
            continue;
        }
        if (got == -ENOBUFS) {
            overrun = true;
            continue;
        }
        if (got < 0) {
            r = (int)got;
            goto lost;
        }
        gd_nl_answers_file(answers, sock->buffer, (size_t)got);
    }
    return 0;

lost:
    gd_nl_answers_lost(answers, r);
    return r;
}

int gd_nl_transact(GdNlSocket *sock, const void *buf, size_t len, uint32_t first_seq, guint n,
                   GdNlAck *acks, GdNlMessageFunc on_reply, gpointer user_data, int timeout_ms)
{
    GdNlAnswers answers;
    gd_nl_answers_init(&answers, sock->portid, first_seq, n, acks);
    answers.on_reply = on_reply;
    answers.user_data = user_data;
    return transact(sock, buf, len, &answers, timeout_ms);
}

int gd_nl_transact_final_ack(GdNlSocket *sock, const void *buf, size_t len, uint32_t first_seq,
                             guint n, uint32_t final_seq, GdNlAck *acks, int timeout_ms)
{
    if (final_seq - first_seq >= n)
        return -EINVAL;
    GdNlAnswers answers;
    gd_nl_answers_init(&answers, sock->portid, first_seq, n, acks);
    gd_nl_answers_expect_final(&answers, final_seq);
    return transact(sock, buf, len, &answers, timeout_ms);
}

int gd_nl_dump(GdNlSocket *sock, struct nlmsghdr *request, GdNlMessageFunc func,
               void (*on_restart)(gpointer user_data), gpointer user_data, char **extack)
{
    for (int attempt = 0; attempt < DUMP_MAX_RESTARTS; attempt++) {
        bool interrupted = false;
        bool done = false;
        int r;

        request->nlmsg_seq = gd_nl_socket_reserve_seq(sock, 1);
        if (attempt > 0 && on_restart)
            on_restart(user_data);
        if (mnl_socket_sendto(sock->mnl, request, request->nlmsg_len) < 0)
            return -errno;
        while (!done) {
            ssize_t got = receive(sock);
            if (got == 0) {
                r = wait_readable(sock, 30000);
                if (r < 0)
                    return r;
                continue;
            }
            if (got < 0)
                return (int)got;
            int left = (int)got;
            for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)sock->buffer;
                 mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                if (nlh->nlmsg_seq != request->nlmsg_seq || nlh->nlmsg_pid != sock->portid)
                    continue;
                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                    interrupted = true;
                if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
                    int error = 0;
                    const char *text = NULL;
                    gd_nl_parse_status(nlh, &error, &text);
                    if (error < 0) {
                        if (extack)
                            *extack = g_strdup(text);
                        return error;
                    }
                    done = true;
                    break;
                }
                func(nlh, user_data);
            }
        }
        if (!interrupted)
            return 0;
        g_debug("dump seq %u was interrupted by a change; dumping again", request->nlmsg_seq);
    }
    return -EAGAIN;
}
