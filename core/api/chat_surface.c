/*
 * chat_surface.c - OpenAI chat completions as a client API (surface.h):
 * the canonical format itself, so parsing is the canonical parse, a
 * reply is the canonical reply, and each canonical chunk is one
 * "data: ..." event; the stream ends with "data: [DONE]" and fails with
 * a "data: {error}" event, which the OpenAI SDKs raise as an APIError.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "surface.h"

#include <string.h>

static enum sy_err
chat_parse(const struct sy_req *r, unsigned max_depth, struct sy_arena *a,
           struct sy_chat_req *out, struct sy_chat_error *err)
{
    return sy_chat_req_parse(r->body, r->body_len, max_depth, a, out, err);
}

static void
chat_error_body(struct sy_buf *out, int status, const char *message,
                const char *type, const char *param, const char *code)
{
    (void)status;
    sy_chat_error_json(out, message, type, param, code);
}

static enum sy_err
chat_reply(const struct sy_chat_req *req, const struct sy_chat_resp *resp,
           struct sy_arena *a, struct sy_buf *out)
{
    (void)req;
    (void)a;
    return sy_chat_resp_write(resp, out);
}

/* One SSE event. Chunks are compact JSON without raw line breaks (the
 * adapters re-serialise any that had them); should one slip through,
 * each CR, LF or CRLF starts a new "data: " line, so the event stays one
 * well-formed event whose data is the same text (SSE joins lines with
 * LF, which JSON reads as whitespace). */
static enum sy_err
chat_stream_chunk(void *st, const struct sy_chat_req *req, const char *data,
                  size_t len, struct sy_buf *out)
{
    (void)st;
    (void)req;
    size_t at = 0;
    sy_buf_append(out, "data: ", 6);
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r' && data[i] != '\n')
            continue;
        sy_buf_append(out, data + at, i - at);
        sy_buf_append(out, "\ndata: ", 7);
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
            i++;
        at = i + 1;
    }
    sy_buf_append(out, data + at, len - at);
    return sy_buf_append(out, "\n\n", 2);
}

static enum sy_err
chat_stream_end(void *st, const struct sy_chat_req *req,
                const struct sy_usage *usage, const char *cost_usd,
                struct sy_buf *out)
{
    (void)st;
    (void)req;
    (void)usage;
    (void)cost_usd;
    return sy_buf_puts(out, "data: [DONE]\n\n");
}

static void
chat_stream_error(void *st, int status, const char *message, const char *type,
                  const char *code, struct sy_buf *out)
{
    (void)st;
    (void)status;
    sy_buf_puts(out, "data: ");
    sy_chat_error_json(out, message, type, NULL, code);
    sy_buf_puts(out, "\n\n");
}

const struct sy_surface sy_surface_chat = {
    .name = "chat",
    .dialect = NULL,
    .stream_state_size = 0,
    .parse = chat_parse,
    .error_body = chat_error_body,
    .reply = chat_reply,
    .stream_chunk = chat_stream_chunk,
    .stream_end = chat_stream_end,
    .stream_error = chat_stream_error,
};
