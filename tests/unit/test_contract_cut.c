/*
 * test_contract_cut.c - an answer cut short (finish_reason "length" or
 * "content_filter") is not held against the output contract where it
 * was cut: its last tool call's arguments, and its JSON text
 * (core/api/chat_contract.c, finish_cut). Every whole tool call before
 * the cut is still checked, and an answer that was not cut is checked
 * whole. Before, a reply cut by max_tokens inside a tool call was a
 * contract failure: the next deployment was billed for the same cut
 * answer and the caller got a 502 (or, streaming, an error event
 * instead of the finish reason).
 * SPDX-License-Identifier: MIT
 */
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

/* 'text' with ' for ", in a static buffer (one at a time). */
static const char *
q(const char *text)
{
    static char out[4096];
    size_t n = strlen(text);
    assert_true(n < sizeof(out));
    for (size_t i = 0; i <= n; i++)
        out[i] = text[i] == '\'' ? '"' : text[i];
    return out;
}

/* A request with tool 'f' whose arguments must be {"q": string}. */
static void
parse_req(struct sy_arena *a, struct sy_chat_req *req, const char *format)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{'model':'m','messages':[{'role':'user','content':'hi'}],%s"
             "'tools':[{'type':'function','function':{'name':'f',"
             "'parameters':{'type':'object','required':['q'],"
             "'properties':{'q':{'type':'string'}}}}}]}",
             format);
    const char *b = q(body);
    struct sy_chat_error err;
    assert_int_equal(sy_chat_req_parse(b, strlen(b), 64, a, req, &err), SY_OK);
}

/* The contract of a non-streaming reply with 'calls' (a JSON array of
 * tool calls, ' for ") and 'finish'. */
static bool
reply_holds(const struct sy_chat_req *req, struct sy_arena *a,
            const char *content, const char *calls, const char *finish)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{'id':'x','object':'chat.completion','choices':[{'index':0,"
             "'message':{'role':'assistant','content':%s%s%s},"
             "'finish_reason':'%s'}]}",
             content, calls ? ",'tool_calls':" : "", calls ? calls : "",
             finish);
    struct sy_chat_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.root = json_tokener_parse(q(body));
    assert_non_null(resp.root);
    char why[300];
    bool ok = sy_chat_resp_contract(req, &resp, 64, a, why, sizeof(why));
    json_object_put(resp.root);
    return ok;
}

#define CALL(i, args)                                           \
    "{'id':'c" #i "','type':'function','function':{'name':'f'," \
    "'arguments':'" args "'}}"

static void
test_reply_cut_in_last_call(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    parse_req(&a, &req, "");
    /* Whole calls: checked whatever the finish. */
    assert_true(reply_holds(
        &req, &a, "null", "[" CALL(0, "{\\'q\\':\\'a\\'}") "]", "tool_calls"));
    /* Cut inside the only call: not a violation when cut... */
    assert_true(reply_holds(&req, &a, "null", "[" CALL(0, "{\\'q\\':\\'ab") "]",
                            "length"));
    assert_true(reply_holds(&req, &a, "null", "[" CALL(0, "{\\'q\\':\\'ab") "]",
                            "content_filter"));
    /* ...a violation when the provider says it finished. */
    assert_false(reply_holds(&req, &a, "null",
                             "[" CALL(0, "{\\'q\\':\\'ab") "]", "tool_calls"));
    assert_false(reply_holds(&req, &a, "null",
                             "[" CALL(0, "{\\'q\\':\\'ab") "]", "stop"));
    /* A whole call before the cut one is still checked. */
    assert_true(reply_holds(
        &req, &a, "null",
        "[" CALL(0, "{\\'q\\':\\'a\\'}") "," CALL(1, "{\\'q") "]", "length"));
    assert_false(reply_holds(
        &req, &a, "null", "[" CALL(0, "{\\'q\\':1}") "," CALL(1, "{\\'q") "]",
        "length"));
    /* A last call that ended whole was not cut: a finish of "length" or
     * "content_filter" does not let it break the schema. */
    assert_false(reply_holds(&req, &a, "null", "[" CALL(0, "{\\'q\\':1}") "]",
                             "length"));
    assert_false(reply_holds(&req, &a, "null", "[" CALL(0, "{\\'q\\':1}") "]",
                             "content_filter"));
    /* Arguments that are no JSON, or whole JSON with garbage after it,
     * were not cut. */
    assert_false(reply_holds(&req, &a, "null",
                             "[" CALL(0, "{\\'q\\':\\'a\\'}}") "]", "length"));
    assert_false(reply_holds(&req, &a, "null", "[" CALL(0, "rm -rf /") "]",
                             "content_filter"));
    sy_arena_cleanup(&a);
}

static void
test_reply_cut_json_text(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    parse_req(&a, &req, "'response_format':{'type':'json_object'},");
    assert_true(reply_holds(&req, &a, "'{\\'a\\':'", NULL, "length"));
    assert_false(reply_holds(&req, &a, "'{\\'a\\':'", NULL, "stop"));
    /* A filter's stop is no excuse for the text: another deployment's
     * filter may let the answer through. */
    assert_false(reply_holds(&req, &a, "'{\\'a\\':'", NULL, "content_filter"));
    /* Whole JSON was not cut, whatever the finish says: it is checked
     * (a json_object answer must be an object). */
    assert_false(reply_holds(&req, &a, "'[1]'", NULL, "length"));
    /* Text that is no JSON was not cut either (prose; trailing garbage,
     * which a lenient parser reads as the object before it). */
    assert_false(reply_holds(&req, &a, "'Sorry, I cannot'", NULL, "length"));
    assert_false(reply_holds(&req, &a, "'[1] x'", NULL, "length"));
    /* Cut inside a fence that was opened. */
    assert_true(reply_holds(&req, &a, "'```json\\n{\\'a\\':'", NULL, "length"));
    assert_true(reply_holds(&req, &a, "'{\\'a\\':1}'", NULL, "length"));
    sy_arena_cleanup(&a);
}

/* Feed chunk 'json' (' for ") to the gathered answer. */
static void
gather(struct sy_stream_answer *s, const char *json)
{
    const char *c = q(json);
    sy_chat_chunk_gather(c, strlen(c), s);
}

#define TC(i, name, args)                                                      \
    "{'choices':[{'index':0,'delta':{'tool_calls':[{'index':" #i ",'id':'c" #i \
    "','type':'function','function':{" name "'arguments':'" args "'}}]}}]}"

static bool
stream_holds(const struct sy_chat_req *req, struct sy_arena *a,
             const char *second_args, const char *finish)
{
    struct sy_stream_answer s;
    sy_stream_answer_init(&s);
    gather(&s, TC(0, "'name':'f',", "{\\'q\\':\\'a\\'}"));
    gather(&s, TC(1, "'name':'f',", "{\\'q\\':"));
    if (second_args != NULL)
        gather(&s, second_args);
    char fin[256];
    snprintf(fin, sizeof(fin),
             "{'choices':[{'index':0,'delta':{},'finish_reason':'%s'}]}",
             finish);
    gather(&s, fin);
    char why[300];
    bool fenced;
    bool ok =
        sy_chat_stream_contract(req, &s, 64, a, why, sizeof(why), &fenced);
    sy_stream_answer_free(&s);
    return ok;
}

static void
test_stream_cut_in_last_call(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    parse_req(&a, &req, "");
    assert_true(stream_holds(&req, &a, NULL, "length"));
    assert_true(stream_holds(&req, &a, NULL, "content_filter"));
    assert_false(stream_holds(&req, &a, NULL, "tool_calls"));
    /* The last call ended whole, and breaks the schema: checked. */
    assert_false(stream_holds(&req, &a, TC(1, "", "7}"), "length"));
    assert_false(stream_holds(&req, &a, TC(1, "", "7}"), "content_filter"));
    /* The second call completed: whole, checked, fine. */
    assert_true(stream_holds(&req, &a, TC(1, "", "\\'b\\'}"), "tool_calls"));
    sy_arena_cleanup(&a);
}

/* The first call is whole and wrong: a cut after it is no excuse. */
static void
test_stream_cut_checks_earlier_calls(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    parse_req(&a, &req, "");
    struct sy_stream_answer s;
    sy_stream_answer_init(&s);
    gather(&s, TC(0, "'name':'f',", "{\\'q\\':7}"));
    gather(&s, TC(1, "'name':'f',", "{\\'q"));
    gather(&s, "{'choices':[{'index':0,'delta':{},'finish_reason':'length'}]}");
    char why[300];
    bool fenced;
    assert_false(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_non_null(strstr(why, "tool call f"));
    sy_stream_answer_free(&s);
    sy_arena_cleanup(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_cut_in_last_call),
        cmocka_unit_test(test_reply_cut_json_text),
        cmocka_unit_test(test_stream_cut_in_last_call),
        cmocka_unit_test(test_stream_cut_checks_earlier_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
