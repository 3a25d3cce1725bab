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

/* pipeline_hedge.c: when a hedged pair asks again about the hedge of a
 * first attempt that has none yet, in ms since the attempt started
 * ('elapsed_ms' now; 0: never again). With its delay known ('delay_ms',
 * 'base_ms' the unmoved one): sy_hedge_again_ms. Without ('delay_ms'
 * 0: the attempt started before the plan's deployments had samples
 * enough for a delay, a cold start): after as long again as it has
 * waited, at least SY_HEDGE_PENDING_ASK_MS and at most
 * SY_HEDGE_PENDING_ASK_MAX_MS (each look copies the state's views under
 * its lock: many waits at once must not hold it), up to 60 s. A first
 * attempt of a group's first second was never hedged, however long it
 * waited: its delay was looked for once, at its start. Pure. */
#define SY_HEDGE_PENDING_ASK_MS     100
#define SY_HEDGE_PENDING_ASK_MAX_MS 1000
uint64_t sy_hedge_next_ask_ms(uint32_t base_ms, uint32_t delay_ms,
                              uint64_t elapsed_ms);

/* pipeline_hedge.c: the "p95" delay 'base_ms' of a first attempt on
 * 'first' moved to where a hedge on 'next' (the plan's first healthy
 * candidate after it, NULL: none) is likely to answer first
 * (sy_hedge_delay_tail_ms, on 'next''s TTFT p50). A first deployment
 * with no picture of its own yet (being learned: the router puts it
 * first as if it were as fast as the best learned one) is fitted on
 * 'next''s picture, as the router judges it: fitted on nothing, it was
 * hedged at the base, a learned peer's p95, where a wait of a
 * light-tailed deployment almost always ends before a hedge answers,
 * and in a group's first seconds such lost hedges took the share, which
 * then refused the long waits of the seconds after (the benchmark's
 * bad-tail: three hedges lost at 278 to 311 ms, then waits of 1.4, 3.6
 * and 7.1 s on the heavy-tailed deployment unhedged). Pure. */
uint32_t sy_hedge_delay_moved_ms(uint32_t base_ms,
                                 const struct sy_dep_view *first,
                                 const struct sy_dep_view *next);

#endif
