/*
 * clock.h - monotonic time for durations and deadlines, through a
 * replaceable function so tests control time.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CLOCK_H
#define SY_CORE_CLOCK_H

#include "sy.h"

typedef uint64_t (*sy_clock_fn)(void);

uint64_t sy_now_us(void);
uint64_t sy_now_ms(void);
void sy_clock_set(sy_clock_fn fn);
uint64_t sy_wall_s(void);
uint64_t sy_wall_ms(void);

#endif
