/*
 * golden_check.c - the golden checks of requests and whole replies: the
 * built provider request (or refusal) against upstream.json /
 * refused.json, a non-2xx reply through classify and a 2xx one through
 * parse_response against expected.json, and the usage.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 's' with the API key shown as %APIKEY% (malloc'd). */
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

/* build_request for the case against upstream.json, or its refusal
 * against refused.json. */
void
golden_check_request(const struct tcase *tc, struct env *e)
{
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure fail;
    memset(&fail, 0, sizeof(fail));
    struct sy_adapter_call call;
    golden_call_init(e, &call, &a, &fail);
    struct sy_http_out out;
    struct sy_buf body;
    enum sy_err be = golden_build(e, &call, &out, &body);

    struct json_object *refused = golden_read_json(tc->dir, "refused.json");
    struct json_object *want = golden_read_json(tc->dir, "upstream.json");
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
        golden_expect_json("upstream headers", sy_adapter_get(want, "headers"),
                           hs);
        json_object_put(hs);
        if (strstr(sy_buf_cstr(&body), API_KEY) != NULL)
            fail_msg("%s: the API key leaked into the body", tc->name);
        struct json_object *got = sy_adapter_json_parse(body.data, body.len);
        if (got == NULL)
            fail_msg("%s: the upstream body is not JSON: %s", tc->name,
                     sy_buf_cstr(&body));
        golden_expect_json("upstream body", sy_adapter_get(want, "body"), got);
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

/* 'u' against expected usage 'want' (nothing to check when NULL). */
void
golden_check_usage(struct json_object *want, const struct sy_usage *u)
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
    if (sy_adapter_get(want, "cache_write_tokens") != NULL)
        json_object_object_add(got, "cache_write_tokens",
                               json_object_new_int64(u->cache_write_tokens));
    if (sy_adapter_get(want, "cache_write_1h_tokens") != NULL)
        json_object_object_add(got, "cache_write_1h_tokens",
                               json_object_new_int64(u->cache_write_1h_tokens));
    golden_expect_json("usage", want, got);
    json_object_put(got);
}

/* The canned reply's body (malloc'd) and headers (into 'e'). */
char *
golden_reply_body(const struct tcase *tc, struct env *e,
                  struct json_object *reply, size_t *len)
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
        char *b = golden_read_file(tc->dir, file, len);
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

/* A whole (non-streaming or non-2xx) reply: classify or parse_response
 * against expected.json. */
void
golden_check_reply(const struct tcase *tc, struct env *e,
                   struct json_object *exp, struct json_object *reply,
                   const char *body, size_t len)
{
    int64_t status = 200;
    sy_adapter_get_int(reply, "status", &status);
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    struct sy_adapter_call call;
    golden_call_init(e, &call, &a, &f);
    struct sy_http_out out;
    struct sy_buf ub;
    assert_int_equal(golden_build(e, &call, &out, &ub), SY_OK);
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
        golden_expect_json("response", sy_adapter_get(exp, "response"), got);
        json_object_put(got);
        sy_buf_free(&rb);
        /* A reply sent as is (raw) still has its canonical form. */
        struct json_object *wc = sy_adapter_get(exp, "canonical");
        if (wc != NULL)
            golden_expect_json("canonical response", wc, resp.root);
        assert_true(sy_adapter_get(exp, "raw") == NULL ||
                    json_object_get_boolean(sy_adapter_get(exp, "raw")) ==
                        (resp.raw != NULL));
        const char *fr = sy_adapter_get_str(exp, "finish_reason");
        if (fr != NULL)
            assert_string_equal(
                resp.finish_reason ? resp.finish_reason : "(null)", fr);
        golden_check_usage(sy_adapter_get(exp, "usage"), &resp.usage);
    }
    sy_arena_cleanup(&a);
}
