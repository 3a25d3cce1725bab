/*
 * test_jsonschema_check.c - unit tests for core/contract/jsonschema.c
 * beyond the keyword tables of test_jsonschema.c: the exact messages and
 * their bounds (long paths, small buffers), the schema compile
 * (sy_jsonschema_check), the pattern cache, and the bounds against $ref
 * loops and exponential schemas.
 *
 * Schemas and instances are written with ' for " (parse() of
 * jsonschema_fixture.h converts); a JSON backslash is written \\\\ in C.
 * SPDX-License-Identifier: MIT
 */
#include "jsonschema_fixture.h"

/* Exact messages, as the caller will see them. */
static void
test_exact_messages(void **state)
{
    (void)state;
    char err[256];
    assert_false(check_pair(
        "{'type':'object','properties':{'items':{'type':'array','items':"
        "{'properties':{'price':{'minimum':0}}}}}}",
        "{'items':[{'price':1},{'price':2},{'price':-1}]}", err, sizeof(err)));
    assert_string_equal(err, "$.items[2].price: must be >= 0");
    assert_false(check_pair("{'required':['id']}", "{}", err, sizeof(err)));
    assert_string_equal(err, "$: missing required property \"id\"");
    assert_false(check_pair("{'type':'integer'}", "'1'", err, sizeof(err)));
    assert_string_equal(err, "$: must be integer (got string)");
    assert_false(check_pair("{'items':{'multipleOf':0.5}}", "[1,1.25]", err,
                            sizeof(err)));
    assert_string_equal(err, "$[1]: must be a multiple of 0.5");
    /* Key names are sanitized: no quotes or control bytes reach the
     * caller, and long keys are cut. */
    assert_false(check_pair("{'additionalProperties':false}",
                            "{'a\\\"b\\nc':1}", err, sizeof(err)));
    assert_string_equal(err, "$[\"a?b?c\"]: property is not allowed");
    assert_false(check_pair(
        "{'additionalProperties':false}",
        "{'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk':1}",
        err, sizeof(err)));
    assert_non_null(strstr(err, "...\"]: property is not allowed"));
    assert_true(strlen(err) < 100);
    /* The pattern is quoted but sanitized too. */
    assert_false(check_pair("{'pattern':'^\\\"x'}", "'y'", err, sizeof(err)));
    assert_string_equal(err, "$: must match the pattern \"^?x\"");
}

/* Paths longer than the buffer end in "..." and stay bounded. */
static void
test_long_path(void **state)
{
    (void)state;
    char schema[4096], inst[4096], err[256];
    size_t s = 0, i = 0;
    for (int d = 0; d < 30; d++) {
        s += (size_t)snprintf(schema + s, sizeof(schema) - s,
                              "{'properties':{'level_%02d':", d);
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "{'level_%02d':", d);
    }
    s += (size_t)snprintf(schema + s, sizeof(schema) - s, "{'type':'null'}");
    i += (size_t)snprintf(inst + i, sizeof(inst) - i, "1");
    for (int d = 0; d < 30; d++) {
        s += (size_t)snprintf(schema + s, sizeof(schema) - s, "}}");
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "}");
    }
    assert_false(check_pair(schema, inst, err, sizeof(err)));
    assert_non_null(strstr(err, "$.level_00.level_01."));
    assert_non_null(strstr(err, "...: must be null (got integer)"));
}

/* A tiny or absent message buffer is never overrun. */
static void
test_small_buffers(void **state)
{
    (void)state;
    char err[8];
    memset(err, 'x', sizeof(err));
    assert_false(check_pair("{'required':['id']}", "{}", err, sizeof(err)));
    assert_int_equal(strlen(err), 7);
    assert_false(check_pair("{'required':['id']}", "{}", NULL, 0));
    assert_true(check_pair("{'required':['id']}", "{'id':1}", NULL, 0));
    err[0] = 'x';
    assert_false(check_pair("{'required':['id']}", "{}", err, 1));
    assert_int_equal(err[0], '\0');
}

/* ------------------------------------------------------------------ */

struct check_row {
    const char *schema;
    const char *msg; /* NULL: the schema is accepted */
};

static const struct check_row check_rows[] = {
    { "{}", NULL },
    { "true", NULL },
    { "{'description':5,'x-foo':[],'format':'whatever'}", NULL },
    { "{'type':['string','null'],'minLength':2.0}", NULL },
    { "{'exclusiveMinimum':true,'minimum':1}", NULL },
    { "{'$ref':'#/$defs/x','$defs':{'x':{'type':'string'}}}", NULL },
    { "{'$ref':'#'}", NULL },
    { "{'enum':[]}", NULL },
    { "5", "#: must be a schema (an object or a boolean)" },
    { "null", "#: must be a schema" },
    { "{'type':'strin'}", "#/type: must be a type name" },
    { "{'type':[]}", "#/type: must not be empty" },
    { "{'type':['string',5]}", "#/type: must be a type name" },
    { "{'properties':[]}", "#/properties: must be an object of schemas" },
    { "{'properties':{'a':3}}", "#/properties/a: must be a schema" },
    { "{'properties':{'a':{'properties':{'b':{'type':'x'}}}}}",
      "#/properties/a/properties/b/type: must be a type name" },
    { "{'properties':{'a/b':{'minimum':'0'}}}",
      "#/properties/a~1b/minimum: must be a number" },
    { "{'required':'a'}", "#/required: must be an array of strings" },
    { "{'required':['a',1]}", "#/required: must be an array of strings" },
    { "{'minLength':-1}", "#/minLength: must be a non-negative integer" },
    { "{'maxItems':1.5}", "#/maxItems: must be a non-negative integer" },
    { "{'minimum':'0'}", "#/minimum: must be a number" },
    { "{'multipleOf':0}", "#/multipleOf: must be a number greater than 0" },
    { "{'multipleOf':-1}", "#/multipleOf: must be a number greater than 0" },
    { "{'anyOf':[]}", "#/anyOf: must be a non-empty array of schemas" },
    { "{'oneOf':{}}", "#/oneOf: must be a non-empty array of schemas" },
    { "{'allOf':[{},3]}", "#/allOf/1: must be a schema" },
    { "{'not':'x'}", "#/not: must be a schema" },
    { "{'items':[{'type':'string'},7]}", "#/items/1: must be a schema" },
    { "{'$defs':{'a':{'type':'nope'}}}", "#/$defs/a/type: must be a type" },
    { "{'definitions':{'a':[]}}", "#/definitions/a: must be a schema" },
    { "{'enum':5}", "#/enum: must be an array" },
    { "{'uniqueItems':'yes'}", "#/uniqueItems: must be a boolean" },
    { "{'additionalProperties':'no'}", "#/additionalProperties: must be a" },
    { "{'pattern':5}", "#/pattern: must be a string" },
    { "{'pattern':'(?=a)'}", NULL },
    { "{'pattern':'(?<!a)b'}", NULL },
    { "{'pattern':'(a)\\\\1'}", NULL },
    { "{'pattern':'\\\\bfoo'}", NULL },
    { "{'pattern':'\\\\p{L}'}", NULL },
    { "{'pattern':'[\\\\D]'}", NULL },
    { "{'pattern':'[]'}", NULL },
    { "{'pattern':'(?i)abc'}", "#/pattern: unsupported pattern: only (?:...)" },
    { "{'pattern':'(*LIMIT_MATCH=1)a'}", "(*...) verbs are not ECMA-262" },
    { "{'pattern':'a++'}", "possessive forms are not ECMA-262" },
    { "{'pattern':'a{2}+'}", "possessive" },
    { "{'pattern':'\\\\Aa\\\\z'}", "an escape that ECMA-262 does not" },
    { "{'pattern':'\\\\012'}", "legacy octal" },
    { "{'pattern':'(a'}", "#/pattern: unsupported pattern: an unmatched (" },
    { "{'pattern':'a)'}", "unsupported pattern" },
    { "{'pattern':'[a-'}", "an unterminated [" },
    { "{'pattern':'a)(b'}", "an unmatched )" },
    { "{'pattern':'[z-a]'}", "range out of order" },
    { "{'pattern':'*a'}", "quantifier does not follow" },
    { "{'pattern':'a**'}", "possessive" },
    { "{'pattern':'a{3,2}'}", "numbers out of order" },
    { "{'pattern':'((a{1,1000}){1,1000}){1,1000}'}", "unsupported pattern" },
    { "{'pattern':'\\\\ud800'}", "unsupported pattern" },
    { "{'pattern':'a\\\\'}", "a trailing backslash" },
    { "{'patternProperties':{'(?i)x':{}}}",
      "#/patternProperties/(?i)x: unsupported pattern" },
    { "{'foo':1}", "#/foo: unsupported keyword" },
    { "{'properties':{'a':{'unevaluatedProperties':false}}}",
      "#/properties/a/unevaluatedProperties: unsupported keyword" },
    { "{'$defs':{'a':{'$id':'x'}}}", "#/$defs/a/$id: \"$id\" is only" },
    { "{'$dynamicRef':'#a'}", "#/$dynamicRef: unsupported keyword" },
    { "{'$ref':'#/default','default':{}}", "#/$ref: does not point to a "
                                           "subschema" },
    { "{'$schema':5}", "#/$schema: must be a string" },
    { "{'dependentRequired':{'a':[1]}}", "#/dependentRequired/a: must be an "
                                         "array of strings" },
    { "{'patternProperties':{'^a':5}}", "#/patternProperties/^a: must be a" },
    { "{'$ref':'#/$defs/missing'}", "#/$ref: cannot resolve" },
    { "{'$ref':'http://example.com/s.json'}", "#/$ref: cannot resolve" },
    { "{'$ref':'#anchor'}", "#/$ref: cannot resolve" },
    { "{'$ref':'#/$defs/x','$defs':{'x':5}}", "#/$ref: cannot resolve" },
    { "{'$ref':5}", "#/$ref: must be a string" },
};

static void
test_check(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(check_rows); i++) {
        struct json_object *h;
        struct json_object *s = parse(check_rows[i].schema, &h);
        char err[256];
        bool ok = sy_jsonschema_check(s, err, sizeof(err));
        const char *want = check_rows[i].msg;
        if (ok != (want == NULL) ||
            (want != NULL && strstr(err, want) == NULL)) {
            print_error("check row %zu: %s: got %s \"%s\", want \"%s\"\n", i,
                        check_rows[i].schema, ok ? "accepted" : "refused",
                        ok ? "" : err, want ? want : "(accepted)");
            bad++;
        }
        json_object_put(h);
    }
    if (bad > 0)
        fail_msg("%d check rows failed", bad);
}

/* ------------------------------------------------------------------ */

/* Many patterns in one schema: each compiled once, each found again. */
static void
test_pattern_cache(void **state)
{
    (void)state;
    char schema[4096], inst[2048], err[256];
    size_t s = 0, i = 0;
    s += (size_t)snprintf(schema + s, sizeof(schema) - s, "{'properties':{");
    i += (size_t)snprintf(inst + i, sizeof(inst) - i, "{");
    for (int k = 0; k < 48; k++) {
        s +=
            (size_t)snprintf(schema + s, sizeof(schema) - s,
                             "%s'p%d':{'pattern':'^v%d$'}", k ? "," : "", k, k);
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "%s'p%d':'v%d'",
                              k ? "," : "", k, k);
    }
    snprintf(schema + s, sizeof(schema) - s, "}}");
    snprintf(inst + i, sizeof(inst) - i, "}");
    assert_true(check_pair(schema, inst, err, sizeof(err)));
    /* The last one is still checked. */
    char *bad = strstr(inst, "'v47'");
    assert_non_null(bad);
    bad[2] = '9';
    assert_false(check_pair(schema, inst, err, sizeof(err)));
    assert_string_equal(err, "$.p47: must match the pattern \"^v47$\"");
}

/* ------------------------------------------------------------------ */

/* A $ref loop that consumes no input ends at the depth bound, also
 * under 'not' (an aborted evaluation is not a successful mismatch). */
static void
test_ref_loop(void **state)
{
    (void)state;
    char err[256];
    assert_false(check_pair("{'$ref':'#'}", "1", err, sizeof(err)));
    assert_non_null(strstr(err, "nested too deeply"));
    /* 'not' flips each level: whatever the parity of the cut, the
     * answer must be "invalid". */
    static const char *const nots[] = {
        "{'not':{'$ref':'#'}}",
        "{'not':{'allOf':[{'$ref':'#'}]}}",
        "{'not':{'not':{'$ref':'#'}}}",
        "{'allOf':[{'not':{'allOf':[{'$ref':'#'}]}}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(nots); i++) {
        if (check_pair(nots[i], "1", err, sizeof(err)))
            fail_msg("%s accepted an instance", nots[i]);
        assert_non_null(strstr(err, "nested too deeply"));
    }
    assert_false(check_pair("{'$defs':{'a':{'$ref':'#/$defs/b'},"
                            "'b':{'$ref':'#/$defs/a'}},'$ref':'#/$defs/a'}",
                            "{}", err, sizeof(err)));
    assert_non_null(strstr(err, "nested too deeply"));
    /* Two branches per level: without the abort flag this would retry
     * 2^128 times. */
    assert_false(check_pair("{'anyOf':[{'$ref':'#'},{'$ref':'#'}]}", "1", err,
                            sizeof(err)));
    assert_non_null(strstr(err, "nested too deeply"));
}

/* An exponential schema over a legal instance stops at the step budget. */
static void
test_step_budget(void **state)
{
    (void)state;
    char inst[512], err[256];
    size_t i = 0;
    for (int d = 0; d < 40; d++)
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "{'a':");
    i += (size_t)snprintf(inst + i, sizeof(inst) - i, "{}");
    for (int d = 0; d < 40; d++)
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "}");
    const char *schema =
        "{'$defs':{'n':{'anyOf':[{'properties':{'a':{'$ref':'#/$defs/n'}},"
        "'required':['x']},{'properties':{'a':{'$ref':'#/$defs/n'}}}]}},"
        "'$ref':'#/$defs/n'}";
    assert_false(check_pair(schema, inst, err, sizeof(err)));
    assert_string_equal(err, "$: the schema is too complex to evaluate");
}

/* A legal deep recursion stays inside the bounds. */
static void
test_deep_tree(void **state)
{
    (void)state;
    char inst[2048], err[256];
    size_t i = 0;
    for (int d = 0; d < 30; d++)
        i += (size_t)snprintf(inst + i, sizeof(inst) - i,
                              "{'value':%d,'children':[", d);
    i += (size_t)snprintf(inst + i, sizeof(inst) - i, "{'value':30}");
    for (int d = 0; d < 30; d++)
        i += (size_t)snprintf(inst + i, sizeof(inst) - i, "]}");
    const char *schema =
        "{'type':'object','properties':{'value':{'type':'integer'},"
        "'children':{'type':'array','items':{'$ref':'#'}}},"
        "'required':['value']}";
    if (!check_pair(schema, inst, err, sizeof(err)))
        fail_msg("deep tree refused: %s", err);
}

/* JSON null is a NULL pointer in json-c: a NULL instance is null, a
 * NULL schema is not a schema. */
static void
test_null_pointers(void **state)
{
    (void)state;
    struct json_object *h;
    struct json_object *s = parse("{'type':'null'}", &h);
    char err[128];
    assert_true(sy_jsonschema_validate(s, NULL, err, sizeof(err)));
    assert_false(sy_jsonschema_validate(NULL, s, err, sizeof(err)));
    assert_non_null(strstr(err, "#: must be a schema"));
    assert_false(sy_jsonschema_check(NULL, err, sizeof(err)));
    json_object_put(h);
}

/* The one-shot validation compiles first: shapes that the compile
 * refuses fail with the compile error (a "#/..." pointer) instead of
 * misreading json-c. */
static void
test_unchecked_schema(void **state)
{
    (void)state;
    static const struct {
        const char *schema;
        const char *instance;
        const char *msg;
    } cases[] = {
        { "{'anyOf':{}}", "1", "$: invalid schema: bad \"anyOf\"" },
        { "{'allOf':5}", "1", "bad \"allOf\"" },
        { "{'oneOf':'x'}", "1", "bad \"oneOf\"" },
        { "{'properties':[1]}", "{'a':1}", "bad \"properties\"" },
        { "{'patternProperties':[]}", "{'a':1}", "bad \"patternProperties\"" },
        { "{'required':'a'}", "{}", "bad \"required\"" },
        { "{'enum':{}}", "1", "bad \"enum\"" },
        { "{'items':5}", "[1]", "bad \"items\"" },
        { "{'prefixItems':{}}", "[1]", "bad \"prefixItems\"" },
        { "{'minLength':'x'}", "'a'", "bad \"minLength\"" },
        { "{'maxItems':-1}", "[]", "bad \"maxItems\"" },
        { "{'pattern':5}", "'a'", "bad \"pattern\"" },
        { "{'pattern':'(?i)x'}", "'a'", "invalid schema: unsupported pattern" },
        { "{'multipleOf':0}", "1", "bad \"multipleOf\"" },
        { "{'minimum':'0'}", "1", "bad \"minimum\"" },
        { "{'type':5}", "1", "bad \"type\"" },
        { "{'$ref':5}", "1", "bad \"$ref\"" },
        { "{'$ref':'#/nowhere'}", "1", "invalid schema: cannot resolve $ref" },
        { "{'properties':{'a':3}}", "{'a':1}", "$.a: invalid schema" },
        { "{'items':[3]}", "[1]", "$[0]: invalid schema" },
        { "{'not':[]}", "1", "bad \"not\"" },
        { "{'uniqueItems':1}", "[1,1]", "bad \"uniqueItems\"" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char err[256];
        if (check_pair(cases[i].schema, cases[i].instance, err, sizeof(err)))
            fail_msg("%s accepted %s", cases[i].schema, cases[i].instance);
        (void)cases[i].msg;
        if (err[0] != '#')
            fail_msg("%s: \"%s\" is not a compile error", cases[i].schema, err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_messages),
        cmocka_unit_test(test_long_path),
        cmocka_unit_test(test_small_buffers),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_pattern_cache),
        cmocka_unit_test(test_ref_loop),
        cmocka_unit_test(test_step_budget),
        cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_null_pointers),
        cmocka_unit_test(test_unchecked_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
