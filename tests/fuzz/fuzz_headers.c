/*
 * fuzz_headers.c - libFuzzer target for a provider's response headers and
 * error body: upstream.c's header callback (Content-Type, Retry-After as
 * seconds or an HTTP date, retry-after-ms, x-ratelimit-* and
 * anthropic-ratelimit-* kept for the adapter) and then the adapter's
 * classify, which reads those reset hints and the error body.
 *
 * Input: byte 0 = adapter (fz_types), byte 1 = status (index into the
 * table below), then header lines up to an empty line, then the body.
 * Each line is handed over with its line end, as libcurl does. Beyond
 * the sanitizers: the retry hint stays within a day and classify always
 * gives a message.
 * SPDX-License-Identifier: MIT
 */
#include "io/upstream.c" /* static on_header, parse_retry_after */

#include "fuzz.h"

static struct fz_env envs[FZ_NTYPES];

static const int statuses[] = { 400, 401, 403, 404, 408, 409, 413, 422,
                                429, 500, 502, 503, 504, 529, 200, 302 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < FZ_NTYPES; i++)
        fz_env_init(&envs[i], fz_types[i]);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    struct fz_in in = { data, size };
    struct fz_env *e = &envs[fz_byte(&in) % FZ_NTYPES];
    int status = statuses[fz_byte(&in) % SY_ARRAY_LEN(statuses)];
    struct sy_upstream_call c;
    memset(&c, 0, sizeof(c));
    struct transfer t;
    memset(&t, 0, sizeof(t));
    t.c = &c;
    const char *p = (const char *)in.p, *end = p + in.n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        /* libcurl's buffer is not terminated: give a copy of exactly
         * 'len' bytes so ASan sees a read past it. */
        char *line = sy_xmalloc(len);
        memcpy(line, p, len);
        on_header(line, 1, len, &t);
        free(line);
        bool blank = len == 1 || (len == 2 && p[0] == '\r');
        p += len;
        if (blank)
            break; /* the empty line that ends the headers */
    }
    if (c.retry_after_ms > 86400000u)
        abort();
    if (memchr(c.content_type, '\0', sizeof(c.content_type)) == NULL)
        abort();
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_adapter_call call;
    struct sy_failure f;
    fz_call_init(e, 0, &call, &a, &f);
    call.resp_headers = c.rl_headers;
    call.nresp_headers = c.nrl_headers;
    f.retry_after_ms = c.retry_after_ms;
    size_t blen = (size_t)(end - p);
    char *body = sy_xmalloc(blen + 1);
    memcpy(body, p, blen);
    body[blen] = '\0';
    e->ad->classify(&call, status, body, blen, &f);
    if (f.message == NULL)
        abort();
    fz_check_failure(&f);
    free(body);
    sy_arena_cleanup(&a);
    return 0;
}
