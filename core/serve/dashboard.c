/*
 * dashboard.c - GET /dashboard: serves the embedded dashboard page with
 * the headers that keep it a page of ours only: a strict
 * Content-Security-Policy, no caching, no type sniffing, no framing.
 *
 * The policy allows nothing by default. The page's one inline script and
 * one inline style are allowed by their SHA-256 hashes, computed here
 * from the embedded bytes (once per process), so the policy always
 * matches the page and no 'unsafe-inline' is needed: were a metric label
 * ever to smuggle markup into the page, no script of its own could run.
 * connect-src 'self' lets the page fetch the metrics of its own origin
 * and nothing else; img-src data: is the empty favicon (no request for
 * /favicon.ico).
 *
 * Who may load the page is decided by the rule of /metrics
 * (dashboard_allowed). The page holds no data; what it shows comes from
 * /metrics, which checks the caller on every poll (the page asks for the
 * admin key when /metrics answers 401 or 403).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "dashboard.h"
#include "pipeline_int.h"
#include "metrics.h"
#include "api/req.h"
#include "io/worker.h"
#include "base/base64.h"
#include "base/log.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CSP_MAX 512

/* The bytes between "<TAG>" and "</TAG>" of the first TAG element of
 * 'page'; NULL when there is none. */
static const char *
element_body(const char *page, size_t len, const char *open, const char *close,
             size_t *out_len)
{
    const char *end = page + len;
    const char *a = memmem(page, len, open, strlen(open));
    if (a == NULL)
        return NULL;
    a += strlen(open);
    const char *b = memmem(a, (size_t)(end - a), close, strlen(close));
    if (b == NULL)
        return NULL;
    *out_len = (size_t)(b - a);
    return a;
}

/* "'sha256-<base64>'" of 'n' bytes at 'p' into 'out' (64 bytes at least). */
static bool
hash_source(const char *p, size_t n, char *out, size_t out_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char b64[SY_BASE64_LEN(EVP_MAX_MD_SIZE)];
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    sy_base64_encode(md, mdlen, b64);
    int w = snprintf(out, out_len, "'sha256-%s'", b64);
    return w > 0 && (size_t)w < out_len;
}

bool
sy_dashboard_csp(const char *page, size_t len, char *out, size_t n)
{
    size_t slen = 0, clen = 0;
    const char *script =
        element_body(page, len, "<script>", "</script>", &slen);
    const char *style = element_body(page, len, "<style>", "</style>", &clen);
    char sh[64], ch[64];
    if (script == NULL || style == NULL ||
        !hash_source(script, slen, sh, sizeof(sh)) ||
        !hash_source(style, clen, ch, sizeof(ch)))
        return false;
    int w = snprintf(out, n,
                     "default-src 'none'; script-src %s; style-src %s; "
                     "connect-src 'self'; img-src data:; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'",
                     sh, ch);
    return w > 0 && (size_t)w < n;
}

/* The policy, built once per process: the page never changes. */
static char csp_value[CSP_MAX];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void
csp_build(void)
{
    size_t len = 0;
    const char *page = sy_dashboard_html(&len);
    if (!sy_dashboard_csp(page, len, csp_value, sizeof(csp_value))) {
        /* Fail closed: the page shows, its script does not run. */
        sy_log_error(NULL, "dashboard: no script/style element to hash; "
                           "serving the page with scripts blocked");
        snprintf(csp_value, sizeof(csp_value), "default-src 'none'");
    }
}

/* May this caller load the page? The rule of /metrics
 * (core/serve/metrics.c), with one difference: where /metrics would
 * answer 401 (an admin key is configured and the caller is outside
 * metrics.allow), the page is served anyway, because a browser cannot put
 * a Bearer key on a navigation: the page asks for the key and sends it on
 * its polls, and every number stays behind /metrics' own check. Where no
 * key could ever let the caller in (403) the page is refused too. For
 * exactly the /metrics rule, return sy_metrics_allowed(c). False when the
 * answer has been sent. */
static bool
dashboard_allowed(struct pctx *c)
{
    if (sy_metrics_access(c->w->cfg, c->r->authorization, c->r->remote_addr) ==
        SY_METRICS_UNAUTHORIZED)
        return true;
    return sy_metrics_allowed(c);
}

void
sy_pipeline_handle_dashboard(struct pctx *c)
{
    if (!dashboard_allowed(c))
        return;
    pthread_once(&csp_once, csp_build);
    char extra[CSP_MAX + 160];
    snprintf(extra, sizeof(extra),
             "Content-Security-Policy: %s\r\n"
             "Cache-Control: no-store\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: no-referrer\r\n",
             csp_value);
    size_t len = 0;
    const char *page = sy_dashboard_html(&len);
    sy_pipeline_send_bytes(c, 200, "text/html; charset=utf-8", extra, page,
                           len);
}
