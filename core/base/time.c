/*
 * time.c - civil dates and the date parser of time.h. The day arithmetic
 * follows H. Hinnant, "chrono-compatible low-level date algorithms" (no
 * tables, no timegm, correct for negative years); the parser reads
 * fixed-width digits only, so "2026-1-5" and " 2026" are refused.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "time.h"

/* ------------------------------------------------------------------ */
/* Civil dates                                                         */

/* Days since 1970-01-01 of year 'y', month 'm' (1-12), day 'd' (1-31).
 * Out-of-range days are not checked: 2026-02-31 is 2026-03-03. */
int64_t
sy_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil date of 'day' (days since 1970-01-01). */
void
sy_time_civil_from_days(int64_t day, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
    static const unsigned char len[12] = { 31, 28, 31, 30, 31, 30,
                                           31, 31, 30, 31, 30, 31 };
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return m == 2 && leap ? 29 : len[m - 1];
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

struct cur {
    const char *s;
    size_t n;
    size_t i;
};

/* Exactly 'width' decimal digits at the cursor. */
static bool
digits(struct cur *c, unsigned width, unsigned *out)
{
    unsigned v = 0;
    if (c->n - c->i < width)
        return false;
    for (unsigned k = 0; k < width; k++) {
        char ch = c->s[c->i + k];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (unsigned)(ch - '0');
    }
    c->i += width;
    *out = v;
    return true;
}

/* The next byte is one of 'set' (consumed). */
static bool
eat(struct cur *c, const char *set)
{
    if (c->i >= c->n)
        return false;
    for (const char *p = set; *p != '\0'; p++) {
        if (c->s[c->i] == *p) {
            c->i++;
            return true;
        }
    }
    return false;
}

/* "." and one or more digits, the first three as milliseconds. */
static bool
fraction(struct cur *c, unsigned *ms)
{
    size_t from = c->i;
    unsigned v = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        if (c->i - from < 3)
            v = v * 10 + (unsigned)(c->s[c->i] - '0');
        c->i++;
    }
    for (size_t k = c->i - from; k < 3; k++)
        v *= 10;
    *ms = v;
    return c->i > from;
}

/* "Z", "+hh:mm" or "-hh:mm" into minutes east of UTC; nothing at the
 * end is UTC when 'loose'. */
static bool
zone(struct cur *c, bool loose, int64_t *minutes)
{
    *minutes = 0;
    if (c->i == c->n)
        return loose;
    if (eat(c, "Zz"))
        return true;
    bool west = c->s[c->i] == '-';
    unsigned h;
    unsigned m;
    if (!eat(c, "+-") || !digits(c, 2, &h) || !eat(c, ":") ||
        !digits(c, 2, &m) || h > 23 || m > 59)
        return false;
    *minutes = (int64_t)(h * 60 + m) * (west ? -1 : 1);
    return true;
}

/* Parse the date and time in 's' ('n' bytes, all of them) in 'form'
 * into milliseconds since 1970-01-01T00:00:00Z in '*out_ms' (negative
 * before 1970). Digits beyond milliseconds are dropped. False, with
 * '*out_ms' untouched, when 's' is not such a time. */
bool
sy_time_parse(const char *s, size_t n, enum sy_time_form form, int64_t *out_ms)
{
    bool loose = form == SY_TIME_LOOSE;
    struct cur c = { s, s != NULL ? n : 0, 0 };
    unsigned y, mo, d;
    unsigned h = 0, mi = 0, se = 0, ms = 0;
    int64_t off = 0;
    if (!digits(&c, 4, &y) || !eat(&c, "-") || !digits(&c, 2, &mo) ||
        !eat(&c, "-") || !digits(&c, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (c.i < c.n || !loose) {
        if (!eat(&c, loose ? "Tt " : "Tt") || !digits(&c, 2, &h) ||
            !eat(&c, ":") || !digits(&c, 2, &mi))
            return false;
        if (eat(&c, ":")) {
            if (!digits(&c, 2, &se) || (eat(&c, ".") && !fraction(&c, &ms)))
                return false;
        } else if (!loose) {
            return false;
        }
        if (!zone(&c, loose, &off) || c.i != c.n)
            return false;
        if (h > 23 || mi > 59 || se > 60)
            return false;
    }
    int64_t day = sy_time_days_from_civil(y, mo, d);
    int64_t sec = (int64_t)h * 3600 + mi * 60 + se - off * 60;
    *out_ms = day * SY_TIME_MS_PER_DAY + sec * 1000 + ms;
    return true;
}
