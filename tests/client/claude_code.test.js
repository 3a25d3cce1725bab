/*
 * claude_code.test.js - Claude Code (npm @anthropic-ai/claude-code, the
 * real CLI, unmodified) through Switchyard behind lighttpd: 'claude -p'
 * with ANTHROPIC_BASE_URL at the gateway and a caller key of its config,
 * against a group that answers to Claude Code's model ids (alias
 * "claude-*") and is served by ONE mock deployment, in turn an Anthropic,
 * an OpenAI and a Gemini one. The mock's fault spec makes the first reply
 * call Claude Code's Bash tool with a command that prints a random
 * marker (fault keys tool_name and tool_arguments, tests/fakes/README.md);
 * Claude Code runs it and sends the output back, and the mock answers
 * "Tool result: <the result>". Checked: exit status 0, a later provider
 * request carries the marker as the tool result in the deployment's
 * dialect (tool_result, role "tool", functionResponse), the final output
 * holds the mock's "Tool result" text, the alias reached the deployment's
 * model, and the provider saw the provider key, never the caller's.
 *
 * Claude Code runs with HOME, CLAUDE_CONFIG_DIR, the XDG directories and
 * TMPDIR inside the test's temporary directory, no telemetry or updates,
 * stdin closed, under a time limit, in its own process group (killed at
 * the end with everything else the harness started).
 * Run: 'npm ci' once here, then 'node --test claude_code.test.js'
 * (SY_BUILD_DIR picks the build, as for client.test.js).
 * SPDX-License-Identifier: MIT
 */
'use strict';

/* Three stacks and three Claude Code runs: more than the harness's
 * default watchdog allows a file. */
if (!process.env.SY_TEST_FILE_TIMEOUT) process.env.SY_TEST_FILE_TIMEOUT = '420';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../integration/harness');

const SERVER = 'lighttpd';
const CLAUDE = path.join(__dirname, 'node_modules', '@anthropic-ai', 'claude-code',
    'bin', 'claude.exe');
const CALLER_KEY = 'sk-sy-claude-code-caller-0001';
const PROVIDER_KEY = 'sk-sy-claude-code-provider-0001';
const RUN_TIMEOUT_S = 120;

/* Why Claude Code cannot run here, or null. The package's bin is a
 * placeholder until its postinstall put the platform's native binary
 * there. */
function claudeMissing() {
    if (!fs.existsSync(CLAUDE)) return 'no @anthropic-ai/claude-code (npm ci)';
    const r = spawnSync(CLAUDE, ['--version'], { timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0 || !/Claude Code/.test(String(r.stdout))) {
        return `claude --version failed: ${String(r.stderr || r.error || r.status).slice(0, 200)}`;
    }
    return null;
}

const SKIP = h.missing(SERVER) || claudeMissing();

/* All strings inside a JSON value. */
function strings(v, out = []) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) strings(x, out);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
    return out;
}

/* Does a JSON value hold the marker as the whole of one string (the
 * command's output, not an error message quoting the command)? */
const holdsMarker = (v, marker) => strings(v).some((s) => s.trim() === marker);

/* Per dialect: the deployment and where a request carries tool results. */
const DIALECTS = [
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
        name: 'OpenAI',
        type: 'openai',
        model: 'gpt-mock-1',
        results: (body) => (body.messages || [])
            .filter((m) => m.role === 'tool').map((m) => m.content),
        keyOf: (hd) => (hd.authorization || '').replace(/^Bearer /, ''),
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

/* Environment for Claude Code: everything it writes stays in 'home';
 * variables of the user's own Claude Code, cloud or proxy setup are
 * dropped (set to undefined: spawn leaves them out). */
function claudeEnv(home, baseURL) {
    const env = {};
    for (const k of Object.keys(process.env)) {
        if (/^(ANTHROPIC_|CLAUDE|OTEL_|AWS_|GOOGLE_|VERTEX|CLOUD_ML|DISABLE_|MCP_)/.test(k) ||
            /^(https?|all|no)_proxy$/i.test(k)) {
            env[k] = undefined;
        }
    }
    const xdg = (d) => path.join(home, d);
    return {
        ...env,
        HOME: home,
        CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
        XDG_CONFIG_HOME: xdg('.config'),
        XDG_CACHE_HOME: xdg('.cache'),
        XDG_DATA_HOME: xdg('.local/share'),
        XDG_STATE_HOME: xdg('.local/state'),
        XDG_RUNTIME_DIR: xdg('run'),
        TMPDIR: xdg('tmp'),
        ANTHROPIC_BASE_URL: baseURL,
        ANTHROPIC_API_KEY: CALLER_KEY,
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
    };
}

/* Run 'claude -p PROMPT' in 'dir' against 'baseURL': {code, signal,
 * stdout, stderr}. stdin is /dev/null; the harness kills the process
 * group if the file ends first. */
async function runClaude(dir, baseURL, prompt) {
    const home = path.join(dir, 'cc-home');
    const work = path.join(dir, 'cc-work');
    for (const d of ['.claude', '.config', '.cache', '.local/share', '.local/state', 'run', 'tmp']) {
        fs.mkdirSync(path.join(home, d), { recursive: true, mode: 0o700 });
    }
    fs.mkdirSync(work, { recursive: true });
    const out = path.join(dir, 'claude.out');
    const err = path.join(dir, 'claude.err');
    /* sh keeps stdout and stderr apart (spawnProc logs one stream). */
    const proc = h.spawnProc('claude', ['/bin/sh', '-c', 'exec "$@" 2>"$0"', err, CLAUDE,
        '-p', prompt, '--allowedTools', 'Bash(echo:*)', '--output-format', 'text'], {
        env: claudeEnv(home, baseURL), log: out, cwd: work, lifetime: RUN_TIMEOUT_S,
    });
    const { code, signal } = await proc.exited;
    const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
    return { code, signal, stdout: read(out), stderr: read(err) };
}

for (const d of DIALECTS) {
    describe(`Claude Code through Switchyard, ${d.name} deployment`, { skip: SKIP || false }, () => {
        const stack = new h.Stack({
            tag: `cc-${d.type}`,
            servers: [SERVER],
            env: { SY_T_CC_CALLER: CALLER_KEY, SY_T_CC_PROVIDER: PROVIDER_KEY },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: {
                        cc: {
                            type: d.type, model: d.model, api_key_env: ['SY_T_CC_PROVIDER'],
                            /* Claude Code asks its main model for up to
                             * 128000 output tokens; a claude-* deployment
                             * defaults to less (core/api/caps.c). */
                            capabilities: { max_output_tokens: 128000 },
                            timeouts: { first_byte_ms: 10000, idle_ms: 10000, total_ms: 60000 },
                        },
                    },
                    groups: { 'claude-code': { deployments: ['cc'], aliases: ['claude-*'] } },
                });
                cfg.keys = { cc: { key_env: 'SY_T_CC_CALLER' } };
                return cfg;
            },
        });
        before(() => stack.start(), { timeout: 60000 });
        after(() => stack.stop(), { timeout: 30000 });

        it('runs the Bash tool the mock asks for and gets the answer to its result',
            { timeout: (RUN_TIMEOUT_S + 20) * 1000 }, async (t) => {
            const marker = `sy-roundtrip-${crypto.randomBytes(6).toString('hex')}`;
            await stack.mock.fault('cc', {
                tool_name: 'Bash',
                tool_arguments: JSON.stringify({ command: `echo ${marker}`, description: 'print a marker' }),
            });
            const res = await runClaude(stack.dir, stack.base(SERVER), 'run the marker command');
            const reqs = await stack.mock.requests('cc');
            const why = () => `exit ${res.code} ${res.signal || ''}\nstdout: ${res.stdout.slice(0, 1500)}\n` +
                `stderr: ${res.stderr.slice(0, 1500)}\nprovider requests: ` +
                `${reqs.map((r) => `${r.method} ${r.path}`).join(', ')}\n${stack.logs()}`;
            t.diagnostic(`${reqs.length} provider requests: ${reqs.map((r) => r.path).join(', ')}`);

            assert.equal(res.code, 0, why());
            const chats = reqs.filter((r) => r.body && typeof r.body === 'object' &&
                !/count_tokens/.test(r.path));
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
