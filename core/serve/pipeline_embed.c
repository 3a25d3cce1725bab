/*
 * pipeline_embed.c - POST /v1/embeddings as one transaction, like a chat
 * completion (pipeline_chat.c) and through the same machinery:
 *
 *   admit   the caller (sy_pipeline_identify), the body parsed and
 *           checked (api/embed.c), the group and the caller's model
 *           permission (sy_pipeline_admit_group), the money budget at
 *           the worst case (every byte of the body a token) and the
 *           caller key's rate limits, into the ledger;
 *   plan    the group's deployments ranked as for chat, those that serve
 *           no embeddings (capabilities.embeddings) excluded, a 400
 *           naming them when none is left;
 *   run     sy_pipeline_run: breakers, the provider's keys and their
 *           quotas, failover on a retryable failure; each try is
 *           embed_attempt() below (the adapter's build_embed and
 *           parse_embed, one buffered call);
 *   settle  sy_pipeline_settle: reservations, one usage-log line per
 *           attempt, the spend.
 *
 * Usage is the provider's when it reports it (bounded), else the
 * gateway's estimate (a token per 4 bytes of each text input, token
 * arrays counted), marked estimated in the log and with
 * "x-switchyard-estimate: true". Part of the pipeline; see
 * pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "router.h"
#include "api/adapter.h"
#include "api/caps.h"
#include "api/chat.h"
#include "api/embed.h"
#include "api/req.h"
#include "api/sink.h"
#include "api/surface.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "config/cost.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "state/quota.h"
#include "state/inflight.h"
#include "state/state.h"

#include <stdio.h>
#include <string.h>

static void
embed_error_body(struct sy_buf *out, int status, const char *message,
                 const char *type, const char *param, const char *code)
{
    (void)status;
    sy_chat_error_json(out, message, type, param, code);
}

/* The client API of this route: OpenAI's error shape; the reply is
 * written here (api/embed.c), and nothing streams. Its name goes to the
 * usage log. */
static const struct sy_surface embed_surface = {
    .name = "embeddings",
    .error_body = embed_error_body,
};

/* Admit: authenticate, parse, resolve the group, then reserve the money
 * budget (at the worst case) and the caller key's rate limits, into the
 * ledger. False when the caller has been answered. */
static bool
admit(struct pctx *c, struct sy_embed_req *req)
{
    struct sy_worker *w = c->w;
    struct sy_ledger *l = &c->led;
    if (!sy_pipeline_identify(c, &l->ck, &l->vk) ||
        !sy_pipeline_read_json_body(c))
        return false;
    struct sy_chat_error perr;
    enum sy_err e = sy_embed_req_parse(c->r->body, c->r->body_len,
                                       w->cfg->server.max_json_depth, &w->arena,
                                       req, &perr);
    if (e != SY_OK) {
        sy_pipeline_send_err(c, e, perr.message, perr.param);
        return false;
    }
    if (!sy_pipeline_admit_group(c, l, req->model))
        return false;
    /* The budget's worst case reads the (empty) chat request: a token
     * per byte of the body, no output (embeddings have no output
     * price), which bounds token arrays too (2 bytes a token at least). */
    memset(&c->chat, 0, sizeof(c->chat));
    c->chat.model = req->model;
    c->chat.max_tokens = -1;
    if (!sy_pipeline_reserve_budget(c, l->vk, l->g, &l->budget, l->budget_pid,
                                    &l->budget_held))
        return false;
    c->input_estimate = SY_MAX(req->input_tokens, (uint64_t)1);
    if (l->ck == NULL || w->quota == NULL)
        return true;
    struct sy_ratelimit_result rr;
    sy_quota_caller(w->quota, w->store, l->ck, c->input_estimate,
                    &l->caller_res, &rr);
    l->caller_held = rr.allowed;
    if (!rr.allowed) {
        sy_pipeline_send_caller_limited(c, l->ck, &rr);
        return false;
    }
    return true;
}

/* Answer a request no deployment of the group can serve: which were
 * excluded and why. */
static void
refuse_incapable(struct pctx *c, const struct sy_route_plan *plan)
{
    sy_router_explain(plan, c->route, sizeof(c->route));
    struct sy_buf msg;
    sy_buf_init(&msg, 4096);
    sy_buf_printf(&msg, "no deployment of model '%.80s' serves embeddings:",
                  c->group->name);
    for (size_t i = 0; i < plan->nexcl; i++)
        sy_buf_printf(&msg, "%s %s (%s)", i ? ";" : "", plan->excl[i].d->name,
                      plan->excl[i].why);
    sy_pipeline_send_error(c, 400, sy_buf_cstr(&msg), "invalid_request_error",
                           "model", "no_capable_deployment", NULL);
    sy_buf_free(&msg);
}

/* Plan: rank the group's deployments from this process's live picture
 * and keep those that serve embeddings. NULL when the caller has been
 * answered. */
static struct sy_route_plan *
plan_route(struct pctx *c)
{
    struct sy_worker *w = c->w;
    const struct sy_config *cfg = w->cfg;
    struct sy_dep_view *views =
        sy_arena_zalloc(&w->arena, (cfg->ndeployments + 1) * sizeof(*views));
    if (w->state != NULL)
        sy_state_views(w->state, views);
    struct sy_route_req rq = { c->input_estimate, 0 };
    uint64_t seq =
        w->state != NULL ? sy_state_route_seq(w->state, c->group) : 0;
    uint32_t rnd =
        (uint32_t)(sy_now_us() * 2654435761u) ^ (uint32_t)w->seq * 40503u;
    struct sy_route_plan *plan = sy_arena_zalloc(&w->arena, sizeof(*plan));
    sy_router_plan_seq(c->group, views, &rq, seq, rnd, plan);
    size_t other_excl = plan->nexcl;
    for (size_t i = 0; i < plan->ncand;) {
        const struct sy_deployment *d = plan->cand[i].d;
        if (!d->caps.embeddings || d->provider->adapter->build_embed == NULL)
            sy_router_exclude(plan, d,
                              d->caps.embeddings_only
                                  ? "no embeddings API on its provider"
                                  : "not an embeddings model");
        else
            i++;
    }
    if (plan->ncand == 0 && other_excl == 0 && plan->nexcl > 0) {
        refuse_incapable(c, plan);
        return NULL;
    }
    return plan;
}

/* The usage of the current attempt: what the provider reported, or the
 * estimate ('*estimated'). */
static void
attempt_usage(const struct pctx *c, struct sy_usage *u, bool *estimated)
{
    *estimated = !c->usage.present || c->usage.prompt_tokens <= 0;
    if (!*estimated) {
        *u = c->usage;
        return;
    }
    memset(u, 0, sizeof(*u));
    u->present = true;
    u->prompt_tokens = (int64_t)SY_MIN(c->input_estimate, (uint64_t)INT32_MAX);
    u->total_tokens = u->prompt_tokens;
}

/* Keep the usage the provider reported, bounded by the budget's worst
 * case (a token per byte of the body): it is paid for whatever happens
 * next. An embedding has no completion. */
static void
take_usage(struct pctx *c, const struct sy_usage *u)
{
    if (!u->present)
        return;
    int64_t most = (int64_t)SY_MIN(c->r->body_len + 1, (uint64_t)INT32_MAX);
    c->usage = *u;
    c->usage.completion_tokens = 0;
    c->usage.reasoning_tokens = 0;
    if (c->usage.prompt_tokens > most) {
        sy_log_warn(c->request_id,
                    "%s reported %lld prompt tokens for %zu bytes; bounded",
                    c->dep->name, (long long)c->usage.prompt_tokens,
                    c->r->body_len);
        c->usage.prompt_tokens = most;
    }
    if (c->usage.prompt_tokens < 0)
        c->usage.prompt_tokens = 0;
    c->usage.cached_tokens = 0;
    c->usage.total_tokens = c->usage.prompt_tokens;
}

/* A 2xx reply: read the vectors, check them against the request, and
 * answer the caller (floats or base64, with the usage billed). */
static enum sy_attempt_result
on_reply(struct pctx *c, struct sy_upstream_call *uc, struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_deployment *d = c->dep;
    if (!sy_pipeline_ctype_is(uc->content_type, "application/json")) {
        f->err = SY_EUP_PROTO;
        f->message = sy_arena_printf(
            &w->arena, "expected a JSON reply, got Content-Type '%.60s'",
            uc->content_type);
        return SY_ATTEMPT_NEXT;
    }
    struct sy_embed_resp resp;
    memset(&resp, 0, sizeof(resp));
    enum sy_err e = d->provider->adapter->parse_embed(
        &c->call, sy_buf_cstr(&uc->body), uc->body.len, &resp, f);
    if (e != SY_OK)
        sy_failure_redact(f, &c->call);
    const char *why = NULL;
    if (e == SY_OK) {
        /* Reported usage is paid, even for vectors that do not fit. */
        take_usage(c, &resp.usage);
        why = sy_embed_resp_check(c->embed, &resp);
    }
    if (e != SY_OK || why != NULL) {
        if (f->err == SY_OK)
            f->err = e != SY_OK ? e : SY_EUP_PROTO;
        if (why != NULL)
            f->message = why;
        return SY_ATTEMPT_NEXT;
    }
    struct sy_usage u;
    bool estimated;
    attempt_usage(c, &u, &estimated);
    c->cost_micro_usd =
        sy_cost_micro_usd(&d->price, &u, d->provider->markup_bp);
    char usd[SY_COST_USD_STRLEN];
    sy_cost_format_usd(c->cost_micro_usd, usd, sizeof(usd));
    const char *extra =
        sy_arena_printf(&w->arena, "x-switchyard-cost-usd: %s\r\n%s", usd,
                        estimated ? "x-switchyard-estimate: true\r\n" : "");
    struct sy_buf *b = &w->out;
    sy_buf_clear(b);
    sy_embed_reply(c->embed, &resp, resp.model ? resp.model : d->model, &u, b);
    /* A reply too large to write is answered 500 (send_unbuilt); the
     * provider's work is still paid. */
    c->result = sy_buf_failed(b) ? SY_EINTERNAL : SY_OK;
    sy_pipeline_send_body(c, 200, "application/json", extra, b);
    return SY_ATTEMPT_DONE;
}

/* A non-2xx reply or a transport failure: 'f' says what. A caller error
 * from the provider is answered here (another deployment would not do
 * better); a caller that left ends the request. */
static enum sy_attempt_result
on_failure(struct pctx *c, struct sy_upstream_call *uc, enum sy_err e,
           struct sy_failure *f)
{
    if (e == SY_EGONE) {
        sy_log_info(c->request_id, "client went away during %s", c->dep->name);
        c->result = SY_EGONE;
        return SY_ATTEMPT_DONE;
    }
    if (e != SY_OK) {
        f->err = e;
        f->message = sy_arena_strdup(
            &c->w->arena, uc->errmsg[0] ? uc->errmsg : sy_err_name(e));
        return SY_ATTEMPT_NEXT;
    }
    sy_pipeline_classify(c, uc, f);
    if (sy_err_retry(f->err))
        return SY_ATTEMPT_NEXT;
    int status = f->err == SY_EUP_BADREQ && f->status >= 400 && f->status < 500
                     ? f->status
                     : sy_err_status(f->err);
    sy_log_info(c->request_id, "deployment %s: caller error %d", c->dep->name,
                uc->status);
    sy_pipeline_send_error(c, status, f->message, sy_err_type(f->err), f->param,
                           f->code ? f->code : sy_err_code(f->err), NULL);
    c->result = f->err;
    return SY_ATTEMPT_DONE;
}

/* The one exit of an attempt: the outcome to the shared state (latency,
 * breaker), usage and cost to the attempt's record: reported, or the
 * estimate when the provider took the request and reported none. */
static void
attempt_close(struct pctx *c, struct sy_attempt *a,
              const struct sy_upstream_call *uc, bool sent)
{
    const struct sy_deployment *d = c->dep;
    bool ok2xx = uc->status >= 200 && uc->status < 300;
    a->d = d;
    a->sent = sent;
    a->outcome = c->result;
    a->total_us = uc->total_us;
    a->end_us = sy_now_us();
    a->reached = sent && uc->request_sent && (ok2xx || uc->status == 0);
    bool estimated;
    struct sy_usage u;
    attempt_usage(c, &u, &estimated);
    if (!estimated || a->reached) {
        a->usage = u;
        a->estimated = estimated;
    }
    if (a->usage.present)
        a->cost_micro_usd =
            sy_cost_micro_usd(&d->price, &a->usage, d->provider->markup_bp);
    if (c->w->state != NULL && c->result != SY_EGONE)
        sy_state_record(c->w->state, d, c->result, uc->total_us, 0, 0,
                        c->probe_token);
}

/* Reset the attempt's state and build the provider request. False when
 * the adapter refused (Gemini and token arrays): 'f' says why, and
 * another deployment of the group may still serve it. */
static bool
attempt_begin(struct pctx *c, const char *api_key, struct sy_http_out *out,
              struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_adapter *ad = c->dep->provider->adapter;
    memset(&c->usage, 0, sizeof(c->usage));
    memset(&c->f, 0, sizeof(c->f));
    c->result = SY_OK;
    memset(&c->call, 0, sizeof(c->call));
    c->call.req = &c->chat;
    c->call.target = &c->dep->target;
    c->call.api_key = api_key;
    c->call.arena = &w->arena;
    c->call.ctx =
        ad->ctx_size ? sy_arena_zalloc(&w->arena, ad->ctx_size) : NULL;
    c->call.fail = f;
    c->attempt_start_us = sy_now_us();
    memset(out, 0, sizeof(*out));
    sy_buf_clear(&w->upbody);
    out->body = &w->upbody;
    enum sy_err e = ad->build_embed(&c->call, c->embed, out);
    if (e == SY_OK)
        return true;
    f->err = e;
    if (f->message == NULL)
        f->message = "could not build the provider request";
    return false;
}

/* One try on deployment c->dep with 'api_key', recorded in 'a' (the
 * attempt_fn of sy_pipeline_run). SY_ATTEMPT_DONE when the caller has
 * been answered. */
static enum sy_attempt_result
embed_attempt(struct pctx *c, const char *api_key, struct sy_attempt *a)
{
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    struct sy_http_out out;
    struct sy_upstream_call uc;
    memset(&uc, 0, sizeof(uc));
    if (!attempt_begin(c, api_key, &out, &f)) {
        sy_pipeline_note_failure(c, &f);
        c->result = f.err;
        attempt_close(c, a, &uc, false);
        return SY_ATTEMPT_NEXT;
    }
    uc.req = &out;
    uc.timeouts = c->dep->timeouts;
    uc.max_body_bytes = c->dep->max_response_bytes;
    c->uc = &uc;
    sy_pipeline_trace_call(c, &uc);
    /* Counted in flight as a chat attempt is: the latency strategy's
     * two choices spread embeddings by it too. */
    sy_inflight_add(sy_state_inflight(c->w->state), c->dep->index, 1);
    enum sy_err e = c->w->perform(c->w->up, &uc);
    sy_inflight_add(sy_state_inflight(c->w->state), c->dep->index, -1);
    enum sy_attempt_result ar =
        e == SY_OK && uc.status >= 200 && uc.status < 300
            ? on_reply(c, &uc, &f)
            : on_failure(c, &uc, e, &f);
    if (ar == SY_ATTEMPT_NEXT) {
        c->result = f.err;
        sy_pipeline_note_failure(c, &f);
        if (!sy_err_retry(f.err)) {
            sy_pipeline_send_err(
                c, f.err, f.message ? f.message : sy_err_name(f.err), f.param);
            ar = SY_ATTEMPT_DONE;
        }
    }
    attempt_close(c, a, &uc, e != SY_ETOOBIG);
    sy_pipeline_trace_call_done(c, a, &uc);
    c->uc = NULL;
    sy_upstream_call_cleanup(&uc);
    return ar;
}

/* POST /v1/embeddings: admit, plan, run, settle (see the top). */
void
sy_pipeline_handle_embeddings(struct pctx *c)
{
    struct sy_worker *w = c->w;
    c->surface = &embed_surface;
    memset(&c->led, 0, sizeof(c->led));
    sy_buf_init(&c->why, 4096);
    struct sy_embed_req *req = sy_arena_zalloc(&w->arena, sizeof(*req));
    c->embed = req;
    c->attempt_fn = embed_attempt;
    if (admit(c, req)) {
        struct sy_route_plan *plan = plan_route(c);
        if (plan != NULL)
            sy_pipeline_run(c, plan);
    }
    sy_pipeline_settle(c);
}
