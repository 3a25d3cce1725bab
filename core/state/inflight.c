/*
 * inflight.c - this process's attempts in flight per deployment and the
 * waits of its streams for a first token (inflight.h says why). Lock
 * free: counters, a row of start times per deployment, each an atomic
 * that a thread claims with a compare-and-swap from 0, and the last two
 * ended waits.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "inflight.h"
#include "base/mem.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* An ended wait packed in one atomic: when it ended (ms of the monotonic
 * clock, 40 bits: 34 years) above ENDED_BITS; below, ENDED_LOST when it
 * was a first attempt cut by its hedge's first token, and its length in
 * ms. */
#define ENDED_BITS 24
#define ENDED_LOST (1u << (ENDED_BITS - 1))
#define ENDED_MAX  (ENDED_LOST - 1u)

struct dep_inflight {
    atomic_uint count;
    _Atomic uint64_t started;
    _Atomic uint64_t ended[2]; /* 0: none */
    /* start time in µs of a waiting stream; 0 a free slot */
    _Atomic uint64_t wait_start[SY_INFLIGHT_WAIT_SLOTS];
};

struct sy_inflight {
    size_t ndeps;
    struct dep_inflight *deps;
};

struct sy_inflight *
sy_inflight_new(size_t ndeps)
{
    struct sy_inflight *f = sy_xcalloc(1, sizeof(*f));
    f->ndeps = ndeps;
    f->deps = sy_xcalloc(ndeps + 1, sizeof(*f->deps));
    for (size_t i = 0; i < ndeps; i++) {
        struct dep_inflight *d = &f->deps[i];
        atomic_init(&d->count, 0u);
        atomic_init(&d->started, 0);
        atomic_init(&d->ended[0], 0);
        atomic_init(&d->ended[1], 0);
        for (size_t k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++)
            atomic_init(&d->wait_start[k], 0);
    }
    return f;
}

void
sy_inflight_free(struct sy_inflight *f)
{
    if (f == NULL)
        return;
    free(f->deps);
    free(f);
}

void
sy_inflight_add(struct sy_inflight *f, size_t dep, int delta)
{
    if (f == NULL || dep >= f->ndeps)
        return;
    if (delta > 0) {
        atomic_fetch_add(&f->deps[dep].count, 1u);
        if (atomic_load(&f->deps[dep].started) < UINT64_MAX)
            atomic_fetch_add(&f->deps[dep].started, 1);
    } else {
        atomic_fetch_sub(&f->deps[dep].count, 1u);
    }
}

unsigned
sy_inflight_count(const struct sy_inflight *f, size_t dep)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    return atomic_load(&f->deps[dep].count);
}

uint64_t
sy_inflight_started(const struct sy_inflight *f, size_t dep)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    return atomic_load(&f->deps[dep].started);
}

int
sy_inflight_wait_begin(struct sy_inflight *f, size_t dep, uint64_t now_us)
{
    if (f == NULL || dep >= f->ndeps)
        return -1;
    /* 0 marks a free slot: a start at 0 µs is taken as 1 µs */
    uint64_t start = now_us > 0 ? now_us : 1;
    for (int k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++) {
        uint64_t free_slot = 0;
        if (atomic_load_explicit(&f->deps[dep].wait_start[k],
                                 memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&f->deps[dep].wait_start[k],
                                           &free_slot, start))
            return k;
    }
    return -1;
}

/* Free 'slot' of 'dep': its start, or 0 when it was not taken. */
static uint64_t
release(struct sy_inflight *f, size_t dep, int slot)
{
    if (f == NULL || dep >= f->ndeps || slot < 0 ||
        slot >= SY_INFLIGHT_WAIT_SLOTS)
        return 0;
    return atomic_exchange(&f->deps[dep].wait_start[slot], 0);
}

/* Is the ended wait 'e' held at 'now_ms' (not empty, not expired)? */
static bool
held(uint64_t e, uint64_t now_ms)
{
    return e != 0 && (e >> ENDED_BITS) + SY_INFLIGHT_HOLD_MS > now_ms;
}

void
sy_inflight_wait_end(struct sy_inflight *f, size_t dep, int slot,
                     uint64_t now_us, bool lost)
{
    sy_inflight_wait_end_min(f, dep, slot, now_us, lost, 0);
}

void
sy_inflight_wait_end_min(struct sy_inflight *f, size_t dep, int slot,
                         uint64_t now_us, bool lost, uint32_t min_ms)
{
    uint64_t start = release(f, dep, slot);
    if (start == 0 || start > now_us)
        return;
    uint64_t ms = SY_MAX((now_us - start) / 1000, (uint64_t)min_ms);
    if (ms > ENDED_MAX)
        ms = ENDED_MAX;
    uint64_t now_ms = now_us / 1000;
    uint64_t packed = (now_ms << ENDED_BITS) | (lost ? ENDED_LOST : 0) | ms;
    if (packed == 0) /* 0 marks an empty entry: a clock at 0 (a test's) */
        packed = 1;
    struct dep_inflight *d = &f->deps[dep];
    /* The last two ended waits: this one replaces the older of them (an
     * empty or expired one first); retried when another end got there
     * first, so two ends at once both land. */
    for (;;) {
        uint64_t e0 = atomic_load(&d->ended[0]);
        uint64_t e1 = atomic_load(&d->ended[1]);
        int i = !held(e0, now_ms)                          ? 0
                : !held(e1, now_ms)                        ? 1
                : (e0 >> ENDED_BITS) <= (e1 >> ENDED_BITS) ? 0
                                                           : 1;
        uint64_t old = i == 0 ? e0 : e1;
        if (atomic_compare_exchange_strong(&d->ended[i], &old, packed))
            return;
    }
}

void
sy_inflight_wait_cancel(struct sy_inflight *f, size_t dep, int slot)
{
    (void)release(f, dep, slot);
}

unsigned
sy_inflight_waiting(const struct sy_inflight *f, size_t dep)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    unsigned n = 0;
    for (size_t k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++)
        n += atomic_load_explicit(&f->deps[dep].wait_start[k],
                                  memory_order_relaxed) != 0;
    return n;
}

unsigned
sy_inflight_waiting_longer(const struct sy_inflight *f, size_t dep,
                           uint64_t now_us, uint32_t ms, int except)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    unsigned n = 0;
    for (size_t k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++) {
        uint64_t s = atomic_load_explicit(&f->deps[dep].wait_start[k],
                                          memory_order_relaxed);
        n += (int)k != except && s != 0 && s < now_us &&
             (now_us - s) / 1000 > ms;
    }
    return n;
}

/* Keep the two largest of the values offered in 'top'. */
static void
offer(uint64_t top[2], uint64_t ms)
{
    if (ms > top[0]) {
        top[1] = top[0];
        top[0] = ms;
    } else if (ms > top[1]) {
        top[1] = ms;
    }
}

unsigned
sy_inflight_lost(const struct sy_inflight *f, size_t dep, uint64_t now_us)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    unsigned n = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t e = atomic_load(&f->deps[dep].ended[i]);
        n += held(e, now_us / 1000) && (e & ENDED_LOST);
    }
    return n;
}

uint32_t
sy_inflight_wait_ms(const struct sy_inflight *f, size_t dep, uint64_t now_us)
{
    if (f == NULL || dep >= f->ndeps)
        return 0;
    const struct dep_inflight *d = &f->deps[dep];
    uint64_t top[2] = { 0, 0 };
    for (size_t k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++) {
        uint64_t s =
            atomic_load_explicit(&d->wait_start[k], memory_order_relaxed);
        if (s != 0 && s < now_us)
            offer(top, (now_us - s) / 1000);
    }
    uint64_t now_ms = now_us / 1000;
    for (int i = 0; i < 2; i++) {
        uint64_t e = atomic_load(&d->ended[i]);
        if (held(e, now_ms))
            offer(top, e & ENDED_MAX);
    }
    return top[1] > UINT32_MAX ? UINT32_MAX : (uint32_t)top[1];
}
