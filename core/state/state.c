/*
 * state.c - per-process shared-state client.
 *
 * Request threads call sy_state_views() (a copy under a mutex, no I/O),
 * sy_state_allow() (a Redis call only when a breaker may grant its
 * half-open probe) and sy_state_record() (queues the outcome and updates
 * the local breaker and latency window at once). The state thread, every
 * state.refresh_ms, writes queued outcomes to Redis in one pipeline
 * (latency slices with HINCRBY, breaker reports through the breaker
 * script: one call per deployment with each outcome's time; spend as
 * batches Redis applies once, kept until it has: spend_queue.h), reads back
 * every deployment's merged latency window and cluster breaker state in
 * another, and between refreshes listens on the breaker channel so a
 * transition, a probe taken or a probe freed anywhere reaches this
 * process at once; a probe's outcome is flushed at once too. When Redis
 * is unreachable the local statistics and breakers are used; the store's
 * gate makes that cost at most one timeout.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "state.h"
#include "inflight.h"
#include "keys.h"
#include "base/clock.h"
#include "base/limits.h"
#include "config/config.h"
#include "latency.h"
#include "base/log.h"
#include "base/mem.h"
#include "metrics.h"
#include "park_cache.h"
#include "spend.h"
#include "spend_queue.h"
#include "budget_retry.h"
#include "io/usagelog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define WAKE_MS 20u /* the state thread looks for probe outcomes */

struct outcome {
    unsigned dep;
    enum sy_breaker_outcome o;
    bool has_latency;
    uint64_t total_us;
    uint64_t ttft_us;
    uint64_t tpot_us;
    uint64_t at_ms; /* wall clock: the cluster's consecutive rule orders
                       outcomes of every process by it */
    char token[48]; /* probe token, "" when not the probe */
    bool contract;  /* an output contract violation (counted apart
                             from breaker failures) */
};

/* What this process knows of one deployment. */
struct dep_state {
    struct sy_breaker local;         /* local breaker (alone when Redis
                                          is down) */
    struct sy_latency_window win;    /* local latency samples */
    struct sy_latency_slice pending; /* samples not yet in Redis */
    struct sy_breaker_shared shared; /* the cluster's breaker, last read */
    bool shared_known;
    uint64_t shared_at_ms; /* local time of that read */
    struct sy_latency_stats remote[SY_LATENCY__COUNT]; /* cluster window */
    struct sy_latency_stats recent[SY_LATENCY__COUNT]; /* its last two
                                                          slices */
    bool remote_known;
    uint32_t remote_error_pct;
    struct sy_dep_known known; /* its last live picture (state_known.c) */
    uint64_t known_at_ms;
    unsigned learn_min; /* samples that make its window learned */
};

struct sy_state {
    const struct sy_config *cfg; /* borrowed; immutable */
    pthread_mutex_t lock;        /* guards deps and the queue */
    struct dep_state *deps;      /* cfg->ndeployments */
    struct outcome *queue;
    size_t nqueue;
    struct sy_spend_queue *spend;         /* costs to add to Redis */
    struct sy_budget_retry *budget_retry; /* settles to send again */
    size_t dropped;                       /* outcomes lost to a full queue */
    struct sy_store_gate gate;            /* shared by every store here */
    struct sy_store_conf sconf;
    bool redis_on;
    atomic_bool redis_up;       /* the state thread's view, read by requests */
    atomic_bool writes_refused; /* its last writes: OOM, READONLY, ... */
    atomic_bool stop;           /* set by sy_state_stop */
    atomic_bool wake;           /* a probe's outcome is queued: flush it now,
                             not at the next refresh */
    atomic_uint_fast64_t *route_seq; /* requests routed per group
                                        (cfg->ngroups) */
    struct sy_inflight *inflight;    /* attempts out per deployment */
    pthread_t thread;
    bool thread_started;
    struct sy_metrics *metrics; /* this process's counters (metrics.h) */
};

static uint32_t
rand32(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)sy_now_us() * 2654435761u;
    return r;
}

static uint32_t
breaker_rand(void *ud)
{
    (void)ud;
    return rand32();
}

/* ------------------------------------------------------------------ */
/* Views for the router                                                */

static void
fill_view(const struct sy_state *st, const struct dep_state *ds,
          uint64_t now_ms, struct sy_dep_view *v)
{
    memset(v, 0, sizeof(*v));
    struct sy_latency_stats s[SY_LATENCY__COUNT];
    bool remote = atomic_load(&st->redis_up) && ds->remote_known;
    if (remote) {
        memcpy(s, ds->remote, sizeof(s));
        sy_known_raise_by_recent(s, ds->recent);
        v->recent_samples = ds->recent[SY_LATENCY_TOTAL].count;
        v->error_pct = ds->remote_error_pct;
    } else {
        /* This process's own samples, with the same rule: a refresh that
         * timed out on a busy host must not bring back a deployment that
         * slowed down. */
        struct sy_latency_stats recent[SY_LATENCY__COUNT];
        for (int m = 0; m < SY_LATENCY__COUNT; m++) {
            struct sy_latency_hist h;
            sy_latency_window_merge_last(&ds->win, now_ms,
                                         (enum sy_latency_metric)m, 2, &h);
            sy_latency_hist_stats(&h, &recent[m]);
            sy_latency_window_merge(&ds->win, now_ms, (enum sy_latency_metric)m,
                                    &h);
            sy_latency_hist_stats(&h, &s[m]);
        }
        sy_known_raise_by_recent(s, recent);
        v->recent_samples = recent[SY_LATENCY_TOTAL].count;
        uint32_t total = 0, failed = 0;
        sy_breaker_window(&ds->local, &st->cfg->state.breaker, now_ms, &total,
                          &failed);
        v->error_pct = total ? failed * 100u / total : 0;
    }
    v->samples = s[SY_LATENCY_TOTAL].count;
    v->p50_ms = (uint32_t)(s[SY_LATENCY_TOTAL].p50_us / 1000);
    /* The tails as the group's thresholds judge them (three samples
     * over, not one: sy_latency_hist_quantile_held). */
    v->p99_ms = (uint32_t)(s[SY_LATENCY_TOTAL].p99_held_us / 1000);
    v->ttft_p50_ms = (uint32_t)(s[SY_LATENCY_TTFT].p50_us / 1000);
    v->ttft_p95_ms = (uint32_t)(s[SY_LATENCY_TTFT].p95_held_us / 1000);
    v->ttft_p99_ms = (uint32_t)(s[SY_LATENCY_TTFT].p99_held_us / 1000);
    v->tpot_p50_us = (uint32_t)s[SY_LATENCY_TPOT].p50_us;

    /* A breaker is open here if this process's own breaker says so, or
     * the cluster's does (while Redis is reachable). Past the deadline it
     * becomes a candidate again: sy_state_allow() decides the probe. */
    bool local_open = !sy_breaker_is_candidate(&ds->local, now_ms);
    bool shared_open = false;
    if (atomic_load(&st->redis_up) && ds->shared_known &&
        ds->shared.state != SY_BREAKER_CLOSED) {
        uint64_t local_until =
            ds->shared_at_ms +
            (ds->shared.open_until_ms > ds->shared.now_ms
                 ? ds->shared.open_until_ms - ds->shared.now_ms
                 : 0);
        shared_open = now_ms < local_until;
        v->half_open = !shared_open;
    }
    v->breaker_open = local_open || shared_open;
    if (!v->breaker_open && ds->local.state != SY_BREAKER_CLOSED)
        v->half_open = true;
}

/* The number of this request among group 'g''s in this process, from 1:
 * the router paces exploration by it (struct sy_route_req.seq), so that
 * each process gives unlearned deployments exactly their share. */
uint64_t
sy_state_route_seq(struct sy_state *st, const struct sy_group *g)
{
    size_t i = (size_t)(g - st->cfg->groups);
    if (i >= st->cfg->ngroups)
        i = st->cfg->ngroups; /* not one of this config's groups */
    return atomic_fetch_add(&st->route_seq[i], 1) + 1;
}

/* Copy the current view of every deployment into 'out'
 * (cfg->ndeployments entries). No I/O. */
void
sy_state_views(struct sy_state *st, struct sy_dep_view *out)
{
    uint64_t now_us = sy_now_us();
    uint64_t now = now_us / 1000;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->cfg->ndeployments; i++) {
        struct dep_state *ds = &st->deps[i];
        fill_view(st, ds, now, &out[i]);
        sy_known_keep(&ds->known, &ds->known_at_ms, &out[i], now, ds->learn_min,
                      st->cfg->state.window_ms);
        out[i].inflight = sy_inflight_count(st->inflight, i);
        out[i].started = sy_inflight_started(st->inflight, i);
        out[i].wait_ms = sy_inflight_wait_ms(st->inflight, i, now_us);
        out[i].lost = sy_inflight_lost(st->inflight, i, now_us);
    }
    pthread_mutex_unlock(&st->lock);
}

/* This process's attempts in flight (state/inflight.h): the latency
 * strategy spreads by their count and reads their waits. */
struct sy_inflight *
sy_state_inflight(struct sy_state *st)
{
    return st != NULL ? st->inflight : NULL;
}

static void adopt(struct sy_state *st, unsigned dep,
                  const struct sy_breaker_shared *sh, uint64_t now);

/* May a request go to 'd' now? PASS normally; PROBE when this request is
 * the one half-open probe ('token' identifies it; report it with the same
 * token, and call sy_state_probe_done() when done with 'd'); DENY when
 * the breaker is open or another probe is out. While the cluster's
 * breaker is open or half-open, only the cluster grants the probe: this
 * process takes none of its own (its own deadline would keep the
 * deployment out here while the real probe is elsewhere, or already
 * freed), and it calls Redis only when its copy of the cluster's state
 * says a probe may be free. */
enum sy_breaker_verdict
sy_state_allow(struct sy_state *st, struct sy_store *store,
               const struct sy_deployment *d, const char *token)
{
    const struct sy_breaker_conf *bc = &st->cfg->state.breaker;
    struct dep_state *ds = &st->deps[d->index];
    uint64_t now = sy_now_ms();
    enum sy_breaker_verdict v;
    pthread_mutex_lock(&st->lock);
    bool ask = store != NULL && atomic_load(&st->redis_up) &&
               ds->shared_known && ds->shared.state != SY_BREAKER_CLOSED;
    enum sy_breaker_state was = ds->local.state;
    if (!ask)
        v = sy_breaker_allow(&ds->local, bc, now);
    else
        v = sy_breaker_is_candidate(&ds->local, now) ? SY_BREAKER_PROBE
                                                     : SY_BREAKER_DENY;
    if (!atomic_load(&st->redis_up) && ds->local.state != was)
        sy_metrics_breaker(st->metrics, d->index, ds->local.state);
    pthread_mutex_unlock(&st->lock);
    if (!ask || v == SY_BREAKER_DENY)
        return v;
    struct sy_breaker_shared sh;
    enum sy_err e = sy_breaker_shared_allow(store, d->name, bc, token, 0, &sh);
    pthread_mutex_lock(&st->lock);
    if (e == SY_OK) {
        /* The holder's deadline (or the cluster's open deadline) is now
         * this process's, whoever got the probe. */
        adopt(st, d->index, &sh, now);
        if (sh.changed) /* this call took the cluster to half-open */
            sy_metrics_breaker(st->metrics, d->index, sh.state);
        v = sh.verdict;
    } else {
        v = sy_breaker_allow(&ds->local, bc, now); /* Redis unavailable */
    }
    pthread_mutex_unlock(&st->lock);
    return v;
}

/* Record the outcome of a call to 'd': 'result' is SY_OK or the failure
 * class; latencies in microseconds ('ttft_us' 0 when unknown). Updates the
 * local breaker and window now and queues the rest for Redis. An outcome
 * of the half-open probe ('probe_token') is flushed at once; one that
 * says nothing about the deployment frees the probe. */
void
sy_state_record(struct sy_state *st, const struct sy_deployment *d,
                enum sy_err result, uint64_t total_us, uint64_t ttft_us,
                uint64_t output_tokens, const char *probe_token)
{
    const struct sy_breaker_conf *bc = &st->cfg->state.breaker;
    enum sy_breaker_outcome o =
        result == SY_OK ? SY_BREAKER_SUCCESS : sy_breaker_classify(result);
    struct outcome oc;
    memset(&oc, 0, sizeof(oc));
    oc.dep = d->index;
    oc.o = o;
    oc.has_latency = (result == SY_OK || result == SY_ECUT) && total_us > 0;
    oc.total_us = total_us;
    oc.ttft_us = ttft_us ? ttft_us : total_us;
    oc.tpot_us = sy_latency_tpot_us(total_us, oc.ttft_us, output_tokens);
    bool probe = probe_token != NULL && probe_token[0] != '\0';
    if (probe)
        snprintf(oc.token, sizeof(oc.token), "%s", probe_token);
    uint64_t now = sy_now_ms();
    oc.at_ms = sy_wall_ms();
    struct dep_state *ds = &st->deps[d->index];
    pthread_mutex_lock(&st->lock);
    if ((o != SY_BREAKER_IGNORE || probe) &&
        sy_breaker_report(&ds->local, bc, now, o, probe, breaker_rand, NULL) &&
        !atomic_load(&st->redis_up)) /* else the cluster's counts */
        sy_metrics_breaker(st->metrics, d->index, ds->local.state);
    if (oc.has_latency) {
        sy_metrics_latency(st->metrics, d, total_us, oc.ttft_us, oc.tpot_us);
        if (result == SY_ECUT) { /* censored: it would have taken longer */
            oc.total_us = sy_latency_window_draw_above(
                &ds->win, now, SY_LATENCY_TOTAL, total_us, rand32());
            oc.ttft_us = sy_latency_window_draw_above(
                &ds->win, now, SY_LATENCY_TTFT, oc.ttft_us, rand32());
        }
        sy_latency_window_add(&ds->win, now, SY_LATENCY_TOTAL, oc.total_us);
        sy_latency_window_add(&ds->win, now, SY_LATENCY_TTFT, oc.ttft_us);
        if (oc.tpot_us > 0)
            sy_latency_window_add(&ds->win, now, SY_LATENCY_TPOT, oc.tpot_us);
    }
    if (st->redis_on && (o != SY_BREAKER_IGNORE || oc.has_latency || probe)) {
        if (st->nqueue < SY_STATE_QUEUE_MAX)
            st->queue[st->nqueue++] = oc;
        else
            st->dropped++;
    }
    pthread_mutex_unlock(&st->lock);
    if (probe && st->redis_on)
        atomic_store(&st->wake, true);
}

/* The request that got the probe of 'd' under 'token' is done with 'd'.
 * If no outcome was recorded (the caller went away, no API key had
 * quota, anything that sent nothing), the probe is freed now, in this
 * process and in the cluster, instead of being presumed lost after
 * probe_ms; after a recorded outcome this changes nothing. */
void
sy_state_probe_done(struct sy_state *st, const struct sy_deployment *d,
                    const char *token)
{
    if (st == NULL || token == NULL || token[0] == '\0')
        return;
    sy_state_record(st, d, SY_EGONE, 0, 0, 0, token);
}

/* Count a reply of 'd' that broke the requested output format: its own
 * counter (Redis hash <prefix>contract, field = deployment), never a
 * breaker failure. */
void
sy_state_contract(struct sy_state *st, const struct sy_deployment *d)
{
    if (st == NULL || !st->redis_on)
        return;
    struct outcome oc;
    memset(&oc, 0, sizeof(oc));
    oc.dep = d->index;
    oc.o = SY_BREAKER_IGNORE;
    oc.contract = true;
    pthread_mutex_lock(&st->lock);
    if (st->nqueue < SY_STATE_QUEUE_MAX)
        st->queue[st->nqueue++] = oc;
    else
        st->dropped++;
    pthread_mutex_unlock(&st->lock);
}

/* Queue request cost for the spend hashes in Redis (per day: key, team,
 * deployment, provider): spend_queue.h says what is kept. */
void
sy_state_spend(struct sy_state *st, const struct sy_usage_record *r)
{
    if (st == NULL || !st->redis_on ||
        (r->cost_micro_usd <= 0 && r->baseline_micro_usd <= 0))
        return;
    if (!sy_spend_queue_push(st->spend, r)) {
        pthread_mutex_lock(&st->lock);
        st->dropped++;
        pthread_mutex_unlock(&st->lock);
    }
}

/* ------------------------------------------------------------------ */
/* The state thread                                                    */

struct flush_ctx {
    struct sy_store_batch batch;
    struct sy_arena arena;
    struct outcome *work;
    unsigned *report_dep; /* which deployment each breaker reply is for */
    unsigned *bdep;       /* the breaker outcomes: their deployments */
    struct sy_breaker_outcome_at *bev;
};

static void
adopt(struct sy_state *st, unsigned dep, const struct sy_breaker_shared *sh,
      uint64_t now)
{
    struct dep_state *ds = &st->deps[dep];
    ds->shared = *sh;
    ds->shared_known = true;
    ds->shared_at_ms = now;
    sy_breaker_adopt(&ds->local, &st->cfg->state.breaker, sh, now);
}

/* The breaker outcomes among the 'n' queued ones (those that say
 * something, and ignored ones that free the probe), each with its time,
 * appended to the batch as one script call per deployment
 * (sy_breaker_batch_reports); returns how many calls. */
static size_t
batch_breaker_reports(struct sy_state *st, struct flush_ctx *fx,
                      const char *prefix, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct outcome *oc = &fx->work[i];
        if (oc->o == SY_BREAKER_IGNORE && oc->token[0] == '\0')
            continue;
        fx->bdep[k] = oc->dep;
        fx->bev[k].o = oc->o;
        fx->bev[k].from_ms = oc->at_ms;
        fx->bev[k].at_ms = oc->at_ms;
        fx->bev[k].count = 1;
        fx->bev[k].token = oc->token[0] != '\0' ? oc->token : NULL;
        k++;
    }
    return sy_breaker_batch_reports(&fx->batch, prefix, st->cfg, fx->bdep,
                                    fx->bev, k, breaker_rand, NULL,
                                    fx->report_dep);
}

/* Queued outcomes into the batch: latency samples into this slice's
 * pending histograms (Redis gets one HINCRBY per bucket, not per
 * sample; a slice that ended is written out), contract violations into
 * their counter. */
static void
batch_samples(struct sy_state *st, struct flush_ctx *fx, const char *prefix,
              size_t n, uint64_t slice, unsigned nslices)
{
    const struct sy_config *cfg = st->cfg;
    uint32_t ttl = sy_latency_ttl_ms(cfg->state.slice_ms, nslices);
    for (size_t i = 0; i < n; i++) {
        struct outcome *oc = &fx->work[i];
        struct dep_state *ds = &st->deps[oc->dep];
        if (oc->has_latency) {
            if (ds->pending.id != slice) {
                if (!sy_latency_slice_is_empty(&ds->pending))
                    sy_latency_write(&fx->batch, prefix,
                                     cfg->deployments[oc->dep].name,
                                     &ds->pending, ttl);
                sy_latency_slice_init(&ds->pending, slice);
            }
            sy_latency_hist_add(&ds->pending.h[SY_LATENCY_TOTAL], oc->total_us,
                                1);
            sy_latency_hist_add(&ds->pending.h[SY_LATENCY_TTFT], oc->ttft_us,
                                1);
            if (oc->tpot_us > 0)
                sy_latency_hist_add(&ds->pending.h[SY_LATENCY_TPOT],
                                    oc->tpot_us, 1);
        }
        if (oc->contract) {
            char key[SY_KEY_MAX];
            sy_key_contract(key, sizeof(key), prefix);
            sy_store_batch_addl(&fx->batch, "HINCRBY", key,
                                cfg->deployments[oc->dep].name, "1", NULL);
        }
    }
}

/* Take the refresh's replies (per deployment: 'nslices' slices of each
 * latency metric, newest first, then the breaker) into the view. */
static void
apply_refresh(struct sy_state *st, const struct sy_store_val *replies,
              unsigned nslices)
{
    const struct sy_config *cfg = st->cfg;
    size_t per = nslices * SY_LATENCY__COUNT + 1;
    pthread_mutex_lock(&st->lock);
    uint64_t now = sy_now_ms(); /* when the cluster's times were read */
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        struct dep_state *ds = &st->deps[i];
        const struct sy_store_val *r = &replies[i * per];
        for (int m = 0; m < SY_LATENCY__COUNT; m++) {
            struct sy_latency_hist h;
            sy_latency_hist_clear(&h);
            /* After the first two slices, 'h' is the recent view, after
             * all of them the whole window. */
            for (unsigned s = 0; s < nslices; s++) {
                sy_latency_merge_reply(&h, &r[(size_t)m * nslices + s]);
                if (s == SY_MIN(1u, nslices - 1))
                    sy_latency_hist_stats(&h, &ds->recent[m]);
            }
            sy_latency_hist_stats(&h, &ds->remote[m]);
        }
        ds->remote_known = true;
        struct sy_breaker_shared sh;
        if (sy_breaker_parse_shared(&r[per - 1], &sh)) {
            adopt(st, (unsigned)i, &sh, now);
            ds->remote_error_pct =
                sh.window_total ? sh.window_failed * 100u / sh.window_total : 0;
        }
    }
    pthread_mutex_unlock(&st->lock);
}

/* Write queued outcomes and read every deployment back; two pipelines.
 * 'last': the process stops: the counters go now, nothing is read. */
static void
flush_and_refresh(struct sy_state *st, struct sy_store *store,
                  struct flush_ctx *fx, bool last)
{
    const struct sy_config *cfg = st->cfg;
    const struct sy_state_conf *sc = &cfg->state;
    const char *prefix = sy_store_prefix(store);

    pthread_mutex_lock(&st->lock);
    size_t n = st->nqueue;
    memcpy(fx->work, st->queue, n * sizeof(*fx->work));
    st->nqueue = 0;
    pthread_mutex_unlock(&st->lock);

    /* 1. Outcomes: latency into this slice's pending histograms (Redis
     * gets one HINCRBY per bucket, not per sample), breaker reports. */
    sy_store_batch_reset(&fx->batch);
    sy_arena_reset(&fx->arena);
    /* Slices are numbered by wall-clock time, so every host (whatever
     * its boot time) writes and reads the same ones. */
    uint64_t wall = sy_wall_ms();
    uint64_t slice = sy_latency_slice_id(wall, sc->slice_ms);
    unsigned nslices = (sc->window_ms + sc->slice_ms - 1) / sc->slice_ms;
    batch_samples(st, fx, prefix, n, slice, nslices);
    size_t nreports = batch_breaker_reports(st, fx, prefix, n);
    sy_spend_queue_write(st->spend, &fx->batch, prefix, last);
    sy_metrics_flush(st->metrics, &fx->batch, prefix, wall, last);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        struct dep_state *ds = &st->deps[i];
        if (!sy_latency_slice_is_empty(&ds->pending)) {
            sy_latency_write(&fx->batch, prefix, cfg->deployments[i].name,
                             &ds->pending,
                             sy_latency_ttl_ms(sc->slice_ms, nslices));
            sy_latency_slice_init(&ds->pending, slice);
        }
    }
    sy_hedge_flush(&fx->batch, prefix, cfg, wall); /* hedge shares */
    size_t park_at = fx->batch.n; /* the keys' parks (park_cache.h) */
    size_t nparks = sy_park_cache_flush(&fx->batch, prefix, cfg);
    uint64_t sent_ms = sy_now_ms(); /* a park's time left is from here */
    if (fx->batch.n > 0) {
        struct sy_store_val *replies = NULL;
        if (sy_store_exec(store, &fx->batch, &fx->arena, &replies) != SY_OK) {
            atomic_store(&st->redis_up, false);
            sy_metrics_flush_failed(st->metrics);
            sy_spend_queue_done(st->spend, NULL, 0); /* kept: sent again */
            return;
        }
        atomic_store(&st->writes_refused,
                     sy_store_writes_refused(replies, fx->batch.n));
        sy_spend_queue_done(st->spend, replies, fx->batch.n);
        sy_hedge_flush_done(replies, fx->batch.n, sy_wall_ms());
        sy_park_cache_flush_done(cfg, replies + park_at, nparks, sent_ms);
        /* Breaker replies are among the others; parse the ones that are
         * breaker states (they carry a transition when one happened). */
        pthread_mutex_lock(&st->lock);
        uint64_t now = sy_now_ms();
        size_t k = 0;
        for (size_t i = 0; i < fx->batch.n && k < nreports; i++) {
            struct sy_breaker_shared sh;
            if (!sy_breaker_parse_shared(&replies[i], &sh))
                continue;
            if (sh.changed) /* this process's report made the transition */
                sy_metrics_breaker(st->metrics, fx->report_dep[k], sh.state);
            adopt(st, fx->report_dep[k++], &sh, now);
        }
        pthread_mutex_unlock(&st->lock);
    }
    if (last)
        return;

    /* 2. Refresh: every deployment's latency window and breaker. */
    sy_store_batch_reset(&fx->batch);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const char *name = cfg->deployments[i].name;
        for (int m = 0; m < SY_LATENCY__COUNT; m++)
            sy_latency_read(&fx->batch, prefix, name, (enum sy_latency_metric)m,
                            wall, sc->slice_ms, nslices);
        sy_breaker_batch_get(&fx->batch, prefix, name, &sc->breaker);
    }
    struct sy_store_val *replies = NULL;
    if (sy_store_exec(store, &fx->batch, &fx->arena, &replies) != SY_OK) {
        atomic_store(&st->redis_up, false);
        return;
    }
    size_t per = nslices * SY_LATENCY__COUNT + 1;
    if (fx->batch.n != per * cfg->ndeployments) {
        /* Not the layout we expected: treat as unavailable. */
        atomic_store(&st->redis_up, false);
        return;
    }
    apply_refresh(st, replies, nslices);
    atomic_store(&st->redis_up, true);
}

/* Apply one breaker event from the channel. */
static void
on_event(struct sy_state *st, const char *msg, size_t len)
{
    char dep[256];
    struct sy_breaker_shared sh;
    if (!sy_breaker_parse_event(msg, len, dep, sizeof(dep), &sh))
        return;
    const struct sy_config *cfg = st->cfg;
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        if (strcmp(cfg->deployments[i].name, dep) != 0)
            continue;
        pthread_mutex_lock(&st->lock);
        adopt(st, (unsigned)i, &sh, sy_now_ms());
        pthread_mutex_unlock(&st->lock);
    }
}

static void *
state_main(void *arg)
{
    struct sy_state *st = arg;
    const struct sy_state_conf *sc = &st->cfg->state;
    struct sy_store *store = sy_state_new_store(st);
    struct sy_store *sub = sy_state_new_store(st);
    char channel[256];
    sy_breaker_channel(channel, sizeof(channel), sc->prefix);
    bool subscribed = false;
    struct flush_ctx fx;
    memset(&fx, 0, sizeof(fx));
    sy_store_batch_init(&fx.batch, SY_STATE_BATCH_MAX);
    sy_arena_init(&fx.arena, 65536);
    fx.work = sy_xcalloc(SY_STATE_QUEUE_MAX, sizeof(*fx.work));
    fx.report_dep = sy_xcalloc(SY_STATE_QUEUE_MAX, sizeof(*fx.report_dep));
    fx.bdep = sy_xcalloc(SY_STATE_QUEUE_MAX, sizeof(*fx.bdep));
    fx.bev = sy_xcalloc(SY_STATE_QUEUE_MAX, sizeof(*fx.bev));
    struct sy_arena msg_arena;
    sy_arena_init(&msg_arena, 4096);

    while (!atomic_load(&st->stop)) {
        uint64_t start = sy_now_ms();
        if (store != NULL)
            flush_and_refresh(st, store, &fx, false);
        if (store != NULL && atomic_load(&st->redis_up))
            sy_budget_retry_flush(st->budget_retry, store);
        if (sub != NULL && !subscribed && atomic_load(&st->redis_up))
            subscribed = sy_store_subscribe(sub, channel) == SY_OK;
        /* Until the next refresh: breaker events as they come; a
         * probe's outcome is flushed within WAKE_MS. */
        uint64_t next = start + sc->refresh_ms;
        while (!atomic_load(&st->stop)) {
            uint64_t now = sy_now_ms();
            if (now >= next || atomic_exchange(&st->wake, false))
                break;
            uint32_t wait = (uint32_t)SY_MIN(next - now, WAKE_MS);
            if (!subscribed) {
                usleep(wait * 1000u);
                continue;
            }
            const char *ch = NULL, *msg = NULL;
            size_t len = 0;
            sy_arena_reset(&msg_arena);
            enum sy_err e =
                sy_store_read_message(sub, wait, &msg_arena, &ch, &msg, &len);
            if (e == SY_OK && msg != NULL)
                on_event(st, msg, len);
            else if (e != SY_OK && e != SY_EUP_TIMEOUT)
                subscribed = false;
        }
    }
    if (store != NULL) { /* stopping: what is left goes now */
        flush_and_refresh(st, store, &fx, true);
        sy_budget_retry_flush(st->budget_retry, store);
    }
    sy_arena_cleanup(&msg_arena);
    free(fx.work);
    free(fx.report_dep);
    free(fx.bdep);
    free(fx.bev);
    sy_store_batch_cleanup(&fx.batch);
    sy_arena_cleanup(&fx.arena);
    sy_store_free(store);
    sy_store_free(sub);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

/* A store for one request thread (quota reservations, probes), sharing
 * this process's failure gate; NULL when no Redis is configured. */
struct sy_store *
sy_state_new_store(struct sy_state *st)
{
    if (!st->redis_on)
        return NULL;
    struct sy_store *s = NULL;
    char err[256];
    if (sy_store_new(&st->sconf, &s, err, sizeof(err)) != SY_OK) {
        sy_log_error(NULL, "shared state: %s", err);
        return NULL;
    }
    return s;
}

/* Create the process's state (after fork; 'counters' the pool's, NULL:
 * its own) and start its thread when a Redis is configured. */
enum sy_err
sy_state_start(const struct sy_config *cfg, struct sy_metrics_shared *counters,
               struct sy_state **out)
{
    struct sy_state *st = sy_xcalloc(1, sizeof(*st));
    st->cfg = cfg;
    pthread_mutex_init(&st->lock, NULL);
    atomic_init(&st->redis_up, false);
    atomic_init(&st->stop, false);
    atomic_init(&st->wake, false);
    st->route_seq = sy_xcalloc(cfg->ngroups + 1, sizeof(*st->route_seq));
    sy_store_gate_init(&st->gate);
    st->metrics = sy_metrics_new(cfg, counters, &st->gate);
    /* Each process starts at its own phase, so that processes that get
     * requests in turn do not all explore with the same request. */
    for (size_t i = 0; i <= cfg->ngroups; i++)
        atomic_init(&st->route_seq[i], rand32() % 100u);
    st->deps = sy_xcalloc(cfg->ndeployments + 1, sizeof(*st->deps));
    st->inflight = sy_inflight_new(cfg->ndeployments);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        st->deps[i].learn_min = sy_known_learn_min(cfg, &cfg->deployments[i]);
        sy_breaker_init(&st->deps[i].local);
        sy_latency_window_init(&st->deps[i].win, cfg->state.slice_ms,
                               cfg->state.window_ms);
    }
    st->queue = sy_xcalloc(SY_STATE_QUEUE_MAX, sizeof(*st->queue));
    st->spend = sy_spend_queue_new(SY_STATE_QUEUE_MAX);
    st->budget_retry = sy_budget_retry_new(SY_BUDGET_RETRY_MAX);
    const struct sy_state_conf *sc = &cfg->state;
    st->redis_on = sc->redis_url != NULL || sc->nsentinels > 0;
    if (st->redis_on) {
        sy_store_conf_from_state(&st->sconf, sc);
        st->sconf.gate = &st->gate;
        atomic_store(&st->redis_up, true);
        if (pthread_create(&st->thread, NULL, state_main, st) == 0)
            st->thread_started = true;
    }
    *out = st;
    return SY_OK;
}

void
sy_state_stop(struct sy_state *st)
{
    if (st == NULL)
        return;
    atomic_store(&st->stop, true);
    if (st->thread_started)
        pthread_join(st->thread, NULL);
    for (size_t i = 0; i < st->cfg->ndeployments; i++)
        sy_latency_window_cleanup(&st->deps[i].win);
    free(st->deps);
    sy_inflight_free(st->inflight);
    free(st->route_seq);
    sy_metrics_free(st->metrics);
    free(st->queue);
    sy_spend_queue_free(st->spend);
    sy_budget_retry_free(st->budget_retry);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* This process's metric counters (metrics.h); NULL for a NULL state. */
struct sy_metrics *
sy_state_metrics(struct sy_state *st)
{
    return st != NULL ? st->metrics : NULL;
}

/* Budget settles to send again (budget_retry.h); NULL for a NULL state. */
struct sy_budget_retry *
sy_state_budget_retry(struct sy_state *st)
{
    return st != NULL ? st->budget_retry : NULL;
}

bool
sy_state_redis_on(const struct sy_state *st)
{
    return st != NULL && st->redis_on;
}

bool
sy_state_redis_up(const struct sy_state *st)
{
    return st != NULL && st->redis_on && atomic_load(&st->redis_up) &&
           !atomic_load(&st->writes_refused);
}
