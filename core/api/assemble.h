/*
 * assemble.h - build the chat.completion a non-streaming caller expects
 * out of the canonical stream chunks an adapter emits (struct sy_chunk:
 * chat.completion.chunk JSON). The gateway can then stream from every
 * provider that streams, so first_byte_ms and idle_ms measure the
 * provider rather than the length of the answer, and time to first
 * token is sampled for all traffic.
 *
 * What is gathered, per choice (by "index", at most SY_CHAT_MAX_CHOICES):
 * the role, the text deltas "content", "refusal", "reasoning_content"
 * and "reasoning" (each concatenated), tool calls by their "index" (at
 * most SY_ASSEMBLE_MAX_CALLS a choice: "id", "type" and function "name"
 * from the first delta that carries them, "arguments" concatenated,
 * other members such as Gemini's "extra_content" from their first
 * delta), "logprobs" ("content" and "refusal" arrays concatenated), and
 * "finish_reason" (the last one given). Of the whole stream: "id",
 * "created", "model", "system_fingerprint" and "service_tier" from the
 * first chunk that has them, and the last "usage" object.
 *
 * Bounds: every byte kept (text, arguments, ids, logprobs, copied
 * members) counts against 'max_bytes' (the deployment's
 * max_response_bytes); past it, and on any chunk that is not the JSON
 * of a chat.completion.chunk, the assembler fails with SY_EUP_PROTO and
 * a caller-safe message. Errors are sticky: every later call returns
 * the first error.
 *
 * Memory: the state and its messages live in the request arena; text is
 * gathered in owned buffers, released by sy_assemble_finish, by
 * sy_assemble_free, or at the latest by an arena cleanup.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ASSEMBLE_H
#define SY_CORE_ASSEMBLE_H

#include "base/sy.h"
#include "base/err.h"
#include "base/mem.h"
#include "chat.h"

/* Tool calls kept per choice (OpenAI allows 128 tools a request; a
 * model may call one several times, but not without end). */
#define SY_ASSEMBLE_MAX_CALLS 128

struct sy_assemble;

/* A new assembler in arena 'a'. 'max_bytes' bounds what it keeps (0: no
 * bound beyond INT_MAX, which json-c strings need anyway); 'max_depth'
 * bounds the nesting of each chunk's JSON (0: 64). */
struct sy_assemble *sy_assemble_new(struct sy_arena *a, size_t max_bytes,
                                    unsigned max_depth);

/* Take one chunk: a data chunk is parsed and gathered (its 'usage', when
 * set, is the usage of the stream, as the adapter read it; otherwise
 * the chunk's "usage" object is read), SY_CHUNK_DONE marks the end. */
enum sy_err sy_assemble_chunk(struct sy_assemble *as,
                              const struct sy_chunk *ch);

/* sy_assemble_chunk with the shape of sy_emit_fn (core/api/adapter.h):
 * 'ud' is the assembler, so it can be handed to sy_sse_stream_feed. */
enum sy_err sy_assemble_emit(void *ud, const struct sy_chunk *ch);

/* After SY_CHUNK_DONE: fill 'resp' with the chat.completion ('root', a
 * tree freed by an arena cleanup; 'raw' NULL), its usage (present only
 * when the stream reported one), the first choice's finish_reason and
 * the model the provider named. Choices appear in index order; a
 * choice's content is null when it is empty and tool calls were made.
 * Fails (SY_EUP_PROTO) when the stream did not end or had no choice.
 * Call once; it releases the gathered text. */
enum sy_err sy_assemble_finish(struct sy_assemble *as,
                               struct sy_chat_resp *resp);

/* The first failure's message (arena string, safe to show the caller),
 * or NULL while all is well. */
const char *sy_assemble_message(const struct sy_assemble *as);

/* Whether SY_CHUNK_DONE was seen; bytes kept so far. */
bool sy_assemble_done(const struct sy_assemble *as);
size_t sy_assemble_bytes(const struct sy_assemble *as);

/* Release the gathered text now (an attempt that failed over); safe to
 * call more than once, and on NULL. The assembler then only reports. */
void sy_assemble_free(struct sy_assemble *as);

#endif
