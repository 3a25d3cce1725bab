/*
 * responses.h - the conversation store of the OpenAI Responses API: one
 * Redis string per stored response (keys.c: "<prefix>resp:<id>"), kept
 * state.responses_ttl_s seconds, holding one JSON object this module
 * writes:
 *
 *   {"owner":"<caller>","response":<the response object>,
 *    "input":[<every input item that led to it, history included>]}
 *
 * "owner" is always the first member: a record is the caller's when it
 * starts with that caller's '{"owner":"<name>",', so reads and deletes
 * check ownership without parsing the record. The owner is a caller
 * key's configured name, never the key itself (the pipeline decides the
 * name; "" when the gateway has no caller keys).
 * docs/shared-state.md, "The Responses conversation store".
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_RESPONSES_H
#define SY_CORE_RESPONSES_H

#include "base/sy.h"
#include "base/err.h"
#include "base/mem.h"

struct sy_store;

/* The longest response id stored (OpenAI's are ~50 bytes). */
#define SY_RESPONSES_ID_MAX 128

/* What one record holds besides its owner: two JSON texts, written as
 * they are (the caller has produced or checked them). */
struct sy_responses_rec {
    const char *response; /* the response object */
    size_t response_len;
    const char *input; /* the input items: a JSON array */
    size_t input_len;
};

/* An id we store under: 1..SY_RESPONSES_ID_MAX bytes of [A-Za-z0-9_.-]. */
bool sy_responses_id_valid(const char *id);

/* Store 'rec' as response 'id' of 'owner' for 'ttl_s' seconds (0: store
 * nothing, SY_OK), replacing any record of that id. SY_ETOOBIG when the
 * record would be larger than 'max_bytes', SY_EBADREQ for an invalid id,
 * SY_ESTORE when Redis is unavailable; 'err' says which. */
enum sy_err sy_responses_put(struct sy_store *s, const char *id,
                             const char *owner,
                             const struct sy_responses_rec *rec, uint32_t ttl_s,
                             size_t max_bytes, char *err, size_t errlen);

/* The record of response 'id' (the whole JSON object above, in arena
 * 'a', NUL-terminated). SY_ENOTFOUND when there is none, or it is
 * another owner's (the caller cannot tell which); SY_ESTORE when Redis
 * is unavailable. */
enum sy_err sy_responses_get(struct sy_store *s, const char *id,
                             const char *owner, struct sy_arena *a,
                             const char **json, size_t *len);

/* Delete response 'id' when it is 'owner''s. SY_ENOTFOUND when there is
 * none or it is another owner's; SY_ESTORE when Redis is unavailable. */
enum sy_err sy_responses_del(struct sy_store *s, const char *id,
                             const char *owner);

#endif
