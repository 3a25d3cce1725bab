/*
 * test_config_alias.c - group aliases (core/config/config_alias.c): the
 * '*' matcher, the lookup order of sy_config_find_group (name, exact
 * alias, most specific pattern, config order), the load-time checks, and
 * the Claude Code / Codex names of the embedded default config.
 * SPDX-License-Identifier: MIT
 */
#include "config_fixture.h"

static void
test_alias_match(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *s;
        bool want;
    } cases[] = {
        { "claude-sonnet-*", "claude-sonnet-4-5-20250929", true },
        { "claude-sonnet-*", "claude-sonnet-", true },
        { "claude-sonnet-*", "claude-sonnet", false },
        { "claude-sonnet-*", "xclaude-sonnet-4", false },
        { "gpt-5*", "gpt-5", true },
        { "gpt-5*", "gpt-5-codex", true },
        { "gpt-5*", "gpt-4o", false },
        { "*", "", true },
        { "*", "anything", true },
        { "a*b*c", "abc", true },
        { "a*b*c", "axxbyyc", true },
        { "a*b*c", "axxbyyb", false },
        { "a*b", "abab", true },
        { "a*ab", "aab", true },
        { "*-latest", "claude-3-7-sonnet-latest", true },
        { "*-latest", "claude-3-7-sonnet-latest2", false },
        { "exact", "exact", true },
        { "exact", "exac", false },
        { "exact", "exactly", false },
        { "", "", true },
        { "", "x", false },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++)
        if (sy_config_alias_match(cases[i].pat, cases[i].s) != cases[i].want)
            fail_msg("\"%s\" vs \"%s\": expected %s", cases[i].pat, cases[i].s,
                     cases[i].want ? "a match" : "no match");
}

/* The worst case for a naive backtracking matcher: many stars and a long
 * name that almost matches. Bounded work: this returns at once. */
static void
test_alias_match_no_blowup(void **state)
{
    (void)state;
    char name[8192];
    memset(name, 'a', sizeof(name) - 2);
    name[sizeof(name) - 2] = 'c';
    name[sizeof(name) - 1] = '\0';
    assert_false(sy_config_alias_match("*a*a*a*b", name));
    assert_true(sy_config_alias_match("*a*a*a*c", name));
}

#define ALIAS_CONFIG(groups)                              \
    "{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D \
    ",'e':{'provider':'local','model':'m2'}},'groups':{" groups "}}"

static void
test_find_group_order(void **state)
{
    (void)state;
    load_ok(J(ALIAS_CONFIG(
        "'big':{'deployments':['d'],'aliases':['claude-*',"
        "'claude-3-7-sonnet-latest']},"
        "'small':{'deployments':['e'],'aliases':['claude-haiku-*',"
        "'claude-3-5-haiku-*']},"
        "'same1':{'deployments':['d'],'aliases':['x*z']},"
        "'same2':{'deployments':['e'],'aliases':['*yz','x*']},"
        "'claude-haiku-special':{'deployments':['e']},"
        "'exact':{'deployments':['d'],'aliases':['claude-haiku-4-5']}")));
    const struct sy_group *big = sy_config_find_group(cfg, "big");
    const struct sy_group *small = sy_config_find_group(cfg, "small");
    assert_non_null(big);
    assert_non_null(small);
    assert_int_equal(big->naliases, 2);
    assert_string_equal(big->aliases[0], "claude-*");
    /* Patterns: the one with the most literal characters wins. */
    assert_ptr_equal(sy_config_find_group(cfg, "claude-sonnet-4-5-20250929"),
                     big);
    assert_ptr_equal(sy_config_find_group(cfg, "claude-opus-4-1-20250805"),
                     big);
    assert_ptr_equal(sy_config_find_group(cfg, "claude-haiku-4-5-20251001"),
                     small);
    assert_ptr_equal(sy_config_find_group(cfg, "claude-3-5-haiku-20241022"),
                     small);
    /* An exact alias wins over any pattern, a group name over both. */
    assert_ptr_equal(sy_config_find_group(cfg, "claude-haiku-4-5"),
                     sy_config_find_group(cfg, "exact"));
    assert_string_equal(sy_config_find_group(cfg, "claude-haiku-special")->name,
                        "claude-haiku-special");
    assert_ptr_equal(sy_config_find_group(cfg, "claude-3-7-sonnet-latest"),
                     big);
    /* Equal weight ("x*z", "*yz": 2 literals each): config order. */
    assert_string_equal(sy_config_find_group(cfg, "xyz")->name, "same1");
    /* "x*" has fewer literals than "*yz". */
    assert_string_equal(sy_config_find_group(cfg, "xxyz")->name, "same1");
    assert_string_equal(sy_config_find_group(cfg, "ayz")->name, "same2");
    assert_string_equal(sy_config_find_group(cfg, "xa")->name, "same2");
    assert_null(sy_config_find_group(cfg, "gpt-4o"));
    assert_null(sy_config_find_group(cfg, "claude"));
    assert_null(sy_config_find_group(cfg, ""));
}

static void
test_alias_errors(void **state)
{
    (void)state;
    load_bad(J(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':'x'}")));
    has_line("t: groups.g.aliases: must be an array, not a string (hint: "
             "a list of model names; '*' matches any run of characters)");
    load_bad(J(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':['',3,"
                            "'a b','g','a*b*c*d*e*f','ok*']}")));
    has_line("t: groups.g.aliases[0]: alias of 0 characters (hint: a "
             "model name of 1 to 128 characters)");
    has_line("t: groups.g.aliases[1]: must be a string, not an integer "
             "(hint: write a string in double quotes)");
    has_line("t: groups.g.aliases[2]: invalid alias \"a b\" (hint: use "
             "letters, digits, - _ . / : @ and *)");
    has_line("t: groups.g.aliases[3]: alias \"g\" is the group's name "
             "(hint: remove it: the group's own name matches)");
    has_line("t: groups.g.aliases[4]: too many '*' in \"a*b*c*d*e*f\" "
             "(hint: at most 4 '*' in a pattern)");
    assert_int_equal(nlines(), 5);
    /* Another group's name; one alias on two groups (or twice). */
    load_bad(J(
        ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':['h','c-*','x','x']},"
                     "'h':{'deployments':['e'],'aliases':['c-*','y']}")));
    has_line("t: groups.g.aliases[0]: alias \"h\" is the name of another "
             "group (hint: remove it: the group of that name always "
             "answers to it)");
    has_line("t: groups.g.aliases[3]: alias \"x\" already belongs to group "
             "\"g\" (hint: give each alias to one group)");
    has_line("t: groups.h.aliases[0]: alias \"c-*\" already belongs to "
             "group \"g\" (hint: give each alias to one group)");
    assert_int_equal(nlines(), 3);
}

static void
test_alias_bounds(void **state)
{
    (void)state;
    char longer[SY_ALIAS_MAX_LEN + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    load_bad(
        JF(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':['%s']}"), longer));
    has_line("t: groups.g.aliases[0]: alias of 129 characters (hint: a "
             "model name of 1 to 128 characters)");
    longer[SY_ALIAS_MAX_LEN] = '\0';
    load_ok(
        JF(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':['%s']}"), longer));
    /* SY_GROUP_MAX_ALIASES, and one more. */
    char list[SY_GROUP_MAX_ALIASES * 8 + 16];
    size_t at = 0;
    for (int i = 0; i <= SY_GROUP_MAX_ALIASES; i++)
        at += (size_t)snprintf(list + at, sizeof(list) - at, "%s'a%d'",
                               i ? "," : "", i);
    load_bad(
        JF(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':[%s]}"), list));
    has_line("t: groups.g.aliases: 33 aliases (hint: at most 32 aliases "
             "per group)");
    *strrchr(list, ',') = '\0';
    load_ok(JF(ALIAS_CONFIG("'g':{'deployments':['d'],'aliases':[%s]}"), list));
    assert_int_equal(cfg->groups[0].naliases, SY_GROUP_MAX_ALIASES);
    assert_string_equal(sy_config_find_group(cfg, "a31")->name, "g");
}

/* The embedded default: the model ids Claude Code and Codex send reach
 * the groups meant for them. */
static void
test_default_config_clients(void **state)
{
    (void)state;
    size_t len;
    const char *text = sy_config_embedded(&len);
    assert_int_equal(
        sy_config_load_string(text, len, "<embedded>", &cfg, &errs), SY_OK);
    static const struct {
        const char *model, *group;
    } cases[] = {
        { "claude-sonnet-4-5-20250929", "claude-sonnet" },
        { "claude-sonnet-4-5", "claude-sonnet" },
        { "claude-opus-4-1-20250805", "claude-sonnet" },
        { "claude-3-7-sonnet-latest", "claude-sonnet" },
        { "claude-3-5-sonnet-20241022", "claude-sonnet" },
        { "claude-haiku-4-5-20251001", "claude-haiku" },
        { "claude-3-5-haiku-20241022", "claude-haiku" },
        { "claude-haiku", "claude-haiku" },
        { "gpt-5-codex", "codex" },
        { "gpt-5", "codex" },
        { "gpt-5.1-codex-mini", "codex" },
        { "codex-mini-latest", "codex" },
        { "gpt-4o-mini", "gpt-4o-mini" },
        { "chat", "chat" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        const struct sy_group *g = sy_config_find_group(cfg, cases[i].model);
        if (g == NULL || strcmp(g->name, cases[i].group) != 0)
            fail_msg("%s: expected group %s, got %s", cases[i].model,
                     cases[i].group, g ? g->name : "none");
    }
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_alias_match),      T(test_alias_match_no_blowup),
        T(test_find_group_order), T(test_alias_errors),
        T(test_alias_bounds),     T(test_default_config_clients),
#undef T
    };
    return cmocka_run_group_tests_name("config_alias", tests, NULL, NULL);
}
