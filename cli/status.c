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
 * each deployment's field of the contract hash, and GETs of the
 * rate-limit counters; every name comes from core/state/keys.h, as the
 * workers' do. Read only: no key is created or changed. See
 * docs/shared-state.md for the key layout.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "status.h"
#include "cli_common.h"
#include "state/breaker.h"
#include "base/buf.h"
#include "config/config.h"
#include "state/keys.h"
#include "state/latency.h"
#include "base/mem.h"
#include "base/limits.h"
#include "state/quota.h"
#include "state/ratelimit.h"
#include "io/store.h"

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
    /* positions of its replies in the batch */
    size_t at_total; /* first HGETALL of the total metric */
    size_t at_ttft;
    size_t at_breaker;
    size_t at_contract; /* HGET <contract hash> <deployment> */
};

/* A provider key or a caller key. */
struct key_info {
    char name[200];       /* "<provider>#<n>" or the caller key name */
    const char *provider; /* NULL for caller keys */
    char rl_rpm[240];     /* limit names (sy_key_limit_*) */
    char rl_tpm[240];
    struct rate_use rpm;
    struct rate_use tpm;
    int64_t parked_ms; /* provider keys: park time left, 0 none */
    /* positions of its replies in the batch */
    size_t at_rpm; /* GET current window, GET previous */
    size_t at_tpm;
    size_t at_park; /* PTTL, provider keys only */
};

/* What the command read, and from where. */
struct report {
    const struct sy_config *cfg;
    const char *prefix;    /* the store's key prefix */
    const char *where;     /* the Redis address, for the output */
    uint64_t now_ms;       /* Redis' clock */
    struct dep_info *deps; /* one per deployment */
    struct key_info *pkeys;
    size_t npkeys;
    struct key_info *ckeys; /* one per configured caller key */
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
add_get(struct sy_store_batch *b, const char *prefix, const char *limit,
        uint64_t window_id)
{
    char key[SY_KEY_MAX];
    int n = sy_key_ratelimit_window(key, sizeof(key), prefix, limit, window_id);
    if (!sy_key_fits(n, sizeof(key)))
        return SY_EBADREQ;
    return sy_store_batch_addl(b, "GET", key, NULL);
}

/* Queue GET current, GET previous window of limit 'limit'. */
static enum sy_err
add_rate(struct sy_store_batch *b, const char *prefix, const char *limit,
         uint64_t window_id, size_t *pos)
{
    *pos = b->n;
    enum sy_err e = add_get(b, prefix, limit, window_id);
    if (e == SY_OK)
        e = add_get(b, prefix, limit, window_id > 0 ? window_id - 1 : 0);
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
print_text(const struct report *rep)
{
    const struct sy_config *cfg = rep->cfg;
    const struct sy_state_conf *sc = &cfg->state;
    const struct dep_info *deps = rep->deps;
    time_t t = (time_t)(rep->now_ms / 1000);
    struct tm tm;
    char when[64];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("shared state: redis %s, prefix \"%s\", at %s (Redis clock)\n",
           rep->where, rep->prefix, when);
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
        const struct key_info *k = pass == 0 ? rep->pkeys : rep->ckeys;
        size_t n = pass == 0 ? rep->npkeys : cfg->nkeys;
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

/* One deployment's object. */
static void
json_dep(struct sy_buf *b, const struct sy_deployment *dp,
         const struct dep_info *d)
{
    sy_buf_puts(b, "{\"name\":");
    sy_buf_json_str(b, dp->name, strlen(dp->name));
    sy_buf_puts(b, ",\"provider\":");
    sy_buf_json_str(b, dp->provider->name, strlen(dp->provider->name));
    sy_buf_printf(
        b, ",\"samples\":%" PRIu64 ",\"latency_ms\":{\"p50\":", d->total.count);
    json_ms(b, &d->total, d->total.p50_us);
    sy_buf_puts(b, ",\"p99\":");
    json_ms(b, &d->total, d->total.p99_us);
    sy_buf_printf(b, "},\"ttft_samples\":%" PRIu64 ",\"ttft_ms\":{\"p50\":",
                  d->ttft.count);
    json_ms(b, &d->ttft, d->ttft.p50_us);
    sy_buf_puts(b, ",\"p95\":");
    json_ms(b, &d->ttft, d->ttft.p95_us);
    uint32_t tot = d->br_known ? d->br.window_total : 0;
    uint32_t bad = d->br_known ? d->br.window_failed : 0;
    sy_buf_printf(b,
                  "},\"outcomes\":%" PRIu32 ",\"failures\":%" PRIu32
                  ",\"error_rate\":",
                  tot, bad);
    if (tot == 0)
        sy_buf_puts(b, "null");
    else
        sy_buf_printf(b, "%.4f", (double)bad / tot);
    sy_buf_printf(b, ",\"contract_violations\":%" PRIu64, d->contract);
    sy_buf_puts(b, ",\"breaker\":");
    if (!d->br_known) {
        sy_buf_puts(b, "null");
    } else {
        uint64_t left =
            d->br.state == SY_BREAKER_OPEN && d->br.open_until_ms > d->br.now_ms
                ? d->br.open_until_ms - d->br.now_ms
                : 0;
        sy_buf_printf(b, "{\"state\":\"%s\",\"open_until_ms\":",
                      sy_breaker_state_name(d->br.state));
        if (d->br.state == SY_BREAKER_CLOSED)
            sy_buf_puts(b, "null");
        else
            sy_buf_printf(b, "%" PRIu64, d->br.open_until_ms);
        sy_buf_printf(b, ",\"open_for_ms\":%" PRIu64 ",\"trips\":%u}", left,
                      d->br.trips);
    }
    sy_buf_puts(b, "}");
}

/* false (and nothing printed) when the document did not fit. */
static bool
print_json(const struct report *rep)
{
    const struct sy_config *cfg = rep->cfg;
    const struct sy_state_conf *sc = &cfg->state;
    struct sy_buf b;
    sy_buf_init(&b, SY_CLI_OUTPUT_MAX);
    sy_buf_puts(&b, "{\"redis\":{\"address\":");
    sy_buf_json_str(&b, rep->where, strlen(rep->where));
    sy_buf_puts(&b, ",\"prefix\":");
    sy_buf_json_str(&b, rep->prefix, strlen(rep->prefix));
    sy_buf_printf(&b,
                  ",\"up\":true},\"now_ms\":%" PRIu64 ",\"window_ms\":%" PRIu32
                  ",\"slice_ms\":%" PRIu32 ",\"breaker_window_ms\":%" PRIu32
                  ",\"rate_window_ms\":%u,\"deployments\":[",
                  rep->now_ms, sc->window_ms, sc->slice_ms,
                  sc->breaker.window_ms, SY_QUOTA_WINDOW_MS);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_dep(&b, &cfg->deployments[i], &rep->deps[i]);
    }
    sy_buf_puts(&b, "],\"provider_keys\":[");
    for (size_t i = 0; i < rep->npkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &rep->pkeys[i]);
    }
    sy_buf_puts(&b, "],\"caller_keys\":[");
    for (size_t i = 0; i < cfg->nkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &rep->ckeys[i]);
    }
    sy_buf_puts(&b, "]}\n");
    bool ok = !sy_buf_failed(&b);
    if (ok)
        fputs(sy_buf_cstr(&b), stdout);
    else
        fprintf(stderr,
                "switchyard status: the report is larger than %zu "
                "bytes\n",
                b.max);
    sy_buf_free(&b);
    return ok;
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

/* The keys to report, with their limit names as the workers name them
 * (core/state/keys.h, through core/state/quota.c). */
static void
collect_keys(struct report *rep)
{
    const struct sy_config *cfg = rep->cfg;
    rep->npkeys = 0;
    for (size_t i = 0; i < cfg->nproviders; i++)
        rep->npkeys += provider_nkeys(&cfg->providers[i]);
    rep->pkeys = sy_xcalloc(rep->npkeys + 1, sizeof(*rep->pkeys));
    rep->ckeys = sy_xcalloc(cfg->nkeys + 1, sizeof(*rep->ckeys));
    size_t k = 0;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct sy_provider *p = &cfg->providers[i];
        for (size_t j = 0; j < provider_nkeys(p); j++, k++) {
            struct key_info *ki = &rep->pkeys[k];
            sy_quota_key_name(p, (unsigned)j, ki->name, sizeof(ki->name));
            ki->provider = p->name;
            sy_key_limit_provider(ki->rl_rpm, sizeof(ki->rl_rpm), p->name,
                                  (unsigned)j, SY_KEY_RPM);
            sy_key_limit_provider(ki->rl_tpm, sizeof(ki->rl_tpm), p->name,
                                  (unsigned)j, SY_KEY_TPM);
            ki->rpm.limit = p->key_limits.rpm;
            ki->tpm.limit = p->key_limits.tpm;
        }
    }
    for (size_t i = 0; i < cfg->nkeys; i++) {
        struct key_info *ki = &rep->ckeys[i];
        snprintf(ki->name, sizeof(ki->name), "%s", cfg->keys[i].name);
        sy_key_limit_caller(ki->rl_rpm, sizeof(ki->rl_rpm), ki->name,
                            SY_KEY_RPM);
        sy_key_limit_caller(ki->rl_tpm, sizeof(ki->rl_tpm), ki->name,
                            SY_KEY_TPM);
        ki->rpm.limit = cfg->keys[i].limits.rpm;
        ki->tpm.limit = cfg->keys[i].limits.tpm;
    }
}

/* Queue what deployment 'name' needs: latency slices, breaker, contract
 * violations. */
static enum sy_err
queue_dep(struct sy_store_batch *b, const struct report *rep, const char *name,
          const char *contract_key, struct dep_info *d)
{
    const struct sy_state_conf *sc = &rep->cfg->state;
    unsigned nslices =
        (unsigned)((sc->window_ms + sc->slice_ms - 1) / sc->slice_ms);
    if (nslices == 0)
        nslices = 1;
    d->at_total = b->n;
    enum sy_err e = sy_latency_read(b, rep->prefix, name, SY_LATENCY_TOTAL,
                                    rep->now_ms, sc->slice_ms, nslices);
    d->at_ttft = b->n;
    if (e == SY_OK)
        e = sy_latency_read(b, rep->prefix, name, SY_LATENCY_TTFT, rep->now_ms,
                            sc->slice_ms, nslices);
    d->at_breaker = b->n;
    if (e == SY_OK)
        e = sy_breaker_batch_get(b, rep->prefix, name, &sc->breaker);
    d->at_contract = b->n;
    if (e == SY_OK)
        e = sy_store_batch_addl(b, "HGET", contract_key, name, NULL);
    return e;
}

/* Queue a key's two rate windows per limit, and a provider key's park. */
static enum sy_err
queue_key(struct sy_store_batch *b, const struct report *rep,
          struct key_info *k)
{
    uint64_t wid = rep->now_ms / SY_QUOTA_WINDOW_MS;
    enum sy_err e = add_rate(b, rep->prefix, k->rl_rpm, wid, &k->at_rpm);
    if (e == SY_OK)
        e = add_rate(b, rep->prefix, k->rl_tpm, wid, &k->at_tpm);
    if (e == SY_OK && k->provider != NULL) {
        char key[SY_KEY_MAX];
        if (!sy_key_fits(
                sy_key_ratelimit_park(key, sizeof(key), rep->prefix, k->rl_rpm),
                sizeof(key)))
            return SY_EBADREQ;
        k->at_park = b->n;
        e = sy_store_batch_addl(b, "PTTL", key, NULL);
    }
    return e;
}

/* One pipeline for everything. */
static enum sy_err
queue_all(struct sy_store_batch *b, struct report *rep)
{
    const struct sy_config *cfg = rep->cfg;
    char contract_key[SY_KEY_MAX];
    if (!sy_key_fits(
            sy_key_contract(contract_key, sizeof(contract_key), rep->prefix),
            sizeof(contract_key)))
        return SY_EBADREQ;
    enum sy_err e = SY_OK;
    for (size_t i = 0; i < cfg->ndeployments && e == SY_OK; i++)
        e = queue_dep(b, rep, cfg->deployments[i].name, contract_key,
                      &rep->deps[i]);
    for (size_t i = 0; i < rep->npkeys && e == SY_OK; i++)
        e = queue_key(b, rep, &rep->pkeys[i]);
    for (size_t i = 0; i < cfg->nkeys && e == SY_OK; i++)
        e = queue_key(b, rep, &rep->ckeys[i]);
    return e;
}

/* Merge 'n' latency slices from r[at] on into 'out'. */
static void
read_latency(const struct sy_store_val *r, size_t at, size_t n,
             struct sy_latency_stats *out)
{
    struct sy_latency_hist h;
    sy_latency_hist_clear(&h);
    for (size_t j = 0; j < n; j++)
        sy_latency_merge_reply(&h, &r[at + j]);
    sy_latency_hist_stats(&h, out);
}

static void
read_all(struct report *rep, const struct sy_store_val *r)
{
    for (size_t i = 0; i < rep->cfg->ndeployments; i++) {
        struct dep_info *d = &rep->deps[i];
        size_t got = d->at_ttft - d->at_total;
        read_latency(r, d->at_total, got, &d->total);
        read_latency(r, d->at_ttft, got, &d->ttft);
        d->br_known = sy_breaker_parse_shared(&r[d->at_breaker], &d->br);
        d->contract = val_u64(&r[d->at_contract]);
    }
    for (size_t i = 0; i < rep->npkeys; i++) {
        struct key_info *k = &rep->pkeys[i];
        read_rate(r, k->at_rpm, rep->now_ms, &k->rpm);
        read_rate(r, k->at_tpm, rep->now_ms, &k->tpm);
        int64_t pt = 0;
        if (sy_store_val_int(&r[k->at_park], &pt) && pt > 0)
            k->parked_ms = pt;
    }
    for (size_t i = 0; i < rep->cfg->nkeys; i++) {
        struct key_info *k = &rep->ckeys[i];
        read_rate(r, k->at_rpm, rep->now_ms, &k->rpm);
        read_rate(r, k->at_tpm, rep->now_ms, &k->tpm);
    }
}

/* Read and print; the exit status. */
static int
run(struct sy_cli *c, bool json)
{
    struct report rep = {
        .cfg = c->cfg,
        .prefix = sy_store_prefix(c->store),
        .where = c->where,
    };
    if (sy_store_time_ms(c->store, &rep.now_ms) != SY_OK) {
        sy_cli_store_failed(c);
        return sy_cli_fail(c);
    }
    collect_keys(&rep);
    rep.deps = sy_xcalloc(c->cfg->ndeployments + 1, sizeof(*rep.deps));
    struct sy_store_batch b;
    sy_store_batch_init(&b, SY_CLI_OUTPUT_MAX);
    struct sy_arena arena;
    sy_arena_init(&arena, 65536);
    struct sy_store_val *r = NULL;
    int rc = 0;
    enum sy_err e = queue_all(&b, &rep);
    if (e != SY_OK) {
        fprintf(stderr, "switchyard status: cannot build the query (%s)\n",
                sy_err_name(e));
        rc = 1;
    } else if (b.n > 0 && sy_store_exec(c->store, &b, &arena, &r) != SY_OK) {
        sy_cli_store_failed(c);
        rc = sy_cli_fail(c);
    } else {
        read_all(&rep, r);
        if (json)
            rc = print_json(&rep) ? 0 : 1;
        else
            print_text(&rep);
        rc |= sy_cli_flush(c);
    }
    sy_arena_cleanup(&arena);
    sy_store_batch_cleanup(&b);
    free(rep.deps);
    free(rep.ckeys);
    free(rep.pkeys);
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
    struct sy_cli cli;
    if (!sy_cli_load(&cli, "status", config))
        return 1;
    int rc = sy_cli_open_store(&cli) ? run(&cli, json) : sy_cli_fail(&cli);
    sy_cli_close(&cli);
    return rc;
}
