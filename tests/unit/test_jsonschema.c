/*
 * test_jsonschema.c - unit tests for core/contract/jsonschema.c: tables of
 * (schema, instance, verdict, message) for every keyword, valid and
 * invalid. Exact messages, the schema compile and the evaluation bounds
 * are in test_jsonschema_check.c; hostile patterns and the regex budget
 * in test_jsonschema_rx.c.
 *
 * Schemas and instances are written with ' for " (parse() of
 * jsonschema_fixture.h converts); a JSON backslash is written \\\\ in C.
 * SPDX-License-Identifier: MIT
 */
#include "contract/jsonschema.c"
#include "jsonschema_fixture.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),       cmocka_unit_test(test_objects),
        cmocka_unit_test(test_arrays),      cmocka_unit_test(test_values),
        cmocka_unit_test(test_combinators), cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),     cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
