/*
 * contract.h - the gateway's output contracts: a model's message content
 * must be the JSON the caller asked for (response_format json_object or
 * json_schema), and a tool call's arguments must be JSON matching the
 * tool's parameters schema. Schema evaluation is in jsonschema.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CONTRACT_H
#define SY_CORE_CONTRACT_H

#include "base/sy.h"

struct json_object;
struct sy_schema;
struct sy_rx_budget;

/* The inside of one markdown code fence (```json or ```) wrapping the
 * whole text; false, with the text itself, when there is none. */
bool sy_contract_unfence(const char *text, size_t len, const char **out,
                         size_t *outlen);

/* Parse content (unfenced first) into a tree owned by the arena. */
bool sy_contract_parse_json(const char *content, size_t len, unsigned max_depth,
                            struct sy_arena *a, struct json_object **doc,
                            char *err, size_t errlen, bool *unfenced);

/* Content is a JSON object (schema NULL) or matches the compiled
 * 'schema', charging 'budget' (may be NULL; see jsonschema.h). */
bool sy_contract_check_json_cs(const char *content, size_t len,
                               const struct sy_schema *schema,
                               struct sy_rx_budget *budget, unsigned max_depth,
                               struct sy_arena *a, char *err, size_t errlen,
                               bool *unfenced);

/* Tool-call arguments are a JSON object matching the compiled
 * 'parameters' (or NULL). */
bool sy_contract_check_tool_args_cs(const char *arguments, size_t len,
                                    const struct sy_schema *parameters,
                                    struct sy_rx_budget *budget,
                                    unsigned max_depth, char *err,
                                    size_t errlen);

/* The same with schema trees compiled for the one call (tests, tools).
 * Content is a JSON object (schema NULL) or matches 'schema'. */
bool sy_contract_check_json(const char *content, size_t len,
                            const struct json_object *schema,
                            unsigned max_depth, struct sy_arena *a, char *err,
                            size_t errlen, bool *unfenced);

/* Tool-call arguments are a JSON object matching 'parameters' (or NULL). */
bool sy_contract_check_tool_args(const char *arguments, size_t len,
                                 const struct json_object *parameters,
                                 unsigned max_depth, char *err, size_t errlen);

#endif
