/*
 * keys_cmd.c - 'switchyard keys create|list|show|update|revoke
 * [--config FILE] [options]'. Each subcommand builds the JSON body the
 * admin API takes and calls sy_admin_keys() (core/serve/admin.c), so the CLI
 * and the HTTP API validate and answer alike; the answer is printed as a
 * table, or as is with --json.
 *
 * create prints the key once (stdout), with a warning on stderr that it
 * cannot be shown again; nothing else ever prints a key or its HMAC.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "keys_cmd.h"
#include "cli_common.h"
#include "serve/admin.h"
#include "base/buf.h"
#include "base/json_strict.h"
#include "base/mem.h"
#include "base/limits.h"
#include "state/vkeys.h"

#include <json-c/json.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_keys[] =
    "usage: switchyard keys create --name NAME [options]\n"
    "       switchyard keys list [--json]\n"
    "       switchyard keys show NAME [--json]\n"
    "       switchyard keys update NAME [options]\n"
    "       switchyard keys revoke NAME\n"
    "\n"
    "Virtual keys: caller keys kept in Redis (state.redis_url), stored only\n"
    "as HMAC-SHA-256 under the server secret (state.key_secret_env). The\n"
    "key (sk-sy-...) is printed once by create and cannot be shown again.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE      configuration (default: $SWITCHYARD_CONFIG or\n"
    "                         the embedded default)\n"
    "  -n, --name NAME        the key's name (or the first argument)\n"
    "      --team TEAM        its team (\"\" for none)\n"
    "      --budget-usd USD   money budget per period (0: none)\n"
    "      --period P         day, month (default) or total\n"
    "      --rpm N            requests per minute (0: unlimited)\n"
    "      --tpm N            tokens per minute (0: unlimited)\n"
    "      --models A,B       groups it may use (\"\": every group)\n"
    "      --expires WHEN     yyyy-mm-dd, yyyy-mm-ddThh:mm:ssZ, epoch\n"
    "                         seconds, or never\n"
    "      --fail-open        with Redis down, serve it without its budget\n"
    "      --no-fail-open     refuse it then (default)\n"
    "  -j, --json             print the admin API's JSON answer\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 done; 1 refused (unknown name, name taken, Redis\n"
    "unreachable, virtual keys not enabled, invalid config); 2 usage error.\n";

enum {
    O_TEAM = 256,
    O_BUDGET,
    O_PERIOD,
    O_RPM,
    O_TPM,
    O_MODELS,
    O_EXPIRES,
    O_FAIL_OPEN,
    O_NO_FAIL_OPEN
};

static bool
parse_u64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '\0' || s[0] == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

static void
print_key(json_object *k)
{
    json_object *v;
#define FIELD(name, label)                                                     \
    if (json_object_object_get_ex(k, name, &v)) {                              \
        printf("  %-14s %s\n", label,                                          \
               json_object_get_type(v) == json_type_null ? "-"                 \
               : json_object_get_type(v) == json_type_array                    \
                   ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) \
                   : json_object_get_string(v));                               \
    }
    FIELD("name", "name")
    FIELD("team", "team")
    FIELD("budget_usd", "budget_usd")
    FIELD("budget_period", "budget_period")
    FIELD("period", "period")
    FIELD("spent_usd", "spent_usd")
    FIELD("reserved_usd", "reserved_usd")
    FIELD("remaining_usd", "remaining_usd")
    FIELD("rpm", "rpm")
    FIELD("tpm", "tpm")
    FIELD("models", "models")
    if (json_object_object_get_ex(k, "expires_at", &v) &&
        json_object_get_type(v) == json_type_int) {
        time_t t = (time_t)json_object_get_int64(v);
        struct tm tm;
        char when[40] = "?";
        if (gmtime_r(&t, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("  %-14s %s (%" PRId64 ")\n", "expires_at", when, (int64_t)t);
    } else {
        FIELD("expires_at", "expires_at")
    }
    FIELD("fail_open", "fail_open")
    FIELD("revoked", "revoked")
    FIELD("expired", "expired")
    FIELD("active", "active")
    FIELD("created_at", "created_at")
#undef FIELD
}

static const char *
jstr(json_object *o, const char *k, const char *dflt)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) ||
        json_object_get_type(v) == json_type_null)
        return dflt;
    return json_object_get_string(v);
}

static void
print_list(json_object *root)
{
    json_object *data;
    if (!json_object_object_get_ex(root, "data", &data) ||
        json_object_get_type(data) != json_type_array)
        return;
    size_t n = json_object_array_length(data);
    printf("%-24s %-12s %-8s %12s %12s %7s %8s %s\n", "NAME", "TEAM", "STATE",
           "BUDGET_USD", "SPENT_USD", "PERIOD", "RPM", "MODELS");
    for (size_t i = 0; i < n; i++) {
        json_object *k = json_object_array_get_idx(data, i);
        json_object *v;
        const char *state = "active";
        if (json_object_object_get_ex(k, "revoked", &v) &&
            json_object_get_boolean(v))
            state = "revoked";
        else if (json_object_object_get_ex(k, "expired", &v) &&
                 json_object_get_boolean(v))
            state = "expired";
        const char *models = "*";
        if (json_object_object_get_ex(k, "models", &v) &&
            json_object_array_length(v) > 0)
            models = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        printf("%-24s %-12s %-8s %12s %12s %7s %8s %s\n", jstr(k, "name", "?"),
               jstr(k, "team", "-"), state, jstr(k, "budget_usd", "-"),
               jstr(k, "spent_usd", "-"), jstr(k, "budget_period", "-"),
               jstr(k, "rpm", "0"), models);
    }
    if (n == 0)
        printf("(no virtual keys)\n");
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */

enum op { OP_CREATE, OP_LIST, OP_SHOW, OP_UPDATE, OP_REVOKE };

static const char *const op_names[] = { "create", "list", "show", "update",
                                        "revoke" };

/* The parsed command line. */
struct args {
    enum op op;
    const char *sub; /* op_names[op] */
    const char *config;
    const char *name;
    bool json;
    unsigned nfields;  /* key fields given (create, update) */
    json_object *body; /* owned; the admin API's request body */
};

static const struct option opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "name", required_argument, NULL, 'n' },
    { "team", required_argument, NULL, O_TEAM },
    { "budget-usd", required_argument, NULL, O_BUDGET },
    { "period", required_argument, NULL, O_PERIOD },
    { "rpm", required_argument, NULL, O_RPM },
    { "tpm", required_argument, NULL, O_TPM },
    { "models", required_argument, NULL, O_MODELS },
    { "expires", required_argument, NULL, O_EXPIRES },
    { "fail-open", no_argument, NULL, O_FAIL_OPEN },
    { "no-fail-open", no_argument, NULL, O_NO_FAIL_OPEN },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* "A,B" as a JSON array; empty items are kept: the validator refuses
 * them. "" is the empty array (every group). */
static json_object *
models_array(const char *list)
{
    json_object *arr = json_object_new_array();
    for (const char *p = list; list[0] != '\0';) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        json_object_array_add(arr, json_object_new_string_len(p, (int)n));
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return arr;
}

/* One key field option into a->body; false (after a message) when its
 * value is invalid. */
static bool
add_field(struct args *a, int c, const char *v)
{
    const char *field = NULL;
    json_object *val = NULL;
    int64_t x;
    if (c == O_TEAM) {
        field = "team";
        val = v[0] ? json_object_new_string(v) : NULL;
    } else if (c == O_BUDGET) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno != 0 || *end != '\0' || v[0] == '\0' || d < 0) {
            fprintf(stderr, "switchyard keys: --budget-usd takes a "
                            "non-negative number of USD\n");
            return false;
        }
        field = "budget_usd";
        val = json_object_new_double(d);
    } else if (c == O_PERIOD) {
        field = "budget_period";
        val = json_object_new_string(v);
    } else if (c == O_RPM || c == O_TPM) {
        field = c == O_RPM ? "rpm" : "tpm";
        if (!parse_u64(v, &x)) {
            fprintf(stderr,
                    "switchyard keys: --%s takes a non-negative "
                    "integer\n",
                    field);
            return false;
        }
        val = json_object_new_int64(x);
    } else if (c == O_MODELS) {
        field = "models";
        val = models_array(v);
    } else if (c == O_EXPIRES) {
        if (!sy_admin_parse_time(v, &x)) {
            fprintf(stderr, "switchyard keys: --expires takes yyyy-mm-dd, "
                            "yyyy-mm-ddThh:mm:ssZ, epoch seconds or "
                            "never\n");
            return false;
        }
        field = "expires_at";
        val = x ? json_object_new_int64(x) : NULL;
    } else {
        field = "fail_open";
        val = json_object_new_boolean(c == O_FAIL_OPEN);
    }
    json_object_object_add(a->body, field, val);
    a->nfields++;
    return true;
}

/* The options after the subcommand; -1 to go on, else the exit
 * status. */
static int
parse_options(struct args *a, int argc, char **argv)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:n:jh", opts, NULL)) != -1) {
        if (c >= O_TEAM && a->op != OP_CREATE && a->op != OP_UPDATE) {
            fprintf(stderr, "switchyard keys %s: takes no key fields\n",
                    a->sub);
            return 2;
        }
        if (c == 'c') {
            a->config = optarg;
        } else if (c == 'n') {
            a->name = optarg;
        } else if (c == 'j') {
            a->json = true;
        } else if (c == 'h') {
            fputs(usage_keys, stdout);
            return 0;
        } else if (c < O_TEAM || c > O_NO_FAIL_OPEN) {
            fputs(usage_keys, stderr);
            return 2;
        } else if (!add_field(a, c, optarg)) {
            return 2;
        }
    }
    if (a->name == NULL && optind < argc)
        a->name = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "switchyard keys %s: unexpected argument '%s'\n",
                a->sub, argv[optind]);
        return 2;
    }
    return -1;
}

/* What the options say together; -1 when they make sense, else 2. */
static int
check_args(const struct args *a)
{
    if (a->op == OP_LIST && a->name != NULL) {
        fprintf(stderr, "switchyard keys list: takes no name\n");
        return 2;
    }
    if (a->op != OP_LIST && a->name == NULL) {
        fprintf(stderr,
                "switchyard keys %s: a key name is required (--name NAME)\n",
                a->sub);
        return 2;
    }
    if (a->op == OP_UPDATE && a->nfields == 0) {
        fprintf(stderr, "switchyard keys update: nothing to change\n");
        return 2;
    }
    if (a->name != NULL && !sy_vkey_name_valid(a->name)) {
        fprintf(stderr, "switchyard keys: a name is 1 to 64 characters of "
                        "A-Z a-z 0-9 . _ -\n");
        return 2;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* The call                                                            */

/* The admin API's answer, parsed by the one strict parse (NULL when it
 * is not JSON: an error text). */
static json_object *
parse_answer(const struct sy_buf *ans)
{
    json_object *root = NULL;
    struct sy_json_result res;
    if (sy_json_parse_strict(sy_buf_cstr(ans), ans->len, NULL, &root, &res) !=
        SY_JSON_OK)
        return NULL;
    return root;
}

/* Print the answer of a call that succeeded. */
static void
print_answer(const struct args *a, const struct sy_buf *ans, json_object *root)
{
    json_object *k;
    if (a->json) {
        printf("%s\n", sy_buf_cstr(ans));
        if (a->op == OP_CREATE)
            fprintf(stderr, "warning: the key above is shown once and "
                            "cannot be shown again: store it now\n");
    } else if (a->op == OP_CREATE && root != NULL &&
               json_object_object_get_ex(root, "key", &k)) {
        printf("key: %s\n", json_object_get_string(k));
        fprintf(stderr, "warning: this key is shown once and cannot be "
                        "shown again: store it now\n");
        print_key(root);
    } else if (a->op == OP_LIST) {
        print_list(root);
    } else if (a->op == OP_REVOKE) {
        printf("revoked: %s\n", a->name);
    } else if (root != NULL) {
        print_key(root);
    }
}

/* Call the admin API on the store; the exit status. */
static int
call(const struct args *a, struct sy_cli *c)
{
    static const char *const methods[] = { "POST", "GET", "GET", "PATCH",
                                           "DELETE" };
    const char *text =
        a->op == OP_CREATE || a->op == OP_UPDATE
            ? json_object_to_json_string_ext(a->body, JSON_C_TO_STRING_PLAIN)
            : NULL;
    const char *rest = a->op == OP_CREATE || a->op == OP_LIST ? "" : a->name;
    struct sy_buf ans;
    sy_buf_init(&ans, SY_CLI_OUTPUT_MAX);
    struct sy_arena arena;
    sy_arena_init(&arena, 4096);
    int status = sy_admin_keys(c->cfg, c->store, methods[a->op], rest, text,
                               text ? strlen(text) : 0, &arena, &ans);
    sy_arena_cleanup(&arena);
    if (sy_buf_failed(&ans)) {
        /* Never parse or print a cut answer (a create's key may already
         * be made: 'list' shows it). */
        status = 500;
        sy_buf_clear(&ans);
        sy_buf_puts(&ans, "the answer is larger than the output buffer");
    }
    json_object *root = parse_answer(&ans);
    int rc = 0;
    if (status >= 300) {
        json_object *e, *m;
        const char *msg = sy_buf_cstr(&ans);
        if (root != NULL && json_object_object_get_ex(root, "error", &e) &&
            json_object_object_get_ex(e, "message", &m))
            msg = json_object_get_string(m);
        fprintf(stderr, "switchyard keys %s: %s\n", a->sub, msg);
        rc = 1;
    } else {
        print_answer(a, &ans, root);
    }
    if (root != NULL)
        json_object_put(root);
    /* the answer of a create held the key: wipe it */
    if (ans.data != NULL)
        memset(ans.data, 0, ans.len);
    sy_buf_free(&ans);
    return rc;
}

int
sy_keys_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_keys, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct args a = { .sub = argv[1] };
    size_t op = 0;
    while (op < SY_ARRAY_LEN(op_names) && strcmp(a.sub, op_names[op]) != 0)
        op++;
    if (op == SY_ARRAY_LEN(op_names)) {
        fprintf(stderr, "switchyard keys: unknown subcommand '%s'\n\n%s", a.sub,
                usage_keys);
        return 2;
    }
    a.op = (enum op)op;
    a.body = json_object_new_object();
    int rc = parse_options(&a, argc - 1, argv + 1);
    if (rc < 0)
        rc = check_args(&a);
    if (rc < 0) {
        if (a.op == OP_CREATE)
            json_object_object_add(a.body, "name",
                                   json_object_new_string(a.name));
        struct sy_cli cli;
        if (!sy_cli_load(&cli, "keys", a.config))
            rc = 1;
        else if (!sy_cli_open_store(&cli))
            rc = sy_cli_fail(&cli);
        else
            rc = call(&a, &cli);
        sy_cli_close(&cli);
    }
    json_object_put(a.body);
    return rc;
}
