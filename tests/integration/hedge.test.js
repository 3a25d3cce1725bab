/*
 * hedge.test.js - hedged requests (core/serve/pipeline_hedge.c): a group
 * of two mock deployments with "hedge": {"after_ms": 150}.
 *
 *   1. the first deployment holds its first token for 2 s: the answer
 *      comes from the second well before that, x-switchyard-route says
 *      the hedge won, the mock saw the first call abandoned (connection
 *      closed), the usage log has both attempts (hedge/won marked, both
 *      charged) and the spend report counts both;
 *   2. a fast first deployment: no hedge at all;
 *   3. a streaming caller: events only from the winner;
 *   4. a failure of one of the pair before a token: the other answers;
 *   5. under a general slowdown, max_share caps hedging.
 *
 * Timings are generous (the machine is shared): "well before 2 s" is
 * under 1.6 s.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');

const server = h.SERVERS.find((s) => !h.missing(s));
const PRICE = { input_per_mtok: 2, output_per_mtok: 8 };
const KEY = 'sk-hedge-test-0123456789';
const AUTH = { Authorization: `Bearer ${KEY}` };
let S;
let logFile;

/* A chat request as the test's caller key. */
function ask(opts) {
    return h.chat(S.base(server), { ...opts, headers: { ...AUTH, ...(opts.headers || {}) } });
}

/* The usage-log lines of request 'id', once it settled ('n' of them). */
async function linesOf(id, n) {
    let lines = [];
    for (let i = 0; i < 60; i++) {
        lines = h.readUsageLog(logFile).filter((l) => l.request_id === id);
        if (lines.length >= n) break;
        await h.sleep(100);
    }
    return lines;
}

describe('hedged requests', { skip: !server }, () => {
    before(async () => {
        S = new h.Stack({
            tag: 'hedge', servers: [server], env: { SY_T_HEDGE_KEY: KEY },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { hd1: {}, hd2: {}, hs1: {}, hs2: {} },
                    groups: {
                        'g-hedge': { deployments: ['hd1', 'hd2'], hedge: { after_ms: 150, max_share: 0.5 } },
                        'g-fail': { deployments: ['hd1', 'hd2'], hedge: { after_ms: 150, max_share: 0.5 } },
                        'g-share': { deployments: ['hs1', 'hs2'], hedge: { after_ms: 150, max_share: 0.05 } },
                    },
                    server: { processes: 1, threads: 8, usage_log: path.join(S.dir, 'usage.log') },
                });
                for (const d of Object.keys(cfg.deployments)) cfg.deployments[d].price = { ...PRICE };
                cfg.keys = { hk: { key_env: 'SY_T_HEDGE_KEY' } };
                return cfg;
            },
        });
        await S.start();
        logFile = path.join(S.dir, 'usage.log');
    }, { timeout: 60000 });
    after(() => (S ? S.stop() : undefined), { timeout: 30000 });
    beforeEach(async () => {
        await S.mock.reset();
        await S.mock.resetTally();
    });

    it('answers from the hedge when the first deployment is slow, and bills both', async () => {
        await S.mock.fault('hd1', { delay_ms: 2000 });
        const t0 = Date.now();
        const r = await ask({ model: 'g-hedge', stream: false,
            headers: { 'X-Request-Id': 'hedge-won-1' } });
        const took = Date.now() - t0;
        assert.equal(r.status, 200, r.body);
        assert.ok(took < 1600, `answered after ${took} ms`);
        assert.equal(h.contentOf(r), 'Hello from hd2.');
        assert.equal(r.headers['x-switchyard-deployment'], 'hd2');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:hd2/);
        /* The first call was left during its delay: nothing was sent. */
        let log = [];
        for (let i = 0; i < 40; i++) {
            log = (await S.mock.tally()).log.filter((c) => c.deployment === 'hd1');
            if (log.length > 0) break;
            await h.sleep(100);
        }
        assert.equal(log.length, 1, JSON.stringify(log));
        assert.equal(log[0].outcome, 'none');
        assert.equal(log[0].status, 0);
        const lines = await linesOf(r.headers['x-request-id'], 2);
        assert.equal(lines.length, 2, JSON.stringify(lines));
        const p = lines.find((l) => l.deployment === 'hd1');
        const w = lines.find((l) => l.deployment === 'hd2');
        assert.deepEqual([p.hedge, p.won, p.outcome, p.estimated], ['primary', 0, 'cancelled', 1]);
        assert.deepEqual([w.hedge, w.won, w.outcome], ['hedge', 1, 'ok']);
        assert.ok(p.cost_micro_usd > 0 && p.prompt_tokens > 0, JSON.stringify(p));
        assert.ok(w.cost_micro_usd > 0, JSON.stringify(w));
        const day = w.time.slice(0, 10);
        /* The key's spend (this is its first request) is both calls'. */
        assert.deepEqual([p.key, w.key], ['hk', 'hk']);
        const rep = h.runSwitchyard(['spend', '--config', S.configFile, '--from-log', logFile,
            '--from', day, '--to', day, '--by', 'key', '--json'], { env: { SY_T_HEDGE_KEY: KEY } });
        assert.equal(rep.status, 0, rep.stderr);
        const k = JSON.parse(rep.stdout).rows.find((x) => x.name === 'hk');
        assert.equal(k.cost_micro_usd, p.cost_micro_usd + w.cost_micro_usd, rep.stdout);
    });

    it('does not hedge a fast first deployment', async () => {
        const r = await ask({ model: 'g-hedge', stream: false,
            headers: { 'X-Request-Id': 'hedge-none-1' } });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hd1');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=none/);
        assert.equal(await S.mock.count('hd2'), 0);
        const lines = await linesOf(r.headers['x-request-id'], 1);
        assert.equal(lines.length, 1, JSON.stringify(lines));
        assert.equal(lines[0].hedge, null);
    });

    it('streams only the winner\'s events', async () => {
        await S.mock.fault('hd1', { delay_ms: 2000 });
        const t0 = Date.now();
        const r = await ask({ model: 'g-hedge', stream: true,
            headers: { 'X-Request-Id': 'hedge-stream-1' } });
        const took = Date.now() - t0;
        assert.equal(r.status, 200, r.body);
        assert.ok(took < 1600, `answered after ${took} ms`);
        assert.equal(r.headers['x-switchyard-deployment'], 'hd2');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:hd2/);
        assert.equal(h.contentOf(r), 'Hello from hd2.');
        assert.ok(!r.body.includes('hd1'), r.body);
        assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        const lines = await linesOf(r.headers['x-request-id'], 2);
        assert.equal(lines.length, 2, JSON.stringify(lines));
    });

    it('keeps going when one of the pair fails before a token', async () => {
        /* The first fails after the hedge started: the hedge answers. */
        await S.mock.fault('hd1', { delay_ms: 400, status: 500 });
        await S.mock.fault('hd2', { delay_ms: 700 });
        let r = await ask({ model: 'g-fail', stream: true });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hd2');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:hd2/);
        assert.equal(h.contentOf(r), 'Hello from hd2.');
        /* The hedge fails at once: the first still answers. */
        await S.mock.reset();
        await S.mock.fault('hd1', { delay_ms: 700 });
        await S.mock.fault('hd2', { status: 503 });
        r = await ask({ model: 'g-fail', stream: false });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hd1');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=lost:hd2/);
        assert.equal(h.contentOf(r), 'Hello from hd1.');
        const lines = await linesOf(r.headers['x-request-id'], 2);
        const w = lines.find((l) => l.deployment === 'hd1');
        const l2 = lines.find((l) => l.deployment === 'hd2');
        assert.deepEqual([w.hedge, w.won, w.outcome], ['primary', 1, 'ok']);
        assert.deepEqual([l2.hedge, l2.won, l2.cost_micro_usd], ['hedge', 0, 0]);
    });

    it('keeps hedges within max_share under a general slowdown', async () => {
        await S.mock.fault('hs1', { delay_ms: 500 });
        await S.mock.fault('hs2', { delay_ms: 500 });
        const N = 24;
        const rs = [];
        for (let k = 0; k < N; k += 6) {
            const batch = [];
            for (let j = k; j < k + 6; j++) {
                batch.push(ask({ model: 'g-share', stream: false,
                    headers: { 'X-Request-Id': `hedge-share-${j}` } }));
            }
            rs.push(...(await Promise.all(batch)));
        }
        for (const r of rs) assert.equal(r.status, 200, r.body);
        const hedged = rs.filter((r) => /hedge=(won|lost)/.test(r.headers['x-switchyard-route'] || ''));
        /* 5 % of 24 requests plus the one-a-window allowance: at most 3. */
        assert.ok(hedged.length >= 1 && hedged.length <= 3,
            `${hedged.length} of ${N} hedged`);
        const calls = (await S.mock.count('hs1')) + (await S.mock.count('hs2'));
        assert.ok(calls <= N + 3, `${calls} provider calls for ${N} requests`);
    });
});
