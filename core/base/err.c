/*
 * err.c - lookups into the error table declared in err.h.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "err.h"

struct err_row {
    const char *name;
    int status;
    bool retry;
    bool breaker;
    const char *type;
    const char *code;
};

static const struct err_row err_table[] = {
#define SY_ERR_ROW(c, s, r, b, t, k) { #c, s, r, b, t, k },
    SY_ERR_LIST(SY_ERR_ROW)
#undef SY_ERR_ROW
};

static const struct err_row *
row(enum sy_err e)
{
    if ((unsigned)e >= SY_ERR__COUNT)
        e = SY_EINTERNAL;
    return &err_table[e];
}

const char *
sy_err_name(enum sy_err e)
{
    return row(e)->name;
}

int
sy_err_status(enum sy_err e)
{
    return row(e)->status;
}

bool
sy_err_retry(enum sy_err e)
{
    return row(e)->retry;
}

bool
sy_err_breaker(enum sy_err e)
{
    return row(e)->breaker;
}

const char *
sy_err_type(enum sy_err e)
{
    return row(e)->type;
}

const char *
sy_err_code(enum sy_err e)
{
    return row(e)->code;
}

/* Reason phrase for the CGI "Status:" line. */
const char *
sy_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}
