/*
 * metrics.c - GET /metrics (see metrics.h): the access rule, the
 * handler (read with core/state/metrics_read.c, render with
 * metrics_render.c, answer in the Prometheus text format) and the hook
 * the route table calls when any request ends, which only adds to the
 * host's counters. Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "metrics.h"
#include "ledger.h"
#include "pipeline_int.h"
#include "prom.h"
#include "api/req.h"
#include "api/sink.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/clock.h"
#include "base/hmac.h"
#include "base/mem.h"
#include "config/config.h"
#include "io/worker.h"
#include "state/metrics_read.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define METRICS_BODY_MAX (32u << 20) /* a scrape's text */

/* The rule: "Authorization: Bearer <admin key>" (constant time), or a
 * client address (the web server's REMOTE_ADDR) inside metrics.allow
 * (the default list, the local host, only counts while no admin key is
 * configured: config_metrics.c says why).
 * A wrong key is refused even from an allowed address: a caller that
 * sends one means to use it, and must learn it is wrong. */
enum sy_metrics_access
sy_metrics_access(const struct sy_config *cfg, const char *authorization,
                  const char *remote_addr)
{
    const char *key = cfg->server.admin_key;
    if (authorization != NULL && authorization[0] != '\0') {
        const char *au = authorization;
        if (key != NULL && strncasecmp(au, "Bearer ", 7) == 0 &&
            sy_const_equal(au + 7, strlen(au + 7), key,
                           cfg->server.admin_key_len))
            return SY_METRICS_ALLOWED;
        return SY_METRICS_UNAUTHORIZED;
    }
    bool list = !(cfg->metrics.allow_default && key != NULL);
    if (list &&
        sy_cidr_match_any(cfg->metrics.allow, cfg->metrics.nallow, remote_addr))
        return SY_METRICS_ALLOWED;
    return key != NULL ? SY_METRICS_UNAUTHORIZED : SY_METRICS_FORBIDDEN;
}

/* May request 'c' read /metrics (or /dashboard)? When not, it has been
 * answered 401 or 403 in the OpenAI error shape. */
bool
sy_metrics_allowed(struct pctx *c)
{
    switch (
        sy_metrics_access(c->w->cfg, c->r->authorization, c->r->remote_addr)) {
    case SY_METRICS_ALLOWED:
        return true;
    case SY_METRICS_UNAUTHORIZED:
        sy_pipeline_send_error(c, 401,
                               "send the admin key (Authorization: Bearer "
                               "<server.admin_key_env>) or call from an "
                               "address in metrics.allow",
                               "invalid_request_error", NULL, "invalid_api_key",
                               NULL);
        return false;
    default:
        sy_pipeline_send_error(c, 403,
                               "this address is not in metrics.allow (and "
                               "no admin key is configured)",
                               "invalid_request_error", NULL, "forbidden",
                               NULL);
        return false;
    }
}

/* GET /metrics. Redis down (or slow past its gate): 200 all the same,
 * with this process's gauges and switchyard_redis_up 0. */
void
sy_pipeline_handle_metrics(struct pctx *c)
{
    if (!sy_metrics_allowed(c))
        return;
    struct sy_worker *w = c->w;
    const struct sy_config *cfg = w->cfg;
    struct sy_metrics *m = sy_state_metrics(w->state);
    if (m == NULL) {
        sy_pipeline_send_err(c, SY_EUNAVAIL, "metrics are not kept here", NULL);
        return;
    }
    struct sy_dep_view *views =
        sy_xcalloc(cfg->ndeployments + 1, sizeof(*views));
    sy_state_views(w->state, views);
    struct sy_metrics_view v;
    sy_metrics_read(&v, m, cfg, w->store, sy_state_redis_on(w->state),
                    sy_wall_ms());
    struct sy_buf b;
    sy_buf_init(&b, METRICS_BODY_MAX);
    sy_metrics_render(&b, &v, cfg, views);
    if (sy_buf_failed(&b))
        sy_pipeline_send_err(c, SY_EINTERNAL, "the metrics do not fit", NULL);
    else
        sy_pipeline_send_body(c, 200, SY_PROM_CONTENT_TYPE,
                              "Cache-Control: no-store\r\n", &b);
    sy_buf_free(&b);
    sy_metrics_view_cleanup(&v);
    free(views);
}

/* The client API a path belongs to (label "surface"). */
enum sy_metrics_surface
sy_metrics_surface_of(const char *path)
{
    static const struct {
        const char *prefix;
        enum sy_metrics_surface s;
    } map[] = {
        { "/v1/chat/completions", SY_MS_CHAT },
        { "/v1/messages/count_tokens", SY_MS_COUNT_TOKENS },
        { "/v1/messages", SY_MS_MESSAGES },
        { "/v1/responses", SY_MS_RESPONSES },
        { "/v1/embeddings", SY_MS_EMBEDDINGS },
        { "/v1/models", SY_MS_MODELS },
    };
    for (size_t i = 0; path != NULL && i < SY_ARRAY_LEN(map); i++) {
        size_t n = strlen(map[i].prefix);
        if (strncmp(path, map[i].prefix, n) == 0 &&
            (path[n] == '\0' || path[n] == '/'))
            return map[i].s;
    }
    return SY_MS_OTHER;
}

/* The time covered by the 'n' attempts '*att': the union of their
 * intervals [end_us - total_us, end_us], so that the two calls of a
 * hedged pair, which run at once, count once. */
uint64_t
sy_metrics_attempts_us(const struct sy_attempt *const *att, unsigned n)
{
    uint64_t lo[SY_LEDGER_MAX_ATTEMPTS], hi[SY_LEDGER_MAX_ATTEMPTS];
    unsigned m = 0;
    for (unsigned i = 0; i < n && m < SY_LEDGER_MAX_ATTEMPTS; i++) {
        const struct sy_attempt *t = att[i];
        if (t->total_us == 0 || t->end_us < t->total_us)
            continue;
        /* insertion by start: a request has a few attempts */
        uint64_t a = t->end_us - t->total_us, b = t->end_us;
        unsigned j = m++;
        for (; j > 0 && lo[j - 1] > a; j--) {
            lo[j] = lo[j - 1];
            hi[j] = hi[j - 1];
        }
        lo[j] = a;
        hi[j] = b;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < m;) {
        uint64_t a = lo[i], b = hi[i];
        for (i++; i < m && lo[i] <= b; i++)
            b = SY_MAX(b, hi[i]);
        sum += b - a;
    }
    return sum;
}

/* Request 'c' has been answered: count it (status class, the group, the
 * deployment that answered, if any) and its overhead, the time not
 * spent in provider calls. Memory only. */
void
sy_metrics_request_done(struct pctx *c)
{
    struct sy_metrics *m = sy_state_metrics(c->w->state);
    if (m == NULL)
        return;
    const struct sy_attempt *att[SY_LEDGER_MAX_ATTEMPTS];
    for (unsigned i = 0; i < c->led.natt; i++)
        att[i] = sy_ledger_att(&c->led, i);
    uint64_t upstream = sy_metrics_attempts_us(att, c->led.natt);
    uint64_t total = sy_now_us() - c->start_us;
    const struct sy_group *g = c->group != NULL ? c->group : c->led.g;
    bool answered = c->dep != NULL && c->attempts > 0 &&
                    (c->result == SY_OK || c->result == SY_EUP_BADREQ);
    sy_metrics_request(m, sy_metrics_surface_of(c->r->path), g,
                       answered ? c->dep : NULL, c->s->status,
                       total > upstream ? total - upstream : 0);
}
