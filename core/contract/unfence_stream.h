/*
 * unfence_stream.h - take a markdown code fence off an answer while it
 * streams: the text deltas go in as they arrive, the text to show comes
 * out, without the opening fence line and the closing fence. The whole
 * answer gets what sy_contract_unfence (contract.h) gives, with the
 * differences listed in unfence_stream.c. No allocation: the state holds
 * at most SY_UNFENCE_HOLD bytes.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_UNFENCE_STREAM_H
#define SY_CORE_UNFENCE_STREAM_H

#include "base/sy.h"
#include "base/buf.h"

#define SY_UNFENCE_HOLD 64 /* bytes held back at most */

struct sy_unfence {
    unsigned char state; /* where in the answer (unfence_stream.c) */
    unsigned char ticks; /* backticks of the fence being read */
    unsigned char word;  /* bytes of its info string ("json") so far */
    unsigned char pre;   /* in the body: whitespace before the ticks */
    bool lost;           /* whitespace after the opening did not fit */
    size_t len;          /* bytes in 'hold' */
    char hold[SY_UNFENCE_HOLD];
};

void sy_unfence_init(struct sy_unfence *u);
/* Append to 'out' what of in[0..n) (and of the text held before) can be
 * shown now; the rest is held. The error of a failed append. */
enum sy_err sy_unfence_feed(struct sy_unfence *u, const char *in, size_t n,
                            struct sy_buf *out);
/* The answer ended: append what is still held, minus a closing fence. */
enum sy_err sy_unfence_finish(struct sy_unfence *u, struct sy_buf *out);

#endif
