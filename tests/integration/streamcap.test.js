/*
 * streamcap.test.js - a deployment's max_response_bytes caps a streamed
 * reply too, per attempt: what the gateway holds for a stream (the
 * "stream": "buffer" events, the answer gathered for the contract check)
 * is sized from it. A longer stream is a provider protocol failure:
 * replaced unseen by the next deployment (or a 502) while it is still
 * buffered, ended with one SSE error event once the caller has events.
 *
 *   sh tests/integration/run.sh build tests/integration/streamcap.test.js
 *
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const CAP = 4096;
/* About 20 KB of JSON text in 64 events: five times the cap. */
const LONG_JSON = JSON.stringify({ pad: 'x'.repeat(20000) });
const SHORT_JSON = '{"ok": true}';

const stack = new h.Stack({
    tag: 'streamcap',
    servers: ['lighttpd'],
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            cap: { max_response_bytes: CAP },
            spare: {},
        },
        groups: {
            'g-buf': { deployments: ['cap', 'spare'], contract: { stream: 'buffer' } },
            'g-buf-one': { deployments: ['cap'], contract: { stream: 'buffer' } },
            'g-one': ['cap'],
        },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 400)}`;
}

function jsonStream(model) {
    return h.chat(stack.base('lighttpd'), {
        model, stream: true, text: 'Answer in JSON.',
        extra: { response_format: { type: 'json_object' } },
    });
}

describe('max_response_bytes caps a streamed reply', { skip: h.missing('lighttpd') || false }, () => {
    it('buffered: a stream past the cap is replaced by the next deployment, unseen', async () => {
        await stack.mock.fault('cap', { content: LONG_JSON, chunks: 64 });
        await stack.mock.fault('spare', { content: SHORT_JSON });
        const r = await jsonStream('g-buf');
        assert.equal(r.status, 200, brief(r));
        assert.equal(r.headers['x-switchyard-deployment'], 'spare', brief(r));
        assert.equal(r.headers['x-switchyard-attempts'], '2', brief(r));
        assert.equal(h.contentOf(r), SHORT_JSON);
        assert.ok(!r.body.includes('xxxx'), 'events of the failed stream reached the caller');
        assert.equal(r.events[r.events.length - 1].data, '[DONE]');
    });

    it('buffered, no other deployment: a 502 before any event, naming the cap', async () => {
        await stack.mock.fault('cap', { content: LONG_JSON, chunks: 64 });
        const r = await jsonStream('g-buf-one');
        assert.equal(r.status, 502, brief(r));
        assert.match(r.headers['content-type'], /^application\/json/);
        assert.match(r.json.error.message, /larger than max_response_bytes \(4096 bytes\)/, brief(r));
    });

    it('not buffered: the caller gets the events within the cap, then one error event', async () => {
        await stack.mock.fault('cap', { content: LONG_JSON, chunks: 64 });
        const r = await h.chat(stack.base('lighttpd'), { model: 'g-one', stream: true });
        assert.equal(r.status, 200, brief(r));
        assert.ok(r.complete, r.error);
        assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 0, brief(r));
        const last = r.events[r.events.length - 1];
        assert.ok(last.json && last.json.error, `last event: ${last.data}`);
        assert.match(last.json.error.message, /max_response_bytes/);
        /* What reached the caller is bounded by the cap (plus framing). */
        const text = h.contentOf(r);
        assert.ok(text.length > 0 && text.length < CAP, `${text.length} characters passed`);
        assert.ok(LONG_JSON.startsWith(text));
    });

    it('a stream within the cap is served as before', async () => {
        await stack.mock.fault('cap', { content: SHORT_JSON, chunks: 4 });
        for (const model of ['g-buf-one', 'g-one']) {
            const r = await jsonStream(model);
            assert.equal(r.status, 200, brief(r));
            assert.equal(r.headers['x-switchyard-deployment'], 'cap');
            assert.equal(h.contentOf(r), SHORT_JSON);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        }
    });
});
