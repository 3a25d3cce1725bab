/*
 * mock_openai.c - the OpenAI Chat Completions dialect of the mock LLM
 * provider: routes /v1/chat/completions and /v1/models (and
 * /v1/embeddings, answered by mock_embed.c), reduces a request
 * to struct sy_mock_chat, and renders replies, stream chunks and error
 * bodies. Exports only the table sy_mock_dialect_openai; what to answer
 * is decided in mock_app.c. Another provider API is one more such file.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Map a path (deployment prefix removed) to an operation. */
static enum sy_mock_op
openai_route(const char *path, const char **method)
{
    if (strcmp(path, "/v1/chat/completions") == 0) {
        *method = "POST";
        return SY_MOCK_OP_CHAT;
    }
    if (strcmp(path, "/v1/models") == 0) {
        *method = "GET";
        return SY_MOCK_OP_MODELS;
    }
    if (strcmp(path, "/v1/embeddings") == 0) {
        *method = "POST";
        return SY_MOCK_OP_EMBED;
    }
    return SY_MOCK_OP_NONE;
}

/* Number of UTF-8 characters in "s". */
static long
openai_chars(const char *s, size_t len)
{
    long n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* Characters of a message content: a string, or an array of parts whose
 * "text" members count. */
static long
openai_content_chars(struct json_object *content)
{
    long n = 0;
    size_t i;

    if (json_object_is_type(content, json_type_string)) {
        return openai_chars(json_object_get_string(content),
                            (size_t)json_object_get_string_len(content));
    }
    if (!json_object_is_type(content, json_type_array)) {
        return 0;
    }
    for (i = 0; i < json_object_array_length(content); i++) {
        struct json_object *part = json_object_array_get_idx(content, i);
        struct json_object *text;

        if (json_object_is_type(part, json_type_object) &&
            json_object_object_get_ex(part, "text", &text) &&
            json_object_is_type(text, json_type_string)) {
            n += openai_chars(json_object_get_string(text),
                              (size_t)json_object_get_string_len(text));
        }
    }
    return n;
}

/* The string member "key" of "obj", or NULL. */
static const char *
openai_str(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (json_object_is_type(obj, json_type_object) &&
        json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

/* The function name of a tool ({"type":"function","function":{"name"}})
 * or of a forced tool_choice, or NULL. */
static const char *
openai_function_name(struct json_object *obj)
{
    struct json_object *fn;

    if (json_object_object_get_ex(obj, "function", &fn)) {
        return openai_str(fn, "name");
    }
    return openai_str(obj, "name");
}

/* Fill "chat" from the messages array; false with "err" when invalid. */
static bool
openai_parse_messages(struct json_object *messages, struct sy_mock_chat *chat,
                      char *err, size_t err_len)
{
    size_t n;
    size_t i;

    if (!json_object_is_type(messages, json_type_array)) {
        snprintf(err, err_len, "'messages' must be an array");
        return false;
    }
    n = json_object_array_length(messages);
    for (i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(messages, i);
        struct json_object *content = NULL;
        const char *role = openai_str(m, "role");

        if (role == NULL) {
            snprintf(err, err_len, "messages[%zu] needs a string 'role'", i);
            return false;
        }
        json_object_object_get_ex(m, "content", &content);
        chat->prompt_chars += openai_content_chars(content);
        if (strcmp(role, "user") == 0 &&
            json_object_is_type(content, json_type_string)) {
            chat->last_user_text = json_object_get_string(content);
        }
        chat->last_is_tool = strcmp(role, "tool") == 0;
        chat->tool_result = NULL;
        if (chat->last_is_tool) {
            chat->tool_result = json_object_is_type(content, json_type_string)
                                    ? json_object_get_string(content)
                                    : "";
        }
    }
    return true;
}

/* Reduce an OpenAI request body to "chat"; false with "err" for a 400. */
static bool
openai_parse_chat(const struct sy_mock_req *req, const char *path,
                  struct json_object *body, struct sy_mock_chat *chat,
                  char *err, size_t err_len)
{
    struct json_object *v;
    struct json_object *opts;

    (void)req;
    (void)path;
    if (!json_object_is_type(body, json_type_object)) {
        snprintf(err, err_len, "the request body must be a JSON object");
        return false;
    }
    chat->model = openai_str(body, "model");
    if (chat->model == NULL) {
        chat->model = "";
    }
    if (!json_object_object_get_ex(body, "messages", &v)) {
        snprintf(err, err_len, "you must provide a 'messages' parameter");
        return false;
    }
    if (!openai_parse_messages(v, chat, err, err_len)) {
        return false;
    }
    if (json_object_object_get_ex(body, "stream", &v)) {
        chat->stream = json_object_get_boolean(v) != 0;
    }
    chat->choices = 1;
    if (json_object_object_get_ex(body, "n", &v) &&
        !json_object_is_type(v, json_type_null)) {
        int64_t n = json_object_get_int64(v);

        if (!json_object_is_type(v, json_type_int) || n < 1 ||
            n > SY_MOCK_MAX_CHOICES) {
            snprintf(err, err_len, "'n' must be an integer in 1..%d",
                     SY_MOCK_MAX_CHOICES);
            return false;
        }
        chat->choices = (long)n;
    }
    if (json_object_object_get_ex(body, "stream_options", &opts) &&
        json_object_is_type(opts, json_type_object) &&
        json_object_object_get_ex(opts, "include_usage", &v)) {
        chat->include_usage = json_object_get_boolean(v) != 0;
    }
    if (json_object_object_get_ex(body, "tools", &v) &&
        json_object_is_type(v, json_type_array) &&
        json_object_array_length(v) > 0) {
        size_t i;

        chat->has_tools = true;
        chat->tool_name = openai_function_name(json_object_array_get_idx(v, 0));
        for (i = 0; i < json_object_array_length(v); i++) {
            sy_mock_chat_declare(
                chat, openai_function_name(json_object_array_get_idx(v, i)));
        }
    }
    if (json_object_object_get_ex(body, "tool_choice", &v)) {
        if (json_object_is_type(v, json_type_string)) {
            chat->tool_choice_none =
                strcmp(json_object_get_string(v), "none") == 0;
        } else if (json_object_is_type(v, json_type_object) &&
                   openai_function_name(v) != NULL) {
            chat->tool_name = openai_function_name(v);
            chat->tool_forced = true;
        }
    }
    return true;
}

/* The model list: one model, "mock-model". */
static void
openai_render_models(struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"object\":\"list\",\"data\":[{\"id\":"
                          "\"mock-model\",\"object\":\"model\",\"created\":"
                          "1700000000,\"owned_by\":\"mock\"}]}");
}

/* An OpenAI error object for "status" with "message" (Retry-After is a
 * header only). */
static void
openai_render_error(int status, long retry_after, const char *message,
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
openai_usage(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out,
                       "{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
                       "\"total_tokens\":%ld",
                       r->prompt_tokens, r->completion_tokens,
                       r->prompt_tokens + r->completion_tokens);
    if (r->cached_tokens >= 0) {
        sy_mock_buf_printf(out,
                           ",\"prompt_tokens_details\":"
                           "{\"cached_tokens\":%ld}",
                           r->cached_tokens);
    }
    if (r->reasoning_tokens >= 0) {
        sy_mock_buf_printf(out,
                           ",\"completion_tokens_details\":"
                           "{\"reasoning_tokens\":%ld}",
                           r->reasoning_tokens);
    }
    sy_mock_buf_puts(out, "}");
}

/* {"id":..,"object":"<object>","created":..,"model":.. without the brace
 * that closes it. */
static void
openai_head(const struct sy_mock_reply *r, const char *object,
            struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"id\":");
    sy_mock_buf_json_cstr(out, r->id);
    sy_mock_buf_printf(out,
                       ",\"object\":\"%s\",\"created\":%lld,"
                       "\"model\":",
                       object, r->created);
    sy_mock_buf_json_cstr(out, r->chat->model);
}

/* Choice "index" of a chat.completion (all choices are the same). */
static void
openai_choice(const struct sy_mock_reply *r, long index,
              struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out,
                       "%s{\"index\":%ld,\"message\":"
                       "{\"role\":\"assistant\",\"content\":",
                       index ? "," : "", index);
    if (r->is_tool_call) {
        struct sy_mock_call call;
        long k;

        sy_mock_buf_puts(out, "null,\"refusal\":null,\"tool_calls\":[");
        for (k = 0; k < r->n_calls; k++) {
            sy_mock_reply_call(r, k, &call);
            sy_mock_buf_puts(out, k ? ",{\"id\":" : "{\"id\":");
            sy_mock_buf_json_cstr(out, call.id);
            sy_mock_buf_puts(out, ",\"type\":\"function\",\"function\":"
                                  "{\"name\":");
            sy_mock_buf_json_cstr(out, r->chat->tool_name);
            sy_mock_buf_puts(out, ",\"arguments\":");
            sy_mock_buf_json_str(out, call.args, call.args_len);
            sy_mock_buf_puts(out, "}}");
        }
        sy_mock_buf_puts(out, "]");
    } else {
        sy_mock_buf_json_str(out, r->content, r->content_len);
        sy_mock_buf_puts(out, ",\"refusal\":null");
    }
    sy_mock_buf_printf(out, "},\"logprobs\":null,\"finish_reason\":\"%s\"}",
                       r->finish_reason);
}

/* A chat.completion object: "choices" choices, the usage unless
 * "no_usage". */
static void
openai_render_reply(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    long k;

    openai_head(r, "chat.completion", out);
    sy_mock_buf_puts(out, ",\"choices\":[");
    for (k = 0; k < r->choices; k++) {
        openai_choice(r, k, out);
    }
    sy_mock_buf_puts(out, "]");
    if (!r->no_usage) {
        sy_mock_buf_puts(out, ",\"usage\":");
        openai_usage(r, out);
    }
    sy_mock_buf_puts(out, "}");
}

/* A body that starts like a reply and breaks off: invalid JSON. */
static void
openai_render_malformed(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    openai_head(r, "chat.completion", out);
    sy_mock_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":"
                          "{\"role\":\"assistant\",\"content\":\"Hel");
}

/* Start one chunk event: "data: " and the chunk up to "choices":[. */
static void
openai_chunk_open(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf, "data: ");
    openai_head(r, "chat.completion.chunk", &ev->buf);
    sy_mock_buf_puts(&ev->buf, ",\"choices\":[");
}

/* End a chunk whose choices were written, with "usage":null. */
static void
openai_chunk_close(struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf, "],\"usage\":null}\n\n");
    sy_mock_events_mark(ev);
}

/* One piece of the text of choice "k", or of the arguments of tool call
 * "k" (a tool call reply has one choice). */
static void
openai_piece(const struct sy_mock_reply *r, long k, const char *text,
             size_t from, size_t to, struct sy_mock_events *ev)
{
    openai_chunk_open(r, ev);
    if (r->is_tool_call) {
        sy_mock_buf_printf(&ev->buf,
                           "{\"index\":0,\"delta\":{\"tool_calls\":"
                           "[{\"index\":%ld,\"function\":{\"arguments\":",
                           k);
        sy_mock_buf_json_str(&ev->buf, text + from, to - from);
        sy_mock_buf_puts(&ev->buf, "}}]},\"finish_reason\":null}");
    } else {
        sy_mock_buf_printf(&ev->buf,
                           "{\"index\":%ld,\"delta\":{\"content\":", k);
        sy_mock_buf_json_str(&ev->buf, text + from, to - from);
        sy_mock_buf_puts(&ev->buf, "},\"finish_reason\":null}");
    }
    openai_chunk_close(ev);
}

/* The further calls (1 .. n_calls - 1) of a parallel tool call reply:
 * per call a chunk with its id and name, then its arguments in 2 pieces. */
static void
openai_more_calls(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    struct sy_mock_call call;
    long k;

    for (k = 1; k < r->n_calls; k++) {
        sy_mock_reply_call(r, k, &call);
        openai_chunk_open(r, ev);
        sy_mock_buf_printf(&ev->buf,
                           "{\"index\":0,\"delta\":{\"tool_calls\":"
                           "[{\"index\":%ld,\"id\":",
                           k);
        sy_mock_buf_json_cstr(&ev->buf, call.id);
        sy_mock_buf_puts(&ev->buf, ",\"type\":\"function\",\"function\":"
                                   "{\"name\":");
        sy_mock_buf_json_cstr(&ev->buf, r->chat->tool_name);
        sy_mock_buf_puts(&ev->buf, ",\"arguments\":\"\"}}]},"
                                   "\"finish_reason\":null}");
        openai_chunk_close(ev);
        openai_piece(r, k, call.args, 0, call.half, ev);
        openai_piece(r, k, call.args, call.half, call.args_len, ev);
    }
}

/* The role chunk of text choice "k" (the stream's first chunks). */
static void
openai_role(const struct sy_mock_reply *r, long k, struct sy_mock_events *ev)
{
    openai_chunk_open(r, ev);
    sy_mock_buf_printf(&ev->buf,
                       "{\"index\":%ld,\"delta\":{\"role\":"
                       "\"assistant\",\"content\":\"\"},"
                       "\"finish_reason\":null}",
                       k);
    openai_chunk_close(ev);
}

/* The end of a stream: a finish chunk per choice, the usage chunk when
 * asked for (and not "no_usage"), [DONE]. */
static void
openai_stream_end(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    long k;

    for (k = 0; k < r->choices; k++) {
        openai_chunk_open(r, ev);
        sy_mock_buf_printf(&ev->buf,
                           "{\"index\":%ld,\"delta\":{},"
                           "\"finish_reason\":\"%s\"}",
                           k, r->finish_reason);
        openai_chunk_close(ev);
    }
    if (r->chat->include_usage && !r->no_usage) {
        openai_chunk_open(r, ev);
        sy_mock_buf_puts(&ev->buf, "],\"usage\":");
        openai_usage(r, &ev->buf);
        sy_mock_buf_puts(&ev->buf, "}\n\n");
        sy_mock_events_mark(ev);
        ev->usage_at = ev->n;
    }
    sy_mock_buf_puts(&ev->buf, "data: [DONE]\n\n");
    sy_mock_events_mark(ev);
}

/*
 * All events of a stream: the role chunk (with the first tool call's id
 * and name for a tool call), one chunk per piece, the further calls of a
 * parallel reply, the finish chunk, the usage chunk when asked for, and
 * [DONE]; with "choices" > 1, each role, piece and finish chunk once per
 * choice. With "malformed", an invalid event
 * follows the first chunk; with "stream_error", an error event follows
 * the first piece and ends the stream (no [DONE]).
 */
static void
openai_render_stream(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    size_t from = 0;
    size_t i;
    long k;

    if (r->is_tool_call) {
        openai_chunk_open(r, ev);
        sy_mock_buf_puts(&ev->buf,
                         "{\"index\":0,\"delta\":{\"role\":"
                         "\"assistant\",\"content\":null,\"tool_calls\":"
                         "[{\"index\":0,\"id\":");
        sy_mock_buf_json_cstr(&ev->buf, r->call_id);
        sy_mock_buf_puts(&ev->buf, ",\"type\":\"function\",\"function\":"
                                   "{\"name\":");
        sy_mock_buf_json_cstr(&ev->buf, r->chat->tool_name);
        sy_mock_buf_puts(&ev->buf, ",\"arguments\":\"\"}}]},"
                                   "\"finish_reason\":null}");
        openai_chunk_close(ev);
    } else {
        for (k = 0; k < r->choices; k++) {
            openai_role(r, k, ev);
        }
    }
    if (r->malformed) {
        sy_mock_buf_puts(&ev->buf, "data: ");
        openai_head(r, "chat.completion.chunk", &ev->buf);
        sy_mock_buf_puts(&ev->buf, ",\"choices\":[{\"index\":0,\"delta\":"
                                   "{\"content\":\n\n");
        sy_mock_events_mark(ev);
    }
    for (i = 0; i < r->n_pieces; i++) {
        for (k = 0; k < r->choices; k++) {
            openai_piece(r, k, r->content, from, r->piece_end[i], ev);
        }
        from = r->piece_end[i];
        if (r->stream_error) {
            break;
        }
    }
    if (r->stream_error) {
        sy_mock_buf_puts(&ev->buf,
                         "data: {\"error\":{\"message\":"
                         "\"The server is overloaded\",\"type\":"
                         "\"server_error\",\"param\":null,\"code\":null}}"
                         "\n\n");
        sy_mock_events_mark(ev);
        return;
    }
    openai_more_calls(r, ev);
    openai_stream_end(r, ev);
}

const struct sy_mock_dialect sy_mock_dialect_openai = {
    "openai",
    openai_route,
    openai_parse_chat,
    openai_render_models,
    openai_render_error,
    openai_render_reply,
    openai_render_malformed,
    openai_render_stream,
    "text/event-stream",
    "chatcmpl-mock-",
    "call_mock_",
    false,
};
