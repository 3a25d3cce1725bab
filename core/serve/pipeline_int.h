/*
 * pipeline_int.h - what the files of the request pipeline share
 * (pipeline.c: routing and the chat flow; pipeline_caller.c: identity,
 * limits, budgets and accounting; pipeline_endpoints.c: the small
 * endpoints): the per-request state and the response writers. Not for
 * use outside the pipeline.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_PIPELINE_INT_H
#define SY_CORE_PIPELINE_INT_H

#include "base/sy.h"
#include "base/buf.h"
#include "api/chat.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/traceparent.h"
#include "state/ratelimit.h"
#include "io/upstream.h"
#include "api/adapter.h"
#include "api/surface.h"
#include "contract/unfence_stream.h"
#include "ledger.h"

struct pctx;

/* What a client API needs of the pipeline beyond its surface: I/O that
 * a surface may not do (the Responses API's conversation store). Set
 * per route; NULL members are skipped. */
struct sy_surface_hooks {
    /* After the body is read, before it is parsed: may rewrite it.
     * False when the caller has been answered. */
    bool (*prepare)(struct pctx *c);
    /* After a successful answer: the reply object as the caller got it
     * (a stream's final object). */
    void (*keep)(struct pctx *c, const char *json, size_t len);
};

/* What one attempt did: answered the caller, or move on. */
enum sy_attempt_result { SY_ATTEMPT_DONE, SY_ATTEMPT_NEXT };
struct sy_embed_req;
struct sy_route_plan;

/* The W3C trace context of a request and of its current provider call
 * (pipeline_trace.c). */
struct sy_pipeline_trace {
    char trace_id[SY_TRACE_ID_HEX + 1];  /* the caller's, or a new one */
    char span_id[SY_SPAN_ID_HEX + 1];    /* the gateway's request span */
    char parent_id[SY_SPAN_ID_HEX + 1];  /* the caller's span, or "" */
    uint8_t flags;                       /* trace-flags passed on */
    const char *tracestate;              /* the caller's when valid, or NULL */
    char attempt_id[SY_SPAN_ID_HEX + 1]; /* the current provider call's */
    uint64_t wall_us;                    /* wall clock at pctx.start_us */
    uint64_t provider_us;                /* time spent in provider calls */
    const char *finish_reason;           /* of the call's reply, or NULL */
    const char *response_model;          /* the model the reply names */
};

/* Per-request state, on the stack of sy_pipeline_handle. */
struct pctx {
    struct sy_worker *w;
    struct sy_req *r;
    struct sy_sink *s;
    const char *request_id;
    uint64_t start_us;
    struct sy_pipeline_trace tr;     /* trace context (pipeline_trace.c) */
    const struct sy_deployment *dep; /* the deployment tried last */
    unsigned attempts;
    struct sy_chat_req chat;
    int64_t max_tokens_asked; /* the caller's, before a group's clamp */
    /* the client API the caller speaks (api/surface.h), its stream
     * state, and whether the current attempt goes through natively */
    const struct sy_surface *surface;
    const struct sy_surface_hooks *hooks; /* or NULL */
    void *sst;
    bool native;
    struct sy_buf ev; /* what the surface wrote for one chunk */
    /* a JSON answer streamed as it comes (contract.stream "end"): its
     * markdown fence taken off on the way (contract/unfence_stream.h) */
    bool unfencing;
    struct sy_unfence unf;
    struct sy_buf unf_text, unf_event;
    /* a native stream with a contract to check: the provider's closing
     * events, held until the check passes (never a message_stop before
     * the contract's error event) */
    struct sy_buf native_tail;
    struct sy_buf final_obj; /* a native stream's final reply object, for
                             hooks->keep */
    /* streaming state of the current attempt */
    struct sy_adapter_call call;
    struct sy_upstream_call *uc;
    bool ct_checked;
    bool done_seen;
    bool holding; /* events before the answer are held in 'held' */
    struct sy_buf held;
    const struct sy_group *group;
    bool buffering;        /* contract "buffer": events wait in 'pending'
                               until the whole answer is validated */
    struct sy_buf pending; /* buffered events: a 'T' (carries text) or
                               'N' byte, the length (uint32_t, host
                               order), then the chunk JSON or the native
                               event */
    bool check_stream;     /* the stream has a contract to check */
    bool needs_tools;      /* the request offers tools */
    struct sy_stream_answer answer; /* the streamed answer, for the check */
    struct sy_usage usage;
    struct sy_failure f;
    /* routing and accounting */
    char route[768];         /* x-switchyard-route */
    const char *probe_token; /* set when this attempt is the
                                       breaker's half-open probe */
    uint64_t attempt_start_us;
    uint64_t first_event_us; /* the attempt's first token (pipeline.c) */
    int wait_slot; /* its wait for that event (state/inflight.h), or -1 */
    uint32_t probe_cut_ms;  /* an exploration probe given up this early
                              (pipeline_probe.c); 0: not cut */
    enum sy_err result;     /* the attempt's outcome class */
    int64_t cost_micro_usd; /* of the answered attempt */
    /* the transaction (ledger.h): reservations and attempts */
    struct sy_ledger led;
    /* another transaction than chat (embeddings, pipeline_embed.c): its
     * attempt, run by sy_pipeline_run in place of a chat attempt, and
     * its request; NULL for chat */
    enum sy_attempt_result (*attempt_fn)(struct pctx *c, const char *api_key,
                                         struct sy_attempt *a);
    const struct sy_embed_req *embed;
    struct sy_assemble *as;  /* a non-streaming caller's reply, assembled
                               from a provider stream (NULL: buffered) */
    bool json_reply;         /* ... but the provider sent one JSON reply,
                                gathered in the upstream body buffer */
    uint64_t input_estimate; /* prompt tokens, estimated from the body */
    struct sy_needs needs;   /* the request's (set at admission) */
    bool needs_set;
    uint64_t stream_chunks; /* stream events of this attempt */
    uint64_t stream_bytes;  /* their JSON bytes */
    size_t stream_min_len;  /* the shortest of them: the envelope */
    /* what went wrong on each attempt, for the final error message */
    struct sy_buf why;
    struct sy_failure last;
    bool all_ratelimited;
    uint32_t min_retry_after_ms;
    /* the Responses API's conversation store (pipeline_responses.c):
     * whether to keep the answer, and the input items that led to it */
    bool resp_store;
    const char *resp_input_json; /* a JSON array, in the arena */
    size_t resp_input_len;
    /* hedged requests (pipeline_hedge.c): the plan being run and the
     * index of the deployment tried (set by sy_pipeline_run), and where
     * a hedge builds its request (NULL: the worker's upbody) */
    struct sy_route_plan *plan;
    size_t plan_i;
    struct sy_buf *upbody;
};

/* Response writers (pipeline.c) */
void sy_pipeline_send_head(struct pctx *c, int status, const char *ctype,
                           const char *extra);
void sy_pipeline_send_bytes(struct pctx *c, int status, const char *ctype,
                            const char *extra, const char *p, size_t n);
void sy_pipeline_send_body(struct pctx *c, int status, const char *ctype,
                           const char *extra, const struct sy_buf *body);
void sy_pipeline_send_error(struct pctx *c, int status, const char *message,
                            const char *type, const char *param,
                            const char *code, const char *extra);
void sy_pipeline_send_err(struct pctx *c, enum sy_err e, const char *message,
                          const char *param);
void sy_pipeline_send_stream_error(struct pctx *c, enum sy_err e,
                                   const char *message);

/* Streaming to the caller and shared attempt helpers (pipeline.c) */
void sy_pipeline_note_failure(struct pctx *c, const struct sy_failure *f);
bool sy_pipeline_ctype_is(const char *ct, const char *want);
enum sy_err sy_pipeline_on_stream_data(void *ud, const char *p, size_t n);
enum sy_err sy_pipeline_on_chunk(void *ud, const struct sy_chunk *ch);
void sy_pipeline_classify(struct pctx *c, struct sy_upstream_call *uc,
                          struct sy_failure *f);
bool sy_pipeline_usage_bound(const struct pctx *c, struct sy_usage *u);
enum sy_err sy_pipeline_send_buffered(struct pctx *c, bool fenced,
                                      bool violated);
enum sy_err sy_pipeline_release_held(struct pctx *c);
void sy_pipeline_stream_finish(struct pctx *c, const char *cost_usd);

/* One provider attempt (pipeline_hedge.c: one call, or a hedged pair
 * for a group that hedges; its halves are in pipeline_attempt.c) */
/* The first-byte time-out of an exploration probe of a deployment known
 * slow, in a group that does not hedge (pipeline_probe.c); 0: the
 * deployment's own. Call with 'uc''s timeouts and on_data set. */
#define SY_PROBE_CUT_MIN_MS 1000u
uint32_t sy_pipeline_probe_cut_ms(struct pctx *c,
                                  const struct sy_upstream_call *uc);
/* Did the attempt's call 'uc' end at that cut (nothing came back)? */
bool sy_pipeline_probe_was_cut(const struct pctx *c,
                               const struct sy_upstream_call *uc);
enum sy_attempt_result sy_pipeline_attempt(struct pctx *c, const char *api_key,
                                           struct sy_attempt *a);
/* ... in two halves, for a hedged pair (pipeline_hedge.c) */
bool sy_pipeline_attempt_open(struct pctx *c, const char *api_key,
                              struct sy_attempt *a, struct sy_http_out *out,
                              struct sy_upstream_call *uc,
                              struct sy_failure *f);
enum sy_attempt_result sy_pipeline_attempt_end(struct pctx *c,
                                               struct sy_attempt *a,
                                               struct sy_upstream_call *uc,
                                               enum sy_err e,
                                               struct sy_failure *f);

/* The chat transaction (pipeline_chat.c) and its settlement
 * (pipeline_settle.c) */
void sy_pipeline_handle_chat(struct pctx *c);
void sy_pipeline_handle_count_tokens(struct pctx *c);
struct sy_route_plan;
void sy_pipeline_run(struct pctx *c, struct sy_route_plan *plan);
/* POST /v1/embeddings (pipeline_embed.c) */
void sy_pipeline_handle_embeddings(struct pctx *c);
bool sy_pipeline_admit_group(struct pctx *c, struct sy_ledger *l,
                             const char *model);
void sy_pipeline_settle(struct pctx *c);
void sy_pipeline_settle_budget(struct pctx *c, uint64_t id, int64_t cost);
uint32_t sy_pipeline_budget_ttl_ms(const struct sy_group *g);

/* The small endpoints (pipeline_endpoints.c) */
struct sy_budget_result;
struct sy_vkey;
bool sy_pipeline_reserve_budget(struct pctx *c, const struct sy_vkey *vk,
                                const struct sy_group *g,
                                struct sy_budget_result *b, char *pid,
                                bool *held);
/* One more worst case in the ledger's extra budget reservations
 * (pipeline_caller.c): false when it cannot be had. */
enum sy_err sy_pipeline_reserve_extra(struct pctx *c);
void sy_pipeline_handle_models(struct pctx *c);
void sy_pipeline_handle_model(struct pctx *c);
void sy_pipeline_handle_health(struct pctx *c);
void sy_pipeline_handle_admin(struct pctx *c);

/* The caller's side (pipeline_caller.c) */
struct sy_vkey;
bool sy_pipeline_identify(struct pctx *c, const struct sy_caller_key **out,
                          struct sy_vkey **vk_out);
int64_t sy_pipeline_worst_case_cost(const struct pctx *c,
                                    const struct sy_group *g);
void sy_pipeline_send_caller_limited(struct pctx *c,
                                     const struct sy_caller_key *k,
                                     const struct sy_ratelimit_result *res);
uint64_t sy_pipeline_estimate_tokens(const struct pctx *c);
bool sy_pipeline_json_ctype(const char *content_type);
bool sy_pipeline_read_json_body(struct pctx *c);
void sy_pipeline_log_path(const char *path, int status, char *out, size_t n);

/* Trace context, spans and the access log (pipeline_trace.c) */
void sy_pipeline_trace_begin(struct pctx *c);
bool sy_pipeline_trace_response(const struct pctx *c,
                                char out[SY_TRACEPARENT_LEN + 1]);
void sy_pipeline_trace_call(struct pctx *c, struct sy_upstream_call *uc);
void sy_pipeline_trace_call_done(struct pctx *c, const struct sy_attempt *a,
                                 const struct sy_upstream_call *uc);
void sy_pipeline_trace_end(struct pctx *c, const char *method,
                           const char *path);

/* The Responses API's conversation store (pipeline_responses.c) */
bool sy_pipeline_responses_prepare(struct pctx *c);
void sy_pipeline_responses_keep(struct pctx *c, const char *response_json,
                                size_t len);
void sy_pipeline_handle_response_get(struct pctx *c);
void sy_pipeline_handle_response_delete(struct pctx *c);

#endif
