/*
 * hedge.c - the hedge decision and its delay (the share of a group's
 * requests that may be hedged is hedge_share.c's).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "hedge.h"
#include "state.h"
#include "config/config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define HEDGE_DELAY_MIN_MS 10
#define HEDGE_DELAY_MAX_MS 60000

struct sy_hedge_ttft
sy_hedge_ttft_of(const struct sy_dep_view *v)
{
    struct sy_hedge_ttft t = { 0, 0, 0 };
    if (v == NULL)
        return t;
    if (v->samples >= SY_HEDGE_MIN_SAMPLES && v->ttft_p95_ms > 0) {
        t.p50_ms = v->ttft_p50_ms;
        t.p95_ms = v->ttft_p95_ms;
        t.p99_ms = v->ttft_p99_ms;
    } else if (v->known.samples > 0) {
        t.p50_ms = v->known.ttft_p50_ms;
        t.p95_ms = v->known.ttft_p95_ms;
        t.p99_ms = v->known.ttft_p99_ms;
    }
    return t;
}

uint32_t
sy_hedge_delay_ms(const struct sy_hedge_conf *h, const struct sy_dep_view *v)
{
    if (h == NULL || !h->on)
        return 0;
    if (!h->after_p95)
        return h->after_ms;
    uint32_t ms = sy_hedge_ttft_of(v).p95_ms;
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
sy_hedge_delay_cold_ms(const struct sy_hedge_conf *h,
                       const struct sy_dep_view *const *all, size_t n)
{
    if (h == NULL || !h->on || !h->after_p95)
        return 0;
    uint64_t samples = 0;
    uint32_t p95 = 0;
    for (size_t i = 0; i < n; i++) {
        if (all[i] == NULL)
            continue;
        if (sy_hedge_ttft_of(all[i]).p95_ms > 0)
            return 0; /* not a cold start: one has a picture */
        samples += all[i]->samples;
        p95 = SY_MAX(p95, all[i]->ttft_p95_ms);
    }
    if (samples < SY_HEDGE_MIN_SAMPLES || p95 == 0)
        return 0;
    return SY_MIN(SY_MAX(2 * p95, HEDGE_DELAY_MIN_MS), HEDGE_DELAY_MAX_MS);
}

/* S(x) of the log-normal with median 'p50' and shape 'sigma'. */
static double
survival(double x, double p50, double sigma)
{
    return 0.5 * erfc(log(x / p50) / (sigma * M_SQRT2));
}

uint32_t
sy_hedge_delay_tail_ms(uint32_t base_ms, const struct sy_dep_view *first,
                       uint32_t peer_p50_ms)
{
    if (base_ms == 0 || first == NULL || peer_p50_ms == 0)
        return base_ms;
    struct sy_hedge_ttft pic = sy_hedge_ttft_of(first);
    uint32_t p50 = pic.p50_ms, p95 = pic.p95_ms, p99 = pic.p99_ms;
    if (p50 == 0 || p95 == 0)
        return base_ms;
    /* The wider of the fits through the p95 and through the p99 (1.645
     * and 2.326: the standard normal's 95th and 99th percentiles): a
     * tail that shows only past the p95, occasional stalls, is a heavy
     * tail. A p95 and p99 at the p50 are as light a tail as there is. */
    double sigma = p95 > p50 ? log((double)p95 / (double)p50) / 1.645 : 0.0;
    if (p99 > p50)
        sigma = SY_MAX(sigma, log((double)p99 / (double)p50) / 2.326);
    /* A stall: past the fit's 99.9th percentile (3.09). Hedged from the
     * window's held p99 (under 200 samples its third-slowest, nearer a
     * p97), 3 % of the waits of a healthy light-tailed deployment would
     * use the share. */
    double stall = SY_MAX((double)base_ms, (double)p50 * exp(3.09 * sigma));
    stall = SY_MIN(stall, (double)HEDGE_DELAY_MAX_MS);
    for (double t = base_ms; sigma > 0.0 && t < stall;
         t = SY_MAX(t * 1.1, t + 1.0)) {
        double s = survival(t, p50, sigma);
        if (s < 1e-12)
            break; /* past where the fit puts any mass: a stall */
        if (survival(t + peer_p50_ms, p50, sigma) / s >= SY_HEDGE_WIN_MIN)
            return (uint32_t)t;
    }
    return (uint32_t)stall;
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

uint64_t
sy_hedge_again_ms(uint32_t base_ms, uint32_t delay_ms, uint64_t elapsed_ms)
{
    if (delay_ms == 0)
        return 0;
    if (elapsed_ms < delay_ms)
        return delay_ms;
    uint64_t again = elapsed_ms + SY_MAX(SY_MIN(base_ms, delay_ms),
                                         (uint32_t)SY_HEDGE_AGAIN_MIN_MS);
    return again <= HEDGE_DELAY_MAX_MS ? again : 0;
}

bool
sy_hedge_due(uint64_t elapsed_ms, uint32_t delay_ms, enum sy_hedge_rule rule)
{
    return elapsed_ms >= delay_ms || rule == SY_HEDGE_RULE_STALL;
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
