/*
 * secret_redact.c - hide the pieces of a secret that a text quotes
 * (secret_redact.h). A provider that rejects a key may quote it whole in
 * its error message ("Incorrect API key provided: sk-..."), and proxies
 * in front of providers echo request headers: the gateway passes a
 * provider's message on to the caller and into its log, so every run of
 * at least SY_SECRET_RUN_MIN bytes of the text that is also a run of the
 * key becomes '*'s, of the same length.
 *
 * The search is the plain one (each position of the text against each
 * of the secret), about text x key comparisons: the callers bound the
 * text (core/api/failure.c cuts a failure's texts to 1 KiB first), and
 * it runs only on failures. A secret longer than SECRET_MAX is looked
 * for whole only.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "secret_redact.h"
#include "mem.h"

#include <string.h>

#define SECRET_MAX 4096

/* The longest run starting at text[i] that is also a run of 'secret'. */
static size_t
longest_run(const char *text, size_t n, size_t i, const char *secret, size_t m)
{
    size_t best = 0;
    for (size_t j = 0; j + SY_SECRET_RUN_MIN <= m; j++) {
        if (secret[j] != text[i])
            continue;
        size_t k = 1;
        while (i + k < n && j + k < m && text[i + k] == secret[j + k])
            k++;
        if (k > best)
            best = k;
    }
    return best;
}

/* 'text' with the runs of 'secret' it holds hidden: 'text' itself when
 * it holds none (or either is NULL), else a copy in 'a'. When the copy
 * cannot be made, a fixed text that says so: never the original. */
const char *
sy_secret_redact(const char *text, const char *secret, struct sy_arena *a)
{
    if (text == NULL || secret == NULL)
        return text;
    size_t n = strlen(text), m = strlen(secret);
    if (n < SY_SECRET_RUN_MIN || m < SY_SECRET_RUN_MIN)
        return text;
    char *out = NULL;
    if (m > SECRET_MAX) {
        const char *hit = strstr(text, secret);
        if (hit == NULL)
            return text;
        out = sy_arena_strndup(a, text, n);
        if (out == NULL)
            return "(a message quoting a secret, hidden)";
        for (char *p = out + (hit - text); p != NULL; p = strstr(p + m, secret))
            memset(p, '*', m);
        return out;
    }
    for (size_t i = 0; i + SY_SECRET_RUN_MIN <= n;) {
        size_t run = longest_run(text, n, i, secret, m);
        if (run < SY_SECRET_RUN_MIN) {
            i++;
            continue;
        }
        if (out == NULL && (out = sy_arena_strndup(a, text, n)) == NULL)
            return "(a message quoting a secret, hidden)";
        memset(out + i, '*', run);
        i += run;
    }
    return out != NULL ? out : text;
}
