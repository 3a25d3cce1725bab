/*
 * gemini_int.h - private to the Gemini adapter (gemini.c: the table,
 * errors, replies and stream events; gemini_request.c: the provider keys
 * and build_request; gemini_ids.c: the tool call ids both sides read;
 * gemini_embed.c: the embeddings slots).
 * Calls go one way: gemini.c uses gemini_request.c, both use
 * gemini_ids.c. Not for the core or other adapters: they see only
 * sy_adapter_gemini, through adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_GEMINI_INT_H
#define SY_ADAPTERS_GEMINI_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>
#include <stdint.h>

/* Provider keys, digested once by the init slot (gemini_request.c). */
struct gemini_conf {
    bool openapi_schema; /* "schema": "openapi": parameters/responseSchema
                            (converted) instead of the JSON Schema fields */
};

/* Per-attempt state: the core hands ctx_size zeroed bytes to every call. */
struct gemini_ctx {
    bool one_call;       /* parallel_tool_calls=false: first call only
                               (set by build_request) */
    size_t schema_nodes; /* made by the openapi conversion of this
                               request's schemas (one budget for all) */
    /* streaming state (gemini.c); call, f, emit and emit_ud are those
     * of the event being translated */
    struct sy_adapter_call *call;
    struct sy_failure *f;
    sy_emit_fn emit;
    void *emit_ud;
    const char *id; /* arena strings */
    const char *model;
    int64_t created;
    bool started, blocked, done;
    int ncalls;         /* function calls emitted (OpenAI indexes) */
    const char *finish; /* last finishReason (arena) */
    struct sy_usage usage;
};

/* gemini_request.c: the table's conf_keys and init slot (see adapter.h):
 * "schema" into a struct gemini_conf in the config's arena. */
extern const char *const sy_gemini_keys[];
enum sy_err sy_gemini_init(const char *type, const void *conf,
                           struct sy_arena *a, const void **adapter_conf,
                           char *err, size_t errlen);

/* gemini_ids.c: the OpenAI tool call for functionCall part 'part' at
 * position 'pos' of a reply (tool calls counted from 0), with a
 * synthesized id "call_<16 hex>[_s<padding><base64url signature>]" and
 * the part's thoughtSignature also in extra_content.google; NULL when
 * the call is broken (no name, or args that are not a JSON object),
 * '*why' then saying which, for a protocol failure. A new tree the
 * caller owns; strings in 'a'. */
struct json_object *sy_gemini_tool_call_of(struct sy_arena *a,
                                           struct json_object *part, int pos,
                                           const char **why);

/* gemini_ids.c: the thought signature (standard base64) that an id made
 * by sy_gemini_tool_call_of carries, in the arena; NULL for any other id. */
const char *sy_gemini_sig_from_id(struct sy_arena *a, const char *id);

/* gemini_request.c: the table's build_request slot (see adapter.h).
 * Fills 'out' (URL and headers from the arena, the body into out->body)
 * and sets ctx->one_call; SY_EBADREQ with call->fail explained for a
 * request Gemini cannot take. */
enum sy_err sy_gemini_build_request(struct sy_adapter_call *call,
                                    struct sy_http_out *out);

/* gemini_embed.c: the table's build_embed and parse_embed slots (see
 * adapter.h): batchEmbedContents, one request per input. */
enum sy_err sy_gemini_build_embed(struct sy_adapter_call *call,
                                  const struct sy_embed_req *req,
                                  struct sy_http_out *out);
enum sy_err sy_gemini_parse_embed(struct sy_adapter_call *call,
                                  const char *body, size_t len,
                                  struct sy_embed_resp *resp,
                                  struct sy_failure *f);

#endif
