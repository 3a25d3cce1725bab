/*
 * responses_int.h - private to the OpenAI Responses adapter (provider
 * type "openai-responses": an OpenAI deployment called with POST
 * {base_url}/responses). responses.c: the table, errors, replies and
 * stream events; responses_request.c: the HTTP request and the
 * translation of chat requests; responses_native.c: the requests of
 * callers who spoke the Responses API themselves. Calls go one way:
 * responses.c -> responses_native.c -> responses_request.c, never the
 * reverse. Not for the core or other adapters: they see only
 * sy_adapter_openai_responses, through adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_RESPONSES_INT_H
#define SY_ADAPTERS_RESPONSES_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The adapter's name, which is also the dialect of a native caller. */
#define RESPONSES_NAME "openai-responses"

/* The most output items of one streamed response the adapter follows
 * (a reply with more is broken). */
#define RESPONSES_MAX_ITEMS 4096

/* The smallest max_output_tokens the Responses API takes (it answers
 * 400 below it). */
#define RESPONSES_MIN_OUTPUT 16

/* Stream state of one output item (defined in responses.c). */
struct responses_item;

/* Per-attempt state: the core hands ctx_size zeroed bytes to every call.
 * Only the reply side uses it (stream events, responses.c); call, f,
 * emit and emit_ud are those of the event being translated. */
struct responses_ctx {
    struct sy_adapter_call *call;
    struct sy_failure *f;
    sy_emit_fn emit;
    void *emit_ud;
    const char *id; /* arena strings */
    const char *model;
    int64_t created;
    bool started, done;
    int ntools;                   /* function calls seen (chat indexes) */
    struct responses_item *items; /* by output_index (arena) */
    size_t nitems;
    struct sy_usage usage;
};

/* Whether the caller spoke the Responses API itself (api/surface.h): its
 * own body (req->native.root) is what goes to the provider. */
static inline bool
responses_native(const struct sy_adapter_call *call)
{
    const struct sy_native_req *n = &call->req->native;
    return n->dialect != NULL && strcmp(n->dialect, RESPONSES_NAME) == 0 &&
           n->root != NULL;
}

/* responses_request.c: method, URL ({base_url}/responses) and headers
 * (JSON, the key as a bearer token, the deployment's static headers)
 * into 'out', from the arena. */
void sy_responses_http(struct sy_adapter_call *call, struct sy_http_out *out);

/* responses_request.c: the build_request slot (see adapter.h) for a
 * canonical chat request; SY_EBADREQ with call->fail explained for a
 * request the Responses API cannot take. */
enum sy_err sy_responses_build_request(struct sy_adapter_call *call,
                                       struct sy_http_out *out);

/* responses_request.c: the max_output_tokens to send for 'want' tokens
 * (at least RESPONSES_MIN_OUTPUT). */
int64_t sy_responses_output_limit(int64_t want);

/* responses_native.c: the build_request slot for a native caller: its
 * body with only the allowed fields, the deployment's model, store off
 * and the stream flag. SY_EBADREQ with call->fail explained for a
 * request it cannot send. */
enum sy_err sy_responses_native_request(struct sy_adapter_call *call,
                                        struct sy_http_out *out);

#endif
