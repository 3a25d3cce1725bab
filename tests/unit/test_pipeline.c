/*
 * test_pipeline.c - unit tests for core/serve/pipeline.c (and core/io/worker.c):
 * sy_pipeline_handle driven with hand-made requests and a sink that
 * writes into a buffer. The config's deployments point at 127.0.0.1
 * port 1, which refuses connections, so no real network is involved:
 * routing, validation, request ids, the JSON error bodies, failover over
 * every deployment, /v1/models, /healthz and a caller that went away.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "serve/pipeline.h"
#include "config/config.h"
#include "base/log.h"
#include "api/req.h"
#include "api/sink.h"
#include "io/upstream.h"
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

#define SECRET "sk-pipeline-secret-0123456789abcdef"

#define TIMEOUTS                                                         \
    "'timeouts':{'connect_ms':2000,'first_byte_ms':5000,'idle_ms':5000," \
    "'total_ms':5000}"

static const char config_text[] =
    "{'server':{'max_body_bytes':2048,'trust_request_id':true},"
    "'providers':{"
    "'closed':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'auth':'none'},"
    "'keyed':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'api_key_env':['SYT_PIPE_KEY']},"
    "'nokey':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'api_key_env':['SYT_PIPE_UNSET']}},"
    "'deployments':{"
    "'dep-a':{'provider':'closed','model':'a'," TIMEOUTS "},"
    "'dep-b':{'provider':'keyed','model':'b'," TIMEOUTS "},"
    "'dep-off':{'provider':'nokey','model':'x'}},"
    "'groups':{"
    "'fail2':{'deployments':['dep-a','dep-b']},"
    "'one':{'deployments':['dep-a']},"
    "'dark':{'deployments':['dep-off']},"
    "'org/m':{'deployments':['dep-a']}}}";

/* ------------------------------------------------------------------ */
/* Fixture: config, worker, a capturing sink                           */

struct capture {
    struct sy_buf out;
    bool fail;         /* every write and flush fails (client gone) */
    size_t fail_after; /* if non-zero: writes fail past this many bytes */
    unsigned writes;
    unsigned flushes;
};

static enum sy_err
cap_write(void *io, const char *p, size_t n)
{
    struct capture *c = io;
    c->writes++;
    if (c->fail)
        return SY_EGONE;
    if (c->fail_after != 0 && c->out.len + n > c->fail_after)
        return SY_EGONE;
    return sy_buf_append(&c->out, p, n) == SY_OK ? SY_OK : SY_EGONE;
}

static enum sy_err
cap_flush(void *io)
{
    struct capture *c = io;
    c->flushes++;
    return c->fail ? SY_EGONE : SY_OK;
}

static const struct sy_sink_ops cap_ops = { cap_write, cap_flush };

static struct sy_config *cfg;
static struct sy_worker worker;
static atomic_bool draining;
static struct capture cap;
static struct sy_sink sink;

/* The parsed response of the last request. */
static int status;
static const char *head;        /* status and header lines */
static const char *body;        /* after the blank line */
static struct json_object *doc; /* body parsed as JSON, or NULL */

static struct sy_config *
load_config(const char *text_in)
{
    char *text = sy_xstrdup(text_in);
    for (char *q = text; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    struct sy_config *c = NULL;
    enum sy_err e =
        sy_config_load_string(text, strlen(text), "test", &c, &errs);
    free(text);
    if (e != SY_OK)
        fail_msg("test config refused:\n%s", sy_buf_cstr(&errs));
    sy_buf_free(&errs);
    return c;
}

static int
group_setup(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    setenv("SYT_PIPE_KEY", SECRET, 1);
    unsetenv("SYT_PIPE_UNSET");
    if (sy_upstream_global_init() != SY_OK)
        return -1;
    cfg = load_config(config_text);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
    unsetenv("SYT_PIPE_KEY");
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    draining = 0;
    sy_worker_init(&worker, cfg, 3, &draining);
    memset(&cap, 0, sizeof(cap));
    sy_buf_init(&cap.out, 1u << 20);
    doc = NULL;
    return 0;
}

/* fd 2 while a test captures the log (-1 otherwise); restored in
 * teardown too, so a failing assertion's message is not swallowed. */
static int saved_stderr = -1;

static void
restore_stderr(void)
{
    if (saved_stderr >= 0) {
        fflush(stderr);
        dup2(saved_stderr, 2);
        close(saved_stderr);
        saved_stderr = -1;
    }
}

static int
teardown(void **state)
{
    (void)state;
    restore_stderr();
    json_object_put(doc);
    doc = NULL;
    sy_buf_free(&cap.out);
    sy_worker_cleanup(&worker);
    sy_log_set_level(SY_LOG_ERROR);
    return 0;
}

/* Serve one request and split the response into status, head, body. */
static void
serve(const char *method, const char *path, const char *req_body,
      const char *req_id)
{
    /* What the server does between two requests. */
    json_object_put(doc);
    doc = NULL;
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    struct sy_arena *a = &worker.arena;
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = a;
    r.method = method ? sy_arena_strdup(a, method) : NULL;
    r.path = path ? sy_arena_strdup(a, path) : NULL;
    r.content_type = "application/json";
    r.request_id_in = req_id;
    r.remote_addr = "127.0.0.1";
    if (req_body != NULL) {
        char *b = sy_arena_strdup(a, req_body);
        for (char *q = b; *q; q++)
            if (*q == '\'')
                *q = '"';
        r.body = b;
        r.body_len = strlen(b);
    }
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);

    status = 0;
    head = body = NULL;
    if (cap.fail)
        return;
    const char *t = sy_buf_cstr(&cap.out);
    const char *end = strstr(t, "\r\n\r\n");
    if (end == NULL)
        fail_msg("no end of headers in:\n%s", t);
    head = sy_arena_strndup(a, t, (size_t)(end - t) + 2);
    body = sy_arena_strdup(a, end + 4);
    if (sscanf(head, "Status: %d ", &status) != 1)
        fail_msg("no Status line in:\n%s", head);
    assert_int_equal(sink.status, status);
    assert_true(sink.headers_sent);
    doc = json_tokener_parse(body);
}

/* The value of header 'name' (case-insensitive), or NULL. */
static const char *
hdr(const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (const char *p = head; p != NULL && *p;) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 &&
            p[n] == ':') {
            if (found != NULL)
                fail_msg("header %s appears twice", name);
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            found = sy_arena_strndup(&worker.arena, v, (size_t)(eol - v));
        }
        p = eol + 2;
    }
    return found;
}

static struct json_object *
get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        fail_msg("no \"%s\" in %s", key, body ? body : "(null)");
    return v;
}

/* Check an OpenAI error response. NULL 'param'/'code' mean JSON null;
 * 'msg' is a substring of the message (or NULL). */
static void
expect_error(int want_status, const char *type, const char *code,
             const char *param, const char *msg)
{
    if (status != want_status)
        fail_msg("status %d, expected %d; body: %s", status, want_status, body);
    assert_string_equal(hdr("Content-Type"), "application/json");
    if (doc == NULL)
        fail_msg("body is not JSON: %s", body);
    assert_int_equal(json_object_object_length(doc), 1);
    struct json_object *e = get(doc, "error");
    assert_string_equal(json_object_get_string(get(e, "type")), type);
    struct json_object *c = get(e, "code");
    if (code == NULL)
        assert_null(c);
    else
        assert_string_equal(json_object_get_string(c), code);
    struct json_object *p = get(e, "param");
    if (param == NULL)
        assert_null(p);
    else
        assert_string_equal(json_object_get_string(p), param);
    const char *m = json_object_get_string(get(e, "message"));
    if (msg != NULL && strstr(m, msg) == NULL)
        fail_msg("message '%s' does not contain '%s'", m, msg);
}

static bool
is_generated_id(const char *id)
{
    if (id == NULL || strncmp(id, "req_", 4) != 0 || strlen(id) != 20)
        return false;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* Routing                                                             */

static void
test_unknown_path(void **state)
{
    (void)state;
    serve("GET", "/v1/nope", NULL, NULL);
    expect_error(404, "invalid_request_error", "not_found", NULL,
                 "unknown path /v1/nope");
    assert_non_null(strstr(head, "Status: 404 Not Found\r\n"));
    assert_true(is_generated_id(hdr("x-request-id")));
    /* Nothing was tried. */
    assert_null(hdr("x-switchyard-attempts"));
    assert_null(hdr("x-switchyard-deployment"));
    serve("POST", "/v1/chat/completions/extra", "{}", NULL);
    expect_error(404, "invalid_request_error", "not_found", NULL, NULL);
    serve("GET", "/", NULL, NULL);
    expect_error(404, "invalid_request_error", "not_found", NULL, NULL);
    /* "/v1/models/" with nothing after it is not a model lookup. */
    serve("GET", "/v1/models/", NULL, NULL);
    expect_error(404, "invalid_request_error", "not_found", NULL, NULL);
    /* A request without method or path (defensive defaults). */
    serve(NULL, NULL, NULL, NULL);
    expect_error(404, "invalid_request_error", "not_found", NULL, NULL);
}

static void
test_wrong_method(void **state)
{
    (void)state;
    serve("GET", "/v1/chat/completions", NULL, NULL);
    expect_error(405, "invalid_request_error", "method_not_allowed", NULL,
                 "method GET is not allowed on /v1/chat/completions");
    assert_non_null(strstr(head, "Status: 405 Method Not Allowed\r\n"));
    assert_true(is_generated_id(hdr("x-request-id")));
    serve("POST", "/v1/models", "{}", NULL);
    expect_error(405, "invalid_request_error", "method_not_allowed", NULL,
                 NULL);
    serve("DELETE", "/healthz", NULL, NULL);
    expect_error(405, "invalid_request_error", "method_not_allowed", NULL,
                 NULL);
    serve("post", "/v1/chat/completions", "{}", NULL);
    expect_error(405, "invalid_request_error", "method_not_allowed", NULL,
                 NULL);
}

static void
test_405_has_allow_header(void **state)
{
    (void)state;
    /* RFC 9110 section 15.5.6: a 405 response MUST carry Allow. */
    serve("GET", "/v1/chat/completions", NULL, NULL);
    assert_int_equal(status, 405);
    const char *allow = hdr("Allow");
    if (allow == NULL)
        fail_msg("405 without an Allow header:\n%s", head);
    assert_non_null(strstr(allow, "POST"));
    serve("POST", "/v1/models", "{}", NULL);
    allow = hdr("Allow");
    assert_non_null(allow);
    assert_non_null(strstr(allow, "GET"));
}

/* ------------------------------------------------------------------ */
/* Chat completions: errors before any upstream call                   */

static void
test_invalid_json(void **state)
{
    (void)state;
    serve("POST", "/v1/chat/completions", "{'model':", NULL);
    expect_error(400, "invalid_request_error", NULL, NULL, "not valid JSON");
    assert_non_null(strstr(head, "Status: 400 Bad Request\r\n"));
    assert_null(hdr("x-switchyard-attempts"));
    /* No body at all. */
    serve("POST", "/v1/chat/completions", NULL, NULL);
    expect_error(400, "invalid_request_error", NULL, NULL, "empty");
    /* Validation errors name the parameter. */
    serve("POST", "/v1/chat/completions", "{'model':'one','messages':[]}",
          NULL);
    expect_error(400, "invalid_request_error", NULL, "messages", NULL);
    serve("POST", "/v1/chat/completions",
          "{'model':'one','messages':[{'role':'user','content':'x'}],"
          "'temperature':7}",
          NULL);
    expect_error(400, "invalid_request_error", NULL, "temperature", NULL);
}

static void
test_body_too_big(void **state)
{
    (void)state;
    json_object_put(doc);
    doc = NULL;
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &worker.arena;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.body_too_big = true;
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);
    const char *t = sy_buf_cstr(&cap.out);
    const char *end = strstr(t, "\r\n\r\n");
    assert_non_null(end);
    head = sy_arena_strndup(&worker.arena, t, (size_t)(end - t) + 2);
    body = end + 4;
    doc = json_tokener_parse(body);
    assert_int_equal(sscanf(head, "Status: %d", &status), 1);
    expect_error(413, "invalid_request_error", "request_too_large", NULL,
                 "larger than the limit of 2048 bytes");
    assert_non_null(strstr(head, "Status: 413 Payload Too Large\r\n"));
}

static void
test_unknown_model(void **state)
{
    (void)state;
    serve("POST", "/v1/chat/completions",
          "{'model':'gpt-17','messages':[{'role':'user','content':'x'}]}",
          NULL);
    expect_error(404, "invalid_request_error", "model_not_found", "model",
                 "The model 'gpt-17' does not exist");
    assert_null(hdr("x-switchyard-attempts"));
    /* Deployment names are not model names. */
    serve("POST", "/v1/chat/completions",
          "{'model':'dep-a','messages':[{'role':'user','content':'x'}]}", NULL);
    expect_error(404, "invalid_request_error", "model_not_found", "model",
                 NULL);
}

static void
test_no_active_deployment(void **state)
{
    (void)state;
    serve("POST", "/v1/chat/completions",
          "{'model':'dark','messages':[{'role':'user','content':'x'}]}", NULL);
    expect_error(503, "server_error", "no_deployment_available", "model",
                 "no deployment of model 'dark' is available");
    assert_non_null(strstr(head, "Status: 503 Service Unavailable\r\n"));
    assert_null(hdr("x-switchyard-attempts"));
}

/* ------------------------------------------------------------------ */
/* Chat completions: every deployment fails to connect                 */

static void
test_all_deployments_fail(void **state)
{
    (void)state;
    serve("POST", "/v1/chat/completions",
          "{'model':'fail2','messages':[{'role':'user','content':'x'}]}", NULL);
    expect_error(502, "upstream_error", "upstream_connect_failed", NULL,
                 "all 2 deployments of model 'fail2' failed: ");
    assert_non_null(strstr(head, "Status: 502 Bad Gateway\r\n"));
    const char *m = json_object_get_string(get(get(doc, "error"), "message"));
    /* Each deployment is named, in the order tried. */
    const char *a = strstr(m, "dep-a: ");
    const char *b = strstr(m, "dep-b: ");
    if (a == NULL || b == NULL || a > b)
        fail_msg("message does not name dep-a then dep-b: %s", m);
    assert_string_equal(hdr("x-switchyard-attempts"), "2");
    assert_string_equal(hdr("x-switchyard-deployment"), "dep-b");
    assert_string_equal(hdr("x-switchyard-provider"), "keyed");
    assert_true(is_generated_id(hdr("x-request-id")));
    /* The provider key never reaches the caller. */
    assert_null(strstr(sy_buf_cstr(&cap.out), SECRET));
    assert_null(strstr(sy_buf_cstr(&cap.out), "Authorization"));

    /* One deployment. */
    serve("POST", "/v1/chat/completions",
          "{'model':'one','messages':[{'role':'user','content':'x'}]}", NULL);
    expect_error(502, "upstream_error", "upstream_connect_failed", NULL,
                 "all 1 deployment of model 'one' failed: dep-a: ");
    assert_string_equal(hdr("x-switchyard-attempts"), "1");
    assert_string_equal(hdr("x-switchyard-deployment"), "dep-a");
    assert_string_equal(hdr("x-switchyard-provider"), "closed");

    /* Streaming requests fail the same way while nothing was sent. */
    serve("POST", "/v1/chat/completions",
          "{'model':'fail2','stream':true,'stream_options':"
          "{'include_usage':true},'messages':[{'role':'user',"
          "'content':'x'}]}",
          NULL);
    expect_error(502, "upstream_error", "upstream_connect_failed", NULL,
                 "all 2 deployments");
    assert_string_equal(hdr("x-switchyard-attempts"), "2");
    assert_null(strstr(body, "data:"));
}

static void
test_failures_are_logged_without_secrets(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_DEBUG);
    fflush(stderr);
    FILE *logf = tmpfile();
    assert_non_null(logf);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fileno(logf), 2) >= 0);
    serve("POST", "/v1/chat/completions",
          "{'model':'fail2','messages':[{'role':'user','content':'x'}]}",
          "trace-me-42");
    restore_stderr();
    char text[16384];
    rewind(logf);
    size_t n = fread(text, 1, sizeof(text) - 1, logf);
    text[n] = '\0';
    fclose(logf);
    assert_int_equal(status, 502);
    /* Logged once per failed deployment and once for the request, with
     * the request id and the trace id (new: the request sent no
     * traceparent); the key never. */
    assert_non_null(strstr(text, "req trace-me-42 trace "));
    assert_non_null(strstr(text, ": deployment dep-a failed (SY_EUP_CONNECT)"));
    assert_non_null(strstr(text, ": deployment dep-b failed (SY_EUP_CONNECT)"));
    assert_non_null(strstr(text, "POST /v1/chat/completions 502 dep=dep-b "
                                 "attempts=2"));
    if (strstr(text, SECRET) != NULL || strstr(text, "sk-pipeline") != NULL)
        fail_msg("the provider key was logged:\n%s", text);
}

/* ------------------------------------------------------------------ */
/* Models and health                                                   */

static void
test_models(void **state)
{
    (void)state;
    serve("GET", "/v1/models", NULL, NULL);
    assert_int_equal(status, 200);
    assert_non_null(strstr(head, "Status: 200 OK\r\n"));
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(get(doc, "object")), "list");
    struct json_object *data = get(doc, "data");
    assert_true(json_object_is_type(data, json_type_array));
    /* Every group, in config order, whatever its route. */
    static const char *const ids[] = { "fail2", "one", "dark", "org/m" };
    assert_int_equal(json_object_array_length(data), SY_ARRAY_LEN(ids));
    for (size_t i = 0; i < SY_ARRAY_LEN(ids); i++) {
        struct json_object *m = json_object_array_get_idx(data, i);
        assert_string_equal(json_object_get_string(get(m, "id")), ids[i]);
        assert_string_equal(json_object_get_string(get(m, "object")), "model");
        assert_string_equal(json_object_get_string(get(m, "owned_by")),
                            "switchyard");
    }
    /* Deployments are not listed. */
    assert_null(strstr(body, "dep-a"));
    /* The query string is not part of the path (fcgi/request.c strips
     * it); HEAD is served like GET. */
    serve("HEAD", "/v1/models", NULL, NULL);
    assert_int_equal(status, 200);

    serve("GET", "/v1/models/one", NULL, NULL);
    assert_int_equal(status, 200);
    assert_string_equal(json_object_get_string(get(doc, "id")), "one");
    assert_string_equal(json_object_get_string(get(doc, "object")), "model");
    serve("GET", "/v1/models/nope", NULL, NULL);
    expect_error(404, "invalid_request_error", "model_not_found", "model",
                 "The model 'nope' does not exist");
}

/* Issue 13: client.models.retrieve('org/m') sends "org%2Fm", and a server
 * that keeps encoded slashes (Apache NoDecode) passes it on in PATH_INFO
 * as it is: the model id decodes %2F and %5C, and only those. */
static void
test_model_encoded_slash(void **state)
{
    (void)state;
    static const char *const found[] = { "/v1/models/org%2Fm",
                                         "/v1/models/org%2fm",
                                         "/v1/models/org/m" };
    for (size_t i = 0; i < SY_ARRAY_LEN(found); i++) {
        serve("GET", found[i], NULL, NULL);
        assert_int_equal(status, 200);
        assert_string_equal(json_object_get_string(get(doc, "id")), "org/m");
    }
    serve("GET", "/v1/models/org%5Cm", NULL, NULL);
    expect_error(404, "invalid_request_error", "model_not_found", "model",
                 "The model 'org\\m' does not exist");
    /* Other escapes, bad or cut-off ones stay as they are. */
    static const struct {
        const char *seg, *shown;
    } kept[] = { { "org%6Dm", "org%6Dm" },
                 { "org%2", "org%2" },
                 { "org%", "org%" },
                 { "org%zFm", "org%zFm" },
                 { "org%%2Fm", "org%/m" } };
    for (size_t i = 0; i < SY_ARRAY_LEN(kept); i++) {
        char path[64], msg[96];
        snprintf(path, sizeof(path), "/v1/models/%s", kept[i].seg);
        snprintf(msg, sizeof(msg), "The model '%s' does not exist",
                 kept[i].shown);
        serve("GET", path, NULL, NULL);
        expect_error(404, "invalid_request_error", "model_not_found", "model",
                     msg);
    }
}

static void
test_healthz(void **state)
{
    (void)state;
    serve("GET", "/healthz", NULL, NULL);
    assert_int_equal(status, 200);
    assert_non_null(doc);
    assert_string_equal(json_object_get_string(get(doc, "status")), "ok");
    assert_string_equal(json_object_get_string(get(doc, "version")),
                        SY_VERSION);
    draining = 1;
    serve("GET", "/healthz", NULL, NULL);
    assert_int_equal(status, 503);
    assert_non_null(strstr(head, "Status: 503 Service Unavailable\r\n"));
    assert_string_equal(json_object_get_string(get(doc, "status")), "draining");
    draining = 0;
    serve("GET", "/healthz", NULL, NULL);
    assert_int_equal(status, 200);
    /* A worker without a drain flag is never draining. */
    sy_worker_cleanup(&worker);
    sy_worker_init(&worker, cfg, 4, NULL);
    serve("GET", "/healthz", NULL, NULL);
    assert_int_equal(status, 200);
}

/* ------------------------------------------------------------------ */
/* Request ids                                                         */

static void
test_request_id(void **state)
{
    (void)state;
    /* A well-formed id from a trusted front is reused. */
    serve("GET", "/healthz", NULL, "abc-123_X.y");
    assert_string_equal(hdr("x-request-id"), "abc-123_X.y");
    char id64[65];
    memset(id64, 'a', 64);
    id64[64] = '\0';
    serve("GET", "/healthz", NULL, id64);
    assert_string_equal(hdr("x-request-id"), id64);
    /* Anything else is replaced by a generated one. */
    static const char *const bad[] = {
        "",
        "has space",
        "semi;colon",
        "x\r\nSet-Cookie: a=b",
        "\xc3\xa9t\xc3\xa9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        serve("GET", "/healthz", NULL, bad[i]);
        const char *id = hdr("x-request-id");
        if (!is_generated_id(id))
            fail_msg("id '%s' for input '%s'", id ? id : "(none)", bad[i]);
        assert_null(strstr(head, "Set-Cookie"));
    }
    /* Generated ids differ from request to request. */
    serve("GET", "/healthz", NULL, NULL);
    char first[32];
    snprintf(first, sizeof(first), "%s", hdr("x-request-id"));
    serve("GET", "/healthz", NULL, NULL);
    assert_true(is_generated_id(first));
    assert_string_not_equal(first, hdr("x-request-id"));
    /* The same 8-hex prefix (the worker's), a different counter. */
    assert_memory_equal(first, hdr("x-request-id"), 12);
    /* Error responses carry the caller's id too. */
    serve("GET", "/nope", NULL, "trace-7");
    assert_int_equal(status, 404);
    assert_string_equal(hdr("x-request-id"), "trace-7");
}

static void
test_request_id_untrusted(void **state)
{
    (void)state;
    struct sy_config *strict = load_config(
        "{'server':{'trust_request_id':false},'providers':{'closed':"
        "{'type':'openai','base_url':'http://127.0.0.1:1','auth':'none'}},"
        "'deployments':{'d':{'provider':'closed','model':'m'}},"
        "'groups':{'g':{'deployments':['d']}}}");
    sy_worker_cleanup(&worker);
    sy_worker_init(&worker, strict, 5, &draining);
    serve("GET", "/healthz", NULL, "abc-123");
    assert_true(is_generated_id(hdr("x-request-id")));
    sy_worker_cleanup(&worker);
    sy_config_free(strict);
    sy_worker_init(&worker, cfg, 3, &draining);
}

/* ------------------------------------------------------------------ */
/* A caller that went away                                             */

static void
test_gone_caller(void **state)
{
    (void)state;
    cap.fail = true;
    static const struct {
        const char *method;
        const char *path;
        const char *body;
    } reqs[] = {
        { "GET", "/nope", NULL },
        { "GET", "/v1/chat/completions", NULL },
        { "GET", "/v1/models", NULL },
        { "GET", "/v1/models/one", NULL },
        { "GET", "/healthz", NULL },
        { "POST", "/v1/chat/completions", "{'model':" },
        { "POST", "/v1/chat/completions",
          "{'model':'nope','messages':[{'role':'user','content':'x'}]}" },
        { "POST", "/v1/chat/completions",
          "{'model':'fail2','messages':[{'role':'user','content':'x'}]}" },
        { "POST", "/v1/chat/completions",
          "{'model':'fail2','stream':true,'messages':[{'role':'user',"
          "'content':'x'}]}" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(reqs); i++) {
        cap.writes = 0;
        serve(reqs[i].method, reqs[i].path, reqs[i].body, NULL);
        /* The failure was noticed, and later writes were skipped. */
        assert_true(sink.gone);
        assert_int_equal(cap.writes, 1);
        assert_int_equal(cap.out.len, 0);
    }
    /* Headers go out, then the body write fails. */
    cap.fail = false;
    cap.fail_after = 40;
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &worker.arena;
    r.method = "GET";
    r.path = "/v1/models";
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);
    assert_true(sink.gone);
    /* The worker serves the next caller normally. */
    cap.fail_after = 0;
    serve("GET", "/healthz", NULL, NULL);
    assert_int_equal(status, 200);
    assert_false(sink.gone);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_unknown_path),
        T(test_wrong_method),
        T(test_405_has_allow_header),
        T(test_invalid_json),
        T(test_body_too_big),
        T(test_unknown_model),
        T(test_no_active_deployment),
        T(test_all_deployments_fail),
        T(test_failures_are_logged_without_secrets),
        T(test_models),
        T(test_model_encoded_slash),
        T(test_healthz),
        T(test_request_id),
        T(test_request_id_untrusted),
        T(test_gone_caller),
#undef T
    };
    return cmocka_run_group_tests_name("pipeline", tests, group_setup,
                                       group_teardown);
}
