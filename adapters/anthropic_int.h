/*
 * anthropic_int.h - private to the Anthropic adapter (anthropic.c: the
 * table, errors, replies and stream events; anthropic_request.c: the
 * provider keys, the HTTP request and the translation of chat requests;
 * anthropic_native.c: the requests of callers who spoke the Messages
 * API). Calls go one way: anthropic.c -> anthropic_native.c ->
 * anthropic_request.c, never the reverse. Not for the core or other
 * adapters: they see only sy_adapter_anthropic, through
 * adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_ANTHROPIC_INT_H
#define SY_ADAPTERS_ANTHROPIC_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The forced tool of the JSON tool mode: its input is the answer. */
#define ANTHROPIC_JSON_TOOL "json_response"

/* Provider keys, digested once by the init slot (anthropic_request.c). */
struct anthropic_conf {
    const char *api_version;    /* anthropic-version header */
    int64_t default_max_tokens; /* when the caller sets no limit */
    bool json_tool;             /* structured_output "tool" */
    const char *beta;           /* anthropic-beta header value, or NULL */
};

/* Stream state of one content block (defined in anthropic.c). */
struct anthropic_block;

/* Per-attempt state: the core hands ctx_size zeroed bytes to every call. */
struct anthropic_ctx {
    bool json_tool; /* set by build_request: JSON tool mode */
    /* streaming state (anthropic.c); call, f, emit and emit_ud are
     * those of the event being translated */
    struct sy_adapter_call *call;
    struct sy_failure *f;
    sy_emit_fn emit;
    void *emit_ud;
    const char *id; /* arena strings */
    const char *model;
    int64_t created;
    bool started, finished, done;
    bool usage_bad; /* a count that was no number: no usage is reported */
    bool bad_input; /* a streamed tool input that is no JSON object */
    int ntools;     /* tool_use blocks seen (OpenAI indexes) */
    struct anthropic_block *blocks; /* by Anthropic block index (arena) */
    size_t nblocks;
    const char *stop_reason;
    int64_t in, cache_read, cache_write, cache_write_1h, out;
    struct sy_usage usage;
};

/* anthropic_request.c: the table's conf_keys and init slot (see
 * adapter.h): api_version, default_max_tokens, structured_output, beta
 * into a struct anthropic_conf in the config's arena. */
extern const char *const sy_anthropic_keys[];
enum sy_err sy_anthropic_init(const char *type, const void *conf,
                              struct sy_arena *a, const void **adapter_conf,
                              char *err, size_t errlen);

/* anthropic_request.c: the provider's digested keys, or the defaults
 * when it has none. Never NULL; borrowed from the config. */
const struct anthropic_conf *sy_anthropic_conf(
    const struct sy_adapter_call *call);
/* The max_tokens sent for a request without one: default_max_tokens
 * within the deployment's output limit (anthropic_request.c). */
int64_t sy_anthropic_default_max(const struct sy_adapter_call *call);

/* anthropic_request.c: method, URL and headers of a Messages request
 * into 'out' (from the arena), with these anthropic-version and
 * anthropic-beta (NULL: none) values, which must hold no CR or LF. */
void sy_anthropic_http(struct sy_adapter_call *call, struct sy_http_out *out,
                       const char *version, const char *beta);

/* anthropic_request.c: the build_request slot (see adapter.h) for a
 * canonical chat request: fills 'out' (the body into out->body) and sets
 * ctx->json_tool; SY_EBADREQ with call->fail explained for a request
 * Anthropic cannot take. */
enum sy_err sy_anthropic_build_request(struct sy_adapter_call *call,
                                       struct sy_http_out *out);

/* Whether the caller spoke the Messages API itself (api/surface.h): its
 * own body (req->native.root) is what goes to the provider. */
static inline bool
anthropic_native(const struct sy_adapter_call *call)
{
    const struct sy_native_req *n = &call->req->native;
    return n->dialect != NULL && strcmp(n->dialect, "anthropic") == 0 &&
           n->root != NULL;
}

/* anthropic_native.c: the build_request slot for such a caller: its body
 * with only the allowed fields, the deployment's model and the stream
 * flag; its anthropic-version and anthropic-beta when well formed.
 * SY_EBADREQ with call->fail explained for a request it cannot send. */
enum sy_err sy_anthropic_native_request(struct sy_adapter_call *call,
                                        struct sy_http_out *out);

/* anthropic_native.c: the build_count slot (see adapter.h): the
 * caller's own request to count_tokens. */
enum sy_err sy_anthropic_native_count(struct sy_adapter_call *call,
                                      struct sy_http_out *out);

#endif
