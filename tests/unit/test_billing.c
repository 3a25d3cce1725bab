/*
 * test_billing.c - hostile callers cannot outspend a budget or a limit
 * (issue 10, items 5 and 6): caller numbers are bounded before any
 * arithmetic; billed request fields (n > 1, service_tier, store, paid
 * search, aggregator routing...) exclude deployments that do not allow
 * them; the worst-case budget reservation multiplies by n and counts
 * images; and a limit script that fails in Redis refuses the request
 * instead of falling back as if Redis were down. The Redis parts run
 * against a real redis-server (redis_harness.h).
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/budget.h"
#include "api/caps.h"
#include "api/chat.h"
#include "config/config.h"
#include "config/cost.h"
#include "serve/pipeline_int.h"
#include "state/quota.h"
#include "state/park_cache.h"
#include "state/keys.h"
#include "base/clock.h"
#include "state/ratelimit.h"
#include "api/req.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct redis_srv srv;
static struct sy_arena arena;
static struct sy_chat_req req;
static struct sy_chat_error perr;

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_billing");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    sy_arena_init(&arena, 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sy_arena_cleanup(&arena);
    return 0;
}

#define MSG "'messages':[{'role':'user','content':'Say hello.'}]"

/* 's' with every ' turned into ", in the arena. */
static const char *
J(const char *s)
{
    char *p = sy_arena_strdup(&arena, s);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    return p;
}

static enum sy_err
parse(const char *body)
{
    const char *b = J(body);
    return sy_chat_req_parse(b, strlen(b), 64, &arena, &req, &perr);
}

static void
refused(const char *body, const char *param)
{
    enum sy_err e = parse(body);
    if (e != SY_EBADREQ || perr.param == NULL || strcmp(perr.param, param) != 0)
        fail_msg("expected a 400 naming '%s', got %s (%s: %s)\n  body: %s",
                 param, sy_err_name(e), perr.param ? perr.param : "-",
                 perr.message, J(body));
}

/* ------------------------------------------------------------------ */
/* Caller numbers are bounded before arithmetic                        */

static void
test_numbers_bounded(void **state)
{
    (void)state;
    refused("{'model':'m'," MSG ",'max_tokens':9223372036854775807}",
            "max_tokens");
    refused("{'model':'m'," MSG ",'max_tokens':18446744073709551615}",
            "max_tokens");
    refused("{'model':'m'," MSG ",'max_tokens':99999999999999999999999}",
            "max_tokens");
    refused("{'model':'m'," MSG ",'max_tokens':10000001}", "max_tokens");
    refused("{'model':'m'," MSG ",'max_completion_tokens':"
            "9223372036854775807}",
            "max_completion_tokens");
    refused("{'model':'m'," MSG ",'max_tokens':-9223372036854775808}",
            "max_tokens");
    refused("{'model':'m'," MSG ",'n':9223372036854775807}", "n");
    refused("{'model':'m'," MSG ",'n':129}", "n");
    refused("{'model':'m'," MSG ",'top_logprobs':21}", "top_logprobs");
    refused("{'model':'m'," MSG ",'presence_penalty':2.5}", "presence_penalty");
    refused("{'model':'m'," MSG ",'frequency_penalty':-3}",
            "frequency_penalty");
    assert_int_equal(parse("{'model':'m'," MSG ",'max_tokens':10000000,"
                           "'n':128,'top_logprobs':20}"),
                     SY_OK);
    assert_int_equal(req.max_tokens, 10000000);
}

/* ------------------------------------------------------------------ */
/* Billed fields                                                       */

static struct sy_needs
needs_of(const char *body)
{
    assert_int_equal(parse(body), SY_OK);
    struct sy_needs n;
    sy_chat_req_needs(&req, &n);
    return n;
}

static void
test_billed_fields(void **state)
{
    (void)state;
    struct sy_caps c;
    sy_caps_defaults("openai", "gpt-4o", 0x7f, &c);
    char why[160];

    /* Harmless values of billed fields are not a use. */
    struct sy_needs n = needs_of("{'model':'m'," MSG ",'n':1,'store':false,"
                                 "'modalities':['text'],'enable_search':"
                                 "false,'foo':1}");
    assert_int_equal(n.fields, 0);
    assert_int_equal(n.choices, 1);
    assert_null(sy_caps_check(&c, &n, why, sizeof(why)));

    static const char *const used[] = { "'n':4",
                                        "'service_tier':'priority'",
                                        "'store':true",
                                        "'web_search_options':{}",
                                        "'audio':{'voice':'alloy'}",
                                        "'modalities':['text','audio']",
                                        "'prediction':{'type':'content'}",
                                        "'models':['a/b']",
                                        "'plugins':[{'id':'web'}]",
                                        "'provider':{'sort':'price'}",
                                        "'route':'fallback'",
                                        "'transforms':['middle-out']",
                                        "'enable_search':true",
                                        "'vl_high_resolution_images':true",
                                        "'store':'yes'" };
    for (size_t i = 0; i < SY_ARRAY_LEN(used); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{'model':'m'," MSG ",%s}", used[i]);
        n = needs_of(body);
        if (n.fields == 0)
            fail_msg("%s is not seen as billed", used[i]);
        const char *w = sy_caps_check(&c, &n, why, sizeof(why));
        if (w == NULL || strstr(w, "allow_fields") == NULL)
            fail_msg("%s: a deployment without allow_fields serves it",
                     used[i]);
        const char *f = sy_caps_refused_field(&c, &n);
        assert_non_null(f);
        if (strncmp(used[i] + 1, f, strlen(f)) != 0)
            fail_msg("%s: refused field named '%s'", used[i], f);
        /* Allowed on the deployment: served. */
        struct sy_caps ok = c;
        ok.allow_fields = n.fields;
        assert_null(sy_caps_check(&ok, &n, why, sizeof(why)));
    }
    n = needs_of("{'model':'m'," MSG ",'n':4}");
    assert_int_equal(n.choices, 4);
    assert_int_equal(n.fields, SY_FIELD_N);
}

static struct sy_config *
load_cfg(const char *deployment, const char *provider_extra,
         struct sy_buf *errs)
{
    const char *text = J(sy_arena_printf(
        &arena,
        "{'providers':{'p':{'type':'openai','base_url':'http://127.0.0.1:1',"
        "'auth':'none'%s}},'deployments':{'d':{'provider':'p',"
        "'model':'gpt-4o'%s}},'groups':{'g':{'deployments':['d']}}}",
        provider_extra, deployment));
    struct sy_config *cfg = NULL;
    sy_buf_clear(errs);
    sy_config_load_string(text, strlen(text), "t", &cfg, errs);
    return cfg;
}

static void
test_config_allow_fields(void **state)
{
    (void)state;
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    struct sy_config *cfg =
        load_cfg(",'allow_fields':['n','service_tier'],'capabilities':"
                 "{'image_tokens':2000}",
                 "", &errs);
    assert_non_null(cfg);
    const struct sy_caps *c = &cfg->deployments[0].caps;
    assert_int_equal(c->allow_fields, SY_FIELD_N | (1u << 1));
    assert_int_equal(c->image_tokens, 2000);
    sy_config_free(cfg);
    /* Defaults: nothing allowed; gpt-4o's image figure. */
    cfg = load_cfg("", "", &errs);
    assert_non_null(cfg);
    assert_int_equal(cfg->deployments[0].caps.allow_fields, 0);
    assert_int_equal(cfg->deployments[0].caps.image_tokens, 1445);
    sy_config_free(cfg);
    /* A field that needs no permission, or a billed field smuggled in
     * through the provider's quirks.forward: refused at load. */
    assert_null(load_cfg(",'allow_fields':['temperature']", "", &errs));
    assert_non_null(strstr(sy_buf_cstr(&errs), "not a billed field"));
    assert_null(load_cfg("", ",'quirks':{'forward':['store']}", &errs));
    assert_non_null(strstr(sy_buf_cstr(&errs), "allow_fields instead"));
    cfg = load_cfg("", ",'quirks':{'forward':['x_custom']}", &errs);
    assert_non_null(cfg);
    sy_config_free(cfg);
    sy_buf_free(&errs);
}

/* ------------------------------------------------------------------ */
/* The worst-case reservation                                          */

static const struct sy_price gpt4o = { 2.5, 10.0, 1.25, 0.0, 0.0 };

struct fixture {
    struct sy_provider prov;
    struct sy_deployment dep;
    const struct sy_deployment *route[1];
    struct sy_group g;
    struct sy_req r;
    struct pctx c;
};

/* A group of one gpt-4o deployment (allowing 'allow'), and request
 * 'body' parsed into the pipeline's context. */
static void
fixture(struct fixture *f, const char *body, uint32_t allow)
{
    memset(f, 0, sizeof(*f));
    f->prov.name = "openai";
    f->prov.type = "openai";
    f->dep.name = "gpt4o";
    f->dep.provider = &f->prov;
    f->dep.model = "gpt-4o";
    f->dep.price = gpt4o;
    sy_caps_defaults("openai", "gpt-4o", 0x7f, &f->dep.caps);
    f->dep.caps.allow_fields = allow;
    f->route[0] = &f->dep;
    f->g.name = "g";
    f->g.route = f->route;
    f->g.nroute = 1;
    const char *b = J(body);
    f->r.body = b;
    f->r.body_len = strlen(b);
    f->c.r = &f->r;
    assert_int_equal(
        sy_chat_req_parse(b, strlen(b), 64, &arena, &f->c.chat, &perr), SY_OK);
}

static int64_t
worst(const char *body, uint32_t allow, size_t *body_len)
{
    struct fixture f;
    fixture(&f, body, allow);
    if (body_len != NULL)
        *body_len = f.r.body_len;
    return sy_pipeline_worst_case_cost(&f.c, &f.g);
}

static void
test_reservation_multiplies_n(void **state)
{
    (void)state;
    size_t l1, l4;
    int64_t one =
        worst("{'model':'m'," MSG ",'max_tokens':1000,'n':1}", 0, &l1);
    int64_t four =
        worst("{'model':'m'," MSG ",'max_tokens':1000,'n':4}", SY_FIELD_N, &l4);
    /* Every prompt byte a token at the input price, plus max_tokens at
     * the output price for each choice. */
    assert_int_equal(
        one, sy_cost_worst_case_micro_usd(&gpt4o, (int64_t)l1 + 1, 1000, 0));
    assert_int_equal(
        four, sy_cost_worst_case_micro_usd(&gpt4o, (int64_t)l4 + 1, 4000, 0));
    assert_true(four - (int64_t)(l4 + 1) * 25 / 10 >=
                4 * (one - (int64_t)(l1 + 1) * 25 / 10) - 4);
    /* No max_tokens: the deployment's output limit (16,384 for gpt-4o),
     * per choice. */
    size_t l;
    int64_t dflt = worst("{'model':'m'," MSG ",'n':2}", SY_FIELD_N, &l);
    assert_int_equal(dflt, sy_cost_worst_case_micro_usd(&gpt4o, (int64_t)l + 1,
                                                        2 * 16384, 0));
}

static void
test_reservation_counts_images(void **state)
{
    (void)state;
    /* Three image URLs, one of them 20 KB of base64: each image at
     * gpt-4o's largest high-detail figure (1,445 tokens), the base64
     * bytes not as text. */
    char *big = sy_arena_zalloc(&arena, 20001);
    memset(big, 'A', 20000);
    const char *body = sy_arena_printf(
        &arena,
        "{'model':'m','max_tokens':10,'messages':[{'role':'user','content':"
        "[{'type':'text','text':'What is in these?'},"
        "{'type':'image_url','image_url':{'url':'https://x/1.png'}},"
        "{'type':'image_url','image_url':{'url':'https://x/2.png'}},"
        "{'type':'image_url','image_url':{'url':'data:image/png;base64,%s'}}"
        "]}]}",
        big);
    size_t len;
    int64_t cost = worst(body, 0, &len);
    size_t urls = strlen("https://x/1.png") * 2 +
                  strlen("data:image/png;base64,") + 20000;
    int64_t in = (int64_t)(len - urls) + 1 + 3 * 1445;
    assert_int_equal(cost, sy_cost_worst_case_micro_usd(&gpt4o, in, 10, 0));
    struct sy_needs n;
    sy_chat_req_needs(&req, &n);
}

/* A document is billed per page (text and an image of each), and a
 * page can take under 100 bytes: a request with a file part reserves
 * the deployment's context window (gpt-4o: 128,000) of prompt, not its
 * bytes; the same body without it reserves its bytes. */
static void
test_reservation_counts_documents(void **state)
{
    (void)state;
    static const char *const doc =
        "{'model':'m','max_tokens':10,'messages':[{'role':'user','content':"
        "[{'type':'text','text':'Summarise.'},"
        "{'type':'file','file':{'filename':'a.pdf','file_data':"
        "'data:application/pdf;base64,JVBERi0xLjQK'}}]}]}";
    int64_t with = worst(doc, 0, NULL);
    assert_int_equal(with, sy_cost_worst_case_micro_usd(&gpt4o, 128000, 10, 0));
    /* A PDF in an image_url data: URL (Gemini takes any inline data), a
     * video, a part type the gateway does not know: the same. */
    static const char *const others[] = {
        "{'type':'image_url','image_url':{'url':"
        "'data:application/pdf;base64,JVBERi0xLjQK'}}",
        "{'type':'video_url','video_url':{'url':'https://x/v.mp4'}}",
        "{'type':'document_url','document_url':'https://x/d.pdf'}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(others); i++)
        assert_int_equal(
            worst(sy_arena_printf(&arena,
                                  "{'model':'m','max_tokens':10,'messages':"
                                  "[{'role':'user','content':[%s]}]}",
                                  others[i]),
                  0, NULL),
            sy_cost_worst_case_micro_usd(&gpt4o, 128000, 10, 0));
    size_t len;
    int64_t without = worst("{'model':'m','max_tokens':10,'messages':[{'role':"
                            "'user','content':[{'type':'text','text':"
                            "'Summarise.'}]}]}",
                            0, &len);
    assert_int_equal(
        without, sy_cost_worst_case_micro_usd(&gpt4o, (int64_t)len + 1, 10, 0));
}

/* The attack: a 0.50 USD budget, requests asking for many
 * choices. Every admitted request then costs its worst case; the spend
 * never passes the budget (before: one request reserved for a single
 * choice and took the budget to 1.29 USD). */
static void
test_budget_not_overshot(void **state)
{
    (void)state;
    const int64_t budget = 500000; /* micro-USD */
    struct sy_budget_local b;
    sy_budget_local_init(&b);
    struct sy_budget_result res;
    size_t len;
    int64_t w128 = worst("{'model':'m'," MSG ",'max_tokens':1000,'n':128}",
                         SY_FIELD_N, &len);
    assert_true(w128 > 128 * 1000 * 10); /* > 1.28 USD */
    sy_budget_local_reserve(&b, budget, w128, 0, 1000, &res);
    assert_false(res.allowed);

    /* n = 4: admitted until the budget is used up, and each admitted
     * request is billed the most it can cost. */
    int64_t w4 = worst("{'model':'m'," MSG ",'max_tokens':1000,'n':4}",
                       SY_FIELD_N, &len);
    struct sy_usage u = { .present = true,
                          .prompt_tokens = (int64_t)len + 1,
                          .completion_tokens = 4000 };
    int64_t real = sy_cost_micro_usd(&gpt4o, &u, 0);
    assert_true(real <= w4);
    unsigned admitted = 0;
    for (int i = 0; i < 100; i++) {
        sy_budget_local_reserve(&b, budget, w4, 0, 1000, &res);
        if (!res.allowed)
            continue;
        admitted++;
        sy_budget_local_settle(&b, res.id, real, 1000, &res);
    }
    assert_true(admitted >= 10);
    assert_true(b.spent <= budget);
    assert_true(b.spent > budget - w4);
    sy_budget_local_cleanup(&b);
}

/* ------------------------------------------------------------------ */
/* A script error is a refusal, not "Redis down"                       */

static uint64_t
redis_window(struct sy_store *s)
{
    uint64_t now;
    assert_int_equal(sy_store_time_ms(s, &now), SY_OK);
    return now / SY_QUOTA_WINDOW_MS;
}

static void
test_script_error_refuses(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    /* Counters that are not numbers make the script fail. */
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "SET",
                                       "t:rl:{x:tpm}:28333334", "abc", NULL),
                     SY_OK);
    struct sy_ratelimit_item it = { "x:tpm", 50, 10 };
    struct sy_ratelimit_result r;
    assert_int_equal(
        sy_ratelimit_reserve(s, &it, 1, 60000, UINT64_C(1700000040000), &r),
        SY_EINTERNAL);
    assert_true(sy_store_is_up(s)); /* not counted as an outage */

    /* Through the quota layer: a configured key (which has local windows
     * to fall back on) and a virtual key (which has none): both refused,
     * flagged as a failed check. */
    struct sy_caller_key keys[1] = { { .name = "ck", .limits = { 0, 50 } } };
    struct sy_caller_key vk = { .name = "vk", .limits = { 0, 50 } };
    struct sy_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.keys = keys;
    cfg.nkeys = 1;
    cfg.state.cluster_workers = 1;
    struct sy_quota *q = sy_quota_new(&cfg);
    uint64_t wid = redis_window(s);
    for (uint64_t w = wid; w <= wid + 1; w++) {
        char k1[64], k2[64];
        snprintf(k1, sizeof(k1), "t:rl:{ck:ck:tpm}:%llu",
                 (unsigned long long)w);
        snprintf(k2, sizeof(k2), "t:rl:{ck:vk:tpm}:%llu",
                 (unsigned long long)w);
        assert_int_equal(
            sy_store_commandl(s, NULL, NULL, "SET", k1, "abc", NULL), SY_OK);
        assert_int_equal(
            sy_store_commandl(s, NULL, NULL, "SET", k2, "abc", NULL), SY_OK);
    }
    const struct sy_caller_key *who[2] = { &keys[0], &vk };
    for (size_t i = 0; i < 2; i++) {
        struct sy_reservation res;
        memset(&r, 0, sizeof(r));
        sy_quota_caller(q, s, who[i], 10, &res, &r);
        if (r.allowed)
            fail_msg("%s: a failed limit script let the request through",
                     who[i]->name);
        assert_true(r.failed);
    }

    /* The budget script too: SY_EINTERNAL, which fail_open ignores. */
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "HSET",
                                       "t:budget:{bk}:total", "spent", "abc",
                                       NULL),
                     SY_OK);
    struct sy_budget_result br;
    assert_int_equal(sy_budget_reserve(s, "bk", "total", 500000, 10, 0, 0, &br),
                     SY_EINTERNAL);
    /* A Redis that cannot run scripts now (out of memory) is
     * unavailable, not a script error: rate limits fall back to the local
     * windows as for a lost connection. */
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "CONFIG", "SET",
                                       "maxmemory", "1", NULL),
                     SY_OK);
    struct sy_ratelimit_item fresh = { "oom:tpm", 50, 10 };
    enum sy_err oe = sy_ratelimit_reserve(s, &fresh, 1, 60000, 0, &r);
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "CONFIG", "SET",
                                       "maxmemory", "0", NULL),
                     SY_OK);
    assert_int_equal(oe, SY_ESTORE);
    sy_quota_free(q);
    sy_store_free(s);
}

/* A 429 parks a provider's only key, cluster-wide: until the park ends
 * no key can be had, with the wait left; a key of a provider with two
 * stays usable while the other waits; a keyless provider (no key of
 * ours, no quota of ours) is never parked. */
static void
test_provider_park(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    static const char *one_key[1] = { "sk-one" };
    static const char *two_keys[2] = { "sk-a", "sk-b" };
    atomic_uint cur[3];
    struct sy_provider prov[3];
    memset(prov, 0, sizeof(prov));
    const char *names[3] = { "park-keyless", "park-one", "park-two" };
    for (size_t i = 0; i < 3; i++) {
        atomic_init(&cur[i], 0u);
        prov[i].name = names[i];
        prov[i].key_cursor = &cur[i];
    }
    prov[0].keyless = true;
    prov[1].keys = one_key;
    prov[1].nkeys = 1;
    prov[2].keys = two_keys;
    prov[2].nkeys = 2;
    struct sy_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.providers = prov;
    cfg.nproviders = 3;
    cfg.state.cluster_workers = 1;
    struct sy_quota *q = sy_quota_new(&cfg);
    struct sy_reservation r;
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(sy_quota_provider_key(q, s, &prov[i], 10, &r), 0);

    sy_quota_park(q, s, &prov[0], 0, 2000);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), 0);
    /* An only key waits on the provider's own hint only: a 429 without
     * one may be one request's. */
    sy_quota_park(q, s, &prov[1], 0, 0);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[1], 10, &r), 0);
    sy_quota_park(q, s, &prov[1], 0, 2000);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[1], 10, &r), -1);
    assert_in_range(r.wait_ms, 1500, 2000);
    /* The park is the cluster's: a process that did not see the 429 (a
     * quota of its own) waits too. */
    struct sy_quota *other = sy_quota_new(&cfg);
    assert_int_equal(sy_quota_provider_key(other, s, &prov[1], 10, &r), -1);
    assert_in_range(r.wait_ms, 1500, 2000);
    sy_quota_free(other);
    /* Two keys: the other one is used while the first waits (1 s
     * without a hint); no park is longer than a minute. */
    sy_quota_park(q, s, &prov[2], 0, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sy_quota_provider_key(q, s, &prov[2], 10, &r), 1);
    sy_quota_park(q, s, &prov[2], 1, 3600000);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[2], 10, &r), -1);
    assert_in_range(r.wait_ms, 900, 1000); /* key 1's park: key 2's is
                                              longer */
    sy_quota_park(q, s, &prov[2], 0, 3600000);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[2], 10, &r), -1);
    assert_in_range(r.wait_ms, 59000, SY_QUOTA_PARK_MAX_MS);
    /* A park is never shortened, and it ends. */
    sy_quota_park(q, s, &prov[1], 0, 1);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[1], 10, &r), -1);
    usleep(2100 * 1000);
    for (size_t i = 0; i < 2; i++)
        assert_true(sy_quota_provider_key(q, s, &prov[i], 10, &r) >= 0);
    sy_quota_free(q);
    sy_store_free(s);
}

/* Scripts Redis has run so far (EVAL and EVALSHA calls). */
static long long
script_calls(struct sy_store *s)
{
    struct sy_arena a;
    sy_arena_init(&a, 1u << 16);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "INFO", "commandstats", NULL),
                     SY_OK);
    long long n = 0;
    for (const char *c = v->str; (c = strstr(c, "cmdstat_eval")) != NULL; c++) {
        const char *k = strstr(c, "calls=");
        if (k != NULL)
            n += strtoll(k + 6, NULL, 10);
    }
    sy_arena_cleanup(&a);
    return n;
}

/* Read the cluster's parks into the table, as the state thread does. */
static void
park_cache_read(struct sy_store *s, const struct sy_config *cfg, size_t want)
{
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1u << 16);
    struct sy_arena a;
    sy_arena_init(&a, 1u << 16);
    assert_int_equal(sy_park_cache_flush(&b, sy_store_prefix(s), cfg), want);
    struct sy_store_val *r = NULL;
    assert_int_equal(sy_store_exec(s, &b, &a, &r), SY_OK);
    sy_park_cache_flush_done(cfg, r, want, sy_now_ms());
    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&b);
}

/* A key with no limits of its own: with the state thread's table of
 * parks fresh, picking it runs no script in Redis; the cluster's park
 * (made by another process) and this process's own both hold it; a
 * stale table asks Redis as before. */
static void
test_park_cache(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    static const char *one_key[1] = { "sk-cache" };
    atomic_uint cur;
    atomic_init(&cur, 0u);
    static const char *two_keys[2] = { "sk-c1", "sk-c2" };
    atomic_uint cur2;
    atomic_init(&cur2, 0u);
    struct sy_provider prov[3];
    memset(prov, 0, sizeof(prov));
    prov[0].name = "pc-free";
    prov[0].keys = one_key;
    prov[0].nkeys = 1;
    prov[0].key_cursor = &cur;
    prov[1] = prov[0];
    prov[1].name = "pc-limited"; /* limits of its own: not covered */
    prov[1].key_limits.rpm = 1000;
    prov[2].name = "pc-two";
    prov[2].keys = two_keys;
    prov[2].nkeys = 2;
    prov[2].key_cursor = &cur2;
    struct sy_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.providers = prov;
    cfg.nproviders = 3;
    cfg.state.cluster_workers = 1;
    cfg.state.refresh_ms = 200;
    assert_true(sy_park_cache_covers(&prov[0]));
    assert_false(sy_park_cache_covers(&prov[1]));
    struct sy_quota *q = sy_quota_new(&cfg);
    struct sy_reservation r;
    sy_park_cache_flush_done(&cfg, NULL, 0, sy_now_ms()); /* stale */

    /* Another process parks the key in Redis. */
    char limit[200];
    sy_key_limit_provider(limit, sizeof(limit), "pc-free", 0, SY_KEY_RPM);
    assert_int_equal(sy_ratelimit_park(s, limit, 3000), SY_OK);
    park_cache_read(s, &cfg, 3);
    long long calls = script_calls(s);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), -1);
        assert_in_range(r.wait_ms, 2000, 3000);
    }
    assert_int_equal(script_calls(s), calls);
    /* The park ends in the cluster: usable from the next read on. */
    char key[SY_KEY_MAX];
    sy_key_ratelimit_park(key, sizeof(key), sy_store_prefix(s), limit);
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "DEL", key, NULL), SY_OK);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), -1);
    park_cache_read(s, &cfg, 3);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), 0);
    assert_int_equal(script_calls(s), calls);
    /* Each reply goes to its own key: the second key of the second
     * covered provider parked, its first serves every pick. */
    char limit2[200];
    sy_key_limit_provider(limit2, sizeof(limit2), "pc-two", 1, SY_KEY_RPM);
    assert_int_equal(sy_ratelimit_park(s, limit2, 3000), SY_OK);
    park_cache_read(s, &cfg, 3);
    calls = script_calls(s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sy_quota_provider_key(q, s, &prov[2], 10, &r), 0);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), 0);
    assert_int_equal(script_calls(s), calls);
    /* This process's own 429 holds it at once, before any read. */
    sy_quota_park(q, s, &prov[0], 0, 2000);
    calls = script_calls(s);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), -1);
    assert_in_range(r.wait_ms, 1500, 2000);
    assert_int_equal(script_calls(s), calls);
    /* A key with limits is reserved in Redis as before; a limit the
     * script cannot check is no rate limit (check_failed, no wait). */
    assert_int_equal(sy_quota_provider_key(q, s, &prov[1], 10, &r), 0);
    sy_quota_settle(q, s, &r, 10);
    assert_true(script_calls(s) > calls);
    char lim1[200], wkey[SY_KEY_MAX];
    sy_key_limit_provider(lim1, sizeof(lim1), "pc-limited", 0, SY_KEY_RPM);
    uint64_t wid = redis_window(s);
    for (uint64_t w = wid; w <= wid + 1; w++) {
        sy_key_ratelimit_window(wkey, sizeof(wkey), sy_store_prefix(s), lim1,
                                w);
        assert_int_equal(
            sy_store_commandl(s, NULL, NULL, "SET", wkey, "abc", NULL), SY_OK);
    }
    assert_int_equal(sy_quota_provider_key(q, s, &prov[1], 10, &r), -1);
    assert_true(r.check_failed);
    assert_int_equal(r.wait_ms, 0);
    /* A stale table: Redis is asked again. */
    sy_park_cache_flush_done(&cfg, NULL, 0, sy_now_ms());
    calls = script_calls(s);
    assert_int_equal(sy_quota_provider_key(q, s, &prov[0], 10, &r), -1);
    assert_true(script_calls(s) > calls);
    sy_quota_free(q);
    sy_store_free(s);
}

/* A virtual key with 50 tokens a minute, requests with a huge token
 * estimate (as max_tokens 2^63-1 gave before the parser bounded it):
 * before, the script failed on the number, the failure counted as
 * "Redis down" and a virtual key has no local window, so all 30 went
 * through (30,000 tokens). Now the first fills the window alone and the
 * rest wait. */
static void
test_tpm_holds_with_huge_estimates(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.state.cluster_workers = 1;
    struct sy_quota *q = sy_quota_new(&cfg);
    struct sy_caller_key vk = { .name = "vk-huge", .limits = { 0, 50 } };
    uint64_t through = 0;
    for (int i = 0; i < 30; i++) {
        struct sy_reservation res;
        struct sy_ratelimit_result r;
        sy_quota_caller(q, s, &vk, 5 + (uint64_t)INT64_MAX, &res, &r);
        if (!r.allowed)
            continue;
        through += 1000; /* the provider answered 1,000 tokens */
        sy_quota_settle(q, s, &res, 1000);
    }
    if (through > 1000)
        fail_msg("%llu tokens went through a 50-token limit",
                 (unsigned long long)through);
    sy_quota_free(q);
    sy_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numbers_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_billed_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_allow_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reservation_multiplies_n, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reservation_counts_documents,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reservation_counts_images, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_budget_not_overshot, setup,
                                        teardown),
        cmocka_unit_test(test_script_error_refuses),
        cmocka_unit_test(test_tpm_holds_with_huge_estimates),
        cmocka_unit_test(test_provider_park),
        cmocka_unit_test(test_park_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
