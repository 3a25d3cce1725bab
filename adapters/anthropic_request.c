/*
 * anthropic_request.c - the request side of the Anthropic adapter: the
 * provider keys (init), and an OpenAI chat request becoming a Messages
 * request (one system slot, alternating user/assistant turns, tool_use
 * and tool_result blocks, tools and tool_choice, structured output
 * through output_config.format or the forced json_response tool,
 * refusals of what Anthropic cannot do). The table and the reply side
 * are anthropic.c, which calls into this file (never the reverse). No
 * I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_int.h"
#include "api/caps.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The provider keys' defaults (no adapter keys in the config). */
static const struct anthropic_conf anthropic_defaults = {
    .api_version = "2023-06-01",
    .default_max_tokens = 4096,
};

/* ------------------------------------------------------------------ */
/* Config                                                              */

/* The provider keys the init slot reads (see anthropic_int.h). */
const char *const sy_anthropic_keys[] = { "api_version", "default_max_tokens",
                                          "structured_output", "beta", NULL };

/* The adapter's init slot (see anthropic_int.h). */
enum sy_err
sy_anthropic_init(const char *type, const void *conf, struct sy_arena *a,
                  const void **adapter_conf, char *err, size_t errlen)
{
    struct json_object *o = (struct json_object *)(uintptr_t)conf;
    struct anthropic_conf *c = sy_arena_zalloc(a, sizeof(*c));
    (void)type;
    *c = anthropic_defaults;
    struct json_object *v;
    if ((v = sy_adapter_get(o, "api_version")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) || s[0] == '\0' ||
            strpbrk(s, "\r\n") != NULL) {
            snprintf(err, errlen,
                     "\"api_version\" must be a string such as "
                     "\"2023-06-01\"");
            return SY_EBADREQ;
        }
        c->api_version = sy_arena_strdup(a, s);
    }
    if ((v = sy_adapter_get(o, "beta")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            strpbrk(s, "\r\n") != NULL) {
            snprintf(err, errlen,
                     "\"beta\" must be a string (the "
                     "anthropic-beta header)");
            return SY_EBADREQ;
        }
        c->beta = sy_arena_strdup(a, s);
    }
    if ((v = sy_adapter_get(o, "default_max_tokens")) != NULL) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > 1000000) {
            snprintf(err, errlen,
                     "\"default_max_tokens\" must be an integer "
                     "between 1 and 1000000");
            return SY_EBADREQ;
        }
        c->default_max_tokens = json_object_get_int64(v);
    }
    if ((v = sy_adapter_get(o, "structured_output")) != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(s, "native") != 0 && strcmp(s, "tool") != 0)) {
            snprintf(err, errlen,
                     "\"structured_output\" must be \"native\" "
                     "(output_config.format) or \"tool\" (a "
                     "forced tool, for older models)");
            return SY_EBADREQ;
        }
        c->json_tool = strcmp(s, "tool") == 0;
    }
    *adapter_conf = c;
    return SY_OK;
}

/* The provider's digested keys, or the defaults when it has none (see
 * anthropic_int.h). */
const struct anthropic_conf *
sy_anthropic_conf(const struct sy_adapter_call *call)
{
    const void *c = call->target->adapter_conf;
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
            t->results,
            json_object_get(json_object_array_get_idx(t->blocks, i)));
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

/* Text goes from the caller's JSON strings to the provider's with
 * json-c's length, never as C strings: "\u0000" is valid JSON, and
 * strlen would cut the text at it, so the provider would see other text
 * than the caller sent. The helpers for it are
 * sy_adapter_str_member and friends (common.c). */

/* A text block holding JSON string 'text'. */
static struct json_object *
text_block(struct json_object *text, struct json_object *cache_control)
{
    struct json_object *b = sy_adapter_obj("type", SY_JSTR("text"), "text",
                                           sy_adapter_str_copy(text), NULL);
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
image_block(struct sy_adapter_call *call, struct json_object *part, size_t i,
            size_t j, struct json_object **out)
{
    static const char *const media[] = { "image/jpeg", "image/png", "image/gif",
                                         "image/webp", NULL };
    const char *url =
        sy_adapter_get_str(sy_adapter_get(part, "image_url"), "url");
    const char *mime, *data;
    struct json_object *src;
    if (url != NULL && sy_adapter_data_url(call->arena, url, &mime, &data)) {
        if (!sy_adapter_str_in(mime, media))
            return sy_adapter_refuse(
                call, "messages",
                "messages[%zu].content[%zu]: image type "
                "'%.40s' is not supported by Anthropic (jpeg, png, gif, webp)",
                i, j, mime);
        src = sy_adapter_obj("type", SY_JSTR("base64"), "media_type",
                             SY_JSTR(mime), "data", SY_JSTR(data), NULL);
    } else if (url != NULL && (strncmp(url, "https://", 8) == 0 ||
                               strncmp(url, "http://", 7) == 0)) {
        src = sy_adapter_obj("type", SY_JSTR("url"), "url", SY_JSTR(url), NULL);
    } else {
        return sy_adapter_refuse(call, "messages",
                                 "messages[%zu].content[%zu]: image_url.url "
                                 "must be an http(s) URL or a base64 data "
                                 "URL",
                                 i, j);
    }
    struct json_object *b =
        sy_adapter_obj("type", SY_JSTR("image"), "source", src, NULL);
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
            json_object_array_add(t->blocks, text_block(content, NULL));
        return SY_OK;
    }
    size_t n = json_object_array_length(content);
    for (size_t j = 0; j < n; j++) {
        struct json_object *part = json_object_array_get_idx(content, j);
        const char *type = sy_adapter_get_str(part, "type");
        struct json_object *text = sy_adapter_str_member(part, "text");
        if (strcmp(type, "text") == 0) {
            if (text != NULL && json_object_get_string_len(text) > 0)
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
                t->call, "messages",
                "messages[%zu].content[%zu]: content "
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
            return sy_adapter_refuse(t->call, "messages",
                                     "messages[%zu].tool_calls[%zu] needs an "
                                     "id and a function name",
                                     i, j);
        struct json_object *input =
            args == NULL || args[0] == '\0'
                ? json_object_new_object()
                : sy_adapter_json_parse(args, strlen(args));
        if (!sy_adapter_is(input, json_type_object)) {
            json_object_put(input);
            return sy_adapter_refuse(t->call, "messages",
                                     "messages[%zu].tool_calls[%zu]."
                                     "function.arguments is not a JSON object",
                                     i, j);
        }
        json_object_array_add(
            t->blocks,
            sy_adapter_obj("type", SY_JSTR("tool_use"), "id",
                           SY_JSTR(tool_id(t->call->arena, id)), "name",
                           SY_JSTR(name), "input", input, NULL));
    }
    return SY_OK;
}

/* The text of a tool message's 'content' as a new JSON string (a string
 * as it is, text parts joined with newlines), or NULL when there is
 * none; '*other' when a part is not text. */
static struct json_object *
tool_text(struct json_object *content, bool *other)
{
    *other = false;
    if (sy_adapter_is(content, json_type_string))
        return sy_adapter_str_copy(content);
    size_t n = sy_adapter_is(content, json_type_array)
                   ? json_object_array_length(content)
                   : 0;
    /* No bound of its own: the text is shorter than the parsed request. */
    struct sy_buf b;
    sy_buf_init(&b, SIZE_MAX - 1);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(content, i);
        const char *type = sy_adapter_get_str(part, "type");
        struct json_object *text = sy_adapter_str_member(part, "text");
        if (type == NULL || strcmp(type, "text") != 0 || text == NULL) {
            *other = true;
            continue;
        }
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

static enum sy_err
tool_result_block(struct turns *t, struct json_object *m, size_t i)
{
    bool other;
    const char *id = sy_adapter_get_str(m, "tool_call_id");
    struct json_object *text = tool_text(sy_adapter_get(m, "content"), &other);
    if (other) {
        json_object_put(text);
        return sy_adapter_refuse(t->call, "messages",
                                 "messages[%zu]: tool messages may only "
                                 "hold text for Anthropic deployments",
                                 i);
    }
    struct json_object *b =
        sy_adapter_obj("type", SY_JSTR("tool_result"), "tool_use_id",
                       SY_JSTR(tool_id(t->call->arena, id)), NULL);
    if (text != NULL && json_object_get_string_len(text) > 0)
        json_object_object_add(b, "content", text);
    else
        json_object_put(text);
    json_object_array_add(t->results, b);
    return SY_OK;
}

/* The shared message walk (adapters/common.c) calls these. */
static void
walk_open(void *ud, const char *role)
{
    turn_open(ud, role);
}

static enum sy_err
walk_content(void *ud, struct json_object *content, size_t i, bool user)
{
    return content_blocks(ud, content, i, user);
}

static enum sy_err
walk_calls(void *ud, struct json_object *calls, size_t i)
{
    return tool_use_blocks(ud, calls, i);
}

static enum sy_err
walk_tool(void *ud, struct json_object *msgs, size_t i)
{
    return tool_result_block(ud, json_object_array_get_idx(msgs, i), i);
}

static const struct sy_turn_ops anthropic_turn_ops = {
    .assistant_role = "assistant",
    .open = walk_open,
    .content = walk_content,
    .calls = walk_calls,
    .tool = walk_tool,
};

/* System and developer messages, wherever they are, become the one
 * system prompt (in order, separated by a blank line); the rest become
 * alternating turns. */
static enum sy_err
build_messages(struct sy_adapter_call *call, struct json_object *body)
{
    struct turns t = { .call = call, .messages = json_object_new_array() };
    struct sy_buf sys;
    sy_buf_init(&sys, SY_JSON_MAX);
    enum sy_err e =
        sy_adapter_walk_messages(call, &anthropic_turn_ops, &t, &sys);
    turn_flush(&t);
    if (e == SY_OK && sys.len > 0)
        json_object_object_add(
            body, "system",
            json_object_new_string_len(sy_buf_cstr(&sys), (int)sys.len));
    sy_buf_free(&sys);
    if (e == SY_OK && json_object_array_length(t.messages) == 0)
        e = sy_adapter_refuse(call, "messages",
                              "the request has no user or "
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
            return sy_adapter_refuse(call, "tools",
                                     "tools[%zu]: tool type "
                                     "'%.40s' is not supported by Anthropic "
                                     "deployments",
                                     i, type);
        const char *name = sy_adapter_get_str(fn, "name");
        if (strcmp(name, ANTHROPIC_JSON_TOOL) == 0)
            return sy_adapter_refuse(
                call, "tools",
                "tools[%zu]: the name '" ANTHROPIC_JSON_TOOL "' is reserved by "
                "the gateway",
                i);
        struct json_object *params = sy_adapter_get(fn, "parameters");
        const char *ptype = sy_adapter_get_str(params, "type");
        if (params != NULL && (!sy_adapter_is(params, json_type_object) ||
                               (ptype != NULL && strcmp(ptype, "object") != 0)))
            return sy_adapter_refuse(call, "tools",
                                     "tools[%zu].function."
                                     "parameters must be an object schema "
                                     "for Anthropic",
                                     i);
        struct json_object *t = sy_adapter_obj("name", SY_JSTR(name), NULL);
        struct json_object *desc = sy_adapter_get(fn, "description");
        if (desc != NULL)
            json_object_object_add(t, "description", json_object_get(desc));
        if (params != NULL && ptype != NULL) {
            json_object_object_add(t, "input_schema", json_object_get(params));
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
            return sy_adapter_refuse(call, "tool_choice",
                                     "tool_choice "
                                     "'%.40s' is not one of auto, none, "
                                     "required",
                                     s);
        return SY_OK;
    }
    const char *type = sy_adapter_get_str(tc, "type");
    const char *name =
        sy_adapter_get_str(sy_adapter_get(tc, "function"), "name");
    if (type == NULL || strcmp(type, "function") != 0 || name == NULL)
        return sy_adapter_refuse(call, "tool_choice",
                                 "tool_choice must be "
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
    struct json_object *rf = sy_adapter_get(call->req->root, "response_format");
    const char *type = sy_adapter_get_str(rf, "type");
    if (type == NULL || strcmp(type, "text") == 0)
        return SY_OK;
    struct json_object *schema = NULL;
    if (strcmp(type, "json_schema") == 0) {
        schema = sy_adapter_get(sy_adapter_get(rf, "json_schema"), "schema");
        if (!sy_adapter_is(schema, json_type_object))
            return sy_adapter_refuse(call, "response_format",
                                     "response_"
                                     "format.json_schema.schema must be a "
                                     "JSON schema object");
        if (!sy_anthropic_conf(call)->json_tool) {
            struct json_object *fmt =
                sy_adapter_obj("type", SY_JSTR("json_schema"), "schema",
                               json_object_get(schema), NULL);
            json_object_object_add(body, "output_config",
                                   sy_adapter_obj("format", fmt, NULL));
            return SY_OK;
        }
        const char *root_type = sy_adapter_get_str(schema, "type");
        if (root_type == NULL || strcmp(root_type, "object") != 0)
            return sy_adapter_refuse(call, "response_format",
                                     "this Anthropic "
                                     "deployment returns JSON through a tool, "
                                     "which needs a schema with \"type\": "
                                     "\"object\" at the root");
    } else if (strcmp(type, "json_object") != 0) {
        return sy_adapter_refuse(call, "response_format",
                                 "response_format "
                                 "type '%.40s' is not supported",
                                 type);
    }
    if (json_object_array_length(tools) > 0)
        return sy_adapter_refuse(call, "response_format",
                                 "response_format "
                                 "%s together with tools is not supported by "
                                 "this Anthropic deployment",
                                 type);
    json_object_array_add(
        tools,
        sy_adapter_obj("name", SY_JSTR(ANTHROPIC_JSON_TOOL), "description",
                       SY_JSTR("Give the final answer as JSON by calling "
                               "this tool."),
                       "input_schema",
                       schema ? json_object_get(schema)
                              : sy_adapter_obj("type", SY_JSTR("object"), NULL),
                       NULL));
    json_object_put(*choice);
    *choice = choice_obj("tool", ANTHROPIC_JSON_TOOL, false);
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
        return sy_adapter_refuse(call, "n",
                                 "n > 1 is not supported by "
                                 "Anthropic deployments");
    v = sy_adapter_get(root, "logprobs");
    if (sy_adapter_is(v, json_type_boolean) && json_object_get_boolean(v))
        return sy_adapter_refuse(call, "logprobs",
                                 "logprobs are not "
                                 "supported by Anthropic deployments");
    v = sy_adapter_get(root, "logit_bias");
    if (sy_adapter_is(v, json_type_object) && json_object_object_length(v) > 0)
        return sy_adapter_refuse(call, "logit_bias",
                                 "logit_bias is not "
                                 "supported by Anthropic deployments");
    static const char *const penalties[] = { "presence_penalty",
                                             "frequency_penalty" };
    for (size_t i = 0; i < SY_ARRAY_LEN(penalties); i++) {
        v = sy_adapter_get(root, penalties[i]);
        if (v != NULL && json_object_get_double(v) != 0.0)
            return sy_adapter_refuse(call, penalties[i],
                                     "%s is not "
                                     "supported by Anthropic deployments",
                                     penalties[i]);
    }
    if (sy_adapter_get(root, "audio") != NULL)
        return sy_adapter_refuse(call, "audio",
                                 "audio output is not "
                                 "supported by Anthropic deployments");
    v = sy_adapter_get(root, "temperature");
    if (v != NULL && json_object_get_double(v) > 1.0)
        return sy_adapter_refuse(call, "temperature",
                                 "Anthropic accepts a "
                                 "temperature between 0 and 1");
    return SY_OK;
}

/* The max_tokens to send for a request without one (the API requires
 * it): the provider's default_max_tokens, within the deployment's output
 * limit (SY_OUTPUT_TOKENS_UNKNOWN when unknown), which the core reserved
 * for. */
int64_t
sy_anthropic_default_max(const struct sy_adapter_call *call)
{
    int64_t max = sy_anthropic_conf(call)->default_max_tokens;
    uint64_t lim = call->target->max_output_tokens > 0
                       ? call->target->max_output_tokens
                       : SY_OUTPUT_TOKENS_UNKNOWN;
    return (uint64_t)max > lim ? (int64_t)lim : max;
}

static enum sy_err
anthropic_body(struct sy_adapter_call *call, struct json_object *body)
{
    struct json_object *root = call->req->root;
    enum sy_err e = check_unsupported(call, root);
    if (e != SY_OK)
        return e;
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));
    int64_t max = call->req->max_tokens > 0 ? call->req->max_tokens
                                            : sy_anthropic_default_max(call);
    json_object_object_add(body, "max_tokens", json_object_new_int64(max));
    call->sent_max_tokens = max;
    e = build_messages(call, body);
    if (e != SY_OK)
        return e;

    struct json_object *v;
    static const char *const same[] = { "temperature", "top_p", "top_k" };
    for (size_t i = 0; i < SY_ARRAY_LEN(same); i++)
        if ((v = sy_adapter_get(root, same[i])) != NULL)
            json_object_object_add(body, same[i], json_object_get(v));
    /* Current Claude models refuse temperature and top_p together (a
     * 400 that would fail the request instead of falling back); both
     * set: temperature wins, as OpenAI advises changing only one. */
    if (sy_adapter_get(body, "temperature") != NULL)
        json_object_object_del(body, "top_p");
    if ((v = sy_adapter_get(root, "stop")) != NULL) {
        if (json_object_is_type(v, json_type_string)) {
            json_object_object_add(body, "stop_sequences",
                                   sy_adapter_arr1(json_object_get(v)));
        } else if (json_object_array_length(v) > 0) {
            json_object_object_add(body, "stop_sequences", json_object_get(v));
        }
    }
    if ((v = sy_adapter_get(root, "user")) != NULL)
        json_object_object_add(
            body, "metadata",
            sy_adapter_obj("user_id", json_object_get(v), NULL));
    if (sy_adapter_streams(call))
        json_object_object_add(body, "stream", json_object_new_boolean(1));

    struct json_object *tools = json_object_new_array();
    struct json_object *choice = NULL;
    struct json_object *in_tools = sy_adapter_get(root, "tools");
    v = sy_adapter_get(root, "parallel_tool_calls");
    bool no_parallel =
        sy_adapter_is(v, json_type_boolean) && !json_object_get_boolean(v);
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

/* Method, URL and headers of a Messages request (see anthropic_int.h). */
void
sy_anthropic_http(struct sy_adapter_call *call, struct sy_http_out *out,
                  const char *version, const char *beta)
{
    struct sy_arena *a = call->arena;
    out->method = "POST";
    out->url = sy_arena_printf(a, "%s/messages", call->target->base_url);
    out->headers[out->nheaders++] = "content-type: application/json";
    out->headers[out->nheaders++] =
        sy_arena_printf(a, "anthropic-version: %s", version);
    if (beta != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "anthropic-beta: %s", beta);
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "x-api-key: %s", call->api_key);
    sy_adapter_static_headers(call, out);
}

/* The translation of a chat request (see anthropic_int.h). */
enum sy_err
sy_anthropic_build_request(struct sy_adapter_call *call,
                           struct sy_http_out *out)
{
    const struct anthropic_conf *c = sy_anthropic_conf(call);
    sy_anthropic_http(call, out, c->api_version, c->beta);

    struct json_object *body = json_object_new_object();
    enum sy_err e = anthropic_body(call, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}
