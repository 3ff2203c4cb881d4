/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ksm_sysfs.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const file_names[_KSM_FILE_MAX] = {
        [KSM_RUN] = "run",
        [KSM_PAGES_TO_SCAN] = "pages_to_scan",
        [KSM_SLEEP_MILLISECS] = "sleep_millisecs",
        [KSM_MERGE_ACROSS_NODES] = "merge_across_nodes",
        [KSM_USE_ZERO_PAGES] = "use_zero_pages",
        [KSM_MAX_PAGE_SHARING] = "max_page_sharing",
        [KSM_SMART_SCAN] = "smart_scan",
        [KSM_ADVISOR_MODE] = "advisor_mode",
        [KSM_ADVISOR_MAX_CPU] = "advisor_max_cpu",
        [KSM_ADVISOR_MIN_PAGES_TO_SCAN] = "advisor_min_pages_to_scan",
        [KSM_ADVISOR_MAX_PAGES_TO_SCAN] = "advisor_max_pages_to_scan",
        [KSM_ADVISOR_TARGET_SCAN_TIME] = "advisor_target_scan_time",
        [KSM_STABLE_NODE_CHAINS_PRUNE_MILLISECS] = "stable_node_chains_prune_millisecs",
        [KSM_PAGES_SHARED] = "pages_shared",
        [KSM_PAGES_SHARING] = "pages_sharing",
        [KSM_PAGES_UNSHARED] = "pages_unshared",
        [KSM_PAGES_VOLATILE] = "pages_volatile",
        [KSM_FULL_SCANS] = "full_scans",
        [KSM_GENERAL_PROFIT] = "general_profit",
        [KSM_ZERO_PAGES] = "ksm_zero_pages",
        [KSM_PAGES_SCANNED] = "pages_scanned",
        [KSM_PAGES_SKIPPED] = "pages_skipped",
        [KSM_STABLE_NODE_CHAINS] = "stable_node_chains",
        [KSM_STABLE_NODE_DUPS] = "stable_node_dups",
        [KSM_MAX_KERNEL_PAGES] = "max_kernel_pages",
};

const char *ksm_file_name(enum ksm_file f)
{
        if ((unsigned)f >= _KSM_FILE_MAX)
                return "?";
        return file_names[f];
}

int ksm_sysfs_open(const char *dir, struct ksm_sysfs *ret)
{
        struct ksm_sysfs k = {.dir_fd = -1};

        k.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (k.dir_fd < 0)
                return -errno;
        for (int f = 0; f < _KSM_FILE_MAX; f++)
                if (faccessat(k.dir_fd, file_names[f], F_OK, 0) == 0)
                        k.present |= 1u << f;
        if (!(k.present & (1u << KSM_RUN))) {
                close(k.dir_fd);
                return -ENOENT;
        }
        *ret = k;
        return 0;
}

void ksm_sysfs_close(struct ksm_sysfs *k)
{
        if (k->dir_fd >= 0)
                close(k->dir_fd);
        k->dir_fd = -1;
        k->present = 0;
}

bool ksm_sysfs_has(const struct ksm_sysfs *k, enum ksm_file f)
{
        return (unsigned)f < _KSM_FILE_MAX && (k->present & (1u << f));
}

int ksm_sysfs_write_u64(const struct ksm_sysfs *k, enum ksm_file f, uint64_t value)
{
        char buf[32];
        ssize_t n;
        int fd, len, r = 0;

        if ((unsigned)f >= _KSM_FILE_MAX)
                return -EINVAL;
        len = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)value);
        /* O_TRUNC is ignored by sysfs but makes plain files in test trees behave
         * like knobs. */
        fd = openat(k->dir_fd, file_names[f], O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = write(fd, buf, (size_t)len);
        if (n < 0)
                r = -errno;
        else if (n != len)
                r = -EIO;
        if (close(fd) < 0 && r == 0 && errno != EINTR)
                r = -errno;
        return r;
}

static int read_line(const struct ksm_sysfs *k, enum ksm_file f, char *buf, size_t size)
{
        size_t len;
        int r;

        if ((unsigned)f >= _KSM_FILE_MAX)
                return -EINVAL;
        r = read_file_bounded_at(k->dir_fd, file_names[f], buf, size, &len);
        if (r < 0)
                return r;
        if (len == 0 || buf[len - 1] != '\n')
                return -EINVAL;
        buf[len - 1] = '\0';
        return 0;
}

int ksm_sysfs_read_u64(const struct ksm_sysfs *k, enum ksm_file f, uint64_t *ret)
{
        char buf[64];
        int r = read_line(k, f, buf, sizeof(buf));

        if (r < 0)
                return r;
        return parse_uint64_decimal(buf, ret);
}

int ksm_sysfs_read_i64(const struct ksm_sysfs *k, enum ksm_file f, int64_t *ret)
{
        char buf[64];
        int r = read_line(k, f, buf, sizeof(buf));

        if (r < 0)
                return r;
        return parse_int64_decimal(buf, ret);
}

int ksm_sysfs_read_advisor_scan_time(const struct ksm_sysfs *k, bool *ret)
{
        char buf[128];
        int r = read_line(k, KSM_ADVISOR_MODE, buf, sizeof(buf));

        if (r < 0)
                return r;
        if (strcmp(buf, "[none] scan-time") == 0)
                *ret = false;
        else if (strcmp(buf, "none [scan-time]") == 0)
                *ret = true;
        else
                return -EINVAL;
        return 0;
}

/* The first `n` fields of the table below: the knobs alone, or everything. */
static int read_counter_fields(const struct ksm_sysfs *k, size_t n, struct ksm_counters *ret);

int ksm_sysfs_read_knobs(const struct ksm_sysfs *k, struct ksm_counters *ret)
{
        return read_counter_fields(k, 3, ret);
}

int ksm_sysfs_read_counters(const struct ksm_sysfs *k, struct ksm_counters *ret)
{
        return read_counter_fields(k, SIZE_MAX, ret);
}

static int read_counter_fields(const struct ksm_sysfs *k, size_t n, struct ksm_counters *ret)
{
        static const struct {
                enum ksm_file file;
                size_t offset;
                bool optional;
        } fields[] = {
                {KSM_RUN, offsetof(struct ksm_counters, run), false},
                {KSM_PAGES_TO_SCAN, offsetof(struct ksm_counters, pages_to_scan), false},
                {KSM_SLEEP_MILLISECS, offsetof(struct ksm_counters, sleep_millisecs), false},
                {KSM_PAGES_SHARED, offsetof(struct ksm_counters, pages_shared), true},
                {KSM_PAGES_SHARING, offsetof(struct ksm_counters, pages_sharing), true},
                {KSM_PAGES_UNSHARED, offsetof(struct ksm_counters, pages_unshared), true},
                {KSM_PAGES_VOLATILE, offsetof(struct ksm_counters, pages_volatile), true},
                {KSM_FULL_SCANS, offsetof(struct ksm_counters, full_scans), true},
                {KSM_ZERO_PAGES, offsetof(struct ksm_counters, zero_pages), true},
        };
        struct ksm_counters c;
        int r;

        memset(&c, 0, sizeof(c));
        if (n > ELEMENTSOF(fields))
                n = ELEMENTSOF(fields);
        for (size_t i = 0; i < n; i++) {
                if (fields[i].optional && !ksm_sysfs_has(k, fields[i].file))
                        continue;
                r = ksm_sysfs_read_u64(k, fields[i].file,
                                       (uint64_t *)((char *)&c + fields[i].offset));
                if (r < 0)
                        return r;
        }
        c.has_zero_pages = ksm_sysfs_has(k, KSM_ZERO_PAGES);
        if (n == ELEMENTSOF(fields) && ksm_sysfs_has(k, KSM_GENERAL_PROFIT)) {
                r = ksm_sysfs_read_i64(k, KSM_GENERAL_PROFIT, &c.general_profit);
                if (r < 0)
                        return r;
                c.has_general_profit = true;
        }
        *ret = c;
        return 0;
}
