/*
 * router.h - rank a group's deployments for one request from the live
 * picture of each deployment (latency quantiles, breaker state), by the
 * group's strategy: priority, latency, cost or weighted. Pure: the
 * snapshot (with each deployment's attempts in flight), the request's
 * size and a random number are arguments. router.c: the entry, priority,
 * weighted, the explanation; router_latency.c: latency and cost.
 * Prompt-cache affinity reorders a plan afterwards (affinity.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ROUTER_H
#define SY_CORE_ROUTER_H

#include "base/sy.h"
#include "base/limits.h"
#include "config/config.h"
#include "state/state.h" /* struct sy_dep_view */

/* The size of the request, for expected latency and cost. */
struct sy_route_req {
    uint64_t input_tokens;  /* estimate */
    uint64_t output_tokens; /* max_tokens, or a typical answer */
};

struct sy_route_entry {
    const struct sy_deployment *d;
    double score;    /* strategy-specific; lower is better */
    const char *why; /* static text: why excluded or demoted */
    bool slow;       /* known over the group's thresholds, or clearly
                        slower than the best: not where a conversation
                        stays (affinity.c) */
    bool learning;   /* never seen live yet: not where a conversation
                        goes either, until learned */
    bool exploring;  /* put first by exploration: affinity leaves it
                        there */
};

struct sy_route_plan {
    enum sy_strategy strategy;
    struct sy_route_entry cand[SY_ROUTE_MAX]; /* in the order to try */
    size_t ncand;
    struct sy_route_entry excl[SY_ROUTE_MAX]; /* not to be tried */
    size_t nexcl;
    const char *affinity; /* "hit", "moved", "miss", "none"; NULL: the
                             group has no affinity (affinity.c) */
};

void sy_router_plan(const struct sy_group *g, const struct sy_dep_view *views,
                    const struct sy_route_req *rq, uint32_t rnd,
                    struct sy_route_plan *out);
void sy_router_plan_seq(const struct sy_group *g,
                        const struct sy_dep_view *views,
                        const struct sy_route_req *rq, uint64_t seq,
                        uint32_t rnd, struct sy_route_plan *out);
void sy_router_exclude(struct sy_route_plan *p, const struct sy_deployment *d,
                       const char *why);
size_t sy_router_explain(const struct sy_route_plan *p, char *out,
                         size_t outlen);
double sy_router_expected_ms(const struct sy_dep_view *v,
                             const struct sy_route_req *rq);
double sy_router_cost_usd(const struct sy_deployment *d,
                          const struct sy_route_req *rq);

#endif
