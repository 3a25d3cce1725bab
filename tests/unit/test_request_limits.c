/*
 * test_request_limits.c - unit tests for the parameter bounds of
 * fcgi/request.c: a request header longer than the gateway keeps
 * (SY_CGI_PARAM_MAX - 1 bytes) refuses the request with 431, a path or query string
 * longer than it looks at with 414, never a cut value used; and through
 * sy_fcgi_serve_one, the refusal in the error shape of the path's API
 * (Anthropic's on /v1/messages, OpenAI's elsewhere) before the caller's
 * key is checked or one byte of the body read, the value never quoted.
 * fcgi/ is not in libswitchyard.a, so the .c is included.
 * SPDX-License-Identifier: MIT
 */
#include "fcgi/request.c"

#include "io/upstream.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* A fake transport: parameters, and a body that counts its reads       */

#define MAX_PARAMS 16

struct fake {
    char *names[MAX_PARAMS];
    char *values[MAX_PARAMS];
    size_t nparams;
    const char *data;
    size_t len;
    size_t pos;
    unsigned reads;
};

static const char *
fake_param(void *io, const char *name)
{
    struct fake *f = io;
    for (size_t i = 0; i < f->nparams; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

static long
fake_read(void *io, char *buf, size_t n, uint64_t deadline_ms)
{
    struct fake *f = io;
    (void)deadline_ms;
    f->reads++;
    size_t k = SY_MIN(n, f->len - f->pos);
    memcpy(buf, f->data + f->pos, k);
    f->pos += k;
    return (long)k;
}

static struct fake fk;
static struct sy_fcgi_io io = { fake_param, fake_read, NULL, &fk };
static struct sy_arena arena;
static struct sy_req req;

static void
set_param(const char *name, const char *value)
{
    assert_true(fk.nparams < MAX_PARAMS);
    fk.names[fk.nparams] = sy_xstrdup(name);
    fk.values[fk.nparams] = sy_xstrdup(value);
    fk.nparams++;
}

static int
setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof(fk));
    sy_arena_init(&arena, 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < fk.nparams; i++) {
        free(fk.names[i]);
        free(fk.values[i]);
    }
    sy_arena_cleanup(&arena);
    return 0;
}

static void
reset(void)
{
    teardown(NULL);
    setup(NULL);
}

static void
read_req(void)
{
    memset(&req, 0x5a, sizeof(req));
    sy_fcgi_read_request(&io, 1024, 30000, &arena, &req);
}

/* 'n' bytes of a secret-looking value (heap): "sk-SECRET..." */
static char *
secret(size_t n)
{
    static const char pat[] = "sk-SECRET";
    char *p = sy_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = pat[i % (sizeof(pat) - 1)];
    p[n] = '\0';
    return p;
}

/* ------------------------------------------------------------------ */
/* sy_fcgi_read_request                                                */

/* Every request header the gateway reads, and where it keeps it. */
static const struct {
    const char *cgi;
    const char *shown;
    size_t off;
} HEADERS[] = {
    { "CONTENT_TYPE", "Content-Type", offsetof(struct sy_req, content_type) },
    { "HTTP_AUTHORIZATION", "Authorization",
      offsetof(struct sy_req, authorization) },
    { "HTTP_X_API_KEY", "x-api-key", offsetof(struct sy_req, x_api_key) },
    { "HTTP_ANTHROPIC_VERSION", "anthropic-version",
      offsetof(struct sy_req, anthropic_version) },
    { "HTTP_ANTHROPIC_BETA", "anthropic-beta",
      offsetof(struct sy_req, anthropic_beta) },
};

/* Headers the gateway does without when they are bad: too long is
 * dropped (a request id of its own, no affinity, a new trace). */
static const struct {
    const char *cgi;
    size_t off;
} HINTS[] = {
    { "HTTP_X_REQUEST_ID", offsetof(struct sy_req, request_id_in) },
    { "HTTP_X_CLAUDE_CODE_SESSION_ID", offsetof(struct sy_req, session_id) },
    { "HTTP_TRACEPARENT", offsetof(struct sy_req, traceparent) },
    { "HTTP_TRACESTATE", offsetof(struct sy_req, tracestate) },
};

static const char *
field(size_t off)
{
    const char *v;
    memcpy(&v, (const char *)&req + off, sizeof(v));
    return v;
}

static void
test_header_at_limit_kept_whole(void **state)
{
    (void)state;
    char *v = secret(SY_CGI_PARAM_MAX - 1);
    for (size_t i = 0; i < SY_ARRAY_LEN(HEADERS); i++) {
        reset();
        set_param("REQUEST_URI", "/v1/messages");
        set_param(HEADERS[i].cgi, v);
        read_req();
        assert_int_equal(req.refuse.status, 0);
        assert_null(req.refuse.message);
        assert_non_null(field(HEADERS[i].off));
        assert_string_equal(field(HEADERS[i].off), v);
    }
    free(v);
}

static void
test_header_over_limit_refused(void **state)
{
    (void)state;
    char *v = secret(SY_CGI_PARAM_MAX);
    for (size_t i = 0; i < SY_ARRAY_LEN(HEADERS); i++) {
        reset();
        set_param("REQUEST_URI", "/v1/messages");
        set_param("REQUEST_METHOD", "POST");
        bool key = strcmp(HEADERS[i].cgi, "HTTP_X_API_KEY") == 0;
        if (!key)
            set_param("HTTP_X_API_KEY", "sk-short");
        set_param(HEADERS[i].cgi, v);
        read_req();
        assert_int_equal(req.refuse.status, 431);
        assert_string_equal(req.refuse.code, "request_header_fields_too_large");
        char want[120];
        snprintf(want, sizeof(want), "header '%s' is longer than %d bytes",
                 HEADERS[i].shown, SY_CGI_PARAM_MAX - 1);
        assert_string_equal(req.refuse.message, want);
        /* Not cut and kept: nothing of it reaches the pipeline. */
        assert_null(field(HEADERS[i].off));
        /* The others are read as ever. */
        assert_string_equal(req.method, "POST");
        assert_string_equal(req.path, "/v1/messages");
        if (!key)
            assert_string_equal(req.x_api_key, "sk-short");
    }
    free(v);
}

static void
test_hint_over_limit_dropped(void **state)
{
    (void)state;
    char *v = secret(SY_CGI_PARAM_MAX);
    char *kept = secret(SY_CGI_PARAM_MAX - 1);
    for (size_t i = 0; i < SY_ARRAY_LEN(HINTS); i++) {
        reset();
        set_param("REQUEST_URI", "/v1/messages");
        set_param(HINTS[i].cgi, kept);
        read_req();
        assert_string_equal(field(HINTS[i].off), kept);
        reset();
        set_param("REQUEST_URI", "/v1/messages");
        set_param(HINTS[i].cgi, v);
        read_req();
        assert_int_equal(req.refuse.status, 0);
        assert_null(field(HINTS[i].off));
        assert_string_equal(req.path, "/v1/messages");
    }
    free(v);
    free(kept);
}

static void
test_query_over_limit_refused(void **state)
{
    (void)state;
    char *v = secret(SY_CGI_PARAM_MAX);
    set_param("REQUEST_URI", "/v1/responses/resp_1");
    set_param("QUERY_STRING", v);
    read_req();
    assert_int_equal(req.refuse.status, 414);
    assert_string_equal(req.refuse.code, "uri_too_long");
    assert_string_equal(req.refuse.message,
                        "the query string is longer than 8191 bytes");
    assert_null(req.query);
    /* At the limit: kept whole. */
    reset();
    v[SY_CGI_PARAM_MAX - 1] = '\0';
    set_param("REQUEST_URI", "/v1/responses/resp_1");
    set_param("QUERY_STRING", v);
    read_req();
    assert_int_equal(req.refuse.status, 0);
    assert_string_equal(req.query, v);
    free(v);
}

static void
test_path_over_limit_refused(void **state)
{
    (void)state;
    /* REQUEST_URI's path one byte over SY_PATH_MAX: 414, whatever the
     * query string after it. */
    char *p = secret(SY_PATH_MAX + 1 + 8);
    memcpy(p, "/v1/models/", 11);
    p[SY_PATH_MAX + 1] = '?';
    set_param("REQUEST_URI", p);
    read_req();
    assert_int_equal(req.refuse.status, 414);
    assert_string_equal(req.refuse.code, "uri_too_long");
    assert_string_equal(req.refuse.message,
                        "the request path is longer than 4096 bytes");
    /* At the limit, a long query string after it: fine. */
    reset();
    p[SY_PATH_MAX] = '?';
    set_param("REQUEST_URI", p);
    read_req();
    assert_int_equal(req.refuse.status, 0);
    assert_int_equal(strlen(req.path), SY_PATH_MAX);
    /* PATH_INFO over SY_PATH_MAX. */
    reset();
    p[SY_PATH_MAX] = 'x';
    p[SY_PATH_MAX + 1] = '\0';
    set_param("SCRIPT_NAME", "/llm");
    set_param("PATH_INFO", p);
    read_req();
    assert_int_equal(req.refuse.status, 414);
    /* No REQUEST_URI: SCRIPT_NAME and PATH_INFO are joined, half each. */
    reset();
    p[SY_PATH_MAX / 2 + 1] = '\0';
    set_param("SCRIPT_NAME", "/v1");
    set_param("PATH_INFO", p);
    read_req();
    assert_int_equal(req.refuse.status, 414);
    assert_string_equal(req.refuse.message,
                        "SCRIPT_NAME or PATH_INFO is longer than 2048 bytes");
    reset();
    p[SY_PATH_MAX / 2] = '\0';
    set_param("SCRIPT_NAME", "/v1");
    set_param("PATH_INFO", p);
    read_req();
    assert_int_equal(req.refuse.status, 0);
    free(p);
}

static void
test_first_problem_told(void **state)
{
    (void)state;
    char *v = secret(SY_CGI_PARAM_MAX + 100);
    set_param("REQUEST_URI", "/v1/chat/completions");
    set_param("HTTP_AUTHORIZATION", v);
    set_param("HTTP_ANTHROPIC_BETA", v);
    read_req();
    assert_int_equal(req.refuse.status, 431);
    assert_string_equal(req.refuse.message,
                        "header 'Authorization' is longer than 8191 bytes");
    assert_null(req.authorization);
    assert_null(req.anthropic_beta);
    free(v);
}

/* ------------------------------------------------------------------ */
/* sy_fcgi_serve_one: the answer                                       */

struct out {
    struct sy_buf b;
};

static enum sy_err
out_write(void *p, const char *s, size_t n)
{
    struct out *o = p;
    return sy_buf_append(&o->b, s, n);
}

static enum sy_err
out_flush(void *p)
{
    (void)p;
    return SY_OK;
}

static const struct sy_sink_ops OPS = { out_write, out_flush };

/* Serve one request with 'name: value' (and a good key unless 'name' is
 * a key header) into 'o'; returns the status. */
static int
serve(struct sy_worker *w, struct out *o, const char *method, const char *uri,
      const char *name, const char *value)
{
    reset();
    sy_arena_reset(&w->arena);
    sy_buf_clear(&o->b);
    struct sy_sink s = { &OPS, o, false, false, 0, 0 };
    static const char body[] = "{\"model\":\"g\",\"max_tokens\":5,"
                               "\"messages\":[{\"role\":\"user\","
                               "\"content\":\"hi\"}]}";
    set_param("REQUEST_METHOD", method);
    set_param("REQUEST_URI", uri);
    set_param("CONTENT_TYPE", "application/json");
    if (strcmp(name, "HTTP_AUTHORIZATION") != 0)
        set_param("HTTP_AUTHORIZATION", "Bearer sk-test-limits-key-0123456789");
    set_param(name, value);
    char len[32];
    snprintf(len, sizeof(len), "%zu", strlen(body));
    set_param("CONTENT_LENGTH", len);
    fk.data = body;
    fk.len = strlen(body);
    assert_true(sy_fcgi_serve_one(w, &io, &s));
    /* Refused from the parameters alone: nothing of the body read. */
    assert_int_equal(fk.reads, 0);
    assert_null(strstr(sy_buf_cstr(&o->b), "SECRETsk-SECRET"));
    return s.status;
}

static void
test_serve_refuses_in_the_surface_shape(void **state)
{
    (void)state;
    static const char text[] =
        "{\"keys\":{\"k\":{\"key_env\":\"SY_TEST_LIMITS_KEY\"}},"
        "\"providers\":{\"l\":"
        "{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:1\","
        "\"auth\":\"none\"}},\"deployments\":{\"d\":{\"provider\":\"l\","
        "\"model\":\"m\"}},\"groups\":{\"g\":{\"deployments\":[\"d\"]}}}";
    setenv("SY_TEST_LIMITS_KEY", "sk-test-limits-key-0123456789", 1);
    struct sy_config *cfg = NULL;
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &cfg, NULL),
                     SY_OK);
    assert_int_equal(sy_upstream_global_init(), SY_OK);
    sy_log_set_level(SY_LOG_ERROR);
    struct sy_worker w;
    atomic_bool draining = false;
    sy_worker_init(&w, cfg, 0, &draining);
    struct out o;
    sy_buf_init(&o.b, 1u << 16);
    char *v = secret(9000);
    const char *got;

    /* A 9000-byte anthropic-beta on /v1/messages: Anthropic's shape. */
    assert_int_equal(
        serve(&w, &o, "POST", "/v1/messages", "HTTP_ANTHROPIC_BETA", v), 431);
    got = sy_buf_cstr(&o.b);
    assert_non_null(
        strstr(got, "Status: 431 Request Header Fields Too Large\r\n"));
    assert_non_null(strstr(got, "\"type\":\"error\""));
    assert_non_null(strstr(got, "\"type\":\"invalid_request_error\""));
    assert_non_null(
        strstr(got, "header 'anthropic-beta' is longer than 8191 bytes"));
    assert_null(strstr(got, "sk-SECRET"));

    /* A 9000-byte Authorization on /v1/chat/completions: OpenAI's, and
     * 431 rather than the 401 a cut key would get. */
    assert_int_equal(
        serve(&w, &o, "POST", "/v1/chat/completions", "HTTP_AUTHORIZATION", v),
        431);
    got = sy_buf_cstr(&o.b);
    assert_non_null(strstr(got, "\"error\":{"));
    assert_non_null(
        strstr(got, "\"code\":\"request_header_fields_too_large\""));
    assert_non_null(
        strstr(got, "header 'Authorization' is longer than 8191 bytes"));
    assert_null(strstr(got, "\"type\":\"error\""));
    assert_null(strstr(got, "sk-SECRET"));

    /* x-api-key on /v1/messages, and on an unknown path: still 431. */
    assert_int_equal(serve(&w, &o, "POST", "/v1/messages", "HTTP_X_API_KEY", v),
                     431);
    assert_non_null(strstr(sy_buf_cstr(&o.b), "header 'x-api-key'"));
    assert_int_equal(serve(&w, &o, "GET", "/v1/nothing", "HTTP_X_API_KEY", v),
                     431);
    assert_null(strstr(sy_buf_cstr(&o.b), "sk-SECRET"));
    /* A too long traceparent is dropped (a new trace), not refused. */
    assert_int_equal(serve(&w, &o, "GET", "/v1/models", "HTTP_TRACEPARENT", v),
                     200);

    /* A path over SY_PATH_MAX: 414, OpenAI's shape on /v1/models/... */
    char *p = secret(SY_PATH_MAX + 100);
    memcpy(p, "/v1/models/", 11);
    assert_int_equal(serve(&w, &o, "GET", p, "HTTP_X_REQUEST_ID", "r-1"), 414);
    got = sy_buf_cstr(&o.b);
    assert_non_null(strstr(got, "Status: 414 URI Too Long\r\n"));
    assert_non_null(strstr(got, "\"code\":\"uri_too_long\""));
    /* ...and Anthropic's under /v1/messages/. */
    memcpy(p, "/v1/messages/", 13);
    assert_int_equal(serve(&w, &o, "POST", p, "HTTP_X_REQUEST_ID", "r-2"), 414);
    assert_non_null(strstr(sy_buf_cstr(&o.b), "\"type\":\"error\""));
    free(p);

    /* The worker goes on: a header at the limit is served as ever. */
    v[SY_CGI_PARAM_MAX - 1] = '\0';
    assert_int_equal(serve(&w, &o, "GET", "/v1/models", "HTTP_TRACESTATE", v),
                     200);

    free(v);
    sy_buf_free(&o.b);
    sy_worker_cleanup(&w);
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
    unsetenv("SY_TEST_LIMITS_KEY");
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_header_at_limit_kept_whole),
        T(test_header_over_limit_refused),
        T(test_hint_over_limit_dropped),
        T(test_query_over_limit_refused),
        T(test_path_over_limit_refused),
        T(test_first_problem_told),
        T(test_serve_refuses_in_the_surface_shape),
#undef T
    };
    return cmocka_run_group_tests_name("request_limits", tests, NULL, NULL);
}
