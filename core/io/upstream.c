/*
 * upstream.c - provider HTTP calls through libcurl (the only file that
 * includes curl.h).
 *
 * Each request thread owns an easy handle and a multi handle; we drive the
 * multi handle ourselves so that the first-byte and idle-gap deadlines are
 * checked to the millisecond, and a streaming callback can abort the
 * transfer when the caller goes away. Connections, DNS and TLS sessions
 * are shared by all threads of the process through one share handle.
 * CURLcode is translated to enum sy_err here and nowhere else.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "upstream.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "api/adapter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

/* Process-wide share handle (DNS and TLS sessions); created in
 * sy_upstream_global_init() (after fork, in each worker process) and
 * protected by one mutex per data kind as libcurl asks. */
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

struct sy_upstream {
    CURL *easy;
    CURLM *multi;
};

/* Per-transfer state seen by the curl callbacks. */
struct transfer {
    struct sy_upstream_call *c;
    uint64_t start_us;
    uint64_t last_byte_us; /* 0 until the first response byte */
    enum sy_err cb_err;    /* why a callback aborted the transfer */
    bool status_known;
    CURL *easy;
};

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    (void)ud;
    pthread_mutex_lock(&share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    (void)ud;
    pthread_mutex_unlock(&share_locks[data]);
}

/* Once per process, before any thread calls sy_upstream_new(). */
enum sy_err
sy_upstream_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SY_EINTERNAL;
    for (size_t i = 0; i < SY_ARRAY_LEN(share_locks); i++)
        pthread_mutex_init(&share_locks[i], NULL);
    share = curl_share_init();
    if (share == NULL)
        return SY_EINTERNAL;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return SY_OK;
}

/* After every sy_upstream has been freed. */
void
sy_upstream_global_cleanup(void)
{
    if (share != NULL)
        curl_share_cleanup(share);
    share = NULL;
    curl_global_cleanup();
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud);
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud);

/* A handle for one thread; free with sy_upstream_free(). */
struct sy_upstream *
sy_upstream_new(void)
{
    struct sy_upstream *u = sy_xcalloc(1, sizeof(*u));
    u->easy = curl_easy_init();
    u->multi = curl_multi_init();
    if (u->easy == NULL || u->multi == NULL)
        sy_oom(sizeof(*u));
    /* Options that never change: set once, not per call. */
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    return u;
}

void
sy_upstream_free(struct sy_upstream *u)
{
    if (u == NULL)
        return;
    curl_multi_cleanup(u->multi);
    curl_easy_cleanup(u->easy);
    free(u);
}

/* Release what a call owns (its buffered body). NULL-safe. */
void
sy_upstream_call_cleanup(struct sy_upstream_call *c)
{
    if (c != NULL)
        sy_buf_free(&c->body);
}

static void
note_status(struct transfer *t)
{
    if (t->status_known)
        return;
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->c->status = (int)code;
    t->status_known = code >= 200;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    struct sy_upstream_call *c = t->c;
    size_t n = size * nmemb;
    uint64_t now = sy_now_us();
    if (c->body_bytes == 0)
        c->first_byte_us = now - t->start_us;
    t->last_byte_us = now;
    c->body_bytes += n;
    note_status(t);
    if (c->on_data != NULL && c->status >= 200 && c->status < 300) {
        enum sy_err e = c->on_data(c->ud, p, n);
        if (e != SY_OK) {
            t->cb_err = e;
            return 0;
        }
        return n;
    }
    if (sy_buf_append(&c->body, p, n) != SY_OK) {
        t->cb_err = SY_EUP_PROTO;
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "response body larger than %zu bytes", c->max_body_bytes);
        return 0;
    }
    return n;
}

static uint32_t
parse_retry_after(const char *v, bool is_ms)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char *end;
    double x = strtod(v, &end);
    if (end != v && x >= 0) {
        double ms = is_ms ? x : x * 1000.0;
        return ms > 86400000.0 ? 86400000u : (uint32_t)ms;
    }
    if (is_ms)
        return 0;
    time_t when = curl_getdate(v, NULL);
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    return (uint32_t)SY_MIN((uint64_t)(when - now) * 1000u, 86400000u);
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct transfer *t = ud;
    struct sy_upstream_call *c = t->c;
    size_t n = size * nmemb;
    t->last_byte_us = sy_now_us();
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the old one. */
        c->content_type[0] = '\0';
        c->retry_after_ms = 0;
        c->nrl_headers = 0;
        t->status_known = false;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (colon == NULL)
        return n;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 &&
           (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    char val[96];
    size_t cp = SY_MIN(vlen, sizeof(val) - 1);
    memcpy(val, v, cp);
    val[cp] = '\0';
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0)
        memcpy(c->content_type, val, cp + 1);
    else if (nlen == 11 && strncasecmp(p, "retry-after", 11) == 0 &&
             c->retry_after_ms == 0)
        c->retry_after_ms = parse_retry_after(val, false);
    else if (nlen == 14 && strncasecmp(p, "retry-after-ms", 14) == 0)
        c->retry_after_ms = parse_retry_after(val, true);
    else if (((nlen > 12 && strncasecmp(p, "x-ratelimit-", 12) == 0) ||
              (nlen > 20 && strncasecmp(p, "anthropic-ratelimit-", 20) == 0)) &&
             c->nrl_headers < SY_ARRAY_LEN(c->rl_headers) &&
             nlen < sizeof(c->rl_store[0][0])) {
        /* Rate-limit reset hints for the adapter's classify slot. */
        size_t i = c->nrl_headers++;
        char *name = c->rl_store[i][0];
        for (size_t k = 0; k < nlen; k++)
            name[k] = (char)((p[k] >= 'A' && p[k] <= 'Z') ? p[k] + 32 : p[k]);
        name[nlen] = '\0';
        memcpy(c->rl_store[i][1], val, cp + 1);
        c->rl_headers[i].name = name;
        c->rl_headers[i].value = c->rl_store[i][1];
    }
    return n;
}

static enum sy_err
map_curl(CURLcode rc, struct transfer *t)
{
    struct sy_upstream_call *c = t->c;
    bool got_bytes = t->last_byte_us != 0;
    switch (rc) {
    case CURLE_OK:
        return SY_OK;
    case CURLE_WRITE_ERROR:
        if (t->cb_err != SY_OK)
            return t->cb_err;
        return SY_EUP_PROTO;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return SY_EUP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        /* total_ms ran out while the answer was still coming: the
         * length the caller asked for, not a sign of a failing provider
         * (not a breaker failure, not retried elsewhere). */
        return got_bytes ? SY_EUP_TOOLONG : SY_EUP_TIMEOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        /* A connection closed or reset before anything came back is a
         * connect-class failure; after bytes it is a broken reply. */
        return got_bytes || c->status != 0 ? SY_EUP_PROTO : SY_EUP_CONNECT;
    default:
        return SY_EUP_PROTO;
    }
}

static struct curl_slist *
build_headers(const struct sy_http_out *req)
{
    struct curl_slist *h = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(h, req->headers[i]);
        if (n == NULL)
            sy_oom(strlen(req->headers[i]));
        h = n;
    }
    /* No "Expect: 100-continue" round trip on large prompts. */
    struct curl_slist *n = curl_slist_append(h, "Expect:");
    if (n == NULL)
        sy_oom(8);
    return n;
}

/* The method and body of 'c->req' on 'e'. A body whose building failed
 * (an append past its maximum, see base/buf.h) is never sent: its error
 * (SY_ETOOBIG) is returned. */
static enum sy_err
set_method_body(CURL *e, struct sy_upstream_call *c)
{
    const struct sy_http_out *req = c->req;
    if (req->body != NULL && sy_buf_failed(req->body)) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "the provider request is larger than %zu bytes",
                 req->body->max);
        return sy_buf_err(req->body);
    }
    if (strcmp(req->method, "GET") != 0) {
        const char *body = req->body ? sy_buf_cstr(req->body) : "";
        size_t len = req->body ? req->body->len : 0;
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                         strcmp(req->method, "POST") != 0 ? req->method : NULL);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    }
    return SY_OK;
}

/* Did the provider get the whole request? A reply says so; without one,
 * the bytes uploaded tell (a connect timeout or a refused connection
 * sent nothing, and the provider cannot bill it). */
static bool
request_sent(CURL *e, const struct sy_upstream_call *c)
{
    curl_off_t up = 0;
    curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
    size_t body_len = c->req->body != NULL ? c->req->body->len : 0;
    return c->status != 0 || (up > 0 && (size_t)up >= body_len);
}

/* Perform one call. 'c->body' is initialised here (free it with
 * sy_upstream_call_cleanup). Returns SY_OK when a complete HTTP response
 * arrived, whatever its status (look at c->status); otherwise the failure
 * class, with a detail in c->errmsg. A streaming callback's own error code
 * is returned as is. A request body whose building failed (see
 * base/buf.h) is never sent: its error (SY_ETOOBIG) is returned. */
enum sy_err
sy_upstream_perform(struct sy_upstream *u, struct sy_upstream_call *c)
{
    struct transfer t = { 0 };
    CURL *e = u->easy;
    t.c = c;
    t.easy = e;
    c->status = 0;
    c->content_type[0] = '\0';
    c->retry_after_ms = 0;
    c->first_byte_us = 0;
    c->total_us = 0;
    c->body_bytes = 0;
    c->errmsg[0] = '\0';
    c->reused_connection = false;
    c->nrl_headers = 0;
    sy_buf_init(&c->body, c->max_body_bytes);

    enum sy_err err = set_method_body(e, c);
    if (err != SY_OK)
        return err;
    const struct sy_http_out *req = c->req;
    struct curl_slist *headers = build_headers(req);
    /* Only the per-call options; the constant ones were set in
     * sy_upstream_new (curl_easy_reset would free and redo them). */
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->timeouts.connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeouts.total_ms);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);

    t.start_us = sy_now_us();
    uint64_t first_deadline = t.start_us + c->timeouts.first_byte_ms * 1000ull;
    uint64_t idle_us = c->timeouts.idle_ms * 1000ull;
    curl_multi_add_handle(u->multi, e);
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(u->multi, &running);
        if (mc != CURLM_OK) {
            snprintf(c->errmsg, sizeof(c->errmsg), "curl multi: %s",
                     curl_multi_strerror(mc));
            err = SY_EUP_PROTO;
            break;
        }
        if (running == 0)
            break;
        uint64_t now = sy_now_us();
        uint64_t deadline;
        if (t.last_byte_us == 0) {
            if (now >= first_deadline) {
                snprintf(c->errmsg, sizeof(c->errmsg),
                         "no response within %u ms", c->timeouts.first_byte_ms);
                err = SY_EUP_TIMEOUT;
                break;
            }
            deadline = first_deadline;
        } else {
            if (now >= t.last_byte_us + idle_us) {
                snprintf(c->errmsg, sizeof(c->errmsg),
                         "response stalled for %u ms", c->timeouts.idle_ms);
                err = SY_EUP_TIMEOUT;
                break;
            }
            deadline = t.last_byte_us + idle_us;
        }
        long curl_wait = -1;
        curl_multi_timeout(u->multi, &curl_wait);
        uint64_t wait_ms = (deadline - now + 999) / 1000;
        if (curl_wait >= 0 && (uint64_t)curl_wait < wait_ms)
            wait_ms = (uint64_t)curl_wait;
        if (wait_ms > 1000)
            wait_ms = 1000;
        curl_multi_poll(u->multi, NULL, 0, (int)wait_ms, NULL);
    }
    if (err == SY_OK) {
        int left;
        CURLMsg *m;
        CURLcode rc = CURLE_OK;
        while ((m = curl_multi_info_read(u->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE)
                rc = m->data.result;
        note_status(&t);
        err = map_curl(rc, &t);
        if (err != SY_OK && c->errmsg[0] == '\0')
            snprintf(c->errmsg, sizeof(c->errmsg), "%s",
                     rc == CURLE_OPERATION_TIMEDOUT ? "total time limit reached"
                                                    : curl_easy_strerror(rc));
    }
    c->request_sent = request_sent(e, c);
    long reused = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &reused);
    c->reused_connection = reused == 0;
    curl_multi_remove_handle(u->multi, e);
    curl_slist_free_all(headers);
    c->total_us = sy_now_us() - t.start_us;
    return err;
}
