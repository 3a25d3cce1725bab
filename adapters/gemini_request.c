/*
 * gemini_request.c - the request side of the Gemini adapter: the
 * provider keys (init), and an OpenAI chat request becoming a
 * GenerateContentRequest (systemInstruction, user/model contents with
 * functionCall and functionResponse parts, functionDeclarations and
 * toolConfig, generationConfig with JSON output, JSON Schema converted to
 * Google's Schema in the "openapi" mode, refusals of what Gemini cannot
 * do). Thought signatures of earlier calls are restored from
 * extra_content or from the ids gemini_ids.c made. The table and the
 * reply side are gemini.c, which calls into this file (never the
 * reverse). No I/O: image URLs other than data: URLs are refused.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "gemini_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The documented sentinel that lets Gemini 3 accept a function call
 * whose signature was lost (history from another provider). */
#define SKIP_SIGNATURE "skip_thought_signature_validator"

/* The provider keys' defaults (no adapter keys in the config). */
static const struct gemini_conf gemini_defaults = { .openapi_schema = false };

/* ------------------------------------------------------------------ */
/* Config                                                              */

/* The provider keys the init slot reads (see gemini_int.h). */
const char *const sy_gemini_keys[] = { "schema", NULL };

/* The adapter's init slot (see gemini_int.h). */
enum sy_err
sy_gemini_init(const char *type, const void *conf, struct sy_arena *a,
               const void **adapter_conf, char *err, size_t errlen)
{
    struct json_object *o = (struct json_object *)(uintptr_t)conf;
    struct gemini_conf *c = sy_arena_zalloc(a, sizeof(*c));
    (void)type;
    *c = gemini_defaults;
    struct json_object *v = sy_adapter_get(o, "schema");
    if (v != NULL) {
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(s, "json_schema") != 0 && strcmp(s, "openapi") != 0)) {
            snprintf(err, errlen,
                     "\"schema\" must be \"json_schema\" "
                     "(parametersJsonSchema, "
                     "responseJsonSchema) or \"openapi\" "
                     "(parameters, responseSchema)");
            return SY_EBADREQ;
        }
        c->openapi_schema = strcmp(s, "openapi") == 0;
    }
    *adapter_conf = c;
    return SY_OK;
}

/* The provider's digested keys, or the defaults when it has none. Never
 * NULL; borrowed from the config. */
static const struct gemini_conf *
gemini_conf_of(const struct sy_adapter_call *call)
{
    const void *c = call->target->adapter_conf;
    return c != NULL ? c : &gemini_defaults;
}

/* ------------------------------------------------------------------ */
/* Schemas                                                             */

/* Inlining $refs can grow a schema exponentially (a chain of definitions
 * each naming the next three times); the conversion of all the schemas of
 * one request stops past this many nodes and the request is refused. */
#define OPENAPI_MAX_NODES 20000

struct conv {
    struct json_object *root; /* the schema document, for $refs */
    size_t nodes;             /* produced so far */
};

/* Convert a JSON Schema to Google's OpenAPI-subset Schema (for the
 * "openapi" schema mode): local $refs are inlined, keywords Gemini
 * rejects are dropped, const becomes a one-value enum. Past the node
 * budget every further node is an empty object; the caller checks. */
static struct json_object *
to_openapi(struct conv *cv, struct json_object *s, int depth)
{
    static const char *const dropped[] = { "$schema",
                                           "$id",
                                           "$defs",
                                           "definitions",
                                           "additionalProperties",
                                           "strict",
                                           "$comment",
                                           "examples",
                                           "default",
                                           NULL };
    if (depth > 32 || ++cv->nodes > OPENAPI_MAX_NODES)
        return json_object_new_object();
    if (json_object_is_type(s, json_type_array)) {
        struct json_object *a = json_object_new_array();
        size_t n = json_object_array_length(s);
        for (size_t i = 0; i < n && cv->nodes <= OPENAPI_MAX_NODES; i++)
            json_object_array_add(
                a, to_openapi(cv, json_object_array_get_idx(s, i), depth + 1));
        return a;
    }
    if (!json_object_is_type(s, json_type_object))
        return json_object_get(s);
    const char *ref = sy_adapter_get_str(s, "$ref");
    if (ref != NULL) {
        struct json_object *target = NULL, *root = cv->root;
        if (strncmp(ref, "#/$defs/", 8) == 0)
            target = sy_adapter_get(sy_adapter_get(root, "$defs"), ref + 8);
        else if (strncmp(ref, "#/definitions/", 14) == 0)
            target =
                sy_adapter_get(sy_adapter_get(root, "definitions"), ref + 14);
        if (target != NULL)
            return to_openapi(cv, target, depth + 1);
    }
    struct json_object *o = json_object_new_object();
    json_object_object_foreach(s, key, val)
    {
        if (cv->nodes > OPENAPI_MAX_NODES)
            break;
        if (sy_adapter_str_in(key, dropped) || strcmp(key, "$ref") == 0)
            continue;
        if (strcmp(key, "const") == 0) {
            struct json_object *e = json_object_new_array();
            json_object_array_add(e, json_object_get(val));
            json_object_object_add(o, "enum", e);
            continue;
        }
        bool schema_valued = strcmp(key, "properties") == 0 ||
                             strcmp(key, "items") == 0 ||
                             strcmp(key, "anyOf") == 0;
        if (strcmp(key, "properties") == 0 &&
            json_object_is_type(val, json_type_object)) {
            struct json_object *props = json_object_new_object();
            json_object_object_foreach(val, pk, pv) json_object_object_add(
                props, pk, to_openapi(cv, pv, depth + 1));
            json_object_object_add(o, key, props);
        } else {
            json_object_object_add(o, key,
                                   schema_valued
                                       ? to_openapi(cv, val, depth + 1)
                                       : json_object_get(val));
        }
    }
    return o;
}

/* Add 'schema' to 'parent' under the JSON Schema field name or, in the
 * openapi mode, converted under the Schema field name. 'param' names the
 * request field in a refusal. */
static enum sy_err
add_schema(struct sy_adapter_call *call, struct json_object *parent,
           const char *json_name, const char *openapi_name,
           struct json_object *schema, const char *param)
{
    if (!gemini_conf_of(call)->openapi_schema) {
        json_object_object_add(parent, json_name, json_object_get(schema));
        return SY_OK;
    }
    struct gemini_ctx *x = call->ctx;
    struct conv cv = { schema, x->schema_nodes };
    struct json_object *conv = to_openapi(&cv, schema, 0);
    x->schema_nodes = cv.nodes;
    if (cv.nodes > OPENAPI_MAX_NODES) {
        json_object_put(conv);
        return sy_adapter_refuse(call, param,
                                 "the request's schemas grow "
                                 "past %u nodes when their $refs are "
                                 "inlined for this Gemini deployment",
                                 OPENAPI_MAX_NODES);
    }
    json_object_object_add(parent, openapi_name, conv);
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Request: contents                                                   */

/* The turn being assembled: consecutive messages of the same Gemini role
 * (user, model) merge into it. */
struct turns {
    struct sy_adapter_call *call;
    struct json_object *contents; /* output (owned) */
    const char *role;
    struct json_object *parts; /* parts of the open turn (owned) */
};

static void
turn_flush(struct turns *t)
{
    if (t->role == NULL)
        return;
    if (json_object_array_length(t->parts) > 0) {
        json_object_array_add(
            t->contents,
            sy_adapter_obj("role", SY_JSTR(t->role), "parts", t->parts, NULL));
    } else {
        json_object_put(t->parts);
    }
    t->role = NULL;
    t->parts = NULL;
}

static void
turn_open(struct turns *t, const char *role)
{
    if (t->role != NULL && strcmp(t->role, role) == 0)
        return;
    turn_flush(t);
    t->role = role;
    t->parts = json_object_new_array();
}

/* 'len' bytes of 'text' as a text part: by length, as the text may
 * hold NUL ("\u0000" is valid JSON). */
static void
text_part(struct turns *t, const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return; /* empty parts are rejected */
    json_object_array_add(
        t->parts,
        sy_adapter_obj("text", json_object_new_string_len(text, (int)len),
                       NULL));
}

static enum sy_err
content_parts(struct turns *t, struct json_object *content, size_t i, bool user)
{
    struct sy_adapter_call *call = t->call;
    if (content == NULL)
        return SY_OK;
    if (json_object_is_type(content, json_type_string)) {
        text_part(t, json_object_get_string(content),
                  (size_t)json_object_get_string_len(content));
        return SY_OK;
    }
    size_t n = json_object_array_length(content);
    for (size_t j = 0; j < n; j++) {
        struct json_object *part = json_object_array_get_idx(content, j);
        const char *type = sy_adapter_get_str(part, "type");
        if (strcmp(type, "text") == 0) {
            size_t tn;
            const char *text = sy_adapter_get_strn(part, "text", &tn);
            text_part(t, text, tn);
            continue;
        }
        if (!user && strcmp(type, "refusal") == 0)
            continue;
        if (!user || strcmp(type, "image_url") != 0)
            return sy_adapter_refuse(
                call, "messages",
                "messages[%zu].content[%zu]: content part "
                "type '%.40s' is not supported by Gemini deployments",
                i, j, type);
        const char *url =
            sy_adapter_get_str(sy_adapter_get(part, "image_url"), "url");
        const char *mime, *data;
        if (url == NULL || !sy_adapter_data_url(call->arena, url, &mime, &data))
            return sy_adapter_refuse(
                call, "messages",
                "messages[%zu].content[%zu]: Gemini "
                "deployments take images only as base64 data: URLs (the "
                "gateway does not download image URLs)",
                i, j);
        struct json_object *inl = sy_adapter_obj("mimeType", SY_JSTR(mime),
                                                 "data", SY_JSTR(data), NULL);
        json_object_array_add(t->parts,
                              sy_adapter_obj("inlineData", inl, NULL));
    }
    return SY_OK;
}

/* The thought signature to replay with an assistant tool call: Google's
 * extra_content field if the client kept it, else the one inside our
 * id; for the first call of a Gemini 3 turn without one, the sentinel. */
static const char *
replay_signature(struct sy_adapter_call *call, struct json_object *tc,
                 const char *id, size_t j)
{
    const char *sig = sy_adapter_get_str(
        sy_adapter_get(sy_adapter_get(tc, "extra_content"), "google"),
        "thought_signature");
    if (sig == NULL)
        sig = sy_gemini_sig_from_id(call->arena, id);
    if (sig == NULL && j == 0 &&
        strstr(call->target->model, "gemini-3") != NULL)
        sig = SKIP_SIGNATURE;
    return sig;
}

static enum sy_err
call_parts(struct turns *t, struct json_object *calls, size_t i)
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
            return sy_adapter_refuse(t->call, "messages",
                                     "messages[%zu].tool_calls[%zu] needs an "
                                     "id and a function name",
                                     i, j);
        struct json_object *ao = args == NULL || an == 0
                                     ? json_object_new_object()
                                     : sy_adapter_json_parse(args, an);
        if (!sy_adapter_is(ao, json_type_object)) {
            json_object_put(ao);
            return sy_adapter_refuse(t->call, "messages",
                                     "messages[%zu].tool_calls[%zu]."
                                     "function.arguments is not a JSON object",
                                     i, j);
        }
        struct json_object *p = sy_adapter_obj(
            "functionCall",
            sy_adapter_obj("name", SY_JSTR(name), "args", ao, NULL), NULL);
        const char *sig = replay_signature(t->call, tc, id, j);
        if (sig != NULL)
            json_object_object_add(p, "thoughtSignature",
                                   json_object_new_string(sig));
        json_object_array_add(t->parts, p);
    }
    return SY_OK;
}

/* The function name of tool call 'id' from the assistant messages
 * before message 'upto', or NULL. */
static const char *
name_of_call(struct json_object *msgs, size_t upto, const char *id)
{
    for (size_t i = upto; i-- > 0;) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        struct json_object *calls = sy_adapter_get(m, "tool_calls");
        if (!sy_adapter_is(calls, json_type_array))
            continue;
        size_t n = json_object_array_length(calls);
        for (size_t j = 0; j < n; j++) {
            struct json_object *tc = json_object_array_get_idx(calls, j);
            const char *tid = sy_adapter_get_str(tc, "id");
            if (tid != NULL && strcmp(tid, id) == 0)
                return sy_adapter_get_str(sy_adapter_get(tc, "function"),
                                          "name");
        }
    }
    return NULL;
}

/* A tool message becomes a functionResponse; its response must be an
 * object: a JSON object content is used as it is, other JSON is wrapped
 * as {"result": value}, other text as {"result": "text"}. */
static enum sy_err
response_part(struct turns *t, struct json_object *msgs, size_t i)
{
    struct json_object *m = json_object_array_get_idx(msgs, i);
    const char *id = sy_adapter_get_str(m, "tool_call_id");
    const char *name = name_of_call(msgs, i, id);
    if (name == NULL)
        return sy_adapter_refuse(t->call, "messages",
                                 "messages[%zu]: "
                                 "tool_call_id '%.64s' matches no earlier "
                                 "assistant tool call",
                                 i, id);
    bool other;
    size_t len;
    const char *text = sy_adapter_content_textn(
        t->call->arena, sy_adapter_get(m, "content"), &len, &other);
    if (other)
        return sy_adapter_refuse(t->call, "messages",
                                 "messages[%zu]: tool "
                                 "messages may only hold text for Gemini "
                                 "deployments",
                                 i);
    if (text == NULL)
        text = "";
    /* By length: the text may hold NUL ("\u0000" is valid JSON). */
    struct json_object *v = sy_adapter_json_parse(text, len);
    struct json_object *resp = v;
    if (!sy_adapter_is(v, json_type_object))
        resp = sy_adapter_obj(
            "result",
            v != NULL ? v : json_object_new_string_len(text, (int)len), NULL);
    struct json_object *fr =
        sy_adapter_obj("name", SY_JSTR(name), "response", resp, NULL);
    json_object_array_add(t->parts,
                          sy_adapter_obj("functionResponse", fr, NULL));
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
    return content_parts(ud, content, i, user);
}

static enum sy_err
walk_calls(void *ud, struct json_object *calls, size_t i)
{
    return call_parts(ud, calls, i);
}

static enum sy_err
walk_tool(void *ud, struct json_object *msgs, size_t i)
{
    return response_part(ud, msgs, i);
}

static const struct sy_turn_ops gemini_turn_ops = {
    .assistant_role = "model",
    .open = walk_open,
    .content = walk_content,
    .calls = walk_calls,
    .tool = walk_tool,
};

static enum sy_err
build_contents(struct sy_adapter_call *call, struct json_object *body)
{
    struct turns t = { .call = call, .contents = json_object_new_array() };
    struct sy_buf sys;
    sy_buf_init(&sys, SY_JSON_MAX);
    enum sy_err e = sy_adapter_walk_messages(call, &gemini_turn_ops, &t, &sys);
    turn_flush(&t);
    if (e == SY_OK && sys.len > 0) {
        struct json_object *part = sy_adapter_obj(
            "text", json_object_new_string_len(sy_buf_cstr(&sys), (int)sys.len),
            NULL);
        json_object_object_add(
            body, "systemInstruction",
            sy_adapter_obj("parts", sy_adapter_arr1(part), NULL));
    }
    sy_buf_free(&sys);
    if (e == SY_OK && json_object_array_length(t.contents) == 0)
        e = sy_adapter_refuse(call, "messages",
                              "the request has no user or "
                              "assistant message with content");
    if (e == SY_OK)
        json_object_object_add(body, "contents", t.contents);
    else
        json_object_put(t.contents);
    return e;
}

/* ------------------------------------------------------------------ */
/* Request: tools, generation config                                   */

/* A parameters schema that says nothing but "an object with no
 * properties" (Gemini wants such declarations without parameters).
 * Anything more ($ref, anyOf, patterns, ...) is kept. */
static bool
empty_object_schema(struct json_object *params)
{
    if (params == NULL)
        return true;
    if (!sy_adapter_is(params, json_type_object))
        return false;
    json_object_object_foreach(params, k, v)
    {
        if (strcmp(k, "type") == 0) {
            if (!sy_adapter_is(v, json_type_string) ||
                strcmp(json_object_get_string(v), "object") != 0)
                return false;
        } else if (strcmp(k, "properties") == 0) {
            if (!sy_adapter_is(v, json_type_object) ||
                json_object_object_length(v) != 0)
                return false;
        } else if (strcmp(k, "required") == 0) {
            if (!sy_adapter_is(v, json_type_array) ||
                json_object_array_length(v) != 0)
                return false;
        } else if (strcmp(k, "additionalProperties") != 0 &&
                   strcmp(k, "$schema") != 0 && strcmp(k, "description") != 0 &&
                   strcmp(k, "title") != 0) {
            return false;
        }
    }
    return true;
}

static enum sy_err
build_tools(struct sy_adapter_call *call, struct json_object *body,
            struct json_object *tools)
{
    struct json_object *decls = json_object_new_array();
    size_t n = json_object_array_length(tools);
    for (size_t i = 0; i < n; i++) {
        struct json_object *tl = json_object_array_get_idx(tools, i);
        const char *type = sy_adapter_get_str(tl, "type");
        struct json_object *fn = sy_adapter_get(tl, "function");
        if (strcmp(type, "function") != 0) {
            json_object_put(decls);
            return sy_adapter_refuse(call, "tools",
                                     "tools[%zu]: tool type "
                                     "'%.40s' is not supported by Gemini "
                                     "deployments",
                                     i, type);
        }
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "name",
                               json_object_get(sy_adapter_get(fn, "name")));
        struct json_object *desc = sy_adapter_get(fn, "description");
        if (desc != NULL)
            json_object_object_add(d, "description", json_object_get(desc));
        struct json_object *params = sy_adapter_get(fn, "parameters");
        json_object_array_add(decls, d);
        if (!empty_object_schema(params)) { /* no parameters: left out */
            enum sy_err e = add_schema(call, d, "parametersJsonSchema",
                                       "parameters", params, "tools");
            if (e != SY_OK) {
                json_object_put(decls);
                return e;
            }
        }
    }
    json_object_object_add(
        body, "tools",
        sy_adapter_arr1(sy_adapter_obj("functionDeclarations", decls, NULL)));

    struct json_object *tc = sy_adapter_get(call->req->root, "tool_choice");
    if (tc == NULL)
        return SY_OK;
    const char *mode = NULL, *name = NULL;
    if (json_object_is_type(tc, json_type_string)) {
        const char *s = json_object_get_string(tc);
        mode = strcmp(s, "auto") == 0       ? "AUTO"
               : strcmp(s, "none") == 0     ? "NONE"
               : strcmp(s, "required") == 0 ? "ANY"
                                            : NULL;
    } else {
        const char *type = sy_adapter_get_str(tc, "type");
        name = sy_adapter_get_str(sy_adapter_get(tc, "function"), "name");
        if (type != NULL && strcmp(type, "function") == 0 && name != NULL)
            mode = "ANY";
    }
    if (mode == NULL)
        return sy_adapter_refuse(call, "tool_choice",
                                 "tool_choice must be "
                                 "auto, none, required or {\"type\":"
                                 "\"function\",\"function\":{\"name\":...}} "
                                 "for Gemini deployments");
    struct json_object *fcc = sy_adapter_obj("mode", SY_JSTR(mode), NULL);
    if (name != NULL)
        json_object_object_add(fcc, "allowedFunctionNames",
                               sy_adapter_arr1(SY_JSTR(name)));
    json_object_object_add(body, "toolConfig",
                           sy_adapter_obj("functionCallingConfig", fcc, NULL));
    return SY_OK;
}

static enum sy_err
build_generation(struct sy_adapter_call *call, struct json_object *body)
{
    struct json_object *root = call->req->root;
    struct json_object *gc = json_object_new_object();
    static const char *const map[][2] = {
        { "temperature", "temperature" },
        { "top_p", "topP" },
        { "seed", "seed" },
        { "presence_penalty", "presencePenalty" },
        { "frequency_penalty", "frequencyPenalty" },
    };
    struct json_object *v;
    for (size_t i = 0; i < SY_ARRAY_LEN(map); i++)
        if ((v = sy_adapter_get(root, map[i][0])) != NULL)
            json_object_object_add(gc, map[i][1], json_object_get(v));
    if (call->req->max_tokens > 0)
        json_object_object_add(gc, "maxOutputTokens",
                               json_object_new_int64(call->req->max_tokens));
    if ((v = sy_adapter_get(root, "stop")) != NULL) {
        struct json_object *a = v;
        if (json_object_is_type(v, json_type_string)) {
            a = json_object_new_array();
            json_object_array_add(a, json_object_get(v));
        } else {
            json_object_get(a);
        }
        if (json_object_array_length(a) > 5) {
            json_object_put(a);
            json_object_put(gc);
            return sy_adapter_refuse(call, "stop",
                                     "Gemini accepts at most 5 "
                                     "stop sequences");
        }
        if (json_object_array_length(a) > 0)
            json_object_object_add(gc, "stopSequences", a);
        else
            json_object_put(a);
    }
    struct json_object *rf = sy_adapter_get(root, "response_format");
    const char *type = sy_adapter_get_str(rf, "type");
    if (type != NULL && strcmp(type, "text") != 0) {
        struct json_object *schema =
            sy_adapter_get(sy_adapter_get(rf, "json_schema"), "schema");
        if (strcmp(type, "json_schema") == 0 &&
            !sy_adapter_is(schema, json_type_object)) {
            json_object_put(gc);
            return sy_adapter_refuse(call, "response_format",
                                     "response_"
                                     "format.json_schema.schema must be a "
                                     "JSON schema object");
        }
        if (strcmp(type, "json_schema") != 0 &&
            strcmp(type, "json_object") != 0) {
            json_object_put(gc);
            return sy_adapter_refuse(call, "response_format",
                                     "response_"
                                     "format type '%.40s' is not supported",
                                     type);
        }
        json_object_object_add(gc, "responseMimeType",
                               json_object_new_string("application/json"));
        if (strcmp(type, "json_schema") == 0) {
            enum sy_err e =
                add_schema(call, gc, "responseJsonSchema", "responseSchema",
                           schema, "response_format");
            if (e != SY_OK) {
                json_object_put(gc);
                return e;
            }
        }
    }
    if (json_object_object_length(gc) > 0)
        json_object_object_add(body, "generationConfig", gc);
    else
        json_object_put(gc);
    return SY_OK;
}

static enum sy_err
check_unsupported(struct sy_adapter_call *call, struct json_object *root)
{
    int64_t n;
    struct json_object *v;
    if (sy_adapter_get_int(root, "n", &n) && n > 1)
        return sy_adapter_refuse(call, "n",
                                 "n > 1 is not supported by "
                                 "Gemini deployments");
    v = sy_adapter_get(root, "logprobs");
    if (sy_adapter_is(v, json_type_boolean) && json_object_get_boolean(v))
        return sy_adapter_refuse(call, "logprobs",
                                 "logprobs are not "
                                 "supported by Gemini deployments");
    v = sy_adapter_get(root, "logit_bias");
    if (sy_adapter_is(v, json_type_object) && json_object_object_length(v) > 0)
        return sy_adapter_refuse(call, "logit_bias",
                                 "logit_bias is not "
                                 "supported by Gemini deployments");
    if (sy_adapter_get(root, "audio") != NULL)
        return sy_adapter_refuse(call, "audio",
                                 "audio output is not "
                                 "supported by Gemini deployments");
    return SY_OK;
}

/* The adapter's build_request slot (see gemini_int.h). */
enum sy_err
sy_gemini_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    struct gemini_ctx *x = call->ctx;
    const struct sy_target *t = call->target;
    struct sy_arena *a = call->arena;
    struct json_object *root = call->req->root;
    const char *model = t->model;
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    out->method = "POST";
    out->url = sy_adapter_streams(call)
                   ? sy_arena_printf(a,
                                     "%s/models/%s:streamGenerateContent"
                                     "?alt=sse",
                                     t->base_url, model)
                   : sy_arena_printf(a, "%s/models/%s:generateContent",
                                     t->base_url, model);
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "x-goog-api-key: %s", call->api_key);
    sy_adapter_static_headers(call, out);

    x->schema_nodes = 0;
    struct json_object *v = sy_adapter_get(root, "parallel_tool_calls");
    x->one_call =
        sy_adapter_is(v, json_type_boolean) && !json_object_get_boolean(v);
    enum sy_err e = check_unsupported(call, root);
    if (e != SY_OK)
        return e;
    struct json_object *body = json_object_new_object();
    e = build_contents(call, body);
    struct json_object *tools = sy_adapter_get(root, "tools");
    if (e == SY_OK && tools != NULL && json_object_array_length(tools) > 0)
        e = build_tools(call, body, tools);
    if (e == SY_OK)
        e = build_generation(call, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}
