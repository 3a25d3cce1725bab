/*
 * vkey_cache.c - the virtual keys a worker process found in Redis, for
 * an outage (see vkey_cache.h). Memory is taken once, at init; a lookup
 * allocates nothing and costs one set scan under the mutex.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "vkey_cache.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

void
sy_vkey_cache_init(struct sy_vkey_cache *c, size_t slots, uint64_t max_age_ms)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->nsets = SY_MAX((slots + SY_VKEY_CACHE_WAYS - 1) / SY_VKEY_CACHE_WAYS,
                      (size_t)1);
    c->slot = sy_xcalloc(c->nsets * SY_VKEY_CACHE_WAYS, sizeof(*c->slot));
    c->max_age_ms = max_age_ms;
}

void
sy_vkey_cache_cleanup(struct sy_vkey_cache *c)
{
    if (c == NULL || c->slot == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slot);
    c->slot = NULL;
}

static struct sy_vkey_cache process_cache;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void
process_init(void)
{
    sy_vkey_cache_init(&process_cache, SY_VKEY_CACHE_SLOTS,
                       SY_VKEY_CACHE_MAX_AGE_MS);
}

struct sy_vkey_cache *
sy_vkey_cache_process(void)
{
    pthread_once(&process_once, process_init);
    return &process_cache;
}

static unsigned
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return (unsigned)(ch - '0');
    if (ch >= 'a' && ch <= 'f')
        return (unsigned)(ch - 'a' + 10);
    return 0;
}

/* The first slot of the set of HMAC 'hex': its first 8 digits, which an
 * HMAC spreads evenly. NULL for anything but 64 hex digits. */
static struct sy_vkey_cache_slot *
set_of(struct sy_vkey_cache *c, const char *hex)
{
    if (hex == NULL || strlen(hex) != 64)
        return NULL;
    uint32_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 4) | hex_digit(hex[i]);
    return &c->slot[(h % c->nsets) * SY_VKEY_CACHE_WAYS];
}

/* The slot holding 'hex' in 'set', or NULL. Under c->mu. */
static struct sy_vkey_cache_slot *
find(struct sy_vkey_cache_slot *set, const char *hex)
{
    for (size_t i = 0; i < SY_VKEY_CACHE_WAYS; i++)
        if (set[i].v.hmac[0] != '\0' && memcmp(set[i].v.hmac, hex, 64) == 0)
            return &set[i];
    return NULL;
}

/* Where 'hex' goes in 'set': its own slot, else a free one, else the
 * least recently used "no such key" (a flood of unknown keys then takes
 * at most one live record of a set), else the least recently used.
 * Under c->mu. */
static struct sy_vkey_cache_slot *
victim(struct sy_vkey_cache_slot *set, const char *hex)
{
    struct sy_vkey_cache_slot *own = find(set, hex);
    if (own != NULL)
        return own;
    struct sy_vkey_cache_slot *old = &set[0], *gone = NULL;
    for (size_t i = 0; i < SY_VKEY_CACHE_WAYS; i++) {
        if (set[i].v.hmac[0] == '\0')
            return &set[i];
        if (set[i].dropped && (gone == NULL || set[i].used < gone->used))
            gone = &set[i];
        if (set[i].used < old->used)
            old = &set[i];
    }
    return gone != NULL ? gone : old;
}

uint64_t
sy_vkey_cache_ticket(struct sy_vkey_cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t t = ++c->tickets;
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* Hold the answer of the lookup of 'ticket' for HMAC 'hex': record 'v',
 * or (NULL) no such key. Not over the answer of a later lookup. */
static void
hold(struct sy_vkey_cache *c, const char *hex, const struct sy_vkey *v,
     uint64_t now_ms, uint64_t ticket)
{
    struct sy_vkey_cache_slot *set = set_of(c, hex);
    if (set == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    struct sy_vkey_cache_slot *s = find(set, hex);
    if (s != NULL && s->ticket > ticket) {
        pthread_mutex_unlock(&c->mu);
        return; /* a later lookup's answer is held */
    }
    if (s == NULL) /* "no such key" is held too: an older lookup's
                      "live" may still be on its way */
        s = victim(set, hex);
    if (v != NULL) {
        s->v = *v;
    } else {
        memset(&s->v, 0, sizeof(s->v));
        memcpy(s->v.hmac, hex, 64);
    }
    s->dropped = v == NULL;
    s->stored_ms = now_ms;
    s->ticket = ticket;
    s->used = ++c->tick;
    pthread_mutex_unlock(&c->mu);
}

void
sy_vkey_cache_put_at(struct sy_vkey_cache *c, const struct sy_vkey *v,
                     uint64_t now_ms, uint64_t ticket)
{
    hold(c, v->hmac, v, now_ms, ticket);
}

void
sy_vkey_cache_drop_at(struct sy_vkey_cache *c, const char *hex, uint64_t ticket)
{
    hold(c, hex, NULL, 0, ticket);
}

void
sy_vkey_cache_put(struct sy_vkey_cache *c, const struct sy_vkey *v,
                  uint64_t now_ms)
{
    sy_vkey_cache_put_at(c, v, now_ms, sy_vkey_cache_ticket(c));
}

void
sy_vkey_cache_drop(struct sy_vkey_cache *c, const char *hex)
{
    sy_vkey_cache_drop_at(c, hex, sy_vkey_cache_ticket(c));
}

bool
sy_vkey_cache_get(struct sy_vkey_cache *c, const char *hex, uint64_t now_ms,
                  struct sy_vkey *out)
{
    struct sy_vkey_cache_slot *set = set_of(c, hex);
    if (set == NULL)
        return false;
    pthread_mutex_lock(&c->mu);
    struct sy_vkey_cache_slot *s = find(set, hex);
    /* A stamp ahead of 'now_ms' (another thread's clock read) is fresh. */
    bool fresh =
        s != NULL && !s->dropped &&
        (now_ms < s->stored_ms || now_ms - s->stored_ms <= c->max_age_ms);
    if (fresh) {
        *out = s->v;
        s->used = ++c->tick;
    }
    pthread_mutex_unlock(&c->mu);
    return fresh;
}

/* The outage's answer for HMAC 'hex': the remembered record, judged as
 * Redis would judge it now (it was live when stored; revoked keys are
 * never stored, but the expiry may have come since). */
static enum sy_err
from_cache(struct sy_vkey_cache *c, const char *hex, int64_t now_s,
           uint64_t now_ms, struct sy_vkey *out, bool *cached)
{
    if (!sy_vkey_cache_get(c, hex, now_ms, out))
        return SY_ESTORE;
    if (out->revoked || (out->expires_at != 0 && now_s >= out->expires_at)) {
        memset(out, 0, sizeof(*out));
        return SY_ENOTFOUND;
    }
    *cached = true;
    return SY_OK;
}

enum sy_err
sy_vkey_cache_lookup(struct sy_vkey_cache *c, struct sy_store *s,
                     const void *secret, size_t secret_len, const char *key,
                     int64_t now_s, uint64_t now_ms, struct sy_vkey *out,
                     bool *cached)
{
    *cached = false;
    memset(out, 0, sizeof(*out));
    char hex[65];
    enum sy_err e = sy_vkey_id_of(secret, secret_len, key, hex);
    if (e != SY_OK)
        return e;
    uint64_t ticket = sy_vkey_cache_ticket(c);
    e = s != NULL ? sy_vkey_lookup_id(s, hex, now_s, out) : SY_ESTORE;
    if (e == SY_OK)
        sy_vkey_cache_put_at(c, out, now_ms, ticket);
    else if (e == SY_ENOTFOUND)
        sy_vkey_cache_drop_at(c, hex, ticket);
    else if (e == SY_ESTORE)
        e = from_cache(c, hex, now_s, now_ms, out, cached);
    return e;
}
