/*
 * state.h - the live picture of every deployment in one worker process:
 * latency quantiles and breaker states, kept fresh from Redis by a state
 * thread (refresh, pub/sub, batched writes of outcomes) so that request
 * threads read memory, not Redis; and local statistics and breakers that
 * carry on alone while Redis is down.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_STATE_H
#define SY_CORE_STATE_H

#include "base/sy.h"
#include "breaker.h"
#include "hedge.h" /* the state thread flushes the hedge shares */
#include "base/err.h"
#include "io/store.h"

/* Samples in a deployment's last two slices that make its window live:
 * they raise its quantiles (a slowdown shows at once) and refresh what
 * is known of it. */
#define SY_STATE_RECENT_MIN 3

/* A deployment's latency picture as last seen live (enough recent
 * samples, and a learned window): a deployment that drained (slow, or
 * simply unused) is judged by it, never relearned as new. */
struct sy_dep_known {
    uint64_t samples; /* 0: never seen live */
    uint32_t p50_ms;
    uint32_t p99_ms;
    uint32_t ttft_p50_ms;
    uint32_t ttft_p95_ms;
    uint32_t ttft_p99_ms;
    uint32_t tpot_p50_us;
    uint64_t age_ms; /* since it was last seen live */
    bool outlived;   /* older than the latency window: every sample there
                        was taken after it */
};

/* What the router knows about one deployment right now. */
struct sy_dep_view {
    bool breaker_open; /* open: skip (half-open probes are decided
                               by the caller) */
    bool half_open;
    uint64_t samples;          /* completed requests in the window */
    uint32_t p50_ms;           /* total latency */
    uint32_t p99_ms;           /* as a threshold judges it: held by three
                         samples (sy_latency_hist_quantile_held) */
    uint32_t ttft_p50_ms;      /* time to first token */
    uint32_t ttft_p95_ms;      /* held, as p99_ms */
    uint32_t ttft_p99_ms;      /* held, as p99_ms */
    uint32_t tpot_p50_us;      /* time per output token */
    unsigned error_pct;        /* provider failures in the window */
    uint64_t recent_samples;   /* of 'samples', those in the last two
                                slices: SY_STATE_RECENT_MIN or more and
                                the quantiles above are live */
    unsigned inflight;         /* attempts on it in this process now */
    uint64_t started;          /* attempts on it this process started */
    uint32_t wait_ms;          /* its streams' wait for a first token in
                                  this process: the second-longest of
                                  those waiting and the last two ended
                                  (state/inflight.h) */
    unsigned lost;             /* of its last two ended waits, those that
                                  ended still waiting (a hedge won) */
    struct sy_dep_known known; /* the last live picture, kept when
                                  traffic stops (state_known.c) */
};

struct sy_state;

struct sy_metrics_shared;
enum sy_err sy_state_start(const struct sy_config *cfg,
                           struct sy_metrics_shared *counters,
                           struct sy_state **out);
void sy_state_stop(struct sy_state *st);
bool sy_state_redis_on(const struct sy_state *st);
bool sy_state_redis_up(const struct sy_state *st);
struct sy_metrics;
struct sy_metrics *sy_state_metrics(struct sy_state *st);
struct sy_store *sy_state_new_store(struct sy_state *st);
void sy_state_views(struct sy_state *st, struct sy_dep_view *out);
enum sy_breaker_verdict sy_state_allow(struct sy_state *st,
                                       struct sy_store *store,
                                       const struct sy_deployment *d,
                                       const char *token);
void sy_state_contract(struct sy_state *st, const struct sy_deployment *d);
struct sy_usage_record;
struct sy_state_conf;
/* sy_state_describe_redis: state/snapshot.h */
void sy_state_spend(struct sy_state *st, const struct sy_usage_record *r);
struct sy_budget_retry;
struct sy_budget_retry *sy_state_budget_retry(struct sy_state *st);
void sy_state_record(struct sy_state *st, const struct sy_deployment *d,
                     enum sy_err result, uint64_t total_us, uint64_t ttft_us,
                     uint64_t output_tokens, const char *probe_token);
void sy_state_probe_done(struct sy_state *st, const struct sy_deployment *d,
                         const char *token);
struct sy_group;
uint64_t sy_state_route_seq(struct sy_state *st, const struct sy_group *g);
struct sy_inflight;
struct sy_inflight *sy_state_inflight(struct sy_state *st);

/* state_known.c: the last live picture of a deployment (pure). */
void sy_known_keep(struct sy_dep_known *k, uint64_t *k_at_ms,
                   struct sy_dep_view *v, uint64_t now_ms, unsigned learn_min,
                   uint32_t window_ms);
unsigned sy_known_learn_min(const struct sy_config *cfg,
                            const struct sy_deployment *d);
/* Raise the window statistics 's' by its last two slices 'recent' (one
 * per latency metric, SY_LATENCY__COUNT each): state_known.c says when. */
struct sy_latency_stats;
void sy_known_raise_by_recent(struct sy_latency_stats *s,
                              const struct sy_latency_stats *recent);

#endif
