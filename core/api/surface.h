/*
 * surface.h - a client API ("surface"): the wire format a caller speaks
 * to the gateway (OpenAI chat completions, Anthropic Messages, ...).
 *
 * A surface is the client direction of one wire format: it parses the
 * caller's body into the canonical request, and writes canonical replies,
 * stream chunks and errors back in its own shape. The pipeline never
 * formats a body itself; it asks the request's surface. The provider
 * direction of the same format is its adapter (api/adapter.h); a surface
 * whose 'dialect' names an adapter hands that adapter its caller's own
 * request (sy_chat_req.native), and the pipeline then relays that
 * provider's replies and events unchanged (SY_CHUNK_NATIVE), so a
 * request whose format is the deployment's own goes through natively.
 *
 * Surfaces translate; they never transport. No I/O here.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SURFACE_H
#define SY_CORE_SURFACE_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "chat.h"
#include "req.h"

struct sy_surface {
    const char *name;         /* "chat", "messages"; in logs and metrics */
    const char *dialect;      /* the adapter name that speaks this format as a
                            provider API (its requests go through to it
                            natively), or NULL */
    size_t stream_state_size; /* zeroed per-request state for stream_* */

    /* The caller's body into the canonical request (and, with a
     * dialect, out->native). On failure 'err' holds a caller-safe
     * message naming the parameter in this surface's terms, and the
     * result is SY_EBADREQ or SY_ETOOBIG. 'r' gives the caller's
     * headers. */
    enum sy_err (*parse)(const struct sy_req *r, unsigned max_depth,
                         struct sy_arena *a, struct sy_chat_req *out,
                         struct sy_chat_error *err);

    /* An error body in this surface's shape. 'type' and 'code' are the
     * gateway's OpenAI-style names (base/err.h sy_err_type, sy_err_code);
     * a surface maps them (and 'status') to its own. */
    void (*error_body)(struct sy_buf *out, int status, const char *message,
                       const char *type, const char *param, const char *code);

    /* A complete canonical reply (resp->root, a chat.completion) into
     * this surface's reply body. */
    enum sy_err (*reply)(const struct sy_chat_req *req,
                         const struct sy_chat_resp *resp, struct sy_arena *a,
                         struct sy_buf *out);

    /* Streaming to the caller. One canonical chunk (a
     * chat.completion.chunk JSON text; usage-only chunks included, with
     * "choices": []) into zero or more complete SSE events appended to
     * 'out'. */
    enum sy_err (*stream_chunk)(void *st, const struct sy_chat_req *req,
                                const char *json, size_t len,
                                struct sy_buf *out);
    /* The stream ended well: the closing events. 'usage' is the
     * attempt's (present or not), 'cost_usd' its price as text. Not
     * called when the stream was relayed natively. */
    enum sy_err (*stream_end)(void *st, const struct sy_chat_req *req,
                              const struct sy_usage *usage,
                              const char *cost_usd, struct sy_buf *out);
    /* Optional: the whole reply object a finished stream described (the
     * Responses API's response of response.completed), appended to
     * 'out', for the conversation store. NULL when the surface keeps
     * no such object. */
    enum sy_err (*stream_result)(void *st, struct sy_buf *out);
    /* Optional: one provider event the pipeline relayed unchanged (a
     * native attempt: stream_chunk is not called), so the events the
     * surface writes after it (stream_error) continue that stream (the
     * Responses API numbers its events). */
    void (*native_event)(void *st, const char *event, size_t len);
    /* The stream failed after it started: one last error event that the
     * surface's clients raise as an error. */
    void (*stream_error)(void *st, int status, const char *message,
                         const char *type, const char *code,
                         struct sy_buf *out);
};

/* OpenAI chat completions (core/api/chat_surface.c): the canonical
 * format itself. */
extern const struct sy_surface sy_surface_chat;
/* Anthropic Messages (adapters/anthropic_surface*.c): the client
 * direction of the Anthropic wire format. */
extern const struct sy_surface sy_surface_messages;
/* OpenAI Responses (adapters/responses_surface*.c): the client direction
 * of the Responses wire format. */
extern const struct sy_surface sy_surface_responses;

#endif
