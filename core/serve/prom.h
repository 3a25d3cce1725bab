/*
 * prom.h - the Prometheus text exposition format (0.0.4), written into a
 * buffer: family headers, samples with escaped label values, and
 * cumulative histograms from per-power-of-two counts. Pure; the metrics
 * themselves are core/serve/metrics_render.c's.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_SERVE_PROM_H
#define SY_SERVE_PROM_H

#include "base/sy.h"

#define SY_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One label; a NULL value is written as "". */
struct sy_prom_label {
    const char *name;
    const char *value;
};

void sy_prom_head(struct sy_buf *b, const char *name, const char *type,
                  const char *help);
void sy_prom_value(struct sy_buf *b, const char *v);
void sy_prom_sample(struct sy_buf *b, const char *name,
                    const struct sy_prom_label *l, size_t n, double v);
void sy_prom_hist(struct sy_buf *b, const char *name,
                  const struct sy_prom_label *l, size_t n, const uint64_t *pow2,
                  size_t npow2, uint64_t sum, double scale);

#endif
