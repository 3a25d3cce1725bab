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
#include "api/mount.h"
#include "api/adapter.h"
#include "base/json_strict.h"
#include "base/limits.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* ${VAR} interpolation                                                */

/* ------------------------------------------------------------------ */
/* Typed field readers driven by tables                                */

/* ------------------------------------------------------------------ */
/* Sections                                                            */

#define SRV(f) offsetof(struct sy_server_conf, f)
static const struct field server_fields[] = {
    { "listen", F_STR, SRV(listen), 0, 0, false,
      "\"unix:/path/to.sock\", \"127.0.0.1:9000\" or a port" },
    { "processes", F_UINT, SRV(processes), 1, SY_SERVER_MAX_PROCESSES, false,
      NULL },
    { "threads", F_UINT, SRV(threads), 1, SY_SERVER_MAX_THREADS, false, NULL },
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
    { "write_timeout_ms", F_MS, SRV(write_timeout_ms), 100, 3600000, false,
      "the longest one write to the web server may wait (a caller that "
      "stopped reading)" },
    { "log_level", F_LOGLEVEL, SRV(log_level), 0, 0, false, NULL },
    { "trust_request_id", F_BOOL, SRV(trust_request_id), 0, 0, false, NULL },
    { "usage_log", F_STR, SRV(usage_log), 0, 0, false,
      "a file path; one JSON line per request (no keys, no bodies)" },
    { "access_log", F_STR, SRV(access_log), 0, 0, false,
      "\"stderr\" or a file path; one JSON line per request" },
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
    s->write_timeout_ms = 30000;
    s->log_level = SY_LOG_INFO;
    s->trust_request_id = true;
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

/* What is wrong with a config that is not JSON, for the error line. */
static const char *
json_problem(const struct sy_json_result *res)
{
    switch (res->status) {
    case SY_JSON_EMPTY:
    case SY_JSON_EOF:
        return "unexpected end of file";
    case SY_JSON_DEPTH:
        return "nested deeper than 64 levels";
    case SY_JSON_NONFINITE:
        return "a number is out of range";
    case SY_JSON_UTF8:
        return "invalid UTF-8 in a string";
    case SY_JSON_COMPLEX:
        return "too many objects and arrays";
    default:
        return res->why != NULL ? res->why : "syntax error";
    }
}

/* The config text as a JSON tree (NULL, with an error reported, when it
 * is not exactly one JSON value or too large; NULL also for "null"). The
 * strict parse of base/json_strict.h, as for every outside text: no
 * comments, no single quotes, no trailing commas. */
static struct json_object *
parse_text(struct loader *l, const char *text, size_t len)
{
    if (len > SY_CONFIG_MAX_BYTES) {
        sy_config_fail(l, "", "a config is a few KiB; check the file name",
                       "config larger than %u bytes", SY_CONFIG_MAX_BYTES);
        return NULL;
    }
    const struct sy_json_limits lim = { .max_depth = 64 };
    struct sy_json_result res;
    struct json_object *root = NULL;
    unsigned line;
    unsigned col;
    switch (sy_json_parse_strict(text, len, &lim, &root, &res)) {
    case SY_JSON_OK:
        if (root == NULL)
            sy_config_fail(l, "", sy_config_default_hint(json_type_object),
                           "must be an object, not null");
        return root;
    case SY_JSON_TRAILING:
        line_col(text, res.at, &line, &col);
        sy_config_fail(l, "", "remove what follows the closing brace",
                       "unexpected text after the JSON value at line %u "
                       "column %u",
                       line, col);
        return NULL;
    default:
        line_col(text, res.at, &line, &col);
        sy_config_fail(l, "", "check commas, quotes and brackets near there",
                       "invalid JSON at line %u column %u: %s", line, col,
                       json_problem(&res));
        return NULL;
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

    struct json_object *root = parse_text(&l, text, len);

    if (root != NULL && l.nerrors == 0 &&
        sy_config_want(&l, "", root, json_type_object, NULL) != NULL) {
        json_object_object_foreach(root, key, val)
        {
            (void)val;
            if (strcmp(key, "server") != 0 && strcmp(key, "providers") != 0 &&
                strcmp(key, "deployments") != 0 && strcmp(key, "groups") != 0 &&
                strcmp(key, "state") != 0 && strcmp(key, "keys") != 0 &&
                strcmp(key, "tracing") != 0 && strcmp(key, "metrics") != 0 &&
                strcmp(key, "$schema") != 0 && strcmp(key, "comment") != 0)
                sy_config_fail(&l, key,
                               "top-level sections: server, state, tracing, "
                               "metrics, keys, providers, deployments, groups",
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
        sy_config_load_tracing(&l, root);
        sy_config_load_metrics(&l, root);
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
        sy_config_check_aliases(&l);
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
    sy_buf_init(&text, SY_CONFIG_MAX_BYTES);
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

/* The next API key of 'p' in round-robin order (borrowed from the config),
 * or NULL for a keyless provider. Safe from any thread. */
const char *
sy_config_next_key(const struct sy_provider *p)
{
    if (p->nkeys == 0)
        return NULL;
    unsigned i =
        atomic_fetch_add_explicit(p->key_cursor, 1, memory_order_relaxed);
    return p->keys[i % p->nkeys];
}

/* The config of a command: 'path', else $SWITCHYARD_CONFIG, else the one
 * built into the binary. Every error is printed to stderr; NULL then. */
struct sy_config *
sy_config_load_default(const char *path)
{
    struct sy_buf errors;
    sy_buf_init(&errors, SY_CONFIG_ERRORS_MAX);
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
