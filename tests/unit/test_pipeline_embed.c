/*
 * test_pipeline_embed.c - POST /v1/embeddings through the whole pipeline
 * with a fake upstream (pipeline_fixture.h): an OpenAI deployment's
 * reply as floats and as base64, failover to a Gemini deployment (its
 * usage estimated and marked), deployments that serve no embeddings
 * excluded (a 400 naming them when none is left, no provider called),
 * chat never sent to an embeddings model, Gemini's refusal of token
 * arrays, a provider's caller error passed on, and the usage log lines
 * with their costs.
 * SPDX-License-Identifier: MIT
 */
#include "pipeline_fixture.h"
#include "state/inflight.h"
#include "state/state.h"

#define TIMEOUTS                                                         \
    "'timeouts':{'connect_ms':2000,'first_byte_ms':5000,'idle_ms':5000," \
    "'total_ms':5000}"

static const char config_text[] =
    "{'providers':{"
    "'po':{'type':'openai','base_url':'http://o.test/v1','auth':'none'},"
    "'pg':{'type':'gemini','base_url':'http://g.test/v1beta',"
    "'auth':'none'}},"
    "'deployments':{"
    "'e1':{'provider':'po','model':'text-embedding-3-small',"
    "'price':{'input_per_mtok':1}," TIMEOUTS "},"
    "'e2':{'provider':'pg','model':'gemini-embedding-001',"
    "'price':{'input_per_mtok':2}," TIMEOUTS "},"
    "'chatdep':{'provider':'po','model':'gpt-x','price':{'input_per_mtok':"
    "10,'output_per_mtok':30}," TIMEOUTS "}},"
    "'groups':{"
    "'emb':{'deployments':['e1','e2'],'strategy':'priority',"
    "'aliases':['text-embedding-*']},"
    "'gem':{'deployments':['e2']},"
    "'chatonly':{'deployments':['chatdep']},"
    "'mixed':{'deployments':['e1','chatdep'],'strategy':'priority'}}}";

#define JSON "application/json"

static struct sy_config *cfg;

/* An OpenAI embeddings reply: two vectors (out of order), usage 5. */
static const char openai_reply[] =
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":1,"
    "\"embedding\":[0.5,-0.25]},{\"object\":\"embedding\",\"index\":0,"
    "\"embedding\":[1,-2]}],\"model\":\"text-embedding-3-small\","
    "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}";

static const char gemini_reply[] =
    "{\"embeddings\":[{\"values\":[1,-2,0.5]},{\"values\":[0,0,1]}]}";

/* A chat completion stream (what a non-streaming chat caller is served
 * from). */
static const char chat_stream[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
    "\"completion_tokens\":1,\"total_tokens\":10}}\n\n"
    "data: [DONE]\n\n";

static int
setup(void **state)
{
    (void)state;
    worker_start(cfg);
    req_path = "/v1/embeddings";
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    req_path = "/v1/chat/completions";
    worker_stop();
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

static void
expect_status(int want)
{
    if (status != want)
        fail_msg("status %d, expected %d: %s", status, want,
                 body ? body : "(none)");
}

/* Value 'k' of embedding 'i' of the reply. */
static double
value(size_t i, size_t k)
{
    struct json_object *e =
        jget(json_object_array_get_idx(jget(doc, "data"), i), "embedding");
    assert_true(json_object_is_type(e, json_type_array));
    return json_object_get_double(json_object_array_get_idx(e, k));
}

/* The whole usage log as text (before read_log empties it). */
static const char *
log_text(void)
{
    FILE *fp = fopen(logpath, "r");
    assert_non_null(fp);
    static char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

static void
test_openai_float(void **state)
{
    (void)state;
    fake_push(200, JSON, openai_reply);
    serve("{'model':'text-embedding-3-large','input':['hello','world'],"
          "'dimensions':2,'user':'u'}");
    expect_status(200);
    assert_int_equal(fake_at, 1);
    assert_string_equal(fake_seen[0].url, "http://o.test/v1/embeddings");
    assert_false(fake_seen[0].streamed);
    assert_string_equal(fake_seen[0].body,
                        "{\"model\":\"text-embedding-3-small\",\"input\":["
                        "\"hello\",\"world\"],\"dimensions\":2,"
                        "\"encoding_format\":\"float\",\"user\":\"u\"}");
    assert_string_equal(json_object_get_string(jget(doc, "object")), "list");
    assert_int_equal(json_object_array_length(jget(doc, "data")), 2);
    assert_true(value(0, 0) == 1 && value(0, 1) == -2);
    assert_true(value(1, 0) == 0.5 && value(1, 1) == -0.25);
    assert_string_equal(json_object_get_string(jget(doc, "model")),
                        "text-embedding-3-small");
    struct json_object *u = jget(doc, "usage");
    assert_int_equal(json_object_get_int(jget(u, "prompt_tokens")), 5);
    assert_int_equal(json_object_get_int(jget(u, "total_tokens")), 5);
    assert_string_equal(hdr("x-switchyard-deployment"), "e1");
    assert_string_equal(hdr("x-switchyard-attempts"), "1");
    assert_string_equal(hdr("x-switchyard-cost-usd"), "0.000005");
    assert_null(hdr("x-switchyard-estimate"));
    assert_non_null(hdr("x-switchyard-route"));
    assert_non_null(strstr(log_text(), "\"surface\":\"embeddings\""));
    read_log();
    assert_int_equal(nlines, 1);
    expect_line(0, 1, "e1", "ok", 0);
    assert_int_equal(lines[0].prompt, 5);
    assert_int_equal(lines[0].completion, 0);
    assert_int_equal(lines[0].cost, 5);
    assert_int_equal(lines[0].status, 200);
}

static void
test_openai_base64(void **state)
{
    (void)state;
    fake_push(200, JSON, openai_reply);
    serve("{'model':'emb','input':['a','b'],'encoding_format':'base64'}");
    expect_status(200);
    /* Floats were asked upstream; the gateway encoded. */
    assert_non_null(strstr(fake_seen[0].body, "\"encoding_format\":\"float\""));
    struct json_object *d = jget(doc, "data");
    /* 1.0f, -2.0f little-endian; 0.5f, -0.25f */
    assert_string_equal(json_object_get_string(
                            jget(json_object_array_get_idx(d, 0), "embedding")),
                        "AACAPwAAAMA=");
    assert_string_equal(json_object_get_string(
                            jget(json_object_array_get_idx(d, 1), "embedding")),
                        "AAAAPwAAgL4=");
}

/* The OpenAI deployment fails; the Gemini one answers (one request per
 * input, no usage: the estimate is billed and marked). */
static void
test_failover(void **state)
{
    (void)state;
    fake_push(500, JSON,
              "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    fake_push(200, JSON, gemini_reply);
    serve("{'model':'emb','input':['hello world!','x']}");
    expect_status(200);
    assert_int_equal(fake_at, 2);
    assert_string_equal(fake_seen[1].url,
                        "http://g.test/v1beta/models/gemini-embedding-001:"
                        "batchEmbedContents");
    assert_non_null(
        strstr(fake_seen[1].body, "\"parts\":[{\"text\":\"hello world!\"}]"));
    assert_string_equal(hdr("x-switchyard-deployment"), "e2");
    assert_string_equal(hdr("x-switchyard-attempts"), "2");
    assert_string_equal(hdr("x-switchyard-estimate"), "true");
    /* 12 bytes / 4 + 1 (at least one a string) = 4 tokens at $2/Mtok. */
    assert_string_equal(hdr("x-switchyard-cost-usd"), "0.000008");
    assert_string_equal(json_object_get_string(jget(doc, "model")),
                        "gemini-embedding-001");
    assert_int_equal(
        json_object_get_int(jget(jget(doc, "usage"), "prompt_tokens")), 4);
    assert_true(value(1, 2) == 1);
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "e1", "SY_EUP_5XX", 0);
    expect_line(1, 2, "e2", "ok", 1);
    assert_int_equal(lines[0].cost, 0);
    assert_int_equal(lines[1].prompt, 4);
    assert_int_equal(lines[1].cost, 8);
}

/* The in-flight count of each deployment during a call, as the latency
 * strategy reads it (struct sy_dep_view.inflight). */
static unsigned seen_inflight[FAKE_MAX][2];

static enum sy_err
counting_perform(struct sy_upstream *u, struct sy_upstream_call *uc)
{
    struct sy_dep_view v[8];
    assert_true(cfg->ndeployments <= 8);
    sy_state_views(worker.state, v);
    seen_inflight[fake_at][0] = v[0].inflight;
    seen_inflight[fake_at][1] = v[1].inflight;
    return fake_perform(u, uc);
}

/* An embeddings call counts in flight on its deployment, as a chat
 * attempt does (the latency strategy's two choices spread by it), and
 * only while it runs: a failed call and a served one both give it back. */
static void
test_counts_in_flight(void **state)
{
    (void)state;
    assert_int_equal(sy_state_start(cfg, NULL, &worker.state), SY_OK);
    worker.perform = counting_perform;
    memset(seen_inflight, 0, sizeof(seen_inflight));
    fake_push(500, JSON,
              "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    fake_push(200, JSON, gemini_reply);
    serve("{'model':'emb','input':['hello world!','x']}");
    expect_status(200);
    assert_int_equal(fake_at, 2);
    assert_string_equal(cfg->deployments[0].name, "e1");
    assert_string_equal(cfg->deployments[1].name, "e2");
    assert_int_equal(seen_inflight[0][0], 1); /* e1 during its call */
    assert_int_equal(seen_inflight[0][1], 0);
    assert_int_equal(seen_inflight[1][0], 0); /* e1 given back */
    assert_int_equal(seen_inflight[1][1], 1); /* e2 during its call */
    struct sy_dep_view v[8];
    sy_state_views(worker.state, v);
    assert_int_equal(v[0].inflight, 0);
    assert_int_equal(v[1].inflight, 0);
    worker.perform = fake_perform;
    sy_state_stop(worker.state);
    worker.state = NULL;
}

/* Streams waiting for a first token on e1 and chatdep during each call
 * (state/inflight.h). */
static unsigned seen_waiting[FAKE_MAX][2];

static enum sy_err
waiting_perform(struct sy_upstream *u, struct sy_upstream_call *uc)
{
    struct sy_inflight *f = sy_state_inflight(worker.state);
    seen_waiting[fake_at][0] = sy_inflight_waiting(f, 0);
    seen_waiting[fake_at][1] = sy_inflight_waiting(f, 2);
    return fake_perform(u, uc);
}

/* Every chat attempt whose provider call streams waits for its first
 * token in a slot, and gives the slot back however it ends: a failure
 * (the wait cancelled), a first token, a reply that came whole; a
 * non-streaming call takes none. */
static void
test_stream_waits_given_back(void **state)
{
    (void)state;
    assert_int_equal(sy_state_start(cfg, NULL, &worker.state), SY_OK);
    struct sy_inflight *f = sy_state_inflight(worker.state);
    worker.perform = waiting_perform;
    req_path = "/v1/chat/completions";
    memset(seen_waiting, 0, sizeof(seen_waiting));
    fake_push(500, JSON,
              "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    fake_push(200, "text/event-stream", chat_stream);
    for (int i = 0; i < 2; i++) {
        serve("{'model':'chatonly','stream':true,'messages':[{'role':"
              "'user','content':'hi'}]}");
        expect_status(i == 0 ? 502 : 200);
        assert_int_equal(seen_waiting[i][1], 1);        /* during the call */
        assert_int_equal(sy_inflight_waiting(f, 2), 0); /* given back */
    }
    assert_string_equal(cfg->deployments[2].name, "chatdep");
    assert_int_equal(seen_waiting[0][0], 0); /* none on e1 */
    /* A non-streaming caller served from a provider stream waits too; a
     * provider that answers it with one JSON reply gives the slot back. */
    fake_push(200, "text/event-stream", chat_stream);
    fake_push(200, JSON,
              "{\"id\":\"c2\",\"object\":\"chat.completion\",\"created\":1,"
              "\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"message\":"
              "{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":"
              "\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
              "\"completion_tokens\":1,\"total_tokens\":10}}");
    for (int i = 0; i < 2; i++) {
        serve("{'model':'chatonly','messages':[{'role':'user',"
              "'content':'hi'}]}");
        expect_status(200);
        assert_int_equal(seen_waiting[2 + i][1], 1); /* asked to stream */
        assert_int_equal(sy_inflight_waiting(f, 2), 0);
    }
    assert_int_equal(sy_inflight_count(f, 0), 0);
    assert_int_equal(sy_inflight_count(f, 2), 0);
    assert_int_equal(sy_inflight_started(f, 2), 4);
    worker.perform = fake_perform;
    req_path = "/v1/embeddings";
    sy_state_stop(worker.state);
    worker.state = NULL;
}

/* A reply with fewer vectors than inputs is the provider's failure: the
 * next deployment serves the request. */
static void
test_short_reply_fails_over(void **state)
{
    (void)state;
    fake_push(200, JSON,
              "{\"object\":\"list\",\"data\":[{\"index\":0,\"embedding\":"
              "[1]}],\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}");
    fake_push(200, JSON, gemini_reply);
    serve("{'model':'emb','input':['a','b']}");
    expect_status(200);
    assert_string_equal(hdr("x-switchyard-deployment"), "e2");
    read_log();
    assert_int_equal(nlines, 2);
    expect_line(0, 1, "e1", "SY_EUP_PROTO", 0);
    assert_int_equal(lines[0].prompt, 2); /* reported: paid */
    assert_int_equal(lines[0].cost, 2);
}

/* No deployment of the group serves embeddings: a 400 naming each, and
 * no provider called. */
static void
test_refuses_chat_models(void **state)
{
    (void)state;
    serve("{'model':'chatonly','input':'x'}");
    expect_status(400);
    assert_int_equal(fake_at, 0);
    const char *m = json_object_get_string(jget(jget(doc, "error"), "message"));
    assert_non_null(strstr(m, "serves embeddings"));
    assert_non_null(strstr(m, "chatdep (not an embeddings model)"));
    assert_string_equal(
        json_object_get_string(jget(jget(doc, "error"), "code")),
        "no_capable_deployment");
    read_log();
    assert_int_equal(nlines, 0);

    /* In a mixed group, embeddings go to the embeddings model only ... */
    fake_push(200, JSON, openai_reply);
    serve("{'model':'mixed','input':['a','b']}");
    expect_status(200);
    assert_string_equal(hdr("x-switchyard-deployment"), "e1");

    /* ... and chat never does, though it comes first. */
    req_path = "/v1/chat/completions";
    fake_push(200, "text/event-stream", chat_stream);
    serve("{'model':'mixed','messages':[{'role':'user','content':'hi'}]}");
    expect_status(200);
    assert_string_equal(hdr("x-switchyard-deployment"), "chatdep");
    assert_string_equal(fake_seen[1].url, "http://o.test/v1/chat/completions");
    assert_non_null(strstr(hdr("x-switchyard-route"), "e1"));
}

/* Gemini takes no token arrays: refused before anything is sent. */
static void
test_gemini_tokens(void **state)
{
    (void)state;
    serve("{'model':'gem','input':[[1,2,3]]}");
    expect_status(400);
    assert_int_equal(fake_at, 0);
    assert_non_null(
        strstr(json_object_get_string(jget(jget(doc, "error"), "message")),
               "token arrays"));
    read_log();
    assert_int_equal(nlines, 0);
}

/* A provider's caller error is the caller's answer: no failover. */
static void
test_provider_caller_error(void **state)
{
    (void)state;
    fake_push(400, JSON,
              "{\"error\":{\"message\":\"This model does not support "
              "specifying dimensions.\",\"type\":\"invalid_request_error\","
              "\"param\":\"dimensions\",\"code\":null}}");
    serve("{'model':'emb','input':'x','dimensions':3}");
    expect_status(400);
    assert_int_equal(fake_at, 1);
    assert_string_equal(
        json_object_get_string(jget(jget(doc, "error"), "param")),
        "dimensions");
    read_log();
    assert_int_equal(nlines, 1);
}

static void
test_bad_requests(void **state)
{
    (void)state;
    serve("{'model':'emb','input':[]}");
    expect_status(400);
    assert_string_equal(
        json_object_get_string(jget(jget(doc, "error"), "param")), "input");
    serve("{'model':'nope','input':'x'}");
    expect_status(404);
    serve("{'model':'emb','input':'x','encoding_format':'int8'}");
    expect_status(400);
    assert_int_equal(fake_at, 0);
    read_log();
    assert_int_equal(nlines, 0);
}

/* The capability defaults by model name and provider type, and a
 * provider type without embeddings refused in the config. */
static void
test_capabilities(void **state)
{
    (void)state;
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const struct sy_deployment *d = &cfg->deployments[i];
        bool embed = strcmp(d->name, "chatdep") != 0;
        assert_int_equal(d->caps.embeddings, embed);
        assert_int_equal(d->caps.embeddings_only, embed);
    }
    static const char *const bad[] = {
        "{'providers':{'pa':{'type':'anthropic','base_url':'http://a.test',"
        "'auth':'none'}},'deployments':{'d':{'provider':'pa','model':"
        "'claude-x','capabilities':{'embeddings':true}}},'groups':{'g':{"
        "'deployments':['d']}}}",
        "{'providers':{'pd':{'type':'deepseek','base_url':'http://d.test',"
        "'auth':'none'}},'deployments':{'d':{'provider':'pd','model':"
        "'deepseek-embed'}},'groups':{'g':{'deployments':['d']}}}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        char *text = sy_xstrdup(bad[i]);
        for (char *q = text; *q; q++)
            if (*q == '\'')
                *q = '"';
        struct sy_buf errs;
        sy_buf_init(&errs, 1u << 16);
        struct sy_config *c = NULL;
        enum sy_err e =
            sy_config_load_string(text, strlen(text), "test", &c, &errs);
        if (i == 0) {
            assert_int_not_equal(e, SY_OK);
            assert_non_null(strstr(sy_buf_cstr(&errs), "serves no embeddings"));
        } else {
            /* DeepSeek has no embeddings API: the name alone never makes
             * it serve them (but keeps chat away). */
            assert_int_equal(e, SY_OK);
            assert_false(c->deployments[0].caps.embeddings);
            assert_true(c->deployments[0].caps.embeddings_only);
            sy_config_free(c);
        }
        sy_buf_free(&errs);
        free(text);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_openai_float),
        T(test_openai_base64),
        T(test_failover),
        T(test_counts_in_flight),
        T(test_stream_waits_given_back),
        T(test_short_reply_fails_over),
        T(test_refuses_chat_models),
        T(test_gemini_tokens),
        T(test_provider_caller_error),
        T(test_bad_requests),
        T(test_capabilities),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
