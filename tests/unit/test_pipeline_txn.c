/*
 * test_pipeline_txn.c - the chat transaction's settle paths, through the
 * whole pipeline in-process (sy_pipeline_handle with a fake upstream
 * behind the worker's 'perform' seam, pipeline_fixture.h): every
 * attempt that reached a provider gets one usage-log line and is
 * charged (reported usage, else an estimate, never 0); one that did not
 * reach it is not. Replies with and without usage, failover, contract
 * violations with on_violation "next", a client that leaves mid-stream,
 * timeouts before the first byte, connect failures, and the total limit
 * hit while tokens flowed. No Redis: budgets and quotas are the
 * integration tests' job.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline_fixture.h"

#define TIMEOUTS                                                         \
    "'timeouts':{'connect_ms':2000,'first_byte_ms':5000,'idle_ms':5000," \
    "'total_ms':5000}"
#define CAPS                                                            \
    "'capabilities':{'streaming':true,'json_object':true,'tools':true," \
    "'json_schema':true}"

/* d1 and d2 stream (a non-streaming caller is served from an assembled
 * provider stream); d3 does not (buffered JSON replies). Prices in USD
 * per million tokens are micro-dollars per token. */
static const char config_text[] =
    "{'providers':{"
    "'p1':{'type':'openai','base_url':'http://one.test/v1','auth':'none'},"
    "'p2':{'type':'openai','base_url':'http://two.test/v1','auth':'none'}},"
    "'deployments':{"
    "'d1':{'provider':'p1','model':'m1','price':{'input_per_mtok':10,"
    "'output_per_mtok':30}," CAPS "," TIMEOUTS "},"
    "'d2':{'provider':'p2','model':'m2','price':{'input_per_mtok':20,"
    "'output_per_mtok':40}," CAPS "," TIMEOUTS "},"
    "'d3':{'provider':'p2','model':'m3','price':{'input_per_mtok':5,"
    "'output_per_mtok':15},'capabilities':{'streaming':false,'tools':false,"
    "'json_object':true}," TIMEOUTS "}},"
    "'groups':{"
    "'one':{'deployments':['d1']},"
    "'two':{'deployments':['d1','d2']},"
    "'buffered':{'deployments':['d3']},"
    "'strict':{'deployments':['d3','d1'],'contract':{'on_violation':"
    "'next'}},"
    "'held':{'deployments':['d1','d2'],'contract':{'on_violation':'next',"
    "'stream':'buffer'}}}}";

/* 9 prompt and 3 completion tokens at each deployment's prices. */
#define COST_D1 (9 * 10 + 3 * 30)
#define COST_D2 (9 * 20 + 3 * 40)
#define COST_D3 (9 * 5 + 3 * 15)

#define MSGS          "'messages':[{'role':'user','content':'Say hello, please.'}]"
#define REQ_NS(group) "{'model':'" group "'," MSGS "}"
#define REQ_S(group)                                                       \
    "{'model':'" group "','stream':true,'stream_options':{'include_usage'" \
    ":true}," MSGS "}"
#define REQ_JSON_NS(group) \
    "{'model':'" group "','response_format':{'type':'json_object'}," MSGS "}"
#define REQ_JSON_S(group)                                           \
    "{'model':'" group "','stream':true,'response_format':{'type':" \
    "'json_object'}," MSGS "}"

#define SSE  "text/event-stream"
#define JSON "application/json"

static struct sy_config *cfg;

/* Provider bodies built for one test; they must outlive serve(). */
static struct sy_buf bodies[4];

/* An OpenAI stream: a role event, one event per part, the finish event
 * (unless 'cut'), the usage event when 'usage', then [DONE] (unless
 * 'cut'). */
static const char *
openai_sse(unsigned slot, const char *const *parts, size_t n, bool usage,
           bool cut)
{
    struct sy_buf *b = &bodies[slot];
    sy_buf_clear(b);
    const char *env = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
                      "\"created\":1,\"model\":\"m\",\"choices\":";
    sy_buf_printf(b,
                  "data: %s[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                  "\"content\":\"\"},\"finish_reason\":null}]}\n\n",
                  env);
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(b,
                      "data: %s[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
                      "\"finish_reason\":null}]}\n\n",
                      env, parts[i]);
    if (!cut)
        sy_buf_printf(b,
                      "data: %s[{\"index\":0,\"delta\":{},\"finish_reason\":"
                      "\"stop\"}]}\n\n",
                      env);
    if (usage)
        sy_buf_printf(b,
                      "data: %s[],\"usage\":{\"prompt_tokens\":9,"
                      "\"completion_tokens\":3,\"total_tokens\":12}}\n\n",
                      env);
    if (!cut)
        sy_buf_puts(b, "data: [DONE]\n\n");
    assert_false(sy_buf_failed(b));
    return sy_buf_cstr(b);
}

/* An OpenAI JSON reply with 'content' (and usage when 'usage'). */
static const char *
openai_json(unsigned slot, const char *content, bool usage)
{
    struct sy_buf *b = &bodies[slot];
    sy_buf_clear(b);
    sy_buf_printf(b,
                  "{\"id\":\"r1\",\"object\":\"chat.completion\",\"created\":"
                  "1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{"
                  "\"role\":\"assistant\",\"content\":\"%s\"},"
                  "\"finish_reason\":\"stop\"}]%s}",
                  content,
                  usage ? ",\"usage\":{\"prompt_tokens\":9,"
                          "\"completion_tokens\":3,\"total_tokens\":12}"
                        : "");
    return sy_buf_cstr(b);
}

static const char *const hello[] = { "Hel", "lo." };
static const char *const notjson[] = { "not ", "json" };

static int
setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < SY_ARRAY_LEN(bodies); i++)
        sy_buf_init(&bodies[i], 1u << 20);
    worker_start(cfg);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    worker_stop();
    for (size_t i = 0; i < SY_ARRAY_LEN(bodies); i++)
        sy_buf_free(&bodies[i]);
    return 0;
}

static int
group_setup(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    if (sy_upstream_global_init() != SY_OK)
        return -1;
    cfg = load_config(config_text);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
    return 0;
}

/* The reply's choices[0].message.content. */
static const char *
reply_content(void)
{
    if (doc == NULL)
        fail_msg("not JSON: %s", body);
    struct json_object *ch = json_object_array_get_idx(jget(doc, "choices"), 0);
    return json_object_get_string(jget(jget(ch, "message"), "content"));
}

static void
expect_status(int want)
{
    if (status != want)
        fail_msg("status %d, expected %d: %s", status, want,
                 body ? body : "(none)");
}

/* The error code of a JSON error reply. */
static const char *
error_code(void)
{
    return json_object_get_string(jget(jget(doc, "error"), "code"));
}

/* ------------------------------------------------------------------ */
/* (a) a reply with usage: one line, its price                         */

static void
test_reply_with_usage(void **state)
{
    (void)state;
    /* A non-streaming caller, served from the provider's stream. */
    fake_push(200, SSE, openai_sse(0, hello, 2, true, false))->piece = 7;
    serve(REQ_NS("one"));
    expect_status(200);
    assert_string_equal(reply_content(), "Hello.");
    assert_int_equal(
        json_object_get_int(jget(jget(doc, "usage"), "prompt_tokens")), 9);
    assert_string_equal(hdr("x-switchyard-cost-usd"), "0.000180");
    assert_null(hdr("x-switchyard-cost-estimated"));
    assert_int_equal(fake_at, 1);
    assert_string_equal(fake_seen[0].url,
                        "http://one.test/v1/chat/completions");
    assert_true(fake_seen[0].streamed);
    assert_non_null(strstr(fake_seen[0].body, "\"stream\":true"));
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "ok", 0);
    assert_int_equal(lines[0].prompt, 9);
    assert_int_equal(lines[0].completion, 3);
    assert_int_equal(lines[0].cost, COST_D1);
    assert_int_equal(lines[0].attempts, 1);
    assert_int_equal(lines[0].status, 200);
    assert_string_equal(lines[0].error, "");
    assert_string_equal(lines[0].request_id, hdr("x-request-id"));

    /* A deployment that does not stream: one buffered JSON reply. */
    fake_reset();
    fake_push(200, JSON, openai_json(0, "Hello.", true));
    serve(REQ_NS("buffered"));
    expect_status(200);
    assert_string_equal(reply_content(), "Hello.");
    assert_false(fake_seen[0].streamed);
    assert_null(strstr(fake_seen[0].body, "\"stream\":true"));
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d3", "ok", 0);
    assert_int_equal(lines[0].cost, COST_D3);

    /* Asked for a stream, the provider sent one JSON reply: read as
     * one. */
    fake_reset();
    fake_push(200, JSON, openai_json(0, "Hello.", true))->piece = 5;
    serve(REQ_NS("one"));
    expect_status(200);
    assert_string_equal(reply_content(), "Hello.");
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "ok", 0);
    assert_int_equal(lines[0].cost, COST_D1);

    /* A streaming caller: every event, the price as a comment, DONE. */
    fake_reset();
    fake_push(200, SSE, openai_sse(0, hello, 2, true, false))->piece = 3;
    serve(REQ_S("one"));
    expect_status(200);
    assert_string_equal(hdr("Content-Type"), SSE);
    struct sse s;
    sse_parse(body, &s);
    assert_int_equal(json_object_array_length(s.chunks), 5);
    assert_true(s.done);
    assert_false(s.after_done);
    assert_true(s.cost_note);
    assert_int_equal(s.nerrors, 0);
    sse_free(&s);
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "ok", 0);
    assert_int_equal(lines[0].cost, COST_D1);
}

/* ------------------------------------------------------------------ */
/* (b) no usage reported: an estimate, never 0                         */

/* Line 'i' (attempt i + 1) is an estimate, charged at the deployment's
 * prices 'in' and 'out' (micro-dollars a token), and not 0. */
static void
expect_estimate(unsigned i, const char *dep, const char *outcome, int64_t in,
                int64_t out)
{
    expect_line(i, i + 1, dep, outcome, 1);
    if (lines[i].prompt <= 0 || lines[i].cost <= 0)
        fail_msg("line %u: %lld prompt tokens, cost %lld: not charged", i,
                 (long long)lines[i].prompt, (long long)lines[i].cost);
    assert_int_equal(lines[i].cost,
                     lines[i].prompt * in + lines[i].completion * out);
}

static void
test_reply_without_usage(void **state)
{
    (void)state;
    /* A stream without a usage event. */
    fake_push(200, SSE, openai_sse(0, hello, 2, false, false))->piece = 11;
    serve(REQ_S("one"));
    expect_status(200);
    struct sse s;
    sse_parse(body, &s);
    assert_true(s.done);
    assert_int_equal(json_object_array_length(s.chunks), 4);
    sse_free(&s);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "ok", 10, 30);
    /* A token per content event at least. */
    assert_true(lines[0].completion >= 2);
    /* The caller is told the price it is charged, marked estimated. */
    char note[96];
    snprintf(note, sizeof(note), ": x-switchyard-cost-usd 0.%06lld estimated\n",
             (long long)lines[0].cost);
    assert_non_null(strstr(body, note));

    /* The same stream assembled for a non-streaming caller. */
    fake_reset();
    fake_push(200, SSE, openai_sse(0, hello, 2, false, false));
    serve(REQ_NS("one"));
    expect_status(200);
    assert_string_equal(reply_content(), "Hello.");
    const char *cost = hdr("x-switchyard-cost-usd");
    assert_string_equal(hdr("x-switchyard-cost-estimated"), "true");
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "ok", 10, 30);
    snprintf(note, sizeof(note), "0.%06lld", (long long)lines[0].cost);
    assert_string_equal(cost, note);

    /* A buffered JSON reply without "usage". */
    fake_reset();
    fake_push(200, JSON,
              openai_json(0, "Hello there, a longer answer.", false));
    serve(REQ_NS("buffered"));
    expect_status(200);
    cost = hdr("x-switchyard-cost-usd");
    assert_string_equal(hdr("x-switchyard-cost-estimated"), "true");
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d3", "ok", 5, 15);
    assert_true(lines[0].completion > 0);
    snprintf(note, sizeof(note), "0.%06lld", (long long)lines[0].cost);
    assert_string_equal(cost, note);
}

/* ------------------------------------------------------------------ */
/* (c) failover: a line per attempt                                    */

static void
test_failover(void **state)
{
    (void)state;
    /* 500 from d1 (not billed), then d2 answers. */
    fake_push(500, JSON, "{\"error\":{\"message\":\"boom\",\"type\":\"x\"}}");
    fake_push(200, SSE, openai_sse(0, hello, 2, true, false))->piece = 9;
    serve(REQ_NS("two"));
    expect_status(200);
    assert_string_equal(reply_content(), "Hello.");
    assert_string_equal(hdr("x-switchyard-attempts"), "2");
    assert_int_equal(fake_at, 2);
    assert_string_equal(fake_seen[0].url,
                        "http://one.test/v1/chat/completions");
    assert_string_equal(fake_seen[1].url,
                        "http://two.test/v1/chat/completions");
    assert_non_null(strstr(fake_seen[1].body, "\"model\":\"m2\""));
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "d1", "SY_EUP_5XX", 0);
    assert_int_equal(lines[0].cost, 0);
    assert_int_equal(lines[0].prompt, 0);
    expect_line(1, 2, "d2", "ok", 0);
    assert_int_equal(lines[1].cost, COST_D2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(lines[i].attempts, 2);
        assert_int_equal(lines[i].status, 200);
        assert_string_equal(lines[i].request_id, lines[0].request_id);
    }

    /* A stream that breaks after its first (held) event moves on
     * unseen; the broken attempt reached the provider and is charged. */
    fake_reset();
    struct fake_step *st =
        fake_push(200, SSE, openai_sse(0, hello, 0, false, true));
    st->fail = SY_EUP_PROTO;
    fake_push(200, SSE, openai_sse(1, hello, 2, true, false));
    serve(REQ_S("two"));
    expect_status(200);
    struct sse s;
    sse_parse(body, &s);
    assert_true(s.done);
    assert_int_equal(s.nerrors, 0);
    assert_int_equal(json_object_array_length(s.chunks), 5);
    sse_free(&s);
    read_log();
    assert_int_equal(nlines, 2);
    expect_estimate(0, "d1", "SY_EUP_PROTO", 10, 30);
    expect_line(1, 2, "d2", "ok", 0);
    assert_int_equal(lines[1].cost, COST_D2);

    /* A caller error from the provider is answered as it is: no
     * failover, nothing billed. */
    fake_reset();
    fake_push(400, JSON,
              "{\"error\":{\"message\":\"bad\",\"type\":"
              "\"invalid_request_error\",\"param\":null,\"code\":null}}");
    serve(REQ_NS("two"));
    expect_status(400);
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "SY_EUP_BADREQ", 0);
    assert_int_equal(lines[0].cost, 0);
    assert_int_equal(lines[0].status, 400);
}

/* ------------------------------------------------------------------ */
/* (d) contract violations: each deployment charged its usage          */

static void
test_contract_next(void **state)
{
    (void)state;
    /* Non-streaming: d3 (a JSON reply) then d1 (a stream) both break
     * json_object; each is charged what it reported. */
    fake_push(200, JSON, openai_json(0, "not json", true));
    fake_push(200, SSE, openai_sse(1, notjson, 2, true, false));
    serve(REQ_JSON_NS("strict"));
    expect_status(502);
    assert_string_equal(error_code(), "output_contract_violation");
    assert_int_equal(fake_at, 2);
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "d3", "SY_EUP_CONTRACT", 0);
    assert_int_equal(lines[0].cost, COST_D3);
    expect_line(1, 2, "d1", "SY_EUP_CONTRACT", 0);
    assert_int_equal(lines[1].cost, COST_D1);
    assert_int_equal(lines[1].status, 502);
    assert_string_equal(lines[1].error, "SY_EUP_CONTRACT");

    /* Streaming (d3 cannot stream, so d1 alone): every event, then an
     * error event, and the answer is paid for. */
    fake_reset();
    fake_push(200, SSE, openai_sse(0, notjson, 2, true, false))->piece = 4;
    serve(REQ_JSON_S("strict"));
    expect_status(200);
    struct sse s;
    sse_parse(body, &s);
    assert_false(s.done);
    assert_int_equal(s.nerrors, 1);
    assert_string_equal(
        json_object_get_string(jget(jget(s.error, "error"), "code")),
        "output_contract_violation");
    assert_int_equal(json_object_array_length(s.chunks), 4);
    sse_free(&s);
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "SY_EUP_CONTRACT", 0);
    assert_int_equal(lines[0].cost, COST_D1);

    /* Streaming with "stream": "buffer": the violation moves on unseen,
     * and both answers are paid for. */
    static const char *const obj[] = { "{\\\"a\\\":", "1}" };
    fake_reset();
    fake_push(200, SSE, openai_sse(0, notjson, 2, true, false))->piece = 6;
    fake_push(200, SSE, openai_sse(1, obj, 2, true, false))->piece = 6;
    serve(REQ_JSON_S("held"));
    expect_status(200);
    sse_parse(body, &s);
    assert_true(s.done);
    assert_int_equal(s.nerrors, 0);
    assert_int_equal(json_object_array_length(s.chunks), 4);
    assert_null(strstr(body, "not "));
    sse_free(&s);
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "d1", "SY_EUP_CONTRACT", 0);
    assert_int_equal(lines[0].cost, COST_D1);
    expect_line(1, 2, "d2", "ok", 0);
    assert_int_equal(lines[1].cost, COST_D2);
}

/* ------------------------------------------------------------------ */
/* (e) a client that leaves mid-stream                                 */

static void
test_client_leaves(void **state)
{
    (void)state;
    static const char *const many[] = { "a", "b", "c", "d", "e", "f" };
    /* Gone at the third content event: no usage yet, an estimate; the
     * request ends there (no other deployment is tried). */
    cap.fail_on = "\"content\":\"c\"";
    fake_push(200, SSE, openai_sse(0, many, 6, true, false))->piece = 16;
    serve(REQ_S("two"));
    assert_true(sink.gone);
    expect_status(200);
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "SY_EGONE", 10, 30);
    assert_true(lines[0].completion >= 2);

    /* Gone on the usage event: the reported usage is charged. */
    fake_reset();
    cap.failed = false;
    cap.fail_on = "\"usage\":{\"prompt_tokens\"";
    fake_push(200, SSE, openai_sse(0, hello, 2, true, false));
    serve(REQ_S("two"));
    assert_true(sink.gone);
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "SY_EGONE", 0);
    assert_int_equal(lines[0].cost, COST_D1);

    /* Gone before the headers (when the held event is released). */
    fake_reset();
    cap.failed = false;
    cap.fail_on = "Status:";
    fake_push(200, SSE, openai_sse(0, many, 6, true, false));
    serve(REQ_S("two"));
    assert_true(sink.gone);
    assert_int_equal(status, 0);
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "SY_EGONE", 10, 30);
}

/* ------------------------------------------------------------------ */
/* (f) timeouts and connect failures                                   */

static void
test_timeout_and_connect(void **state)
{
    (void)state;
    /* No byte before first_byte_ms: the provider read the prompt. */
    fake_push(0, NULL, NULL)->fail = SY_EUP_TIMEOUT;
    serve(REQ_NS("one"));
    expect_status(504);
    assert_string_equal(error_code(), "upstream_timeout");
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "SY_EUP_TIMEOUT", 10, 30);
    assert_int_equal(lines[0].completion, 0);
    assert_int_equal(lines[0].status, 504);
    assert_string_equal(lines[0].error, "SY_EUP_TIMEOUT");

    /* Not connected: nothing reached the provider. */
    fake_reset();
    fake_push(0, NULL, NULL)->fail = SY_EUP_CONNECT;
    serve(REQ_NS("one"));
    expect_status(502);
    assert_string_equal(error_code(), "upstream_connect_failed");
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "d1", "SY_EUP_CONNECT", 0);
    assert_int_equal(lines[0].cost, 0);
    assert_int_equal(lines[0].prompt, 0);

    /* Both in one request: a line each. */
    fake_reset();
    fake_push(0, NULL, NULL)->fail = SY_EUP_TIMEOUT;
    fake_push(0, NULL, NULL)->fail = SY_EUP_CONNECT;
    serve(REQ_S("two"));
    expect_status(502);
    assert_int_equal(fake_at, 2);
    read_log();
    assert_int_equal(nlines, 2);
    expect_estimate(0, "d1", "SY_EUP_TIMEOUT", 10, 30);
    expect_line(1, 2, "d2", "SY_EUP_CONNECT", 0);
    assert_int_equal(lines[1].cost, 0);
    assert_int_equal(lines[1].attempts, 2);
}

/* ------------------------------------------------------------------ */
/* (g) the total limit while tokens flowed                             */

static void
test_total_limit(void **state)
{
    (void)state;
    static const char *const parts[] = { "one ", "two ", "three" };
    /* Streaming: the events, then an error event; not retried. */
    struct fake_step *st =
        fake_push(200, SSE, openai_sse(0, parts, 3, false, true));
    st->fail = SY_EUP_TOOLONG;
    st->piece = 10;
    st->total_us = 5000000;
    serve(REQ_S("two"));
    expect_status(200);
    struct sse s;
    sse_parse(body, &s);
    assert_false(s.done);
    assert_int_equal(s.nerrors, 1);
    assert_int_equal(json_object_array_length(s.chunks), 4);
    assert_string_equal(
        json_object_get_string(jget(jget(s.error, "error"), "code")),
        "upstream_total_timeout");
    sse_free(&s);
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "SY_EUP_TOOLONG", 10, 30);
    assert_true(lines[0].completion >= 3);

    /* Non-streaming (assembled): a 504 at once, no failover. */
    fake_reset();
    st = fake_push(200, SSE, openai_sse(0, parts, 3, false, true));
    st->fail = SY_EUP_TOOLONG;
    serve(REQ_NS("two"));
    expect_status(504);
    assert_string_equal(error_code(), "upstream_total_timeout");
    assert_int_equal(fake_at, 1);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d1", "SY_EUP_TOOLONG", 10, 30);
}

/* Review findings: usage of zeros is no usage; keep-alive comments
 * (after at most the role-only first event) until total_ms are a
 * provider that never answered. */
static void
test_zero_usage_and_keepalive(void **state)
{
    (void)state;
    /* "usage":{} in a buffered reply: charged an estimate, not 0. */
    struct sy_buf *b = &bodies[0];
    sy_buf_clear(b);
    sy_buf_puts(b, "{\"id\":\"r1\",\"object\":\"chat.completion\","
                   "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":"
                   "0,\"message\":{\"role\":\"assistant\",\"content\":"
                   "\"Hi.\"},\"finish_reason\":\"stop\"}],\"usage\":{}}");
    fake_push(200, JSON, sy_buf_cstr(b));
    serve(REQ_NS("buffered"));
    expect_status(200);
    read_log();
    assert_int_equal(nlines, 1);
    expect_estimate(0, "d3", "ok", 5, 15);

    /* Only SSE comments until total_ms: a timeout, which fails over. */
    fake_reset();
    struct fake_step *st = fake_push(200, SSE, ": keep-alive\n\n: still\n\n");
    st->fail = SY_EUP_TOOLONG;
    fake_push(200, SSE, openai_sse(1, hello, 2, true, false));
    serve(REQ_S("two"));
    expect_status(200);
    assert_int_equal(fake_at, 2);
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "d1", "SY_EUP_TIMEOUT", 1);
    assert_int_equal(lines[0].completion, 0);
    expect_line(1, 2, "d2", "ok", 0);

    /* The role-only first event, then comments until total_ms: no
     * answer came either (the first token is the second event), a
     * timeout that fails over, not a long answer. */
    fake_reset();
    st = fake_push(200, SSE, openai_sse(0, NULL, 0, false, true));
    st->fail = SY_EUP_TOOLONG;
    fake_push(200, SSE, openai_sse(1, hello, 2, true, false));
    serve(REQ_S("two"));
    expect_status(200);
    assert_int_equal(fake_at, 2);
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "d1", "SY_EUP_TIMEOUT", 1);
    expect_line(1, 2, "d2", "ok", 0);

    /* A buffered reply of blanks until total_ms is a provider keeping
     * a long generation alive (its JSON comes whole at the end): the
     * length asked for, a 504 at once, no failover. */
    fake_reset();
    st = fake_push(200, JSON, "  \n \n\t ");
    st->fail = SY_EUP_TOOLONG;
    serve(REQ_NS("strict"));
    expect_status(504);
    assert_string_equal(error_code(), "upstream_total_timeout");
    assert_int_equal(fake_at, 1);
}

/* Every deployment rate limited: the caller's Retry-After is the
 * shortest wait, but never longer than a 429 parks a key (60 s): a
 * provider's Retry-After of days reached one caller, and 60 s reached
 * the next. */
static void
test_retry_after_capped(void **state)
{
    (void)state;
    static const char limited[] =
        "{\"error\":{\"message\":\"slow down\",\"type\":"
        "\"rate_limit_error\"}}";
    fake_push(429, JSON, limited)->retry_after_ms = 999999000u;
    serve(REQ_NS("one"));
    expect_status(429);
    assert_non_null(strstr(head, "Retry-After: 60\r\n"));
    fake_reset();
    fake_push(429, JSON, limited)->retry_after_ms = 4000;
    serve(REQ_NS("buffered"));
    expect_status(429);
    assert_non_null(strstr(head, "Retry-After: 4\r\n"));
}

/* ------------------------------------------------------------------ */
/* No provider call, no line                                           */

static void
test_no_attempt(void **state)
{
    (void)state;
    /* Refused before any attempt: invalid, unknown group, no capable
     * deployment (d3 has no tools). */
    serve("{'model':'one','messages':[]}");
    expect_status(400);
    serve(REQ_NS("nope"));
    expect_status(404);
    serve("{'model':'buffered','tools':[{'type':'function','function':"
          "{'name':'f','parameters':{'type':'object'}}}]," MSGS "}");
    expect_status(400);
    assert_string_equal(error_code(), "no_capable_deployment");
    assert_int_equal(fake_at, 0);
    read_log();
    assert_int_equal(nlines, 0);
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_reply_with_usage),
        T(test_retry_after_capped),
        T(test_reply_without_usage),
        T(test_failover),
        T(test_contract_next),
        T(test_client_leaves),
        T(test_zero_usage_and_keepalive),
        T(test_timeout_and_connect),
        T(test_total_limit),
        T(test_no_attempt),
#undef T
    };
    return cmocka_run_group_tests_name("pipeline_txn", tests, group_setup,
                                       group_teardown);
}
