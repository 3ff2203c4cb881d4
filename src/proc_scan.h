/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* The only module that talks to libproc2. libproc2 always reads the real
 * /proc, so this is the seam tests replace, not a path. */

struct proc_identity {
        pid_t pid;
        const char *comm;    /* stat comm, at most 15 characters */
        const char *cmdline; /* arguments joined by spaces; NULL unless asked for */
};

typedef void (*proc_identity_fn)(void *userdata, const struct proc_identity *p);
typedef void (*proc_metric_fn)(void *userdata, pid_t pid, uint64_t value_kib);

struct proc_scan;

int proc_scan_new(enum committed_metric metric, bool want_cmdline, struct proc_scan **ret);
void proc_scan_free(struct proc_scan *s);

/* Every process on the host (not threads). Processes that vanish while we
 * walk are skipped by libproc2. */
int proc_scan_all(struct proc_scan *s, proc_identity_fn fn, void *userdata);
/* One process through libproc2; -ESRCH when it is gone. */
int proc_scan_one(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata);
/* One process from /proc/<pid>/comm and cmdline read directly; -EAGAIN when
 * the text holds anything libproc2 might render differently (non-ASCII,
 * control characters, an empty or very long command line). */
int proc_scan_one_direct(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata);
/* The direct read, falling back to libproc2: the same answer either way. */
int proc_scan_identify(struct proc_scan *s, pid_t pid, proc_identity_fn fn, void *userdata);
/* The committed metric (kB) of each listed process still alive; vanished
 * ones are simply not reported. */
int proc_scan_metric(struct proc_scan *s, const pid_t *pids, size_t n, proc_metric_fn fn,
                     void *userdata);
