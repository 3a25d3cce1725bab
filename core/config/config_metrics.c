/*
 * config_metrics.c - the "metrics" section: which client addresses may
 * read GET /metrics (and GET /dashboard) without the admin key.
 *
 *   "metrics": { "allow": ["127.0.0.1/32", "::1/128", "10.0.0.0/8"] }
 *
 * Ranges are read by base/cidr.c; an empty list leaves the admin key as
 * the only way in. Uses the loader helpers through config_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"
#include "base/cidr.h"

#include <string.h>

#include <json-c/json.h>

#define METRICS_ALLOW_MAX 256 /* ranges in metrics.allow */

static const char *const default_allow[] = { "127.0.0.1/32", "::1/128" };

/* Without "metrics.allow": the local host, and only while no admin key
 * is configured. A proxy on the same host (a TLS terminator in front of
 * the web server) makes every outside client 127.0.0.1, so once there is
 * a key the default asks for it; an explicit list is taken as written. */
static void
defaults(struct loader *l)
{
    struct sy_metrics_conf *m = &l->cfg->metrics;
    size_t n = SY_ARRAY_LEN(default_allow);
    struct sy_cidr *a = sy_arena_zalloc(&l->cfg->arena, n * sizeof(*a));
    for (size_t i = 0; i < n; i++)
        sy_cidr_parse(default_allow[i], &a[i]);
    m->allow = a;
    m->nallow = n;
    m->allow_default = true;
}

/* The "allow" list: every entry a range, or one error per bad entry. */
static void
load_allow(struct loader *l, struct json_object *v)
{
    struct sy_metrics_conf *m = &l->cfg->metrics;
    size_t n = 0;
    const char **list = sy_config_string_list(l, "metrics.allow", v, &n);
    if (list == NULL)
        return;
    if (n > METRICS_ALLOW_MAX) {
        sy_config_fail(l, "metrics.allow", "merge ranges into wider ones",
                       "more than %u ranges", METRICS_ALLOW_MAX);
        return;
    }
    m->allow_default = false;
    struct sy_cidr *a = sy_arena_zalloc(&l->cfg->arena, (n + 1) * sizeof(*a));
    for (size_t i = 0; i < n; i++) {
        if (!sy_cidr_parse(list[i], &a[i]))
            sy_config_fail(
                l, sy_arena_printf(&l->cfg->arena, "metrics.allow[%zu]", i),
                "an IPv4 or IPv6 range such as \"10.0.0.0/8\" or "
                "\"fd00::/8\"",
                "not an address range: \"%.80s\"", list[i]);
    }
    m->allow = a;
    m->nallow = n;
}

/* The "metrics" section of config 'root', or its defaults. */
void
sy_config_load_metrics(struct loader *l, struct json_object *root)
{
    struct json_object *obj;
    defaults(l);
    if (!json_object_object_get_ex(root, "metrics", &obj) ||
        sy_config_want(l, "metrics", obj, json_type_object, NULL) == NULL)
        return;
    json_object_object_foreach(obj, key, val)
    {
        if (strcmp(key, "allow") == 0)
            load_allow(l, val);
        else
            sy_config_fail(l, sy_config_jpath(l, "metrics", key),
                           "the metrics section has one key: allow",
                           "unknown key \"%s\"", key);
    }
}
