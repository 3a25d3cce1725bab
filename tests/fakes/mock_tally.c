/*
 * mock_tally.c - the mock LLM provider's own account of the usage it
 * REPORTED to its callers, so that tests can check a gateway's bills
 * against it: totals, the same per model, per API key and per
 * deployment, and one record per chat call (its tag, outcome and the
 * usage the caller received, if any). Served by the control API as
 * GET /_mock/tally and cleared by DELETE /_mock/tally (mock_app.c).
 *
 * A call is recorded once, when its response plan ends (played to its
 * end, cut, or its connection closed), with the outcome mock_app.c
 * derives from what the HTTP layer actually queued: a usage object that
 * was never sent is not counted as reported.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TALLY_MAX_NAMES 256   /* per map; more share the name "(other)" */
#define TALLY_MAX_CALLS 16384 /* call records kept; more are counted */

/* Counters of a set of calls. */
struct tally_sum {
    unsigned long calls;
    unsigned long by_outcome[4]; /* enum sy_mock_outcome */
    long long prompt_tokens;     /* reported usage only */
    long long completion_tokens;
    long long cached_tokens;
    long long reasoning_tokens;
};

struct tally_entry {
    char name[SY_MOCK_TALLY_NAME + 1];
    struct tally_sum sum;
};

/* Names and their sums, searched linearly (tests use a few names). */
struct tally_map {
    struct tally_entry *e; /* owned array */
    size_t n;
    size_t cap;
};

/* One chat call as it ended. */
struct tally_call {
    struct sy_mock_bill bill;
    int status;
    enum sy_mock_outcome outcome;
    size_t events_sent;
};

struct sy_mock_tally {
    pthread_mutex_t lock; /* guards everything below */
    struct tally_sum total;
    struct tally_map by_model;
    struct tally_map by_key;
    struct tally_map by_dep;
    struct tally_call *calls; /* owned array, oldest first */
    size_t ncalls;
    size_t cap;
    unsigned long dropped; /* calls past TALLY_MAX_CALLS */
};

static const char *const tally_outcome_names[] = { "usage", "no_usage", "error",
                                                   "none" };

/* A new, empty tally; free it with sy_mock_tally_free. */
struct sy_mock_tally *
sy_mock_tally_new(void)
{
    struct sy_mock_tally *t = sy_mock_xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->lock, NULL);
    return t;
}

/* Forget every name of "m" (keeping its array). */
static void
tally_map_clear(struct tally_map *m)
{
    m->n = 0;
}

/* Empty "t": every counter and record goes (DELETE /_mock/tally). */
void
sy_mock_tally_reset(struct sy_mock_tally *t)
{
    pthread_mutex_lock(&t->lock);
    memset(&t->total, 0, sizeof(t->total));
    tally_map_clear(&t->by_model);
    tally_map_clear(&t->by_key);
    tally_map_clear(&t->by_dep);
    t->ncalls = 0;
    t->dropped = 0;
    pthread_mutex_unlock(&t->lock);
}

/* Free "t" and all it owns; NULL is fine. */
void
sy_mock_tally_free(struct sy_mock_tally *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_destroy(&t->lock);
    free(t->by_model.e);
    free(t->by_key.e);
    free(t->by_dep.e);
    free(t->calls);
    free(t);
}

/* The sum of "name" in "m", created on first use; past TALLY_MAX_NAMES
 * names, the shared sum "(other)". */
static struct tally_sum *
tally_map_sum(struct tally_map *m, const char *name)
{
    size_t i;

    if (m->n >= TALLY_MAX_NAMES) {
        name = "(other)";
    }
    for (i = 0; i < m->n; i++) {
        if (strcmp(m->e[i].name, name) == 0) {
            return &m->e[i].sum;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = sy_mock_xrealloc(m->e, m->cap * sizeof(*m->e));
    }
    memset(&m->e[m->n], 0, sizeof(m->e[m->n]));
    snprintf(m->e[m->n].name, sizeof(m->e[m->n].name), "%s", name);
    return &m->e[m->n++].sum;
}

/* Add one call to "s". */
static void
tally_add(struct tally_sum *s, const struct sy_mock_bill *b,
          enum sy_mock_outcome o)
{
    s->calls++;
    s->by_outcome[o]++;
    if (o != SY_MOCK_OUT_USAGE) {
        return;
    }
    s->prompt_tokens += b->prompt_tokens;
    s->completion_tokens += b->completion_tokens;
    s->cached_tokens += b->cached_tokens > 0 ? b->cached_tokens : 0;
    s->reasoning_tokens += b->reasoning_tokens > 0 ? b->reasoning_tokens : 0;
}

/*
 * Record one chat call "b" that ended with "status" (0 when nothing was
 * sent) and "outcome" after "events_sent" events (a body counts as one).
 * Thread-safe.
 */
void
sy_mock_tally_record(struct sy_mock_tally *t, const struct sy_mock_bill *b,
                     int status, enum sy_mock_outcome outcome,
                     size_t events_sent)
{
    pthread_mutex_lock(&t->lock);
    tally_add(&t->total, b, outcome);
    tally_add(tally_map_sum(&t->by_model, b->model), b, outcome);
    tally_add(tally_map_sum(&t->by_key, b->key), b, outcome);
    tally_add(tally_map_sum(&t->by_dep, b->dep), b, outcome);
    if (t->ncalls == TALLY_MAX_CALLS) {
        t->dropped++;
    } else {
        if (t->ncalls == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 256;
            t->calls = sy_mock_xrealloc(t->calls, t->cap * sizeof(*t->calls));
        }
        t->calls[t->ncalls].bill = *b;
        t->calls[t->ncalls].status = status;
        t->calls[t->ncalls].outcome = outcome;
        t->calls[t->ncalls].events_sent = events_sent;
        t->ncalls++;
    }
    pthread_mutex_unlock(&t->lock);
}

/* The members of sum "s" (without braces). */
static void
tally_sum_json(const struct tally_sum *s, struct sy_mock_buf *out)
{
    sy_mock_buf_printf(
        out,
        "\"calls\":%lu,\"with_usage\":%lu,"
        "\"without_usage\":%lu,\"errors\":%lu,"
        "\"no_answer\":%lu,\"prompt_tokens\":%lld,"
        "\"completion_tokens\":%lld,\"cached_tokens\":%lld,"
        "\"reasoning_tokens\":%lld",
        s->calls, s->by_outcome[SY_MOCK_OUT_USAGE],
        s->by_outcome[SY_MOCK_OUT_NO_USAGE], s->by_outcome[SY_MOCK_OUT_ERROR],
        s->by_outcome[SY_MOCK_OUT_NONE], s->prompt_tokens, s->completion_tokens,
        s->cached_tokens, s->reasoning_tokens);
}

/* "name":{sums of each entry of "m"}. */
static void
tally_map_json(const char *name, const struct tally_map *m,
               struct sy_mock_buf *out)
{
    size_t i;

    sy_mock_buf_printf(out, ",\"%s\":{", name);
    for (i = 0; i < m->n; i++) {
        sy_mock_buf_puts(out, i ? "," : "");
        sy_mock_buf_json_cstr(out, m->e[i].name);
        sy_mock_buf_puts(out, ":{");
        tally_sum_json(&m->e[i].sum, out);
        sy_mock_buf_puts(out, "}");
    }
    sy_mock_buf_puts(out, "}");
}

/* The token counts of "b" as a usage object. */
static void
tally_usage_json(const struct sy_mock_bill *b, struct sy_mock_buf *out)
{
    sy_mock_buf_printf(out,
                       "{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
                       "\"cached_tokens\":%ld,\"reasoning_tokens\":%ld}",
                       b->prompt_tokens, b->completion_tokens,
                       b->cached_tokens > 0 ? b->cached_tokens : 0,
                       b->reasoning_tokens > 0 ? b->reasoning_tokens : 0);
}

/* One call record (see README.md). */
static void
tally_call_json(unsigned long seq, const struct tally_call *c,
                struct sy_mock_buf *out)
{
    const struct sy_mock_bill *b = &c->bill;

    sy_mock_buf_printf(out, "{\"seq\":%lu,\"deployment\":", seq);
    sy_mock_buf_json_cstr(out, b->dep);
    sy_mock_buf_puts(out, ",\"model\":");
    sy_mock_buf_json_cstr(out, b->model);
    sy_mock_buf_puts(out, ",\"key\":");
    sy_mock_buf_json_cstr(out, b->key);
    sy_mock_buf_puts(out, ",\"tag\":");
    sy_mock_buf_json_cstr(out, b->tag);
    sy_mock_buf_printf(out,
                       ",\"stream\":%s,\"status\":%d,\"outcome\":\"%s\","
                       "\"events_sent\":%zu,\"choices\":%ld,\"usage\":",
                       b->stream ? "true" : "false", c->status,
                       tally_outcome_names[c->outcome], c->events_sent,
                       b->choices > 0 ? b->choices : 1);
    if (c->outcome == SY_MOCK_OUT_USAGE) {
        tally_usage_json(b, out);
    } else {
        sy_mock_buf_puts(out, "null");
    }
    sy_mock_buf_puts(out, ",\"tokens\":");
    if (b->reply) {
        tally_usage_json(b, out);
    } else {
        sy_mock_buf_puts(out, "null");
    }
    sy_mock_buf_puts(out, "}");
}

/* Append the tally as JSON to "out" (GET /_mock/tally). */
void
sy_mock_tally_json(struct sy_mock_tally *t, struct sy_mock_buf *out)
{
    size_t i;

    pthread_mutex_lock(&t->lock);
    sy_mock_buf_puts(out, "{");
    tally_sum_json(&t->total, out);
    tally_map_json("by_model", &t->by_model, out);
    tally_map_json("by_key", &t->by_key, out);
    tally_map_json("by_deployment", &t->by_dep, out);
    sy_mock_buf_puts(out, ",\"log\":[");
    for (i = 0; i < t->ncalls; i++) {
        sy_mock_buf_puts(out, i ? "," : "");
        tally_call_json((unsigned long)i + 1, &t->calls[i], out);
    }
    sy_mock_buf_printf(out, "],\"log_dropped\":%lu}", t->dropped);
    pthread_mutex_unlock(&t->lock);
}
