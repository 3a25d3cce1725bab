/*
 * pipeline_fixture.h - what the in-process pipeline tests share
 * (test_pipeline_txn.c, test_pipeline_golden.c): a worker whose provider
 * calls go to a fake upstream (the sy_worker 'perform' seam) that plays
 * scripted replies, buffered or streamed in small pieces, fails as asked
 * and records each request it was given; a sink that captures the
 * response into a buffer (and can play a client that leaves); the
 * response split into status, headers, body and SSE events; and the
 * usage log opened to a temporary file and read back.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_PIPELINE_FIXTURE_H
#define SY_TESTS_UNIT_PIPELINE_FIXTURE_H

#include "base/sy.h"
#include "serve/pipeline.h"
#include "config/config.h"
#include "base/log.h"
#include "api/req.h"
#include "api/sink.h"
#include "io/upstream.h"
#include "io/usagelog.h"
#include "io/worker.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* The fake upstream                                                   */

#define FAKE_MAX 8

/* One scripted provider reply. */
struct fake_step {
    int status; /* HTTP status; 0: none arrived */
    const char *ctype;
    const char *body; /* NUL-terminated unless 'len' is set */
    size_t len;
    size_t piece;     /* a streamed body goes in pieces of this size (0:
                         in one piece) */
    enum sy_err fail; /* returned once the body is played (SY_OK: a
                         complete reply) */
    uint64_t total_us;
    bool unsent;             /* with no status: the request never got out (a
                    connect timeout) */
    uint32_t retry_after_ms; /* the reply's Retry-After, as parsed */
};

/* What the pipeline asked of the fake. */
struct fake_seen {
    char *url;
    char *body;
    bool streamed; /* the call had an on_data callback */
};

static struct fake_step fake_steps[FAKE_MAX];
static unsigned fake_nsteps; /* scripted */
static unsigned fake_at;     /* calls made */
static struct fake_seen fake_seen[FAKE_MAX];

static SY_UNUSED void
fake_reset(void)
{
    for (unsigned i = 0; i < FAKE_MAX; i++) {
        free(fake_seen[i].url);
        free(fake_seen[i].body);
    }
    memset(fake_seen, 0, sizeof(fake_seen));
    memset(fake_steps, 0, sizeof(fake_steps));
    fake_nsteps = fake_at = 0;
}

static SY_UNUSED struct fake_step *
fake_push(int status, const char *ctype, const char *body)
{
    assert_true(fake_nsteps < FAKE_MAX);
    struct fake_step *s = &fake_steps[fake_nsteps++];
    s->status = status;
    s->ctype = ctype;
    s->body = body;
    s->total_us = 1000;
    return s;
}

/* The seam: play the next scripted step as sy_upstream_perform would
 * (a 2xx body through on_data when set, any other body buffered). */
static SY_UNUSED enum sy_err
fake_perform(struct sy_upstream *u, struct sy_upstream_call *uc)
{
    (void)u;
    uc->status = 0;
    uc->content_type[0] = '\0';
    uc->retry_after_ms = 0;
    uc->first_byte_us = uc->total_us = uc->body_bytes = 0;
    uc->errmsg[0] = '\0';
    uc->nrl_headers = 0;
    sy_buf_init(&uc->body, uc->max_body_bytes);
    if (fake_at >= fake_nsteps)
        fail_msg("unscripted provider call %u to %s", fake_at + 1,
                 uc->req->url);
    struct fake_seen *seen = &fake_seen[fake_at];
    const struct fake_step *s = &fake_steps[fake_at++];
    seen->url = sy_xstrdup(uc->req->url);
    seen->body = sy_xstrdup(uc->req->body ? sy_buf_cstr(uc->req->body) : "");
    seen->streamed = uc->on_data != NULL;

    uc->status = s->status;
    uc->retry_after_ms = s->retry_after_ms;
    /* As libcurl tells it: a refused or timed-out connection sent
     * nothing; anything else got the whole request out. */
    uc->request_sent =
        s->status != 0 || (s->fail != SY_EUP_CONNECT && !s->unsent);
    snprintf(uc->content_type, sizeof(uc->content_type), "%s",
             s->ctype ? s->ctype : "");
    size_t len = s->len ? s->len : s->body ? strlen(s->body) : 0;
    bool relay = uc->on_data != NULL && s->status >= 200 && s->status < 300;
    for (size_t at = 0; at < len;) {
        size_t n = s->piece ? SY_MIN(s->piece, len - at) : len - at;
        if (uc->body_bytes == 0)
            uc->first_byte_us = 500;
        uc->body_bytes += n;
        enum sy_err e = SY_OK;
        if (relay)
            e = uc->on_data(uc->ud, s->body + at, n);
        else if (sy_buf_append(&uc->body, s->body + at, n) != SY_OK)
            e = SY_EUP_PROTO;
        if (e != SY_OK) {
            uc->total_us = s->total_us;
            return e;
        }
        at += n;
    }
    uc->total_us = s->total_us;
    if (s->fail != SY_OK)
        snprintf(uc->errmsg, sizeof(uc->errmsg), "fake %s",
                 sy_err_name(s->fail));
    return s->fail;
}

/* ------------------------------------------------------------------ */
/* A capturing sink                                                    */

struct capture {
    struct sy_buf out;
    const char *fail_on; /* a write holding this text fails, and every
                            later one (the client left) */
    bool failed;
};

static enum sy_err
cap_write(void *io, const char *p, size_t n)
{
    struct capture *c = io;
    if (c->failed || (c->fail_on != NULL &&
                      memmem(p, n, c->fail_on, strlen(c->fail_on)) != NULL)) {
        c->failed = true;
        return SY_EGONE;
    }
    return sy_buf_append(&c->out, p, n) == SY_OK ? SY_OK : SY_EGONE;
}

static enum sy_err
cap_flush(void *io)
{
    struct capture *c = io;
    return c->failed ? SY_EGONE : SY_OK;
}

static const struct sy_sink_ops cap_ops = { cap_write, cap_flush };

/* ------------------------------------------------------------------ */
/* Per-test state                                                      */

static struct sy_worker worker;
static atomic_bool draining;
static struct capture cap;
static struct sy_sink sink;
static char logpath[64];

/* The response of the last request. */
static int status;
static const char *head;        /* status and header lines */
static const char *body;        /* after the blank line */
static struct json_object *doc; /* the body as JSON, or NULL */

/* 'text' (JSON) as a config. */
static SY_UNUSED struct sy_config *
load_config_json(const char *text)
{
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    struct sy_config *c = NULL;
    enum sy_err e =
        sy_config_load_string(text, strlen(text), "test", &c, &errs);
    if (e != SY_OK)
        fail_msg("test config refused:\n%s\n%s", sy_buf_cstr(&errs), text);
    sy_buf_free(&errs);
    return c;
}

/* 'text' as a config (' stands for "). */
static SY_UNUSED struct sy_config *
load_config(const char *text_in)
{
    char *text = sy_xstrdup(text_in);
    for (char *q = text; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct sy_config *c = load_config_json(text);
    free(text);
    return c;
}

/* A worker on 'c' whose provider calls go to the fake, with a fresh
 * usage log. */
static SY_UNUSED void
worker_start(struct sy_config *c)
{
    draining = 0;
    sy_worker_init(&worker, c, 1, &draining);
    worker.perform = fake_perform;
    fake_reset();
    memset(&cap, 0, sizeof(cap));
    sy_buf_init(&cap.out, 4u << 20);
    doc = NULL;
    snprintf(logpath, sizeof(logpath), "/tmp/sy-pipeline-log-XXXXXX");
    int fd = mkstemp(logpath);
    assert_true(fd >= 0);
    close(fd);
    char err[256];
    if (sy_usagelog_open(logpath, &worker.usagelog, err, sizeof(err)) != SY_OK)
        fail_msg("usage log: %s", err);
}

static SY_UNUSED void
worker_stop(void)
{
    json_object_put(doc);
    doc = NULL;
    sy_usagelog_close(worker.usagelog);
    worker.usagelog = NULL;
    unlink(logpath);
    sy_buf_free(&cap.out);
    sy_worker_cleanup(&worker);
    fake_reset();
}

/* Where serve_raw() posts, and the caller's headers it sends (a test
 * that changes them sets them back). */
static const char *req_path = "/v1/chat/completions";
static const char *req_authorization;
static const char *req_x_api_key;
static const char *req_anthropic_version;
static const char *req_anthropic_beta;

/* POST 'req_body' (exact bytes) to req_path and split the response into
 * status, head and body. */
static SY_UNUSED void
serve_raw(const char *req_body, size_t len)
{
    json_object_put(doc);
    doc = NULL;
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    worker.seq++;
    struct sy_arena *a = &worker.arena;
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = a;
    r.method = "POST";
    r.path = req_path;
    r.authorization = req_authorization;
    r.x_api_key = req_x_api_key;
    r.anthropic_version = req_anthropic_version;
    r.anthropic_beta = req_anthropic_beta;
    r.content_type = "application/json";
    r.remote_addr = "127.0.0.1";
    r.body = sy_arena_strndup(a, req_body, len);
    r.body_len = len;
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);

    status = 0;
    head = body = NULL;
    const char *t = sy_buf_cstr(&cap.out);
    const char *end = strstr(t, "\r\n\r\n");
    if (end == NULL) {
        if (cap.failed)
            return; /* the client left before the headers */
        fail_msg("no end of headers in:\n%s", t);
    }
    head = sy_arena_strndup(a, t, (size_t)(end - t) + 2);
    body = sy_arena_strdup(a, end + 4);
    if (sscanf(head, "Status: %d ", &status) != 1)
        fail_msg("no Status line in:\n%s", head);
    doc = json_tokener_parse(body);
}

/* serve_raw() of 'req_body' with every ' turned into ". */
static SY_UNUSED void
serve(const char *req_body)
{
    char *b = sy_xstrdup(req_body);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    serve_raw(b, strlen(b));
    free(b);
}

/* The value of header 'name' (case-insensitive), or NULL. */
static SY_UNUSED const char *
hdr(const char *name)
{
    size_t n = strlen(name);
    for (const char *p = head; p != NULL && *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 &&
            p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return sy_arena_strndup(&worker.arena, v, (size_t)(eol - v));
        }
        p = eol + 2;
    }
    return NULL;
}

/* Member 'key' of 'o', or NULL. */
static SY_UNUSED struct json_object *
jget(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* ------------------------------------------------------------------ */
/* The SSE the client got                                              */

struct sse {
    struct json_object *chunks; /* data events that are chunks */
    struct json_object *error;  /* the error event, or NULL */
    unsigned nerrors;
    bool done;       /* data: [DONE] */
    bool after_done; /* anything after it */
    bool cost_note;  /* the ": x-switchyard-cost-usd" comment */
};

/* Split 'text' into events (each "data:" line of an event joined). */
static SY_UNUSED void
sse_parse(const char *text, struct sse *out)
{
    memset(out, 0, sizeof(*out));
    out->chunks = json_object_new_array();
    const char *p = text;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        size_t evlen = end ? (size_t)(end - p) : strlen(p);
        struct sy_buf data;
        sy_buf_init(&data, 1u << 20);
        bool has_data = false;
        for (const char *l = p; l < p + evlen;) {
            const char *nl = memchr(l, '\n', (size_t)(p + evlen - l));
            size_t ll = nl ? (size_t)(nl - l) : (size_t)(p + evlen - l);
            if (ll >= 5 && strncmp(l, "data:", 5) == 0) {
                const char *d = l + 5 + (ll > 5 && l[5] == ' ');
                if (has_data)
                    sy_buf_puts(&data, "\n");
                sy_buf_append(&data, d, (size_t)(l + ll - d));
                has_data = true;
            } else if (ll > 0 && l[0] == ':' &&
                       strstr(sy_arena_strndup(&worker.arena, l, ll),
                              "x-switchyard-cost-usd") != NULL) {
                out->cost_note = true;
            }
            l += ll + 1;
        }
        if (has_data) {
            if (out->done)
                out->after_done = true;
            if (strcmp(sy_buf_cstr(&data), "[DONE]") == 0) {
                out->done = true;
            } else {
                struct json_object *o = json_tokener_parse(sy_buf_cstr(&data));
                if (o == NULL)
                    fail_msg("an event is not JSON: %s", sy_buf_cstr(&data));
                if (jget(o, "error") != NULL) {
                    out->nerrors++;
                    json_object_put(out->error);
                    out->error = o;
                } else {
                    json_object_array_add(out->chunks, o);
                }
            }
        }
        sy_buf_free(&data);
        p = end ? end + 2 : p + evlen;
    }
}

static SY_UNUSED void
sse_free(struct sse *s)
{
    json_object_put(s->chunks);
    json_object_put(s->error);
}

/* ------------------------------------------------------------------ */
/* The usage log, read back                                            */

struct logline {
    char request_id[80];
    char deployment[64];
    char outcome[48];
    char error[48]; /* "" for null */
    int64_t prompt, completion, cost;
    unsigned attempt, attempts, estimated;
    int status;
};

static struct logline lines[16];
static unsigned nlines;

static bool
on_logline(const struct sy_usage_record *r, void *ctx)
{
    (void)ctx;
    if (nlines >= SY_ARRAY_LEN(lines))
        return false;
    struct logline *l = &lines[nlines++];
    memset(l, 0, sizeof(*l));
    snprintf(l->request_id, sizeof(l->request_id), "%s",
             r->request_id ? r->request_id : "");
    snprintf(l->deployment, sizeof(l->deployment), "%s",
             r->deployment ? r->deployment : "");
    snprintf(l->outcome, sizeof(l->outcome), "%s",
             r->outcome ? r->outcome : "");
    snprintf(l->error, sizeof(l->error), "%s", r->error ? r->error : "");
    l->prompt = r->prompt_tokens;
    l->completion = r->completion_tokens;
    l->cost = r->cost_micro_usd;
    l->attempt = r->attempt;
    l->attempts = r->attempts;
    l->estimated = r->estimated;
    l->status = r->status;
    return true;
}

/* Read every line written so far into lines[], and empty the log for
 * the next request. */
static SY_UNUSED void
read_log(void)
{
    nlines = 0;
    struct sy_usagelog_read_stats st;
    char err[256];
    if (sy_usagelog_read(logpath, on_logline, NULL, &st, err, sizeof(err)) !=
        SY_OK)
        fail_msg("reading the usage log: %s", err);
    assert_int_equal(st.bad_lines, 0);
    assert_false(st.truncated_tail);
    assert_int_equal(truncate(logpath, 0), 0);
}

/* Check line 'i': which attempt, its outcome, whether estimated. */
static SY_UNUSED void
expect_line(unsigned i, unsigned attempt, const char *dep, const char *outcome,
            unsigned estimated)
{
    assert_true(i < nlines);
    const struct logline *l = &lines[i];
    if (l->attempt != attempt || strcmp(l->deployment, dep) != 0 ||
        strcmp(l->outcome, outcome) != 0 || l->estimated != estimated)
        fail_msg("line %u: attempt %u %s %s estimated %u; expected "
                 "attempt %u %s %s estimated %u",
                 i, l->attempt, l->deployment, l->outcome, l->estimated,
                 attempt, dep, outcome, estimated);
}

#endif
