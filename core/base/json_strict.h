/*
 * json_strict.h - the one strict JSON parse for bytes from outside the
 * process (client bodies, provider replies and stream events, model
 * answers checked by a contract). An RFC 8259 scan runs before json-c
 * builds anything, and the same scan estimates what the tree will cost in
 * memory, so a small body of empty objects ("[{},{},...]": json-c spends
 * ~800 bytes on each) is refused before it is allocated.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_JSON_STRICT_H
#define SY_CORE_JSON_STRICT_H

#include "sy.h"

struct json_object;

/* Rough bytes json-c spends per node (measured on json-c 0.16: an object
 * carries a 16-entry hash table, an array a 32-slot list). */
#define SY_JSON_COST_OBJECT 800u
#define SY_JSON_COST_ARRAY  320u
#define SY_JSON_COST_SCALAR 96u

enum sy_json_status {
    SY_JSON_OK,
    SY_JSON_EMPTY,     /* nothing but whitespace */
    SY_JSON_EOF,       /* ends in the middle of a value */
    SY_JSON_BAD,       /* not RFC 8259 ('why' says what) */
    SY_JSON_DEPTH,     /* nested deeper than the limit */
    SY_JSON_TRAILING,  /* more after the value */
    SY_JSON_COMPLEX,   /* the tree would cost more than the limit */
    SY_JSON_NONFINITE, /* a number overflows a double (1e999) */
    SY_JSON_UTF8,      /* invalid UTF-8 in a string */
    SY_JSON_TOOBIG,    /* longer than INT_MAX: json-c cannot take it */
    SY_JSON_VALUES     /* more values than sy_json_parse_bounded allows */
};

struct sy_json_limits {
    unsigned max_depth;    /* 0: 64; at most 1024 */
    size_t max_tree_bytes; /* 0: 48 x the text + 2 MiB */
};

struct sy_json_result {
    enum sy_json_status status;
    size_t at;          /* byte where the scan stopped */
    const char *why;    /* static detail for SY_JSON_BAD */
    size_t tree_bytes;  /* the estimate */
    unsigned max_depth; /* the depth limit that applied */
    unsigned depth;     /* the deepest nesting of the text (on success) */
    size_t values;      /* counted values (objects, arrays, strings) */
    size_t max_values;  /* the bound on them that applied (0: none) */
};

/* Parse exactly one JSON value (whitespace around it allowed) into '*out'
 * (the caller owns it; NULL is the JSON null). On failure '*out' is NULL
 * and 'res' says why. 'lim' may be NULL (defaults). */
enum sy_json_status sy_json_parse_strict(const char *s, size_t len,
                                         const struct sy_json_limits *lim,
                                         struct json_object **out,
                                         struct sy_json_result *res);

/* sy_json_parse_strict that also refuses (SY_JSON_VALUES, 'res->at' at
 * the first value too many) a text of more than 'max_values' JSON values:
 * objects, arrays and strings (keys, numbers and literals not counted:
 * they cost json-c the least, and the tree estimate bounds them by
 * bytes). 0: no such bound. The scan stops there, before json-c
 * allocates anything. A caller's request body is parsed with
 * SY_REQUEST_MAX_JSON_VALUES (core/base/limits.h): the tree json-c
 * builds, and each copy a surface or an adapter makes of it, grows with
 * the values, not with the bytes. */
enum sy_json_status sy_json_parse_bounded(const char *s, size_t len,
                                          const struct sy_json_limits *lim,
                                          size_t max_values,
                                          struct json_object **out,
                                          struct sy_json_result *res);

/* The checks of sy_json_parse_bounded without the tree: for a text the
 * program built itself from trees already parsed (a stored conversation
 * joined to a request), that must meet the bounds a caller's body
 * meets. */
enum sy_json_status sy_json_check_bounded(const char *s, size_t len,
                                          const struct sy_json_limits *lim,
                                          size_t max_values,
                                          struct sy_json_result *res);

/* Is 'v' a string whose text holds no NUL? JSON may carry one escaped
 * (\u0000); a name read as a C string would stop there, so what is
 * checked would not be what was sent. */
bool sy_json_whole_string(struct json_object *v);

/* The depth bound sy_json_parse_strict applies for 'lim' (NULL: the
 * default). */
unsigned sy_json_depth_limit(const struct sy_json_limits *lim);

/* A short message for a failed parse, safe to show to the caller:
 * "<what> is not valid JSON (at byte 12: invalid number)". 'plural'
 * picks "are" over "is". */
void sy_json_describe(const struct sy_json_result *res, const char *what,
                      bool plural, char *err, size_t errlen);

#endif
