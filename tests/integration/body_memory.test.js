/*
 * body_memory.test.js - a request's memory follows its JSON values, so a
 * body of more than SY_REQUEST_MAX_JSON_VALUES (100,000) values is
 * refused by the strict parse before json-c builds a tree: the report's
 * 4 MiB body of 155,000 one-letter text parts (a worker peaked at 328 MB
 * for one, 4.5 GB for 16 at once) and its Responses, count_tokens and
 * embeddings twins get a 413 in each surface's own error shape, one at a
 * time and 16 at once, and the worker's peak resident memory (VmHWM in
 * /proc/<pid>/status) stays small; a long agent session under the bound
 * is served. One worker process with the documented defaults (16
 * threads, max_body_bytes 4 MiB), a static key, behind lighttpd.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');

const KEY = 'sk-body-memory-caller-0123456789';
const HEADERS = { authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' };
const MAX_VALUES = 100000;

const stack = new h.Stack({
    tag: 'bodymem',
    servers: ['lighttpd'],
    env: { SY_IT_BODYMEM_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { oa: { model: 'gpt-mock-1' }, an: { type: 'anthropic', model: 'claude-mock-1' } },
            groups: { 'g-oa': ['oa'], 'g-an': ['an'] },
            server: { processes: 1, threads: 16, max_body_bytes: 4194304, max_json_depth: 64 },
        });
        cfg.keys = { k: { key_env: 'SY_IT_BODYMEM_KEY' } };
        return cfg;
    },
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

/* Peak and current resident memory of a process in KiB. */
function memKiB(pid) {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { hwm: Number(/VmHWM:\s+(\d+) kB/.exec(s)[1]), rss: Number(/VmRSS:\s+(\d+) kB/.exec(s)[1]) };
}

const PARTS = Array(155000).fill({ type: 'text', text: 'a' });
const ATTACKS = [
    { name: 'chat', path: '/v1/chat/completions', anthropic: false,
      body: { model: 'g-oa', max_tokens: 5, messages: [{ role: 'user', content: PARTS }] } },
    { name: 'messages', path: '/v1/messages', anthropic: true,
      body: { model: 'g-an', max_tokens: 5, messages: [{ role: 'user', content: PARTS }] } },
    { name: 'count_tokens', path: '/v1/messages/count_tokens', anthropic: true,
      body: { model: 'g-an', messages: [{ role: 'user', content: PARTS }] } },
    { name: 'responses', path: '/v1/responses', anthropic: false,
      body: { model: 'g-oa', max_output_tokens: 5,
              input: Array(139000).fill({ role: 'user', content: 'a' }) } },
    { name: 'embeddings', path: '/v1/embeddings', anthropic: false,
      body: { model: 'g-oa', input: Array(600000).fill('a') } },
].map((a) => ({ ...a, text: JSON.stringify(a.body) }));

function send(a) {
    return h.request(stack.base('lighttpd'), {
        method: 'POST', path: a.path, body: a.text, headers: HEADERS, timeout: 60000,
    });
}

/* The 413 in the surface's own shape, naming the bound. */
function assertRefused(a, r) {
    assert.equal(r.status, 413, `${a.name}: ${r.body.slice(0, 300)}`);
    if (a.anthropic) {
        assert.equal(r.json.type, 'error', a.name);
        assert.equal(r.json.error.type, 'request_too_large', a.name);
    } else {
        assert.equal(r.json.error.type, 'invalid_request_error', a.name);
        assert.ok('param' in r.json.error && 'code' in r.json.error, a.name);
    }
    assert.match(r.json.error.message, new RegExp(`more than ${MAX_VALUES} `), a.name);
}

describe('a body of too many JSON values', () => {
    it('is a 413 on every surface, and one worker stays under 64 MiB', { timeout: 120000 }, async () => {
        const [pid] = stack.workers();
        for (const a of ATTACKS) {
            assert.ok(a.text.length > 2000000 && a.text.length <= 4194304, `${a.name}: ${a.text.length}`);
            assertRefused(a, await send(a));
        }
        const m = memKiB(pid);
        process.stderr.write(`body_memory: one at a time, worker peak ${m.hwm} KiB\n`);
        /* Was 328 MB for the chat body alone. */
        assert.ok(m.hwm < 64 * 1024, `worker peaked at ${m.hwm} KiB`);
        const st = await stack.mock.stats();
        assert.equal(Object.values(st).reduce((n, d) => n + ((d && d.requests) || 0), 0), 0,
            'a refused body reached a provider');
    });

    it('16 at once (one per thread): a 413 each, peak under 256 MiB', { timeout: 120000 }, async () => {
        const [pid] = stack.workers();
        const a = ATTACKS[1];
        const rs = await Promise.all(Array.from({ length: 16 }, () => send(a)));
        for (const r of rs) assertRefused(a, r);
        const m = memKiB(pid);
        process.stderr.write(`body_memory: 16 at once, worker peak ${m.hwm} KiB\n`);
        /* Was 4,537 MB: now the 16 bodies and their read buffers. */
        assert.ok(m.hwm < 256 * 1024, `worker peaked at ${m.hwm} KiB`);
        assert.deepEqual(stack.workers(), [pid], 'the worker process died');
    });

    it('a long agent session under the bound is served', { timeout: 120000 }, async () => {
        /* 2,000 tool round trips: 4,001 messages, 6,000 content blocks
         * (about 49,000 values), and 64 tools. */
        const messages = [{ role: 'user', content: 'go' }];
        for (let i = 0; i < 2000; i++) {
            messages.push({ role: 'assistant', content: [{ type: 'text', text: `step ${i}` },
                { type: 'tool_use', id: `toolu_${i}`, name: 'Bash', input: { command: 'ls', description: 'list' } }] });
            messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`,
                content: [{ type: 'text', text: 'ok' }] }] });
        }
        const tools = Array.from({ length: 64 }, (_, t) => ({ name: `tool${t}`, description: 'd',
            input_schema: { type: 'object', properties: { p: { type: 'string', description: 'x' } } } }));
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/messages', headers: HEADERS, timeout: 60000,
            body: { model: 'g-an', max_tokens: 5, messages, tools },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
    });
});
