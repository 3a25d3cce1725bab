/*
 * wait_share.c - streams waiting for a first token, seen by every
 * process of the cluster (wait_share.h says why and how).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "wait_share.h"
#include "keys.h"
#include "base/buf.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/traceparent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stale fields deleted per batch; more wait for the next. */
#define STALE_MAX 16
/* The value of one process: its deployments with waits, each a name
 * and two numbers. */
#define VALUE_MAX (64u << 10)

struct sy_wait_share {
    const struct sy_config *cfg;
    char field[300];   /* "<host>:<pid>:<random>": this process's */
    bool published;    /* its field may be in the hash */
    uint32_t fresh_ms; /* a field older than this is ignored */
    char *stale[STALE_MAX];
    size_t nstale;
    struct sy_buf value;
    uint64_t *starts; /* per deployment, SY_INFLIGHT_REMOTE of the
                         others' starts (µs) gathered by a read */
    size_t *nstarts;
    uint64_t *ended; /* the same of their ended waits: (~length << 32) |
                        end (ms), so the longest sort first */
    size_t *nended;
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
    size_t n = cfg->ndeployments + 1;
    ws->starts = sy_xcalloc(n * SY_INFLIGHT_REMOTE, sizeof(*ws->starts));
    ws->nstarts = sy_xcalloc(n, sizeof(*ws->nstarts));
    ws->ended = sy_xcalloc(n * SY_INFLIGHT_REMOTE, sizeof(*ws->ended));
    ws->nended = sy_xcalloc(n, sizeof(*ws->nended));
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
    free(ws->starts);
    free(ws->nstarts);
    free(ws->ended);
    free(ws->nended);
    free(ws);
}

/* This process's value: the time, then each deployment's oldest waits
 * in wall-clock ms. False when it has none. */
static bool
own_value(struct sy_wait_share *ws, const struct sy_inflight *f,
          uint64_t now_us, uint64_t wall_ms)
{
    struct sy_buf *v = &ws->value;
    sy_buf_clear(v);
    sy_buf_printf(v, "%llu", (unsigned long long)wall_ms);
    bool any = false;
    uint64_t now_ms = now_us / 1000;
    for (size_t i = 0; i < ws->cfg->ndeployments; i++) {
        uint64_t s[2], e[2];
        uint32_t len[2];
        size_t n = sy_inflight_oldest(f, i, now_us, SY_WAIT_SHARE_MIN_MS, s);
        size_t m =
            sy_inflight_ended(f, i, now_us, SY_WAIT_SHARE_MIN_MS, e, len);
        if (n + m == 0)
            continue;
        sy_buf_printf(v, " %s=", ws->cfg->deployments[i].name);
        for (size_t k = 0; k < n; k++) {
            uint64_t age_ms = (now_us - s[k]) / 1000;
            sy_buf_printf(v, "%s%llu", k > 0 ? "," : "",
                          (unsigned long long)(wall_ms - age_ms));
        }
        for (size_t k = 0; k < m; k++) {
            uint64_t ago_ms = now_ms > e[k] ? now_ms - e[k] : 0;
            sy_buf_printf(v, "%s%llu+%u", n + k > 0 ? "," : "",
                          (unsigned long long)(wall_ms - ago_ms), len[k]);
        }
        any = true;
    }
    return any && !sy_buf_failed(v);
}

size_t
sy_wait_share_flush(struct sy_wait_share *ws, struct sy_store_batch *b,
                    const char *prefix, const struct sy_inflight *f,
                    uint64_t now_us, uint64_t wall_ms, bool last)
{
    char key[SY_KEY_MAX];
    if (!sy_key_fits(sy_key_waits(key, sizeof(key), prefix), sizeof(key)))
        return 0;
    size_t n0 = b->n;
    bool any = !last && own_value(ws, f, now_us, wall_ms);
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

/* A decimal number at '*p' (before 'end'); advances past it. */
static bool
number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t x = 0;
    while (s < end && *s >= '0' && *s <= '9' && s - *p < 19)
        x = x * 10 + (uint64_t)(*s++ - '0');
    if (s == *p)
        return false;
    *p = s;
    *out = x;
    return true;
}

bool
sy_wait_share_parse(const struct sy_config *cfg, const char *v, size_t len,
                    uint64_t wall_ms, uint32_t fresh_ms, bool *stale,
                    void (*on)(void *ud, size_t dep, uint64_t ms,
                               uint32_t len_ms),
                    void *ud)
{
    const char *p = v, *end = v + len;
    uint64_t written;
    *stale = false;
    if (!number(&p, end, &written))
        return false;
    if (written + fresh_ms < wall_ms) {
        *stale = written + SY_WAIT_SHARE_STALE_MS < wall_ms;
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
        size_t dep = dep_named(cfg, name, (size_t)(p - name));
        p++;
        for (;;) {
            uint64_t t, dur = 0;
            if (!number(&p, end, &t))
                return false;
            /* "<end>+<length>": an ended wait */
            if (p < end && *p == '+') {
                p++;
                if (!number(&p, end, &dur) || dur == 0 || dur > UINT32_MAX)
                    return false;
            }
            /* A time after now: a clock ahead of ours; as far as we can
             * tell that wait has not started (or ended) yet. */
            if (dep != SIZE_MAX && t <= wall_ms)
                on(ud, dep, t, (uint32_t)dur);
            if (p == end || *p != ',')
                break;
            p++;
        }
    }
    return true;
}

struct gather {
    struct sy_wait_share *ws;
    uint64_t now_us;
    uint64_t wall_ms;
};

/* Keep 'x' among the 'cap' smallest of 'row' ('*n' of them so far). */
static void
keep_smallest(uint64_t *row, size_t *n, size_t cap, uint64_t x)
{
    if (*n < cap) {
        row[(*n)++] = x;
        return;
    }
    size_t big = 0;
    for (size_t k = 1; k < *n; k++)
        if (row[k] > row[big])
            big = k;
    if (x < row[big])
        row[big] = x;
}

/* One of the others' waits, on this process's clocks: a start (µs) kept
 * among its deployment's oldest, or an end (ms) and length kept among
 * its longest. */
static void
gather_one(void *ud, size_t dep, uint64_t ms, uint32_t len_ms)
{
    struct gather *g = ud;
    struct sy_wait_share *ws = g->ws;
    uint64_t ago_us = (g->wall_ms - ms) * 1000;
    if (ago_us >= g->now_us)
        return;
    uint64_t t_us = g->now_us - ago_us;
    if (len_ms == 0) {
        keep_smallest(&ws->starts[dep * SY_INFLIGHT_REMOTE], &ws->nstarts[dep],
                      SY_INFLIGHT_REMOTE, t_us);
        return;
    }
    /* Kept by length, longest first: the smallest of ~length. */
    uint64_t packed = ((uint64_t)(UINT32_MAX - len_ms) << 32) |
                      SY_MIN(t_us / 1000, (uint64_t)UINT32_MAX);
    keep_smallest(&ws->ended[dep * SY_INFLIGHT_REMOTE], &ws->nended[dep],
                  SY_INFLIGHT_REMOTE, packed);
}

void
sy_wait_share_done(struct sy_wait_share *ws, const struct sy_store_val *replies,
                   size_t n, struct sy_inflight *f, uint64_t now_us,
                   uint64_t wall_ms)
{
    const struct sy_config *cfg = ws->cfg;
    memset(ws->nstarts, 0, (cfg->ndeployments + 1) * sizeof(*ws->nstarts));
    memset(ws->nended, 0, (cfg->ndeployments + 1) * sizeof(*ws->nended));
    const struct sy_store_val *all =
        replies != NULL && n > 0 ? &replies[n - 1] : NULL;
    if (replies == NULL)
        ws->published = true; /* unknown: deleted at the next batch */
    struct gather g = { ws, now_us, wall_ms };
    for (size_t i = 0;
         all != NULL && all->type == SY_STORE_ARRAY && i + 1 < all->n; i += 2) {
        const struct sy_store_val *k = &all->elem[i], *v = &all->elem[i + 1];
        if (k->type != SY_STORE_STR || v->type != SY_STORE_STR ||
            strcmp(k->str, ws->field) == 0)
            continue;
        bool stale;
        if (!sy_wait_share_parse(cfg, v->str, v->len, wall_ms, ws->fresh_ms,
                                 &stale, gather_one, &g) &&
            stale && ws->nstale < STALE_MAX)
            ws->stale[ws->nstale++] = sy_xstrdup(k->str);
    }
    for (size_t d = 0; d < cfg->ndeployments; d++) {
        sy_inflight_set_remote(f, d, &ws->starts[d * SY_INFLIGHT_REMOTE],
                               ws->nstarts[d]);
        uint64_t end_ms[SY_INFLIGHT_REMOTE];
        uint32_t len_ms[SY_INFLIGHT_REMOTE];
        const uint64_t *row = &ws->ended[d * SY_INFLIGHT_REMOTE];
        for (size_t k = 0; k < ws->nended[d]; k++) {
            len_ms[k] = UINT32_MAX - (uint32_t)(row[k] >> 32);
            end_ms[k] = row[k] & UINT32_MAX;
        }
        sy_inflight_set_remote_ended(f, d, end_ms, len_ms, ws->nended[d]);
    }
}
