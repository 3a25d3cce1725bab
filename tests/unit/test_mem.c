/*
 * test_mem.c - unit tests for core/base/mem.c: the request arena (alignment,
 * big allocations, cleanups in reverse order, reuse after reset, printf)
 * and the aborting allocation wrappers. Includes mem.c to look at the
 * block list.
 * SPDX-License-Identifier: MIT
 */
#include "base/mem.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static size_t
nblocks(const struct sy_arena *a)
{
    size_t n = 0;
    for (const struct sy_arena_block *b = a->head; b != NULL; b = b->next)
        n++;
    return n;
}

static void
test_init_allocates_nothing(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 0);
    assert_null(a.head);
    assert_null(a.cleanups);
    assert_int_equal(a.block_size, 8192);
    assert_int_equal(a.bytes, 0);
    sy_arena_cleanup(&a);
    sy_arena_init(&a, 1000);
    assert_int_equal(a.block_size, 1000);
    sy_arena_cleanup(&a);
}

static void
test_alignment(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 256);
    const size_t align = _Alignof(max_align_t);
    /* Odd sizes, across several blocks and one-off big blocks. */
    static const size_t sizes[] = { 1,   3,    7,  8,   9,    15,  16,
                                    17,  31,   33, 100, 127,  129, 200,
                                    255, 1000, 1,  2,   5000, 3 };
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < SY_ARRAY_LEN(sizes); i++) {
            char *p = sy_arena_alloc(&a, sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % align, 0);
            /* The whole allocation is usable (ASan checks the bounds). */
            memset(p, 0xab, sizes[i]);
            long double *ld = sy_arena_alloc(&a, sizeof(*ld));
            *ld = 1.5L;
            assert_true(*ld == 1.5L);
        }
    }
    /* Zero bytes still gives a usable, aligned pointer, and the next
     * allocation stays aligned. */
    void *z1 = sy_arena_alloc(&a, 0);
    assert_non_null(z1);
    assert_int_equal((uintptr_t)z1 % align, 0);
    void *z2 = sy_arena_alloc(&a, 1);
    assert_int_equal((uintptr_t)z2 % align, 0);
    sy_arena_cleanup(&a);
}

static void
test_allocations_do_not_overlap(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 512);
    char *ptrs[200];
    size_t lens[200];
    for (size_t i = 0; i < 200; i++) {
        lens[i] = (i * 37) % 700 + 1;
        ptrs[i] = sy_arena_alloc(&a, lens[i]);
        memset(ptrs[i], (int)(i & 0xff), lens[i]);
    }
    for (size_t i = 0; i < 200; i++)
        for (size_t j = 0; j < lens[i]; j++)
            assert_int_equal((unsigned char)ptrs[i][j], i & 0xff);
    sy_arena_cleanup(&a);
}

static void
test_big_allocations(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    char *small1 = sy_arena_strdup(&a, "first");
    size_t before = nblocks(&a);
    assert_int_equal(before, 1);
    /* Far bigger than a block: a one-off block of its own. */
    size_t big = 1u << 20;
    char *p = sy_arena_alloc(&a, big);
    memset(p, 'x', big);
    assert_int_equal(nblocks(&a), 2);
    /* The standard block stays in front, so small allocations keep
     * filling it instead of wasting a new block each time. */
    assert_int_equal(a.head->size, 1024);
    char *small2 = sy_arena_strdup(&a, "second");
    assert_int_equal(nblocks(&a), 2);
    assert_string_equal(small1, "first");
    assert_string_equal(small2, "second");
    assert_int_equal(p[0], 'x');
    assert_int_equal(p[big - 1], 'x');
    /* A big allocation as the very first one. */
    struct sy_arena b;
    sy_arena_init(&b, 1024);
    char *q = sy_arena_alloc(&b, 10000);
    memset(q, 'y', 10000);
    char *r = sy_arena_strdup(&b, "after");
    assert_string_equal(r, "after");
    assert_int_equal(q[9999], 'y');
    sy_arena_cleanup(&b);
    assert_null(b.head);
    sy_arena_cleanup(&a);
    assert_null(a.head);
    assert_int_equal(a.bytes, 0);
}

static void
test_bytes_counter(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    sy_arena_alloc(&a, 1);
    assert_true(a.bytes >= 1);
    size_t b1 = a.bytes;
    sy_arena_alloc(&a, 100);
    assert_true(a.bytes >= b1 + 100);
    sy_arena_reset(&a);
    assert_int_equal(a.bytes, 0);
    sy_arena_cleanup(&a);
}

/* Records the order in which cleanups ran. */
struct order {
    int seen[16];
    int n;
};

struct tag {
    struct order *o;
    int id;
};

static void
record(void *data)
{
    struct tag *t = data;
    assert_true(t->o->n < 16);
    t->o->seen[t->o->n++] = t->id;
}

static void
register_three(struct sy_arena *a, struct order *o, struct tag *tags, int first)
{
    for (int i = 0; i < 3; i++) {
        tags[i].o = o;
        tags[i].id = first + i;
        sy_arena_on_cleanup(a, record, &tags[i]);
        /* Interleave allocations, so cleanups sit in different blocks. */
        sy_arena_alloc(a, 300);
    }
}

static void
test_cleanups_reverse_on_reset(void **state)
{
    (void)state;
    struct sy_arena a;
    struct order o = { { 0 }, 0 };
    struct tag tags[3];
    sy_arena_init(&a, 256);
    register_three(&a, &o, tags, 1);
    sy_arena_reset(&a);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.seen[0], 3);
    assert_int_equal(o.seen[1], 2);
    assert_int_equal(o.seen[2], 1);
    assert_null(a.cleanups);
    /* A second reset runs nothing again. */
    sy_arena_reset(&a);
    assert_int_equal(o.n, 3);
    sy_arena_cleanup(&a);
    assert_int_equal(o.n, 3);
}

static void
test_cleanups_reverse_on_cleanup(void **state)
{
    (void)state;
    struct sy_arena a;
    struct order o = { { 0 }, 0 };
    struct tag tags[3];
    sy_arena_init(&a, 256);
    register_three(&a, &o, tags, 10);
    sy_arena_cleanup(&a);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.seen[0], 12);
    assert_int_equal(o.seen[1], 11);
    assert_int_equal(o.seen[2], 10);
    assert_null(a.head);
    assert_null(a.cleanups);
    /* Cleaned up arenas can be used again (documented). */
    sy_arena_init(&a, 256);
    assert_string_equal(sy_arena_strdup(&a, "again"), "again");
    sy_arena_cleanup(&a);
}

static void
free_it(void *p)
{
    free(p);
}

static void
test_reset_keeps_working(void **state)
{
    (void)state;
    struct sy_arena a;
    struct order o = { { 0 }, 0 };
    struct tag tags[3];
    sy_arena_init(&a, 1024);
    for (int req = 0; req < 50; req++) {
        /* A request's worth of allocations, small and big, with a foreign
         * object freed by a cleanup (ASan/LSan catch a missed one). */
        char *s = sy_arena_printf(&a, "request %d", req);
        sy_arena_on_cleanup(&a, free_it, sy_xstrdup("foreign"));
        char *big = sy_arena_alloc(&a, 5000);
        memset(big, req, 5000);
        for (int i = 0; i < 20; i++)
            sy_arena_alloc(&a, 100);
        char want[32];
        snprintf(want, sizeof(want), "request %d", req);
        assert_string_equal(s, want);
        assert_int_equal((unsigned char)big[4999], req);
        sy_arena_reset(&a);
        /* Only the first standard block is kept, emptied. */
        assert_int_equal(nblocks(&a), 1);
        assert_int_equal(a.head->size, a.block_size);
        assert_int_equal(a.head->used, 0);
        assert_int_equal(a.bytes, 0);
    }
    /* Memory handed out after a reset is the kept block's. */
    struct sy_arena_block *kept = a.head;
    char *p = sy_arena_alloc(&a, 10);
    assert_ptr_equal(p, (char *)kept->data);
    register_three(&a, &o, tags, 1);
    sy_arena_reset(&a);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.seen[0], 3);
    sy_arena_cleanup(&a);
}

static size_t
nspare(const struct sy_arena *a)
{
    size_t n = 0;
    for (const struct sy_arena_block *b = a->spare; b != NULL; b = b->next)
        n++;
    return n;
}

/* A reset keeps up to SY_ARENA_SPARE standard blocks besides the first,
 * and the next request takes them before asking malloc for more. */
static void
test_reset_keeps_spare_blocks(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    const size_t used = SY_ARENA_SPARE + 3; /* blocks one request fills */
    for (size_t i = 0; i < 2 * used; i++)
        sy_arena_alloc(&a, 512); /* two fill a standard block */
    sy_arena_alloc(&a, 4000);    /* a one-off big block: never kept */
    assert_int_equal(nblocks(&a), used + 1);
    sy_arena_reset(&a);
    assert_int_equal(nblocks(&a), 1);
    assert_int_equal(nspare(&a), SY_ARENA_SPARE);
    assert_int_equal(a.nspare, SY_ARENA_SPARE);
    for (const struct sy_arena_block *b = a.spare; b != NULL; b = b->next)
        assert_int_equal(b->size, a.block_size);
    /* The spares come back, in use again and emptied. */
    struct sy_arena_block *first_spare = a.spare;
    sy_arena_alloc(&a, 512);
    sy_arena_alloc(&a, 512);           /* the kept head is full */
    char *p = sy_arena_alloc(&a, 512); /* so a spare serves this */
    assert_ptr_equal(a.head, first_spare);
    assert_ptr_equal(p, (char *)first_spare->data);
    assert_int_equal(a.head->used, 512);
    assert_int_equal(nspare(&a), SY_ARENA_SPARE - 1);
    /* A cleanup frees the spares too (LSan checks). */
    sy_arena_cleanup(&a);
    assert_null(a.spare);
    assert_int_equal(a.nspare, 0);
}

static void
test_reset_of_unused_arena(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 512);
    sy_arena_reset(&a);
    assert_null(a.head);
    /* Only big blocks: none is kept. */
    sy_arena_alloc(&a, 4096);
    sy_arena_reset(&a);
    assert_int_equal(nblocks(&a), 0);
    assert_string_equal(sy_arena_strdup(&a, "ok"), "ok");
    sy_arena_cleanup(&a);
}

static void
test_zalloc_strdup_strndup(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 256);
    /* Dirty the block first so zalloc has something to clear. */
    memset(sy_arena_alloc(&a, 200), 0xff, 200);
    sy_arena_reset(&a);
    unsigned char *z = sy_arena_zalloc(&a, 200);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(z[i], 0);
    char *d = sy_arena_strdup(&a, "hello");
    assert_string_equal(d, "hello");
    char *n = sy_arena_strndup(&a, "hello world", 5);
    assert_string_equal(n, "hello");
    char *e = sy_arena_strndup(&a, "abc", 0);
    assert_string_equal(e, "");
    /* strndup copies exactly n bytes, even with a NUL inside. */
    char *m = sy_arena_strndup(&a, "a\0b", 3);
    assert_memory_equal(m, "a\0b\0", 4);
    sy_arena_cleanup(&a);
}

static void
test_printf(void **state)
{
    (void)state;
    struct sy_arena a;
    sy_arena_init(&a, 128);
    assert_string_equal(sy_arena_printf(&a, "%s-%d-%zu", "x", -3, (size_t)7),
                        "x--3-7");
    assert_string_equal(sy_arena_printf(&a, "%s", ""), "");
    /* Longer than a block. */
    char big[3000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *p = sy_arena_printf(&a, "<%s>", big);
    assert_int_equal(strlen(p), sizeof(big) + 1);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[1], 'q');
    assert_int_equal(p[sizeof(big)], '>');
    sy_arena_cleanup(&a);
}

/* Run sy_arena_alloc(n) in a child. Returns NULL when it did not return
 * (it aborted as documented, or a sanitizer's allocator refused the
 * size), else what went wrong: it handed out a pointer, or it corrupted
 * the heap on the way (caught by ASan in sanitizer builds; the report is
 * kept out of the test output). */
static const char *
alloc_problem(size_t n)
{
    FILE *err = tmpfile();
    assert_non_null(err);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fileno(err), 2);
        struct sy_arena a;
        sy_arena_init(&a, 0);
        void *p = sy_arena_alloc(&a, n);
        (void)p;
        _exit(42);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    char text[8192];
    rewind(err);
    size_t len = fread(text, 1, sizeof(text) - 1, err);
    text[len] = '\0';
    fclose(err);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
        return "returned a pointer";
    if (strstr(text, "heap-buffer-overflow") != NULL)
        return "overflowed the heap (ASan heap-buffer-overflow)";
    return NULL;
}

static void
test_impossible_sizes_abort(void **state)
{
    (void)state;
    /* A size that cannot be allocated aborts (mem.h); it must never hand
     * out a pointer to a smaller block. BUG for sizes within a block
     * header of SIZE_MAX: sizeof(block) + size wraps to a tiny malloc
     * (helper4 report [17]). */
    static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - 20, SIZE_MAX / 2,
                                    SIZE_MAX - 40, SIZE_MAX - 62 };
    for (size_t i = 0; i < SY_ARRAY_LEN(sizes); i++) {
        const char *why = alloc_problem(sizes[i]);
        if (why != NULL)
            fail_msg("sy_arena_alloc(SIZE_MAX - %zu) %s instead of "
                     "aborting",
                     SIZE_MAX - sizes[i], why);
    }
}

static void
test_x_wrappers(void **state)
{
    (void)state;
    char *s = sy_xstrdup("abc");
    assert_string_equal(s, "abc");
    free(s);
    s = sy_xstrndup("abcdef", 2);
    assert_string_equal(s, "ab");
    free(s);
    /* Zero sizes return a freeable non-NULL pointer. */
    void *p = sy_xmalloc(0);
    assert_non_null(p);
    p = sy_xrealloc(p, 0);
    assert_non_null(p);
    free(p);
    unsigned *c = sy_xcalloc(4, sizeof(unsigned));
    for (int i = 0; i < 4; i++)
        assert_int_equal(c[i], 0);
    c = sy_xrealloc(c, 100 * sizeof(unsigned));
    assert_int_equal(c[3], 0);
    free(c);
    p = sy_xcalloc(0, 0);
    assert_non_null(p);
    free(p);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_allocates_nothing),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_allocations_do_not_overlap),
        cmocka_unit_test(test_big_allocations),
        cmocka_unit_test(test_bytes_counter),
        cmocka_unit_test(test_cleanups_reverse_on_reset),
        cmocka_unit_test(test_cleanups_reverse_on_cleanup),
        cmocka_unit_test(test_reset_keeps_working),
        cmocka_unit_test(test_reset_keeps_spare_blocks),
        cmocka_unit_test(test_reset_of_unused_arena),
        cmocka_unit_test(test_zalloc_strdup_strndup),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_impossible_sizes_abort),
        cmocka_unit_test(test_x_wrappers),
    };
    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
