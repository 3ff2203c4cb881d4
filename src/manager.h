/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "coordination.h"
#include "guest.h"
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

#define INHIBIT_RETUNE   1u
#define INHIBIT_MERGE    2u
#define INHIBITORS_MAX   64
#define INHIBIT_TEXT_MAX 256

/* A hold taken with Inhibit(): lasts while the caller keeps its end of
 * the pipe open, or until dbus.inhibit_max_sec. */
struct inhibitor {
        struct manager *manager;
        unsigned what;
        char who[INHIBIT_TEXT_MAX];
        char why[INHIBIT_TEXT_MAX];
        uint32_t pid, uid;
        uint64_t since_usec; /* CLOCK_REALTIME */
        int fd;              /* our read end */
        sd_event_source *hup;
        sd_event_source *expire;
};

struct guest {
        pid_t pid;
        struct guest_identity ident;
        char *path;
        uint64_t balloon_target_bytes;
        uint64_t balloon_actual_bytes;
        bool seen;
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

        /* Coordination state published on the bus. */
        struct coord_state coord;
        struct coord_result coord_result;
        bool external_write;
        bool have_written;
        uint64_t written_run, written_pages_to_scan, written_sleep_millisecs;
        uint64_t saved_bytes_prev, saved_usec_prev, saved_bytes_rate;
        pid_t ksmd_pid;
        uint64_t ksmd_ns_prev, ksmd_usec_prev;
        double ksmd_cpu_percent;
        uint64_t page_size;

        /* D-Bus */
        sd_bus *bus;
        sd_event_source *bus_retry;
        uint64_t bus_retry_usec; /* the next retry's delay; 0: the first */
        bool bus_warned;
        struct inhibitor *inhibitors[INHIBITORS_MAX];
        size_t n_inhibitors;
        struct guest *guests;
        size_t n_guests;
        sd_event_source *retune_timer;
        uint64_t last_retune_usec;
        uint64_t tunables_generation;
        struct {
                uint64_t run, pages_to_scan, sleep_millisecs, tunables_generation;
                int state, pressure;
                unsigned inhibited;
                bool valid;
        } emitted;
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

/* Union of the active holds (INHIBIT_*), and as "retune:merge" text. */
unsigned manager_held(const struct manager *m);
const char *manager_held_text(unsigned what);
/* Adjusts soon: after delay_usec, and never closer than the retune spacing
 * to the previous adjustment. Coalesces repeated requests. */
int manager_request_retune(struct manager *m, uint64_t delay_usec);
/* Applies a validated configuration change made at run time (SetTunables). */
void manager_config_changed(struct manager *m, uint64_t old_interval_usec);
/* A hold was taken: State=held at once, and run=0 now for a merge hold. */
void manager_apply_hold(struct manager *m, unsigned what);
/* The last hold ended. */
void manager_hold_released(struct manager *m);
struct coord_settings manager_coord_settings(const struct manager *m);
/* Pressure from these memory figures and the running configuration; the
 * headroom (free minus threshold, kB) too when asked for. */
struct meminfo;
enum pressure manager_pressure_now(const struct manager *m, const struct meminfo *mi,
                                   int64_t *ret_headroom_kib);
