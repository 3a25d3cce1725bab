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
    struct sy_timeouts timeouts;
    size_t max_body_bytes;       /* cap on a buffered body */
    sy_upstream_data_fn on_data; /* NULL: buffer 2xx bodies too */
    void *ud;
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

#endif
