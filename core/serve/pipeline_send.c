/*
 * pipeline_send.c - how the pipeline answers: the status and header
 * block (always complete, optional headers left out whole when they do
 * not fit), bodies, OpenAI error objects, and the SSE error event once a
 * stream has started. Part of the pipeline; see pipeline_int.h.
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

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Writing responses                                                   */

/* Append one whole header line to 'head' when it fits with the blank
 * line still after it; otherwise leave 'head' as it was. */
static size_t SY_PRINTF(4, 5)
    head_put(char *head, size_t cap, size_t len, const char *fmt, ...)
{
    if (len + 2 >= cap)
        return len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head + len, cap - 2 - len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - 2 - len) {
        head[len] = '\0';
        return len;
    }
    return len + (size_t)n;
}

/* The status and header block, always ending with its blank line: a
 * header that does not fit (the route explanation first, as it is the
 * longest and only informative) is left out whole, never cut. */
void
sy_pipeline_send_head(struct pctx *c, int status, const char *ctype,
                      const char *extra)
{
    char head[SY_HEAD_MAX];
    size_t len = 0;
    len = head_put(head, sizeof(head), len,
                   "Status: %d %s\r\n"
                   "Content-Type: %.200s\r\n"
                   "x-request-id: %.64s\r\n",
                   status, sy_http_reason(status), ctype, c->request_id);
    char tp[SY_TRACEPARENT_LEN + 1];
    if (sy_pipeline_trace_response(c, tp))
        len = head_put(head, sizeof(head), len, "traceparent: %s\r\n", tp);
    if (c->dep != NULL)
        len = head_put(head, sizeof(head), len,
                       "x-switchyard-deployment: %s\r\n"
                       "x-switchyard-provider: %s\r\n"
                       "x-switchyard-attempts: %u\r\n",
                       c->dep->name, c->dep->provider->name, c->attempts);
    if (extra != NULL)
        len = head_put(head, sizeof(head), len, "%s", extra);
    if (c->route[0] != '\0')
        len = head_put(head, sizeof(head), len, "x-switchyard-route: %s\r\n",
                       c->route);
    memcpy(head + len, "\r\n", 2);
    len += 2;
    c->s->headers_sent = true;
    c->s->status = status;
    sy_sink_write(c->s, head, len);
}

void
sy_pipeline_send_bytes(struct pctx *c, int status, const char *ctype,
                       const char *extra, const char *p, size_t n)
{
    sy_pipeline_send_head(c, status, ctype, extra);
    sy_sink_write(c->s, p, n);
    c->s->body_bytes += n;
}

/* The answer when a response buffer failed (sticky, see base/buf.h): a
 * 500 built from constants, so it cannot fail in turn. */
static void
send_unbuilt(struct pctx *c, const struct sy_buf *body)
{
    sy_log_error(c->request_id, "the response was not built (%s): answer 500",
                 sy_err_name(sy_buf_err(body)));
    struct sy_buf b;
    sy_buf_init(&b, 1024);
    c->surface->error_body(&b, 500, "the gateway could not build the response",
                           "server_error", NULL, "internal_error");
    if (!sy_buf_failed(&b)) {
        sy_pipeline_send_bytes(c, 500, "application/json", NULL,
                               sy_buf_cstr(&b), b.len);
    } else {
        static const char msg[] =
            "{\"error\":{\"message\":\"the gateway could not build the "
            "response\",\"type\":\"server_error\",\"param\":null,"
            "\"code\":\"internal_error\"}}";
        sy_pipeline_send_bytes(c, 500, "application/json", NULL, msg,
                               sizeof(msg) - 1);
    }
    sy_buf_free(&b);
}

/* Send 'body' whole, or, when an append to it failed, a 500 instead of a
 * truncated document. */
void
sy_pipeline_send_body(struct pctx *c, int status, const char *ctype,
                      const char *extra, const struct sy_buf *body)
{
    if (sy_buf_failed(body)) {
        send_unbuilt(c, body);
        return;
    }
    sy_pipeline_send_bytes(c, status, ctype, extra, sy_buf_cstr(body),
                           body->len);
}

/* Answer with an error in the shape of the caller's API (an OpenAI error
 * object on the OpenAI surfaces, Anthropic's on Messages). */
void
sy_pipeline_send_error(struct pctx *c, int status, const char *message,
                       const char *type, const char *param, const char *code,
                       const char *extra)
{
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    c->surface->error_body(b, status, message, type, param, code);
    sy_pipeline_send_body(c, status, "application/json", extra, b);
}

void
sy_pipeline_send_err(struct pctx *c, enum sy_err e, const char *message,
                     const char *param)
{
    sy_pipeline_send_error(c, sy_err_status(e), message, sy_err_type(e), param,
                           sy_err_code(e), NULL);
}

/* After the stream has started: one error event in the surface's shape
 * (the SDKs raise it), so a cut stream never looks like success. */
void
sy_pipeline_send_stream_error(struct pctx *c, enum sy_err e,
                              const char *message)
{
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    c->surface->stream_error(c->sst, sy_err_status(e), message, sy_err_type(e),
                             sy_err_code(e), b);
    if (sy_buf_failed(b)) {
        /* Still an error event, never a cut one. */
        sy_buf_clear(b);
        c->surface->stream_error(c->sst, sy_err_status(e), "the stream failed",
                                 sy_err_type(e), sy_err_code(e), b);
    }
    sy_sink_write(c->s, sy_buf_cstr(b), b->len);
    sy_sink_flush(c->s);
}
