/*
 * test_assemble.c - the stream assembler (core/api/assemble.c): text,
 * interleaved choices, tool calls split at every byte of their
 * arguments, usage in its forms, bounds and malformed chunks. The round
 * trips through the real adapters are in test_assemble_golden.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/assemble.h"
#include "api/chat.h"
#include "base/json_strict.h"
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

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static enum sy_err
feed(struct sy_assemble *as, const char *json)
{
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA,
                           .data = json,
                           .len = strlen(json) };
    return sy_assemble_chunk(as, &ch);
}

/* 'json' with the emitter's parse of it attached, as an adapter that
 * parsed the event passes it on. */
static enum sy_err
feed_tree(struct sy_assemble *as, const char *json)
{
    struct sy_json_result res;
    struct json_object *o = NULL;
    assert_int_equal(sy_json_parse_strict(json, strlen(json), NULL, &o, &res),
                     SY_JSON_OK);
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA,
                           .data = json,
                           .len = strlen(json),
                           .tree = o,
                           .tree_depth = res.depth };
    enum sy_err e = sy_assemble_chunk(as, &ch);
    json_object_put(o); /* the emitter's reference ends with the call */
    return e;
}

static enum sy_err
done(struct sy_assemble *as)
{
    struct sy_chunk ch = { .kind = SY_CHUNK_DONE };
    return sy_assemble_chunk(as, &ch);
}

/* A chunk of the stream "c1" with the given choices (JSON text). */
static const char *
chunk(struct sy_arena *a, const char *choices)
{
    return sy_arena_printf(a,
                           "{\"id\":\"c1\",\"object\":\"chat.completion."
                           "chunk\",\"created\":7,\"model\":\"m-1\","
                           "\"choices\":[%s]}",
                           choices);
}

/* A one-choice chunk whose delta is 'delta' (JSON text). */
static const char *
delta(struct sy_arena *a, int index, const char *d, const char *finish)
{
    return chunk(a, sy_arena_printf(a,
                                    "{\"index\":%d,\"delta\":%s,"
                                    "\"finish_reason\":%s}",
                                    index, d, finish ? finish : "null"));
}

/* 's' as a JSON string literal (arena). */
static const char *
jq(struct sy_arena *a, const char *s, size_t n)
{
    struct json_object *o = json_object_new_string_len(s, (int)n);
    const char *t = sy_arena_strdup(
        a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return t;
}

static struct json_object *
at(struct json_object *o, const char *path)
{
    char key[64];
    while (o != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        path += n + (path[n] == '.');
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)strtoul(key, NULL, 10));
        else if (!json_object_object_get_ex(o, key, &o))
            return NULL;
    }
    return o;
}

static const char *
str_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

static void
expect_str(struct json_object *o, const char *path, const char *want)
{
    const char *got = str_at(o, path);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: want \"%s\", got \"%s\"", path, want,
                 got ? got : "(none)");
}

static void
expect_null(struct json_object *o, const char *path)
{
    struct json_object *v;
    const char *last = strrchr(path, '.');
    char parent[128];
    snprintf(parent, sizeof(parent), "%.*s", (int)(last - path), path);
    struct json_object *p = at(o, parent);
    if (p == NULL || !json_object_object_get_ex(p, last + 1, &v) || v != NULL)
        fail_msg("%s: want null", path);
}

static struct sy_assemble *
fresh(struct sy_arena *a, size_t max)
{
    sy_arena_reset(a);
    return sy_assemble_new(a, max, 0);
}

/* Finish 'as' and check that what the pipeline sends parses back. */
static struct json_object *
finish_ok(struct sy_assemble *as, struct sy_chat_resp *resp)
{
    enum sy_err e = sy_assemble_finish(as, resp);
    if (e != SY_OK)
        fail_msg("finish: %s", sy_assemble_message(as));
    struct sy_buf b;
    sy_buf_init(&b, 1u << 24);
    assert_int_equal(sy_chat_resp_write(resp, &b), SY_OK);
    struct json_object *back = json_tokener_parse(sy_buf_cstr(&b));
    assert_non_null(back);
    assert_true(json_object_equal(back, resp->root));
    json_object_put(back);
    sy_buf_free(&b);
    return resp->root;
}

/* ------------------------------------------------------------------ */
/* Shapes                                                              */

static void
test_text(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = fresh(&a, 1u << 20);
    assert_int_equal(
        feed(as, delta(&a, 0, "{\"role\":\"assistant\",\"content\":\"\"}", 0)),
        SY_OK);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"Hel\"}", 0)), SY_OK);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"lo.\"}", 0)), SY_OK);
    assert_int_equal(
        feed(as, "{\"id\":\"c1\",\"system_fingerprint\":\"fp_9\",\"choices\":"
                 "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"),
        SY_OK);
    assert_int_equal(
        feed(as, "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
                 "9,\"completion_tokens\":3,\"total_tokens\":12,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":4},"
                 "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}"),
        SY_OK);
    assert_false(sy_assemble_done(as));
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    expect_str(r, "id", "c1");
    expect_str(r, "object", "chat.completion");
    expect_str(r, "model", "m-1");
    expect_str(r, "system_fingerprint", "fp_9");
    assert_int_equal(json_object_get_int64(at(r, "created")), 7);
    assert_int_equal(json_object_array_length(at(r, "choices")), 1);
    expect_str(r, "choices.0.message.role", "assistant");
    expect_str(r, "choices.0.message.content", "Hello.");
    expect_str(r, "choices.0.finish_reason", "stop");
    expect_null(r, "choices.0.logprobs");
    assert_null(at(r, "choices.0.message.tool_calls"));
    assert_null(at(r, "choices.0.message.refusal"));
    assert_int_equal(json_object_get_int(at(r, "usage.prompt_tokens")), 9);
    assert_string_equal(resp.finish_reason, "stop");
    assert_string_equal(resp.upstream_model, "m-1");
    assert_null(resp.raw);
    assert_true(resp.usage.present);
    assert_int_equal(resp.usage.prompt_tokens, 9);
    assert_int_equal(resp.usage.completion_tokens, 3);
    assert_int_equal(resp.usage.total_tokens, 12);
    assert_int_equal(resp.usage.cached_tokens, 4);
    assert_int_equal(resp.usage.reasoning_tokens, 2);
    /* Once only, and nothing after. */
    assert_int_equal(sy_assemble_finish(as, &resp), SY_EUP_PROTO);
    sy_arena_cleanup(&a);
}

static void
test_multi_choice_interleaved(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = fresh(&a, 1u << 20);
    const char *steps[] = {
        "{\"index\":2,\"delta\":{\"role\":\"assistant\",\"content\":\"C\"}}",
        "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A\"}}",
        "{\"index\":1,\"delta\":{\"content\":\"B\"}},"
        "{\"index\":0,\"delta\":{\"content\":\"a\"}}",
        "{\"index\":2,\"delta\":{\"content\":\"c\"},\"finish_reason\":"
        "\"length\"}",
        "{\"index\":1,\"delta\":{\"content\":\"b\"},\"finish_reason\":"
        "\"stop\"},{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(steps); i++)
        assert_int_equal(feed(as, chunk(&a, steps[i])), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    assert_int_equal(json_object_array_length(at(r, "choices")), 3);
    const char *want[] = { "Aa", "Bb", "Cc" };
    const char *fin[] = { "stop", "stop", "length" };
    for (int i = 0; i < 3; i++) {
        char p[64];
        snprintf(p, sizeof(p), "choices.%d.index", i);
        assert_int_equal(json_object_get_int(at(r, p)), i);
        snprintf(p, sizeof(p), "choices.%d.message.content", i);
        expect_str(r, p, want[i]);
        snprintf(p, sizeof(p), "choices.%d.message.role", i);
        expect_str(r, p, "assistant"); /* the default for choice 1 */
        snprintf(p, sizeof(p), "choices.%d.finish_reason", i);
        expect_str(r, p, fin[i]);
    }
    assert_string_equal(resp.finish_reason, "stop");
    assert_false(resp.usage.present); /* missing usage: not invented */
    assert_null(at(r, "usage"));
    sy_arena_cleanup(&a);
}

/* Two calls, the first's arguments in the pieces [0, k) and [k, n) with
 * the second call's whole delta between them. */
static void
run_split(struct sy_arena *a, const char *args, size_t k)
{
    size_t n = strlen(args);
    struct sy_assemble *as = fresh(a, 1u << 20);
    const char *d[] = {
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,"
        "\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get\",\"arguments\":\"\"}}]}",
        sy_arena_printf(a,
                        "{\"tool_calls\":[{\"index\":0,\"function\":"
                        "{\"arguments\":%s}}]}",
                        jq(a, args, k)),
        "{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":"
        "\"function\",\"function\":{\"name\":\"put\",\"arguments\":"
        "\"{}\"}}]}",
        sy_arena_printf(a,
                        "{\"tool_calls\":[{\"index\":0,\"function\":"
                        "{\"arguments\":%s}}]}",
                        jq(a, args + k, n - k)),
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(d); i++)
        assert_int_equal(feed(as, delta(a, 0, d[i], NULL)), SY_OK);
    assert_int_equal(feed(as, delta(a, 0, "{}", "\"tool_calls\"")), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    expect_null(r, "choices.0.message.content");
    assert_int_equal(
        json_object_array_length(at(r, "choices.0.message.tool_calls")), 2);
    expect_str(r, "choices.0.message.tool_calls.0.id", "call_a");
    expect_str(r, "choices.0.message.tool_calls.0.type", "function");
    expect_str(r, "choices.0.message.tool_calls.0.function.name", "get");
    expect_str(r, "choices.0.message.tool_calls.0.function.arguments", args);
    expect_str(r, "choices.0.message.tool_calls.1.id", "call_b");
    expect_str(r, "choices.0.message.tool_calls.1.function.name", "put");
    expect_str(r, "choices.0.message.tool_calls.1.function.arguments", "{}");
    assert_null(at(r, "choices.0.message.tool_calls.0.index"));
    assert_string_equal(resp.finish_reason, "tool_calls");
}

static void
test_tool_calls_split_everywhere(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    /* Quotes, a backslash, a control escape and multi-byte characters:
     * pieces are strings, so they split between characters. */
    const char *args = "{\"city\":\"Oslo \\\"N\\\"\",\"t\":\"a\\nb\","
                       "\"u\":\"\xc3\xa9\xe2\x9c\x93\",\"n\":[1,2.5]}";
    size_t n = strlen(args);
    for (size_t k = 0; k <= n; k++)
        if (k == n || (args[k] & 0xc0) != 0x80)
            run_split(&a, args, k);
    /* And one character a delta. */
    struct sy_assemble *as = fresh(&a, 1u << 20);
    assert_int_equal(
        feed(as, delta(&a, 0,
                       "{\"tool_calls\":[{\"index\":0,\"id\":\"x\","
                       "\"function\":{\"name\":\"f\"}}]}",
                       NULL)),
        SY_OK);
    for (size_t k = 0; k < n;) {
        size_t len = 1;
        while (k + len < n && (args[k + len] & 0xc0) == 0x80)
            len++;
        const char *d = sy_arena_printf(&a,
                                        "{\"tool_calls\":[{\"index\":0,"
                                        "\"function\":{\"arguments\":%s}}]}",
                                        jq(&a, args + k, len));
        assert_int_equal(feed(as, delta(&a, 0, d, NULL)), SY_OK);
        k += len;
    }
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    expect_str(r, "choices.0.message.tool_calls.0.function.arguments", args);
    expect_str(r, "choices.0.message.tool_calls.0.type", "function");
    expect_null(r, "choices.0.finish_reason"); /* none given: null */
    sy_arena_cleanup(&a);
}

/* Deltas without "index" (some compatible providers), an id repeated
 * on every delta, and members the assembler does not know. */
static void
test_tool_calls_without_index(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = fresh(&a, 1u << 20);
    const char *d[] = {
        "{\"content\":\"On it.\",\"tool_calls\":[{\"id\":\"a\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"},\"extra_content\":"
        "{\"google\":{\"thought_signature\":\"c2ln\"}}}]}",
        "{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\","
        "\"arguments\":\":1}\"},\"extra_content\":{\"other\":1}}]}",
        "{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"g\","
        "\"arguments\":\"{}\"}}]}",
        "{\"tool_calls\":[{\"function\":{\"arguments\":\"\"}}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(d); i++)
        assert_int_equal(feed(as, delta(&a, 0, d[i], NULL)), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    expect_str(r, "choices.0.message.content", "On it.");
    assert_int_equal(
        json_object_array_length(at(r, "choices.0.message.tool_calls")), 2);
    expect_str(r, "choices.0.message.tool_calls.0.id", "a");
    expect_str(r, "choices.0.message.tool_calls.0.function.name", "f");
    expect_str(r, "choices.0.message.tool_calls.0.function.arguments",
               "{\"x\":1}");
    expect_str(r,
               "choices.0.message.tool_calls.0.extra_content.google."
               "thought_signature",
               "c2ln");
    assert_null(at(r, "choices.0.message.tool_calls.0.extra_content.other"));
    expect_str(r, "choices.0.message.tool_calls.1.id", "b");
    expect_str(r, "choices.0.message.tool_calls.1.function.arguments", "{}");
    sy_arena_cleanup(&a);
}

static void
test_refusal_reasoning_logprobs(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = fresh(&a, 1u << 20);
    const char *lp1 = "{\"token\":\"I\",\"logprob\":-0.5,\"bytes\":[73],"
                      "\"top_logprobs\":[]}";
    const char *lp2 = "{\"token\":\" can\",\"logprob\":-1.25,\"bytes\":null,"
                      "\"top_logprobs\":[{\"token\":\" can\",\"logprob\":"
                      "-1.25}]}";
    const char *c[] = {
        "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":"
        "\"\"},\"logprobs\":null}",
        "{\"index\":0,\"delta\":{\"reasoning_content\":\"Hm\"}}",
        "{\"index\":0,\"delta\":{\"reasoning_content\":\"m.\"}}",
        sy_arena_printf(&a,
                        "{\"index\":0,\"delta\":{\"refusal\":\"I\"},"
                        "\"logprobs\":{\"content\":[%s],\"refusal\":null}}",
                        lp1),
        "{\"index\":0,\"delta\":{\"refusal\":\"\"},\"logprobs\":{\"content\":"
        "[]}}",
        sy_arena_printf(&a,
                        "{\"index\":0,\"delta\":{\"refusal\":\" can't.\"},"
                        "\"logprobs\":{\"content\":[%s]},\"finish_reason\":"
                        "\"stop\"}",
                        lp2),
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(c); i++)
        assert_int_equal(feed(as, chunk(&a, c[i])), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    expect_null(r, "choices.0.message.content");
    expect_str(r, "choices.0.message.refusal", "I can't.");
    expect_str(r, "choices.0.message.reasoning_content", "Hmm.");
    struct json_object *lp = at(r, "choices.0.logprobs.content");
    assert_int_equal(json_object_array_length(lp), 2);
    struct json_object *w1 = json_tokener_parse(lp1);
    struct json_object *w2 = json_tokener_parse(lp2);
    assert_true(json_object_equal(json_object_array_get_idx(lp, 0), w1));
    assert_true(json_object_equal(json_object_array_get_idx(lp, 1), w2));
    json_object_put(w1);
    json_object_put(w2);
    expect_null(r, "choices.0.logprobs.refusal");
    /* Only empty arrays: an empty array, as a non-streamed reply has. */
    as = fresh(&a, 1u << 20);
    assert_int_equal(
        feed(as, chunk(&a, "{\"index\":0,\"delta\":{\"content\":"
                           "\"\"},\"logprobs\":{\"content\":[]}}")),
        SY_OK);
    assert_int_equal(done(as), SY_OK);
    r = finish_ok(as, &resp);
    assert_int_equal(
        json_object_array_length(at(r, "choices.0.logprobs.content")), 0);
    expect_null(r, "choices.0.logprobs.refusal");
    sy_arena_cleanup(&a);
}

/* Usage as the adapter read it (ch->usage) wins over the chunk's JSON;
 * the JSON object is what the caller gets, as a non-streamed reply
 * passes the provider's on. Usage may also ride on a normal chunk. */
static void
test_usage_forms(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = fresh(&a, 1u << 20);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"Hi\"}", "\"stop\"")),
                     SY_OK);
    const char *u =
        "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
        "10,\"completion_tokens\":8,\"total_tokens\":18,"
        "\"prompt_cache_hit_tokens\":6}}";
    struct sy_usage read = { .present = true,
                             .prompt_tokens = 10,
                             .completion_tokens = 8,
                             .total_tokens = 18,
                             .cached_tokens = 6 };
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA,
                           .data = u,
                           .len = strlen(u),
                           .usage_only = true,
                           .usage = &read };
    assert_int_equal(sy_assemble_chunk(as, &ch), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    assert_int_equal(resp.usage.cached_tokens, 6);
    assert_int_equal(resp.usage.total_tokens, 18);
    assert_int_equal(
        json_object_get_int(at(r, "usage.prompt_cache_hit_tokens")), 6);

    /* Mistral: usage on the finishing chunk, none after. */
    as = fresh(&a, 1u << 20);
    assert_int_equal(
        feed(as, "{\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
                 "\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],\"usage\":"
                 "{\"prompt_tokens\":5,\"completion_tokens\":2,"
                 "\"total_tokens\":7}}"),
        SY_OK);
    assert_int_equal(done(as), SY_OK);
    r = finish_ok(as, &resp);
    assert_true(resp.usage.present);
    assert_int_equal(resp.usage.prompt_tokens, 5);
    expect_str(r, "choices.0.message.content", "Hi");

    /* Usage known only from ch->usage: written in OpenAI's shape. */
    as = fresh(&a, 1u << 20);
    const char *c = delta(&a, 0, "{\"content\":\"x\"}", "\"stop\"");
    struct sy_chunk ch2 = {
        .kind = SY_CHUNK_DATA, .data = c, .len = strlen(c), .usage = &read
    };
    assert_int_equal(sy_assemble_chunk(as, &ch2), SY_OK);
    assert_int_equal(done(as), SY_OK);
    r = finish_ok(as, &resp);
    assert_int_equal(
        json_object_get_int(at(r, "usage.prompt_tokens_details.cached_tokens")),
        6);
    sy_arena_cleanup(&a);
}

/* ------------------------------------------------------------------ */
/* Bounds and malformed input                                          */

static void
test_oversize(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    /* What the first chunk costs, so the bound can sit exactly 10 bytes
     * of text above it. */
    struct sy_assemble *as = fresh(&a, 1u << 20);
    const char *first = delta(&a, 0, "{\"role\":\"assistant\"}", NULL);
    assert_int_equal(feed(as, first), SY_OK);
    size_t base = sy_assemble_bytes(as);

    as = fresh(&a, base + 10);
    first = delta(&a, 0, "{\"role\":\"assistant\"}", NULL);
    assert_int_equal(feed(as, first), SY_OK);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"0123456789\"}", 0)),
                     SY_OK);
    assert_null(sy_assemble_message(as));
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"x\"}", 0)),
                     SY_EUP_PROTO);
    assert_non_null(strstr(sy_assemble_message(as), "max_response_bytes"));
    assert_true(sy_assemble_bytes(as) <= base + 10);
    /* Sticky: everything after fails the same way. */
    assert_int_equal(feed(as, delta(&a, 0, "{}", "\"stop\"")), SY_EUP_PROTO);
    assert_int_equal(done(as), SY_EUP_PROTO);
    struct sy_chat_resp resp;
    assert_int_equal(sy_assemble_finish(as, &resp), SY_EUP_PROTO);
    assert_null(resp.root);

    /* Tool arguments and logprobs count too. */
    as = fresh(&a, 2000);
    enum sy_err e = SY_OK;
    for (int i = 0; i < 400 && e == SY_OK; i++)
        e = feed(as, delta(&a, 0,
                           "{\"tool_calls\":[{\"index\":0,\"function\":{"
                           "\"arguments\":\"0123456789abcdef\"}}]}",
                           NULL));
    assert_int_equal(e, SY_EUP_PROTO);
    as = fresh(&a, 2000);
    e = SY_OK;
    for (int i = 0; i < 400 && e == SY_OK; i++)
        e = feed(as, chunk(&a, "{\"index\":0,\"delta\":{},\"logprobs\":{"
                               "\"content\":[{\"token\":\"abcdef\"}]}}"));
    assert_int_equal(e, SY_EUP_PROTO);
    /* And so do choices and tool call slots, within their counts. */
    as = fresh(&a, 0);
    for (int i = 0; i < SY_CHAT_MAX_CHOICES; i++)
        assert_int_equal(feed(as, delta(&a, i, "{\"content\":\"\"}", 0)),
                         SY_OK);
    assert_int_equal(feed(as, delta(&a, SY_CHAT_MAX_CHOICES, "{}", 0)),
                     SY_EUP_PROTO);
    as = fresh(&a, 0);
    for (int i = 0; i < SY_ASSEMBLE_MAX_CALLS; i++)
        assert_int_equal(
            feed(as, delta(&a, 0,
                           sy_arena_printf(
                               &a, "{\"tool_calls\":[{\"index\":%d}]}", i),
                           NULL)),
            SY_OK);
    assert_int_equal(
        feed(as, delta(&a, 0, "{\"tool_calls\":[{\"index\":128}]}", NULL)),
        SY_EUP_PROTO);
    assert_non_null(strstr(sy_assemble_message(as), "out of range"));
    sy_arena_cleanup(&a);
}

static void
test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "not json",
        "{\"choices\":[]",
        "[1]",
        "null",
        "{\"choices\":{}}",
        "{\"choices\":[1]}",
        "{\"choices\":[{\"index\":\"0\"}]}",
        "{\"choices\":[{\"index\":-1}]}",
        "{\"choices\":[{\"index\":1e3}]}",
        "{\"choices\":[{\"index\":99999999999999999999}]}",
        "{\"choices\":[{\"delta\":5}]}",
        "{\"choices\":[{\"delta\":{\"content\":5}}]}",
        "{\"choices\":[{\"delta\":{\"role\":[]}}]}",
        "{\"choices\":[{\"delta\":{\"refusal\":{}}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[5]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":\"x\"}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-2}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":7}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":1}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{"
        "\"arguments\":{}}}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{"
        "\"name\":true}}]}}]}",
        "{\"choices\":[{\"finish_reason\":1}]}",
        "{\"choices\":[{\"logprobs\":1}]}",
        "{\"choices\":[{\"logprobs\":{\"content\":{}}}]}",
        "{\"choices\":[],\"usage\":7}",
        "{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]} x",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "",
    };
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        struct sy_assemble *as = fresh(&a, 1u << 20);
        if (feed(as, bad[i]) != SY_EUP_PROTO)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(sy_assemble_message(as));
        struct sy_chat_resp resp;
        assert_int_equal(sy_assemble_finish(as, &resp), SY_EUP_PROTO);
    }
    /* Not ended, no choice, a chunk after the end. */
    struct sy_chat_resp resp;
    struct sy_assemble *as = fresh(&a, 1u << 20);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"a\"}", 0)), SY_OK);
    assert_int_equal(sy_assemble_finish(as, &resp), SY_EUP_PROTO);
    assert_non_null(strstr(sy_assemble_message(as), "end marker"));
    as = fresh(&a, 1u << 20);
    assert_int_equal(feed(as, "{\"choices\":[],\"usage\":{}}"), SY_OK);
    assert_int_equal(done(as), SY_OK);
    assert_int_equal(sy_assemble_finish(as, &resp), SY_EUP_PROTO);
    assert_non_null(strstr(sy_assemble_message(as), "no choices"));
    as = fresh(&a, 1u << 20);
    assert_int_equal(done(as), SY_OK);
    assert_int_equal(feed(as, delta(&a, 0, "{}", 0)), SY_EUP_PROTO);
    /* Released early (a failed-over attempt): reports, takes nothing. */
    as = fresh(&a, 1u << 20);
    assert_int_equal(feed(as, delta(&a, 0, "{\"content\":\"a\"}", 0)), SY_OK);
    sy_assemble_free(as);
    sy_assemble_free(as);
    assert_int_equal(feed(as, delta(&a, 0, "{}", 0)), SY_EUP_PROTO);
    sy_assemble_free(NULL);
    sy_arena_cleanup(&a);
}

/* A chunk that carries the emitter's tree assembles exactly as its text
 * does; a malformed one is refused the same way; a tree deeper than the
 * assembler's bound is not taken (the text is parsed, and refused). */
static void
test_tree_same_as_text(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    const char *stream[] = {
        delta(&a, 0, "{\"role\":\"assistant\",\"content\":\"\"}", 0),
        delta(&a, 0, "{\"content\":\"Hel\"}", 0),
        delta(&a, 1,
              "{\"content\":\"x\",\"tool_calls\":[{\"index\":0,"
              "\"id\":\"t1\",\"function\":{\"name\":\"f\","
              "\"arguments\":\"{\\\"a\\\"\"}}]}",
              0),
        delta(&a, 1,
              "{\"tool_calls\":[{\"index\":0,\"function\":{"
              "\"arguments\":\":1}\"}}]}",
              "\"tool_calls\""),
        delta(&a, 0, "{\"content\":\"lo.\"}", "\"stop\""),
        "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
        "\"completion_tokens\":3,\"total_tokens\":12}}",
    };
    struct sy_chat_resp r1, r2;
    struct sy_assemble *as = sy_assemble_new(&a, 1u << 20, 0);
    for (size_t i = 0; i < SY_ARRAY_LEN(stream); i++)
        assert_int_equal(feed(as, stream[i]), SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct json_object *by_text = json_object_get(finish_ok(as, &r1));
    struct sy_assemble *as2 = sy_assemble_new(&a, 1u << 20, 0);
    for (size_t i = 0; i < SY_ARRAY_LEN(stream); i++)
        assert_int_equal(feed_tree(as2, stream[i]), SY_OK);
    assert_int_equal(done(as2), SY_OK);
    struct json_object *by_tree = finish_ok(as2, &r2);
    assert_true(json_object_equal(by_text, by_tree));
    json_object_put(by_text);

    /* Well-formed JSON that is not a valid chunk: refused either way. */
    static const char *const bad[] = {
        "[1]",
        "{\"choices\":{}}",
        "{\"choices\":[{\"delta\":5}]}",
        "{\"choices\":[],\"usage\":7}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-2}]}}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        struct sy_assemble *b = sy_assemble_new(&a, 1u << 20, 0);
        if (feed_tree(b, bad[i]) != SY_EUP_PROTO)
            fail_msg("accepted with its tree: %s", bad[i]);
    }
    /* Deeper than the assembler's bound (8): the text decides. */
    struct sy_assemble *shallow = sy_assemble_new(&a, 1u << 20, 8);
    const char *deep = "{\"choices\":[{\"index\":0,\"delta\":{},\"x\":"
                       "[[[[[[[[1]]]]]]]]}]}";
    assert_int_equal(feed_tree(shallow, deep), SY_EUP_PROTO);
    assert_non_null(strstr(sy_assemble_message(shallow), "deeper"));
    sy_arena_cleanup(&a);
}

/* The pipeline runs the output contract on the assembled reply. */
static void
test_contract_on_assembled(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    const char *body = "{\"model\":\"g\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"j\"}],\"response_format\":{\"type\":"
                       "\"json_object\"}}";
    struct sy_chat_req req;
    struct sy_chat_error perr;
    assert_int_equal(sy_chat_req_parse(body, strlen(body), 64, &a, &req, &perr),
                     SY_OK);
    struct sy_assemble *as = sy_assemble_new(&a, 1u << 20, 64);
    assert_int_equal(
        feed(as, delta(&a, 0, "{\"content\":\"```json\\n{\\\"a\\\"\"}", NULL)),
        SY_OK);
    assert_int_equal(
        feed(as, delta(&a, 0, "{\"content\":\":1}\\n```\"}", "\"stop\"")),
        SY_OK);
    assert_int_equal(done(as), SY_OK);
    struct sy_chat_resp resp;
    struct json_object *r = finish_ok(as, &resp);
    char why[300];
    assert_true(sy_chat_resp_contract(&req, &resp, 64, &a, why, sizeof(why)));
    expect_str(r, "choices.0.message.content", "{\"a\":1}");
    sy_arena_cleanup(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_multi_choice_interleaved),
        cmocka_unit_test(test_tool_calls_split_everywhere),
        cmocka_unit_test(test_tool_calls_without_index),
        cmocka_unit_test(test_refusal_reasoning_logprobs),
        cmocka_unit_test(test_usage_forms),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_tree_same_as_text),
        cmocka_unit_test(test_contract_on_assembled),
    };
    return cmocka_run_group_tests_name("assemble", tests, NULL, NULL);
}
