/*
 * budget.c - money budgets: reserve a request's worst-case cost, settle
 * with the real cost, release what crashed workers left behind. Twice,
 * with the same arithmetic: in memory (struct sy_budget_local) and as one
 * Lua script over Redis.
 *
 * A budget counter (one name, one period) holds 'spent' (settled money)
 * and 'reserved' (the sum of live reservations). A request costing 'cost'
 * is admitted when spent + reserved + cost <= budget, and then holds a
 * reservation of 'cost' with an id and an expiry. settle(id, real) drops
 * the reservation and adds 'real' to spent; a reservation that has
 * already expired (or never existed) still adds 'real': money spent is
 * always counted. Every call first releases the reservations whose expiry
 * is at or before now (at most SY_BUDGET_CLEAN_MAX, earliest first).
 * Admitted money is therefore never more than the budget at any instant;
 * spent goes over it only when a real cost exceeds its reservation.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "budget.h"
#include "keys.h"
#include "lua.h"
#include "base/log.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Periods and names                                                   */

const char *
sy_budget_period_name(enum sy_budget_period p)
{
    switch (p) {
    case SY_BUDGET_DAY:
        return "day";
    case SY_BUDGET_MONTH:
        return "month";
    case SY_BUDGET_TOTAL:
        break;
    }
    return "total";
}

bool
sy_budget_period_parse(const char *s, enum sy_budget_period *out)
{
    if (s == NULL)
        return false;
    if (strcmp(s, "day") == 0)
        *out = SY_BUDGET_DAY;
    else if (strcmp(s, "month") == 0)
        *out = SY_BUDGET_MONTH;
    else if (strcmp(s, "total") == 0)
        *out = SY_BUDGET_TOTAL;
    else
        return false;
    return true;
}

/* The id of the period holding 'now_s' (epoch seconds, UTC). */
void
sy_budget_period_id(enum sy_budget_period p, int64_t now_s,
                    char out[SY_BUDGET_PERIOD_ID_LEN])
{
    time_t t = (time_t)now_s;
    struct tm tm;
    if (p == SY_BUDGET_TOTAL || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, SY_BUDGET_PERIOD_ID_LEN, "total");
        return;
    }
    int y = tm.tm_year + 1900;
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    unsigned yy = (unsigned)y % 10000u;
    unsigned mm = (unsigned)(tm.tm_mon + 1) % 100u;
    unsigned dd = (unsigned)tm.tm_mday % 100u;
    if (p == SY_BUDGET_DAY)
        snprintf(out, SY_BUDGET_PERIOD_ID_LEN, "%04u-%02u-%02u", yy, mm, dd);
    else
        snprintf(out, SY_BUDGET_PERIOD_ID_LEN, "%04u-%02u", yy, mm);
}

/* A budget name: 1..SY_BUDGET_NAME_MAX bytes of [A-Za-z0-9._:-] (a key
 * name, "team:<name>", ...): nothing that could break a Redis key or its
 * hash tag. */
bool
sy_budget_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > SY_BUDGET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
              c == ':'))
            return false;
    }
    return true;
}

static bool
period_id_valid(const char *pid)
{
    if (pid == NULL)
        return false;
    if (strcmp(pid, "total") == 0)
        return true;
    size_t n = strlen(pid);
    if (n != 7 && n != 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? pid[i] != '-' : (pid[i] < '0' || pid[i] > '9'))
            return false;
    }
    return true;
}

/* How long a period's counter is kept (seconds, 0 = forever): a day for
 * a week, a month for 13 months, total forever. */
static int64_t
period_key_ttl_s(const char *pid)
{
    size_t n = strlen(pid);
    if (n == 10)
        return 8 * 86400;
    if (n == 7)
        return 400 * 86400;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The C twin                                                          */

void
sy_budget_local_init(struct sy_budget_local *b)
{
    memset(b, 0, sizeof(*b));
}

void
sy_budget_local_cleanup(struct sy_budget_local *b)
{
    free(b->res);
    memset(b, 0, sizeof(*b));
}

static void
local_remove(struct sy_budget_local *b, size_t i)
{
    b->reserved -= b->res[i].amount;
    b->res[i] = b->res[--b->n];
}

/* Release expired reservations, earliest expiry first (ties: lowest id),
 * at most SY_BUDGET_CLEAN_MAX, as the script does (its sorted set orders
 * equal scores by member text; ids of one length sort the same). */
static void
local_clean(struct sy_budget_local *b, uint64_t now_ms)
{
    for (int k = 0; k < SY_BUDGET_CLEAN_MAX; k++) {
        size_t best = b->n;
        for (size_t i = 0; i < b->n; i++) {
            if (b->res[i].expires_ms > now_ms)
                continue;
            if (best == b->n ||
                b->res[i].expires_ms < b->res[best].expires_ms ||
                (b->res[i].expires_ms == b->res[best].expires_ms &&
                 b->res[i].id < b->res[best].id))
                best = i;
        }
        if (best == b->n)
            return;
        local_remove(b, best);
    }
}

void
sy_budget_local_reserve(struct sy_budget_local *b, int64_t budget, int64_t cost,
                        uint32_t ttl_ms, uint64_t now_ms,
                        struct sy_budget_result *out)
{
    if (ttl_ms == 0)
        ttl_ms = SY_BUDGET_DEFAULT_TTL_MS;
    if (cost < 0)
        cost = 0;
    memset(out, 0, sizeof(*out));
    out->now_ms = now_ms;
    local_clean(b, now_ms);
    if (b->seq < now_ms * 1000u) /* as the script: never below it */
        b->seq = now_ms * 1000u;
    out->id = ++b->seq;
    /* budget and reserved are >= 0, spent may be saturated: no overflow */
    int64_t room = budget - b->reserved;
    int64_t left = b->spent > room ? -1 : room - b->spent;
    if (cost > left) {
        out->remaining = left > 0 ? left : 0;
        out->spent = b->spent;
        out->reserved = b->reserved;
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->res = sy_xrealloc(b->res, b->cap * sizeof(*b->res));
    }
    b->res[b->n++] =
        (struct sy_budget_local_res){ out->id, cost, now_ms + ttl_ms };
    b->reserved += cost;
    out->allowed = true;
    out->remaining = budget - b->spent - b->reserved;
    out->spent = b->spent;
    out->reserved = b->reserved;
}

void
sy_budget_local_settle(struct sy_budget_local *b, uint64_t id,
                       int64_t real_cost, uint64_t now_ms,
                       struct sy_budget_result *out)
{
    memset(out, 0, sizeof(*out));
    out->now_ms = now_ms;
    out->id = id;
    local_clean(b, now_ms);
    for (size_t i = 0; i < b->n; i++) {
        if (b->res[i].id == id) {
            local_remove(b, i);
            out->allowed = true;
            break;
        }
    }
    if (real_cost > 0)
        b->spent =
            b->spent > INT64_MAX - real_cost ? INT64_MAX : b->spent + real_cost;
    out->spent = b->spent;
    out->reserved = b->reserved;
}

/* ------------------------------------------------------------------ */
/* Redis side                                                          */

/* The budget script, lua/budget.lua (KEYS and ARGV are described there),
 * embedded at build time; the store keeps its SHA by the struct's
 * address. */
static const struct sy_store_script script = { .name = "budget",
                                               .embedded = sy_lua_budget };

static enum sy_err
run(struct sy_store *s, const char *name, const char *pid, const char *op,
    uint64_t now_ms, const int64_t *extra, size_t nextra,
    struct sy_budget_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!sy_budget_name_valid(name) || !period_id_valid(pid))
        return SY_EBADREQ;
    char k1[SY_BUDGET_NAME_MAX + SY_KEY_MAX],
        k2[SY_BUDGET_NAME_MAX + SY_KEY_MAX];
    const char *prefix = sy_store_prefix(s);
    if (!sy_key_fits(sy_key_budget(k1, sizeof(k1), prefix, name, pid),
                     sizeof(k1)) ||
        !sy_key_fits(sy_key_budget_res(k2, sizeof(k2), prefix, name, pid),
                     sizeof(k2)))
        return SY_EBADREQ;
    const char *keys[2] = { k1, k2 };
    char num[6][24];
    const char *argv[6];
    argv[0] = op;
    snprintf(num[0], sizeof(num[0]), "%" PRIu64, now_ms);
    snprintf(num[1], sizeof(num[1]), "%" PRId64, period_key_ttl_s(pid));
    argv[1] = num[0];
    argv[2] = num[1];
    for (size_t i = 0; i < nextra && i < 3; i++) {
        snprintf(num[2 + i], sizeof(num[0]), "%" PRId64, extra[i]);
        argv[3 + i] = num[2 + i];
    }
    struct sy_arena arena;
    sy_arena_init(&arena, 512);
    struct sy_store_val *v;
    enum sy_err e =
        sy_store_eval(s, &script, 2, keys, (int)(3 + nextra), argv, &arena, &v);
    int64_t x[6];
    if (e == SY_ESTORE && sy_store_script_failed(v)) {
        /* Redis answered, and the script failed (a Lua error, e.g. on a
         * number it cannot hold): not "Redis down". The caller refuses;
         * a fallback or fail_open would let the request through. */
        sy_log_error(NULL, "%s script error: %.200s", "budget",
                     v->str ? v->str : "");
        e = SY_EINTERNAL;
    }
    if (e == SY_OK) {
        bool ok = v->type == SY_STORE_ARRAY && v->n == 6;
        for (size_t i = 0; ok && i < 6; i++)
            ok = sy_store_val_int(&v->elem[i], &x[i]);
        if (!ok || x[1] < 0 || x[5] < 0)
            e = SY_EINTERNAL; /* an answer, but not the script's */
    }
    if (e == SY_OK) {
        out->allowed = x[0] == 1;
        if (strcmp(op, "resettle") == 0)
            out->resettled = x[0] == 1   ? SY_BUDGET_RESETTLED_NOW
                             : x[0] == 2 ? SY_BUDGET_RESETTLED_BEFORE
                                         : SY_BUDGET_RESETTLED_TOO_LATE;
        out->id = (uint64_t)x[1];
        out->remaining = x[2] > 0 ? x[2] : 0;
        out->spent = x[3];
        out->reserved = x[4];
        out->now_ms = (uint64_t)x[5];
    }
    sy_arena_cleanup(&arena);
    return e;
}

/* Reserve 'cost' micro-dollars on budget 'name' for period 'period_id'
 * (from sy_budget_period_id(); keep it to settle), whose limit is
 * 'budget'. On SY_OK, out->allowed says whether it was admitted (keep
 * out->id to settle) and out->remaining what is left. SY_ESTORE: Redis is
 * unavailable; budgets fail closed unless the key says otherwise.
 * SY_EBADREQ: a bad name, period id or amount. */
enum sy_err
sy_budget_reserve(struct sy_store *s, const char *name, const char *period_id,
                  int64_t budget, int64_t cost, uint32_t ttl_ms,
                  uint64_t now_ms, struct sy_budget_result *out)
{
    if (budget < 0 || cost < 0) {
        memset(out, 0, sizeof(*out));
        return SY_EBADREQ;
    }
    /* A cost above the budget is refused whatever it is: send at most
     * budget + 1, so a saturated worst case never reaches the script as
     * a number Lua cannot pass back to Redis (14 significant digits). */
    if (budget < INT64_MAX && cost > budget)
        cost = budget + 1;
    int64_t extra[3] = { budget, cost,
                         ttl_ms ? ttl_ms : SY_BUDGET_DEFAULT_TTL_MS };
    return run(s, name, period_id, "reserve", now_ms, extra, 3, out);
}

/* Settle reservation 'id' with the real cost: the reservation is dropped
 * and 'real_cost' added to spent, even when the reservation had already
 * expired (out->allowed is then false). real_cost 0 releases. */
enum sy_err
sy_budget_settle(struct sy_store *s, const char *name, const char *period_id,
                 uint64_t id, int64_t real_cost, uint64_t now_ms,
                 struct sy_budget_result *out)
{
    if (real_cost < 0 || id > (uint64_t)INT64_MAX) {
        memset(out, 0, sizeof(*out));
        return SY_EBADREQ;
    }
    /* A provider that reports absurd usage exhausts the budget; it must
     * not make the script fail (and so go unrecorded). */
    int64_t extra[2] = { (int64_t)id, SY_MIN(real_cost, SY_BUDGET_MAX_COST) };
    return run(s, name, period_id, "settle", now_ms, extra, 2, out);
}

enum sy_err
sy_budget_resettle(struct sy_store *s, const char *name, const char *period_id,
                   uint64_t id, int64_t real_cost, uint64_t expires_ms,
                   uint64_t now_ms, struct sy_budget_result *out)
{
    if (real_cost < 0 || id > (uint64_t)INT64_MAX ||
        expires_ms > (uint64_t)INT64_MAX) {
        memset(out, 0, sizeof(*out));
        return SY_EBADREQ;
    }
    int64_t extra[3] = { (int64_t)id, SY_MIN(real_cost, SY_BUDGET_MAX_COST),
                         (int64_t)expires_ms };
    return run(s, name, period_id, "resettle", now_ms, extra, 3, out);
}

/* Read spent and reserved (after releasing expired reservations). */
enum sy_err
sy_budget_get(struct sy_store *s, const char *name, const char *period_id,
              uint64_t now_ms, struct sy_budget_result *out)
{
    return run(s, name, period_id, "get", now_ms, NULL, 0, out);
}
