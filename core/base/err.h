/*
 * err.h - the closed set of Switchyard error codes.
 *
 * One X-macro list gives each code its name, the HTTP status the caller
 * sees, whether the request may move to another deployment, whether it
 * counts as a breaker failure, and the OpenAI error "type" and "code".
 * Append only; never renumber.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ERR_H
#define SY_CORE_ERR_H

#include "sy.h"

/*   code              status retry breaker type                     code */
#define SY_ERR_LIST(X)                                                        \
    X(SY_OK, 200, 0, 0, NULL, NULL)                                           \
    X(SY_EBADREQ, 400, 0, 0, "invalid_request_error", NULL)                   \
    X(SY_EAUTH, 401, 0, 0, "invalid_request_error", "invalid_api_key")        \
    X(SY_ENOTFOUND, 404, 0, 0, "invalid_request_error", "not_found")          \
    X(SY_ENOMODEL, 404, 0, 0, "invalid_request_error", "model_not_found")     \
    X(SY_EMETHOD, 405, 0, 0, "invalid_request_error", "method_not_allowed")   \
    X(SY_ETOOBIG, 413, 0, 0, "invalid_request_error", "request_too_large")    \
    X(SY_EQUOTA, 429, 0, 0, "rate_limit_error", "rate_limit_exceeded")        \
    X(SY_ENOROUTE, 503, 0, 0, "server_error", "no_deployment_available")      \
    X(SY_EUP_CONNECT, 502, 1, 1, "upstream_error", "upstream_connect_failed") \
    X(SY_EUP_TIMEOUT, 504, 1, 1, "upstream_error", "upstream_timeout")        \
    X(SY_EUP_5XX, 502, 1, 1, "upstream_error", "upstream_server_error")       \
    X(SY_EUP_RATELIMIT, 429, 1, 0, "rate_limit_error",                        \
      "upstream_rate_limited")                                                \
    X(SY_EUP_AUTH, 502, 1, 0, "upstream_error", "upstream_auth_failed")       \
    X(SY_EUP_BADREQ, 400, 0, 0, "invalid_request_error", NULL)                \
    X(SY_EUP_PROTO, 502, 1, 1, "upstream_error", "upstream_bad_response")     \
    X(SY_ESTORE, 503, 0, 0, "server_error", "state_store_unavailable")        \
    X(SY_EINTERNAL, 500, 0, 0, "server_error", "internal_error")              \
    X(SY_EUNAVAIL, 503, 0, 0, "server_error", "shutting_down")                \
    X(SY_EGONE, 499, 0, 0, "invalid_request_error", "client_closed_request")  \
    X(SY_EUP_CONTRACT, 502, 1, 0, "upstream_error",                           \
      "output_contract_violation")                                            \
    X(SY_EUP_TOOLONG, 504, 0, 0, "upstream_error", "upstream_total_timeout")  \
    X(SY_ECUT, 499, 0, 0, "server_error", "hedge_cut")                        \
    X(SY_ETRANSLATE, 502, 0, 0, "upstream_error", "upstream_untranslatable")

enum sy_err {
#define SY_ERR_ENUM(c, s, r, b, t, k) c,
    SY_ERR_LIST(SY_ERR_ENUM)
#undef SY_ERR_ENUM
        SY_ERR__COUNT
};

const char *sy_err_name(enum sy_err e);
int sy_err_status(enum sy_err e);
bool sy_err_retry(enum sy_err e);
bool sy_err_breaker(enum sy_err e);
const char *sy_err_type(enum sy_err e);
const char *sy_err_code(enum sy_err e);
const char *sy_http_reason(int status);

#endif
