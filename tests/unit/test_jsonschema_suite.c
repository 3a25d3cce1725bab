/*
 * test_jsonschema_suite.c - the official JSON Schema Test Suite (Debian
 * package json-schema-test-suite) against core/jsonschema*.c. For drafts
 * 4, 6 and 7 (the drafts the package has that the validator claims;
 * draft 3 is a different language), every test file of the draft, plus
 * optional/ecmascript-regex.json, is loaded; each schema is compiled with
 * sy_schema_compile_ex (dialect of drafts 4-7) and each instance
 * validated and compared with "valid".
 *
 * A schema the compiler refuses counts as "refused", never as passed:
 * the gateway refuses what it cannot enforce (remote $refs, $id scopes,
 * the draft-7 meta-schema...). A verdict that differs fails the test,
 * unless the case is in the skip table below, each with its reason.
 * Prints, per draft, "N passed, N refused, N known, N failed"; without
 * the package the tests are skipped. SY_JSONSCHEMA_SUITE overrides the
 * directory.
 * SPDX-License-Identifier: MIT
 */
#include "contract/jsonschema.h"
#include "base/sy.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests"

/* Known differences: file, group description, test description (NULL:
 * every test of the group), and why. Keep it small and honest. */
static const struct {
    const char *file;
    const char *group;
    const char *test;
    const char *why;
} skips[] = {
    { "ecmascript-regex.json", "ECMA 262 regex non-compliance", NULL,
      "the test is about \"format\": \"regex\"; format is an annotation "
      "here, never asserted (jsonschema.c), so any string is valid" },
};

struct tally {
    unsigned passed, refused, known, failed;
};

static bool
skipped(const char *file, const char *group, const char *test)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(skips); i++) {
        if (skips[i].why == NULL)
            continue;
        if (strcmp(skips[i].file, file) == 0 &&
            strcmp(skips[i].group, group) == 0 &&
            (skips[i].test == NULL || strcmp(skips[i].test, test) == 0))
            return true;
    }
    return false;
}

static const char *
str_at(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) &&
                   json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "";
}

/* One test file: every group, every test. */
static void
run_file(const char *path, const char *name, struct tally *t)
{
    struct json_object *doc = json_object_from_file(path);
    if (doc == NULL || !json_object_is_type(doc, json_type_array))
        fail_msg("%s: not a test file", path);
    size_t ng = json_object_array_length(doc);
    for (size_t g = 0; g < ng; g++) {
        struct json_object *grp = json_object_array_get_idx(doc, g);
        struct json_object *schema, *tests;
        json_object_object_get_ex(grp, "schema", &schema);
        if (!json_object_object_get_ex(grp, "tests", &tests))
            continue;
        char err[256];
        struct sy_schema *cs =
            sy_schema_compile_ex(schema, SY_SCHEMA_LEGACY, err, sizeof(err));
        size_t nt = json_object_array_length(tests);
        for (size_t i = 0; i < nt; i++) {
            struct json_object *tc = json_object_array_get_idx(tests, i);
            struct json_object *data, *valid;
            json_object_object_get_ex(tc, "data", &data);
            json_object_object_get_ex(tc, "valid", &valid);
            if (cs == NULL) {
                t->refused++;
                continue;
            }
            char why[256];
            bool got = sy_schema_validate(cs, data, NULL, why, sizeof(why));
            if (got == json_object_get_boolean(valid)) {
                t->passed++;
            } else if (skipped(name, str_at(grp, "description"),
                               str_at(tc, "description"))) {
                t->known++;
            } else {
                t->failed++;
                print_error(
                    "%s: %s: %s: want %s, got %s (%s)\n", name,
                    str_at(grp, "description"), str_at(tc, "description"),
                    json_object_get_boolean(valid) ? "valid" : "invalid",
                    got ? "valid" : "invalid", got ? "" : why);
            }
        }
        if (cs == NULL && getenv("SY_SUITE_VERBOSE") != NULL)
            print_message("  refused %s: %s: %s\n", name,
                          str_at(grp, "description"), err);
        sy_schema_free(cs);
    }
    json_object_put(doc);
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_draft(const char *draft)
{
    const char *root = getenv("SY_JSONSCHEMA_SUITE");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", root ? root : SUITE_DIR, draft);
    DIR *d = opendir(dir);
    if (d == NULL) {
        print_message("  %s: no test suite at %s (package "
                      "json-schema-test-suite)\n",
                      draft, dir);
        skip();
    }
    char *names[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < SY_ARRAY_LEN(names) - 1) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    names[n++] = strdup("optional/ecmascript-regex.json");
    qsort(names, n, sizeof(names[0]), name_cmp);
    struct tally t = { 0, 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct tally f = { 0, 0, 0, 0 };
        const char *base = strrchr(names[i], '/');
        run_file(path, base ? base + 1 : names[i], &f);
        print_message("  %s %-28s %3u passed, %3u refused, %u known, "
                      "%u failed\n",
                      draft, names[i], f.passed, f.refused, f.known, f.failed);
        t.passed += f.passed;
        t.refused += f.refused;
        t.known += f.known;
        t.failed += f.failed;
        free(names[i]);
    }
    print_message("%s: %u passed, %u refused, %u known, %u failed\n", draft,
                  t.passed, t.refused, t.known, t.failed);
    if (t.failed > 0)
        fail_msg("%s: %u tests of the suite failed", draft, t.failed);
}

static void
test_draft4(void **state)
{
    (void)state;
    run_draft("draft4");
}

static void
test_draft6(void **state)
{
    (void)state;
    run_draft("draft6");
}

static void
test_draft7(void **state)
{
    (void)state;
    run_draft("draft7");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draft4),
        cmocka_unit_test(test_draft6),
        cmocka_unit_test(test_draft7),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
