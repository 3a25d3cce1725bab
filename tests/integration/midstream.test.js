/*
 * midstream.test.js - an upstream failure after the first event has
 * reached the caller ends the stream with one "data: {error}" event and
 * no [DONE]: never a silent truncation that looks like success.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const IDLE_MS = 600;

const stack = new h.Stack({
    tag: 'midstream',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            s1: { timeouts: { idle_ms: IDLE_MS } },
            s2: {},
        },
        groups: { 'm-ms': ['s1', 's2'] },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

/* Events before the error, the error event, and checks common to all. */
function assertErrorEnd(r) {
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    assert.ok(r.complete, `the response did not end cleanly: ${r.error}`);
    assert.ok(r.events.length >= 2, r.body);
    assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 0, `[DONE] after a failure: ${r.body}`);
    const last = r.events[r.events.length - 1];
    assert.ok(last.json && last.json.error, `last event is not an error: ${last.data}`);
    assert.equal(typeof last.json.error.message, 'string');
    assert.match(last.json.error.message, /s1/);
    assert.equal(typeof last.json.error.type, 'string');
    assert.ok('code' in last.json.error);
    assert.equal(r.events.filter((e) => e.json && e.json.error).length, 1, r.body);
    /* Only one deployment was used: the stream had started. */
    assert.equal(r.headers['x-switchyard-deployment'], 's1');
    return last;
}

for (const server of h.SERVERS) {
    describe(`mid-stream failures behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);

        it('ends with an error event when the provider drops the connection', async () => {
            /* events: role, "one ", "two ", ... ; drop after role + 2 pieces */
            const r = await h.chat(base(), {
                model: 'm-ms', stream: true,
                directive: { content: 'one two three four five', chunks: 5, stream_drop_after: 3 },
            });
            assertErrorEnd(r);
            const text = h.contentOf(r);
            assert.ok(text.length > 0 && 'one two three four five'.startsWith(text) &&
                      text.length < 23, `content so far: ${JSON.stringify(text)}`);
            assert.equal(await stack.mock.count('s2'), 0);
        });

        it('ends with an error event when the provider stalls past idle_ms', async () => {
            const r = await h.chat(base(), {
                model: 'm-ms', stream: true,
                directive: { content: 'one two three four five', chunks: 5, stream_stall_after: 2 },
            });
            const last = assertErrorEnd(r);
            const text = h.contentOf(r);
            assert.ok(text.length > 0 && 'one two three four five'.startsWith(text) &&
                      text.length < 23, `content so far: ${JSON.stringify(text)}`);
            const gap = last.t - r.events[r.events.length - 2].t;
            assert.ok(gap >= IDLE_MS - 100, `error after ${gap.toFixed(0)} ms, idle_ms is ${IDLE_MS}`);
            assert.ok(gap < IDLE_MS + 2500, `error only after ${gap.toFixed(0)} ms`);
            assert.equal(await stack.mock.count('s2'), 0);
        });

        it('delivers the events before the failure as they were produced', async () => {
            const r = await h.chat(base(), {
                model: 'm-ms', stream: true,
                directive: { content: 'a b c d e f', chunks: 6, chunk_delay_ms: 250, stream_drop_after: 5 },
            });
            assertErrorEnd(r);
            const content = r.events.filter((e) => e.json && e.json.choices &&
                e.json.choices[0] && e.json.choices[0].delta && e.json.choices[0].delta.content);
            assert.equal(content.length, 4);
            assert.ok(content[3].t - content[0].t >= 500, 'events were held back');
        });

        it('keeps serving after mid-stream failures', async () => {
            const r = await h.chat(base(), { model: 'm-ms', stream: true });
            assert.equal(r.status, 200);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
            assert.equal(h.contentOf(r), 'Hello from s1.');
        });
    });
}
