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

#include "util.h"

/* ---- parse_int64_decimal ---- */

struct i64_case {
        const char *in;
        int r;
        int64_t v; /* checked when r == 0 */
};

static const struct i64_case i64_cases[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"42", 0, 42},
        {"+42", 0, 42},
        {"-42", 0, -42},
        {"-0", 0, 0},
        {"+0", 0, 0},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", -ERANGE, 0},  /* INT64_MAX + 1 */
        {"-9223372036854775809", -ERANGE, 0}, /* INT64_MIN - 1 */
        {"18446744073709551615", -ERANGE, 0}, /* UINT64_MAX */
        {"18446744073709551616", -ERANGE, 0}, /* UINT64_MAX + 1 */
        {"99999999999999999999999", -ERANGE, 0},
        {"010", -EINVAL, 0},
        {"00", -EINVAL, 0},
        {"-010", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"0X10", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"-", -EINVAL, 0},
        {"+", -EINVAL, 0},
        {"--1", -EINVAL, 0},
        {"+-1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"1\n", -EINVAL, 0},
        {"- 1", -EINVAL, 0},
        {"1e3", -EINVAL, 0},
        {"1.5", -EINVAL, 0},
        {"10ms", -EINVAL, 0},
        {"abc", -EINVAL, 0},
};

static void test_parse_int64(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(i64_cases); i++) {
                const struct i64_case *t = &i64_cases[i];
                int64_t v = 12345;
                int r = parse_int64_decimal(t->in, &v);

                if (r != t->r)
                        print_message("int64 \"%s\": got %d\n", t->in, r);
                assert_int_equal(r, t->r);
                if (t->r == 0)
                        assert_true(v == t->v);
                else
                        assert_true(v == 12345); /* untouched on error */
        }
        assert_int_equal(parse_int64_decimal(NULL, &(int64_t){0}), -EINVAL);
}

/* ---- parse_uint64_decimal ---- */

struct u64_case {
        const char *in;
        int r;
        uint64_t v;
};

static const struct u64_case u64_cases[] = {
        {"0", 0, 0},
        {"7", 0, 7},
        {"+7", 0, 7},
        {"1250", 0, 1250},
        {"9223372036854775808", 0, (uint64_t)INT64_MAX + 1},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551614", 0, UINT64_MAX - 1},
        {"18446744073709551616", -ERANGE, 0}, /* UINT64_MAX + 1 */
        {"18446744073709551620", -ERANGE, 0},
        {"184467440737095516150", -ERANGE, 0},
        {"-0", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"010", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"+", -EINVAL, 0},
        {" 5", -EINVAL, 0},
        {"5 ", -EINVAL, 0},
        {"5\n", -EINVAL, 0},
        {"5kB", -EINVAL, 0},
};

static void test_parse_uint64(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(u64_cases); i++) {
                const struct u64_case *t = &u64_cases[i];
                uint64_t v = 12345;
                int r = parse_uint64_decimal(t->in, &v);

                if (r != t->r)
                        print_message("uint64 \"%s\": got %d\n", t->in, r);
                assert_int_equal(r, t->r);
                if (t->r == 0)
                        assert_true(v == t->v);
                else
                        assert_true(v == 12345);
        }
        assert_int_equal(parse_uint64_decimal(NULL, &(uint64_t){0}), -EINVAL);
}

/* ---- read_file_bounded ---- */

static char *make_temp_file(const void *data, size_t len)
{
        char *path = strdup("/tmp/ksmt-util-XXXXXX");
        int fd;

        assert_non_null(path);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
        return path;
}

static void drop_temp_file(char *path)
{
        assert_int_equal(unlink(path), 0);
        free(path);
}

static void test_read_file_exact_fit(void **state)
{
        char buf[8];
        size_t len = 99;
        char *path = make_temp_file("1234567", 7); /* size - 1 bytes */

        (void)state;
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, 7);
        assert_string_equal(buf, "1234567");
        drop_temp_file(path);
}

static void test_read_file_small(void **state)
{
        char buf[64];
        size_t len = 99;
        char *path = make_temp_file("run\n", 4);

        (void)state;
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, 4);
        assert_string_equal(buf, "run\n");
        /* ret_len is optional */
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, "run\n");
        drop_temp_file(path);
}

static void test_read_file_empty(void **state)
{
        char buf[4] = "zzz";
        size_t len = 99;
        char *path = make_temp_file("", 0);

        (void)state;
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, 0);
        assert_string_equal(buf, "");
        drop_temp_file(path);
}

static void test_read_file_too_big(void **state)
{
        char buf[8];
        size_t len = 99;
        char *path = make_temp_file("12345678", 8); /* one byte too many */
        char *big;

        (void)state;
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), -EFBIG);
        assert_int_equal(len, 99);
        drop_temp_file(path);

        big = malloc(100000);
        assert_non_null(big);
        memset(big, 'a', 100000);
        path = make_temp_file(big, 100000);
        assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), -EFBIG);
        drop_temp_file(path);
        free(big);
}

static void test_read_file_errors(void **state)
{
        char buf[16];
        char *path = make_temp_file("x", 1);

        (void)state;
        assert_int_equal(read_file_bounded("/nonexistent/ksmt/file", buf, sizeof(buf), NULL),
                         -ENOENT);
        assert_int_equal(read_file_bounded(path, buf, 1, NULL), -EINVAL); /* no room */
        assert_int_equal(read_file_bounded(path, buf, 2, NULL), 0);
        assert_string_equal(buf, "x");
        {
                char gone[256];
                snprintf(gone, sizeof(gone), "%s", path);
                drop_temp_file(path);
                assert_int_equal(read_file_bounded(gone, buf, sizeof(buf), NULL), -ENOENT);
        }
}

static void test_read_file_at(void **state)
{
        char dir[] = "/tmp/ksmt-util-dir-XXXXXX";
        char buf[16], path[64];
        int dfd, fd;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/meminfo", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc\n", 4), 4);
        close(fd);

        dfd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(dfd >= 0);
        assert_int_equal(read_file_bounded_at(dfd, "meminfo", buf, sizeof(buf), NULL), 0);
        assert_string_equal(buf, "abc\n");
        assert_int_equal(read_file_bounded_at(dfd, "nope", buf, sizeof(buf), NULL), -ENOENT);
        close(dfd);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* ---- path_join ---- */

struct join_case {
        const char *dir, *name, *want;
};

static const struct join_case join_cases[] = {
        {"/proc", "meminfo", "/proc/meminfo"},
        {"/proc/", "meminfo", "/proc/meminfo"},
        {"/proc///", "meminfo", "/proc/meminfo"},
        {"/sys/kernel/mm/ksm", "run", "/sys/kernel/mm/ksm/run"},
        {"rel", "x", "rel/x"},
};

static void test_path_join(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(join_cases); i++) {
                char buf[64];

                assert_int_equal(path_join(buf, sizeof(buf), join_cases[i].dir, join_cases[i].name),
                                 0);
                assert_string_equal(buf, join_cases[i].want);
        }
}

/* Regression (was a bug): dir "/" keeps its slash and another is added, giving
 * "//meminfo", against the header's "with one '/'" (e.g. --proc-dir=/). */
static void test_path_join_root(void **state)
{
        char buf[64];

        (void)state;
        assert_int_equal(path_join(buf, sizeof(buf), "/", "meminfo"), 0);
        assert_string_equal(buf, "/meminfo");
}

static void test_path_join_too_long(void **state)
{
        char buf[10];

        (void)state;
        /* "/abc/defg" is 9 chars + NUL: fits exactly */
        assert_int_equal(path_join(buf, sizeof(buf), "/abc", "defg"), 0);
        assert_string_equal(buf, "/abc/defg");
        assert_int_equal(path_join(buf, sizeof(buf), "/abc", "defgh"), -ENAMETOOLONG);
        assert_int_equal(path_join(buf, sizeof(buf), "/abcdefghijk", "x"), -ENAMETOOLONG);
}

/* ---- add_sat_u64 ---- */

static void test_add_sat(void **state)
{
        (void)state;
        assert_true(add_sat_u64(1, 2) == 3);
        assert_true(add_sat_u64(UINT64_MAX - 1, 1) == UINT64_MAX);
        assert_true(add_sat_u64(UINT64_MAX, 1) == UINT64_MAX);
        assert_true(add_sat_u64(UINT64_MAX / 2 + 1, UINT64_MAX / 2 + 1) == UINT64_MAX);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_int64),
                cmocka_unit_test(test_parse_uint64),
                cmocka_unit_test(test_read_file_exact_fit),
                cmocka_unit_test(test_read_file_small),
                cmocka_unit_test(test_read_file_empty),
                cmocka_unit_test(test_read_file_too_big),
                cmocka_unit_test(test_read_file_errors),
                cmocka_unit_test(test_read_file_at),
                cmocka_unit_test(test_path_join),
                cmocka_unit_test(test_path_join_root),
                cmocka_unit_test(test_path_join_too_long),
                cmocka_unit_test(test_add_sat),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
