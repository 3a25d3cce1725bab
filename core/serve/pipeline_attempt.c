/*
 * pipeline_attempt.c - one provider attempt of a chat request: build the
 * provider request through the adapter, perform it, and turn what came
 * back into the caller's answer or a failure that may move on to the
 * next deployment.
 *
 * Every attempt ends in attempt_close(), its one exit: the outcome goes
 * to the shared state (latency, breaker), and the attempt's record in
 * the ledger gets its usage and cost: what the provider reported, or,
 * for an attempt the provider took but reported nothing for, the
 * gateway's estimate (never 0). Settling is the transaction's job
 * (pipeline_settle.c).
 *
 * A caller that did not ask for a stream is still served from a provider
 * stream when the deployment can stream: first_byte_ms and idle_ms then
 * measure the provider, not the length of the answer, and time to first
 * token is sampled for every request. The reply is assembled
 * (api/assemble.c) and checked like a buffered one.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "api/assemble.h"
#include "api/caps.h"
#include "api/chat.h"
#include "api/sink.h"
#include "api/sse.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "config/cost.h"
#include "contract/contract.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "state/inflight.h"
#include "state/state.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* A group that clamps max_tokens: this attempt asks at most the
 * deployment's output limit (in the canonical request and its tree,
 * which the adapters read), the caller's own value otherwise. The
 * budget was reserved for the caller's value, the larger. */
static void
clamp_max_tokens(struct pctx *c, const struct sy_deployment *d)
{
    if (c->group == NULL || !c->group->clamp_max_tokens ||
        c->max_tokens_asked <= 0)
        return;
    int64_t want = c->max_tokens_asked;
    if (d->caps.max_output_tokens > 0 &&
        (uint64_t)want > d->caps.max_output_tokens)
        want = (int64_t)d->caps.max_output_tokens;
    c->chat.max_tokens = want;
    static const char *const names[] = { "max_tokens",
                                         "max_completion_tokens" };
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        if (json_object_object_get_ex(c->chat.root, names[i], NULL))
            json_object_object_add(c->chat.root, names[i],
                                   json_object_new_int64(want));
}

/* Reset the per-attempt state and build the provider request. False
 * when the adapter refused (a feature its provider lacks): 'f' says
 * why, and another deployment of the group may still serve it. */
static bool
attempt_begin(struct pctx *c, const char *api_key, struct sy_http_out *out,
              struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_deployment *d = c->dep;
    const struct sy_adapter *ad = d->provider->adapter;
    memset(&c->f, 0, sizeof(c->f));
    memset(&c->usage, 0, sizeof(c->usage));
    c->ct_checked = false;
    c->done_seen = false;
    c->holding = false;
    c->stream_chunks = 0;
    c->stream_bytes = 0;
    c->stream_min_len = 0;
    c->result = SY_OK;
    sy_buf_clear(&c->held);
    /* What a stream may take is sized from this deployment's
     * max_response_bytes (see on_stream_data), not a fixed ceiling. */
    sy_buf_free(&c->pending);
    sy_buf_init(&c->pending, d->max_response_bytes);
    sy_stream_answer_clear(&c->answer);
    sy_stream_answer_limit(&c->answer, d->max_response_bytes);
    c->check_stream =
        c->chat.stream &&
        (c->chat.response_format != SY_FORMAT_TEXT || c->needs_tools);
    c->buffering =
        c->check_stream && c->group != NULL && c->group->stream_buffer;
    /* A non-streaming caller is served from a provider stream whenever
     * the deployment streams with usage (see the file comment). */
    c->as = NULL;
    c->json_reply = false;
    /* A caller that speaks this adapter's own format goes through
     * natively: its request as it sent it, the provider's reply and
     * events relayed unchanged (a non-streaming one is read whole, so
     * the provider's body is what the caller gets). */
    c->native = c->chat.native.dialect != NULL &&
                strcmp(c->chat.native.dialect, ad->name) == 0;
    clamp_max_tokens(c, d);
    c->unfencing = c->check_stream && !c->buffering &&
                   c->chat.response_format != SY_FORMAT_TEXT && !c->native;
    sy_unfence_init(&c->unf);
    sy_buf_clear(&c->native_tail);
    if (c->sst != NULL && !c->s->headers_sent)
        memset(c->sst, 0, c->surface->stream_state_size);
    bool assemble = !c->native && !c->chat.stream && d->caps.streaming &&
                    ad->stream_event != NULL &&
                    (ad->caps & SY_CAP_STREAM_USAGE) != 0;
    if (assemble)
        c->as = sy_assemble_new(&w->arena, d->max_response_bytes,
                                w->cfg->server.max_json_depth);

    memset(&c->call, 0, sizeof(c->call));
    c->call.req = &c->chat;
    c->call.target = &d->target;
    c->call.api_key = api_key;
    c->call.stream_upstream = c->as != NULL;
    c->call.relay_native = c->native && c->chat.stream;
    c->call.arena = &w->arena;
    c->call.ctx =
        ad->ctx_size ? sy_arena_zalloc(&w->arena, ad->ctx_size) : NULL;
    c->call.fail = f;
    c->attempt_start_us = sy_now_us();
    c->first_event_us = 0;
    c->wait_slot = -1;
    memset(out, 0, sizeof(*out));
    /* A hedge's request is built apart: the first one's body may still
     * be going out (pipeline_hedge.c). */
    out->body = c->upbody != NULL ? c->upbody : &w->upbody;
    sy_buf_clear(out->body);
    enum sy_err e = ad->build_request(&c->call, out);
    if (e == SY_OK)
        return true;
    f->err = e;
    if (f->message == NULL)
        f->message = "could not build the provider request";
    return false;
}

static void estimate_usage(struct pctx *c, const struct sy_upstream_call *uc,
                           struct sy_usage *u);

/* Usage of zeros (a provider that sends "usage":{}) says nothing. The
 * adapters pass usage on only from a stream's final events, so what was
 * reported is the whole count. */
static bool
usage_reported(const struct sy_usage *u)
{
    return u->present && (u->prompt_tokens > 0 || u->completion_tokens > 0);
}

/* The price of the answer being sent, as text in 'usd': of the usage
 * the provider reported, or of the estimate attempt_close charges when
 * it reported none (true then), so the caller is told what it pays. */
static bool
answer_cost(struct pctx *c, char *usd, size_t n)
{
    const struct sy_deployment *d = c->dep;
    struct sy_usage u = c->usage;
    bool est = !usage_reported(&u) && c->uc != NULL;
    if (est)
        estimate_usage(c, c->uc, &u);
    c->cost_micro_usd =
        sy_cost_micro_usd(&d->price, &u, d->provider->markup_bp);
    sy_cost_format_usd(c->cost_micro_usd, usd, n);
    return est;
}

/* The cost header of a JSON reply, with the contract mark when the
 * group passes violations on. */
static const char *
cost_header(struct pctx *c, const char *extra)
{
    char usd[32];
    bool est = answer_cost(c, usd, sizeof(usd));
    return sy_arena_printf(
        &c->w->arena, "x-switchyard-cost-usd: %s\r\n%s%s", usd,
        est ? "x-switchyard-cost-estimated: true\r\n" : "", extra ? extra : "");
}

/* A complete reply for a non-streaming caller (parsed or assembled):
 * check the output contract, then answer, or turn a violation into a
 * failure of this deployment. */
static enum sy_attempt_result
finish_reply(struct pctx *c, struct sy_chat_resp *resp, struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_deployment *d = c->dep;
    char why[300];
    const char *extra = NULL;
    if (!sy_chat_resp_contract(&c->chat, resp, w->cfg->server.max_json_depth,
                               &w->arena, why, sizeof(why))) {
        /* The reply breaks the requested format: a failure of this
         * deployment (counted apart from breaker failures), unless the
         * group passes such replies on. When the caller's patterns spent
         * the request's regex budget, the caller's schema is at fault: a
         * 400, no failover, nothing held against the deployment. */
        if (sy_chat_contract_overspent(&c->chat)) {
            f->err = SY_EBADREQ;
            f->message = sy_arena_printf(&w->arena,
                                         "the output contract could not be "
                                         "checked: %s",
                                         why);
            return SY_ATTEMPT_NEXT;
        }
        if (w->state != NULL)
            sy_state_contract(w->state, d);
        if (c->group->on_violation != SY_CONTRACT_PASS) {
            f->err = SY_EUP_CONTRACT;
            f->message = sy_arena_printf(
                &w->arena, "the reply broke the output contract: %s", why);
            return SY_ATTEMPT_NEXT;
        }
        extra = "x-switchyard-contract: violated\r\n";
    }
    extra = cost_header(c, extra);
    bool keep = c->hooks != NULL && c->hooks->keep != NULL;
    if (resp->raw != NULL && (c->native || c->surface == &sy_surface_chat)) {
        /* Unchanged reply, in the caller's format: straight from the
         * upstream buffer. */
        sy_pipeline_send_bytes(c, 200, "application/json", extra, resp->raw,
                               resp->raw_len);
        if (keep)
            c->hooks->keep(c, resp->raw, resp->raw_len);
    } else {
        struct sy_buf *b = &w->out;
        sy_buf_clear(b);
        if (c->surface->reply(&c->chat, resp, &w->arena, b) != SY_OK &&
            !sy_buf_failed(b)) {
            sy_buf_clear(b);
            c->surface->error_body(b, 502,
                                   "the provider's reply could not be "
                                   "translated",
                                   "server_error", NULL, "bad_reply");
            sy_pipeline_send_body(c, 502, "application/json", extra, b);
        } else {
            sy_pipeline_send_body(c, 200, "application/json", extra, b);
            if (keep && !sy_buf_failed(b))
                c->hooks->keep(c, sy_buf_cstr(b), b->len);
        }
    }
    c->result = SY_OK;
    return SY_ATTEMPT_DONE;
}

/* Keep the usage a reply reported (bounded by what the deployment can
 * produce): it is paid for whatever happens next. */
static void
take_usage(struct pctx *c, const struct sy_usage *u)
{
    if (!u->present)
        return;
    c->usage = *u;
    if (sy_pipeline_usage_bound(c, &c->usage))
        sy_log_warn(c->request_id,
                    "%s reported impossible token counts; "
                    "bounded",
                    c->dep->name);
}

/* A 2xx reply to a non-streaming caller: a buffered JSON body, or the
 * provider stream gathered by the assembler. */
static enum sy_attempt_result
on_reply(struct pctx *c, struct sy_upstream_call *uc, struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_adapter *ad = c->dep->provider->adapter;
    struct sy_chat_resp resp;
    memset(&resp, 0, sizeof(resp));
    enum sy_err e;
    if (c->as != NULL) {
        /* on_stream_data fed the stream; a last event without its blank
         * line is still an event. */
        e = sy_sse_stream_feed(ad, &c->call, NULL, 0, sy_pipeline_on_chunk, c,
                               &c->f);
        if (e == SY_OK)
            e = sy_assemble_finish(c->as, &resp);
        if (e != SY_OK) {
            /* An error event keeps its class; a broken assembly is a
             * protocol failure. */
            *f = c->f;
            if (f->err == SY_OK)
                f->err = SY_EUP_PROTO;
            if (f->message == NULL)
                f->message = sy_assemble_message(c->as);
        }
    } else if (!sy_pipeline_ctype_is(uc->content_type, "application/json")) {
        e = f->err = SY_EUP_PROTO;
        f->message = sy_arena_printf(
            &w->arena, "expected a JSON reply, got Content-Type '%.60s'",
            uc->content_type);
    } else {
        e = ad->parse_response(&c->call, sy_buf_cstr(&uc->body), uc->body.len,
                               &resp, f);
        if (e != SY_OK)
            sy_failure_redact(f, &c->call); /* an error object in a 200 */
    }
    if (e == SY_OK) {
        take_usage(c, &resp.usage);
        c->tr.finish_reason = resp.finish_reason; /* for its span */
        c->tr.response_model = resp.upstream_model;
        return finish_reply(c, &resp, f);
    }
    if (f->err == SY_OK)
        f->err = e;
    return SY_ATTEMPT_NEXT;
}

/* A stream that ended well: its final reply object to hooks->keep (a
 * native stream's, captured from its events, wrapped as the provider
 * sent it; else the surface's). */
static void
keep_stream_result(struct pctx *c)
{
    if (c->hooks == NULL || c->hooks->keep == NULL)
        return;
    if (!c->native) {
        sy_buf_clear(&c->final_obj);
        if (c->surface->stream_result == NULL ||
            c->surface->stream_result(c->sst, &c->final_obj) != SY_OK)
            return;
    } else if (c->final_obj.len > 0) {
        /* The provider's event data: the object is its "response". */
        struct json_object *ev = json_tokener_parse(sy_buf_cstr(&c->final_obj));
        struct json_object *r = NULL;
        sy_buf_clear(&c->final_obj);
        if (ev != NULL && json_object_object_get_ex(ev, "response", &r) &&
            json_object_is_type(r, json_type_object))
            sy_buf_puts(&c->final_obj, json_object_to_json_string_ext(
                                           r, JSON_C_TO_STRING_PLAIN));
        json_object_put(ev);
    }
    if (c->final_obj.len > 0 && !sy_buf_failed(&c->final_obj))
        c->hooks->keep(c, sy_buf_cstr(&c->final_obj), c->final_obj.len);
}

/* The end of a 2xx stream to a streaming caller: check the contract
 * when asked, then finish the stream, or fail over while nothing has
 * reached the caller, or end it with an error event. */
static enum sy_attempt_result
on_stream_end(struct pctx *c, struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_deployment *d = c->dep;
    /* A last event without its blank line is still an event. */
    enum sy_err e = sy_sse_stream_feed(d->provider->adapter, &c->call, NULL, 0,
                                       sy_pipeline_on_chunk, c, &c->f);
    if (e != SY_OK || !c->done_seen || c->f.err != SY_OK) {
        *f = c->f;
        if (f->err == SY_OK) {
            f->err = e != SY_OK ? e : SY_EUP_PROTO;
            f->message = "the stream ended before its end marker";
        }
        return SY_ATTEMPT_NEXT;
    }
    char why[300];
    bool holds = true, violated = false, fenced = false, caller = false;
    if (c->check_stream &&
        !sy_chat_stream_contract(&c->chat, &c->answer,
                                 w->cfg->server.max_json_depth, &w->arena, why,
                                 sizeof(why), &fenced)) {
        caller = sy_chat_contract_overspent(&c->chat);
        if (w->state != NULL && !caller)
            sy_state_contract(w->state, d);
        violated = true;
        holds = !caller && c->group->on_violation == SY_CONTRACT_PASS;
    }
    if (!holds) {
        /* The caller's patterns spent the regex budget (finish_reply). */
        f->err = caller ? SY_EBADREQ : SY_EUP_CONTRACT;
        f->message = sy_arena_printf(&w->arena,
                                     "the streamed answer of %s broke the "
                                     "output contract: %s",
                                     d->name, why);
        if (!c->s->headers_sent)
            return SY_ATTEMPT_NEXT;
        /* Too late to move: end with an error, never a silent success
         * that breaks the caller's parser. */
        sy_pipeline_send_stream_error(c, f->err, f->message);
        c->result = f->err;
        return SY_ATTEMPT_DONE;
    }
    if ((c->buffering &&
         sy_pipeline_send_buffered(c, fenced, violated) != SY_OK) ||
        sy_pipeline_release_held(c) != SY_OK) {
        /* The caller's surface could not write the answer (write_event):
         * a failure, its error event already sent or to be sent. */
        *f = c->f;
        return SY_ATTEMPT_NEXT;
    }
    char usd[32], note[48];
    bool est = answer_cost(c, usd, sizeof(usd));
    snprintf(note, sizeof(note), "%s%s", usd,
             est ? " estimated" : ""); /* in the SSE comment */
    sy_pipeline_stream_finish(c, note);
    keep_stream_result(c);
    c->result = SY_OK;
    return SY_ATTEMPT_DONE;
}

/* A non-2xx reply or a transport failure: 'f' says what. A caller error
 * from the provider is answered here (no other deployment would do
 * better); a caller that left ends the request. */
static enum sy_attempt_result
on_failure(struct pctx *c, struct sy_upstream_call *uc, enum sy_err e,
           struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    if (e == SY_OK) {
        sy_pipeline_classify(c, uc, f);
        if (sy_err_retry(f->err))
            return SY_ATTEMPT_NEXT;
        /* A caller error (or a class we never retry): answer with it,
         * keeping the provider's status for caller errors. */
        int status =
            f->err == SY_EUP_BADREQ && f->status >= 400 && f->status < 500
                ? f->status
                : sy_err_status(f->err);
        sy_log_info(c->request_id, "deployment %s: caller error %d",
                    c->dep->name, uc->status);
        sy_pipeline_send_error(c, status, f->message, sy_err_type(f->err),
                               f->param,
                               f->code ? f->code : sy_err_code(f->err), NULL);
        c->result = f->err;
        return SY_ATTEMPT_DONE;
    }
    if (e == SY_EGONE) {
        sy_log_info(c->request_id, "client went away during %s", c->dep->name);
        c->result = SY_EGONE;
        return SY_ATTEMPT_DONE;
    }
    *f = c->f;
    if (f->err == SY_OK || f->message == NULL) {
        f->err = e;
        f->message = sy_arena_strdup(&w->arena, uc->errmsg[0] ? uc->errmsg
                                                              : sy_err_name(e));
    }
    return SY_ATTEMPT_NEXT;
}

/* The attempt failed with 'f': note it, end a started stream with an
 * error event, answer now when the failure may not move on. */
static enum sy_attempt_result
after_failure(struct pctx *c, struct sy_failure *f)
{
    c->result = f->err;
    sy_pipeline_note_failure(c, f);
    if (c->s->headers_sent) {
        char msg[320];
        snprintf(msg, sizeof(msg), "upstream %s failed mid-stream: %s",
                 c->dep->name, f->message ? f->message : sy_err_name(f->err));
        sy_pipeline_send_stream_error(c, f->err, msg);
        return SY_ATTEMPT_DONE;
    }
    if (!sy_err_retry(f->err) ||
        (f->err == SY_EUP_CONTRACT &&
         c->group->on_violation == SY_CONTRACT_ERROR)) {
        sy_pipeline_send_err(
            c, f->err, f->message ? f->message : sy_err_name(f->err), f->param);
        return SY_ATTEMPT_DONE;
    }
    return SY_ATTEMPT_NEXT;
}

/* Usage for an attempt the provider took but reported none for (a
 * stream cut short, a client that left, a reply without "usage"): the
 * prompt estimate (about 4 bytes a token, images at their worst), and
 * the answer counted from what arrived: a token per 4 bytes of the
 * events past their envelope (the shortest event), or of a buffered
 * reply's body; at most max_tokens for each choice, and bounded like
 * reported usage. Never 0: the provider bills the prompt it read. */
static void
estimate_usage(struct pctx *c, const struct sy_upstream_call *uc,
               struct sy_usage *u)
{
    uint64_t text = c->stream_bytes - c->stream_chunks * c->stream_min_len;
    uint64_t out = text / 4;
    if ((uc->on_data == NULL || c->json_reply) && uc->status >= 200 &&
        uc->status < 300)
        out = uc->body_bytes / 4; /* a buffered reply's body */
    if (c->chat.max_tokens > 0)
        out = SY_MIN(out, (uint64_t)c->chat.max_tokens *
                              sy_chat_req_choices(&c->chat));
    memset(u, 0, sizeof(*u));
    u->present = true;
    u->prompt_tokens =
        (int64_t)SY_MAX(SY_MIN(c->input_estimate, (uint64_t)INT32_MAX), 1);
    u->completion_tokens = (int64_t)SY_MIN(out, (uint64_t)INT32_MAX);
    u->total_tokens = u->prompt_tokens + u->completion_tokens;
    sy_pipeline_usage_bound(c, u);
}

/* The one exit of an attempt: the outcome to the shared state, usage and
 * cost to the attempt's record. 'sent': the request went out. */
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
    if (usage_reported(&c->usage)) {
        a->usage = c->usage;
    } else if (a->reached) {
        estimate_usage(c, uc, &a->usage);
        a->estimated = true;
        sy_log_info(c->request_id,
                    "%s reported no usage; charged an estimate of "
                    "%lld prompt and %lld completion tokens",
                    d->name, (long long)a->usage.prompt_tokens,
                    (long long)a->usage.completion_tokens);
    }
    if (c->as != NULL) {
        /* What it gathered is not needed past the attempt. */
        sy_assemble_free(c->as);
        c->as = NULL;
    }
    if (a->usage.present)
        a->cost_micro_usd =
            sy_cost_micro_usd(&d->price, &a->usage, d->provider->markup_bp);
    if (c->w->state == NULL)
        return;
    /* A stream with no event past its opening: no first token, its end
     * is taken (sy_state_record), not the opening, which would make a
     * provider that opens and stalls look fast. */
    uint64_t ttft = c->first_event_us > c->attempt_start_us
                        ? c->first_event_us - c->attempt_start_us
                        : 0;
    uint64_t out_tokens =
        c->usage.present ? (uint64_t)c->usage.completion_tokens : 0;
    /* A caller that went away says nothing about the deployment (the
     * probe it may hold is given back by the run loop). A call cut because
     * the other of a hedged pair answered first took at least this long:
     * its elapsed time is a latency sample (SY_ECUT: no breaker outcome;
     * a censored one, which the window records past it: state.c),
     * or a deployment whose slow calls keep losing would stay "fast" in
     * the window and keep getting traffic. */
    if (sy_pipeline_probe_was_cut(c, uc)) {
        /* An exploration probe given up early: slow, not failing (the
         * cut is ours), and no sample: recorded at the cut, with no
         * slower one in its window to draw from, it would make the
         * deployment look faster than it is (pipeline_probe.c). */
    } else if (c->result != SY_EGONE) {
        sy_state_record(c->w->state, d, c->result, uc->total_us, ttft,
                        out_tokens, c->probe_token);
        /* No first byte by the time-out after the request went out: it
         * would have taken longer, a censored latency sample too, so the
         * windows every process reads learn a deployment that hangs
         * (its time-outs otherwise left no sample, and its window kept
         * the fast ones from before). */
        if (c->result == SY_EUP_TIMEOUT && uc->request_sent && uc->no_response)
            sy_state_record(c->w->state, d, SY_ECUT, uc->total_us, 0, 0, NULL);
    } else if (uc->cancel)
        sy_state_record(c->w->state, d, SY_ECUT, uc->total_us, 0, 0, NULL);
}

/* The first half of an attempt: build the provider request into
 * 'out' and set up 'uc' for it. False when the adapter refused (the
 * attempt is closed: nothing was sent). 'f' must live until the
 * attempt ends (the adapter reports stream failures into it). */
bool
sy_pipeline_attempt_open(struct pctx *c, const char *api_key,
                         struct sy_attempt *a, struct sy_http_out *out,
                         struct sy_upstream_call *uc, struct sy_failure *f)
{
    memset(f, 0, sizeof(*f));
    memset(uc, 0, sizeof(*uc));
    if (!attempt_begin(c, api_key, out, f)) {
        /* Nothing was sent; another deployment may serve the request. */
        sy_pipeline_note_failure(c, f);
        c->result = f->err;
        attempt_close(c, a, uc, false);
        return false;
    }
    uc->req = out;
    uc->timeouts = c->dep->timeouts;
    uc->max_body_bytes = c->dep->max_response_bytes;
    if (c->chat.stream || c->as != NULL) {
        uc->on_data = sy_pipeline_on_stream_data;
        uc->ud = c;
    }
    c->probe_cut_ms = sy_pipeline_probe_cut_ms(c, uc);
    if (c->probe_cut_ms > 0)
        uc->timeouts.first_byte_ms = c->probe_cut_ms;
    c->uc = uc;
    sy_pipeline_trace_call(c, uc);
    /* The router spreads by the count, and a stream's wait for its
     * first token shows a slowdown before any sample does. */
    struct sy_inflight *fl = sy_state_inflight(c->w->state);
    sy_inflight_add(fl, c->dep->index, 1);
    c->wait_slot =
        uc->on_data != NULL
            ? sy_inflight_wait_begin(fl, c->dep->index, c->attempt_start_us)
            : -1;
    return true;
}

/* The second half: what the call 'uc' ended with ('e') becomes the
 * caller's answer or a failure, and the attempt is closed. A call a
 * hedged pair cancelled (pipeline_hedge.c) is no failure: it records
 * no latency and answers nothing. */
enum sy_attempt_result
sy_pipeline_attempt_end(struct pctx *c, struct sy_attempt *a,
                        struct sy_upstream_call *uc, enum sy_err e,
                        struct sy_failure *f)
{
    /* total_ms reached with nothing but headers, keep-alive comments,
     * pings or the role-only opening chunk (Anthropic's message_start:
     * no first token yet, pipeline.c count_chunk, as for a hedge) is a
     * provider that never answered, not a long answer. (A JSON reply
     * comes whole at the end of its generation: blanks before it are a
     * provider keeping a long one alive, still a long answer.) */
    if (e == SY_EUP_TOOLONG && uc->on_data != NULL && c->first_event_us == 0 &&
        !c->json_reply)
        e = SY_EUP_TIMEOUT;
    bool ok2xx = e == SY_OK && uc->status >= 200 && uc->status < 300;
    enum sy_attempt_result ar;
    if (uc->cancel && e == SY_EGONE) {
        c->result = SY_EGONE;
        ar = SY_ATTEMPT_NEXT;
    } else {
        if (ok2xx && !c->chat.stream)
            ar = on_reply(c, uc, f);
        else if (ok2xx)
            ar = on_stream_end(c, f);
        else
            ar = on_failure(c, uc, e, f);
        if (ar == SY_ATTEMPT_NEXT)
            ar = after_failure(c, f);
    }
    attempt_close(c, a, uc, e != SY_ETOOBIG);
    /* Its own Retry-After: a hedged pair's other may fail later. */
    a->retry_after_ms = c->result == SY_EUP_RATELIMIT ? f->retry_after_ms : 0;
    /* Still waiting for a first token: a first attempt its hedge beat
     * lost the race; a time-out after the request went out waited at
     * least this long; any other end (a cut hedge, which started late,
     * a fast error, a caller gone) says nothing of that time. */
    struct sy_inflight *fl = sy_state_inflight(c->w->state);
    bool lost = uc->cancel && a->hedge == SY_ATTEMPT_PRIMARY;
    uint64_t now_us = sy_now_us();
    if (sy_pipeline_probe_was_cut(c, uc))
        /* No shorter than what the waits before it said. */
        sy_inflight_wait_end_min(fl, a->d->index, c->wait_slot, now_us, false,
                                 sy_inflight_wait_ms(fl, a->d->index, now_us));
    else if (lost || (c->result == SY_EUP_TIMEOUT && uc->request_sent))
        sy_inflight_wait_end(fl, a->d->index, c->wait_slot, now_us, lost);
    else
        sy_inflight_wait_cancel(fl, a->d->index, c->wait_slot);
    c->wait_slot = -1;
    sy_inflight_add(fl, a->d->index, -1);
    sy_pipeline_trace_call_done(c, a, uc);
    c->uc = NULL;
    sy_upstream_call_cleanup(uc);
    return ar;
}

/* sy_pipeline_attempt, the whole attempt, is in pipeline_hedge.c: a
 * group that hedges runs it as a pair. */
