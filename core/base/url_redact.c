/*
 * url_redact.c - a URL with its credentials and query string hidden, for
 * log lines (url_redact.h). Pure: no allocation, no state.
 *
 *   http://user:tok@collector:4318/v1/traces?sig=abc#x
 *   -> http://[redacted]@collector:4318/v1/traces?[redacted]
 *
 * The user info is what precedes the last '@' of the authority (scheme
 * "://" up to the first '/', '?' or '#'); an '@' in the path is left
 * alone. Everything from the first '?' or '#' on becomes "?[redacted]"
 * or "#[redacted]". The result is cut to the buffer, which can only
 * shorten the part kept (nothing hidden comes before a cut).
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "url_redact.h"

#include <string.h>

/* What stands for a hidden part. */
#define MARK "[redacted]"

/* Append 'n' bytes of 's' to 'out' (length '*len', capacity 'cap'),
 * always NUL-terminated, cut when full. */
static void
put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    size_t room = cap - 1 - *len;
    if (n > room)
        n = room;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/* 'url' (NULL is "") redacted into 'out' ('cap' bytes, at least 1);
 * returns 'out'. */
const char *
sy_url_redact(const char *url, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    if (url == NULL)
        return out;
    const char *p = url;
    const char *sep = strstr(url, "://");
    /* A scheme: no '/', '?' or '#' before "://". */
    if (sep != NULL && sep > url &&
        strcspn(url, "/?#") >= (size_t)(sep - url)) {
        const char *auth = sep + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        put(out, cap, &len, url, (size_t)(auth - url));
        if (at != NULL) {
            put(out, cap, &len, MARK "@", sizeof(MARK));
            p = at + 1;
        } else {
            p = auth;
        }
    }
    size_t keep = strcspn(p, "?#");
    put(out, cap, &len, p, keep);
    if (p[keep] != '\0') {
        put(out, cap, &len, p + keep, 1);
        put(out, cap, &len, MARK, sizeof(MARK) - 1);
    }
    return out;
}
