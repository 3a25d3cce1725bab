/*
 * budget_outage.test.js - a request that ends while Redis cannot be
 * reached is still charged: its budget settle is sent again once Redis
 * answers, and counted once (core/state/budget_retry.c).
 *
 * Switchyard reaches Redis through a TCP switch the test holds: open, it
 * forwards; shut, it drops every connection and refuses new ones, so a
 * command sent then never reaches Redis (a Redis stopped with SIGSTOP
 * would run it later, and prove nothing). The test reads Redis directly.
 *
 *   sh tests/integration/run.sh build tests/integration/budget_outage.test.js
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
const ENV = { SY_T_SECRET: 'budget-outage-secret-0123456789ab', SY_T_PK: 'pk-outage-0123456789' };
/* 1 micro-USD a prompt token, 1000 a completion token. */
const PRICE = { input_per_mtok: 1, output_per_mtok: 1000 };

function config(mockPort, redisPort) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: {
            slow: { api_key_env: 'SY_T_PK' },
            'cv-a': { api_key_env: 'SY_T_PK' },
            'cv-b': { api_key_env: 'SY_T_PK' },
        },
        groups: {
            'g-slow': ['slow'],
            /* a broken contract costs money and moves on: the failover
             * needs one more reservation */
            'g-next': { deployments: ['cv-a', 'cv-b'], strategy: 'priority', contract: { on_violation: 'next' } },
        },
        server: { processes: 1, threads: 4 },
    });
    for (const d of ['slow', 'cv-a', 'cv-b']) cfg.deployments[d].price = { ...PRICE };
    cfg.state = {
        redis_url: `redis://127.0.0.1:${redisPort}`, prefix: 'sy:', refresh_ms: 200,
        connect_timeout_ms: 300, command_timeout_ms: 500, key_secret_env: 'SY_T_SECRET',
        breaker: { consecutive: 0, failure_pct: 0 },
    };
    return cfg;
}

describe('a budget settle that finds Redis away', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let sw;
    let S;
    const name = 'outage-key';
    let key;
    const keys = {};

    async function budget() {
        const r = await redis.cmd('HGETALL', `sy:budget:{${name}}:total`);
        const o = {};
        for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
        return o;
    }

    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        sw = new Switch(redis.port);
        await sw.start();
        S = new h.Stack({ tag: 'bout', env: ENV, config: (mockPort) => config(mockPort, sw.port) });
        await S.start();
        /* The CLI runs while this process waits (spawnSync): it cannot
         * go through the switch, so it gets Redis itself. */
        const direct = path.join(S.dir, 'direct.json');
        fs.writeFileSync(direct, JSON.stringify(config(S.mock.port, redis.port)));
        const r = h.runSwitchyard(['keys', 'create', '--name', name, '--budget-usd', '10', '--period', 'total', '--json',
            '--config', direct], { env: ENV });
        assert.equal(r.status, 0, r.stderr);
        key = JSON.parse(r.stdout).key;
        for (const [n, extra] of [['closed-key', []], ['open-key', ['--fail-open']]]) {
            const k = h.runSwitchyard(['keys', 'create', '--name', n, '--budget-usd', '10', '--period',
                'total', ...extra, '--json', '--config', direct], { env: ENV });
            assert.equal(k.status, 0, k.stderr);
            keys[n] = JSON.parse(k.stdout).key;
        }
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1' && S) process.stderr.write(`${S.logs()}\n`);
        if (S) await S.stop();
        if (sw) await sw.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('is sent again when Redis answers, and counted once', async () => {
        /* About 1.2 s upstream: Redis goes away after the reservation. */
        const pending = h.chat(S.base('lighttpd'), {
            model: 'g-slow', headers: { Authorization: `Bearer ${key}` }, timeout: 15000,
            directive: { content: 'one two three four', chunks: 4, chunk_delay_ms: 300 },
            extra: { max_tokens: 20 },
        });
        await h.waitFor('the reservation', async () => {
            const b = await budget();
            return Number(b.reserved || 0) > 0;
        }, 5000);
        sw.shut();
        const res = await pending;
        assert.equal(res.status, 200, res.body);
        const cost = Number(res.headers['x-switchyard-cost-usd']);
        assert.ok(cost > 0, `cost header: ${res.headers['x-switchyard-cost-usd']}`);
        const micro = Math.round(cost * 1e6);

        /* The settle found Redis away: nothing is recorded yet, the
         * reservation is still held. */
        await h.sleep(700);
        let b = await budget();
        assert.equal(Number(b.spent || 0), 0, JSON.stringify(b));
        assert.ok(Number(b.reserved) > 0, JSON.stringify(b));
        const log = fs.readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        assert.match(log, /queued to settle again/);

        /* Redis reachable again: the state thread settles it. */
        sw.reopen();
        await h.waitFor('the late settle', async () => Number((await budget()).spent || 0) > 0, 10000);
        b = await budget();
        assert.equal(Number(b.spent), micro, JSON.stringify(b));
        assert.equal(Number(b.reserved), 0, JSON.stringify(b));
        assert.equal(Object.keys(b).filter((k) => k.startsWith('r:')).length, 0, JSON.stringify(b));
        assert.match(fs.readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8'),
            /settled late/);

        /* And the key serves, and is charged, as before. */
        const again = await h.chat(S.base('lighttpd'), {
            model: 'g-slow', headers: { Authorization: `Bearer ${key}` }, timeout: 15000,
            extra: { max_tokens: 20 },
        });
        assert.equal(again.status, 200, again.body);
        const more = Math.round(Number(again.headers['x-switchyard-cost-usd']) * 1e6);
        await h.sleep(300);
        b = await budget();
        assert.equal(Number(b.spent), micro + more, JSON.stringify(b));
    });

    /* The first deployment breaks the schema slowly (it costs money), and
     * Redis goes away before the failover reserves its worst case. */
    async function failoverWithRedisAway(name) {
        sw.reopen();
        /* until the workers use Redis again (a fail-closed key is served) */
        await h.waitFor('Redis in use again', async () => (await h.chat(S.base('lighttpd'), {
            model: 'g-slow', headers: { Authorization: `Bearer ${keys['closed-key']}` },
            timeout: 5000, extra: { max_tokens: 5 } })).status === 200, 10000);
        const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'],
            additionalProperties: false };
        const before = await S.mock.count('cv-b');
        const pending = h.chat(S.base('lighttpd'), {
            model: 'g-next', headers: { Authorization: `Bearer ${keys[name]}` }, timeout: 15000,
            directive: { content: '{"n": "not a number"}', chunks: 4, chunk_delay_ms: 300 },
            extra: { max_tokens: 20, response_format: { type: 'json_schema',
                json_schema: { name: 'n', strict: true, schema } } },
        });
        await h.waitFor('the reservation', async () => {
            const r = await redis.cmd('HGET', `sy:budget:{${name}}:total`, 'reserved');
            return Number(r || 0) > 0;
        }, 5000);
        sw.shut();
        const res = await pending;
        return { res, v2: (await S.mock.count('cv-b')) - before };
    }

    test('a failover that cannot reserve: 503 budget_unavailable, not 429', async () => {
        const { res, v2 } = await failoverWithRedisAway('closed-key');
        assert.equal(res.status, 503, res.body);
        assert.equal(res.json.error.code, 'budget_unavailable', res.body);
        assert.match(res.json.error.message, /cannot be checked now/);
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(v2, 0, 'the failover went out unreserved');
    });

    test('a fail_open key fails over unreserved, as at admission', async () => {
        const { res, v2 } = await failoverWithRedisAway('open-key');
        assert.equal(v2, 1, `v2 not tried: ${res.status} ${res.body}`);
        assert.notEqual(res.status, 429, res.body);
        assert.doesNotMatch(res.body, /budget_exceeded|budget_unavailable/);
    });
});
