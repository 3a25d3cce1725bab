/*
 * client.test.js - the official OpenAI Node.js SDK against Switchyard
 * behind lighttpd (and Apache when installed): plain and streaming chat
 * completions, error statuses mapped to the SDK's error classes, and a
 * mid-stream failure event that makes the SDK throw instead of ending the
 * stream as if it had succeeded.
 *
 * Run with 'npm ci' once in this directory, then 'node --test
 * client.test.js' (tests/run-all.sh does both, for every *.test.js
 * here). Uses the integration harness (../integration/harness.js) for
 * the servers.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { OpenAI, APIError } = require('openai');
const h = require('../integration/harness');

const stack = new h.Stack({
    tag: 'client',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { a: {}, b: {}, r1: {}, r2: {} },
        groups: { 'gpt-4o-mini': ['a', 'b'], 'm-limited': ['r1', 'r2'], 'vendor/model': ['a'] },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

const directive = (spec) => `[[mock ${JSON.stringify(spec)}]]`;

for (const server of h.SERVERS) {
    describe(`OpenAI SDK behind ${server}`, { skip: h.missing(server) || false }, () => {
        let client;
        before(() => {
            client = new OpenAI({
                baseURL: `${stack.base(server)}/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
        });

        it('completes a chat completion', async () => {
            const { data, response } = await client.chat.completions.create({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: 'Hello!' }],
            }).withResponse();
            assert.equal(data.object, 'chat.completion');
            assert.equal(data.choices[0].message.role, 'assistant');
            assert.equal(data.choices[0].message.content, 'Hello from a.');
            assert.equal(data.choices[0].finish_reason, 'stop');
            assert.ok(data.usage.total_tokens > 0);
            assert.equal(response.headers.get('x-switchyard-deployment'), 'a');
            assert.ok(response.headers.get('x-request-id'));
        });

        it('streams a chat completion with usage', async () => {
            const stream = await client.chat.completions.create({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: `Hi ${directive({ chunks: 4, chunk_delay_ms: 50 })}` }],
                stream: true,
                stream_options: { include_usage: true },
            });
            let text = '';
            let usage = null;
            let chunks = 0;
            let finish = null;
            for await (const chunk of stream) {
                chunks++;
                if (chunk.usage) usage = chunk.usage;
                const c = chunk.choices[0];
                if (c && c.delta && c.delta.content) text += c.delta.content;
                if (c && c.finish_reason) finish = c.finish_reason;
            }
            assert.equal(text, 'Hello from a.');
            assert.equal(finish, 'stop');
            assert.ok(chunks >= 5, `${chunks} chunks`);
            assert.ok(usage && usage.total_tokens > 0, 'no usage chunk');
        });

        it('streams through failover to the second deployment', async () => {
            await stack.mock.fault('a', { status: 503 });
            const stream = await client.chat.completions.create({
                model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true,
            });
            let text = '';
            for await (const chunk of stream) {
                const c = chunk.choices[0];
                if (c && c.delta && c.delta.content) text += c.delta.content;
            }
            assert.equal(text, 'Hello from b.');
        });

        it('throws an APIError on a mid-stream failure event', async () => {
            const stream = await client.chat.completions.create({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: `Hi ${directive({ chunks: 4, stream_drop_after: 3 })}` }],
                stream: true,
            });
            let text = '';
            await assert.rejects(async () => {
                for await (const chunk of stream) {
                    const c = chunk.choices[0];
                    if (c && c.delta && c.delta.content) text += c.delta.content;
                }
            }, (err) => {
                assert.ok(err instanceof APIError, `not an APIError: ${err}`);
                assert.match(err.message, /failed mid-stream/);
                return true;
            });
            assert.ok(text.length > 0, 'no content before the failure');
        });

        it('raises NotFoundError for an unknown model', async () => {
            await assert.rejects(client.chat.completions.create({
                model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }],
            }), (err) => {
                assert.ok(err instanceof OpenAI.NotFoundError, String(err));
                assert.equal(err.status, 404);
                assert.equal(err.code, 'model_not_found');
                assert.ok(err.requestID || err.headers.get('x-request-id'));
                return true;
            });
        });

        it('raises BadRequestError for a bad parameter', async () => {
            await assert.rejects(client.chat.completions.create({
                model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 'hot',
            }), (err) => {
                assert.ok(err instanceof OpenAI.BadRequestError, String(err));
                assert.equal(err.param, 'temperature');
                return true;
            });
        });

        it('raises RateLimitError when every deployment is rate limited', async () => {
            await stack.mock.fault('r1', { status: 429, retry_after: 2 });
            await stack.mock.fault('r2', { status: 429, retry_after: 2 });
            await assert.rejects(client.chat.completions.create({
                model: 'm-limited', messages: [{ role: 'user', content: 'Hi' }],
            }), (err) => {
                assert.ok(err instanceof OpenAI.RateLimitError, String(err));
                assert.equal(err.headers.get('retry-after'), '2');
                return true;
            });
        });

        it('lists the models', async () => {
            const ids = [];
            for await (const m of client.models.list()) ids.push(m.id);
            assert.deepEqual(ids.sort(), ['gpt-4o-mini', 'm-limited', 'vendor/model']);
        });

        /* Issue 13: the SDK sends 'vendor/model' as vendor%2Fmodel. */
        it('retrieves a model whose id has a slash', async () => {
            const one = await client.models.retrieve('vendor/model');
            assert.equal(one.id, 'vendor/model');
            assert.equal(one.object, 'model');
            await assert.rejects(client.models.retrieve('vendor/nope'), (err) => {
                assert.ok(err instanceof OpenAI.NotFoundError, String(err));
                assert.equal(err.code, 'model_not_found');
                return true;
            });
        });
    });
}
