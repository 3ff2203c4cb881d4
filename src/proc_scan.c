/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "proc_scan.h"

#include <errno.h>
#include <libproc2/pids.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* PIDS_VAL() changed arity in procps 4.0.5; index the result array ourselves. */
#define ITEM(stack, i) ((stack)->head[(i)].result)

/* libproc2 refuses selections larger than this in one call. */
#define SELECT_BATCH 255

enum { ID_PID, ID_CMD, ID_CMDLINE };
enum { M_PID, M_VALUE };

struct proc_scan {
        enum pids_item identity_items[3];
        int n_identity_items;
        struct pids_info *identity; /* for single-process checks */
        struct pids_info *metric;
};

static enum pids_item metric_item(enum committed_metric m)
{
        switch (m) {
        case METRIC_PSS: return PIDS_SMAP_PSS;
        case METRIC_VSZ: return PIDS_VM_SIZE;
        case METRIC_RSS:
        default: return PIDS_VM_RSS; /* what ps -o rsz prints */
        }
}

int proc_scan_new(enum committed_metric metric, bool want_cmdline, struct proc_scan **ret)
{
        enum pids_item metric_items[2] = {PIDS_ID_PID, metric_item(metric)};
        struct proc_scan *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->identity_items[0] = PIDS_ID_PID;
        s->identity_items[1] = PIDS_CMD;
        s->identity_items[2] = PIDS_CMDLINE;
        s->n_identity_items = want_cmdline ? 3 : 2;

        r = procps_pids_new(&s->identity, s->identity_items, s->n_identity_items);
        if (r >= 0)
                r = procps_pids_new(&s->metric, metric_items, 2);
        if (r < 0) {
                proc_scan_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void proc_scan_free(struct proc_scan *s)
{
        if (!s)
                return;
        if (s->identity)
                procps_pids_unref(&s->identity);
        if (s->metric)
                procps_pids_unref(&s->metric);
        free(s);
}

static void emit_identity(const struct proc_scan *s, struct pids_stack *st, proc_identity_fn fn,
                          void *userdata)
{
        struct proc_identity p = {
                .pid = ITEM(st, ID_PID).s_int,
                .comm = ITEM(st, ID_CMD).str,
                .cmdline = s->n_identity_items > 2 ? ITEM(st, ID_CMDLINE).str : NULL,
        };
        fn(userdata, &p);
}

int proc_scan_all(struct proc_scan *s, proc_identity_fn fn, void *userdata)
{
        struct pids_info *walk = NULL;
        struct pids_stack *st;
        int r;

        /* A fresh context per walk: procps_pids_get() streams one process at a
         * time (no table of every process in memory) but cannot be rewound. */
        r = procps_pids_new(&walk, s->identity_items, s->n_identity_items);
        if (r < 0)
                return r;
        errno = 0;
        while ((st = procps_pids_get(walk, PIDS_FETCH_TASKS_ONLY)))
                emit_identity(s, st, fn, userdata);
        r = errno == ENOMEM ? -ENOMEM : 0;
        procps_pids_unref(&walk);
        return r;
}

/* True for the bytes libproc2 passes through unchanged when it renders comm
 * and cmdline (anything else it may escape). */
static bool plain_text(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
                        return false;
        return n > 0;
}

static int read_small(pid_t pid, const char *name, char *buf, size_t size, size_t *ret_len)
{
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
        return read_file_bounded(path, buf, size, ret_len);
}

int proc_scan_one_direct(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata)
{
        char comm[64], cmdline[4096];
        size_t comm_len, cmd_len = 0;
        int r;

        r = read_small(pid, "comm", comm, sizeof(comm), &comm_len);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        if (comm_len > 0 && comm[comm_len - 1] == '\n')
                comm[--comm_len] = '\0';
        if (!plain_text(comm, comm_len))
                return -EAGAIN;

        if (s->n_identity_items > 2) {
                r = read_small(pid, "cmdline", cmdline, sizeof(cmdline), &cmd_len);
                if (r == -EFBIG)
                        return -EAGAIN;
                if (r < 0)
                        return r == -ENOENT ? -ESRCH : r;
                /* Arguments are NUL-terminated; joined by spaces as pgrep -f
                 * and libproc2 join them. An empty command line (a zombie)
                 * is rendered specially by libproc2: leave it to it. */
                if (cmd_len == 0 || cmdline[cmd_len - 1] != '\0')
                        return -EAGAIN;
                cmd_len--;
                for (size_t i = 0; i < cmd_len; i++)
                        if (cmdline[i] == '\0')
                                cmdline[i] = ' ';
                if (!plain_text(cmdline, cmd_len))
                        return -EAGAIN;
        }

        fn(userdata, &(struct proc_identity){
                             .pid = pid,
                             .comm = comm,
                             .cmdline = s->n_identity_items > 2 ? cmdline : NULL,
                     });
        return 0;
}

int proc_scan_identify(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata)
{
        /* Two small reads instead of libproc2's five or so files per process:
         * this runs for every exec on the host. */
        int r = proc_scan_one_direct(s, pid, fn, userdata);

        if (r == -EAGAIN)
                r = proc_scan_one(s, pid, fn, userdata);
        return r;
}

int proc_scan_one(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata)
{
        unsigned id = (unsigned)pid;
        struct pids_fetch *f;

        f = procps_pids_select(s->identity, &id, 1, PIDS_SELECT_PID);
        if (!f)
                return errno > 0 ? -errno : -EIO;
        if (f->counts->total < 1)
                return -ESRCH;
        emit_identity(s, f->stacks[0], fn, userdata);
        return 0;
}

int proc_scan_metric(struct proc_scan *s, const pid_t *pids, size_t n, proc_metric_fn fn,
                     void *userdata)
{
        unsigned batch[SELECT_BATCH];

        for (size_t off = 0; off < n; off += SELECT_BATCH) {
                size_t len = n - off < SELECT_BATCH ? n - off : SELECT_BATCH;
                struct pids_fetch *f;

                for (size_t i = 0; i < len; i++)
                        batch[i] = (unsigned)pids[off + i];
                f = procps_pids_select(s->metric, batch, (int)len, PIDS_SELECT_PID);
                if (!f)
                        return errno > 0 ? -errno : -EIO;
                for (int i = 0; i < f->counts->total; i++)
                        fn(userdata, ITEM(f->stacks[i], M_PID).s_int,
                           ITEM(f->stacks[i], M_VALUE).ul_int);
        }
        return 0;
}
