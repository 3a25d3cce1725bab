/*
 * chat.c - parse and validate the client's chat completion request; write
 * canonical responses and OpenAI-style error objects.
 *
 * Validation is deliberately about shape, not policy: wrong JSON types,
 * missing required fields and impossible values get a 400 naming the
 * parameter, so that a bad request never reaches a provider (where it
 * would cost money and count against a deployment).
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "chat.h"
#include "caps.h"
#include "contract.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static void SY_PRINTF(3, 4)
bad(struct sy_chat_error *err, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->param = param;
}

/* Allowed JSON types per known top-level field. Unknown fields are passed
 * on to adapters, which keep only what their provider accepts. */
#define T_NULL (1u << json_type_null)
#define T_BOOL (1u << json_type_boolean)
#define T_NUM ((1u << json_type_double) | (1u << json_type_int))
#define T_INT (1u << json_type_int)
#define T_OBJ (1u << json_type_object)
#define T_ARR (1u << json_type_array)
#define T_STR (1u << json_type_string)

static const struct {
    const char *name;
    unsigned types;
    const char *what;
} field_types[] = {
    {"model", T_STR, "a string"},
    {"messages", T_ARR, "an array"},
    {"stream", T_BOOL | T_NULL, "a boolean"},
    {"stream_options", T_OBJ | T_NULL, "an object"},
    {"temperature", T_NUM | T_NULL, "a number"},
    {"top_p", T_NUM | T_NULL, "a number"},
    {"presence_penalty", T_NUM | T_NULL, "a number"},
    {"frequency_penalty", T_NUM | T_NULL, "a number"},
    {"max_tokens", T_INT | T_NULL, "an integer"},
    {"max_completion_tokens", T_INT | T_NULL, "an integer"},
    {"n", T_INT | T_NULL, "an integer"},
    {"seed", T_INT | T_NULL, "an integer"},
    {"top_logprobs", T_INT | T_NULL, "an integer"},
    {"logprobs", T_BOOL | T_NULL, "a boolean"},
    {"stop", T_STR | T_ARR | T_NULL, "a string or an array of strings"},
    {"tools", T_ARR | T_NULL, "an array"},
    {"tool_choice", T_STR | T_OBJ | T_NULL, "a string or an object"},
    {"parallel_tool_calls", T_BOOL | T_NULL, "a boolean"},
    {"response_format", T_OBJ | T_NULL, "an object"},
    {"user", T_STR | T_NULL, "a string"},
    {"logit_bias", T_OBJ | T_NULL, "an object"},
    {"metadata", T_OBJ | T_NULL, "an object"},
};

static enum sy_err
check_types(struct json_object *root, struct sy_chat_error *err)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(field_types); i++) {
        struct json_object *v;
        if (!json_object_object_get_ex(root, field_types[i].name, &v))
            continue;
        unsigned t = 1u << json_object_get_type(v);
        if ((t & field_types[i].types) == 0) {
            bad(err, field_types[i].name, "'%s' must be %s",
                field_types[i].name, field_types[i].what);
            return SY_EBADREQ;
        }
    }
    return SY_OK;
}

static bool
is_role(const char *r)
{
    static const char *const roles[] = {"system", "developer", "user",
                                        "assistant", "tool", "function"};
    for (size_t i = 0; i < SY_ARRAY_LEN(roles); i++)
        if (strcmp(r, roles[i]) == 0)
            return true;
    return false;
}

/* JSON has no NaN or Infinity, but json-c accepts them even in strict
 * mode; refuse them so they never reach a provider. Depth is already
 * bounded by the tokener. */
static bool
all_finite(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double:
        return isfinite(json_object_get_double(o));
    case json_type_array: {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            if (!all_finite(json_object_array_get_idx(o, i)))
                return false;
        return true;
    }
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (v != NULL && !all_finite(v))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

/* Check one message; 'param' is its path for the error object. */
static enum sy_err
check_message(struct json_object *m, size_t i, struct sy_arena *a,
              struct sy_chat_error *err)
{
    if (!json_object_is_type(m, json_type_object)) {
        bad(err, sy_arena_printf(a, "messages[%zu]", i),
            "messages[%zu] must be an object", i);
        return SY_EBADREQ;
    }
    struct json_object *role, *content;
    if (!json_object_object_get_ex(m, "role", &role) ||
        !json_object_is_type(role, json_type_string)) {
        bad(err, sy_arena_printf(a, "messages[%zu].role", i),
            "messages[%zu].role must be a string", i);
        return SY_EBADREQ;
    }
    const char *r = json_object_get_string(role);
    if (!is_role(r)) {
        bad(err, sy_arena_printf(a, "messages[%zu].role", i),
            "messages[%zu].role '%.40s' is not one of system, developer, "
            "user, assistant, tool", i, r);
        return SY_EBADREQ;
    }
    bool has_content = json_object_object_get_ex(m, "content", &content);
    json_type ct = has_content ? json_object_get_type(content)
                               : json_type_null;
    bool assistant = strcmp(r, "assistant") == 0;
    if (ct == json_type_null) {
        struct json_object *calls = NULL, *fcall = NULL;
        json_object_object_get_ex(m, "tool_calls", &calls);
        json_object_object_get_ex(m, "function_call", &fcall);
        bool has_calls = calls != NULL || fcall != NULL;
        if (!assistant || !has_calls) {
            bad(err, sy_arena_printf(a, "messages[%zu].content", i),
                "messages[%zu].content is required for role '%s'%s", i, r,
                assistant ? " without tool_calls" : "");
            return SY_EBADREQ;
        }
    } else if (ct != json_type_string && ct != json_type_array) {
        bad(err, sy_arena_printf(a, "messages[%zu].content", i),
            "messages[%zu].content must be a string or an array of "
            "content parts", i);
        return SY_EBADREQ;
    }
    if (ct == json_type_array) {
        size_t n = json_object_array_length(content);
        for (size_t j = 0; j < n; j++) {
            struct json_object *part = json_object_array_get_idx(content, j);
            struct json_object *type;
            if (!json_object_is_type(part, json_type_object) ||
                !json_object_object_get_ex(part, "type", &type) ||
                !json_object_is_type(type, json_type_string)) {
                bad(err,
                    sy_arena_printf(a, "messages[%zu].content[%zu]", i, j),
                    "messages[%zu].content[%zu] must be an object with a "
                    "string 'type'", i, j);
                return SY_EBADREQ;
            }
        }
    }
    if (strcmp(r, "tool") == 0) {
        struct json_object *id;
        if (!json_object_object_get_ex(m, "tool_call_id", &id) ||
            !json_object_is_type(id, json_type_string)) {
            bad(err, sy_arena_printf(a, "messages[%zu].tool_call_id", i),
                "messages[%zu].tool_call_id must be a string for role "
                "'tool'", i);
            return SY_EBADREQ;
        }
    }
    return SY_OK;
}

static enum sy_err
check_tools(struct json_object *tools, struct sy_arena *a,
            struct sy_chat_error *err)
{
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(tools, i);
        struct json_object *type, *fn, *name;
        if (!json_object_is_type(t, json_type_object) ||
            !json_object_object_get_ex(t, "type", &type) ||
            !json_object_is_type(type, json_type_string)) {
            bad(err, sy_arena_printf(a, "tools[%zu]", i),
                "tools[%zu] must be an object with a string 'type'", i);
            return SY_EBADREQ;
        }
        if (strcmp(json_object_get_string(type), "function") != 0)
            continue;
        if (!json_object_object_get_ex(t, "function", &fn) ||
            !json_object_is_type(fn, json_type_object) ||
            !json_object_object_get_ex(fn, "name", &name) ||
            !json_object_is_type(name, json_type_string) ||
            json_object_get_string_len(name) == 0) {
            bad(err, sy_arena_printf(a, "tools[%zu].function.name", i),
                "tools[%zu].function.name must be a non-empty string", i);
            return SY_EBADREQ;
        }
    }
    return SY_OK;
}

static bool
get_int(struct json_object *root, const char *key, int64_t *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, key, &v) ||
        !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static enum sy_err
check_ranges(struct json_object *root, struct sy_chat_error *err)
{
    int64_t x;
    if (get_int(root, "max_tokens", &x) && x < 1) {
        bad(err, "max_tokens", "'max_tokens' must be at least 1");
        return SY_EBADREQ;
    }
    if (get_int(root, "max_completion_tokens", &x) && x < 1) {
        bad(err, "max_completion_tokens",
            "'max_completion_tokens' must be at least 1");
        return SY_EBADREQ;
    }
    if (get_int(root, "n", &x) && (x < 1 || x > 128)) {
        bad(err, "n", "'n' must be between 1 and 128");
        return SY_EBADREQ;
    }
    struct json_object *v;
    if (json_object_object_get_ex(root, "temperature", &v) && v != NULL) {
        double t = json_object_get_double(v);
        if (t < 0 || t > 2) {
            bad(err, "temperature", "'temperature' must be between 0 and 2");
            return SY_EBADREQ;
        }
    }
    if (json_object_object_get_ex(root, "top_p", &v) && v != NULL) {
        double t = json_object_get_double(v);
        if (t < 0 || t > 1) {
            bad(err, "top_p", "'top_p' must be between 0 and 1");
            return SY_EBADREQ;
        }
    }
    if (json_object_object_get_ex(root, "stop", &v) &&
        json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i),
                                     json_type_string)) {
                bad(err, "stop", "'stop' must be a string or an array of "
                                 "strings");
                return SY_EBADREQ;
            }
    }
    return SY_OK;
}

/* Parse and validate a client body. On success 'out' borrows from a JSON
 * tree that an arena cleanup frees. On failure 'err' holds a message that
 * is safe to return to the caller and names the parameter; the result is
 * SY_EBADREQ. 'max_depth' bounds nesting so a hostile body cannot exhaust
 * the stack. */
enum sy_err
sy_chat_req_parse(const char *body, size_t len, unsigned max_depth,
                  struct sy_arena *a, struct sy_chat_req *out,
                  struct sy_chat_error *err)
{
    memset(out, 0, sizeof(*out));
    out->max_tokens = -1;
    err->param = NULL;
    err->message[0] = '\0';
    if (len == 0) {
        bad(err, NULL, "the request body is empty; send a JSON object");
        return SY_EBADREQ;
    }
    if (len > INT_MAX) {
        bad(err, NULL, "the request body is too large");
        return SY_ETOOBIG;
    }
    struct json_tokener *tok = json_tokener_new_ex((int)max_depth);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (root == NULL && je == json_tokener_continue) {
        /* A bare top-level number or literal needs a terminator. */
        root = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
        end = len;
    }
    json_tokener_free(tok);
    if (root == NULL && je == json_tokener_success) {
        bad(err, NULL, "the request body must be a JSON object, not null");
        return SY_EBADREQ;
    }
    if (root == NULL || je != json_tokener_success) {
        json_object_put(root);
        if (je == json_tokener_error_depth)
            bad(err, NULL, "the request body is nested deeper than %u "
                           "levels", max_depth);
        else
            bad(err, NULL, "the request body is not valid JSON (at byte "
                           "%zu: %s)", end,
                je == json_tokener_continue ? "unexpected end of input"
                                            : json_tokener_error_desc(je));
        return SY_EBADREQ;
    }
    sy_arena_on_cleanup(a, sy_chat_json_free, root);
    while (end < len && strchr(" \t\r\n", body[end]) != NULL)
        end++;
    if (end < len) {
        bad(err, NULL, "unexpected data after the JSON object (at byte %zu)",
            end);
        return SY_EBADREQ;
    }
    if (!json_object_is_type(root, json_type_object)) {
        bad(err, NULL, "the request body must be a JSON object");
        return SY_EBADREQ;
    }
    if (!all_finite(root)) {
        bad(err, NULL, "the request body is not valid JSON (NaN and "
                       "Infinity are not JSON numbers)");
        return SY_EBADREQ;
    }
    enum sy_err e = check_types(root, err);
    if (e != SY_OK)
        return e;

    struct json_object *v;
    if (!json_object_object_get_ex(root, "model", &v) ||
        json_object_get_string_len(v) == 0) {
        bad(err, "model", "you must provide a model parameter");
        return SY_EBADREQ;
    }
    out->model = json_object_get_string(v);
    if (!json_object_object_get_ex(root, "messages", &v) ||
        json_object_array_length(v) == 0) {
        bad(err, "messages", "'messages' must be a non-empty array");
        return SY_EBADREQ;
    }
    out->nmessages = json_object_array_length(v);
    for (size_t i = 0; i < out->nmessages; i++) {
        e = check_message(json_object_array_get_idx(v, i), i, a, err);
        if (e != SY_OK)
            return e;
    }
    if (json_object_object_get_ex(root, "tools", &v) && v != NULL) {
        e = check_tools(v, a, err);
        if (e != SY_OK)
            return e;
    }
    e = check_ranges(root, err);
    if (e != SY_OK)
        return e;

    out->root = root;
    out->stream = json_object_object_get_ex(root, "stream", &v) &&
                  json_object_get_boolean(v);
    struct json_object *so, *iu;
    if (json_object_object_get_ex(root, "stream_options", &so) && so != NULL) {
        if (!out->stream) {
            bad(err, "stream_options", "'stream_options' is only allowed "
                                       "when 'stream' is true");
            return SY_EBADREQ;
        }
        if (json_object_object_get_ex(so, "include_usage", &iu)) {
            if (!json_object_is_type(iu, json_type_boolean)) {
                bad(err, "stream_options.include_usage",
                    "'stream_options.include_usage' must be a boolean");
                return SY_EBADREQ;
            }
            out->include_usage = json_object_get_boolean(iu);
        }
    }
    int64_t mt;
    if (get_int(root, "max_completion_tokens", &mt) ||
        get_int(root, "max_tokens", &mt))
        out->max_tokens = mt;
    struct json_object *rf, *rt, *js, *sc;
    if (json_object_object_get_ex(root, "response_format", &rf) &&
        json_object_object_get_ex(rf, "type", &rt) &&
        json_object_is_type(rt, json_type_string)) {
        const char *t = json_object_get_string(rt);
        if (strcmp(t, "json_object") == 0) {
            out->response_format = SY_FORMAT_JSON_OBJECT;
        } else if (strcmp(t, "json_schema") == 0) {
            if (!json_object_object_get_ex(rf, "json_schema", &js) ||
                !json_object_is_type(js, json_type_object)) {
                bad(err, "response_format.json_schema",
                    "'response_format.json_schema' must be an object with "
                    "the name and schema of the answer");
                return SY_EBADREQ;
            }
            sc = NULL;
            if (json_object_object_get_ex(js, "schema", &sc) &&
                !json_object_is_type(sc, json_type_object) &&
                !json_object_is_type(sc, json_type_boolean)) {
                bad(err, "response_format.json_schema.schema",
                    "'response_format.json_schema.schema' must be a JSON "
                    "Schema object");
                return SY_EBADREQ;
            }
            out->response_format = SY_FORMAT_JSON_SCHEMA;
            out->response_schema = sc;
        } else if (strcmp(t, "text") != 0) {
            bad(err, "response_format.type", "'response_format.type' must "
                "be text, json_object or json_schema");
            return SY_EBADREQ;
        }
    }
    return SY_OK;
}

static uint64_t
content_bytes(struct json_object *content, bool *image)
{
    if (json_object_is_type(content, json_type_string))
        return (uint64_t)json_object_get_string_len(content);
    if (!json_object_is_type(content, json_type_array))
        return 0;
    uint64_t n = 0;
    size_t len = json_object_array_length(content);
    for (size_t i = 0; i < len; i++) {
        struct json_object *part = json_object_array_get_idx(content, i), *v;
        if (json_object_object_get_ex(part, "text", &v) &&
            json_object_is_type(v, json_type_string))
            n += (uint64_t)json_object_get_string_len(v);
        if (json_object_object_get_ex(part, "type", &v) &&
            json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), "image_url") == 0) {
            *image = true;
            n += 1024 * 4; /* an image costs about a thousand tokens */
        }
    }
    return n;
}

/* What request 'r' needs from a deployment (see core/caps.h). The prompt
 * size is an estimate: about four bytes of text a token. */
void
sy_chat_req_needs(const struct sy_chat_req *r, struct sy_needs *n)
{
    memset(n, 0, sizeof(*n));
    struct json_object *root = r->root, *v;
    n->streaming = r->stream;
    n->json_object = r->response_format == SY_FORMAT_JSON_OBJECT;
    n->json_schema = r->response_format == SY_FORMAT_JSON_SCHEMA;
    n->max_tokens = r->max_tokens > 0 ? (uint64_t)r->max_tokens : 0;
    bool none = json_object_object_get_ex(root, "tool_choice", &v) &&
                json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), "none") == 0;
    n->tools = json_object_object_get_ex(root, "tools", &v) &&
               json_object_is_type(v, json_type_array) &&
               json_object_array_length(v) > 0 && !none;
    n->parallel_tools = n->tools &&
                        json_object_object_get_ex(root, "parallel_tool_calls",
                                                  &v) &&
                        json_object_get_boolean(v);
    uint64_t bytes = 0;
    if (json_object_object_get_ex(root, "messages", &v)) {
        size_t len = json_object_array_length(v);
        for (size_t i = 0; i < len; i++) {
            struct json_object *m = json_object_array_get_idx(v, i), *c;
            bytes += 16;
            if (json_object_object_get_ex(m, "content", &c))
                bytes += content_bytes(c, &n->vision);
        }
    }
    if (json_object_object_get_ex(root, "tools", &v) && v != NULL)
        bytes += strlen(json_object_to_json_string_ext(
            v, JSON_C_TO_STRING_PLAIN));
    n->input_tokens = bytes / 4 + 1;
}

/* Append the canonical response to 'out': the raw body when the adapter
 * kept it, otherwise the serialised tree. */
enum sy_err
sy_chat_resp_write(const struct sy_chat_resp *r, struct sy_buf *out)
{
    if (r->raw != NULL)
        return sy_buf_append(out, r->raw, r->raw_len);
    if (r->root == NULL)
        return SY_EINTERNAL;
    size_t n;
    const char *s = json_object_to_json_string_length(
        r->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    return sy_buf_append(out, s, n);
}

/* Append an OpenAI error object: {"error":{"message","type","param",
 * "code"}}. NULL 'param' and 'code' become JSON null. */
enum sy_err
sy_chat_error_json(struct sy_buf *out, const char *message, const char *type,
                   const char *param, const char *code)
{
    enum sy_err e = sy_buf_puts(out, "{\"error\":{\"message\":");
    if (e == SY_OK)
        e = sy_buf_json_str(out, message, strlen(message));
    if (e == SY_OK)
        e = sy_buf_puts(out, ",\"type\":");
    if (e == SY_OK)
        e = sy_buf_json_str(out, type ? type : "server_error",
                            strlen(type ? type : "server_error"));
    if (e == SY_OK)
        e = sy_buf_puts(out, ",\"param\":");
    if (e == SY_OK)
        e = param ? sy_buf_json_str(out, param, strlen(param))
                  : sy_buf_puts(out, "null");
    if (e == SY_OK)
        e = sy_buf_puts(out, ",\"code\":");
    if (e == SY_OK)
        e = code ? sy_buf_json_str(out, code, strlen(code))
                 : sy_buf_puts(out, "null");
    if (e == SY_OK)
        e = sy_buf_puts(out, "}}");
    return e;
}

static int64_t
int_at(const struct json_object *o, const char *key)
{
    struct json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_int) ||
          json_object_is_type(v, json_type_double)))
        return 0;
    int64_t x = json_object_get_int64(v);
    return x < 0 ? 0 : x;
}

/* Arena cleanup that drops a json-c reference ('obj' may be NULL). */
void
sy_chat_json_free(void *obj)
{
    json_object_put(obj);
}

/* Read an OpenAI-shaped "usage" object into 'u' (absent fields are 0). */
void
sy_chat_usage_from_json(const struct json_object *usage, struct sy_usage *u)
{
    memset(u, 0, sizeof(*u));
    if (usage == NULL || !json_object_is_type(usage, json_type_object))
        return;
    struct json_object *d;
    u->present = true;
    u->prompt_tokens = int_at(usage, "prompt_tokens");
    u->completion_tokens = int_at(usage, "completion_tokens");
    u->total_tokens = int_at(usage, "total_tokens");
    if (u->total_tokens == 0)
        u->total_tokens = u->prompt_tokens + u->completion_tokens;
    if (json_object_object_get_ex(usage, "prompt_tokens_details", &d))
        u->cached_tokens = int_at(d, "cached_tokens");
    if (json_object_object_get_ex(usage, "completion_tokens_details", &d))
        u->reasoning_tokens = int_at(d, "reasoning_tokens");
}
