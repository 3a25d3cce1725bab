/*
 * test_responses_history.c - the conversation previous_response_id
 * rebuilds (core/serve/pipeline_responses.c merge_history) is held to
 * every bound of a caller's body: its JSON values (a history and an
 * input each within the bound, together over it: 413 naming
 * previous_response_id, "start a new one"), counted at the configured
 * depth (nesting ahead of the input must not stop the count), and its
 * depth (a kept answer nested deeper than the bound: 400).
 * SPDX-License-Identifier: MIT
 */
#define RESPONSES_TEST_NAME "test_responses_history"
#include "responses_store_fixture.h"

/* A conversation whose history and new input together pass the body's
 * bound on JSON values (each alone within it) is refused as the byte
 * limit is: 413 naming previous_response_id, "start a new one". */
static void
test_history_values_bounded(void **state)
{
    (void)state;
    NEED_REDIS();
    char *first = items_body(20000, NULL),
         *next = items_body(20000, "resp_many"),
         *small = items_body(10, "resp_many");
    assert_true(prepare("alice", first));
    keep("{'id':'resp_many','object':'response','output':[]}");
    assert_false(prepare("alice", next));
    assert_int_equal(status, 413);
    assert_string_equal(err_param(), "previous_response_id");
    assert_non_null(strstr(body, "JSON values"));
    assert_non_null(strstr(body, "start a new one"));
    /* Within the bound: the history is merged. */
    assert_true(prepare("alice", small));
    free(first);
    free(next);
    free(small);
}

/* The rebuilt conversation is held to every bound of a caller's body:
 * a check stopped by nesting ahead of the input has not counted its
 * values (the body's depth is the configured one, not the default). */
static void
test_history_depth_bounded(void **state)
{
    (void)state;
    NEED_REDIS();
    unsigned depth = cfg->server.max_json_depth;
    cfg->server.max_json_depth = 100;
    /* 70 levels in 'text', then 20,000 values of input per turn. */
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    char *items = items_body(20000, "resp_deep");
    size_t n = strlen(items) + strlen(deep) + 64;
    char *next = malloc(n);
    assert_non_null(next);
    /* items_body's object with a 'metadata' member nested 70 deep first */
    snprintf(next, n, "{'metadata':{'x':%s},%s", deep, items + 1);
    char *first = items_body(20000, NULL);
    assert_true(prepare("alice", first));
    keep("{'id':'resp_deep','object':'response','output':[]}");
    assert_false(prepare("alice", next));
    assert_int_equal(status, 413);
    assert_non_null(strstr(body, "JSON values"));
    /* A kept answer nested deeper than the configured bound: the next
     * turn is refused as such (400, as a body nested too deep). */
    cfg->server.max_json_depth = 64;
    /* 61 levels under 'annotations': the kept record reads back (its
     * parse allows a few levels over the bound), the rebuilt input
     * nests 66 deep. */
    deep[61] = '\0';
    memset(deep + 61, 0, sizeof(deep) - 61);
    for (int i = 0; i < 61; i++)
        deep[61 + i] = ']';
    char reply[600];
    snprintf(reply, sizeof(reply),
             "{'id':'resp_deeper','object':'response','output':[{'type':"
             "'message','role':'assistant','content':[{'type':'output_text',"
             "'text':'x','annotations':%s}]}]}",
             deep);
    assert_true(prepare("alice", "{'model':'g','input':'x'}"));
    keep(reply);
    assert_false(prepare("alice", "{'model':'g','input':'x',"
                                  "'previous_response_id':'resp_deeper'}"));
    assert_int_equal(status, 400);
    assert_non_null(strstr(body, "nests deeper"));
    cfg->server.max_json_depth = depth;
    free(items);
    free(next);
    free(first);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_history_values_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_history_depth_bounded, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
