/*
 * metrics_read.c - the reads of one scrape (see metrics_read.h). Round
 * trip 1, one pipeline: the snapshot (snapshot.c), HGETALL of every
 * metric family's hash, the live members of the in-flight set and the
 * virtual keys (vkeys.c's list). Round trip 2, only when some key has a
 * money budget: HMGET spent and reserved of each such budget's current
 * period. Fields naming a group, deployment or label value this config
 * does not have are dropped (sy_metrics_index), and so are cost and
 * baseline fields naming a caller key that is neither in the config nor
 * in the virtual key list of the same round trip (revoked keys stay
 * listed: their names are never reused), so a stale or foreign writer
 * cannot add series.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "metrics_read.h"
#include "budget.h"
#include "keys.h"
#include "vkeys.h"
#include "base/limits.h"
#include "config/config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFLIGHT_FRESH_MS  5000u /* members newer than this are live */
#define SCRAPE_BATCH_MAX   (4u << 20)
#define SCRAPE_BUDGETS_MAX 10000u /* virtual keys whose budget is read */

static int64_t
val_i64(const struct sy_store_val *v)
{
    int64_t x = 0;
    if (v == NULL || !sy_store_val_int(v, &x))
        return 0;
    return x;
}

static bool
known_group(const struct sy_config *cfg, const char *s)
{
    for (size_t i = 0; i < cfg->ngroups; i++)
        if (strcmp(cfg->groups[i].name, s) == 0)
            return true;
    return false;
}

static bool
known_dep(const struct sy_config *cfg, const char *s)
{
    for (size_t i = 0; i < cfg->ndeployments; i++)
        if (strcmp(cfg->deployments[i].name, s) == 0)
            return true;
    return false;
}

/* The caller key names a cost or baseline field may carry. */
struct key_names {
    const struct sy_config *cfg;
    const struct sy_vkey *vk; /* the scrape's virtual key list, by name */
    size_t nvk;
};

static int
cmp_vkey(const void *a, const void *b)
{
    return strcmp(((const struct sy_vkey *)a)->name,
                  ((const struct sy_vkey *)b)->name);
}

/* A caller key name: "" (no caller authentication), a configured key or
 * a listed virtual key (revoked and expired ones too). */
static bool
known_key(const struct key_names *k, const char *s)
{
    if (s[0] == '\0')
        return true;
    for (size_t i = 0; i < k->cfg->nkeys; i++)
        if (strcmp(k->cfg->keys[i].name, s) == 0)
            return true;
    if (k->nvk == 0 || strlen(s) >= sizeof(k->vk->name))
        return false;
    struct sy_vkey probe = { 0 };
    snprintf(probe.name, sizeof(probe.name), "%s", s);
    return bsearch(&probe, k->vk, k->nvk, sizeof(*k->vk), cmp_vkey) != NULL;
}

/* One cost ('baseline' false) or baseline field into the view. */
static void
add_money(struct sy_metrics_view *v, const struct key_names *kn, int which,
          const char *field, int64_t amount, size_t cap)
{
    const struct sy_config *cfg = kn->cfg;
    size_t want = which == 0 ? 4 : 3;
    char *buf = sy_arena_strdup(&v->arena, field);
    char *part[4] = { buf, NULL, NULL, NULL };
    size_t k = 1;
    for (char *p = buf; *p; p++)
        if (*p == '|') {
            if (k == want)
                return;
            *p = '\0';
            part[k++] = p + 1;
        }
    if (k != want || amount <= 0 || v->nmoney[which] >= cap ||
        !sy_metrics_unescape(part[0]) || !sy_metrics_unescape(part[1]) ||
        !known_key(kn, part[0]) || !known_group(cfg, part[2]) ||
        (which == 0 && !known_dep(cfg, part[3])))
        return;
    struct sy_metrics_money *mo = &v->money[which][v->nmoney[which]++];
    mo->key = part[0];
    mo->team = part[1];
    mo->group = part[2];
    mo->deployment = which == 0 ? part[3] : NULL;
    mo->micro_usd = amount;
}

/* An HGETALL reply of family 'f' into the view. */
static void
take_family(struct sy_metrics_view *v, const struct key_names *kn,
            enum sy_metrics_family f, const struct sy_store_val *r)
{
    if (r->type != SY_STORE_ARRAY)
        return;
    if (f >= SY_MF__DENSE) {
        int which = f == SY_MF_COST ? 0 : 1;
        size_t cap = r->n / 2;
        v->money[which] = sy_xcalloc(cap + 1, sizeof(*v->money[which]));
        for (size_t i = 0; i + 1 < r->n; i += 2)
            if (r->elem[i].type == SY_STORE_STR)
                add_money(v, kn, which, r->elem[i].str,
                          val_i64(&r->elem[i + 1]), cap);
        return;
    }
    for (size_t i = 0; i + 1 < r->n; i += 2) {
        size_t at;
        int64_t x = val_i64(&r->elem[i + 1]);
        if (r->elem[i].type == SY_STORE_STR && x > 0 &&
            sy_metrics_index(v->lay, f, r->elem[i].str, &at))
            v->tot[at] += (uint64_t)x;
    }
}

/* The in-flight members "<host>:<pid>:<n>", summed. */
static int64_t
sum_inflight(const struct sy_store_val *r)
{
    int64_t sum = 0;
    if (r->type != SY_STORE_ARRAY)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct sy_store_val *e = &r->elem[i];
        const char *colon =
            e->type == SY_STORE_STR ? strrchr(e->str, ':') : NULL;
        char *end = NULL;
        long long n = colon != NULL ? strtoll(colon + 1, &end, 10) : 0;
        if (colon != NULL && end != colon + 1 && *end == '\0' && n > 0)
            sum += n;
    }
    return sum;
}

/* Round trip 2: the budgets left of the keys listed in 'vk'. */
static void
read_budgets(struct sy_metrics_view *v, struct sy_store *store,
             const struct sy_vkey *vk, size_t n, uint64_t now_ms)
{
    struct sy_store_batch b;
    sy_store_batch_init(&b, SCRAPE_BATCH_MAX);
    const char *prefix = sy_store_prefix(store);
    size_t *which = sy_xcalloc(n + 1, sizeof(*which));
    size_t m = 0;
    for (size_t i = 0; i < n && m < SCRAPE_BUDGETS_MAX; i++) {
        if (vk[i].budget_micro_usd <= 0 || vk[i].revoked ||
            (vk[i].expires_at > 0 &&
             (uint64_t)vk[i].expires_at * 1000u <= now_ms))
            continue;
        char pid[SY_BUDGET_PERIOD_ID_LEN], key[SY_KEY_MAX];
        sy_budget_period_id(vk[i].budget_period, (int64_t)(now_ms / 1000), pid);
        if (!sy_key_fits(
                sy_key_budget(key, sizeof(key), prefix, vk[i].name, pid),
                sizeof(key)) ||
            sy_store_batch_addl(&b, "HMGET", key, "spent", "reserved", NULL) !=
                SY_OK)
            continue;
        which[m++] = i;
    }
    struct sy_store_val *r = NULL;
    if (m > 0) {
        v->redis_calls++;
        if (sy_store_exec(store, &b, &v->arena, &r) != SY_OK)
            r = NULL;
    }
    if (r != NULL) {
        v->budgets = sy_xcalloc(m, sizeof(*v->budgets));
        for (size_t j = 0; j < m; j++) {
            const struct sy_vkey *k = &vk[which[j]];
            const struct sy_store_val *e = &r[j];
            int64_t left = k->budget_micro_usd;
            if (e->type == SY_STORE_ARRAY && e->n == 2)
                left -= val_i64(&e->elem[0]) + val_i64(&e->elem[1]);
            v->budgets[v->nbudgets].key = sy_arena_strdup(&v->arena, k->name);
            v->budgets[v->nbudgets++].remaining_micro_usd = SY_MAX(left, 0);
        }
    }
    free(which);
    sy_store_batch_cleanup(&b);
}

/* Round trip 1. False when Redis did not answer. */
static bool
read_cluster(struct sy_metrics_view *v, const struct sy_config *cfg,
             struct sy_store *store, uint64_t now_ms)
{
    const char *prefix = sy_store_prefix(store);
    struct sy_store_batch b;
    sy_store_batch_init(&b, SCRAPE_BATCH_MAX);
    sy_snapshot_init(&v->snap, cfg, prefix, now_ms);
    enum sy_err e = sy_snapshot_queue(&v->snap, &b);
    size_t at_fam = b.n;
    char key[SY_KEY_MAX], min[32];
    for (int f = 0; f < SY_MF__COUNT && e == SY_OK; f++) {
        sy_key_metrics(key, sizeof(key), prefix,
                       sy_metrics_family_name((enum sy_metrics_family)f));
        e = sy_store_batch_addl(&b, "HGETALL", key, NULL);
    }
    size_t at_inf = b.n;
    snprintf(min, sizeof(min), "%" PRIu64,
             now_ms > INFLIGHT_FRESH_MS ? now_ms - INFLIGHT_FRESH_MS : 0);
    sy_key_metrics_inflight(key, sizeof(key), prefix);
    if (e == SY_OK)
        e = sy_store_batch_addl(&b, "ZRANGEBYSCORE", key, min, "+inf", NULL);
    size_t at_vk = b.n;
    if (e == SY_OK)
        e = sy_vkey_batch_list(&b, prefix);
    struct sy_store_val *r = NULL;
    if (e == SY_OK) {
        v->redis_calls++;
        e = sy_store_exec(store, &b, &v->arena, &r);
    }
    sy_store_batch_cleanup(&b);
    if (e != SY_OK || r == NULL)
        return false;
    sy_snapshot_read(&v->snap, r);
    v->have_snap = true;
    struct sy_vkey *vk = NULL;
    size_t nvk = sy_vkey_list_reply(&r[at_vk], &vk);
    if (nvk > 1)
        qsort(vk, nvk, sizeof(*vk), cmp_vkey);
    const struct key_names kn = { cfg, vk, nvk };
    for (int f = 0; f < SY_MF__COUNT; f++)
        take_family(v, &kn, (enum sy_metrics_family)f, &r[at_fam + (size_t)f]);
    v->have_totals = true;
    v->in_flight = sum_inflight(&r[at_inf]);
    if (nvk > 0)
        read_budgets(v, store, vk, nvk, now_ms);
    free(vk);
    return true;
}

/* Fill 'v' for a scrape of this process ('m', config 'cfg'): from Redis
 * through 'store' when 'redis_on' (NULL store or a failed read: Redis is
 * down, only this process's gauges), else from the host's counters.
 * 'now_ms' is the wall clock. Clean up with sy_metrics_view_cleanup(). */
void
sy_metrics_read(struct sy_metrics_view *v, struct sy_metrics *m,
                const struct sy_config *cfg, struct sy_store *store,
                bool redis_on, uint64_t now_ms)
{
    memset(v, 0, sizeof(*v));
    v->lay = sy_metrics_layout(m);
    sy_arena_init(&v->arena, 65536);
    v->tot = sy_xcalloc(v->lay->off[SY_MF__DENSE] + 1, sizeof(*v->tot));
    v->redis_on = redis_on;
    v->in_flight = sy_metrics_in_flight(m);
    if (redis_on && sy_metrics_gate(m) != NULL) {
        sy_store_gate_durations(sy_metrics_gate(m), v->redis_op);
        v->have_redis_op = true;
    }
    if (!redis_on) {
        sy_metrics_snapshot(m, v->tot);
        v->have_totals = true;
        return;
    }
    int64_t mine = v->in_flight;
    if (store != NULL && read_cluster(v, cfg, store, now_ms)) {
        v->redis_up = true;
        /* This scrape is in flight here; a flush may not show it yet. */
        v->in_flight = SY_MAX(v->in_flight, mine);
        return;
    }
    v->have_totals = false;
    v->have_snap = false;
    v->in_flight = mine;
}

void
sy_metrics_view_cleanup(struct sy_metrics_view *v)
{
    if (v->snap.cfg != NULL)
        sy_snapshot_cleanup(&v->snap);
    free(v->tot);
    free(v->money[0]);
    free(v->money[1]);
    free(v->budgets);
    sy_arena_cleanup(&v->arena);
    memset(v, 0, sizeof(*v));
}
