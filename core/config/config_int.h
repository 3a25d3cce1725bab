/*
 * config_int.h - what the files of the config loader share (core/config/config.c
 * and core/config/config_state.c): the state of one load, the field tables and
 * the helpers that read and report. Not for use outside the loader.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CONFIG_INT_H
#define SY_CORE_CONFIG_INT_H

#include "base/sy.h"
#include "config.h"

#include <json-c/json.h>

/* State of one load: where errors go, and the arena of the result. */
struct loader {
    struct sy_config *cfg;
    struct sy_buf *errors;
    unsigned nerrors;
};

/* One row per scalar key: its name, type, where it goes (offset into the
 * target struct), bounds for numbers, and whether it must be present. */
enum field_type { F_STR, F_UINT, F_SIZE, F_MS, F_BOOL, F_LOGLEVEL, F_DOUBLE };

/* One row per scalar key: its name, type, where it goes (offset into the
 * target struct), bounds for numbers, and whether it must be present. */
struct field {
    const char *name;
    enum field_type type;
    size_t offset;
    long long min;
    long long max;
    bool required;
    const char *hint;
};

/* Report one error at JSON path 'path' (with an optional hint). */
void sy_config_fail(struct loader *l, const char *path, const char *hint,
                    const char *fmt, ...) SY_PRINTF(4, 5);
/* "parent.key" in the result's arena. */
const char *sy_config_jpath(struct loader *l, const char *parent,
                            const char *key);
const char *sy_config_type_name(json_type t);
const char *sy_config_default_hint(json_type t);
/* ${VAR} / ${VAR:-default} expansion; the result lives in the arena. */
const char *sy_config_interpolate(struct loader *l, const char *path,
                                  const char *s);
/* Read every field of 'fields' from 'obj' into 'target'; unknown keys
 * (not in 'fields' nor 'extra') are errors. */
void sy_config_read_fields(struct loader *l, const char *path,
                           struct json_object *obj, const struct field *fields,
                           size_t n, const char *const *extra, void *target);
/* 'v' if it has type 't', else NULL after reporting. */
struct json_object *sy_config_want(struct loader *l, const char *path,
                                   struct json_object *v, json_type t,
                                   const char *hint);
const char **sy_config_string_list(struct loader *l, const char *path,
                                   struct json_object *v, size_t *count);
/* An object of header name to value at 'path', ${VAR} expanded, into an
 * arena array (NULL after reporting when 'v' is no object); *count gets
 * the entries kept. A name with a colon, space or line break, or a value
 * with a line break before or after expansion, would forge further
 * headers: reported and left out, as is an empty name unless
 * 'empty_name_ok'. Values are never shown (they may be secrets). */
const struct sy_header_kv *sy_config_headers(struct loader *l, const char *path,
                                             struct json_object *v,
                                             bool empty_name_ok, size_t *count);

/* config_groups.c */
struct sy_deployment;
/* Section loaders of config_providers.c, called for each entry. */
void sy_config_load_provider_cb(struct loader *l, const char *p, const char *n,
                                struct json_object *o, void *e);
void sy_config_load_deployment_cb(struct loader *l, const char *p,
                                  const char *n, struct json_object *o,
                                  void *e);
void sy_config_load_allow_fields(struct loader *l, const char *path,
                                 struct json_object *obj,
                                 struct sy_deployment *d);
void sy_config_load_group(struct loader *l, const char *path, const char *name,
                          struct json_object *obj, struct sy_group *g);

/* config_alias.c: a group's "aliases" list, and the checks across
 * groups once all are loaded. */
void sy_config_load_aliases(struct loader *l, const char *path,
                            struct json_object *v, struct sy_group *g);
void sy_config_check_aliases(struct loader *l);

/* config_hedge.c: a group's "hedge" key, when present. */
void sy_config_load_hedge(struct loader *l, const char *path,
                          struct json_object *obj, struct sy_group *g);
/* config_affinity.c: a group's "affinity" key, when present. */
void sy_config_load_affinity(struct loader *l, const char *path,
                             struct json_object *obj, struct sy_group *g);

/* config_metrics.c: the "metrics" section */
void sy_config_load_metrics(struct loader *l, struct json_object *root);
/* config_state.c */
void sy_config_state_defaults(struct sy_state_conf *st);
void sy_config_load_state(struct loader *l, struct json_object *obj);
/* config_tracing.c: the "tracing" section of 'root' (defaults when
 * absent) */
void sy_config_load_tracing(struct loader *l, struct json_object *root);
void sy_config_load_key(struct loader *l, const char *path, const char *name,
                        struct json_object *obj, void *elem);

#endif
