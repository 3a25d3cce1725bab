/*
 * lifecycle.test.js - the worker pool under signals: SIGTERM drains
 * in-flight streams and exits within server.drain_timeout_ms; a worker
 * killed mid-request is replaced while the other worker's requests carry
 * on.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const DRAIN_MS = 4000;

function config(mockPort) {
    return h.gatewayConfig(mockPort, {
        deployments: { a: {} },
        groups: { 'm-basic': ['a'] },
        server: { processes: 2, threads: 2, drain_timeout_ms: DRAIN_MS },
    });
}

let stack = null;
afterEach(async () => {
    if (stack) await stack.stop();
    stack = null;
});

/* Start a slow stream; 'first' resolves when its first content event is
 * in, 'done' with the whole result. */
function slowStream(base, chunks, delay) {
    let firstResolve;
    const first = new Promise((resolve) => { firstResolve = resolve; });
    const text = Array.from({ length: chunks }, (_, i) => `w${i}`).join(' ');
    const done = h.chat(base, {
        model: 'm-basic', stream: true, timeout: 30000,
        directive: { content: text, chunks, chunk_delay_ms: delay },
        onEvent: (e) => {
            if (e.json && e.json.choices && e.json.choices[0] &&
                e.json.choices[0].delta && e.json.choices[0].delta.content) firstResolve();
        },
    });
    done.then(() => firstResolve());
    return { first, done, text };
}

function withTimeout(p, ms, what) {
    let t;
    return Promise.race([p, new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    })]).finally(() => clearTimeout(t));
}

describe('graceful drain on SIGTERM', () => {
    it('finishes in-flight streams, exits in time, then refuses requests', { timeout: 60000 }, async () => {
        stack = new h.Stack({ tag: 'drain', servers: h.SERVERS, config });
        await stack.start();
        const servers = Object.keys(stack.web);
        assert.ok(servers.length > 0, 'no web server available');

        /* One 6 x 300 ms stream through each web server. */
        const streams = servers.map((s) => slowStream(stack.base(s), 6, 300));
        await withTimeout(Promise.all(streams.map((s) => s.first)), 10000, 'first events');
        const t0 = Date.now();
        process.kill(stack.gwPid, 'SIGTERM');

        /* A request sent during the drain is not served by the pool. */
        await h.sleep(150);
        const late = h.chat(stack.base(servers[0]), { model: 'm-basic', timeout: DRAIN_MS + 8000 });

        const results = await Promise.all(streams.map((s) => s.done));
        const tStreamsDone = Date.now();
        for (const [i, r] of results.entries()) {
            assert.equal(r.status, 200, r.body);
            assert.ok(r.complete, `${servers[i]}: stream cut: ${r.error}`);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]', `${servers[i]}: ${r.body}`);
            assert.equal(h.contentOf(r), streams[i].text);
        }

        const exit = await withTimeout(stack.gw.exited, DRAIN_MS + 3000, 'switchyard exit');
        const tExit = Date.now() - t0;
        assert.equal(exit.code, 0, `switchyard exited with ${JSON.stringify(exit)}`);
        assert.ok(tExit <= DRAIN_MS + 1000, `exit ${tExit} ms after SIGTERM (drain_timeout_ms ${DRAIN_MS})`);
        assert.ok(Date.now() - tStreamsDone < 2500, 'the parent lingered after the streams ended');
        assert.deepEqual(h.workerPids(stack.gwPid), [], 'workers left behind');

        const lr = await late;
        assert.ok(lr.status !== 200, `a request sent during the drain got 200 (${lr.body})`);

        for (const s of servers) {
            const r = await h.chat(stack.base(s), { model: 'm-basic', timeout: 10000 });
            assert.ok(r.status >= 500 || r.error, `${s}: ${r.status} after the gateway stopped`);
        }
        assert.ok(!require('node:fs').existsSync(stack.sock), 'the socket file was left behind');
    });

    /* Cut at the deadline, the request still ends as one whose caller
     * went away: its provider call is billed before the process exits
     * (before, the process exited with it in flight: never billed, its
     * reservations left to expire). */
    it('cuts off a request that outlives drain_timeout_ms, and bills it', { timeout: 60000 }, async () => {
        const usageLog = () => require('node:path').join(stack.dir, 'usage.log');
        stack = new h.Stack({
            tag: 'drain2', servers: ['lighttpd'],
            config: (mockPort) => {
                const cfg = config(mockPort);
                cfg.server.usage_log = usageLog();
                return cfg;
            },
        });
        await stack.start();
        const s = slowStream(stack.base('lighttpd'), 30, 300);    /* 9 s */
        await withTimeout(s.first, 10000, 'first event');
        const t0 = Date.now();
        process.kill(stack.gwPid, 'SIGTERM');
        await withTimeout(stack.gw.exited, DRAIN_MS + 4000, 'switchyard exit');
        const tExit = Date.now() - t0;
        assert.ok(tExit >= DRAIN_MS - 200 && tExit <= DRAIN_MS + 2500, `exit after ${tExit} ms`);
        const r = await s.done;
        assert.notEqual(r.events.length && r.events[r.events.length - 1].data, '[DONE]');
        const lines = h.readUsageLog(usageLog());
        assert.equal(lines.length, 1, 'the cut stream was not billed');
        assert.equal(lines[0].outcome, 'SY_EGONE');
        assert.ok(lines[0].completion_tokens > 0, JSON.stringify(lines[0]));
    });
});

describe('a worker process killed mid-request', () => {
    it('is replaced and the other worker\'s requests are unaffected', { timeout: 60000 }, async () => {
        stack = new h.Stack({ tag: 'kill', servers: ['lighttpd'], config });
        await stack.start();
        const base = stack.base('lighttpd');
        const before = stack.workers();
        assert.equal(before.length, 2, `workers: ${before}`);

        /* 2 processes x 2 threads: four concurrent requests occupy every
         * thread, so each worker holds two of them. */
        const streams = [0, 1, 2, 3].map(() => slowStream(base, 10, 200));
        await withTimeout(Promise.all(streams.map((s) => s.first)), 10000, 'first events');
        const st = await stack.mock.stats();
        assert.equal(st.a.in_flight, 4, JSON.stringify(st.a));

        const victim = before[0];
        process.kill(victim, 'SIGKILL');

        const results = await Promise.all(streams.map((s) => s.done));
        const ok = results.filter((r) => r.events.length && r.events[r.events.length - 1].data === '[DONE]');
        const cut = results.filter((r) => !(r.events.length && r.events[r.events.length - 1].data === '[DONE]'));
        assert.equal(ok.length, 2, `completed streams: ${ok.length}`);
        assert.equal(cut.length, 2, `cut streams: ${cut.length}`);
        for (const r of ok) {
            assert.equal(h.contentOf(r), streams[0].text);
            assert.ok(r.complete);
        }

        /* A new worker replaces the dead one. */
        await h.waitFor('replacement worker', () => {
            const now = stack.workers();
            return now.length === 2 && !now.includes(victim);
        }, 5000);
        const after = stack.workers();
        assert.ok(after.includes(before[1]), 'the surviving worker was restarted too');
        assert.ok(h.alive(stack.gwPid), 'the parent died');

        /* The pool serves at full width again. */
        const again = await Promise.all([0, 1, 2, 3].map(() =>
            h.chat(base, { model: 'm-basic', stream: true, directive: { chunks: 2, chunk_delay_ms: 200 } })));
        for (const r of again) {
            assert.equal(r.status, 200, r.body);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        }
        assert.match(h.tail(`${stack.dir}/switchyard.log`, 200), new RegExp(`worker ${victim}`));
    });
});
