/*
 * test_chat.c - unit tests for core/api/chat.c: validation of client chat
 * requests (every rejection names its parameter), extraction of stream,
 * include_usage and max_tokens, the OpenAI error object, usage reading
 * and response writing. Bodies use ' for " (J() converts).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/chat.h"
#include "api/caps.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *
J(const char *s)
{
    char *p = sy_arena_strdup(&arena, s);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    return p;
}

static enum sy_err
parse_depth(const char *body, unsigned depth)
{
    return sy_chat_req_parse(body, strlen(body), depth, &arena, &req, &perr);
}

static enum sy_err
parse(const char *body)
{
    return parse_depth(J(body), 64);
}

static void
ok(const char *body)
{
    enum sy_err e = parse(body);
    if (e != SY_OK)
        fail_msg("refused (%s): %s [param %s]\n  body: %s", sy_err_name(e),
                 perr.message, perr.param ? perr.param : "null", J(body));
}

/* Expect a 400 naming 'param' (NULL: none) with 'msg' in the message. */
static void
rejects(const char *body, const char *param, const char *msg)
{
    enum sy_err e = parse(body);
    if (e != SY_EBADREQ)
        fail_msg("expected SY_EBADREQ, got %s\n  body: %s", sy_err_name(e),
                 J(body));
    if (param == NULL) {
        if (perr.param != NULL)
            fail_msg("expected no param, got '%s' (%s)", perr.param,
                     perr.message);
    } else {
        if (perr.param == NULL || strcmp(perr.param, param) != 0)
            fail_msg("expected param '%s', got '%s' (%s)\n  body: %s", param,
                     perr.param ? perr.param : "null", perr.message, J(body));
    }
    if (msg != NULL && strstr(perr.message, msg) == NULL)
        fail_msg("message '%s' does not contain '%s'", perr.message, msg);
}

#define USER "{'role':'user','content':'hi'}"
#define BASE "'model':'gpt','messages':[" USER "]"

/* ------------------------------------------------------------------ */
/* Valid requests                                                      */

static void
test_valid_minimal(void **state)
{
    (void)state;
    ok("{" BASE "}");
    assert_non_null(req.root);
    assert_string_equal(req.model, "gpt");
    assert_false(req.stream);
    assert_false(req.include_usage);
    assert_int_equal(req.max_tokens, -1);
    assert_int_equal(req.nmessages, 1);
    assert_null(perr.param);
    assert_string_equal(perr.message, "");
    /* The model string is borrowed from the tree. */
    struct json_object *m;
    assert_true(json_object_object_get_ex(req.root, "model", &m));
    assert_ptr_equal(req.model, json_object_get_string(m));
}

static void
test_valid_full(void **state)
{
    (void)state;
    ok("{'model':'gpt','messages':["
       "{'role':'system','content':'be brief'},"
       "{'role':'developer','content':'dev'},"
       "{'role':'user','content':[{'type':'text','text':'look'},"
       "{'type':'image_url','image_url':{'url':'data:x'}}]},"
       "{'role':'assistant','content':null,'tool_calls':[{'id':'c1',"
       "'type':'function','function':{'name':'f','arguments':'{}'}}]},"
       "{'role':'tool','tool_call_id':'c1','content':'42'},"
       "{'role':'assistant','content':'', 'function_call':null},"
       "{'role':'function','name':'f','content':'x'}],"
       "'stream':true,'stream_options':{'include_usage':true},"
       "'temperature':0.7,'top_p':1,'n':1,'max_tokens':100,"
       "'presence_penalty':0,'frequency_penalty':-0.5,'seed':7,"
       "'logprobs':false,'top_logprobs':2,'stop':['\\n','END'],"
       "'tools':[{'type':'function','function':{'name':'f',"
       "'parameters':{}}},{'type':'web_search'}],"
       "'tool_choice':'auto','parallel_tool_calls':true,"
       "'response_format':{'type':'json_object'},'user':'u',"
       "'logit_bias':{'50256':-100},'metadata':{'k':'v'},"
       "'unknown_field':{'passed':'on'}}");
    assert_true(req.stream);
    assert_true(req.include_usage);
    assert_int_equal(req.max_tokens, 100);
    assert_int_equal(req.nmessages, 7);
    /* null for optional fields is the same as absent. */
    ok("{" BASE ",'stream':null,'temperature':null,'max_tokens':null,"
       "'stop':null,'tools':null,'tool_choice':null,'stream_options':null,"
       "'response_format':null}");
    assert_false(req.stream);
    assert_int_equal(req.max_tokens, -1);
    /* Boundaries are inclusive. */
    ok("{" BASE ",'temperature':0,'top_p':0,'n':128,'max_tokens':1}");
    ok("{" BASE ",'temperature':2,'top_p':1.0}");
    ok("{" BASE ",'stop':'END','tool_choice':{'type':'function',"
       "'function':{'name':'f'}}}");
    /* Whitespace around the body. */
    ok(" \r\n\t{" BASE "} \n\r\t ");
}

static void
test_assistant_null_content_with_tool_calls(void **state)
{
    (void)state;
    ok("{'model':'m','messages':[" USER ",{'role':'assistant',"
       "'content':null,'tool_calls':[{'id':'1','type':'function',"
       "'function':{'name':'f','arguments':'{}'}}]}]}");
    ok("{'model':'m','messages':[" USER ",{'role':'assistant',"
       "'tool_calls':[{'id':'1','type':'function',"
       "'function':{'name':'f','arguments':'{}'}}]}]}");
    ok("{'model':'m','messages':[" USER ",{'role':'assistant',"
       "'content':null,'function_call':{'name':'f','arguments':'{}'}}]}");
}

static void
test_assistant_needs_content_or_tool_calls(void **state)
{
    (void)state;
    /* OpenAI: assistant "content" is "required unless tool_calls or
     * function_call is specified" (helper4 report [8]). */
    rejects("{'model':'m','messages':[" USER ",{'role':'assistant'}]}",
            "messages[1].content", NULL);
    rejects("{'model':'m','messages':[" USER ",{'role':'assistant',"
            "'content':null}]}",
            "messages[1].content", "without tool_calls");
    rejects("{'model':'m','messages':[" USER ",{'role':'assistant',"
            "'content':null,'tool_calls':null}]}",
            "messages[1].content", NULL);
}

static void
test_include_usage_and_max_tokens(void **state)
{
    (void)state;
    ok("{" BASE ",'stream':true}");
    assert_true(req.stream);
    assert_false(req.include_usage);
    ok("{" BASE ",'stream':true,'stream_options':{}}");
    assert_false(req.include_usage);
    ok("{" BASE ",'stream':true,'stream_options':{'include_usage':false}}");
    assert_false(req.include_usage);
    ok("{" BASE ",'stream':true,'stream_options':{'include_usage':true}}");
    assert_true(req.include_usage);
    ok("{" BASE ",'stream':false}");
    assert_false(req.stream);
    ok("{" BASE ",'max_tokens':256}");
    assert_int_equal(req.max_tokens, 256);
    ok("{" BASE ",'max_completion_tokens':77}");
    assert_int_equal(req.max_tokens, 77);
    /* Both: one cap when equal, else refused (a provider may honour
     * the one the budget did not reserve). */
    ok("{" BASE ",'max_tokens':77,'max_completion_tokens':77}");
    assert_int_equal(req.max_tokens, 77);
    rejects("{" BASE ",'max_completion_tokens':5,'max_tokens':9000000}",
            "max_tokens", "differ");
    ok("{" BASE ",'max_tokens':256,'max_completion_tokens':null}");
    assert_int_equal(req.max_tokens, 256);
    ok("{" BASE ",'max_tokens':10000000}");
    assert_true(req.max_tokens == INT64_C(10000000));
    /* Above SY_CHAT_MAX_TOKENS (and beyond 32 bits): refused, not
     * truncated or clamped (issue 10). */
    rejects("{" BASE ",'max_tokens':4294967296}", "max_tokens", NULL);
}

/* ------------------------------------------------------------------ */
/* Rejections                                                          */

static void
test_reject_not_json(void **state)
{
    (void)state;
    assert_int_equal(sy_chat_req_parse("", 0, 64, &arena, &req, &perr),
                     SY_EBADREQ);
    assert_null(perr.param);
    assert_non_null(strstr(perr.message, "empty"));
    rejects("hello", NULL, "not valid JSON");
    rejects("{'model':'m',", NULL, "not valid JSON");
    rejects("{'model':'m','messages':[]", NULL, "not valid JSON");
    /* Strict JSON: no single quotes, no trailing commas, no comments. */
    assert_int_equal(parse_depth("{'model':'m'}", 64), SY_EBADREQ);
    rejects("{" BASE ",}", NULL, "not valid JSON");
    rejects("{" BASE "} // c", NULL, NULL);
    /* The same strict parse as a provider's reply: a raw tab inside a
     * string, "1." and "01" are not JSON (json-c alone lets them by). */
    rejects("{'model':'g\tpt','messages':[" USER "]}", NULL,
            "control character");
    rejects("{" BASE ",'temperature':1.}", NULL, "invalid number");
    rejects("{" BASE ",'max_tokens':01}", NULL, "not valid JSON");
}

static void
test_reject_non_finite_numbers(void **state)
{
    (void)state;
    /* NaN and Infinity are not JSON (RFC 8259 section 6), yet json-c
     * accepts them even with JSON_TOKENER_STRICT; NaN then slips through
     * the range checks (every comparison is false) and is forwarded to
     * the provider as the non-JSON text "NaN" (helper4 report [9]). */
    static const char *const bodies[] = {
        "{" BASE ",'temperature':NaN}",
        "{" BASE ",'top_p':NaN}",
        "{" BASE ",'presence_penalty':Infinity}",
        "{" BASE ",'frequency_penalty':-Infinity}",
        "{" BASE ",'x':NaN}",
        "{" BASE ",'x':[1.5,{'y':[-Infinity]}]}",
        "{'model':'m','messages':[{'role':'user','content':[{'type':'t',"
        "'v':NaN}]}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bodies); i++) {
        enum sy_err e = parse(bodies[i]);
        if (e != SY_EBADREQ)
            fail_msg("accepted (%s): %s", sy_err_name(e), J(bodies[i]));
    }
    /* Finite doubles, exponents included, are fine. */
    ok("{" BASE ",'temperature':1e-3,'x':[1.5e300,-2.0,{'y':0.0}]}");
}

static void
test_reject_trailing_garbage(void **state)
{
    (void)state;
    rejects("{" BASE "} x", NULL, NULL);
    rejects("{" BASE "}{}", NULL, NULL);
    rejects("{" BASE "}\n{" BASE "}", NULL, NULL);
    rejects("{" BASE "}]", NULL, NULL);
    /* The message says where. */
    const char *body = J("{" BASE "} x");
    assert_int_equal(parse_depth(body, 64), SY_EBADREQ);
    char at[32];
    snprintf(at, sizeof(at), "byte %zu", strlen(body) - 1);
    if (strstr(perr.message, at) == NULL)
        fail_msg("'%s' does not say '%s'", perr.message, at);
}

static void
test_reject_not_object(void **state)
{
    (void)state;
    rejects("[" USER "]", NULL, "must be a JSON object");
    rejects("'model'", NULL, "must be a JSON object");
    rejects("42 ", NULL, "must be a JSON object");
    rejects("{}", "model", NULL);
    /* Bare numbers and literals (json-c wants a terminator after them). */
    rejects("42", NULL, "must be a JSON object");
    rejects("-1.5", NULL, "must be a JSON object");
    rejects("true", NULL, "must be a JSON object");
    rejects("'str'", NULL, "must be a JSON object");
    /* json-c parses "null" to a NULL object with no error: it is valid
     * JSON, and the message must not read "not valid JSON (...: success)"
     * (helper4 report [15]). */
    rejects("null", NULL, "must be a JSON object");
    rejects(" null ", NULL, "must be a JSON object");
}

static void
test_reject_depth(void **state)
{
    (void)state;
    /* 100 nested arrays in an unknown field, limit 64. */
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"x\"}],\"x\":");
    for (int i = 0; i < 100; i++)
        body[n++] = '[';
    for (int i = 0; i < 100; i++)
        body[n++] = ']';
    body[n++] = '}';
    body[n] = '\0';
    assert_int_equal(parse_depth(body, 64), SY_EBADREQ);
    assert_null(perr.param);
    assert_string_equal(perr.message,
                        "the request body is nested deeper than 64 levels");
    assert_null(req.root);
    /* A small limit: the same body shape, shallow, is fine; deeper is
     * not. */
    assert_int_equal(parse_depth(J("{" BASE ",'x':{'a':1}}"), 4), SY_OK);
    assert_int_equal(parse_depth(J("{" BASE ",'x':{'a':{'b':{'c':{}}}}}"), 4),
                     SY_EBADREQ);
    assert_string_equal(perr.message,
                        "the request body is nested deeper than 4 levels");
}

static void
test_reject_model(void **state)
{
    (void)state;
    rejects("{'messages':[" USER "]}", "model", "model");
    rejects("{'model':'','messages':[" USER "]}", "model", "model");
    rejects("{'model':5,'messages':[" USER "]}", "model",
            "'model' must be a string");
    rejects("{'model':null,'messages':[" USER "]}", "model", NULL);
    rejects("{'model':['m'],'messages':[" USER "]}", "model", NULL);
}

static void
test_reject_messages(void **state)
{
    (void)state;
    rejects("{'model':'m'}", "messages", "non-empty array");
    rejects("{'model':'m','messages':[]}", "messages", "non-empty array");
    rejects("{'model':'m','messages':{}}", "messages",
            "'messages' must be an array");
    rejects("{'model':'m','messages':'hi'}", "messages", NULL);
    rejects("{'model':'m','messages':null}", "messages", NULL);
    rejects("{'model':'m','messages':['hi']}", "messages[0]",
            "messages[0] must be an object");
    rejects("{'model':'m','messages':[" USER ",3]}", "messages[1]", NULL);
}

static void
test_reject_roles(void **state)
{
    (void)state;
    rejects("{'model':'m','messages':[{'content':'x'}]}", "messages[0].role",
            "must be a string");
    rejects("{'model':'m','messages':[{'role':1,'content':'x'}]}",
            "messages[0].role", NULL);
    rejects("{'model':'m','messages':[" USER ",{'role':'robot',"
            "'content':'x'}]}",
            "messages[1].role", "'robot' is not one of");
    rejects("{'model':'m','messages':[{'role':'User','content':'x'}]}",
            "messages[0].role", NULL);
    rejects("{'model':'m','messages':[{'role':'','content':'x'}]}",
            "messages[0].role", NULL);
}

static void
test_reject_content(void **state)
{
    (void)state;
    rejects("{'model':'m','messages':[{'role':'user'}]}", "messages[0].content",
            "required for role 'user'");
    rejects("{'model':'m','messages':[{'role':'user','content':null}]}",
            "messages[0].content", NULL);
    rejects("{'model':'m','messages':[{'role':'system'}]}",
            "messages[0].content", "required for role 'system'");
    /* A tool_calls field does not excuse a user message. */
    rejects("{'model':'m','messages':[{'role':'user','tool_calls':[]}]}",
            "messages[0].content", NULL);
    rejects("{'model':'m','messages':[{'role':'user','content':5}]}",
            "messages[0].content", "string or an array");
    rejects("{'model':'m','messages':[{'role':'user','content':{}}]}",
            "messages[0].content", NULL);
    rejects("{'model':'m','messages':[{'role':'user','content':true}]}",
            "messages[0].content", NULL);
}

static void
test_reject_content_parts(void **state)
{
    (void)state;
    rejects("{'model':'m','messages':[{'role':'user','content':["
            "{'type':'text','text':'a'},{'text':'b'}]}]}",
            "messages[0].content[1]", "string 'type'");
    rejects("{'model':'m','messages':[" USER ",{'role':'user','content':["
            "'plain string']}]}",
            "messages[1].content[0]", NULL);
    rejects("{'model':'m','messages':[{'role':'user','content':["
            "{'type':7}]}]}",
            "messages[0].content[0]", NULL);
}

static void
test_reject_tool_message(void **state)
{
    (void)state;
    rejects("{'model':'m','messages':[" USER ",{'role':'tool',"
            "'content':'42'}]}",
            "messages[1].tool_call_id", "for role 'tool'");
    rejects("{'model':'m','messages':[" USER ",{'role':'tool',"
            "'content':'42','tool_call_id':1}]}",
            "messages[1].tool_call_id", NULL);
}

static void
test_reject_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        const char *value;
        const char *what;
    } cases[] = {
        { "stream", "'yes'", "a boolean" },
        { "stream", "1", "a boolean" },
        { "stream_options", "true", "an object" },
        { "temperature", "'hot'", "a number" },
        { "top_p", "[]", "a number" },
        { "max_tokens", "1.5", "an integer" },
        { "max_tokens", "'100'", "an integer" },
        { "max_completion_tokens", "2.0", "an integer" },
        { "n", "'2'", "an integer" },
        { "seed", "1.5", "an integer" },
        { "tools", "{}", "an array" },
        { "tools", "'f'", "an array" },
        { "tool_choice", "5", "a string or an object" },
        { "tool_choice", "[]", "a string or an object" },
        { "response_format", "'json'", "an object" },
        { "stop", "5", "a string or an array of strings" },
        { "stop", "{}", "a string or an array of strings" },
        { "logprobs", "'no'", "a boolean" },
        { "user", "5", "a string" },
        { "metadata", "[]", "an object" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char body[256];
        char msg[96];
        snprintf(body, sizeof(body), "{" BASE ",'%s':%s}", cases[i].field,
                 cases[i].value);
        snprintf(msg, sizeof(msg), "'%s' must be %s", cases[i].field,
                 cases[i].what);
        rejects(body, cases[i].field, msg);
    }
    /* Array elements of stop. */
    rejects("{" BASE ",'stop':['a',1]}", "stop", "array of strings");
}

static void
test_reject_tools(void **state)
{
    (void)state;
    rejects("{" BASE ",'tools':[5]}", "tools[0]", "string 'type'");
    rejects("{" BASE ",'tools':[{'function':{'name':'f'}}]}", "tools[0]", NULL);
    rejects("{" BASE ",'tools':[{'type':'function'}]}",
            "tools[0].function.name", "non-empty string");
    rejects("{" BASE ",'tools':[{'type':'function','function':"
            "{'name':'a'}},{'type':'function','function':{'name':''}}]}",
            "tools[1].function.name", NULL);
}

static void
test_reject_ranges(void **state)
{
    (void)state;
    rejects("{" BASE ",'temperature':3}", "temperature",
            "'temperature' must be between 0 and 2");
    rejects("{" BASE ",'temperature':2.0001}", "temperature", NULL);
    rejects("{" BASE ",'temperature':-0.1}", "temperature", NULL);
    rejects("{" BASE ",'top_p':2}", "top_p", "'top_p' must be between 0 and 1");
    rejects("{" BASE ",'top_p':-1}", "top_p", NULL);
    rejects("{" BASE ",'n':0}", "n", "'n' must be between 1 and 128");
    rejects("{" BASE ",'n':129}", "n", NULL);
    rejects("{" BASE ",'max_tokens':0}", "max_tokens",
            "'max_tokens' must be at least 1");
    rejects("{" BASE ",'max_tokens':-5}", "max_tokens", NULL);
    rejects("{" BASE ",'max_completion_tokens':0}", "max_completion_tokens",
            "at least 1");
}

static void
test_reject_stream_options(void **state)
{
    (void)state;
    rejects("{" BASE ",'stream_options':{'include_usage':true}}",
            "stream_options", "only allowed when 'stream' is true");
    rejects("{" BASE ",'stream':false,'stream_options':{}}", "stream_options",
            NULL);
    rejects("{" BASE ",'stream':true,'stream_options':"
            "{'include_usage':'yes'}}",
            "stream_options.include_usage", "must be a boolean");
}

/* ------------------------------------------------------------------ */
/* Error objects, usage, responses                                     */

static struct json_object *
parse_json(const char *s, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (o == NULL || je != json_tokener_success)
        fail_msg("not JSON: %s", s);
    return o;
}

static const char *
str_at(struct json_object *o, const char *key)
{
    struct json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return v == NULL ? NULL : json_object_get_string(v);
}

static void
test_error_json(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 4096);
    const char *msg = "bad \"value\" in\nline\\2 \x01 caf\xc3\xa9";
    assert_int_equal(sy_chat_error_json(&b, msg, "invalid_request_error",
                                        "messages[0].content", "bad_code"),
                     SY_OK);
    struct json_object *root = parse_json(b.data, b.len);
    assert_int_equal(json_object_object_length(root), 1);
    struct json_object *err;
    assert_true(json_object_object_get_ex(root, "error", &err));
    assert_int_equal(json_object_object_length(err), 4);
    assert_string_equal(str_at(err, "message"), msg);
    assert_string_equal(str_at(err, "type"), "invalid_request_error");
    assert_string_equal(str_at(err, "param"), "messages[0].content");
    assert_string_equal(str_at(err, "code"), "bad_code");
    json_object_put(root);

    /* NULL param and code are JSON null; NULL type is server_error. */
    sy_buf_clear(&b);
    assert_int_equal(sy_chat_error_json(&b, "x", NULL, NULL, NULL), SY_OK);
    root = parse_json(b.data, b.len);
    assert_true(json_object_object_get_ex(root, "error", &err));
    struct json_object *v;
    assert_true(json_object_object_get_ex(err, "param", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(err, "code", &v));
    assert_null(v);
    assert_string_equal(str_at(err, "type"), "server_error");
    json_object_put(root);
    sy_buf_free(&b);

    /* Too small a buffer: an error, not an overflow. */
    sy_buf_init(&b, 20);
    assert_int_equal(
        sy_chat_error_json(&b, "a long message here", "t", NULL, NULL),
        SY_ETOOBIG);
    assert_true(b.len <= 20);
    sy_buf_free(&b);
}

static void
usage_of(const char *json, struct sy_usage *u)
{
    struct json_object *o = json ? parse_json(json, strlen(json)) : NULL;
    memset(u, 0x5a, sizeof(*u));
    sy_chat_usage_from_json(o, u);
    json_object_put(o);
}

static void
test_usage_from_json(void **state)
{
    (void)state;
    struct sy_usage u;
    usage_of(J("{'prompt_tokens':10,'completion_tokens':5,"
               "'total_tokens':15,'prompt_tokens_details':"
               "{'cached_tokens':4},'completion_tokens_details':"
               "{'reasoning_tokens':2}}"),
             &u);
    assert_true(u.present);
    assert_int_equal(u.prompt_tokens, 10);
    assert_int_equal(u.completion_tokens, 5);
    assert_int_equal(u.total_tokens, 15);
    assert_int_equal(u.cached_tokens, 4);
    assert_int_equal(u.reasoning_tokens, 2);
    /* A count that is no number: the report is unusable (an estimate is
     * charged), not the other counts alone. */
    usage_of(J("{'prompt_tokens':'5000','completion_tokens':20}"), &u);
    assert_false(u.present);
    assert_int_equal(u.completion_tokens, 0);
    /* Missing total: computed; missing details: 0. */
    usage_of(J("{'prompt_tokens':7,'completion_tokens':3}"), &u);
    assert_true(u.present);
    assert_int_equal(u.total_tokens, 10);
    assert_int_equal(u.cached_tokens, 0);
    assert_int_equal(u.reasoning_tokens, 0);
    /* Null and negative values read as 0; doubles are truncated. */
    usage_of(J("{'prompt_tokens':7.9,'completion_tokens':-3,"
               "'total_tokens':null,'prompt_tokens_details':null,"
               "'completion_tokens_details':{'reasoning_tokens':2.9}}"),
             &u);
    assert_true(u.present);
    assert_int_equal(u.prompt_tokens, 7);
    assert_int_equal(u.completion_tokens, 0);
    assert_int_equal(u.total_tokens, 7);
    assert_int_equal(u.reasoning_tokens, 2);
    /* Not an object, or absent: not present, all zero. */
    usage_of(NULL, &u);
    assert_false(u.present);
    assert_int_equal(u.prompt_tokens, 0);
    assert_int_equal(u.total_tokens, 0);
    usage_of("[1,2]", &u);
    assert_false(u.present);
    assert_int_equal(u.completion_tokens, 0);
    usage_of("{}", &u);
    assert_true(u.present);
    assert_int_equal(u.total_tokens, 0);
}

static void
test_resp_write(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 1024);
    struct sy_chat_resp r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(sy_chat_resp_write(&r, &b), SY_EINTERNAL);
    r.raw = "{\"raw\":1}xx";
    r.raw_len = 9;
    assert_int_equal(sy_chat_resp_write(&r, &b), SY_OK);
    assert_string_equal(b.data, "{\"raw\":1}");
    sy_buf_clear(&b);
    r.raw = NULL;
    const char *text = J("{'id':'x','url':'a/b','n':1}");
    r.root = parse_json(text, strlen(text));
    assert_int_equal(sy_chat_resp_write(&r, &b), SY_OK);
    /* Plain, and slashes are not escaped. */
    assert_string_equal(b.data, "{\"id\":\"x\",\"url\":\"a/b\",\"n\":1}");
    json_object_put(r.root);
    sy_buf_free(&b);
}

static void
test_json_free_null(void **state)
{
    (void)state;
    sy_chat_json_free(NULL);
    struct json_object *o = json_object_new_object();
    sy_chat_json_free(o);
}

/* The deprecated functions form is refused at parse time: its schemas
 * would skip the up-front compile. */
static void
test_reject_functions(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"functions\":[{\"name\":\"f\",\"parameters\":{\"type\":"
        "\"string\",\"pattern\":\"((a?){1000}){6}(?i)x\"}}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"hi\"}],\"function_call\":\"auto\"}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bodies); i++) {
        struct sy_arena a;
        struct sy_chat_req fr;
        struct sy_chat_error ferr;
        sy_arena_init(&a, 4096);
        assert_int_equal(
            sy_chat_req_parse(bodies[i], strlen(bodies[i]), 64, &a, &fr, &ferr),
            SY_EBADREQ);
        assert_string_equal(ferr.param, "functions");
        sy_arena_cleanup(&a);
    }
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_valid_minimal),
        T(test_valid_full),
        T(test_assistant_null_content_with_tool_calls),
        T(test_assistant_needs_content_or_tool_calls),
        T(test_include_usage_and_max_tokens),
        T(test_reject_not_json),
        T(test_reject_non_finite_numbers),
        T(test_reject_trailing_garbage),
        T(test_reject_not_object),
        T(test_reject_depth),
        T(test_reject_model),
        T(test_reject_messages),
        T(test_reject_roles),
        T(test_reject_content),
        T(test_reject_content_parts),
        T(test_reject_tool_message),
        T(test_reject_wrong_types),
        T(test_reject_tools),
        T(test_reject_ranges),
        T(test_reject_stream_options),
        T(test_error_json),
        T(test_usage_from_json),
        T(test_resp_write),
        T(test_json_free_null),
        T(test_reject_functions),
#undef T
    };
    return cmocka_run_group_tests_name("chat", tests, NULL, NULL);
}
