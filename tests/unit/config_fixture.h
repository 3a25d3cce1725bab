/*
 * config_fixture.h - what the config tests share: per-test state (the
 * loaded config, its error text, scratch memory), setup and teardown,
 * J() (configs written with ' for " to keep them readable), and the
 * helpers that load a config and look for an error line. Included by
 * test_config.c and test_config_errors.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_CONFIG_FIXTURE_H
#define SY_TESTS_UNIT_CONFIG_FIXTURE_H

#include "base/sy.h"
#include "config/config.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Per-test state: the loaded config, the error text, scratch memory. */
static struct sy_config *cfg;
static struct sy_buf errs;
static struct sy_arena scratch;

static SY_UNUSED int
setup(void **state)
{
    (void)state;
    cfg = NULL;
    sy_buf_init(&errs, 1u << 20);
    sy_arena_init(&scratch, 0);
    unsetenv("SYT_CFG_UNSET");
    return 0;
}

static SY_UNUSED int
teardown(void **state)
{
    (void)state;
    sy_config_free(cfg);
    cfg = NULL;
    sy_buf_free(&errs);
    sy_arena_cleanup(&scratch);
    return 0;
}

/* 's' with every ' turned into ". */
static SY_UNUSED const char *
J(const char *s)
{
    char *p = sy_arena_strdup(&scratch, s);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    return p;
}

/* printf, then J(). */
static SY_UNUSED const char *SY_PRINTF(1, 2) JF(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *p = sy_arena_alloc(&scratch, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return J(p);
}

/* Load 'text' (already converted) into cfg, errors into errs. */
static SY_UNUSED enum sy_err
load(const char *text)
{
    sy_config_free(cfg);
    cfg = NULL;
    sy_buf_clear(&errs);
    enum sy_err e = sy_config_load_string(text, strlen(text), "t", &cfg, &errs);
    if (e == SY_OK)
        assert_non_null(cfg);
    else
        assert_null(cfg);
    return e;
}

static SY_UNUSED void
load_ok(const char *text)
{
    enum sy_err e = load(text);
    if (e != SY_OK)
        fail_msg("config refused:\n%s", sy_buf_cstr(&errs));
}

static SY_UNUSED void
load_bad(const char *text)
{
    enum sy_err e = load(text);
    if (e != SY_EBADREQ)
        fail_msg("config accepted (rc %d), expected errors", (int)e);
    assert_true(errs.len > 0);
}

/* The number of error lines. */
static SY_UNUSED size_t
nlines(void)
{
    size_t n = 0;
    for (size_t i = 0; i < errs.len; i++)
        if (errs.data[i] == '\n')
            n++;
    return n;
}

/* Assert that the error text has the line 'want' (without "\n"). */
static SY_UNUSED void
has_line(const char *want)
{
    const char *t = sy_buf_cstr(&errs);
    size_t n = strlen(want);
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, want, n) == 0)
            return;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    fail_msg("missing error line:\n  %s\ngot:\n%s", want, t);
}

/* Fragments of a small valid config. */
#define PROV_LOCAL \
    "'local':{'type':'openai','base_url':'http://127.0.0.1:1','auth':'none'}"
#define DEP_D "'d':{'provider':'local','model':'m'}"
#define GRP_G "'g':{'deployments':['d']}"
#define MIN_CONFIG                                             \
    "{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "}," \
    "'groups':{" GRP_G "}}"

/* A config with 'server' section 'srv' (an object body) added. */
static SY_UNUSED const char *
with_server(const char *srv)
{
    return JF("{'server':{%s},'providers':{" PROV_LOCAL "},"
              "'deployments':{" DEP_D "},'groups':{" GRP_G "}}",
              srv);
}

/* A config with provider 'p' (body 'pbody') and deployment 'd' on it. */
static SY_UNUSED const char *
with_provider(const char *pbody)
{
    return JF("{'providers':{'p':{%s}},"
              "'deployments':{'d':{'provider':'p','model':'m'}},"
              "'groups':{" GRP_G "}}",
              pbody);
}

/* A config with deployment 'd' given by 'dbody'. */
static SY_UNUSED const char *
with_deployment(const char *dbody)
{
    return JF("{'providers':{" PROV_LOCAL "},'deployments':{'d':{%s}},"
              "'groups':{" GRP_G "}}",
              dbody);
}

/* A config with groups section body 'gbody' (deployments d and e). */
static SY_UNUSED const char *
with_groups(const char *gbody)
{
    return JF("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D ","
              "'e':{'provider':'local','model':'m2'}},'groups':{%s}}",
              gbody);
}

/* ------------------------------------------------------------------ */
/* Valid configs                                                       */

#endif
