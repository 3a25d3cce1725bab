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
    CURL *easy2; /* a hedged pair's second call (upstream_pair), made
                    when first needed */
    CURLM *multi;
    /* The caller's connection, watched while a call waits
     * (sy_upstream_watch); watch_fd -1: none. */
    int watch_fd;
    int (*left)(void *ud);
    void *left_ud;
};

/* Per-transfer state seen by the curl callbacks. */
struct transfer {
    struct sy_upstream_call *c;
    uint64_t start_us;
    uint64_t last_byte_us; /* 0 until the first response byte */
    enum sy_err cb_err;    /* why a callback aborted the transfer */
    bool status_known;
    CURL *easy;
    struct curl_slist *headers; /* the call's request headers */
    uint64_t first_deadline;    /* for the first response byte */
    uint64_t idle_us;           /* longest gap between bytes */
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

/* An easy handle with the options that never change: set once, not
 * per call. */
static CURL *
new_easy(void)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        sy_oom(sizeof(void *));
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    return e;
}

/* A handle for one thread; free with sy_upstream_free(). */
struct sy_upstream *
sy_upstream_new(void)
{
    struct sy_upstream *u = sy_xcalloc(1, sizeof(*u));
    u->easy = new_easy();
    u->multi = curl_multi_init();
    if (u->multi == NULL)
        sy_oom(sizeof(*u));
    u->watch_fd = -1;
    return u;
}

void
sy_upstream_watch(struct sy_upstream *u, int fd, int (*left)(void *ud),
                  void *ud)
{
    if (u == NULL)
        return;
    u->watch_fd = left != NULL ? fd : -1;
    u->left = left;
    u->left_ud = ud;
}

void
sy_upstream_free(struct sy_upstream *u)
{
    if (u == NULL)
        return;
    curl_multi_cleanup(u->multi);
    curl_easy_cleanup(u->easy);
    if (u->easy2 != NULL)
        curl_easy_cleanup(u->easy2);
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
    else if (c->timeouts.total_ms > 0 &&
             now - t->start_us > c->timeouts.total_ms * 1000ull) {
        /* libcurl checks total_ms between reads; a stream relayed to a
         * caller that reads slowly can spend it inside this callback,
         * read after read. */
        snprintf(c->errmsg, sizeof(c->errmsg), "total time limit reached");
        t->cb_err = SY_EUP_TOOLONG;
        return 0;
    }
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
build_headers(const struct sy_http_out *req, const char *trace)
{
    struct curl_slist *h = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(h, req->headers[i]);
        if (n == NULL)
            sy_oom(strlen(req->headers[i]));
        h = n;
    }
    /* The trace context, the same for every adapter (the pipeline made
     * the lines; see serve/pipeline_trace.c). */
    for (const char *t = trace; t != NULL && *t != '\0'; t += strlen(t) + 1) {
        struct curl_slist *n = curl_slist_append(h, t);
        if (n == NULL)
            sy_oom(strlen(t));
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

/* Set up transfer 't' of call 'c' on easy handle 'e' and add it to
 * 'm'. 'c->body' is initialised here. A request body whose building
 * failed is never sent: its error (SY_ETOOBIG) is returned and nothing
 * was added. */
static enum sy_err
transfer_start(struct transfer *t, CURL *e, CURLM *m,
               struct sy_upstream_call *c)
{
    memset(t, 0, sizeof(*t));
    t->c = c;
    t->easy = e;
    c->status = 0;
    c->content_type[0] = '\0';
    c->retry_after_ms = 0;
    c->first_byte_us = 0;
    c->total_us = 0;
    c->body_bytes = 0;
    c->errmsg[0] = '\0';
    c->reused_connection = false;
    c->request_sent = false;
    c->no_response = false;
    c->nrl_headers = 0;
    sy_buf_init(&c->body, c->max_body_bytes);

    enum sy_err err = set_method_body(e, c);
    if (err != SY_OK)
        return err;
    const struct sy_http_out *req = c->req;
    t->headers = build_headers(req, c->trace_headers);
    /* Only the per-call options; the constant ones were set in
     * new_easy (curl_easy_reset would free and redo them). */
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->timeouts.connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeouts.total_ms);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);

    t->start_us = sy_now_us();
    t->first_deadline = t->start_us + c->timeouts.first_byte_ms * 1000ull;
    t->idle_us = c->timeouts.idle_ms * 1000ull;
    curl_multi_add_handle(m, e);
    return SY_OK;
}

/* Our own deadlines: first byte, then the idle gap. SY_OK with the next
 * deadline in '*deadline', or the timeout (with its detail). */
static enum sy_err
transfer_deadline(struct transfer *t, uint64_t now, uint64_t *deadline)
{
    struct sy_upstream_call *c = t->c;
    if (t->last_byte_us == 0) {
        if (now >= t->first_deadline) {
            c->no_response = true;
            snprintf(c->errmsg, sizeof(c->errmsg), "no response within %u ms",
                     c->timeouts.first_byte_ms);
            return SY_EUP_TIMEOUT;
        }
        *deadline = t->first_deadline;
        return SY_OK;
    }
    if (now >= t->last_byte_us + t->idle_us) {
        snprintf(c->errmsg, sizeof(c->errmsg), "response stalled for %u ms",
                 c->timeouts.idle_ms);
        return SY_EUP_TIMEOUT;
    }
    *deadline = t->last_byte_us + t->idle_us;
    return SY_OK;
}

/* The outcome of a transfer libcurl finished with 'rc'. */
static enum sy_err
transfer_result(struct transfer *t, CURLcode rc)
{
    struct sy_upstream_call *c = t->c;
    note_status(t);
    enum sy_err err = map_curl(rc, t);
    /* libcurl refuses a status line or header past its own bound with
     * "Out of memory" (bodies are bounded by our callbacks first): said
     * so, or an operator would read the gateway's memory as exhausted. */
    if (err != SY_OK && c->errmsg[0] == '\0')
        snprintf(c->errmsg, sizeof(c->errmsg), "%s",
                 rc == CURLE_OPERATION_TIMEDOUT ? "total time limit reached"
                 : rc == CURLE_OUT_OF_MEMORY
                     ? "the reply's status line or headers are too large "
                       "(libcurl: out of memory)"
                     : curl_easy_strerror(rc));
    return err;
}

/* Take the transfer off 'm' (a transfer still running is cut: its
 * connection is closed) and fill in what it did. */
static void
transfer_end(struct transfer *t, CURLM *m)
{
    struct sy_upstream_call *c = t->c;
    c->request_sent = request_sent(t->easy, c);
    long reused = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &reused);
    c->reused_connection = reused == 0;
    curl_multi_remove_handle(m, t->easy);
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    c->total_us = sy_now_us() - t->start_us;
}

/* The longest wait in curl_multi_poll. Every deadline the loops keep
 * (first byte, idle gap, a hedge's start) and libcurl's own timers are
 * in 'deadline' and curl_multi_timeout, and data wakes the poll: the cap
 * is only a safety net. It was a second, which woke each held stream's
 * thread every second between events (60 to 79 us of CPU per held
 * stream-second in bench/scale.sh). */
#define POLL_CAP_MS 30000u

/* Wait for the calls on 'u' (and the caller's connection, when watched)
 * for 'ms'. False when the caller left: the calls are to end at once.
 * A watch that cannot tell (sy_upstream_watch) is dropped for the rest
 * of the request, so that unread input cannot wake every poll. */
static bool
wait_calls(struct sy_upstream *u, int ms)
{
    struct curl_waitfd w = { .fd = u->watch_fd, .events = CURL_WAIT_POLLIN };
    bool watch = u->watch_fd >= 0;
    curl_multi_poll(u->multi, watch ? &w : NULL, watch ? 1 : 0, ms, NULL);
    if (!watch || !(w.revents & CURL_WAIT_POLLIN))
        return true;
    int r = u->left(u->left_ud);
    if (r < 0)
        u->watch_fd = -1;
    return r != 1;
}

/* How long to wait in curl_multi_poll: until 'deadline', or sooner when
 * libcurl asks, and never more than POLL_CAP_MS. */
static int
poll_ms(CURLM *m, uint64_t now, uint64_t deadline)
{
    long curl_wait = -1;
    curl_multi_timeout(m, &curl_wait);
    uint64_t wait_ms = deadline > now ? (deadline - now + 999) / 1000 : 0;
    if (curl_wait >= 0 && (uint64_t)curl_wait < wait_ms)
        wait_ms = (uint64_t)curl_wait;
    if (wait_ms > POLL_CAP_MS)
        wait_ms = POLL_CAP_MS;
    return (int)wait_ms;
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
    struct transfer t;
    enum sy_err err = transfer_start(&t, u->easy, u->multi, c);
    if (err != SY_OK)
        return err;
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
        err = transfer_deadline(&t, now, &deadline);
        if (err != SY_OK)
            break;
        if (!wait_calls(u, poll_ms(u->multi, now, deadline))) {
            snprintf(c->errmsg, sizeof(c->errmsg), "the caller left");
            err = SY_EGONE;
            break;
        }
    }
    if (err == SY_OK) {
        int left;
        CURLMsg *m;
        CURLcode rc = CURLE_OK;
        while ((m = curl_multi_info_read(u->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE)
                rc = m->data.result;
        err = transfer_result(&t, rc);
    }
    transfer_end(&t, u->multi);
    return err;
}

/* One call of a hedged pair ends: off the multi handle, to the caller. */
static void
pair_end(struct transfer *t, bool *active, CURLM *m,
         const struct sy_upstream_pair *p, enum sy_err e)
{
    transfer_end(t, m);
    *active = false;
    p->done(p->ud, t->c, e);
}

/* The calls of a pair libcurl finished, in the order it reports them. */
static void
pair_reap(struct transfer *ts, bool *active, CURLM *m,
          const struct sy_upstream_pair *p)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        for (int i = 0; i < 2; i++)
            if (active[i] && ts[i].easy == msg->easy_handle) {
                CURLcode rc = msg->data.result;
                pair_end(&ts[i], &active[i], m, p, transfer_result(&ts[i], rc));
            }
    }
}

/* A hedged pair: perform 'a'; at 'b_at_us' (sy_now_us) ask p->start for
 * a second call (again at the time it names, while it gives none and
 * 'a' runs), and run it beside 'a' on this thread's second handle.
 * p->done is called once for each call that ran, as it ends: with its
 * outcome (as sy_upstream_perform returns it), or SY_EGONE when it was
 * cancelled: a callback set its 'cancel', and the transfer was cut at
 * once (its connection closed). Returns when both have ended. */
void
sy_upstream_perform_pair(struct sy_upstream *u, struct sy_upstream_call *a,
                         uint64_t b_at_us, const struct sy_upstream_pair *p)
{
    struct transfer ts[2];
    bool active[2] = { false, false };
    enum sy_err e = transfer_start(&ts[0], u->easy, u->multi, a);
    if (e != SY_OK) {
        p->done(p->ud, a, e);
        return;
    }
    active[0] = true;
    while (active[0] || active[1]) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(u->multi, &running);
        if (mc == CURLM_OK)
            pair_reap(ts, active, u->multi, p);
        uint64_t now = sy_now_us();
        uint64_t next = now + POLL_CAP_MS * 1000ull;
        for (int i = 0; i < 2; i++) {
            uint64_t d = next;
            if (!active[i])
                continue;
            if (mc != CURLM_OK) {
                snprintf(ts[i].c->errmsg, sizeof(ts[i].c->errmsg),
                         "curl multi: %s", curl_multi_strerror(mc));
                pair_end(&ts[i], &active[i], u->multi, p, SY_EUP_PROTO);
            } else if (ts[i].c->cancel) {
                pair_end(&ts[i], &active[i], u->multi, p, SY_EGONE);
            } else if ((e = transfer_deadline(&ts[i], now, &d)) != SY_OK) {
                pair_end(&ts[i], &active[i], u->multi, p, e);
            }
            next = SY_MIN(next, d);
        }
        /* A callback may have cancelled the one checked first. */
        if (active[0] && ts[0].c->cancel)
            pair_end(&ts[0], &active[0], u->multi, p, SY_EGONE);
        if (!active[0] && !active[1])
            break;
        if (b_at_us != 0 && now >= b_at_us) {
            uint64_t again = 0;
            struct sy_upstream_call *b = p->start(p->ud, &again);
            /* None now: asked again at 'again' if later, else never. */
            b_at_us = b == NULL && again > now ? again : 0;
            if (b != NULL) {
                if (u->easy2 == NULL)
                    u->easy2 = new_easy();
                e = transfer_start(&ts[1], u->easy2, u->multi, b);
                if (e == SY_OK)
                    active[1] = true;
                else
                    p->done(p->ud, b, e);
                continue; /* start it now */
            }
        }
        if (b_at_us != 0)
            next = SY_MIN(next, b_at_us);
        if (!wait_calls(u, poll_ms(u->multi, now, next))) {
            /* The caller left: both calls are cut, as cancelled ones. */
            for (int i = 0; i < 2; i++)
                if (active[i])
                    pair_end(&ts[i], &active[i], u->multi, p, SY_EGONE);
        }
    }
}
