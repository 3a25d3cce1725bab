/*
 * test_messages_stream_tools.c - unit tests for the tool calls of a
 * translated Messages stream (adapters/anthropic_surface_out.c and
 * anthropic_surface_tools_out.c): a provider that interleaves the
 * argument pieces of parallel calls (index 0, 1, 0, 1 ...) must give the
 * caller every call whole, each in its own tool_use block; a sequential
 * stream keeps its events as they were; what cannot be held ends the
 * stream with an error event, never with a call cut short.
 * SPDX-License-Identifier: MIT
 */
#include "messages_fixture.h"
#include "base/limits.h"

/* The request's tree, which owns what a stream holds back. */
static int
setup_tree(void **state)
{
    setup(state);
    req.root = json_object_new_object();
    sy_arena_on_cleanup(&arena, sy_chat_json_free, req.root);
    req.model = "group";
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
        assert_int_equal(
            sy_surface_messages.stream_chunk(ss, &req, c, strlen(c), &out),
            SY_OK);
    }
    assert_int_equal(sy_surface_messages.stream_end(ss, &req, NULL, "0", &out),
                     SY_OK);
}

static void
feed(const char *const *chunks)
{
    feed_to(st, chunks);
}

/* The data of every event of the output, in order, as a new array. */
static struct json_object *
events(void)
{
    struct json_object *all = json_object_new_array();
    const char *p = sy_buf_cstr(&out);
    while ((p = strstr(p, "\ndata: ")) != NULL) {
        p += 7;
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        struct json_object *d = json_tokener_parse(
            sy_arena_printf(&arena, "%.*s", (int)(e - p), p));
        assert_non_null(d);
        json_object_array_add(all, d);
    }
    return all;
}

/* One word per event: "start:N:type", "delta:N:<piece>", "stop:N",
 * "mdelta:<stop_reason>", else the event type. */
static const char *
summary(void)
{
    struct json_object *all = events();
    struct sy_buf s;
    sy_buf_init(&s, 1u << 20);
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *d = json_object_array_get_idx(all, i);
        const char *type = json_object_get_string(at(d, "type"));
        const char *idx = json_object_get_string(at(d, "index"));
        if (s.len > 0)
            sy_buf_puts(&s, " ");
        if (strcmp(type, "content_block_start") == 0)
            sy_buf_printf(&s, "start:%s:%s", idx,
                          json_object_get_string(at(d, "content_block.type")));
        else if (strcmp(type, "content_block_delta") == 0)
            sy_buf_printf(
                &s, "delta:%s:%s", idx,
                json_object_get_string(at(d, "delta.partial_json")
                                           ? at(d, "delta.partial_json")
                                           : at(d, "delta.text")));
        else if (strcmp(type, "content_block_stop") == 0)
            sy_buf_printf(&s, "stop:%s", idx);
        else if (strcmp(type, "message_delta") == 0)
            sy_buf_printf(&s, "mdelta:%s",
                          json_object_get_string(at(d, "delta.stop_reason")));
        else
            sy_buf_puts(&s, type);
    }
    json_object_put(all);
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    return r;
}

/* The tool_use blocks as an Anthropic SDK accumulates them: "id name
 * input" per block ("; " between), the input the block's partial_json
 * pieces joined and parsed ("BAD" when they do not parse). Also checks
 * that blocks open and close one at a time, in order. */
static const char *
tool_inputs(void)
{
    struct json_object *all = events();
    struct sy_buf s, js;
    sy_buf_init(&s, 1u << 20);
    sy_buf_init(&js, 1u << 20);
    int64_t open = -1, next = 0;
    const char *id = NULL, *name = NULL;
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *d = json_object_array_get_idx(all, i);
        const char *type = json_object_get_string(at(d, "type"));
        int64_t idx = json_object_get_int64(at(d, "index"));
        if (strcmp(type, "content_block_start") == 0) {
            assert_int_equal(open, -1);
            assert_int_equal(idx, next++);
            open = idx;
            id = json_object_get_string(at(d, "content_block.id"));
            name = json_object_get_string(at(d, "content_block.name"));
            sy_buf_clear(&js);
        } else if (strcmp(type, "content_block_delta") == 0) {
            assert_int_equal(idx, open);
            const char *pj =
                json_object_get_string(at(d, "delta.partial_json"));
            if (pj != NULL)
                sy_buf_puts(&js, pj);
        } else if (strcmp(type, "content_block_stop") == 0) {
            assert_int_equal(idx, open);
            open = -1;
            if (name == NULL)
                continue;
            struct json_object *in = js.len
                                         ? json_tokener_parse(sy_buf_cstr(&js))
                                         : json_object_new_object();
            if (s.len > 0)
                sy_buf_puts(&s, "; ");
            sy_buf_printf(
                &s, "%s %s %s", id, name,
                in ? json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN)
                   : "BAD");
            json_object_put(in);
            name = NULL;
        }
    }
    assert_int_equal(open, -1);
    json_object_put(all);
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&s));
    sy_buf_free(&s);
    sy_buf_free(&js);
    return r;
}

/* ------------------------------------------------------------------ */
/* Interleaved calls                                                   */

/* Two calls whose pieces alternate, their ids and names first: each
 * still arrives whole, the second after the first is whole. */
static void
test_interleaved_two(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':null}", "null"),
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
    assert_string_equal(tool_inputs(),
                        "call_a get {\"city\":\"Oslo\"}; "
                        "call_b put {\"key\":\"k\",\"v\":[1,2]}");
    /* The open call streams live; the held one opens with what it had
     * once the first is whole, then streams on live. */
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use "
                        "delta:0:{\"city\": delta:0:\"Oslo\"} stop:0 "
                        "start:1:tool_use delta:1:{\"key\": "
                        "delta:1:\"k\",\"v\":[1, delta:1:2]} stop:1 "
                        "mdelta:tool_use message_stop");
}

/* Pieces of both calls in one chunk, alternating, and a provider that
 * ends the turn of tool calls with "stop": still tool_use. */
static void
test_interleaved_in_one_chunk(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'tool_calls':[{'index':0,'id':'c0','function':{'name':'a',"
           "'arguments':'{\\'x\\''}},{'index':1,'id':'c1','function':{"
           "'name':'b','arguments':'{\\'y\\''}}]}",
           "null"),
        CH("{'tool_calls':[{'index':1,'function':{'arguments':':2}'}},"
           "{'index':0,'function':{'arguments':':1}'}}]}",
           "'stop'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(tool_inputs(), "c0 a {\"x\":1}; c1 b {\"y\":2}");
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{\"x\" "
                        "delta:0::1} stop:0 start:1:tool_use "
                        "delta:1:{\"y\":2} stop:1 mdelta:tool_use "
                        "message_stop");
}

/* Three calls: the third is whole before the second, which is whole
 * last; blocks still go in index order, each whole. */
static void
test_interleaved_three(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "c0", "f0", "{\\'a\\':"), "null"),
        CH(TC(1, "c1", "f1", "{\\'b\\':"), "null"),
        CH(TC(2, "c2", "f2", "{\\'c\\':"), "null"),
        CH(TA(2, "3}"), "null"),
        CH(TA(1, "\\'}{\\'"), "null"), /* braces in a string */
        CH(TA(0, "[0]}"), "null"),     /* c0 whole: c1 opens live */
        CH(TA(1, "}"), "null"),        /* c1 whole: c2 follows whole */
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(tool_inputs(),
                        "c0 f0 {\"a\":[0]}; c1 f1 {\"b\":\"}{\"}; "
                        "c2 f2 {\"c\":3}");
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{\"a\": "
                        "delta:0:[0]} stop:0 start:1:tool_use "
                        "delta:1:{\"b\":\"}{\" delta:1:} stop:1 "
                        "start:2:tool_use delta:2:{\"c\":3} stop:2 "
                        "mdelta:tool_use message_stop");

    /* The second whole first: it follows the first whole, and the third
     * (not whole) opens live after it. */
    static const char *const other[] = { CH(TC(0, "c0", "f0", "{"), "null"),
                                         CH(TC(1, "c1", "f1", "{}"), "null"),
                                         CH(TC(2, "c2", "f2", "{\\'z\\'"),
                                            "null"),
                                         CH(TA(0, "}"), "null"),
                                         CH(TA(2, ":[]}"), "null"),
                                         CH("{}", "'tool_calls'"),
                                         NULL };
    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    feed(other);
    assert_string_equal(tool_inputs(), "c0 f0 {}; c1 f1 {}; c2 f2 {\"z\":[]}");
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{ "
                        "delta:0:} stop:0 start:1:tool_use delta:1:{} stop:1 "
                        "start:2:tool_use delta:2:{\"z\" delta:2::[]} stop:2 "
                        "mdelta:tool_use message_stop");
}

/* ------------------------------------------------------------------ */
/* Unchanged: sequential calls                                         */

/* OpenAI's way: each call's pieces, then the next call's. Every piece
 * streams live as it came (the events are those the surface always
 * sent). */
static void
test_sequential_two(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH("{'role':'assistant','content':'Let me look.'}", "null"),
        CH(TC(0, "call_a", "get", ""), "null"),
        CH(TA(0, "{\\'city\\':"), "null"),
        CH(TA(0, " \\'Oslo\\'}"), "null"),
        CH(TC(1, "call_b", "put", ""), "null"),
        CH(TA(1, "{\\'k\\'"), "null"),
        CH(TA(1, ": 1}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(summary(),
                        "message_start ping start:0:text delta:0:Let me look. "
                        "stop:0 start:1:tool_use delta:1:{\"city\": "
                        "delta:1: \"Oslo\"} stop:1 start:2:tool_use "
                        "delta:2:{\"k\" delta:2:: 1} stop:2 mdelta:tool_use "
                        "message_stop");
    assert_non_null(strstr(
        sy_buf_cstr(&out),
        J("event: content_block_start\ndata: {'type':'content_block_start',"
          "'index':2,'content_block':{'type':'tool_use','id':'call_b',"
          "'name':'put','input':{}}}\n\nevent: content_block_delta\ndata: "
          "{'type':'content_block_delta','index':2,'delta':{'type':"
          "'input_json_delta','partial_json':'{\\'k\\''}}\n\n")));
}

/* ------------------------------------------------------------------ */
/* Calls that never become whole                                       */

/* Arguments that are not valid JSON when the answer ends: the held call
 * goes out whole as it is, after the open one closes; the same at the
 * stream's end without a finish reason. */
static void
test_never_whole(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "c0", "f0", "{\\'a\\':"), "null"),
        CH(TC(1, "c1", "f1", "{\\'b\\':"), "null"),
        CH(TA(0, "1"), "null"),
        CH(TA(1, "2"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{\"a\": "
                        "delta:0:1 stop:0 start:1:tool_use delta:1:{\"b\":2 "
                        "stop:1 mdelta:tool_use message_stop");

    static const char *const no_finish[] = {
        CH(TC(0, "c0", "f0", "\\'text\\'"), "null"), /* a scalar */
        CH(TC(1, "c1", "f1", "{\\'b\\':"), "null"), CH(TA(1, "2}"), "null"),
        NULL
    };
    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    feed(no_finish);
    assert_string_equal(summary(), "message_start ping start:0:tool_use "
                                   "delta:0:\"text\" stop:0 start:1:tool_use "
                                   "delta:1:{\"b\":2} stop:1 mdelta:tool_use "
                                   "message_stop");
}

/* A call with no arguments at all may still get them later (ids and
 * names first): the next call is held, and all go out whole at the
 * finish, in index order. */
static void
test_empty_arguments_hold(void **state)
{
    (void)state;
    static const char *const chunks[] = { CH(TC(0, "c0", "now", ""), "null"),
                                          CH(TC(1, "c1", "get", "{\\'q\\':"),
                                             "null"),
                                          CH(TA(1, "1}"), "null"),
                                          CH(TC(2, "", "ping", "{}"), "null"),
                                          CH("{}", "'stop'"),
                                          NULL };
    feed(chunks);
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use stop:0 "
                        "start:1:tool_use delta:1:{\"q\":1} stop:1 "
                        "start:2:tool_use delta:2:{} stop:2 mdelta:tool_use "
                        "message_stop");
    assert_string_equal(tool_inputs(), "c0 now {}; c1 get {\"q\":1}; "
                                       "toolu_chatcmpl-9_2 ping {}");
}

/* Text after tool calls closes the open block as it always did (a
 * later piece of that call is dropped); a held call goes out whole at
 * the finish, after the text. */
static void
test_text_after_calls(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        CH(TC(0, "c0", "f0", "{\\'a\\':"), "null"),
        CH(TC(1, "c1", "f1", "{\\'b\\':"), "null"),
        CH("{'content':'Done.'}", "null"),
        CH(TA(0, "1}"), "null"),
        CH(TA(1, "2}"), "null"),
        CH("{}", "'tool_calls'"),
        NULL
    };
    feed(chunks);
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{\"a\": "
                        "stop:0 start:1:text delta:1:Done. stop:1 "
                        "start:2:tool_use delta:2:{\"b\":2} stop:2 "
                        "mdelta:tool_use message_stop");
}

/* ------------------------------------------------------------------ */
/* Bounds and ownership                                                */

/* Past the bound on held arguments, or with no tree to hold them in,
 * the stream ends with an error event and nothing after it. */
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
        assert_int_equal(
            sy_surface_messages.stream_chunk(st, &req, j, strlen(j), &out),
            SY_OK);
    }
    for (int i = 0; i < 2; i++) {
        sy_buf_clear(&c);
        sy_buf_puts(&c, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                        "[{\"index\":1,\"function\":{\"arguments\":\"");
        for (size_t k = 0; k < big; k++)
            sy_buf_append(&c, "x", 1);
        sy_buf_puts(&c, "\"}}]}}]}");
        assert_false(sy_buf_failed(&c));
        assert_int_equal(
            sy_surface_messages.stream_chunk(st, &req, c.data, c.len, &out),
            i == 0 ? SY_OK : SY_ETOOBIG);
    }
    sy_buf_free(&c);
    const char *tail = strstr(sy_buf_cstr(&out), "event: error\n");
    assert_non_null(tail);
    assert_non_null(strstr(tail, "{\"type\":\"api_error\","));
    assert_null(strstr(sy_buf_cstr(&out), "\"xxxx"));
    size_t len = out.len;
    const char *late = J(CH(TA(0, "}"), "'tool_calls'"));
    sy_surface_messages.stream_chunk(st, &req, late, strlen(late), &out);
    sy_surface_messages.stream_end(st, &req, NULL, "0", &out);
    /* nor a second error event from the pipeline's failure path */
    sy_surface_messages.stream_error(st, 502, "late", NULL, NULL, &out);
    assert_int_equal(out.len, len);
    assert_string_equal(tail + strlen(tail) - 2, "\n\n");

    /* No tree: nothing can be held. */
    req.root = NULL;
    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    const char *none[] = { CH(TC(0, "c0", "f0", "{"), "null"),
                           CH(TC(1, "c1", "f1", "{}"), "null") };
    for (size_t i = 0; i < 2; i++) {
        const char *j = J(none[i]);
        assert_int_equal(
            sy_surface_messages.stream_chunk(st, &req, j, strlen(j), &out),
            i == 0 ? SY_OK : SY_ETOOBIG);
    }
    assert_string_equal(summary(),
                        "message_start ping start:0:tool_use delta:0:{ error");
}

/* One chunk (quotes as in CH) to the stream: what stream_chunk said. */
static enum sy_err
one(const char *chunk)
{
    const char *j = J(chunk);
    return sy_surface_messages.stream_chunk(st, &req, j, strlen(j), &out);
}

/* A call's block closes for good at any index the format can number:
 * a late piece of call 100 (past a 64-bit set) opens no second block;
 * an index out of that range ends the stream with an error event. */
static void
test_high_indexes(void **state)
{
    (void)state;
    static const char *const high[] = {
        CH(TC(100, "h0", "f", "{}"), "null"),
        CH(TC(101, "h1", "g", "{}"), "null"), CH(TA(100, " "), "null"),
        CH(TC(4095, "h2", "f", "{}"), "'tool_calls'"), NULL
    };
    feed(high);
    assert_string_equal(tool_inputs(), "h0 f {}; h1 g {}; h2 f {}");

    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    assert_int_equal(one(CH(TC(0, "c0", "f", "{}"), "null")), SY_OK);
    assert_int_equal(one(CH(TC(4096, "c1", "f", "{}"), "null")), SY_ETOOBIG);
    assert_non_null(strstr(sy_buf_cstr(&out), "out of range"));
    assert_string_equal(summary(), "message_start ping start:0:tool_use "
                                   "delta:0:{} error");
    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    assert_int_equal(one(CH(TC(-1, "c2", "f", "{}"), "null")), SY_ETOOBIG);
    assert_string_equal(summary(), "message_start ping error");
}

/* The surface's own error event lost with an overflowing output (the
 * held calls flushed, then an index out of range, in one chunk): the
 * pipeline's stream_error must still send one, or the caller would see
 * a stream cut with no error at all. */
static void
test_error_event_lost(void **state)
{
    (void)state;
    sy_buf_free(&out);
    sy_buf_init(&out, 4096);
    assert_int_equal(one(CH(TC(0, "c0", "f", "{"), "null")), SY_OK);
    sy_buf_clear(&out);
    /* Call 1 held with 4,000 bytes of arguments: flushed, they overflow
     * the 4,096-byte output once escaped. */
    char held[4300];
    int n = snprintf(held, sizeof(held),
                     "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                     "[{\"index\":1,\"id\":\"c1\",\"function\":{\"name\":"
                     "\"f\",\"arguments\":\"{\\\"k\\\":\\\"");
    memset(held + n, 'x', 4000);
    snprintf(held + n + 4000, sizeof(held) - (size_t)n - 4000,
             "\\\"}\"}}]}}]}");
    assert_int_equal(
        sy_surface_messages.stream_chunk(st, &req, held, strlen(held), &out),
        SY_OK);
    sy_buf_clear(&out);
    const char *both =
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":["
        "{\"index\":0,\"function\":{\"arguments\":\"}\"}},"
        "{\"index\":5000,\"id\":\"c2\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{}\"}}]}}]}";
    assert_int_not_equal(
        sy_surface_messages.stream_chunk(st, &req, both, strlen(both), &out),
        SY_OK);
    assert_true(sy_buf_failed(&out));
    struct sy_buf err;
    sy_buf_init(&err, 1u << 16);
    sy_surface_messages.stream_error(st, 502, "failed", NULL, NULL, &err);
    assert_non_null(strstr(sy_buf_cstr(&err), "event: error\n"));
    sy_buf_free(&err);
}

/* Two streams of one request (a hedged pair) hold their calls apart; a
 * new attempt on a state zeroed again starts with nothing held. */
static void
test_two_streams(void **state)
{
    (void)state;
    void *st2 = sy_arena_zalloc(&arena, sy_surface_messages.stream_state_size);
    struct sy_buf o2;
    sy_buf_init(&o2, 1u << 20);
    const char *a[] = { CH(TC(0, "a0", "f", "{"), "null"),
                        CH(TC(1, "a1", "f", "{\\'a\\':1}"), "null") };
    const char *b[] = { CH(TC(0, "b0", "g", "{"), "null"),
                        CH(TC(1, "b1", "g", "{\\'b\\':2}"), "null") };
    for (size_t i = 0; i < 2; i++) {
        const char *ja = J(a[i]), *jb = J(b[i]);
        sy_surface_messages.stream_chunk(st, &req, ja, strlen(ja), &out);
        sy_surface_messages.stream_chunk(st2, &req, jb, strlen(jb), &o2);
    }
    static const char *const end[] = { CH(TA(0, "}"), "null"), NULL };
    feed_to(st, end);
    assert_string_equal(tool_inputs(), "a0 f {}; a1 f {\"a\":1}");
    sy_buf_free(&out);
    out = o2;
    feed_to(st2, end);
    assert_string_equal(tool_inputs(), "b0 g {}; b1 g {\"b\":2}");

    /* A failed attempt left a call held; the next one (same state,
     * zeroed) does not send it. */
    static const char *const cut[] = { CH(TC(0, "x0", "f", "{"), "null"),
                                       CH(TC(1, "x1", "f", "{}"), "null"),
                                       NULL };
    memset(st, 0, sy_surface_messages.stream_state_size);
    for (size_t i = 0; cut[i] != NULL; i++) {
        const char *j = J(cut[i]);
        sy_surface_messages.stream_chunk(st, &req, j, strlen(j), &out);
    }
    memset(st, 0, sy_surface_messages.stream_state_size);
    sy_buf_clear(&out);
    static const char *const again[] = { CH(TC(0, "y0", "f", "{"), "null"),
                                         CH(TC(1, "y1", "f", "{}"), "null"),
                                         CH(TA(0, "}"), "'tool_calls'"), NULL };
    feed(again);
    assert_string_equal(tool_inputs(), "y0 f {}; y1 f {}");
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_tree, teardown)
        T(test_interleaved_two),   T(test_interleaved_in_one_chunk),
        T(test_interleaved_three), T(test_sequential_two),
        T(test_never_whole),       T(test_empty_arguments_hold),
        T(test_text_after_calls),  T(test_bounds),
        T(test_two_streams),       T(test_high_indexes),
        T(test_error_event_lost),
#undef T
    };
    return cmocka_run_group_tests_name("messages_stream_tools", tests, NULL,
                                       NULL);
}
