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
 * our own key's quota) frees the probe slot; a probe lost for probe_ms
 * is replaced. Outcomes of requests sent before the breaker opened are
 * counted but change nothing.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "breaker.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Pure logic                                                          */

/* Open after 5 provider failures in a row, or when half of at least 20
 * outcomes in 30 s failed; open 5 s, doubling to 2 min, +0..20 %; a
 * probe may take 30 s. */
void
sy_breaker_conf_defaults(struct sy_breaker_conf *c)
{
    c->consecutive = 5;
    c->min_requests = 20;
    c->failure_pct = 50;
    c->window_ms = 30000;
    c->open_ms = 5000;
    c->open_max_ms = 120000;
    c->jitter_pct = 20;
    c->probe_ms = 30000;
}

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
 * one at 'local_now_ms'. An open deadline is never moved earlier; while
 * the cluster is half-open the local breaker waits probe_ms as if a
 * probe were out (one is, somewhere). Local counts are kept unless the
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
        if (b->state != SY_BREAKER_HALF_OPEN ||
            local_now_ms + c->probe_ms > b->probe_until_ms)
            b->probe_until_ms = local_now_ms + c->probe_ms;
        b->state = SY_BREAKER_HALF_OPEN;
        break;
    }
    b->trips = sh->trips;
    b->consecutive = 0;
}

/* ------------------------------------------------------------------ */
/* Redis side                                                          */

/* KEYS[1] = the state hash, KEYS[2] = the probe key.
 * ARGV: 1 op (allow, report, get), 2 now ms (0: Redis TIME),
 * 3 consecutive, 4 min_requests, 5 failure_pct, 6 window_ms, 7 open_ms,
 * 8 open_max_ms, 9 jitter_pct, 10 probe_ms, 11 outcome (0 ignore,
 * 1 success, 2 failure), 12 probe token ("" = not the probe), 13 r16,
 * 14 channel ("" = no PUBLISH), 15 deployment name (for the message).
 * Returns {state, open_until, trips, now, verdict, changed, window total,
 * window failed}. Hash fields: state, open_until, trips, consecutive, and
 * per window bucket i: i<i> (bucket id), o<i> (ok), f<i> (failed). */
static const char breaker_lua[] =
    "local key, pkey = KEYS[1], KEYS[2]\n"
    "local op = ARGV[1]\n"
    "local now = tonumber(ARGV[2]) or 0\n"
    "if now <= 0 then\n"
    "  local t = redis.call('TIME')\n"
    "  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "end\n"
    "local cmax, minreq, pct = tonumber(ARGV[3]), tonumber(ARGV[4]),"
    " tonumber(ARGV[5])\n"
    "local window, open_ms, open_max = tonumber(ARGV[6]),"
    " tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local jitter, probe_ms = tonumber(ARGV[9]), tonumber(ARGV[10])\n"
    "local outcome, token, r16 = tonumber(ARGV[11]), ARGV[12],"
    " tonumber(ARGV[13])\n"
    "local channel, dep = ARGV[14], ARGV[15]\n"
    "local count = tonumber(ARGV[16]) or 1\n"
    "local NB = 10\n"
    "local f = {}\n"
    "local h = redis.call('HGETALL', key)\n"
    "for i = 1, #h, 2 do f[h[i]] = tonumber(h[i + 1]) end\n"
    "local state = f['state'] or 0\n"
    "local till = f['open_until'] or 0\n"
    "local trips = f['trips'] or 0\n"
    "local consec = f['consecutive'] or 0\n"
    "local bms = math.max(1, math.floor(window / NB))\n"
    "local cur = math.floor(now / bms)\n"
    "local verdict, changed, dirty = 0, 0, false\n"
    "local function wsum()\n"
    "  local total, failed = 0, 0\n"
    "  for i = 0, NB - 1 do\n"
    "    local id = f['i' .. i]\n"
    "    if id and id <= cur and cur - id < NB then\n"
    "      total = total + (f['o' .. i] or 0) + (f['f' .. i] or 0)\n"
    "      failed = failed + (f['f' .. i] or 0)\n"
    "    end\n"
    "  end\n"
    "  return total, failed\n"
    "end\n"
    "local function wadd(failed)\n"
    "  local s = cur % NB\n"
    "  if f['i' .. s] ~= cur then\n"
    "    f['i' .. s], f['o' .. s], f['f' .. s] = cur, 0, 0\n"
    "  end\n"
    "  local k = failed and ('f' .. s) or ('o' .. s)\n"
    "  f[k] = f[k] + count\n"
    "  dirty = true\n"
    "end\n"
    "local function period(t)\n"
    "  local p, i = open_ms, 1\n"
    "  while i < t and p < open_max do p = p * 2; i = i + 1 end\n"
    "  if open_max > 0 and p > open_max then p = open_max end\n"
    "  local jit = math.floor(p * jitter / 100)\n"
    "  return p + math.floor(jit * r16 / 65536)\n"
    "end\n"
    "local function publish()\n"
    "  changed, dirty = 1, true\n"
    "  if channel ~= '' then\n"
    "    redis.call('PUBLISH', channel, string.format('%d %d %d %d %s',"
    " state, till, now, trips, dep))\n"
    "  end\n"
    "end\n"
    "local function open_now()\n"
    "  trips = trips + 1\n"
    "  local t = now + period(trips)\n"
    "  if t > till then till = t end\n"
    "  state, consec = 1, 0\n"
    "  redis.call('DEL', pkey)\n"
    "  publish()\n"
    "end\n"
    "local function close_now()\n"
    "  state, till, trips, consec = 0, 0, 0, 0\n"
    "  for i = 0, NB - 1 do\n"
    "    f['i' .. i], f['o' .. i], f['f' .. i] = nil, nil, nil\n"
    "  end\n"
    "  redis.call('DEL', pkey, key)\n"
    "  publish()\n"
    "end\n"
    "if op == 'allow' then\n"
    "  if state == 0 then\n"
    "    verdict = 1\n"
    "  elseif state == 2 or now >= till then\n"
    "    if redis.call('SET', pkey, token, 'NX', 'PX', probe_ms) then\n"
    "      verdict = 2\n"
    "      if state == 1 then state = 2; publish() end\n"
    "    end\n"
    "  end\n"
    "elseif op == 'report' then\n"
    "  local holder = redis.call('GET', pkey)\n"
    "  local probe = token ~= '' and state == 2 and\n"
    "    (holder == token or not holder)\n"
    "  if outcome == 0 then\n"
    "    if probe and holder then redis.call('DEL', pkey) end\n"
    "  else\n"
    "    wadd(outcome == 2)\n"
    "    if state == 0 then\n"
    "      if outcome == 1 then\n"
    "        consec = 0\n"
    "      else\n"
    "        consec = consec + 1\n"
    "        local total, failed = wsum()\n"
    "        if (cmax > 0 and consec >= cmax) or (pct > 0 and\n"
    "            total >= math.max(minreq, 1) and\n"
    "            failed * 100 >= pct * total) then\n"
    "          open_now()\n"
    "        end\n"
    "      end\n"
    "    elseif state == 2 and probe then\n"
    "      if outcome == 1 then close_now() else open_now() end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if dirty then\n"
    "  local a = {'state', state, 'open_until', till, 'trips', trips,\n"
    "             'consecutive', consec}\n"
    "  for i = 0, NB - 1 do\n"
    "    if f['i' .. i] then\n"
    "      for _, p in ipairs({'i', 'o', 'f'}) do\n"
    "        a[#a + 1] = p .. i\n"
    "        a[#a + 1] = f[p .. i]\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  redis.call('HSET', key, unpack(a))\n"
    "  local jm = open_max + math.floor(open_max * jitter / 100)\n"
    "  redis.call('PEXPIRE', key, window + 2 * jm + probe_ms + 60000)\n"
    "end\n"
    "local total, failed = wsum()\n"
    "return {state, till, trips, now, verdict, changed, total, failed}\n";

const struct sy_store_script sy_breaker_script = {
    .name = "breaker",
    .source = breaker_lua,
};

/* The channel transitions are published on: "<prefix>breaker". */
int
sy_breaker_channel(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%sbreaker", prefix);
}

/* The script's arguments as strings. */
struct script_args {
    char key[512];
    char pkey[520];
    char chan[512];
    char num[11][24];
    const char *keys[2];
    const char *argv[16];
    char count[24];
};

static enum sy_err
build_args(struct script_args *a, const char *prefix, const char *op,
           const char *dep, const struct sy_breaker_conf *c, uint64_t now_ms,
           enum sy_breaker_outcome o, const char *token, uint32_t r16)
{
    int n = snprintf(a->key, sizeof(a->key), "%sbr:{%s}", prefix, dep);
    if (n < 0 || (size_t)n >= sizeof(a->key))
        return SY_EBADREQ;
    snprintf(a->pkey, sizeof(a->pkey), "%s:probe", a->key);
    n = sy_breaker_channel(a->chan, sizeof(a->chan), prefix);
    if (n < 0 || (size_t)n >= sizeof(a->chan))
        return SY_EBADREQ;
    const uint64_t nums[11] = { now_ms,         c->consecutive, c->min_requests,
                                c->failure_pct, c->window_ms,   c->open_ms,
                                c->open_max_ms, c->jitter_pct,  c->probe_ms,
                                (uint64_t)o,    r16 & 0xffffu };
    for (int i = 0; i < 11; i++)
        snprintf(a->num[i], sizeof(a->num[i]), "%" PRIu64, nums[i]);
    a->keys[0] = a->key;
    a->keys[1] = a->pkey;
    a->argv[0] = op;
    for (int i = 0; i < 10; i++)
        a->argv[1 + i] = a->num[i];
    a->argv[11] = token != NULL ? token : "";
    a->argv[12] = a->num[10];
    a->argv[13] = a->chan;
    a->argv[14] = dep;
    snprintf(a->count, sizeof(a->count), "1");
    a->argv[15] = a->count;
    return SY_OK;
}

/* Decode the script's reply 'v' into 'out'; false when malformed. */
bool
sy_breaker_parse_shared(const struct sy_store_val *v,
                        struct sy_breaker_shared *out)
{
    memset(out, 0, sizeof(*out));
    if (v == NULL || v->type != SY_STORE_ARRAY || v->n != 8)
        return false;
    int64_t x[8];
    for (size_t i = 0; i < 8; i++) {
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
    return true;
}

static enum sy_err
run(struct sy_store *s, const char *op, const char *dep,
    const struct sy_breaker_conf *c, uint64_t now_ms, enum sy_breaker_outcome o,
    const char *token, uint32_t r16, struct sy_breaker_shared *out)
{
    struct script_args a;
    memset(out, 0, sizeof(*out));
    enum sy_err e =
        build_args(&a, sy_store_prefix(s), op, dep, c, now_ms, o, token, r16);
    if (e != SY_OK)
        return e;
    struct sy_arena arena;
    sy_arena_init(&arena, 1024);
    struct sy_store_val *v;
    e = sy_store_eval(s, &sy_breaker_script, 2, a.keys, 15, a.argv, &arena, &v);
    if (e == SY_OK && !sy_breaker_parse_shared(v, out))
        e = SY_ESTORE;
    sy_arena_cleanup(&arena);
    return e;
}

/* Ask the cluster whether a request may go to 'dep' (call it when the
 * snapshot shows the breaker open past its deadline, or half-open). On
 * SY_OK out->verdict is PASS, DENY, or PROBE: this caller holds the one
 * cluster-wide probe under 'token' (unique, e.g. the request id) for
 * probe_ms and reports with the same token. 'now_ms' 0 uses Redis' clock
 * (tests pass their own). SY_ESTORE when Redis is unavailable: fall back
 * to the local breaker. */
enum sy_err
sy_breaker_shared_allow(struct sy_store *s, const char *dep,
                        const struct sy_breaker_conf *c, const char *token,
                        uint64_t now_ms, struct sy_breaker_shared *out)
{
    return run(s, "allow", dep, c, now_ms, SY_BREAKER_IGNORE,
               token != NULL && token[0] != '\0' ? token : "probe", 0, out);
}

/* Count outcome 'o' for 'dep' across the cluster; 'token' is the probe
 * token when this request was the probe, else NULL. 'r16' is a 16-bit
 * random value for the jitter of a new open period. out->changed says
 * whether this report made a transition (it was then published). */
enum sy_err
sy_breaker_shared_report(struct sy_store *s, const char *dep,
                         const struct sy_breaker_conf *c,
                         enum sy_breaker_outcome o, const char *token,
                         uint32_t r16, uint64_t now_ms,
                         struct sy_breaker_shared *out)
{
    return run(s, "report", dep, c, now_ms, o, token, r16, out);
}

/* Read the cluster's state of 'dep' (no change; 'c' sizes the window
 * counts reported). */
enum sy_err
sy_breaker_shared_get(struct sy_store *s, const char *dep,
                      const struct sy_breaker_conf *c,
                      struct sy_breaker_shared *out)
{
    return run(s, "get", dep, c, 0, SY_BREAKER_IGNORE, NULL, 0, out);
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
    enum sy_err e =
        build_args(&a, prefix, "get", dep, c, 0, SY_BREAKER_IGNORE, NULL, 0);
    if (e != SY_OK)
        return e;
    return sy_store_batch_eval(b, &sy_breaker_script, 2, a.keys, 15, a.argv);
}

/* Append a report of outcome 'o' for 'dep' to batch 'b' (the pipelined
 * form of sy_breaker_shared_report, for the state thread's flushes);
 * decode each reply with sy_breaker_parse_shared(). */
enum sy_err
sy_breaker_batch_report(struct sy_store_batch *b, const char *prefix,
                        const char *dep, const struct sy_breaker_conf *c,
                        enum sy_breaker_outcome o, const char *token,
                        uint32_t r16)
{
    return sy_breaker_batch_report_n(b, prefix, dep, c, o, token, r16, 1);
}

/* One report standing for 'count' outcomes 'o' in a row (successes
 * collected by the state thread between two flushes). */
enum sy_err
sy_breaker_batch_report_n(struct sy_store_batch *b, const char *prefix,
                          const char *dep, const struct sy_breaker_conf *c,
                          enum sy_breaker_outcome o, const char *token,
                          uint32_t r16, unsigned count)
{
    struct script_args a;
    enum sy_err e = build_args(&a, prefix, "report", dep, c, 0, o, token, r16);
    if (e != SY_OK)
        return e;
    snprintf(a.count, sizeof(a.count), "%u", count);
    return sy_store_batch_eval(b, &sy_breaker_script, 2, a.keys, 16, a.argv);
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

/* Parse a transition message "<state> <open_until> <now> <trips> <dep>"
 * from the channel; the deployment name goes to 'dep' (NUL-terminated).
 * False when malformed or the name does not fit. */
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
        st > SY_BREAKER_HALF_OPEN || p >= end || (size_t)(end - p) >= deplen)
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
