/*
 * ratelimit.c - sliding-window rate limits (requests or tokens per
 * window), reserved all or nothing across several limits, settled with
 * real usage, and parking after a 429. Twice, with the same arithmetic:
 * in memory (the local fallback, with the limits divided among the
 * workers) and as one Lua script over Redis (cluster-wide).
 *
 * Window. Time is cut into fixed windows of window_ms; a limit keeps one
 * counter per window. The load estimated at time t, elapsed ms into
 * window w, is prev * (window - elapsed) / window + cur (integer
 * division), where prev and cur are the counters of windows w-1 and w.
 * A request fits when estimate + min(cost, limit) <= limit (a request
 * larger than the whole limit goes only into an empty window) and is then
 * charged its full cost in window w. Counters expire after two windows,
 * so an unsettled reservation disappears by itself.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "ratelimit.h"
#include "keys.h"
#include "lua.h"
#include "base/log.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Pure logic                                                          */

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The sliding estimate 'elapsed_ms' into the current window. */
uint64_t
sy_ratelimit_estimate(uint64_t prev, uint64_t cur, uint32_t window_ms,
                      uint64_t elapsed_ms)
{
    if (window_ms == 0 || elapsed_ms >= window_ms)
        return cur;
    uint64_t left = window_ms - elapsed_ms;
    uint64_t part = prev <= UINT64_MAX / left ? prev * left / window_ms
                                              : prev / window_ms * left;
    return sat_add(part, cur);
}

/* The share of 'limit' one of 'workers' may use alone when Redis is down
 * (0 stays unlimited; never below 1). */
uint64_t
sy_ratelimit_local_limit(uint64_t limit, unsigned workers)
{
    if (limit == 0 || workers <= 1)
        return limit;
    uint64_t share = limit / workers;
    return share > 0 ? share : 1;
}

/* When does a refused request fit? The smallest wait t, within this
 * window, after which prev's decayed share leaves room for it:
 * floor(prev * (left - t) / window) <= limit - cur - need. When even a
 * fully decayed prev would not do (cur + need > limit), the end of the
 * window. At least 1 ms. The script computes the same. */
static uint32_t
retry_hint(uint64_t prev, uint64_t cur, uint64_t need, uint64_t limit,
           uint32_t window_ms, uint64_t elapsed_ms)
{
    uint64_t left = window_ms - elapsed_ms;
    uint64_t wait = left;
    if (prev > 0 && cur + need <= limit && prev <= UINT64_MAX / left &&
        limit - cur - need < UINT64_MAX / window_ms - 1) {
        uint64_t a = prev * left;
        uint64_t b = (limit - cur - need + 1) * window_ms;
        uint64_t t = a >= b ? (a - b) / prev + 1 : 0;
        if (t < wait)
            wait = t;
    }
    if (wait < 1)
        wait = 1;
    return wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
}

static void
roll(struct sy_ratelimit_window *w, uint64_t id)
{
    if (w->id == id)
        return;
    w->prev = w->id + 1 == id ? w->cur : 0;
    w->cur = 0;
    w->id = id;
}

/* Reserve items[0..n) on the local windows w[0..n) (one per item) at
 * 'now_ms': every item fits, and all are charged, or none is and 'out'
 * says which refused and for how long. */
void
sy_ratelimit_local_reserve(struct sy_ratelimit_window *const *w,
                           const struct sy_ratelimit_item *items, size_t n,
                           uint32_t window_ms, uint64_t now_ms,
                           struct sy_ratelimit_result *out)
{
    if (window_ms == 0)
        window_ms = 1;
    memset(out, 0, sizeof(*out));
    out->refused = -1;
    out->now_ms = now_ms;
    out->window_id = now_ms / window_ms;
    uint64_t elapsed = now_ms - out->window_id * window_ms;
    for (size_t i = 0; i < n; i++) {
        roll(w[i], out->window_id);
        if (w[i]->parked_until_ms > now_ms) {
            uint64_t left = w[i]->parked_until_ms - now_ms;
            out->refused = (int)i;
            out->parked = true;
            out->retry_after_ms =
                left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
            return;
        }
        uint64_t limit = items[i].limit;
        if (limit == 0)
            continue;
        uint64_t est =
            sy_ratelimit_estimate(w[i]->prev, w[i]->cur, window_ms, elapsed);
        uint64_t need = SY_MIN(items[i].cost, limit);
        if (sat_add(est, need) > limit) {
            out->refused = (int)i;
            out->retry_after_ms = retry_hint(w[i]->prev, w[i]->cur, need, limit,
                                             window_ms, elapsed);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].limit > 0)
            w[i]->cur = sat_add(w[i]->cur, items[i].cost);
    }
    out->allowed = true;
}

static void
adjust(uint64_t *counter, uint64_t cost, uint64_t used)
{
    if (used >= cost)
        *counter = sat_add(*counter, used - cost);
    else
        *counter = *counter > cost - used ? *counter - (cost - used) : 0;
}

/* Correct a reservation made in 'window_id' with the real 'used' amounts
 * (items[i].cost is what was reserved). A window that has already gone
 * by is left alone. */
void
sy_ratelimit_local_settle(struct sy_ratelimit_window *const *w,
                          const struct sy_ratelimit_item *items,
                          const uint64_t *used, size_t n, uint64_t window_id)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].limit == 0)
            continue;
        if (w[i]->id == window_id)
            adjust(&w[i]->cur, items[i].cost, used[i]);
        else if (w[i]->id == window_id + 1)
            adjust(&w[i]->prev, items[i].cost, used[i]);
    }
}

/* Refuse this limit for 'ms' from 'now_ms' (a 429 with Retry-After);
 * never shortens an earlier park. */
void
sy_ratelimit_local_park(struct sy_ratelimit_window *w, uint64_t now_ms,
                        uint32_t ms)
{
    if (now_ms + ms > w->parked_until_ms)
        w->parked_until_ms = now_ms + ms;
}

/* ------------------------------------------------------------------ */
/* Redis side                                                          */

/* The rate-limit script, lua/ratelimit.lua (KEYS and ARGV are described
 * there), embedded at build time; the store keeps its SHA by the struct's
 * address. */
static const struct sy_store_script script = { .name = "ratelimit",
                                               .embedded = sy_lua_ratelimit };

struct script_args {
    char keys_buf[SY_RATELIMIT_MAX_ITEMS][512];
    char num_buf[4 + 2 * SY_RATELIMIT_MAX_ITEMS][24];
    const char *keys[SY_RATELIMIT_MAX_ITEMS];
    const char *argv[4 + 2 * SY_RATELIMIT_MAX_ITEMS];
};

/* Build the script's arguments; 'amount(i)' is given per item by the
 * caller through 'amounts' (signed for settle). */
static enum sy_err
build_args(struct script_args *a, const char *prefix, const char *op,
           uint64_t now_ms, uint32_t window_ms, uint64_t window_id,
           const struct sy_ratelimit_item *items, const int64_t *amounts,
           size_t n)
{
    if (n == 0 || n > SY_RATELIMIT_MAX_ITEMS)
        return SY_EINTERNAL;
    a->argv[0] = op;
    snprintf(a->num_buf[0], sizeof(a->num_buf[0]), "%" PRIu64, now_ms);
    snprintf(a->num_buf[1], sizeof(a->num_buf[1]), "%" PRIu32, window_ms);
    snprintf(a->num_buf[2], sizeof(a->num_buf[2]), "%" PRIu64, window_id);
    a->argv[1] = a->num_buf[0];
    a->argv[2] = a->num_buf[1];
    a->argv[3] = a->num_buf[2];
    for (size_t i = 0; i < n; i++) {
        int len = sy_key_ratelimit(a->keys_buf[i], sizeof(a->keys_buf[i]),
                                   prefix, items[i].name);
        if (!sy_key_fits(len, sizeof(a->keys_buf[i])))
            return SY_EBADREQ;
        a->keys[i] = a->keys_buf[i];
        char *lim = a->num_buf[3 + 2 * i];
        char *amt = a->num_buf[4 + 2 * i];
        snprintf(lim, sizeof(a->num_buf[0]), "%" PRIu64, items[i].limit);
        snprintf(amt, sizeof(a->num_buf[0]), "%" PRId64, amounts[i]);
        a->argv[4 + 2 * i] = lim;
        a->argv[5 + 2 * i] = amt;
    }
    return SY_OK;
}

static enum sy_err
run(struct sy_store *s, const char *op, uint64_t now_ms, uint32_t window_ms,
    uint64_t window_id, const struct sy_ratelimit_item *items,
    const int64_t *amounts, size_t n, struct sy_ratelimit_result *out)
{
    struct script_args a;
    memset(out, 0, sizeof(*out));
    out->refused = -1;
    enum sy_err e = build_args(&a, sy_store_prefix(s), op, now_ms, window_ms,
                               window_id, items, amounts, n);
    if (e != SY_OK)
        return e;
    struct sy_arena arena;
    sy_arena_init(&arena, 1024);
    struct sy_store_val *v;
    e = sy_store_eval(s, &script, (int)n, a.keys, (int)(4 + 2 * n), a.argv,
                      &arena, &v);
    int64_t x[6];
    if (e == SY_ESTORE && sy_store_script_failed(v)) {
        /* Redis answered, and the script failed (a Lua error, e.g. on a
         * number it cannot hold): not "Redis down". The caller refuses;
         * a fallback or fail_open would let the request through. */
        sy_log_error(NULL, "%s script error: %.200s", "rate-limit",
                     v->str ? v->str : "");
        e = SY_EINTERNAL;
    }
    if (e == SY_OK) {
        bool ok = v->type == SY_STORE_ARRAY && v->n == 6;
        for (size_t i = 0; ok && i < 6; i++)
            ok = sy_store_val_int(&v->elem[i], &x[i]);
        if (!ok || x[3] < 0 || x[4] < 0 || x[5] < 0 || x[1] < -1 ||
            x[1] >= (int64_t)n)
            e = SY_EINTERNAL; /* an answer, but not the script's */
    }
    if (e == SY_OK) {
        out->allowed = x[0] == 1;
        out->refused = (int)x[1];
        out->parked = x[2] == 1;
        out->retry_after_ms =
            x[3] > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)x[3];
        out->window_id = (uint64_t)x[4];
        out->now_ms = (uint64_t)x[5];
    }
    sy_arena_cleanup(&arena);
    return e;
}

/* Reserve items[0..n) cluster-wide, all or nothing ('now_ms' 0: Redis'
 * clock). On SY_OK, 'out' says whether it was allowed, else which item
 * refused and a retry hint; keep out->window_id to settle. SY_ESTORE when
 * Redis is unavailable: use the local windows with local caps. */
enum sy_err
sy_ratelimit_reserve(struct sy_store *s, const struct sy_ratelimit_item *items,
                     size_t n, uint32_t window_ms, uint64_t now_ms,
                     struct sy_ratelimit_result *out)
{
    int64_t amounts[SY_RATELIMIT_MAX_ITEMS];
    for (size_t i = 0; i < n && i < SY_RATELIMIT_MAX_ITEMS; i++)
        amounts[i] = (int64_t)SY_MIN(items[i].cost, SY_RATELIMIT_MAX_COST);
    return run(s, "reserve", now_ms, window_ms, 0, items, amounts, n, out);
}

/* Correct the reservation made in 'window_id' with the real 'used'
 * amounts (items[i].cost is what was reserved). Items whose usage matches
 * are skipped; nothing to do sends nothing. */
enum sy_err
sy_ratelimit_settle(struct sy_store *s, const struct sy_ratelimit_item *items,
                    const uint64_t *used, size_t n, uint32_t window_ms,
                    uint64_t window_id)
{
    struct sy_ratelimit_item keep[SY_RATELIMIT_MAX_ITEMS];
    int64_t delta[SY_RATELIMIT_MAX_ITEMS];
    size_t m = 0;
    if (n > SY_RATELIMIT_MAX_ITEMS)
        return SY_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        /* What reserve charged, and what may be added: both within the
         * script's number range. */
        uint64_t cost = SY_MIN(items[i].cost, SY_RATELIMIT_MAX_COST);
        uint64_t use = SY_MIN(used[i], SY_RATELIMIT_MAX_COST);
        if (items[i].limit == 0 || use == cost)
            continue;
        keep[m] = items[i];
        delta[m] = use > cost ? (int64_t)(use - cost) : -(int64_t)(cost - use);
        m++;
    }
    if (m == 0)
        return SY_OK;
    struct sy_ratelimit_result r;
    return run(s, "settle", 0, window_ms, window_id, keep, delta, m, &r);
}

/* Park limit 'name' for 'ms' (a 429 with Retry-After on that provider
 * key): every reservation naming it is refused until then, cluster-wide.
 * Never shortens an earlier park. */
enum sy_err
sy_ratelimit_park(struct sy_store *s, const char *name, uint32_t ms)
{
    struct sy_ratelimit_item it = { name, 0, 0 };
    int64_t amount = ms;
    struct sy_ratelimit_result r;
    return run(s, "park", 0, 1, 0, &it, &amount, 1, &r);
}
