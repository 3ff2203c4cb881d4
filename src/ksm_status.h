/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "guest.h"
#include "ksm_sysfs.h"

/* What ksmctl reports: gathered from the daemon over D-Bus when it runs,
 * else from sysfs and /proc alone, then formatted for people, JSON or
 * Prometheus. The formatters are pure. */

struct ksm_status {
        bool from_daemon;
        bool daemon_failed; /* it runs but answered with an error: sysfs figures */
        /* daemon view (from_daemon only) */
        char version[32];
        char mode[32];
        char state[32];
        char pressure[32];
        char inhibited[64];
        double ksmd_cpu_percent;
        bool has_ksmd_cpu;
        uint32_t effort; /* 0..1000 */
        bool has_effort;

        struct ksm_counters counters;
        uint64_t page_size;

        uint64_t mem_total_bytes, mem_available_bytes, free_bytes;
        uint64_t committed_bytes;
        bool has_committed;
        uint32_t vms;
        uint64_t threshold_bytes;
        bool has_threshold;
        int64_t thres_coef;
        int64_t npages_min, npages_max;
};

struct vm_entry {
        pid_t pid;
        char id[GUEST_ID_MAX];
        char name[GUEST_ID_MAX];
        uint64_t rss_bytes;
        uint64_t merging_pages, zero_pages;
        int64_t profit_bytes;
        bool has_ksm_stat; /* false: no ksm_stat or not readable (needs root) */
};

uint64_t ksm_status_shared_bytes(const struct ksm_status *s);
uint64_t ksm_status_saved_bytes(const struct ksm_status *s);

void ksm_status_print_human(const struct ksm_status *s, FILE *f);
void ksm_status_print_json(const struct ksm_status *s, FILE *f);
void ksm_status_print_prometheus(const struct ksm_status *s, const struct vm_entry *vms,
                                 size_t n_vms, FILE *f);

/* Sorted by savings: profit, then merging pages, highest first. */
void vm_entries_sort(struct vm_entry *v, size_t n);
void vm_entries_print_human(const struct vm_entry *v, size_t n, uint64_t page_size, FILE *f);
void vm_entries_print_json(const struct vm_entry *v, size_t n, uint64_t page_size, FILE *f);

/* Writes s as a JSON string literal (quotes, escapes). */
void json_print_string(FILE *f, const char *s);
