/*
 * config_tracing.c - the "tracing" section: where spans are exported
 * (OTLP/HTTP JSON, io/otlp.c), under which service name, with which
 * headers, and how they are batched. Absent, or without otlp_endpoint:
 * no export (trace context is still honoured and passed on).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"

#include <string.h>

#include <json-c/json.h>

#define TR(f) offsetof(struct sy_tracing_conf, f)
static const char *const tracing_extra[] = { "headers", NULL };
static const struct field tracing_fields[] = {
    { "otlp_endpoint", F_STR, TR(otlp_endpoint), 0, 0, false,
      "the collector's OTLP/HTTP traces URL, e.g. "
      "\"http://127.0.0.1:4318/v1/traces\"" },
    { "service_name", F_STR, TR(service_name), 0, 0, false, NULL },
    { "batch_size", F_UINT, TR(batch_size), 1, 10000, false,
      "spans per export request" },
    { "interval_ms", F_MS, TR(interval_ms), 10, 600000, false,
      "the longest a span waits for its batch to fill" },
    { "queue_size", F_UINT, TR(queue_size), 1, 1000000, false,
      "spans held while the collector is slow; more are dropped" },
    { "timeout_ms", F_MS, TR(timeout_ms), 10, 600000, false,
      "one export request" },
};

static void
tracing_defaults(struct sy_tracing_conf *t)
{
    memset(t, 0, sizeof(*t));
    t->service_name = "switchyard";
    t->batch_size = 128;
    t->interval_ms = 2000;
    t->queue_size = 4096;
    t->timeout_ms = 5000;
}

/* "headers": name to value, sent with every export (a collector token).
 * Like a provider's headers: no colon or space in a name, no line break
 * in a value, before or after ${VAR} expansion. Values are never logged. */
static void
read_headers(struct loader *l, struct json_object *v, struct sy_tracing_conf *t)
{
    size_t n;
    const struct sy_header_kv *h =
        sy_config_headers(l, "tracing.headers", v, false, &n);
    if (h == NULL)
        return;
    t->headers = h;
    t->nheaders = n;
}

/* The "tracing" section of config 'root': defaults, then what the
 * section says when it is there. */
void
sy_config_load_tracing(struct loader *l, struct json_object *root)
{
    struct sy_tracing_conf *t = &l->cfg->tracing;
    tracing_defaults(t);
    struct json_object *obj;
    if (!json_object_object_get_ex(root, "tracing", &obj) ||
        sy_config_want(l, "tracing", obj, json_type_object, NULL) == NULL)
        return;
    sy_config_read_fields(l, "tracing", obj, tracing_fields,
                          SY_ARRAY_LEN(tracing_fields), tracing_extra, t);
    struct json_object *v;
    if (json_object_object_get_ex(obj, "headers", &v))
        read_headers(l, v, t);
    if (t->otlp_endpoint != NULL && t->otlp_endpoint[0] == '\0')
        t->otlp_endpoint = NULL; /* "" (an unset ${VAR:-}) = off */
    if (t->otlp_endpoint != NULL &&
        strncmp(t->otlp_endpoint, "http://", 7) != 0 &&
        strncmp(t->otlp_endpoint, "https://", 8) != 0)
        sy_config_fail(l, "tracing.otlp_endpoint",
                       "e.g. \"http://127.0.0.1:4318/v1/traces\"",
                       "must be an http:// or https:// URL");
    if (t->service_name == NULL || t->service_name[0] == '\0')
        t->service_name = "switchyard";
}
