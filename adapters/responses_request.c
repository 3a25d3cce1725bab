/*
 * responses_request.c - the request side of the OpenAI Responses adapter:
 * the HTTP request to POST {base_url}/responses, and an OpenAI chat
 * request becoming a Responses request. System and developer messages
 * become "instructions"; user and assistant messages become message
 * items (input_text / input_image / input_file parts, output_text for
 * the assistant), assistant tool calls become function_call items and
 * tool messages function_call_output items; tools, tool_choice,
 * response_format (text.format), the output limit and reasoning_effort
 * are renamed. "store" is always false: the gateway keeps conversations
 * itself, and the provider must keep nothing. The table and the reply
 * side are responses.c, which calls into this file (never the reverse).
 * No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_int.h"

#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Request: messages into input items                                  */

/* The input items being assembled by the shared message walk. */
struct items {
    struct sy_adapter_call *call;
    struct json_object *input; /* the output array (owned) */
    const char *role;          /* the role of the message walked */
};

/* One image_url part as an input_image part (the Responses API takes
 * http(s) and data URLs itself). */
static enum sy_err
image_part(struct sy_adapter_call *call, struct json_object *part, size_t i,
           size_t j, struct json_object **out)
{
    struct json_object *iu = sy_adapter_get(part, "image_url");
    const char *url = sy_adapter_is(iu, json_type_string)
                          ? json_object_get_string(iu)
                          : sy_adapter_get_str(iu, "url");
    if (url == NULL || url[0] == '\0')
        return sy_adapter_refuse(call, "messages",
                                 "messages[%zu].content[%zu]: image_url "
                                 "needs a url",
                                 i, j);
    const char *detail = sy_adapter_get_str(iu, "detail");
    *out = sy_adapter_obj("type", SY_JSTR("input_image"), "image_url",
                          SY_JSTR(url), "detail",
                          SY_JSTR(detail ? detail : "auto"), NULL);
    return SY_OK;
}

/* One file part ({"type":"file","file":{file_data|file_id,filename}}) as
 * an input_file part. */
static struct json_object *
file_part(struct json_object *part)
{
    static const char *const keys[] = { "file_data", "file_id", "filename" };
    struct json_object *file = sy_adapter_get(part, "file");
    struct json_object *out =
        sy_adapter_obj("type", SY_JSTR("input_file"), NULL);
    for (size_t k = 0; k < SY_ARRAY_LEN(keys); k++) {
        struct json_object *v = sy_adapter_get(file, keys[k]);
        if (v != NULL)
            json_object_object_add(out, keys[k], json_object_get(v));
    }
    return out;
}

/* The parts of a content array into 'parts': text (input_text, or
 * output_text when 'user' is false), and for users images and files.
 * Empty text and assistant refusals are left out. */
static enum sy_err
content_parts(struct sy_adapter_call *call, struct json_object *content,
              size_t i, bool user, struct json_object *parts)
{
    size_t n = json_object_array_length(content);
    for (size_t j = 0; j < n; j++) {
        struct json_object *part = json_object_array_get_idx(content, j);
        const char *type = sy_adapter_get_str(part, "type");
        size_t tn; /* by length: the text may hold NUL */
        const char *text = sy_adapter_get_strn(part, "text", &tn);
        struct json_object *p = NULL;
        if (type != NULL && strcmp(type, "text") == 0) {
            if (text == NULL || tn == 0)
                continue;
            p = sy_adapter_obj(
                "type", SY_JSTR(user ? "input_text" : "output_text"), "text",
                json_object_new_string_len(text, (int)tn), NULL);
        } else if (user && type != NULL && strcmp(type, "image_url") == 0) {
            enum sy_err e = image_part(call, part, i, j, &p);
            if (e != SY_OK)
                return e;
        } else if (user && type != NULL && strcmp(type, "file") == 0) {
            p = file_part(part);
        } else if (!user && type != NULL && strcmp(type, "refusal") == 0) {
            continue; /* a refusal is not replayed */
        } else {
            return sy_adapter_refuse(call, "messages",
                                     "messages[%zu].content[%zu]: content "
                                     "part type '%.40s' is not supported by "
                                     "Responses deployments",
                                     i, j, type ? type : "(none)");
        }
        json_object_array_add(parts, p);
    }
    return SY_OK;
}

/* A user or assistant message's content as one message item (none when
 * it holds no text or image). */
static enum sy_err
message_item(struct items *it, struct json_object *content, size_t i, bool user)
{
    if (content == NULL)
        return SY_OK;
    struct json_object *parts = json_object_new_array();
    enum sy_err e = SY_OK;
    if (json_object_is_type(content, json_type_string)) {
        if (json_object_get_string_len(content) > 0)
            json_object_array_add(
                parts, sy_adapter_obj(
                           "type", SY_JSTR(user ? "input_text" : "output_text"),
                           "text", json_object_get(content), NULL));
    } else {
        e = content_parts(it->call, content, i, user, parts);
    }
    if (e != SY_OK || json_object_array_length(parts) == 0) {
        json_object_put(parts);
        return e;
    }
    json_object_array_add(it->input, sy_adapter_obj("type", SY_JSTR("message"),
                                                    "role", SY_JSTR(it->role),
                                                    "content", parts, NULL));
    return SY_OK;
}

/* An assistant message's tool calls as function_call items. */
static enum sy_err
call_items(struct items *it, struct json_object *calls, size_t i)
{
    size_t n = json_object_array_length(calls);
    for (size_t j = 0; j < n; j++) {
        struct json_object *tc = json_object_array_get_idx(calls, j);
        struct json_object *fn = sy_adapter_get(tc, "function");
        const char *id = sy_adapter_get_str(tc, "id");
        const char *name = sy_adapter_get_str(fn, "name");
        size_t an;
        const char *args = sy_adapter_get_strn(fn, "arguments", &an);
        if (id == NULL || name == NULL)
            return sy_adapter_refuse(it->call, "messages",
                                     "messages[%zu].tool_calls[%zu] needs an "
                                     "id and a function name",
                                     i, j);
        json_object_array_add(
            it->input,
            sy_adapter_obj("type", SY_JSTR("function_call"), "call_id",
                           SY_JSTR(id), "name", SY_JSTR(name), "arguments",
                           args != NULL && an > 0
                               ? json_object_new_string_len(args, (int)an)
                               : SY_JSTR("{}"),
                           NULL));
    }
    return SY_OK;
}

/* A tool message as a function_call_output item: its text, or its parts
 * as input parts when it holds more than text. */
static enum sy_err
output_item(struct items *it, struct json_object *m, size_t i)
{
    bool other;
    const char *id = sy_adapter_get_str(m, "tool_call_id");
    struct json_object *content = sy_adapter_get(m, "content");
    size_t len; /* the text may hold NUL ("\u0000" is valid JSON) */
    const char *text =
        sy_adapter_content_textn(it->call->arena, content, &len, &other);
    struct json_object *out;
    if (id == NULL)
        return sy_adapter_refuse(it->call, "messages",
                                 "messages[%zu]: a tool message needs a "
                                 "tool_call_id",
                                 i);
    if (other) {
        out = json_object_new_array();
        enum sy_err e = content_parts(it->call, content, i, true, out);
        if (e != SY_OK) {
            json_object_put(out);
            return e;
        }
    } else {
        out = json_object_new_string_len(text ? text : "", (int)len);
    }
    json_object_array_add(
        it->input, sy_adapter_obj("type", SY_JSTR("function_call_output"),
                                  "call_id", SY_JSTR(id), "output", out, NULL));
    return SY_OK;
}

/* The shared message walk (adapters/common.c) calls these. */
static void
walk_open(void *ud, const char *role)
{
    ((struct items *)ud)->role = role;
}

static enum sy_err
walk_content(void *ud, struct json_object *content, size_t i, bool user)
{
    return message_item(ud, content, i, user);
}

static enum sy_err
walk_calls(void *ud, struct json_object *calls, size_t i)
{
    return call_items(ud, calls, i);
}

static enum sy_err
walk_tool(void *ud, struct json_object *msgs, size_t i)
{
    return output_item(ud, json_object_array_get_idx(msgs, i), i);
}

static const struct sy_turn_ops responses_turn_ops = {
    .assistant_role = "assistant",
    .open = walk_open,
    .content = walk_content,
    .calls = walk_calls,
    .tool = walk_tool,
};

/* System and developer messages, wherever they are, become the
 * instructions (in order, separated by a blank line); the rest become
 * input items in order. */
static enum sy_err
build_input(struct sy_adapter_call *call, struct json_object *body)
{
    struct items it = { .call = call, .input = json_object_new_array() };
    struct sy_buf sys;
    sy_buf_init(&sys, SY_JSON_MAX);
    enum sy_err e =
        sy_adapter_walk_messages(call, &responses_turn_ops, &it, &sys);
    if (e == SY_OK && sys.len > 0)
        json_object_object_add(
            body, "instructions",
            json_object_new_string_len(sy_buf_cstr(&sys), (int)sys.len));
    sy_buf_free(&sys);
    if (e == SY_OK && json_object_array_length(it.input) == 0)
        e = sy_adapter_refuse(call, "messages",
                              "the request has no user or "
                              "assistant message with content");
    if (e == SY_OK)
        json_object_object_add(body, "input", it.input);
    else
        json_object_put(it.input);
    return e;
}

/* ------------------------------------------------------------------ */
/* Request: tools, tool choice, text format                            */

/* Chat function tools as Responses function tools. "strict" is always
 * sent: the Responses API takes a missing one as true, which would
 * refuse the loose schemas chat callers write. */
static enum sy_err
build_tools(struct sy_adapter_call *call, struct json_object *tools,
            struct json_object *body)
{
    struct json_object *out = json_object_new_array();
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
        struct json_object *tl = json_object_array_get_idx(tools, i);
        const char *type = sy_adapter_get_str(tl, "type");
        struct json_object *fn = sy_adapter_get(tl, "function");
        const char *name = sy_adapter_get_str(fn, "name");
        if (type == NULL || strcmp(type, "function") != 0 || name == NULL) {
            json_object_put(out);
            return sy_adapter_refuse(call, "tools",
                                     "tools[%zu]: only function tools are "
                                     "supported by Responses deployments",
                                     i);
        }
        struct json_object *params = sy_adapter_get(fn, "parameters");
        struct json_object *strict = sy_adapter_get(fn, "strict");
        struct json_object *t = sy_adapter_obj(
            "type", SY_JSTR("function"), "name", SY_JSTR(name), "parameters",
            params ? json_object_get(params)
                   : sy_adapter_obj("type", SY_JSTR("object"), "properties",
                                    json_object_new_object(), NULL),
            "strict",
            json_object_new_boolean(sy_adapter_is(strict, json_type_boolean) &&
                                    json_object_get_boolean(strict)),
            NULL);
        struct json_object *desc = sy_adapter_get(fn, "description");
        if (desc != NULL)
            json_object_object_add(t, "description", json_object_get(desc));
        json_object_array_add(out, t);
    }
    json_object_object_add(body, "tools", out);
    return SY_OK;
}

/* {"type":"allowed_tools","allowed_tools":{"mode","tools":[chat tool
 * refs]}} as the Responses form {"type":"allowed_tools","mode","tools":
 * [{"type":"function","name"}]}; NULL when malformed. */
static struct json_object *
allowed_tools(struct json_object *tc)
{
    struct json_object *at = sy_adapter_get(tc, "allowed_tools");
    const char *mode = sy_adapter_get_str(at, "mode");
    struct json_object *list = sy_adapter_get(at, "tools");
    if (mode == NULL || !sy_adapter_is(list, json_type_array))
        return NULL;
    struct json_object *tools = json_object_new_array();
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        struct json_object *ref = json_object_array_get_idx(list, i);
        const char *name =
            sy_adapter_get_str(sy_adapter_get(ref, "function"), "name");
        if (name == NULL) {
            json_object_put(tools);
            return NULL;
        }
        json_object_array_add(tools,
                              sy_adapter_obj("type", SY_JSTR("function"),
                                             "name", SY_JSTR(name), NULL));
    }
    return sy_adapter_obj("type", SY_JSTR("allowed_tools"), "mode",
                          SY_JSTR(mode), "tools", tools, NULL);
}

static enum sy_err
build_tool_choice(struct sy_adapter_call *call, struct json_object *tc,
                  struct json_object *body)
{
    struct json_object *out = NULL;
    if (tc == NULL)
        return SY_OK;
    if (json_object_is_type(tc, json_type_string)) {
        out = json_object_get(tc); /* auto, none, required: the same */
    } else {
        const char *type = sy_adapter_get_str(tc, "type");
        const char *name =
            sy_adapter_get_str(sy_adapter_get(tc, "function"), "name");
        if (type != NULL && strcmp(type, "function") == 0 && name != NULL)
            out = sy_adapter_obj("type", SY_JSTR("function"), "name",
                                 SY_JSTR(name), NULL);
        else if (type != NULL && strcmp(type, "allowed_tools") == 0)
            out = allowed_tools(tc);
    }
    if (out == NULL)
        return sy_adapter_refuse(call, "tool_choice",
                                 "tool_choice must be auto, none, required, "
                                 "a function or allowed_tools for Responses "
                                 "deployments");
    json_object_object_add(body, "tool_choice", out);
    return SY_OK;
}

/* response_format as text.format (and verbosity as text.verbosity). */
static enum sy_err
build_text(struct sy_adapter_call *call, struct json_object *root,
           struct json_object *body)
{
    struct json_object *rf = sy_adapter_get(root, "response_format");
    struct json_object *verbosity = sy_adapter_get(root, "verbosity");
    const char *type = sy_adapter_get_str(rf, "type");
    struct json_object *fmt = NULL;
    if (type != NULL && strcmp(type, "json_object") == 0) {
        fmt = sy_adapter_obj("type", SY_JSTR("json_object"), NULL);
    } else if (type != NULL && strcmp(type, "json_schema") == 0) {
        struct json_object *js = sy_adapter_get(rf, "json_schema");
        struct json_object *schema = sy_adapter_get(js, "schema");
        const char *name = sy_adapter_get_str(js, "name");
        if (!sy_adapter_is(schema, json_type_object))
            return sy_adapter_refuse(call, "response_format",
                                     "response_format.json_schema.schema "
                                     "must be a JSON schema object");
        fmt = sy_adapter_obj("type", SY_JSTR("json_schema"), "name",
                             SY_JSTR(name ? name : "response"), "schema",
                             json_object_get(schema), NULL);
        static const char *const extra[] = { "strict", "description" };
        for (size_t i = 0; i < SY_ARRAY_LEN(extra); i++) {
            struct json_object *v = sy_adapter_get(js, extra[i]);
            if (v != NULL)
                json_object_object_add(fmt, extra[i], json_object_get(v));
        }
    } else if (type != NULL && strcmp(type, "text") != 0) {
        return sy_adapter_refuse(call, "response_format",
                                 "response_format type '%.40s' is not "
                                 "supported",
                                 type);
    }
    if (fmt == NULL && verbosity == NULL)
        return SY_OK;
    struct json_object *text = json_object_new_object();
    if (fmt != NULL)
        json_object_object_add(text, "format", fmt);
    if (verbosity != NULL)
        json_object_object_add(text, "verbosity", json_object_get(verbosity));
    json_object_object_add(body, "text", text);
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Request: parameters                                                 */

/* Chat parameters the Responses API has no equivalent for: refused when
 * they would change the result (seed is best effort and ignored). */
static enum sy_err
check_unsupported(struct sy_adapter_call *call, struct json_object *root)
{
    int64_t n;
    struct json_object *v;
    if (sy_adapter_get_int(root, "n", &n) && n > 1)
        return sy_adapter_refuse(call, "n",
                                 "n > 1 is not supported by Responses "
                                 "deployments");
    v = sy_adapter_get(root, "logprobs");
    if (sy_adapter_is(v, json_type_boolean) && json_object_get_boolean(v))
        return sy_adapter_refuse(call, "logprobs",
                                 "logprobs are not supported by Responses "
                                 "deployments");
    v = sy_adapter_get(root, "logit_bias");
    if (sy_adapter_is(v, json_type_object) && json_object_object_length(v) > 0)
        return sy_adapter_refuse(call, "logit_bias",
                                 "logit_bias is not supported by Responses "
                                 "deployments");
    static const char *const penalties[] = { "presence_penalty",
                                             "frequency_penalty" };
    for (size_t i = 0; i < SY_ARRAY_LEN(penalties); i++) {
        v = sy_adapter_get(root, penalties[i]);
        if (v != NULL && json_object_get_double(v) != 0.0)
            return sy_adapter_refuse(call, penalties[i],
                                     "%s is not supported by Responses "
                                     "deployments",
                                     penalties[i]);
    }
    v = sy_adapter_get(root, "stop");
    if ((sy_adapter_is(v, json_type_string) &&
         json_object_get_string_len(v) > 0) ||
        (sy_adapter_is(v, json_type_array) && json_object_array_length(v) > 0))
        return sy_adapter_refuse(call, "stop",
                                 "stop sequences are not supported by "
                                 "Responses deployments");
    if (sy_adapter_get(root, "audio") != NULL)
        return sy_adapter_refuse(call, "audio",
                                 "audio output is not supported by Responses "
                                 "deployments");
    return SY_OK;
}

/* The max_output_tokens to send (see responses_int.h): a smaller limit
 * is raised, as the API refuses it (the answer may then be a few tokens
 * longer than asked). */
int64_t
sy_responses_output_limit(int64_t want)
{
    return want < RESPONSES_MIN_OUTPUT ? RESPONSES_MIN_OUTPUT : want;
}

static enum sy_err
responses_body(struct sy_adapter_call *call, struct json_object *body)
{
    struct json_object *root = call->req->root;
    enum sy_err e = check_unsupported(call, root);
    if (e != SY_OK)
        return e;
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));
    json_object_object_add(body, "store", json_object_new_boolean(0));
    e = build_input(call, body);
    if (e != SY_OK)
        return e;
    struct json_object *v;
    static const char *const same[] = { "temperature",
                                        "top_p",
                                        "parallel_tool_calls",
                                        "metadata",
                                        "prompt_cache_key",
                                        "safety_identifier",
                                        "user" };
    for (size_t i = 0; i < SY_ARRAY_LEN(same); i++)
        if ((v = sy_adapter_get(root, same[i])) != NULL)
            json_object_object_add(body, same[i], json_object_get(v));
    if (call->req->max_tokens > 0) {
        /* what was sent bounds the billed completion (core/api/chat.c) */
        call->sent_max_tokens =
            sy_responses_output_limit(call->req->max_tokens);
        json_object_object_add(body, "max_output_tokens",
                               json_object_new_int64(call->sent_max_tokens));
    }
    if ((v = sy_adapter_get(root, "reasoning_effort")) != NULL)
        json_object_object_add(
            body, "reasoning",
            sy_adapter_obj("effort", json_object_get(v), NULL));
    if (sy_adapter_streams(call))
        json_object_object_add(body, "stream", json_object_new_boolean(1));
    struct json_object *tools = sy_adapter_get(root, "tools");
    if (sy_adapter_is(tools, json_type_array) &&
        json_object_array_length(tools) > 0) {
        e = build_tools(call, tools, body);
        if (e == SY_OK)
            e = build_tool_choice(call, sy_adapter_get(root, "tool_choice"),
                                  body);
    }
    return e == SY_OK ? build_text(call, root, body) : e;
}

/* Method, URL and headers of a Responses request (see
 * responses_int.h). */
void
sy_responses_http(struct sy_adapter_call *call, struct sy_http_out *out)
{
    struct sy_arena *a = call->arena;
    out->method = "POST";
    out->url = sy_arena_printf(a, "%s/responses", call->target->base_url);
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (sy_adapter_streams(call))
        out->headers[out->nheaders++] = "Accept: text/event-stream";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "Authorization: Bearer %s", call->api_key);
    sy_adapter_static_headers(call, out);
}

/* The translation of a chat request (see responses_int.h). */
enum sy_err
sy_responses_build_request(struct sy_adapter_call *call,
                           struct sy_http_out *out)
{
    sy_responses_http(call, out);
    struct json_object *body = json_object_new_object();
    enum sy_err e = responses_body(call, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}
