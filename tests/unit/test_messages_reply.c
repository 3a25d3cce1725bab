/*
 * test_messages_reply.c - unit tests for what the Anthropic Messages
 * surface sends back (adapters/anthropic_surface_out.c): a canonical
 * reply into a Message, canonical chunks into the exact sequence of
 * Anthropic stream events, stream errors and error bodies per status.
 * SPDX-License-Identifier: MIT
 */
#include "messages_fixture.h"

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static void
test_reply(void **state)
{
    (void)state;
    struct json_object *root = json_tokener_parse(
        J("{'id':'chatcmpl-a.b:c','object':'chat.completion','created':1,"
          "'model':'gpt-x','choices':[{'index':0,'message':{'role':"
          "'assistant','content':'Checking.','reasoning_content':'plan',"
          "'tool_calls':[{'id':'call:1.x','type':'function','function':{"
          "'name':'get','arguments':'{\\'city\\':\\'Oslo\\'}'}},{'id':"
          "'call_2','type':'function','function':{'name':'now',"
          "'arguments':''}}]},'finish_reason':'tool_calls'}]}"));
    sy_arena_on_cleanup(&arena, sy_chat_json_free, root);
    struct sy_chat_resp resp = { .root = root };
    resp.usage = (struct sy_usage){ .present = true,
                                    .prompt_tokens = 100,
                                    .completion_tokens = 20,
                                    .cached_tokens = 30,
                                    .cache_write_tokens = 10 };
    req.model = "group";
    assert_int_equal(sy_surface_messages.reply(&req, &resp, &arena, &out),
                     SY_OK);
    assert_string_equal(
        sy_buf_cstr(&out),
        J("{'id':'msg_chatcmpl-abc','type':'message','role':'assistant',"
          "'model':'gpt-x','content':[{'type':'thinking','thinking':'plan',"
          "'signature':''},{'type':'text','text':'Checking.'},{'type':"
          "'tool_use','id':'call_1_x','name':'get','input':{'city':'Oslo'}},"
          "{'type':'tool_use','id':'call_2','name':'now','input':{}}],"
          "'stop_reason':'tool_use','stop_sequence':null,'usage':{"
          "'input_tokens':60,'cache_creation_input_tokens':10,"
          "'cache_read_input_tokens':30,'output_tokens':20}}"));

    /* A raw body (root NULL), other finish reasons, no usage. */
    static const char *const map[][2] = { { "stop", "end_turn" },
                                          { "length", "max_tokens" },
                                          { "content_filter", "refusal" } };
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++) {
        char raw[256];
        snprintf(raw, sizeof(raw),
                 "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{"
                 "\"role\":\"assistant\",\"content\":\"hi\"},"
                 "\"finish_reason\":\"%s\"}]}",
                 map[i][0]);
        struct sy_chat_resp r2 = { .raw = raw, .raw_len = strlen(raw) };
        sy_buf_clear(&out);
        assert_int_equal(sy_surface_messages.reply(&req, &r2, &arena, &out),
                         SY_OK);
        char want[512];
        snprintf(want, sizeof(want),
                 "{'id':'msg_x','type':'message','role':'assistant',"
                 "'model':'group','content':[{'type':'text','text':'hi'}],"
                 "'stop_reason':'%s','stop_sequence':null,'usage':{"
                 "'input_tokens':0,'cache_creation_input_tokens':0,"
                 "'cache_read_input_tokens':0,'output_tokens':0}}",
                 map[i][1]);
        assert_string_equal(sy_buf_cstr(&out), J(want));
    }
    struct sy_chat_resp bad = { .raw = "nope", .raw_len = 4 };
    assert_int_not_equal(sy_surface_messages.reply(&req, &bad, &arena, &out),
                         SY_OK);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */

#define CH(delta, finish)                                              \
    "{'id':'chatcmpl-9','object':'chat.completion.chunk','created':1," \
    "'model':'gpt-x','choices':[{'index':0,'delta':" delta             \
    ",'finish_reason':" finish "}]}"
#define TC(i, id, name, args)                                              \
    "{'tool_calls':[{'index':" #i ",'id':'" id                             \
    "','type':'function','function':{'name':'" name "','arguments':'" args \
    "'}}]}"
#define TA(i, args) \
    "{'tool_calls':[{'index':" #i ",'function':{'arguments':'" args "'}}]}"

/* Feed 'chunks' (NULL-terminated) and end the stream with 'u'. */
static void
feed(const char *const *chunks, const struct sy_usage *u)
{
    req.model = "group";
    for (size_t i = 0; chunks[i] != NULL; i++) {
        const char *c = J(chunks[i]);
        assert_int_equal(
            sy_surface_messages.stream_chunk(st, &req, c, strlen(c), &out),
            SY_OK);
    }
    assert_int_equal(sy_surface_messages.stream_end(st, &req, u, "0", &out),
                     SY_OK);
}

/* The events of the output, one word each: "start:0:text" for a block
 * start, "delta:0:<piece>", "stop:0", "mdelta:<stop_reason>", else the
 * event name. Checks that each data line is JSON whose type is the name. */
static const char *
summary(void)
{
    struct sy_buf s;
    sy_buf_init(&s, 1u << 20);
    char *text = sy_arena_strdup(&arena, sy_buf_cstr(&out)), *save = NULL;
    const char *name = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "event: ", 7) == 0) {
            name = line + 7;
            continue;
        }
        assert_int_equal(strncmp(line, "data: ", 6), 0);
        struct json_object *d = json_tokener_parse(line + 6);
        assert_non_null(d);
        assert_non_null(name);
        const char *type = json_object_get_string(at(d, "type"));
        assert_string_equal(type, name);
        const char *idx = json_object_get_string(at(d, "index"));
        if (s.len > 0)
            sy_buf_puts(&s, " ");
        if (strcmp(name, "content_block_start") == 0) {
            sy_buf_printf(&s, "start:%s:%s", idx,
                          json_object_get_string(at(d, "content_block.type")));
        } else if (strcmp(name, "content_block_delta") == 0) {
            struct json_object *dl = at(d, "delta"), *v = NULL;
            json_object_object_foreach(dl, k, val)
            {
                if (strcmp(k, "type") != 0)
                    v = val;
            }
            sy_buf_printf(&s, "delta:%s:%s", idx, json_object_get_string(v));
        } else if (strcmp(name, "content_block_stop") == 0) {
            sy_buf_printf(&s, "stop:%s", idx);
        } else if (strcmp(name, "message_delta") == 0) {
            sy_buf_printf(&s, "mdelta:%s",
                          json_object_get_string(at(d, "delta.stop_reason")));
        } else {
            sy_buf_puts(&s, name);
        }
        json_object_put(d);
        name = NULL;
    }
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    return r;
}

static void
test_stream_text_exact(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':''}", "null"),
        CH("{'content':'Hel'}", "null"),
        CH("{'content':'lo'}", "null"),
        CH("{}", "'stop'"),
        "{'id':'chatcmpl-9','object':'chat.completion.chunk','created':1,"
        "'model':'gpt-x','choices':[],'usage':{'prompt_tokens':9,"
        "'completion_tokens':2,'total_tokens':11}}",
        NULL
    };
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 9,
                          .completion_tokens = 2,
                          .cached_tokens = 4 };
    feed(chunks, &u);
    assert_string_equal(
        sy_buf_cstr(&out),
        J("event: message_start\ndata: {'type':'message_start','message':{"
          "'id':'msg_chatcmpl-9','type':'message','role':'assistant',"
          "'model':'gpt-x','content':[],'stop_reason':null,'stop_sequence':"
          "null,'usage':{'input_tokens':0,'output_tokens':0}}}\n\n"
          "event: ping\ndata: {'type':'ping'}\n\n"
          "event: content_block_start\ndata: {'type':'content_block_start',"
          "'index':0,'content_block':{'type':'text','text':''}}\n\n"
          "event: content_block_delta\ndata: {'type':'content_block_delta',"
          "'index':0,'delta':{'type':'text_delta','text':'Hel'}}\n\n"
          "event: content_block_delta\ndata: {'type':'content_block_delta',"
          "'index':0,'delta':{'type':'text_delta','text':'lo'}}\n\n"
          "event: content_block_stop\ndata: {'type':'content_block_stop',"
          "'index':0}\n\n"
          "event: message_delta\ndata: {'type':'message_delta','delta':{"
          "'stop_reason':'end_turn','stop_sequence':null},'usage':{"
          "'input_tokens':5,'cache_creation_input_tokens':0,"
          "'cache_read_input_tokens':4,'output_tokens':2}}\n\n"
          "event: message_stop\ndata: {'type':'message_stop'}\n\n"));
    /* Nothing after the end. */
    const char *c = J(CH("{'content':'late'}", "null"));
    size_t len = out.len;
    assert_int_equal(
        sy_surface_messages.stream_chunk(st, &req, c, strlen(c), &out), SY_OK);
    assert_int_equal(out.len, len);
}

static void
test_stream_tool_in_pieces(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':'Checking.'}", "null"),
        CH(TC(0, "call:1", "get", ""), "null"),
        CH(TA(0, "{\\'ci"), "null"),
        CH(TA(0, "ty\\':\\'Oslo\\'}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks, NULL);
    assert_string_equal(summary(),
                        "message_start ping start:0:text delta:0:Checking. "
                        "stop:0 start:1:tool_use delta:1:{\"ci "
                        "delta:1:ty\":\"Oslo\"} stop:1 mdelta:tool_use "
                        "message_stop");
    assert_non_null(strstr(
        sy_buf_cstr(&out),
        J("'content_block':{'type':'tool_use','id':'call_1','name':'get',"
          "'input':{}}")));
    assert_non_null(
        strstr(sy_buf_cstr(&out), J("'delta':{'type':'input_json_delta',"
                                    "'partial_json':'{\\'ci'}")));
}

static void
test_stream_parameterless_and_parallel(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "call_a", "now", ""), "null"),
        CH(TC(1, "call_b", "get", "{\\'city\\':"), "null"),
        CH(TA(1, "\\'Oslo\\'}"), "null"),
        CH(TC(2, "", "ping", "{}"), "null"),
        CH("{}", "'stop'"),
        NULL
    };
    /* The request's tree owns the calls a stream holds back. */
    req.root = json_object_new_object();
    sy_arena_on_cleanup(&arena, sy_chat_json_free, req.root);
    feed(chunks, NULL);
    /* A call with no arguments is a tool_use whose input stays {}; as
     * its arguments could still come, the calls after it are held and
     * go out whole at the finish. A stop after tool calls is still
     * tool_use. */
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use stop:0 "
                        "start:1:tool_use delta:1:{\"city\":\"Oslo\"} "
                        "stop:1 start:2:tool_use delta:2:{} stop:2 "
                        "mdelta:tool_use message_stop");
    assert_non_null(strstr(sy_buf_cstr(&out), J("'id':'call_a','name':'now',"
                                                "'input':{}")));
    assert_non_null(strstr(sy_buf_cstr(&out), J("'id':'toolu_chatcmpl-9_2'")));
}

static void
test_stream_thinking_then_text(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','reasoning_content':'Let me'}", "null"),
        CH("{'reasoning_content':' think'}", "null"),
        CH("{'content':'42'}", "null"),
        /* choice 1 and usage-only chunks are not shown */
        "{'id':'c','choices':[{'index':1,'delta':{'content':'other'}}]}",
        "{'id':'c','choices':[],'usage':{'prompt_tokens':1}}",
        CH("{}", "'length'"), NULL
    };
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 50,
                          .completion_tokens = 30,
                          .reasoning_tokens = 12,
                          .cache_write_tokens = 5 };
    feed(chunks, &u);
    assert_string_equal(summary(),
                        "message_start ping start:0:thinking "
                        "delta:0:Let me delta:0: think stop:0 start:1:text "
                        "delta:1:42 stop:1 mdelta:max_tokens message_stop");
    assert_non_null(strstr(sy_buf_cstr(&out),
                           J("'content_block':{'type':'thinking','thinking':"
                             "'','signature':''}")));
    assert_non_null(
        strstr(sy_buf_cstr(&out),
               J("'usage':{'input_tokens':45,'cache_creation_input_tokens':5,"
                 "'cache_read_input_tokens':0,'output_tokens':30,"
                 "'output_tokens_details':{'thinking_tokens':12}}")));
}

static void
test_stream_empty_and_error(void **state)
{
    (void)state;
    static const char *const none[] = { NULL };
    feed(none, NULL);
    assert_string_equal(summary(),
                        "message_start ping mdelta:end_turn message_stop");
    assert_non_null(strstr(sy_buf_cstr(&out), J("'id':'msg_gateway'")));
    assert_non_null(strstr(sy_buf_cstr(&out), J("'model':'group'")));

    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    const char *c = J(CH("{'content':'a'}", "null"));
    sy_surface_messages.stream_chunk(st, &req, c, strlen(c), &out);
    sy_buf_clear(&out);
    sy_surface_messages.stream_error(st, 529, "the provider is \"busy\"",
                                     "upstream_error", NULL, &out);
    assert_string_equal(sy_buf_cstr(&out),
                        J("event: error\ndata: {'type':'error','error':{"
                          "'type':'overloaded_error','message':'the provider "
                          "is \\'busy\\''}}\n\n"));
}

/* A long model name is cut at a character boundary: the events stay
 * valid UTF-8. */
static void
test_stream_long_model(void **state)
{
    (void)state;
    char model[160], chunk[400];
    memset(model, 'a', 126);
    memcpy(model + 126, "\xc3\xa9tail", 7); /* e-acute over bytes 126-127 */
    model[133] = '\0';
    snprintf(chunk, sizeof(chunk),
             "{\"id\":\"c\",\"model\":\"%s\",\"choices\":[]}", model);
    sy_surface_messages.stream_chunk(st, &req, chunk, strlen(chunk), &out);
    model[126] = '\0';
    char want[200];
    snprintf(want, sizeof(want), "\"model\":\"%s\",", model);
    assert_non_null(strstr(sy_buf_cstr(&out), want));
}

/* A provider's text holding a NUL ("\u0000", valid JSON) reaches the
 * caller whole, in the reply and in the stream. */
static void
test_nul_in_reply(void **state)
{
    (void)state;
    struct json_object *root = json_tokener_parse(
        J("{'id':'x','model':'gpt-x','choices':[{'index':0,'message':{"
          "'role':'assistant','content':'OK\\u0000MORE','reasoning_content':"
          "'P\\u0000Q'},'finish_reason':'stop'}]}"));
    sy_arena_on_cleanup(&arena, sy_chat_json_free, root);
    struct sy_chat_resp resp = { .root = root };
    assert_int_equal(sy_surface_messages.reply(&req, &resp, &arena, &out),
                     SY_OK);
    assert_non_null(strstr(sy_buf_cstr(&out),
                           J("'content':[{'type':'thinking','thinking':"
                             "'P\\u0000Q','signature':''},{'type':'text',"
                             "'text':'OK\\u0000MORE'}]")));
    /* Content given as parts. */
    struct json_object *parts = json_tokener_parse(
        J("{'id':'x','model':'gpt-x','choices':[{'index':0,'message':{"
          "'role':'assistant','content':[{'type':'text','text':'M\\u0000N'},"
          "{'type':'text','text':'O'}]},'finish_reason':'stop'}]}"));
    sy_arena_on_cleanup(&arena, sy_chat_json_free, parts);
    struct sy_chat_resp r2 = { .root = parts };
    sy_buf_clear(&out);
    assert_int_equal(sy_surface_messages.reply(&req, &r2, &arena, &out), SY_OK);
    assert_non_null(strstr(sy_buf_cstr(&out), J("'text':'M\\u0000N\\nO'")));

    static const char *const chunks[] = {
        CH("{'role':'assistant','reasoning_content':'R\\u0000S'}", "null"),
        CH("{'content':'Hel\\u0000lo'}", "'stop'"), NULL
    };
    sy_buf_clear(&out);
    feed(chunks, NULL);
    assert_non_null(strstr(sy_buf_cstr(&out),
                           J("'delta':{'type':'thinking_delta','thinking':"
                             "'R\\u0000S'}")));
    assert_non_null(
        strstr(sy_buf_cstr(&out), J("'delta':{'type':'text_delta','text':"
                                    "'Hel\\u0000lo'}")));
}

static void
test_error_bodies(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *type;
    } map[] = {
        { 400, "invalid_request_error" },
        { 401, "authentication_error" },
        { 402, "billing_error" },
        { 403, "permission_error" },
        { 404, "not_found_error" },
        { 405, "invalid_request_error" },
        { 413, "request_too_large" },
        { 429, "rate_limit_error" },
        { 500, "api_error" },
        { 502, "api_error" },
        { 503, "overloaded_error" },
        { 504, "timeout_error" },
        { 529, "overloaded_error" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++) {
        sy_buf_clear(&out);
        sy_surface_messages.error_body(&out, map[i].status, "went wrong",
                                       "server_error", "p", "c");
        char want[256];
        snprintf(want, sizeof(want),
                 "{'type':'error','error':{'type':'%s','message':"
                 "'went wrong'}}",
                 map[i].type);
        assert_string_equal(sy_buf_cstr(&out), J(want));
    }
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_reply),
        T(test_stream_text_exact),
        T(test_stream_tool_in_pieces),
        T(test_stream_parameterless_and_parallel),
        T(test_stream_thinking_then_text),
        T(test_stream_empty_and_error),
        T(test_stream_long_model),
        T(test_error_bodies),
        T(test_nul_in_reply),
#undef T
    };
    return cmocka_run_group_tests_name("messages_reply", tests, NULL, NULL);
}
