/*
 * test_latency.c - unit tests for core/state/latency.c: the bucket scheme and
 * its 6.25 % error bound, quantiles, the in-memory window of time slices
 * (time is an argument), the Redis encoding of a slice; then, against a
 * real redis-server, samples written in pipelined batches by two workers
 * and the quantiles read back and merged. Uses the redis-server harness
 * of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/latency.c"

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
    return redis_group_setup(&srv, "test_latency");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* A deterministic generator (xorshift64*), so no test depends on luck. */
static uint64_t rng_state = 88172645463325252u;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact sample of rank ceil(n * q) of sorted 'v'. */
static uint64_t
exact_quantile(const uint64_t *v, size_t n, unsigned permille)
{
    size_t rank = (n * permille + 999) / 1000;
    return v[rank == 0 ? 0 : rank - 1];
}

static void
assert_within_bound(uint64_t got, uint64_t want)
{
    uint64_t diff = got > want ? got - want : want - got;
    if (diff * 16 > want)
        fail_msg("%llu is more than 1/16 away from %llu",
                 (unsigned long long)got, (unsigned long long)want);
}

/* ------------------------------------------------------------------ */
/* Buckets and quantiles                                               */

static void
test_bucket_scheme(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 16; v++) {
        assert_int_equal(sy_latency_bucket(v), v);
        assert_int_equal(sy_latency_bucket_mid((unsigned)v), v);
    }
    assert_int_equal(sy_latency_bucket(16), 16);
    assert_int_equal(sy_latency_bucket(17), 16);
    assert_int_equal(sy_latency_bucket(18), 17);
    assert_int_equal(sy_latency_bucket(31), 23);
    assert_int_equal(sy_latency_bucket(32), 24);
    assert_int_equal(sy_latency_bucket(SY_LATENCY_MAX_US),
                     SY_LATENCY_BUCKETS - 1);
    assert_int_equal(sy_latency_bucket(UINT64_MAX), SY_LATENCY_BUCKETS - 1);
    /* Every bucket starts right after the previous one ends. */
    for (unsigned i = 1; i < SY_LATENCY_BUCKETS; i++) {
        uint64_t low = sy_latency_bucket_low(i);
        assert_int_equal(sy_latency_bucket(low), i);
        assert_int_equal(sy_latency_bucket(low - 1), i - 1);
        assert_true(sy_latency_bucket_mid(i) >= low);
    }
    /* The error bound, on every bucket edge and many random values. */
    for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++) {
        uint64_t low = sy_latency_bucket_low(i);
        uint64_t high = i + 1 < SY_LATENCY_BUCKETS
                            ? sy_latency_bucket_low(i + 1) - 1
                            : SY_LATENCY_MAX_US;
        assert_within_bound(sy_latency_bucket_mid(i), low);
        assert_within_bound(sy_latency_bucket_mid(i), high);
    }
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rng() >> (rng() % 30 + 32); /* below the clamp */
        assert_within_bound(sy_latency_bucket_mid(sy_latency_bucket(v)), v);
    }
    assert_string_equal(sy_latency_metric_name(SY_LATENCY_TTFT), "ttft");
    assert_string_equal(sy_latency_metric_name(SY_LATENCY__COUNT), "?");
}

static void
test_quantiles(void **state)
{
    (void)state;
    struct sy_latency_hist h;
    struct sy_latency_stats st;
    sy_latency_hist_clear(&h);
    sy_latency_hist_stats(&h, &st);
    assert_int_equal(st.count, 0);
    assert_int_equal(st.p50_us, 0);
    assert_int_equal(st.p99_us, 0);

    /* 99 fast answers and one slow: p99 is still fast, p100 is slow. */
    sy_latency_hist_add(&h, 10000, 99);
    sy_latency_hist_add(&h, 4000000, 1);
    assert_within_bound(sy_latency_hist_quantile(&h, 990), 10000);
    assert_within_bound(sy_latency_hist_quantile(&h, 1000), 4000000);
    assert_within_bound(sy_latency_hist_quantile(&h, 5000), 4000000);
    assert_within_bound(sy_latency_hist_quantile(&h, 0), 10000);

    /* A wide random distribution: each quantile within the bound of the
     * exact sample of that rank. */
    enum { N = 20000 };
    uint64_t *v = sy_xmalloc(N * sizeof(*v));
    sy_latency_hist_clear(&h);
    for (int i = 0; i < N; i++) {
        v[i] = 50000 + rng() % 2000000 + (i % 50 == 0 ? 20000000 : 0);
        sy_latency_hist_add(&h, v[i], 1);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    sy_latency_hist_stats(&h, &st);
    assert_int_equal(st.count, N);
    assert_within_bound(st.p50_us, exact_quantile(v, N, 500));
    assert_within_bound(st.p95_us, exact_quantile(v, N, 950));
    assert_within_bound(st.p99_us, exact_quantile(v, N, 990));
    free(v);

    /* Merging adds counts exactly. */
    struct sy_latency_hist a;
    struct sy_latency_hist b;
    sy_latency_hist_clear(&a);
    sy_latency_hist_clear(&b);
    sy_latency_hist_add(&a, 1000, 3);
    sy_latency_hist_add(&b, 1000, 4);
    sy_latency_hist_add(&b, 9000, 1);
    sy_latency_hist_merge(&a, &b);
    assert_int_equal(a.total, 8);
    assert_int_equal(a.counts[sy_latency_bucket(1000)], 7);
    /* Saturation instead of wrapping. */
    sy_latency_hist_add(&a, 1000, UINT64_C(1) << 33);
    assert_int_equal(a.counts[sy_latency_bucket(1000)], UINT32_MAX);
}

/* A threshold's quantile is over only when three samples are: one slow
 * answer among 86 is the window's p99, not its held p99; three are. At
 * 200 samples and more the held p99 is the p99. */
static void
test_quantile_held(void **state)
{
    (void)state;
    struct sy_latency_hist h;
    struct sy_latency_stats st;
    sy_latency_hist_clear(&h);
    assert_int_equal(sy_latency_hist_quantile_held(&h, 990), 0);

    sy_latency_hist_add(&h, 10000, 85);
    sy_latency_hist_add(&h, 8000000, 1);
    sy_latency_hist_stats(&h, &st);
    assert_within_bound(st.p99_us, 8000000);
    assert_within_bound(st.p99_held_us, 10000);
    assert_within_bound(st.p95_held_us, 10000);
    sy_latency_hist_add(&h, 8000000, 1);
    assert_within_bound(sy_latency_hist_quantile_held(&h, 990), 10000);
    sy_latency_hist_add(&h, 8000000, 1);
    assert_within_bound(sy_latency_hist_quantile_held(&h, 990), 8000000);

    /* 200 samples: two above the p99's rank, so it is held as it is. */
    sy_latency_hist_clear(&h);
    sy_latency_hist_add(&h, 10000, 197);
    sy_latency_hist_add(&h, 8000000, 3);
    sy_latency_hist_stats(&h, &st);
    assert_within_bound(st.p99_us, 8000000);
    assert_int_equal(st.p99_held_us, st.p99_us);
    sy_latency_hist_add(&h, 10000, 800); /* 1000: 3 slow are 0.3 % */
    sy_latency_hist_stats(&h, &st);
    assert_within_bound(st.p99_held_us, 10000);
    assert_int_equal(st.p99_held_us, st.p99_us);

    /* Two samples or one: the fastest (all of them must be over). */
    sy_latency_hist_clear(&h);
    sy_latency_hist_add(&h, 8000000, 1);
    assert_within_bound(sy_latency_hist_quantile_held(&h, 990), 8000000);
    sy_latency_hist_add(&h, 10000, 1);
    assert_within_bound(sy_latency_hist_quantile_held(&h, 990), 10000);
    /* Three slow of three: over. */
    sy_latency_hist_clear(&h);
    sy_latency_hist_add(&h, 8000000, 3);
    assert_within_bound(sy_latency_hist_quantile_held(&h, 950), 8000000);
}

static void
test_tpot(void **state)
{
    (void)state;
    assert_int_equal(sy_latency_tpot_us(2000000, 500000, 101), 15000);
    assert_int_equal(sy_latency_tpot_us(2000000, 500000, 1), 0);
    assert_int_equal(sy_latency_tpot_us(2000000, 500000, 0), 0);
    assert_int_equal(sy_latency_tpot_us(100, 500, 10), 0);
}

/* ------------------------------------------------------------------ */
/* The in-memory window                                                */

static void
test_window(void **state)
{
    (void)state;
    struct sy_latency_window w;
    struct sy_latency_hist h;
    sy_latency_window_init(&w, 10000, 30000); /* 3 slices of 10 s */
    assert_int_equal(w.nslices, 3);
    uint64_t t0 = UINT64_C(1700000000000); /* any epoch-like time */
    t0 -= t0 % 10000;
    sy_latency_window_add(&w, t0 + 1, SY_LATENCY_TOTAL, 100000);
    sy_latency_window_add(&w, t0 + 10000, SY_LATENCY_TOTAL, 200000);
    sy_latency_window_add(&w, t0 + 25000, SY_LATENCY_TOTAL, 300000);
    sy_latency_window_add(&w, t0 + 25000, SY_LATENCY_TTFT, 50000);
    sy_latency_window_merge(&w, t0 + 29999, SY_LATENCY_TOTAL, &h);
    assert_int_equal(h.total, 3);
    sy_latency_window_merge(&w, t0 + 29999, SY_LATENCY_TTFT, &h);
    assert_int_equal(h.total, 1);
    /* The first slice leaves the window when the fourth begins. */
    sy_latency_window_merge(&w, t0 + 30000, SY_LATENCY_TOTAL, &h);
    assert_int_equal(h.total, 2);
    assert_within_bound(sy_latency_hist_quantile(&h, 1000), 300000);
    /* A new sample reuses the ring slot of the oldest slice. */
    sy_latency_window_add(&w, t0 + 31000, SY_LATENCY_TOTAL, 400000);
    sy_latency_window_merge(&w, t0 + 31000, SY_LATENCY_TOTAL, &h);
    assert_int_equal(h.total, 3);
    assert_within_bound(sy_latency_hist_quantile(&h, 1), 200000);
    /* Long silence: nothing left. */
    sy_latency_window_merge(&w, t0 + 100000, SY_LATENCY_TOTAL, &h);
    assert_int_equal(h.total, 0);
    /* Time going back a little (another host's clock): future slices are
     * left out, nothing breaks. */
    sy_latency_window_merge(&w, t0 + 15000, SY_LATENCY_TOTAL, &h);
    assert_int_equal(h.total, 1);
    sy_latency_window_cleanup(&w);
    sy_latency_window_cleanup(&w);

    sy_latency_window_init(&w, 10000, 1); /* at least one slice */
    assert_int_equal(w.nslices, 1);
    sy_latency_window_cleanup(&w);
    sy_latency_window_init(&w, 10000, 35000);
    assert_int_equal(w.nslices, 4);
    sy_latency_window_cleanup(&w);
}

/* ------------------------------------------------------------------ */
/* Redis encoding                                                      */

static void
test_encoding(void **state)
{
    (void)state;
    char key[128];
    assert_int_equal(sy_latency_key(key, sizeof(key), "sy:", "gpt-4o@azure",
                                    SY_LATENCY_TPOT, 170000000),
                     strlen("sy:lat1:{gpt-4o@azure}:tpot:170000000"));
    assert_string_equal(key, "sy:lat1:{gpt-4o@azure}:tpot:170000000");
    assert_int_equal(sy_latency_ttl_ms(10000, 6), 70000);
    assert_int_equal(sy_latency_ttl_ms(UINT32_MAX, 6), UINT32_MAX);

    struct sy_latency_slice sl;
    sy_latency_slice_init(&sl, 7);
    assert_true(sy_latency_slice_is_empty(&sl));
    sy_latency_hist_add(&sl.h[SY_LATENCY_TTFT], 3, 2);
    sy_latency_hist_add(&sl.h[SY_LATENCY_TTFT], 17, 1);
    assert_false(sy_latency_slice_is_empty(&sl));
    struct sy_store_batch b;
    sy_store_batch_init(&b, 4096);
    assert_int_equal(sy_latency_write(&b, "p:", "d", &sl, 5000), SY_OK);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.resp.data,
                        "*4\r\n$7\r\nHINCRBY\r\n$17\r\np:lat1:{d}:ttft:7\r\n"
                        "$1\r\n3\r\n$1\r\n2\r\n"
                        "*4\r\n$7\r\nHINCRBY\r\n$17\r\np:lat1:{d}:ttft:7\r\n"
                        "$2\r\n16\r\n$1\r\n1\r\n"
                        "*3\r\n$7\r\nPEXPIRE\r\n$17\r\np:lat1:{d}:ttft:7\r\n"
                        "$4\r\n5000\r\n");
    /* All or nothing when the batch is full. */
    sy_store_batch_cleanup(&b);
    sy_store_batch_init(&b, 150);
    assert_int_equal(sy_store_batch_addl(&b, "PING", NULL), SY_OK);
    assert_int_equal(sy_latency_write(&b, "p:", "d", &sl, 5000), SY_ETOOBIG);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.resp.data, "*1\r\n$4\r\nPING\r\n");
    assert_int_equal(
        sy_latency_read(&b, "p:", "d", SY_LATENCY_TTFT, 50000, 10000, 6),
        SY_ETOOBIG);
    assert_int_equal(b.n, 1);
    sy_store_batch_reset(&b);
    /* A window reaching before time 0 reads what exists. */
    assert_int_equal(
        sy_latency_read(&b, "p:", "d", SY_LATENCY_TTFT, 15000, 10000, 6),
        SY_OK);
    assert_int_equal(b.n, 2);
    sy_store_batch_cleanup(&b);

    /* Replies: bucket/count pairs; junk is skipped; errors refused. */
    struct sy_store_val f[8] = {
        { .type = SY_STORE_STR, .str = "16", .len = 2 },
        { .type = SY_STORE_STR, .str = "5", .len = 1 },
        { .type = SY_STORE_STR, .str = "999", .len = 3 }, /* no such bucket */
        { .type = SY_STORE_STR, .str = "1", .len = 1 },
        { .type = SY_STORE_STR, .str = "3", .len = 1 },
        { .type = SY_STORE_STR, .str = "-2", .len = 2 }, /* bad count */
        { .type = SY_STORE_STR, .str = "4", .len = 1 },
        { .type = SY_STORE_STR, .str = "2x", .len = 2 }, /* bad count */
    };
    struct sy_store_val arr = { .type = SY_STORE_ARRAY, .elem = f, .n = 8 };
    struct sy_latency_hist h;
    sy_latency_hist_clear(&h);
    assert_int_equal(sy_latency_merge_reply(&h, &arr), SY_OK);
    assert_int_equal(h.total, 5);
    assert_int_equal(h.counts[16], 5);
    struct sy_store_val err = { .type = SY_STORE_ERROR,
                                .str = "ERR",
                                .len = 3 };
    assert_int_equal(sy_latency_merge_reply(&h, &err), SY_ESTORE);
    assert_int_equal(sy_latency_merge_reply(&h, NULL), SY_ESTORE);
    struct sy_store_val empty = { .type = SY_STORE_ARRAY };
    assert_int_equal(sy_latency_merge_reply(&h, &empty), SY_OK);
    assert_int_equal(h.total, 5);
}

/* ------------------------------------------------------------------ */
/* Against redis-server                                                */

/* The round trip: RT_WORKERS workers record RT_PER_SLICE samples of each
 * of RT_DEPS deployments in each of RT_SLICES slices of RT_SLICE_MS, in
 * a window of RT_NSLICES slices (60 s). */
enum { RT_WORKERS = 2, RT_DEPS = 2, RT_PER_SLICE = 300, RT_SLICES = 5 };
#define RT_SLICE_MS 10000u
#define RT_NSLICES  6u
#define RT_T0       UINT64_C(1700000000000)
#define RT_SAMPLES  (RT_WORKERS * RT_PER_SLICE * RT_SLICES)

static const char *const rt_deps[RT_DEPS] = { "fast", "slow" };

/* What the workers wrote: their stores, local windows and the exact
 * samples of each deployment. */
struct rt {
    struct sy_store *w[RT_WORKERS];
    struct sy_latency_window local[RT_WORKERS][RT_DEPS];
    struct sy_store_batch b;
    uint64_t samples[RT_DEPS][RT_SAMPLES];
    size_t nsamples[RT_DEPS];
};

/* Worker 'i' records one slice of deployment 'd' at 'now': locally, in
 * t->samples, and as a write in the batch. */
static void
rt_record_slice(struct rt *t, int i, int d, uint64_t now)
{
    struct sy_latency_slice sl;
    sy_latency_slice_init(&sl, sy_latency_slice_id(now, RT_SLICE_MS));
    for (int n = 0; n < RT_PER_SLICE; n++) {
        uint64_t v =
            (d == 0 ? 200000 : 2000000) + rng() % (d == 0 ? 300000 : 6000000);
        sy_latency_hist_add(&sl.h[SY_LATENCY_TOTAL], v, 1);
        sy_latency_hist_add(&sl.h[SY_LATENCY_TTFT], v / 4, 1);
        sy_latency_window_add(&t->local[i][d], now, SY_LATENCY_TOTAL, v);
        t->samples[d][t->nsamples[d]++] = v;
    }
    assert_int_equal(
        sy_latency_write(&t->b, "t:", rt_deps[d], &sl,
                         sy_latency_ttl_ms(RT_SLICE_MS, RT_NSLICES)),
        SY_OK);
}

/* Every worker writes every slice, one round trip per worker and slice. */
static void
rt_write(struct rt *t)
{
    struct sy_store_stats st0;
    sy_store_get_stats(t->w[0], &st0);
    for (unsigned k = 0; k < RT_SLICES; k++) {
        uint64_t now = RT_T0 + k * RT_SLICE_MS + 500;
        for (int i = 0; i < RT_WORKERS; i++) {
            for (int d = 0; d < RT_DEPS; d++)
                rt_record_slice(t, i, d, now);
            assert_int_equal(sy_store_exec(t->w[i], &t->b, NULL, NULL), SY_OK);
            sy_store_batch_reset(&t->b);
        }
    }
    struct sy_store_stats st;
    sy_store_get_stats(t->w[0], &st);
    assert_int_equal(st.calls - st0.calls, RT_SLICES);
}

/* The histograms 'h' of deployment 'd' read back from Redis at 'now'
 * hold every sample, equal the merge of the workers' local windows, and
 * are within the bucket bound of the exact samples. */
static void
rt_check_dep(struct rt *t, int d, const struct sy_latency_hist *h, uint64_t now)
{
    assert_int_equal(h[SY_LATENCY_TOTAL].total, RT_SAMPLES);
    assert_int_equal(h[SY_LATENCY_TTFT].total, RT_SAMPLES);
    assert_int_equal(h[SY_LATENCY_TPOT].total, 0);
    /* Identical to merging both workers' local windows. */
    struct sy_latency_hist both;
    struct sy_latency_hist one;
    sy_latency_hist_clear(&both);
    for (int i = 0; i < RT_WORKERS; i++) {
        sy_latency_window_merge(&t->local[i][d], now, SY_LATENCY_TOTAL, &one);
        sy_latency_hist_merge(&both, &one);
    }
    assert_memory_equal(both.counts, h[SY_LATENCY_TOTAL].counts,
                        sizeof(both.counts));
    /* And close to the exact samples. */
    uint64_t *v = t->samples[d];
    size_t n = t->nsamples[d];
    qsort(v, n, sizeof(uint64_t), cmp_u64);
    struct sy_latency_stats s;
    sy_latency_hist_stats(&h[SY_LATENCY_TOTAL], &s);
    assert_within_bound(s.p50_us, exact_quantile(v, n, 500));
    assert_within_bound(s.p95_us, exact_quantile(v, n, 950));
    assert_within_bound(s.p99_us, exact_quantile(v, n, 990));
    print_message("    %s: p50 %llu us, p95 %llu us, p99 %llu us "
                  "(%llu samples)\n",
                  rt_deps[d], (unsigned long long)s.p50_us,
                  (unsigned long long)s.p95_us, (unsigned long long)s.p99_us,
                  (unsigned long long)s.count);
}

/* Two workers each record samples of two deployments over 50 s of
 * (simulated) time, keep them locally in a window and flush each slice
 * to Redis in pipelined batches; a third reads the window back. The
 * merged quantiles equal the local merge of both workers exactly, and
 * are within the bucket bound of the exact samples. */
static void
test_redis_round_trip(void **state)
{
    (void)state;
    NEED_REDIS();
    static struct rt t;
    memset(&t, 0, sizeof(t));
    sy_store_batch_init(&t.b, 1 << 20);
    for (int i = 0; i < RT_WORKERS; i++) {
        t.w[i] = store_on(srv.port, NULL);
        for (int d = 0; d < RT_DEPS; d++)
            sy_latency_window_init(&t.local[i][d], RT_SLICE_MS,
                                   RT_SLICE_MS * RT_NSLICES);
    }
    rt_write(&t);

    /* The reader: every deployment and metric in one batch. */
    struct sy_store *reader = store_on(srv.port, NULL);
    uint64_t now = RT_T0 + (RT_SLICES - 1) * RT_SLICE_MS + 9000;
    for (int d = 0; d < RT_DEPS; d++) {
        for (unsigned m = 0; m < SY_LATENCY__COUNT; m++)
            assert_int_equal(sy_latency_read(&t.b, "t:", rt_deps[d],
                                             (enum sy_latency_metric)m, now,
                                             RT_SLICE_MS, RT_NSLICES),
                             SY_OK);
    }
    assert_int_equal(t.b.n, RT_DEPS * SY_LATENCY__COUNT * RT_NSLICES);
    struct sy_arena a;
    sy_arena_init(&a, 1 << 16);
    struct sy_store_val *r;
    assert_int_equal(sy_store_exec(reader, &t.b, &a, &r), SY_OK);
    size_t at = 0;
    for (int d = 0; d < RT_DEPS; d++) {
        struct sy_latency_hist h[SY_LATENCY__COUNT];
        for (unsigned m = 0; m < SY_LATENCY__COUNT; m++) {
            sy_latency_hist_clear(&h[m]);
            for (unsigned k = 0; k < RT_NSLICES; k++)
                assert_int_equal(sy_latency_merge_reply(&h[m], &r[at++]),
                                 SY_OK);
        }
        rt_check_dep(&t, d, h, now);
    }
    /* Keys expire after the window. */
    char key[128];
    sy_latency_key(key, sizeof(key), "t:", "fast", SY_LATENCY_TOTAL,
                   sy_latency_slice_id(RT_T0, RT_SLICE_MS));
    assert_int_equal(sy_store_commandl(reader, &a, &r, "PTTL", key, NULL),
                     SY_OK);
    assert_in_range(r->i, 60000, 70000);
    /* Later, the oldest slices fall out of the window. */
    sy_store_batch_reset(&t.b);
    now += 3 * RT_SLICE_MS;
    assert_int_equal(sy_latency_read(&t.b, "t:", "fast", SY_LATENCY_TOTAL, now,
                                     RT_SLICE_MS, RT_NSLICES),
                     SY_OK);
    assert_int_equal(sy_store_exec(reader, &t.b, &a, &r), SY_OK);
    struct sy_latency_hist later;
    sy_latency_hist_clear(&later);
    for (unsigned k = 0; k < RT_NSLICES; k++)
        assert_int_equal(sy_latency_merge_reply(&later, &r[k]), SY_OK);
    assert_int_equal(later.total, RT_WORKERS * RT_PER_SLICE * 3);

    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&t.b);
    sy_store_free(reader);
    for (int i = 0; i < RT_WORKERS; i++) {
        sy_store_free(t.w[i]);
        for (int d = 0; d < RT_DEPS; d++)
            sy_latency_window_cleanup(&t.local[i][d]);
    }
}

/* A censored sample takes a value of the samples past it (Kaplan-Meier):
 * a window whose tail calls are cut keeps its tail. */
static void
test_draw_above(void **state)
{
    (void)state;
    struct sy_latency_hist h;
    sy_latency_hist_clear(&h);
    /* nothing past it: the value itself */
    assert_int_equal(sy_latency_hist_draw_above(&h, 600000, 7), 600000);
    sy_latency_hist_add(&h, 100000, 90);  /* 100 ms */
    sy_latency_hist_add(&h, 3000000, 10); /* 3 s */
    assert_int_equal(sy_latency_hist_draw_above(&h, 4000000, 7), 4000000);
    /* past 600 ms: only the 3 s samples, whatever the draw */
    for (uint32_t r = 0; r < 50; r++) {
        uint64_t v = sy_latency_hist_draw_above(&h, 600000, r * 2654435761u);
        assert_true(v >= 2800000 && v <= 3200000);
    }
    /* past 50 ms: in proportion to the counts */
    unsigned slow = 0;
    for (uint32_t r = 0; r < 1000; r++)
        slow += sy_latency_hist_draw_above(&h, 50000, r) > 1000000;
    assert_int_equal(slow, 100);
    /* Cut calls recorded as their draw keep the p95 where it was;
     * recorded at 600 ms they would pull it to 600 ms. */
    struct sy_latency_hist cut = h, at = h;
    for (uint32_t r = 0; r < 200; r++)
        sy_latency_hist_add(&cut, sy_latency_hist_draw_above(&h, 600000, r), 1);
    sy_latency_hist_add(&at, 600000, 200);
    assert_true(sy_latency_hist_quantile(&cut, 950) >= 2800000);
    assert_true(sy_latency_hist_quantile(&at, 950) < 700000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_scheme),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_quantile_held),
        cmocka_unit_test(test_draw_above),
        cmocka_unit_test(test_tpot),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_redis_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
