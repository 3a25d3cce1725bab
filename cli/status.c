/*
 * status.c - 'switchyard status [--config FILE] [--json]': read the
 * cluster's shared state from Redis (state.redis_url of the config) and
 * print, for every deployment, its latency quantiles over the window
 * (total p50/p99, time to first token p50/p95, samples), its error rate,
 * breaker and output contract violations; for every provider key
 * ("<provider>#<n>", never the key itself) and caller key, its requests
 * and tokens in the current rate window against its limit.
 *
 * Two round trips: TIME, then one pipeline built by core/state/snapshot.c
 * (shared with GET /metrics) with the same functions the workers use;
 * every name comes from core/state/keys.h, as the workers' do. Read only: no key is created or changed. See
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
#include "state/snapshot.h"
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

/* What the command read (core/state/snapshot.h), and from where. */
struct report {
    struct sy_snapshot snap;
    const char *where; /* the Redis address, for the output */
};

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
fmt_rate(char *out, size_t outlen, const struct sy_rate_use *u)
{
    if (u->limit == 0)
        snprintf(out, outlen, "%" PRIu64 "/-", u->used);
    else
        snprintf(out, outlen, "%" PRIu64 "/%" PRIu64, u->used, u->limit);
}

static void
fmt_breaker(char *out, size_t outlen, const struct sy_snap_dep *d)
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
fmt_errors(char *out, size_t outlen, const struct sy_snap_dep *d)
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
    const struct sy_config *cfg = rep->snap.cfg;
    const struct sy_state_conf *sc = &cfg->state;
    const struct sy_snap_dep *deps = rep->snap.deps;
    time_t t = (time_t)(rep->snap.now_ms / 1000);
    struct tm tm;
    char when[64];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("shared state: redis %s, prefix \"%s\", at %s (Redis clock)\n",
           rep->where, rep->snap.prefix, when);
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
        const struct sy_snap_dep *d = &deps[i];
        char p50[32], p99[32], t50[32], t95[32], errs[64], br[96];
        fmt_ms(p50, sizeof(p50), &d->lat[SY_LATENCY_TOTAL],
               d->lat[SY_LATENCY_TOTAL].p50_us);
        fmt_ms(p99, sizeof(p99), &d->lat[SY_LATENCY_TOTAL],
               d->lat[SY_LATENCY_TOTAL].p99_us);
        fmt_ms(t50, sizeof(t50), &d->lat[SY_LATENCY_TTFT],
               d->lat[SY_LATENCY_TTFT].p50_us);
        fmt_ms(t95, sizeof(t95), &d->lat[SY_LATENCY_TTFT],
               d->lat[SY_LATENCY_TTFT].p95_us);
        fmt_errors(errs, sizeof(errs), d);
        fmt_breaker(br, sizeof(br), d);
        printf("%-*s  %8" PRIu64 "  %9s  %9s  %9s  %9s  %-16s  %-*s  %8" PRIu64
               "\n",
               wn, cfg->deployments[i].name, d->lat[SY_LATENCY_TOTAL].count,
               p50, p99, t50, t95, errs, wb, br, d->contract);
    }

    for (int pass = 0; pass < 2; pass++) {
        const struct sy_snap_key *k =
            pass == 0 ? rep->snap.pkeys : rep->snap.ckeys;
        size_t n = pass == 0 ? rep->snap.npkeys : cfg->nkeys;
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
json_rate(struct sy_buf *b, const char *field, const struct sy_rate_use *u)
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
json_key(struct sy_buf *b, const struct sy_snap_key *k)
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
         const struct sy_snap_dep *d)
{
    sy_buf_puts(b, "{\"name\":");
    sy_buf_json_str(b, dp->name, strlen(dp->name));
    sy_buf_puts(b, ",\"provider\":");
    sy_buf_json_str(b, dp->provider->name, strlen(dp->provider->name));
    sy_buf_printf(b, ",\"samples\":%" PRIu64 ",\"latency_ms\":{\"p50\":",
                  d->lat[SY_LATENCY_TOTAL].count);
    json_ms(b, &d->lat[SY_LATENCY_TOTAL], d->lat[SY_LATENCY_TOTAL].p50_us);
    sy_buf_puts(b, ",\"p99\":");
    json_ms(b, &d->lat[SY_LATENCY_TOTAL], d->lat[SY_LATENCY_TOTAL].p99_us);
    sy_buf_printf(b, "},\"ttft_samples\":%" PRIu64 ",\"ttft_ms\":{\"p50\":",
                  d->lat[SY_LATENCY_TTFT].count);
    json_ms(b, &d->lat[SY_LATENCY_TTFT], d->lat[SY_LATENCY_TTFT].p50_us);
    sy_buf_puts(b, ",\"p95\":");
    json_ms(b, &d->lat[SY_LATENCY_TTFT], d->lat[SY_LATENCY_TTFT].p95_us);
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
    const struct sy_config *cfg = rep->snap.cfg;
    const struct sy_state_conf *sc = &cfg->state;
    struct sy_buf b;
    sy_buf_init(&b, SY_CLI_OUTPUT_MAX);
    sy_buf_puts(&b, "{\"redis\":{\"address\":");
    sy_buf_json_str(&b, rep->where, strlen(rep->where));
    sy_buf_puts(&b, ",\"prefix\":");
    sy_buf_json_str(&b, rep->snap.prefix, strlen(rep->snap.prefix));
    sy_buf_printf(&b,
                  ",\"up\":true},\"now_ms\":%" PRIu64 ",\"window_ms\":%" PRIu32
                  ",\"slice_ms\":%" PRIu32 ",\"breaker_window_ms\":%" PRIu32
                  ",\"rate_window_ms\":%u,\"deployments\":[",
                  rep->snap.now_ms, sc->window_ms, sc->slice_ms,
                  sc->breaker.window_ms, SY_QUOTA_WINDOW_MS);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_dep(&b, &cfg->deployments[i], &rep->snap.deps[i]);
    }
    sy_buf_puts(&b, "],\"provider_keys\":[");
    for (size_t i = 0; i < rep->snap.npkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &rep->snap.pkeys[i]);
    }
    sy_buf_puts(&b, "],\"caller_keys\":[");
    for (size_t i = 0; i < cfg->nkeys; i++) {
        if (i)
            sy_buf_puts(&b, ",");
        json_key(&b, &rep->snap.ckeys[i]);
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

/* Read and print; the exit status. */
static int
run(struct sy_cli *c, bool json)
{
    struct report rep = { .where = c->where };
    uint64_t now_ms;
    if (sy_store_time_ms(c->store, &now_ms) != SY_OK) {
        sy_cli_store_failed(c);
        return sy_cli_fail(c);
    }
    sy_snapshot_init(&rep.snap, c->cfg, sy_store_prefix(c->store), now_ms);
    struct sy_store_batch b;
    sy_store_batch_init(&b, SY_CLI_OUTPUT_MAX);
    struct sy_arena arena;
    sy_arena_init(&arena, 65536);
    struct sy_store_val *r = NULL;
    int rc = 0;
    enum sy_err e = sy_snapshot_queue(&rep.snap, &b);
    if (e != SY_OK) {
        fprintf(stderr, "switchyard status: cannot build the query (%s)\n",
                sy_err_name(e));
        rc = 1;
    } else if (b.n > 0 && sy_store_exec(c->store, &b, &arena, &r) != SY_OK) {
        sy_cli_store_failed(c);
        rc = sy_cli_fail(c);
    } else {
        sy_snapshot_read(&rep.snap, r);
        if (json)
            rc = print_json(&rep) ? 0 : 1;
        else
            print_text(&rep);
        rc |= sy_cli_flush(c);
    }
    sy_arena_cleanup(&arena);
    sy_store_batch_cleanup(&b);
    sy_snapshot_cleanup(&rep.snap);
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
