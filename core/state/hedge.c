/*
 * hedge.c - the hedge decision, the share windows of each group and the
 * process's hedge counters (hedge.h says why the share is counted per
 * process).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "hedge.h"
#include "state.h"
#include "config/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Groups whose share is tracked; a process with more hedging groups
 * than this does not hedge the rest (never more load, only less). */
#define HEDGE_GROUPS_MAX   128
#define HEDGE_DELAY_MIN_MS 10
#define HEDGE_DELAY_MAX_MS 60000

uint32_t
sy_hedge_delay_ms(const struct sy_hedge_conf *h, const struct sy_dep_view *v)
{
    if (h == NULL || !h->on)
        return 0;
    if (!h->after_p95)
        return h->after_ms;
    if (v == NULL)
        return 0;
    uint32_t ms = 0;
    if (v->samples > 0 && v->ttft_p95_ms > 0)
        ms = v->ttft_p95_ms;
    else if (v->known.samples > 0 && v->known.ttft_p95_ms > 0)
        ms = v->known.ttft_p95_ms;
    if (ms == 0)
        return 0;
    return SY_MIN(SY_MAX(ms, HEDGE_DELAY_MIN_MS), HEDGE_DELAY_MAX_MS);
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

bool
sy_hedge_share_allows(uint64_t requests, uint64_t hedges, double max_share)
{
    if (!(max_share > 0.0))
        return false;
    /* One hedge is always allowed per window pair (a quiet process). */
    double cap = max_share * (double)requests + 1.0;
    return (double)(hedges + 1) <= cap;
}

/* One group's two windows: [0] the current, [1] the one before. */
struct share_slot {
    const struct sy_group *g;
    uint64_t window; /* number of the current window */
    uint64_t requests[2];
    uint64_t hedges[2];
};

static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;
static struct share_slot slots[HEDGE_GROUPS_MAX];
static atomic_uint_fast64_t n_started;
static atomic_uint_fast64_t n_won;

/* The slot of 'g', rolled to 'now_ms'; under share_mu. NULL when the
 * table is full. */
static struct share_slot *
slot_of(const struct sy_group *g, uint64_t now_ms)
{
    size_t h = ((uintptr_t)g >> 4) % HEDGE_GROUPS_MAX;
    struct share_slot *s = NULL;
    for (size_t i = 0; i < HEDGE_GROUPS_MAX; i++) {
        struct share_slot *t = &slots[(h + i) % HEDGE_GROUPS_MAX];
        if (t->g == g || t->g == NULL) {
            s = t;
            break;
        }
    }
    if (s == NULL)
        return NULL;
    uint64_t w = now_ms / SY_HEDGE_WINDOW_MS;
    if (s->g == NULL) {
        s->g = g;
        s->window = w;
    }
    if (w != s->window) {
        bool adjacent = w == s->window + 1;
        s->requests[1] = adjacent ? s->requests[0] : 0;
        s->hedges[1] = adjacent ? s->hedges[0] : 0;
        s->requests[0] = s->hedges[0] = 0;
        s->window = w;
    }
    return s;
}

void
sy_hedge_note_request(const struct sy_group *g, uint64_t now_ms)
{
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g, now_ms);
    if (s != NULL)
        s->requests[0]++;
    pthread_mutex_unlock(&share_mu);
}

bool
sy_hedge_take(const struct sy_group *g, uint64_t now_ms)
{
    bool ok = false;
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g, now_ms);
    if (s != NULL && sy_hedge_share_allows(s->requests[0] + s->requests[1],
                                           s->hedges[0] + s->hedges[1],
                                           g->hedge.max_share)) {
        s->hedges[0]++;
        ok = true;
    }
    pthread_mutex_unlock(&share_mu);
    if (ok)
        atomic_fetch_add(&n_started, 1);
    return ok;
}

void
sy_hedge_count_won(void)
{
    atomic_fetch_add(&n_won, 1);
}

void
sy_hedge_stats(struct sy_hedge_stats *out)
{
    out->started = atomic_load(&n_started);
    out->won = atomic_load(&n_won);
}
