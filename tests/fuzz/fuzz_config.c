/*
 * fuzz_config.c - libFuzzer target for the config loader
 * (sy_config_load_string), which also runs every adapter's init on the
 * provider blocks. The environment holds API keys for the variable
 * names the default config uses, so the keyed paths run too. Beyond the
 * sanitizers: a key's value never appears in the loader's error text
 * (errors are logged at start-up).
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#define ENV_SECRET "sk-env-SECRET-9876543210"

static const char *const vars[] = {
    "OPENAI_API_KEY",     "OPENAI_API_KEY_2", "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",     "DEEPSEEK_API_KEY", "MISTRAL_API_KEY",
    "OPENROUTER_API_KEY", "SY_FUZZ_KEY",      "K"
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < SY_ARRAY_LEN(vars); i++)
        setenv(vars[i], ENV_SECRET, 1);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sy_config *cfg = NULL;
    struct sy_buf errors;
    sy_buf_init(&errors, 1u << 20);
    enum sy_err e =
        sy_config_load_string((const char *)data, size, "fuzz", &cfg, &errors);
    if (errors.len > 0 &&
        memmem(data, size, ENV_SECRET, strlen(ENV_SECRET)) == NULL &&
        memmem(errors.data, errors.len, ENV_SECRET, strlen(ENV_SECRET))) {
        fprintf(stderr, "fuzz: a key reached the config errors\n");
        abort();
    }
    if (e == SY_OK) {
        if (cfg == NULL)
            abort();
        for (size_t i = 0; i < cfg->ngroups; i++)
            if (sy_config_find_group(cfg, cfg->groups[i].name) == NULL)
                abort();
        sy_config_free(cfg);
    } else if (cfg != NULL) {
        abort(); /* a failed load hands nothing out */
    }
    sy_buf_free(&errors);
    return 0;
}
