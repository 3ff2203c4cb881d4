/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "manager.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "ksmd.h"
#include "log.h"
#include "meminfo.h"
#include "util.h"

#define USEC_PER_SEC              1000000ULL
#define EVENTS_READ_INTERVAL_USEC (USEC_PER_SEC / 2)
/* Retune() and NotifyBalloon() never adjust more often than this. */
#define RETUNE_SPACING_USEC (USEC_PER_SEC / 2)

enum { KNOB_PAGES_TO_SCAN, KNOB_SLEEP_MILLISECS, KNOB_RUN };

static const enum ksm_file knob_files[3] = {KSM_PAGES_TO_SCAN, KSM_SLEEP_MILLISECS, KSM_RUN};

static void log_config_warning(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        log_warning("%s:%u: %s", file, line, msg);
}

static uint64_t interval_usec(const struct manager *m)
{
        return (uint64_t)m->config.monitor_interval_sec * USEC_PER_SEC;
}

static void params_from_config(const struct ksm_config *c, struct legacy_params *p)
{
        *p = (struct legacy_params){
                .sleep_msec = c->sleep_msec,
                .npages_boost = c->npages_boost,
                .npages_decay = c->npages_decay,
                .npages_min = c->npages_min,
                .npages_max = c->npages_max,
                .thres_coef = c->thres_coef,
                .thres_const_kib = c->thres_const_kib,
        };
}

static void apply_logging(const struct manager *m)
{
        log_set_debug(m->config.debug || m->opts.force_debug);
        log_set_logfile(m->config.logfile);
}

/* Builds the matcher and tracker a configuration asks for; on failure the
 * outputs are untouched. */
static int build_tracking(const struct ksm_config *c, struct vm_match **ret_match,
                          struct vm_tracker **ret_tracker)
{
        struct vm_match *match;
        struct vm_tracker *tracker;
        int r;

        match = calloc(1, sizeof(*match));
        if (!match)
                return -ENOMEM;
        r = vm_match_compile(match, &c->vm_comm_patterns, &c->vm_cmdline_patterns);
        if (r < 0) {
                free(match);
                return r;
        }
        r = vm_tracker_new(match, c->metric, c->vm_tracking,
                           (uint64_t)c->vm_rescan_interval_sec * USEC_PER_SEC, &tracker);
        if (r < 0) {
                vm_match_free(match);
                free(match);
                return r;
        }
        *ret_match = match;
        *ret_tracker = tracker;
        return 0;
}

static void free_match(struct vm_match *match)
{
        if (match) {
                vm_match_free(match);
                free(match);
        }
}

static void log_tracking_mode(const struct manager *m)
{
        int e = vm_tracker_events_error(m->tracker);

        if (e == 0)
                log_debug("Tracking VM processes with kernel process events, full rescan every "
                          "%lld s",
                          (long long)m->config.vm_rescan_interval_sec);
        else if (e == -ECANCELED)
                log_debug("Tracking VM processes with a full /proc scan each cycle "
                          "(vm_tracking=scan)");
        else
                log_info("Process events unavailable (%s), scanning /proc each cycle instead",
                         strerror(-e));
}

static int latch_mem_total(struct manager *m)
{
        struct meminfo mi;
        int r;

        r = meminfo_read(m->opts.proc_dir, &mi);
        if (r < 0)
                return r;
        m->mem_total_kib = (int64_t)mi.mem_total_kib;
        log_debug("total %lld kB, sleep %lld ms, threshold %lld kB", (long long)m->mem_total_kib,
                  (long long)legacy_sleep_ms(&m->params, m->mem_total_kib),
                  (long long)legacy_thres_kib(&m->params, m->mem_total_kib));
        return 0;
}

int manager_new(const struct manager_options *opts, struct ksm_config *config, struct manager **ret)
{
        struct manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->opts = *opts;
        m->sysfs.dir_fd = -1;

        r = ksm_sysfs_open(opts->sysfs_dir, &m->sysfs);
        if (r < 0) {
                log_error("KSM is not available: %s: %s%s", opts->sysfs_dir, strerror(-r),
                          r == -ENOENT ? " (kernel built without CONFIG_KSM?)" : "");
                free(m);
                return r;
        }

        m->config = *config;
        memset(config, 0, sizeof(*config));
        apply_logging(m);
        params_from_config(&m->config, &m->params);

        r = build_tracking(&m->config, &m->match, &m->tracker);
        if (r < 0) {
                log_error("Failed to set up VM process tracking: %s", strerror(-r));
                goto fail;
        }
        log_tracking_mode(m);

        r = latch_mem_total(m);
        if (r < 0) {
                log_error("Failed to read %s/meminfo: %s", opts->proc_dir, strerror(-r));
                goto fail;
        }
        m->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
        {
                /* Until the first cycle, say what the kernel is doing and how
                 * short memory is, and know the VMs. */
                struct meminfo mi;
                uint64_t run = 0;

                (void)ksm_sysfs_read_u64(&m->sysfs, KSM_RUN, &run);
                m->coord_result.state = run == 1 ? KSM_STATE_MERGING : KSM_STATE_STOPPED;
                if (meminfo_read(opts->proc_dir, &mi) >= 0)
                        m->coord_result.pressure = manager_pressure_now(m, &mi, NULL);
                r = vm_tracker_refresh(m->tracker, now_usec(CLOCK_MONOTONIC));
                if (r < 0)
                        log_warning("Failed to scan for VM processes, retrying each cycle: %s",
                                    strerror(-r));
        }
        /* ksmd's CPU time is what KSM costs; not finding it is no error. */
        if (ksmd_find("/proc", &m->ksmd_pid) < 0)
                m->ksmd_pid = 0;
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

void manager_free(struct manager *m)
{
        if (!m)
                return;
        bus_release_all_inhibitors(m);
        bus_stop(m);
        sd_event_source_disable_unref(m->retune_timer);
        sd_event_source_disable_unref(m->tick);
        sd_event_source_disable_unref(m->events_io);
        sd_event_unref(m->event);
        vm_tracker_free(m->tracker);
        free_match(m->match);
        ksm_sysfs_close(&m->sysfs);
        config_free(&m->config);
        free(m);
}

/* Logs a failed write once per distinct error; a recovery is logged too. */
static void note_write(struct manager *m, int knob, int r)
{
        struct write_memo *memo = &m->memo[knob];
        const char *name = ksm_file_name(knob_files[knob]);

        if (r < 0 && memo->last_error != r)
                log_warning("Failed to write %s, retrying every cycle: %s", name, strerror(-r));
        else if (r == 0 && memo->last_error != 0)
                log_info("Writing %s works again", name);
        memo->last_error = r;
}

static int write_knob_quietly(struct manager *m, int knob, int64_t value)
{
        /* The kernel stores these as unsigned ints; a value outside that
         * range is the config's doing and the kernel would reject it too. */
        if (value < 0 || value > (int64_t)UINT32_MAX)
                return -EINVAL;
        return ksm_sysfs_write_u64(&m->sysfs, knob_files[knob], (uint64_t)value);
}

static void note_written(struct manager *m, int knob, int64_t value, int r)
{
        if (r < 0)
                return;
        m->have_written = true;
        if (knob == KNOB_RUN)
                m->written_run = (uint64_t)value;
        else if (knob == KNOB_PAGES_TO_SCAN)
                m->written_pages_to_scan = (uint64_t)value;
        else
                m->written_sleep_millisecs = (uint64_t)value;
}

static int write_knob(struct manager *m, int knob, int64_t value)
{
        int r = write_knob_quietly(m, knob, value);

        note_write(m, knob, r);
        note_written(m, knob, value, r);
        return r;
}

/* With advisor_mode=scan-time the kernel owns pages_to_scan and rejects
 * writes with EINVAL; we then manage run and sleep_millisecs only. */
static bool advisor_owns_pages_to_scan(struct manager *m)
{
        bool scan_time = false;

        if (!ksm_sysfs_has(&m->sysfs, KSM_ADVISOR_MODE))
                return false;
        if (ksm_sysfs_read_advisor_scan_time(&m->sysfs, &scan_time) < 0)
                return false;
        return scan_time;
}

static void set_advisor_owned(struct manager *m, bool owned)
{
        if (owned == m->advisor_owns_pages_to_scan)
                return;
        m->advisor_owns_pages_to_scan = owned;
        if (owned)
                log_notice("The kernel's KSM advisor (advisor_mode=scan-time) owns pages_to_scan; "
                           "managing run and sleep_millisecs only");
        else
                log_notice("The KSM advisor is off again; managing pages_to_scan");
}

static int apply_decision(struct manager *m, const struct policy_decision *d,
                          struct cycle_report *rep)
{
        int r, first_error = 0;

        if (d->action == POLICY_STOP) {
                r = write_knob(m, KNOB_RUN, 0);
                return r;
        }

        if (m->advisor_owns_pages_to_scan && !advisor_owns_pages_to_scan(m))
                set_advisor_owned(m, false);
        if (!m->advisor_owns_pages_to_scan) {
                r = write_knob_quietly(m, KNOB_PAGES_TO_SCAN, d->pages_to_scan);
                if (r == -EINVAL && advisor_owns_pages_to_scan(m)) {
                        /* Not an error: the advisor took over. Say so once. */
                        set_advisor_owned(m, true);
                } else {
                        note_write(m, KNOB_PAGES_TO_SCAN, r);
                        note_written(m, KNOB_PAGES_TO_SCAN, d->pages_to_scan, r);
                        if (r < 0)
                                first_error = r;
                        else
                                rep->wrote_pages_to_scan = true;
                }
        }
        rep->advisor_owns_pages_to_scan = m->advisor_owns_pages_to_scan;

        r = write_knob(m, KNOB_SLEEP_MILLISECS, d->sleep_ms);
        if (r < 0 && first_error == 0)
                first_error = r;
        r = write_knob(m, KNOB_RUN, 1);
        if (r < 0 && first_error == 0)
                first_error = r;
        return first_error;
}

static void log_decision(const struct policy_sample *s, const struct policy_decision *d,
                         size_t n_vms)
{
        log_debug("committed %lld kB in %zu VMs, free %lld kB", (long long)s->committed_kib, n_vms,
                  (long long)d->free_kib);
        if (d->action == POLICY_STOP) {
                log_debug("committed + threshold = %lld kB < total %lld kB and free %lld kB > "
                          "threshold %lld kB: stop KSM",
                          (long long)d->committed_plus_thres_kib, (long long)s->mem_total_kib,
                          (long long)d->free_kib, (long long)d->thres_kib);
                return;
        }
        log_debug("committed + threshold = %lld kB, total %lld kB, free %lld kB, threshold %lld "
                  "kB: run KSM",
                  (long long)d->committed_plus_thres_kib, (long long)s->mem_total_kib,
                  (long long)d->free_kib, (long long)d->thres_kib);
        log_debug("free %lld kB %s threshold %lld kB: %s", (long long)d->free_kib,
                  d->boost ? "<" : ">=", (long long)d->thres_kib, d->boost ? "boost" : "decay");
}

/* The last line of every cycle, logged once the knobs are written, so a
 * reader of the log (or a test) sees the decision only when it took effect. */
static void log_outcome(const struct manager *m, const struct cycle_report *rep)
{
        const struct policy_decision *d = &rep->decision;
        const char *suffix = m->opts.dry_run        ? " (dry run, nothing written)"
                             : rep->write_error < 0 ? " (some writes failed)"
                                                    : "";

        if (d->action == POLICY_STOP)
                log_debug("decision: stop: run=0%s", suffix);
        else
                log_debug("decision: start: pages_to_scan=%lld%s sleep_millisecs=%lld run=1%s",
                          (long long)d->pages_to_scan,
                          rep->advisor_owns_pages_to_scan ? " (left to the KSM advisor)" : "",
                          (long long)d->sleep_ms, suffix);
}

static void notify_status(const struct manager *m)
{
        const struct cycle_report *r = &m->last;

        if (!r->valid)
                return;
        if (r->decision.action == POLICY_STOP)
                (void)sd_notifyf(0, "STATUS=KSM stopped: %zu VMs commit %lld MiB, %lld MiB free",
                                 r->n_vms, (long long)(r->sample.committed_kib / 1024),
                                 (long long)(r->decision.free_kib / 1024));
        else
                (void)sd_notifyf(0,
                                 "STATUS=KSM running: pages_to_scan=%lld sleep_millisecs=%lld; "
                                 "%zu VMs commit %lld MiB, %lld MiB free",
                                 (long long)r->decision.pages_to_scan,
                                 (long long)r->decision.sleep_ms, r->n_vms,
                                 (long long)(r->sample.committed_kib / 1024),
                                 (long long)(r->decision.free_kib / 1024));
}

static void note_sample_error(struct manager *m, const char *what, int r)
{
        if (m->sample_error != r)
                log_error("Failed to %s, skipping this adjustment: %s", what, strerror(-r));
        m->sample_error = r;
}

const char *manager_held_text(unsigned what)
{
        switch (what & (INHIBIT_RETUNE | INHIBIT_MERGE)) {
        case INHIBIT_RETUNE: return "retune";
        case INHIBIT_MERGE: return "merge";
        case INHIBIT_RETUNE | INHIBIT_MERGE: return "retune:merge";
        default: return "";
        }
}

unsigned manager_held(const struct manager *m)
{
        unsigned what = 0;

        for (size_t i = 0; i < m->n_inhibitors; i++)
                what |= m->inhibitors[i]->what;
        return what;
}

/* Did someone else (an admin's echo, libvirt, another tuner) change a knob
 * since our last write? Legacy mode still overwrites, as stock did, but
 * says so once per episode and reports State=external. */
static bool detect_external_write(struct manager *m)
{
        struct ksm_counters c;
        bool changed;

        if (!m->have_written || m->opts.dry_run || ksm_sysfs_read_knobs(&m->sysfs, &c) < 0)
                return false;
        changed = c.run != m->written_run ||
                  (m->last.wrote_pages_to_scan && !m->advisor_owns_pages_to_scan &&
                   c.pages_to_scan != m->written_pages_to_scan) ||
                  (m->written_run == 1 && c.sleep_millisecs != m->written_sleep_millisecs);
        if (changed && !m->external_write)
                log_notice("KSM knobs were changed by someone else (run=%llu pages_to_scan=%llu "
                           "sleep_millisecs=%llu); overwriting as the policy decides",
                           (unsigned long long)c.run, (unsigned long long)c.pages_to_scan,
                           (unsigned long long)c.sleep_millisecs);
        return changed;
}

struct coord_settings manager_coord_settings(const struct manager *m)
{
        return (struct coord_settings){
                .saturate_cycles = (unsigned)m->config.dbus_saturate_cycles,
                .critical_percent = (unsigned)m->config.dbus_critical_percent,
                .npages_min = m->config.npages_min,
                .npages_max = m->config.npages_max,
        };
}

enum pressure manager_pressure_now(const struct manager *m, const struct meminfo *mi,
                                   int64_t *ret_headroom_kib)
{
        struct coord_settings cs = manager_coord_settings(m);
        struct coord_cycle c = {
                .free_kib = (int64_t)meminfo_legacy_free_kib(mi),
                .thres_kib = legacy_thres_kib(&m->params, m->mem_total_kib),
                .mem_total_kib = m->mem_total_kib,
                .mem_available_kib = (int64_t)mi->mem_available_kib,
                .has_mem_available = mi->has_mem_available,
        };

        if (ret_headroom_kib)
                *ret_headroom_kib = c.free_kib - c.thres_kib;
        return coord_pressure(&cs, &c);
}

static void update_coordination(struct manager *m, const struct meminfo *mi)
{
        struct coord_settings cs = manager_coord_settings(m);
        const struct policy_decision *d = &m->last.decision;
        uint64_t sharing, zero, now = now_usec(CLOCK_MONOTONIC);
        struct coord_cycle cyc = {
                .running = d->action == POLICY_START,
                .boost = d->boost,
                .pages_to_scan = d->pages_to_scan,
                .free_kib = d->free_kib,
                .thres_kib = d->thres_kib,
                .mem_total_kib = m->mem_total_kib,
                .mem_available_kib = (int64_t)mi->mem_available_kib,
                .has_mem_available = mi->has_mem_available,
                .held = manager_held(m) != 0,
                .external_write = m->external_write,
                .now_usec = now_usec(CLOCK_REALTIME),
        };

        coord_update(&cs, &cyc, &m->coord, &m->coord_result);

        if (ksm_sysfs_read_u64(&m->sysfs, KSM_PAGES_SHARING, &sharing) >= 0) {
                uint64_t saved;
                if (!ksm_sysfs_has(&m->sysfs, KSM_ZERO_PAGES) ||
                    ksm_sysfs_read_u64(&m->sysfs, KSM_ZERO_PAGES, &zero) < 0)
                        zero = 0;
                saved = (sharing + zero) * m->page_size;
                if (m->saved_usec_prev && now > m->saved_usec_prev)
                        m->saved_bytes_rate = saved > m->saved_bytes_prev
                                                      ? (saved - m->saved_bytes_prev) *
                                                                USEC_PER_SEC /
                                                                (now - m->saved_usec_prev)
                                                      : 0;
                m->saved_bytes_prev = saved;
                m->saved_usec_prev = now;
        }
        if (m->ksmd_pid > 0) {
                uint64_t ns;
                if (ksmd_cpu_ns("/proc", m->ksmd_pid, &ns) >= 0) {
                        if (m->ksmd_usec_prev && now > m->ksmd_usec_prev && ns >= m->ksmd_ns_prev)
                                m->ksmd_cpu_percent = (double)(ns - m->ksmd_ns_prev) / 10.0 /
                                                      (double)(now - m->ksmd_usec_prev);
                        m->ksmd_ns_prev = ns;
                        m->ksmd_usec_prev = now;
                }
        }
}

/* What a hold writes: run=0 for a merge hold (never run=2: unmerging can
 * need more memory than there is), nothing for a retune hold. */
static int write_hold(struct manager *m, unsigned held)
{
        if (!(held & INHIBIT_MERGE) || m->opts.dry_run)
                return 0;
        return write_knob(m, KNOB_RUN, 0);
}

void manager_apply_hold(struct manager *m, unsigned what)
{
        (void)write_hold(m, what); /* a failure is logged by write_knob */
        m->coord_result.state = KSM_STATE_HELD;
        m->coord_result.advise_balloon = false;
}

void manager_hold_released(struct manager *m)
{
        /* Until the retune that follows, report what the last decision was. */
        m->coord_result.state = m->last.valid && m->last.decision.action == POLICY_START
                                        ? KSM_STATE_MERGING
                                        : KSM_STATE_STOPPED;
}

int manager_adjust(struct manager *m)
{
        struct cycle_report rep = {0};
        struct policy_decision d;
        struct vm_sample vs;
        struct meminfo mi;
        unsigned held;
        int r;

        r = meminfo_read(m->opts.proc_dir, &mi);
        if (r < 0) {
                note_sample_error(m, "read meminfo", r);
                return r;
        }
        r = vm_tracker_sample(m->tracker, now_usec(CLOCK_MONOTONIC), &vs);
        if (r < 0) {
                note_sample_error(m, "sum the memory of VM processes", r);
                return r;
        }
        if (m->sample_error)
                log_info("Sampling works again");
        m->sample_error = 0;

        rep.sample = (struct policy_sample){
                .mem_total_kib = m->mem_total_kib,
                .mem_free_kib = (int64_t)mi.mem_free_kib,
                .buffers_kib = (int64_t)mi.buffers_kib,
                .cached_kib = (int64_t)mi.cached_kib,
                /* Capped far below overflow; a sum this large means "more than
                 * the host has", which is all the policy needs to know. */
                .committed_kib = vs.committed_kib > ((uint64_t)1 << 60) ? (int64_t)1 << 60
                                                                        : (int64_t)vs.committed_kib,
        };
        rep.n_vms = vs.n_vms;
        legacy_policy_decide(&m->params, &rep.sample, &m->state, &d);
        rep.decision = d;
        log_decision(&rep.sample, &d, vs.n_vms);

        m->external_write = detect_external_write(m);
        held = manager_held(m);
        r = 0;
        if (held) {
                /* Frozen by Inhibit(): npages does not move either. */
                r = write_hold(m, held);
                rep.write_error = r;
                log_debug("decision: held (%s): %s", manager_held_text(held),
                          held & INHIBIT_MERGE ? "run=0" : "nothing written");
        } else {
                if (!m->opts.dry_run)
                        r = apply_decision(m, &d, &rep);
                rep.write_error = r;
                log_outcome(m, &rep);
                /* npages moves on even when a write failed: stock computed it
                 * before writing and never looked back, and the next cycle
                 * retries anyway. */
                m->state = d.next;
        }
        m->cycles++;
        rep.valid = true;
        m->last = rep;
        update_coordination(m, &mi);
        notify_status(m);
        bus_after_cycle(m);
        return r;
}

static void swap_config(struct manager *m, struct ksm_config *c, struct vm_match *match,
                        struct vm_tracker *tracker)
{
        config_free(&m->config);
        m->config = *c;
        memset(c, 0, sizeof(*c));
        vm_tracker_free(m->tracker);
        free_match(m->match);
        m->match = match;
        m->tracker = tracker;
        params_from_config(&m->config, &m->params);
        apply_logging(m);
}

static int on_events_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int watch_events(struct manager *m)
{
        int fd = vm_tracker_events_fd(m->tracker);
        int r;

        m->events_io = sd_event_source_disable_unref(m->events_io);
        if (!m->event || fd < 0)
                return 0;
        r = sd_event_add_io(m->event, &m->events_io, fd, EPOLLIN, on_events_io, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->events_io, "proc-events");
        /* The VM set only matters at cycle time, where it is drained anyway.
         * Between cycles we read just often enough that the socket cannot
         * overflow (it holds seconds of events), instead of waking for every
         * process started on the host. */
        r = sd_event_source_set_ratelimit(m->events_io, EVENTS_READ_INTERVAL_USEC, 1);
        if (r < 0)
                return r;
        return 0;
}

int manager_reload(struct manager *m)
{
        struct ksm_config c;
        struct config_error err;
        struct vm_match *match;
        struct vm_tracker *tracker;
        uint64_t old_interval = interval_usec(m);
        int r;

        (void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                         (unsigned long long)now_usec(CLOCK_MONOTONIC));
        r = config_load(m->opts.legacy_path, m->opts.settings_path, &c, &err, log_config_warning,
                        NULL);
        if (r < 0) {
                log_error("Failed to reload configuration, keeping the running one: %s", err.text);
                goto done;
        }
        /* Values set with SetTunables outlive a reload, as they would a
         * re-read of the same files. */
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                int64_t v;
                char why[128];

                if (m->config.origin[k].kind == ORIGIN_DBUS &&
                    config_get_int(&m->config, (enum config_key)k, &v) >= 0)
                        (void)config_set_int(&c, (enum config_key)k, v, m->config.origin[k], why,
                                             sizeof(why));
        }
        r = build_tracking(&c, &match, &tracker);
        if (r < 0) {
                log_error("Failed to set up VM process tracking, keeping the running "
                          "configuration: %s",
                          strerror(-r));
                config_free(&c);
                goto done;
        }
        swap_config(m, &c, match, tracker);
        log_info("Configuration reloaded");
        log_tracking_mode(m);
        r = watch_events(m);
        if (r < 0)
                log_warning("Failed to watch process events, rescanning each cycle: %s",
                            strerror(-r));
        r = latch_mem_total(m);
        if (r < 0)
                log_warning("Failed to re-read MemTotal, keeping %lld kB: %s",
                            (long long)m->mem_total_kib, strerror(-r));
        if (m->event && m->config.dbus_enabled && !m->bus && !m->bus_retry)
                bus_start(m);
        else if (!m->config.dbus_enabled)
                bus_stop(m);
        manager_config_changed(m, old_interval);
        r = 0;
done:
        (void)sd_notify(0, "READY=1");
        return r;
}

/* An adjustment out of turn (SIGUSR1, Retune, NotifyBalloon, a hold ending):
 * like the stock script's retune, it starts a fresh full interval. */
static void adjust_now(struct manager *m)
{
        m->last_retune_usec = now_usec(CLOCK_MONOTONIC);
        (void)manager_adjust(m);
        (void)sd_event_source_set_time_relative(m->tick, interval_usec(m));
}

static int on_retune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s, (void)usec;
        adjust_now(userdata);
        return 0;
}

int manager_request_retune(struct manager *m, uint64_t delay_usec)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), when = now + delay_usec;
        int enabled = SD_EVENT_OFF, r;

        if (!m->event)
                return -ENOTCONN;
        if (m->retune_timer && sd_event_source_get_enabled(m->retune_timer, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF)
                return 0; /* one is coming already: coalesce */
        if (m->last_retune_usec && when < m->last_retune_usec + RETUNE_SPACING_USEC)
                when = m->last_retune_usec + RETUNE_SPACING_USEC;
        if (!m->retune_timer) {
                r = sd_event_add_time(m->event, &m->retune_timer, CLOCK_MONOTONIC, when, 0,
                                      on_retune_timer, m);
                if (r < 0)
                        return r;
                (void)sd_event_source_set_description(m->retune_timer, "retune");
                return 0;
        }
        r = sd_event_source_set_time(m->retune_timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->retune_timer, SD_EVENT_ONESHOT);
        return r;
}

void manager_config_changed(struct manager *m, uint64_t old_interval_usec)
{
        params_from_config(&m->config, &m->params);
        m->tunables_generation++;
        if (m->tick && interval_usec(m) != old_interval_usec)
                (void)sd_event_source_set_time_relative(m->tick, interval_usec(m));
        bus_emit_changes(m);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct manager *m = userdata;

        (void)usec;
        (void)sd_event_source_set_time_relative(s, interval_usec(m));
        (void)manager_adjust(m);
        return 0;
}

static int on_retune(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct manager *m = userdata;

        (void)s;
        (void)si;
        log_debug("SIGUSR1: adjusting now");
        adjust_now(m);
        return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)s;
        (void)si;
        (void)manager_reload(userdata);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)userdata;
        (void)sd_notify(0, "STOPPING=1");
        log_debug("Received %s, exiting; KSM is left as it is", strsignal((int)si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_events_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct manager *m = userdata;

        (void)s;
        (void)fd;
        (void)revents;
        (void)vm_tracker_process_events(m->tracker);
        /* A VM that just started is visible on the bus at once, so a balloon
         * daemon can NotifyBalloon about it before the next cycle. */
        bus_sync_guests(m);
        return 0;
}

int manager_start(struct manager *m)
{
        uint64_t accuracy;
        int r;

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
        (void)sd_event_set_watchdog(m->event, true);

        /* main blocked these before anything else, so a signal sent while we
         * start up waits for its handler instead of killing us. */
        r = sd_event_add_signal(m->event, NULL, SIGUSR1 | SD_EVENT_SIGNAL_PROCMASK, on_retune, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK,
                                        on_reload, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK,
                                        on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK,
                                        on_exit_signal, m);
        if (r < 0)
                return r;

        /* Nothing is written at start-up: the first adjustment comes one
         * interval later, as in stock. */
        accuracy = interval_usec(m) / 100;
        if (accuracy > USEC_PER_SEC)
                accuracy = USEC_PER_SEC;
        r = sd_event_add_time_relative(m->event, &m->tick, CLOCK_MONOTONIC, interval_usec(m),
                                       accuracy, on_tick, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->tick, "adjust-timer");
        r = sd_event_source_set_enabled(m->tick, SD_EVENT_ON);
        if (r < 0)
                return r;

        r = watch_events(m);
        if (r < 0)
                return r;

        bus_start(m);
        bus_sync_guests(m);

        (void)sd_notifyf(0, "READY=1\nSTATUS=Waiting %lld s for the first adjustment",
                         (long long)m->config.monitor_interval_sec);
        return 0;
}

int manager_run(struct manager *m)
{
        return sd_event_loop(m->event);
}
