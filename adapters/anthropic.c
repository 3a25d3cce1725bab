/*
 * anthropic.c - adapter for the Anthropic Messages API (POST
 * {base_url}/messages): the adapter table, error classification, and
 * the reply side: Messages replies and stream events become OpenAI chat
 * completions and chunks (thinking as reasoning_content). The provider
 * keys and the request side (OpenAI chat requests into Messages
 * requests) are anthropic_request.c; the requests of callers who spoke
 * the Messages API themselves are anthropic_native.c; all share
 * anthropic_int.h. Structured output uses
 * output_config.format (or, with "structured_output": "tool", a forced
 * tool whose input is returned as the message content). No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_int.h"
#include "base/clock.h"

#include <string.h>

#include <json-c/json.h>

enum block_kind {
    BLOCK_OTHER,
    BLOCK_TEXT,
    BLOCK_TOOL,
    BLOCK_JSON,
    BLOCK_THINKING
};

/* Stream state of one content block (declared in anthropic_int.h). */
struct anthropic_block {
    enum block_kind kind;
    int tool;   /* OpenAI tool_calls index for BLOCK_TOOL */
    bool input; /* BLOCK_TOOL, BLOCK_JSON: input bytes were passed on */
    bool started, stopped; /* content_block_start, _stop seen */
    struct sy_buf *args;   /* BLOCK_TOOL, BLOCK_JSON: the input so far,
                              checked at content_block_stop (arena) */
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* Anthropic error types, the status they stand for, and our class. */
static const struct {
    const char *type;
    int status;
    enum sy_err err;
} error_types[] = {
    { "invalid_request_error", 400, SY_EUP_BADREQ },
    { "authentication_error", 401, SY_EUP_AUTH },
    { "billing_error", 402, SY_EUP_AUTH },
    { "permission_error", 403, SY_EUP_AUTH },
    { "not_found_error", 404, SY_EUP_5XX },
    { "conflict_error", 409, SY_EUP_5XX },
    { "request_too_large", 413, SY_EUP_BADREQ },
    { "rate_limit_error", 429, SY_EUP_RATELIMIT },
    { "api_error", 500, SY_EUP_5XX },
    { "timeout_error", 504, SY_EUP_TIMEOUT },
    { "overloaded_error", 529, SY_EUP_5XX },
};

static enum sy_err
class_of_status(int status)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(error_types); i++)
        if (error_types[i].status == status)
            return error_types[i].err;
    if (status == 408)
        return SY_EUP_TIMEOUT;
    if (status >= 400 && status < 500)
        return SY_EUP_BADREQ;
    return SY_EUP_5XX;
}

/* Classify an Anthropic error: 'err' is the "error" object of the body
 * (or NULL), 'status' the HTTP status (0 inside a 200 stream, where the
 * error type decides). */
static void
anthropic_error(struct sy_adapter_call *call, int status,
                struct json_object *err, struct sy_failure *f)
{
    struct sy_arena *a = call->arena;
    const char *type = sy_adapter_get_str(err, "type");
    const char *m = sy_adapter_get_str(err, "message");
    const char *msg =
        m ? sy_arena_strndup(a, m, SY_MIN(strlen(m), 512u)) : NULL;
    /* The HTTP status decides; inside a stream the error type does. */
    enum sy_err cls = status != 0 ? class_of_status(status) : SY_EUP_5XX;
    for (size_t i = 0;
         status == 0 && type != NULL && i < SY_ARRAY_LEN(error_types); i++)
        if (strcmp(type, error_types[i].type) == 0) {
            cls = error_types[i].err;
            status = error_types[i].status;
        }
    if (status == 0)
        status = 500; /* an error type added later: a server-side failure */
    f->status = status;
    f->err = cls;
    const char *what = type ? type : "error";
    switch (cls) {
    case SY_EUP_AUTH:
        f->message = status == 402
                         ? "the provider refused the gateway's account: "
                           "billing (HTTP 402)"
                         : sy_arena_printf(a,
                                           "the provider rejected the "
                                           "gateway's API key (HTTP %d)",
                                           status);
        break;
    case SY_EUP_RATELIMIT:
        f->message = sy_arena_printf(a,
                                     "rate limited by the provider (HTTP "
                                     "%d, %s)",
                                     status, what);
        if (f->retry_after_ms == 0)
            f->retry_after_ms = sy_adapter_reset_hint_ms(call);
        break;
    case SY_EUP_TIMEOUT:
        f->message =
            sy_arena_printf(a, "the provider timed out (HTTP %d)", status);
        break;
    case SY_EUP_BADREQ:
        /* A 400 about our account's money or limits is no caller error. */
        if (msg != NULL && strstr(msg, "credit balance") != NULL) {
            f->err = SY_EUP_AUTH;
            f->message = "the provider refused the gateway's account: "
                         "credit balance too low";
            break;
        }
        if (msg != NULL && (strstr(msg, "usage limit") != NULL ||
                            strstr(msg, "spend limit") != NULL)) {
            f->err = SY_EUP_RATELIMIT;
            f->message = "the provider's usage limit for the gateway's "
                         "account is reached";
            break;
        }
        f->message = msg ? msg
                         : sy_arena_printf(a,
                                           "the provider rejected the "
                                           "request (HTTP %d)",
                                           status);
        f->code = type;
        if (msg != NULL && strstr(msg, "prompt is too long") != NULL)
            f->code = "context_length_exceeded";
        if (f->code != NULL)
            f->code = sy_arena_strdup(a, f->code);
        break;
    default:
        if (status == 404)
            f->message = sy_arena_printf(a,
                                         "the provider answered 404 "
                                         "(%.200s): check the deployment's "
                                         "model and base_url",
                                         msg ? msg : "not found");
        else
            f->message =
                sy_arena_printf(a,
                                "provider error (HTTP %d, %s%s"
                                "%.200s)",
                                status, what, msg ? ": " : "", msg ? msg : "");
        break;
    }
}

static void
anthropic_classify(struct sy_adapter_call *call, int status, const char *body,
                   size_t len, struct sy_failure *f)
{
    struct json_object *root = sy_adapter_json_parse(body, len);
    anthropic_error(call, status, sy_adapter_get(root, "error"), f);
    json_object_put(root);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static const char *
finish_of(const char *stop_reason, bool json_tool)
{
    static const struct {
        const char *from, *to;
    } map[] = {
        { "end_turn", "stop" },
        { "stop_sequence", "stop" },
        { "pause_turn", "stop" },
        { "max_tokens", "length" },
        { "model_context_window_exceeded", "length" },
        { "tool_use", "tool_calls" },
        { "refusal", "content_filter" },
    };
    if (stop_reason == NULL)
        return "stop";
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++)
        if (strcmp(stop_reason, map[i].from) == 0)
            return json_tool && strcmp(map[i].to, "tool_calls") == 0
                       ? "stop"
                       : map[i].to;
    return "stop"; /* values added later: the safest reading */
}

/* Anthropic usage (input excludes the cache) into OpenAI meaning. The
 * callers set the one-hour part of the cache writes
 * (cache_write_1h_tokens); sy_usage_bound keeps it within the writes. */
static void
usage_of(struct sy_usage *u, int64_t in, int64_t cache_read,
         int64_t cache_write, int64_t out)
{
    u->present = true;
    /* Saturating: the counts are the provider's numbers (fuzz_adapter
     * found INT64_MAX + 32 here). */
    if (__builtin_add_overflow(in, cache_read, &u->prompt_tokens) ||
        __builtin_add_overflow(u->prompt_tokens, cache_write,
                               &u->prompt_tokens))
        u->prompt_tokens = INT64_MAX;
    u->completion_tokens = out;
    if (__builtin_add_overflow(u->prompt_tokens, out, &u->total_tokens))
        u->total_tokens = INT64_MAX;
    u->cached_tokens = cache_read;
    u->cache_write_tokens = cache_write;
    u->reasoning_tokens = 0;
}

/* Count 'key' of 'o' into '*out' when it is a number; false when it is
 * there (not null) but no number. */
static bool
count_at(struct json_object *o, const char *key, int64_t *out)
{
    return sy_adapter_get_int(o, key, out) || sy_adapter_get(o, key) == NULL;
}

/* The counts of a usage object; those it lacks are left as they were
 * (a stream's message_delta repeats some of message_start's). 'cw1h':
 * cache_creation.ephemeral_1h_input_tokens, the writes with ttl "1h",
 * which Anthropic bills above 5-minute ones. False when a count is
 * there but no number: the report cannot be billed (taking only its
 * numbers would bill less than was used), the attempt is then charged
 * an estimate, as one that reported nothing. */
static bool
read_usage(struct json_object *uo, int64_t *in, int64_t *cr, int64_t *cw,
           int64_t *cw1h, int64_t *out)
{
    bool ok = count_at(uo, "input_tokens", in);
    ok = count_at(uo, "cache_read_input_tokens", cr) && ok;
    ok = count_at(uo, "cache_creation_input_tokens", cw) && ok;
    ok = count_at(sy_adapter_get(uo, "cache_creation"),
                  "ephemeral_1h_input_tokens", cw1h) &&
         ok;
    return count_at(uo, "output_tokens", out) && ok;
}

/* Text goes from the provider's JSON strings to the canonical ones with
 * json-c's length, never as C strings: "\u0000" is valid JSON, and
 * strlen would cut the text at it, so the caller would get other text
 * than the provider sent. The helpers for it are
 * sy_adapter_str_member and friends (common.c). */

/* The content blocks of a reply into the canonical assistant message
 * '*msg': text as content, tool_use blocks as tool_calls (the JSON
 * tool's input as content), thinking as reasoning_content (DeepSeek's
 * name, which callers of reasoning models read). Signatures, redacted
 * thinking and server tool blocks are not shown. */
static enum sy_err
reply_message(struct sy_adapter_call *call, struct json_object *content,
              struct json_object **msg, struct sy_failure *f)
{
    struct anthropic_ctx *x = call->ctx;
    struct sy_buf text, thought;
    sy_buf_init(&text, SY_JSON_MAX);
    sy_buf_init(&thought, SY_JSON_MAX);
    struct json_object *calls = json_object_new_array();
    const char *json_text = NULL;
    enum sy_err e = SY_OK;
    size_t n = json_object_array_length(content);
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        struct json_object *b = json_object_array_get_idx(content, i);
        const char *bt = sy_adapter_get_str(b, "type");
        struct json_object *t = NULL;
        if (bt != NULL && strcmp(bt, "text") == 0 &&
            (t = sy_adapter_str_member(b, "text")) != NULL) {
            sy_adapter_buf_str(&text, t);
        } else if (bt != NULL && strcmp(bt, "thinking") == 0 &&
                   (t = sy_adapter_str_member(b, "thinking")) != NULL) {
            sy_adapter_buf_str(&thought, t);
        } else if (bt != NULL && strcmp(bt, "tool_use") == 0) {
            const char *id = sy_adapter_get_str(b, "id");
            const char *name = sy_adapter_get_str(b, "name");
            struct json_object *input = sy_adapter_get(b, "input");
            if (id == NULL || name == NULL) {
                e = sy_adapter_proto(f, "the provider's tool_use block has "
                                        "no id or name");
                break;
            }
            if (input != NULL && !sy_adapter_is(input, json_type_object)) {
                e = sy_adapter_proto(f, "the provider's tool_use input is "
                                        "not a JSON object");
                break;
            }
            const char *args = input ? sy_adapter_json_text(input, NULL) : "{}";
            if (x->json_tool && strcmp(name, ANTHROPIC_JSON_TOOL) == 0)
                json_text = args;
            else
                json_object_array_add(calls,
                                      sy_adapter_tool_call(id, name, args));
        }
    }
    if (e == SY_OK && (sy_buf_failed(&text) || sy_buf_failed(&thought)))
        e = sy_adapter_proto(f, "the provider's reply text is too large");
    if (e == SY_OK) {
        *msg = sy_adapter_obj(
            "role", SY_JSTR("assistant"), "content",
            json_text ? SY_JSTR(json_text)
            : text.len
                ? json_object_new_string_len(sy_buf_cstr(&text), (int)text.len)
                : NULL,
            NULL);
        if (thought.len > 0)
            json_object_object_add(
                *msg, "reasoning_content",
                json_object_new_string_len(sy_buf_cstr(&thought),
                                           (int)thought.len));
        if (json_object_array_length(calls) > 0)
            json_object_object_add(*msg, "tool_calls", json_object_get(calls));
    }
    json_object_put(calls);
    sy_buf_free(&text);
    sy_buf_free(&thought);
    return e;
}

/* The table's parse_response slot (see adapter.h). A caller who spoke
 * the Messages API (anthropic_native) gets the provider's body as it
 * came (resp->raw); the canonical reply is still made, for the usage,
 * the finish reason and the output contract. */
static enum sy_err
anthropic_parse_response(struct sy_adapter_call *call, const char *body,
                         size_t len, struct sy_chat_resp *resp,
                         struct sy_failure *f)
{
    struct anthropic_ctx *x = call->ctx;
    struct sy_arena *a = call->arena;
    struct json_object *root = sy_adapter_json_parse(body, len);
    if (!sy_adapter_is(root, json_type_object)) {
        json_object_put(root);
        return sy_adapter_proto(f, "the provider's reply is not a JSON "
                                   "object");
    }
    sy_arena_on_cleanup(a, sy_chat_json_free, root);
    const char *type = sy_adapter_get_str(root, "type");
    if (type != NULL && strcmp(type, "error") == 0) {
        anthropic_error(call, 0, sy_adapter_get(root, "error"), f);
        return f->err;
    }
    struct json_object *content = sy_adapter_get(root, "content");
    if (!sy_adapter_is(content, json_type_array))
        return sy_adapter_proto(f, "the provider's reply has no content "
                                   "array");
    struct json_object *msg = NULL;
    enum sy_err e = reply_message(call, content, &msg, f);
    if (e != SY_OK)
        return e;

    int64_t in = 0, cr = 0, cw = 0, cw1h = 0, out = 0;
    struct json_object *uo = sy_adapter_get(root, "usage");
    if (uo != NULL) {
        if (read_usage(uo, &in, &cr, &cw, &cw1h, &out)) {
            usage_of(&resp->usage, in, cr, cw, out);
            resp->usage.cache_write_1h_tokens = cw1h;
        }
    }
    const char *fr =
        finish_of(sy_adapter_get_str(root, "stop_reason"), x->json_tool);
    const char *id = sy_adapter_get_str(root, "id");
    const char *model = sy_adapter_get_str(root, "model");
    struct json_object *out_root = sy_adapter_completion(
        id ? id : "msg", (int64_t)sy_wall_s(),
        model ? model : call->target->model, msg, fr, &resp->usage);
    resp->finish_reason = fr;
    resp->upstream_model = model;
    e = sy_adapter_set_response(call, resp, out_root);
    if (e == SY_OK && anthropic_native(call)) {
        resp->raw = body;
        resp->raw_len = len;
    }
    return e;
}

/* ------------------------------------------------------------------ */
/* Streaming                                                           */

static enum sy_err
emit_delta(struct anthropic_ctx *x, struct json_object *delta,
           const char *finish)
{
    return sy_adapter_emit_json(
        x->emit, x->emit_ud,
        sy_adapter_chunk(x->id, x->created, x->model, delta, finish), NULL,
        false);
}

static enum sy_err
stream_start(struct anthropic_ctx *x, struct json_object *msg)
{
    struct sy_arena *a = x->call->arena;
    if (x->started)
        return sy_adapter_proto(x->f, "the provider sent a second "
                                      "message_start");
    const char *id = sy_adapter_get_str(msg, "id");
    const char *model = sy_adapter_get_str(msg, "model");
    x->id = sy_arena_strdup(a, id ? id : "msg");
    x->model = sy_arena_strdup(a, model ? model : x->call->target->model);
    x->created = (int64_t)sy_wall_s();
    x->started = true;
    if (!read_usage(sy_adapter_get(msg, "usage"), &x->in, &x->cache_read,
                    &x->cache_write, &x->cache_write_1h, &x->out))
        x->usage_bad = true;
    return sy_adapter_emit_opening(x->emit, x->emit_ud, x->id, x->created,
                                   x->model);
}

/* The state of block 'index' (grown on demand, in the arena). */
static struct anthropic_block *
block_at(struct anthropic_ctx *x, int64_t index)
{
    if (index < 0 || index >= SY_ANTHROPIC_MAX_BLOCKS)
        return NULL;
    size_t i = (size_t)index;
    if (i >= x->nblocks) {
        size_t n = SY_MAX(i + 1, x->nblocks * 2);
        struct anthropic_block *b =
            sy_arena_zalloc(x->call->arena, n * sizeof(*b));
        if (x->nblocks > 0)
            memcpy(b, x->blocks, x->nblocks * sizeof(*b));
        x->blocks = b;
        x->nblocks = n;
    }
    return &x->blocks[i];
}

/* A piece of thinking (a JSON string, or NULL), as the
 * reasoning_content of a delta (DeepSeek's name, as in replies). */
static enum sy_err
emit_reasoning(struct anthropic_ctx *x, struct json_object *piece)
{
    if (!sy_adapter_has_text(piece))
        return SY_OK;
    return emit_delta(
        x,
        sy_adapter_obj("reasoning_content", sy_adapter_str_copy(piece), NULL),
        NULL);
}

/* Arena cleanup of a block's input buffer. */
static void
args_free(void *p)
{
    sy_buf_free(p);
}

static enum sy_err
on_block_start(struct anthropic_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "index", &index);
    struct anthropic_block *b = block_at(x, index);
    struct json_object *cb = sy_adapter_get(o, "content_block");
    const char *type = sy_adapter_get_str(cb, "type");
    if (b == NULL || type == NULL)
        return sy_adapter_proto(x->f, "the provider sent a content block "
                                      "without index or type");
    if (b->started)
        return sy_adapter_proto(x->f, "the provider started a content "
                                      "block twice");
    b->started = true;
    b->input = false;
    if (strcmp(type, "text") == 0) {
        b->kind = BLOCK_TEXT;
        struct json_object *t = sy_adapter_str_member(cb, "text");
        if (sy_adapter_has_text(t))
            return emit_delta(
                x, sy_adapter_obj("content", sy_adapter_str_copy(t), NULL),
                NULL);
        return SY_OK;
    }
    if (strcmp(type, "thinking") == 0) {
        b->kind = BLOCK_THINKING;
        return emit_reasoning(x, sy_adapter_str_member(cb, "thinking"));
    }
    if (strcmp(type, "tool_use") != 0) {
        b->kind = BLOCK_OTHER;
        return SY_OK;
    }
    const char *id = sy_adapter_get_str(cb, "id");
    const char *name = sy_adapter_get_str(cb, "name");
    if (id == NULL || name == NULL)
        return sy_adapter_proto(x->f, "the provider's tool_use block has no "
                                      "id or name");
    b->args = sy_arena_zalloc(x->call->arena, sizeof(*b->args));
    sy_buf_init(b->args, SY_JSON_MAX);
    sy_arena_on_cleanup(x->call->arena, args_free, b->args);
    if (x->json_tool && strcmp(name, ANTHROPIC_JSON_TOOL) == 0) {
        b->kind = BLOCK_JSON;
        return SY_OK;
    }
    b->kind = BLOCK_TOOL;
    b->tool = x->ntools++;
    struct json_object *tc = sy_adapter_tool_call(id, name, "");
    json_object_object_add(tc, "index", json_object_new_int(b->tool));
    return emit_delta(
        x, sy_adapter_obj("tool_calls", sy_adapter_arr1(tc), NULL), NULL);
}

/* Pass on a piece of block 'b' ('n' bytes: it may hold a NUL): text,
 * the JSON tool's input (as content) or a tool's input (as arguments of
 * its call). */
static enum sy_err
emit_input(struct anthropic_ctx *x, struct anthropic_block *b,
           const char *piece, size_t n)
{
    b->input = true;
    if (b->args != NULL && sy_buf_append(b->args, piece, n) != SY_OK)
        return sy_adapter_proto(x->f, "the provider's tool_use input is "
                                      "too large");
    struct json_object *v = json_object_new_string_len(piece, (int)n);
    if (b->kind != BLOCK_TOOL) /* text, or the JSON tool's input: content */
        return emit_delta(x, sy_adapter_obj("content", v, NULL), NULL);
    struct json_object *tc =
        sy_adapter_obj("index", json_object_new_int(b->tool), "function",
                       sy_adapter_obj("arguments", v, NULL), NULL);
    return emit_delta(
        x, sy_adapter_obj("tool_calls", sy_adapter_arr1(tc), NULL), NULL);
}

static enum sy_err
on_block_delta(struct anthropic_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "index", &index);
    struct anthropic_block *b = block_at(x, index);
    struct json_object *delta = sy_adapter_get(o, "delta");
    const char *type = sy_adapter_get_str(delta, "type");
    if (b == NULL || type == NULL)
        return sy_adapter_proto(x->f, "the provider sent a block delta "
                                      "without index or type");
    if (!b->started || b->stopped)
        return sy_adapter_proto(x->f, "the provider sent a block delta "
                                      "outside its content_block_start and "
                                      "content_block_stop");
    if (b->kind == BLOCK_OTHER)
        return SY_OK; /* server tools and the like: not shown (as in
                         replies) */
    struct json_object *piece = NULL;
    if (strcmp(type, "thinking_delta") == 0)
        return emit_reasoning(x, sy_adapter_str_member(delta, "thinking"));
    if (strcmp(type, "text_delta") == 0)
        piece = sy_adapter_str_member(delta, "text");
    else if (strcmp(type, "input_json_delta") == 0)
        piece = sy_adapter_str_member(delta, "partial_json");
    if (!sy_adapter_has_text(piece))
        return SY_OK; /* signatures, citations: not shown */
    return emit_input(x, b, json_object_get_string(piece),
                      (size_t)json_object_get_string_len(piece));
}

/* The end of a tool_use block 'b' (BLOCK_TOOL, BLOCK_JSON): a tool
 * called without input streams no partial_json (or one empty one),
 * which would leave the caller with arguments "" that JSON.parse
 * refuses; Anthropic's own reading of an empty input is {}, so that is
 * what the caller gets. Input that was streamed must be a JSON object,
 * as a reply's tool_use input must; one that is not is noted, and
 * judged at the stop reason (stream_finish): an answer cut by its
 * length may end inside a tool's input. */
static enum sy_err
tool_input_end(struct anthropic_ctx *x, struct anthropic_block *b)
{
    if (!b->input)
        return emit_input(x, b, "{}", 2);
    struct json_object *in =
        sy_adapter_json_parse(sy_buf_cstr(b->args), b->args->len);
    if (!sy_adapter_is(in, json_type_object))
        x->bad_input = true;
    json_object_put(in);
    sy_buf_free(b->args);
    return SY_OK;
}

static enum sy_err
on_block_stop(struct anthropic_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "index", &index);
    struct anthropic_block *b =
        index >= 0 && (size_t)index < x->nblocks ? &x->blocks[index] : NULL;
    if (b == NULL || !b->started || b->stopped)
        return sy_adapter_proto(x->f, "the provider stopped a content "
                                      "block it had not started");
    b->stopped = true;
    if (b->kind != BLOCK_TOOL && b->kind != BLOCK_JSON)
        return SY_OK;
    return tool_input_end(x, b);
}

static enum sy_err
stream_finish(struct anthropic_ctx *x)
{
    if (x->finished)
        return SY_OK;
    x->finished = true;
    /* A tool block the stream never closed still gets its "{}", or
     * its input checked. */
    for (size_t i = 0; i < x->nblocks; i++) {
        struct anthropic_block *b = &x->blocks[i];
        enum sy_err e = SY_OK;
        if (b->started && !b->stopped &&
            (b->kind == BLOCK_TOOL || b->kind == BLOCK_JSON)) {
            b->stopped = true;
            e = tool_input_end(x, b);
        }
        if (e != SY_OK)
            return e;
    }
    /* A broken input is the provider's fault unless the answer says it
     * was cut: by its length (max_tokens, the context window) or by a
     * refusal (a refused request is no protocol error to fail over
     * from). No stop reason at all is no excuse. */
    static const char *const cut[] = { "max_tokens",
                                       "model_context_window_exceeded",
                                       "refusal", NULL };
    const char *fr = finish_of(x->stop_reason, x->json_tool);
    if (x->bad_input &&
        (x->stop_reason == NULL || !sy_adapter_str_in(x->stop_reason, cut)))
        return sy_adapter_proto(x->f, "the provider's tool_use input is not "
                                      "a JSON object");
    return emit_delta(x, NULL, fr);
}

static enum sy_err
on_message_stop(struct anthropic_ctx *x)
{
    enum sy_err e = stream_finish(x);
    if (e != SY_OK)
        return e;
    if (!x->usage_bad) { /* else no usage: the attempt is estimated */
        usage_of(&x->usage, x->in, x->cache_read, x->cache_write, x->out);
        x->usage.cache_write_1h_tokens = x->cache_write_1h;
        e = sy_adapter_emit_json(
            x->emit, x->emit_ud,
            sy_adapter_usage_chunk(x->id, x->created, x->model, &x->usage),
            &x->usage, true);
    }
    x->done = true;
    return e != SY_OK ? e : sy_adapter_emit_done(x->emit, x->emit_ud);
}

/* The table's stream_event slot (see adapter.h): one Messages stream
 * event, or the end of the stream (ev == NULL), which must come after
 * message_stop. The events must come in the protocol's order:
 * message_start once and first; each content block started once, its
 * deltas between its start and its stop, none after message_delta's
 * stop_reason; anything else is a broken stream (SY_EUP_PROTO), never
 * passed on (core/api/sse.c relays only the events taken here). What
 * follows message_stop is ignored, and not relayed either. */
static enum sy_err
anthropic_stream_event(struct sy_adapter_call *call,
                       const struct sy_sse_event *ev, sy_emit_fn emit, void *ud,
                       struct sy_failure *f)
{
    struct anthropic_ctx *x = call->ctx;
    x->call = call;
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    if (ev == NULL)
        return x->done ? SY_OK
                       : sy_adapter_proto(f, "the stream ended before "
                                             "message_stop");
    if (x->done) /* after message_stop: ignored (and not relayed) */
        return SY_OK;
    struct json_object *o = sy_adapter_json_parse(ev->data, ev->len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider sent a malformed stream "
                                      "event");
    }
    const char *type = sy_adapter_get_str(o, "type");
    if (type == NULL)
        type = ev->name;
    enum sy_err e = SY_OK;
    if (strcmp(type, "error") == 0) {
        anthropic_error(x->call, 0, sy_adapter_get(o, "error"), x->f);
        x->f->message = sy_arena_printf(x->call->arena,
                                        "error event in the "
                                        "stream: %s",
                                        x->f->message);
        e = x->f->err;
    } else if (strcmp(type, "ping") == 0) {
        e = SY_OK;
    } else if (strcmp(type, "message_start") == 0) {
        e = stream_start(x, sy_adapter_get(o, "message"));
    } else if (strncmp(type, "content_block_", 14) == 0 ||
               strncmp(type, "message_", 8) == 0) {
        e = x->started ? SY_OK
                       : sy_adapter_proto(x->f, "the provider's stream did "
                                                "not begin with "
                                                "message_start");
        if (e == SY_OK && x->finished && type[0] == 'c')
            e = sy_adapter_proto(x->f, "the provider sent a content block "
                                       "event after the message's "
                                       "stop_reason");
        else if (e == SY_OK && strcmp(type, "content_block_start") == 0)
            e = on_block_start(x, o);
        else if (e == SY_OK && strcmp(type, "content_block_delta") == 0)
            e = on_block_delta(x, o);
        else if (e == SY_OK && strcmp(type, "content_block_stop") == 0)
            e = on_block_stop(x, o);
        else if (e == SY_OK && strcmp(type, "message_delta") == 0) {
            const char *sr =
                sy_adapter_get_str(sy_adapter_get(o, "delta"), "stop_reason");
            if (sr != NULL)
                x->stop_reason = sy_arena_strdup(x->call->arena, sr);
            if (!read_usage(sy_adapter_get(o, "usage"), &x->in, &x->cache_read,
                            &x->cache_write, &x->cache_write_1h, &x->out))
                x->usage_bad = true;
            if (sr != NULL)
                e = stream_finish(x);
        } else if (e == SY_OK && strcmp(type, "message_stop") == 0) {
            e = on_message_stop(x);
        }
    }
    /* other event types (added later) are ignored */
    json_object_put(o);
    return e;
}

/* The table's build_request slot (see adapter.h): the caller's own
 * Messages request when it spoke that API, else the translation of its
 * chat request. */
static enum sy_err
anthropic_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    return anthropic_native(call) ? sy_anthropic_native_request(call, out)
                                  : sy_anthropic_build_request(call, out);
}

const struct sy_adapter sy_adapter_anthropic = {
    .abi = SY_ADAPTER_ABI,
    .name = "anthropic",
    .caps = SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |
            SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION |
            SY_CAP_STREAM_USAGE,
    .ctx_size = sizeof(struct anthropic_ctx),
    .conf_keys = sy_anthropic_keys,
    .init = sy_anthropic_init,
    .build_request = anthropic_build_request,
    .parse_response = anthropic_parse_response,
    .stream_event = anthropic_stream_event,
    .build_count = sy_anthropic_native_count,
    .classify = anthropic_classify,
};
