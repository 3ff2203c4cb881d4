/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "proc_events.h"

#include <errno.h>
#include <stddef.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define ACK_TIMEOUT_MS 1000
/* Bursts of forks (a parallel build on the host) can queue thousands of
 * events between two reads; a large buffer makes overflow, and the full
 * rescan it costs, rare. */
#define RCVBUF_BYTES (4 * 1024 * 1024)

static int send_mcast_op(int fd, enum proc_cn_mcast_op op)
{
        struct {
                struct nlmsghdr nl;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) msg;
        struct sockaddr_nl to = {.nl_family = AF_NETLINK};

        memset(&msg, 0, sizeof(msg));
        msg.nl.nlmsg_len = sizeof(msg);
        msg.nl.nlmsg_type = NLMSG_DONE;
        msg.nl.nlmsg_pid = 0;
        msg.cn.id.idx = CN_IDX_PROC;
        msg.cn.id.val = CN_VAL_PROC;
        msg.cn.len = sizeof(op);
        msg.op = op;
        if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
                return -errno;
        return 0;
}

static int decode_message(const void *data, size_t len, struct process_event *ev, int *ack_err)
{
        const struct cn_msg *cn = data;
        struct proc_event aligned;
        const struct proc_event *k = &aligned;
        size_t head = offsetof(struct proc_event, event_data);

        if (len < sizeof(*cn) || cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC)
                return 0;
        if (cn->len < head || len - sizeof(*cn) < cn->len)
                return 0;
        /* The event follows the 20-byte cn_msg header, so its 64-bit
         * timestamp is misaligned in the datagram: copy it out first. */
        memset(&aligned, 0, sizeof(aligned));
        memcpy(&aligned, cn->data, cn->len < sizeof(aligned) ? cn->len : sizeof(aligned));

        switch (k->what) {
        case PROC_EVENT_NONE:
                if (cn->len < head + sizeof(k->event_data.ack))
                        return 0;
                *ack_err = (int)k->event_data.ack.err;
                return -1;
        case PROC_EVENT_FORK:
                if (cn->len < head + sizeof(k->event_data.fork))
                        return 0;
                *ev = (struct process_event){PROC_EVENT_KIND_FORK, k->event_data.fork.child_pid,
                                             k->event_data.fork.child_tgid,
                                             k->event_data.fork.parent_tgid};
                return 1;
        case PROC_EVENT_EXEC:
                if (cn->len < head + sizeof(k->event_data.exec))
                        return 0;
                *ev = (struct process_event){PROC_EVENT_KIND_EXEC, k->event_data.exec.process_pid,
                                             k->event_data.exec.process_tgid, 0};
                return 1;
        case PROC_EVENT_COMM:
                if (cn->len < head + 2 * sizeof(int32_t))
                        return 0;
                *ev = (struct process_event){PROC_EVENT_KIND_COMM, k->event_data.comm.process_pid,
                                             k->event_data.comm.process_tgid, 0};
                return 1;
        case PROC_EVENT_EXIT:
                if (cn->len < head + 2 * sizeof(int32_t))
                        return 0;
                *ev = (struct process_event){PROC_EVENT_KIND_EXIT, k->event_data.exit.process_pid,
                                             k->event_data.exit.process_tgid, 0};
                return 1;
        default: return 0;
        }
}

/* Walks the netlink messages of one datagram. */
static int dispatch(const char *buf, size_t len, process_event_fn fn, void *userdata, int *ack_err,
                    int *got_ack)
{
        for (const struct nlmsghdr *nl = (const void *)buf; NLMSG_OK(nl, len);
             nl = NLMSG_NEXT(nl, len)) {
                struct process_event ev;
                int r;

                if (nl->nlmsg_type == NLMSG_NOOP)
                        continue;
                if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_OVERRUN)
                        return -ENOBUFS;
                r = decode_message(NLMSG_DATA(nl), NLMSG_PAYLOAD(nl, 0), &ev, ack_err);
                if (r < 0 && got_ack)
                        *got_ack = 1;
                else if (r > 0 && fn)
                        fn(userdata, &ev);
        }
        return 0;
}

/* Offsets into one datagram: nlmsghdr, cn_msg, then struct proc_event. */
#define EV_OFF  (NLMSG_HDRLEN + sizeof(struct cn_msg))
#define EV_WHAT (EV_OFF + offsetof(struct proc_event, what))

/* Lets through only what the tracker uses: process forks (not threads),
 * execs, and renames and exits of thread-group leaders, plus the
 * subscription's acknowledgement. On a host that starts many threads this
 * keeps most events from ever waking us. Classic BPF loads on netlink read
 * big-endian, so constants are compared in network order; comparing two
 * loaded fields needs no conversion. */
static int attach_filter(int fd)
{
        const uint32_t pid_off = offsetof(struct proc_event, event_data.exec.process_pid);
        const uint32_t tgid_off = offsetof(struct proc_event, event_data.exec.process_tgid);
        const uint32_t child_pid_off = offsetof(struct proc_event, event_data.fork.child_pid);
        const uint32_t child_tgid_off = offsetof(struct proc_event, event_data.fork.child_tgid);
        struct sock_filter code[] = {
                /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_WHAT),
                /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_FORK), 5, 0),  /* -> 7
                                                                                             */
                /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXEC), 13, 0), /* -> 16
                                                                                             */
                /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_COMM), 7, 0),  /* -> 11
                                                                                             */
                /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 6, 0),  /* -> 11
                                                                                             */
                /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_NONE), 10, 0), /* -> 16
                                                                                             */
                /* 6 */ BPF_STMT(BPF_RET | BPF_K, 0),
                /* fork: keep when child_pid == child_tgid (a process, not a thread) */
                /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_OFF + child_pid_off),
                /* 8 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
                /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_OFF + child_tgid_off),
                /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 5, 4), /* -> 16 : 15 */
                /* comm, exit: keep when process_pid == process_tgid (the leader) */
                /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_OFF + pid_off),
                /* 12 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
                /* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_OFF + tgid_off),
                /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 0), /* -> 16 : 15 */
                /* 15 */ BPF_STMT(BPF_RET | BPF_K, 0),
                /* 16 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        };
        struct sock_fprog prog = {.len = ELEMENTSOF(code), .filter = code};

        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
                return -errno;
        return 0;
}

int proc_events_open(void)
{
        struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
        int fd, r, rcvbuf = RCVBUF_BYTES, ack_err = 0, got_ack = 0;
        char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));

        fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (fd < 0)
                return -errno;
        addr.nl_pid = 0; /* let the kernel pick a unique port id */
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                r = -errno;
                goto fail;
        }
        /* SO_RCVBUFFORCE needs CAP_NET_ADMIN, which we need anyway; fall back quietly. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

        /* Without the filter we only do more work, never wrong work. */
        (void)attach_filter(fd);

        r = send_mcast_op(fd, PROC_CN_MCAST_LISTEN);
        if (r < 0)
                goto fail;

        /* The kernel answers the subscription with an acknowledgement whose
         * error tells whether we may listen (EPERM without CAP_NET_ADMIN). */
        for (int waited = 0; !got_ack && waited < ACK_TIMEOUT_MS;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t n;

                r = poll(&p, 1, 100);
                if (r < 0 && errno != EINTR) {
                        r = -errno;
                        goto fail;
                }
                if (r <= 0) {
                        waited += 100;
                        continue;
                }
                n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        if (errno == ENOBUFS)
                                continue;
                        r = -errno;
                        goto fail;
                }
                (void)dispatch(buf, (size_t)n, NULL, NULL, &ack_err, &got_ack);
        }
        if (!got_ack) {
                r = -ETIMEDOUT;
                goto fail;
        }
        if (ack_err != 0) {
                r = -ack_err;
                goto fail;
        }
        return fd;
fail:
        close(fd);
        return r;
}

int proc_events_drain(int fd, process_event_fn fn, void *userdata)
{
        char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
        int lost = 0, ack_err;

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                lost = 1;
                                continue;
                        }
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (n == 0)
                        break;
                if (dispatch(buf, (size_t)n, fn, userdata, &ack_err, NULL) < 0)
                        lost = 1;
        }
        return lost ? -ENOBUFS : 0;
}

void proc_events_close(int fd)
{
        if (fd < 0)
                return;
        /* The kernel counts listeners globally and keeps generating events
         * while the count is non-zero; say goodbye explicitly. */
        (void)send_mcast_op(fd, PROC_CN_MCAST_IGNORE);
        close(fd);
}
