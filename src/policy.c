/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy.h"

#include <string.h>

int64_t legacy_sleep_ms(const struct legacy_params *p, int64_t mem_total_kib)
{
        int64_t sleep_ms;

        if (mem_total_kib <= 0)
                return 10;
        /* Left to right as the stock $[ ] expression: SLEEP*16*1024*1024/total. */
        sleep_ms = p->sleep_msec * 16 * 1024 * 1024 / mem_total_kib;
        /* A floor, never a ceiling: "-le 10" turns 10 and below into 10. */
        if (sleep_ms <= 10)
                sleep_ms = 10;
        return sleep_ms;
}

int64_t legacy_thres_kib(const struct legacy_params *p, int64_t mem_total_kib)
{
        int64_t thres = mem_total_kib * p->thres_coef / 100;

        if (p->thres_const_kib > thres)
                thres = p->thres_const_kib;
        return thres;
}

int64_t legacy_clamp_npages(const struct legacy_params *p, int64_t npages)
{
        /* Checked in this order, so MIN wins when MIN > MAX, as in stock. */
        if (npages < p->npages_min)
                return p->npages_min;
        if (npages > p->npages_max)
                return p->npages_max;
        return npages;
}

void legacy_policy_decide(const struct legacy_params *p, const struct policy_sample *s,
                          const struct policy_state *state, struct policy_decision *ret)
{
        struct policy_decision d;

        memset(&d, 0, sizeof(d));
        d.sleep_ms = legacy_sleep_ms(p, s->mem_total_kib);
        d.thres_kib = legacy_thres_kib(p, s->mem_total_kib);
        d.free_kib = s->mem_free_kib + s->buffers_kib + s->cached_kib;
        d.committed_plus_thres_kib = s->committed_kib + d.thres_kib;
        d.next = *state;

        if (d.committed_plus_thres_kib < s->mem_total_kib && d.free_kib > d.thres_kib) {
                d.action = POLICY_STOP;
                d.pages_to_scan = state->npages;
                *ret = d;
                return;
        }

        d.action = POLICY_START;
        d.boost = d.free_kib < d.thres_kib; /* equality decays */
        d.pages_to_scan = legacy_clamp_npages(
                p, state->npages + (d.boost ? p->npages_boost : p->npages_decay));
        d.next.npages = d.pages_to_scan;
        *ret = d;
}
