/*
 * jsonschema.h - a JSON Schema validator over json-c trees, for the
 * gateway's output contracts (response_format json_schema, tool
 * parameters). Covers the validation vocabulary of drafts 4 to 2020-12
 * that such schemas use; see jsonschema.c for the list. A schema is
 * compiled once (sy_schema_compile: every keyword checked, every pattern
 * compiled with PCRE2; anything unsupported is refused with its JSON
 * pointer) and then applied to any number of instances
 * (sy_schema_validate) under a per-request budget of regex work.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_JSONSCHEMA_H
#define SY_CORE_JSONSCHEMA_H

#include "base/sy.h"
#include "base/limits.h"

#include <stdint.h>

struct json_object;

/* The bounds against hostile schemas (SY_JSONSCHEMA_MAX_DEPTH and the
 * rest) are in base/limits.h. */

/* Regex work one request may spend in all its validations: CPU time of
 * the validating thread, and match attempts (one per start position of
 * every pattern applied). Each attempt is itself capped by PCRE2's match
 * limit, depth limit and heap limit (jsonschema_rx.c). */
#define SY_RX_BUDGET_CPU_NS (250u * 1000u * 1000u)
#define SY_RX_BUDGET_STARTS 4000000u

/* The regex budget of one request, shared by every schema it compiled.
 * Zero it (or call sy_rx_budget_init) once per request. */
struct sy_rx_budget {
    uint64_t cpu_ns;  /* CPU spent inside sy_schema_validate so far */
    uint64_t starts;  /* match attempts so far */
    uint64_t matches; /* pcre2_match calls so far */
    bool spent;       /* a bound was hit: every later validation fails */
    /* private to jsonschema_rx.c */
    uint64_t t_enter;
    uint64_t wall_last;
};

void sy_rx_budget_init(struct sy_rx_budget *b);

/* A compiled schema: borrows the json-c tree it was compiled from, which
 * must outlive it and stay unchanged. Immutable after compile: threads
 * may share one (each with its own budget). */
struct sy_schema;

/* Compile 'schema' (an object or a boolean): every keyword must be one
 * this validator applies or a known annotation, every value the right
 * shape, every $ref local and resolvable, every pattern one PCRE2
 * compiles within the limits. NULL when not; 'err' then names the
 * schema location as a JSON pointer ("#/properties/a/pattern: ..."). The
 * result is freed with sy_schema_free. */
struct sy_schema *sy_schema_compile(const struct json_object *schema, char *err,
                                    size_t errlen);
/* The same with the dialect given: SY_SCHEMA_LEGACY for drafts 4 to 7
 * ("$ref" replaces its siblings), whatever "$schema" says. */
#define SY_SCHEMA_LEGACY 1u
struct sy_schema *sy_schema_compile_ex(const struct json_object *schema,
                                       unsigned flags, char *err,
                                       size_t errlen);
void sy_schema_free(struct sy_schema *cs);
/* How many patterns 'cs' compiled, and their compiled size in bytes (a
 * request bounds the sum over all its schemas). */
size_t sy_schema_npatterns(const struct sy_schema *cs);
size_t sy_schema_pattern_bytes(const struct sy_schema *cs);
/* For arena cleanup hooks. */
void sy_schema_free_cb(void *cs);

/* Validation: true when 'instance' matches; else 'err' names the JSON path
 * of the first violation ("$.items[2].price: must be >= 0"). 'budget' (may
 * be NULL: a fresh one for this call) is charged for the regex work;
 * when it runs out the validation fails with "...: too much regex work"
 * and budget->spent is set. */
bool sy_schema_validate(const struct sy_schema *cs,
                        const struct json_object *instance,
                        struct sy_rx_budget *budget, char *err, size_t errlen);

/* One-shot forms (compile, use, free): tests and tools. */
bool sy_jsonschema_validate(const struct json_object *schema,
                            const struct json_object *instance, char *err,
                            size_t errlen);
bool sy_jsonschema_check(const struct json_object *schema, char *err,
                         size_t errlen);

#endif
