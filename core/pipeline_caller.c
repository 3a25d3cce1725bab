/*
 * pipeline_caller.c - the caller's side of a request: who is calling (a
 * configured key or a virtual key from Redis), its rate limits and money
 * budget, and the accounting once the request is settled (usage log,
 * daily spend). Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "budget.h"
#include "chat.h"
#include "clock.h"
#include "config.h"
#include "cost.h"
#include "err.h"
#include "log.h"
#include "quota.h"
#include "req.h"
#include "sink.h"
#include "state.h"
#include "usagelog.h"
#include "vkeys.h"
#include "worker.h"
#include "../adapters/adapter.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 429 for a caller key over a limit: the refusing limit's headers in
 * full (limit, remaining 0, reset), the other limit's size; an
 * all-or-nothing refusal does not tell how much of the other is left. */
void
pipeline_send_caller_limited(struct pctx *c, const struct sy_caller_key *k,
                    const struct sy_ratelimit_result *res)
{
    bool tokens = res->refused == 1;
    const char *fam = tokens ? "tokens" : "requests";
    const char *other = tokens ? "requests" : "tokens";
    uint64_t limit = tokens ? k->limits.tpm : k->limits.rpm;
    uint64_t other_limit = tokens ? k->limits.rpm : k->limits.tpm;
    uint32_t ms = res->retry_after_ms ? res->retry_after_ms : 1000;
    char reset[32], extra[400], msg[200];
    sy_quota_format_reset(ms, reset, sizeof(reset));
    int n = snprintf(extra, sizeof(extra),
                     "x-ratelimit-limit-%s: %llu\r\n"
                     "x-ratelimit-remaining-%s: 0\r\n"
                     "x-ratelimit-reset-%s: %s\r\n"
                     "Retry-After: %u\r\n",
                     fam, (unsigned long long)limit, fam, fam, reset,
                     (ms + 999) / 1000);
    if (other_limit > 0 && n > 0 && (size_t)n < sizeof(extra))
        snprintf(extra + n, sizeof(extra) - (size_t)n,
                 "x-ratelimit-limit-%s: %llu\r\n", other,
                 (unsigned long long)other_limit);
    snprintf(msg, sizeof(msg), "rate limit reached for key '%.60s': %llu "
             "%s per minute; try again in %s", k->name,
             (unsigned long long)limit, fam, reset);
    pipeline_send_error(c, 429, msg, sy_err_type(SY_EQUOTA), NULL,
               sy_err_code(SY_EQUOTA), extra);
}

/* Tokens this request may use: the prompt (about 4 bytes a token) plus
 * the answer's ceiling; the reservation is corrected afterwards. */
uint64_t
pipeline_estimate_tokens(const struct pctx *c)
{
    uint64_t in = c->r->body_len / 4 + 1;
    uint64_t out = c->chat.max_tokens > 0 ? (uint64_t)c->chat.max_tokens
                                          : 1024;
    return in + out;
}

/* Settle the request's money: one usage-log line (every request that
 * reached a deployment) and the day's spend in Redis. Strings are the
 * config's, so they outlive the state thread's queue. */
void
pipeline_account(struct pctx *c, const struct sy_caller_key *ck,
        const struct sy_group *g)
{
    if (c->attempts == 0 || c->dep == NULL)
        return;
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.request_id = c->request_id;
    r.key_name = ck ? ck->name : NULL;
    r.team = ck ? ck->team : NULL;
    r.group = g->name;
    r.deployment = c->dep->name;
    r.provider = c->dep->provider->name;
    r.prompt_tokens = c->usage.prompt_tokens;
    r.completion_tokens = c->usage.completion_tokens;
    r.cached_tokens = c->usage.cached_tokens;
    r.reasoning_tokens = c->usage.reasoning_tokens;
    r.cost_micro_usd = c->s->status == 200 ? c->cost_micro_usd : 0;
    if (c->s->status == 200 && g->ndeployments > 0) {
        const struct sy_deployment *d0 = g->deployments[0];
        r.baseline_micro_usd = sy_cost_micro_usd(&d0->price, &c->usage,
                                                 d0->provider->markup_bp);
    }
    r.status = c->s->status;
    r.error = c->s->status == 200 ? NULL : sy_err_name(c->result);
    r.attempts = c->attempts;
    sy_usagelog_write(c->w->usagelog, &r);
    sy_state_spend(c->w->state, &r);
}

/* Who is calling: a key from the config, or a virtual key from Redis
 * (stored as HMAC only). Unknown, revoked and expired keys all get the
 * same 401. Returns false when the caller has been answered. */
bool
pipeline_identify(struct pctx *c, const struct sy_caller_key **out,
         struct sy_vkey **vk_out)
{
    struct sy_worker *w = c->w;
    const struct sy_config *cfg = w->cfg;
    const char *authz = c->r->authorization;
    *out = NULL;
    *vk_out = NULL;
    bool virtual_keys = cfg->state.key_secret != NULL;
    if (cfg->nkeys == 0 && !virtual_keys)
        return true;
    const char *bearer = authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0
                             ? authz + 7
                             : NULL;
    if (virtual_keys && bearer != NULL &&
        strncmp(bearer, SY_VKEY_PREFIX, strlen(SY_VKEY_PREFIX)) == 0) {
        struct sy_vkey *vk = sy_arena_zalloc(&w->arena, sizeof(*vk));
        enum sy_err e = w->store != NULL
                            ? sy_vkey_lookup(w->store, cfg->state.key_secret,
                                             cfg->state.key_secret_len,
                                             bearer, (int64_t)sy_wall_s(), vk)
                            : SY_ESTORE;
        if (e == SY_ESTORE) {
            pipeline_send_error(c, 503, "the key store is unavailable; try again "
                       "shortly", "server_error", NULL,
                       "key_store_unavailable", "Retry-After: 1\r\n");
            return false;
        }
        if (e == SY_OK) {
            /* The key's limits go through the same reservation as a
             * configured key's; its strings live in the arena. */
            struct sy_caller_key *k = sy_arena_zalloc(&w->arena, sizeof(*k));
            k->name = vk->name;
            k->team = vk->team[0] ? vk->team : NULL;
            k->limits.rpm = (unsigned)SY_MIN(vk->rpm, (uint64_t)UINT32_MAX);
            k->limits.tpm = (unsigned)SY_MIN(vk->tpm, (uint64_t)UINT32_MAX);
            *out = k;
            *vk_out = vk;
            return true;
        }
    } else if (cfg->nkeys > 0) {
        *out = sy_auth_check(cfg, authz);
        if (*out != NULL)
            return true;
    }
    pipeline_send_err(c, SY_EAUTH, "invalid API key: send 'Authorization: Bearer "
                          "<key>' with a key of this gateway",
             NULL);
    return false;
}

/* The most a request could cost on the group's dearest deployment: what a
 * budget must hold before any provider is called. */
int64_t
pipeline_worst_case_cost(const struct pctx *c, const struct sy_group *g)
{
    int64_t worst = 0;
    int64_t in = (int64_t)(c->r->body_len / 4 + 1);
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        int64_t out = c->chat.max_tokens > 0
                          ? c->chat.max_tokens
                          : (d->caps.max_output_tokens > 0
                                 ? (int64_t)d->caps.max_output_tokens
                                 : 4096);
        int64_t cost = sy_cost_worst_case_micro_usd(&d->price, in, out,
                                                    d->provider->markup_bp);
        worst = SY_MAX(worst, cost);
    }
    return worst;
}

