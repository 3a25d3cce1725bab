/*
 * mock_embed.c - embeddings in the mock LLM provider: OpenAI's POST
 * /v1/embeddings and Gemini's POST /v1beta/models/<m>:batchEmbedContents
 * reduced to their inputs, and answered with deterministic vectors (a
 * hash of each input's text, unit length, "dimensions" values; 8 by
 * default), the same in both dialects. OpenAI replies report usage
 * (characters of the text inputs / 4, at least 1, plus each token of the
 * token-array inputs); Gemini's report none, as the real API. The
 * effective fault spec applies as for chat (mock_reply.c); mock_app.c
 * routes and merges the specs.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define EMBED_GEMINI_PREFIX     "/v1beta/models/"
#define EMBED_GEMINI_PREFIX_LEN (sizeof(EMBED_GEMINI_PREFIX) - 1)
#define EMBED_GEMINI_ACTION     ":batchEmbedContents"

/*
 * The model of a Gemini path (deployment prefix removed) of the form
 * /v1beta/models/<model>:batchEmbedContents ("*model", "*len"). False
 * when the path is not one.
 */
bool
sy_mock_embed_gemini_model(const char *path, const char **model, size_t *len)
{
    const char *m;
    const char *colon;

    if (strncmp(path, EMBED_GEMINI_PREFIX, EMBED_GEMINI_PREFIX_LEN) != 0) {
        return false;
    }
    m = path + EMBED_GEMINI_PREFIX_LEN;
    colon = strchr(m, ':');
    if (colon == NULL || colon == m ||
        (size_t)(colon - m) > SY_MOCK_MAX_MODEL ||
        memchr(m, '/', (size_t)(colon - m)) != NULL ||
        strcmp(colon, EMBED_GEMINI_ACTION) != 0) {
        return false;
    }
    *model = m;
    *len = (size_t)(colon - m);
    return true;
}

/* Take input "v" (a string, or with "tokens" an array of integers) as
 * input "i" of "em". False, with "err", when it is not one. */
static bool
embed_take(struct sy_mock_embed *em, struct json_object *v, bool tokens,
           size_t i, char *err, size_t err_len)
{
    size_t k;
    size_t n;

    if (!tokens) {
        if (!json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) == 0) {
            snprintf(err, err_len, "'$.input[%zu]' must be a non-empty string",
                     i);
            return false;
        }
        em->text[i] = json_object_get_string(v);
        em->len[i] = (size_t)json_object_get_string_len(v);
        em->chars += sy_mock_utf8_chars(em->text[i], em->len[i]);
        em->last_text = em->text[i];
        return true;
    }
    n = json_object_is_type(v, json_type_array) ? json_object_array_length(v)
                                                : 0;
    for (k = 0; k < n; k++) {
        if (!json_object_is_type(json_object_array_get_idx(v, k),
                                 json_type_int)) {
            break;
        }
    }
    if (n == 0 || k < n) {
        snprintf(err, err_len,
                 "'$.input[%zu]' must be a non-empty array of tokens", i);
        return false;
    }
    em->text[i] = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    em->len[i] = strlen(em->text[i]);
    em->tokens += (long)n;
    return true;
}

/* OpenAI: {"model", "input", "dimensions", "encoding_format"}. */
static bool
embed_parse_openai(struct json_object *body, struct sy_mock_embed *em,
                   char *err, size_t err_len)
{
    struct json_object *in;
    struct json_object *v;
    bool tokens;
    size_t i;

    if (json_object_object_get_ex(body, "model", &v) &&
        json_object_is_type(v, json_type_string)) {
        em->model = json_object_get_string(v);
    }
    if (json_object_object_get_ex(body, "encoding_format", &v) &&
        strcmp(json_object_get_string(v), "float") != 0) {
        snprintf(err, err_len, "the mock serves encoding_format float only");
        return false;
    }
    if (json_object_object_get_ex(body, "dimensions", &v)) {
        em->dimensions = json_object_get_int64(v);
    }
    if (!json_object_object_get_ex(body, "input", &in) || in == NULL) {
        snprintf(err, err_len, "'input' is a required property");
        return false;
    }
    if (!json_object_is_type(in, json_type_array) ||
        json_object_is_type(json_object_array_get_idx(in, 0), json_type_int)) {
        /* One input: a string or one token array. */
        em->n = 1;
        em->text = sy_mock_xcalloc(1, sizeof(*em->text));
        em->len = sy_mock_xcalloc(1, sizeof(*em->len));
        return embed_take(em, in, json_object_is_type(in, json_type_array), 0,
                          err, err_len);
    }
    em->n = json_object_array_length(in);
    if (em->n == 0 || em->n > SY_MOCK_EMBED_INPUTS) {
        snprintf(err, err_len, "'input' must hold 1 to %d inputs",
                 SY_MOCK_EMBED_INPUTS);
        return false;
    }
    em->text = sy_mock_xcalloc(em->n, sizeof(*em->text));
    em->len = sy_mock_xcalloc(em->n, sizeof(*em->len));
    tokens =
        json_object_is_type(json_object_array_get_idx(in, 0), json_type_array);
    for (i = 0; i < em->n; i++) {
        if (!embed_take(em, json_object_array_get_idx(in, i), tokens, i, err,
                        err_len)) {
            return false;
        }
    }
    return true;
}

/* Gemini: {"requests": [{"model": "models/<m>", "content": {"parts":
 * [{"text"}]}, "outputDimensionality"}]}, the model also in the path. */
static bool
embed_parse_gemini(const char *path, struct json_object *body,
                   struct sy_mock_embed *em, char *err, size_t err_len)
{
    struct json_object *reqs;
    const char *model;
    size_t mlen;
    size_t i;

    if (!sy_mock_embed_gemini_model(path, &model, &mlen)) {
        snprintf(err, err_len, "not a batchEmbedContents path");
        return false;
    }
    snprintf(em->model_buf, sizeof(em->model_buf), "%.*s", (int)mlen, model);
    em->model = em->model_buf;
    if (!json_object_object_get_ex(body, "requests", &reqs) ||
        !json_object_is_type(reqs, json_type_array) ||
        json_object_array_length(reqs) == 0 ||
        json_object_array_length(reqs) > SY_MOCK_EMBED_INPUTS) {
        snprintf(err, err_len,
                 "* BatchEmbedContentsRequest.requests: 1 to "
                 "%d requests are required",
                 SY_MOCK_EMBED_INPUTS);
        return false;
    }
    em->n = json_object_array_length(reqs);
    em->text = sy_mock_xcalloc(em->n, sizeof(*em->text));
    em->len = sy_mock_xcalloc(em->n, sizeof(*em->len));
    for (i = 0; i < em->n; i++) {
        struct json_object *r = json_object_array_get_idx(reqs, i);
        struct json_object *v;
        struct json_object *parts = NULL;
        const char *m = "";

        if (json_object_object_get_ex(r, "model", &v)) {
            m = json_object_get_string(v);
        }
        if (strncmp(m, "models/", 7) != 0 || strlen(m + 7) != mlen ||
            strncmp(m + 7, model, mlen) != 0) {
            snprintf(err, err_len,
                     "* BatchEmbedContentsRequest.requests[%zu].model: "
                     "must be models/%s",
                     i, em->model);
            return false;
        }
        if (json_object_object_get_ex(r, "outputDimensionality", &v)) {
            em->dimensions = json_object_get_int64(v);
        }
        if (json_object_object_get_ex(r, "content", &v)) {
            json_object_object_get_ex(v, "parts", &parts);
        }
        if (!json_object_is_type(parts, json_type_array) ||
            json_object_array_length(parts) != 1 ||
            !json_object_object_get_ex(json_object_array_get_idx(parts, 0),
                                       "text", &v) ||
            !embed_take(em, v, false, i, err, err_len)) {
            snprintf(err, err_len,
                     "* BatchEmbedContentsRequest.requests[%zu].content: "
                     "one non-empty text part is required",
                     i);
            return false;
        }
    }
    return true;
}

/*
 * Reduce an embeddings request ("path" without deployment prefix, parsed
 * "body") of dialect "d" to "em"; false with a message in "err" for a
 * 400. Free "em" with sy_mock_embed_cleanup either way.
 */
bool
sy_mock_embed_parse(const struct sy_mock_dialect *d, const char *path,
                    struct json_object *body, struct sy_mock_embed *em,
                    char *err, size_t err_len)
{
    bool ok;

    memset(em, 0, sizeof(*em));
    em->model = "";
    em->dimensions = 8;
    if (!json_object_is_type(body, json_type_object)) {
        snprintf(err, err_len, "the body must be a JSON object");
        return false;
    }
    ok = d == &sy_mock_dialect_gemini
             ? embed_parse_gemini(path, body, em, err, err_len)
             : embed_parse_openai(body, em, err, err_len);
    if (ok && (em->dimensions < 1 || em->dimensions > SY_MOCK_EMBED_DIM)) {
        snprintf(err, err_len, "dimensions must be from 1 to %d",
                 SY_MOCK_EMBED_DIM);
        ok = false;
    }
    return ok;
}

void
sy_mock_embed_cleanup(struct sy_mock_embed *em)
{
    free(em->text);
    free(em->len);
    em->text = NULL;
    em->len = NULL;
}

/* The prompt tokens an OpenAI reply reports: characters of the text
 * inputs / 4 (at least 1), plus the token-array inputs' tokens. */
static long
embed_prompt_tokens(const struct sy_mock_embed *em)
{
    long t = em->chars / 4 + em->tokens;

    return t > 0 ? t : 1;
}

/* The next value of a splitmix64 sequence at "x". */
static uint64_t
embed_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The vector of input "i" as JSON numbers: values in [-1, 1) from a
 * hash of its text, scaled to unit length. */
static void
embed_vector(const struct sy_mock_embed *em, size_t i, struct sy_mock_buf *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    double *v = sy_mock_xcalloc((size_t)em->dimensions, sizeof(*v));
    double norm = 0;
    size_t k;

    for (k = 0; k < em->len[i]; k++) {
        h = (h ^ (unsigned char)em->text[i][k]) * 0x100000001b3ull;
    }
    for (k = 0; k < (size_t)em->dimensions; k++) {
        v[k] = (double)(embed_mix(&h) >> 11) / 9007199254740992.0 * 2 - 1;
        norm += v[k] * v[k];
    }
    norm = norm > 0 ? sqrt(norm) : 1;
    sy_mock_buf_puts(out, "[");
    for (k = 0; k < (size_t)em->dimensions; k++) {
        sy_mock_buf_printf(out, k ? ",%.8f" : "%.8f", v[k] / norm);
    }
    sy_mock_buf_puts(out, "]");
    free(v);
}

/* The reply of dialect "d" into "out"; "usage" adds OpenAI's usage. */
static void
embed_render(const struct sy_mock_dialect *d, const struct sy_mock_embed *em,
             bool usage, struct sy_mock_buf *out)
{
    bool gemini = d == &sy_mock_dialect_gemini;
    size_t i;

    sy_mock_buf_puts(out, gemini ? "{\"embeddings\":["
                                 : "{\"object\":\"list\",\"data\":[");
    for (i = 0; i < em->n; i++) {
        if (gemini) {
            sy_mock_buf_puts(out, i ? ",{\"values\":" : "{\"values\":");
        } else {
            sy_mock_buf_printf(out,
                               "%s{\"object\":\"embedding\",\"index\":%zu,"
                               "\"embedding\":",
                               i ? "," : "", i);
        }
        embed_vector(em, i, out);
        sy_mock_buf_puts(out, "}");
    }
    if (gemini) {
        sy_mock_buf_puts(out, "]}");
        return;
    }
    sy_mock_buf_puts(out, "],\"model\":");
    sy_mock_buf_json_cstr(out, em->model);
    if (usage) {
        sy_mock_buf_printf(out,
                           ",\"usage\":{\"prompt_tokens\":%ld,"
                           "\"total_tokens\":%ld}",
                           em->prompt_tokens, em->prompt_tokens);
    }
    sy_mock_buf_puts(out, "}");
}

/*
 * Fill "p" with the answer to embeddings request "em" of dialect "d"
 * under the effective fault spec "f": the faults that come before a
 * reply (delay, reset, stall, error, body_bytes), then "malformed", then
 * the vectors; "usage.prompt_tokens" sets the tokens reported,
 * "no_usage" leaves them out, "content_type" overrides the type.
 */
void
sy_mock_embed_plan(struct sy_mock_rng *rng, const struct sy_mock_dialect *d,
                   struct sy_mock_embed *em, const struct sy_mock_fault *f,
                   struct sy_mock_plan *p)
{
    bool malformed = (f->has & SY_MOCK_F_MALFORMED) && f->malformed;
    bool no_usage = ((f->has & SY_MOCK_F_NO_USAGE) && f->no_usage) ||
                    d == &sy_mock_dialect_gemini;

    em->prompt_tokens =
        f->prompt_tokens >= 0 ? f->prompt_tokens : embed_prompt_tokens(em);
    if (!sy_mock_reply_fault(d, rng, f, p)) {
        sy_mock_plan_content_type(p, "application/json");
        if (malformed) {
            sy_mock_buf_puts(&p->ev.buf, "{\"object\":\"list\",\"data\":[{");
        } else {
            embed_render(d, em, !no_usage, &p->ev.buf);
        }
        p->bill.reply = true;
        p->bill.choices = 1;
        p->bill.prompt_tokens = em->prompt_tokens;
        p->bill.completion_tokens = 0;
        p->bill.cached_tokens = -1;
        p->bill.reasoning_tokens = -1;
        p->bill.body_usage = !malformed && !no_usage;
    }
    if ((f->has & SY_MOCK_F_CONTENT_TYPE) && !p->reset && !p->stall) {
        sy_mock_plan_content_type(p, f->content_type);
    }
}
