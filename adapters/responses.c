/*
 * responses.c - adapter for the OpenAI Responses API (provider type
 * "openai-responses": POST {base_url}/responses): the adapter table,
 * error classification, and the reply side: Response objects and
 * stream events become OpenAI chat completions and chunks (reasoning
 * summaries as reasoning_content, function_call items as tool_calls).
 * Every closing event (*.done, response.completed) must repeat what
 * the deltas said: responses_done.c keeps and checks it.
 * The request side (chat requests into Responses requests) is
 * responses_request.c; the requests of callers who spoke the Responses
 * API themselves are responses_native.c; all share responses_int.h.
 * No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_int.h"
#include "base/clock.h"

#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* Error codes of a failed response (ResponseError.code) that blame the
 * request: the prompt, its images, the account's policies. */
static const char *const caller_codes[] = { "invalid_prompt",
                                            "context_length_exceeded",
                                            "data_residency_mismatch",
                                            "bio_policy",
                                            "misalignment_policy_violation",
                                            "unsupported_image_media_type",
                                            "empty_image_file",
                                            "failed_to_download_image",
                                            "invalid_request_error",
                                            NULL };

/* Codes that say the provider refused the gateway's key or account,
 * not the request: an auth failure (the key is parked, the next one or
 * the next deployment answers), never the caller's 400. */
static const char *const auth_codes[] = { "invalid_api_key",
                                          "invalid_organization",
                                          "account_deactivated", NULL };

/* The HTTP status a failure reported inside a 200 reply or stream
 * stands for, from its code (or its type when it has none): the key
 * refused 401, rate limits 429, timeouts 504, the request's fault 400,
 * anything else (server errors, codes added later) 500. */
static int
status_of_error(struct json_object *err)
{
    const char *code = sy_adapter_get_str(err, "code");
    if (code == NULL)
        code = sy_adapter_get_str(err, "type");
    if (code == NULL)
        return 500;
    if (sy_adapter_str_in(code, auth_codes))
        return 401;
    if (strcmp(code, "rate_limit_exceeded") == 0 ||
        strcmp(code, "insufficient_quota") == 0 ||
        strcmp(code, "tokens") == 0 || strcmp(code, "requests") == 0)
        return 429;
    if (strcmp(code, "vector_store_timeout") == 0)
        return 504;
    if (sy_adapter_str_in(code, caller_codes) ||
        strncmp(code, "invalid_", 8) == 0 || strncmp(code, "image_", 6) == 0)
        return 400;
    return 500;
}

/* Classify the error object 'err' (NULL: none given) of a failed
 * response or an error event as an OpenAI error reply of the status it
 * stands for. */
static void
responses_error(struct sy_adapter_call *call, struct json_object *err,
                struct sy_failure *f)
{
    struct json_object *wrap =
        sy_adapter_obj("error", err ? json_object_get(err) : NULL, NULL);
    size_t len;
    const char *text = sy_adapter_json_text(wrap, &len);
    sy_adapter_openai_error(call, status_of_error(err), text, len, f);
    json_object_put(wrap);
}

/* The table's classify slot: Responses errors are OpenAI error bodies. */
static void
responses_classify(struct sy_adapter_call *call, int status, const char *body,
                   size_t len, struct sy_failure *f)
{
    sy_adapter_openai_error(call, status, body, len, f);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Response usage into OpenAI meaning (the same meaning: input includes
 * the cached tokens, output the reasoning tokens). */
static void
usage_of(struct json_object *uo, struct sy_usage *u)
{
    if (!sy_adapter_is(uo, json_type_object))
        return;
    struct json_object *in = sy_adapter_get(uo, "input_tokens_details");
    struct json_object *out = sy_adapter_get(uo, "output_tokens_details");
    memset(u, 0, sizeof(*u));
    /* A count that is there but no number: unusable, as none at all (an
     * estimate is charged), not billed by its numeric parts alone. */
    static const char *const counts[] = { "input_tokens", "output_tokens",
                                          "total_tokens" };
    for (size_t i = 0; i < SY_ARRAY_LEN(counts); i++) {
        struct json_object *v = sy_adapter_get(uo, counts[i]);
        if (v != NULL && !sy_adapter_is(v, json_type_int) &&
            !sy_adapter_is(v, json_type_double))
            return;
    }
    u->present = true;
    sy_adapter_get_int(uo, "input_tokens", &u->prompt_tokens);
    sy_adapter_get_int(uo, "output_tokens", &u->completion_tokens);
    sy_adapter_get_int(in, "cached_tokens", &u->cached_tokens);
    sy_adapter_get_int(in, "cache_write_tokens", &u->cache_write_tokens);
    sy_adapter_get_int(out, "reasoning_tokens", &u->reasoning_tokens);
    /* Saturating: the counts are the provider's numbers. */
    if (!sy_adapter_get_int(uo, "total_tokens", &u->total_tokens) &&
        __builtin_add_overflow(u->prompt_tokens, u->completion_tokens,
                               &u->total_tokens))
        u->total_tokens = INT64_MAX;
}

/* The finish reason of a response of status 'status' ("incomplete":
 * why, in 'details') that made 'ncalls' function calls. */
static const char *
finish_of(const char *status, struct json_object *details, size_t ncalls)
{
    if (status != NULL && strcmp(status, "incomplete") == 0) {
        const char *why = sy_adapter_get_str(details, "reason");
        return why != NULL && strcmp(why, "content_filter") == 0
                   ? "content_filter"
                   : "length";
    }
    return ncalls > 0 ? "tool_calls" : "stop";
}

/* The texts of 'parts' of type 'type' (their "text") appended to 'b',
 * a blank line between parts. */
static void
append_texts(struct sy_buf *b, struct json_object *parts, const char *type)
{
    size_t n = sy_adapter_is(parts, json_type_array)
                   ? json_object_array_length(parts)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(parts, i);
        const char *pt = sy_adapter_get_str(p, "type");
        const char *t = sy_adapter_get_str(p, "text");
        if (pt == NULL || t == NULL || strcmp(pt, type) != 0 || t[0] == '\0')
            continue;
        if (b->len > 0)
            sy_buf_puts(b, "\n\n");
        sy_buf_puts(b, t);
    }
}

/* One message item's content parts: output_text into 'text', refusals
 * into 'refusal'. */
static void
message_texts(struct json_object *item, struct sy_buf *text,
              struct sy_buf *refusal)
{
    struct json_object *content = sy_adapter_get(item, "content");
    size_t n = sy_adapter_is(content, json_type_array)
                   ? json_object_array_length(content)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(content, i);
        const char *pt = sy_adapter_get_str(p, "type");
        const char *t = NULL;
        if (pt != NULL && strcmp(pt, "output_text") == 0 &&
            (t = sy_adapter_get_str(p, "text")) != NULL)
            sy_buf_puts(text, t);
        else if (pt != NULL && strcmp(pt, "refusal") == 0 &&
                 (t = sy_adapter_get_str(p, "refusal")) != NULL)
            sy_buf_puts(refusal, t);
    }
}

/* A string member of the message, or nothing when 'b' is empty. */
static void
add_text(struct json_object *msg, const char *key, const struct sy_buf *b)
{
    if (b->len > 0)
        json_object_object_add(
            msg, key, json_object_new_string_len(sy_buf_cstr(b), (int)b->len));
}

/* The output items of a reply into the canonical assistant message
 * '*msg': output_text as content, refusals as refusal, function_call
 * items as tool_calls, reasoning summaries (and reasoning text) as
 * reasoning_content. Encrypted reasoning and built-in tool items are
 * not shown. */
static enum sy_err
reply_message(struct json_object *output, struct json_object **msg,
              size_t *ncalls, struct sy_failure *f)
{
    struct sy_buf text, thought, refusal;
    sy_buf_init(&text, SY_JSON_MAX);
    sy_buf_init(&thought, SY_JSON_MAX);
    sy_buf_init(&refusal, SY_JSON_MAX);
    struct json_object *calls = json_object_new_array();
    enum sy_err e = SY_OK;
    size_t n = json_object_array_length(output);
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        struct json_object *it = json_object_array_get_idx(output, i);
        const char *type = sy_adapter_get_str(it, "type");
        if (type == NULL)
            continue;
        if (strcmp(type, "message") == 0) {
            message_texts(it, &text, &refusal);
        } else if (strcmp(type, "reasoning") == 0) {
            append_texts(&thought, sy_adapter_get(it, "summary"),
                         "summary_text");
            append_texts(&thought, sy_adapter_get(it, "content"),
                         "reasoning_text");
        } else if (strcmp(type, "function_call") == 0) {
            const char *id = sy_adapter_get_str(it, "call_id");
            const char *name = sy_adapter_get_str(it, "name");
            const char *args = sy_adapter_get_str(it, "arguments");
            if (id == NULL || name == NULL)
                e = sy_adapter_proto(f, "the provider's function_call item "
                                        "has no call_id or name");
            else
                json_object_array_add(
                    calls, sy_adapter_tool_call(id, name,
                                                args && args[0] ? args : "{}"));
        }
    }
    if (e == SY_OK && (sy_buf_failed(&text) || sy_buf_failed(&thought) ||
                       sy_buf_failed(&refusal)))
        e = sy_adapter_proto(f, "the provider's reply text is too large");
    if (e == SY_OK) {
        *msg =
            sy_adapter_obj("role", SY_JSTR("assistant"), "content", NULL, NULL);
        add_text(*msg, "content", &text);
        add_text(*msg, "refusal", &refusal);
        add_text(*msg, "reasoning_content", &thought);
        *ncalls = json_object_array_length(calls);
        if (*ncalls > 0)
            json_object_object_add(*msg, "tool_calls", json_object_get(calls));
    }
    json_object_put(calls);
    sy_buf_free(&text);
    sy_buf_free(&thought);
    sy_buf_free(&refusal);
    return e;
}

/* The table's parse_response slot (see adapter.h). A caller who spoke
 * the Responses API (responses_native) gets the provider's body as it
 * came (resp->raw); the canonical reply is still made, for the usage,
 * the finish reason and the output contract. */
static enum sy_err
responses_parse_response(struct sy_adapter_call *call, const char *body,
                         size_t len, struct sy_chat_resp *resp,
                         struct sy_failure *f)
{
    struct json_object *root = sy_adapter_json_parse(body, len);
    if (!sy_adapter_is(root, json_type_object)) {
        json_object_put(root);
        return sy_adapter_proto(f, "the provider's reply is not a JSON "
                                   "object");
    }
    sy_arena_on_cleanup(call->arena, sy_chat_json_free, root);
    const char *status = sy_adapter_get_str(root, "status");
    struct json_object *err = sy_adapter_get(root, "error");
    if (sy_adapter_is(err, json_type_object) ||
        (status != NULL && strcmp(status, "failed") == 0)) {
        responses_error(call, err, f);
        return f->err;
    }
    if (status != NULL && strcmp(status, "completed") != 0 &&
        strcmp(status, "incomplete") != 0)
        return sy_adapter_proto(f, sy_arena_printf(call->arena,
                                                   "the provider's response "
                                                   "is not finished "
                                                   "(status %.40s)",
                                                   status));
    struct json_object *output = sy_adapter_get(root, "output");
    if (!sy_adapter_is(output, json_type_array))
        return sy_adapter_proto(f, "the provider's reply has no output "
                                   "array");
    struct json_object *msg = NULL;
    size_t ncalls = 0;
    enum sy_err e = reply_message(output, &msg, &ncalls, f);
    if (e != SY_OK)
        return e;
    usage_of(sy_adapter_get(root, "usage"), &resp->usage);
    const char *fr =
        finish_of(status, sy_adapter_get(root, "incomplete_details"), ncalls);
    const char *id = sy_adapter_get_str(root, "id");
    const char *model = sy_adapter_get_str(root, "model");
    int64_t created = 0;
    if (!sy_adapter_get_int(root, "created_at", &created))
        created = (int64_t)sy_wall_s();
    struct json_object *out_root = sy_adapter_completion(
        id ? id : "resp", created, model ? model : call->target->model, msg, fr,
        &resp->usage);
    resp->finish_reason = fr;
    resp->upstream_model = model;
    e = sy_adapter_set_response(call, resp, out_root);
    if (e == SY_OK && responses_native(call)) {
        resp->raw = body;
        resp->raw_len = len;
    }
    return e;
}

/* ------------------------------------------------------------------ */
/* Streaming                                                           */

static enum sy_err
emit_delta(struct responses_ctx *x, struct json_object *delta,
           const char *finish)
{
    return sy_adapter_emit_json(
        x->emit, x->emit_ud,
        sy_adapter_chunk(x->id, x->created, x->model, delta, finish), NULL,
        false);
}

/* A piece of 'key' (content, refusal, reasoning_content) as a delta. */
static enum sy_err
emit_piece(struct responses_ctx *x, const char *key, const char *piece)
{
    if (piece == NULL || piece[0] == '\0')
        return SY_OK;
    return emit_delta(x, sy_adapter_obj(key, SY_JSTR(piece), NULL), NULL);
}

/* The role chunk, once, with the id, model and time of 'response' (the
 * Response object of response.created, or NULL). */
static enum sy_err
stream_start(struct responses_ctx *x, struct json_object *response)
{
    struct sy_arena *a = x->call->arena;
    if (x->started)
        return SY_OK;
    const char *id = sy_adapter_get_str(response, "id");
    const char *model = sy_adapter_get_str(response, "model");
    x->id = sy_arena_strdup(a, id ? id : "resp");
    x->model = sy_arena_strdup(a, model ? model : x->call->target->model);
    if (!sy_adapter_get_int(response, "created_at", &x->created))
        x->created = (int64_t)sy_wall_s();
    x->started = true;
    return sy_adapter_emit_opening(x->emit, x->emit_ud, x->id, x->created,
                                   x->model);
}

/* Pass on a piece of the arguments of call item 'it'. */
static enum sy_err
emit_args(struct responses_ctx *x, struct responses_item *it, const char *piece)
{
    it->args = true;
    struct json_object *tc =
        sy_adapter_obj("index", json_object_new_int(it->tool), "function",
                       sy_adapter_obj("arguments", SY_JSTR(piece), NULL), NULL);
    return emit_delta(
        x, sy_adapter_obj("tool_calls", sy_adapter_arr1(tc), NULL), NULL);
}

/* A string member 'key' of 'o' with its length, or NULL. */
static const char *
str_len(struct json_object *o, const char *key, size_t *len)
{
    struct json_object *v = sy_adapter_get(o, key);
    if (!sy_adapter_is(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* The item state of event 'o', or a protocol failure without one. */
static enum sy_err
event_item(struct responses_ctx *x, struct json_object *o,
           struct responses_item **it)
{
    *it = sy_responses_item_at(x, o);
    return *it != NULL ? SY_OK
                       : sy_adapter_proto(x->f, "the provider sent an item "
                                                "event without a usable "
                                                "output_index");
}

/* The text of a part that came whole in a closing event, without
 * deltas: the chat caller gets it as one delta. */
static enum sy_err
fill_text(struct responses_ctx *x, bool refusal, const char *text)
{
    return emit_piece(x, refusal ? "refusal" : "content", text);
}

/* output_text.delta or refusal.delta: kept (for the closing events to
 * be checked against) and passed on. */
static enum sy_err
on_text(struct responses_ctx *x, struct json_object *o, bool refusal)
{
    struct responses_item *it;
    enum sy_err e = event_item(x, o, &it);
    if (e == SY_OK)
        e = sy_responses_text(x, it, o, refusal);
    if (e != SY_OK)
        return e;
    return emit_piece(x, refusal ? "refusal" : "content",
                      sy_adapter_get_str(o, "delta"));
}

/* output_text.done, refusal.done ('key': the member holding the text)
 * or content_part.done ('key' NULL): the same text as the deltas. */
static enum sy_err
on_text_done(struct responses_ctx *x, struct json_object *o, const char *key)
{
    struct responses_item *it;
    enum sy_err e = event_item(x, o, &it);
    return e != SY_OK ? e : sy_responses_part_done(x, it, o, key, fill_text);
}

/* A function_call item, first seen: its id and name, as a new tool call
 * of the chunk stream. */
static enum sy_err
announce_call(struct responses_ctx *x, struct responses_item *it,
              struct json_object *item)
{
    const char *id = sy_adapter_get_str(item, "call_id");
    const char *name = sy_adapter_get_str(item, "name");
    if (id == NULL || name == NULL)
        return sy_adapter_proto(x->f, "the provider's function_call item has "
                                      "no output_index, call_id or name");
    it->call_id = sy_arena_strdup(x->call->arena, id);
    it->name = sy_arena_strdup(x->call->arena, name);
    it->tool = x->ntools++;
    struct json_object *tc = sy_adapter_tool_call(id, name, "");
    json_object_object_add(tc, "index", json_object_new_int(it->tool));
    return emit_delta(
        x, sy_adapter_obj("tool_calls", sy_adapter_arr1(tc), NULL), NULL);
}

/* A function_call item's arguments that came whole (output_item.done,
 * function_call_arguments.done): the same as the deltas', or, when none
 * came, the arguments themselves. */
static enum sy_err
whole_args(struct responses_ctx *x, struct responses_item *it,
           struct json_object *o, const char *key)
{
    size_t len = 0;
    bool fresh = false;
    const char *args = str_len(o, key, &len);
    if (args == NULL)
        return SY_OK;
    enum sy_err e = sy_responses_args_done(x, it, args, len, &fresh);
    return e == SY_OK && fresh ? emit_args(x, it, args) : e;
}

/* Whether an added item of no usable output_index may be let pass, as
 * before the closing events were checked: no function call, no content
 * (nothing its caller could act on, and nothing to check later). */
static bool
announces_nothing(struct json_object *item)
{
    const char *type = sy_adapter_get_str(item, "type");
    struct json_object *content = sy_adapter_get(item, "content");
    return type != NULL && strcmp(type, "function_call") != 0 &&
           (content == NULL || (sy_adapter_is(content, json_type_array) &&
                                json_object_array_length(content) == 0));
}

/* output_item.added, or output_item.done ('done'), which must repeat
 * what the item's events said (an item never announced begins there).
 * Function calls become tool calls of the chunk stream; other items
 * are followed only to check their closing events. */
static enum sy_err
on_item(struct responses_ctx *x, struct json_object *o, bool done)
{
    struct json_object *item = sy_adapter_get(o, "item");
    struct responses_item *it;
    if (!done && sy_responses_item_at(x, o) == NULL && announces_nothing(item))
        return SY_OK;
    enum sy_err e = event_item(x, o, &it);
    if (e != SY_OK)
        return e;
    bool fresh = it->kind == RESPONSES_UNSEEN;
    e = sy_responses_kind(x, it, sy_adapter_get_str(item, "type"));
    if (e == SY_OK && it->kind == RESPONSES_CALL)
        e = fresh ? announce_call(x, it, item)
                  : sy_responses_item_done(x, it, item, NULL);
    if (e != SY_OK || !done)
        return e;
    if (it->kind == RESPONSES_CALL)
        return whole_args(x, it, item, "arguments");
    return sy_responses_item_done(x, it, item, fill_text);
}

/* function_call_arguments.delta (or .done, whose whole arguments must
 * be those of the deltas, or are the arguments when none came). */
static enum sy_err
on_args(struct responses_ctx *x, struct json_object *o, bool done)
{
    struct responses_item *it = sy_responses_item_at(x, o);
    if (it == NULL || it->kind != RESPONSES_CALL)
        return sy_adapter_proto(x->f, "the provider sent function call "
                                      "arguments for no function call");
    if (done)
        return whole_args(x, it, o, "arguments");
    size_t len = 0;
    const char *piece = str_len(o, "delta", &len);
    if (piece == NULL || len == 0)
        return SY_OK;
    enum sy_err e = sy_responses_args(x, it, piece, len);
    return e != SY_OK || piece[0] == '\0' ? e : emit_args(x, it, piece);
}

/* response.completed or response.incomplete: its output must be what
 * the stream sent; every call gets arguments ("{}" when none came,
 * which JSON.parse takes), then the finish chunk, the usage chunk and
 * the end. */
static enum sy_err on_failure(struct responses_ctx *x, struct json_object *err);

static enum sy_err
on_end(struct responses_ctx *x, struct json_object *response)
{
    /* A "completed" event whose response says it failed, or carries an
     * error, is a failure, as the whole reply of that status is
     * (responses_parse_response): never a finished answer. */
    const char *status = sy_adapter_get_str(response, "status");
    struct json_object *err = sy_adapter_get(response, "error");
    if (sy_adapter_is(err, json_type_object) ||
        (status != NULL && strcmp(status, "failed") == 0))
        return on_failure(x, sy_adapter_is(err, json_type_object) ? err : NULL);
    enum sy_err e = sy_responses_output_agrees(x, response);
    for (size_t i = 0; i < x->nitems && e == SY_OK; i++)
        if (x->items[i].kind == RESPONSES_CALL && !x->items[i].args)
            e = emit_args(x, &x->items[i], "{}");
    if (e != SY_OK)
        return e;
    const char *fr = finish_of(sy_adapter_get_str(response, "status"),
                               sy_adapter_get(response, "incomplete_details"),
                               (size_t)x->ntools);
    e = emit_delta(x, NULL, fr);
    usage_of(sy_adapter_get(response, "usage"), &x->usage);
    if (e == SY_OK && x->usage.present)
        e = sy_adapter_emit_json(
            x->emit, x->emit_ud,
            sy_adapter_usage_chunk(x->id, x->created, x->model, &x->usage),
            &x->usage, true);
    x->done = true;
    return e != SY_OK ? e : sy_adapter_emit_done(x->emit, x->emit_ud);
}

/* An error event ({"code","message"}, or an "error" object), or a
 * response.failed event's response.error: the stream fails. */
static enum sy_err
on_failure(struct responses_ctx *x, struct json_object *err)
{
    responses_error(x->call, err, x->f);
    x->f->message = sy_arena_printf(
        x->call->arena, "error event in the stream: %s", x->f->message);
    return x->f->err;
}

/* One parsed event of type 'type'. Unknown types are ignored; the ones
 * that repeat what the deltas said are checked against them. */
static enum sy_err
on_event(struct responses_ctx *x, const char *type, struct json_object *o)
{
    struct json_object *response = sy_adapter_get(o, "response");
    if (strcmp(type, "error") == 0) {
        struct json_object *err = sy_adapter_get(o, "error");
        return on_failure(x, sy_adapter_is(err, json_type_object) ? err : o);
    }
    if (strcmp(type, "response.failed") == 0)
        return on_failure(x, sy_adapter_get(response, "error"));
    if (strncmp(type, "response.", 9) != 0)
        return SY_OK;
    enum sy_err e = stream_start(x, response);
    if (e != SY_OK)
        return e;
    type += 9;
    if (strcmp(type, "output_text.delta") == 0)
        return on_text(x, o, false);
    if (strcmp(type, "refusal.delta") == 0)
        return on_text(x, o, true);
    if (strcmp(type, "output_text.done") == 0)
        return on_text_done(x, o, "text");
    if (strcmp(type, "refusal.done") == 0)
        return on_text_done(x, o, "refusal");
    if (strcmp(type, "content_part.done") == 0)
        return on_text_done(x, o, NULL);
    if (strcmp(type, "reasoning_summary_text.delta") == 0 ||
        strcmp(type, "reasoning_text.delta") == 0)
        return emit_piece(x, "reasoning_content",
                          sy_adapter_get_str(o, "delta"));
    if (strcmp(type, "output_item.added") == 0)
        return on_item(x, o, false);
    if (strcmp(type, "output_item.done") == 0)
        return on_item(x, o, true);
    if (strcmp(type, "function_call_arguments.delta") == 0)
        return on_args(x, o, false);
    if (strcmp(type, "function_call_arguments.done") == 0)
        return on_args(x, o, true);
    if (strcmp(type, "completed") == 0 || strcmp(type, "incomplete") == 0)
        return on_end(x, response);
    return SY_OK;
}

/* The table's stream_event slot (see adapter.h): one Responses stream
 * event, or the end of the stream (ev == NULL), which must come after
 * response.completed or response.incomplete. */
static enum sy_err
responses_stream_event(struct sy_adapter_call *call,
                       const struct sy_sse_event *ev, sy_emit_fn emit, void *ud,
                       struct sy_failure *f)
{
    struct responses_ctx *x = call->ctx;
    x->call = call;
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    if (ev == NULL)
        return x->done ? SY_OK
                       : sy_adapter_proto(f, "the stream ended before "
                                             "response.completed");
    if (x->done)
        return SY_OK;
    struct json_object *o = sy_adapter_json_parse(ev->data, ev->len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return sy_adapter_proto(f, "the provider sent a malformed stream "
                                   "event");
    }
    const char *type = sy_adapter_get_str(o, "type");
    enum sy_err e = on_event(x, type != NULL ? type : ev->name, o);
    json_object_put(o);
    return e;
}

/* The table's build_request slot (see adapter.h): the caller's own
 * Responses request when it spoke that API, else the translation of its
 * chat request. */
static enum sy_err
responses_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    return responses_native(call) ? sy_responses_native_request(call, out)
                                  : sy_responses_build_request(call, out);
}

const struct sy_adapter sy_adapter_openai_responses = {
    .abi = SY_ADAPTER_ABI,
    .name = RESPONSES_NAME,
    .caps = SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |
            SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION |
            SY_CAP_STREAM_USAGE,
    .ctx_size = sizeof(struct responses_ctx),
    .build_request = responses_build_request,
    .parse_response = responses_parse_response,
    .stream_event = responses_stream_event,
    .classify = responses_classify,
};
