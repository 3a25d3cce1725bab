/*
 * test_contract_schema.c - caller schemas are compiled once, at parse
 * time (core/api/chat.c): an unsupported keyword or pattern in
 * response_format.json_schema.schema or a tool's function.parameters is
 * a 400 naming the parameter and the JSON pointer, before routing; the
 * compiled schemas then serve the contract checks (core/api/chat_contract.c)
 * with one regex budget per request, whose exhaustion is reported as the
 * caller's fault (sy_chat_contract_overspent).
 * SPDX-License-Identifier: MIT
 */
#include "api/chat.h"
#include "contract/jsonschema.h"
#include "base/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Parse 'body' (with ' for ") into 'req' using arena 'a'. */
static enum sy_err
parse(const char *text, struct sy_arena *a, struct sy_chat_req *req,
      struct sy_chat_error *err)
{
    static char body[8192];
    size_t n = strlen(text);
    assert_true(n < sizeof(body));
    for (size_t i = 0; i <= n; i++)
        body[i] = text[i] == '\'' ? '"' : text[i];
    return sy_chat_req_parse(body, n, 64, a, req, err);
}

#define MSGS "'messages':[{'role':'user','content':'hi'}]"

static void
test_refused_at_parse(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *param;
        const char *msg;
    } rows[] = {
        { "{'model':'m'," MSGS ",'response_format':{'type':'json_schema',"
          "'json_schema':{'name':'x','schema':{'type':'object','properties':"
          "{'a':{'type':'string','pattern':'(?<=a+)b'}}}}}}",
          "response_format.json_schema.schema",
          "#/properties/a/pattern: unsupported pattern: lookbehind" },
        { "{'model':'m'," MSGS ",'response_format':{'type':'json_schema',"
          "'json_schema':{'name':'x','schema':{'properties':{'a':{'pattern':"
          "'(?i)x'}}}}}}",
          "response_format.json_schema.schema",
          "#/properties/a/pattern: unsupported pattern" },
        { "{'model':'m'," MSGS ",'response_format':{'type':'json_schema',"
          "'json_schema':{'name':'x','schema':{'type':'object',"
          "'unevaluatedProperties':false}}}}",
          "response_format.json_schema.schema",
          "#/unevaluatedProperties: unsupported keyword" },
        { "{'model':'m'," MSGS ",'tools':[{'type':'function','function':"
          "{'name':'f','parameters':{'type':'object'}}},{'type':'function',"
          "'function':{'name':'g','parameters':{'patternProperties':"
          "{'a++':{}}}}}]}",
          "tools[1].function.parameters",
          "#/patternProperties/a++: unsupported pattern" },
        { "{'model':'m'," MSGS ",'tools':[{'type':'function','function':"
          "{'name':'f','parameters':{'propertyNames':{'pattern':'\\\\Z'}}}}]}",
          "tools[0].function.parameters",
          "#/propertyNames/pattern: unsupported pattern" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sy_arena a;
        sy_arena_init(&a, 4096);
        struct sy_chat_req req;
        struct sy_chat_error err;
        enum sy_err e = parse(rows[i].body, &a, &req, &err);
        if (e != SY_EBADREQ)
            fail_msg("row %zu accepted", i);
        assert_non_null(err.param);
        assert_string_equal(err.param, rows[i].param);
        if (rows[i].msg != NULL && strstr(err.message, rows[i].msg) == NULL)
            fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err.message,
                     rows[i].msg);
        sy_arena_cleanup(&a);
    }
}

/* Accepted schemas are compiled into the request and used by the
 * contract checks; the budget is shared by the request. */
static void
test_compiled_in_request(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    struct sy_chat_error err;
    assert_int_equal(
        parse("{'model':'m'," MSGS ",'response_format':{'type':"
              "'json_schema','json_schema':{'name':'x','schema':{'type':"
              "'object','properties':{'a':{'type':'string','pattern':"
              "'(a|a)*b'}},'required':['a']}}},'tools':[{'type':'function',"
              "'function':{'name':'f','parameters':{'type':'object',"
              "'properties':{'q':{'pattern':'^[a-z]+$'}}}}}]}",
              &a, &req, &err),
        SY_OK);
    assert_non_null(req.response_compiled);
    assert_non_null(req.rx_budget);
    assert_int_equal(req.ntool_schemas, 1);
    assert_string_equal(req.tool_schemas[0].name, "f");
    assert_non_null(req.tool_schemas[0].params);

    /* A reply that matches. */
    struct sy_stream_answer s;
    sy_stream_answer_init(&s);
    const char *ok = "{\"a\":\"aab\"}";
    sy_buf_append(&s.content, ok, strlen(ok));
    char why[300];
    bool fenced;
    assert_true(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_false(sy_chat_contract_overspent(&req));
    /* A reply the pattern cannot afford: the caller's fault. */
    sy_stream_answer_clear(&s);
    const char *slow = "{\"a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacb\"}";
    sy_buf_append(&s.content, slow, strlen(slow));
    assert_false(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_non_null(strstr(why, "$.a: too much regex work"));
    assert_true(sy_chat_contract_overspent(&req));
    /* Tool arguments use the tool's compiled schema (and the spent
     * budget: every later check of this request fails at once). */
    sy_stream_answer_clear(&s);
    s.ncalls = 1;
    snprintf(s.names[0], sizeof(s.names[0]), "f");
    sy_buf_append(&s.args[0], "{\"q\":\"abc\"}", 11);
    assert_false(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_non_null(strstr(why, "too much regex work"));
    sy_stream_answer_free(&s);
    sy_arena_cleanup(&a);
}

/* A fresh request has its own budget: the tool check passes. */
static void
test_tool_args_compiled(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    struct sy_chat_error err;
    assert_int_equal(
        parse("{'model':'m'," MSGS ",'tools':[{'type':'function','function':"
              "{'name':'f','parameters':{'type':'object','properties':{'q':"
              "{'pattern':'^[a-z]+$'}}}}}]}",
              &a, &req, &err),
        SY_OK);
    struct sy_stream_answer s;
    sy_stream_answer_init(&s);
    s.ncalls = 1;
    snprintf(s.names[0], sizeof(s.names[0]), "f");
    sy_buf_append(&s.args[0], "{\"q\":\"abc\"}", 11);
    char why[300];
    bool fenced;
    assert_true(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    sy_stream_answer_clear(&s);
    s.ncalls = 1;
    snprintf(s.names[0], sizeof(s.names[0]), "f");
    sy_buf_append(&s.args[0], "{\"q\":\"ABC\"}", 11);
    assert_false(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_non_null(strstr(why, "$.q: must match the pattern"));
    sy_stream_answer_free(&s);
    sy_arena_cleanup(&a);
}

/* Per-request bounds: many tools, or many patterns spread over tools
 * that each stay under the per-schema bound, are refused before the
 * compile work adds up. */
static void
test_request_bounds(void **state)
{
    (void)state;
    static char body[1 << 20];
    struct sy_arena a;
    struct sy_chat_req req;
    struct sy_chat_error err;

    size_t n = (size_t)snprintf(body, sizeof(body),
                                "{\"model\":\"m\",\"messages\":[{\"role\":"
                                "\"user\",\"content\":\"hi\"}],\"tools\":[");
    for (int i = 0; i < SY_CHAT_MAX_TOOLS + 1; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"type\":\"function\",\"function\":"
                              "{\"name\":\"f%d\"}}",
                              i ? "," : "", i);
    n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
    sy_arena_init(&a, 4096);
    assert_int_equal(sy_chat_req_parse(body, n, 64, &a, &req, &err),
                     SY_EBADREQ);
    assert_string_equal(err.param, "tools");
    sy_arena_cleanup(&a);

    /* 4 tools x 200 patterns: each schema is fine, the request is not. */
    n = (size_t)snprintf(body, sizeof(body),
                         "{\"model\":\"m\",\"messages\":[{\"role\":"
                         "\"user\",\"content\":\"hi\"}],\"tools\":[");
    for (int i = 0; i < 4; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"type\":\"function\",\"function\":"
                              "{\"name\":\"f%d\",\"parameters\":{\"type\":"
                              "\"object\",\"properties\":{",
                              i ? "," : "", i);
        for (int k = 0; k < 200; k++)
            n += (size_t)snprintf(body + n, sizeof(body) - n,
                                  "%s\"p%d\":{\"type\":\"string\","
                                  "\"pattern\":\"^[a-z]{%d}$\"}",
                                  k ? "," : "", k, k + 1);
        n += (size_t)snprintf(body + n, sizeof(body) - n, "}}}}");
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
    sy_arena_init(&a, 4096);
    assert_int_equal(sy_chat_req_parse(body, n, 64, &a, &req, &err),
                     SY_EBADREQ);
    assert_string_equal(err.param, "tools[2].function.parameters");
    assert_non_null(strstr(err.message, "more than 512 patterns"));
    sy_arena_cleanup(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_at_parse),
        cmocka_unit_test(test_compiled_in_request),
        cmocka_unit_test(test_tool_args_compiled),
        cmocka_unit_test(test_request_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
