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
#include "base/sy.h"
#include "chat.h"
#include "caps.h"
#include "contract/contract.h"
#include "base/json_strict.h"
#include "contract/jsonschema.h"

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
#define T_NUM  ((1u << json_type_double) | (1u << json_type_int))
#define T_INT  (1u << json_type_int)
#define T_OBJ  (1u << json_type_object)
#define T_ARR  (1u << json_type_array)
#define T_STR  (1u << json_type_string)

static const struct {
    const char *name;
    unsigned types;
    const char *what;
} field_types[] = {
    { "model", T_STR, "a string" },
    { "messages", T_ARR, "an array" },
    { "stream", T_BOOL | T_NULL, "a boolean" },
    { "stream_options", T_OBJ | T_NULL, "an object" },
    { "temperature", T_NUM | T_NULL, "a number" },
    { "top_p", T_NUM | T_NULL, "a number" },
    { "presence_penalty", T_NUM | T_NULL, "a number" },
    { "frequency_penalty", T_NUM | T_NULL, "a number" },
    { "max_tokens", T_INT | T_NULL, "an integer" },
    { "max_completion_tokens", T_INT | T_NULL, "an integer" },
    { "n", T_INT | T_NULL, "an integer" },
    { "seed", T_INT | T_NULL, "an integer" },
    { "top_logprobs", T_INT | T_NULL, "an integer" },
    { "logprobs", T_BOOL | T_NULL, "a boolean" },
    { "stop", T_STR | T_ARR | T_NULL, "a string or an array of strings" },
    { "tools", T_ARR | T_NULL, "an array" },
    { "tool_choice", T_STR | T_OBJ | T_NULL, "a string or an object" },
    { "parallel_tool_calls", T_BOOL | T_NULL, "a boolean" },
    { "response_format", T_OBJ | T_NULL, "an object" },
    { "user", T_STR | T_NULL, "a string" },
    { "logit_bias", T_OBJ | T_NULL, "an object" },
    { "metadata", T_OBJ | T_NULL, "an object" },
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
    static const char *const roles[] = { "system",    "developer", "user",
                                         "assistant", "tool",      "function" };
    for (size_t i = 0; i < SY_ARRAY_LEN(roles); i++)
        if (strcmp(r, roles[i]) == 0)
            return true;
    return false;
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
            "user, assistant, tool",
            i, r);
        return SY_EBADREQ;
    }
    bool has_content = json_object_object_get_ex(m, "content", &content);
    json_type ct = has_content ? json_object_get_type(content) : json_type_null;
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
            "content parts",
            i);
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
                bad(err, sy_arena_printf(a, "messages[%zu].content[%zu]", i, j),
                    "messages[%zu].content[%zu] must be an object with a "
                    "string 'type'",
                    i, j);
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
                "'tool'",
                i);
            return SY_EBADREQ;
        }
    }
    return SY_OK;
}

/* Compile a caller's schema once, at parse time (jsonschema.h): an
 * unsupported keyword or pattern is a 400 naming 'param' and the JSON
 * pointer inside the schema, before any provider is called. */
static struct sy_schema *
compile_schema(const struct json_object *schema, struct sy_arena *a,
               const char *param, struct sy_chat_req *out,
               struct sy_chat_error *err)
{
    char why[200];
    struct sy_schema *cs = sy_schema_compile(schema, why, sizeof(why));
    if (cs == NULL) {
        bad(err, param, "'%s' cannot be enforced: %s", param, why);
        return NULL;
    }
    sy_arena_on_cleanup(a, sy_schema_free_cb, cs);
    /* One schema's bounds hold per schema; these hold for the request,
     * so many tools cannot add up to seconds of compiling. */
    out->npatterns += sy_schema_npatterns(cs);
    out->pattern_bytes += sy_schema_pattern_bytes(cs);
    if (out->npatterns > SY_JSONSCHEMA_MAX_PATTERNS ||
        out->pattern_bytes > SY_JSONSCHEMA_PATTERN_BYTES) {
        bad(err, param,
            "the request's schemas hold more than %u patterns "
            "or %u KiB of compiled patterns in all",
            SY_JSONSCHEMA_MAX_PATTERNS, SY_JSONSCHEMA_PATTERN_BYTES >> 10);
        return NULL;
    }
    return cs;
}

static enum sy_err
check_tools(struct json_object *tools, struct sy_arena *a,
            struct sy_chat_req *out, struct sy_chat_error *err)
{
    size_t n = json_object_array_length(tools);
    if (n > SY_CHAT_MAX_TOOLS) {
        bad(err, "tools", "at most %d tools may be given; %zu were",
            SY_CHAT_MAX_TOOLS, n);
        return SY_EBADREQ;
    }
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
            !sy_json_whole_string(name) ||
            json_object_get_string_len(name) == 0) {
            /* A NUL would cut the name the output check looks up, while
             * the provider gets it whole. */
            bad(err, sy_arena_printf(a, "tools[%zu].function.name", i),
                "tools[%zu].function.name must be a non-empty string "
                "without NUL",
                i);
            return SY_EBADREQ;
        }
        struct json_object *params;
        struct sy_tool_schema *ts;
        if (out->tool_schemas == NULL)
            out->tool_schemas = sy_arena_zalloc(a, n * sizeof(*ts));
        ts = &out->tool_schemas[out->ntool_schemas++];
        ts->name = json_object_get_string(name);
        if (json_object_object_get_ex(fn, "parameters", &params) &&
            params != NULL) {
            ts->params = compile_schema(
                params, a,
                sy_arena_printf(a, "tools[%zu].function.parameters", i), out,
                err);
            if (ts->params == NULL)
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
    /* json-c saturates integers beyond int64 to INT64_MIN/MAX (and keeps
     * those above INT64_MAX as uint64): both land outside every bound. */
    *out = json_object_get_int64(v);
    return true;
}

/* Bounds on every number a caller sends that the gateway reads or that
 * changes what a provider bills; checked before any arithmetic, so the
 * token and cost sums downstream (budgets, TPM windows, quotas) stay far
 * from overflow. Doubles are finite already (the strict parse). */
static const struct {
    const char *name;
    int64_t min, max;
} int_bounds[] = {
    { "max_tokens", 1, SY_CHAT_MAX_TOKENS },
    { "max_completion_tokens", 1, SY_CHAT_MAX_TOKENS },
    { "n", 1, SY_CHAT_MAX_CHOICES },
    { "top_logprobs", 0, 20 },
};
static const struct {
    const char *name;
    double min, max;
} num_bounds[] = {
    { "temperature", 0, 2 },
    { "top_p", 0, 1 },
    { "presence_penalty", -2, 2 },
    { "frequency_penalty", -2, 2 },
};

static enum sy_err
check_ranges(struct json_object *root, struct sy_chat_error *err)
{
    int64_t x;
    for (size_t i = 0; i < SY_ARRAY_LEN(int_bounds); i++) {
        if (!get_int(root, int_bounds[i].name, &x) ||
            (x >= int_bounds[i].min && x <= int_bounds[i].max))
            continue;
        if (int_bounds[i].max == SY_CHAT_MAX_TOKENS)
            bad(err, int_bounds[i].name,
                "'%s' must be at least 1 and at "
                "most %lld",
                int_bounds[i].name, (long long)SY_CHAT_MAX_TOKENS);
        else
            bad(err, int_bounds[i].name,
                "'%s' must be between %lld and "
                "%lld",
                int_bounds[i].name, (long long)int_bounds[i].min,
                (long long)int_bounds[i].max);
        return SY_EBADREQ;
    }
    /* Both output caps, unequal: the gateway reserves and checks one,
     * and a provider may honour the other (DeepSeek and others know only
     * max_tokens), so a budget would hold 5 tokens for an answer of
     * 9,000,000. Equal, they are one cap (clients that send both). */
    int64_t mt, mct;
    if (get_int(root, "max_tokens", &mt) &&
        get_int(root, "max_completion_tokens", &mct) && mt != mct) {
        bad(err, "max_tokens",
            "'max_tokens' (%lld) and 'max_completion_tokens' (%lld) "
            "differ: send one of them (max_tokens is the older name of "
            "max_completion_tokens)",
            (long long)mt, (long long)mct);
        return SY_EBADREQ;
    }
    struct json_object *v;
    for (size_t i = 0; i < SY_ARRAY_LEN(num_bounds); i++) {
        if (!json_object_object_get_ex(root, num_bounds[i].name, &v) ||
            v == NULL)
            continue;
        double t = json_object_get_double(v);
        if (t < num_bounds[i].min || t > num_bounds[i].max) {
            bad(err, num_bounds[i].name, "'%s' must be between %g and %g",
                num_bounds[i].name, num_bounds[i].min, num_bounds[i].max);
            return SY_EBADREQ;
        }
    }
    if (json_object_object_get_ex(root, "stop", &v) &&
        json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            if (!json_object_is_type(json_object_array_get_idx(v, i),
                                     json_type_string)) {
                bad(err, "stop",
                    "'stop' must be a string or an array of "
                    "strings");
                return SY_EBADREQ;
            }
    }
    return SY_OK;
}

/* The strict parse of the body into '*root': RFC 8259 only (no NaN,
 * "1.", raw tabs), nesting and the tree's memory bounded before json-c
 * allocates it. The tree is handed to the arena's cleanups as soon as it
 * exists, so every later refusal frees it with the request. */
enum sy_err
sy_chat_body_parse(const char *body, size_t len, unsigned max_depth,
                   struct sy_arena *a, struct json_object **root,
                   struct sy_chat_error *err)
{
    if (len == 0) {
        bad(err, NULL, "the request body is empty; send a JSON object");
        return SY_EBADREQ;
    }
    if (len > INT_MAX) {
        bad(err, NULL, "the request body is too large");
        return SY_ETOOBIG;
    }
    struct sy_json_limits lim = { max_depth, 0 };
    struct sy_json_result res;
    /* Counted before json-c allocates: about 1 KB a value whatever its
     * text, so a body of tiny parts would cost 40 times its size in
     * each tree the request builds (limits.h). */
    if (sy_json_parse_bounded(body, len, &lim, SY_REQUEST_MAX_JSON_VALUES, root,
                              &res) != SY_JSON_OK) {
        char why[256];
        sy_json_describe(&res, "the request body", false, why, sizeof(why));
        bad(err, NULL, "%s", why);
        /* Too costly a tree, or too many values: the body's size. */
        return res.status == SY_JSON_COMPLEX || res.status == SY_JSON_VALUES
                   ? SY_ETOOBIG
                   : SY_EBADREQ;
    }
    if (*root == NULL) {
        bad(err, NULL, "the request body must be a JSON object, not null");
        return SY_EBADREQ;
    }
    sy_arena_on_cleanup(a, sy_chat_json_free, *root);
    if (!json_object_is_type(*root, json_type_object)) {
        bad(err, NULL, "the request body must be a JSON object");
        return SY_EBADREQ;
    }
    return SY_OK;
}

/* "model" and "messages": the two required parameters, and each message
 * checked in order so the error names the first bad index. */
static enum sy_err
check_model_messages(struct json_object *root, struct sy_arena *a,
                     struct sy_chat_req *out, struct sy_chat_error *err)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "model", &v) ||
        json_object_get_string_len(v) == 0) {
        bad(err, "model", "you must provide a model parameter");
        return SY_EBADREQ;
    }
    if (!sy_json_whole_string(v)) {
        /* Routed, allowed and logged by its name as a C string. */
        bad(err, "model", "'model' must be a string without NUL");
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
        enum sy_err e =
            check_message(json_object_array_get_idx(v, i), i, a, err);
        if (e != SY_OK)
            return e;
    }
    return SY_OK;
}

/* "tools", after refusing the deprecated "functions" form: that form
 * would carry schemas past the up-front compile and the contract checks,
 * so it is refused whatever the provider. */
static enum sy_err
check_tool_params(struct json_object *root, struct sy_arena *a,
                  struct sy_chat_req *out, struct sy_chat_error *err)
{
    struct json_object *v;
    if (json_object_object_get_ex(root, "functions", NULL) ||
        json_object_object_get_ex(root, "function_call", NULL)) {
        bad(err, "functions",
            "the deprecated 'functions' and "
            "'function_call' are not supported; use 'tools' and "
            "'tool_choice'");
        return SY_EBADREQ;
    }
    if (json_object_object_get_ex(root, "tools", &v) && v != NULL)
        return check_tools(v, a, out, err);
    return SY_OK;
}

/* "stream" and "stream_options": the options only make sense on a
 * stream, so they are refused otherwise rather than silently ignored. */
static enum sy_err
read_stream(struct json_object *root, struct sy_chat_req *out,
            struct sy_chat_error *err)
{
    struct json_object *v, *so, *iu;
    out->stream = json_object_object_get_ex(root, "stream", &v) &&
                  json_object_get_boolean(v);
    if (!json_object_object_get_ex(root, "stream_options", &so) || so == NULL)
        return SY_OK;
    if (!out->stream) {
        bad(err, "stream_options",
            "'stream_options' is only allowed "
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
    return SY_OK;
}

/* response_format "json_schema": the schema is compiled here, up front,
 * so a bad schema is the client's 400 and not a failure mid-answer. */
static enum sy_err
read_json_schema_format(struct json_object *rf, struct sy_arena *a,
                        struct sy_chat_req *out, struct sy_chat_error *err)
{
    struct json_object *js, *sc;
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
    if (sc != NULL) {
        out->response_compiled = compile_schema(
            sc, a, "response_format.json_schema.schema", out, err);
        if (out->response_compiled == NULL)
            return SY_EBADREQ;
    }
    return SY_OK;
}

/* "response_format": text (the default), json_object or json_schema. A
 * missing or non-string type is left to the provider, as before. */
static enum sy_err
read_response_format(struct json_object *root, struct sy_arena *a,
                     struct sy_chat_req *out, struct sy_chat_error *err)
{
    struct json_object *rf, *rt;
    if (!json_object_object_get_ex(root, "response_format", &rf) ||
        !json_object_object_get_ex(rf, "type", &rt) ||
        !json_object_is_type(rt, json_type_string))
        return SY_OK;
    const char *t = json_object_get_string(rt);
    if (strcmp(t, "json_object") == 0) {
        out->response_format = SY_FORMAT_JSON_OBJECT;
        return SY_OK;
    }
    if (strcmp(t, "json_schema") == 0)
        return read_json_schema_format(rf, a, out, err);
    if (strcmp(t, "text") != 0) {
        bad(err, "response_format.type",
            "'response_format.type' must "
            "be text, json_object or json_schema");
        return SY_EBADREQ;
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
    struct json_object *root;
    enum sy_err e = sy_chat_body_parse(body, len, max_depth, a, &root, err);
    if (e != SY_OK)
        return e;
    return sy_chat_req_from_tree(root, a, out, err);
}

enum sy_err
sy_chat_req_from_tree(struct json_object *root, struct sy_arena *a,
                      struct sy_chat_req *out, struct sy_chat_error *err)
{
    struct sy_native_req native = out->native;
    memset(out, 0, sizeof(*out));
    out->native = native;
    out->max_tokens = -1;
    err->param = NULL;
    err->message[0] = '\0';
    /* The order of the checks decides which error a body with several
     * faults gets back: types first, then the required parameters. */
    enum sy_err e = check_types(root, err);
    if (e == SY_OK)
        e = check_model_messages(root, a, out, err);
    if (e == SY_OK)
        e = check_tool_params(root, a, out, err);
    if (e == SY_OK)
        e = check_ranges(root, err);
    if (e != SY_OK)
        return e;

    out->root = root;
    out->rx_budget = sy_arena_zalloc(a, sizeof(*out->rx_budget));
    e = read_stream(root, out, err);
    if (e != SY_OK)
        return e;
    int64_t mt;
    if (get_int(root, "max_completion_tokens", &mt) ||
        get_int(root, "max_tokens", &mt))
        out->max_tokens = mt;
    return read_response_format(root, a, out, err);
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
    /* A provider's number: bounded so sums of a few cannot overflow
     * (sy_usage_bound then brings them to what is possible). */
    int64_t x = json_object_get_int64(v);
    return x < 0 ? 0 : SY_MIN(x, INT64_MAX / 8);
}

/* Arena cleanup that drops a json-c reference ('obj' may be NULL). */
void
sy_chat_json_free(void *obj)
{
    json_object_put(obj);
}

/* Keep a provider's token counts within what the deployment can have
 * produced: never negative; the prompt at most its context window plus
 * its output limit (SY_CHAT_MAX_TOKENS when they are unknown); the
 * completion and reasoning, when the provider was sent a max_tokens
 * ('sent_max'), at most the output limit (SY_OUTPUT_TOKENS_UNKNOWN when
 * unknown) or what was sent if larger, else (the provider answers up
 * to the model's own limit, which a configured one may understate) the
 * bound above, for each of the n choices; cached within the prompt,
 * one-hour cache writes within the writes and reasoning within the
 * completion. A count of 2^63 would otherwise charge a key millions of
 * dollars. True when anything had to change (worth a warning: the
 * provider's report was impossible). */
bool
sy_usage_bound(struct sy_usage *u, const struct sy_caps *caps, uint32_t choices,
               int64_t sent_max)
{
    int64_t lim = SY_CHAT_MAX_TOKENS;
    if (caps != NULL && caps->context_window > 0 &&
        caps->context_window < (uint64_t)SY_CHAT_MAX_TOKENS)
        lim = (int64_t)caps->context_window +
              (int64_t)SY_MIN(caps->max_output_tokens,
                              (uint64_t)SY_CHAT_MAX_TOKENS);
    int64_t olim = lim;
    if (sent_max > 0) {
        /* The deployment's output limit (SY_OUTPUT_TOKENS_UNKNOWN when it
         * is not known), or what the provider was asked if larger:
         * whether thinking counts within max_tokens varies. */
        uint64_t dl = caps != NULL && caps->max_output_tokens > 0
                          ? caps->max_output_tokens
                          : SY_OUTPUT_TOKENS_UNKNOWN;
        olim = SY_MAX(SY_MIN(sent_max, (int64_t)SY_CHAT_MAX_TOKENS),
                      (int64_t)SY_MIN(dl, (uint64_t)SY_CHAT_MAX_TOKENS));
    }
    /* n choices produce up to n answers: completion counts scale. */
    int64_t out_lim = olim * (int64_t)SY_MIN(SY_MAX(choices, 1u),
                                             (uint32_t)SY_CHAT_MAX_CHOICES);
    struct sy_usage in = *u;
    int64_t *f[] = { &u->prompt_tokens, &u->completion_tokens,
                     &u->cached_tokens, &u->reasoning_tokens };
    for (size_t i = 0; i < SY_ARRAY_LEN(f); i++)
        *f[i] = *f[i] < 0 ? 0 : SY_MIN(*f[i], i % 2 ? out_lim : lim);
    u->cached_tokens = SY_MIN(u->cached_tokens, u->prompt_tokens);
    /* Cache reads and writes are both parts of the prompt. */
    u->cache_write_tokens = u->cache_write_tokens < 0
                                ? 0
                                : SY_MIN(u->cache_write_tokens,
                                         u->prompt_tokens - u->cached_tokens);
    u->cache_write_1h_tokens =
        SY_MIN(SY_MAX(u->cache_write_1h_tokens, 0), u->cache_write_tokens);
    u->reasoning_tokens = SY_MIN(u->reasoning_tokens, u->completion_tokens);
    u->total_tokens = u->prompt_tokens + u->completion_tokens;
    return in.prompt_tokens != u->prompt_tokens ||
           in.completion_tokens != u->completion_tokens ||
           in.cached_tokens != u->cached_tokens ||
           in.cache_write_tokens != u->cache_write_tokens ||
           in.cache_write_1h_tokens != u->cache_write_1h_tokens ||
           in.reasoning_tokens != u->reasoning_tokens;
}

/* Read an OpenAI-shaped "usage" object into 'u' (absent fields are 0). */
void
sy_chat_usage_from_json(const struct json_object *usage, struct sy_usage *u)
{
    memset(u, 0, sizeof(*u));
    if (usage == NULL || !json_object_is_type(usage, json_type_object))
        return;
    struct json_object *d;
    /* A count that is there but no number (a string, an object): the
     * report is unusable, as none at all (no usage chunk), and the
     * attempt is charged an estimate (serve/pipeline_attempt.c): its
     * numeric parts alone would bill part of the answer (a prompt of
     * "5000" and a completion of 20 billed 20). */
    static const char *const counts[] = { "prompt_tokens", "completion_tokens",
                                          "total_tokens" };
    for (size_t i = 0; i < SY_ARRAY_LEN(counts); i++)
        if (json_object_object_get_ex(usage, counts[i], &d) && d != NULL &&
            !json_object_is_type(d, json_type_int) &&
            !json_object_is_type(d, json_type_double))
            return;
    u->present = true;
    u->prompt_tokens = int_at(usage, "prompt_tokens");
    u->completion_tokens = int_at(usage, "completion_tokens");
    u->total_tokens = int_at(usage, "total_tokens");
    if (u->total_tokens == 0 &&
        __builtin_add_overflow(u->prompt_tokens, u->completion_tokens,
                               &u->total_tokens))
        u->total_tokens = INT64_MAX; /* both are >= 0: saturate */
    if (json_object_object_get_ex(usage, "prompt_tokens_details", &d))
        u->cached_tokens = int_at(d, "cached_tokens");
    if (json_object_object_get_ex(usage, "completion_tokens_details", &d))
        u->reasoning_tokens = int_at(d, "reasoning_tokens");
}

/* OpenAI "usage" object for 'u' (a new tree the caller owns). */
struct json_object *
sy_chat_usage_json(const struct sy_usage *u)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "prompt_tokens",
                           json_object_new_int64(u->prompt_tokens));
    json_object_object_add(o, "completion_tokens",
                           json_object_new_int64(u->completion_tokens));
    json_object_object_add(o, "total_tokens",
                           json_object_new_int64(u->total_tokens));
    struct json_object *pd = json_object_new_object();
    json_object_object_add(pd, "cached_tokens",
                           json_object_new_int64(u->cached_tokens));
    json_object_object_add(o, "prompt_tokens_details", pd);
    struct json_object *cd = json_object_new_object();
    json_object_object_add(cd, "reasoning_tokens",
                           json_object_new_int64(u->reasoning_tokens));
    json_object_object_add(o, "completion_tokens_details", cd);
    return o;
}
