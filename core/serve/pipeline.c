/*
 * pipeline.c - what the caller sees of a provider's stream: each
 * canonical chunk relayed as one SSE event (the first held back so a
 * provider that fails at once can still be replaced unseen), buffered
 * and checked when the group validates streams, or gathered into one
 * JSON reply for a caller that did not ask for a stream (api/assemble.c);
 * plus the helpers the attempt code shares (failure notes, classify).
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
#include "api/assemble.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Chat completions                                                    */

void
sy_pipeline_note_failure(struct pctx *c, const struct sy_failure *f)
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

bool
sy_pipeline_ctype_is(const char *ct, const char *want)
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
void
sy_pipeline_release_held(struct pctx *c)
{
    if (!c->s->headers_sent)
        sy_pipeline_send_head(
            c, 200, "text/event-stream",
            "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
    if (c->held.len > 0)
        write_event(c, sy_buf_cstr(&c->held), c->held.len);
    sy_buf_clear(&c->held);
}

enum sy_err
sy_pipeline_on_chunk(void *ud, const struct sy_chunk *ch)
{
    struct pctx *c = ud;
    if (ch->kind == SY_CHUNK_DONE) {
        c->done_seen = true;
        return c->as != NULL ? sy_assemble_chunk(c->as, ch) : SY_OK;
    }
    /* What was streamed, for an estimate should the provider never
     * report usage (pipeline_attempt.c estimate_usage): the events and
     * their bytes; the shortest event is taken as the envelope every
     * event carries (the first, role-only event is nearly all envelope). */
    if (!ch->usage_only) {
        c->stream_chunks++;
        c->stream_bytes += ch->len;
        if (c->stream_min_len == 0 || ch->len < c->stream_min_len)
            c->stream_min_len = ch->len;
    }
    if (ch->usage != NULL) {
        c->usage = *ch->usage;
        if (sy_usage_bound(&c->usage, &c->dep->caps,
                           sy_chat_req_choices(&c->chat)))
            sy_log_warn(c->request_id,
                        "%s reported impossible token "
                        "counts; bounded",
                        c->dep->name);
    }
    if (c->first_event_us == 0 && !ch->usage_only)
        c->first_event_us = sy_now_us();
    if (c->as != NULL)
        return sy_assemble_chunk(c->as, ch);
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
        sy_pipeline_release_held(c);
    }
    write_event(c, ch->data, ch->len);
    return sy_sink_flush(c->s);
}

enum sy_err
sy_pipeline_on_stream_data(void *ud, const char *p, size_t n)
{
    struct pctx *c = ud;
    if (!c->ct_checked) {
        c->ct_checked = true;
        if (c->as != NULL &&
            sy_pipeline_ctype_is(c->uc->content_type, "application/json")) {
            /* Asked for a stream for a non-streaming caller, the provider
             * sent one JSON reply: read it as one (the body buffer is
             * bounded by max_response_bytes). */
            c->as = NULL;
            c->json_reply = true;
        } else if (!sy_pipeline_ctype_is(c->uc->content_type,
                                         "text/event-stream")) {
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
    if (c->json_reply)
        return sy_buf_append(&c->uc->body, p, n) == SY_OK ? SY_OK
                                                          : SY_EUP_PROTO;
    const struct sy_adapter *ad = c->dep->provider->adapter;
    return sy_sse_stream_feed(ad, &c->call, p, n, sy_pipeline_on_chunk, c,
                              &c->f);
}

/* Turn a non-2xx reply into a failure through the adapter. */
void
sy_pipeline_classify(struct pctx *c, struct sy_upstream_call *uc,
                     struct sy_failure *f)
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

/* Send a buffered, checked stream: the status and headers, then every
 * event. When the answer was JSON in a markdown fence, its text events
 * are replaced by one event with the bare JSON (the only rewrite the
 * gateway does); 'violated' marks a reply passed on by the "pass"
 * policy. */
void
sy_pipeline_send_buffered(struct pctx *c, bool fenced, bool violated)
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
