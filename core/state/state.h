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
#include "serve/router.h"
#include "io/store.h"

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

#endif
