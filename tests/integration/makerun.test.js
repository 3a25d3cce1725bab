/*
 * makerun.test.js - the newcomer's stack: tools/run.sh (what 'make run'
 * runs) starts Redis, the mock provider, the gateway and lighttpd with the
 * embedded default config; chat works; killing its Redis by hand leaves
 * the gateway serving in degraded mode (/healthz says so) instead of
 * stopping the stack; SIGTERM then stops everything and removes the
 * temporary directory.
 *
 *   sh tests/integration/run.sh build tests/integration/makerun.test.js
 * SPDX-License-Identifier: MIT
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

/* Provider keys would send the default config to the internet. */
function offlineEnv(port) {
    const env = { PORT: String(port), SY_RUN_LIFETIME: '120' };
    for (const v of ['OPENAI_API_KEY', 'OPENROUTER_API_KEY', 'DEEPSEEK_API_KEY',
                     'MISTRAL_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY',
                     'SWITCHYARD_CONFIG']) env[v] = '';
    return env;
}

test('make run: serves, survives its Redis dying, stops cleanly', async (t) => {
    const dir = h.makeTmpDir('makerun');
    const log = path.join(dir, 'run.log');
    const port = await h.freePort();
    const run = h.spawnProc('run.sh', ['sh', path.join(h.ROOT, 'tools', 'run.sh'), h.BUILD],
                            { env: offlineEnv(port), log, lifetime: 150 });
    t.after(() => h.stopProc(run));
    const base = `http://127.0.0.1:${port}`;
    await h.waitFor('run.sh ready', () => /Ctrl-C stops everything/.test(h.tail(log, 200)),
                    30000, run);
    const m = /redis-server +127\.0\.0\.1:(\d+) .*\(pid (\d+)\)/.exec(h.tail(log, 200));
    assert.ok(m, `banner names Redis and its pid:\n${h.tail(log)}`);
    const tmpDir = /temporary directory ([^)]+)\)/.exec(h.tail(log, 200))[1];

    const ok = await h.chat(base, { model: 'gpt-4o-mini', text: 'Hello!' });
    assert.strictEqual(ok.status, 200, ok.body);
    /* The model ids Claude Code and Codex send reach the mock through the
     * default config's aliases. */
    for (const [model, dep] of [['claude-sonnet-4-5-20250929', 'mock-claude'],
                                ['claude-haiku-4-5-20251001', 'mock-claude'],
                                ['gpt-5-codex', null]]) {
        const r = await h.chat(base, { model, text: 'Hello!' });
        assert.strictEqual(r.status, 200, `${model}: ${r.body}`);
        if (dep) assert.strictEqual(r.headers['x-switchyard-deployment'], dep);
    }
    let health = await h.request(base, { path: '/healthz' });
    assert.strictEqual(health.json.redis, 'up', health.body);

    /* A crash: SIGKILL to its group (coreutils timeout leads one). */
    process.kill(-Number(m[2]), 'SIGKILL');
    await h.waitFor('run.sh notices', () => /redis-server exited/.test(h.tail(log, 200)),
                    10000, run);
    await h.waitFor('degraded health', async () => {
        health = await h.request(base, { path: '/healthz' });
        return health.json && health.json.redis === 'down';
    }, 15000, run);
    assert.strictEqual(health.status, 200);
    assert.strictEqual(health.json.status, 'degraded');
    const degraded = await h.chat(base, { model: 'gpt-4o-mini', text: 'Still there?' });
    assert.strictEqual(degraded.status, 200, degraded.body);
    assert.ok(!run.exitInfo, 'run.sh keeps running without Redis');
    assert.match(h.tail(log, 200), /start it again with: redis-server/);

    process.kill(-run.child.pid, 'SIGTERM');
    const info = await run.exited;
    assert.strictEqual(info.code, 0, h.tail(log));
    assert.ok(!fs.existsSync(tmpDir), `${tmpDir} removed`);
});
