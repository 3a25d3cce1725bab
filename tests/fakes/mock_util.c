/*
 * mock_util.c - base helpers of the mock LLM provider: growable buffers,
 * JSON string escaping, UTF-8 character counts, allocation that aborts
 * on OOM, the monotonic clock, number parsing and a small deterministic
 * PRNG.
 * No networking and no state here; see mock_llm.h for the users.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

/* ---- allocation -------------------------------------------------------- */

/* Abort with a message: the mock is a test tool, out of memory is fatal. */
static void
util_oom(size_t n)
{
    fprintf(stderr, "mock-llm: out of memory (%zu bytes)\n", n);
    abort();
}

/* malloc that never returns NULL; the caller frees the result. */
void *
sy_mock_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        util_oom(n);
    }
    return p;
}

/* calloc that never returns NULL; the caller frees the result. */
void *
sy_mock_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);

    if (p == NULL) {
        util_oom(count * n);
    }
    return p;
}

/* realloc that never returns NULL; "p" is consumed. */
void *
sy_mock_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        util_oom(n);
    }
    return q;
}

/* Copy of the first "n" bytes of "s", NUL-terminated; the caller frees. */
char *
sy_mock_xstrndup(const char *s, size_t n)
{
    char *d = sy_mock_xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- buffers ----------------------------------------------------------- */

/* Make room for "extra" more bytes plus the NUL. */
void
sy_mock_buf_reserve(struct sy_mock_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;

    if (need <= b->cap) {
        return;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    b->data = sy_mock_xrealloc(b->data, cap);
    b->cap = cap;
}

/* Append "n" bytes of "p". */
void
sy_mock_buf_append(struct sy_mock_buf *b, const void *p, size_t n)
{
    sy_mock_buf_reserve(b, n);
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

/* Append the C string "s". */
void
sy_mock_buf_puts(struct sy_mock_buf *b, const char *s)
{
    sy_mock_buf_append(b, s, strlen(s));
}

/* Append formatted text (vsnprintf rules). */
void
sy_mock_buf_printf(struct sy_mock_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    sy_mock_buf_reserve(b, 64);
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        sy_mock_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->data[b->len] = '\0';
            return;
        }
    }
    b->len += (size_t)n;
}

/*
 * Append "n" bytes of "s" as a quoted JSON string. Bytes are copied as
 * they are (UTF-8 passes through); quotes, backslashes and control
 * characters are escaped.
 */
void
sy_mock_buf_json_str(struct sy_mock_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    size_t run = 0;

    sy_mock_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t esc_len = 2;

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        sy_mock_buf_append(b, s + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc_len = 6;
            break;
        }
        sy_mock_buf_append(b, esc, esc_len);
    }
    sy_mock_buf_append(b, s + run, n - run);
    sy_mock_buf_append(b, "\"", 1);
}

/* Number of UTF-8 characters in "s" ("len" bytes): bytes that are not
 * continuation bytes. */
long
sy_mock_utf8_chars(const char *s, size_t len)
{
    long n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* Append the C string "s" as a JSON string, or null when "s" is NULL. */
void
sy_mock_buf_json_cstr(struct sy_mock_buf *b, const char *s)
{
    if (s == NULL) {
        sy_mock_buf_append(b, "null", 4);
        return;
    }
    sy_mock_buf_json_str(b, s, strlen(s));
}

/* Empty the buffer; free its memory when it grew beyond "keep_cap". */
void
sy_mock_buf_reset(struct sy_mock_buf *b, size_t keep_cap)
{
    if (b->cap > keep_cap) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

/* Free the buffer's memory; the struct may be reused afterwards. */
void
sy_mock_buf_cleanup(struct sy_mock_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* ---- events ------------------------------------------------------------ */

/* Close the event that was appended to ev->buf since the last mark. */
void
sy_mock_events_mark(struct sy_mock_events *ev)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 32;
        ev->end = sy_mock_xrealloc(ev->end, ev->cap * sizeof(*ev->end));
    }
    ev->end[ev->n++] = ev->buf.len;
}

/* Forget all events, keeping small allocations for reuse. */
void
sy_mock_events_reset(struct sy_mock_events *ev)
{
    sy_mock_buf_reset(&ev->buf, 256 * 1024);
    ev->n = 0;
    ev->usage_at = 0;
    if (ev->cap > 1024) {
        free(ev->end);
        ev->end = NULL;
        ev->cap = 0;
    }
}

/* Free everything the events own. */
void
sy_mock_events_cleanup(struct sy_mock_events *ev)
{
    sy_mock_buf_cleanup(&ev->buf);
    free(ev->end);
    ev->end = NULL;
    ev->n = 0;
    ev->cap = 0;
}

/* ---- JSON -------------------------------------------------------------- */

/*
 * Parse all of "s" ("len" bytes) as one JSON value. Returns a new object
 * the caller puts, or NULL when "s" is not valid JSON or has anything but
 * white space after the value.
 */
struct json_object *
sy_mock_json_parse(const char *s, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *obj;
    size_t end;

    if (tok == NULL || len > 0x7fffffff) {
        json_tokener_free(tok);
        return NULL;
    }
    obj = json_tokener_parse_ex(tok, s, (int)len);
    end = json_tokener_get_parse_end(tok);
    if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
        /* a bare number at the very end needs a terminator */
        obj = json_tokener_parse_ex(tok, "", 1);
        end = len;
    }
    json_tokener_free(tok);
    for (; obj != NULL && end < len; end++) {
        if (s[end] != ' ' && s[end] != '\t' && s[end] != '\r' &&
            s[end] != '\n') {
            json_object_put(obj);
            obj = NULL;
        }
    }
    return obj;
}

/* ---- clock, numbers, log ----------------------------------------------- */

/* Milliseconds of the monotonic clock. */
int64_t
sy_mock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parse the whole of "s" as a decimal long within [min, max]. */
bool
sy_mock_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* One line on stderr, prefixed with the program name. */
void
sy_mock_log(const char *fmt, ...)
{
    va_list ap;
    char line[1024];

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "mock-llm: %s\n", line);
}

/* ---- PRNG -------------------------------------------------------------- */

/* Seed "r"; equal seeds give equal sequences. */
void
sy_mock_rng_seed(struct sy_mock_rng *r, uint64_t seed)
{
    /* splitmix64 step, so that small seeds still give a mixed state */
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    r->state = z ? z : 0x2545f4914f6cdd1dULL;
}

/* Next 64 random bits (xorshift64*). */
uint64_t
sy_mock_rng_next(struct sy_mock_rng *r)
{
    uint64_t x = r->state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform double in [0, 1). */
double
sy_mock_rng_unit(struct sy_mock_rng *r)
{
    return (double)(sy_mock_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal sample (Box-Muller). */
double
sy_mock_rng_normal(struct sy_mock_rng *r)
{
    double u1 = sy_mock_rng_unit(r);
    double u2 = sy_mock_rng_unit(r);

    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
