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
#include "base/err.h"
#include "io/store.h"

/* What the router knows about one deployment right now. */
struct sy_dep_view {
    bool breaker_open; /* open: skip (half-open probes are decided
                               by the caller) */
    bool half_open;
    uint64_t samples; /* completed requests in the window */
    uint32_t p50_ms;  /* total latency */
    uint32_t p99_ms;
    uint32_t ttft_p50_ms; /* time to first token */
    uint32_t ttft_p95_ms;
    uint32_t tpot_p50_us; /* time per output token */
    unsigned error_pct;   /* provider failures in the window */
};

struct sy_state;

enum sy_err sy_state_start(const struct sy_config *cfg, struct sy_state **out);
void sy_state_stop(struct sy_state *st);
bool sy_state_redis_on(const struct sy_state *st);
bool sy_state_redis_up(const struct sy_state *st);
struct sy_store *sy_state_new_store(struct sy_state *st);
void sy_state_views(struct sy_state *st, struct sy_dep_view *out);
enum sy_breaker_verdict sy_state_allow(struct sy_state *st,
                                       struct sy_store *store,
                                       const struct sy_deployment *d,
                                       const char *token);
void sy_state_contract(struct sy_state *st, const struct sy_deployment *d);
struct sy_usage_record;
struct sy_state_conf;
void sy_state_describe_redis(const struct sy_state_conf *sc, char *out,
                             size_t outlen);
void sy_state_spend(struct sy_state *st, const struct sy_usage_record *r);
void sy_state_record(struct sy_state *st, const struct sy_deployment *d,
                     enum sy_err result, uint64_t total_us, uint64_t ttft_us,
                     uint64_t output_tokens, const char *probe_token);
void sy_state_probe_done(struct sy_state *st, const struct sy_deployment *d,
                         const char *token);
struct sy_group;
uint64_t sy_state_route_seq(struct sy_state *st, const struct sy_group *g);

#endif
