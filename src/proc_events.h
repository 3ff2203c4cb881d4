/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

/* The kernel's process-event connector (CONFIG_PROC_EVENTS): fork, exec,
 * comm and exit notifications for every process, so VM processes can be
 * tracked without rereading /proc for every process each cycle. Needs
 * CAP_NET_ADMIN in the initial user and PID namespaces. */

enum proc_event_kind {
        PROC_EVENT_KIND_FORK,
        PROC_EVENT_KIND_EXEC,
        PROC_EVENT_KIND_COMM,
        PROC_EVENT_KIND_EXIT,
};

struct process_event {
        enum proc_event_kind kind;
        pid_t pid;         /* thread id */
        pid_t tgid;        /* process id */
        pid_t parent_tgid; /* FORK only */
};

typedef void (*process_event_fn)(void *userdata, const struct process_event *ev);

/* Opens, subscribes and waits for the kernel's acknowledgement. Returns the
 * socket (non-blocking) or -errno: -EPERM without CAP_NET_ADMIN,
 * -EPROTONOSUPPORT without the connector. */
int proc_events_open(void);
/* Reads everything queued. Returns -ENOBUFS when the kernel dropped events
 * (after delivering what it kept): the caller must rescan. */
int proc_events_drain(int fd, process_event_fn fn, void *userdata);
void proc_events_close(int fd);
