/*
 * hedge.c - the hedge decision and its delay (the share of a group's
 * requests that may be hedged is hedge_share.c's).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "hedge.h"
#include "state.h"
#include "config/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define HEDGE_DELAY_MIN_MS 10
#define HEDGE_DELAY_MAX_MS 60000

uint32_t
sy_hedge_delay_ms(const struct sy_hedge_conf *h, const struct sy_dep_view *v)
{
    if (h == NULL || !h->on)
        return 0;
    if (!h->after_p95)
        return h->after_ms;
    if (v == NULL)
        return 0;
    uint32_t ms = 0;
    if (v->samples > 0 && v->ttft_p95_ms > 0)
        ms = v->ttft_p95_ms;
    else if (v->known.samples > 0 && v->known.ttft_p95_ms > 0)
        ms = v->known.ttft_p95_ms;
    if (ms == 0)
        return 0;
    return SY_MIN(SY_MAX(ms, HEDGE_DELAY_MIN_MS), HEDGE_DELAY_MAX_MS);
}

uint32_t
sy_hedge_delay_plan_ms(const struct sy_hedge_conf *h,
                       const struct sy_dep_view *first,
                       const struct sy_dep_view *const *peers, size_t npeers)
{
    uint32_t ms = sy_hedge_delay_ms(h, first);
    if (h == NULL || !h->on || !h->after_p95)
        return ms;
    for (size_t i = 0; i < npeers; i++) {
        uint32_t p = sy_hedge_delay_ms(h, peers[i]);
        if (p > 0 && (ms == 0 || p < ms))
            ms = p;
    }
    return ms;
}

uint32_t
sy_hedge_delay_stretched(uint32_t delay_ms, uint64_t requests, uint64_t hedges,
                         double max_share)
{
    if (delay_ms == 0 || !(max_share > 0.0))
        return delay_ms;
    double used = (double)hedges / (max_share * (double)requests + 1.0);
    if (used <= SY_HEDGE_STRETCH_FROM)
        return delay_ms;
    double x = SY_MIN(
        (used - SY_HEDGE_STRETCH_FROM) / (1.0 - SY_HEDGE_STRETCH_FROM), 1.0);
    double ms = (double)delay_ms * (1.0 + (SY_HEDGE_STRETCH_MAX - 1.0) * x);
    return ms >= HEDGE_DELAY_MAX_MS ? HEDGE_DELAY_MAX_MS : (uint32_t)ms;
}

enum sy_hedge_verdict
sy_hedge_decide(uint32_t delay_ms, uint64_t elapsed_ms, bool first_token,
                bool has_next, bool share_ok)
{
    if (delay_ms == 0 || !has_next || first_token)
        return SY_HEDGE_NEVER;
    if (elapsed_ms < delay_ms)
        return SY_HEDGE_NOT_YET;
    return share_ok ? SY_HEDGE_NOW : SY_HEDGE_NEVER;
}
