/*
 * store_conf.c - configuration of a Redis store: defaults, the mapping
 * from the config's "state" section, parsing of "redis://" URLs and
 * sentinel "host:port" addresses, and sy_store_new(),
 * which validates a conf into a store that is not connected yet. No I/O
 * and no hiredis: connecting is store.c, batches store_batch.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"
#include "store_int.h"
#include "base/mem.h"
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

/* Defaults: the config's "state" defaults (SY_STATE_DEFAULT_*: 200 ms
 * connect, 200 ms per command, prefix "sy:"), back off after 3
 * consecutive errors (at once after a timeout) for 100 ms doubling to
 * 1 s, so shared state is back within about a second of Redis. No
 * address: set 'url' or the sentinels. */
void
sy_store_conf_defaults(struct sy_store_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->prefix = SY_STATE_DEFAULT_PREFIX;
    conf->connect_timeout_ms = SY_STATE_DEFAULT_TIMEOUT_MS;
    conf->command_timeout_ms = SY_STATE_DEFAULT_TIMEOUT_MS;
    conf->max_errors = 3;
    conf->backoff_min_ms = 100;
    conf->backoff_max_ms = 1000;
    conf->max_reply_bytes = SY_STORE_REPLY_MAX;
}

/* The store settings of a loaded config's "state" section 'sc' (the one
 * mapping from config to store, for the gateway and the CLI alike): its
 * Redis URL or sentinels, master name, key prefix and timeouts; the rest
 * as sy_store_conf_defaults(). 'conf' borrows the strings of 'sc'. A
 * caller with other needs (a CLI reading much at once waits longer)
 * changes fields afterwards. */
void
sy_store_conf_from_state(struct sy_store_conf *conf,
                         const struct sy_state_conf *sc)
{
    sy_store_conf_defaults(conf);
    conf->url = sc->redis_url;
    conf->sentinels = sc->sentinels;
    conf->nsentinels = sc->nsentinels;
    conf->master_name = sc->master;
    conf->prefix = sc->prefix;
    conf->connect_timeout_ms = sc->connect_timeout_ms;
    conf->command_timeout_ms = sc->command_timeout_ms;
}

/* Format a message into 'err' ('errlen' bytes); nothing when 'err' is
 * NULL. */
static void errf(char *err, size_t errlen, const char *fmt, ...)
    SY_PRINTF(3, 4);

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Addresses: redis:// URLs and host:port                              */

/* Percent-decode 'n' bytes of 's' into 'out'; false when malformed or
 * too long. */
static bool
pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = sy_hexval(s[i + 1]);
            int lo = sy_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Parse "host", "host:port", "[v6]" or "[v6]:port" ('n' bytes at 's')
 * into 'out'; 'port' when none is given. */
static enum sy_err
parse_hostport_n(const char *s, size_t n, int port_default,
                 struct sy_store_addr *out, char *err, size_t errlen)
{
    const char *host = s;
    size_t hostlen;
    const char *rest;
    const char *end = s + n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            errf(err, errlen, "unclosed '[' in the host");
            return SY_EBADREQ;
        }
        host = s + 1;
        hostlen = (size_t)(close - host);
        rest = close + 1;
        if (rest < end && *rest != ':') {
            errf(err, errlen, "junk after ']' in the host");
            return SY_EBADREQ;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hostlen = colon != NULL ? (size_t)(colon - s) : n;
        rest = s + hostlen;
    }
    if (hostlen == 0) {
        errf(err, errlen, "the host is empty");
        return SY_EBADREQ;
    }
    if (hostlen >= sizeof(out->host)) {
        errf(err, errlen, "the host name is too long");
        return SY_EBADREQ;
    }
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->port = port_default;
    if (rest < end) {
        /* ":port" */
        rest++;
        long port = 0;
        if (rest == end) {
            errf(err, errlen, "empty port after ':'");
            return SY_EBADREQ;
        }
        for (const char *p = rest; p < end; p++) {
            if (*p < '0' || *p > '9' || port > 65535) {
                errf(err, errlen, "the port must be a number 1-65535");
                return SY_EBADREQ;
            }
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) {
            errf(err, errlen, "the port must be a number 1-65535");
            return SY_EBADREQ;
        }
        out->port = (int)port;
    }
    return SY_OK;
}

/* Parse a sentinel address "host[:port]" (port 26379 when absent) or any
 * "host:port" into 'out' (credentials and db cleared). SY_EBADREQ with a
 * message in 'err' when malformed. */
enum sy_err
sy_store_parse_hostport(const char *s, struct sy_store_addr *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    return parse_hostport_n(s, strlen(s), 26379, out, err, errlen);
}

/* Parse "redis://[[user]:password@]host[:port][/db]" into 'out'. The user
 * and password may be percent-encoded. "rediss://" (TLS) and other
 * schemes are refused. SY_EBADREQ with a message in 'err' (never
 * containing the password) when malformed. */
enum sy_err
sy_store_parse_url(const char *url, struct sy_store_addr *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof(*out));
    static const char scheme[] = "redis://";
    if (strncasecmp(url, "rediss://", 9) == 0) {
        errf(err, errlen,
             "rediss:// (TLS) is not supported; use a local "
             "TLS tunnel or redis://");
        return SY_EBADREQ;
    }
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        errf(err, errlen, "a Redis URL starts with redis://");
        return SY_EBADREQ;
    }
    const char *p = url + sizeof(scheme) - 1;
    const char *slash = strchr(p, '/');
    const char *auth_end = NULL;
    /* The last '@' before the path separates the credentials. */
    for (const char *q = p; *q != '\0' && (slash == NULL || q < slash); q++) {
        if (*q == '@')
            auth_end = q;
    }
    if (auth_end != NULL) {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        if (colon == NULL) {
            /* "redis://password@host" is a common mistake; accept it as
             * a password like redis-cli does. */
            colon = p - 1;
        }
        if (colon >= p &&
            !pct_decode(p, (size_t)(colon - p), out->user, sizeof(out->user))) {
            errf(err, errlen, "bad user name in the Redis URL");
            return SY_EBADREQ;
        }
        if (!pct_decode(colon + 1, (size_t)(auth_end - colon - 1),
                        out->password, sizeof(out->password))) {
            errf(err, errlen, "bad password encoding in the Redis URL");
            return SY_EBADREQ;
        }
        p = auth_end + 1;
    }
    size_t hostlen = slash != NULL ? (size_t)(slash - p) : strlen(p);
    enum sy_err e = parse_hostport_n(p, hostlen, 6379, out, err, errlen);
    if (e != SY_OK)
        return e;
    if (slash != NULL && slash[1] != '\0') {
        char *end;
        errno = 0;
        unsigned long db = strtoul(slash + 1, &end, 10);
        if (errno != 0 || *end != '\0' || slash[1] < '0' || slash[1] > '9' ||
            db > 1000000) {
            errf(err, errlen, "the database after '/' must be a number");
            return SY_EBADREQ;
        }
        out->db = (unsigned)db;
    }
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* A new store                                                         */

/* Copy 'src' ("" when NULL) into 'dst'; false when it does not fit. */
static bool
copy_str(char *dst, size_t dstlen, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return true;
    }
    size_t n = strlen(src);
    if (n >= dstlen)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Create a store from 'conf' (copied; 'conf->gate' is borrowed). Does not
 * connect: the first call does, or sy_store_connect(). SY_EBADREQ with a
 * message in 'err' when the configuration is invalid; '*out' is then
 * NULL. Free with sy_store_free(). */
enum sy_err
sy_store_new(const struct sy_store_conf *conf, struct sy_store **out, char *err,
             size_t errlen)
{
    *out = NULL;
    struct sy_store *s = sy_xcalloc(1, sizeof(*s));
    enum sy_err e = SY_OK;
    if (conf->nsentinels > 0) {
        if (conf->nsentinels > SY_STORE_MAX_SENTINELS) {
            errf(err, errlen, "at most %d sentinels", SY_STORE_MAX_SENTINELS);
            e = SY_EBADREQ;
            goto out;
        }
        for (size_t i = 0; i < conf->nsentinels; i++) {
            char msg[128];
            e = sy_store_parse_hostport(conf->sentinels[i], &s->sentinels[i],
                                        msg, sizeof(msg));
            if (e != SY_OK) {
                errf(err, errlen, "sentinel %zu: %s", i + 1, msg);
                goto out;
            }
        }
        s->nsentinels = conf->nsentinels;
        if (conf->master_name == NULL || conf->master_name[0] == '\0' ||
            !copy_str(s->master_name, sizeof(s->master_name),
                      conf->master_name)) {
            errf(err, errlen, "sentinels need a master name (1-127 bytes)");
            e = SY_EBADREQ;
            goto out;
        }
        if (!copy_str(s->addr.user, sizeof(s->addr.user), conf->username) ||
            !copy_str(s->addr.password, sizeof(s->addr.password),
                      conf->password) ||
            !copy_str(s->sentinel_password, sizeof(s->sentinel_password),
                      conf->sentinel_password)) {
            errf(err, errlen, "user name or password too long");
            e = SY_EBADREQ;
            goto out;
        }
        s->addr.db = conf->db;
    } else if (conf->url != NULL) {
        e = sy_store_parse_url(conf->url, &s->addr, err, errlen);
        if (e != SY_OK)
            goto out;
    } else {
        errf(err, errlen, "neither a Redis URL nor sentinels");
        e = SY_EBADREQ;
        goto out;
    }
    if (conf->connect_timeout_ms == 0 || conf->command_timeout_ms == 0) {
        errf(err, errlen, "Redis timeouts must be above 0 ms");
        e = SY_EBADREQ;
        goto out;
    }
    s->prefix = sy_xstrdup(conf->prefix != NULL ? conf->prefix : "");
    s->connect_timeout_ms = conf->connect_timeout_ms;
    s->command_timeout_ms = conf->command_timeout_ms;
    s->max_errors = conf->max_errors > 0 ? conf->max_errors : 1;
    s->backoff_min_ms = conf->backoff_min_ms > 0 ? conf->backoff_min_ms : 1;
    s->backoff_max_ms = SY_MAX(conf->backoff_max_ms, s->backoff_min_ms);
    s->max_reply_bytes =
        conf->max_reply_bytes > 0 ? conf->max_reply_bytes : SY_STORE_REPLY_MAX;
    sy_store_gate_init(&s->own_gate);
    s->gate = conf->gate != NULL ? conf->gate : &s->own_gate;
    s->ctx_epoch = atomic_load(&s->gate->epoch);
out:
    if (e != SY_OK) {
        sy_store_free(s);
        return e;
    }
    *out = s;
    return SY_OK;
}
