/*
 * provider_protocol.test.js - an Anthropic or Gemini upstream that
 * breaks its protocol must not pass as success. The provider is a small
 * server below; the first path segment of each request (the
 * deployment's name) picks its scenario.
 *
 *  1. native Messages stream: events after message_stop never reach the
 *     caller (the adapter ignores them, core/api/sse.c relays only what
 *     the adapter took before the end of the stream);
 *  2. native Messages stream: a second message_start is a protocol
 *     failure, never relayed (the Anthropic SDK throws "Unexpected event
 *     order"): the next deployment answers;
 *  3. native Messages stream: a content_block_delta before any
 *     content_block_start is a protocol failure, never relayed;
 *  4. message_start then only pings until total_ms is a time-out (the
 *     role-only chunk is no answer): the next deployment answers;
 *  5. a completion count past the deployment's max_output_tokens is
 *     bounded by it when the provider was sent a max_tokens; sent none,
 *     an honest count past it (the model's own limit) is billed whole;
 *  6. chat caller: text after message_delta's stop_reason is a protocol
 *     failure (no content after the finish chunk);
 *  7. a streamed usage whose count is a string is not billed from its
 *     numbers only: the attempt is charged an estimate;
 *  8. an OpenAI-type stream whose first chunk holds the role and the
 *     first text (Ollama, llama.cpp), then only keep-alives until
 *     total_ms, is an answer cut by total_ms (504
 *     upstream_total_timeout, no failover), not a provider that never
 *     answered.
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

const START = ev('message_start', {
    type: 'message_start',
    message: { id: 'msg_pp', type: 'message', role: 'assistant', model: 'claude-x', content: [],
               stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } },
});
const TEXT_START = ev('content_block_start', { type: 'content_block_start', index: 0,
                                               content_block: { type: 'text', text: '' } });
function textDelta(t, index = 0) {
    return ev('content_block_delta', { type: 'content_block_delta', index,
                                       delta: { type: 'text_delta', text: t } });
}
const TEXT_STOP = ev('content_block_stop', { type: 'content_block_stop', index: 0 });
const MSG_DELTA = ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' },
                                        usage: { output_tokens: 5 } });
const MSG_STOP = ev('message_stop', { type: 'message_stop' });

function oc(choices, extra = {}) {
    return `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o', choices, ...extra })}\n\n`;
}

/* An OpenAI-type stream that opens and stalls: 'openings' first (kept
 * alive with comments until the gateway gives up). */
function stallAfter(res, openings) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(openings);
    const t = setInterval(() => { if (!res.destroyed) res.write(': keep-alive\n\n'); }, 200);
    res.on('close', () => clearInterval(t));
}

const lastBody = {};

const SCENARIOS = {
    /* a well-formed answer: the backup deployment */
    good: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + TEXT_START + textDelta('{"ok":true}') + TEXT_STOP + MSG_DELTA + MSG_STOP);
    },
    /* text after message_stop */
    trailing: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + TEXT_START + textDelta('{"ok":true}') + TEXT_STOP + MSG_DELTA + MSG_STOP +
                ev('content_block_start', { type: 'content_block_start', index: 1,
                                            content_block: { type: 'text', text: '' } }) +
                textDelta(' INJECTED-AFTER-STOP', 1));
    },
    /* two message_start events */
    twostarts: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + START + TEXT_START + textDelta('hello') + TEXT_STOP + MSG_DELTA + MSG_STOP);
    },
    /* a delta before any block was started */
    deltafirst: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + textDelta('hello') + textDelta(' there') + MSG_DELTA + MSG_STOP);
    },
    /* message_start, then pings until the gateway gives up */
    pingforever: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(START + TEXT_START);
        const t = setInterval(() => { if (!res.destroyed) res.write(ev('ping', { type: 'ping' })); }, 200);
        res.on('close', () => clearInterval(t));
    },
    /* text after message_delta's stop_reason */
    textafter: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + TEXT_START + textDelta('{"ok":true}') + MSG_DELTA + textDelta(' LATE') +
                TEXT_STOP + MSG_STOP);
    },
    /* an output count that is a string: only the input count is a number */
    strusage: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + TEXT_START + textDelta('x'.repeat(4000)) + TEXT_STOP +
                ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' },
                                      usage: { output_tokens: '5000' } }) + MSG_STOP);
    },
    /* OpenAI type: role and first text in one chunk, then keep-alives */
    textstall: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1,
                                             model: 'm-o', choices: [{ index: 0,
                                             delta: { role: 'assistant', content: 'Hello' },
                                             finish_reason: null }] })}\n\n`);
        const t = setInterval(() => { if (!res.destroyed) res.write(': keep-alive\n\n'); }, 200);
        res.on('close', () => clearInterval(t));
    },
    /* Gemini: an honest long answer, no max_tokens sent (the model's
     * own limit, past the configured one) */
    gemlong: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({
            candidates: [{ content: { role: 'model', parts: [{ text: 'x'.repeat(12000) }] }, finishReason: 'STOP', index: 0 }],
            usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3000, totalTokenCount: 3005 },
            modelVersion: 'gemini-x', responseId: 'r2',
        }));
    },
    /* Azure-like: an empty prompt_filter_results chunk, the role, then
     * nothing */
    azstall: (res) => stallAfter(res, oc([], { prompt_filter_results: [] }) +
        oc([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])),
    /* a tool_use input that is no JSON, message_stop with no stop reason */
    badtool: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end(START + ev('content_block_start', { type: 'content_block_start', index: 0,
                                                    content_block: { type: 'tool_use', id: 'tu_1', name: 'f', input: {} } }) +
                ev('content_block_delta', { type: 'content_block_delta', index: 0,
                                            delta: { type: 'input_json_delta', partial_json: '{"a": tru' } }) +
                ev('content_block_stop', { type: 'content_block_stop', index: 0 }) + MSG_STOP);
    },
    /* Anthropic, sent its default max_tokens (no caller one): a huge
     * output count */
    anthuge: (res, body) => {
        lastBody.anthuge = body;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x',
            content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn',
            usage: { input_tokens: 5, output_tokens: 90000 } }));
    },
    /* Gemini: a tiny answer billed as a huge completion */
    gemhuge: (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({
            candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP', index: 0 }],
            usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1e9, totalTokenCount: 1e9 },
            modelVersion: 'gemini-x', responseId: 'r1',
        }));
    },
};

/* The provider: the body of each request goes to its scenario. */
const provider = new ScenarioProvider(SCENARIOS);

const PRICE = { input_per_mtok: 1, output_per_mtok: 10 };
const stack = new h.Stack({
    tag: 'provider-protocol',
    mock: false,
    servers: ['lighttpd'],
    config: () => {
        const port = provider.port;
        const cfg = h.gatewayConfig(1, {
            deployments: {
                good: { port, type: 'anthropic', model: 'claude-x' },
                trailing: { port, type: 'anthropic', model: 'claude-x' },
                twostarts: { port, type: 'anthropic', model: 'claude-x' },
                deltafirst: { port, type: 'anthropic', model: 'claude-x' },
                pingforever: { port, type: 'anthropic', model: 'claude-x',
                               timeouts: { idle_ms: 1000, total_ms: 2500 } },
                textafter: { port, type: 'anthropic', model: 'claude-x' },
                textstall: { port, model: 'm-o', timeouts: { idle_ms: 1000, total_ms: 2500 } },
                strusage: { port, type: 'anthropic', model: 'claude-x' },
                gemhuge: { port, type: 'gemini', model: 'gemini-x',
                           capabilities: { context_window: 100000, max_output_tokens: 1000, streaming: false } },
                azstall: { port, model: 'm-o', timeouts: { idle_ms: 1000, total_ms: 2500 } },
                badtool: { port, type: 'anthropic', model: 'claude-x' },
                anthuge: { port, type: 'anthropic', model: 'claude-x',
                           capabilities: { context_window: 100000, max_output_tokens: 1000, streaming: false } },
                gemlong: { port, type: 'gemini', model: 'gemini-x',
                           capabilities: { context_window: 100000, max_output_tokens: 1000, streaming: false } },
            },
            groups: {
                'g-trailing': ['trailing'],
                'g-twostarts': ['twostarts', 'good'],
                'g-deltafirst': ['deltafirst', 'good'],
                'g-ping': ['pingforever', 'good'],
                'g-textstall': ['textstall', 'good'],
                'g-gem': ['gemhuge'],
                'g-gemlong': ['gemlong'],
                'g-az': ['azstall', 'good'],
                'g-azh': { deployments: ['azstall', 'good'], strategy: 'priority', hedge: { after_ms: 300, max_share: 0.5 } },
                'g-badtool': ['badtool', 'good'],
                'g-anthuge': ['anthuge'],
                'g-textafter': ['textafter'],
                'g-strusage': ['strusage'],
            },
            server: { usage_log: path.join(stack.dir, 'usage.log') },
        });
        cfg.deployments.gemhuge.price = { ...PRICE };
        cfg.deployments.gemlong.price = { ...PRICE };
        cfg.deployments.anthuge.price = { ...PRICE };
        cfg.deployments.strusage.price = { ...PRICE };
        return cfg;
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

const HEADERS = { 'anthropic-version': '2023-06-01', 'x-api-key': 'anything' };

function messages(model, extra = {}) {
    return h.request(stack.base('lighttpd'), {
        method: 'POST', path: '/v1/messages', headers: HEADERS, timeout: 15000,
        body: { model, max_tokens: 64, stream: true,
                messages: [{ role: 'user', content: 'hi' }], ...extra },
    });
}

async function usageLine(file, id) {
    for (let i = 0; i < 50; i++) {
        const l = h.readUsageLog(file).filter((x) => x.request_id === id);
        if (l.length) return l;
        await h.sleep(100);
    }
    return [];
}

describe('an upstream that breaks its protocol', () => {
    it('events after message_stop never reach a native Messages caller', async () => {
        const r = await messages('g-trailing', {
            output_config: { format: { type: 'json_schema', schema: {
                type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'],
                additionalProperties: false } } },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const types = r.events.filter((e) => e.json).map((e) => e.json.type);
        assert.ok(!r.body.includes('INJECTED-AFTER-STOP'),
                  `text sent after message_stop reached the caller: ${types.join(',')}`);
    });

    it('a second message_start is not relayed to a native Messages caller', async () => {
        const r = await messages('g-twostarts');
        const starts = r.events.filter((e) => e.json && e.json.type === 'message_start').length;
        assert.equal(starts, 1, `the caller got ${starts} message_start events: ${r.body.slice(0, 400)}`);
    });

    it('a content_block_delta before any content_block_start is not relayed', async () => {
        const r = await messages('g-deltafirst');
        let open = false;
        for (const e of r.events) {
            if (!e.json) continue;
            if (e.json.type === 'content_block_start') open = true;
            if (e.json.type === 'content_block_delta') {
                assert.ok(open, `delta before any block start relayed: ${r.body.slice(0, 400)}`);
            }
        }
    });

    it('message_start then only pings until total_ms is a timeout that fails over', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-ping', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, `no answer came, yet no failover: ${r.status} ${r.body.slice(0, 300)}`);
        assert.equal(r.json.choices[0].message.content, '{"ok":true}');
    });

    it('one chunk of text then nothing until total_ms is an answer cut by total_ms, not failed over', async () => {
        const n = provider.requests.length;
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-textstall', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.deepEqual(provider.requests.slice(n), ['textstall'],
                         `failed over as if nothing had come: ${r.status} ${r.body.slice(0, 300)}`);
        assert.ok(r.body.includes('upstream_total_timeout'), `${r.status} ${r.body.slice(0, 400)}`);
    });

    it('a completion count past max_output_tokens is not billed', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions',
            body: { model: 'g-gem', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const lines = await usageLine(path.join(stack.dir, 'usage.log'), r.headers['x-request-id']);
        assert.equal(lines.length, 1);
        const ct = lines[0].completion_tokens;
        assert.ok(ct <= 1000, `billed ${ct} completion tokens (cost ${r.headers['x-switchyard-cost-usd']} USD) ` +
                              'for a max_tokens 16 request on a deployment whose output limit is 1000');
    });

    it('without max_tokens sent, an honest completion past max_output_tokens is billed whole', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions',
            body: { model: 'g-gemlong', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const lines = await usageLine(path.join(stack.dir, 'usage.log'), r.headers['x-request-id']);
        assert.equal(lines.length, 1);
        /* the provider was given no limit: it answers up to the model's
         * own, which the configured 1000 understates */
        assert.equal(lines[0].completion_tokens, 3000, JSON.stringify(lines[0]));
    });

    it('an empty chunk and the role, then a stall: held, so the next deployment answers', { timeout: 20000 }, async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-az', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.ok(r.body.includes('{\\"ok\\":true}') && !r.body.includes('upstream_timeout'),
                  `the openings reached the caller, no failover: ${r.body.slice(-400)}`);
    });

    it('an empty chunk and the role, then a stall: hedged', { timeout: 20000 }, async () => {
        const t0 = Date.now();
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-azh', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.match(r.headers['x-switchyard-route'], /hedge=won:good/);
        assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    });

    it('a broken tool input with no stop reason is a protocol failure', async () => {
        /* not streamed: the next deployment answers */
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-badtool', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.equal(r.json.choices[0].message.content, '{"ok":true}', r.body.slice(0, 600));
        /* streamed, the call already on its way to the caller: the stream
         * ends with an error, not a finish */
        const s = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-badtool', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        });
        const finished = s.events.some((e) => e.json && Array.isArray(e.json.choices) &&
                                             e.json.choices.some((c) => c.finish_reason));
        assert.ok(!finished && s.body.includes('"error"'), s.body.slice(-600));
    });

    it("an adapter's default max_tokens stays within the output limit, which bounds the bill", async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions',
            body: { model: 'g-anthuge', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        /* Anthropic needs a max_tokens: its default (4096) past the
         * deployment's max_output_tokens (1000, what was reserved) is
         * not sent */
        assert.equal(JSON.parse(lastBody.anthuge).max_tokens, 1000);
        const lines = await usageLine(path.join(stack.dir, 'usage.log'), r.headers['x-request-id']);
        assert.equal(lines.length, 1);
        assert.equal(lines[0].completion_tokens, 1000, JSON.stringify(lines[0]));
    });

    it('a chat caller gets no content after the finish chunk', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-textafter', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        });
        let finished = false;
        for (const e of r.events) {
            if (!e.json || !Array.isArray(e.json.choices) || !e.json.choices.length) continue;
            const c = e.json.choices[0];
            assert.ok(!(finished && c.delta && c.delta.content),
                      `content after the finish chunk: ${r.body.slice(0, 600)}`);
            if (c.finish_reason) finished = true;
        }
        assert.ok(!r.body.includes('LATE'), r.body.slice(0, 600));
    });

    it('a streamed usage with a count that is no number is estimated, not billed in part', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-strusage', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        const lines = await usageLine(path.join(stack.dir, 'usage.log'), r.headers['x-request-id']);
        assert.equal(lines.length, 1);
        assert.equal(lines[0].estimated, 1, JSON.stringify(lines[0]));
        /* 4,000 characters were streamed: more than the 1 output token
         * of message_start, the only number the provider sent for it */
        assert.ok(lines[0].completion_tokens > 100, JSON.stringify(lines[0]));
    });
});
