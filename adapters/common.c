/*
 * common.c - SSE splitting and OpenAI-style error classification, shared
 * by the adapters. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "../core/sy.h"
#include "common.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static void
sse_free(void *p)
{
    struct sy_sse *s = p;
    sy_buf_free(&s->line);
    sy_buf_free(&s->data);
}

/* Prepare 's' (which lives in adapter ctx memory); its buffers are freed
 * by a cleanup on arena 'a'. */
void
sy_sse_init(struct sy_sse *s, struct sy_arena *a)
{
    sy_buf_init(&s->line, SY_SSE_MAX_EVENT);
    sy_buf_init(&s->data, SY_SSE_MAX_EVENT);
    s->event[0] = '\0';
    s->has_data = false;
    s->ready = true;
    sy_arena_on_cleanup(a, sse_free, s);
}

static enum sy_err
dispatch(struct sy_sse *s, sy_sse_event_fn fn, void *ud)
{
    enum sy_err e = SY_OK;
    if (s->has_data)
        e = fn(ud, s->event, sy_buf_cstr(&s->data), s->data.len);
    sy_buf_clear(&s->data);
    s->event[0] = '\0';
    s->has_data = false;
    return e;
}

/* One complete line, without its terminator. */
static enum sy_err
sse_line(struct sy_sse *s, const char *p, size_t n, sy_sse_event_fn fn,
         void *ud)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n == 0)
        return dispatch(s, fn, ud);
    if (p[0] == ':')
        return SY_OK; /* comment: keep-alive */
    const char *colon = memchr(p, ':', n);
    size_t flen = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen > 0 && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(p, "data", 4) == 0) {
        if (s->has_data && sy_buf_append(&s->data, "\n", 1) != SY_OK)
            return SY_EUP_PROTO;
        if (sy_buf_append(&s->data, v, vlen) != SY_OK)
            return SY_EUP_PROTO;
        s->has_data = true;
    } else if (flen == 5 && memcmp(p, "event", 5) == 0) {
        size_t cp = SY_MIN(vlen, sizeof(s->event) - 1);
        memcpy(s->event, v, cp);
        s->event[cp] = '\0';
    }
    return SY_OK;
}

/* Feed any piece of an SSE body; 'fn' is called for each complete event.
 * A line longer than SY_SSE_MAX_EVENT is a protocol error. */
enum sy_err
sy_sse_feed(struct sy_sse *s, const char *p, size_t n, sy_sse_event_fn fn,
            void *ud)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        if (nl == NULL) {
            if (sy_buf_append(&s->line, p, n) != SY_OK)
                return SY_EUP_PROTO;
            return SY_OK;
        }
        size_t len = (size_t)(nl - p);
        enum sy_err e;
        if (s->line.len > 0) {
            if (sy_buf_append(&s->line, p, len) != SY_OK)
                return SY_EUP_PROTO;
            e = sse_line(s, s->line.data, s->line.len, fn, ud);
            sy_buf_clear(&s->line);
        } else {
            e = sse_line(s, p, len, fn, ud);
        }
        if (e != SY_OK)
            return e;
        p += len + 1;
        n -= len + 1;
    }
    return SY_OK;
}

/* End of body: a last event without its blank line is still delivered
 * (providers differ on the final newline). */
enum sy_err
sy_sse_finish(struct sy_sse *s, sy_sse_event_fn fn, void *ud)
{
    enum sy_err e = SY_OK;
    if (s->line.len > 0) {
        e = sse_line(s, s->line.data, s->line.len, fn, ud);
        sy_buf_clear(&s->line);
    }
    if (e == SY_OK)
        e = dispatch(s, fn, ud);
    return e;
}

static const char *
str_at(struct json_object *o, const char *key, struct sy_arena *a)
{
    struct json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return sy_arena_strndup(a, json_object_get_string(v),
                            SY_MIN((size_t)json_object_get_string_len(v),
                                   512u));
}

/* Classify an OpenAI-style error reply ({"error":{message,type,code,
 * param}}) by status. Auth failures never echo the provider's message,
 * which may quote part of our key. */
void
sy_adapter_openai_error(struct sy_adapter_call *call, int status,
                        const char *body, size_t len, struct sy_failure *f)
{
    struct sy_arena *a = call->arena;
    struct json_object *root = NULL, *err = NULL;
    if (len > 0 && len < (1u << 20)) {
        struct json_tokener *tok = json_tokener_new_ex(32);
        root = json_tokener_parse_ex(tok, body, (int)len);
        json_tokener_free(tok);
    }
    if (root != NULL && json_object_is_type(root, json_type_object))
        json_object_object_get_ex(root, "error", &err);
    if (err != NULL && !json_object_is_type(err, json_type_object))
        err = NULL;
    const char *msg = str_at(err, "message", a);
    const char *code = str_at(err, "code", a);
    const char *param = str_at(err, "param", a);
    f->status = status;

    if (status == 401 || status == 403) {
        f->err = SY_EUP_AUTH;
        f->message = sy_arena_printf(a, "the provider rejected the gateway's "
                                        "API key (HTTP %d)", status);
    } else if (status == 429) {
        f->err = SY_EUP_RATELIMIT;
        f->message = sy_arena_printf(
            a, "rate limited by the provider (HTTP 429%s%s)",
            code ? ", " : "", code ? code : "");
    } else if (status == 408) {
        f->err = SY_EUP_TIMEOUT;
        f->message = "the provider timed out (HTTP 408)";
    } else if (status == 404) {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a, "the provider answered 404 (%s): check "
                                        "the deployment's model and base_url",
                                     msg ? msg : "not found");
    } else if (status >= 400 && status < 500 && status != 409) {
        f->err = SY_EUP_BADREQ;
        f->message = msg ? msg
                         : sy_arena_printf(a, "the provider rejected the "
                                              "request (HTTP %d)", status);
        f->code = code;
        f->param = param;
    } else {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a, "provider error (HTTP %d%s%.200s)",
                                     status, msg ? ": " : "",
                                     msg ? msg : "");
    }
    json_object_put(root);
}
