/*
 * providers.test.js - the official OpenAI Node.js SDK against Switchyard
 * behind lighttpd, with groups served ONLY by an Anthropic Messages mock
 * deployment or ONLY by a Gemini generateContent mock deployment (the
 * mock provider speaks both dialects, see tests/fakes/README.md). For
 * each: a plain chat, a stream with stream_options.include_usage (the
 * usage chunk translated to OpenAI meaning), a streamed tool call
 * assembled by the SDK's ChatCompletionStream and sent back with its
 * result (the mock answers "Tool result: <result>"), and parallel tool
 * calls with all their results. Every step also checks what the mock
 * received: the translated request and the provider's auth headers.
 *
 * tests/run-all.sh and make client-test run every *.test.js here;
 * 'node --test providers.test.js' runs this one alone.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { OpenAI } = require('openai');
const h = require('../integration/harness');

const SERVER = 'lighttpd';
const ANT_KEY = 'sk-ant-client-test-key';
const GEM_KEY = 'gem-client-test-key';

const stack = new h.Stack({
    tag: 'client-prov',
    servers: [SERVER],
    env: { SY_TEST_ANT_KEY: ANT_KEY, SY_TEST_GEM_KEY: GEM_KEY },
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            ant: { type: 'anthropic', model: 'claude-mock-1', api_key_env: ['SY_TEST_ANT_KEY'] },
            gem: { type: 'gemini', model: 'gemini-mock-1', api_key_env: ['SY_TEST_GEM_KEY'] },
        },
        groups: { 'claude-only': ['ant'], 'gemini-only': ['gem'] },
    }),
});

const directive = (spec) => `[[mock ${JSON.stringify(spec)}]]`;

const WEATHER_TOOL = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
        },
    },
};

/* The mock's parallel calls carry {"i": <position>}: the tool says so,
 * since the gateway checks tool arguments against their schema. */
const INDEX_TOOL = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Weather by position in the list',
        parameters: {
            type: 'object',
            properties: { i: { type: 'integer' } },
            required: ['i'],
        },
    },
};

/* What differs between the two providers. */
const PROVIDERS = [
    {
        name: 'Anthropic',
        model: 'claude-only',
        dep: 'ant',
        upstreamModel: 'claude-mock-1',
        idPattern: /^toolu_mock_\d+$/,
        /* The gateway's OpenAI usage for the mock's usage fault
         * {prompt 11, completion 7, cached 3, reasoning 2}: Anthropic's
         * input_tokens exclude the cache, so prompt = 11 + 3; Anthropic
         * reports no reasoning tokens. */
        usage: { prompt_tokens: 14, completion_tokens: 7, total_tokens: 21, cached: 3, reasoning: 0 },
        checkAuth(req) {
            assert.equal(req.headers['x-api-key'], ANT_KEY);
            assert.equal(req.headers['anthropic-version'], '2023-06-01');
            assert.equal(req.headers.authorization, undefined);
            assert.match(req.path, /^\/ant\/v1\/messages$/);
        },
        /* The tool results of the last upstream turn, as {id, text}. */
        toolResults(body) {
            const last = body.messages[body.messages.length - 1];
            assert.equal(last.role, 'user');
            return last.content.filter((b) => b.type === 'tool_result')
                .map((b) => ({ id: b.tool_use_id, text: b.content }));
        },
        /* The tool calls replayed in the assistant turn before it. */
        replayedCalls(body) {
            const prev = body.messages[body.messages.length - 2];
            assert.equal(prev.role, 'assistant');
            return prev.content.filter((b) => b.type === 'tool_use')
                .map((b) => ({ id: b.id, name: b.name, args: b.input }));
        },
    },
    {
        name: 'Gemini',
        model: 'gemini-only',
        dep: 'gem',
        upstreamModel: 'gemini-mock-1',
        /* Gemini gives calls no ids: the gateway synthesizes them. */
        idPattern: /^call_[0-9a-f]{16}$/,
        /* promptTokenCount includes the cache; completion = candidates +
         * thoughts. */
        usage: { prompt_tokens: 11, completion_tokens: 9, total_tokens: 20, cached: 3, reasoning: 2 },
        checkAuth(req) {
            assert.equal(req.headers['x-goog-api-key'], GEM_KEY);
            assert.equal(req.headers.authorization, undefined);
            assert.equal(req.headers['anthropic-version'], undefined);
            assert.match(req.path, /^\/gem\/v1beta\/models\/gemini-mock-1:(generateContent|streamGenerateContent\?alt=sse)$/);
            assert.ok(!/[?&]key=/.test(req.path), 'the key must not be in the URL');
        },
        toolResults(body) {
            const last = body.contents[body.contents.length - 1];
            assert.equal(last.role, 'user');
            return last.parts.filter((p) => p.functionResponse)
                .map((p) => ({ name: p.functionResponse.name, response: p.functionResponse.response }));
        },
        replayedCalls(body) {
            const prev = body.contents[body.contents.length - 2];
            assert.equal(prev.role, 'model');
            return prev.parts.filter((p) => p.functionCall)
                .map((p) => ({ name: p.functionCall.name, args: p.functionCall.args }));
        },
    },
];

/* The SDK's streamed deltas: text, finish reason, usage chunks, count. */
async function drain(stream) {
    const out = { text: '', finish: null, usageChunks: [], chunks: 0, ids: new Set(), models: new Set() };
    for await (const chunk of stream) {
        out.chunks++;
        out.ids.add(chunk.id);
        out.models.add(chunk.model);
        assert.equal(chunk.object, 'chat.completion.chunk');
        if (chunk.usage) out.usageChunks.push(chunk);
        const c = chunk.choices[0];
        if (c && c.delta && typeof c.delta.content === 'string') out.text += c.delta.content;
        if (c && c.finish_reason) {
            assert.equal(out.finish, null, 'two finish reasons');
            out.finish = c.finish_reason;
        }
    }
    return out;
}

function assertUsage(u, want) {
    assert.equal(u.prompt_tokens, want.prompt_tokens);
    assert.equal(u.completion_tokens, want.completion_tokens);
    assert.equal(u.total_tokens, want.total_tokens);
    assert.equal(u.prompt_tokens_details.cached_tokens, want.cached);
    assert.equal(u.completion_tokens_details.reasoning_tokens, want.reasoning);
}

describe(`OpenAI SDK against single-provider groups behind ${SERVER}`,
    { skip: h.missing(SERVER) || false }, () => {
        let client;
        before(async () => {
            await stack.start();
            client = new OpenAI({
                baseURL: `${stack.base(SERVER)}/v1`,
                /* The caller's key: the gateway must never forward it. */
                apiKey: 'sk-client-secret-never-forwarded',
                maxRetries: 0,
                timeout: 15000,
            });
        }, { timeout: 60000 });
        after(() => stack.stop(), { timeout: 30000 });
        beforeEach(async () => {
            await stack.mock.reset();
            await stack.mock.ctl('DELETE', '/_mock/requests');
        });

        /* The requests the mock got from the deployment (oldest first). */
        async function upstream(p) {
            const reqs = await stack.mock.requests(p.dep);
            for (const r of reqs) {
                p.checkAuth(r);
                assert.ok(!JSON.stringify(r.headers).includes('sk-client-secret'),
                          'the client key reached the provider');
            }
            return reqs;
        }

        for (const p of PROVIDERS) {
            describe(`${p.name} only (${p.model})`, () => {
                it('completes a chat completion', async () => {
                    const { data, response } = await client.chat.completions.create({
                        model: p.model,
                        messages: [
                            { role: 'system', content: 'Be brief.' },
                            { role: 'user', content: 'Hello!' },
                        ],
                        max_tokens: 50,
                    }).withResponse();
                    assert.equal(data.object, 'chat.completion');
                    assert.equal(data.model, p.upstreamModel);
                    assert.equal(data.choices.length, 1);
                    assert.equal(data.choices[0].message.role, 'assistant');
                    assert.equal(data.choices[0].message.content, `Hello from ${p.dep}.`);
                    assert.equal(data.choices[0].finish_reason, 'stop');
                    assert.equal(data.usage.completion_tokens, 3);
                    assert.equal(data.usage.total_tokens,
                                 data.usage.prompt_tokens + data.usage.completion_tokens);
                    assert.equal(response.headers.get('x-switchyard-deployment'), p.dep);

                    const reqs = await upstream(p);
                    assert.equal(reqs.length, 1);
                    const b = reqs[0].body;
                    if (p.name === 'Anthropic') {
                        assert.equal(b.model, 'claude-mock-1');
                        assert.equal(b.system, 'Be brief.');
                        assert.equal(b.max_tokens, 50);
                        assert.deepEqual(b.messages, [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }]);
                    } else {
                        assert.deepEqual(b.systemInstruction, { parts: [{ text: 'Be brief.' }] });
                        assert.equal(b.generationConfig.maxOutputTokens, 50);
                        assert.deepEqual(b.contents, [{ role: 'user', parts: [{ text: 'Hello!' }] }]);
                    }
                });

                it('streams a chat completion with a usage chunk', async () => {
                    const stream = await client.chat.completions.create({
                        model: p.model,
                        messages: [{
                            role: 'user',
                            content: `Hi ${directive({
                                chunks: 4, chunk_delay_ms: 20,
                                usage: { prompt_tokens: 11, completion_tokens: 7, cached_tokens: 3, reasoning_tokens: 2 },
                            })}`,
                        }],
                        stream: true,
                        stream_options: { include_usage: true },
                    });
                    const s = await drain(stream);
                    assert.equal(s.text, `Hello from ${p.dep}.`);
                    assert.equal(s.finish, 'stop');
                    assert.equal(s.ids.size, 1, `chunk ids: ${[...s.ids]}`);
                    assert.deepEqual([...s.models], [p.upstreamModel]);
                    assert.ok(s.chunks >= 5, `${s.chunks} chunks`);
                    /* Exactly one usage chunk, the last one, with no choices. */
                    assert.equal(s.usageChunks.length, 1);
                    assert.deepEqual(s.usageChunks[0].choices, []);
                    assertUsage(s.usageChunks[0].usage, p.usage);

                    const reqs = await upstream(p);
                    assert.equal(reqs.length, 1);
                    if (p.name === 'Anthropic') assert.equal(reqs[0].body.stream, true);
                    else assert.match(reqs[0].path, /:streamGenerateContent\?alt=sse$/);
                });

                it('streams without a usage chunk unless asked', async () => {
                    const stream = await client.chat.completions.create({
                        model: p.model, messages: [{ role: 'user', content: 'Hi' }], stream: true,
                    });
                    const s = await drain(stream);
                    assert.equal(s.text, `Hello from ${p.dep}.`);
                    assert.equal(s.usageChunks.length, 0);
                });

                it('round-trips a streamed tool call assembled by the SDK', async () => {
                    const question = {
                        role: 'user',
                        content: `Weather in Oslo? ${directive({ tool_arguments: '{"city":"Oslo"}' })}`,
                    };
                    const runner = client.chat.completions.stream({
                        model: p.model,
                        messages: [question],
                        tools: [WEATHER_TOOL],
                        stream_options: { include_usage: true },
                    });
                    const argsDone = [];
                    runner.on('tool_calls.function.arguments.done', (ev) => argsDone.push(ev));
                    const first = await runner.finalChatCompletion();
                    assert.equal(first.choices[0].finish_reason, 'tool_calls');
                    const msg = first.choices[0].message;
                    assert.equal(msg.role, 'assistant');
                    assert.ok(msg.content === null || msg.content === '', `content: ${msg.content}`);
                    assert.equal(msg.tool_calls.length, 1);
                    const call = msg.tool_calls[0];
                    assert.match(call.id, p.idPattern);
                    assert.equal(call.type, 'function');
                    assert.equal(call.function.name, 'get_weather');
                    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Oslo' });
                    assert.equal(argsDone.length, 1);
                    assert.equal(argsDone[0].name, 'get_weather');
                    assert.deepEqual(JSON.parse(argsDone[0].arguments), { city: 'Oslo' });
                    assert.ok(first.usage && first.usage.total_tokens > 0, 'no usage');

                    /* Send the assistant message as the SDK built it, plus
                     * the tool result; the mock derives its answer from it. */
                    const result = '{"temp_c":21,"sky":"clear"}';
                    const stream2 = await client.chat.completions.create({
                        model: p.model,
                        messages: [
                            question,
                            msg,
                            { role: 'tool', tool_call_id: call.id, content: result },
                        ],
                        tools: [WEATHER_TOOL],
                        stream: true,
                        stream_options: { include_usage: true },
                    });
                    const s = await drain(stream2);
                    assert.equal(s.text, `Tool result: ${result}`);
                    assert.equal(s.finish, 'stop');
                    assert.equal(s.usageChunks.length, 1);

                    /* Upstream: the call replayed with its id (Anthropic)
                     * or name (Gemini), the result attached to it. */
                    const reqs = await upstream(p);
                    assert.equal(reqs.length, 2);
                    const replayed = p.replayedCalls(reqs[1].body);
                    const results = p.toolResults(reqs[1].body);
                    assert.equal(replayed.length, 1);
                    assert.equal(results.length, 1);
                    assert.equal(replayed[0].name, 'get_weather');
                    assert.deepEqual(replayed[0].args, { city: 'Oslo' });
                    if (p.name === 'Anthropic') {
                        assert.equal(replayed[0].id, call.id);
                        assert.deepEqual(results[0], { id: call.id, text: result });
                    } else {
                        assert.deepEqual(results[0], { name: 'get_weather', response: { temp_c: 21, sky: 'clear' } });
                    }
                });

                it('returns parallel tool calls and takes all their results', async () => {
                    const question = {
                        role: 'user',
                        content: `Weather in three cities? ${directive({ parallel_calls: 3 })}`,
                    };
                    const first = await client.chat.completions.create({
                        model: p.model, messages: [question], tools: [INDEX_TOOL],
                    });
                    assert.equal(first.choices[0].finish_reason, 'tool_calls');
                    const msg = first.choices[0].message;
                    assert.equal(msg.content, null);
                    assert.equal(msg.tool_calls.length, 3);
                    msg.tool_calls.forEach((c, i) => {
                        assert.match(c.id, p.idPattern);
                        assert.equal(c.type, 'function');
                        assert.equal(c.function.name, 'get_weather');
                        assert.deepEqual(JSON.parse(c.function.arguments), { i });
                    });
                    assert.equal(new Set(msg.tool_calls.map((c) => c.id)).size, 3, 'tool call ids not unique');

                    const second = await client.chat.completions.create({
                        model: p.model,
                        messages: [
                            question,
                            msg,
                            ...msg.tool_calls.map((c, i) => ({
                                role: 'tool', tool_call_id: c.id, content: `sunny ${i}`,
                            })),
                        ],
                        tools: [INDEX_TOOL],
                    });
                    assert.equal(second.choices[0].finish_reason, 'stop');
                    /* The mock quotes the first result: Anthropic's text as
                     * is, Gemini's functionResponse.response as JSON (plain
                     * text is wrapped as {"result": text}). */
                    assert.equal(second.choices[0].message.content, p.name === 'Anthropic'
                        ? 'Tool result: sunny 0' : 'Tool result: {"result":"sunny 0"}');
                    assert.equal(second.choices[0].message.tool_calls, undefined);

                    const reqs = await upstream(p);
                    assert.equal(reqs.length, 2);
                    const replayed = p.replayedCalls(reqs[1].body);
                    const results = p.toolResults(reqs[1].body);
                    assert.equal(replayed.length, 3);
                    assert.equal(results.length, 3);
                    replayed.forEach((c, i) => assert.deepEqual(c.args, { i }));
                    if (p.name === 'Anthropic') {
                        assert.deepEqual(results.map((r) => r.id), msg.tool_calls.map((c) => c.id));
                        assert.deepEqual(results.map((r) => r.text), ['sunny 0', 'sunny 1', 'sunny 2']);
                    } else {
                        assert.deepEqual(results, [0, 1, 2].map((i) => ({
                            name: 'get_weather', response: { result: `sunny ${i}` },
                        })));
                    }
                });

                it('streams parallel tool calls the SDK assembles', async () => {
                    const runner = client.chat.completions.stream({
                        model: p.model,
                        messages: [{ role: 'user', content: `Two cities ${directive({ parallel_calls: 2 })}` }],
                        tools: [INDEX_TOOL],
                    });
                    const done = await runner.finalChatCompletion();
                    const calls = done.choices[0].message.tool_calls;
                    assert.equal(done.choices[0].finish_reason, 'tool_calls');
                    assert.equal(calls.length, 2);
                    calls.forEach((c, i) => {
                        assert.match(c.id, p.idPattern);
                        assert.equal(c.function.name, 'get_weather');
                        assert.deepEqual(JSON.parse(c.function.arguments), { i });
                    });
                });
            });
        }
    });
