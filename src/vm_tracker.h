/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "vm_match.h"

/* Keeps the set of VM processes current. With process events it reads /proc
 * only for processes that exec or rename themselves, plus a periodic full
 * rescan as a safety net; without them it rescans every sample. Either way
 * a sample's committed sum equals what a full scan would give then. */

struct vm_tracker;

struct vm_sample {
        uint64_t committed_kib;
        size_t n_vms;
};

struct vm_tracker_stats {
        uint64_t full_scans;
        uint64_t events;
        uint64_t identity_reads;
        uint64_t events_lost;
};

int vm_tracker_new(const struct vm_match *match, enum committed_metric metric,
                   enum vm_tracking tracking, uint64_t rescan_interval_usec,
                   struct vm_tracker **ret);
void vm_tracker_free(struct vm_tracker *t);

/* Why events are not used (-errno), or 0 when they are. */
int vm_tracker_events_error(const struct vm_tracker *t);
/* The event socket to watch for readability, or -1 in scan mode. */
int vm_tracker_events_fd(const struct vm_tracker *t);
/* Applies queued events; call when the fd is readable. */
int vm_tracker_process_events(struct vm_tracker *t);
/* Brings the set up to date at now_usec (CLOCK_MONOTONIC) and sums the
 * committed metric of its processes. */
int vm_tracker_sample(struct vm_tracker *t, uint64_t now_usec, struct vm_sample *ret);

/* Brings the set up to date without reading any metric (a full scan the
 * first time), so that the VMs are known before the first sample. */
int vm_tracker_refresh(struct vm_tracker *t, uint64_t now_usec);

/* The tracked PIDs, sorted; valid until the next call into the tracker. */
const pid_t *vm_tracker_pids(const struct vm_tracker *t, size_t *ret_n);
void vm_tracker_get_stats(const struct vm_tracker *t, struct vm_tracker_stats *ret);
