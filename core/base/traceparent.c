/*
 * traceparent.c - the W3C Trace Context header rules (traceparent.h).
 *
 * traceparent = version "-" trace-id "-" parent-id "-" trace-flags, all
 * lowercase hex. Refused: version "ff", any uppercase or non-hex digit,
 * wrong field lengths, an all-zero trace-id or parent-id, version 00
 * with anything after the flags. A later version is read by the
 * version-00 layout and may carry more fields after a "-" (the spec
 * asks to parse what is known and ignore the rest).
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "traceparent.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not allowed either */
}

/* 'n' lowercase hex digits at 's', not all zero when 'nonzero'. */
static bool
hex_field(const char *s, size_t n, bool nonzero)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        int v = hexval(s[i]);
        if (v < 0)
            return false;
        any |= v != 0;
    }
    return any || !nonzero;
}

/* Parse traceparent 's' ('n' bytes, not necessarily NUL-terminated;
 * surrounding spaces and tabs are ignored) into 'out'. False for any
 * form the specification says to ignore; 'out' is then untouched. */
bool
sy_traceparent_parse(const char *s, size_t n, struct sy_traceparent *out)
{
    if (s == NULL)
        return false;
    while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n < SY_TRACEPARENT_LEN || n > SY_TRACEPARENT_MAX)
        return false;
    if (!hex_field(s, 2, false) || memcmp(s, "ff", 2) == 0)
        return false;
    bool v0 = memcmp(s, "00", 2) == 0;
    if (v0 ? n != SY_TRACEPARENT_LEN
           : n > SY_TRACEPARENT_LEN && s[SY_TRACEPARENT_LEN] != '-')
        return false;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return false;
    if (!hex_field(s + 3, SY_TRACE_ID_HEX, true) ||
        !hex_field(s + 36, SY_SPAN_ID_HEX, true) ||
        !hex_field(s + 53, 2, false))
        return false;
    memcpy(out->trace_id, s + 3, SY_TRACE_ID_HEX);
    out->trace_id[SY_TRACE_ID_HEX] = '\0';
    memcpy(out->parent_id, s + 36, SY_SPAN_ID_HEX);
    out->parent_id[SY_SPAN_ID_HEX] = '\0';
    out->flags = (uint8_t)(hexval(s[53]) << 4 | hexval(s[54]));
    return true;
}

/* Is 's' a tracestate we may pass on: at most SY_TRACESTATE_MAX bytes
 * of printable ASCII, at most SY_TRACESTATE_MEMBERS comma-separated
 * members, each empty (allowed by the spec) or "key=value" with a
 * lowercase key and a value without ',' or '='. A coarse check: enough
 * to never forward something that could break a header. */
bool
sy_tracestate_valid(const char *s, size_t n)
{
    if (s == NULL || n == 0 || n > SY_TRACESTATE_MAX)
        return false;
    unsigned members = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        /* member [i, j), spaces and tabs around it ignored */
        size_t a = i, b = j;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a) {
            if (++members > SY_TRACESTATE_MEMBERS)
                return false;
            const char *eq = memchr(s + a, '=', b - a);
            if (eq == NULL || eq == s + a || eq == s + b - 1)
                return false;
            if (!((s[a] >= 'a' && s[a] <= 'z') || (s[a] >= '0' && s[a] <= '9')))
                return false;
            for (size_t k = a; k < b; k++) {
                char c = s[k];
                if (s + k == eq)
                    continue;
                bool key = s + k < eq;
                if (c < 0x20 || c > 0x7e || (!key && c == '=') ||
                    (key && !((c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                              c == '*' || c == '/' || c == '@')))
                    return false;
            }
        }
        i = j + 1;
    }
    return members > 0;
}

/* "00-<trace_id>-<span_id>-<flags>" into 'out' (56 bytes). */
void
sy_traceparent_format(const char *trace_id, const char *span_id, uint8_t flags,
                      char out[SY_TRACEPARENT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "00-", 3);
    memcpy(out + 3, trace_id, SY_TRACE_ID_HEX);
    out[35] = '-';
    memcpy(out + 36, span_id, SY_SPAN_ID_HEX);
    out[52] = '-';
    out[53] = hex[flags >> 4];
    out[54] = hex[flags & 15];
    out[55] = '\0';
}

/* ------------------------------------------------------------------ */
/* Random ids                                                          */

/* A per-thread pool of random bytes, refilled by one getrandom(2) call
 * per 256 bytes (about 10 requests). A forked child forgets the pool
 * of the thread that forked, so parent and child never share ids. */
static __thread unsigned char pool[256];
static __thread size_t pool_left;

static void
forget_pool(void)
{
    pool_left = 0;
}

__attribute__((constructor)) static void
trace_init_fork(void)
{
    pthread_atfork(NULL, NULL, forget_pool);
}

static void
fill_pool(void)
{
    size_t got = 0;
    while (got < sizeof(pool)) {
        ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* No kernel source (never on Linux >= 3.17): the clock and the
         * address of this thread's pool, mixed; ids stay distinct. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     (uint64_t)(uintptr_t)pool;
        for (; got < sizeof(pool); got++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            pool[got] = (unsigned char)(x >> 24);
        }
    }
    pool_left = sizeof(pool);
}

/* 'nbytes' random bytes (at most 32) as lowercase hex into 'out'
 * (2 * nbytes + 1 bytes), never all zeros (an invalid id). */
void
sy_trace_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[32] = { 0 };
    if (nbytes > sizeof(b))
        nbytes = sizeof(b);
    bool any = nbytes == 0; /* nothing to draw: done */
    while (!any) {
        for (size_t i = 0; i < nbytes; i++) {
            if (pool_left == 0)
                fill_pool();
            b[i] = pool[--pool_left];
            any |= b[i] != 0;
        }
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
}
