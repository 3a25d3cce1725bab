/*
 * cost.h - what a request costs, in integer micro-dollars (1e-6 USD).
 * Prices come from the config as USD per million tokens (doubles); they
 * are turned into integers once per computation and every sum after that
 * is exact integer arithmetic, rounded once at the end (see cost.c).
 * No I/O, no state: budgets and spend live in spend.c and usagelog.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_COST_H
#define SY_CORE_COST_H

#include "base/sy.h"
#include "base/err.h"

struct sy_price;

/* A price per million tokens above this is refused by the validators and
 * clamped by the calculators ($1 per token). */
#define SY_COST_MAX_USD_PER_MTOK 1000000.0
/* A markup above this (in basis points: 100 bp = 1 %) is clamped: 1000 %. */
#define SY_COST_MAX_MARKUP_BP 100000u
/* Longest text sy_cost_format_usd() writes, NUL included
 * ("-9223372036854.775808"). */
#define SY_COST_USD_STRLEN 24

/* A price in integers: pico-dollars per token, which is the same number
 * as micro-dollars per million tokens (2.50 USD/Mtok = 2500000). */
struct sy_cost_rate {
    int64_t input;          /* uncached prompt tokens */
    int64_t cached_input;   /* cached prompt tokens (input when configured 0) */
    int64_t cache_write;    /* prompt tokens written to the cache (input when
                               configured 0) */
    int64_t cache_write_1h; /* those written for one hour (cache_write
                               when configured 0) */
    int64_t output;         /* completion tokens, reasoning included */
};

/* Conversions (the config loader validates with these) */
enum sy_err sy_cost_rate_from_price(const struct sy_price *p,
                                    struct sy_cost_rate *out);
enum sy_err sy_cost_markup_bp(double markup_pct, unsigned *out_bp);
enum sy_err sy_cost_usd_to_micro(double usd, int64_t *out_micro);

/* Costs, rounded to the nearest micro-dollar (worst case: rounded up) */
int64_t sy_cost_micro_usd(const struct sy_price *p, const struct sy_usage *u,
                          unsigned markup_bp);
int64_t sy_cost_rate_micro_usd(const struct sy_cost_rate *r,
                               const struct sy_usage *u, unsigned markup_bp);
int64_t sy_cost_worst_case_micro_usd(const struct sy_price *p,
                                     int64_t est_input_tokens,
                                     int64_t max_output_tokens,
                                     unsigned markup_bp);

/* Display: "0.000123", "-1.500000" */
void sy_cost_format_usd(int64_t micro_usd, char *out, size_t n);

#endif
