/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "coordination.h"

static const struct coord_settings settings = {
        .saturate_cycles = 3,
        .critical_percent = 5,
        .npages_min = 64,
        .npages_max = 1250,
};

/* An 8 GiB host: threshold 20 % = 1677721 kB, critical below 5 % = 419430 kB. */
static struct coord_cycle cycle(int64_t pages, bool boost, int64_t free_kib, int64_t avail_kib)
{
        return (struct coord_cycle){
                .running = true,
                .boost = boost,
                .pages_to_scan = pages,
                .free_kib = free_kib,
                .thres_kib = 1677721,
                .mem_total_kib = 8388608,
                .mem_available_kib = avail_kib,
                .has_mem_available = true,
                .now_usec = 1000,
        };
}

static void test_pressure_levels(void **state)
{
        struct coord_cycle c = cycle(300, true, 100000, 3000000);

        (void)state;
        assert_int_equal(coord_pressure(&settings, &c), PRESSURE_LOW);
        c.free_kib = 1677721; /* equal: not short */
        assert_int_equal(coord_pressure(&settings, &c), PRESSURE_NONE);
        c.mem_available_kib = 419429;
        assert_int_equal(coord_pressure(&settings, &c), PRESSURE_CRITICAL);
        c.mem_available_kib = 419430;
        assert_int_equal(coord_pressure(&settings, &c), PRESSURE_NONE);
        c.has_mem_available = false; /* old kernels: never critical */
        c.mem_available_kib = 0;
        assert_int_equal(coord_pressure(&settings, &c), PRESSURE_NONE);
}

static void test_effort(void **state)
{
        (void)state;
        assert_int_equal(coord_effort(&settings, false, 1250), 0);
        assert_int_equal(coord_effort(&settings, true, 64), 0);
        assert_int_equal(coord_effort(&settings, true, 1250), 1000);
        assert_int_equal(coord_effort(&settings, true, 657), 500);
        struct coord_settings inverted = settings;
        inverted.npages_min = 2000; /* MIN > MAX: always at the limit */
        assert_int_equal(coord_effort(&inverted, true, 2000), 1000);
}

static void test_saturation_after_n_cycles(void **state)
{
        struct coord_state st = {0};
        struct coord_result r;
        struct coord_cycle c = cycle(1250, true, 100000, 3000000);

        (void)state;
        c.now_usec = 111;
        coord_update(&settings, &c, &st, &r);
        assert_false(r.advise_balloon);
        assert_int_equal(r.state, KSM_STATE_MERGING);
        c.now_usec = 222;
        coord_update(&settings, &c, &st, &r);
        assert_false(r.advise_balloon);
        c.now_usec = 333;
        coord_update(&settings, &c, &st, &r);
        assert_true(r.advise_balloon);
        assert_int_equal(r.level, 1);
        assert_int_equal(r.state, KSM_STATE_SATURATED);
        assert_int_equal(r.since_usec, 111); /* when it began */
        assert_int_equal(r.deficit_bytes, (uint64_t)(1677721 - 100000) * 1024);
        /* repeated while it lasts */
        coord_update(&settings, &c, &st, &r);
        assert_true(r.advise_balloon);
        /* a decay (free recovered) ends it */
        c = cycle(1200, false, 2000000, 3000000);
        coord_update(&settings, &c, &st, &r);
        assert_false(r.advise_balloon);
        assert_int_equal(r.state, KSM_STATE_MERGING);
        assert_int_equal(st.max_effort_cycles, 0);
}

static void test_below_max_never_saturates(void **state)
{
        struct coord_state st = {0};
        struct coord_result r;
        struct coord_cycle c = cycle(1200, true, 100000, 3000000);

        (void)state;
        for (int i = 0; i < 10; i++)
                coord_update(&settings, &c, &st, &r);
        assert_false(r.advise_balloon);
}

static void test_critical_is_immediate_and_held_is_silent(void **state)
{
        struct coord_state st = {0};
        struct coord_result r;
        struct coord_cycle c = cycle(300, true, 100000, 100000);

        (void)state;
        coord_update(&settings, &c, &st, &r);
        assert_true(r.advise_balloon);
        assert_int_equal(r.level, 2);
        assert_int_equal(r.pressure, PRESSURE_CRITICAL);
        assert_int_equal(r.deficit_bytes, (uint64_t)(1677721 - 100000) * 1024);

        c.held = true; /* a migration hold: never advise */
        coord_update(&settings, &c, &st, &r);
        assert_false(r.advise_balloon);
        assert_int_equal(r.state, KSM_STATE_HELD);
}

static void test_states(void **state)
{
        struct coord_state st = {0};
        struct coord_result r;
        struct coord_cycle c = cycle(64, false, 5000000, 5000000);

        (void)state;
        c.running = false;
        coord_update(&settings, &c, &st, &r);
        assert_int_equal(r.state, KSM_STATE_STOPPED);
        assert_string_equal(ksm_state_name(r.state), "stopped");
        c.external_write = true;
        coord_update(&settings, &c, &st, &r);
        assert_int_equal(r.state, KSM_STATE_EXTERNAL);
        assert_string_equal(pressure_name(PRESSURE_CRITICAL), "critical");
}

static void test_assess(void **state)
{
        struct assess_input in = {
                .bytes_needed = 1 << 30,
                .max_wait_usec = 300000000,
                .state = KSM_STATE_MERGING,
                .pressure = PRESSURE_LOW,
                .effort = 500,
                .saved_bytes_rate = 10 << 20, /* 10 MiB/s: 1 GiB in 102 s */
        };
        struct assess_result out;

        (void)state;
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_WAIT);
        assert_int_equal(out.eta_usec, 102000000);

        in.max_wait_usec = 60000000; /* will not wait that long */
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_BALLOON);

        in.saved_bytes_rate = 0; /* ramping up, no rate yet */
        in.interval_usec = 60000000;
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_WAIT);
        assert_int_equal(out.eta_usec, UINT64_MAX);
        in.max_wait_usec = 0; /* a caller who will not wait for KSM's next step */
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_BALLOON);
        in.max_wait_usec = 60000000;
        in.effort = 1000; /* at the limit and nothing merges */
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_BALLOON);

        in.state = KSM_STATE_SATURATED;
        in.saved_bytes_rate = 100 << 20;
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_BALLOON);
        in.state = KSM_STATE_HELD;
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_BALLOON);

        in.state = KSM_STATE_MERGING;
        in.pressure = PRESSURE_NONE;
        in.headroom_bytes = 2ULL << 30; /* the need fits in what is free */
        coord_assess(&in, &out);
        assert_int_equal(out.recommend, RECOMMEND_NONE);
        assert_string_equal(recommendation_name(out.recommend), "none");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pressure_levels),
                cmocka_unit_test(test_effort),
                cmocka_unit_test(test_saturation_after_n_cycles),
                cmocka_unit_test(test_below_max_never_saturates),
                cmocka_unit_test(test_critical_is_immediate_and_held_is_silent),
                cmocka_unit_test(test_states),
                cmocka_unit_test(test_assess),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
