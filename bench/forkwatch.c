/* forkwatch: count the processes, threads and execs created by a process
 * tree, using the kernel proc connector (needs root).
 *
 * usage: forkwatch READY_FILE ROOT_PID...
 *        forkwatch READY_FILE all
 *
 * Subscribes to process events, then writes "ready\n" to READY_FILE. From
 * then on it follows the tree under the ROOT_PIDs: a fork event whose parent
 * process is in the tree adds the child to it. On SIGTERM or SIGINT it
 * prints one line and exits 0:
 *
 *   forks=F threads=T execs=E overflows=O
 *
 * F counts new processes (clone/fork/vfork/posix_spawn), T new threads, E
 * execve calls, all by members of the tree ("all": by any process on the
 * host). O > 0 means the kernel dropped events (socket buffer overrun), so
 * the counts may be low.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static uint8_t *tree; /* bitmap over tgids */
static long pid_max;
static int everyone;

static void on_stop(int sig)
{
        (void)sig;
        stop = 1;
}

static int in_tree(long pid)
{
        return everyone || (pid > 0 && pid <= pid_max && ((tree[pid / 8] >> (pid % 8)) & 1));
}

static void add(long pid)
{
        if (pid > 0 && pid <= pid_max)
                tree[pid / 8] |= (uint8_t)(1u << (pid % 8));
}

int main(int argc, char **argv)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
        struct {
                struct nlmsghdr nl;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) req;
        unsigned long forks = 0, threads = 0, execs = 0, overflows = 0;
        struct sigaction act;
        int fd, rcvbuf = 8 << 20;
        FILE *f;

        if (argc < 3) {
                fprintf(stderr, "usage: forkwatch READY_FILE ROOT_PID... | all\n");
                return 2;
        }
        f = fopen("/proc/sys/kernel/pid_max", "r");
        if (!f || fscanf(f, "%ld", &pid_max) != 1)
                pid_max = 4194304;
        if (f)
                fclose(f);
        tree = calloc((size_t)pid_max / 8 + 1, 1);
        if (!tree)
                return 1;
        everyone = strcmp(argv[2], "all") == 0;
        for (int i = 2; i < argc && !everyone; i++)
                add(strtol(argv[i], NULL, 10));

        memset(&act, 0, sizeof(act));
        act.sa_handler = on_stop; /* no SA_RESTART: recv() returns EINTR */
        sigaction(SIGTERM, &act, NULL);
        sigaction(SIGINT, &act, NULL);

        fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "forkwatch: proc connector: %s\n", strerror(errno));
                return 1;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
        memset(&req, 0, sizeof(req));
        req.nl.nlmsg_len = sizeof(req);
        req.nl.nlmsg_type = NLMSG_DONE;
        req.cn.id.idx = CN_IDX_PROC;
        req.cn.id.val = CN_VAL_PROC;
        req.cn.len = sizeof(req.op);
        req.op = PROC_CN_MCAST_LISTEN;
        if (send(fd, &req, sizeof(req), 0) < 0) {
                fprintf(stderr, "forkwatch: subscribe: %s\n", strerror(errno));
                return 1;
        }

        f = fopen(argv[1], "w");
        if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "forkwatch: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }

        for (int draining = 0;;) {
                char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
                ssize_t len;
                struct nlmsghdr *nl;

                /* once told to stop, read what is already queued, then quit */
                if (stop && !draining)
                        draining = 1;
                len = recv(fd, buf, sizeof(buf), draining ? MSG_DONTWAIT : 0);
                if (len < 0) {
                        if (errno == ENOBUFS)
                                overflows++;
                        else if (errno == EAGAIN && draining)
                                break;
                        else if (errno != EINTR) {
                                fprintf(stderr, "forkwatch: recv: %s\n", strerror(errno));
                                return 1;
                        }
                        continue;
                }
                for (nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)len);
                     nl = NLMSG_NEXT(nl, len)) {
                        const struct cn_msg *cn = NLMSG_DATA(nl);
                        const struct proc_event *ev = (const void *)cn->data;

                        if (nl->nlmsg_type != NLMSG_DONE || cn->id.idx != CN_IDX_PROC)
                                continue;
                        if (ev->what == PROC_EVENT_FORK) {
                                if (!in_tree(ev->event_data.fork.parent_tgid))
                                        continue;
                                if (ev->event_data.fork.child_pid ==
                                    ev->event_data.fork.child_tgid) {
                                        forks++;
                                        add(ev->event_data.fork.child_tgid);
                                } else
                                        threads++;
                        } else if (ev->what == PROC_EVENT_EXEC) {
                                if (in_tree(ev->event_data.exec.process_tgid))
                                        execs++;
                        }
                }
        }
        printf("forks=%lu threads=%lu execs=%lu overflows=%lu\n", forks, threads, execs, overflows);
        return 0;
}
