/*
 * pipeline_trace.c - W3C trace context and the per-request records of
 * the pipeline: the caller's traceparent kept (or a trace started), a
 * span id for the request and one per provider call, the traceparent
 * lines every provider call carries (whatever its adapter), the trace
 * id in every log line of the request (base/log.c), and at the end the
 * spans (io/otlp.c, when a collector is configured) and the access-log
 * line (io/accesslog.c). Part of the pipeline; see pipeline_int.h.
 *
 * With no collector and no access log, a request costs the header parse
 * and a few random bytes (base/traceparent.c keeps a per-thread pool).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "api/req.h"
#include "api/sink.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/traceparent.h"
#include "config/config.h"
#include "io/accesslog.h"
#include "io/otlp.h"
#include "io/upstream.h"
#include "io/worker.h"

#include <string.h>

/* Start the request's trace: the caller's trace id (and its sampled
 * flag, and its tracestate when valid) when its traceparent is valid,
 * else a new trace; a new span id for the gateway's part either way. */
void
sy_pipeline_trace_begin(struct pctx *c)
{
    struct sy_pipeline_trace *t = &c->tr;
    const struct sy_req *r = c->r;
    struct sy_traceparent tp;
    if (r->traceparent != NULL &&
        sy_traceparent_parse(r->traceparent, strlen(r->traceparent), &tp)) {
        memcpy(t->trace_id, tp.trace_id, sizeof(t->trace_id));
        memcpy(t->parent_id, tp.parent_id, sizeof(t->parent_id));
        t->flags = tp.flags & 0x01; /* only the bit version 00 defines */
        if (r->tracestate != NULL &&
            sy_tracestate_valid(r->tracestate, strlen(r->tracestate)))
            t->tracestate = r->tracestate;
    } else {
        sy_trace_random_hex(t->trace_id, SY_TRACE_ID_HEX / 2);
        t->parent_id[0] = '\0';
        t->flags = 0x01;
    }
    sy_trace_random_hex(t->span_id, SY_SPAN_ID_HEX / 2);
    t->wall_us = sy_wall_ms() * 1000u;
    sy_log_set_trace(t->trace_id);
}

/* The traceparent the caller gets back: the gateway's request span.
 * False before sy_pipeline_trace_begin (a context built by a test). */
bool
sy_pipeline_trace_response(const struct pctx *c,
                           char out[SY_TRACEPARENT_LEN + 1])
{
    if (c->tr.trace_id[0] == '\0')
        return false;
    sy_traceparent_format(c->tr.trace_id, c->tr.span_id, c->tr.flags, out);
    return true;
}

/* A provider call is about to start: its span id, and the trace lines
 * it carries (traceparent with that span as parent, the caller's
 * tracestate unchanged). */
void
sy_pipeline_trace_call(struct pctx *c, struct sy_upstream_call *uc)
{
    struct sy_pipeline_trace *t = &c->tr;
    sy_trace_random_hex(t->attempt_id, SY_SPAN_ID_HEX / 2);
    t->finish_reason = NULL;
    t->response_model = NULL;
    char tp[SY_TRACEPARENT_LEN + 1];
    sy_traceparent_format(t->trace_id, t->attempt_id, t->flags, tp);
    size_t ts = t->tracestate != NULL ? strlen(t->tracestate) : 0;
    char *h = sy_arena_alloc(&c->w->arena, 13 + sizeof(tp) + 12 + ts + 2);
    size_t n = 0;
    memcpy(h, "traceparent: ", 13);
    n += 13;
    memcpy(h + n, tp, sizeof(tp)); /* with its NUL */
    n += sizeof(tp);
    if (ts > 0) {
        memcpy(h + n, "tracestate: ", 12);
        n += 12;
        memcpy(h + n, t->tracestate, ts + 1);
        n += ts + 1;
    }
    h[n] = '\0';
    uc->trace_headers = h;
}

static const char *
operation(const struct pctx *c)
{
    return c->embed != NULL ? "embeddings" : "chat";
}

/* The start of a span at monotonic 'us' on the wall clock, in ns. */
static uint64_t
wall_ns(const struct pctx *c, uint64_t us)
{
    return (c->tr.wall_us + (us - c->start_us)) * 1000u;
}

/* A provider call ended ('a' its ledger record, NULL for a call outside
 * the ledger such as count_tokens): its time to the provider-wait
 * total, and its CLIENT span to the exporter. */
void
sy_pipeline_trace_call_done(struct pctx *c, const struct sy_attempt *a,
                            const struct sy_upstream_call *uc)
{
    struct sy_pipeline_trace *t = &c->tr;
    t->provider_us += uc->total_us;
    if (c->w->otlp == NULL || c->dep == NULL)
        return;
    const struct sy_deployment *d = a != NULL && a->d != NULL ? a->d : c->dep;
    struct sy_span s;
    memset(&s, 0, sizeof(s));
    memcpy(s.trace_id, t->trace_id, sizeof(s.trace_id));
    /* The call's own span id and times come from 'uc' (its traceparent
     * line, its duration), not from c->tr: two calls of a hedged pair
     * run at once. */
    const char *h = uc->trace_headers;
    if (h != NULL && strlen(h) >= 13 + SY_TRACEPARENT_LEN)
        sy_span_copy(s.span_id, sizeof(s.span_id), h + 13 + 36);
    else
        memcpy(s.span_id, t->attempt_id, sizeof(s.span_id));
    memcpy(s.parent_id, t->span_id, sizeof(s.parent_id));
    s.kind = SY_SPAN_CLIENT;
    uint64_t now = sy_now_us();
    s.start_ns = wall_ns(c, now - SY_MIN(uc->total_us, now - c->start_us));
    s.end_ns = wall_ns(c, now);
    sy_span_copy(s.operation, sizeof(s.operation), a ? operation(c) : "");
    sy_span_copy(s.provider, sizeof(s.provider), d->target.provider_type);
    sy_span_copy(s.request_model, sizeof(s.request_model), d->model);
    sy_span_copy(s.response_model, sizeof(s.response_model), t->response_model);
    sy_span_copy(s.deployment, sizeof(s.deployment), d->name);
    sy_span_copy(s.finish_reason, sizeof(s.finish_reason), t->finish_reason);
    bool ok =
        a != NULL ? a->outcome == SY_OK : uc->status >= 200 && uc->status < 300;
    if (!ok)
        sy_span_copy(s.error_type, sizeof(s.error_type),
                     a != NULL    ? sy_err_name(a->outcome)
                     : uc->status ? "http_error"
                                  : "transport");
    s.input_tokens = a && a->usage.present ? a->usage.prompt_tokens : -1;
    s.output_tokens = a && a->usage.present ? a->usage.completion_tokens : -1;
    s.status = uc->status;
    sy_otlp_submit(c->w->otlp, &s);
}

/* The request's totals over its ledger: tokens and cost. */
static void
totals(const struct pctx *c, int64_t *in, int64_t *out, int64_t *cost)
{
    *in = *out = *cost = 0;
    for (unsigned i = 0; i < c->led.natt; i++) {
        const struct sy_attempt *a = sy_ledger_att(&c->led, i);
        if (a->usage.present) {
            *in += a->usage.prompt_tokens;
            *out += a->usage.completion_tokens;
        }
        *cost += a->cost_micro_usd;
    }
}

static void
server_span(struct pctx *c, const char *path, int64_t in, int64_t out,
            uint64_t end_us)
{
    const struct sy_pipeline_trace *t = &c->tr;
    struct sy_span s;
    memset(&s, 0, sizeof(s));
    memcpy(s.trace_id, t->trace_id, sizeof(s.trace_id));
    memcpy(s.span_id, t->span_id, sizeof(s.span_id));
    memcpy(s.parent_id, t->parent_id, sizeof(s.parent_id));
    s.kind = SY_SPAN_SERVER;
    s.start_ns = wall_ns(c, c->start_us);
    s.end_ns = wall_ns(c, end_us);
    sy_span_copy(s.route, sizeof(s.route), path);
    const struct sy_group *g = c->led.g;
    if (g != NULL) {
        sy_span_copy(s.operation, sizeof(s.operation), operation(c));
        sy_span_copy(s.request_model, sizeof(s.request_model), g->name);
    }
    if (c->dep != NULL) {
        sy_span_copy(s.provider, sizeof(s.provider),
                     c->dep->target.provider_type);
        sy_span_copy(s.response_model, sizeof(s.response_model),
                     t->response_model ? t->response_model : c->dep->model);
        sy_span_copy(s.deployment, sizeof(s.deployment), c->dep->name);
        sy_span_copy(s.finish_reason, sizeof(s.finish_reason),
                     t->finish_reason);
    }
    int st = c->s->status;
    if (st >= 400 || (st == 0 && c->result != SY_OK))
        sy_span_copy(s.error_type, sizeof(s.error_type),
                     c->result != SY_OK ? sy_err_name(c->result)
                                        : sy_http_reason(st));
    s.input_tokens = g != NULL ? in : -1;
    s.output_tokens = g != NULL ? out : -1;
    s.status = st;
    sy_otlp_submit(c->w->otlp, &s);
}

/* The request is answered: its SERVER span, its access-log line, and
 * the end of the trace id in this thread's log lines. 'path' is the
 * redacted path (sy_pipeline_log_path). */
void
sy_pipeline_trace_end(struct pctx *c, const char *method, const char *path)
{
    struct sy_worker *w = c->w;
    if (w->otlp != NULL || w->accesslog != NULL) {
        uint64_t end_us = sy_now_us();
        int64_t in, out, cost;
        totals(c, &in, &out, &cost);
        if (w->otlp != NULL)
            server_span(c, path, in, out, end_us);
        if (w->accesslog != NULL) {
            struct sy_access_record r;
            memset(&r, 0, sizeof(r));
            r.request_id = c->request_id;
            r.trace_id = c->tr.trace_id;
            r.remote_addr = c->r->remote_addr;
            r.method = method;
            r.path = path;
            r.surface = c->surface != NULL ? c->surface->name : NULL;
            r.key_name = c->led.ck != NULL ? c->led.ck->name : NULL;
            r.group = c->led.g != NULL ? c->led.g->name : NULL;
            r.deployment = c->dep != NULL ? c->dep->name : NULL;
            r.attempts = c->attempts;
            r.status = c->s->status;
            /* Also after a 200: a stream that ended with an error
             * event (or whose caller left) did not succeed. */
            r.error = (c->s->status >= 400 || c->s->headers_sent) &&
                              c->result != SY_OK
                          ? sy_err_name(c->result)
                          : NULL;
            r.total_us = end_us - c->start_us;
            r.provider_us = c->tr.provider_us;
            r.input_tokens = in;
            r.output_tokens = out;
            r.cost_micro_usd = cost;
            sy_accesslog_write(w->accesslog, &r);
        }
    }
    sy_log_set_trace(NULL);
}
