/*
 * test_url_redact.c - unit tests for core/base/url_redact.c: user info
 * and query strings hidden, an '@' in the path kept, odd inputs, and a
 * cut that never shows what is hidden.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/url_redact.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
check(const char *url, const char *want)
{
    char out[SY_URL_REDACT_MAX];
    assert_ptr_equal(sy_url_redact(url, out, sizeof(out)), out);
    assert_string_equal(out, want);
}

static void
test_redact(void **state)
{
    (void)state;
    check("http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces");
    check("https://user:tok3n@otel.example:4318/v1/traces",
          "https://[redacted]@otel.example:4318/v1/traces");
    check("https://tok3n@otel.example/v1/traces",
          "https://[redacted]@otel.example/v1/traces");
    /* The last '@' of the authority ends the user info. */
    check("http://a@b:c@host/p", "http://[redacted]@host/p");
    check("https://otel.example/v1/traces?api_key=s3cret&x=1",
          "https://otel.example/v1/traces?[redacted]");
    check("https://u:p@otel.example?sig=1",
          "https://[redacted]@otel.example?[redacted]");
    check("https://otel.example/v1/traces#frag",
          "https://otel.example/v1/traces#[redacted]");
    /* An '@' after the authority is part of the path: kept. */
    check("http://host/users/@me?t=1", "http://host/users/@me?[redacted]");
    /* Not a URL with a scheme: only the query goes. */
    check("host/path?k=v", "host/path?[redacted]");
    check("/a://b@c", "/a://b@c");
    check("", "");
    check(NULL, "");
}

static void
test_cut(void **state)
{
    (void)state;
    char out[32];
    sy_url_redact("https://user:secret@h/p?q=1", out, 23);
    assert_string_equal(out, "https://[redacted]@h/p");
    sy_url_redact("https://user:secret@h/p?q=1", out, 10);
    assert_string_equal(out, "https://[");
    sy_url_redact("https://user:secret@h", out, 1);
    assert_string_equal(out, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests_name("url_redact", tests, NULL, NULL);
}
