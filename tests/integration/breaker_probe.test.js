/*
 * breaker_probe.test.js - the half-open probe of a cluster-wide breaker
 * whose outcome says nothing about the deployment: two gateway stacks
 * (each its own lighttpd and switchyard pool) share one Redis and one
 * mock. Stack A takes the probe and its caller makes an error (the
 * provider's 400), or goes away mid-stream; the probe is freed at once,
 * stack B's next request probes and closes the breaker: the deployment
 * is half-open for at most one probe period (probe_ms), never for the
 * minutes a probe deadline pushed forward at every refresh kept it out.
 *
 *   sh tests/integration/run.sh build tests/integration/breaker_probe.test.js
 *
 * Skipped when redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;

const OPEN_MS = 1000;
const PROBE_MS = 4000; /* one probe period */

function config(mockPort, redisUrl) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { 'pr-a': {}, 'pr-b': {}, 'pr-fb': {} },
        groups: { 'g-pr-a': ['pr-a', 'pr-fb'], 'g-pr-b': ['pr-b', 'pr-fb'] },
        server: { processes: 2, threads: 8 },
    });
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200, window_ms: 6000, slice_ms: 1000,
        connect_timeout_ms: 200, command_timeout_ms: 200, cluster_workers: 4,
        breaker: {
            consecutive: 3, failure_pct: 0, open_ms: OPEN_MS, open_max_ms: OPEN_MS,
            jitter_pct: 0, probe_ms: PROBE_MS,
        },
    };
    return cfg;
}

/* Redis' idea of a breaker: {state: 0 closed / 1 open / 2 half-open}. */
async function breakerOf(redis, dep) {
    const r = await redis.cmd('HGETALL', `sy:br:{${dep}}`);
    const o = {};
    for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
    return { state: Number(o.state || 0), openUntil: Number(o.open_until || 0), raw: o };
}

async function redisNowMs(redis) {
    const t = await redis.cmd('TIME');
    return Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
}

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 200)}`;
}

describe('an ignored half-open probe', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let A;
    let B;

    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        A = new h.Stack({ tag: 'prA', config: (mockPort) => config(mockPort, redis.url) });
        await A.start();
        B = new h.Stack({ tag: 'prB', mock: false, config: () => config(A.mock.port, redis.url) });
        await B.start();
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1') {
            for (const s of [A, B]) if (s) process.stderr.write(`${s.logs()}\n`);
        }
        if (B) await B.stop();
        if (A) await A.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    const chatOn = (stack, model, opts = {}) =>
        h.chat(stack.base('lighttpd'), { model, timeout: opts.timeout || 10000, ...opts });

    /* Open the breaker of 'dep' (group 'model') through stack A, make the
     * deployment healthy again and wait until its open period is over. */
    async function openAndWait(dep, model) {
        await A.mock.fault(dep, { status: 500 });
        for (let i = 0; i < 10 && (await breakerOf(redis, dep)).state !== 1; i++) {
            const r = await chatOn(A, model);
            assert.equal(r.status, 200, brief(r)); /* answered by pr-fb */
            await h.sleep(50);
        }
        let b = await breakerOf(redis, dep);
        for (let i = 0; i < 40 && b.state !== 1; i++) {
            await h.sleep(50);
            b = await breakerOf(redis, dep);
        }
        assert.equal(b.state, 1, `breaker of ${dep} not open: ${JSON.stringify(b.raw)}`);
        await A.mock.fault(dep, {});
        const left = b.openUntil - await redisNowMs(redis);
        await h.sleep(Math.max(0, left) + 300); /* and a refresh */
    }

    /* After the ignored probe ended at 'tEnd': B's callers probe and close
     * the breaker. Returns {next: ms until B's first request reached
     * 'dep', closed: ms until Redis had it closed}. */
    async function untilClosed(dep, model, tEnd) {
        let next = null;
        let closed = null;
        while (Date.now() - tEnd < PROBE_MS + 2000 && closed === null) {
            const r = await chatOn(B, model);
            assert.equal(r.status, 200, brief(r));
            if (next === null && r.headers['x-switchyard-deployment'] === dep) next = Date.now() - tEnd;
            if ((await breakerOf(redis, dep)).state === 0) closed = Date.now() - tEnd;
            else await h.sleep(20);
        }
        return { next, closed };
    }

    test('a probe ending in a caller error (provider 400) is freed at once: closed within one probe period', async () => {
        await openAndWait('pr-a', 'g-pr-a');
        /* A takes the probe; the provider says the request was bad. */
        const probe = await chatOn(A, 'g-pr-a', { directive: { status: 400 } });
        const tEnd = Date.now();
        assert.equal(probe.status, 400, brief(probe));
        assert.equal(probe.headers['x-switchyard-deployment'], 'pr-a');
        const b = await breakerOf(redis, 'pr-a');
        assert.notEqual(b.state, 0, 'a caller error closed the breaker');
        const { next, closed } = await untilClosed('pr-a', 'g-pr-a', tEnd);
        process.stderr.write(`breaker_probe: caller error: B probed ${next} ms and the breaker ` +
            `closed ${closed} ms after the ignored probe (probe_ms ${PROBE_MS})\n`);
        assert.ok(closed !== null && closed <= PROBE_MS,
            `half-open for more than one probe period: ${JSON.stringify(await breakerOf(redis, 'pr-a'))}`);
        assert.ok(next !== null && next <= closed);
        /* Closed everywhere: A sends to pr-a again. */
        const r = await chatOn(A, 'g-pr-a');
        assert.equal(r.headers['x-switchyard-deployment'], 'pr-a', r.headers['x-switchyard-route']);
    });

    test('a probe whose caller goes away mid-stream is freed when its attempt ends: closed within one probe period', async () => {
        await openAndWait('pr-b', 'g-pr-b');
        /* A slow stream (an event every 700 ms, for seconds); the caller
         * hangs up after the first event. */
        const probe = await chatOn(A, 'g-pr-b', {
            stream: true, directive: { chunk_delay_ms: 700 },
            onEvent: (ev, req) => req.destroy(new Error('caller left')),
        });
        const tEnd = Date.now();
        assert.ok(probe.error, `the caller was not cut: ${brief(probe)}`);
        assert.equal(probe.headers['x-switchyard-deployment'], 'pr-b');
        const { next, closed } = await untilClosed('pr-b', 'g-pr-b', tEnd);
        process.stderr.write(`breaker_probe: caller gone: B probed ${next} ms and the breaker ` +
            `closed ${closed} ms after the caller left (probe_ms ${PROBE_MS})\n`);
        assert.ok(closed !== null && closed <= PROBE_MS,
            `half-open for more than one probe period: ${JSON.stringify(await breakerOf(redis, 'pr-b'))}`);
        /* It was freed because the caller left, not closed by a stream
         * that ran to its end. */
        assert.match(A.logs(), /client went away during pr-b/);
    });
});
