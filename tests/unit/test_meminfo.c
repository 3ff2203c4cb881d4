/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meminfo.h"
#include "util.h"

/* A real /proc/meminfo (Linux 6.x, 24 GiB guest), with its non-kB lines. */
static const char real_meminfo[] = "MemTotal:       24684084 kB\n"
                                   "MemFree:        24501364 kB\n"
                                   "MemAvailable:   24430792 kB\n"
                                   "Buffers:             988 kB\n"
                                   "Cached:            48924 kB\n"
                                   "SwapCached:            0 kB\n"
                                   "Active:            27064 kB\n"
                                   "Inactive:          20736 kB\n"
                                   "Active(anon):       1528 kB\n"
                                   "Inactive(anon):     5232 kB\n"
                                   "Active(file):      25536 kB\n"
                                   "Inactive(file):    15504 kB\n"
                                   "Unevictable:       13640 kB\n"
                                   "Mlocked:           12776 kB\n"
                                   "SwapTotal:             0 kB\n"
                                   "SwapFree:              0 kB\n"
                                   "Zswap:                 0 kB\n"
                                   "Zswapped:              0 kB\n"
                                   "Dirty:               164 kB\n"
                                   "Writeback:             0 kB\n"
                                   "AnonPages:         11548 kB\n"
                                   "Mapped:            10936 kB\n"
                                   "Shmem:              8872 kB\n"
                                   "KReclaimable:      62876 kB\n"
                                   "Slab:              84804 kB\n"
                                   "SReclaimable:      62876 kB\n"
                                   "SUnreclaim:        21928 kB\n"
                                   "KernelStack:        1396 kB\n"
                                   "PageTables:         1848 kB\n"
                                   "SecPageTables:         0 kB\n"
                                   "NFS_Unstable:          0 kB\n"
                                   "Bounce:                0 kB\n"
                                   "WritebackTmp:          0 kB\n"
                                   "CommitLimit:    12342040 kB\n"
                                   "Committed_AS:      58380 kB\n"
                                   "VmallocTotal:   34359738367 kB\n"
                                   "VmallocUsed:       14220 kB\n"
                                   "VmallocChunk:          0 kB\n"
                                   "Percpu:              712 kB\n"
                                   "AnonHugePages:         0 kB\n"
                                   "ShmemHugePages:        0 kB\n"
                                   "ShmemPmdMapped:        0 kB\n"
                                   "FileHugePages:         0 kB\n"
                                   "FilePmdMapped:         0 kB\n"
                                   "Balloon:               0 kB\n"
                                   "HugePages_Total:       0\n"
                                   "HugePages_Free:        0\n"
                                   "HugePages_Rsvd:        0\n"
                                   "HugePages_Surp:        0\n"
                                   "Hugepagesize:       2048 kB\n"
                                   "Hugetlb:               0 kB\n"
                                   "DirectMap4k:       28672 kB\n"
                                   "DirectMap2M:     2068480 kB\n"
                                   "DirectMap1G:    25165824 kB\n";

static void test_parse_real(void **state)
{
        struct meminfo m;

        (void)state;
        memset(&m, 0xaa, sizeof(m));
        assert_int_equal(meminfo_parse(real_meminfo, &m), 0);
        assert_true(m.mem_total_kib == 24684084);
        assert_true(m.mem_free_kib == 24501364);
        assert_true(m.buffers_kib == 988);
        assert_true(m.cached_kib == 48924);
        assert_true(m.has_mem_available);
        assert_true(m.mem_available_kib == 24430792);
}

/* Linux < 3.14: no MemAvailable, no SwapCached-style prefix confusion. */
static void test_parse_old_kernel(void **state)
{
        static const char text[] = "MemTotal:        8388608 kB\n"
                                   "MemFree:         1048576 kB\n"
                                   "Buffers:           65536 kB\n"
                                   "Cached:           524288 kB\n"
                                   "SwapCached:         1024 kB\n"
                                   "Active:          2097152 kB\n";
        struct meminfo m;

        (void)state;
        assert_int_equal(meminfo_parse(text, &m), 0);
        assert_true(m.mem_total_kib == 8388608);
        assert_true(m.mem_free_kib == 1048576);
        assert_true(m.buffers_kib == 65536);
        assert_true(m.cached_kib == 524288); /* not SwapCached */
        assert_false(m.has_mem_available);
        assert_true(m.mem_available_kib == 0);
}

static void test_parse_edge_ok(void **state)
{
        static const struct {
                const char *text;
                uint64_t total, free, buffers, cached;
        } cases[] = {
                /* field order does not matter; no final newline */
                {"Cached: 4 kB\nBuffers: 3 kB\nMemFree: 2 kB\nMemTotal: 10 kB", 10, 2, 3, 4},
                /* zeros (a zero MemFree is possible) and free == total */
                {"MemTotal: 10 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", 10, 0, 0, 0},
                {"MemTotal: 10 kB\nMemFree: 10 kB\nBuffers: 0 kB\nCached: 0 kB\n", 10, 10, 0, 0},
                /* no padding at all */
                {"MemTotal:7 kB\nMemFree:1 kB\nBuffers:1 kB\nCached:1 kB\n", 7, 1, 1, 1},
                /* 2^50 kB: the largest accepted */
                {"MemTotal: 1125899906842624 kB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n",
                 1125899906842624ULL, 1, 1, 1},
                /* 4 TiB host */
                {"MemTotal: 4294967296 kB\nMemFree: 4294967295 kB\nBuffers: 0 kB\nCached: 0 kB\n",
                 4294967296ULL, 4294967295ULL, 0, 0},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct meminfo m;
                int r = meminfo_parse(cases[i].text, &m);

                if (r != 0)
                        print_message("case %zu: %d\n", i, r);
                assert_int_equal(r, 0);
                assert_true(m.mem_total_kib == cases[i].total);
                assert_true(m.mem_free_kib == cases[i].free);
                assert_true(m.buffers_kib == cases[i].buffers);
                assert_true(m.cached_kib == cases[i].cached);
        }
}

#define BASE_REST "MemFree: 2 kB\nBuffers: 3 kB\nCached: 4 kB\n"

struct bad_case {
        const char *text;
        int r; /* 0: any negative value */
};

static const struct bad_case bad_cases[] = {
        /* a required field missing */
        {"MemFree: 2 kB\nBuffers: 3 kB\nCached: 4 kB\n", -EINVAL},
        {"MemTotal: 10 kB\nBuffers: 3 kB\nCached: 4 kB\n", -EINVAL},
        {"MemTotal: 10 kB\nMemFree: 2 kB\nCached: 4 kB\n", -EINVAL},
        {"MemTotal: 10 kB\nMemFree: 2 kB\nBuffers: 3 kB\n", -EINVAL},
        {"MemTotal: 10 kB\nMemFree: 2 kB\nBuffers: 3 kB\nSwapCached: 4 kB\n", -EINVAL},
        {"", -EINVAL},
        /* garbage values */
        {"MemTotal: abc kB\n" BASE_REST, -EINVAL},
        {"MemTotal:  kB\n" BASE_REST, -EINVAL},
        {"MemTotal: -10 kB\n" BASE_REST, -EINVAL},
        {"MemTotal: 1x0 kB\n" BASE_REST, -EINVAL},
        {"MemTotal: 0x10 kB\n" BASE_REST, -EINVAL},
        {"MemTotal: 10.5 kB\n" BASE_REST, -EINVAL},
        /* the unit */
        {"MemTotal: 10\n" BASE_REST, -EINVAL},
        {"MemTotal: 10 MB\n" BASE_REST, -EINVAL},
        {"MemTotal: 10 kB extra\n" BASE_REST, -EINVAL},
        {"MemTotal: 10kB\n" BASE_REST, -EINVAL},
        {"MemTotal: 10 kB \n" BASE_REST, -EINVAL},
        /* a field twice */
        {"MemTotal: 10 kB\nMemTotal: 10 kB\n" BASE_REST, -EINVAL},
        {"MemTotal: 10 kB\n" BASE_REST "Cached: 4 kB\n", -EINVAL},
        {"MemTotal: 10 kB\n" BASE_REST "MemAvailable: 1 kB\nMemAvailable: 1 kB\n", -EINVAL},
        /* a line without a colon, anywhere */
        {"MemTotal: 10 kB\nthis is not meminfo\n" BASE_REST, -EINVAL},
        {"MemTotal: 10 kB\n\n" BASE_REST, -EINVAL},
        /* impossible values */
        {"MemTotal: 10 kB\nMemFree: 11 kB\nBuffers: 3 kB\nCached: 4 kB\n", -EINVAL},
        {"MemTotal: 0 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EINVAL},
        {"MemTotal: 10 kB\n" BASE_REST "MemAvailable: 11 kB\n", -EINVAL},
        /* huge values */
        {"MemTotal: 1125899906842625 kB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n", 0},
        {"MemTotal: 2000000000000000 kB\nMemFree: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n", 0},
        {"MemTotal: 10 kB\nMemFree: 2 kB\nBuffers: 1125899906842625 kB\nCached: 1 kB\n", 0},
        {"MemTotal: 10 kB\nMemFree: 2 kB\nBuffers: 1 kB\nCached: 18446744073709551615 kB\n", 0},
        {"MemTotal: 18446744073709551616 kB\n" BASE_REST, 0},
        {"MemTotal: 999999999999999999999999999999 kB\n" BASE_REST, 0},
};

static void test_parse_bad(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                struct meminfo m;
                int r;

                memset(&m, 0x55, sizeof(m));
                r = meminfo_parse(bad_cases[i].text, &m);
                if (bad_cases[i].r ? r != bad_cases[i].r : r >= 0)
                        print_message("case %zu \"%s\": %d\n", i, bad_cases[i].text, r);
                if (bad_cases[i].r)
                        assert_int_equal(r, bad_cases[i].r);
                else
                        assert_true(r < 0);
                /* nothing half-written */
                assert_true(m.mem_total_kib == 0x5555555555555555ULL);
        }
}

static void test_read(void **state)
{
        char dir[] = "/tmp/ksmt-meminfo-XXXXXX";
        char path[128];
        struct meminfo m;
        FILE *f;

        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(meminfo_read(dir, &m), -ENOENT);

        snprintf(path, sizeof(path), "%s/meminfo", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(real_meminfo, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(meminfo_read(dir, &m), 0);
        assert_true(m.mem_total_kib == 24684084);
        assert_true(m.cached_kib == 48924);

        /* a trailing slash on the directory is fine */
        snprintf(path, sizeof(path), "%s/", dir);
        memset(&m, 0, sizeof(m));
        assert_int_equal(meminfo_read(path, &m), 0);
        assert_true(m.mem_free_kib == 24501364);

        /* garbage in the file */
        snprintf(path, sizeof(path), "%s/meminfo", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("MemTotal: lots\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(meminfo_read(dir, &m), -EINVAL);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_read_too_big(void **state)
{
        char dir[] = "/tmp/ksmt-meminfo-XXXXXX";
        char path[128];
        struct meminfo m;
        FILE *f;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/meminfo", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(real_meminfo, f);
        for (int i = 0; i < 1000; i++)
                fprintf(f, "Extra%d:            0 kB\n", i);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(meminfo_read(dir, &m), -EFBIG);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_read_real_proc(void **state)
{
        struct meminfo m;

        (void)state;
        if (access("/proc/meminfo", R_OK) != 0)
                skip();
        assert_int_equal(meminfo_read("/proc", &m), 0);
        assert_true(m.mem_total_kib > 0);
        assert_true(m.mem_free_kib <= m.mem_total_kib);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_real),     cmocka_unit_test(test_parse_old_kernel),
                cmocka_unit_test(test_parse_edge_ok),  cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_read),           cmocka_unit_test(test_read_too_big),
                cmocka_unit_test(test_read_real_proc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
