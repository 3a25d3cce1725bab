/*
 * anthropic_surface_tools_out.c - what a Messages stream keeps of the
 * tool calls it translates (anthropic_surface_out.c writes the events):
 * the calls held back while another one streams (their block, their
 * arguments and whether those are whole yet, json_scan.h; in index
 * order).
 *
 * A surface's state is fixed-size and zeroed per attempt, with no arena
 * and no free slot, so the held calls live in a store that the canonical
 * request's tree owns: json-c userdata on req->root, freed with the tree
 * by the request's arena. Every stream of the request (a hedged pair has
 * two) has its own store in one list there; a new attempt on the same
 * state (zeroed again) takes back the store it had. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/limits.h"
#include "anthropic_surface_int.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* The store                                                           */

/* One stream's held calls, sorted by index, and the next stream's store
 * of the same request. */
struct msurf_calls {
    struct msurf_calls *next;
    const void *owner; /* the stream state it belongs to */
    struct msurf_call *v;
    size_t n, cap;
    size_t bytes; /* arguments held, all calls */
};

/* Free what 'c' holds; the store stays usable. NULL is fine. */
void
sy_msurf_calls_clear(struct msurf_calls *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        json_object_put(c->v[i].block);
        sy_buf_free(&c->v[i].args);
    }
    c->n = 0;
    c->bytes = 0;
}

/* The userdata destructor of the request's tree: every store. */
static void
calls_free(struct json_object *o, void *ud)
{
    (void)o;
    struct msurf_calls *next;
    for (struct msurf_calls *c = ud; c != NULL; c = next) {
        next = c->next;
        sy_msurf_calls_clear(c);
        free(c->v);
        free(c);
    }
}

/* The store of stream 's' (s->calls), made on first use and then owned
 * by req->root; NULL when the request has no tree. The Messages surface
 * owns the userdata of its requests' trees. */
struct msurf_calls *
sy_msurf_calls(struct msurf_stream *s, const struct sy_chat_req *req)
{
    if (s->calls != NULL)
        return s->calls;
    if (req->root == NULL)
        return NULL;
    struct msurf_calls *head = json_object_get_userdata(req->root);
    for (struct msurf_calls *c = head; c != NULL; c = c->next)
        if (c->owner == s) {
            /* An earlier attempt's: its calls went with it. */
            sy_msurf_calls_clear(c);
            return s->calls = c;
        }
    struct msurf_calls *c = sy_xcalloc(1, sizeof(*c));
    c->owner = s;
    if (head == NULL) {
        json_object_set_userdata(req->root, c, calls_free);
    } else {
        c->next = head->next;
        head->next = c;
    }
    return s->calls = c;
}

/* The held call with 'index' in 'c' (which may be NULL), or NULL. */
struct msurf_call *
sy_msurf_calls_find(struct msurf_calls *c, int64_t index)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (c->v[i].index == index)
            return &c->v[i];
    return NULL;
}

/* The held call with the lowest index, or NULL. */
struct msurf_call *
sy_msurf_calls_first(struct msurf_calls *c)
{
    return c != NULL && c->n > 0 ? &c->v[0] : NULL;
}

/* Hold a new call 'index' (not held yet) with its tool_use block
 * 'block' (taken over: freed on failure too). NULL when the store holds
 * SY_ANTHROPIC_MAX_BLOCKS calls already. Pointers to held calls are
 * not valid after it. */
struct msurf_call *
sy_msurf_calls_add(struct msurf_calls *c, int64_t index,
                   struct json_object *block)
{
    if (c->n >= SY_ANTHROPIC_MAX_BLOCKS) {
        json_object_put(block);
        return NULL;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4;
        c->v = sy_xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    size_t at = c->n;
    while (at > 0 && c->v[at - 1].index > index)
        at--;
    memmove(&c->v[at + 1], &c->v[at], (c->n - at) * sizeof(*c->v));
    c->n++;
    struct msurf_call *call = &c->v[at];
    memset(call, 0, sizeof(*call));
    call->index = index;
    call->block = block;
    sy_buf_init(&call->args, SY_STREAM_TEXT_MAX);
    return call;
}

/* Append 'n' bytes of arguments to held 'call' of 'c' and scan them.
 * SY_ETOOBIG (nothing kept) past SY_STREAM_TEXT_MAX bytes held in all. */
enum sy_err
sy_msurf_calls_append(struct msurf_calls *c, struct msurf_call *call,
                      const char *p, size_t n)
{
    if (n > SY_STREAM_TEXT_MAX - c->bytes)
        return SY_ETOOBIG;
    enum sy_err e = sy_buf_append(&call->args, p, n);
    if (e != SY_OK)
        return e;
    c->bytes += n;
    sy_json_scan_feed(&call->scan, p, n);
    return SY_OK;
}

/* Stop holding the first call of 'c' (its block taken or freed by the
 * caller, who set it NULL; its arguments are freed here). */
void
sy_msurf_calls_drop_first(struct msurf_calls *c)
{
    json_object_put(c->v[0].block);
    c->bytes -= c->v[0].args.len;
    sy_buf_free(&c->v[0].args);
    c->n--;
    memmove(&c->v[0], &c->v[1], c->n * sizeof(*c->v));
}
