/*
 * chat_affinity.h - the conversation a chat request belongs to, as a
 * 64-bit key for prompt-cache affinity (core/serve/affinity.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CHAT_AFFINITY_H
#define SY_CORE_CHAT_AFFINITY_H

#include "base/sy.h"
#include "chat.h"

/* Bytes of a prompt's start hashed at most (the rest does not change
 * which conversation it is). */
#define SY_AFFINITY_PREFIX_MAX 65536

/* 'scope': the caller key's name, hashed into every key (two callers'
 * conversations never share one); NULL for an anonymous caller. */
bool sy_chat_affinity_key(const struct sy_chat_req *r, const char *session,
                          const char *scope, size_t prefix_min, uint64_t *key,
                          const char **from);

#endif
