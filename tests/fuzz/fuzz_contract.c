/*
 * fuzz_contract.c - libFuzzer target for the output-contract parsers:
 * what a model answers (message content, tool-call arguments, possibly
 * fenced in markdown) read by sy_contract_unfence, sy_contract_parse_json
 * (its own pre-scan, then json-c), sy_contract_check_json (object, and
 * against a small fixed schema) and sy_contract_check_tool_args; the same
 * bytes as a stream chunk for sy_chat_chunk_gather.
 *
 * The same bytes also test the strict JSON parse every outside input goes
 * through (core/base/json_strict.c) against json-c's own strict mode: what it
 * accepts, json-c's strict tokener (UTF-8 checked) accepts too; what it
 * accepts, serialised again, parses again; its message is terminated.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "contract/contract.h"
#include "base/json_strict.h"

static struct json_object *schema;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    schema = json_tokener_parse(
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
        "\"b\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
        "\"pattern\":\"^[a-z]+$\"}}},\"required\":[\"a\"],"
        "\"additionalProperties\":false}");
    if (schema == NULL)
        abort();
    return 0;
}

static void
strict_json(const char *s, size_t size)
{
    struct sy_json_limits lim = { 64, 0 };
    struct sy_json_result res;
    struct json_object *o = NULL;
    enum sy_json_status st = sy_json_parse_strict(s, size, &lim, &o, &res);
    char msg[160];
    memset(msg, 'x', sizeof(msg));
    sy_json_describe(&res, "the body", false, msg, sizeof(msg));
    if (memchr(msg, '\0', sizeof(msg)) == NULL)
        abort();
    if (st != SY_JSON_OK) {
        if (o != NULL)
            abort(); /* a failure hands nothing out */
        return;
    }
    /* json-c's strict mode, UTF-8 checked, with room for the depth. */
    struct json_tokener *tok = json_tokener_new_ex(80);
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *ref = json_tokener_parse_ex(tok, s, (int)size);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (ref == NULL && je == json_tokener_continue) {
        /* a bare number needs an end */
        ref = json_tokener_parse_ex(tok, " ", 1);
        je = json_tokener_get_error(tok);
    }
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    bool rest_ws = true;
    for (size_t i = end; i < size && rest_ws; i++)
        rest_ws = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
    if (je != json_tokener_success || (ref == NULL && o != NULL)) {
        fprintf(stderr,
                "fuzz: strict parse took what json-c refuses: "
                "%s\n",
                json_tokener_error_desc(je));
        abort();
    }
    (void)rest_ws; /* json-c stops after one value; the rest was ours */
    json_object_put(ref);
    /* Serialised again, it parses again. */
    const char *again = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    struct json_object *o2 = NULL;
    struct sy_json_limits lim2 = { 64, 64u << 20 };
    enum sy_json_status st2 =
        sy_json_parse_strict(again, strlen(again), &lim2, &o2, &res);
    if (st2 != SY_JSON_OK) {
        fprintf(stderr,
                "fuzz: a parsed value does not parse again (%d): "
                "%.300s\n",
                (int)st2, again);
        abort();
    }
    json_object_put(o2);
    json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    strict_json(s, size);
    const char *inner;
    size_t ilen;
    if (sy_contract_unfence(s, size, &inner, &ilen) &&
        (inner < s || inner + ilen > s + size))
        abort(); /* the inside of the fence lies inside the text */
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    char err[256];
    struct json_object *doc = NULL;
    bool unfenced = false;
    sy_contract_parse_json(s, size, 64, &a, &doc, err, sizeof(err), &unfenced);
    sy_contract_check_json(s, size, NULL, 64, &a, err, sizeof(err), &unfenced);
    sy_contract_check_json(s, size, schema, 64, &a, err, sizeof(err),
                           &unfenced);
    sy_contract_check_tool_args(s, size, NULL, 64, err, sizeof(err));
    sy_contract_check_tool_args(s, size, schema, 64, err, sizeof(err));
    struct sy_stream_answer ans;
    sy_stream_answer_init(&ans);
    sy_chat_chunk_gather(s, size, &ans);
    sy_chat_chunk_gather(s, size, &ans);
    sy_stream_answer_free(&ans);
    sy_arena_cleanup(&a);
    return 0;
}
