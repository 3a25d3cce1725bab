/*
 * secret_redact.h - text from outside (a provider's error message) with
 * every piece of a secret it quotes hidden, before the text reaches a
 * caller, a log line or a metric (secret_redact.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SECRET_REDACT_H
#define SY_CORE_SECRET_REDACT_H

#include "sy.h"

struct sy_arena;

/* The shortest run of a secret's bytes that is hidden: shorter runs
 * (the four last characters OpenAI itself shows) say nothing useful
 * about the key; a common prefix such as "sk-proj-" is hidden too,
 * which costs nothing. */
#define SY_SECRET_RUN_MIN 8

const char *sy_secret_redact(const char *text, const char *secret,
                             struct sy_arena *a);

#endif
