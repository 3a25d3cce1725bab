/*
 * mock_responses.c - the OpenAI Responses dialect of the mock LLM
 * provider: routes /v1/responses, reduces a request (instructions and
 * input items: messages, function_call and function_call_output items)
 * to struct sy_mock_chat, and renders Response objects, the named stream
 * events (response.created ... response.completed, each with its
 * sequence_number) and OpenAI error bodies. Exports only the table
 * sy_mock_dialect_responses; what to answer is decided in mock_app.c.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The smallest max_output_tokens the real API takes. */
#define RESPONSES_MIN_OUTPUT 16

/* Map a path (deployment prefix removed) to an operation. */
static enum sy_mock_op
responses_route(const char *path, const char **method)
{
    if (strcmp(path, "/v1/responses") == 0) {
        *method = "POST";
        return SY_MOCK_OP_CHAT;
    }
    return SY_MOCK_OP_NONE;
}

/* The member "key" of "obj" when it has JSON type "type", or NULL. */
static struct json_object *
responses_get(struct json_object *obj, const char *key, enum json_type type)
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
responses_str(struct json_object *obj, const char *key)
{
    struct json_object *v = responses_get(obj, key, json_type_string);

    return v != NULL ? json_object_get_string(v) : NULL;
}

/* Characters of the JSON string "s". */
static long
responses_chars(struct json_object *s)
{
    return sy_mock_utf8_chars(json_object_get_string(s),
                              (size_t)json_object_get_string_len(s));
}

/* A message's content (a string, or parts with "text"): its characters
 * counted; for a user message, the text that carries "[[mock" (else its
 * last text) becomes the chat's last user text. */
static void
responses_content(struct json_object *content, bool user,
                  struct sy_mock_chat *chat)
{
    const char *user_text = NULL;
    size_t i;

    if (json_object_is_type(content, json_type_string)) {
        chat->prompt_chars += responses_chars(content);
        user_text = json_object_get_string(content);
    }
    for (i = 0; json_object_is_type(content, json_type_array) &&
                i < json_object_array_length(content);
         i++) {
        struct json_object *text = responses_get(
            json_object_array_get_idx(content, i), "text", json_type_string);

        if (text == NULL) {
            continue;
        }
        chat->prompt_chars += responses_chars(text);
        if (user_text == NULL || strstr(user_text, "[[mock ") == NULL) {
            user_text = json_object_get_string(text);
        }
    }
    if (user && user_text != NULL) {
        chat->last_user_text = user_text;
    }
}

/* The text of a function_call_output's "output": the string, or its
 * first text part; "" otherwise. */
static const char *
responses_output_text(struct json_object *item)
{
    struct json_object *out;
    size_t i;

    if (!json_object_object_get_ex(item, "output", &out)) {
        return "";
    }
    if (json_object_is_type(out, json_type_string)) {
        return json_object_get_string(out);
    }
    for (i = 0; json_object_is_type(out, json_type_array) &&
                i < json_object_array_length(out);
         i++) {
        const char *t =
            responses_str(json_object_array_get_idx(out, i), "text");

        if (t != NULL) {
            return t;
        }
    }
    return "";
}

/* One input item "i"; false with "err" when it is invalid. A run of
 * function_call_output items makes the chat's tool result the first
 * one's output; any other item ends the run. */
static bool
responses_item(struct json_object *item, size_t i, struct sy_mock_chat *chat,
               char *err, size_t err_len)
{
    const char *type = responses_str(item, "type");
    const char *role = responses_str(item, "role");

    if (type != NULL && strcmp(type, "function_call_output") == 0) {
        const char *t = responses_output_text(item);

        if (responses_str(item, "call_id") == NULL) {
            snprintf(err, err_len,
                     "Missing required parameter: "
                     "'input[%zu].call_id'.",
                     i);
            return false;
        }
        chat->prompt_chars += sy_mock_utf8_chars(t, strlen(t));
        if (!chat->last_is_tool) {
            chat->tool_result = t;
        }
        chat->last_is_tool = true;
        return true;
    }
    chat->last_is_tool = false;
    chat->tool_result = NULL;
    if (type != NULL && strcmp(type, "message") != 0) {
        return true; /* function_call, reasoning, ...: nothing to count */
    }
    if (role == NULL ||
        (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 &&
         strcmp(role, "system") != 0 && strcmp(role, "developer") != 0)) {
        snprintf(err, err_len,
                 "Invalid value for 'input[%zu].role': expected one of "
                 "'user', 'assistant', 'system' or 'developer'.",
                 i);
        return false;
    }
    responses_content(json_object_object_get(item, "content"),
                      strcmp(role, "user") == 0, chat);
    return true;
}

/* Fill "chat" from "input" (a string or an array of items). */
static bool
responses_input(struct json_object *input, struct sy_mock_chat *chat, char *err,
                size_t err_len)
{
    size_t i;

    if (json_object_is_type(input, json_type_string)) {
        chat->prompt_chars += responses_chars(input);
        chat->last_user_text = json_object_get_string(input);
        return true;
    }
    if (!json_object_is_type(input, json_type_array)) {
        snprintf(err, err_len,
                 "Invalid type for 'input': expected a string "
                 "or an array of input items.");
        return false;
    }
    for (i = 0; i < json_object_array_length(input); i++) {
        if (!responses_item(json_object_array_get_idx(input, i), i, chat, err,
                            err_len)) {
            return false;
        }
    }
    return true;
}

/* Fill the tool fields of "chat" from "tools" (function and custom tools
 * name themselves at the top level) and "tool_choice". */
static void
responses_tools(struct json_object *body, struct sy_mock_chat *chat)
{
    struct json_object *tools = responses_get(body, "tools", json_type_array);
    struct json_object *choice;
    size_t i;

    for (i = 0; tools != NULL && i < json_object_array_length(tools); i++) {
        const char *name =
            responses_str(json_object_array_get_idx(tools, i), "name");

        if (name != NULL && !chat->has_tools) {
            chat->has_tools = true;
            chat->tool_name = name;
        }
        sy_mock_chat_declare(chat, name);
    }
    if (!json_object_object_get_ex(body, "tool_choice", &choice)) {
        return;
    }
    if (json_object_is_type(choice, json_type_string)) {
        chat->tool_choice_none =
            strcmp(json_object_get_string(choice), "none") == 0;
    } else if (responses_str(choice, "name") != NULL) {
        chat->tool_name = responses_str(choice, "name");
        chat->tool_forced = true;
    }
}

/* Reduce a Responses request body to "chat"; false with "err" for a
 * 400. Like the real API with "store" false, it knows no earlier
 * response: a previous_response_id is refused. */
static bool
responses_parse_chat(const struct sy_mock_req *req, const char *path,
                     struct json_object *body, struct sy_mock_chat *chat,
                     char *err, size_t err_len)
{
    struct json_object *v;
    const char *prev;

    (void)req;
    (void)path;
    if (!json_object_is_type(body, json_type_object)) {
        snprintf(err, err_len, "the request body must be a JSON object");
        return false;
    }
    chat->model = responses_str(body, "model");
    if (chat->model == NULL) {
        snprintf(err, err_len, "Missing required parameter: 'model'.");
        return false;
    }
    prev = responses_str(body, "previous_response_id");
    if (prev != NULL) {
        snprintf(err, err_len, "Previous response with id '%.64s' not found.",
                 prev);
        return false;
    }
    v = responses_get(body, "max_output_tokens", json_type_int);
    if (v != NULL && json_object_get_int64(v) < RESPONSES_MIN_OUTPUT) {
        snprintf(err, err_len,
                 "Invalid 'max_output_tokens': integer below minimum "
                 "value. Expected a value >= %d.",
                 RESPONSES_MIN_OUTPUT);
        return false;
    }
    v = responses_get(body, "instructions", json_type_string);
    if (v != NULL) {
        chat->prompt_chars += responses_chars(v);
    }
    if (json_object_object_get_ex(body, "input", &v) &&
        !responses_input(v, chat, err, err_len)) {
        return false;
    }
    if (json_object_object_get_ex(body, "stream", &v)) {
        chat->stream = json_object_get_boolean(v) != 0;
    }
    chat->choices = 1;
    responses_tools(body, chat);
    return true;
}

/* The model list (not routed: GET /v1/models is OpenAI's). */
static void
responses_render_models(struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"object\":\"list\",\"data\":[]}");
}

/* An OpenAI error object for "status" with "message" (Retry-After is a
 * header only), as the chat dialect renders it. */
static void
responses_render_error(int status, long retry_after, const char *message,
                       struct sy_mock_buf *out)
{
    const char *type = "invalid_request_error";
    const char *code = NULL;

    if (status == 429) {
        type = "requests";
        code = "rate_limit_exceeded";
    } else if (status == 401) {
        code = "invalid_api_key";
    } else if (status >= 500) {
        type = "server_error";
    }
    (void)retry_after;
    sy_mock_buf_puts(out, "{\"error\":{\"message\":");
    sy_mock_buf_json_cstr(out, message);
    sy_mock_buf_puts(out, ",\"type\":");
    sy_mock_buf_json_cstr(out, type);
    sy_mock_buf_puts(out, ",\"param\":null,\"code\":");
    sy_mock_buf_json_cstr(out, code);
    sy_mock_buf_puts(out, "}}");
}

/* The usage object of "r". */
static void
responses_usage(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    sy_mock_buf_printf(
        out,
        "{\"input_tokens\":%ld,\"input_tokens_details\":"
        "{\"cached_tokens\":%ld},\"output_tokens\":%ld,"
        "\"output_tokens_details\":{\"reasoning_tokens\":%ld},"
        "\"total_tokens\":%ld}",
        r->prompt_tokens, r->cached_tokens > 0 ? r->cached_tokens : 0,
        r->completion_tokens, r->reasoning_tokens > 0 ? r->reasoning_tokens : 0,
        r->prompt_tokens + r->completion_tokens);
}

/* The text message item of "r" ("text" its content so far, "status"
 * in_progress or completed; "parts" false leaves the content empty). */
static void
responses_message(const struct sy_mock_reply *r, const char *status, bool parts,
                  struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out,
                       "{\"type\":\"message\",\"id\":\"msg_%s\","
                       "\"status\":\"%s\",\"role\":\"assistant\","
                       "\"content\":[",
                       r->id + 5, status);
    if (parts) {
        sy_mock_buf_puts(out, "{\"type\":\"output_text\",\"text\":");
        sy_mock_buf_json_str(out, r->content, r->content_len);
        sy_mock_buf_puts(out, ",\"annotations\":[]}");
    }
    sy_mock_buf_puts(out, "]}");
}

/* The function_call item of call "c" ("whole": with its arguments and
 * completed, else in progress with none). */
static void
responses_call_item(const struct sy_mock_reply *r, const struct sy_mock_call *c,
                    bool whole, struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out,
                       "{\"type\":\"function_call\",\"id\":\"fc_%s\","
                       "\"call_id\":",
                       c->id);
    sy_mock_buf_json_cstr(out, c->id);
    sy_mock_buf_puts(out, ",\"name\":");
    sy_mock_buf_json_cstr(out, r->chat->tool_name);
    sy_mock_buf_puts(out, ",\"arguments\":");
    sy_mock_buf_json_str(out, c->args, whole ? c->args_len : 0);
    sy_mock_buf_printf(out, ",\"status\":\"%s\"}",
                       whole ? "completed" : "in_progress");
}

/* The output array of the finished response "r". */
static void
responses_output(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    struct sy_mock_call call;
    long k;

    sy_mock_buf_puts(out, "[");
    if (!r->is_tool_call) {
        responses_message(r, "completed", true, out);
    }
    for (k = 0; r->is_tool_call && k < r->n_calls; k++) {
        sy_mock_reply_call(r, k, &call);
        sy_mock_buf_puts(out, k ? "," : "");
        responses_call_item(r, &call, true, out);
    }
    sy_mock_buf_puts(out, "]");
}

/* A Response object of "r" with "status": the output and the usage
 * (unless "no_usage") when "done", an empty output and null usage
 * before. */
static void
responses_object(const struct sy_mock_reply *r, const char *status, bool done,
                 struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"id\":");
    sy_mock_buf_json_cstr(out, r->id);
    sy_mock_buf_printf(out,
                       ",\"object\":\"response\",\"created_at\":%lld,"
                       "\"status\":\"%s\",\"error\":null,"
                       "\"incomplete_details\":null,\"model\":",
                       r->created, status);
    sy_mock_buf_json_cstr(out, r->chat->model);
    sy_mock_buf_puts(out, ",\"output\":");
    if (done) {
        responses_output(r, out);
    } else {
        sy_mock_buf_puts(out, "[]");
    }
    sy_mock_buf_puts(out, ",\"parallel_tool_calls\":true,\"store\":false");
    if (done && !r->no_usage) {
        sy_mock_buf_puts(out, ",\"usage\":");
        responses_usage(r, out);
    } else if (!done) {
        sy_mock_buf_puts(out, ",\"usage\":null");
    }
    sy_mock_buf_puts(out, "}");
}

/* A Response object: the text message or the function calls. */
static void
responses_render_reply(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    responses_object(r, "completed", true, out);
}

/* A body that starts like a Response and breaks off: invalid JSON. */
static void
responses_render_malformed(const struct sy_mock_reply *r,
                           struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"id\":");
    sy_mock_buf_json_cstr(out, r->id);
    sy_mock_buf_puts(out, ",\"object\":\"response\",\"output\":[{\"type\":"
                          "\"message\",\"content\":[{\"text\":\"Hel");
}

/* Start event "name": its "event:" line and "data: " with the "type"
 * that repeats the name and the sequence number (the events before). */
static void
responses_open(struct sy_mock_events *ev, const char *name)
{
    sy_mock_buf_printf(&ev->buf,
                       "event: %s\ndata: {\"type\":\"%s\","
                       "\"sequence_number\":%zu",
                       name, name, ev->n);
}

/* End an event whose data was written. */
static void
responses_close(struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf, "}\n\n");
    sy_mock_events_mark(ev);
}

/* A response.* event carrying the Response object. */
static void
responses_state(const struct sy_mock_reply *r, const char *name,
                const char *status, bool done, struct sy_mock_events *ev)
{
    responses_open(ev, name);
    sy_mock_buf_puts(&ev->buf, ",\"response\":");
    responses_object(r, status, done, &ev->buf);
    responses_close(ev);
}

/* The mid-stream error event that "stream_error" asks for. */
static void
responses_error_event(struct sy_mock_events *ev)
{
    responses_open(ev, "error");
    sy_mock_buf_puts(&ev->buf, ",\"code\":\"server_error\",\"message\":"
                               "\"The server is overloaded\",\"param\":null");
    responses_close(ev);
}

/* Start an item event (output_item.added / .done) of item "index", up
 * to the item, which the caller writes before closing it. */
static void
responses_item_event(const char *name, long index, struct sy_mock_events *ev)
{
    responses_open(ev, name);
    sy_mock_buf_printf(&ev->buf, ",\"output_index\":%ld,\"item\":", index);
}

/* A content part event of the message (content_part.added / .done). */
static void
responses_part_event(const struct sy_mock_reply *r, const char *name,
                     size_t len, struct sy_mock_events *ev)
{
    responses_open(ev, name);
    sy_mock_buf_printf(&ev->buf,
                       ",\"item_id\":\"msg_%s\",\"output_index\":0,"
                       "\"content_index\":0,\"part\":{\"type\":"
                       "\"output_text\",\"text\":",
                       r->id + 5);
    sy_mock_buf_json_str(&ev->buf, r->content, len);
    sy_mock_buf_puts(&ev->buf, ",\"annotations\":[]}");
    responses_close(ev);
}

/* The text message of a stream: item and part added, a text delta per
 * piece, text, part and item done. False when "stream_error" ended it
 * after the first piece. */
static bool
responses_text_stream(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    size_t from = 0;
    size_t i;

    responses_item_event("response.output_item.added", 0, ev);
    responses_message(r, "in_progress", false, &ev->buf);
    responses_close(ev);
    responses_part_event(r, "response.content_part.added", 0, ev);
    for (i = 0; i < r->n_pieces; i++) {
        responses_open(ev, "response.output_text.delta");
        sy_mock_buf_printf(&ev->buf,
                           ",\"item_id\":\"msg_%s\",\"output_index\":0,"
                           "\"content_index\":0,\"delta\":",
                           r->id + 5);
        sy_mock_buf_json_str(&ev->buf, r->content + from,
                             r->piece_end[i] - from);
        sy_mock_buf_puts(&ev->buf, ",\"logprobs\":[]");
        responses_close(ev);
        from = r->piece_end[i];
        if (r->stream_error) {
            responses_error_event(ev);
            return false;
        }
    }
    responses_open(ev, "response.output_text.done");
    sy_mock_buf_printf(&ev->buf,
                       ",\"item_id\":\"msg_%s\",\"output_index\":0,"
                       "\"content_index\":0,\"text\":",
                       r->id + 5);
    sy_mock_buf_json_str(&ev->buf, r->content, r->content_len);
    sy_mock_buf_puts(&ev->buf, ",\"logprobs\":[]");
    responses_close(ev);
    responses_part_event(r, "response.content_part.done", r->content_len, ev);
    responses_item_event("response.output_item.done", 0, ev);
    responses_message(r, "completed", true, &ev->buf);
    responses_close(ev);
    return true;
}

/* A function_call_arguments event of call "c" (item "k"): a delta of
 * args[from, to), or "done" with all of them. */
static void
responses_args_event(const struct sy_mock_call *c, long k, bool done,
                     size_t from, size_t to, struct sy_mock_events *ev)
{
    responses_open(ev, done ? "response.function_call_arguments.done"
                            : "response.function_call_arguments.delta");
    sy_mock_buf_printf(&ev->buf,
                       ",\"item_id\":\"fc_%s\",\"output_index\":%ld,"
                       "\"%s\":",
                       c->id, k, done ? "arguments" : "delta");
    sy_mock_buf_json_str(&ev->buf, c->args + from, to - from);
    responses_close(ev);
}

/* The function calls of a stream: per call the item added, its
 * arguments in 2 deltas, arguments done, item done. False when
 * "stream_error" ended it after the first delta. */
static bool
responses_calls_stream(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    struct sy_mock_call call;
    long k;

    for (k = 0; k < r->n_calls; k++) {
        sy_mock_reply_call(r, k, &call);
        responses_item_event("response.output_item.added", k, ev);
        responses_call_item(r, &call, false, &ev->buf);
        responses_close(ev);
        responses_args_event(&call, k, false, 0, call.half, ev);
        if (r->stream_error) {
            responses_error_event(ev);
            return false;
        }
        responses_args_event(&call, k, false, call.half, call.args_len, ev);
        responses_args_event(&call, k, true, 0, call.args_len, ev);
        responses_item_event("response.output_item.done", k, ev);
        responses_call_item(r, &call, true, &ev->buf);
        responses_close(ev);
    }
    return true;
}

/*
 * All events of a stream, each with its "event:" name and
 * sequence_number: response.created, response.in_progress, the output
 * items (the message with its text deltas, or the function calls with
 * their argument deltas), response.completed with the whole response
 * and its usage. With "malformed", an event with invalid JSON data
 * follows response.created; with "stream_error", an error event follows
 * the first delta and ends the stream.
 */
static void
responses_render_stream(const struct sy_mock_reply *r,
                        struct sy_mock_events *ev)
{
    bool whole;

    responses_state(r, "response.created", "in_progress", false, ev);
    if (r->malformed) {
        sy_mock_buf_puts(&ev->buf, "event: response.output_text.delta\ndata: "
                                   "{\"type\":\"response.output_text.delta\","
                                   "\"delta\":\n\n");
        sy_mock_events_mark(ev);
    }
    responses_state(r, "response.in_progress", "in_progress", false, ev);
    whole = r->is_tool_call ? responses_calls_stream(r, ev)
                            : responses_text_stream(r, ev);
    if (!whole) {
        return;
    }
    responses_state(r, "response.completed", "completed", true, ev);
    if (!r->no_usage) {
        ev->usage_at = ev->n;
    }
}

const struct sy_mock_dialect sy_mock_dialect_responses = {
    "responses",
    responses_route,
    responses_parse_chat,
    responses_render_models,
    responses_render_error,
    responses_render_reply,
    responses_render_malformed,
    responses_render_stream,
    "text/event-stream",
    "resp_mock_",
    "call_mock_",
    false,
};
