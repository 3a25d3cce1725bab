/*
 * mock_fault.c - fault specs of the mock LLM provider: parse and check a
 * JSON spec, merge a per-request spec over a deployment's, share specs by
 * reference count, and draw the delay a spec asks for.
 * Which deployment has which spec is kept in mock_state.c; what a spec
 * does to a response is decided in mock_app.c.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

enum fault_kind {
    FAULT_LONG, /* integer within [min, max] */
    FAULT_BOOL,
    FAULT_STRING,
    FAULT_RATE,  /* number within [0, 1] */
    FAULT_DIST,  /* {"p50_ms", "p99_ms"} */
    FAULT_USAGE, /* {"prompt_tokens", ...} */
    FAULT_CACHE  /* {"min_tokens", "entries", "ttl_ms"} */
};

/*
 * The keys of a fault spec. Columns: JSON name, bit in "has", kind, offset
 * of the field in struct sy_mock_fault (first field for DIST and USAGE),
 * and the allowed range of FAULT_LONG values.
 */
static const struct fault_key {
    const char *name;
    unsigned bit;
    enum fault_kind kind;
    size_t offset;
    long min;
    long max;
} fault_keys[] = {
    { "delay_ms", SY_MOCK_F_DELAY_MS, FAULT_LONG,
      offsetof(struct sy_mock_fault, delay_ms), 0, SY_MOCK_MAX_DELAY_MS },
    { "delay_jitter_ms", SY_MOCK_F_DELAY_JITTER_MS, FAULT_LONG,
      offsetof(struct sy_mock_fault, delay_jitter_ms), 0,
      SY_MOCK_MAX_DELAY_MS },
    { "delay_dist", SY_MOCK_F_DELAY_DIST, FAULT_DIST,
      offsetof(struct sy_mock_fault, p50_ms), 0, 0 },
    { "status", SY_MOCK_F_STATUS, FAULT_LONG,
      offsetof(struct sy_mock_fault, status), 200, 599 },
    { "retry_after", SY_MOCK_F_RETRY_AFTER, FAULT_LONG,
      offsetof(struct sy_mock_fault, retry_after), 0, 86400 },
    { "error_body", SY_MOCK_F_ERROR_BODY, FAULT_STRING,
      offsetof(struct sy_mock_fault, error_body), 0, 0 },
    { "reset", SY_MOCK_F_RESET, FAULT_BOOL,
      offsetof(struct sy_mock_fault, reset), 0, 0 },
    { "stall", SY_MOCK_F_STALL, FAULT_BOOL,
      offsetof(struct sy_mock_fault, stall), 0, 0 },
    { "stall_ms", SY_MOCK_F_STALL_MS, FAULT_LONG,
      offsetof(struct sy_mock_fault, stall_ms), 0, SY_MOCK_MAX_DELAY_MS },
    { "head_stall_ms", SY_MOCK_F_HEAD_STALL_MS, FAULT_LONG,
      offsetof(struct sy_mock_fault, head_stall_ms), 0, SY_MOCK_MAX_DELAY_MS },
    { "stream_stall_after", SY_MOCK_F_STREAM_STALL_AFTER, FAULT_LONG,
      offsetof(struct sy_mock_fault, stream_stall_after), 0, 1000000 },
    { "stream_drop_after", SY_MOCK_F_STREAM_DROP_AFTER, FAULT_LONG,
      offsetof(struct sy_mock_fault, stream_drop_after), 0, 1000000 },
    { "malformed", SY_MOCK_F_MALFORMED, FAULT_BOOL,
      offsetof(struct sy_mock_fault, malformed), 0, 0 },
    { "fenced", SY_MOCK_F_FENCED, FAULT_BOOL,
      offsetof(struct sy_mock_fault, fenced), 0, 0 },
    { "content", SY_MOCK_F_CONTENT, FAULT_STRING,
      offsetof(struct sy_mock_fault, content), 0, 0 },
    { "chunks", SY_MOCK_F_CHUNKS, FAULT_LONG,
      offsetof(struct sy_mock_fault, chunks), 1, SY_MOCK_MAX_PIECES },
    { "chunk_delay_ms", SY_MOCK_F_CHUNK_DELAY_MS, FAULT_LONG,
      offsetof(struct sy_mock_fault, chunk_delay_ms), 0, SY_MOCK_MAX_DELAY_MS },
    { "usage", SY_MOCK_F_USAGE, FAULT_USAGE,
      offsetof(struct sy_mock_fault, prompt_tokens), 0, 0 },
    { "tool_arguments", SY_MOCK_F_TOOL_ARGUMENTS, FAULT_STRING,
      offsetof(struct sy_mock_fault, tool_arguments), 0, 0 },
    { "content_type", SY_MOCK_F_CONTENT_TYPE, FAULT_STRING,
      offsetof(struct sy_mock_fault, content_type), 0, 0 },
    { "body_bytes", SY_MOCK_F_BODY_BYTES, FAULT_LONG,
      offsetof(struct sy_mock_fault, body_bytes), 0, SY_MOCK_MAX_BODY_BYTES },
    { "rate", SY_MOCK_F_RATE, FAULT_RATE, offsetof(struct sy_mock_fault, rate),
      0, 0 },
    { "count", SY_MOCK_F_COUNT, FAULT_LONG,
      offsetof(struct sy_mock_fault, count), 0, 1000000000L },
    { "stream_error", SY_MOCK_F_STREAM_ERROR, FAULT_BOOL,
      offsetof(struct sy_mock_fault, stream_error), 0, 0 },
    { "parallel_calls", SY_MOCK_F_PARALLEL_CALLS, FAULT_LONG,
      offsetof(struct sy_mock_fault, parallel_calls), 1, SY_MOCK_MAX_CALLS },
    { "only_key", SY_MOCK_F_ONLY_KEY, FAULT_STRING,
      offsetof(struct sy_mock_fault, only_key), 0, 0 },
    { "no_usage", SY_MOCK_F_NO_USAGE, FAULT_BOOL,
      offsetof(struct sy_mock_fault, no_usage), 0, 0 },
    { "tag", SY_MOCK_F_TAG, FAULT_STRING, offsetof(struct sy_mock_fault, tag),
      0, 0 },
    { "tool_name", SY_MOCK_F_TOOL_NAME, FAULT_STRING,
      offsetof(struct sy_mock_fault, tool_name), 0, 0 },
    { "chunk_delay_dist", SY_MOCK_F_CHUNK_DELAY_DIST, FAULT_DIST,
      offsetof(struct sy_mock_fault, tok_p50_ms), 0, 0 },
    { "prompt_cache", SY_MOCK_F_PROMPT_CACHE, FAULT_CACHE,
      offsetof(struct sy_mock_fault, cache_min_tokens), 0, 0 },
};

#define FAULT_NKEYS (sizeof(fault_keys) / sizeof(fault_keys[0]))

/* The usage sub-keys, in the order of "fields" in fault_parse_usage. */
static const char *const fault_usage_keys[] = {
    "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
    "cache_creation_tokens"
};

#define FAULT_NUSAGE (sizeof(fault_usage_keys) / sizeof(fault_usage_keys[0]))

/* Read an integral JSON number into "*out"; false when not one. */
static bool
fault_get_long(struct json_object *v, long min, long max, long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);

        if (i < min || i > max) {
            return false;
        }
        *out = (long)i;
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);

        if (d != floor(d) || d < (double)min || d > (double)max) {
            return false;
        }
        *out = (long)d;
        return true;
    }
    return false;
}

/* Read a JSON number into "*out". */
static bool
fault_get_double(struct json_object *v, double *out)
{
    if (!json_object_is_type(v, json_type_int) &&
        !json_object_is_type(v, json_type_double)) {
        return false;
    }
    *out = json_object_get_double(v);
    return isfinite(*out);
}

/* Parse {"p50_ms", "p99_ms"} of key "name" into "q" (p50, then p99);
 * message in "err" on failure. */
static bool
fault_parse_dist(const char *name, struct json_object *v, double q[2],
                 char *err, size_t err_len)
{
    struct json_object *p50;
    struct json_object *p99;

    if (!json_object_is_type(v, json_type_object) ||
        !json_object_object_get_ex(v, "p50_ms", &p50) ||
        !json_object_object_get_ex(v, "p99_ms", &p99) ||
        !fault_get_double(p50, &q[0]) || !fault_get_double(p99, &q[1]) ||
        q[0] <= 0 || q[1] < q[0] || q[1] > (double)SY_MOCK_MAX_DELAY_MS) {
        snprintf(err, err_len,
                 "%s needs numbers p50_ms > 0 and "
                 "p99_ms >= p50_ms",
                 name);
        return false;
    }
    return true;
}

/* Parse the prompt_cache object into "f" (defaults: prefixes of 1024
 * tokens or more, 4096 of them, forgotten after 5 minutes unused, as
 * OpenAI's automatic caching); message in "err" on failure. */
static bool
fault_parse_cache(struct json_object *v, struct sy_mock_fault *f, char *err,
                  size_t err_len)
{
    static const char *const names[] = { "min_tokens", "entries", "ttl_ms" };
    static const long max[] = { 100000000L, 65536, 86400000L };
    long *fields[3];
    struct json_object *x;
    size_t i;

    fields[0] = &f->cache_min_tokens;
    fields[1] = &f->cache_entries;
    fields[2] = &f->cache_ttl_ms;
    f->cache_min_tokens = 1024;
    f->cache_entries = 4096;
    f->cache_ttl_ms = 300000;
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(err, err_len, "prompt_cache must be an object");
        return false;
    }
    if (json_object_object_length(v) > 3) {
        snprintf(err, err_len,
                 "prompt_cache takes min_tokens, entries, ttl_ms");
        return false;
    }
    for (i = 0; i < 3; i++) {
        if (json_object_object_get_ex(v, names[i], &x) &&
            !fault_get_long(x, i == 1 ? 1 : 0, max[i], fields[i])) {
            snprintf(err, err_len,
                     "prompt_cache.%s must be an integer in "
                     "%d..%ld",
                     names[i], i == 1 ? 1 : 0, max[i]);
            return false;
        }
    }
    return true;
}

/* Parse the usage object into "f"; message in "err" on failure. */
static bool
fault_parse_usage(struct json_object *v, struct sy_mock_fault *f, char *err,
                  size_t err_len)
{
    long *fields[FAULT_NUSAGE];
    struct json_object_iterator it;
    struct json_object_iterator end;
    size_t i;

    fields[0] = &f->prompt_tokens;
    fields[1] = &f->completion_tokens;
    fields[2] = &f->cached_tokens;
    fields[3] = &f->reasoning_tokens;
    fields[4] = &f->cache_creation_tokens;
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(err, err_len, "usage must be an object");
        return false;
    }
    it = json_object_iter_begin(v);
    end = json_object_iter_end(v);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        struct json_object *val = json_object_iter_peek_value(&it);

        for (i = 0; i < FAULT_NUSAGE; i++) {
            if (strcmp(name, fault_usage_keys[i]) == 0) {
                break;
            }
        }
        if (i == FAULT_NUSAGE) {
            snprintf(err, err_len, "unknown usage key \"%.40s\"", name);
            return false;
        }
        if (!fault_get_long(val, 0, 1000000000000L, fields[i])) {
            snprintf(err, err_len, "usage.%s must be an integer >= 0", name);
            return false;
        }
    }
    return true;
}

/* Parse one key's value into "f"; message in "err" on failure. */
static bool
fault_parse_key(const struct fault_key *k, struct json_object *v,
                struct sy_mock_fault *f, char *err, size_t err_len)
{
    char *field = (char *)f + k->offset;
    long l;
    bool b;
    char *s;

    switch (k->kind) {
    case FAULT_LONG:
        if (!fault_get_long(v, k->min, k->max, &l)) {
            snprintf(err, err_len, "%s must be an integer in %ld..%ld", k->name,
                     k->min, k->max);
            return false;
        }
        memcpy(field, &l, sizeof(l));
        return true;
    case FAULT_BOOL:
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, err_len, "%s must be true or false", k->name);
            return false;
        }
        b = json_object_get_boolean(v) != 0;
        memcpy(field, &b, sizeof(b));
        return true;
    case FAULT_STRING:
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(err, err_len, "%s must be a string", k->name);
            return false;
        }
        s = sy_mock_xstrndup(json_object_get_string(v),
                             (size_t)json_object_get_string_len(v));
        memcpy(field, &s, sizeof(s));
        return true;
    case FAULT_RATE:
        if (!fault_get_double(v, &f->rate) || f->rate < 0 || f->rate > 1) {
            snprintf(err, err_len, "rate must be a number in 0..1");
            return false;
        }
        return true;
    case FAULT_DIST:
        return fault_parse_dist(k->name, v, (double *)(void *)field, err,
                                err_len);
    case FAULT_USAGE:
        return fault_parse_usage(v, f, err, err_len);
    case FAULT_CACHE:
        return fault_parse_cache(v, f, err, err_len);
    }
    return false;
}

/* Can "v" be sent as a header value (printable ASCII, 1..127 bytes)? */
static bool
fault_header_ok(const char *v)
{
    size_t i;

    for (i = 0; v[i] != '\0'; i++) {
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
            return false;
        }
    }
    return i > 0 && i < 128;
}

/*
 * Parse the fault spec "obj" (a JSON object; {} is the empty spec).
 * Returns a new spec with one reference, which the caller owns and drops
 * with sy_mock_fault_unref; NULL with a message in "err" when a key is
 * unknown or a value has the wrong type or range.
 */
struct sy_mock_fault *
sy_mock_fault_parse(struct json_object *obj, char *err, size_t err_len)
{
    struct sy_mock_fault *f;
    struct json_object_iterator it;
    struct json_object_iterator end;
    const char *text;

    if (!json_object_is_type(obj, json_type_object)) {
        snprintf(err, err_len, "a fault spec must be a JSON object");
        return NULL;
    }
    f = sy_mock_xcalloc(1, sizeof(*f));
    atomic_init(&f->refs, 1);
    f->prompt_tokens = -1;
    f->completion_tokens = -1;
    f->cached_tokens = -1;
    f->reasoning_tokens = -1;
    f->cache_creation_tokens = -1;
    it = json_object_iter_begin(obj);
    end = json_object_iter_end(obj);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        struct json_object *val = json_object_iter_peek_value(&it);
        size_t i;

        for (i = 0; i < FAULT_NKEYS; i++) {
            if (strcmp(name, fault_keys[i].name) == 0) {
                break;
            }
        }
        if (i == FAULT_NKEYS) {
            snprintf(err, err_len, "unknown fault key \"%.40s\"", name);
            sy_mock_fault_unref(f);
            return NULL;
        }
        if (!fault_parse_key(&fault_keys[i], val, f, err, err_len)) {
            sy_mock_fault_unref(f);
            return NULL;
        }
        f->has |= fault_keys[i].bit;
    }
    if ((f->has & SY_MOCK_F_CONTENT_TYPE) &&
        !fault_header_ok(f->content_type)) {
        snprintf(err, err_len,
                 "content_type must be 1..127 printable "
                 "ASCII characters");
        sy_mock_fault_unref(f);
        return NULL;
    }
    text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    f->json = sy_mock_xstrndup(text, strlen(text));
    return f;
}

/*
 * Parse a fault spec written as JSON text at the start of "text" ("len"
 * bytes, more may follow). On success "*used" is the number of bytes the
 * object took. Ownership and errors as sy_mock_fault_parse.
 */
struct sy_mock_fault *
sy_mock_fault_parse_text(const char *text, size_t len, size_t *used, char *err,
                         size_t err_len)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *obj;
    struct sy_mock_fault *f = NULL;

    if (len > 65536) {
        len = 65536;
    }
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (obj == NULL) {
        snprintf(err, err_len, "[[mock ...]] holds no valid JSON object");
    } else {
        *used = json_tokener_get_parse_end(tok);
        f = sy_mock_fault_parse(obj, err, err_len);
        json_object_put(obj);
    }
    json_tokener_free(tok);
    return f;
}

/* Take one more reference to "f" (NULL passes through). */
struct sy_mock_fault *
sy_mock_fault_ref(struct sy_mock_fault *f)
{
    if (f != NULL) {
        atomic_fetch_add(&f->refs, 1);
    }
    return f;
}

/* Drop a reference; the last one frees the spec. Accepts NULL. */
void
sy_mock_fault_unref(struct sy_mock_fault *f)
{
    if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1) {
        return;
    }
    free(f->error_body);
    free(f->content);
    free(f->tool_arguments);
    free(f->content_type);
    free(f->only_key);
    free(f->tag);
    free(f->tool_name);
    free(f->json);
    free(f);
}

/* Copy the value of key "k" from "src" to "dst" (plain field copies). */
static void
fault_copy_key(const struct fault_key *k, struct sy_mock_fault *dst,
               const struct sy_mock_fault *src)
{
    size_t size;

    switch (k->kind) {
    case FAULT_LONG:
        size = sizeof(long);
        break;
    case FAULT_BOOL:
        size = sizeof(bool);
        break;
    case FAULT_STRING:
        size = sizeof(char *);
        break;
    case FAULT_RATE:
        size = sizeof(double);
        break;
    case FAULT_DIST:
        size = 2 * sizeof(double);
        break;
    case FAULT_CACHE:
        dst->cache_min_tokens = src->cache_min_tokens;
        dst->cache_entries = src->cache_entries;
        dst->cache_ttl_ms = src->cache_ttl_ms;
        return;
    case FAULT_USAGE:
        dst->prompt_tokens = src->prompt_tokens;
        dst->completion_tokens = src->completion_tokens;
        dst->cached_tokens = src->cached_tokens;
        dst->reasoning_tokens = src->reasoning_tokens;
        dst->cache_creation_tokens = src->cache_creation_tokens;
        return;
    default:
        return;
    }
    memcpy((char *)dst + k->offset, (const char *)src + k->offset, size);
}

/*
 * Fill "out" with "base" overridden key by key by "over"; either may be
 * NULL. "out" borrows the strings of both, so it must not outlive them
 * and must not be unreffed. "rate" and "count" of "over" are ignored.
 */
void
sy_mock_fault_merge(struct sy_mock_fault *out, const struct sy_mock_fault *base,
                    const struct sy_mock_fault *over)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    out->prompt_tokens = -1;
    out->completion_tokens = -1;
    out->cached_tokens = -1;
    out->reasoning_tokens = -1;
    out->cache_creation_tokens = -1;
    for (i = 0; i < FAULT_NKEYS; i++) {
        const struct fault_key *k = &fault_keys[i];

        if (base != NULL && (base->has & k->bit)) {
            fault_copy_key(k, out, base);
            out->has |= k->bit;
        }
        if (over != NULL && (over->has & k->bit) &&
            !(k->bit & (SY_MOCK_F_RATE | SY_MOCK_F_COUNT))) {
            fault_copy_key(k, out, over);
            out->has |= k->bit;
        }
    }
}

/*
 * Does spec "f" apply to a request sent with API key "key" ("key_len"
 * bytes, NULL when the request carried none)? Always, unless the spec has
 * "only_key": then only when the key is exactly that one.
 */
bool
sy_mock_fault_key_matches(const struct sy_mock_fault *f, const char *key,
                          size_t key_len)
{
    if (f == NULL || !(f->has & SY_MOCK_F_ONLY_KEY)) {
        return true;
    }
    return key != NULL && strlen(f->only_key) == key_len &&
           memcmp(f->only_key, key, key_len) == 0;
}

/*
 * The delay before the response head in ms: delay_ms, plus a uniform
 * 0..delay_jitter_ms, plus a log-normal draw when delay_dist is given
 * (mu = ln p50, sigma = (ln p99 - ln p50) / z(0.99)), plus stall_ms.
 */
long
sy_mock_fault_delay_ms(const struct sy_mock_fault *f, struct sy_mock_rng *rng)
{
    double ms = 0;

    if (f->has & SY_MOCK_F_DELAY_MS) {
        ms += (double)f->delay_ms;
    }
    if ((f->has & SY_MOCK_F_DELAY_JITTER_MS) && f->delay_jitter_ms > 0) {
        ms += (double)(sy_mock_rng_next(rng) %
                       (uint64_t)(f->delay_jitter_ms + 1));
    }
    if (f->has & SY_MOCK_F_DELAY_DIST) {
        double mu = log(f->p50_ms);
        double sigma = (log(f->p99_ms) - mu) / 2.3263478740408408;

        ms += exp(mu + sigma * sy_mock_rng_normal(rng));
    }
    if (f->has & SY_MOCK_F_STALL_MS) {
        ms += (double)f->stall_ms;
    }
    if (ms > (double)SY_MOCK_MAX_DELAY_MS) {
        ms = (double)SY_MOCK_MAX_DELAY_MS;
    }
    return (long)(ms + 0.5);
}

/*
 * The time between two stream pieces of one request in ms: chunk_delay_ms
 * plus, with chunk_delay_dist, one log-normal draw for the whole request
 * (a request is slow or fast throughout, as a loaded provider's is).
 */
long
sy_mock_fault_token_ms(const struct sy_mock_fault *f, struct sy_mock_rng *rng)
{
    double ms = 0;

    if (f->has & SY_MOCK_F_CHUNK_DELAY_MS) {
        ms += (double)f->chunk_delay_ms;
    }
    if (f->has & SY_MOCK_F_CHUNK_DELAY_DIST) {
        double mu = log(f->tok_p50_ms);
        double sigma = (log(f->tok_p99_ms) - mu) / 2.3263478740408408;

        ms += exp(mu + sigma * sy_mock_rng_normal(rng));
    }
    if (ms > (double)SY_MOCK_MAX_DELAY_MS) {
        ms = (double)SY_MOCK_MAX_DELAY_MS;
    }
    return (long)(ms + 0.5);
}
