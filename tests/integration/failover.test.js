/*
 * failover.test.js - each upstream fault of the first deployment moves the
 * request to the second one (attempts 2); caller errors from a provider
 * are returned as they are and not retried; when every deployment fails
 * the caller gets one error naming them all.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let closedPort = 0;

const stack = new h.Stack({
    tag: 'failover',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            /* f1's short first-byte deadline makes a stall cheap to test;
             * its small reply limit makes body_bytes a failure. */
            f1: { timeouts: { first_byte_ms: 500 }, max_response_bytes: 4096 },
            f2: {},
            closed: { port: closedPort },
            x1: { timeouts: { first_byte_ms: 400 } },
            x2: { timeouts: { first_byte_ms: 400 } },
        },
        groups: {
            'm-fo': ['f1', 'f2'],
            'm-refused': ['closed', 'f2'],
            'm-all': ['x1', 'x2'],
        },
    }),
});

before(async () => {
    /* A port nothing listens on: bound once, then closed. */
    closedPort = await h.freePort();
    await stack.start();
}, { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

function assertError(r, status) {
    assert.equal(r.status, status, r.body);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.ok(r.json && r.json.error, `not an OpenAI error object: ${r.body}`);
    assert.equal(typeof r.json.error.message, 'string');
    assert.ok(r.json.error.message.length > 0);
    assert.equal(typeof r.json.error.type, 'string');
    assert.ok('param' in r.json.error, r.body);
    assert.ok('code' in r.json.error, r.body);
}

/* Faults of the first deployment that must move the request on. */
const FAULTS = [
    ['HTTP 500', { status: 500 }],
    ['HTTP 503', { status: 503 }],
    ['HTTP 429 with Retry-After', { status: 429, retry_after: 7 }],
    ['a connection reset', { reset: true }],
    ['a stall before the first byte', { stall: true }],
    ['a malformed JSON reply', { malformed: true }, { stream: false }],
    ['a wrong content type', { content_type: 'text/html' }],
    ['a reply over max_response_bytes', { body_bytes: 100000 }, { stream: false }],
];

for (const server of h.SERVERS) {
    describe(`failover behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);

        it('moves on when the first deployment refuses connections', async () => {
            for (const stream of [false, true]) {
                const r = await h.chat(base(), { model: 'm-refused', stream });
                assert.equal(r.status, 200, r.body);
                assert.equal(h.contentOf(r), 'Hello from f2.');
                assert.equal(r.headers['x-switchyard-deployment'], 'f2');
                assert.equal(r.headers['x-switchyard-attempts'], '2');
                if (stream) assert.equal(r.events[r.events.length - 1].data, '[DONE]');
            }
        });

        for (const [what, fault, only] of FAULTS) {
            for (const stream of [false, true]) {
                if (only && only.stream !== stream) continue;
                it(`moves on after ${what}${stream ? ' (stream)' : ''}`, async () => {
                    await stack.mock.fault('f1', fault);
                    const r = await h.chat(base(), { model: 'm-fo', stream });
                    assert.equal(r.status, 200, r.body);
                    assert.equal(h.contentOf(r), 'Hello from f2.');
                    assert.equal(r.headers['x-switchyard-deployment'], 'f2');
                    assert.equal(r.headers['x-switchyard-attempts'], '2');
                    if (stream) {
                        assert.equal(r.events[r.events.length - 1].data, '[DONE]');
                        /* Nothing of the failed attempt reached the caller. */
                        assert.equal(r.events.filter((e) => e.json && e.json.error).length, 0, r.body);
                    }
                    const st = await stack.mock.stats();
                    if (fault.reset) {
                        /* libcurl resends a request once when a reused
                         * keep-alive connection dies before any answer. */
                        assert.ok(st.f1.requests >= 1 && st.f1.requests <= 2, JSON.stringify(st.f1));
                    } else {
                        assert.equal(st.f1.requests, 1);
                    }
                    assert.equal(st.f2.requests, 1);
                });
            }
        }

        it('moves on after a malformed event before any content (stream)', async () => {
            /* The mock puts the invalid event right after the role chunk. */
            await stack.mock.fault('f1', { malformed: true });
            const r = await h.chat(base(), { model: 'm-fo', stream: true });
            assert.equal(r.status, 200, r.body);
            /* Either the gateway held the empty role chunk back and moved
             * on, or it had started the stream and must end it with an
             * error event: never a silent success from f1. */
            if (r.headers['x-switchyard-deployment'] === 'f2') {
                assert.equal(h.contentOf(r), 'Hello from f2.');
                assert.equal(r.events[r.events.length - 1].data, '[DONE]');
            } else {
                const last = r.events[r.events.length - 1];
                assert.ok(last.json && last.json.error, r.body);
            }
        });

        for (const status of [400, 422]) {
            it(`returns a provider ${status} as it is, without retrying`, async () => {
                await stack.mock.fault('f1', { status });
                const r = await h.chat(base(), { model: 'm-fo' });
                assertError(r, status);
                assert.match(r.json.error.message, new RegExp(`mock fault ${status}`));
                const st = await stack.mock.stats();
                assert.equal(st.f1.requests, 1);
                assert.equal(st.f2 ? st.f2.requests : 0, 0, 'the second deployment was tried');
                assert.equal(r.headers['x-switchyard-attempts'], '1');
            });
        }

        it('returns a provider 400 on a stream request as it is', async () => {
            await stack.mock.fault('f1', { status: 400 });
            const r = await h.chat(base(), { model: 'm-fo', stream: true });
            assertError(r, 400);
            assert.equal(await stack.mock.count('f2'), 0);
        });

        it('answers 502 naming every deployment when all fail', async () => {
            await stack.mock.fault('x1', { status: 500 });
            await stack.mock.fault('x2', { status: 503 });
            const r = await h.chat(base(), { model: 'm-all' });
            assertError(r, 502);
            assert.match(r.json.error.message, /x1/);
            assert.match(r.json.error.message, /x2/);
            assert.equal(r.headers['x-switchyard-attempts'], '2');
        });

        it('answers 502 on a stream request when all fail, before any event', async () => {
            await stack.mock.fault('x1', { reset: true });
            await stack.mock.fault('x2', { status: 500 });
            const r = await h.chat(base(), { model: 'm-all', stream: true });
            assertError(r, 502);
            assert.match(r.json.error.message, /x1.*x2/s);
        });

        it('answers 429 with Retry-After when every deployment is rate limited', async () => {
            await stack.mock.fault('x1', { status: 429, retry_after: 9 });
            await stack.mock.fault('x2', { status: 429, retry_after: 4 });
            const r = await h.chat(base(), { model: 'm-all' });
            assertError(r, 429);
            assert.ok(r.headers['retry-after'], 'no Retry-After header');
            const ra = Number(r.headers['retry-after']);
            assert.ok(ra >= 1 && ra <= 9, `Retry-After ${r.headers['retry-after']}`);
            assert.equal(ra, 4, 'the shortest wait of the deployments');
            assert.match(r.json.error.message, /x1/);
            assert.match(r.json.error.message, /x2/);
        });

        it('answers 504 when every deployment times out before the first byte', async () => {
            await stack.mock.fault('x1', { stall: true });
            await stack.mock.fault('x2', { delay_ms: 5000 });
            const t0 = Date.now();
            const r = await h.chat(base(), { model: 'm-all' });
            assertError(r, 504);
            assert.ok(Date.now() - t0 < 3000, 'the first-byte deadlines were not applied');
        });

        it('answers 502 when a rate-limited deployment is followed by a failing one', async () => {
            await stack.mock.fault('x1', { status: 429, retry_after: 3 });
            await stack.mock.fault('x2', { status: 500 });
            const r = await h.chat(base(), { model: 'm-all' });
            assertError(r, 502);
        });
    });
}
