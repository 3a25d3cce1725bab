/*
 * test_jsonschema.c - unit tests for core/contract/jsonschema.c: tables of
 * (schema, instance, verdict, message) for every keyword, valid and
 * invalid; the schema compile; the pattern dialect (ECMA-262 on PCRE2);
 * the bounds against $ref loops and exponential schemas. Hostile patterns
 * and the regex budget are in test_jsonschema_rx.c.
 *
 * Schemas and instances are written with ' for " (J() converts); a JSON
 * backslash is written \\\\ in C.
 * SPDX-License-Identifier: MIT
 */
#include "contract/jsonschema.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct row {
    const char *schema;
    const char *instance;
    bool valid;
    const char *msg; /* substring of the error, or NULL */
};

#define OK(s, i)         \
    {                    \
        s, i, true, NULL \
    }
#define BAD(s, i, m)   \
    {                  \
        s, i, false, m \
    }

/* Parse 'text' (with ' for ") as the one element of an array, so that
 * scalars and null need no special handling; '*holder' owns the tree. */
static struct json_object *
parse(const char *text, struct json_object **holder)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 3);
    assert_non_null(buf);
    buf[0] = '[';
    for (size_t i = 0; i < n; i++)
        buf[i + 1] = text[i] == '\'' ? '"' : text[i];
    buf[n + 1] = ']';
    buf[n + 2] = '\0';
    struct json_tokener *tok = json_tokener_new_ex(256);
    assert_non_null(tok);
    *holder = json_tokener_parse_ex(tok, buf, (int)(n + 2));
    json_tokener_free(tok);
    free(buf);
    if (*holder == NULL || json_object_array_length(*holder) != 1)
        fail_msg("test JSON does not parse: %s", text);
    return json_object_array_get_idx(*holder, 0);
}

/* Run every row; report each mismatch, then fail if there was one. */
static void
run_table(const struct row *rows, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *hs, *hi;
        struct json_object *s = parse(rows[i].schema, &hs);
        struct json_object *v = parse(rows[i].instance, &hi);
        char err[256], cerr[256];
        if (!sy_jsonschema_check(s, cerr, sizeof(cerr))) {
            print_error("row %zu: schema refused: %s\n  %s\n", i, cerr,
                        rows[i].schema);
            bad++;
        }
        memset(err, 'x', sizeof(err));
        bool ok = sy_jsonschema_validate(s, v, err, sizeof(err));
        if (ok != rows[i].valid) {
            print_error("row %zu: expected %s, got %s (%s)\n  schema %s\n"
                        "  instance %s\n",
                        i, rows[i].valid ? "valid" : "invalid",
                        ok ? "valid" : "invalid", ok ? "" : err, rows[i].schema,
                        rows[i].instance);
            bad++;
        } else if (ok && err[0] != '\0') {
            print_error("row %zu: valid but err is \"%s\"\n", i, err);
            bad++;
        } else if (!ok &&
                   (err[0] != '$' || (rows[i].msg != NULL &&
                                      strstr(err, rows[i].msg) == NULL))) {
            print_error("row %zu: message \"%s\" lacks \"%s\"\n  schema %s\n"
                        "  instance %s\n",
                        i, err, rows[i].msg ? rows[i].msg : "$", rows[i].schema,
                        rows[i].instance);
            bad++;
        }
        json_object_put(hs);
        json_object_put(hi);
    }
    if (bad > 0)
        fail_msg("%d of %zu rows failed", bad, n);
}

#define RUN(rows) run_table(rows, SY_ARRAY_LEN(rows))

/* ------------------------------------------------------------------ */

static const struct row type_rows[] = {
    OK("{'type':'string'}", "'abc'"),
    BAD("{'type':'string'}", "1", "$: must be string (got integer)"),
    OK("{'type':'integer'}", "1"),
    OK("{'type':'integer'}", "-7"),
    OK("{'type':'integer'}", "1.0"),
    OK("{'type':'integer'}", "1e2"),
    BAD("{'type':'integer'}", "1.5", "must be integer (got number)"),
    BAD("{'type':'integer'}", "'1'", "(got string)"),
    OK("{'type':'number'}", "1"),
    OK("{'type':'number'}", "2.5"),
    BAD("{'type':'number'}", "'1'", "must be number"),
    OK("{'type':'boolean'}", "true"),
    OK("{'type':'boolean'}", "false"),
    BAD("{'type':'boolean'}", "0", "must be boolean"),
    OK("{'type':'null'}", "null"),
    BAD("{'type':'null'}", "0", "must be null"),
    BAD("{'type':'null'}", "''", "(got string)"),
    OK("{'type':'object'}", "{}"),
    BAD("{'type':'object'}", "[]", "must be object (got array)"),
    OK("{'type':'array'}", "[]"),
    BAD("{'type':'array'}", "{}", "must be array (got object)"),
    OK("{'type':['string','null']}", "null"),
    OK("{'type':['string','null']}", "'x'"),
    BAD("{'type':['string','null']}", "1", "must be string or null"),
    BAD("{'type':['integer','boolean','null']}", "2.5",
        "must be integer, boolean or null (got number)"),
    OK("{}", "{'anything':[1,2]}"),
    OK("true", "42"),
    BAD("false", "42", "$: no value is allowed here"),
    OK("{'title':'t','description':'d','format':'email','x-custom':1,"
       "'$comment':'c','examples':[1]}",
       "'not an email'"),
};

static const struct row object_rows[] = {
    OK("{'properties':{'a':{'type':'integer'}}}", "{'a':1}"),
    BAD("{'properties':{'a':{'type':'integer'}}}", "{'a':'x'}",
        "$.a: must be integer"),
    OK("{'properties':{'a':{'type':'integer'}}}", "{}"),
    OK("{'properties':{'a':{'type':'integer'}}}", "{'b':'x'}"),
    OK("{'properties':{'a':{'type':'integer'}}}", "5"),
    OK("{'required':['a','b']}", "{'a':1,'b':null}"),
    BAD("{'required':['a','b']}", "{'a':1}",
        "$: missing required property \"b\""),
    OK("{'required':['a']}", "[1]"),
    OK("{'properties':{'a':{}},'additionalProperties':false}", "{'a':1}"),
    BAD("{'properties':{'a':{}},'additionalProperties':false}", "{'a':1,'b':2}",
        "$.b: property is not allowed"),
    OK("{'properties':{'a':{}},'additionalProperties':{'type':'string'}}",
       "{'a':1,'b':'x'}"),
    BAD("{'properties':{'a':{}},'additionalProperties':{'type':'string'}}",
        "{'a':1,'b':2}", "$.b: must be string"),
    OK("{'additionalProperties':false}", "{}"),
    OK("{'patternProperties':{'^x-':{'type':'integer'}},"
       "'additionalProperties':false}",
       "{'x-a':1}"),
    BAD("{'patternProperties':{'^x-':{'type':'integer'}},"
        "'additionalProperties':false}",
        "{'x-a':'s'}", "$[\"x-a\"]: must be integer"),
    BAD("{'patternProperties':{'^x-':{'type':'integer'}},"
        "'additionalProperties':false}",
        "{'y':1}", "$.y: property is not allowed"),
    BAD("{'minProperties':1}", "{}", "must have at least 1 property"),
    OK("{'minProperties':1}", "{'a':0}"),
    BAD("{'maxProperties':1}", "{'a':1,'b':2}", "must have at most 1 property"),
    OK("{'propertyNames':{'maxLength':3}}", "{'abc':1}"),
    BAD("{'propertyNames':{'maxLength':3}}", "{'abcd':1}",
        "$.abcd: property name does not match"),
    OK("{'type':'object','properties':{'user':{'type':'object',"
       "'properties':{'age':{'type':'integer','minimum':0}},"
       "'required':['age']}}}",
       "{'user':{'age':5}}"),
    BAD("{'type':'object','properties':{'user':{'type':'object',"
        "'properties':{'age':{'type':'integer','minimum':0}},"
        "'required':['age']}}}",
        "{'user':{'age':-1}}", "$.user.age: must be >= 0"),
    BAD("{'type':'object','properties':{'user':{'type':'object',"
        "'properties':{'age':{'type':'integer','minimum':0}},"
        "'required':['age']}}}",
        "{'user':{}}", "$.user: missing required property \"age\""),
    BAD("{'properties':{'my key':{'type':'string'}}}", "{'my key':1}",
        "$[\"my key\"]: must be string"),
    BAD("{'properties':{'a':false}}", "{'a':1}",
        "$.a: no value is allowed here"),
    OK("{'properties':{'a':true}}", "{'a':1}"),
    OK("{'properties':{'a':{'type':'null'}}}", "{'a':null}"),
};

static const struct row array_rows[] = {
    OK("{'items':{'type':'integer'}}", "[1,2,3]"),
    BAD("{'items':{'type':'integer'}}", "[1,'x']", "$[1]: must be integer"),
    OK("{'items':{'type':'integer'}}", "[]"),
    OK("{'items':{'type':'integer'}}", "'not an array'"),
    OK("{'prefixItems':[{'type':'string'},{'type':'integer'}]}", "['a',1]"),
    BAD("{'prefixItems':[{'type':'string'},{'type':'integer'}]}", "['a','b']",
        "$[1]: must be integer"),
    OK("{'prefixItems':[{'type':'string'},{'type':'integer'}]}",
       "['a',1,true]"),
    OK("{'prefixItems':[{'type':'string'},{'type':'integer'}]}", "['a']"),
    OK("{'prefixItems':[{'type':'string'}],'items':false}", "['a']"),
    BAD("{'prefixItems':[{'type':'string'}],'items':false}", "['a',1]",
        "$[1]: no value is allowed here"),
    OK("{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}",
       "['a',1,2]"),
    BAD("{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}",
        "['a',1,'b']", "$[2]: must be integer"),
    OK("{'items':[{'type':'string'}],'additionalItems':false}", "['a']"),
    BAD("{'items':[{'type':'string'}],'additionalItems':false}", "['a',2]",
        "$[1]: no value is allowed here"),
    BAD("{'minItems':2}", "[1]", "$: must have at least 2 items"),
    OK("{'minItems':2}", "[1,2]"),
    BAD("{'maxItems':1}", "[1,2]", "must have at most 1 item"),
    OK("{'maxItems':1}", "[1]"),
    OK("{'minItems':2.0}", "[1,2]"),
    OK("{'uniqueItems':true}", "[1,2,3]"),
    BAD("{'uniqueItems':true}", "[1,2,1]", "([0] equals [2])"),
    BAD("{'uniqueItems':true}", "[1,1.0]", "items must be unique"),
    BAD("{'uniqueItems':true}", "[{'a':1},{'a':1}]", "items must be unique"),
    OK("{'uniqueItems':true}", "[{'a':1},{'a':2},{'b':1}]"),
    OK("{'uniqueItems':true}", "[[1,2],[2,1],1,'1',true,null]"),
    OK("{'uniqueItems':false}", "[1,1]"),
    OK("{'contains':{'type':'string'}}", "[1,'a']"),
    BAD("{'contains':{'type':'string'}}", "[1,2]",
        "must contain at least 1 matching item"),
    OK("{'contains':{'const':1},'minContains':2}", "[1,2,1]"),
    BAD("{'contains':{'const':1},'minContains':2}", "[1,2]",
        "at least 2 matching items"),
    BAD("{'contains':{'const':1},'maxContains':1}", "[1,1]",
        "at most 1 matching item"),
    OK("{'contains':{'const':1},'minContains':0}", "[]"),
    OK("{'type':'array','items':{'type':'array','items':{'type':'number'}}}",
       "[[1,2],[3.5]]"),
    BAD("{'type':'array','items':{'type':'array','items':{'type':'number'}}}",
        "[[1],[2,'x']]", "$[1][1]: must be number"),
    BAD("{'type':'object','properties':{'items':{'type':'array','items':"
        "{'type':'object','properties':{'price':{'type':'number',"
        "'minimum':0}},'required':['price']}}}}",
        "{'items':[{'price':1},{'price':2.5},{'price':-3}]}",
        "$.items[2].price: must be >= 0"),
    BAD("{'type':'object','properties':{'items':{'type':'array','items':"
        "{'type':'object','properties':{'price':{'type':'number',"
        "'minimum':0}},'required':['price']}}}}",
        "{'items':[{'price':1},{}]}",
        "$.items[1]: missing required property \"price\""),
};

static const struct row value_rows[] = {
    OK("{'enum':['red','green']}", "'red'"),
    BAD("{'enum':['red','green']}", "'blue'",
        "$: must be one of: \"red\", \"green\""),
    OK("{'enum':[1,'1',null]}", "null"),
    OK("{'enum':[1,'1',null]}", "1.0"),
    BAD("{'enum':[1,'1',null]}", "2", "must be one of: 1, \"1\", null"),
    OK("{'enum':[{'a':[1,2]}]}", "{'a':[1,2]}"),
    BAD("{'enum':[{'a':[1,2]}]}", "{'a':[2,1]}", "must be one of"),
    OK("{'const':'x'}", "'x'"),
    BAD("{'const':'x'}", "'y'", "$: must be equal to the const value"),
    OK("{'const':{'a':1,'b':[true,null]}}", "{'b':[true,null],'a':1}"),
    BAD("{'const':{'a':1,'b':[true,null]}}", "{'a':1}", "const"),
    BAD("{'const':false}", "0", "const"),
    OK("{'const':null}", "null"),
    OK("{'const':1}", "1.0"),
    BAD("{'const':'a'}", "'a\\u0000b'", "const"),
};

static const struct row combinator_rows[] = {
    OK("{'anyOf':[{'type':'string'},{'type':'integer'}]}", "'a'"),
    OK("{'anyOf':[{'type':'string'},{'type':'integer'}]}", "1"),
    BAD("{'anyOf':[{'type':'string'},{'type':'integer'}]}", "1.5",
        "$: must match at least one schema in anyOf"),
    OK("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "1"),
    OK("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "2.5"),
    BAD("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "3",
        "exactly one schema in oneOf (matched more than one)"),
    BAD("{'oneOf':[{'type':'integer'},{'type':'string'}]}", "1.5",
        "$: must match exactly one schema in oneOf (matched none)"),
    BAD("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "1.5",
        "$: must be >= 2"),
    BAD("{'anyOf':[{'type':'object','required':['a']},"
        "{'type':'object','required':['b']}]}",
        "{}", "$: must match at least one schema in anyOf"),
    OK("{'allOf':[{'type':'integer'},{'minimum':0}]}", "5"),
    BAD("{'allOf':[{'type':'integer'},{'minimum':0}]}", "-1",
        "$: must be >= 0"),
    BAD("{'allOf':[{'type':'integer'},{'minimum':0}]}", "'x'",
        "must be integer"),
    OK("{'not':{'type':'string'}}", "1"),
    BAD("{'not':{'type':'string'}}", "'a'",
        "$: must not match the schema in not"),
    OK("{'if':{'properties':{'kind':{'const':'a'}}},'then':{'required':"
       "['x']},'else':{'required':['y']}}",
       "{'kind':'a','x':1}"),
    BAD("{'if':{'properties':{'kind':{'const':'a'}}},'then':{'required':"
        "['x']},'else':{'required':['y']}}",
        "{'kind':'a'}", "missing required property \"x\""),
    OK("{'if':{'properties':{'kind':{'const':'a'}}},'then':{'required':"
       "['x']},'else':{'required':['y']}}",
       "{'kind':'b','y':1}"),
    BAD("{'if':{'properties':{'kind':{'const':'a'}}},'then':{'required':"
        "['x']},'else':{'required':['y']}}",
        "{'kind':'b'}", "missing required property \"y\""),
    OK("{'if':{'type':'string'},'then':{'minLength':2}}", "5"),
    OK("{'properties':{'n':{'anyOf':[{'type':'null'},{'type':'integer',"
       "'minimum':1}]}}}",
       "{'n':null}"),
    BAD("{'properties':{'n':{'anyOf':[{'type':'null'},{'type':'integer',"
        "'minimum':1}]}}}",
        "{'n':0}", "$.n: must be >= 1"),
    BAD("{'properties':{'n':{'anyOf':[{'type':'null'},{'type':'integer',"
        "'minimum':1}]}}}",
        "{'n':'x'}", "$.n: must match at least one schema in anyOf"),
    BAD("{'oneOf':[{'not':{'type':'null'}},{'type':['null','string']}]}", "'s'",
        "(matched more than one)"),
};

static const struct row string_rows[] = {
    OK("{'minLength':2}", "'ab'"),
    BAD("{'minLength':2}", "'a'", "$: must be at least 2 characters long"),
    OK("{'maxLength':3}", "'abc'"),
    BAD("{'maxLength':3}", "'abcd'", "must be at most 3 characters long"),
    OK("{'maxLength':2}", "'\xc3\xa9\xe2\x82\xac'"), /* é€ */
    BAD("{'maxLength':2}", "'\xc3\xa9\xc3\xa9\xe2\x82\xac'", "at most 2"),
    OK("{'minLength':3}", "'\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80'"),
    OK("{'maxLength':1}", "'\xf0\x9f\x98\x80'"), /* one emoji */
    BAD("{'minLength':2}", "'\xf0\x9f\x98\x80'", "at least 2 characters"),
    OK("{'maxLength':1}", "'\\u00e9'"),
    OK("{'maxLength':3}", "'a\\u0000b'"),
    OK("{'minLength':1}", "5"),
    OK("{'pattern':'^[a-z]+$'}", "'abc'"),
    BAD("{'pattern':'^[a-z]+$'}", "'aBc'",
        "$: must match the pattern \"^[a-z]+$\""),
    OK("{'pattern':'b'}", "'abc'"),
    OK("{'pattern':'^\\\\d{3}-\\\\d{4}$'}", "'555-1234'"),
    BAD("{'pattern':'^\\\\d{3}-\\\\d{4}$'}", "'55-1234'", "pattern"),
    OK("{'pattern':'^[\\\\w.+-]+@[\\\\w-]+\\\\.[a-z]{2,}$'}",
       "'a.b+c@ex-ample.org'"),
    BAD("{'pattern':'^[\\\\w.+-]+@[\\\\w-]+\\\\.[a-z]{2,}$'}", "'a@b'",
        "pattern"),
    OK("{'pattern':'^(?:ab)+$'}", "'abab'"),
    BAD("{'pattern':'^(?:ab)+$'}", "'aba'", "pattern"),
    OK("{'pattern':'^a+?b$'}", "'aaab'"),
    OK("{'pattern':'^(?<word>[a-z]+)-$'}", "'ab-'"),
    OK("{'pattern':'^[[:alpha:]]$'}", "'a]'"),
    OK("{'pattern':'^[[:alpha:]]$'}", "':]'"),
    BAD("{'pattern':'^[[:alpha:]]$'}", "'b'", "pattern"),
    BAD("{'pattern':'^\\\\S+$'}", "'a b'", "pattern"),
    OK("{'pattern':'^\\\\S+$'}", "'ab'"),
    BAD("{'pattern':'^[^\\\\s]+$'}", "'a\\tb'", "pattern"),
    OK("{'pattern':'^\xc3\xa9.$'}", "'\xc3\xa9x'"),
    OK("{'pattern':'^\xc3\xa9.$'}", "'\xc3\xa9\xe2\x82\xac'"),
    BAD("{'pattern':'^\xc3\xa9.$'}", "'\xc3\xa9xx'", "pattern"),
    OK("{'pattern':'^[\\\\]-]+$'}", "']-]'"),
    BAD("{'pattern':'^[\\\\]-]+$'}", "'a'", "pattern"),
    OK("{'pattern':'^\\\\$\\\\d+(\\\\.\\\\d{2})?$'}", "'$10.50'"),
    BAD("{'pattern':'^\\\\$\\\\d+(\\\\.\\\\d{2})?$'}", "'$10.5'", "pattern"),
    OK("{'pattern':'^\\\\u00e9$'}", "'\xc3\xa9'"),
    OK("{'pattern':'^a$'}", "5"),
    OK("{'pattern':'a{2}'}", "'baab'"),
    BAD("{'pattern':'a{2}'}", "'aba'", "pattern"),
    OK("{'pattern':'^x{$'}", "'x{'"),
    OK("{'pattern':'^[^^]$'}", "'a'"),
    BAD("{'pattern':'^[\\\\^]$'}", "'a'", "pattern"),
    OK("{'pattern':'^[\\\\^-]+$'}", "'^-'"),
    OK("{'pattern':'^(red|green)$'}", "'green'"),
    BAD("{'pattern':'^(red|green)$'}", "'blue'", "pattern"),
    OK("{'pattern':'^\\\\/api\\\\/v[0-9]$'}", "'/api/v1'"),
};

static const struct row number_rows[] = {
    OK("{'minimum':0}", "0"),
    BAD("{'minimum':0}", "-1", "$: must be >= 0"),
    BAD("{'minimum':0}", "-0.5", "must be >= 0"),
    OK("{'maximum':10}", "10"),
    BAD("{'maximum':10}", "10.5", "must be <= 10"),
    BAD("{'exclusiveMinimum':0}", "0", "must be > 0"),
    OK("{'exclusiveMinimum':0}", "0.001"),
    BAD("{'exclusiveMaximum':1.5}", "1.5", "must be < 1.5"),
    OK("{'exclusiveMaximum':1.5}", "1.4"),
    BAD("{'minimum':0,'exclusiveMinimum':true}", "0", "must be > 0"),
    OK("{'minimum':0,'exclusiveMinimum':true}", "1"),
    BAD("{'maximum':5,'exclusiveMaximum':true}", "5", "must be < 5"),
    OK("{'maximum':5,'exclusiveMaximum':false}", "5"),
    OK("{'minimum':0}", "'x'"),
    OK("{'minimum':0.5}", "1"),
    BAD("{'minimum':0.1}", "0", "must be >= 0.1"),
    OK("{'maximum':9007199254740993}", "9007199254740993"),
    BAD("{'maximum':9007199254740993}", "9007199254740994",
        "must be <= 9007199254740993"),
    OK("{'type':'integer','minimum':1,'maximum':5}", "3"),
    BAD("{'type':'integer','minimum':1,'maximum':5}", "6", "must be <= 5"),
    OK("{'multipleOf':0.01}", "0.3"),
    OK("{'multipleOf':0.01}", "19.99"),
    OK("{'multipleOf':0.01}", "4.35"),
    BAD("{'multipleOf':0.01}", "0.305", "$: must be a multiple of 0.01"),
    OK("{'multipleOf':0.1}", "0.7"),
    OK("{'multipleOf':3}", "9"),
    BAD("{'multipleOf':3}", "10", "must be a multiple of 3"),
    OK("{'multipleOf':2}", "4.0"),
    BAD("{'multipleOf':2}", "4.5", "multiple of 2"),
    OK("{'multipleOf':1.5}", "4.5"),
    BAD("{'multipleOf':1.5}", "4", "multiple of 1.5"),
    BAD("{'multipleOf':3}", "1e20", "multiple of 3"),
    OK("{'multipleOf':1}", "-12"),
    BAD("{'multipleOf':1}", "1.0000000001", "multiple of 1"),
};

static const struct row ref_rows[] = {
    OK("{'$defs':{'pos':{'type':'integer','minimum':1}},"
       "'properties':{'n':{'$ref':'#/$defs/pos'}}}",
       "{'n':2}"),
    BAD("{'$defs':{'pos':{'type':'integer','minimum':1}},"
        "'properties':{'n':{'$ref':'#/$defs/pos'}}}",
        "{'n':0}", "$.n: must be >= 1"),
    OK("{'definitions':{'s':{'type':'string'}},"
       "'items':{'$ref':'#/definitions/s'}}",
       "['a']"),
    BAD("{'definitions':{'s':{'type':'string'}},"
        "'items':{'$ref':'#/definitions/s'}}",
        "['a',1]", "$[1]: must be string"),
    OK("{'type':'object','properties':{'value':{'type':'integer'},"
       "'children':{'type':'array','items':{'$ref':'#'}}},"
       "'required':['value'],'additionalProperties':false}",
       "{'value':1,'children':[{'value':2},{'value':3,'children':"
       "[{'value':4}]}]}"),
    BAD("{'type':'object','properties':{'value':{'type':'integer'},"
        "'children':{'type':'array','items':{'$ref':'#'}}},"
        "'required':['value'],'additionalProperties':false}",
        "{'value':1,'children':[{'value':2},{'value':3,'children':"
        "[{'value':'x'}]}]}",
        "$.children[1].children[0].value: must be integer"),
    BAD("{'type':'object','properties':{'value':{'type':'integer'},"
        "'children':{'type':'array','items':{'$ref':'#'}}},"
        "'required':['value'],'additionalProperties':false}",
        "{'value':1,'children':[{'children':[]}]}",
        "$.children[0]: missing required property \"value\""),
    BAD("{'type':'object','properties':{'value':{'type':'integer'},"
        "'children':{'type':'array','items':{'$ref':'#'}}},"
        "'required':['value'],'additionalProperties':false}",
        "{'value':1,'children':[{'value':2,'extra':1}]}",
        "$.children[0].extra: property is not allowed"),
    OK("{'$ref':'#/$defs/node','$defs':{'node':{'type':'object',"
       "'properties':{'next':{'anyOf':[{'type':'null'},"
       "{'$ref':'#/$defs/node'}]}}}}}",
       "{'next':{'next':{'next':null}}}"),
    BAD("{'$ref':'#/$defs/node','$defs':{'node':{'type':'object',"
        "'properties':{'next':{'anyOf':[{'type':'null'},"
        "{'$ref':'#/$defs/node'}]}}}}}",
        "{'next':{'next':5}}", "$.next.next: must be object (got integer)"),
    OK("{'$defs':{'a/b':{'type':'string'}},'$ref':'#/$defs/a~1b'}", "'x'"),
    BAD("{'$defs':{'a/b':{'type':'string'}},'$ref':'#/$defs/a~1b'}", "1",
        "must be string"),
    OK("{'$defs':{'a b':{'type':'string'}},'$ref':'#/$defs/a%20b'}", "'x'"),
    BAD("{'$defs':{'s':{'type':'string'}},'$ref':'#/$defs/s',"
        "'maxLength':2}",
        "'abc'", "at most 2 characters"),
    OK("{'properties':{'a':{'type':'integer'},'b':{'$ref':"
       "'#/properties/a'}}}",
       "{'a':1,'b':2}"),
    BAD("{'allOf':[{'$ref':'#/$defs/x'}],'$defs':{'x':false}}", "1",
        "no value is allowed here"),
};

static void
test_types(void **state)
{
    (void)state;
    RUN(type_rows);
}

static void
test_objects(void **state)
{
    (void)state;
    RUN(object_rows);
}

static void
test_arrays(void **state)
{
    (void)state;
    RUN(array_rows);
}

static void
test_values(void **state)
{
    (void)state;
    RUN(value_rows);
}

static void
test_combinators(void **state)
{
    (void)state;
    RUN(combinator_rows);
}

static void
test_strings(void **state)
{
    (void)state;
    RUN(string_rows);
}

static void
test_numbers(void **state)
{
    (void)state;
    RUN(number_rows);
}

static void
test_refs(void **state)
{
    (void)state;
    RUN(ref_rows);
}

/* ------------------------------------------------------------------ */

/* Validate one pair; return the verdict, message in 'err'. */
static bool
check_pair(const char *schema, const char *instance, char *err, size_t errlen)
{
    struct json_object *hs, *hi;
    struct json_object *s = parse(schema, &hs);
    struct json_object *v = parse(instance, &hi);
    bool ok = sy_jsonschema_validate(s, v, err, errlen);
    json_object_put(hs);
    json_object_put(hi);
    return ok;
}

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
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_refs),
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
