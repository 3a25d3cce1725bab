/*
 * wait_share.c - streams waiting for a first token, seen by every
 * process of the cluster when enough of them are slow (wait_share.h says
 * why and how).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "wait_share.h"
#include "hedge.h"
#include "keys.h"
#include "state.h" /* struct sy_dep_view */
#include "base/buf.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/traceparent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stale fields deleted per batch; more wait for the next. */
#define STALE_MAX 16
/* The value of one process: its deployments with slow waits, each a name
 * and four numbers. */
#define VALUE_MAX (64u << 10)

/* What the others said of one deployment, summed over them. */
struct gathered {
    uint64_t waiting;
    uint64_t slow;
    uint64_t start_us[SY_INFLIGHT_REMOTE]; /* the oldest, our clock */
    size_t nstart;
};

struct sy_wait_share {
    const struct sy_config *cfg;
    char field[300];   /* "<host>:<pid>:<random>": this process's */
    bool published;    /* its field may be in the hash */
    uint32_t fresh_ms; /* a field older than this is ignored */
    char *stale[STALE_MAX];
    size_t nstale;
    struct sy_buf value;
    struct gathered *g; /* per deployment, by the last read */
    uint64_t read_us;   /* the clocks when the read was sent */
    uint64_t read_wall;
    struct sy_dep_view *views; /* the process's view, for the p95s */
    uint32_t *p95;             /* each deployment's TTFT p95 (0: none) */
};

struct sy_wait_share *
sy_wait_share_new(const struct sy_config *cfg)
{
    struct sy_wait_share *ws = sy_xcalloc(1, sizeof(*ws));
    ws->cfg = cfg;
    ws->fresh_ms = 2 * cfg->state.refresh_ms + 1000;
    char host[256];
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    /* The random part: containers may share a host name and a pid. */
    char tag[9];
    sy_trace_random_hex(tag, 4);
    snprintf(ws->field, sizeof(ws->field), "%s:%ld:%s", host, (long)getpid(),
             tag);
    sy_buf_init(&ws->value, VALUE_MAX);
    ws->g = sy_xcalloc(cfg->ndeployments + 1, sizeof(*ws->g));
    ws->views = sy_xcalloc(cfg->ndeployments + 1, sizeof(*ws->views));
    ws->p95 = sy_xcalloc(cfg->ndeployments + 1, sizeof(*ws->p95));
    return ws;
}

void
sy_wait_share_free(struct sy_wait_share *ws)
{
    if (ws == NULL)
        return;
    for (size_t i = 0; i < ws->nstale; i++)
        free(ws->stale[i]);
    sy_buf_free(&ws->value);
    free(ws->g);
    free(ws->views);
    free(ws->p95);
    free(ws);
}

/* This process's value: the time, then each deployment on which one of
 * its streams waits past the p95. False when there is none. */
static bool
own_value(struct sy_wait_share *ws, const struct sy_inflight *f,
          const uint32_t *p95_ms, uint64_t now_us, uint64_t wall_ms)
{
    struct sy_buf *v = &ws->value;
    sy_buf_clear(v);
    sy_buf_printf(v, "%llu", (unsigned long long)wall_ms);
    bool any = false;
    for (size_t i = 0; i < ws->cfg->ndeployments; i++) {
        unsigned slow = p95_ms[i] > 0
                            ? sy_inflight_here_longer(f, i, now_us, p95_ms[i])
                            : 0;
        uint64_t s[2];
        size_t n = slow > 0 ? sy_inflight_oldest(f, i, now_us, 0, s) : 0;
        if (n == 0)
            continue;
        sy_buf_printf(v, " %s=%u:%u:", ws->cfg->deployments[i].name,
                      sy_inflight_waiting(f, i), slow);
        for (size_t k = 0; k < n; k++)
            sy_buf_printf(
                v, "%s%llu", k > 0 ? "," : "",
                (unsigned long long)(wall_ms - (now_us - s[k]) / 1000));
        any = true;
    }
    return any && !sy_buf_failed(v);
}

struct sy_dep_view *
sy_wait_share_views(struct sy_wait_share *ws)
{
    return ws->views;
}

size_t
sy_wait_share_flush(struct sy_wait_share *ws, struct sy_store_batch *b,
                    const char *prefix, const struct sy_inflight *f, bool last)
{
    char key[SY_KEY_MAX];
    if (!sy_key_fits(sy_key_waits(key, sizeof(key), prefix), sizeof(key)))
        return 0;
    for (size_t i = 0; !last && i < ws->cfg->ndeployments; i++)
        ws->p95[i] = sy_hedge_ttft_of(&ws->views[i]).p95_ms;
    /* Both clocks at once: the starts are written in wall time. */
    ws->read_us = sy_now_us();
    ws->read_wall = sy_wall_ms();
    size_t n0 = b->n;
    bool any = !last && own_value(ws, f, ws->p95, ws->read_us, ws->read_wall);
    if (any) {
        sy_store_batch_addl(b, "HSET", key, ws->field, sy_buf_cstr(&ws->value),
                            NULL);
        sy_store_batch_addl(b, "PEXPIRE", key, "60000", NULL);
        ws->published = true;
    } else if (ws->published) {
        sy_store_batch_addl(b, "HDEL", key, ws->field, NULL);
        ws->published = false;
    }
    for (size_t i = 0; i < ws->nstale; i++) {
        if (!last)
            sy_store_batch_addl(b, "HDEL", key, ws->stale[i], NULL);
        free(ws->stale[i]);
    }
    ws->nstale = 0;
    if (!last)
        sy_store_batch_addl(b, "HGETALL", key, NULL);
    return b->n - n0;
}

/* Deployment of 'cfg' named by 'name' ('len' bytes), or SIZE_MAX. */
static size_t
dep_named(const struct sy_config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const char *d = cfg->deployments[i].name;
        if (strlen(d) == len && memcmp(d, name, len) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* A decimal number at '*p' (before 'end'), at most 'max'; advances past
 * it. */
static bool
number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t x = 0;
    while (s < end && *s >= '0' && *s <= '9' && s - *p < 19)
        x = x * 10 + (uint64_t)(*s++ - '0');
    if (s == *p || x > max)
        return false;
    *p = s;
    *out = x;
    return true;
}

/* One entry after its '=': "<waiting>:<slow>:<start>[,<start>]". */
static bool
parse_entry(const char **p, const char *end, uint64_t wall_ms,
            struct sy_wait_entry *e)
{
    uint64_t w, s;
    if (!number(p, end, UINT32_MAX, &w) || *p == end || *(*p)++ != ':' ||
        !number(p, end, w, &s) || *p == end || *(*p)++ != ':')
        return false;
    e->waiting = (uint32_t)w;
    e->slow = (uint32_t)s;
    e->nstart = 0;
    for (;;) {
        uint64_t t;
        if (!number(p, end, UINT64_MAX, &t))
            return false;
        /* A start after now: a clock ahead of ours; as far as we can
         * tell, that stream has not waited yet. */
        if (t <= wall_ms && e->nstart < 2)
            e->start[e->nstart++] = t;
        if (*p == end || **p != ',')
            return true;
        (*p)++;
    }
}

bool
sy_wait_share_parse(const struct sy_config *cfg, const char *v, size_t len,
                    uint64_t wall_ms, uint32_t fresh_ms, bool *stale,
                    void (*on)(void *ud, const struct sy_wait_entry *e),
                    void *ud)
{
    const char *p = v, *end = v + len;
    uint64_t written;
    *stale = false;
    if (!number(&p, end, UINT64_MAX, &written))
        return false;
    /* Not rewritten lately, or from a clock far ahead: not to be
     * believed (and, a minute off, deleted). */
    uint64_t off = written > wall_ms ? written - wall_ms : wall_ms - written;
    if (off > fresh_ms) {
        *stale = off > SY_WAIT_SHARE_STALE_MS;
        return false;
    }
    while (p < end) {
        if (*p++ != ' ')
            return false;
        const char *name = p;
        while (p < end && *p != '=' && *p != ' ')
            p++;
        if (p == end || p == name || *p != '=')
            return false;
        struct sy_wait_entry e;
        e.dep = dep_named(cfg, name, (size_t)(p - name));
        p++;
        if (!parse_entry(&p, end, wall_ms, &e))
            return false;
        if (e.dep != SIZE_MAX)
            on(ud, &e);
    }
    return true;
}

/* One of the others' entries, summed into its deployment's; its starts
 * on this process's clock, kept among the oldest. */
static void
gather(void *ud, const struct sy_wait_entry *e)
{
    struct sy_wait_share *ws = ud;
    struct gathered *g = &ws->g[e->dep];
    g->waiting += e->waiting;
    g->slow += e->slow;
    for (size_t k = 0; k < e->nstart; k++) {
        uint64_t ago_us = (ws->read_wall - e->start[k]) * 1000;
        if (ago_us >= ws->read_us)
            continue;
        uint64_t s = ws->read_us - ago_us;
        if (g->nstart < SY_INFLIGHT_REMOTE) {
            g->start_us[g->nstart++] = s;
            continue;
        }
        size_t young = 0;
        for (size_t i = 1; i < g->nstart; i++)
            if (g->start_us[i] > g->start_us[young])
                young = i;
        if (s < g->start_us[young])
            g->start_us[young] = s;
    }
}

void
sy_wait_share_done(struct sy_wait_share *ws, const struct sy_store_val *replies,
                   size_t n, struct sy_inflight *f)
{
    const struct sy_config *cfg = ws->cfg;
    memset(ws->g, 0, (cfg->ndeployments + 1) * sizeof(*ws->g));
    const struct sy_store_val *all =
        replies != NULL && n > 0 ? &replies[n - 1] : NULL;
    if (replies == NULL)
        ws->published = true; /* unknown: deleted at the next batch */
    for (size_t i = 0;
         all != NULL && all->type == SY_STORE_ARRAY && i + 1 < all->n; i += 2) {
        const struct sy_store_val *k = &all->elem[i], *v = &all->elem[i + 1];
        if (k->type != SY_STORE_STR || v->type != SY_STORE_STR ||
            strcmp(k->str, ws->field) == 0)
            continue;
        bool stale;
        if (!sy_wait_share_parse(cfg, v->str, v->len, ws->read_wall,
                                 ws->fresh_ms, &stale, gather, ws) &&
            stale && ws->nstale < STALE_MAX)
            ws->stale[ws->nstale++] = sy_xstrdup(k->str);
    }
    for (size_t d = 0; d < cfg->ndeployments; d++) {
        const struct gathered *g = &ws->g[d];
        /* The cluster's streams: the others' as read, and ours now. */
        uint64_t slow = g->slow, waiting = g->waiting;
        if (ws->p95[d] > 0) {
            slow += sy_inflight_here_longer(f, d, ws->read_us, ws->p95[d]);
            waiting += sy_inflight_waiting(f, d);
        }
        bool quorum =
            g->slow > 0 && slow >= SY_WAIT_SHARE_QUORUM && 2 * slow >= waiting;
        sy_inflight_set_remote(f, d, g->start_us, quorum ? g->nstart : 0);
    }
}
