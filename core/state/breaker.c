/*
 * breaker.c - the circuit breaker of one deployment, twice: as a pure
 * state machine in C (this process alone, used when Redis is down) and as
 * one Lua script that runs the same rules on state kept in Redis, counted
 * across every worker of every host. Keep the two in step: the unit tests
 * drive both through the same sequences.
 *
 * Rules. CLOSED: a provider failure adds to the consecutive count and to
 * the rolling window (SY_BREAKER_BUCKETS buckets of window_ms / buckets);
 * a success resets the consecutive count. The breaker opens when the
 * consecutive count reaches 'consecutive', or when the window holds at
 * least 'min_requests' outcomes of which 'failure_pct' percent failed.
 * OPEN: nothing goes until open_until; then exactly one caller gets the
 * probe (HALF_OPEN). The probe's success closes (counts reset); its
 * failure reopens for a longer period: open_ms doubled per trip up to
 * open_max_ms, plus a random 0..jitter_pct percent. A reopen never moves
 * an existing deadline earlier. A probe that says nothing (caller gone,
 * a caller error, a broken output contract, our own key's quota) frees
 * the probe slot at once; a probe lost for probe_ms is replaced. The
 * probe deadline is set once, by the grant to the holder: nothing pushes
 * it further, so a probe never keeps a deployment out longer than that.
 * Outcomes of requests sent before the breaker opened are counted but
 * change nothing. Across processes, outcomes reach Redis out of order;
 * the script counts the consecutive rule by each outcome's own time
 * (lua/breaker.lua), which in one process's order is the rule above.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "breaker.h"
#include "base/mem.h"
#include "keys.h"
#include "lua.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Pure logic                                                          */

void
sy_breaker_init(struct sy_breaker *b)
{
    memset(b, 0, sizeof(*b));
    b->state = SY_BREAKER_CLOSED;
}

const char *
sy_breaker_state_name(enum sy_breaker_state s)
{
    switch (s) {
    case SY_BREAKER_CLOSED:
        return "closed";
    case SY_BREAKER_OPEN:
        return "open";
    case SY_BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}

/* What an attempt's result says about the deployment: success, a
 * provider failure (sy_err_breaker), or nothing (caller errors, our own
 * key's quota or auth, caller gone, store trouble). */
enum sy_breaker_outcome
sy_breaker_classify(enum sy_err e)
{
    if (e == SY_OK)
        return SY_BREAKER_SUCCESS;
    return sy_err_breaker(e) ? SY_BREAKER_FAILURE : SY_BREAKER_IGNORE;
}

/* The open period of the 'trips'-th opening in a row: open_ms doubled
 * (trips - 1) times, capped at open_max_ms, plus jitter_pct percent of it
 * times r16 / 65536 ('r16' is a 16-bit random value). The Lua script
 * computes exactly the same. */
uint64_t
sy_breaker_open_period_ms(const struct sy_breaker_conf *c, unsigned trips,
                          uint32_t r16)
{
    uint64_t p = c->open_ms;
    for (unsigned i = 1; i < trips && p < c->open_max_ms; i++)
        p *= 2;
    if (c->open_max_ms > 0 && p > c->open_max_ms)
        p = c->open_max_ms;
    uint64_t jit = p * c->jitter_pct / 100u;
    return p + jit * (r16 & 0xffffu) / 65536u;
}

static uint64_t
bucket_ms(const struct sy_breaker_conf *c)
{
    uint64_t ms = c->window_ms / SY_BREAKER_BUCKETS;
    return ms > 0 ? ms : 1;
}

static void
window_add(struct sy_breaker *b, const struct sy_breaker_conf *c,
           uint64_t now_ms, bool failed)
{
    uint64_t id = now_ms / bucket_ms(c);
    struct sy_breaker_bucket *k = &b->win[id % SY_BREAKER_BUCKETS];
    if (k->id != id) {
        k->id = id;
        k->ok = 0;
        k->fail = 0;
    }
    if (failed)
        k->fail++;
    else
        k->ok++;
}

/* Outcomes and failures in the rolling window at 'now_ms'. */
void
sy_breaker_window(const struct sy_breaker *b, const struct sy_breaker_conf *c,
                  uint64_t now_ms, uint32_t *total, uint32_t *failed)
{
    uint64_t cur = now_ms / bucket_ms(c);
    *total = 0;
    *failed = 0;
    for (unsigned i = 0; i < SY_BREAKER_BUCKETS; i++) {
        const struct sy_breaker_bucket *k = &b->win[i];
        if (k->id <= cur && cur - k->id < SY_BREAKER_BUCKETS) {
            *total += k->ok + k->fail;
            *failed += k->fail;
        }
    }
}

static bool
should_open(const struct sy_breaker *b, const struct sy_breaker_conf *c,
            uint64_t now_ms)
{
    if (c->consecutive > 0 && b->consecutive >= c->consecutive)
        return true;
    if (c->failure_pct == 0)
        return false;
    uint32_t total;
    uint32_t failed;
    sy_breaker_window(b, c, now_ms, &total, &failed);
    return total >= SY_MAX(c->min_requests, 1u) &&
           (uint64_t)failed * 100u >= (uint64_t)c->failure_pct * total;
}

static void
open_now(struct sy_breaker *b, const struct sy_breaker_conf *c, uint64_t now_ms,
         sy_breaker_rand_fn rnd, void *rnd_ud)
{
    b->trips++;
    uint32_t r16 = rnd != NULL ? rnd(rnd_ud) >> 16 : 0;
    uint64_t until = now_ms + sy_breaker_open_period_ms(c, b->trips, r16);
    if (until > b->open_until_ms)
        b->open_until_ms = until; /* never shorten a deadline */
    b->state = SY_BREAKER_OPEN;
    b->probe_until_ms = 0;
    b->consecutive = 0;
}

static void
close_now(struct sy_breaker *b)
{
    sy_breaker_init(b);
}

/* May a request go to this deployment now? PASS when closed; when open
 * and the deadline has passed, or half-open with no probe out, the caller
 * gets the PROBE (the breaker turns half-open) and must report its
 * outcome with probe = true; DENY otherwise. */
enum sy_breaker_verdict
sy_breaker_allow(struct sy_breaker *b, const struct sy_breaker_conf *c,
                 uint64_t now_ms)
{
    switch (b->state) {
    case SY_BREAKER_CLOSED:
        return SY_BREAKER_PASS;
    case SY_BREAKER_OPEN:
        if (now_ms < b->open_until_ms)
            return SY_BREAKER_DENY;
        b->state = SY_BREAKER_HALF_OPEN;
        break;
    case SY_BREAKER_HALF_OPEN:
        if (now_ms < b->probe_until_ms)
            return SY_BREAKER_DENY;
        break;
    }
    b->probe_until_ms = now_ms + c->probe_ms;
    return SY_BREAKER_PROBE;
}

/* Could sy_breaker_allow() let a request go at 'now_ms' (as traffic or as
 * the probe)? Read-only, for ranking candidates. */
bool
sy_breaker_is_candidate(const struct sy_breaker *b, uint64_t now_ms)
{
    switch (b->state) {
    case SY_BREAKER_CLOSED:
        return true;
    case SY_BREAKER_OPEN:
        return now_ms >= b->open_until_ms;
    case SY_BREAKER_HALF_OPEN:
        return now_ms >= b->probe_until_ms;
    }
    return false;
}

/* Record outcome 'o' of a request ('probe': it was sent as the half-open
 * probe) at 'now_ms'. 'rnd' (may be NULL: no jitter) draws the jitter of
 * a new open period. Returns true when the state changed. */
bool
sy_breaker_report(struct sy_breaker *b, const struct sy_breaker_conf *c,
                  uint64_t now_ms, enum sy_breaker_outcome o, bool probe,
                  sy_breaker_rand_fn rnd, void *rnd_ud)
{
    if (o == SY_BREAKER_IGNORE) {
        if (probe && b->state == SY_BREAKER_HALF_OPEN)
            b->probe_until_ms = 0; /* let another probe go */
        return false;
    }
    bool failed = o == SY_BREAKER_FAILURE;
    window_add(b, c, now_ms, failed);
    switch (b->state) {
    case SY_BREAKER_CLOSED:
        if (!failed) {
            b->consecutive = 0;
            return false;
        }
        b->consecutive++;
        if (!should_open(b, c, now_ms))
            return false;
        open_now(b, c, now_ms, rnd, rnd_ud);
        return true;
    case SY_BREAKER_OPEN:
        return false;
    case SY_BREAKER_HALF_OPEN:
        if (!probe)
            return false;
        if (failed)
            open_now(b, c, now_ms, rnd, rnd_ud);
        else
            close_now(b);
        return true;
    }
    return false;
}

/* Take over the cluster's state 'sh' (from the script, a snapshot or an
 * event) into the local breaker, converting Redis' clock to the local
 * one at 'local_now_ms'. An open deadline is never moved earlier. While
 * the cluster is half-open, the local breaker holds the probe deadline
 * the cluster reports: the one the probe's holder set when it took it
 * (0 when no probe is out: the probe was freed or lost, and the next
 * caller may ask for it). A state without that deadline (an event of an
 * older version) counts as a probe just taken, once: later ones never
 * push the local deadline further. Local counts are kept unless the
 * cluster closed the breaker. */
void
sy_breaker_adopt(struct sy_breaker *b, const struct sy_breaker_conf *c,
                 const struct sy_breaker_shared *sh, uint64_t local_now_ms)
{
    uint64_t left =
        sh->open_until_ms > sh->now_ms ? sh->open_until_ms - sh->now_ms : 0;
    switch (sh->state) {
    case SY_BREAKER_CLOSED:
        if (b->state != SY_BREAKER_CLOSED)
            close_now(b);
        return;
    case SY_BREAKER_OPEN:
        if (b->state != SY_BREAKER_OPEN ||
            local_now_ms + left > b->open_until_ms)
            b->open_until_ms = local_now_ms + left;
        b->state = SY_BREAKER_OPEN;
        b->probe_until_ms = 0;
        break;
    case SY_BREAKER_HALF_OPEN:
        if (sh->probe_known)
            b->probe_until_ms =
                sh->probe_until_ms > sh->now_ms
                    ? local_now_ms + (sh->probe_until_ms - sh->now_ms)
                    : 0;
        else if (b->state != SY_BREAKER_HALF_OPEN)
            b->probe_until_ms = local_now_ms + c->probe_ms;
        b->state = SY_BREAKER_HALF_OPEN;
        break;
    }
    b->trips = sh->trips;
    b->consecutive = 0;
}

/* ------------------------------------------------------------------ */
/* Redis side                                                          */

/* The breaker script, lua/breaker.lua (KEYS, ARGV and the reply are
 * described there), embedded at build time; the store keeps its SHA by
 * the struct's address. */
static const struct sy_store_script script = { .name = "breaker",
                                               .embedded = sy_lua_breaker };

/* The channel transitions are published on (sy_key_breaker_channel). */
int
sy_breaker_channel(char *out, size_t outlen, const char *prefix)
{
    return sy_key_breaker_channel(out, outlen, prefix);
}

#define ARGS_FIXED 13 /* ARGV before the outcomes */

/* The script's arguments as strings. */
struct script_args {
    char key[SY_KEY_MAX];
    char pkey[SY_KEY_MAX];
    char chan[SY_KEY_MAX];
    char num[10][24];
    char ev[SY_BREAKER_BATCH_MAX][4][24]; /* outcome, times, count */
    const char *keys[2];
    const char *argv[ARGS_FIXED + 5 * SY_BREAKER_BATCH_MAX];
    int nargv;
};

/* Fill 'a' for 'op' on 'dep'; 'arg13' is the allow token or the report's
 * r16 (as a string). The outcomes are added by add_outcome(). */
static enum sy_err
build_args(struct script_args *a, const char *prefix, const char *op,
           const char *dep, const struct sy_breaker_conf *c, uint64_t now_ms,
           const char *arg13)
{
    if (!sy_key_fits(sy_key_breaker(a->key, sizeof(a->key), prefix, dep),
                     sizeof(a->key)) ||
        !sy_key_fits(
            sy_key_breaker_probe(a->pkey, sizeof(a->pkey), prefix, dep),
            sizeof(a->pkey)) ||
        !sy_key_fits(sy_breaker_channel(a->chan, sizeof(a->chan), prefix),
                     sizeof(a->chan)))
        return SY_EBADREQ;
    const uint64_t nums[9] = { now_ms,         c->consecutive, c->min_requests,
                               c->failure_pct, c->window_ms,   c->open_ms,
                               c->open_max_ms, c->jitter_pct,  c->probe_ms };
    a->keys[0] = a->key;
    a->keys[1] = a->pkey;
    a->argv[0] = op;
    for (int i = 0; i < 9; i++) {
        snprintf(a->num[i], sizeof(a->num[i]), "%" PRIu64, nums[i]);
        a->argv[1 + i] = a->num[i];
    }
    a->argv[10] = a->chan;
    a->argv[11] = dep;
    a->argv[12] = arg13;
    a->nargv = ARGS_FIXED;
    return SY_OK;
}

static void
add_outcome(struct script_args *a, const struct sy_breaker_outcome_at *o)
{
    int k = (a->nargv - ARGS_FIXED) / 5;
    snprintf(a->ev[k][0], sizeof(a->ev[k][0]), "%d", (int)o->o);
    snprintf(a->ev[k][1], sizeof(a->ev[k][1]), "%" PRIu64, o->from_ms);
    snprintf(a->ev[k][2], sizeof(a->ev[k][2]), "%" PRIu64, o->at_ms);
    snprintf(a->ev[k][3], sizeof(a->ev[k][3]), "%u",
             o->count > 0 ? o->count : 1u);
    for (int i = 0; i < 4; i++)
        a->argv[a->nargv++] = a->ev[k][i];
    a->argv[a->nargv++] =
        o->token != NULL && o->token[0] != '\0' ? o->token : "";
}

/* Decode the script's reply 'v' into 'out'; false when malformed. */
bool
sy_breaker_parse_shared(const struct sy_store_val *v,
                        struct sy_breaker_shared *out)
{
    memset(out, 0, sizeof(*out));
    if (v == NULL || v->type != SY_STORE_ARRAY || v->n != 9)
        return false;
    int64_t x[9];
    for (size_t i = 0; i < 9; i++) {
        if (!sy_store_val_int(&v->elem[i], &x[i]) || x[i] < 0)
            return false;
    }
    if (x[0] > SY_BREAKER_HALF_OPEN || x[4] > SY_BREAKER_PROBE)
        return false;
    out->state = (enum sy_breaker_state)x[0];
    out->open_until_ms = (uint64_t)x[1];
    out->trips = (unsigned)SY_MIN(x[2], (int64_t)UINT32_MAX);
    out->now_ms = (uint64_t)x[3];
    out->verdict = (enum sy_breaker_verdict)x[4];
    out->changed = x[5] != 0;
    out->window_total = (uint32_t)SY_MIN(x[6], (int64_t)UINT32_MAX);
    out->window_failed = (uint32_t)SY_MIN(x[7], (int64_t)UINT32_MAX);
    out->probe_until_ms = (uint64_t)x[8];
    out->probe_known = true;
    return true;
}

static enum sy_err
run(struct sy_store *s, struct script_args *a, struct sy_breaker_shared *out)
{
    memset(out, 0, sizeof(*out));
    struct sy_arena arena;
    sy_arena_init(&arena, 1024);
    struct sy_store_val *v;
    enum sy_err e =
        sy_store_eval(s, &script, 2, a->keys, a->nargv, a->argv, &arena, &v);
    if (e == SY_OK && !sy_breaker_parse_shared(v, out))
        e = SY_ESTORE;
    sy_arena_cleanup(&arena);
    return e;
}

/* Ask the cluster whether a request may go to 'dep' (call it when the
 * snapshot shows the breaker open past its deadline, or half-open). On
 * SY_OK out->verdict is PASS, DENY, or PROBE: this caller holds the one
 * cluster-wide probe under 'token' (unique, e.g. the request id) until
 * out->probe_until_ms, and reports with the same token. 'now_ms' 0 uses
 * Redis' clock (tests pass their own). SY_ESTORE when Redis is
 * unavailable: fall back to the local breaker. */
enum sy_err
sy_breaker_shared_allow(struct sy_store *s, const char *dep,
                        const struct sy_breaker_conf *c, const char *token,
                        uint64_t now_ms, struct sy_breaker_shared *out)
{
    struct script_args a;
    enum sy_err e =
        build_args(&a, sy_store_prefix(s), "allow", dep, c, now_ms,
                   token != NULL && token[0] != '\0' ? token : "probe");
    if (e != SY_OK) {
        memset(out, 0, sizeof(*out));
        return e;
    }
    return run(s, &a, out);
}

/* Count outcome 'o' for 'dep' across the cluster, as happening at
 * 'now_ms' (0: Redis' clock, which then also numbers the window);
 * 'token' is the probe token when this request was the probe, else NULL.
 * 'r16' is a 16-bit random value for the jitter of a new open period.
 * out->changed says whether this report made a transition (it was then
 * published). */
enum sy_err
sy_breaker_shared_report(struct sy_store *s, const char *dep,
                         const struct sy_breaker_conf *c,
                         enum sy_breaker_outcome o, const char *token,
                         uint32_t r16, uint64_t now_ms,
                         struct sy_breaker_shared *out)
{
    const struct sy_breaker_outcome_at one = { o, now_ms, now_ms, 1, token };
    return sy_breaker_shared_report_many(s, dep, c, &one, 1, r16, now_ms, out);
}

/* Count 'n' (at most SY_BREAKER_BATCH_MAX) outcomes of 'dep' in one
 * atomic script call, each at its own time, in the order given; as
 * sy_breaker_shared_report() otherwise. */
enum sy_err
sy_breaker_shared_report_many(struct sy_store *s, const char *dep,
                              const struct sy_breaker_conf *c,
                              const struct sy_breaker_outcome_at *ev, size_t n,
                              uint32_t r16, uint64_t now_ms,
                              struct sy_breaker_shared *out)
{
    struct script_args a;
    char r[16];
    snprintf(r, sizeof(r), "%u", r16 & 0xffffu);
    memset(out, 0, sizeof(*out));
    if (n > SY_BREAKER_BATCH_MAX)
        return SY_EBADREQ;
    enum sy_err e =
        build_args(&a, sy_store_prefix(s), "report", dep, c, now_ms, r);
    if (e != SY_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        add_outcome(&a, &ev[i]);
    return run(s, &a, out);
}

/* Read the cluster's state of 'dep' (no change; 'c' sizes the window
 * counts reported). */
enum sy_err
sy_breaker_shared_get(struct sy_store *s, const char *dep,
                      const struct sy_breaker_conf *c,
                      struct sy_breaker_shared *out)
{
    struct script_args a;
    enum sy_err e = build_args(&a, sy_store_prefix(s), "get", dep, c, 0, "");
    if (e != SY_OK) {
        memset(out, 0, sizeof(*out));
        return e;
    }
    return run(s, &a, out);
}

/* Append a read of the cluster's state of 'dep' to batch 'b' (keys under
 * 'prefix'), for a snapshot of every deployment in one round trip; decode
 * each reply with sy_breaker_parse_shared(). SY_ETOOBIG (batch unchanged)
 * when full. */
enum sy_err
sy_breaker_batch_get(struct sy_store_batch *b, const char *prefix,
                     const char *dep, const struct sy_breaker_conf *c)
{
    struct script_args a;
    enum sy_err e = build_args(&a, prefix, "get", dep, c, 0, "");
    if (e != SY_OK)
        return e;
    return sy_store_batch_eval(b, &script, 2, a.keys, a.nargv, a.argv);
}

/* Append to batch 'b' one atomic report of 'n' (1 to
 * SY_BREAKER_BATCH_MAX) outcomes of 'dep', in the order they happened
 * here, each with its own time (the pipelined form of
 * sy_breaker_shared_report_many, for the state thread's flushes); decode
 * the reply with sy_breaker_parse_shared(). */
enum sy_err
sy_breaker_batch_report(struct sy_store_batch *b, const char *prefix,
                        const char *dep, const struct sy_breaker_conf *c,
                        const struct sy_breaker_outcome_at *ev, size_t n,
                        uint32_t r16)
{
    struct script_args a;
    char r[16];
    snprintf(r, sizeof(r), "%u", r16 & 0xffffu);
    if (n == 0 || n > SY_BREAKER_BATCH_MAX)
        return SY_EBADREQ;
    enum sy_err e = build_args(&a, prefix, "report", dep, c, 0, r);
    if (e != SY_OK)
        return e;
    for (size_t i = 0; i < n; i++)
        add_outcome(&a, &ev[i]);
    return sy_store_batch_eval(b, &script, 2, a.keys, a.nargv, a.argv);
}

/* Append to 'b' the reports of 'n' outcomes of several deployments of
 * 'cfg' (ev[i] is of deployment dep[i]), given in the order they
 * happened in this process: one atomic script call per deployment (a
 * new one every SY_BREAKER_BATCH_MAX outcomes), so each process's
 * outcomes reach the script in order, with their times. Successes in a
 * row that are not probes become one outcome with a count, from the
 * first one's time to the last one's. report_dep[k] gets the deployment
 * of the k-th call (room for 'n'); 'rnd' draws each call's jitter.
 * Returns how many calls were appended. */
size_t
sy_breaker_batch_reports(struct sy_store_batch *b, const char *prefix,
                         const struct sy_config *cfg, const unsigned *dep,
                         const struct sy_breaker_outcome_at *ev, size_t n,
                         sy_breaker_rand_fn rnd, void *rnd_ud,
                         unsigned *report_dep)
{
    size_t nd = cfg->ndeployments;
    /* The outcomes grouped by deployment, in order (a counting sort):
     * deployment d's are order[start[d] .. start[d + 1]). */
    size_t *start = sy_xcalloc(nd + 2, sizeof(*start));
    size_t *order = sy_xcalloc(n + 1, sizeof(*order));
    for (size_t i = 0; i < n; i++)
        start[dep[i] + 2]++;
    for (size_t d = 0; d < nd; d++)
        start[d + 2] += start[d + 1];
    for (size_t i = 0; i < n; i++)
        order[start[dep[i] + 1]++] = i;
    size_t calls = 0;
    for (size_t d = 0; d < nd; d++) {
        struct sy_breaker_outcome_at one[SY_BREAKER_BATCH_MAX];
        size_t k = 0;
        for (size_t j = start[d]; j <= start[d + 1]; j++) {
            const struct sy_breaker_outcome_at *o =
                j < start[d + 1] ? &ev[order[j]] : NULL;
            bool plain_ok =
                o != NULL && o->o == SY_BREAKER_SUCCESS && o->token == NULL;
            if (plain_ok && k > 0 && one[k - 1].o == SY_BREAKER_SUCCESS &&
                one[k - 1].token == NULL) {
                one[k - 1].count += o->count; /* the run goes on */
                one[k - 1].at_ms = o->at_ms;
                continue;
            }
            if (k > 0 && (o == NULL || k == SY_BREAKER_BATCH_MAX)) {
                uint32_t r16 = rnd != NULL ? rnd(rnd_ud) >> 16 : 0;
                if (sy_breaker_batch_report(b, prefix, cfg->deployments[d].name,
                                            &cfg->state.breaker, one, k,
                                            r16) == SY_OK)
                    report_dep[calls++] = (unsigned)d;
                k = 0;
            }
            if (o != NULL)
                one[k++] = *o;
        }
    }
    free(order);
    free(start);
    return calls;
}

static bool
next_u64(const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    uint64_t x = 0;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    while (q < end && *q >= '0' && *q <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*q - '0');
        q++;
    }
    if (q >= end || *q != ' ')
        return false;
    *p = q + 1;
    *out = x;
    return true;
}

/* The probe deadline at the end of an event: the digits after the last
 * space of [p, *end), when there are only digits; '*end' then moves
 * back to that space. (Deployment names have no spaces; an older
 * version's events end with the name.) */
static bool
tail_u64(const char *p, const char **end, uint64_t *out)
{
    const char *sp = *end;
    while (sp > p && sp[-1] != ' ')
        sp--;
    if (sp == p || sp == *end)
        return false;
    uint64_t x = 0;
    for (const char *q = sp; q < *end; q++) {
        if (*q < '0' || *q > '9' || x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*q - '0');
    }
    *out = x;
    *end = sp - 1;
    return true;
}

/* Parse a message from the channel: "<state> <open_until> <now> <trips>
 * <dep> <probe_until>" (a transition, a probe taken or a probe freed;
 * older versions send no probe_until: probe_known is then false). The
 * deployment name goes to 'dep' (NUL-terminated). False when malformed
 * or the name does not fit. */
bool
sy_breaker_parse_event(const char *msg, size_t len, char *dep, size_t deplen,
                       struct sy_breaker_shared *out)
{
    const char *p = msg;
    const char *end = msg + len;
    uint64_t st, until, now, trips;
    memset(out, 0, sizeof(*out));
    if (!next_u64(&p, end, &st) || !next_u64(&p, end, &until) ||
        !next_u64(&p, end, &now) || !next_u64(&p, end, &trips) ||
        st > SY_BREAKER_HALF_OPEN || p >= end)
        return false;
    out->probe_known = tail_u64(p, &end, &out->probe_until_ms);
    if (p >= end || (size_t)(end - p) >= deplen)
        return false;
    memcpy(dep, p, (size_t)(end - p));
    dep[end - p] = '\0';
    out->state = (enum sy_breaker_state)st;
    out->open_until_ms = until;
    out->now_ms = now;
    out->trips = (unsigned)SY_MIN(trips, (uint64_t)UINT32_MAX);
    out->changed = true;
    return true;
}
