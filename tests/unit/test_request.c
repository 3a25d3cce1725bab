/*
 * test_request.c - unit tests for fcgi/request.c: sy_fcgi_read_request
 * with a fake transport (parameters copied into the arena, the path from
 * REQUEST_URI or SCRIPT_NAME + PATH_INFO, CONTENT_LENGTH limits, bodies
 * read in short pieces or to EOF), and sy_fcgi_serve_one end to end.
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
/* A fake transport                                                    */

#define MAX_PARAMS 16

struct fake {
    char *names[MAX_PARAMS];
    char *values[MAX_PARAMS]; /* heap copies, scribbled on after reading */
    size_t nparams;
    const char *data; /* the body the "web server" has */
    size_t len;
    size_t pos;
    size_t piece;         /* most bytes per read; 0 = no limit */
    size_t fail_at;       /* read fails once pos reaches this; 0 = never */
    size_t timeout_at;    /* reads time out once pos reaches this */
    uint64_t deadline_ms; /* the deadline of the last read */
    unsigned reads;
    unsigned param_calls;
    unsigned end_reads; /* read_end calls */
};

static const char *
fake_param(void *io, const char *name)
{
    struct fake *f = io;
    f->param_calls++;
    for (size_t i = 0; i < f->nparams; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

static long
fake_read(void *io, char *buf, size_t n, uint64_t deadline_ms)
{
    struct fake *f = io;
    f->reads++;
    f->deadline_ms = deadline_ms;
    if (f->timeout_at != 0 && f->pos >= f->timeout_at)
        return SY_FCGI_READ_TIMEOUT;
    assert_true(n > 0);
    if (f->fail_at != 0 && f->pos >= f->fail_at)
        return -1;
    size_t left = f->len - f->pos;
    size_t k = SY_MIN(n, left);
    if (f->piece != 0)
        k = SY_MIN(k, f->piece);
    if (k == 0)
        return 0;
    memcpy(buf, f->data + f->pos, k);
    f->pos += k;
    return (long)k;
}

static void
fake_read_end(void *io)
{
    struct fake *f = io;
    f->end_reads++;
}

static struct fake fk;
static struct sy_fcgi_io io = { fake_param, fake_read, fake_read_end, &fk };
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

static void
set_body(const char *data, size_t len)
{
    fk.data = data;
    fk.len = len;
    fk.pos = 0;
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
read_req(size_t max_body)
{
    memset(&req, 0x5a, sizeof(req));
    sy_fcgi_read_request(&io, max_body, 30000, &arena, &req);
    assert_ptr_equal(req.arena, &arena);
    /* The body is read on demand; these tests want it at once. */
    (void)sy_req_body(&req);
}

/* A body of 'n' bytes with a recognisable pattern (heap). */
static char *
pattern(size_t n)
{
    char *p = sy_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('A' + (i * 7 + i / 26) % 26);
    p[n] = '\0';
    return p;
}

/* ------------------------------------------------------------------ */
/* Parameters and path                                                 */

static void
test_params_copied(void **state)
{
    (void)state;
    set_param("REQUEST_METHOD", "POST");
    set_param("REQUEST_URI", "/v1/chat/completions");
    set_param("CONTENT_TYPE", "application/json");
    set_param("HTTP_AUTHORIZATION", "Bearer sk-caller");
    set_param("HTTP_X_REQUEST_ID", "abc-1");
    set_param("REMOTE_ADDR", "10.0.0.7");
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/v1/chat/completions");
    assert_string_equal(req.content_type, "application/json");
    assert_string_equal(req.authorization, "Bearer sk-caller");
    assert_string_equal(req.request_id_in, "abc-1");
    assert_string_equal(req.remote_addr, "10.0.0.7");
    assert_null(req.body);
    assert_int_equal(req.body_len, 0);
    assert_false(req.body_too_big);
    /* Copies, not the transport's strings (libfcgi frees those at the
     * next accept): scribble over the originals. */
    for (size_t i = 0; i < fk.nparams; i++)
        memset(fk.values[i], '#', strlen(fk.values[i]));
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/v1/chat/completions");
    assert_string_equal(req.authorization, "Bearer sk-caller");
    assert_string_equal(req.remote_addr, "10.0.0.7");
    /* Content length 0: nothing read. */
    assert_int_equal(fk.reads, 0);
}

static void
test_missing_params_are_null(void **state)
{
    (void)state;
    set_param("REQUEST_URI", "/healthz");
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_null(req.method);
    assert_null(req.content_type);
    assert_null(req.authorization);
    assert_null(req.request_id_in);
    assert_null(req.remote_addr);
    assert_string_equal(req.path, "/healthz");
}

static void
test_long_params_bounded(void **state)
{
    (void)state;
    char *big = pattern(20000);
    big[0] = '/';
    set_param("HTTP_AUTHORIZATION", big);
    set_param("REQUEST_URI", big);
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    /* Never cut and used: refused (test_request_limits.c has the rest). */
    assert_null(req.authorization);
    assert_int_equal(req.refuse.status, 414);
    assert_int_equal(strlen(req.path), 4096);
    free(big);
}

static void
test_path_without_query(void **state)
{
    (void)state;
    static const struct {
        const char *uri;
        const char *path;
    } cases[] = {
        { "/v1/models?x=1&y=2", "/v1/models" },
        { "/v1/models#frag", "/v1/models" },
        { "/v1/models/a?b#c", "/v1/models/a" },
        { "/v1/chat/completions", "/v1/chat/completions" },
        { "/?", "/" },
        { "?q", "" },
        { "", "" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        teardown(NULL);
        setup(NULL);
        set_param("REQUEST_URI", cases[i].uri);
        /* REQUEST_URI wins over the script mapping. */
        set_param("SCRIPT_NAME", "/switchyard");
        set_param("PATH_INFO", "/other");
        set_param("CONTENT_LENGTH", "0");
        read_req(1024);
        assert_string_equal(req.path, cases[i].path);
    }
}

static void
test_path_script_name_fallback(void **state)
{
    (void)state;
    set_param("SCRIPT_NAME", "/v1");
    set_param("PATH_INFO", "/chat/completions");
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_string_equal(req.path, "/v1/chat/completions");
    teardown(NULL);
    setup(NULL);
    set_param("SCRIPT_NAME", "/healthz");
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_string_equal(req.path, "/healthz");
    teardown(NULL);
    setup(NULL);
    set_param("PATH_INFO", "/v1/models");
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_string_equal(req.path, "/v1/models");
    /* Nothing at all: an empty path (the pipeline answers 404). */
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "0");
    read_req(1024);
    assert_non_null(req.path);
    assert_string_equal(req.path, "");
}

/* ------------------------------------------------------------------ */
/* Bodies                                                              */

static void
test_body_with_content_length(void **state)
{
    (void)state;
    const char *data = "{\"model\":\"m\"}";
    set_param("REQUEST_URI", "/v1/chat/completions");
    set_param("CONTENT_LENGTH", "13");
    set_body(data, 13);
    read_req(1024);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, 13);
    assert_string_equal(req.body, data);
    assert_ptr_not_equal(req.body, data);
    /* Exactly at the limit is allowed. */
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "13");
    set_body(data, 13);
    read_req(13);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, 13);
}

static void
test_body_short_pieces(void **state)
{
    (void)state;
    char *data = pattern(5000);
    static const size_t pieces[] = { 1, 3, 7, 1000, 4999 };
    for (size_t i = 0; i < SY_ARRAY_LEN(pieces); i++) {
        teardown(NULL);
        setup(NULL);
        set_param("CONTENT_LENGTH", "5000");
        set_body(data, 5000);
        fk.piece = pieces[i];
        read_req(8192);
        assert_false(req.body_too_big);
        assert_int_equal(req.body_len, 5000);
        assert_memory_equal(req.body, data, 5000);
        assert_int_equal(req.body[5000], '\0');
        assert_int_equal(fk.reads, (5000 + pieces[i] - 1) / pieces[i]);
        /* The whole declared body: the transport looks for the end of
         * input once (so that the connection can close plainly). */
        assert_int_equal(fk.end_reads, 1);
    }
    free(data);
}

static void
test_content_length_over_limit(void **state)
{
    (void)state;
    char *data = pattern(5000);
    set_param("REQUEST_METHOD", "POST");
    set_param("REQUEST_URI", "/v1/chat/completions");
    set_param("CONTENT_LENGTH", "5000");
    set_body(data, 5000);
    read_req(4096);
    assert_true(req.body_too_big);
    assert_null(req.body);
    assert_int_equal(req.body_len, 0);
    /* Decided from the header alone: not one byte read. */
    assert_int_equal(fk.reads, 0);
    assert_string_equal(req.path, "/v1/chat/completions");
    /* An absurd length is refused the same way, without allocating it. */
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "18446744073709551615");
    set_body(data, 5000);
    read_req(4096);
    assert_true(req.body_too_big);
    assert_int_equal(fk.reads, 0);
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "4097");
    read_req(4096);
    assert_true(req.body_too_big);
    assert_int_equal(fk.reads, 0);
    free(data);
}

static void
test_bad_content_length(void **state)
{
    (void)state;
    /* Not a number: treated as unknown, read to EOF under the limit. */
    static const char *const bad[] = {
        "abc", "-5", "12x", "", "99999999999999999999999", "0x10"
    };
    const char *data = "{\"a\":1}";
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        teardown(NULL);
        setup(NULL);
        set_param("CONTENT_LENGTH", bad[i]);
        set_body(data, 7);
        read_req(1024);
        if (req.body_too_big || req.body == NULL)
            fail_msg("CONTENT_LENGTH '%s': no body", bad[i]);
        assert_int_equal(req.body_len, 7);
        assert_string_equal(req.body, data);
    }
    /* ...and still bounded: a bad length does not lift the limit. */
    char *big = pattern(3000);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        teardown(NULL);
        setup(NULL);
        set_param("CONTENT_LENGTH", bad[i]);
        set_body(big, 3000);
        read_req(1024);
        assert_true(req.body_too_big);
        assert_null(req.body);
        assert_true(fk.pos <= 1025);
    }
    free(big);
}

static void
test_no_content_length_reads_to_eof(void **state)
{
    (void)state;
    /* 200 KB in 1000-byte pieces, limit 1 MiB: grows past 64 KiB. */
    size_t n = 200000;
    char *data = pattern(n);
    set_body(data, n);
    fk.piece = 1000;
    read_req(1u << 20);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, n);
    assert_memory_equal(req.body, data, n);
    assert_int_equal(req.body[n], '\0');
    /* Exactly the limit: fine. */
    teardown(NULL);
    setup(NULL);
    set_body(data, 70000);
    read_req(70000);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, 70000);
    assert_memory_equal(req.body, data, 70000);
    /* One byte more: too big, and reading stopped right there. */
    teardown(NULL);
    setup(NULL);
    set_body(data, 70001);
    read_req(70000);
    assert_true(req.body_too_big);
    assert_null(req.body);
    teardown(NULL);
    setup(NULL);
    set_body(data, n);
    read_req(1000);
    assert_true(req.body_too_big);
    assert_int_equal(fk.pos, 1001);
    /* Empty body. */
    teardown(NULL);
    setup(NULL);
    set_body("", 0);
    read_req(1000);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, 0);
    free(data);
}

static void
test_short_and_long_bodies(void **state)
{
    (void)state;
    /* Declared 100, the stream ends after 10: what arrived. */
    set_param("CONTENT_LENGTH", "100");
    set_body("0123456789", 10);
    read_req(1024);
    assert_false(req.body_too_big);
    assert_int_equal(req.body_len, 10);
    assert_string_equal(req.body, "0123456789");
    assert_int_equal(fk.end_reads, 0); /* the body ended short */
    /* Declared 4, more is there: only the declared bytes. */
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "4");
    set_body("0123456789", 10);
    read_req(1024);
    assert_int_equal(req.body_len, 4);
    assert_string_equal(req.body, "0123");
    assert_int_equal(fk.pos, 4); /* nothing read past the body */
    assert_int_equal(fk.end_reads, 1);
    /* A read error ends the body (the pipeline then rejects it). */
    teardown(NULL);
    setup(NULL);
    set_param("CONTENT_LENGTH", "10");
    set_body("0123456789", 10);
    fk.piece = 3;
    fk.fail_at = 6;
    read_req(1024);
    assert_int_equal(req.body_len, 6);
    assert_string_equal(req.body, "012345");
}

/* ------------------------------------------------------------------ */
/* sy_fcgi_serve_one                                                   */

struct out {
    struct sy_buf b;
    unsigned flushes;
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
    struct out *o = p;
    o->flushes++;
    return SY_OK;
}

static void
test_serve_one(void **state)
{
    (void)state;
    static const char text[] =
        "{\"server\":{\"max_body_bytes\":1024},\"providers\":{\"l\":"
        "{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:1\","
        "\"auth\":\"none\"}},\"deployments\":{\"d\":{\"provider\":\"l\","
        "\"model\":\"m\"}},\"groups\":{\"g\":{\"deployments\":[\"d\"]}}}";
    struct sy_config *cfg = NULL;
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &cfg, NULL),
                     SY_OK);
    assert_int_equal(sy_upstream_global_init(), SY_OK);
    sy_log_set_level(SY_LOG_ERROR);
    struct sy_worker w;
    atomic_bool draining = false;
    sy_worker_init(&w, cfg, 0, &draining);
    static const struct sy_sink_ops ops = { out_write, out_flush };
    struct out o;
    memset(&o, 0, sizeof(o));
    sy_buf_init(&o.b, 1u << 16);
    struct sy_sink s = { &ops, &o, false, false, 0, 0 };

    set_param("REQUEST_METHOD", "GET");
    set_param("REQUEST_URI", "/healthz?probe=1");
    set_param("HTTP_X_REQUEST_ID", "probe-1");
    sy_fcgi_serve_one(&w, &io, &s);
    assert_int_equal(s.status, 200);
    assert_non_null(strstr(sy_buf_cstr(&o.b), "Status: 200 OK\r\n"));
    assert_non_null(strstr(sy_buf_cstr(&o.b), "x-request-id: probe-1\r\n"));
    assert_non_null(strstr(sy_buf_cstr(&o.b), "\"status\":\"ok\""));
    /* A whole answer stays buffered: the transport sends it with its end
     * records in one write (FCGX_Finish_r), not as a flush of its own. */
    assert_int_equal(o.flushes, 0);

    /* The body limit comes from the config: 413 without reading. */
    teardown(NULL);
    setup(NULL);
    sy_arena_reset(&w.arena);
    sy_buf_clear(&o.b);
    memset(&s, 0, sizeof(s));
    s.ops = &ops;
    s.io = &o;
    char *data = pattern(2000);
    set_param("REQUEST_METHOD", "POST");
    set_param("REQUEST_URI", "/v1/chat/completions");
    set_param("CONTENT_LENGTH", "2000");
    set_body(data, 2000);
    sy_fcgi_serve_one(&w, &io, &s);
    assert_int_equal(s.status, 413);
    assert_int_equal(fk.reads, 0);
    assert_non_null(strstr(sy_buf_cstr(&o.b), "request_too_large"));
    free(data);

    sy_buf_free(&o.b);
    sy_worker_cleanup(&w);
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
}

/* ------------------------------------------------------------------ */
/* The deferred body and its deadline                                  */

static void
test_body_deferred(void **state)
{
    (void)state;
    const char *data = "{\"model\":\"m\"}";
    set_param("REQUEST_METHOD", "POST");
    set_param("CONTENT_LENGTH", "13");
    set_body(data, 13);
    uint64_t t0 = sy_now_ms();
    sy_fcgi_read_request(&io, 1024, 5000, &arena, &req);
    /* Nothing read until the pipeline asks. */
    assert_int_equal(fk.reads, 0);
    assert_null(req.body);
    assert_non_null(req.read_body);
    assert_true(sy_fcgi_body_left(&req));
    assert_int_equal(sy_req_body(&req), SY_BODY_OK);
    assert_string_equal(req.body, data);
    assert_false(sy_fcgi_body_left(&req));
    /* The deadline runs from the start of the request. */
    assert_true(fk.deadline_ms >= t0 + 5000);
    assert_true(fk.deadline_ms <= sy_now_ms() + 5000);
    /* Asked again: the same answer, no more reads. */
    unsigned reads = fk.reads;
    assert_int_equal(sy_req_body(&req), SY_BODY_OK);
    assert_int_equal(fk.reads, reads);
}

static void
test_body_timeout(void **state)
{
    (void)state;
    char *data = pattern(100);
    set_param("REQUEST_METHOD", "POST");
    set_param("CONTENT_LENGTH", "100");
    set_body(data, 100);
    fk.piece = 10;
    fk.timeout_at = 30;
    sy_fcgi_read_request(&io, 1024, 5000, &arena, &req);
    assert_int_equal(sy_req_body(&req), SY_BODY_TIMEOUT);
    assert_null(req.body);
    assert_true(sy_fcgi_body_left(&req));
    /* Unknown length: the same. */
    teardown(NULL);
    setup(NULL);
    set_param("REQUEST_METHOD", "POST");
    set_body(data, 100);
    fk.timeout_at = 1;
    fk.piece = 1;
    sy_fcgi_read_request(&io, 1024, 5000, &arena, &req);
    assert_int_equal(sy_req_body(&req), SY_BODY_TIMEOUT);
    free(data);
}

/* A request with keys configured: what is answered without the body. */
static void
serve_case(struct sy_worker *w, struct sy_sink *s, struct out *o,
           const char *method, const char *uri, const char *ctype,
           const char *authz, const char *body)
{
    teardown(NULL);
    setup(NULL);
    sy_arena_reset(&w->arena);
    sy_buf_clear(&o->b);
    const struct sy_sink_ops *ops = s->ops;
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->io = o;
    set_param("REQUEST_METHOD", method);
    set_param("REQUEST_URI", uri);
    if (ctype != NULL)
        set_param("CONTENT_TYPE", ctype);
    if (authz != NULL)
        set_param("HTTP_AUTHORIZATION", authz);
    char len[32];
    snprintf(len, sizeof(len), "%zu", strlen(body));
    set_param("CONTENT_LENGTH", len);
    set_body(body, strlen(body));
}

static void
test_serve_refuses_before_body(void **state)
{
    (void)state;
    static const char text[] =
        "{\"keys\":{\"k\":{\"key_env\":\"SY_TEST_REQ_KEY\"}},"
        "\"server\":{\"body_timeout_ms\":2000},\"providers\":{\"l\":"
        "{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:1\","
        "\"auth\":\"none\"}},\"deployments\":{\"d\":{\"provider\":\"l\","
        "\"model\":\"m\"}},\"groups\":{\"g\":{\"deployments\":[\"d\"]}}}";
    setenv("SY_TEST_REQ_KEY", "sk-test-caller-key-0123456789", 1);
    struct sy_config *cfg = NULL;
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &cfg, NULL),
                     SY_OK);
    assert_int_equal(cfg->server.body_timeout_ms, 2000);
    assert_int_equal(sy_upstream_global_init(), SY_OK);
    sy_log_set_level(SY_LOG_ERROR);
    struct sy_worker w;
    atomic_bool draining = false;
    sy_worker_init(&w, cfg, 0, &draining);
    static const struct sy_sink_ops ops = { out_write, out_flush };
    struct out o;
    memset(&o, 0, sizeof(o));
    sy_buf_init(&o.b, 1u << 16);
    struct sy_sink s = { &ops, &o, false, false, 0, 0 };
    const char *body = "{\"model\":\"g\",\"messages\":[]}";
    const char *good = "Bearer sk-test-caller-key-0123456789";

    /* No key, a wrong key: 401, not one byte of the body read. */
    serve_case(&w, &s, &o, "POST", "/v1/chat/completions", "application/json",
               NULL, body);
    assert_true(sy_fcgi_serve_one(&w, &io, &s));
    assert_int_equal(s.status, 401);
    assert_int_equal(fk.reads, 0);
    serve_case(&w, &s, &o, "POST", "/v1/chat/completions", "application/json",
               "Bearer sk-wrong", body);
    assert_true(sy_fcgi_serve_one(&w, &io, &s));
    assert_int_equal(s.status, 401);
    assert_int_equal(fk.reads, 0);
    /* An unknown path: 404 without reading. */
    serve_case(&w, &s, &o, "POST", "/v1/nope", "application/json", good, body);
    assert_true(sy_fcgi_serve_one(&w, &io, &s));
    assert_int_equal(s.status, 404);
    assert_int_equal(fk.reads, 0);
    /* A form post: 415 without reading. */
    static const char *const bad_ct[] = { NULL,
                                          "text/plain",
                                          "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x",
                                          "application/jsonx",
                                          "text/json" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_ct); i++) {
        serve_case(&w, &s, &o, "POST", "/v1/chat/completions", bad_ct[i], good,
                   body);
        assert_true(sy_fcgi_serve_one(&w, &io, &s));
        assert_int_equal(s.status, 415);
        assert_int_equal(fk.reads, 0);
        assert_non_null(strstr(sy_buf_cstr(&o.b), "unsupported_media_type"));
    }
    /* A body too slow: 408 in OpenAI's format. */
    serve_case(&w, &s, &o, "POST", "/v1/chat/completions",
               "Application/JSON; charset=utf-8", good, body);
    fk.timeout_at = 5;
    fk.piece = 5;
    assert_true(sy_fcgi_serve_one(&w, &io, &s));
    assert_int_equal(s.status, 408);
    assert_non_null(strstr(sy_buf_cstr(&o.b), "\"code\":\"request_timeout\""));
    /* Admitted, JSON with a charset: the body is read (and the request
     * fails later, at the unreachable provider). */
    serve_case(&w, &s, &o, "POST", "/v1/chat/completions",
               "application/json ; charset=UTF-8", good, body);
    assert_false(sy_fcgi_serve_one(&w, &io, &s));
    assert_true(fk.reads > 0);
    assert_int_equal(fk.pos, strlen(body));
    assert_true(s.status != 415 && s.status != 401);

    sy_buf_free(&o.b);
    sy_worker_cleanup(&w);
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
    unsetenv("SY_TEST_REQ_KEY");
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_params_copied),
        T(test_missing_params_are_null),
        T(test_long_params_bounded),
        T(test_path_without_query),
        T(test_path_script_name_fallback),
        T(test_body_with_content_length),
        T(test_body_short_pieces),
        T(test_content_length_over_limit),
        T(test_bad_content_length),
        T(test_no_content_length_reads_to_eof),
        T(test_short_and_long_bodies),
        T(test_serve_one),
        T(test_body_deferred),
        T(test_body_timeout),
        T(test_serve_refuses_before_body),
#undef T
    };
    return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
