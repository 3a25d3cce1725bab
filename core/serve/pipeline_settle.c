/*
 * pipeline_settle.c - the one exit of the chat transaction: settle or
 * release every reservation in the request's ledger (ledger.h) with
 * what the attempts used, write one usage-log line per provider attempt
 * and record the spend; and the lifetime a budget reservation needs.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "api/chat.h"
#include "api/sink.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "config/cost.h"
#include "io/usagelog.h"
#include "io/worker.h"
#include "state/budget.h"
#include "state/budget_retry.h"
#include "state/metrics.h"
#include "state/quota.h"
#include "state/state.h"
#include "state/vkeys.h"

#include <string.h>

/* Longest a budget reservation may need to live (see below). */
/* (a deployment's total_ms may be 24 h) */
#define SY_BUDGET_TTL_MAX_MS (25u * 3600u * 1000u)
/* Slack past the attempts' limits: settling, clocks of other hosts. */
#define SY_BUDGET_TTL_SLACK_MS 60000u

/* How long the budget reservation of a request on group 'g' must live:
 * as long as the request may run, i.e. every deployment it may try, each
 * through every key of its provider, to its total_ms; plus slack. A
 * worker that crashes leaves the reservation to expire after that. */
uint32_t
sy_pipeline_budget_ttl_ms(const struct sy_group *g)
{
    uint64_t ms = SY_BUDGET_TTL_SLACK_MS;
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        size_t keys = d->provider->nkeys > 1 ? d->provider->nkeys : 1;
        ms += (uint64_t)d->timeouts.total_ms * keys;
        if (ms >= SY_BUDGET_TTL_MAX_MS)
            return SY_BUDGET_TTL_MAX_MS;
    }
    return (uint32_t)ms;
}

static int64_t
add_sat(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* One usage-log line for attempt 'i', the 'nth' of the request's
 * 'nsent' provider calls (and its spend: the state thread's queue copies
 * what it keeps of a virtual key, whose strings are the arena's). */
static void
account_attempt(struct pctx *c, unsigned i, unsigned nth, unsigned nsent,
                bool last)
{
    const struct sy_ledger *l = &c->led;
    const struct sy_attempt *a = sy_ledger_att(l, i);
    const struct sy_group *g = l->g;
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.request_id = c->request_id;
    r.trace_id = c->tr.trace_id;
    r.key_name = l->ck ? l->ck->name : NULL;
    r.team = l->ck ? l->ck->team : NULL;
    r.group = g->name;
    r.deployment = a->d->name;
    r.provider = a->d->provider->name;
    r.prompt_tokens = a->usage.prompt_tokens;
    r.completion_tokens = a->usage.completion_tokens;
    r.cached_tokens = a->usage.cached_tokens;
    r.reasoning_tokens = a->usage.reasoning_tokens;
    r.cache_write_tokens = a->usage.cache_write_tokens;
    r.surface = c->surface->name;
    r.cost_micro_usd = a->cost_micro_usd;
    /* Of a hedged pair, the winner answered, whichever came last. */
    bool answered = a->hedge != 0 ? a->won : last;
    bool served = answered && c->s->status == 200 && a->outcome == SY_OK;
    if (served && g->ndeployments > 0) {
        /* What the group's first deployment would have charged: the
         * spend report's baseline, on the answering line only. */
        const struct sy_deployment *d0 = g->deployments[0];
        r.baseline_micro_usd =
            sy_cost_micro_usd(&d0->price, &a->usage, d0->provider->markup_bp);
    }
    r.status = c->s->status;
    /* Also after a 200: a stream that ended with an error event failed. */
    r.error = c->s->status == 200 && c->result == SY_OK
                  ? NULL
                  : sy_err_name(c->result);
    r.attempts = nsent;
    r.attempt = nth;
    r.outcome = a->outcome == SY_OK ? "ok" : sy_err_name(a->outcome);
    if (a->hedge != 0 && !a->won && a->outcome == SY_EGONE)
        r.outcome = "cancelled"; /* the other of the pair answered */
    r.estimated = a->estimated ? 1 : 0;
    r.hedge = a->hedge == SY_ATTEMPT_PRIMARY ? "primary"
              : a->hedge == SY_ATTEMPT_HEDGE ? "hedge"
                                             : NULL;
    r.won = a->won ? 1 : 0;
    sy_usagelog_write(c->w->usagelog, &r);
    /* A failover: this attempt failed and another followed (not a
     * hedged pair's answer, whose other's line follows it, nor the
     * cancelled one). */
    bool failover = !last && a->outcome != SY_OK && a->outcome != SY_EGONE;
    sy_metrics_attempt(sy_state_metrics(c->w->state), g, a->d, a->outcome,
                       &a->usage, failover);
    sy_state_spend(c->w->state, &r);
}

/* Settle reservation 'id' of the caller's budget with 'cost'. When
 * Redis cannot be reached, the state thread sends it again until the
 * reservation expires (budget_retry.h): the caller is charged late, not
 * never. Any other failure is logged with the cost it loses. */
void
sy_pipeline_settle_budget(struct pctx *c, uint64_t id, int64_t cost)
{
    struct sy_ledger *l = &c->led;
    struct sy_budget_result b;
    enum sy_err e = c->w->store != NULL
                        ? sy_budget_settle(c->w->store, l->vk->name,
                                           l->budget_pid, id, cost, 0, &b)
                        : SY_ESTORE;
    if (e == SY_OK)
        return;
    /* The reservation's expiry on the script's clock: the reserve's
     * reading of it plus the lifetime it asked for. Extras were reserved
     * later and expire later, so the first one's is a safe bound. */
    struct sy_budget_pending p = {
        .name = l->vk->name,
        .period_id = l->budget_pid,
        .id = id,
        .cost = cost,
        .expires_ms = l->budget.now_ms + sy_pipeline_budget_ttl_ms(l->g),
    };
    struct sy_budget_retry *q = sy_state_budget_retry(c->w->state);
    if (e == SY_ESTORE && q != NULL && sy_budget_retry_push(q, &p)) {
        if (cost > 0)
            sy_log_warn(c->request_id,
                        "budget of key %s not settled (state store "
                        "unreachable): %lld micro-USD queued to settle again",
                        l->vk->name, (long long)cost);
        return;
    }
    if (e != SY_ESTORE && cost > 0)
        sy_log_warn(c->request_id,
                    "budget of key %s not settled (%s): %lld micro-USD "
                    "not recorded; the reservation expires",
                    l->vk->name, sy_err_name(e), (long long)cost);
}

/* Settle the ledger: the provider keys, the caller key's rate limits and
 * the budget with what every attempt used (reported or estimated), then
 * the usage log and the spend. Runs once, on every path. */
void
sy_pipeline_settle(struct pctx *c)
{
    struct sy_worker *w = c->w;
    struct sy_ledger *l = &c->led;
    if (l->settled)
        return;
    l->settled = true;
    uint64_t tokens = 0;
    int64_t cost = 0;
    for (unsigned i = 0; i < l->natt; i++) {
        struct sy_attempt *a = sy_ledger_att(l, i);
        uint64_t t = a->usage.present ? (uint64_t)a->usage.total_tokens : 0;
        if (a->key_held) {
            sy_quota_settle(w->quota, w->store, &a->key_res, t);
            a->key_held = false;
        }
        tokens += t;
        cost = add_sat(cost, a->cost_micro_usd);
    }
    if (l->caller_held)
        sy_quota_settle(w->quota, w->store, &l->caller_res, tokens);
    l->caller_held = false;
    if (l->budget_held) {
        /* The whole cost on the first reservation; the extras are
         * released (settled with 0). */
        sy_pipeline_settle_budget(c, l->budget.id, cost);
        for (unsigned i = 0; i < l->nextra; i++)
            sy_pipeline_settle_budget(c, l->extra_id[i], 0);
    }
    l->budget_held = false;
    unsigned last = 0, nsent = 0;
    for (unsigned i = 0; i < l->natt; i++)
        if (sy_ledger_att(l, i)->sent) {
            last = i;
            nsent++;
        }
    for (unsigned i = 0, k = 0; i < l->natt; i++)
        if (sy_ledger_att(l, i)->sent)
            account_attempt(c, i, ++k, nsent, i == last);
    sy_buf_free(&c->why);
    sy_buf_free(&c->held);
    sy_buf_free(&c->pending);
    sy_buf_free(&c->ev);
    sy_buf_free(&c->unf_text);
    sy_buf_free(&c->unf_event);
    sy_buf_free(&c->native_tail);
    sy_buf_free(&c->final_obj);
    sy_stream_answer_free(&c->answer);
}
