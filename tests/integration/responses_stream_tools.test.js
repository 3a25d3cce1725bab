/*
 * responses_stream_tools.test.js - streamed tool calls on POST
 * /v1/responses from an OpenAI-compatible provider that interleaves the
 * argument pieces of parallel calls (index 0, 1, 0, 1 ...), through
 * lighttpd and switchyard. The provider is a scripted server
 * (scripted_provider.js; the mock streams its calls one after the other): every call
 * must reach the caller whole, in its own function_call (or
 * custom_tool_call) item with its own output_index, read as raw SSE
 * (replayed the way the OpenAI SDK accumulates events) and with the
 * official OpenAI SDK's responses.stream (when tests/client has it); a
 * provider that streams its calls one after the other gets the events it
 * always got.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');
const { ScriptedProvider, overflowScript, assertOverflowEnded } = require('./scripted_provider');

const CLIENT_MODULES = path.join(h.ROOT, 'tests', 'client', 'node_modules');
let openaiPkg = null;
try {
    openaiPkg = require(path.join(CLIENT_MODULES, 'openai'));
} catch (e) {
    openaiPkg = null;
}
const NO_SDK = openaiPkg ? false : 'openai SDK missing: run npm ci in tests/client';

/* Tool call pieces: [index, {id, name}?, arguments]. */
const SCRIPTS = {
    /* Ids and names first, then the arguments alternating. */
    two: [
        [0, { id: 'call_a', name: 'get_weather' }, ''],
        [1, { id: 'call_b', name: 'get_time' }, ''],
        [0, null, '{"city":'],
        [1, null, '{"zone":'],
        [0, null, '"Oslo"}'],
        [1, null, '"Europe/'],
        [1, null, 'Oslo"}'],
    ],
    /* The third (a custom tool) whole before the second. */
    three: [
        [0, { id: 'c0', name: 'get_weather' }, '{"city":'],
        [1, { id: 'c1', name: 'get_time' }, '{"zone":'],
        [2, { id: 'c2', name: 'apply_patch' }, '{"input":"*** Begin"}'],
        [1, null, '"UTC"'],
        [0, null, '"Oslo"}'],
        [1, null, '}'],
    ],
    /* Arguments that never make a whole object until the end. */
    never: [
        [0, { id: 'n0', name: 'get_weather' }, '{"city":"Os'],
        [1, { id: 'n1', name: 'get_time' }, '{"zone":"U'],
        [0, null, 'lo"}'],
        [1, null, 'TC"}'],
    ],
    /* OpenAI's way: one call after the other. */
    sequential: [
        [0, { id: 'call_a', name: 'get_weather' }, ''],
        [0, null, '{"city":'],
        [0, null, '"Oslo"}'],
        [1, { id: 'call_b', name: 'get_time' }, ''],
        [1, null, '{"zone":'],
        [1, null, '"UTC"}'],
    ],
};

const WANT = {
    two: [['call_a', 'get_weather', { city: 'Oslo' }],
          ['call_b', 'get_time', { zone: 'Europe/Oslo' }]],
    three: [['c0', 'get_weather', { city: 'Oslo' }],
            ['c1', 'get_time', { zone: 'UTC' }],
            ['c2', 'apply_patch', '*** Begin']],
    never: [['n0', 'get_weather', { city: 'Oslo' }],
            ['n1', 'get_time', { zone: 'UTC' }]],
    sequential: [['call_a', 'get_weather', { city: 'Oslo' }],
                 ['call_b', 'get_time', { zone: 'UTC' }]],
};

/* More interleaved calls than either surface holds (4,096), held open
 * long after: see the last test. */
const OVERFLOW_CALLS = 4098;
const HOLD_MS = 15000;
const provider = new ScriptedProvider({ ...SCRIPTS, overflow: overflowScript(OVERFLOW_CALLS, HOLD_MS) });

const TOOLS = [
    { type: 'function', name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    { type: 'function', name: 'get_time',
      parameters: { type: 'object', properties: { zone: { type: 'string' } } } },
    { type: 'custom', name: 'apply_patch', description: 'Edit files.' },
];

let providerPort = 0;
const stack = new h.Stack({
    tag: 'resp-stream-tools',
    mock: false, /* the provider is the scripted server above */
    servers: ['lighttpd'],
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            /* idle_ms past HOLD_MS / 2: only a gateway that cuts the
             * overflowing transfer itself answers in time */
            fk: { port: providerPort, model: 'fake-1', capabilities: { tools: true, streaming: true },
                  timeouts: { idle_ms: 10000 } },
        },
        groups: { 'g-fake': ['fk'] },
        server: { usage_log: path.join(stack.dir, 'usage.log') },
    }),
});

before(async () => {
    await provider.start();
    providerPort = provider.port;
    await stack.start();
}, { timeout: 60000 });
after(async () => {
    await stack.stop();
    await provider.stop();
}, { timeout: 30000 });

function body(name) {
    return { model: 'g-fake', stream: true, tools: TOOLS, input: name };
}

/* The calls of raw events, replayed as the OpenAI SDK accumulates them:
 * an added item goes at output_index == the output's length; every
 * other event names an item in progress by output_index and item_id;
 * deltas join per item and .done repeats them; response.completed lists
 * the same items in output_index order, each done. Returns the calls
 * [call_id, name, arguments parsed | input] and the most items ever in
 * progress at once. */
function replay(events) {
    const items = [];
    const done = [];
    let final = null;
    let most = 0;
    for (const e of events) {
        const d = e.json;
        if (!d || !d.type) continue;
        if (d.type === 'response.completed') { final = d.response; continue; }
        if (d.output_index === undefined) continue;
        const k = d.output_index;
        if (d.type === 'response.output_item.added') {
            assert.equal(k, items.length, 'an item added out of order');
            items.push(JSON.parse(JSON.stringify(d.item)));
            done.push(false);
            most = Math.max(most, done.filter((x) => !x).length);
            continue;
        }
        assert.ok(k < items.length && !done[k], `${d.type} for item ${k} not in progress`);
        if (d.type === 'response.output_item.done') {
            assert.equal(d.item.id, items[k].id);
            if (items[k].type === 'function_call') {
                assert.equal(d.item.arguments, items[k].arguments);
            }
            items[k] = d.item;
            done[k] = true;
            continue;
        }
        assert.equal(d.item_id, items[k].id);
        if (d.type === 'response.function_call_arguments.delta') items[k].arguments += d.delta;
        if (d.type === 'response.function_call_arguments.done') {
            assert.equal(d.arguments, items[k].arguments);
        }
    }
    assert.ok(final, 'no response.completed');
    assert.ok(done.every((x) => x), 'an item never done');
    assert.deepEqual(final.output, items);
    const calls = items.filter((i) => i.type !== 'message').map((i) =>
        [i.call_id, i.name, i.type === 'custom_tool_call' ? i.input : JSON.parse(i.arguments)]);
    return { calls, most };
}

describe('streamed tool calls on /v1/responses', () => {
    for (const name of Object.keys(SCRIPTS)) {
        it(`${name}: every call whole, raw SSE`, async () => {
            const r = await h.request(stack.base('lighttpd'), {
                method: 'POST', path: '/v1/responses',
                headers: { authorization: 'Bearer anything' },
                body: body(name), timeout: 20000,
            });
            assert.equal(r.status, 200, r.body);
            assert.ok(r.complete);
            const types = r.events.map((e) => e.json && e.json.type);
            assert.ok(!types.includes('error'), r.body);
            assert.equal(types[types.length - 1], 'response.completed');
            const { calls, most } = replay(r.events);
            assert.deepEqual(calls, WANT[name]);
            if (name === 'sequential') {
                /* One item at a time, each piece one delta, as it came. */
                assert.equal(most, 1);
                const words = r.events.filter((e) => e.json && e.json.output_index !== undefined)
                    .map((e) => `${e.json.type.slice(9)}:${e.json.output_index}`);
                assert.deepEqual(words, [
                    'output_item.added:0', 'function_call_arguments.delta:0',
                    'function_call_arguments.delta:0', 'function_call_arguments.done:0',
                    'output_item.done:0', 'output_item.added:1',
                    'function_call_arguments.delta:1', 'function_call_arguments.delta:1',
                    'function_call_arguments.done:1', 'output_item.done:1']);
            } else {
                assert.ok(most >= 2, `${most} items in progress at most`);
            }
        });

        it(`${name}: every call whole, OpenAI SDK responses.stream`, { skip: NO_SDK }, async () => {
            const client = new openaiPkg.OpenAI({
                baseURL: `${stack.base('lighttpd')}/v1`, apiKey: 'anything',
                maxRetries: 0, timeout: 15000,
            });
            const stream = client.responses.stream(body(name));
            const deltas = {};
            stream.on('response.function_call_arguments.delta', (e) => {
                deltas[e.item_id] = (deltas[e.item_id] || '') + e.delta;
            });
            const final = await stream.finalResponse();
            assert.equal(final.status, 'completed');
            const got = final.output.filter((i) => i.type !== 'message').map((i) =>
                [i.call_id, i.name,
                 i.type === 'custom_tool_call' ? i.input : JSON.parse(i.arguments)]);
            assert.deepEqual(got, WANT[name]);
            for (const i of final.output) {
                if (i.type === 'function_call') assert.equal(deltas[i.id], i.arguments);
            }
        });
    }

    /* A provider that interleaves more calls than the gateway holds:
     * the surface ends the stream with its own error event, and the
     * pipeline takes that as the attempt's failure: no second error
     * event, the provider's transfer cut at once (not read on for
     * {HOLD_MS} ms), and a 502 in the usage log, not a 200. */
    it('more interleaved calls than held: one error event, the transfer cut, a failure logged', async () => {
        const t0 = Date.now();
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/responses', headers: { authorization: 'Bearer anything' },
            body: body('overflow'), timeout: 20000,
        });
        await assertOverflowEnded(provider, r, {
            tookMs: Date.now() - t0, holdMs: HOLD_MS, logFile: path.join(stack.dir, 'usage.log'),
            why: /more tool calls/, message: (e) => e.message, last: 'response.failed',
        });
    });
});
