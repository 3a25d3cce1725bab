/*
 * chat.h - the canonical (OpenAI-shaped) chat request, response and stream
 * chunk that the pipeline hands to adapters, and the parsing and
 * validation of what clients send.
 *
 * The canonical request keeps the client's parsed JSON tree (json-c) plus
 * the fields the core needs; adapters read the tree to build the provider
 * request. json-c is used only in chat.c and adapters/.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CHAT_H
#define SY_CORE_CHAT_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/mem.h"

struct json_object;
struct sy_schema;
struct sy_rx_budget;

struct sy_usage {
    bool present;
    int64_t prompt_tokens;     /* includes cached tokens (OpenAI meaning) */
    int64_t completion_tokens; /* includes reasoning tokens */
    int64_t total_tokens;
    int64_t cached_tokens;         /* read from the provider's prompt cache */
    int64_t cache_write_tokens;    /* written to it (Anthropic bills these
                                      above the input price); included in
                                      prompt_tokens, like cached_tokens */
    int64_t cache_write_1h_tokens; /* the part of cache_write_tokens
                                      written for one hour (Anthropic's
                                      ttl "1h", billed above 5-minute
                                      writes) */
    int64_t reasoning_tokens;
};

/* The client's own request when it spoke another wire format than the
 * canonical one (api/surface.h): an adapter of that same format builds
 * the provider request from it, so nothing the canonical model lacks is
 * lost (cache_control, thinking signatures, documents, betas). */
struct sy_native_req {
    const char *dialect;      /* the adapter name whose format it is
                                 ("anthropic"), or NULL: chat completions */
    struct json_object *root; /* the client's body; arena cleanup */
    const char *version;      /* the client's anthropic-version, or NULL */
    const char *beta;         /* the client's anthropic-beta, or NULL */
    const char *required;     /* set when the request can only be sent
                                 natively (to a deployment whose adapter
                                 is 'dialect'): what needs it, for the
                                 caller ("tools.0: the client tool
                                 'bash_20250124'"); static or arena
                                 string. NULL: any deployment */
    uint32_t hidden_tokens;   /* prompt tokens the provider adds for what
                                 the request uses and its body does not
                                 show (the schemas and system prompt of
                                 Anthropic's client tools): counted in
                                 every estimate and worst case */
};

struct sy_chat_req {
    struct json_object *root; /* the client's body; freed by an arena
                                 cleanup */
    const char *model;        /* borrowed from root: the group name */
    bool stream;
    bool include_usage; /* stream_options.include_usage */
    int64_t max_tokens; /* max_completion_tokens or max_tokens; -1 */
    size_t nmessages;
    int response_format;                 /* SY_FORMAT_* */
    struct json_object *response_schema; /* json_schema.schema; borrowed
                                            from root, or NULL */
    /* Compiled at parse time (arena cleanup frees them): the response
     * schema, each function tool's parameters, and the regex budget that
     * every contract check of this request shares. */
    struct sy_schema *response_compiled;
    struct sy_tool_schema *tool_schemas; /* arena array, ntool_schemas */
    size_t ntool_schemas;
    size_t npatterns; /* over all compiled schemas */
    size_t pattern_bytes;
    struct sy_rx_budget *rx_budget; /* arena */
    struct sy_native_req native;    /* set by a surface other than chat */
};

/* A function tool's name and compiled parameters (NULL: none given). */
struct sy_tool_schema {
    const char *name; /* borrowed from the request tree */
    struct sy_schema *params;
};

/* Bound on a caller's max_tokens (core/api/chat.c check_ranges): above any
 * model's output limit, and small enough that token x price x choices
 * sums in 64 bits can never overflow (SY_CHAT_MAX_CHOICES, SY_CHAT_MAX_TOOLS
 * and the other size bounds are in base/limits.h). */
#define SY_CHAT_MAX_TOKENS 10000000

#define SY_FORMAT_TEXT        0
#define SY_FORMAT_JSON_OBJECT 1
#define SY_FORMAT_JSON_SCHEMA 2

struct sy_needs;

struct sy_chat_resp {
    struct json_object *root; /* canonical chat.completion, arena cleanup;
                                 NULL when 'raw' is set */
    const char *raw;          /* body to send as is (adapter did not change
                                 it); borrowed until the request ends */
    size_t raw_len;
    struct sy_usage usage;
    const char *finish_reason;  /* arena string or NULL */
    const char *upstream_model; /* arena string or NULL */
};

enum sy_chunk_kind {
    SY_CHUNK_DATA,  /* one chat.completion.chunk JSON document */
    SY_CHUNK_DONE,  /* the provider ended the stream cleanly */
    SY_CHUNK_NATIVE /* one provider event as it came ("event: ...\ndata:
                       ...\n\n"), emitted before its canonical chunks
                       when the request is native to the adapter */
};

struct sy_chunk {
    enum sy_chunk_kind kind;
    const char *data; /* JSON text, not NUL-terminated */
    size_t len;
    bool usage_only; /* a "choices": [] usage chunk: sent only
                                     when the caller asked for it */
    bool opening;    /* a role-only opening: no content, no tool call, no
                     refusal yet (the pipeline's first token is the first
                     chunk that is neither this nor usage_only) */
    const struct sy_usage *usage; /* set when this chunk carries usage */
    /* The parsed 'data', when the emitter has it (borrowed: valid during
     * the emit call only), and its nesting depth: a consumer may take it
     * instead of parsing 'data' again. NULL: parse 'data'. */
    struct json_object *tree;
    unsigned tree_depth;
};

struct sy_chat_error {
    char message[256];
    const char *param; /* static or arena string, or NULL */
};

enum sy_err sy_chat_req_parse(const char *body, size_t len, unsigned max_depth,
                              struct sy_arena *a, struct sy_chat_req *out,
                              struct sy_chat_error *err);
/* The strict parse of a client body into a JSON object tree that an
 * arena cleanup frees (every surface reads its body through it). */
enum sy_err sy_chat_body_parse(const char *body, size_t len, unsigned max_depth,
                               struct sy_arena *a, struct json_object **root,
                               struct sy_chat_error *err);
/* The checks and fields of sy_chat_req_parse on a tree the caller
 * already parsed (a surface's translation), which the arena frees. */
enum sy_err sy_chat_req_from_tree(struct json_object *root, struct sy_arena *a,
                                  struct sy_chat_req *out,
                                  struct sy_chat_error *err);
enum sy_err sy_chat_resp_write(const struct sy_chat_resp *r,
                               struct sy_buf *out);
enum sy_err sy_chat_error_json(struct sy_buf *out, const char *message,
                               const char *type, const char *param,
                               const char *code);
void sy_chat_json_free(void *obj);
void sy_chat_req_needs(const struct sy_chat_req *r, struct sy_needs *n);
uint32_t sy_chat_req_fields(const struct sy_chat_req *r);
uint32_t sy_chat_req_choices(const struct sy_chat_req *r);
/* The request's regex budget ran out in a contract check: the caller's
 * schema, not the provider, is to blame (answer 400, no failover). */
bool sy_chat_contract_overspent(const struct sy_chat_req *req);
bool sy_chat_resp_contract(const struct sy_chat_req *req,
                           struct sy_chat_resp *resp, unsigned max_depth,
                           struct sy_arena *a, char *err, size_t errlen);
/* A streamed answer, gathered for its contract check at the end. */
struct sy_stream_answer {
    struct sy_buf content;                   /* owned: text deltas */
    struct sy_buf args[SY_STREAM_MAX_CALLS]; /* owned: tool arguments */
    char names[SY_STREAM_MAX_CALLS][72];     /* tool names */
    unsigned ncalls;
    bool truncated;  /* finish_reason "length" */
    bool filtered;   /* finish_reason "content_filter" */
    bool overflowed; /* a piece did not fit: the rest was not gathered */
};

void sy_stream_answer_init(struct sy_stream_answer *s);
void sy_stream_answer_clear(struct sy_stream_answer *s);
void sy_stream_answer_limit(struct sy_stream_answer *s, size_t max);
void sy_stream_answer_free(struct sy_stream_answer *s);
bool sy_chat_chunk_gather(const char *json, size_t len,
                          struct sy_stream_answer *s);
bool sy_chat_stream_contract(const struct sy_chat_req *req,
                             const struct sy_stream_answer *s,
                             unsigned max_depth, struct sy_arena *a, char *err,
                             size_t errlen, bool *fenced);
enum sy_err sy_chat_chunk_with_content(const char *chunk, size_t len,
                                       const char *content, size_t clen,
                                       struct sy_buf *out);
/* Choice 0's delta text of a chunk (copied into 'a'; NULL when none) and
 * whether it finished; false when the chunk has no choice 0. For a
 * filter that rewrites the text as it streams (chat_chunk_text.c). */
bool sy_chat_chunk_text(const char *json, size_t len, struct sy_arena *a,
                        const char **text, size_t *tlen, bool *finished);
struct sy_caps;
bool sy_usage_bound(struct sy_usage *u, const struct sy_caps *caps,
                    uint32_t choices, int64_t sent_max);
void sy_chat_usage_from_json(const struct json_object *usage,
                             struct sy_usage *u);

struct json_object;
struct json_object *sy_chat_usage_json(const struct sy_usage *u);

#endif
