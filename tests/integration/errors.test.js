/*
 * errors.test.js - every kind of bad input gets an OpenAI-style error
 * object with the right status through each web server, and the gateway
 * keeps serving afterwards.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const MAX_BODY = 2048;
const MAX_DEPTH = 8;

const stack = new h.Stack({
    tag: 'errors',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { a: {} },
        groups: { 'm-basic': ['a'] },
        server: { max_body_bytes: MAX_BODY, max_json_depth: MAX_DEPTH },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

const msgs = [{ role: 'user', content: 'hi' }];

function nested(depth) {
    let v = '1';
    for (let i = 0; i < depth; i++) v = `[${v}]`;
    return v;
}

/* A 405 names the allowed method in an Allow header. */
const allows = (method) => (e, r) => {
    assert.equal(e.code, 'method_not_allowed');
    assert.match(r.headers.allow || '', new RegExp(`\\b${method}\\b`), 'no Allow header');
};

/* [name, request options, status, extra check(error, response)] */
const CASES = [
    ['invalid JSON', { body: '{"model": "m-basic", "messages": [' }, 400],
    ['an empty body', { body: '' }, 400],
    ['a JSON array body', { body: '[1,2]' }, 400],
    ['"messages": "x"', { body: { model: 'm-basic', messages: 'x' } }, 400,
        (e) => assert.equal(e.param, 'messages')],
    ['"stream": "yes"', { body: { model: 'm-basic', messages: msgs, stream: 'yes' } }, 400,
        (e) => assert.equal(e.param, 'stream')],
    ['"temperature": "hot"', { body: { model: 'm-basic', messages: msgs, temperature: 'hot' } }, 400,
        (e) => assert.equal(e.param, 'temperature')],
    ['"max_tokens": 1.5', { body: { model: 'm-basic', messages: msgs, max_tokens: 1.5 } }, 400,
        (e) => assert.equal(e.param, 'max_tokens')],
    ['"model": 42', { body: { model: 42, messages: msgs } }, 400,
        (e) => assert.equal(e.param, 'model')],
    ['a missing model', { body: { messages: msgs } }, 400,
        (e) => assert.equal(e.param, 'model')],
    ['missing messages', { body: { model: 'm-basic' } }, 400,
        (e) => assert.equal(e.param, 'messages')],
    ['empty messages', { body: { model: 'm-basic', messages: [] } }, 400,
        (e) => assert.equal(e.param, 'messages')],
    ['a message that is not an object', { body: { model: 'm-basic', messages: ['hi'] } }, 400],
    ['an unknown role', { body: { model: 'm-basic', messages: [{ role: 'wizard', content: 'x' }] } }, 400],
    ['a numeric content', { body: { model: 'm-basic', messages: [{ role: 'user', content: 5 }] } }, 400],
    ['an unknown model', { body: { model: 'no-such-model', messages: msgs } }, 404,
        (e) => { assert.equal(e.code, 'model_not_found'); assert.equal(e.param, 'model'); }],
    ['a body over server.max_body_bytes',
        { body: { model: 'm-basic', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }] } }, 413],
    ['a 1 MiB body',
        { body: { model: 'm-basic', messages: [{ role: 'user', content: 'x'.repeat(1 << 20) }] } }, 413],
    ['a chunked body over the limit', { chunked: true,
        body: { model: 'm-basic', messages: [{ role: 'user', content: 'y'.repeat(MAX_BODY * 2) }] } }, 413],
    ['nesting deeper than server.max_json_depth',
        { body: `{"model":"m-basic","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${nested(MAX_DEPTH * 3)}}}` }, 400],
    ['GET on /v1/chat/completions', { method: 'GET' }, 405, allows('POST')],
    ['PUT on /v1/chat/completions', { method: 'PUT', body: { model: 'm-basic', messages: msgs } }, 405, allows('POST')],
    ['DELETE on /v1/models', { method: 'DELETE', path: '/v1/models' }, 405, allows('GET')],
    ['POST on /v1/models', { method: 'POST', path: '/v1/models', body: {} }, 405, allows('GET')],
    ['an unknown path', { method: 'GET', path: '/v2/nothing' }, 404],
    ['an unknown /v1 path', { method: 'POST', path: '/v1/nothing-here', body: { input: 'x' } }, 404],
    ['the root path', { method: 'GET', path: '/' }, 404],
];

for (const server of h.SERVERS) {
    describe(`bad input behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);

        for (const [name, opts, status, check] of CASES) {
            it(`answers ${status} to ${name}`, async () => {
                const r = await h.request(base(), {
                    method: 'POST', path: '/v1/chat/completions', ...opts,
                });
                assert.equal(r.status, status, `${r.status} ${r.body.slice(0, 300)}`);
                assert.match(r.headers['content-type'] || '', /^application\/json/, r.body.slice(0, 200));
                assert.ok(r.json && r.json.error, `not an OpenAI error object: ${r.body.slice(0, 300)}`);
                const e = r.json.error;
                assert.equal(typeof e.message, 'string');
                assert.ok(e.message.length > 0);
                assert.equal(typeof e.type, 'string');
                assert.ok('param' in e, 'no "param" key');
                assert.ok('code' in e, 'no "code" key');
                assert.ok(r.headers['x-request-id'], 'no x-request-id');
                if (check) check(e, r);
            });
        }

        it('accepts a chunked request body within the limit', async () => {
            const r = await h.request(base(), {
                method: 'POST', path: '/v1/chat/completions', chunked: true,
                body: { model: 'm-basic', messages: msgs },
            });
            assert.equal(r.status, 200, r.body);
            assert.equal(h.contentOf(r), 'Hello from a.');
        });

        it('accepts a body just under the limit and nesting at the limit', async () => {
            const pad = MAX_BODY - 200;
            const r = await h.request(base(), {
                method: 'POST', path: '/v1/chat/completions',
                body: { model: 'm-basic', messages: [{ role: 'user', content: 'z'.repeat(pad) }] },
            });
            assert.equal(r.status, 200, r.body.slice(0, 300));
            /* root object > metadata > x > 4 arrays: depth 7 */
            const d = await h.request(base(), {
                method: 'POST', path: '/v1/chat/completions',
                body: `{"model":"m-basic","messages":[{"role":"user","content":"hi"}],"metadata":{"x":${nested(MAX_DEPTH - 4)}}}`,
            });
            assert.equal(d.status, 200, d.body.slice(0, 300));
        });

        it('keeps serving after all of that', async () => {
            const hz = await h.request(base(), { path: '/healthz' });
            assert.equal(hz.status, 200);
            const r = await h.chat(base(), { model: 'm-basic' });
            assert.equal(r.status, 200, r.body);
            const s = await h.chat(base(), { model: 'm-basic', stream: true });
            assert.equal(s.events[s.events.length - 1].data, '[DONE]');
        });
    });
}

describe('the pool after bad input', () => {
    it('lost no worker process', () => {
        assert.equal(stack.workers().length, stack.config.server.processes);
        assert.ok(!/killed by signal|restarting/.test(h.tail(`${stack.dir}/switchyard.log`, 1000)),
            'a worker died');
    });
});
