/*
 * affinity.h - prompt-cache affinity: requests of one conversation go to
 * the same deployment of a group while it stays eligible, so the
 * provider's prompt cache (billed at a fraction) keeps serving them.
 * The choice is rendezvous (highest random weight) hashing of the
 * conversation key over the eligible deployments: a deployment that
 * leaves moves only its own conversations, and they stay where they
 * moved while it is away. Pure, but for the per-process counters.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_AFFINITY_H
#define SY_CORE_AFFINITY_H

#include "base/sy.h"
#include "router.h"

enum sy_affinity_result {
    SY_AFFINITY_NONE,  /* the request names no conversation */
    SY_AFFINITY_HIT,   /* its deployment (the top one of all) goes first */
    SY_AFFINITY_MOVED, /* that one is not eligible: the next by weight */
    SY_AFFINITY_MISS,  /* none eligible: the strategy's order */
    SY_AFFINITY__COUNT
};

uint64_t sy_affinity_weight(uint64_t key, const char *name);
size_t sy_affinity_pick(uint64_t key, const struct sy_deployment *const *deps,
                        const bool *eligible, size_t n);
enum sy_affinity_result sy_affinity_apply(struct sy_route_plan *p,
                                          const struct sy_group *g,
                                          bool has_key, uint64_t key);
const char *sy_affinity_name(enum sy_affinity_result r);

/* Per-process counters of the results, for metrics. */
void sy_affinity_count(enum sy_affinity_result r);
uint64_t sy_affinity_total(enum sy_affinity_result r);

#endif
