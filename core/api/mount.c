/*
 * mount.c - derive the path the gateway routes on when it is mounted
 * under a prefix (https://host/llm/v1/...) next to other content.
 *
 * The rule, in order:
 *   1. server.base_path set: it must begin REQUEST_URI's path (at a
 *      segment boundary) and is cut off; anything else is "outside" (404).
 *   2. else, when PATH_INFO is non-empty and SCRIPT_NAME begins
 *      REQUEST_URI's path (at a segment boundary), the web server has
 *      told us the mount: route on PATH_INFO, unless REQUEST_URI's path
 *      is itself a gateway path (lighttpd at "/" without
 *      fix-root-scriptname splits "/v1/models" into SCRIPT_NAME "/v1" and
 *      PATH_INFO "/models": that is the server's split, not a mount;
 *      a path that does not decode is asked undecoded, so that
 *      "/v1/messages//count_tokens" is refused, not routed).
 *      An empty SCRIPT_NAME (or "/") is no mount: rule 3.
 *   3. else REQUEST_URI's path (SCRIPT_NAME + PATH_INFO without one).
 *
 * What rule 2 cannot tell: lighttpd at "/" without fix-root-scriptname
 * splits "/x/admin/keys" into SCRIPT_NAME "/x" + PATH_INFO "/admin/keys",
 * byte for byte what a real mount at "/x" sends, so any made-up first
 * segment would reach every route past a web-server rule on "^/admin".
 * The shipped lighttpd configs set the option (SCRIPT_NAME "", the whole
 * path in PATH_INFO); server.base_path (even "/") makes the gateway
 * ignore the split altogether (docs/deployment.md).
 *
 * Raw or decoded: REQUEST_URI is what the client sent, escapes and all;
 * PATH_INFO is what the web server made of it after decoding and
 * normalising, i.e. what its own location rules and access controls
 * matched. Routing on PATH_INFO when the server gives it keeps the
 * gateway's view and the server's view the same. Where the gateway works
 * from REQUEST_URI it decodes it itself and refuses (404, never another
 * route) what a server would have normalised: dot segments, "//" (also
 * when spelled %2e or %2f), bad escapes, NUL and control characters. A
 * PATH_INFO that is not canonical gets the same 404.
 * SPDX-License-Identifier: MIT
 */
#include "mount.h"
#include "base/limits.h"

#include <string.h>

/* Is the decoded path 'p' free of "//", "." and ".." segments and
 * control characters? A path that does not start with '/' (empty, "*")
 * matches no route anyway and is let through as it is. */
static bool
canonical(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
        if (ch != '/')
            continue;
        size_t j = i + 1;
        if (j < n && p[j] == '/')
            return false;
        size_t dots = 0;
        while (j + dots < n && p[j + dots] == '.')
            dots++;
        if ((dots == 1 || dots == 2) && (j + dots == n || p[j + dots] == '/'))
            return false;
    }
    return true;
}

/* Percent-decode the first 'n' bytes of 'raw' into 'a'; NULL when an
 * escape is malformed, encodes a separator outside a model id, or the
 * result is not canonical. */
static const char *
decode(const char *raw, size_t n, struct sy_arena *a)
{
    char *out = sy_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] != '%') {
            out[o++] = raw[i];
            continue;
        }
        if (i + 2 >= n)
            return NULL;
        int hi = sy_hexval(raw[i + 1]);
        int lo = sy_hexval(raw[i + 2]);
        if (hi < 0 || lo < 0)
            return NULL;
        char ch = (char)(hi * 16 + lo);
        /* An encoded '/' or '\\' would join segments the web server
         * (and its access rules) saw as one: only a model id, the one
         * free segment that may hold a slash, can have it. */
        if ((ch == '/' || ch == '\\') &&
            !(o > 11 && strncmp(out, "/v1/models/", 11) == 0))
            return NULL;
        out[o++] = ch;
        i += 2;
    }
    out[o] = '\0';
    return canonical(out, o) ? out : NULL;
}

/* Does 'prefix' (length 'pn') begin 'path' at a segment boundary? */
static bool
segment_prefix(const char *path, const char *prefix, size_t pn)
{
    return strncmp(path, prefix, pn) == 0 &&
           (path[pn] == '\0' || path[pn] == '/' ||
            (pn > 0 && prefix[pn - 1] == '/'));
}

enum sy_mount_how
sy_mount_path(const struct sy_mount_in *in, sy_mount_route_fn is_route,
              struct sy_arena *a, const char **out)
{
    const char *sn = in->script_name;
    const char *pi = in->path_info;
    const char *raw;
    if (in->request_uri != NULL) {
        size_t n = strcspn(in->request_uri, "?#");
        raw = sy_arena_strndup(a, in->request_uri,
                               SY_MIN(n, (size_t)SY_PATH_MAX));
    } else {
        raw = sy_arena_printf(a, "%.2048s%.2048s", sn ? sn : "", pi ? pi : "");
    }
    const char *base = in->base_path;
    size_t bn = base != NULL ? strlen(base) : 0;
    while (bn > 0 && base[bn - 1] == '/')
        bn--; /* "/llm/" is "/llm"; "/" is the root */
    if (base != NULL) {
        if (!segment_prefix(raw, base, bn)) {
            *out = sy_arena_printf(a, "(outside server.base_path %.*s) %.1024s",
                                   (int)SY_MIN(bn, (size_t)256), base, raw);
            return SY_MOUNT_OUTSIDE;
        }
        const char *rest = raw[bn] != '\0' ? raw + bn : "/";
        *out = decode(rest, strlen(rest), a);
        if (*out == NULL) {
            *out = sy_arena_printf(a, "(not canonical) %.1024s", raw);
            return SY_MOUNT_BAD;
        }
        return SY_MOUNT_BASE;
    }
    /* A REQUEST_URI that does not decode is asked as it is: lighttpd at
     * "/" splits "/v1/messages//count_tokens" into SCRIPT_NAME "/v1" and
     * PATH_INFO "/messages/count_tokens", a split of a gateway path, not
     * a mount; the path is refused (the 404 of its API), not routed. */
    /* An empty SCRIPT_NAME (or "/") names no prefix: a root mount, as
     * lighttpd's fix-root-scriptname says it; REQUEST_URI then, checked
     * as in rule 3, so that the option changes nothing but the split. */
    const char *dec = decode(raw, strlen(raw), a);
    bool root = sn == NULL || sn[0] == '\0' || strcmp(sn, "/") == 0;
    if (pi != NULL && pi[0] != '\0' && !root &&
        segment_prefix(raw, sn, strlen(sn)) &&
        (is_route == NULL || !is_route(dec != NULL ? dec : raw))) {
        size_t n = strnlen(pi, SY_PATH_MAX);
        if (pi[0] != '/' || !canonical(pi, n)) {
            *out = sy_arena_printf(a, "(not canonical) %.1024s", raw);
            return SY_MOUNT_BAD;
        }
        *out = sy_arena_strndup(a, pi, n);
        return SY_MOUNT_SPLIT;
    }
    if (dec == NULL) {
        *out = sy_arena_printf(a, "(not canonical) %.1024s", raw);
        return SY_MOUNT_BAD;
    }
    *out = dec;
    return SY_MOUNT_RAW;
}

const char *
sy_mount_base_problem(const char *base)
{
    size_t n = strlen(base);
    if (base[0] != '/')
        return "it must start with '/'";
    if (n > 256)
        return "it is longer than 256 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)base[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '%' || ch == '?' || ch == '#' ||
            ch == '\\')
            return "it may not hold spaces, control characters, '%', '?', "
                   "'#' or '\\' (write the path as the web server matches it, "
                   "unescaped)";
    }
    if (!canonical(base, n))
        return "it may not hold \"//\", \".\" or \"..\" segments";
    return NULL;
}

void
sy_mount_req(sy_mount_param_fn param, void *io, const char *base_path,
             sy_mount_route_fn is_route, struct sy_req *r)
{
    struct sy_mount_in in = {
        .request_uri = param(io, "REQUEST_URI"),
        .script_name = param(io, "SCRIPT_NAME"),
        .path_info = param(io, "PATH_INFO"),
        .base_path = base_path,
    };
    const char *path = NULL;
    sy_mount_path(&in, is_route, r->arena, &path);
    r->path = path;
}
