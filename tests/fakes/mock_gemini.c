/*
 * mock_gemini.c - the Gemini generateContent dialect of the mock LLM
 * provider: routes /v1beta/models/<model>:generateContent and
 * :streamGenerateContent?alt=sse, reduces a request to struct
 * sy_mock_chat (model from the path, roles user/model, non-empty parts),
 * and renders GenerateContentResponses, "data:" SSE events (CRLF framed,
 * no [DONE]) and Google RPC error bodies. Exports only the table
 * sy_mock_dialect_gemini; what to answer is decided in mock_app.c.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define GEMINI_PREFIX     "/v1beta/models/"
#define GEMINI_PREFIX_LEN (sizeof(GEMINI_PREFIX) - 1)

/*
 * Split a path (deployment prefix removed) of the form
 * /v1beta/models/<model>:<action> into the model ("*model", "*model_len")
 * and whether the action is streamGenerateContent ("*stream"). False
 * when the path is not a generate call.
 */
static bool
gemini_split(const char *path, const char **model, size_t *model_len,
             bool *stream)
{
    const char *m;
    const char *colon;

    if (strncmp(path, GEMINI_PREFIX, GEMINI_PREFIX_LEN) != 0) {
        return false;
    }
    m = path + GEMINI_PREFIX_LEN;
    colon = strchr(m, ':');
    if (colon == NULL || colon == m ||
        (size_t)(colon - m) > SY_MOCK_MAX_MODEL ||
        memchr(m, '/', (size_t)(colon - m)) != NULL) {
        return false;
    }
    *model = m;
    *model_len = (size_t)(colon - m);
    if (strcmp(colon + 1, "generateContent") == 0) {
        *stream = false;
        return true;
    }
    if (strcmp(colon + 1, "streamGenerateContent") == 0) {
        *stream = true;
        return true;
    }
    return false;
}

/* Map a path (deployment prefix removed) to an operation. */
static enum sy_mock_op
gemini_route(const char *path, const char **method)
{
    const char *model;
    size_t len;
    bool stream;

    if (gemini_split(path, &model, &len, &stream)) {
        *method = "POST";
        return SY_MOCK_OP_CHAT;
    }
    if (strcmp(path, "/v1beta/models") == 0) {
        *method = "GET";
        return SY_MOCK_OP_MODELS;
    }
    if (sy_mock_embed_gemini_model(path, &model, &len)) {
        *method = "POST";
        return SY_MOCK_OP_EMBED;
    }
    return SY_MOCK_OP_NONE;
}

/* The member of "obj" named "camel" or (as the REST API also accepts)
 * "snake", when it has JSON type "type"; NULL otherwise. */
static struct json_object *
gemini_get(struct json_object *obj, const char *camel, const char *snake,
           enum json_type type)
{
    struct json_object *v;

    if (!json_object_is_type(obj, json_type_object)) {
        return NULL;
    }
    if ((json_object_object_get_ex(obj, camel, &v) ||
         (snake != NULL && json_object_object_get_ex(obj, snake, &v))) &&
        json_object_is_type(v, type)) {
        return v;
    }
    return NULL;
}

/* The string member "key" of "obj", or NULL. */
static const char *
gemini_str(struct json_object *obj, const char *key)
{
    struct json_object *v = gemini_get(obj, key, NULL, json_type_string);

    return v != NULL ? json_object_get_string(v) : NULL;
}

/* Add the characters of the text parts of Content "c" to "chat". */
static void
gemini_count_parts(struct json_object *c, struct sy_mock_chat *chat)
{
    struct json_object *parts = gemini_get(c, "parts", NULL, json_type_array);
    size_t i;

    for (i = 0; parts != NULL && i < json_object_array_length(parts); i++) {
        struct json_object *text =
            gemini_get(json_object_array_get_idx(parts, i), "text", NULL,
                       json_type_string);

        if (text != NULL) {
            chat->prompt_chars +=
                sy_mock_utf8_chars(json_object_get_string(text),
                                   (size_t)json_object_get_string_len(text));
        }
    }
}

/*
 * Check the parts of content "idx", count the characters of its
 * functionResponses (as JSON; text parts are counted by
 * gemini_count_parts) and note in "chat" the text that may hold
 * [[mock ...]] (user turns) and the first functionResponse. False with
 * "err" when the parts are missing or empty.
 */
static bool
gemini_parts(struct json_object *c, size_t idx, bool user,
             struct sy_mock_chat *chat, char *err, size_t err_len)
{
    struct json_object *parts = gemini_get(c, "parts", NULL, json_type_array);
    const char *user_text = NULL;
    const char *result = NULL;
    size_t n = parts != NULL ? json_object_array_length(parts) : 0;
    size_t i;

    if (n == 0) {
        snprintf(err, err_len,
                 "* GenerateContentRequest.contents[%zu]."
                 "parts: contents.parts must not be empty.",
                 idx);
        return false;
    }
    for (i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(parts, i);
        const char *text = gemini_str(p, "text");
        struct json_object *fr = gemini_get(
            p, "functionResponse", "function_response", json_type_object);

        if (text != NULL && user &&
            (user_text == NULL || strstr(user_text, "[[mock ") == NULL)) {
            user_text = text;
        }
        if (fr != NULL) {
            struct json_object *resp;
            const char *json = "{}";

            if (json_object_object_get_ex(fr, "response", &resp)) {
                json = json_object_to_json_string_ext(
                    resp,
                    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
            }
            chat->prompt_chars += sy_mock_utf8_chars(json, strlen(json));
            if (result == NULL) {
                result = json;
            }
        }
    }
    if (user_text != NULL) {
        chat->last_user_text = user_text;
    }
    chat->last_is_tool = result != NULL;
    chat->tool_result = result;
    gemini_count_parts(c, chat);
    return true;
}

/* Fill "chat" from the contents array; false with "err" when invalid. */
static bool
gemini_contents(struct json_object *body, struct sy_mock_chat *chat, char *err,
                size_t err_len)
{
    struct json_object *contents =
        gemini_get(body, "contents", NULL, json_type_array);
    size_t n = contents != NULL ? json_object_array_length(contents) : 0;
    size_t i;

    if (n == 0) {
        snprintf(err, err_len,
                 "* GenerateContentRequest.contents: contents "
                 "is not specified");
        return false;
    }
    for (i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(contents, i);
        const char *role = gemini_str(c, "role");
        bool user = role == NULL || strcmp(role, "user") == 0;

        if (!json_object_is_type(c, json_type_object) ||
            (!user && strcmp(role, "model") != 0)) {
            snprintf(err, err_len, "Please use a valid role: user, model.");
            return false;
        }
        if (!gemini_parts(c, i, user, chat, err, err_len)) {
            return false;
        }
    }
    return true;
}

/* Fill the tool fields of "chat" from "tools" and "toolConfig". */
static void
gemini_tools(struct json_object *body, struct sy_mock_chat *chat)
{
    struct json_object *tools =
        gemini_get(body, "tools", NULL, json_type_array);
    struct json_object *cfg = gemini_get(
        gemini_get(body, "toolConfig", "tool_config", json_type_object),
        "functionCallingConfig", "function_calling_config", json_type_object);
    struct json_object *allowed = gemini_get(
        cfg, "allowedFunctionNames", "allowed_function_names", json_type_array);
    const char *mode = gemini_str(cfg, "mode");
    size_t i;

    for (i = 0; tools != NULL && i < json_object_array_length(tools); i++) {
        struct json_object *decls = gemini_get(
            json_object_array_get_idx(tools, i), "functionDeclarations",
            "function_declarations", json_type_array);

        size_t j;

        if (decls != NULL && json_object_array_length(decls) > 0 &&
            !chat->has_tools) {
            chat->has_tools = true;
            chat->tool_name =
                gemini_str(json_object_array_get_idx(decls, 0), "name");
        }
        for (j = 0; decls != NULL && j < json_object_array_length(decls); j++) {
            sy_mock_chat_declare(
                chat, gemini_str(json_object_array_get_idx(decls, j), "name"));
        }
    }
    if (mode != NULL && strcmp(mode, "NONE") == 0) {
        chat->tool_choice_none = true;
    } else if (mode != NULL && strcmp(mode, "ANY") == 0 && allowed != NULL &&
               json_object_array_length(allowed) > 0 &&
               json_object_is_type(json_object_array_get_idx(allowed, 0),
                                   json_type_string)) {
        chat->tool_name =
            json_object_get_string(json_object_array_get_idx(allowed, 0));
        chat->tool_forced = true;
    }
}

/* Reduce a Gemini request to "chat"; false with "err" for a 400. */
static bool
gemini_parse_chat(const struct sy_mock_req *req, const char *path,
                  struct json_object *body, struct sy_mock_chat *chat,
                  char *err, size_t err_len)
{
    const char *model;
    size_t model_len;
    struct json_object *system;

    if (!gemini_split(path, &model, &model_len, &chat->stream)) {
        snprintf(err, err_len, "unknown method");
        return false;
    }
    memcpy(chat->model_buf, model, model_len);
    chat->model_buf[model_len] = '\0';
    chat->model = chat->model_buf;
    if (chat->stream && !sy_mock_req_query_has(req, "alt=sse")) {
        snprintf(err, err_len,
                 "the mock streams only with alt=sse "
                 "(streamGenerateContent?alt=sse)");
        return false;
    }
    if (!json_object_is_type(body, json_type_object)) {
        snprintf(err, err_len,
                 "Invalid JSON payload received. The request "
                 "body must be a JSON object.");
        return false;
    }
    if (!gemini_contents(body, chat, err, err_len)) {
        return false;
    }
    system = gemini_get(body, "systemInstruction", "system_instruction",
                        json_type_object);
    if (system != NULL) {
        gemini_count_parts(system, chat);
    }
    gemini_tools(body, chat);
    return true;
}

/* The model list: one model, "models/mock-model". */
static void
gemini_render_models(struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"models\":[{\"name\":\"models/mock-model\","
                          "\"version\":\"001\",\"displayName\":\"Mock Model\","
                          "\"supportedGenerationMethods\":[\"generateContent\","
                          "\"streamGenerateContent\"]}]}");
}

/* The google.rpc status name of HTTP "status". */
static const char *
gemini_status_name(int status)
{
    switch (status) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 501:
        return "UNIMPLEMENTED";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
    }
}

/* A Google RPC error body for "status" with "message"; a 429 with
 * "retry_after" >= 0 carries a RetryInfo detail. */
static void
gemini_render_error(int status, long retry_after, const char *message,
                    struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out, "{\"error\":{\"code\":%d,\"message\":", status);
    sy_mock_buf_json_cstr(out, message);
    sy_mock_buf_printf(out, ",\"status\":\"%s\"", gemini_status_name(status));
    if (status == 429 && retry_after >= 0) {
        sy_mock_buf_printf(out,
                           ",\"details\":[{\"@type\":"
                           "\"type.googleapis.com/google.rpc.RetryInfo\","
                           "\"retryDelay\":\"%lds\"}]",
                           retry_after);
    }
    sy_mock_buf_puts(out, "}}");
}

/* The usageMetadata of "r": complete when "final", else the prompt
 * count only (as early stream chunks carry it). */
static void
gemini_usage(const struct sy_mock_reply *r, bool final, struct sy_mock_buf *out)
{
    long thoughts = r->reasoning_tokens > 0 ? r->reasoning_tokens : 0;

    if (!final) {
        sy_mock_buf_printf(out,
                           "{\"promptTokenCount\":%ld,"
                           "\"totalTokenCount\":%ld}",
                           r->prompt_tokens, r->prompt_tokens);
        return;
    }
    sy_mock_buf_printf(out,
                       "{\"promptTokenCount\":%ld,"
                       "\"candidatesTokenCount\":%ld,\"totalTokenCount\":%ld",
                       r->prompt_tokens, r->completion_tokens,
                       r->prompt_tokens + r->completion_tokens + thoughts);
    if (r->cached_tokens >= 0) {
        sy_mock_buf_printf(out, ",\"cachedContentTokenCount\":%ld",
                           r->cached_tokens);
    }
    if (r->reasoning_tokens >= 0) {
        sy_mock_buf_printf(out, ",\"thoughtsTokenCount\":%ld",
                           r->reasoning_tokens);
    }
    sy_mock_buf_puts(out, "}");
}

/* The functionCall parts of "r", comma separated. */
static void
gemini_calls(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    struct sy_mock_call call;
    long k;

    for (k = 0; k < r->n_calls; k++) {
        sy_mock_reply_call(r, k, &call);
        sy_mock_buf_puts(out, k ? ",{\"functionCall\":{\"name\":"
                                : "{\"functionCall\":{\"name\":");
        sy_mock_buf_json_cstr(out, r->chat->tool_name);
        sy_mock_buf_puts(out, ",\"args\":");
        sy_mock_buf_append(out, call.args, call.args_len);
        sy_mock_buf_puts(out, "}}");
    }
}

/*
 * One GenerateContentResponse whose parts are "parts" (JSON, already
 * rendered); "final" adds finishReason and the complete usage.
 */
static void
gemini_response(const struct sy_mock_reply *r, const char *parts,
                size_t parts_len, bool final, struct sy_mock_buf *out)
{
    sy_mock_buf_puts(out, "{\"candidates\":[{\"content\":{\"role\":\"model\","
                          "\"parts\":[");
    sy_mock_buf_append(out, parts, parts_len);
    sy_mock_buf_puts(out, "]},");
    if (final) {
        sy_mock_buf_puts(out, "\"finishReason\":\"STOP\",");
    }
    sy_mock_buf_puts(out, "\"index\":0}]");
    if (!r->no_usage) {
        sy_mock_buf_puts(out, ",\"usageMetadata\":");
        gemini_usage(r, final, out);
    }
    sy_mock_buf_puts(out, ",\"modelVersion\":");
    sy_mock_buf_json_cstr(out, r->chat->model);
    sy_mock_buf_puts(out, ",\"responseId\":");
    sy_mock_buf_json_cstr(out, r->id);
    sy_mock_buf_puts(out, "}");
}

/* The parts of a non-streamed reply: the text, or the function calls. */
static void
gemini_reply_parts(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    if (r->is_tool_call) {
        gemini_calls(r, out);
        return;
    }
    sy_mock_buf_puts(out, "{\"text\":");
    sy_mock_buf_json_str(out, r->content, r->content_len);
    sy_mock_buf_puts(out, "}");
}

/* A GenerateContentResponse. */
static void
gemini_render_reply(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    struct sy_mock_buf parts = { 0 };

    gemini_reply_parts(r, &parts);
    gemini_response(r, parts.data, parts.len, true, out);
    sy_mock_buf_cleanup(&parts);
}

/* A body that starts like a response and breaks off: invalid JSON. */
static void
gemini_render_malformed(const struct sy_mock_reply *r, struct sy_mock_buf *out)
{
    (void)r;
    sy_mock_buf_puts(out, "{\"candidates\":[{\"content\":{\"role\":\"model\","
                          "\"parts\":[{\"text\":\"Hel");
}

/* One event: "data: ", a response with "parts", CRLF CRLF. */
static void
gemini_event(const struct sy_mock_reply *r, const char *parts, size_t parts_len,
             bool final, struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf, "data: ");
    gemini_response(r, parts, parts_len, final, &ev->buf);
    sy_mock_buf_puts(&ev->buf, "\r\n\r\n");
    sy_mock_events_mark(ev);
    if (final && !r->no_usage) {
        ev->usage_at = ev->n; /* the complete usage */
    }
}

/* The events after the first one: the invalid event of "malformed". */
static void
gemini_after_first(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    if (r->malformed) {
        sy_mock_buf_puts(&ev->buf,
                         "data: {\"candidates\":[{\"content\":"
                         "{\"role\":\"model\",\"parts\":[{\"text\":\r\n\r\n");
        sy_mock_events_mark(ev);
    }
}

/* The mid-stream error event that "stream_error" asks for. */
static void
gemini_error_event(struct sy_mock_events *ev)
{
    sy_mock_buf_puts(&ev->buf,
                     "data: {\"error\":{\"code\":503,\"message\":"
                     "\"The model is overloaded. Please try again later.\","
                     "\"status\":\"UNAVAILABLE\"}}\r\n\r\n");
    sy_mock_events_mark(ev);
}

/*
 * All events of a stream: one response per text piece (all function
 * calls in one), the last with finishReason and the complete usage, the
 * others with the prompt count only; no terminator, the end of the body
 * ends the stream. With "malformed", an invalid event follows the first
 * one; with "stream_error", the first event is not final and an error
 * event follows it as the last.
 */
static void
gemini_render_stream(const struct sy_mock_reply *r, struct sy_mock_events *ev)
{
    struct sy_mock_buf part = { 0 };
    size_t from = 0;
    size_t i;

    if (r->is_tool_call || r->n_pieces == 0) {
        gemini_reply_parts(r, &part);
        gemini_event(r, part.data, part.len, !r->stream_error, ev);
        gemini_after_first(r, ev);
    }
    for (i = 0; !r->is_tool_call && i < r->n_pieces; i++) {
        sy_mock_buf_reset(&part, 4096);
        sy_mock_buf_puts(&part, "{\"text\":");
        sy_mock_buf_json_str(&part, r->content + from, r->piece_end[i] - from);
        sy_mock_buf_puts(&part, "}");
        from = r->piece_end[i];
        gemini_event(r, part.data, part.len,
                     i + 1 == r->n_pieces && !r->stream_error, ev);
        if (i == 0) {
            gemini_after_first(r, ev);
        }
        if (r->stream_error) {
            break;
        }
    }
    if (r->stream_error) {
        gemini_error_event(ev);
    }
    sy_mock_buf_cleanup(&part);
}

const struct sy_mock_dialect sy_mock_dialect_gemini = {
    "gemini",
    gemini_route,
    gemini_parse_chat,
    gemini_render_models,
    gemini_render_error,
    gemini_render_reply,
    gemini_render_malformed,
    gemini_render_stream,
    "text/event-stream",
    "mock-",
    "call_mock_",
    true,
};
