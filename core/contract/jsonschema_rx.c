/*
 * jsonschema_rx.c - the patterns of the JSON Schema validator on PCRE2:
 * a light rewrite of ECMA-262 syntax (what JSON Schema specifies) into
 * PCRE2 syntax, compile with limits at schema compile time, and matching
 * under hard per-match limits plus a per-request budget of regex work.
 * Used by jsonschema_check.c (compile) and jsonschema.c ("pattern",
 * "patternProperties"); see jsonschema_int.h.
 *
 * No caller- or provider-supplied pattern reaches glibc regex: glibc's
 * regcomp recursed on the C stack and its matcher has no limits.
 *
 * Dialect. Compiled with PCRE2_UTF (code points, not bytes) without UCP
 * (\d \w \b stay ASCII as in ECMA-262), PCRE2_DOLLAR_ENDONLY ($ without
 * the m flag matches only at the end), PCRE2_ALT_BSUX (\uHHHH, \xHH) and
 * PCRE2_EXTRA_ALT_BSUX (\u{H...}), PCRE2_ALLOW_EMPTY_CLASS ([] matches
 * nothing, [^] anything), newlines CR and LF for '.', never \C or
 * (*UCP), and plain groups not capturing unless \1-\9 need them (less
 * backtracking memory). Rewritten: \s and \S to the ECMA-262 white space
 * set, \v to U+000B, '[' inside a class to a literal, \0 to U+0000.
 * Supported as in ECMA-262: lookahead, lookbehind (of bounded length:
 * PCRE2 refuses the others), backreferences, named groups and \k<name>,
 * lazy quantifiers, \b \B, \p{...}. Refused with a message: PCRE2-only
 * syntax that means something else or nothing in ECMA-262 ((?i) and
 * other (?...) groups, (*VERB)s, possessive quantifiers, \A \z \Z \G \Q
 * \E \K \R \X \h \H \N \g \o \e \a \L \l \U \C), legacy octal escapes,
 * unbalanced parentheses (the wrapper below must stay around the whole
 * pattern), and whatever PCRE2 refuses (nesting deeper than RX_NEST, a
 * compiled pattern too large). Differences left: \S inside [...] is
 * ASCII, '.' matches U+2028/U+2029, and \u escapes of lone surrogates
 * are refused.
 *
 * Limits. Each compiled pattern is wrapped as "(?C1)(?:...)": the callout
 * runs once per start position, counts it in the request's budget
 * (struct sy_rx_budget) and, every RX_CHECK_NS of wall time, reads the
 * thread's CPU clock; past SY_RX_BUDGET_CPU_NS or SY_RX_BUDGET_STARTS it
 * stops the match. PCRE2's match limit counts per start position (not
 * per pcre2_match call), so it bounds the work between two callouts; the
 * heap limit bounds the backtracking memory of one match. Any of these
 * ends the validation as a failure that says "too much regex work".
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"
#include "base/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RX_NEST        64       /* parentheses nesting (compile stack) */
#define RX_MATCH_LIMIT 500000   /* matcher steps per start position */
#define RX_DEPTH_LIMIT 100000   /* nested backtracking frames */
#define RX_HEAP_KIB    1024     /* backtracking memory of one match */
#define RX_CHECK_NS    2000000u /* wall time between CPU clock reads */
#define RX_GROW        100      /* most output bytes per input byte */

/* One compiled pattern (struct sy_schema 'pats'). */
struct rx_pat {
    const char *src; /* borrowed from the schema: the key */
    pcre2_code *code;
};

/* What matching needs per validation call (struct vctx 'rxm'). */
struct rx_match {
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

/* ECMA-262 white space and line terminators, as class members. */
#define JS_SPACE                                      \
    "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a" \
    "\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

uint64_t
sy_jsonschema_wall_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
sy_jsonschema_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Rewrite: ECMA-262 syntax to PCRE2 syntax                            */

struct rx_tr {
    const char *s;
    size_t n, i;
    char *o; /* owned by rx_rewrite's caller; RX_GROW * n + 64 bytes */
    size_t len;
    const char *why; /* static, on failure */
    bool backref;    /* \1 to \9: the groups must capture */
};

static void
put(struct rx_tr *t, const char *p, size_t n)
{
    memcpy(t->o + t->len, p, n);
    t->len += n;
}

static void
puts_(struct rx_tr *t, const char *p)
{
    put(t, p, strlen(p));
}

static bool
refuse(struct rx_tr *t, const char *why)
{
    t->why = why;
    return false;
}

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A {m}, {m,} or {m,n} quantifier starts at t->i; its length, or 0 when
 * the brace is a literal (as in ECMA-262 and PCRE2 10.42 alike). */
static size_t
brace_quant(const struct rx_tr *t)
{
    size_t j = t->i + 1;
    if (j >= t->n || !is_digit(t->s[j]))
        return 0;
    while (j < t->n && is_digit(t->s[j]))
        j++;
    if (j < t->n && t->s[j] == ',') {
        j++;
        while (j < t->n && is_digit(t->s[j]))
            j++;
    }
    return j < t->n && t->s[j] == '}' ? j + 1 - t->i : 0;
}

/* One escape at t->i (a backslash), inside a class or not. */
static bool
rw_escape(struct rx_tr *t, bool in_class)
{
    if (t->i + 1 >= t->n)
        return refuse(t, "a trailing backslash");
    char e = t->s[t->i + 1];
    t->i += 2;
    switch (e) {
    case 'v':
        puts_(t, "\\x0b");
        return true;
    case 's':
        puts_(t, in_class ? JS_SPACE : "[" JS_SPACE "]");
        return true;
    case 'S':
        puts_(t, in_class ? "\\S" : "[^" JS_SPACE "]");
        return true;
    case '0':
        if (t->i < t->n && is_digit(t->s[t->i]))
            return refuse(t, "legacy octal escapes are not supported");
        puts_(t, "\\x00");
        return true;
    case 'A':
    case 'z':
    case 'Z':
    case 'G':
    case 'Q':
    case 'E':
    case 'K':
    case 'R':
    case 'X':
    case 'h':
    case 'H':
    case 'N':
    case 'C':
    case 'g':
    case 'o':
    case 'e':
    case 'a':
    case 'L':
    case 'l':
    case 'U':
        return refuse(t, "an escape that ECMA-262 does not define");
    default:
        if (in_class && e >= '1' && e <= '9')
            return refuse(t, "legacy octal escapes are not supported");
        if (e >= '1' && e <= '9')
            t->backref = true;
        put(t, t->s + t->i - 2, 2);
        return true;
    }
}

/* "(" at t->i: the group kinds ECMA-262 has. Emits the group's opening
 * ("(", "(?:", "(?=", "(?!", "(?<=", "(?<!" or "(?<"). */
static bool
rw_group(struct rx_tr *t)
{
    const char *p = t->s + t->i;
    size_t left = t->n - t->i, w = 1;
    if (left >= 2 && p[1] == '*')
        return refuse(t, "(*...) verbs are not ECMA-262");
    if (left >= 2 && p[1] == '?') {
        char k = left >= 3 ? p[2] : '\0';
        char k2 = left >= 4 ? p[3] : '\0';
        bool name =
            k2 == '_' || (k2 >= 'a' && k2 <= 'z') || (k2 >= 'A' && k2 <= 'Z');
        if (k == ':' || k == '=' || k == '!')
            w = 3;
        else if (k == '<' && (k2 == '=' || k2 == '!'))
            w = 4;
        else if (k == '<' && name)
            w = 3;
        else
            return refuse(t, "only (?:...), lookaround and (?<name>...) "
                             "groups are ECMA-262");
    }
    put(t, p, w);
    t->i += w;
    return true;
}

/* Rewrite t->s into t->o; false with t->why when refused. */
static bool
rx_rewrite(struct rx_tr *t)
{
    bool in_class = false, after_quant = false;
    size_t depth = 0; /* open groups: the wrapper must stay around all */
    while (t->i < t->n) {
        char ch = t->s[t->i];
        if (ch == '\\') {
            if (!rw_escape(t, in_class))
                return false;
            after_quant = false;
            continue;
        }
        if (in_class) {
            if (ch == ']')
                in_class = false;
            if (ch == '[')
                puts_(t, "\\["); /* not a POSIX [:class:] */
            else
                put(t, &ch, 1);
            t->i++;
            continue;
        }
        size_t q = ch == '{' ? brace_quant(t) : 0;
        if (ch == '*' || ch == '+' || ch == '?' || q > 0) {
            if (after_quant && ch == '?') {
                after_quant = false; /* lazy */
                put(t, &ch, 1);
                t->i++;
                continue;
            }
            if (after_quant)
                return refuse(t, "a quantifier after a quantifier "
                                 "(possessive forms are not ECMA-262)");
            size_t w = q > 0 ? q : 1;
            put(t, t->s + t->i, w);
            t->i += w;
            after_quant = true;
            continue;
        }
        after_quant = false;
        if (ch == '(') {
            if (!rw_group(t))
                return false;
            depth++;
            continue;
        }
        if (ch == ')') {
            if (depth == 0)
                return refuse(t, "an unmatched )");
            depth--;
        }
        if (ch == '[') {
            in_class = true;
            put(t, &ch, 1);
            t->i++;
            if (t->i < t->n && t->s[t->i] == '^') {
                put(t, "^", 1);
                t->i++;
            }
            if (t->i < t->n && t->s[t->i] == ']') {
                /* [] or [^]: ALLOW_EMPTY_CLASS reads the ']' as the end */
                put(t, "]", 1);
                t->i++;
                in_class = false;
            }
            continue;
        }
        put(t, &ch, 1);
        t->i++;
    }
    if (in_class)
        return refuse(t, "an unterminated [");
    return depth == 0 || refuse(t, "an unmatched (");
}

/* ------------------------------------------------------------------ */
/* Compile                                                             */

static void
set_why(char *why, size_t whylen, const char *a)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", a);
}

/* Compile the rewritten pattern with the ECMA-like options and limits;
 * NULL with the reason in 'why'. */
static pcre2_code *
rx_compile_pcre(const char *p, size_t n, bool backref, char *why, size_t whylen)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (cc == NULL) {
        set_why(why, whylen, "out of memory");
        return NULL;
    }
    pcre2_set_max_pattern_length(
        cc, (PCRE2_SIZE)RX_GROW * SY_JSONSCHEMA_PATTERN_MAX + 64);
    pcre2_set_parens_nest_limit(cc, RX_NEST);
    pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile(
        (PCRE2_SPTR)p, n,
        PCRE2_UTF | PCRE2_NEVER_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
            PCRE2_ALLOW_EMPTY_CLASS | PCRE2_NEVER_BACKSLASH_C |
            (backref ? 0 : PCRE2_NO_AUTO_CAPTURE),
        &code, &off, cc);
    pcre2_compile_context_free(cc);
    if (re == NULL) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        set_why(why, whylen, (const char *)msg);
    }
    return re;
}

/* Compile pattern 'src' into c->cs. */
bool
sy_jsonschema_rx_add(struct vctx *c, const char *src, size_t len, char *why,
                     size_t whylen)
{
    struct sy_schema *cs = c->cs;
    if (len > SY_JSONSCHEMA_PATTERN_MAX) {
        snprintf(why, whylen, "longer than %d bytes",
                 SY_JSONSCHEMA_PATTERN_MAX);
        return false;
    }
    if (cs->npats >= SY_JSONSCHEMA_MAX_PATTERNS) {
        snprintf(why, whylen, "more than %d patterns in one schema",
                 SY_JSONSCHEMA_MAX_PATTERNS);
        return false;
    }
    if (memchr(src, '\0', len) != NULL) {
        snprintf(why, whylen, "a NUL byte (write \\u0000 as \\x00)");
        return false;
    }
    struct rx_tr t = { .s = src, .n = len };
    t.o = sy_xmalloc(RX_GROW * len + 64);
    puts_(&t, "(?C1)(?:");
    bool ok = rx_rewrite(&t);
    pcre2_code *re = NULL;
    if (!ok) {
        set_why(why, whylen, t.why);
    } else {
        puts_(&t, ")");
        re = rx_compile_pcre(t.o, t.len, t.backref, why, whylen);
    }
    free(t.o);
    if (re == NULL)
        return false;
    size_t size = 0;
    pcre2_pattern_info(re, PCRE2_INFO_SIZE, &size);
    if (cs->bytes + size > SY_JSONSCHEMA_PATTERN_BYTES) {
        pcre2_code_free(re);
        snprintf(why, whylen,
                 "the schema's patterns compile to more than "
                 "%u bytes",
                 SY_JSONSCHEMA_PATTERN_BYTES);
        return false;
    }
    if (cs->npats == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 8;
        cs->pats = sy_xrealloc(cs->pats, cs->cap * sizeof(*cs->pats));
    }
    cs->pats[cs->npats].src = src;
    cs->pats[cs->npats].code = re;
    cs->npats++;
    cs->bytes += size;
    return true;
}

static int
pat_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct rx_pat *)a)->src;
    uintptr_t y = (uintptr_t)((const struct rx_pat *)b)->src;
    return (x > y) - (x < y);
}

void
sy_jsonschema_rx_finish(struct sy_schema *cs)
{
    if (cs->npats > 1)
        qsort(cs->pats, cs->npats, sizeof(*cs->pats), pat_cmp);
}

void
sy_jsonschema_rx_free(struct sy_schema *cs)
{
    for (size_t i = 0; i < cs->npats; i++)
        pcre2_code_free(cs->pats[i].code);
    free(cs->pats);
    cs->pats = NULL;
    cs->npats = cs->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Matching under the budget                                           */

void
sy_rx_budget_init(struct sy_rx_budget *b)
{
    memset(b, 0, sizeof(*b));
}

/* Once per start position: count it, and compare the CPU spent in this
 * validation (since t_enter) plus earlier ones with the budget. The
 * thread's CPU clock is a system call, so it is read only when 2 ms of
 * wall time (a vDSO clock, cheap) have passed since the last read: the
 * thread cannot have spent more CPU than that in between. A negative
 * return stops pcre2_match. */
static int
rx_callout(pcre2_callout_block *cb, void *data)
{
    (void)cb;
    struct sy_rx_budget *b = data;
    if (++b->starts > SY_RX_BUDGET_STARTS)
        return PCRE2_ERROR_CALLOUT;
    uint64_t w = sy_jsonschema_wall_ns();
    if (w - b->wall_last >= RX_CHECK_NS) {
        b->wall_last = w;
        uint64_t now = sy_jsonschema_cpu_ns();
        if (now > b->t_enter &&
            b->cpu_ns + (now - b->t_enter) > SY_RX_BUDGET_CPU_NS)
            return PCRE2_ERROR_CALLOUT;
    }
    return 0;
}

static struct rx_match *
rx_state(struct vctx *c)
{
    if (c->rxm != NULL)
        return c->rxm;
    struct rx_match *m = sy_xcalloc(1, sizeof(*m));
    m->md = pcre2_match_data_create(1, NULL);
    m->mc = pcre2_match_context_create(NULL);
    if (m->md == NULL || m->mc == NULL) {
        pcre2_match_data_free(m->md);
        pcre2_match_context_free(m->mc);
        free(m);
        return NULL;
    }
    pcre2_set_match_limit(m->mc, RX_MATCH_LIMIT);
    pcre2_set_depth_limit(m->mc, RX_DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mc, RX_HEAP_KIB);
    pcre2_set_callout(m->mc, rx_callout, c->budget);
    c->rxm = m;
    return m;
}

static const struct rx_pat *
rx_find(const struct sy_schema *cs, const char *src)
{
    if (cs == NULL || cs->npats == 0)
        return NULL;
    struct rx_pat key = { .src = src };
    return bsearch(&key, cs->pats, cs->npats, sizeof(key), pat_cmp);
}

int
sy_jsonschema_rx_match(struct vctx *c, const char *src, const char *s, size_t n)
{
    const struct rx_pat *p = rx_find(c->cs, src);
    if (p == NULL)
        return -1;
    if (c->budget->spent) {
        sy_jsonschema_abort_eval(c, "too much regex work", false);
        return -2;
    }
    struct rx_match *m = rx_state(c);
    if (m == NULL)
        return -1;
    c->budget->matches++;
    int r = pcre2_match(p->code, (PCRE2_SPTR)s, n, 0, 0, m->md, m->mc);
    if (r >= 0)
        return 1;
    if (r == PCRE2_ERROR_NOMATCH)
        return 0;
    if (r <= PCRE2_ERROR_UTF8_ERR1 && r >= PCRE2_ERROR_UTF8_ERR21)
        return -1;
    /* PCRE2_ERROR_CALLOUT (the budget), _MATCHLIMIT, _DEPTHLIMIT,
     * _HEAPLIMIT, _NOMEMORY: this pattern costs too much on this value. */
    c->budget->spent = true;
    sy_jsonschema_abort_eval(c,
                             "too much regex work (the schema's patterns "
                             "exceeded the gateway's limits)",
                             false);
    return -2;
}

void
sy_jsonschema_rx_cleanup(struct vctx *c)
{
    if (c->rxm == NULL)
        return;
    pcre2_match_data_free(c->rxm->md);
    pcre2_match_context_free(c->rxm->mc);
    free(c->rxm);
    c->rxm = NULL;
}

size_t
sy_schema_npatterns(const struct sy_schema *cs)
{
    return cs != NULL ? cs->npats : 0;
}

size_t
sy_schema_pattern_bytes(const struct sy_schema *cs)
{
    return cs != NULL ? cs->bytes : 0;
}
