/*
 * contract_cut.test.js - an answer cut by the token limit inside a tool
 * call reaches the caller as the provider cut it, with its finish reason,
 * once: the output contract does not hold the cut call's arguments
 * against the tool's parameters (core/api/chat_contract.c, finish_cut).
 * Before, the cut arguments were a contract violation: a non-streaming
 * caller's request went on to the next deployment (billed for the same
 * cut answer) and a streaming caller, such as Claude Code writing a
 * large file in one tool call, got an error event instead of
 * stop_reason max_tokens. A call the provider says it finished is still
 * checked (the control: the next deployment answers).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');
const { ScenarioProvider } = require('./scenario_provider');

function ev(name, data) {
    return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/* Anthropic: a tool_use block whose input stops mid-string, then the
 * stop reason 'stop' ("max_tokens" or "tool_use"). */
function anthropicCut(stop) {
    return ev('message_start', { type: 'message_start', message: {
        id: 'msg_cut', type: 'message', role: 'assistant', model: 'claude-x', content: [],
        stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }) +
        ev('content_block_start', { type: 'content_block_start', index: 0,
                                    content_block: { type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} } }) +
        ev('content_block_delta', { type: 'content_block_delta', index: 0,
                                    delta: { type: 'input_json_delta', partial_json: '{"path":"a.txt","content":"lorem ip' } }) +
        ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
        ev('message_delta', { type: 'message_delta', delta: { stop_reason: stop },
                              usage: { output_tokens: 64 } }) +
        ev('message_stop', { type: 'message_stop' });
}

/* OpenAI type, not streamed by the deployment: the same cut call. */
function openaiCut(finish, args = '{"path":"a.txt","content":"lorem ip') {
    return JSON.stringify({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm-o',
        choices: [{ index: 0, finish_reason: finish, message: { role: 'assistant', content: null,
            tool_calls: [{ id: 'call_1', type: 'function',
                           function: { name: 'Write', arguments: args } }] } }],
        usage: { prompt_tokens: 12, completion_tokens: 64, total_tokens: 76 },
    });
}

const GOOD = JSON.stringify({
    id: 'c2', object: 'chat.completion', created: 1, model: 'm-o',
    choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null,
        tool_calls: [{ id: 'call_2', type: 'function',
                       function: { name: 'Write', arguments: '{"path":"a.txt","content":"ok"}' } }] } }],
    usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
});

const SCENARIOS = {
    antcut: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(anthropicCut('max_tokens'));
    },
    antdone: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(anthropicCut('tool_use'));
    },
    oacut: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(openaiCut('length'));
    },
    oadone: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(openaiCut('tool_calls'));
    },
    /* a whole call that breaks the schema, said to be cut */
    oawhole: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(openaiCut('length', '{"path":1,"evil":true}'));
    },
    good: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(GOOD);
    },
};

const provider = new ScenarioProvider(SCENARIOS);

const NOSTREAM = { streaming: false };
const stack = new h.Stack({
    tag: 'contract-cut',
    mock: false,
    servers: ['lighttpd'],
    config: () => {
        const port = provider.port;
        return h.gatewayConfig(1, {
            deployments: {
                antcut: { port, type: 'anthropic', model: 'claude-x' },
                antdone: { port, type: 'anthropic', model: 'claude-x' },
                oacut: { port, model: 'm-o', capabilities: NOSTREAM },
                oadone: { port, model: 'm-o', capabilities: NOSTREAM },
                oawhole: { port, model: 'm-o', capabilities: NOSTREAM },
                good: { port, model: 'm-o', capabilities: NOSTREAM },
            },
            groups: {
                'g-antcut': { deployments: ['antcut', 'good'], strategy: 'priority' },
                'g-antdone': { deployments: ['antdone', 'good'], strategy: 'priority' },
                'g-oacut': { deployments: ['oacut', 'good'], strategy: 'priority' },
                'g-oadone': { deployments: ['oadone', 'good'], strategy: 'priority' },
                'g-oawhole': { deployments: ['oawhole', 'good'], strategy: 'priority' },
            },
            server: { usage_log: path.join(stack.dir, 'usage.log') },
        });
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

const WRITE = {
    name: 'Write', description: 'write a file',
    schema: { type: 'object', required: ['path', 'content'], additionalProperties: false,
              properties: { path: { type: 'string' }, content: { type: 'string' } } },
};

function messages(model) {
    return h.request(stack.base('lighttpd'), {
        method: 'POST', path: '/v1/messages', timeout: 15000,
        headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'anything' },
        body: { model, max_tokens: 64, stream: true,
                tools: [{ name: WRITE.name, description: WRITE.description, input_schema: WRITE.schema }],
                messages: [{ role: 'user', content: 'write a long file' }] },
    });
}

function chat(model) {
    return h.request(stack.base('lighttpd'), {
        method: 'POST', path: '/v1/chat/completions', timeout: 15000,
        body: { model, max_tokens: 64,
                tools: [{ type: 'function', function: { name: WRITE.name, description: WRITE.description,
                                                        parameters: WRITE.schema } }],
                messages: [{ role: 'user', content: 'write a long file' }] },
    });
}

const calls = (fn) => provider.during(fn);

describe('an answer cut inside a tool call', () => {
    it('reaches a streaming Messages caller with stop_reason max_tokens, from one attempt', async () => {
        const { r, made } = await calls(() => messages('g-antcut'));
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const types = r.events.filter((e) => e.json).map((e) => e.json.type);
        assert.ok(!types.includes('error'), `an error event instead of the cut answer: ${r.body.slice(0, 600)}`);
        const delta = r.events.find((e) => e.json && e.json.type === 'message_delta');
        assert.ok(delta, `no message_delta: ${types.join(',')}`);
        assert.equal(delta.json.delta.stop_reason, 'max_tokens');
        assert.ok(r.body.includes('lorem ip'), 'the cut arguments reach the caller as sent');
        assert.deepEqual(made, ['antcut'], 'no second deployment billed for the same cut answer');
    });

    it('is answered to a chat caller with finish_reason length, from one attempt', async () => {
        const { r, made } = await calls(() => chat('g-oacut'));
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const j = JSON.parse(r.body);
        assert.equal(j.choices[0].finish_reason, 'length');
        assert.equal(j.choices[0].message.tool_calls[0].function.arguments,
                     '{"path":"a.txt","content":"lorem ip');
        assert.deepEqual(made, ['oacut']);
        const lines = h.readUsageLog(path.join(stack.dir, 'usage.log'));
        assert.ok(lines.some((l) => l.deployment === 'oacut' && l.completion_tokens === 64),
                  'the cut answer is billed');
    });

    it('still breaks the contract when the provider says the call was finished', async () => {
        const { r, made } = await calls(() => chat('g-oadone'));
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.equal(JSON.parse(r.body).choices[0].message.tool_calls[0].function.arguments,
                     '{"path":"a.txt","content":"ok"}');
        assert.deepEqual(made, ['oadone', 'good']);
        /* Said to be cut, but whole: checked, and the next answers. */
        const w = await calls(() => chat('g-oawhole'));
        assert.equal(w.r.status, 200, w.r.body.slice(0, 300));
        assert.deepEqual(w.made, ['oawhole', 'good']);
        /* Streamed, the call's start has reached the caller: the stream
         * ends with an error event, never stop_reason tool_use. */
        const m = await calls(() => messages('g-antdone'));
        const types = m.r.events.filter((e) => e.json).map((e) => e.json.type);
        assert.ok(m.r.status !== 200 || types.includes('error'),
                  `the unfinished call passed as finished: ${m.r.body.slice(0, 600)}`);
        assert.ok(!m.r.events.some((e) => e.json && e.json.type === 'message_delta' &&
                                          e.json.delta.stop_reason === 'tool_use'));
    });
});
