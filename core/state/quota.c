/*
 * quota.c - caller-key and provider-key limits over core/state/ratelimit.c.
 *
 * Limit names in Redis (under the state prefix, named by keys.h; see
 * docs/shared-state.md): "ck:<caller key name>:rpm|tpm" and
 * "pk:<provider>#<n>:rpm|tpm"; never a key itself. When the store is
 * unavailable the same reservation runs on this process's windows with
 * local caps (the limit divided by
 * state.cluster_workers), so the cluster cannot exceed its limits by much
 * while Redis is down, and no request fails because of Redis.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "quota.h"
#include "keys.h"
#include "park_cache.h"
#include "base/clock.h"
#include "base/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block of a caller key's cluster-wide quota reserved in Redis by this
 * process and spent locally until it runs out or its window ends, so most
 * requests make no Redis call. Units left at the end of the window were
 * counted but not used: the cluster errs on the safe side. */
struct lease {
    bool valid;
    uint64_t window_id;
    uint64_t expires_ms; /* local clock */
    uint64_t left[2];    /* requests, tokens */
};

/* One lease takes limit / (cluster_workers * SY_QUOTA_LEASE_PARTS). */
#define SY_QUOTA_LEASE_PARTS 16u

struct sy_quota {
    const struct sy_config *cfg;
    struct lease *lease;             /* per caller key */
    pthread_mutex_t lock;            /* guards the windows */
    struct sy_ratelimit_window *win; /* local windows, see slot_of */
    size_t nwin;
    size_t *provider_base; /* first slot of each provider */
};

/* Local window slots: caller key i -> 2i, 2i+1; then per provider, per
 * key: two slots each. */
#define NO_SLOT UINT32_MAX

/* A virtual key (from Redis, not the config) has no local window: while
 * Redis is down its rate limits fail open (its money budget does not). */
static unsigned
caller_slot(const struct sy_quota *q, const struct sy_caller_key *k,
            unsigned which)
{
    const struct sy_caller_key *first = q->cfg->keys;
    if (first == NULL || k < first || k >= first + q->cfg->nkeys)
        return NO_SLOT;
    return (unsigned)((size_t)(k - first) * 2 + which);
}

static unsigned
provider_slot(const struct sy_quota *q, const struct sy_provider *p,
              unsigned key, unsigned which)
{
    size_t pi = (size_t)(p - q->cfg->providers);
    return (unsigned)(q->provider_base[pi] + key * 2u + which);
}

struct sy_quota *
sy_quota_new(const struct sy_config *cfg)
{
    struct sy_quota *q = sy_xcalloc(1, sizeof(*q));
    q->cfg = cfg;
    pthread_mutex_init(&q->lock, NULL);
    q->provider_base = sy_xcalloc(cfg->nproviders + 1, sizeof(size_t));
    size_t n = cfg->nkeys * 2;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        q->provider_base[i] = n;
        n += SY_MAX(cfg->providers[i].nkeys, (size_t)1) * 2;
    }
    q->nwin = n;
    q->win = sy_xcalloc(n + 1, sizeof(*q->win));
    q->lease = sy_xcalloc(cfg->nkeys + 1, sizeof(*q->lease));
    return q;
}

void
sy_quota_free(struct sy_quota *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->win);
    free(q->lease);
    free(q->provider_base);
    free(q);
}

/* "<provider>#<n>", n from 1: how a provider key is named everywhere
 * (sy_key_provider_label). */
void
sy_quota_key_name(const struct sy_provider *p, unsigned key, char *out,
                  size_t outlen)
{
    sy_key_provider_label(out, outlen, p->name, key);
}

static void
set_item(struct sy_reservation *r, size_t i, const char *name, uint64_t limit,
         uint64_t cost, unsigned slot)
{
    snprintf(r->names[i], sizeof(r->names[i]), "%s", name);
    r->items[i].name = r->names[i];
    r->items[i].limit = limit;
    r->items[i].cost = cost;
    r->slot[i] = slot;
}

/* Reserve r->items, cluster-wide or locally; fills 'res'. */
static void
reserve(struct sy_quota *q, struct sy_store *s, struct sy_reservation *r,
        struct sy_ratelimit_result *res)
{
    memset(res, 0, sizeof(*res));
    enum sy_err e = s != NULL ? sy_ratelimit_reserve(s, r->items, r->n,
                                                     SY_QUOTA_WINDOW_MS, 0, res)
                              : SY_ESTORE;
    if (e == SY_OK) {
        r->local = false;
        r->window_id = res->window_id;
        r->active = res->allowed;
        return;
    }
    if (e != SY_ESTORE) {
        /* Redis answered with an error (the script failed): the limit
         * cannot be checked, so the request is refused; only a Redis
         * that cannot be reached falls back to the local windows. */
        memset(res, 0, sizeof(*res));
        res->refused = 0;
        res->failed = true;
        res->retry_after_ms = 1000;
        r->active = false;
        return;
    }
    /* Redis unavailable (or not configured): local windows, local caps. */
    for (size_t i = 0; i < r->n; i++) {
        if (r->slot[i] == NO_SLOT) {
            res->allowed = true;
            res->refused = -1;
            r->active = false;
            return;
        }
    }
    struct sy_ratelimit_item capped[2];
    struct sy_ratelimit_window *w[2];
    unsigned workers = q->cfg->state.cluster_workers;
    bool shared = s != NULL;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < r->n; i++) {
        capped[i] = r->items[i];
        if (shared)
            capped[i].limit =
                sy_ratelimit_local_limit(r->items[i].limit, workers);
        w[i] = &q->win[r->slot[i]];
    }
    sy_ratelimit_local_reserve(w, capped, r->n, SY_QUOTA_WINDOW_MS, sy_now_ms(),
                               res);
    pthread_mutex_unlock(&q->lock);
    r->local = true;
    r->window_id = res->window_id;
    r->active = res->allowed;
}

/* Reserve one request and 'est_tokens' on caller key 'k'. SY_OK with
 * res->allowed false when over a limit (res says which and until when). */
enum sy_err
sy_quota_caller(struct sy_quota *q, struct sy_store *s,
                const struct sy_caller_key *k, uint64_t est_tokens,
                struct sy_reservation *r, struct sy_ratelimit_result *res)
{
    char name[200];
    memset(r, 0, sizeof(*r));
    r->n = 2;
    sy_key_limit_caller(name, sizeof(name), k->name, SY_KEY_RPM);
    set_item(r, 0, name, k->limits.rpm, 1, caller_slot(q, k, 0));
    sy_key_limit_caller(name, sizeof(name), k->name, SY_KEY_TPM);
    set_item(r, 1, name, k->limits.tpm, est_tokens, caller_slot(q, k, 1));
    if (s == NULL || !sy_store_is_up(s) || caller_slot(q, k, 0) == NO_SLOT ||
        k->limits.tpm > 0) {
        /* No store, a virtual key (no lease slot), or a token limit: an
         * exact reservation, settled with the real usage. Leases are for
         * request counts only: a leased token estimate would stay charged
         * in Redis for the whole window. */
        reserve(q, s, r, res);
        return SY_OK;
    }
    /* 1. From this process's lease, without I/O. */
    unsigned ki = (unsigned)(k - q->cfg->keys);
    struct lease *l = &q->lease[ki];
    uint64_t need[2] = { 1, est_tokens };
    uint64_t now = sy_now_ms();
    pthread_mutex_lock(&q->lock);
    bool fits = l->valid && now < l->expires_ms;
    for (size_t i = 0; fits && i < 2; i++)
        if (r->items[i].limit > 0 && l->left[i] < need[i])
            fits = false;
    if (fits) {
        for (size_t i = 0; i < 2; i++)
            if (r->items[i].limit > 0)
                l->left[i] -= need[i];
        uint64_t wid = l->window_id;
        pthread_mutex_unlock(&q->lock);
        memset(res, 0, sizeof(*res));
        res->allowed = true;
        res->refused = -1;
        res->window_id = wid;
        r->lease = true;
        r->lease_idx = ki;
        r->active = true;
        r->window_id = wid;
        return SY_OK;
    }
    pthread_mutex_unlock(&q->lock);
    /* 2. A new lease: a share of each limit (at least this request). */
    unsigned parts =
        SY_MAX(q->cfg->state.cluster_workers, 1u) * SY_QUOTA_LEASE_PARTS;
    struct sy_ratelimit_item big[2];
    uint64_t block[2];
    for (size_t i = 0; i < 2; i++) {
        uint64_t lim = r->items[i].limit;
        block[i] = lim > 0 ? SY_MAX(lim / parts, need[i]) : need[i];
        big[i] = r->items[i];
        big[i].cost = block[i];
    }
    if (block[0] > need[0] || block[1] > need[1]) {
        memset(res, 0, sizeof(*res));
        if (sy_ratelimit_reserve(s, big, 2, SY_QUOTA_WINDOW_MS, 0, res) ==
                SY_OK &&
            res->allowed) {
            uint64_t elapsed =
                res->now_ms - res->window_id * SY_QUOTA_WINDOW_MS;
            pthread_mutex_lock(&q->lock);
            if (!(l->valid && l->window_id == res->window_id))
                l->left[0] = l->left[1] = 0; /* refills of one window add up */
            l->valid = true;
            l->window_id = res->window_id;
            l->expires_ms = now + SY_QUOTA_WINDOW_MS -
                            SY_MIN(elapsed, (uint64_t)SY_QUOTA_WINDOW_MS);
            l->left[0] += block[0] - need[0];
            l->left[1] += block[1] - need[1];
            pthread_mutex_unlock(&q->lock);
            r->lease = true;
            r->lease_idx = ki;
            r->active = true;
            r->window_id = res->window_id;
            return SY_OK;
        }
    }
    /* 3. Near the limit: this request alone, exactly as before. */
    reserve(q, s, r, res);
    return SY_OK;
}

/* Is key 'key' of 'p' one whose park the state thread's table holds
 * (park_cache.h), and fresh? Then '*left_ms': how long it stays parked,
 * by the cluster's park or this process's own (0: usable now). */
static bool
parked_by_cache(struct sy_quota *q, const struct sy_provider *p, unsigned key,
                uint64_t *left_ms)
{
    uint64_t now = sy_now_ms(), until;
    if (!sy_park_cache_covers(p) || !sy_park_cache_get(p, key, now, &until))
        return false;
    pthread_mutex_lock(&q->lock);
    until = SY_MAX(until, q->win[provider_slot(q, p, key, 0)].parked_until_ms);
    pthread_mutex_unlock(&q->lock);
    *left_ms = until > now ? until - now : 0;
    return true;
}

/* Keep in '*wait_ms' the shorter of it and 'ms' (0: none known). */
static void
shorter_wait(uint32_t *wait_ms, uint64_t ms)
{
    uint32_t w = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    if (w > 0 && (*wait_ms == 0 || w < *wait_ms))
        *wait_ms = w;
}

/* Pick a key of provider 'p' that is not parked and has quota for one
 * request and 'est_tokens', starting at the provider's round-robin
 * position; reserve on it. Returns the key index, or -1 when none can
 * take the request now. */
int
sy_quota_provider_key(struct sy_quota *q, struct sy_store *s,
                      const struct sy_provider *p, uint64_t est_tokens,
                      struct sy_reservation *r)
{
    memset(r, 0, sizeof(*r));
    if (p->nkeys == 0)
        return 0; /* keyless provider: nothing to limit */
    unsigned start =
        atomic_fetch_add_explicit(p->key_cursor, 1, memory_order_relaxed);
    uint32_t wait_ms = 0;
    for (size_t t = 0; t < p->nkeys; t++) {
        unsigned key = (unsigned)((start + t) % p->nkeys);
        uint64_t left_ms;
        if (s != NULL && parked_by_cache(q, p, key, &left_ms)) {
            /* Known without a round trip: a key with no limits of its
             * own has nothing to reserve, only its park to respect. */
            if (left_ms == 0) {
                memset(r, 0, sizeof(*r));
                return (int)key;
            }
            shorter_wait(&wait_ms, left_ms);
            continue;
        }
        char name[200];
        memset(r, 0, sizeof(*r));
        r->n = 2;
        sy_key_limit_provider(name, sizeof(name), p->name, key, SY_KEY_RPM);
        set_item(r, 0, name, p->key_limits.rpm, 1, provider_slot(q, p, key, 0));
        sy_key_limit_provider(name, sizeof(name), p->name, key, SY_KEY_TPM);
        set_item(r, 1, name, p->key_limits.tpm, est_tokens,
                 provider_slot(q, p, key, 1));
        struct sy_ratelimit_result res;
        reserve(q, s, r, &res);
        if (res.allowed)
            return (int)key;
        if (res.failed) {
            memset(r, 0, sizeof(*r));
            r->check_failed = true;
            return -1;
        }
        shorter_wait(&wait_ms, res.retry_after_ms);
    }
    memset(r, 0, sizeof(*r));
    r->wait_ms = wait_ms;
    return -1;
}

/* Key 'key' of 'p' answered 429 with the wait 'ms' the provider gave (0:
 * none): refuse it for that long, cluster-wide (and locally, so this
 * process stops at once even if Redis is away). A key with others beside
 * it waits 1 s without a hint (the next key serves meanwhile). A
 * provider's only key waits only on the provider's own hint: a 429 with
 * none may be one request's (a prompt over the key's tokens per minute),
 * and parking the only key would refuse every caller on one caller's
 * request. No park is longer than SY_QUOTA_PARK_MAX_MS: a key told to
 * wait an hour is tried again each minute (one call), not left idle. */
void
sy_quota_park(struct sy_quota *q, struct sy_store *s,
              const struct sy_provider *p, unsigned key, uint32_t ms)
{
    if (ms == 0) {
        if (p->nkeys < 2)
            return;
        ms = 1000;
    }
    ms = SY_MIN(ms, SY_QUOTA_PARK_MAX_MS);
    if (p->nkeys == 0)
        return;
    char name[200];
    sy_key_limit_provider(name, sizeof(name), p->name, key, SY_KEY_RPM);
    if (s != NULL)
        sy_ratelimit_park(s, name, ms);
    pthread_mutex_lock(&q->lock);
    sy_ratelimit_local_park(&q->win[provider_slot(q, p, key, 0)], sy_now_ms(),
                            ms);
    pthread_mutex_unlock(&q->lock);
}

/* Settle 'r' with the tokens really used (the request count stays). */
void
sy_quota_settle(struct sy_quota *q, struct sy_store *s,
                struct sy_reservation *r, uint64_t used_tokens)
{
    if (!r->active || r->n < 2)
        return;
    uint64_t used[2] = { 1, used_tokens };
    if (r->lease) {
        /* Tokens not used go back to the lease (same window only); tokens
         * used beyond the estimate are charged in Redis. */
        pthread_mutex_lock(&q->lock);
        struct lease *l = &q->lease[r->lease_idx];
        bool same = l->valid && l->window_id == r->window_id;
        if (same && r->items[1].limit > 0 && used_tokens < r->items[1].cost)
            l->left[1] += r->items[1].cost - used_tokens;
        pthread_mutex_unlock(&q->lock);
        if (s != NULL && r->items[1].limit > 0 &&
            used_tokens > r->items[1].cost) {
            uint64_t u2[2] = { 1, used_tokens };
            sy_ratelimit_settle(s, r->items, u2, r->n, SY_QUOTA_WINDOW_MS,
                                r->window_id);
        }
        r->active = false;
        return;
    }
    if (!r->local && s != NULL) {
        sy_ratelimit_settle(s, r->items, used, r->n, SY_QUOTA_WINDOW_MS,
                            r->window_id);
    } else {
        struct sy_ratelimit_window *w[2] = { &q->win[r->slot[0]],
                                             &q->win[r->slot[1]] };
        pthread_mutex_lock(&q->lock);
        sy_ratelimit_local_settle(w, r->items, used, r->n, r->window_id);
        pthread_mutex_unlock(&q->lock);
    }
    r->active = false;
}

/* A reset delay in OpenAI's format: "250ms", "3s", "1m30s". */
void
sy_quota_format_reset(uint32_t ms, char *out, size_t outlen)
{
    if (ms < 1000)
        snprintf(out, outlen, "%ums", ms);
    else if (ms < 60000)
        snprintf(out, outlen, "%us", (ms + 999) / 1000);
    else
        snprintf(out, outlen, "%um%us", ms / 60000,
                 ((ms % 60000) + 999) / 1000);
}
