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

#include "sy.h"
#include "buf.h"
#include "log.h"
#include "mem.h"

struct sy_timeouts {
    uint32_t connect_ms;    /* TCP + TLS connect */
    uint32_t first_byte_ms; /* from the start of the call to the first
                               response byte */
    uint32_t idle_ms;       /* longest silence between two body bytes */
    uint32_t total_ms;      /* the whole call, streams included */
};

struct sy_header_kv {
    const char *name;  /* owned by the config */
    const char *value; /* owned by the config */
};

struct sy_provider {
    const char *name;                 /* key in "providers" */
    const char *type;                 /* adapter name, e.g. "openai" */
    const struct sy_adapter *adapter; /* static table from the registry */
    const char *base_url;             /* without trailing slash */
    const char **keys;                /* API keys read from the environment;
                                         never logged */
    size_t nkeys;
    const char **key_envs;            /* names of the variables, for messages */
    size_t nkey_envs;
    bool keyless;                     /* "auth": "none": no key needed */
    const struct sy_header_kv *headers; /* extra static request headers */
    size_t nheaders;
    const void *adapter_conf;         /* from the adapter's init slot, or NULL */
    unsigned *key_cursor;             /* round-robin position; atomic access,
                                         the one mutable field */
};

struct sy_deployment {
    const char *name;                   /* key in "deployments" */
    unsigned index;                     /* position in sy_config.deployments */
    const struct sy_provider *provider; /* borrowed from the config */
    const char *model;                  /* upstream model id */
    struct sy_timeouts timeouts;
    size_t max_response_bytes;          /* non-streaming body / error body cap */
    bool active;                        /* the provider has a key (or none is
                                           needed) */
};

struct sy_group {
    const char *name;                        /* what clients send as "model" */
    const struct sy_deployment **deployments; /* in order, as configured */
    size_t ndeployments;
    const struct sy_deployment **offline;    /* used only when no deployment
                                                above is active */
    size_t noffline;
    const struct sy_deployment **route;      /* the effective list: active
                                                deployments, else offline ones */
    size_t nroute;
};

struct sy_server_conf {
    const char *listen;         /* "unix:/path", "host:port", or NULL */
    unsigned processes;
    unsigned threads;
    size_t thread_stack_kb;
    size_t max_body_bytes;      /* client request body limit */
    unsigned max_json_depth;
    uint32_t drain_timeout_ms;  /* SIGTERM: longest wait for in-flight work */
    enum sy_log_level log_level;
    bool trust_request_id;      /* reuse a well-formed X-Request-Id header */
};

struct sy_config {
    struct sy_arena arena;      /* owns everything below */
    const char *origin;         /* file name, or "<embedded>" */
    struct sy_server_conf server;
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
const struct sy_group *sy_config_find_group(const struct sy_config *cfg,
                                            const char *name);
const char *sy_config_next_key(const struct sy_provider *p);
const char *sy_config_embedded(size_t *len);

#endif
