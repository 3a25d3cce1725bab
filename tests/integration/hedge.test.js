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
 *   5. under a general slowdown, max_share caps hedging;
 *   6. a hedge's error never beats a first attempt that may still
 *      answer; when both fail, the caller gets the error;
 *   7. the share is taken before any reservation: a refused hedge holds
 *      no provider key;
 *   8. a 429 on the hedge's key parks that key;
 *   9. a hedge its adapter refuses leaves the first a plain attempt;
 *  10. (a stack with breakers) a half-open deployment's probe is given
 *      back when the hedge answers, so the next request probes it;
 *  11. a hedge the share refuses is asked again while the first attempt
 *      waits: it starts once the share has room;
 *  12. the default delay, the deployment's live TTFT p95: a first
 *      attempt that stalls far past it is hedged within a second.
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
            tag: 'hedge', servers: [server],
            env: { SY_T_HEDGE_KEY: KEY, SY_T_HQ_K1: 'sk-hq-1', SY_T_HK_A: 'sk-hk-a', SY_T_HK_B: 'sk-hk-b' },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: {
                        hd1: {}, hd2: {}, hs1: {}, hs2: {}, hq1: {}, hr1: {},
                        /* one key, one request a minute */
                        hq2: { api_key_env: 'SY_T_HQ_K1', provider: { key_rpm: 1 } },
                        hk1: {}, hk2: { api_key_env: ['SY_T_HK_A', 'SY_T_HK_B'] },
                        hr2: { type: 'anthropic' }, ha1: {}, ha2: {}, hp1: {}, hp2: {},
                    },
                    groups: {
                        'g-hedge': { deployments: ['hd1', 'hd2'], hedge: { after_ms: 150, max_share: 0.5 } },
                        'g-fail': { deployments: ['hd1', 'hd2'], hedge: { after_ms: 150, max_share: 0.5 } },
                        'g-err': { deployments: ['hd1', 'hd2'], hedge: { after_ms: 150, max_share: 0.5 } },
                        'g-share': { deployments: ['hs1', 'hs2'], hedge: { after_ms: 150, max_share: 0.05 } },
                        'g-noshare': { deployments: ['hq1', 'hq2'], hedge: { after_ms: 100, max_share: 0 } },
                        'g-hq2': ['hq2'],
                        'g-park': { deployments: ['hk1', 'hk2'], hedge: { after_ms: 100, max_share: 0.5 } },
                        'g-hk2': ['hk2'],
                        'g-refuse': { deployments: ['hr1', 'hr2'], hedge: { after_ms: 100, max_share: 0.5 } },
                        'g-p95': { deployments: ['hp1', 'hp2'], strategy: 'priority',
                            hedge: { max_share: 0.5 } },
                        'g-again': { deployments: ['ha1', 'ha2'], strategy: 'priority',
                            hedge: { after_ms: 300, max_share: 0.05 } },
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
        /* /metrics counts the hedge, started and won. */
        let m = '';
        for (let i = 0; i < 50; i++) {
            m = (await h.request(S.base(server), { path: '/metrics' })).body;
            if (/switchyard_hedges_total\{group="g-hedge",outcome="won"\} [1-9]/.test(m)) break;
            await h.sleep(100);
        }
        assert.match(m, /switchyard_hedges_total\{group="g-hedge",outcome="started"\} [1-9]/, m.slice(0, 2000));
        assert.match(m, /switchyard_hedges_total\{group="g-hedge",outcome="won"\} [1-9]/);
        /* The cancelled first attempt is no failover. */
        assert.doesNotMatch(m, /switchyard_failovers_total\{group="g-hedge"/);
        /* The cut first call still taught the router that hd1 is slow: a
         * latency sample of its elapsed time (else a deployment whose slow
         * calls always lose would look fast and keep its traffic). */
        const hd1 = m.match(/^gen_ai_server_request_duration_seconds_count\{[^}]*deployment="hd1"[^}]*\} (\d+)/m);
        assert.ok(hd1 && Number(hd1[1]) >= 1, `no latency sample for the cut call: ${hd1 && hd1[0]}`);
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
        /* Failovers: the first case's failed first attempt only, not
         * this answering one (nor the hedge whose line comes last). */
        const m = (await h.request(S.base(server), { path: '/metrics' })).body;
        assert.match(m, /switchyard_failovers_total\{group="g-fail",reason="SY_EUP_5XX"\} 1\n/);
        assert.doesNotMatch(m, /switchyard_failovers_total\{group="g-fail",reason="ok"/);
    });

    it('never answers with the hedge\'s error while the first may still answer', async () => {
        /* The hedge gets a provider 400 at once; the first answers later. */
        await S.mock.fault('hd1', { delay_ms: 700 });
        await S.mock.fault('hd2', { status: 400 });
        let r = await ask({ model: 'g-err', stream: false });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hd1');
        assert.equal(h.contentOf(r), 'Hello from hd1.');
        assert.equal(await S.mock.count('hd2'), 1);
        /* Both fail: the caller gets the error, after the first failed. */
        await S.mock.reset();
        await S.mock.fault('hd1', { delay_ms: 700, status: 500 });
        await S.mock.fault('hd2', { status: 400 });
        const t0 = Date.now();
        r = await ask({ model: 'g-err', stream: true });
        assert.equal(r.status, 400, r.body);
        assert.ok(Date.now() - t0 >= 600, 'answered before the first failed');
    });

    it('takes the share before reserving: a refused hedge holds no provider key', async () => {
        await S.mock.fault('hq1', { delay_ms: 500 });
        const r = await ask({ model: 'g-noshare', stream: false });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hq1');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=none/);
        assert.equal(await S.mock.count('hq2'), 0);
        /* hq2's one request a minute is still there. */
        const r2 = await ask({ model: 'g-hq2', stream: false });
        assert.equal(r2.status, 200, r2.body);
        assert.equal(r2.headers['x-switchyard-deployment'], 'hq2');
    });

    it('parks the hedge\'s key on its 429', async () => {
        await S.mock.fault('hk1', { delay_ms: 600 });
        await S.mock.fault('hk2', { status: 429, retry_after: 30 });
        const r = await ask({ model: 'g-park', stream: false });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hk1');
        assert.equal(await S.mock.count('hk2'), 1);
        /* That key is parked: a request on hk2 tries only the other. */
        const r2 = await ask({ model: 'g-hk2', stream: false });
        assert.equal(r2.status, 429, r2.body);
        assert.equal(await S.mock.count('hk2'), 2);
    });

    it('leaves the first a plain attempt when the hedge\'s adapter refuses', async () => {
        /* Anthropic takes no BMP image: hr2's adapter refuses the hedge. */
        await S.mock.fault('hr1', { delay_ms: 500 });
        const r = await ask({ model: 'g-refuse', stream: false,
            headers: { 'X-Request-Id': 'hedge-refused-1' },
            extra: { messages: [{ role: 'user', content: [
                { type: 'text', text: 'What is this?' },
                { type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0eAAAAAAAAABoAAAAMAAAAAQABAAEAGAAAAP8A' } },
            ] }] } });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hr1');
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=none/);
        const lines = await linesOf('hedge-refused-1', 1);
        assert.equal(lines.length, 1, JSON.stringify(lines));
        assert.deepEqual([lines[0].deployment, lines[0].hedge, lines[0].outcome],
            ['hr1', null, 'ok'], JSON.stringify(lines[0]));
        /* The hedge was tried, and refused. */
        const log = require('node:fs').readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        assert.match(log, /hedge-refused-1.*also trying hr2/);
        assert.equal(await S.mock.count('hr2'), 0);
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

    it('asks a refused hedge again while the first attempt waits', async () => {
        /* The next two calls to ha1 hold their first token 5 s. The share
         * (5 % plus one a window pair) hedges one of the pair at 300 ms
         * and refuses the other; twenty quick requests later it has room
         * for one more, which the waiting one takes at its next ask. */
        await S.mock.fault('ha1', { delay_ms: 5000, count: 2 });
        const t0 = Date.now();
        const slow = [0, 1].map((j) => ask({ model: 'g-again', stream: false,
            headers: { 'X-Request-Id': `hedge-again-${j}` } }).then((r) => ({ r, ms: Date.now() - t0 })));
        await h.sleep(700);
        for (let j = 0; j < 20; j++) {
            const r = await ask({ model: 'g-again', stream: false,
                headers: { 'X-Request-Id': `hedge-again-quick-${j}` } });
            assert.equal(r.status, 200, r.body);
            assert.doesNotMatch(r.headers['x-switchyard-route'] || '', /hedge=(won|lost)/);
        }
        const done = await Promise.all(slow);
        for (const { r, ms } of done) {
            assert.equal(r.status, 200, r.body);
            assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:ha2/);
            assert.ok(ms < 4000, `answered after ${ms} ms`);
        }
        /* One was hedged at the delay, the other later, when asked again. */
        const log = require('node:fs').readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        const after = [0, 1].map((j) => {
            const m = new RegExp(`hedge-again-${j}\\b.*no first token after (\\d+) ms`).exec(log);
            assert.ok(m, `no hedge logged for hedge-again-${j}`);
            return Number(m[1]);
        }).sort((a, b) => a - b);
        assert.ok(after[0] >= 300 && after[0] < 600, `first hedge after ${after[0]} ms`);
        assert.ok(after[1] >= 600, `second hedge after ${after[1]} ms`);
    });

    it('hedges at the live p95 by default', async () => {
        /* Twelve answers after 40 ms teach hp1's window its TTFT (ten
         * are needed for a p95; a p95 under 1 ms reads as none); hp2 has
         * none, so the delay is hp1's own. */
        await S.mock.fault('hp1', { delay_ms: 40, count: 12 });
        for (let j = 0; j < 12; j++) {
            const r = await ask({ model: 'g-p95', stream: false,
                headers: { 'X-Request-Id': `hedge-p95-warm-${j}` } });
            /* (one of them may be hedged: all take about the p95) */
            assert.equal(r.status, 200, r.body);
        }
        await h.sleep(300);
        await S.mock.fault('hp1', { delay_ms: 5000, count: 1 });
        const t0 = Date.now();
        const r = await ask({ model: 'g-p95', stream: true,
            headers: { 'X-Request-Id': 'hedge-p95-slow' } });
        const ms = Date.now() - t0;
        assert.equal(r.status, 200, r.body);
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:hp2/);
        assert.ok(ms < 2000, `answered after ${ms} ms`);
        const log = require('node:fs').readFileSync(path.join(S.dir, 'switchyard.log'), 'utf8');
        const m = /hedge-p95-slow\b.*no first token after (\d+) ms/.exec(log);
        assert.ok(m, 'no hedge logged');
        assert.ok(Number(m[1]) < 1500, `hedged after ${m[1]} ms`);
    });
});

describe('hedged requests and half-open breakers', { skip: !server }, () => {
    let B;
    before(async () => {
        B = new h.Stack({
            tag: 'hedge-probe', servers: [server],
            config: (mockPort) => h.gatewayConfig(mockPort, {
                deployments: { hb1: {}, hb2: {} },
                groups: {
                    'g-probe': { deployments: ['hb1', 'hb2'], strategy: 'priority',
                        hedge: { after_ms: 150, max_share: 0.5 } },
                },
                server: { processes: 1, threads: 4 },
                state: { breaker: { consecutive: 3, failure_pct: 0, open_ms: 500,
                    open_max_ms: 500, jitter_pct: 0, probe_ms: 30000 } },
            }),
        });
        await B.start();
    }, { timeout: 60000 });
    after(() => (B ? B.stop() : undefined), { timeout: 30000 });

    it('gives the probe back on its deployment when the hedge answers', async () => {
        const ask1 = () => h.chat(B.base(server), { model: 'g-probe', stream: false });
        /* hb1 fails at once, three times: its breaker opens. */
        await B.mock.fault('hb1', { status: 500 });
        for (let i = 0; i < 3; i++) {
            const r = await ask1();
            assert.equal(r.status, 200, r.body);
            assert.equal(r.headers['x-switchyard-deployment'], 'hb2');
        }
        await h.sleep(700); /* open_ms: half-open */
        /* The probe goes to hb1, slow now; the hedge on hb2 answers. */
        await B.mock.reset();
        await B.mock.fault('hb1', { delay_ms: 1500 });
        let r = await ask1();
        assert.equal(r.status, 200, r.body);
        assert.match(r.headers['x-switchyard-route'] || '', /hedge=won:hb2/);
        /* The probe was given back: the next request probes hb1 (not
         * after probe_ms, 30 s), and it answers. */
        await B.mock.reset();
        r = await ask1();
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'hb1', r.headers['x-switchyard-route']);
    });
});

describe('hedge share across the cluster (Redis)', { skip: !server || h.missing('redis') || false }, () => {
    let redis;
    let redisDir;
    let C;
    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        C = new h.Stack({
            tag: 'hedge-cluster', servers: [server],
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { hc1: {}, hc2: {} },
                    groups: {
                        'g-cl': { deployments: ['hc1', 'hc2'], strategy: 'priority',
                            hedge: { after_ms: 100, max_share: 0.05 } },
                    },
                    server: { processes: 2, threads: 4 },
                });
                cfg.state = { redis_url: redis.url, prefix: 'sy:', refresh_ms: 200,
                    breaker: { consecutive: 0, failure_pct: 0 } };
                return cfg;
            },
        });
        await C.start();
    }, { timeout: 60000 });
    after(async () => {
        if (C) await C.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    }, { timeout: 30000 });

    it('counts the cluster\'s requests and hedges, not each process\'s', async () => {
        /* Other processes of the cluster already hedged this window's
         * share (100 requests, 100 hedges): no process may hedge now,
         * not even its own first request. */
        const t = await redis.cmd('TIME');
        const w = Math.floor((Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000)) / 10000);
        const key = `sy:hedge:{g-cl}:${w}`;
        await redis.cmd('HSET', key, 'r', '100', 'h', '100');
        await redis.cmd('PEXPIRE', key, '30000');
        await h.sleep(800); /* a few state batches: the totals are read */
        await C.mock.fault('hc1', { delay_ms: 400 });
        const rs = await Promise.all([0, 1, 2, 3, 4, 5].map(() =>
            h.chat(C.base(server), { model: 'g-cl', stream: false })));
        for (const r of rs) {
            assert.equal(r.status, 200, r.body);
            assert.equal(r.headers['x-switchyard-deployment'], 'hc1', r.headers['x-switchyard-route']);
            assert.match(r.headers['x-switchyard-route'] || '', /hedge=none/);
        }
        assert.equal(await C.mock.count('hc2'), 0);
        /* This process's requests were added to the cluster's. */
        let r = 0;
        for (let i = 0; i < 30 && r < 106; i++) {
            await h.sleep(100);
            r = Number(await redis.cmd('HGET', key, 'r')) + Number((await redis.cmd('HGET', `sy:hedge:{g-cl}:${w + 1}`, 'r')) || 0);
        }
        assert.equal(r, 106);
    });
});
