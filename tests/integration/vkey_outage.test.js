/*
 * vkey_outage.test.js - virtual keys while Redis cannot be reached
 * (docs/keys.md "Redis unreachable"): a key the worker process found in
 * the last 10 minutes is still known (core/state/vkey_cache.c), and its
 * request runs the outage rules: a key with a budget is refused 503
 * budget_unavailable unless its fail_open is set, a fail_open key and a
 * key without a budget are served; a key the process has not found
 * (never used, unknown, revoked) gets 503 key_store_unavailable, a key
 * of the wrong shape 401.
 *
 * Switchyard reaches Redis through a TCP switch the test holds (as in
 * budget_outage.test.js): shut, it drops every connection and refuses
 * new ones. One worker process, so every request meets the same cache.
 *
 *   sh tests/integration/run.sh build tests/integration/vkey_outage.test.js
 *
 * Skipped without redis-server or lighttpd.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { Switch } = require('./tcp_switch');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;
const ENV = { SY_T_SECRET: 'vkey-outage-secret-0123456789abcd', SY_T_PK: 'pk-vkout-0123456789' };

function config(mockPort, redisPort) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { d1: { api_key_env: 'SY_T_PK' } },
        groups: { g1: ['d1'] },
        server: { processes: 1, threads: 4 },
    });
    cfg.deployments.d1.price = { input_per_mtok: 1, output_per_mtok: 1000 };
    cfg.state = {
        redis_url: `redis://127.0.0.1:${redisPort}`, prefix: 'sy:', refresh_ms: 200,
        connect_timeout_ms: 300, command_timeout_ms: 500, key_secret_env: 'SY_T_SECRET',
        breaker: { consecutive: 0, failure_pct: 0 },
    };
    return cfg;
}

/* A key of the right shape that no one created. */
function unknownKey() {
    const b62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let k = 'sk-sy-';
    for (let i = 0; i < 40; i++) k += b62[Math.floor(Math.random() * 62)];
    return k;
}

describe('virtual keys with Redis unreachable', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let sw;
    let S;
    let direct;
    const keys = {};

    const chat = (key) => h.chat(S.base('lighttpd'), {
        model: 'g1', headers: { Authorization: `Bearer ${key}` }, timeout: 10000,
        extra: { max_tokens: 20 },
    });
    const code = (res) => {
        try { return JSON.parse(res.body).error.code; } catch { return undefined; }
    };
    function create(name, extra) {
        const r = h.runSwitchyard(['keys', 'create', '--name', name, ...extra, '--json',
            '--config', direct], { env: ENV });
        assert.equal(r.status, 0, r.stderr);
        keys[name] = JSON.parse(r.stdout).key;
    }

    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        sw = new Switch(redis.port);
        await sw.start();
        S = new h.Stack({ tag: 'vkout', env: ENV, config: (mockPort) => config(mockPort, sw.port) });
        await S.start();
        /* The CLI runs while this process waits (spawnSync): it cannot
         * go through the switch, so it gets Redis itself. */
        direct = path.join(S.dir, 'direct.json');
        fs.writeFileSync(direct, JSON.stringify(config(S.mock.port, redis.port)));
        create('open', ['--budget-usd', '5', '--fail-open']);
        create('closed', ['--budget-usd', '5']);
        create('nobudget', []);
        create('revoked', []);
        create('unused', ['--fail-open']);
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1' && S) process.stderr.write(`${S.logs()}\n`);
        if (S) await S.stop();
        if (sw) await sw.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('keys found before the outage follow their outage rules', async () => {
        for (const n of ['open', 'closed', 'nobudget', 'revoked']) {
            const r = await chat(keys[n]);
            assert.equal(r.status, 200, `${n}: ${r.body}`);
        }
        /* revoked after it was found: Redis says so, and it is forgotten */
        const rv = h.runSwitchyard(['keys', 'revoke', 'revoked', '--config', direct], { env: ENV });
        assert.equal(rv.status, 0, rv.stderr);
        assert.equal((await chat(keys.revoked)).status, 401);

        sw.shut();
        const open = await chat(keys.open);
        assert.equal(open.status, 200, `fail_open key: ${open.body}`);
        const nob = await chat(keys.nobudget);
        assert.equal(nob.status, 200, `key without a budget: ${nob.body}`);
        const closed = await chat(keys.closed);
        assert.equal(closed.status, 503, closed.body);
        assert.equal(code(closed), 'budget_unavailable', closed.body);
        assert.equal(closed.headers['retry-after'], '1');

        /* not found by this process lately: the store's 503, never a 401
         * that would call a good key bad */
        for (const k of [keys.revoked, keys.unused, unknownKey()]) {
            const r = await chat(k);
            assert.equal(r.status, 503, r.body);
            assert.equal(code(r), 'key_store_unavailable', r.body);
        }
        /* a key of the wrong shape needs no store to be refused */
        const bad = await chat('sk-sy-short');
        assert.equal(bad.status, 401, bad.body);
        assert.equal(code(bad), 'invalid_api_key');

        /* and never a key in the log */
        const log = fs.readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        for (const k of Object.values(keys)) assert.ok(!log.includes(k), 'a key in the log');
        assert.match(log, /virtual keys are checked against the records/);
    });

    test('Redis back: every key as before', async () => {
        sw.reopen();
        await h.waitFor('Redis in use again', async () =>
            (await chat(keys.closed)).status === 200, 10000);
        assert.equal((await chat(keys.unused)).status, 200);
        assert.equal((await chat(keys.revoked)).status, 401);
        assert.equal((await chat(unknownKey())).status, 401);
    });
});
