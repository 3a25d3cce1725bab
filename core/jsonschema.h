/*
 * jsonschema.h - a JSON Schema validator over json-c trees, for the
 * gateway's output contracts (response_format json_schema, tool
 * parameters). Covers the validation vocabulary of drafts 4 to 2020-12
 * that such schemas use; see jsonschema.c for the list and the dialect
 * notes (patterns are POSIX ERE translated from ECMA-262).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_JSONSCHEMA_H
#define SY_CORE_JSONSCHEMA_H

#include "sy.h"

struct json_object;

/* Bounds against hostile schemas: nested schema applications (a $ref
 * loop stops here), evaluation steps (subschema applications plus value
 * comparisons) per validation, and the length of one pattern in bytes. */
#define SY_JSONSCHEMA_MAX_DEPTH 128
#define SY_JSONSCHEMA_MAX_STEPS 200000
#define SY_JSONSCHEMA_PATTERN_MAX 1024

/* Validation: true when 'instance' matches; else 'err' names the JSON path
 * of the first violation ("$.items[2].price: must be >= 0"). */
bool sy_jsonschema_validate(const struct json_object *schema,
                            const struct json_object *instance, char *err,
                            size_t errlen);

/* Schema sanity: true when 'schema' is usable by sy_jsonschema_validate;
 * else 'err' names the schema location ("#/properties/a: ..."). */
bool sy_jsonschema_check(const struct json_object *schema, char *err,
                         size_t errlen);

#endif
