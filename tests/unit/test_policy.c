/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy.h"
#include "util.h"

#define GIB_KB ((int64_t)1024 * 1024)
#define TIB_KB (GIB_KB * 1024)

static const struct legacy_params defaults = {
        .sleep_msec = 10,
        .npages_boost = 300,
        .npages_decay = -50,
        .npages_min = 64,
        .npages_max = 1250,
        .thres_coef = 20,
        .thres_const_kib = 2048,
};

/* ---- sleep and threshold ---- */

static void test_sleep_ms(void **state)
{
        static const struct {
                int64_t sleep_msec, total, want;
        } cases[] = {
                {10, 8388608, 20},
                {10, 16777216, 10},
                {10, 16303820, 10}, /* 10.29 truncates to 10 */
                {10, 4194304, 40},
                {10, 8000, 20971},
                {10, 4294967296LL, 10}, /* 0 is floored to 10 */
                {0, 8388608, 10},
                {100, 16 * GIB_KB, 100}, /* Proxmox */
                {100, 64 * GIB_KB, 25},
                {100, 128 * GIB_KB, 12},
                {100, 160 * GIB_KB, 10},
                {100, 200 * GIB_KB, 10},
                {11, 16 * GIB_KB, 11},
                /* the largest KSM_SLEEP_MSEC on a petabyte host: no overflow */
                {4294967295LL, (int64_t)1 << 50, 63},
                {4294967295LL, 1, 4294967295LL * 16 * 1024 * 1024},
                {10, 0, 10},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct legacy_params p = defaults;
                int64_t got;

                p.sleep_msec = cases[i].sleep_msec;
                got = legacy_sleep_ms(&p, cases[i].total);
                if (got != cases[i].want)
                        print_message("case %zu: %lld\n", i, (long long)got);
                assert_true(got == cases[i].want);
        }
}

static void test_thres(void **state)
{
        static const struct {
                int64_t coef, cnst, total, want;
        } cases[] = {
                {20, 2048, 8388608, 1677721},
                {20, 2048, 16777216, 3355443},
                {20, 2048, 8000, 2048},  /* KSM_THRES_CONST wins on a tiny host */
                {20, 2048, 10240, 2048}, /* 2048 exactly: equal either way */
                {20, 2048, 10245, 2049},
                {20, 2048, 4294967296LL, 858993459},
                {0, 2048, 8388608, 2048},
                {0, 0, 8388608, 0},
                {100, 0, 8388608, 8388608},
                {100, 0, (int64_t)1 << 50, (int64_t)1 << 50},
                {20, (int64_t)1 << 40, 8388608, (int64_t)1 << 40},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct legacy_params p = defaults;
                int64_t got;

                p.thres_coef = cases[i].coef;
                p.thres_const_kib = cases[i].cnst;
                got = legacy_thres_kib(&p, cases[i].total);
                if (got != cases[i].want)
                        print_message("case %zu: %lld\n", i, (long long)got);
                assert_true(got == cases[i].want);
        }
}

static void test_clamp(void **state)
{
        struct legacy_params p = defaults;

        (void)state;
        assert_true(legacy_clamp_npages(&p, -50) == 64);
        assert_true(legacy_clamp_npages(&p, 63) == 64);
        assert_true(legacy_clamp_npages(&p, 64) == 64);
        assert_true(legacy_clamp_npages(&p, 700) == 700);
        assert_true(legacy_clamp_npages(&p, 1250) == 1250);
        assert_true(legacy_clamp_npages(&p, 1251) == 1250);
        /* MIN > MAX: below MIN goes to MIN, above MAX (and not below MIN) to MAX */
        p.npages_min = 2000;
        p.npages_max = 10;
        assert_true(legacy_clamp_npages(&p, 300) == 2000);
        assert_true(legacy_clamp_npages(&p, 2300) == 10);
}

/* ---- decisions ---- */

/* 8 GiB host: thres 1677721, sleep 20. */
static struct policy_sample sample(int64_t free_kib, int64_t committed_kib)
{
        return (struct policy_sample){
                .mem_total_kib = 8388608,
                .mem_free_kib = free_kib,
                .buffers_kib = 0,
                .cached_kib = 0,
                .committed_kib = committed_kib,
        };
}

static struct policy_decision decide(const struct legacy_params *p, struct policy_sample s,
                                     int64_t npages)
{
        struct policy_state st = {.npages = npages};
        struct policy_decision d;

        legacy_policy_decide(p, &s, &st, &d);
        return d;
}

static void test_boost_trajectory(void **state)
{
        static const int64_t want[] = {300, 600, 900, 1200, 1250, 1250};
        struct policy_state st = {0};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                struct policy_sample s = sample(1000, 8000000); /* short of memory */
                struct policy_decision d;

                legacy_policy_decide(&defaults, &s, &st, &d);
                assert_int_equal(d.action, POLICY_START);
                assert_true(d.boost);
                assert_true(d.pages_to_scan == want[i]);
                assert_true(d.next.npages == want[i]);
                assert_true(d.sleep_ms == 20);
                assert_true(d.thres_kib == 1677721);
                st = d.next;
        }
}

static void test_decay(void **state)
{
        /* free is plenty, but committed + thres >= total: keep scanning, slower */
        struct policy_sample s = sample(4000000, 8000000);
        struct policy_decision d;

        (void)state;
        d = decide(&defaults, s, 0); /* first decay from 0 */
        assert_int_equal(d.action, POLICY_START);
        assert_false(d.boost);
        assert_true(d.pages_to_scan == 64);
        assert_true(d.next.npages == 64);

        d = decide(&defaults, s, 1250); /* after boosts */
        assert_true(d.pages_to_scan == 1200);
        d = decide(&defaults, s, d.next.npages);
        assert_true(d.pages_to_scan == 1150);
        d = decide(&defaults, s, 100);
        assert_true(d.pages_to_scan == 64);
}

static void test_min_above_max(void **state)
{
        struct legacy_params p = defaults;
        struct policy_sample s = sample(1000, 8000000);
        struct policy_decision d;

        (void)state;
        p.npages_min = 2000;
        p.npages_max = 10;
        d = decide(&p, s, 0);
        assert_true(d.pages_to_scan == 2000); /* MIN wins */
        d = decide(&p, s, d.next.npages);
        assert_true(d.pages_to_scan == 10); /* 2300 is above MAX and not below MIN */
        d = decide(&p, s, d.next.npages);
        assert_true(d.pages_to_scan == 2000);
}

static void test_stop_keeps_npages(void **state)
{
        struct policy_decision d;

        (void)state;
        d = decide(&defaults, sample(4000000, 1000000), 900);
        assert_int_equal(d.action, POLICY_STOP);
        assert_false(d.boost);
        assert_true(d.next.npages == 900);
        assert_true(d.pages_to_scan == 900);
        assert_true(d.free_kib == 4000000);
        assert_true(d.committed_plus_thres_kib == 1000000 + 1677721);
        assert_true(d.sleep_ms == 20);

        /* and the next START continues from there */
        d = decide(&defaults, sample(1000, 8000000), d.next.npages);
        assert_true(d.pages_to_scan == 1200);
}

static void test_free_is_sum(void **state)
{
        struct policy_sample s = sample(100, 0);
        struct policy_decision d;

        (void)state;
        s.buffers_kib = 1000000;
        s.cached_kib = 700000; /* 1700100 > thres only with all three */
        d = decide(&defaults, s, 0);
        assert_true(d.free_kib == 1700100);
        assert_int_equal(d.action, POLICY_STOP);

        s.cached_kib = 600000; /* 1600100 < thres */
        d = decide(&defaults, s, 0);
        assert_int_equal(d.action, POLICY_START);
        assert_true(d.boost);
}

struct boundary_case {
        const char *what;
        int64_t free_kib, committed_kib;
        enum policy_action action;
        bool boost;
};

#define THRES_8G 1677721
#define TOTAL_8G 8388608

static const struct boundary_case boundary_cases[] = {
        {"free == thres: start and decay", THRES_8G, 0, POLICY_START, false},
        {"free == thres - 1: boost", THRES_8G - 1, 0, POLICY_START, true},
        {"free == thres + 1, committed small: stop", THRES_8G + 1, 0, POLICY_STOP, false},
        {"committed + thres == total: start", 5000000, TOTAL_8G - THRES_8G, POLICY_START, false},
        {"committed + thres == total - 1, free > thres: stop", THRES_8G + 1,
         TOTAL_8G - THRES_8G - 1, POLICY_STOP, false},
        {"committed + thres == total - 1, free == thres: start", THRES_8G, TOTAL_8G - THRES_8G - 1,
         POLICY_START, false},
        {"committed + thres > total, free < thres: boost", 0, TOTAL_8G, POLICY_START, true},
        {"nothing free, nothing committed: boost", 0, 0, POLICY_START, true},
};

static void test_boundaries(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(boundary_cases); i++) {
                const struct boundary_case *t = &boundary_cases[i];
                struct policy_decision d =
                        decide(&defaults, sample(t->free_kib, t->committed_kib), 500);

                if (d.action != t->action || d.boost != t->boost)
                        print_message("%s: action %d boost %d\n", t->what, d.action, d.boost);
                assert_int_equal(d.action, t->action);
                assert_int_equal(d.boost, t->boost);
                assert_true(d.thres_kib == THRES_8G);
                if (t->action == POLICY_STOP)
                        assert_true(d.next.npages == 500);
                else
                        assert_true(d.next.npages == (t->boost ? 800 : 450));
        }
}

static void test_tiny_host(void **state)
{
        struct policy_sample s = {.mem_total_kib = 8000, .mem_free_kib = 2048};
        struct policy_decision d;

        (void)state;
        d = decide(&defaults, s, 0);
        assert_true(d.thres_kib == 2048); /* 1600 raised to KSM_THRES_CONST */
        assert_true(d.sleep_ms == 20971);
        assert_int_equal(d.action, POLICY_START); /* free == thres */
        assert_false(d.boost);
        s.mem_free_kib = 2049;
        d = decide(&defaults, s, 0);
        assert_int_equal(d.action, POLICY_STOP);
        s.mem_free_kib = 1700; /* above 20% but below the constant */
        d = decide(&defaults, s, 0);
        assert_true(d.boost);
}

static void test_huge_host(void **state)
{
        struct policy_sample s = {
                .mem_total_kib = 4 * TIB_KB, /* 4294967296 kB */
                .mem_free_kib = 1 * TIB_KB,
                .buffers_kib = 0,
                .cached_kib = 0,
                .committed_kib = 3 * TIB_KB, /* 3221225472 kB, above 2^31 */
        };
        struct policy_decision d;

        (void)state;
        assert_true(s.mem_total_kib == 4294967296LL);
        d = decide(&defaults, s, 0);
        assert_true(d.sleep_ms == 10);
        assert_true(d.thres_kib == 858993459);
        assert_true(d.committed_plus_thres_kib == 3221225472LL + 858993459);
        assert_int_equal(d.action, POLICY_STOP); /* 4080218931 < 4294967296, 1 TiB free */

        s.committed_kib = 3 * TIB_KB + TIB_KB / 2; /* 3.5 TiB committed */
        d = decide(&defaults, s, 0);
        assert_true(d.committed_plus_thres_kib == 3758096384LL + 858993459);
        assert_int_equal(d.action, POLICY_START);
        assert_false(d.boost);
        assert_true(d.pages_to_scan == 64);

        s.mem_free_kib = 800000000; /* below the 858993459 kB threshold */
        s.buffers_kib = 50000000;
        s.cached_kib = 8993458;
        d = decide(&defaults, s, 0);
        assert_true(d.free_kib == 858993458);
        assert_true(d.boost);

        /* committed several times RAM (overcommitted 4 TiB host) */
        s.committed_kib = 40 * TIB_KB;
        s.mem_free_kib = 2 * TIB_KB;
        d = decide(&defaults, s, 0);
        assert_int_equal(d.action, POLICY_START);
        assert_true(d.committed_plus_thres_kib == 40 * TIB_KB + 858993459);
}

static void test_thres_coef_zero(void **state)
{
        struct legacy_params p = defaults;
        struct policy_decision d;

        (void)state;
        p.thres_coef = 0;
        d = decide(&p, sample(2049, TOTAL_8G - 2049), 0);
        assert_true(d.thres_kib == 2048);
        assert_int_equal(d.action, POLICY_STOP); /* committed + 2048 < total, 2049 > 2048 */

        p.thres_const_kib = 0;
        d = decide(&p, sample(1, TOTAL_8G - 1), 0);
        assert_true(d.thres_kib == 0);
        assert_int_equal(d.action, POLICY_STOP);
        d = decide(&p, sample(0, 0), 0); /* free == thres == 0 */
        assert_int_equal(d.action, POLICY_START);
        assert_false(d.boost);
        d = decide(&p, sample(5, TOTAL_8G), 0);
        assert_int_equal(d.action, POLICY_START);
        assert_false(d.boost);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sleep_ms),
                cmocka_unit_test(test_thres),
                cmocka_unit_test(test_clamp),
                cmocka_unit_test(test_boost_trajectory),
                cmocka_unit_test(test_decay),
                cmocka_unit_test(test_min_above_max),
                cmocka_unit_test(test_stop_keeps_npages),
                cmocka_unit_test(test_free_is_sum),
                cmocka_unit_test(test_boundaries),
                cmocka_unit_test(test_tiny_host),
                cmocka_unit_test(test_huge_host),
                cmocka_unit_test(test_thres_coef_zero),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
