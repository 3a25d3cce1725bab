/*
 * test_jsonschema_rx.c - hostile patterns against the schema compiler and
 * validator (core/contract/jsonschema_rx.c on PCRE2): patterns that overflowed the
 * stack inside glibc regcomp or took seconds and hundreds of MB in
 * regexec. Every case runs on a thread with a 128 KiB stack (the bench
 * workers' size) and must be answered - refused at compile, or a verdict
 * - within a generous wall-time bound, with the regex work counted in
 * the budget. Also: the per-request budget across many validations, and
 * the ECMA-262 dialect points that PCRE2 would read differently.
 * SPDX-License-Identifier: MIT
 */
#include "contract/jsonschema.h"
#include "contract/contract.h"
#include "base/mem.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#define SMALL_STACK (128u * 1024u)
/* Bounds: CPU of the validating thread (what the budget limits), and a
 * generous wall time, since the test machine may be busy. */
#define MAX_CPU_NS  (2000ull * 1000 * 1000)
#define MAX_WALL_NS (10000ull * 1000 * 1000)

static uint64_t
clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
wall_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t
cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* One case: a schema and an instance (JSON text), what happened. */
struct job {
    const char *schema;
    const char *instance; /* NULL: compile only */
    bool compiled;
    bool valid;
    char err[256];
    struct sy_rx_budget budget;
    uint64_t ns;  /* wall */
    uint64_t cpu; /* CPU of the thread */
};

/* Parse without json-c's default depth limit of 32. */
static struct json_object *
parse_deep(const char *text)
{
    struct json_tokener *tok = json_tokener_new_ex(1000);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    return o;
}

static void *
run_job(void *arg)
{
    struct job *j = arg;
    uint64_t t0 = wall_ns(), c0 = cpu_ns();
    struct json_object *s = parse_deep(j->schema);
    struct json_object *v = j->instance ? parse_deep(j->instance) : NULL;
    sy_rx_budget_init(&j->budget);
    struct sy_schema *cs = sy_schema_compile(s, j->err, sizeof(j->err));
    j->compiled = cs != NULL;
    if (cs != NULL && j->instance != NULL)
        j->valid =
            sy_schema_validate(cs, v, &j->budget, j->err, sizeof(j->err));
    sy_schema_free(cs);
    json_object_put(s);
    json_object_put(v);
    j->ns = wall_ns() - t0;
    j->cpu = cpu_ns() - c0;
    return NULL;
}

/* Run 'j' on a thread with the workers' small stack. */
static void
on_small_stack(struct job *j)
{
    pthread_attr_t at;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&at), 0);
    assert_int_equal(pthread_attr_setstacksize(&at, SMALL_STACK), 0);
    assert_int_equal(pthread_create(&th, &at, run_job, j), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&at);
    if (j->ns > MAX_WALL_NS || j->cpu > MAX_CPU_NS)
        fail_msg("%s took %.3f s (%.3f s CPU)", j->schema, (double)j->ns / 1e9,
                 (double)j->cpu / 1e9);
}

/* A JSON string of 'n' copies of 'ch' then 'tail' (JSON-escaped). */
static char *
repeat_str(char ch, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    char *s = malloc(n + t + 3);
    assert_non_null(s);
    s[0] = '"';
    memset(s + 1, ch, n);
    memcpy(s + 1 + n, tail, t);
    memcpy(s + 1 + n + t, "\"", 2);
    return s;
}

/* The issue's patterns: refused at compile or answered quickly with
 * "too much regex work"; the worker thread survives. */
static void
test_issue_patterns(void **state)
{
    (void)state;
    static const char *compile_only[] = {
        "{\"pattern\":\"((a?){1000}){6}\"}",
        "{\"patternProperties\":{\"((a?){1000}){6}\":{}}}",
        "{\"propertyNames\":{\"pattern\":\"((a?){1000}){6}\"}}",
        "{\"pattern\":\"((((((a{1000}){1000}){1000}){1000}){1000}){1000})\"}",
        "{\"pattern\":\"(?:(?:(?:(?:(?:(?:(?:(?:(?:(?:a{1000}){1000}){1000}"
        "){1000}){1000}){1000}){1000}){1000}){1000}){1000}\"}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(compile_only); i++) {
        struct job j = { .schema = compile_only[i] };
        on_small_stack(&j);
        if (j.compiled)
            continue; /* fine if it compiled: matching is bounded too */
        assert_non_null(strstr(j.err, "unsupported pattern"));
        assert_int_equal(j.err[0], '#');
    }
    static const struct {
        const char *pattern;
        char ch;
        size_t n;
        const char *tail;
    } slow[] = {
        /* The subjects hold the required last character, so that
         * PCRE2's "required code unit" shortcut does not skip the work. */
        { "(a{0,1000}){0,19}b", 'a', 30, "cb" },
        { "(a{0,1000}){0,19}b", 'a', 2000, "cb" },
        { "(.{0,1000}){0,19}\\\\x01", 'x', 30, "\\n\\u0001" },
        { "(.{0,1000}){0,19}\\\\x01", 'x', 2000, "\\n\\u0001" },
        { "(a|a)*b", 'a', 40, "cb" },
        { "(a+)+$", 'a', 40, "!" },
        { "^(a|aa)+$", 'a', 60, "!" },
        { "(a*)*b", 'a', 5000, "cb" },
        { "^(\\\\w+\\\\s?)*$", 'a', 60, "!" },
        { "(a+)+\\\\1b", 'a', 40, "cb" },
        { "((a?){1000}){6}", 'a', 30, "" },
        { "(?=(a+)+b)a", 'a', 40, "cb" },
        { "(x+x+)+y", 'x', 5000, "zy" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(slow); i++) {
        char schema[256];
        snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}",
                 slow[i].pattern);
        char *inst = repeat_str(slow[i].ch, slow[i].n, slow[i].tail);
        struct job j = { .schema = schema, .instance = inst };
        on_small_stack(&j);
        if (j.compiled) {
            /* A verdict, or the budget: never more than it allows. */
            assert_true(j.budget.starts <= SY_RX_BUDGET_STARTS + 1);
            assert_true(j.budget.cpu_ns < 2 * SY_RX_BUDGET_CPU_NS);
            if (!j.valid && strstr(j.err, "too much regex work") == NULL &&
                strstr(j.err, "must match the pattern") == NULL)
                fail_msg("%s: unexpected \"%s\"", schema, j.err);
        }
        print_message("  %-28s x%-5zu %s %6.1f ms CPU, %llu starts: %s\n",
                      slow[i].pattern, slow[i].n,
                      j.compiled ? "compiled" : "refused ", (double)j.cpu / 1e6,
                      (unsigned long long)j.budget.starts,
                      j.compiled ? (j.valid ? "valid" : j.err) : j.err);
        free(inst);
    }
}

/* Deep nesting, long patterns: refused with a reason, no crash. */
static void
test_nesting_and_length(void **state)
{
    (void)state;
    char pat[4200], schema[4400];
    /* 1000 nested groups: far over the nesting limit. */
    size_t k = 0;
    for (int i = 0; i < 1000; i++)
        pat[k++] = '(';
    pat[k++] = 'a';
    for (int i = 0; i < 1000; i++)
        pat[k++] = ')';
    pat[k] = '\0';
    snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}", pat);
    struct job j = { .schema = schema, .instance = "\"a\"" };
    on_small_stack(&j);
    assert_false(j.compiled);
    assert_non_null(strstr(j.err, "#/pattern: unsupported pattern"));
    /* 60 nested groups (under the limit) compile and match. */
    k = 0;
    for (int i = 0; i < 60; i++)
        pat[k++] = '(';
    pat[k++] = 'a';
    for (int i = 0; i < 60; i++)
        pat[k++] = ')';
    pat[k] = '\0';
    snprintf(schema, sizeof(schema), "{\"pattern\":\"^%s$\"}", pat);
    struct job j2 = { .schema = schema, .instance = "\"a\"" };
    on_small_stack(&j2);
    assert_true(j2.compiled);
    assert_true(j2.valid);
    /* At the length bound: accepted; one byte more: refused. */
    memset(pat, 'a', SY_JSONSCHEMA_PATTERN_MAX);
    pat[SY_JSONSCHEMA_PATTERN_MAX] = '\0';
    snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}", pat);
    struct job j3 = { .schema = schema, .instance = "\"a\"" };
    on_small_stack(&j3);
    assert_true(j3.compiled);
    assert_false(j3.valid);
    pat[SY_JSONSCHEMA_PATTERN_MAX] = 'a';
    pat[SY_JSONSCHEMA_PATTERN_MAX + 1] = '\0';
    snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}", pat);
    struct job j4 = { .schema = schema };
    on_small_stack(&j4);
    assert_false(j4.compiled);
    assert_non_null(strstr(j4.err, "longer than"));
    /* Schemas nested to the depth bound, with a pattern at the bottom:
     * compile and validation recursion fit the small stack. */
    static char deep[16384];
    for (int depth = 120; depth <= 130; depth += 10) {
        size_t d = 0;
        for (int i = 0; i < depth; i++)
            d += (size_t)snprintf(deep + d, sizeof(deep) - d,
                                  "{\"anyOf\":[{\"not\":{\"type\":\"null\"}},");
        d += (size_t)snprintf(deep + d, sizeof(deep) - d,
                              "{\"pattern\":\"^(a|b)+$\"}");
        for (int i = 0; i < depth; i++)
            d += (size_t)snprintf(deep + d, sizeof(deep) - d, "]}");
        struct job jd = { .schema = deep, .instance = "\"abab\"" };
        on_small_stack(&jd);
        if (depth < SY_JSONSCHEMA_MAX_DEPTH) {
            if (!jd.compiled || !jd.valid)
                fail_msg("depth %d: %s", depth, jd.err);
        } else {
            assert_false(jd.compiled);
            assert_non_null(strstr(jd.err, "nested too deeply"));
        }
    }
    /* The largest counted repeat PCRE2 takes, on a long subject. */
    struct job j5 = { .schema = "{\"pattern\":\"^(?:a{0,65535}){0,65535}$\"}",
                      .instance = NULL };
    char *inst = repeat_str('a', 100000, "b");
    j5.instance = inst;
    on_small_stack(&j5);
    if (j5.compiled)
        assert_false(j5.valid);
    free(inst);
}

/* The budget is per request: many cheap-looking validations add up, and
 * once it is spent every later validation fails at once. */
static void
test_request_budget(void **state)
{
    (void)state;
    struct json_object *s =
        json_tokener_parse("{\"items\":{\"not\":{\"pattern\":\"^(a|a)*b\"}}}");
    char err[256];
    struct sy_schema *cs = sy_schema_compile(s, err, sizeof(err));
    assert_non_null(cs);
    /* 400 strings of 15 'a's that must not match: each match costs ~2^15
     * steps, under the per-match limit; only the request's CPU budget
     * stops them. */
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < 400; i++)
        json_object_array_add(arr, json_object_new_string("aaaaaaaaaaaaaaacb"));
    struct sy_rx_budget b;
    sy_rx_budget_init(&b);
    uint64_t t0 = wall_ns(), c0 = cpu_ns();
    bool ok = sy_schema_validate(cs, arr, &b, err, sizeof(err));
    for (int i = 0; i < 20 && !b.spent; i++)
        ok = sy_schema_validate(cs, arr, &b, err, sizeof(err));
    uint64_t ns = wall_ns() - t0, cpu = cpu_ns() - c0;
    assert_false(ok);
    assert_true(b.spent);
    assert_non_null(strstr(err, "too much regex work"));
    assert_true(ns < MAX_WALL_NS);
    assert_true(cpu < MAX_CPU_NS);
    assert_true(b.cpu_ns >= SY_RX_BUDGET_CPU_NS);
    assert_true(b.matches > 10);
    /* Spent: the next one fails without matching anything. */
    uint64_t m = b.matches;
    assert_false(sy_schema_validate(cs, arr, &b, err, sizeof(err)));
    assert_int_equal(b.matches, m);
    assert_non_null(strstr(err, "too much regex work"));
    print_message("  budget spent after %llu matches, %llu starts, "
                  "%.1f ms CPU, %.1f ms wall\n",
                  (unsigned long long)b.matches, (unsigned long long)b.starts,
                  (double)b.cpu_ns / 1e6, (double)ns / 1e6);
    json_object_put(arr);
    sy_schema_free(cs);
    json_object_put(s);
}

/* Tool parameters and response schemas through the contract checks. */
static void
test_contract_paths(void **state)
{
    (void)state;
    struct json_object *p = json_tokener_parse(
        "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\","
        "\"pattern\":\"(a{0,1000}){0,19}b\"}}}");
    char err[256];
    struct sy_schema *cs = sy_schema_compile(p, err, sizeof(err));
    assert_non_null(cs);
    struct sy_rx_budget b;
    sy_rx_budget_init(&b);
    const char *args =
        "{\"q\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacb\"}";
    uint64_t t0 = cpu_ns();
    assert_false(sy_contract_check_tool_args_cs(args, strlen(args), cs, &b, 64,
                                                err, sizeof(err)));
    assert_true(cpu_ns() - t0 < MAX_CPU_NS);
    assert_non_null(strstr(err, "$.q: too much regex work"));
    assert_true(b.spent);
    sy_schema_free(cs);
    json_object_put(p);
    /* An unsupported pattern in a tree given to the one-shot form. */
    p = json_tokener_parse("{\"pattern\":\"(?i)a\"}");
    assert_false(sy_contract_check_tool_args("{}", 2, p, 64, err, sizeof(err)));
    assert_non_null(strstr(err, "#/pattern: unsupported pattern"));
    json_object_put(p);
}

/* ECMA-262 points that PCRE2 reads differently by default. */
static void
test_dialect(void **state)
{
    (void)state;
    static const struct {
        const char *pattern; /* JSON-escaped */
        const char *instance;
        bool match;
    } rows[] = {
        { "^abc$", "\"abc\\n\"", false },    /* $ only at the end */
        { "^\\\\d$", "\"\\u0661\"", false }, /* \d is ASCII */
        { "^\\\\w$", "\"\\u00e9\"", false }, /* \w is ASCII */
        { "^\\\\s$", "\"\\u00a0\"", true },  /* \s is Unicode */
        { "^\\\\s$", "\"\\ufeff\"", true },
        { "^\\\\S$", "\"\\u2003\"", false },
        { "^\\\\v$", "\"\\u000b\"", true }, /* \v is U+000B only */
        { "^\\\\v$", "\"\\n\"", false },
        { "^.$", "\"\\n\"", false },
        { "^.$", "\"\\r\"", false },
        { "^.$", "\"\\u00e9\"", true }, /* code points */
        { "^\\\\u00e9$", "\"\\u00e9\"", true },
        { "^\\\\x41$", "\"A\"", true },
        { "^[^]$", "\"\\n\"", true },        /* [^] is anything */
        { "[]", "\"a\"", false },            /* [] is nothing */
        { "^[[:alpha:]]$", "\"a]\"", true }, /* no POSIX classes */
        { "^[[:alpha:]]$", "\"b\"", false },
        { "^(?=a)\\\\w+$", "\"abc\"", true }, /* lookahead */
        { "^(?!a)\\\\w+$", "\"abc\"", false },
        { "(?<=a)b", "\"ab\"", true },    /* lookbehind */
        { "^(a)\\\\1$", "\"aa\"", true }, /* backreference */
        { "^(?<x>a)\\\\k<x>$", "\"aa\"", true },
        { "\\\\bfoo\\\\b", "\"a foo b\"", true },
        { "^\\\\p{L}+$", "\"\\u00e9t\\u00e9\"", true },
        { "^\\\\0$", "\"\\u0000\"", true },
        { "^a{,2}$", "\"a{,2}\"", true }, /* a literal brace */
        { "^[\\\\s]$", "\"\\u3000\"", true },
    };
    int bad = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(rows); i++) {
        char schema[256];
        snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}",
                 rows[i].pattern);
        struct job j = { .schema = schema, .instance = rows[i].instance };
        run_job(&j);
        if (!j.compiled || j.valid != rows[i].match) {
            print_error("%s on %s: %s (%s)\n", rows[i].pattern,
                        rows[i].instance,
                        !j.compiled ? "refused"
                        : j.valid   ? "matched"
                                    : "did not match",
                        j.err);
            bad++;
        }
    }
    if (bad > 0)
        fail_msg("%d dialect rows failed", bad);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_patterns),
        cmocka_unit_test(test_nesting_and_length),
        cmocka_unit_test(test_request_budget),
        cmocka_unit_test(test_contract_paths),
        cmocka_unit_test(test_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
