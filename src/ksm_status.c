/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ksm_status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

uint64_t ksm_status_shared_bytes(const struct ksm_status *s)
{
        /* "MB shared": pages_sharing, not pages_shared (which counts the KSM
         * pages themselves, the memory they still occupy). */
        return s->counters.pages_sharing * s->page_size;
}

uint64_t ksm_status_saved_bytes(const struct ksm_status *s)
{
        return (s->counters.pages_sharing + s->counters.zero_pages) * s->page_size;
}

static void human_size(uint64_t bytes, char *buf, size_t size)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = (double)bytes;
        int u = 0;

        while (v >= 1024.0 && u < 5) {
                v /= 1024.0;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%" PRIu64 " B", bytes);
        else
                snprintf(buf, size, "%.1f %s", v, units[u]);
}

static const char *run_text(uint64_t run)
{
        switch (run) {
        case 0: return "stopped (run=0)";
        case 1: return "running (run=1)";
        case 2: return "stopped and unmerged (run=2)";
        default: return "unknown run value";
        }
}

void ksm_status_print_human(const struct ksm_status *s, FILE *f)
{
        const struct ksm_counters *c = &s->counters;
        char a[32], b[32], d[32];

        fprintf(f, "KSM:         %s\n", run_text(c->run));
        if (s->from_daemon)
                fprintf(f, "Driven by:   ksmtuned %s, policy %s, state %s%s%s\n", s->version,
                        s->mode, s->state, s->inhibited[0] ? ", held: " : "",
                        s->inhibited[0] ? s->inhibited : "");
        else if (s->daemon_failed)
                fprintf(f, "Driven by:   ksmtuned answered with an error; figures from sysfs "
                           "alone\n");
        else
                fprintf(f, "Driven by:   no ksmtuned daemon reachable; figures from sysfs alone\n");

        fprintf(f,
                "Shared:      %.1f MB shared (pages_sharing %" PRIu64 ", pages_shared %" PRIu64
                ")\n",
                (double)ksm_status_shared_bytes(s) / MIB, c->pages_sharing, c->pages_shared);
        human_size(ksm_status_saved_bytes(s), a, sizeof(a));
        fprintf(f, "Saved:       %s", a);
        if (c->has_zero_pages)
                fprintf(f, " (including %" PRIu64 " zero pages)", c->zero_pages);
        if (c->has_general_profit) {
                human_size(c->general_profit < 0 ? (uint64_t)-c->general_profit
                                                 : (uint64_t)c->general_profit,
                           b, sizeof(b));
                fprintf(f, "; general profit %s%s", c->general_profit < 0 ? "-" : "", b);
        }
        fputc('\n', f);
        fprintf(f, "Scanning:    pages_to_scan %" PRIu64 ", sleep_millisecs %" PRIu64,
                c->pages_to_scan, c->sleep_millisecs);
        if (s->has_effort)
                fprintf(f, ", effort %.1f %%", s->effort / 10.0);
        fprintf(f, "; %" PRIu64 " full scans\n", c->full_scans);
        fprintf(f, "Pages:       %" PRIu64 " unshared, %" PRIu64 " volatile\n", c->pages_unshared,
                c->pages_volatile);
        if (s->has_ksmd_cpu)
                fprintf(f, "ksmd CPU:    %.1f %%\n", s->ksmd_cpu_percent);
        if (s->has_committed) {
                human_size(s->committed_bytes, a, sizeof(a));
                fprintf(f, "VMs:         %u, committing %s\n", s->vms, a);
        }
        human_size(s->mem_total_bytes, a, sizeof(a));
        human_size(s->free_bytes, b, sizeof(b));
        human_size(s->mem_available_bytes, d, sizeof(d));
        fprintf(f, "Memory:      total %s, free %s (MemFree+Buffers+Cached), available %s\n", a, b,
                d);
        if (s->has_threshold) {
                human_size(s->threshold_bytes, a, sizeof(a));
                fprintf(f,
                        "Thresholds:  KSM runs while free < %s (%" PRId64
                        " %% of RAM) or committed + %s >= total; pages_to_scan %" PRId64
                        "..%" PRId64 "\n",
                        a, s->thres_coef, a, s->npages_min, s->npages_max);
        }
}

void json_print_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

void ksm_status_print_json(const struct ksm_status *s, FILE *f)
{
        const struct ksm_counters *c = &s->counters;

        fprintf(f, "{\"source\":\"%s\",\"daemon\":", s->from_daemon ? "daemon" : "sysfs");
        if (s->from_daemon) {
                fprintf(f, "{\"running\":true,\"version\":");
                json_print_string(f, s->version);
                fprintf(f, ",\"mode\":");
                json_print_string(f, s->mode);
                fprintf(f, ",\"state\":");
                json_print_string(f, s->state);
                fprintf(f, ",\"pressure\":");
                json_print_string(f, s->pressure);
                fprintf(f, ",\"held\":");
                json_print_string(f, s->inhibited);
                fprintf(f, ",\"effort_permille\":%u,\"ksmd_cpu_percent\":%.3f}", s->effort,
                        s->ksmd_cpu_percent);
        } else
                fprintf(f, "{\"running\":false}");
        fprintf(f,
                ",\"run\":%" PRIu64 ",\"pages_to_scan\":%" PRIu64 ",\"sleep_millisecs\":%" PRIu64
                ",\"pages_shared\":%" PRIu64 ",\"pages_sharing\":%" PRIu64
                ",\"pages_unshared\":%" PRIu64 ",\"pages_volatile\":%" PRIu64
                ",\"full_scans\":%" PRIu64 ",\"zero_pages\":%" PRIu64,
                c->run, c->pages_to_scan, c->sleep_millisecs, c->pages_shared, c->pages_sharing,
                c->pages_unshared, c->pages_volatile, c->full_scans, c->zero_pages);
        if (c->has_general_profit)
                fprintf(f, ",\"general_profit_bytes\":%" PRId64, c->general_profit);
        else
                fprintf(f, ",\"general_profit_bytes\":null");
        fprintf(f,
                ",\"page_size\":%" PRIu64 ",\"shared_bytes\":%" PRIu64 ",\"shared_mb\":%.1f"
                ",\"saved_bytes\":%" PRIu64,
                s->page_size, ksm_status_shared_bytes(s), (double)ksm_status_shared_bytes(s) / MIB,
                ksm_status_saved_bytes(s));
        if (s->has_committed)
                fprintf(f, ",\"committed_bytes\":%" PRIu64 ",\"vms\":%u", s->committed_bytes,
                        s->vms);
        else
                fprintf(f, ",\"committed_bytes\":null,\"vms\":null");
        fprintf(f,
                ",\"mem_total_bytes\":%" PRIu64 ",\"mem_available_bytes\":%" PRIu64
                ",\"free_bytes\":%" PRIu64,
                s->mem_total_bytes, s->mem_available_bytes, s->free_bytes);
        if (s->has_threshold)
                fprintf(f,
                        ",\"threshold_bytes\":%" PRIu64 ",\"npages_min\":%" PRId64
                        ",\"npages_max\":%" PRId64,
                        s->threshold_bytes, s->npages_min, s->npages_max);
        else
                fprintf(f, ",\"threshold_bytes\":null,\"npages_min\":null,\"npages_max\":null");
        fprintf(f, "}\n");
}

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Prometheus label values escape backslash, double quote and newline. */
static void label_value(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

void ksm_status_print_prometheus(const struct ksm_status *s, const struct vm_entry *vms,
                                 size_t n_vms, FILE *f)
{
        static const char *const states[] = {"stopped", "merging", "saturated", "held", "external"};
        const struct ksm_counters *c = &s->counters;

        metric(f, "ksm_run", "gauge", "KSM run knob: 0 stopped, 1 running, 2 unmerged.");
        fprintf(f, "ksm_run %" PRIu64 "\n", c->run);
        metric(f, "ksm_pages_to_scan", "gauge", "Pages ksmd scans per batch.");
        fprintf(f, "ksm_pages_to_scan %" PRIu64 "\n", c->pages_to_scan);
        metric(f, "ksm_sleep_seconds", "gauge", "ksmd sleep between batches (sleep_millisecs).");
        fprintf(f, "ksm_sleep_seconds %.3f\n", (double)c->sleep_millisecs / 1000.0);
        metric(f, "ksm_pages_shared", "gauge", "KSM pages in use (each backs many mappings).");
        fprintf(f, "ksm_pages_shared %" PRIu64 "\n", c->pages_shared);
        metric(f, "ksm_pages_sharing", "gauge", "Mappings sharing a KSM page: pages saved.");
        fprintf(f, "ksm_pages_sharing %" PRIu64 "\n", c->pages_sharing);
        metric(f, "ksm_pages_unshared", "gauge", "Unique pages KSM keeps checking.");
        fprintf(f, "ksm_pages_unshared %" PRIu64 "\n", c->pages_unshared);
        metric(f, "ksm_pages_volatile", "gauge", "Pages changing too fast to merge.");
        fprintf(f, "ksm_pages_volatile %" PRIu64 "\n", c->pages_volatile);
        metric(f, "ksm_zero_pages", "gauge", "Zero pages mapped to the kernel zero page by KSM.");
        fprintf(f, "ksm_zero_pages %" PRIu64 "\n", c->zero_pages);
        metric(f, "ksm_full_scans_total", "counter", "Completed passes over mergeable memory.");
        fprintf(f, "ksm_full_scans_total %" PRIu64 "\n", c->full_scans);
        metric(f, "ksm_shared_bytes", "gauge", "pages_sharing times the page size.");
        fprintf(f, "ksm_shared_bytes %" PRIu64 "\n", ksm_status_shared_bytes(s));
        metric(f, "ksm_saved_bytes", "gauge", "(pages_sharing + zero pages) times the page size.");
        fprintf(f, "ksm_saved_bytes %" PRIu64 "\n", ksm_status_saved_bytes(s));
        if (c->has_general_profit) {
                metric(f, "ksm_general_profit_bytes", "gauge",
                       "Net bytes saved after KSM metadata, from the kernel.");
                fprintf(f, "ksm_general_profit_bytes %" PRId64 "\n", c->general_profit);
        }
        metric(f, "ksmtuned_up", "gauge", "1 when the ksmtuned daemon answered on D-Bus.");
        fprintf(f, "ksmtuned_up %d\n", s->from_daemon ? 1 : 0);
        if (s->from_daemon) {
                metric(f, "ksmtuned_state", "gauge", "The daemon's state, one-hot.");
                for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
                        fprintf(f, "ksmtuned_state{state=\"%s\"} %d\n", states[i],
                                strcmp(s->state, states[i]) == 0);
                metric(f, "ksmtuned_ksmd_cpu_percent", "gauge",
                       "ksmd CPU use over the last interval, percent of one CPU.");
                fprintf(f, "ksmtuned_ksmd_cpu_percent %.3f\n", s->ksmd_cpu_percent);
        }
        if (s->has_committed) {
                metric(f, "ksmtuned_committed_bytes", "gauge", "Memory committed to VM processes.");
                fprintf(f, "ksmtuned_committed_bytes %" PRIu64 "\n", s->committed_bytes);
        }
        metric(f, "ksm_vm_profit_bytes", "gauge", "Per-VM KSM profit from /proc/PID/ksm_stat.");
        for (size_t i = 0; i < n_vms; i++) {
                if (!vms[i].has_ksm_stat)
                        continue;
                fprintf(f, "ksm_vm_profit_bytes{vm=\"");
                label_value(f, vms[i].id);
                fprintf(f, "\",name=\"");
                label_value(f, vms[i].name);
                fprintf(f, "\",pid=\"%d\"} %" PRId64 "\n", (int)vms[i].pid, vms[i].profit_bytes);
        }
}

static int cmp_vm(const void *a, const void *b)
{
        const struct vm_entry *x = a, *y = b;

        if (x->profit_bytes != y->profit_bytes)
                return x->profit_bytes < y->profit_bytes ? 1 : -1;
        if (x->merging_pages != y->merging_pages)
                return x->merging_pages < y->merging_pages ? 1 : -1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

void vm_entries_sort(struct vm_entry *v, size_t n)
{
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_vm);
}

void vm_entries_print_human(const struct vm_entry *v, size_t n, uint64_t page_size, FILE *f)
{
        bool missing = false;
        char rss[32], merged[32];

        fprintf(f, "%8s  %-24s %10s %12s %10s %16s\n", "PID", "NAME", "RSS", "MERGED", "ZERO",
                "PROFIT");
        for (size_t i = 0; i < n; i++) {
                human_size(v[i].rss_bytes, rss, sizeof(rss));
                if (!v[i].has_ksm_stat) {
                        missing = true;
                        fprintf(f, "%8d  %-24.24s %10s %12s %10s %16s\n", (int)v[i].pid,
                                v[i].name[0] ? v[i].name : v[i].id, rss, "-", "-", "-");
                        continue;
                }
                human_size(v[i].merging_pages * page_size, merged, sizeof(merged));
                fprintf(f, "%8d  %-24.24s %10s %12s %10" PRIu64 " %12.1f MiB\n", (int)v[i].pid,
                        v[i].name[0] ? v[i].name : v[i].id, rss, merged, v[i].zero_pages,
                        (double)v[i].profit_bytes / MIB);
        }
        if (n == 0)
                fprintf(f, "(no VM processes)\n");
        if (missing)
                fprintf(f, "Per-VM KSM figures need /proc/PID/ksm_stat (Linux 6.1+) and root.\n");
}

void vm_entries_print_json(const struct vm_entry *v, size_t n, uint64_t page_size, FILE *f)
{
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s{\"pid\":%d,\"id\":", i ? "," : "", (int)v[i].pid);
                json_print_string(f, v[i].id);
                fprintf(f, ",\"name\":");
                json_print_string(f, v[i].name);
                fprintf(f, ",\"rss_bytes\":%" PRIu64, v[i].rss_bytes);
                if (v[i].has_ksm_stat)
                        fprintf(f,
                                ",\"merging_pages\":%" PRIu64 ",\"merged_bytes\":%" PRIu64
                                ",\"zero_pages\":%" PRIu64 ",\"profit_bytes\":%" PRId64 "}",
                                v[i].merging_pages, v[i].merging_pages * page_size, v[i].zero_pages,
                                v[i].profit_bytes);
                else
                        fprintf(f, ",\"merging_pages\":null,\"merged_bytes\":null,"
                                   "\"zero_pages\":null,\"profit_bytes\":null}");
        }
        fputs("]\n", f);
}
