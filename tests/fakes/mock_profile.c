/*
 * mock_profile.c - what a mock deployment is like, apart from its faults:
 * the profile (a fault spec under every request of the deployment, set
 * with PUT /_mock/profile/<dep>, e.g. its latency distributions), and
 * prompt caching: the leading parts of the conversations a deployment
 * answered, remembered in a bounded LRU, so that a request that starts
 * the same way reports those tokens as cached, as a provider's cache does.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ---- the profile ------------------------------------------------------- */

/*
 * Give "dep" the profile "take" (its reference passes to the deployment;
 * NULL or {} clears it). False, with "err", for a spec with keys that
 * make no sense under every request (rate, count, only_key): "take" is
 * then dropped.
 */
bool
sy_mock_profile_set(struct sy_mock_dep *dep, struct sy_mock_fault *take,
                    char *err, size_t err_len)
{
    struct sy_mock_fault *old;

    if (take != NULL &&
        (take->has & (SY_MOCK_F_RATE | SY_MOCK_F_COUNT | SY_MOCK_F_ONLY_KEY))) {
        snprintf(err, err_len, "a profile takes no rate, count or only_key");
        sy_mock_fault_unref(take);
        return false;
    }
    if (take != NULL && take->has == 0) {
        sy_mock_fault_unref(take);
        take = NULL;
    }
    pthread_mutex_lock(&dep->lock);
    old = dep->profile;
    dep->profile = take;
    pthread_mutex_unlock(&dep->lock);
    sy_mock_fault_unref(old);
    return true;
}

/* The profile of "dep" as a reference (drop it with sy_mock_fault_unref),
 * NULL when none. */
struct sy_mock_fault *
sy_mock_profile_take(struct sy_mock_dep *dep)
{
    struct sy_mock_fault *f;

    pthread_mutex_lock(&dep->lock);
    f = sy_mock_fault_ref(dep->profile);
    pthread_mutex_unlock(&dep->lock);
    return f;
}

/* Append {"deployment", "profile"} for "dep" to "out". */
void
sy_mock_profile_json(struct sy_mock_dep *dep, struct sy_mock_buf *out)
{
    pthread_mutex_lock(&dep->lock);
    sy_mock_buf_puts(out, "{\"deployment\":");
    sy_mock_buf_json_cstr(out, dep->name);
    sy_mock_buf_puts(out, ",\"profile\":");
    sy_mock_buf_puts(out, dep->profile != NULL ? dep->profile->json : "{}");
    sy_mock_buf_puts(out, "}");
    pthread_mutex_unlock(&dep->lock);
}

/* ---- the leading parts of a request ------------------------------------ */

/* FNV-1a over "n" bytes, continuing from "h". */
static uint64_t
prefix_fnv(uint64_t h, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Characters of the prompt text in "v": a string, or every "text" and
 * string "content" member below it. */
static long
prefix_chars(struct json_object *v)
{
    long n = 0;

    if (json_object_is_type(v, json_type_string)) {
        return sy_mock_utf8_chars(json_object_get_string(v),
                                  (size_t)json_object_get_string_len(v));
    }
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            n += prefix_chars(json_object_array_get_idx(v, i));
        }
        return n;
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            if (strcmp(key, "text") == 0 || strcmp(key, "content") == 0 ||
                strcmp(key, "parts") == 0) {
                n += prefix_chars(val);
            }
        }
    }
    return n;
}

/* Add item "v" (the system text or one message) to "out". */
static void
prefix_add(struct sy_mock_prefix *out, struct json_object *v)
{
    const char *s;
    uint64_t h;
    long chars;

    if (v == NULL || out->n >= sizeof(out->hash) / sizeof(out->hash[0])) {
        return;
    }
    s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    h = out->n > 0 ? out->hash[out->n - 1] : 14695981039346656037ULL;
    chars = out->n > 0 ? out->chars[out->n - 1] : 0;
    out->hash[out->n] = prefix_fnv(h ^ 0x9e3779b97f4a7c15ULL, s, strlen(s));
    out->chars[out->n] = chars + prefix_chars(v);
    out->n++;
}

/*
 * The leading parts of the chat request "body" in any dialect: the system
 * text (OpenAI and Anthropic "system", Responses "instructions", Gemini
 * "systemInstruction"), then each item of "messages", "contents" or
 * "input". Two requests share a prefix when their first items are the
 * same JSON.
 */
void
sy_mock_prefix_of(struct json_object *body, struct sy_mock_prefix *out)
{
    static const char *const sys[] = { "system", "instructions",
                                       "systemInstruction" };
    static const char *const lists[] = { "messages", "contents", "input" };
    struct json_object *v;
    size_t i;
    size_t k;

    out->n = 0;
    for (i = 0; i < 3; i++) {
        if (json_object_object_get_ex(body, sys[i], &v)) {
            prefix_add(out, v);
        }
    }
    for (i = 0; i < 3; i++) {
        if (!json_object_object_get_ex(body, lists[i], &v)) {
            continue;
        }
        if (!json_object_is_type(v, json_type_array)) {
            prefix_add(out, v);
            continue;
        }
        for (k = 0; k < json_object_array_length(v); k++) {
            prefix_add(out, json_object_array_get_idx(v, k));
        }
    }
}

/* ---- the cache: 4-way set-associative LRU with a TTL ------------------- */

#define PC_WAYS 4

struct pc_way {
    uint64_t hash; /* 0 = empty */
    int64_t t_ms;  /* last use */
};

struct sy_mock_pcache {
    size_t sets;
    long entries; /* as configured */
    struct pc_way way[];
};

/* The cache of "dep" sized for "f", made or remade when the size changed;
 * the caller holds dep->lock. */
static struct sy_mock_pcache *
pc_get(struct sy_mock_dep *dep, const struct sy_mock_fault *f)
{
    struct sy_mock_pcache *c = dep->pcache;
    size_t sets = ((size_t)f->cache_entries + PC_WAYS - 1) / PC_WAYS;

    if (c != NULL && c->entries == f->cache_entries) {
        return c;
    }
    free(c);
    c = sy_mock_xcalloc(1, sizeof(*c) + sets * PC_WAYS * sizeof(c->way[0]));
    c->sets = sets;
    c->entries = f->cache_entries;
    dep->pcache = c;
    return c;
}

/* The way that holds "h" and is still fresh, or NULL. */
static struct pc_way *
pc_find(struct sy_mock_pcache *c, uint64_t h, int64_t now, long ttl_ms)
{
    struct pc_way *set = &c->way[(h % c->sets) * PC_WAYS];
    size_t i;

    for (i = 0; i < PC_WAYS; i++) {
        if (set[i].hash == h && now - set[i].t_ms <= ttl_ms) {
            return &set[i];
        }
    }
    return NULL;
}

/* Remember "h" (used now), evicting the least recently used of its set. */
static void
pc_put(struct sy_mock_pcache *c, uint64_t h, int64_t now)
{
    struct pc_way *set = &c->way[(h % c->sets) * PC_WAYS];
    struct pc_way *victim = &set[0];
    size_t i;

    for (i = 0; i < PC_WAYS; i++) {
        if (set[i].hash == h) {
            set[i].t_ms = now;
            return;
        }
        if (set[i].t_ms < victim->t_ms) {
            victim = &set[i];
        }
    }
    victim->hash = h;
    victim->t_ms = now;
}

/* The tokens of the longest leading part of "pre" that "dep" has seen
 * (at least prompt_cache.min_tokens of them), or 0. */
long
sy_mock_pcache_lookup(struct sy_mock_dep *dep, const struct sy_mock_fault *f,
                      const struct sy_mock_prefix *pre)
{
    int64_t now = sy_mock_now_ms();
    long tokens = 0;

    pthread_mutex_lock(&dep->lock);
    if (dep->pcache != NULL && dep->pcache->entries == f->cache_entries) {
        for (size_t i = pre->n; i-- > 0;) {
            if (pre->chars[i] / 4 < f->cache_min_tokens ||
                pre->chars[i] / 4 == 0) {
                break;
            }
            if (pc_find(dep->pcache, pre->hash[i] != 0 ? pre->hash[i] : 1, now,
                        f->cache_ttl_ms)) {
                tokens = pre->chars[i] / 4;
                break;
            }
        }
    }
    pthread_mutex_unlock(&dep->lock);
    return tokens;
}

/* Remember every leading part of "pre" long enough to be cached: the
 * request was answered, so "dep" now holds them. */
void
sy_mock_pcache_store(struct sy_mock_dep *dep, const struct sy_mock_fault *f,
                     const struct sy_mock_prefix *pre)
{
    int64_t now = sy_mock_now_ms();
    struct sy_mock_pcache *c;
    size_t i;

    pthread_mutex_lock(&dep->lock);
    c = pc_get(dep, f);
    for (i = 0; i < pre->n; i++) {
        if (pre->chars[i] / 4 >= f->cache_min_tokens && pre->chars[i] >= 4) {
            pc_put(c, pre->hash[i] != 0 ? pre->hash[i] : 1, now);
        }
    }
    pthread_mutex_unlock(&dep->lock);
}
