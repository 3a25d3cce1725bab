/*
 * config_groups.c - the "groups" section of the configuration: the model
 * names clients ask for, their deployments, routing strategy, thresholds
 * and output-contract policy. Uses the loader helpers of core/config/config.c
 * through config_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

static const struct sy_deployment **
load_dep_list(struct loader *l, const char *path, struct json_object *v,
              size_t *count)
{
    struct sy_config *cfg = l->cfg;
    *count = 0;
    if (sy_config_want(l, path, v, json_type_array,
                       "a list of deployment names") == NULL)
        return NULL;
    size_t n = json_object_array_length(v);
    const struct sy_deployment **list =
        sy_arena_zalloc(&cfg->arena, (n + 1) * sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        const char *ep = sy_arena_printf(&cfg->arena, "%s[%zu]", path, i);
        if (sy_config_want(l, ep, e, json_type_string, "a deployment name") ==
            NULL)
            continue;
        const char *dn = json_object_get_string(e);
        const struct sy_deployment *d = NULL;
        for (size_t j = 0; j < cfg->ndeployments; j++)
            if (strcmp(cfg->deployments[j].name, dn) == 0)
                d = &cfg->deployments[j];
        if (d == NULL) {
            sy_config_fail(l, ep, "name a key of \"deployments\"",
                           "unknown deployment \"%s\"", dn);
            continue;
        }
        for (size_t j = 0; j < *count; j++)
            if (list[j] == d)
                sy_config_fail(l, ep, "list each deployment once",
                               "deployment \"%s\" listed twice", dn);
        list[(*count)++] = d;
    }
    return list;
}

static const char *const group_extra[] = {
    "deployments", "offline", "strategy", "thresholds", "contract",
    "description", "aliases", "affinity", "hedge",      NULL
};

#define GRP(f) offsetof(struct sy_group, f)
static const struct field group_fields[] = {
    { "min_samples", F_UINT, GRP(min_samples), 0, 1000000, false,
      "requests in the window before a deployment counts as learned" },
    { "explore_pct", F_UINT, GRP(explore_pct), 0, 50, false,
      "percent of traffic that probes deployments still learned or known "
      "slow (0: no probes, no optimistic start)" },
    { "clamp_max_tokens", F_BOOL, GRP(clamp_max_tokens), 0, 0, false,
      "lower max_tokens to a deployment's output limit instead of "
      "excluding it" },
};

static const struct field threshold_fields[] = {
    { "max_p99_ms", F_MS, GRP(max_p99_ms), 0, 3600000, false, NULL },
    { "max_ttft_ms", F_MS, GRP(max_ttft_ms), 0, 3600000, false, NULL },
};

/* The effective route: the active listed deployments; when none is
 * active (no API key in the environment), the offline ones. */
static void
fill_route(struct sy_arena *a, struct sy_group *g)
{
    size_t total = g->ndeployments + g->noffline;
    g->route = sy_arena_zalloc(a, (total + 1) * sizeof(*g->route));
    for (size_t i = 0; i < g->ndeployments; i++)
        if (g->deployments[i] != NULL && g->deployments[i]->active)
            g->route[g->nroute++] = g->deployments[i];
    if (g->nroute == 0)
        for (size_t i = 0; i < g->noffline; i++)
            if (g->offline[i] != NULL && g->offline[i]->active)
                g->route[g->nroute++] = g->offline[i];
}

void
sy_config_load_group(struct loader *l, const char *path, const char *name,
                     struct json_object *obj, struct sy_group *g)
{
    struct sy_arena *a = &l->cfg->arena;
    g->name = sy_arena_strdup(a, name);
    g->strategy = SY_STRATEGY_PRIORITY;
    g->min_samples = 10;
    g->explore_pct = 5;
    sy_config_read_fields(l, path, obj, group_fields,
                          SY_ARRAY_LEN(group_fields), group_extra, g);
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "deployments", &v))
        sy_config_fail(l, sy_config_jpath(l, path, "deployments"),
                       "a list of deployment names, tried in order",
                       "missing required key");
    else
        g->deployments = load_dep_list(
            l, sy_config_jpath(l, path, "deployments"), v, &g->ndeployments);
    if (json_object_object_get_ex(obj, "aliases", &v))
        sy_config_load_aliases(l, sy_config_jpath(l, path, "aliases"), v, g);
    sy_config_load_affinity(l, path, obj, g);
    sy_config_load_hedge(l, path, obj, g);
    if (json_object_object_get_ex(obj, "offline", &v))
        g->offline = load_dep_list(l, sy_config_jpath(l, path, "offline"), v,
                                   &g->noffline);
    if (json_object_object_get_ex(obj, "strategy", &v)) {
        const char *sp = sy_config_jpath(l, path, "strategy");
        if (sy_config_want(l, sp, v, json_type_string, NULL) != NULL) {
            const char *sv = json_object_get_string(v);
            bool found = false;
            for (int k = SY_STRATEGY_PRIORITY; k <= SY_STRATEGY_WEIGHTED; k++)
                if (strcmp(sv, sy_strategy_name((enum sy_strategy)k)) == 0) {
                    g->strategy = (enum sy_strategy)k;
                    found = true;
                }
            if (!found)
                sy_config_fail(l, sp,
                               "one of priority, latency, cost, weighted",
                               "unknown strategy \"%s\"", sv);
        }
    }
    if (json_object_object_get_ex(obj, "contract", &v)) {
        const char *cp = sy_config_jpath(l, path, "contract");
        if (sy_config_want(l, cp, v, json_type_object, NULL) != NULL) {
            json_object_object_foreach(v, ck, cv)
            {
                const char *kp = sy_config_jpath(l, cp, ck);
                const char *sv = json_object_is_type(cv, json_type_string)
                                     ? json_object_get_string(cv)
                                     : "";
                if (strcmp(ck, "on_violation") == 0) {
                    if (strcmp(sv, "next") == 0)
                        g->on_violation = SY_CONTRACT_NEXT;
                    else if (strcmp(sv, "error") == 0)
                        g->on_violation = SY_CONTRACT_ERROR;
                    else if (strcmp(sv, "pass") == 0)
                        g->on_violation = SY_CONTRACT_PASS;
                    else
                        sy_config_fail(l, kp, "one of next, error, pass",
                                       "unknown policy \"%s\"", sv);
                } else if (strcmp(ck, "stream") == 0) {
                    if (strcmp(sv, "buffer") == 0)
                        g->stream_buffer = true;
                    else if (strcmp(sv, "end") != 0)
                        sy_config_fail(l, kp,
                                       "end (validate when the stream "
                                       "ends) or buffer (validate, "
                                       "then send)",
                                       "unknown stream mode \"%s\"", sv);
                } else {
                    sy_config_fail(l, kp,
                                   "known keys here: on_violation, "
                                   "stream",
                                   "unknown key \"%s\"", ck);
                }
            }
        }
    }
    if (json_object_object_get_ex(obj, "thresholds", &v)) {
        const char *tp = sy_config_jpath(l, path, "thresholds");
        if (sy_config_want(l, tp, v, json_type_object, NULL) != NULL)
            sy_config_read_fields(l, tp, v, threshold_fields,
                                  SY_ARRAY_LEN(threshold_fields), NULL, g);
    }
    struct json_object *dl, *ol;
    bool listed = (json_object_object_get_ex(obj, "deployments", &dl) &&
                   json_object_is_type(dl, json_type_array) &&
                   json_object_array_length(dl) > 0) ||
                  (json_object_object_get_ex(obj, "offline", &ol) &&
                   json_object_is_type(ol, json_type_array) &&
                   json_object_array_length(ol) > 0);
    if (!listed && json_object_object_get_ex(obj, "deployments", &dl))
        sy_config_fail(l, path, "list at least one deployment",
                       "group has no deployments");
    fill_route(a, g);
}

const char *
sy_strategy_name(enum sy_strategy s)
{
    switch (s) {
    case SY_STRATEGY_PRIORITY:
        return "priority";
    case SY_STRATEGY_LATENCY:
        return "latency";
    case SY_STRATEGY_COST:
        return "cost";
    case SY_STRATEGY_WEIGHTED:
        return "weighted";
    }
    return "priority";
}
