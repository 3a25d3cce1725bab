/*
 * test_pipeline_guard.c - unit tests for what the pipeline does before
 * and around a request's body and headers: the response-header block
 * always ends with its blank line (an optional header that does not fit
 * is left out whole), the request log never shows a secret pasted into a
 * path (also on 401 and 404), JSON endpoints take only application/json
 * (415 otherwise, the body unread), and a body that does not arrive in
 * time is a 408 in OpenAI's error format. Routing: a refused path under
 * /v1/messages is a 404 in Anthropic's shape, a known path with another
 * method a 405 with Allow, and count_tokens refuses the tools
 * /v1/messages refuses, with the same error.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "serve/pipeline.h"
#include "serve/pipeline_int.h"
#include "config/config.h"
#include "base/log.h"
#include "api/req.h"
#include "api/mount.h"
#include "base/limits.h"
#include "api/sink.h"
#include "io/upstream.h"
#include "io/worker.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define CANARY "sk-canary-7f3a9c1d2e4b6a8f0c1d"
#define CALLER "sk-guard-caller-key-0123456789"
#define ADMIN  "sk-guard-admin-key-0123456789"

static const char config_text[] =
    "{'server':{'max_body_bytes':2048,'admin_key_env':'SYT_GUARD_ADMIN',"
    "'log_level':'info'},"
    "'keys':{'k':{'key_env':'SYT_GUARD_KEY'}},"
    "'providers':{'p':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'auth':'none'}},"
    "'deployments':{'a-deployment-with-a-rather-long-name-for-the-header':"
    "{'provider':'p','model':'a'}},"
    "'groups':{'g':{'deployments':"
    "['a-deployment-with-a-rather-long-name-for-the-header']}}}";

struct capture {
    struct sy_buf out;
};

static enum sy_err
cap_write(void *io, const char *p, size_t n)
{
    struct capture *c = io;
    return sy_buf_append(&c->out, p, n) == SY_OK ? SY_OK : SY_EGONE;
}

static enum sy_err
cap_flush(void *io)
{
    (void)io;
    return SY_OK;
}

static const struct sy_sink_ops cap_ops = { cap_write, cap_flush };

static struct sy_config *cfg;
static struct sy_worker worker;
static atomic_bool draining;
static struct capture cap;
static struct sy_sink sink;

static int
group_setup(void **state)
{
    (void)state;
    setenv("SYT_GUARD_KEY", CALLER, 1);
    setenv("SYT_GUARD_ADMIN", ADMIN, 1);
    if (sy_upstream_global_init() != SY_OK)
        return -1;
    char *text = sy_xstrdup(config_text);
    for (char *q = text; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    enum sy_err e = sy_config_load_string(text, strlen(text), "t", &cfg, &errs);
    free(text);
    if (e != SY_OK) {
        fprintf(stderr, "%s\n", sy_buf_cstr(&errs));
        return -1;
    }
    sy_buf_free(&errs);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    draining = 0;
    sy_worker_init(&worker, cfg, 0, &draining);
    memset(&cap, 0, sizeof(cap));
    sy_buf_init(&cap.out, 1u << 20);
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sy_buf_free(&cap.out);
    sy_worker_cleanup(&worker);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The header block                                                    */

/* 'p' is a well-formed CGI header block: lines ending in CRLF, the
 * first "Status:", and a blank line, which is where the block ends. */
static size_t
check_block(const char *p, size_t n)
{
    assert_true(n > 4);
    assert_memory_equal(p, "Status: ", 8);
    const char *end = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
            end = p + i;
            break;
        }
    if (end == NULL)
        fail_msg("no blank line after the headers (%zu bytes)", n);
    return (size_t)(end - p) + 4;
}

static void
head_with(const char *route_fill, size_t route_len, const char *extra)
{
    sy_buf_clear(&cap.out);
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    struct pctx c;
    memset(&c, 0, sizeof(c));
    c.w = &worker;
    c.s = &sink;
    c.request_id = "req_0123456789abcdef";
    c.dep = &cfg->deployments[0];
    c.attempts = 3;
    if (route_len >= sizeof(c.route))
        route_len = sizeof(c.route) - 1;
    for (size_t i = 0; i < route_len; i++)
        c.route[i] = route_fill[i % strlen(route_fill)];
    c.route[route_len] = '\0';
    sy_pipeline_send_head(&c, 200, "text/event-stream", extra);
    assert_int_equal(sink.status, 200);
    assert_true(sink.headers_sent);
}

static void
test_head_always_ends_with_blank_line(void **state)
{
    (void)state;
    /* The longest route explanation the pctx holds, with the deployment
     * headers and a long extra block: more than 2 KiB together. */
    struct sy_buf extra;
    sy_buf_init(&extra, 1u << 16);
    for (int i = 0; i < 30; i++)
        sy_buf_printf(&extra, "x-extra-%02d: %040d\r\n", i, i);
    head_with("dep-x (score 0.93, p50 420 ms); ", 10000, sy_buf_cstr(&extra));
    const char *out = sy_buf_cstr(&cap.out);
    size_t blk = check_block(out, cap.out.len);
    /* The whole block was written and nothing follows it. */
    assert_int_equal(blk, cap.out.len);
    /* The extra headers matter more than the explanation: all there. */
    assert_non_null(strstr(out, "x-extra-29: "));
    assert_non_null(strstr(out, "x-switchyard-attempts: 3\r\n"));
    assert_non_null(strstr(out, "x-request-id: req_0123456789abcdef\r\n"));

    /* Extra headers larger than any block: left out, the block still
     * ends properly and keeps what is essential. */
    sy_buf_clear(&extra);
    for (int i = 0; i < 200; i++)
        sy_buf_printf(&extra, "x-extra-%03d: %040d\r\n", i, i);
    head_with("r; ", 700, sy_buf_cstr(&extra));
    out = sy_buf_cstr(&cap.out);
    assert_int_equal(check_block(out, cap.out.len), cap.out.len);
    assert_non_null(strstr(out, "Content-Type: text/event-stream\r\n"));
    assert_non_null(strstr(out, "x-switchyard-route: r; "));
    assert_null(strstr(out, "x-extra-199"));

    /* The usual case: everything there, in one piece. */
    head_with("dep (ok)", 8, "Cache-Control: no-cache\r\n");
    out = sy_buf_cstr(&cap.out);
    assert_int_equal(check_block(out, cap.out.len), cap.out.len);
    assert_non_null(strstr(out, "x-switchyard-route: dep (ok)\r\n"));
    assert_non_null(strstr(out, "Cache-Control: no-cache\r\n"));
    sy_buf_free(&extra);
}

/* ------------------------------------------------------------------ */
/* Content-Type                                                        */

static void
test_json_content_type(void **state)
{
    (void)state;
    static const char *const good[] = {
        "application/json",   "application/json; charset=utf-8",
        "Application/JSON",   "APPLICATION/JSON;charset=UTF-8",
        " application/json ", "application/json ; charset=utf-8"
    };
    static const char *const bad[] = { "",
                                       "text/plain",
                                       "application/x-www-form-urlencoded",
                                       "multipart/form-data; boundary=----x",
                                       "application/jsonp",
                                       "application/json-seq",
                                       "text/json",
                                       "application/*",
                                       "application/ json",
                                       "json" };
    for (size_t i = 0; i < SY_ARRAY_LEN(good); i++)
        if (!sy_pipeline_json_ctype(good[i]))
            fail_msg("'%s' refused", good[i]);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        if (sy_pipeline_json_ctype(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(sy_pipeline_json_ctype(NULL));
}

/* A body reader that counts its calls and can time out. */
static unsigned reads;
static enum sy_body_status next_status;
static const char *next_body; /* NULL: a small chat request */

static enum sy_body_status
fake_body(struct sy_req *r)
{
    reads++;
    if (next_status == SY_BODY_OK) {
        r->body = next_body != NULL
                      ? next_body
                      : "{\"model\":\"g\",\"messages\":[{\"role\":"
                        "\"user\",\"content\":\"hi\"}]}";
        r->body_len = strlen(r->body);
    }
    return next_status;
}

static int
serve(const char *method, const char *path, const char *ctype,
      const char *authz, enum sy_body_status st)
{
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &worker.arena;
    r.method = method;
    r.path = path;
    r.content_type = ctype;
    r.authorization = authz;
    r.read_body = fake_body;
    next_status = st;
    reads = 0;
    sy_buf_clear(&cap.out);
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);
    sy_arena_reset(&worker.arena);
    return sink.status;
}

static void
test_body_only_after_admission(void **state)
{
    (void)state;
    const char *key = "Bearer " CALLER;
    const char *admin = "Bearer " ADMIN;
    const char *json = "application/json";
    /* Refused callers and unknown paths: the body is never read. */
    assert_int_equal(
        serve("POST", "/v1/chat/completions", json, NULL, SY_BODY_OK), 401);
    assert_int_equal(reads, 0);
    assert_int_equal(serve("POST", "/v1/chat/completions", json,
                           "Bearer sk-wrong", SY_BODY_OK),
                     401);
    assert_int_equal(reads, 0);
    assert_int_equal(serve("POST", "/v1/elsewhere", json, key, SY_BODY_OK),
                     404);
    assert_int_equal(reads, 0);
    assert_int_equal(
        serve("POST", "/admin/keys", json, "Bearer sk-no", SY_BODY_OK), 401);
    assert_int_equal(reads, 0);
    /* Not JSON: 415 in the OpenAI format, unread. */
    assert_int_equal(
        serve("POST", "/v1/chat/completions", "text/plain", key, SY_BODY_OK),
        415);
    assert_int_equal(reads, 0);
    assert_non_null(
        strstr(sy_buf_cstr(&cap.out), "\"code\":\"unsupported_media_type\""));
    assert_int_equal(
        serve("POST", "/v1/chat/completions", NULL, key, SY_BODY_OK), 415);
    assert_int_equal(serve("POST", "/admin/keys",
                           "application/x-www-form-urlencoded", admin,
                           SY_BODY_OK),
                     415);
    assert_int_equal(reads, 0);
    /* Too slow: 408. */
    assert_int_equal(
        serve("POST", "/v1/chat/completions", json, key, SY_BODY_TIMEOUT), 408);
    assert_int_equal(reads, 1);
    assert_non_null(
        strstr(sy_buf_cstr(&cap.out), "\"type\":\"invalid_request_error\""));
    assert_non_null(
        strstr(sy_buf_cstr(&cap.out), "\"code\":\"request_timeout\""));
    /* Admitted and JSON: read once, then served (the provider is down). */
    int st = serve("POST", "/v1/chat/completions", json, key, SY_BODY_OK);
    assert_int_equal(reads, 1);
    assert_true(st >= 500);
    /* GET endpoints never read a body. */
    assert_int_equal(serve("GET", "/healthz", NULL, NULL, SY_BODY_OK), 200);
    assert_int_equal(reads, 0);
}

/* ------------------------------------------------------------------ */
/* Routes and error shapes                                             */

static bool
answered(const char *needle)
{
    return strstr(sy_buf_cstr(&cap.out), needle) != NULL;
}

/* A path under /v1/messages that mount.c refuses ("//", dot segments,
 * an encoded slash) is a 404 in Anthropic's shape; a known path asked
 * with a method it does not take is a 405 naming the ones it does. */
static void
test_route_shapes(void **state)
{
    (void)state;
    const char *key = "Bearer " CALLER;
    static const char *const raw[] = { "/v1/messages//count_tokens",
                                       "/v1/messages/./count_tokens",
                                       "/v1/messages%2Fcount_tokens",
                                       "/v1/messages//" };
    for (size_t i = 0; i < SY_ARRAY_LEN(raw); i++) {
        struct sy_mount_in in = { .request_uri = raw[i] };
        const char *path = NULL;
        assert_int_equal(
            sy_mount_path(&in, sy_pipeline_is_route, &worker.arena, &path),
            SY_MOUNT_BAD);
        assert_int_equal(
            serve("POST", path, "application/json", key, SY_BODY_OK), 404);
        if (!answered("\"type\":\"error\"") ||
            !answered("\"type\":\"not_found_error\""))
            fail_msg("%s: %s", raw[i], sy_buf_cstr(&cap.out));
    }
    /* Elsewhere the refused path stays an OpenAI 404. */
    struct sy_mount_in in = { .request_uri = "/v1/chat//completions" };
    const char *path = NULL;
    sy_mount_path(&in, sy_pipeline_is_route, &worker.arena, &path);
    assert_int_equal(serve("POST", path, "application/json", key, SY_BODY_OK),
                     404);
    assert_false(answered("\"type\":\"error\""));
    assert_true(answered("\"type\":\"invalid_request_error\""));

    assert_int_equal(serve("DELETE", "/v1/responses/resp_1/input_items", NULL,
                           key, SY_BODY_OK),
                     405);
    assert_true(answered("\r\nAllow: GET\r\n"));
    assert_int_equal(serve("POST", "/v1/responses/resp_1/input_items",
                           "application/json", key, SY_BODY_OK),
                     405);
    assert_true(answered("\r\nAllow: GET\r\n"));
    assert_int_equal(
        serve("PUT", "/v1/responses/resp_1", NULL, key, SY_BODY_OK), 405);
    assert_true(answered("\r\nAllow: GET, DELETE\r\n"));
    assert_int_equal(
        serve("GET", "/v1/messages/count_tokens", NULL, key, SY_BODY_OK), 405);
    assert_true(answered("\r\nAllow: POST\r\n"));
    assert_true(answered("\"type\":\"error\""));
    /* Paths under /v1/responses/{id} that are not routes: 404. */
    static const char *const unknown[] = { "/v1/responses/resp_1/other",
                                           "/v1/responses/resp_1/",
                                           "/v1/responses/resp_1/input_items/x",
                                           "/v1/responses//input_items" };
    for (size_t i = 0; i < SY_ARRAY_LEN(unknown); i++) {
        assert_int_equal(serve("DELETE", unknown[i], NULL, key, SY_BODY_OK),
                         404);
        assert_int_equal(serve("GET", unknown[i], NULL, key, SY_BODY_OK), 404);
    }
    assert_int_equal(reads, 0);
}

/* A Messages body with 'n' tools (the caller frees it). */
static char *
tools_body(size_t n)
{
    struct sy_buf b;
    sy_buf_init(&b, 1u << 20);
    sy_buf_printf(&b, "{\"model\":\"g\",\"max_tokens\":16,\"messages\":"
                      "[{\"role\":\"user\",\"content\":\"hi\"}],"
                      "\"tools\":[");
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(&b,
                      "%s{\"name\":\"t%zu\",\"input_schema\":{\"type\":"
                      "\"object\"}}",
                      i ? "," : "", i);
    sy_buf_printf(&b, "]}");
    char *out = sy_xstrdup(sy_buf_cstr(&b));
    sy_buf_free(&b);
    return out;
}

/* count_tokens refuses the tools /v1/messages refuses, with the same
 * error, and counts what it takes. */
static void
test_count_tokens_tools(void **state)
{
    (void)state;
    const char *key = "Bearer " CALLER;
    const char *json = "application/json";
    char *many = tools_body(SY_CHAT_MAX_TOOLS + 1);
    next_body = many;
    assert_int_equal(serve("POST", "/v1/messages", json, key, SY_BODY_OK), 400);
    char *refused = sy_xstrdup(strstr(sy_buf_cstr(&cap.out), "\r\n\r\n"));
    assert_int_equal(
        serve("POST", "/v1/messages/count_tokens", json, key, SY_BODY_OK), 400);
    assert_string_equal(strstr(sy_buf_cstr(&cap.out), "\r\n\r\n"), refused);
    assert_true(answered("\"type\":\"invalid_request_error\""));
    assert_true(answered("at most 128 tools"));
    free(refused);
    free(many);
    /* A tool without a name: refused by both, alike. */
    next_body = "{\"model\":\"g\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"hi\"}],\"tools\":[{\"input_schema\":"
                "{\"type\":\"object\"}}]}";
    assert_int_equal(
        serve("POST", "/v1/messages/count_tokens", json, key, SY_BODY_OK), 400);
    assert_true(answered("\"type\":\"error\""));
    char *full = tools_body(SY_CHAT_MAX_TOOLS);
    next_body = full;
    assert_int_equal(
        serve("POST", "/v1/messages/count_tokens", json, key, SY_BODY_OK), 200);
    assert_true(answered("\"input_tokens\":"));
    free(full);
    next_body = NULL;
}

/* ------------------------------------------------------------------ */
/* The request log                                                     */

static void
test_log_path_redaction(void **state)
{
    (void)state;
    char out[160];
    sy_pipeline_log_path("/v1/chat/completions", 401, out, sizeof(out));
    assert_string_equal(out, "/v1/chat/completions");
    sy_pipeline_log_path("/v1/models/g", 200, out, sizeof(out));
    assert_string_equal(out, "/v1/models/g");
    sy_pipeline_log_path("/v1/models/" CANARY, 404, out, sizeof(out));
    assert_string_equal(out, "/v1/models/(30 bytes)");
    sy_pipeline_log_path("/admin/keys/" CANARY, 401, out, sizeof(out));
    assert_string_equal(out, "/admin/keys/(30 bytes)");
    sy_pipeline_log_path("/" CANARY, 404, out, sizeof(out));
    assert_string_equal(out, "(unknown path, 31 bytes)");
}

static void
test_log_never_shows_canary(void **state)
{
    (void)state;
    char path[] = "/tmp/sy-guard-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    sy_log_set_level(SY_LOG_INFO);
    const char *key = "Bearer " CALLER;
    const char *admin = "Bearer " ADMIN;
    static const char *const paths[] = { "/v1/models/" CANARY,
                                         "/admin/keys/" CANARY, "/" CANARY,
                                         "/v1/" CANARY "/chat",
                                         "/v1/chat/completions/" CANARY };
    const char *auths[] = { NULL, "Bearer sk-wrong", key, admin };
    for (size_t i = 0; i < SY_ARRAY_LEN(paths); i++)
        for (size_t k = 0; k < SY_ARRAY_LEN(auths); k++) {
            serve("GET", paths[i], NULL, auths[k], SY_BODY_OK);
            serve("POST", paths[i], "application/json", auths[k], SY_BODY_OK);
            serve("DELETE", paths[i], NULL, auths[k], SY_BODY_OK);
        }
    sy_log_set_level(SY_LOG_ERROR);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1 << 16];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    buf[n] = '\0';
    /* Requests were logged, the canary never (nor a part of it). */
    assert_non_null(strstr(buf, "(30 bytes)"));
    assert_null(strstr(buf, "canary"));
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sy_log_set_level(SY_LOG_ERROR);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_head_always_ends_with_blank_line),
        T(test_json_content_type),
        T(test_body_only_after_admission),
        T(test_log_path_redaction),
        T(test_log_never_shows_canary),
        T(test_route_shapes),
        T(test_count_tokens_tools),
#undef T
    };
    return cmocka_run_group_tests_name("pipeline_guard", tests, group_setup,
                                       group_teardown);
}
