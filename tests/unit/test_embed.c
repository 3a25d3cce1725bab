/*
 * test_embed.c - the embeddings request and reply (core/api/embed.c):
 * every input shape parsed and estimated, bounds and bad values refused
 * with the parameter named, the reply written as floats and as base64 of
 * little-endian float32 values, and vectors read from provider JSON.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/embed.h"
#include "base/buf.h"
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

static struct sy_arena arena;
static struct sy_embed_req req;
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

/* Parse 'text' (' stands for "). */
static enum sy_err
parse(const char *text)
{
    char *b = sy_arena_strdup(&arena, text);
    for (char *q = b; *q; q++)
        if (*q == '\'')
            *q = '"';
    return sy_embed_req_parse(b, strlen(b), 64, &arena, &req, &perr);
}

/* 'text' is refused, naming 'param'. */
static void
refused(const char *text, const char *param)
{
    if (parse(text) != SY_EBADREQ)
        fail_msg("accepted: %s", text);
    if (param == NULL) {
        assert_null(perr.param);
        return;
    }
    if (perr.param == NULL || strcmp(perr.param, param) != 0)
        fail_msg("%s: param %s, expected %s (%s)", text,
                 perr.param ? perr.param : "(null)", param, perr.message);
}

static void
test_shapes(void **state)
{
    (void)state;
    assert_int_equal(parse("{'model':'e','input':'hello world!'}"), SY_OK);
    assert_string_equal(req.model, "e");
    assert_int_equal(req.ninputs, 1);
    assert_false(req.tokens);
    assert_int_equal(req.input_tokens, 3);
    assert_string_equal(json_object_get_string(sy_embed_req_input(&req, 0)),
                        "hello world!");

    assert_int_equal(parse("{'model':'e','input':['ab','abcdefgh','x'],"
                           "'dimensions':256,'encoding_format':'base64',"
                           "'user':'u1'}"),
                     SY_OK);
    assert_int_equal(req.ninputs, 3);
    assert_int_equal(req.input_tokens, 1 + 2 + 1); /* at least 1 each */
    assert_int_equal(req.input_bytes, 11);
    assert_int_equal(req.dimensions, 256);
    assert_true(req.base64);
    assert_string_equal(req.user, "u1");
    assert_string_equal(json_object_get_string(sy_embed_req_input(&req, 1)),
                        "abcdefgh");

    /* One token array is one input; its tokens are counted exactly. */
    assert_int_equal(parse("{'model':'e','input':[1,2,3,4,5]}"), SY_OK);
    assert_int_equal(req.ninputs, 1);
    assert_true(req.tokens);
    assert_int_equal(req.input_tokens, 5);
    assert_int_equal(json_object_array_length(sy_embed_req_input(&req, 0)), 5);

    assert_int_equal(parse("{'model':'e','input':[[1,2],[3],[4,5,6]],"
                           "'encoding_format':'float'}"),
                     SY_OK);
    assert_int_equal(req.ninputs, 3);
    assert_true(req.tokens);
    assert_false(req.base64);
    assert_int_equal(req.input_tokens, 6);
    assert_int_equal(json_object_array_length(sy_embed_req_input(&req, 2)), 3);
}

static void
test_refusals(void **state)
{
    (void)state;
    refused("[1]", NULL);
    refused("{'input':'x'}", "model");
    refused("{'model':'','input':'x'}", "model");
    refused("{'model':'e\\u0000x','input':'x'}", "model");
    refused("{'model':'e'}", "input");
    refused("{'model':'e','input':null}", "input");
    refused("{'model':'e','input':''}", "input");
    refused("{'model':'e','input':[]}", "input");
    refused("{'model':'e','input':5}", "input");
    refused("{'model':'e','input':['a','']}", "input[1]");
    refused("{'model':'e','input':['a',[1]]}", "input[1]");
    refused("{'model':'e','input':[[1],'a']}", "input[1]");
    refused("{'model':'e','input':[[1],[]]}", "input[1]");
    refused("{'model':'e','input':[[1],[2,-1]]}", "input[1]");
    refused("{'model':'e','input':[1,2.5]}", "input");
    refused("{'model':'e','input':[1,4294967296]}", "input");
    refused("{'model':'e','input':[{'text':'a'}]}", "input[0]");
    refused("{'model':'e','input':'a','dimensions':0}", "dimensions");
    refused("{'model':'e','input':'a','dimensions':'8'}", "dimensions");
    refused("{'model':'e','input':'a','dimensions':16385}", "dimensions");
    refused("{'model':'e','input':'a','encoding_format':'int8'}",
            "encoding_format");
    refused("{'model':'e','input':'a','user':7}", "user");
    refused("{'model':'e','input':'a','task_type':'x'}", "task_type");
}

/* The count bounds are checked before anything is built for them. */
static void
test_bounds(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 1u << 22);
    sy_buf_puts(&b, "{\"model\":\"e\",\"input\":[");
    for (int i = 0; i < SY_EMBED_MAX_INPUTS; i++)
        sy_buf_puts(&b, i ? ",\"x\"" : "\"x\"");
    sy_buf_puts(&b, "]}");
    assert_int_equal(
        sy_embed_req_parse(sy_buf_cstr(&b), b.len, 64, &arena, &req, &perr),
        SY_OK);
    assert_int_equal(req.ninputs, SY_EMBED_MAX_INPUTS);
    sy_buf_clear(&b);
    sy_buf_puts(&b, "{\"model\":\"e\",\"input\":[");
    for (int i = 0; i <= SY_EMBED_MAX_INPUTS; i++)
        sy_buf_puts(&b, i ? ",\"x\"" : "\"x\"");
    sy_buf_puts(&b, "]}");
    assert_int_equal(
        sy_embed_req_parse(sy_buf_cstr(&b), b.len, 64, &arena, &req, &perr),
        SY_EBADREQ);
    assert_string_equal(perr.param, "input");
    sy_buf_clear(&b);
    sy_buf_puts(&b, "{\"model\":\"e\",\"input\":[");
    for (int i = 0; i <= SY_EMBED_MAX_INPUT_TOKENS; i++)
        sy_buf_puts(&b, i ? ",7" : "7");
    sy_buf_puts(&b, "]}");
    assert_int_equal(
        sy_embed_req_parse(sy_buf_cstr(&b), b.len, 64, &arena, &req, &perr),
        SY_EBADREQ);
    assert_string_equal(perr.param, "input");
    sy_buf_free(&b);
}

/* A response of 'n' vectors of 'dim' values: v[i][k] = vals[k] + i. */
static void
make_resp(struct sy_embed_resp *r, size_t n, size_t dim, const double *vals)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->vec = sy_arena_zalloc(&arena, n * sizeof(*r->vec));
    for (size_t i = 0; i < n; i++) {
        double *v = sy_arena_alloc(&arena, dim * sizeof(*v));
        for (size_t k = 0; k < dim; k++)
            v[k] = vals[k] + (double)i;
        r->vec[i].v = v;
        r->vec[i].dim = dim;
    }
}

static void
test_reply_float(void **state)
{
    (void)state;
    static const double vals[] = { 0.5, -0.25, 0.0123456789012 };
    assert_int_equal(parse("{'model':'grp','input':['a','b']}"), SY_OK);
    struct sy_embed_resp resp;
    make_resp(&resp, 2, 3, vals);
    assert_null(sy_embed_resp_check(&req, &resp));
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 7,
                          .total_tokens = 7 };
    struct sy_buf out;
    sy_buf_init(&out, 1u << 20);
    assert_int_equal(sy_embed_reply(&req, &resp, "m\"x", &u, &out), SY_OK);
    assert_string_equal(
        sy_buf_cstr(&out),
        "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
        "\"embedding\":[0.5,-0.25,0.0123456789]},{\"object\":\"embedding\","
        "\"index\":1,\"embedding\":[1.5,0.75,1.012345679]}],\"model\":"
        "\"m\\\"x\",\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}");
    /* A buffer too small fails whole (sticky), never a cut document. */
    struct sy_buf small;
    sy_buf_init(&small, 64);
    assert_int_equal(sy_embed_reply(&req, &resp, "m", &u, &small), SY_ETOOBIG);
    assert_true(sy_buf_failed(&small));
    sy_buf_free(&small);
    sy_buf_free(&out);
}

static void
test_reply_base64(void **state)
{
    (void)state;
    /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0, 0.5f = 00 00 00 3f */
    static const double vals[] = { 1.0, -2.0, 0.5 };
    assert_int_equal(parse("{'model':'grp','input':'a',"
                           "'encoding_format':'base64'}"),
                     SY_OK);
    struct sy_embed_resp resp;
    make_resp(&resp, 1, 3, vals);
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 1,
                          .total_tokens = 1 };
    struct sy_buf out;
    sy_buf_init(&out, 1u << 20);
    assert_int_equal(sy_embed_reply(&req, &resp, "m", &u, &out), SY_OK);
    assert_string_equal(
        sy_buf_cstr(&out),
        "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
        "\"embedding\":\"AACAPwAAAMAAAAA/\"}],\"model\":\"m\",\"usage\":"
        "{\"prompt_tokens\":1,\"total_tokens\":1}}");
    sy_buf_free(&out);
}

static void
test_vec_from_json(void **state)
{
    (void)state;
    struct sy_embed_vec v;
    struct json_object *o = json_tokener_parse("[1, -0.5, 2e-3]");
    assert_true(sy_embed_vec_from_json(o, &arena, &v));
    assert_int_equal(v.dim, 3);
    assert_true(v.v[0] == 1.0 && v.v[1] == -0.5 && v.v[2] == 2e-3);
    json_object_put(o);
    static const char *const bad[] = { "[]", "[1,\"2\"]", "[1,null]",
                                       "{\"a\":1}", "\"AACAPw==\"" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        o = json_tokener_parse(bad[i]);
        if (sy_embed_vec_from_json(o, &arena, &v))
            fail_msg("read as a vector: %s", bad[i]);
        json_object_put(o);
    }
    assert_false(sy_embed_vec_from_json(NULL, &arena, &v));
    /* Longer than the bound. */
    o = json_object_new_array();
    for (int i = 0; i <= SY_EMBED_MAX_DIMENSIONS; i++)
        json_object_array_add(o, json_object_new_double(0.1));
    assert_false(sy_embed_vec_from_json(o, &arena, &v));
    json_object_put(o);
}

static void
test_resp_check(void **state)
{
    (void)state;
    static const double vals[] = { 0.1 };
    assert_int_equal(parse("{'model':'grp','input':['a','b']}"), SY_OK);
    struct sy_embed_resp resp;
    make_resp(&resp, 1, 1, vals);
    assert_non_null(sy_embed_resp_check(&req, &resp));
    make_resp(&resp, 2, 1, vals);
    resp.vec[1].v = NULL;
    assert_non_null(sy_embed_resp_check(&req, &resp));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_shapes),      T(test_refusals),     T(test_bounds),
        T(test_reply_float), T(test_reply_base64), T(test_vec_from_json),
        T(test_resp_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
