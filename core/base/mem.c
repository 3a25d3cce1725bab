/*
 * mem.c - aborting allocation wrappers and the request arena.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sy_arena_block {
    struct sy_arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    max_align_t data[];
};

struct sy_arena_cleanup {
    struct sy_arena_cleanup *next;
    sy_cleanup_fn fn;
    void *data;
};

void
sy_oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof(msg),
                       "switchyard: out of memory allocating %zu bytes\n", n);
    if (len > 0 && write(2, msg, (size_t)len) < 0) {
        /* nothing more we can do */
    }
    abort();
}

void *
sy_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        sy_oom(n);
    return p;
}

void *
sy_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        sy_oom(nmemb * size);
    return p;
}

void *
sy_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        sy_oom(n);
    return q;
}

char *
sy_xstrdup(const char *s)
{
    return sy_xstrndup(s, strlen(s));
}

char *
sy_xstrndup(const char *s, size_t n)
{
    char *p = sy_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Initialise 'a' with blocks of 'block_size' bytes (0 = 8 KiB). No memory
 * is allocated until the first sy_arena_alloc(). */
void
sy_arena_init(struct sy_arena *a, size_t block_size)
{
    a->head = NULL;
    a->cleanups = NULL;
    a->spare = NULL;
    a->nspare = 0;
    a->block_size = block_size ? block_size : 8192;
    a->bytes = 0;
}

static void
run_cleanups(struct sy_arena *a)
{
    struct sy_arena_cleanup *c = a->cleanups;
    a->cleanups = NULL;
    /* Cleanups live in the arena blocks, so read 'next' before calling. */
    while (c != NULL) {
        struct sy_arena_cleanup *next = c->next;
        c->fn(c->data);
        c = next;
    }
}

static void
free_blocks(struct sy_arena_block *b)
{
    while (b != NULL) {
        struct sy_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

/* Run the cleanups and free every block. 'a' may be initialised again. */
void
sy_arena_cleanup(struct sy_arena *a)
{
    run_cleanups(a);
    free_blocks(a->head);
    free_blocks(a->spare);
    a->head = NULL;
    a->spare = NULL;
    a->nspare = 0;
    a->bytes = 0;
}

/* Run the cleanups and forget every allocation, but keep the first
 * standard-sized block and up to SY_ARENA_SPARE more for the next
 * request, so that a long-lived worker thread does not go to malloc (and
 * glibc does not shrink and regrow its heap) on every request. One-off
 * big blocks are freed. */
void
sy_arena_reset(struct sy_arena *a)
{
    run_cleanups(a);
    struct sy_arena_block *keep = NULL;
    struct sy_arena_block *b = a->head;
    while (b != NULL) {
        struct sy_arena_block *next = b->next;
        if (b->size != a->block_size) {
            free(b);
        } else if (keep == NULL) {
            keep = b;
            keep->next = NULL;
            keep->used = 0;
        } else if (a->nspare < SY_ARENA_SPARE) {
            b->next = a->spare;
            a->spare = b;
            a->nspare++;
        } else {
            free(b);
        }
        b = next;
    }
    a->head = keep;
    a->bytes = 0;
}

/* Return 'n' bytes aligned for any type, owned by the arena. Never NULL. */
void *
sy_arena_alloc(struct sy_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    if (need < n || need > SIZE_MAX - sizeof(struct sy_arena_block))
        sy_oom(n);
    struct sy_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t size = need > a->block_size / 2 ? need : a->block_size;
        if (size == a->block_size && a->spare != NULL) {
            b = a->spare;
            a->spare = b->next;
            a->nspare--;
        } else {
            b = sy_xmalloc(sizeof(*b) + size);
        }
        b->size = size;
        b->used = 0;
        if (size == a->block_size || a->head == NULL) {
            b->next = a->head;
            a->head = b;
        } else {
            /* A big one-off block goes behind the current block, which
             * still has room for small allocations. */
            b->next = a->head->next;
            a->head->next = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->bytes += need;
    return p;
}

void *
sy_arena_zalloc(struct sy_arena *a, size_t n)
{
    void *p = sy_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *
sy_arena_strndup(struct sy_arena *a, const char *s, size_t n)
{
    char *p = sy_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
sy_arena_strdup(struct sy_arena *a, const char *s)
{
    return sy_arena_strndup(a, s, strlen(s));
}

char *
sy_arena_printf(struct sy_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = sy_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Register 'fn(data)' to run when the arena is reset or cleaned up; used
 * for foreign objects (json-c trees, curl header lists). */
void
sy_arena_on_cleanup(struct sy_arena *a, sy_cleanup_fn fn, void *data)
{
    struct sy_arena_cleanup *c = sy_arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
}
