/*
 * replay.c - run a fuzz target's inputs without libFuzzer, in a thread
 * with the worker threads' stack (server.thread_stack_kb, 256 KiB by
 * default), against the production build (BUILD's libswitchyard.a, no
 * sanitizer inflating the frames). libFuzzer runs inputs on the main
 * thread's 8 MiB stack, where a recursion that overflows a worker's
 * stack (issue 10's regcomp crash) goes unseen; this catches it as a
 * SIGSEGV on the guard page.
 *
 *   replay_<target> [-s STACK_KB] FILE_OR_DIR...
 * Exit status 0 when every input ran; the input being run is printed
 * first, so a crash names it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as for libFuzzer: a target without set-up has none. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

struct job {
    uint8_t *data;
    size_t size;
};

static void *
run_one(void *arg)
{
    struct job *j = arg;
    LLVMFuzzerTestOneInput(j->data, j->size);
    return NULL;
}

static size_t stack_kb = 256;
static unsigned long count;

static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    struct job j = { NULL, 0 };
    size_t cap = 0;
    for (;;) {
        if (j.size == cap) {
            cap = cap ? cap * 2 : 4096;
            j.data = realloc(j.data, cap);
            if (j.data == NULL)
                abort();
        }
        size_t n = fread(j.data + j.size, 1, cap - j.size, f);
        if (n == 0)
            break;
        j.size += n;
    }
    fclose(f);
    fprintf(stderr, "replay: %s\n", path);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_kb * 1024);
    pthread_t t;
    if (pthread_create(&t, &attr, run_one, &j) != 0)
        abort();
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    free(j.data);
    count++;
    return 0;
}

static int
replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        replay_path(sub);
    }
    closedir(d);
    return 0;
}

int
main(int argc, char **argv)
{
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "-s") == 0) {
        stack_kb = strtoul(argv[2], NULL, 10);
        i = 3;
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (; i < argc; i++)
        replay_path(argv[i]);
    printf("replay: %lu inputs on a %zu KiB stack\n", count, stack_kb);
    return 0;
}
