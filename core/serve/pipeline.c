/*
 * pipeline.c - what the caller sees of a provider's stream: each
 * canonical chunk relayed as one SSE event (those before the first token
 * held back so a provider that fails or stalls at once can still be
 * replaced unseen), buffered
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
#include "state/inflight.h"
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

/* One event to the caller: a provider event relayed as it came (a
 * native attempt), or a canonical chunk written by the caller's surface
 * (zero or more events in its format). A chunk the surface could not
 * write fails the attempt: what it did write (its own error event, when
 * it ended the stream) still goes out, and the transfer stops, so the
 * request is logged and billed as the failure the caller saw. The
 * failure is SY_ETRANSLATE, no breaker failure: it is met at the
 * gateway's own bounds (held tool calls, event size), which a healthy
 * deployment's long answer may reach. */
static enum sy_err
write_event(struct pctx *c, const char *data, size_t len)
{
    if (c->native) {
        sy_sink_write(c->s, data, len);
        c->s->body_bytes += len;
        return SY_OK;
    }
    sy_buf_clear(&c->ev);
    enum sy_err e =
        c->surface->stream_chunk(c->sst, &c->chat, data, len, &c->ev);
    if (!sy_buf_failed(&c->ev)) {
        sy_sink_write(c->s, sy_buf_cstr(&c->ev), c->ev.len);
        c->s->body_bytes += c->ev.len;
    } else if (e == SY_OK) {
        e = SY_ETOOBIG;
    }
    if (e == SY_OK)
        return SY_OK;
    if (c->f.err == SY_OK) {
        c->f.err = SY_ETRANSLATE;
        c->f.message = "a stream event could not be re-encoded for the caller";
    }
    return SY_ETRANSLATE;
}

/* The stream ended well: the price in an SSE comment (headers are long
 * gone; clients ignore comments, people and tools can read them), then
 * the surface's closing events unless the provider's own were relayed. */
void
sy_pipeline_stream_finish(struct pctx *c, const char *cost_usd)
{
    char note[80];
    int nn = snprintf(note, sizeof(note), ": x-switchyard-cost-usd %s\n\n",
                      cost_usd);
    if (nn > 0 && (size_t)nn < sizeof(note))
        sy_sink_write(c->s, note, (size_t)nn);
    if (c->native) {
        /* The provider's closing events, held until the stream ended
         * well: a failure after them must not follow a message_stop. */
        sy_sink_write(c->s, sy_buf_cstr(&c->native_tail), c->native_tail.len);
        c->s->body_bytes += c->native_tail.len;
    } else {
        sy_buf_clear(&c->ev);
        c->surface->stream_end(c->sst, &c->chat, &c->usage, cost_usd, &c->ev);
        if (!sy_buf_failed(&c->ev))
            sy_sink_write(c->s, sy_buf_cstr(&c->ev), c->ev.len);
    }
    sy_sink_flush(c->s);
}

/* Hold one event until the answer shows (sy_pipeline_on_chunk): a
 * native one as its bytes (whole SSE events, written as they came), a
 * chat chunk after its length (each goes through the surface alone). */
static enum sy_err
hold_event(struct pctx *c, const char *data, size_t len)
{
    uint32_t n = (uint32_t)len;
    if ((c->native || (len <= UINT32_MAX &&
                       sy_buf_append(&c->held, &n, sizeof(n)) == SY_OK)) &&
        sy_buf_append(&c->held, data, len) == SY_OK)
        return SY_OK;
    if (c->f.err == SY_OK) {
        c->f.err = SY_EUP_PROTO;
        c->f.message = "the provider's stream opened with more than 1 MiB "
                       "of events before its answer";
    }
    return SY_EUP_PROTO;
}

/* Send the held events, with the status and headers. */
enum sy_err
sy_pipeline_release_held(struct pctx *c)
{
    enum sy_err e = SY_OK;
    if (!c->s->headers_sent)
        sy_pipeline_send_head(
            c, 200, "text/event-stream",
            "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
    if (c->native && c->held.len > 0)
        e = write_event(c, sy_buf_cstr(&c->held), c->held.len);
    for (size_t at = 0; !c->native && e == SY_OK && at < c->held.len;) {
        uint32_t n;
        memcpy(&n, c->held.data + at, sizeof(n));
        at += sizeof(n);
        e = write_event(c, c->held.data + at, n);
        at += n;
    }
    sy_buf_clear(&c->held);
    return e;
}

/* Keep one event for the buffered stream: its kind byte, its length,
 * the bytes. */
static enum sy_err
pend_event(struct pctx *c, bool text, const char *data, size_t len)
{
    uint32_t n = (uint32_t)len;
    enum sy_err e = len <= UINT32_MAX ? SY_OK : SY_ETOOBIG;
    if (e == SY_OK)
        e = sy_buf_append(&c->pending, text ? "T" : "N", 1);
    if (e == SY_OK)
        e = sy_buf_append(&c->pending, (const char *)&n, sizeof(n));
    if (e == SY_OK)
        e = sy_buf_append(&c->pending, data, len);
    if (e != SY_OK && c->f.err == SY_OK) {
        c->f.err = SY_EUP_PROTO;
        c->f.message = sy_arena_printf(&c->w->arena,
                                       "the streamed reply is larger than "
                                       "max_response_bytes (%zu bytes)",
                                       c->pending.max);
    }
    return e == SY_OK ? SY_OK : SY_EUP_PROTO;
}

/* What was streamed, for an estimate should the provider never report
 * usage (pipeline_attempt.c estimate_usage): the events and their bytes;
 * the shortest event is taken as the envelope every event carries (the
 * first, role-only event is nearly all envelope). And the usage it
 * reported. */
static void
count_chunk(struct pctx *c, const struct sy_chunk *ch)
{
    if (!ch->usage_only) {
        c->stream_chunks++;
        c->stream_bytes += ch->len;
        if (c->stream_min_len == 0 || ch->len < c->stream_min_len)
            c->stream_min_len = ch->len;
    }
    if (ch->usage != NULL) {
        c->usage = *ch->usage;
        if (sy_pipeline_usage_bound(c, &c->usage))
            sy_log_warn(c->request_id,
                        "%s reported impossible token "
                        "counts; bounded",
                        c->dep->name);
    }
    /* The first token is the first event with something of the answer:
     * not the role-only opening (ch->opening: the one the Anthropic,
     * Gemini and Responses adapters make, Anthropic's message_start
     * coming before the model has produced anything, or an OpenAI-type
     * provider's bare role chunk; one that carries the first text with
     * the role is the first token), nor a usage chunk. The hedge reads
     * the same rule (pipeline_hedge.c). Stamped at the opening, a
     * provider that opens and then stalls would look fast to the
     * latency windows and end the in-flight wait that drains a stalled
     * deployment. A stream with no such event has its end as its
     * first token (sy_state_record). */
    if (c->first_event_us == 0 && !ch->usage_only && !ch->opening) {
        c->first_event_us = sy_now_us();
        sy_inflight_wait_end(sy_state_inflight(c->w->state), c->dep->index,
                             c->wait_slot, c->first_event_us, false);
        c->wait_slot = -1;
    }
}

/* A native event that closes the message (Anthropic's message_delta,
 * with the stop reason, and message_stop): held back while the answer
 * still has a contract to pass. */
static bool
is_closing(const struct sy_chunk *ch)
{
    static const char *const names[] = { "event: message_delta\n",
                                         "event: message_stop\n" };
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        size_t n = strlen(names[i]);
        if (ch->len >= n && memcmp(ch->data, names[i], n) == 0)
            return true;
    }
    return false;
}

/* A native Responses stream: the data of its response.completed (or
 * response.incomplete) event, the final response object under
 * "response", for hooks->keep. */
static void
keep_native_result(struct pctx *c, const struct sy_chunk *ch)
{
    static const char *const names[] = {
        "event: response.completed\ndata: ",
        "event: response.incomplete\ndata: ",
    };
    if (ch->kind != SY_CHUNK_NATIVE)
        return;
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        size_t n = strlen(names[i]);
        if (ch->len < n || memcmp(ch->data, names[i], n) != 0)
            continue;
        const char *d = ch->data + n, *end = ch->data + ch->len;
        const char *nl = memchr(d, '\n', (size_t)(end - d));
        sy_buf_clear(&c->final_obj);
        sy_buf_append(&c->final_obj, d, (size_t)((nl ? nl : end) - d));
        return;
    }
}

/* A JSON answer streamed as it comes: the chunk's text through the
 * fence filter, the chunk rewritten with what may be shown now (the
 * finishing chunk gets what the filter still held). False when the
 * rewrite failed. */
static bool
unfence_chunk(struct pctx *c, const struct sy_chunk *ch, const char **data,
              size_t *len)
{
    const char *t;
    size_t tl;
    bool fin;
    if (!sy_chat_chunk_text(ch->data, ch->len, &c->w->arena, &t, &tl, &fin) ||
        (tl == 0 && !fin))
        return true;
    sy_buf_clear(&c->unf_text);
    sy_buf_clear(&c->unf_event);
    if (sy_unfence_feed(&c->unf, t, tl, &c->unf_text) != SY_OK ||
        (fin && sy_unfence_finish(&c->unf, &c->unf_text) != SY_OK))
        return false;
    if (c->unf_text.len == tl &&
        (tl == 0 || memcmp(sy_buf_cstr(&c->unf_text), t, tl) == 0))
        return true; /* nothing taken off: the chunk as it came */
    if (sy_chat_chunk_with_content(ch->data, ch->len, sy_buf_cstr(&c->unf_text),
                                   c->unf_text.len, &c->unf_event) != SY_OK)
        return false;
    *data = sy_buf_cstr(&c->unf_event);
    *len = c->unf_event.len;
    return true;
}

enum sy_err
sy_pipeline_on_chunk(void *ud, const struct sy_chunk *ch)
{
    struct pctx *c = ud;
    /* A hedged pair's call cut by the other's answer: its events in the
     * same read are no failure of its own (pipeline_attempt.c
     * sy_pipeline_attempt_end reads SY_EGONE on a cancelled call). */
    if (c->uc != NULL && c->uc->cancel)
        return SY_EGONE;
    if (ch->kind == SY_CHUNK_DONE) {
        c->done_seen = true;
        return c->as != NULL ? sy_assemble_chunk(c->as, ch) : SY_OK;
    }
    /* A native attempt: the provider's events are what the caller gets;
     * the canonical chunks only count, bill and check. */
    bool written =
        c->native ? ch->kind == SY_CHUNK_NATIVE : ch->kind == SY_CHUNK_DATA;
    if (ch->kind == SY_CHUNK_NATIVE && !c->native)
        return SY_OK;
    bool text = false;
    if (ch->kind == SY_CHUNK_DATA) {
        count_chunk(c, ch);
        if (c->as != NULL)
            return sy_assemble_chunk(c->as, ch);
        text = c->check_stream &&
               sy_chat_chunk_gather(ch->data, ch->len, &c->answer);
        if (ch->usage_only && !c->chat.include_usage)
            return SY_OK;
    }
    if (!written)
        return SY_OK;
    if (c->native && c->hooks != NULL && c->hooks->keep != NULL)
        keep_native_result(c, ch);
    if (c->native && ch->kind == SY_CHUNK_NATIVE &&
        c->surface->native_event != NULL && c->sst != NULL)
        c->surface->native_event(c->sst, ch->data, ch->len);
    if (c->native && !c->buffering && is_closing(ch))
        return sy_buf_append(&c->native_tail, ch->data, ch->len) == SY_OK
                   ? SY_OK
                   : SY_EUP_PROTO;
    if (c->buffering)
        return pend_event(c, text && !c->native, ch->data, ch->len);
    const char *data = ch->data;
    size_t len = ch->len;
    if (c->unfencing && ch->kind == SY_CHUNK_DATA &&
        !unfence_chunk(c, ch, &data, &len))
        return SY_EUP_PROTO;
    if (!c->s->headers_sent) {
        /* Events that carry nothing of the answer yet are held until
         * one that does: a provider that fails or stalls right after
         * them can still be replaced by the next deployment (or a
         * hedge), unseen. A chat stream's openings (the bare "role"
         * delta; Azure's empty prompt_filter_results chunk before it)
         * until its first token (count_chunk); a native stream's
         * (message_start, content_block_start, ping) until the first
         * event after its opening, where a provider's early overload
         * shows. The held events are bounded (SY_MAX_HELD_EVENT): past
         * that the stream is malformed. */
        bool opening =
            c->native ? c->stream_chunks < 2 : c->first_event_us == 0;
        if (!c->holding || opening) {
            if (!c->holding)
                sy_buf_clear(&c->held);
            c->holding = true;
            return hold_event(c, data, len);
        }
        if (sy_pipeline_release_held(c) != SY_OK)
            return SY_ETRANSLATE;
    }
    if (write_event(c, data, len) != SY_OK) {
        sy_sink_flush(c->s);
        return SY_ETRANSLATE;
    }
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
            /* it came whole: no first token to wait for */
            sy_inflight_wait_cancel(sy_state_inflight(c->w->state),
                                    c->dep->index, c->wait_slot);
            c->wait_slot = -1;
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
    sy_failure_redact(f, &c->call); /* "Incorrect API key provided: ..." */
}

/* Send a buffered, checked stream: the status and headers, then every
 * event. When the answer was JSON in a markdown fence, its text events
 * are replaced by one event with the bare JSON (the only rewrite the
 * gateway does); 'violated' marks a reply passed on by the "pass"
 * policy. */
enum sy_err
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
    enum sy_err e = SY_OK;
    const char *p = sy_buf_cstr(&c->pending);
    const char *end = p + c->pending.len;
    while (e == SY_OK && (size_t)(end - p) >= 1 + sizeof(uint32_t)) {
        bool text = *p == 'T';
        uint32_t len;
        memcpy(&len, p + 1, sizeof(len));
        const char *json = p + 1 + sizeof(len);
        if (len > (size_t)(end - json))
            break; /* cannot happen: pend_event wrote it whole */
        if (fenced && text) {
            if (!replaced) {
                struct sy_buf one;
                sy_buf_init(&one, SY_FENCED_EVENT_MAX);
                if (sy_chat_chunk_with_content(json, len, inner, inner_len,
                                               &one) == SY_OK)
                    e = write_event(c, sy_buf_cstr(&one), one.len);
                sy_buf_free(&one);
                replaced = true;
            }
        } else {
            e = write_event(c, json, len);
        }
        p = json + len;
    }
    return e;
}
