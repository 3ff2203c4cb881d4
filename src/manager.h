/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "ksm_sysfs.h"
#include "policy.h"
#include "vm_match.h"
#include "vm_tracker.h"

struct manager_options {
        const char *legacy_path;
        const char *settings_path;
        const char *sysfs_dir;
        const char *proc_dir;
        bool dry_run;
        bool force_debug; /* -d: debug regardless of DEBUG= */
};

/* A knob write that failed, remembered so that the same error is logged
 * once rather than every cycle. */
struct write_memo {
        int last_error; /* 0: the last write worked */
};

/* Everything the last cycle saw and did, for --once and for the bus later. */
struct cycle_report {
        bool valid;
        struct policy_sample sample;
        struct policy_decision decision;
        size_t n_vms;
        bool wrote_pages_to_scan;
        bool advisor_owns_pages_to_scan;
        int write_error; /* first failed write of the cycle, or 0 */
};

struct manager {
        sd_event *event;
        sd_event_source *tick;
        sd_event_source *events_io;

        struct manager_options opts;
        struct ksm_config config;
        struct vm_match *match; /* on the heap: the tracker points at it */
        struct vm_tracker *tracker;
        struct ksm_sysfs sysfs;

        struct legacy_params params;
        int64_t mem_total_kib; /* read at start-up and reload, as stock does */
        struct policy_state state;

        struct write_memo memo[3];
        int sample_error; /* last logged sampling error */
        bool advisor_owns_pages_to_scan;
        uint64_t cycles;
        struct cycle_report last;
};

/* Takes ownership of *config (zeroed on success). Opens sysfs and prepares
 * VM tracking; writes nothing. */
int manager_new(const struct manager_options *opts, struct ksm_config *config,
                struct manager **ret);
void manager_free(struct manager *m);

/* Builds the event loop: signals, the interval timer, the event socket. */
int manager_start(struct manager *m);
int manager_run(struct manager *m);

/* One sample + decision + writes, now. */
int manager_adjust(struct manager *m);
/* Re-reads both configuration files; on error keeps the running one. */
int manager_reload(struct manager *m);
