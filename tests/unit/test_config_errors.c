/*
 * test_config_errors.c - every error path of core/config/config.c: each error
 * names its JSON path and gives a hint; several errors are all reported.
 * SPDX-License-Identifier: MIT
 */
#include "config_fixture.h"

static void
test_error_invalid_json(void **state)
{
    (void)state;
    load_bad("{\n  \"server\": {,\n}");
    has_line("t: (top level): invalid JSON at line 2 column 14: expected "
             "a quoted property name (hint: check commas, quotes and "
             "brackets near there)");
    assert_int_equal(nlines(), 1);
    load_bad("{\"a\":\n\n   tru }");
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: (top level): invalid JSON at line 3 column"));
    load_bad("{");
    has_line("t: (top level): invalid JSON at line 1 column 2: unexpected "
             "end of file (hint: check commas, quotes and brackets near "
             "there)");
    load_bad("");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: (top level): invalid "
                                               "JSON at line 1 column 1"));
    load_bad(J("{'a':1}\n  x"));
    has_line("t: (top level): unexpected text after the JSON value at line "
             "2 column 3 (hint: remove what follows the closing brace)");
    /* Strict JSON, as for request bodies: no comments, no trailing
     * commas, no raw control characters in strings. */
    load_bad("{\"server\": {}, /* c */}");
    has_line("t: (top level): invalid JSON at line 1 column 16: expected "
             "a quoted property name (hint: check commas, quotes and "
             "brackets near there)");
    load_bad("{\"server\": {},}");
    assert_non_null(strstr(sy_buf_cstr(&errs), "line 1 column 15"));
    load_bad("{\"x\": \"a\tb\"}");
    has_line("t: (top level): invalid JSON at line 1 column 9: control "
             "character in a string (hint: check commas, quotes and "
             "brackets near there)");
    load_bad(J("[]"));
    has_line("t: (top level): must be an object, not an array (hint: "
             "write an object: {\"key\": value, ...})");
}

static void
test_error_top_level_scalars(void **state)
{
    (void)state;
    /* Valid JSON that is not an object: say so (helper4 report [16]). */
    load_bad("42\n");
    has_line("t: (top level): must be an object, not an integer (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("\"x\"");
    has_line("t: (top level): must be an object, not a string (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("42");
    has_line("t: (top level): must be an object, not an integer (hint: "
             "write an object: {\"key\": value, ...})");
    load_bad("null\n");
    has_line("t: (top level): must be an object, not null (hint: write an "
             "object: {\"key\": value, ...})");
}

static void
test_error_too_big(void **state)
{
    (void)state;
    size_t n = (4u << 20) + 1;
    char *big = sy_arena_alloc(&scratch, n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    load_bad(big);
    has_line("t: (top level): config larger than 4194304 bytes (hint: a "
             "config is a few KiB; check the file name)");
}

static void
test_error_unknown_section(void **state)
{
    (void)state;
    load_bad(J("{'servers':{},'providers':{" PROV_LOCAL "},"
               "'deployments':{" DEP_D "},'groups':{" GRP_G "}}"));
    has_line("t: servers: unknown section \"servers\" (hint: top-level "
             "sections: server, state, tracing, metrics, keys, providers, "
             "deployments, groups)");
    assert_int_equal(nlines(), 1);
}

static void
test_error_missing_sections(void **state)
{
    (void)state;
    load_bad("{}");
    has_line("t: providers: missing required section (hint: see "
             "conf/README.md)");
    has_line("t: deployments: missing required section (hint: see "
             "conf/README.md)");
    has_line("t: groups: missing required section (hint: see "
             "conf/README.md)");
    assert_int_equal(nlines(), 3);
    load_bad(J("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
               "'groups':{}}"));
    has_line("t: groups: no groups defined (hint: add a group: the model "
             "name clients ask for)");
}

static void
test_error_unknown_keys(void **state)
{
    (void)state;
    load_bad(with_server("'thread':4"));
    has_line("t: server.thread: unknown key \"thread\" (hint: known keys "
             "here: listen, processes, threads, thread_stack_kb, "
             "max_body_bytes, max_json_depth, drain_timeout_ms, "
             "body_timeout_ms, write_timeout_ms, log_level, trust_request_id, "
             "usage_log, "
             "access_log, base_path, admin_key_env)");
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','api_key':'sk-x'"));
    /* Adapters may add their own keys after the common ones. */
    assert_non_null(strstr(
        sy_buf_cstr(&errs),
        "t: providers.p.api_key: unknown key \"api_key\" "
        "(hint: known keys here: key_rpm, key_tpm, markup_pct, base_url, type, "
        "api_key_env, headers, auth"));
    assert_int_equal(nlines(), 1);
    load_bad(with_deployment("'provider':'local','model':'m','modle':'x'"));
    has_line("t: deployments.d.modle: unknown key \"modle\" (hint: known "
             "keys here: model, max_response_bytes, weight, provider, "
             "timeouts, price, capabilities, "
             "allow_fields)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'connect':1}"));
    has_line("t: deployments.d.timeouts.connect: unknown key \"connect\" "
             "(hint: known keys here: connect_ms, first_byte_ms, idle_ms, "
             "total_ms)");
    load_bad(with_groups("'g':{'deployments':['d'],'fallback':['e']}"));
    has_line("t: groups.g.fallback: unknown key \"fallback\" (hint: known "
             "keys here: min_samples, explore_pct, clamp_max_tokens, "
             "deployments, offline, strategy, thresholds, contract, "
             "description, aliases, affinity, hedge)");
}

static void
test_error_wrong_types(void **state)
{
    (void)state;
    load_bad(with_server("'processes':'2'"));
    has_line("t: server.processes: must be an integer, not a string (hint: "
             "an integer from 1 to 256)");
    load_bad(with_server("'processes':2.5"));
    has_line("t: server.processes: must be an integer, not a number (hint: "
             "an integer from 1 to 256)");
    load_bad(with_server("'trust_request_id':1"));
    has_line("t: server.trust_request_id: must be true or false, not an "
             "integer (hint: write true or false)");
    load_bad(with_server("'listen':9000"));
    has_line("t: server.listen: must be a string, not an integer (hint: "
             "\"unix:/path/to.sock\", \"127.0.0.1:9000\" or a port)");
    load_bad(with_server("'log_level':'loud'"));
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    load_bad(with_server("'log_level':3"));
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    load_bad(J("{'server':[],'providers':{" PROV_LOCAL "},'deployments':{" DEP_D
               "},'groups':{" GRP_G "}}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: server: must be an object, not an array"));
    load_bad(J("{'providers':[],'deployments':{},'groups':{}}"));
    has_line("t: providers: must be an object, not an array (hint: an "
             "object keyed by name)");
    load_bad(J("{'providers':{'p':'openai'},'deployments':{},"
               "'groups':{}}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p: must be an "
                                               "object, not a string"));
    load_bad(with_deployment("'provider':'local','model':4"));
    has_line("t: deployments.d.model: must be a string, not an integer "
             "(hint: the provider's model id)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':5"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: deployments.d.timeouts: "
                                               "must be an object, not an "
                                               "integer"));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'total_ms':'1s'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: deployments.d.timeouts."
                                               "total_ms: must be an "
                                               "integer, not a string"));
    load_bad(with_groups("'g':{'deployments':'d'}"));
    has_line("t: groups.g.deployments: must be an array, not a string "
             "(hint: a list of deployment names)");
    load_bad(with_groups("'g':{'deployments':['d',7]}"));
    has_line("t: groups.g.deployments[1]: must be a string, not an integer "
             "(hint: a deployment name)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'api_key_env':3"));
    has_line("t: providers.p.api_key_env: must be an array, not an integer "
             "(hint: a list of environment variable names)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'api_key_env':['A',false]"));
    has_line("t: providers.p.api_key_env[1]: must be a string, not a "
             "boolean (hint: an environment variable name)");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':['X-A: b']"));
    has_line("t: providers.p.headers: must be an object, not an array "
             "(hint: an object of header name to value)");
}

static void
test_error_out_of_range(void **state)
{
    (void)state;
    load_bad(with_server("'threads':0"));
    has_line("t: server.threads: value 0 out of range (hint: allowed range "
             "1..8192)");
    load_bad(with_server("'processes':257"));
    has_line("t: server.processes: value 257 out of range (hint: allowed "
             "range 1..256)");
    load_bad(with_server("'max_body_bytes':-1"));
    has_line("t: server.max_body_bytes: value -1 out of range (hint: "
             "allowed range 1024..268435456)");
    load_bad(with_server("'max_json_depth':1001"));
    has_line("t: server.max_json_depth: value 1001 out of range (hint: "
             "allowed range 4..1000)");
    load_bad(with_server("'thread_stack_kb':64"));
    has_line("t: server.thread_stack_kb: value 64 out of range (hint: "
             "allowed range 128..65536)");
    load_bad(with_server("'thread_stack_kb':4294967360"));
    has_line("t: server.thread_stack_kb: value 4294967360 out of range "
             "(hint: allowed range 128..65536)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'connect_ms':0}"));
    has_line("t: deployments.d.timeouts.connect_ms: value 0 out of range "
             "(hint: allowed range 1..600000)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'timeouts':{'total_ms':86400001}"));
    has_line("t: deployments.d.timeouts.total_ms: value 86400001 out of "
             "range (hint: allowed range 1..86400000)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'max_response_bytes':100"));
    has_line("t: deployments.d.max_response_bytes: value 100 out of range "
             "(hint: allowed range 1024..1073741824)");
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_per_mtok':-1}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: deployments.d.price.cache_write_per_mtok: "));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_per_mtok':100001}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: deployments.d.price.cache_write_per_mtok: "));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_per_mtok':'1'}"));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_1h_per_mtok':-1}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: deployments.d.price.cache_write_1h_per_mtok: "));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_1h_per_mtok':100001}"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: deployments.d.price.cache_write_1h_per_mtok: "));
    load_bad(with_deployment("'provider':'local','model':'m',"
                             "'price':{'cache_write_1h_per_mtok':'2'}"));
    /* Nesting that the thread stacks cannot free or print. */
    load_bad(with_server("'thread_stack_kb':128,'max_json_depth':600"));
    has_line("t: server.max_json_depth: 600 levels do not fit in 128 KiB "
             "thread stacks (hint: lower it, or raise "
             "server.thread_stack_kb (4 levels per KiB of stack))");
    /* Beyond 64 bits: still refused. */
    load_bad(with_server("'threads':99999999999999999999999"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: server.threads: "));
}

static void
test_error_provider(void **state)
{
    (void)state;
    load_bad(with_provider("'type':'anthropix','base_url':'http://h',"
                           "'auth':'none'"));
    /* The hint lists the registered adapters, openai among them. */
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: providers.p.type: unknown provider type "
                           "\"anthropix\" (hint: known types: "));
    assert_non_null(strstr(sy_buf_cstr(&errs), "openai"));
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'ftp://h',"
                           "'auth':'none'"));
    has_line("t: providers.p.base_url: \"ftp://h\" is not an HTTP URL "
             "(hint: use an http:// or https:// URL with a host)");
    /* A scheme alone, or a URL with blanks, is not enough (a tab written
     * as the JSON escape: a raw one is not JSON). */
    static const char *const bad_urls[] = { "http://", "https:///v1",
                                            "http://a b", "http://h\\tx" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_urls); i++) {
        char pbody[128];
        snprintf(pbody, sizeof(pbody),
                 "'type':'openai','base_url':'%s','auth':'none'", bad_urls[i]);
        load_bad(with_provider(pbody));
        assert_non_null(
            strstr(sy_buf_cstr(&errs), "t: providers.p.base_url: "));
        assert_int_equal(nlines(), 1);
    }
    load_bad(with_provider("'type':'openai','base_url':'api.openai.com',"
                           "'auth':'none'"));
    has_line("t: providers.p.base_url: \"api.openai.com\" is not an HTTP "
             "URL (hint: use an http:// or https:// URL with a host)");
    load_bad(with_provider("'type':'openai','auth':'none'"));
    has_line("t: providers.p.base_url: missing required key (hint: e.g. "
             "\"https://api.openai.com/v1\")");
    load_bad(with_provider("'base_url':'http://h','auth':'none'"));
    has_line("t: providers.p.type: missing required key (hint: an adapter "
             "name, e.g. \"openai\")");
    load_bad(with_provider("'type':'openai','base_url':'http://h'"));
    has_line("t: providers.p: provider needs API keys (hint: add "
             "\"api_key_env\": [\"NAME_OF_VARIABLE\"], or \"auth\": "
             "\"none\" for a local provider)");
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'oauth'"));
    has_line("t: providers.p.auth: unknown auth mode \"oauth\" (hint: "
             "\"key\" or \"none\")");
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':{'X A':'v'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p.headers.X A: "
                                               "invalid header name or "
                                               "value"));
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':{'X-A':'v\\r\\nX-B: "
                           "evil'}"));
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p.headers.X-A: "
                                               "invalid header name or "
                                               "value"));
    /* A key with a line break would add headers to provider calls; the
     * message names the variable, never the value. */
    setenv("SY_TEST_DIRTY_KEY", "sk-abc\r\nX-Evil: 1", 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'api_key_env':['SY_TEST_DIRTY_KEY']"));
    has_line("t: providers.p.api_key_env[0]: the value of "
             "SY_TEST_DIRTY_KEY has spaces or control characters (hint: "
             "set the variable to the key alone, without spaces or line "
             "breaks)");
    assert_null(strstr(sy_buf_cstr(&errs), "sk-abc"));
    unsetenv("SY_TEST_DIRTY_KEY");
    load_bad(J("{'providers':{'bad name':{}},'deployments':{},"
               "'groups':{}}"));
    has_line("t: providers.bad name: invalid name \"bad name\" (hint: use "
             "letters, digits and - _ . / : @)");
}

/* A header value is checked for line breaks after ${VAR} expansion too
 * (tracing and provider headers): an environment value must not add
 * headers to a request. The message never shows the value. */
static void
test_error_header_expansion(void **state)
{
    (void)state;
    setenv("SY_TEST_DIRTY_HDR", "Bearer tok\r\nX-Evil: 1", 1);
    load_bad(J("{'tracing':{'otlp_endpoint':'http://127.0.0.1:4318/v1/traces',"
               "'headers':{'authorization':'${SY_TEST_DIRTY_HDR}'}},"
               "'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
               "'groups':{" GRP_G "}}"));
    has_line("t: tracing.headers.authorization: the value has a line break "
             "after ${} expansion (hint: set the variable to the value "
             "alone, without line breaks)");
    assert_int_equal(nlines(), 1);
    load_bad(with_provider("'type':'openai','base_url':'http://h',"
                           "'auth':'none','headers':{'X-A':'a ${SY_TEST_"
                           "DIRTY_HDR}'}"));
    has_line("t: providers.p.headers.X-A: the value has a line break after "
             "${} expansion (hint: set the variable to the value alone, "
             "without line breaks)");
    assert_null(strstr(sy_buf_cstr(&errs), "Evil"));
    /* The same value without the line break is taken. */
    setenv("SY_TEST_DIRTY_HDR", "Bearer tok", 1);
    load_ok(J("{'tracing':{'otlp_endpoint':'http://127.0.0.1:4318/v1/traces',"
              "'headers':{'authorization':'${SY_TEST_DIRTY_HDR}'}},"
              "'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
              "'groups':{" GRP_G "}}"));
    assert_int_equal(cfg->tracing.nheaders, 1);
    assert_string_equal(cfg->tracing.headers[0].value, "Bearer tok");
    unsetenv("SY_TEST_DIRTY_HDR");
}

static void
test_error_deployment(void **state)
{
    (void)state;
    load_bad(J("{'providers':{" PROV_LOCAL ",'other':{'type':'openai',"
               "'base_url':'http://o','auth':'none'}},"
               "'deployments':{'d':{'provider':'nope','model':'m'}},"
               "'groups':{" GRP_G "}}"));
    has_line("t: deployments.d.provider: unknown provider \"nope\" (hint: "
             "defined providers: local, other)");
    load_bad(with_deployment("'model':'m'"));
    has_line("t: deployments.d.provider: missing required key (hint: the "
             "name of a provider)");
    load_bad(with_deployment("'provider':'local'"));
    has_line("t: deployments.d.model: missing required key (hint: the "
             "provider's model id)");
}

static void
test_error_groups(void **state)
{
    (void)state;
    load_bad(with_groups("'g':{'deployments':['d','zz']}"));
    has_line("t: groups.g.deployments[1]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':['d'],'offline':['yy']}"));
    has_line("t: groups.g.offline[0]: unknown deployment \"yy\" (hint: "
             "name a key of \"deployments\")");
    /* The same deployment twice in one list. */
    load_bad(with_groups("'g':{'deployments':['d','e','d']}"));
    has_line("t: groups.g.deployments[2]: deployment \"d\" listed twice "
             "(hint: list each deployment once)");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':[]}"));
    has_line("t: groups.g: group has no deployments (hint: list at least "
             "one deployment)");
    load_bad(with_groups("'g':{'offline':[]}"));
    has_line("t: groups.g.deployments: missing required key (hint: a list "
             "of deployment names, tried in order)");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':[],'offline':[]}"));
    has_line("t: groups.g: group has no deployments (hint: list at least "
             "one deployment)");
    assert_int_equal(nlines(), 1);
    /* An unknown name is one error, not also "no deployments". */
    load_bad(with_groups("'g':{'deployments':['zz']}"));
    has_line("t: groups.g.deployments[0]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_int_equal(nlines(), 1);
    load_bad(with_groups("'g':{'deployments':['d'],'strategy':'random'}"));
    has_line("t: groups.g.strategy: unknown strategy \"random\" (hint: "
             "one of priority, latency, cost, weighted)");

    /* Only offline deployments is a valid group. */
    load_ok(with_groups("'g':{'deployments':[],'offline':['d']}"));
    assert_int_equal(sy_config_find_group(cfg, "g")->nroute, 1);
}

static void
test_error_many_at_once(void **state)
{
    (void)state;
    load_bad(J("{'bogus':1,"
               "'server':{'threads':0,'log_level':'x','extra':1},"
               "'providers':{'p':{'type':'nope','base_url':'gopher://h'}},"
               "'deployments':{'d':{'provider':'q','model':'m'},"
               "'e':{'provider':'p'}},"
               "'groups':{'g':{'deployments':['zz']},'h':{'deployments':"
               "['e','e']}}}"));
    has_line("t: bogus: unknown section \"bogus\" (hint: top-level "
             "sections: server, state, tracing, metrics, keys, providers, "
             "deployments, groups)");
    has_line("t: server.threads: value 0 out of range (hint: allowed range "
             "1..8192)");
    has_line("t: server.log_level: not a log level (hint: one of error, "
             "warn, info, debug)");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: server.extra: unknown "
                                               "key"));
    assert_non_null(strstr(sy_buf_cstr(&errs),
                           "t: providers.p.type: unknown provider type "
                           "\"nope\" (hint: known types: "));
    has_line("t: providers.p.base_url: \"gopher://h\" is not an HTTP URL "
             "(hint: use an http:// or https:// URL with a host)");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: providers.p: provider "
                                               "needs API keys"));
    has_line("t: deployments.d.provider: unknown provider \"q\" (hint: "
             "defined providers: p)");
    has_line("t: deployments.e.model: missing required key (hint: the "
             "provider's model id)");
    has_line("t: groups.g.deployments[0]: unknown deployment \"zz\" (hint: "
             "name a key of \"deployments\")");
    assert_non_null(strstr(sy_buf_cstr(&errs), "t: groups.h.deployments[1]: "
                                               "deployment \"e\" listed "
                                               "twice"));
    assert_true(nlines() >= 11);
    /* Without an error buffer: still refused, nothing to crash on. */
    struct sy_config *c = (struct sy_config *)1;
    const char *text = J("{'bogus':1}");
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &c, NULL),
                     SY_EBADREQ);
    assert_null(c);
}

/* Every error line must be "origin: path: message (hint: ...)". The
 * configs below hit the error paths that once had no hint (helper4
 * report); the test lists every offending line. */
static void
test_every_error_has_a_hint(void **state)
{
    (void)state;
    const char *bad[] = {
        J("{'a':1} x"),
        J("[]"),
        with_server("'processes':'2'"),
        with_server("'processes':2.5"),
        with_server("'trust_request_id':1"),
        J("{'server':[],'providers':{" PROV_LOCAL "},'deployments':{" DEP_D
          "},'groups':{" GRP_G "}}"),
        J("{'providers':{'p':'openai'},'deployments':{},'groups':{}}"),
        with_deployment("'provider':'local','model':'${}'"),
        with_deployment("'provider':3,'model':'m'"),
        with_deployment("'provider':'local','model':'m','timeouts':5"),
        with_provider("'type':'openai','base_url':'http://h','auth':'none',"
                      "'headers':{'X A':'v'}"),
        with_provider("'type':'openai','base_url':'http://h','auth':'none',"
                      "'headers':{'X-A':1}"),
        with_groups("'g':{'deployments':['d','d']}"),
        with_groups("'g':{'deployments':['d'],'strategy':1}"),
    };
    struct sy_buf missing;
    sy_buf_init(&missing, 1u << 16);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        load_bad(bad[i]);
        const char *t = sy_buf_cstr(&errs);
        for (const char *p = t; *p;) {
            const char *nl = strchr(p, '\n');
            assert_non_null(nl);
            /* "t: <path>: <message>" */
            const char *path = p + 3;
            const char *colon = strstr(path, ": ");
            assert_true(strncmp(p, "t: ", 3) == 0);
            assert_true(colon != NULL && colon < nl && colon > path);
            const char *hint = strstr(p, " (hint: ");
            if (hint == NULL || hint > nl)
                sy_buf_printf(&missing, "  %.*s\n", (int)(nl - p), p);
            p = nl + 1;
        }
    }
    if (missing.len > 0) {
        print_error("error lines without a hint:\n%s", missing.data);
        sy_buf_free(&missing);
        fail();
    }
    sy_buf_free(&missing);
}

/* A caller key may not be named like a virtual key's owner ("vk:x"
 * owns virtual key x's stored responses). */
static void
test_error_caller_key_name(void **state)
{
    (void)state;
    setenv("SYT_CK_SECRET", "ck-secret-0123456789abcdef", 1);
    load_bad(J("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
               "'groups':{" GRP_G "},"
               "'keys':{'vk:alice':{'key_env':'SYT_CK_SECRET'}}}"));
    has_line("t: keys.vk:alice: a caller key's name may not start with "
             "\"vk:\" (hint: rename it: \"vk:\" starts virtual keys' "
             "names)");
    assert_int_equal(nlines(), 1);
    load_ok(J("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
              "'groups':{" GRP_G "},"
              "'keys':{'v:alice':{'key_env':'SYT_CK_SECRET'}}}"));
    unsetenv("SYT_CK_SECRET");
}

/* A configured caller key that starts with the virtual-key prefix
 * would only ever be looked up as a virtual key (core/serve/
 * pipeline_caller.c) while virtual keys are on: refused, saying why,
 * and never showing the key. Without virtual keys it works. */
static void
test_error_caller_key_vkey_prefix(void **state)
{
    (void)state;
    setenv("SYT_CK_SECRET", "sk-sy-0123456789abcdefghijKLMN", 1);
    setenv("SYT_VK_SECRET", "vk-secret-0123456789abcdef", 1);
    load_bad(J("{'state':{'key_secret_env':'SYT_VK_SECRET'},"
               "'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
               "'groups':{" GRP_G "},"
               "'keys':{'ci':{'key_env':'SYT_CK_SECRET'}}}"));
    has_line("t: keys.ci.key_env: the key in SYT_CK_SECRET starts with "
             "\"sk-sy-\", the prefix of virtual keys: with "
             "state.key_secret_env set such a key is looked up as a virtual "
             "key only and could never authenticate (hint: give the key "
             "another value (e.g. openssl rand -hex 32))");
    assert_int_equal(nlines(), 1);
    assert_null(strstr(sy_buf_cstr(&errs), "0123456789abcdefghij"));
    load_ok(J("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
              "'groups':{" GRP_G "},"
              "'keys':{'ci':{'key_env':'SYT_CK_SECRET'}}}"));
    setenv("SYT_CK_SECRET", "sk-SY-0123456789abcdefghijKLMN", 1);
    load_ok(J("{'state':{'key_secret_env':'SYT_VK_SECRET'},"
              "'providers':{" PROV_LOCAL "},'deployments':{" DEP_D "},"
              "'groups':{" GRP_G "},"
              "'keys':{'ci':{'key_env':'SYT_CK_SECRET'}}}"));
    unsetenv("SYT_CK_SECRET");
    unsetenv("SYT_VK_SECRET");
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_error_invalid_json),     T(test_error_top_level_scalars),
        T(test_error_too_big),          T(test_error_unknown_section),
        T(test_error_missing_sections), T(test_error_unknown_keys),
        T(test_error_wrong_types),      T(test_error_out_of_range),
        T(test_error_provider),         T(test_error_header_expansion),
        T(test_error_deployment),       T(test_error_groups),
        T(test_error_many_at_once),     T(test_every_error_has_a_hint),
        T(test_error_caller_key_name),  T(test_error_caller_key_vkey_prefix),
#undef T
    };
    return cmocka_run_group_tests_name("config_errors", tests, NULL, NULL);
}
