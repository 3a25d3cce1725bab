/*
 * test_embed_adapters.c - the embeddings slots of the adapters
 * (adapters/openai_embed.c, adapters/gemini_embed.c): the provider
 * request each builds (URL, key header, body: floats always asked for,
 * dimensions and user where the type takes them, one Gemini request per
 * input, token arrays refused by Gemini) and the replies each reads
 * (vectors put in input order by index, usage, error objects, broken
 * replies as protocol failures).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/adapter.h"
#include "api/chat.h"
#include "api/embed.h"
#include "base/buf.h"
#include "base/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

static struct sy_arena arena;
static struct sy_embed_req req;
static struct sy_chat_req chat;
static struct sy_target target;
static struct sy_adapter_call call;
static struct sy_failure fail;
static struct sy_http_out out;
static struct sy_buf body;
static const struct sy_adapter *ad;

static int
setup(void **state)
{
    (void)state;
    sy_arena_init(&arena, 0);
    sy_buf_init(&body, 1u << 20);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sy_buf_free(&body);
    sy_arena_cleanup(&arena);
    return 0;
}

/* An adapter call of provider type 'type' to 'model', with the caller's
 * body 'text' (' stands for "). */
static void
start(const char *type, const char *model, const char *text)
{
    char *b = sy_arena_strdup(&arena, text);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct sy_chat_error perr;
    assert_int_equal(sy_embed_req_parse(b, strlen(b), 64, &arena, &req, &perr),
                     SY_OK);
    ad = sy_adapter_find(type);
    assert_non_null(ad);
    assert_non_null(ad->build_embed);
    assert_non_null(ad->parse_embed);
    assert_true(ad->caps & SY_CAP_EMBED);
    memset(&target, 0, sizeof(target));
    target.model = model;
    target.base_url = "http://p.test/v1";
    target.provider_type = type;
    memset(&chat, 0, sizeof(chat));
    memset(&call, 0, sizeof(call));
    memset(&fail, 0, sizeof(fail));
    call.req = &chat;
    call.target = &target;
    call.api_key = "sk-test";
    call.arena = &arena;
    call.ctx = ad->ctx_size ? sy_arena_zalloc(&arena, ad->ctx_size) : NULL;
    call.fail = &fail;
    memset(&out, 0, sizeof(out));
    sy_buf_clear(&body);
    out.body = &body;
}

static bool
has_header(const char *line)
{
    for (size_t i = 0; i < out.nheaders; i++)
        if (strcmp(out.headers[i], line) == 0)
            return true;
    return false;
}

/* 'text' (' for ") as compact JSON, for comparing bodies. */
static void
expect_body(const char *text)
{
    char *b = sy_arena_strdup(&arena, text);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    assert_string_equal(sy_buf_cstr(&body), b);
}

static void
test_openai_build(void **state)
{
    (void)state;
    start("openai", "text-embedding-3-small",
          "{'model':'grp','input':['a','b'],'dimensions':8,"
          "'encoding_format':'base64','user':'u1'}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_OK);
    assert_string_equal(out.method, "POST");
    assert_string_equal(out.url, "http://p.test/v1/embeddings");
    assert_true(has_header("Authorization: Bearer sk-test"));
    assert_true(has_header("Content-Type: application/json"));
    /* Floats always: the gateway encodes base64 itself. */
    expect_body("{'model':'text-embedding-3-small','input':['a','b'],"
                "'dimensions':8,'encoding_format':'float','user':'u1'}");

    start("openai", "text-embedding-3-small", "{'model':'g','input':[[1,2]]}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_OK);
    expect_body("{'model':'text-embedding-3-small','input':[[1,2]],"
                "'encoding_format':'float'}");

    /* Mistral: output_dimension, and no "user". */
    start("mistral", "mistral-embed",
          "{'model':'g','input':'a','dimensions':4,'user':'u'}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_OK);
    expect_body("{'model':'mistral-embed','input':'a','output_dimension':4,"
                "'encoding_format':'float'}");
}

static void
test_openai_parse(void **state)
{
    (void)state;
    start("openai", "text-embedding-3-small",
          "{'model':'g','input':['a','b']}");
    static const char reply[] =
        "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":1,"
        "\"embedding\":[0.5,1]},{\"object\":\"embedding\",\"index\":0,"
        "\"embedding\":[-0.5,2]}],\"model\":\"text-embedding-3-small\","
        "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}";
    struct sy_embed_resp resp;
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(ad->parse_embed(&call, reply, strlen(reply), &resp, &fail),
                     SY_OK);
    assert_int_equal(resp.n, 2);
    assert_true(resp.vec[0].v[0] == -0.5 && resp.vec[1].v[0] == 0.5);
    assert_int_equal(resp.vec[1].dim, 2);
    assert_string_equal(resp.model, "text-embedding-3-small");
    assert_true(resp.usage.present);
    assert_int_equal(resp.usage.prompt_tokens, 5);
    assert_int_equal(resp.usage.total_tokens, 5);
    assert_null(sy_embed_resp_check(&req, &resp));

    static const char *const broken[] = {
        "not json",
        "{\"data\":[]}",
        "{\"object\":\"list\"}",
        "{\"data\":[{\"index\":0,\"embedding\":\"AAAA\"}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,"
        "\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":5,\"embedding\":[1]}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(broken); i++) {
        memset(&resp, 0, sizeof(resp));
        memset(&fail, 0, sizeof(fail));
        enum sy_err e =
            ad->parse_embed(&call, broken[i], strlen(broken[i]), &resp, &fail);
        if (e != SY_EUP_PROTO || fail.err != SY_EUP_PROTO)
            fail_msg("%s: %s", broken[i], sy_err_name(e));
    }
    /* A 200 with an error object is the provider's failure. */
    static const char err200[] =
        "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}";
    memset(&fail, 0, sizeof(fail));
    assert_int_equal(
        ad->parse_embed(&call, err200, strlen(err200), &resp, &fail),
        SY_EUP_5XX);
}

static void
test_gemini_build(void **state)
{
    (void)state;
    start("gemini", "models/gemini-embedding-001",
          "{'model':'grp','input':['a','b'],'dimensions':16,"
          "'encoding_format':'base64','user':'u'}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_OK);
    assert_string_equal(out.url, "http://p.test/v1/models/gemini-embedding-001:"
                                 "batchEmbedContents");
    assert_true(has_header("x-goog-api-key: sk-test"));
    expect_body("{'requests':[{'model':'models/gemini-embedding-001',"
                "'content':{'parts':[{'text':'a'}]},"
                "'outputDimensionality':16},{'model':"
                "'models/gemini-embedding-001','content':{'parts':[{'text':"
                "'b'}]},'outputDimensionality':16}]}");

    start("gemini", "text-embedding-004", "{'model':'grp','input':'only'}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_OK);
    expect_body("{'requests':[{'model':'models/text-embedding-004',"
                "'content':{'parts':[{'text':'only'}]}}]}");

    /* Token arrays: Gemini takes text only. */
    start("gemini", "gemini-embedding-001", "{'model':'grp','input':[1,2]}");
    assert_int_equal(ad->build_embed(&call, &req, &out), SY_EBADREQ);
    assert_int_equal(fail.err, SY_EBADREQ);
    assert_int_equal(fail.status, 400);
    assert_string_equal(fail.param, "input");
    assert_non_null(strstr(fail.message, "token arrays"));
}

static void
test_gemini_parse(void **state)
{
    (void)state;
    start("gemini", "gemini-embedding-001", "{'model':'g','input':['a','b']}");
    static const char reply[] = "{\"embeddings\":[{\"values\":[0.25,-1]},"
                                "{\"values\":[3,4,5]}]}";
    struct sy_embed_resp resp;
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(ad->parse_embed(&call, reply, strlen(reply), &resp, &fail),
                     SY_OK);
    assert_int_equal(resp.n, 2);
    assert_true(resp.vec[0].v[0] == 0.25 && resp.vec[1].v[2] == 5);
    assert_false(resp.usage.present); /* Gemini reports none */
    assert_null(resp.model);
    static const char *const broken[] = {
        "[]",
        "{\"embeddings\":[]}",
        "{\"embeddings\":[{\"values\":[]}]}",
        "{\"embeddings\":[{\"value\":[1]}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(broken); i++) {
        memset(&resp, 0, sizeof(resp));
        memset(&fail, 0, sizeof(fail));
        if (ad->parse_embed(&call, broken[i], strlen(broken[i]), &resp,
                            &fail) != SY_EUP_PROTO)
            fail_msg("accepted: %s", broken[i]);
    }
}

/* Adapters without an embeddings API leave both slots empty. */
static void
test_no_slots(void **state)
{
    (void)state;
    const struct sy_adapter *a = sy_adapter_find("anthropic");
    assert_non_null(a);
    assert_null(a->build_embed);
    assert_null(a->parse_embed);
    assert_false(a->caps & SY_CAP_EMBED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_openai_build), T(test_openai_parse), T(test_gemini_build),
        T(test_gemini_parse), T(test_no_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
