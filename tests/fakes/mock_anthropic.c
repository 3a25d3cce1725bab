/*
 * mock_anthropic.c - the Anthropic Messages dialect of the mock LLM
 * provider: routes /v1/messages, reduces a request to struct sy_mock_chat
 * (checking what the real API insists on: anthropic-version, model,
 * max_tokens, user/assistant roles, non-empty text), and renders messages,
 * named SSE events and Anthropic error bodies. Exports only the table
 * sy_mock_dialect_anthropic; what to answer is decided in mock_app.c.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define ANTHROPIC_COUNT_PATH "/v1/messages/count_tokens"

/* Map a path (deployment prefix removed) to an operation. GET /v1/models
 * belongs to the OpenAI dialect, which comes first. */
static enum sy_mock_op
anthropic_route(const char *path, const char **method)
{
    if (strcmp(path, "/v1/messages") == 0) {
        *method = "POST";
        return SY_MOCK_OP_CHAT;
    }
    if (strcmp(path, ANTHROPIC_COUNT_PATH) == 0) {
        *method = "POST";
        return SY_MOCK_OP_COUNT;
    }
    return SY_MOCK_OP_NONE;
}

/* The member "key" of "obj" when it has JSON type "type", or NULL. */
static struct json_object *
anthropic_get(struct json_object *obj, const char *key, enum json_type type)
{
    struct json_object *v;

    if (json_object_is_type(obj, json_type_object) &&
        json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, type)) {
        return v;
    }
    return NULL;
}

/* The string member "key" of "obj", or NULL. */
static const char *
anthropic_str(struct json_object *obj, const char *key)
{
    struct json_object *v = anthropic_get(obj, key, json_type_string);

    return v != NULL ? json_object_get_string(v) : NULL;
}

/* Characters of the JSON string "s". */
static long
anthropic_chars(struct json_object *s)
{
    return sy_mock_utf8_chars(json_object_get_string(s),
                              (size_t)json_object_get_string_len(s));
}

/* The text of a tool_result's "content": the string, or the first text
 * block of an array; "" otherwise. */
static const char *
anthropic_result_text(struct json_object *block)
{
    struct json_object *content;

    if (!json_object_object_get_ex(block, "content", &content)) {
        return "";
    }
    if (json_object_is_type(content, json_type_string)) {
        return json_object_get_string(content);
    }
    if (json_object_is_type(content, json_type_array)) {
        size_t i;

        for (i = 0; i < json_object_array_length(content); i++) {
            struct json_object *b = json_object_array_get_idx(content, i);
            const char *type = anthropic_str(b, "type");
            const char *text = anthropic_str(b, "text");

            if (type != NULL && strcmp(type, "text") == 0 && text != NULL) {
                return text;
            }
        }
    }
    return "";
}

#define ANTHROPIC_MAX_IDS 64

/* The tool_use ids of one assistant turn, borrowed from the request; "n"
 * past ANTHROPIC_MAX_IDS means "too many to check". */
struct anthropic_ids {
    const char *id[ANTHROPIC_MAX_IDS];
    bool answered[ANTHROPIC_MAX_IDS]; /* a tool_result names it */
    size_t n;
};

/* Does "id" match ^[a-zA-Z0-9_-]+$, as tool ids must? */
static bool
anthropic_id_ok(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return i > 0;
}

/*
 * Check the id of a tool_use ("key" "id", recorded in "uses") or
 * tool_result ("key" "tool_use_id", which must answer a tool_use of
 * "prev") block "b", block "i" of message "idx". False with "err".
 */
static bool
anthropic_block_id(struct json_object *b, const char *key, size_t idx, size_t i,
                   const struct anthropic_ids *prev, struct anthropic_ids *uses,
                   char *err, size_t err_len)
{
    const char *id = anthropic_str(b, key);
    size_t j;

    if (id == NULL || !anthropic_id_ok(id)) {
        snprintf(err, err_len,
                 "messages.%zu.content.%zu.%s: String should "
                 "match pattern '^[a-zA-Z0-9_-]+$'",
                 idx, i, key);
        return false;
    }
    if (uses != NULL) {
        if (uses->n < ANTHROPIC_MAX_IDS) {
            uses->id[uses->n] = id;
            uses->answered[uses->n] = false;
        }
        uses->n++;
        return true;
    }
    if (prev->n > ANTHROPIC_MAX_IDS) {
        return true;
    }
    for (j = 0; j < prev->n; j++) {
        if (strcmp(prev->id[j], id) == 0) {
            return true;
        }
    }
    snprintf(err, err_len,
             "messages.%zu.content.%zu: unexpected "
             "`tool_use_id` found in `tool_result` blocks: %.64s. Each "
             "`tool_result` block must have a corresponding `tool_use` "
             "block in the previous message.",
             idx, i, id);
    return false;
}

/* Mark the tool_use of "prev" that the tool_result "b" answers. */
static void
anthropic_answer(struct json_object *b, struct anthropic_ids *prev)
{
    const char *id = anthropic_str(b, "tool_use_id");
    size_t j;

    for (j = 0; id != NULL && j < prev->n && j < ANTHROPIC_MAX_IDS; j++) {
        if (strcmp(prev->id[j], id) == 0) {
            prev->answered[j] = true;
        }
    }
}

/*
 * Check the content blocks of message "idx" and add them to "chat":
 * characters of text blocks and of tool_result texts, the text that may
 * hold [[mock ...]] for a user turn, and whether the turn carries tool
 * results. tool_use ids of an assistant turn go to "uses"; tool_results
 * of a user turn must answer tool_uses of "prev" (which get marked).
 * False with "err" when a block is invalid.
 */
static bool
anthropic_blocks(struct json_object *blocks, size_t idx, bool user,
                 struct anthropic_ids *prev, struct anthropic_ids *uses,
                 struct sy_mock_chat *chat, char *err, size_t err_len)
{
    const char *user_text = NULL;
    const char *result = NULL;
    size_t n = json_object_array_length(blocks);
    size_t i;

    for (i = 0; i < n; i++) {
        struct json_object *b = json_object_array_get_idx(blocks, i);
        struct json_object *text = anthropic_get(b, "text", json_type_string);
        const char *type = anthropic_str(b, "type");

        if (type == NULL) {
            snprintf(err, err_len,
                     "messages.%zu.content.%zu.type: Field "
                     "required",
                     idx, i);
            return false;
        }
        if (strcmp(type, "tool_use") == 0 && !user &&
            !anthropic_block_id(b, "id", idx, i, NULL, uses, err, err_len)) {
            return false;
        }
        if (strcmp(type, "tool_result") == 0 && user) {
            if (!anthropic_block_id(b, "tool_use_id", idx, i, prev, NULL, err,
                                    err_len)) {
                return false;
            }
            anthropic_answer(b, prev);
        }
        if (strcmp(type, "text") == 0) {
            if (text == NULL || json_object_get_string_len(text) == 0) {
                snprintf(err, err_len,
                         "messages.%zu.content.%zu.text: "
                         "text content blocks must be non-empty",
                         idx, i);
                return false;
            }
            chat->prompt_chars += anthropic_chars(text);
            if (user &&
                (user_text == NULL || strstr(user_text, "[[mock ") == NULL)) {
                user_text = json_object_get_string(text);
            }
        } else if (strcmp(type, "tool_result") == 0 && user) {
            const char *t = anthropic_result_text(b);

            chat->prompt_chars += sy_mock_utf8_chars(t, strlen(t));
            if (result == NULL) {
                result = t;
            }
        }
    }
    if (user_text != NULL) {
        chat->last_user_text = user_text;
    }
    chat->last_is_tool = result != NULL;
    chat->tool_result = result;
    return true;
}

/* After message "idx": every tool_use of the turn before it ("prev")
 * must have been answered by a tool_result; false with "err". */
static bool
anthropic_all_answered(const struct anthropic_ids *prev, size_t idx, char *err,
                       size_t err_len)
{
    size_t j;

    for (j = 0; j < prev->n && j < ANTHROPIC_MAX_IDS; j++) {
        if (!prev->answered[j]) {
            snprintf(err, err_len,
                     "messages.%zu: `tool_use` ids were found "
                     "without `tool_result` blocks immediately after: "
                     "%.64s. Each `tool_use` block must have a "
                     "corresponding `tool_result` block in the next "
                     "message.",
                     idx, prev->id[j]);
            return false;
        }
    }
    return true;
}

/*
 * Fill "chat" from the messages array; false with "err" when invalid
 * (a role other than user/assistant, empty content, an invalid block,
 * tool_use and tool_result blocks that do not pair up).
 */
static bool
anthropic_parse_messages(struct json_object *messages,
                         struct sy_mock_chat *chat, char *err, size_t err_len)
{
    struct anthropic_ids ids[2];
    size_t n;
    size_t i;

    if (!json_object_is_type(messages, json_type_array)) {
        snprintf(err, err_len, "messages: Input should be a valid list");
        return false;
    }
    ids[0].n = 0;
    ids[1].n = 0;
    n = json_object_array_length(messages);
    for (i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(messages, i);
        struct json_object *content = NULL;
        const char *role = anthropic_str(m, "role");
        struct anthropic_ids *prev = &ids[(i + 1) % 2];
        struct anthropic_ids *uses = &ids[i % 2];
        bool user;

        if (role == NULL) {
            snprintf(err, err_len, "messages.%zu.role: Field required", i);
            return false;
        }
        user = strcmp(role, "user") == 0;
        if (!user && strcmp(role, "assistant") != 0) {
            snprintf(err, err_len,
                     "messages: Unexpected role \"%.32s\". "
                     "The Messages API accepts a top-level `system` "
                     "parameter, not \"system\" as an input message role.",
                     role);
            return false;
        }
        uses->n = 0;
        json_object_object_get_ex(m, "content", &content);
        if (json_object_is_type(content, json_type_string)) {
            if (json_object_get_string_len(content) == 0 &&
                (user || i + 1 < n)) {
                snprintf(err, err_len,
                         "messages.%zu: all messages must "
                         "have non-empty content except for the optional "
                         "final assistant message",
                         i);
                return false;
            }
            chat->prompt_chars += anthropic_chars(content);
            chat->last_is_tool = false;
            chat->tool_result = NULL;
            if (user) {
                chat->last_user_text = json_object_get_string(content);
            }
        } else if (json_object_is_type(content, json_type_array)) {
            if (json_object_array_length(content) == 0 && (user || i + 1 < n)) {
                snprintf(err, err_len,
                         "messages.%zu: all messages must "
                         "have non-empty content except for the optional "
                         "final assistant message",
                         i);
                return false;
            }
            if (!anthropic_blocks(content, i, user, prev, uses, chat, err,
                                  err_len)) {
                return false;
            }
        } else {
            snprintf(err, err_len,
                     "messages.%zu.content: Input should be "
                     "a valid string or list",
                     i);
            return false;
        }
        if (!anthropic_all_answered(prev, i, err, err_len)) {
            return false;
        }
    }
    return true;
}

/* Count the characters of "system" (a string or text blocks); false with
 * "err" when it has another type. */
static bool
anthropic_system(struct json_object *system, struct sy_mock_chat *chat,
                 char *err, size_t err_len)
{
    size_t i;

    if (json_object_is_type(system, json_type_string)) {
        chat->prompt_chars += anthropic_chars(system);
        return true;
    }
    if (!json_object_is_type(system, json_type_array)) {
        snprintf(err, err_len,
                 "system: Input should be a valid string or "
                 "list");
        return false;
    }
    for (i = 0; i < json_object_array_length(system); i++) {
        struct json_object *text = anthropic_get(
            json_object_array_get_idx(system, i), "text", json_type_string);

        if (text != NULL) {
            chat->prompt_chars += anthropic_chars(text);
        }
    }
    return true;
}

/* Fill the tool fields of "chat" from "tools" and "tool_choice". */
static void
anthropic_tools(struct json_object *body, struct sy_mock_chat *chat)
{
    struct json_object *tools = anthropic_get(body, "tools", json_type_array);
    struct json_object *choice =
        anthropic_get(body, "tool_choice", json_type_object);
    const char *type = anthropic_str(choice, "type");

    if (tools != NULL && json_object_array_length(tools) > 0) {
        chat->has_tools = true;
        chat->tool_name =
            anthropic_str(json_object_array_get_idx(tools, 0), "name");
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            sy_mock_chat_declare(
                chat,
                anthropic_str(json_object_array_get_idx(tools, i), "name"));
        }
    }
    if (type != NULL && strcmp(type, "none") == 0) {
        chat->tool_choice_none = true;
    } else if (type != NULL && strcmp(type, "tool") == 0 &&
               anthropic_str(choice, "name") != NULL) {
        chat->tool_name = anthropic_str(choice, "name");
        chat->tool_forced = true;
    }
}

/* Reduce an Anthropic request to "chat"; false with "err" for a 400.
 * count_tokens takes the same body without max_tokens. */
static bool
anthropic_parse_chat(const struct sy_mock_req *req, const char *path,
                     struct json_object *body, struct sy_mock_chat *chat,
                     char *err, size_t err_len)
{
    struct json_object *v;
    size_t len;

    if (sy_mock_req_header(req, "anthropic-version", &len) == NULL ||
        len == 0) {
        snprintf(err, err_len, "anthropic-version: header is required");
        return false;
    }
    if (!json_object_is_type(body, json_type_object)) {
        snprintf(err, err_len, "the request body must be a JSON object");
        return false;
    }
    chat->model = anthropic_str(body, "model");
    if (chat->model == NULL) {
        snprintf(err, err_len, "model: Field required");
        return false;
    }
    v = anthropic_get(body, "max_tokens", json_type_int);
    if ((v == NULL || json_object_get_int64(v) < 1) &&
        strcmp(path, ANTHROPIC_COUNT_PATH) != 0) {
        snprintf(err, err_len,
                 "max_tokens: Field required (an integer "
                 ">= 1)");
        return false;
    }
    if (!json_object_object_get_ex(body, "messages", &v)) {
        snprintf(err, err_len, "messages: Field required");
        return false;
    }
    if (!anthropic_parse_messages(v, chat, err, err_len)) {
        return false;
    }
    if (json_object_object_get_ex(body, "system", &v) &&
        !anthropic_system(v, chat, err, err_len)) {
        return false;
    }
    if (json_object_object_get_ex(body, "stream", &v)) {
        chat->stream = json_object_get_boolean(v) != 0;
    }
    anthropic_tools(body, chat);
    return true;
}

/* The model list (not routed: GET /v1/models is OpenAI's). */
static void
anthropic_render_models(struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"data\":[{\"type\":\"model\",\"id\":"
                          "\"mock-model\",\"display_name\":\"Mock Model\","
                          "\"created_at\":\"2024-01-01T00:00:00Z\"}],"
                          "\"has_more\":false,\"first_id\":\"mock-model\","
                          "\"last_id\":\"mock-model\"}");
}

/* An Anthropic error body for "status" with "message" (Retry-After is a
 * header only). */
static void
anthropic_render_error(int status, long retry_after, const char *message,
                       struct sy_mock_buf *out)
{
    const char *type = status >= 500 ? "api_error" : "invalid_request_error";

    (void)retry_after;
    switch (status) {
    case 401:
        type = "authentication_error";
        break;
    case 402:
        type = "billing_error";
        break;
    case 403:
        type = "permission_error";
        break;
    case 404:
        type = "not_found_error";
        break;
    case 413:
        type = "request_too_large";
        break;
    case 429:
        type = "rate_limit_error";
        break;
    case 504:
        type = "timeout_error";
        break;
    case 529:
        type = "overloaded_error";
        break;
    default:
        break;
    }
    sy_mock_buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":");
    sy_mock_buf_json_cstr(out, type);
    sy_mock_buf_puts(out, ",\"message\":");
    sy_mock_buf_json_cstr(out, message);
    sy_mock_buf_puts(out, "}}");
}

/* The usage object of "r" with "output" output tokens. */
static void
anthropic_usage(const struct sy_mock_reply *r, long output,
                struct sy_mock_buf *out)
{
    sy_mock_buf_printf(
        out,
        "{\"input_tokens\":%ld,\"output_tokens\":%ld,"
        "\"cache_read_input_tokens\":%ld,"
        "\"cache_creation_input_tokens\":%ld}",
        r->prompt_tokens, output, r->cached_tokens > 0 ? r->cached_tokens : 0,
        r->cache_creation_tokens > 0 ? r->cache_creation_tokens : 0);
}

/* {"id":..,"type":"message","role":"assistant","model":.. without the
 * brace that closes it. */
static void
anthropic_head(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"id\":");
    sy_mock_buf_json_cstr(out, r->id);
    sy_mock_buf_puts(out, ",\"type\":\"message\",\"role\":\"assistant\","
                          "\"model\":");
    sy_mock_buf_json_cstr(out, r->chat->model);
}

/* The stop_reason of "r". */
static const char *
anthropic_stop_reason(const struct sy_mock_reply *r)
{
    return r->is_tool_call ? "tool_use" : "end_turn";
}

/* A message object. */
static void
anthropic_render_reply(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    anthropic_head(r, out);
    sy_mock_buf_puts(out, ",\"content\":[");
    if (r->is_tool_call) {
        struct sy_mock_call call;
        long k;

        for (k = 0; k < r->n_calls; k++) {
            sy_mock_reply_call(r, k, &call);
            sy_mock_buf_puts(out, k ? ",{\"type\":\"tool_use\",\"id\":"
                                    : "{\"type\":\"tool_use\",\"id\":");
            sy_mock_buf_json_cstr(out, call.id);
            sy_mock_buf_puts(out, ",\"name\":");
            sy_mock_buf_json_cstr(out, r->chat->tool_name);
            sy_mock_buf_puts(out, ",\"input\":");
            sy_mock_buf_append(out, call.args, call.args_len);
            sy_mock_buf_puts(out, "}");
        }
    } else {
        sy_mock_buf_puts(out, "{\"type\":\"text\",\"text\":");
        sy_mock_buf_json_str(out, r->content, r->content_len);
        sy_mock_buf_puts(out, "}");
    }
    sy_mock_buf_printf(out, "],\"stop_reason\":\"%s\",\"stop_sequence\":null",
                       anthropic_stop_reason(r));
    if (!r->no_usage) {
        sy_mock_buf_puts(out, ",\"usage\":");
        anthropic_usage(r, r->completion_tokens, out);
    }
    sy_mock_buf_puts(out, "}");
}

/* A body that starts like a message and breaks off: invalid JSON. */
static void
anthropic_render_malformed(const struct sy_mock_reply *r,
                           struct sy_mock_buf *out)
{
    anthropic_head(r, out);
    sy_mock_buf_puts(out, ",\"content\":[{\"type\":\"text\",\"text\":\"Hel");
}

/* Start an event: the "event:" line and "data: " with the "type" member
 * that repeats the name. */
static void
anthropic_open(struct sy_mock_events *ev, const char *name)
{
    sy_mock_buf_printf(&ev->buf, "event: %s\ndata: {\"type\":\"%s\"", name,
                       name);
}

/* End an event whose data was written. */
static void
anthropic_close(struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf, "}\n\n");
    sy_mock_events_mark(ev);
}

/* A content_block_delta of block "index": a text_delta, or for a tool
 * call an input_json_delta; "text" ("len" bytes) is the piece. */
static void
anthropic_delta(const struct sy_mock_reply *r, long index, const char *text,
                size_t len, struct sy_mock_events *ev)
{
    anthropic_open(ev, "content_block_delta");
    sy_mock_buf_printf(&ev->buf, ",\"index\":%ld,\"delta\":", index);
    if (r->is_tool_call) {
        sy_mock_buf_puts(&ev->buf, "{\"type\":\"input_json_delta\","
                                   "\"partial_json\":");
    } else {
        sy_mock_buf_puts(&ev->buf, "{\"type\":\"text_delta\",\"text\":");
    }
    sy_mock_buf_json_str(&ev->buf, text, len);
    sy_mock_buf_puts(&ev->buf, "}");
    anthropic_close(ev);
}

/* The mid-stream error event that "stream_error" asks for. */
static void
anthropic_error_event(struct sy_mock_events *ev)
{
    anthropic_open(ev, "error");
    sy_mock_buf_puts(&ev->buf, ",\"error\":{\"type\":\"overloaded_error\","
                               "\"message\":\"Overloaded\"}");
    anthropic_close(ev);
}

/* Start content block "index": the block skeleton, then (for the first
 * block) a ping. */
static void
anthropic_block_start(const struct sy_mock_reply *r, long index,
                      const struct sy_mock_call *call,
                      struct sy_mock_events *ev)
{
    anthropic_open(ev, "content_block_start");
    sy_mock_buf_printf(&ev->buf, ",\"index\":%ld,\"content_block\":", index);
    if (call != NULL) {
        sy_mock_buf_puts(&ev->buf, "{\"type\":\"tool_use\",\"id\":");
        sy_mock_buf_json_cstr(&ev->buf, call->id);
        sy_mock_buf_puts(&ev->buf, ",\"name\":");
        sy_mock_buf_json_cstr(&ev->buf, r->chat->tool_name);
        sy_mock_buf_puts(&ev->buf, ",\"input\":{}}");
    } else {
        sy_mock_buf_puts(&ev->buf, "{\"type\":\"text\",\"text\":\"\"}");
    }
    anthropic_close(ev);
    if (index == 0) {
        anthropic_open(ev, "ping");
        anthropic_close(ev);
    }
}

/* End content block "index". */
static void
anthropic_block_stop(long index, struct sy_mock_events *ev)
{
    anthropic_open(ev, "content_block_stop");
    sy_mock_buf_printf(&ev->buf, ",\"index\":%ld", index);
    anthropic_close(ev);
}

/*
 * The content blocks of a stream: one text block with a text_delta per
 * piece, or one tool_use block per call with its input in 2
 * input_json_delta pieces. With "stream_error", an error event follows
 * the first delta and the stream ends: false then.
 */
static bool
anthropic_blocks_stream(const struct sy_mock_reply *r,
                        struct sy_mock_events *ev)
{
    struct sy_mock_call call;
    long k;

    if (!r->is_tool_call) {
        size_t from = 0;
        size_t i;

        anthropic_block_start(r, 0, NULL, ev);
        for (i = 0; i < r->n_pieces; i++) {
            anthropic_delta(r, 0, r->content + from, r->piece_end[i] - from,
                            ev);
            from = r->piece_end[i];
            if (r->stream_error) {
                break;
            }
        }
        if (r->stream_error) {
            anthropic_error_event(ev);
            return false;
        }
        anthropic_block_stop(0, ev);
        return true;
    }
    for (k = 0; k < r->n_calls; k++) {
        sy_mock_reply_call(r, k, &call);
        anthropic_block_start(r, k, &call, ev);
        if (call.half > 0) {
            anthropic_delta(r, k, call.args, call.half, ev);
        }
        if (r->stream_error) {
            anthropic_error_event(ev);
            return false;
        }
        anthropic_delta(r, k, call.args + call.half, call.args_len - call.half,
                        ev);
        anthropic_block_stop(k, ev);
    }
    return true;
}

/*
 * All events of a stream, each with its "event:" name: message_start,
 * the content blocks (content_block_start, ping after the first one,
 * content_block_delta pieces, content_block_stop), message_delta with
 * stop_reason and the output tokens, message_stop. With "malformed", an
 * event with invalid JSON data follows message_start; with
 * "stream_error", an error event follows the first delta and ends it.
 */
static void
anthropic_render_stream(const struct sy_mock_reply *r,
                        struct sy_mock_events *ev)
{
    anthropic_open(ev, "message_start");
    sy_mock_buf_puts(&ev->buf, ",\"message\":");
    anthropic_head(r, &ev->buf);
    sy_mock_buf_puts(&ev->buf, ",\"content\":[],\"stop_reason\":null,"
                               "\"stop_sequence\":null");
    if (!r->no_usage) {
        sy_mock_buf_puts(&ev->buf, ",\"usage\":");
        anthropic_usage(r, 1, &ev->buf);
    }
    sy_mock_buf_puts(&ev->buf, "}");
    anthropic_close(ev);
    if (r->malformed) {
        sy_mock_buf_puts(&ev->buf,
                         "event: content_block_delta\ndata: "
                         "{\"type\":\"content_block_delta\",\"index\":0,"
                         "\"delta\":{\"type\":\"text_delta\",\"text\":\n\n");
        sy_mock_events_mark(ev);
    }
    if (!anthropic_blocks_stream(r, ev)) {
        return;
    }
    anthropic_open(ev, "message_delta");
    sy_mock_buf_printf(&ev->buf,
                       ",\"delta\":{\"stop_reason\":\"%s\","
                       "\"stop_sequence\":null}",
                       anthropic_stop_reason(r));
    if (!r->no_usage) {
        sy_mock_buf_printf(&ev->buf, ",\"usage\":{\"output_tokens\":%ld}",
                           r->completion_tokens);
    }
    anthropic_close(ev);
    if (!r->no_usage) {
        ev->usage_at = ev->n; /* the final output count */
    }
    anthropic_open(ev, "message_stop");
    anthropic_close(ev);
}

const struct sy_mock_dialect sy_mock_dialect_anthropic = {
    "anthropic",
    anthropic_route,
    anthropic_parse_chat,
    anthropic_render_models,
    anthropic_render_error,
    anthropic_render_reply,
    anthropic_render_malformed,
    anthropic_render_stream,
    "text/event-stream",
    "msg_mock_",
    "toolu_mock_",
    true,
};
