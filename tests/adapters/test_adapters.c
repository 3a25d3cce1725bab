/*
 * test_adapters.c - golden tests for the provider adapters. Each folder
 * tests/adapters/<provider>/NNNN-<slug>/ is one cmocka test:
 *
 *   provider.json  optional (else ../provider.json): {"provider": {type,
 *                  base_url, headers?, adapter keys...}, "model": "...",
 *                  "allow_fields"?: [billed fields the deployment allows]}
 *   request.json   the client's OpenAI request body
 *   upstream.json  the expected provider request: {"method", "url",
 *                  "headers": ["Name: value", ...] (the key is %APIKEY%),
 *                  "body": JSON, compared structurally}
 *   refused.json   instead of upstream.json: build_request must refuse
 *                  with SY_EBADREQ: {"param"?, "message"?, "contains"?}
 *   reply.json     the canned reply: {"status", "headers"?: {...},
 *                  "body": JSON | "body_text": "..." | "body_file": "f"}
 *   expected.json  {"response": chat.completion} or {"stream": [chunk,
 *                  ...], "done": bool} and/or {"failure": {err, status,
 *                  message | contains, code, param, retry_after_ms}},
 *                  "usage": {...}, "finish_reason": "..."
 *
 * The string "%ANY%" in expected JSON matches any value. Streaming
 * replies are fed whole, then split in two at every byte, then byte by
 * byte; every run must produce exactly the same chunks and outcome.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/adapter.h"
#include "adapters/common.h"
#include "api/chat.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#define API_KEY "sk-test-SECRET-0123456789"

struct tcase {
    char dir[1024];
    char name[600];
};

/* ------------------------------------------------------------------ */
/* Files and JSON                                                      */

static char *
read_file(const char *dir, const char *name, size_t *len)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct sy_buf b;
    sy_buf_init(&b, 64u << 20);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(fp);
    if (len != NULL)
        *len = b.len;
    if (b.data == NULL)
        return sy_xstrdup("");
    return b.data;
}

static struct json_object *
read_json(const char *dir, const char *name)
{
    size_t len;
    char *text = read_file(dir, name, &len);
    if (text == NULL)
        return NULL;
    struct json_object *o = sy_adapter_json_parse(text, len);
    if (o == NULL)
        fail_msg("%s/%s is not valid JSON", dir, name);
    free(text);
    return o;
}

static const char *
js(struct json_object *o)
{
    return json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Structural comparison; "%ANY%" in 'want' matches anything. On a
 * difference, 'path' receives where. */
static bool
json_same(struct json_object *want, struct json_object *got, char *path,
          size_t plen)
{
    if (json_object_is_type(want, json_type_string) &&
        strcmp(json_object_get_string(want), "%ANY%") == 0)
        return true;
    json_type wt = json_object_get_type(want);
    json_type gt = json_object_get_type(got);
    bool wnum = wt == json_type_int || wt == json_type_double;
    bool gnum = gt == json_type_int || gt == json_type_double;
    if (wnum && gnum)
        return json_object_get_double(want) == json_object_get_double(got);
    if (wt != gt)
        return false;
    switch (wt) {
    case json_type_null:
        return true;
    case json_type_boolean:
        return json_object_get_boolean(want) == json_object_get_boolean(got);
    case json_type_string:
        return strcmp(json_object_get_string(want),
                      json_object_get_string(got)) == 0;
    case json_type_array: {
        size_t n = json_object_array_length(want);
        if (n != json_object_array_length(got))
            return false;
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(path);
            snprintf(path + used, plen - used, "[%zu]", i);
            if (!json_same(json_object_array_get_idx(want, i),
                           json_object_array_get_idx(got, i), path, plen))
                return false;
            path[used] = '\0';
        }
        return true;
    }
    case json_type_object: {
        if (json_object_object_length(want) != json_object_object_length(got)) {
            size_t used = strlen(path);
            snprintf(path + used, plen - used, " (member count)");
            return false;
        }
        json_object_object_foreach(want, k, v)
        {
            struct json_object *g;
            size_t used = strlen(path);
            snprintf(path + used, plen - used, ".%s", k);
            if (!json_object_object_get_ex(got, k, &g))
                return false;
            if (!json_same(v, g, path, plen))
                return false;
            path[used] = '\0';
        }
        return true;
    }
    default:
        return false;
    }
}

static void
expect_json(const char *what, struct json_object *want, struct json_object *got)
{
    char path[512] = "$";
    if (json_same(want, got, path, sizeof(path)))
        return;
    print_error("%s differs at %s\n--- expected:\n%s\n", what, path, js(want));
    print_error("--- got:\n%s\n", js(got));
    fail_msg("%s differs at %s", what, path);
}

/* ------------------------------------------------------------------ */
/* A fake deployment                                                   */

struct env {
    struct sy_arena arena; /* case lifetime */
    struct sy_provider prov;
    struct sy_deployment dep;
    struct sy_chat_req req;
    const struct sy_adapter *ad;
    struct json_object *conf;
    struct sy_header_kv *resp_headers;
    size_t nresp_headers;
};

static void
env_init(struct env *e, const struct tcase *tc)
{
    memset(e, 0, sizeof(*e));
    sy_arena_init(&e->arena, 16384);
    e->conf = read_json(tc->dir, "provider.json");
    if (e->conf == NULL) {
        char up[1100];
        snprintf(up, sizeof(up), "%s/..", tc->dir);
        e->conf = read_json(up, "provider.json");
    }
    if (e->conf == NULL)
        fail_msg("%s: no provider.json", tc->name);
    struct json_object *p = sy_adapter_get(e->conf, "provider");
    const char *type = sy_adapter_get_str(p, "type");
    e->ad = type ? sy_adapter_find(type) : NULL;
    if (e->ad == NULL)
        fail_msg("%s: unknown provider type", tc->name);
    e->prov.name = "test";
    e->prov.type = type;
    e->prov.adapter = e->ad;
    e->prov.base_url = sy_adapter_get_str(p, "base_url");
    struct json_object *h = sy_adapter_get(p, "headers");
    if (h != NULL) {
        size_t n = (size_t)json_object_object_length(h), i = 0;
        struct sy_header_kv *kv =
            sy_arena_zalloc(&e->arena, (n + 1) * sizeof(*kv));
        json_object_object_foreach(h, k, v)
        {
            kv[i].name = k;
            kv[i].value = json_object_get_string(v);
            i++;
        }
        e->prov.headers = kv;
        e->prov.nheaders = n;
    }
    if (e->ad->init != NULL) {
        char err[256] = "";
        if (e->ad->init(&e->prov, p, &e->arena, &e->prov.adapter_conf, err,
                        sizeof(err)) != SY_OK)
            fail_msg("%s: adapter init failed: %s", tc->name, err);
    }
    e->dep.name = "test-deployment";
    e->dep.provider = &e->prov;
    e->dep.model = sy_adapter_get_str(e->conf, "model");
    struct json_object *af = sy_adapter_get(e->conf, "allow_fields");
    for (size_t i = 0; af != NULL && i < json_object_array_length(af); i++) {
        int k = sy_caps_field_find(
            json_object_get_string(json_object_array_get_idx(af, i)));
        if (k < 0)
            fail_msg("%s: allow_fields[%zu] is not a billed field", tc->name,
                     i);
        e->dep.caps.allow_fields |= 1u << k;
    }

    size_t len;
    char *body = read_file(tc->dir, "request.json", &len);
    if (body == NULL)
        fail_msg("%s: no request.json", tc->name);
    struct sy_chat_error perr;
    enum sy_err pe =
        sy_chat_req_parse(body, len, 64, &e->arena, &e->req, &perr);
    free(body);
    if (pe != SY_OK)
        fail_msg("%s: request.json rejected by the core: %s", tc->name,
                 perr.message);
}

static void
env_cleanup(struct env *e)
{
    sy_arena_cleanup(&e->arena);
    json_object_put(e->conf);
}

static void
call_init(struct env *e, struct sy_adapter_call *call, struct sy_arena *a,
          struct sy_failure *fail)
{
    memset(call, 0, sizeof(*call));
    call->req = &e->req;
    call->dep = &e->dep;
    call->api_key = API_KEY;
    call->arena = a;
    call->ctx = e->ad->ctx_size ? sy_arena_zalloc(a, e->ad->ctx_size) : NULL;
    call->fail = fail;
    call->resp_headers = e->resp_headers;
    call->nresp_headers = e->nresp_headers;
}

/* build_request into 'out'; returns its result. */
static enum sy_err
build(struct env *e, struct sy_adapter_call *call, struct sy_http_out *out,
      struct sy_buf *body)
{
    memset(out, 0, sizeof(*out));
    sy_buf_init(body, 16u << 20);
    out->body = body;
    return e->ad->build_request(call, out);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

static char *
replace_key(const char *s)
{
    const char *k = strstr(s, API_KEY);
    if (k == NULL)
        return sy_xstrdup(s);
    size_t n = strlen(s) + 16;
    char *r = sy_xmalloc(n);
    snprintf(r, n, "%.*s%%APIKEY%%%s", (int)(k - s), s, k + strlen(API_KEY));
    return r;
}

static void
check_request(const struct tcase *tc, struct env *e)
{
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure fail;
    memset(&fail, 0, sizeof(fail));
    struct sy_adapter_call call;
    call_init(e, &call, &a, &fail);
    struct sy_http_out out;
    struct sy_buf body;
    enum sy_err be = build(e, &call, &out, &body);

    struct json_object *refused = read_json(tc->dir, "refused.json");
    struct json_object *want = read_json(tc->dir, "upstream.json");
    if (refused != NULL) {
        if (be != SY_EBADREQ)
            fail_msg("%s: build_request returned %s, expected a refusal",
                     tc->name, sy_err_name(be));
        assert_int_equal(fail.err, SY_EBADREQ);
        assert_int_equal(fail.status, 400);
        assert_non_null(fail.message);
        const char *m = sy_adapter_get_str(refused, "message");
        const char *c = sy_adapter_get_str(refused, "contains");
        const char *p = sy_adapter_get_str(refused, "param");
        if (m != NULL)
            assert_string_equal(fail.message, m);
        if (c != NULL && strstr(fail.message, c) == NULL)
            fail_msg("%s: refusal '%s' lacks '%s'", tc->name, fail.message, c);
        if (p != NULL)
            assert_string_equal(fail.param ? fail.param : "(null)", p);
    } else if (want != NULL) {
        if (be != SY_OK)
            fail_msg("%s: build_request failed: %s (%s)", tc->name,
                     sy_err_name(be), fail.message ? fail.message : "");
        assert_string_equal(out.method, sy_adapter_get_str(want, "method"));
        assert_string_equal(out.url, sy_adapter_get_str(want, "url"));
        struct json_object *hs = json_object_new_array();
        for (size_t i = 0; i < out.nheaders; i++) {
            char *h = replace_key(out.headers[i]);
            json_object_array_add(hs, json_object_new_string(h));
            free(h);
        }
        expect_json("upstream headers", sy_adapter_get(want, "headers"), hs);
        json_object_put(hs);
        if (strstr(sy_buf_cstr(&body), API_KEY) != NULL)
            fail_msg("%s: the API key leaked into the body", tc->name);
        struct json_object *got = sy_adapter_json_parse(body.data, body.len);
        if (got == NULL)
            fail_msg("%s: the upstream body is not JSON: %s", tc->name,
                     sy_buf_cstr(&body));
        expect_json("upstream body", sy_adapter_get(want, "body"), got);
        json_object_put(got);
    } else {
        fail_msg("%s: neither upstream.json nor refused.json", tc->name);
    }
    json_object_put(refused);
    json_object_put(want);
    sy_buf_free(&body);
    sy_arena_cleanup(&a);
}

static void
check_failure(const struct tcase *tc, struct json_object *want,
              const struct sy_failure *f)
{
    const char *err = sy_adapter_get_str(want, "err");
    const char *m = sy_adapter_get_str(want, "message");
    const char *c = sy_adapter_get_str(want, "contains");
    const char *code = sy_adapter_get_str(want, "code");
    const char *param = sy_adapter_get_str(want, "param");
    int64_t n;
    if (err != NULL && strcmp(sy_err_name(f->err), err) != 0)
        fail_msg("%s: failure class %s, expected %s (%s)", tc->name,
                 sy_err_name(f->err), err, f->message ? f->message : "");
    if (sy_adapter_get_int(want, "status", &n))
        assert_int_equal(f->status, n);
    if (sy_adapter_get_int(want, "retry_after_ms", &n))
        assert_int_equal(f->retry_after_ms, n);
    assert_non_null(f->message);
    if (m != NULL)
        assert_string_equal(f->message, m);
    if (c != NULL && strstr(f->message, c) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", tc->name, f->message, c);
    if (code != NULL)
        assert_string_equal(f->code ? f->code : "(null)", code);
    if (param != NULL)
        assert_string_equal(f->param ? f->param : "(null)", param);
    if (strstr(f->message, API_KEY) != NULL)
        fail_msg("%s: the failure message quotes the API key", tc->name);
}

static void
check_usage(struct json_object *want, const struct sy_usage *u)
{
    if (want == NULL)
        return;
    struct json_object *got = json_object_new_object();
    json_object_object_add(got, "prompt_tokens",
                           json_object_new_int64(u->prompt_tokens));
    json_object_object_add(got, "completion_tokens",
                           json_object_new_int64(u->completion_tokens));
    json_object_object_add(got, "total_tokens",
                           json_object_new_int64(u->total_tokens));
    json_object_object_add(got, "cached_tokens",
                           json_object_new_int64(u->cached_tokens));
    json_object_object_add(got, "reasoning_tokens",
                           json_object_new_int64(u->reasoning_tokens));
    expect_json("usage", want, got);
    json_object_put(got);
}

/* The canned reply's body (malloc'd) and headers (into 'e'). */
static char *
reply_body(const struct tcase *tc, struct env *e, struct json_object *reply,
           size_t *len)
{
    struct json_object *h = sy_adapter_get(reply, "headers");
    if (h != NULL) {
        size_t n = (size_t)json_object_object_length(h), i = 0;
        e->resp_headers =
            sy_arena_zalloc(&e->arena, (n + 1) * sizeof(*e->resp_headers));
        json_object_object_foreach(h, k, v)
        {
            e->resp_headers[i].name = k;
            e->resp_headers[i].value = json_object_get_string(v);
            i++;
        }
        e->nresp_headers = n;
    }
    const char *file = sy_adapter_get_str(reply, "body_file");
    const char *text = sy_adapter_get_str(reply, "body_text");
    struct json_object *body = sy_adapter_get(reply, "body");
    if (file != NULL) {
        char *b = read_file(tc->dir, file, len);
        if (b == NULL)
            fail_msg("%s: missing %s", tc->name, file);
        return b;
    }
    if (text != NULL) {
        *len = strlen(text);
        return sy_xstrdup(text);
    }
    size_t n;
    const char *s = sy_adapter_json_text(body, &n);
    *len = n;
    return sy_xstrndup(s, n);
}

/* The retry hint the core reads from Retry-After (seconds). */
static uint32_t
core_retry_after(struct env *e)
{
    for (size_t i = 0; i < e->nresp_headers; i++)
        if (strcasecmp(e->resp_headers[i].name, "retry-after") == 0)
            return (uint32_t)(strtod(e->resp_headers[i].value, NULL) * 1000);
    return 0;
}

static void
check_reply(const struct tcase *tc, struct env *e, struct json_object *exp,
            struct json_object *reply, const char *body, size_t len)
{
    int64_t status = 200;
    sy_adapter_get_int(reply, "status", &status);
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    struct sy_adapter_call call;
    call_init(e, &call, &a, &f);
    struct sy_http_out out;
    struct sy_buf ub;
    assert_int_equal(build(e, &call, &out, &ub), SY_OK);
    sy_buf_free(&ub);
    memset(&f, 0, sizeof(f));

    struct json_object *wf = sy_adapter_get(exp, "failure");
    if (status < 200 || status >= 300) {
        f.retry_after_ms = core_retry_after(e);
        e->ad->classify(&call, (int)status, body, len, &f);
        if (wf == NULL)
            fail_msg("%s: a non-2xx reply needs an expected failure", tc->name);
        check_failure(tc, wf, &f);
        sy_arena_cleanup(&a);
        return;
    }
    struct sy_chat_resp resp;
    memset(&resp, 0, sizeof(resp));
    enum sy_err pe = e->ad->parse_response(&call, body, len, &resp, &f);
    if (wf != NULL) {
        if (pe == SY_OK)
            fail_msg("%s: parse_response succeeded, expected a failure",
                     tc->name);
        assert_int_equal(pe, f.err);
        check_failure(tc, wf, &f);
    } else {
        if (pe != SY_OK)
            fail_msg("%s: parse_response failed: %s (%s)", tc->name,
                     sy_err_name(pe), f.message ? f.message : "");
        struct sy_buf rb;
        sy_buf_init(&rb, 64u << 20);
        assert_int_equal(sy_chat_resp_write(&resp, &rb), SY_OK);
        struct json_object *got = sy_adapter_json_parse(rb.data, rb.len);
        assert_non_null(got);
        expect_json("response", sy_adapter_get(exp, "response"), got);
        json_object_put(got);
        sy_buf_free(&rb);
        const char *fr = sy_adapter_get_str(exp, "finish_reason");
        if (fr != NULL)
            assert_string_equal(
                resp.finish_reason ? resp.finish_reason : "(null)", fr);
        check_usage(sy_adapter_get(exp, "usage"), &resp.usage);
    }
    sy_arena_cleanup(&a);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */

struct capture {
    struct sy_buf log;          /* everything, for run-to-run equality */
    struct json_object *chunks; /* parsed data chunks */
    bool done;
    bool after_done; /* something came after DONE */
    struct sy_usage usage;
    const char *bad; /* a rule the emitted chunks broke */
};

static enum sy_err
on_emit(void *ud, const struct sy_chunk *c)
{
    struct capture *cap = ud;
    if (cap->done)
        cap->after_done = true;
    if (c->kind == SY_CHUNK_DONE) {
        cap->done = true;
        sy_buf_puts(&cap->log, "DONE\n");
        return SY_OK;
    }
    sy_buf_printf(&cap->log, "DATA%s%s ", c->usage_only ? " usage_only" : "",
                  c->usage ? " usage" : "");
    if (c->usage != NULL) {
        cap->usage = *c->usage;
        sy_buf_printf(&cap->log, "[%lld %lld %lld %lld %lld] ",
                      (long long)c->usage->prompt_tokens,
                      (long long)c->usage->completion_tokens,
                      (long long)c->usage->total_tokens,
                      (long long)c->usage->cached_tokens,
                      (long long)c->usage->reasoning_tokens);
    }
    /* the log compares runs: mask "created", which may tick between */
    const char *cr = memmem(c->data, c->len, "\"created\":", 10);
    size_t head = cr ? (size_t)(cr - c->data) + 10 : c->len;
    sy_buf_append(&cap->log, c->data, head);
    if (cr != NULL) {
        while (head < c->len && c->data[head] >= '0' && c->data[head] <= '9')
            head++;
        sy_buf_puts(&cap->log, "T");
        sy_buf_append(&cap->log, c->data + head, c->len - head);
    }
    sy_buf_puts(&cap->log, "\n");
    /* The pipeline writes each chunk as one "data: " line: a raw line
     * break inside would split the event for the caller's SSE parser. */
    if (memchr(c->data, '\n', c->len) != NULL ||
        memchr(c->data, '\r', c->len) != NULL)
        cap->bad = "a chunk holds a raw CR or LF (breaks SSE framing)";
    struct json_object *o = sy_adapter_json_parse(c->data, c->len);
    if (o == NULL) {
        cap->bad = "a chunk is not JSON";
        return SY_OK;
    }
    struct json_object *choices = sy_adapter_get(o, "choices");
    bool empty = sy_adapter_is(choices, json_type_array) &&
                 json_object_array_length(choices) == 0;
    if (empty != c->usage_only)
        cap->bad = "usage_only must flag exactly the choices:[] chunks";
    if (c->usage_only && c->usage == NULL)
        cap->bad = "a usage_only chunk must carry .usage";
    const char *obj = sy_adapter_get_str(o, "object");
    if (obj == NULL || strcmp(obj, "chat.completion.chunk") != 0)
        cap->bad = "chunk.object must be chat.completion.chunk";
    json_object_array_add(cap->chunks, o);
    return SY_OK;
}

/* Feed 'body' in the pieces given by 'cuts' (ascending offsets; 0 and
 * 'len' implied), then the end; record everything in 'cap'. */
static void
stream_run(struct env *e, const char *body, size_t len, const size_t *cuts,
           size_t ncuts, bool bytewise, struct capture *cap)
{
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure f, bf;
    memset(&bf, 0, sizeof(bf));
    struct sy_adapter_call call;
    call_init(e, &call, &a, &bf);
    struct sy_http_out out;
    struct sy_buf ub;
    enum sy_err be = build(e, &call, &out, &ub);
    sy_buf_free(&ub);
    assert_int_equal(be, SY_OK);
    memset(&f, 0, sizeof(f));
    memset(cap, 0, sizeof(*cap));
    sy_buf_init(&cap->log, 64u << 20);
    cap->chunks = json_object_new_array();

    enum sy_err r = SY_OK;
    size_t at = 0;
    for (size_t i = 0; r == SY_OK && at < len; i++) {
        size_t end = bytewise ? at + 1 : i < ncuts ? cuts[i] : len;
        if (end <= at)
            continue;
        r = e->ad->stream_feed(&call, body + at, end - at, on_emit, cap, &f);
        at = end;
    }
    if (r == SY_OK)
        r = e->ad->stream_feed(&call, NULL, 0, on_emit, cap, &f);
    sy_buf_printf(&cap->log, "END %s", sy_err_name(r));
    if (r != SY_OK) {
        sy_buf_printf(&cap->log, " failure=%s status=%d retry=%u msg=%s",
                      sy_err_name(f.err), f.status, f.retry_after_ms,
                      f.message ? f.message : "(none)");
        if (f.err != r)
            cap->bad = "stream_feed's result differs from failure.err";
    }
    sy_buf_puts(&cap->log, "\n");
    sy_arena_cleanup(&a);
    /* keep 'f' for the caller through the log only */
}

static void
capture_free(struct capture *cap)
{
    sy_buf_free(&cap->log);
    json_object_put(cap->chunks);
}

static void
check_stream(const struct tcase *tc, struct env *e, struct json_object *exp,
             const char *body, size_t len)
{
    struct capture whole;
    stream_run(e, body, len, NULL, 0, false, &whole);
    if (whole.bad != NULL)
        fail_msg("%s: %s\n%s", tc->name, whole.bad, sy_buf_cstr(&whole.log));
    if (whole.after_done)
        fail_msg("%s: chunks after DONE", tc->name);
    struct json_object *ws = sy_adapter_get(exp, "stream");
    if (ws != NULL)
        expect_json("stream chunks", ws, whole.chunks);
    struct json_object *wd = sy_adapter_get(exp, "done");
    bool want_done = wd == NULL || json_object_get_boolean(wd);
    if (whole.done != want_done)
        fail_msg("%s: done=%d, expected %d\n%s", tc->name, whole.done,
                 want_done, sy_buf_cstr(&whole.log));
    struct json_object *wf = sy_adapter_get(exp, "failure");
    const char *end = strstr(sy_buf_cstr(&whole.log), "END ");
    if (wf != NULL) {
        const char *err = sy_adapter_get_str(wf, "err");
        const char *c = sy_adapter_get_str(wf, "contains");
        if (err != NULL && strstr(end, err) == NULL)
            fail_msg("%s: stream outcome '%s', expected %s", tc->name, end,
                     err);
        if (c != NULL && strstr(end, c) == NULL)
            fail_msg("%s: stream outcome '%s' lacks '%s'", tc->name, end, c);
        if (strstr(end, API_KEY) != NULL)
            fail_msg("%s: the failure quotes the API key", tc->name);
    } else if (strncmp(end, "END SY_OK", 9) != 0) {
        fail_msg("%s: the stream failed: %s", tc->name, end);
    }
    check_usage(sy_adapter_get(exp, "usage"), &whole.usage);

    /* Same output for every split in two, and byte by byte. */
    for (size_t cut = 0; cut <= len; cut++) {
        struct capture c;
        stream_run(e, body, len, &cut, 1, false, &c);
        if (strcmp(sy_buf_cstr(&c.log), sy_buf_cstr(&whole.log)) != 0) {
            print_error("--- whole:\n%s--- split at %zu:\n%s",
                        sy_buf_cstr(&whole.log), cut, sy_buf_cstr(&c.log));
            capture_free(&c);
            fail_msg("%s: output differs when split at byte %zu", tc->name,
                     cut);
        }
        capture_free(&c);
    }
    struct capture bb;
    stream_run(e, body, len, NULL, 0, true, &bb);
    if (strcmp(sy_buf_cstr(&bb.log), sy_buf_cstr(&whole.log)) != 0) {
        print_error("--- whole:\n%s--- byte by byte:\n%s",
                    sy_buf_cstr(&whole.log), sy_buf_cstr(&bb.log));
        capture_free(&bb);
        fail_msg("%s: output differs when fed byte by byte", tc->name);
    }
    capture_free(&bb);
    if (getenv("SY_GOLDEN_PRINT") != NULL)
        print_message("%s", sy_buf_cstr(&whole.log));
    capture_free(&whole);
}

/* ------------------------------------------------------------------ */
/* One case                                                            */

static void
run_case(void **state)
{
    const struct tcase *tc = *state;
    struct env e;
    env_init(&e, tc);
    check_request(tc, &e);
    struct json_object *reply = read_json(tc->dir, "reply.json");
    struct json_object *exp = read_json(tc->dir, "expected.json");
    if (reply != NULL) {
        if (exp == NULL)
            fail_msg("%s: reply.json without expected.json", tc->name);
        size_t len;
        char *body = reply_body(tc, &e, reply, &len);
        int64_t status = 200;
        sy_adapter_get_int(reply, "status", &status);
        if (e.req.stream && status >= 200 && status < 300)
            check_stream(tc, &e, exp, body, len);
        else
            check_reply(tc, &e, exp, reply, body, len);
        free(body);
    }
    json_object_put(reply);
    json_object_put(exp);
    env_cleanup(&e);
}

/* ------------------------------------------------------------------ */
/* Non-golden checks: config keys and helpers                          */

static enum sy_err
init_with(const char *type, const char *json, char *err, size_t errlen)
{
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct json_object *o = sy_adapter_json_parse(json, strlen(json));
    struct sy_provider p;
    memset(&p, 0, sizeof(p));
    p.type = type;
    p.adapter = sy_adapter_find(type);
    assert_non_null(p.adapter);
    const void *conf = NULL;
    enum sy_err r = p.adapter->init
                        ? p.adapter->init(&p, o, &a, &conf, err, errlen)
                        : SY_OK;
    json_object_put(o);
    sy_arena_cleanup(&a);
    return r;
}

static void
test_config_keys(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(
        init_with("anthropic", "{\"default_max_tokens\":0}", err, sizeof(err)),
        SY_EBADREQ);
    assert_int_equal(init_with("anthropic",
                               "{\"structured_output\":\"prefill\"}", err,
                               sizeof(err)),
                     SY_EBADREQ);
    assert_int_equal(init_with("anthropic",
                               "{\"api_version\":\"2023-06-01\","
                               "\"structured_output\":\"tool\"}",
                               err, sizeof(err)),
                     SY_OK);
    assert_int_equal(
        init_with("gemini", "{\"schema\":\"yaml\"}", err, sizeof(err)),
        SY_EBADREQ);
    assert_int_equal(
        init_with("mistral", "{\"quirks\":{\"nope\":1}}", err, sizeof(err)),
        SY_EBADREQ);
    assert_non_null(strstr(err, "quirks.nope"));
    assert_int_equal(init_with("openai",
                               "{\"quirks\":{\"tool_ids\":"
                               "\"mistral\",\"drop\":[\"user\"]}}",
                               err, sizeof(err)),
                     SY_OK);
    assert_int_equal(init_with("openrouter",
                               "{\"http_referer\":"
                               "\"https://a.example\",\"app_title\":\"A\"}",
                               err, sizeof(err)),
                     SY_OK);
    /* every registered table is complete */
    size_t n;
    const struct sy_adapter *const *all = sy_adapter_all(&n);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(all[i]->abi, SY_ADAPTER_ABI);
        assert_non_null(all[i]->build_request);
        assert_non_null(all[i]->parse_response);
        assert_non_null(all[i]->classify);
        assert_true(!(all[i]->caps & SY_CAP_STREAM) ||
                    all[i]->stream_feed != NULL);
    }
}

static void
test_durations(void **state)
{
    (void)state;
    assert_int_equal(sy_adapter_duration_ms("6m0s"), 360000);
    assert_int_equal(sy_adapter_duration_ms("20ms"), 20);
    assert_int_equal(sy_adapter_duration_ms("1.5s"), 1500);
    assert_int_equal(sy_adapter_duration_ms("37s"), 37000);
    assert_int_equal(sy_adapter_duration_ms("1h2m3s"), 3723000);
    assert_int_equal(sy_adapter_duration_ms("2"), 2000);
    assert_int_equal(sy_adapter_duration_ms("soon"), 0);
    assert_int_equal(sy_adapter_duration_ms("999h"), 86400000);
    /* strtod reads these; they are no durations (and casting NaN is
     * undefined behaviour). */
    assert_int_equal(sy_adapter_duration_ms("infs"), 0);
    assert_int_equal(sy_adapter_duration_ms("nans"), 0);
    assert_int_equal(sy_adapter_duration_ms("1e999s"), 0);
    assert_int_equal(sy_adapter_duration_ms("-1s"), 0);
}

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the subdirectories of 'dir' (malloc'd). */
static char **
subdirs(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    size_t cap = 16;
    char **names = sy_xmalloc(cap * sizeof(*names));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (*n == cap) {
            cap *= 2;
            names = sy_xrealloc(names, cap * sizeof(*names));
        }
        names[(*n)++] = sy_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof(*names), cmp_str);
    return names;
}

int
main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "tests/adapters";
    const char *only = argc > 2 ? argv[2] : NULL;
    size_t nprov, ncases = 0, cap = 64;
    char **provs = subdirs(root, &nprov);
    struct tcase *cases = sy_xcalloc(cap, sizeof(*cases));
    for (size_t i = 0; i < nprov; i++) {
        char pdir[512];
        snprintf(pdir, sizeof(pdir), "%s/%s", root, provs[i]);
        size_t nc;
        char **cs = subdirs(pdir, &nc);
        for (size_t j = 0; j < nc; j++) {
            struct tcase tc;
            snprintf(tc.dir, sizeof(tc.dir), "%s/%s", pdir, cs[j]);
            snprintf(tc.name, sizeof(tc.name), "%s/%s", provs[i], cs[j]);
            if (only == NULL || strstr(tc.name, only) != NULL) {
                if (ncases == cap) {
                    cap *= 2;
                    cases = sy_xrealloc(cases, cap * sizeof(*cases));
                }
                cases[ncases++] = tc;
            }
            free(cs[j]);
        }
        free(cs);
        free(provs[i]);
    }
    free(provs);

    struct CMUnitTest *tests = sy_xcalloc(ncases + 2, sizeof(*tests));
    size_t nt = 0;
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_config_keys);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_durations);
    for (size_t i = 0; i < ncases; i++) {
        tests[nt].name = cases[i].name;
        tests[nt].test_func = run_case;
        tests[nt].initial_state = &cases[i];
        nt++;
    }
    int failed = _cmocka_run_group_tests("adapters", tests, nt, NULL, NULL);
    free(tests);
    free(cases);
    return failed == 0 ? 0 : 1;
}
