/*
 * adapter.h - the interface every provider adapter implements: a const
 * table of functions that translate between the canonical (OpenAI-shaped)
 * request and response and one provider's wire format.
 *
 * Adapters translate; they never transport: no curl, no Redis, no
 * FastCGI here. The core allocates 'ctx_size' zeroed bytes of per-request
 * state from the request arena and passes them to every call.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_ADAPTER_H
#define SY_ADAPTERS_ADAPTER_H

#include "base/sy.h"
#include "base/buf.h"
#include "chat.h"
#include "config/config.h"
#include "base/err.h"
#include "base/mem.h"

#define SY_ADAPTER_ABI 1

/* Capability bits (what the provider API can do at all; deployments
 * narrow this down in a later issue). */
#define SY_CAP_STREAM         (1u << 0)
#define SY_CAP_TOOLS          (1u << 1)
#define SY_CAP_PARALLEL_TOOLS (1u << 2)
#define SY_CAP_JSON_OBJECT    (1u << 3)
#define SY_CAP_JSON_SCHEMA    (1u << 4)
#define SY_CAP_VISION         (1u << 5)
#define SY_CAP_STREAM_USAGE   (1u << 6)

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

struct sy_adapter_call {
    const struct sy_chat_req *req;   /* the canonical request */
    const struct sy_deployment *dep; /* the chosen deployment */
    const char *api_key;             /* NULL for keyless providers */
    struct sy_arena *arena;          /* the request arena */
    void *ctx;                       /* ctx_size zeroed bytes */
    /* Optional, set by the core (NULL/0 otherwise; adapters check): */
    struct sy_failure *fail;                 /* where build_request explains a
                                            refusal (SY_EBADREQ) with a
                                            caller-safe message */
    const struct sy_header_kv *resp_headers; /* the reply's headers, for
                                            classify and parse_response
                                            (rate-limit reset hints) */
    size_t nresp_headers;
};

struct sy_adapter {
    unsigned abi;                 /* SY_ADAPTER_ABI */
    const char *name;             /* provider "type" in the config */
    unsigned caps;                /* SY_CAP_* */
    size_t ctx_size;              /* per-request private state */
    const char *const *conf_keys; /* extra provider keys this adapter reads
                                     in 'init' (NULL-terminated), or NULL */

    /* Optional, once per provider at config load: validate and digest
     * adapter-specific provider keys ('conf' is a json_object of the
     * provider). Write a message to 'err' on failure. */
    enum sy_err (*init)(const struct sy_provider *p, const void *conf,
                        struct sy_arena *a, const void **adapter_conf,
                        char *err, size_t errlen);

    /* Required: fill 'out' (method, URL, headers, body). No I/O. */
    enum sy_err (*build_request)(struct sy_adapter_call *call,
                                 struct sy_http_out *out);

    /* Required: a complete 2xx reply into the canonical response. Returns
     * SY_EUP_PROTO with 'f' filled for a body that is not a valid reply. */
    enum sy_err (*parse_response)(struct sy_adapter_call *call,
                                  const char *body, size_t len,
                                  struct sy_chat_resp *resp,
                                  struct sy_failure *f);

    /* With SY_CAP_STREAM: feed any split of the 2xx stream body; emits
     * canonical chunks. 'len' == 0 means the upstream closed the stream. */
    enum sy_err (*stream_feed)(struct sy_adapter_call *call, const char *p,
                               size_t len, sy_emit_fn emit, void *ud,
                               struct sy_failure *f);

    /* Required: classify a non-2xx reply ('status', headers already parsed
     * into 'retry_after_ms' by the core, and the bounded 'body'). */
    void (*classify)(struct sy_adapter_call *call, int status, const char *body,
                     size_t len, struct sy_failure *f);

    /* Optional: clear per-attempt state before a retry. */
    void (*reset)(struct sy_adapter_call *call);
};

const struct sy_adapter *sy_adapter_find(const char *name);
const struct sy_adapter *const *sy_adapter_all(size_t *n);

#endif
