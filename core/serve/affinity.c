/*
 * affinity.c - prompt-cache affinity (see affinity.h): the rendezvous
 * choice, its place in a route plan, and per-process counters.
 *
 * A deployment is eligible for a conversation while it is a candidate
 * of the plan (breaker not open, able to serve the request) and not
 * known to be slow (over the group's thresholds, or drained by the
 * latency strategy as clearly slower: struct sy_route_entry.slow), nor
 * still being learned (never seen live: it would get 1/N of the
 * conversations at once). The weight of a deployment for a key hashes
 * the key with the deployment's name (not its position), so every
 * process and every config order agree. The chosen deployment goes
 * first, or second behind the strategy's exploring entry (exploration
 * re-probes a slow deployment within its small share); the others keep
 * the strategy's order behind it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "affinity.h"

#include <stdatomic.h>
#include <string.h>

static atomic_uint_fast64_t counts[SY_AFFINITY__COUNT];

/* A 64-bit finalizer (splitmix64): every input bit moves every output
 * bit. */
static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* The rendezvous weight of deployment 'name' for conversation 'key'. */
uint64_t
sy_affinity_weight(uint64_t key, const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a of the name */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return mix64(key ^ mix64(h));
}

/* The index among the 'n' deployments of the eligible one with the
 * highest weight for 'key' (NULL 'eligible': all are); SIZE_MAX when
 * none is eligible. Ties (almost impossible) go to the earlier one. */
size_t
sy_affinity_pick(uint64_t key, const struct sy_deployment *const *deps,
                 const bool *eligible, size_t n)
{
    size_t best = SIZE_MAX;
    uint64_t bw = 0;
    for (size_t i = 0; i < n; i++) {
        if (eligible != NULL && !eligible[i])
            continue;
        uint64_t w = sy_affinity_weight(key, deps[i]->name);
        if (best == SIZE_MAX || w > bw) {
            best = i;
            bw = w;
        }
    }
    return best;
}

/* Put the conversation's deployment first in 'p' (a plan of group 'g',
 * after every exclusion), and say so in p->affinity. 'has_key': the
 * request names a conversation, 'key'. */
enum sy_affinity_result
sy_affinity_apply(struct sy_route_plan *p, const struct sy_group *g,
                  bool has_key, uint64_t key)
{
    enum sy_affinity_result r = SY_AFFINITY_NONE;
    if (has_key) {
        const struct sy_deployment *deps[SY_ROUTE_MAX];
        bool ok[SY_ROUTE_MAX];
        /* The strategy's exploring entry stays first: exploration is how
         * a known-slow deployment is re-probed (a small share), and
         * affinity would cancel it for every conversation. */
        size_t top = p->ncand > 0 && p->cand[0].exploring ? 1 : 0;
        for (size_t i = 0; i < p->ncand; i++) {
            deps[i] = p->cand[i].d;
            /* One still being learned gets no conversations until it
             * is (else 1/N of them would land on it at once). */
            ok[i] = !p->cand[i].slow && !p->cand[i].learning;
        }
        size_t k = sy_affinity_pick(key, deps + top, ok + top, p->ncand - top);
        size_t home = sy_affinity_pick(key, g->route, NULL, g->nroute);
        if (k == SIZE_MAX) {
            r = SY_AFFINITY_MISS;
        } else {
            k += top;
            struct sy_route_entry e = p->cand[k];
            memmove(&p->cand[top + 1], &p->cand[top],
                    (k - top) * sizeof(p->cand[0]));
            p->cand[top] = e;
            r = home != SIZE_MAX && g->route[home] == e.d ? SY_AFFINITY_HIT
                                                          : SY_AFFINITY_MOVED;
        }
    }
    p->affinity = sy_affinity_name(r);
    return r;
}

const char *
sy_affinity_name(enum sy_affinity_result r)
{
    switch (r) {
    case SY_AFFINITY_HIT:
        return "hit";
    case SY_AFFINITY_MOVED:
        return "moved";
    case SY_AFFINITY_MISS:
        return "miss";
    case SY_AFFINITY_NONE:
    case SY_AFFINITY__COUNT:
        break;
    }
    return "none";
}

/* Count one request's result in this process. */
void
sy_affinity_count(enum sy_affinity_result r)
{
    if ((unsigned)r < SY_AFFINITY__COUNT)
        atomic_fetch_add(&counts[r], 1);
}

/* Requests of this process with result 'r' since it started. */
uint64_t
sy_affinity_total(enum sy_affinity_result r)
{
    return (unsigned)r < SY_AFFINITY__COUNT ? atomic_load(&counts[r]) : 0;
}
