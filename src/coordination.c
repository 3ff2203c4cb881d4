/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "coordination.h"

#include <string.h>

const char *ksm_state_name(enum ksm_state s)
{
        switch (s) {
        case KSM_STATE_STOPPED: return "stopped";
        case KSM_STATE_MERGING: return "merging";
        case KSM_STATE_SATURATED: return "saturated";
        case KSM_STATE_HELD: return "held";
        case KSM_STATE_EXTERNAL: return "external";
        }
        return "?";
}

const char *pressure_name(enum pressure p)
{
        switch (p) {
        case PRESSURE_NONE: return "none";
        case PRESSURE_LOW: return "low";
        case PRESSURE_CRITICAL: return "critical";
        }
        return "?";
}

const char *recommendation_name(enum recommendation r)
{
        switch (r) {
        case RECOMMEND_NONE: return "none";
        case RECOMMEND_WAIT: return "wait";
        case RECOMMEND_BALLOON: return "balloon";
        }
        return "?";
}

static int64_t critical_kib(const struct coord_settings *s, const struct coord_cycle *c)
{
        return c->mem_total_kib * (int64_t)s->critical_percent / 100;
}

enum pressure coord_pressure(const struct coord_settings *s, const struct coord_cycle *c)
{
        /* MemAvailable, not the legacy free, decides "critical": it is the
         * kernel's own estimate of what can be had without swapping. */
        if (c->has_mem_available && c->mem_available_kib < critical_kib(s, c))
                return PRESSURE_CRITICAL;
        if (c->free_kib < c->thres_kib)
                return PRESSURE_LOW;
        return PRESSURE_NONE;
}

uint32_t coord_effort(const struct coord_settings *s, bool running, int64_t pages_to_scan)
{
        int64_t span = s->npages_max - s->npages_min;

        if (!running)
                return 0;
        if (span <= 0 || pages_to_scan >= s->npages_max)
                return 1000;
        if (pages_to_scan <= s->npages_min)
                return 0;
        return (uint32_t)((pages_to_scan - s->npages_min) * 1000 / span);
}

void coord_update(const struct coord_settings *s, const struct coord_cycle *c,
                  struct coord_state *state, struct coord_result *ret)
{
        struct coord_result r;
        bool max_effort;

        memset(&r, 0, sizeof(r));
        r.pressure = coord_pressure(s, c);
        r.effort = coord_effort(s, c->running, c->pages_to_scan);

        /* "At maximum effort and still short": scanning as fast as the
         * configuration allows and the last decision was a boost. */
        /* Decisions made while held are not applied: they do not count. */
        max_effort = !c->held && c->running && c->boost && c->pages_to_scan >= s->npages_max;
        if (max_effort) {
                if (state->max_effort_cycles == 0)
                        state->short_since_usec = c->now_usec;
                if (state->max_effort_cycles < UINT32_MAX)
                        state->max_effort_cycles++;
        } else
                state->max_effort_cycles = 0;

        if (!c->held) {
                if (r.pressure == PRESSURE_CRITICAL) {
                        int64_t d = critical_kib(s, c) - c->mem_available_kib;
                        int64_t legacy = c->thres_kib - c->free_kib;
                        r.advise_balloon = true;
                        r.level = 2;
                        r.deficit_bytes = (uint64_t)(d > legacy ? d : legacy) * 1024;
                        r.since_usec =
                                state->max_effort_cycles ? state->short_since_usec : c->now_usec;
                } else if (r.pressure == PRESSURE_LOW &&
                           state->max_effort_cycles >= s->saturate_cycles) {
                        r.advise_balloon = true;
                        r.level = 1;
                        r.deficit_bytes = (uint64_t)(c->thres_kib - c->free_kib) * 1024;
                        r.since_usec = state->short_since_usec;
                }
        }

        if (c->held)
                r.state = KSM_STATE_HELD;
        else if (r.advise_balloon)
                r.state = KSM_STATE_SATURATED;
        else if (c->external_write)
                r.state = KSM_STATE_EXTERNAL;
        else
                r.state = c->running ? KSM_STATE_MERGING : KSM_STATE_STOPPED;
        *ret = r;
}

void coord_assess(const struct assess_input *in, struct assess_result *ret)
{
        ret->eta_usec = UINT64_MAX;
        if (in->saved_bytes_rate > 0) {
                uint64_t secs = in->bytes_needed / in->saved_bytes_rate;
                ret->eta_usec = secs > UINT64_MAX / 1000000 ? UINT64_MAX : secs * 1000000;
        }

        if (in->pressure == PRESSURE_NONE && in->bytes_needed <= in->headroom_bytes) {
                ret->recommend = RECOMMEND_NONE;
                return;
        }
        /* KSM cannot help: held for a migration, already at its limit, or
         * memory is so short that waiting is the wrong bet. */
        if (in->state == KSM_STATE_HELD || in->state == KSM_STATE_SATURATED ||
            in->pressure == PRESSURE_CRITICAL) {
                ret->recommend = RECOMMEND_BALLOON;
                return;
        }
        if (ret->eta_usec != UINT64_MAX) {
                ret->recommend =
                        ret->eta_usec <= in->max_wait_usec ? RECOMMEND_WAIT : RECOMMEND_BALLOON;
                return;
        }
        /* No rate yet: worth waiting only while KSM is still ramping up, and
         * only for a caller willing to wait for its next step. */
        ret->recommend = in->state == KSM_STATE_MERGING && in->effort < 1000 &&
                                         in->max_wait_usec >= in->interval_usec
                                 ? RECOMMEND_WAIT
                                 : RECOMMEND_BALLOON;
}
