/*
 * assemble.c - gather canonical stream chunks into the chat.completion a
 * non-streaming caller expects (see assemble.h for what is kept and the
 * bounds). Each chunk is parsed again with the strict parser: the
 * assembler trusts nothing about its input but the sy_chunk framing.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "assemble.h"
#include "base/buf.h"
#include "base/json_strict.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The string members of a delta that are concatenated across chunks
 * ("reasoning_content": DeepSeek, Qwen; "reasoning": OpenRouter). */
static const char *const text_keys[] = { "content", "refusal",
                                         "reasoning_content", "reasoning" };
#define NTEXT     SY_ARRAY_LEN(text_keys)
#define T_CONTENT 0

/* The arrays of a choice's "logprobs", concatenated across chunks. */
static const char *const lp_keys[] = { "content", "refusal" };
#define NLP SY_ARRAY_LEN(lp_keys)

#define SER_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct asm_call {
    bool seen;
    const char *id;   /* arena, or NULL until a delta names it */
    const char *type; /* arena, or NULL */
    const char *name; /* arena, or NULL */
    struct sy_buf args;
    struct json_object *extra; /* owned: other members, or NULL */
};

struct asm_choice {
    const char *role;   /* arena, or NULL */
    const char *finish; /* arena, or NULL */
    struct sy_buf text[NTEXT];
    bool has_text[NTEXT];   /* a delta carried the member as a string */
    struct sy_buf lp[NLP];  /* "[" then elements joined by commas */
    bool has_lp[NLP];       /* a chunk carried the array */
    bool has_logprobs;      /* a chunk carried a logprobs object */
    struct asm_call *calls; /* arena, 'ncap' slots */
    size_t ncap;
    size_t ncalls; /* highest tool call index seen + 1 */
};

struct sy_assemble {
    struct sy_arena *a;
    size_t max;   /* bound on 'bytes' */
    size_t bytes; /* kept so far */
    unsigned max_depth;
    struct asm_choice *choices[SY_CHAT_MAX_CHOICES]; /* arena, by index */
    size_t nchoices; /* highest choice index seen + 1 */
    const char *id, *model, *fingerprint, *tier; /* arena, or NULL */
    int64_t created;
    bool has_created;
    struct json_object *usage_json; /* owned: the last "usage" object */
    struct sy_usage usage;
    bool done;     /* SY_CHUNK_DONE seen */
    bool finished; /* sy_assemble_finish ran */
    bool freed;    /* buffers released */
    enum sy_err err;
    const char *message; /* arena */
};

/* ------------------------------------------------------------------ */
/* Errors and accounting                                               */

static enum sy_err SY_PRINTF(2, 3)
    fail(struct sy_assemble *as, const char *fmt, ...)
{
    if (as->err != SY_OK)
        return as->err;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    as->err = SY_EUP_PROTO;
    as->message = sy_arena_strdup(as->a, msg);
    return as->err;
}

/* Count 'n' more bytes kept; false (and the assembler failed) past the
 * bound. */
static bool
take(struct sy_assemble *as, size_t n)
{
    if (n > as->max - as->bytes) {
        fail(as,
             "the assembled reply is larger than max_response_bytes "
             "(%zu bytes)",
             as->max);
        return false;
    }
    as->bytes += n;
    return true;
}

/* Append 'n' bytes to 'b', counted. */
static bool
put(struct sy_assemble *as, struct sy_buf *b, const char *p, size_t n)
{
    if (!take(as, n))
        return false;
    if (sy_buf_append(b, p, n) != SY_OK) {
        fail(as, "the assembled reply could not be kept");
        return false;
    }
    return true;
}

/* Set '*dst' to an arena copy of 's' unless it holds that already (a
 * provider repeating a finish_reason on every chunk costs nothing). */
static bool
set_str(struct sy_assemble *as, const char **dst, const char *s, size_t n)
{
    if (*dst != NULL && strlen(*dst) == n && memcmp(*dst, s, n) == 0)
        return true;
    if (!take(as, n + 1))
        return false;
    *dst = sy_arena_strndup(as->a, s, n);
    return true;
}

/* Member 'key' of 'o', or NULL when absent or JSON null. */
static struct json_object *
member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static bool
is(struct json_object *v, json_type t)
{
    return v != NULL && json_object_is_type(v, t);
}

static void
free_cb(void *as)
{
    sy_assemble_free(as);
}

/* ------------------------------------------------------------------ */
/* State                                                               */

struct sy_assemble *
sy_assemble_new(struct sy_arena *a, size_t max_bytes, unsigned max_depth)
{
    struct sy_assemble *as = sy_arena_zalloc(a, sizeof(*as));
    as->a = a;
    /* json-c strings are int-sized: nothing kept may come near that. */
    size_t cap = (size_t)INT_MAX - 1024;
    as->max = max_bytes == 0 || max_bytes > cap ? cap : max_bytes;
    as->max_depth = max_depth;
    sy_arena_on_cleanup(a, free_cb, as);
    return as;
}

static struct asm_choice *
choice_at(struct sy_assemble *as, size_t i)
{
    if (as->choices[i] != NULL)
        return as->choices[i];
    if (!take(as, sizeof(struct asm_choice)))
        return NULL;
    struct asm_choice *c = sy_arena_zalloc(as->a, sizeof(*c));
    for (size_t k = 0; k < NTEXT; k++)
        sy_buf_init(&c->text[k], as->max);
    for (size_t k = 0; k < NLP; k++)
        sy_buf_init(&c->lp[k], as->max + 2);
    as->choices[i] = c;
    as->nchoices = SY_MAX(as->nchoices, i + 1);
    return c;
}

/* The tool call slot 'i' of choice 'c' (the slots grow on demand, in the
 * arena, each counted). */
static struct asm_call *
call_at(struct sy_assemble *as, struct asm_choice *c, size_t i)
{
    if (i >= c->ncap) {
        size_t n = SY_MIN(SY_MAX(i + 1, c->ncap * 2), SY_ASSEMBLE_MAX_CALLS);
        if (!take(as, (n - c->ncap) * sizeof(struct asm_call)))
            return NULL;
        struct asm_call *calls = sy_arena_zalloc(as->a, n * sizeof(*calls));
        if (c->ncap > 0)
            memcpy(calls, c->calls, c->ncap * sizeof(*calls));
        for (size_t k = c->ncap; k < n; k++)
            sy_buf_init(&calls[k].args, as->max);
        c->calls = calls;
        c->ncap = n;
    }
    c->calls[i].seen = true;
    c->ncalls = SY_MAX(c->ncalls, i + 1);
    return &c->calls[i];
}

void
sy_assemble_free(struct sy_assemble *as)
{
    if (as == NULL || as->freed)
        return;
    as->freed = true;
    for (size_t i = 0; i < as->nchoices; i++) {
        struct asm_choice *c = as->choices[i];
        if (c == NULL)
            continue;
        for (size_t k = 0; k < NTEXT; k++)
            sy_buf_free(&c->text[k]);
        for (size_t k = 0; k < NLP; k++)
            sy_buf_free(&c->lp[k]);
        for (size_t k = 0; k < c->ncap; k++) {
            sy_buf_free(&c->calls[k].args);
            json_object_put(c->calls[k].extra);
            c->calls[k].extra = NULL;
        }
    }
    json_object_put(as->usage_json);
    as->usage_json = NULL;
}

/* ------------------------------------------------------------------ */
/* One chunk                                                           */

/* A string member set once: the first non-empty value wins. */
static enum sy_err
first_str(struct sy_assemble *as, const char **dst, struct json_object *v,
          const char *what)
{
    if (v == NULL)
        return SY_OK;
    if (!is(v, json_type_string))
        return fail(as, "a stream chunk's %s is not a string", what);
    size_t n = (size_t)json_object_get_string_len(v);
    if (*dst != NULL || n == 0)
        return SY_OK;
    return set_str(as, dst, json_object_get_string(v), n) ? SY_OK : as->err;
}

/* Keep a copy of member 'key' = 'v' of a tool call delta, unless one is
 * kept already (Gemini's "extra_content" comes once, whole). */
static enum sy_err
keep_extra(struct sy_assemble *as, struct asm_call *call, const char *key,
           struct json_object *v)
{
    if (call->extra == NULL)
        call->extra = json_object_new_object();
    else if (json_object_object_get_ex(call->extra, key, NULL))
        return SY_OK;
    size_t n = 0;
    json_object_to_json_string_length(v, SER_FLAGS, &n);
    /* Counted twice: json-c keeps the text it just wrote with the tree. */
    if (!take(as, 2 * n + strlen(key) + 4))
        return as->err;
    json_object_object_add(call->extra, key, json_object_get(v));
    return SY_OK;
}

/* The slot a tool call delta without "index" belongs to: a new call when
 * it names a new id, else the last call. */
static int64_t
implicit_index(const struct asm_choice *c, struct json_object *tc)
{
    struct json_object *id = member(tc, "id");
    if (c->ncalls == 0)
        return 0;
    const char *last = c->calls[c->ncalls - 1].id;
    if (is(id, json_type_string) && json_object_get_string_len(id) > 0 &&
        (last == NULL || strcmp(last, json_object_get_string(id)) != 0))
        return (int64_t)c->ncalls;
    return (int64_t)c->ncalls - 1;
}

static enum sy_err
take_call(struct sy_assemble *as, struct asm_choice *c, struct json_object *tc)
{
    if (!is(tc, json_type_object))
        return fail(as, "a tool call delta is not an object");
    struct json_object *v = member(tc, "index");
    int64_t i;
    if (v == NULL)
        i = implicit_index(c, tc);
    else if (!is(v, json_type_int))
        return fail(as, "a tool call's index is not an integer");
    else
        i = json_object_get_int64(v);
    if (i < 0 || i >= SY_ASSEMBLE_MAX_CALLS)
        return fail(as,
                    "tool call index %lld is out of range (at most %d "
                    "calls a choice)",
                    (long long)i, SY_ASSEMBLE_MAX_CALLS);
    struct asm_call *call = call_at(as, c, (size_t)i);
    if (call == NULL)
        return as->err;
    enum sy_err e = SY_OK;
    json_object_object_foreach(tc, key, val)
    {
        if (e != SY_OK)
            break;
        if (strcmp(key, "index") == 0)
            continue;
        if (strcmp(key, "id") == 0) {
            e = first_str(as, &call->id, val, "tool call id");
        } else if (strcmp(key, "type") == 0) {
            e = first_str(as, &call->type, val, "tool call type");
        } else if (strcmp(key, "function") == 0) {
            if (val == NULL)
                continue;
            if (!is(val, json_type_object))
                return fail(as, "a tool call's function is not an object");
            e = first_str(as, &call->name, member(val, "name"),
                          "function name");
            struct json_object *args = member(val, "arguments");
            if (e == SY_OK && args != NULL && !is(args, json_type_string))
                e = fail(as, "a tool call's arguments are not a string");
            else if (e == SY_OK && args != NULL &&
                     !put(as, &call->args, json_object_get_string(args),
                          (size_t)json_object_get_string_len(args)))
                e = as->err;
        } else if (val != NULL) {
            e = keep_extra(as, call, key, val);
        }
    }
    return e;
}

/* Append the elements of logprobs array 'arr' to 'b'. */
static enum sy_err
take_lp_array(struct sy_assemble *as, struct sy_buf *b, struct json_object *arr)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(arr, SER_FLAGS, &n);
    if (s == NULL || n < 2)
        return fail(as, "the logprobs could not be kept");
    if (n == 2)
        return SY_OK; /* [] */
    const char *sep = b->len == 0 ? "[" : ",";
    if (!put(as, b, sep, 1) || !put(as, b, s + 1, n - 2))
        return as->err;
    return SY_OK;
}

static enum sy_err
take_logprobs(struct sy_assemble *as, struct asm_choice *c,
              struct json_object *lp)
{
    if (!is(lp, json_type_object))
        return fail(as, "a choice's logprobs is not an object");
    c->has_logprobs = true;
    for (size_t k = 0; k < NLP; k++) {
        struct json_object *arr = member(lp, lp_keys[k]);
        if (arr == NULL)
            continue;
        if (!is(arr, json_type_array))
            return fail(as, "logprobs.%s is not an array", lp_keys[k]);
        c->has_lp[k] = true;
        enum sy_err e = take_lp_array(as, &c->lp[k], arr);
        if (e != SY_OK)
            return e;
    }
    return SY_OK;
}

static enum sy_err
take_delta(struct sy_assemble *as, struct asm_choice *c, struct json_object *d)
{
    if (!is(d, json_type_object))
        return fail(as, "a choice's delta is not an object");
    enum sy_err e = first_str(as, &c->role, member(d, "role"), "role");
    for (size_t k = 0; k < NTEXT && e == SY_OK; k++) {
        struct json_object *v = member(d, text_keys[k]);
        if (v == NULL)
            continue;
        if (!is(v, json_type_string))
            return fail(as, "delta.%s is not a string", text_keys[k]);
        c->has_text[k] = true;
        if (!put(as, &c->text[k], json_object_get_string(v),
                 (size_t)json_object_get_string_len(v)))
            return as->err;
    }
    struct json_object *calls = member(d, "tool_calls");
    if (e != SY_OK || calls == NULL)
        return e;
    if (!is(calls, json_type_array))
        return fail(as, "delta.tool_calls is not an array");
    size_t n = json_object_array_length(calls);
    for (size_t i = 0; i < n && e == SY_OK; i++)
        e = take_call(as, c, json_object_array_get_idx(calls, i));
    return e;
}

static enum sy_err
take_choice(struct sy_assemble *as, struct json_object *ch)
{
    if (!is(ch, json_type_object))
        return fail(as, "a choice is not an object");
    struct json_object *v = member(ch, "index");
    int64_t i = 0;
    if (v != NULL && !is(v, json_type_int))
        return fail(as, "a choice's index is not an integer");
    if (v != NULL)
        i = json_object_get_int64(v);
    if (i < 0 || i >= SY_CHAT_MAX_CHOICES)
        return fail(as, "choice index %lld is out of range (at most %d)",
                    (long long)i, SY_CHAT_MAX_CHOICES);
    struct asm_choice *c = choice_at(as, (size_t)i);
    if (c == NULL)
        return as->err;
    enum sy_err e = SY_OK;
    if ((v = member(ch, "delta")) != NULL)
        e = take_delta(as, c, v);
    if (e == SY_OK && (v = member(ch, "logprobs")) != NULL)
        e = take_logprobs(as, c, v);
    if (e != SY_OK || (v = member(ch, "finish_reason")) == NULL)
        return e;
    if (!is(v, json_type_string))
        return fail(as, "a choice's finish_reason is not a string");
    return set_str(as, &c->finish, json_object_get_string(v),
                   (size_t)json_object_get_string_len(v))
               ? SY_OK
               : as->err;
}

/* The stream's own members, from the first chunk that has each. */
static enum sy_err
take_head(struct sy_assemble *as, struct json_object *o)
{
    static const char *const keys[] = { "id", "model", "system_fingerprint",
                                        "service_tier" };
    const char **dst[] = { &as->id, &as->model, &as->fingerprint, &as->tier };
    for (size_t k = 0; k < SY_ARRAY_LEN(keys); k++) {
        struct json_object *v = member(o, keys[k]);
        if (*dst[k] == NULL && is(v, json_type_string) &&
            !set_str(as, dst[k], json_object_get_string(v),
                     (size_t)json_object_get_string_len(v)))
            return as->err;
    }
    struct json_object *v = member(o, "created");
    if (!as->has_created && is(v, json_type_int)) {
        as->created = json_object_get_int64(v);
        as->has_created = true;
    }
    return SY_OK;
}

static enum sy_err
take_usage(struct sy_assemble *as, struct json_object *o,
           const struct sy_usage *read)
{
    struct json_object *u = member(o, "usage");
    if (u != NULL) {
        if (!is(u, json_type_object))
            return fail(as, "a stream chunk's usage is not an object");
        size_t n = 0;
        json_object_to_json_string_length(u, SER_FLAGS, &n);
        if (!take(as, n))
            return as->err;
        json_object_put(as->usage_json);
        as->usage_json = json_object_get(u);
        if (read == NULL)
            sy_chat_usage_from_json(u, &as->usage);
    }
    if (read != NULL)
        as->usage = *read;
    return SY_OK;
}

static enum sy_err
take_data(struct sy_assemble *as, const struct sy_chunk *ch)
{
    if (ch->data == NULL || ch->len == 0)
        return fail(as, "an empty stream chunk");
    struct sy_json_limits lim = { as->max_depth, 0 };
    struct sy_json_result res;
    struct json_object *o = NULL;
    if (ch->tree != NULL && ch->tree_depth <= sy_json_depth_limit(&lim)) {
        /* The emitter's parse of the same text, within our depth (its
         * other limits are the parser's defaults, as here). */
        o = json_object_get(ch->tree);
    } else if (sy_json_parse_strict(ch->data, ch->len, &lim, &o, &res) !=
               SY_JSON_OK) {
        char why[200];
        sy_json_describe(&res, "a stream chunk", false, why, sizeof(why));
        return fail(as, "%s", why);
    }
    enum sy_err e = SY_OK;
    struct json_object *cs = member(o, "choices");
    if (!is(o, json_type_object))
        e = fail(as, "a stream chunk is not a JSON object");
    else if (cs != NULL && !is(cs, json_type_array))
        e = fail(as, "a stream chunk's choices is not an array");
    if (e == SY_OK)
        e = take_head(as, o);
    if (e == SY_OK)
        e = take_usage(as, o, ch->usage);
    size_t n = cs != NULL && e == SY_OK ? json_object_array_length(cs) : 0;
    for (size_t i = 0; i < n && e == SY_OK; i++)
        e = take_choice(as, json_object_array_get_idx(cs, i));
    json_object_put(o);
    return e;
}

enum sy_err
sy_assemble_chunk(struct sy_assemble *as, const struct sy_chunk *ch)
{
    if (as->err != SY_OK)
        return as->err;
    if (as->finished || as->freed)
        return fail(as, "a stream chunk after the reply was assembled");
    if (ch->kind == SY_CHUNK_DONE) {
        as->done = true;
        return SY_OK;
    }
    if (as->done)
        return fail(as, "a stream chunk after the end of the stream");
    return take_data(as, ch);
}

enum sy_err
sy_assemble_emit(void *ud, const struct sy_chunk *ch)
{
    return sy_assemble_chunk(ud, ch);
}

const char *
sy_assemble_message(const struct sy_assemble *as)
{
    return as->message;
}

bool
sy_assemble_done(const struct sy_assemble *as)
{
    return as->done;
}

size_t
sy_assemble_bytes(const struct sy_assemble *as)
{
    return as->bytes;
}

/* ------------------------------------------------------------------ */
/* The chat.completion                                                 */

static struct json_object *
jstr(const struct sy_buf *b)
{
    return json_object_new_string_len(b->data ? b->data : "", (int)b->len);
}

static struct json_object *
call_json(struct asm_call *call)
{
    struct json_object *tc = json_object_new_object();
    json_object_object_add(tc, "id",
                           json_object_new_string(call->id ? call->id : ""));
    json_object_object_add(
        tc, "type",
        json_object_new_string(call->type ? call->type : "function"));
    struct json_object *fn = json_object_new_object();
    json_object_object_add(
        fn, "name", json_object_new_string(call->name ? call->name : ""));
    json_object_object_add(fn, "arguments", jstr(&call->args));
    json_object_object_add(tc, "function", fn);
    if (call->extra != NULL) {
        json_object_object_foreach(call->extra, key, val)
            json_object_object_add(tc, key, json_object_get(val));
    }
    return tc;
}

/* The choice's logprobs object (NULL: JSON null), or an error. */
static enum sy_err
logprobs_json(struct sy_assemble *as, struct asm_choice *c,
              struct json_object **out)
{
    *out = NULL;
    if (!c->has_logprobs)
        return SY_OK;
    struct json_object *lp = json_object_new_object();
    for (size_t k = 0; k < NLP; k++) {
        struct json_object *arr = NULL;
        struct sy_buf *b = &c->lp[k];
        if (b->len > 0) {
            struct sy_json_limits lim = { as->max_depth, 0 };
            struct sy_json_result res;
            if (sy_buf_append(b, "]", 1) != SY_OK ||
                sy_json_parse_strict(b->data, b->len, &lim, &arr, &res) !=
                    SY_JSON_OK) {
                json_object_put(lp);
                return fail(as, "the logprobs could not be assembled");
            }
        } else if (c->has_lp[k]) {
            arr = json_object_new_array(); /* only empty arrays came */
        }
        json_object_object_add(lp, lp_keys[k], arr);
    }
    *out = lp;
    return SY_OK;
}

static struct json_object *
message_json(struct asm_choice *c)
{
    struct json_object *m = json_object_new_object();
    json_object_object_add(
        m, "role", json_object_new_string(c->role ? c->role : "assistant"));
    bool calls = false;
    for (size_t k = 0; k < c->ncalls; k++)
        calls = calls || c->calls[k].seen;
    /* As a non-streamed reply has it: no text beside tool calls is null. */
    bool content =
        c->has_text[T_CONTENT] && !(calls && c->text[T_CONTENT].len == 0);
    json_object_object_add(m, "content",
                           content ? jstr(&c->text[T_CONTENT]) : NULL);
    for (size_t k = 1; k < NTEXT; k++)
        if (c->has_text[k])
            json_object_object_add(m, text_keys[k], jstr(&c->text[k]));
    if (calls) {
        struct json_object *arr = json_object_new_array();
        for (size_t k = 0; k < c->ncalls; k++)
            if (c->calls[k].seen)
                json_object_array_add(arr, call_json(&c->calls[k]));
        json_object_object_add(m, "tool_calls", arr);
    }
    return m;
}

static enum sy_err
choices_json(struct sy_assemble *as, struct json_object *arr)
{
    for (size_t i = 0; i < as->nchoices; i++) {
        struct asm_choice *c = as->choices[i];
        if (c == NULL)
            continue;
        struct json_object *lp;
        enum sy_err e = logprobs_json(as, c, &lp);
        if (e != SY_OK)
            return e;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "index", json_object_new_int((int)i));
        json_object_object_add(o, "message", message_json(c));
        json_object_object_add(o, "logprobs", lp);
        json_object_object_add(o, "finish_reason",
                               c->finish ? json_object_new_string(c->finish)
                                         : NULL);
        json_object_array_add(arr, o);
    }
    return SY_OK;
}

static struct json_object *
str_or_empty(const char *s)
{
    return json_object_new_string(s ? s : "");
}

enum sy_err
sy_assemble_finish(struct sy_assemble *as, struct sy_chat_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (as->err != SY_OK)
        return as->err;
    if (as->finished || as->freed)
        return fail(as, "the reply was assembled already");
    if (!as->done)
        return fail(as, "the stream ended before its end marker");
    if (as->nchoices == 0)
        return fail(as, "the stream carried no choices");
    struct json_object *root = json_object_new_object();
    sy_arena_on_cleanup(as->a, sy_chat_json_free, root);
    json_object_object_add(root, "id", str_or_empty(as->id));
    json_object_object_add(root, "object",
                           json_object_new_string("chat.completion"));
    json_object_object_add(root, "created", json_object_new_int64(as->created));
    json_object_object_add(root, "model", str_or_empty(as->model));
    struct json_object *arr = json_object_new_array();
    json_object_object_add(root, "choices", arr);
    enum sy_err e = choices_json(as, arr);
    if (e != SY_OK)
        return e;
    if (as->usage_json != NULL) {
        json_object_object_add(root, "usage", as->usage_json);
        as->usage_json = NULL;
    } else if (as->usage.present) {
        json_object_object_add(root, "usage", sy_chat_usage_json(&as->usage));
    }
    if (as->tier != NULL)
        json_object_object_add(root, "service_tier",
                               json_object_new_string(as->tier));
    if (as->fingerprint != NULL)
        json_object_object_add(root, "system_fingerprint",
                               json_object_new_string(as->fingerprint));
    as->finished = true;
    resp->root = root;
    resp->usage = as->usage;
    resp->upstream_model = as->model;
    for (size_t i = 0; i < as->nchoices; i++)
        if (as->choices[i] != NULL) {
            resp->finish_reason = as->choices[i]->finish;
            break;
        }
    sy_assemble_free(as);
    return SY_OK;
}
