/*
 * test_responses_store.c - the Responses API's conversation store:
 * core/state/responses.c against a real redis-server (put, get, delete,
 * the TTL, owners kept apart, the size bound, the key name), and
 * core/serve/pipeline_responses.c on a worker of pipeline_fixture.h
 * whose store is that server: previous_response_id rewrites the body
 * with the whole conversation (a string input, an assistant message, a
 * function call and its output, a reasoning item), "store": false keeps
 * nothing, another caller's response is a 404, GET /v1/responses/{id}
 * (and /input_items) and DELETE through the routes, 405 with both
 * methods in Allow; without Redis the answers are 400. The query string
 * of /input_items as the transport may hand it over: 8,191 bytes served,
 * 8,192 (what fcgi/request.c keeps of a longer one) and 100,000 a 400,
 * raw control bytes and bytes that are no UTF-8 never echoed, %00 and
 * bad escapes a 400 with param null, a repeated key the last one.
 * SPDX-License-Identifier: MIT
 */
#define RESPONSES_TEST_NAME "test_responses_store"
#include "responses_store_fixture.h"

#define REC_RESPONSE "{\"id\":\"resp_a\",\"object\":\"response\",\"output\":[]}"
#define REC_INPUT    "[{\"role\":\"user\",\"content\":\"hi\"}]"
static const struct sy_responses_rec REC = { REC_RESPONSE,
                                             sizeof(REC_RESPONSE) - 1,
                                             REC_INPUT, sizeof(REC_INPUT) - 1 };

/* The string reply of 'cmd key' on 's' (NULL for nil), or its integer in
 * '*n'. */
static const char *
redis_q(struct sy_store *s, struct sy_arena *a, const char *cmd,
        const char *key, int64_t *n)
{
    struct sy_store_val *v = NULL;
    assert_int_equal(sy_store_commandl(s, a, &v, cmd, key, NULL), SY_OK);
    if (n != NULL)
        assert_true(sy_store_val_int(v, n));
    return v->type == SY_STORE_STR ? v->str : NULL;
}

/* ------------------------------------------------------------------ */
/* The store                                                           */

static void
test_put_get_del(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    char err[192] = "";
    assert_int_equal(
        sy_responses_put(s, "resp_a", "alice", &REC, 3600, 4096, err, 192),
        SY_OK);
    char key[SY_KEY_MAX];
    sy_key_response(key, sizeof(key), "t:", "resp_a");
    assert_string_equal(key, "t:resp:resp_a");
    const char *raw = redis_q(s, &a, "GET", key, NULL);
    assert_string_equal(raw,
                        "{\"owner\":\"alice\",\"response\":{\"id\":\"resp_a\","
                        "\"object\":\"response\",\"output\":[]},\"input\":"
                        "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    int64_t ttl = 0;
    redis_q(s, &a, "TTL", key, &ttl);
    assert_true(ttl > 3500 && ttl <= 3600);

    const char *json = NULL;
    size_t len = 0;
    assert_int_equal(sy_responses_get(s, "resp_a", "alice", &a, &json, &len),
                     SY_OK);
    assert_string_equal(json, raw);
    assert_int_equal(len, strlen(raw));
    /* another owner, a prefix of the owner, no owner: absent */
    assert_int_equal(sy_responses_get(s, "resp_a", "bob", &a, &json, &len),
                     SY_ENOTFOUND);
    assert_null(json);
    assert_int_equal(sy_responses_get(s, "resp_a", "ali", &a, &json, &len),
                     SY_ENOTFOUND);
    assert_int_equal(sy_responses_get(s, "resp_a", "", &a, &json, &len),
                     SY_ENOTFOUND);
    assert_int_equal(sy_responses_del(s, "resp_a", "bob"), SY_ENOTFOUND);
    assert_non_null(redis_q(s, &a, "GET", key, NULL));
    /* the owner deletes it, once */
    assert_int_equal(sy_responses_del(s, "resp_a", "alice"), SY_OK);
    assert_null(redis_q(s, &a, "GET", key, NULL));
    assert_int_equal(sy_responses_del(s, "resp_a", "alice"), SY_ENOTFOUND);
    assert_int_equal(sy_responses_get(s, "resp_a", "alice", &a, &json, &len),
                     SY_ENOTFOUND);
    assert_int_equal(sy_responses_get(s, "nope", "alice", &a, &json, &len),
                     SY_ENOTFOUND);
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

static void
test_bounds(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    char err[192] = "";
    /* ids that could not be a key name are refused, or never found */
    assert_false(sy_responses_id_valid("a b"));
    assert_false(sy_responses_id_valid("a:b"));
    assert_false(sy_responses_id_valid(""));
    assert_true(sy_responses_id_valid("resp_0123-ABC.x"));
    assert_int_equal(
        sy_responses_put(s, "a*b", "alice", &REC, 60, 4096, err, 192),
        SY_EBADREQ);
    const char *json;
    size_t len;
    assert_int_equal(sy_responses_get(s, "a*", "alice", &a, &json, &len),
                     SY_ENOTFOUND);
    /* a TTL of 0 stores nothing */
    assert_int_equal(
        sy_responses_put(s, "resp_z", "alice", &REC, 0, 4096, err, 192), SY_OK);
    int64_t n = -1;
    redis_q(s, &a, "EXISTS", "t:resp:resp_z", &n);
    assert_int_equal(n, 0);
    /* the size bound: the whole record, envelope included */
    char *big = sy_xcalloc(1, 5000);
    memset(big, 'x', 4998);
    big[0] = '"';
    big[4998] = '"';
    struct sy_responses_rec rec = { big, 4999, "[]", 2 };
    assert_int_equal(
        sy_responses_put(s, "resp_big", "alice", &rec, 60, 4096, err, 192),
        SY_ETOOBIG);
    assert_non_null(strstr(err, "state.responses_max_bytes"));
    redis_q(s, &a, "EXISTS", "t:resp:resp_big", &n);
    assert_int_equal(n, 0);
    assert_int_equal(
        sy_responses_put(s, "resp_big", "alice", &rec, 60, 8192, err, 192),
        SY_OK);
    redis_q(s, &a, "EXISTS", "t:resp:resp_big", &n);
    assert_int_equal(n, 1);
    /* an owner with characters to escape is still its own */
    assert_int_equal(
        sy_responses_put(s, "resp_q", "a\"b\\c", &REC, 60, 4096, err, 192),
        SY_OK);
    assert_int_equal(sy_responses_get(s, "resp_q", "a\"b\\c", &a, &json, &len),
                     SY_OK);
    assert_int_equal(sy_responses_get(s, "resp_q", "a\"b", &a, &json, &len),
                     SY_ENOTFOUND);
    free(big);
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

/* Two turns: a string input, then the function's output after
 * previous_response_id; GET, input_items, owners, DELETE. */
static void
test_conversation(void **state)
{
    (void)state;
    NEED_REDIS();
    assert_true(prepare("alice", "{'model':'g','input':'Weather in Paris?'}"));
    assert_true(pc.resp_store);
    assert_string_equal(pc.resp_input_json,
                        "[{\"type\":\"message\",\"role\":\"user\",\"content\":"
                        "[{\"type\":\"input_text\",\"text\":\"Weather in "
                        "Paris?\"}]}]");
    assert_string_equal(pc.r->body, "{\"model\":\"g\",\"input\":\"Weather in "
                                    "Paris?\"}"); /* untouched */
    keep(RESP1);

    assert_true(prepare("alice",
                        "{'model':'g','previous_response_id':'resp_1',"
                        "'instructions':'Be brief.','input':[{'type':"
                        "'function_call_output','call_id':'call_1','output':"
                        "'sunny'}]}"));
    struct json_object *root;
    struct json_object *in = body_input(&root);
    assert_null(jget(root, "previous_response_id"));
    assert_string_equal(str_at(root, "instructions"), "Be brief.");
    assert_string_equal(str_at(root, "model"), "g");
    assert_int_equal(json_object_array_length(in), 5);
    struct json_object *it = json_object_array_get_idx(in, 0);
    assert_string_equal(str_at(it, "role"), "user");
    it = json_object_array_get_idx(in, 1);
    assert_string_equal(str_at(it, "type"), "reasoning");
    assert_string_equal(str_at(it, "encrypted_content"), "E");
    it = json_object_array_get_idx(in, 2);
    assert_string_equal(str_at(it, "type"), "message");
    assert_string_equal(str_at(it, "role"), "assistant");
    assert_null(jget(it, "status"));
    struct json_object *part =
        json_object_array_get_idx(jget(it, "content"), 0);
    assert_string_equal(str_at(part, "type"), "output_text");
    assert_string_equal(str_at(part, "text"), "Let me look.");
    it = json_object_array_get_idx(in, 3);
    assert_string_equal(str_at(it, "type"), "function_call");
    assert_string_equal(str_at(it, "call_id"), "call_1");
    assert_string_equal(str_at(it, "arguments"), "{}");
    assert_null(jget(it, "status"));
    it = json_object_array_get_idx(in, 4);
    assert_string_equal(str_at(it, "type"), "function_call_output");
    assert_string_equal(str_at(it, "output"), "sunny");
    /* what is kept with the next answer is that whole list */
    assert_string_equal(
        pc.resp_input_json,
        json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    keep("{'id':'resp_2','object':'response','output':[{'type':'message',"
         "'role':'assistant','content':[{'type':'output_text','text':"
         "'Sunny.'}]}]}");

    http("GET", "/v1/responses/resp_2", KEY_ALICE);
    assert_int_equal(status, 200);
    assert_string_equal(str_at(doc, "id"), "resp_2");
    assert_string_equal(str_at(doc, "object"), "response");
    http("GET", "/v1/responses/resp_2/input_items", KEY_ALICE);
    assert_int_equal(status, 200);
    assert_string_equal(str_at(doc, "object"), "list");
    struct json_object *data = jget(doc, "data");
    assert_int_equal(json_object_array_length(data), 5);
    /* newest first, every item with an id and a type */
    assert_string_equal(str_at(json_object_array_get_idx(data, 0), "type"),
                        "function_call_output");
    assert_string_equal(str_at(doc, "first_id"),
                        str_at(json_object_array_get_idx(data, 0), "id"));
    assert_string_equal(str_at(doc, "last_id"),
                        str_at(json_object_array_get_idx(data, 4), "id"));
    assert_string_equal(str_at(json_object_array_get_idx(data, 2), "id"),
                        "msg_1");
    assert_false(json_object_get_boolean(jget(doc, "has_more")));

    /* bob sees none of it */
    http("GET", "/v1/responses/resp_2", KEY_BOB);
    assert_int_equal(status, 404);
    assert_false(prepare("bob", "{'model':'g','previous_response_id':"
                                "'resp_1','input':'hi'}"));
    assert_int_equal(status, 404);
    assert_string_equal(str_at(jget(doc, "error"), "param"),
                        "previous_response_id");
    http("DELETE", "/v1/responses/resp_2", KEY_BOB);
    assert_int_equal(status, 404);

    /* one path, two methods: each routed, others told both */
    http("POST", "/v1/responses/resp_2", KEY_ALICE);
    assert_int_equal(status, 405);
    assert_string_equal(hdr("Allow"), "GET, DELETE");
    http("DELETE", "/v1/responses/resp_2", KEY_ALICE);
    assert_int_equal(status, 200);
    assert_string_equal(str_at(doc, "id"), "resp_2");
    assert_string_equal(str_at(doc, "object"), "response.deleted");
    assert_true(json_object_get_boolean(jget(doc, "deleted")));
    http("GET", "/v1/responses/resp_2", KEY_ALICE);
    assert_int_equal(status, 404);
    assert_false(prepare("alice", "{'model':'g','previous_response_id':"
                                  "'resp_2','input':'hi'}"));
    assert_int_equal(status, 404);
}

/* "store": false keeps nothing; an unknown id is a 404; a malformed
 * previous_response_id a 400; a body that does not parse is left to the
 * surface. */
static void
test_store_false_and_errors(void **state)
{
    (void)state;
    NEED_REDIS();
    assert_true(prepare("alice", "{'model':'g','input':'x','store':false}"));
    assert_false(pc.resp_store);
    keep("{'id':'resp_nostore','object':'response','output':[]}");
    http("GET", "/v1/responses/resp_nostore", KEY_ALICE);
    assert_int_equal(status, 404);
    assert_false(prepare("alice", "{'model':'g','previous_response_id':"
                                  "'resp_unknown','input':'x'}"));
    assert_int_equal(status, 404);
    assert_false(
        prepare("alice", "{'model':'g','previous_response_id':7,'input':'x'}"));
    assert_int_equal(status, 400);
    assert_true(prepare("alice", "{'model':'g','previous_response_id':"));
    assert_int_equal(status, 0); /* nothing sent */
}

/* GET /v1/responses/resp_items/input_items?'query' as alice: the status. */
static int
items_q(const char *query)
{
    http_query = query;
    http("GET", "/v1/responses/resp_items/input_items", KEY_ALICE);
    http_query = NULL;
    return status;
}

/* 'order=asc&limit=1&pad=xxx...' of 'len' bytes (up to 100,000), in a
 * buffer of its own: http() resets the arena. */
static const char *
padded(size_t len)
{
    static const char h[] = "order=asc&limit=1&pad=";
    static char q[100001];
    assert_true(len < sizeof(q) && len >= sizeof(h));
    memcpy(q, h, sizeof(h) - 1);
    memset(q + sizeof(h) - 1, 'x', len - (sizeof(h) - 1));
    q[len] = '\0';
    return q;
}

/* Hostile query strings of /input_items: each a 400 in OpenAI's shape,
 * or the page asked for; an error message shows printable ASCII only. */
static void
test_items_query(void **state)
{
    (void)state;
    NEED_REDIS();
    assert_true(prepare("alice", "{'model':'g','input':[{'role':'user',"
                                 "'content':'a'},{'role':'user','content':"
                                 "'b'},{'role':'user','content':'c'}]}"));
    keep("{'id':'resp_items','object':'response','output':[]}");
    assert_int_equal(items_q(NULL), 200);
    assert_int_equal(json_object_array_length(jget(doc, "data")), 3);

    assert_int_equal(items_q(padded(SY_CGI_PARAM_MAX - 1)), 200);
    assert_int_equal(json_object_array_length(jget(doc, "data")), 1);
    assert_int_equal(items_q(padded(SY_CGI_PARAM_MAX)), 400);
    assert_string_equal(err_param(), "");
    assert_non_null(strstr(body, "longer than 8191 bytes"));
    assert_int_equal(items_q(padded(100000)), 400);
    assert_string_equal(err_param(), "");

    static const struct {
        const char *query, *param;
    } bad[] = {
        { "limit=-1", "limit" },
        { "limit=99999999999999999999", "limit" },
        { "order=xyz", "order" },
        { "order=\x01\x1b[31m\xff\xfe\\\"<", "order" },
        { "order=%C3%A9%C3", "order" },
        { "limit=1%0A", "limit" },
        { "after=\xe2\x82", "after" },
        { "after=msg%00x", "" },
        { "lim%00it=5", "" },
        { "%00", "" },
        { "%=1", "" },
        { "limit=%", "" },
        { "limit=%4", "" },
        { "order=%zz", "" },
        { "limit=0&limit=2", "limit" },
        { "order=asc&order=xyz", "order" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(items_q(bad[i].query), 400);
        assert_string_equal(err_param(), bad[i].param);
        const char *m = str_at(jget(doc, "error"), "message");
        assert_non_null(m);
        for (const char *c = m; *c != '\0'; c++)
            if (*c < 0x20 || *c >= 0x7f)
                fail_msg("%s: byte 0x%02x in \"%s\"", bad[i].query,
                         (unsigned char)*c, m);
    }
    static char after[1007];
    memcpy(after, "after=", 6);
    memset(after + 6, 'a', 1000);
    after[1006] = '\0';
    assert_int_equal(items_q(after), 400);
    assert_string_equal(err_param(), "after");
    assert_true(strlen(str_at(jget(doc, "error"), "message")) < 400);

    /* A repeated key: the last one counts. */
    assert_int_equal(items_q("limit=1&limit=2&order=desc&order=asc"), 200);
    struct json_object *data = jget(doc, "data");
    assert_int_equal(json_object_array_length(data), 2);
    assert_string_equal(str_at(json_object_array_get_idx(data, 0), "content"),
                        "a");
}

/* Items sent with the same id (one item twice, or a caller's id that
 * looks like one the gateway makes) are listed with ids no other item
 * has: paging with 'after' and limit 1, in both orders, visits every
 * item once and ends (with a repeated id it went back for ever). */
static void
test_items_unique_ids(void **state)
{
    (void)state;
    NEED_REDIS();
    assert_true(prepare("alice",
                        "{'model':'g','input':[{'role':'user','content':'a'},"
                        "{'id':'x','role':'user','content':'b'},"
                        "{'id':'resp_dups_in0','role':'user','content':'c'},"
                        "{'id':'x','role':'user','content':'d'},"
                        "{'role':'user','content':'e'},"
                        "{'id':'x','role':'user','content':'f'}]}"));
    keep("{'id':'resp_dups','object':'response','output':[]}");
    static const char *const orders[] = { "asc", "desc" };
    for (size_t o = 0; o < 2; o++) {
        char seen[16] = "", q[300], ids[6][128];
        snprintf(q, sizeof(q), "order=%s&limit=1", orders[o]);
        for (size_t page = 0; page < 6; page++) {
            http_query = q;
            http("GET", "/v1/responses/resp_dups/input_items", KEY_ALICE);
            http_query = NULL;
            assert_int_equal(status, 200);
            struct json_object *data = jget(doc, "data");
            assert_int_equal(json_object_array_length(data), 1);
            struct json_object *it = json_object_array_get_idx(data, 0);
            strncat(seen, str_at(it, "content"), 1);
            snprintf(ids[page], sizeof(ids[page]), "%s", str_at(it, "id"));
            for (size_t k = 0; k < page; k++)
                assert_string_not_equal(ids[k], ids[page]);
            assert_int_equal(json_object_get_boolean(jget(doc, "has_more")),
                             page < 5);
            snprintf(q, sizeof(q), "order=%s&limit=1&after=%s", orders[o],
                     str_at(doc, "last_id"));
        }
        assert_string_equal(seen, o == 0 ? "abcdef" : "fedcba");
    }
}

/* The status of GET /v1/responses/<id> after 'reply' was kept for a
 * stored request ('native': a provider's own reply). */
static int
kept_status(bool native, const char *reply, const char *id)
{
    assert_true(prepare("alice", "{'model':'g','input':'x'}"));
    pc.native = native;
    keep(reply);
    char path[300];
    snprintf(path, sizeof(path), "/v1/responses/%s", id);
    http("GET", path, KEY_ALICE);
    return status;
}

/* The kept reply's id: read off the head of a reply the gateway wrote
 * ('{"id":"...",'), else parsed, and always parsed for a provider's own
 * (native) reply. */
static void
test_keep_id(void **state)
{
    (void)state;
    NEED_REDIS();
    /* The plain head of the gateway's own: read off it. */
    assert_int_equal(kept_status(false,
                                 "{'id':'resp_head','object':'response',"
                                 "'output':[]}",
                                 "resp_head"),
                     200);
    /* Not first: parsed. */
    assert_int_equal(kept_status(false,
                                 "{'object':'response','id':'resp_late',"
                                 "'output':[]}",
                                 "resp_late"),
                     200);
    /* An escape in the head: parsed, the id as JSON reads it. */
    assert_int_equal(kept_status(false,
                                 "{'id':'resp_\\u0041b','object':'response',"
                                 "'output':[]}",
                                 "resp_Ab"),
                     200);
    /* A native reply is parsed even with the plain head: one that does
     * not parse is not kept. */
    assert_int_equal(kept_status(true, "{'id':'resp_native_bad','object':",
                                 "resp_native_bad"),
                     404);
    assert_int_equal(kept_status(true,
                                 "{'id':'resp_native','object':'response',"
                                 "'output':[]}",
                                 "resp_native"),
                     200);
    /* Ids at the store's limit and one past it, and a head with no end. */
    char id[SY_RESPONSES_ID_MAX + 2], reply[SY_RESPONSES_ID_MAX + 64];
    memset(id, 'r', sizeof(id) - 1);
    id[SY_RESPONSES_ID_MAX] = '\0';
    snprintf(reply, sizeof(reply), "{'id':'%s','output':[]}", id);
    assert_int_equal(kept_status(false, reply, id), 200);
    id[SY_RESPONSES_ID_MAX] = 's';
    id[SY_RESPONSES_ID_MAX + 1] = '\0';
    snprintf(reply, sizeof(reply), "{'id':'%s','output':[]}", id);
    assert_int_equal(kept_status(false, reply, id), 404);
    assert_int_equal(kept_status(false, "{'id':'resp_open", "resp_open"), 404);
}

/* Without Redis: previous_response_id and the endpoints are 400s; a
 * plain request goes through untouched. */
static void
test_no_redis(void **state)
{
    (void)state;
    sy_store_free(worker.store);
    worker.store = NULL;
    assert_true(prepare("alice", "{'model':'g','input':'x'}"));
    assert_false(pc.resp_store);
    assert_false(prepare("alice", "{'model':'g','previous_response_id':"
                                  "'resp_1','input':'x'}"));
    assert_int_equal(status, 400);
    assert_string_equal(str_at(jget(doc, "error"), "message"),
                        "previous_response_id needs the conversation store "
                        "(state.redis_url)");
    assert_string_equal(str_at(jget(doc, "error"), "param"),
                        "previous_response_id");
    http("GET", "/v1/responses/resp_1", KEY_ALICE);
    assert_int_equal(status, 400);
    http("DELETE", "/v1/responses/resp_1", KEY_ALICE);
    assert_int_equal(status, 400);
    http("GET", "/v1/responses/resp_1", "sk-wrong-0123456789abcdef");
    assert_int_equal(status, 401);
}

/* The config keys: defaults, values, bounds. */
static void
test_config(void **state)
{
    (void)state;
    assert_int_equal(cfg->state.responses_ttl_s, 2592000);
    assert_int_equal(cfg->state.responses_max_bytes, 4u << 20);
    struct sy_config *c = load_config(
        "{'state':{'responses_ttl_s':0,'responses_max_bytes':65536},"
        "'providers':{'p':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
        "'auth':'none'}},'deployments':{'d':{'provider':'p','model':'m'}},"
        "'groups':{'g':{'deployments':['d']}}}");
    assert_int_equal(c->state.responses_ttl_s, 0);
    assert_int_equal(c->state.responses_max_bytes, 65536);
    sy_config_free(c);
    const char *bad = "{\"state\":{\"responses_max_bytes\":8388608}}";
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    assert_int_not_equal(
        sy_config_load_string(bad, strlen(bad), "test", &c, &errs), SY_OK);
    assert_non_null(strstr(sy_buf_cstr(&errs), "responses_max_bytes"));
    sy_buf_free(&errs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test_setup_teardown(test_conversation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_false_and_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keep_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_unique_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
