/*
 * prom.c - the Prometheus text exposition format (see prom.h). Label
 * values escape backslash, double quote and line feed as the format
 * says; HELP text escapes backslash and line feed. Numbers are written
 * with up to 15 significant digits (integers below 2^53 exactly), and
 * non-finite ones as +Inf, -Inf, NaN.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "prom.h"
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "# HELP name help" and "# TYPE name type". */
void
sy_prom_head(struct sy_buf *b, const char *name, const char *type,
             const char *help)
{
    sy_buf_printf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            sy_buf_puts(b, "\\\\");
        else if (*p == '\n')
            sy_buf_puts(b, "\\n");
        else
            sy_buf_append(b, p, 1);
    }
    sy_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* Label value 'v' between its quotes, escaped. */
void
sy_prom_value(struct sy_buf *b, const char *v)
{
    const char *run = v != NULL ? v : "";
    const char *p = run;
    for (; *p; p++) {
        const char *esc = *p == '\\'   ? "\\\\"
                          : *p == '"'  ? "\\\""
                          : *p == '\n' ? "\\n"
                                       : NULL;
        if (esc == NULL)
            continue;
        sy_buf_append(b, run, (size_t)(p - run));
        sy_buf_puts(b, esc);
        run = p + 1;
    }
    sy_buf_append(b, run, (size_t)(p - run));
}

static void
labels(struct sy_buf *b, const struct sy_prom_label *l, size_t n,
       const char *le)
{
    if (n == 0 && le == NULL)
        return;
    sy_buf_puts(b, "{");
    for (size_t i = 0; i < n; i++) {
        sy_buf_printf(b, "%s%s=\"", i ? "," : "", l[i].name);
        sy_prom_value(b, l[i].value);
        sy_buf_puts(b, "\"");
    }
    if (le != NULL)
        sy_buf_printf(b, "%sle=\"%s\"", n ? "," : "", le);
    sy_buf_puts(b, "}");
}

static void
number(struct sy_buf *b, double v)
{
    if (isnan(v))
        sy_buf_puts(b, "NaN");
    else if (isinf(v))
        sy_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        sy_buf_printf(b, "%.0f", v);
    else
        sy_buf_printf(b, "%.15g", v);
}

/* One sample line: name{labels} value. */
void
sy_prom_sample(struct sy_buf *b, const char *name,
               const struct sy_prom_label *l, size_t n, double v)
{
    sy_buf_puts(b, name);
    labels(b, l, n, NULL);
    sy_buf_puts(b, " ");
    number(b, v);
    sy_buf_puts(b, "\n");
}

/* A histogram series from 'npow2' power-of-two counts (slot k: values
 * below 2^k, at least 2^(k-1)) and the 'sum' of the values, in units
 * that 'scale' turns into the exported ones (1e-6: microseconds to
 * seconds). One cumulative bucket per slot, le = 2^k * scale, then
 * +Inf, _sum and _count. */
void
sy_prom_hist(struct sy_buf *b, const char *name, const struct sy_prom_label *l,
             size_t n, const uint64_t *pow2, size_t npow2, uint64_t sum,
             double scale)
{
    char bucket[128], le[48];
    snprintf(bucket, sizeof(bucket), "%s_bucket", name);
    uint64_t cum = 0;
    for (size_t k = 0; k < npow2; k++) {
        cum += pow2[k];
        snprintf(le, sizeof(le), "%.12g", ldexp(scale, (int)k));
        sy_buf_puts(b, bucket);
        labels(b, l, n, le);
        sy_buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
    sy_buf_puts(b, bucket);
    labels(b, l, n, "+Inf");
    sy_buf_printf(b, " %llu\n", (unsigned long long)cum);
    sy_buf_printf(b, "%s_sum", name);
    labels(b, l, n, NULL);
    sy_buf_puts(b, " ");
    number(b, (double)sum * scale);
    sy_buf_printf(b, "\n%s_count", name);
    labels(b, l, n, NULL);
    sy_buf_printf(b, " %llu\n", (unsigned long long)cum);
}
