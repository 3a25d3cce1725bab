/*
 * test_pipeline_golden.c - the adapter golden streams through the whole
 * pipeline, in-process: every streaming case of tests/adapters/ (a
 * request.json with "stream": true and a 2xx reply.json; the format is
 * described in tests/adapters/test_adapters.c) becomes a one-deployment
 * config, its provider bytes are played by the fake upstream
 * (pipeline_fixture.h) byte by byte, and:
 *
 *   - the provider request is the case's upstream.json (URL and body);
 *   - a streaming caller gets the expected chunks as SSE events (the
 *     usage-only ones only when it asked for them), then [DONE] and the
 *     price, or, for a case that fails, an error event (after two events
 *     or more; before, a JSON error, as nothing had reached it);
 *   - a non-streaming caller of a complete case gets one JSON reply
 *     assembled from the same stream: content, reasoning, tool calls,
 *     finish_reason and usage as the chunks say;
 *   - the usage log has one line, charged the reported usage at the
 *     deployment's price, or an estimate (never 0) when none came.
 *
 * Run from the repository root (tests/adapters is read).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline_fixture.h"

#include <dirent.h>
#include <sys/stat.h>

#define ROOT      "tests/adapters"
#define KEY       "sk-golden-pipeline-0123456789"
#define PRICE_IN  100 /* USD per million tokens = micro-dollars a token */
#define PRICE_OUT 200

struct gcase {
    char dir[600];
    char name[300];
};

/* What one case plays and expects. */
struct gplay {
    struct json_object *conf;     /* provider.json */
    struct json_object *req;      /* request.json */
    struct json_object *upstream; /* upstream.json */
    struct json_object *exp;      /* expected.json */
    char *reply;                  /* the provider's bytes */
    size_t reply_len;
    char ctype[96];
    bool complete;              /* done, no failure */
    bool include_usage;         /* the caller asked for usage events */
    bool usage_seen;            /* a chunk carried usage ... */
    bool usage_any;             /* ... whose counts are "%ANY%" */
    int64_t prompt, completion; /* ... these (the last) */
};

/* ------------------------------------------------------------------ */
/* Files and JSON                                                      */

static char *
slurp(const char *dir, const char *name, size_t *len)
{
    char path[1000];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct sy_buf b;
    sy_buf_init(&b, 16u << 20);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(fp);
    if (len != NULL)
        *len = b.len;
    return b.data != NULL ? b.data : sy_xstrdup("");
}

static struct json_object *
read_json(const char *dir, const char *name)
{
    char *s = slurp(dir, name, NULL);
    struct json_object *o = s ? json_tokener_parse(s) : NULL;
    if (s != NULL && o == NULL)
        fail_msg("%s/%s is not JSON", dir, name);
    free(s);
    return o;
}

/* Structural equality; "%ANY%" in 'want' matches anything. */
static bool
same(struct json_object *want, struct json_object *got)
{
    if (json_object_is_type(want, json_type_string) &&
        strcmp(json_object_get_string(want), "%ANY%") == 0)
        return true;
    json_type wt = json_object_get_type(want);
    json_type gt = json_object_get_type(got);
    if ((wt == json_type_int || wt == json_type_double) &&
        (gt == json_type_int || gt == json_type_double))
        return json_object_get_double(want) == json_object_get_double(got);
    if (wt != gt)
        return false;
    if (wt == json_type_array) {
        size_t n = json_object_array_length(want);
        if (n != json_object_array_length(got))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!same(json_object_array_get_idx(want, i),
                      json_object_array_get_idx(got, i)))
                return false;
        return true;
    }
    if (wt == json_type_object) {
        if (json_object_object_length(want) != json_object_object_length(got))
            return false;
        json_object_object_foreach(want, k, v)
        {
            struct json_object *g;
            if (!json_object_object_get_ex(got, k, &g) || !same(v, g))
                return false;
        }
        return true;
    }
    return json_object_equal(want, got);
}

static void
expect_same(const char *tc, const char *what, struct json_object *want,
            struct json_object *got)
{
    if (same(want, got))
        return;
    /* print_error: fail_msg cuts long messages. */
    print_error("--- expected:\n%s\n",
                json_object_to_json_string_ext(want, JSON_C_TO_STRING_PRETTY));
    print_error("--- got:\n%s\n",
                json_object_to_json_string_ext(got, JSON_C_TO_STRING_PRETTY));
    fail_msg("%s: %s differs", tc, what);
}

/* ------------------------------------------------------------------ */
/* A case                                                              */

static void
gplay_load(const struct gcase *gc, struct gplay *g)
{
    memset(g, 0, sizeof(*g));
    g->conf = read_json(gc->dir, "provider.json");
    if (g->conf == NULL) {
        char up[700];
        snprintf(up, sizeof(up), "%s/..", gc->dir);
        g->conf = read_json(up, "provider.json");
    }
    g->req = read_json(gc->dir, "request.json");
    g->upstream = read_json(gc->dir, "upstream.json");
    g->exp = read_json(gc->dir, "expected.json");
    struct json_object *reply = read_json(gc->dir, "reply.json");
    if (g->conf == NULL || g->req == NULL || g->upstream == NULL ||
        g->exp == NULL || reply == NULL)
        fail_msg("%s: a file is missing", gc->name);
    const char *file = json_object_get_string(jget(reply, "body_file"));
    const char *text = json_object_get_string(jget(reply, "body_text"));
    if (file != NULL)
        g->reply = slurp(gc->dir, file, &g->reply_len);
    else if (text != NULL)
        g->reply = sy_xstrdup(text);
    else
        g->reply = sy_xstrdup(json_object_to_json_string_ext(
            jget(reply, "body"), JSON_C_TO_STRING_PLAIN));
    if (g->reply == NULL)
        fail_msg("%s: no reply body", gc->name);
    if (file == NULL)
        g->reply_len = strlen(g->reply);
    const char *ct = NULL;
    struct json_object *hs = jget(reply, "headers");
    if (hs != NULL) {
        json_object_object_foreach(hs, k, v)
        {
            if (strcasecmp(k, "content-type") == 0)
                ct = json_object_get_string(v);
        }
    }
    snprintf(g->ctype, sizeof(g->ctype), "%s", ct ? ct : "text/event-stream");
    json_object_put(reply);

    struct json_object *done = jget(g->exp, "done");
    g->complete = (done == NULL || json_object_get_boolean(done)) &&
                  jget(g->exp, "failure") == NULL;
    g->include_usage = json_object_get_boolean(
        jget(jget(g->req, "stream_options"), "include_usage"));
    struct json_object *st = jget(g->exp, "stream");
    for (size_t i = 0; st != NULL && i < json_object_array_length(st); i++) {
        struct json_object *u = jget(json_object_array_get_idx(st, i), "usage");
        if (json_object_is_type(u, json_type_object)) {
            g->usage_seen = true;
            /* "%ANY%" in the expected chunk: the count is not pinned. */
            g->usage_any =
                !json_object_is_type(jget(u, "prompt_tokens"), json_type_int);
            g->prompt = json_object_get_int64(jget(u, "prompt_tokens"));
            g->completion = json_object_get_int64(jget(u, "completion_tokens"));
        }
    }
}

static void
gplay_free(struct gplay *g)
{
    json_object_put(g->conf);
    json_object_put(g->req);
    json_object_put(g->upstream);
    json_object_put(g->exp);
    free(g->reply);
}

/* One deployment "d" of the case's provider, in a group named like the
 * request's model, every capability on (the adapter decides). */
static struct sy_config *
gplay_config(const struct gplay *g)
{
    struct json_object *prov = NULL;
    json_object_deep_copy(jget(g->conf, "provider"), &prov, NULL);
    json_object_object_add(prov, "api_key_env",
                           json_object_new_string("SYT_GOLDEN_KEY"));
    struct json_object *dep = json_object_new_object();
    json_object_object_add(dep, "provider", json_object_new_string("p"));
    json_object_object_add(dep, "model",
                           json_object_get(jget(g->conf, "model")));
    struct json_object *price = json_object_new_object();
    json_object_object_add(price, "input_per_mtok",
                           json_object_new_int(PRICE_IN));
    json_object_object_add(price, "output_per_mtok",
                           json_object_new_int(PRICE_OUT));
    json_object_object_add(dep, "price", price);
    struct json_object *caps = json_object_new_object();
    static const char *const on[] = { "streaming",           "tools",
                                      "parallel_tool_calls", "json_object",
                                      "json_schema",         "vision" };
    for (size_t i = 0; i < SY_ARRAY_LEN(on); i++)
        json_object_object_add(caps, on[i], json_object_new_boolean(1));
    json_object_object_add(dep, "capabilities", caps);
    if (jget(g->conf, "allow_fields") != NULL)
        json_object_object_add(dep, "allow_fields",
                               json_object_get(jget(g->conf, "allow_fields")));
    struct json_object *grp = json_object_new_object();
    struct json_object *deps = json_object_new_array();
    json_object_array_add(deps, json_object_new_string("d"));
    json_object_object_add(grp, "deployments", deps);

    struct json_object *root = json_object_new_object();
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "p", prov);
    json_object_object_add(root, "providers", o);
    o = json_object_new_object();
    json_object_object_add(o, "d", dep);
    json_object_object_add(root, "deployments", o);
    o = json_object_new_object();
    json_object_object_add(o, json_object_get_string(jget(g->req, "model")),
                           grp);
    json_object_object_add(root, "groups", o);
    struct sy_config *c = load_config_json(
        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return c;
}

/* The provider request matches upstream.json: the same stream is asked
 * for a caller that did not ask for one ('plain'). */
static void
check_upstream(const char *tc, const struct gplay *g, bool plain)
{
    assert_true(fake_at >= 1);
    assert_string_equal(fake_seen[0].url,
                        json_object_get_string(jget(g->upstream, "url")));
    assert_true(fake_seen[0].streamed);
    struct json_object *got = json_tokener_parse(fake_seen[0].body);
    if (got == NULL)
        fail_msg("%s: the provider body is not JSON", tc);
    /* Qwen's thinking stays off for a caller that did not stream (as
     * when its reply was not streamed either). */
    struct json_object *th = jget(got, "enable_thinking");
    if (plain && th != NULL && !json_object_get_boolean(th))
        json_object_object_del(got, "enable_thinking");
    expect_same(tc, "provider request body", jget(g->upstream, "body"), got);
    json_object_put(got);
    if (strstr(fake_seen[0].body, KEY) != NULL)
        fail_msg("%s: the key is in the provider body", tc);
}

/* One usage-log line: "ok" for a complete case, charged the reported
 * usage at the price, or an estimate. */
static void
check_log(const char *tc, const struct gplay *g)
{
    read_log();
    if (nlines != 1)
        fail_msg("%s: %u usage lines", tc, nlines);
    const struct logline *l = &lines[0];
    if (g->complete != (strcmp(l->outcome, "ok") == 0))
        fail_msg("%s: outcome %s", tc, l->outcome);
    if (l->estimated != !g->usage_seen || l->cost <= 0 || l->prompt <= 0)
        fail_msg("%s: estimated %u cost %lld prompt %lld", tc, l->estimated,
                 (long long)l->cost, (long long)l->prompt);
    if (g->usage_seen && !g->usage_any) {
        assert_int_equal(l->prompt, g->prompt);
        assert_int_equal(l->completion, g->completion);
    }
    if (jget(jget(g->conf, "provider"), "markup_pct") == NULL)
        assert_int_equal(l->cost,
                         l->prompt * PRICE_IN + l->completion * PRICE_OUT);
}

/* ------------------------------------------------------------------ */
/* The two callers                                                     */

/* The expected chunks a streaming caller sees. */
static struct json_object *
visible_chunks(const struct gplay *g)
{
    struct json_object *out = json_object_new_array();
    struct json_object *st = jget(g->exp, "stream");
    for (size_t i = 0; st != NULL && i < json_object_array_length(st); i++) {
        struct json_object *ch = json_object_array_get_idx(st, i);
        struct json_object *choices = jget(ch, "choices");
        if (!g->include_usage && choices != NULL &&
            json_object_array_length(choices) == 0)
            continue;
        json_object_array_add(out, json_object_get(ch));
    }
    return out;
}

static void
streaming_caller(const struct gcase *gc, const struct gplay *g)
{
    fake_reset();
    struct fake_step *s = fake_push(200, g->ctype, g->reply);
    s->len = g->reply_len;
    s->piece = 1;
    serve_raw(json_object_to_json_string(g->req),
              strlen(json_object_to_json_string(g->req)));
    check_upstream(gc->name, g, false);
    struct json_object *want = visible_chunks(g);
    size_t nwant = json_object_array_length(want);
    if (g->complete || nwant >= 2) {
        if (status != 200)
            fail_msg("%s: status %d: %s", gc->name, status, body);
        assert_string_equal(hdr("Content-Type"), "text/event-stream");
        struct sse ev;
        sse_parse(body, &ev);
        if (jget(g->exp, "stream") != NULL)
            expect_same(gc->name, "streamed chunks", want, ev.chunks);
        assert_false(ev.after_done);
        if (g->complete && (!ev.done || !ev.cost_note || ev.nerrors != 0))
            fail_msg("%s: done %d cost %d errors %u", gc->name, ev.done,
                     ev.cost_note, ev.nerrors);
        if (!g->complete && (ev.done || ev.nerrors != 1))
            fail_msg("%s: a failed stream: done %d, %u error events", gc->name,
                     ev.done, ev.nerrors);
        sse_free(&ev);
    } else if (status < 400 || doc == NULL || jget(doc, "error") == NULL) {
        fail_msg("%s: a stream that failed early: status %d: %s", gc->name,
                 status, body);
    }
    json_object_put(want);
    check_log(gc->name, g);
}

/* The concatenation of the deltas' 'key' (choice 0), or NULL. */
static char *
deltas(const struct gplay *g, const char *key)
{
    struct sy_buf b;
    sy_buf_init(&b, 1u << 20);
    bool any = false;
    struct json_object *st = jget(g->exp, "stream");
    for (size_t i = 0; i < json_object_array_length(st); i++) {
        struct json_object *c0 = json_object_array_get_idx(
            jget(json_object_array_get_idx(st, i), "choices"), 0);
        struct json_object *v = jget(jget(c0, "delta"), key);
        if (json_object_is_type(v, json_type_string)) {
            sy_buf_puts(&b, json_object_get_string(v));
            any = true;
        }
    }
    char *r = any ? sy_xstrdup(sy_buf_cstr(&b)) : NULL;
    sy_buf_free(&b);
    return r;
}

/* The last finish_reason of choice 0, and the tool calls' count. */
static const char *
finish_and_tools(const struct gplay *g, size_t *ntools)
{
    const char *fr = NULL;
    int top = -1;
    struct json_object *st = jget(g->exp, "stream");
    for (size_t i = 0; i < json_object_array_length(st); i++) {
        struct json_object *c0 = json_object_array_get_idx(
            jget(json_object_array_get_idx(st, i), "choices"), 0);
        struct json_object *f = jget(c0, "finish_reason");
        if (json_object_is_type(f, json_type_string))
            fr = json_object_get_string(f);
        struct json_object *tc = jget(jget(c0, "delta"), "tool_calls");
        for (size_t j = 0; tc && j < json_object_array_length(tc); j++) {
            int ix = json_object_get_int(
                jget(json_object_array_get_idx(tc, j), "index"));
            top = SY_MAX(top, ix);
        }
    }
    *ntools = (size_t)(top + 1);
    return fr;
}

static void
expect_str(const char *tc, const char *what, const char *want,
           struct json_object *got)
{
    const char *g = json_object_is_type(got, json_type_string)
                        ? json_object_get_string(got)
                        : NULL;
    if ((want == NULL) != (g == NULL) || (want != NULL && strcmp(want, g) != 0))
        fail_msg("%s: %s '%s', expected '%s'", tc, what, g ? g : "(null)",
                 want ? want : "(null)");
}

static void
plain_caller(const struct gcase *gc, const struct gplay *g)
{
    fake_reset();
    struct fake_step *s = fake_push(200, g->ctype, g->reply);
    s->len = g->reply_len;
    s->piece = 13;
    struct json_object *req = NULL;
    json_object_deep_copy(g->req, &req, NULL);
    json_object_object_del(req, "stream");
    json_object_object_del(req, "stream_options");
    const char *text = json_object_to_json_string(req);
    serve_raw(text, strlen(text));
    json_object_put(req);
    check_upstream(gc->name, g, true);
    if (status != 200 || doc == NULL)
        fail_msg("%s: status %d: %s", gc->name, status, body);
    assert_string_equal(hdr("Content-Type"), "application/json");
    assert_string_equal(json_object_get_string(jget(doc, "object")),
                        "chat.completion");
    struct json_object *c0 = json_object_array_get_idx(jget(doc, "choices"), 0);
    struct json_object *msg = jget(c0, "message");
    static const char *const keys[] = { "content", "reasoning_content" };
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
        char *want = deltas(g, keys[i]);
        /* An empty streamed content may come back as null. */
        if (!(want != NULL && want[0] == '\0' && jget(msg, keys[i]) == NULL))
            expect_str(gc->name, keys[i], want, jget(msg, keys[i]));
        free(want);
    }
    size_t ntools;
    const char *fr = finish_and_tools(g, &ntools);
    expect_str(gc->name, "finish_reason", fr, jget(c0, "finish_reason"));
    struct json_object *tools = jget(msg, "tool_calls");
    assert_int_equal(tools ? json_object_array_length(tools) : 0, ntools);
    if (g->usage_seen && !g->usage_any) {
        struct json_object *u = jget(doc, "usage");
        assert_int_equal(json_object_get_int64(jget(u, "prompt_tokens")),
                         g->prompt);
        assert_int_equal(json_object_get_int64(jget(u, "completion_tokens")),
                         g->completion);
    }
    check_log(gc->name, g);
}

/* The case being run: set up and torn down around it, so a failed
 * check still frees it and removes its usage log. */
static struct gplay cur;
static struct sy_config *cur_cfg;

static int
case_setup(void **state)
{
    gplay_load(*state, &cur);
    cur_cfg = gplay_config(&cur);
    worker_start(cur_cfg);
    return 0;
}

static int
case_teardown(void **state)
{
    (void)state;
    worker_stop();
    sy_config_free(cur_cfg);
    cur_cfg = NULL;
    gplay_free(&cur);
    return 0;
}

static void
run_case(void **state)
{
    const struct gcase *gc = *state;
    streaming_caller(gc, &cur);
    if (cur.complete)
        plain_caller(gc, &cur);
}

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

static int
cmp_case(const void *a, const void *b)
{
    return strcmp(((const struct gcase *)a)->name,
                  ((const struct gcase *)b)->name);
}

/* Is the case in 'dir' a 2xx reply to a streaming chat request? (A case
 * with native.json is one of a caller of the provider's own API, which
 * a chat caller cannot play.) */
static bool
is_stream_case(const char *dir)
{
    struct json_object *req = read_json(dir, "request.json");
    struct json_object *reply = read_json(dir, "reply.json");
    struct json_object *native = read_json(dir, "native.json");
    struct json_object *st = jget(reply, "status");
    int code = st ? json_object_get_int(st) : 200;
    bool yes = reply != NULL && native == NULL &&
               json_object_get_boolean(jget(req, "stream")) && code >= 200 &&
               code < 300;
    json_object_put(req);
    json_object_put(reply);
    json_object_put(native);
    return yes;
}

static size_t
find_cases(struct gcase *out, size_t max)
{
    size_t n = 0;
    DIR *root = opendir(ROOT);
    assert_non_null(root);
    struct dirent *pe;
    while ((pe = readdir(root)) != NULL) {
        if (pe->d_name[0] == '.')
            continue;
        char pdir[300];
        snprintf(pdir, sizeof(pdir), "%s/%.200s", ROOT, pe->d_name);
        DIR *pd = opendir(pdir);
        if (pd == NULL)
            continue;
        struct dirent *ce;
        while ((ce = readdir(pd)) != NULL && n < max) {
            struct gcase *gc = &out[n];
            snprintf(gc->dir, sizeof(gc->dir), "%s/%.200s", pdir, ce->d_name);
            struct stat sb;
            if (ce->d_name[0] == '.' || stat(gc->dir, &sb) != 0 ||
                !S_ISDIR(sb.st_mode) || !is_stream_case(gc->dir))
                continue;
            snprintf(gc->name, sizeof(gc->name), "%.100s/%.150s", pe->d_name,
                     ce->d_name);
            n++;
        }
        closedir(pd);
    }
    closedir(root);
    qsort(out, n, sizeof(*out), cmp_case);
    return n;
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sy_log_set_level(SY_LOG_ERROR);
    setenv("SYT_GOLDEN_KEY", KEY, 1);
    if (sy_upstream_global_init() != SY_OK)
        return 1;
    static struct gcase cases[256];
    size_t n = find_cases(cases, SY_ARRAY_LEN(cases));
    /* At least one streaming case per provider type. */
    static const char *const types[] = { "openai/", "anthropic/", "gemini/" };
    for (size_t t = 0; t < SY_ARRAY_LEN(types); t++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += strncmp(cases[i].name, types[t], strlen(types[t])) == 0;
        if (k == 0) {
            fprintf(stderr, "no streaming golden case for %s\n", types[t]);
            return 1;
        }
    }
    struct CMUnitTest *tests = sy_xcalloc(n, sizeof(*tests));
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].setup_func = case_setup;
        tests[i].teardown_func = case_teardown;
        tests[i].initial_state = &cases[i];
    }
    int failed =
        _cmocka_run_group_tests("pipeline_golden", tests, n, NULL, NULL);
    free(tests);
    sy_upstream_global_cleanup();
    return failed == 0 ? 0 : 1;
}
