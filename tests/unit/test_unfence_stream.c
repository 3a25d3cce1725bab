/*
 * test_unfence_stream.c - unit tests for core/contract/unfence_stream.c:
 * the fence comes off an answer as it streams, the same whatever the
 * split into deltas (every split into 1..3 pieces, and byte by byte), the
 * same as sy_contract_unfence on a whole answer it unwraps, unfenced
 * text unchanged byte for byte, text shown as soon as it cannot be the
 * closing fence, and the hold bounded.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "contract/unfence_stream.h"
#include "contract/contract.h"
#include "base/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#define OUT_MAX 4096

/* The output for t[0..n) fed in the pieces that end at cuts[0..ncuts). */
static void
run_split(const char *t, size_t n, const size_t *cuts, size_t ncuts,
          struct sy_buf *out)
{
    struct sy_unfence u;
    sy_unfence_init(&u);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        assert_int_equal(sy_unfence_feed(&u, t + at, end - at, out), SY_OK);
        at = end;
    }
    assert_int_equal(sy_unfence_finish(&u, out), SY_OK);
}

static void
expect_out(const struct sy_buf *got, const char *want, size_t wn, const char *t)
{
    if (got->len != wn || memcmp(got->data ? got->data : "", want, wn) != 0)
        fail_msg("input [%s]: got [%.*s], want [%.*s]", t, (int)got->len,
                 sy_buf_cstr(got), (int)wn, want);
}

/* Every split of t into 1..3 pieces, and byte by byte, gives 'want'. */
static void
check_splits(const char *t, size_t n, const char *want, size_t wn)
{
    struct sy_buf out;
    sy_buf_init(&out, OUT_MAX);
    run_split(t, n, NULL, 0, &out);
    expect_out(&out, want, wn, t);
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = { i, j };
            sy_buf_clear(&out);
            run_split(t, n, cuts, 2, &out);
            expect_out(&out, want, wn, t);
        }
    }
    size_t *each = malloc((n + 1) * sizeof(*each));
    assert_non_null(each);
    for (size_t i = 0; i < n; i++)
        each[i] = i;
    sy_buf_clear(&out);
    run_split(t, n, each, n, &out);
    expect_out(&out, want, wn, t);
    free(each);
    sy_buf_free(&out);
}

/* What sy_contract_unfence gives for the whole answer. */
static void
check_agrees(const char *t)
{
    const char *in;
    size_t inlen;
    sy_contract_unfence(t, strlen(t), &in, &inlen);
    check_splits(t, strlen(t), in, inlen);
}

static void
check(const char *t, const char *want)
{
    check_splits(t, strlen(t), want, strlen(want));
}

static void
test_agrees_with_whole_unfence(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "```json\n{\"a\": 1}\n```",
        "```\n{\"a\": 1}\n```",
        "```JSON\n{\"a\": 1}\n```\n",
        "  \n```json\r\n{\"a\": 1}\r\n```\r\n",
        "```json\n{\n  \"a\": [1, 2],\n  \"b\": \"x\"\n}\n```",
        "```json\n{\"code\": \"```js\\nx\\n```\", \"b\": \"``\"}\n```",
        "```json {\"a\": 1}```",
        "```{\"a\": 1}```",
        "``````",
        "``` ```",
        "```json\n```",
        "```\n\n  {}  \n\n```  \n",
        "```json\n{}``` ````",
        "```json\n{}```\t`` ```` `\n```",
        /* not fences: passed through unchanged */
        "{\"a\": 1}",
        "  {\"a\": \"```\"}  ",
        "Here is ```json\n{}\n``` for you",
        "```python\nprint(1)\n```",
        "```js\n{}\n```",
        "```jsonc\n{}\n```",
        "``json\n{}\n``",
        "`{}`",
        "```",
        "```json",
        "```json\n",
        "  ```  ",
        "",
        " ",
        " \r\n\t ",
        "\n`",
        "{\"a\": 1}\n```",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_agrees(cases[i]);
}

/* What was shown cannot be taken back: a fence the whole-answer unfence
 * refuses for what comes later has lost its opening line already. Such
 * an answer is not JSON either way (the contract check says so). */
static void
test_evidence_after_the_opening(void **state)
{
    (void)state;
    /* no closing fence (a cut answer) */
    check("```json\n{\"a\": 1}\n", "{\"a\": 1}\n");
    check("```json\n{\"a\": 1}``", "{\"a\": 1}``");
    /* prose after the closing fence */
    check("```json\n{}\n```\nHope this helps.", "{}\n```\nHope this helps.");
    /* two blocks */
    check("```json\n{}\n```\n```json\n[]\n```", "{}\n```\n```json\n[]");
}

/* Text goes out as soon as it cannot be part of the closing fence. */
static void
test_shown_as_it_comes(void **state)
{
    (void)state;
    struct sy_unfence u;
    struct sy_buf out;
    sy_unfence_init(&u);
    sy_buf_init(&out, OUT_MAX);
    assert_int_equal(sy_unfence_feed(&u, "  ``", 4, &out), SY_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(sy_unfence_feed(&u, "`json\n{\"a\": ", 12, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\":");
    assert_int_equal(sy_unfence_feed(&u, "\"``", 3, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\": \"");
    assert_int_equal(sy_unfence_feed(&u, "`\"}\n", 4, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\": \"```\"}");
    assert_int_equal(sy_unfence_feed(&u, "``` \n", 5, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\": \"```\"}");
    assert_int_equal(sy_unfence_finish(&u, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\": \"```\"}");
    /* after the end, text passes through */
    assert_int_equal(sy_unfence_feed(&u, "```x", 4, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), "{\"a\": \"```\"}```x");

    /* unfenced: everything goes out at once once decided */
    sy_unfence_init(&u);
    sy_buf_clear(&out);
    assert_int_equal(sy_unfence_feed(&u, " \n", 2, &out), SY_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(sy_unfence_feed(&u, "{\"a\": 1}  ", 10, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), " \n{\"a\": 1}  ");
    assert_int_equal(sy_unfence_finish(&u, &out), SY_OK);
    assert_string_equal(sy_buf_cstr(&out), " \n{\"a\": 1}  ");
    sy_buf_free(&out);
}

/* A run of whitespace longer than the hold: before the opening fence it
 * means "not fenced"; inside, the excess goes out (the JSON is the same
 * with it). The hold itself never grows. */
static void
test_hold_is_bounded(void **state)
{
    (void)state;
    char t[1024], want[1024];
    memset(t, ' ', 100);
    memcpy(t + 100, "```json\n{}\n```", sizeof("```json\n{}\n```"));
    check(t, t);

    memcpy(t, "```json\n{\"a\":", sizeof("```json\n{\"a\":"));
    size_t k = strlen(t);
    memset(t + k, '\n', 200);
    memcpy(t + k + 200, "1}", sizeof("1}"));
    check(t, t + 8);

    /* 100 newlines before the closing fence: all but the last 64 shown */
    memcpy(t, "```json\n{}", sizeof("```json\n{}"));
    memset(t + 10, '\n', 100);
    memcpy(t + 110, "```", sizeof("```"));
    memset(want, 0, sizeof(want));
    memcpy(want, "{}", sizeof("{}"));
    memset(want + 2, '\n', 100 - SY_UNFENCE_HOLD + 3);
    check(t, want);

    /* 100 spaces after three backticks: they cannot all be held, so the
     * backticks go out (with the spaces, also at the end) */
    memcpy(t, "```json\n{}```", sizeof("```json\n{}```"));
    memset(t + 13, ' ', 100);
    memcpy(t + 113, "x", sizeof("x"));
    check(t, t + 8);
    t[113] = '\0';
    check(t, t + 8);
    memcpy(t + 113, "````", sizeof("````"));
    check(t, "{}```                                                  "
             "                                                  `");

    /* a long info string is not a fence */
    check("```jsonjsonjson\n{}\n```", "```jsonjsonjson\n{}\n```");
    /* whitespace after the opening is dropped without limit */
    memcpy(t, "```json", sizeof("```json"));
    memset(t + 7, '\n', 300);
    memcpy(t + 307, "{}```", sizeof("{}```"));
    check(t, "{}");
    t[307] = '\0';
    check(t, ""); /* only the opening, too long to keep: dropped */
}

static bool
is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* The stream's rule on a whole answer, written plainly (short answers:
 * no hold limit). */
static size_t
reference(const char *t, size_t n, const char **out)
{
    static const char ws[] = " \t\r\n";
    size_t b = 0, p, w, e;
    *out = t;
    while (b < n && strchr(ws, t[b]) != NULL)
        b++;
    if (b + 3 > n || memcmp(t + b, "```", 3) != 0)
        return n;
    for (p = w = b + 3; p < n && is_word(t[p]);)
        p++;
    if (p == n || (p != w && (p - w != 4 || strncasecmp(t + w, "json", 4))))
        return n;
    while (p < n && strchr(ws, t[p]) != NULL)
        p++;
    if (p == n)
        return n;
    for (e = n; e > p && strchr(ws, t[e - 1]) != NULL;)
        e--;
    *out = t + p;
    if (e - p < 3 || memcmp(t + e - 3, "```", 3) != 0)
        return n - p;
    for (e -= 3; e > p && strchr(ws, t[e - 1]) != NULL;)
        e--;
    return e - p;
}

/* Random short answers over the bytes that matter: every split gives the
 * reference's text, which is sy_contract_unfence's whenever it unwraps. */
static void
test_random_answers(void **state)
{
    (void)state;
    static const char alpha[] = "```` \n\r\tjson{}x";
    uint32_t seed = 12345;
    char t[24];
    for (int round = 0; round < 6000; round++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        if (seed >> 30 == 0) {
            memcpy(t, "```json\n", 8);
            n = 8;
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = n + (seed >> 16) % 14;
        while (n < len) {
            seed = seed * 1103515245u + 12345u;
            t[n++] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        t[n] = '\0';
        const char *want, *in;
        size_t wn = reference(t, n, &want), inlen;
        check_splits(t, n, want, wn);
        if (sy_contract_unfence(t, n, &in, &inlen) &&
            (wn != inlen || memcmp(want, in, wn) != 0))
            fail_msg("input [%s]: stream [%.*s], unfence [%.*s]", t, (int)wn,
                     want, (int)inlen, in);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_whole_unfence),
        cmocka_unit_test(test_evidence_after_the_opening),
        cmocka_unit_test(test_shown_as_it_comes),
        cmocka_unit_test(test_hold_is_bounded),
        cmocka_unit_test(test_random_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
