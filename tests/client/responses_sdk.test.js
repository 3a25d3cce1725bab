/*
 * responses_sdk.test.js - the official OpenAI Node.js SDK (openai,
 * unmodified) against Switchyard's POST /v1/responses behind lighttpd:
 * baseURL is the gateway's /v1, apiKey a caller key of its config. Four
 * mock deployments, one per provider dialect: OpenAI chat completions,
 * Anthropic, Gemini, and an "openai-responses" deployment (the caller's
 * body passed through natively), each alone in a group and paired with a
 * second deployment of its type in a group whose output contract moves a
 * broken answer to the next deployment.
 *
 * Per dialect: responses.create with a string input and with items plus
 * instructions (output_text, usage, status, the serving deployment's
 * header), a stream (create with stream: true and responses.stream:
 * response.created first, several output_text deltas, response.completed
 * last, sequence numbers 0, 1, ...), a function tool round trip (the
 * mock calls the tool its fault spec names; the function_call_output
 * reaches the provider in its own dialect and the answer quotes it),
 * structured output with text.format json_schema, a contract violation
 * (the first deployment answers prose) failing over to the second one,
 * and, with Redis, previous_response_id (turn 2 reaches the provider
 * with turn 1's input and output before its own input).
 * Once: retrieve and delete of a stored response (404 after the delete),
 * input items listed a page at a time (order asc, limit 1, the next
 * page and auto-pagination),
 * a streamed response stored too, store: false not stored, another
 * caller's response absent; previous_response_id without Redis (400);
 * the native passthrough keeps a reasoning item's encrypted_content;
 * embeddings with a caller key (floats and base64 with dimensions; the
 * rest is tests/integration/embeddings.test.js).
 *
 * Two stacks: one with state.redis_url (a throwaway redis-server), which
 * serves the per-dialect groups, and one without Redis. Without
 * redis-server the per-dialect groups run on the second stack and the
 * store's tests are skipped.
 * Run: 'npm ci' once here, then 'node --test responses_sdk.test.js'
 * (SY_BUILD_DIR picks the build, as for client.test.js).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { OpenAI } = require('openai');
const h = require('../integration/harness');

const SERVER = 'lighttpd';
const CALLER_KEY = 'sk-sy-responses-sdk-caller-0001';
const OTHER_KEY = 'sk-sy-responses-sdk-caller-0002';
const PROVIDER_KEY = 'sk-sy-responses-sdk-provider-01';

/* The text of a message's content: a string, or its parts' texts. */
const partsText = (c) => (typeof c === 'string' ? c
    : (Array.isArray(c) ? c.map((p) => (typeof p.text === 'string' ? p.text : '')).join('') : ''));

const DIALECTS = [
    {
        name: 'OpenAI chat', dep: 'oa', type: 'openai', model: 'gpt-mock-1',
        /* The conversation as the provider got it: [{role, text}]. */
        turns: (b) => (b.messages || []).filter((m) => m.role !== 'system' && m.role !== 'developer')
            .map((m) => ({ role: m.role, text: partsText(m.content) })),
        systemOf: (b) => (b.messages || []).filter((m) => m.role === 'system' || m.role === 'developer')
            .map((m) => partsText(m.content)).join('\n'),
        results: (b) => (b.messages || []).filter((m) => m.role === 'tool')
            .map((m) => ({ id: m.tool_call_id, content: m.content })),
        keyOf: (hd) => (hd.authorization || '').replace(/^Bearer /, ''),
    },
    {
        name: 'Anthropic', dep: 'an', type: 'anthropic', model: 'claude-mock-1',
        turns: (b) => (b.messages || []).map((m) => ({ role: m.role, text: partsText(m.content) })),
        systemOf: (b) => (typeof b.system === 'string' ? b.system
            : (b.system || []).map((x) => x.text).join('\n')),
        results: (b) => (b.messages || []).flatMap((m) =>
            (Array.isArray(m.content) ? m.content : [])
                .filter((x) => x.type === 'tool_result')
                .map((x) => ({ id: x.tool_use_id, content: x.content }))),
        keyOf: (hd) => hd['x-api-key'],
    },
    {
        name: 'Gemini', dep: 'ge', type: 'gemini', model: 'gemini-mock-1',
        turns: (b) => (b.contents || []).map((c) => ({
            role: c.role === 'model' ? 'assistant' : (c.role || 'user'),
            text: (c.parts || []).map((p) => p.text || '').join(''),
        })),
        systemOf: (b) => {
            const si = b.systemInstruction || b.system_instruction;
            return si ? (si.parts || []).map((p) => p.text).join('\n') : '';
        },
        results: (b) => (b.contents || []).flatMap((c) => (c.parts || [])
            .filter((p) => p.functionResponse)
            .map((p) => ({ name: p.functionResponse.name, content: p.functionResponse.response }))),
        keyOf: (hd) => hd['x-goog-api-key'],
    },
    {
        name: 'OpenAI Responses (native)', dep: 'rs', type: 'openai-responses', model: 'gpt-mock-r1',
        turns: (b) => (typeof b.input === 'string' ? [{ role: 'user', text: b.input }]
            : (b.input || []).filter((x) => (x.type === undefined || x.type === 'message') &&
                x.role !== 'system' && x.role !== 'developer')
                .map((x) => ({ role: x.role, text: partsText(x.content) }))),
        systemOf: (b) => b.instructions || '',
        results: (b) => (Array.isArray(b.input) ? b.input : [])
            .filter((x) => x.type === 'function_call_output')
            .map((x) => ({ id: x.call_id, content: x.output })),
        keyOf: (hd) => (hd.authorization || '').replace(/^Bearer /, ''),
    },
];

const PERSON = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
    required: ['name', 'age'],
    additionalProperties: false,
};
const ADA = { name: 'Ada', age: 36 };

const WEATHER = {
    type: 'function', name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const LOOKUP = {
    type: 'function', name: 'lookup', description: 'Look a word up',
    parameters: { type: 'object', properties: { word: { type: 'string' } } },
};

function config(mockPort, redisUrl) {
    const deployments = {
        em: { model: 'text-embedding-3-small', api_key_env: ['SY_T_RS_PROVIDER'] },
    };
    const groups = { 'g-embed': ['em'] };
    for (const d of DIALECTS) {
        for (const dep of [d.dep, `${d.dep}2`]) {
            deployments[dep] = { type: d.type, model: d.model, api_key_env: ['SY_T_RS_PROVIDER'] };
        }
        groups[`g-${d.dep}`] = [d.dep];
        groups[`g-${d.dep}-pair`] = { deployments: [d.dep, `${d.dep}2`], strategy: 'priority',
            contract: { on_violation: 'next' } };
    }
    const cfg = h.gatewayConfig(mockPort, { deployments, groups });
    if (redisUrl) cfg.state = { ...cfg.state, redis_url: redisUrl, prefix: 'syr:' };
    cfg.keys = { sdk: { key_env: 'SY_T_RS_CALLER' }, other: { key_env: 'SY_T_RS_OTHER' } };
    return cfg;
}

const ENV = { SY_T_RS_CALLER: CALLER_KEY, SY_T_RS_OTHER: OTHER_KEY, SY_T_RS_PROVIDER: PROVIDER_KEY };
const NO_REDIS = h.missing('redis');
const SKIP = h.missing(SERVER) || false;

let redis = null;
let redisDir = null;
/* Without Redis: previous_response_id is refused, nothing is stored. */
const plain = new h.Stack({ tag: 'rsdk-plain', servers: [SERVER], env: ENV,
    config: (mockPort) => config(mockPort, null) });
/* With Redis: the conversation store. */
const stored = new h.Stack({ tag: 'rsdk-redis', servers: [SERVER], env: ENV,
    config: (mockPort) => config(mockPort, redis.url) });
/* The stack the per-dialect groups run on. */
let stack = plain;

before(async () => {
    if (SKIP) return;
    await plain.start();
    if (!NO_REDIS) {
        redisDir = h.makeTmpDir('rsdk-redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        await stored.start();
        stack = stored;
    }
}, { timeout: 90000 });
after(async () => {
    await stored.stop();
    await plain.stop();
    if (redis) await redis.stop();
    if (redisDir) h.removeTmpDir(redisDir);
}, { timeout: 30000 });
beforeEach(async () => {
    if (SKIP) return;
    for (const s of [plain, stored]) {
        if (!s.mock || !s.web[SERVER]) continue;
        await s.mock.reset();
        await s.mock.ctl('DELETE', '/_mock/requests');
    }
});

const directive = (spec) => `[[mock ${JSON.stringify(spec)}]]`;

function sdk(on = stack, opts = {}) {
    return new OpenAI({
        baseURL: `${on.base(SERVER)}/v1`, apiKey: CALLER_KEY, maxRetries: 0, timeout: 15000, ...opts,
    });
}

/* The provider's requests of deployment 'dep' with a JSON body. */
async function calls(dep, on = stack) {
    return (await on.mock.requests(dep)).filter((r) => r.body && typeof r.body === 'object');
}

/* Every event of a stream, in order. */
async function drain(stream) {
    const events = [];
    for await (const ev of stream) events.push(ev);
    return events;
}

/* Names of the events, for assertion messages. */
const names = (events) => events.map((e) => e.type).join(' ');

function assertCompleted(data) {
    assert.equal(data.object, 'response', JSON.stringify(data));
    assert.equal(data.status, 'completed', JSON.stringify(data));
    assert.match(data.id, /^resp_/);
    assert.ok(data.usage && data.usage.input_tokens > 0, JSON.stringify(data.usage));
    assert.ok(data.usage.output_tokens > 0, JSON.stringify(data.usage));
}

/* The events of a stream, in the order and numbering the API promises. */
function assertEventOrder(events) {
    assert.ok(events.length > 3, names(events));
    assert.equal(events[0].type, 'response.created', names(events));
    assert.equal(events[events.length - 1].type, 'response.completed', names(events));
    events.forEach((e, i) => assert.equal(e.sequence_number, i,
        `event ${i} (${e.type}) has sequence_number ${e.sequence_number}`));
    assert.equal(events.filter((e) => e.type === 'error').length, 0, names(events));
}

for (const d of DIALECTS) {
    describe(`OpenAI SDK responses, ${d.name} deployment (g-${d.dep})`, { skip: SKIP }, () => {
        const group = `g-${d.dep}`;

        it('creates a response from a string input', async () => {
            const { data, response } = await sdk().responses.create({
                model: group, input: 'Hello!',
            }).withResponse();
            assertCompleted(data);
            assert.equal(data.output_text, `Hello from ${d.dep}.`);
            assert.equal(response.headers.get('x-switchyard-deployment'), d.dep);
            const [q] = await calls(d.dep);
            assert.deepEqual(d.turns(q.body), [{ role: 'user', text: 'Hello!' }]);
            assert.equal(d.keyOf(q.headers), PROVIDER_KEY);
            assert.ok(!JSON.stringify(q.headers).includes(CALLER_KEY), 'the caller key leaked');
        });

        it('creates a response from items with instructions', async () => {
            const { data, response } = await sdk().responses.create({
                model: group, instructions: 'You are terse.',
                input: [
                    { role: 'user', content: [{ type: 'input_text', text: 'First question.' }] },
                    { type: 'message', role: 'assistant',
                        content: [{ type: 'output_text', text: 'First answer.' }] },
                    { type: 'message', role: 'user', content: 'Second question.' },
                ],
                max_output_tokens: 256,
            }).withResponse();
            assertCompleted(data);
            assert.equal(data.output_text, `Hello from ${d.dep}.`);
            const msg = data.output.find((o) => o.type === 'message');
            assert.ok(msg, JSON.stringify(data.output));
            assert.equal(msg.role, 'assistant');
            assert.equal(response.headers.get('x-switchyard-deployment'), d.dep);
            const [q] = await calls(d.dep);
            assert.match(d.systemOf(q.body), /You are terse\./);
            assert.deepEqual(d.turns(q.body), [
                { role: 'user', text: 'First question.' },
                { role: 'assistant', text: 'First answer.' },
                { role: 'user', text: 'Second question.' },
            ]);
        });

        it('streams events (create with stream: true)', async () => {
            const stream = await sdk().responses.create({
                model: group, input: `Tell me ${directive({ content: 'one two three four five', chunks: 5 })}`,
                stream: true,
            });
            const events = await drain(stream);
            assertEventOrder(events);
            const deltas = events.filter((e) => e.type === 'response.output_text.delta');
            assert.ok(deltas.length > 1, `${deltas.length} deltas: ${names(events)}`);
            assert.equal(deltas.map((e) => e.delta).join(''), 'one two three four five');
            const done = events[events.length - 1].response;
            assert.equal(done.status, 'completed');
            assert.ok(done.usage && done.usage.input_tokens > 0 && done.usage.output_tokens > 0,
                JSON.stringify(done.usage));
        });

        it('streams with responses.stream and gives the final response', async () => {
            const stream = sdk().responses.stream({ model: group, input: 'Hi there' });
            const deltas = [];
            stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
            const final = await stream.finalResponse();
            assert.ok(deltas.length > 1, `${deltas.length} deltas`);
            assert.equal(deltas.join(''), `Hello from ${d.dep}.`);
            assertCompleted(final);
            assert.equal(final.output_text, `Hello from ${d.dep}.`);
        });

        it('runs a function tool round trip', async () => {
            await stack.mock.fault(d.dep, {
                tool_name: 'get_weather', tool_arguments: JSON.stringify({ city: 'Paris' }),
            });
            const client = sdk();
            const tools = [LOOKUP, WEATHER];
            const first = [{ role: 'user', content: 'What is the weather in Paris?' }];
            const r1 = await client.responses.create({ model: group, tools, input: first });
            assert.equal(r1.status, 'completed', JSON.stringify(r1));
            const call = r1.output.find((o) => o.type === 'function_call');
            assert.ok(call, JSON.stringify(r1.output));
            assert.equal(call.name, 'get_weather');
            assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
            assert.ok(call.call_id, JSON.stringify(call));

            const marker = 'sunny, 21 degrees';
            const r2 = await client.responses.create({
                model: group, tools,
                input: [...first, ...r1.output,
                    { type: 'function_call_output', call_id: call.call_id, output: marker }],
            });
            assertCompleted(r2);
            assert.match(r2.output_text, /Tool result/);
            assert.ok(r2.output_text.includes(marker), r2.output_text);

            const reqs = await calls(d.dep);
            assert.equal(reqs.length, 2);
            assert.equal(d.results(reqs[0].body).length, 0);
            const res = d.results(reqs[1].body);
            assert.equal(res.length, 1, JSON.stringify(reqs[1].body));
            assert.ok(JSON.stringify(res[0].content).includes(marker), JSON.stringify(res[0]));
            if (d.dep === 'ge') assert.equal(res[0].name, 'get_weather');
            else assert.ok(res[0].id, `no call id in ${JSON.stringify(res[0])}`);
        });

        it('answers text.format json_schema with JSON that matches', async () => {
            await stack.mock.fault(d.dep, { content: JSON.stringify(ADA) });
            const { data, response } = await sdk().responses.create({
                model: `${group}-pair`, input: 'Describe Ada as JSON.',
                text: { format: { type: 'json_schema', name: 'person', schema: PERSON, strict: true } },
            }).withResponse();
            assertCompleted(data);
            assert.deepEqual(JSON.parse(data.output_text), ADA);
            assert.equal(response.headers.get('x-switchyard-deployment'), d.dep);
            if (d.dep === 'rs') {
                const [q] = await calls('rs');
                assert.deepEqual(q.body.text.format.schema, PERSON);
            }
        });

        it('moves an answer that is not JSON to the next deployment', async () => {
            await stack.mock.fault(d.dep, { content: 'Ada is a mathematician, aged 36.' });
            await stack.mock.fault(`${d.dep}2`, { content: JSON.stringify(ADA) });
            const { data, response } = await sdk().responses.create({
                model: `${group}-pair`, input: 'Describe Ada as JSON.',
                text: { format: { type: 'json_schema', name: 'person', schema: PERSON, strict: true } },
            }).withResponse();
            assertCompleted(data);
            assert.deepEqual(JSON.parse(data.output_text), ADA);
            assert.equal(response.headers.get('x-switchyard-deployment'), `${d.dep}2`);
            assert.equal(response.headers.get('x-switchyard-attempts'), '2');
            assert.equal(await stack.mock.count(d.dep), 1);
            assert.equal(await stack.mock.count(`${d.dep}2`), 1);
        });

        it('continues a conversation with previous_response_id (Redis)', { skip: NO_REDIS || false },
            async () => {
                const client = sdk(stored);
                const r1 = await client.responses.create({
                    model: group, instructions: 'Remember names.', input: 'My name is Ada.',
                });
                assertCompleted(r1);
                const r2 = await client.responses.create({
                    model: group, previous_response_id: r1.id, input: 'What is my name?',
                });
                assertCompleted(r2);
                assert.notEqual(r2.id, r1.id);
                const reqs = await calls(d.dep, stored);
                assert.equal(reqs.length, 2);
                assert.deepEqual(d.turns(reqs[1].body), [
                    { role: 'user', text: 'My name is Ada.' },
                    { role: 'assistant', text: `Hello from ${d.dep}.` },
                    { role: 'user', text: 'What is my name?' },
                ], JSON.stringify(reqs[1].body));
                /* Instructions belong to their own turn, as OpenAI does it. */
                assert.doesNotMatch(d.systemOf(reqs[1].body), /Remember names/);
                assert.equal(reqs[1].body.previous_response_id, undefined);
                if (d.dep === 'rs') assert.equal(reqs[1].body.store, false);
            });
    });
}

/* Left 'todo' until the transport passes the query string to the
 * pipeline (core/api/req.h has no field for it yet): then it passes. */

describe('OpenAI SDK responses, the conversation store (Redis)', { skip: SKIP || NO_REDIS || false }, () => {
    it('retrieves and deletes a stored response; 404 after the delete', async () => {
        const client = sdk(stored);
        const created = await client.responses.create({ model: 'g-oa', input: 'Keep this.' });
        const got = await client.responses.retrieve(created.id);
        assert.equal(got.id, created.id);
        assert.equal(got.status, 'completed');
        assert.equal(got.output_text, 'Hello from oa.');
        assert.deepEqual(got.output, created.output);
        const items = await client.responses.inputItems.list(created.id);
        const texts = items.data.map((x) => partsText(x.content));
        assert.ok(texts.includes('Keep this.'), JSON.stringify(items.data));
        const del = await client.responses.delete(created.id);
        /* The SDK resolves delete() with the body, or nothing for a
         * body it does not parse: either way no error. */
        if (del && typeof del === 'object' && 'deleted' in del) assert.equal(del.deleted, true);
        await assert.rejects(client.responses.retrieve(created.id), (err) => {
            assert.ok(err instanceof OpenAI.NotFoundError, String(err));
            assert.equal(err.status, 404);
            return true;
        });
        await assert.rejects(client.responses.delete(created.id),
            (err) => err instanceof OpenAI.NotFoundError);
        await assert.rejects(client.responses.create({
            model: 'g-oa', previous_response_id: created.id, input: 'Again?',
        }), (err) => {
            assert.ok(err instanceof OpenAI.NotFoundError, String(err));
            assert.equal(err.param, 'previous_response_id');
            return true;
        });
    });

    it('lists input items a page at a time (order asc, limit 1)', async () => {
        const client = sdk(stored);
        const created = await client.responses.create({ model: 'g-oa', input: [
            { role: 'user', content: 'one' },
            { role: 'assistant', content: 'two' },
            { role: 'user', content: 'three' },
        ] });
        const page = await client.responses.inputItems.list(created.id, { order: 'asc', limit: 1 });
        assert.deepEqual(page.data.map((x) => partsText(x.content)), ['one'], JSON.stringify(page.data));
        assert.equal(page.has_more, true);
        assert.ok(page.hasNextPage());
        const next = await page.getNextPage();
        assert.deepEqual(next.data.map((x) => partsText(x.content)), ['two']);
        /* Auto-pagination walks every page, one item each. */
        const all = [];
        for await (const it of client.responses.inputItems.list(created.id, { order: 'asc', limit: 1 })) {
            all.push(partsText(it.content));
            if (all.length > 10) break;
        }
        assert.deepEqual(all, ['one', 'two', 'three']);
    });

    it('stores a streamed response', async () => {
        const client = sdk(stored);
        const stream = client.responses.stream({ model: 'g-an', input: 'Stream and keep.' });
        const final = await stream.finalResponse();
        const got = await client.responses.retrieve(final.id);
        assert.equal(got.output_text, 'Hello from an.');
        const r2 = await client.responses.create({
            model: 'g-oa', previous_response_id: final.id, input: 'And now?',
        });
        assert.equal(r2.output_text, 'Hello from oa.');
        const [q] = await calls('oa', stored);
        assert.deepEqual(DIALECTS[0].turns(q.body).map((t) => t.text),
            ['Stream and keep.', 'Hello from an.', 'And now?']);
    });

    it('store: false is not retrievable', async () => {
        const client = sdk(stored);
        const r = await client.responses.create({ model: 'g-oa', input: 'Forget this.', store: false });
        assertCompleted(r);
        await assert.rejects(client.responses.retrieve(r.id),
            (err) => err instanceof OpenAI.NotFoundError && err.status === 404);
        await assert.rejects(client.responses.create({
            model: 'g-oa', previous_response_id: r.id, input: 'Again?',
        }), (err) => err instanceof OpenAI.NotFoundError);
        assert.equal(await stored.mock.count('oa'), 1);
    });

    it("another caller's response is absent", async () => {
        const r = await sdk(stored).responses.create({ model: 'g-oa', input: 'Mine.' });
        const other = sdk(stored, { apiKey: OTHER_KEY });
        await assert.rejects(other.responses.retrieve(r.id), (err) => err instanceof OpenAI.NotFoundError);
        await assert.rejects(other.responses.delete(r.id), (err) => err instanceof OpenAI.NotFoundError);
        await assert.rejects(other.responses.create({
            model: 'g-oa', previous_response_id: r.id, input: 'Yours?',
        }), (err) => err instanceof OpenAI.NotFoundError);
        /* Still there for its owner. */
        assert.equal((await sdk(stored).responses.retrieve(r.id)).id, r.id);
    });
});

describe('OpenAI SDK responses without Redis', { skip: SKIP }, () => {
    it('previous_response_id is a 400 BadRequestError naming it, nothing sent', async () => {
        await assert.rejects(sdk(plain).responses.create({
            model: 'g-oa', previous_response_id: 'resp_abc123', input: 'Hi',
        }), (err) => {
            assert.ok(err instanceof OpenAI.BadRequestError, String(err));
            assert.equal(err.status, 400);
            assert.equal(err.param, 'previous_response_id');
            assert.match(err.message, /previous_response_id/);
            return true;
        });
        assert.equal(await plain.mock.count('oa'), 0);
    });

    it('a response is served and not retrievable', async () => {
        const r = await sdk(plain).responses.create({ model: 'g-oa', input: 'Hi' });
        assertCompleted(r);
        await assert.rejects(sdk(plain).responses.retrieve(r.id), (err) => {
            assert.ok(err instanceof OpenAI.APIError, String(err));
            assert.ok(err.status === 400 || err.status === 404, `status ${err.status}`);
            return true;
        });
    });

    it('a wrong key is an AuthenticationError', async () => {
        await assert.rejects(sdk(plain, { apiKey: 'sk-sy-not-a-caller-key-0000' }).responses.create({
            model: 'g-oa', input: 'Hi',
        }), (err) => err instanceof OpenAI.AuthenticationError);
        assert.equal(await plain.mock.count('oa'), 0);
    });
});

describe('OpenAI SDK responses, native passthrough to the openai-responses deployment', { skip: SKIP }, () => {
    it('a reasoning item with encrypted_content reaches the provider untouched', async () => {
        const reasoning = {
            type: 'reasoning', id: 'rs_0123456789abcdef',
            summary: [{ type: 'summary_text', text: 'The user greets me.' }],
            encrypted_content: 'gAAAAABoZ3Vlc3Mtd2hhdC1pcy1pbnNpZGUtdGhpcy1ibG9iIQ==',
        };
        const input = [
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
            reasoning,
            { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi.' }] },
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And now?' }] },
        ];
        const { data, response } = await sdk().responses.create({
            model: 'g-rs', input, include: ['reasoning.encrypted_content'],
            reasoning: { effort: 'low' }, service_tier: 'priority', store: false,
        }).withResponse();
        assertCompleted(data);
        assert.equal(data.output_text, 'Hello from rs.');
        assert.equal(response.headers.get('x-switchyard-deployment'), 'rs');
        const [q] = await calls('rs');
        assert.equal(q.path, '/rs/v1/responses');
        assert.deepEqual(q.body.input, input);
        assert.deepEqual(q.body.input[1], reasoning);
        assert.deepEqual(q.body.include, ['reasoning.encrypted_content']);
        assert.deepEqual(q.body.reasoning, { effort: 'low' });
        assert.equal(q.body.model, 'gpt-mock-r1');
        assert.equal(q.body.store, false);
        assert.equal(q.body.service_tier, undefined, 'service_tier reached the provider');
    });
});

describe('OpenAI SDK embeddings with a caller key', { skip: SKIP }, () => {
    /* The rest (failover, Gemini, token arrays) is in
     * tests/integration/embeddings.test.js, which runs without keys. */
    it('floats and base64 with dimensions give the same vectors', async () => {
        const client = sdk(plain);
        const input = ['hello world', 'second input'];
        const { data: floats, response } = await client.embeddings.create({
            model: 'g-embed', input, dimensions: 12, encoding_format: 'float',
        }).withResponse();
        assert.equal(response.headers.get('x-switchyard-deployment'), 'em');
        assert.equal(floats.data.length, 2);
        for (const e of floats.data) assert.equal(e.embedding.length, 12);
        const b64 = await client.embeddings.create({
            model: 'g-embed', input, dimensions: 12, encoding_format: 'base64',
        });
        assert.equal(b64.data.length, 2);
        b64.data.forEach((e, i) => {
            assert.equal(typeof e.embedding, 'string');
            const buf = Buffer.from(e.embedding, 'base64');
            assert.equal(buf.length, 12 * 4);
            const v = Array.from({ length: 12 }, (_, k) => buf.readFloatLE(k * 4));
            v.forEach((x, k) => assert.ok(Math.abs(x - floats.data[i].embedding[k]) < 1e-6,
                `input ${i} value ${k}: ${x} vs ${floats.data[i].embedding[k]}`));
        });
        const [q] = await calls('em', plain);
        assert.equal(q.headers.authorization, `Bearer ${PROVIDER_KEY}`);
        assert.equal(q.body.dimensions, 12);
        await assert.rejects(sdk(plain, { apiKey: 'sk-sy-not-a-caller-key-0000' }).embeddings.create({
            model: 'g-embed', input: 'x',
        }), (err) => err instanceof OpenAI.AuthenticationError);
    });
});
