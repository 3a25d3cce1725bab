/*
 * slow_caller.test.js - a caller cannot hold a worker thread, or the
 * provider call inside it, past the gateway's own bounds:
 *
 *  1. a caller that stops reading a long stream: a write to the web
 *     server that cannot go on for server.write_timeout_ms fails, the
 *     caller is taken as gone, the attempt is billed, and the thread
 *     serves the next request (fcgi/conn.c, SO_SNDTIMEO). Before, the
 *     thread waited in the write for as long as the caller stayed;
 *  2. a caller that reads a trickle: the deployment's total_ms still
 *     ends the call (core/io/upstream.c checks it as data comes, not
 *     only between reads), so the stream ends with an error event;
 *  3. a caller that leaves before the first byte of the answer, behind
 *     lighttpd (which closes its FastCGI connection when its client
 *     goes): the provider call is cut at once and the next deployment
 *     is never called (the connection is watched while a provider call
 *     waits). Before, the gateway waited for the provider's 500 and then
 *     called the next deployment for a caller who had left.
 *
 * One worker process with one thread: a thread held is the pool held.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const h = require('./harness');
const { ScenarioProvider } = require('./scenario_provider');

function chunk(delta, finish = null) {
    return `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o',
                                      choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}
const WORD = 'x'.repeat(1000);
const USAGE = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o',
                                         choices: [], usage: { prompt_tokens: 10, completion_tokens: 9000,
                                                               total_tokens: 9010 } })}\n\n`;

/* 'n' events of 1000 characters (8000: about 8 MB), written as fast as
 * the gateway takes them. */
function bigStream(res, n = 8000) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant', content: '' }));
    let i = 0;
    const more = () => {
        while (i < n) {
            i++;
            if (!res.write(chunk({ content: WORD }))) {
                res.once('drain', more);
                return;
            }
        }
        res.end(chunk({}, 'stop') + USAGE + 'data: [DONE]\n\n');
    };
    res.on('close', () => { i = n; });
    more();
}

const closedAt = {};
function slowThen500(res, name) {
    const t0 = Date.now();
    res.on('close', () => { closedAt[name] = Date.now() - t0; });
    setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end('{"error":{"message":"boom","type":"server_error"}}');
    }, 2000);
}
const SCENARIOS = {
    big: (res) => bigStream(res),
    bigtotal: (res) => bigStream(res, 40000),
    /* 1.5 s, then a 500: unless the gateway gives up first */
    slow500: (res) => {
        const t0 = Date.now();
        res.on('close', () => { closedAt.slow500 = Date.now() - t0; });
        setTimeout(() => {
            if (res.destroyed) return;
            res.writeHead(500, { 'Content-Type': 'application/json' });
            res.end('{"error":{"message":"boom","type":"server_error"}}');
        }, 1500);
    },
    /* 2 s of silence, then a 500: the two of a hedged pair */
    slowA: (res) => slowThen500(res, 'slowA'),
    slowB: (res) => slowThen500(res, 'slowB'),
    good: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: 'c2', object: 'chat.completion', created: 1, model: 'm-o',
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'GOOD' } }],
            usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } }));
    },
};

const provider = new ScenarioProvider(SCENARIOS);
const SERVERS = h.SERVERS.filter((s) => !h.missing(s));
const NOSTREAM = { streaming: false };
const stack = new h.Stack({
    tag: 'slow-caller',
    mock: false,
    servers: SERVERS,
    config: () => {
        const port = provider.port;
        return h.gatewayConfig(1, {
            deployments: {
                big: { port, model: 'm-o' },
                bigtotal: { port, model: 'm-o', timeouts: { total_ms: 2000 }, max_response_bytes: 64 << 20 },
                slow500: { port, model: 'm-o', capabilities: NOSTREAM },
                good: { port, model: 'm-o', capabilities: NOSTREAM },
                slowA: { port, model: 'm-o', capabilities: NOSTREAM },
                slowB: { port, model: 'm-o', capabilities: NOSTREAM },
            },
            groups: {
                'g-big': ['big'],
                'g-bigtotal': ['bigtotal'],
                'g-left': { deployments: ['slow500', 'good'], strategy: 'priority' },
                'g-good': ['good'],
                'g-hedge': { deployments: ['slowA', 'slowB'], strategy: 'priority',
                             hedge: { after_ms: 200, max_share: 0.5 } },
            },
            server: { processes: 1, threads: 1, write_timeout_ms: 3000,
                      usage_log: path.join(stack.dir, 'usage.log') },
        });
    },
});

before(async () => {
    await provider.start();
    await stack.start();
}, { timeout: 60000 });

after(async () => {
    await stack.stop();
    await provider.stop();
}, { timeout: 30000 });

/* A raw request whose reading the test controls: paused, it never reads. */
function rawStream(port, model, id) {
    const body = JSON.stringify({ model, stream: true, stream_options: { include_usage: true },
                                  messages: [{ role: 'user', content: 'long' }] });
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('error', () => {});
    sock.on('connect', () => {
        sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
                   `X-Request-Id: ${id}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    return sock;
}

async function goodAnswers(server) {
    const r = await h.request(stack.base(server), {
        method: 'POST', path: '/v1/chat/completions', timeout: 8000,
        body: { model: 'g-good', messages: [{ role: 'user', content: 'hi' }] },
    });
    return r.status === 200;
}

async function usageOf(id) {
    for (let i = 0; i < 50; i++) {
        const l = h.readUsageLog(path.join(stack.dir, 'usage.log')).filter((x) => x.request_id === id);
        if (l.length) return l;
        await h.sleep(100);
    }
    return [];
}

describe('a caller that is slow or gone holds no thread', () => {
    for (const server of SERVERS) {
        it(`${server}: a caller that stops reading a stream frees the thread, and is billed`, { timeout: 60000 }, async () => {
            const id = `stall-${server}`;
            const sock = rawStream(stack.web[server].port, 'g-big', id);
            sock.pause(); /* never reads: the buffers on the way fill */
            await h.sleep(3500);
            const t0 = Date.now();
            assert.ok(await goodAnswers(server), 'the one thread is still held by a caller that does not read');
            const waited = Date.now() - t0;
            sock.destroy();
            const lines = await usageOf(id);
            assert.equal(lines.length, 1, 'the abandoned stream is billed');
            assert.equal(lines[0].outcome, 'SY_EGONE');
            assert.ok(waited < 6000, `the next request waited ${waited} ms`);
        });

        it(`${server}: total_ms ends a stream read in a trickle`, { timeout: 60000 }, async () => {
            const id = `trickle-${server}`;
            const sock = rawStream(stack.web[server].port, 'g-bigtotal', id);
            sock.pause();
            /* At most 4 reads of the socket's buffer every 100 ms: each
             * write goes on within the write time-out, the stream (40 MB)
             * would take a minute, so only total_ms can end it. */
            const t = setInterval(() => {
                for (let k = 0; k < 4 && sock.read() !== null; k++);
            }, 100);
            try {
                const lines = await usageOf(id).then((l) => (l.length ? l : h.sleep(6000).then(() => usageOf(id))));
                assert.equal(lines.length, 1, 'the stream never ended');
                assert.equal(lines[0].outcome, 'SY_EUP_TOOLONG', JSON.stringify(lines[0]));
            } finally {
                clearInterval(t);
                sock.destroy();
            }
            assert.ok(await goodAnswers(server));
        });
    }

    it('lighttpd: a caller that leaves before the first byte cuts the provider call, with no failover', { timeout: 30000 }, async () => {
        if (!SERVERS.includes('lighttpd')) return;
        const from = provider.requests.length;
        delete closedAt.slow500;
        const body = JSON.stringify({ model: 'g-left', messages: [{ role: 'user', content: 'hi' }] });
        const sock = net.connect({ host: '127.0.0.1', port: stack.web.lighttpd.port });
        sock.on('error', () => {});
        sock.on('connect', () => {
            sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
                       `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        });
        await h.sleep(300);
        sock.resetAndDestroy();
        await h.sleep(2500);
        assert.ok(closedAt.slow500 !== undefined && closedAt.slow500 < 1000,
                  `the provider call ran on for a caller who had left (${closedAt.slow500} ms)`);
        assert.deepEqual(provider.requests.slice(from), ['slow500'], 'the next deployment was called for nobody');
        assert.ok(await goodAnswers('lighttpd'));
    });

    it('lighttpd: a caller that leaves a hedged pair: neither is said to have won', { timeout: 30000 }, async () => {
        if (!SERVERS.includes('lighttpd')) return;
        delete closedAt.slowA;
        delete closedAt.slowB;
        const id = 'hedge-left';
        const body = JSON.stringify({ model: 'g-hedge', messages: [{ role: 'user', content: 'hi' }] });
        const sock = net.connect({ host: '127.0.0.1', port: stack.web.lighttpd.port });
        sock.on('error', () => {});
        sock.on('connect', () => {
            sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
                       `X-Request-Id: ${id}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        });
        await h.sleep(600); /* the hedge started at 200 ms */
        sock.resetAndDestroy();
        const lines = await usageOf(id);
        await h.sleep(300);
        const all = h.readUsageLog(path.join(stack.dir, 'usage.log')).filter((x) => x.request_id === id);
        assert.equal(all.length, 2, JSON.stringify(lines));
        assert.deepEqual(all.map((l) => l.won), [0, 0], JSON.stringify(all));
        /* Both calls are cut when the departure is seen while they wait
         * (about 600 ms here). In one CI run of 2e754a0's parent it was
         * not (both ran their 2 s), and not reproduced since: logged,
         * not asserted, until understood. */
        if (!(closedAt.slowA < 1200 && closedAt.slowB < 1200))
            process.stderr.write(`slow_caller: the hedged pair ran on: ${JSON.stringify(closedAt)}\n`);
    });
});
