/*
 * upstream.h - HTTP calls to providers. The only libcurl user.
 *
 * One struct sy_upstream per request thread (an easy handle driven by the
 * thread's own multi handle, so our deadlines have millisecond precision,
 * and whose connection pool keeps keep-alive connections to providers
 * across the thread's requests); all threads of a process share the DNS
 * cache and TLS sessions through a curl share handle.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_UPSTREAM_H
#define SY_CORE_UPSTREAM_H

#include "base/sy.h"
#include "base/buf.h"
#include "config/config.h"
#include "base/err.h"

/* Called with each piece of a 2xx body when streaming; return SY_OK to go
 * on, anything else aborts the transfer with that code. */
typedef enum sy_err (*sy_upstream_data_fn)(void *ud, const char *p, size_t n);

struct sy_upstream_call {
    /* in */
    const struct sy_http_out *req; /* method, URL, headers, body */
    const char *trace_headers;     /* "traceparent: ...\0tracestate: ...\0\0"
                                      or NULL: W3C trace context lines added
                                      to every adapter's headers */
    struct sy_timeouts timeouts;
    size_t max_body_bytes;       /* cap on a buffered body */
    sy_upstream_data_fn on_data; /* NULL: buffer 2xx bodies too */
    void *ud;
    bool cancel; /* a hedged pair's: set by a callback to cut this call
                    at once (sy_upstream_perform_pair) */
    /* out */
    int status; /* HTTP status, 0 when none arrived */
    char content_type[96];
    uint32_t retry_after_ms; /* Retry-After / retry-after-ms, 0 */
    struct sy_buf body;      /* buffered body (error replies always) */
    uint64_t first_byte_us;  /* from start to the first body byte */
    uint64_t total_us;
    uint64_t body_bytes;
    bool reused_connection;
    bool request_sent; /* the provider got the whole request body */
    bool no_response;  /* it ended at the first-byte deadline: nothing
                          came back, not even a header */
    struct sy_header_kv rl_headers[16]; /* x-ratelimit-* and
                                           anthropic-ratelimit-* reply
                                           headers (name, value point into
                                           rl_store) */
    size_t nrl_headers;
    char rl_store[16][2][96];
    char errmsg[192]; /* transport failure detail; no secrets */
};

enum sy_err sy_upstream_global_init(void);
void sy_upstream_global_cleanup(void);
struct sy_upstream *sy_upstream_new(void);
void sy_upstream_free(struct sy_upstream *u);
enum sy_err sy_upstream_perform(struct sy_upstream *u,
                                struct sy_upstream_call *c);
void sy_upstream_call_cleanup(struct sy_upstream_call *c);

/* While the calls of 'u' wait, also watch 'fd' (the caller's connection,
 * -1: none): when it turns readable, 'left' says whether the caller has
 * gone (1), not (0), or cannot tell (-1: stop watching). Gone, a call
 * ends at once with SY_EGONE ("the caller left"), both calls of a pair
 * as cancelled ones. Set per request; 'u' may be NULL. */
void sy_upstream_watch(struct sy_upstream *u, int fd, int (*left)(void *ud),
                       void *ud);

/* A hedged pair (sy_upstream_perform_pair): two calls on one thread, the
 * second started late; see upstream.c. */
struct sy_upstream_pair {
    /* At the hedge's time: the second call, or NULL for none now; with
     * NULL, setting '*again_us' (sy_now_us, later than now) asks again
     * then, while the first call runs (left 0: never again). */
    struct sy_upstream_call *(*start)(void *ud, uint64_t *again_us);
    /* A call ended with 'e' (SY_EGONE: cancelled). May set the other
     * call's 'cancel'. */
    void (*done)(void *ud, struct sy_upstream_call *c, enum sy_err e);
    void *ud;
};
/* 'b_at_us' (sy_now_us): when 'start' is first asked; 0: never. */
void sy_upstream_perform_pair(struct sy_upstream *u, struct sy_upstream_call *a,
                              uint64_t b_at_us,
                              const struct sy_upstream_pair *p);

/* A blocking POST on a handle of its own, for a background thread
 * (upstream_post.c); never on a request thread. */
struct sy_header_kv;
struct sy_poster;
struct sy_poster *sy_poster_new(void);
void sy_poster_free(struct sy_poster *p);
void sy_poster_abort_at(struct sy_poster *p, uint64_t deadline_ms);
int sy_poster_post(struct sy_poster *p, const char *url, const char *ctype,
                   const struct sy_header_kv *h, size_t nh, const char *body,
                   size_t len, uint32_t timeout_ms, char *err, size_t errlen);

#endif
