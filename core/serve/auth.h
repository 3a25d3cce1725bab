/*
 * auth.h - caller keys: which configured key an Authorization header
 * carries (constant-time), and what that key may use.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_AUTH_H
#define SY_CORE_AUTH_H

#include "base/sy.h"

const struct sy_caller_key *sy_auth_check(const struct sy_config *cfg,
                                          const char *authorization);
/* The configured key named 'name', or NULL. */
const struct sy_caller_key *sy_auth_key_named(const struct sy_config *cfg,
                                              const char *name);
bool sy_auth_model_allowed(const struct sy_caller_key *k, const char *model);

#endif
