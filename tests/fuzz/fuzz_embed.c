/*
 * fuzz_embed.c - libFuzzer target for the embeddings request and reply
 * (core/api/embed.c). The input is a caller's POST /v1/embeddings body,
 * optionally followed by a NUL byte and a provider's vector (a JSON
 * array of numbers): the body goes through sy_embed_req_parse (depth 64,
 * as the default config); when it is taken, one vector per input (the
 * provider's when it reads, else one made of the input's bytes) goes
 * through sy_embed_resp_check and sy_embed_reply, floats or base64 as
 * the caller asked.
 * Checks beyond the sanitizers: refusals are terminated and, when they
 * name a parameter, start with it (or say the parameter is unknown); a
 * taken request has a model, 1 to SY_EMBED_MAX_INPUTS inputs of one
 * kind (non-empty strings, or token arrays of ids 0..INT32_MAX), an
 * estimate of at least a token per input and dimensions in range; the
 * reply is a JSON object with one embedding per input, in order, each
 * of the vector's length (base64 of 4 bytes a value); a reply with an
 * input left out is caught by sy_embed_resp_check.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "api/embed.h"
#include "base/base64.h"

#include <math.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void
die(const char *why, const char *text)
{
    fprintf(stderr, "fuzz_embed: %s: %.300s\n", why, text ? text : "");
    abort();
}

static void
check_refusal(const struct sy_chat_error *err)
{
    if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
        die("an unterminated refusal", NULL);
    if (err->message[0] == '\0')
        die("a refusal without a message", NULL);
    const char *p = err->param;
    if (p != NULL && strncmp(err->message, p, strlen(p)) != 0 &&
        strncmp(err->message, "unknown parameter '", 19) != 0)
        die("a refusal that does not start with its parameter", err->message);
}

/* The invariants of a request sy_embed_req_parse took. */
static void
check_request(const struct sy_embed_req *r, const char *body)
{
    /* (a JSON string may hold \u0000: "non-empty" is its JSON length) */
    struct json_object *m = sy_adapter_get(r->root, "model");
    if (r->model == NULL || !sy_adapter_is(m, json_type_string) ||
        json_object_get_string_len(m) == 0 ||
        r->model != json_object_get_string(m))
        die("a request without a model", body);
    if (r->ninputs < 1 || r->ninputs > SY_EMBED_MAX_INPUTS)
        die("a request with a count of inputs out of range", body);
    if (r->input_tokens < r->ninputs)
        die("an estimate below a token per input", body);
    if (r->dimensions < 0 || r->dimensions > SY_EMBED_MAX_DIMENSIONS)
        die("dimensions out of range", body);
    for (size_t i = 0; i < r->ninputs; i++) {
        struct json_object *in = sy_embed_req_input(r, i);
        if (!r->tokens) {
            if (!json_object_is_type(in, json_type_string) ||
                json_object_get_string_len(in) == 0)
                die("a text input that is not a non-empty string", body);
            continue;
        }
        if (!json_object_is_type(in, json_type_array))
            die("a token input that is not an array", body);
        size_t n = json_object_array_length(in);
        if (n == 0 || n > SY_EMBED_MAX_INPUT_TOKENS)
            die("a token array of a length out of range", body);
        for (size_t k = 0; k < n; k++) {
            struct json_object *t = json_object_array_get_idx(in, k);
            int64_t v = json_object_get_int64(t);
            if (!json_object_is_type(t, json_type_int) || v < 0 ||
                v > INT32_MAX)
                die("a token that is not an id", body);
        }
    }
}

/* A vector of 1..16 values made of the input's bytes: small, large,
 * negative and subnormal values, zero and negative zero included. */
static struct sy_embed_vec
bytes_vector(const uint8_t *data, size_t size, struct sy_arena *a)
{
    size_t dim = 1 + size % 16;
    double *v = sy_arena_alloc(a, dim * sizeof(*v));
    for (size_t i = 0; i < dim; i++) {
        uint8_t b = size ? data[(i * 7) % size] : 0;
        double x = ((double)b - 128.0) / 128.0;
        if (b % 11 == 0)
            x = ldexp(x, (b % 2 ? 1 : -1) * (int)(b % 160));
        else if (b == 1)
            x = -0.0;
        v[i] = x;
    }
    return (struct sy_embed_vec){ v, dim };
}

/* The provider's vector from the text after the NUL, when it is one and
 * 'ninputs' copies of it stay small enough to write. */
static bool
provider_vector(const char *text, size_t n, size_t ninputs, struct sy_arena *a,
                struct sy_embed_vec *out)
{
    struct json_object *o = sy_adapter_json_parse(text, n);
    bool ok = sy_embed_vec_from_json(o, a, out);
    json_object_put(o);
    if (ok && (out->dim < 1 || out->dim > SY_EMBED_MAX_DIMENSIONS))
        die("a vector of a length out of range", text);
    for (size_t i = 0; ok && i < out->dim; i++)
        if (!isfinite(out->v[i]))
            die("a vector with a value that is not finite", text);
    return ok && out->dim * ninputs <= (1u << 18);
}

/* The reply: a JSON object with one embedding per input, in order. */
static void
check_reply(const struct sy_embed_req *r, const struct sy_embed_resp *resp,
            const struct sy_buf *out)
{
    struct json_object *o = sy_adapter_json_parse(out->data, out->len);
    struct json_object *data = sy_adapter_get(o, "data");
    if (!sy_adapter_is(data, json_type_array) ||
        json_object_array_length(data) != resp->n)
        die("a reply without one embedding per input", out->data);
    for (size_t i = 0; i < resp->n; i++) {
        struct json_object *e = json_object_array_get_idx(data, i);
        struct json_object *idx = sy_adapter_get(e, "index");
        struct json_object *v = sy_adapter_get(e, "embedding");
        if (!sy_adapter_is(idx, json_type_int) ||
            json_object_get_int64(idx) != (int64_t)i)
            die("an embedding out of order", out->data);
        size_t dim = resp->vec[i].dim;
        if (r->base64) {
            /* 4 bytes a value, padded base64: 4 characters per 3 bytes */
            if (!sy_adapter_is(v, json_type_string) ||
                (size_t)json_object_get_string_len(v) !=
                    SY_BASE64_LEN(4 * dim) - 1)
                die("a base64 embedding of another length", out->data);
        } else if (!sy_adapter_is(v, json_type_array) ||
                   json_object_array_length(v) != dim) {
            die("a float embedding of another length", out->data);
        }
    }
    json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t blen = nul ? (size_t)(nul - data) : size;
    char *body = fz_cstr(data, blen);
    char *rest = nul ? fz_cstr(nul + 1, size - blen - 1) : NULL;
    size_t rlen = nul ? size - blen - 1 : 0;
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_embed_req req;
    struct sy_chat_error err;
    memset(&err, 0, sizeof(err));
    enum sy_err e = sy_embed_req_parse(body, blen, 64, &a, &req, &err);
    if (e != SY_OK) {
        if (e != SY_EBADREQ && e != SY_ETOOBIG)
            die("a refusal of another kind than a bad or large request", body);
        check_refusal(&err);
        goto done;
    }
    check_request(&req, body);
    struct sy_embed_vec one;
    if (rest == NULL || !provider_vector(rest, rlen, req.ninputs, &a, &one))
        one = bytes_vector(data, size, &a);
    struct sy_embed_resp resp = { 0 };
    resp.n = req.ninputs;
    resp.vec = sy_arena_alloc(&a, resp.n * sizeof(*resp.vec));
    for (size_t i = 0; i < resp.n; i++)
        resp.vec[i] = one;
    if (req.dimensions > 0 && one.dim != (size_t)req.dimensions) {
        /* Vectors of another length than asked are refused; the rest
         * of the checks run on vectors of the asked length. */
        if (sy_embed_resp_check(&req, &resp) == NULL)
            die("vectors of another length than dimensions taken", body);
        size_t dim = (size_t)req.dimensions;
        double *v = sy_arena_alloc(&a, dim * sizeof(*v));
        for (size_t i = 0; i < dim; i++)
            v[i] = i < one.dim ? one.v[i] : 0.0;
        one.v = v;
        one.dim = dim;
        for (size_t i = 0; i < resp.n; i++)
            resp.vec[i] = one;
    }
    if (sy_embed_resp_check(&req, &resp) != NULL)
        die("matching vectors refused", body);
    resp.vec[resp.n - 1].dim = 0;
    if (sy_embed_resp_check(&req, &resp) == NULL)
        die("an input left without its vector taken", body);
    resp.vec[resp.n - 1] = one;
    resp.n--;
    if (sy_embed_resp_check(&req, &resp) == NULL)
        die("one vector fewer than inputs taken", body);
    resp.n++;
    struct sy_usage usage = { .present = true,
                              .prompt_tokens = (int64_t)req.input_tokens,
                              .total_tokens = (int64_t)req.input_tokens };
    struct sy_buf out;
    sy_buf_init(&out, 64u << 20);
    if (sy_embed_reply(&req, &resp, req.model, &usage, &out) == SY_OK)
        check_reply(&req, &resp, &out);
    sy_buf_free(&out);
done:
    sy_arena_cleanup(&a);
    free(body);
    free(rest);
    return 0;
}
