/*
 * key_echo.test.js - a provider that quotes the gateway's API key in its
 * error text (OpenAI's "Incorrect API key provided: sk-...", a proxy
 * echoing a header) must not get the key to the caller, the logs or
 * /metrics. The core hides every run of 8 or more of the key's bytes in
 * each failure an adapter reports (core/api/failure.c,
 * core/base/secret_redact.c). Before, every status but 401, 402, 403,
 * 408, 429 and 504 passed the provider's text on: the whole key reached
 * the caller's error body on every surface, streaming or not, and 45
 * warning lines of switchyard.log.
 *
 * And an `invalid_api_key` error event inside a 200 Responses stream is
 * the key refused (the next deployment answers), not the caller's 400;
 * a count_tokens answer is the count alone, not the provider's body.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const { ScenarioProvider } = require('./scenario_provider');

const KEY = 'sk-proj-Q7wEchoTest0123456789abcdefSECRETzz';
const SECRET_PARTS = [KEY.slice(8), KEY.slice(8, 16), KEY.slice(20, 28)];
const MSG = `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`;
/* A partial quote: the key's first 20 characters, then a mask. */
const PART = `Incorrect API key provided: ${KEY.slice(0, 20)}*****${KEY.slice(-4)}.`;
const ERR = (message) => ({ error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });

function json(res, status, obj) {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
}
function sse(res, text) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.end(text);
}
function chunk(delta) {
    return `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o',
                                      choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
}
function rev(type, o) {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: 0, ...o })}\n\n`;
}
const RESP_U = { input_tokens: 10, output_tokens: 2, total_tokens: 12 };
const RESP_OK = rev('response.created', { response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }) +
    rev('response.output_text.delta', { output_index: 0, item_id: 'msg_1', content_index: 0, delta: 'FROM-RGOOD' }) +
    rev('response.completed', { response: { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-x',
        output: [{ id: 'msg_1', type: 'message', status: 'completed', role: 'assistant',
                   content: [{ type: 'output_text', text: 'FROM-RGOOD', annotations: [] }] }], usage: RESP_U } });

const SCENARIOS = {
    k400: (res) => json(res, 400, ERR(MSG)),
    k422: (res) => json(res, 422, ERR(MSG)),
    k404: (res) => json(res, 404, ERR(MSG)),
    k500: (res) => json(res, 500, ERR(MSG)),
    k409: (res) => json(res, 409, ERR(PART)),
    k200: (res) => json(res, 200, ERR(MSG)),
    kdetail: (res) => json(res, 422, { detail: MSG }),
    kevent: (res) => sse(res, `data: ${JSON.stringify(ERR(MSG))}\n\n`),
    kmid: (res) => sse(res, chunk({ role: 'assistant', content: '' }) + chunk({ content: 'partial ' }) +
                            `event: error\ndata: ${JSON.stringify(ERR(PART))}\n\n`),
    rkey: (res) => sse(res, rev('error', { code: 'invalid_api_key', message: MSG })),
    rgood: (res) => sse(res, RESP_OK),
    /* count_tokens: a 2xx body that carries more than the count */
    c200: (res) => json(res, 200, { input_tokens: 5, note: `invalid x-api-key ${KEY}`,
                                    context_management: { original_input_tokens: 7, note: KEY } }),
};
const OPENAI = ['k400', 'k422', 'k404', 'k500', 'k409', 'k200', 'kdetail', 'kevent', 'kmid'];

const provider = new ScenarioProvider(SCENARIOS);
const stack = new h.Stack({
    tag: 'key-echo',
    mock: false,
    servers: ['lighttpd'],
    env: { ECHO_TEST_KEY: KEY },
    config: () => {
        const port = provider.port;
        const deployments = {};
        const groups = {};
        for (const n of OPENAI) {
            deployments[n] = { port, model: 'm-o', api_key_env: ['ECHO_TEST_KEY'] };
            groups[`g-${n}`] = [n];
        }
        for (const n of ['rkey', 'rgood'])
            deployments[n] = { port, type: 'openai-responses', model: 'gpt-x', api_key_env: ['ECHO_TEST_KEY'] };
        groups['g-rkey'] = { deployments: ['rkey', 'rgood'], strategy: 'priority' };
        deployments.c200 = { port, type: 'anthropic', model: 'claude-x', api_key_env: ['ECHO_TEST_KEY'] };
        groups['g-c200'] = ['c200'];
        return h.gatewayConfig(1, {
            deployments, groups,
            server: { usage_log: path.join(stack.dir, 'usage.log'), log_level: 'debug' },
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

function leaked(text) {
    return SECRET_PARTS.filter((p) => text.includes(p));
}

const SURFACES = {
    chat: (model, stream) => ({ path: '/v1/chat/completions',
        body: { model, stream, messages: [{ role: 'user', content: 'hi' }] } }),
    messages: (model, stream) => ({ path: '/v1/messages',
        headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'x' },
        body: { model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] } }),
    responses: (model, stream) => ({ path: '/v1/responses', body: { model, stream, input: 'hi', store: false } }),
};

describe('a provider that quotes the gateway key', () => {
    it('never gets it to the caller, on any surface, streamed or not', async () => {
        const found = [];
        for (const n of OPENAI) {
            for (const [surface, make] of Object.entries(SURFACES)) {
                for (const stream of [false, true]) {
                    const r = await h.request(stack.base('lighttpd'), {
                        method: 'POST', timeout: 15000, ...make(`g-${n}`, stream),
                    });
                    assert.ok(r.status >= 400 || r.body.includes('error'),
                              `${n} ${surface}: the failure passed as success: ${r.body.slice(0, 200)}`);
                    if (leaked(r.body + JSON.stringify(r.headers)).length)
                        found.push(`${n}/${surface}/stream=${stream}: ${r.body.slice(0, 200)}`);
                }
            }
        }
        assert.deepEqual(found, []);
    });

    it('never gets it to the log or /metrics', async () => {
        await h.sleep(300);
        const log = fs.readFileSync(path.join(stack.dir, 'switchyard.log'), 'utf8');
        assert.match(log, /deployment k500 failed/, 'the failures were logged');
        assert.deepEqual(leaked(log), [], 'the key is in switchyard.log');
        const usage = fs.readFileSync(path.join(stack.dir, 'usage.log'), 'utf8');
        assert.deepEqual(leaked(usage), []);
        const m = await h.request(stack.base('lighttpd'), { path: '/metrics' });
        assert.equal(m.status, 200);
        assert.deepEqual(leaked(m.body), []);
    });

    it('answers count_tokens with the count alone', async () => {
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/messages/count_tokens', timeout: 15000,
            headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'x' },
            body: { model: 'g-c200', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body);
        const j = JSON.parse(r.body);
        assert.deepEqual(Object.keys(j), ['input_tokens', 'context_management']);
        assert.equal(j.input_tokens, 5);
        assert.equal(j.context_management.original_input_tokens, 7);
        assert.deepEqual(leaked(r.body), []);
    });

    it('takes an invalid_api_key error event of a Responses stream as the key refused', async () => {
        const from = provider.requests.length;
        const r = await h.request(stack.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions', timeout: 15000,
            body: { model: 'g-rkey', messages: [{ role: 'user', content: 'hi' }] },
        });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        assert.equal(JSON.parse(r.body).choices[0].message.content, 'FROM-RGOOD');
        assert.deepEqual(provider.requests.slice(from), ['rkey', 'rgood']);
    });
});
