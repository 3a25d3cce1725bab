/*
 * anthropic_sdk.test.js - the official Anthropic TypeScript SDK
 * (@anthropic-ai/sdk, unmodified) against Switchyard's POST /v1/messages
 * behind lighttpd: baseURL is the gateway, apiKey a caller key of its
 * config (the SDK sends it as x-api-key). Three mock deployments, one
 * per provider dialect (Anthropic, OpenAI, Gemini), each alone in a
 * group, plus a mixed group of all three in priority order.
 *
 * Per dialect: messages.create (system as a string and as blocks, the
 * serving deployment's header), messages.stream (several text events,
 * the final message), a tool round trip (the mock calls the tool its
 * fault spec names; the tool_result reaches the provider in its own
 * dialect and the answer quotes it), a parameterless tool streamed (its
 * input is {}), countTokens (native on the Anthropic deployment, the
 * gateway's estimate elsewhere), a 529 from the only deployment and a
 * stream the provider drops mid-way (both errors, never a success).
 * Once: the error classes for a bad request, an unknown model and a
 * wrong key; the native passthrough (cache_control, thinking and the
 * caller's anthropic-beta reach the provider, service_tier and the
 * priced context-1m beta do not); models.list and models.retrieve of a
 * dated id that a wildcard alias takes; failover across dialects in
 * the mixed group, a tool call included.
 *
 * Run: 'npm ci' once here, then 'node --test anthropic_sdk.test.js'
 * (SY_BUILD_DIR picks the build, as for client.test.js).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const Anthropic = require('@anthropic-ai/sdk');
const h = require('../integration/harness');

const SERVER = 'lighttpd';
const CALLER_KEY = 'sk-sy-anthropic-sdk-caller-0001';
const PROVIDER_KEY = 'sk-sy-anthropic-sdk-provider-0001';

const DIALECTS = [
    {
        name: 'Anthropic', dep: 'an', group: 'g-anthropic', model: 'claude-mock-1',
        /* The system text as the provider got it. */
        systemOf: (b) => (typeof b.system === 'string' ? b.system
            : (b.system || []).map((x) => x.text).join('')),
        /* The tool results of a provider request body. */
        results: (b) => (b.messages || []).flatMap((m) =>
            (Array.isArray(m.content) ? m.content : [])
                .filter((x) => x.type === 'tool_result')
                .map((x) => ({ id: x.tool_use_id, content: x.content, is_error: x.is_error }))),
        keyOf: (hd) => hd['x-api-key'],
        countNative: true,
    },
    {
        name: 'OpenAI', dep: 'oa', group: 'g-openai', model: 'gpt-mock-1',
        systemOf: (b) => (b.messages || []).filter((m) => m.role === 'system' || m.role === 'developer')
            .map((m) => (typeof m.content === 'string' ? m.content
                : m.content.map((x) => x.text).join(''))).join(''),
        results: (b) => (b.messages || []).filter((m) => m.role === 'tool')
            .map((m) => ({ id: m.tool_call_id, content: m.content })),
        keyOf: (hd) => (hd.authorization || '').replace(/^Bearer /, ''),
        countNative: false,
    },
    {
        name: 'Gemini', dep: 'ge', group: 'g-gemini', model: 'gemini-mock-1',
        systemOf: (b) => {
            const si = b.systemInstruction || b.system_instruction;
            return si ? (si.parts || []).map((p) => p.text).join('') : '';
        },
        results: (b) => (b.contents || []).flatMap((c) => (c.parts || [])
            .filter((p) => p.functionResponse)
            .map((p) => ({ name: p.functionResponse.name, content: p.functionResponse.response }))),
        keyOf: (hd) => hd['x-goog-api-key'],
        countNative: false,
    },
];

const TYPES = { an: 'anthropic', oa: 'openai', ge: 'gemini' };

const stack = new h.Stack({
    tag: 'anthropic-sdk',
    servers: [SERVER],
    env: { SY_T_SDK_CALLER: CALLER_KEY, SY_T_SDK_PROVIDER: PROVIDER_KEY },
    config: (mockPort) => {
        const deployments = {};
        for (const d of DIALECTS) {
            deployments[d.dep] = { type: TYPES[d.dep], model: d.model, api_key_env: ['SY_T_SDK_PROVIDER'] };
        }
        const cfg = h.gatewayConfig(mockPort, {
            deployments,
            groups: {
                'g-anthropic': { deployments: ['an'], aliases: ['claude-mock-*'] },
                'g-openai': ['oa'],
                'g-gemini': ['ge'],
                'g-mixed': ['an', 'oa', 'ge'],
            },
        });
        cfg.keys = { sdk: { key_env: 'SY_T_SDK_CALLER' } };
        return cfg;
    },
});

const SKIP = h.missing(SERVER) || false;

before(() => { if (!SKIP) return stack.start(); }, { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(async () => {
    if (SKIP) return;
    await stack.mock.reset();
    await stack.mock.ctl('DELETE', '/_mock/requests');
});

const directive = (spec) => `[[mock ${JSON.stringify(spec)}]]`;

function sdk(opts = {}) {
    return new Anthropic({
        baseURL: stack.base(SERVER), apiKey: CALLER_KEY, maxRetries: 0, timeout: 15000, ...opts,
    });
}

/* The provider's chat requests of deployment 'dep' (count_tokens apart). */
async function chats(dep) {
    return (await stack.mock.requests(dep)).filter((r) => r.body && typeof r.body === 'object' &&
        !/count_tokens/.test(r.path));
}

const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

const WEATHER = {
    name: 'get_weather',
    description: 'The weather in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const OTHER_TOOL = {
    name: 'lookup',
    description: 'Look a word up',
    input_schema: { type: 'object', properties: { word: { type: 'string' } } },
};

for (const d of DIALECTS) {
    describe(`Anthropic SDK, ${d.name} deployment (${d.group})`, { skip: SKIP }, () => {
        let client;
        before(() => { client = sdk(); });

        it('creates a message with a string system prompt', async () => {
            const { data, response } = await client.messages.create({
                model: d.group, max_tokens: 64, system: 'You are terse.',
                messages: [{ role: 'user', content: 'Hello!' }],
            }).withResponse();
            assert.equal(data.type, 'message');
            assert.equal(data.role, 'assistant');
            assert.equal(textOf(data), `Hello from ${d.dep}.`);
            assert.equal(data.stop_reason, 'end_turn');
            assert.ok(data.usage.input_tokens > 0, JSON.stringify(data.usage));
            assert.ok(data.usage.output_tokens > 0, JSON.stringify(data.usage));
            assert.equal(response.headers.get('x-switchyard-deployment'), d.dep);
            const [q] = await chats(d.dep);
            assert.equal(d.systemOf(q.body), 'You are terse.');
            assert.equal(d.keyOf(q.headers), PROVIDER_KEY);
            assert.ok(!JSON.stringify(q.headers).includes(CALLER_KEY), 'the caller key leaked');
        });

        it('creates a message with system blocks', async () => {
            const { data, response } = await client.messages.create({
                model: d.group, max_tokens: 64,
                system: [{ type: 'text', text: 'Rule one. ' }, { type: 'text', text: 'Rule two.' }],
                messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }],
            }).withResponse();
            assert.equal(textOf(data), `Hello from ${d.dep}.`);
            assert.equal(data.stop_reason, 'end_turn');
            assert.ok(data.usage.input_tokens > 0 && data.usage.output_tokens > 0);
            assert.equal(response.headers.get('x-switchyard-deployment'), d.dep);
            const [q] = await chats(d.dep);
            assert.match(d.systemOf(q.body), /Rule one\.\s*Rule two\./);
        });

        it('streams text events and the final message', async () => {
            const stream = client.messages.stream({
                model: d.group, max_tokens: 64,
                messages: [{ role: 'user', content: 'Hi' }],
            });
            const deltas = [];
            stream.on('text', (delta) => deltas.push(delta));
            const msg = await stream.finalMessage();
            assert.equal(deltas.join(''), `Hello from ${d.dep}.`);
            assert.ok(deltas.length > 1, `${deltas.length} text events`);
            assert.equal(textOf(msg), `Hello from ${d.dep}.`);
            assert.equal(msg.stop_reason, 'end_turn');
            assert.ok(msg.usage.output_tokens > 0, JSON.stringify(msg.usage));
        });

        it('runs a tool round trip', async () => {
            await stack.mock.fault(d.dep, {
                tool_name: 'get_weather', tool_arguments: JSON.stringify({ city: 'Paris' }),
            });
            const tools = [OTHER_TOOL, WEATHER];
            const first = [{ role: 'user', content: 'What is the weather in Paris?' }];
            const call = await client.messages.create({ model: d.group, max_tokens: 256, tools, messages: first });
            assert.equal(call.stop_reason, 'tool_use', JSON.stringify(call));
            const use = call.content.find((b) => b.type === 'tool_use');
            assert.ok(use, JSON.stringify(call.content));
            assert.equal(use.name, 'get_weather');
            assert.deepEqual(use.input, { city: 'Paris' });
            assert.match(use.id, /^[a-zA-Z0-9_-]+$/);

            const marker = 'sunny, 21 degrees';
            const answer = await client.messages.create({
                model: d.group, max_tokens: 256, tools,
                messages: [...first, { role: 'assistant', content: call.content },
                    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id,
                        content: marker, is_error: false }] }],
            });
            assert.equal(answer.stop_reason, 'end_turn');
            assert.match(textOf(answer), /Tool result/);
            assert.ok(textOf(answer).includes(marker), textOf(answer));

            const reqs = await chats(d.dep);
            assert.equal(reqs.length, 2);
            assert.equal(d.results(reqs[0].body).length, 0);
            const res = d.results(reqs[1].body);
            assert.equal(res.length, 1, JSON.stringify(reqs[1].body));
            assert.ok(JSON.stringify(res[0].content).includes(marker), JSON.stringify(res[0]));
            if (d.dep === 'an') {
                assert.equal(res[0].id, use.id);
                assert.notEqual(res[0].is_error, true);
            } else if (d.dep === 'oa') {
                assert.ok(res[0].id, 'no tool_call_id');
            } else {
                assert.equal(res[0].name, 'get_weather');
            }
        });

        it('streams a call to a parameterless tool with input {}', async () => {
            const stream = client.messages.stream({
                model: d.group, max_tokens: 64,
                tools: [{ name: 'now', description: 'The time', input_schema: { type: 'object' } }],
                messages: [{ role: 'user', content: 'What time is it?' }],
            });
            const msg = await stream.finalMessage();
            assert.equal(msg.stop_reason, 'tool_use', JSON.stringify(msg));
            const use = msg.content.find((b) => b.type === 'tool_use');
            assert.ok(use, JSON.stringify(msg.content));
            assert.equal(use.name, 'now');
            assert.equal(typeof use.input, 'object');
            assert.deepEqual(use.input, {});
        });

        it(d.countNative ? 'counts tokens natively at the provider' : 'counts tokens with the gateway estimate',
            async () => {
                const { data, response } = await client.messages.countTokens({
                    model: d.group, system: 'Be brief.',
                    messages: [{ role: 'user', content: 'How many tokens is this?' }],
                }).withResponse();
                assert.ok(Number.isInteger(data.input_tokens) && data.input_tokens > 0, JSON.stringify(data));
                const counted = (await stack.mock.requests(d.dep)).filter((r) => /count_tokens/.test(r.path));
                if (d.countNative) {
                    assert.equal(response.headers.get('x-switchyard-estimate'), null);
                    assert.equal(counted.length, 1);
                    assert.equal(counted[0].body.model, d.model);
                    assert.equal(counted[0].headers['x-api-key'], PROVIDER_KEY);
                } else {
                    assert.equal(response.headers.get('x-switchyard-estimate'), 'true');
                    assert.equal(counted.length, 0);
                }
                assert.equal((await chats(d.dep)).length, 0, 'counting made a chat call');
            });

        it('raises a 5xx APIError when the only deployment answers 529', async () => {
            await stack.mock.fault(d.dep, { status: 529 });
            await assert.rejects(client.messages.create({
                model: d.group, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
            }), (err) => {
                assert.ok(err instanceof Anthropic.APIError, String(err));
                assert.ok(err.status >= 500 && err.status <= 599, `status ${err.status}`);
                assert.ok(err instanceof Anthropic.InternalServerError, String(err));
                assert.equal(err.error && err.error.type, 'error', JSON.stringify(err.error));
                return true;
            });
        });

        it('throws when the provider drops the stream mid-way', async () => {
            const stream = client.messages.stream({
                model: d.group, max_tokens: 64,
                messages: [{ role: 'user', content: `Tell me more ${directive({
                    content: 'one two three four five six seven eight',
                    chunks: 8, chunk_delay_ms: 20, stream_drop_after: 5,
                })}` }],
            });
            const deltas = [];
            stream.on('text', (t) => deltas.push(t));
            /* The gateway ends the stream with an error event, which the
             * SDK raises as an APIError; a stream that just stopped would
             * resolve with the partial text, as if it had succeeded. */
            await assert.rejects(stream.finalMessage(), (err) => {
                assert.ok(err instanceof Anthropic.APIError, `not an APIError: ${err}`);
                assert.match(err.message, /failed mid-stream/);
                assert.equal(err.error.type, 'error', JSON.stringify(err.error));
                return true;
            });
            const got = deltas.join('');
            assert.ok(got.length > 0, 'no text before the drop');
            assert.ok(got.length < 'one two three four five six seven eight'.length,
                `the whole text arrived: ${got}`);
        });
    });
}

describe('Anthropic SDK errors', { skip: SKIP }, () => {
    it('a body without max_tokens is a 400 in Anthropic shape', async () => {
        const r = await h.request(stack.base(SERVER), {
            method: 'POST', path: '/v1/messages',
            headers: { 'x-api-key': CALLER_KEY, 'anthropic-version': '2023-06-01' },
            body: { model: 'g-anthropic', messages: [{ role: 'user', content: 'Hi' }] },
        });
        assert.equal(r.status, 400, r.body);
        assert.equal(r.json.type, 'error');
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.match(r.json.error.message, /max_tokens/);
        assert.equal(await stack.mock.count('an'), 0);
    });

    it('raises BadRequestError for a bad parameter', async () => {
        await assert.rejects(sdk().messages.create({
            model: 'g-openai', max_tokens: 64, temperature: 7,
            messages: [{ role: 'user', content: 'Hi' }],
        }), (err) => {
            assert.ok(err instanceof Anthropic.BadRequestError, String(err));
            assert.equal(err.status, 400);
            assert.equal(err.error.error.type, 'invalid_request_error');
            assert.match(err.message, /temperature/);
            return true;
        });
    });

    it('raises NotFoundError for an unknown model', async () => {
        await assert.rejects(sdk().messages.create({
            model: 'no-such-model', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        }), (err) => {
            assert.ok(err instanceof Anthropic.NotFoundError, String(err));
            assert.equal(err.error.error.type, 'not_found_error');
            assert.ok(err.requestID || err.headers.get('x-request-id'));
            return true;
        });
    });

    it('raises AuthenticationError for a wrong key', async () => {
        await assert.rejects(sdk({ apiKey: 'sk-sy-not-a-caller-key-0000' }).messages.create({
            model: 'g-anthropic', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        }), (err) => {
            assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
            assert.equal(err.error.error.type, 'authentication_error');
            return true;
        });
        assert.equal(await stack.mock.count('an'), 0);
    });
});

describe('Anthropic SDK, native passthrough to the Anthropic deployment', { skip: SKIP }, () => {
    it('keeps cache_control, thinking and the caller beta; drops service_tier', async () => {
        const beta = 'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14';
        const msg = await sdk().messages.create({
            model: 'g-anthropic', max_tokens: 2048,
            system: [{ type: 'text', text: 'A long cached preamble.', cache_control: { type: 'ephemeral' } }],
            thinking: { type: 'enabled', budget_tokens: 1024 },
            service_tier: 'auto',
            tools: [{ ...WEATHER, cache_control: { type: 'ephemeral' } }],
            tool_choice: { type: 'none' },
            messages: [{ role: 'user', content: [
                { type: 'text', text: 'Context to cache.', cache_control: { type: 'ephemeral', ttl: '5m' } },
                { type: 'text', text: 'Now answer.' },
            ] }],
        }, { headers: { 'anthropic-beta': beta } });
        assert.equal(textOf(msg), 'Hello from an.');
        const [q] = await chats('an');
        assert.deepEqual(q.body.system[0].cache_control, { type: 'ephemeral' });
        assert.deepEqual(q.body.messages[0].content[0].cache_control, { type: 'ephemeral', ttl: '5m' });
        assert.deepEqual(q.body.tools[0].cache_control, { type: 'ephemeral' });
        assert.deepEqual(q.body.thinking, { type: 'enabled', budget_tokens: 1024 });
        assert.equal(q.body.service_tier, undefined, 'service_tier reached the provider');
        assert.equal(q.body.model, 'claude-mock-1');
        assert.equal(q.headers['anthropic-beta'], beta);
        assert.ok(q.headers['anthropic-version'], 'no anthropic-version');
        assert.equal(q.headers['x-api-key'], PROVIDER_KEY);
    });

    it('drops the priced context-1m beta and keeps the rest', async () => {
        await sdk().messages.create({
            model: 'g-anthropic', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        }, { headers: { 'anthropic-beta': 'context-1m-2025-08-07,foo-2025' } });
        const [q] = await chats('an');
        assert.equal(q.headers['anthropic-beta'], 'foo-2025');
    });
});

describe('Anthropic SDK, models', { skip: SKIP }, () => {
    it('lists the groups', async () => {
        const ids = [];
        for await (const m of sdk().models.list()) {
            assert.equal(m.type, 'model');
            ids.push(m.id);
        }
        assert.deepEqual(ids.sort(), ['g-anthropic', 'g-gemini', 'g-mixed', 'g-openai']);
    });

    it('retrieves a dated id that a wildcard alias takes, under that id', async () => {
        const m = await sdk().models.retrieve('claude-mock-20250514');
        assert.equal(m.id, 'claude-mock-20250514');
        assert.equal(m.type, 'model');
        await assert.rejects(sdk().models.retrieve('claude-other-20250514'),
            (err) => err instanceof Anthropic.NotFoundError);
    });

    it('serves a message to the alias', async () => {
        const { data, response } = await sdk().messages.create({
            model: 'claude-mock-20250514', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        }).withResponse();
        assert.equal(textOf(data), 'Hello from an.');
        assert.equal(response.headers.get('x-switchyard-deployment'), 'an');
    });
});

describe('Anthropic SDK, mixed group (an, oa, ge in priority order)', { skip: SKIP }, () => {
    it('fails over from the Anthropic to the OpenAI and then the Gemini deployment', async () => {
        const client = sdk();
        const ask = () => client.messages.create({
            model: 'g-mixed', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        }).withResponse();
        let r = await ask();
        assert.equal(r.response.headers.get('x-switchyard-deployment'), 'an');
        await stack.mock.fault('an', { status: 503 });
        r = await ask();
        assert.equal(r.response.headers.get('x-switchyard-deployment'), 'oa');
        assert.equal(textOf(r.data), 'Hello from oa.');
        await stack.mock.fault('oa', { status: 529 });
        r = await ask();
        assert.equal(r.response.headers.get('x-switchyard-deployment'), 'ge');
        assert.equal(textOf(r.data), 'Hello from ge.');
    });

    it('streams through failover', async () => {
        await stack.mock.fault('an', { status: 503 });
        const stream = sdk().messages.stream({
            model: 'g-mixed', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }],
        });
        const deltas = [];
        stream.on('text', (t) => deltas.push(t));
        const msg = await stream.finalMessage();
        assert.equal(deltas.join(''), 'Hello from oa.');
        assert.equal(msg.stop_reason, 'end_turn');
    });

    it('answers a tool_use of the Anthropic deployment on the OpenAI one', async () => {
        const client = sdk();
        await stack.mock.fault('an', { tool_name: 'get_weather', tool_arguments: '{"city":"Oslo"}' });
        const first = [{ role: 'user', content: 'Weather in Oslo?' }];
        const call = await client.messages.create({
            model: 'g-mixed', max_tokens: 128, tools: [WEATHER], messages: first,
        });
        const use = call.content.find((b) => b.type === 'tool_use');
        assert.ok(use, JSON.stringify(call));
        await stack.mock.fault('an', { status: 503 });
        const { data, response } = await client.messages.create({
            model: 'g-mixed', max_tokens: 128, tools: [WEATHER],
            messages: [...first, { role: 'assistant', content: call.content },
                { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id,
                    content: 'snow', is_error: false }] }],
        }).withResponse();
        assert.equal(response.headers.get('x-switchyard-deployment'), 'oa');
        assert.match(textOf(data), /Tool result: snow/);
        const [q] = await chats('oa');
        const tool = q.body.messages.find((m) => m.role === 'tool');
        assert.equal(tool.tool_call_id, use.id);
        const asst = q.body.messages.find((m) => m.role === 'assistant');
        assert.equal(asst.tool_calls[0].id, use.id);
        assert.deepEqual(JSON.parse(asst.tool_calls[0].function.arguments), { city: 'Oslo' });
    });
});
