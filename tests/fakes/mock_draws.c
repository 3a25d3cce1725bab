/*
 * mock_draws.c - common random numbers for benchmarks (--common-draws):
 * the seed of a chat request's latency draws (time to first token and
 * pace) is taken from what the request asks (its prompt and output
 * limit) and from how many calls of the same gateway request (the trace
 * id of its traceparent) came before, not from the worker's PRNG.
 *
 * Why: a routing benchmark sends the same seeded workload through one
 * group per strategy. With draws from a shared PRNG, which request is
 * unlucky differs between groups, and a p99 over a few hundred requests
 * then differs by more than the strategies do. With common draws, the
 * first answered call of a request is as lucky in every group (each
 * deployment maps the same draw through its own distribution), so the
 * groups differ only by where they sent it. Calls are numbered by the
 * answered ones before them: a retry after an error draws what the failed
 * call would have (as the first call of that request in another group
 * does); a second answered call (a hedge) draws anew, as a second
 * provider call does.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* Trace ids remembered to number the calls of one request, by a hash
 * of the trace id; a trace whose slot another took in between starts
 * again at the first call (about k / DRAWS_SLOTS for a request with k
 * others started between two of its calls: a hedge then draws its
 * first call's luck). */
#define DRAWS_SLOTS 8192

struct draws_slot {
    uint64_t trace; /* hash of the trace id; 0 for an empty slot */
    uint64_t calls; /* calls of that trace seen so far */
};

struct sy_mock_draws {
    pthread_mutex_t lock;
    struct draws_slot slots[DRAWS_SLOTS];
};

/* The keys of a chat body that say what is asked, in every dialect (the
 * model is left out: each group of a benchmark names its own). */
static const char *const draws_keys[] = {
    "system",
    "instructions",
    "systemInstruction",
    "messages",
    "input",
    "contents",
    "max_tokens",
    "max_output_tokens",
    "max_completion_tokens",
    "generationConfig",
};

struct sy_mock_draws *
sy_mock_draws_new(void)
{
    struct sy_mock_draws *d = sy_mock_xcalloc(1, sizeof(*d));

    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void
sy_mock_draws_free(struct sy_mock_draws *d)
{
    if (d != NULL) {
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
}

/* FNV-1a over "len" bytes of "p", continuing from "h". */
static uint64_t
draws_fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The hash of what "body" asks (see draws_keys). */
static uint64_t
draws_prompt_hash(struct json_object *body)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < sizeof(draws_keys) / sizeof(draws_keys[0]); i++) {
        struct json_object *v;
        const char *s;

        if (!json_object_object_get_ex(body, draws_keys[i], &v)) {
            continue;
        }
        s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        h = draws_fnv(h, draws_keys[i], strlen(draws_keys[i]) + 1);
        h = draws_fnv(h, s, strlen(s) + 1);
    }
    return h;
}

/* How many answered calls of the trace in "req"'s traceparent came
 * before this one; 0 without a well-formed traceparent. Only "answered"
 * calls count: a retry after an error draws what the failed call would
 * have, as the first call of the same request does in another group. */
static uint64_t
draws_call_number(struct sy_mock_draws *d, const struct sy_mock_req *req,
                  bool answered)
{
    size_t len = 0;
    const char *tp = sy_mock_req_header(req, "traceparent", &len);
    struct draws_slot *slot;
    uint64_t trace;
    uint64_t n;

    /* "00-" then 32 hex digits of trace id */
    if (tp == NULL || len < 35 || tp[2] != '-') {
        return 0;
    }
    trace = draws_fnv(0xcbf29ce484222325ULL, tp + 3, 32);
    if (trace == 0) {
        trace = 1;
    }
    slot = &d->slots[trace % DRAWS_SLOTS];
    pthread_mutex_lock(&d->lock);
    if (slot->trace != trace) {
        slot->trace = trace;
        slot->calls = 0;
    }
    n = slot->calls;
    slot->calls += answered;
    pthread_mutex_unlock(&d->lock);
    return n;
}

/*
 * Seed "rng" for the latency draws of the chat request "req" with the
 * parsed body "body": equal for the first call of equal requests, under
 * the server's --seed, and anew for each later answered call of one
 * trace ("answered": this call gets no error, reset or stall).
 */
void
sy_mock_draws_seed(struct sy_mock_draws *d, uint64_t seed,
                   const struct sy_mock_req *req, struct json_object *body,
                   bool answered, struct sy_mock_rng *rng)
{
    uint64_t h = draws_prompt_hash(body);
    uint64_t call = draws_call_number(d, req, answered);

    h = draws_fnv(h, &seed, sizeof(seed));
    h = draws_fnv(h, &call, sizeof(call));
    sy_mock_rng_seed(rng, h);
}
