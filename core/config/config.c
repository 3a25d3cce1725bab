/*
 * config.c - load and validate the JSON configuration.
 *
 * Parses with json-c, interpolates ${VAR} and ${VAR:-default} in string
 * values, checks every key against the tables below and collects every
 * error (not just the first) as "origin: json.path: message (hint: ...)"
 * lines. The result is an immutable struct sy_config owned by its arena.
 * Works with adapters/registry.c (provider types) and cli/main.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "api/chat.h"
#include "config_int.h"
#include "cost.h"
#include "serve/mount.h"
#include "api/adapter.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#define CONFIG_MAX_BYTES (4u << 20)

void SY_PRINTF(4, 5) sy_config_fail(struct loader *l, const char *path,
                                    const char *hint, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->nerrors++;
    if (l->errors == NULL)
        return;
    sy_buf_printf(l->errors, "%s: %s: %s", l->cfg->origin,
                  path[0] ? path : "(top level)", msg);
    if (hint != NULL)
        sy_buf_printf(l->errors, " (hint: %s)", hint);
    sy_buf_puts(l->errors, "\n");
}

const char *
sy_config_jpath(struct loader *l, const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0')
        return sy_arena_strdup(&l->cfg->arena, key);
    return sy_arena_printf(&l->cfg->arena, "%s.%s", parent, key);
}

const char *
sy_config_type_name(json_type t)
{
    switch (t) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* ${VAR} interpolation                                                */

/* Expand ${NAME} and ${NAME:-default} in 's'. An unset variable without a
 * default expands to "". "$$" is a literal "$". */
const char *
sy_config_interpolate(struct loader *l, const char *path, const char *s)
{
    if (strchr(s, '$') == NULL)
        return sy_arena_strdup(&l->cfg->arena, s);
    struct sy_buf out;
    sy_buf_init(&out, 64 * 1024);
    const char *p = s;
    while (*p) {
        if (p[0] == '$' && p[1] == '$') {
            sy_buf_append(&out, "$", 1);
            p += 2;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            sy_buf_append(&out, p, 1);
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (end == NULL) {
            sy_config_fail(l, path, "write ${NAME} or ${NAME:-default}",
                           "unterminated ${ in \"%s\"", s);
            break;
        }
        const char *name = p + 2;
        const char *dflt = strstr(name, ":-");
        size_t nlen = (dflt != NULL && dflt < end) ? (size_t)(dflt - name)
                                                   : (size_t)(end - name);
        char var[128];
        if (nlen == 0 || nlen >= sizeof(var)) {
            sy_config_fail(l, path, "write ${NAME} or ${NAME:-default}",
                           "bad variable name in \"%s\"", s);
            break;
        }
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        const char *val = getenv(var);
        if (val != NULL && val[0] != '\0')
            sy_buf_puts(&out, val);
        else if (dflt != NULL && dflt < end)
            sy_buf_append(&out, dflt + 2, (size_t)(end - dflt - 2));
        p = end + 1;
    }
    const char *r =
        sy_arena_strndup(&l->cfg->arena, sy_buf_cstr(&out), out.len);
    sy_buf_free(&out);
    return r;
}

const char *
sy_config_default_hint(json_type t)
{
    switch (t) {
    case json_type_object:
        return "write an object: {\"key\": value, ...}";
    case json_type_array:
        return "write a list: [\"a\", \"b\"]";
    case json_type_string:
        return "write a string in double quotes";
    case json_type_boolean:
        return "write true or false";
    default:
        return "see docs/configuration.md";
    }
}

/* ------------------------------------------------------------------ */
/* Typed field readers driven by tables                                */

static bool
is_known(const struct field *fields, size_t n, const char *key,
         const char *const *extra)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, key) == 0)
            return true;
    for (; extra != NULL && *extra != NULL; extra++)
        if (strcmp(*extra, key) == 0)
            return true;
    return false;
}

static void
known_list(const struct field *fields, size_t n, const char *const *extra,
           char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n + 8; i++) {
        const char *name;
        if (i < n)
            name = fields[i].name;
        else if (extra != NULL && extra[i - n] != NULL)
            name = extra[i - n];
        else
            break;
        int w =
            snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", name);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

/* Read every field of 'fields' from 'obj' into 'target'; report unknown
 * keys (a typo must not silently fall back to a default). */
void
sy_config_read_fields(struct loader *l, const char *path,
                      struct json_object *obj, const struct field *fields,
                      size_t n, const char *const *extra, void *target)
{
    char *base = target;
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (!is_known(fields, n, key, extra)) {
            char hint[512];
            char known[400];
            known_list(fields, n, extra, known, sizeof(known));
            snprintf(hint, sizeof(hint), "known keys here: %s", known);
            sy_config_fail(l, sy_config_jpath(l, path, key), hint,
                           "unknown key \"%s\"", key);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        const char *p = sy_config_jpath(l, path, f->name);
        struct json_object *v;
        if (!json_object_object_get_ex(obj, f->name, &v) || v == NULL) {
            if (f->required)
                sy_config_fail(l, p, f->hint, "missing required key");
            continue;
        }
        json_type t = json_object_get_type(v);
        switch (f->type) {
        case F_STR:
            if (t != json_type_string) {
                sy_config_fail(
                    l, p,
                    f->hint ? f->hint
                            : sy_config_default_hint(json_type_string),
                    "must be a string, not %s", sy_config_type_name(t));
                break;
            }
            *(const char **)(base + f->offset) =
                sy_config_interpolate(l, p, json_object_get_string(v));
            break;
        case F_LOGLEVEL: {
            enum sy_log_level lv;
            if (t != json_type_string ||
                !sy_log_parse_level(
                    sy_config_interpolate(l, p, json_object_get_string(v)),
                    &lv)) {
                sy_config_fail(l, p, "one of error, warn, info, debug",
                               "not a log level");
                break;
            }
            *(enum sy_log_level *)(base + f->offset) = lv;
            break;
        }
        case F_DOUBLE: {
            if (t != json_type_int && t != json_type_double) {
                sy_config_fail(l, p, "a number", "must be a number, not %s",
                               sy_config_type_name(t));
                break;
            }
            double x = json_object_get_double(v);
            if (!(x >= (double)f->min && x <= (double)f->max)) {
                char hint[96];
                snprintf(hint, sizeof(hint), "allowed range %lld..%lld", f->min,
                         f->max);
                sy_config_fail(l, p, hint, "value %g out of range", x);
                break;
            }
            *(double *)(base + f->offset) = x;
            break;
        }
        case F_BOOL:
            if (t != json_type_boolean) {
                sy_config_fail(l, p, "write true or false",
                               "must be true or false, not %s",
                               sy_config_type_name(t));
                break;
            }
            *(bool *)(base + f->offset) = json_object_get_boolean(v);
            break;
        case F_UINT:
        case F_SIZE:
        case F_MS: {
            if (t != json_type_int) {
                char hint[96];
                snprintf(hint, sizeof(hint), "an integer from %lld to %lld",
                         f->min, f->max);
                sy_config_fail(l, p, hint, "must be an integer, not %s",
                               sy_config_type_name(t));
                break;
            }
            errno = 0;
            int64_t x = json_object_get_int64(v);
            if (errno != 0 || x < f->min || x > f->max) {
                char hint[96];
                snprintf(hint, sizeof(hint), "allowed range %lld..%lld", f->min,
                         f->max);
                sy_config_fail(l, p, hint, "value %lld out of range",
                               (long long)x);
                break;
            }
            if (f->type == F_UINT)
                *(unsigned *)(base + f->offset) = (unsigned)x;
            else if (f->type == F_MS)
                *(uint32_t *)(base + f->offset) = (uint32_t)x;
            else
                *(size_t *)(base + f->offset) = (size_t)x;
            break;
        }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

#define SRV(f) offsetof(struct sy_server_conf, f)
static const struct field server_fields[] = {
    { "listen", F_STR, SRV(listen), 0, 0, false,
      "\"unix:/path/to.sock\", \"127.0.0.1:9000\" or a port" },
    { "processes", F_UINT, SRV(processes), 1, 256, false, NULL },
    { "threads", F_UINT, SRV(threads), 1, 8192, false, NULL },
    /* 128 KiB at least: caller schemas are compiled and applied by
     * recursion up to SY_JSONSCHEMA_MAX_DEPTH levels (tested on 128). */
    { "thread_stack_kb", F_SIZE, SRV(thread_stack_kb), 128, 65536, false,
      NULL },
    { "max_body_bytes", F_SIZE, SRV(max_body_bytes), 1024, 256ll << 20, false,
      NULL },
    { "max_json_depth", F_UINT, SRV(max_json_depth), 4, 1000, false, NULL },
    { "drain_timeout_ms", F_MS, SRV(drain_timeout_ms), 0, 3600000, false,
      NULL },
    { "body_timeout_ms", F_MS, SRV(body_timeout_ms), 100, 3600000, false,
      "the longest a client may take to send its request body" },
    { "log_level", F_LOGLEVEL, SRV(log_level), 0, 0, false, NULL },
    { "trust_request_id", F_BOOL, SRV(trust_request_id), 0, 0, false, NULL },
    { "usage_log", F_STR, SRV(usage_log), 0, 0, false,
      "a file path; one JSON line per request (no keys, no bodies)" },
    { "base_path", F_STR, SRV(base_path), 0, 0, false,
      "the URL prefix the web server mounts the gateway under, e.g. \"/llm\"" },
    { "admin_key_env", F_STR, SRV(admin_key), 0, 0, false,
      "the environment variable holding the admin API key" },
};

static void
server_defaults(struct sy_server_conf *s)
{
    s->listen = NULL;
    s->processes = 2;
    s->threads = 16;
    s->thread_stack_kb = 256;
    s->max_body_bytes = 4u << 20;
    s->max_json_depth = 64;
    s->drain_timeout_ms = 30000;
    s->body_timeout_ms = 30000;
    s->log_level = SY_LOG_INFO;
    s->trust_request_id = true;
}

struct json_object *
sy_config_want(struct loader *l, const char *path, struct json_object *v,
               json_type t, const char *hint)
{
    if (hint == NULL)
        hint = sy_config_default_hint(t);
    if (v == NULL || json_object_get_type(v) != t) {
        sy_config_fail(
            l, path, hint, "must be %s, not %s", sy_config_type_name(t),
            sy_config_type_name(v ? json_object_get_type(v) : json_type_null));
        return NULL;
    }
    return v;
}

static bool
valid_name(const char *s)
{
    if (s[0] == '\0' || strlen(s) > 128)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == '/' || c == ':' || c == '@'))
            return false;
    }
    return true;
}

/* Keys every provider may have besides the table below; an adapter may
 * accept more through its 'conf_keys' slot. */
static void *
load_section(struct loader *l, struct json_object *root, const char *section,
             size_t elem_size, size_t *count, bool required,
             void (*load)(struct loader *, const char *, const char *,
                          struct json_object *, void *))
{
    struct json_object *obj;
    *count = 0;
    if (!json_object_object_get_ex(root, section, &obj)) {
        if (required)
            sy_config_fail(l, section, "see conf/README.md",
                           "missing required section");
        return NULL;
    }
    if (sy_config_want(l, section, obj, json_type_object,
                       "an object keyed by name") == NULL)
        return NULL;
    size_t n = (size_t)json_object_object_length(obj);
    char *items = sy_arena_zalloc(&l->cfg->arena, (n + 1) * elem_size);
    json_object_object_foreach(obj, key, val)
    {
        const char *p = sy_config_jpath(l, section, key);
        if (!valid_name(key)) {
            sy_config_fail(l, p, "use letters, digits and - _ . / : @",
                           "invalid name \"%s\"", key);
            continue;
        }
        if (sy_config_want(l, p, val, json_type_object, NULL) == NULL)
            continue;
        void *elem = items + *count * elem_size;
        load(l, p, key, val, elem);
        (*count)++;
    }
    return items;
}

static void
load_group_cb(struct loader *l, const char *p, const char *n,
              struct json_object *o, void *e)
{
    sy_config_load_group(l, p, n, o, e);
}

/* Line and column of byte 'off' in 'text', for JSON syntax errors. */
static void
line_col(const char *text, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Parse and validate 'text'. On success '*out' is the new config (free it
 * with sy_config_free). On failure '*out' is NULL, SY_EBADREQ is returned
 * and every problem was appended to 'errors' (which may be NULL) as one
 * line each. */
enum sy_err
sy_config_load_string(const char *text, size_t len, const char *origin,
                      struct sy_config **out, struct sy_buf *errors)
{
    struct sy_config *cfg = sy_xcalloc(1, sizeof(*cfg));
    struct loader l = { cfg, errors, 0 };
    sy_arena_init(&cfg->arena, 16384);
    cfg->origin = sy_arena_strdup(&cfg->arena, origin);
    server_defaults(&cfg->server);
    sy_config_state_defaults(&cfg->state);
    *out = NULL;

    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *root = NULL;
    if (len > INT_MAX || len > CONFIG_MAX_BYTES) {
        sy_config_fail(&l, "", "a config is a few KiB; check the file name",
                       "config larger than %u bytes", CONFIG_MAX_BYTES);
    } else {
        root = json_tokener_parse_ex(tok, text, (int)len);
        enum json_tokener_error je = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        if (root == NULL && je == json_tokener_continue) {
            /* A bare top-level number needs a terminator; anything else
             * still open is a file cut short. */
            root = json_tokener_parse_ex(tok, "", 1);
            je = root != NULL ? json_tokener_get_error(tok)
                              : json_tokener_continue;
            end = len;
        }
        if (root == NULL && je == json_tokener_success) {
            sy_config_fail(&l, "", sy_config_default_hint(json_type_object),
                           "must be an object, not null");
        } else if (root == NULL || je != json_tokener_success) {
            unsigned line, col;
            line_col(text, end, &line, &col);
            sy_config_fail(
                &l, "", "check commas, quotes and brackets near there",
                "invalid JSON at line %u column %u: %s", line, col,
                je == json_tokener_continue ? "unexpected end of file"
                                            : json_tokener_error_desc(je));
        } else {
            while (end < len && strchr(" \t\r\n", text[end]) != NULL)
                end++;
            if (end < len) {
                unsigned line, col;
                line_col(text, end, &line, &col);
                sy_config_fail(
                    &l, "", "remove what follows the closing brace",
                    "unexpected text after the JSON value at line %u "
                    "column %u",
                    line, col);
            }
        }
    }
    json_tokener_free(tok);

    if (root != NULL && l.nerrors == 0 &&
        sy_config_want(&l, "", root, json_type_object, NULL) != NULL) {
        json_object_object_foreach(root, key, val)
        {
            (void)val;
            if (strcmp(key, "server") != 0 && strcmp(key, "providers") != 0 &&
                strcmp(key, "deployments") != 0 && strcmp(key, "groups") != 0 &&
                strcmp(key, "state") != 0 && strcmp(key, "keys") != 0 &&
                strcmp(key, "$schema") != 0 && strcmp(key, "comment") != 0)
                sy_config_fail(&l, key,
                               "top-level sections: server, state, keys, "
                               "providers, deployments, groups",
                               "unknown section \"%s\"", key);
        }
        struct json_object *srv;
        if (json_object_object_get_ex(root, "server", &srv) &&
            sy_config_want(&l, "server", srv, json_type_object, NULL) != NULL)
            sy_config_read_fields(&l, "server", srv, server_fields,
                                  SY_ARRAY_LEN(server_fields), NULL,
                                  &cfg->server);
        /* Freeing and printing a json-c tree recurses once per level:
         * measured, 64 KiB stacks survived depth 600 and crashed at 800,
         * so allow 4 levels per KiB of thread stack (512 at 128 KiB). */
        if (cfg->server.max_json_depth > cfg->server.thread_stack_kb * 4)
            sy_config_fail(&l, "server.max_json_depth",
                           "lower it, or raise server.thread_stack_kb "
                           "(4 levels per KiB of stack)",
                           "%u levels do not fit in %zu KiB thread stacks",
                           cfg->server.max_json_depth,
                           (size_t)cfg->server.thread_stack_kb);
        struct json_object *stv;
        if (json_object_object_get_ex(root, "state", &stv) &&
            sy_config_want(&l, "state", stv, json_type_object, NULL) != NULL)
            sy_config_load_state(&l, stv);
        const char *why = cfg->server.base_path != NULL
                              ? sy_mount_base_problem(cfg->server.base_path)
                              : NULL;
        if (why != NULL)
            sy_config_fail(&l, "server.base_path",
                           "the URL prefix the web server mounts the "
                           "gateway under, e.g. \"/llm\"",
                           "unusable base path: %s", why);
        if (cfg->server.admin_key != NULL) {
            /* The config names the variable; keep only its value. */
            const char *var = cfg->server.admin_key;
            const char *akey = getenv(var);
            cfg->server.admin_key = NULL;
            if (akey == NULL || strlen(akey) < 16)
                sy_config_fail(&l, "server.admin_key_env",
                               "set it to a random string of 16 characters "
                               "or more",
                               "environment variable %s is unset or too "
                               "short",
                               var);
            else {
                cfg->server.admin_key = sy_arena_strdup(&cfg->arena, akey);
                cfg->server.admin_key_len = strlen(akey);
            }
        }
        if (cfg->state.cluster_workers == 0)
            cfg->state.cluster_workers = cfg->server.processes;
        cfg->keys = load_section(&l, root, "keys", sizeof(struct sy_caller_key),
                                 &cfg->nkeys, false, sy_config_load_key);
        cfg->providers =
            load_section(&l, root, "providers", sizeof(struct sy_provider),
                         &cfg->nproviders, true, sy_config_load_provider_cb);
        cfg->deployments = load_section(
            &l, root, "deployments", sizeof(struct sy_deployment),
            &cfg->ndeployments, true, sy_config_load_deployment_cb);
        for (size_t i = 0; i < cfg->ndeployments; i++)
            cfg->deployments[i].index = (unsigned)i;
        cfg->groups = load_section(&l, root, "groups", sizeof(struct sy_group),
                                   &cfg->ngroups, true, load_group_cb);
        if (l.nerrors == 0 && cfg->ngroups == 0)
            sy_config_fail(&l, "groups",
                           "add a group: the model name clients ask for",
                           "no groups defined");
    }
    json_object_put(root);
    if (l.nerrors > 0) {
        sy_config_free(cfg);
        return SY_EBADREQ;
    }
    *out = cfg;
    return SY_OK;
}

/* Read 'path' (bounded) and load it; see sy_config_load_string. */
enum sy_err
sy_config_load_file(const char *path, struct sy_config **out,
                    struct sy_buf *errors)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errors != NULL)
            sy_buf_printf(errors, "%s: cannot open: %s\n", path,
                          strerror(errno));
        return SY_EBADREQ;
    }
    struct sy_buf text;
    sy_buf_init(&text, CONFIG_MAX_BYTES);
    char chunk[8192];
    size_t n;
    enum sy_err e = SY_OK;
    while (e == SY_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        e = sy_buf_append(&text, chunk, n);
    bool read_error = ferror(f) != 0;
    fclose(f);
    if (e != SY_OK || read_error) {
        if (errors != NULL)
            sy_buf_printf(errors, "%s: %s\n", path,
                          read_error ? "read error" : "file larger than 4 MiB");
        sy_buf_free(&text);
        return SY_EBADREQ;
    }
    e = sy_config_load_string(sy_buf_cstr(&text), text.len, path, out, errors);
    sy_buf_free(&text);
    return e;
}

/* Free 'cfg' and everything it owns. NULL-safe. */
void
sy_config_free(struct sy_config *cfg)
{
    if (cfg == NULL)
        return;
    sy_arena_cleanup(&cfg->arena);
    free(cfg);
}

/* The group clients name as "model", or NULL. Linear: groups are few and
 * this beats hashing for the sizes configs have. */
const struct sy_group *
sy_config_find_group(const struct sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ngroups; i++)
        if (strcmp(cfg->groups[i].name, name) == 0)
            return &cfg->groups[i];
    return NULL;
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

/* The next API key of 'p' in round-robin order (borrowed from the config),
 * or NULL for a keyless provider. Safe from any thread. */
const char *
sy_config_next_key(const struct sy_provider *p)
{
    if (p->nkeys == 0)
        return NULL;
    unsigned i = __atomic_fetch_add(p->key_cursor, 1, __ATOMIC_RELAXED);
    return p->keys[i % p->nkeys];
}

/* The config of a command: 'path', else $SWITCHYARD_CONFIG, else the one
 * built into the binary. Every error is printed to stderr; NULL then. */
struct sy_config *
sy_config_load_default(const char *path)
{
    struct sy_buf errors;
    sy_buf_init(&errors, 1u << 20);
    struct sy_config *cfg = NULL;
    if (path == NULL)
        path = getenv("SWITCHYARD_CONFIG");
    if (path != NULL && path[0] != '\0') {
        sy_config_load_file(path, &cfg, &errors);
    } else {
        size_t len;
        const char *text = sy_config_embedded(&len);
        sy_config_load_string(text, len, "<embedded default>", &cfg, &errors);
    }
    if (cfg == NULL)
        fputs(sy_buf_cstr(&errors), stderr);
    sy_buf_free(&errors);
    return cfg;
}
