/*
 * mem.h - allocation wrappers that abort on out-of-memory, and the
 * per-request arena (bump allocator plus a cleanup list).
 *
 * Aborting is acceptable because every size that comes from the network is
 * bounded before it is allocated, and the worker is restartable.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_MEM_H
#define SY_CORE_MEM_H

#include "sy.h"

void *sy_xmalloc(size_t n);
void *sy_xcalloc(size_t nmemb, size_t size);
void *sy_xrealloc(void *p, size_t n);
char *sy_xstrdup(const char *s);
char *sy_xstrndup(const char *s, size_t n);
SY_NORETURN void sy_oom(size_t n);

typedef void (*sy_cleanup_fn)(void *data);

struct sy_arena_block;
struct sy_arena_cleanup;

/* A bump allocator. Everything allocated from it dies in one
 * sy_arena_reset() or sy_arena_cleanup(); registered cleanups run first,
 * in reverse order of registration. Not thread-safe: one per request. */
struct sy_arena {
    struct sy_arena_block *head;       /* owned; newest block first */
    struct sy_arena_cleanup *cleanups; /* owned; newest first */
    struct sy_arena_block *spare;      /* owned; kept by a reset */
    unsigned nspare;                   /* blocks on 'spare' */
    size_t block_size;                 /* default size of a new block */
    size_t bytes;                      /* total bytes handed out */
};

/* Standard-sized blocks a reset keeps besides the first, for the next
 * request: a worker thread then allocates nothing from malloc for a
 * request that fits in (1 + SY_ARENA_SPARE) blocks. */
#define SY_ARENA_SPARE 3

void sy_arena_init(struct sy_arena *a, size_t block_size);
void sy_arena_cleanup(struct sy_arena *a);
void sy_arena_reset(struct sy_arena *a);
void *sy_arena_alloc(struct sy_arena *a, size_t n);
void *sy_arena_zalloc(struct sy_arena *a, size_t n);
char *sy_arena_strdup(struct sy_arena *a, const char *s);
char *sy_arena_strndup(struct sy_arena *a, const char *s, size_t n);
char *sy_arena_printf(struct sy_arena *a, const char *fmt, ...) SY_PRINTF(2, 3);
void sy_arena_on_cleanup(struct sy_arena *a, sy_cleanup_fn fn, void *data);

#endif
