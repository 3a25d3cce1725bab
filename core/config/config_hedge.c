/*
 * config_hedge.c - a group's "hedge" key: hedged requests, off by
 * default.
 *
 *   "hedge": {"after_ms": "p95", "max_share": 0.05}   live p95 delay
 *   "hedge": {"after_ms": 400}                        fixed delay
 *   "hedge": false                                    off
 *
 * after_ms: "p95" (the first deployment's live p95 time to first token;
 * no samples, no hedge) or a number of milliseconds, 10..60000; default
 * "p95". max_share: the share of the group's requests that may be
 * hedged, 0..0.5; default 0.05. See core/serve/pipeline_hedge.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"

#include <string.h>

#define HEDGE_AFTER_MIN_MS  10
#define HEDGE_AFTER_MAX_MS  60000
#define HEDGE_SHARE_MAX     0.5
#define HEDGE_SHARE_DEFAULT 0.05

static void
load_after(struct loader *l, const char *path, struct json_object *v,
           struct sy_hedge_conf *h)
{
    const char *hint = "\"p95\" or a number of milliseconds, 10..60000";
    if (json_object_is_type(v, json_type_string)) {
        if (strcmp(json_object_get_string(v), "p95") == 0)
            h->after_p95 = true;
        else
            sy_config_fail(l, path, hint, "unknown delay \"%s\"",
                           json_object_get_string(v));
        return;
    }
    if (!json_object_is_type(v, json_type_int)) {
        sy_config_fail(l, path, hint, "must be \"p95\" or an integer, not %s",
                       sy_config_type_name(json_object_get_type(v)));
        return;
    }
    int64_t ms = json_object_get_int64(v);
    if (ms < HEDGE_AFTER_MIN_MS || ms > HEDGE_AFTER_MAX_MS) {
        sy_config_fail(l, path, hint, "value %lld out of range", (long long)ms);
        return;
    }
    h->after_p95 = false;
    h->after_ms = (uint32_t)ms;
}

static void
load_share(struct loader *l, const char *path, struct json_object *v,
           struct sy_hedge_conf *h)
{
    json_type t = json_object_get_type(v);
    double x = t == json_type_int || t == json_type_double
                   ? json_object_get_double(v)
                   : -1.0;
    /* The negated test also refuses a NaN. */
    if (!(x >= 0.0 && x <= HEDGE_SHARE_MAX)) {
        sy_config_fail(l, path, "a number from 0 to 0.5 (0.05: 5 %)",
                       "must be a share of requests from 0 to 0.5");
        return;
    }
    h->max_share = x;
}

void
sy_config_load_hedge(struct loader *l, const char *path,
                     struct json_object *obj, struct sy_group *g)
{
    struct sy_hedge_conf *h = &g->hedge;
    memset(h, 0, sizeof(*h));
    h->after_p95 = true;
    h->max_share = HEDGE_SHARE_DEFAULT;
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "hedge", &v))
        return;
    const char *hp = sy_config_jpath(l, path, "hedge");
    if (json_object_is_type(v, json_type_boolean)) {
        h->on = json_object_get_boolean(v);
        return;
    }
    if (sy_config_want(l, hp, v, json_type_object,
                       "false, true, or {\"after_ms\": \"p95\" | N, "
                       "\"max_share\": 0.05}") == NULL)
        return;
    h->on = true;
    json_object_object_foreach(v, k, kv)
    {
        const char *kp = sy_config_jpath(l, hp, k);
        if (strcmp(k, "after_ms") == 0)
            load_after(l, kp, kv, h);
        else if (strcmp(k, "max_share") == 0)
            load_share(l, kp, kv, h);
        else if (strcmp(k, "enabled") == 0 &&
                 json_object_is_type(kv, json_type_boolean))
            h->on = json_object_get_boolean(kv);
        else
            sy_config_fail(l, kp,
                           "known keys here: after_ms, max_share, "
                           "enabled",
                           "unknown key \"%s\"", k);
    }
}
