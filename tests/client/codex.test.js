/*
 * codex.test.js - Codex CLI (npm @openai/codex, the real CLI, unmodified)
 * through Switchyard behind lighttpd: 'codex exec' with a model provider
 * whose base_url is the gateway's /v1 and wire_api "responses" (so it
 * speaks POST /v1/responses, streamed), a caller key of the gateway's
 * config in the variable named by env_key, against a group that answers
 * to Codex's model ids (aliases "gpt-5*", "codex-*") and is served by ONE
 * mock deployment, in turn an OpenAI (chat), an Anthropic and a Gemini
 * one. The mock's fault spec makes the first reply call Codex's shell
 * tool, exec_command {"cmd": "..."}, with a command that prints a random
 * marker (fault keys tool_name and tool_arguments, tests/fakes/README.md);
 * Codex runs it and sends the output back (a function_call_output whose
 * text holds the marker as one line), and the mock answers "Tool result:
 * <the result>". Checked: exit status 0, a later provider request carries
 * the marker as the tool result in the deployment's dialect (role "tool",
 * tool_result, functionResponse), the final message on stdout holds the
 * mock's "Tool result" text, the alias reached the deployment's model, and
 * the provider saw the provider key, never the caller's.
 *
 * Codex runs with HOME, CODEX_HOME, the XDG directories and TMPDIR inside
 * the test's temporary directory, a config.toml written there (model
 * "gpt-5-codex": a model id outside Codex's built-in catalog gets plain
 * function tools), no update check, analytics, plugins or apps (so no
 * request leaves the machine), approvals never asked and its read-only
 * sandbox (enough for an echo), stdin closed, under a time limit, in its
 * own process group (killed at the end with everything else the harness
 * started).
 * Run: 'npm ci' once here, then 'node --test codex.test.js'
 * (SY_BUILD_DIR picks the build, as for client.test.js).
 * SPDX-License-Identifier: MIT
 */
'use strict';

/* Three stacks and three Codex runs: more than the harness's default
 * watchdog allows a file. */
if (!process.env.SY_TEST_FILE_TIMEOUT) process.env.SY_TEST_FILE_TIMEOUT = '420';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../integration/harness');

const SERVER = 'lighttpd';
/* The package's launcher: a Node script that runs the platform binary
 * from the optional dependency npm picked (@openai/codex-linux-x64...). */
const CODEX = path.join(__dirname, 'node_modules', '@openai', 'codex', 'bin', 'codex.js');
const CODEX_VERSION = require('./package.json').dependencies['@openai/codex'];
const MODEL = 'gpt-5-codex';
const KEY_ENV = 'SY_CODEX_KEY';
const CALLER_KEY = 'sk-sy-codex-caller-0001';
const PROVIDER_KEY = 'sk-sy-codex-provider-0001';
const RUN_TIMEOUT_S = 120;

/* Why Codex cannot run here, or null. Without its platform package the
 * launcher fails, so '--version' tells both. */
function codexMissing() {
    if (!fs.existsSync(CODEX)) return 'no @openai/codex (npm ci)';
    const r = spawnSync(process.execPath, [CODEX, '--version'], {
        timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (r.status !== 0 || !String(r.stdout).includes(`codex-cli ${CODEX_VERSION}`)) {
        return `codex --version failed: ${String(r.stderr || r.error || r.status).slice(0, 200)}`;
    }
    return null;
}

const SKIP = h.missing(SERVER) || codexMissing();

/* All strings inside a JSON value. */
function strings(v, out = []) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) strings(x, out);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
    return out;
}

/* Does a JSON value hold the marker as a whole line of one string? Codex
 * reports a command as "Chunk ID: ..\nProcess exited with code 0\n...
 * Output:\n<what it printed>\n"; the command itself ("echo <marker>")
 * never is such a line. */
const holdsMarker = (v, marker) =>
    strings(v).some((s) => s.split('\n').some((l) => l.trim() === marker));

/* Per dialect: the deployment and where a request carries tool results. */
const DIALECTS = [
    {
        name: 'OpenAI',
        type: 'openai',
        model: 'gpt-mock-1',
        results: (body) => (body.messages || [])
            .filter((m) => m.role === 'tool').map((m) => m.content),
        keyOf: (hd) => (hd.authorization || '').replace(/^Bearer /, ''),
        modelOf: (r) => r.body.model,
    },
    {
        name: 'Anthropic',
        type: 'anthropic',
        model: 'claude-mock-1',
        results: (body) => (body.messages || []).flatMap((m) =>
            (Array.isArray(m.content) ? m.content : [])
                .filter((b) => b.type === 'tool_result' && !b.is_error)
                .map((b) => b.content)),
        keyOf: (hd) => hd['x-api-key'],
        modelOf: (r) => r.body.model,
    },
    {
        name: 'Gemini',
        type: 'gemini',
        model: 'gemini-mock-1',
        results: (body) => (body.contents || []).flatMap((c) => (c.parts || [])
            .filter((p) => p.functionResponse).map((p) => p.functionResponse.response)),
        keyOf: (hd) => hd['x-goog-api-key'],
        modelOf: (r) => (/\/models\/([^/:]+):/.exec(r.path) || [])[1],
    },
];

/* Codex's config.toml: the gateway as a Responses API provider, and
 * nothing that would reach out to the network (update check, analytics,
 * plugin and app catalogues) or wait for a person (approvals). No
 * retries: every provider request the test sees is one Codex meant. */
function codexConfig(baseURL) {
    return [
        `model = "${MODEL}"`,
        'model_provider = "switchyard"',
        'approval_policy = "never"',
        'sandbox_mode = "read-only"',
        'check_for_update_on_startup = false',
        '',
        '[analytics]',
        'enabled = false',
        '',
        '[features]',
        'plugins = false',
        'remote_plugin = false',
        'apps = false',
        '',
        '[model_providers.switchyard]',
        'name = "Switchyard"',
        `base_url = "${baseURL}/v1"`,
        `env_key = "${KEY_ENV}"`,
        'wire_api = "responses"',
        'request_max_retries = 0',
        'stream_max_retries = 0',
        '',
    ].join('\n');
}

/* Environment for Codex: everything it writes stays in 'home'; variables
 * of the user's own Codex, OpenAI, cloud or proxy setup are dropped (set
 * to undefined: spawn leaves them out). */
function codexEnv(home) {
    const env = {};
    for (const k of Object.keys(process.env)) {
        if (/^(CODEX_|OPENAI_|AZURE_|OTEL_|AWS_|GOOGLE_|RUST_LOG)/.test(k) ||
            /^(https?|all|no)_proxy$/i.test(k)) {
            env[k] = undefined;
        }
    }
    const xdg = (d) => path.join(home, d);
    return {
        ...env,
        HOME: home,
        CODEX_HOME: path.join(home, '.codex'),
        XDG_CONFIG_HOME: xdg('.config'),
        XDG_CACHE_HOME: xdg('.cache'),
        XDG_DATA_HOME: xdg('.local/share'),
        XDG_STATE_HOME: xdg('.local/state'),
        XDG_RUNTIME_DIR: xdg('run'),
        TMPDIR: xdg('tmp'),
        NO_COLOR: '1',
        [KEY_ENV]: CALLER_KEY,
    };
}

/* Run 'codex exec PROMPT' in 'dir' against 'baseURL': {code, signal,
 * stdout, stderr}. stdin is /dev/null; the harness kills the process
 * group if the file ends first. */
async function runCodex(dir, baseURL, prompt) {
    const home = path.join(dir, 'codex-home');
    const work = path.join(dir, 'codex-work');
    for (const d of ['.codex', '.config', '.cache', '.local/share', '.local/state', 'run', 'tmp']) {
        fs.mkdirSync(path.join(home, d), { recursive: true, mode: 0o700 });
    }
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(home, '.codex', 'config.toml'), codexConfig(baseURL));
    const out = path.join(dir, 'codex.out');
    const err = path.join(dir, 'codex.err');
    /* sh keeps stdout (the last message) and stderr (the transcript)
     * apart (spawnProc logs one stream). */
    const proc = h.spawnProc('codex', ['/bin/sh', '-c', 'exec "$@" 2>"$0"', err,
        process.execPath, CODEX, 'exec', '--skip-git-repo-check', '--ephemeral',
        '--color', 'never', prompt], {
        env: codexEnv(home), log: out, cwd: work, lifetime: RUN_TIMEOUT_S,
    });
    const { code, signal } = await proc.exited;
    const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
    return { code, signal, stdout: read(out), stderr: read(err) };
}

for (const d of DIALECTS) {
    describe(`Codex CLI through Switchyard, ${d.name} deployment`, { skip: SKIP || false }, () => {
        const stack = new h.Stack({
            tag: `codex-${d.type}`,
            servers: [SERVER],
            env: { SY_T_CX_CALLER: CALLER_KEY, SY_T_CX_PROVIDER: PROVIDER_KEY },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: {
                        cx: {
                            type: d.type, model: d.model, api_key_env: ['SY_T_CX_PROVIDER'],
                            timeouts: { first_byte_ms: 10000, idle_ms: 10000, total_ms: 60000 },
                        },
                    },
                    groups: { codex: { deployments: ['cx'], aliases: ['gpt-5*', 'codex-*'] } },
                });
                cfg.keys = { cx: { key_env: 'SY_T_CX_CALLER' } };
                return cfg;
            },
        });
        before(() => stack.start(), { timeout: 60000 });
        after(() => stack.stop(), { timeout: 30000 });

        it('runs the shell command the mock asks for and gets the answer to its result',
            { timeout: (RUN_TIMEOUT_S + 20) * 1000 }, async (t) => {
            const marker = `sy-roundtrip-${crypto.randomBytes(6).toString('hex')}`;
            await stack.mock.fault('cx', {
                tool_name: 'exec_command',
                tool_arguments: JSON.stringify({ cmd: `echo ${marker}` }),
            });
            const res = await runCodex(stack.dir, stack.base(SERVER), 'run the marker command');
            const reqs = await stack.mock.requests('cx');
            const why = () => `exit ${res.code} ${res.signal || ''}\nstdout: ${res.stdout.slice(0, 1500)}\n` +
                `stderr: ${res.stderr.slice(-3000)}\nprovider requests: ` +
                `${reqs.map((r) => `${r.method} ${r.path}`).join(', ')}\n${stack.logs()}`;
            t.diagnostic(`${reqs.length} provider requests: ${reqs.map((r) => r.path).join(', ')}`);

            assert.equal(res.code, 0, why());
            const chats = reqs.filter((r) => r.body && typeof r.body === 'object');
            const at = chats.findIndex((r) => holdsMarker(d.results(r.body), marker));
            assert.ok(at > 0, `no later provider request carries the tool result ${marker}\n${why()}`);
            assert.equal(d.results(chats[0].body).length, 0, 'the first request already had a tool result');
            assert.match(res.stdout, /Tool result/, why());
            assert.ok(res.stdout.includes(marker), why());
            for (const r of chats) {
                assert.equal(d.modelOf(r), d.model, `${r.path}: the alias did not reach the deployment`);
                assert.equal(d.keyOf(r.headers), PROVIDER_KEY, `${r.path}: not the provider key`);
                assert.ok(!JSON.stringify(r.headers).includes(CALLER_KEY), `${r.path}: the caller key leaked`);
            }
        });
    });
}
