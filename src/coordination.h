/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What the D-Bus side says about KSM and memory, derived from each cycle:
 * pure functions of (settings, cycle facts, previous state), like the policy. */

enum ksm_state {
        KSM_STATE_STOPPED,
        KSM_STATE_MERGING,
        KSM_STATE_SATURATED, /* at maximum effort and memory still short */
        KSM_STATE_HELD,      /* an inhibitor holds the knobs */
        KSM_STATE_EXTERNAL,  /* someone else changed the knobs since our last write */
};

enum pressure {
        PRESSURE_NONE,     /* free >= threshold */
        PRESSURE_LOW,      /* free < threshold */
        PRESSURE_CRITICAL, /* MemAvailable below critical_percent of MemTotal */
};

struct coord_settings {
        unsigned saturate_cycles;
        unsigned critical_percent;
        int64_t npages_min;
        int64_t npages_max;
};

struct coord_cycle {
        bool running;          /* the cycle decided run=1 */
        bool boost;            /* ... in the boost branch (free < threshold) */
        int64_t pages_to_scan; /* decided */
        int64_t free_kib;      /* MemFree + Buffers + Cached */
        int64_t thres_kib;
        int64_t mem_total_kib;
        int64_t mem_available_kib;
        bool has_mem_available;
        bool held;
        bool external_write;
        uint64_t now_usec; /* CLOCK_REALTIME, for since_usec */
};

struct coord_state {
        unsigned max_effort_cycles;
        uint64_t short_since_usec; /* when the current saturation began */
};

struct coord_result {
        enum ksm_state state;
        enum pressure pressure;
        bool advise_balloon;
        uint32_t level; /* 1: saturated, 2: critical */
        uint64_t deficit_bytes;
        uint64_t since_usec;
        uint32_t effort; /* 0..1000 */
};

const char *ksm_state_name(enum ksm_state s);
const char *pressure_name(enum pressure p);

enum pressure coord_pressure(const struct coord_settings *s, const struct coord_cycle *c);
uint32_t coord_effort(const struct coord_settings *s, bool running, int64_t pages_to_scan);
void coord_update(const struct coord_settings *s, const struct coord_cycle *c,
                  struct coord_state *state, struct coord_result *ret);

enum recommendation {
        RECOMMEND_NONE,    /* the host is not short of memory: nothing to do */
        RECOMMEND_WAIT,    /* KSM is expected to free it soon enough */
        RECOMMEND_BALLOON, /* KSM will not (saturated, held, critical, too slow) */
};

struct assess_input {
        uint64_t bytes_needed;
        uint64_t max_wait_usec;
        enum ksm_state state;
        enum pressure pressure;
        uint32_t effort;
        uint64_t saved_bytes_rate; /* bytes per second over the last interval */
        uint64_t interval_usec;    /* until KSM's next step up */
        uint64_t headroom_bytes;   /* free - threshold, 0 when short */
};

struct assess_result {
        enum recommendation recommend;
        uint64_t eta_usec; /* UINT64_MAX: unknown */
};

const char *recommendation_name(enum recommendation r);
void coord_assess(const struct assess_input *in, struct assess_result *ret);
