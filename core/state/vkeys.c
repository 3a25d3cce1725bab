/*
 * vkeys.c - virtual keys in Redis (see vkeys.h for the layout). The key
 * is known only to its holder; Redis holds HMAC-SHA-256(secret, key) in
 * hex, so a copy of the database neither reveals keys nor lets anyone
 * test guesses without the server secret.
 *
 * Every operation is one EVALSHA of one script (lua/vkeys.lua), so
 * create never half-writes a key and two creates of one name cannot both
 * win. The script names a key's hash by appending its hmac to
 * sy_key_vkey_base(): like the rate limits, it needs a non-cluster Redis.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "vkeys.h"
#include "keys.h"
#include "lua.h"
#include "base/hmac.h"
#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Validation                                                          */

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool
sy_vkey_name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > SY_VKEY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return false;
    return true;
}

/* A valid name that a new key may take: not "." or "..". Those are dot
 * segments, which clients and web servers resolve and core/api/mount.c
 * refuses, so /admin/keys/. and /admin/keys/.. never reach the key. A
 * key so named before this rule stays valid (listed, and reachable by
 * 'switchyard keys show|update|revoke'). */
bool
sy_vkey_name_creatable(const char *name)
{
    return name != NULL && sy_vkey_name_valid(name) && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

/* "" or a comma list of group names: each 1..128 characters of
 * [A-Za-z0-9._:/@+-], no empty item, at most SY_VKEY_MODELS_MAX bytes. */
bool
sy_vkey_models_valid(const char *models)
{
    if (models == NULL)
        return false;
    size_t n = strlen(models);
    if (n == 0)
        return true;
    if (n > SY_VKEY_MODELS_MAX)
        return false;
    size_t item = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = models[i];
        if (c == ',' || c == '\0') {
            if (item == 0 || item > 128)
                return false;
            item = 0;
            continue;
        }
        if (!name_char(c) && c != ':' && c != '/' && c != '@' && c != '+')
            return false;
        item++;
    }
    return true;
}

static enum sy_err
bad_spec(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return SY_EBADREQ;
}

/* Check every field a caller sets (hmac, revoked and created_at are
 * ignored). */
enum sy_err
sy_vkey_validate(const struct sy_vkey *v, char *err, size_t errlen)
{
    if (!sy_vkey_name_valid(v->name))
        return bad_spec(err, errlen,
                        "name: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    if (v->team[0] != '\0' && !sy_vkey_name_valid(v->team))
        return bad_spec(err, errlen,
                        "team: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    if (v->budget_micro_usd < 0)
        return bad_spec(err, errlen, "budget: must not be negative");
    if (v->budget_period != SY_BUDGET_DAY &&
        v->budget_period != SY_BUDGET_MONTH &&
        v->budget_period != SY_BUDGET_TOTAL)
        return bad_spec(err, errlen, "budget period: day, month or total");
    if (v->rpm > INT64_MAX || v->tpm > INT64_MAX)
        return bad_spec(err, errlen, "rpm/tpm: too large");
    if (!sy_vkey_models_valid(v->models))
        return bad_spec(err, errlen, "models: a comma list of group names");
    if (v->expires_at < 0)
        return bad_spec(err, errlen, "expires_at: must not be negative");
    return SY_OK;
}

/* May key 'v' use group 'model'? ("" = every group.) */
bool
sy_vkey_model_allowed(const struct sy_vkey *v, const char *model)
{
    if (v->models[0] == '\0')
        return true;
    size_t mlen = strlen(model);
    const char *p = v->models;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
        if (len == mlen && memcmp(p, model, len) == 0)
            return true;
        if (c == NULL)
            return false;
        p = c + 1;
    }
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* A new key: "sk-sy-" and 40 base62 characters (238 bits), unbiased
 * (bytes >= 248 are drawn again). */
enum sy_err
sy_vkey_generate(char key[SY_VKEY_KEY_LEN + 1])
{
    static const char b62[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    memcpy(key, SY_VKEY_PREFIX, 6);
    size_t got = 0;
    while (got < SY_VKEY_RANDOM_LEN) {
        unsigned char buf[64];
        ssize_t r = getrandom(buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            memset(key, 0, SY_VKEY_KEY_LEN + 1);
            return SY_EINTERNAL;
        }
        for (ssize_t i = 0; i < r && got < SY_VKEY_RANDOM_LEN; i++)
            if (buf[i] < 248)
                key[6 + got++] = b62[buf[i] % 62];
        memset(buf, 0, sizeof(buf));
    }
    key[SY_VKEY_KEY_LEN] = '\0';
    return SY_OK;
}

/* hex = HMAC-SHA-256(secret, key). The secret must have at least
 * SY_VKEY_SECRET_MIN bytes. */
enum sy_err
sy_vkey_hmac(const void *secret, size_t secret_len, const char *key,
             char hex[65])
{
    if (secret == NULL || secret_len < SY_VKEY_SECRET_MIN || key == NULL) {
        memset(hex, 0, 65);
        return SY_EINTERNAL;
    }
    return sy_hmac_sha256_hex(secret, secret_len, key, strlen(key), hex);
}

/* Does 'key' look like one we made? (Only the shape; it saves a round
 * trip for garbage, which is answered exactly like an unknown key.) */
static bool
key_shape_ok(const char *key, size_t len)
{
    if (len != SY_VKEY_KEY_LEN || memcmp(key, SY_VKEY_PREFIX, 6) != 0)
        return false;
    for (size_t i = 6; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static bool
hex_ok(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* The script                                                          */

/* The virtual-key script, lua/vkeys.lua (its operations and arguments are
 * described there), embedded at build time; the store keeps its SHA by the
 * struct's address. */
static const struct sy_store_script script = { .name = "vkeys",
                                               .embedded = sy_lua_vkeys };

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

#define MAX_ARGS 40

struct args {
    const char *argv[MAX_ARGS];
    char num[12][24];
    char base[SY_KEY_MAX]; /* ARGV[2], sy_key_vkey_base() */
    int n;
    int nnum;
};

static void
add(struct args *a, const char *s)
{
    if (a->n < MAX_ARGS)
        a->argv[a->n++] = s;
}

static void
add_int(struct args *a, const char *field, int64_t x)
{
    if (a->nnum >= (int)SY_ARRAY_LEN(a->num))
        return;
    char *b = a->num[a->nnum++];
    snprintf(b, sizeof(a->num[0]), "%" PRId64, x);
    add(a, field);
    add(a, b);
}

static void
add_fields(struct args *a, const struct sy_vkey *v, unsigned fields)
{
    if (fields & SY_VKEY_F_TEAM) {
        add(a, "team");
        add(a, v->team);
    }
    if (fields & SY_VKEY_F_BUDGET)
        add_int(a, "budget_micro_usd", v->budget_micro_usd);
    if (fields & SY_VKEY_F_PERIOD) {
        add(a, "budget_period");
        add(a, sy_budget_period_name(v->budget_period));
    }
    if (fields & SY_VKEY_F_RPM)
        add_int(a, "rpm", (int64_t)v->rpm);
    if (fields & SY_VKEY_F_TPM)
        add_int(a, "tpm", (int64_t)v->tpm);
    if (fields & SY_VKEY_F_MODELS) {
        add(a, "models");
        add(a, v->models);
    }
    if (fields & SY_VKEY_F_EXPIRES)
        add_int(a, "expires_at", v->expires_at);
    if (fields & SY_VKEY_F_FAIL_OPEN)
        add_int(a, "fail_open", v->fail_open ? 1 : 0);
}

static bool
parse_i64(const struct sy_store_val *v, int64_t *out)
{
    return sy_store_val_int(v, out);
}

static void
copy_str(char *dst, size_t cap, const struct sy_store_val *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;
    memcpy(dst, v->str, n);
    dst[n] = '\0';
}

/* Fill 'out' from {hmac-or-index, f1, v1, ...} (elements from 'first'
 * on are field/value pairs). Unknown fields are ignored; false when the
 * reply is malformed. */
static bool
parse_fields(const struct sy_store_val *t, size_t first, struct sy_vkey *out)
{
    bool have_name = false;
    for (size_t i = first; i + 1 < t->n; i += 2) {
        const struct sy_store_val *f = &t->elem[i], *v = &t->elem[i + 1];
        if (f->type != SY_STORE_STR || v->type != SY_STORE_STR)
            return false;
        int64_t x = 0;
        if (strcmp(f->str, "name") == 0) {
            if (v->len > SY_VKEY_NAME_MAX)
                return false;
            copy_str(out->name, sizeof(out->name), v);
            have_name = true;
        } else if (strcmp(f->str, "team") == 0) {
            if (v->len > SY_VKEY_NAME_MAX)
                return false;
            copy_str(out->team, sizeof(out->team), v);
        } else if (strcmp(f->str, "models") == 0) {
            if (v->len > SY_VKEY_MODELS_MAX)
                return false;
            copy_str(out->models, sizeof(out->models), v);
        } else if (strcmp(f->str, "budget_period") == 0) {
            if (!sy_budget_period_parse(v->str, &out->budget_period))
                return false;
        } else if (strcmp(f->str, "budget_micro_usd") == 0) {
            if (!parse_i64(v, &out->budget_micro_usd))
                return false;
        } else if (strcmp(f->str, "rpm") == 0) {
            if (!parse_i64(v, &x) || x < 0)
                return false;
            out->rpm = (uint64_t)x;
        } else if (strcmp(f->str, "tpm") == 0) {
            if (!parse_i64(v, &x) || x < 0)
                return false;
            out->tpm = (uint64_t)x;
        } else if (strcmp(f->str, "expires_at") == 0) {
            if (!parse_i64(v, &out->expires_at))
                return false;
        } else if (strcmp(f->str, "created_at") == 0) {
            if (!parse_i64(v, &out->created_at))
                return false;
        } else if (strcmp(f->str, "revoked") == 0) {
            if (!parse_i64(v, &x))
                return false;
            out->revoked = x != 0;
        } else if (strcmp(f->str, "fail_open") == 0) {
            if (!parse_i64(v, &x))
                return false;
            out->fail_open = x != 0;
        }
    }
    return have_name;
}

/* {hmac, fields...} as returned by show and list. */
static bool
parse_entry(const struct sy_store_val *t, struct sy_vkey *out)
{
    memset(out, 0, sizeof(*out));
    if (t->type != SY_STORE_ARRAY || t->n < 3 || t->n % 2 == 0 ||
        t->elem[0].type != SY_STORE_STR ||
        !hex_ok(t->elem[0].str, t->elem[0].len))
        return false;
    memcpy(out->hmac, t->elem[0].str, 64);
    out->hmac[64] = '\0';
    return parse_fields(t, 1, out);
}

static enum sy_err
eval(struct sy_store *s, struct args *a, struct sy_arena *arena,
     struct sy_store_val **out)
{
    char idx[SY_KEY_MAX];
    int len = sy_key_vkey_index(idx, sizeof(idx), sy_store_prefix(s));
    if (!sy_key_fits(len, sizeof(idx)))
        return SY_EINTERNAL;
    const char *keys[1] = { idx };
    if (a->base[0] == '\0' || a->n >= MAX_ARGS ||
        a->nnum >= (int)SY_ARRAY_LEN(a->num))
        return SY_EINTERNAL;
    enum sy_err e =
        sy_store_eval(s, &script, 1, keys, a->n, a->argv, arena, out);
    if (e == SY_OK && (*out)->type == SY_STORE_ERROR)
        e = SY_ESTORE;
    return e;
}

static void
begin(struct args *a, struct sy_store *s, const char *op)
{
    memset(a, 0, sizeof(*a));
    add(a, op);
    /* a prefix too long for the name leaves "" and eval() refuses */
    int n = sy_key_vkey_base(a->base, sizeof(a->base), sy_store_prefix(s));
    if (!sy_key_fits(n, sizeof(a->base)))
        a->base[0] = '\0';
    add(a, a->base);
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

static int64_t
now_or(int64_t now_s)
{
    return now_s > 0 ? now_s : (int64_t)time(NULL);
}

/* Create a key as described by 'spec' (its hmac, revoked and created_at
 * are ignored). On SY_OK, 'key_out' holds the key (show it once, then
 * forget it) and 'created' (may be NULL) what was stored. SY_EBADREQ with
 * a message in 'err': invalid spec or name already taken. SY_ESTORE:
 * Redis unavailable. */
enum sy_err
sy_vkey_create(struct sy_store *s, const void *secret, size_t secret_len,
               const struct sy_vkey *spec, int64_t now_s,
               char key_out[SY_VKEY_KEY_LEN + 1], struct sy_vkey *created,
               char *err, size_t errlen)
{
    memset(key_out, 0, SY_VKEY_KEY_LEN + 1);
    enum sy_err e = sy_vkey_validate(spec, err, errlen);
    if (e != SY_OK)
        return e;
    if (!sy_vkey_name_creatable(spec->name))
        return bad_spec(err, errlen,
                        "name: \".\" and \"..\" cannot be addressed as "
                        "/admin/keys/<name>");
    if (secret == NULL || secret_len < SY_VKEY_SECRET_MIN) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "server secret: at least %d bytes",
                     SY_VKEY_SECRET_MIN);
        return SY_EINTERNAL;
    }
    struct sy_vkey v = *spec;
    v.revoked = false;
    v.created_at = now_or(now_s);
    char key[SY_VKEY_KEY_LEN + 1];
    for (int attempt = 0; attempt < 3; attempt++) {
        e = sy_vkey_generate(key);
        if (e == SY_OK)
            e = sy_vkey_hmac(secret, secret_len, key, v.hmac);
        if (e != SY_OK)
            break;
        struct args a;
        begin(&a, s, "create");
        add(&a, v.name);
        add(&a, v.hmac);
        add(&a, "name");
        add(&a, v.name);
        add_fields(&a, &v, ~0u);
        add_int(&a, "revoked", 0);
        add_int(&a, "created_at", v.created_at);
        struct sy_arena arena;
        sy_arena_init(&arena, 256);
        struct sy_store_val *r;
        int64_t x = 0;
        e = eval(s, &a, &arena, &r);
        if (e == SY_OK && !sy_store_val_int(r, &x))
            e = SY_ESTORE;
        sy_arena_cleanup(&arena);
        if (e != SY_OK)
            break;
        if (x == 1) {
            memcpy(key_out, key, sizeof(key));
            if (created != NULL)
                *created = v;
            memset(key, 0, sizeof(key));
            return SY_OK;
        }
        if (x == 0) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "name '%s' is already taken", v.name);
            e = SY_EBADREQ;
            break;
        }
        /* x == -1: the same HMAC already stored (never in practice):
         * draw another key. */
        e = SY_EINTERNAL;
    }
    memset(key, 0, sizeof(key));
    if (e == SY_EINTERNAL && err != NULL && errlen > 0)
        snprintf(err, errlen, "cannot generate a key");
    else if (e == SY_ESTORE && err != NULL && errlen > 0)
        snprintf(err, errlen, "state store unavailable");
    return e;
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct sy_vkey *)a)->name,
                  ((const struct sy_vkey *)b)->name);
}

/* Every key (revoked and expired ones included), sorted by name, in
 * '*out' (free() it; NULL when there are none). */
enum sy_err
sy_vkey_list(struct sy_store *s, struct sy_vkey **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct args a;
    begin(&a, s, "list");
    struct sy_arena arena;
    sy_arena_init(&arena, 4096);
    struct sy_store_val *r;
    enum sy_err e = eval(s, &a, &arena, &r);
    if (e == SY_OK && r->type != SY_STORE_ARRAY)
        e = SY_ESTORE;
    if (e == SY_OK && r->n > 0) {
        struct sy_vkey *v = sy_xcalloc(r->n, sizeof(*v));
        size_t m = 0;
        for (size_t i = 0; i < r->n; i++)
            if (parse_entry(&r->elem[i], &v[m]))
                m++;
        qsort(v, m, sizeof(*v), cmp_name);
        *out = v;
        *n = m;
    }
    sy_arena_cleanup(&arena);
    return e;
}

/* Queue the "list" operation into batch 'b' (keys under 'prefix'), for
 * a reader that reads more in the same round trip (GET /metrics); take
 * its reply with sy_vkey_list_reply(). */
enum sy_err
sy_vkey_batch_list(struct sy_store_batch *b, const char *prefix)
{
    char idx[SY_KEY_MAX], base[SY_KEY_MAX];
    if (!sy_key_fits(sy_key_vkey_index(idx, sizeof(idx), prefix),
                     sizeof(idx)) ||
        !sy_key_fits(sy_key_vkey_base(base, sizeof(base), prefix),
                     sizeof(base)))
        return SY_EBADREQ;
    const char *keys[1] = { idx };
    const char *args[2] = { "list", base };
    return sy_store_batch_eval(b, &script, 1, keys, 2, args);
}

/* The keys of reply 'r' to a queued list, unsorted, in '*out' (free()
 * it; NULL when there are none); their count. */
size_t
sy_vkey_list_reply(const struct sy_store_val *r, struct sy_vkey **out)
{
    *out = NULL;
    if (r == NULL || r->type != SY_STORE_ARRAY || r->n == 0)
        return 0;
    struct sy_vkey *v = sy_xcalloc(r->n, sizeof(*v));
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (parse_entry(&r->elem[i], &v[m]))
            m++;
    *out = v;
    return m;
}

/* Key 'name' (revoked and expired too). SY_ENOTFOUND when unknown. */
enum sy_err
sy_vkey_show(struct sy_store *s, const char *name, struct sy_vkey *out)
{
    memset(out, 0, sizeof(*out));
    if (!sy_vkey_name_valid(name))
        return SY_ENOTFOUND;
    struct args a;
    begin(&a, s, "show");
    add(&a, name);
    struct sy_arena arena;
    sy_arena_init(&arena, 1024);
    struct sy_store_val *r;
    enum sy_err e = eval(s, &a, &arena, &r);
    if (e == SY_OK) {
        if (r->type != SY_STORE_ARRAY)
            e = SY_ESTORE;
        else if (r->n == 0)
            e = SY_ENOTFOUND;
        else if (!parse_entry(r, out))
            e = SY_ESTORE;
    }
    sy_arena_cleanup(&arena);
    return e;
}

static enum sy_err
update_args(struct sy_store *s, struct args *a)
{
    struct sy_arena arena;
    sy_arena_init(&arena, 256);
    struct sy_store_val *r;
    int64_t x = 0;
    enum sy_err e = eval(s, a, &arena, &r);
    if (e == SY_OK && !sy_store_val_int(r, &x))
        e = SY_ESTORE;
    sy_arena_cleanup(&arena);
    if (e == SY_OK && x != 1)
        e = SY_ENOTFOUND;
    return e;
}

/* Set the 'fields' (SY_VKEY_F_*) of key 'name' from 'v'. SY_ENOTFOUND
 * when unknown; SY_EBADREQ with a message when a value is invalid. */
enum sy_err
sy_vkey_update(struct sy_store *s, const char *name, const struct sy_vkey *v,
               unsigned fields, char *err, size_t errlen)
{
    if (!sy_vkey_name_valid(name))
        return SY_ENOTFOUND;
    /* validate the named fields only: the others are reset to valid
     * defaults (and not sent) */
    struct sy_vkey check = *v;
    snprintf(check.name, sizeof(check.name), "%s", name);
    if (!(fields & SY_VKEY_F_TEAM))
        check.team[0] = '\0';
    if (!(fields & SY_VKEY_F_BUDGET))
        check.budget_micro_usd = 0;
    if (!(fields & SY_VKEY_F_PERIOD))
        check.budget_period = SY_BUDGET_TOTAL;
    if (!(fields & SY_VKEY_F_RPM))
        check.rpm = 0;
    if (!(fields & SY_VKEY_F_TPM))
        check.tpm = 0;
    if (!(fields & SY_VKEY_F_MODELS))
        check.models[0] = '\0';
    if (!(fields & SY_VKEY_F_EXPIRES))
        check.expires_at = 0;
    enum sy_err e = sy_vkey_validate(&check, err, errlen);
    if (e != SY_OK)
        return e;
    struct args a;
    begin(&a, s, "update");
    add(&a, name);
    add_fields(&a, &check, fields);
    return update_args(s, &a);
}

/* Revoke key 'name' for good (it stays listed, marked revoked). */
enum sy_err
sy_vkey_revoke(struct sy_store *s, const char *name)
{
    if (!sy_vkey_name_valid(name))
        return SY_ENOTFOUND;
    struct args a;
    begin(&a, s, "update");
    add(&a, name);
    add_int(&a, "revoked", 1);
    return update_args(s, &a);
}

/* The key 'key' presented by a caller. SY_OK with 'out' filled for a
 * live key; SY_ENOTFOUND, with 'out' zeroed, for an unknown, revoked or
 * expired key (or a malformed one): the caller cannot tell which.
 * SY_ESTORE when Redis is unavailable; SY_EINTERNAL when it answered
 * with a script error. The key is compared through its HMAC (see
 * sy_vkey_lookup_id). */
enum sy_err
sy_vkey_lookup(struct sy_store *s, const void *secret, size_t secret_len,
               const char *key, int64_t now_s, struct sy_vkey *out)
{
    memset(out, 0, sizeof(*out));
    char hex[65];
    enum sy_err e = sy_vkey_id_of(secret, secret_len, key, hex);
    return e != SY_OK ? e : sy_vkey_lookup_id(s, hex, now_s, out);
}

/* The id (HMAC hex) a caller's 'key' is looked up by: SY_ENOTFOUND for
 * none or one not of our shape (the HMAC is computed first all the
 * same), else what sy_vkey_hmac says. */
enum sy_err
sy_vkey_id_of(const void *secret, size_t secret_len, const char *key,
              char hex[65])
{
    if (key == NULL)
        return SY_ENOTFOUND;
    enum sy_err e = sy_vkey_hmac(secret, secret_len, key, hex);
    if (e != SY_OK)
        return e;
    return sy_vkey_shape_ok(key) ? SY_OK : SY_ENOTFOUND;
}

/* Does 'key' look like one we made? (Only the shape; it saves a round
 * trip for garbage, which is answered exactly like an unknown key.) */
bool
sy_vkey_shape_ok(const char *key)
{
    return key != NULL && key_shape_ok(key, strlen(key));
}

/* The key whose HMAC is 'hex', as sy_vkey_lookup() answers. Redis finds
 * the hash by HMAC, and the HMAC its name's index points to is compared
 * in constant time. A script error (Redis answered: a refusal) is told
 * apart from Redis unavailable (SY_ESTORE), because only the latter may
 * fall back to what this process remembers (vkey_cache.h). */
enum sy_err
sy_vkey_lookup_id(struct sy_store *s, const char *hex, int64_t now_s,
                  struct sy_vkey *out)
{
    memset(out, 0, sizeof(*out));
    if (hex == NULL || !hex_ok(hex, strlen(hex)))
        return SY_ENOTFOUND;
    struct args a;
    begin(&a, s, "lookup");
    add(&a, hex);
    struct sy_arena arena;
    sy_arena_init(&arena, 1024);
    struct sy_store_val *r = NULL;
    enum sy_err e = eval(s, &a, &arena, &r);
    if (e == SY_ESTORE && r != NULL && sy_store_script_failed(r))
        e = SY_EINTERNAL;
    if (e == SY_OK && r->type != SY_STORE_ARRAY)
        e = SY_EINTERNAL; /* an answer, but not the script's */
    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    bool live = false;
    if (e == SY_OK && r->n >= 3 && r->n % 2 == 1 &&
        r->elem[0].type == SY_STORE_STR && parse_fields(r, 1, &v)) {
        const struct sy_store_val *idx = &r->elem[0];
        bool same = sy_const_equal(idx->str, idx->len, hex, 64);
        bool expired = v.expires_at != 0 && now_or(now_s) >= v.expires_at;
        /* '&' on purpose, not '&&': no branch on the secret comparison,
         * so the time taken does not tell which of the checks failed. */
        unsigned ok =
            (unsigned)same & (unsigned)(!v.revoked) & (unsigned)(!expired);
        live = ok != 0;
    }
    sy_arena_cleanup(&arena);
    if (e != SY_OK)
        return e;
    if (!live)
        return SY_ENOTFOUND;
    memcpy(v.hmac, hex, 64);
    v.hmac[64] = '\0';
    *out = v;
    return SY_OK;
}
