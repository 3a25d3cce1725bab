/*
 * messages_hostile.test.js - hostile requests to POST /v1/messages over
 * real HTTP, through lighttpd and Apache: content nested 4,000 levels
 * deep (400), 10,000 content blocks, a 50 MB body (413), max_tokens
 * 1e30, -1, "12" and 0 (400), tool schemas with patterns the gateway
 * cannot enforce (400) or full of pathological ones (answered quickly
 * either way, one provider call, never a hang), a native stream whose
 * tool call breaks the output contract (an error event, no message_stop
 * before it), an unknown block type (400 naming its path), a
 * tool_result for an unknown id to an OpenAI deployment (whatever the
 * provider says, never a gateway 5xx), a body sent at 1 byte/s (the gateway's body timeout
 * answers, behind Apache, which streams bodies) and a caller leaving
 * mid-stream. Every error is in Anthropic's shape
 * ({"type":"error","error":{"type","message"}}); after each case
 * /healthz answers and the worker processes are the same ones.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('./harness');

const KEY = 'sk-sy-messages-hostile-caller-01';
const BODY_TIMEOUT_MS = 3000;
const HEADERS = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };

const stack = new h.Stack({
    tag: 'msg-hostile',
    servers: h.SERVERS,
    env: { SY_IT_MH_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { an: { type: 'anthropic', model: 'claude-mock-1' }, oa: { model: 'gpt-mock-1' } },
            groups: { 'g-anthropic': ['an'], 'g-openai': ['oa'] },
            server: { body_timeout_ms: BODY_TIMEOUT_MS },
        });
        cfg.keys = { k: { key_env: 'SY_IT_MH_KEY' } };
        return cfg;
    },
});

let pids = [];
before(async () => {
    await stack.start();
    pids = stack.workers();
}, { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

/* The gateway still answers, with the same worker processes. */
afterEach(async () => {
    for (const server of stack.servers) {
        const hz = await h.request(stack.base(server), { path: '/healthz', timeout: 5000 });
        assert.equal(hz.status, 200, `${server} /healthz: ${hz.error || hz.body}`);
    }
    assert.deepEqual(stack.workers(), pids, `a worker process died\n${stack.logs()}`);
});

function post(server, body, { timeout = 20000, path = '/v1/messages', onEvent } = {}) {
    return h.request(stack.base(server), {
        method: 'POST', path, headers: HEADERS, body, timeout, onEvent,
    });
}

/* An Anthropic error body with 'status' (and an error type matching
 * 'type' when given). */
function assertAnthropicError(r, status, type) {
    const why = `${r.status} ${r.error || ''} ${r.body.slice(0, 400)}`;
    assert.equal(r.status, status, why);
    assert.ok(r.json, `not JSON: ${why}`);
    assert.equal(r.json.type, 'error', why);
    assert.equal(typeof r.json.error.type, 'string', why);
    assert.equal(typeof r.json.error.message, 'string', why);
    if (type) assert.equal(r.json.error.type, type, why);
    return r.json.error;
}

const user = (content) => ({ model: 'g-anthropic', max_tokens: 64, messages: [{ role: 'user', content }] });

for (const server of h.SERVERS) {
    describe(`hostile /v1/messages behind ${server}`, { skip: h.missing(server) || false }, () => {
        it('content nested 4,000 levels deep: 400, nothing sent', async () => {
            const deepArray = `{"model":"g-anthropic","max_tokens":64,"messages":[{"role":"user","content":` +
                `${'['.repeat(4000)}${']'.repeat(4000)}}]}`;
            let block = '{"type":"text","text":"x"}';
            for (let i = 0; i < 4000; i++) block = `{"type":"tool_result","tool_use_id":"t","content":[${block}]}`;
            const deepBlocks = '{"model":"g-anthropic","max_tokens":64,' +
                `"messages":[{"role":"user","content":[${block}]}]}`;
            for (const body of [deepArray, deepBlocks]) {
                const r = await post(server, body);
                const e = assertAnthropicError(r, 400, 'invalid_request_error');
                assert.match(e.message, /deep|nest|depth/i);
            }
            assert.equal(await stack.mock.count('an'), 0);
        });

        it('an unknown path under /v1/messages: 404 in Anthropic shape', async () => {
            /* lighttpd at "/" splits it into SCRIPT_NAME /v1 + PATH_INFO
             * /messages/batches; the gateway must still see its own path. */
            for (const path of ['/v1/messages/batches', '/v1/messages/count_tokens/x',
                '/v1/messages//count_tokens', '/v1/messages//']) {
                const r = await post(server, user('hi'), { path });
                const e = assertAnthropicError(r, 404, 'not_found_error');
                assert.match(e.message, /unknown path/, path);
            }
        });

        it('count_tokens refuses the tools /v1/messages refuses, alike', async () => {
            const tools = (n) => Array.from({ length: n }, (_, i) => ({
                name: `t${i}`, input_schema: { type: 'object' } }));
            for (const n of [129, 5000]) {
                const body = { ...user('hi'), tools: tools(n) };
                const msg = assertAnthropicError(await post(server, body), 400, 'invalid_request_error');
                const count = assertAnthropicError(await post(server, body,
                    { path: '/v1/messages/count_tokens' }), 400, 'invalid_request_error');
                assert.match(count.message, /at most 128 tools/);
                assert.deepEqual(count, msg);
            }
            const r = await post(server, { ...user('hi'), tools: tools(128) },
                { path: '/v1/messages/count_tokens' });
            assert.equal(r.status, 200, r.body.slice(0, 400));
            assert.equal(typeof r.json.input_tokens, 'number');
        });

        it('10,000 content blocks are served', async () => {
            const blocks = [];
            for (let i = 0; i < 10000; i++) blocks.push({ type: 'text', text: `w${i}` });
            for (const model of ['g-anthropic', 'g-openai']) {
                const r = await post(server, { ...user(blocks), model });
                assert.equal(r.status, 200, `${model}: ${r.body.slice(0, 400)}`);
                assert.equal(r.json.type, 'message');
                assert.ok(r.tEnd < 10000, `${model}: took ${r.tEnd} ms`);
            }
        });

        it('a 50 MB body: 413 in Anthropic shape', async () => {
            const body = JSON.stringify(user('x'.repeat(50 * 1000 * 1000)));
            const r = await post(server, body, { timeout: 60000 });
            assertAnthropicError(r, 413, 'request_too_large');
            assert.equal(await stack.mock.count('an'), 0);
        });

        it('max_tokens 1e30, -1, "12" and 0: 400 naming max_tokens', async () => {
            for (const raw of ['1e30', '-1', '"12"', '0', '1.5', '99999999999999999999999']) {
                const body = `{"model":"g-anthropic","max_tokens":${raw},` +
                    '"messages":[{"role":"user","content":"hi"}]}';
                const r = await post(server, body);
                const e = assertAnthropicError(r, 400, 'invalid_request_error');
                assert.match(e.message, /max_tokens/, `max_tokens ${raw}`);
            }
            assert.equal(await stack.mock.count('an'), 0);
        });

        it('a tool schema with patterns the gateway cannot enforce: 400, nothing sent', async () => {
            for (const pattern of ['(?<=a+)b', '\\p{L}{1,100000}']) {
                const r = await post(server, { ...user('call it'),
                    tools: [{ name: 'evil', input_schema: { type: 'object',
                        properties: { p: { type: 'string', pattern } } } }] }, { timeout: 8000 });
                const e = assertAnthropicError(r, 400, 'invalid_request_error');
                assert.match(e.message, /tools\.0\.input_schema/, pattern);
            }
            assert.equal(await stack.mock.count('an'), 0);
        });

        it('a tool schema full of pathological patterns: answered quickly, never a hang', async (t) => {
            const patterns = ['^(a+)+$', '(a|a)*b', '((a?){1000}){6}', '(a{0,1000}){0,19}b',
                '(.{0,1000}){0,19}\\x01', '^(\\w+\\s?)*$'];
            const properties = {};
            patterns.forEach((p, i) => { properties[`p${i}`] = { type: 'string', pattern: p }; });
            const tool = { name: 'evil', description: 'x',
                input_schema: { type: 'object', properties, required: ['p0'] } };
            /* The mock calls the tool with arguments that make '^(a+)+$'
             * backtrack for ever in a naive engine. */
            const args = JSON.stringify({ p0: `${'a'.repeat(40)}!`, p1: `${'a'.repeat(40)}`,
                p5: `${'a '.repeat(30)}!` });
            for (const [model, dep] of [['g-openai', 'oa'], ['g-anthropic', 'an']]) {
                await stack.mock.fault(dep, { tool_name: 'evil', tool_arguments: args });
                for (const stream of [false, true]) {
                    await stack.mock.resetStats();
                    const what = `${model} stream=${stream}`;
                    const r = await post(server, { ...user('call it'), model, tools: [tool], stream },
                        { timeout: 8000 });
                    assert.equal(r.error, null, `${what}: ${r.error}`);
                    assert.ok(r.tEnd < 5000, `${what}: took ${r.tEnd} ms`);
                    /* One provider call: a pattern's cost is no reason to
                     * try another deployment. */
                    assert.equal(await stack.mock.count(dep), 1, what);
                    if (stream) {
                        assert.equal(r.status, 200, `${what}: ${r.body.slice(0, 300)}`);
                        assert.ok(r.complete, `${what}: the stream did not end`);
                    } else {
                        assert.ok(r.status === 200 || r.status === 400, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
                        if (r.status === 400) assertAnthropicError(r, 400);
                    }
                    t.diagnostic(`${what}: ${r.status} in ${r.tEnd.toFixed(0)} ms`);
                }
            }
        });

        /*
         * A stream whose tool call breaks the output contract
         * (contract.stream "end") ends with the contract's error event
         * and no message_stop, on both paths: translated (the surface
         * never writes its closing events) and native (the provider's
         * message_delta and message_stop are held until the check
         * passes). A client that stops at message_stop must never take
         * a broken answer for a success.
         */
        it('a native stream that breaks the output contract ends with an error, not message_stop', async () => {
            const tool = { name: 'w', input_schema: { type: 'object',
                properties: { city: { type: 'string' } }, required: ['city'] } };
            for (const model of ['g-openai', 'g-anthropic']) {
                /* The mock calls 'w' with {}: "city" is missing. */
                const r = await post(server, { ...user('weather?'), model, tools: [tool], stream: true });
                assert.equal(r.status, 200, r.body.slice(0, 300));
                const names = r.body.split('\n').filter((l) => l.startsWith('event:'))
                    .map((l) => l.slice(6).trim());
                assert.equal(names[names.length - 1], 'error', `${model}: ${names.join(' ')}`);
                assert.ok(!names.includes('message_stop'),
                    `${model}: message_stop before the contract error: ${names.join(' ')}`);
            }
        });

        it('an unknown block type: 400 naming its path', async () => {
            const r = await post(server, user([{ type: 'text', text: 'hi' }, { type: 'hologram', data: 'x' }]));
            const e = assertAnthropicError(r, 400, 'invalid_request_error');
            assert.match(e.message, /messages\.0\.content\.1\.type/);
            assert.match(e.message, /hologram/);
            assert.equal(await stack.mock.count('an'), 0);
        });

        it('a tool_result for an unknown id to the OpenAI group: no gateway 5xx', async () => {
            const r = await post(server, {
                model: 'g-openai', max_tokens: 64,
                tools: [{ name: 't', input_schema: { type: 'object' } }],
                messages: [{ role: 'user', content: 'hi' },
                    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nowhere', content: 'x' }] }],
            });
            /* The provider's verdict passes through (200, or its 4xx);
             * a 502 may only relay a provider failure, in Anthropic shape. */
            assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500) || r.status === 502,
                `${r.status} ${r.body.slice(0, 300)}`);
            if (r.status !== 200) assertAnthropicError(r, r.status);
            else assert.equal(r.json.type, 'message');
        });

        it('a caller leaving mid-stream: the provider call ends, the next request is served', async () => {
            let events = 0;
            const r = await post(server, {
                ...user(`tell me [[mock ${JSON.stringify({ chunks: 40, chunk_delay_ms: 100 })}]]`),
                stream: true,
            }, {
                onEvent: (ev, req) => {
                    events++;
                    if (events === 4) req.destroy();
                },
            });
            assert.equal(r.status, 200);
            assert.equal(r.complete, false, 'the stream ran to its end');
            const next = await post(server, user('again'));
            assert.equal(next.status, 200, next.body.slice(0, 300));
            assert.equal(next.json.content[0].text, 'Hello from an.');
            /* The gateway left the provider too (the mock sees it gone). */
            await h.waitFor('the abandoned provider stream to end', async () => {
                const st = await stack.mock.stats();
                return st.an && st.an.in_flight === 0;
            }, 6000);
        });
    });
}

/*
 * A raw POST /v1/messages whose head promises 'length' bytes, followed by
 * '{' and then one byte every 'everyMs'. Resolves with {status, raw, t}
 * once the connection closes (or 'waitMs' passes after the head of an
 * answer arrived).
 */
function trickle(port, { length = 100000, everyMs = 1000, limitMs = 20000 } = {}) {
    return new Promise((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        const t0 = performance.now();
        let data = '';
        let timer = null;
        let headAt = null;
        const finish = () => {
            clearInterval(timer);
            clearTimeout(guard);
            sock.destroy();
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
            resolve({ status: m ? Number(m[1]) : 0, raw: data, t: headAt == null ? null : headAt - t0 });
        };
        const guard = setTimeout(finish, limitMs);
        sock.on('connect', () => {
            sock.write(['POST /v1/messages HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json',
                `Content-Length: ${length}`, `x-api-key: ${KEY}`, 'anthropic-version: 2023-06-01',
                'Connection: close', '', '{'].join('\r\n'));
            timer = setInterval(() => { if (!sock.destroyed) sock.write(' '); }, everyMs);
        });
        sock.on('data', (d) => {
            data += d.toString('latin1');
            if (headAt == null && /^HTTP\/1\.[01] \d{3}/.test(data)) headAt = performance.now();
            /* The whole error object is in. */
            if (/\{"type":"error".*\}\}/.test(data)) finish();
        });
        sock.on('close', finish);
        sock.on('error', finish);
    });
}

describe('a /v1/messages body at 1 byte/s behind Apache', { skip: h.missing('apache') || false }, () => {
    it('is cut by server.body_timeout_ms with an Anthropic error', { timeout: 30000 }, async (t) => {
        const r = await trickle(stack.web.apache.port);
        t.diagnostic(`${r.status} after ${r.t == null ? '-' : r.t.toFixed(0)} ms`);
        assert.equal(r.status, 408, r.raw.slice(0, 500));
        assert.ok(r.t >= BODY_TIMEOUT_MS - 300 && r.t < BODY_TIMEOUT_MS + 5000, `answered after ${r.t} ms`);
        const m = /\{"type":"error".*\}\}/.exec(r.raw);
        assert.ok(m, `no Anthropic error body: ${r.raw.slice(0, 500)}`);
        const body = JSON.parse(m[0]);
        assert.equal(typeof body.error.type, 'string');
        assert.match(body.error.message, /time|slow|body/i);
        assert.equal(await stack.mock.count('an'), 0);
    });
});
