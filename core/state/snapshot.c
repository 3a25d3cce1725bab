/*
 * snapshot.c - read the cluster's shared state for reports (see
 * snapshot.h): the commands of one pipeline, built with the functions
 * the workers use (sy_latency_read, sy_breaker_batch_get), an HGET of
 * each deployment's field of the contract hash, and GETs of the
 * rate-limit counters; then the replies into plain numbers. Also where
 * the shared state lives, in words, for messages.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "snapshot.h"
#include "keys.h"
#include "quota.h"
#include "ratelimit.h"
#include "base/mem.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
val_u64(const struct sy_store_val *v)
{
    int64_t x;
    if (v == NULL || !sy_store_val_int(v, &x) || x < 0)
        return 0;
    return (uint64_t)x;
}

static enum sy_err
add_get(struct sy_store_batch *b, const char *prefix, const char *limit,
        uint64_t window_id)
{
    char key[SY_KEY_MAX];
    int n = sy_key_ratelimit_window(key, sizeof(key), prefix, limit, window_id);
    if (!sy_key_fits(n, sizeof(key)))
        return SY_EBADREQ;
    return sy_store_batch_addl(b, "GET", key, NULL);
}

/* Queue GET current, GET previous window of limit 'limit'. */
static enum sy_err
add_rate(struct sy_store_batch *b, const char *prefix, const char *limit,
         uint64_t window_id, size_t *pos)
{
    *pos = b->n;
    enum sy_err e = add_get(b, prefix, limit, window_id);
    if (e == SY_OK)
        e = add_get(b, prefix, limit, window_id > 0 ? window_id - 1 : 0);
    return e;
}

static void
read_rate(const struct sy_store_val *r, size_t pos, uint64_t now_ms,
          struct sy_rate_use *u)
{
    uint64_t wid = now_ms / SY_QUOTA_WINDOW_MS;
    u->cur = val_u64(&r[pos]);
    u->prev = wid > 0 ? val_u64(&r[pos + 1]) : 0;
    u->used = sy_ratelimit_estimate(u->prev, u->cur, SY_QUOTA_WINDOW_MS,
                                    now_ms - wid * SY_QUOTA_WINDOW_MS);
}

/* How many keys provider 'p' has: those set in this environment, else
 * the variables it names (the status command may run where the keys are
 * not set; the gateway numbers the keys it has from 1). */
static size_t
provider_nkeys(const struct sy_provider *p)
{
    if (p->keyless)
        return 0;
    return p->nkeys > 0 ? p->nkeys : p->nkey_envs;
}

/* The keys to report, with their limit names as the workers name them
 * (core/state/keys.h, through core/state/quota.c). */
static void
collect_keys(struct sy_snapshot *s)
{
    const struct sy_config *cfg = s->cfg;
    s->npkeys = 0;
    for (size_t i = 0; i < cfg->nproviders; i++)
        s->npkeys += provider_nkeys(&cfg->providers[i]);
    s->pkeys = sy_xcalloc(s->npkeys + 1, sizeof(*s->pkeys));
    s->ckeys = sy_xcalloc(cfg->nkeys + 1, sizeof(*s->ckeys));
    size_t k = 0;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct sy_provider *p = &cfg->providers[i];
        for (size_t j = 0; j < provider_nkeys(p); j++, k++) {
            struct sy_snap_key *ki = &s->pkeys[k];
            sy_quota_key_name(p, (unsigned)j, ki->name, sizeof(ki->name));
            ki->provider = p->name;
            sy_key_limit_provider(ki->rl_rpm, sizeof(ki->rl_rpm), p->name,
                                  (unsigned)j, SY_KEY_RPM);
            sy_key_limit_provider(ki->rl_tpm, sizeof(ki->rl_tpm), p->name,
                                  (unsigned)j, SY_KEY_TPM);
            ki->rpm.limit = p->key_limits.rpm;
            ki->tpm.limit = p->key_limits.tpm;
        }
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        struct sy_snap_key *ki = &s->ckeys[i];
        snprintf(ki->name, sizeof(ki->name), "%s", cfg->keys[i].name);
        sy_key_limit_caller(ki->rl_rpm, sizeof(ki->rl_rpm), ki->name,
                            SY_KEY_RPM);
        sy_key_limit_caller(ki->rl_tpm, sizeof(ki->rl_tpm), ki->name,
                            SY_KEY_TPM);
        ki->rpm.limit = cfg->keys[i].limits.rpm;
        ki->tpm.limit = cfg->keys[i].limits.tpm;
    }
}

/* A snapshot of 'cfg''s deployments and keys, to be read at 'now_ms'
 * (wall clock; the window ids depend on it) under 'prefix'. */
void
sy_snapshot_init(struct sy_snapshot *s, const struct sy_config *cfg,
                 const char *prefix, uint64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->prefix = prefix;
    s->now_ms = now_ms;
    collect_keys(s);
    s->deps = sy_xcalloc(cfg->ndeployments + 1, sizeof(*s->deps));
}

void
sy_snapshot_cleanup(struct sy_snapshot *s)
{
    free(s->deps);
    free(s->pkeys);
    free(s->ckeys);
    memset(s, 0, sizeof(*s));
}

/* Queue what deployment 'name' needs: latency slices, breaker, contract
 * violations. */
static enum sy_err
queue_dep(struct sy_store_batch *b, const struct sy_snapshot *s,
          const char *name, const char *contract_key, struct sy_snap_dep *d)
{
    const struct sy_state_conf *sc = &s->cfg->state;
    unsigned nslices =
        (unsigned)((sc->window_ms + sc->slice_ms - 1) / sc->slice_ms);
    if (nslices == 0)
        nslices = 1;
    enum sy_err e = SY_OK;
    for (int m = 0; m < SY_LATENCY__COUNT && e == SY_OK; m++) {
        d->at_lat[m] = b->n;
        e = sy_latency_read(b, s->prefix, name, (enum sy_latency_metric)m,
                            s->now_ms, sc->slice_ms, nslices);
        d->nslices = b->n - d->at_lat[m]; /* the same for each metric */
    }
    d->at_breaker = b->n;
    if (e == SY_OK)
        e = sy_breaker_batch_get(b, s->prefix, name, &sc->breaker);
    d->at_contract = b->n;
    if (e == SY_OK)
        e = sy_store_batch_addl(b, "HGET", contract_key, name, NULL);
    return e;
}

/* Queue a key's two rate windows per limit, and a provider key's park. */
static enum sy_err
queue_key(struct sy_store_batch *b, const struct sy_snapshot *s,
          struct sy_snap_key *k)
{
    uint64_t wid = s->now_ms / SY_QUOTA_WINDOW_MS;
    enum sy_err e = add_rate(b, s->prefix, k->rl_rpm, wid, &k->at_rpm);
    if (e == SY_OK)
        e = add_rate(b, s->prefix, k->rl_tpm, wid, &k->at_tpm);
    if (e == SY_OK && k->provider != NULL) {
        char key[SY_KEY_MAX];
        if (!sy_key_fits(
                sy_key_ratelimit_park(key, sizeof(key), s->prefix, k->rl_rpm),
                sizeof(key)))
            return SY_EBADREQ;
        k->at_park = b->n;
        e = sy_store_batch_addl(b, "PTTL", key, NULL);
    }
    return e;
}

/* Append every command of the snapshot to 'b' (after what is there);
 * read the replies with sy_snapshot_read(). */
enum sy_err
sy_snapshot_queue(struct sy_snapshot *s, struct sy_store_batch *b)
{
    const struct sy_config *cfg = s->cfg;
    char contract_key[SY_KEY_MAX];
    if (!sy_key_fits(
            sy_key_contract(contract_key, sizeof(contract_key), s->prefix),
            sizeof(contract_key)))
        return SY_EBADREQ;
    enum sy_err e = SY_OK;
    for (size_t i = 0; i < cfg->ndeployments && e == SY_OK; i++)
        e = queue_dep(b, s, cfg->deployments[i].name, contract_key,
                      &s->deps[i]);
    for (size_t i = 0; i < s->npkeys && e == SY_OK; i++)
        e = queue_key(b, s, &s->pkeys[i]);
    for (size_t i = 0; i < cfg->nkeys && e == SY_OK; i++)
        e = queue_key(b, s, &s->ckeys[i]);
    return e;
}

/* Merge 'n' latency slices from r[at] on into 'out'. */
static void
read_latency(const struct sy_store_val *r, size_t at, size_t n,
             struct sy_latency_stats *out)
{
    struct sy_latency_hist h;
    sy_latency_hist_clear(&h);
    for (size_t j = 0; j < n; j++)
        sy_latency_merge_reply(&h, &r[at + j]);
    sy_latency_hist_stats(&h, out);
}

/* Take the replies 'r' of the batch the snapshot was queued in (the
 * whole batch's, positions as queued). */
void
sy_snapshot_read(struct sy_snapshot *s, const struct sy_store_val *r)
{
    for (size_t i = 0; i < s->cfg->ndeployments; i++) {
        struct sy_snap_dep *d = &s->deps[i];
        for (int m = 0; m < SY_LATENCY__COUNT; m++)
            read_latency(r, d->at_lat[m], d->nslices, &d->lat[m]);
        d->br_known = sy_breaker_parse_shared(&r[d->at_breaker], &d->br);
        d->contract = val_u64(&r[d->at_contract]);
    }
    for (size_t i = 0; i < s->npkeys; i++) {
        struct sy_snap_key *k = &s->pkeys[i];
        read_rate(r, k->at_rpm, s->now_ms, &k->rpm);
        read_rate(r, k->at_tpm, s->now_ms, &k->tpm);
        int64_t pt = 0;
        if (sy_store_val_int(&r[k->at_park], &pt) && pt > 0)
            k->parked_ms = pt;
    }
    for (size_t i = 0; i < s->cfg->nkeys; i++) {
        struct sy_snap_key *k = &s->ckeys[i];
        read_rate(r, k->at_rpm, s->now_ms, &k->rpm);
        read_rate(r, k->at_tpm, s->now_ms, &k->tpm);
    }
}

/* Where the shared state lives, for messages: host:port[/db] or the
 * Sentinel master; never the password. */
void
sy_state_describe_redis(const struct sy_state_conf *sc, char *out,
                        size_t outlen)
{
    if (sc->nsentinels > 0) {
        snprintf(out, outlen, "sentinel master %s via %s%s",
                 sc->master ? sc->master : "?", sc->sentinels[0],
                 sc->nsentinels > 1 ? ", ..." : "");
        return;
    }
    struct sy_store_addr a;
    char err[256];
    if (sc->redis_url == NULL ||
        sy_store_parse_url(sc->redis_url, &a, err, sizeof(err)) != SY_OK) {
        snprintf(out, outlen, "(no usable state.redis_url)");
        return;
    }
    if (a.db != 0)
        snprintf(out, outlen, "%s:%d/%u", a.host, a.port, a.db);
    else
        snprintf(out, outlen, "%s:%d", a.host, a.port);
}
