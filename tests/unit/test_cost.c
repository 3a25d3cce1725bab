/*
 * test_cost.c - unit tests for core/config/cost.c: hand-computed costs for each
 * provider's usage shape once normalised (OpenAI with cached and
 * reasoning tokens, Anthropic with cache reads and 5-minute and
 * one-hour cache writes, Gemini with thoughts,
 * DeepSeek cache hit/miss prices, an aggregator's 5.5 % markup), the
 * rounding rule, big counts (10^9 tokens) and saturation, worst-case
 * reservations never below a settled cost, conversions and formatting;
 * then 200,000 random cases against a 128-bit reference.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config/cost.h"
#include "api/chat.h"
#include "config/config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Hand-computed cases                                                 */

/* Usage in the OpenAI meaning: prompt, completion, total, cached and
 * reasoning tokens; UW adds the tokens written to the cache (Anthropic)
 * before the reasoning ones, UH also the part of them written for one
 * hour. */
#define UH(p, c, t, ca, w, h, r)                                               \
    {                                                                          \
        .present = true, .prompt_tokens = (p), .completion_tokens = (c),       \
        .total_tokens = (t), .cached_tokens = (ca), .cache_write_tokens = (w), \
        .cache_write_1h_tokens = (h), .reasoning_tokens = (r)                  \
    }
#define UW(p, c, t, ca, w, r) UH(p, c, t, ca, w, 0, r)
#define U(p, c, t, ca, r)     UW(p, c, t, ca, 0, r)

/* One request. Prices in USD per million tokens (as in the config),
 * usage in the OpenAI meaning as the adapters normalise it, the markup
 * in basis points, and the expected cost worked out by hand in the
 * comment (pico-dollars per token = price x 1e6). */
static const struct cost_case {
    const char *name;
    struct sy_price price; /* input, output, cached input, cache write,
                              one-hour cache write */
    struct sy_usage usage; /* U() or UW() */
    unsigned markup_bp;
    int64_t want_micro;
} cases[] = {
    /* gpt-4o 2.50 / 10.00 / 1.25: 176 uncached x 2.5e6 = 4.4e8,
     * 1024 cached x 1.25e6 = 1.28e9, 300 out x 1e7 = 3e9: 4.72e9 pico. */
    { "openai gpt-4o cached",
      { 2.50, 10.00, 1.25, 0.0, 0.0 },
      U(1200, 300, 1500, 1024, 0),
      0,
      4720 },
    /* gpt-5 1.25 / 10.00 / 0.125, reasoning inside completion:
     * 2000 x 1.25e6 = 2.5e9, 3000 x 1.25e5 = 3.75e8,
     * 2500 x 1e7 = 2.5e10 (the 2000 reasoning tokens are in the 2500):
     * 2.7875e10 pico. */
    { "openai gpt-5 reasoning",
      { 1.25, 10.00, 0.125, 0.0, 0.0 },
      U(5000, 2500, 7500, 3000, 2000),
      0,
      27875 },
    /* Anthropic Sonnet 4.5 3 / 15 / read 0.30, raw input_tokens 50,
     * cache_creation 1000, cache_read 4000, output 700, normalised to
     * prompt 5050 (cached 4000), completion 700: 1050 x 3e6 = 3.15e9,
     * 4000 x 3e5 = 1.2e9, 700 x 1.5e7 = 1.05e10: 1.485e10 pico. (No
     * count of cache writes given: they go at the input price.) */
    { "anthropic sonnet cache read",
      { 3.00, 15.00, 0.30, 0.0, 0.0 },
      U(5050, 700, 5750, 4000, 0),
      0,
      14850 },
    /* The same with its 1000 cache writes counted, at a write price of
     * 3.75: 50 x 3e6 = 1.5e8, 4000 x 3e5 = 1.2e9, 1000 x 3.75e6 =
     * 3.75e9, 700 x 1.5e7 = 1.05e10: 1.56e10 pico. */
    { "anthropic sonnet cache write",
      { 3.00, 15.00, 0.30, 3.75, 0.0 },
      UW(5050, 700, 5750, 4000, 1000, 0),
      0,
      15600 },
    /* The same 1000 writes made with ttl "1h", at Sonnet's one-hour
     * price of 6: 1.5e8 + 1.2e9 + 1000 x 6e6 = 6e9 + 1.05e10 = 1.785e10
     * pico. */
    { "anthropic sonnet 1h cache write",
      { 3.00, 15.00, 0.30, 3.75, 6.00 },
      UH(5050, 700, 5750, 4000, 1000, 1000, 0),
      0,
      17850 },
    /* 5-minute writes only, with a one-hour price set: as without it. */
    { "anthropic sonnet 5m cache write",
      { 3.00, 15.00, 0.30, 3.75, 6.00 },
      UH(5050, 700, 5750, 4000, 1000, 0, 0),
      0,
      15600 },
    /* Mixed: 400 of the 1000 for one hour: 1.5e8 + 1.2e9 + 600 x 3.75e6
     * = 2.25e9 + 400 x 6e6 = 2.4e9 + 1.05e10 = 1.65e10 pico. */
    { "anthropic sonnet mixed cache writes",
      { 3.00, 15.00, 0.30, 3.75, 6.00 },
      UH(5050, 700, 5750, 4000, 1000, 400, 0),
      0,
      16500 },
    /* One-hour writes without a one-hour price: the write price. */
    { "anthropic 1h cache write unpriced",
      { 3.00, 15.00, 0.30, 3.75, 0.0 },
      UH(5050, 700, 5750, 4000, 1000, 1000, 0),
      0,
      15600 },
    /* Counted writes without a write price: the input price, as above. */
    { "anthropic cache write unpriced",
      { 3.00, 15.00, 0.30, 0.0, 0.0 },
      UW(5050, 700, 5750, 4000, 1000, 0),
      0,
      14850 },
    /* Anthropic Haiku 4.5 1 / 5 / 0.10, no cache: 20000 x 1e6 = 2e10,
     * 1 x 5e6: 2.0005e10 pico = 20005 us. */
    { "anthropic haiku",
      { 1.00, 5.00, 0.10, 0.0, 0.0 },
      U(20000, 1, 20001, 0, 0),
      0,
      20005 },
    /* Gemini 2.5 Flash 0.30 / 2.50, no cached price configured (0: the
     * input price): promptTokenCount 800, candidates 200 + thoughts 1000
     * = completion 1200: 800 x 3e5 = 2.4e8, 1200 x 2.5e6 = 3e9. */
    { "gemini flash thoughts",
      { 0.30, 2.50, 0.0, 0.0, 0.0 },
      U(800, 1200, 2000, 0, 1000),
      0,
      3240 },
    /* The same with 8000 of 10000 prompt tokens from a cache, still at
     * the input price (cached price 0): 10000 x 3e5 = 3e9, 10 x 2.5e6 =
     * 2.5e7: 3.025e9 pico. */
    { "gemini cached without price",
      { 0.30, 2.50, 0.0, 0.0, 0.0 },
      U(10000, 10, 10010, 8000, 0),
      0,
      3025 },
    /* Gemini 2.5 Pro 1.25 / 10: 1 x 1.25e6 + 3 x 1e7 = 3.125e7 pico =
     * 31.25 us: rounds down. */
    { "gemini pro rounds down",
      { 1.25, 10.00, 0.0, 0.0, 0.0 },
      U(1, 3, 4, 0, 3),
      0,
      31 },
    /* DeepSeek V3.2 miss 0.28 / out 0.42 / hit 0.028: prompt_cache_hit
     * 9000, miss 1000, completion 500 (300 reasoning): 1000 x 2.8e5 =
     * 2.8e8, 9000 x 2.8e4 = 2.52e8, 500 x 4.2e5 = 2.1e8: 7.42e8 pico. */
    { "deepseek hit and miss",
      { 0.28, 0.42, 0.028, 0.0, 0.0 },
      U(10000, 500, 10500, 9000, 300),
      0,
      742 },
    /* DeepSeek all hits: 7 x 2.8e4 = 1.96e5 pico = 0.196 us: 0. */
    { "deepseek tiny",
      { 0.28, 0.42, 0.028, 0.0, 0.0 },
      U(7, 0, 7, 7, 0),
      0,
      0 },
    /* Aggregator passing Sonnet through (3 / 15) with a 5.5 % markup:
     * 1000 x 3e6 + 100 x 1.5e7 = 4.5e9 pico = 4500 us, x 1.055 =
     * 4747.5: a tie, rounded up. */
    { "aggregator 5.5% tie",
      { 3.00, 15.00, 0.0, 0.0, 0.0 },
      U(1000, 100, 1100, 0, 0),
      550,
      4748 },
    /* Aggregator gpt-4o-mini (0.15 / 0.60 / 0.075) + 5.5 %: 3000 uncached
     * x 1.5e5 = 4.5e8, 1000 cached x 7.5e4 = 7.5e7, 200 x 6e5 = 1.2e8:
     * 6.45e8 pico x 1.055 = 680.475 us. */
    { "aggregator 5.5% mini",
      { 0.15, 0.60, 0.075, 0.0, 0.0 },
      U(4000, 200, 4200, 1000, 0),
      550,
      680 },
    /* Rounding: gpt-4o-mini 1 in + 1 out = 7.5e5 pico = 0.75 us -> 1;
     * 3 in = 0.45 -> 0; 10 in = 1.5 -> 2 (half up); 1 cached = 0.075
     * -> 0. */
    { "round 0.75 up",
      { 0.15, 0.60, 0.075, 0.0, 0.0 },
      U(1, 1, 2, 0, 0),
      0,
      1 },
    { "round 0.45 down",
      { 0.15, 0.60, 0.075, 0.0, 0.0 },
      U(3, 0, 3, 0, 0),
      0,
      0 },
    { "round 1.5 half up",
      { 0.15, 0.60, 0.075, 0.0, 0.0 },
      U(10, 0, 10, 0, 0),
      0,
      2 },
    { "round cached", { 0.15, 0.60, 0.075, 0.0, 0.0 }, U(1, 0, 1, 1, 0), 0, 0 },
    { "zero usage",
      { 2.50, 10.00, 1.25, 0.0, 0.0 },
      { .present = false },
      550,
      0 },
    { "free deployment",
      { 0.0, 0.0, 0.0, 0.0, 0.0 },
      U(5000, 5000, 10000, 0, 0),
      550,
      0 },
    /* Big: Opus 4 (15 / 75) with 10^9 tokens each way: 1.5e16 + 7.5e16 =
     * 9e16 pico = 9e10 us (90,000 USD), exact; with 5.5 %: 9.495e10. */
    { "opus 1e9 tokens",
      { 15.00, 75.00, 1.50, 0.0, 0.0 },
      U(1000000000, 1000000000, 2000000000, 0, 0),
      0,
      90000000000 },
    { "opus 1e9 tokens markup",
      { 15.00, 75.00, 1.50, 0.0, 0.0 },
      U(1000000000, 1000000000, 2000000000, 0, 0),
      550,
      94950000000 },
    /* 10^9 tokens each way at the highest price (1e6 USD/Mtok = 1e12
     * pico per token): 2e21 pico does not fit in 64 bits and saturates
     * at 2^64 - 1 pico = 18446744073709.551615 us -> ...710. */
    { "saturates",
      { 1e6, 1e6, 0.0, 0.0, 0.0 },
      U(1000000000, 1000000000, 2000000000, 0, 0),
      0,
      18446744073710 },
    /* 10^9 prompt tokens at 1,000 USD/Mtok: 1e18 pico, still exact. */
    { "1e9 at 1000 usd",
      { 1000.0, 0.0, 0.0, 0.0, 0.0 },
      U(1000000000, 0, 1000000000, 0, 0),
      0,
      1000000000000 },
    /* Inconsistent counts billed conservatively: cached above prompt
     * (150 cached x 1.25e6 = 1.875e8 -> 188), reasoning above completion
     * (50 x 1e7 = 5e8), negatives as 0. */
    { "cached above prompt",
      { 2.50, 10.00, 1.25, 0.0, 0.0 },
      U(100, 0, 100, 150, 0),
      0,
      188 },
    /* Cached + written above the prompt: both billed at their rates, no
     * uncached rest: 60 x 1.25e6 + 80 x 5e6 = 4.75e8 pico. */
    { "cache write above prompt",
      { 2.50, 10.00, 1.25, 5.00, 0.0 },
      UW(100, 0, 100, 60, 80, 0),
      0,
      475 },
    /* One-hour writes above the writes: all billed, no 5-minute rest,
     * at the higher write rate: 50 uncached x 2.5e6 = 1.25e8 + 80 x 8e6
     * = 6.4e8 pico; with a one-hour price below the write price (a
     * config mistake) 80 x 5e6 = 4e8 instead. */
    { "1h cache write above writes",
      { 2.50, 10.00, 1.25, 5.00, 8.00 },
      UH(100, 0, 100, 0, 50, 80, 0),
      0,
      765 },
    { "1h cache write above writes, cheaper 1h",
      { 2.50, 10.00, 1.25, 5.00, 4.00 },
      UH(100, 0, 100, 0, 50, 80, 0),
      0,
      525 },
    /* Negative one-hour writes count as 0: 20 x 2.5e6 + 80 x 5e6. */
    { "negative 1h cache write",
      { 2.50, 10.00, 1.25, 5.00, 8.00 },
      UH(100, 0, 100, 0, 80, -5, 0),
      0,
      450 },
    { "negative cache write",
      { 2.50, 10.00, 1.25, 5.00, 0.0 },
      UW(100, 0, 100, 0, -80, 0),
      0,
      250 },
    { "reasoning above completion",
      { 2.50, 10.00, 1.25, 0.0, 0.0 },
      U(0, 10, 10, 0, 50),
      0,
      500 },
    { "negative counts",
      { 2.50, 10.00, 1.25, 0.0, 0.0 },
      U(-5, -7, -12, -3, -1),
      0,
      0 },
    /* Bad prices are clamped: negative and NaN count as 0. */
    { "negative price",
      { -2.50, 10.00, 0.0, 0.0, 0.0 },
      U(1000, 1, 1001, 0, 0),
      0,
      10 },
    { "nan price",
      { NAN, 10.00, NAN, 0.0, 0.0 },
      U(1000, 1, 1001, 0, 0),
      0,
      10 },
};

static void
test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const struct cost_case *c = &cases[i];
        int64_t got = sy_cost_micro_usd(&c->price, &c->usage, c->markup_bp);
        if (got != c->want_micro)
            fail_msg("%s: %lld micro-USD, want %lld", c->name, (long long)got,
                     (long long)c->want_micro);
        /* The same through converted rates. */
        struct sy_cost_rate r;
        (void)sy_cost_rate_from_price(&c->price, &r);
        assert_int_equal(sy_cost_rate_micro_usd(&r, &c->usage, c->markup_bp),
                         got);
    }
}

/* The markup is applied to the exact sum, not to a rounded cost: 1
 * input token of gpt-4o-mini (0.15 us) x 1.055 is still 0, and 3 of
 * them (0.45 us) x 2 (100 %) = 0.9 -> 1, not 2 x round(0.45) = 0. */
static void
test_markup_on_exact_sum(void **state)
{
    (void)state;
    struct sy_price p = { 0.15, 0.60, 0.075, 0.0, 0.0 };
    struct sy_usage one = U(1, 0, 1, 0, 0);
    struct sy_usage three = U(3, 0, 3, 0, 0);
    assert_int_equal(sy_cost_micro_usd(&p, &one, 550), 0);
    assert_int_equal(sy_cost_micro_usd(&p, &three, 10000), 1);
    /* The markup is clamped at 1,000 %. */
    struct sy_usage big = U(1000000, 0, 1000000, 0, 0);
    assert_int_equal(sy_cost_micro_usd(&p, &big, 100000), 1650000);
    assert_int_equal(sy_cost_micro_usd(&p, &big, 4000000000u), 1650000);
}

/* ------------------------------------------------------------------ */
/* Worst case                                                          */

static void
test_worst_case(void **state)
{
    (void)state;
    struct sy_price gpt4o = { 2.50, 10.00, 1.25, 0.0, 0.0 };
    /* 1000 x 2.5e6 + 500 x 1e7 = 7.5e9 pico: exact, nothing added. */
    assert_int_equal(sy_cost_worst_case_micro_usd(&gpt4o, 1000, 500, 0), 7500);
    /* 3 x 1.5e5 = 0.45 us rounds UP to 1. */
    struct sy_price mini = { 0.15, 0.60, 0.075, 0.0, 0.0 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&mini, 3, 0, 0), 1);
    /* 4500 us x 1.055 = 4747.5 -> 4748. */
    struct sy_price sonnet = { 3.00, 15.00, 0.30, 0.0, 0.0 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&sonnet, 1000, 100, 550),
                     4748);
    /* No discount assumed, and a cached price above input (a config
     * mistake) is the one used. */
    struct sy_price odd = { 1.00, 1.00, 2.00, 0.0, 0.0 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&odd, 1000, 0, 0), 2000);
    /* Every prompt token may be written to the cache: its price when
     * higher (Sonnet 3.75): 1000 x 3.75e6 = 3.75e9 pico. */
    struct sy_price writes = { 3.00, 15.00, 0.30, 3.75, 0.0 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&writes, 1000, 0, 0), 3750);
    /* ...or written for one hour (6): 1000 x 6e6; the write price when
     * the one-hour price is lower. */
    struct sy_price hour = { 3.00, 15.00, 0.30, 3.75, 6.00 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&hour, 1000, 0, 0), 6000);
    struct sy_price low_hour = { 3.00, 15.00, 0.30, 3.75, 2.00 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&low_hour, 1000, 0, 0), 3750);
    struct sy_price only_hour = { 3.00, 15.00, 0.0, 0.0, 6.00 };
    assert_int_equal(sy_cost_worst_case_micro_usd(&only_hour, 1000, 0, 0),
                     6000);
    /* Negative counts are 0; 10^9 tokens do not overflow. */
    assert_int_equal(sy_cost_worst_case_micro_usd(&gpt4o, -1, -1, 550), 0);
    struct sy_price opus = { 15.00, 75.00, 1.50, 0.0, 0.0 };
    assert_int_equal(
        sy_cost_worst_case_micro_usd(&opus, 1000000000, 1000000000, 0),
        90000000000);
}

/* A deterministic generator (xorshift64*). */
static uint64_t rng_state = 88172645463325252u;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* A price with up to 6 decimals, 0 .. 100 USD/Mtok. */
static double
random_price(void)
{
    return (double)(rng() % 100000001u) / 1e6;
}

/* The reservation for (prompt estimate, max output) is never below the
 * settled cost of any usage within those counts, whatever the cache and
 * reasoning split. */
static void
test_worst_case_covers(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        struct sy_price p = { random_price(), random_price(), 0.0, 0.0, 0.0 };
        if (rng() % 2)
            p.cached_input_per_mtok = random_price();
        if (rng() % 2)
            p.cache_write_per_mtok = random_price();
        if (rng() % 2)
            p.cache_write_1h_per_mtok = random_price();
        unsigned bp = (unsigned)(rng() % 2001);
        int64_t est = (int64_t)(rng() % 200001);
        int64_t max_out = (int64_t)(rng() % 100001);
        int64_t prompt = (int64_t)(rng() % (uint64_t)(est + 1));
        int64_t completion = (int64_t)(rng() % (uint64_t)(max_out + 1));
        int64_t cached = (int64_t)(rng() % (uint64_t)(prompt + 1));
        int64_t reasoning = (int64_t)(rng() % (uint64_t)(completion + 1));
        int64_t written = (int64_t)(rng() % (uint64_t)(prompt - cached + 1));
        int64_t hour = (int64_t)(rng() % (uint64_t)(written + 1));
        struct sy_usage u = UH(prompt, completion, prompt + completion, cached,
                               written, hour, reasoning);
        int64_t worst = sy_cost_worst_case_micro_usd(&p, est, max_out, bp);
        int64_t actual = sy_cost_micro_usd(&p, &u, bp);
        if (worst < actual)
            fail_msg("case %d: worst %lld < actual %lld", i, (long long)worst,
                     (long long)actual);
    }
}

/* ------------------------------------------------------------------ */
/* Against a 128-bit reference                                         */

static int64_t
reference(const struct sy_price *p, const struct sy_usage *u, unsigned bp)
{
    typedef unsigned __int128 u128;
    u128 in = (u128)llround(p->input_per_mtok * 1e6);
    u128 out = (u128)llround(p->output_per_mtok * 1e6);
    u128 cached = (u128)llround(p->cached_input_per_mtok * 1e6);
    if (cached == 0)
        cached = in;
    u128 write = (u128)llround(p->cache_write_per_mtok * 1e6);
    if (write == 0)
        write = in;
    u128 hour = (u128)llround(p->cache_write_1h_per_mtok * 1e6);
    if (hour == 0)
        hour = write;
    int64_t minutes = u->cache_write_tokens - u->cache_write_1h_tokens;
    u128 pico =
        (u128)(u->prompt_tokens - u->cached_tokens - u->cache_write_tokens) *
            in +
        (u128)u->cached_tokens * cached + (u128)minutes * write +
        (u128)u->cache_write_1h_tokens * hour +
        (u128)u->completion_tokens * out;
    u128 scaled = pico * (10000u + bp);
    u128 d = (u128)10000u * 1000000u;
    return (int64_t)((scaled + d / 2) / d);
}

static void
test_random_against_reference(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        struct sy_price p = { random_price(), random_price(), 0.0, 0.0, 0.0 };
        if (rng() % 2)
            p.cached_input_per_mtok = random_price();
        if (rng() % 2)
            p.cache_write_per_mtok = random_price();
        if (rng() % 2)
            p.cache_write_1h_per_mtok = random_price();
        /* Up to 10^9 tokens: every sum stays below 2^64 pico. */
        int64_t prompt = (int64_t)(rng() % 1000000001u);
        int64_t cached = (int64_t)(rng() % (uint64_t)(prompt + 1));
        int64_t completion = (int64_t)(rng() % 1000000001u);
        if (i % 3 == 0) { /* small requests too, where rounding shows */
            prompt %= 2000;
            cached %= prompt + 1;
            completion %= 500;
        }
        int64_t written =
            rng() % 2 ? (int64_t)(rng() % (uint64_t)(prompt - cached + 1)) : 0;
        int64_t hour =
            rng() % 2 ? (int64_t)(rng() % (uint64_t)(written + 1)) : 0;
        struct sy_usage u = UH(prompt, completion, prompt + completion, cached,
                               written, hour, 0);
        unsigned bp = (unsigned)(rng() % 2001);
        int64_t got = sy_cost_micro_usd(&p, &u, bp);
        int64_t want = reference(&p, &u, bp);
        if (got != want)
            fail_msg("case %d: %lld, want %lld", i, (long long)got,
                     (long long)want);
    }
}

/* ------------------------------------------------------------------ */
/* Conversions and display                                             */

static void
test_conversions(void **state)
{
    (void)state;
    struct sy_cost_rate r;
    struct sy_price p = { 2.50, 10.00, 0.0, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&p, &r), SY_OK);
    assert_int_equal(r.input, 2500000);
    assert_int_equal(r.output, 10000000);
    assert_int_equal(r.cached_input, 2500000); /* 0: same as input */
    assert_int_equal(r.cache_write, 2500000);  /* 0: same as input */
    struct sy_price sonnet = { 3.00, 15.00, 0.30, 3.75, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&sonnet, &r), SY_OK);
    assert_int_equal(r.cache_write, 3750000);
    struct sy_price bad_write = { 3.00, 15.00, 0.30, -1.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&bad_write, &r), SY_EBADREQ);
    assert_int_equal(r.cache_write, 3000000); /* clamped to 0: input */
    struct sy_price nan_write = { 3.00, 15.00, 0.30, NAN, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&nan_write, &r), SY_EBADREQ);
    /* One-hour writes: their price, else the write price, else input. */
    struct sy_price hour = { 3.00, 15.00, 0.30, 3.75, 6.00 };
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_OK);
    assert_int_equal(r.cache_write_1h, 6000000);
    hour.cache_write_1h_per_mtok = 0.0;
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_OK);
    assert_int_equal(r.cache_write_1h, 3750000);
    hour.cache_write_per_mtok = 0.0;
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_OK);
    assert_int_equal(r.cache_write_1h, 3000000);
    hour.cache_write_1h_per_mtok = -2.0;
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_EBADREQ);
    hour.cache_write_1h_per_mtok = NAN;
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_EBADREQ);
    hour.cache_write_1h_per_mtok = 2e6;
    assert_int_equal(sy_cost_rate_from_price(&hour, &r), SY_EBADREQ);
    assert_int_equal(r.cache_write_1h, 1000000000000);
    struct sy_price ds = { 0.28, 0.42, 0.028, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&ds, &r), SY_OK);
    assert_int_equal(r.input, 280000);
    assert_int_equal(r.cached_input, 28000);
    assert_int_equal(r.output, 420000);
    struct sy_price mini = { 0.15, 0.60, 0.075, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&mini, &r), SY_OK);
    assert_int_equal(r.cached_input, 75000);
    /* Invalid prices: refused, and clamped in the output. */
    struct sy_price neg = { -1.0, 1.0, 0.0, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&neg, &r), SY_EBADREQ);
    assert_int_equal(r.input, 0);
    struct sy_price nan = { 1.0, NAN, 0.0, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&nan, &r), SY_EBADREQ);
    struct sy_price inf = { 1.0, 1.0, INFINITY, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&inf, &r), SY_EBADREQ);
    assert_int_equal(r.cached_input, 1000000000000);
    struct sy_price huge = { 1e7, 1.0, 0.0, 0.0, 0.0 };
    assert_int_equal(sy_cost_rate_from_price(&huge, &r), SY_EBADREQ);
    assert_int_equal(r.input, 1000000000000);

    unsigned bp;
    assert_int_equal(sy_cost_markup_bp(5.5, &bp), SY_OK);
    assert_int_equal(bp, 550);
    assert_int_equal(sy_cost_markup_bp(0.0, &bp), SY_OK);
    assert_int_equal(bp, 0);
    assert_int_equal(sy_cost_markup_bp(0.01, &bp), SY_OK);
    assert_int_equal(bp, 1);
    assert_int_equal(sy_cost_markup_bp(1000.0, &bp), SY_OK);
    assert_int_equal(bp, 100000);
    assert_int_equal(sy_cost_markup_bp(1000.5, &bp), SY_EBADREQ);
    assert_int_equal(bp, 100000);
    assert_int_equal(sy_cost_markup_bp(-1.0, &bp), SY_EBADREQ);
    assert_int_equal(bp, 0);
    assert_int_equal(sy_cost_markup_bp(NAN, &bp), SY_EBADREQ);

    int64_t m;
    assert_int_equal(sy_cost_usd_to_micro(12.5, &m), SY_OK);
    assert_int_equal(m, 12500000);
    assert_int_equal(sy_cost_usd_to_micro(0.000001, &m), SY_OK);
    assert_int_equal(m, 1);
    assert_int_equal(sy_cost_usd_to_micro(0.1 + 0.2, &m), SY_OK);
    assert_int_equal(m, 300000);
    assert_int_equal(sy_cost_usd_to_micro(-0.01, &m), SY_EBADREQ);
    assert_int_equal(m, 0);
    assert_int_equal(sy_cost_usd_to_micro(NAN, &m), SY_EBADREQ);
    assert_int_equal(sy_cost_usd_to_micro(INFINITY, &m), SY_EBADREQ);
}

static void
test_format(void **state)
{
    (void)state;
    static const struct {
        int64_t micro;
        const char *want;
    } t[] = {
        { 0, "0.000000" },
        { 123, "0.000123" },
        { 1, "0.000001" },
        { 999999, "0.999999" },
        { 1000000, "1.000000" },
        { 12500000, "12.500000" },
        { 90000000000, "90000.000000" },
        { -1, "-0.000001" },
        { -1500000, "-1.500000" },
        { INT64_MAX, "9223372036854.775807" },
        { INT64_MIN, "-9223372036854.775808" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(t); i++) {
        char out[SY_COST_USD_STRLEN];
        memset(out, 'x', sizeof(out));
        sy_cost_format_usd(t[i].micro, out, sizeof(out));
        assert_string_equal(out, t[i].want);
    }
    char small[5];
    sy_cost_format_usd(123, small, sizeof(small));
    assert_string_equal(small, "0.00");
    char untouched[2] = "z";
    sy_cost_format_usd(123, untouched, 0);
    assert_string_equal(untouched, "z");
    sy_cost_format_usd(123, NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_markup_on_exact_sum),
        cmocka_unit_test(test_worst_case),
        cmocka_unit_test(test_worst_case_covers),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
