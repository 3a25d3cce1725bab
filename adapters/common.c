/*
 * common.c - what the adapters share: JSON helpers on json-c, canonical
 * chunk and completion building, deterministic ids, refusals, static
 * headers, retry hints and OpenAI-style error classification. No I/O,
 * no global mutable state.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "common.h"
#include "base/clock.h"
#include "base/json_strict.h"
#include "base/time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* JSON reading                                                        */

/* Parse 'len' bytes of JSON (leading and trailing whitespace allowed).
 * Returns a new tree the caller owns (json_object_put), or NULL when the
 * text is not exactly one JSON value. */
struct json_object *
sy_adapter_json_parse(const char *p, size_t len)
{
    unsigned depth;
    return sy_adapter_json_parse_depth(p, len, &depth);
}

struct json_object *
sy_adapter_json_parse_depth(const char *p, size_t len, unsigned *depth)
{
    *depth = 0;
    /* The core's strict parse: a provider's NaN, 'quotes' or trailing
     * commas are a broken reply, and a reply of many tiny containers
     * cannot make json-c allocate hundreds of times its size. */
    if (p == NULL || len == 0 || len > SY_JSON_MAX)
        return NULL;
    struct sy_json_limits lim = { 128, 0 };
    struct sy_json_result res;
    struct json_object *o;
    if (sy_json_parse_strict(p, len, &lim, &o, &res) != SY_JSON_OK)
        return NULL;
    *depth = res.depth;
    return o;
}

/* Member 'key' of object 'o' (borrowed), or NULL when 'o' is not an
 * object, the key is absent, or its value is JSON null. */
struct json_object *
sy_adapter_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* String member 'key' of 'o' (borrowed from 'o'), or NULL. */
const char *
sy_adapter_get_str(struct json_object *o, const char *key)
{
    struct json_object *v = sy_adapter_get(o, key);
    if (v == NULL || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The same with its length in '*len': a JSON string may hold NUL
 * ("\u0000"), so text bound for a provider is measured, never strlen'd. */
const char *
sy_adapter_get_strn(struct json_object *o, const char *key, size_t *len)
{
    struct json_object *v = sy_adapter_get(o, key);
    *len = 0;
    if (v == NULL || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* Text goes between JSON strings with json-c's length, never as C
 * strings: "\u0000" is valid JSON, and strlen would cut the text at it.
 * String member 'key' of 'o' as a JSON string (borrowed from 'o'), or
 * NULL (absent, or not a string). */
struct json_object *
sy_adapter_str_member(struct json_object *o, const char *key)
{
    struct json_object *v = sy_adapter_get(o, key);
    return sy_adapter_is(v, json_type_string) ? v : NULL;
}

/* A new JSON string of the bytes of JSON string 'v'. */
struct json_object *
sy_adapter_str_copy(struct json_object *v)
{
    return json_object_new_string_len(json_object_get_string(v),
                                      json_object_get_string_len(v));
}

/* True when 'v' is a JSON string with at least one byte. */
bool
sy_adapter_has_text(struct json_object *v)
{
    return v != NULL && json_object_get_string_len(v) > 0;
}

/* Append the bytes of JSON string 'v' to 's'. */
void
sy_adapter_buf_str(struct sy_buf *s, struct json_object *v)
{
    sy_buf_append(s, json_object_get_string(v),
                  (size_t)json_object_get_string_len(v));
}

/* Integer (or integral number) member 'key' of 'o' into 'out'. */
bool
sy_adapter_get_int(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v = sy_adapter_get(o, key);
    if (v == NULL || !(json_object_is_type(v, json_type_int) ||
                       json_object_is_type(v, json_type_double)))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

bool
sy_adapter_is(struct json_object *o, json_type t)
{
    return o != NULL && json_object_is_type(o, t);
}

/* Compact serialisation of 'o' (borrowed from 'o': valid until 'o' is
 * freed or serialised again). NULL serialises as "null". */
const char *
sy_adapter_json_text(struct json_object *o, size_t *len)
{
    size_t n = 4;
    const char *s = "null";
    if (o != NULL)
        s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (len != NULL)
        *len = n;
    return s;
}

/* Append the compact serialisation of 'o' to 'b'; SY_ETOOBIG when the
 * buffer's maximum is reached. */
enum sy_err
sy_adapter_json_write(struct sy_buf *b, struct json_object *o)
{
    size_t n;
    const char *s = sy_adapter_json_text(o, &n);
    return sy_buf_append(b, s, n) == SY_OK ? SY_OK : SY_ETOOBIG;
}

/* The "text" parts of array 'content' joined with newlines (arena
 * string, length in '*len'), NULL when there are none. Each part is
 * appended by its json-c length, so a NUL in one does not cut it. */
static const char *
join_text_parts(struct sy_arena *a, struct json_object *content, size_t *len,
                bool *has_other)
{
    /* No bound of its own: the text is shorter than the parsed request
     * it comes from (at most server.max_body_bytes), so it is never cut. */
    struct sy_buf b;
    sy_buf_init(&b, SIZE_MAX - 1);
    bool any = false;
    size_t n = json_object_array_length(content);
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(content, i);
        const char *type = sy_adapter_get_str(part, "type");
        size_t tn;
        const char *text = sy_adapter_get_strn(part, "text", &tn);
        if (type != NULL && strcmp(type, "text") == 0 && text != NULL) {
            if (any)
                sy_buf_append(&b, "\n", 1);
            sy_buf_append(&b, text, tn);
            any = true;
        } else if (has_other != NULL) {
            *has_other = true;
        }
    }
    *len = any ? b.len : 0;
    const char *r = any ? sy_arena_strndup(a, sy_buf_cstr(&b), b.len) : NULL;
    sy_buf_free(&b);
    return r;
}

/* The text of an OpenAI message 'content': the string itself, or the
 * text parts of an array joined with newlines (arena string), with its
 * length in '*len' (may be NULL): the text may hold NUL ("\u0000" is
 * valid JSON), so a caller sending it on must use the length. NULL when
 * 'content' is null or holds no text. '*has_other' (may be NULL) is set
 * when the array also holds non-text parts. */
const char *
sy_adapter_content_textn(struct sy_arena *a, struct json_object *content,
                         size_t *len, bool *has_other)
{
    size_t n = 0;
    const char *r = NULL;
    if (has_other != NULL)
        *has_other = false;
    if (sy_adapter_is(content, json_type_string)) {
        r = json_object_get_string(content);
        n = (size_t)json_object_get_string_len(content);
    } else if (sy_adapter_is(content, json_type_array)) {
        r = join_text_parts(a, content, &n, has_other);
    }
    if (len != NULL)
        *len = n;
    return r;
}

/* The same without the length, for callers that only test for text:
 * anything bound for a provider wants sy_adapter_content_textn. */
const char *
sy_adapter_content_text(struct sy_arena *a, struct json_object *content,
                        bool *has_other)
{
    return sy_adapter_content_textn(a, content, NULL, has_other);
}

/* Split a "data:<mime>;base64,<data>" URL. '*mime' is an arena string,
 * '*data' points into 'url'. False for anything else. */
bool
sy_adapter_data_url(struct sy_arena *a, const char *url, const char **mime,
                    const char **data)
{
    if (strncmp(url, "data:", 5) != 0)
        return false;
    const char *comma = strchr(url, ',');
    if (comma == NULL)
        return false;
    const char *semi = memchr(url + 5, ';', (size_t)(comma - url - 5));
    if (semi == NULL || (size_t)(comma - semi) != 7 ||
        strncmp(semi, ";base64", 7) != 0 || semi == url + 5)
        return false;
    *mime = sy_arena_strndup(a, url + 5, (size_t)(semi - url - 5));
    *data = comma + 1;
    return **data != '\0';
}

/* Whether 's' equals one of the strings of the NULL-terminated 'list'. */
bool
sy_adapter_str_in(const char *s, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* A new object from key/value pairs ending with a NULL key; takes over
 * the values. */
struct json_object *
sy_adapter_obj(const char *key, ...)
{
    struct json_object *o = json_object_new_object();
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k != NULL; k = va_arg(ap, const char *))
        json_object_object_add(o, k, va_arg(ap, struct json_object *));
    va_end(ap);
    return o;
}

/* A new array holding 'v' (taken over). */
struct json_object *
sy_adapter_arr1(struct json_object *v)
{
    struct json_object *a = json_object_new_array();
    json_object_array_add(a, v);
    return a;
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */

/* build_request cannot serve this request on this provider: report a
 * caller-safe reason through call->fail (when the core gave one) and
 * return SY_EBADREQ. 'param' names the request field, or NULL. */
enum sy_err
sy_adapter_refuse(struct sy_adapter_call *call, const char *param,
                  const char *fmt, ...)
{
    if (call->fail == NULL)
        return SY_EBADREQ;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    call->fail->err = SY_EBADREQ;
    call->fail->status = 400;
    call->fail->message = sy_arena_strdup(call->arena, msg);
    call->fail->param = param;
    return SY_EBADREQ;
}

/* Append the deployment's static headers (the provider's "headers" in
 * the config) to 'out', as many as fit; the lines come from the arena. */
void
sy_adapter_static_headers(struct sy_adapter_call *call, struct sy_http_out *out)
{
    const struct sy_target *t = call->target;
    for (size_t i = 0;
         i < t->nheaders && out->nheaders < SY_ARRAY_LEN(out->headers); i++)
        out->headers[out->nheaders++] = sy_arena_printf(
            call->arena, "%s: %s", t->headers[i].name, t->headers[i].value);
}

/* ------------------------------------------------------------------ */
/* Canonical output                                                    */

static struct json_object *
chunk_head(const char *id, int64_t created, const char *model)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "object",
                           json_object_new_string("chat.completion.chunk"));
    json_object_object_add(o, "created", json_object_new_int64(created));
    json_object_object_add(o, "model", json_object_new_string(model));
    return o;
}

/* A chat.completion.chunk with one choice; takes over 'delta' (NULL
 * gives {}); 'finish_reason' NULL gives null. */
struct json_object *
sy_adapter_chunk(const char *id, int64_t created, const char *model,
                 struct json_object *delta, const char *finish_reason)
{
    struct json_object *o = chunk_head(id, created, model);
    struct json_object *choices = json_object_new_array();
    struct json_object *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    json_object_object_add(c, "delta",
                           delta ? delta : json_object_new_object());
    json_object_object_add(c, "finish_reason",
                           finish_reason ? json_object_new_string(finish_reason)
                                         : NULL);
    json_object_array_add(choices, c);
    json_object_object_add(o, "choices", choices);
    return o;
}

/* The final usage chunk: "choices": [] and the totals. */
struct json_object *
sy_adapter_usage_chunk(const char *id, int64_t created, const char *model,
                       const struct sy_usage *u)
{
    struct json_object *o = chunk_head(id, created, model);
    json_object_object_add(o, "choices", json_object_new_array());
    json_object_object_add(o, "usage", sy_chat_usage_json(u));
    return o;
}

/* An OpenAI tool call {"id","type":"function","function":{name,
 * arguments}} (a new tree). */
struct json_object *
sy_adapter_tool_call(const char *id, const char *name, const char *arguments)
{
    struct json_object *tc = json_object_new_object();
    json_object_object_add(tc, "id", json_object_new_string(id));
    json_object_object_add(tc, "type", json_object_new_string("function"));
    struct json_object *fn = json_object_new_object();
    json_object_object_add(fn, "name", json_object_new_string(name));
    json_object_object_add(fn, "arguments", json_object_new_string(arguments));
    json_object_object_add(tc, "function", fn);
    return tc;
}

/* Serialise 'chunk', hand it to 'emit' and drop it (the tree is always
 * released). Returns what 'emit' returns. */
enum sy_err
sy_adapter_emit_json(sy_emit_fn emit, void *ud, struct json_object *chunk,
                     const struct sy_usage *usage, bool usage_only)
{
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA };
    ch.data = sy_adapter_json_text(chunk, &ch.len);
    ch.usage = usage;
    ch.usage_only = usage_only;
    enum sy_err e = emit(ud, &ch);
    json_object_put(chunk);
    return e;
}

/* The role-only chunk a translated stream opens with, flagged as such:
 * the pipeline's first token is the first chunk after it (core/api/chat.h
 * sy_chunk.opening). */
enum sy_err
sy_adapter_emit_opening(sy_emit_fn emit, void *ud, const char *id,
                        int64_t created, const char *model)
{
    struct json_object *chunk =
        sy_adapter_chunk(id, created, model,
                         sy_adapter_obj("role", SY_JSTR("assistant"), "content",
                                        SY_JSTR(""), NULL),
                         NULL);
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA, .opening = true };
    ch.data = sy_adapter_json_text(chunk, &ch.len);
    enum sy_err e = emit(ud, &ch);
    json_object_put(chunk);
    return e;
}

enum sy_err
sy_adapter_emit_done(sy_emit_fn emit, void *ud)
{
    struct sy_chunk done = { .kind = SY_CHUNK_DONE };
    return emit(ud, &done);
}

/* A chat.completion with one choice; takes over 'message'. */
struct json_object *
sy_adapter_completion(const char *id, int64_t created, const char *model,
                      struct json_object *message, const char *finish_reason,
                      const struct sy_usage *u)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "object",
                           json_object_new_string("chat.completion"));
    json_object_object_add(o, "created", json_object_new_int64(created));
    json_object_object_add(o, "model", json_object_new_string(model));
    struct json_object *choices = json_object_new_array();
    struct json_object *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    json_object_object_add(c, "message", message);
    json_object_object_add(c, "logprobs", NULL);
    json_object_object_add(c, "finish_reason",
                           json_object_new_string(finish_reason));
    json_object_array_add(choices, c);
    json_object_object_add(o, "choices", choices);
    if (u != NULL && u->present)
        json_object_object_add(o, "usage", sy_chat_usage_json(u));
    return o;
}

/* Make 'root' (taken over) the canonical response: freed by an arena
 * cleanup. */
enum sy_err
sy_adapter_set_response(struct sy_adapter_call *call, struct sy_chat_resp *resp,
                        struct json_object *root)
{
    sy_arena_on_cleanup(call->arena, sy_chat_json_free, root);
    resp->root = root;
    resp->raw = NULL;
    resp->raw_len = 0;
    return SY_OK;
}

/* A malformed provider reply: fill 'f' and return SY_EUP_PROTO.
 * 'message' must be static or an arena string. */
enum sy_err
sy_adapter_proto(struct sy_failure *f, const char *message)
{
    f->err = SY_EUP_PROTO;
    f->message = message;
    return SY_EUP_PROTO;
}

/* ------------------------------------------------------------------ */
/* Deterministic ids                                                   */

/* FNV-1a (64 bit) of 'n' bytes, continuing from 'h' (SY_FNV_INIT to
 * start). */
uint64_t
sy_adapter_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* 'n' base62 characters derived from 'h' (arena string). */
const char *
sy_adapter_base62(struct sy_arena *a, uint64_t h, size_t n)
{
    static const char digits[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char *s = sy_arena_alloc(a, n + 1);
    uint64_t x = h;
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 0 && i > 0)
            x = sy_adapter_fnv(h, &i, sizeof(i));
        s[i] = digits[x % 62];
        x /= 62;
    }
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------ */
/* Errors and retry hints                                              */

/* The value of response header 'name' (case-insensitive), or NULL when
 * absent or when the core passed no headers. */
const char *
sy_adapter_header(const struct sy_adapter_call *call, const char *name)
{
    for (size_t i = 0; i < call->nresp_headers; i++)
        if (strcasecmp(call->resp_headers[i].name, name) == 0)
            return call->resp_headers[i].value;
    return NULL;
}

#define MAX_HINT_MS 86400000.0

/* A duration such as "20ms", "1s", "1.5s", "6m0s", "1h2m3s" (OpenAI
 * reset headers, Gemini retryDelay) or a bare number of seconds, in ms;
 * 0 when it cannot be read (also "inf" and "nan", which strtod takes).
 * Capped at one day. */
uint32_t
sy_adapter_duration_ms(const char *s)
{
    double total = 0;
    bool any = false;
    while (s != NULL && *s == ' ')
        s++;
    while (s != NULL && *s != '\0') {
        char *end;
        double x = strtod(s, &end);
        if (end == s || !isfinite(x) || x < 0)
            return 0;
        s = end;
        if (strncmp(s, "ms", 2) == 0) {
            total += x;
            s += 2;
        } else if (*s == 'h') {
            total += x * 3600000.0;
            s++;
        } else if (*s == 'm') {
            total += x * 60000.0;
            s++;
        } else if (*s == 's' || *s == '\0') {
            total += x * 1000.0;
            s += *s == 's';
        } else {
            return 0;
        }
        any = true;
    }
    if (!any)
        return 0;
    return total > MAX_HINT_MS ? (uint32_t)MAX_HINT_MS : (uint32_t)total;
}

/* Seconds since the epoch for an RFC 3339 timestamp (base/time.h), or
 * -1. */
static int64_t
rfc3339(const char *s)
{
    int64_t ms;
    if (!sy_time_parse(s, strlen(s), SY_TIME_RFC3339, &ms) || ms < 0)
        return -1;
    return ms / 1000;
}

/* One reset header: OpenAI durations or Anthropic RFC 3339 times. */
static uint32_t
reset_ms(const char *v)
{
    if (v == NULL)
        return 0;
    int64_t at = strchr(v, 'T') != NULL ? rfc3339(v) : -1;
    if (at < 0)
        return sy_adapter_duration_ms(v);
    int64_t now = (int64_t)sy_wall_s();
    if (at <= now)
        return 0;
    double ms = (double)(at - now) * 1000.0;
    return ms > MAX_HINT_MS ? (uint32_t)MAX_HINT_MS : (uint32_t)ms;
}

/* Retry hint from the rate-limit reset headers (OpenAI
 * x-ratelimit-reset-*, Anthropic anthropic-ratelimit-*-reset): the
 * latest reset among the limits that are exhausted (remaining 0), or
 * among all of them when none says so. 0 when there is none (or the
 * core passed no headers). */
uint32_t
sy_adapter_reset_hint_ms(const struct sy_adapter_call *call)
{
    static const char *const limits[][2] = {
        { "x-ratelimit-reset-requests", "x-ratelimit-remaining-requests" },
        { "x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens" },
        { "anthropic-ratelimit-requests-reset",
          "anthropic-ratelimit-requests-remaining" },
        { "anthropic-ratelimit-tokens-reset",
          "anthropic-ratelimit-tokens-remaining" },
        { "anthropic-ratelimit-input-tokens-reset",
          "anthropic-ratelimit-input-tokens-remaining" },
        { "anthropic-ratelimit-output-tokens-reset",
          "anthropic-ratelimit-output-tokens-remaining" },
    };
    uint32_t exhausted = 0, any = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(limits); i++) {
        uint32_t ms = reset_ms(sy_adapter_header(call, limits[i][0]));
        const char *rem = sy_adapter_header(call, limits[i][1]);
        any = SY_MAX(any, ms);
        if (rem != NULL && strcmp(rem, "0") == 0)
            exhausted = SY_MAX(exhausted, ms);
    }
    return exhausted ? exhausted : any;
}

static const char *
str_at(struct json_object *o, const char *key, struct sy_arena *a)
{
    const char *s = sy_adapter_get_str(o, key);
    if (s == NULL)
        return NULL;
    return sy_arena_strndup(a, s, SY_MIN(strlen(s), 512u));
}

/* The provider's message of an OpenAI-style error body. Besides
 * {"error":{"message":...}} this reads Mistral's top-level
 * {"object":"error","message":...} (whose message may be an object) and
 * {"detail":...} bodies. */
static const char *
error_message(struct json_object *root, struct json_object *err,
              struct sy_arena *a)
{
    struct json_object *m = sy_adapter_get(err, "message");
    if (m == NULL && err != root)
        m = sy_adapter_get(root, "message");
    if (m == NULL)
        m = sy_adapter_get(root, "detail");
    if (m == NULL)
        return NULL;
    size_t n;
    const char *s = json_object_is_type(m, json_type_string)
                        ? json_object_get_string(m)
                        : sy_adapter_json_text(m, NULL);
    n = strlen(s);
    return n == 0 ? NULL : sy_arena_strndup(a, s, SY_MIN(n, 512u));
}

/* Classify an OpenAI-style error reply ({"error":{message,type,code,
 * param}}, also the Mistral and OpenRouter variants) by status. Auth and
 * billing failures never echo the provider's message, which may quote
 * part of our key. Rate limits take the reset headers as a retry hint
 * when the core found no Retry-After. */
void
sy_adapter_openai_error(struct sy_adapter_call *call, int status,
                        const char *body, size_t len, struct sy_failure *f)
{
    struct sy_arena *a = call->arena;
    struct json_object *root = sy_adapter_json_parse(body, len);
    struct json_object *err = sy_adapter_get(root, "error");
    if (!sy_adapter_is(err, json_type_object))
        err = sy_adapter_is(root, json_type_object) ? root : NULL;
    const char *msg = error_message(root, err, a);
    const char *code = str_at(err, "code", a);
    const char *param = str_at(err, "param", a);
    f->status = status;

    if (status == 401 || status == 403) {
        f->err = SY_EUP_AUTH;
        f->message = sy_arena_printf(a,
                                     "the provider rejected the gateway's "
                                     "API key (HTTP %d)",
                                     status);
    } else if (status == 402) {
        f->err = SY_EUP_AUTH;
        f->message = "the provider refused the gateway's account: payment "
                     "required (HTTP 402)";
    } else if (status == 429) {
        f->err = SY_EUP_RATELIMIT;
        f->message =
            sy_arena_printf(a, "rate limited by the provider (HTTP 429%s%s)",
                            code ? ", " : "", code ? code : "");
        if (f->retry_after_ms == 0)
            f->retry_after_ms = sy_adapter_reset_hint_ms(call);
    } else if (status == 408 || status == 504) {
        f->err = SY_EUP_TIMEOUT;
        f->message =
            sy_arena_printf(a, "the provider timed out (HTTP %d)", status);
    } else if (status == 404) {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a,
                                     "the provider answered 404 (%s): "
                                     "check the deployment's model and "
                                     "base_url",
                                     msg ? msg : "not found");
    } else if (status >= 400 && status < 500 && status != 409) {
        f->err = SY_EUP_BADREQ;
        f->message = msg ? msg
                         : sy_arena_printf(a,
                                           "the provider rejected the "
                                           "request (HTTP %d)",
                                           status);
        f->code = code;
        f->param = param;
    } else {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a, "provider error (HTTP %d%s%.200s)",
                                     status, msg ? ": " : "", msg ? msg : "");
    }
    json_object_put(root);
}

/* Append one system text to 'sys', after a blank line when it follows
 * another. By length, not "%s": the text may hold NUL, and the provider
 * must see all of what the caller sent. Appends are sticky, so the last
 * one's result covers both. */
static enum sy_err
append_system(struct sy_buf *sys, const char *s, size_t len)
{
    if (sys->len > 0)
        sy_buf_append(sys, "\n\n", 2);
    return sy_buf_append(sys, s, len);
}

/* Walk the request's messages for an adapter with one system slot and
 * alternating turns: system and developer messages, wherever they are,
 * are appended to 'sys' (in order, separated by a blank line; text only);
 * the others go to 'ops' in order. Unknown roles are refused. */
enum sy_err
sy_adapter_walk_messages(struct sy_adapter_call *call,
                         const struct sy_turn_ops *ops, void *ud,
                         struct sy_buf *sys)
{
    struct json_object *msgs = sy_adapter_get(call->req->root, "messages");
    enum sy_err e = SY_OK;
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *role = sy_adapter_get_str(m, "role");
        struct json_object *content = sy_adapter_get(m, "content");
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            bool other;
            size_t len;
            const char *s =
                sy_adapter_content_textn(call->arena, content, &len, &other);
            if (other)
                e = sy_adapter_refuse(call, "messages",
                                      "messages[%zu]: "
                                      "system messages may only hold text",
                                      i);
            else if (s != NULL && len > 0)
                e = append_system(sys, s, len);
        } else if (strcmp(role, "user") == 0) {
            ops->open(ud, "user");
            e = ops->content(ud, content, i, true);
        } else if (strcmp(role, "assistant") == 0) {
            ops->open(ud, ops->assistant_role);
            e = ops->content(ud, content, i, false);
            struct json_object *calls = sy_adapter_get(m, "tool_calls");
            if (e == SY_OK && sy_adapter_is(calls, json_type_array))
                e = ops->calls(ud, calls, i);
        } else if (strcmp(role, "tool") == 0) {
            ops->open(ud, "user");
            e = ops->tool(ud, msgs, i);
        } else {
            e = sy_adapter_refuse(call, "messages",
                                  "messages[%zu]: role "
                                  "'%s' is not supported; use tools",
                                  i, role);
        }
    }
    return e;
}
