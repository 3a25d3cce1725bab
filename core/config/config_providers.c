/*
 * config_providers.c - the providers and deployments sections of the
 * configuration: provider types, base URLs, key pools read from the
 * environment, extra headers; deployments with their model, timeouts,
 * capabilities, prices and billed-field permissions. Shares the loader
 * of config.c (config_int.h).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "api/chat.h"
#include "config_int.h"
#include "cost.h"
#include "api/adapter.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#define TMO(f) offsetof(struct sy_timeouts, f)
static const struct field timeout_fields[] = {
    { "connect_ms", F_MS, TMO(connect_ms), 1, 600000, false, NULL },
    { "first_byte_ms", F_MS, TMO(first_byte_ms), 1, 3600000, false, NULL },
    { "idle_ms", F_MS, TMO(idle_ms), 1, 3600000, false, NULL },
    { "total_ms", F_MS, TMO(total_ms), 1, 86400000, false, NULL },
};

static void
timeout_defaults(struct sy_timeouts *t)
{
    t->connect_ms = 5000;
    t->first_byte_ms = 60000;
    t->idle_ms = 60000;
    t->total_ms = 600000;
}

/* A provider key goes into an HTTP header as it is. */
static bool
key_is_clean(const char *key)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static const char *const provider_extra[] = { "type", "api_key_env", "headers",
                                              "auth", NULL };

#define PRV(f) offsetof(struct sy_provider, f)
static const struct field provider_fields[] = {
    { "key_rpm", F_UINT, PRV(key_limits.rpm), 0, 100000000, false,
      "requests per minute allowed on each API key; 0 = no limit" },
    { "key_tpm", F_UINT, PRV(key_limits.tpm), 0, 2000000000, false,
      "tokens per minute allowed on each API key; 0 = no limit" },
    { "markup_pct", F_DOUBLE, PRV(markup_pct), 0, 1000, false,
      "the aggregator's fee on top of the deployment prices, in percent" },
    { "base_url", F_STR, PRV(base_url), 0, 0, true,
      "e.g. \"https://api.openai.com/v1\"" },
};

/* The provider's "type" names its adapter; an unknown one lists the
 * known types in the hint, since a typo is the likely cause. */
static void
read_provider_type(struct loader *l, const char *path, struct json_object *obj,
                   struct sy_provider *p)
{
    struct json_object *tv;
    const char *tp = sy_config_jpath(l, path, "type");
    if (!json_object_object_get_ex(obj, "type", &tv)) {
        sy_config_fail(l, tp, "an adapter name, e.g. \"openai\"",
                       "missing required key");
        return;
    }
    if (sy_config_want(l, tp, tv, json_type_string, NULL) == NULL)
        return;
    p->type = sy_config_interpolate(l, tp, json_object_get_string(tv));
    p->adapter = sy_adapter_find(p->type);
    if (p->adapter != NULL)
        return;
    char hint[256] = "known types: ";
    size_t n;
    const struct sy_adapter *const *all = sy_adapter_all(&n);
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(hint);
        snprintf(hint + used, sizeof(hint) - used, "%s%s", i ? ", " : "",
                 all[i]->name);
    }
    sy_config_fail(l, tp, hint, "unknown provider type \"%s\"", p->type);
}

/* The base URL must name a host over http(s); trailing slashes are cut
 * so adapters can append "/chat/completions" without doubling them. */
static void
check_base_url(struct loader *l, const char *path, struct sy_provider *p)
{
    if (p->base_url == NULL)
        return;
    size_t n = strlen(p->base_url);
    const char *host =
        strncasecmp(p->base_url, "http://", 7) == 0    ? p->base_url + 7
        : strncasecmp(p->base_url, "https://", 8) == 0 ? p->base_url + 8
                                                       : NULL;
    if (host == NULL || host[0] == '\0' || host[0] == '/' ||
        strpbrk(p->base_url, " \t\r\n") != NULL)
        sy_config_fail(l, sy_config_jpath(l, path, "base_url"),
                       "use an http:// or https:// URL with a host",
                       "\"%s\" is not an HTTP URL", p->base_url);
    while (n > 0 && p->base_url[n - 1] == '/')
        n--;
    p->base_url = sy_arena_strndup(&l->cfg->arena, p->base_url, n);
}

/* "auth": "none" marks a provider that needs no key (a local server), so
 * a missing "api_key_env" is then not an error. */
static void
read_auth(struct loader *l, const char *path, struct json_object *obj,
          struct sy_provider *p)
{
    struct json_object *v;
    const char *auth = "bearer";
    if (json_object_object_get_ex(obj, "auth", &v)) {
        if (sy_config_want(
                l, sy_config_jpath(l, path, "auth"), v, json_type_string,
                "\"none\" for a provider that needs no key") != NULL) {
            auth = json_object_get_string(v);
            if (strcmp(auth, "none") != 0 && strcmp(auth, "key") != 0)
                sy_config_fail(l, sy_config_jpath(l, path, "auth"),
                               "\"key\" or \"none\"",
                               "unknown auth mode \"%s\"", auth);
        }
    }
    p->keyless = strcmp(auth, "none") == 0;
}

/* One entry of "api_key_env": remember the variable's name, and take its
 * value as a key when it is set and clean. */
static void
read_key_env(struct loader *l, const char *ep, struct json_object *e,
             struct sy_provider *p)
{
    struct sy_arena *a = &l->cfg->arena;
    if (sy_config_want(l, ep, e, json_type_string,
                       "an environment variable name") == NULL)
        return;
    const char *var = json_object_get_string(e);
    p->key_envs[p->nkey_envs++] = sy_arena_strdup(a, var);
    const char *key = getenv(var);
    if (key == NULL || key[0] == '\0')
        return;
    if (!key_is_clean(key)) {
        /* A CR or LF here would add headers to every provider call;
         * the key itself is never shown. */
        sy_config_fail(l, ep,
                       "set the variable to the key "
                       "alone, without spaces or line breaks",
                       "the value of %s has spaces or control "
                       "characters",
                       var);
        return;
    }
    p->keys[p->nkeys++] = sy_arena_strdup(a, key);
}

/* Keys come from the environment only: the config names the variables,
 * so no secret is ever written into a config file. A single name is
 * accepted as a list of one. */
static void
read_api_keys(struct loader *l, const char *path, struct json_object *obj,
              struct sy_provider *p)
{
    struct sy_arena *a = &l->cfg->arena;
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "api_key_env", &v)) {
        if (!p->keyless)
            sy_config_fail(l, path,
                           "add \"api_key_env\": [\"NAME_OF_VARIABLE\"], or "
                           "\"auth\": \"none\" for a local provider",
                           "provider needs API keys");
        return;
    }
    const char *kp = sy_config_jpath(l, path, "api_key_env");
    if (json_object_get_type(v) == json_type_string) {
        struct json_object *arr = json_object_new_array();
        json_object_array_add(arr, json_object_get(v));
        v = arr;
        sy_arena_on_cleanup(a, sy_chat_json_free, arr);
    }
    if (sy_config_want(l, kp, v, json_type_array,
                       "a list of environment variable names") == NULL)
        return;
    size_t n = json_object_array_length(v);
    p->keys = sy_arena_zalloc(a, (n + 1) * sizeof(char *));
    p->key_envs = sy_arena_zalloc(a, (n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        read_key_env(l, sy_arena_printf(a, "%s[%zu]", kp, i),
                     json_object_array_get_idx(v, i), p);
}

/* Extra headers sent on every call to the provider. A name with a colon
 * or a value with a line break would forge further headers: refused. */
static void
read_headers(struct loader *l, const char *path, struct json_object *obj,
             struct sy_provider *p)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "headers", &v))
        return;
    /* An empty name has always passed here (only tracing refuses it). */
    size_t n;
    const struct sy_header_kv *h =
        sy_config_headers(l, sy_config_jpath(l, path, "headers"), v, true, &n);
    if (h == NULL)
        return;
    p->headers = h;
    p->nheaders = n;
}

static void
load_provider(struct loader *l, const char *path, const char *name,
              struct json_object *obj, struct sy_provider *p)
{
    struct sy_arena *a = &l->cfg->arena;
    const char *extra[32];
    size_t ne = 0;
    for (size_t i = 0; provider_extra[i]; i++)
        extra[ne++] = provider_extra[i];
    extra[ne] = NULL;

    /* The type first: it decides which adapter-specific keys are valid. */
    read_provider_type(l, path, obj, p);
    for (size_t i = 0; p->adapter != NULL && p->adapter->conf_keys != NULL &&
                       p->adapter->conf_keys[i] != NULL && ne < 31;
         i++)
        extra[ne++] = p->adapter->conf_keys[i];
    extra[ne] = NULL;

    p->name = sy_arena_strdup(a, name);
    p->key_cursor = sy_arena_zalloc(a, sizeof(*p->key_cursor));
    atomic_init(p->key_cursor, 0);
    sy_config_read_fields(l, path, obj, provider_fields,
                          SY_ARRAY_LEN(provider_fields), extra, p);
    if (sy_cost_markup_bp(p->markup_pct, &p->markup_bp) != SY_OK)
        sy_config_fail(l, sy_config_jpath(l, path, "markup_pct"),
                       "a percentage from 0 to 1000", "invalid markup");
    check_base_url(l, path, p);
    read_auth(l, path, obj, p);
    read_api_keys(l, path, obj, p);
    read_headers(l, path, obj, p);

    if (p->adapter != NULL && p->adapter->init != NULL) {
        char err[256] = "";
        if (p->adapter->init(p->type, obj, a, &p->adapter_conf, err,
                             sizeof(err)) != SY_OK)
            sy_config_fail(l, path,
                           "see adapters/README.md for this provider type",
                           "%s", err[0] ? err : "invalid provider");
    }
}

static const char *const deployment_extra[] = { "provider",     "timeouts",
                                                "price",        "capabilities",
                                                "allow_fields", NULL };

#define CAP(f) offsetof(struct sy_caps, f)
static const struct field caps_fields[] = {
    { "tools", F_BOOL, CAP(tools), 0, 0, false, NULL },
    { "parallel_tool_calls", F_BOOL, CAP(parallel_tools), 0, 0, false, NULL },
    { "json_object", F_BOOL, CAP(json_object), 0, 0, false, NULL },
    { "json_schema", F_BOOL, CAP(json_schema), 0, 0, false, NULL },
    { "vision", F_BOOL, CAP(vision), 0, 0, false, NULL },
    { "streaming", F_BOOL, CAP(streaming), 0, 0, false, NULL },
    { "embeddings", F_BOOL, CAP(embeddings), 0, 0, false,
      "serves POST /v1/embeddings" },
    { "embeddings_only", F_BOOL, CAP(embeddings_only), 0, 0, false,
      "an embeddings model: never sent chat" },
    { "context_window", F_SIZE, CAP(context_window), 0, 1ll << 40, false,
      "tokens; 0 = unknown" },
    { "max_output_tokens", F_SIZE, CAP(max_output_tokens), 0, 1ll << 40, false,
      "tokens; 0 = unknown" },
    { "image_tokens", F_SIZE, CAP(image_tokens), 1, 1ll << 24, false,
      "prompt tokens one input image may cost at most" },
};

#define PRICE(f) offsetof(struct sy_price, f)
static const struct field price_fields[] = {
    { "input_per_mtok", F_DOUBLE, PRICE(input_per_mtok), 0, 100000, false,
      NULL },
    { "output_per_mtok", F_DOUBLE, PRICE(output_per_mtok), 0, 100000, false,
      NULL },
    { "cached_input_per_mtok", F_DOUBLE, PRICE(cached_input_per_mtok), 0,
      100000, false, NULL },
    { "cache_write_per_mtok", F_DOUBLE, PRICE(cache_write_per_mtok), 0, 100000,
      false, NULL },
    { "cache_write_1h_per_mtok", F_DOUBLE, PRICE(cache_write_1h_per_mtok), 0,
      100000, false, NULL },
};

#define DEP(f) offsetof(struct sy_deployment, f)
static const struct field deployment_fields[] = {
    { "model", F_STR, DEP(model), 0, 0, true, "the provider's model id" },
    { "max_response_bytes", F_SIZE, DEP(max_response_bytes), 1024, 1ll << 30,
      false, NULL },
    { "weight", F_UINT, DEP(weight), 0, 1000000, false,
      "relative share for the weighted strategy" },
};

static void
load_deployment(struct loader *l, const char *path, const char *name,
                struct json_object *obj, struct sy_deployment *d)
{
    struct sy_config *cfg = l->cfg;
    const char *provider = NULL;

    d->name = sy_arena_strdup(&cfg->arena, name);
    d->max_response_bytes = 8u << 20;
    d->weight = 1;
    timeout_defaults(&d->timeouts);
    sy_config_read_fields(l, path, obj, deployment_fields,
                          SY_ARRAY_LEN(deployment_fields), deployment_extra, d);

    struct json_object *v;
    const char *pp = sy_config_jpath(l, path, "provider");
    if (!json_object_object_get_ex(obj, "provider", &v)) {
        sy_config_fail(l, pp, "the name of a provider", "missing required key");
    } else if (sy_config_want(l, pp, v, json_type_string, NULL) != NULL) {
        provider = json_object_get_string(v);
        for (size_t i = 0; i < cfg->nproviders; i++)
            if (strcmp(cfg->providers[i].name, provider) == 0)
                d->provider = &cfg->providers[i];
        if (d->provider == NULL) {
            char hint[512] = "defined providers: ";
            for (size_t i = 0; i < cfg->nproviders; i++) {
                size_t used = strlen(hint);
                snprintf(hint + used, sizeof(hint) - used, "%s%s",
                         i ? ", " : "", cfg->providers[i].name);
            }
            sy_config_fail(l, pp, hint, "unknown provider \"%s\"", provider);
        }
    }
    if (d->provider != NULL && d->provider->adapter != NULL && d->model != NULL)
        sy_caps_defaults(d->provider->type, d->model,
                         d->provider->adapter->caps, &d->caps);
    if (json_object_object_get_ex(obj, "capabilities", &v)) {
        const char *cp = sy_config_jpath(l, path, "capabilities");
        if (sy_config_want(l, cp, v, json_type_object, NULL) != NULL)
            sy_config_read_fields(l, cp, v, caps_fields,
                                  SY_ARRAY_LEN(caps_fields), NULL, &d->caps);
    }
    if (d->caps.embeddings && d->provider != NULL &&
        d->provider->adapter != NULL &&
        ((d->provider->adapter->caps & SY_CAP_EMBED) == 0 ||
         d->provider->adapter->build_embed == NULL))
        sy_config_fail(l, sy_config_jpath(l, path, "capabilities"),
                       "a provider type with an embeddings API (openai "
                       "family, gemini)",
                       "provider type \"%s\" serves no embeddings",
                       d->provider->type);
    sy_config_load_allow_fields(l, path, obj, d);
    if (json_object_object_get_ex(obj, "price", &v)) {
        const char *pp2 = sy_config_jpath(l, path, "price");
        if (sy_config_want(l, pp2, v, json_type_object, NULL) != NULL)
            sy_config_read_fields(l, pp2, v, price_fields,
                                  SY_ARRAY_LEN(price_fields), NULL, &d->price);
    }
    if (json_object_object_get_ex(obj, "timeouts", &v)) {
        const char *tp = sy_config_jpath(l, path, "timeouts");
        if (sy_config_want(l, tp, v, json_type_object, NULL) != NULL)
            sy_config_read_fields(l, tp, v, timeout_fields,
                                  SY_ARRAY_LEN(timeout_fields), NULL,
                                  &d->timeouts);
    }
    if (d->provider == NULL)
        return;
    d->active = d->provider->keyless || d->provider->nkeys > 0;
    /* What the adapter sees of this deployment (core/api/adapter.h). */
    d->target = (struct sy_target){
        .model = d->model,
        .base_url = d->provider->base_url,
        .provider_type = d->provider->type,
        .headers = d->provider->headers,
        .nheaders = d->provider->nheaders,
        .adapter_conf = d->provider->adapter_conf,
        .allow_fields = d->caps.allow_fields,
        .max_output_tokens = d->caps.max_output_tokens,
    };
}

/* Iterate the object 'section' of the top level, calling 'load' on each
 * entry with a fresh zeroed element of 'elem_size' bytes. */
void
sy_config_load_provider_cb(struct loader *l, const char *p, const char *n,
                           struct json_object *o, void *e)
{
    load_provider(l, p, n, o, e);
}

void
sy_config_load_deployment_cb(struct loader *l, const char *p, const char *n,
                             struct json_object *o, void *e)
{
    load_deployment(l, p, n, o, e);
}

/* A deployment's "allow_fields": the billed request fields (core/api/caps.c)
 * the operator lets callers use on it, e.g. ["n", "service_tier"]. */
void
sy_config_load_allow_fields(struct loader *l, const char *path,
                            struct json_object *obj, struct sy_deployment *d)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "allow_fields", &v))
        return;
    const char *ap = sy_config_jpath(l, path, "allow_fields");
    if (sy_config_want(l, ap, v, json_type_array,
                       "a list of billed request field names") == NULL)
        return;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        const char *ep = sy_arena_printf(&l->cfg->arena, "%s[%zu]", ap, i);
        if (sy_config_want(l, ep, e, json_type_string, "a field name") == NULL)
            continue;
        int k = sy_caps_field_find(json_object_get_string(e));
        if (k < 0) {
            char hint[400] = "billed fields: ";
            for (unsigned j = 0; j < SY_FIELD_COUNT; j++) {
                size_t used = strlen(hint);
                snprintf(hint + used, sizeof(hint) - used, "%s%s",
                         j ? ", " : "", sy_caps_field_name(j));
            }
            sy_config_fail(l, ep, hint,
                           "\"%s\" is not a billed field "
                           "(other fields need no permission)",
                           json_object_get_string(e));
            continue;
        }
        d->caps.allow_fields |= 1u << k;
    }
}
