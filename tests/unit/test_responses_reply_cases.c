/*
 * test_responses_reply_cases.c - the Responses surface's replies and
 * streams (adapters/responses_surface_out.c, _stream.c) over a varied
 * table of canonical replies and chunk sequences, each compared with
 * the whole JSON the surface wrote when its writers built json-c trees
 * (recorded from that code): the direct writers must say the same
 * thing, key for key and in the same order, for text, reasoning,
 * function, custom and namespaced tool calls, refusals, usage with
 * cached, cache-write and reasoning tokens, incomplete finishes,
 * unicode, control characters and quotes, unsafe and missing ids, and
 * every echoed parameter. Outputs are compared as parsed JSON
 * re-serialised by json-c, so escapes may differ but nothing else can.
 * SPDX-License-Identifier: MIT
 */
#include "responses_fixture.h"

#include "base/json_strict.h"
#include "responses_reply_want.h"

/* One reply: the caller's request and the canonical chat.completion
 * (both written with ' for "), the usage the pipeline measured; its
 * Response is the same entry of reply_want[]. */
struct reply_case {
    const char *name;
    const char *request;
    const char *reply;
    struct sy_usage usage;
    const char *upstream_model;
    bool tree; /* handed over parsed (resp.root), not as raw text */
};

#define TOOLS                                                            \
    "'tools':[{'type':'function','name':'get'},{'type':'custom','name':" \
    "'apply_patch'},{'type':'namespace','name':'ns','tools':[{'type':"   \
    "'custom','name':'exec'},{'type':'function','name':'get'}]}]"

#define ALL_PARAMS                                                         \
    "{'model':'group','input':'hi','instructions':'Be \\u00e9 \\'brief"    \
    "\\' \\\\ /','max_output_tokens':512,'parallel_tool_calls':"           \
    "false,'previous_response_id':'resp_prev','reasoning':{'effort':"      \
    "'high','summary':'auto'},'temperature':1.0,'top_p':0.25,'text':{"     \
    "'format':{'type':'json_schema','name':'x','schema':{'type':'object'," \
    "'properties':{'a':{'type':'number'}}},'strict':true},'verbosity':"    \
    "'low'},'tool_choice':{'type':'function','name':'get'},'truncation':"  \
    "'auto','metadata':{'k':'v','u':'\\u2603 \\'q\\''}," TOOLS "}"

static const struct reply_case cases[] = {
    { "text with measured usage",
      "{'model':'group','input':'hi'}",
      "{'id':'chatcmpl-a.b:c','object':'chat.completion','created':1,"
      "'model':'gpt-x','choices':[{'index':0,'message':{'role':'assistant',"
      "'content':'Hello.'},'finish_reason':'stop'}]}",
      { .present = true,
        .prompt_tokens = 100,
        .completion_tokens = 20,
        .total_tokens = 120,
        .cached_tokens = 30,
        .cache_write_tokens = 7,
        .reasoning_tokens = 5 },
      NULL,
      true },
    { "items and every echoed parameter",
      ALL_PARAMS,
      "{'id':'x','created':7,'model':'gpt-x','choices':[{'index':1,"
      "'message':{'content':'other'}},{'index':0,'message':{'role':"
      "'assistant','content':'Checking.','reasoning_content':'plan',"
      "'tool_calls':[{'id':'call_1','type':'function','function':{"
      "'name':'get','arguments':'{\\'a\\':1}'}},{'id':'call_2',"
      "'type':'function','function':{'name':'apply_patch',"
      "'arguments':'{\\'input\\':\\'*** Begin\\\\nx\\'}'}},{"
      "'type':'function','function':{'name':'exec','arguments':'not json'}},"
      "{'id':'call_4','type':'function','function':{'name':'ns__get',"
      "'arguments':'{}'}},{'id':'','type':'function','function':{'name':"
      "'unknown','arguments':null}},{'id':'call_6','type':'function',"
      "'function':{}},{'id':'call_7','function':{'name':'apply_patch',"
      "'arguments':'{\\'input\\':\\'a\\\\u0000b\\'}'}},{'id':"
      "'call_8','function':{'name':'ns__exec','arguments':'{\\'other"
      "\\':1}'}}]},'finish_reason':'tool_calls'}]}",
      { 0 },
      NULL,
      false },
    { "refusal without id or created",
      "{'model':'group','input':'hi'}",
      "{'choices':[{'index':0,'message':{'role':'assistant','content':null,"
      "'refusal':'No \\'way\\'.'}}]}",
      { 0 },
      "up-model",
      false },
    { "incomplete length, usage of the body",
      "{'model':'group','input':'hi','metadata':{}}",
      "{'id':'resp_q','created':1,'model':'m','choices':[{'index':0,"
      "'message':{'role':'assistant','content':'hi'},'finish_reason':"
      "'length'}],'usage':{'prompt_tokens':3,'completion_tokens':4,"
      "'prompt_tokens_details':{'cached_tokens':2},"
      "'completion_tokens_details':{'reasoning_tokens':1}}}",
      { 0 },
      NULL,
      false },
    { "content filter, parts, upstream model",
      "{'model':'group','input':'hi','tool_choice':'none','tools':[]}",
      "{'id':'c','created':2,'choices':[{'index':0,'message':{'role':"
      "'assistant','content':[{'type':'text','text':'a'},{'type':'text',"
      "'text':'b'}]},'finish_reason':'content_filter'}]}",
      { .present = true, .prompt_tokens = 1, .completion_tokens = 2 },
      "up-model",
      false },
    { "unicode, control characters and quotes",
      "{'model':'group','input':'hi'}",
      "{'id':'u','created':3,'model':'g\\'x','choices':[{'index':0,"
      "'message':{'role':'assistant','content':'h\\u00e9llo \\'q\\' "
      "\\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f "
      "\\u2028\\u2029 \\ud83d\\ude00 \\u0027 </script>',"
      "'reasoning':'r\\u0000cut'},'finish_reason':'stop'}]}",
      { 0 },
      NULL,
      false },
    { "unsafe and long id, request model",
      "{'model':'group','input':'hi'}",
      "{'id':'x/y z.\\u00e9:-_0123456789012345678901234567890123456789"
      "012345678901234567890123456789','created':4,'choices':[{'index':0,"
      "'message':{'role':'assistant','content':'t','tool_calls':[{"
      "'function':{'name':'f','arguments':'{}'}}]},'finish_reason':"
      "'stop'}]}",
      { 0 },
      NULL,
      false },
    { "no choice 0, saturated usage",
      "{'model':'group','input':'hi'}",
      "{'id':'n','created':5,'model':'m','choices':[{'index':1,'message':{"
      "'content':'no'}}]}",
      { .present = true,
        .prompt_tokens = INT64_MAX,
        .completion_tokens = 5,
        .total_tokens = 0,
        .cached_tokens = -3,
        .reasoning_tokens = -1 },
      NULL,
      false },
    { "empty text, refusal after text, calls only",
      "{'model':'group','input':'hi'," TOOLS "}",
      "{'id':'e','created':6,'model':'m','choices':[{'index':0,'message':{"
      "'content':'','reasoning_content':'','refusal':'','tool_calls':[{"
      "'id':'c1','function':{'name':'ns__exec','arguments':'{\\'input"
      "\\':\\'ls\\'}'}}]},'finish_reason':'tool_calls'},{'index':2}]}",
      { .present = true, .total_tokens = 9 },
      NULL,
      false },
    { "text wins over refusal",
      "{'model':'group','input':'hi'}",
      "{'id':'w','created':-8,'model':'m','choices':[{'index':0,'message':"
      "{'content':'yes','refusal':'no','reasoning':'think'},"
      "'finish_reason':'weird'}]}",
      { 0 },
      NULL,
      false },
};

/* Pin what the clock made up: created_at values of today. */
static void
pin(struct json_object *o)
{
    if (json_object_is_type(o, json_type_array))
        for (size_t i = 0; i < json_object_array_length(o); i++)
            pin(json_object_array_get_idx(o, i));
    if (!json_object_is_type(o, json_type_object))
        return;
    struct json_object *v;
    if (json_object_object_get_ex(o, "created_at", &v) &&
        json_object_get_int64(v) > 1000000000)
        json_object_object_add(o, "created_at", json_object_new_int64(0));
    json_object_object_foreach(o, k, m)
    {
        (void)k;
        pin(m);
    }
}

/* The JSON of 'text' as json-c writes it, pinned; 'text' must be
 * strict JSON. */
static const char *
normal(const char *text, size_t len)
{
    struct json_object *o;
    struct sy_json_result res;
    struct sy_json_limits lim = { 128, 0 };
    assert_int_equal(sy_json_parse_strict(text, len, &lim, &o, &res),
                     SY_JSON_OK);
    pin(o);
    const char *p = pin_ids(text_of(o));
    json_object_put(o);
    return p;
}

/* 'got' against 'want' (both normalised); prints what came when they
 * differ (how a new case gets its text in responses_reply_want.h), and
 * counts it in 'failed' so that every case is shown. */
static void
expect(const char *name, const char *got, const char *want, int *failed)
{
    if (strcmp(got, want) == 0)
        return;
    fprintf(stderr, "case (%s):\n%s\n", name, got);
    (*failed)++;
}

static void
test_reply_cases(void **state)
{
    (void)state;
    int failed = 0;
    assert_int_equal(SY_ARRAY_LEN(cases), SY_ARRAY_LEN(reply_want));
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const struct reply_case *c = &cases[i];
        memset(&req, 0, sizeof(req));
        assert_int_equal(parse(c->request), SY_OK);
        const char *raw = J(c->reply);
        struct sy_chat_resp resp = { .usage = c->usage,
                                     .upstream_model = c->upstream_model };
        if (c->tree) {
            resp.root = json_tokener_parse(raw);
            assert_non_null(resp.root);
            sy_arena_on_cleanup(&arena, sy_chat_json_free, resp.root);
        } else {
            resp.raw = raw;
            resp.raw_len = strlen(raw);
        }
        sy_buf_clear(&out);
        assert_int_equal(RS->reply(&req, &resp, &arena, &out), SY_OK);
        assert_int_equal(out.len, strlen(sy_buf_cstr(&out)));
        expect(c->name, normal(out.data, out.len),
               normal(reply_want[i], strlen(reply_want[i])), &failed);
    }
    assert_int_equal(failed, 0);
    /* Not a completion. */
    static const char *const bad[] = { "nope", "[1]", "{'id'" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        struct sy_chat_resp resp = { .raw = J(bad[i]),
                                     .raw_len = strlen(bad[i]) };
        assert_int_equal(RS->reply(&req, &resp, &arena, &out), SY_EUP_PROTO);
    }
}

/* One stream: its chunks (written with ' for "), the usage at its end
 * (NULL when none); its events and the Response kept for the store are
 * the same entry of stream_want[]. */
struct stream_case {
    const char *name;
    const char *request;
    const char *chunks[8];
    const struct sy_usage *usage;
};

#define CH(delta, finish)                                              \
    "{'id':'chatcmpl-9','object':'chat.completion.chunk','created':1," \
    "'model':'gpt-x','choices':[{'index':0,'delta':" delta             \
    ",'finish_reason':" finish "}]}"

static const struct sy_usage stream_usage = { .present = true,
                                              .prompt_tokens = 10,
                                              .completion_tokens = 6,
                                              .cached_tokens = 4,
                                              .cache_write_tokens = 1,
                                              .reasoning_tokens = 2 };

static const struct stream_case streams[] = {
    { "reasoning, text, tools, incomplete",
      ALL_PARAMS,
      { CH("{'reasoning_content':'th\\u00e9'}", "null"),
        CH("{'content':'a \\'q\\' \\n'}", "null"),
        CH("{'tool_calls':[{'index':0,'id':'call_a','function':{'name':"
           "'get','arguments':'{\\'a\\''}}]}",
           "null"),
        CH("{'tool_calls':[{'index':0,'function':{'arguments':':1}'}}]}",
           "null"),
        CH("{'tool_calls':[{'index':1,'function':{'name':'ns__exec',"
           "'arguments':'{\\'input\\':\\'ls\\'}'}}]}",
           "'length'"),
        NULL },
      &stream_usage },
    { "refusal, content filter",
      "{'model':'group','input':'hi'}",
      { CH("{'refusal':'no'}", "null"), CH("{}", "'content_filter'"), NULL },
      NULL },
    { "no chunks",
      "{'model':'group','input':'hi','metadata':{'a':'b'}}",
      { NULL },
      NULL },
};

/* Each "data: " line of a stream, and the "result: " line of the
 * Response kept, normalised. */
static const char *
normal_events(const char *text)
{
    struct sy_buf b;
    sy_buf_init(&b, 1u << 20);
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t skip = strncmp(p, "data: ", 6) == 0     ? 6
                      : strncmp(p, "result: ", 8) == 0 ? 8
                                                       : 0;
        if (skip > 0) {
            sy_buf_append(&b, p, skip);
            sy_buf_puts(&b, normal(p + skip, len - skip));
        } else {
            sy_buf_append(&b, p, len);
        }
        if (nl == NULL)
            break;
        sy_buf_puts(&b, "\n");
        p = nl + 1;
    }
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&b));
    sy_buf_free(&b);
    return r;
}

static void
test_stream_cases(void **state)
{
    (void)state;
    int failed = 0;
    assert_int_equal(SY_ARRAY_LEN(streams), SY_ARRAY_LEN(stream_want));
    for (size_t i = 0; i < SY_ARRAY_LEN(streams); i++) {
        const struct stream_case *c = &streams[i];
        memset(&req, 0, sizeof(req));
        assert_int_equal(parse(c->request), SY_OK);
        memset(st, 0, RS->stream_state_size);
        sy_buf_clear(&out);
        for (size_t k = 0; c->chunks[k] != NULL; k++) {
            const char *ch = J(c->chunks[k]);
            assert_int_equal(RS->stream_chunk(st, &req, ch, strlen(ch), &out),
                             SY_OK);
        }
        assert_int_equal(RS->stream_end(st, &req, c->usage, "0", &out), SY_OK);
        sy_buf_puts(&out, "result: ");
        assert_int_equal(RS->stream_result(st, &out), SY_OK);
        expect(c->name, normal_events(sy_buf_cstr(&out)),
               normal_events(stream_want[i]), &failed);
    }
    assert_int_equal(failed, 0);
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_cases, setup, teardown),
    };
    return cmocka_run_group_tests_name("responses_reply_cases", tests, NULL,
                                       NULL);
}
