/*
 * responses_surface_int.h - private to the OpenAI Responses surface:
 * responses_surface.c (the caller's top-level parameters, the parse and
 * the surface table), responses_surface_in.c (the input items),
 * responses_surface_tools.c (the tools, and which caller tool a
 * canonical tool name stands for), responses_surface_check.c (the
 * checking helpers of the three), responses_surface_out.c (error
 * bodies, the Response object, replies), responses_surface_stream.c
 * (stream events) and responses_surface_calls.c (the tool calls a stream
 * has open). Calls go one way: responses_surface.c uses the others,
 * _stream.c uses _out.c and _calls.c, _in.c and _out.c use _tools.c,
 * and the request side uses _check.c. The pipeline sees only
 * sy_surface_responses (api/surface.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_RESPONSES_SURFACE_INT_H
#define SY_ADAPTERS_RESPONSES_SURFACE_INT_H

#include "api/surface.h"
#include "common.h"
#include "json_scan.h"

/* One caller tool that the canonical request offers as a function tool:
 * a function, a custom (free-form) tool, or one of either inside a
 * namespace. */
struct rsurf_tool {
    const char *ns;          /* the namespace's name, or NULL */
    const char *name;        /* the tool's own name */
    const char *at;          /* its path in the caller's body (parse only) */
    struct json_object *def; /* the caller's tool object */
    bool custom;             /* a custom tool: its input is free text */
    bool shared;             /* another tool has the same name: the
                                canonical name is "NS__NAME" */
};

/* Every tool of a request: the top-level "tools" and those of
 * "additional_tools" input items, in order. */
struct rsurf_tools {
    struct rsurf_tool v[SY_CHAT_MAX_TOOLS];
    size_t n;
};

/* One request's translation: where a refusal goes, the caller's body,
 * and the canonical tree being built (which the arena frees whatever
 * happens). */
struct rsurf_tr {
    struct sy_arena *a;
    struct sy_chat_error *err;
    struct json_object *root; /* the caller's body */
    struct json_object *tree; /* the canonical request */
    struct json_object *msgs; /* its messages */
    /* The assistant message that function_call items join (the last
     * message, when it is an assistant's), or NULL. */
    struct json_object *asst;
    /* Images and files of tool outputs, waiting for the user message
     * that follows the tool messages (arena cleanup), or NULL. */
    struct json_object *held;
    /* Reasoning summaries for the next assistant message, or NULL. */
    struct sy_buf *reasoning;
    struct rsurf_tools *tools; /* arena */
};

/* ---- responses_surface_check.c: refusals (SY_EBADREQ) in OpenAI's words,
 * err->param the parameter's path ("input[2].content[0].type"); 'at'
 * and 'key' are joined with '.' (either may be NULL). */
enum sy_err sy_rsurf_fail(struct rsurf_tr *t, const char *param,
                          const char *fmt, ...) SY_PRINTF(3, 4);
const char *sy_rsurf_path(struct rsurf_tr *t, const char *at, const char *key);
/* Member 'key' of object 'o' into '*v' when it has JSON type 'type'
 * (json_type_double takes integers too); absent or null gives NULL, a
 * refusal when 'required'. */
enum sy_err sy_rsurf_member(struct rsurf_tr *t, struct json_object *o,
                            const char *at, const char *key, json_type type,
                            bool required, struct json_object **v);
enum sy_err sy_rsurf_str_member(struct rsurf_tr *t, struct json_object *o,
                                const char *at, const char *key, bool required,
                                const char **s);
/* "Invalid value: 'V'. Supported values are: E." for the value at
 * 'param'. */
enum sy_err sy_rsurf_bad_value(struct rsurf_tr *t, const char *param,
                               const char *value, const char *expected);
/* "Invalid type for 'P': expected E, but got T instead." for 'got'. */
enum sy_err sy_rsurf_bad_type(struct rsurf_tr *t, const char *param,
                              const char *expected, struct json_object *got);

/* ---- responses_surface_in.c */
/* "instructions" and "input" of t->root into t->msgs. */
enum sy_err sy_rsurf_input(struct rsurf_tr *t);

/* ---- responses_surface_tools.c */
/* Gather the tools of the caller's body 'root' into 'out'. With a
 * translation 't', each is checked (refusals name its path) and hosted
 * tools are refused or dropped; without one (a reply), what does not
 * check is skipped. */
enum sy_err sy_rsurf_tools_collect(struct rsurf_tr *t, struct json_object *root,
                                   struct rsurf_tools *out);
/* The canonical tools of t->tools into t->tree. */
void sy_rsurf_tools_emit(struct rsurf_tr *t);
/* The canonical name of tool 'name' of namespace 'ns' (NULL: none). */
const char *sy_rsurf_tool_cname(struct rsurf_tr *t, const char *ns,
                                const char *name);
/* Which caller tool the canonical name 'cname' of a call stands for,
 * among those of the caller's body 'root'; NULL when none. */
const struct rsurf_tool *sy_rsurf_tool_find(struct json_object *root,
                                            struct rsurf_tools *scratch,
                                            const char *cname);
/* The free-form input of a custom tool call from its canonical
 * arguments ({"input": "..."}; other text is taken as it is): a new
 * JSON string. */
struct json_object *sy_rsurf_custom_input(const char *args);

/* ---- responses_surface_out.c: the table's slots and what streams share */
void sy_rsurf_error_body(struct sy_buf *out, int status, const char *message,
                         const char *type, const char *param, const char *code);
enum sy_err sy_rsurf_reply(const struct sy_chat_req *req,
                           const struct sy_chat_resp *resp, struct sy_arena *a,
                           struct sy_buf *out);
/* A new response id: "resp_gw" and SY_RSURF_ID_BYTES random bytes in
 * hex, at most 'cap' - 1 bytes (the provider's id is not used: see
 * responses_surface_out.c). */
#define SY_RSURF_ID_BYTES 16
void sy_rsurf_resp_id(char *dst, size_t cap);
/* An output item's id: PREFIX_BASE_N, BASE the response id without
 * "resp_", at most 'cap' - 1 bytes. */
void sy_rsurf_item_id(char *dst, size_t cap, const char *prefix,
                      const char *resp_id, unsigned n);
/* What a Response object says beyond the request's parameters, which
 * it echoes from the caller's body. */
struct rsurf_resp {
    const char *id; /* "resp_..." */
    int64_t created;
    const char *model;
    /* False: in progress, no usage. True: status completed, or
     * incomplete for the canonical finish reasons "length" and
     * "content_filter", and the usage (NULL: zeros). */
    bool ended;
    const char *finish;
    const struct sy_usage *usage;
    /* Appends the output array; 'ctx' is its own. */
    void (*output)(struct sy_buf *out, void *ctx);
    void *ctx;
};
/* Append Response 'r' to 'out' (check sy_buf_err afterwards). */
void sy_rsurf_response_write(struct sy_buf *out, const struct sy_chat_req *req,
                             const struct rsurf_resp *r);
/* True when 'finish' leaves the response incomplete. */
bool sy_rsurf_incomplete(const char *finish);
/* Append the output item of canonical tool call 'cname' (a
 * function_call, or a custom_tool_call for a custom tool), with 'args'
 * as its arguments; sy_rsurf_call_item is the same item as a new tree
 * (NULL only when it cannot be built). */
void sy_rsurf_call_item_write(struct sy_buf *out, const struct sy_chat_req *req,
                              const char *item_id, const char *call_id,
                              const char *cname, const char *args,
                              const char *status);
struct json_object *sy_rsurf_call_item(const struct sy_chat_req *req,
                                       const char *item_id, const char *call_id,
                                       const char *cname, const char *args,
                                       const char *status);
/* The choice with index 0 of a completion or chunk, or NULL. */
struct json_object *sy_rsurf_first_choice(struct json_object *root);
/* The reasoning text of a message or delta, or NULL. */
const char *sy_rsurf_reasoning_of(struct json_object *o);

/* ---- responses_surface_stream.c */
/* The kind of the output item a stream has open. */
enum rsurf_open {
    RSURF_NONE,
    RSURF_REASONING,
    RSURF_TEXT,
    RSURF_REFUSAL, /* a message item whose part is a refusal */
    RSURF_CALL
};

/* One tool call a stream gave an item. */
struct rsurf_call {
    int64_t index;      /* canonical tool_calls index */
    unsigned at;        /* its item's output_index */
    bool custom;        /* a custom_tool_call item (input told at close) */
    bool open;          /* its item is in progress */
    struct sy_buf args; /* its arguments so far (freed at close) */
    struct sy_json_scan scan; /* of 'args' */
};

/* Every tool call of one stream, in the order their items were added
 * (so by output_index); the open ones are v[first_open..n). Zeroed:
 * none (sy_rsurf_calls_free frees what it holds). */
struct rsurf_calls {
    struct rsurf_call *v; /* owned */
    size_t n, cap;
    size_t first_open;
    size_t unwhole;               /* open calls whose arguments are not
                                     whole */
    size_t bytes;                 /* arguments held by open calls */
    struct json_object *by_index; /* index (decimal) -> position in v */
};

/* Stream state (the pipeline hands stream_state_size zeroed bytes to
 * every stream_* call of one request, zeroed again for another
 * attempt). What the stream builds of its Response lives in the
 * canonical request's tree (see responses_surface_stream.c): 'acc'
 * borrows it. Text, refusal and reasoning items open one at a time;
 * function and custom tool calls may have several items open at once
 * (RSURF_CALL), when the provider interleaves parallel calls. */
struct rsurf_stream {
    bool started; /* response.created sent */
    bool ended;   /* response.completed or an error sent */
    bool failed;  /* ended by its own error (tool call arguments over
                     the bound): the pipeline's stream error adds none */
    enum rsurf_open open;
    unsigned nitems; /* output items so far; an open text, refusal or
                        reasoning item is the last */
    int64_t seq;     /* the next event's sequence_number */
    char finish[16]; /* the canonical finish_reason, or "" */
    char id[96];     /* "resp_..." */
    struct rsurf_acc *acc;
};

enum sy_err sy_rsurf_stream_chunk(void *st, const struct sy_chat_req *req,
                                  const char *json, size_t len,
                                  struct sy_buf *out);
enum sy_err sy_rsurf_stream_end(void *st, const struct sy_chat_req *req,
                                const struct sy_usage *usage,
                                const char *cost_usd, struct sy_buf *out);
enum sy_err sy_rsurf_stream_result(void *st, struct sy_buf *out);
void sy_rsurf_native_event(void *st, const char *event, size_t len);
void sy_rsurf_stream_error(void *st, int status, const char *message,
                           const char *type, const char *code,
                           struct sy_buf *out);

/* ---- responses_surface_calls.c: a stream's calls (json_scan.h tells
 * when one is whole) */
void sy_rsurf_calls_free(struct rsurf_calls *c);
struct rsurf_call *sy_rsurf_calls_find(struct rsurf_calls *c, int64_t index);
struct rsurf_call *sy_rsurf_calls_add(struct rsurf_calls *c, int64_t index,
                                      unsigned at, bool custom);
enum sy_err sy_rsurf_calls_append(struct rsurf_calls *c,
                                  struct rsurf_call *call, const char *p,
                                  size_t n);
bool sy_rsurf_calls_whole(const struct rsurf_calls *c);
void sy_rsurf_calls_closed(struct rsurf_calls *c);

#endif
