/*
 * responses_fixture.h - what the tests of the OpenAI Responses surface
 * (adapters/responses_surface*.c) share: the request arena, output
 * buffer and stream state of each test, J() (bodies are written with '
 * for "), at() (a member at a dotted path) and parse() (a Responses
 * body into 'req'). Included by test_responses_surface.c (requests) and
 * test_responses_reply.c (replies, streams and errors).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_RESPONSES_FIXTURE_H
#define SY_TESTS_UNIT_RESPONSES_FIXTURE_H

#include "base/sy.h"
#include "api/surface.h"
#include "adapters/responses_surface_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#define RS (&sy_surface_responses)

static struct sy_arena arena;
static struct sy_chat_req req;
static struct sy_chat_error perr;
static struct sy_buf out;
static void *st;

SY_UNUSED static int
setup(void **state)
{
    (void)state;
    sy_arena_init(&arena, 0);
    sy_buf_init(&out, 1u << 20);
    st = sy_arena_zalloc(&arena, RS->stream_state_size);
    memset(&req, 0, sizeof(req));
    return 0;
}

SY_UNUSED static int
teardown(void **state)
{
    (void)state;
    sy_buf_free(&out);
    sy_arena_cleanup(&arena);
    return 0;
}

SY_UNUSED static const char *
J(const char *s)
{
    char *p = sy_arena_strdup(&arena, s);
    for (char *q = p; *q; q++)
        if (*q == '\'')
            *q = '"';
    return p;
}

/* 'text' with every random response id ("_gw" and 2 x SY_RSURF_ID_BYTES
 * hex digits, in the response's id and its items') written "_gwID". */
SY_UNUSED static const char *
pin_ids(const char *text)
{
    struct sy_buf b;
    sy_buf_init(&b, 1u << 20);
    const size_t n = 2 * SY_RSURF_ID_BYTES;
    for (const char *p = text; *p != '\0';) {
        const char *q = strstr(p, "_gw");
        size_t hex = 0;
        while (q != NULL && hex < n && isxdigit((unsigned char)q[3 + hex]))
            hex++;
        if (q == NULL) {
            sy_buf_puts(&b, p);
            break;
        }
        sy_buf_append(&b, p, (size_t)(q - p) + 3);
        if (hex == n)
            sy_buf_puts(&b, "ID");
        p = q + 3 + (hex == n ? n : 0);
    }
    const char *r = sy_arena_strdup(&arena, sy_buf_cstr(&b));
    sy_buf_free(&b);
    return r;
}

/* Member at a dotted path ("messages.1.content.0.type"): numbers index
 * arrays. */
SY_UNUSED static struct json_object *
at(struct json_object *o, const char *path)
{
    char *p = sy_arena_strdup(&arena, path), *save = NULL;
    for (char *k = strtok_r(p, ".", &save); k && o;
         k = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(k));
        else if (!json_object_object_get_ex(o, k, &o))
            o = NULL;
    }
    return o;
}

/* Compact JSON text of 'o' (arena copy). */
SY_UNUSED static const char *
text_of(struct json_object *o)
{
    return sy_arena_strdup(&arena, json_object_to_json_string_ext(
                                       o, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE));
}

SY_UNUSED static enum sy_err
parse_raw(const char *body, unsigned depth)
{
    struct sy_req r = { .arena = &arena,
                        .body = body,
                        .body_len = strlen(body) };
    memset(&perr, 0, sizeof(perr));
    return RS->parse(&r, depth, &arena, &req, &perr);
}

/* A Responses body written with ' for ". */
SY_UNUSED static enum sy_err
parse(const char *body)
{
    return parse_raw(J(body), 64);
}

#endif
