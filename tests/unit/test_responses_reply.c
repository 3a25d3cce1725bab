/*
 * test_responses_reply.c - unit tests for what the OpenAI Responses
 * surface sends back (adapters/responses_surface_out.c, _stream.c): a
 * canonical reply into a Response, canonical chunks into the exact
 * sequence of Responses stream events (numbered from 0), custom and
 * namespaced tool calls, incomplete answers, the Response kept for the
 * conversation store, stream errors and error bodies.
 * SPDX-License-Identifier: MIT
 */
#include "responses_fixture.h"

/* The Response of a request {'model':'gpt-x',...} without other
 * parameters, up to its output, and from there to its usage. */
#define HEAD(id, status)                                                  \
    "{'id':'" id "','object':'response','created_at':1,'status':'" status \
    "','background':false,'error':null,'incomplete_details':null,"        \
    "'instructions':null,'max_output_tokens':null,'model':'gpt-x',"       \
    "'output':"
#define MID                                                           \
    ",'parallel_tool_calls':true,'previous_response_id':null,"        \
    "'reasoning':{'effort':null,'summary':null},'temperature':null,"  \
    "'text':{'format':{'type':'text'}},'tool_choice':'auto','tools':" \
    "[],'top_p':null,'truncation':'disabled','usage':"
#define TAIL ",'metadata':{}}"
#define USAGE(in, cached, out, think, total)                                   \
    "{'input_tokens':" #in ",'input_tokens_details':{'cached_tokens':" #cached \
    ",'cache_write_tokens':0},'output_tokens':" #out                           \
    ",'output_tokens_details':{'reasoning_tokens':" #think                     \
    "},'total_tokens':" #total "}"

#define TOOLS                                                            \
    "'tools':[{'type':'function','name':'get'},{'type':'custom','name':" \
    "'apply_patch'},{'type':'namespace','name':'ns','tools':[{'type':"   \
    "'custom','name':'exec'},{'type':'function','name':'get'}]}]"

static struct json_object *
tree(const char *text)
{
    struct json_object *o = json_tokener_parse(J(text));
    assert_non_null(o);
    sy_arena_on_cleanup(&arena, sy_chat_json_free, o);
    return o;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static void
test_reply_text(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'group','input':'hi'}"), SY_OK);
    struct sy_chat_resp resp = {
        .root = tree("{'id':'chatcmpl-a.b:c','object':'chat.completion',"
                     "'created':1,'model':'gpt-x','choices':[{'index':0,"
                     "'message':{'role':'assistant','content':'Hello.'},"
                     "'finish_reason':'stop'}]}")
    };
    resp.usage = (struct sy_usage){ .present = true,
                                    .prompt_tokens = 100,
                                    .completion_tokens = 20,
                                    .total_tokens = 120,
                                    .cached_tokens = 30,
                                    .reasoning_tokens = 5 };
    assert_int_equal(RS->reply(&req, &resp, &arena, &out), SY_OK);
    assert_string_equal(
        pin_ids(sy_buf_cstr(&out)),
        J(HEAD("resp_gwID",
               "completed") "[{'id':'msg_gwID_0',"
                            "'type':'message','status':'completed','role':'"
                            "assistant',"
                            "'content':[{'type':'output_text','text':'Hello.','"
                            "annotations':"
                            "[]}]}]" MID USAGE(100, 30, 20, 5, 120) TAIL));
}

static void
test_reply_items(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'group','input':'hi','instructions':'I',"
                           "'temperature':0.5,'max_output_tokens':50," TOOLS
                           ",'tool_choice':'required','metadata':{'k':'v'}}"),
                     SY_OK);
    struct sy_chat_resp resp = {
        .root = tree(
            "{'id':'x','created':7,'model':'gpt-x','choices':[{'index':1,"
            "'message':{'content':'other'}},{'index':0,'message':{'role':"
            "'assistant','content':'Checking.','reasoning_content':'plan',"
            "'tool_calls':[{'id':'call_1','type':'function','function':{"
            "'name':'get','arguments':'{\\'a\\':1}'}},{'id':'call_2',"
            "'type':'function','function':{'name':'apply_patch',"
            "'arguments':'{\\'input\\':\\'*** Begin\\\\nx\\'}'}},{'type':"
            "'function','function':{'name':'exec','arguments':'not json'}},"
            "{'id':'call_4','type':'function','function':{'name':'ns__get',"
            "'arguments':'{}'}}]},'finish_reason':'tool_calls'}]}")
    };
    assert_int_equal(RS->reply(&req, &resp, &arena, &out), SY_OK);
    struct json_object *r = tree(pin_ids(sy_buf_cstr(&out)));
    assert_string_equal(
        text_of(at(r, "output")),
        J("[{'id':'rs_gwID_0','type':'reasoning','summary':[{'type':"
          "'summary_text','text':'plan'}]},"
          "{'id':'msg_gwID_1','type':'message','status':'completed','role':"
          "'assistant','content':[{'type':'output_text','text':'Checking.',"
          "'annotations':[]}]},"
          "{'id':'fc_gwID_2','type':'function_call','status':'completed',"
          "'arguments':'{\\'a\\':1}','call_id':'call_1','name':'get'},"
          "{'id':'fc_gwID_3','type':'custom_tool_call','call_id':'call_2',"
          "'name':'apply_patch','input':'*** Begin\\nx'},"
          "{'id':'fc_gwID_4','type':'custom_tool_call','call_id':'call_gwID_4',"
          "'name':'exec','input':'not json','namespace':'ns'},"
          "{'id':'fc_gwID_5','type':'function_call','status':'completed',"
          "'arguments':'{}','call_id':'call_4','name':'get','namespace':"
          "'ns'}]"));
    /* The caller's parameters are echoed; no usage gives zeros. */
    assert_string_equal(json_object_get_string(at(r, "instructions")), "I");
    assert_string_equal(text_of(at(r, "temperature")), "0.5");
    assert_string_equal(text_of(at(r, "max_output_tokens")), "50");
    assert_string_equal(json_object_get_string(at(r, "tool_choice")),
                        "required");
    assert_int_equal(json_object_array_length(at(r, "tools")), 3);
    assert_string_equal(text_of(at(r, "metadata")), J("{'k':'v'}"));
    assert_string_equal(text_of(at(r, "created_at")), "7");
    assert_string_equal(text_of(at(r, "usage")), J(USAGE(0, 0, 0, 0, 0)));
    assert_string_equal(json_object_get_string(at(r, "status")), "completed");
}

static void
test_reply_incomplete(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'gpt-x','input':'hi'}"), SY_OK);
    static const char *const map[][2] = { { "length", "max_output_tokens" },
                                          { "content_filter",
                                            "content_filter" } };
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++) {
        char raw[256];
        snprintf(raw, sizeof(raw),
                 "{\"id\":\"resp_q\",\"created\":1,\"choices\":[{\"index\":0,"
                 "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                 "\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":3,"
                 "\"completion_tokens\":4}}",
                 map[i][0]);
        struct sy_chat_resp r2 = { .raw = raw, .raw_len = strlen(raw) };
        sy_buf_clear(&out);
        assert_int_equal(RS->reply(&req, &r2, &arena, &out), SY_OK);
        char want[1024];
        snprintf(want, sizeof(want),
                 "{'id':'resp_gwID','object':'response','created_at':1,"
                 "'status':'incomplete','background':false,'error':null,"
                 "'incomplete_details':{'reason':'%s'},",
                 map[i][1]);
        assert_int_equal(
            strncmp(pin_ids(sy_buf_cstr(&out)), J(want), strlen(want)), 0);
        assert_non_null(strstr(pin_ids(sy_buf_cstr(&out)),
                               J("'status':'incomplete','role':'assistant'")));
        assert_non_null(strstr(pin_ids(sy_buf_cstr(&out)),
                               J("'usage':" USAGE(3, 0, 4, 0, 7))));
    }
    /* A refusal; no id. */
    const char *raw = "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
                      "\"assistant\",\"content\":null,\"refusal\":\"No.\"}}]}";
    struct sy_chat_resp r3 = { .raw = raw, .raw_len = strlen(raw) };
    sy_buf_clear(&out);
    assert_int_equal(RS->reply(&req, &r3, &arena, &out), SY_OK);
    assert_non_null(
        strstr(pin_ids(sy_buf_cstr(&out)),
               J("'content':[{'type':'refusal','refusal':'No.'}]")));
    assert_int_equal(
        strncmp(pin_ids(sy_buf_cstr(&out)), J("{'id':'resp_gw"), 14), 0);
    struct sy_chat_resp bad = { .raw = "nope", .raw_len = 4 };
    assert_int_not_equal(RS->reply(&req, &bad, &arena, &out), SY_OK);
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
    for (size_t i = 0; chunks[i] != NULL; i++) {
        const char *c = J(chunks[i]);
        assert_int_equal(RS->stream_chunk(st, &req, c, strlen(c), &out), SY_OK);
    }
    assert_int_equal(RS->stream_end(st, &req, u, "0", &out), SY_OK);
}

/* The events of the output, one word each: the name without
 * "response.", and ":DELTA" for deltas. Checks that each is
 * "event: NAME\ndata: JSON\n\n" with the data's type NAME and the
 * sequence_numbers 0, 1, 2 ... */
static const char *
summary(void)
{
    struct sy_buf s;
    sy_buf_init(&s, 1u << 20);
    char *text = sy_arena_strdup(&arena, pin_ids(sy_buf_cstr(&out)));
    int64_t seq = 0;
    for (char *p = text; *p != '\0'; seq++) {
        assert_int_equal(strncmp(p, "event: ", 7), 0);
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        const char *name = p + 7;
        char *data = nl + 1, *end = strstr(data, "\n\n");
        assert_int_equal(strncmp(data, "data: ", 6), 0);
        assert_non_null(end);
        *end = '\0';
        struct json_object *d = json_tokener_parse(data + 6);
        assert_non_null(d);
        assert_string_equal(json_object_get_string(at(d, "type")), name);
        assert_int_equal(json_object_get_int64(at(d, "sequence_number")), seq);
        if (s.len > 0)
            sy_buf_puts(&s, " ");
        sy_buf_puts(&s, strncmp(name, "response.", 9) == 0 ? name + 9 : name);
        struct json_object *delta = at(d, "delta");
        if (delta != NULL)
            sy_buf_printf(&s, ":%s", json_object_get_string(delta));
        json_object_put(d);
        p = end + 2;
    }
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    return r;
}

/* The data of the event named 'name' (the 'nth' of them, from 0). */
static struct json_object *
event_data(const char *name, int nth)
{
    char key[128];
    snprintf(key, sizeof(key), "event: %s\ndata: ", name);
    const char *p = pin_ids(sy_buf_cstr(&out));
    for (int i = 0; p != NULL && i <= nth; i++) {
        p = strstr(p, key);
        if (p != NULL && i < nth)
            p += strlen(key);
    }
    assert_non_null(p);
    p += strlen(key);
    return tree(sy_arena_strndup(&arena, p, (size_t)(strstr(p, "\n") - p)));
}

#define ID "'item_id':'msg_gwID_0','output_index':0"
#define PART(t) \
    "{'type':'output_text','annotations':[],'logprobs':[],'text':'" t "'}"
#define MSG(status, content)                                     \
    "{'id':'msg_gwID_0','type':'message','status':'" status "'," \
    "'role':'assistant','content':" content "}"
#define EV(name, seq, rest)                                        \
    "event: response." name "\ndata: {'type':'response." name "'," \
    "'sequence_number':" #seq "," rest "}\n\n"
#define START HEAD("resp_gwID", "in_progress") "[]" MID "null" TAIL
#define DONE                                                                  \
    HEAD("resp_gwID", "completed")                                            \
    "[" MSG("completed", "[" PART("Hello") "]") "]" MID USAGE(9, 4, 2, 0, 11) \
        TAIL

/* The events of test_stream_text_exact, in order. */
static const char *const text_stream[] = {
    EV("created", 0, "'response':" START),
    EV("in_progress", 1, "'response':" START),
    EV("output_item.added", 2,
       "'output_index':0,'item':" MSG("in_progress", "[]")),
    EV("content_part.added", 3, ID ",'content_index':0,'part':" PART("")),
    EV("output_text.delta", 4,
       ID ",'content_index':0,'delta':'Hel','logprobs':[]"),
    EV("output_text.delta", 5,
       ID ",'content_index':0,'delta':'lo','logprobs':[]"),
    EV("output_text.done", 6,
       ID ",'content_index':0,'text':'Hello','logprobs':[]"),
    EV("content_part.done", 7, ID ",'content_index':0,'part':" PART("Hello")),
    EV("output_item.done", 8,
       "'output_index':0,'item':" MSG("completed", "[" PART("Hello") "]")),
    EV("completed", 9, "'response':" DONE),
};

static void
test_stream_text_exact(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'group','input':'hi','stream':true}"),
                     SY_OK);
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
                          .total_tokens = 11,
                          .cached_tokens = 4 };
    feed(chunks, &u);
    struct sy_buf want;
    sy_buf_init(&want, 1u << 20);
    for (size_t i = 0; i < SY_ARRAY_LEN(text_stream); i++)
        sy_buf_puts(&want, J(text_stream[i]));
    assert_string_equal(pin_ids(sy_buf_cstr(&out)), sy_buf_cstr(&want));
    sy_buf_free(&want);
    /* The Response kept for the conversation store is the completed
     * one. */
    struct sy_buf kept;
    sy_buf_init(&kept, 1u << 20);
    assert_int_equal(RS->stream_result(st, &kept), SY_OK);
    assert_string_equal(
        text_of(tree(pin_ids(sy_buf_cstr(&kept)))),
        text_of(at(event_data("response.completed", 0), "response")));
    sy_buf_free(&kept);
    /* Nothing after the end. */
    const char *c = J(CH("{'content':'late'}", "null"));
    size_t len = out.len;
    assert_int_equal(RS->stream_chunk(st, &req, c, strlen(c), &out), SY_OK);
    assert_int_equal(out.len, len);
}

static void
test_stream_tools(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{'model':'gpt-x','input':'hi','stream':true," TOOLS "}"), SY_OK);
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':'Checking.'}", "null"),
        CH(TC(0, "call_1", "get", ""), "null"),
        CH(TA(0, "{\\'ci"), "null"),
        CH(TA(0, "ty\\':1}"), "null"),
        CH(TC(1, "call_2", "apply_patch", "{\\'input\\':"), "null"),
        CH(TA(1, "\\'*** Begin\\'}"), "null"),
        CH(TA(0, "late"), "null"),
        CH(TC(2, "", "ns__get", "{}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks, NULL);
    assert_string_equal(
        summary(),
        "created in_progress output_item.added content_part.added "
        "output_text.delta:Checking. output_text.done content_part.done "
        "output_item.done output_item.added "
        "function_call_arguments.delta:{\"ci "
        "function_call_arguments.delta:ty\":1} function_call_arguments.done "
        "output_item.done output_item.added "
        "custom_tool_call_input.delta:*** Begin custom_tool_call_input.done "
        "output_item.done output_item.added function_call_arguments.delta:{} "
        "function_call_arguments.done output_item.done completed");
    assert_string_equal(
        text_of(at(event_data("response.output_item.added", 1), "item")),
        J("{'id':'fc_gwID_1','type':'function_call','status':"
          "'in_progress','arguments':'','call_id':'call_1','name':'get'}"));
    assert_string_equal(
        text_of(at(event_data("response.output_item.added", 2), "item")),
        J("{'id':'fc_gwID_2','type':'custom_tool_call','call_id':"
          "'call_2','name':'apply_patch','input':''}"));
    assert_string_equal(
        text_of(event_data("response.custom_tool_call_input.done", 0)),
        J("{'type':'response.custom_tool_call_input.done',"
          "'sequence_number':15,'item_id':'fc_gwID_2','output_index':"
          "2,'input':'*** Begin'}"));
    struct json_object *done =
        at(event_data("response.completed", 0), "response.output");
    assert_string_equal(
        text_of(json_object_array_get_idx(done, 1)),
        J("{'id':'fc_gwID_1','type':'function_call','status':"
          "'completed','arguments':'{\\'city\\':1}','call_id':'call_1',"
          "'name':'get'}"));
    assert_string_equal(
        text_of(json_object_array_get_idx(done, 3)),
        J("{'id':'fc_gwID_3','type':'function_call','status':"
          "'completed','arguments':'{}','call_id':'call_gwID_2',"
          "'name':'get','namespace':'ns'}"));
}

static void
test_stream_reasoning_incomplete(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'gpt-x','input':'hi','stream':true}"),
                     SY_OK);
    static const char *const chunks[] = {
        CH("{'role':'assistant','reasoning_content':'Let me'}", "null"),
        CH("{'reasoning_content':' think'}", "null"),
        CH("{'content':'42'}", "null"),
        /* choice 1, usage-only chunks and non-chunks are not shown */
        "{'id':'c','choices':[{'index':1,'delta':{'content':'other'}}]}",
        "{'id':'c','choices':[],'usage':{'prompt_tokens':1}}", "[1]",
        CH("{}", "'length'"), NULL
    };
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 50,
                          .completion_tokens = 30,
                          .reasoning_tokens = 12 };
    feed(chunks, &u);
    assert_string_equal(summary(),
                        "created in_progress output_item.added "
                        "reasoning_summary_part.added "
                        "reasoning_summary_text.delta:Let me "
                        "reasoning_summary_text.delta: think "
                        "reasoning_summary_text.done "
                        "reasoning_summary_part.done output_item.done "
                        "output_item.added content_part.added "
                        "output_text.delta:42 output_text.done "
                        "content_part.done output_item.done incomplete");
    assert_string_equal(
        text_of(at(event_data("response.output_item.done", 0), "item")),
        J("{'id':'rs_gwID_0','type':'reasoning','summary':[{'type':"
          "'summary_text','text':'Let me think'}]}"));
    struct json_object *r =
        at(event_data("response.incomplete", 0), "response");
    assert_string_equal(json_object_get_string(at(r, "status")), "incomplete");
    assert_string_equal(text_of(at(r, "incomplete_details")),
                        J("{'reason':'max_output_tokens'}"));
    assert_string_equal(json_object_get_string(at(r, "output.1.status")),
                        "incomplete");
    assert_string_equal(text_of(at(r, "usage")), J(USAGE(50, 0, 30, 12, 80)));
}

static void
test_stream_refusal(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'gpt-x','input':'hi','stream':true}"),
                     SY_OK);
    static const char *const chunks[] = {
        CH("{'role':'assistant','refusal':'I can'}", "null"),
        CH("{'refusal':'not.'}", "null"), CH("{}", "'content_filter'"), NULL
    };
    feed(chunks, NULL);
    assert_string_equal(summary(),
                        "created in_progress output_item.added "
                        "content_part.added refusal.delta:I can "
                        "refusal.delta:not. refusal.done content_part.done "
                        "output_item.done incomplete");
    assert_string_equal(
        text_of(at(event_data("response.output_item.done", 0), "item")),
        J("{'id':'msg_gwID_0','type':'message','status':'incomplete',"
          "'role':'assistant','content':[{'type':'refusal','refusal':"
          "'I cannot.'}]}"));
    assert_string_equal(text_of(at(event_data("response.incomplete", 0),
                                   "response.incomplete_details")),
                        J("{'reason':'content_filter'}"));
}

/* A provider's text holding a NUL ("\u0000", valid JSON), even first,
 * reaches the caller whole and escaped, in the reply and in the stream. */
static void
test_nul_in_reply(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'gpt-x','input':'hi'}"), SY_OK);
    struct sy_chat_resp resp = {
        .root = tree("{'id':'x','created':1,'model':'gpt-x','choices':[{"
                     "'index':0,'message':{'role':'assistant','content':"
                     "'\\u0000OK\\u0000MORE','reasoning_content':"
                     "'P\\u0000Q'},'finish_reason':'stop'}]}")
    };
    assert_int_equal(RS->reply(&req, &resp, &arena, &out), SY_OK);
    assert_non_null(
        strstr(sy_buf_cstr(&out), J("'text':'P\\u0000Q'}]},{'id':")));
    assert_non_null(
        strstr(sy_buf_cstr(&out), J("'text':'\\u0000OK\\u0000MORE'")));
    struct sy_chat_resp refused = {
        .root = tree("{'id':'x','created':1,'model':'gpt-x','choices':[{"
                     "'index':0,'message':{'role':'assistant','refusal':"
                     "'\\u0000No'},'finish_reason':'stop'}]}")
    };
    sy_buf_clear(&out);
    assert_int_equal(RS->reply(&req, &refused, &arena, &out), SY_OK);
    assert_non_null(strstr(sy_buf_cstr(&out), J("'refusal':'\\u0000No'}]}")));

    assert_int_equal(parse("{'model':'gpt-x','input':'hi','stream':true}"),
                     SY_OK);
    static const char *const chunks[] = {
        CH("{'role':'assistant','reasoning_content':'R\\u0000S'}", "null"),
        CH("{'content':'\\u0000Hel'}", "null"),
        CH("{'content':'l\\u0000o'}", "'stop'"), NULL
    };
    sy_buf_clear(&out);
    feed(chunks, NULL);
    const char *o = sy_buf_cstr(&out);
    assert_non_null(strstr(o, J("'delta':'R\\u0000S'")));
    assert_non_null(strstr(o, J("'delta':'\\u0000Hel'")));
    assert_non_null(strstr(o, J("'delta':'l\\u0000o'")));
    assert_non_null(strstr(o, J("'text':'\\u0000Hell\\u0000o'")));
    assert_non_null(strstr(o, J("'text':'R\\u0000S'")));
}

static void
test_stream_empty_retry_and_error(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'group','input':'hi','stream':true}"),
                     SY_OK);
    static const char *const none[] = { NULL };
    feed(none, NULL);
    assert_string_equal(summary(), "created in_progress completed");
    assert_non_null(strstr(pin_ids(sy_buf_cstr(&out)), J("'id':'resp_gw")));
    assert_non_null(strstr(pin_ids(sy_buf_cstr(&out)), J("'model':'group'")));

    /* A new attempt (the pipeline zeroes the state) starts afresh. */
    memset(st, 0, RS->stream_state_size);
    sy_buf_clear(&out);
    const char *c = J(CH("{'content':'a'}", "null"));
    assert_int_equal(RS->stream_chunk(st, &req, c, strlen(c), &out), SY_OK);
    sy_buf_clear(&out);
    RS->stream_error(st, 502, "the provider is \"busy\"", "upstream_error",
                     NULL, &out);
    /* The error event, then the started response ends as failed with
     * the same error. */
    const char *want_err = J("event: error\ndata: {'type':'error',"
                             "'sequence_number':5,'code':'upstream_error',"
                             "'message':'the provider is \\'busy\\'','param':"
                             "null}\n\n");
    assert_memory_equal(pin_ids(sy_buf_cstr(&out)), want_err, strlen(want_err));
    const char *failed = pin_ids(sy_buf_cstr(&out)) + strlen(want_err);
    assert_non_null(strstr(failed, "event: response.failed\n"));
    assert_non_null(strstr(failed, J("'sequence_number':6")));
    assert_non_null(strstr(failed, J("'status':'failed'")));
    assert_non_null(strstr(failed, J("'code':'upstream_error'")));
    struct sy_buf kept;
    sy_buf_init(&kept, 1024);
    assert_int_not_equal(RS->stream_result(st, &kept), SY_OK);
    sy_buf_free(&kept);
    /* Nothing follows the error. */
    size_t len = out.len;
    assert_int_equal(RS->stream_end(st, &req, NULL, "0", &out), SY_OK);
    assert_int_equal(out.len, len);
}

static void
test_error_bodies(void **state)
{
    (void)state;
    RS->error_body(&out, 400, "input is \"bad\"", "invalid_request_error",
                   "input[2].content[0].type", NULL);
    assert_string_equal(pin_ids(sy_buf_cstr(&out)),
                        J("{'error':{'message':'input is \\'bad\\'',"
                          "'type':'invalid_request_error','param':"
                          "'input[2].content[0].type','code':null}}"));
    sy_buf_clear(&out);
    RS->error_body(&out, 429, "slow down", "rate_limit_error", NULL,
                   "rate_limit_exceeded");
    assert_string_equal(pin_ids(sy_buf_cstr(&out)),
                        J("{'error':{'message':'slow down','type':"
                          "'rate_limit_error','param':null,'code':"
                          "'rate_limit_exceeded'}}"));
}

/* Each response gets its own id whatever the provider's was: a provider
 * that repeats ids (an OpenAI-compatible server drawing them from a few
 * hundred values) must not make two conversations share a record of the
 * store. The id is "resp_gw" and 32 hex digits, its items' ids are made
 * from it, and a stream's id is new too. */
static void
test_ids_unique(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'group','input':'hi'}"), SY_OK);
    const char *raw = J("{'id':'chatcmpl-fixed','created':1,'choices':[{"
                        "'index':0,'message':{'role':'assistant','content':"
                        "'hi'},'finish_reason':'stop'}]}");
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        struct sy_chat_resp r = { .raw = raw, .raw_len = strlen(raw) };
        sy_buf_clear(&out);
        assert_int_equal(RS->reply(&req, &r, &arena, &out), SY_OK);
        struct json_object *o = tree(sy_buf_cstr(&out));
        const char *id = json_object_get_string(at(o, "id"));
        assert_int_equal(strlen(id), 7 + 2 * SY_RSURF_ID_BYTES);
        assert_int_equal(strncmp(id, "resp_gw", 7), 0);
        for (const char *p = id + 7; *p != '\0'; p++)
            assert_true(isxdigit((unsigned char)*p) && !isupper(*p));
        char item[80];
        snprintf(item, sizeof(item), "msg_%s_0", id + 5);
        assert_string_equal(json_object_get_string(at(o, "output.0.id")), item);
        snprintf(ids[i], sizeof(ids[i]), "%s", id);
        for (int k = 0; k < i; k++)
            assert_string_not_equal(ids[k], ids[i]);
    }
    assert_int_equal(parse("{'model':'group','input':'hi','stream':true}"),
                     SY_OK);
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':'hi'}", "'stop'"), NULL
    };
    sy_buf_clear(&out);
    feed(chunks, NULL);
    const char *sid = json_object_get_string(
        at(event_data("response.created", 0), "response.id"));
    assert_int_equal(strncmp(sid, "resp_gw", 7), 0);
    for (int k = 0; k < 3; k++)
        assert_string_not_equal(ids[k], sid);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_reply_text),       T(test_reply_items),
        T(test_reply_incomplete), T(test_stream_text_exact),
        T(test_stream_tools),     T(test_stream_reasoning_incomplete),
        T(test_stream_refusal),   T(test_stream_empty_retry_and_error),
        T(test_error_bodies),     T(test_ids_unique),
        T(test_nul_in_reply),
#undef T
    };
    return cmocka_run_group_tests_name("responses_reply", tests, NULL, NULL);
}
