/*
 * test_secret_redact.c - the pieces of a secret that a text quotes are
 * hidden (core/base/secret_redact.c): the whole key, a run of 8 or more
 * of its bytes anywhere, every occurrence; shorter runs and texts that
 * quote nothing come back as they were (the same pointer: no copy).
 * SPDX-License-Identifier: MIT
 */
#include "base/secret_redact.h"
#include "api/adapter.h"
#include "base/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define KEY "sk-proj-AbCdEfGh0123456789xyzXYZ"

static void
test_whole_and_parts(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    char want[128];
    snprintf(want, sizeof(want), "Incorrect API key provided: %.*s.",
             (int)strlen(KEY), "****************************************");
    assert_string_equal(
        sy_secret_redact("Incorrect API key provided: " KEY ".", KEY, &a),
        want);
    /* The first 20 characters, a mask, the last 4 (OpenAI's own form):
     * the 20 go, the 4 stay. */
    assert_string_equal(
        sy_secret_redact("key sk-proj-AbCdEfGh0123***XYZ!", KEY, &a),
        "key ***********************XYZ!");
    /* A run from the middle, twice. */
    assert_string_equal(sy_secret_redact("a 0123456789x b 3456789xyz", KEY, &a),
                        "a *********** b **********");
    sy_arena_cleanup(&a);
}

static void
test_nothing_to_hide(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    const char *t = "the model is overloaded; 0123456 AbCdEfG";
    assert_ptr_equal(sy_secret_redact(t, KEY, &a), t); /* runs of 7 */
    assert_null(sy_secret_redact(NULL, KEY, &a));
    assert_ptr_equal(sy_secret_redact(t, NULL, &a), t);
    assert_ptr_equal(sy_secret_redact(t, "short", &a), t);
    const char *empty = "";
    assert_ptr_equal(sy_secret_redact(empty, KEY, &a), empty);
    sy_arena_cleanup(&a);
}

/* A secret past the run search's bound is still hidden whole. */
static void
test_long_secret(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 16384);
    static char secret[5001], text[10010];
    for (size_t i = 0; i < 5000; i++)
        secret[i] = (char)('a' + (i * 7) % 26);
    snprintf(text, sizeof(text), "x%sy%s", secret, secret);
    const char *r = sy_secret_redact(text, secret, &a);
    assert_ptr_not_equal(r, text);
    assert_int_equal(r[0], 'x');
    assert_int_equal(r[5001], 'y');
    for (size_t i = 1; i <= 5000; i++)
        assert_int_equal(r[i], '*');
    assert_int_equal(r[10001], '*');
    sy_arena_cleanup(&a);
}

/* A failure's texts are cut to 1 KiB before the mask (a provider's
 * error type of megabytes was echoed whole, and masked in over a
 * second), at a character boundary, and masked. */
static void
test_failure_texts_bounded(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 1u << 16);
    size_t big = 4u << 20;
    char *type = malloc(big + 1);
    assert_non_null(type);
    memset(type, 'x', big);
    memcpy(type + 1023, "\xc3\xa9", 2); /* a 2-byte character across 1024 */
    type[big] = '\0';
    struct sy_adapter_call call;
    memset(&call, 0, sizeof(call));
    call.api_key = KEY;
    call.arena = &a;
    struct sy_failure f = { .message = "Incorrect API key provided: " KEY,
                            .code = type,
                            .param = NULL };
    sy_failure_redact(&f, &call);
    assert_null(f.param);
    assert_null(strstr(f.message, "AbCdEfGh"));
    assert_true(strlen(f.code) <= 1024);
    assert_int_equal(strlen(f.code), 1023); /* the character is not split */
    free(type);
    sy_arena_cleanup(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_parts),
        cmocka_unit_test(test_nothing_to_hide),
        cmocka_unit_test(test_long_secret),
        cmocka_unit_test(test_failure_texts_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
