/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* /sys/kernel/mm/ksm, opened once as a directory so that tests can hand us a
 * temporary tree and every access is relative to it. */

enum ksm_file {
        KSM_RUN,
        KSM_PAGES_TO_SCAN,
        KSM_SLEEP_MILLISECS,
        KSM_MERGE_ACROSS_NODES,
        KSM_USE_ZERO_PAGES,
        KSM_MAX_PAGE_SHARING,
        KSM_SMART_SCAN,
        KSM_ADVISOR_MODE,
        KSM_ADVISOR_MAX_CPU,
        KSM_ADVISOR_MIN_PAGES_TO_SCAN,
        KSM_ADVISOR_MAX_PAGES_TO_SCAN,
        KSM_ADVISOR_TARGET_SCAN_TIME,
        KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS,
        KSM_PAGES_SHARED,
        KSM_PAGES_SHARING,
        KSM_PAGES_UNSHARED,
        KSM_PAGES_VOLATILE,
        KSM_FULL_SCANS,
        KSM_GENERAL_PROFIT,
        KSM_ZERO_PAGES,
        KSM_PAGES_SCANNED,
        KSM_PAGES_SKIPPED,
        KSM_STABLE_NODE_CHAINS,
        KSM_STABLE_NODE_DUPS,
        KSM_MAX_KERNEL_PAGES, /* 2.6.32 only; ksmctl start writes it where present */
        _KSM_FILE_MAX,
};

struct ksm_sysfs {
        int dir_fd;
        uint32_t present; /* bit per enum ksm_file found at open time */
};

const char *ksm_file_name(enum ksm_file f);

/* -ENOENT when the directory does not exist (kernel without CONFIG_KSM),
 * -ENOTDIR when it is not a directory, -ENOENT too when "run" is missing. */
int ksm_sysfs_open(const char *dir, struct ksm_sysfs *ret);
void ksm_sysfs_close(struct ksm_sysfs *k);
bool ksm_sysfs_has(const struct ksm_sysfs *k, enum ksm_file f);

/* One write() of "N\n"; a short write is -EIO. */
int ksm_sysfs_write_u64(const struct ksm_sysfs *k, enum ksm_file f, uint64_t value);
int ksm_sysfs_read_u64(const struct ksm_sysfs *k, enum ksm_file f, uint64_t *ret);
int ksm_sysfs_read_i64(const struct ksm_sysfs *k, enum ksm_file f, int64_t *ret);
/* One read of everything a status query reports. Counters a kernel lacks
 * read as 0 with their has_ flag false. */
struct ksm_counters {
        uint64_t run, pages_to_scan, sleep_millisecs;
        uint64_t pages_shared, pages_sharing, pages_unshared, pages_volatile;
        uint64_t full_scans, zero_pages;
        int64_t general_profit;
        bool has_zero_pages, has_general_profit;
};

int ksm_sysfs_read_counters(const struct ksm_sysfs *k, struct ksm_counters *ret);
/* run, pages_to_scan and sleep_millisecs only; the rest reads 0. */
int ksm_sysfs_read_knobs(const struct ksm_sysfs *k, struct ksm_counters *ret);

/* advisor_mode reads "[none] scan-time"; true when scan-time is selected. */
int ksm_sysfs_read_advisor_scan_time(const struct ksm_sysfs *k, bool *ret);
