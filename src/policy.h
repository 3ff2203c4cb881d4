/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The stock ksmtuned algorithm as a pure function: no I/O, no clock. All
 * memory in kB, 64-bit signed arithmetic, truncating division, evaluated in
 * the stock order so that every decision matches it cycle for cycle. */

struct legacy_params {
        int64_t sleep_msec;
        int64_t npages_boost;
        int64_t npages_decay;
        int64_t npages_min;
        int64_t npages_max;
        int64_t thres_coef;
        int64_t thres_const_kib;
};

struct policy_sample {
        int64_t mem_total_kib; /* the stock script reads MemTotal once, at start-up */
        int64_t mem_free_kib;
        int64_t buffers_kib;
        int64_t cached_kib;
        int64_t committed_kib;
};

struct policy_state {
        int64_t npages; /* 0 at start; kept across stop phases */
};

enum policy_action {
        POLICY_STOP,  /* write run=0 only */
        POLICY_START, /* write pages_to_scan, sleep_millisecs, run=1, in that order */
};

struct policy_decision {
        enum policy_action action;
        bool boost;            /* START only: free < thres */
        int64_t pages_to_scan; /* START only; also the next state's npages */
        int64_t sleep_ms;
        int64_t thres_kib;
        int64_t free_kib;
        int64_t committed_plus_thres_kib;
        struct policy_state next;
};

int64_t legacy_sleep_ms(const struct legacy_params *p, int64_t mem_total_kib);
int64_t legacy_thres_kib(const struct legacy_params *p, int64_t mem_total_kib);
int64_t legacy_clamp_npages(const struct legacy_params *p, int64_t npages);

void legacy_policy_decide(const struct legacy_params *p, const struct policy_sample *s,
                          const struct policy_state *state, struct policy_decision *ret);
