/*
 * admin.h - the admin API for virtual keys: the HTTP routes /admin/keys
 * and /admin/keys/<name> (the pipeline checks the admin key and calls
 * sy_admin_keys()), also used by 'switchyard keys' so that the CLI and
 * the API behave the same.
 *
 *   GET    /admin/keys          list every key (revoked ones included)
 *   POST   /admin/keys          create: 201 and the key, shown once
 *   GET    /admin/keys/<name>   show one
 *   PATCH  /admin/keys/<name>   update the fields given
 *   DELETE /admin/keys/<name>   revoke: 200 {"revoked":true,...}
 *
 * Money is USD decimals in the API and integer micro-dollars inside. No
 * answer ever holds a key except the one of a create, nor an HMAC.
 * Errors are OpenAI-style error objects. See docs/keys.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ADMIN_H
#define SY_CORE_ADMIN_H

#include "base/sy.h"
#include "state/budget.h"
#include "base/buf.h"
#include "config/config.h"
#include "base/mem.h"
#include "io/store.h"
#include "state/vkeys.h"

/* The budget counter of virtual key 'name' (for sy_budget_reserve() and
 * friends): the key's name itself, as the request path uses it (budget
 * hash "<prefix>budget:{<name>}:<period id>"). Names are unique and never
 * reused (a revoked key stays in the index), so the counter belongs to
 * one key for good. */
void sy_admin_budget_name(const char *key_name,
                          char out[SY_BUDGET_NAME_MAX + 1]);

/* Handle one admin request. 'method' is the HTTP method, 'rest' is "" for
 * /admin/keys and "<name>" for /admin/keys/<name>; 'body'/'len' the
 * request body (may be NULL/0). 'store' may be NULL (no shared state:
 * 503). Writes a JSON body to 'out' and returns the HTTP status. 'a' is
 * scratch memory for the call (may be NULL). */
int sy_admin_keys(const struct sy_config *cfg, struct sy_store *store,
                  const char *method, const char *rest, const char *body,
                  size_t len, struct sy_arena *a, struct sy_buf *out);

/* The methods of the route 'rest' (as for sy_admin_keys): what a 405
 * from it lists, and what its Allow header says. */
const char *sy_admin_keys_allow(const char *rest);

/* "1767225600", "2026-12-31" (00:00 UTC), "2026-12-31T12:00:00Z" ->
 * epoch seconds; "0", "never" or "" -> 0. False when unparsable. */
bool sy_admin_parse_time(const char *s, int64_t *out);

#endif
