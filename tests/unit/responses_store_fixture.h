/*
 * responses_store_fixture.h - what the conversation-store tests share: a
 * throwaway redis-server for the group (redis_harness.h), and a worker of
 * pipeline_fixture.h whose store is that server, with two caller keys
 * (alice, bob), prepare()/keep() around core/serve/pipeline_responses.c
 * and http() through the routes. Define RESPONSES_TEST_NAME (the Redis
 * directory's name) before including it, once per test program.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_RESPONSES_STORE_FIXTURE_H
#define SY_TESTS_UNIT_RESPONSES_STORE_FIXTURE_H

#include "redis_harness.h"
#include "pipeline_fixture.h"
#include "serve/pipeline_int.h"
#include "state/keys.h"
#include "state/responses.h"

static struct redis_srv srv;

SY_UNUSED static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, RESPONSES_TEST_NAME);
}

SY_UNUSED static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                        */

#define KEY_ALICE "sk-resp-alice-0123456789abcdef"
#define KEY_BOB   "sk-resp-bob-0123456789abcdef"

static const char config_text[] =
    "{'keys':{'alice':{'key_env':'SYT_RESP_ALICE'},"
    "'bob':{'key_env':'SYT_RESP_BOB'}},"
    "'providers':{'p':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'auth':'none'}},"
    "'deployments':{'d':{'provider':'p','model':'m'}},"
    "'groups':{'g':{'deployments':['d']}}}";

static struct sy_config *cfg;
static struct pctx pc;
static struct sy_req preq;

SY_UNUSED static int
setup(void **state)
{
    (void)state;
    setenv("SYT_RESP_ALICE", KEY_ALICE, 1);
    setenv("SYT_RESP_BOB", KEY_BOB, 1);
    cfg = load_config(config_text);
    worker_start(cfg);
    if (have_redis)
        worker.store = store_on(srv.port, NULL);
    return 0;
}

SY_UNUSED static int
teardown(void **state)
{
    (void)state;
    worker_stop();
    sy_config_free(cfg);
    cfg = NULL;
    return 0;
}

SY_UNUSED static const struct sy_caller_key *
key_named(const char *name)
{
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (strcmp(cfg->keys[i].name, name) == 0)
            return &cfg->keys[i];
    fail_msg("no key %s", name);
    return NULL;
}

/* Split what the sink got into status, head, body and doc. */
SY_UNUSED static void
split(void)
{
    json_object_put(doc);
    doc = NULL;
    status = 0;
    const char *t = sy_buf_cstr(&cap.out);
    const char *end = strstr(t, "\r\n\r\n");
    if (end == NULL)
        return;
    head = sy_arena_strndup(&worker.arena, t, (size_t)(end - t) + 2);
    body = sy_arena_strdup(&worker.arena, end + 4);
    assert_int_equal(sscanf(head, "Status: %d ", &status), 1);
    doc = json_tokener_parse(body);
}

/* sy_pipeline_responses_prepare on 'json' (' for ") as caller 'who'. */
SY_UNUSED static bool
prepare(const char *who, const char *json)
{
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    memset(&pc, 0, sizeof(pc));
    memset(&preq, 0, sizeof(preq));
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    char *b = sy_arena_strdup(&worker.arena, json);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    preq.arena = &worker.arena;
    preq.method = "POST";
    preq.path = "/v1/responses";
    preq.body = b;
    preq.body_len = strlen(b);
    pc.w = &worker;
    pc.r = &preq;
    pc.s = &sink;
    pc.request_id = "req_test";
    pc.surface = &sy_surface_chat;
    pc.led.ck = key_named(who);
    bool ok = sy_pipeline_responses_prepare(&pc);
    split();
    return ok;
}

/* keep() the response 'json' (' for ") of the last prepare(). */
SY_UNUSED static void
keep(const char *json)
{
    char *b = sy_arena_strdup(&worker.arena, json);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    sy_pipeline_responses_keep(&pc, b, strlen(b));
}

/* The query string of the next http() calls, or NULL. */
static const char *http_query;

/* 'method' 'path' through the routes, with the key of 'who'. */
SY_UNUSED static void
http(const char *method, const char *path, const char *key)
{
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &worker.arena;
    r.method = method;
    r.path = path;
    r.query = http_query;
    r.authorization = sy_arena_printf(&worker.arena, "Bearer %s", key);
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);
    split();
}

SY_UNUSED static const char *
str_at(struct json_object *o, const char *key)
{
    struct json_object *v = jget(o, key);
    return v != NULL ? json_object_get_string(v) : NULL;
}

/* What the body's "input" became, as an array. */
SY_UNUSED static struct json_object *
body_input(struct json_object **root)
{
    *root = json_tokener_parse(pc.r->body);
    assert_non_null(*root);
    return jget(*root, "input");
}

#define RESP1                                                                \
    "{'id':'resp_1','object':'response','status':'completed','output':["     \
    "{'type':'reasoning','id':'rs_1','summary':[],'encrypted_content':'E'}," \
    "{'type':'message','id':'msg_1','status':'completed','role':"            \
    "'assistant','content':[{'type':'output_text','text':'Let me look.',"    \
    "'annotations':[]}]},"                                                   \
    "{'type':'function_call','id':'fc_1','call_id':'call_1','name':"         \
    "'weather','arguments':'{}','status':'completed'}]}"

/* The error's param of the last answer ("" for null). */
SY_UNUSED static const char *
err_param(void)
{
    struct json_object *e = jget(doc, "error");
    assert_non_null(e);
    const char *p = str_at(e, "param");
    return p != NULL ? p : "";
}

/* A body of 'n' one-letter user items (3 counted values each), with
 * 'prev' as previous_response_id when not NULL; malloc'd (prepare()
 * resets the arena). */
SY_UNUSED static char *
items_body(size_t n, const char *prev)
{
    struct sy_buf b;
    sy_buf_init(&b, 4u << 20);
    sy_buf_puts(&b, "{'model':'g',");
    if (prev != NULL)
        sy_buf_printf(&b, "'previous_response_id':'%s',", prev);
    sy_buf_puts(&b, "'input':[");
    for (size_t i = 0; i < n; i++)
        sy_buf_puts(&b, i ? ",{'role':'user','content':'a'}"
                          : "{'role':'user','content':'a'}");
    sy_buf_puts(&b, "]}");
    assert_false(sy_buf_failed(&b));
    char *r = sy_xstrdup(sy_buf_cstr(&b));
    sy_buf_free(&b);
    return r;
}

#endif
