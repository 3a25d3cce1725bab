/*
 * auth.c - caller key authentication. Keys live only in memory (read from
 * the environment by the config loader); comparisons take the same time
 * wherever the first difference is and whichever key matches.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "auth.h"
#include "base/hmac.h"
#include "config/config.h"

#include <string.h>
#include <strings.h>

/* The caller key carried by 'authorization' ("Bearer <key>"), or NULL
 * (missing, malformed or unknown: the caller cannot tell which). Every
 * configured key is compared, so the time says nothing about which one
 * matched. */
const struct sy_caller_key *
sy_auth_check(const struct sy_config *cfg, const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *key = authorization + 7;
    size_t len = strlen(key);
    const struct sy_caller_key *found = NULL;
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (sy_const_equal(key, len, cfg->keys[i].secret,
                           cfg->keys[i].secret_len))
            found = &cfg->keys[i];
    return found;
}

/* The configured key named 'name', or NULL: a virtual key may not
 * share a configured key's name (their limits and spend would be one). */
const struct sy_caller_key *
sy_auth_key_named(const struct sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nkeys; i++)
        if (strcmp(cfg->keys[i].name, name) == 0)
            return &cfg->keys[i];
    return NULL;
}

/* May key 'k' use group 'model'? (No list = every group.) */
bool
sy_auth_model_allowed(const struct sy_caller_key *k, const char *model)
{
    if (k->nmodels == 0)
        return true;
    for (size_t i = 0; i < k->nmodels; i++)
        if (strcmp(k->models[i], model) == 0)
            return true;
    return false;
}
