/*
 * config_state.c - the "state" (shared state in Redis, breakers) and
 * "keys" (caller keys) sections of the configuration. Uses the loader
 * helpers of core/config/config.c through config_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"
#include "base/limits.h" /* SY_STORE_REPLY_MAX, SY_VKEY_PREFIX */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define ST(f) offsetof(struct sy_state_conf, f)
static const char *const state_extra[] = { "sentinels", "breaker",
                                           "key_secret_env", NULL };
static const struct field state_fields[] = {
    { "redis_url", F_STR, ST(redis_url), 0, 0, false,
      "redis://[:password@]host:port[/db]; empty = no shared state" },
    { "master", F_STR, ST(master), 0, 0, false, "the Sentinel master name" },
    { "prefix", F_STR, ST(prefix), 0, 0, false, NULL },
    { "connect_timeout_ms", F_MS, ST(connect_timeout_ms), 1, 60000, false,
      NULL },
    { "command_timeout_ms", F_MS, ST(command_timeout_ms), 1, 60000, false,
      NULL },
    { "refresh_ms", F_MS, ST(refresh_ms), 20, 60000, false, NULL },
    { "window_ms", F_MS, ST(window_ms), 1000, 3600000, false, NULL },
    { "slice_ms", F_MS, ST(slice_ms), 100, 600000, false, NULL },
    { "cluster_workers", F_UINT, ST(cluster_workers), 1, 100000, false,
      "worker processes across all hosts; local caps when Redis is down "
      "are the limit divided by this" },
    { "responses_ttl_s", F_UINT, ST(responses_ttl_s), 0, 315360000, false,
      "seconds a Responses API response is kept for previous_response_id; "
      "0 = none is stored" },
    { "responses_max_bytes", F_SIZE, ST(responses_max_bytes), 4096,
      SY_STORE_REPLY_MAX, false,
      "the largest stored response with its input (at most 4 MiB, what "
      "one Redis reply may be)" },
};

#define BRK(f) offsetof(struct sy_breaker_conf, f)
static const struct field breaker_fields[] = {
    { "consecutive", F_UINT, BRK(consecutive), 0, 100000, false,
      "open after this many provider failures in a row; 0 = off" },
    { "min_requests", F_UINT, BRK(min_requests), 1, 1000000, false, NULL },
    { "failure_pct", F_UINT, BRK(failure_pct), 0, 100, false,
      "open when this percentage of the window failed; 0 = off" },
    { "window_ms", F_MS, BRK(window_ms), 100, 3600000, false, NULL },
    { "open_ms", F_MS, BRK(open_ms), 1, 3600000, false, NULL },
    { "open_max_ms", F_MS, BRK(open_max_ms), 1, 86400000, false, NULL },
    { "jitter_pct", F_UINT, BRK(jitter_pct), 0, 100, false, NULL },
    { "probe_ms", F_MS, BRK(probe_ms), 1, 3600000, false, NULL },
};

void
sy_config_load_state(struct loader *l, struct json_object *obj)
{
    struct sy_state_conf *st = &l->cfg->state;
    sy_config_read_fields(l, "state", obj, state_fields,
                          SY_ARRAY_LEN(state_fields), state_extra, st);
    struct json_object *v;
    if (json_object_object_get_ex(obj, "sentinels", &v))
        st->sentinels =
            sy_config_string_list(l, "state.sentinels", v, &st->nsentinels);
    if (json_object_object_get_ex(obj, "breaker", &v) &&
        sy_config_want(l, "state.breaker", v, json_type_object, NULL) != NULL)
        sy_config_read_fields(l, "state.breaker", v, breaker_fields,
                              SY_ARRAY_LEN(breaker_fields), NULL, &st->breaker);
    if (json_object_object_get_ex(obj, "key_secret_env", &v)) {
        const char *kp = "state.key_secret_env";
        if (sy_config_want(l, kp, v, json_type_string, NULL) != NULL) {
            const char *sec = getenv(json_object_get_string(v));
            if (sec == NULL || strlen(sec) < 16)
                sy_config_fail(l, kp,
                               "set it to a random string of 16 "
                               "characters or more (it signs the "
                               "virtual keys)",
                               "environment variable %s is unset or too "
                               "short",
                               json_object_get_string(v));
            else {
                st->key_secret = sy_arena_strdup(&l->cfg->arena, sec);
                st->key_secret_len = strlen(sec);
            }
        }
    }
    if (st->redis_url != NULL && st->redis_url[0] == '\0')
        st->redis_url = NULL;
    if (st->redis_url != NULL && strncmp(st->redis_url, "redis://", 8) != 0)
        sy_config_fail(l, "state.redis_url",
                       "redis://[:password@]host:port[/db]",
                       "not a redis:// URL");
    if (st->nsentinels > 0 && st->master == NULL)
        sy_config_fail(l, "state.master",
                       "the name Sentinel monitors, e.g. mymaster",
                       "required with state.sentinels");
    if (st->slice_ms > st->window_ms)
        sy_config_fail(l, "state.slice_ms", "a slice is a part of the window",
                       "longer than state.window_ms");
}

static const char *const key_extra[] = { "key_env", "models", NULL };
/* "team" is read through the table below. */
#define CK(f) offsetof(struct sy_caller_key, f)
static const struct field key_fields[] = {
    { "team", F_STR, CK(team), 0, 0, false, "a team name for spend reports" },
    { "rpm", F_UINT, CK(limits.rpm), 0, 100000000, false, NULL },
    { "tpm", F_UINT, CK(limits.tpm), 0, 2000000000, false, NULL },
};

void
sy_config_load_key(struct loader *l, const char *path, const char *name,
                   struct json_object *obj, void *elem)
{
    struct sy_caller_key *k = elem;
    struct sy_arena *a = &l->cfg->arena;
    k->name = sy_arena_strdup(a, name);
    /* A virtual key "x" owns stored responses as "vk:x": a configured
     * key of that name would own them too. */
    if (strncmp(name, "vk:", 3) == 0)
        sy_config_fail(l, path, "rename it: \"vk:\" starts virtual keys' names",
                       "a caller key's name may not start with \"vk:\"");
    sy_config_read_fields(l, path, obj, key_fields, SY_ARRAY_LEN(key_fields),
                          key_extra, k);
    struct json_object *v;
    const char *kp = sy_config_jpath(l, path, "key_env");
    if (!json_object_object_get_ex(obj, "key_env", &v)) {
        sy_config_fail(l, kp,
                       "the environment variable holding this caller key",
                       "missing required key");
    } else if (sy_config_want(l, kp, v, json_type_string, NULL) != NULL) {
        const char *secret = getenv(json_object_get_string(v));
        if (secret == NULL || strlen(secret) < 16)
            sy_config_fail(l, kp,
                           "set it to a random string of 16 characters or more",
                           "environment variable %s is unset or too short",
                           json_object_get_string(v));
        else if (l->cfg->state.key_secret != NULL &&
                 strncmp(secret, SY_VKEY_PREFIX, strlen(SY_VKEY_PREFIX)) == 0)
            /* core/serve/pipeline_caller.c sends every bearer token that
             * starts with the virtual-key prefix to the virtual-key
             * lookup only: this key would never authenticate. */
            sy_config_fail(l, kp,
                           "give the key another value (e.g. openssl rand "
                           "-hex 32)",
                           "the key in %s starts with \"" SY_VKEY_PREFIX
                           "\", the prefix of virtual keys: with "
                           "state.key_secret_env set such a key is looked up "
                           "as a virtual key only and could never "
                           "authenticate",
                           json_object_get_string(v));
        else {
            k->secret = sy_arena_strdup(a, secret);
            k->secret_len = strlen(secret);
        }
    }
    if (json_object_object_get_ex(obj, "models", &v))
        k->models = sy_config_string_list(l, sy_config_jpath(l, path, "models"),
                                          v, &k->nmodels);
}

void
sy_config_state_defaults(struct sy_state_conf *st)
{
    memset(st, 0, sizeof(*st));
    st->prefix = SY_STATE_DEFAULT_PREFIX;
    st->connect_timeout_ms = SY_STATE_DEFAULT_TIMEOUT_MS;
    st->command_timeout_ms = SY_STATE_DEFAULT_TIMEOUT_MS;
    st->refresh_ms = 200;
    st->window_ms = 60000;
    st->slice_ms = 5000;
    st->cluster_workers = 0; /* 0: this host's server.processes */
    /* 30 days, as OpenAI keeps them */
    st->responses_ttl_s = 30u * 86400u;
    st->responses_max_bytes = SY_STORE_REPLY_MAX;
    sy_breaker_conf_defaults(&st->breaker);
}

/* Open after 5 provider failures in a row, or when half of at least 20
 * outcomes in 30 s failed; open 5 s, doubling to 2 min, +0..20 %; a
 * probe may take 30 s. */
void
sy_breaker_conf_defaults(struct sy_breaker_conf *c)
{
    c->consecutive = 5;
    c->min_requests = 20;
    c->failure_pct = 50;
    c->window_ms = 30000;
    c->open_ms = 5000;
    c->open_max_ms = 120000;
    c->jitter_pct = 20;
    c->probe_ms = 30000;
}
