/*
 * metrics_layout.c - where every counter of core/state/metrics.h sits in
 * one flat array for a given config, and the two translations between a
 * position and its Redis (family, field): sy_metrics_field for the
 * flush, sy_metrics_index for the scrape, which drops fields whose
 * names this config does not have. Pure; no I/O.
 *
 * Field text: label values joined by '|', in the order of the family's
 * comment in metrics.h; a histogram's slot is its power of two ("0" ..
 * "32") or "sum". Config names cannot hold '|' or '%'; a caller key's
 * team can, so names are escaped (sy_metrics_escape) before joining.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "metrics.h"
#include "base/mem.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const family_names[SY_MF__COUNT] = {
    [SY_MF_REQUESTS] = "requests",   [SY_MF_ATTEMPTS] = "attempts",
    [SY_MF_FAILOVERS] = "failovers", [SY_MF_BREAKER] = "breaker",
    [SY_MF_TOKENS] = "tokens",       [SY_MF_LAT_TOTAL] = "lat_total",
    [SY_MF_LAT_TTFT] = "lat_ttft",   [SY_MF_LAT_TPOT] = "lat_tpot",
    [SY_MF_OVERHEAD] = "overhead",   [SY_MF_TOKEN_USAGE] = "token_usage",
    [SY_MF_ROUTING] = "routing",     [SY_MF_COST] = "cost",
    [SY_MF_BASELINE] = "baseline",
};

static const char *const surface_names[SY_MS__COUNT] = {
    "chat",         "responses", "messages", "embeddings",
    "count_tokens", "models",    "other",
};

static const char *const token_names[SY_MT__COUNT] = {
    "input", "output", "cached_read", "cache_write", "reasoning",
};

static const char *const class_names[SY_METRICS_CLASSES] = { "2xx", "4xx",
                                                             "5xx" };
/* Breaker states by enum sy_breaker_state: closed, open, half_open. */
static const char *const breaker_names[3] = { "closed", "open", "half_open" };

const char *
sy_metrics_family_name(enum sy_metrics_family f)
{
    return (unsigned)f < SY_MF__COUNT ? family_names[f] : "?";
}

const char *
sy_metrics_surface_name(enum sy_metrics_surface s)
{
    return (unsigned)s < SY_MS__COUNT ? surface_names[s] : "other";
}

const char *
sy_metrics_token_name(enum sy_metrics_token t)
{
    return (unsigned)t < SY_MT__COUNT ? token_names[t] : "?";
}

/* "ok" for SY_OK, else the error's name (as the usage log writes it). */
const char *
sy_metrics_outcome_name(unsigned outcome)
{
    return outcome == SY_OK ? "ok" : sy_err_name((enum sy_err)outcome);
}

/* The power-of-two slot of 'v': the k with 2^(k-1) < v <= 2^k (0 for
 * v <= 1), so that a value of exactly 2^k is counted at le="2^k" as
 * Prometheus means it; 32 for anything larger. */
unsigned
sy_metrics_pow2(uint64_t v)
{
    if (v <= 1)
        return 0;
    unsigned k = 64u - (unsigned)__builtin_clzll(v - 1);
    return SY_MIN(k, SY_METRICS_POW2 - 1u);
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */

void
sy_metrics_layout_init(struct sy_metrics_layout *l, const struct sy_config *cfg)
{
    memset(l, 0, sizeof(*l));
    l->cfg = cfg;
    l->ngroups = cfg->ngroups;
    l->ndeps = cfg->ndeployments;
    l->pair_base = sy_xcalloc(l->ngroups + 1, sizeof(*l->pair_base));
    size_t n = 1;
    for (size_t g = 0; g < l->ngroups; g++)
        n += cfg->groups[g].ndeployments + cfg->groups[g].noffline + 1;
    l->npairs = n;
    l->pair_dep = sy_xcalloc(n, sizeof(*l->pair_dep));
    l->pair_grp = sy_xcalloc(n, sizeof(*l->pair_grp));
    size_t p = 0;
    for (size_t g = 0; g <= l->ngroups; g++) {
        l->pair_base[g] = p;
        const struct sy_group *gr = g < l->ngroups ? &cfg->groups[g] : NULL;
        size_t nd = gr ? gr->ndeployments : 0;
        size_t no = gr ? gr->noffline : 0;
        for (size_t i = 0; i < nd + no; i++, p++) {
            const struct sy_deployment *d =
                i < nd ? gr->deployments[i] : gr->offline[i - nd];
            l->pair_dep[p] = d->index;
            l->pair_grp[p] = g;
        }
        l->pair_dep[p] = l->ndeps;
        l->pair_grp[p++] = g;
    }
    size_t D = l->ndeps;
    const size_t sizes[SY_MF__DENSE] = {
        [SY_MF_REQUESTS] = SY_MS__COUNT * n * SY_METRICS_CLASSES,
        [SY_MF_ATTEMPTS] = n * SY_ERR__COUNT,
        [SY_MF_FAILOVERS] = (l->ngroups + 1) * SY_ERR__COUNT,
        [SY_MF_BREAKER] = D * 3,
        [SY_MF_TOKENS] = D * SY_MT__COUNT,
        [SY_MF_LAT_TOTAL] = D * SY_METRICS_HSLOTS,
        [SY_MF_LAT_TTFT] = D * SY_METRICS_HSLOTS,
        [SY_MF_LAT_TPOT] = D * SY_METRICS_HSLOTS,
        [SY_MF_OVERHEAD] = SY_MS__COUNT * SY_METRICS_HSLOTS,
        [SY_MF_TOKEN_USAGE] = D * 2 * SY_METRICS_HSLOTS,
        [SY_MF_ROUTING] = (l->ngroups + 1) * SY_MR__COUNT,
    };
    size_t off = 0;
    for (int f = 0; f < SY_MF__DENSE; f++) {
        l->off[f] = off;
        off += sizes[f];
    }
    l->off[SY_MF__DENSE] = off;
}

void
sy_metrics_layout_cleanup(struct sy_metrics_layout *l)
{
    free(l->pair_base);
    free(l->pair_dep);
    free(l->pair_grp);
    memset(l, 0, sizeof(*l));
}

size_t
sy_metrics_group_index(const struct sy_metrics_layout *l,
                       const struct sy_group *g)
{
    if (g == NULL || g < l->cfg->groups || g >= l->cfg->groups + l->ngroups)
        return l->ngroups;
    return (size_t)(g - l->cfg->groups);
}

/* The pair of ('g', 'd'); (g, none) when 'd' is not one of g's. */
size_t
sy_metrics_pair(const struct sy_metrics_layout *l, const struct sy_group *g,
                const struct sy_deployment *d)
{
    size_t gi = sy_metrics_group_index(l, g);
    size_t p = l->pair_base[gi];
    for (; l->pair_dep[p] != l->ndeps; p++)
        if (d != NULL && l->pair_dep[p] == d->index)
            return p;
    return p;
}

size_t
sy_metrics_req(const struct sy_metrics_layout *l, unsigned surface, size_t pair,
               unsigned cls)
{
    return l->off[SY_MF_REQUESTS] +
           ((size_t)surface * l->npairs + pair) * SY_METRICS_CLASSES + cls;
}

size_t
sy_metrics_att(const struct sy_metrics_layout *l, size_t pair, unsigned outcome)
{
    return l->off[SY_MF_ATTEMPTS] + pair * SY_ERR__COUNT + outcome;
}

static const char *const route_event_names[SY_MR__COUNT] = {
    [SY_MR_HEDGE_STARTED] = "hedge_started",
    [SY_MR_HEDGE_WON] = "hedge_won",
    [SY_MR_AFFINITY_HIT] = "affinity_hit",
    [SY_MR_AFFINITY_MOVED] = "affinity_moved",
    [SY_MR_AFFINITY_MISS] = "affinity_miss",
};

const char *
sy_metrics_route_event_name(unsigned event)
{
    return event < SY_MR__COUNT ? route_event_names[event] : "?";
}

size_t
sy_metrics_rev(const struct sy_metrics_layout *l, size_t group, unsigned event)
{
    return l->off[SY_MF_ROUTING] + group * SY_MR__COUNT + event;
}

size_t
sy_metrics_fail(const struct sy_metrics_layout *l, size_t group,
                unsigned reason)
{
    return l->off[SY_MF_FAILOVERS] + group * SY_ERR__COUNT + reason;
}

size_t
sy_metrics_trans(const struct sy_metrics_layout *l, size_t dep, unsigned to)
{
    return l->off[SY_MF_BREAKER] + dep * 3 + to;
}

size_t
sy_metrics_tok(const struct sy_metrics_layout *l, size_t dep, unsigned type)
{
    return l->off[SY_MF_TOKENS] + dep * SY_MT__COUNT + type;
}

size_t
sy_metrics_hlat(const struct sy_metrics_layout *l, size_t dep, unsigned metric,
                unsigned slot)
{
    return l->off[SY_MF_LAT_TOTAL + metric] + dep * SY_METRICS_HSLOTS + slot;
}

size_t
sy_metrics_hovh(const struct sy_metrics_layout *l, unsigned surface,
                unsigned slot)
{
    return l->off[SY_MF_OVERHEAD] + (size_t)surface * SY_METRICS_HSLOTS + slot;
}

size_t
sy_metrics_htok(const struct sy_metrics_layout *l, size_t dep, unsigned io,
                unsigned slot)
{
    return l->off[SY_MF_TOKEN_USAGE] + (dep * 2 + io) * SY_METRICS_HSLOTS +
           slot;
}

/* ------------------------------------------------------------------ */
/* Names in fields                                                     */

/* 'name' with '%' and '|' as %25 and %7C into 'out'; the length written
 * (truncated names are cut, never split inside an escape). */
size_t
sy_metrics_escape(char *out, size_t outlen, const char *name)
{
    size_t o = 0;
    for (const char *p = name; *p && o + 4 <= outlen; p++) {
        if (*p == '%' || *p == '|') {
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X",
                                  (unsigned)(unsigned char)*p);
        } else {
            out[o++] = *p;
        }
    }
    if (outlen > 0)
        out[o] = '\0';
    return o;
}

/* Undo sy_metrics_escape in place; false for a malformed escape. */
bool
sy_metrics_unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '%') {
            *o++ = *p;
            continue;
        }
        int hi = sy_hexval(p[1]);
        int lo = hi >= 0 ? sy_hexval(p[2]) : -1;
        if (lo < 0)
            return false;
        *o++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *o = '\0';
    return true;
}

static const char *
dep_name(const struct sy_metrics_layout *l, size_t d)
{
    return d < l->ndeps ? l->cfg->deployments[d].name : "";
}

static const char *
group_name(const struct sy_metrics_layout *l, size_t g)
{
    return g < l->ngroups ? l->cfg->groups[g].name : "";
}

static void
slot_text(unsigned slot, char out[8])
{
    if (slot == SY_METRICS_SUM)
        snprintf(out, 8, "sum");
    else
        snprintf(out, 8, "%u", slot);
}

/* The family and field of counter 'i'; false when 'i' is out of range
 * or the field does not fit 'outlen'. */
bool
sy_metrics_field(const struct sy_metrics_layout *l, size_t i,
                 enum sy_metrics_family *fam, char *out, size_t outlen)
{
    int f = 0;
    while (f < SY_MF__DENSE && i >= l->off[f + 1])
        f++;
    if (f == SY_MF__DENSE)
        return false;
    *fam = (enum sy_metrics_family)f;
    size_t r = i - l->off[f];
    char slot[8];
    int n = -1;
    switch (*fam) {
    case SY_MF_REQUESTS: {
        size_t pair = (r / SY_METRICS_CLASSES) % l->npairs;
        size_t s = r / SY_METRICS_CLASSES / l->npairs;
        n = snprintf(out, outlen, "%s|%s|%s|%s", surface_names[s],
                     group_name(l, l->pair_grp[pair]),
                     dep_name(l, l->pair_dep[pair]),
                     class_names[r % SY_METRICS_CLASSES]);
        break;
    }
    case SY_MF_ATTEMPTS: {
        size_t pair = r / SY_ERR__COUNT;
        n = snprintf(out, outlen, "%s|%s|%s", group_name(l, l->pair_grp[pair]),
                     dep_name(l, l->pair_dep[pair]),
                     sy_metrics_outcome_name((unsigned)(r % SY_ERR__COUNT)));
        break;
    }
    case SY_MF_FAILOVERS:
        n = snprintf(out, outlen, "%s|%s", group_name(l, r / SY_ERR__COUNT),
                     sy_metrics_outcome_name((unsigned)(r % SY_ERR__COUNT)));
        break;
    case SY_MF_BREAKER:
        n = snprintf(out, outlen, "%s|%s", dep_name(l, r / 3),
                     breaker_names[r % 3]);
        break;
    case SY_MF_TOKENS:
        n = snprintf(out, outlen, "%s|%s", dep_name(l, r / SY_MT__COUNT),
                     token_names[r % SY_MT__COUNT]);
        break;
    case SY_MF_LAT_TOTAL:
    case SY_MF_LAT_TTFT:
    case SY_MF_LAT_TPOT:
        slot_text((unsigned)(r % SY_METRICS_HSLOTS), slot);
        n = snprintf(out, outlen, "%s|%s", dep_name(l, r / SY_METRICS_HSLOTS),
                     slot);
        break;
    case SY_MF_OVERHEAD:
        slot_text((unsigned)(r % SY_METRICS_HSLOTS), slot);
        n = snprintf(out, outlen, "%s|%s", surface_names[r / SY_METRICS_HSLOTS],
                     slot);
        break;
    case SY_MF_TOKEN_USAGE:
        slot_text((unsigned)(r % SY_METRICS_HSLOTS), slot);
        n = snprintf(out, outlen, "%s|%s|%s",
                     dep_name(l, r / SY_METRICS_HSLOTS / 2),
                     r / SY_METRICS_HSLOTS % 2 ? "output" : "input", slot);
        break;
    case SY_MF_ROUTING:
        n = snprintf(out, outlen, "%s|%s", group_name(l, r / SY_MR__COUNT),
                     route_event_names[r % SY_MR__COUNT]);
        break;
    default:
        return false;
    }
    return n >= 0 && (size_t)n < outlen;
}

/* ------------------------------------------------------------------ */
/* Fields back to positions (the scrape)                               */

static bool
find_name(const char *const *names, size_t n, const char *s, size_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool
find_dep(const struct sy_metrics_layout *l, const char *s, bool none_ok,
         size_t *out)
{
    *out = l->ndeps;
    if (s[0] == '\0')
        return none_ok;
    for (size_t i = 0; i < l->ndeps; i++)
        if (strcmp(l->cfg->deployments[i].name, s) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool
find_group(const struct sy_metrics_layout *l, const char *s, size_t *out)
{
    *out = l->ngroups;
    if (s[0] == '\0')
        return true;
    for (size_t i = 0; i < l->ngroups; i++)
        if (strcmp(l->cfg->groups[i].name, s) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool
find_outcome(const char *s, size_t *out)
{
    for (unsigned i = 0; i < SY_ERR__COUNT; i++)
        if (strcmp(sy_metrics_outcome_name(i), s) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool
find_slot(const char *s, size_t *out)
{
    if (strcmp(s, "sum") == 0) {
        *out = SY_METRICS_SUM;
        return true;
    }
    size_t v = 0, n = 0;
    for (; s[n] >= '0' && s[n] <= '9' && n < 3; n++)
        v = v * 10 + (size_t)(s[n] - '0');
    *out = v;
    return n > 0 && s[n] == '\0' && v < SY_METRICS_POW2;
}

/* The pair of group 'g' and deployment 'd' (ndeps: none); false when
 * 'd' is not one of the group's. */
static bool
find_pair(const struct sy_metrics_layout *l, size_t g, size_t d, size_t *out)
{
    for (size_t p = l->pair_base[g];; p++) {
        if (l->pair_dep[p] == d) {
            *out = p;
            return true;
        }
        if (l->pair_dep[p] == l->ndeps)
            return false;
    }
}

/* Split 'field' at '|' into exactly 'want' parts (in 'buf'). */
static bool
split(const char *field, char *buf, size_t buflen, char **parts, size_t want)
{
    size_t n = strlen(field);
    if (n >= buflen)
        return false;
    memcpy(buf, field, n + 1);
    size_t k = 0;
    parts[k++] = buf;
    for (char *p = buf; *p; p++) {
        if (*p != '|')
            continue;
        if (k == want)
            return false;
        *p = '\0';
        parts[k++] = p + 1;
    }
    return k == want;
}

/* The position of 'field' of dense family 'fam'; false when it names
 * something this config does not have (a series is never made for it). */
bool
sy_metrics_index(const struct sy_metrics_layout *l, enum sy_metrics_family fam,
                 const char *field, size_t *out)
{
    static const size_t nparts[SY_MF__DENSE] = {
        4, 3, 2, 2, 2, 2, 2, 2, 2, 3, 2
    };
    char buf[600];
    char *p[4];
    size_t a, b, c, d;
    if ((unsigned)fam >= SY_MF__DENSE ||
        !split(field, buf, sizeof(buf), p, nparts[fam]))
        return false;
    switch (fam) {
    case SY_MF_REQUESTS:
        if (!find_name(surface_names, SY_MS__COUNT, p[0], &a) ||
            !find_group(l, p[1], &b) || !find_dep(l, p[2], true, &c) ||
            !find_name(class_names, SY_METRICS_CLASSES, p[3], &d) ||
            !find_pair(l, b, c, &b))
            return false;
        *out = sy_metrics_req(l, (unsigned)a, b, (unsigned)d);
        return true;
    case SY_MF_ATTEMPTS:
        if (!find_group(l, p[0], &a) || !find_dep(l, p[1], true, &b) ||
            !find_outcome(p[2], &c) || !find_pair(l, a, b, &a))
            return false;
        *out = sy_metrics_att(l, a, (unsigned)c);
        return true;
    case SY_MF_FAILOVERS:
        if (!find_group(l, p[0], &a) || !find_outcome(p[1], &b))
            return false;
        *out = sy_metrics_fail(l, a, (unsigned)b);
        return true;
    case SY_MF_BREAKER:
        if (!find_dep(l, p[0], false, &a) ||
            !find_name(breaker_names, 3, p[1], &b))
            return false;
        *out = sy_metrics_trans(l, a, (unsigned)b);
        return true;
    case SY_MF_TOKENS:
        if (!find_dep(l, p[0], false, &a) ||
            !find_name(token_names, SY_MT__COUNT, p[1], &b))
            return false;
        *out = sy_metrics_tok(l, a, (unsigned)b);
        return true;
    case SY_MF_OVERHEAD:
        if (!find_name(surface_names, SY_MS__COUNT, p[0], &a) ||
            !find_slot(p[1], &b))
            return false;
        *out = sy_metrics_hovh(l, (unsigned)a, (unsigned)b);
        return true;
    case SY_MF_TOKEN_USAGE: {
        static const char *const io[2] = { "input", "output" };
        if (!find_dep(l, p[0], false, &a) || !find_name(io, 2, p[1], &b) ||
            !find_slot(p[2], &c))
            return false;
        *out = sy_metrics_htok(l, a, (unsigned)b, (unsigned)c);
        return true;
    }
    case SY_MF_ROUTING:
        if (!find_group(l, p[0], &a) ||
            !find_name(route_event_names, SY_MR__COUNT, p[1], &b))
            return false;
        *out = sy_metrics_rev(l, a, (unsigned)b);
        return true;
    default: /* the three latency histograms */
        if (!find_dep(l, p[0], false, &a) || !find_slot(p[1], &b))
            return false;
        *out = sy_metrics_hlat(l, a, (unsigned)(fam - SY_MF_LAT_TOTAL),
                               (unsigned)b);
        return true;
    }
}
