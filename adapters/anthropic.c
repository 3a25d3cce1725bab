/*
 * anthropic.c - adapter for the Anthropic Messages API (POST
 * {base_url}/messages): OpenAI chat requests become Messages requests
 * (one system slot, alternating user/assistant turns, tool_use and
 * tool_result blocks), and Messages replies and event streams become
 * OpenAI chat completions and chunks. Structured output uses
 * output_config.format (or, with "structured_output": "tool", a forced
 * tool whose input is returned as the message content). No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "../core/sy.h"
#include "adapter.h"
#include "common.h"
#include "../core/clock.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The forced tool of the JSON tool mode. */
#define JSON_TOOL "json_response"

/* Provider keys digested by anthropic_init. */
struct anthropic_conf {
    const char *api_version;    /* anthropic-version header */
    int64_t default_max_tokens; /* when the caller sets no limit */
    bool json_tool;             /* structured_output "tool" */
    const char *beta;           /* anthropic-beta header value, or NULL */
};

static const struct anthropic_conf anthropic_defaults = {
    .api_version = "2023-06-01",
    .default_max_tokens = 4096,
};

enum block_kind { BLOCK_OTHER, BLOCK_TEXT, BLOCK_TOOL, BLOCK_JSON };

struct block {
    enum block_kind kind;
    int tool;               /* OpenAI tool_calls index for BLOCK_TOOL */
};

struct anthropic_ctx {
    bool json_tool;         /* set by build_request: JSON tool mode */
    /* streaming state */
    struct sy_sse sse;
    struct sy_adapter_call *call;
    struct sy_failure *f;
    sy_emit_fn emit;
    void *emit_ud;
    const char *id;         /* arena strings */
    const char *model;
    int64_t created;
    bool started, finished, done;
    int ntools;             /* tool_use blocks seen (OpenAI indexes) */
    struct block *blocks;   /* by Anthropic block index (arena) */
    size_t nblocks;
    const char *stop_reason;
    int64_t in, cache_read, cache_write, out;
    struct sy_usage usage;
};

/* ------------------------------------------------------------------ */
/* Config                                                              */

static const char *const anthropic_keys[] = {
    "api_version", "default_max_tokens", "structured_output", "beta", NULL};

static enum sy_err
anthropic_init(const struct sy_provider *p, const void *conf,
               struct sy_arena *a, const void **adapter_conf, char *err,
               size_t errlen)
{
    struct json_object *o = (struct json_object *)(uintptr_t)conf;
    struct anthropic_conf *c = sy_arena_zalloc(a, sizeof(*c));
    (void)p;
    *c = anthropic_defaults;
    struct json_object *v;
    if ((v = sy_adapter_get(o, "api_version")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) || s[0] == '\0' ||
            strpbrk(s, "\r\n") != NULL) {
            snprintf(err, errlen, "\"api_version\" must be a string such as "
                                  "\"2023-06-01\"");
            return SY_EBADREQ;
        }
        c->api_version = sy_arena_strdup(a, s);
    }
    if ((v = sy_adapter_get(o, "beta")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            strpbrk(s, "\r\n") != NULL) {
            snprintf(err, errlen, "\"beta\" must be a string (the "
                                  "anthropic-beta header)");
            return SY_EBADREQ;
        }
        c->beta = sy_arena_strdup(a, s);
    }
    if ((v = sy_adapter_get(o, "default_max_tokens")) != NULL) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > 1000000) {
            snprintf(err, errlen, "\"default_max_tokens\" must be an integer "
                                  "between 1 and 1000000");
            return SY_EBADREQ;
        }
        c->default_max_tokens = json_object_get_int64(v);
    }
    if ((v = sy_adapter_get(o, "structured_output")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(s, "native") != 0 && strcmp(s, "tool") != 0)) {
            snprintf(err, errlen, "\"structured_output\" must be \"native\" "
                                  "(output_config.format) or \"tool\" (a "
                                  "forced tool, for older models)");
            return SY_EBADREQ;
        }
        c->json_tool = strcmp(s, "tool") == 0;
    }
    *adapter_conf = c;
    return SY_OK;
}

static const struct anthropic_conf *
conf_of(const struct sy_adapter_call *call)
{
    const void *c = call->dep->provider->adapter_conf;
    return c != NULL ? c : &anthropic_defaults;
}

/* ------------------------------------------------------------------ */
/* Request: messages                                                   */

/* The turn being assembled: consecutive messages of the same Anthropic
 * role merge into it; tool_result blocks go before any other block. */
struct turns {
    struct sy_adapter_call *call;
    struct json_object *messages; /* the output array (owned) */
    const char *role;             /* role of the open turn, or NULL */
    struct json_object *results;  /* tool_result blocks (owned) */
    struct json_object *blocks;   /* other blocks (owned) */
};

static void
turn_flush(struct turns *t)
{
    if (t->role == NULL)
        return;
    size_t n = json_object_array_length(t->blocks);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(
            t->results, json_object_get(json_object_array_get_idx(t->blocks,
                                                                  i)));
    json_object_put(t->blocks);
    if (json_object_array_length(t->results) > 0) {
        json_object_array_add(t->messages,
                              sy_adapter_obj("role", SY_JSTR(t->role),
                                             "content", t->results, NULL));
    } else {
        json_object_put(t->results);
    }
    t->role = NULL;
    t->results = t->blocks = NULL;
}

static void
turn_open(struct turns *t, const char *role)
{
    if (t->role != NULL && strcmp(t->role, role) == 0)
        return;
    turn_flush(t);
    t->role = role;
    t->results = json_object_new_array();
    t->blocks = json_object_new_array();
}

static struct json_object *
text_block(const char *text, struct json_object *cache_control)
{
    struct json_object *b = sy_adapter_obj("type", SY_JSTR("text"), "text",
                                           SY_JSTR(text), NULL);
    if (cache_control != NULL)
        json_object_object_add(b, "cache_control",
                               json_object_get(cache_control));
    return b;
}

/* Anthropic tool ids must match ^[a-zA-Z0-9_-]+$: others are replaced by
 * a hash, the same for the tool_use and its tool_result. */
static const char *
tool_id(struct sy_arena *a, const char *id)
{
    bool ok = id[0] != '\0';
    for (const char *p = id; *p && ok; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    if (ok)
        return id;
    uint64_t h = sy_adapter_fnv(SY_FNV_INIT, id, strlen(id));
    return sy_arena_printf(a, "toolu_%s", sy_adapter_base62(a, h, 24));
}

static enum sy_err
image_block(struct sy_adapter_call *call, struct json_object *part,
            size_t i, size_t j, struct json_object **out)
{
    static const char *const media[] = {"image/jpeg", "image/png",
                                        "image/gif", "image/webp", NULL};
    const char *url = sy_adapter_get_str(sy_adapter_get(part, "image_url"),
                                         "url");
    const char *mime, *data;
    struct json_object *src;
    if (url != NULL && sy_adapter_data_url(call->arena, url, &mime, &data)) {
        if (!sy_adapter_str_in(mime, media))
            return sy_adapter_refuse(
                call, "messages", "messages[%zu].content[%zu]: image type "
                "'%.40s' is not supported by Anthropic (jpeg, png, gif, webp)",
                i, j, mime);
        src = sy_adapter_obj("type", SY_JSTR("base64"), "media_type",
                             SY_JSTR(mime), "data", SY_JSTR(data), NULL);
    } else if (url != NULL && (strncmp(url, "https://", 8) == 0 ||
                               strncmp(url, "http://", 7) == 0)) {
        src = sy_adapter_obj("type", SY_JSTR("url"), "url", SY_JSTR(url),
                             NULL);
    } else {
        return sy_adapter_refuse(call, "messages",
                                 "messages[%zu].content[%zu]: image_url.url "
                                 "must be an http(s) URL or a base64 data "
                                 "URL", i, j);
    }
    struct json_object *b = sy_adapter_obj("type", SY_JSTR("image"),
                                           "source", src, NULL);
    struct json_object *cc = sy_adapter_get(part, "cache_control");
    if (cc != NULL)
        json_object_object_add(b, "cache_control", json_object_get(cc));
    *out = b;
    return SY_OK;
}

/* The blocks of a user or assistant 'content' into the open turn. Empty
 * text is dropped (Anthropic rejects empty text blocks). */
static enum sy_err
content_blocks(struct turns *t, struct json_object *content, size_t i,
               bool user)
{
    if (content == NULL)
        return SY_OK;
    if (json_object_is_type(content, json_type_string)) {
        if (json_object_get_string_len(content) > 0)
            json_object_array_add(
                t->blocks, text_block(json_object_get_string(content), NULL));
        return SY_OK;
    }
    size_t n = json_object_array_length(content);
    for (size_t j = 0; j < n; j++) {
        struct json_object *part = json_object_array_get_idx(content, j);
        const char *type = sy_adapter_get_str(part, "type");
        const char *text = sy_adapter_get_str(part, "text");
        if (strcmp(type, "text") == 0) {
            if (text != NULL && text[0] != '\0')
                json_object_array_add(
                    t->blocks,
                    text_block(text, sy_adapter_get(part, "cache_control")));
        } else if (user && strcmp(type, "image_url") == 0) {
            struct json_object *b = NULL;
            enum sy_err e = image_block(t->call, part, i, j, &b);
            if (e != SY_OK)
                return e;
            json_object_array_add(t->blocks, b);
        } else if (!user && strcmp(type, "refusal") == 0) {
            continue; /* a refusal is not replayed */
        } else {
            return sy_adapter_refuse(
                t->call, "messages", "messages[%zu].content[%zu]: content "
                "part type '%.40s' is not supported by Anthropic deployments",
                i, j, type);
        }
    }
    return SY_OK;
}

static enum sy_err
tool_use_blocks(struct turns *t, struct json_object *calls, size_t i)
{
    size_t n = json_object_array_length(calls);
    for (size_t j = 0; j < n; j++) {
        struct json_object *tc = json_object_array_get_idx(calls, j);
        struct json_object *fn = sy_adapter_get(tc, "function");
        const char *id = sy_adapter_get_str(tc, "id");
        const char *name = sy_adapter_get_str(fn, "name");
        const char *args = sy_adapter_get_str(fn, "arguments");
        if (id == NULL || name == NULL)
            return sy_adapter_refuse(
                t->call, "messages", "messages[%zu].tool_calls[%zu] needs an "
                "id and a function name", i, j);
        struct json_object *input =
            args == NULL || args[0] == '\0'
                ? json_object_new_object()
                : sy_adapter_json_parse(args, strlen(args));
        if (!sy_adapter_is(input, json_type_object)) {
            json_object_put(input);
            return sy_adapter_refuse(
                t->call, "messages", "messages[%zu].tool_calls[%zu]."
                "function.arguments is not a JSON object", i, j);
        }
        json_object_array_add(
            t->blocks,
            sy_adapter_obj("type", SY_JSTR("tool_use"), "id",
                           SY_JSTR(tool_id(t->call->arena, id)), "name",
                           SY_JSTR(name), "input", input, NULL));
    }
    return SY_OK;
}

static enum sy_err
tool_result_block(struct turns *t, struct json_object *m, size_t i)
{
    bool other;
    const char *id = sy_adapter_get_str(m, "tool_call_id");
    const char *text = sy_adapter_content_text(
        t->call->arena, sy_adapter_get(m, "content"), &other);
    if (other)
        return sy_adapter_refuse(t->call, "messages",
                                 "messages[%zu]: tool messages may only "
                                 "hold text for Anthropic deployments", i);
    struct json_object *b = sy_adapter_obj(
        "type", SY_JSTR("tool_result"), "tool_use_id",
        SY_JSTR(tool_id(t->call->arena, id)), NULL);
    if (text != NULL && text[0] != '\0')
        json_object_object_add(b, "content", json_object_new_string(text));
    json_object_array_add(t->results, b);
    return SY_OK;
}

/* System and developer messages, wherever they are, become the one
 * system prompt (in order, separated by a blank line); the rest become
 * alternating turns. */
static enum sy_err
build_messages(struct sy_adapter_call *call, struct json_object *body)
{
    struct json_object *msgs = sy_adapter_get(call->req->root, "messages");
    struct turns t = {.call = call, .messages = json_object_new_array()};
    struct sy_buf sys;
    sy_buf_init(&sys, SY_JSON_MAX);
    enum sy_err e = SY_OK;
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *role = sy_adapter_get_str(m, "role");
        struct json_object *content = sy_adapter_get(m, "content");
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            bool other;
            const char *s = sy_adapter_content_text(call->arena, content,
                                                    &other);
            if (other)
                e = sy_adapter_refuse(call, "messages", "messages[%zu]: "
                                      "system messages may only hold text",
                                      i);
            else if (s != NULL && s[0] != '\0')
                e = sy_buf_printf(&sys, "%s%s", sys.len ? "\n\n" : "", s);
        } else if (strcmp(role, "user") == 0) {
            turn_open(&t, "user");
            e = content_blocks(&t, content, i, true);
        } else if (strcmp(role, "assistant") == 0) {
            turn_open(&t, "assistant");
            e = content_blocks(&t, content, i, false);
            struct json_object *calls = sy_adapter_get(m, "tool_calls");
            if (e == SY_OK && sy_adapter_is(calls, json_type_array))
                e = tool_use_blocks(&t, calls, i);
        } else if (strcmp(role, "tool") == 0) {
            turn_open(&t, "user");
            e = tool_result_block(&t, m, i);
        } else {
            e = sy_adapter_refuse(call, "messages", "messages[%zu]: role "
                                  "'%s' is not supported; use tools", i,
                                  role);
        }
    }
    turn_flush(&t);
    if (e == SY_OK && sys.len > 0)
        json_object_object_add(body, "system",
                               json_object_new_string_len(
                                   sy_buf_cstr(&sys), (int)sys.len));
    sy_buf_free(&sys);
    if (e == SY_OK && json_object_array_length(t.messages) == 0)
        e = sy_adapter_refuse(call, "messages", "the request has no user or "
                              "assistant message with content");
    if (e == SY_OK)
        json_object_object_add(body, "messages", t.messages);
    else
        json_object_put(t.messages);
    return e;
}

/* ------------------------------------------------------------------ */
/* Request: tools, structured output, parameters                       */

static enum sy_err
build_tools(struct sy_adapter_call *call, struct json_object *tools,
            struct json_object *out)
{
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
        struct json_object *tl = json_object_array_get_idx(tools, i);
        const char *type = sy_adapter_get_str(tl, "type");
        struct json_object *fn = sy_adapter_get(tl, "function");
        if (strcmp(type, "function") != 0)
            return sy_adapter_refuse(call, "tools", "tools[%zu]: tool type "
                                     "'%.40s' is not supported by Anthropic "
                                     "deployments", i, type);
        const char *name = sy_adapter_get_str(fn, "name");
        if (strcmp(name, JSON_TOOL) == 0)
            return sy_adapter_refuse(call, "tools", "tools[%zu]: the name '"
                                     JSON_TOOL "' is reserved by the "
                                     "gateway", i);
        struct json_object *params = sy_adapter_get(fn, "parameters");
        const char *ptype = sy_adapter_get_str(params, "type");
        if (params != NULL && (!sy_adapter_is(params, json_type_object) ||
                               (ptype != NULL &&
                                strcmp(ptype, "object") != 0)))
            return sy_adapter_refuse(call, "tools", "tools[%zu].function."
                                     "parameters must be an object schema "
                                     "for Anthropic", i);
        struct json_object *t = sy_adapter_obj("name", SY_JSTR(name), NULL);
        struct json_object *desc = sy_adapter_get(fn, "description");
        if (desc != NULL)
            json_object_object_add(t, "description", json_object_get(desc));
        if (params != NULL && ptype != NULL) {
            json_object_object_add(t, "input_schema",
                                   json_object_get(params));
        } else {
            /* No parameters, or no "type": Anthropic needs an object
             * schema, so add the type (and empty properties if none). */
            struct json_object *s =
                sy_adapter_obj("type", SY_JSTR("object"), NULL);
            if (params != NULL) {
                json_object_object_foreach(params, k, v)
                    json_object_object_add(s, k, json_object_get(v));
            }
            if (sy_adapter_get(s, "properties") == NULL)
                json_object_object_add(s, "properties",
                                       json_object_new_object());
            json_object_object_add(t, "input_schema", s);
        }
        struct json_object *strict = sy_adapter_get(fn, "strict");
        if (sy_adapter_is(strict, json_type_boolean) &&
            json_object_get_boolean(strict))
            json_object_object_add(t, "strict", json_object_new_boolean(1));
        json_object_array_add(out, t);
    }
    return SY_OK;
}

static struct json_object *
choice_obj(const char *type, const char *name, bool no_parallel)
{
    struct json_object *c = sy_adapter_obj("type", SY_JSTR(type), NULL);
    if (name != NULL)
        json_object_object_add(c, "name", json_object_new_string(name));
    if (no_parallel && strcmp(type, "none") != 0)
        json_object_object_add(c, "disable_parallel_tool_use",
                               json_object_new_boolean(1));
    return c;
}

static enum sy_err
build_tool_choice(struct sy_adapter_call *call, struct json_object *tc,
                  bool no_parallel, struct json_object **out)
{
    *out = NULL;
    if (tc == NULL) {
        if (no_parallel)
            *out = choice_obj("auto", NULL, true);
        return SY_OK;
    }
    if (json_object_is_type(tc, json_type_string)) {
        const char *s = json_object_get_string(tc);
        if (strcmp(s, "auto") == 0)
            *out = choice_obj("auto", NULL, no_parallel);
        else if (strcmp(s, "none") == 0)
            *out = choice_obj("none", NULL, false);
        else if (strcmp(s, "required") == 0)
            *out = choice_obj("any", NULL, no_parallel);
        else
            return sy_adapter_refuse(call, "tool_choice", "tool_choice "
                                     "'%.40s' is not one of auto, none, "
                                     "required", s);
        return SY_OK;
    }
    const char *type = sy_adapter_get_str(tc, "type");
    const char *name =
        sy_adapter_get_str(sy_adapter_get(tc, "function"), "name");
    if (type == NULL || strcmp(type, "function") != 0 || name == NULL)
        return sy_adapter_refuse(call, "tool_choice", "tool_choice must be "
                                 "auto, none, required or {\"type\":"
                                 "\"function\",\"function\":{\"name\":...}} "
                                 "for Anthropic deployments");
    *out = choice_obj("tool", name, no_parallel);
    return SY_OK;
}

/* response_format: json_schema through output_config.format (native) or
 * the forced tool; json_object always through the forced tool with an
 * open object schema. Sets ctx->json_tool. */
static enum sy_err
build_format(struct sy_adapter_call *call, struct json_object *body,
             struct json_object *tools, struct json_object **choice)
{
    struct anthropic_ctx *x = call->ctx;
    struct json_object *rf = sy_adapter_get(call->req->root,
                                            "response_format");
    const char *type = sy_adapter_get_str(rf, "type");
    if (type == NULL || strcmp(type, "text") == 0)
        return SY_OK;
    struct json_object *schema = NULL;
    if (strcmp(type, "json_schema") == 0) {
        schema = sy_adapter_get(sy_adapter_get(rf, "json_schema"), "schema");
        if (!sy_adapter_is(schema, json_type_object))
            return sy_adapter_refuse(call, "response_format", "response_"
                                     "format.json_schema.schema must be a "
                                     "JSON schema object");
        if (!conf_of(call)->json_tool) {
            struct json_object *fmt =
                sy_adapter_obj("type", SY_JSTR("json_schema"), "schema",
                               json_object_get(schema), NULL);
            json_object_object_add(body, "output_config",
                                   sy_adapter_obj("format", fmt, NULL));
            return SY_OK;
        }
        const char *root_type = sy_adapter_get_str(schema, "type");
        if (root_type == NULL || strcmp(root_type, "object") != 0)
            return sy_adapter_refuse(call, "response_format", "this Anthropic "
                                     "deployment returns JSON through a tool, "
                                     "which needs a schema with \"type\": "
                                     "\"object\" at the root");
    } else if (strcmp(type, "json_object") != 0) {
        return sy_adapter_refuse(call, "response_format", "response_format "
                                 "type '%.40s' is not supported", type);
    }
    if (json_object_array_length(tools) > 0)
        return sy_adapter_refuse(call, "response_format", "response_format "
                                 "%s together with tools is not supported by "
                                 "this Anthropic deployment", type);
    json_object_array_add(
        tools,
        sy_adapter_obj("name", SY_JSTR(JSON_TOOL), "description",
                       SY_JSTR("Give the final answer as JSON by calling "
                               "this tool."),
                       "input_schema",
                       schema ? json_object_get(schema)
                              : sy_adapter_obj("type", SY_JSTR("object"),
                                               NULL),
                       NULL));
    json_object_put(*choice);
    *choice = choice_obj("tool", JSON_TOOL, false);
    x->json_tool = true;
    return SY_OK;
}

/* OpenAI parameters Anthropic has no equivalent for: refused when they
 * would change the result, ignored when they are defaults (seed is
 * best-effort at OpenAI and is always ignored). */
static enum sy_err
check_unsupported(struct sy_adapter_call *call, struct json_object *root)
{
    int64_t n;
    struct json_object *v;
    if (sy_adapter_get_int(root, "n", &n) && n > 1)
        return sy_adapter_refuse(call, "n", "n > 1 is not supported by "
                                 "Anthropic deployments");
    v = sy_adapter_get(root, "logprobs");
    if (sy_adapter_is(v, json_type_boolean) && json_object_get_boolean(v))
        return sy_adapter_refuse(call, "logprobs", "logprobs are not "
                                 "supported by Anthropic deployments");
    v = sy_adapter_get(root, "logit_bias");
    if (sy_adapter_is(v, json_type_object) &&
        json_object_object_length(v) > 0)
        return sy_adapter_refuse(call, "logit_bias", "logit_bias is not "
                                 "supported by Anthropic deployments");
    static const char *const penalties[] = {"presence_penalty",
                                            "frequency_penalty"};
    for (size_t i = 0; i < SY_ARRAY_LEN(penalties); i++) {
        v = sy_adapter_get(root, penalties[i]);
        if (v != NULL && json_object_get_double(v) != 0.0)
            return sy_adapter_refuse(call, penalties[i], "%s is not "
                                     "supported by Anthropic deployments",
                                     penalties[i]);
    }
    if (sy_adapter_get(root, "functions") != NULL ||
        sy_adapter_get(root, "function_call") != NULL)
        return sy_adapter_refuse(call, "functions", "the deprecated "
                                 "'functions' and 'function_call' are not "
                                 "translated; use 'tools' and "
                                 "'tool_choice'");
    if (sy_adapter_get(root, "audio") != NULL)
        return sy_adapter_refuse(call, "audio", "audio output is not "
                                 "supported by Anthropic deployments");
    v = sy_adapter_get(root, "temperature");
    if (v != NULL && json_object_get_double(v) > 1.0)
        return sy_adapter_refuse(call, "temperature", "Anthropic accepts a "
                                 "temperature between 0 and 1");
    return SY_OK;
}

static enum sy_err
anthropic_body(struct sy_adapter_call *call, struct json_object *body)
{
    struct json_object *root = call->req->root;
    enum sy_err e = check_unsupported(call, root);
    if (e != SY_OK)
        return e;
    json_object_object_add(body, "model",
                           json_object_new_string(call->dep->model));
    int64_t max = call->req->max_tokens > 0 ? call->req->max_tokens
                                            : conf_of(call)->default_max_tokens;
    json_object_object_add(body, "max_tokens", json_object_new_int64(max));
    e = build_messages(call, body);
    if (e != SY_OK)
        return e;

    struct json_object *v;
    static const char *const same[] = {"temperature", "top_p", "top_k"};
    for (size_t i = 0; i < SY_ARRAY_LEN(same); i++)
        if ((v = sy_adapter_get(root, same[i])) != NULL)
            json_object_object_add(body, same[i], json_object_get(v));
    if ((v = sy_adapter_get(root, "stop")) != NULL) {
        if (json_object_is_type(v, json_type_string)) {
            json_object_object_add(body, "stop_sequences",
                                   sy_adapter_arr1(json_object_get(v)));
        } else if (json_object_array_length(v) > 0) {
            json_object_object_add(body, "stop_sequences",
                                   json_object_get(v));
        }
    }
    if ((v = sy_adapter_get(root, "user")) != NULL)
        json_object_object_add(
            body, "metadata",
            sy_adapter_obj("user_id", json_object_get(v), NULL));
    if (call->req->stream)
        json_object_object_add(body, "stream", json_object_new_boolean(1));

    struct json_object *tools = json_object_new_array();
    struct json_object *choice = NULL;
    struct json_object *in_tools = sy_adapter_get(root, "tools");
    v = sy_adapter_get(root, "parallel_tool_calls");
    bool no_parallel = sy_adapter_is(v, json_type_boolean) &&
                       !json_object_get_boolean(v);
    if (in_tools != NULL && json_object_array_length(in_tools) > 0) {
        e = build_tools(call, in_tools, tools);
        if (e == SY_OK)
            e = build_tool_choice(call, sy_adapter_get(root, "tool_choice"),
                                  no_parallel, &choice);
    }
    if (e == SY_OK)
        e = build_format(call, body, tools, &choice);
    if (e == SY_OK && json_object_array_length(tools) > 0) {
        json_object_object_add(body, "tools", tools);
        if (choice != NULL)
            json_object_object_add(body, "tool_choice", choice);
        return SY_OK;
    }
    json_object_put(tools);
    json_object_put(choice);
    return e;
}

static enum sy_err
anthropic_build_request(struct sy_adapter_call *call,
                        struct sy_http_out *out)
{
    const struct sy_provider *p = call->dep->provider;
    const struct anthropic_conf *c = conf_of(call);
    struct sy_arena *a = call->arena;
    out->method = "POST";
    out->url = sy_arena_printf(a, "%s/messages", p->base_url);
    out->headers[out->nheaders++] = "content-type: application/json";
    out->headers[out->nheaders++] =
        sy_arena_printf(a, "anthropic-version: %s", c->api_version);
    if (c->beta != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "anthropic-beta: %s", c->beta);
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "x-api-key: %s", call->api_key);
    for (size_t i = 0; i < p->nheaders &&
                       out->nheaders < SY_ARRAY_LEN(out->headers);
         i++)
        out->headers[out->nheaders++] = sy_arena_printf(
            a, "%s: %s", p->headers[i].name, p->headers[i].value);

    struct json_object *body = json_object_new_object();
    enum sy_err e = anthropic_body(call, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* Anthropic error types, the status they stand for, and our class. */
static const struct {
    const char *type;
    int status;
    enum sy_err err;
} error_types[] = {
    {"invalid_request_error", 400, SY_EUP_BADREQ},
    {"authentication_error", 401, SY_EUP_AUTH},
    {"billing_error", 402, SY_EUP_AUTH},
    {"permission_error", 403, SY_EUP_AUTH},
    {"not_found_error", 404, SY_EUP_5XX},
    {"conflict_error", 409, SY_EUP_5XX},
    {"request_too_large", 413, SY_EUP_BADREQ},
    {"rate_limit_error", 429, SY_EUP_RATELIMIT},
    {"api_error", 500, SY_EUP_5XX},
    {"timeout_error", 504, SY_EUP_TIMEOUT},
    {"overloaded_error", 529, SY_EUP_5XX},
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
    const char *msg = m ? sy_arena_strndup(a, m, SY_MIN(strlen(m), 512u))
                        : NULL;
    /* The HTTP status decides; inside a stream the error type does. */
    enum sy_err cls = status != 0 ? class_of_status(status) : SY_EUP_5XX;
    for (size_t i = 0; status == 0 && type != NULL &&
                       i < SY_ARRAY_LEN(error_types);
         i++)
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
                         : sy_arena_printf(a, "the provider rejected the "
                                              "gateway's API key (HTTP %d)",
                                           status);
        break;
    case SY_EUP_RATELIMIT:
        f->message = sy_arena_printf(a, "rate limited by the provider (HTTP "
                                        "%d, %s)", status, what);
        if (f->retry_after_ms == 0)
            f->retry_after_ms = sy_adapter_reset_hint_ms(call);
        break;
    case SY_EUP_TIMEOUT:
        f->message = sy_arena_printf(a, "the provider timed out (HTTP %d)",
                                     status);
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
                         : sy_arena_printf(a, "the provider rejected the "
                                              "request (HTTP %d)", status);
        f->code = type;
        if (msg != NULL && strstr(msg, "prompt is too long") != NULL)
            f->code = "context_length_exceeded";
        if (f->code != NULL)
            f->code = sy_arena_strdup(a, f->code);
        break;
    default:
        if (status == 404)
            f->message = sy_arena_printf(a, "the provider answered 404 "
                                            "(%.200s): check the deployment's "
                                            "model and base_url",
                                         msg ? msg : "not found");
        else
            f->message = sy_arena_printf(a, "provider error (HTTP %d, %s%s"
                                            "%.200s)", status, what,
                                         msg ? ": " : "", msg ? msg : "");
        break;
    }
}

static void
anthropic_classify(struct sy_adapter_call *call, int status,
                   const char *body, size_t len, struct sy_failure *f)
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
        {"end_turn", "stop"},        {"stop_sequence", "stop"},
        {"pause_turn", "stop"},      {"max_tokens", "length"},
        {"model_context_window_exceeded", "length"},
        {"tool_use", "tool_calls"},  {"refusal", "content_filter"},
    };
    if (stop_reason == NULL)
        return "stop";
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++)
        if (strcmp(stop_reason, map[i].from) == 0)
            return json_tool && strcmp(map[i].to, "tool_calls") == 0
                       ? "stop" : map[i].to;
    return "stop"; /* values added later: the safest reading */
}

/* Anthropic usage (input excludes the cache) into OpenAI meaning. */
static void
usage_of(struct sy_usage *u, int64_t in, int64_t cache_read,
         int64_t cache_write, int64_t out)
{
    u->present = true;
    u->prompt_tokens = in + cache_read + cache_write;
    u->completion_tokens = out;
    u->total_tokens = u->prompt_tokens + out;
    u->cached_tokens = cache_read;
    u->reasoning_tokens = 0;
}

static void
read_usage(struct json_object *uo, int64_t *in, int64_t *cr, int64_t *cw,
           int64_t *out)
{
    sy_adapter_get_int(uo, "input_tokens", in);
    sy_adapter_get_int(uo, "cache_read_input_tokens", cr);
    sy_adapter_get_int(uo, "cache_creation_input_tokens", cw);
    sy_adapter_get_int(uo, "output_tokens", out);
}

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
    struct sy_buf text;
    sy_buf_init(&text, SY_JSON_MAX);
    struct json_object *calls = json_object_new_array();
    const char *json_text = NULL;
    size_t n = json_object_array_length(content);
    for (size_t i = 0; i < n; i++) {
        struct json_object *b = json_object_array_get_idx(content, i);
        const char *bt = sy_adapter_get_str(b, "type");
        if (bt == NULL)
            continue;
        if (strcmp(bt, "text") == 0) {
            const char *t = sy_adapter_get_str(b, "text");
            if (t != NULL)
                sy_buf_puts(&text, t);
        } else if (strcmp(bt, "tool_use") == 0) {
            const char *id = sy_adapter_get_str(b, "id");
            const char *name = sy_adapter_get_str(b, "name");
            struct json_object *input = sy_adapter_get(b, "input");
            if (id == NULL || name == NULL) {
                sy_buf_free(&text);
                json_object_put(calls);
                return sy_adapter_proto(f, "the provider's tool_use block "
                                           "has no id or name");
            }
            const char *args = input ? sy_adapter_json_text(input, NULL)
                                     : "{}";
            if (x->json_tool && strcmp(name, JSON_TOOL) == 0)
                json_text = args;
            else
                json_object_array_add(calls,
                                      sy_adapter_tool_call(id, name, args));
        }
        /* thinking, redacted_thinking, server tool blocks: not shown */
    }
    struct json_object *msg = sy_adapter_obj(
        "role", SY_JSTR("assistant"), "content",
        json_text ? SY_JSTR(json_text)
        : text.len ? json_object_new_string_len(sy_buf_cstr(&text),
                                                (int)text.len)
                   : NULL,
        NULL);
    if (json_object_array_length(calls) > 0)
        json_object_object_add(msg, "tool_calls", calls);
    else
        json_object_put(calls);
    sy_buf_free(&text);

    int64_t in = 0, cr = 0, cw = 0, out = 0;
    struct json_object *uo = sy_adapter_get(root, "usage");
    if (uo != NULL) {
        read_usage(uo, &in, &cr, &cw, &out);
        usage_of(&resp->usage, in, cr, cw, out);
    }
    const char *fr = finish_of(sy_adapter_get_str(root, "stop_reason"),
                               x->json_tool);
    const char *id = sy_adapter_get_str(root, "id");
    const char *model = sy_adapter_get_str(root, "model");
    struct json_object *out_root = sy_adapter_completion(
        id ? id : "msg", (int64_t)sy_wall_s(),
        model ? model : call->dep->model, msg, fr, &resp->usage);
    resp->finish_reason = fr;
    resp->upstream_model = model;
    return sy_adapter_set_response(call, resp, out_root);
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
        return SY_OK;
    const char *id = sy_adapter_get_str(msg, "id");
    const char *model = sy_adapter_get_str(msg, "model");
    x->id = sy_arena_strdup(a, id ? id : "msg");
    x->model = sy_arena_strdup(a, model ? model : x->call->dep->model);
    x->created = (int64_t)sy_wall_s();
    x->started = true;
    read_usage(sy_adapter_get(msg, "usage"), &x->in, &x->cache_read,
               &x->cache_write, &x->out);
    return emit_delta(x,
                      sy_adapter_obj("role", SY_JSTR("assistant"),
                                     "content", SY_JSTR(""), NULL),
                      NULL);
}

/* The state of block 'index' (grown on demand, in the arena). */
static struct block *
block_at(struct anthropic_ctx *x, int64_t index)
{
    if (index < 0 || index >= 4096)
        return NULL;
    size_t i = (size_t)index;
    if (i >= x->nblocks) {
        size_t n = SY_MAX(i + 1, x->nblocks * 2);
        struct block *b = sy_arena_zalloc(x->call->arena, n * sizeof(*b));
        if (x->nblocks > 0)
            memcpy(b, x->blocks, x->nblocks * sizeof(*b));
        x->blocks = b;
        x->nblocks = n;
    }
    return &x->blocks[i];
}

static enum sy_err
on_block_start(struct anthropic_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "index", &index);
    struct block *b = block_at(x, index);
    struct json_object *cb = sy_adapter_get(o, "content_block");
    const char *type = sy_adapter_get_str(cb, "type");
    if (b == NULL || type == NULL)
        return sy_adapter_proto(x->f, "the provider sent a content block "
                                      "without index or type");
    if (strcmp(type, "text") == 0) {
        b->kind = BLOCK_TEXT;
        const char *t = sy_adapter_get_str(cb, "text");
        if (t != NULL && t[0] != '\0')
            return emit_delta(x, sy_adapter_obj("content", SY_JSTR(t), NULL),
                              NULL);
        return SY_OK;
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
    if (x->json_tool && strcmp(name, JSON_TOOL) == 0) {
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

static enum sy_err
on_block_delta(struct anthropic_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "index", &index);
    struct block *b = block_at(x, index);
    struct json_object *delta = sy_adapter_get(o, "delta");
    const char *type = sy_adapter_get_str(delta, "type");
    if (b == NULL || type == NULL)
        return sy_adapter_proto(x->f, "the provider sent a block delta "
                                      "without index or type");
    const char *piece = NULL;
    if (strcmp(type, "text_delta") == 0)
        piece = sy_adapter_get_str(delta, "text");
    else if (strcmp(type, "input_json_delta") == 0)
        piece = sy_adapter_get_str(delta, "partial_json");
    if (piece == NULL || piece[0] == '\0')
        return SY_OK; /* thinking, signatures, citations: not shown */
    if (b->kind != BLOCK_TOOL) /* text, or the JSON tool's input: content */
        return emit_delta(x, sy_adapter_obj("content", SY_JSTR(piece), NULL),
                          NULL);
    struct json_object *tc = sy_adapter_obj(
        "index", json_object_new_int(b->tool), "function",
        sy_adapter_obj("arguments", SY_JSTR(piece), NULL), NULL);
    return emit_delta(
        x, sy_adapter_obj("tool_calls", sy_adapter_arr1(tc), NULL), NULL);
}

static enum sy_err
stream_finish(struct anthropic_ctx *x)
{
    if (x->finished)
        return SY_OK;
    x->finished = true;
    return emit_delta(x, NULL, finish_of(x->stop_reason, x->json_tool));
}

static enum sy_err
on_message_stop(struct anthropic_ctx *x)
{
    enum sy_err e = stream_finish(x);
    if (e != SY_OK)
        return e;
    usage_of(&x->usage, x->in, x->cache_read, x->cache_write, x->out);
    e = sy_adapter_emit_json(
        x->emit, x->emit_ud,
        sy_adapter_usage_chunk(x->id, x->created, x->model, &x->usage),
        &x->usage, true);
    x->done = true;
    return e != SY_OK ? e : sy_adapter_emit_done(x->emit, x->emit_ud);
}

static enum sy_err
anthropic_event(void *ud, const char *event, const char *data, size_t len)
{
    struct anthropic_ctx *x = ud;
    if (x->done)
        return SY_OK;
    struct json_object *o = sy_adapter_json_parse(data, len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider sent a malformed stream "
                                      "event");
    }
    const char *type = sy_adapter_get_str(o, "type");
    if (type == NULL)
        type = event;
    enum sy_err e = SY_OK;
    if (strcmp(type, "error") == 0) {
        anthropic_error(x->call, 0, sy_adapter_get(o, "error"), x->f);
        x->f->message = sy_arena_printf(x->call->arena, "error event in the "
                                        "stream: %s", x->f->message);
        e = x->f->err;
    } else if (strcmp(type, "ping") == 0) {
        e = SY_OK;
    } else if (strcmp(type, "message_start") == 0) {
        e = stream_start(x, sy_adapter_get(o, "message"));
    } else if (strncmp(type, "content_block_", 14) == 0 ||
               strncmp(type, "message_", 8) == 0) {
        e = stream_start(x, NULL);
        if (e == SY_OK && strcmp(type, "content_block_start") == 0)
            e = on_block_start(x, o);
        else if (e == SY_OK && strcmp(type, "content_block_delta") == 0)
            e = on_block_delta(x, o);
        else if (e == SY_OK && strcmp(type, "message_delta") == 0) {
            const char *sr = sy_adapter_get_str(sy_adapter_get(o, "delta"),
                                                "stop_reason");
            if (sr != NULL)
                x->stop_reason = sy_arena_strdup(x->call->arena, sr);
            read_usage(sy_adapter_get(o, "usage"), &x->in, &x->cache_read,
                       &x->cache_write, &x->out);
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

static enum sy_err
anthropic_stream_feed(struct sy_adapter_call *call, const char *p,
                      size_t len, sy_emit_fn emit, void *ud,
                      struct sy_failure *f)
{
    struct anthropic_ctx *x = call->ctx;
    if (!x->sse.ready)
        sy_sse_init(&x->sse, call->arena);
    x->call = call;
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    enum sy_err e = len == 0
                        ? sy_sse_finish(&x->sse, anthropic_event, x)
                        : sy_sse_feed(&x->sse, p, len, anthropic_event, x);
    if (e != SY_OK && f->err == SY_OK) {
        f->err = e;
        f->message = "the provider's stream is malformed (event too large)";
    }
    if (e == SY_OK && len == 0 && !x->done)
        e = sy_adapter_proto(f, "the stream ended before message_stop");
    return e;
}

const struct sy_adapter sy_adapter_anthropic = {
    .abi = SY_ADAPTER_ABI,
    .name = "anthropic",
    .caps = SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |
            SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION |
            SY_CAP_STREAM_USAGE,
    .ctx_size = sizeof(struct anthropic_ctx),
    .conf_keys = anthropic_keys,
    .init = anthropic_init,
    .build_request = anthropic_build_request,
    .parse_response = anthropic_parse_response,
    .stream_feed = anthropic_stream_feed,
    .classify = anthropic_classify,
    .reset = NULL, /* each attempt gets a fresh ctx */
};
