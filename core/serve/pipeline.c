/*
 * pipeline.c - serve one request: route the path, then for chat
 * completions parse, resolve the group, try its deployments in order
 * through their adapters, and answer in JSON or SSE.
 *
 * Failover rule: a failure that the error table marks "retry elsewhere"
 * moves to the next deployment as long as nothing has reached the caller;
 * once the first stream event is out, a failure ends the stream with an
 * SSE error event (never a silent truncation). Caller errors from a
 * provider (400, 404, 413, 422) are returned as they are.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "state/budget.h"
#include "api/caps.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "contract/contract.h"
#include "config/cost.h"
#include "base/err.h"
#include "base/log.h"
#include "state/quota.h"
#include "api/req.h"
#include "router.h"
#include "state/state.h"
#include "io/usagelog.h"
#include "state/vkeys.h"
#include "api/sink.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "api/adapter.h"
#include "api/sse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Chat completions                                                    */

static void
note_failure(struct pctx *c, const struct sy_failure *f)
{
    if (c->why.len > 0)
        sy_buf_puts(&c->why, "; ");
    sy_buf_printf(&c->why, "%s: %s", c->dep->name,
                  f->message ? f->message : sy_err_name(f->err));
    c->last = *f;
    if (f->err != SY_EUP_RATELIMIT)
        c->all_ratelimited = false;
    else if (f->retry_after_ms > 0 &&
             (c->min_retry_after_ms == 0 ||
              f->retry_after_ms < c->min_retry_after_ms))
        c->min_retry_after_ms = f->retry_after_ms;
    sy_log_warn(c->request_id, "deployment %s failed (%s): %s", c->dep->name,
                sy_err_name(f->err), f->message ? f->message : "");
}

static bool
ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* One SSE event. Chunks are compact JSON without raw line breaks (the
 * adapters re-serialise any that had them); should one slip through,
 * each CR, LF or CRLF starts a new "data: " line, so the event stays one
 * well-formed event whose data is the same text (SSE joins lines with
 * LF, which JSON reads as whitespace). */
static void
write_event(struct pctx *c, const char *data, size_t len)
{
    size_t at = 0;
    sy_sink_write(c->s, "data: ", 6);
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r' && data[i] != '\n')
            continue;
        sy_sink_write(c->s, data + at, i - at);
        sy_sink_write(c->s, "\ndata: ", 7);
        c->s->body_bytes += 7;
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
            i++;
        at = i + 1;
    }
    sy_sink_write(c->s, data + at, len - at);
    sy_sink_write(c->s, "\n\n", 2);
    c->s->body_bytes += len + 8;
}

/* Send the held first event, with the status and headers. */
static void
release_held(struct pctx *c)
{
    if (!c->s->headers_sent)
        sy_pipeline_send_head(
            c, 200, "text/event-stream",
            "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
    if (c->held.len > 0)
        write_event(c, sy_buf_cstr(&c->held), c->held.len);
    sy_buf_clear(&c->held);
}

static enum sy_err
on_chunk(void *ud, const struct sy_chunk *ch)
{
    struct pctx *c = ud;
    if (ch->kind == SY_CHUNK_DONE) {
        c->done_seen = true;
        return SY_OK;
    }
    if (ch->usage != NULL) {
        c->usage = *ch->usage;
        c->usage_dep = c->dep;
        if (sy_usage_bound(&c->usage, &c->dep->caps,
                           sy_chat_req_choices(&c->chat)))
            sy_log_warn(c->request_id,
                        "%s reported impossible token "
                        "counts; bounded",
                        c->dep->name);
    }
    if (c->first_event_us == 0 && !ch->usage_only)
        c->first_event_us = sy_now_us();
    bool text =
        c->check_stream && sy_chat_chunk_gather(ch->data, ch->len, &c->answer);
    if (ch->usage_only && !c->chat.include_usage)
        return SY_OK;
    if (c->buffering) {
        enum sy_err e = sy_buf_append(&c->pending, text ? "T" : "N", 1);
        if (e == SY_OK)
            e = sy_buf_append(&c->pending, ch->data, ch->len);
        if (e == SY_OK)
            e = sy_buf_puts(&c->pending, "\n");
        if (e != SY_OK && c->f.err == SY_OK) {
            c->f.err = SY_EUP_PROTO;
            c->f.message = sy_arena_printf(&c->w->arena,
                                           "the streamed reply is larger than "
                                           "max_response_bytes (%zu bytes)",
                                           c->pending.max);
        }
        return e == SY_OK ? SY_OK : SY_EUP_PROTO;
    }
    if (!c->s->headers_sent) {
        /* The first event (usually the bare "role" delta) is held until a
         * second one arrives: a provider that fails right after it can
         * still be replaced by the next deployment, unseen. */
        if (!c->holding) {
            c->holding = true;
            sy_buf_clear(&c->held);
            return sy_buf_append(&c->held, ch->data, ch->len) == SY_OK
                       ? SY_OK
                       : SY_EUP_PROTO;
        }
        release_held(c);
    }
    write_event(c, ch->data, ch->len);
    return sy_sink_flush(c->s);
}

static enum sy_err
on_stream_data(void *ud, const char *p, size_t n)
{
    struct pctx *c = ud;
    if (!c->ct_checked) {
        c->ct_checked = true;
        if (!ctype_is(c->uc->content_type, "text/event-stream")) {
            c->f.err = SY_EUP_PROTO;
            c->f.message = sy_arena_printf(
                &c->w->arena,
                "expected a text/event-stream reply, got Content-Type '%.60s'",
                c->uc->content_type);
            return SY_EUP_PROTO;
        }
    }
    /* A per-attempt cap on streamed bytes, as on a non-streaming reply:
     * past it the deployment has failed (unseen by the caller while the
     * stream is buffered or held, an SSE error event after). */
    if (c->uc->body_bytes > c->dep->max_response_bytes) {
        c->f.err = SY_EUP_PROTO;
        c->f.message = sy_arena_printf(&c->w->arena,
                                       "the streamed reply is larger than "
                                       "max_response_bytes (%zu bytes)",
                                       c->dep->max_response_bytes);
        return SY_EUP_PROTO;
    }
    const struct sy_adapter *ad = c->dep->provider->adapter;
    return sy_sse_stream_feed(ad, &c->call, p, n, on_chunk, c, &c->f);
}

/* Turn a non-2xx reply into a failure through the adapter. */
static void
classify(struct pctx *c, struct sy_upstream_call *uc, struct sy_failure *f)
{
    const struct sy_adapter *ad = c->dep->provider->adapter;
    memset(f, 0, sizeof(*f));
    f->retry_after_ms = uc->retry_after_ms;
    c->call.resp_headers = uc->rl_headers;
    c->call.nresp_headers = uc->nrl_headers;
    ad->classify(&c->call, uc->status, sy_buf_cstr(&uc->body), uc->body.len, f);
    if (f->retry_after_ms == 0)
        f->retry_after_ms = uc->retry_after_ms;
    if (f->message == NULL)
        f->message = sy_arena_printf(&c->w->arena, "HTTP %d", uc->status);
}

enum attempt_result { ATTEMPT_DONE, ATTEMPT_NEXT };

/* One try on deployment c->dep. ATTEMPT_DONE when the caller has been
 * answered (success, caller error, or a stream that had started). */
/* Send a buffered, checked stream: the status and headers, then every
 * event. When the answer was JSON in a markdown fence, its text events
 * are replaced by one event with the bare JSON (the only rewrite the
 * gateway does); 'violated' marks a reply passed on by the "pass"
 * policy. */
static void
send_buffered(struct pctx *c, bool fenced, bool violated)
{
    sy_pipeline_send_head(c, 200, "text/event-stream",
                          violated ? "Cache-Control: no-cache\r\n"
                                     "X-Accel-Buffering: no\r\n"
                                     "x-switchyard-contract: violated\r\n"
                                   : "Cache-Control: no-cache\r\n"
                                     "X-Accel-Buffering: no\r\n");
    const char *inner = NULL;
    size_t inner_len = 0;
    if (fenced &&
        !sy_contract_unfence(sy_buf_cstr(&c->answer.content),
                             c->answer.content.len, &inner, &inner_len))
        fenced = false;
    bool replaced = false;
    const char *p = sy_buf_cstr(&c->pending);
    const char *end = p + c->pending.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        bool text = *p == 'T';
        const char *json = p + 1;
        size_t len = (size_t)(nl - json);
        if (fenced && text) {
            if (!replaced) {
                struct sy_buf one;
                sy_buf_init(&one, SY_FENCED_EVENT_MAX);
                if (sy_chat_chunk_with_content(json, len, inner, inner_len,
                                               &one) == SY_OK)
                    write_event(c, sy_buf_cstr(&one), one.len);
                sy_buf_free(&one);
                replaced = true;
            }
        } else {
            write_event(c, json, len);
        }
        p = nl + 1;
    }
}

/* Record the attempt's outcome in the shared state: latency samples on
 * success, breaker outcome by failure class. A caller that went away is
 * not held against the deployment. */
static void
record(struct pctx *c, enum sy_err result, uint64_t total_us)
{
    c->result = result;
    if (c->w->state == NULL || result == SY_EGONE)
        return;
    uint64_t ttft = c->first_event_us > c->attempt_start_us
                        ? c->first_event_us - c->attempt_start_us
                        : 0;
    uint64_t out_tokens =
        c->usage.present ? (uint64_t)c->usage.completion_tokens : 0;
    sy_state_record(c->w->state, c->dep, result, total_us, ttft, out_tokens,
                    c->probe_token);
}

/* Add the cost of 'usage' (the last attempt's) to what the request is
 * charged, once. */
static void
charge_usage(struct pctx *c)
{
    const struct sy_deployment *d = c->usage_dep;
    if (d == NULL || !c->usage.present)
        return;
    int64_t x = sy_cost_micro_usd(&d->price, &c->usage, d->provider->markup_bp);
    if (__builtin_add_overflow(c->spent_micro_usd, x, &c->spent_micro_usd))
        c->spent_micro_usd = INT64_MAX;
    c->usage_dep = NULL;
}

static enum attempt_result
attempt(struct pctx *c, const char *api_key)
{
    struct sy_worker *w = c->w;
    const struct sy_deployment *d = c->dep;
    const struct sy_adapter *ad = d->provider->adapter;
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    memset(&c->f, 0, sizeof(c->f));
    c->ct_checked = false;
    c->done_seen = false;
    c->holding = false;
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

    c->call.req = &c->chat;
    c->call.target = &d->target;
    c->call.api_key = api_key;
    c->attempt_start_us = sy_now_us();
    c->first_event_us = 0;
    charge_usage(c); /* the previous attempt's, if it reported */
    memset(&c->usage, 0, sizeof(c->usage));
    c->call.arena = &w->arena;
    c->call.ctx =
        ad->ctx_size ? sy_arena_zalloc(&w->arena, ad->ctx_size) : NULL;
    c->call.sse = NULL; /* a fresh stream splitter per attempt */
    c->call.fail = &f;
    c->call.resp_headers = NULL;
    c->call.nresp_headers = 0;
    struct sy_http_out out;
    memset(&out, 0, sizeof(out));
    sy_buf_clear(&w->upbody);
    out.body = &w->upbody;
    enum sy_err e = ad->build_request(&c->call, &out);
    if (e != SY_OK) {
        /* The adapter refused (a feature its provider lacks): another
         * deployment of the group may still serve it. */
        f.err = e;
        if (f.message == NULL)
            f.message = "could not build the provider request";
        note_failure(c, &f);
        return ATTEMPT_NEXT;
    }

    struct sy_upstream_call uc;
    memset(&uc, 0, sizeof(uc));
    uc.req = &out;
    uc.timeouts = d->timeouts;
    uc.max_body_bytes = d->max_response_bytes;
    if (c->chat.stream) {
        uc.on_data = on_stream_data;
        uc.ud = c;
    }
    c->uc = &uc;
    e = sy_upstream_perform(w->up, &uc);
    bool ok2xx = e == SY_OK && uc.status >= 200 && uc.status < 300;

    if (ok2xx && !c->chat.stream) {
        if (!ctype_is(uc.content_type, "application/json")) {
            f.err = SY_EUP_PROTO;
            f.message = sy_arena_printf(
                &w->arena, "expected a JSON reply, got Content-Type '%.60s'",
                uc.content_type);
        } else {
            struct sy_chat_resp resp;
            memset(&resp, 0, sizeof(resp));
            e = ad->parse_response(&c->call, sy_buf_cstr(&uc.body), uc.body.len,
                                   &resp, &f);
            if (e == SY_OK && resp.usage.present) {
                /* Paid for whatever happens next (a broken contract, a
                 * caller's schema that spends its regex budget). */
                c->usage = resp.usage;
                c->usage_dep = d;
                if (sy_usage_bound(&c->usage, &d->caps,
                                   sy_chat_req_choices(&c->chat)))
                    sy_log_warn(c->request_id,
                                "%s reported impossible "
                                "token counts; bounded",
                                d->name);
            }
            char why[300];
            const char *extra = NULL;
            if (e == SY_OK &&
                !sy_chat_resp_contract(&c->chat, &resp,
                                       w->cfg->server.max_json_depth, &w->arena,
                                       why, sizeof(why))) {
                /* The reply breaks the requested format: a failure of
                 * this deployment (counted apart from breaker failures),
                 * unless the group passes such replies on. When the
                 * caller's patterns spent the request's regex budget,
                 * the caller's schema is at fault: a 400, no failover,
                 * nothing held against the deployment. */
                if (sy_chat_contract_overspent(&c->chat)) {
                    e = SY_EBADREQ;
                    f.err = SY_EBADREQ;
                    f.message =
                        sy_arena_printf(&w->arena,
                                        "the output contract could not be "
                                        "checked: %s",
                                        why);
                } else if (c->group->on_violation == SY_CONTRACT_PASS) {
                    if (w->state != NULL)
                        sy_state_contract(w->state, d);
                    extra = "x-switchyard-contract: violated\r\n";
                } else {
                    if (w->state != NULL)
                        sy_state_contract(w->state, d);
                    e = SY_EUP_CONTRACT;
                    f.err = SY_EUP_CONTRACT;
                    f.message = sy_arena_printf(
                        &w->arena, "the reply broke the output contract: %s",
                        why);
                }
            }
            if (e == SY_OK) {
                c->cost_micro_usd = sy_cost_micro_usd(&d->price, &c->usage,
                                                      d->provider->markup_bp);
                char usd[32], cost_hdr[160];
                sy_cost_format_usd(c->cost_micro_usd, usd, sizeof(usd));
                snprintf(cost_hdr, sizeof(cost_hdr),
                         "x-switchyard-cost-usd: %s\r\n%s", usd,
                         extra ? extra : "");
                extra = cost_hdr;
                if (resp.raw != NULL) {
                    /* Unchanged reply: straight from the upstream buffer. */
                    sy_pipeline_send_bytes(c, 200, "application/json", extra,
                                           resp.raw, resp.raw_len);
                } else {
                    struct sy_buf *b = &w->out;
                    sy_buf_clear(b);
                    sy_chat_resp_write(&resp, b);
                    sy_pipeline_send_body(c, 200, "application/json", extra, b);
                }
                record(c, SY_OK, uc.total_us);
                sy_upstream_call_cleanup(&uc);
                return ATTEMPT_DONE;
            }
            if (f.err == SY_OK)
                f.err = e;
        }
    } else if (ok2xx) {
        e = sy_sse_stream_feed(ad, &c->call, NULL, 0, on_chunk, c, &c->f);
        char why[300];
        bool holds = true, violated = false, fenced = false;
        if (e == SY_OK && c->done_seen && c->check_stream &&
            !sy_chat_stream_contract(&c->chat, &c->answer,
                                     w->cfg->server.max_json_depth, &w->arena,
                                     why, sizeof(why), &fenced)) {
            bool caller = sy_chat_contract_overspent(&c->chat);
            if (w->state != NULL && !caller)
                sy_state_contract(w->state, d);
            violated = true;
            holds = !caller && c->group->on_violation == SY_CONTRACT_PASS;
        }
        /* The caller's patterns spent the regex budget (see above). */
        enum sy_err verr =
            sy_chat_contract_overspent(&c->chat) ? SY_EBADREQ : SY_EUP_CONTRACT;
        if (e == SY_OK && c->done_seen && !holds && c->s->headers_sent) {
            /* Too late to move: end with an error, never a silent
             * success that breaks the caller's parser. */
            char msg[400];
            snprintf(msg, sizeof(msg),
                     "the streamed answer of %s broke "
                     "the output contract: %s",
                     d->name, why);
            sy_pipeline_send_stream_error(c, verr, msg);
            record(c, verr, uc.total_us);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
        if (e == SY_OK && c->done_seen && !holds) {
            f.err = verr;
            f.message = sy_arena_printf(&w->arena,
                                        "the streamed answer "
                                        "broke the output contract: %s",
                                        why);
        } else if (e == SY_OK && c->done_seen) {
            if (c->buffering)
                send_buffered(c, fenced, violated);
            release_held(c);
            c->cost_micro_usd =
                sy_cost_micro_usd(&d->price, &c->usage, d->provider->markup_bp);
            /* Headers are long gone: the price goes in an SSE comment,
             * which clients ignore and people and tools can read. */
            char usd[32], note[80];
            sy_cost_format_usd(c->cost_micro_usd, usd, sizeof(usd));
            int nn = snprintf(note, sizeof(note),
                              ": x-switchyard-cost-usd %s\n\n", usd);
            if (nn > 0 && (size_t)nn < sizeof(note))
                sy_sink_write(c->s, note, (size_t)nn);
            sy_sink_write(c->s, "data: [DONE]\n\n", 14);
            sy_sink_flush(c->s);
            record(c, SY_OK, uc.total_us);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
        if (f.err == SY_OK) {
            f = c->f;
            if (f.err == SY_OK) {
                f.err = e != SY_OK ? e : SY_EUP_PROTO;
                f.message = "the stream ended before its end marker";
            }
        }
    } else if (e == SY_OK) {
        classify(c, &uc, &f);
        if (!sy_err_retry(f.err)) {
            /* A caller error (or a class we never retry): answer with it,
             * keeping the provider's status for caller errors. */
            int status =
                f.err == SY_EUP_BADREQ && f.status >= 400 && f.status < 500
                    ? f.status
                    : sy_err_status(f.err);
            sy_log_info(c->request_id, "deployment %s: caller error %d",
                        d->name, uc.status);
            sy_pipeline_send_error(c, status, f.message, sy_err_type(f.err),
                                   f.param,
                                   f.code ? f.code : sy_err_code(f.err), NULL);
            record(c, f.err, uc.total_us);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
    } else {
        /* Transport failure, or a streaming callback stopped it. */
        if (e == SY_EGONE) {
            sy_log_info(c->request_id, "client went away during %s", d->name);
            record(c, SY_EGONE, uc.total_us);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
        f = c->f;
        if (f.err == SY_OK || f.message == NULL) {
            f.err = e;
            f.message = sy_arena_strdup(
                &w->arena, uc.errmsg[0] ? uc.errmsg : sy_err_name(e));
        }
    }
    sy_upstream_call_cleanup(&uc);
    record(c, f.err, uc.total_us);
    note_failure(c, &f);
    if (c->s->headers_sent) {
        char msg[320];
        snprintf(msg, sizeof(msg), "upstream %s failed mid-stream: %s", d->name,
                 f.message ? f.message : sy_err_name(f.err));
        sy_pipeline_send_stream_error(c, f.err, msg);
        return ATTEMPT_DONE;
    }
    if (!sy_err_retry(f.err) || (f.err == SY_EUP_CONTRACT &&
                                 c->group->on_violation == SY_CONTRACT_ERROR)) {
        sy_pipeline_send_err(
            c, f.err, f.message ? f.message : sy_err_name(f.err), f.param);
        return ATTEMPT_DONE;
    }
    return ATTEMPT_NEXT;
}

static void
all_failed(struct pctx *c, const struct sy_group *g)
{
    char msg[1024];
    snprintf(msg, sizeof(msg),
             "all %u deployment%s of model '%.80s' failed: "
             "%.800s",
             c->attempts, c->attempts == 1 ? "" : "s", g->name,
             sy_buf_cstr(&c->why));
    enum sy_err e = c->all_ratelimited ? SY_EUP_RATELIMIT : c->last.err;
    char extra[64] = "";
    if (c->all_ratelimited && c->min_retry_after_ms > 0)
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
                 (c->min_retry_after_ms + 999) / 1000);
    sy_pipeline_send_error(c, sy_err_status(e), msg, sy_err_type(e),
                           e == SY_EBADREQ ? c->last.param : NULL,
                           sy_err_code(e), extra[0] ? extra : NULL);
}

/* Try deployment c->dep with the keys of its provider: a 429 on one of
 * our keys parks that key and moves to the next key of the same provider
 * before the request leaves the deployment. */
static enum attempt_result
try_deployment(struct pctx *c, uint64_t est)
{
    struct sy_worker *w = c->w;
    const struct sy_provider *p = c->dep->provider;
    size_t tries = p->nkeys > 1 ? p->nkeys : 1;
    for (size_t t = 0; t < tries; t++) {
        struct sy_reservation res;
        int key = 0;
        if (w->quota != NULL) {
            key = sy_quota_provider_key(w->quota, w->store, p, est, &res);
            if (key < 0) {
                struct sy_failure f = { .err = SY_EUP_RATELIMIT,
                                        .message = "every API key of its "
                                                   "provider is at its limit "
                                                   "or parked" };
                note_failure(c, &f);
                return ATTEMPT_NEXT;
            }
        } else {
            memset(&res, 0, sizeof(res));
            key = -1;
        }
        const char *api_key =
            key >= 0 && p->nkeys > 0 ? p->keys[key] : sy_config_next_key(p);
        c->attempts++;
        enum attempt_result ar = attempt(c, api_key);
        if (w->quota != NULL)
            sy_quota_settle(w->quota, w->store, &res,
                            c->usage.present ? (uint64_t)c->usage.total_tokens
                                             : 0);
        if (ar == ATTEMPT_DONE || c->result != SY_EUP_RATELIMIT ||
            w->quota == NULL || p->nkeys < 2 || key < 0)
            return ar;
        uint32_t park = c->last.retry_after_ms ? c->last.retry_after_ms : 1000;
        sy_quota_park(w->quota, w->store, p, (unsigned)key, park);
    }
    return ATTEMPT_NEXT;
}

void
sy_pipeline_handle_chat(struct pctx *c)
{
    struct sy_worker *w = c->w;
    struct sy_req *r = c->r;
    const struct sy_config *cfg = w->cfg;
    const struct sy_caller_key *ck = NULL;
    struct sy_vkey *vk = NULL;
    if (!sy_pipeline_identify(c, &ck, &vk) || !sy_pipeline_read_json_body(c))
        return;
    struct sy_chat_error perr;
    enum sy_err e =
        sy_chat_req_parse(r->body, r->body_len, cfg->server.max_json_depth,
                          &w->arena, &c->chat, &perr);
    if (e != SY_OK) {
        sy_pipeline_send_err(c, e, perr.message, perr.param);
        return;
    }
    const struct sy_group *g = sy_config_find_group(cfg, c->chat.model);
    if (g == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "The model '%.120s' does not exist; "
                 "GET /v1/models lists the available models",
                 c->chat.model);
        sy_pipeline_send_err(c, SY_ENOMODEL, msg, "model");
        return;
    }
    if ((ck != NULL && vk == NULL && !sy_auth_model_allowed(ck, g->name)) ||
        (vk != NULL && !sy_vkey_model_allowed(vk, g->name))) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "this API key may not use model "
                 "'%.120s'",
                 g->name);
        sy_pipeline_send_error(c, 403, msg, "permission_error", "model",
                               "model_not_allowed", NULL);
        return;
    }
    if (g->nroute == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "no deployment of model '%.80s' is "
                 "available: their providers have no API key set",
                 g->name);
        sy_pipeline_send_err(c, SY_ENOROUTE, msg, "model");
        return;
    }
    /* A money budget is reserved at the worst case before any provider
     * is called, and settled with the real cost afterwards. */
    struct sy_budget_result budget;
    char budget_pid[SY_BUDGET_PERIOD_ID_LEN];
    bool budget_held;
    if (!sy_pipeline_reserve_budget(c, vk, g, &budget, budget_pid,
                                    &budget_held))
        return;
    uint64_t est = sy_pipeline_estimate_tokens(c);
    struct sy_reservation caller_res;
    memset(&caller_res, 0, sizeof(caller_res));
    if (ck != NULL && w->quota != NULL) {
        struct sy_ratelimit_result rr;
        sy_quota_caller(w->quota, w->store, ck, est, &caller_res, &rr);
        if (!rr.allowed) {
            sy_pipeline_send_caller_limited(c, ck, &rr);
            if (budget_held)
                sy_budget_settle(w->store, vk->name, budget_pid, budget.id, 0,
                                 0, &budget);
            return;
        }
    }

    /* Rank the group's deployments from this process's live picture. */
    struct sy_dep_view *views =
        sy_arena_zalloc(&w->arena, (cfg->ndeployments + 1) * sizeof(*views));
    if (w->state != NULL)
        sy_state_views(w->state, views);
    struct sy_route_req rq = { r->body_len / 4 + 1,
                               sy_caps_output_estimate(c->chat.max_tokens) };
    /* Exploration is paced by the group's request count here. */
    uint64_t seq = w->state != NULL ? sy_state_route_seq(w->state, g) : 0;
    uint32_t rnd =
        (uint32_t)(sy_now_us() * 2654435761u) ^ (uint32_t)w->seq * 40503u;
    struct sy_route_plan *plan = sy_arena_zalloc(&w->arena, sizeof(*plan));
    sy_router_plan_seq(g, views, &rq, seq, rnd, plan);

    /* Only deployments that serve every feature of the request natively;
     * when none can, the caller learns which were excluded and why. */
    struct sy_needs needs;
    sy_chat_req_needs(&c->chat, &needs);
    size_t other_excl = plan->nexcl;
    const char *field = NULL; /* a billed field some deployment refused */
    for (size_t i = 0; i < plan->ncand;) {
        char why[160];
        const struct sy_deployment *d = plan->cand[i].d;
        if (sy_caps_check(&d->caps, &needs, why, sizeof(why)) != NULL) {
            sy_router_exclude(plan, d, sy_arena_strdup(&w->arena, why));
            if (field == NULL)
                field = sy_caps_refused_field(&d->caps, &needs);
        } else {
            i++;
        }
    }
    if (plan->ncand == 0 && other_excl == 0 && plan->nexcl > 0) {
        struct sy_buf *b = &w->out;
        sy_buf_clear(b);
        sy_router_explain(plan, c->route, sizeof(c->route));
        struct sy_buf msg;
        sy_buf_init(&msg, SY_ROUTE_WHY_MAX);
        sy_buf_printf(&msg,
                      "no deployment of model '%.80s' can serve this "
                      "request natively:",
                      g->name);
        for (size_t i = 0; i < plan->nexcl; i++)
            sy_buf_printf(&msg, "%s %s (%s)", i ? ";" : "",
                          plan->excl[i].d->name, plan->excl[i].why);
        sy_pipeline_send_error(c, 400, sy_buf_cstr(&msg),
                               "invalid_request_error", field,
                               "no_capable_deployment", NULL);
        sy_buf_free(&msg);
        if (ck != NULL && w->quota != NULL)
            sy_quota_settle(w->quota, w->store, &caller_res, 0);
        if (budget_held)
            sy_budget_settle(w->store, vk->name, budget_pid, budget.id, 0, 0,
                             &budget);
        return;
    }

    sy_buf_init(&c->why, SY_ROUTE_WHY_MAX);
    sy_buf_init(&c->held, SY_MAX_HELD_EVENT);
    sy_buf_init(&c->pending, 0); /* sized per attempt */
    sy_stream_answer_init(&c->answer);
    c->needs_tools = needs.tools;
    c->group = g;
    c->all_ratelimited = true;
    /* The breaker's probe token is the gateway's own id, never a
     * caller's X-Request-Id (which it could repeat, or make too long for
     * the report to match). */
    const char *token = sy_arena_printf(&w->arena, "req_%s%08x", w->id_prefix,
                                        (unsigned)w->seq);
    bool done = false;
    for (size_t i = 0; i < plan->ncand && !done; i++) {
        if (c->s->gone)
            break;
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
        done = try_deployment(c, est) == ATTEMPT_DONE;
        /* A probe that sent nothing or whose caller left is freed now. */
        if (c->probe_token != NULL)
            sy_state_probe_done(w->state, d, c->probe_token);
    }
    if (!done) {
        sy_router_explain(plan, c->route, sizeof(c->route));
        if (c->attempts == 0) {
            char msg[900];
            snprintf(msg, sizeof(msg),
                     "no deployment of model '%.80s' can "
                     "take the request now (%.700s)",
                     g->name, c->route);
            sy_pipeline_send_err(c, SY_ENOROUTE, msg, "model");
        } else {
            all_failed(c, g);
        }
    }
    charge_usage(c);
    if (ck != NULL && w->quota != NULL)
        sy_quota_settle(w->quota, w->store, &caller_res,
                        c->usage.present ? (uint64_t)c->usage.total_tokens : 0);
    if (budget_held)
        sy_budget_settle(w->store, vk->name, budget_pid, budget.id,
                         c->spent_micro_usd, 0, &budget);
    sy_pipeline_account(c, ck, g);
    sy_buf_free(&c->why);
    sy_buf_free(&c->held);
    sy_buf_free(&c->pending);
    sy_stream_answer_free(&c->answer);
}
