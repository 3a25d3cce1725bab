/*
 * responses_int.h - private to the OpenAI Responses adapter (provider
 * type "openai-responses": an OpenAI deployment called with POST
 * {base_url}/responses). responses.c: the table, errors, replies and
 * stream events; responses_request.c: the HTTP request and the
 * translation of chat requests; responses_native.c: the requests of
 * callers who spoke the Responses API themselves; responses_done.c: the
 * stream's closing events checked against its deltas. Calls go one way:
 * responses.c -> responses_native.c -> responses_request.c, and
 * responses.c -> responses_done.c, never the reverse. Not for the core
 * or other adapters: they see only sy_adapter_openai_responses, through
 * adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_RESPONSES_INT_H
#define SY_ADAPTERS_RESPONSES_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The adapter's name, which is also the dialect of a native caller. */
#define RESPONSES_NAME "openai-responses"

/* The most output items of one streamed response the adapter follows
 * (a reply with more is broken). */
#define RESPONSES_MAX_ITEMS 4096

/* The smallest max_output_tokens the Responses API takes (it answers
 * 400 below it). */
#define RESPONSES_MIN_OUTPUT 16

/* The most content parts of one message item the adapter follows. */
#define RESPONSES_MAX_PARTS 64

/* What an output item is, as its first event said. */
enum responses_kind {
    RESPONSES_UNSEEN,  /* no event named it yet */
    RESPONSES_MESSAGE, /* a message (text and refusal parts) */
    RESPONSES_CALL,    /* a function_call */
    RESPONSES_OTHER    /* reasoning, a built-in tool: 'type' says which */
};

/* One content part of a message item: what its deltas (or, when none
 * came, its first closing event) said, for the closing events to be
 * checked against (responses_done.c). */
struct responses_part {
    bool seen;           /* a delta or a closing event gave its text */
    bool refusal;        /* a refusal part, else output_text */
    struct sy_buf *text; /* the text so far (NULL: none; arena cleanup) */
};

/* Stream state of one output item, by output_index. The chat
 * translation uses tool and args; the rest is what the provider
 * announced and streamed, which every closing event must repeat. */
struct responses_item {
    enum responses_kind kind;
    const char *type;             /* RESPONSES_OTHER: the item's type */
    const char *call_id, *name;   /* RESPONSES_CALL (arena) */
    int tool;                     /* its chat tool_calls index */
    bool args;                    /* argument bytes were passed on (chat) */
    bool args_came;               /* the provider gave argument bytes */
    struct sy_buf *args_text;     /* ... these (NULL: none; arena cleanup) */
    struct responses_part *parts; /* by content_index (arena) */
    size_t nparts;
};

/* Per-attempt state: the core hands ctx_size zeroed bytes to every call.
 * Only the reply side uses it (stream events, responses.c and
 * responses_done.c); call, f,
 * emit and emit_ud are those of the event being translated. */
struct responses_ctx {
    struct sy_adapter_call *call;
    struct sy_failure *f;
    sy_emit_fn emit;
    void *emit_ud;
    const char *id; /* arena strings */
    const char *model;
    int64_t created;
    bool started, done;
    int ntools;                   /* function calls seen (chat indexes) */
    struct responses_item *items; /* by output_index (arena) */
    size_t nitems;                /* slots allocated */
    size_t nseen;                 /* 1 + the highest output_index seen */
    struct sy_usage usage;
};

/* Whether the caller spoke the Responses API itself (api/surface.h): its
 * own body (req->native.root) is what goes to the provider. */
static inline bool
responses_native(const struct sy_adapter_call *call)
{
    const struct sy_native_req *n = &call->req->native;
    return n->dialect != NULL && strcmp(n->dialect, RESPONSES_NAME) == 0 &&
           n->root != NULL;
}

/* responses_request.c: method, URL ({base_url}/responses) and headers
 * (JSON, the key as a bearer token, the deployment's static headers)
 * into 'out', from the arena. */
void sy_responses_http(struct sy_adapter_call *call, struct sy_http_out *out);

/* responses_request.c: the build_request slot (see adapter.h) for a
 * canonical chat request; SY_EBADREQ with call->fail explained for a
 * request the Responses API cannot take. */
enum sy_err sy_responses_build_request(struct sy_adapter_call *call,
                                       struct sy_http_out *out);

/* responses_request.c: the max_output_tokens to send for 'want' tokens
 * (at least RESPONSES_MIN_OUTPUT). */
int64_t sy_responses_output_limit(int64_t want);

/* responses_native.c: the build_request slot for a native caller: its
 * body with only the allowed fields, the deployment's model, store off
 * and the stream flag. SY_EBADREQ with call->fail explained for a
 * request it cannot send. */
enum sy_err sy_responses_native_request(struct sy_adapter_call *call,
                                        struct sy_http_out *out);

/* responses_done.c: what the deltas built, and whether the closing
 * events (*.done, response.completed) repeat it. Each function returns
 * SY_EUP_PROTO, with x->f explained, when the provider's events do not
 * agree; a closing event whose content no delta gave is that content
 * (some providers stream short items whole). */

/* Passes on the whole text of a part that came only in a closing event
 * (the chat translation emits it). */
typedef enum sy_err (*responses_fill_fn)(struct responses_ctx *x, bool refusal,
                                         const char *text);

/* The state of the item at event 'o''s output_index (grown on demand),
 * or NULL when it is missing or out of range. */
struct responses_item *sy_responses_item_at(struct responses_ctx *x,
                                            struct json_object *o);

/* Item 'it' is of type 'type' (an item's "type"): its kind is set by
 * the first event that names it, and every later one must agree. */
enum sy_err sy_responses_kind(struct responses_ctx *x,
                              struct responses_item *it, const char *type);

/* A text or refusal delta ("delta" of 'o') of a message item part. */
enum sy_err sy_responses_text(struct responses_ctx *x,
                              struct responses_item *it, struct json_object *o,
                              bool refusal);

/* A function call's argument delta: 'piece' of 'len' bytes. */
enum sy_err sy_responses_args(struct responses_ctx *x,
                              struct responses_item *it, const char *piece,
                              size_t len);

/* output_text.done, refusal.done ('key' "text" or "refusal" of 'o') or
 * content_part.done ('key' NULL: its "part"); a text that came only now
 * goes to 'fill'. */
enum sy_err sy_responses_part_done(struct responses_ctx *x,
                                   struct responses_item *it,
                                   struct json_object *o, const char *key,
                                   responses_fill_fn fill);

/* function_call_arguments.done's arguments, or those of a function_call
 * item: 'got' of 'len' bytes; '*fresh' says they came only now (the
 * caller passes them on). */
enum sy_err sy_responses_args_done(struct responses_ctx *x,
                                   struct responses_item *it, const char *got,
                                   size_t len, bool *fresh);

/* output_item.done: the whole item 'item' against what came before;
 * message parts no delta gave go to 'fill'. A function_call item's
 * arguments are checked by the caller (sy_responses_args_done). */
enum sy_err sy_responses_item_done(struct responses_ctx *x,
                                   struct responses_item *it,
                                   struct json_object *item,
                                   responses_fill_fn fill);

/* response.completed or response.incomplete: the messages and function
 * calls in the output of 'response' against those of the stream, in
 * order, each whole (reasoning and built-in tool items are not
 * compared). An empty or missing output array repeats nothing and is
 * taken. */
enum sy_err sy_responses_output_agrees(struct responses_ctx *x,
                                       struct json_object *response);

#endif
