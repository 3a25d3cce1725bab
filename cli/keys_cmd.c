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
#include "serve/admin.h"
#include "base/buf.h"
#include "config/config.h"
#include "base/mem.h"
#include "io/store.h"

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

int
sy_keys_main(int argc, char **argv)
{
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
    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_keys, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    bool create = strcmp(sub, "create") == 0;
    bool list = strcmp(sub, "list") == 0;
    bool show = strcmp(sub, "show") == 0;
    bool update = strcmp(sub, "update") == 0;
    bool revoke = strcmp(sub, "revoke") == 0;
    if (!create && !list && !show && !update && !revoke) {
        fprintf(stderr, "switchyard keys: unknown subcommand '%s'\n\n%s", sub,
                usage_keys);
        return 2;
    }
    const char *config = NULL, *name = NULL;
    bool json = false;
    unsigned nfields = 0;
    json_object *body = json_object_new_object();
    int c, rc = 2;
    int64_t x;
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:n:jh", opts, NULL)) != -1) {
        if (c >= O_TEAM && !create && !update) {
            fprintf(stderr, "switchyard keys %s: takes no key fields\n", sub);
            goto out;
        }
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage_keys, stdout);
            rc = 0;
            goto out;
        case O_TEAM:
            json_object_object_add(body, "team",
                                   optarg[0] ? json_object_new_string(optarg)
                                             : NULL);
            nfields++;
            break;
        case O_BUDGET: {
            char *end;
            errno = 0;
            double d = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || optarg[0] == '\0' || d < 0) {
                fprintf(stderr, "switchyard keys: --budget-usd takes a "
                                "non-negative number of USD\n");
                goto out;
            }
            json_object_object_add(body, "budget_usd",
                                   json_object_new_double(d));
            nfields++;
            break;
        }
        case O_PERIOD:
            json_object_object_add(body, "budget_period",
                                   json_object_new_string(optarg));
            nfields++;
            break;
        case O_RPM:
        case O_TPM:
            if (!parse_u64(optarg, &x)) {
                fprintf(stderr,
                        "switchyard keys: --%s takes a "
                        "non-negative integer\n",
                        c == O_RPM ? "rpm" : "tpm");
                goto out;
            }
            json_object_object_add(body, c == O_RPM ? "rpm" : "tpm",
                                   json_object_new_int64(x));
            nfields++;
            break;
        case O_MODELS: {
            json_object *arr = json_object_new_array();
            /* empty items are kept: the validator refuses them */
            for (const char *p = optarg; optarg[0] != '\0';) {
                const char *comma = strchr(p, ',');
                size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
                json_object_array_add(arr,
                                      json_object_new_string_len(p, (int)n));
                if (comma == NULL)
                    break;
                p = comma + 1;
            }
            json_object_object_add(body, "models", arr);
            nfields++;
            break;
        }
        case O_EXPIRES:
            if (!sy_admin_parse_time(optarg, &x)) {
                fprintf(stderr, "switchyard keys: --expires takes "
                                "yyyy-mm-dd, yyyy-mm-ddThh:mm:ssZ, epoch "
                                "seconds or never\n");
                goto out;
            }
            json_object_object_add(body, "expires_at",
                                   x ? json_object_new_int64(x) : NULL);
            nfields++;
            break;
        case O_FAIL_OPEN:
        case O_NO_FAIL_OPEN:
            json_object_object_add(body, "fail_open",
                                   json_object_new_boolean(c == O_FAIL_OPEN));
            nfields++;
            break;
        default:
            fputs(usage_keys, stderr);
            goto out;
        }
    }
    if (name == NULL && optind < argc)
        name = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "switchyard keys %s: unexpected argument '%s'\n", sub,
                argv[optind]);
        goto out;
    }
    if (list && name != NULL) {
        fprintf(stderr, "switchyard keys list: takes no name\n");
        goto out;
    }
    if (!list && name == NULL) {
        fprintf(stderr,
                "switchyard keys %s: a key name is required "
                "(--name NAME)\n",
                sub);
        goto out;
    }
    if (update && nfields == 0) {
        fprintf(stderr, "switchyard keys update: nothing to change\n");
        goto out;
    }
    if (name != NULL && !sy_vkey_name_valid(name)) {
        fprintf(stderr, "switchyard keys: a name is 1 to 64 characters of "
                        "A-Z a-z 0-9 . _ -\n");
        goto out;
    }
    if (create)
        json_object_object_add(body, "name", json_object_new_string(name));

    rc = 1;
    struct sy_config *cfg = sy_config_load_default(config);
    if (cfg == NULL) {
        fprintf(stderr, "switchyard keys: invalid configuration\n");
        goto out;
    }
    const struct sy_state_conf *sc = &cfg->state;
    struct sy_store *s = NULL;
    if (sc->redis_url == NULL && sc->nsentinels == 0) {
        fprintf(stderr,
                "switchyard keys: %s has no shared state "
                "(state.redis_url is not set)\n",
                cfg->origin);
        sy_config_free(cfg);
        goto out;
    }
    struct sy_store_conf conf;
    sy_store_conf_defaults(&conf);
    conf.url = sc->redis_url;
    conf.sentinels = sc->sentinels;
    conf.nsentinels = sc->nsentinels;
    conf.master_name = sc->master;
    conf.prefix = sc->prefix;
    conf.connect_timeout_ms = SY_MAX(sc->connect_timeout_ms, 1000u);
    conf.command_timeout_ms = SY_MAX(sc->command_timeout_ms, 5000u);
    char err[256];
    if (sy_store_new(&conf, &s, err, sizeof(err)) != SY_OK) {
        /* the message names no password (store.c strips it) */
        fprintf(stderr, "switchyard keys: redis: %s\n", err);
        sy_config_free(cfg);
        goto out;
    }
    const char *method = create         ? "POST"
                         : list || show ? "GET"
                         : update       ? "PATCH"
                                        : "DELETE";
    const char *text =
        create || update
            ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
            : NULL;
    struct sy_buf ans;
    sy_buf_init(&ans, 64u << 20);
    struct sy_arena arena;
    sy_arena_init(&arena, 4096);
    const char *rest = create || list ? "" : name;
    int status = sy_admin_keys(cfg, s, method, rest, text,
                               text ? strlen(text) : 0, &arena, &ans);
    sy_arena_cleanup(&arena);
    json_object *root = json_tokener_parse(sy_buf_cstr(&ans));
    if (status >= 300) {
        json_object *e, *m;
        const char *msg = sy_buf_cstr(&ans);
        if (root != NULL && json_object_object_get_ex(root, "error", &e) &&
            json_object_object_get_ex(e, "message", &m))
            msg = json_object_get_string(m);
        fprintf(stderr, "switchyard keys %s: %s\n", sub, msg);
    } else if (json) {
        printf("%s\n", sy_buf_cstr(&ans));
        if (create)
            fprintf(stderr, "warning: the key above is shown once and "
                            "cannot be shown again: store it now\n");
        rc = 0;
    } else {
        json_object *k;
        if (create && root != NULL &&
            json_object_object_get_ex(root, "key", &k)) {
            printf("key: %s\n", json_object_get_string(k));
            fprintf(stderr, "warning: this key is shown once and cannot be "
                            "shown again: store it now\n");
            print_key(root);
        } else if (list) {
            print_list(root);
        } else if (revoke) {
            printf("revoked: %s\n", name);
        } else if (root != NULL) {
            print_key(root);
        }
        rc = 0;
    }
    if (root != NULL)
        json_object_put(root);
    /* the answer of a create held the key: wipe it */
    if (ans.data != NULL)
        memset(ans.data, 0, ans.len);
    sy_buf_free(&ans);
    sy_store_free(s);
    sy_config_free(cfg);
out:
    json_object_put(body);
    return rc;
}
