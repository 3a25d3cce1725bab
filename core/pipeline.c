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
#include "sy.h"
#include "pipeline.h"
#include "chat.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "req.h"
#include "sink.h"
#include "upstream.h"
#include "worker.h"
#include "../adapters/adapter.h"

#include <stdio.h>
#include <string.h>

/* Largest first stream event we hold back before sending it. */
#define SY_MAX_HELD_EVENT (1u << 20)

/* Per-request state, on the stack of sy_pipeline_handle. */
struct pctx {
    struct sy_worker *w;
    struct sy_req *r;
    struct sy_sink *s;
    const char *request_id;
    uint64_t start_us;
    const struct sy_deployment *dep; /* the deployment tried last */
    unsigned attempts;
    struct sy_chat_req chat;
    /* streaming state of the current attempt */
    struct sy_adapter_call call;
    struct sy_upstream_call *uc;
    bool ct_checked;
    bool done_seen;
    bool holding;           /* the first event is held in 'held' */
    struct sy_buf held;
    struct sy_usage usage;
    struct sy_failure f;
    /* what went wrong on each attempt, for the final error message */
    struct sy_buf why;
    struct sy_failure last;
    bool all_ratelimited;
    uint32_t min_retry_after_ms;
};

/* ------------------------------------------------------------------ */
/* Writing responses                                                   */

static void
send_head(struct pctx *c, int status, const char *ctype, const char *extra)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "Status: %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "x-request-id: %s\r\n",
                     status, sy_http_reason(status), ctype, c->request_id);
    size_t len = n > 0 ? (size_t)n : 0;
    if (c->dep != NULL && len < sizeof(head))
        len += (size_t)snprintf(head + len, sizeof(head) - len,
                                "x-switchyard-deployment: %s\r\n"
                                "x-switchyard-provider: %s\r\n"
                                "x-switchyard-attempts: %u\r\n",
                                c->dep->name, c->dep->provider->name,
                                c->attempts);
    if (extra != NULL && len < sizeof(head))
        len += (size_t)snprintf(head + len, sizeof(head) - len, "%s", extra);
    if (len < sizeof(head))
        len += (size_t)snprintf(head + len, sizeof(head) - len, "\r\n");
    if (len >= sizeof(head))
        len = sizeof(head) - 1;
    c->s->headers_sent = true;
    c->s->status = status;
    sy_sink_write(c->s, head, len);
}

static void
send_bytes(struct pctx *c, int status, const char *ctype, const char *extra,
           const char *p, size_t n)
{
    send_head(c, status, ctype, extra);
    sy_sink_write(c->s, p, n);
    c->s->body_bytes += n;
}

static void
send_body(struct pctx *c, int status, const char *ctype, const char *extra,
          const struct sy_buf *body)
{
    send_bytes(c, status, ctype, extra, sy_buf_cstr(body), body->len);
}

/* Answer with an OpenAI error object. */
static void
send_error(struct pctx *c, int status, const char *message, const char *type,
           const char *param, const char *code, const char *extra)
{
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    sy_chat_error_json(b, message, type, param, code);
    send_body(c, status, "application/json", extra, b);
}

static void
send_err(struct pctx *c, enum sy_err e, const char *message,
         const char *param)
{
    send_error(c, sy_err_status(e), message, sy_err_type(e), param,
               sy_err_code(e), NULL);
}

/* After the stream has started: one "data: {error}" event; the OpenAI SDKs
 * raise it as an APIError, so a cut stream never looks like success. */
static void
send_stream_error(struct pctx *c, enum sy_err e, const char *message)
{
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    sy_buf_puts(b, "data: ");
    sy_chat_error_json(b, message, sy_err_type(e), NULL, sy_err_code(e));
    sy_buf_puts(b, "\n\n");
    sy_sink_write(c->s, sy_buf_cstr(b), b->len);
    sy_sink_flush(c->s);
}

/* ------------------------------------------------------------------ */
/* Small endpoints                                                     */

static void
handle_models(struct pctx *c)
{
    const struct sy_config *cfg = c->w->cfg;
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    sy_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < cfg->ngroups; i++) {
        const char *name = cfg->groups[i].name;
        sy_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        sy_buf_json_str(b, name, strlen(name));
        sy_buf_puts(b, ",\"object\":\"model\",\"created\":0,"
                       "\"owned_by\":\"switchyard\"}");
    }
    sy_buf_puts(b, "]}");
    send_body(c, 200, "application/json", NULL, b);
}

static void
handle_model(struct pctx *c)
{
    const char *name = c->r->path + strlen("/v1/models/");
    const struct sy_group *g = sy_config_find_group(c->w->cfg, name);
    if (g == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "The model '%.120s' does not exist",
                 name);
        send_err(c, SY_ENOMODEL, msg, "model");
        return;
    }
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    sy_buf_puts(b, "{\"id\":");
    sy_buf_json_str(b, g->name, strlen(g->name));
    sy_buf_puts(b, ",\"object\":\"model\",\"created\":0,"
                   "\"owned_by\":\"switchyard\"}");
    send_body(c, 200, "application/json", NULL, b);
}

static void
handle_health(struct pctx *c)
{
    struct sy_buf *b = &c->w->out;
    bool draining = c->w->draining != NULL && *c->w->draining;
    sy_buf_clear(b);
    sy_buf_printf(b, "{\"status\":\"%s\",\"version\":\"%s\"}",
                  draining ? "draining" : "ok", SY_VERSION);
    send_body(c, draining ? 503 : 200, "application/json", NULL, b);
}

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

static void
write_event(struct pctx *c, const char *data, size_t len)
{
    sy_sink_write(c->s, "data: ", 6);
    sy_sink_write(c->s, data, len);
    sy_sink_write(c->s, "\n\n", 2);
    c->s->body_bytes += len + 8;
}

/* Send the held first event, with the status and headers. */
static void
release_held(struct pctx *c)
{
    if (!c->s->headers_sent)
        send_head(c, 200, "text/event-stream",
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
    if (ch->usage != NULL)
        c->usage = *ch->usage;
    if (ch->usage_only && !c->chat.include_usage)
        return SY_OK;
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
    const struct sy_adapter *ad = c->dep->provider->adapter;
    return ad->stream_feed(&c->call, p, n, on_chunk, c, &c->f);
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
    ad->classify(&c->call, uc->status, sy_buf_cstr(&uc->body), uc->body.len,
                 f);
    if (f->retry_after_ms == 0)
        f->retry_after_ms = uc->retry_after_ms;
    if (f->message == NULL)
        f->message = sy_arena_printf(&c->w->arena, "HTTP %d", uc->status);
}

enum attempt_result { ATTEMPT_DONE, ATTEMPT_NEXT };

/* One try on deployment c->dep. ATTEMPT_DONE when the caller has been
 * answered (success, caller error, or a stream that had started). */
static enum attempt_result
attempt(struct pctx *c)
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

    c->call.req = &c->chat;
    c->call.dep = d;
    c->call.api_key = sy_config_next_key(d->provider);
    c->call.arena = &w->arena;
    c->call.ctx = ad->ctx_size ? sy_arena_zalloc(&w->arena, ad->ctx_size)
                               : NULL;
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
                &w->arena,
                "expected a JSON reply, got Content-Type '%.60s'",
                uc.content_type);
        } else {
            struct sy_chat_resp resp;
            memset(&resp, 0, sizeof(resp));
            e = ad->parse_response(&c->call, sy_buf_cstr(&uc.body),
                                   uc.body.len, &resp, &f);
            if (e == SY_OK) {
                c->usage = resp.usage;
                if (resp.raw != NULL) {
                    /* Unchanged reply: straight from the upstream buffer. */
                    send_bytes(c, 200, "application/json", NULL, resp.raw,
                               resp.raw_len);
                } else {
                    struct sy_buf *b = &w->out;
                    sy_buf_clear(b);
                    sy_chat_resp_write(&resp, b);
                    send_body(c, 200, "application/json", NULL, b);
                }
                sy_upstream_call_cleanup(&uc);
                return ATTEMPT_DONE;
            }
            if (f.err == SY_OK)
                f.err = e;
        }
    } else if (ok2xx) {
        e = ad->stream_feed(&c->call, NULL, 0, on_chunk, c, &c->f);
        if (e == SY_OK && c->done_seen) {
            release_held(c);
            sy_sink_write(c->s, "data: [DONE]\n\n", 14);
            sy_sink_flush(c->s);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
        f = c->f;
        if (f.err == SY_OK) {
            f.err = e != SY_OK ? e : SY_EUP_PROTO;
            f.message = "the stream ended before its end marker";
        }
    } else if (e == SY_OK) {
        classify(c, &uc, &f);
        if (!sy_err_retry(f.err)) {
            /* A caller error (or a class we never retry): answer with it,
             * keeping the provider's status for caller errors. */
            int status = f.err == SY_EUP_BADREQ && f.status >= 400 &&
                                 f.status < 500
                             ? f.status
                             : sy_err_status(f.err);
            sy_log_info(c->request_id, "deployment %s: caller error %d",
                        d->name, uc.status);
            send_error(c, status, f.message, sy_err_type(f.err), f.param,
                       f.code ? f.code : sy_err_code(f.err), NULL);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
    } else {
        /* Transport failure, or a streaming callback stopped it. */
        if (e == SY_EGONE) {
            sy_log_info(c->request_id, "client went away during %s", d->name);
            sy_upstream_call_cleanup(&uc);
            return ATTEMPT_DONE;
        }
        f = c->f;
        if (f.err == SY_OK || f.message == NULL) {
            f.err = e;
            f.message = sy_arena_strdup(&w->arena, uc.errmsg[0]
                                                       ? uc.errmsg
                                                       : sy_err_name(e));
        }
    }
    sy_upstream_call_cleanup(&uc);
    note_failure(c, &f);
    if (c->s->headers_sent) {
        char msg[320];
        snprintf(msg, sizeof(msg), "upstream %s failed mid-stream: %s",
                 d->name, f.message ? f.message : sy_err_name(f.err));
        send_stream_error(c, f.err, msg);
        return ATTEMPT_DONE;
    }
    if (!sy_err_retry(f.err)) {
        send_err(c, f.err, f.message ? f.message : sy_err_name(f.err),
                 f.param);
        return ATTEMPT_DONE;
    }
    return ATTEMPT_NEXT;
}

static void
all_failed(struct pctx *c, const struct sy_group *g)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "all %u deployment%s of model '%.80s' failed: "
             "%.800s", c->attempts, c->attempts == 1 ? "" : "s", g->name,
             sy_buf_cstr(&c->why));
    enum sy_err e = c->all_ratelimited ? SY_EUP_RATELIMIT : c->last.err;
    char extra[64] = "";
    if (c->all_ratelimited && c->min_retry_after_ms > 0)
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
                 (c->min_retry_after_ms + 999) / 1000);
    send_error(c, sy_err_status(e), msg, sy_err_type(e),
               e == SY_EBADREQ ? c->last.param : NULL, sy_err_code(e),
               extra[0] ? extra : NULL);
}

static void
handle_chat(struct pctx *c)
{
    struct sy_worker *w = c->w;
    struct sy_req *r = c->r;
    if (r->body_too_big) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the request body is larger than the "
                 "limit of %zu bytes", w->cfg->server.max_body_bytes);
        send_err(c, SY_ETOOBIG, msg, NULL);
        return;
    }
    struct sy_chat_error perr;
    enum sy_err e = sy_chat_req_parse(r->body, r->body_len,
                                      w->cfg->server.max_json_depth,
                                      &w->arena, &c->chat, &perr);
    if (e != SY_OK) {
        send_err(c, e, perr.message, perr.param);
        return;
    }
    const struct sy_group *g = sy_config_find_group(w->cfg, c->chat.model);
    if (g == NULL) {
        char msg[256];
        snprintf(msg, sizeof(msg), "The model '%.120s' does not exist; "
                 "GET /v1/models lists the available models",
                 c->chat.model);
        send_err(c, SY_ENOMODEL, msg, "model");
        return;
    }
    if (g->nroute == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "no deployment of model '%.80s' is "
                 "available: their providers have no API key set", g->name);
        send_err(c, SY_ENOROUTE, msg, "model");
        return;
    }
    sy_buf_init(&c->why, 4096);
    sy_buf_init(&c->held, SY_MAX_HELD_EVENT);
    c->all_ratelimited = true;
    for (size_t i = 0; i < g->nroute; i++) {
        if (c->s->gone)
            break;
        c->dep = g->route[i];
        c->attempts++;
        if (attempt(c) == ATTEMPT_DONE) {
            sy_buf_free(&c->why);
            sy_buf_free(&c->held);
            return;
        }
    }
    all_failed(c, g);
    sy_buf_free(&c->why);
    sy_buf_free(&c->held);
}

/* ------------------------------------------------------------------ */
/* Routing table                                                       */

struct route {
    const char *path;
    bool prefix;          /* match "path" followed by anything */
    const char *method;
    void (*fn)(struct pctx *c);
};

static const struct route routes[] = {
    {"/v1/chat/completions", false, "POST", handle_chat},
    {"/v1/models", false, "GET", handle_models},
    {"/v1/models/", true, "GET", handle_model},
    {"/healthz", false, "GET", handle_health},
};

static bool
valid_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.'))
            return false;
    }
    return n > 0 && n <= 64;
}

/* Serve request 'r' into sink 's'. Everything allocated for the request
 * comes from w->arena, which the caller resets afterwards. */
void
sy_pipeline_handle(struct sy_worker *w, struct sy_req *r, struct sy_sink *s)
{
    struct pctx c;
    memset(&c, 0, sizeof(c));
    c.w = w;
    c.r = r;
    c.s = s;
    c.start_us = sy_now_us();
    w->seq++;
    if (w->cfg->server.trust_request_id && r->request_id_in != NULL &&
        valid_request_id(r->request_id_in))
        c.request_id = r->request_id_in;
    else
        c.request_id = sy_arena_printf(&w->arena, "req_%s%08x",
                                       w->id_prefix, (unsigned)w->seq);

    const char *path = r->path ? r->path : "/";
    const char *method = r->method ? r->method : "GET";
    const struct route *match = NULL;
    const char *allow = NULL;
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];
        bool hit = rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0
                                    && path[strlen(rt->path)] != '\0'
                              : strcmp(path, rt->path) == 0;
        if (!hit)
            continue;
        allow = rt->method;
        if (strcmp(method, rt->method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            match = rt;
            break;
        }
    }
    if (match != NULL) {
        match->fn(&c);
    } else if (allow != NULL) {
        char msg[160], extra[48];
        snprintf(msg, sizeof(msg), "method %.16s is not allowed on %.100s",
                 method, path);
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        send_error(&c, sy_err_status(SY_EMETHOD), msg,
                   sy_err_type(SY_EMETHOD), NULL, sy_err_code(SY_EMETHOD),
                   extra);
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "unknown path %.120s; this gateway serves "
                 "/v1/chat/completions and /v1/models", path);
        send_err(&c, SY_ENOTFOUND, msg, NULL);
    }
    sy_log_info(c.request_id, "%s %s %d dep=%s attempts=%u %.1fms",
                method, path, s->status, c.dep ? c.dep->name : "-",
                c.attempts, (double)(sy_now_us() - c.start_us) / 1000.0);
}
