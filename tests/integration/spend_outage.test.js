/*
 * spend_outage.test.js - spend served while Redis cannot be reached
 * reaches the day's spend hash and the cost metrics once Redis answers,
 * exactly once: the state thread keeps a batch whose flush failed and
 * sends it again (core/state/spend_queue.c, lua/spend.lua). Before, the
 * batch was dropped without a word and `switchyard spend` under-reported
 * against the usage log.
 *
 * Switchyard reaches Redis through a TCP switch the test holds (as in
 * budget_outage.test.js): shut, it drops every connection and refuses
 * new ones. The test reads Redis directly.
 *
 *   sh tests/integration/run.sh build tests/integration/spend_outage.test.js
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
const ENV = { SY_T_SECRET: 'spend-outage-secret-0123456789ab', SY_T_PK: 'pk-spend-0123456789',
    SY_T_CK: 'sk-spend-caller-0123456789' };
const AUTH = { Authorization: `Bearer ${ENV.SY_T_CK}` };
/* 1 micro-USD a prompt token, 1000 a completion token. */
const PRICE = { input_per_mtok: 1, output_per_mtok: 1000 };

function config(mockPort, redisPort, usageLog) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { d1: { api_key_env: 'SY_T_PK' } },
        groups: { g1: ['d1'] },
        server: { processes: 1, threads: 8, usage_log: usageLog },
    });
    cfg.deployments.d1.price = { ...PRICE };
    cfg.state = {
        redis_url: `redis://127.0.0.1:${redisPort}`, prefix: 'sy:', refresh_ms: 200,
        connect_timeout_ms: 300, command_timeout_ms: 500, key_secret_env: 'SY_T_SECRET',
        breaker: { consecutive: 0, failure_pct: 0 },
    };
    cfg.keys = { main: { key_env: 'SY_T_CK' } };
    return cfg;
}

function today() { return new Date().toISOString().slice(0, 10); }

describe('spend while Redis is away', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let sw;
    let S;
    let ulog;

    async function hgetall(key) {
        const r = await redis.cmd('HGETALL', key);
        const o = {};
        for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = Number(r[i + 1]);
        return o;
    }

    async function spendTotal() { return (await hgetall(`sy:spend:${today()}`)).total || 0; }

    /* 'n' requests at once; the sum of their cost headers (micro-USD). */
    async function burst(n) {
        const rs = await Promise.all(Array.from({ length: n }, () => h.chat(S.base('lighttpd'), {
            model: 'g1', headers: AUTH, timeout: 10000, extra: { max_tokens: 20 } })));
        let sum = 0;
        for (const r of rs) {
            assert.equal(r.status, 200, r.body);
            sum += Math.round(Number(r.headers['x-switchyard-cost-usd']) * 1e6);
        }
        return sum;
    }

    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        sw = new Switch(redis.port);
        await sw.start();
        ulog = path.join(redisDir, 'usage.log');
        S = new h.Stack({ tag: 'spout', env: ENV, config: (mockPort) => config(mockPort, sw.port, ulog) });
        await S.start();
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1' && S) process.stderr.write(`${S.logs()}\n`);
        if (S) await S.stop();
        if (sw) await sw.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('is written once Redis answers, exactly once', async () => {
        const before = await burst(5);
        await h.waitFor('spend before the outage', async () => (await spendTotal()) === before, 5000);

        /* Redis cut for about a second, during traffic. */
        sw.shut();
        const during = await burst(5);
        await h.sleep(1000);
        sw.reopen();
        await h.waitFor('the spend kept during the outage',
            async () => (await spendTotal()) >= before + during, 10000);

        const after = await burst(2);
        const served = before + during + after;
        await h.waitFor('every request', async () => (await spendTotal()) >= served, 5000);
        await h.sleep(1000); /* nothing more comes: nothing counted twice */

        const sp = await hgetall(`sy:spend:${today()}`);
        const lines = h.readUsageLog(ulog);
        const logged = lines.reduce((a, l) => a + (l.cost_micro_usd || 0), 0);
        assert.equal(logged, served, 'the usage log has every request');
        assert.equal(sp.total, served, JSON.stringify(sp));
        assert.equal(sp['key:main'], served, JSON.stringify(sp));
        assert.equal(sp['dep:d1'], served, JSON.stringify(sp));
        const mc = await hgetall('sy:metrics:cost');
        assert.equal(Object.values(mc).reduce((a, v) => a + v, 0), served, JSON.stringify(mc));

        /* One warning for the outage, one line when it is all written. */
        const log = fs.readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        assert.equal((log.match(/spend not written to Redis/g) || []).length, 1, log);
        assert.match(log, /spend backlog written to Redis/);

        /* `switchyard spend` reads Redis and agrees with the usage log. */
        const direct = path.join(S.dir, 'direct.json');
        fs.writeFileSync(direct, JSON.stringify(config(S.mock.port, redis.port, ulog)));
        const rep = h.runSwitchyard(['spend', '--from-log', ulog, '--config', direct], { env: ENV });
        assert.equal(rep.status, 0, rep.stderr);
        assert.match(rep.stdout, /0 of \d+ rows differ/, rep.stdout);
    });
});
