/*
 * fuzz.h - shared helpers for the libFuzzer targets in tests/fuzz/: a
 * fake provider and deployment for one adapter type, canonical requests
 * to put an adapter's per-request state in a realistic shape, and a small
 * reader that takes bytes off the front of a fuzz input.
 *
 * Every helper is static inline so a target uses only what it needs
 * without unused-function warnings.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_FUZZ_H
#define SY_TESTS_FUZZ_H

#include "base/sy.h"
#include "api/adapter.h"
#include "adapters/common.h"
#include "api/chat.h"
#include "config/config.h"
#include "base/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_API_KEY "sk-fuzz-SECRET-0123456789"

/* Set per input by fz_begin: an input that itself contains the key may
 * legitimately see it echoed, so the leak checks are off for it. */
static bool fz_key_in_input;

static inline void
fz_begin(const uint8_t *data, size_t size)
{
    fz_key_in_input =
        memmem(data, size, FZ_API_KEY, strlen(FZ_API_KEY)) != NULL;
}

static inline bool
fz_leaks_key(const char *s, size_t n)
{
    return !fz_key_in_input && s != NULL &&
           memmem(s, n, FZ_API_KEY, strlen(FZ_API_KEY)) != NULL;
}

/* The provider types the registry knows, in a fixed order so a selector
 * byte in the input keeps its meaning across runs and seed files. */
static const char *const fz_types[] = { "openai",          "deepseek",
                                        "mistral",         "qwen",
                                        "openrouter",      "tokenmix",
                                        "anthropic",       "gemini",
                                        "openai-responses" };
#define FZ_NTYPES (sizeof(fz_types) / sizeof(fz_types[0]))

/* Canonical requests: plain, streamed with usage, tools, a JSON schema,
 * json_object. Adapters keep per-request state from build_request (tool
 * mode for JSON, the model name) that parse_response and stream_event
 * read, so each input runs against one of these. */
static const char *const fz_requests[] = {
    "{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
    "{\"model\":\"g\",\"stream\":true,\"stream_options\":{\"include_usage\":"
    "true},\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
    "\"user\",\"content\":\"hi\"}]}",
    "{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"w\"}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
    "\"string\"}}}}}],\"parallel_tool_calls\":true}",
    "{\"model\":\"g\",\"stream\":true,\"messages\":[{\"role\":\"user\","
    "\"content\":\"j\"}],\"response_format\":{\"type\":\"json_schema\","
    "\"json_schema\":{\"name\":\"r\",\"schema\":{\"type\":\"object\","
    "\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}}}}",
    ("{\"model\":\"g\",\"messages\":[{\"role\":\"user\",\"content\":\"j\"}],"
     "\"response_format\":{\"type\":\"json_object\"}}"),
};
#define FZ_NREQUESTS (sizeof(fz_requests) / sizeof(fz_requests[0]))

/* One adapter type ready to be called: a provider, a deployment and the
 * parsed canonical requests, all built once per process. */
struct fz_env {
    const struct sy_adapter *ad;
    struct sy_target target; /* the deployment, as the adapter sees it */
    struct sy_arena arena;   /* process lifetime */
    struct json_object *conf;
    struct sy_chat_req req[FZ_NREQUESTS];
};

static inline void
fz_env_init(struct fz_env *e, const char *type)
{
    memset(e, 0, sizeof(*e));
    sy_arena_init(&e->arena, 16384);
    e->ad = sy_adapter_find(type);
    if (e->ad == NULL) {
        fprintf(stderr, "fuzz: no adapter '%s'\n", type);
        abort();
    }
    e->conf = json_object_new_object();
    json_object_object_add(e->conf, "type", json_object_new_string(type));
    json_object_object_add(e->conf, "base_url",
                           json_object_new_string("https://up.example/v1"));
    e->target.provider_type = type;
    e->target.base_url = "https://up.example/v1";
    e->target.model = "model-x";
    if (e->ad->init != NULL) {
        char err[256] = "";
        if (e->ad->init(type, e->conf, &e->arena, &e->target.adapter_conf, err,
                        sizeof(err)) != SY_OK) {
            fprintf(stderr, "fuzz: adapter init %s: %s\n", type, err);
            abort();
        }
    }
    for (size_t i = 0; i < FZ_NREQUESTS; i++) {
        struct sy_chat_error perr;
        const char *r = fz_requests[i];
        if (sy_chat_req_parse(r, strlen(r), 64, &e->arena, &e->req[i], &perr) !=
            SY_OK) {
            fprintf(stderr, "fuzz: request %zu: %s\n", i, perr.message);
            abort();
        }
    }
}

/* A call for request 'ri' with its private state, in arena 'a'. */
static inline void
fz_call_init(struct fz_env *e, size_t ri, struct sy_adapter_call *call,
             struct sy_arena *a, struct sy_failure *fail)
{
    memset(call, 0, sizeof(*call));
    memset(fail, 0, sizeof(*fail));
    call->req = &e->req[ri % FZ_NREQUESTS];
    call->target = &e->target;
    call->api_key = FZ_API_KEY;
    call->arena = a;
    call->ctx = e->ad->ctx_size ? sy_arena_zalloc(a, e->ad->ctx_size) : NULL;
    call->fail = fail;
}

/* What a built request must look like whatever the caller sent: a
 * method and a URL without line breaks or spaces, header lines without
 * line breaks (no header injection), a body that is a JSON object. */
static inline void
fz_check_out(const struct sy_http_out *out)
{
    if (out->method == NULL || out->url == NULL ||
        out->url[strcspn(out->url, " \t\r\n")] != '\0') {
        fprintf(stderr, "fuzz: bad method or URL\n");
        abort();
    }
    for (size_t i = 0; i < out->nheaders; i++)
        if (out->headers[i] == NULL ||
            out->headers[i][strcspn(out->headers[i], "\r\n")] != '\0') {
            fprintf(stderr, "fuzz: header %zu has a line break\n", i);
            abort();
        }
    if (out->body != NULL && out->body->len > 0) {
        struct json_object *o =
            sy_adapter_json_parse(out->body->data, out->body->len);
        if (!json_object_is_type(o, json_type_object)) {
            fprintf(stderr, "fuzz: the built body is not a JSON object\n");
            abort();
        }
        json_object_put(o);
    }
}

/* build_request into a scratch body; what the adapter keeps in its ctx
 * is what the reply parsers see. Returns build_request's result. */
static inline enum sy_err
fz_build(struct fz_env *e, struct sy_adapter_call *call)
{
    struct sy_http_out out;
    struct sy_buf body;
    memset(&out, 0, sizeof(out));
    sy_buf_init(&body, 16u << 20);
    out.body = &body;
    enum sy_err r = e->ad->build_request(call, &out);
    if (r == SY_OK && fz_leaks_key(body.data, body.len)) {
        fprintf(stderr, "fuzz: the API key leaked into the body\n");
        abort();
    }
    if (r == SY_OK)
        fz_check_out(&out);
    sy_buf_free(&body);
    return r;
}

/* A failure must carry a caller-safe message and never the key. */
static inline void
fz_check_failure(const struct sy_failure *f)
{
    if (f->message != NULL && fz_leaks_key(f->message, strlen(f->message))) {
        fprintf(stderr, "fuzz: a failure message quotes the API key\n");
        abort();
    }
}

/* Reading bytes off the front of the input. */
struct fz_in {
    const uint8_t *p;
    size_t n;
};

static inline unsigned
fz_byte(struct fz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline unsigned
fz_u16(struct fz_in *in)
{
    unsigned hi = fz_byte(in);
    return (hi << 8) | fz_byte(in);
}

/* A NUL-terminated malloc'd copy of the rest (parsers that want C
 * strings); the fuzzer's own buffer is not terminated. */
static inline char *
fz_cstr(const uint8_t *p, size_t n)
{
    char *s = sy_xmalloc(n + 1);
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#endif
