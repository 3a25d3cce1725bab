/*
 * upstream_post.c - small blocking HTTP POSTs on a handle of their own,
 * for background senders (the span exporter, io/otlp.c), never for the
 * request threads' provider calls (upstream.c). Part of the libcurl
 * wrapper: the only other file that includes curl.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "upstream.h"
#include "base/clock.h"
#include "base/mem.h"
#include "api/adapter.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct sy_poster {
    CURL *easy;                   /* owned; keeps its connection */
    _Atomic uint64_t abort_at_ms; /* monotonic; 0 = never (sy_poster_abort) */
};

/* The reply body is not needed: read and dropped. */
static size_t
drop_body(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

/* libcurl asks often during a transfer: stop it once the abort time
 * set by another thread has passed. */
static int
on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
            curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    struct sy_poster *p = ud;
    uint64_t at = atomic_load(&p->abort_at_ms);
    return at != 0 && sy_now_ms() >= at;
}

/* A poster for one thread; sy_upstream_global_init() must have run.
 * Free with sy_poster_free(). */
struct sy_poster *
sy_poster_new(void)
{
    struct sy_poster *p = sy_xcalloc(1, sizeof(*p));
    p->easy = curl_easy_init();
    if (p->easy == NULL)
        sy_oom(sizeof(*p));
    atomic_init(&p->abort_at_ms, 0);
    CURL *e = p->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, p);
    return p;
}

void
sy_poster_free(struct sy_poster *p)
{
    if (p == NULL)
        return;
    curl_easy_cleanup(p->easy);
    free(p);
}

/* From any thread: a POST running (or started) after 'deadline_ms'
 * (sy_now_ms clock) gives up. For a prompt shutdown. */
void
sy_poster_abort_at(struct sy_poster *p, uint64_t deadline_ms)
{
    atomic_store(&p->abort_at_ms, deadline_ms);
}

/* POST 'len' bytes of 'body' ('ctype') to 'url' with 'h' extra headers,
 * within 'timeout_ms'. Returns the HTTP status, or 0 when none came
 * back ('err' says why; it never holds a header value). */
int
sy_poster_post(struct sy_poster *p, const char *url, const char *ctype,
               const struct sy_header_kv *h, size_t nh, const char *body,
               size_t len, uint32_t timeout_ms, char *err, size_t errlen)
{
    CURL *e = p->easy;
    struct curl_slist *hl = NULL;
    char line[1024];
    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    hl = curl_slist_append(hl, line);
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; i < nh && hl != NULL; i++) {
        snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
        struct curl_slist *n = curl_slist_append(hl, line);
        if (n == NULL)
            break;
        hl = n;
    }
    if (hl == NULL)
        sy_oom(sizeof(line));
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    CURLcode rc = curl_easy_perform(e);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return (int)status;
}
