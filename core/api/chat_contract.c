/*
 * chat_contract.c - output contracts of a chat completion: check a whole
 * reply, or a stream gathered event by event, against what the request
 * asked for (response_format, tool parameters); rewrite a buffered
 * stream's answer into one event. Parsing and schemas live in contract.c
 * and jsonschema*.c; this file knows the chat shapes.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "chat.h"
#include "base/json_strict.h"
#include "contract/contract.h"
#include "contract/jsonschema.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The parameters schema of the tool called 'name' in the request, or
 * NULL (no such tool, or no schema: anything goes). */
static const struct json_object *
tool_parameters(struct json_object *root, const char *name)
{
    struct json_object *tools, *fn, *n, *params;
    if (!json_object_object_get_ex(root, "tools", &tools) ||
        !json_object_is_type(tools, json_type_array))
        return NULL;
    size_t len = json_object_array_length(tools);
    for (size_t i = 0; i < len; i++) {
        struct json_object *t = json_object_array_get_idx(tools, i);
        if (json_object_object_get_ex(t, "function", &fn) &&
            json_object_object_get_ex(fn, "name", &n) &&
            json_object_is_type(n, json_type_string) &&
            strcmp(json_object_get_string(n), name) == 0 &&
            json_object_object_get_ex(fn, "parameters", &params))
            return params;
    }
    return NULL;
}

/* Check one tool call's arguments against its tool's parameters: the
 * schema compiled at parse time; a request not built by
 * sy_chat_req_parse (no compiled schemas) compiles the tree per call. */
static bool
check_call(const struct sy_chat_req *req, const char *name, const char *args,
           size_t len, unsigned max_depth, char *err, size_t errlen)
{
    if (req->tool_schemas == NULL)
        return sy_contract_check_tool_args(args, len,
                                           tool_parameters(req->root, name),
                                           max_depth, err, errlen);
    const struct sy_schema *cs = NULL;
    for (size_t i = 0; i < req->ntool_schemas; i++)
        if (strcmp(req->tool_schemas[i].name, name) == 0) {
            cs = req->tool_schemas[i].params;
            break;
        }
    return sy_contract_check_tool_args_cs(args, len, cs, req->rx_budget,
                                          max_depth, err, errlen);
}

/* The answer's text against response_format (schema compiled at parse
 * time, or per call as in check_call). */
static bool
check_content(const struct sy_chat_req *req, const char *text, size_t len,
              unsigned max_depth, struct sy_arena *a, char *err, size_t errlen,
              bool *unfenced)
{
    if (req->response_schema != NULL && req->response_compiled == NULL)
        return sy_contract_check_json(text, len, req->response_schema,
                                      max_depth, a, err, errlen, unfenced);
    return sy_contract_check_json_cs(text, len, req->response_compiled,
                                     req->rx_budget, max_depth, a, err, errlen,
                                     unfenced);
}

bool
sy_chat_contract_overspent(const struct sy_chat_req *req)
{
    return req->rx_budget != NULL && req->rx_budget->spent;
}

/* Whether a finish reason says the answer may have been cut short: by
 * the token limit ("length", which every deployment would cut at too)
 * or by the provider's filter ("content_filter"). A cut answer's last
 * part may stop anywhere: the caller reads the finish reason, as from
 * the provider itself, and a part that stopped inside is not held
 * against the format (stopped_inside). Failing over would bill another
 * answer cut at the same limit (a coding agent writing a large file in
 * one tool call) and then fail the request. */
static bool
finish_cut(const char *finish)
{
    return finish != NULL && (strcmp(finish, "length") == 0 ||
                              strcmp(finish, "content_filter") == 0);
}

/* Did the answer stop inside 'text'? Only when it is the beginning of
 * a JSON object, array or string that a cut ended (json-c's tokener
 * asks for more: json_tokener_continue), after an opening markdown
 * fence if there is one, or nothing at all. Whole JSON was not cut, nor
 * was text that is no JSON (prose, trailing garbage): both are checked
 * as any other answer, else the finish reason alone would let a
 * provider pass what its caller's schema refuses. */
static bool
stopped_inside(const char *text, size_t len)
{
    const char *inner;
    size_t inner_len;
    if (sy_contract_unfence(text, len, &inner, &inner_len))
        return false; /* a whole fence: whole text */
    if (len >= 3 && memcmp(text, "```", 3) == 0) {
        const char *nl = memchr(text, '\n', len);
        len = nl != NULL ? len - (size_t)(nl + 1 - text) : 0;
        text = nl != NULL ? nl + 1 : text + 3;
    }
    while (len > 0 &&
           (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')) {
        text++;
        len--;
    }
    if (len == 0)
        return true; /* cut before anything */
    if ((*text != '{' && *text != '[' && *text != '"') || len > INT_MAX)
        return false;
    struct json_tokener *tok = json_tokener_new_ex(1001); /* > max_json_depth */
    if (tok == NULL)
        return false;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    bool cut =
        o == NULL && json_tokener_get_error(tok) == json_tokener_continue;
    json_object_put(o);
    json_tokener_free(tok);
    return cut;
}

/* Check reply 'resp' against the output contract of 'req': with
 * response_format json_object / json_schema, the first choice's content
 * must be JSON (a markdown fence around it is removed, and the reply
 * rewritten) matching the schema; every tool call's arguments must be
 * JSON matching its tool's parameters. A refusal (message.refusal) or a
 * reply cut inside its last tool call's arguments (finish_cut), or
 * inside its text by the token limit, is not held against the format. Returns true when the
 * contract holds; else a short message in 'err'. */
bool
sy_chat_resp_contract(const struct sy_chat_req *req, struct sy_chat_resp *resp,
                      unsigned max_depth, struct sy_arena *a, char *err,
                      size_t errlen)
{
    struct json_object *choices, *c0, *msg, *v;
    if (resp->root == NULL ||
        !json_object_object_get_ex(resp->root, "choices", &choices) ||
        !json_object_is_type(choices, json_type_array) ||
        json_object_array_length(choices) == 0)
        return true;
    c0 = json_object_array_get_idx(choices, 0);
    if (!json_object_object_get_ex(c0, "message", &msg))
        return true;
    const char *finish = json_object_object_get_ex(c0, "finish_reason", &v) &&
                                 json_object_is_type(v, json_type_string)
                             ? json_object_get_string(v)
                             : NULL;
    bool cut = finish_cut(finish);
    bool limit = cut && strcmp(finish, "length") == 0;
    struct json_object *calls;
    if (json_object_object_get_ex(msg, "tool_calls", &calls) &&
        json_object_is_type(calls, json_type_array)) {
        size_t n = json_object_array_length(calls);
        for (size_t i = 0; i < n; i++) {
            struct json_object *call = json_object_array_get_idx(calls, i);
            struct json_object *fn, *name, *args;
            if (!json_object_object_get_ex(call, "function", &fn) ||
                !json_object_object_get_ex(fn, "name", &name) ||
                !json_object_object_get_ex(fn, "arguments", &args))
                continue;
            const char *an = json_object_get_string(name);
            const char *as = json_object_get_string(args);
            if (cut && i + 1 == n &&
                stopped_inside(as ? as : "", as ? strlen(as) : 0))
                continue; /* the last call is where the answer was cut */
            char why[200];
            if (!check_call(req, an ? an : "", as ? as : "",
                            as ? strlen(as) : 0, max_depth, why, sizeof(why))) {
                snprintf(err, errlen, "tool call %.60s: %s", an ? an : "?",
                         why);
                return false;
            }
        }
    }
    if (req->response_format == SY_FORMAT_TEXT)
        return true;
    if (json_object_object_get_ex(msg, "refusal", &v) &&
        json_object_is_type(v, json_type_string))
        return true;
    if (json_object_object_get_ex(msg, "tool_calls", &v) && v != NULL)
        return true; /* the model called a tool instead of answering */
    if (!json_object_object_get_ex(msg, "content", &v) ||
        !json_object_is_type(v, json_type_string)) {
        if (limit)
            return true; /* cut before any text */
        snprintf(err, errlen,
                 "a JSON answer was asked for, the reply has "
                 "no content");
        return false;
    }
    const char *text = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (limit && stopped_inside(text, len))
        return true; /* cut by the token limit: every deployment would */
    bool unfenced = false;
    if (!check_content(req, text, len, max_depth, a, err, errlen, &unfenced))
        return false;
    if (unfenced) {
        /* Safe normalisation only: the fence is removed, nothing else. */
        const char *inner;
        size_t inner_len;
        if (sy_contract_unfence(text, len, &inner, &inner_len)) {
            json_object_object_add(
                msg, "content",
                json_object_new_string_len(inner, (int)inner_len));
            resp->raw = NULL;
            resp->raw_len = 0;
        }
    }
    return true;
}

void
sy_stream_answer_init(struct sy_stream_answer *s)
{
    memset(s, 0, sizeof(*s));
    sy_buf_init(&s->content, SY_STREAM_TEXT_MAX);
    for (unsigned i = 0; i < SY_STREAM_MAX_CALLS; i++)
        sy_buf_init(&s->args[i], SY_STREAM_ARGS_MAX);
}

void
sy_stream_answer_clear(struct sy_stream_answer *s)
{
    sy_buf_clear(&s->content);
    for (unsigned i = 0; i < SY_STREAM_MAX_CALLS; i++)
        sy_buf_clear(&s->args[i]);
    memset(s->names, 0, sizeof(s->names));
    s->ncalls = 0;
    s->truncated = false;
    s->filtered = false;
    s->overflowed = false;
}

/* Gather at most 'max' bytes of text (a deployment's max_response_bytes:
 * a longer stream fails anyway) and of each call's arguments. Call on an
 * empty (cleared) answer. */
void
sy_stream_answer_limit(struct sy_stream_answer *s, size_t max)
{
    s->content.max = max;
    for (unsigned i = 0; i < SY_STREAM_MAX_CALLS; i++)
        s->args[i].max = SY_MIN(max, (size_t)SY_STREAM_ARGS_MAX);
}

/* Append a piece of the answer. After the first piece that does not fit
 * nothing more is gathered: the check must not see text with holes in
 * it, different from what the caller received. */
static void
gather(struct sy_stream_answer *s, struct sy_buf *b, const char *p, size_t n)
{
    if (!s->overflowed && sy_buf_append(b, p, n) != SY_OK)
        s->overflowed = true;
}

void
sy_stream_answer_free(struct sy_stream_answer *s)
{
    sy_buf_free(&s->content);
    for (unsigned i = 0; i < SY_STREAM_MAX_CALLS; i++)
        sy_buf_free(&s->args[i]);
}

static void
gather_calls(struct json_object *calls, struct sy_stream_answer *s)
{
    size_t n = json_object_array_length(calls);
    for (size_t i = 0; i < n; i++) {
        struct json_object *tc = json_object_array_get_idx(calls, i), *v;
        struct json_object *fn;
        int64_t idx = (int64_t)i;
        if (json_object_object_get_ex(tc, "index", &v) &&
            json_object_is_type(v, json_type_int))
            idx = json_object_get_int64(v);
        if (idx < 0 || idx >= SY_STREAM_MAX_CALLS)
            continue;
        if ((unsigned)idx + 1 > s->ncalls)
            s->ncalls = (unsigned)idx + 1;
        if (!json_object_object_get_ex(tc, "function", &fn))
            continue;
        if (json_object_object_get_ex(fn, "name", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(s->names[idx], sizeof(s->names[idx]), "%s",
                     json_object_get_string(v));
        if (json_object_object_get_ex(fn, "arguments", &v) &&
            json_object_is_type(v, json_type_string))
            gather(s, &s->args[idx], json_object_get_string(v),
                   (size_t)json_object_get_string_len(v));
    }
}

/* A chunk of a stream as a tree, or NULL when it is not one JSON value:
 * the strict parse of base/json_strict.h, as for every byte from
 * outside. Put it with json_object_put(). */
static struct json_object *
parse_chunk(const char *json, size_t len)
{
    const struct sy_json_limits lim = { .max_depth = 64 };
    struct sy_json_result res;
    struct json_object *o = NULL;
    if (sy_json_parse_strict(json, len, &lim, &o, &res) != SY_JSON_OK)
        return NULL;
    return o;
}

/* Gather what a chat.completion.chunk adds to the answer (first choice:
 * text, tool call fragments, a finish that cut it). Returns true when
 * the chunk carried text content. */
bool
sy_chat_chunk_gather(const char *json, size_t len, struct sy_stream_answer *s)
{
    if (len == 0 || len > INT_MAX)
        return false;
    struct json_object *o = parse_chunk(json, len);
    struct json_object *choices, *delta, *v;
    bool had_text = false;
    if (o != NULL && json_object_object_get_ex(o, "choices", &choices) &&
        json_object_is_type(choices, json_type_array) &&
        json_object_array_length(choices) > 0) {
        struct json_object *c0 = json_object_array_get_idx(choices, 0);
        if (json_object_object_get_ex(c0, "delta", &delta)) {
            if (json_object_object_get_ex(delta, "content", &v) &&
                json_object_is_type(v, json_type_string) &&
                json_object_get_string_len(v) > 0) {
                gather(s, &s->content, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
                had_text = true;
            }
            if (json_object_object_get_ex(delta, "tool_calls", &v) &&
                json_object_is_type(v, json_type_array))
                gather_calls(v, s);
        }
        if (json_object_object_get_ex(c0, "finish_reason", &v) &&
            json_object_is_type(v, json_type_string)) {
            const char *fr = json_object_get_string(v);
            s->truncated = strcmp(fr, "length") == 0;
            s->filtered = strcmp(fr, "content_filter") == 0;
        }
    }
    json_object_put(o);
    return had_text;
}

/* Check a whole streamed answer against the request's contract: tool
 * arguments against their tool's parameters (but for the last call of a
 * cut answer that stopped inside it, finish_cut); for JSON formats, the
 * text (unless the model called tools instead, or the token limit cut
 * it). '*fenced' says the text was JSON inside a markdown fence. */
bool
sy_chat_stream_contract(const struct sy_chat_req *req,
                        const struct sy_stream_answer *s, unsigned max_depth,
                        struct sy_arena *a, char *err, size_t errlen,
                        bool *fenced)
{
    *fenced = false;
    if (s->overflowed) {
        snprintf(err, errlen,
                 "the answer is larger than the %zu bytes "
                 "gathered for the check",
                 s->content.max);
        return false;
    }
    bool cut = s->truncated || s->filtered;
    for (unsigned i = 0; i < s->ncalls; i++) {
        if (cut && i + 1 == s->ncalls &&
            stopped_inside(sy_buf_cstr(&s->args[i]), s->args[i].len))
            continue; /* the last call is where the answer was cut */
        char why[200];
        if (!check_call(req, s->names[i], sy_buf_cstr(&s->args[i]),
                        s->args[i].len, max_depth, why, sizeof(why))) {
            snprintf(err, errlen, "tool call %.60s: %s", s->names[i], why);
            return false;
        }
    }
    if (req->response_format == SY_FORMAT_TEXT || s->ncalls > 0 ||
        (s->truncated &&
         stopped_inside(sy_buf_cstr(&s->content), s->content.len)))
        return true;
    return check_content(req, sy_buf_cstr(&s->content), s->content.len,
                         max_depth, a, err, errlen, fenced);
}

/* Append to 'out' a copy of chunk 'chunk' whose first choice's delta
 * has "content": content (set or replaced; a missing delta is made):
 * used to send a buffered, unfenced answer as one event, and for text
 * rewritten as it streams. */
enum sy_err
sy_chat_chunk_with_content(const char *chunk, size_t len, const char *content,
                           size_t clen, struct sy_buf *out)
{
    if (len == 0 || len > INT_MAX || clen > INT_MAX)
        return SY_EUP_PROTO;
    struct json_object *o = parse_chunk(chunk, len);
    struct json_object *choices;
    enum sy_err e = SY_EUP_PROTO;
    if (o != NULL && json_object_object_get_ex(o, "choices", &choices) &&
        json_object_is_type(choices, json_type_array) &&
        json_object_array_length(choices) > 0) {
        struct json_object *c0 = json_object_array_get_idx(choices, 0);
        struct json_object *delta;
        /* Other delta members (the first event's "role") stay. */
        if (!json_object_object_get_ex(c0, "delta", &delta) ||
            !json_object_is_type(delta, json_type_object)) {
            delta = json_object_new_object();
            json_object_object_add(c0, "delta", delta);
        }
        json_object_object_add(delta, "content",
                               json_object_new_string_len(content, (int)clen));
        size_t n;
        const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        e = sy_buf_append(out, s, n);
    }
    json_object_put(o);
    return e;
}
