/*
 * jsonschema_rx.c - the patterns of the JSON Schema validator: translates
 * ECMA-262 patterns (what JSON Schema specifies) into POSIX extended
 * regular expressions, compiles them, and keeps up to RX_CACHE compiled
 * patterns per validation call. Used by jsonschema.c ("pattern",
 * "patternProperties") and jsonschema_check.c; see jsonschema_int.h.
 *
 * Pattern dialect: JSON Schema patterns are ECMA-262; we translate them to
 * POSIX ERE (regcomp with REG_EXTENDED in the C.UTF-8 locale, so '.' and
 * bracket expressions match code points). Supported: literals, '.', [...]
 * (with \d \w \s inside), \d \D \w \W \s \S, \t \n \r \f \v, \xHH,
 * \uHHHH, escaped punctuation, groups, (?:...) and (?<name>...) (as plain
 * groups), alternation, ^ $, * + ? {m} {m,} {m,n} and their lazy forms
 * (laziness cannot change whether a pattern matches). Refused, so that a
 * schema never silently means something else: lookaround, \b \B,
 * backreferences, \p{...}, flags groups, [] and [^], \D \W \S inside [...],
 * repetition counts over 1000, and patterns whose expansion is too big.
 * Differences left: '.' also matches a newline, and \w \d \s are ASCII.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"
#include "mem.h"

#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX_COST 20000  /* estimated size of the expanded automaton */
#define RX_MAX_GROUPS 32   /* nesting of (...) */
#define RX_MAX_REPEAT 1000 /* largest {m,n} count */

/* One compiled pattern of the cache (struct vctx 'rx'). */
struct rx_entry {
    const char *src; /* borrowed from the schema: the cache key */
    regex_t re;
};

/* ------------------------------------------------------------------ */
/* Translation: ECMA-262 to POSIX ERE                                  */

struct rx_out {
    char *p; /* owned by the caller of rx_translate */
    size_t len;
    size_t cap;
};

struct rx_tr {
    const unsigned char *s; /* the ECMA pattern */
    size_t n;
    size_t i;
    struct rx_out o;   /* the ERE */
    struct rx_out tmp; /* body of a bracket expression */
    const char *why;   /* static, on failure */
    size_t cur;        /* cost of the current branch of this group */
    size_t alt;        /* cost of the closed branches of this group */
    size_t last;       /* cost of the last atom; 0: nothing to repeat */
    bool after_quant;  /* a following '?' makes it lazy */
    size_t stack[RX_MAX_GROUPS][2];
    unsigned top;
};

static bool
rx_put(struct rx_out *o, const void *p, size_t n)
{
    if (o->len + n + 1 > o->cap)
        return false;
    memcpy(o->p + o->len, p, n);
    o->len += n;
    o->p[o->len] = '\0';
    return true;
}

static bool
rx_bad(struct rx_tr *t, const char *why)
{
    t->why = why;
    return false;
}

static size_t
utf8_enc(uint32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the UTF-8 sequence at s[i] (1 for a stray byte), and its
 * code point. */
static size_t
utf8_dec(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
    unsigned char b = s[i];
    size_t len = b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    if (i + len > n)
        len = 1;
    uint32_t v = len == 1 ? b : (uint32_t)(b & (0x3f >> (len - 1)));
    for (size_t k = 1; k < len; k++)
        v = (v << 6) | (s[i + k] & 0x3f);
    *cp = v;
    return len;
}

enum { RX_BAD, RX_CHAR, RX_CLASS };

static int
rx_fail(struct rx_tr *t, const char *why)
{
    t->why = why;
    return RX_BAD;
}

/* An escape after '\': a character ('cp') or a class letter ('cls'). */
static int
rx_escape(struct rx_tr *t, uint32_t *cp, char *cls)
{
    if (t->i >= t->n)
        return rx_fail(t, "a trailing backslash");
    unsigned char ch = t->s[t->i];
    if (ch >= 0x80) {
        t->i += utf8_dec(t->s, t->n, t->i, cp);
        return RX_CHAR;
    }
    t->i++;
    switch (ch) {
    case 't':
        *cp = '\t';
        return RX_CHAR;
    case 'n':
        *cp = '\n';
        return RX_CHAR;
    case 'r':
        *cp = '\r';
        return RX_CHAR;
    case 'f':
        *cp = '\f';
        return RX_CHAR;
    case 'v':
        *cp = '\v';
        return RX_CHAR;
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S':
        *cls = (char)ch;
        return RX_CLASS;
    case 'x':
    case 'u': {
        size_t digits = ch == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (size_t k = 0; k < digits; k++) {
            int h = t->i < t->n ? jsonschema_hexval(t->s[t->i]) : -1;
            if (h < 0)
                return rx_fail(t, "a malformed \\x or \\u escape");
            v = (v << 4) | (uint32_t)h;
            t->i++;
        }
        if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
            return rx_fail(t, "NUL and surrogate escapes are not supported");
        *cp = v;
        return RX_CHAR;
    }
    case 'b':
    case 'B':
        return rx_fail(t, "\\b and \\B are not supported");
    default:
        break;
    }
    if (ch >= '0' && ch <= '9')
        return rx_fail(t, "backreferences are not supported");
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch < 0x20)
        return rx_fail(t, "an unsupported escape");
    *cp = ch; /* escaped punctuation */
    return RX_CHAR;
}

/* One literal character outside brackets. */
static bool
rx_emit_char(struct rx_tr *t, uint32_t cp)
{
    char b[4];
    if (cp < 0x80 && strchr(".[\\()*+?{|^$", (int)cp) != NULL &&
        !rx_put(&t->o, "\\", 1))
        return rx_bad(t, "too long");
    if (!rx_put(&t->o, b, utf8_enc(cp, b)))
        return rx_bad(t, "too long");
    return true;
}

static bool
rx_cost(struct rx_tr *t)
{
    if (t->cur + t->alt > RX_MAX_COST)
        return rx_bad(t, "too large once expanded");
    return true;
}

static bool
rx_atom(struct rx_tr *t, size_t cost)
{
    t->cur += cost;
    t->last = cost;
    t->after_quant = false;
    return rx_cost(t);
}

static bool
rx_quant(struct rx_tr *t, const char *q, size_t copies)
{
    if (t->last == 0)
        return rx_bad(t, "a quantifier with nothing to repeat");
    t->cur += t->last * (copies > 1 ? copies - 1 : 0) + 1;
    t->last = 0;
    t->after_quant = true;
    if (!rx_put(&t->o, q, strlen(q)))
        return rx_bad(t, "too long");
    return rx_cost(t);
}

/* One item of a bracket expression: RX_CHAR with its UTF-8 bytes in
 * 'b'/'*blen', or RX_CLASS. */
static int
rx_class_atom(struct rx_tr *t, uint32_t *cp, char *cls, char *b,
              size_t *blen)
{
    if (t->s[t->i] == '\\') {
        t->i++;
        int r = rx_escape(t, cp, cls);
        if (r == RX_CHAR)
            *blen = utf8_enc(*cp, b);
        return r;
    }
    size_t len = utf8_dec(t->s, t->n, t->i, cp);
    memcpy(b, t->s + t->i, len);
    *blen = len;
    t->i += len;
    return RX_CHAR;
}

/* A bracket expression; t->i is just past '['. POSIX has no escapes
 * inside brackets, so ']' goes first, '-' last, '^' not first, '['
 * never before ':', '.' or '='. */
static bool
rx_bracket(struct rx_tr *t)
{
    bool neg = false, rb = false, dash = false, caret = false, lb = false;
    t->tmp.len = 0;
    if (t->i < t->n && t->s[t->i] == '^') {
        neg = true;
        t->i++;
    }
    if (t->i < t->n && t->s[t->i] == ']')
        return rx_bad(t, "[] and [^] are not supported");
    for (;;) {
        if (t->i >= t->n)
            return rx_bad(t, "an unterminated [");
        if (t->s[t->i] == ']') {
            t->i++;
            break;
        }
        uint32_t lo, hi;
        char cls = 0, cls2 = 0, b[4], b2[4];
        size_t blen = 0, blen2 = 0;
        int r = rx_class_atom(t, &lo, &cls, b, &blen);
        if (r == RX_BAD)
            return false;
        if (r == RX_CHAR && t->i + 1 < t->n && t->s[t->i] == '-' &&
            t->s[t->i + 1] != ']') {
            t->i++;
            int r2 = rx_class_atom(t, &hi, &cls2, b2, &blen2);
            if (r2 == RX_BAD)
                return false;
            if (r2 == RX_CLASS)
                return rx_bad(t, "a class escape as a range end");
            if (hi < lo)
                return rx_bad(t, "a range out of order");
            if ((lo < 0x80 && strchr("]-[^", (int)lo) != NULL) ||
                (hi < 0x80 && strchr("]-[^", (int)hi) != NULL))
                return rx_bad(t, "a range that starts or ends with ] - [ ^");
            if (!rx_put(&t->tmp, b, blen) || !rx_put(&t->tmp, "-", 1) ||
                !rx_put(&t->tmp, b2, blen2))
                return rx_bad(t, "too long");
            continue;
        }
        if (r == RX_CLASS) {
            const char *body = cls == 'd'   ? "0-9"
                               : cls == 'w' ? "A-Za-z0-9_"
                               : cls == 's' ? "[:space:]"
                                            : NULL;
            if (body == NULL)
                return rx_bad(t, "\\D \\W \\S inside [...] are not supported");
            if (!rx_put(&t->tmp, body, strlen(body)))
                return rx_bad(t, "too long");
            continue;
        }
        if (lo == ']')
            rb = true;
        else if (lo == '-')
            dash = true;
        else if (lo == '^')
            caret = true;
        else if (lo == '[')
            lb = true;
        else if (!rx_put(&t->tmp, b, blen))
            return rx_bad(t, "too long");
    }
    if (caret && !neg && !rb && !lb && t->tmp.len == 0 && !dash)
        return rx_emit_char(t, '^') && rx_atom(t, 1); /* just [\^] */
    bool ok = rx_put(&t->o, neg ? "[^" : "[", neg ? 2 : 1) &&
              (!rb || rx_put(&t->o, "]", 1)) &&
              rx_put(&t->o, t->tmp.p, t->tmp.len) &&
              (!lb || rx_put(&t->o, "[", 1));
    if (ok && caret && !neg && !rb && !lb && t->tmp.len == 0) {
        ok = rx_put(&t->o, "-^", 2); /* '^' may not come first */
        dash = false;
    } else if (ok && caret) {
        ok = rx_put(&t->o, "^", 1);
    }
    ok = ok && (!dash || rx_put(&t->o, "-", 1)) && rx_put(&t->o, "]", 1);
    if (!ok)
        return rx_bad(t, "too long");
    return rx_atom(t, 1);
}

/* {m}, {m,} or {m,n} at t->i; false when it is a literal '{'. */
static bool
rx_interval(struct rx_tr *t, size_t *m, size_t *n, bool *open, size_t *end)
{
    size_t j = t->i + 1, k = 0;
    *m = 0;
    while (j < t->n && t->s[j] >= '0' && t->s[j] <= '9') {
        if (*m <= RX_MAX_REPEAT)
            *m = *m * 10 + (size_t)(t->s[j] - '0');
        j++;
        k++;
    }
    if (k == 0 || j >= t->n)
        return false;
    *open = false;
    *n = *m;
    if (t->s[j] == ',') {
        j++;
        k = 0;
        *n = 0;
        while (j < t->n && t->s[j] >= '0' && t->s[j] <= '9') {
            if (*n <= RX_MAX_REPEAT)
                *n = *n * 10 + (size_t)(t->s[j] - '0');
            j++;
            k++;
        }
        *open = k == 0;
    }
    if (j >= t->n || t->s[j] != '}')
        return false;
    *end = j + 1;
    return true;
}

static bool
rx_group_open(struct rx_tr *t)
{
    if (t->i + 1 < t->n && t->s[t->i + 1] == '?') {
        if (t->i + 2 < t->n && t->s[t->i + 2] == ':') {
            t->i += 3;
        } else if (t->i + 3 < t->n && t->s[t->i + 2] == '<' &&
                   t->s[t->i + 3] != '=' && t->s[t->i + 3] != '!') {
            const void *gt = memchr(t->s + t->i, '>', t->n - t->i);
            if (gt == NULL)
                return rx_bad(t, "an unterminated group name");
            t->i = (size_t)((const unsigned char *)gt - t->s) + 1;
        } else {
            return rx_bad(t, "lookaround and flag groups are not supported");
        }
    } else {
        t->i++;
    }
    if (t->top == RX_MAX_GROUPS)
        return rx_bad(t, "groups nested too deeply");
    t->stack[t->top][0] = t->cur;
    t->stack[t->top][1] = t->alt;
    t->top++;
    t->cur = t->alt = t->last = 0;
    t->after_quant = false;
    return rx_put(&t->o, "(", 1) || rx_bad(t, "too long");
}

static bool
rx_group_close(struct rx_tr *t)
{
    if (t->top == 0)
        return rx_bad(t, "an unmatched )");
    size_t size = t->cur + t->alt + 1;
    t->top--;
    t->cur = t->stack[t->top][0];
    t->alt = t->stack[t->top][1];
    t->i++;
    if (!rx_put(&t->o, ")", 1))
        return rx_bad(t, "too long");
    return rx_atom(t, size);
}

static bool
rx_step(struct rx_tr *t)
{
    unsigned char ch = t->s[t->i];
    if (ch == '?' && t->after_quant) { /* lazy: same match or not */
        t->i++;
        t->after_quant = false;
        return true;
    }
    switch (ch) {
    case '\\': {
        uint32_t cp;
        char cls = 0;
        t->i++;
        int r = rx_escape(t, &cp, &cls);
        if (r == RX_BAD)
            return false;
        if (r == RX_CHAR)
            return rx_emit_char(t, cp) && rx_atom(t, 1);
        const char *e = cls == 'd'   ? "[0-9]"
                        : cls == 'D' ? "[^0-9]"
                        : cls == 'w' ? "[A-Za-z0-9_]"
                        : cls == 'W' ? "[^A-Za-z0-9_]"
                        : cls == 's' ? "[[:space:]]"
                                     : "[^[:space:]]";
        if (!rx_put(&t->o, e, strlen(e)))
            return rx_bad(t, "too long");
        return rx_atom(t, 1);
    }
    case '[':
        t->i++;
        return rx_bracket(t);
    case '(':
        return rx_group_open(t);
    case ')':
        return rx_group_close(t);
    case '|':
        t->alt += t->cur;
        t->cur = t->last = 0;
        t->after_quant = false;
        t->i++;
        return rx_put(&t->o, "|", 1) || rx_bad(t, "too long");
    case '^':
    case '$':
        t->last = 0;
        t->after_quant = false;
        t->i++;
        return rx_put(&t->o, (const char *)&t->s[t->i - 1], 1) ||
               rx_bad(t, "too long");
    case '.':
        t->i++;
        return (rx_put(&t->o, ".", 1) || rx_bad(t, "too long")) &&
               rx_atom(t, 1);
    case '*':
    case '+':
    case '?': {
        char q[2] = {(char)ch, '\0'};
        t->i++;
        return rx_quant(t, q, ch == '+' ? 2 : 1);
    }
    case '{': {
        size_t m, n, end;
        bool open;
        if (!rx_interval(t, &m, &n, &open, &end)) {
            t->i++;
            return rx_emit_char(t, '{') && rx_atom(t, 1);
        }
        if (m > RX_MAX_REPEAT || n > RX_MAX_REPEAT)
            return rx_bad(t, "a repetition count over 1000");
        if (!open && n < m)
            return rx_bad(t, "a repetition range out of order");
        char q[32];
        if (open)
            snprintf(q, sizeof(q), "{%zu,}", m);
        else if (n == m)
            snprintf(q, sizeof(q), "{%zu}", m);
        else
            snprintf(q, sizeof(q), "{%zu,%zu}", m, n);
        t->i = end;
        return rx_quant(t, q, open ? m + 1 : n);
    }
    default: {
        uint32_t cp;
        size_t len = utf8_dec(t->s, t->n, t->i, &cp);
        if (!rx_put(&t->o, t->s + t->i, len))
            return rx_bad(t, "too long");
        t->i += len;
        return rx_atom(t, 1);
    }
    }
}

/* Translate the ECMA-262 pattern 'src' into an ERE in 'out' (heap, the
 * caller frees it, NULL on failure). On failure '*why' is a static
 * reason. */
static bool
rx_translate(const char *src, char **out, const char **why)
{
    struct rx_tr t;
    memset(&t, 0, sizeof(t));
    *out = NULL;
    t.s = (const unsigned char *)src;
    t.n = strlen(src);
    if (t.n > SY_JSONSCHEMA_PATTERN_MAX) {
        *why = "longer than 1024 bytes";
        return false;
    }
    t.o.cap = t.tmp.cap = 16 * t.n + 32;
    t.o.p = sy_xmalloc(t.o.cap);
    t.tmp.p = sy_xmalloc(t.tmp.cap);
    t.o.p[0] = '\0';
    bool ok = true;
    while (ok && t.i < t.n)
        ok = rx_step(&t);
    if (ok && t.top != 0)
        ok = rx_bad(&t, "an unmatched (");
    free(t.tmp.p);
    if (!ok) {
        free(t.o.p);
        *why = t.why;
        return false;
    }
    *out = t.o.p;
    return true;
}

/* ------------------------------------------------------------------ */
/* Compilation and the cache                                           */

static locale_t
rx_locale(struct vctx *c)
{
    if (!c->loc_tried) {
        c->loc_tried = true;
        c->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return c->loc;
}

/* Compile 'src' into 're'; false with '*why' set when it cannot be. */
bool
jsonschema_rx_compile(struct vctx *c, const char *src, regex_t *re,
                      const char **why)
{
    char *ere;
    if (!rx_translate(src, &ere, why))
        return false;
    locale_t loc = rx_locale(c);
    locale_t old = loc != (locale_t)0 ? uselocale(loc) : (locale_t)0;
    int rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
    if (loc != (locale_t)0)
        uselocale(old);
    free(ere);
    if (rc != 0) {
        *why = "not a valid regular expression";
        return false;
    }
    return true;
}

/* 1 when 'src' matches somewhere in s[0..n), 0 when not, -1 when the
 * pattern is unusable. */
int
jsonschema_rx_match(struct vctx *c, const char *src, const char *s,
                    size_t n)
{
    regex_t *re = NULL;
    const char *why;
    for (size_t i = 0; i < c->nrx; i++)
        if (c->rx[i].src == src)
            re = &c->rx[i].re;
    if (re == NULL) {
        if (c->rx == NULL)
            c->rx = sy_xcalloc(RX_CACHE, sizeof(*c->rx));
        if (c->nrx < RX_CACHE) {
            if (!jsonschema_rx_compile(c, src, &c->rx[c->nrx].re, &why))
                return -1;
            c->rx[c->nrx].src = src;
            re = &c->rx[c->nrx++].re;
        } else {
            if (c->has_scratch)
                regfree(&c->scratch);
            c->has_scratch =
                jsonschema_rx_compile(c, src, &c->scratch, &why);
            if (!c->has_scratch)
                return -1;
            re = &c->scratch;
        }
    }
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)n;
    locale_t loc = c->loc;
    locale_t old = loc != (locale_t)0 ? uselocale(loc) : (locale_t)0;
    int rc = regexec(re, s, 1, m, REG_STARTEND);
    if (loc != (locale_t)0)
        uselocale(old);
    return rc == 0 ? 1 : 0;
}

/* Free the cache, the scratch pattern and the locale of 'c'. */
void
jsonschema_rx_cleanup(struct vctx *c)
{
    for (size_t i = 0; i < c->nrx; i++)
        regfree(&c->rx[i].re);
    free(c->rx);
    if (c->has_scratch)
        regfree(&c->scratch);
    if (c->loc != (locale_t)0)
        freelocale(c->loc);
}
