/*
 * pipeline_probe.c - the cut of an exploration probe. A deployment the
 * latency strategy knows to be slow (drained, or over a threshold) is
 * put first for explore_pct percent of requests, so the group learns
 * when it recovers (router_latency.c). In a group that hedges, a probe
 * is hedged once the healthy deployments would have answered
 * (pipeline_hedge.c). In one that does not, the probe's caller waited
 * as long as the slow deployment took: a deployment that hangs (it
 * takes connections and sends nothing) cost every probe's caller the
 * whole first-byte time-out. So a probe whose provider call streams is
 * given up when nothing (not even a header) came back once the healthy
 * deployments would have answered twice over
 * (twice the shortest TTFT p95 of the plan's healthy candidates, at
 * least SY_PROBE_CUT_MIN_MS), and the request moves on to the next
 * candidate. The cut is no breaker failure and no latency sample (at
 * the cut, with no slower sample in the window to draw from, it would
 * make the deployment look faster than it is); its wait for a first
 * token ends as a time-out no shorter than what the waits before it
 * said (state/inflight.h), so the deployment stays drained.
 * Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "base/err.h"
#include "base/mem.h"
#include "config/config.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "router.h"
#include "state/hedge.h"
#include "state/state.h"

uint32_t
sy_pipeline_probe_cut_ms(struct pctx *c, const struct sy_upstream_call *uc)
{
    const struct sy_route_entry *e = &c->plan->cand[c->plan_i];
    /* Only a probe of a deployment known slow (one never seen has no
     * expectation to be held to), not the breaker's half-open probe
     * (its outcome decides the breaker), only where the first token is
     * what the first byte is (a reply that comes whole takes as long as
     * the answer), and not where a hedge does the job. */
    if (!e->exploring || e->learning || c->probe_token != NULL ||
        uc->on_data == NULL || c->group == NULL || c->group->hedge.on ||
        c->w->state == NULL)
        return 0;
    struct sy_dep_view *views = sy_arena_zalloc(
        &c->w->arena, (c->w->cfg->ndeployments + 1) * sizeof(*views));
    sy_state_views(c->w->state, views);
    uint32_t best = 0;
    for (size_t i = 0; i < c->plan->ncand; i++) {
        const struct sy_route_entry *h = &c->plan->cand[i];
        if (i == c->plan_i || h->why != NULL || h->slow || h->learning ||
            h->exploring)
            continue;
        uint32_t p95 = sy_hedge_ttft_of(&views[h->d->index]).p95_ms;
        if (p95 > 0 && (best == 0 || p95 < best))
            best = p95;
    }
    if (best == 0)
        return 0;
    uint64_t ms = SY_MAX(2 * (uint64_t)best, (uint64_t)SY_PROBE_CUT_MIN_MS);
    return ms < uc->timeouts.first_byte_ms ? (uint32_t)ms : 0;
}

bool
sy_pipeline_probe_was_cut(const struct pctx *c,
                          const struct sy_upstream_call *uc)
{
    return c->probe_cut_ms > 0 && c->result == SY_EUP_TIMEOUT &&
           uc->no_response && uc->request_sent;
}
