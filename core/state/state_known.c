/*
 * state_known.c - what a process remembers of a deployment once its
 * latency window goes quiet.
 *
 * A deployment that slowed down loses its traffic; its window then
 * keeps only older samples (often the fast ones from before), and after
 * window_ms none at all. Judged by that window it would look fast again,
 * or new, and traffic would go back to it every time the window turned
 * over. So each view that is live (enough samples in the last two
 * slices, and a learned window) is kept as the deployment's known
 * picture, with its time; the router judges a deployment whose window is
 * not live by that picture (core/serve/router_latency.c), and a slow one
 * is re-probed within the exploration share only. Pure functions; the
 * memory itself is in core/state/state.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "state.h"
#include "config/config.h"
#include "latency.h"

#include <string.h>

/* Keep 'v' as the known picture when it is live, then give 'v' the known
 * picture and its age. 'learn_min': samples that make a window learned
 * (sy_known_learn_min); 'window_ms': the latency window's length. */
void
sy_known_keep(struct sy_dep_known *k, uint64_t *k_at_ms, struct sy_dep_view *v,
              uint64_t now_ms, unsigned learn_min, uint32_t window_ms)
{
    if (v->recent_samples >= SY_STATE_RECENT_MIN && v->samples > 0 &&
        v->samples >= learn_min) {
        k->samples = v->samples;
        k->p50_ms = v->p50_ms;
        k->p99_ms = v->p99_ms;
        k->ttft_p50_ms = v->ttft_p50_ms;
        k->ttft_p95_ms = v->ttft_p95_ms;
        k->ttft_p99_ms = v->ttft_p99_ms;
        k->tpot_p50_us = v->tpot_p50_us;
        *k_at_ms = now_ms;
    }
    v->known = *k;
    v->known.age_ms =
        k->samples > 0 && now_ms > *k_at_ms ? now_ms - *k_at_ms : 0;
    v->known.outlived = k->samples > 0 && v->known.age_ms >= window_ms;
}

static bool
lists(const struct sy_deployment *const *list, size_t n,
      const struct sy_deployment *d)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == d)
            return true;
    return false;
}

/* The fewest samples that make 'd' learned in any group that routes to
 * it (at least 1): a window that size is worth remembering. */
unsigned
sy_known_learn_min(const struct sy_config *cfg, const struct sy_deployment *d)
{
    unsigned min = 0;
    for (size_t i = 0; i < cfg->ngroups; i++) {
        const struct sy_group *g = &cfg->groups[i];
        if (!lists(g->route, g->nroute, d))
            continue;
        if (min == 0 || g->min_samples < min)
            min = g->min_samples;
    }
    return min > 0 ? min : 1;
}

/* Does a quantile ('permille') of 'n' samples have at least two of them
 * above its rank? Below that it is the worst sample or the one before. */
static bool
tail_holds(uint64_t n, unsigned permille)
{
    return n * (1000u - permille) >= 2000u;
}

/* A deployment that just slowed down must not hide behind the fast
 * samples still in its window: its last two slices ('recent'), when
 * they hold a few samples, can only raise the estimate. A tail quantile
 * is raised only from enough recent samples for it (p95 from 40, p99
 * from 200): from a few dozen, the recent "p99" is their slowest
 * sample, and one slow answer of a heavy-tailed deployment put it over
 * the group's max_p99_ms and drained it for a whole window. A slowdown
 * raises the median at once, and the window's own tail within a few
 * samples. */
void
sy_known_raise_by_recent(struct sy_latency_stats *s,
                         const struct sy_latency_stats *recent)
{
    for (int m = 0; m < SY_LATENCY__COUNT; m++) {
        const struct sy_latency_stats *r = &recent[m];
        if (r->count < SY_STATE_RECENT_MIN)
            continue;
        s[m].p50_us = SY_MAX(s[m].p50_us, r->p50_us);
        if (tail_holds(r->count, 950)) {
            s[m].p95_us = SY_MAX(s[m].p95_us, r->p95_us);
            s[m].p95_held_us = SY_MAX(s[m].p95_held_us, r->p95_held_us);
        }
        if (tail_holds(r->count, 990)) {
            s[m].p99_us = SY_MAX(s[m].p99_us, r->p99_us);
            s[m].p99_held_us = SY_MAX(s[m].p99_held_us, r->p99_held_us);
        }
        /* A median raised past the window's tail lifts the tail with it:
         * the quantiles stay in order. */
        s[m].p95_us = SY_MAX(s[m].p95_us, s[m].p50_us);
        s[m].p99_us = SY_MAX(s[m].p99_us, s[m].p95_us);
        s[m].p95_held_us = SY_MAX(s[m].p95_held_us, s[m].p50_us);
        s[m].p99_held_us = SY_MAX(s[m].p99_held_us, s[m].p95_held_us);
    }
}
