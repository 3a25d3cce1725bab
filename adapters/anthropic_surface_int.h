/*
 * anthropic_surface_int.h - private to the Anthropic Messages surface:
 * anthropic_surface.c (the caller's request: top-level parameters and
 * tools; the surface table), anthropic_surface_msgs.c (its system prompt
 * and messages, and the checking helpers), anthropic_surface_out.c
 * (replies, stream events and errors going back to the caller) and
 * anthropic_surface_tools_out.c (the tool calls a stream holds back).
 * Calls go one way: anthropic_surface.c uses msgs and out, out uses
 * tools_out, never the reverse.
 * The pipeline sees only sy_surface_messages (api/surface.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_ANTHROPIC_SURFACE_INT_H
#define SY_ADAPTERS_ANTHROPIC_SURFACE_INT_H

#include "api/surface.h"
#include "base/limits.h"
#include "common.h"
#include "json_scan.h"

/* One request's translation: where a refusal goes, and the canonical
 * messages being built (an array inside the canonical tree, which the
 * arena frees whatever happens). */
struct msurf_tr {
    struct sy_arena *a;
    struct sy_chat_error *err;
    struct json_object *msgs;
    bool beta_format;        /* the answer's schema came as output_format */
    const char *native_only; /* the first part of the request that only
                                an Anthropic deployment can serve (a
                                client tool such as bash_20250124, a
                                search_result block), named for the
                                caller; arena string, or NULL */
    uint32_t hidden_tokens;  /* prompt tokens Anthropic adds for them */
};

/* anthropic_surface_msgs.c: refuse the request (SY_EBADREQ); the
 * message starts with the parameter's path, 'at' and 'key' joined with
 * '.' (either may be NULL), as Anthropic's do, and err->param is it. */
enum sy_err sy_msurf_fail(struct msurf_tr *t, const char *at, const char *key,
                          const char *fmt, ...) SY_PRINTF(4, 5);
/* Member 'key' of object 'o' (at path 'at') into '*v' when it has JSON
 * type 'type' (json_type_double takes integers too); absent or null
 * gives NULL, a refusal when 'required'. */
enum sy_err sy_msurf_member(struct msurf_tr *t, struct json_object *o,
                            const char *at, const char *key, json_type type,
                            bool required, struct json_object **v);
enum sy_err sy_msurf_str_member(struct msurf_tr *t, struct json_object *o,
                                const char *at, const char *key, bool required,
                                const char **s);
/* A "type" value the gateway does not take at 'at': Anthropic's tag
 * message listing 'expected', or the server-tool reason. */
enum sy_err sy_msurf_bad_tag(struct msurf_tr *t, const char *at,
                             const char *type, const char *expected);
/* Note that the part at 'at' ('what', e.g. "the client tool 'x'") can
 * only be sent natively; the first such part names the need. */
void sy_msurf_native_only(struct msurf_tr *t, const char *at, const char *what);
/* "system" and "messages" of the caller's body 'root' into t->msgs. */
enum sy_err sy_msurf_messages(struct msurf_tr *t, struct json_object *root);

/* The kind of the content block a stream has open. */
enum msurf_block { MSURF_NONE, MSURF_THINKING, MSURF_TEXT, MSURF_TOOL };

/* A tool call held back while another call's block is open (the
 * provider interleaves the pieces of parallel calls). */
struct msurf_call {
    int64_t index;             /* canonical tool_calls index */
    struct json_object *block; /* its tool_use content block (owned) */
    struct sy_buf args;        /* its arguments so far */
    struct sy_json_scan scan;  /* of 'args' */
};
struct msurf_calls;

/* Stream state (the pipeline hands stream_state_size zeroed bytes to
 * every stream_* call of one request). */
struct msurf_stream {
    bool started; /* message_start (and ping) sent */
    bool ended;   /* message_stop sent: later chunks are ignored */
    bool failed;  /* ended by its own error event (held calls over the
                     bounds): the pipeline's stream error adds none */
    enum msurf_block open;
    unsigned nblocks; /* blocks opened so far; the open one is the last */
    int64_t tool;     /* canonical tool_calls index of the open block */
    /* canonical tool indexes given a block (or held): a bit each, every
     * index the Messages format can number */
    uint64_t tools_seen[SY_ANTHROPIC_MAX_BLOCKS / 64];
    bool any_tool;             /* a tool_use block was sent */
    struct sy_json_scan scan;  /* of the open tool block's arguments */
    struct msurf_calls *calls; /* the held calls (owned by req->root, see
                                   anthropic_surface_tools_out.c), or NULL
                                   before the first */
    const char *finish;        /* the Anthropic stop_reason (static), or NULL */
    char id[72];               /* "msg_..." */
    char model[128];
};

/* anthropic_surface_out.c: the table's slots (see api/surface.h). */
void sy_msurf_error_body(struct sy_buf *out, int status, const char *message,
                         const char *type, const char *param, const char *code);
enum sy_err sy_msurf_reply(const struct sy_chat_req *req,
                           const struct sy_chat_resp *resp, struct sy_arena *a,
                           struct sy_buf *out);
enum sy_err sy_msurf_stream_chunk(void *st, const struct sy_chat_req *req,
                                  const char *json, size_t len,
                                  struct sy_buf *out);
enum sy_err sy_msurf_stream_end(void *st, const struct sy_chat_req *req,
                                const struct sy_usage *usage,
                                const char *cost_usd, struct sy_buf *out);
void sy_msurf_stream_error(void *st, int status, const char *message,
                           const char *type, const char *code,
                           struct sy_buf *out);

/* anthropic_surface_tools_out.c: the held calls (see there). */
struct msurf_calls *sy_msurf_calls(struct msurf_stream *s,
                                   const struct sy_chat_req *req);
void sy_msurf_calls_clear(struct msurf_calls *c);
struct msurf_call *sy_msurf_calls_find(struct msurf_calls *c, int64_t index);
struct msurf_call *sy_msurf_calls_first(struct msurf_calls *c);
struct msurf_call *sy_msurf_calls_add(struct msurf_calls *c, int64_t index,
                                      struct json_object *block);
enum sy_err sy_msurf_calls_append(struct msurf_calls *c,
                                  struct msurf_call *call, const char *p,
                                  size_t n);
void sy_msurf_calls_drop_first(struct msurf_calls *c);

#endif
