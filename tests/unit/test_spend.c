/*
 * test_spend.c - unit tests for core/state/spend.c: UTC day numbers and
 * "yyyy-mm-dd" (every day from 1900 to 2200 round-trips, leap years,
 * month starts), key and field names, the commands a write appends, the
 * totals table and reply parsing; then, against a real redis-server,
 * 2,000 random requests over five days written in pipelined batches and
 * read back per field and per day range, equal to local sums, with the
 * ~400-day TTL. Groups and baselines ("group:", "base:"), the report
 * helpers (records added as a write adds them, ordering, log vs Redis
 * differences), and a round trip showing that totals built from records
 * with sy_spend_totals_add_record() equal what Redis summed.
 * Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/spend.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct redis_srv srv;

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_spend");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* A deterministic generator (xorshift64*). */
static uint64_t rng_state = 88172645463325252u;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* ------------------------------------------------------------------ */
/* Days and names                                                      */

static void
test_days(void **state)
{
    (void)state;
    char s[SY_SPEND_DAY_LEN + 1];
    int64_t day;
    assert_int_equal(sy_spend_day(0), 0);
    sy_spend_day_format(0, s);
    assert_string_equal(s, "1970-01-01");
    sy_spend_day_format(-1, s);
    assert_string_equal(s, "1969-12-31");
    /* 2026-11-24T14:44:29Z and the last ms of that day. */
    assert_int_equal(sy_spend_day(UINT64_C(1795963469000)), 20786);
    assert_int_equal(sy_spend_day(UINT64_C(1796083199999)), 20787);
    sy_spend_day_format(20786, s);
    assert_string_equal(s, "2026-11-29");
    assert_true(sy_spend_day_parse("2026-11-29", &day));
    assert_int_equal(day, 20786);
    assert_true(sy_spend_day_parse("2000-02-29", &day));
    assert_int_equal(day, 11016);
    assert_false(sy_spend_day_parse("2001-02-29", &day));
    assert_false(sy_spend_day_parse("1900-02-29", &day));
    assert_false(sy_spend_day_parse("2026-02-30", &day));
    assert_false(sy_spend_day_parse("2026-13-01", &day));
    assert_false(sy_spend_day_parse("2026-00-10", &day));
    assert_false(sy_spend_day_parse("2026-1-01", &day));
    assert_false(sy_spend_day_parse("2026-01-01x", &day));
    assert_false(sy_spend_day_parse("2026/01/01", &day));
    assert_false(sy_spend_day_parse("", &day));
    /* Clamped outside years 0 .. 9999. */
    sy_spend_day_format(INT64_MAX / 2, s);
    assert_string_equal(s, "9999-12-31");
    sy_spend_day_format(-INT64_MAX / 2, s);
    assert_string_equal(s, "0000-01-01");
    /* Every day from 1900 to 2200: format and parse agree, days follow
     * each other, and the month start is the 1st. */
    assert_true(sy_spend_day_parse("1900-01-01", &day));
    int64_t last;
    assert_true(sy_spend_day_parse("2200-12-31", &last));
    int prev_d = 31;
    for (; day <= last; day++) {
        sy_spend_day_format(day, s);
        int64_t back;
        assert_true(sy_spend_day_parse(s, &back));
        assert_int_equal(back, day);
        int d = (s[8] - '0') * 10 + (s[9] - '0');
        assert_true(d == prev_d + 1 || (d == 1 && prev_d >= 28));
        prev_d = d;
        int64_t m0 = sy_spend_month_start(day);
        assert_int_equal(m0, day - (d - 1));
        char ms[SY_SPEND_DAY_LEN + 1];
        sy_spend_day_format(m0, ms);
        assert_memory_equal(ms, s, 8);
        assert_string_equal(ms + 8, "01");
    }
}

static void
test_names(void **state)
{
    (void)state;
    char buf[128];
    assert_int_equal(sy_spend_key(buf, sizeof(buf), "sy:", 20786), 19);
    assert_string_equal(buf, "sy:spend:2026-11-29");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_KEY, "ci-bot");
    assert_string_equal(buf, "key:ci-bot");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_TEAM, "ml");
    assert_string_equal(buf, "team:ml");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_DEP, "gpt4o:east");
    assert_string_equal(buf, "dep:gpt4o:east");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_PROV, "openai");
    assert_string_equal(buf, "prov:openai");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_TOTAL, "ignored");
    assert_string_equal(buf, "total");
    assert_string_equal(sy_spend_dim_name((enum sy_spend_dim)99), "?");
}

/* What a write appends: one HINCRBY per named dimension plus the total,
 * then EXPIRE; nothing for a free request; all or nothing. */
static void
test_write_commands(void **state)
{
    (void)state;
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 16);
    struct sy_usage_record r = {
        .time_ms = UINT64_C(1795963469000),
        .key_name = "ci-bot",
        .team = "ml",
        .deployment = "gpt4o-east",
        .provider = "openai",
        .cost_micro_usd = 4720,
    };
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 6);
    const char *want = "*4\r\n$7\r\nHINCRBY\r\n$19\r\nsy:spend:2026-11-29\r\n"
                       "$10\r\nkey:ci-bot\r\n$4\r\n4720\r\n";
    assert_memory_equal(b.resp.data, want, strlen(want));
    assert_non_null(strstr(sy_buf_cstr(&b.resp), "$7\r\nteam:ml\r\n"));
    assert_non_null(strstr(sy_buf_cstr(&b.resp), "$5\r\ntotal\r\n"));
    assert_non_null(strstr(sy_buf_cstr(&b.resp),
                           "$6\r\nEXPIRE\r\n$19\r\nsy:spend:2026-11-29\r\n"
                           "$8\r\n34560000\r\n"));
    /* No team, empty provider: left out. */
    sy_store_batch_reset(&b);
    r.team = NULL;
    r.provider = "";
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 4);
    /* Free: nothing. */
    sy_store_batch_reset(&b);
    r.cost_micro_usd = 0;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 0);
    /* A name too long: refused, the batch unchanged. */
    r.cost_micro_usd = 1;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    size_t n = b.n;
    size_t len = b.resp.len;
    char huge[600];
    memset(huge, 'd', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    r.deployment = huge;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_EBADREQ);
    assert_int_equal(b.n, n);
    assert_int_equal(b.resp.len, len);
    /* A batch too small: SY_ETOOBIG, unchanged. */
    struct sy_store_batch tiny;
    sy_store_batch_init(&tiny, 150);
    r.deployment = "gpt4o-east";
    assert_int_equal(sy_spend_write(&tiny, "sy:", &r), SY_ETOOBIG);
    assert_int_equal(tiny.n, 0);
    assert_int_equal(tiny.resp.len, 0);
    /* Bad ranges for the readers. */
    assert_int_equal(sy_spend_read_days(&b, "sy:", 10, 9), SY_EBADREQ);
    assert_int_equal(sy_spend_read_days(&b, "sy:", 0, SY_SPEND_MAX_DAYS),
                     SY_EBADREQ);
    assert_int_equal(sy_spend_read_field(&b, "sy:", SY_SPEND_KEY, "k", 0,
                                         SY_SPEND_MAX_DAYS - 1),
                     SY_OK);
    assert_int_equal(b.n, n + SY_SPEND_MAX_DAYS);
    sy_store_batch_cleanup(&tiny);
    sy_store_batch_cleanup(&b);
}

static struct sy_store_val
str_val(const char *s)
{
    struct sy_store_val v = { .type = SY_STORE_STR,
                              .str = s,
                              .len = strlen(s) };
    return v;
}

static void
test_totals_and_replies(void **state)
{
    (void)state;
    struct sy_spend_totals t;
    sy_spend_totals_init(&t);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_KEY, "x"), 0);
    /* Enough names to grow the index several times. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            char name[32];
            snprintf(name, sizeof(name), "key-%d", i);
            sy_spend_totals_add(&t, SY_SPEND_KEY, name, strlen(name), i);
            sy_spend_totals_add(&t, SY_SPEND_TEAM, name, strlen(name), 1);
        }
    }
    assert_int_equal(t.n, 2000);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_KEY, "key-999"), 2997);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TEAM, "key-999"), 3);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_DEP, "key-999"), 0);
    sy_spend_totals_add(&t, SY_SPEND_TOTAL, "", 0, INT64_MAX);
    sy_spend_totals_add(&t, SY_SPEND_TOTAL, "", 0, 5);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TOTAL, "any"),
                     INT64_MAX); /* saturated */
    sy_spend_totals_cleanup(&t);

    /* An HGETALL reply: known fields, a name with ':', an unknown field,
     * a value that is not a number, a negative correction. */
    sy_spend_totals_init(&t);
    struct sy_store_val elem[] = {
        str_val("key:ci-bot"),
        str_val("100"),
        str_val("dep:gpt4o:east"),
        str_val("40"),
        str_val("total"),
        str_val("140"),
        str_val("reqs:ci-bot"),
        str_val("3"),
        str_val("team:ml"),
        str_val("12abc"),
        str_val("prov:openai"),
        str_val("-10"),
        str_val("key:ci-bot"),
        str_val("1"),
        str_val("odd"),
    };
    struct sy_store_val arr = { .type = SY_STORE_ARRAY,
                                .elem = elem,
                                .n = SY_ARRAY_LEN(elem) };
    assert_int_equal(sy_spend_totals_add_reply(&t, &arr), SY_OK);
    assert_int_equal(sy_spend_totals_add_reply(&t, &arr), SY_OK);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_KEY, "ci-bot"), 202);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_DEP, "gpt4o:east"), 80);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TOTAL, NULL), 280);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TEAM, "ml"), 0);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_PROV, "openai"), -20);
    assert_int_equal(t.n, 4);
    struct sy_store_val err = { .type = SY_STORE_ERROR,
                                .str = "ERR x",
                                .len = 5 };
    assert_int_equal(sy_spend_totals_add_reply(&t, &err), SY_ESTORE);
    assert_int_equal(sy_spend_totals_add_reply(&t, NULL), SY_ESTORE);
    sy_spend_totals_cleanup(&t);

    /* HGET replies. */
    struct sy_store_val days[] = {
        { .type = SY_STORE_NIL },
        str_val("4720"),
        str_val("-20"),
        { .type = SY_STORE_INT, .i = 300 },
    };
    int64_t sum;
    assert_int_equal(sy_spend_sum_field(days, SY_ARRAY_LEN(days), &sum), SY_OK);
    assert_int_equal(sum, 5000);
    days[0] = str_val("12x");
    assert_int_equal(sy_spend_sum_field(days, SY_ARRAY_LEN(days), &sum),
                     SY_ESTORE);
    assert_int_equal(sum, 0);
    days[0] = err;
    assert_int_equal(sy_spend_sum_field(days, 1, &sum), SY_ESTORE);
}

/* ------------------------------------------------------------------ */
/* Against redis-server                                                */

enum { NREQ = 2000, NDAYS = 5 };

static const char *const keys[] = { "ci-bot", "alice", "svc:billing" };
static const char *const teams[] = { "ml", "web", NULL };
static const char *const deps[] = { "gpt4o-east", "sonnet", "flash", "ds" };
static const char *const provs[] = { "openai", "anthropic", "gemini",
                                     "deepseek" };

static void
test_redis_round_trip(void **state)
{
    (void)state;
    NEED_REDIS();
    /* Local sums: [day][dimension][name index]. */
    static int64_t want[NDAYS][SY_SPEND__COUNT][4];
    memset(want, 0, sizeof(want));
    int64_t day0;
    assert_true(sy_spend_day_parse("2026-11-27", &day0));
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 20);
    for (int i = 0; i < NREQ; i++) {
        int d = (int)(rng() % NDAYS);
        size_t k = rng() % SY_ARRAY_LEN(keys);
        size_t t = rng() % SY_ARRAY_LEN(teams);
        size_t p = rng() % SY_ARRAY_LEN(deps);
        struct sy_usage_record r = {
            .time_ms = (uint64_t)(day0 + d) * 86400000u + rng() % 86400000u,
            .key_name = keys[k],
            .team = teams[t],
            .deployment = deps[p],
            .provider = provs[p],
            .cost_micro_usd = (int64_t)(rng() % 5000000u),
        };
        assert_int_equal(sy_spend_write(&b, "t:", &r), SY_OK);
        want[d][SY_SPEND_KEY][k] += r.cost_micro_usd;
        if (teams[t] != NULL)
            want[d][SY_SPEND_TEAM][t] += r.cost_micro_usd;
        want[d][SY_SPEND_DEP][p] += r.cost_micro_usd;
        want[d][SY_SPEND_PROV][p] += r.cost_micro_usd;
        want[d][SY_SPEND_TOTAL][0] += r.cost_micro_usd;
        if (b.n > 500 || i == NREQ - 1) { /* one round trip per batch */
            assert_int_equal(sy_store_exec(s, &b, NULL, NULL), SY_OK);
            sy_store_batch_reset(&b);
        }
    }
    struct sy_arena a;
    sy_arena_init(&a, 1 << 16);
    struct sy_store_val *rep;

    /* One field over days 1..3 (a budget check): three HGETs. */
    assert_int_equal(sy_spend_read_field(&b, "t:", SY_SPEND_KEY, "alice",
                                         day0 + 1, day0 + 3),
                     SY_OK);
    assert_int_equal(b.n, 3);
    assert_int_equal(sy_store_exec(s, &b, &a, &rep), SY_OK);
    int64_t sum;
    assert_int_equal(sy_spend_sum_field(rep, b.n, &sum), SY_OK);
    assert_int_equal(sum, want[1][SY_SPEND_KEY][1] + want[2][SY_SPEND_KEY][1] +
                              want[3][SY_SPEND_KEY][1]);
    sy_store_batch_reset(&b);

    /* Every field over a range that starts two days before the data
     * (empty days) and covers it all; then one day alone. */
    for (int range = 0; range < 2; range++) {
        int64_t from = range == 0 ? day0 - 2 : day0 + 4;
        int64_t to = day0 + NDAYS - 1;
        int dfrom = range == 0 ? 0 : 4;
        assert_int_equal(sy_spend_read_days(&b, "t:", from, to), SY_OK);
        assert_int_equal(sy_store_exec(s, &b, &a, &rep), SY_OK);
        struct sy_spend_totals tot;
        sy_spend_totals_init(&tot);
        for (size_t i = 0; i < b.n; i++)
            assert_int_equal(sy_spend_totals_add_reply(&tot, &rep[i]), SY_OK);
        sy_store_batch_reset(&b);
        const char *const *names[SY_SPEND__COUNT] = { keys, teams, deps, provs,
                                                      NULL };
        const size_t counts[SY_SPEND__COUNT] = { 3, 2, 4, 4, 1 };
        int64_t total_all = 0;
        for (unsigned dim = 0; dim < SY_SPEND__COUNT; dim++) {
            for (size_t k = 0; k < counts[dim]; k++) {
                int64_t w = 0;
                for (int d = dfrom; d < NDAYS; d++)
                    w += want[d][dim][k];
                const char *name = names[dim] != NULL ? names[dim][k] : "";
                assert_int_equal(
                    sy_spend_totals_get(&tot, (enum sy_spend_dim)dim, name), w);
                if (dim == SY_SPEND_KEY)
                    total_all += w;
            }
        }
        /* Keys partition the total; teams do not (some have none). */
        assert_int_equal(sy_spend_totals_get(&tot, SY_SPEND_TOTAL, ""),
                         total_all);
        assert_int_equal(tot.n, 3 + 2 + 4 + 4 + 1);
        if (range == 0)
            print_message("    %d requests over %d days: %lld micro-USD, "
                          "%zu totals\n",
                          NREQ, NDAYS, (long long)total_all, tot.n);
        sy_spend_totals_cleanup(&tot);
    }

    /* The TTL: about 400 days. */
    char key[64];
    sy_spend_key(key, sizeof(key), "t:", day0);
    assert_int_equal(sy_store_commandl(s, &a, &rep, "TTL", key, NULL), SY_OK);
    assert_in_range(rep->i, SY_SPEND_TTL_S - 60, SY_SPEND_TTL_S);

    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&b);
    sy_store_free(s);
}

/* ------------------------------------------------------------------ */
/* Groups, baselines and report helpers                                */

static void
test_group_fields(void **state)
{
    (void)state;
    char buf[64];
    sy_spend_field(buf, sizeof(buf), SY_SPEND_GROUP, "chat");
    assert_string_equal(buf, "group:chat");
    sy_spend_field(buf, sizeof(buf), SY_SPEND_BASE, "chat");
    assert_string_equal(buf, "base:chat");
    assert_string_equal(sy_spend_dim_name(SY_SPEND_GROUP), "group");
    assert_string_equal(sy_spend_dim_name(SY_SPEND_BASE), "base");

    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 16);
    struct sy_usage_record r = {
        .time_ms = UINT64_C(1795963469000),
        .key_name = "ci-bot",
        .group = "chat",
        .deployment = "direct",
        .provider = "openai",
        .cost_micro_usd = 4720,
        .baseline_micro_usd = 5900,
    };
    /* key, dep, prov, total, group, base, EXPIRE */
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 7);
    const char *resp = sy_buf_cstr(&b.resp);
    assert_non_null(strstr(resp, "$10\r\ngroup:chat\r\n$4\r\n4720\r\n"));
    assert_non_null(strstr(resp, "$9\r\nbase:chat\r\n$4\r\n5900\r\n"));
    assert_true(strstr(resp, "group:chat") < strstr(resp, "base:chat"));
    assert_true(strstr(resp, "base:chat") < strstr(resp, "EXPIRE"));
    /* A baseline of 0 (a free first deployment): no base field. */
    sy_store_batch_reset(&b);
    r.baseline_micro_usd = 0;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 6);
    assert_null(strstr(sy_buf_cstr(&b.resp), "base:"));
    /* Free traffic with a paid baseline: only the base field. */
    sy_store_batch_reset(&b);
    r.cost_micro_usd = 0;
    r.baseline_micro_usd = 300;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 2);
    assert_non_null(strstr(sy_buf_cstr(&b.resp), "base:chat\r\n$3\r\n300"));
    assert_null(strstr(sy_buf_cstr(&b.resp), "total"));
    /* No group: no group or base field, whatever the baseline. */
    sy_store_batch_reset(&b);
    r.group = NULL;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 0);
    r.group = "";
    r.cost_micro_usd = 10;
    assert_int_equal(sy_spend_write(&b, "sy:", &r), SY_OK);
    assert_int_equal(b.n, 5);
    assert_null(strstr(sy_buf_cstr(&b.resp), "group:"));
    sy_store_batch_cleanup(&b);

    /* A reply with the new fields. */
    struct sy_spend_totals t;
    sy_spend_totals_init(&t);
    struct sy_store_val elem[] = {
        str_val("group:chat"), str_val("4720"),      str_val("base:chat"),
        str_val("5900"),       str_val("base:code"), str_val("12"),
        str_val("total"),      str_val("4720"),
    };
    struct sy_store_val arr = { .type = SY_STORE_ARRAY,
                                .elem = elem,
                                .n = SY_ARRAY_LEN(elem) };
    assert_int_equal(sy_spend_totals_add_reply(&t, &arr), SY_OK);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_GROUP, "chat"), 4720);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_BASE, "chat"), 5900);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_BASE, "code"), 12);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_GROUP, "code"), 0);
    assert_int_equal(t.n, 4);
    sy_spend_totals_cleanup(&t);
}

/* Records added to totals as sy_spend_write() adds them to Redis. */
static void
test_add_record(void **state)
{
    (void)state;
    struct sy_spend_totals t;
    sy_spend_totals_init(&t);
    struct sy_usage_record r = {
        .key_name = "alice",
        .team = "ml",
        .group = "chat",
        .deployment = "direct",
        .provider = "openai",
        .cost_micro_usd = 100,
        .baseline_micro_usd = 250,
    };
    sy_spend_totals_add_record(&t, &r);
    r.deployment = "agg";
    r.provider = "openrouter";
    r.team = NULL;
    r.cost_micro_usd = 260; /* the first deployment itself, with markup */
    r.baseline_micro_usd = 260;
    sy_spend_totals_add_record(&t, &r);
    r.cost_micro_usd = 0; /* a failure: nothing */
    r.baseline_micro_usd = 0;
    sy_spend_totals_add_record(&t, &r);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_KEY, "alice"), 360);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TEAM, "ml"), 100);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_DEP, "direct"), 100);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_DEP, "agg"), 260);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_PROV, "openrouter"), 260);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TOTAL, ""), 360);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_GROUP, "chat"), 360);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_BASE, "chat"), 510);
    assert_int_equal(t.n, 9);
    /* Saved against the first deployment: 510 - 360. */
    assert_int_equal(sy_spend_sub_sat(510, 360), 150);
    assert_int_equal(sy_spend_sub_sat(360, 510), -150);
    assert_int_equal(sy_spend_sub_sat(INT64_MIN, 1), INT64_MIN);
    assert_int_equal(sy_spend_sub_sat(INT64_MAX, -1), INT64_MAX);
    assert_int_equal(sy_spend_sub_sat(0, INT64_MIN), INT64_MAX);
    /* A name too long for a field: the whole record is refused, as the
     * write refuses it. */
    char huge[600];
    memset(huge, 'g', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    r.group = huge;
    r.cost_micro_usd = 5;
    sy_spend_totals_add_record(&t, &r);
    assert_int_equal(sy_spend_totals_get(&t, SY_SPEND_TOTAL, ""), 360);
    assert_int_equal(t.n, 9);
    sy_spend_totals_cleanup(&t);
}

static void
test_sorted_and_diff(void **state)
{
    (void)state;
    struct sy_spend_totals a;
    struct sy_spend_totals b;
    sy_spend_totals_init(&a);
    sy_spend_totals_init(&b);
    const struct sy_spend_entry **v;
    size_t n = sy_spend_totals_sorted(&a, SY_SPEND_TEAM, &v);
    assert_int_equal(n, 0);
    free(v);
    sy_spend_totals_add(&a, SY_SPEND_TEAM, "web", 3, 50);
    sy_spend_totals_add(&a, SY_SPEND_TEAM, "ml", 2, 200);
    sy_spend_totals_add(&a, SY_SPEND_TEAM, "data", 4, 50);
    sy_spend_totals_add(&a, SY_SPEND_KEY, "zed", 3, 999);
    sy_spend_totals_add(&a, SY_SPEND_TOTAL, "", 0, 300);
    n = sy_spend_totals_sorted(&a, SY_SPEND_TEAM, &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0]->name, "ml");   /* largest first */
    assert_string_equal(v[1]->name, "data"); /* then by name */
    assert_string_equal(v[2]->name, "web");
    free(v);

    /* b: Redis lost some of it, and has a field the log has not. */
    sy_spend_totals_add(&b, SY_SPEND_TEAM, "ml", 2, 180);
    sy_spend_totals_add(&b, SY_SPEND_TEAM, "web", 3, 50);
    sy_spend_totals_add(&b, SY_SPEND_TEAM, "ops", 3, 7);
    sy_spend_totals_add(&b, SY_SPEND_TOTAL, "", 0, 237);
    struct sy_spend_diff *d;
    n = sy_spend_totals_diff(
        &a, &b, (1u << SY_SPEND_TEAM) | (1u << SY_SPEND_TOTAL), &d);
    assert_int_equal(n, 5); /* data, ml, ops, web, total */
    assert_int_equal(d[0].dim, SY_SPEND_TEAM);
    assert_string_equal(d[0].name, "data");
    assert_int_equal(d[0].a, 50);
    assert_int_equal(d[0].b, 0);
    assert_int_equal(d[0].diff, 50);
    assert_string_equal(d[1].name, "ml");
    assert_int_equal(d[1].diff, 20);
    assert_string_equal(d[2].name, "ops");
    assert_int_equal(d[2].a, 0);
    assert_int_equal(d[2].b, 7);
    assert_int_equal(d[2].diff, -7);
    assert_string_equal(d[3].name, "web");
    assert_int_equal(d[3].diff, 0);
    assert_int_equal(d[4].dim, SY_SPEND_TOTAL);
    assert_int_equal(d[4].diff, 63);
    free(d);
    /* Only keys: one row, absent from b. */
    n = sy_spend_totals_diff(&a, &b, 1u << SY_SPEND_KEY, &d);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].b, 0);
    free(d);
    /* Against an empty table, both ways. */
    struct sy_spend_totals e;
    sy_spend_totals_init(&e);
    n = sy_spend_totals_diff(&e, &b, ~0u, &d);
    assert_int_equal(n, 4);
    assert_int_equal(d[0].a, 0);
    free(d);
    n = sy_spend_totals_diff(&b, &e, ~0u, &d);
    assert_int_equal(n, 4);
    free(d);
    n = sy_spend_totals_diff(&e, &e, ~0u, &d);
    assert_int_equal(n, 0);
    free(d);
    sy_spend_totals_cleanup(&a);
    sy_spend_totals_cleanup(&b);
}

/* Against redis-server: what a report sums from a log (add_record) is
 * what Redis summed from the same records (write), field by field. */
static void
test_redis_log_agree(void **state)
{
    (void)state;
    NEED_REDIS();
    static const char *const groups[] = { "chat", "code", NULL };
    int64_t day0;
    assert_true(sy_spend_day_parse("2026-03-01", &day0));
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 20);
    struct sy_spend_totals local[3];
    for (int d = 0; d < 3; d++)
        sy_spend_totals_init(&local[d]);
    for (int i = 0; i < 600; i++) {
        int d = (int)(rng() % 3);
        size_t p = rng() % SY_ARRAY_LEN(deps);
        int64_t cost = (int64_t)(rng() % 90000u);
        struct sy_usage_record r = {
            .time_ms = (uint64_t)(day0 + d) * 86400000u + rng() % 86400000u,
            .key_name = keys[rng() % SY_ARRAY_LEN(keys)],
            .team = teams[rng() % SY_ARRAY_LEN(teams)],
            .group = groups[rng() % SY_ARRAY_LEN(groups)],
            .deployment = deps[p],
            .provider = provs[p],
            .cost_micro_usd = i % 7 == 0 ? 0 : cost,
            .baseline_micro_usd =
                i % 5 == 0 ? 0 : cost + 1000 - (int64_t)(rng() % 2000u),
        };
        assert_int_equal(sy_spend_write(&b, "lg:", &r), SY_OK);
        sy_spend_totals_add_record(&local[d], &r);
        if (b.n > 400 || i == 599) {
            assert_int_equal(sy_store_exec(s, &b, NULL, NULL), SY_OK);
            sy_store_batch_reset(&b);
        }
    }
    struct sy_arena a;
    sy_arena_init(&a, 1 << 16);
    struct sy_store_val *rep;
    assert_int_equal(sy_spend_read_days(&b, "lg:", day0, day0 + 2), SY_OK);
    assert_int_equal(sy_store_exec(s, &b, &a, &rep), SY_OK);
    size_t fields = 0;
    for (int d = 0; d < 3; d++) {
        struct sy_spend_totals redis;
        sy_spend_totals_init(&redis);
        assert_int_equal(sy_spend_totals_add_reply(&redis, &rep[d]), SY_OK);
        struct sy_spend_diff *df;
        size_t n = sy_spend_totals_diff(&local[d], &redis, ~0u, &df);
        assert_int_equal(n, redis.n);
        assert_int_equal(n, local[d].n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(df[k].diff, 0);
        assert_true(sy_spend_totals_get(&redis, SY_SPEND_BASE, "chat") > 0);
        assert_true(sy_spend_totals_get(&redis, SY_SPEND_GROUP, "code") > 0);
        fields += n;
        free(df);
        sy_spend_totals_cleanup(&redis);
        sy_spend_totals_cleanup(&local[d]);
    }
    print_message("    600 records over 3 days: %zu fields, log == redis\n",
                  fields);
    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&b);
    sy_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_write_commands),
        cmocka_unit_test(test_totals_and_replies),
        cmocka_unit_test(test_redis_round_trip),
        cmocka_unit_test(test_group_fields),
        cmocka_unit_test(test_add_record),
        cmocka_unit_test(test_sorted_and_diff),
        cmocka_unit_test(test_redis_log_agree),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
