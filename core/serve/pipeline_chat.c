/*
 * pipeline_chat.c - a chat completion as one transaction, read top to
 * bottom in sy_pipeline_handle_chat():
 *
 *   admit   who calls, what they ask (parsed and checked), which group;
 *           the caller key's rate limits and the virtual key's money
 *           budget reserved, each recorded in the request's ledger;
 *   plan    the group's deployments ranked from the live picture, those
 *           that cannot serve the request natively excluded;
 *   run     deployments in order, through the keys of their provider,
 *           one ledger record per attempt (pipeline_attempt.c);
 *   settle  every reservation in the ledger settled or released, one
 *           usage-log line per attempt, the spend (pipeline_settle.c).
 *
 * The three first steps only write to the ledger and answer the caller;
 * settle runs on every path, so no early return leaks a reservation or
 * an unpaid attempt.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "router.h"
#include "affinity.h"
#include "api/caps.h"
#include "api/chat.h"
#include "api/chat_affinity.h"
#include "api/req.h"
#include "api/sink.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "io/worker.h"
#include "state/budget.h"
#include "state/metrics.h"
#include "state/quota.h"
#include "state/state.h"
#include "state/vkeys.h"

#include <stdio.h>
#include <string.h>

/* Resolve the group that 'model' names and check the caller may use it.
 * False when the caller has been answered. */
bool
sy_pipeline_admit_group(struct pctx *c, struct sy_ledger *l, const char *model)
{
    const struct sy_config *cfg = c->w->cfg;
    char msg[256];
    /* No configured name or alias is longer; a longer one is refused
     * before any pattern is matched against it. */
    if (strlen(model) > SY_MODEL_NAME_MAX) {
        snprintf(msg, sizeof(msg),
                 "the model name is longer than %d bytes; GET /v1/models "
                 "lists the available models",
                 SY_MODEL_NAME_MAX);
        sy_pipeline_send_err(c, SY_ENOMODEL, msg, "model");
        return false;
    }
    const struct sy_group *g = sy_config_find_group(cfg, model);
    if (g == NULL) {
        snprintf(msg, sizeof(msg),
                 "The model '%.120s' does not exist; "
                 "GET /v1/models lists the available models",
                 model);
        sy_pipeline_send_err(c, SY_ENOMODEL, msg, "model");
        return false;
    }
    if ((l->ck != NULL && l->vk == NULL &&
         !sy_auth_model_allowed(l->ck, g->name)) ||
        (l->vk != NULL && !sy_vkey_model_allowed(l->vk, g->name))) {
        snprintf(msg, sizeof(msg), "this API key may not use model '%.120s'",
                 g->name);
        sy_pipeline_send_error(c, 403, msg, "permission_error", "model",
                               "model_not_allowed", NULL);
        return false;
    }
    if (g->nroute == 0) {
        snprintf(msg, sizeof(msg),
                 "no deployment of model '%.80s' is available: their "
                 "providers have no API key set",
                 g->name);
        sy_pipeline_send_err(c, SY_ENOROUTE, msg, "model");
        return false;
    }
    l->g = g;
    c->group = g;
    return true;
}

/* Parse the body with the caller's surface and resolve the group the
 * caller may use. False when the caller has been answered. */
static bool
admit_request(struct pctx *c, struct sy_ledger *l)
{
    struct sy_worker *w = c->w;
    struct sy_chat_error perr;
    enum sy_err e = c->surface->parse(c->r, w->cfg->server.max_json_depth,
                                      &w->arena, &c->chat, &perr);
    if (e != SY_OK) {
        sy_pipeline_send_err(c, e, perr.message, perr.param);
        return false;
    }
    c->max_tokens_asked = c->chat.max_tokens;
    return sy_pipeline_admit_group(c, l, c->chat.model);
}

/* Admit: authenticate, parse, then reserve the money budget (at the
 * worst case) and the caller key's rate limits, into the ledger. */
static bool
admit(struct pctx *c, struct sy_ledger *l)
{
    struct sy_worker *w = c->w;
    if (!sy_pipeline_identify(c, &l->ck, &l->vk) ||
        !sy_pipeline_read_json_body(c))
        return false;
    if (c->hooks != NULL && c->hooks->prepare != NULL && !c->hooks->prepare(c))
        return false;
    if (!admit_request(c, l))
        return false;
    /* What the request needs is read once (it walks the messages and
     * serialises the tools), before the budget prices it: at the
     * caller's max_tokens, which an attempt may clamp later. */
    struct sy_needs needs;
    sy_chat_req_needs(&c->chat, &needs);
    c->needs = needs;
    c->needs_set = true;
    if (!sy_pipeline_reserve_budget(c, l->vk, l->g, &l->budget, l->budget_pid,
                                    &l->budget_held))
        return false;
    /* The prompt, for an estimate should a provider report no usage:
     * the whole body (tool-call arguments, reasoning sent back and
     * schemas are read too) less image data, about 4 bytes a token, or
     * the content estimate with images at their worst if larger. */
    uint64_t text = c->r->body_len > needs.image_bytes
                        ? c->r->body_len - needs.image_bytes
                        : 0;
    c->input_estimate = SY_MAX(needs.input_tokens, text / 4 + 1);
    c->needs_tools = needs.tools;
    if (l->ck == NULL || w->quota == NULL)
        return true;
    struct sy_ratelimit_result rr;
    sy_quota_caller(w->quota, w->store, l->ck, sy_pipeline_estimate_tokens(c),
                    &l->caller_res, &rr);
    l->caller_held = rr.allowed;
    if (!rr.allowed) {
        sy_pipeline_send_caller_limited(c, l->ck, &rr);
        return false;
    }
    return true;
}

/* Answer a request no deployment of the group can serve natively: the
 * caller learns which were excluded and why. */
static void
refuse_incapable(struct pctx *c, const struct sy_route_plan *plan,
                 const char *field)
{
    sy_router_explain(plan, c->route, sizeof(c->route));
    struct sy_buf msg;
    sy_buf_init(&msg, 4096);
    sy_buf_printf(&msg,
                  "no deployment of model '%.80s' can serve this request "
                  "natively:",
                  c->group->name);
    for (size_t i = 0; i < plan->nexcl; i++)
        sy_buf_printf(&msg, "%s %s (%s)", i ? ";" : "", plan->excl[i].d->name,
                      plan->excl[i].why);
    sy_pipeline_send_error(c, 400, sy_buf_cstr(&msg), "invalid_request_error",
                           field, "no_capable_deployment", NULL);
    sy_buf_free(&msg);
}

/* Plan: rank the group's deployments from this process's live picture
 * and keep those that serve every feature of the request natively.
 * NULL when the caller has been answered. */
static struct sy_route_plan *
plan_route(struct pctx *c)
{
    struct sy_worker *w = c->w;
    const struct sy_config *cfg = w->cfg;
    struct sy_dep_view *views =
        sy_arena_zalloc(&w->arena, (cfg->ndeployments + 1) * sizeof(*views));
    if (w->state != NULL)
        sy_state_views(w->state, views);
    struct sy_route_req rq = { c->input_estimate,
                               sy_caps_output_estimate(c->chat.max_tokens) };
    /* Exploration is paced by the group's request count here. */
    uint64_t seq =
        w->state != NULL ? sy_state_route_seq(w->state, c->group) : 0;
    uint32_t rnd =
        (uint32_t)(sy_now_us() * 2654435761u) ^ (uint32_t)w->seq * 40503u;
    struct sy_route_plan *plan = sy_arena_zalloc(&w->arena, sizeof(*plan));
    sy_router_plan_seq(c->group, views, &rq, seq, rnd, plan);

    const struct sy_needs needs = c->needs;
    size_t other_excl = plan->nexcl;
    const char *field = NULL; /* a billed field some deployment refused */
    for (size_t i = 0; i < plan->ncand;) {
        char why[160];
        const struct sy_deployment *d = plan->cand[i].d;
        struct sy_needs dn = needs;
        if (c->group->clamp_max_tokens && d->caps.max_output_tokens > 0)
            dn.max_tokens = SY_MIN(dn.max_tokens, d->caps.max_output_tokens);
        if (sy_caps_check(&d->caps, &dn, why, sizeof(why)) != NULL) {
            sy_router_exclude(plan, d, sy_arena_strdup(&w->arena, why));
            if (field == NULL)
                field = sy_caps_refused_field(&d->caps, &dn);
        } else {
            i++;
        }
    }
    if (plan->ncand == 0 && other_excl == 0 && plan->nexcl > 0) {
        refuse_incapable(c, plan, field);
        return NULL;
    }
    if (c->group->affinity) {
        /* A conversation stays on its deployment (serve/affinity.c). */
        uint64_t key = 0;
        const char *scope = c->led.vk != NULL   ? c->led.vk->name
                            : c->led.ck != NULL ? c->led.ck->name
                                                : NULL;
        bool has =
            sy_chat_affinity_key(&c->chat, c->r->session_id, scope,
                                 c->group->affinity_prefix_min, &key, NULL);
        enum sy_affinity_result ar =
            sy_affinity_apply(plan, c->group, has, key);
        sy_affinity_count(ar);
        if (ar != SY_AFFINITY_NONE)
            sy_metrics_route(sy_state_metrics(c->w->state), c->group,
                             ar == SY_AFFINITY_HIT     ? SY_MR_AFFINITY_HIT
                             : ar == SY_AFFINITY_MOVED ? SY_MR_AFFINITY_MOVED
                                                       : SY_MR_AFFINITY_MISS);
    }
    return plan;
}

/* The attempt record for the next try, or NULL when the request has
 * made as many as the ledger holds. */
static struct sy_attempt *
next_attempt(struct pctx *c)
{
    return sy_ledger_add(&c->led, &c->w->arena);
}

/* Try deployment c->dep with the keys of its provider: a 429 on one of
 * our keys parks that key and moves to the next key of the same provider
 * before the request leaves the deployment. Each key's reservation is
 * recorded in the attempt and settled with the attempt's usage. */
static enum sy_attempt_result
try_deployment(struct pctx *c, uint64_t est)
{
    struct sy_worker *w = c->w;
    /* A hedge that answers leaves its deployment in c->dep: the probe
     * and the keys here are this one's. */
    const struct sy_deployment *d = c->dep;
    const struct sy_provider *p = d->provider;
    size_t tries = p->nkeys > 1 ? p->nkeys : 1;
    for (size_t t = 0; t < tries; t++) {
        struct sy_attempt *a = next_attempt(c);
        struct sy_failure f = { .err = SY_EUP_RATELIMIT,
                                .message = "every API key of its provider is "
                                           "at its limit or parked" };
        if (a == NULL) {
            f.err = SY_ENOROUTE;
            f.message = "the request made as many attempts as it may";
            sy_pipeline_note_failure(c, &f);
            return SY_ATTEMPT_NEXT;
        }
        int key = -1;
        if (w->quota != NULL) {
            key =
                sy_quota_provider_key(w->quota, w->store, p, est, &a->key_res);
            if (key < 0) {
                c->led.natt--; /* nothing was sent */
                f.retry_after_ms = a->key_res.wait_ms;
                if (a->key_res.check_failed) {
                    /* Redis refused the check: not the provider's 429. */
                    f.err = SY_ESTORE;
                    f.message = "the provider key's limit could not be "
                                "checked";
                }
                sy_pipeline_note_failure(c, &f);
                return SY_ATTEMPT_NEXT;
            }
            a->key_held = true;
        }
        const char *api_key =
            key >= 0 && p->nkeys > 0 ? p->keys[key] : sy_config_next_key(p);
        c->attempts++;
        enum sy_attempt_result ar = c->attempt_fn != NULL
                                        ? c->attempt_fn(c, api_key, a)
                                        : sy_pipeline_attempt(c, api_key, a);
        /* Only the first attempt on a deployment is its breaker probe;
         * one that recorded nothing (a caller that left) gives it back
         * now, and a retry on another key is no probe. */
        if (c->probe_token != NULL) {
            sy_state_probe_done(w->state, d, c->probe_token);
            c->probe_token = NULL;
        }
        if (a->key_held) {
            sy_quota_settle(w->quota, w->store, &a->key_res,
                            a->usage.present ? (uint64_t)a->usage.total_tokens
                                             : 0);
            a->key_held = false;
        }
        if (ar == SY_ATTEMPT_DONE || c->result != SY_EUP_RATELIMIT ||
            w->quota == NULL || key < 0)
            return ar;
        /* By this key's own 429 (a hedge's may have failed after it);
         * sy_quota_park says how long, and whether an only key waits. */
        uint32_t ra =
            a->hedge != 0 ? a->retry_after_ms : c->last.retry_after_ms;
        sy_quota_park(w->quota, w->store, p, (unsigned)key, ra);
    }
    return SY_ATTEMPT_NEXT;
}

/* A money budget reserves one worst case at admission, enough for one
 * attempt that costs money. Moving on after such an attempt (a broken
 * contract, a stream cut after its first event) needs one more, in the
 * ledger, so the budget's overshoot stays within one request whatever
 * the failover. False when the budget cannot hold it: the request stops
 * failing over. */
static enum sy_err
reserve_failover(struct pctx *c)
{
    struct sy_ledger *l = &c->led;
    if (!l->budget_held)
        return SY_OK;
    unsigned costly = 0;
    for (unsigned i = 0; i < l->natt; i++)
        if (sy_ledger_att(l, i)->cost_micro_usd > 0)
            costly++;
    if (costly < 1 + l->nextra)
        return SY_OK;
    enum sy_err e = sy_pipeline_reserve_extra(c);
    /* Redis away: a fail_open key goes on unreserved, as at admission. */
    return e == SY_ESTORE && l->vk->fail_open ? SY_OK : e;
}

/* The failover's worst case could not be reserved ('e' from
 * reserve_failover): the answer is the budget's, as at admission. */
static void
budget_refused(struct pctx *c, enum sy_err e)
{
    char msg[1024];
    const char *why = e == SY_ESTORE ? "cannot be checked now (state store "
                                       "unavailable) for"
                      : e == SY_EINTERNAL ? "could not be checked (limit "
                                            "script error) for"
                                          : "cannot cover";
    snprintf(msg, sizeof(msg),
             "the budget of key '%.64s' %s another attempt after: %.800s",
             c->led.vk->name, why, sy_buf_cstr(&c->why));
    if (e == SY_EQUOTA)
        sy_pipeline_send_error(c, 429, msg, sy_err_type(SY_EQUOTA), NULL,
                               "budget_exceeded", NULL);
    else
        sy_pipeline_send_error(c, 503, msg, "server_error", NULL,
                               e == SY_ESTORE ? "budget_unavailable"
                                              : "budget_check_failed",
                               e == SY_ESTORE ? "Retry-After: 1\r\n" : NULL);
}

/* Every deployment tried failed: one error naming each failure. */
static void
all_failed(struct pctx *c)
{
    char msg[1024];
    if (c->attempts == 0)
        snprintf(msg, sizeof(msg),
                 "every deployment of model '%.80s' is rate limited now: "
                 "%.800s",
                 c->group->name, sy_buf_cstr(&c->why));
    else
        snprintf(msg, sizeof(msg),
                 "all %u deployment%s of model '%.80s' failed: "
                 "%.800s",
                 c->attempts, c->attempts == 1 ? "" : "s", c->group->name,
                 sy_buf_cstr(&c->why));
    enum sy_err e = c->all_ratelimited ? SY_EUP_RATELIMIT : c->last.err;
    char extra[64] = "";
    /* No longer than a 429 parks a key: a provider's Retry-After of
     * days would otherwise reach the caller once, then 60 s after. */
    if (c->all_ratelimited && c->min_retry_after_ms > 0)
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
                 (SY_MIN(c->min_retry_after_ms, SY_QUOTA_PARK_MAX_MS) + 999) /
                     1000);
    sy_pipeline_send_error(c, sy_err_status(e), msg, sy_err_type(e),
                           e == SY_EBADREQ ? c->last.param : NULL,
                           sy_err_code(e), extra[0] ? extra : NULL);
}

/* Run: the planned deployments in order, each past its breaker (an open
 * one is skipped; a half-open one lets this request through as the
 * cluster's probe), until one answers the caller. Each try is
 * c->attempt_fn (the embeddings transaction's, pipeline_embed.c) or a
 * chat attempt. */
void
sy_pipeline_run(struct pctx *c, struct sy_route_plan *plan)
{
    struct sy_worker *w = c->w;
    /* The breaker's probe token is the gateway's own id, never a
     * caller's X-Request-Id (which it could repeat, or make too long for
     * the report to match). */
    const char *token = sy_arena_printf(&w->arena, "req_%s%08x", w->id_prefix,
                                        (unsigned)w->seq);
    uint64_t est = sy_pipeline_estimate_tokens(c);
    bool done = false;
    c->all_ratelimited = true;
    for (size_t i = 0; i < plan->ncand && !done && !c->s->gone; i++) {
        const struct sy_deployment *d = plan->cand[i].d;
        c->probe_token = NULL;
        if (w->state != NULL) {
            enum sy_breaker_verdict v =
                sy_state_allow(w->state, w->store, d, token);
            if (v == SY_BREAKER_DENY) {
                sy_router_exclude(plan, d, "breaker open");
                i--;
                continue;
            }
            if (v == SY_BREAKER_PROBE)
                c->probe_token = token;
        }
        sy_router_explain(plan, c->route, sizeof(c->route));
        c->dep = d;
        enum sy_err be = reserve_failover(c);
        if (be != SY_OK) {
            /* The answer is the budget's, as at admission. */
            sy_state_probe_done(w->state, d, c->probe_token);
            budget_refused(c, be);
            return;
        }
        c->plan = plan; /* for a hedge (pipeline_hedge.c) */
        c->plan_i = i;
        done = try_deployment(c, est) == SY_ATTEMPT_DONE;
        /* A probe that sent nothing (no key had quota) is freed now. */
        if (c->probe_token != NULL)
            sy_state_probe_done(w->state, d, c->probe_token);
    }
    if (done)
        return;
    sy_router_explain(plan, c->route, sizeof(c->route));
    /* Every deployment tried, or only waited on (its keys parked by a
     * 429's Retry-After, or at their limits): the caller's answer is the
     * providers' 429 with the shortest wait, as when each was called. */
    if (c->attempts > 0 || (c->all_ratelimited && c->why.len > 0)) {
        all_failed(c);
        return;
    }
    char msg[900];
    snprintf(msg, sizeof(msg),
             "no deployment of model '%.80s' can take the request now "
             "(%.700s)",
             c->group->name, c->route);
    sy_pipeline_send_err(c, SY_ENOROUTE, msg, "model");
}

/* POST /v1/chat/completions and POST /v1/messages (the caller's surface
 * set by the route): admit, plan, run, settle (see the top). */
void
sy_pipeline_handle_chat(struct pctx *c)
{
    struct sy_worker *w = c->w;
    memset(&c->led, 0, sizeof(c->led));
    sy_buf_init(&c->why, 4096);
    sy_buf_init(&c->held, SY_MAX_HELD_EVENT);
    sy_buf_init(&c->pending, 0); /* sized per attempt */
    sy_buf_init(&c->ev, SY_SURFACE_EVENT_MAX);
    sy_buf_init(&c->unf_text, SY_STREAM_TEXT_MAX);
    sy_buf_init(&c->unf_event, SY_SURFACE_EVENT_MAX);
    sy_buf_init(&c->native_tail, 2 * SY_SSE_MAX_EVENT);
    sy_buf_init(&c->final_obj, SY_SSE_MAX_EVENT);
    if (c->surface->stream_state_size > 0)
        c->sst = sy_arena_zalloc(&w->arena, c->surface->stream_state_size);
    sy_stream_answer_init(&c->answer);
    if (admit(c, &c->led)) {
        struct sy_route_plan *plan = plan_route(c);
        if (plan != NULL)
            sy_pipeline_run(c, plan);
    }
    sy_pipeline_settle(c);
}
