/*
 * test_dashboard.c - unit tests for core/serve/dashboard.c: the
 * Content-Security-Policy carries the SHA-256 of the page's inline script
 * and style, fails when there is nothing to hash or no room, and the
 * embedded page is one whose policy builds and whose fetches are relative.
 * The page itself runs in Chromium in tests/integration/dashboard.test.js.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "serve/dashboard.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_csp_hashes_inline_code(void **state)
{
    (void)state;
    static const char page[] = "<html><style>p{}</style><body>"
                               "<script>x</script></body></html>";
    char csp[512];
    assert_true(sy_dashboard_csp(page, sizeof(page) - 1, csp, sizeof(csp)));
    /* sha256("x") and sha256("p{}"), base64 */
    assert_non_null(strstr(
        csp,
        "script-src 'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"));
    assert_non_null(strstr(
        csp,
        "style-src 'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='"));
    assert_int_equal(strncmp(csp, "default-src 'none';", 19), 0);
    assert_non_null(strstr(csp, "connect-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe"));
}

static void
test_csp_fails_without_code_or_room(void **state)
{
    (void)state;
    static const char no_script[] = "<style>p{}</style>";
    static const char unclosed[] = "<style>p{}</style><script>x";
    static const char page[] = "<style>p{}</style><script>x</script>";
    char csp[512];
    assert_false(
        sy_dashboard_csp(no_script, sizeof(no_script) - 1, csp, sizeof(csp)));
    assert_false(
        sy_dashboard_csp(unclosed, sizeof(unclosed) - 1, csp, sizeof(csp)));
    assert_false(sy_dashboard_csp(page, sizeof(page) - 1, csp, 40));
    /* The length bounds the search: the script lies past it. */
    assert_false(sy_dashboard_csp(page, 20, csp, sizeof(csp)));
}

static size_t
count(const char *hay, size_t n, const char *needle)
{
    size_t c = 0, k = strlen(needle);
    for (const char *p = hay;
         (p = memmem(p, n - (size_t)(p - hay), needle, k)) != NULL; p += k)
        c++;
    return c;
}

static void
test_embedded_page(void **state)
{
    (void)state;
    size_t len = 0;
    const char *page = sy_dashboard_html(&len);
    assert_true(len > 1000);
    assert_int_equal(strlen(page), len);
    assert_int_equal(strncmp(page, "<!DOCTYPE html>", 15), 0);
    assert_int_equal(count(page, len, "<script>"), 1);
    assert_int_equal(count(page, len, "<style>"), 1);
    assert_int_equal(count(page, len, "fetch('metrics'"), 1);
    assert_int_equal(count(page, len, "fetch('/"), 0);
    assert_int_equal(count(page, len, "innerHTML"), 0);
    assert_int_equal(count(page, len, " style=\""), 0);
    char csp[512];
    assert_true(sy_dashboard_csp(page, len, csp, sizeof(csp)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csp_hashes_inline_code),
        cmocka_unit_test(test_csp_fails_without_code_or_room),
        cmocka_unit_test(test_embedded_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
