/*
 * test_mount.c - unit tests for core/api/mount.c: the routing path derived
 * from REQUEST_URI, SCRIPT_NAME, PATH_INFO and server.base_path, as a
 * table with what lighttpd, Apache (mod_proxy_fcgi, mod_fcgid) and nginx
 * really send (captured with an echoing FastCGI backend); the tricks that
 * must give a 404 and never another route; server.base_path validation
 * in the config loader.
 * SPDX-License-Identifier: MIT
 */
#include "config_fixture.h"
#include "api/mount.h"
#include "serve/pipeline.h"

struct mcase {
    const char *what;
    const char *uri, *sn, *pi, *base;
    enum sy_mount_how how;
    const char *path; /* for OUTSIDE/BAD: a prefix of the description */
};

static const struct mcase cases[] = {
    /* Root mounts, as before: REQUEST_URI wins. */
    { "root, no split", "/v1/models?x=1", NULL, NULL, NULL, SY_MOUNT_RAW,
      "/v1/models" },
    { "apache ProxyPass / (SCRIPT_NAME is the path)", "/v1/chat/completions",
      "/v1/chat/completions", NULL, NULL, SY_MOUNT_RAW,
      "/v1/chat/completions" },
    { "lighttpd \"/\" splits on its own", "/v1/chat/completions", "/v1",
      "/chat/completions", NULL, SY_MOUNT_RAW, "/v1/chat/completions" },
    { "lighttpd \"/\" splits an unknown /v1 path", "/v1/messages/batches",
      "/v1", "/messages/batches", NULL, SY_MOUNT_RAW, "/v1/messages/batches" },
    { "lighttpd fix-root-scriptname", "/v1/models", "", "/v1/models", NULL,
      SY_MOUNT_RAW, "/v1/models" },
    /* fix-root-scriptname (the shipped lighttpd.conf): SCRIPT_NAME "" is
     * no mount; REQUEST_URI as for any root mount, checked the same. */
    { "fix-root-scriptname: made-up prefix", "/x/admin/keys", "",
      "/x/admin/keys", NULL, SY_MOUNT_RAW, "/x/admin/keys" },
    { "fix-root-scriptname: server resolved ..", "/metrics/../admin/keys", "",
      "/admin/keys", NULL, SY_MOUNT_BAD, "(not canonical)" },
    { "fix-root-scriptname: server merged //", "/admin//keys", "",
      "/admin/keys", NULL, SY_MOUNT_BAD, "(not canonical)" },
    { "SCRIPT_NAME /", "/x/metrics", "/", "/x/metrics", NULL, SY_MOUNT_RAW,
      "/x/metrics" },
    /* Without the option lighttpd's split of a made-up first segment is
     * what a real mount at /x sends: only the config can tell. */
    { "lighttpd \"/\" without the option: /x looks mounted", "/x/admin/keys",
      "/x", "/admin/keys", NULL, SY_MOUNT_SPLIT, "/admin/keys" },
    { "script mapping elsewhere", "/v1/models", "/switchyard", "/other", NULL,
      SY_MOUNT_RAW, "/v1/models" },
    { "no REQUEST_URI (CGI)", NULL, "/v1", "/models", NULL, SY_MOUNT_RAW,
      "/v1/models" },
    { "nothing at all", NULL, NULL, NULL, NULL, SY_MOUNT_RAW, "" },
    { "empty path", "?q", NULL, NULL, NULL, SY_MOUNT_RAW, "" },
    { "escapes decoded", "/v1/models/gpt%2D4o", NULL, NULL, NULL, SY_MOUNT_RAW,
      "/v1/models/gpt-4o" },
    /* Sub-path mounts the web server describes. */
    { "nginx split /llm", "/llm/v1/models?x=1", "/llm", "/v1/models", NULL,
      SY_MOUNT_SPLIT, "/v1/models" },
    { "lighttpd \"/llm\"", "/llm/v1/chat/completions", "/llm",
      "/v1/chat/completions", NULL, SY_MOUNT_SPLIT, "/v1/chat/completions" },
    { "mod_fcgid Alias", "/llm/healthz", "/llm", "/healthz", NULL,
      SY_MOUNT_SPLIT, "/healthz" },
    { "deeper mount", "/a/b/llm/healthz", "/a/b/llm", "/healthz", NULL,
      SY_MOUNT_SPLIT, "/healthz" },
    { "unknown path under the mount", "/llm/v2/nothing", "/llm", "/v2/nothing",
      NULL, SY_MOUNT_SPLIT, "/v2/nothing" },
    { "the mount itself", "/llm/", "/llm", "/", NULL, SY_MOUNT_SPLIT, "/" },
    { "nginx merged //, its ACLs saw the same", "/llm/v1//models", "/llm",
      "/v1/models", NULL, SY_MOUNT_SPLIT, "/v1/models" },
    { "nginx resolved .., its ACLs saw the same", "/llm/v1/../healthz", "/llm",
      "/healthz", NULL, SY_MOUNT_SPLIT, "/healthz" },
    { "PATH_INFO is decoded: model with a slash", "/llm/v1/models/a%2Fb",
      "/llm", "/v1/models/a/b", NULL, SY_MOUNT_SPLIT, "/v1/models/a/b" },
    /* SCRIPT_NAME that does not begin REQUEST_URI: no mount. */
    { "SCRIPT_NAME not at a segment boundary", "/llmx/v1/models", "/llm",
      "x/v1/models", NULL, SY_MOUNT_RAW, "/llmx/v1/models" },
    { "mount spelled with an escape", "/ll%6d/v1/models", "/llm", "/v1/models",
      NULL, SY_MOUNT_RAW, "/llm/v1/models" },
    /* PATH_INFO the server did not normalise: 404, no other route. */
    { "raw PATH_INFO with ..", "/llm/v1/../admin/keys", "/llm",
      "/v1/../admin/keys", NULL, SY_MOUNT_BAD, "(not canonical)" },
    { "PATH_INFO with //", "/llm/v1//models", "/llm", "/v1//models", NULL,
      SY_MOUNT_BAD, "(not canonical)" },
    { "PATH_INFO without /", "/llm/v1", "/llm", "v1", NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "PATH_INFO with a control character", "/llm/a%01", "/llm", "/a\001", NULL,
      SY_MOUNT_BAD, "(not canonical)" },
    /* lighttpd at "/" splits a gateway path it normalised: still the
     * gateway's path, refused; under a real mount the server's view. */
    { "root split of //", "/v1/messages//count_tokens", "/v1",
      "/messages/count_tokens", NULL, SY_MOUNT_BAD,
      "(not canonical) /v1/messages//count_tokens" },
    { "root split of ./", "/v1/messages/./count_tokens", "/v1",
      "/messages/count_tokens", NULL, SY_MOUNT_BAD, "(not canonical)" },
    { "mount: the server normalised //", "/llm/v1//models", "/llm",
      "/v1/models", NULL, SY_MOUNT_SPLIT, "/v1/models" },
    /* REQUEST_URI tricks when the gateway decodes it itself. */
    { "dot segment", "/v1/x/../models", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "encoded dot segment", "/v1/%2e%2E/healthz", NULL, NULL, NULL,
      SY_MOUNT_BAD, "(not canonical)" },
    { "trailing dot", "/v1/models/.", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "double slash", "//v1/models", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "encoded double slash", "/v1/%2Fmodels", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "encoded slash joins admin/keys", "/admin%2fkeys", NULL, NULL, NULL,
      SY_MOUNT_BAD, "(not canonical)" },
    { "encoded slash joins v1/models", "/v1%2Fmodels", NULL, NULL, NULL,
      SY_MOUNT_BAD, "(not canonical)" },
    { "encoded backslash", "/v1%5cmodels", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "encoded slash inside a model id", "/v1/models/org%2Fmodel", NULL, NULL,
      NULL, SY_MOUNT_RAW, "/v1/models/org/model" },
    { "NUL escape", "/healthz%00", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "truncated escape", "/healthz%4", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "bad hex", "/healthz%zz", NULL, NULL, NULL, SY_MOUNT_BAD,
      "(not canonical)" },
    { "dots inside a name are fine", "/v1/models/a..b/.x", NULL, NULL, NULL,
      SY_MOUNT_RAW, "/v1/models/a..b/.x" },
    /* server.base_path: SCRIPT_NAME/PATH_INFO are ignored. */
    { "base", "/llm/v1/models?x", "/llm/v1/models", NULL, "/llm", SY_MOUNT_BASE,
      "/v1/models" },
    { "base with trailing slash", "/llm/healthz", NULL, NULL, "/llm/",
      SY_MOUNT_BASE, "/healthz" },
    { "base: the mount itself", "/llm", NULL, NULL, "/llm", SY_MOUNT_BASE,
      "/" },
    { "base: split ignored", "/llm/v1/models", "/llm/v1", "/models", "/llm",
      SY_MOUNT_BASE, "/v1/models" },
    { "base /", "/v1/models", NULL, NULL, "/", SY_MOUNT_BASE, "/v1/models" },
    { "base /: lighttpd's split ignored", "/x/admin/keys", "/x", "/admin/keys",
      "/", SY_MOUNT_BASE, "/x/admin/keys" },
    { "base: encoded slash", "/llm/admin%2Fkeys", NULL, NULL, "/llm",
      SY_MOUNT_BAD, "(not canonical)" },
    { "outside base", "/v1/models", NULL, NULL, "/llm", SY_MOUNT_OUTSIDE,
      "(outside server.base_path /llm) /v1/models" },
    { "outside base: no boundary", "/llmx/v1/models", NULL, NULL, "/llm",
      SY_MOUNT_OUTSIDE, "(outside server.base_path /llm)" },
    { "outside base: escaped prefix", "/%6clm/v1/models", NULL, NULL, "/llm",
      SY_MOUNT_OUTSIDE, "(outside" },
    { "base: dot segment", "/llm/x/../v1/models", NULL, NULL, "/llm",
      SY_MOUNT_BAD, "(not canonical)" },
    { "base: .. escaping the mount", "/llm/../admin/keys", NULL, NULL, "/llm",
      SY_MOUNT_BAD, "(not canonical)" },
};

static void
test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const struct mcase *c = &cases[i];
        struct sy_mount_in in = { c->uri, c->sn, c->pi, c->base };
        const char *out = NULL;
        enum sy_mount_how how =
            sy_mount_path(&in, sy_pipeline_is_route, &scratch, &out);
        assert_non_null(out);
        bool desc = how == SY_MOUNT_OUTSIDE || how == SY_MOUNT_BAD;
        bool ok =
            how == c->how && (desc ? strncmp(out, c->path, strlen(c->path)) == 0
                                   : strcmp(out, c->path) == 0);
        if (!ok)
            fail_msg("case '%s': got %d \"%s\", want %d \"%s\"", c->what,
                     (int)how, out, (int)c->how, c->path);
        /* A refused request never reaches a route. */
        if (desc)
            assert_false(sy_pipeline_is_route(out) || out[0] == '/');
    }
}

/* The real route table agrees with the fake one on the paths above. */
static void
test_pipeline_routes(void **state)
{
    (void)state;
    assert_true(sy_pipeline_is_route("/v1/chat/completions"));
    assert_true(sy_pipeline_is_route("/v1/models"));
    assert_true(sy_pipeline_is_route("/v1/models/x"));
    assert_true(sy_pipeline_is_route("/healthz"));
    assert_true(sy_pipeline_is_route("/admin/keys"));
    assert_true(sy_pipeline_is_route("/admin/keys/k1"));
    assert_true(sy_pipeline_is_route("/v1/models/")); /* the /v1 namespace */
    assert_true(sy_pipeline_is_route("/v1/messages/nope"));
    assert_false(sy_pipeline_is_route("/v1"));
    assert_false(sy_pipeline_is_route("/llm/v1/messages/nope"));
    assert_false(sy_pipeline_is_route("/llm/v1/models"));
    assert_false(sy_pipeline_is_route("/chat/completions"));
    assert_false(sy_pipeline_is_route("(outside server.base_path /x) /"));
}

/* sy_mount_req reads the parameters through the transport callback. */
static const char *const *params;

static const char *
param(void *io, const char *name)
{
    (void)io;
    for (size_t i = 0; params[i] != NULL; i += 2)
        if (strcmp(params[i], name) == 0)
            return params[i + 1];
    return NULL;
}

static void
test_req(void **state)
{
    (void)state;
    static const char *const p[] = { "REQUEST_URI", "/llm/v1/models",
                                     "SCRIPT_NAME", "/llm",
                                     "PATH_INFO",   "/v1/models",
                                     NULL };
    params = p;
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &scratch;
    sy_mount_req(param, NULL, NULL, sy_pipeline_is_route, &r);
    assert_string_equal(r.path, "/v1/models");
    sy_mount_req(param, NULL, "/other", sy_pipeline_is_route, &r);
    assert_string_equal(r.path,
                        "(outside server.base_path /other) /llm/v1/models");
}

static void
test_base_problem(void **state)
{
    (void)state;
    assert_null(sy_mount_base_problem("/"));
    assert_null(sy_mount_base_problem("/llm"));
    assert_null(sy_mount_base_problem("/llm/"));
    assert_null(sy_mount_base_problem("/a/b-c_d.e~f"));
    static const char *const bad[] = { "",     "llm",   "/llm/../x", "/./x",
                                       "//x",  "/a//b", "/l m",      "/llm%2F",
                                       "/x?y", "/x#y",  "/x\\y",     "/x\ty" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        if (sy_mount_base_problem(bad[i]) == NULL)
            fail_msg("base path \"%s\" accepted", bad[i]);
    char longp[300];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_non_null(sy_mount_base_problem(longp));
}

static void
test_config(void **state)
{
    (void)state;
    load_ok(with_server("'base_path':'/llm'"));
    assert_string_equal(cfg->server.base_path, "/llm");
    sy_config_free(cfg);
    cfg = NULL;
    load_ok(J(MIN_CONFIG));
    assert_null(cfg->server.base_path);
    sy_config_free(cfg);
    cfg = NULL;
    load_bad(with_server("'base_path':'llm'"));
    has_line("t: server.base_path: unusable base path: it must start with "
             "'/' (hint: the URL prefix the web server mounts the gateway "
             "under, e.g. \"/llm\")");
    load_bad(with_server("'base_path':'/llm/../x'"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "server.base_path"));
    load_bad(with_server("'base_path':7"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "server.base_path"));
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_table),        T(test_pipeline_routes), T(test_req),
        T(test_base_problem), T(test_config),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
