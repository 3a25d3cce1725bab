/*
 * router.c - order a group's deployments for one request.
 *
 * Every strategy first sets aside deployments whose breaker is open. Then:
 * - priority: the configured order;
 * - latency and cost (router_latency.c): those that meet the group's
 *   thresholds share the traffic by expected latency and attempts in
 *   flight, or go cheapest first; then those over a threshold; with a
 *   bounded, paced share for deployments still being learned and for
 *   known slow ones to be re-probed;
 * - weighted: a random order drawn in proportion to the weights.
 * Pure functions; used by core/serve/pipeline_chat.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "router.h"
#include "router_int.h"

#include <stdio.h>
#include <string.h>

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
            sy_route_add(out->excl, &out->nexcl, d, 0, "weight 0");
        else
            sy_route_add(pool, &n, d, (double)d->weight, NULL);
    }
    uint32_t st = rnd;
    while (n > 0) {
        double total = 0;
        for (size_t i = 0; i < n; i++)
            total += pool[i].score;
        double pick = (double)(sy_route_rand(&st) % 1000000u) / 1e6 * total;
        size_t k = 0;
        for (; k + 1 < n; k++) {
            if (pick < pool[k].score)
                break;
            pick -= pool[k].score;
        }
        sy_route_add(out->cand, &out->ncand, pool[k].d, pool[k].score, NULL);
        pool[k] = pool[n - 1];
        n--;
    }
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
 * drawn (router_latency.c). */
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
            sy_route_add(out->excl, &out->nexcl, d, 0, "breaker open");
    }
    if (g->strategy == SY_STRATEGY_WEIGHTED) {
        plan_weighted(g, views, rnd, out);
        return;
    }
    if (g->strategy == SY_STRATEGY_PRIORITY) {
        for (size_t i = 0; i < g->nroute; i++) {
            const struct sy_deployment *d = g->route[i];
            if (!views[d->index].breaker_open)
                sy_route_add(out->cand, &out->ncand, d, (double)i, NULL);
        }
        return;
    }
    sy_router_plan_ranked(g, views, rq, seq, rnd, out);
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
        sy_route_add(p->excl, &p->nexcl, d, 0, why);
        return;
    }
}

/* A compact, header-safe explanation: "latency; a=812ms b=940ms(learning);
 * excluded c(breaker open)", then "; affinity=hit" when the group has
 * prompt-cache affinity (affinity.c). Returns the length written. */
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
    if (p->affinity != NULL && len < outlen) {
        w = snprintf(out + len, outlen - len, "; affinity=%s", p->affinity);
        if (w > 0 && (size_t)w < outlen - len)
            len += (size_t)w;
        else
            out[len] = '\0'; /* whole or not at all */
    }
    return len;
}
