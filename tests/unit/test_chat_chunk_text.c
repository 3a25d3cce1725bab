/*
 * test_chat_chunk_text.c - unit tests for core/api/chat_chunk_text.c
 * (choice 0's text and finish out of a chat.completion.chunk) and for
 * sy_chat_chunk_with_content on the chunks a streamed rewrite hands it
 * (the role event, the finish event with an empty delta, no delta), then
 * the two with the streamed unfence, as the pipeline chains them.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/chat.h"
#include "base/buf.h"
#include "base/mem.h"
#include "contract/unfence_stream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#define CHUNK(choice)                                                    \
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1," \
    "\"model\":\"m\",\"choices\":[" choice "]}"

static bool
text_of(const char *json, struct sy_arena *a, const char **t, size_t *n,
        bool *fin)
{
    *t = "unset";
    *n = 99;
    *fin = false;
    return sy_chat_chunk_text(json, strlen(json), a, t, n, fin);
}

static void
test_text_and_finish(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 0);
    const char *t;
    size_t n;
    bool fin;
    assert_true(text_of(CHUNK("{\"index\":0,\"delta\":{\"content\":"
                              "\"```json\\n{\\\"a\\\"\"},"
                              "\"finish_reason\":null}"),
                        &a, &t, &n, &fin));
    assert_string_equal(t, "```json\n{\"a\"");
    assert_int_equal(n, strlen(t));
    assert_false(fin);

    /* the role event: empty text */
    assert_true(text_of(CHUNK("{\"index\":0,\"delta\":{\"role\":"
                              "\"assistant\",\"content\":\"\"}}"),
                        &a, &t, &n, &fin));
    assert_int_equal(n, 0);
    assert_false(fin);

    /* the finish event: no text */
    assert_true(text_of(CHUNK("{\"index\":0,\"delta\":{},"
                              "\"finish_reason\":\"stop\"}"),
                        &a, &t, &n, &fin));
    assert_null(t);
    assert_int_equal(n, 0);
    assert_true(fin);

    /* text and finish in one event, text with a NUL */
    assert_true(text_of(CHUNK("{\"delta\":{\"content\":\"a\\u0000b\"},"
                              "\"finish_reason\":\"length\"}"),
                        &a, &t, &n, &fin));
    assert_int_equal(n, 3);
    assert_memory_equal(t, "a\0b", 3);
    assert_true(fin);

    /* null content (tool calls) */
    assert_true(text_of(CHUNK("{\"index\":0,\"delta\":{\"content\":null,"
                              "\"tool_calls\":[]}}"),
                        &a, &t, &n, &fin));
    assert_null(t);
    assert_false(fin);

    /* no choice 0: usage chunk, another choice of n > 1, not JSON */
    assert_false(text_of(CHUNK(""), &a, &t, &n, &fin));
    assert_false(text_of(CHUNK("{\"index\":1,\"delta\":{\"content\":\"x\"}}"),
                         &a, &t, &n, &fin));
    assert_false(text_of("{\"choices\":[1]}", &a, &t, &n, &fin));
    assert_false(text_of("data: {", &a, &t, &n, &fin));
    assert_false(sy_chat_chunk_text("", 0, &a, &t, &n, &fin));
    sy_arena_cleanup(&a);
}

/* Rewrite 'chunk' with 'content'; the result's choice 0 as a tree. */
static struct json_object *
rewrite(const char *chunk, const char *content)
{
    struct sy_buf out;
    sy_buf_init(&out, 1 << 16);
    assert_int_equal(sy_chat_chunk_with_content(chunk, strlen(chunk), content,
                                                strlen(content), &out),
                     SY_OK);
    struct json_object *o = json_tokener_parse(sy_buf_cstr(&out));
    sy_buf_free(&out);
    assert_non_null(o);
    return o;
}

static const char *
at(struct json_object *o, const char *a, const char *b)
{
    struct json_object *c, *v;
    c = json_object_array_get_idx(json_object_object_get(o, "choices"), 0);
    if (a != NULL)
        c = json_object_object_get(c, a);
    if (!json_object_object_get_ex(c, b, &v))
        return "(missing)";
    return v == NULL ? "(null)" : json_object_get_string(v);
}

static void
test_with_content(void **state)
{
    (void)state;
    /* the finish event: its empty delta takes the rest of the text */
    struct json_object *o = rewrite(
        CHUNK("{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}"), "}");
    assert_string_equal(at(o, "delta", "content"), "}");
    assert_string_equal(at(o, NULL, "finish_reason"), "stop");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "id")),
                        "c1");
    json_object_put(o);

    /* the role stays; the content is replaced */
    o = rewrite(CHUNK("{\"index\":0,\"delta\":{\"role\":\"assistant\","
                      "\"content\":\"```json\\n{\"},\"finish_reason\":null}"),
                "{");
    assert_string_equal(at(o, "delta", "content"), "{");
    assert_string_equal(at(o, "delta", "role"), "assistant");
    assert_string_equal(at(o, NULL, "finish_reason"), "(null)");
    json_object_put(o);

    /* no delta at all */
    o = rewrite(CHUNK("{\"index\":0,\"finish_reason\":\"stop\"}"), "x\"y");
    assert_string_equal(at(o, "delta", "content"), "x\"y");
    json_object_put(o);
}

/* The pipeline's chain: each event's text through the unfence, the
 * event rewritten with what may be shown, the finish event given the
 * rest. The caller's text is the bare JSON, the role kept. */
static void
test_streamed_rewrite(void **state)
{
    (void)state;
    static const char *const events[] = {
        CHUNK("{\"index\":0,\"delta\":{\"role\":\"assistant\","
              "\"content\":\"\"}}"),
        CHUNK("{\"index\":0,\"delta\":{\"content\":\"```js\"}}"),
        CHUNK("{\"index\":0,\"delta\":{\"content\":\"on\\n{\\\"a\\\"\"}}"),
        CHUNK("{\"index\":0,\"delta\":{\"content\":\": \\\"``\\\"}\\n``\"}}"),
        CHUNK("{\"index\":0,\"delta\":{\"content\":\"`\"}}"),
        CHUNK("{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}"),
        CHUNK(""),
    };
    struct sy_arena a;
    sy_arena_init(&a, 0);
    struct sy_unfence u;
    sy_unfence_init(&u);
    struct sy_buf text, shown;
    sy_buf_init(&text, 4096);
    sy_buf_init(&shown, 4096);
    const char *role = NULL;
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        const char *t;
        size_t n;
        bool fin;
        if (!sy_chat_chunk_text(events[i], strlen(events[i]), &a, &t, &n, &fin))
            continue; /* the usage event goes out as it is */
        sy_buf_clear(&text);
        assert_int_equal(sy_unfence_feed(&u, t, n, &text), SY_OK);
        if (fin)
            assert_int_equal(sy_unfence_finish(&u, &text), SY_OK);
        struct json_object *o = rewrite(events[i], sy_buf_cstr(&text));
        assert_int_equal(sy_buf_append(&shown, text.data, text.len), SY_OK);
        if (i == 0)
            role = sy_arena_strdup(&a, at(o, "delta", "role"));
        json_object_put(o);
    }
    assert_string_equal(sy_buf_cstr(&shown), "{\"a\": \"``\"}");
    assert_string_equal(role, "assistant");
    sy_buf_free(&text);
    sy_buf_free(&shown);
    sy_arena_cleanup(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_finish),
        cmocka_unit_test(test_with_content),
        cmocka_unit_test(test_streamed_rewrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
