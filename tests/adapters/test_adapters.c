/*
 * test_adapters.c - golden tests for the provider adapters. Each folder
 * tests/adapters/<provider>/NNNN-<slug>/ is one cmocka test:
 *
 *   provider.json  optional (else ../provider.json): {"provider": {type,
 *                  base_url, headers?, adapter keys...}, "model": "...",
 *                  "allow_fields"?: [billed fields the deployment allows]}
 *   request.json   the client's OpenAI request body
 *   native.json    optional: the caller spoke the adapter's own API:
 *                  {"body": its request, "version"?, "beta"?, "dialect"?}
 *                  set as req->native (request.json stays the canonical
 *                  request a surface would make of it)
 *   upstream.json  the expected provider request: {"method", "url",
 *                  "headers": ["Name: value", ...] (the key is %APIKEY%),
 *                  "body": JSON, compared structurally}
 *   refused.json   instead of upstream.json: build_request must refuse
 *                  with SY_EBADREQ: {"param"?, "message"?, "contains"?}
 *   reply.json     the canned reply: {"status", "headers"?: {...},
 *                  "body": JSON | "body_text": "..." | "body_file": "f"}
 *   expected.json  {"response": chat.completion} or {"stream": [chunk,
 *                  ...], "done": bool} and/or {"failure": {err, status,
 *                  message | contains, code, param, retry_after_ms}},
 *                  "usage": {...} (cache_write_tokens and
 *                  cache_write_1h_tokens checked when named),
 *                  "finish_reason": "...", "canonical": the
 *                  canonical reply when "response" is the raw body,
 *                  "raw": whether the body was kept as is
 *
 * The string "%ANY%" in expected JSON matches any value. Streaming
 * replies are fed whole, then split in two at every byte, then byte by
 * byte; every run must produce exactly the same chunks and outcome.
 * This file finds the cases and runs each; golden.h lists the others.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "golden.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/* One case                                                            */

static void
run_case(void **state)
{
    const struct tcase *tc = *state;
    struct env e;
    golden_env_init(&e, tc);
    golden_check_request(tc, &e);
    struct json_object *reply = golden_read_json(tc->dir, "reply.json");
    struct json_object *exp = golden_read_json(tc->dir, "expected.json");
    if (reply != NULL) {
        if (exp == NULL)
            fail_msg("%s: reply.json without expected.json", tc->name);
        size_t len;
        char *body = golden_reply_body(tc, &e, reply, &len);
        int64_t status = 200;
        sy_adapter_get_int(reply, "status", &status);
        if (e.req.stream && status >= 200 && status < 300)
            golden_check_stream(tc, &e, exp, body, len);
        else
            golden_check_reply(tc, &e, exp, reply, body, len);
        free(body);
    }
    json_object_put(reply);
    json_object_put(exp);
    golden_env_cleanup(&e);
}

/* ------------------------------------------------------------------ */
/* Non-golden checks: config keys and helpers                          */

static enum sy_err
init_with(const char *type, const char *json, char *err, size_t errlen)
{
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct json_object *o = sy_adapter_json_parse(json, strlen(json));
    const struct sy_adapter *ad = sy_adapter_find(type);
    assert_non_null(ad);
    const void *conf = NULL;
    enum sy_err r =
        ad->init ? ad->init(type, o, &a, &conf, err, errlen) : SY_OK;
    json_object_put(o);
    sy_arena_cleanup(&a);
    return r;
}

static void
test_config_keys(void **state)
{
    char err[256];
    (void)state;
    assert_int_equal(
        init_with("anthropic", "{\"default_max_tokens\":0}", err, sizeof(err)),
        SY_EBADREQ);
    assert_int_equal(init_with("anthropic",
                               "{\"structured_output\":\"prefill\"}", err,
                               sizeof(err)),
                     SY_EBADREQ);
    assert_int_equal(init_with("anthropic",
                               "{\"api_version\":\"2023-06-01\","
                               "\"structured_output\":\"tool\"}",
                               err, sizeof(err)),
                     SY_OK);
    assert_int_equal(
        init_with("gemini", "{\"schema\":\"yaml\"}", err, sizeof(err)),
        SY_EBADREQ);
    assert_int_equal(
        init_with("mistral", "{\"quirks\":{\"nope\":1}}", err, sizeof(err)),
        SY_EBADREQ);
    assert_non_null(strstr(err, "quirks.nope"));
    assert_int_equal(init_with("openai",
                               "{\"quirks\":{\"tool_ids\":"
                               "\"mistral\",\"drop\":[\"user\"]}}",
                               err, sizeof(err)),
                     SY_OK);
    assert_int_equal(init_with("openrouter",
                               "{\"http_referer\":"
                               "\"https://a.example\",\"app_title\":\"A\"}",
                               err, sizeof(err)),
                     SY_OK);
    /* every registered table is complete */
    size_t n;
    const struct sy_adapter *const *all = sy_adapter_all(&n);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(all[i]->abi, SY_ADAPTER_ABI);
        assert_non_null(all[i]->build_request);
        assert_non_null(all[i]->parse_response);
        assert_non_null(all[i]->classify);
        assert_true(!(all[i]->caps & SY_CAP_STREAM) ||
                    all[i]->stream_event != NULL);
    }
}

static void
test_durations(void **state)
{
    (void)state;
    assert_int_equal(sy_adapter_duration_ms("6m0s"), 360000);
    assert_int_equal(sy_adapter_duration_ms("20ms"), 20);
    assert_int_equal(sy_adapter_duration_ms("1.5s"), 1500);
    assert_int_equal(sy_adapter_duration_ms("37s"), 37000);
    assert_int_equal(sy_adapter_duration_ms("1h2m3s"), 3723000);
    assert_int_equal(sy_adapter_duration_ms("2"), 2000);
    assert_int_equal(sy_adapter_duration_ms("soon"), 0);
    assert_int_equal(sy_adapter_duration_ms("999h"), 86400000);
    /* strtod reads these; they are no durations (and casting NaN is
     * undefined behaviour). */
    assert_int_equal(sy_adapter_duration_ms("infs"), 0);
    assert_int_equal(sy_adapter_duration_ms("nans"), 0);
    assert_int_equal(sy_adapter_duration_ms("1e999s"), 0);
    assert_int_equal(sy_adapter_duration_ms("-1s"), 0);
}

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the subdirectories of 'dir' (malloc'd). */
static char **
subdirs(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    size_t cap = 16;
    char **names = sy_xmalloc(cap * sizeof(*names));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (*n == cap) {
            cap *= 2;
            names = sy_xrealloc(names, cap * sizeof(*names));
        }
        names[(*n)++] = sy_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof(*names), cmp_str);
    return names;
}

int
main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "tests/adapters";
    const char *only = argc > 2 ? argv[2] : NULL;
    size_t nprov, ncases = 0, cap = 64;
    char **provs = subdirs(root, &nprov);
    struct tcase *cases = sy_xcalloc(cap, sizeof(*cases));
    for (size_t i = 0; i < nprov; i++) {
        char pdir[512];
        snprintf(pdir, sizeof(pdir), "%s/%s", root, provs[i]);
        size_t nc;
        char **cs = subdirs(pdir, &nc);
        for (size_t j = 0; j < nc; j++) {
            struct tcase tc;
            snprintf(tc.dir, sizeof(tc.dir), "%s/%s", pdir, cs[j]);
            snprintf(tc.name, sizeof(tc.name), "%s/%s", provs[i], cs[j]);
            if (only == NULL || strstr(tc.name, only) != NULL) {
                if (ncases == cap) {
                    cap *= 2;
                    cases = sy_xrealloc(cases, cap * sizeof(*cases));
                }
                cases[ncases++] = tc;
            }
            free(cs[j]);
        }
        free(cs);
        free(provs[i]);
    }
    free(provs);

    struct CMUnitTest *tests = sy_xcalloc(ncases + 2, sizeof(*tests));
    size_t nt = 0;
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_config_keys);
    tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_durations);
    for (size_t i = 0; i < ncases; i++) {
        tests[nt].name = cases[i].name;
        tests[nt].test_func = run_case;
        tests[nt].initial_state = &cases[i];
        nt++;
    }
    int failed = _cmocka_run_group_tests("adapters", tests, nt, NULL, NULL);
    free(tests);
    free(cases);
    return failed == 0 ? 0 : 1;
}
