/*
 * chat.test.js - answers through each web server: non-streaming and
 * streaming chat completions, usage chunks, response headers, events
 * arriving as they are produced, /v1/models (OpenAI's shape, Anthropic's
 * with an anthropic-version header, aliases) and /healthz.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const stack = new h.Stack({
    tag: 'chat',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { a: {}, b: {} },
        groups: {
            'm-basic': ['a'], 'm-second': ['b', 'a'],
            'm-claude': { deployments: ['a'], aliases: ['claude-sonnet-*', 'claude-opus-*'] },
        },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

/* The content chunks of a stream (those with a non-empty delta.content). */
function contentEvents(res) {
    return res.events.filter((e) => e.json && e.json.choices && e.json.choices[0] &&
        e.json.choices[0].delta && e.json.choices[0].delta.content);
}

for (const server of h.SERVERS) {
    describe(`chat behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);

        it('answers a non-streaming chat completion', async () => {
            const r = await h.chat(base(), { model: 'm-basic' });
            assert.equal(r.status, 200, r.body);
            assert.match(r.headers['content-type'], /^application\/json/);
            assert.equal(r.json.object, 'chat.completion');
            assert.equal(h.contentOf(r), 'Hello from a.');
            assert.equal(r.json.choices[0].finish_reason, 'stop');
            assert.equal(typeof r.json.usage.total_tokens, 'number');
            assert.match(r.headers['x-request-id'], /^\S{8,}$/);
            assert.equal(r.headers['x-switchyard-deployment'], 'a');
            assert.equal(r.headers['x-switchyard-provider'], 'p-a');
            assert.equal(r.headers['x-switchyard-attempts'], '1');
        });

        it('gives every response its own x-request-id', async () => {
            const ids = new Set();
            for (let i = 0; i < 4; i++) {
                const r = await h.chat(base(), { model: 'm-basic' });
                assert.equal(r.status, 200);
                ids.add(r.headers['x-request-id']);
            }
            const m = await h.request(base(), { path: '/v1/models' });
            assert.ok(m.headers['x-request-id']);
            ids.add(m.headers['x-request-id']);
            assert.equal(ids.size, 5);
        });

        it('streams a chat completion ending in [DONE], without usage unless asked', async () => {
            const r = await h.chat(base(), { model: 'm-basic', stream: true });
            assert.equal(r.status, 200, r.body);
            assert.match(r.headers['content-type'], /^text\/event-stream/);
            assert.equal(r.headers['x-switchyard-deployment'], 'a');
            assert.equal(r.headers['x-switchyard-attempts'], '1');
            assert.ok(r.headers['x-request-id']);
            assert.ok(r.complete, r.error);
            const last = r.events[r.events.length - 1];
            assert.equal(last.data, '[DONE]');
            assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 1);
            for (const e of r.events.slice(0, -1)) {
                assert.ok(e.json, `not JSON: ${e.data}`);
                assert.equal(e.json.object, 'chat.completion.chunk');
                assert.ok(!e.json.usage, `usage chunk without include_usage: ${e.data}`);
                assert.ok(e.json.choices.length > 0, `empty choices: ${e.data}`);
            }
            assert.equal(h.contentOf(r), 'Hello from a.');
            const fin = r.events.filter((e) => e.json && e.json.choices[0].finish_reason);
            assert.equal(fin.length, 1);
            assert.equal(fin[0].json.choices[0].finish_reason, 'stop');
        });

        it('sends one usage chunk before [DONE] with stream_options.include_usage', async () => {
            const r = await h.chat(base(), { model: 'm-basic', stream: true, includeUsage: true });
            assert.equal(r.status, 200, r.body);
            const withUsage = r.events.filter((e) => e.json && e.json.usage);
            assert.equal(withUsage.length, 1, r.body);
            const u = withUsage[0].json;
            assert.deepEqual(u.choices, []);
            assert.equal(typeof u.usage.prompt_tokens, 'number');
            assert.equal(typeof u.usage.completion_tokens, 'number');
            assert.equal(u.usage.total_tokens, u.usage.prompt_tokens + u.usage.completion_tokens);
            assert.equal(r.events[r.events.length - 2], withUsage[0]);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        });

        it('does not send a usage chunk with include_usage false', async () => {
            const r = await h.chat(base(), { model: 'm-basic', stream: true, includeUsage: false });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.events.filter((e) => e.json && e.json.usage).length, 0, r.body);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        });

        it('delivers stream events as they are produced, uncompressed', async () => {
            /* 5 pieces 300 ms apart: the first content event must arrive
             * about 1.2 s before the last; a buffering layer would deliver
             * them together at the end. Accept-Encoding asks for gzip,
             * which must not be applied to text/event-stream. */
            const r = await h.chat(base(), {
                model: 'm-basic', stream: true, text: 'one two three four five',
                directive: { content: 'one two three four five', chunks: 5, chunk_delay_ms: 300 },
                headers: { 'Accept-Encoding': 'gzip, deflate, br' },
            });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.headers['content-encoding'], undefined);
            const ev = contentEvents(r);
            assert.equal(ev.length, 5, r.body);
            assert.equal(h.contentOf(r), 'one two three four five');
            const spread = ev[4].t - ev[0].t;
            assert.ok(spread >= 900, `first and last content events only ${spread.toFixed(0)} ms apart`);
            for (let i = 1; i < 5; i++) {
                const gap = ev[i].t - ev[i - 1].t;
                assert.ok(gap >= 150, `events ${i - 1} and ${i} arrived ${gap.toFixed(0)} ms apart`);
            }
            /* The head and the first event do not wait for the end. */
            assert.ok(r.tHead < ev[4].t - 900, `head at ${r.tHead} ms, last event at ${ev[4].t} ms`);
            assert.equal(r.events[r.events.length - 1].data, '[DONE]');
        });

        it('answers from the group\'s first deployment and names it', async () => {
            const r = await h.chat(base(), { model: 'm-second' });
            assert.equal(r.status, 200, r.body);
            assert.equal(h.contentOf(r), 'Hello from b.');
            assert.equal(r.headers['x-switchyard-deployment'], 'b');
            assert.equal(r.headers['x-switchyard-attempts'], '1');
            assert.equal(await stack.mock.count('a'), 0);
        });

        it('sends the provider its model id and the messages', async () => {
            await h.chat(base(), { model: 'm-basic', text: 'marker-7731' });
            const reqs = await stack.mock.requests('a');
            const last = reqs[reqs.length - 1];
            /* The mock logs a JSON body parsed, anything else as text. */
            const body = typeof last.body === 'string' ? JSON.parse(last.body) : last.body;
            assert.equal(body.model, 'mock-model');
            assert.equal(body.messages[0].role, 'user');
            assert.equal(body.messages[0].content, 'marker-7731');
        });

        it('lists the groups on GET /v1/models', async () => {
            const r = await h.request(base(), { path: '/v1/models' });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.object, 'list');
            const ids = r.json.data.map((m) => m.id).sort();
            assert.deepEqual(ids, ['m-basic', 'm-claude', 'm-second']);
            for (const m of r.json.data) assert.equal(m.object, 'model');
        });

        it('answers Anthropic SDKs in their shape, aliases included', async () => {
            const av = { 'anthropic-version': '2023-06-01' };
            const r = await h.request(base(), { path: '/v1/models', headers: av });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.object, undefined);
            assert.deepEqual(r.json.data.map((m) => m.id), ['m-basic', 'm-second', 'm-claude']);
            for (const m of r.json.data) {
                assert.equal(m.type, 'model');
                assert.equal(m.display_name, m.id);
                assert.ok(!Number.isNaN(Date.parse(m.created_at)), m.created_at);
            }
            assert.equal(r.json.has_more, false);
            assert.equal(r.json.first_id, 'm-basic');
            assert.equal(r.json.last_id, 'm-claude');
            const one = await h.request(base(), {
                path: '/v1/models/claude-sonnet-4-5-20250929', headers: av,
            });
            assert.equal(one.status, 200, one.body);
            assert.equal(one.json.id, 'claude-sonnet-4-5-20250929');
            assert.equal(one.json.type, 'model');
            const n = await h.request(base(), { path: '/v1/models/claude-nope', headers: av });
            assert.equal(n.status, 404, n.body);
            assert.equal(n.json.type, 'error');
            assert.equal(n.json.error.type, 'not_found_error');
            /* A dated id reaches the group its alias names. */
            const c = await h.chat(base(), { model: 'claude-opus-4-1-20250805' });
            assert.equal(c.status, 200, c.body);
            assert.equal(c.headers['x-switchyard-deployment'], 'a');
        });

        it('describes one model on GET /v1/models/{id}', async () => {
            const r = await h.request(base(), { path: '/v1/models/m-basic' });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.id, 'm-basic');
            assert.equal(r.json.object, 'model');
            const n = await h.request(base(), { path: '/v1/models/nope' });
            assert.equal(n.status, 404, n.body);
            assert.equal(n.json.error.code, 'model_not_found');
        });

        it('answers 200 on /healthz', async () => {
            const r = await h.request(base(), { path: '/healthz' });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.status, 'ok');
        });

        it('serves concurrent streams', async () => {
            const all = await Promise.all([0, 1, 2, 3, 4, 5].map(() => h.chat(base(), {
                model: 'm-basic', stream: true,
                directive: { chunks: 3, chunk_delay_ms: 100 },
            })));
            for (const r of all) {
                assert.equal(r.status, 200, r.body);
                assert.equal(r.events[r.events.length - 1].data, '[DONE]');
                assert.equal(h.contentOf(r), 'Hello from a.');
            }
        });
    });
}
