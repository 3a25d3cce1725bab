/*
 * config_affinity.c - a group's "affinity" key: prompt-cache affinity,
 * off by default.
 *
 *   "affinity": true                            on, default prefix
 *   "affinity": {"min_prefix_bytes": 4096}      on, own prefix length
 *   "affinity": false                           off
 *
 * min_prefix_bytes: without a conversation key from the caller
 * (prompt_cache_key, a session header, user), a prompt whose start
 * (system and first user message) is at least this long is keyed by a
 * hash of that start; 0 keys only requests that name their
 * conversation. At most SY_AFFINITY_PREFIX_MAX (65536), the bytes of a
 * start that are hashed: a longer minimum could never be met (the load
 * refuses it rather than silently never keying by prefix). See
 * core/serve/affinity.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"
#include "api/chat_affinity.h" /* SY_AFFINITY_PREFIX_MAX */

#define AFFINITY_PREFIX_DEFAULT 1024

#define AFF(f) offsetof(struct sy_group, f)
static const struct field affinity_fields[] = {
    { "min_prefix_bytes", F_UINT, AFF(affinity_prefix_min), 0,
      SY_AFFINITY_PREFIX_MAX, false,
      "bytes of the prompt's start (system and first user message) that "
      "key a conversation by its hash; 0: only a caller's key" },
};

void
sy_config_load_affinity(struct loader *l, const char *path,
                        struct json_object *obj, struct sy_group *g)
{
    struct json_object *v;
    g->affinity_prefix_min = AFFINITY_PREFIX_DEFAULT;
    if (!json_object_object_get_ex(obj, "affinity", &v))
        return;
    const char *ap = sy_config_jpath(l, path, "affinity");
    if (json_object_is_type(v, json_type_boolean)) {
        g->affinity = json_object_get_boolean(v);
        return;
    }
    if (sy_config_want(l, ap, v, json_type_object,
                       "true, false, or {\"min_prefix_bytes\": N}") == NULL)
        return;
    g->affinity = true;
    sy_config_read_fields(l, ap, v, affinity_fields,
                          SY_ARRAY_LEN(affinity_fields), NULL, g);
}
