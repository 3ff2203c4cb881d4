/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksm_sysfs.h"
#include "util.h"

/* A temporary stand-in for /sys/kernel/mm/ksm. */
struct tree {
        char dir[64];
};

static void tree_put(const struct tree *t, const char *name, const char *content)
{
        char path[160];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", t->dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        assert_int_equal(fclose(f), 0);
}

static void tree_get(const struct tree *t, const char *name, char *buf, size_t size)
{
        char path[160];

        snprintf(path, sizeof(path), "%s/%s", t->dir, name);
        assert_int_equal(read_file_bounded(path, buf, size, NULL), 0);
}

static int tree_setup(void **state)
{
        struct tree *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        snprintf(t->dir, sizeof(t->dir), "/tmp/ksmt-sysfs-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        *state = t;
        return 0;
}

static int tree_teardown(void **state)
{
        struct tree *t = *state;

        for (int f = 0; f < _KSM_FILE_MAX; f++) {
                char path[160];

                snprintf(path, sizeof(path), "%s/%s", t->dir, ksm_file_name((enum ksm_file)f));
                unlink(path);
        }
        rmdir(t->dir);
        free(t);
        return 0;
}

/* The files a 6.x kernel offers, with typical contents. */
static void tree_put_modern(const struct tree *t)
{
        tree_put(t, "run", "0\n");
        tree_put(t, "pages_to_scan", "100\n");
        tree_put(t, "sleep_millisecs", "20\n");
        tree_put(t, "merge_across_nodes", "1\n");
        tree_put(t, "use_zero_pages", "0\n");
        tree_put(t, "max_page_sharing", "256\n");
        tree_put(t, "pages_shared", "0\n");
        tree_put(t, "pages_sharing", "0\n");
        tree_put(t, "general_profit", "-1234\n");
        tree_put(t, "advisor_mode", "[none] scan-time\n");
        tree_put(t, "full_scans", "18446744073709551615\n");
}

static void test_open_missing_dir(void **state)
{
        struct tree *t = *state;
        struct ksm_sysfs k;
        char path[128];

        snprintf(path, sizeof(path), "%s/nope", t->dir);
        assert_int_equal(ksm_sysfs_open(path, &k), -ENOENT);
}

static void test_open_without_run(void **state)
{
        struct tree *t = *state;
        struct ksm_sysfs k;

        assert_int_equal(ksm_sysfs_open(t->dir, &k), -ENOENT); /* empty dir */
        tree_put(t, "pages_to_scan", "100\n");
        assert_int_equal(ksm_sysfs_open(t->dir, &k), -ENOENT);
}

static void test_open_not_a_dir(void **state)
{
        struct tree *t = *state;
        struct ksm_sysfs k;
        char path[128];

        tree_put(t, "run", "0\n");
        snprintf(path, sizeof(path), "%s/run", t->dir);
        assert_int_equal(ksm_sysfs_open(path, &k), -ENOTDIR);
}

static void test_feature_bits(void **state)
{
        struct tree *t = *state;
        struct ksm_sysfs k;

        /* an old kernel: just the basics */
        tree_put(t, "run", "0\n");
        tree_put(t, "pages_to_scan", "100\n");
        tree_put(t, "sleep_millisecs", "20\n");
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        assert_true(k.dir_fd >= 0);
        assert_true(ksm_sysfs_has(&k, KSM_RUN));
        assert_true(ksm_sysfs_has(&k, KSM_PAGES_TO_SCAN));
        assert_true(ksm_sysfs_has(&k, KSM_SLEEP_MILLISECS));
        assert_false(ksm_sysfs_has(&k, KSM_MERGE_ACROSS_NODES));
        assert_false(ksm_sysfs_has(&k, KSM_ADVISOR_MODE));
        assert_false(ksm_sysfs_has(&k, KSM_GENERAL_PROFIT));
        assert_false(ksm_sysfs_has(&k, _KSM_FILE_MAX));
        assert_int_equal(k.present,
                         (1u << KSM_RUN) | (1u << KSM_PAGES_TO_SCAN) | (1u << KSM_SLEEP_MILLISECS));
        ksm_sysfs_close(&k);
        assert_int_equal(k.dir_fd, -1);
        assert_int_equal(k.present, 0);

        /* a modern one */
        tree_put_modern(t);
        tree_put(t, "ksm_zero_pages", "0\n");
        tree_put(t, "smart_scan", "1\n");
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        assert_true(ksm_sysfs_has(&k, KSM_ADVISOR_MODE));
        assert_true(ksm_sysfs_has(&k, KSM_GENERAL_PROFIT));
        assert_true(ksm_sysfs_has(&k, KSM_ZERO_PAGES));
        assert_true(ksm_sysfs_has(&k, KSM_SMART_SCAN));
        assert_false(ksm_sysfs_has(&k, KSM_STABLE_NODE_DUPS));
        ksm_sysfs_close(&k);
}

static void test_file_names(void **state)
{
        (void)state;
        assert_string_equal(ksm_file_name(KSM_RUN), "run");
        assert_string_equal(ksm_file_name(KSM_PAGES_TO_SCAN), "pages_to_scan");
        assert_string_equal(ksm_file_name(KSM_SLEEP_MILLISECS), "sleep_millisecs");
        assert_string_equal(ksm_file_name(KSM_ZERO_PAGES), "ksm_zero_pages");
        assert_string_equal(ksm_file_name(KSM_GENERAL_PROFIT), "general_profit");
        assert_string_equal(ksm_file_name(_KSM_FILE_MAX), "?");
        for (int f = 0; f < _KSM_FILE_MAX; f++)
                assert_true(strlen(ksm_file_name((enum ksm_file)f)) > 0);
}

static void test_write_u64(void **state)
{
        static const struct {
                enum ksm_file f;
                uint64_t v;
                const char *want;
        } cases[] = {
                {KSM_PAGES_TO_SCAN, 1250, "1250\n"},
                {KSM_SLEEP_MILLISECS, 10, "10\n"},
                {KSM_RUN, 1, "1\n"},
                {KSM_RUN, 0, "0\n"},
                {KSM_PAGES_TO_SCAN, 64, "64\n"}, /* shorter than before: truncated */
                {KSM_PAGES_TO_SCAN, UINT64_MAX, "18446744073709551615\n"},
        };
        struct tree *t = *state;
        struct ksm_sysfs k;

        tree_put_modern(t);
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[64];

                assert_int_equal(ksm_sysfs_write_u64(&k, cases[i].f, cases[i].v), 0);
                tree_get(t, ksm_file_name(cases[i].f), buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        /* missing knob */
        assert_int_equal(ksm_sysfs_write_u64(&k, KSM_SMART_SCAN, 1), -ENOENT);
        assert_int_equal(ksm_sysfs_write_u64(&k, _KSM_FILE_MAX, 1), -EINVAL);
        ksm_sysfs_close(&k);
}

static void test_read_values(void **state)
{
        struct tree *t = *state;
        struct ksm_sysfs k;
        uint64_t u = 0;
        int64_t s = 0;

        tree_put_modern(t);
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        assert_int_equal(ksm_sysfs_read_u64(&k, KSM_PAGES_TO_SCAN, &u), 0);
        assert_true(u == 100);
        assert_int_equal(ksm_sysfs_read_u64(&k, KSM_MAX_PAGE_SHARING, &u), 0);
        assert_true(u == 256);
        assert_int_equal(ksm_sysfs_read_u64(&k, KSM_FULL_SCANS, &u), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(ksm_sysfs_read_i64(&k, KSM_GENERAL_PROFIT, &s), 0);
        assert_true(s == -1234);
        assert_int_equal(ksm_sysfs_read_i64(&k, KSM_SLEEP_MILLISECS, &s), 0);
        assert_true(s == 20);
        /* a negative number is not a u64 */
        assert_int_equal(ksm_sysfs_read_u64(&k, KSM_GENERAL_PROFIT, &u), -EINVAL);
        /* missing file */
        assert_int_equal(ksm_sysfs_read_u64(&k, KSM_STABLE_NODE_DUPS, &u), -ENOENT);
        assert_int_equal(ksm_sysfs_read_u64(&k, _KSM_FILE_MAX, &u), -EINVAL);
        ksm_sysfs_close(&k);
}

static void test_read_bad_content(void **state)
{
        static const struct {
                const char *content;
                int r;
        } cases[] = {
                {"abc\n", -EINVAL},  {"12\n", 0},
                {"12", -EINVAL}, /* no trailing newline */
                {"", -EINVAL},       {"\n", -EINVAL},
                {"12\n\n", -EINVAL}, {" 12\n", -EINVAL},
                {"12 \n", -EINVAL},  {"0x12\n", -EINVAL},
                {"012\n", -EINVAL},  {"18446744073709551616\n", -ERANGE},
        };
        struct tree *t = *state;
        struct ksm_sysfs k;

        tree_put_modern(t);
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t u = 7;
                int r;

                tree_put(t, "pages_shared", cases[i].content);
                r = ksm_sysfs_read_u64(&k, KSM_PAGES_SHARED, &u);
                if (r != cases[i].r)
                        print_message("content \"%s\": %d\n", cases[i].content, r);
                assert_int_equal(r, cases[i].r);
                assert_true(u == (cases[i].r == 0 ? 12 : 7));
        }
        tree_put(t, "general_profit", "-9223372036854775809\n");
        assert_int_equal(ksm_sysfs_read_i64(&k, KSM_GENERAL_PROFIT, &(int64_t){0}), -ERANGE);
        tree_put(t, "general_profit", "-12");
        assert_int_equal(ksm_sysfs_read_i64(&k, KSM_GENERAL_PROFIT, &(int64_t){0}), -EINVAL);
        ksm_sysfs_close(&k);
}

static void test_advisor_mode(void **state)
{
        static const struct {
                const char *content;
                int r;
                bool scan_time;
        } cases[] = {
                {"[none] scan-time\n", 0, false},
                {"none [scan-time]\n", 0, true},
                {"[none] scan-time", -EINVAL, false},
                {"none scan-time\n", -EINVAL, false},
                {"[scan-time]\n", -EINVAL, false},
                {"garbage\n", -EINVAL, false},
                {"\n", -EINVAL, false},
        };
        struct tree *t = *state;
        struct ksm_sysfs k;

        tree_put_modern(t);
        assert_int_equal(ksm_sysfs_open(t->dir, &k), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool v = !cases[i].scan_time; /* must be overwritten on success */
                int r;

                tree_put(t, "advisor_mode", cases[i].content);
                r = ksm_sysfs_read_advisor_scan_time(&k, &v);
                if (r != cases[i].r)
                        print_message("content \"%s\": %d\n", cases[i].content, r);
                assert_int_equal(r, cases[i].r);
                if (r == 0)
                        assert_int_equal(v, cases[i].scan_time);
        }
        ksm_sysfs_close(&k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_missing_dir, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_open_without_run, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_open_not_a_dir, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_feature_bits, tree_setup, tree_teardown),
                cmocka_unit_test(test_file_names),
                cmocka_unit_test_setup_teardown(test_write_u64, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_read_values, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_read_bad_content, tree_setup, tree_teardown),
                cmocka_unit_test_setup_teardown(test_advisor_mode, tree_setup, tree_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
