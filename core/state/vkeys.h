/*
 * vkeys.h - virtual keys: caller keys created at run time and kept in
 * Redis. The key itself is never stored: only HMAC-SHA-256(server
 * secret, key) as lowercase hex, which names its hash
 * "<prefix>vk:<hmac hex>" (fields name, team, budget_micro_usd,
 * budget_period, rpm, tpm, models, expires_at, revoked, created_at,
 * fail_open), plus the index hash "<prefix>vkname": name -> hmac hex, for
 * list, show, update and revoke by name.
 *
 * A key is "sk-sy-" and 40 base62 characters from getrandom(2); create
 * returns it once. lookup() answers unknown, revoked and expired keys the
 * same way (SY_ENOTFOUND), with the same Redis round trip; a request
 * looks keys up through vkey_cache.h, which remembers them for an
 * outage.
 * Writes are atomic Lua scripts; a name is unique.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_VKEYS_H
#define SY_CORE_VKEYS_H

#include "base/sy.h"
#include "budget.h"
#include "base/err.h"
#include "base/limits.h"
#include "io/store.h"

#define SY_VKEY_RANDOM_LEN 40                       /* base62 characters */
#define SY_VKEY_KEY_LEN    (6 + SY_VKEY_RANDOM_LEN) /* NUL excluded */
#define SY_VKEY_SECRET_MIN 16                       /* server secret bytes */

struct sy_vkey {
    char name[SY_VKEY_NAME_MAX + 1]; /* [A-Za-z0-9._-]{1,64} */
    char team[SY_VKEY_NAME_MAX + 1]; /* the same, or "" for none */
    int64_t budget_micro_usd;        /* 0 = no money budget */
    enum sy_budget_period budget_period;
    uint64_t rpm;                        /* 0 = unlimited */
    uint64_t tpm;                        /* 0 = unlimited */
    char models[SY_VKEY_MODELS_MAX + 1]; /* "a,b,c"; "" = every group */
    int64_t expires_at;                  /* epoch s; 0 = never */
    bool revoked;
    int64_t created_at; /* epoch s */
    bool fail_open;     /* money budget when Redis is down:
                                          false (default) = refuse */
    char hmac[65];      /* its id: HMAC hex (read only) */
};

/* Fields for sy_vkey_update() */
enum {
    SY_VKEY_F_TEAM = 1u << 0,
    SY_VKEY_F_BUDGET = 1u << 1, /* budget_micro_usd */
    SY_VKEY_F_PERIOD = 1u << 2, /* budget_period */
    SY_VKEY_F_RPM = 1u << 3,
    SY_VKEY_F_TPM = 1u << 4,
    SY_VKEY_F_MODELS = 1u << 5,
    SY_VKEY_F_EXPIRES = 1u << 6,
    SY_VKEY_F_FAIL_OPEN = 1u << 7
};

/* Validation */
bool sy_vkey_name_valid(const char *name);
/* valid, and not "." or ".." (dot segments no URL reaches) */
bool sy_vkey_name_creatable(const char *name);
bool sy_vkey_models_valid(const char *models);
enum sy_err sy_vkey_validate(const struct sy_vkey *v, char *err, size_t errlen);
bool sy_vkey_model_allowed(const struct sy_vkey *v, const char *model);

/* Keys */
enum sy_err sy_vkey_generate(char key[SY_VKEY_KEY_LEN + 1]);
enum sy_err sy_vkey_hmac(const void *secret, size_t secret_len, const char *key,
                         char hex[65]);

/* Redis (now_s 0: the local wall clock; one Lua script, lua/vkeys.lua) */
enum sy_err sy_vkey_create(struct sy_store *s, const void *secret,
                           size_t secret_len, const struct sy_vkey *spec,
                           int64_t now_s, char key_out[SY_VKEY_KEY_LEN + 1],
                           struct sy_vkey *created, char *err, size_t errlen);
enum sy_err sy_vkey_list(struct sy_store *s, struct sy_vkey **out, size_t *n);
enum sy_err sy_vkey_batch_list(struct sy_store_batch *b, const char *prefix);
size_t sy_vkey_list_reply(const struct sy_store_val *r, struct sy_vkey **out);
enum sy_err sy_vkey_show(struct sy_store *s, const char *name,
                         struct sy_vkey *out);
enum sy_err sy_vkey_update(struct sy_store *s, const char *name,
                           const struct sy_vkey *v, unsigned fields, char *err,
                           size_t errlen);
enum sy_err sy_vkey_revoke(struct sy_store *s, const char *name);
/* The id (HMAC hex) of a caller's 'key': SY_ENOTFOUND for none or one
 * not of our shape. */
enum sy_err sy_vkey_id_of(const void *secret, size_t secret_len,
                          const char *key, char hex[65]);
enum sy_err sy_vkey_lookup(struct sy_store *s, const void *secret,
                           size_t secret_len, const char *key, int64_t now_s,
                           struct sy_vkey *out);
/* The two halves of sy_vkey_lookup(), for a caller that keeps the HMAC
 * (core/state/vkey_cache.c): the shape test, and the lookup by HMAC. */
bool sy_vkey_shape_ok(const char *key);
enum sy_err sy_vkey_lookup_id(struct sy_store *s, const char *hex,
                              int64_t now_s, struct sy_vkey *out);

#endif
