/*
 * budget.h - money budgets (integer micro-dollars) per key and period,
 * cluster-wide: a request reserves its worst-case cost before it goes
 * upstream and settles with the real cost afterwards.
 *
 * One atomic Lua script over Redis, with a C twin (the same arithmetic in
 * memory, for tests and comparisons). A reservation carries an id and an
 * expiry (5 minutes by default): a worker that dies between reserve and
 * settle leaks nothing for longer than that, because every call first
 * releases the reservations that have expired.
 *
 * Budgets fail closed: when Redis is unavailable the calls return
 * SY_ESTORE, and the caller refuses the request unless the key says
 * fail_open (design.md, "Failure semantics").
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_BUDGET_H
#define SY_CORE_BUDGET_H

#include "base/sy.h"
#include "base/err.h"
#include "base/limits.h"
#include "io/store.h"

/* Budget periods; the period id names the counter: day "2026-11-24"
 * (UTC), month "2026-11", total "total". */
enum sy_budget_period { SY_BUDGET_TOTAL, SY_BUDGET_DAY, SY_BUDGET_MONTH };

#define SY_BUDGET_PERIOD_ID_LEN  16      /* buffer size, NUL included */
#define SY_BUDGET_DEFAULT_TTL_MS 300000u /* reservation lifetime: 5 min */
#define SY_BUDGET_MAX_COST \
    INT64_C(10000000000000) /* one settle at most
                                             (10 million USD): below the
                                             14 digits a Lua number keeps */

/* What a settle sent again found (sy_budget_resettle). */
enum sy_budget_resettled {
    SY_BUDGET_RESETTLED_NOW = 1,     /* the reservation was live: settled */
    SY_BUDGET_RESETTLED_BEFORE = 2,  /* the first try had settled it */
    SY_BUDGET_RESETTLED_TOO_LATE = 3 /* expired: nothing recorded */
};

struct sy_budget_result {
    bool allowed;      /* reserve: admitted; settle: reservation found */
    uint64_t id;       /* reserve: the reservation id when admitted, the
                           call's sequence number when refused (ids and
                           sequence numbers share one counter) */
    int64_t remaining; /* budget - spent - reserved after the call, >= 0
                           (settle: 0, the budget is not passed) */
    int64_t spent;     /* settled in this period, after the call */
    int64_t reserved;  /* held by live reservations, after the call */
    uint64_t now_ms;   /* the clock used (Redis' when now_ms was 0) */
    enum sy_budget_resettled resettled; /* resettle only */
};

/* Periods */
const char *sy_budget_period_name(enum sy_budget_period p);
bool sy_budget_period_parse(const char *s, enum sy_budget_period *out);
void sy_budget_period_id(enum sy_budget_period p, int64_t now_s,
                         char out[SY_BUDGET_PERIOD_ID_LEN]);
bool sy_budget_name_valid(const char *name);

/* The C twin: one budget counter (one name and period) in memory. Not
 * locked. */
struct sy_budget_local_res {
    uint64_t id;
    int64_t amount;
    uint64_t expires_ms;
};
struct sy_budget_local {
    int64_t spent;
    int64_t reserved;
    uint64_t seq;                    /* last id or sequence number */
    struct sy_budget_local_res *res; /* owned; live reservations */
    size_t n, cap;
};
void sy_budget_local_init(struct sy_budget_local *b);
void sy_budget_local_cleanup(struct sy_budget_local *b);
void sy_budget_local_reserve(struct sy_budget_local *b, int64_t budget,
                             int64_t cost, uint32_t ttl_ms, uint64_t now_ms,
                             struct sy_budget_result *out);
void sy_budget_local_settle(struct sy_budget_local *b, uint64_t id,
                            int64_t real_cost, uint64_t now_ms,
                            struct sy_budget_result *out);

/* Redis side (one Lua script, lua/budget.lua; keys sy_key_budget() and
 * sy_key_budget_res()). now_ms 0: Redis' clock. ttl_ms 0: the default. */
enum sy_err sy_budget_reserve(struct sy_store *s, const char *name,
                              const char *period_id, int64_t budget,
                              int64_t cost, uint32_t ttl_ms, uint64_t now_ms,
                              struct sy_budget_result *out);
enum sy_err sy_budget_settle(struct sy_store *s, const char *name,
                             const char *period_id, uint64_t id,
                             int64_t real_cost, uint64_t now_ms,
                             struct sy_budget_result *out);
/* A settle sent again after sy_budget_settle failed with SY_ESTORE:
 * never counts the cost twice (out->resettled says what it found).
 * 'expires_ms' is the reservation's expiry on the script's clock: the
 * reserve's out->now_ms plus its ttl_ms. */
enum sy_err sy_budget_resettle(struct sy_store *s, const char *name,
                               const char *period_id, uint64_t id,
                               int64_t real_cost, uint64_t expires_ms,
                               uint64_t now_ms, struct sy_budget_result *out);
enum sy_err sy_budget_get(struct sy_store *s, const char *name,
                          const char *period_id, uint64_t now_ms,
                          struct sy_budget_result *out);

#endif
