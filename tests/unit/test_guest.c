/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "guest.h"

/* Builds a NUL-separated command line like /proc/<pid>/cmdline. */
static size_t argv_blob(char *buf, size_t size, const char *const *argv)
{
        size_t n = 0;

        for (; *argv; argv++) {
                size_t l = strlen(*argv) + 1;
                assert_true(n + l <= size);
                memcpy(buf + n, *argv, l);
                n += l;
        }
        return n;
}

static void check_identity(const char *const *argv, const char *id, const char *name)
{
        char buf[1024];
        struct guest_identity g;
        size_t n = argv_blob(buf, sizeof(buf), argv);

        guest_identity_parse(buf, n, 4242, &g);
        assert_string_equal(g.id, id);
        assert_string_equal(g.name, name);
}

static void test_identity(void **state)
{
        (void)state;
        check_identity((const char *const[]){"/usr/bin/qemu-system-x86_64", "-name",
                                             "guest=web1,debug-threads=on", "-uuid",
                                             "7d4e5f60-1111-2222-3333-444455556666", "-m", "2048",
                                             NULL},
                       "7d4e5f60-1111-2222-3333-444455556666", "web1");
        check_identity(
                (const char *const[]){"kvm", "-id", "100", "-name", "db,process=qemu:db", NULL},
                "db", "db");
        check_identity((const char *const[]){"qemu-system-x86_64", "--name", "plain", NULL},
                       "plain", "plain");
        check_identity((const char *const[]){"qemu-kvm", "-m", "512", NULL}, "pid4242", "");
        /* a trailing option without its value is ignored */
        check_identity((const char *const[]){"qemu-kvm", "-name", NULL}, "pid4242", "");
}

static void test_identity_unterminated_and_long(void **state)
{
        char buf[600];
        struct guest_identity g;

        (void)state;
        memcpy(buf, "qemu\0-name\0abc", 14); /* last argument without NUL */
        guest_identity_parse(buf, 14, 1, &g);
        assert_string_equal(g.name, "abc");

        memcpy(buf, "qemu\0-name\0", 11);
        memset(buf + 11, 'x', 400);
        buf[411] = '\0';
        guest_identity_parse(buf, 412, 1, &g);
        assert_int_equal(strlen(g.name), GUEST_ID_MAX - 1); /* truncated, not overflowing */
}

static void test_ksm_stat(void **state)
{
        struct ksm_stat s;

        (void)state;
        /* 6.11+ layout, with "key: value" lines at the end */
        assert_int_equal(ksm_stat_parse("ksm_rmap_items 512\nksm_zero_pages 3\n"
                                        "ksm_merging_pages 100\nksm_process_profit -4096\n"
                                        "ksm_merge_any: no\nksm_mergeable: yes\n",
                                        &s),
                         0);
        assert_int_equal(s.rmap_items, 512);
        assert_int_equal(s.zero_pages, 3);
        assert_int_equal(s.merging_pages, 100);
        assert_int_equal(s.profit_bytes, -4096);
        assert_true(s.has_profit && s.has_zero_pages && s.has_merging_pages);

        /* 6.1: rmap items only */
        assert_int_equal(ksm_stat_parse("ksm_rmap_items 7\n", &s), 0);
        assert_int_equal(s.rmap_items, 7);
        assert_false(s.has_merging_pages);

        assert_int_equal(ksm_stat_parse("ksm_merging_pages lots\n", &s), -EINVAL);
        assert_int_equal(ksm_stat_parse("garbage\n", &s), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_identity_unterminated_and_long),
                cmocka_unit_test(test_ksm_stat),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
