/*
 * fuzz_schema.c - libFuzzer target for caller-supplied JSON Schemas:
 * sy_schema_compile, then sy_schema_validate of instances under one
 * request's regex budget, as the pipeline does with response_format and
 * tool parameters.
 *
 * Input: JSON text. An array [schema, instance, ...] validates each
 * instance against the schema; anything else is the schema, validated
 * against a few fixed instances. Parsed with the request's depth limit
 * (64). Beyond the sanitizers: validation of a schema that compiled
 * never takes longer than libFuzzer's -timeout (the budget must stop it),
 * and an error message is always terminated.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "contract/jsonschema.h"

static const char *const fixed[] = {
    "{}",        "[]",   "0",
    "-1.5",      "\"\"", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
    "null",      "true", "{\"a\":1,\"b\":[1,2,3],\"c\":{\"d\":\"x\"}}",
    "[[[[[]]]]]"
};
static struct json_object *fixed_doc[SY_ARRAY_LEN(fixed)];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < SY_ARRAY_LEN(fixed); i++)
        fixed_doc[i] = json_tokener_parse(fixed[i]);
    return 0;
}

static void
check_msg(const char *err, size_t len)
{
    if (memchr(err, '\0', len) == NULL)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *doc =
        json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (doc == NULL)
        return 0;
    struct json_object *schema = doc;
    size_t ninst = 0;
    bool arr = json_object_is_type(doc, json_type_array) &&
               json_object_array_length(doc) >= 2;
    if (arr) {
        schema = json_object_array_get_idx(doc, 0);
        ninst = json_object_array_length(doc) - 1;
    } else {
        ninst = SY_ARRAY_LEN(fixed);
    }
    char err[256];
    memset(err, 'x', sizeof(err));
    struct sy_schema *cs = sy_schema_compile(schema, err, sizeof(err));
    if (cs == NULL) {
        check_msg(err, sizeof(err));
        json_object_put(doc);
        return 0;
    }
    struct sy_rx_budget budget;
    sy_rx_budget_init(&budget);
    for (size_t i = 0; i < ninst && i < 64; i++) {
        struct json_object *inst =
            arr ? json_object_array_get_idx(doc, i + 1) : fixed_doc[i];
        memset(err, 'x', sizeof(err));
        if (!sy_schema_validate(cs, inst, &budget, err, sizeof(err)))
            check_msg(err, sizeof(err));
    }
    sy_schema_free(cs);
    json_object_put(doc);
    return 0;
}
