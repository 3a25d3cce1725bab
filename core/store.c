/*
 * store.c - the Redis connection of one thread: connect with timeouts
 * (through Sentinel when configured), commands, pipelined batches, Lua
 * scripts by SHA, publish/subscribe, and the failure gate that keeps a
 * dead or hung Redis from costing more than one timeout.
 *
 * The only file that includes hiredis; redisReply is converted into
 * struct sy_store_val (in the caller's arena) and freed here. Redis errors
 * are translated to SY_ESTORE here and nowhere else. The process must
 * ignore SIGPIPE (hiredis writes with write(2)); fcgi/server.c does.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "store.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#define STORE_MAX_ARGS 128     /* arguments of one command we build */
#define STORE_MAX_DEPTH 8      /* nesting of a converted reply */

struct sy_store_batch_cmd {
    size_t off;                           /* start in 'resp' */
    size_t len;                           /* bytes in 'resp' */
    const struct sy_store_script *script; /* EVALSHA: reload on NOSCRIPT */
};

struct script_slot {
    const struct sy_store_script *sc; /* borrowed; static in its module */
    char sha[41];                     /* hex SHA-1 of sc->source */
};

struct sy_store {
    redisContext *ctx;         /* owned; NULL while not connected */
    uint64_t ctx_epoch;        /* gate epoch when 'ctx' was opened */
    bool subscribed;           /* 'ctx' is subscribed to 'channel' */
    struct sy_store_addr addr; /* data node: from the URL, or credentials
                                  and db for Sentinel (host and port come
                                  from the sentinels) */
    struct sy_store_addr sentinels[SY_STORE_MAX_SENTINELS];
    size_t nsentinels;         /* 0: connect to 'addr' directly */
    size_t sentinel_first;     /* the sentinel that answered last */
    char master_name[128];
    char sentinel_password[256]; /* never logged */
    char *prefix;              /* owned */
    char *channel;             /* owned; subscribed channel or NULL */
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    unsigned max_errors;
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    size_t max_reply_bytes;
    struct sy_store_gate own_gate;
    struct sy_store_gate *gate; /* &own_gate or the process's shared one */
    struct script_slot scripts[SY_STORE_MAX_SCRIPTS];
    size_t nscripts;
    struct sy_store_stats stats;
    char errstr[192];          /* last failure; no secrets */
};

/* ------------------------------------------------------------------ */
/* SHA-1 (FIPS 180-1), for EVALSHA without a round trip               */

struct sha1 {
    uint32_t h[5];
    uint64_t bytes;
    unsigned char block[64];
    size_t used;
};

static uint32_t
rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void
sha1_block(struct sha1 *c, const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4];
    uint32_t cc = c->h[2];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & cc) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ cc ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rol32(b, 30);
        b = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

static void
sha1_update(struct sha1 *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->bytes += n;
    while (n > 0) {
        size_t take = SY_MIN(n, 64 - c->used);
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used == 64) {
            sha1_block(c, c->block);
            c->used = 0;
        }
    }
}

/* Hex SHA-1 of 'n' bytes at 'data' into 'out' (40 digits and a NUL). */
static void
sha1_hex(const void *data, size_t n, char out[41])
{
    struct sha1 c = {{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                      0xc3d2e1f0u},
                     0, {0}, 0};
    sha1_update(&c, data, n);
    uint64_t bits = c.bytes * 8u;
    unsigned char pad = 0x80;
    sha1_update(&c, &pad, 1);
    pad = 0;
    while (c.used != 56)
        sha1_update(&c, &pad, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(&c, len, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        unsigned char byte = (unsigned char)(c.h[i / 4] >> (24 - 8 * (i % 4)));
        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 15];
    }
    out[40] = '\0';
}

/* The SHA-1 Redis will give 'sc' (what EVALSHA needs), into 'out'. */
void
sy_store_script_sha(const struct sy_store_script *sc, char out[41])
{
    sha1_hex(sc->source, strlen(sc->source), out);
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

/* Defaults: 250 ms connect, 250 ms per command, back off after 3
 * consecutive errors (at once after a timeout) for 100 ms doubling to
 * 1 s, so shared state is back within about a second of Redis. */
void
sy_store_conf_defaults(struct sy_store_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->prefix = "sy:";
    conf->connect_timeout_ms = 250;
    conf->command_timeout_ms = 250;
    conf->max_errors = 3;
    conf->backoff_min_ms = 100;
    conf->backoff_max_ms = 1000;
    conf->max_reply_bytes = 4u << 20;
}

static void
errf(char *err, size_t errlen, const char *fmt, ...) SY_PRINTF(3, 4);

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

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

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
            int hi = hexval(s[i + 1]);
            int lo = hexval(s[i + 2]);
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
        errf(err, errlen, "rediss:// (TLS) is not supported; use a local "
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
            !pct_decode(p, (size_t)(colon - p), out->user,
                        sizeof(out->user))) {
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

void
sy_store_gate_init(struct sy_store_gate *g)
{
    atomic_init(&g->down_until_ms, 0);
    atomic_init(&g->backoff_ms, 0);
    atomic_init(&g->errors, 0);
    atomic_init(&g->epoch, 0);
}

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
sy_store_new(const struct sy_store_conf *conf, struct sy_store **out,
             char *err, size_t errlen)
{
    *out = NULL;
    struct sy_store *s = sy_xcalloc(1, sizeof(*s));
    enum sy_err e = SY_OK;
    if (conf->nsentinels > 0) {
        if (conf->nsentinels > SY_STORE_MAX_SENTINELS) {
            errf(err, errlen, "at most %d sentinels",
                 SY_STORE_MAX_SENTINELS);
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
    s->max_reply_bytes = conf->max_reply_bytes > 0 ? conf->max_reply_bytes
                                                   : (4u << 20);
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

static void
drop(struct sy_store *s)
{
    if (s->ctx != NULL)
        redisFree(s->ctx);
    s->ctx = NULL;
    s->subscribed = false;
}

/* Close the connection and free 's'. NULL-safe. */
void
sy_store_free(struct sy_store *s)
{
    if (s == NULL)
        return;
    drop(s);
    free(s->prefix);
    free(s->channel);
    free(s);
}

const char *
sy_store_prefix(const struct sy_store *s)
{
    return s->prefix;
}

/* The last failure's description (no secrets), "" when none yet. The
 * pointer is valid until the next call on 's'. */
const char *
sy_store_last_error(const struct sy_store *s)
{
    return s->errstr;
}

void
sy_store_get_stats(const struct sy_store *s, struct sy_store_stats *out)
{
    *out = s->stats;
}

/* Connected and not backing off: shared state is in use. */
bool
sy_store_is_up(const struct sy_store *s)
{
    return s->ctx != NULL && atomic_load(&s->gate->down_until_ms) == 0;
}

/* ------------------------------------------------------------------ */
/* The failure gate                                                    */

/* How long a caller that probes a dead Redis may take (connect, AUTH,
 * SELECT, ROLE and the command), during which others keep skipping. */
static uint64_t
probe_hold_ms(const struct sy_store *s)
{
    return (uint64_t)s->connect_timeout_ms + 4u * s->command_timeout_ms;
}

/* May this call touch the network? While backing off, no; when the
 * backoff is over, exactly one caller among those sharing the gate wins
 * the right to probe, and the others keep skipping until it reports. */
static bool
gate_pass(struct sy_store *s, uint64_t now_ms)
{
    struct sy_store_gate *g = s->gate;
    uint64_t until = atomic_load(&g->down_until_ms);
    if (until == 0)
        return true;
    if (now_ms < until)
        return false;
    return atomic_compare_exchange_strong(&g->down_until_ms, &until,
                                          now_ms + probe_hold_ms(s));
}

/* Redis answered: clear the error count and, if we were backing off,
 * say once that shared state is back. */
static void
gate_ok(struct sy_store *s)
{
    struct sy_store_gate *g = s->gate;
    if (atomic_load(&g->errors) != 0)
        atomic_store(&g->errors, 0);
    uint64_t until = atomic_load(&g->down_until_ms);
    if (until != 0 &&
        atomic_compare_exchange_strong(&g->down_until_ms, &until, 0)) {
        atomic_store(&g->backoff_ms, 0);
        sy_log_warn(NULL, "store: Redis is reachable again; shared state "
                          "back in use");
    }
}

/* A call failed. A timeout (dead or hung Redis: the next call would wait
 * as long), 'max_errors' errors in a row, or a failed probe start or
 * lengthen the backoff (doubling, capped). Going down bumps the epoch so
 * every thread drops its old connection before using Redis again. */
static void
gate_fail(struct sy_store *s, bool timeout)
{
    struct sy_store_gate *g = s->gate;
    uint32_t errors = atomic_fetch_add(&g->errors, 1) + 1;
    uint64_t until = atomic_load(&g->down_until_ms);
    if (!timeout && errors < s->max_errors && until == 0)
        return;
    uint32_t b = atomic_load(&g->backoff_ms);
    if (b == 0)
        b = s->backoff_min_ms;
    else
        b = b >= s->backoff_max_ms / 2 ? s->backoff_max_ms : b * 2;
    atomic_store(&g->backoff_ms, b);
    atomic_store(&g->down_until_ms, sy_now_ms() + b);
    if (until == 0) {
        atomic_fetch_add(&g->epoch, 1);
        sy_log_warn(NULL, "store: Redis unavailable (%s); degraded mode, "
                          "next try in %u ms", s->errstr, (unsigned)b);
    } else {
        sy_log_debug(NULL, "store: Redis still unavailable (%s); next try "
                           "in %u ms", s->errstr, (unsigned)b);
    }
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static struct timeval
tv_ms(uint32_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000u);
    tv.tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
    return tv;
}

/* Did the failure on 'c' come from one of our timeouts? hiredis 1.x says
 * so; 0.14 reports an I/O error with errno EAGAIN (SO_RCVTIMEO) or
 * ETIMEDOUT (connect). */
static bool
is_timeout(const redisContext *c, int saved_errno)
{
#ifdef REDIS_ERR_TIMEOUT
    if (c->err == REDIS_ERR_TIMEOUT)
        return true;
#endif
    if (c->err != REDIS_ERR_IO)
        return false;
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
        saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS)
        return true;
    return strstr(c->errstr, "temporarily unavailable") != NULL ||
           strstr(c->errstr, "timed out") != NULL;
}

/* Error replies that mean this node cannot serve us (a replica after a
 * failover, still loading, lost its master, wrong credentials): drop the
 * connection so the next one asks Sentinel again. */
static bool
node_error(const redisReply *r)
{
    static const char *const prefixes[] = {"READONLY", "LOADING",
                                           "MASTERDOWN", "NOAUTH",
                                           "WRONGPASS", "NOPERM"};
    if (r->type != REDIS_REPLY_ERROR || r->str == NULL)
        return false;
    for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(r->str, prefixes[i], n) == 0)
            return true;
    }
    return false;
}

static bool
is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Record a failure described by 'fmt' and feed the gate. */
static enum sy_err
failed(struct sy_store *s, bool timeout, const char *fmt, ...)
    SY_PRINTF(3, 4);

static enum sy_err
failed(struct sy_store *s, bool timeout, const char *fmt, ...)
{
    char msg[sizeof(s->errstr)]; /* the arguments may point into errstr */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(s->errstr, msg, sizeof(msg));
    s->stats.failures++;
    if (timeout)
        s->stats.timeouts++;
    gate_fail(s, timeout);
    return SY_ESTORE;
}

/* The connection broke during 'what': it cannot be reused (hiredis). */
static enum sy_err
ctx_failed(struct sy_store *s, const char *what, int saved_errno)
{
    bool timeout = is_timeout(s->ctx, saved_errno);
    char detail[sizeof(s->ctx->errstr)];
    memcpy(detail, s->ctx->errstr, sizeof(detail));
    detail[sizeof(detail) - 1] = '\0';
    drop(s);
    return failed(s, timeout, "%s: %s%s", what, detail,
                  timeout ? " (timeout)" : "");
}

/* Connect to host:port with our timeouts; NULL with 's->errstr' and
 * '*timeout' set on failure. */
static redisContext *
open_tcp(struct sy_store *s, const char *host, int port, bool *timeout)
{
    errno = 0;
    redisContext *c = redisConnectWithTimeout(host, port,
                                              tv_ms(s->connect_timeout_ms));
    int saved = errno;
    if (c == NULL)
        sy_oom(sizeof(redisContext));
    if (c->err == 0 &&
        redisSetTimeout(c, tv_ms(s->command_timeout_ms)) != REDIS_OK)
        saved = errno;
    if (c->err != 0) {
        *timeout = *timeout || is_timeout(c, saved);
        snprintf(s->errstr, sizeof(s->errstr), "connect %s:%d: %s", host,
                 port, c->errstr);
        redisFree(c);
        return NULL;
    }
    redisEnableKeepAlive(c);
    return c;
}

/* One command on 'c' (which may not be s->ctx yet); NULL with
 * 's->errstr' and '*timeout' set when the connection failed. */
static redisReply *
raw_call(struct sy_store *s, redisContext *c, int argc, const char **argv,
         const size_t *argvlen, bool *timeout)
{
    errno = 0;
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    int saved = errno;
    if (r == NULL) {
        *timeout = *timeout || is_timeout(c, saved);
        snprintf(s->errstr, sizeof(s->errstr), "%s: %s", argv[0],
                 c->errstr);
    }
    return r;
}

/* Copy an error reply's first line into 's->errstr' after 'what'. */
static void
note_error_reply(struct sy_store *s, const char *what, const redisReply *r)
{
    int n = (int)strcspn(r->str != NULL ? r->str : "", "\r\n");
    snprintf(s->errstr, sizeof(s->errstr), "%s: %.*s", what,
             SY_MIN(n, 150), r->str != NULL ? r->str : "");
}

/* A command on a fresh connection that must answer 'want' (a status
 * string, or NULL for any non-error reply). */
static bool
setup_call(struct sy_store *s, redisContext *c, int argc, const char **argv,
           const char *want, bool *timeout)
{
    redisReply *r = raw_call(s, c, argc, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type != REDIS_REPLY_ERROR;
    if (!ok)
        note_error_reply(s, argv[0], r);
    else if (want != NULL &&
             (r->str == NULL || strcasecmp(r->str, want) != 0)) {
        snprintf(s->errstr, sizeof(s->errstr), "%s: unexpected reply",
                 argv[0]);
        ok = false;
    }
    freeReplyObject(r);
    return ok;
}

/* AUTH and SELECT on a fresh data connection. */
static bool
hello(struct sy_store *s, redisContext *c, bool *timeout)
{
    if (s->addr.password[0] != '\0') {
        /* AUTH [user] password (the user form needs Redis 6 ACLs). */
        const char *argv[3] = {"AUTH", s->addr.user, s->addr.password};
        int argc = 3;
        if (s->addr.user[0] == '\0') {
            argv[1] = s->addr.password;
            argc = 2;
        }
        if (!setup_call(s, c, argc, argv, "OK", timeout))
            return false;
    }
    if (s->addr.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%u", s->addr.db);
        const char *argv[2] = {"SELECT", db};
        if (!setup_call(s, c, 2, argv, "OK", timeout))
            return false;
    }
    return true;
}

/* With Sentinel, confirm that the node we reached is the master (it may
 * have been demoted since the sentinel answered). */
static bool
check_master(struct sy_store *s, redisContext *c, bool *timeout)
{
    const char *argv[1] = {"ROLE"};
    redisReply *r = raw_call(s, c, 1, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, "master") == 0;
    if (!ok)
        snprintf(s->errstr, sizeof(s->errstr),
                 "the node Sentinel named for '%s' is not a master",
                 s->master_name);
    freeReplyObject(r);
    return ok;
}

/* Ask the sentinels, the last one that answered first, where the master
 * is. False with 's->errstr' set when none knows. */
static bool
resolve_master(struct sy_store *s, char *host, size_t hostlen, int *port,
               bool *timeout)
{
    s->stats.sentinel_lookups++;
    for (size_t k = 0; k < s->nsentinels; k++) {
        size_t i = (s->sentinel_first + k) % s->nsentinels;
        const struct sy_store_addr *sa = &s->sentinels[i];
        redisContext *c = open_tcp(s, sa->host, sa->port, timeout);
        if (c == NULL)
            continue;
        bool ok = true;
        if (s->sentinel_password[0] != '\0') {
            const char *auth[2] = {"AUTH", s->sentinel_password};
            ok = setup_call(s, c, 2, auth, "OK", timeout);
        }
        redisReply *r = NULL;
        if (ok) {
            const char *argv[3] = {"SENTINEL", "get-master-addr-by-name",
                                   s->master_name};
            r = raw_call(s, c, 3, argv, NULL, timeout);
            ok = false;
        }
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[0]->len < hostlen) {
            char *end;
            long p = strtol(r->element[1]->str, &end, 10);
            if (*end == '\0' && p > 0 && p <= 65535) {
                memcpy(host, r->element[0]->str, r->element[0]->len + 1);
                *port = (int)p;
                s->sentinel_first = i;
                ok = true;
            }
        }
        if (r != NULL && !ok) {
            if (r->type == REDIS_REPLY_ERROR)
                note_error_reply(s, "SENTINEL", r);
            else
                snprintf(s->errstr, sizeof(s->errstr),
                         "sentinel %s:%d does not know master '%s'",
                         sa->host, sa->port, s->master_name);
        }
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c);
        if (ok)
            return true;
    }
    return false;
}

static bool
subscribe_on(struct sy_store *s, redisContext *c, bool *timeout)
{
    const char *argv[2] = {"SUBSCRIBE", s->channel};
    redisReply *r = raw_call(s, c, 2, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, "subscribe") == 0;
    if (!ok)
        snprintf(s->errstr, sizeof(s->errstr), "SUBSCRIBE refused");
    freeReplyObject(r);
    return ok;
}

/* Open a new connection (through Sentinel when configured), authenticate,
 * select the database, and subscribe again if this store listens. */
static enum sy_err
do_connect(struct sy_store *s)
{
    drop(s);
    bool timeout = false;
    char host[256];
    int port;
    if (s->nsentinels > 0) {
        if (!resolve_master(s, host, sizeof(host), &port, &timeout))
            return failed(s, timeout, "%s", s->errstr);
    } else {
        memcpy(host, s->addr.host, sizeof(host));
        port = s->addr.port;
    }
    redisContext *c = open_tcp(s, host, port, &timeout);
    if (c == NULL)
        return failed(s, timeout, "%s", s->errstr);
    if (!hello(s, c, &timeout) ||
        (s->nsentinels > 0 && !check_master(s, c, &timeout)) ||
        (s->channel != NULL && !subscribe_on(s, c, &timeout))) {
        redisFree(c);
        return failed(s, timeout, "%s%s", s->errstr,
                      timeout ? " (timeout)" : "");
    }
    s->ctx = c;
    s->ctx_epoch = atomic_load(&s->gate->epoch);
    s->subscribed = s->channel != NULL;
    s->stats.connects++;
    sy_log_debug(NULL, "store: connected to %s:%d", host, port);
    return SY_OK;
}

/* The preamble of every call: refuse without I/O while backing off, drop
 * a connection older than the last outage, connect when needed. */
static enum sy_err
ensure(struct sy_store *s)
{
    if (!gate_pass(s, sy_now_ms())) {
        s->stats.skipped++;
        return SY_ESTORE;
    }
    if (s->ctx != NULL && s->ctx_epoch != atomic_load(&s->gate->epoch))
        drop(s);
    if (s->ctx == NULL)
        return do_connect(s);
    return SY_OK;
}

/* Connect now (and check with PING) instead of at the first call. */
enum sy_err
sy_store_connect(struct sy_store *s)
{
    if (s->channel != NULL)
        return ensure(s);
    return sy_store_commandl(s, NULL, NULL, "PING", NULL);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Copy 'r' into 'v' (arena 'a'), spending at most '*budget' bytes. */
static bool
convert(const redisReply *r, struct sy_arena *a, struct sy_store_val *v,
        size_t *budget, int depth)
{
    memset(v, 0, sizeof(*v));
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        v->type = SY_STORE_INT;
        v->i = (int64_t)r->integer;
        return true;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (r->len > *budget)
            return false;
        *budget -= r->len;
        v->type = r->type == REDIS_REPLY_STRING   ? SY_STORE_STR
                  : r->type == REDIS_REPLY_STATUS ? SY_STORE_STATUS
                                                  : SY_STORE_ERROR;
        v->str = sy_arena_strndup(a, r->str != NULL ? r->str : "", r->len);
        v->len = r->len;
        return true;
    case REDIS_REPLY_ARRAY:
        if (depth >= STORE_MAX_DEPTH ||
            r->elements > *budget / sizeof(struct sy_store_val))
            return false;
        *budget -= r->elements * sizeof(struct sy_store_val);
        v->type = SY_STORE_ARRAY;
        v->n = r->elements;
        v->elem = r->elements > 0
                      ? sy_arena_zalloc(a, r->elements * sizeof(*v->elem))
                      : NULL;
        for (size_t i = 0; i < r->elements; i++) {
            if (!convert(r->element[i], a, &v->elem[i], budget, depth + 1))
                return false;
        }
        return true;
    default:
        /* NIL, and RESP3 types we never ask for (no HELLO 3). */
        v->type = SY_STORE_NIL;
        return true;
    }
}

/* Hand reply 'r' (freed here) to the caller as '*out' in arena 'a'.
 * SY_ESTORE for an error reply ('*out' then holds it) or a reply larger
 * than max_reply_bytes ('*out' NULL). */
static enum sy_err
deliver(struct sy_store *s, redisReply *r, struct sy_arena *a,
        struct sy_store_val **out)
{
    enum sy_err e = SY_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(s, "reply", r);
        e = SY_ESTORE;
    }
    if (out != NULL && a != NULL) {
        struct sy_store_val *v = sy_arena_zalloc(a, sizeof(*v));
        size_t budget = s->max_reply_bytes;
        if (convert(r, a, v, &budget, 0)) {
            *out = v;
        } else {
            snprintf(s->errstr, sizeof(s->errstr),
                     "reply larger than %zu bytes", s->max_reply_bytes);
            e = SY_ESTORE;
        }
    }
    freeReplyObject(r);
    return e;
}

/* Account for the reply of a call on s->ctx: a broken connection or a
 * node that cannot serve us feeds the gate (and frees 'r'); anything else
 * means Redis is fine. */
static enum sy_err
settle(struct sy_store *s, redisReply *r, int saved_errno, const char *what)
{
    if (r == NULL)
        return ctx_failed(s, what, saved_errno);
    if (node_error(r)) {
        note_error_reply(s, what, r);
        freeReplyObject(r);
        drop(s);
        return failed(s, false, "%s", s->errstr);
    }
    gate_ok(s);
    return SY_OK;
}

/* One command on the connection, connecting first if needed; '*r' is the
 * reply to free on SY_OK. */
static enum sy_err
call(struct sy_store *s, int argc, const char **argv, const size_t *argvlen,
     redisReply **r)
{
    *r = NULL;
    if (s->channel != NULL) {
        snprintf(s->errstr, sizeof(s->errstr),
                 "%s on a subscribed store", argv[0]);
        return SY_EINTERNAL;
    }
    enum sy_err e = ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    errno = 0;
    redisReply *reply = redisCommandArgv(s->ctx, argc, argv, argvlen);
    e = settle(s, reply, errno, argv[0]);
    if (e == SY_OK)
        *r = reply;
    return e;
}

/* Run one command ('argc' arguments; 'argvlen' NULL for NUL-terminated
 * strings). On SY_OK '*out' (when 'out' is not NULL) is the reply in
 * arena 'a'. SY_ESTORE when Redis is unavailable (at once while backing
 * off), for an error reply (then '*out' holds it), or for a reply over
 * the size limit. */
enum sy_err
sy_store_command(struct sy_store *s, struct sy_arena *a,
                 struct sy_store_val **out, int argc, const char **argv,
                 const size_t *argvlen)
{
    if (out != NULL)
        *out = NULL;
    redisReply *r;
    enum sy_err e = call(s, argc, argv, argvlen, &r);
    if (e != SY_OK)
        return e;
    return deliver(s, r, a, out);
}

/* sy_store_command() with NUL-terminated string arguments ending with a
 * NULL, e.g. sy_store_commandl(s, a, &v, "GET", key, NULL). */
enum sy_err
sy_store_commandl(struct sy_store *s, struct sy_arena *a,
                  struct sy_store_val **out, const char *arg0, ...)
{
    const char *argv[STORE_MAX_ARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *p = arg0; p != NULL; p = va_arg(ap, const char *)) {
        if (argc == STORE_MAX_ARGS) {
            va_end(ap);
            return SY_EINTERNAL;
        }
        argv[argc++] = p;
    }
    va_end(ap);
    if (argc == 0)
        return SY_EINTERNAL;
    return sy_store_command(s, a, out, argc, argv, NULL);
}

/* Redis' clock (TIME) in milliseconds since the epoch: one clock for
 * every host of the cluster. */
enum sy_err
sy_store_time_ms(struct sy_store *s, uint64_t *out)
{
    const char *argv[1] = {"TIME"};
    redisReply *r;
    *out = 0;
    enum sy_err e = call(s, 1, argv, NULL, &r);
    if (e != SY_OK)
        return e;
    e = SY_ESTORE;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        unsigned long long sec = strtoull(r->element[0]->str, NULL, 10);
        unsigned long long usec = strtoull(r->element[1]->str, NULL, 10);
        *out = (uint64_t)sec * 1000u + (uint64_t)usec / 1000u;
        e = SY_OK;
    }
    freeReplyObject(r);
    return e;
}

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

/* ------------------------------------------------------------------ */
/* Scripts                                                             */

/* The SHA of 'sc', computed once per store. */
static const char *
script_sha(struct sy_store *s, const struct sy_store_script *sc)
{
    for (size_t i = 0; i < s->nscripts; i++) {
        if (s->scripts[i].sc == sc)
            return s->scripts[i].sha;
    }
    /* Full (more scripts than any module has): recycle the last slot. */
    struct script_slot *slot = s->nscripts < SY_STORE_MAX_SCRIPTS
                                   ? &s->scripts[s->nscripts++]
                                   : &s->scripts[SY_STORE_MAX_SCRIPTS - 1];
    slot->sc = sc;
    sy_store_script_sha(sc, slot->sha);
    return slot->sha;
}

/* SCRIPT LOAD on the current connection. A script Redis refuses (a Lua
 * syntax error) is a bug: logged loudly, SY_EINTERNAL. */
static enum sy_err
load_script(struct sy_store *s, const struct sy_store_script *sc,
            const char *sha)
{
    const char *argv[3] = {"SCRIPT", "LOAD", sc->source};
    s->stats.script_loads++;
    errno = 0;
    redisReply *r = redisCommandArgv(s->ctx, 3, argv, NULL);
    enum sy_err e = settle(s, r, errno, "SCRIPT LOAD");
    if (e != SY_OK)
        return e;
    if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(s, "SCRIPT LOAD", r);
        sy_log_error(NULL, "store: script %s does not load: %s", sc->name,
                     s->errstr);
        e = SY_EINTERNAL;
    } else if (r->type != REDIS_REPLY_STRING || strcmp(r->str, sha) != 0) {
        snprintf(s->errstr, sizeof(s->errstr),
                 "script %s: Redis computed another SHA", sc->name);
        sy_log_error(NULL, "store: %s", s->errstr);
        e = SY_EINTERNAL;
    }
    freeReplyObject(r);
    return e;
}

/* Load 'sc' now (at start-up, to find a broken script early). */
enum sy_err
sy_store_script_load(struct sy_store *s, const struct sy_store_script *sc)
{
    if (s->channel != NULL)
        return SY_EINTERNAL;
    const char *sha = script_sha(s, sc);
    enum sy_err e = ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    return load_script(s, sc, sha);
}

/* Run script 'sc' with 'nkeys' keys and 'nargs' arguments by EVALSHA;
 * when Redis does not have it (NOSCRIPT: restarted, failed over, SCRIPT
 * FLUSH), load it and run it again, once. Results as for
 * sy_store_command(); SY_EINTERNAL when the script does not load. */
enum sy_err
sy_store_eval(struct sy_store *s, const struct sy_store_script *sc,
              int nkeys, const char **keys, int nargs, const char **args,
              struct sy_arena *a, struct sy_store_val **out)
{
    if (out != NULL)
        *out = NULL;
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > STORE_MAX_ARGS)
        return SY_EINTERNAL;
    const char *argv[STORE_MAX_ARGS + 3];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = script_sha(s, sc);
    argv[2] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    int argc = 3 + nkeys + nargs;
    redisReply *r;
    enum sy_err e = call(s, argc, argv, NULL, &r);
    if (e != SY_OK)
        return e;
    if (is_noscript(r)) {
        freeReplyObject(r);
        e = load_script(s, sc, argv[1]);
        if (e != SY_OK)
            return e;
        errno = 0;
        r = redisCommandArgv(s->ctx, argc, argv, NULL);
        e = settle(s, r, errno, "EVALSHA");
        if (e != SY_OK)
            return e;
    }
    return deliver(s, r, a, out);
}

/* ------------------------------------------------------------------ */
/* Pipelined batches                                                   */

/* An empty batch whose encoded commands may take up to 'max_bytes'. */
void
sy_store_batch_init(struct sy_store_batch *b, size_t max_bytes)
{
    memset(b, 0, sizeof(*b));
    sy_buf_init(&b->resp, max_bytes);
}

void
sy_store_batch_cleanup(struct sy_store_batch *b)
{
    if (b == NULL)
        return;
    sy_buf_free(&b->resp);
    free(b->cmds);
    memset(b, 0, sizeof(*b));
}

/* Forget the commands, keep the memory. */
void
sy_store_batch_reset(struct sy_store_batch *b)
{
    sy_buf_clear(&b->resp);
    b->n = 0;
}

/* Keep only the first 'n' commands (to undo a group of appends that did
 * not fit). */
void
sy_store_batch_truncate(struct sy_store_batch *b, size_t n)
{
    if (n >= b->n)
        return;
    b->resp.len = b->cmds[n].off;
    b->resp.data[b->resp.len] = '\0';
    b->n = n;
}

static size_t
decimal_len(size_t x)
{
    size_t n = 1;
    while (x >= 10) {
        x /= 10;
        n++;
    }
    return n;
}

static enum sy_err
batch_append(struct sy_store_batch *b, int argc, const char **argv,
             const size_t *argvlen, const struct sy_store_script *script)
{
    if (argc <= 0)
        return SY_EINTERNAL;
    /* Size first, so that a batch that is full is left unchanged. */
    size_t need = 3 + decimal_len((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
        need += 1 + decimal_len(n) + 2 + n + 2;
    }
    if (b->resp.len + need > b->resp.max)
        return SY_ETOOBIG;
    size_t off = b->resp.len;
    enum sy_err e = sy_buf_printf(&b->resp, "*%d\r\n", argc);
    for (int i = 0; i < argc && e == SY_OK; i++) {
        size_t n = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
        e = sy_buf_printf(&b->resp, "$%zu\r\n", n);
        if (e == SY_OK)
            e = sy_buf_append(&b->resp, argv[i], n);
        if (e == SY_OK)
            e = sy_buf_append(&b->resp, "\r\n", 2);
    }
    if (e != SY_OK) {
        b->resp.len = off;
        if (b->resp.data != NULL)
            b->resp.data[off] = '\0';
        return e;
    }
    if (b->n == b->cap) {
        b->cap = b->cap == 0 ? 16 : b->cap * 2;
        b->cmds = sy_xrealloc(b->cmds, b->cap * sizeof(*b->cmds));
    }
    b->cmds[b->n].off = off;
    b->cmds[b->n].len = b->resp.len - off;
    b->cmds[b->n].script = script;
    b->n++;
    return SY_OK;
}

/* Append one command to 'b' ('argvlen' NULL for NUL-terminated strings).
 * SY_ETOOBIG, with 'b' unchanged, when it would pass the batch maximum. */
enum sy_err
sy_store_batch_add(struct sy_store_batch *b, int argc, const char **argv,
                   const size_t *argvlen)
{
    return batch_append(b, argc, argv, argvlen, NULL);
}

/* sy_store_batch_add() with string arguments ending with a NULL. */
enum sy_err
sy_store_batch_addl(struct sy_store_batch *b, const char *arg0, ...)
{
    const char *argv[STORE_MAX_ARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *p = arg0; p != NULL; p = va_arg(ap, const char *)) {
        if (argc == STORE_MAX_ARGS) {
            va_end(ap);
            return SY_EINTERNAL;
        }
        argv[argc++] = p;
    }
    va_end(ap);
    return batch_append(b, argc, argv, NULL, NULL);
}

/* Append an EVALSHA of 'sc'; sy_store_exec() loads the script and runs
 * the command again if Redis answers NOSCRIPT. */
enum sy_err
sy_store_batch_eval(struct sy_store_batch *b,
                    const struct sy_store_script *sc, int nkeys,
                    const char **keys, int nargs, const char **args)
{
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > STORE_MAX_ARGS)
        return SY_EINTERNAL;
    if (b->last_script != sc) {
        sy_store_script_sha(sc, b->last_sha);
        b->last_script = sc;
    }
    const char *argv[STORE_MAX_ARGS + 3];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = b->last_sha;
    argv[2] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    return batch_append(b, 3 + nkeys + nargs, argv, NULL, sc);
}

/* Read one reply of a pipeline into 'vals[i]' (when 'vals' is set). */
static enum sy_err
read_one(struct sy_store *s, struct sy_arena *a, struct sy_store_val *vals,
         size_t i, size_t *budget, redisReply **keep)
{
    void *rv = NULL;
    errno = 0;
    if (redisGetReply(s->ctx, &rv) != REDIS_OK || rv == NULL)
        return ctx_failed(s, "pipeline", errno);
    redisReply *r = rv;
    if (vals != NULL && !convert(r, a, &vals[i], budget, 0)) {
        memset(&vals[i], 0, sizeof(vals[i]));
        vals[i].type = SY_STORE_ERROR;
        vals[i].str = "ERR reply too large";
        vals[i].len = strlen(vals[i].str);
    }
    *keep = r;
    return SY_OK;
}

/* Send every command of 'b' in one write and read all the replies. On
 * SY_OK, '*replies' (when 'replies' and 'a' are set) is an array of b->n
 * values in arena 'a', in order; a command that failed inside Redis has
 * an SY_STORE_ERROR value there. EVALSHA answered NOSCRIPT is retried once
 * after loading its script. SY_ESTORE when Redis is unavailable: then
 * some commands may have run and others not. 'b' is left as it is. */
enum sy_err
sy_store_exec(struct sy_store *s, struct sy_store_batch *b,
              struct sy_arena *a, struct sy_store_val **replies)
{
    if (replies != NULL)
        *replies = NULL;
    if (b->n == 0)
        return SY_OK;
    if (s->channel != NULL)
        return SY_EINTERNAL;
    enum sy_err e = ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    struct sy_store_val *vals =
        replies != NULL && a != NULL ? sy_arena_zalloc(a, b->n * sizeof(*vals))
                                     : NULL;
    size_t budget = s->max_reply_bytes;
    if (redisAppendFormattedCommand(s->ctx, b->resp.data, b->resp.len) !=
        REDIS_OK)
        return ctx_failed(s, "pipeline", errno);
    bool *again = NULL;
    size_t nagain = 0;
    bool bad_node = false;
    char node_msg[sizeof(s->errstr)] = "";
    for (size_t i = 0; i < b->n; i++) {
        redisReply *r;
        e = read_one(s, a, vals, i, &budget, &r);
        if (e != SY_OK) {
            free(again);
            return e;
        }
        if (b->cmds[i].script != NULL && is_noscript(r)) {
            if (again == NULL)
                again = sy_xcalloc(b->n, sizeof(*again));
            again[i] = true;
            nagain++;
        } else if (node_error(r) && !bad_node) {
            bad_node = true;
            int n = (int)strcspn(r->str, "\r\n");
            snprintf(node_msg, sizeof(node_msg), "pipeline: %.*s",
                     SY_MIN(n, 150), r->str);
        }
        freeReplyObject(r);
    }
    if (bad_node) {
        free(again);
        drop(s);
        return failed(s, false, "%s", node_msg);
    }
    if (nagain > 0) {
        /* Load each missing script once, then send those commands again,
         * in their order. */
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            if (!again[i])
                continue;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = again[j] && b->cmds[j].script == b->cmds[i].script;
            if (!seen)
                e = load_script(s, b->cmds[i].script,
                                script_sha(s, b->cmds[i].script));
        }
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            if (again[i] &&
                redisAppendFormattedCommand(s->ctx,
                                            b->resp.data + b->cmds[i].off,
                                            b->cmds[i].len) != REDIS_OK)
                e = ctx_failed(s, "pipeline", errno);
        }
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            redisReply *r;
            if (!again[i])
                continue;
            e = read_one(s, a, vals, i, &budget, &r);
            if (e == SY_OK)
                freeReplyObject(r);
        }
        free(again);
        if (e != SY_OK)
            return e;
    }
    gate_ok(s);
    if (replies != NULL)
        *replies = vals;
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Publish/subscribe                                                   */

/* Make 's' a subscriber of 'channel' (a full name: add the prefix
 * yourself). From now on 's' only reads messages; it subscribes again by
 * itself after every reconnection (messages sent in between are lost:
 * refresh the state you follow when sy_store_stats.connects moves). The
 * subscription is remembered even when this first attempt fails. */
enum sy_err
sy_store_subscribe(struct sy_store *s, const char *channel)
{
    free(s->channel);
    s->channel = sy_xstrdup(channel);
    drop(s);
    return ensure(s);
}

/* Wait up to 'timeout_ms' for one message on the subscribed channel. On
 * SY_OK '*msg' is NULL when none came, else the payload ('*msglen'
 * bytes, NUL-terminated) and '*channel' its channel, both in arena 'a'.
 * SY_ESTORE when the connection failed or the store is backing off (the
 * caller sleeps a little and calls again; reconnection is automatic). */
enum sy_err
sy_store_read_message(struct sy_store *s, uint32_t timeout_ms,
                      struct sy_arena *a, const char **channel,
                      const char **msg, size_t *msglen)
{
    *channel = NULL;
    *msg = NULL;
    *msglen = 0;
    if (s->channel == NULL)
        return SY_EINTERNAL;
    enum sy_err e = ensure(s);
    if (e != SY_OK)
        return e;
    void *rv = NULL;
    if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
        return ctx_failed(s, "read", errno);
    if (rv == NULL) {
        struct pollfd pfd = {.fd = s->ctx->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)SY_MIN(timeout_ms, (uint32_t)INT_MAX));
        if (n <= 0)
            return SY_OK;
        errno = 0;
        if (redisBufferRead(s->ctx) != REDIS_OK)
            return ctx_failed(s, "read", errno);
        if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
            return ctx_failed(s, "read", errno);
        if (rv == NULL)
            return SY_OK;
    }
    gate_ok(s);
    redisReply *r = rv;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "message") == 0 &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING &&
        r->element[2]->len <= s->max_reply_bytes) {
        *channel = sy_arena_strndup(a, r->element[1]->str,
                                    r->element[1]->len);
        *msg = sy_arena_strndup(a, r->element[2]->str, r->element[2]->len);
        *msglen = r->element[2]->len;
    }
    freeReplyObject(r);
    return SY_OK;
}
