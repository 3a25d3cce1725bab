/*
 * gemini_int.h - private to the Gemini adapter (gemini.c: the table,
 * provider keys, tool call ids, errors, replies and streams;
 * gemini_request.c: build_request). Not for the core or other adapters:
 * they see only sy_adapter_gemini, through adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_GEMINI_INT_H
#define SY_ADAPTERS_GEMINI_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>
#include <stdint.h>

/* Provider keys, digested once by the init slot (gemini.c). */
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
    /* streaming state (gemini.c) */
    struct sy_sse sse;
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

/* gemini.c: the provider's digested keys, or the defaults when the
 * provider has none. Never NULL; borrowed from the config. */
const struct gemini_conf *gemini_conf_of(const struct sy_adapter_call *call);

/* gemini.c: the thought signature (standard base64) that a tool call id
 * made by gemini.c carries ("call_<16 hex>_s<padding><base64url>"), in
 * the arena; NULL for any other id. */
const char *gemini_sig_from_id(struct sy_arena *a, const char *id);

/* gemini_request.c: the table's build_request slot (see adapter.h).
 * Fills 'out' (URL and headers from the arena, the body into out->body)
 * and sets ctx->one_call; SY_EBADREQ with call->fail explained for a
 * request Gemini cannot take. */
enum sy_err gemini_build_request(struct sy_adapter_call *call,
                                 struct sy_http_out *out);

#endif
