/*
 * adapter.h - the interface every provider adapter implements: a const
 * table of functions that translate between the canonical (OpenAI-shaped)
 * request and response and one provider's wire format.
 *
 * Adapters translate; they never transport: no curl, no Redis, no
 * FastCGI here. They see only base/ and api/: of their deployment they
 * know the struct sy_target below, never the config. The core allocates
 * 'ctx_size' zeroed bytes of per-attempt state from the request arena
 * and passes them to every call; it splits provider streams into events
 * (core/api/sse.h) and hands the adapter one event at a time.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ADAPTER_H
#define SY_CORE_ADAPTER_H

#include "base/sy.h"
#include "base/buf.h"
#include "chat.h"
#include "base/err.h"
#include "base/mem.h"

/* The version of struct sy_adapter; raised when its slots change (3:
 * build_embed and parse_embed). */
#define SY_ADAPTER_ABI 3

/* Capability bits (what the provider API can do at all; deployments
 * narrow this down in a later issue). */
#define SY_CAP_STREAM         (1u << 0)
#define SY_CAP_TOOLS          (1u << 1)
#define SY_CAP_PARALLEL_TOOLS (1u << 2)
#define SY_CAP_JSON_OBJECT    (1u << 3)
#define SY_CAP_JSON_SCHEMA    (1u << 4)
#define SY_CAP_VISION         (1u << 5)
#define SY_CAP_STREAM_USAGE   (1u << 6)
#define SY_CAP_EMBED          (1u << 7) /* build_embed / parse_embed */

/* One HTTP header: a provider's static request header (config), or a
 * header of a provider's reply. */
struct sy_header_kv {
    const char *name;
    const char *value;
};

/* What an adapter may know of the deployment it calls. The config fills
 * one per deployment when it loads (struct sy_deployment embeds it);
 * every pointer is borrowed from the config and lives as long as it. */
struct sy_target {
    const char *model;                  /* upstream model id */
    const char *base_url;               /* the provider's, without a
                                           trailing slash */
    const char *provider_type;          /* the provider's "type" (one adapter
                                           serves several types) */
    const struct sy_header_kv *headers; /* the provider's extra static
                                           request headers */
    size_t nheaders;
    const void *adapter_conf;   /* what the init slot made of the provider's
                                 keys, or NULL (init not run) */
    uint32_t allow_fields;      /* SY_FIELD_* bits: billed request fields the
                                 deployment allows (core/api/caps.h) */
    uint64_t max_output_tokens; /* the deployment's output limit, as the
                                   core reserves and checks it (0:
                                   unknown): an adapter's own default
                                   stays within it */
};

/* The HTTP request an adapter builds. The core owns the storage: 'url'
 * and 'headers' come from the request arena, 'body' is a caller-owned
 * buffer with a maximum. Header lines are "Name: value". */
struct sy_http_out {
    const char *method;
    const char *url;
    const char *headers[16];
    size_t nheaders;
    struct sy_buf *body;
};

/* What an adapter says about a failed call (non-2xx status or an error
 * body): the class, a caller-safe message, and the retry hint. */
struct sy_failure {
    enum sy_err err;
    int status;              /* status to show the caller for caller errors */
    uint32_t retry_after_ms; /* 0 = none given */
    const char *message;     /* arena string, safe to show the caller */
    const char *code;        /* arena string or NULL: upstream error code */
    const char *param;       /* arena string or NULL */
};

/* Stream events go to the core through this callback; return SY_OK to
 * go on, anything else to abort the stream with that error. */
typedef enum sy_err (*sy_emit_fn)(void *ud, const struct sy_chunk *c);

/* One event of a provider stream (core/api/sse.h) and the core's
 * splitter state, which adapters never touch. */
struct sy_sse_event;
struct sy_sse;
/* An embeddings request and reply (core/api/embed.h). */
struct sy_embed_req;
struct sy_embed_resp;

struct sy_adapter_call {
    const struct sy_chat_req *req;  /* the canonical request */
    const struct sy_target *target; /* the chosen deployment */
    const char *api_key;            /* NULL for keyless providers */
    bool stream_upstream;           /* ask the provider for a stream even
                                       though the caller did not (the core
                                       assembles the reply) */
    bool relay_native;              /* the caller speaks this adapter's
                                       format (req->native): the core
                                       relays each stream event as it came
                                       (SY_CHUNK_NATIVE) besides the
                                       adapter's canonical chunks */
    struct sy_arena *arena;         /* the request arena */
    void *ctx;                      /* ctx_size zeroed bytes */
    struct sy_sse *sse;             /* the core's: SSE splitter of this
                                       attempt's stream; NULL at the start
                                       of each attempt (core/api/sse.c) */
    /* Optional, set by the core (NULL/0 otherwise; adapters check): */
    struct sy_failure *fail;                 /* where build_request explains a
                                            refusal (SY_EBADREQ) with a
                                            caller-safe message */
    const struct sy_header_kv *resp_headers; /* the reply's headers, for
                                            classify and parse_response
                                            (rate-limit reset hints) */
    size_t nresp_headers;
    /* Set by build_request when it sent an output limit of its own
     * (Anthropic's default_max_tokens for a request without one); 0:
     * the request's max_tokens, if any, went as it was. The core bounds
     * a reported completion by what the provider was asked. */
    int64_t sent_max_tokens;
};

/* Hide in 'f' (message, code, param) every piece of the call's API key
 * that it quotes (base/secret_redact.h), each cut to 1 KiB first: the
 * core runs it on each
 * failure an adapter reports, before the failure reaches a caller, a
 * log line or a span. A provider that rejects a key may quote it whole. */
void sy_failure_redact(struct sy_failure *f,
                       const struct sy_adapter_call *call);

struct sy_adapter {
    unsigned abi;                 /* SY_ADAPTER_ABI */
    const char *name;             /* provider "type" in the config */
    unsigned caps;                /* SY_CAP_* */
    size_t ctx_size;              /* per-attempt private state */
    const char *const *conf_keys; /* extra provider keys this adapter reads
                                     in 'init' (NULL-terminated), or NULL */

    /* Optional, once per provider at config load: validate and digest
     * adapter-specific provider keys ('conf' is the json_object of the
     * provider, 'type' its "type") into '*adapter_conf', allocated from
     * the config's arena 'a' (the core passes it on as
     * sy_target.adapter_conf). Write a message to 'err' on failure. */
    enum sy_err (*init)(const char *type, const void *conf, struct sy_arena *a,
                        const void **adapter_conf, char *err, size_t errlen);

    /* Required: fill 'out' (method, URL, headers, body). No I/O. */
    enum sy_err (*build_request)(struct sy_adapter_call *call,
                                 struct sy_http_out *out);

    /* Required: a complete 2xx reply into the canonical response. Returns
     * SY_EUP_PROTO with 'f' filled for a body that is not a valid reply. */
    enum sy_err (*parse_response)(struct sy_adapter_call *call,
                                  const char *body, size_t len,
                                  struct sy_chat_resp *resp,
                                  struct sy_failure *f);

    /* With SY_CAP_STREAM: translate one event of the 2xx stream into
     * canonical chunks, emitted through 'emit'. The core splits the byte
     * stream into events (sy_sse_stream_feed, core/api/sse.c). 'ev' ==
     * NULL means the upstream closed the stream after its last event: end
     * the stream (finish, usage, done) or fail it. A failure is returned
     * and explained in 'f'. */
    enum sy_err (*stream_event)(struct sy_adapter_call *call,
                                const struct sy_sse_event *ev, sy_emit_fn emit,
                                void *ud, struct sy_failure *f);

    /* Optional: the provider's own count of a request's input tokens,
     * for a caller that speaks this adapter's format (call->req->native;
     * Anthropic's POST /v1/messages/count_tokens). Fill 'out' like
     * build_request; a 2xx reply ({"input_tokens": N}) goes to the
     * caller unchanged. */
    enum sy_err (*build_count)(struct sy_adapter_call *call,
                               struct sy_http_out *out);

    /* Required: classify a non-2xx reply ('status', headers already parsed
     * into 'retry_after_ms' by the core, and the bounded 'body'). */
    void (*classify)(struct sy_adapter_call *call, int status, const char *body,
                     size_t len, struct sy_failure *f);

    /* Optional, both or neither: embeddings (core/api/embed.h). The core
     * sets call->req to an empty chat request. build_embed fills 'out'
     * like build_request from the caller's request (always asking for
     * floats: the core encodes base64 itself); SY_EBADREQ with
     * call->fail explained for a request the provider cannot take.
     * parse_embed reads a complete 2xx reply into 'resp' (one vector per
     * input, in input order; usage when the provider reports it);
     * SY_EUP_PROTO with 'f' filled for a body that is not a valid
     * reply. Error replies go through classify. */
    enum sy_err (*build_embed)(struct sy_adapter_call *call,
                               const struct sy_embed_req *req,
                               struct sy_http_out *out);
    enum sy_err (*parse_embed)(struct sy_adapter_call *call, const char *body,
                               size_t len, struct sy_embed_resp *resp,
                               struct sy_failure *f);
};

const struct sy_adapter *sy_adapter_find(const char *name);
const struct sy_adapter *const *sy_adapter_all(size_t *n);

/* Whether the provider is asked for a stream: the caller asked for one,
 * or the core serves a non-streaming caller from a stream. */
static inline bool
sy_adapter_streams(const struct sy_adapter_call *call)
{
    return call->req->stream || call->stream_upstream;
}

#endif
