/*
 * test_assemble_golden.c - the stream assembler (core/api/assemble.c)
 * behind the real adapters. Every golden stream case in tests/adapters/
 * is fed through its adapter (whole, then in 7-byte pieces) into the
 * assembler: a complete stream assembles to what its expected chunks
 * say, an incomplete one never assembles. Golden streams paired with a
 * hand-made non-streamed reply of the same answer (the golden cases do
 * not line up by themselves) give the same content, reasoning, tool
 * calls, logprobs, finish_reason, model and usage as the adapter's
 * parse_response: what a non-streaming caller gets does not depend on
 * how the gateway talked to the provider.
 * Run from the repository root (tests/adapters is read).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/assemble.h"
#include "api/adapter.h"
#include "api/chat.h"
#include "api/sse.h"
#include "adapters/common.h"
#include "base/mem.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#define ROOT "tests/adapters"

/* ------------------------------------------------------------------ */
/* A deployment of a golden case                                       */

struct genv {
    struct sy_arena a;
    struct json_object *conf;
    struct sy_target target;
    struct sy_chat_req req;
    const struct sy_adapter *ad;
};

static char *
slurp(const char *dir, const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct sy_buf b;
    sy_buf_init(&b, 16u << 20);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(fp);
    *len = b.len;
    return b.data != NULL ? b.data : sy_xstrdup("");
}

static struct json_object *
read_json(const char *dir, const char *name)
{
    size_t len;
    char *s = slurp(dir, name, &len);
    struct json_object *o = s ? json_tokener_parse(s) : NULL;
    free(s);
    return o;
}

static void
genv_init(struct genv *g, const char *dir)
{
    memset(g, 0, sizeof(*g));
    sy_arena_init(&g->a, 16384);
    g->conf = read_json(dir, "provider.json");
    if (g->conf == NULL) {
        char up[1100];
        snprintf(up, sizeof(up), "%s/..", dir);
        g->conf = read_json(up, "provider.json");
    }
    if (g->conf == NULL)
        fail_msg("%s: no provider.json", dir);
    struct json_object *p = sy_adapter_get(g->conf, "provider");
    const char *type = sy_adapter_get_str(p, "type");
    g->ad = sy_adapter_find(type ? type : "");
    assert_non_null(g->ad);
    g->target.provider_type = type;
    g->target.base_url = sy_adapter_get_str(p, "base_url");
    g->target.model = sy_adapter_get_str(g->conf, "model");
    if (g->ad->init != NULL) {
        char err[256] = "";
        if (g->ad->init(type, p, &g->a, &g->target.adapter_conf, err,
                        sizeof(err)) != SY_OK)
            fail_msg("%s: init: %s", dir, err);
    }
    size_t len;
    char *body = slurp(dir, "request.json", &len);
    assert_non_null(body);
    struct sy_chat_error perr;
    if (sy_chat_req_parse(body, len, 64, &g->a, &g->req, &perr) != SY_OK)
        fail_msg("%s: request: %s", dir, perr.message);
    free(body);
}

static void
genv_cleanup(struct genv *g)
{
    sy_arena_cleanup(&g->a);
    json_object_put(g->conf);
}

/* A fresh call with the adapter's state from build_request. */
static void
call_new(struct genv *g, struct sy_adapter_call *call, struct sy_failure *f)
{
    memset(call, 0, sizeof(*call));
    memset(f, 0, sizeof(*f));
    call->req = &g->req;
    call->target = &g->target;
    call->api_key = "sk-test";
    call->arena = &g->a;
    call->ctx =
        g->ad->ctx_size ? sy_arena_zalloc(&g->a, g->ad->ctx_size) : NULL;
    call->fail = f;
    struct sy_http_out out;
    struct sy_buf body;
    memset(&out, 0, sizeof(out));
    sy_buf_init(&body, 1u << 20);
    out.body = &body;
    assert_int_equal(g->ad->build_request(call, &out), SY_OK);
    sy_buf_free(&body);
}

/* Feed 'body' in pieces of 'piece' bytes (0: whole) through the adapter
 * into a new assembler, and finish it. */
static enum sy_err
run_stream(struct genv *g, const char *body, size_t len, size_t piece,
           struct sy_chat_resp *resp)
{
    struct sy_adapter_call call;
    struct sy_failure f;
    call_new(g, &call, &f);
    struct sy_assemble *as = sy_assemble_new(&g->a, 1u << 20, 64);
    enum sy_err e = SY_OK;
    for (size_t at = 0; e == SY_OK && at < len;) {
        size_t n = piece ? SY_MIN(piece, len - at) : len;
        e = sy_sse_stream_feed(g->ad, &call, body + at, n, sy_assemble_emit, as,
                               &f);
        at += n;
    }
    if (e == SY_OK)
        e = sy_sse_stream_feed(g->ad, &call, NULL, 0, sy_assemble_emit, as, &f);
    memset(resp, 0, sizeof(*resp));
    return e != SY_OK ? e : sy_assemble_finish(as, resp);
}

/* ------------------------------------------------------------------ */
/* Comparing answers                                                   */

static struct json_object *
get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* Equal JSON, absent and null being the same. */
static void
same(const char *what, const char *key, struct json_object *want,
     struct json_object *got)
{
    if ((want == NULL && got == NULL) || json_object_equal(want, got))
        return;
    fail_msg("%s: %s differs: want %s, got %s", what, key,
             want ? json_object_to_json_string(want) : "null",
             got ? json_object_to_json_string(got) : "null");
}

/* Tool call arguments as JSON: a provider's spacing is not the answer
 * (Anthropic streams '{"city": "Oslo"}' and replies with an object). */
static void
same_args(const char *what, struct json_object *want, struct json_object *got)
{
    struct json_object *w = json_tokener_parse(json_object_get_string(want));
    struct json_object *g = json_tokener_parse(json_object_get_string(got));
    same(what, "arguments", w ? w : want, g ? g : got);
    json_object_put(w);
    json_object_put(g);
}

static void
same_calls(const char *what, struct json_object *want, struct json_object *got)
{
    size_t nw = want ? json_object_array_length(want) : 0;
    size_t ng = got ? json_object_array_length(got) : 0;
    if (nw != ng)
        fail_msg("%s: %zu tool calls, want %zu", what, ng, nw);
    for (size_t i = 0; i < nw; i++) {
        struct json_object *w = json_object_array_get_idx(want, i);
        struct json_object *g = json_object_array_get_idx(got, i);
        same(what, "tool call id", get(w, "id"), get(g, "id"));
        same(what, "tool call type", get(w, "type"), get(g, "type"));
        same(what, "extra_content", get(w, "extra_content"),
             get(g, "extra_content"));
        same(what, "function name", get(get(w, "function"), "name"),
             get(get(g, "function"), "name"));
        same_args(what, get(get(w, "function"), "arguments"),
                  get(get(g, "function"), "arguments"));
    }
}

static void
same_answer(const char *what, struct json_object *want, struct json_object *got)
{
    struct json_object *cw = get(want, "choices"), *cg = get(got, "choices");
    assert_non_null(cw);
    assert_non_null(cg);
    if (json_object_array_length(cw) != json_object_array_length(cg))
        fail_msg("%s: %zu choices, want %zu", what,
                 json_object_array_length(cg), json_object_array_length(cw));
    static const char *const keys[] = { "content", "refusal",
                                        "reasoning_content" };
    for (size_t i = 0; i < json_object_array_length(cw); i++) {
        struct json_object *w = json_object_array_get_idx(cw, i);
        struct json_object *g = json_object_array_get_idx(cg, i);
        same(what, "index", get(w, "index"), get(g, "index"));
        same(what, "finish_reason", get(w, "finish_reason"),
             get(g, "finish_reason"));
        same(what, "logprobs", get(w, "logprobs"), get(g, "logprobs"));
        struct json_object *mw = get(w, "message"), *mg = get(g, "message");
        same(what, "role", get(mw, "role"), get(mg, "role"));
        for (size_t k = 0; k < SY_ARRAY_LEN(keys); k++)
            same(what, keys[k], get(mw, keys[k]), get(mg, keys[k]));
        same_calls(what, get(mw, "tool_calls"), get(mg, "tool_calls"));
    }
}

/* What the expected chunks of a golden stream say, as a chat.completion
 * (choice 0: every golden stream has one). */
static struct json_object *
reference(struct json_object *stream)
{
    struct sy_buf text, reasoning, args[8];
    struct json_object *calls[8] = { 0 };
    const char *finish = NULL;
    bool has_text = false, has_reasoning = false;
    size_t ncalls = 0;
    sy_buf_init(&text, 1u << 20);
    sy_buf_init(&reasoning, 1u << 20);
    for (size_t k = 0; k < 8; k++)
        sy_buf_init(&args[k], 1u << 20);
    for (size_t i = 0; i < json_object_array_length(stream); i++) {
        struct json_object *c = json_object_array_get_idx(
            get(json_object_array_get_idx(stream, i), "choices"), 0);
        struct json_object *d = get(c, "delta"), *v;
        if ((v = get(c, "finish_reason")) != NULL)
            finish = json_object_get_string(v);
        if ((v = get(d, "content")) != NULL) {
            has_text = true;
            sy_buf_puts(&text, json_object_get_string(v));
        }
        if ((v = get(d, "reasoning_content")) != NULL) {
            has_reasoning = true;
            sy_buf_puts(&reasoning, json_object_get_string(v));
        }
        struct json_object *tcs = get(d, "tool_calls");
        for (size_t j = 0; tcs && j < json_object_array_length(tcs); j++) {
            struct json_object *tc = json_object_array_get_idx(tcs, j);
            size_t k = (size_t)json_object_get_int(get(tc, "index"));
            assert_true(k < 8);
            if (calls[k] == NULL) {
                calls[k] = json_object_get(tc);
                ncalls = SY_MAX(ncalls, k + 1);
            }
            v = get(get(tc, "function"), "arguments");
            if (v != NULL)
                sy_buf_puts(&args[k], json_object_get_string(v));
        }
    }
    struct json_object *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("assistant"));
    if (has_text && !(ncalls > 0 && text.len == 0))
        json_object_object_add(msg, "content",
                               json_object_new_string(sy_buf_cstr(&text)));
    if (has_reasoning)
        json_object_object_add(msg, "reasoning_content",
                               json_object_new_string(sy_buf_cstr(&reasoning)));
    struct json_object *arr = json_object_new_array();
    for (size_t k = 0; k < ncalls; k++) {
        struct json_object *tc = json_object_new_object();
        json_object_object_add(tc, "id", json_object_get(get(calls[k], "id")));
        json_object_object_add(tc, "type",
                               json_object_get(get(calls[k], "type")));
        json_object_object_add(tc, "extra_content",
                               json_object_get(get(calls[k], "extra_content")));
        struct json_object *fn = json_object_new_object();
        json_object_object_add(
            fn, "name",
            json_object_get(get(get(calls[k], "function"), "name")));
        json_object_object_add(fn, "arguments",
                               json_object_new_string(sy_buf_cstr(&args[k])));
        json_object_object_add(tc, "function", fn);
        json_object_array_add(arr, tc);
        json_object_put(calls[k]);
    }
    if (ncalls > 0)
        json_object_object_add(msg, "tool_calls", arr);
    else
        json_object_put(arr);
    struct json_object *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    json_object_object_add(c, "message", msg);
    json_object_object_add(c, "finish_reason",
                           finish ? json_object_new_string(finish) : NULL);
    struct json_object *root = json_object_new_object();
    struct json_object *choices = json_object_new_array();
    json_object_array_add(choices, c);
    json_object_object_add(root, "choices", choices);
    sy_buf_free(&text);
    sy_buf_free(&reasoning);
    for (size_t k = 0; k < 8; k++)
        sy_buf_free(&args[k]);
    return root;
}

static void
same_usage(const char *what, const struct sy_usage *want,
           const struct sy_usage *got)
{
    if (want->present != got->present ||
        want->prompt_tokens != got->prompt_tokens ||
        want->completion_tokens != got->completion_tokens ||
        want->total_tokens != got->total_tokens ||
        want->cached_tokens != got->cached_tokens ||
        want->reasoning_tokens != got->reasoning_tokens)
        fail_msg(
            "%s: usage differs: want %lld/%lld/%lld/%lld, got "
            "%lld/%lld/%lld/%lld",
            what, (long long)want->prompt_tokens,
            (long long)want->completion_tokens, (long long)want->cached_tokens,
            (long long)want->reasoning_tokens, (long long)got->prompt_tokens,
            (long long)got->completion_tokens, (long long)got->cached_tokens,
            (long long)got->reasoning_tokens);
}

/* ------------------------------------------------------------------ */
/* Every golden stream                                                 */

static void
golden_case(const char *dir, unsigned *complete, unsigned *broken)
{
    struct json_object *reply = read_json(dir, "reply.json");
    struct json_object *exp = read_json(dir, "expected.json");
    const char *file = sy_adapter_get_str(reply, "body_file");
    if (file != NULL && exp != NULL) {
        struct genv g;
        genv_init(&g, dir);
        size_t len;
        char *body = slurp(dir, file, &len);
        assert_non_null(body);
        bool ok = json_object_get_boolean(get(exp, "done")) &&
                  get(exp, "failure") == NULL;
        struct sy_chat_resp whole, cut;
        enum sy_err e1 = run_stream(&g, body, len, 0, &whole);
        enum sy_err e2 = run_stream(&g, body, len, 7, &cut);
        if (!ok) {
            /* A stream that failed or never ended assembles nothing. */
            if (e1 == SY_OK || e2 == SY_OK)
                fail_msg("%s: an incomplete stream was assembled", dir);
            (*broken)++;
        } else {
            if (e1 != SY_OK || e2 != SY_OK)
                fail_msg("%s: not assembled (%s)", dir, sy_err_name(e1));
            struct json_object *want = reference(get(exp, "stream"));
            same_answer(dir, want, whole.root);
            same_answer(dir, whole.root, cut.root);
            json_object_put(want);
            struct json_object *u = get(exp, "usage");
            if (u != NULL) {
                struct sy_usage wu;
                sy_chat_usage_from_json(u, &wu);
                wu.cached_tokens =
                    json_object_get_int64(get(u, "cached_tokens"));
                wu.reasoning_tokens =
                    json_object_get_int64(get(u, "reasoning_tokens"));
                same_usage(dir, &wu, &whole.usage);
            }
            (*complete)++;
        }
        free(body);
        genv_cleanup(&g);
    }
    json_object_put(reply);
    json_object_put(exp);
}

static void
test_golden_streams(void **state)
{
    (void)state;
    unsigned complete = 0, broken = 0;
    DIR *top = opendir(ROOT);
    assert_non_null(top);
    struct dirent *p;
    while ((p = readdir(top)) != NULL) {
        if (p->d_name[0] == '.')
            continue;
        char pdir[600];
        snprintf(pdir, sizeof(pdir), "%s/%s", ROOT, p->d_name);
        DIR *d = opendir(pdir);
        if (d == NULL)
            continue;
        struct dirent *c;
        while ((c = readdir(d)) != NULL) {
            char cdir[1000];
            if (c->d_name[0] == '.')
                continue;
            snprintf(cdir, sizeof(cdir), "%s/%s", pdir, c->d_name);
            golden_case(cdir, &complete, &broken);
        }
        closedir(d);
    }
    closedir(top);
    print_message("golden streams: %u assembled, %u refused\n", complete,
                  broken);
    assert_true(complete >= 10);
    assert_true(broken >= 5);
}

/* ------------------------------------------------------------------ */
/* Streams paired with a non-streamed reply of the same answer         */

/* An OpenAI stream with two choices, logprobs and a refusal member. */
#define OA_HEAD                                                          \
    "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\"," \
    "\"created\":1735689600,\"model\":\"gpt-4o\",\"choices\":["
#define LP_A \
    "{\"token\":\"A\",\"logprob\":-0.2,\"bytes\":[65],\"top_logprobs\":[]}"
#define LP_B \
    "{\"token\":\"B\",\"logprob\":-0.1,\"bytes\":[66],\"top_logprobs\":[]}"
static const char oa_multi_stream[] =
    OA_HEAD "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
            "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null},"
            "{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
            "\"logprobs\":null,\"finish_reason\":null}]}\n\n" OA_HEAD
            "{\"index\":1,\"delta\":{\"content\":\"B\"},\"logprobs\":{"
            "\"content\":[" LP_B "],\"refusal\":null},\"finish_reason\":"
            "null}]}\n\n" OA_HEAD
            "{\"index\":0,\"delta\":{\"content\":\"A\"},\"logprobs\":{"
            "\"content\":[" LP_A "],\"refusal\":null},\"finish_reason\":"
            "null}]}\n\n" OA_HEAD
            "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
            "\"stop\"},{\"index\":1,\"delta\":{},\"logprobs\":null,"
            "\"finish_reason\":\"length\"}]}\n\n" OA_HEAD
            "],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,"
            "\"total_tokens\":6}}\n\ndata: [DONE]\n\n";
static const char oa_multi_reply[] =
    "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"created\":"
    "1735689600,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"A\",\"refusal\":null},"
    "\"logprobs\":{\"content\":[" LP_A "],\"refusal\":null},\"finish_reason\":"
    "\"stop\"},{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":"
    "\"B\",\"refusal\":null},\"logprobs\":{\"content\":[" LP_B "],\"refusal\":"
    "null},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":4,"
    "\"completion_tokens\":2,\"total_tokens\":6}}";

static const struct {
    const char *dir;    /* the golden case: deployment, request, stream */
    const char *stream; /* NULL: the case's reply.sse */
    const char *reply;  /* the provider's non-streamed reply */
} pairs[] = {
    { ROOT "/openai/0009-stream-text", NULL,
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":"
      "1735689600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{"
      "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
      "\"Hello.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":"
      "{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}" },
    { ROOT "/openai/0010-stream-tool-calls", NULL,
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":"
      "1735689600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{"
      "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
      "\"tool_calls\":[{\"id\":\"call_a1\",\"type\":\"function\","
      "\"function\":{\"name\":\"get_weather\",\"arguments\":"
      "\"{\\\"city\\\":\\\"Oslo\\\"}\"}},{\"id\":\"call_b2\",\"type\":"
      "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
      "\"{\\\"city\\\":\\\"Bergen\\\"}\"}}]},\"finish_reason\":"
      "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":20,"
      "\"completion_tokens\":30,\"total_tokens\":50}}" },
    /* two choices: a case whose request asks for n = 2 */
    { ROOT "/openai/0018-stream-one-of-two-choices-cut", oa_multi_stream,
      oa_multi_reply },
    { ROOT "/deepseek/0003-stream-reasoning", NULL,
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":"
      "1735689600,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,"
      "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
      "\"reasoning_content\":\"Hmm.\"},\"finish_reason\":\"stop\"}],"
      "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":8,"
      "\"total_tokens\":18,\"prompt_cache_hit_tokens\":0,"
      "\"prompt_cache_miss_tokens\":10,\"completion_tokens_details\":{"
      "\"reasoning_tokens\":5}}}" },
    { ROOT "/mistral/0004-stream-usage-on-last-chunk", NULL,
      "{\"id\":\"cmpl-m1\",\"object\":\"chat.completion\",\"created\":"
      "1735689600,\"model\":\"mistral-small-latest\",\"choices\":[{"
      "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
      "\"completion_tokens\":2,\"total_tokens\":7}}" },
    { ROOT "/anthropic/0012-stream-text", NULL,
      "{\"id\":\"msg_01S\",\"type\":\"message\",\"role\":\"assistant\","
      "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":"
      "\"text\",\"text\":\"Hello. \\u2713\"}],\"stop_reason\":\"end_turn\","
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
      "\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":0,"
      "\"output_tokens\":4}}" },
    { ROOT "/anthropic/0013-stream-tool-calls", NULL,
      "{\"id\":\"msg_01S\",\"type\":\"message\",\"role\":\"assistant\","
      "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":"
      "\"text\",\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":"
      "\"toolu_01\",\"name\":\"get_weather\",\"input\":{\"city\":\"Oslo\"}},"
      "{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"get_weather\","
      "\"input\":{\"city\":\"Bergen\"}}],\"stop_reason\":\"tool_use\","
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
      "\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":0,"
      "\"output_tokens\":41}}" },
    { ROOT "/gemini/0013-stream-text", NULL,
      "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
      "\"text\":\"Hello. \\u2713\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
      "\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":3,"
      "\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\","
      "\"responseId\":\"sresp-1\"}" },
    { ROOT "/gemini/0014-stream-tool-calls", NULL,
      "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
      "\"text\":\"Checking.\"},{\"functionCall\":{\"name\":\"get_weather\","
      "\"args\":{\"city\":\"Oslo\"}},\"thoughtSignature\":"
      "\"CiQB0e2Kb3+/x7w=\"},{\"functionCall\":{\"name\":\"get_weather\","
      "\"args\":{\"city\":\"Bergen\"}}}]},\"finishReason\":\"STOP\","
      "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":20,"
      "\"candidatesTokenCount\":10,\"thoughtsTokenCount\":5,"
      "\"totalTokenCount\":35},\"modelVersion\":\"gemini-2.5-flash\","
      "\"responseId\":\"sresp-1\"}" },
};

static void
test_round_trip_pairs(void **state)
{
    (void)state;
    for (size_t i = 0; i < SY_ARRAY_LEN(pairs); i++) {
        struct genv g;
        genv_init(&g, pairs[i].dir);
        struct sy_adapter_call call;
        struct sy_failure f;
        call_new(&g, &call, &f);
        struct sy_chat_resp want, got;
        memset(&want, 0, sizeof(want));
        const char *r = pairs[i].reply;
        if (g.ad->parse_response(&call, r, strlen(r), &want, &f) != SY_OK)
            fail_msg("%s: parse_response: %s", pairs[i].dir, f.message);
        size_t len;
        char *body = pairs[i].stream ? sy_xstrdup(pairs[i].stream)
                                     : slurp(pairs[i].dir, "reply.sse", &len);
        len = strlen(body);
        enum sy_err e = run_stream(&g, body, len, 0, &got);
        if (e != SY_OK)
            fail_msg("%s: not assembled (%s)", pairs[i].dir, sy_err_name(e));
        same_answer(pairs[i].dir, want.root, got.root);
        same_usage(pairs[i].dir, &want.usage, &got.usage);
        assert_string_equal(want.finish_reason, got.finish_reason);
        assert_string_equal(want.upstream_model, got.upstream_model);
        free(body);
        genv_cleanup(&g);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_streams),
        cmocka_unit_test(test_round_trip_pairs),
    };
    return cmocka_run_group_tests_name("assemble_golden", tests, NULL, NULL);
}
