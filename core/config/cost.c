/*
 * cost.c - request cost in integer micro-dollars from a deployment's
 * price, the normalised usage (OpenAI meaning, core/api/chat.h) and the
 * provider's markup. Pure arithmetic; callers: the pipeline (settle),
 * budgets (worst-case reservations), spend.c and usagelog.c (records).
 *
 * Money arithmetic. Each price (USD per million tokens, a double from
 * the config) becomes an integer number of pico-dollars per token
 * (= micro-dollars per million tokens), rounded to nearest: prices are
 * thus exact to 1e-6 USD per million tokens, far below any list price.
 * Token counts times these rates are summed exactly in pico-dollars
 * (unsigned 64-bit: exact up to 1.8e19 pico-dollars, i.e. 18 million USD
 * per request, which 10^9 tokens at 1,000 USD/Mtok stays under; beyond,
 * the sum saturates instead of wrapping). The markup (basis points) is
 * applied to that exact sum, and the result is rounded ONCE to a
 * micro-dollar: to nearest, halves up, for a settled cost; up (ceiling)
 * for a worst-case reservation, so that a reservation is never below the
 * settled cost of a request that stays within its estimate.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "cost.h"
#include "api/chat.h"
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define MILLION UINT64_C(1000000) /* pico per micro, micro per unit */
#define BP_ONE  UINT64_C(10000)   /* 100 % in basis points */

/* ------------------------------------------------------------------ */
/* Conversions                                                         */

static bool
price_is_valid(double usd_per_mtok)
{
    /* NaN fails both comparisons. */
    return usd_per_mtok >= 0.0 && usd_per_mtok <= SY_COST_MAX_USD_PER_MTOK;
}

/* USD per million tokens to pico-dollars per token, rounded to nearest;
 * NaN and negative prices count as 0, huge ones as the maximum. */
static int64_t
price_to_rate(double usd_per_mtok)
{
    if (!(usd_per_mtok > 0.0))
        return 0;
    if (usd_per_mtok > SY_COST_MAX_USD_PER_MTOK)
        usd_per_mtok = SY_COST_MAX_USD_PER_MTOK;
    return (int64_t)llround(usd_per_mtok * 1e6);
}

static void
rate_from_price(const struct sy_price *p, struct sy_cost_rate *out)
{
    out->input = price_to_rate(p->input_per_mtok);
    out->output = price_to_rate(p->output_per_mtok);
    out->cached_input = price_to_rate(p->cached_input_per_mtok);
    if (out->cached_input == 0)
        out->cached_input = out->input;
    out->cache_write = price_to_rate(p->cache_write_per_mtok);
    if (out->cache_write == 0)
        out->cache_write = out->input;
    /* Not a multiple of another price: what the config says, else the
     * one cache write price, as before this key existed. */
    out->cache_write_1h = price_to_rate(p->cache_write_1h_per_mtok);
    if (out->cache_write_1h == 0)
        out->cache_write_1h = out->cache_write;
}

/* Convert price 'p' into integer rates in '*out' (a cached or cache
 * write price of 0 means "same as input", a one-hour cache write price
 * of 0 "same as cache write"). '*out' is always filled, with invalid prices
 * clamped as the calculators do; the return value says whether every
 * price was valid: SY_OK, or SY_EBADREQ for a negative, NaN or infinite
 * price or one above SY_COST_MAX_USD_PER_MTOK (a config error). */
enum sy_err
sy_cost_rate_from_price(const struct sy_price *p, struct sy_cost_rate *out)
{
    rate_from_price(p, out);
    if (!price_is_valid(p->input_per_mtok) ||
        !price_is_valid(p->output_per_mtok) ||
        !price_is_valid(p->cached_input_per_mtok) ||
        !price_is_valid(p->cache_write_per_mtok) ||
        !price_is_valid(p->cache_write_1h_per_mtok))
        return SY_EBADREQ;
    return SY_OK;
}

/* Convert a markup in percent (the config's "markup_pct", e.g. 5.5) into
 * basis points in '*out_bp' (550), rounded to nearest. SY_EBADREQ for a
 * negative or NaN value or one above 1,000 % ('*out_bp' is then 0 or the
 * maximum). */
enum sy_err
sy_cost_markup_bp(double markup_pct, unsigned *out_bp)
{
    double max_pct = SY_COST_MAX_MARKUP_BP / 100.0;
    if (!(markup_pct >= 0.0)) {
        *out_bp = 0;
        return SY_EBADREQ;
    }
    if (markup_pct > max_pct) {
        *out_bp = SY_COST_MAX_MARKUP_BP;
        return SY_EBADREQ;
    }
    *out_bp = (unsigned)lround(markup_pct * 100.0);
    return SY_OK;
}

/* Convert an amount in USD (a budget from the config, e.g. 12.5) into
 * micro-dollars in '*out_micro', rounded to nearest. SY_EBADREQ for a
 * negative, NaN or infinite amount or one above 9e12 USD ('*out_micro'
 * is then 0). */
enum sy_err
sy_cost_usd_to_micro(double usd, int64_t *out_micro)
{
    *out_micro = 0;
    if (!(usd >= 0.0) || usd > 9e12)
        return SY_EBADREQ;
    *out_micro = (int64_t)llround(usd * 1e6);
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Exact sums                                                          */

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

/* tokens * rate in pico-dollars, saturating; negatives count as 0. */
static uint64_t
mul_sat(int64_t tokens, int64_t rate)
{
    if (tokens <= 0 || rate <= 0)
        return 0;
    uint64_t p;
    if (__builtin_mul_overflow((uint64_t)tokens, (uint64_t)rate, &p))
        return UINT64_MAX;
    return p;
}

/* pico * (1 + markup) in micro-dollars, rounded once: to nearest with
 * halves up, or up when 'round_up'. With D = 10000 * 1e6 and
 * pico = q D + r,
 *     pico (10000 + bp) / D = q (10000 + bp) + r (10000 + bp) / D
 * where only the last term is rounded, and no product can overflow
 * (q < 1.9e9, r < 1e10, 10000 + bp <= 110000). */
static int64_t
to_micro(uint64_t pico, unsigned markup_bp, bool round_up)
{
    const uint64_t d = BP_ONE * MILLION;
    uint64_t m = BP_ONE + SY_MIN(markup_bp, SY_COST_MAX_MARKUP_BP);
    uint64_t q = pico / d;
    uint64_t r = pico % d;
    uint64_t frac = (r * m + (round_up ? d - 1 : d / 2)) / d;
    return (int64_t)(q * m + frac);
}

/* The exact cost of 'u' at 'r' in pico-dollars, before markup. Usage is
 * read in the OpenAI meaning: prompt_tokens includes cached_tokens and
 * cache_write_tokens, completion_tokens includes reasoning_tokens,
 * cache_write_tokens includes cache_write_1h_tokens.
 * Inconsistent counts are billed conservatively: cached and cache write
 * tokens above the prompt count are all billed (each at its rate) with
 * no uncached rest, one-hour writes above the write count are all
 * billed at the higher of the two write rates with no 5-minute rest,
 * and reasoning tokens above the completion count replace it. */
static uint64_t
usage_pico(const struct sy_cost_rate *r, const struct sy_usage *u)
{
    int64_t prompt = SY_MAX(u->prompt_tokens, 0);
    int64_t cached = SY_MAX(u->cached_tokens, 0);
    int64_t written = SY_MAX(u->cache_write_tokens, 0);
    int64_t hour = SY_MAX(u->cache_write_1h_tokens, 0);
    int64_t uncached = prompt > cached ? prompt - cached : 0;
    uncached = uncached > written ? uncached - written : 0;
    int64_t minutes = written > hour ? written - hour : 0;
    /* 1h writes beyond the writes: the writes they claim to be part of
     * are billed anyway, at whichever write rate is higher. */
    int64_t hour_rate = written >= hour
                            ? r->cache_write_1h
                            : SY_MAX(r->cache_write_1h, r->cache_write);
    int64_t completion = SY_MAX(u->completion_tokens, u->reasoning_tokens);
    uint64_t pico = mul_sat(uncached, r->input);
    pico = add_sat(pico, mul_sat(cached, r->cached_input));
    pico = add_sat(pico, mul_sat(minutes, r->cache_write));
    pico = add_sat(pico, mul_sat(hour, hour_rate));
    return add_sat(pico, mul_sat(completion, r->output));
}

/* ------------------------------------------------------------------ */
/* Costs                                                               */

/* The cost in micro-dollars of a request that used 'u', at price 'p',
 * with the provider's markup 'markup_bp' (basis points: 550 = 5.5 %,
 * see sy_cost_markup_bp): uncached prompt tokens at the input price,
 * cached tokens at the cached input price and tokens written to the
 * provider's cache (Anthropic) at the cache write price (each the input
 * price when 0), or at the one-hour cache write price (the cache write
 * price when 0) for those written for one hour, completion tokens (reasoning included) at the output
 * price; then the markup; rounded once to the nearest micro-dollar,
 * halves up. Never negative, never overflows (see the file comment). */
int64_t
sy_cost_micro_usd(const struct sy_price *p, const struct sy_usage *u,
                  unsigned markup_bp)
{
    struct sy_cost_rate r;
    rate_from_price(p, &r);
    return sy_cost_rate_micro_usd(&r, u, markup_bp);
}

/* sy_cost_micro_usd() with rates already converted (sy_cost_rate_from_
 * price); the same result for the same price. */
int64_t
sy_cost_rate_micro_usd(const struct sy_cost_rate *r, const struct sy_usage *u,
                       unsigned markup_bp)
{
    return to_micro(usage_pico(r, u), markup_bp, false);
}

/* The most a request can cost, for a budget reservation: every one of
 * 'est_input_tokens' at the highest of the input, cached and both cache
 * write prices (no cache discount is assumed, and every token may be
 * written to the cache), 'max_output_tokens' at the output price,
 * plus the markup, rounded UP to a micro-dollar. The caller resolves a
 * request without max_tokens to the deployment's output limit; negative
 * counts are 0. Not below sy_cost_micro_usd() of any usage within these
 * counts (if the estimate of the prompt holds). */
int64_t
sy_cost_worst_case_micro_usd(const struct sy_price *p, int64_t est_input_tokens,
                             int64_t max_output_tokens, unsigned markup_bp)
{
    struct sy_cost_rate r;
    rate_from_price(p, &r);
    int64_t in_rate = SY_MAX(SY_MAX(r.input, r.cached_input),
                             SY_MAX(r.cache_write, r.cache_write_1h));
    uint64_t pico = add_sat(mul_sat(est_input_tokens, in_rate),
                            mul_sat(max_output_tokens, r.output));
    return to_micro(pico, markup_bp, true);
}

/* ------------------------------------------------------------------ */
/* Display                                                             */

/* Write 'micro_usd' as a decimal USD amount with six decimals ("0.000123",
 * "12.500000", "-0.000001") into 'out' ('n' bytes, NUL-terminated,
 * truncated when too small; SY_COST_USD_STRLEN always fits). */
void
sy_cost_format_usd(int64_t micro_usd, char *out, size_t n)
{
    if (out == NULL || n == 0)
        return;
    bool neg = micro_usd < 0;
    uint64_t mag =
        neg ? (uint64_t)0 - (uint64_t)micro_usd : (uint64_t)micro_usd;
    snprintf(out, n, "%s%" PRIu64 ".%06" PRIu64, neg ? "-" : "", mag / MILLION,
             mag % MILLION);
}
