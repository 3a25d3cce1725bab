/*
 * embed.c - OpenAI's embeddings request, parsed and checked into struct
 * sy_embed_req, and its reply written from the canonical struct
 * sy_embed_resp (see embed.h). The body goes through the one strict
 * parser (sy_chat_body_parse); every count and size is checked on the
 * tree before anything is allocated for it. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "embed.h"
#include "base/base64.h"
#include "base/json_strict.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static enum sy_err SY_PRINTF(3, 4)
    bad(struct sy_chat_error *err, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->param = param;
    return SY_EBADREQ;
}

/* Is 'v' a token id (a non-negative integer that fits 32 bits)? */
static bool
is_token(struct json_object *v)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t t = json_object_get_int64(v);
    return t >= 0 && t <= INT32_MAX;
}

/* Check token array 'arr' (input 'i', or the whole input when 'i' < 0)
 * and add its length to the estimate. */
static enum sy_err
check_tokens(struct json_object *arr, long i, struct sy_arena *a,
             struct sy_embed_req *out, struct sy_chat_error *err)
{
    const char *param = i < 0 ? "input" : sy_arena_printf(a, "input[%ld]", i);
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return bad(err, param, "%s: a token array may not be empty", param);
    if (n > SY_EMBED_MAX_INPUT_TOKENS)
        return bad(err, param, "%s: at most %d tokens per input", param,
                   SY_EMBED_MAX_INPUT_TOKENS);
    for (size_t k = 0; k < n; k++)
        if (!is_token(json_object_array_get_idx(arr, k)))
            return bad(err, param,
                       "%s[%zu]: a token must be an integer from 0 "
                       "to 2147483647",
                       param, k);
    out->input_tokens += n;
    return SY_OK;
}

/* Check string input 'v' (input 'i', or the whole input when 'i' < 0)
 * and add its estimate: a token per 4 bytes, at least 1. */
static enum sy_err
check_text(struct json_object *v, long i, struct sy_arena *a,
           struct sy_embed_req *out, struct sy_chat_error *err)
{
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0) {
        const char *param =
            i < 0 ? "input" : sy_arena_printf(a, "input[%ld]", i);
        return bad(err, param, "%s: an input may not be an empty string",
                   param);
    }
    out->input_bytes += len;
    out->input_tokens += SY_MAX(len / 4, (size_t)1);
    return SY_OK;
}

/* "input": a string, an array of strings, an array of integers (one
 * token array) or an array of token arrays; never mixed, never empty. */
static enum sy_err
check_input(struct json_object *in, struct sy_arena *a,
            struct sy_embed_req *out, struct sy_chat_error *err)
{
    if (json_object_is_type(in, json_type_string)) {
        out->ninputs = 1;
        return check_text(in, -1, a, out, err);
    }
    if (!json_object_is_type(in, json_type_array))
        return bad(err, "input",
                   "input: a string, an array of strings, an array of "
                   "tokens or an array of token arrays is required");
    size_t n = json_object_array_length(in);
    if (n == 0)
        return bad(err, "input", "input: the array may not be empty");
    struct json_object *first = json_object_array_get_idx(in, 0);
    if (json_object_is_type(first, json_type_int)) {
        out->ninputs = 1;
        out->tokens = true;
        return check_tokens(in, -1, a, out, err);
    }
    if (n > SY_EMBED_MAX_INPUTS)
        return bad(err, "input", "input: at most %d inputs per request",
                   SY_EMBED_MAX_INPUTS);
    json_type kind = json_object_get_type(first);
    if (kind != json_type_string && kind != json_type_array)
        return bad(err, "input[0]",
                   "input[0]: a string, a token or a token array is "
                   "required");
    out->ninputs = n;
    out->tokens = kind == json_type_array;
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(in, i);
        if (!json_object_is_type(v, kind))
            return bad(err, sy_arena_printf(a, "input[%zu]", i),
                       "input[%zu]: every input must be a %s, like the "
                       "first",
                       i, out->tokens ? "token array" : "string");
        enum sy_err e = out->tokens ? check_tokens(v, (long)i, a, out, err)
                                    : check_text(v, (long)i, a, out, err);
        if (e != SY_OK)
            return e;
    }
    return SY_OK;
}

/* The optional parameters; anything else is refused by name, as the
 * OpenAI API does (nothing unknown reaches a provider). */
static enum sy_err
check_options(struct json_object *root, struct sy_embed_req *out,
              struct sy_chat_error *err)
{
    json_object_object_foreach(root, key, v)
    {
        if (strcmp(key, "model") == 0 || strcmp(key, "input") == 0)
            continue;
        if (strcmp(key, "dimensions") == 0) {
            int64_t d = json_object_is_type(v, json_type_int)
                            ? json_object_get_int64(v)
                            : 0;
            if (d < 1 || d > SY_EMBED_MAX_DIMENSIONS)
                return bad(err, "dimensions",
                           "dimensions: an integer from 1 to %d is "
                           "required",
                           SY_EMBED_MAX_DIMENSIONS);
            out->dimensions = d;
        } else if (strcmp(key, "encoding_format") == 0) {
            const char *f = json_object_is_type(v, json_type_string)
                                ? json_object_get_string(v)
                                : "";
            if (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0)
                return bad(err, "encoding_format",
                           "encoding_format: \"float\" or \"base64\" is "
                           "required");
            out->base64 = f[0] == 'b';
        } else if (strcmp(key, "user") == 0) {
            if (!json_object_is_type(v, json_type_string))
                return bad(err, "user", "user: a string is required");
            out->user = json_object_get_string(v);
        } else {
            return bad(err, key,
                       "unknown parameter '%.64s' (embeddings take model, "
                       "input, dimensions, encoding_format and user)",
                       key);
        }
    }
    return SY_OK;
}

enum sy_err
sy_embed_req_parse(const char *body, size_t len, unsigned max_depth,
                   struct sy_arena *a, struct sy_embed_req *out,
                   struct sy_chat_error *err)
{
    memset(out, 0, sizeof(*out));
    err->param = NULL;
    err->message[0] = '\0';
    struct json_object *root;
    enum sy_err e = sy_chat_body_parse(body, len, max_depth, a, &root, err);
    if (e != SY_OK)
        return e;
    out->root = root;
    struct json_object *v;
    if (!json_object_object_get_ex(root, "model", &v) ||
        !sy_json_whole_string(v) || json_object_get_string_len(v) == 0)
        return bad(err, "model",
                   "model: a non-empty string (without NUL) is required");
    out->model = json_object_get_string(v);
    if (!json_object_object_get_ex(root, "input", &v) || v == NULL)
        return bad(err, "input", "input: required");
    out->input = v;
    e = check_input(v, a, out, err);
    if (e != SY_OK)
        return e;
    return check_options(root, out, err);
}

struct json_object *
sy_embed_req_input(const struct sy_embed_req *r, size_t i)
{
    if (json_object_is_type(r->input, json_type_string) ||
        (r->tokens && r->ninputs == 1 &&
         json_object_is_type(json_object_array_get_idx(r->input, 0),
                             json_type_int)))
        return r->input;
    return json_object_array_get_idx(r->input, i);
}

bool
sy_embed_vec_from_json(struct json_object *arr, struct sy_arena *a,
                       struct sy_embed_vec *out)
{
    if (!json_object_is_type(arr, json_type_array))
        return false;
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > SY_EMBED_MAX_DIMENSIONS)
        return false;
    double *v = sy_arena_alloc(a, n * sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        struct json_object *x = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(x, json_type_double) &&
            !json_object_is_type(x, json_type_int))
            return false;
        v[i] = json_object_get_double(x);
        /* A value float32 cannot hold is no embedding (and converting
         * it for base64 would be undefined). */
        if (!isfinite(v[i]) || fabs(v[i]) > FLT_MAX)
            return false;
    }
    out->v = v;
    out->dim = n;
    return true;
}

const char *
sy_embed_resp_check(const struct sy_embed_req *req,
                    const struct sy_embed_resp *resp)
{
    if (resp->n != req->ninputs)
        return "the provider returned another number of embeddings than "
               "inputs";
    for (size_t i = 0; i < resp->n; i++)
        if (resp->vec[i].v == NULL || resp->vec[i].dim == 0)
            return "the provider left an input without its embedding";
    /* One model gives every input the same length: the one asked for,
     * when the caller asked. */
    for (size_t i = 0; i < resp->n; i++)
        if (resp->vec[i].dim != resp->vec[0].dim ||
            (req->dimensions > 0 &&
             resp->vec[i].dim != (size_t)req->dimensions))
            return "the provider returned embeddings of another length "
                   "than asked";
    return NULL;
}

/* One vector as base64 of its little-endian float32 values (what the
 * OpenAI API sends and its SDKs decode). 'scratch' holds at least
 * 4 x dim + SY_BASE64_LEN(4 x dim) bytes. */
static void
put_base64(const struct sy_embed_vec *vec, unsigned char *scratch,
           struct sy_buf *out)
{
    size_t n = vec->dim * 4;
    for (size_t i = 0; i < vec->dim; i++) {
        float f = (float)vec->v[i];
        uint32_t u;
        memcpy(&u, &f, sizeof(u));
        scratch[4 * i] = (unsigned char)(u & 0xff);
        scratch[4 * i + 1] = (unsigned char)((u >> 8) & 0xff);
        scratch[4 * i + 2] = (unsigned char)((u >> 16) & 0xff);
        scratch[4 * i + 3] = (unsigned char)(u >> 24);
    }
    char *text = (char *)scratch + n;
    size_t len = sy_base64_encode(scratch, n, text);
    sy_buf_puts(out, "\"");
    sy_buf_append(out, text, len);
    sy_buf_puts(out, "\"");
}

/* One vector as a JSON array of numbers: ten significant digits, more
 * than a float32 (what providers compute) holds. */
static void
put_floats(const struct sy_embed_vec *vec, struct sy_buf *out)
{
    sy_buf_puts(out, "[");
    for (size_t i = 0; i < vec->dim && !sy_buf_failed(out); i++)
        sy_buf_printf(out, i ? ",%.10g" : "%.10g", vec->v[i]);
    sy_buf_puts(out, "]");
}

enum sy_err
sy_embed_reply(const struct sy_embed_req *req, const struct sy_embed_resp *resp,
               const char *model, const struct sy_usage *usage,
               struct sy_buf *out)
{
    unsigned char *scratch = NULL;
    if (req->base64) {
        size_t most = 0;
        for (size_t i = 0; i < resp->n; i++)
            most = SY_MAX(most, resp->vec[i].dim);
        scratch = sy_xmalloc(4 * most + SY_BASE64_LEN(4 * most));
    }
    sy_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < resp->n && !sy_buf_failed(out); i++) {
        sy_buf_printf(out,
                      "%s{\"object\":\"embedding\",\"index\":%zu,"
                      "\"embedding\":",
                      i ? "," : "", i);
        if (scratch != NULL)
            put_base64(&resp->vec[i], scratch, out);
        else
            put_floats(&resp->vec[i], out);
        sy_buf_puts(out, "}");
    }
    free(scratch);
    sy_buf_puts(out, "],\"model\":");
    sy_buf_json_str(out, model, strlen(model));
    sy_buf_printf(
        out, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
        (long long)usage->prompt_tokens, (long long)usage->total_tokens);
    return sy_buf_err(out);
}
