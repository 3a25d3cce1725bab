/*
 * test_stream_bounds.c - what a provider stream can make the gateway
 * hold: the answer gathered for the contract check stops at its cap and
 * says so (no text with holes checked as if whole), and the Gemini
 * adapter does not copy a repeated finishReason into the request arena
 * on every event. The per-attempt cap on streamed bytes itself is shown
 * end to end in tests/integration/streamcap.test.js.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/chat.h"
#include "base/mem.h"
#include "api/adapter.h"
#include "api/sse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void
parse(const char *body, struct sy_arena *a, struct sy_chat_req *req)
{
    struct sy_chat_error err;
    assert_int_equal(sy_chat_req_parse(body, strlen(body), 64, a, req, &err),
                     SY_OK);
}

/* A chat.completion.chunk whose delta holds 'text'. */
static const char *
chunk(char *out, size_t n, const char *text)
{
    snprintf(out, n,
             "{\"id\":\"c\",\"object\":\"chat.completion.chunk\","
             "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}",
             text);
    return out;
}

/* A piece that does not fit ends the gathering: a later, smaller piece
 * is not appended after the hole, and the check fails saying why. */
static void
test_answer_stops_at_cap(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req req;
    parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
          "\"hi\"}],\"stream\":true,\"response_format\":{\"type\":"
          "\"json_object\"}}",
          &a, &req);
    struct sy_stream_answer s;
    sy_stream_answer_init(&s);
    s.content.max = 32;
    char c[256];
    const char *p = chunk(c, sizeof(c), "{\\\"a\\\":\\\"0123456789");
    assert_true(sy_chat_chunk_gather(p, strlen(p), &s));
    size_t first = s.content.len;
    p = chunk(c, sizeof(c), "abcdefghijklmnopqrstuvwxyz");
    sy_chat_chunk_gather(p, strlen(p), &s);
    p = chunk(c, sizeof(c), "\\\"}");
    sy_chat_chunk_gather(p, strlen(p), &s);
    assert_int_equal(s.content.len, first);
    assert_true(s.overflowed);
    char why[300];
    bool fenced;
    assert_false(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_non_null(strstr(why, "larger than the 32 bytes"));
    /* A fresh attempt starts whole again, with the deployment's cap. */
    sy_stream_answer_clear(&s);
    sy_stream_answer_limit(&s, 64);
    assert_false(s.overflowed);
    p = chunk(c, sizeof(c), "{\\\"a\\\":1}");
    assert_true(sy_chat_chunk_gather(p, strlen(p), &s));
    assert_true(
        sy_chat_stream_contract(&req, &s, 64, &a, why, sizeof(why), &fenced));
    assert_int_equal(s.content.max, 64);
    assert_int_equal(s.args[0].max, 64);
    sy_stream_answer_free(&s);
    sy_arena_cleanup(&a);
}

static enum sy_err
ignore_chunk(void *ud, const struct sy_chunk *ch)
{
    (void)ud;
    (void)ch;
    return SY_OK;
}

/* Arena bytes used by a Gemini stream of 'n' text events, with a
 * finishReason on every event or only on the last one. */
static size_t
gemini_arena_bytes(unsigned n, bool every)
{
    const struct sy_adapter *ad = sy_adapter_find("gemini");
    assert_non_null(ad);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_target target = { .model = "gemini-test",
                                .base_url = "http://127.0.0.1:1/v1beta",
                                .provider_type = "gemini" };
    struct sy_chat_req req;
    parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
          "\"hi\"}],\"stream\":true}",
          &a, &req);
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    struct sy_adapter_call call;
    memset(&call, 0, sizeof(call));
    call.req = &req;
    call.target = &target;
    call.api_key = "k";
    call.arena = &a;
    call.ctx = sy_arena_zalloc(&a, ad->ctx_size);
    call.fail = &f;
    struct sy_http_out out;
    memset(&out, 0, sizeof(out));
    struct sy_buf body;
    sy_buf_init(&body, 1u << 20);
    out.body = &body;
    assert_int_equal(ad->build_request(&call, &out), SY_OK);
    sy_buf_free(&body);
    size_t before = a.bytes;
    char ev[256];
    for (unsigned i = 0; i < n; i++) {
        bool fr = every || i + 1 == n;
        int k = snprintf(ev, sizeof(ev),
                         "data: {\"candidates\":[{\"content\":{\"role\":"
                         "\"model\",\"parts\":[{\"text\":\"a\"}]},\"index\":0"
                         "%s}]}\n\n",
                         fr ? ",\"finishReason\":\"STOP\"" : "");
        assert_int_equal(sy_sse_stream_feed(ad, &call, ev, (size_t)k,
                                            ignore_chunk, NULL, &f),
                         SY_OK);
    }
    assert_int_equal(
        sy_sse_stream_feed(ad, &call, NULL, 0, ignore_chunk, NULL, &f), SY_OK);
    /* cppcheck-suppress duplicateExpression ; the feeds above grow the
     * arena through call.arena, so a.bytes is no longer 'before' */
    size_t used = a.bytes - before;
    sy_arena_cleanup(&a);
    return used;
}

/* A finishReason repeated on each of 2000 events costs the arena no more
 * than one at the end (old code: one copy per event, ~16 KB). */
static void
test_gemini_finish_copied_once(void **state)
{
    (void)state;
    size_t once = gemini_arena_bytes(2000, false);
    size_t every = gemini_arena_bytes(2000, true);
    print_message("arena bytes: finishReason once %zu, on every event %zu\n",
                  once, every);
    assert_true(every <= once + 64);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_stops_at_cap),
        cmocka_unit_test(test_gemini_finish_copied_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
