/*
 * config.h - the gateway configuration: server settings, providers,
 * deployments and groups, parsed from JSON into immutable structs.
 *
 * A loaded config is read-only and shared by every thread of a process
 * without locks; the only mutable field is the provider key cursor, an
 * atomic counter. Everything hangs off the config's own arena and dies
 * with sy_config_free(). json-c is used only inside config.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CONFIG_H
#define SY_CORE_CONFIG_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "api/adapter.h"
#include "api/caps.h"
#include "base/log.h"
#include "base/mem.h"

#include <stdatomic.h>

/* A deployment's circuit breaker (core/state/breaker.c applies it). */
struct sy_breaker_conf {
    unsigned consecutive;  /* open after this many provider failures in a
                              row; 0 = rule off */
    unsigned min_requests; /* failure-rate rule: at least this many
                              outcomes in the window ... */
    unsigned failure_pct;  /* ... of which this percentage or more failed;
                              0 = rule off */
    uint32_t window_ms;    /* the rolling window of the rate rule */
    uint32_t open_ms;      /* first open period */
    uint32_t open_max_ms;  /* open periods double up to this (before
                              jitter) */
    unsigned jitter_pct;   /* each open period grows by a random 0 to
                              jitter_pct percent */
    uint32_t probe_ms;     /* a half-open probe not reported within this
                              is presumed lost; another may go */
};

/* How a group ranks its deployments (see core/serve/router.c). */
enum sy_strategy {
    SY_STRATEGY_PRIORITY, /* the listed order */
    SY_STRATEGY_LATENCY,  /* lowest expected latency within thresholds */
    SY_STRATEGY_COST,     /* cheapest within thresholds */
    SY_STRATEGY_WEIGHTED  /* random, proportional to weights */
};

/* Per-key request and token limits (0 = no limit). */
struct sy_limits {
    unsigned rpm;
    unsigned tpm;
};

struct sy_price {
    double input_per_mtok;          /* USD per million input tokens */
    double output_per_mtok;         /* USD per million output tokens */
    double cached_input_per_mtok;   /* USD per million cached input tokens */
    double cache_write_per_mtok;    /* USD per million prompt tokens written
                                       to the provider's cache (Anthropic) */
    double cache_write_1h_per_mtok; /* the same for one-hour cache writes
                                       (Anthropic's ttl "1h"); 0: the
                                       cache write price */
};

struct sy_timeouts {
    uint32_t connect_ms;    /* TCP + TLS connect */
    uint32_t first_byte_ms; /* from the start of the call to the first
                               response byte */
    uint32_t idle_ms;       /* longest silence between two body bytes */
    uint32_t total_ms;      /* the whole call, streams included */
};

struct sy_provider {
    const char *name;                 /* key in "providers" */
    const char *type;                 /* adapter name, e.g. "openai" */
    const struct sy_adapter *adapter; /* static table from the registry */
    const char *base_url;             /* without trailing slash */
    const char **keys;                /* API keys read from the environment;
                                         never logged */
    size_t nkeys;
    const char **key_envs; /* names of the variables, for messages */
    size_t nkey_envs;
    bool keyless;                       /* "auth": "none": no key needed */
    const struct sy_header_kv *headers; /* extra static request headers */
    size_t nheaders;
    const void *adapter_conf;    /* from the adapter's init slot, or NULL */
    struct sy_limits key_limits; /* each key's own RPM/TPM */
    double markup_pct;           /* aggregator fee on top of prices */
    unsigned markup_bp;          /* the same in basis points */
    atomic_uint *key_cursor;     /* round-robin position; the one
                                         mutable field */
};

struct sy_deployment {
    const char *name;                   /* key in "deployments" */
    unsigned index;                     /* position in sy_config.deployments */
    const struct sy_provider *provider; /* borrowed from the config */
    const char *model;                  /* upstream model id */
    struct sy_timeouts timeouts;
    size_t max_response_bytes; /* non-streaming body / error body cap */
    bool active;               /* the provider has a key (or none is
                                           needed) */
    unsigned weight;           /* for the weighted strategy */
    struct sy_price price;
    struct sy_caps caps;     /* what it serves natively */
    struct sy_target target; /* what its adapter sees of it: copies of
                                the fields above and of its provider's,
                                filled at load */
};

/* What to do when a reply breaks the requested output format. */
enum sy_contract_policy {
    SY_CONTRACT_NEXT,  /* a failure of that deployment: try the next one */
    SY_CONTRACT_ERROR, /* answer 502 at once */
    SY_CONTRACT_PASS   /* pass the reply on as it is */
};

/* Bounds of a group's "aliases", checked at load, so that resolving a
 * model name stays cheap (core/config/config_alias.c). */
#define SY_GROUP_MAX_ALIASES 32
#define SY_ALIAS_MAX_LEN     128
#define SY_ALIAS_MAX_STARS   4

/* A group's hedged requests ("hedge", config_hedge.c), off by default:
 * a second attempt on the next candidate when the first has produced
 * nothing after 'after_ms' (or its deployment's live p95 time to first
 * token), on at most 'max_share' of the group's requests. */
struct sy_hedge_conf {
    bool on;
    bool after_p95;    /* the delay is the live p95 time to first token */
    uint32_t after_ms; /* the fixed delay (after_p95 false) */
    double max_share;  /* of the group's requests, 0..0.5 */
};

struct sy_group {
    const char *name;     /* what clients send as "model" */
    const char **aliases; /* other names clients may send: exact ones, or
                             patterns where '*' is any run of characters */
    size_t naliases;
    const struct sy_deployment **deployments; /* in order, as configured */
    size_t ndeployments;
    const struct sy_deployment **offline; /* used only when no deployment
                                                above is active */
    size_t noffline;
    const struct sy_deployment **route; /* the effective list: active
                                                deployments, else offline ones */
    size_t nroute;
    enum sy_strategy strategy;
    uint32_t max_p99_ms;  /* latency/cost threshold on total p99; 0 off */
    uint32_t max_ttft_ms; /* threshold on time to first token p95; 0 */
    unsigned min_samples; /* fewer: the deployment is still learned */
    unsigned explore_pct; /* share of traffic that probes unlearned or
                             slow ones; 0 also turns off the latency
                             strategy's optimistic start */
    enum sy_contract_policy on_violation;
    bool stream_buffer;    /* streams with a schema: buffer, validate,
                                  then send (else validate at the end) */
    bool clamp_max_tokens; /* a max_tokens above a deployment's output
                              limit is lowered to it for that deployment
                              (else the deployment is excluded) */
    /* hedged requests (config_hedge.c) */
    struct sy_hedge_conf hedge;
    /* Prompt-cache affinity (config_affinity.c): on, and the length of
     * a prompt's start (bytes) that keys a conversation (0: only a
     * caller's key does). */
    bool affinity;
    unsigned affinity_prefix_min;
};

/* A caller key ("keys" section): who may call, with what limits. */
struct sy_caller_key {
    const char *name;   /* key id in logs, Redis and metrics */
    const char *team;   /* for spend reports, or NULL */
    const char *secret; /* the key itself, from the environment; never
                                logged or stored */
    size_t secret_len;
    struct sy_limits limits;
    const char **models; /* allowed groups; NULL = all */
    size_t nmodels;
};

/* Defaults of the "state" section's Redis settings; a store made without
 * a config (sy_store_conf_defaults, core/io/store_conf.c) uses the same. */
#define SY_STATE_DEFAULT_PREFIX     "sy:"
#define SY_STATE_DEFAULT_TIMEOUT_MS 200 /* connect, and each command */

/* Shared state ("state" section): Redis and the policies using it. */
struct sy_state_conf {
    const char *redis_url;  /* redis://...; NULL = no shared state */
    const char **sentinels; /* "host:port" list, or NULL */
    size_t nsentinels;
    const char *master; /* Sentinel master name */
    const char *prefix; /* key prefix */
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    uint32_t refresh_ms;      /* snapshot refresh period */
    uint32_t window_ms;       /* latency window merged for quantiles */
    uint32_t slice_ms;        /* latency slice length */
    unsigned cluster_workers; /* worker processes in the whole cluster:
                                    local caps are limit / this */
    const char *key_secret;   /* server secret for virtual keys (HMAC),
                                    from the environment; never logged */
    size_t key_secret_len;
    struct sy_breaker_conf breaker;
    unsigned responses_ttl_s;   /* Responses API store: seconds a
                                    response is kept; 0 = not stored */
    size_t responses_max_bytes; /* largest stored response + input */
};

struct sy_server_conf {
    const char *listen; /* "unix:/path", "host:port", or NULL */
    unsigned processes;
    unsigned threads;
    size_t thread_stack_kb;
    size_t max_body_bytes; /* client request body limit */
    unsigned max_json_depth;
    uint32_t drain_timeout_ms; /* SIGTERM: longest wait for in-flight work */
    uint32_t body_timeout_ms;  /* a request body must be in by then */
    uint32_t write_timeout_ms; /* one write to the web server, at most */
    enum sy_log_level log_level;
    bool trust_request_id; /* reuse a well-formed X-Request-Id header */
    const char *usage_log; /* one JSON line per request, or NULL */
    /* the access log, one JSON line per request: "stderr", a file path,
     * or NULL (off) */
    const char *access_log;
    const char *base_path; /* mount prefix cut off REQUEST_URI ("/llm"),
                                   or NULL: SCRIPT_NAME/PATH_INFO decide */
    const char *admin_key; /* admin API key from the environment, or
                                   NULL (no admin API); never logged */
    size_t admin_key_len;
};

/* "tracing": W3C trace context is always on; this section only turns
 * on the OTLP/HTTP JSON export of spans (config_tracing.c). */
struct sy_tracing_conf {
    const char *otlp_endpoint; /* "http://host:4318/v1/traces", or NULL:
                                  no export */
    const char *service_name;  /* resource service.name, "switchyard" */
    const struct sy_header_kv *headers; /* sent with every export (a
                                           collector token); never
                                           logged */
    size_t nheaders;
    unsigned batch_size;  /* spans per POST */
    uint32_t interval_ms; /* a partial batch leaves after this long */
    unsigned queue_size;  /* spans held; past it new ones are dropped */
    uint32_t timeout_ms;  /* one export POST, connect included */
};

/* "metrics": who may read GET /metrics (and /dashboard) without the
 * admin key (config_metrics.c). */
struct sy_metrics_conf {
    const struct sy_cidr *allow; /* client address ranges; default
                                    127.0.0.1/32 and ::1/128 */
    size_t nallow;               /* 0: the admin key only */
    bool allow_default;          /* no "allow" in the config: the local
                                    host, and only while no admin key is
                                    configured (sy_metrics_access) */
};

struct sy_config {
    struct sy_arena arena; /* owns everything below */
    const char *origin;    /* file name, or "<embedded>" */
    struct sy_server_conf server;
    struct sy_state_conf state;
    struct sy_metrics_conf metrics;
    struct sy_tracing_conf tracing;
    struct sy_caller_key *keys; /* empty: no caller authentication */
    size_t nkeys;
    struct sy_provider *providers;
    size_t nproviders;
    struct sy_deployment *deployments;
    size_t ndeployments;
    struct sy_group *groups;
    size_t ngroups;
};

enum sy_err sy_config_load_file(const char *path, struct sy_config **out,
                                struct sy_buf *errors);
enum sy_err sy_config_load_string(const char *text, size_t len,
                                  const char *origin, struct sy_config **out,
                                  struct sy_buf *errors);
void sy_config_free(struct sy_config *cfg);
/* The group for model name 'name': its own name, else an exact alias,
 * else the matching pattern with the most literal characters (config
 * order breaks ties); NULL if none. */
const struct sy_group *sy_config_find_group(const struct sy_config *cfg,
                                            const char *name);
/* Does alias pattern 'pat' ('*' = any run of characters) match 's'? */
bool sy_config_alias_match(const char *pat, const char *s);
const char *sy_config_next_key(const struct sy_provider *p);
const char *sy_config_embedded(size_t *len);
struct sy_config *sy_config_load_default(const char *path);
const char *sy_strategy_name(enum sy_strategy s);

void sy_breaker_conf_defaults(struct sy_breaker_conf *c);

#endif
