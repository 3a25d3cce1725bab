/*
 * responses_done_events.test.js - an OpenAI Responses upstream whose
 * closing events (output_text.done, content_part.done, output_item.done,
 * function_call_arguments.done, response.completed) say something else
 * than its deltas. A caller of /v1/responses gets the provider's events
 * as they came, and Codex and the SDKs read the closing ones; the
 * gateway (its output contract, the chat translation) reads the deltas.
 * Before, a provider whose deltas said {"ok":true} and get_weather
 * {"city":"Paris"} handed a native caller "NOT JSON AT ALL" and a call
 * of an undeclared delete_everything {"path":"/"} in those closing
 * events. Now the adapter (adapters/responses_done.c) fails the attempt
 * on the first closing event that disagrees: the next deployment answers
 * while nothing reached the caller, else an error event ends the stream
 * before the event is relayed. A provider that sends an item only whole,
 * in its closing events, still works.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');
const { ScenarioProvider } = require('./scenario_provider');

const U = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
let seq = 0;
function ev(type, o) {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...o })}\n\n`;
}
const resp = (status, output, usage) => ({ id: 'resp_1', object: 'response', created_at: 1, status,
    model: 'gpt-x', output, usage, error: null, incomplete_details: null });
const msg = (text, status = 'completed') => ({ id: 'msg_1', type: 'message', status, role: 'assistant',
    content: text === null ? [] : [{ type: 'output_text', text, annotations: [] }] });
const fc = (name, args, status = 'completed') => ({ id: 'fc_1', type: 'function_call', status,
    call_id: 'call_1', name, arguments: args });
const part = (text) => ({ type: 'output_text', text, annotations: [] });
const at0 = { output_index: 0, item_id: 'msg_1', content_index: 0 };

/* A message streamed as 'delta', closed (every closing event) as
 * 'done'; with 'delta' null, no delta at all. */
function textStream(delta, done) {
    return ev('response.created', { response: resp('in_progress', [], null) }) +
        ev('response.output_item.added', { output_index: 0, item: msg(null, 'in_progress') }) +
        ev('response.content_part.added', { ...at0, part: part('') }) +
        (delta === null ? '' : ev('response.output_text.delta', { ...at0, delta })) +
        ev('response.output_text.done', { ...at0, text: done }) +
        ev('response.content_part.done', { ...at0, part: part(done) }) +
        ev('response.output_item.done', { output_index: 0, item: msg(done) }) +
        ev('response.completed', { response: resp('completed', [msg(done)], U) });
}

/* get_weather {"city":"Paris"} in its deltas; 'item' in
 * output_item.done and 'final' in response.completed. */
function toolStream(item, final) {
    const args = '{"city":"Paris"}';
    return ev('response.created', { response: resp('in_progress', [], null) }) +
        ev('response.output_item.added', { output_index: 0, item: fc('get_weather', '', 'in_progress') }) +
        ev('response.function_call_arguments.delta', { output_index: 0, item_id: 'fc_1', delta: args }) +
        ev('response.function_call_arguments.done', { output_index: 0, item_id: 'fc_1', arguments: args }) +
        ev('response.output_item.done', { output_index: 0, item }) +
        ev('response.completed', { response: resp('completed', [final], U) });
}

const EVIL = fc('delete_everything', '{"path":"/"}');
const PARIS = fc('get_weather', '{"city":"Paris"}');
function sse(res, text) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end(text);
}
const SCENARIOS = {
    rtext: (res) => sse(res, textStream('{"ok":true}', 'NOT JSON AT ALL')),
    ritem: (res) => sse(res, toolStream(EVIL, EVIL)),
    rfinal: (res) => sse(res, toolStream(PARIS, EVIL)),
    rwhole: (res) => sse(res, textStream(null, '{"ok":true}')),
    rgood: (res) => sse(res, textStream('{"ok":false}', '{"ok":false}')),
};
const BAD = ['rtext', 'ritem', 'rfinal'];

const provider = new ScenarioProvider(SCENARIOS);
const stack = new h.Stack({
    tag: 'responses-done',
    mock: false,
    servers: ['lighttpd'],
    config: () => {
        const deployments = {};
        const groups = {};
        for (const n of Object.keys(SCENARIOS))
            deployments[n] = { port: provider.port, type: 'openai-responses', model: 'gpt-x' };
        for (const n of BAD) {
            /* 'buffer': the stream is held until checked, so a failure
             * still moves to the next deployment; 'end' (the default):
             * the events flow as they come. */
            groups[`held-${n}`] = { deployments: [n, 'rgood'], strategy: 'priority',
                                   contract: { stream: 'buffer' } };
            groups[`flow-${n}`] = { deployments: [n, 'rgood'], strategy: 'priority' };
        }
        groups['g-rwhole'] = ['rwhole'];
        return h.gatewayConfig(1, { deployments, groups,
                                    server: { usage_log: path.join(stack.dir, 'usage.log') } });
    },
});

before(async () => {
    await provider.start();
    await stack.start();
}, { timeout: 60000 });

after(async () => {
    await stack.stop();
    await provider.stop();
}, { timeout: 30000 });

const SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'],
                 additionalProperties: false };
const JSON_FORMAT = { text: { format: { type: 'json_schema', name: 'x', strict: true, schema: SCHEMA } } };
const TOOLS = { tools: [{ type: 'function', name: 'get_weather', strict: true,
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'],
                  additionalProperties: false } }] };

function native(model, extra) {
    return provider.during(() => h.request(stack.base('lighttpd'), {
        method: 'POST', path: '/v1/responses', timeout: 15000,
        body: { model, stream: true, input: 'hi', ...extra },
    }));
}

/* The output of the caller's response.completed, or null. */
function finalOutput(r) {
    const done = r.events.find((e) => e.json && e.json.type === 'response.completed');
    return done ? done.json.response.output : null;
}

const EXTRA = { rtext: JSON_FORMAT, ritem: { ...TOOLS, ...JSON_FORMAT }, rfinal: { ...TOOLS, ...JSON_FORMAT } };

describe('Responses closing events that disagree with their deltas', () => {
    for (const n of BAD) {
        it(`${n}: never reach a native caller; a held stream gets the next deployment's answer`, async () => {
            const { r, made } = await native(`held-${n}`, EXTRA[n]);
            assert.equal(r.status, 200, r.body.slice(0, 400));
            assert.doesNotMatch(r.body, /NOT JSON|delete_everything/);
            assert.deepEqual(made, [n, 'rgood']);
            assert.deepEqual(finalOutput(r), [msg('{"ok":false}')], r.body.slice(-800));
        });

        it(`${n}: a flowing stream ends with an error event before the closing event`, async () => {
            const { r, made } = await native(`flow-${n}`, EXTRA[n]);
            assert.doesNotMatch(r.body, /NOT JSON|delete_everything/);
            assert.equal(made[0], n);
            const types = r.events.map((e) => e.json && e.json.type);
            /* Either the failure came before anything went out (the next
             * deployment answered), or an error event ends the stream. */
            if (made.length === 2) {
                assert.deepEqual(finalOutput(r), [msg('{"ok":false}')]);
            } else {
                assert.ok(types.includes('error'), types.join(','));
                assert.ok(!types.includes('response.completed'), types.join(','));
                assert.match(r.body, /disagrees with what its stream sent before/);
            }
        });
    }

    it('an item sent only whole, in its closing events, is the answer', async () => {
        const { r, made } = await native('g-rwhole', JSON_FORMAT);
        assert.equal(r.status, 200, r.body.slice(0, 400));
        assert.deepEqual(made, ['rwhole']);
        assert.deepEqual(finalOutput(r), [msg('{"ok":true}')], r.body.slice(-800));
    });

    it('a chat caller of the same deployments gets the next answer too', async () => {
        const { r, made } = await provider.during(() => h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'held-ritem', stream: true, messages: [{ role: 'user', content: 'hi' }],
                    response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema: SCHEMA } },
                    tools: [{ type: 'function', function: { name: 'get_weather', parameters: TOOLS.tools[0].parameters } }] },
        }));
        assert.equal(r.status, 200, r.body.slice(0, 400));
        assert.deepEqual(made, ['ritem', 'rgood']);
        assert.doesNotMatch(r.body, /delete_everything/);
        assert.match(r.body, /\{\\"ok\\":false\}/);
    });
});
