/*
 * test_pipeline_messages.c - POST /v1/messages and
 * /v1/messages/count_tokens through the whole pipeline, with a fake
 * upstream (pipeline_fixture.h): a Messages caller served by an
 * OpenAI-dialect deployment (translated both ways, streaming and not),
 * by an Anthropic deployment (natively: the caller's body as it sent it,
 * the provider's reply and events unchanged), failover from one to the
 * other, Anthropic's error shape on this surface (before and during a
 * stream), the key from x-api-key, count_tokens native and estimated,
 * and a request with an Anthropic client tool (native-only) routed to
 * the Anthropic deployment alone, or refused where there is none.
 * SPDX-License-Identifier: MIT
 */
#include "pipeline_fixture.h"

#define SECRET "sk-messages-secret-0123456789abcdef"

#define TIMEOUTS                                                         \
    "'timeouts':{'connect_ms':2000,'first_byte_ms':5000,'idle_ms':5000," \
    "'total_ms':5000}"
#define CAPS                                                            \
    "'capabilities':{'streaming':true,'json_object':true,'tools':true," \
    "'json_schema':true}"

static const char config_text[] =
    "{'keys':{'k':{'key_env':'SYT_MSG_KEY'}},"
    "'providers':{"
    "'po':{'type':'openai','base_url':'http://o.test/v1','auth':'none'},"
    "'pa':{'type':'anthropic','base_url':'http://a.test/v1','auth':'none'}},"
    "'deployments':{"
    "'do':{'provider':'po','model':'gpt-x','price':{'input_per_mtok':10,"
    "'output_per_mtok':30}," CAPS "," TIMEOUTS "},"
    "'da':{'provider':'pa','model':'claude-x','price':{'input_per_mtok':10,"
    "'output_per_mtok':30}," CAPS "," TIMEOUTS "},"
    "'dsmall':{'provider':'pa','model':'claude-s','price':{'input_per_mtok':"
    "10,'output_per_mtok':30},'capabilities':{'streaming':true,"
    "'max_output_tokens':1000}," TIMEOUTS "}},"
    "'groups':{"
    "'oai':{'deployments':['do']},"
    "'ant':{'deployments':['da']},"
    "'mix':{'deployments':['da','do'],'strategy':'priority'},"
    "'mixo':{'deployments':['do','da'],'strategy':'priority'},"
    "'clamped':{'deployments':['dsmall'],'clamp_max_tokens':true},"
    "'small':{'deployments':['dsmall']}}}";

#define SSE  "text/event-stream"
#define JSON "application/json"

#define MSGS "'messages':[{'role':'user','content':'Say hello, please.'}]"

static struct sy_config *cfg;

/* An OpenAI stream: role, "Hel", "lo.", finish, usage, [DONE]. */
static const char openai_stream[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"Hel\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"lo.\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
    "\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
    "data: [DONE]\n\n";

/* An Anthropic reply with what translation would lose: a thinking block
 * and its signature, cache-write tokens. */
static const char anthropic_reply[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-x\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
    "\"hm\",\"signature\":\"sig-abc\"},{\"type\":\"text\",\"text\":"
    "\"Hello.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":4,"
    "\"cache_read_input_tokens\":0,\"output_tokens\":3}}";

/* An Anthropic stream with a thinking block and its signature. */
static const char anthropic_stream[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
    "\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,"
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
    "\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\","
    "\"signature\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
    "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
    "\"hm\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
    "\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":"
    "\"sig-abc\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
    "\"index\":0}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
    "\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
    "\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
    "\"index\":1}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{"
    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{"
    "\"output_tokens\":3}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static int
setup(void **state)
{
    (void)state;
    worker_start(cfg);
    req_path = "/v1/messages";
    req_x_api_key = SECRET;
    req_anthropic_version = "2023-06-01";
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    req_path = "/v1/chat/completions";
    req_x_api_key = req_authorization = NULL;
    req_anthropic_version = req_anthropic_beta = NULL;
    worker_stop();
    return 0;
}

static int
group_setup(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    setenv("SYT_MSG_KEY", SECRET, 1);
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
    unsetenv("SYT_MSG_KEY");
    return 0;
}

static void
expect_status(int want)
{
    if (status != want)
        fail_msg("status %d, expected %d: %s", status, want,
                 body ? body : "(none)");
}

/* The body is Anthropic's error shape with error type 'type'. */
static void
expect_anthropic_error(const char *type)
{
    if (doc == NULL)
        fail_msg("not JSON: %s", body);
    assert_string_equal(json_object_get_string(jget(doc, "type")), "error");
    assert_string_equal(
        json_object_get_string(jget(jget(doc, "error"), "type")), type);
    assert_non_null(jget(jget(doc, "error"), "message"));
}

/* The names of the SSE events of 'text', in order, joined by ','. */
static const char *
event_names(const char *text)
{
    struct sy_buf b;
    sy_buf_init(&b, 1u << 16);
    for (const char *p = text; (p = strstr(p, "event: ")) != NULL;) {
        p += 7;
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (b.len > 0)
            sy_buf_puts(&b, ",");
        sy_buf_append(&b, p, (size_t)(nl - p));
    }
    const char *s = sy_arena_strdup(&worker.arena, sy_buf_cstr(&b));
    sy_buf_free(&b);
    return s;
}

/* A Messages caller, an OpenAI deployment: the request translated to
 * chat completions, the reply (assembled from the provider stream) to a
 * Message. */
static void
test_translated_reply(void **state)
{
    (void)state;
    fake_push(200, SSE, openai_stream)->piece = 9;
    serve("{'model':'oai','max_tokens':100,'system':'Be brief.'," MSGS "}");
    expect_status(200);
    assert_string_equal(fake_seen[0].url, "http://o.test/v1/chat/completions");
    struct json_object *up = json_tokener_parse(fake_seen[0].body);
    assert_non_null(up);
    struct json_object *m0 = json_object_array_get_idx(jget(up, "messages"), 0);
    assert_string_equal(json_object_get_string(jget(m0, "role")), "system");
    json_object_put(up);
    assert_string_equal(json_object_get_string(jget(doc, "type")), "message");
    assert_string_equal(json_object_get_string(jget(doc, "role")), "assistant");
    struct json_object *c0 = json_object_array_get_idx(jget(doc, "content"), 0);
    assert_string_equal(json_object_get_string(jget(c0, "type")), "text");
    assert_string_equal(json_object_get_string(jget(c0, "text")), "Hello.");
    assert_string_equal(json_object_get_string(jget(doc, "stop_reason")),
                        "end_turn");
    struct json_object *u = jget(doc, "usage");
    assert_int_equal(json_object_get_int(jget(u, "input_tokens")), 9);
    assert_int_equal(json_object_get_int(jget(u, "output_tokens")), 3);
    assert_string_equal(hdr("x-switchyard-deployment"), "do");
    assert_string_equal(hdr("x-switchyard-cost-usd"), "0.000180");
}

/* ... streaming: Anthropic's event sequence from OpenAI chunks. */
static void
test_translated_stream(void **state)
{
    (void)state;
    fake_push(200, SSE, openai_stream)->piece = 5;
    serve("{'model':'oai','max_tokens':100,'stream':true," MSGS "}");
    expect_status(200);
    assert_string_equal(hdr("Content-Type"), SSE);
    const char *names = event_names(body);
    assert_non_null(strstr(names, "message_start"));
    assert_non_null(strstr(names, "content_block_start,"));
    assert_non_null(strstr(names, "content_block_delta"));
    assert_non_null(
        strstr(names, "content_block_stop,message_delta,message_stop"));
    assert_null(strstr(body, "[DONE]"));
    assert_non_null(strstr(body, "\"text_delta\""));
    assert_non_null(strstr(body, ": x-switchyard-cost-usd 0.000180"));
    /* The provider was asked for usage in the stream. */
    assert_non_null(strstr(fake_seen[0].body, "include_usage"));
}

/* An Anthropic deployment: the caller's body goes through (its
 * cache_control kept, the model replaced), the reply comes back as the
 * provider sent it; the cost counts the cache-write tokens. */
static void
test_native_reply(void **state)
{
    (void)state;
    fake_push(200, JSON, anthropic_reply);
    serve("{'model':'ant','max_tokens':100,'messages':[{'role':'user',"
          "'content':[{'type':'text','text':'Hi','cache_control':{'type':"
          "'ephemeral'}}]}],'service_tier':'auto'}");
    expect_status(200);
    assert_string_equal(fake_seen[0].url, "http://a.test/v1/messages");
    assert_non_null(strstr(fake_seen[0].body, "cache_control"));
    assert_non_null(strstr(fake_seen[0].body, "\"claude-x\""));
    assert_null(strstr(fake_seen[0].body, "service_tier"));
    assert_string_equal(body, anthropic_reply);
    assert_string_equal(hdr("x-switchyard-deployment"), "da");
    /* (5 + 4) input tokens at 10, 3 output at 30 (cache writes at the
     * input price when no cache_write price is set). */
    assert_string_equal(hdr("x-switchyard-cost-usd"), "0.000180");
}

/* ... streaming: every provider event relayed as it came (the thinking
 * signature included), and no [DONE]. */
static void
test_native_stream(void **state)
{
    (void)state;
    fake_push(200, SSE, anthropic_stream)->piece = 11;
    serve("{'model':'ant','max_tokens':100,'stream':true," MSGS "}");
    expect_status(200);
    assert_non_null(strstr(body, "\"signature_delta\""));
    assert_non_null(strstr(body, "event: ping\n"));
    assert_string_equal(event_names(body), event_names(anthropic_stream));
    assert_null(strstr(body, "[DONE]"));
    assert_non_null(strstr(body, ": x-switchyard-cost-usd "));
}

/* A mixed group: the Anthropic deployment overloaded, the OpenAI one
 * answers, translated. */
static void
test_failover_across_dialects(void **state)
{
    (void)state;
    fake_push(529, JSON,
              "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
              "\"message\":\"Overloaded\"}}");
    fake_push(200, SSE, openai_stream);
    serve("{'model':'mix','max_tokens':100," MSGS "}");
    expect_status(200);
    assert_int_equal(fake_at, 2);
    assert_string_equal(hdr("x-switchyard-deployment"), "do");
    assert_string_equal(hdr("x-switchyard-attempts"), "2");
    assert_string_equal(json_object_get_string(jget(doc, "type")), "message");
}

/* Errors in Anthropic's shape, with the right status. */
static void
test_errors(void **state)
{
    (void)state;
    serve("{'model':'oai'," MSGS "}"); /* no max_tokens */
    expect_status(400);
    expect_anthropic_error("invalid_request_error");
    serve("{'model':'nope','max_tokens':10," MSGS "}");
    expect_status(404);
    expect_anthropic_error("not_found_error");
    req_x_api_key = "sk-wrong";
    serve("{'model':'oai','max_tokens':10," MSGS "}");
    expect_status(401);
    expect_anthropic_error("authentication_error");
    req_x_api_key = NULL;
    req_authorization = "Bearer " SECRET;
    fake_push(200, SSE, openai_stream);
    serve("{'model':'oai','max_tokens':10," MSGS "}");
    expect_status(200);
    req_authorization = NULL;
    req_x_api_key = SECRET;
    /* An unknown path under /v1/messages: Anthropic's 404. */
    req_path = "/v1/messages/nothing";
    serve("{}");
    expect_status(404);
    expect_anthropic_error("not_found_error");
    /* The chat surface keeps OpenAI's shape. */
    req_path = "/v1/chat/completions";
    serve("{'model':'nope'," MSGS "}");
    expect_status(404);
    assert_non_null(jget(jget(doc, "error"), "code"));
    assert_null(jget(doc, "type"));
}

/* A stream cut after it started: an Anthropic error event. */
static void
test_midstream_error(void **state)
{
    (void)state;
    const char *cut = strstr(openai_stream, "data: {\"id\":\"c1\","
                                            "\"object\":\"chat.completion."
                                            "chunk\",\"created\":1,\"model\":"
                                            "\"gpt-x\",\"choices\":[{\"index\""
                                            ":0,\"delta\":{},");
    assert_non_null(cut);
    struct fake_step *s = fake_push(200, SSE, openai_stream);
    s->len = (size_t)(cut - openai_stream);
    s->fail = SY_EUP_CONNECT;
    serve("{'model':'oai','max_tokens':100,'stream':true," MSGS "}");
    expect_status(200);
    assert_non_null(strstr(body, "event: error\ndata: {\"type\":\"error\""));
    assert_null(strstr(body, "message_stop"));
}

/* count_tokens: Anthropic's own count for an Anthropic group, the
 * estimate (marked) elsewhere. */
static void
test_count_tokens(void **state)
{
    (void)state;
    req_path = "/v1/messages/count_tokens";
    fake_push(200, JSON, "{\"input_tokens\":42}");
    serve("{'model':'ant'," MSGS "}");
    expect_status(200);
    assert_string_equal(fake_seen[0].url,
                        "http://a.test/v1/messages/count_tokens");
    assert_null(strstr(fake_seen[0].body, "max_tokens"));
    assert_int_equal(json_object_get_int(jget(doc, "input_tokens")), 42);
    assert_null(hdr("x-switchyard-estimate"));

    serve("{'model':'oai'," MSGS "}");
    expect_status(200);
    assert_string_equal(hdr("x-switchyard-estimate"), "true");
    assert_true(json_object_get_int(jget(doc, "input_tokens")) > 5);
    assert_int_equal(fake_at, 1);

    serve("{'model':'oai'}");
    expect_status(400);
    expect_anthropic_error("invalid_request_error");
}

/* max_tokens above the deployment's output limit: lowered to it where
 * the group clamps, a 400 naming the limit where it does not. */
static void
test_clamp_max_tokens(void **state)
{
    (void)state;
    fake_push(200, JSON, anthropic_reply);
    serve("{'model':'clamped','max_tokens':128000," MSGS "}");
    expect_status(200);
    assert_non_null(strstr(fake_seen[0].body, "\"max_tokens\":1000"));
    serve("{'model':'small','max_tokens':128000," MSGS "}");
    expect_status(400);
    expect_anthropic_error("invalid_request_error");
    assert_int_equal(fake_at, 1);
}

/* A native stream whose provider is overloaded right after its opening
 * events (message_start, content_block_start, ping: no answer yet): the
 * caller has seen nothing, so the next deployment serves it. */
static void
test_native_early_overload(void **state)
{
    (void)state;
    const char *open_end =
        strstr(anthropic_stream, "event: content_block_delta");
    assert_non_null(open_end);
    static char early[4096];
    int n = snprintf(early, sizeof(early),
                     "%.*sevent: error\ndata: {\"type\":\"error\","
                     "\"error\":{\"type\":\"overloaded_error\","
                     "\"message\":\"Overloaded\"}}\n\n",
                     (int)(open_end - anthropic_stream), anthropic_stream);
    assert_true(n > 0 && (size_t)n < sizeof(early));
    fake_push(200, SSE, early)->piece = 13;
    fake_push(200, SSE, openai_stream);
    serve("{'model':'mix','max_tokens':100,'stream':true," MSGS "}");
    expect_status(200);
    assert_int_equal(fake_at, 2);
    assert_string_equal(hdr("x-switchyard-deployment"), "do");
    assert_null(strstr(body, "event: error"));
    assert_non_null(strstr(body, "event: message_stop"));
}

/* A native stream cut after message_delta, before its message_stop: a
 * failure, so the caller gets an error event and never the provider's
 * closing events (held until the stream ends well). And unsigned
 * thinking blocks (another provider's reasoning, translated) are not
 * sent back to Anthropic, signed ones are. */
static void
test_native_tail_and_thinking(void **state)
{
    (void)state;
    const char *stop = strstr(anthropic_stream, "event: message_stop");
    assert_non_null(stop);
    struct fake_step *st = fake_push(200, SSE, anthropic_stream);
    st->len = (size_t)(stop - anthropic_stream);
    serve("{'model':'ant','max_tokens':100,'stream':true,'messages':["
          "{'role':'user','content':'Hi'},{'role':'assistant','content':["
          "{'type':'thinking','thinking':'other','signature':''},"
          "{'type':'thinking','thinking':'mine','signature':'sig-1'},"
          "{'type':'text','text':'Hello.'}]},{'role':'user','content':"
          "'Again'}]}");
    expect_status(200);
    assert_non_null(strstr(body, "event: error"));
    assert_null(strstr(body, "event: message_delta"));
    assert_null(strstr(body, "event: message_stop"));
    assert_null(strstr(fake_seen[0].body, "\"other\""));
    assert_non_null(strstr(fake_seen[0].body, "\"sig-1\""));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* An Anthropic client tool: only an Anthropic deployment can take the
 * request, even one ranked after an OpenAI one, and it gets the tool as
 * the caller sent it; a group without one refuses it (400, Anthropic's
 * shape, the tool named), and nothing is sent. */
static void
test_client_tool_native_only(void **state)
{
    (void)state;
#define EDITOR                                             \
    "{'type':'text_editor_20250728','name':"               \
    "'str_replace_based_edit_tool','max_characters':5000," \
    "'cache_control':{'type':'ephemeral'}}"
    fake_push(200, JSON, anthropic_reply);
    serve("{'model':'mixo','max_tokens':100,'tools':[" EDITOR "]," MSGS "}");
    expect_status(200);
    assert_int_equal(fake_at, 1);
    assert_string_equal(fake_seen[0].url, "http://a.test/v1/messages");
    assert_string_equal(hdr("x-switchyard-deployment"), "da");
    const char *route = hdr("x-switchyard-route");
    assert_non_null(route);
    if (strstr(route, "anthropic") == NULL)
        fail_msg("the route does not say why 'do' was left out: %s", route);
    struct json_object *up = json_tokener_parse(fake_seen[0].body);
    assert_non_null(up);
    struct json_object *want = json_tokener_parse(
        "{\"type\":\"text_editor_20250728\",\"name\":"
        "\"str_replace_based_edit_tool\",\"max_characters\":5000,"
        "\"cache_control\":{\"type\":\"ephemeral\"}}");
    assert_int_equal(json_object_array_length(jget(up, "tools")), 1);
    assert_true(json_object_equal(
        json_object_array_get_idx(jget(up, "tools"), 0), want));
    json_object_put(want);
    json_object_put(up);
    assert_string_equal(body, anthropic_reply);

    serve("{'model':'oai','max_tokens':100,'tools':[" EDITOR "]," MSGS "}");
    expect_status(400);
    expect_anthropic_error("invalid_request_error");
    const char *msg =
        json_object_get_string(jget(jget(doc, "error"), "message"));
    if (strstr(msg, "'text_editor_20250728'") == NULL ||
        strstr(msg, "type 'anthropic'") == NULL || strstr(msg, "do (") == NULL)
        fail_msg("the refusal does not explain itself: %s", msg);
    assert_int_equal(fake_at, 1); /* nothing more was sent */
#undef EDITOR
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_translated_reply),
        T(test_translated_stream),
        T(test_native_reply),
        T(test_native_stream),
        T(test_failover_across_dialects),
        T(test_errors),
        T(test_midstream_error),
        T(test_count_tokens),
        T(test_clamp_max_tokens),
        T(test_native_early_overload),
        T(test_native_tail_and_thinking),
        T(test_client_tool_native_only),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
