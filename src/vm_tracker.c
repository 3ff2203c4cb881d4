/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vm_tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc_events.h"
#include "proc_scan.h"
#include "util.h"

struct vm_tracker {
        const struct vm_match *match;
        struct proc_scan *scan;
        int events_fd;
        int events_error;
        bool need_full_scan;
        uint64_t rescan_interval_usec;
        uint64_t last_full_scan_usec;

        pid_t *pids; /* sorted, unique */
        size_t n_pids, cap_pids;

        /* scratch for a full scan: the new set is built aside, then swapped */
        pid_t *scan_pids;
        size_t n_scan_pids, cap_scan_pids;
        int scan_error;

        uint64_t metric_sum_kib;
        size_t metric_seen;
        pid_t *alive;
        size_t n_alive, cap_alive;

        struct vm_tracker_stats stats;
};

static int pid_push(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
        if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                pid_t *nv = realloc(*v, ncap * sizeof(pid_t));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = ncap;
        }
        (*v)[(*n)++] = pid;
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

static size_t pid_lower_bound(const struct vm_tracker *t, pid_t pid)
{
        size_t lo = 0, hi = t->n_pids;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->pids[mid] < pid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool tracked(const struct vm_tracker *t, pid_t pid)
{
        size_t i = pid_lower_bound(t, pid);
        return i < t->n_pids && t->pids[i] == pid;
}

static int track(struct vm_tracker *t, pid_t pid)
{
        size_t i = pid_lower_bound(t, pid);
        int r;

        if (i < t->n_pids && t->pids[i] == pid)
                return 0;
        r = pid_push(&t->pids, &t->n_pids, &t->cap_pids, pid);
        if (r < 0)
                return r;
        memmove(&t->pids[i + 1], &t->pids[i], (t->n_pids - 1 - i) * sizeof(pid_t));
        t->pids[i] = pid;
        return 0;
}

static void untrack(struct vm_tracker *t, pid_t pid)
{
        size_t i = pid_lower_bound(t, pid);

        if (i < t->n_pids && t->pids[i] == pid) {
                memmove(&t->pids[i], &t->pids[i + 1], (t->n_pids - 1 - i) * sizeof(pid_t));
                t->n_pids--;
        }
}

int vm_tracker_new(const struct vm_match *match, enum committed_metric metric,
                   enum vm_tracking tracking, uint64_t rescan_interval_usec,
                   struct vm_tracker **ret)
{
        struct vm_tracker *t;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->match = match;
        t->events_fd = -1;
        t->need_full_scan = true;
        t->rescan_interval_usec = rescan_interval_usec;

        r = proc_scan_new(metric, vm_match_needs_cmdline(match), &t->scan);
        if (r < 0) {
                free(t);
                return r;
        }
        if (tracking == VM_TRACKING_AUTO) {
                /* Subscribe before the first full scan so that nothing that
                 * happens during the scan is missed. */
                r = proc_events_open();
                if (r >= 0)
                        t->events_fd = r;
                else
                        t->events_error = r;
        } else
                t->events_error = -ECANCELED;
        *ret = t;
        return 0;
}

void vm_tracker_free(struct vm_tracker *t)
{
        if (!t)
                return;
        proc_events_close(t->events_fd);
        proc_scan_free(t->scan);
        free(t->pids);
        free(t->scan_pids);
        free(t->alive);
        free(t);
}

int vm_tracker_events_error(const struct vm_tracker *t)
{
        return t->events_error;
}

int vm_tracker_events_fd(const struct vm_tracker *t)
{
        return t->events_fd;
}

static void on_scanned(void *userdata, const struct proc_identity *p)
{
        struct vm_tracker *t = userdata;

        if (t->scan_error < 0)
                return;
        if (vm_match_process(t->match, p->comm, p->cmdline))
                t->scan_error = pid_push(&t->scan_pids, &t->n_scan_pids, &t->cap_scan_pids, p->pid);
}

static int full_scan(struct vm_tracker *t, uint64_t now)
{
        pid_t *swap_v;
        size_t swap_cap;
        int r;

        t->n_scan_pids = 0;
        t->scan_error = 0;
        r = proc_scan_all(t->scan, on_scanned, t);
        if (r >= 0)
                r = t->scan_error;
        if (r < 0)
                return r;
        if (t->n_scan_pids > 1)
                qsort(t->scan_pids, t->n_scan_pids, sizeof(pid_t), cmp_pid);

        swap_v = t->pids;
        swap_cap = t->cap_pids;
        t->pids = t->scan_pids;
        t->n_pids = t->n_scan_pids;
        t->cap_pids = t->cap_scan_pids;
        t->scan_pids = swap_v;
        t->cap_scan_pids = swap_cap;
        t->n_scan_pids = 0;

        t->need_full_scan = false;
        t->last_full_scan_usec = now;
        t->stats.full_scans++;
        return 0;
}

struct identity_result {
        const struct vm_match *match;
        bool matches;
};

static void on_identity(void *userdata, const struct proc_identity *p)
{
        struct identity_result *res = userdata;
        res->matches = vm_match_process(res->match, p->comm, p->cmdline);
}

/* Re-evaluates one process after exec or a rename. */
static void recheck(struct vm_tracker *t, pid_t tgid)
{
        struct identity_result res = {t->match, false};
        int r;

        t->stats.identity_reads++;
        r = proc_scan_identify(t->scan, tgid, on_identity, &res);
        if (r == -ESRCH || (r >= 0 && !res.matches)) {
                untrack(t, tgid);
                return;
        }
        if (r < 0 || track(t, tgid) < 0)
                t->need_full_scan = true; /* cannot tell: let a full scan decide */
}

static void on_event(void *userdata, const struct process_event *ev)
{
        struct vm_tracker *t = userdata;

        t->stats.events++;
        if (t->need_full_scan)
                return; /* the coming full scan supersedes individual events */

        switch (ev->kind) {
        case PROC_EVENT_KIND_FORK:
                /* A new process starts with its parent's comm and cmdline, so it
                 * matches exactly when the parent does; threads do not count. */
                if (ev->pid == ev->tgid && tracked(t, ev->parent_tgid) && track(t, ev->tgid) < 0)
                        t->need_full_scan = true;
                break;
        case PROC_EVENT_KIND_EXEC: recheck(t, ev->tgid); break;
        case PROC_EVENT_KIND_COMM:
                /* Only the group leader's name is the process's comm. */
                if (ev->pid == ev->tgid)
                        recheck(t, ev->tgid);
                break;
        case PROC_EVENT_KIND_EXIT:
                if (ev->pid == ev->tgid)
                        untrack(t, ev->tgid);
                break;
        }
}

int vm_tracker_process_events(struct vm_tracker *t)
{
        int r;

        if (t->events_fd < 0)
                return 0;
        r = proc_events_drain(t->events_fd, on_event, t);
        if (r == -ENOBUFS) {
                t->stats.events_lost++;
                t->need_full_scan = true;
                return 0;
        }
        return r;
}

static void on_metric(void *userdata, pid_t pid, uint64_t value_kib)
{
        struct vm_tracker *t = userdata;

        t->metric_sum_kib = add_sat_u64(t->metric_sum_kib, value_kib);
        t->metric_seen++;
        if (pid_push(&t->alive, &t->n_alive, &t->cap_alive, pid) < 0)
                t->need_full_scan = true;
}

int vm_tracker_sample(struct vm_tracker *t, uint64_t now_usec, struct vm_sample *ret)
{
        int r;

        r = vm_tracker_process_events(t);
        if (r < 0)
                t->need_full_scan = true;
        if (t->events_fd < 0 || now_usec - t->last_full_scan_usec >= t->rescan_interval_usec)
                t->need_full_scan = true;
        if (t->need_full_scan) {
                r = full_scan(t, now_usec);
                if (r < 0)
                        return r;
        }

        t->metric_sum_kib = 0;
        t->metric_seen = 0;
        t->n_alive = 0;
        r = proc_scan_metric(t->scan, t->pids, t->n_pids, on_metric, t);
        if (r < 0)
                return r;
        /* Processes that exited since the last event read are gone from the
         * metric read; drop them so the set stays what a scan would find. */
        if (t->n_alive != t->n_pids && !t->need_full_scan) {
                if (t->n_alive > 1)
                        qsort(t->alive, t->n_alive, sizeof(pid_t), cmp_pid);
                if (t->n_alive > 0)
                        memcpy(t->pids, t->alive, t->n_alive * sizeof(pid_t));
                t->n_pids = t->n_alive;
        }

        ret->committed_kib = t->metric_sum_kib;
        ret->n_vms = t->metric_seen;
        return 0;
}

int vm_tracker_refresh(struct vm_tracker *t, uint64_t now_usec)
{
        int r = vm_tracker_process_events(t);

        if (r < 0)
                t->need_full_scan = true;
        if (t->need_full_scan)
                return full_scan(t, now_usec);
        return 0;
}

const pid_t *vm_tracker_pids(const struct vm_tracker *t, size_t *ret_n)
{
        *ret_n = t->n_pids;
        return t->pids;
}

void vm_tracker_get_stats(const struct vm_tracker *t, struct vm_tracker_stats *ret)
{
        *ret = t->stats;
}
