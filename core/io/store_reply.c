/*
 * store_reply.c - reading the values the store hands back: integers (also
 * as strings), error replies, and which script errors are a refusal
 * rather than "Redis unavailable". No I/O; see store.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An integer reply, or a string holding a whole integer, into '*out'. */
bool
sy_store_val_int(const struct sy_store_val *v, int64_t *out)
{
    if (v == NULL)
        return false;
    if (v->type == SY_STORE_INT) {
        *out = v->i;
        return true;
    }
    if ((v->type != SY_STORE_STR && v->type != SY_STORE_STATUS) ||
        v->len == 0 || v->len > 20)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v->str, &end, 10);
    if (errno != 0 || end != v->str + v->len)
        return false;
    *out = (int64_t)x;
    return true;
}

/* Is 'v' an error reply (starting with 'prefix' when not NULL)? */
bool
sy_store_val_is_error(const struct sy_store_val *v, const char *prefix)
{
    if (v == NULL || v->type != SY_STORE_ERROR)
        return false;
    return prefix == NULL || strncmp(v->str, prefix, strlen(prefix)) == 0;
}

/* Did a script fail on what it was given ('v', an error reply)? Not
 * when Redis cannot run it now (out of memory, busy, read-only disk,
 * cluster down): that is "Redis unavailable", as for a lost connection. */
bool
sy_store_script_failed(const struct sy_store_val *v)
{
    static const char *const unavailable[] = { "OOM", "BUSY", "MISCONF",
                                               "TRYAGAIN", "CLUSTERDOWN" };
    if (!sy_store_val_is_error(v, NULL))
        return false;
    for (size_t i = 0; i < SY_ARRAY_LEN(unavailable); i++)
        if (sy_store_val_is_error(v, unavailable[i]))
            return false;
    return true;
}

/* Does any of the 'n' replies say Redis takes no writes now (out of
 * memory under noeviction, a read-only replica, a failed save that
 * stops writes, too few replicas)? Reads still work then, so the
 * exchange itself succeeded: only these replies tell. */
bool
sy_store_writes_refused(const struct sy_store_val *replies, size_t n)
{
    static const char *const refused[] = { "OOM", "READONLY", "MISCONF",
                                           "NOREPLICAS" };
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < SY_ARRAY_LEN(refused); k++)
            if (sy_store_val_is_error(&replies[i], refused[k]))
                return true;
    return false;
}
