/*
 * status.c - 'switchyard status [--config FILE] [--json]': read the
 * cluster's shared state from Redis (state.redis_url of the config) and
 * print, for every deployment, its latency quantiles over the window
 * (total p50/p99, time to first token p50/p95, samples), its error rate,
 * breaker and output contract violations; for every provider key
 * ("<provider>#<n>", never the key itself) and caller key, its requests
 * and tokens in the current rate window against its limit.
 *
 * One round trip: TIME, then one pipeline built with the same functions
 * the workers use (sy_latency_read, sy_breaker_batch_get), an HGET of
 * each deployment's field of the "<prefix>contract" hash, and GETs of the
 * rate-limit counters named as core/state/quota.c names them (provider keys by
 * sy_quota_key_name, never the key itself). Read only: no key is created
 * or changed. See docs/shared-state.md for the key layout.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "status.h"
#include "state/breaker.h"
#include "base/buf.h"
#include "config/config.h"
#include "state/state.h"
#include "state/latency.h"
#include "base/mem.h"
#include "state/quota.h"
#include "state/ratelimit.h"
#include "io/store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_status[] =
    "usage: switchyard status [--config FILE] [--json]\n"
    "\n"
    "Read the shared state in Redis (state.redis_url of the config) and\n"
    "print, per deployment: total latency p50/p99 and time to first token\n"
    "p50/p95 over state.window_ms, samples, error rate and breaker state\n"
    "over state.breaker.window_ms, when an open breaker may probe, and\n"
    "its output contract violations (replies that broke a requested JSON\n"
    "format, schema or tool arguments; a running total, never breaker\n"
    "failures); per provider key (<provider>#<n>, n from 1; never the key)\n"
    "and per caller key: requests and tokens in the sliding minute against\n"
    "the limit.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  configuration (default: $SWITCHYARD_CONFIG or the\n"
    "                     embedded default)\n"
    "  -j, --json         one JSON object instead of tables\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 printed; 1 no shared state in the config, Redis\n"
    "unreachable, or an invalid config; 2 usage error.\n";

/* One limit's counters: the current and previous fixed windows. */
struct rate_use {
    uint64_t cur;
    uint64_t prev;
    uint64_t limit;
    uint64_t used; /* sliding estimate, as the limiter computes it */
};

struct dep_info {
    struct sy_latency_stats total;
    struct sy_latency_stats ttft;
    struct sy_breaker_shared br;
    bool br_known;
    uint64_t contract; /* output contract violations, all time */
};

/* A provider key or a caller key. */
struct key_info {
    char name[200];       /* "<provider>#<n>" or the caller key name */
    const char *provider; /* NULL for caller keys */
    char rl_rpm[240];     /* rate-limit names */
    char rl_tpm[240];
    struct rate_use rpm;
    struct rate_use tpm;
    int64_t parked_ms; /* provider keys: park time left, 0 none */
};

/* Batch reply positions of one deployment / key. */
struct dep_pos {
    size_t total; /* first HGETALL of the total metric */
    size_t ttft;
    size_t breaker;
    size_t contract; /* HGET <prefix>contract <deployment> */
};

struct key_pos {
    size_t rpm; /* GET cur, GET prev */
    size_t tpm;
    size_t park; /* PTTL, or SIZE_MAX */
};

static uint64_t
val_u64(const struct sy_store_val *v)
{
    int64_t x;
    if (v == NULL || !sy_store_val_int(v, &x) || x < 0)
        return 0;
    return (uint64_t)x;
}

static enum sy_err
add_get(struct sy_store_batch *b, const char *prefix, const char *name,
        uint64_t window_id)
{
    char key[512];
    int n = snprintf(key, sizeof(key), "%srl:{%s}:%" PRIu64, prefix, name,
                     window_id);
    if (n < 0 || (size_t)n >= sizeof(key))
        return SY_EBADREQ;
    return sy_store_batch_addl(b, "GET", key, NULL);
}

/* Queue GET current, GET previous window of limit 'name'. */
static enum sy_err
add_rate(struct sy_store_batch *b, const char *prefix, const char *name,
         uint64_t window_id, size_t *pos)
{
    *pos = b->n;
    enum sy_err e = add_get(b, prefix, name, window_id);
    if (e == SY_OK)
        e = add_get(b, prefix, name, window_id > 0 ? window_id - 1 : 0);
    return e;
}

static void
read_rate(const struct sy_store_val *r, size_t pos, uint64_t now_ms,
          struct rate_use *u)
{
    uint64_t wid = now_ms / SY_QUOTA_WINDOW_MS;
    u->cur = val_u64(&r[pos]);
    u->prev = wid > 0 ? val_u64(&r[pos + 1]) : 0;
    u->used = sy_ratelimit_estimate(u->prev, u->cur, SY_QUOTA_WINDOW_MS,
                                    now_ms - wid * SY_QUOTA_WINDOW_MS);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void
fmt_ms(char *out, size_t outlen, const struct sy_latency_stats *s, uint64_t us)
{
    if (s->count == 0)
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%.1f", (double)us / 1000.0);
}

static void
fmt_rate(char *out, size_t outlen, const struct rate_use *u)
{
    if (u->limit == 0)
        snprintf(out, outlen, "%" PRIu64 "/-", u->used);
    else
        snprintf(out, outlen, "%" PRIu64 "/%" PRIu64, u->used, u->limit);
}

static void
fmt_breaker(char *out, size_t outlen, const struct dep_info *d)
{
    if (!d->br_known) {
        snprintf(out, outlen, "unknown");
        return;
    }
    const struct sy_breaker_shared *b = &d->br;
    if (b->state == SY_BREAKER_CLOSED) {
        snprintf(out, outlen, "closed");
    } else if (b->state == SY_BREAKER_OPEN && b->open_until_ms > b->now_ms) {
        snprintf(out, outlen, "open until %.1f s from now (trips %u)",
                 (double)(b->open_until_ms - b->now_ms) / 1000.0, b->trips);
    } else if (b->state == SY_BREAKER_OPEN) {
        snprintf(out, outlen, "open, next request probes (trips %u)", b->trips);
    } else {
        snprintf(out, outlen, "half-open, probe out (trips %u)", b->trips);
    }
}

static void
fmt_errors(char *out, size_t outlen, const struct dep_info *d)
{
    if (!d->br_known || d->br.window_total == 0)
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%.1f%% of %" PRIu32,
                 100.0 * d->br.window_failed / d->br.window_total,
                 d->br.window_total);
}

static int
max_width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void
print_text(const struct sy_config *cfg, const char *where, uint64_t now_ms,
           const struct dep_info *deps, const struct key_info *pkeys,
           size_t npkeys, const struct key_info *ckeys)
{
    const struct sy_state_conf *sc = &cfg->state;
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    char when[64];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("shared state: redis %s, prefix \"%s\", at %s (Redis clock)\n",
           where, sc->prefix, when);
    printf("latency over the last %.0f s; errors and breakers over the "
           "last %.0f s\n\n",
           sc->window_ms / 1000.0, sc->breaker.window_ms / 1000.0);

    printf("CONTRACT: replies that broke the requested output format "
           "(a running total;\nnot breaker failures)\n\n");

    int wn = (int)strlen("DEPLOYMENT");
    int wb = (int)strlen("BREAKER");
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        char br[96];
        wn = max_width(wn, cfg->deployments[i].name);
        fmt_breaker(br, sizeof(br), &deps[i]);
        wb = max_width(wb, br);
    }
    printf("%-*s  %8s  %9s  %9s  %9s  %9s  %-16s  %-*s  %8s\n", wn,
           "DEPLOYMENT", "SAMPLES", "P50 ms", "P99 ms", "TTFT p50", "TTFT p95",
           "ERRORS", wb, "BREAKER", "CONTRACT");
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const struct dep_info *d = &deps[i];
        char p50[32], p99[32], t50[32], t95[32], errs[64], br[96];
        fmt_ms(p50, sizeof(p50), &d->total, d->total.p50_us);
        fmt_ms(p99, sizeof(p99), &d->total, d->total.p99_us);
        fmt_ms(t50, sizeof(t50), &d->ttft, d->ttft.p50_us);
        fmt_ms(t95, sizeof(t95), &d->ttft, d->ttft.p95_us);
        fmt_errors(errs, sizeof(errs), d);
        fmt_breaker(br, sizeof(br), d);
        printf("%-*s  %8" PRIu64 "  %9s  %9s  %9s  %9s  %-16s  %-*s  %8" PRIu64
               "\n",
               wn, cfg->deployments[i].name, d->total.count, p50, p99, t50, t95,
               errs, wb, br, d->contract);
    }

    for (int pass = 0; pass < 2; pass++) {
        const struct key_info *k = pass == 0 ? pkeys : ckeys;
        size_t n = pass == 0 ? npkeys : cfg->nkeys;
        const char *title = pass == 0 ? "PROVIDER KEY" : "CALLER KEY";
        int wk = (int)strlen(title);
        printf("\n");
        if (n == 0) {
            printf("%s: none%s\n", title,
                   pass == 0 ? " (every provider is keyless)"
                             : " (no \"keys\" section: callers are not "
                               "authenticated)");
            continue;
        }
        for (size_t i = 0; i < n; i++)
            wk = max_width(wk, k[i].name);
        if (pass == 0)
            printf("%-*s  %-22s  %-24s  PARKED\n", wk, title,
                   "REQUESTS/MIN (limit)", "TOKENS/MIN (limit)");
        else
            printf("%-*s  %-22s  %s\n", wk, title, "REQUESTS/MIN (limit)",
                   "TOKENS/MIN (limit)");
        for (size_t i = 0; i < n; i++) {
            char rpm[64], tpm[64], park[48] = "no";
            fmt_rate(rpm, sizeof(rpm), &k[i].rpm);
            fmt_rate(tpm, sizeof(tpm), &k[i].tpm);
            if (k[i].parked_ms > 0)
                snprintf(park, sizeof(park), "%.1f s left",
                         (double)k[i].parked_ms / 1000.0);
            if (pass == 0)
                printf("%-*s  %-22s  %-24s  %s\n", wk, k[i].name, rpm, tpm,
                       park);
            else
                printf("%-*s  %-22s  %s\n", wk, k[i].name, rpm, tpm);
        }
    }
}

static void
json_rate(struct sy_buf *b, const char *field, const struct rate_use *u)
{
    sy_buf_printf(b, "\"%s\":{\"used\":%" PRIu64 ",\"limit\":", field, u->used);
    if (u->limit == 0)
        sy_buf_puts(b, "null");
    else
        sy_buf_printf(b, "%" PRIu64, u->limit);
    sy_buf_printf(
        b, ",\"current_window\":%" PRIu64 ",\"previous_window\":%" PRIu64 "}",
        u->cur, u->prev);
}

static void
json_ms(struct sy_buf *b, const struct sy_latency_stats *s, uint64_t us)
{
    if (s->count == 0)
        sy_buf_puts(b, "null");
    else
        sy_buf_printf(b, "%.3f", (double)us / 1000.0);
}

static void
json_key(struct sy_buf *b, const struct key_info *k)
{
    sy_buf_puts(b, "{\"name\":");
    sy_buf_json_str(b, k->name, strlen(k->name));
    if (k->provider != NULL) {
        sy_buf_puts(b, ",\"provider\":");
        sy_buf_json_str(b, k->provider, strlen(k->provider));
    }
    sy_buf_puts(b, ",");
    json_rate(b, "rpm", &k->rpm);
    sy_buf_puts(b, ",");
    json_rate(b, "tpm", &k->tpm);
    if (k->provider != NULL)
        sy_buf_printf(b, ",\"parked_ms\":%" PRId64, k->parked_ms);
    sy_buf_puts(b, "}");
}

static void
print_json(const struct sy_config *cfg, const char *where, uint64_t now_ms,
           const struct dep_info *deps, const struct key_info *pkeys,
           size_t npkeys, const struct key_info *ckeys)
{
    const struct sy_state_conf *sc = &cfg->state;
    struct sy_buf b;
    sy_buf_init(&b, 64u << 20);
    sy_buf_puts(&b, "{\"redis\":{\"address\":");
    sy_buf_json_str(&b, where, strlen(where));
    sy_buf_puts(&b, ",\"prefix\":");
    sy_buf_json_str(&b, sc->prefix, strlen(sc->prefix));
    sy_buf_printf(&b,
                  ",\"up\":true},\"now_ms\":%" PRIu64 ",\"window_ms\":%" PRIu32
                  ",\"slice_ms\":%" PRIu32 ",\"breaker_window_ms\":%" PRIu32
                  ",\"rate_window_ms\":%u,\"deployments\":[",
                  now_ms, sc->window_ms, sc->slice_ms, sc->breaker.window_ms,
                  SY_QUOTA_WINDOW_MS);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const struct sy_deployment *dp = &cfg->deployments[i];
        const struct dep_info *d = &deps[i];
        sy_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        sy_buf_json_str(&b, dp->name, strlen(dp->name));
        sy_buf_puts(&b, ",\"provider\":");
        sy_buf_json_str(&b, dp->provider->name, strlen(dp->provider->name));
        sy_buf_printf(&b, ",\"samples\":%" PRIu64 ",\"latency_ms\":{\"p50\":",
                      d->total.count);
        json_ms(&b, &d->total, d->total.p50_us);
        sy_buf_puts(&b, ",\"p99\":");
        json_ms(&b, &d->total, d->total.p99_us);
        sy_buf_printf(&b,
                      "},\"ttft_samples\":%" PRIu64 ",\"ttft_ms\":{\"p50\":",
                      d->ttft.count);
        json_ms(&b, &d->ttft, d->ttft.p50_us);
        sy_buf_puts(&b, ",\"p95\":");
        json_ms(&b, &d->ttft, d->ttft.p95_us);
        uint32_t tot = d->br_known ? d->br.window_total : 0;
        uint32_t bad = d->br_known ? d->br.window_failed : 0;
        sy_buf_printf(&b,
                      "},\"outcomes\":%" PRIu32 ",\"failures\":%" PRIu32
                      ",\"error_rate\":",
                      tot, bad);
        if (tot == 0)
            sy_buf_puts(&b, "null");
        else
            sy_buf_printf(&b, "%.4f", (double)bad / tot);
        sy_buf_printf(&b, ",\"contract_violations\":%" PRIu64, d->contract);
        sy_buf_puts(&b, ",\"breaker\":");
        if (!d->br_known) {
            sy_buf_puts(&b, "null");
        } else {
            uint64_t left = d->br.state == SY_BREAKER_OPEN &&
                                    d->br.open_until_ms > d->br.now_ms
                                ? d->br.open_until_ms - d->br.now_ms
                                : 0;
            sy_buf_printf(&b, "{\"state\":\"%s\",\"open_until_ms\":",
                          sy_breaker_state_name(d->br.state));
            if (d->br.state == SY_BREAKER_CLOSED)
                sy_buf_puts(&b, "null");
            else
                sy_buf_printf(&b, "%" PRIu64, d->br.open_until_ms);
            sy_buf_printf(&b, ",\"open_for_ms\":%" PRIu64 ",\"trips\":%u}",
                          left, d->br.trips);
        }
        sy_buf_puts(&b, "}");
    }
    sy_buf_puts(&b, "],\"provider_keys\":[");
    for (size_t i = 0; i < npkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &pkeys[i]);
    }
    sy_buf_puts(&b, "],\"caller_keys\":[");
    for (size_t i = 0; i < cfg->nkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &ckeys[i]);
    }
    sy_buf_puts(&b, "]}\n");
    fputs(sy_buf_cstr(&b), stdout);
    sy_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */

/* How many keys provider 'p' has: those set in this environment, else
 * the variables it names (the status command may run where the keys are
 * not set; the gateway numbers the keys it has from 1). */
static size_t
provider_nkeys(const struct sy_provider *p)
{
    if (p->keyless)
        return 0;
    return p->nkeys > 0 ? p->nkeys : p->nkey_envs;
}

static int
run(const struct sy_config *cfg, bool json)
{
    const struct sy_state_conf *sc = &cfg->state;
    char where[600];
    sy_state_describe_redis(sc, where, sizeof(where));

    struct sy_store_conf conf;
    sy_store_conf_defaults(&conf);
    conf.url = sc->redis_url;
    conf.sentinels = sc->sentinels;
    conf.nsentinels = sc->nsentinels;
    conf.master_name = sc->master;
    conf.prefix = sc->prefix;
    conf.connect_timeout_ms = SY_MAX(sc->connect_timeout_ms, 1000u);
    conf.command_timeout_ms = SY_MAX(sc->command_timeout_ms, 2000u);
    struct sy_store *s = NULL;
    char err[256];
    if (sy_store_new(&conf, &s, err, sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard status: redis %s: %s\n", where, err);
        return 1;
    }
    uint64_t now_ms = 0;
    if (sy_store_time_ms(s, &now_ms) != SY_OK) {
        const char *why = sy_store_last_error(s);
        fprintf(stderr, "switchyard status: cannot reach Redis at %s: %s\n",
                where, why && why[0] ? why : "no answer");
        sy_store_free(s);
        return 1;
    }
    const char *prefix = sy_store_prefix(s);

    /* Keys to report. */
    size_t npkeys = 0;
    for (size_t i = 0; i < cfg->nproviders; i++)
        npkeys += provider_nkeys(&cfg->providers[i]);
    struct key_info *pkeys = sy_xcalloc(npkeys + 1, sizeof(*pkeys));
    struct key_info *ckeys = sy_xcalloc(cfg->nkeys + 1, sizeof(*ckeys));
    size_t k = 0;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct sy_provider *p = &cfg->providers[i];
        for (size_t j = 0; j < provider_nkeys(p); j++, k++) {
            struct key_info *ki = &pkeys[k];
            /* Limit names as core/state/quota.c builds them:
             * "pk:<provider>#<n>:rpm|tpm", "ck:<caller key>:rpm|tpm". */
            sy_quota_key_name(p, (unsigned)j, ki->name, sizeof(ki->name));
            ki->provider = p->name;
            snprintf(ki->rl_rpm, sizeof(ki->rl_rpm), "pk:%s:rpm", ki->name);
            snprintf(ki->rl_tpm, sizeof(ki->rl_tpm), "pk:%s:tpm", ki->name);
            ki->rpm.limit = p->key_limits.rpm;
            ki->tpm.limit = p->key_limits.tpm;
        }
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        struct key_info *ki = &ckeys[i];
        snprintf(ki->name, sizeof(ki->name), "%s", cfg->keys[i].name);
        snprintf(ki->rl_rpm, sizeof(ki->rl_rpm), "ck:%s:rpm", ki->name);
        snprintf(ki->rl_tpm, sizeof(ki->rl_tpm), "ck:%s:tpm", ki->name);
        ki->rpm.limit = cfg->keys[i].limits.rpm;
        ki->tpm.limit = cfg->keys[i].limits.tpm;
    }

    /* One pipeline for everything. */
    unsigned nslices =
        (unsigned)((sc->window_ms + sc->slice_ms - 1) / sc->slice_ms);
    if (nslices == 0)
        nslices = 1;
    struct dep_pos *dpos = sy_xcalloc(cfg->ndeployments + 1, sizeof(*dpos));
    struct key_pos *ppos = sy_xcalloc(npkeys + 1, sizeof(*ppos));
    struct key_pos *cpos = sy_xcalloc(cfg->nkeys + 1, sizeof(*cpos));
    struct dep_info *deps = sy_xcalloc(cfg->ndeployments + 1, sizeof(*deps));
    struct sy_store_batch b;
    sy_store_batch_init(&b, 64u << 20);
    enum sy_err e = SY_OK;
    uint64_t wid = now_ms / SY_QUOTA_WINDOW_MS;
    /* As core/state/state.c names it: one hash, field = deployment. */
    char contract_key[300];
    snprintf(contract_key, sizeof(contract_key), "%scontract", prefix);
    for (size_t i = 0; i < cfg->ndeployments && e == SY_OK; i++) {
        const char *name = cfg->deployments[i].name;
        dpos[i].total = b.n;
        e = sy_latency_read(&b, prefix, name, SY_LATENCY_TOTAL, now_ms,
                            sc->slice_ms, nslices);
        dpos[i].ttft = b.n;
        if (e == SY_OK)
            e = sy_latency_read(&b, prefix, name, SY_LATENCY_TTFT, now_ms,
                                sc->slice_ms, nslices);
        dpos[i].breaker = b.n;
        if (e == SY_OK)
            e = sy_breaker_batch_get(&b, prefix, name, &sc->breaker);
        dpos[i].contract = b.n;
        if (e == SY_OK)
            e = sy_store_batch_addl(&b, "HGET", contract_key, name, NULL);
    }
    for (int pass = 0; pass < 2 && e == SY_OK; pass++) {
        struct key_info *ks = pass == 0 ? pkeys : ckeys;
        struct key_pos *pos = pass == 0 ? ppos : cpos;
        size_t n = pass == 0 ? npkeys : cfg->nkeys;
        for (size_t i = 0; i < n && e == SY_OK; i++) {
            e = add_rate(&b, prefix, ks[i].rl_rpm, wid, &pos[i].rpm);
            if (e == SY_OK)
                e = add_rate(&b, prefix, ks[i].rl_tpm, wid, &pos[i].tpm);
            pos[i].park = SIZE_MAX;
            if (e == SY_OK && pass == 0) {
                char key[512];
                snprintf(key, sizeof(key), "%srl:{%s}:park", prefix,
                         ks[i].rl_rpm);
                pos[i].park = b.n;
                e = sy_store_batch_addl(&b, "PTTL", key, NULL);
            }
        }
    }
    struct sy_arena arena;
    sy_arena_init(&arena, 65536);
    struct sy_store_val *r = NULL;
    int rc = 0;
    if (e != SY_OK) {
        fprintf(stderr, "switchyard status: cannot build the query (%s)\n",
                sy_err_name(e));
        rc = 1;
    } else if (b.n > 0 && sy_store_exec(s, &b, &arena, &r) != SY_OK) {
        const char *why = sy_store_last_error(s);
        fprintf(stderr, "switchyard status: Redis at %s failed: %s\n", where,
                why && why[0] ? why : "no answer");
        rc = 1;
    }
    if (rc == 0) {
        for (size_t i = 0; i < cfg->ndeployments; i++) {
            struct sy_latency_hist h;
            unsigned got = (unsigned)(dpos[i].ttft - dpos[i].total);
            sy_latency_hist_clear(&h);
            for (unsigned j = 0; j < got; j++)
                sy_latency_merge_reply(&h, &r[dpos[i].total + j]);
            sy_latency_hist_stats(&h, &deps[i].total);
            sy_latency_hist_clear(&h);
            for (unsigned j = 0; j < got; j++)
                sy_latency_merge_reply(&h, &r[dpos[i].ttft + j]);
            sy_latency_hist_stats(&h, &deps[i].ttft);
            deps[i].br_known =
                sy_breaker_parse_shared(&r[dpos[i].breaker], &deps[i].br);
            deps[i].contract = val_u64(&r[dpos[i].contract]);
        }
        for (size_t i = 0; i < npkeys; i++) {
            read_rate(r, ppos[i].rpm, now_ms, &pkeys[i].rpm);
            read_rate(r, ppos[i].tpm, now_ms, &pkeys[i].tpm);
            int64_t pt = 0;
            if (sy_store_val_int(&r[ppos[i].park], &pt) && pt > 0)
                pkeys[i].parked_ms = pt;
        }
        for (size_t i = 0; i < cfg->nkeys; i++) {
            read_rate(r, cpos[i].rpm, now_ms, &ckeys[i].rpm);
            read_rate(r, cpos[i].tpm, now_ms, &ckeys[i].tpm);
        }
        if (json)
            print_json(cfg, where, now_ms, deps, pkeys, npkeys, ckeys);
        else
            print_text(cfg, where, now_ms, deps, pkeys, npkeys, ckeys);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "switchyard status: writing the output: %s\n",
                    strerror(errno));
            rc = 1;
        }
    }
    sy_arena_cleanup(&arena);
    sy_store_batch_cleanup(&b);
    free(deps);
    free(cpos);
    free(ppos);
    free(dpos);
    free(ckeys);
    free(pkeys);
    sy_store_free(s);
    return rc;
}

int
sy_status_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage_status, stdout);
            return 0;
        default:
            fputs(usage_status, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard status: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    struct sy_config *cfg = sy_config_load_default(config);
    if (cfg == NULL) {
        fprintf(stderr, "switchyard status: invalid configuration\n");
        return 1;
    }
    int rc;
    if (cfg->state.redis_url == NULL && cfg->state.nsentinels == 0) {
        fprintf(stderr,
                "switchyard status: %s has no shared state (state.redis_url "
                "is not set): each worker keeps its own statistics and there "
                "is nothing to read\n",
                cfg->origin);
        rc = 1;
    } else {
        rc = run(cfg, json);
    }
    sy_config_free(cfg);
    return rc;
}
