/*
 * slowbody.test.js - slow request bodies cannot take the worker pool.
 * Behind Apache (which streams bodies to FastCGI as they arrive) more
 * slow-body connections than the pool has threads, sending a byte every
 * two seconds without a key or with a wrong one, plus one with a valid
 * key: authenticated chat requests and /healthz are still answered
 * within a second, the refused callers are answered 401 at once without
 * their bodies being read, and the admitted slow body is cut with a 408
 * at server.body_timeout_ms. The same attack through lighttpd (which
 * buffers bodies itself) leaves the pool alone too.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('./harness');

const KEY = 'sk-slowbody-caller-key-0123456789';
const BODY_TIMEOUT_MS = 3000;
const THREADS = 2;

function config(mockPort) {
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { a: {} },
        groups: { 'm-basic': ['a'] },
        server: { processes: 1, threads: THREADS, body_timeout_ms: BODY_TIMEOUT_MS },
    });
    cfg.keys = { k: { key_env: 'SY_IT_SLOWBODY_KEY' } };
    return cfg;
}

/*
 * A raw connection that sends a POST's head with a large Content-Length,
 * then one body byte every 'everyMs'. Resolves 'answered' with the status
 * and the time it arrived (ms after the head was sent), or status 0 when
 * the connection was closed without an answer.
 */
function slowPost(port, { authorization, everyMs = 2000 } = {}) {
    const sock = net.connect({ host: '127.0.0.1', port });
    const t0 = performance.now();
    let timer = null;
    let data = '';
    let settle;
    const answered = new Promise((resolve) => { settle = resolve; });
    let done = false;
    const finish = (status) => {
        if (done) return;
        done = true;
        settle({ status, t: performance.now() - t0, raw: data.slice(0, 400) });
    };
    sock.on('connect', () => {
        const head = ['POST /v1/chat/completions HTTP/1.1', 'Host: 127.0.0.1',
            'Content-Type: application/json', 'Content-Length: 100000'];
        if (authorization) head.push(`Authorization: ${authorization}`);
        sock.write(`${head.join('\r\n')}\r\n\r\n{`);
        timer = setInterval(() => {
            if (!sock.destroyed) sock.write(' ');
        }, everyMs);
    });
    sock.on('data', (d) => {
        data += d.toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
        if (m) finish(Number(m[1]));
    });
    const end = () => { clearInterval(timer); finish(0); };
    sock.on('close', end);
    sock.on('error', end);
    return {
        answered,
        stop() { clearInterval(timer); sock.destroy(); },
    };
}

let stack = null;
let slow = [];
afterEach(async () => {
    for (const s of slow) s.stop();
    slow = [];
    if (stack) await stack.stop();
    stack = null;
});

async function timed(p) {
    const t0 = performance.now();
    const r = await p;
    return { r, ms: performance.now() - t0 };
}

/* The attack on one web server; returns what the slow connections got. */
async function attack(t, server) {
    const port = stack.web[server].port;
    const base = stack.base(server);
    /* Twice the pool in refused callers, plus one admitted slow body. */
    for (let i = 0; i < THREADS * 2; i++) {
        slow.push(slowPost(port, { authorization: i % 2 ? 'Bearer sk-wrong-key' : null }));
    }
    const admitted = slowPost(port, { authorization: `Bearer ${KEY}` });
    slow.push(admitted);
    /* Let the slow connections reach the gateway and settle in. */
    await h.sleep(700);
    let worstHz = 0;
    let worstChat = 0;
    for (let round = 0; round < 3; round++) {
        const hz = await timed(h.request(base, { path: '/healthz', timeout: 10000 }));
        assert.equal(hz.r.status, 200, `${server}: /healthz: ${hz.r.error || hz.r.body}`);
        assert.ok(hz.ms < 1000, `${server}: /healthz took ${hz.ms.toFixed(0)} ms during the attack`);
        const c = await timed(h.chat(base, {
            model: 'm-basic', headers: { Authorization: `Bearer ${KEY}` }, timeout: 10000,
        }));
        assert.equal(c.r.status, 200, `${server}: chat: ${c.r.error || c.r.body}`);
        assert.ok(c.ms < 1000, `${server}: chat took ${c.ms.toFixed(0)} ms during the attack`);
        worstHz = Math.max(worstHz, hz.ms);
        worstChat = Math.max(worstChat, c.ms);
        await h.sleep(400);
    }
    t.diagnostic(`${server}: ${slow.length} slow bodies on ${THREADS} threads: slowest ` +
                 `/healthz ${worstHz.toFixed(1)} ms, slowest chat ${worstChat.toFixed(1)} ms`);
    return { refused: slow.slice(0, THREADS * 2), admitted };
}

describe('slow request bodies', () => {
    it('behind Apache: the pool keeps serving; refused without reading, admitted cut at the deadline',
        { timeout: 60000 }, async (t) => {
            stack = new h.Stack({ tag: 'slowbody', servers: ['apache'], config,
                                  env: { SY_IT_SLOWBODY_KEY: KEY } });
            if (stack.skipped.length) { t.skip('apache is not installed'); return; }
            await stack.start();
            const { refused, admitted } = await attack(t, 'apache');
            /* The refused callers were answered without their bodies. httpd
             * reads the gateway's answer only after forwarding up to two more
             * pieces of the body, so the 401 reaches the client with one of
             * its next bytes (every 2 s here), long before the body is
             * complete; meanwhile the gateway's drain thread holds the
             * connection, no request thread. */
            for (const s of refused) {
                const a = await s.answered;
                assert.equal(a.status, 401, `slow unauthenticated body: ${a.raw}`);
                assert.ok(a.t < 5500, `401 after ${a.t.toFixed(0)} ms`);
            }
            /* The admitted one is cut by server.body_timeout_ms. */
            const a = await admitted.answered;
            t.diagnostic(`apache: 401s after ${(await Promise.all(refused.map((s) => s.answered)))
                .map((x) => x.t.toFixed(0)).join(', ')} ms; 408 after ${a.t.toFixed(0)} ms`);
            assert.equal(a.status, 408, `admitted slow body: ${a.raw}`);
            assert.ok(a.t >= BODY_TIMEOUT_MS - 200 && a.t < BODY_TIMEOUT_MS + 5500,
                `408 after ${a.t.toFixed(0)} ms`);
            assert.match(a.raw, /request_timeout|Request Timeout/);
            /* And the pool is whole afterwards. */
            const hz = await h.request(stack.base('apache'), { path: '/healthz' });
            assert.equal(hz.status, 200);
        });

    it('behind lighttpd (which buffers bodies): the pool keeps serving', { timeout: 60000 }, async (t) => {
        stack = new h.Stack({ tag: 'slowbody-l', servers: ['lighttpd'], config,
                              env: { SY_IT_SLOWBODY_KEY: KEY } });
        if (stack.skipped.length) { t.skip('lighttpd is not installed'); return; }
        await stack.start();
        await attack(t, 'lighttpd');
    });
});
