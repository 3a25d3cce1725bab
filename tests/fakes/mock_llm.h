/*
 * mock_llm.h - shared declarations of the mock LLM provider (tests/fakes).
 *
 * One binary, build/mock-llm, made of: mock_util.c (buffers, clock, PRNG),
 * mock_http.c (epoll HTTP/1.1 server: the workers), mock_conn.c (its
 * connections: parsing, timers, playing plans), mock_parse.c (request
 * heads, header and query lookups), mock_fault.c (fault specs),
 * mock_state.c (deployments, stats, request log), mock_profile.c
 * (profiles, prompt caching), mock_tally.c (the
 * usage reported to callers), mock_app.c (routing, control API),
 * mock_reply.c (faults and replies to response plans), the
 * dialects mock_openai.c, mock_anthropic.c and mock_gemini.c,
 * mock_embed.c (embeddings in the OpenAI and Gemini dialects), and
 * mock_llm.c (main). A test tool, never linked into
 * the gateway.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FAKES_MOCK_LLM_H
#define SY_FAKES_MOCK_LLM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* ---- limits ------------------------------------------------------------ */

#define SY_MOCK_MAX_HEAD       (64 * 1024)         /* request line + headers */
#define SY_MOCK_MAX_BODY       (8 * 1024 * 1024)   /* request body, bytes */
#define SY_MOCK_MAX_HEADERS    128                 /* header lines */
#define SY_MOCK_MAX_PATH       4096                /* request target, bytes */
#define SY_MOCK_MAX_DEPS       1024                /* deployments */
#define SY_MOCK_MAX_DEP_NAME   64                  /* deployment name, bytes */
#define SY_MOCK_LOG_SLOTS      16                  /* requests kept per dep */
#define SY_MOCK_LOG_MAX_BODY   (1024 * 1024)       /* recorded body, bytes */
#define SY_MOCK_MAX_BODY_BYTES (64L * 1024 * 1024) /* fault body_bytes */
#define SY_MOCK_MAX_DELAY_MS   (3600L * 1000)      /* any single delay */
#define SY_MOCK_MAX_PIECES     4096                /* stream content pieces */
#define SY_MOCK_MAX_CALLS      128                 /* fault parallel_calls */
#define SY_MOCK_MAX_MODEL      256                 /* model name from a path */
#define SY_MOCK_MAX_CHOICES    128                 /* OpenAI "n" */
#define SY_MOCK_MAX_TOOLS      128                 /* tool names kept */
#define SY_MOCK_TALLY_NAME     64                  /* names kept by the tally */

/* embeddings (mock_embed.c) */
#define SY_MOCK_EMBED_INPUTS 2048  /* inputs of one request */
#define SY_MOCK_EMBED_DIM    16384 /* values of one embedding */

/* ---- base: growable byte buffer (mock_util.c) -------------------------- */

struct sy_mock_buf {
    char *data; /* owned; NUL-terminated when cap > 0 */
    size_t len; /* bytes used, NUL excluded */
    size_t cap; /* bytes allocated */
};

void sy_mock_buf_reserve(struct sy_mock_buf *b, size_t extra);
void sy_mock_buf_append(struct sy_mock_buf *b, const void *p, size_t n);
void sy_mock_buf_puts(struct sy_mock_buf *b, const char *s);
void sy_mock_buf_printf(struct sy_mock_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sy_mock_buf_json_str(struct sy_mock_buf *b, const char *s, size_t n);
void sy_mock_buf_json_cstr(struct sy_mock_buf *b, const char *s);
long sy_mock_utf8_chars(const char *s, size_t len);
void sy_mock_buf_reset(struct sy_mock_buf *b, size_t keep_cap);
void sy_mock_buf_cleanup(struct sy_mock_buf *b);

void *sy_mock_xmalloc(size_t n);
void *sy_mock_xcalloc(size_t count, size_t n);
void *sy_mock_xrealloc(void *p, size_t n);
char *sy_mock_xstrndup(const char *s, size_t n);

struct json_object *sy_mock_json_parse(const char *s, size_t len);
int64_t sy_mock_now_ms(void);
bool sy_mock_parse_long(const char *s, long min, long max, long *out);
void sy_mock_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- base: deterministic PRNG (splitmix64 seeded xorshift64*) ---------- */

struct sy_mock_rng {
    uint64_t state; /* never 0 */
};

void sy_mock_rng_seed(struct sy_mock_rng *r, uint64_t seed);
uint64_t sy_mock_rng_next(struct sy_mock_rng *r);
double sy_mock_rng_unit(struct sy_mock_rng *r);   /* [0, 1) */
double sy_mock_rng_normal(struct sy_mock_rng *r); /* N(0, 1) */

/* ---- fault specs (mock_fault.c) ---------------------------------------- */

/* One bit per key of a fault spec; "has" says which keys were given. */
enum sy_mock_fault_key {
    SY_MOCK_F_DELAY_MS = 1u << 0,
    SY_MOCK_F_DELAY_JITTER_MS = 1u << 1,
    SY_MOCK_F_DELAY_DIST = 1u << 2,
    SY_MOCK_F_STATUS = 1u << 3,
    SY_MOCK_F_RETRY_AFTER = 1u << 4,
    SY_MOCK_F_ERROR_BODY = 1u << 5,
    SY_MOCK_F_RESET = 1u << 6,
    SY_MOCK_F_STALL = 1u << 7,
    SY_MOCK_F_STALL_MS = 1u << 8,
    SY_MOCK_F_STREAM_STALL_AFTER = 1u << 9,
    SY_MOCK_F_STREAM_DROP_AFTER = 1u << 10,
    SY_MOCK_F_MALFORMED = 1u << 11,
    SY_MOCK_F_FENCED = 1u << 12,
    SY_MOCK_F_CONTENT = 1u << 13,
    SY_MOCK_F_CHUNKS = 1u << 14,
    SY_MOCK_F_CHUNK_DELAY_MS = 1u << 15,
    SY_MOCK_F_USAGE = 1u << 16,
    SY_MOCK_F_TOOL_ARGUMENTS = 1u << 17,
    SY_MOCK_F_CONTENT_TYPE = 1u << 18,
    SY_MOCK_F_BODY_BYTES = 1u << 19,
    SY_MOCK_F_RATE = 1u << 20,
    SY_MOCK_F_COUNT = 1u << 21,
    SY_MOCK_F_STREAM_ERROR = 1u << 22,
    SY_MOCK_F_PARALLEL_CALLS = 1u << 23,
    SY_MOCK_F_ONLY_KEY = 1u << 24,
    SY_MOCK_F_NO_USAGE = 1u << 25,
    SY_MOCK_F_TAG = 1u << 26,
    SY_MOCK_F_TOOL_NAME = 1u << 27,
    SY_MOCK_F_CHUNK_DELAY_DIST = 1u << 28,
    SY_MOCK_F_PROMPT_CACHE = 1u << 29,
    SY_MOCK_F_HEAD_STALL_MS = 1u << 30
};

/*
 * A parsed fault spec. Heap specs (sy_mock_fault_parse) are immutable and
 * reference counted, so a worker can use a deployment's spec while the
 * control API replaces it. A merged spec (sy_mock_fault_merge) lives on the
 * stack and borrows its strings from the specs it was merged from.
 */
struct sy_mock_fault {
    atomic_int refs; /* heap specs only */
    unsigned has;    /* enum sy_mock_fault_key bits */
    long delay_ms;
    long delay_jitter_ms;
    double p50_ms; /* delay_dist */
    double p99_ms;
    double tok_p50_ms; /* chunk_delay_dist: per-token time of a request */
    double tok_p99_ms;
    long status;
    long retry_after; /* seconds */
    char *error_body; /* owned (heap spec) or borrowed (merged) */
    bool reset;
    bool stall;
    long stall_ms;
    long head_stall_ms;      /* silent after the head, before the body */
    long stream_stall_after; /* data events */
    long stream_drop_after;  /* data events */
    bool malformed;
    bool fenced;
    char *content; /* same ownership as error_body */
    long chunks;
    long chunk_delay_ms;
    long prompt_tokens; /* usage; -1 when not given */
    long completion_tokens;
    long cached_tokens;
    long reasoning_tokens;
    long cache_creation_tokens;
    char *tool_arguments; /* same ownership as error_body */
    char *content_type;   /* same ownership as error_body */
    long body_bytes;
    double rate; /* 0..1 */
    long count;
    bool stream_error;     /* stream: an error event, then the end */
    long parallel_calls;   /* tool calls in one reply */
    char *only_key;        /* apply only to requests sent with this
                                 * API key; same ownership as error_body */
    bool no_usage;         /* replies and streams carry no usage */
    char *tag;             /* label of the call in the tally; same
                          * ownership as error_body */
    char *tool_name;       /* the tool to call when the request declares
                          * it; same ownership as error_body */
    long cache_min_tokens; /* prompt_cache: shortest cached prefix */
    long cache_entries;    /* prompt_cache: prefixes remembered */
    long cache_ttl_ms;     /* prompt_cache: a prefix unused this long is
                            * forgotten */
    char *json;            /* owned: the spec as given, for GET */
};

struct sy_mock_fault *sy_mock_fault_parse(struct json_object *obj, char *err,
                                          size_t err_len);
struct sy_mock_fault *sy_mock_fault_parse_text(const char *text, size_t len,
                                               size_t *used, char *err,
                                               size_t err_len);
struct sy_mock_fault *sy_mock_fault_ref(struct sy_mock_fault *f);
void sy_mock_fault_unref(struct sy_mock_fault *f);
void sy_mock_fault_merge(struct sy_mock_fault *out,
                         const struct sy_mock_fault *base,
                         const struct sy_mock_fault *over);
long sy_mock_fault_delay_ms(const struct sy_mock_fault *f,
                            struct sy_mock_rng *rng);
long sy_mock_fault_token_ms(const struct sy_mock_fault *f,
                            struct sy_mock_rng *rng);
bool sy_mock_fault_key_matches(const struct sy_mock_fault *f, const char *key,
                               size_t key_len);

/* ---- deployments, stats and the request log (mock_state.c) ------------- */

struct sy_mock_log_slot {
    bool used;
    int64_t t_ms;            /* monotonic ms when received */
    struct sy_mock_buf head; /* owned: request line and headers, raw */
    struct sy_mock_buf body; /* owned: body, cut at LOG_MAX_BODY */
    bool body_cut;           /* body was longer than recorded */
};

/*
 * One deployment. Created on first use and never freed before exit, so
 * workers may keep plain pointers to it. Counters are atomics; "lock"
 * guards the fault fields, the PRNG and the request log.
 */
struct sy_mock_dep {
    char name[SY_MOCK_MAX_DEP_NAME + 1];
    struct sy_mock_dep *next; /* hash chain, owned by the state */
    atomic_ulong requests;
    atomic_ulong streams;
    atomic_long in_flight;
    atomic_long max_in_flight;
    atomic_ulong by_status[600]; /* index = HTTP status, 0 = reset */
    pthread_mutex_t lock;
    struct sy_mock_fault *fault; /* owned ref, NULL when none */
    long fault_left;             /* for "count"; -1 = unlimited */
    struct sy_mock_rng rate_rng; /* for "rate" */
    struct sy_mock_log_slot log[SY_MOCK_LOG_SLOTS];
    unsigned log_next;             /* next slot to write */
    struct sy_mock_fault *profile; /* owned ref: the spec under every
                                    * request's (mock_profile.c) */
    struct sy_mock_pcache *pcache; /* owned: prefixes seen (prompt_cache) */
};

struct sy_mock_state;

struct sy_mock_state *sy_mock_state_new(uint64_t seed);
void sy_mock_state_free(struct sy_mock_state *st);
bool sy_mock_state_valid_name(const char *name, size_t len);
struct sy_mock_dep *sy_mock_state_dep(struct sy_mock_state *st,
                                      const char *name, size_t len);
void sy_mock_state_set_fault(struct sy_mock_state *st, struct sy_mock_dep *dep,
                             struct sy_mock_fault *take);
struct sy_mock_fault *sy_mock_state_take_fault(struct sy_mock_dep *dep,
                                               const char *key, size_t key_len);
void sy_mock_state_clear_faults(struct sy_mock_state *st);
void sy_mock_state_fault_json(struct sy_mock_dep *dep, struct sy_mock_buf *out);
void sy_mock_state_record(struct sy_mock_dep *dep, const char *head,
                          size_t head_len, const char *body, size_t body_len);
void sy_mock_state_requests_json(struct sy_mock_dep *dep,
                                 struct sy_mock_buf *out);
void sy_mock_state_clear_requests(struct sy_mock_state *st,
                                  struct sy_mock_dep *only);
void sy_mock_state_stats_json(struct sy_mock_state *st,
                              struct sy_mock_buf *out);
void sy_mock_state_reset_stats(struct sy_mock_state *st);
void sy_mock_state_begin(struct sy_mock_dep *dep);
void sy_mock_state_end(struct sy_mock_dep *dep);
void sy_mock_state_count_status(struct sy_mock_dep *dep, int status);

/* ---- profiles and prompt caching (mock_profile.c) ---------------------- */

/*
 * A profile is a fault spec (without rate, count or only_key) that lies
 * under every request of a deployment: its fault spec and a request's
 * [[mock ...]] override it key by key. It holds what the deployment is
 * like (latency distributions, prompt caching) while faults come and go.
 */
struct sy_mock_pcache;

/* The leading parts of one chat request: after item i (the system text,
 * then each message), the hash of items 0..i and their text characters. */
struct sy_mock_prefix {
    size_t n;
    uint64_t hash[1024];
    long chars[1024];
};

bool sy_mock_profile_set(struct sy_mock_dep *dep, struct sy_mock_fault *take,
                         char *err, size_t err_len);
struct sy_mock_fault *sy_mock_profile_take(struct sy_mock_dep *dep);
void sy_mock_profile_json(struct sy_mock_dep *dep, struct sy_mock_buf *out);
void sy_mock_prefix_of(struct json_object *body, struct sy_mock_prefix *out);
long sy_mock_pcache_lookup(struct sy_mock_dep *dep,
                           const struct sy_mock_fault *f,
                           const struct sy_mock_prefix *pre);
void sy_mock_pcache_store(struct sy_mock_dep *dep,
                          const struct sy_mock_fault *f,
                          const struct sy_mock_prefix *pre);

/* ---- the dialect table (one file per provider API) --------------------- */

enum sy_mock_op {
    SY_MOCK_OP_NONE = 0,
    SY_MOCK_OP_CHAT,
    SY_MOCK_OP_MODELS,
    SY_MOCK_OP_COUNT, /* count the prompt tokens of a chat request */
    SY_MOCK_OP_EMBED  /* embeddings (mock_embed.c) */
};

/* A chat request reduced to what the mock needs; strings are borrowed
 * from the parsed request body and live as long as it does. */
struct sy_mock_chat {
    const char *model; /* "" when absent */
    bool stream;
    bool include_usage;
    long prompt_chars;          /* characters of all message texts */
    const char *last_user_text; /* for [[mock ...]]; NULL when none */
    bool has_tools;
    bool tool_choice_none;
    const char *tool_name;   /* first tool or the forced one */
    bool tool_forced;        /* the tool choice names tool_name */
    bool last_is_tool;       /* the last turn carries a tool result */
    const char *tool_result; /* the tool result the last turn carries */
    long choices;            /* OpenAI "n" (1..SY_MOCK_MAX_CHOICES); 0
                              * counts as 1 */
    /* the declared tool names (the first SY_MOCK_MAX_TOOLS) */
    const char *tools[SY_MOCK_MAX_TOOLS];
    size_t n_tools;
    char model_buf[SY_MOCK_MAX_MODEL + 1]; /* owned storage for a model
                                            * taken from the path */
};

/* The answer the mock gives, computed by mock_reply.c from the chat request
 * and the effective fault spec; all pointers borrowed for one call. */
struct sy_mock_reply {
    const struct sy_mock_chat *chat;
    const char *id;               /* e.g. "chatcmpl-mock-7" */
    const char *call_id;          /* e.g. "call_mock_3": the first call */
    const char *call_prefix;      /* e.g. "call_mock_" */
    unsigned long long call_base; /* number in call_id; call k of a
                                   * parallel reply has call_base + k */
    long n_calls;                 /* parallel_calls, or 1 */
    long long created;            /* Unix seconds */
    bool is_tool_call;
    const char *content; /* text, or the tool call arguments (a
                                 * JSON object for dialects that want
                                 * one); {"i":k} when n_calls > 1 */
    size_t content_len;
    const size_t *piece_end; /* stream pieces: ends within content */
    size_t n_pieces;
    const char *finish_reason; /* "stop" or "tool_calls" */
    long prompt_tokens;
    long completion_tokens;
    long cached_tokens;         /* -1: leave out */
    long reasoning_tokens;      /* -1: leave out */
    long cache_creation_tokens; /* -1: leave out (or 0) */
    bool malformed;             /* stream: add one invalid event */
    bool stream_error;          /* stream: error event after the first
                                 * content event, then the end */
    bool no_usage;              /* leave the usage out everywhere */
    long choices;               /* identical choices of a text reply
                                 * (OpenAI "n"); 1 otherwise */
};

/* Tool call "k" of a reply (sy_mock_reply_call). */
struct sy_mock_call {
    char id[64];      /* call_prefix + number */
    const char *args; /* borrowed from the reply, or args_buf */
    size_t args_len;
    size_t half;       /* streams send args[0, half) and then
                                 * args[half, args_len); either may be
                                 * empty */
    char args_buf[32]; /* storage for {"i":k} */
};

void sy_mock_reply_call(const struct sy_mock_reply *r, long k,
                        struct sy_mock_call *out);
void sy_mock_chat_declare(struct sy_mock_chat *chat, const char *name);
bool sy_mock_chat_declares(const struct sy_mock_chat *chat, const char *name);
long sy_mock_chat_prompt_tokens(const struct sy_mock_chat *chat);
void sy_mock_chat_pick_tool(struct sy_mock_chat *chat,
                            const struct sy_mock_fault *f);

/* Server-sent events: one buffer, "end" holds where each event ends. */
struct sy_mock_events {
    struct sy_mock_buf buf; /* owned */
    size_t *end;            /* owned array */
    size_t n;
    size_t cap;
    size_t usage_at; /* events up to and including the one that
                      * carries the final usage; 0 when none does
                      * (set by the dialect's render_stream) */
};

void sy_mock_events_mark(struct sy_mock_events *ev);
void sy_mock_events_reset(struct sy_mock_events *ev);
void sy_mock_events_cleanup(struct sy_mock_events *ev);

struct sy_mock_req;

/*
 * One provider API. Columns: name; route (maps a path without deployment
 * prefix to an operation and the method it wants); parse_chat (request,
 * path without deployment prefix and parsed body to sy_mock_chat, false
 * plus a message for a 400); render_models, render_error (status,
 * Retry-After seconds or -1, message), render_reply (non-streaming body),
 * render_malformed (an invalid body), render_stream (all events of a
 * stream, including the terminator); stream_content_type; id_prefix and
 * call_prefix (reply and tool call ids are these plus a number);
 * tool_args_object (tool call arguments must be a JSON object: other
 * tool_arguments become {}).
 */
struct sy_mock_dialect {
    const char *name;
    enum sy_mock_op (*route)(const char *path, const char **method);
    bool (*parse_chat)(const struct sy_mock_req *req, const char *path,
                       struct json_object *body, struct sy_mock_chat *chat,
                       char *err, size_t err_len);
    void (*render_models)(struct sy_mock_buf *out);
    void (*render_error)(int status, long retry_after, const char *message,
                         struct sy_mock_buf *out);
    void (*render_reply)(const struct sy_mock_reply *r,
                         struct sy_mock_buf *out);
    void (*render_malformed)(const struct sy_mock_reply *r,
                             struct sy_mock_buf *out);
    void (*render_stream)(const struct sy_mock_reply *r,
                          struct sy_mock_events *ev);
    const char *stream_content_type;
    const char *id_prefix;
    const char *call_prefix;
    bool tool_args_object;
};

extern const struct sy_mock_dialect sy_mock_dialect_openai;
extern const struct sy_mock_dialect sy_mock_dialect_anthropic;
extern const struct sy_mock_dialect sy_mock_dialect_gemini;
extern const struct sy_mock_dialect sy_mock_dialect_responses;

/* ---- the tally of reported usage (mock_tally.c) ------------------------ */

/* How a chat call ended, as its caller saw it. */
enum sy_mock_outcome {
    SY_MOCK_OUT_USAGE = 0, /* a 2xx answer with its (final) usage */
    SY_MOCK_OUT_NO_USAGE,  /* a 2xx answer whose usage the caller never
                            * got: left out, stream cut, caller gone */
    SY_MOCK_OUT_ERROR,     /* an error status (3xx to 5xx) */
    SY_MOCK_OUT_NONE       /* nothing sent: reset, stall, or the caller
                            * left before the head */
};

/* What one chat call is about to report: filled while its plan is made
 * (mock_app.c, mock_reply.c), recorded when the plan ends. */
struct sy_mock_bill {
    bool active; /* a chat call: record it when its plan ends */
    char dep[SY_MOCK_TALLY_NAME + 1];
    char model[SY_MOCK_TALLY_NAME + 1];
    char key[SY_MOCK_TALLY_NAME + 1]; /* the API key, "-" when none */
    char tag[SY_MOCK_TALLY_NAME + 1]; /* fault key "tag", "" when none */
    bool stream;
    bool reply;      /* a reply was made: the token counts are set */
    bool body_usage; /* not streamed: the body carries the usage */
    long choices;
    long prompt_tokens; /* what the reply's usage says */
    long completion_tokens;
    long cached_tokens;    /* -1: not shown */
    long reasoning_tokens; /* -1: not shown */
};

struct sy_mock_tally;

struct sy_mock_tally *sy_mock_tally_new(void);
void sy_mock_tally_free(struct sy_mock_tally *t);
void sy_mock_tally_record(struct sy_mock_tally *t, const struct sy_mock_bill *b,
                          int status, enum sy_mock_outcome outcome,
                          size_t events_sent);
void sy_mock_tally_json(struct sy_mock_tally *t, struct sy_mock_buf *out);
void sy_mock_tally_reset(struct sy_mock_tally *t);

/* ---- common latency draws for benchmarks (mock_draws.c) ---------------- */

struct sy_mock_draws;
struct sy_mock_req;
struct json_object;

struct sy_mock_draws *sy_mock_draws_new(void);
void sy_mock_draws_free(struct sy_mock_draws *d);
void sy_mock_draws_seed(struct sy_mock_draws *d, uint64_t seed,
                        const struct sy_mock_req *req, struct json_object *body,
                        bool answered, struct sy_mock_rng *rng);

/* ---- HTTP requests and response plans (mock_conn.c <-> mock_app.c) ----- */

struct sy_mock_header {
    const char *name; /* borrowed from the connection buffer */
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* A parsed request; everything is borrowed from the connection and valid
 * only during sy_mock_app_handle. */
struct sy_mock_req {
    char method[16];
    const char *path;  /* NUL-terminated copy, no query */
    const char *query; /* after '?', "" when none */
    const char *head;  /* raw request line and headers */
    size_t head_len;
    const struct sy_mock_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
};

/* What to do after the last event of a plan was sent. */
enum sy_mock_end {
    SY_MOCK_END_DONE = 0, /* response complete */
    SY_MOCK_END_STALL,    /* go silent, keep the connection */
    SY_MOCK_END_DROP      /* close abruptly */
};

/*
 * A response plan, filled by sy_mock_app_handle and played by the HTTP
 * layer: wait "delay_ms", then send the head and event 0 (the whole body
 * when not streaming), then each further event "chunk_delay_ms" apart.
 * Owned by the connection and reused between requests.
 */
struct sy_mock_plan {
    int status;
    char content_type[128];
    long retry_after;         /* seconds, -1 for none */
    bool is_stream;           /* chunked, one chunk per event */
    bool must_close;          /* close after this response */
    struct sy_mock_events ev; /* body (n == 0) or stream events */
    long delay_ms;
    long head_stall_ms; /* after the head, before event 0 or the body */
    long chunk_delay_ms;
    size_t ev_limit; /* events to send before "end" */
    enum sy_mock_end end;
    bool reset;                  /* RST after the delay, nothing sent */
    bool stall;                  /* never answer */
    struct sy_mock_dep *dep;     /* counts in_flight; NULL for none */
    struct sy_mock_bill bill;    /* what a chat call reports */
    struct sy_mock_tally *tally; /* borrowed: where "bill" goes */
    bool head_sent;              /* the HTTP layer queued the head */
    size_t ev_sent;              /* events queued (a body counts 1) */
};

struct sy_mock_server {
    struct sy_mock_state *state; /* shared, see mock_state.c */
    struct sy_mock_tally *tally; /* shared, see mock_tally.c */
    uint64_t seed;               /* --seed */
    struct sy_mock_draws *draws; /* --common-draws; NULL without */
    bool quiet;                  /* --quiet */
    atomic_ullong next_id;       /* <id_prefix><n>, all dialects */
    atomic_ullong next_call_id;  /* <call_prefix><n>, all dialects */
};

void sy_mock_plan_reset(struct sy_mock_plan *p);
void sy_mock_plan_cleanup(struct sy_mock_plan *p);
void sy_mock_plan_content_type(struct sy_mock_plan *p, const char *type);
void sy_mock_app_handle(struct sy_mock_server *srv, struct sy_mock_rng *rng,
                        const struct sy_mock_req *req,
                        struct sy_mock_plan *plan);
void sy_mock_app_error(int status, const char *message,
                       struct sy_mock_plan *plan);
void sy_mock_app_finish(struct sy_mock_plan *plan);
bool sy_mock_app_load_config(struct sy_mock_server *srv, const char *file);
bool sy_mock_reply_fault(const struct sy_mock_dialect *d,
                         struct sy_mock_rng *rng, const struct sy_mock_fault *f,
                         struct sy_mock_plan *p);
void sy_mock_reply_plan(struct sy_mock_server *srv, struct sy_mock_rng *rng,
                        const struct sy_mock_dialect *d,
                        struct sy_mock_dep *dep,
                        const struct sy_mock_chat *chat,
                        const struct sy_mock_fault *f, struct sy_mock_plan *p);
const char *sy_mock_http_reason(int status);

/* ---- embeddings (mock_embed.c) ----------------------------------------- */

/* An embeddings request reduced to its inputs; strings are borrowed from
 * the parsed body (text[] and len[] are owned arrays of n). */
struct sy_mock_embed {
    const char *model; /* "" when absent */
    size_t n;          /* inputs */
    const char **text; /* each input's text (a token array: its JSON) */
    size_t *len;
    long chars;            /* characters of the text inputs */
    long tokens;           /* tokens of the token-array inputs */
    long dimensions;       /* values per vector (default 8) */
    long prompt_tokens;    /* what an OpenAI reply reports */
    const char *last_text; /* the last text input, for [[mock ...]] */
    char model_buf[SY_MOCK_MAX_MODEL + 1]; /* a model from the path */
};

bool sy_mock_embed_gemini_model(const char *path, const char **model,
                                size_t *len);
bool sy_mock_embed_parse(const struct sy_mock_dialect *d, const char *path,
                         struct json_object *body, struct sy_mock_embed *em,
                         char *err, size_t err_len);
void sy_mock_embed_cleanup(struct sy_mock_embed *em);
void sy_mock_embed_plan(struct sy_mock_rng *rng,
                        const struct sy_mock_dialect *d,
                        struct sy_mock_embed *em, const struct sy_mock_fault *f,
                        struct sy_mock_plan *p);

/* ---- the request head parser (mock_parse.c) ---------------------------- */

enum sy_mock_parse_res {
    SY_MOCK_PARSE_MORE = 0, /* the head is incomplete */
    SY_MOCK_PARSE_HEAD,     /* the head is complete */
    SY_MOCK_PARSE_ERROR     /* answer "status" and close */
};

/* What sy_mock_parse_head found besides the sy_mock_req fields. */
struct sy_mock_parse {
    int status;           /* error status (400, 411, 413, ...) */
    const char *message;  /* static error message */
    size_t head_len;      /* request line and headers, bytes */
    size_t body_len;      /* Content-Length, 0 when absent */
    bool http10;          /* HTTP/1.0 request */
    bool keep_alive;      /* the connection may stay open */
    bool expect_continue; /* Expect: 100-continue */
};

const char *sy_mock_req_header(const struct sy_mock_req *req, const char *lower,
                               size_t *len);
bool sy_mock_req_query_has(const struct sy_mock_req *req, const char *param);
enum sy_mock_parse_res sy_mock_parse_head(const char *p, size_t avail,
                                          size_t *scan, char *path,
                                          struct sy_mock_header *headers,
                                          struct sy_mock_req *req,
                                          struct sy_mock_parse *out);

/* ---- the epoll server (mock_http.c, mock_conn.c) ----------------------- */

struct sy_mock_http;

struct sy_mock_http *sy_mock_http_new(struct sy_mock_server *srv,
                                      const char *host, int port, int threads,
                                      int *bound_port);
bool sy_mock_http_start(struct sy_mock_http *h);
void sy_mock_http_stop(struct sy_mock_http *h);
void sy_mock_http_free(struct sy_mock_http *h);

#endif /* SY_FAKES_MOCK_LLM_H */
