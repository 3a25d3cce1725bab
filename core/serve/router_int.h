/*
 * router_int.h - what the router's files share (router.c,
 * router_latency.c): appending an entry, the small seeded generator.
 * Not for use outside the router.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ROUTER_INT_H
#define SY_CORE_ROUTER_INT_H

#include "base/sy.h"
#include "router.h"

static inline void
sy_route_add(struct sy_route_entry *list, size_t *n,
             const struct sy_deployment *d, double score, const char *why)
{
    if (*n >= SY_ROUTE_MAX)
        return;
    list[*n].d = d;
    list[*n].score = score;
    list[*n].why = why;
    list[*n].slow = false;
    list[*n].learning = false;
    list[*n].exploring = false;
    (*n)++;
}

/* A small generator seeded by the caller's random number, so a plan is
 * reproducible in tests. */
static inline uint32_t
sy_route_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* router_latency.c: the latency and cost strategies. */
void sy_router_plan_ranked(const struct sy_group *g,
                           const struct sy_dep_view *views,
                           const struct sy_route_req *rq, uint64_t seq,
                           uint32_t rnd, struct sy_route_plan *out);

#endif
