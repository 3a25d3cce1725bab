/*
 * test_sse_relay.c - the native relay of a provider stream
 * (core/api/sse.c sy_sse_stream_feed with call->relay_native): a caller
 * who speaks the provider's format gets only the events the adapter took,
 * and nothing after the end of the stream the adapter saw. The Anthropic
 * adapter judges the events: message_stop ends its stream; a block
 * delta before its content_block_start is a protocol failure.
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

#define START                                                              \
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":" \
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","       \
    "\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":3," \
    "\"output_tokens\":1}}}\n\n"
#define BLOCK_START(i)                                                      \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\","  \
    "\"index\":" #i ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}" \
    "\n\n"
#define TEXT(i, t)                                                         \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"," \
    "\"index\":" #i ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" t    \
    "\"}}\n\n"
#define BLOCK_STOP(i)                                                    \
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\"," \
    "\"index\":" #i "}\n\n"
#define END                                                               \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"  \
    "{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

#define TOOL_START                                                         \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\"," \
    "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","  \
    "\"name\":\"f\",\"input\":{}}}\n\n"
#define INPUT(j)                                                           \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"," \
    "\"index\":0,\"delta\":{\"type\":\"input_json_delta\","                \
    "\"partial_json\":\"" j "\"}}\n\n"
#define STOP_AS(r)                                                       \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":" \
    "{\"stop_reason\":\"" r "\"},\"usage\":{\"output_tokens\":2}}\n\n"   \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

/* What reached the pipeline: the relayed events, in order, and how many
 * canonical chunks came. */
struct seen {
    char native[4096];
    size_t len;
    unsigned nnative, ndata;
};

static enum sy_err
collect(void *ud, const struct sy_chunk *c)
{
    struct seen *s = ud;
    if (c->kind == SY_CHUNK_NATIVE) {
        assert_true(s->len + c->len < sizeof(s->native));
        memcpy(s->native + s->len, c->data, c->len);
        s->len += c->len;
        s->native[s->len] = '\0';
        s->nnative++;
    } else if (c->kind == SY_CHUNK_DATA) {
        s->ndata++;
    }
    return SY_OK;
}

/* Feed 'body' (then its end when 'finish') to the Anthropic adapter as a
 * native call; the feed's result. */
static enum sy_err
feed(const char *body, bool finish, struct seen *s, struct sy_failure *f)
{
    const struct sy_adapter *ad = sy_adapter_find("anthropic");
    assert_non_null(ad);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_target target = { .model = "claude-x",
                                .base_url = "http://127.0.0.1:1/v1",
                                .provider_type = "anthropic" };
    struct sy_adapter_call call;
    memset(&call, 0, sizeof(call));
    memset(s, 0, sizeof(*s));
    memset(f, 0, sizeof(*f));
    call.target = &target;
    call.arena = &a;
    call.ctx = sy_arena_zalloc(&a, ad->ctx_size);
    call.relay_native = true;
    enum sy_err e =
        sy_sse_stream_feed(ad, &call, body, strlen(body), collect, s, f);
    if (e == SY_OK && finish)
        e = sy_sse_stream_feed(ad, &call, NULL, 0, collect, s, f);
    sy_arena_cleanup(&a);
    return e;
}

/* A well-formed stream reaches the caller whole. */
static void
test_relays_a_stream(void **state)
{
    (void)state;
    struct seen s;
    struct sy_failure f;
    assert_int_equal(feed(START BLOCK_START(0) TEXT(0, "hi") BLOCK_STOP(0) END,
                          true, &s, &f),
                     SY_OK);
    assert_int_equal(s.nnative, 6);
    assert_non_null(strstr(s.native, "\"text\":\"hi\""));
    assert_non_null(strstr(s.native, "event: message_stop\n"));
}

/* Events after message_stop are ignored by the adapter and not relayed:
 * the caller's stream ends at message_stop. */
static void
test_nothing_after_message_stop(void **state)
{
    (void)state;
    struct seen s;
    struct sy_failure f;
    assert_int_equal(feed(START BLOCK_START(0) TEXT(0, "hi") BLOCK_STOP(0)
                              END BLOCK_START(1) TEXT(1, "INJECTED") START,
                          true, &s, &f),
                     SY_OK);
    assert_null(strstr(s.native, "INJECTED"));
    assert_int_equal(s.nnative, 6);
    const char *last = "event: message_stop\ndata: {\"type\":\"message_stop\"}"
                       "\n\n";
    assert_true(s.len >= strlen(last));
    assert_string_equal(s.native + s.len - strlen(last), last);
}

/* An event the adapter refuses (out of order) fails the stream and is
 * not relayed; nor is a second message_start. */
static void
test_refused_event_not_relayed(void **state)
{
    (void)state;
    struct seen s;
    struct sy_failure f;
    assert_int_equal(feed(START TEXT(0, "early") BLOCK_START(0), false, &s, &f),
                     SY_EUP_PROTO);
    assert_int_equal(f.err, SY_EUP_PROTO);
    assert_int_equal(s.nnative, 1); /* message_start only */
    assert_null(strstr(s.native, "early"));

    assert_int_equal(
        feed(START BLOCK_START(0) TEXT(0, "a") START, false, &s, &f),
        SY_EUP_PROTO);
    assert_int_equal(s.nnative, 3);
    assert_int_equal(strstr(s.native + 1, "event: message_start"), NULL);
}

/* A tool's streamed input must put together a JSON object: judged at
 * the stop reason, where an answer cut by its length may end inside it
 * (the output contract judges that one); else the stream fails before
 * its message_delta reaches the caller. */
static void
test_tool_input_object(void **state)
{
    (void)state;
    struct seen s;
    struct sy_failure f;
    assert_int_equal(feed(START TOOL_START INPUT("{\\\"a\\\":") INPUT("1}")
                              BLOCK_STOP(0) STOP_AS("tool_use"),
                          true, &s, &f),
                     SY_OK);
    assert_int_equal(feed(START TOOL_START INPUT("[1,") INPUT("2]")
                              BLOCK_STOP(0) STOP_AS("tool_use"),
                          true, &s, &f),
                     SY_EUP_PROTO);
    assert_non_null(strstr(f.message, "not a JSON object"));
    assert_null(strstr(s.native, "message_delta"));
    assert_int_equal(feed(START TOOL_START INPUT("{\\\"a\\\": \\\"tr")
                              BLOCK_STOP(0) STOP_AS("max_tokens"),
                          true, &s, &f),
                     SY_OK);
    assert_non_null(strstr(s.native, "event: message_stop"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relays_a_stream),
        cmocka_unit_test(test_nothing_after_message_stop),
        cmocka_unit_test(test_refused_event_not_relayed),
        cmocka_unit_test(test_tool_input_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
