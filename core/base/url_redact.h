/*
 * url_redact.h - a URL as it may appear in a log line: its user name,
 * password or token ("user:token@") and its query string (a signature,
 * an api_key=...) replaced by "[redacted]" (url_redact.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_URL_REDACT_H
#define SY_CORE_URL_REDACT_H

#include "sy.h"

/* Longest redacted URL worth logging; a longer one is cut. */
#define SY_URL_REDACT_MAX 256

const char *sy_url_redact(const char *url, char *out, size_t cap);

#endif
