/*
 * golden.h - what the files of the adapter golden runner share
 * (test_adapters.c: discovery, one case, config key checks;
 * golden_util.c: files and JSON comparison; golden_env.c: the fake
 * deployment and calls; golden_check.c: requests, replies, failures;
 * golden_stream.c: streams fed at every split point). The case folder
 * format is described in test_adapters.c and adapters/README.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_GOLDEN_H
#define SY_TESTS_GOLDEN_H

#include "base/sy.h"
#include "api/adapter.h"
#include "api/sse.h"
#include "adapters/common.h"
#include "api/chat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>

/* The fake key; it must never show in a body or a failure message. */
#define API_KEY "sk-test-SECRET-0123456789"

struct tcase {
    char dir[1024]; /* the case folder */
    char name[600]; /* "<provider>/<case>" */
};

/* One case's fake deployment and parsed request (golden_env.c). */
struct env {
    struct sy_arena arena;   /* case lifetime */
    struct sy_target target; /* the deployment, as the adapter sees it */
    struct sy_chat_req req;
    const struct sy_adapter *ad;
    struct json_object *conf; /* provider.json (owned) */
    struct sy_header_kv *resp_headers;
    size_t nresp_headers;
};

/* golden_util.c */
char *golden_read_file(const char *dir, const char *name, size_t *len);
struct json_object *golden_read_json(const char *dir, const char *name);
void golden_expect_json(const char *what, struct json_object *want,
                        struct json_object *got);

/* golden_env.c */
void golden_env_init(struct env *e, const struct tcase *tc);
void golden_env_cleanup(struct env *e);
void golden_call_init(struct env *e, struct sy_adapter_call *call,
                      struct sy_arena *a, struct sy_failure *fail);
enum sy_err golden_build(struct env *e, struct sy_adapter_call *call,
                         struct sy_http_out *out, struct sy_buf *body);

/* golden_check.c */
void golden_check_request(const struct tcase *tc, struct env *e);
void golden_check_usage(struct json_object *want, const struct sy_usage *u);
char *golden_reply_body(const struct tcase *tc, struct env *e,
                        struct json_object *reply, size_t *len);
void golden_check_reply(const struct tcase *tc, struct env *e,
                        struct json_object *exp, struct json_object *reply,
                        const char *body, size_t len);

/* golden_stream.c */
void golden_check_stream(const struct tcase *tc, struct env *e,
                         struct json_object *exp, const char *body, size_t len);

#endif
