/*
 * config_alias.c - the other names of a group: its "aliases" key (exact
 * names, and patterns where '*' stands for any run of characters), their
 * checks at load, and sy_config_find_group(), which maps the model name a
 * client sends to its group.
 *
 * Lookup order: a group's own name first, then an exact alias, then the
 * pattern with the most literal (non-'*') characters among those that
 * match; patterns of equal weight go by config order (groups in file
 * order, a group's aliases in list order). Patterns are bounded at load
 * (SY_ALIAS_MAX_LEN, SY_ALIAS_MAX_STARS, SY_GROUP_MAX_ALIASES) and the
 * matcher never backtracks further than the last '*', so a lookup costs
 * at most pattern length times name length steps per pattern.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"

#include <string.h>

#include <json-c/json.h>

/* The value of a numeric macro as a string literal, for the hints. */
#define STR_(x) #x
#define STR(x)  STR_(x)

/* Does 'pat' ('*' = any run of characters, maybe empty) match all of
 * 's'? The classic greedy matcher: on a mismatch after a '*', let that
 * star take one more character and retry from there. Only the last star
 * is ever revisited, which is enough because an earlier star could only
 * have taken a prefix the later one can take as well. */
bool
sy_config_alias_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s != '\0') {
        if (*pat == '*') {
            star = ++pat;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static size_t
count_stars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '*';
    return n;
}

/* A name character (as for the names of config sections), or '*'. */
static bool
alias_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '/' || c == ':' || c == '@' || c == '*';
}

/* Check one alias of 'g' (at 'path'); false if it was refused. */
static bool
alias_ok(struct loader *l, const char *path, const struct sy_group *g,
         const char *a)
{
    size_t len = strlen(a);
    if (len == 0 || len > SY_ALIAS_MAX_LEN) {
        sy_config_fail(
            l, path,
            "a model name of 1 to " STR(SY_ALIAS_MAX_LEN) " characters",
            "alias of %zu characters", len);
        return false;
    }
    for (size_t i = 0; i < len; i++)
        if (!alias_char(a[i])) {
            sy_config_fail(l, path, "use letters, digits, - _ . / : @ and *",
                           "invalid alias \"%s\"", a);
            return false;
        }
    if (count_stars(a) > SY_ALIAS_MAX_STARS) {
        sy_config_fail(l, path,
                       "at most " STR(SY_ALIAS_MAX_STARS) " '*' in a pattern",
                       "too many '*' in \"%s\"", a);
        return false;
    }
    if (strcmp(a, g->name) == 0) {
        sy_config_fail(l, path, "remove it: the group's own name matches",
                       "alias \"%s\" is the group's name", a);
        return false;
    }
    return true;
}

/* The "aliases" key of group 'g' at 'path': a list of strings. */
void
sy_config_load_aliases(struct loader *l, const char *path,
                       struct json_object *v, struct sy_group *g)
{
    if (sy_config_want(l, path, v, json_type_array,
                       "a list of model names; '*' matches any run of "
                       "characters") == NULL)
        return;
    if (json_object_array_length(v) > SY_GROUP_MAX_ALIASES) {
        sy_config_fail(
            l, path, "at most " STR(SY_GROUP_MAX_ALIASES) " aliases per group",
            "%zu aliases", json_object_array_length(v));
        return;
    }
    size_t n = json_object_array_length(v);
    g->aliases = sy_arena_zalloc(&l->cfg->arena, (n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        const char *ep = sy_arena_printf(&l->cfg->arena, "%s[%zu]", path, i);
        if (sy_config_want(l, ep, e, json_type_string, NULL) == NULL)
            continue;
        const char *a = sy_config_interpolate(l, ep, json_object_get_string(e));
        if (alias_ok(l, ep, g, a))
            g->aliases[g->naliases++] = a;
    }
}

/* Across groups, once all are loaded: an alias may not be another
 * group's name (the name would always win, so the alias would be dead),
 * and one alias string may appear once in the whole config (exact or
 * pattern alike: the later copy could never be chosen). */
void
sy_config_check_aliases(struct loader *l)
{
    const struct sy_config *cfg = l->cfg;
    for (size_t gi = 0; gi < cfg->ngroups; gi++) {
        const struct sy_group *g = &cfg->groups[gi];
        for (size_t ai = 0; ai < g->naliases; ai++) {
            const char *a = g->aliases[ai];
            const char *path = sy_arena_printf(
                &l->cfg->arena, "groups.%s.aliases[%zu]", g->name, ai);
            for (size_t hi = 0; hi < cfg->ngroups; hi++)
                if (hi != gi && strcmp(cfg->groups[hi].name, a) == 0)
                    sy_config_fail(l, path,
                                   "remove it: the group of that name "
                                   "always answers to it",
                                   "alias \"%s\" is the name of another "
                                   "group",
                                   a);
            /* Earlier aliases only, so each clash is told once, at the
             * later copy. */
            for (size_t hi = 0; hi <= gi; hi++) {
                const struct sy_group *h = &cfg->groups[hi];
                size_t end = hi == gi ? ai : h->naliases;
                for (size_t k = 0; k < end; k++)
                    if (strcmp(h->aliases[k], a) == 0)
                        sy_config_fail(l, path, "give each alias to one group",
                                       "alias \"%s\" already belongs to "
                                       "group \"%s\"",
                                       a, h->name);
            }
        }
    }
}

/* The group clients name as "model" (see the lookup order above), or
 * NULL. Linear: groups are few and this beats hashing for the sizes
 * configs have. */
const struct sy_group *
sy_config_find_group(const struct sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ngroups; i++)
        if (strcmp(cfg->groups[i].name, name) == 0)
            return &cfg->groups[i];
    for (size_t i = 0; i < cfg->ngroups; i++)
        for (size_t k = 0; k < cfg->groups[i].naliases; k++) {
            const char *a = cfg->groups[i].aliases[k];
            if (strchr(a, '*') == NULL && strcmp(a, name) == 0)
                return &cfg->groups[i];
        }
    const struct sy_group *best = NULL;
    size_t best_weight = 0;
    for (size_t i = 0; i < cfg->ngroups; i++)
        for (size_t k = 0; k < cfg->groups[i].naliases; k++) {
            const char *a = cfg->groups[i].aliases[k];
            size_t stars = count_stars(a);
            size_t weight = strlen(a) - stars;
            if (stars == 0 || (best != NULL && weight <= best_weight))
                continue;
            if (sy_config_alias_match(a, name)) {
                best = &cfg->groups[i];
                best_weight = weight;
            }
        }
    return best;
}
