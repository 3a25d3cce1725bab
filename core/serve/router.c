/*
 * router.c - order a group's deployments for one request.
 *
 * Every strategy first sets aside deployments whose breaker is open. Then:
 * - priority: the configured order;
 * - latency: deployments that meet the group's thresholds (max p99, max
 *   time to first token) by expected latency for this request (time to
 *   first token + time per output token x expected output tokens), then
 *   those over a threshold, also by expected latency;
 * - cost: the same partition, each part by estimated cost of this request;
 * - weighted: a random order drawn in proportion to the weights.
 * A deployment with fewer than min_samples completed requests is still
 * being learned (new, or fallen out of the latency window): explore_pct
 * percent of requests put one such deployment first, so together they
 * get a small, bounded share; otherwise they come after the learned ones
 * that meet the thresholds. Exploration is paced by the request's number
 * in its group (every 100 / explore_pct-th, the unlearned taking turns),
 * so the share holds second by second, not only on average. Pure
 * functions; used by core/serve/pipeline.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "router.h"

#include <stdio.h>
#include <string.h>

/* Expected total time of this request on a deployment, in ms. */
double
sy_router_expected_ms(const struct sy_dep_view *v,
                      const struct sy_route_req *rq)
{
    if (v->tpot_p50_us > 0)
        return (double)v->ttft_p50_ms +
               (double)v->tpot_p50_us * (double)rq->output_tokens / 1000.0;
    return (double)v->p50_ms;
}

/* Estimated price of this request on a deployment, in USD. */
double
sy_router_cost_usd(const struct sy_deployment *d, const struct sy_route_req *rq)
{
    return ((double)rq->input_tokens * d->price.input_per_mtok +
            (double)rq->output_tokens * d->price.output_per_mtok) /
           1e6;
}

static bool
meets_thresholds(const struct sy_group *g, const struct sy_dep_view *v)
{
    if (g->max_p99_ms > 0 && v->p99_ms > g->max_p99_ms)
        return false;
    if (g->max_ttft_ms > 0 && v->ttft_p95_ms > g->max_ttft_ms)
        return false;
    return true;
}

/* Insertion sort by score (lists are short, and it is stable). */
static void
sort_by_score(struct sy_route_entry *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct sy_route_entry x = e[i];
        size_t j = i;
        while (j > 0 && e[j - 1].score > x.score) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = x;
    }
}

static void
add(struct sy_route_entry *list, size_t *n, const struct sy_deployment *d,
    double score, const char *why)
{
    if (*n >= SY_ROUTE_MAX)
        return;
    list[*n].d = d;
    list[*n].score = score;
    list[*n].why = why;
    (*n)++;
}

/* A small generator seeded by the caller's random number, so a plan is
 * reproducible in tests. */
static uint32_t
next_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void
plan_weighted(const struct sy_group *g, const struct sy_dep_view *views,
              uint32_t rnd, struct sy_route_plan *out)
{
    struct sy_route_entry pool[SY_ROUTE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        if (views[d->index].breaker_open)
            continue;
        if (d->weight == 0)
            add(out->excl, &out->nexcl, d, 0, "weight 0");
        else
            add(pool, &n, d, (double)d->weight, NULL);
    }
    uint32_t st = rnd;
    while (n > 0) {
        double total = 0;
        for (size_t i = 0; i < n; i++)
            total += pool[i].score;
        double pick = (double)(next_rand(&st) % 1000000u) / 1e6 * total;
        size_t k = 0;
        for (; k + 1 < n; k++) {
            if (pick < pool[k].score)
                break;
            pick -= pool[k].score;
        }
        add(out->cand, &out->ncand, pool[k].d, pool[k].score, NULL);
        pool[k] = pool[n - 1];
        n--;
    }
}

/* Does this request explore, and which of the 'nlearning' unlearned
 * deployments (SIZE_MAX: none)? Request number 'seq' of the group in
 * this process explores when seq * pct / 100 steps up: exactly pct of
 * every 100 requests, evenly spaced, the unlearned deployments taking
 * turns. A coin per request gives the same share on average but in
 * bursts (at 5 % of 20 requests a second, 3 or more land in one second
 * 7.5 % of the time): a deployment that fell out of the latency window
 * and is learned again (a slow one, say) got those bursts. Without a
 * number (seq 0), the coin: 'rnd'. */
static size_t
explore_pick(unsigned pct, uint64_t seq, uint32_t rnd, size_t nlearning)
{
    if (seq > 0) {
        uint64_t before = (seq - 1) * pct / 100u;
        if (seq * pct / 100u == before)
            return SIZE_MAX;
        return (size_t)(before % nlearning);
    }
    uint32_t st = rnd;
    if (next_rand(&st) % 100u >= pct)
        return SIZE_MAX;
    return next_rand(&st) % nlearning;
}

/* Rank 'g' for request 'rq' into 'out'. 'views' is indexed by
 * deployment index (struct sy_deployment.index). 'rnd' drives exploration
 * and the weighted draw. */
void
sy_router_plan(const struct sy_group *g, const struct sy_dep_view *views,
               const struct sy_route_req *rq, uint32_t rnd,
               struct sy_route_plan *out)
{
    sy_router_plan_seq(g, views, rq, 0, rnd, out);
}

/* sy_router_plan() for request number 'seq' (from 1) of 'g' in this
 * process (sy_state_route_seq): exploration is then paced by it, not
 * drawn (see explore_pick). */
void
sy_router_plan_seq(const struct sy_group *g, const struct sy_dep_view *views,
                   const struct sy_route_req *rq, uint64_t seq, uint32_t rnd,
                   struct sy_route_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->strategy = g->strategy;
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        if (views[d->index].breaker_open)
            add(out->excl, &out->nexcl, d, 0, "breaker open");
    }
    if (g->strategy == SY_STRATEGY_WEIGHTED) {
        plan_weighted(g, views, rnd, out);
        return;
    }
    if (g->strategy == SY_STRATEGY_PRIORITY) {
        for (size_t i = 0; i < g->nroute; i++) {
            const struct sy_deployment *d = g->route[i];
            if (!views[d->index].breaker_open)
                add(out->cand, &out->ncand, d, (double)i, NULL);
        }
        return;
    }
    struct sy_route_entry good[SY_ROUTE_MAX], learning[SY_ROUTE_MAX],
        slow[SY_ROUTE_MAX];
    size_t ngood = 0, nlearning = 0, nslow = 0;
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        const struct sy_dep_view *v = &views[d->index];
        if (v->breaker_open)
            continue;
        double score = g->strategy == SY_STRATEGY_COST
                           ? sy_router_cost_usd(d, rq)
                           : sy_router_expected_ms(v, rq);
        /* Cheapest-first needs no latency knowledge unless the group
         * sets thresholds that a deployment must be seen to meet. */
        bool needs_learning = g->strategy != SY_STRATEGY_COST ||
                              g->max_p99_ms > 0 || g->max_ttft_ms > 0;
        if (needs_learning && v->samples < g->min_samples)
            add(learning, &nlearning, d, (double)i, "learning");
        else if (meets_thresholds(g, v))
            add(good, &ngood, d, score, NULL);
        else
            add(slow, &nslow, d, score, "over threshold");
    }
    sort_by_score(good, ngood);
    sort_by_score(slow, nslow);
    /* Exploration: a bounded share of requests tries an unlearned
     * deployment first; the rest of the time it waits behind the good
     * ones (and still serves as their fallback). With nothing learned
     * yet, everything is "learning" and the configured order holds. One
     * unlearned deployment per explored request, so the share stays
     * explore_pct in all however many are unlearned. */
    size_t pick = SIZE_MAX;
    if (nlearning > 0 && ngood > 0)
        pick = explore_pick(g->explore_pct, seq, rnd, nlearning);
    bool explore = pick != SIZE_MAX;
    if (explore)
        add(out->cand, &out->ncand, learning[pick].d, learning[pick].score,
            "exploring");
    for (size_t i = 0; i < ngood; i++)
        add(out->cand, &out->ncand, good[i].d, good[i].score, NULL);
    for (size_t i = 0; i < nlearning; i++)
        if (i != pick)
            add(out->cand, &out->ncand, learning[i].d, learning[i].score,
                learning[i].why);
    for (size_t i = 0; i < nslow; i++)
        add(out->cand, &out->ncand, slow[i].d, slow[i].score, slow[i].why);
}

/* Move 'd' from the candidates to the exclusions (a caller decision, e.g.
 * a missing capability or no API key with quota). */
void
sy_router_exclude(struct sy_route_plan *p, const struct sy_deployment *d,
                  const char *why)
{
    for (size_t i = 0; i < p->ncand; i++) {
        if (p->cand[i].d != d)
            continue;
        memmove(&p->cand[i], &p->cand[i + 1],
                (p->ncand - i - 1) * sizeof(p->cand[0]));
        p->ncand--;
        add(p->excl, &p->nexcl, d, 0, why);
        return;
    }
}

/* A compact, header-safe explanation: "latency; a=812ms b=940ms(learning);
 * excluded c(breaker open)". Returns the length written. */
size_t
sy_router_explain(const struct sy_route_plan *p, char *out, size_t outlen)
{
    size_t len = 0;
    int w = snprintf(out, outlen, "%s;", sy_strategy_name(p->strategy));
    if (w < 0 || (size_t)w >= outlen)
        return 0;
    len = (size_t)w;
    for (size_t i = 0; i < p->ncand && len < outlen; i++) {
        const struct sy_route_entry *e = &p->cand[i];
        if (p->strategy == SY_STRATEGY_LATENCY && e->why == NULL)
            w = snprintf(out + len, outlen - len, " %s=%.0fms", e->d->name,
                         e->score);
        else if (p->strategy == SY_STRATEGY_COST && e->why == NULL)
            w = snprintf(out + len, outlen - len, " %s=$%.6f", e->d->name,
                         e->score);
        else
            w = snprintf(out + len, outlen - len, " %s%s%s%s", e->d->name,
                         e->why ? "(" : "", e->why ? e->why : "",
                         e->why ? ")" : "");
        if (w < 0 || (size_t)w >= outlen - len)
            break;
        len += (size_t)w;
    }
    for (size_t i = 0; i < p->nexcl && len < outlen; i++) {
        w = snprintf(out + len, outlen - len, "%s%s(%s)",
                     i == 0 ? "; excluded " : " ", p->excl[i].d->name,
                     p->excl[i].why);
        if (w < 0 || (size_t)w >= outlen - len)
            break;
        len += (size_t)w;
    }
    return len;
}
