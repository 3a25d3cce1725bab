/*
 * mock_parse.c - HTTP/1.1 request head parser of the mock LLM provider:
 * request line, header fields, Content-Length, Transfer-Encoding,
 * Connection and Expect, with the limits of mock_llm.h, and lookups of
 * header fields and query parameters for the dialects. Pure functions of
 * their input (no sockets, no allocation), so they can be fuzzed alone;
 * mock_conn.c feeds the parser the bytes of a connection.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <string.h>

/* Is "c" a token character (RFC 9110 tchar)? */
static bool
parse_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does the header name "n" ("len" bytes) equal "lower" ignoring case? */
static bool
parse_name_is(const char *n, size_t len, const char *lower)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char ch = n[i];

        if (ch >= 'A' && ch <= 'Z') {
            ch = (char)(ch - 'A' + 'a');
        }
        if (lower[i] == '\0' || ch != lower[i]) {
            return false;
        }
    }
    return lower[len] == '\0';
}

/* Does the comma separated list "v" hold the token "lower"? */
static bool
parse_has_token(const char *v, size_t len, const char *lower)
{
    size_t i = 0;

    while (i < len) {
        size_t start;
        size_t end;

        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        start = i;
        while (i < len && v[i] != ',') {
            i++;
        }
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
            end--;
        }
        if (end > start && parse_name_is(v + start, end - start, lower)) {
            return true;
        }
    }
    return false;
}

/* Where the head ends (just after the empty line) within "p", or 0.
 * "*scan" remembers how far the search got. */
static size_t
parse_head_end(const char *p, size_t avail, size_t *scan)
{
    size_t i;

    for (i = *scan; i < avail; i++) {
        if (p[i] != '\n') {
            continue;
        }
        if (i + 1 < avail && p[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < avail && p[i + 1] == '\r' && p[i + 2] == '\n') {
            return i + 3;
        }
    }
    *scan = avail > 2 ? avail - 2 : 0;
    return 0;
}

/* Per-request facts the header loop collects. */
struct parse_info {
    long long content_length; /* -1 when absent */
    bool has_te;
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
};

/* Parse header lines [p, end) into "headers" (SY_MOCK_MAX_HEADERS) and
 * "info"; 0 or an error status with "*msg". */
static int
parse_headers(const char *p, const char *end, struct sy_mock_header *headers,
              size_t *n_headers, struct parse_info *info, const char **msg)
{
    size_t n = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol;
        const char *colon;
        const char *v;
        const char *ve;

        if (le > p && le[-1] == '\r') {
            le--;
        }
        if (le == p) {
            break;
        }
        colon = memchr(p, ':', (size_t)(le - p));
        *msg = "malformed header line";
        if (colon == NULL || colon == p) {
            return 400;
        }
        for (v = p; v < colon; v++) {
            if (!parse_is_tchar(*v)) {
                return 400;
            }
        }
        v = colon + 1;
        ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) {
            v++;
        }
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }
        if (n == SY_MOCK_MAX_HEADERS) {
            *msg = "too many header fields";
            return 431;
        }
        headers[n].name = p;
        headers[n].name_len = (size_t)(colon - p);
        headers[n].value = v;
        headers[n].value_len = (size_t)(ve - v);
        if (parse_name_is(p, (size_t)(colon - p), "content-length")) {
            long long cl = 0;
            const char *d;

            *msg = "invalid Content-Length";
            if (v == ve || ve - v > 15) {
                return 400;
            }
            for (d = v; d < ve; d++) {
                if (*d < '0' || *d > '9') {
                    return 400;
                }
                cl = cl * 10 + (*d - '0');
            }
            if (info->content_length >= 0 && info->content_length != cl) {
                return 400;
            }
            info->content_length = cl;
        } else if (parse_name_is(p, (size_t)(colon - p), "transfer-encoding")) {
            info->has_te = true;
        } else if (parse_name_is(p, (size_t)(colon - p), "connection")) {
            info->conn_close |= parse_has_token(v, (size_t)(ve - v), "close");
            info->conn_keep_alive |=
                parse_has_token(v, (size_t)(ve - v), "keep-alive");
        } else if (parse_name_is(p, (size_t)(colon - p), "expect")) {
            info->expect_continue |=
                parse_has_token(v, (size_t)(ve - v), "100-continue");
        }
        n++;
        p = eol + 1;
    }
    *n_headers = n;
    return 0;
}

/*
 * Parse the request head at "p" ("avail" bytes, starting at the request
 * line). "*scan" carries the search for the end of the head between
 * calls on the same, growing bytes (set it to 0 when they move).
 * SY_MOCK_PARSE_HEAD: the head is complete; "req" gets method, path,
 * query, head and headers (all borrowed from "p", "path" and "headers":
 * "path" has room for SY_MOCK_MAX_PATH + 1 bytes, "headers" for
 * SY_MOCK_MAX_HEADERS), "out" the body length and connection facts; the
 * body may still be incomplete. SY_MOCK_PARSE_ERROR: out->status and
 * out->message say why. SY_MOCK_PARSE_MORE: the head is incomplete.
 */
enum sy_mock_parse_res
sy_mock_parse_head(const char *p, size_t avail, size_t *scan, char *path,
                   struct sy_mock_header *headers, struct sy_mock_req *req,
                   struct sy_mock_parse *out)
{
    struct parse_info info = { -1, false, false, false, false };
    const char *eol;
    const char *sp;
    size_t head;
    size_t i;
    size_t target_len;

    memset(out, 0, sizeof(*out));
    out->status = 400;
    out->message = "malformed request";
    head = parse_head_end(p, avail, scan);
    if (head == 0 || head > SY_MOCK_MAX_HEAD) {
        if (avail <= SY_MOCK_MAX_HEAD) {
            return SY_MOCK_PARSE_MORE;
        }
        out->status = 431;
        out->message = "request head larger than 64 KiB";
        return SY_MOCK_PARSE_ERROR;
    }
    eol = memchr(p, '\n', head);

    /* request line: METHOD SP target SP HTTP/1.x */
    for (i = 0; i < sizeof(req->method) - 1 && parse_is_tchar(p[i]); i++) {
        req->method[i] = p[i];
    }
    req->method[i] = '\0';
    if (i == 0 || p[i] != ' ' || p[i + 1] != '/') {
        return SY_MOCK_PARSE_ERROR;
    }
    sp = memchr(p + i + 1, ' ', (size_t)(eol - (p + i + 1)));
    if (sp == NULL) {
        return SY_MOCK_PARSE_ERROR;
    }
    target_len = (size_t)(sp - (p + i + 1));
    if (target_len > SY_MOCK_MAX_PATH) {
        out->status = 414;
        out->message = "request target too long";
        return SY_MOCK_PARSE_ERROR;
    }
    memcpy(path, p + i + 1, target_len);
    path[target_len] = '\0';
    for (i = 0; i < target_len; i++) {
        if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f) {
            return SY_MOCK_PARSE_ERROR;
        }
    }
    if (eol - sp < 9 || memcmp(sp + 1, "HTTP/1.", 7) != 0 ||
        (sp[8] != '0' && sp[8] != '1') ||
        !(sp + 9 == eol || (sp + 10 == eol && sp[9] == '\r'))) {
        if (eol - sp >= 6 && memcmp(sp + 1, "HTTP/", 5) == 0) {
            out->status = 505;
            out->message = "only HTTP/1.0 and HTTP/1.1 are supported";
        }
        return SY_MOCK_PARSE_ERROR;
    }
    out->http10 = sp[8] == '0';
    out->status = parse_headers(eol + 1, p + head, headers, &req->n_headers,
                                &info, &out->message);
    if (out->status != 0) {
        return SY_MOCK_PARSE_ERROR;
    }
    if (info.has_te) {
        out->status = 411;
        out->message = "chunked request bodies are not supported; "
                       "send Content-Length";
        return SY_MOCK_PARSE_ERROR;
    }
    if (info.content_length > SY_MOCK_MAX_BODY) {
        out->status = 413;
        out->message = "request body larger than 8 MiB";
        return SY_MOCK_PARSE_ERROR;
    }
    out->head_len = head;
    out->body_len = info.content_length > 0 ? (size_t)info.content_length : 0;
    out->expect_continue = info.expect_continue;
    out->keep_alive = out->http10 ? info.conn_keep_alive && !info.conn_close
                                  : !info.conn_close;
    req->query = "";
    for (i = 0; i < target_len; i++) {
        if (path[i] == '?') {
            path[i] = '\0';
            req->query = path + i + 1;
            break;
        }
    }
    req->path = path;
    req->head = p;
    req->head_len = head;
    req->headers = headers;
    return SY_MOCK_PARSE_HEAD;
}

/*
 * The value of the first header field of "req" named "lower" (a lowercase
 * name), or NULL when there is none. "*len" gets the value's length; the
 * value is borrowed from the request and not NUL-terminated.
 */
const char *
sy_mock_req_header(const struct sy_mock_req *req, const char *lower,
                   size_t *len)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++) {
        const struct sy_mock_header *h = &req->headers[i];

        if (parse_name_is(h->name, h->name_len, lower)) {
            *len = h->value_len;
            return h->value;
        }
    }
    *len = 0;
    return NULL;
}

/* Does the query string of "req" hold the parameter "param" ("name=value"
 * or "name", compared byte for byte, no percent-decoding)? */
bool
sy_mock_req_query_has(const struct sy_mock_req *req, const char *param)
{
    const char *p = req->query;
    size_t n = strlen(param);

    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);

        if (len == n && memcmp(p, param, n) == 0) {
            return true;
        }
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    return false;
}
