/*
 * park_cache.c - the cluster's parks of provider keys, as last read by
 * the state thread (see park_cache.h). One table per process: a slot per
 * (provider, key), found by open addressing on the pair; a key that finds
 * no slot (more than PARK_SLOTS_MAX keys) is never covered and asks Redis.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "park_cache.h"
#include "config/config.h"
#include "io/store.h"
#include "keys.h"

#include <pthread.h>
#include <string.h>

#define PARK_SLOTS_MAX 512

struct park_slot {
    const struct sy_provider *p; /* NULL: free */
    unsigned key;
    uint64_t until_ms; /* local clock; 0: not parked */
};

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static struct park_slot slots[PARK_SLOTS_MAX];
static uint64_t fresh_until_ms; /* local clock; 0: never read */

bool
sy_park_cache_covers(const struct sy_provider *p)
{
    return p->nkeys > 0 && p->key_limits.rpm == 0 && p->key_limits.tpm == 0;
}

/* The slot of (p, key), taken when free; NULL when the table is full.
 * Under park_mu. */
static struct park_slot *
slot_of(const struct sy_provider *p, unsigned key, bool take)
{
    size_t h = (((uintptr_t)p >> 4) * 31u + key) % PARK_SLOTS_MAX;
    for (size_t i = 0; i < PARK_SLOTS_MAX; i++) {
        struct park_slot *s = &slots[(h + i) % PARK_SLOTS_MAX];
        if (s->p == p && s->key == key)
            return s;
        if (s->p == NULL) {
            if (!take)
                return NULL;
            s->p = p;
            s->key = key;
            s->until_ms = 0;
            return s;
        }
    }
    return NULL;
}

/* The name of the park of key 'k' of 'p' in 'out'; false when too long. */
static bool
park_key(char *out, size_t outlen, const char *prefix,
         const struct sy_provider *p, unsigned k)
{
    char limit[200];
    return sy_key_fits(sy_key_limit_provider(limit, sizeof(limit), p->name, k,
                                             SY_KEY_RPM),
                       sizeof(limit)) &&
           sy_key_fits(sy_key_ratelimit_park(out, outlen, prefix, limit),
                       outlen);
}

size_t
sy_park_cache_flush(struct sy_store_batch *b, const char *prefix,
                    const struct sy_config *cfg)
{
    size_t n0 = b->n;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct sy_provider *p = &cfg->providers[i];
        if (!sy_park_cache_covers(p))
            continue;
        for (size_t k = 0; k < p->nkeys; k++) {
            char key[SY_KEY_MAX];
            if (!park_key(key, sizeof(key), prefix, p, (unsigned)k) ||
                sy_store_batch_addl(b, "PTTL", key, NULL) != SY_OK) {
                /* Not all of them: none (the table is not used). */
                sy_store_batch_truncate(b, n0);
                return 0;
            }
        }
    }
    return b->n - n0;
}

void
sy_park_cache_flush_done(const struct sy_config *cfg,
                         const struct sy_store_val *replies, size_t n,
                         uint64_t sent_ms)
{
    pthread_mutex_lock(&park_mu);
    /* The replies come in the order sy_park_cache_flush() queued. */
    size_t at = 0;
    bool ok = n > 0;
    for (size_t i = 0; ok && i < cfg->nproviders; i++) {
        const struct sy_provider *p = &cfg->providers[i];
        if (!sy_park_cache_covers(p))
            continue;
        for (size_t k = 0; ok && k < p->nkeys; k++) {
            struct park_slot *s = slot_of(p, (unsigned)k, true);
            const struct sy_store_val *v = at < n ? &replies[at++] : NULL;
            if (v == NULL || v->type != SY_STORE_INT) {
                ok = false;
                break;
            }
            if (s == NULL) /* the table is full: this key asks Redis */
                continue;
            /* PTTL: ms left; -2 no park (-1, no expiry, is never set). */
            s->until_ms = v->i > 0 ? sent_ms + (uint64_t)v->i : 0;
        }
    }
    fresh_until_ms = ok && at == n
                         ? sent_ms + 2 * (uint64_t)cfg->state.refresh_ms + 1000
                         : 0;
    pthread_mutex_unlock(&park_mu);
}

bool
sy_park_cache_get(const struct sy_provider *p, unsigned key, uint64_t now_ms,
                  uint64_t *until_ms)
{
    bool ok = false;
    pthread_mutex_lock(&park_mu);
    if (now_ms < fresh_until_ms) {
        const struct park_slot *s = slot_of(p, key, false);
        if (s != NULL) {
            *until_ms = s->until_ms;
            ok = true;
        }
    }
    pthread_mutex_unlock(&park_mu);
    return ok;
}
