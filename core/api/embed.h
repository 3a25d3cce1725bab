/*
 * embed.h - the canonical embeddings request and reply: OpenAI's POST
 * /v1/embeddings body parsed and checked (embed.c), the vectors a
 * provider returned (filled by an adapter's parse_embed slot), and the
 * OpenAI reply written from them, as floats or base64.
 *
 * The gateway always asks its providers for floats and encodes base64
 * itself, so every reply's vectors and usage are read and bounded, and
 * every provider can serve a base64 caller.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_EMBED_H
#define SY_CORE_EMBED_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "chat.h"

struct json_object;

/* Inputs in one request: OpenAI's own limit. */
#define SY_EMBED_MAX_INPUTS 2048
/* Tokens in one token-array input: above any embedding model's context
 * (OpenAI's take 8,192). */
#define SY_EMBED_MAX_INPUT_TOKENS 32768
/* The largest "dimensions" asked, and the longest vector read from a
 * provider (today's largest models give 3,072 or 4,096). */
#define SY_EMBED_MAX_DIMENSIONS 16384

struct sy_embed_req {
    struct json_object *root;  /* the caller's body; arena cleanup */
    const char *model;         /* borrowed from root: the group name */
    struct json_object *input; /* borrowed from root: "input" */
    size_t ninputs;            /* one embedding each, 1..MAX_INPUTS */
    bool tokens;               /* the inputs are token arrays (an array of
                                  integers is one input) */
    int64_t dimensions;        /* 0: the model's default */
    bool base64;               /* encoding_format "base64" */
    const char *user;          /* borrowed from root, or NULL */
    uint64_t input_tokens;     /* estimate of the prompt: exact for token
                                  arrays, a token per 4 bytes of each
                                  string (at least 1 each) */
    uint64_t input_bytes;      /* bytes of the string inputs */
};

/* One vector, in the order of the inputs. */
struct sy_embed_vec {
    const double *v; /* arena array of 'dim' values */
    size_t dim;
};

struct sy_embed_resp {
    struct sy_embed_vec *vec; /* arena array of 'n', index = input */
    size_t n;
    const char *model;     /* the provider's model name (arena), or NULL */
    struct sy_usage usage; /* prompt_tokens and total_tokens; present
                              when the provider reported it */
};

/* Parse and check the caller's body. On failure 'err' holds a
 * caller-safe message naming the parameter ("input[3]"), and the result
 * is SY_EBADREQ or SY_ETOOBIG. The tree lives until the arena resets. */
enum sy_err sy_embed_req_parse(const char *body, size_t len, unsigned max_depth,
                               struct sy_arena *a, struct sy_embed_req *out,
                               struct sy_chat_error *err);

/* Input 'i' (< r->ninputs): a JSON string, or an array of integers when
 * r->tokens. Borrowed from r->root. */
struct json_object *sy_embed_req_input(const struct sy_embed_req *r, size_t i);

/* Check the reply's vectors against the request: one per input, each
 * with at least one value. NULL when they match, otherwise why not (a
 * static string, for a protocol failure). */
const char *sy_embed_resp_check(const struct sy_embed_req *req,
                                const struct sy_embed_resp *resp);

/* Read a JSON array of numbers 'arr' into vector 'out' (values in 'a').
 * False when it is not one, is empty, is longer than
 * SY_EMBED_MAX_DIMENSIONS or holds a value that is not a finite number. */
bool sy_embed_vec_from_json(struct json_object *arr, struct sy_arena *a,
                            struct sy_embed_vec *out);

/* The OpenAI reply to 'req' ({"object": "list", "data": [...], "model",
 * "usage"}) from 'resp' into 'out': the vectors as numbers, or as base64
 * of their little-endian float32 values when the caller asked for it;
 * 'model' is the name shown, 'usage' the tokens billed. A failed append
 * leaves 'out' failed (base/buf.h). */
enum sy_err sy_embed_reply(const struct sy_embed_req *req,
                           const struct sy_embed_resp *resp, const char *model,
                           const struct sy_usage *usage, struct sy_buf *out);

#endif
