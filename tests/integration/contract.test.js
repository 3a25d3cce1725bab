/*
 * contract.test.js - output contracts and feature-aware routing, end to
 * end: a request's needs (json_schema, JSON mode, tools, images, prompt
 * size, max_tokens) exclude the deployments whose "capabilities" cannot
 * serve it (x-switchyard-route "excluded <dep>(<why>)", 400
 * no_capable_deployment when none can); replies that break the requested
 * format (not JSON, schema violation, tool arguments against the tool's
 * parameters) move to the next deployment, or answer 502 / pass with
 * x-switchyard-contract: violated per the group's "contract" policy; a
 * markdown fence around a JSON answer is removed; streams are checked at
 * their end (an error event, no [DONE]) or buffered ("stream": "buffer",
 * where a fence is removed too and "pass" still sets the header), tool
 * arguments included; a turn that calls a tool is exempt from the JSON
 * check, and an answer cut by the token limit (finish_reason "length")
 * is no violation; violations are counted in Redis ("<prefix>contract") and shown by
 * `switchyard status`, never as breaker failures.
 *
 *   sh tests/integration/run.sh build tests/integration/contract.test.js
 *
 * The Redis part is skipped when redis-server is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

/* ------------------------------------------------------------------ */
/* Requests                                                            */

const PERSON = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
    required: ['name', 'age'],
    additionalProperties: false,
};
const SCHEMA_FORMAT = {
    type: 'json_schema',
    json_schema: { name: 'person', strict: true, schema: PERSON },
};
const GOOD = '{"name": "Ada", "age": 36}';
const WEATHER_TOOL = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Weather of a city',
        parameters: {
            type: 'object',
            properties: { city: { type: 'string' }, days: { type: 'integer' } },
            required: ['city'],
        },
    },
};
/* A 1x1 PNG. */
const IMAGE = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function schemaChat(base, opts = {}) {
    return h.chat(base, { text: 'Describe Ada as JSON.', ...opts,
        extra: { response_format: SCHEMA_FORMAT, ...(opts.extra || {}) } });
}

function jsonModeChat(base, opts = {}) {
    return h.chat(base, { text: 'Answer in JSON.', ...opts,
        extra: { response_format: { type: 'json_object' }, ...(opts.extra || {}) } });
}

function toolChat(base, opts = {}) {
    return h.chat(base, { text: 'Weather in Paris?', ...opts,
        extra: { tools: [WEATHER_TOOL], ...(opts.extra || {}) } });
}

function visionChat(base, model) {
    return h.request(base, {
        method: 'POST', path: '/v1/chat/completions',
        body: {
            model,
            messages: [{ role: 'user', content: [
                { type: 'text', text: 'What is in this picture?' },
                { type: 'image_url', image_url: { url: IMAGE } },
            ] }],
        },
    });
}

/* Short description of an answer, for assertion messages. */
function brief(r) {
    return `${r.status} ${r.error || ''} route=${r.headers && r.headers['x-switchyard-route']} ` +
        `${(r.body || '').slice(0, 400)}`;
}

function assertError(r, status, code) {
    assert.equal(r.status, status, brief(r));
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.ok(r.json && r.json.error, `not an OpenAI error object: ${r.body}`);
    assert.equal(r.json.error.code, code, r.body);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(typeof r.json.error.type, 'string');
}

function assertServedBy(r, dep, attempts) {
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.headers['x-switchyard-deployment'], dep, brief(r));
    assert.equal(r.headers['x-switchyard-attempts'], String(attempts), brief(r));
}

/* Every deployment's request count, 0 for the ones never called. */
async function counts(mock, deps) {
    const st = await mock.stats();
    return Object.fromEntries(deps.map((d) => [d, st[d] ? st[d].requests : 0]));
}

/* The events of a stream other than [DONE] and errors. */
function chunks(r) {
    return r.events.filter((e) => e.json && !e.json.error);
}

/* The last event of a stream (undefined when there is none). */
function lastEvent(r) {
    return r.events[r.events.length - 1];
}

/* A stream that ended normally with [DONE] (once, last) and no error event. */
function assertDone(r) {
    assert.ok(r.complete, `the response did not end cleanly: ${r.error}`);
    assert.match(r.headers['content-type'] || '', /^text\/event-stream/, brief(r));
    const last = lastEvent(r);
    assert.ok(last && last.data === '[DONE]', `last event: ${last && last.data}\n${r.body}`);
    assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 1, r.body);
    assert.equal(r.events.filter((e) => e.json && e.json.error).length, 0, r.body);
}

/* A stream that ended with one error event of 'code' and no [DONE];
 * returns the error object. */
function assertStreamError(r, code) {
    assert.ok(r.complete, `the response did not end cleanly: ${r.error}`);
    assert.match(r.headers['content-type'] || '', /^text\/event-stream/, brief(r));
    const last = lastEvent(r);
    assert.ok(last && last.json && last.json.error, `last event: ${last && last.data}\n${r.body}`);
    assert.equal(last.json.error.code, code, last.data);
    assert.equal(typeof last.json.error.message, 'string');
    assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 0, r.body);
    assert.equal(r.events.filter((e) => e.json && e.json.error).length, 1, r.body);
    return last.json.error;
}

/* The tool calls of a stream put together from their deltas, by index:
 * [{ids, name, arguments}]. */
function streamedCalls(r) {
    const calls = [];
    for (const e of chunks(r)) {
        const c0 = e.json.choices && e.json.choices[0];
        const tcs = c0 && c0.delta && c0.delta.tool_calls;
        if (!Array.isArray(tcs)) continue;
        for (const tc of tcs) {
            const i = tc.index || 0;
            calls[i] = calls[i] || { ids: [], name: '', arguments: '' };
            if (tc.id) calls[i].ids.push(tc.id);
            if (tc.function && typeof tc.function.name === 'string') calls[i].name += tc.function.name;
            if (tc.function && typeof tc.function.arguments === 'string') {
                calls[i].arguments += tc.function.arguments;
            }
        }
    }
    return calls;
}

/* The finish_reason values of a stream's chunks, in order. */
function finishReasons(r) {
    return chunks(r).map((e) => e.json.choices && e.json.choices[0] && e.json.choices[0].finish_reason)
        .filter((f) => f);
}

/* The distinct chunk ids of a stream (one per upstream answer). */
function streamIds(r) {
    return [...new Set(chunks(r).map((e) => e.json.id))];
}

/* A JSON answer cut by the token limit, as a provider sends it: the
 * mock's "error_body" with status 200 is sent verbatim, so it can play a
 * whole chat.completion (or, with content_type text/event-stream, a whole
 * stream) that the mock would never generate itself. */
const CUT = '{"name": "Ada", "ag';

function cutCompletion(content = CUT) {
    return {
        status: 200,
        error_body: JSON.stringify({
            id: 'chatcmpl-cut-1', object: 'chat.completion', created: 1700000000, model: 'mock-model',
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'length' }],
            usage: { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 },
        }),
    };
}

/* A stream of 'pieces' of content whose last chunk has 'finish'. */
function cutStream(pieces, finish = 'length') {
    const chunk = (delta, finishReason) => ({
        id: 'chatcmpl-cut-2', object: 'chat.completion.chunk', created: 1700000000, model: 'mock-model',
        choices: [{ index: 0, delta, finish_reason: finishReason }], usage: null,
    });
    const evs = [chunk({ role: 'assistant', content: '' }, null),
        ...pieces.map((p) => chunk({ content: p }, null)),
        chunk({}, finish)];
    return {
        status: 200,
        content_type: 'text/event-stream',
        error_body: evs.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n',
    };
}

/* ------------------------------------------------------------------ */
/* Routing and contracts, no shared state                              */

const SMALL_CTX = 100;
const SMALL_OUT = 50;

const stack = new h.Stack({
    tag: 'contract',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            /* json_schema routing */
            'ns': { capabilities: { json_schema: false } },
            'ns-2': { capabilities: { json_schema: false, json_object: false } },
            'sc': {},
            /* fences */
            'fz': {},
            'fz-2': {},
            /* tools */
            't1': {},
            't2': {},
            'no-tools': { capabilities: { tools: false } },
            /* vision: one by config, one by the model family table */
            'txt': { capabilities: { vision: false } },
            'old': { model: 'gpt-3.5-turbo' },
            'img': {},
            /* sizes */
            'small': { capabilities: { context_window: SMALL_CTX } },
            'tiny': { capabilities: { context_window: 50 } },
            'big': {},
            'short-out': { capabilities: { max_output_tokens: SMALL_OUT } },
            /* policies */
            'e1': {}, 'e2': {},
            'p1': {}, 'p2': {},
            /* streams */
            's1': {}, 's2': {},
            'b1': {}, 'b2': {},
        },
        groups: {
            'g-schema': ['ns', 'sc'],
            'g-fence': ['fz', 'fz-2'],
            'g-tools': ['no-tools', 't1', 't2'],
            'g-vision': ['txt', 'old', 'img'],
            'g-ctx': ['small', 'big'],
            'g-out': ['short-out', 'big'],
            'g-none-schema': ['ns', 'ns-2'],
            'g-none-ctx': ['small', 'tiny'],
            'g-err': { deployments: ['e1', 'e2'], contract: { on_violation: 'error' } },
            'g-pass': { deployments: ['p1', 'p2'], contract: { on_violation: 'pass' } },
            'g-next': { deployments: ['e1', 'e2'], contract: { on_violation: 'next' } },
            'g-stream': ['s1', 's2'],
            'g-buffer': { deployments: ['b1', 'b2'], contract: { stream: 'buffer' } },
            'g-pass-buffer': { deployments: ['p1', 'p2'], contract: { on_violation: 'pass', stream: 'buffer' } },
        },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

for (const server of h.SERVERS) {
    describe(`output contracts and capability routing behind ${server}`,
        { skip: h.missing(server) || false }, () => {
            const base = () => stack.base(server);
            beforeEach(() => stack.mock.reset());

            it('a json_schema request never reaches a deployment without json_schema', async () => {
                const r = await schemaChat(base(), { model: 'g-schema', directive: { content: GOOD } });
                assertServedBy(r, 'sc', 1);
                assert.deepEqual(JSON.parse(r.json.choices[0].message.content), { name: 'Ada', age: 36 });
                assert.match(r.headers['x-switchyard-route'],
                    /excluded ns\(no json_schema structured output\)/, brief(r));
                assert.deepEqual(await counts(stack.mock, ['ns', 'sc']), { ns: 0, sc: 1 });
                /* The request went to the provider with its response_format. */
                const sent = await stack.mock.requests('sc');
                assert.deepEqual(sent[sent.length - 1].body.response_format, SCHEMA_FORMAT);
                /* The same group without a schema uses ns first. */
                const t = await h.chat(base(), { model: 'g-schema' });
                assertServedBy(t, 'ns', 1);
                assert.equal(h.contentOf(t), 'Hello from ns.');
                assert.doesNotMatch(t.headers['x-switchyard-route'] || '', /excluded/);
                /* json_object only: ns has JSON mode, so it serves it. */
                const j = await jsonModeChat(base(), { model: 'g-schema', directive: { content: '{"a": 1}' } });
                assertServedBy(j, 'ns', 1);
                assert.equal(j.json.choices[0].message.content, '{"a": 1}');
            });

            it('a fenced JSON answer is unwrapped, nothing else changed (attempts 1)', async () => {
                const r = await schemaChat(base(), {
                    model: 'g-fence', directive: { content: GOOD, fenced: true },
                });
                assertServedBy(r, 'fz', 1);
                const msg = r.json.choices[0].message;
                assert.equal(msg.content, GOOD, `not the bare JSON: ${JSON.stringify(msg.content)}`);
                assert.equal(msg.role, 'assistant');
                assert.equal(r.json.object, 'chat.completion');
                assert.match(r.json.id, /^chatcmpl-mock-/);
                assert.equal(r.json.choices[0].finish_reason, 'stop');
                assert.ok(r.json.usage && r.json.usage.total_tokens > 0, r.body);
                assert.equal(r.headers['x-switchyard-contract'], undefined);
                assert.deepEqual(await counts(stack.mock, ['fz', 'fz-2']), { fz: 1, 'fz-2': 0 });
                /* Without a JSON format the fence is the answer: untouched. */
                const t = await h.chat(base(), { model: 'g-fence', directive: { content: GOOD, fenced: true } });
                assertServedBy(t, 'fz', 1);
                assert.equal(h.contentOf(t), '```json\n' + GOOD + '\n```');
                /* A fence around something that is not JSON is still a violation. */
                await stack.mock.fault('fz', { content: 'no JSON here', fenced: true });
                await stack.mock.fault('fz-2', { content: '{"ok": true}' });
                const bad = await jsonModeChat(base(), { model: 'g-fence' });
                assertServedBy(bad, 'fz-2', 2);
                assert.equal(bad.json.choices[0].message.content, '{"ok": true}');
                /* Prose around a fence is not unwrapped: a violation too. */
                await stack.mock.fault('fz', { content: 'Here it is: ```json\n{"a": 1}\n```' });
                const prose = await jsonModeChat(base(), { model: 'g-fence' });
                assertServedBy(prose, 'fz-2', 2);
            });

            it('invalid JSON and schema violations move to the next deployment', async () => {
                await stack.mock.fault('e2', { content: GOOD });
                const cases = [
                    ['not JSON', 'not json', jsonModeChat],
                    ['not JSON (schema)', 'not json', schemaChat],
                    ['a wrong type', '{"name": "Ada", "age": "36"}', schemaChat],
                    ['a missing required property', '{"name": "Ada"}', schemaChat],
                    ['an extra property', '{"name": "Ada", "age": 36, "x": 1}', schemaChat],
                    ['a JSON array for json_object', '[1, 2]', jsonModeChat],
                ];
                for (const [what, content, send] of cases) {
                    await stack.mock.resetStats();
                    await stack.mock.fault('e1', { content });
                    const r = await send(base(), { model: 'g-next' });
                    assertServedBy(r, 'e2', 2);
                    assert.equal(r.json.choices[0].message.content, GOOD, what);
                    assert.deepEqual(await counts(stack.mock, ['e1', 'e2']), { e1: 1, e2: 1 }, what);
                }
                /* Both failing: 502 saying what was wrong with each. */
                await stack.mock.fault('e1', { content: 'not json' });
                await stack.mock.fault('e2', { content: '{"name": "Ada"}' });
                const r = await schemaChat(base(), { model: 'g-next' });
                assertError(r, 502, 'output_contract_violation');
                assert.equal(r.headers['x-switchyard-attempts'], '2');
                const m = r.json.error.message;
                assert.match(m, /e1: .*contract/, m);
                assert.match(m, /e2: .*contract/, m);
                assert.match(m, /age/, `the missing property is not named: ${m}`);
            });

            it('tool-call arguments that break the tool schema move on; valid ones pass', async () => {
                /* no-tools is excluded for any request with tools. */
                await stack.mock.fault('t1', { tool_arguments: '{"city": 42}' });
                await stack.mock.fault('t2', { tool_arguments: '{"city": "Paris"}' });
                const r = await toolChat(base(), { model: 'g-tools' });
                assertServedBy(r, 't2', 2);
                const call = r.json.choices[0].message.tool_calls[0];
                assert.equal(call.function.name, 'get_weather');
                assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
                assert.equal(r.json.choices[0].finish_reason, 'tool_calls');
                assert.match(r.headers['x-switchyard-route'], /excluded no-tools\(no tool calling\)/);
                assert.deepEqual(await counts(stack.mock, ['no-tools', 't1', 't2']),
                    { 'no-tools': 0, t1: 1, t2: 1 });

                /* Arguments that are not JSON, or miss a required key. */
                for (const args of ['{"city": ', '{"days": 3}']) {
                    await stack.mock.resetStats();
                    await stack.mock.fault('t1', { tool_arguments: args });
                    const x = await toolChat(base(), { model: 'g-tools' });
                    assertServedBy(x, 't2', 2);
                    assert.deepEqual(await counts(stack.mock, ['t1', 't2']), { t1: 1, t2: 1 }, args);
                }

                /* Valid arguments on t1: it answers. */
                await stack.mock.resetStats();
                await stack.mock.fault('t1', { tool_arguments: '{"city": "Oslo", "days": 2}' });
                const ok = await toolChat(base(), { model: 'g-tools' });
                assertServedBy(ok, 't1', 1);
                assert.deepEqual(JSON.parse(ok.json.choices[0].message.tool_calls[0].function.arguments),
                    { city: 'Oslo', days: 2 });
                assert.equal(await stack.mock.count('t2'), 0);

                /* tool_choice "none": no tool needed, no-tools serves it. */
                const none = await toolChat(base(), { model: 'g-tools', extra: { tool_choice: 'none' } });
                assertServedBy(none, 'no-tools', 1);
                assert.equal(h.contentOf(none), 'Hello from no-tools.');
            });

            it('an image request skips text-only deployments (by config and by model family)', async () => {
                const r = await visionChat(base(), 'g-vision');
                assertServedBy(r, 'img', 1);
                const route = r.headers['x-switchyard-route'];
                assert.match(route, /excluded .*txt\(no image input\)/, route);
                assert.match(route, /old\(no image input\)/, route);
                assert.deepEqual(await counts(stack.mock, ['txt', 'old', 'img']), { txt: 0, old: 0, img: 1 });
                const sent = await stack.mock.requests('img');
                const parts = sent[sent.length - 1].body.messages[0].content;
                assert.equal(parts[1].type, 'image_url');
                assert.equal(parts[1].image_url.url, IMAGE);
                /* Text only: the first deployment serves it. */
                const t = await h.chat(base(), { model: 'g-vision' });
                assertServedBy(t, 'txt', 1);
            });

            it('an over-long prompt skips small-context deployments; a short one uses them', async () => {
                const short = await h.chat(base(), { model: 'g-ctx', text: 'Hi.' });
                assertServedBy(short, 'small', 1);
                assert.equal(h.contentOf(short), 'Hello from small.');

                const long = await h.chat(base(), { model: 'g-ctx', text: 'lorem ipsum '.repeat(100) });
                assertServedBy(long, 'big', 1);
                const route = long.headers['x-switchyard-route'];
                assert.match(route, new RegExp(`excluded small\\(context window ${SMALL_CTX} tokens < about \\d+ needed\\)`), route);
                const needed = Number(/about (\d+) needed/.exec(route)[1]);
                assert.ok(needed > SMALL_CTX && needed < 1000, `estimate ${needed} tokens for 1.2 kB`);

                /* A short prompt with a big max_tokens does not fit either. */
                const room = await h.chat(base(), { model: 'g-ctx', text: 'Hi.', extra: { max_tokens: SMALL_CTX } });
                assertServedBy(room, 'big', 1);
                assert.match(room.headers['x-switchyard-route'], /excluded small\(context window/);

                /* max_tokens against max_output_tokens. */
                const over = await h.chat(base(), { model: 'g-out', extra: { max_tokens: SMALL_OUT + 1 } });
                assertServedBy(over, 'big', 1);
                assert.match(over.headers['x-switchyard-route'],
                    new RegExp(`excluded short-out\\(max output ${SMALL_OUT} tokens < ${SMALL_OUT + 1} asked\\)`));
                const under = await h.chat(base(), { model: 'g-out', extra: { max_tokens: SMALL_OUT } });
                assertServedBy(under, 'short-out', 1);
                assert.deepEqual(await counts(stack.mock, ['small', 'short-out', 'big']),
                    { small: 1, 'short-out': 1, big: 3 });
            });

            it('answers 400 no_capable_deployment naming each deployment and why', async () => {
                const r = await schemaChat(base(), { model: 'g-none-schema' });
                assertError(r, 400, 'no_capable_deployment');
                assert.equal(r.json.error.type, 'invalid_request_error');
                const m = r.json.error.message;
                assert.match(m, /g-none-schema/, m);
                assert.match(m, /ns \(no json_schema structured output\)/, m);
                assert.match(m, /ns-2 \(no json_schema structured output\)/, m);
                assert.match(r.headers['x-switchyard-route'] || '', /excluded ns\(.*\) ns-2\(/, brief(r));

                /* ns has JSON mode, ns-2 has not: json_object goes to ns. */
                const j = await jsonModeChat(base(), { model: 'g-none-schema', directive: { content: '{}' } });
                assertServedBy(j, 'ns', 1);

                const big = await h.chat(base(), { model: 'g-none-ctx', text: 'lorem ipsum '.repeat(100) });
                assertError(big, 400, 'no_capable_deployment');
                const bm = big.json.error.message;
                assert.match(bm, new RegExp(`small \\(context window ${SMALL_CTX} tokens < about \\d+ needed\\)`), bm);
                assert.match(bm, /tiny \(context window 50 tokens < about \d+ needed\)/, bm);

                /* Streams get the same JSON error, not an event stream. */
                const s = await schemaChat(base(), { model: 'g-none-schema', stream: true });
                assertError(s, 400, 'no_capable_deployment');
                assert.deepEqual(await counts(stack.mock, ['ns', 'ns-2', 'small', 'tiny']),
                    { ns: 1, 'ns-2': 0, small: 0, tiny: 0 });
            });

            it('on_violation "error": 502 output_contract_violation at once', async () => {
                await stack.mock.fault('e1', { content: 'not json' });
                const r = await schemaChat(base(), { model: 'g-err' });
                assertError(r, 502, 'output_contract_violation');
                assert.equal(r.headers['x-switchyard-deployment'], 'e1');
                assert.equal(r.headers['x-switchyard-attempts'], '1');
                assert.match(r.json.error.message, /contract/);
                assert.deepEqual(await counts(stack.mock, ['e1', 'e2']), { e1: 1, e2: 0 });
                /* Tool arguments too. */
                const t = await toolChat(base(), { model: 'g-err', directive: { tool_arguments: '{"city": 1}' } });
                assertError(t, 502, 'output_contract_violation');
                assert.match(t.json.error.message, /get_weather/);
                assert.deepEqual(await counts(stack.mock, ['e1', 'e2']), { e1: 2, e2: 0 });
            });

            it('on_violation "pass": 200 with x-switchyard-contract: violated', async () => {
                await stack.mock.fault('p1', { content: 'not json' });
                const r = await schemaChat(base(), { model: 'g-pass' });
                assertServedBy(r, 'p1', 1);
                assert.equal(r.headers['x-switchyard-contract'], 'violated');
                assert.equal(r.json.choices[0].message.content, 'not json');
                assert.equal(await stack.mock.count('p2'), 0);
                /* A reply that holds: no header. */
                await stack.mock.fault('p1', { content: GOOD });
                const ok = await schemaChat(base(), { model: 'g-pass' });
                assertServedBy(ok, 'p1', 1);
                assert.equal(ok.headers['x-switchyard-contract'], undefined);
            });

            it('streams with a schema ("end"): a violation ends with an error event, no [DONE]', async () => {
                await stack.mock.fault('s1', { content: '{"name": "Ada", "age": "old"}' });
                const r = await schemaChat(base(), { model: 'g-stream', stream: true });
                assert.equal(r.status, 200, brief(r));
                assert.match(r.headers['content-type'], /^text\/event-stream/);
                assert.equal(r.headers['x-switchyard-deployment'], 's1');
                assert.ok(r.complete, `the response did not end cleanly: ${r.error}`);
                assert.equal(h.contentOf(r), '{"name": "Ada", "age": "old"}', 'the content before the error');
                assert.ok(chunks(r).length >= 3, r.body);
                const last = r.events[r.events.length - 1];
                assert.ok(last.json && last.json.error, `last event: ${last.data}`);
                assert.equal(last.json.error.code, 'output_contract_violation', last.data);
                assert.match(last.json.error.message, /s1/);
                assert.equal(r.events.filter((e) => e.data === '[DONE]').length, 0, r.body);
                assert.equal(r.events.filter((e) => e.json && e.json.error).length, 1, r.body);
                assert.equal(await stack.mock.count('s2'), 0);

                /* A valid stream ends with [DONE]. */
                await stack.mock.fault('s1', { content: GOOD });
                const ok = await schemaChat(base(), { model: 'g-stream', stream: true });
                assertServedBy(ok, 's1', 1);
                assert.deepEqual(JSON.parse(h.contentOf(ok)), { name: 'Ada', age: 36 });
                assert.equal(ok.events[ok.events.length - 1].data, '[DONE]');
                assert.equal(ok.events.filter((e) => e.json && e.json.error).length, 0, ok.body);
            });

            it('streams with "buffer": a violating first deployment is replaced unseen', async () => {
                await stack.mock.fault('b1', { content: '{"name": "Bob"}' });
                await stack.mock.fault('b2', { content: GOOD });
                const r = await schemaChat(base(), { model: 'g-buffer', stream: true });
                assertServedBy(r, 'b2', 2);
                assert.match(r.headers['content-type'], /^text\/event-stream/);
                assert.equal(r.events[r.events.length - 1].data, '[DONE]');
                assert.equal(r.events.filter((e) => e.json && e.json.error).length, 0, r.body);
                assert.equal(h.contentOf(r), GOOD);
                assert.ok(!r.body.includes('Bob'), `b1's events reached the client: ${r.body}`);
                /* One role chunk and one finish chunk: only b2's events. */
                const c = chunks(r);
                assert.equal(c.filter((e) => e.json.choices[0] && e.json.choices[0].delta &&
                    e.json.choices[0].delta.role).length, 1, r.body);
                assert.equal(c.filter((e) => e.json.choices[0] && e.json.choices[0].finish_reason).length, 1, r.body);
                assert.deepEqual(await counts(stack.mock, ['b1', 'b2']), { b1: 1, b2: 1 });

                /* Both violating: a 502 before any event. */
                await stack.mock.fault('b2', { content: 'not json' });
                const bad = await schemaChat(base(), { model: 'g-buffer', stream: true });
                assertError(bad, 502, 'output_contract_violation');
                assert.match(bad.json.error.message, /b1: .*b2: /s);

                /* Text streams in a buffered group are not held. */
                const t = await h.chat(base(), { model: 'g-buffer', stream: true });
                assertServedBy(t, 'b1', 1);
                assert.equal(t.events[t.events.length - 1].data, '[DONE]');
            });

            it('a tool-call stream with a json_schema format ends with [DONE] ("end" and "buffer")', async () => {
                /* The model calls a tool instead of answering: there is no
                 * JSON text to check, only the arguments (valid here). */
                for (const [model, dep, other] of [['g-stream', 's1', 's2'], ['g-buffer', 'b1', 'b2']]) {
                    await stack.mock.resetStats();
                    const r = await schemaChat(base(), {
                        model, stream: true,
                        directive: { tool_arguments: '{"city": "Paris"}' },
                        extra: { tools: [WEATHER_TOOL] },
                    });
                    assertServedBy(r, dep, 1);
                    assertDone(r);
                    const calls = streamedCalls(r);
                    assert.equal(calls.length, 1, r.body);
                    assert.equal(calls[0].name, 'get_weather', model);
                    assert.equal(calls[0].ids.length, 1, r.body);
                    assert.deepEqual(JSON.parse(calls[0].arguments), { city: 'Paris' }, model);
                    assert.deepEqual(finishReasons(r), ['tool_calls'], model);
                    assert.equal(h.contentOf(r), '', `text in a tool-call turn: ${r.body}`);
                    assert.equal(r.headers['x-switchyard-contract'], undefined, model);
                    assert.deepEqual(await counts(stack.mock, [dep, other]), { [dep]: 1, [other]: 0 }, model);
                    /* The provider got both the tools and the response_format. */
                    const sent = await stack.mock.requests(dep);
                    const body = sent[sent.length - 1].body;
                    assert.deepEqual(body.response_format, SCHEMA_FORMAT, model);
                    assert.equal(body.tools[0].function.name, 'get_weather', model);
                }
            });

            it('streamed tool arguments are checked: "buffer" moves on unseen, "end" ends with an error event', async () => {
                /* "buffer": b1's arguments break the tool's parameters (a
                 * wrong type, not JSON, a missing required key): b2 answers
                 * and the client sees only b2's events. */
                await stack.mock.fault('b2', { tool_arguments: '{"city": "Paris"}' });
                for (const args of ['{"city": 42}', '{"city": ', '{"days": 3}']) {
                    await stack.mock.resetStats();
                    await stack.mock.fault('b1', { tool_arguments: args });
                    const r = await toolChat(base(), { model: 'g-buffer', stream: true });
                    assertServedBy(r, 'b2', 2);
                    assertDone(r);
                    assert.equal(streamIds(r).length, 1, `events of two answers: ${r.body}`);
                    const calls = streamedCalls(r);
                    assert.equal(calls.length, 1, r.body);
                    assert.equal(calls[0].ids.length, 1, `two call starts: ${r.body}`);
                    assert.equal(calls[0].name, 'get_weather');
                    assert.equal(calls[0].arguments, '{"city": "Paris"}', `b1's arguments reached the client: ${r.body}`);
                    assert.deepEqual(finishReasons(r), ['tool_calls'], args);
                    assert.equal(chunks(r).filter((e) => e.json.choices[0] && e.json.choices[0].delta &&
                        e.json.choices[0].delta.role).length, 1, r.body);
                    assert.deepEqual(await counts(stack.mock, ['b1', 'b2']), { b1: 1, b2: 1 }, args);
                }
                /* Both breaking it: a 502 before any event. */
                await stack.mock.fault('b2', { tool_arguments: '{"city": null}' });
                const both = await toolChat(base(), { model: 'g-buffer', stream: true });
                assertError(both, 502, 'output_contract_violation');
                assert.match(both.json.error.message, /b1: .*get_weather.*b2: .*get_weather/s, both.body);

                /* "end": the events are already out; the stream ends with an
                 * error event naming the deployment and the tool, no [DONE]. */
                await stack.mock.resetStats();
                await stack.mock.fault('s1', { tool_arguments: '{"city": 42}' });
                const r = await toolChat(base(), { model: 'g-stream', stream: true });
                assert.equal(r.status, 200, brief(r));
                assert.equal(r.headers['x-switchyard-deployment'], 's1');
                const err = assertStreamError(r, 'output_contract_violation');
                assert.match(err.message, /s1/, err.message);
                assert.match(err.message, /get_weather/, err.message);
                assert.equal(streamedCalls(r)[0].arguments, '{"city": 42}', 'the arguments before the error');
                assert.equal(await stack.mock.count('s2'), 0);
                /* Valid arguments: [DONE]. */
                await stack.mock.fault('s1', { tool_arguments: '{"city": "Oslo", "days": 2}' });
                const ok = await toolChat(base(), { model: 'g-stream', stream: true });
                assertServedBy(ok, 's1', 1);
                assertDone(ok);
                assert.deepEqual(JSON.parse(streamedCalls(ok)[0].arguments), { city: 'Oslo', days: 2 });
            });

            it('fenced JSON in a buffered stream reaches the client without the fence', async () => {
                for (const [what, send, content] of [
                    ['json_schema', schemaChat, GOOD],
                    ['json_object', jsonModeChat, '{"a": [1, 2], "b": "x"}'],
                ]) {
                    await stack.mock.resetStats();
                    /* Many pieces: the fence is spread over several events. */
                    await stack.mock.fault('b1', { content, fenced: true, chunks: 8 });
                    const r = await send(base(), { model: 'g-buffer', stream: true });
                    assertServedBy(r, 'b1', 1);
                    assertDone(r);
                    assert.equal(h.contentOf(r), content, `${what}: not the bare JSON: ${r.body}`);
                    assert.ok(!r.body.includes('```'), `${what}: a fence reached the client: ${r.body}`);
                    assert.equal(r.headers['x-switchyard-contract'], undefined, what);
                    assert.deepEqual(finishReasons(r), ['stop'], what);
                    assert.equal(streamIds(r).length, 1, r.body);
                    assert.deepEqual(await counts(stack.mock, ['b1', 'b2']), { b1: 1, b2: 0 }, what);
                }
                /* Without a JSON format the stream is not held and the fence
                 * is the answer. */
                await stack.mock.fault('b1', { content: GOOD, fenced: true });
                const t = await h.chat(base(), { model: 'g-buffer', stream: true });
                assertServedBy(t, 'b1', 1);
                assertDone(t);
                assert.equal(h.contentOf(t), '```json\n' + GOOD + '\n```');

                /* "end": events flow as they come, and the fence is taken
                 * off on the way (the opening line dropped, the closing
                 * fence held back and dropped at the finish): the client
                 * gets the bare JSON, then [DONE]. */
                await stack.mock.fault('s1', { content: GOOD, fenced: true });
                const e = await schemaChat(base(), { model: 'g-stream', stream: true });
                assertServedBy(e, 's1', 1);
                assertDone(e);
                assert.equal(h.contentOf(e), GOOD);
                assert.ok(!e.body.includes('```'), `a fence reached the client: ${e.body}`);
                assert.equal(await stack.mock.count('s2'), 0);
            });

            it('on_violation "pass" with "buffer": x-switchyard-contract: violated, then [DONE]', async () => {
                await stack.mock.fault('p1', { content: 'not json' });
                const r = await schemaChat(base(), { model: 'g-pass-buffer', stream: true });
                assertServedBy(r, 'p1', 1);
                assertDone(r);
                assert.equal(r.headers['x-switchyard-contract'], 'violated', brief(r));
                assert.equal(h.contentOf(r), 'not json');
                assert.equal(await stack.mock.count('p2'), 0);

                /* A schema violation, and tool arguments against the tool. */
                await stack.mock.fault('p1', { content: '{"name": "Ada"}' });
                const s = await schemaChat(base(), { model: 'g-pass-buffer', stream: true });
                assertServedBy(s, 'p1', 1);
                assertDone(s);
                assert.equal(s.headers['x-switchyard-contract'], 'violated', brief(s));
                assert.equal(h.contentOf(s), '{"name": "Ada"}');
                await stack.mock.fault('p1', { tool_arguments: '{"city": 42}' });
                const t = await toolChat(base(), { model: 'g-pass-buffer', stream: true });
                assertServedBy(t, 'p1', 1);
                assertDone(t);
                assert.equal(t.headers['x-switchyard-contract'], 'violated', brief(t));
                assert.equal(streamedCalls(t)[0].arguments, '{"city": 42}');
                assert.equal(await stack.mock.count('p2'), 0);

                /* A stream that holds: no header. */
                await stack.mock.fault('p1', { content: GOOD });
                const ok = await schemaChat(base(), { model: 'g-pass-buffer', stream: true });
                assertServedBy(ok, 'p1', 1);
                assertDone(ok);
                assert.equal(ok.headers['x-switchyard-contract'], undefined);
                assert.equal(h.contentOf(ok), GOOD);
            });

            it('a JSON answer cut by the token limit (finish_reason "length") is not a violation', async () => {
                /* Not streamed: 200 from the first deployment, content as sent. */
                for (const [what, send] of [['json_object', jsonModeChat], ['json_schema', schemaChat]]) {
                    await stack.mock.resetStats();
                    await stack.mock.fault('e1', cutCompletion());
                    await stack.mock.fault('e2', { content: GOOD });
                    const r = await send(base(), { model: 'g-next' });
                    assertServedBy(r, 'e1', 1);
                    assert.equal(r.json.choices[0].message.content, CUT, what);
                    assert.equal(r.json.choices[0].finish_reason, 'length', what);
                    assert.equal(r.headers['x-switchyard-contract'], undefined, what);
                    assert.deepEqual(await counts(stack.mock, ['e1', 'e2']), { e1: 1, e2: 0 }, what);
                }
                /* The same content with finish_reason "stop" is a violation
                 * (the test above is not passing by accident). */
                const stopped = cutCompletion();
                stopped.error_body = stopped.error_body.replace('"length"', '"stop"');
                await stack.mock.fault('e1', stopped);
                const v = await jsonModeChat(base(), { model: 'g-next' });
                assertServedBy(v, 'e2', 2);

                /* Streamed, "end" and "buffer": the last chunk says "length". */
                const pieces = ['{"name": ', '"Ada", ', '"ag'];
                for (const [model, dep, other] of [['g-stream', 's1', 's2'], ['g-buffer', 'b1', 'b2']]) {
                    await stack.mock.resetStats();
                    await stack.mock.fault(dep, cutStream(pieces));
                    await stack.mock.fault(other, { content: GOOD });
                    const s = await schemaChat(base(), { model, stream: true });
                    assertServedBy(s, dep, 1);
                    assertDone(s);
                    assert.equal(h.contentOf(s), CUT, model);
                    assert.deepEqual(finishReasons(s), ['length'], model);
                    assert.deepEqual(await counts(stack.mock, [dep, other]), { [dep]: 1, [other]: 0 }, model);
                }
                /* Control: the same stream ending with "stop" is a violation. */
                await stack.mock.fault('s1', cutStream(pieces, 'stop'));
                const se = await schemaChat(base(), { model: 'g-stream', stream: true });
                assertStreamError(se, 'output_contract_violation');
                await stack.mock.fault('b1', cutStream(pieces, 'stop'));
                await stack.mock.fault('b2', { content: GOOD });
                const sb = await schemaChat(base(), { model: 'g-buffer', stream: true });
                assertServedBy(sb, 'b2', 2);
                assertDone(sb);
                assert.equal(h.contentOf(sb), GOOD);
            });
        });
}

/* ------------------------------------------------------------------ */
/* Shared state: the contract counter, breakers, switchyard status      */

const RSKIP = h.missing('redis') || h.missing('lighttpd') || false;
const PREFIX = 'ct:';

describe('contract violations in shared state', { skip: RSKIP }, () => {
    let redis;
    let redisDir;
    let R;
    let violations = 0;

    before(async () => {
        redisDir = h.makeTmpDir('ct-redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        R = new h.Stack({
            tag: 'contract-r',
            config: (mockPort) => h.gatewayConfig(mockPort, {
                deployments: { r1: {}, r2: {} },
                groups: { 'g-r': ['r1', 'r2'] },
                state: {
                    redis_url: redis.url, prefix: PREFIX, refresh_ms: 100,
                    /* Two provider failures in a row would open r1. */
                    breaker: { consecutive: 2, failure_pct: 0, open_ms: 60000, jitter_pct: 0 },
                },
            }),
        });
        await R.start();
    }, { timeout: 60000 });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1' && R) process.stderr.write(`${R.logs()}\n`);
        if (R) await R.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    }, { timeout: 30000 });

    async function breaker(dep) {
        const r = await redis.cmd('HGETALL', `${PREFIX}br:{${dep}}`);
        const o = {};
        for (let i = 0; r && i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
        const fails = Object.entries(o).filter(([k]) => /^f\d+$/.test(k))
            .reduce((s, [, v]) => s + Number(v), 0);
        return { state: Number(o.state || 0), consecutive: Number(o.consecutive || 0), fails, raw: o };
    }

    it('violations move on, count in <prefix>contract and never trip the breaker', async () => {
        const base = R.base('lighttpd');
        await R.mock.fault('r2', { content: GOOD });
        const bad = ['not json', '{"name": 5, "age": 1}', '{"age": 1}', 'still not json', '[]'];
        for (const content of bad) {
            await R.mock.fault('r1', { content });
            const r = await schemaChat(base, { model: 'g-r' });
            assertServedBy(r, 'r2', 2);
            assert.equal(r.json.choices[0].message.content, GOOD);
            assert.doesNotMatch(r.headers['x-switchyard-route'], /breaker/, brief(r));
            violations++;
        }
        /* Tool arguments count too. */
        await R.mock.fault('r1', { tool_arguments: '{"city": []}' });
        await R.mock.fault('r2', { content: GOOD, tool_arguments: '{"city": "Rome"}' });
        const t = await toolChat(base, { model: 'g-r' });
        assertServedBy(t, 'r2', 2);
        violations++;
        /* r1 got every request: consecutive 2 would have opened its
         * breaker after two provider failures. */
        assert.deepEqual(await counts(R.mock, ['r1', 'r2']), { r1: violations, r2: violations });

        await h.waitFor('the contract counter of r1 in Redis', async () =>
            Number(await redis.cmd('HGET', `${PREFIX}contract`, 'r1')) === violations, 3000);
        assert.equal(await redis.cmd('HGET', `${PREFIX}contract`, 'r2'), null);
        await h.sleep(300);
        const b = await breaker('r1');
        assert.equal(b.state, 0, `breaker of r1: ${JSON.stringify(b.raw)}`);
        assert.equal(b.fails, 0, `contract violations counted as breaker failures: ${JSON.stringify(b.raw)}`);
        assert.equal(b.consecutive, 0, JSON.stringify(b.raw));

        /* A good reply from r1 now: it is still in use. */
        await R.mock.fault('r1', { content: GOOD });
        const ok = await schemaChat(base, { model: 'g-r' });
        assertServedBy(ok, 'r1', 1);
        /* Each process sends its outcomes to Redis every refresh_ms (100),
         * so outcomes of two processes can land out of order: let this
         * success land first, or a 500 queued in the other process may
         * reach Redis before it and the success would reset the count. */
        await h.sleep(300);
        /* Real provider failures still count (the breaker works). */
        await R.mock.fault('r1', { status: 500 });
        for (let i = 0; i < 2; i++) assertServedBy(await schemaChat(base, { model: 'g-r' }), 'r2', 2);
        await h.waitFor('r1 breaker open after 2 provider failures', async () =>
            (await breaker('r1')).state === 1, 3000);
        assert.equal(Number(await redis.cmd('HGET', `${PREFIX}contract`, 'r1')), violations,
            'provider failures counted as contract violations');
    });

    it('`switchyard status` shows the contract counter', async () => {
        assert.ok(violations > 0, 'the previous test did not run');
        const j = h.runSwitchyard(['status', '--config', R.configFile, '--json']);
        assert.equal(j.status, 0, j.stderr);
        const s = JSON.parse(j.stdout);
        const dep = Object.fromEntries(s.deployments.map((d) => [d.name, d]));
        assert.equal(dep.r1.contract_violations, violations, JSON.stringify(dep.r1));
        assert.equal(dep.r2.contract_violations, 0, JSON.stringify(dep.r2));
        assert.equal(dep.r1.failures, 2, `only the two 500s are failures: ${JSON.stringify(dep.r1)}`);
        assert.equal(dep.r1.breaker.state, 'open');

        const t = h.runSwitchyard(['status', '--config', R.configFile]);
        assert.equal(t.status, 0, t.stderr);
        assert.match(t.stdout, /^DEPLOYMENT +SAMPLES .* BREAKER +CONTRACT$/m, t.stdout);
        assert.match(t.stdout, new RegExp(`^r1 .*open until .* +${violations}$`, 'm'), t.stdout);
        assert.match(t.stdout, /^r2 .*closed +0$/m, t.stdout);
    });
});
