/*
 * test_contract.c - unit tests for core/contract/contract.c: taking off a markdown
 * code fence (and refusing to touch prose), the json_object and
 * json_schema content checks with their caller-safe messages, and the
 * tool-call arguments check.
 *
 * Schemas are written with ' for " (J() converts); content is written
 * exactly as a model would send it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "contract/contract.h"
#include "contract/jsonschema.h"
#include "base/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

static struct sy_arena arena;

static int
setup(void **state)
{
    (void)state;
    sy_arena_init(&arena, 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sy_arena_cleanup(&arena);
    return 0;
}

static void
put_json(void *p)
{
    json_object_put(p);
}

/* A schema from ' text; freed with the arena. */
static struct json_object *
schema(const char *text)
{
    char *p = sy_arena_strdup(&arena, text);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct json_object *s = json_tokener_parse(p);
    if (s == NULL)
        fail_msg("test schema does not parse: %s", text);
    sy_arena_on_cleanup(&arena, put_json, s);
    char err[256];
    if (!sy_jsonschema_check(s, err, sizeof(err)))
        fail_msg("test schema refused: %s", err);
    return s;
}

/* ------------------------------------------------------------------ */

/* Expect 'text' to unfence to exactly 'inner' (NULL: not fenced, and the
 * outputs are the text unchanged). */
static void
unfence_is(const char *text, const char *inner)
{
    const char *out = NULL;
    size_t n = 0;
    bool f = sy_contract_unfence(text, strlen(text), &out, &n);
    if (inner == NULL) {
        if (f)
            fail_msg("unfenced %s to \"%.*s\"", text, (int)n, out);
        assert_ptr_equal(out, text);
        assert_int_equal(n, strlen(text));
        return;
    }
    if (!f)
        fail_msg("not unfenced: %s", text);
    if (n != strlen(inner) || memcmp(out, inner, n) != 0)
        fail_msg("unfenced %s to \"%.*s\", want \"%s\"", text, (int)n, out,
                 inner);
    assert_true(out >= text && out + n <= text + strlen(text));
}

static void
test_unfence(void **state)
{
    (void)state;
    unfence_is("```json\n{\"a\":1}\n```", "{\"a\":1}");
    unfence_is("```\n{\"a\":1}\n```", "{\"a\":1}");
    unfence_is("```JSON\n[1,2]\n```", "[1,2]");
    unfence_is("  \n\t```json\n{\"a\":\n 1}\n```\n  ", "{\"a\":\n 1}");
    unfence_is("```json\r\n{}\r\n```\r\n", "{}");
    unfence_is("```json {\"a\":1}```", "{\"a\":1}");
    unfence_is("```{\"a\":1}```", "{\"a\":1}");
    unfence_is("```json \n\n  {}  \n\n```", "{}");
    unfence_is("```json\n{\"md\":\"```py\\nx\\n```\"}\n```",
               "{\"md\":\"```py\\nx\\n```\"}");
    unfence_is("``````", "");
    unfence_is("```json\n```", "");
    /* Not fences, or not only a fence: left alone. */
    unfence_is("{\"a\":1}", NULL);
    unfence_is("", NULL);
    unfence_is("   ", NULL);
    unfence_is("```", NULL);
    unfence_is("`````", NULL);
    unfence_is("Here you go:\n```json\n{}\n```", NULL);
    unfence_is("```json\n{}\n```\nHope this helps!", NULL);
    unfence_is("```json\n{}", NULL);
    unfence_is("{}\n```", NULL);
    unfence_is("```python\nprint(1)\n```", NULL);
    unfence_is("```jsonc\n{}\n```", NULL);
    unfence_is("```json\n{}\n```\n```json\n{}\n```", NULL);
    unfence_is("```json\n{}\n```\nand\n```json\n[]\n```", NULL);
    unfence_is("```json\n{}\n   ```\n```", NULL);
    unfence_is("~~~json\n{}\n~~~", NULL);
    unfence_is("``json\n{}\n``", NULL);
}

/* Not NUL-terminated: only 'len' bytes are read. */
static void
test_unfence_length(void **state)
{
    (void)state;
    const char text[] = "```json\n{}\n```GARBAGE";
    const char *out;
    size_t n;
    assert_true(sy_contract_unfence(text, 14, &out, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(out, "{}", 2);
    assert_false(sy_contract_unfence(text, sizeof(text) - 1, &out, &n));
}

/* ------------------------------------------------------------------ */

static bool unf;
static char msg[256];

static bool
check(const char *content, const struct json_object *s, unsigned depth)
{
    memset(msg, 'x', sizeof(msg));
    unf = true;
    return sy_contract_check_json(content, strlen(content), s, depth, &arena,
                                  msg, sizeof(msg), &unf);
}

static void
refused(const char *content, const struct json_object *s, const char *want)
{
    if (check(content, s, 64))
        fail_msg("accepted: %s", content);
    if (strstr(msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\" for: %s", msg, want, content);
}

static void
test_json_object_mode(void **state)
{
    (void)state;
    assert_true(check("{\"a\":1}", NULL, 64));
    assert_false(unf);
    assert_string_equal(msg, "");
    assert_true(check("  {\"a\":[1,2,{\"b\":null}]}\n", NULL, 64));
    assert_true(check("```json\n{\"a\":1}\n```", NULL, 64));
    assert_true(unf);
    assert_true(check("```\n{}\n```\n", NULL, 64));
    assert_true(unf);
    assert_true(check("```json\n{\"md\":\"```sh\\nls\\n```\"}\n```", NULL, 64));
    assert_true(unf);
    refused("[1,2]", NULL, "the content must be a JSON object");
    refused("\"text\"", NULL, "the content must be a JSON object");
    refused("null", NULL, "the content must be a JSON object");
    refused("42", NULL, "the content must be a JSON object");
    refused("", NULL, "the content is empty; expected JSON");
    refused(" \n\t ", NULL, "the content is empty");
    refused("```json\n```", NULL, "the content is empty");
    assert_true(unf);
    refused("{\"a\":", NULL,
            "the content is not valid JSON (at byte 5: unexpected end of "
            "input)");
    refused("{\"a\":1", NULL, "unexpected end of input");
    refused("```json\n{\"a\":\n```", NULL, "unexpected end of input");
    assert_true(unf);
    refused("{'a':1}", NULL, "the content is not valid JSON");
    refused("{\"a\":1,}", NULL, "the content is not valid JSON");
    refused("{\"a\":1} and more", NULL,
            "the content has unexpected data after the JSON value (at "
            "byte 8)");
    refused("{\"a\":1}{\"b\":2}", NULL, "unexpected data");
    refused("{\"a\":NaN}", NULL,
            "the content is not valid JSON (at byte 5: unexpected "
            "character)");
    refused("{\"a\":-Infinity}", NULL, "(at byte 6: invalid number)");
    refused("[1e999]", NULL, "not valid JSON (a number is out of range)");
    /* What json-c's strict mode lets through, and a strict client
     * parser would not. */
    refused("{'a':1}", NULL, "(at byte 1: expected a quoted property name)");
    refused("[1.]", NULL, "(at byte 3: invalid number)");
    refused("[01]", NULL, "(at byte 2: expected ',' or ']')");
    refused("[\"a\tb\"]", NULL,
            "(at byte 3: control character in a "
            "string)");
    refused("[\"\xff\"]", NULL,
            "not valid JSON (invalid UTF-8 in a "
            "string)");
    refused("[\"\\x41\"]", NULL, "(at byte 3: invalid escape in a string)");
    refused("[\"\\u12g4\"]", NULL, "(at byte 6: invalid \\u escape)");
    refused("{\"a\" 1}", NULL, "(at byte 5: expected ':')");
    refused("[1 2]", NULL, "(at byte 3: expected ',' or ']')");
    refused("{\"a\":1 \"b\":2}", NULL, "expected ',' or '}'");
    refused("[tru]", NULL, "(at byte 1: unexpected character)");
    refused("{\"a\":tru", NULL, "unexpected end of input");
    refused("[\"abc", NULL, "(at byte 5: unexpected end of input)");
    refused("[1,", NULL, "unexpected end of input");
    refused("[-]", NULL, "invalid number");
    refused("[1e+]", NULL, "invalid number");
    refused("/*c*/{}", NULL, "unexpected character");
    refused("{} // x", NULL, "unexpected data after the JSON value");
    assert_true(check("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D"
                      "\\uDE00\",\"n\":[-0,0.5,1E+2,-1.25e-3,10],\"t\":true,"
                      "\"f\":false,\"z\":null,\"o\":{},\"a\":[[],{}]}",
                      NULL, 64));
    /* Prose around JSON is not stripped. */
    refused("Sure! Here it is: {\"a\":1}", NULL, "not valid JSON");
    refused("Here:\n```json\n{\"a\":1}\n```", NULL, "not valid JSON");
    assert_false(unf);
    refused("```python\n{\"a\":1}\n```", NULL, "not valid JSON");
}

static void
test_depth(void **state)
{
    (void)state;
    const char *deep = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}";
    assert_true(check(deep, NULL, 6));
    assert_false(check(deep, NULL, 5));
    assert_string_equal(msg, "the content is nested deeper than 5 levels");
    /* 0 means the default (64). */
    assert_true(check(deep, NULL, 0));
}

static void
test_json_schema_mode(void **state)
{
    (void)state;
    struct json_object *s =
        schema("{'type':'object','properties':{'n':{'type':'integer'},"
               "'tags':{'type':'array','items':{'type':'string'}}},"
               "'required':['n'],'additionalProperties':false}");
    assert_true(check("{\"n\":1}", s, 64));
    assert_true(check("{\"n\":1.0,\"tags\":[\"a\"]}", s, 64));
    assert_true(check("```json\n{\"n\":2}\n```", s, 64));
    assert_true(unf);
    refused("{\"n\":\"x\"}", s,
            "the content does not match the schema: $.n: must be integer "
            "(got string)");
    refused("{}", s,
            "the content does not match the schema: $: missing "
            "required property \"n\"");
    refused("{\"n\":1,\"tags\":[\"a\",2]}", s, "$.tags[1]: must be string");
    refused("{\"n\":1,\"extra\":true}", s, "$.extra: property is not allowed");
    refused("[1]", s, "$: must be object (got array)");
    refused("{\"n\":", s, "not valid JSON");
    /* A schema that is not about objects decides alone. */
    struct json_object *arr = schema("{'type':'array','maxItems':2}");
    assert_true(check("[1,2]", arr, 64));
    refused("[1,2,3]", arr, "$: must have at most 2 items");
    struct json_object *nul = schema("{'type':'null'}");
    assert_true(check("null", nul, 64));
}

/* The parsed tree belongs to the arena and can be read after the check. */
static void
test_parse_json(void **state)
{
    (void)state;
    struct json_object *doc = (struct json_object *)1;
    bool f = false;
    const char *c = "```json\n{\"answer\":42}\n```";
    assert_true(sy_contract_parse_json(c, strlen(c), 64, &arena, &doc, msg,
                                       sizeof(msg), &f));
    assert_true(f);
    struct json_object *v;
    assert_true(json_object_object_get_ex(doc, "answer", &v));
    assert_int_equal(json_object_get_int(v), 42);
    doc = (struct json_object *)1;
    assert_false(sy_contract_parse_json("{", 1, 64, &arena, &doc, msg,
                                        sizeof(msg), NULL));
    assert_null(doc);
    /* NULL message buffer and NULL unfenced flag are fine. */
    assert_true(
        sy_contract_parse_json("[]", 2, 64, &arena, &doc, NULL, 0, NULL));
    assert_false(
        sy_contract_check_json("[]", 2, NULL, 64, &arena, NULL, 0, NULL));
}

/* Messages are cut to the caller's buffer, never overrun it. */
static void
test_small_buffer(void **state)
{
    (void)state;
    char small[12];
    memset(small, 'x', sizeof(small));
    assert_false(sy_contract_check_json("{\"a\":", 5, NULL, 64, &arena, small,
                                        sizeof(small), NULL));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    struct json_object *s = schema("{'required':['a']}");
    memset(small, 'x', sizeof(small));
    assert_false(sy_contract_check_json("{}", 2, s, 64, &arena, small,
                                        sizeof(small), NULL));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    memset(small, 'x', sizeof(small));
    assert_false(sy_contract_check_tool_args("{}", 2, s, 64, small, 1));
    assert_int_equal(small[0], '\0');
}

/* ------------------------------------------------------------------ */

static bool
args(const char *text, const struct json_object *params)
{
    memset(msg, 'x', sizeof(msg));
    return sy_contract_check_tool_args(text, strlen(text), params, 64, msg,
                                       sizeof(msg));
}

static void
args_refused(const char *text, const struct json_object *params,
             const char *want)
{
    if (args(text, params))
        fail_msg("accepted tool arguments: %s", text);
    if (strstr(msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\" for: %s", msg, want, text);
}

static void
test_tool_args(void **state)
{
    (void)state;
    struct json_object *p =
        schema("{'type':'object','properties':{'city':{'type':'string',"
               "'minLength':1},'unit':{'enum':['c','f']}},"
               "'required':['city'],'additionalProperties':false}");
    assert_true(args("{\"city\":\"Paris\"}", p));
    assert_string_equal(msg, "");
    assert_true(args(" {\"city\":\"Paris\",\"unit\":\"c\"} ", p));
    args_refused("{\"city\":1}", p,
                 "the tool arguments do not match the parameters schema: "
                 "$.city: must be string (got integer)");
    args_refused("{\"city\":\"Paris\",\"unit\":\"k\"}", p,
                 "$.unit: must be one of: \"c\", \"f\"");
    args_refused("{}", p, "$: missing required property \"city\"");
    args_refused("{\"city\":\"P\",\"x\":0}", p, "$.x: property is not allowed");
    args_refused("{\"city\":\"P\"", p,
                 "the tool arguments are not valid JSON (at byte 11: "
                 "unexpected end of input)");
    args_refused("[]", p, "the tool arguments must be a JSON object");
    args_refused("\"{\\\"city\\\":\\\"P\\\"}\"", p, "must be a JSON object");
    args_refused("{\"city\":\"P\"} x", p,
                 "the tool arguments have unexpected data after the JSON");
    /* Empty arguments are {}: fine without required parameters. */
    args_refused("", p, "$: missing required property \"city\"");
    assert_true(args("", NULL));
    assert_true(args("  ", NULL));
    assert_true(args("{}", NULL));
    assert_true(args("{\"anything\":[1,2]}", NULL));
    args_refused("null", NULL, "must be a JSON object");
    args_refused("{\"a\":NaN}", NULL,
                 "the tool arguments are not valid JSON (at byte 5: "
                 "unexpected character)");
    /* No fence removal for arguments. */
    args_refused("```json\n{\"city\":\"P\"}\n```", p, "not valid JSON");
    struct json_object *none = schema("{'type':'object','properties':{}}");
    assert_true(args("{}", none));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unfence),
        cmocka_unit_test(test_unfence_length),
        cmocka_unit_test_setup_teardown(test_json_object_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_schema_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
