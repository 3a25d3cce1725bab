/*
 * jsonschema_int.h - private to the JSON Schema validator: jsonschema.c
 * (keywords, validation), jsonschema_check.c (schema compile: keyword
 * check and pattern compile), jsonschema_ctx.c (evaluation context,
 * messages and paths, JSON values, $ref) and jsonschema_rx.c (ECMA-262
 * patterns on PCRE2, the regex budget). Other modules see jsonschema.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_JSONSCHEMA_INT_H
#define SY_CORE_JSONSCHEMA_INT_H

#include "base/sy.h"
#include "jsonschema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct rx_pat;      /* one compiled pattern; complete in jsonschema_rx.c */
struct rx_match;    /* PCRE2 match state of a call; in jsonschema_rx.c */
struct pending_ref; /* a $ref to verify; in jsonschema_check.c */

#define PATH_CAP   192 /* bytes of the path buffer */
#define PATH_LIMIT 150 /* past this, the path ends in "..." */

/* A compiled schema (jsonschema.h): the document and its patterns,
 * sorted by the address of their source string in the document. */
struct sy_schema {
    const struct json_object *root; /* borrowed */
    bool legacy_ref;     /* draft 4-7: siblings of $ref are ignored */
    struct rx_pat *pats; /* owned, npats of them */
    size_t npats;
    size_t cap;
    size_t bytes; /* compiled size of all patterns */
};

/* What the compile walk keeps besides the schema (jsonschema_check.c). */
struct compile_state {
    const void **walked; /* schemas the walk checked (owned) */
    size_t nwalked, cwalked;
    struct pending_ref *refs; /* $refs to verify at the end (owned) */
    size_t nrefs, crefs;
};

/* Evaluation state of one sy_schema_validate or sy_schema_compile call.
 * Set up by sy_jsonschema_ctx_init and released by jsonschema_ctx_cleanup
 * (jsonschema_ctx.c); the pattern fields belong to jsonschema_rx.c. */
struct vctx {
    const struct json_object *root; /* borrowed: the schema document */
    struct sy_schema *cs;        /* validate: borrowed; compile: being built */
    struct compile_state *cst;   /* compile only */
    struct sy_rx_budget *budget; /* validate: the request's */
    char *err;                   /* caller's buffer, may be NULL */
    size_t errlen;
    bool pointer_paths;  /* check: "#/a/b"; validate: "$.a.b" */
    char path[PATH_CAP]; /* where we are, NUL-terminated */
    size_t plen;
    unsigned depth;       /* nested schema applications */
    unsigned long steps;  /* applications plus comparisons */
    unsigned quiet;       /* > 0 inside anyOf, oneOf, not, if... */
    bool have_err;        /* 'err' holds the first violation */
    bool aborted;         /* a bound was hit: everything fails */
    struct rx_match *rxm; /* owned, lazily: match data and context */
};

/* A JSON number read from json-c. */
struct num {
    bool is_int; /* 'i' is exact */
    int64_t i;
    double d; /* always set */
};

/* Instance types as bits of a mask; an integral number is NUM | INT. */
enum {
    TY_NULL = 1u << 0,
    TY_BOOL = 1u << 1,
    TY_OBJ = 1u << 2,
    TY_ARR = 1u << 3,
    TY_NUM = 1u << 4,
    TY_STR = 1u << 5,
    TY_INT = 1u << 6,
    TY_ANY = 0x7f
};

/* What a keyword's value must look like, for sy_jsonschema_check. */
enum kw_arg {
    K_SCHEMA,      /* a schema */
    K_SCHEMA_MAP,  /* an object of schemas */
    K_SCHEMA_LIST, /* a non-empty array of schemas */
    K_ITEMS,       /* a schema or an array of schemas */
    K_COUNT,       /* a non-negative integer */
    K_NUMBER,      /* a finite number */
    K_BOUND,       /* a number, or a draft-4 boolean */
    K_POSITIVE,    /* a number > 0 */
    K_TYPE,        /* a type name or an array of them */
    K_NAMES,       /* an array of strings */
    K_ARRAY,       /* an array */
    K_ANY,         /* any value */
    K_BOOL,        /* a boolean */
    K_PATTERN,     /* a supported pattern */
    K_PATTERN_MAP, /* an object of pattern: schema */
    K_REF,         /* a resolvable local reference */
    K_DEPS         /* dependencies: names or a schema per property */
};

/* A keyword's validator: 's' the schema object (for siblings), 'k' the
 * keyword's value, 'v' the instance. */
typedef bool (*kw_fn)(struct vctx *c, const struct json_object *s,
                      const struct json_object *k, const struct json_object *v);

/* One row of the keyword table (jsonschema.c, which documents the
 * columns). */
struct kw {
    const char *name;
    unsigned types;
    kw_fn fn;
    enum kw_arg arg;
};

/* ------------------------------------------------------------------ */
/* jsonschema_ctx.c: context, messages, paths, budget                  */

/* Start a call: 'root' is the schema document (borrowed), 'err' the
 * caller's buffer (may be NULL), emptied; paths are JSON pointers ("#")
 * when 'pointer_paths', else instance paths ("$"). */
void sy_jsonschema_ctx_init(struct vctx *c, const struct json_object *root,
                            char *err, size_t errlen, bool pointer_paths);
/* Record the first violation as "<path>: <message>" unless quiet;
 * always false. */
bool sy_jsonschema_fail(struct vctx *c, const char *fmt, ...) SY_PRINTF(2, 3);
/* A bound was hit: report 'why' even when quiet, fail everything after;
 * always false. */
bool sy_jsonschema_abort_eval(struct vctx *c, const char *why, bool at_root);
/* Count a step; false (and abort) past SY_JSONSCHEMA_MAX_STEPS. */
bool sy_jsonschema_step(struct vctx *c);
/* Append an object key or an array index to the path; both return the
 * length to give back to sy_jsonschema_path_pop. */
size_t sy_jsonschema_path_key(struct vctx *c, const char *key);
size_t sy_jsonschema_path_index(struct vctx *c, size_t i);
void sy_jsonschema_path_pop(struct vctx *c, size_t saved);
/* A caller-safe copy of 'k' (printable ASCII, at most 'max' bytes), not
 * NUL-terminated; returns its length. */
size_t sy_jsonschema_safe_copy(char *out, const char *k, size_t max,
                               bool pointer);

/* ------------------------------------------------------------------ */
/* jsonschema_ctx.c: JSON values and $ref                              */

/* The bytes of a string object (call it on strings only). */
const char *sy_jsonschema_str_of(const struct json_object *o);
void sy_jsonschema_num_get(const struct json_object *o, struct num *n);
int sy_jsonschema_num_cmp(const struct num *a, const struct num *b);
void sy_jsonschema_num_fmt(const struct num *n, char *buf, size_t len);
bool sy_jsonschema_is_number(const struct json_object *o);
/* Integers are mathematical: 1.0 and 1e2 are integers. */
bool sy_jsonschema_is_integral(const struct json_object *o);
/* The TY_ bit of a type name; 0 when it is not one. */
unsigned sy_jsonschema_type_bit(const struct json_object *name);
/* The instance's TY_ mask. */
unsigned sy_jsonschema_type_of(const struct json_object *v);
const char *sy_jsonschema_type_name(const struct json_object *v);
/* JSON equality (1 equals 1.0); counts steps, aborts when too deep. */
bool sy_jsonschema_equal(struct vctx *c, const struct json_object *a,
                         const struct json_object *b, unsigned depth);
/* The schema that a local "#..." reference names; borrowed, or NULL. */
const struct json_object *sy_jsonschema_resolve_ref(
    const struct json_object *root, const char *ref);
/* An object or a boolean. */
bool sy_jsonschema_is_schema(const struct json_object *s);

/* ------------------------------------------------------------------ */
/* jsonschema_rx.c: patterns                                           */

/* Compile pattern 'src' (len bytes, borrowed from the schema: its address
 * is the key) into c->cs; false with the reason in 'why' when it cannot
 * be. */
bool sy_jsonschema_rx_add(struct vctx *c, const char *src, size_t len,
                          char *why, size_t whylen);
/* After the walk: sort the patterns for lookup. */
void sy_jsonschema_rx_finish(struct sy_schema *cs);
/* Free the compiled patterns of 'cs'. */
void sy_jsonschema_rx_free(struct sy_schema *cs);
/* 1 when pattern 'src' (the address compiled) matches in s[0..n), 0 when
 * not, -1 when it was not compiled or the subject is not UTF-8, -2 when
 * the regex budget or a match limit was hit (c is then aborted). */
int sy_jsonschema_rx_match(struct vctx *c, const char *src, const char *s,
                           size_t n);
/* Free the match state of 'c'. */
void sy_jsonschema_rx_cleanup(struct vctx *c);
/* The validating thread's CPU clock and the monotonic clock, in ns
 * (budget accounting). */
uint64_t sy_jsonschema_cpu_ns(void);
uint64_t sy_jsonschema_wall_ns(void);

/* ------------------------------------------------------------------ */
/* jsonschema.c: keywords                                              */

/* The keyword table's row for 'name', or NULL. */
const struct kw *sy_jsonschema_kw_find(const char *name);

/* ------------------------------------------------------------------ */
/* jsonschema_scalar.c: keywords on strings, numbers and counts        */

/* A count keyword's value (2.0 counts as 2); -1 when it is not one. */
int64_t sy_jsonschema_count_of(const struct json_object *k);
bool sy_jsonschema_kw_min_len(struct vctx *c, const struct json_object *s,
                              const struct json_object *k,
                              const struct json_object *v);
bool sy_jsonschema_kw_max_len(struct vctx *c, const struct json_object *s,
                              const struct json_object *k,
                              const struct json_object *v);
bool sy_jsonschema_kw_pattern(struct vctx *c, const struct json_object *s,
                              const struct json_object *k,
                              const struct json_object *v);
bool sy_jsonschema_kw_minimum(struct vctx *c, const struct json_object *s,
                              const struct json_object *k,
                              const struct json_object *v);
bool sy_jsonschema_kw_maximum(struct vctx *c, const struct json_object *s,
                              const struct json_object *k,
                              const struct json_object *v);
bool sy_jsonschema_kw_ex_minimum(struct vctx *c, const struct json_object *s,
                                 const struct json_object *k,
                                 const struct json_object *v);
bool sy_jsonschema_kw_ex_maximum(struct vctx *c, const struct json_object *s,
                                 const struct json_object *k,
                                 const struct json_object *v);
bool sy_jsonschema_kw_min_props(struct vctx *c, const struct json_object *s,
                                const struct json_object *k,
                                const struct json_object *v);
bool sy_jsonschema_kw_max_props(struct vctx *c, const struct json_object *s,
                                const struct json_object *k,
                                const struct json_object *v);
bool sy_jsonschema_kw_min_items(struct vctx *c, const struct json_object *s,
                                const struct json_object *k,
                                const struct json_object *v);
bool sy_jsonschema_kw_max_items(struct vctx *c, const struct json_object *s,
                                const struct json_object *k,
                                const struct json_object *v);
bool sy_jsonschema_kw_multiple_of(struct vctx *c, const struct json_object *s,
                                  const struct json_object *k,
                                  const struct json_object *v);

#endif
