/*
 * openai.c - adapter for the OpenAI chat completions API, the canonical
 * format, so translation is mostly pass-through: the body is re-written
 * with the deployment's model id and, for streams, usage is always
 * requested (the gateway needs it for accounting; the pipeline drops the
 * usage chunk unless the caller asked for it).
 * SPDX-License-Identifier: MIT
 */
#include "../core/sy.h"
#include "adapter.h"
#include "common.h"

#include <string.h>

#include <json-c/json.h>

struct openai_ctx {
    struct sy_sse sse;
    struct sy_failure *f;   /* where the current feed reports failures */
    sy_emit_fn emit;
    void *emit_ud;
    struct sy_adapter_call *call;
    struct sy_usage usage;
    unsigned events;
};

static enum sy_err
openai_build_body(struct sy_adapter_call *call, struct sy_buf *b)
{
    const struct sy_chat_req *req = call->req;
    enum sy_err e = sy_buf_puts(b, "{\"model\":");
    if (e == SY_OK)
        e = sy_buf_json_str(b, call->dep->model, strlen(call->dep->model));
    json_object_object_foreach(req->root, key, val) {
        if (e != SY_OK)
            break;
        if (strcmp(key, "model") == 0 || strcmp(key, "stream_options") == 0)
            continue;
        e = sy_buf_puts(b, ",");
        if (e == SY_OK)
            e = sy_buf_json_str(b, key, strlen(key));
        if (e == SY_OK)
            e = sy_buf_puts(b, ":");
        if (e == SY_OK) {
            size_t n;
            const char *s = json_object_to_json_string_length(
                val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                &n);
            e = sy_buf_append(b, s, n);
        }
    }
    if (e == SY_OK && req->stream)
        e = sy_buf_puts(b, ",\"stream_options\":{\"include_usage\":true}");
    if (e == SY_OK)
        e = sy_buf_puts(b, "}");
    return e == SY_OK ? SY_OK : SY_ETOOBIG;
}

static enum sy_err
openai_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    const struct sy_provider *p = call->dep->provider;
    struct sy_arena *a = call->arena;
    out->method = "POST";
    out->url = sy_arena_printf(a, "%s/chat/completions", p->base_url);
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (call->req->stream)
        out->headers[out->nheaders++] = "Accept: text/event-stream";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "Authorization: Bearer %s", call->api_key);
    for (size_t i = 0; i < p->nheaders &&
                       out->nheaders < SY_ARRAY_LEN(out->headers);
         i++)
        out->headers[out->nheaders++] = sy_arena_printf(
            a, "%s: %s", p->headers[i].name, p->headers[i].value);
    return openai_build_body(call, out->body);
}

static struct json_object *
parse_json(const char *p, size_t len)
{
    if (len == 0 || len > (64u << 20))
        return NULL;
    struct json_tokener *tok = json_tokener_new_ex(128);
    struct json_object *o = json_tokener_parse_ex(tok, p, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static enum sy_err
openai_parse_response(struct sy_adapter_call *call, const char *body,
                      size_t len, struct sy_chat_resp *resp,
                      struct sy_failure *f)
{
    struct json_object *root = parse_json(body, len);
    if (root == NULL || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        f->err = SY_EUP_PROTO;
        f->message = "the provider's reply is not a JSON object";
        return SY_EUP_PROTO;
    }
    sy_arena_on_cleanup(call->arena, sy_chat_json_free, root);
    struct json_object *v;
    if (json_object_object_get_ex(root, "error", &v) && v != NULL) {
        /* Some compatible providers answer 200 with an error object. */
        sy_adapter_openai_error(call, 500, body, len, f);
        return f->err;
    }
    if (!json_object_object_get_ex(root, "choices", &v) ||
        !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) == 0) {
        f->err = SY_EUP_PROTO;
        f->message = "the provider's reply has no choices";
        return SY_EUP_PROTO;
    }
    struct json_object *c0 = json_object_array_get_idx(v, 0), *fr;
    if (json_object_object_get_ex(c0, "finish_reason", &fr) &&
        json_object_is_type(fr, json_type_string))
        resp->finish_reason = json_object_get_string(fr);
    if (json_object_object_get_ex(root, "model", &v) &&
        json_object_is_type(v, json_type_string))
        resp->upstream_model = json_object_get_string(v);
    if (json_object_object_get_ex(root, "usage", &v))
        sy_chat_usage_from_json(v, &resp->usage);
    resp->root = root;
    resp->raw = body;
    resp->raw_len = len;
    return SY_OK;
}

static enum sy_err
openai_event(void *ud, const char *event, const char *data, size_t len)
{
    struct openai_ctx *x = ud;
    (void)event;
    x->events++;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        struct sy_chunk done = {.kind = SY_CHUNK_DONE};
        return x->emit(x->emit_ud, &done);
    }
    struct json_object *o = parse_json(data, len);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        x->f->err = SY_EUP_PROTO;
        x->f->message = "the provider sent a malformed stream event";
        return SY_EUP_PROTO;
    }
    struct json_object *v;
    if (json_object_object_get_ex(o, "error", &v) && v != NULL) {
        sy_adapter_openai_error(x->call, 500, data, len, x->f);
        x->f->message = sy_arena_printf(x->call->arena,
                                        "error event in the stream: %s",
                                        x->f->message);
        json_object_put(o);
        return x->f->err;
    }
    struct sy_chunk ch = {.kind = SY_CHUNK_DATA, .data = data, .len = len};
    struct json_object *choices;
    if (json_object_object_get_ex(o, "usage", &v) &&
        json_object_is_type(v, json_type_object)) {
        sy_chat_usage_from_json(v, &x->usage);
        ch.usage = &x->usage;
        ch.usage_only = json_object_object_get_ex(o, "choices", &choices) &&
                        json_object_is_type(choices, json_type_array) &&
                        json_object_array_length(choices) == 0;
    }
    json_object_put(o);
    return x->emit(x->emit_ud, &ch);
}

static enum sy_err
openai_stream_feed(struct sy_adapter_call *call, const char *p, size_t len,
                   sy_emit_fn emit, void *ud, struct sy_failure *f)
{
    struct openai_ctx *x = call->ctx;
    if (!x->sse.ready)
        sy_sse_init(&x->sse, call->arena);
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    x->call = call;
    enum sy_err e = len == 0 ? sy_sse_finish(&x->sse, openai_event, x)
                             : sy_sse_feed(&x->sse, p, len, openai_event, x);
    if (e != SY_OK && f->err == SY_OK) {
        f->err = e;
        f->message = "the provider's stream is malformed (event too large)";
    }
    return e;
}

static void
openai_classify(struct sy_adapter_call *call, int status, const char *body,
                size_t len, struct sy_failure *f)
{
    sy_adapter_openai_error(call, status, body, len, f);
}

const struct sy_adapter sy_adapter_openai = {
    .abi = SY_ADAPTER_ABI,
    .name = "openai",
    .caps = SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |
            SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION |
            SY_CAP_STREAM_USAGE,
    .ctx_size = sizeof(struct openai_ctx),
    .conf_keys = NULL,
    .init = NULL,
    .build_request = openai_build_request,
    .parse_response = openai_parse_response,
    .stream_feed = openai_stream_feed,
    .classify = openai_classify,
    .reset = NULL, /* each attempt gets a fresh ctx */
};
