/*
 * test_responses_stream_tools.c - unit tests for the tool calls of a
 * translated Responses stream (adapters/responses_surface_stream.c and
 * responses_surface_calls.c): a provider that interleaves the argument
 * pieces of parallel calls (index 0, 1, 0, 1 ...) must give the caller
 * every call whole, each in its own item with its own output_index; a
 * sequential stream keeps its events as they were; arguments that are
 * never whole are kept whole too; what cannot be held ends the stream
 * with an error event, never with a call cut short. Each stream is also
 * replayed the way the OpenAI SDK's ResponseStream accumulates it.
 * SPDX-License-Identifier: MIT
 */
#include "responses_fixture.h"
#include "base/limits.h"

#define TOOLS                                                             \
    "'tools':[{'type':'function','name':'get'},{'type':'function','name'" \
    ":'put'},{'type':'function','name':'f0'},{'type':'function','name':"  \
    "'f1'},{'type':'custom','name':'apply_patch'}]"

static int
setup_req(void **state)
{
    setup(state);
    assert_int_equal(
        parse("{'model':'gpt-x','input':'hi','stream':true," TOOLS "}"), SY_OK);
    return 0;
}

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

/* Feed 'chunks' (NULL-terminated) to stream state 'ss', each accepted,
 * and end the stream. */
static void
feed_to(void *ss, const char *const *chunks)
{
    for (size_t i = 0; chunks[i] != NULL; i++) {
        const char *c = J(chunks[i]);
        assert_int_equal(RS->stream_chunk(ss, &req, c, strlen(c), &out), SY_OK);
    }
    assert_int_equal(RS->stream_end(ss, &req, NULL, "0", &out), SY_OK);
}

static void
feed(const char *const *chunks)
{
    feed_to(st, chunks);
}

/* The data of every event of the output, in order, as a new array;
 * each is checked to be "event: NAME\ndata: JSON\n\n" with type NAME
 * and sequence_number 0, 1, 2 ... */
static struct json_object *
events(void)
{
    struct json_object *all = json_object_new_array();
    char *text = sy_arena_strdup(&arena, pin_ids(sy_buf_cstr(&out)));
    int64_t seq = 0;
    for (char *p = text; *p != '\0'; seq++) {
        assert_int_equal(strncmp(p, "event: ", 7), 0);
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        char *data = nl + 1, *end = strstr(data, "\n\n");
        assert_int_equal(strncmp(data, "data: ", 6), 0);
        assert_non_null(end);
        *end = '\0';
        struct json_object *d = json_tokener_parse(data + 6);
        assert_non_null(d);
        assert_string_equal(json_object_get_string(at(d, "type")), p + 7);
        assert_int_equal(json_object_get_int64(at(d, "sequence_number")), seq);
        json_object_array_add(all, d);
        p = end + 2;
    }
    return all;
}

/* One word per event: its name without "response.", then ":N" its
 * output_index when it has one and ":DELTA" or ":ARGUMENTS" when it
 * has them. */
static const char *
summary(void)
{
    struct json_object *all = events();
    struct sy_buf s;
    sy_buf_init(&s, 1u << 20);
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *d = json_object_array_get_idx(all, i);
        const char *name = json_object_get_string(at(d, "type"));
        if (s.len > 0)
            sy_buf_puts(&s, " ");
        sy_buf_puts(&s, strncmp(name, "response.", 9) == 0 ? name + 9 : name);
        if (at(d, "output_index") != NULL)
            sy_buf_printf(&s, ":%s",
                          json_object_get_string(at(d, "output_index")));
        if (at(d, "delta") != NULL)
            sy_buf_printf(&s, ":%s", json_object_get_string(at(d, "delta")));
        if (at(d, "arguments") != NULL)
            sy_buf_printf(&s, ":%s",
                          json_object_get_string(at(d, "arguments")));
    }
    json_object_put(all);
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    return r;
}

/* The stream as the OpenAI SDK's ResponseStream accumulates it: an
 * added item is appended at output_index == the output's length (never
 * one twice); every later event names an item that is in progress by
 * its output_index and item_id; deltas are joined per item and the
 * .done events must repeat them; response.completed must list the same
 * items in output_index order, each done, with the same arguments. The
 * calls as "call_id name arguments" ("; " between; a custom call's
 * input instead of its arguments). */
static const char *
sdk_calls(void)
{
    struct json_object *all = events();
    struct json_object *items = json_object_new_array();
    bool done[64] = { false };
    struct json_object *final = NULL;
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *d = json_object_array_get_idx(all, i);
        const char *type = json_object_get_string(at(d, "type"));
        struct json_object *oi = at(d, "output_index");
        size_t n = json_object_array_length(items);
        if (strcmp(type, "response.completed") == 0) {
            final = at(d, "response.output");
            continue;
        }
        if (oi == NULL)
            continue;
        size_t k = (size_t)json_object_get_int64(oi);
        if (strcmp(type, "response.output_item.added") == 0) {
            assert_int_equal(k, n);
            assert_true(k < 64);
            json_object_array_add(items, json_object_get(at(d, "item")));
            continue;
        }
        assert_true(k < n);
        assert_false(done[k]);
        struct json_object *item = json_object_array_get_idx(items, k);
        if (strcmp(type, "response.output_item.done") == 0) {
            struct json_object *it = at(d, "item");
            assert_string_equal(json_object_get_string(at(it, "id")),
                                json_object_get_string(at(item, "id")));
            if (at(item, "arguments") != NULL)
                assert_string_equal(
                    json_object_get_string(at(it, "arguments")),
                    json_object_get_string(at(item, "arguments")));
            json_object_array_put_idx(items, k, json_object_get(it));
            done[k] = true;
            continue;
        }
        assert_string_equal(json_object_get_string(at(d, "item_id")),
                            json_object_get_string(at(item, "id")));
        if (strcmp(type, "response.function_call_arguments.delta") == 0) {
            const char *a = json_object_get_string(at(item, "arguments"));
            json_object_object_add(
                item, "arguments",
                json_object_new_string(
                    sy_arena_printf(&arena, "%s%s", a,
                                    json_object_get_string(at(d, "delta")))));
        } else if (strcmp(type, "response.function_call_arguments.done") == 0) {
            assert_string_equal(json_object_get_string(at(d, "arguments")),
                                json_object_get_string(at(item, "arguments")));
        }
    }
    assert_non_null(final);
    assert_int_equal(json_object_array_length(final),
                     json_object_array_length(items));
    struct sy_buf s;
    sy_buf_init(&s, 1u << 20);
    for (size_t k = 0; k < json_object_array_length(items); k++) {
        struct json_object *item = json_object_array_get_idx(items, k);
        assert_true(done[k]);
        assert_string_equal(text_of(item),
                            text_of(json_object_array_get_idx(final, k)));
        const char *type = json_object_get_string(at(item, "type"));
        if (strcmp(type, "message") == 0)
            continue;
        if (s.len > 0)
            sy_buf_puts(&s, "; ");
        bool custom = strcmp(type, "custom_tool_call") == 0;
        sy_buf_printf(
            &s, "%s %s %s", json_object_get_string(at(item, "call_id")),
            json_object_get_string(at(item, "name")),
            json_object_get_string(at(item, custom ? "input" : "arguments")));
    }
    json_object_put(items);
    json_object_put(all);
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    return r;
}

/* ------------------------------------------------------------------ */
/* Interleaved calls                                                   */

/* Two calls whose pieces alternate, after a text: both items open side
 * by side, each delta goes to its own, and both close whole at the end,
 * in output_index order. */
static void
test_interleaved_two(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':'On it.'}", "null"),
        CH(TC(0, "call_a", "get", ""), "null"),
        CH(TC(1, "call_b", "put", ""), "null"),
        CH(TA(0, "{\\'city\\':"), "null"),
        CH(TA(1, "{\\'key\\':"), "null"),
        CH(TA(0, "\\'Oslo\\'}"), "null"),
        CH(TA(1, "\\'k\\',\\'v\\':[1,"), "null"),
        CH(TA(1, "2]}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(sdk_calls(), "call_a get {\"city\":\"Oslo\"}; "
                                     "call_b put {\"key\":\"k\",\"v\":[1,2]}");
    assert_string_equal(
        summary(),
        "created in_progress output_item.added:0 content_part.added:0 "
        "output_text.delta:0:On it. output_text.done:0 content_part.done:0 "
        "output_item.done:0 output_item.added:1 output_item.added:2 "
        "function_call_arguments.delta:1:{\"city\": "
        "function_call_arguments.delta:2:{\"key\": "
        "function_call_arguments.delta:1:\"Oslo\"} "
        "function_call_arguments.delta:2:\"k\",\"v\":[1, "
        "function_call_arguments.delta:2:2]} "
        "function_call_arguments.done:1:{\"city\":\"Oslo\"} "
        "output_item.done:1 "
        "function_call_arguments.done:2:{\"key\":\"k\",\"v\":[1,2]} "
        "output_item.done:2 completed");
}

/* Pieces of both calls in one chunk, alternating, in the other order
 * the second time. */
static void
test_interleaved_in_one_chunk(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'tool_calls':[{'index':0,'id':'c0','function':{'name':'get',"
           "'arguments':'{\\'x\\''}},{'index':1,'id':'c1','function':{"
           "'name':'put','arguments':'{\\'y\\''}}]}",
           "null"),
        CH("{'tool_calls':[{'index':1,'function':{'arguments':':2}'}},"
           "{'index':0,'function':{'arguments':':1}'}}]}",
           "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(sdk_calls(), "c0 get {\"x\":1}; c1 put {\"y\":2}");
}

/* Three calls, one a custom tool: the third is whole before the
 * second, a string in the second holds braces; every item stays open
 * until the end, the custom call's input told whole at its close. */
static void
test_interleaved_three(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "c0", "f0", "{\\'a\\':"), "null"),
        CH(TC(1, "c1", "f1", "{\\'b\\':"), "null"),
        CH(TC(2, "c2", "apply_patch", "{\\'input\\':"), "null"),
        CH(TA(2, "\\'*** Begin\\'}"), "null"),
        CH(TA(1, "\\'}{\\'"), "null"),
        CH(TA(0, "[0]}"), "null"),
        CH(TA(1, "}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(sdk_calls(), "c0 f0 {\"a\":[0]}; c1 f1 {\"b\":\"}{\"}; "
                                     "c2 apply_patch *** Begin");
    assert_string_equal(
        summary(),
        "created in_progress output_item.added:0 "
        "function_call_arguments.delta:0:{\"a\": output_item.added:1 "
        "function_call_arguments.delta:1:{\"b\": output_item.added:2 "
        "function_call_arguments.delta:1:\"}{\" "
        "function_call_arguments.delta:0:[0]} "
        "function_call_arguments.delta:1:} "
        "function_call_arguments.done:0:{\"a\":[0]} output_item.done:0 "
        "function_call_arguments.done:1:{\"b\":\"}{\"} output_item.done:1 "
        "custom_tool_call_input.delta:2:*** Begin "
        "custom_tool_call_input.done:2 output_item.done:2 completed");
    /* The Response kept for the conversation store lists them too. */
    struct sy_buf kept;
    sy_buf_init(&kept, 1u << 20);
    assert_int_equal(RS->stream_result(st, &kept), SY_OK);
    struct json_object *r = json_tokener_parse(sy_buf_cstr(&kept));
    assert_non_null(r);
    assert_string_equal(json_object_get_string(at(r, "output.1.arguments")),
                        "{\"b\":\"}{\"}");
    assert_string_equal(json_object_get_string(at(r, "output.2.input")),
                        "*** Begin");
    json_object_put(r);
    sy_buf_free(&kept);
}

/* When every open call is whole, a new call closes them first, even
 * after an interleaved stretch; the calls that follow open next to the
 * new one again. */
static void
test_interleaved_then_whole(void **state)
{
    (void)state;
    static const char *const chunks[] = { CH(TC(0, "c0", "f0", "{"), "null"),
                                          CH(TC(1, "c1", "f1", "{"), "null"),
                                          CH(TA(0, "}"), "null"),
                                          CH(TA(1, "}"), "null"),
                                          CH(TC(2, "c2", "get", "{}"), "null"),
                                          CH(TA(0, " "),
                                             "null"), /* c0 closed: dropped */
                                          NULL };
    feed(chunks);
    assert_string_equal(sdk_calls(), "c0 f0 {}; c1 f1 {}; c2 get {}");
    assert_string_equal(
        summary(),
        "created in_progress output_item.added:0 "
        "function_call_arguments.delta:0:{ output_item.added:1 "
        "function_call_arguments.delta:1:{ function_call_arguments.delta:0:} "
        "function_call_arguments.delta:1:} function_call_arguments.done:0:{} "
        "output_item.done:0 function_call_arguments.done:1:{} "
        "output_item.done:1 output_item.added:2 "
        "function_call_arguments.delta:2:{} function_call_arguments.done:2:{} "
        "output_item.done:2 completed");
}

/* ------------------------------------------------------------------ */
/* Sequential calls and arguments that are never whole                 */

/* One call after the other: the events are those the stream always
 * sent (each item closed when the next call starts); a late piece of a
 * whole call is dropped. */
static void
test_sequential_unchanged(void **state)
{
    (void)state;
    static const char *const chunks[] = { CH(TC(0, "c0", "get", ""), "null"),
                                          CH(TA(0, "{\\'ci"), "null"),
                                          CH(TA(0, "ty\\':1}"), "null"),
                                          CH(TC(1, "c1", "put", "{\\'k\\':"),
                                             "null"),
                                          CH(TA(1, "2}"), "null"),
                                          CH(TA(0, "late"), "null"),
                                          CH(TC(2, "", "f0", "{}"), "null"),
                                          CH("{}", "'tool_calls'"),
                                          NULL };
    feed(chunks);
    assert_string_equal(
        summary(),
        "created in_progress output_item.added:0 "
        "function_call_arguments.delta:0:{\"ci "
        "function_call_arguments.delta:0:ty\":1} "
        "function_call_arguments.done:0:{\"city\":1} output_item.done:0 "
        "output_item.added:1 function_call_arguments.delta:1:{\"k\": "
        "function_call_arguments.delta:1:2} "
        "function_call_arguments.done:1:{\"k\":2} output_item.done:1 "
        "output_item.added:2 function_call_arguments.delta:2:{} "
        "function_call_arguments.done:2:{} output_item.done:2 completed");
    assert_string_equal(sdk_calls(), "c0 get {\"city\":1}; c1 put {\"k\":2}; "
                                     "call_gwID_2 f0 {}");
}

/* Arguments that never make a whole JSON object (a number, a string,
 * none at all, an object cut short) keep their item open next to the
 * calls after them: every piece reaches the caller, at the end. */
static void
test_never_whole(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "c0", "f0", "12"), "null"),
        CH(TC(1, "c1", "f1", ""), "null"),
        CH(TC(2, "c2", "get", "\\'ab"), "null"),
        CH(TC(3, "c3", "put", "{\\'k\\':"), "null"),
        CH(TA(0, "34"), "null"),
        CH(TA(2, "c\\'"), "null"),
        CH(TA(3, "[1"), "null"),
        NULL
    };
    feed(chunks);
    assert_string_equal(sdk_calls(), "c0 f0 1234; c1 f1 ; c2 get \"abc\"; "
                                     "c3 put {\"k\":[1");
    assert_string_equal(
        summary(),
        "created in_progress output_item.added:0 "
        "function_call_arguments.delta:0:12 output_item.added:1 "
        "output_item.added:2 function_call_arguments.delta:2:\"ab "
        "output_item.added:3 function_call_arguments.delta:3:{\"k\": "
        "function_call_arguments.delta:0:34 "
        "function_call_arguments.delta:2:c\" "
        "function_call_arguments.delta:3:[1 "
        "function_call_arguments.done:0:1234 output_item.done:0 "
        "function_call_arguments.done:1: output_item.done:1 "
        "function_call_arguments.done:2:\"abc\" output_item.done:2 "
        "function_call_arguments.done:3:{\"k\":[1 output_item.done:3 "
        "completed");
}

/* A text piece closes the open calls (in output_index order) before the
 * message item; later pieces of those calls are dropped. */
static void
test_text_after_calls(void **state)
{
    (void)state;
    static const char *const chunks[] = { CH(TC(0, "c0", "f0", "{"), "null"),
                                          CH(TC(1, "c1", "f1", "{"), "null"),
                                          CH("{'content':'Done.'}", "null"),
                                          CH(TA(0, "}"), "null"), NULL };
    feed(chunks);
    assert_string_equal(sdk_calls(), "c0 f0 {; c1 f1 {");
    assert_non_null(strstr(summary(), "function_call_arguments.done:0:{ "
                                      "output_item.done:0 "
                                      "function_call_arguments.done:1:{ "
                                      "output_item.done:1 "
                                      "output_item.added:2 "));
}

/* ------------------------------------------------------------------ */
/* Bounds and ownership                                                */

/* Past SY_STREAM_TEXT_MAX bytes of arguments held by the open calls,
 * the stream ends with an error event (and response.failed) and
 * nothing after it. */
static void
test_bounds(void **state)
{
    (void)state;
    size_t big = SY_STREAM_TEXT_MAX / 2 + 16;
    struct sy_buf c;
    sy_buf_init(&c, 2 * big);
    sy_buf_free(&out);
    sy_buf_init(&out, 4 * big);
    const char *first[] = { CH(TC(0, "c0", "f0", "{"), "null"),
                            CH(TC(1, "c1", "f1", "{\\'s\\':\\'"), "null") };
    for (size_t i = 0; i < 2; i++) {
        const char *j = J(first[i]);
        assert_int_equal(RS->stream_chunk(st, &req, j, strlen(j), &out), SY_OK);
    }
    for (int i = 0; i < 2; i++) {
        sy_buf_clear(&c);
        sy_buf_puts(&c, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                        "[{\"index\":1,\"function\":{\"arguments\":\"");
        for (size_t k = 0; k < big; k++)
            sy_buf_append(&c, "x", 1);
        sy_buf_puts(&c, "\"}}]}}]}");
        assert_false(sy_buf_failed(&c));
        sy_buf_clear(&out);
        assert_int_equal(RS->stream_chunk(st, &req, c.data, c.len, &out),
                         i == 0 ? SY_OK : SY_ETOOBIG);
    }
    sy_buf_free(&c);
    assert_int_equal(strncmp(sy_buf_cstr(&out), "event: error\n", 13), 0);
    assert_non_null(strstr(sy_buf_cstr(&out), "event: response.failed\n"));
    size_t len = out.len;
    const char *late = J(CH(TA(0, "}"), "'tool_calls'"));
    RS->stream_chunk(st, &req, late, strlen(late), &out);
    RS->stream_end(st, &req, NULL, "0", &out);
    /* nor a second error event from the pipeline's failure path */
    RS->stream_error(st, 502, "late", NULL, NULL, &out);
    assert_int_equal(out.len, len);
    assert_non_null(strstr(sy_buf_cstr(&out), "upstream_bad_response"));
}

/* Every call is an item of the response the stream ends with: past
 * SY_RESPONSES_STREAM_MAX_CALLS of them the provider is broken, and the
 * stream ends with an error event, not with a response that grows on. */
static void
test_too_many_calls(void **state)
{
    (void)state;
    char chunk[256];
    for (int i = 0; i <= SY_RESPONSES_STREAM_MAX_CALLS; i++) {
        snprintf(chunk, sizeof(chunk),
                 "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                 "[{\"index\":%d,\"id\":\"c%d\",\"type\":\"function\","
                 "\"function\":{\"name\":\"f0\",\"arguments\":\"{}\"}}]}}]}",
                 i, i);
        sy_buf_clear(&out);
        assert_int_equal(RS->stream_chunk(st, &req, chunk, strlen(chunk), &out),
                         i < SY_RESPONSES_STREAM_MAX_CALLS ? SY_OK
                                                           : SY_ETOOBIG);
    }
    assert_int_equal(strncmp(sy_buf_cstr(&out), "event: error\n", 13), 0);
    assert_non_null(strstr(sy_buf_cstr(&out), "more tool calls"));
    size_t len = out.len;
    RS->stream_end(st, &req, NULL, "0", &out);
    RS->stream_error(st, 502, "late", NULL, NULL, &out);
    assert_int_equal(out.len, len);
}

/* Two streams of one request (a hedged pair) build their Responses
 * apart; a new attempt on a state zeroed again starts afresh. */
static void
test_two_streams(void **state)
{
    (void)state;
    void *st2 = sy_arena_zalloc(&arena, RS->stream_state_size);
    struct sy_buf o2;
    sy_buf_init(&o2, 1u << 20);
    static const char *const a[] = { CH(TC(0, "a0", "f0", "{"), "null"),
                                     CH(TC(1, "a1", "f1", "{}"), "null"),
                                     CH(TA(0, "}"), "null") };
    static const char *const b[] = { CH(TC(0, "b0", "get", "{\\'q\\'"), "null"),
                                     CH(TA(0, ":1}"), "null"),
                                     CH("{'content':'x'}", "null") };
    for (size_t i = 0; i < 3; i++) {
        const char *j = J(a[i]);
        assert_int_equal(RS->stream_chunk(st, &req, j, strlen(j), &out), SY_OK);
        j = J(b[i]);
        assert_int_equal(RS->stream_chunk(st2, &req, j, strlen(j), &o2), SY_OK);
    }
    assert_int_equal(RS->stream_end(st2, &req, NULL, "0", &o2), SY_OK);
    assert_int_equal(RS->stream_end(st, &req, NULL, "0", &out), SY_OK);
    assert_string_equal(sdk_calls(), "a0 f0 {}; a1 f1 {}");
    struct sy_buf keep = out;
    out = o2;
    assert_string_equal(sdk_calls(), "b0 get {\"q\":1}");
    o2 = out;
    out = keep;
    sy_buf_free(&o2);
    /* Attempt two on the first state. */
    memset(st, 0, RS->stream_state_size);
    sy_buf_clear(&out);
    static const char *const again[] = { CH(TC(0, "n0", "put", "{}"), "null"),
                                         NULL };
    feed(again);
    assert_string_equal(sdk_calls(), "n0 put {}");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_req, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_interleaved_two),      T(test_interleaved_in_one_chunk),
        T(test_interleaved_three),    T(test_interleaved_then_whole),
        T(test_sequential_unchanged), T(test_never_whole),
        T(test_text_after_calls),     T(test_bounds),
        T(test_two_streams),          T(test_too_many_calls),
    };
    return cmocka_run_group_tests_name("responses_stream_tools", tests, NULL,
                                       NULL);
}
