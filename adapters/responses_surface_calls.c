/*
 * responses_surface_calls.c - what a Responses stream keeps of the tool
 * calls it translates (responses_surface_stream.c writes the events):
 * every call given an item (its index, output_index and, while its item
 * is open, its arguments and whether they are whole yet, json_scan.h),
 * found by index in constant time.
 *
 * The calls live in the stream's accumulator (responses_surface_stream.c),
 * which the canonical request's tree owns. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/limits.h"
#include "responses_surface_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* The calls                                                           */

/* Free what 'c' holds; zeroed, it holds nothing again. */
void
sy_rsurf_calls_free(struct rsurf_calls *c)
{
    for (size_t i = 0; i < c->n; i++)
        sy_buf_free(&c->v[i].args);
    free(c->v);
    json_object_put(c->by_index);
    memset(c, 0, sizeof(*c));
}

/* The call with 'index' (its item open or closed), or NULL. The pointer
 * is valid until the next sy_rsurf_calls_add. */
struct rsurf_call *
sy_rsurf_calls_find(struct rsurf_calls *c, int64_t index)
{
    char key[24];
    struct json_object *pos;
    if (c->by_index == NULL)
        return NULL;
    snprintf(key, sizeof(key), "%" PRId64, index);
    if (!json_object_object_get_ex(c->by_index, key, &pos))
        return NULL;
    return &c->v[json_object_get_int64(pos)];
}

/* A new call 'index' (not found in 'c') whose item, at output_index
 * 'at', was just added: open, with no arguments yet. Pointers to other
 * calls are not valid after it. */
struct rsurf_call *
sy_rsurf_calls_add(struct rsurf_calls *c, int64_t index, unsigned at,
                   bool custom)
{
    char key[24];
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4;
        c->v = sy_xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    if (c->by_index == NULL)
        c->by_index = json_object_new_object();
    snprintf(key, sizeof(key), "%" PRId64, index);
    json_object_object_add(c->by_index, key,
                           json_object_new_int64((int64_t)c->n));
    struct rsurf_call *call = &c->v[c->n++];
    memset(call, 0, sizeof(*call));
    call->index = index;
    call->at = at;
    call->custom = custom;
    call->open = true;
    sy_buf_init(&call->args, SY_STREAM_TEXT_MAX);
    c->unwhole++;
    return call;
}

/* Append 'n' bytes of arguments to open 'call' of 'c' and scan them.
 * SY_ETOOBIG (nothing kept) past SY_STREAM_TEXT_MAX bytes held by the
 * open calls in all. */
enum sy_err
sy_rsurf_calls_append(struct rsurf_calls *c, struct rsurf_call *call,
                      const char *p, size_t n)
{
    if (n > SY_STREAM_TEXT_MAX - c->bytes)
        return SY_ETOOBIG;
    enum sy_err e = sy_buf_append(&call->args, p, n);
    if (e != SY_OK)
        return e;
    c->bytes += n;
    bool was = call->scan.whole;
    sy_json_scan_feed(&call->scan, p, n);
    if (call->scan.whole && !was)
        c->unwhole--;
    return SY_OK;
}

/* True when every open call's arguments are whole (or none is open). */
bool
sy_rsurf_calls_whole(const struct rsurf_calls *c)
{
    return c->unwhole == 0;
}

/* The open calls' items were closed (their arguments written into the
 * items): their arguments are freed; later pieces of them find them
 * closed. */
void
sy_rsurf_calls_closed(struct rsurf_calls *c)
{
    for (size_t i = c->first_open; i < c->n; i++) {
        c->v[i].open = false;
        sy_buf_free(&c->v[i].args);
    }
    c->first_open = c->n;
    c->unwhole = 0;
    c->bytes = 0;
}
