/*
 * admin.c - the admin API for virtual keys (see admin.h): JSON in, JSON
 * out, over core/state/vkeys.c and core/state/budget.c. Shared by the HTTP routes
 * and 'switchyard keys'.
 *
 * What never leaves: the HMAC of a key, the server secret, and a key
 * after the answer to its create. Request bodies are never echoed (a
 * misplaced secret in a body must not come back in an error).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "admin.h"
#include "auth.h"
#include "api/chat.h"
#include "base/json_strict.h"
#include "base/limits.h"
#include "base/time.h"
#include "config/cost.h"

#include <json-c/json.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
sy_admin_budget_name(const char *key_name, char out[SY_BUDGET_NAME_MAX + 1])
{
    snprintf(out, SY_BUDGET_NAME_MAX + 1, "%s", key_name);
}

/* ------------------------------------------------------------------ */
/* Times                                                               */

/* See admin.h. A date or date-time is read by base/time.h (SY_TIME_LOOSE:
 * RFC 3339, a bare date, no zone = UTC) and must not be before 1970. */
bool
sy_admin_parse_time(const char *s, int64_t *out)
{
    if (s == NULL)
        return false;
    if (s[0] == '\0' || strcmp(s, "never") == 0) {
        *out = 0;
        return true;
    }
    size_t n = strlen(s);
    if (strspn(s, "0123456789") == n) {
        if (n > 12)
            return false;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0)
            return false;
        *out = (int64_t)v;
        return true;
    }
    int64_t ms;
    if (!sy_time_parse(s, n, SY_TIME_LOOSE, &ms) || ms < 0)
        return false;
    *out = ms / 1000;
    return true;
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */

/* Replace 'out' with an OpenAI error object (api/chat.h writes it) and
 * return 'status'. */
static int
error(struct sy_buf *out, int status, const char *type, const char *code,
      const char *param, const char *msg)
{
    sy_buf_clear(out);
    sy_chat_error_json(out, msg, type, param, code);
    return status;
}

static int
bad(struct sy_buf *out, const char *param, const char *msg)
{
    return error(out, 400, "invalid_request_error", "invalid_request", param,
                 msg);
}

static int
store_down(struct sy_buf *out)
{
    return error(out, 503, "server_error", "state_store_unavailable", NULL,
                 "the state store (Redis) is unavailable");
}

/* The name is not echoed: a key pasted by mistake in a URL must not come
 * back in an answer (or a log that keeps answers). */
static int
not_found(struct sy_buf *out)
{
    return error(out, 404, "invalid_request_error", "not_found", NULL,
                 "no virtual key by that name");
}

static void
put_str(struct sy_buf *out, const char *k, const char *v)
{
    sy_buf_printf(out, "\"%s\":", k);
    sy_buf_json_str(out, v, strlen(v));
}

static void
put_usd(struct sy_buf *out, const char *k, int64_t micro)
{
    char usd[SY_COST_USD_STRLEN];
    sy_cost_format_usd(micro, usd, sizeof(usd));
    sy_buf_printf(out, "\"%s\":%s", k, usd);
}

/* One key as JSON (never its HMAC). 'b' (may be NULL) is its budget
 * counter for the current period 'pid'. */
static void
key_json(struct sy_buf *out, const struct sy_vkey *v, int64_t now_s,
         const struct sy_budget_result *b, const char *pid)
{
    sy_buf_puts(out, "{\"object\":\"virtual_key\",");
    put_str(out, "name", v->name);
    sy_buf_puts(out, ",\"team\":");
    if (v->team[0] != '\0')
        sy_buf_json_str(out, v->team, strlen(v->team));
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, ",\"budget_usd\":");
    if (v->budget_micro_usd > 0) {
        char usd[SY_COST_USD_STRLEN];
        sy_cost_format_usd(v->budget_micro_usd, usd, sizeof(usd));
        sy_buf_puts(out, usd);
    } else {
        sy_buf_puts(out, "null");
    }
    sy_buf_puts(out, ",");
    put_str(out, "budget_period", sy_budget_period_name(v->budget_period));
    sy_buf_printf(out, ",\"rpm\":%" PRIu64 ",\"tpm\":%" PRIu64 ",\"models\":[",
                  v->rpm, v->tpm);
    const char *p = v->models;
    bool first = true;
    while (*p != '\0') {
        const char *c = strchr(p, ',');
        size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
        if (!first)
            sy_buf_puts(out, ",");
        sy_buf_json_str(out, p, n);
        first = false;
        p += n;
        if (*p == ',')
            p++;
    }
    sy_buf_puts(out, "],\"expires_at\":");
    if (v->expires_at > 0)
        sy_buf_printf(out, "%" PRId64, v->expires_at);
    else
        sy_buf_puts(out, "null");
    bool expired = v->expires_at > 0 && now_s >= v->expires_at;
    sy_buf_printf(out,
                  ",\"fail_open\":%s,\"revoked\":%s,\"expired\":%s,"
                  "\"active\":%s,\"created_at\":%" PRId64,
                  v->fail_open ? "true" : "false",
                  v->revoked ? "true" : "false", expired ? "true" : "false",
                  !v->revoked && !expired ? "true" : "false", v->created_at);
    if (b != NULL) {
        sy_buf_puts(out, ",\"period\":");
        sy_buf_json_str(out, pid, strlen(pid));
        sy_buf_puts(out, ",");
        put_usd(out, "spent_usd", b->spent);
        sy_buf_puts(out, ",");
        put_usd(out, "reserved_usd", b->reserved);
        if (v->budget_micro_usd > 0) {
            int64_t left = v->budget_micro_usd - b->spent - b->reserved;
            sy_buf_puts(out, ",");
            put_usd(out, "remaining_usd", left > 0 ? left : 0);
        }
    }
    sy_buf_puts(out, "}");
}

/* Read the key's budget counter for the current period; false when
 * Redis does not answer (the spend is then left out). */
static bool
spend_of(struct sy_store *s, const struct sy_vkey *v, int64_t now_s,
         struct sy_budget_result *b, char pid[SY_BUDGET_PERIOD_ID_LEN])
{
    char name[SY_BUDGET_NAME_MAX + 1];
    sy_admin_budget_name(v->name, name);
    sy_budget_period_id(v->budget_period, now_s, pid);
    return sy_budget_get(s, name, pid, 0, b) == SY_OK;
}

static void
key_json_spend(struct sy_buf *out, struct sy_store *s, const struct sy_vkey *v,
               int64_t now_s)
{
    struct sy_budget_result b;
    char pid[SY_BUDGET_PERIOD_ID_LEN];
    bool have = spend_of(s, v, now_s, &b, pid);
    key_json(out, v, now_s, have ? &b : NULL, pid);
}

/* ------------------------------------------------------------------ */
/* Request bodies                                                      */

/* Each spec_* helper below reads one field of a key's spec into 'v' and
 * returns 0, or the status of an error written to 'out' that names the
 * field; null, where allowed, resets the field to "none". */

static int
spec_name(json_object *val, bool create, struct sy_vkey *v, struct sy_buf *out)
{
    if (!create)
        return bad(out, "name", "name: a key cannot be renamed");
    if (!sy_json_whole_string(val) ||
        !sy_vkey_name_valid(json_object_get_string(val)))
        return bad(out, "name",
                   "name: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    /* "." and ".." are dot segments: /admin/keys/.. never reaches them */
    if (!sy_vkey_name_creatable(json_object_get_string(val)))
        return bad(out, "name",
                   "name: \".\" and \"..\" cannot be addressed as "
                   "/admin/keys/<name>");
    snprintf(v->name, sizeof(v->name), "%s", json_object_get_string(val));
    return 0;
}

static int
spec_team(json_object *val, struct sy_vkey *v, struct sy_buf *out)
{
    enum json_type t = json_object_get_type(val);
    if (t == json_type_null) {
        v->team[0] = '\0';
        return 0;
    }
    if (!sy_json_whole_string(val) ||
        !sy_vkey_name_valid(json_object_get_string(val)))
        return bad(out, "team",
                   "team: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    snprintf(v->team, sizeof(v->team), "%s", json_object_get_string(val));
    return 0;
}

/* USD as given by a person, kept in micro-USD like every other sum, so
 * the conversion refuses what would not fit. A positive amount below
 * 1 micro-USD is refused too (it would round to 0 or up to 1): 0 means
 * "no budget", and a budget asked for must never become none. */
static int
spec_budget(json_object *val, struct sy_vkey *v, struct sy_buf *out)
{
    enum json_type t = json_object_get_type(val);
    if (t == json_type_null) {
        v->budget_micro_usd = 0;
        return 0;
    }
    double d = json_object_get_double(val);
    if ((t != json_type_double && t != json_type_int) || !isfinite(d) ||
        d < 0 || sy_cost_usd_to_micro(d, &v->budget_micro_usd) != SY_OK ||
        (d > 0 && (d < 1e-6 || v->budget_micro_usd == 0)))
        return bad(out, "budget_usd",
                   "budget_usd: a non-negative number of USD, at least "
                   "0.000001 (null or 0: no budget)");
    return 0;
}

/* "rpm" or "tpm" (named by 'k'), stored only when valid; '*bit' says
 * which of the two was set. */
static int
spec_limit(const char *k, json_object *val, struct sy_vkey *v, unsigned *bit,
           struct sy_buf *out)
{
    enum json_type t = json_object_get_type(val);
    int64_t x = 0;
    if (t == json_type_int) {
        errno = 0;
        x = json_object_get_int64(val);
        if (errno != 0 || x < 0)
            return bad(out, k,
                       "rpm/tpm: a non-negative integer "
                       "(0: unlimited)");
    } else if (t != json_type_null) {
        return bad(out, k,
                   "rpm/tpm: a non-negative integer "
                   "(0: unlimited)");
    }
    if (k[0] == 'r') {
        v->rpm = (uint64_t)x;
        *bit = SY_VKEY_F_RPM;
    } else {
        v->tpm = (uint64_t)x;
        *bit = SY_VKEY_F_TPM;
    }
    return 0;
}

/* The list of groups is stored joined by commas ("a,b,c") in a fixed
 * buffer, so its total length is bounded here. */
static int
spec_models(json_object *val, struct sy_vkey *v, struct sy_buf *out)
{
    enum json_type t = json_object_get_type(val);
    v->models[0] = '\0';
    if (t == json_type_array) {
        size_t used = 0;
        size_t n = json_object_array_length(val);
        for (size_t i = 0; i < n; i++) {
            json_object *m = json_object_array_get_idx(val, i);
            const char *ms = json_object_get_string(m);
            size_t ml = ms != NULL ? strlen(ms) : 0;
            if (!sy_json_whole_string(m) || ml == 0 ||
                used + ml + 1 > SY_VKEY_MODELS_MAX)
                return bad(out, "models", "models: a list of group names");
            if (used > 0)
                v->models[used++] = ',';
            memcpy(v->models + used, ms, ml);
            used += ml;
            v->models[used] = '\0';
        }
    } else if (t != json_type_null) {
        return bad(out, "models", "models: a list of group names");
    }
    if (!sy_vkey_models_valid(v->models))
        return bad(out, "models",
                   "models: a list of group names "
                   "([A-Za-z0-9._:/@+-])");
    return 0;
}

/* Epoch seconds or a date (sy_admin_parse_time); null: never expires. */
static int
spec_expires(json_object *val, struct sy_vkey *v, struct sy_buf *out)
{
    enum json_type t = json_object_get_type(val);
    int64_t x = 0;
    if (t == json_type_int) {
        x = json_object_get_int64(val);
        if (x < 0)
            return bad(out, "expires_at",
                       "expires_at: epoch "
                       "seconds or a date");
    } else if (t == json_type_string) {
        if (!sy_json_whole_string(val) ||
            !sy_admin_parse_time(json_object_get_string(val), &x))
            return bad(out, "expires_at",
                       "expires_at: epoch seconds, yyyy-mm-dd or "
                       "yyyy-mm-ddThh:mm:ssZ");
    } else if (t != json_type_null) {
        return bad(out, "expires_at",
                   "expires_at: epoch seconds "
                   "or a date");
    }
    v->expires_at = x;
    return 0;
}

/* Fill 'v' and 'fields' (SY_VKEY_F_*) from the JSON object 'o'; 'create'
 * allows (and requires) "name". Returns 0, or the status of an error
 * written to 'out'. A field's bit is set only once it was read. */
static int
parse_spec(json_object *o, bool create, struct sy_vkey *v, unsigned *fields,
           struct sy_buf *out)
{
    memset(v, 0, sizeof(*v));
    v->budget_period = SY_BUDGET_MONTH;
    *fields = 0;
    bool have_name = false;
    json_object_object_foreach(o, k, val)
    {
        enum json_type t = json_object_get_type(val);
        unsigned bit = 0;
        int st = 0;
        if (strcmp(k, "name") == 0) {
            st = spec_name(val, create, v, out);
            have_name = true;
        } else if (strcmp(k, "team") == 0) {
            st = spec_team(val, v, out);
            bit = SY_VKEY_F_TEAM;
        } else if (strcmp(k, "budget_usd") == 0) {
            st = spec_budget(val, v, out);
            bit = SY_VKEY_F_BUDGET;
        } else if (strcmp(k, "budget_period") == 0) {
            if (!sy_json_whole_string(val) ||
                !sy_budget_period_parse(json_object_get_string(val),
                                        &v->budget_period))
                return bad(out, "budget_period",
                           "budget_period: day, month or total");
            bit = SY_VKEY_F_PERIOD;
        } else if (strcmp(k, "rpm") == 0 || strcmp(k, "tpm") == 0) {
            st = spec_limit(k, val, v, &bit, out);
        } else if (strcmp(k, "models") == 0) {
            st = spec_models(val, v, out);
            bit = SY_VKEY_F_MODELS;
        } else if (strcmp(k, "expires_at") == 0) {
            st = spec_expires(val, v, out);
            bit = SY_VKEY_F_EXPIRES;
        } else if (strcmp(k, "fail_open") == 0) {
            if (t != json_type_boolean)
                return bad(out, "fail_open", "fail_open: true or false");
            v->fail_open = json_object_get_boolean(val);
            bit = SY_VKEY_F_FAIL_OPEN;
        } else {
            return bad(out, NULL,
                       "unknown field (known: name, team, "
                       "budget_usd, budget_period, rpm, tpm, "
                       "models, expires_at, fail_open)");
        }
        if (st != 0)
            return st;
        *fields |= bit;
    }
    if (create && !have_name)
        return bad(out, "name", "name is required");
    return 0;
}

/* Parse 'body' as one JSON object into '*o' (put it with
 * json_object_put). Returns 0 or an error status written to 'out'. */
static int
parse_body(const char *body, size_t len, json_object **o, struct sy_buf *out)
{
    *o = NULL;
    if (body == NULL || len == 0)
        return bad(out, NULL, "a JSON object body is required");
    if (len > SY_ADMIN_BODY_MAX)
        return error(out, 413, "invalid_request_error", "request_too_large",
                     NULL, "body too large");
    /* The strict parse of every body from outside (base/json_strict.h):
     * a raw tab in a string or "1." is refused, as for chat bodies. */
    const struct sy_json_limits lim = { .max_depth = 16 };
    struct sy_json_result res;
    json_object *j = NULL;
    if (sy_json_parse_strict(body, len, &lim, &j, &res) != SY_JSON_OK ||
        json_object_get_type(j) != json_type_object) {
        json_object_put(j);
        return bad(out, NULL, "the body is not a JSON object");
    }
    *o = j;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */

static int
do_list(struct sy_store *s, struct sy_buf *out)
{
    struct sy_vkey *v = NULL;
    size_t n = 0;
    enum sy_err e = sy_vkey_list(s, &v, &n);
    if (e != SY_OK)
        return store_down(out);
    int64_t now_s = (int64_t)time(NULL);
    sy_buf_clear(out);
    sy_buf_puts(out, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sy_buf_puts(out, ",");
        key_json_spend(out, s, &v[i], now_s);
    }
    sy_buf_puts(out, "]}");
    free(v);
    return 200;
}

static int
do_create(const struct sy_config *cfg, struct sy_store *s, const char *body,
          size_t len, struct sy_buf *out)
{
    if (cfg->state.key_secret == NULL ||
        cfg->state.key_secret_len < SY_VKEY_SECRET_MIN)
        return error(out, 503, "server_error", "virtual_keys_disabled", NULL,
                     "virtual keys are not enabled: set "
                     "state.key_secret_env to a variable holding a secret "
                     "of at least 16 characters");
    json_object *o;
    int st = parse_body(body, len, &o, out);
    if (st != 0)
        return st;
    struct sy_vkey spec;
    unsigned fields;
    st = parse_spec(o, true, &spec, &fields, out);
    json_object_put(o);
    if (st != 0)
        return st;
    /* A configured key of the same name would share its rate limits and
     * its spend ("key:<name>"). */
    if (sy_auth_key_named(cfg, spec.name) != NULL)
        return error(out, 409, "invalid_request_error", "name_taken", "name",
                     "the name is a configured caller key's (keys in "
                     "the configuration)");
    char key[SY_VKEY_KEY_LEN + 1];
    struct sy_vkey created;
    char err[200] = "";
    enum sy_err e =
        sy_vkey_create(s, cfg->state.key_secret, cfg->state.key_secret_len,
                       &spec, 0, key, &created, err, sizeof(err));
    if (e == SY_ESTORE)
        return store_down(out);
    if (e == SY_EBADREQ) {
        if (strstr(err, "already taken") != NULL)
            return error(out, 409, "invalid_request_error", "name_taken",
                         "name", err);
        return bad(out, NULL, err);
    }
    if (e != SY_OK)
        return error(out, 500, "server_error", "internal_error", NULL,
                     err[0] ? err : "cannot create the key");
    sy_buf_clear(out);
    struct sy_buf tmp;
    sy_buf_init(&tmp, SY_ADMIN_KEY_JSON_MAX);
    key_json(&tmp, &created, (int64_t)time(NULL), NULL, NULL);
    if (sy_buf_failed(&tmp)) {
        sy_buf_free(&tmp);
        memset(key, 0, sizeof(key));
        return error(out, 500, "server_error", "internal_error", NULL,
                     "the key was created but could not be shown");
    }
    /* {"key":"sk-sy-...", <the fields>} */
    sy_buf_puts(out, "{\"key\":");
    sy_buf_json_str(out, key, strlen(key));
    sy_buf_puts(out, ",\"warning\":\"this key is shown once and cannot be "
                     "shown again: store it now\",");
    const char *t = sy_buf_cstr(&tmp);
    sy_buf_puts(out, t + 1);
    sy_buf_free(&tmp);
    memset(key, 0, sizeof(key));
    return 201;
}

static int
do_show(struct sy_store *s, const char *name, struct sy_buf *out)
{
    struct sy_vkey v;
    enum sy_err e = sy_vkey_show(s, name, &v);
    if (e == SY_ENOTFOUND)
        return not_found(out);
    if (e != SY_OK)
        return store_down(out);
    sy_buf_clear(out);
    key_json_spend(out, s, &v, (int64_t)time(NULL));
    return 200;
}

static int
do_update(struct sy_store *s, const char *name, const char *body, size_t len,
          struct sy_buf *out)
{
    json_object *o;
    int st = parse_body(body, len, &o, out);
    if (st != 0)
        return st;
    struct sy_vkey v;
    unsigned fields;
    st = parse_spec(o, false, &v, &fields, out);
    json_object_put(o);
    if (st != 0)
        return st;
    if (fields != 0) {
        char err[200] = "";
        enum sy_err e = sy_vkey_update(s, name, &v, fields, err, sizeof(err));
        if (e == SY_ENOTFOUND)
            return not_found(out);
        if (e == SY_EBADREQ)
            return bad(out, NULL, err);
        if (e != SY_OK)
            return store_down(out);
    }
    return do_show(s, name, out);
}

static int
do_revoke(struct sy_store *s, const char *name, struct sy_buf *out)
{
    enum sy_err e = sy_vkey_revoke(s, name);
    if (e == SY_ENOTFOUND)
        return not_found(out);
    if (e != SY_OK)
        return store_down(out);
    sy_buf_clear(out);
    sy_buf_puts(out, "{\"object\":\"virtual_key\",");
    put_str(out, "name", name);
    sy_buf_puts(out, ",\"revoked\":true}");
    return 200;
}

const char *
sy_admin_keys_allow(const char *rest)
{
    return rest == NULL || rest[0] == '\0' ? "GET, POST" : "GET, PATCH, DELETE";
}

int
sy_admin_keys(const struct sy_config *cfg, struct sy_store *store,
              const char *method, const char *rest, const char *body,
              size_t len, struct sy_arena *a, struct sy_buf *out)
{
    (void)a;
    if (rest == NULL)
        rest = "";
    if (method == NULL)
        method = "";
    bool coll = rest[0] == '\0';
    if (!coll && !sy_vkey_name_valid(rest))
        return not_found(out);
    const char *allowed = sy_admin_keys_allow(rest);
    bool known =
        coll ? (strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0)
             : (strcmp(method, "GET") == 0 || strcmp(method, "PATCH") == 0 ||
                strcmp(method, "DELETE") == 0);
    if (!known) {
        char msg[96];
        snprintf(msg, sizeof(msg), "method not allowed here (allowed: %s)",
                 allowed);
        return error(out, 405, "invalid_request_error", "method_not_allowed",
                     NULL, msg);
    }
    if (store == NULL)
        return error(out, 503, "server_error", "state_store_unavailable", NULL,
                     "virtual keys need shared state "
                     "(state.redis_url)");
    if (coll)
        return strcmp(method, "GET") == 0
                   ? do_list(store, out)
                   : do_create(cfg, store, body, len, out);
    if (strcmp(method, "GET") == 0)
        return do_show(store, rest, out);
    if (strcmp(method, "PATCH") == 0)
        return do_update(store, rest, body, len, out);
    return do_revoke(store, rest, out);
}
