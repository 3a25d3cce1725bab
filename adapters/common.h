/*
 * common.h - helpers shared by adapters: the SSE event splitter (accepts
 * any split of the byte stream), and OpenAI-style error body reading.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_COMMON_H
#define SY_ADAPTERS_COMMON_H

#include "adapter.h"

/* Largest single SSE event we accept from a provider. */
#define SY_SSE_MAX_EVENT (4u << 20)

struct sy_sse {
    struct sy_buf line;  /* owned: a line split across reads */
    struct sy_buf data;  /* owned: data lines of the current event */
    char event[64];      /* "event:" field of the current event */
    bool has_data;
    bool ready;          /* initialised (and its cleanup registered) */
};

/* Called per complete event; 'data' is NUL-terminated. */
typedef enum sy_err (*sy_sse_event_fn)(void *ud, const char *event,
                                       const char *data, size_t len);

void sy_sse_init(struct sy_sse *s, struct sy_arena *a);
enum sy_err sy_sse_feed(struct sy_sse *s, const char *p, size_t n,
                        sy_sse_event_fn fn, void *ud);
enum sy_err sy_sse_finish(struct sy_sse *s, sy_sse_event_fn fn, void *ud);

void sy_adapter_openai_error(struct sy_adapter_call *call, int status,
                             const char *body, size_t len,
                             struct sy_failure *f);

#endif
