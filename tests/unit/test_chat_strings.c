/*
 * test_chat_strings.c - the names a request is routed and checked by
 * are taken whole (core/api/chat.c, core/base/json_strict.c
 * sy_json_whole_string): JSON may carry an escaped NUL, and a name read
 * as a C string would stop there, so "g-basic\u0000x" would be routed,
 * allowed and logged as "g-basic", and a tool named "f\u0000x" would be
 * looked up as "f" by the output check while the provider got it whole.
 * Both are refused with a 400 naming the field.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/chat.h"
#include "base/json_strict.h"
#include "base/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

static struct sy_arena arena;
static struct sy_chat_req req;
static struct sy_chat_error perr;

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

/* Parse 'text' (' stands for "). */
static enum sy_err
parse(const char *text)
{
    char *b = sy_arena_strdup(&arena, text);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    memset(&req, 0, sizeof(req));
    memset(&perr, 0, sizeof(perr));
    return sy_chat_req_parse(b, strlen(b), 64, &arena, &req, &perr);
}

#define USER "{'role':'user','content':'hi'}"

static void
test_whole_string(void **state)
{
    (void)state;
    struct json_object *o = json_tokener_parse("[\"ab\\u0000cd\",\"abcd\",1]");
    assert_non_null(o);
    assert_false(sy_json_whole_string(json_object_array_get_idx(o, 0)));
    assert_true(sy_json_whole_string(json_object_array_get_idx(o, 1)));
    assert_false(sy_json_whole_string(json_object_array_get_idx(o, 2)));
    assert_false(sy_json_whole_string(NULL));
    json_object_put(o);
}

static void
test_model_whole(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'g-basic\\u0000x','messages':[" USER "]}"),
                     SY_EBADREQ);
    assert_string_equal(perr.param, "model");
    assert_non_null(strstr(perr.message, "NUL"));
    assert_int_equal(parse("{'model':'g-basic','messages':[" USER "]}"), SY_OK);
    assert_string_equal(req.model, "g-basic");
}

static void
test_tool_name_whole(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'m','messages':[" USER "],'tools':["
                           "{'type':'function','function':{'name':'f'}},"
                           "{'type':'function','function':"
                           "{'name':'f\\u0000x'}}]}"),
                     SY_EBADREQ);
    assert_string_equal(perr.param, "tools[1].function.name");
    assert_int_equal(parse("{'model':'m','messages':[" USER "],'tools':["
                           "{'type':'function','function':{'name':'f'}}]}"),
                     SY_OK);
    assert_int_equal(req.ntool_schemas, 1);
    assert_string_equal(req.tool_schemas[0].name, "f");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_string),
        cmocka_unit_test_setup_teardown(test_model_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_name_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
