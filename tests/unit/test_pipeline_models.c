/*
 * test_pipeline_models.c - /v1/models and /v1/models/{id} in the shape of
 * the caller's SDK (core/serve/pipeline_endpoints.c): OpenAI's list and
 * model objects, Anthropic's ModelInfo page when an anthropic-version
 * header came; model ids that only a group alias knows (a dated Claude
 * id) retrieved and routed; the listing limited by a caller key.
 * SPDX-License-Identifier: MIT
 */
#include "pipeline_fixture.h"

#define KEY_ALL   "sk-models-all-0123456789abcdef"
#define KEY_SMALL "sk-models-small-0123456789abcdef"
#define KEY_NONE  "sk-models-none-0123456789abcdef"

#define GROUPS                                                     \
    "'groups':{"                                                   \
    "'big':{'deployments':['da'],'aliases':['claude-sonnet-*',"    \
    "'claude-opus-*']},"                                           \
    "'small':{'deployments':['db'],'aliases':['claude-haiku-*']}," \
    "'org/m':{'deployments':['da']}}"
#define PROVIDERS_DEPLOYMENTS                                               \
    "'providers':{'p':{'type':'openai','base_url':'http://127.0.0.1:1/v1'," \
    "'auth':'none'}},"                                                      \
    "'deployments':{'da':{'provider':'p','model':'m-big'},"                 \
    "'db':{'provider':'p','model':'m-small'}},"

static const char open_config[] = "{" PROVIDERS_DEPLOYMENTS GROUPS "}";
static const char keyed_config[] =
    "{'keys':{'all':{'key_env':'SYT_MODELS_ALL'},"
    "'small':{'key_env':'SYT_MODELS_SMALL','models':['small']},"
    "'none':{'key_env':'SYT_MODELS_NONE','models':['nothing']}}"
    "," PROVIDERS_DEPLOYMENTS GROUPS "}";

static struct sy_config *cfg;

static int
setup(void **state)
{
    (void)state;
    cfg = load_config(open_config);
    worker_start(cfg);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    worker_stop();
    sy_config_free(cfg);
    cfg = NULL;
    return 0;
}

/* 'method' 'path' (an anthropic-version header when 'av' is set, a
 * bearer 'key' when set; 'json' as body, ' for "), split as serve_raw
 * does. */
static void
call(const char *method, const char *path, const char *av, const char *key,
     const char *json)
{
    json_object_put(doc);
    doc = NULL;
    sy_arena_reset(&worker.arena);
    sy_buf_clear(&cap.out);
    struct sy_arena *a = &worker.arena;
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = a;
    r.method = method;
    r.path = path;
    r.remote_addr = "127.0.0.1";
    r.anthropic_version = av;
    if (key != NULL)
        r.authorization = sy_arena_printf(a, "Bearer %s", key);
    if (json != NULL) {
        char *b = sy_arena_strdup(a, json);
        for (char *q = b; *q; q++)
            if (*q == '\'')
                *q = '"';
        r.content_type = "application/json";
        r.body = b;
        r.body_len = strlen(b);
    }
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &cap;
    sy_pipeline_handle(&worker, &r, &sink);
    const char *t = sy_buf_cstr(&cap.out);
    const char *end = strstr(t, "\r\n\r\n");
    if (end == NULL)
        fail_msg("no end of headers in:\n%s", t);
    head = sy_arena_strndup(a, t, (size_t)(end - t) + 2);
    body = sy_arena_strdup(a, end + 4);
    if (sscanf(head, "Status: %d ", &status) != 1)
        fail_msg("no Status line in:\n%s", head);
    doc = json_tokener_parse(body);
    assert_non_null(doc);
}

static const char *
str(struct json_object *o, const char *key)
{
    struct json_object *v = jget(o, key);
    if (v == NULL || !json_object_is_type(v, json_type_string))
        fail_msg("no string \"%s\" in %s", key, body);
    return json_object_get_string(v);
}

/* One Anthropic ModelInfo: every field its SDK types name. */
static void
expect_anthropic_model(struct json_object *m, const char *id)
{
    assert_string_equal(str(m, "type"), "model");
    assert_string_equal(str(m, "id"), id);
    assert_string_equal(str(m, "display_name"), id);
    assert_string_equal(str(m, "created_at"), "1970-01-01T00:00:00Z");
    assert_string_equal(str(m, "lifecycle"), "active");
    static const char *const nulls[] = {
        "capabilities", "deprecated_at",    "line",
        "max_tokens",   "max_input_tokens", "retires_at"
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(nulls); i++) {
        struct json_object *v = NULL;
        assert_true(json_object_object_get_ex(m, nulls[i], &v));
        assert_null(v);
    }
    assert_null(jget(m, "object"));
}

static void
test_list_openai_shape(void **state)
{
    (void)state;
    call("GET", "/v1/models", NULL, NULL, NULL);
    assert_int_equal(status, 200);
    assert_string_equal(str(doc, "object"), "list");
    assert_null(jget(doc, "has_more"));
    struct json_object *data = jget(doc, "data");
    static const char *const ids[] = { "big", "small", "org/m" };
    assert_int_equal(json_object_array_length(data), SY_ARRAY_LEN(ids));
    for (size_t i = 0; i < SY_ARRAY_LEN(ids); i++) {
        struct json_object *m = json_object_array_get_idx(data, i);
        assert_string_equal(str(m, "id"), ids[i]);
        assert_string_equal(str(m, "object"), "model");
        assert_null(jget(m, "type"));
    }
    /* Aliases are names a group answers to, not models of their own. */
    assert_null(strstr(body, "claude-"));
}

static void
test_list_anthropic_shape(void **state)
{
    (void)state;
    call("GET", "/v1/models", "2023-06-01", NULL, NULL);
    assert_int_equal(status, 200);
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_null(jget(doc, "object"));
    struct json_object *data = jget(doc, "data");
    static const char *const ids[] = { "big", "small", "org/m" };
    assert_int_equal(json_object_array_length(data), SY_ARRAY_LEN(ids));
    for (size_t i = 0; i < SY_ARRAY_LEN(ids); i++)
        expect_anthropic_model(json_object_array_get_idx(data, i), ids[i]);
    assert_true(json_object_is_type(jget(doc, "has_more"), json_type_boolean));
    assert_false(json_object_get_boolean(jget(doc, "has_more")));
    assert_string_equal(str(doc, "first_id"), "big");
    assert_string_equal(str(doc, "last_id"), "org/m");
}

static void
test_retrieve_shapes_and_aliases(void **state)
{
    (void)state;
    call("GET", "/v1/models/small", "2023-06-01", NULL, NULL);
    assert_int_equal(status, 200);
    expect_anthropic_model(doc, "small");
    /* A dated id a pattern takes: answered under that id, both shapes. */
    call("GET", "/v1/models/claude-sonnet-4-5-20250929", "2023-06-01", NULL,
         NULL);
    assert_int_equal(status, 200);
    expect_anthropic_model(doc, "claude-sonnet-4-5-20250929");
    call("GET", "/v1/models/claude-opus-4-1-20250805", NULL, NULL, NULL);
    assert_int_equal(status, 200);
    assert_string_equal(str(doc, "id"), "claude-opus-4-1-20250805");
    assert_string_equal(str(doc, "object"), "model");
    call("GET", "/v1/models/org%2Fm", "2023-06-01", NULL, NULL);
    assert_int_equal(status, 200);
    expect_anthropic_model(doc, "org/m");
    /* Not found: Anthropic's error shape for Anthropic callers. */
    call("GET", "/v1/models/claude-nope", "2023-06-01", NULL, NULL);
    assert_int_equal(status, 404);
    assert_string_equal(str(doc, "type"), "error");
    assert_string_equal(str(jget(doc, "error"), "type"), "not_found_error");
    assert_non_null(strstr(str(jget(doc, "error"), "message"),
                           "The model 'claude-nope' does not exist"));
    call("GET", "/v1/models/claude-nope", NULL, NULL, NULL);
    assert_int_equal(status, 404);
    assert_string_equal(str(jget(doc, "error"), "code"), "model_not_found");
}

/* A chat request naming a dated id goes to the group its alias names. */
static void
test_chat_through_alias(void **state)
{
    (void)state;
    fake_push(200, "application/json",
              "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":0,"
              "\"model\":\"m-small\",\"choices\":[{\"index\":0,\"message\":"
              "{\"role\":\"assistant\",\"content\":\"Hi.\"},"
              "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
              "\"completion_tokens\":1,\"total_tokens\":4}}");
    call("POST", "/v1/chat/completions", NULL, NULL,
         "{'model':'claude-haiku-4-5-20251001',"
         "'messages':[{'role':'user','content':'Hello'}]}");
    assert_int_equal(status, 200);
    assert_int_equal(fake_at, 1);
    assert_non_null(strstr(fake_seen[0].body, "\"m-small\""));
}

/* With caller keys: 401 in the caller's shape, and only the groups the
 * key may use (first_id/last_id null on an empty page). */
static void
test_list_with_keys(void **state)
{
    (void)state;
    worker_stop();
    sy_config_free(cfg);
    setenv("SYT_MODELS_ALL", KEY_ALL, 1);
    setenv("SYT_MODELS_SMALL", KEY_SMALL, 1);
    setenv("SYT_MODELS_NONE", KEY_NONE, 1);
    cfg = load_config(keyed_config);
    worker_start(cfg);
    call("GET", "/v1/models", "2023-06-01", NULL, NULL);
    assert_int_equal(status, 401);
    assert_string_equal(str(doc, "type"), "error");
    call("GET", "/v1/models", "2023-06-01", KEY_SMALL, NULL);
    assert_int_equal(status, 200);
    assert_int_equal(json_object_array_length(jget(doc, "data")), 1);
    assert_string_equal(str(doc, "first_id"), "small");
    assert_string_equal(str(doc, "last_id"), "small");
    call("GET", "/v1/models/claude-haiku-4-5-20251001", "2023-06-01", KEY_SMALL,
         NULL);
    assert_int_equal(status, 200);
    call("GET", "/v1/models/claude-sonnet-4-5-20250929", "2023-06-01",
         KEY_SMALL, NULL);
    assert_int_equal(status, 404);
    call("GET", "/v1/models", "2023-06-01", KEY_ALL, NULL);
    assert_int_equal(json_object_array_length(jget(doc, "data")), 3);
    call("GET", "/v1/models", "2023-06-01", KEY_NONE, NULL);
    assert_int_equal(status, 200);
    assert_int_equal(json_object_array_length(jget(doc, "data")), 0);
    assert_true(json_object_object_get_ex(doc, "first_id", NULL));
    assert_null(jget(doc, "first_id"));
    assert_null(jget(doc, "last_id"));
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_list_openai_shape),
        T(test_list_anthropic_shape),
        T(test_retrieve_shapes_and_aliases),
        T(test_chat_through_alias),
        T(test_list_with_keys),
#undef T
    };
    return cmocka_run_group_tests_name("pipeline_models", tests, NULL, NULL);
}
