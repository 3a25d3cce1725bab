/*
 * fuzz_request.c - libFuzzer target for a whole caller request as the
 * FastCGI transport hands it over: fcgi/request.c (parameters, mount
 * point, CONTENT_LENGTH, the deferred body read in pieces) and then the
 * pipeline (authentication, routing, /v1/models, /healthz, /admin, chat
 * validation, needs, routing to deployments). The deployments point at
 * 127.0.0.1 port 1, which refuses connections: no traffic leaves the
 * host, and a request that gets that far fails over and is answered 502.
 *
 * Input: byte 0 = which of the parameters below are absent (bit i),
 * byte 1 = the largest piece one body read returns (0 = 256), then one
 * line per present parameter (REQUEST_METHOD, REQUEST_URI, SCRIPT_NAME,
 * PATH_INFO, CONTENT_TYPE, CONTENT_LENGTH, HTTP_AUTHORIZATION,
 * HTTP_X_REQUEST_ID), then the body. Beyond the sanitizers: the answer
 * starts with a Status line, its header lines are well-formed (no header
 * injection), its body is strict JSON (valid UTF-8), and no secret (a
 * caller key, the admin key, the provider key) is in it unless the input
 * holds it (line breaks removed and %XX decoded, as the caller's own
 * path may be echoed).
 * SPDX-License-Identifier: MIT
 */
#include "fcgi/request.c" /* static read_body and friends */

#include "fuzz.h"

#include "base/json_strict.h"
#include "base/log.h"
#include "io/upstream.h"

#define CALLER  "sk-fuzz-caller-0123456789"
#define CALLER2 "sk-fuzz-caller2-0123456789"
#define ADMIN   "sk-fuzz-admin-0123456789"
#define PROVKEY "sk-fuzz-provider-0123456789"

#define TIMEOUTS                                                         \
    "'timeouts':{'connect_ms':1000,'first_byte_ms':1000,'idle_ms':1000," \
    "'total_ms':1000}"

static const char config_text[] =
    "{'server':{'max_body_bytes':8192,'admin_key_env':'SYF_ADMIN',"
    "'body_timeout_ms':1000},"
    "'keys':{'ci':{'key_env':'SYF_CALLER','models':['one']},"
    "'all':{'key_env':'SYF_CALLER2'}},"
    "'providers':{"
    "'closed':{'type':'openai','base_url':'http://127.0.0.1:1/v1',"
    "'api_key_env':['SYF_PROVKEY']},"
    "'anth':{'type':'anthropic','base_url':'http://127.0.0.1:1/v1',"
    "'auth':'none'},"
    "'gem':{'type':'gemini','base_url':'http://127.0.0.1:1/v1beta',"
    "'auth':'none'}},"
    "'deployments':{"
    "'dep-a':{'provider':'closed','model':'a'," TIMEOUTS "},"
    "'dep-b':{'provider':'anth','model':'b'," TIMEOUTS "},"
    "'dep-c':{'provider':'gem','model':'c'," TIMEOUTS "}},"
    "'groups':{"
    "'one':{'deployments':['dep-a']},"
    "'multi':{'deployments':['dep-a','dep-b','dep-c']}}}";

static const char *const names[] = {
    "REQUEST_METHOD",     "REQUEST_URI",      "SCRIPT_NAME",
    "PATH_INFO",          "CONTENT_TYPE",     "CONTENT_LENGTH",
    "HTTP_AUTHORIZATION", "HTTP_X_REQUEST_ID"
};
#define NPARAMS (sizeof(names) / sizeof(names[0]))

static struct sy_config *cfg;
static struct sy_worker worker;
static atomic_bool draining;
static bool show; /* SY_FUZZ_SHOW=1: print each answer (debugging) */

struct fake {
    char *values[NPARAMS]; /* NULL when absent */
    const char *body;
    size_t len, at;
    size_t piece;
};

static const char *
fake_param(void *io, const char *name)
{
    struct fake *f = io;
    for (size_t i = 0; i < NPARAMS; i++)
        if (strcmp(name, names[i]) == 0)
            return f->values[i];
    return NULL;
}

static long
fake_read(void *io, char *buf, size_t n, uint64_t deadline_ms)
{
    struct fake *f = io;
    (void)deadline_ms;
    size_t k = SY_MIN(SY_MIN(n, f->piece), f->len - f->at);
    memcpy(buf, f->body + f->at, k);
    f->at += k;
    return (long)k;
}

static enum sy_err
cap_write(void *io, const char *p, size_t n)
{
    return sy_buf_append(io, p, n) == SY_OK ? SY_OK : SY_EGONE;
}

static enum sy_err
cap_flush(void *io)
{
    (void)io;
    return SY_OK;
}

static const struct sy_sink_ops cap_ops = { cap_write, cap_flush };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sy_log_set_level(SY_LOG_ERROR);
    show = getenv("SY_FUZZ_SHOW") != NULL;
    setenv("SYF_CALLER", CALLER, 1);
    setenv("SYF_CALLER2", CALLER2, 1);
    setenv("SYF_ADMIN", ADMIN, 1);
    setenv("SYF_PROVKEY", PROVKEY, 1);
    if (sy_upstream_global_init() != SY_OK)
        abort();
    char *text = sy_xstrdup(config_text);
    for (char *q = text; *q; q++)
        if (*q == '\'')
            *q = '"';
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    if (sy_config_load_string(text, strlen(text), "fuzz", &cfg, &errs) !=
        SY_OK) {
        fprintf(stderr, "fuzz: config refused:\n%s", sy_buf_cstr(&errs));
        abort();
    }
    sy_buf_free(&errs);
    free(text);
    sy_worker_init(&worker, cfg, 1, &draining);
    return 0;
}

static int
hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The input as the caller could have written a secret into it: the web
 * server joins SCRIPT_NAME and PATH_INFO and the path is %-decoded, so
 * line breaks go and %XX become bytes. Echoing that back is no leak. */
static size_t
caller_text(const uint8_t *in, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\n')
            continue;
        if (in[i] == '%' && i + 2 < n && hexval(in[i + 1]) >= 0 &&
            hexval(in[i + 2]) >= 0) {
            out[k++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
            continue;
        }
        out[k++] = (char)in[i];
    }
    return k;
}

static bool
leaks(const char *in, size_t insize, const struct sy_buf *out,
      const char *secret)
{
    size_t n = strlen(secret);
    return memmem(in, insize, secret, n) == NULL &&
           memmem(out->data, out->len, secret, n) != NULL;
}

/* Header lines are "Name: value" of visible ASCII and spaces, each ended
 * by CRLF: nothing the caller sent can start a header or end the block. */
static void
check_head(const char *h, size_t n)
{
    size_t at = 0;
    while (at < n) {
        const char *eol = memchr(h + at, '\r', n - at);
        if (eol == NULL || (size_t)(eol - h) + 1 >= n || eol[1] != '\n')
            goto bad;
        const char *colon = memchr(h + at, ':', (size_t)(eol - (h + at)));
        if (colon == NULL || colon == h + at)
            goto bad;
        for (const char *q = h + at; q < eol; q++)
            if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
                goto bad;
        at = (size_t)(eol - h) + 2;
    }
    return;
bad:
    fprintf(stderr, "fuzz: a bad response header line in:\n%.*s\n", (int)n, h);
    abort();
}

/* Every answer this config can give is one JSON document (no stream gets
 * as far as a provider), valid UTF-8 included. */
static void
check_body(const char *b, size_t n)
{
    struct sy_json_result res;
    struct json_object *o = NULL;
    if (sy_json_parse_strict(b, n, NULL, &o, &res) != SY_JSON_OK) {
        fprintf(stderr,
                "fuzz: the answer body is not JSON (%d at %zu):\n"
                "%.*s\n",
                (int)res.status, res.at, (int)SY_MIN(n, 2000u), b);
        abort();
    }
    json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = { data, size };
    unsigned absent = fz_byte(&in);
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.piece = fz_byte(&in);
    if (f.piece == 0)
        f.piece = 256;
    for (size_t i = 0; i < NPARAMS; i++) {
        if (absent & (1u << i))
            continue; /* absent: takes no line */
        const uint8_t *nl = memchr(in.p, '\n', in.n);
        size_t len = nl ? (size_t)(nl - in.p) : in.n;
        f.values[i] = fz_cstr(in.p, len);
        in.p += len + (nl != NULL);
        in.n -= len + (nl != NULL);
    }
    f.body = (const char *)in.p;
    f.len = in.n;
    struct sy_fcgi_io io = { fake_param, fake_read, NULL, &f };

    struct sy_buf out;
    sy_buf_init(&out, 4u << 20);
    struct sy_sink sink;
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sink.io = &out;
    sy_arena_reset(&worker.arena);
    sy_fcgi_serve_one(&worker, &io, &sink);

    const char *t = sy_buf_cstr(&out);
    if (show)
        fprintf(stderr, "%s\n", t);
    const char *eoh = strstr(t, "\r\n\r\n");
    if (strncmp(t, "Status: ", 8) != 0 || eoh == NULL) {
        fprintf(stderr, "fuzz: not a CGI answer:\n%.600s\n", t);
        abort();
    }
    check_head(t, (size_t)(eoh - t) + 2);
    check_body(eoh + 4, out.len - (size_t)(eoh + 4 - t));
    char *said = sy_xmalloc(size + 1);
    size_t nsaid = caller_text(data, size, said);
    if (leaks(said, nsaid, &out, CALLER) || leaks(said, nsaid, &out, CALLER2) ||
        leaks(said, nsaid, &out, ADMIN) || leaks(said, nsaid, &out, PROVKEY)) {
        fprintf(stderr, "fuzz: a secret in the answer:\n%.2000s\n", t);
        abort();
    }
    free(said);
    sy_buf_free(&out);
    for (size_t i = 0; i < NPARAMS; i++)
        free(f.values[i]);
    return 0;
}
