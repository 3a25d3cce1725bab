/*
 * messages_stream_tools.test.js - streamed tool calls on POST
 * /v1/messages from an OpenAI-compatible provider that interleaves the
 * argument pieces of parallel calls (index 0, 1, 0, 1 ...), through
 * lighttpd and switchyard. The provider is a scripted server
 * (scripted_provider.js; the mock streams its calls one after the other): every call
 * must reach the caller whole, in its own tool_use block, read as raw
 * SSE and with the official Anthropic SDK (when tests/client has it);
 * a provider that streams its calls one after the other keeps every
 * piece as its own input_json_delta.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');
const { ScriptedProvider, overflowScript, assertOverflowEnded } = require('./scripted_provider');

const CLIENT_MODULES = path.join(h.ROOT, 'tests', 'client', 'node_modules');
let anthropicPkg = null;
try {
    anthropicPkg = require(path.join(CLIENT_MODULES, '@anthropic-ai/sdk'));
} catch (e) {
    anthropicPkg = null;
}
const NO_SDK = anthropicPkg ? false : '@anthropic-ai/sdk missing: run npm ci in tests/client';

const HEADERS = { 'x-api-key': 'anything', 'anthropic-version': '2023-06-01' };

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
    /* The third whole before the second. */
    three: [
        [0, { id: 'c0', name: 'get_weather' }, '{"city":'],
        [1, { id: 'c1', name: 'get_time' }, '{"zone":'],
        [2, { id: 'c2', name: 'get_weather' }, '{"city":"Bergen"}'],
        [1, null, '"UTC"'],
        [0, null, '"Oslo"}'],
        [1, null, '}'],
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
            ['c2', 'get_weather', { city: 'Bergen' }]],
    sequential: [['call_a', 'get_weather', { city: 'Oslo' }],
                 ['call_b', 'get_time', { zone: 'UTC' }]],
};

/* More interleaved calls than either surface holds (4,096), held open
 * long after: see the last test. */
const OVERFLOW_CALLS = 4098;
const HOLD_MS = 15000;
const provider = new ScriptedProvider({ ...SCRIPTS, overflow: overflowScript(OVERFLOW_CALLS, HOLD_MS) });

const TOOLS = [
    { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
    { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } },
];

let providerPort = 0;
const stack = new h.Stack({
    tag: 'msg-stream-tools',
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
    return {
        model: 'g-fake', max_tokens: 256, stream: true, tools: TOOLS,
        messages: [{ role: 'user', content: name }],
    };
}

/* The tool_use blocks of raw events as an SDK accumulates them:
 * [id, name, input]; blocks must open and close one at a time. */
function toolUses(events) {
    const out = [];
    let open = null;
    let next = 0;
    for (const e of events) {
        const d = e.json;
        if (!d) continue;
        if (d.type === 'content_block_start') {
            assert.equal(open, null, 'a block opened before the last closed');
            assert.equal(d.index, next++);
            open = { block: d.content_block, json: '' };
        } else if (d.type === 'content_block_delta') {
            assert.equal(d.index, next - 1);
            if (d.delta.type === 'input_json_delta') open.json += d.delta.partial_json;
        } else if (d.type === 'content_block_stop') {
            assert.equal(d.index, next - 1);
            if (open.block.type === 'tool_use') {
                out.push([open.block.id, open.block.name,
                          open.json === '' ? {} : JSON.parse(open.json)]);
            }
            open = null;
        }
    }
    assert.equal(open, null);
    return out;
}

describe('streamed tool calls on /v1/messages', () => {
    for (const name of Object.keys(SCRIPTS)) {
        it(`${name}: every call whole, raw SSE`, async () => {
            const r = await h.request(stack.base('lighttpd'), {
                method: 'POST', path: '/v1/messages', headers: HEADERS,
                body: body(name), timeout: 20000,
            });
            assert.equal(r.status, 200, r.body);
            assert.ok(r.complete);
            const types = r.events.map((e) => e.json && e.json.type);
            assert.ok(!types.includes('error'), r.body);
            assert.equal(types[types.length - 1], 'message_stop');
            assert.deepEqual(toolUses(r.events), WANT[name]);
            const md = r.events.find((e) => e.json && e.json.type === 'message_delta');
            assert.equal(md.json.delta.stop_reason, 'tool_use');
            if (name === 'sequential') {
                /* Each piece with arguments is one delta, as it came. */
                const deltas = r.events.filter((e) => e.json &&
                    e.json.type === 'content_block_delta').map((e) => e.json.delta.partial_json);
                assert.deepEqual(deltas, ['{"city":', '"Oslo"}', '{"zone":', '"UTC"}']);
            }
        });

        it(`${name}: every call whole, Anthropic SDK`, { skip: NO_SDK }, async () => {
            const client = new anthropicPkg.Anthropic({
                baseURL: stack.base('lighttpd'), apiKey: 'anything', maxRetries: 0, timeout: 15000,
            });
            const stream = client.messages.stream(body(name));
            const msg = await stream.finalMessage();
            assert.equal(msg.stop_reason, 'tool_use');
            const got = msg.content.filter((b) => b.type === 'tool_use')
                .map((b) => [b.id, b.name, b.input]);
            assert.deepEqual(got, WANT[name]);
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
            method: 'POST', path: '/v1/messages', headers: HEADERS,
            body: body('overflow'), timeout: 20000,
        });
        await assertOverflowEnded(provider, r, {
            tookMs: Date.now() - t0, holdMs: HOLD_MS, logFile: path.join(stack.dir, 'usage.log'),
            why: /out of range/, message: (e) => e.error.message,
        });
    });
});
