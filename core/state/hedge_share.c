/*
 * hedge_share.c - the share of a group's requests that may be hedged
 * (hedge.h says how it is counted, cluster-wide when Redis is on), and
 * the process's hedge counters.
 *
 * Per hedging group, four pairs of windows: this process's own counts;
 * those of them not yet written to Redis; those the state thread's
 * batch is writing now; and the cluster's totals as last read. A
 * decision counts the cluster's totals plus the unwritten ones while the
 * totals are fresh, else this process's own.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "hedge.h"
#include "keys.h"
#include "config/config.h"
#include "io/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Groups whose share is tracked; a process with more hedging groups
 * than this does not hedge the rest (never more load, only less). */
#define HEDGE_GROUPS_MAX 128
/* Commands per group in a flush: HINCRBY r, HINCRBY h, PEXPIRE for the
 * current window and the one before. */
#define FLUSH_CMDS 6

/* The counts of one window (number 'w' of the wall clock). Signed: a
 * hedge given back after its take was written is a -1 to write. */
struct wcount {
    uint64_t w;
    int64_t req;
    int64_t hedges;
};

/* One group's windows, each pair [0] the newest, [1] the one before. */
struct share_slot {
    const struct sy_group *g;
    struct wcount own[2];
    struct wcount unsent[2];
    struct wcount sending[2];
    struct wcount cluster[2];
    uint64_t cluster_until; /* wall ms the cluster's totals are good to */
};

static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;
static struct share_slot slots[HEDGE_GROUPS_MAX];
/* The slots the flush in progress wrote, in batch order from command
 * 'flush_at'; how long the totals read are trusted. */
static struct share_slot *flushed[HEDGE_GROUPS_MAX];
static size_t nflushed;
static size_t flush_at;
static uint32_t fresh_ms;
static atomic_uint_fast64_t n_started;
static atomic_uint_fast64_t n_won;

bool
sy_hedge_share_allows(uint64_t requests, uint64_t hedges, double max_share)
{
    return sy_hedge_share_allows_extra(requests, hedges, max_share, 0);
}

bool
sy_hedge_share_allows_extra(uint64_t requests, uint64_t hedges,
                            double max_share, unsigned extra)
{
    if (!(max_share > 0.0))
        return false;
    /* One hedge is always allowed per window pair (a quiet group). */
    double cap = max_share * (double)requests + 1.0 + (double)extra;
    return (double)(hedges + 1) <= cap;
}

/* The window 'w' of pair 'c', the pair moved on to it first when 'w' is
 * newer; NULL for a window older than both. */
static struct wcount *
wc_at(struct wcount c[2], uint64_t w)
{
    if (w > c[0].w) {
        if (w == c[0].w + 1)
            c[1] = c[0];
        else
            c[1] = (struct wcount){ w - 1, 0, 0 };
        c[0] = (struct wcount){ w, 0, 0 };
    }
    if (c[0].w == w)
        return &c[0];
    return c[1].w == w ? &c[1] : NULL;
}

static void
wc_add(struct wcount c[2], uint64_t w, int64_t req, int64_t hedges)
{
    struct wcount *x = wc_at(c, w);
    if (x != NULL) {
        x->req += req;
        x->hedges += hedges;
    }
}

/* Add the counts of 'c' that fall in window 'w' or the one before. */
static void
wc_sum(const struct wcount c[2], uint64_t w, int64_t *req, int64_t *hedges)
{
    for (int i = 0; i < 2; i++)
        if (c[i].w == w || c[i].w + 1 == w) {
            *req += c[i].req;
            *hedges += c[i].hedges;
        }
}

/* The slot of 'g'; under share_mu. NULL when the table is full. */
static struct share_slot *
slot_of(const struct sy_group *g)
{
    size_t h = ((uintptr_t)g >> 4) % HEDGE_GROUPS_MAX;
    for (size_t i = 0; i < HEDGE_GROUPS_MAX; i++) {
        struct share_slot *t = &slots[(h + i) % HEDGE_GROUPS_MAX];
        if (t->g == g)
            return t;
        if (t->g == NULL) {
            t->g = g;
            return t;
        }
    }
    return NULL;
}

void
sy_hedge_note_request(const struct sy_group *g, uint64_t now_ms)
{
    uint64_t w = now_ms / SY_HEDGE_WINDOW_MS;
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g);
    if (s != NULL) {
        wc_add(s->own, w, 1, 0);
        wc_add(s->unsent, w, 1, 0);
    }
    pthread_mutex_unlock(&share_mu);
}

/* The counts the rule compares for slot 's' in window 'w'; under
 * share_mu. */
static void
counts_of(const struct share_slot *s, uint64_t w, uint64_t now_ms, int64_t *req,
          int64_t *hedges)
{
    *req = *hedges = 0;
    if (now_ms < s->cluster_until) {
        /* The cluster's, and what this process added since. */
        wc_sum(s->cluster, w, req, hedges);
        wc_sum(s->sending, w, req, hedges);
        wc_sum(s->unsent, w, req, hedges);
    } else {
        wc_sum(s->own, w, req, hedges);
    }
}

void
sy_hedge_share_counts(const struct sy_group *g, uint64_t now_ms,
                      uint64_t *requests, uint64_t *hedges)
{
    int64_t req = 0, h = 0;
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g);
    if (s != NULL)
        counts_of(s, now_ms / SY_HEDGE_WINDOW_MS, now_ms, &req, &h);
    pthread_mutex_unlock(&share_mu);
    *requests = (uint64_t)SY_MAX(req, 0);
    *hedges = (uint64_t)SY_MAX(h, 0);
}

/* 'extra': more than the share allows; 'widen': added to max_share;
 * 'commit': count the hedge (else only say whether it would be). */
static bool
take(const struct sy_group *g, uint64_t now_ms, unsigned extra, double widen,
     bool commit)
{
    uint64_t w = now_ms / SY_HEDGE_WINDOW_MS;
    bool ok = false;
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g);
    if (s != NULL) {
        int64_t req = 0, hedges = 0;
        counts_of(s, w, now_ms, &req, &hedges);
        ok = g->hedge.max_share > 0.0 &&
             sy_hedge_share_allows_extra((uint64_t)SY_MAX(req, 0),
                                         (uint64_t)SY_MAX(hedges, 0),
                                         g->hedge.max_share + widen, extra);
        if (ok && commit) {
            wc_add(s->own, w, 0, 1);
            wc_add(s->unsent, w, 0, 1);
        }
    }
    pthread_mutex_unlock(&share_mu);
    if (ok && commit)
        atomic_fetch_add(&n_started, 1);
    return ok;
}

/* take() under 'rule'. */
static bool
take_rule(const struct sy_group *g, uint64_t now_ms, enum sy_hedge_rule rule,
          bool commit)
{
    switch (rule) {
    case SY_HEDGE_RULE_PROBE:
        return take(g, now_ms, 0, (double)g->explore_pct / 100.0, commit);
    case SY_HEDGE_RULE_STALL:
        return take(g, now_ms, SY_HEDGE_STALL_EXTRA, 0.0, commit);
    case SY_HEDGE_RULE_SHARE:
        break;
    }
    return take(g, now_ms, 0, 0.0, commit);
}

bool
sy_hedge_take(const struct sy_group *g, uint64_t now_ms)
{
    return take_rule(g, now_ms, SY_HEDGE_RULE_SHARE, true);
}

bool
sy_hedge_take_stalled(const struct sy_group *g, uint64_t now_ms)
{
    return take_rule(g, now_ms, SY_HEDGE_RULE_STALL, true);
}

enum sy_hedge_rule
sy_hedge_rule_of(bool p95, bool exploring, unsigned others_stalled)
{
    if (!p95)
        return SY_HEDGE_RULE_SHARE;
    if (exploring)
        return SY_HEDGE_RULE_PROBE;
    return others_stalled >= 2 ? SY_HEDGE_RULE_STALL : SY_HEDGE_RULE_SHARE;
}

bool
sy_hedge_take_by(const struct sy_group *g, uint64_t now_ms,
                 enum sy_hedge_rule rule)
{
    return take_rule(g, now_ms, rule, true);
}

bool
sy_hedge_may_take(const struct sy_group *g, uint64_t now_ms,
                  enum sy_hedge_rule rule)
{
    return take_rule(g, now_ms, rule, false);
}

bool
sy_hedge_take_probe(const struct sy_group *g, uint64_t now_ms)
{
    return take_rule(g, now_ms, SY_HEDGE_RULE_PROBE, true);
}

void
sy_hedge_give_back(const struct sy_group *g, uint64_t now_ms)
{
    uint64_t w = now_ms / SY_HEDGE_WINDOW_MS;
    pthread_mutex_lock(&share_mu);
    struct share_slot *s = slot_of(g);
    if (s != NULL) {
        wc_add(s->own, w, 0, -1);
        wc_add(s->unsent, w, 0, -1);
    }
    pthread_mutex_unlock(&share_mu);
    atomic_fetch_sub(&n_started, 1);
}

/* Append one window's counts (added to the cluster's) to 'b'. */
static bool
flush_window(struct sy_store_batch *b, const char *prefix, const char *group,
             const struct wcount *c)
{
    char key[SY_KEY_MAX], req[24], hedges[24], ttl[24];
    if (!sy_key_fits(sy_key_hedge(key, sizeof(key), prefix, group, c->w),
                     sizeof(key)))
        return false;
    snprintf(req, sizeof(req), "%lld", (long long)c->req);
    snprintf(hedges, sizeof(hedges), "%lld", (long long)c->hedges);
    /* Read while it is the current window or the one before. */
    snprintf(ttl, sizeof(ttl), "%u", 3u * SY_HEDGE_WINDOW_MS);
    return sy_store_batch_addl(b, "HINCRBY", key, "r", req, NULL) == SY_OK &&
           sy_store_batch_addl(b, "HINCRBY", key, "h", hedges, NULL) == SY_OK &&
           sy_store_batch_addl(b, "PEXPIRE", key, ttl, NULL) == SY_OK;
}

/* Put what a flush took back with the unwritten counts; under
 * share_mu. */
static void
unsend(struct share_slot *s)
{
    for (int i = 0; i < 2; i++)
        if (s->sending[i].req != 0 || s->sending[i].hedges != 0)
            wc_add(s->unsent, s->sending[i].w, s->sending[i].req,
                   s->sending[i].hedges);
    memset(s->sending, 0, sizeof(s->sending));
}

size_t
sy_hedge_flush(struct sy_store_batch *b, const char *prefix,
               const struct sy_config *cfg, uint64_t wall_ms)
{
    uint64_t w = wall_ms / SY_HEDGE_WINDOW_MS;
    size_t n0 = b->n;
    pthread_mutex_lock(&share_mu);
    nflushed = 0;
    flush_at = n0;
    fresh_ms = 2 * cfg->state.refresh_ms + 1000;
    for (size_t i = 0; i < cfg->ngroups; i++) {
        const struct sy_group *g = &cfg->groups[i];
        struct share_slot *s;
        if (!g->hedge.on || (s = slot_of(g)) == NULL)
            continue;
        size_t at = b->n;
        unsend(s); /* a flush whose result never came */
        wc_at(s->unsent, w);
        memcpy(s->sending, s->unsent, sizeof(s->sending));
        for (int k = 0; k < 2; k++)
            s->unsent[k].req = s->unsent[k].hedges = 0;
        if (!flush_window(b, prefix, g->name, &s->sending[0]) ||
            !flush_window(b, prefix, g->name, &s->sending[1])) {
            sy_store_batch_truncate(b, at); /* the batch is full */
            unsend(s);
            break;
        }
        flushed[nflushed++] = s;
    }
    pthread_mutex_unlock(&share_mu);
    return b->n - n0;
}

/* The cluster's count in reply 'v' (an integer). */
static bool
reply_int(const struct sy_store_val *v, int64_t *out)
{
    if (v->type != SY_STORE_INT)
        return false;
    *out = v->i;
    return true;
}

void
sy_hedge_flush_done(const struct sy_store_val *replies, size_t n,
                    uint64_t wall_ms)
{
    pthread_mutex_lock(&share_mu);
    replies += SY_MIN(flush_at, n);
    n -= SY_MIN(flush_at, n);
    for (size_t k = 0; k < nflushed; k++) {
        struct share_slot *s = flushed[k];
        const struct sy_store_val *r = &replies[k * FLUSH_CMDS];
        struct wcount c[2] = { s->sending[0], s->sending[1] };
        if ((k + 1) * FLUSH_CMDS > n || !reply_int(&r[0], &c[0].req) ||
            !reply_int(&r[1], &c[0].hedges) || !reply_int(&r[3], &c[1].req) ||
            !reply_int(&r[4], &c[1].hedges)) {
            unsend(s); /* not what was written: count it again */
            continue;
        }
        memcpy(s->cluster, c, sizeof(c));
        memset(s->sending, 0, sizeof(s->sending));
        s->cluster_until = wall_ms + fresh_ms;
    }
    nflushed = 0;
    pthread_mutex_unlock(&share_mu);
}

void
sy_hedge_flush_failed(void)
{
    pthread_mutex_lock(&share_mu);
    for (size_t k = 0; k < nflushed; k++)
        unsend(flushed[k]);
    nflushed = 0;
    pthread_mutex_unlock(&share_mu);
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
