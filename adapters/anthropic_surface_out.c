/*
 * anthropic_surface_out.c - what the Messages surface sends back to its
 * caller (api/surface.h): error bodies in Anthropic's shape, a canonical
 * chat.completion as an Anthropic Message, and canonical chunks as
 * Anthropic's named stream events (message_start, ping,
 * content_block_start / _delta / _stop, message_delta, message_stop),
 * which the Anthropic SDKs accumulate into the same Message. Tool calls
 * a provider interleaves are held back and sent whole, one block after
 * the other (tool_piece; anthropic_surface_tools_out.c keeps them). No
 * I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_surface_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* Anthropic's error type for an HTTP status (its errors page). */
static const char *
error_type(int status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 409:
        return "conflict_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503: /* no deployment can serve now: the SDKs retry both */
    case 529:
        return "overloaded_error";
    case 504:
        return "timeout_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* {"type":"error","error":{"type":T,"message":M}} */
static void
error_json(struct sy_buf *out, int status, const char *message)
{
    const char *m = message ? message : "error";
    sy_buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":\"");
    sy_buf_puts(out, error_type(status));
    sy_buf_puts(out, "\",\"message\":");
    sy_buf_json_str(out, m, strlen(m));
    sy_buf_puts(out, "}}");
}

/* The table's error_body slot: the gateway's OpenAI-style type and code
 * give way to the status, which is what Anthropic's types follow. */
void
sy_msurf_error_body(struct sy_buf *out, int status, const char *message,
                    const char *type, const char *param, const char *code)
{
    (void)type;
    (void)param;
    (void)code;
    error_json(out, status, message);
}

/* ------------------------------------------------------------------ */
/* Shared by replies and streams                                       */

static const char *
stop_reason(const char *finish, bool tools)
{
    static const struct {
        const char *from, *to;
    } map[] = {
        { "stop", "end_turn" },          { "length", "max_tokens" },
        { "tool_calls", "tool_use" },    { "function_call", "tool_use" },
        { "content_filter", "refusal" },
    };
    const char *r = "end_turn";
    for (size_t i = 0; finish != NULL && i < SY_ARRAY_LEN(map); i++)
        if (strcmp(finish, map[i].from) == 0)
            r = map[i].to;
    /* Some providers end a turn of tool calls with "stop": the caller's
     * tool loop looks at stop_reason. */
    if (tools && strcmp(r, "end_turn") == 0)
        r = "tool_use";
    return r;
}

static bool
safe_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 'id' with every character outside [A-Za-z0-9_-] made '_' (Anthropic
 * checks tool ids against that pattern) as a new JSON string; 'gen'
 * when 'id' is NULL or empty. */
static struct json_object *
tool_id(const char *id, const char *gen)
{
    if (id == NULL || id[0] == '\0')
        id = gen;
    char *s = sy_xstrdup(id);
    for (char *p = s; *p != '\0'; p++)
        if (!safe_char(*p))
            *p = '_';
    struct json_object *o = json_object_new_string(s);
    free(s);
    return o;
}

/* "msg_" and the safe characters of the canonical id (kept as it is
 * when it already is a Messages id), at most 'cap' - 1 bytes. */
static void
message_id(char *dst, size_t cap, const char *id)
{
    size_t n = (size_t)snprintf(dst, cap, "msg_");
    if (id != NULL && strncmp(id, "msg_", 4) == 0)
        id += 4;
    for (const char *p = id; p != NULL && *p != '\0' && n + 1 < cap; p++)
        if (safe_char(*p))
            dst[n++] = *p;
    if (n == 4 && n + 7 < cap) {
        memcpy(dst + n, "gateway", 7);
        n += 7;
    }
    dst[n] = '\0';
}

/* Anthropic usage: input_tokens excludes what the cache read and wrote
 * (the canonical prompt count includes both). */
static struct json_object *
usage_json(const struct sy_usage *u)
{
    int64_t in = 0, out = 0, cr = 0, cw = 0, think = 0;
    if (u != NULL && u->present) {
        cr = SY_MAX(u->cached_tokens, 0);
        cw = SY_MAX(u->cache_write_tokens, 0);
        /* Saturating: the counts are a provider's numbers. */
        int64_t both;
        if (__builtin_add_overflow(cr, cw, &both))
            both = INT64_MAX;
        in = u->prompt_tokens > both ? u->prompt_tokens - both : 0;
        out = SY_MAX(u->completion_tokens, 0);
        think = SY_MAX(u->reasoning_tokens, 0);
    }
    struct json_object *o =
        sy_adapter_obj("input_tokens", json_object_new_int64(in),
                       "cache_creation_input_tokens", json_object_new_int64(cw),
                       "cache_read_input_tokens", json_object_new_int64(cr),
                       "output_tokens", json_object_new_int64(out), NULL);
    if (think > 0)
        json_object_object_add(o, "output_tokens_details",
                               sy_adapter_obj("thinking_tokens",
                                              json_object_new_int64(think),
                                              NULL));
    return o;
}

/* The choice with index 0 of a completion or chunk, or NULL. */
static struct json_object *
first_choice(struct json_object *root)
{
    struct json_object *choices = sy_adapter_get(root, "choices");
    size_t n = sy_adapter_is(choices, json_type_array)
                   ? json_object_array_length(choices)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        int64_t index = 0;
        sy_adapter_get_int(c, "index", &index);
        if (index == 0 && sy_adapter_is(c, json_type_object))
            return c;
    }
    return NULL;
}

/* Text goes from the provider's JSON strings to the caller's with
 * json-c's length, never as C strings: "\u0000" is valid JSON, and
 * strlen would cut the text at it, so the caller would get other text
 * than the provider sent. The helpers for it are
 * sy_adapter_str_member and friends (common.c). */

/* The reasoning text of a message or delta ("reasoning_content", or
 * OpenRouter's "reasoning") as a JSON string, or NULL. */
static struct json_object *
reasoning_of(struct json_object *o)
{
    struct json_object *r = sy_adapter_str_member(o, "reasoning_content");
    return r != NULL ? r : sy_adapter_str_member(o, "reasoning");
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* A tool call's arguments as the tool_use input: the parsed object, or
 * {} when they are empty or not a JSON object. */
static struct json_object *
tool_input(const char *args)
{
    struct json_object *in =
        args != NULL ? sy_adapter_json_parse(args, strlen(args)) : NULL;
    if (sy_adapter_is(in, json_type_object))
        return in;
    json_object_put(in);
    return json_object_new_object();
}

/* The text of canonical 'content' as a new JSON string: a string as it
 * is, text parts joined with newlines; NULL when there is none. */
static struct json_object *
content_text(struct json_object *content)
{
    if (sy_adapter_is(content, json_type_string))
        return sy_adapter_str_copy(content);
    size_t n = sy_adapter_is(content, json_type_array)
                   ? json_object_array_length(content)
                   : 0;
    /* No bound of its own: the text is shorter than the parsed reply. */
    struct sy_buf b;
    sy_buf_init(&b, SIZE_MAX - 1);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(content, i);
        const char *type = sy_adapter_get_str(part, "type");
        struct json_object *text = sy_adapter_str_member(part, "text");
        if (type == NULL || strcmp(type, "text") != 0 || text == NULL)
            continue;
        if (any)
            sy_buf_puts(&b, "\n");
        sy_buf_append(&b, json_object_get_string(text),
                      (size_t)json_object_get_string_len(text));
        any = true;
    }
    struct json_object *r =
        any ? json_object_new_string_len(sy_buf_cstr(&b), (int)b.len) : NULL;
    sy_buf_free(&b);
    return r;
}

/* The content blocks of canonical message 'msg' into 'content': its
 * reasoning, its text, then its tool calls. True when a tool call was. */
static bool
message_blocks(struct json_object *msg, struct json_object *content)
{
    struct json_object *r = reasoning_of(msg);
    if (sy_adapter_has_text(r))
        json_object_array_add(content,
                              sy_adapter_obj("type", SY_JSTR("thinking"),
                                             "thinking", sy_adapter_str_copy(r),
                                             "signature", SY_JSTR(""), NULL));
    struct json_object *text = content_text(sy_adapter_get(msg, "content"));
    if (!sy_adapter_has_text(text)) {
        json_object_put(text);
        struct json_object *refusal = sy_adapter_str_member(msg, "refusal");
        text = refusal != NULL ? sy_adapter_str_copy(refusal) : NULL;
    }
    if (sy_adapter_has_text(text))
        json_object_array_add(content, sy_adapter_obj("type", SY_JSTR("text"),
                                                      "text", text, NULL));
    else
        json_object_put(text);
    struct json_object *calls = sy_adapter_get(msg, "tool_calls");
    size_t n = sy_adapter_is(calls, json_type_array)
                   ? json_object_array_length(calls)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *tc = json_object_array_get_idx(calls, i);
        struct json_object *fn = sy_adapter_get(tc, "function");
        const char *name = sy_adapter_get_str(fn, "name");
        char gen[32];
        snprintf(gen, sizeof(gen), "toolu_%zu", i);
        json_object_array_add(
            content,
            sy_adapter_obj("type", SY_JSTR("tool_use"), "id",
                           tool_id(sy_adapter_get_str(tc, "id"), gen), "name",
                           SY_JSTR(name ? name : ""), "input",
                           tool_input(sy_adapter_get_str(fn, "arguments")),
                           NULL));
    }
    return n > 0;
}

/* The table's reply slot: a chat.completion as a Message. */
enum sy_err
sy_msurf_reply(const struct sy_chat_req *req, const struct sy_chat_resp *resp,
               struct sy_arena *a, struct sy_buf *out)
{
    struct json_object *root = resp->root;
    if (root == NULL) {
        root = sy_adapter_json_parse(resp->raw, resp->raw_len);
        if (root == NULL)
            return SY_EUP_PROTO;
        sy_arena_on_cleanup(a, sy_chat_json_free, root);
    }
    if (!sy_adapter_is(root, json_type_object))
        return SY_EUP_PROTO;
    struct json_object *choice = first_choice(root);
    struct json_object *content = json_object_new_array();
    bool tools = message_blocks(sy_adapter_get(choice, "message"), content);
    struct sy_usage u = resp->usage;
    if (!u.present)
        sy_chat_usage_from_json(sy_adapter_get(root, "usage"), &u);
    char id[72];
    message_id(id, sizeof(id), sy_adapter_get_str(root, "id"));
    const char *model = sy_adapter_get_str(root, "model");
    if (model == NULL)
        model = resp->upstream_model ? resp->upstream_model : req->model;
    struct json_object *m = sy_adapter_obj(
        "id", SY_JSTR(id), "type", SY_JSTR("message"), "role",
        SY_JSTR("assistant"), "model", SY_JSTR(model ? model : ""), "content",
        content, "stop_reason",
        SY_JSTR(
            stop_reason(sy_adapter_get_str(choice, "finish_reason"), tools)),
        "stop_sequence", NULL, "usage", usage_json(&u), NULL);
    enum sy_err e = sy_adapter_json_write(out, m);
    json_object_put(m);
    return e;
}

/* ------------------------------------------------------------------ */
/* Streaming                                                           */

/* One named event; takes over 'data'. */
static void
event(struct sy_buf *out, const char *name, struct json_object *data)
{
    sy_buf_puts(out, "event: ");
    sy_buf_puts(out, name);
    sy_buf_puts(out, "\ndata: ");
    sy_adapter_json_write(out, data);
    sy_buf_puts(out, "\n\n");
    json_object_put(data);
}

/* message_start (an empty Message) and a ping, once. */
static void
stream_start(struct msurf_stream *s, const struct sy_chat_req *req,
             struct json_object *chunk, struct sy_buf *out)
{
    s->started = true;
    message_id(s->id, sizeof(s->id), sy_adapter_get_str(chunk, "id"));
    const char *model = sy_adapter_get_str(chunk, "model");
    if (model == NULL)
        model = req->model ? req->model : "";
    /* Cut at a character boundary: the model is echoed as JSON text. */
    size_t n = SY_MIN(strlen(model), sizeof(s->model) - 1);
    while (n > 0 && model[n] != '\0' &&
           ((unsigned char)model[n] & 0xC0) == 0x80)
        n--;
    memcpy(s->model, model, n);
    s->model[n] = '\0';
    struct json_object *msg = sy_adapter_obj(
        "id", SY_JSTR(s->id), "type", SY_JSTR("message"), "role",
        SY_JSTR("assistant"), "model", SY_JSTR(s->model), "content",
        json_object_new_array(), "stop_reason", NULL, "stop_sequence", NULL,
        "usage",
        sy_adapter_obj("input_tokens", json_object_new_int(0), "output_tokens",
                       json_object_new_int(0), NULL),
        NULL);
    event(
        out, "message_start",
        sy_adapter_obj("type", SY_JSTR("message_start"), "message", msg, NULL));
    event(out, "ping", sy_adapter_obj("type", SY_JSTR("ping"), NULL));
}

static void
block_stop(struct msurf_stream *s, struct sy_buf *out)
{
    if (s->open == MSURF_NONE)
        return;
    event(out, "content_block_stop",
          sy_adapter_obj("type", SY_JSTR("content_block_stop"), "index",
                         json_object_new_int64(s->nblocks - 1), NULL));
    s->open = MSURF_NONE;
}

/* Close the open block and open 'block' (taken over) of 'kind'. */
static void
block_start(struct msurf_stream *s, enum msurf_block kind, int64_t tool,
            struct json_object *block, struct sy_buf *out)
{
    block_stop(s, out);
    event(out, "content_block_start",
          sy_adapter_obj("type", SY_JSTR("content_block_start"), "index",
                         json_object_new_int64(s->nblocks), "content_block",
                         block, NULL));
    s->open = kind;
    s->tool = tool;
    s->nblocks++;
}

/* A content_block_delta of the open block: 'type' with 'key' = 'piece'
 * (a JSON string, taken over). */
static void
block_delta(struct msurf_stream *s, const char *type, const char *key,
            struct json_object *piece, struct sy_buf *out)
{
    struct json_object *d =
        sy_adapter_obj("type", SY_JSTR(type), key, piece, NULL);
    event(out, "content_block_delta",
          sy_adapter_obj("type", SY_JSTR("content_block_delta"), "index",
                         json_object_new_int64(s->nblocks - 1), "delta", d,
                         NULL));
}

/* A piece of text or thinking: into the open block of its kind, or a
 * new one. */
static void
text_piece(struct msurf_stream *s, enum msurf_block kind,
           struct json_object *piece, struct sy_buf *out)
{
    if (!sy_adapter_has_text(piece))
        return;
    bool think = kind == MSURF_THINKING;
    if (s->open != kind)
        block_start(s, kind, -1,
                    think ? sy_adapter_obj("type", SY_JSTR("thinking"),
                                           "thinking", SY_JSTR(""), "signature",
                                           SY_JSTR(""), NULL)
                          : sy_adapter_obj("type", SY_JSTR("text"), "text",
                                           SY_JSTR(""), NULL),
                    out);
    block_delta(s, think ? "thinking_delta" : "text_delta",
                think ? "thinking" : "text", sy_adapter_str_copy(piece), out);
}

/* Open a tool_use block for call 'index' ('block' taken over), closing
 * the open block; its arguments are scanned from here. */
static void
tool_open(struct msurf_stream *s, int64_t index, struct json_object *block,
          struct sy_buf *out)
{
    block_start(s, MSURF_TOOL, index, block, out);
    memset(&s->scan, 0, sizeof(s->scan));
    s->any_tool = true;
}

/* End the stream with an error event (nothing follows it) instead of
 * sending a tool call cut short or out of place: 'why' says what the
 * provider sent (more calls or arguments than the held calls may take,
 * an index the Messages format cannot number). */
static void
tools_fail(struct msurf_stream *s, const char *why, struct sy_buf *out)
{
    sy_msurf_stream_error(s, 502, why, NULL, NULL, out);
    /* An event lost with an overflowing 'out' leaves the pipeline's
     * stream_error to send one. */
    s->failed = !sy_buf_failed(out);
}

#define MSURF_TOO_MANY_CALLS \
    "the provider interleaved more tool calls than the gateway can hold"
#define MSURF_TOO_MUCH_ARGS                                               \
    "the provider interleaved more tool call arguments than the gateway " \
    "can hold"

/* Close the open block and send the held calls in index order, each as
 * a whole block (its start, one input_json_delta with all its arguments,
 * its stop), up to the first whose arguments are not whole yet, which
 * stays open and streams on live; with 'all' (the answer is finished),
 * every one. Nothing when no call is held. */
static void
held_flush(struct msurf_stream *s, bool all, struct sy_buf *out)
{
    struct msurf_call *call;
    if (sy_msurf_calls_first(s->calls) == NULL)
        return;
    block_stop(s, out);
    while ((call = sy_msurf_calls_first(s->calls)) != NULL) {
        tool_open(s, call->index, call->block, out);
        call->block = NULL;
        if (call->args.len > 0)
            block_delta(s, "input_json_delta", "partial_json",
                        json_object_new_string_len(call->args.data,
                                                   (int)call->args.len),
                        out);
        s->scan = call->scan;
        sy_msurf_calls_drop_first(s->calls);
        if (!s->scan.whole && !all)
            return;
        block_stop(s, out);
    }
}

/* Hold back new call 'index' ('block' taken over) with its first
 * arguments, while the open call's are not whole. */
static void
tool_hold(struct msurf_stream *s, const struct sy_chat_req *req, int64_t index,
          struct json_object *block, const char *args, size_t an,
          struct sy_buf *out)
{
    struct msurf_calls *c = sy_msurf_calls(s, req);
    struct msurf_call *call = NULL;
    if (c == NULL)
        json_object_put(block);
    else
        call = sy_msurf_calls_add(c, index, block);
    if (call == NULL) {
        tools_fail(s, MSURF_TOO_MANY_CALLS, out);
        return;
    }
    if (sy_msurf_calls_append(c, call, args, an) != SY_OK)
        tools_fail(s, MSURF_TOO_MUCH_ARGS, out);
}

/* One canonical tool_calls entry. The open call's arguments stream live
 * as partial_json. A new index opens a tool_use block (closing the open
 * one) when the open call's arguments are whole; otherwise (the provider
 * interleaves parallel calls) the new call is held back, with its later
 * pieces, until the open call's arguments are whole or the answer ends
 * (held_flush). A call whose block was closed already cannot be
 * reopened: its late pieces are dropped (a whole call's arguments can
 * only gain blanks or become invalid). Id and name come from the call's
 * first piece. */
static void
tool_piece(struct msurf_stream *s, const struct sy_chat_req *req,
           struct json_object *tc, struct sy_buf *out)
{
    int64_t index = 0;
    sy_adapter_get_int(tc, "index", &index);
    struct json_object *fn = sy_adapter_get(tc, "function");
    struct json_object *args = sy_adapter_str_member(fn, "arguments");
    /* By length: arguments may hold NUL. */
    const char *a = args ? json_object_get_string(args) : "";
    size_t an = args ? (size_t)json_object_get_string_len(args) : 0;
    if (s->open == MSURF_TOOL && s->tool == index) {
        if (an > 0) {
            block_delta(s, "input_json_delta", "partial_json",
                        sy_adapter_str_copy(args), out);
            sy_json_scan_feed(&s->scan, a, an);
        }
        if (s->scan.whole)
            held_flush(s, false, out);
        return;
    }
    struct msurf_call *held = sy_msurf_calls_find(s->calls, index);
    if (held != NULL) {
        if (sy_msurf_calls_append(s->calls, held, a, an) != SY_OK)
            tools_fail(s, MSURF_TOO_MUCH_ARGS, out);
        return;
    }
    if (index < 0 || index >= SY_ANTHROPIC_MAX_BLOCKS) {
        tools_fail(s, "the provider numbered a tool call out of range", out);
        return;
    }
    uint64_t bit = 1ull << (index % 64);
    if ((s->tools_seen[index / 64] & bit) != 0)
        return;
    s->tools_seen[index / 64] |= bit;
    char gen[112];
    const char *id = sy_adapter_get_str(tc, "id");
    const char *name = sy_adapter_get_str(fn, "name");
    snprintf(gen, sizeof(gen), "toolu_%s_%lld", s->id + 4, (long long)index);
    struct json_object *b = sy_adapter_obj(
        "type", SY_JSTR("tool_use"), "id", tool_id(id, gen), "name",
        SY_JSTR(name ? name : ""), "input", json_object_new_object(), NULL);
    if (s->open == MSURF_TOOL && !s->scan.whole) {
        tool_hold(s, req, index, b, a, an, out);
        return;
    }
    tool_open(s, index, b, out);
    if (an > 0) {
        block_delta(s, "input_json_delta", "partial_json",
                    sy_adapter_str_copy(args), out);
        sy_json_scan_feed(&s->scan, a, an);
    }
}

/* The table's stream_chunk slot: one chat.completion.chunk. */
enum sy_err
sy_msurf_stream_chunk(void *st, const struct sy_chat_req *req, const char *json,
                      size_t len, struct sy_buf *out)
{
    struct msurf_stream *s = st;
    if (s->ended)
        return SY_OK;
    struct json_object *o = sy_adapter_json_parse(json, len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return SY_OK; /* not a chunk: nothing to say */
    }
    if (!s->started)
        stream_start(s, req, o, out);
    /* Usage-only chunks have no choice 0: the usage comes at the end. */
    struct json_object *choice = first_choice(o);
    struct json_object *delta = sy_adapter_get(choice, "delta");
    text_piece(s, MSURF_THINKING, reasoning_of(delta), out);
    text_piece(s, MSURF_TEXT, sy_adapter_str_member(delta, "content"), out);
    text_piece(s, MSURF_TEXT, sy_adapter_str_member(delta, "refusal"), out);
    struct json_object *calls = sy_adapter_get(delta, "tool_calls");
    size_t n = sy_adapter_is(calls, json_type_array)
                   ? json_object_array_length(calls)
                   : 0;
    for (size_t i = 0; i < n && !s->ended; i++)
        tool_piece(s, req, json_object_array_get_idx(calls, i), out);
    const char *fr = sy_adapter_get_str(choice, "finish_reason");
    if (fr != NULL && !s->ended) {
        s->finish = stop_reason(fr, false);
        held_flush(s, true, out);
    }
    json_object_put(o);
    /* Ended here: a tool call could not be held (tools_fail). */
    return s->ended ? SY_ETOOBIG : sy_buf_err(out);
}

/* The table's stream_end slot: close the open block, then the stop
 * reason and usage (message_delta) and message_stop. */
enum sy_err
sy_msurf_stream_end(void *st, const struct sy_chat_req *req,
                    const struct sy_usage *usage, const char *cost_usd,
                    struct sy_buf *out)
{
    (void)cost_usd;
    struct msurf_stream *s = st;
    if (s->ended)
        return SY_OK;
    if (!s->started)
        stream_start(s, req, NULL, out);
    held_flush(s, true, out);
    block_stop(s, out);
    const char *stop = s->finish ? s->finish : "end_turn";
    if (s->any_tool && strcmp(stop, "end_turn") == 0)
        stop = "tool_use";
    struct json_object *d = sy_adapter_obj("stop_reason", SY_JSTR(stop),
                                           "stop_sequence", NULL, NULL);
    event(out, "message_delta",
          sy_adapter_obj("type", SY_JSTR("message_delta"), "delta", d, "usage",
                         usage_json(usage), NULL));
    event(out, "message_stop",
          sy_adapter_obj("type", SY_JSTR("message_stop"), NULL));
    s->ended = true;
    return sy_buf_err(out);
}

/* The table's stream_error slot: an error event, which the Anthropic
 * SDKs raise as an APIError; nothing follows it. */
void
sy_msurf_stream_error(void *st, int status, const char *message,
                      const char *type, const char *code, struct sy_buf *out)
{
    (void)type;
    (void)code;
    struct msurf_stream *s = st;
    if (s != NULL && s->failed)
        return; /* its own error event ended the stream already */
    if (s != NULL) {
        s->ended = true;
        sy_msurf_calls_clear(s->calls);
    }
    sy_buf_puts(out, "event: error\ndata: ");
    error_json(out, status, message);
    sy_buf_puts(out, "\n\n");
}
