/*
 * test_config.c - unit tests for core/config.c: valid configs and their
 * defaults, ${VAR} interpolation, API keys from the environment (and the
 * fallback to "offline" deployments without them), every error path with
 * its JSON path and hint, and the round-robin key cursor.
 *
 * Configs are written with ' for " to keep them readable (J() converts).
 * SPDX-License-Identifier: MIT
 */
#include "../../core/sy.h"
#include "../../core/config.h"
#include "../../core/mem.h"

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

static int
setup(void **state)
{
    (void)state;
    cfg = NULL;
    sy_buf_init(&errs, 1u << 20);
    sy_arena_init(&scratch, 0);
    unsetenv("SYT_CFG_UNSET");
    return 0;
}

static int
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
static const char *
J(const char *s)
{
    char *p = sy_arena_strdup(&scratch, s);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    return p;
}

/* printf, then J(). */
static const char *SY_PRINTF(1, 2)
JF(const char *fmt, ...)
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
static enum sy_err
load(const char *text)
{
    sy_config_free(cfg);
    cfg = NULL;
    sy_buf_clear(&errs);
    enum sy_err e = sy_config_load_string(text, strlen(text), "t", &cfg,
                                          &errs);
    if (e == SY_OK)
        assert_non_null(cfg);
    else
        assert_null(cfg);
    return e;
}

static void
load_ok(const char *text)
{
    enum sy_err e = load(text);
    if (e != SY_OK)
        fail_msg("config refused:\n%s", sy_buf_cstr(&errs));
}

static void
load_bad(const char *text)
{
    enum sy_err e = load(text);
    if (e != SY_EBADREQ)
        fail_msg("config accepted (rc %d), expected errors", (int)e);
    assert_true(errs.len > 0);
}

/* The number of error lines. */
static size_t
nlines(void)
{
    size_t n = 0;
    for (size_t i = 0; i < errs.len; i++)
        if (errs.data[i] == '\n')
            n++;
    return n;
}

/* Assert that the error text has the line 'want' (without "\n"). */
static void
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
#define MIN_CONFIG \
    "{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "}," \
    "'groups':{" GRP_G "}}"

/* A config with 'server' section 'srv' (an object body) added. */
static const char *
with_server(const char *srv)
{
    return JF("{'server':{%s},'providers':{" PROV_LOCAL "},"
              "'deployments':{" DEP_D "},'groups':{" GRP_G "}}",
              srv);
}

/* A config with provider 'p' (body 'pbody') and deployment 'd' on it. */
static const char *
with_provider(const char *pbody)
{
    return JF("{'providers':{'p':{%s}},"
              "'deployments':{'d':{'provider':'p','model':'m'}},"
              "'groups':{" GRP_G "}}",
              pbody);
}

/* A config with deployment 'd' given by 'dbody'. */
static const char *
with_deployment(const char *dbody)
{
    return JF("{'providers':{" PROV_LOCAL "},'deployments':{'d':{%s}},"
              "'groups':{" GRP_G "}}",
              dbody);
}

/* A config with groups section body 'gbody' (deployments d and e). */
static const char *
with_groups(const char *gbody)
{
    return JF("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D ","
              "'e':{'provider':'local','model':'m2'}},'groups':{%s}}",
              gbody);
}

/* ------------------------------------------------------------------ */
/* Valid configs                                                       */

static void
test_valid_full(void **state)
{
    (void)state;
    setenv("SYT_CFG_KEY_A", "sk-test-aaaaaaaaaaaaaaaa", 1);
    setenv("SYT_CFG_KEY_B", "sk-test-bbbbbbbbbbbbbbbb", 1);
    load_ok(J("{'$schema':'x','comment':'c',"
              "'server':{'listen':'127.0.0.1:9000','processes':3,"
              "'threads':4,'thread_stack_kb':128,'max_body_bytes':2048,"
              "'max_json_depth':10,'drain_timeout_ms':0,"
              "'log_level':'debug','trust_request_id':false},"
              "'providers':{"
              "'cloud':{'type':'openai','base_url':'https://api.x.test/v1//',"
              "'api_key_env':['SYT_CFG_KEY_A','SYT_CFG_KEY_B'],"
              "'headers':{'X-Org':'org-1','X-Two':'2'}},"
              PROV_LOCAL "},"
              "'deployments':{"
              "'c1':{'provider':'cloud','model':'gpt-x',"
              "'max_response_bytes':4096,"
              "'timeouts':{'connect_ms':100,'first_byte_ms':200,"
              "'idle_ms':300,'total_ms':400}},"
              "'l1':{'provider':'local','model':'mock'}},"
              "'groups':{'chat':{'deployments':['c1','l1'],"
              "'offline':['l1'],'strategy':'priority',"
              "'description':'d'},"
              "'local':{'deployments':['l1']}}}"));
    assert_string_equal(cfg->origin, "t");
    const struct sy_server_conf *s = &cfg->server;
    assert_string_equal(s->listen, "127.0.0.1:9000");
    assert_int_equal(s->processes, 3);
    assert_int_equal(s->threads, 4);
    assert_int_equal(s->thread_stack_kb, 128);
    assert_int_equal(s->max_body_bytes, 2048);
    assert_int_equal(s->max_json_depth, 10);
    assert_int_equal(s->drain_timeout_ms, 0);
    assert_int_equal(s->log_level, SY_LOG_DEBUG);
    assert_false(s->trust_request_id);

    assert_int_equal(cfg->nproviders, 2);
    const struct sy_provider *p = &cfg->providers[0];
    assert_string_equal(p->name, "cloud");
    assert_string_equal(p->type, "openai");
    assert_non_null(p->adapter);
    /* Trailing slashes are dropped. */
    assert_string_equal(p->base_url, "https://api.x.test/v1");
    assert_false(p->keyless);
    assert_int_equal(p->nkeys, 2);
    assert_string_equal(p->keys[0], "sk-test-aaaaaaaaaaaaaaaa");
    assert_string_equal(p->keys[1], "sk-test-bbbbbbbbbbbbbbbb");
    assert_int_equal(p->nkey_envs, 2);
    assert_string_equal(p->key_envs[0], "SYT_CFG_KEY_A");
    assert_int_equal(p->nheaders, 2);
    assert_string_equal(p->headers[0].name, "X-Org");
    assert_string_equal(p->headers[0].value, "org-1");
    assert_string_equal(p->headers[1].name, "X-Two");
    const struct sy_provider *l = &cfg->providers[1];
    assert_string_equal(l->name, "local");
    assert_true(l->keyless);
    assert_int_equal(l->nkeys, 0);

    assert_int_equal(cfg->ndeployments, 2);
    const struct sy_deployment *c1 = &cfg->deployments[0];
    const struct sy_deployment *l1 = &cfg->deployments[1];
    assert_string_equal(c1->name, "c1");
    assert_int_equal(c1->index, 0);
    assert_int_equal(l1->index, 1);
    assert_ptr_equal(c1->provider, p);
    assert_ptr_equal(l1->provider, l);
    assert_string_equal(c1->model, "gpt-x");
    assert_int_equal(c1->max_response_bytes, 4096);
    assert_int_equal(c1->timeouts.connect_ms, 100);
    assert_int_equal(c1->timeouts.first_byte_ms, 200);
    assert_int_equal(c1->timeouts.idle_ms, 300);
    assert_int_equal(c1->timeouts.total_ms, 400);
    assert_true(c1->active);
    assert_true(l1->active);

    assert_int_equal(cfg->ngroups, 2);
    const struct sy_group *g = sy_config_find_group(cfg, "chat");
    assert_non_null(g);
    assert_string_equal(g->name, "chat");
    assert_int_equal(g->ndeployments, 2);
    assert_ptr_equal(g->deployments[0], c1);
    assert_ptr_equal(g->deployments[1], l1);
    assert_int_equal(g->noffline, 1);
    /* Active deployments in order; offline ones are not added. */
    assert_int_equal(g->nroute, 2);
    assert_ptr_equal(g->route[0], c1);
    assert_ptr_equal(g->route[1], l1);
    assert_ptr_equal(sy_config_find_group(cfg, "local"), &cfg->groups[1]);
    assert_null(sy_config_find_group(cfg, "nope"));
    assert_null(sy_config_find_group(cfg, "Chat"));
    assert_int_equal(nlines(), 0);
    unsetenv("SYT_CFG_KEY_A");
    unsetenv("SYT_CFG_KEY_B");
}

static void
test_defaults(void **state)
{
    (void)state;
    load_ok(J(MIN_CONFIG));
    const struct sy_server_conf *s = &cfg->server;
    assert_null(s->listen);
    assert_int_equal(s->processes, 2);
    assert_int_equal(s->threads, 16);
    assert_int_equal(s->thread_stack_kb, 256);
    assert_int_equal(s->max_body_bytes, 4u << 20);
    assert_int_equal(s->max_json_depth, 64);
    assert_int_equal(s->drain_timeout_ms, 30000);
    assert_int_equal(s->log_level, SY_LOG_INFO);
    assert_true(s->trust_request_id);
    const struct sy_deployment *d = &cfg->deployments[0];
    assert_int_equal(d->timeouts.connect_ms, 5000);
    assert_int_equal(d->timeouts.first_byte_ms, 60000);
    assert_int_equal(d->timeouts.idle_ms, 60000);
    assert_int_equal(d->timeouts.total_ms, 600000);
    assert_int_equal(d->max_response_bytes, 8u << 20);
    assert_true(d->active);
    /* Partial timeouts: the others keep their defaults. */
    load_ok(with_deployment("'provider':'local','model':'m',"
                            "'timeouts':{'idle_ms':7}"));
    d = &cfg->deployments[0];
    assert_int_equal(d->timeouts.idle_ms, 7);
    assert_int_equal(d->timeouts.connect_ms, 5000);
    assert_int_equal(d->timeouts.total_ms, 600000);
    /* A provider with no headers. */
    assert_int_equal(cfg->providers[0].nheaders, 0);
    /* Range limits are inclusive. */
    load_ok(with_server("'processes':256,'threads':1,'max_body_bytes':1024,"
                        "'max_json_depth':4,'drain_timeout_ms':3600000"));
    assert_int_equal(cfg->server.processes, 256);
    assert_int_equal(cfg->server.max_json_depth, 4);
}

static void
test_embedded_config_loads(void **state)
{
    (void)state;
    size_t len = 0;
    const char *text = sy_config_embedded(&len);
    assert_non_null(text);
    assert_true(len > 0);
    assert_int_equal(sy_config_load_string(text, len, "<embedded>", &cfg,
                                           &errs),
                     SY_OK);
    assert_true(cfg->ngroups > 0);
    /* With or without provider keys in the environment, every group can
     * route somewhere (the offline mock at worst). */
    for (size_t i = 0; i < cfg->ngroups; i++)
        assert_true(cfg->groups[i].nroute > 0);
}

static void
test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sy-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = J(MIN_CONFIG);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(sy_config_load_file(path, &cfg, &errs), SY_OK);
    assert_string_equal(cfg->origin, path);
    sy_config_free(cfg);
    cfg = NULL;
    /* Errors name the file. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"server\":[]}", f);
    fclose(f);
    assert_int_equal(sy_config_load_file(path, &cfg, &errs), SY_EBADREQ);
    assert_null(cfg);
    char want[128];
    snprintf(want, sizeof(want), "%s: server: must be an object", path);
    assert_non_null(strstr(sy_buf_cstr(&errs), want));
    unlink(path);
    sy_buf_clear(&errs);
    assert_int_equal(sy_config_load_file(path, &cfg, &errs), SY_EBADREQ);
    assert_null(cfg);
    snprintf(want, sizeof(want), "%s: cannot open: ", path);
    assert_non_null(strstr(sy_buf_cstr(&errs), want));
}

/* ------------------------------------------------------------------ */
/* Interpolation                                                       */

static void
test_interpolation(void **state)
{
    (void)state;
    setenv("SYT_CFG_HOST", "example.test", 1);
    setenv("SYT_CFG_EMPTY", "", 1);
    setenv("SYT_CFG_LEVEL", "warn", 1);
    load_ok(J("{'server':{'listen':'${SYT_CFG_UNSET:-unix:/tmp/x.sock}',"
              "'log_level':'${SYT_CFG_LEVEL:-debug}'},"
              "'providers':{'p':{'type':'openai',"
              "'base_url':'https://${SYT_CFG_HOST}/v1','auth':'none',"
              "'headers':{'X-A':'a-${SYT_CFG_HOST:-zz}-b',"
              "'X-B':'${SYT_CFG_EMPTY:-dflt}','X-C':'[${SYT_CFG_UNSET}]',"
              "'X-D':'a$$b','X-E':'cost $5 {x}','X-F':'${SYT_CFG_UNSET:-}',"
              "'X-G':'$','X-H':'${SYT_CFG_HOST}${SYT_CFG_HOST}'}}},"
              "'deployments':{'d':{'provider':'p',"
              "'model':'${SYT_CFG_UNSET:-fallback-model}'}},"
              "'groups':{" GRP_G "}}"));
    assert_string_equal(cfg->server.listen, "unix:/tmp/x.sock");
    assert_int_equal(cfg->server.log_level, SY_LOG_WARN);
    const struct sy_provider *p = &cfg->providers[0];
    assert_string_equal(p->base_url, "https://example.test/v1");
    assert_int_equal(p->nheaders, 8);
    assert_string_equal(p->headers[0].value, "a-example.test-b");
    /* ${VAR:-d}: an empty variable takes the default, as in sh. */
    assert_string_equal(p->headers[1].value, "dflt");
    /* ${VAR} unset: empty. */
    assert_string_equal(p->headers[2].value, "[]");
    assert_string_equal(p->headers[3].value, "a$b");
    assert_string_equal(p->headers[4].value, "cost $5 {x}");
    assert_string_equal(p->headers[5].value, "");
    assert_string_equal(p->headers[6].value, "$");
    assert_string_equal(p->headers[7].value, "example.testexample.test");
    assert_string_equal(cfg->deployments[0].model, "fallback-model");
    unsetenv("SYT_CFG_HOST");
    unsetenv("SYT_CFG_EMPTY");
    unsetenv("SYT_CFG_LEVEL");
}

static void
test_interpolation_errors(void **state)
{
    (void)state;
    load_bad(with_deployment("'provider':'local','model':'x-${SYT_CFG'"));
    has_line("t: deployments.d.model: unterminated ${ in \"x-${SYT_CFG\" "
             "(hint: write ${NAME} or ${NAME:-default})");
    load_bad(with_deployment("'provider':'local','model':'${}'"));
    has_line("t: deployments.d.model: bad variable name in \"${}\" (hint: "
             "write ${NAME} or ${NAME:-default})");
    load_bad(with_deployment("'provider':'local','model':'${:-x}'"));
    has_line("t: deployments.d.model: bad variable name in \"${:-x}\" "
             "(hint: write ${NAME} or ${NAME:-default})");
    /* A base_url that only becomes bad after interpolation. */
    setenv("SYT_CFG_HOST", "ftp://h", 1);
    load_bad(with_provider("'type':'openai','base_url':'${SYT_CFG_HOST}',"
                           "'auth':'none'"));
    has_line("t: providers.p.base_url: \"ftp://h\" is not an HTTP URL "
             "(hint: use an http:// or https:// URL with a host)");
    unsetenv("SYT_CFG_HOST");
}

static void
test_provider_type_interpolated(void **state)
{
    (void)state;
    /* Every string value is interpolated, "type" included. BUG: the
     * adapter is looked up with the raw string (see helper4 report). */
    unsetenv("SYT_CFG_TYPE");
    enum sy_err e = load(with_provider("'type':'${SYT_CFG_TYPE:-openai}',"
                                       "'base_url':'http://h','auth':'none'"));
    if (e != SY_OK)
        fail_msg("type '${SYT_CFG_TYPE:-openai}' refused:\n%s",
                 sy_buf_cstr(&errs));
    assert_string_equal(cfg->providers[0].type, "openai");
    assert_non_null(cfg->providers[0].adapter);
}

/* ------------------------------------------------------------------ */
/* API keys and the offline fallback                                   */

static void
test_keys_from_environment(void **state)
{
    (void)state;
    setenv("SYT_CFG_KEY_A", "sk-aaaaaaaaaaaaaaaaaaaa", 1);
    setenv("SYT_CFG_KEY_B", "sk-bbbbbbbbbbbbbbbbbbbb", 1);
    setenv("SYT_CFG_EMPTY", "", 1);
    load_ok(with_provider("'type':'openai','base_url':'http://h',"
                          "'api_key_env':['SYT_CFG_KEY_A','SYT_CFG_UNSET',"
                          "'SYT_CFG_EMPTY','SYT_CFG_KEY_B']"));
    const struct sy_provider *p = &cfg->providers[0];
    /* Unset and empty variables give no key. */
    assert_int_equal(p->nkeys, 2);
    assert_string_equal(p->keys[0], "sk-aaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(p->keys[1], "sk-bbbbbbbbbbbbbbbbbbbb");
    assert_int_equal(p->nkey_envs, 4);
    assert_string_equal(p->key_envs[1], "SYT_CFG_UNSET");
    assert_true(cfg->deployments[0].active);
    /* The keys are copies: changing the environment later changes
     * nothing. */
    setenv("SYT_CFG_KEY_A", "changed", 1);
    assert_string_equal(p->keys[0], "sk-aaaaaaaaaaaaaaaaaaaa");
    /* A single variable name as a string. */
    load_ok(with_provider("'type':'openai','base_url':'http://h',"
                          "'api_key_env':'SYT_CFG_KEY_B'"));
    assert_int_equal(cfg->providers[0].nkeys, 1);
    assert_string_equal(cfg->providers[0].keys[0],
                        "sk-bbbbbbbbbbbbbbbbbbbb");
    /* "auth": "key" is the explicit form of the default. */
    load_ok(with_provider("'type':'openai','base_url':'http://h',"
                          "'auth':'key','api_key_env':['SYT_CFG_KEY_B']"));
    assert_false(cfg->providers[0].keyless);
    unsetenv("SYT_CFG_KEY_A");
    unsetenv("SYT_CFG_KEY_B");
    unsetenv("SYT_CFG_EMPTY");
}

/* Cloud provider keyed by SYT_CFG_KEY_C, local keyless provider; group
 * "g" falls back to the local deployment, group "h" has no fallback. */
#define OFFLINE_CONFIG                                                      \
    "{'providers':{'cloud':{'type':'openai','base_url':'https://c.test',"  \
    "'api_key_env':['SYT_CFG_KEY_C']}," PROV_LOCAL "},"                     \
    "'deployments':{'cd':{'provider':'cloud','model':'big'},"               \
    "'cd2':{'provider':'cloud','model':'big2'},"                            \
    "'ld':{'provider':'local','model':'small'}},"                           \
    "'groups':{'g':{'deployments':['cd','cd2'],'offline':['ld']},"          \
    "'h':{'deployments':['cd']},"                                           \
    "'k':{'deployments':['cd','ld'],'offline':['ld']}}}"

static void
test_missing_key_falls_back_offline(void **state)
{
    (void)state;
    unsetenv("SYT_CFG_KEY_C");
    load_ok(J(OFFLINE_CONFIG));
    const struct sy_deployment *cd = &cfg->deployments[0];
    const struct sy_deployment *cd2 = &cfg->deployments[1];
    const struct sy_deployment *ld = &cfg->deployments[2];
    /* A provider without a key loads, but its deployments are inactive. */
    assert_int_equal(cfg->providers[0].nkeys, 0);
    assert_null(sy_config_next_key(&cfg->providers[0]));
    assert_false(cd->active);
    assert_false(cd2->active);
    assert_true(ld->active);
    const struct sy_group *g = sy_config_find_group(cfg, "g");
    assert_int_equal(g->ndeployments, 2);
    assert_int_equal(g->nroute, 1);
    assert_ptr_equal(g->route[0], ld);
    /* No offline list: nothing to route to (the pipeline answers 503). */
    assert_int_equal(sy_config_find_group(cfg, "h")->nroute, 0);
    /* One active listed deployment: the offline list is not used. */
    const struct sy_group *k = sy_config_find_group(cfg, "k");
    assert_int_equal(k->nroute, 1);
    assert_ptr_equal(k->route[0], ld);

    /* With the key, the listed deployments route and offline is unused. */
    setenv("SYT_CFG_KEY_C", "sk-cccccccccccccccccccc", 1);
    load_ok(J(OFFLINE_CONFIG));
    g = sy_config_find_group(cfg, "g");
    assert_true(cfg->deployments[0].active);
    assert_int_equal(g->nroute, 2);
    assert_ptr_equal(g->route[0], &cfg->deployments[0]);
    assert_ptr_equal(g->route[1], &cfg->deployments[1]);
    assert_int_equal(sy_config_find_group(cfg, "h")->nroute, 1);
    k = sy_config_find_group(cfg, "k");
    assert_int_equal(k->nroute, 2);
    assert_ptr_equal(k->route[0], &cfg->deployments[0]);
    assert_ptr_equal(k->route[1], &cfg->deployments[2]);
    unsetenv("SYT_CFG_KEY_C");
}

static void
test_next_key_round_robin(void **state)
{
    (void)state;
    setenv("SYT_CFG_KEY_A", "key-number-aaaaaa", 1);
    setenv("SYT_CFG_KEY_B", "key-number-bbbbbb", 1);
    setenv("SYT_CFG_KEY_C", "key-number-cccccc", 1);
    load_ok(J("{'providers':{'p':{'type':'openai','base_url':'http://h',"
              "'api_key_env':['SYT_CFG_KEY_A','SYT_CFG_KEY_B',"
              "'SYT_CFG_KEY_C']},"
              "'q':{'type':'openai','base_url':'http://h',"
              "'api_key_env':['SYT_CFG_KEY_B','SYT_CFG_KEY_C']}," PROV_LOCAL
              "},'deployments':{" DEP_D "},'groups':{" GRP_G "}}"));
    const struct sy_provider *p = &cfg->providers[0];
    const struct sy_provider *q = &cfg->providers[1];
    static const char *const want[] = {"key-number-aaaaaa",
                                       "key-number-bbbbbb",
                                       "key-number-cccccc"};
    for (int i = 0; i < 9; i++) {
        assert_string_equal(sy_config_next_key(p), want[i % 3]);
        /* Each provider has its own cursor. */
        if (i % 3 == 0)
            assert_string_equal(sy_config_next_key(q),
                                want[1 + (i / 3) % 2]);
    }
    /* Keyless: NULL, every time. */
    assert_null(sy_config_next_key(&cfg->providers[2]));
    assert_null(sy_config_next_key(&cfg->providers[2]));
    /* A fresh load starts again at the first key. */
    load_ok(J("{'providers':{'p':{'type':'openai','base_url':'http://h',"
              "'api_key_env':['SYT_CFG_KEY_A','SYT_CFG_KEY_B']}," PROV_LOCAL
              "},'deployments':{" DEP_D "},'groups':{" GRP_G "}}"));
    assert_string_equal(sy_config_next_key(&cfg->providers[0]),
                        "key-number-aaaaaa");
    assert_string_equal(sy_config_next_key(&cfg->providers[0]),
                        "key-number-bbbbbb");
    assert_string_equal(sy_config_next_key(&cfg->providers[0]),
                        "key-number-aaaaaa");
    unsetenv("SYT_CFG_KEY_A");
    unsetenv("SYT_CFG_KEY_B");
    unsetenv("SYT_CFG_KEY_C");
}

/* ------------------------------------------------------------------ */
/* Error paths: each names the origin, the JSON path and a hint        */

static void
test_error_invalid_json(void **state)
{
    (void)state;
    load_bad("{\n  \"server\": {,\n}");
    has_line("t: (top level): invalid JSON at line 2 column 14: quoted "
             "object property name expected (hint: check commas, quotes "
             "and brackets near there)");
    assert_int_equal(nlines(), 1);
    load_bad("{\"a\":\n\n   tru }");
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: (top level): invalid JSON at line 3 column"));
    load_bad("{");
    has_line("t: (top level): invalid JSON at line 1 column 2: unexpected "
             "end of file (hint: check commas, quotes and brackets near "
             "there)");
    load_bad("");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: (top level): invalid "
                                               "JSON at line 1 column 1"));
    load_bad(J("{'a':1}\n  x"));
    has_line("t: (top level): unexpected text after the JSON value at line "
             "2 column 3 (hint: remove what follows the closing brace)");
    load_bad(J("[]"));
    has_line("t: (top level): must be an object, not an array (hint: "
             "write an object: {\"key\": value, ...})");
}

static void
test_error_top_level_scalars(void **state)
{
    (void)state;
    /* Valid JSON that is not an object: say so (helper4 report [16]). */
    load_bad("42\n");
    has_line("t: (top level): must be an object, not an integer (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("\"x\"");
    has_line("t: (top level): must be an object, not a string (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("42");
    has_line("t: (top level): must be an object, not an integer (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("null\n");
    has_line("t: (top level): must be an object, not null (hint: write an "
             "object: {\"key\": value, ...})");
}

static void
test_error_too_big(void **state)
{
    (void)state;
    size_t n = (4u << 20) + 1;
    char *big = sy_arena_alloc(&scratch, n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    load_bad(big);
    has_line("t: (top level): config larger than 4194304 bytes (hint: a "
             "config is a few KiB; check the file name)");
}

static void
test_error_unknown_section(void **state)
{
    (void)state;
    load_bad(J("{'servers':{},'providers':{" PROV_LOCAL "},"
               "'deployments':{" DEP_D "},'groups':{" GRP_G "}}"));
    has_line("t: servers: unknown section \"servers\" (hint: top-level "
             "sections: server, state, keys, providers, deployments, groups)");
    assert_int_equal(nlines(), 1);
}

static void
test_error_missing_sections(void **state)
{
    (void)state;
    load_bad("{}");
    has_line("t: providers: missing required section (hint: see "
             "conf/README.md)");
    has_line("t: deployments: missing required section (hint: see "
             "conf/README.md)");
    has_line("t: groups: missing required section (hint: see "
             "conf/README.md)");
    assert_int_equal(nlines(), 3);
    load_bad(J("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
               "'groups':{}}"));
    has_line("t: groups: no groups defined (hint: add a group: the model "
             "name clients ask for)");
}

static void
test_error_unknown_keys(void **state)
{
    (void)state;
    load_bad(with_server("'thread':4"));
    has_line("t: server.thread: unknown key \"thread\" (hint: known keys "
             "here: listen, processes, threads, thread_stack_kb, "
             "max_body_bytes, max_json_depth, drain_timeout_ms, log_level, "
             "trust_request_id, usage_log, admin_key_env)");
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','api_key':'sk-x'"));
    /* Adapters may add their own keys after the common ones. */
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: providers.p.api_key: unknown key \"api_key\" "
                           "(hint: known keys here: key_rpm, key_tpm, markup_pct, base_url, type, "
                           "api_key_env, headers, auth"));
    assert_int_equal(nlines(), 1);
    load_bad(with_deployment("'provider':'local','model':'m','modle':'x'"));
    has_line("t: deployments.d.modle: unknown key \"modle\" (hint: known "
             "keys here: model, max_response_bytes, weight, provider, timeouts, price, capabilities)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'connect':1}"));
    has_line("t: deployments.d.timeouts.connect: unknown key \"connect\" "
             "(hint: known keys here: connect_ms, first_byte_ms, idle_ms, "
             "total_ms)");
    load_bad(with_groups("'g':{'deployments':['d'],'fallback':['e']}"));
    has_line("t: groups.g.fallback: unknown key \"fallback\" (hint: known "
             "keys here: min_samples, explore_pct, deployments, offline, strategy, thresholds, contract, description)");
}

static void
test_error_wrong_types(void **state)
{
    (void)state;
    load_bad(with_server("'processes':'2'"));
    has_line("t: server.processes: must be an integer, not a string (hint: "
             "an integer from 1 to 256)");
    load_bad(with_server("'processes':2.5"));
    has_line("t: server.processes: must be an integer, not a number (hint: "
             "an integer from 1 to 256)");
    load_bad(with_server("'trust_request_id':1"));
    has_line("t: server.trust_request_id: must be true or false, not an "
             "integer (hint: write true or false)");
    load_bad(with_server("'listen':9000"));
    has_line("t: server.listen: must be a string, not an integer (hint: "
             "\"unix:/path/to.sock\", \"127.0.0.1:9000\" or a port)");
    load_bad(with_server("'log_level':'loud'"));
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    load_bad(with_server("'log_level':3"));
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    load_bad(J("{'server':[],'providers':{" PROV_LOCAL "},'deployments':{"
               DEP_D "},'groups':{" GRP_G "}}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: server: must be an object, not an array"));
    load_bad(J("{'providers':[],'deployments':{},'groups':{}}"));
    has_line("t: providers: must be an object, not an array (hint: an "
             "object keyed by name)");
    load_bad(J("{'providers':{'p':'openai'},'deployments':{},"
               "'groups':{}}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p: must be an "
                                               "object, not a string"));
    load_bad(with_deployment("'provider':'local','model':4"));
    has_line("t: deployments.d.model: must be a string, not an integer "
             "(hint: the provider's model id)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':5"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: deployments.d.timeouts: "
                                               "must be an object, not an "
                                               "integer"));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'total_ms':'1s'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: deployments.d.timeouts."
                                               "total_ms: must be an "
                                               "integer, not a string"));
    load_bad(with_groups("'g':{'deployments':'d'}"));
    has_line("t: groups.g.deployments: must be an array, not a string "
             "(hint: a list of deployment names)");
    load_bad(with_groups("'g':{'deployments':['d',7]}"));
    has_line("t: groups.g.deployments[1]: must be a string, not an integer "
             "(hint: a deployment name)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'api_key_env':3"));
    has_line("t: providers.p.api_key_env: must be an array, not an integer "
             "(hint: a list of environment variable names)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'api_key_env':['A',false]"));
    has_line("t: providers.p.api_key_env[1]: must be a string, not a "
             "boolean (hint: an environment variable name)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':['X-A: b']"));
    has_line("t: providers.p.headers: must be an object, not an array "
             "(hint: an object of header name to value)");
}

static void
test_error_out_of_range(void **state)
{
    (void)state;
    load_bad(with_server("'threads':0"));
    has_line("t: server.threads: value 0 out of range (hint: allowed range "
             "1..8192)");
    load_bad(with_server("'processes':257"));
    has_line("t: server.processes: value 257 out of range (hint: allowed "
             "range 1..256)");
    load_bad(with_server("'max_body_bytes':-1"));
    has_line("t: server.max_body_bytes: value -1 out of range (hint: "
             "allowed range 1024..268435456)");
    load_bad(with_server("'max_json_depth':1001"));
    has_line("t: server.max_json_depth: value 1001 out of range (hint: "
             "allowed range 4..1000)");
    load_bad(with_server("'thread_stack_kb':4294967360"));
    has_line("t: server.thread_stack_kb: value 4294967360 out of range "
             "(hint: allowed range 64..65536)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'connect_ms':0}"));
    has_line("t: deployments.d.timeouts.connect_ms: value 0 out of range "
             "(hint: allowed range 1..600000)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'total_ms':86400001}"));
    has_line("t: deployments.d.timeouts.total_ms: value 86400001 out of "
             "range (hint: allowed range 1..86400000)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'max_response_bytes':100"));
    has_line("t: deployments.d.max_response_bytes: value 100 out of range "
             "(hint: allowed range 1024..1073741824)");
    /* Beyond 64 bits: still refused. */
    load_bad(with_server("'threads':99999999999999999999999"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: server.threads: "));
}

static void
test_error_provider(void **state)
{
    (void)state;
    load_bad(with_provider("'type':'anthropix','base_url':'http://h',"
                           "'auth':'none'"));
    /* The hint lists the registered adapters, openai among them. */
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: providers.p.type: unknown provider type "
                           "\"anthropix\" (hint: known types: "));
    assert_non_null(strstr(sy_buf_cstr(&errs), "openai"));
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'ftp://h',"
                           "'auth':'none'"));
    has_line("t: providers.p.base_url: \"ftp://h\" is not an HTTP URL "
             "(hint: use an http:// or https:// URL with a host)");
    /* A scheme alone, or a URL with blanks, is not enough. */
    static const char *const bad_urls[] = {"http://", "https:///v1",
                                           "http://a b", "http://h\tx"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_urls); i++) {
        char pbody[128];
        snprintf(pbody, sizeof(pbody),
                 "'type':'openai','base_url':'%s','auth':'none'",
                 bad_urls[i]);
        load_bad(with_provider(pbody));
        assert_non_null(strstr(sy_buf_cstr(&errs),
                               "t: providers.p.base_url: "));
        assert_int_equal(nlines(), 1);
    }
    load_bad(with_provider("'type':'openai','base_url':'api.openai.com',"
                           "'auth':'none'"));
    has_line("t: providers.p.base_url: \"api.openai.com\" is not an HTTP "
             "URL (hint: use an http:// or https:// URL with a host)");
    load_bad(with_provider("'type':'openai','auth':'none'"));
    has_line("t: providers.p.base_url: missing required key (hint: e.g. "
             "\"https://api.openai.com/v1\")");
    load_bad(with_provider("'base_url':'http://h','auth':'none'"));
    has_line("t: providers.p.type: missing required key (hint: an adapter "
             "name, e.g. \"openai\")");
    load_bad(with_provider("'type':'openai','base_url':'http://h'"));
    has_line("t: providers.p: provider needs API keys (hint: add "
             "\"api_key_env\": [\"NAME_OF_VARIABLE\"], or \"auth\": "
             "\"none\" for a local provider)");
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'oauth'"));
    has_line("t: providers.p.auth: unknown auth mode \"oauth\" (hint: "
             "\"key\" or \"none\")");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':{'X A':'v'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p.headers.X A: "
                                               "invalid header name or "
                                               "value"));
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':{'X-A':'v\\r\\nX-B: "
                           "evil'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p.headers.X-A: "
                                               "invalid header name or "
                                               "value"));
    load_bad(J("{'providers':{'bad name':{}},'deployments':{},"
               "'groups':{}}"));
    has_line("t: providers.bad name: invalid name \"bad name\" (hint: use "
             "letters, digits and - _ . / : @)");
}

static void
test_error_deployment(void **state)
{
    (void)state;
    load_bad(J("{'providers':{" PROV_LOCAL ",'other':{'type':'openai',"
               "'base_url':'http://o','auth':'none'}},"
               "'deployments':{'d':{'provider':'nope','model':'m'}},"
               "'groups':{" GRP_G "}}"));
    has_line("t: deployments.d.provider: unknown provider \"nope\" (hint: "
             "defined providers: local, other)");
    load_bad(with_deployment("'model':'m'"));
    has_line("t: deployments.d.provider: missing required key (hint: the "
             "name of a provider)");
    load_bad(with_deployment("'provider':'local'"));
    has_line("t: deployments.d.model: missing required key (hint: the "
             "provider's model id)");
}

static void
test_error_groups(void **state)
{
    (void)state;
    load_bad(with_groups("'g':{'deployments':['d','zz']}"));
    has_line("t: groups.g.deployments[1]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':['d'],'offline':['yy']}"));
    has_line("t: groups.g.offline[0]: unknown deployment \"yy\" (hint: "
             "name a key of \"deployments\")");
    /* The same deployment twice in one list. */
    load_bad(with_groups("'g':{'deployments':['d','e','d']}"));
    has_line("t: groups.g.deployments[2]: deployment \"d\" listed twice "
             "(hint: list each deployment once)");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':[]}"));
    has_line("t: groups.g: group has no deployments (hint: list at least "
             "one deployment)");
    load_bad(with_groups("'g':{'offline':[]}"));
    has_line("t: groups.g.deployments: missing required key (hint: a list "
             "of deployment names, tried in order)");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':[],'offline':[]}"));
    has_line("t: groups.g: group has no deployments (hint: list at least "
             "one deployment)");
    assert_int_equal(nlines(), 1);
    /* An unknown name is one error, not also "no deployments". */
    load_bad(with_groups("'g':{'deployments':['zz']}"));
    has_line("t: groups.g.deployments[0]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':['d'],'strategy':'random'}"));
    has_line("t: groups.g.strategy: unknown strategy \"random\" (hint: "
             "one of priority, latency, cost, weighted)");

    /* Only offline deployments is a valid group. */
    load_ok(with_groups("'g':{'deployments':[],'offline':['d']}"));
    assert_int_equal(sy_config_find_group(cfg, "g")->nroute, 1);
}

static void
test_error_many_at_once(void **state)
{
    (void)state;
    load_bad(J("{'bogus':1,"
               "'server':{'threads':0,'log_level':'x','extra':1},"
               "'providers':{'p':{'type':'nope','base_url':'gopher://h'}},"
               "'deployments':{'d':{'provider':'q','model':'m'},"
               "'e':{'provider':'p'}},"
               "'groups':{'g':{'deployments':['zz']},'h':{'deployments':"
               "['e','e']}}}"));
    has_line("t: bogus: unknown section \"bogus\" (hint: top-level "
             "sections: server, state, keys, providers, deployments, groups)");
    has_line("t: server.threads: value 0 out of range (hint: allowed range "
             "1..8192)");
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: server.extra: unknown "
                                               "key"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: providers.p.type: unknown provider type "
                           "\"nope\" (hint: known types: "));
    has_line("t: providers.p.base_url: \"gopher://h\" is not an HTTP URL "
             "(hint: use an http:// or https:// URL with a host)");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p: provider "
                                               "needs API keys"));
    has_line("t: deployments.d.provider: unknown provider \"q\" (hint: "
             "defined providers: p)");
    has_line("t: deployments.e.model: missing required key (hint: the "
             "provider's model id)");
    has_line("t: groups.g.deployments[0]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: groups.h.deployments[1]: "
                                               "deployment \"e\" listed "
                                               "twice"));
    assert_true(nlines() >= 11);
    /* Without an error buffer: still refused, nothing to crash on. */
    struct sy_config *c = (struct sy_config *)1;
    const char *text = J("{'bogus':1}");
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &c,
                                           NULL),
                     SY_EBADREQ);
    assert_null(c);
}

/* Every error line must be "origin: path: message (hint: ...)". The
 * configs below hit the error paths that once had no hint (helper4
 * report); the test lists every offending line. */
static void
test_every_error_has_a_hint(void **state)
{
    (void)state;
    const char *bad[] = {
        J("{'a':1} x"),
        J("[]"),
        with_server("'processes':'2'"),
        with_server("'processes':2.5"),
        with_server("'trust_request_id':1"),
        J("{'server':[],'providers':{" PROV_LOCAL "},'deployments':{" DEP_D
          "},'groups':{" GRP_G "}}"),
        J("{'providers':{'p':'openai'},'deployments':{},'groups':{}}"),
        with_deployment("'provider':'local','model':'${}'"),
        with_deployment("'provider':3,'model':'m'"),
        with_deployment("'provider':'local','model':'m','timeouts':5"),
        with_provider("'type':'openai','base_url':'http://h','auth':'none',"
                      "'headers':{'X A':'v'}"),
        with_provider("'type':'openai','base_url':'http://h','auth':'none',"
                      "'headers':{'X-A':1}"),
        with_groups("'g':{'deployments':['d','d']}"),
        with_groups("'g':{'deployments':['d'],'strategy':1}"),
    };
    struct sy_buf missing;
    sy_buf_init(&missing, 1u << 16);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        load_bad(bad[i]);
        const char *t = sy_buf_cstr(&errs);
        for (const char *p = t; *p;) {
            const char *nl = strchr(p, '\n');
            assert_non_null(nl);
            /* "t: <path>: <message>" */
            const char *path = p + 3;
            const char *colon = strstr(path, ": ");
            assert_true(strncmp(p, "t: ", 3) == 0);
            assert_true(colon != NULL && colon < nl && colon > path);
            const char *hint = strstr(p, " (hint: ");
            if (hint == NULL || hint > nl)
                sy_buf_printf(&missing, "  %.*s\n", (int)(nl - p), p);
            p = nl + 1;
        }
    }
    if (missing.len > 0) {
        print_error("error lines without a hint:\n%s", missing.data);
        sy_buf_free(&missing);
        fail();
    }
    sy_buf_free(&missing);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_valid_full),
        T(test_defaults),
        T(test_embedded_config_loads),
        T(test_load_file),
        T(test_interpolation),
        T(test_interpolation_errors),
        T(test_provider_type_interpolated),
        T(test_keys_from_environment),
        T(test_missing_key_falls_back_offline),
        T(test_next_key_round_robin),
        T(test_error_invalid_json),
        T(test_error_top_level_scalars),
        T(test_error_too_big),
        T(test_error_unknown_section),
        T(test_error_missing_sections),
        T(test_error_unknown_keys),
        T(test_error_wrong_types),
        T(test_error_out_of_range),
        T(test_error_provider),
        T(test_error_deployment),
        T(test_error_groups),
        T(test_error_many_at_once),
        T(test_every_error_has_a_hint),
#undef T
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
