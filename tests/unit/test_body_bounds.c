/*
 * test_body_bounds.c - the count bound on a caller body's JSON values
 * (SY_REQUEST_MAX_JSON_VALUES, core/base/json_strict.c
 * sy_json_parse_bounded, and sy_json_check_bounded that checks a text
 * without building it): values counted as RFC 8259 has them (keys are
 * not values), the scan stopping at the first value too many, the
 * caller-safe message, the 4 MiB body of 155,000 one-letter text parts
 * refused before json-c builds anything, a long agent session with 128
 * tools under the bound, and every surface (chat, Messages,
 * Responses, embeddings; count_tokens parses as they do) answering 413
 * for a body over it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/json_strict.h"
#include "base/limits.h"
#include "base/mem.h"
#include "api/chat.h"
#include "api/embed.h"
#include "api/req.h"
#include "api/surface.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

static enum sy_json_status
bounded(const char *s, size_t max_values, struct sy_json_result *res)
{
    struct json_object *o = NULL;
    enum sy_json_status st =
        sy_json_parse_bounded(s, strlen(s), NULL, max_values, &o, res);
    assert_int_equal(st, res->status);
    if (st != SY_JSON_OK)
        assert_null(o);
    json_object_put(o);
    /* The check without the tree (a rebuilt conversation's) decides
     * the same, at the same byte, with the same count. */
    struct sy_json_result chk;
    assert_int_equal(
        sy_json_check_bounded(s, strlen(s), NULL, max_values, &chk), st);
    assert_int_equal(chk.at, res->at);
    assert_int_equal(chk.values, res->values);
    return st;
}

static void
test_values_counted(void **state)
{
    (void)state;
    struct sy_json_result res;
    /* Containers and strings count; numbers and literals do not (an
     * embeddings token array is numbers). */
    assert_int_equal(bounded("[1,2,3]", 1, &res), SY_JSON_OK);
    assert_int_equal(res.values, 1);
    assert_int_equal(bounded("[\"a\",\"b\",\"c\"]", 4, &res), SY_JSON_OK);
    assert_int_equal(res.values, 4);
    assert_int_equal(bounded("[\"a\",\"b\",\"c\"]", 3, &res), SY_JSON_VALUES);
    assert_int_equal(res.at, 9); /* the "c" */
    /* Keys are not values: an object of two members is two. */
    assert_int_equal(bounded("{\"a\":1,\"b\":\"x\"}", 2, &res), SY_JSON_OK);
    assert_int_equal(bounded("{\"a\":{},\"b\":[null]}", 2, &res),
                     SY_JSON_VALUES);
    /* A lone string is one value; 0 is no bound. */
    assert_int_equal(bounded("\"x\"", 1, &res), SY_JSON_OK);
    assert_int_equal(bounded("true", 1, &res), SY_JSON_OK);
    assert_int_equal(bounded("[[],[],[],[]]", 0, &res), SY_JSON_OK);
    assert_int_equal(res.values, 5);
    /* The other checks still apply, and syntax errors before the bound
     * are reported as such. */
    assert_int_equal(bounded("[1,2,", 100, &res), SY_JSON_EOF);
    assert_int_equal(bounded("[01]", 100, &res), SY_JSON_BAD);
    /* sy_json_parse_strict counts without a bound. */
    struct json_object *o = NULL;
    assert_int_equal(sy_json_parse_strict("[1,[2]]", 7, NULL, &o, &res),
                     SY_JSON_OK);
    assert_int_equal(res.values, 2);
    assert_int_equal(res.max_values, 0);
    json_object_put(o);
}

static void
test_message(void **state)
{
    (void)state;
    struct sy_json_result res;
    char msg[256];
    assert_int_equal(bounded("[\"a\",\"b\",\"c\"]", 2, &res), SY_JSON_VALUES);
    sy_json_describe(&res, "the request body", false, msg, sizeof(msg));
    assert_string_equal(msg, "the request body has too many JSON values: "
                             "more than 2 objects, arrays and strings (at "
                             "byte 5)");
}

/* 'n' Anthropic/OpenAI text parts of one letter in one user message:
 * the body of the report (4.19 MB for 155,000). */
static char *
tiny_parts_body(size_t n, size_t *len)
{
    static const char head[] = "{\"model\":\"g-oa\",\"max_tokens\":5,"
                               "\"messages\":[{\"role\":\"user\","
                               "\"content\":[";
    static const char part[] = "{\"type\":\"text\",\"text\":\"a\"}";
    char *s = malloc(sizeof(head) + n * sizeof(part) + 8);
    assert_non_null(s);
    size_t at = strlen(head);
    memcpy(s, head, at);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            s[at++] = ',';
        memcpy(s + at, part, sizeof(part) - 1);
        at += sizeof(part) - 1;
    }
    memcpy(s + at, "]}]}", 5);
    *len = at + 4;
    return s;
}

static void
test_report_body_refused_early(void **state)
{
    (void)state;
    size_t len;
    char *s = tiny_parts_body(155000, &len);
    assert_true(len > 4000000);
    struct sy_json_result res;
    struct json_object *o = NULL;
    /* Under the old rule alone (48 x text + 2 MiB) it was a tree. */
    assert_int_equal(sy_json_parse_strict(s, len, NULL, &o, &res), SY_JSON_OK);
    json_object_put(o);
    assert_int_equal(sy_json_parse_bounded(
                         s, len, NULL, SY_REQUEST_MAX_JSON_VALUES, &o, &res),
                     SY_JSON_VALUES);
    assert_null(o);
    /* The scan stopped a quarter of the way in. */
    assert_true(res.at < len / 3);
    assert_int_equal(res.values, SY_REQUEST_MAX_JSON_VALUES);
    free(s);
}

/* A long agent session as Claude Code sends it: 'turns' tool round trips
 * (assistant text + tool_use, user tool_result with a text block and
 * cache_control) and 128 tools of 8-property schemas. */
static char *
agent_body(int turns, size_t *len)
{
    struct sy_buf b;
    sy_buf_init(&b, 64u << 20);
    sy_buf_puts(&b, "{\"model\":\"m\",\"max_tokens\":32000,\"system\":[{"
                    "\"type\":\"text\",\"text\":\"You are...\","
                    "\"cache_control\":{\"type\":\"ephemeral\"}}],"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"go\"}");
    for (int i = 0; i < turns; i++)
        sy_buf_printf(
            &b,
            ",{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
            "\"text\":\"step %d\"},{\"type\":\"tool_use\",\"id\":\"toolu_%d\","
            "\"name\":\"Bash\",\"input\":{\"command\":\"ls\",\"description\":"
            "\"list\",\"timeout\":1000}}]},{\"role\":\"user\",\"content\":[{"
            "\"type\":\"tool_result\",\"tool_use_id\":\"toolu_%d\",\"content\":"
            "[{\"type\":\"text\",\"text\":\"ok\"}],\"is_error\":false,"
            "\"cache_control\":{\"type\":\"ephemeral\"}}]}",
            i, i, i);
    sy_buf_puts(&b, "],\"tools\":[");
    for (int t = 0; t < 128; t++) {
        sy_buf_printf(&b,
                      "%s{\"name\":\"tool%d\",\"description\":\"d\","
                      "\"input_schema\":{\"type\":\"object\",\"properties\":{",
                      t ? "," : "", t);
        for (int p = 0; p < 8; p++)
            sy_buf_printf(&b,
                          "%s\"p%d\":{\"type\":\"string\",\"description\":"
                          "\"x\",\"enum\":[\"a\",\"b\"]}",
                          p ? "," : "", p);
        sy_buf_puts(&b, "},\"required\":[\"p0\"],"
                        "\"additionalProperties\":false}}");
    }
    sy_buf_puts(&b, "]}");
    *len = b.len;
    return b.data;
}

static void
test_agent_session_fits(void **state)
{
    (void)state;
    /* 2,000 round trips: 4,001 messages, 6,000 content blocks. */
    size_t len;
    char *s = agent_body(2000, &len);
    struct sy_json_result res;
    struct json_object *o = NULL;
    assert_int_equal(sy_json_parse_bounded(
                         s, len, NULL, SY_REQUEST_MAX_JSON_VALUES, &o, &res),
                     SY_JSON_OK);
    json_object_put(o);
    /* About 57,000 values: room for more than half as much again. */
    assert_true(res.values > 55000);
    assert_true(res.values < SY_REQUEST_MAX_JSON_VALUES * 2 / 3);
    free(s);
}

/* Embeddings of token arrays (what LangChain's OpenAIEmbeddings sends):
 * 16 inputs of 8,000 token ids, 128,000 numbers, pass the bound. */
static void
test_token_arrays_fit(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 4u << 20);
    sy_buf_puts(&b, "{\"model\":\"e\",\"input\":[");
    for (int i = 0; i < 16; i++) {
        sy_buf_puts(&b, i ? ",[" : "[");
        for (int k = 0; k < 8000; k++)
            sy_buf_printf(&b, k ? ",%d" : "%d", 100 + k);
        sy_buf_puts(&b, "]");
    }
    sy_buf_puts(&b, "]}");
    assert_false(sy_buf_failed(&b));
    struct sy_arena a;
    sy_arena_init(&a, 0);
    struct sy_embed_req er;
    struct sy_chat_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(sy_embed_req_parse(b.data, b.len, 64, &a, &er, &err),
                     SY_OK);
    sy_arena_cleanup(&a);
    sy_buf_free(&b);
}

/* Every surface's parse refuses the report's body with a 413 naming the
 * bound (the pipeline writes it in the surface's own error shape). */
static void
test_surfaces_refuse(void **state)
{
    (void)state;
    size_t len;
    char *s = tiny_parts_body(40000, &len); /* 120,005 values, 1.1 MB */
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.body = s;
    r.body_len = len;
    r.anthropic_version = "2023-06-01";
    const struct sy_surface *surfaces[] = { &sy_surface_chat,
                                            &sy_surface_messages,
                                            &sy_surface_responses };
    for (size_t i = 0; i < SY_ARRAY_LEN(surfaces); i++) {
        struct sy_arena a;
        sy_arena_init(&a, 0);
        struct sy_chat_req req;
        struct sy_chat_error err;
        memset(&err, 0, sizeof(err));
        assert_int_equal(surfaces[i]->parse(&r, 64, &a, &req, &err),
                         SY_ETOOBIG);
        assert_non_null(strstr(err.message, "too many JSON values"));
        sy_arena_cleanup(&a);
    }
    struct sy_arena a;
    sy_arena_init(&a, 0);
    struct sy_embed_req er;
    struct sy_chat_error err;
    assert_int_equal(sy_embed_req_parse(s, len, 64, &a, &er, &err), SY_ETOOBIG);
    assert_non_null(strstr(err.message, "too many JSON values"));
    sy_arena_cleanup(&a);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_counted),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_report_body_refused_early),
        cmocka_unit_test(test_agent_session_fits),
        cmocka_unit_test(test_surfaces_refuse),
        cmocka_unit_test(test_token_arrays_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
