/*
 * test_usage_bound.c - a provider's impossible token counts are bounded
 * before anything is priced or settled with them (core/api/chat.c
 * sy_usage_bound): never negative, the prompt within the context window
 * and output limit, the completion within the output limit for each of
 * the n choices when the provider was sent a max_tokens (or what was
 * sent, if larger: an adapter's default); sent none, the model's own
 * limit, which a configured one may understate, is not assumed; the
 * parts within their wholes.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/caps.h"
#include "api/chat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Usage of prompt, completion, total, cached and reasoning tokens. */
#define USAGE(p, c, t, ca, r)                                               \
    (struct sy_usage)                                                       \
    {                                                                       \
        .present = true, .prompt_tokens = (p), .completion_tokens = (c),    \
        .total_tokens = (t), .cached_tokens = (ca), .reasoning_tokens = (r) \
    }

/* A provider's impossible counts are bounded before anything is priced
 * or settled with them. */
static void
test_usage_bound(void **state)
{
    (void)state;
    struct sy_caps caps = { 0 };
    struct sy_usage u = USAGE(INT64_MAX, -5, INT64_MAX, INT64_MAX, 0);
    u.cache_write_tokens = INT64_MAX;
    u.cache_write_1h_tokens = INT64_MAX;
    assert_true(sy_usage_bound(&u, &caps, 1, 1));
    assert_int_equal(u.prompt_tokens, SY_CHAT_MAX_TOKENS);
    assert_int_equal(u.completion_tokens, 0);
    assert_int_equal(u.cached_tokens, SY_CHAT_MAX_TOKENS);
    assert_int_equal(u.cache_write_tokens, 0);    /* no prompt left */
    assert_int_equal(u.cache_write_1h_tokens, 0); /* within the writes */
    assert_int_equal(u.reasoning_tokens, 0);
    assert_int_equal(u.total_tokens, SY_CHAT_MAX_TOKENS);

    caps.context_window = 128000;
    caps.max_output_tokens = 16384;
    struct sy_usage v = USAGE(200000, 20000, 220000, 300000, 30000);
    struct sy_usage nolim = v; /* no max_tokens sent: the model's own */
    assert_true(sy_usage_bound(&nolim, &caps, 1, 0));
    assert_int_equal(nolim.completion_tokens, 20000);
    assert_true(sy_usage_bound(&v, &caps, 1, 1));
    assert_int_equal(v.prompt_tokens, 128000 + 16384);
    assert_int_equal(v.completion_tokens, 16384); /* the output limit */
    assert_int_equal(v.cached_tokens, 128000 + 16384);
    assert_int_equal(v.reasoning_tokens, 16384);

    /* n = 128 answers of up to 16,000 tokens: 2,048,000 is possible. */
    caps.context_window = 0; /* unknown: the output limit bounds alone */
    caps.max_output_tokens = 16000;
    struct sy_usage nn = USAGE(1000, 2048000, 2049000, 0, 0);
    assert_false(sy_usage_bound(&nn, &caps, 128, 1));
    assert_int_equal(nn.completion_tokens, 2048000);
    assert_true(sy_usage_bound(&nn, &caps, 1, 1));
    assert_int_equal(nn.completion_tokens, 16000);

    /* Sent more than the configured limit (Anthropic's default
     * max_tokens for a request without one): what was sent bounds. */
    caps.max_output_tokens = 1000;
    struct sy_usage an = USAGE(1000, 90000, 91000, 0, 0);
    assert_true(sy_usage_bound(&an, &caps, 1, 4096));
    assert_int_equal(an.completion_tokens, 4096);
    /* The output limit unknown: SY_OUTPUT_TOKENS_UNKNOWN, or what was
     * sent if larger. */
    caps.max_output_tokens = 0;
    struct sy_usage rs = USAGE(1000, 20000, 21000, 0, 0);
    assert_false(sy_usage_bound(&rs, &caps, 1, 100));
    assert_int_equal(rs.completion_tokens, 20000);
    rs = USAGE(1000, 1000000000, 1000001000, 0, 0);
    assert_true(sy_usage_bound(&rs, &caps, 1, 100));
    assert_int_equal(rs.completion_tokens, SY_OUTPUT_TOKENS_UNKNOWN);
    rs = USAGE(1000, 1000000000, 1000001000, 0, 0);
    assert_true(sy_usage_bound(&rs, &caps, 1, 50000));
    assert_int_equal(rs.completion_tokens, 50000);
    caps.max_output_tokens = 16000;

    /* An ordinary report is left alone. */
    struct sy_usage w = USAGE(1000, 200, 1200, 500, 50);
    w.cache_write_tokens = 300;
    w.cache_write_1h_tokens = 200;
    assert_false(sy_usage_bound(&w, &caps, 1, 1));
    assert_int_equal(w.prompt_tokens, 1000);
    assert_int_equal(w.total_tokens, 1200);
    assert_int_equal(w.cached_tokens, 500);
    assert_int_equal(w.cache_write_1h_tokens, 200);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_bound),
    };
    return cmocka_run_group_tests_name("usage_bound", tests, NULL, NULL);
}
