/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What we know of one VM process: its identity from the QEMU command line
 * and its KSM figures from /proc/<pid>/ksm_stat. */

#define GUEST_ID_MAX 128

struct guest_identity {
        char id[GUEST_ID_MAX];   /* -uuid, else -name, else "pid<N>" */
        char name[GUEST_ID_MAX]; /* -name (guest=NAME or NAME,...), else "" */
};

/* cmdline: the raw NUL-separated /proc/<pid>/cmdline. */
void guest_identity_parse(const char *cmdline, size_t len, pid_t pid, struct guest_identity *ret);
int guest_identity_read(const char *proc_dir, pid_t pid, struct guest_identity *ret);

/* VmRSS of /proc/<pid>/status in bytes; 0 when the process is gone. */
uint64_t guest_rss_bytes(const char *proc_dir, pid_t pid);

struct ksm_stat {
        uint64_t rmap_items;
        uint64_t merging_pages;
        uint64_t zero_pages;
        int64_t profit_bytes;
        bool has_merging_pages, has_zero_pages, has_profit;
};

/* Fields are looked up by key: their order changed between kernels, and
 * newer ones use "key: value". Unknown keys are skipped. */
int ksm_stat_parse(const char *text, struct ksm_stat *ret);
int ksm_stat_read(const char *proc_dir, pid_t pid, struct ksm_stat *ret);
