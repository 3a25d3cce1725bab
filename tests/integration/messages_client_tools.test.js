/*
 * messages_client_tools.test.js - Anthropic-defined client tools
 * (text_editor_20250728, bash_20250124, ...) and search_result blocks on
 * POST /v1/messages, through lighttpd, switchyard and the mock provider.
 * They exist only in Anthropic's API, so such a request is native-only:
 * an Anthropic deployment gets the tool objects exactly as the caller
 * sent them (plain and streamed), a group of OpenAI deployments answers
 * 400 in Anthropic's error shape naming the tool and the deployment type
 * it needs (and sends nothing), and a mixed group sends it to its
 * Anthropic deployment only, even when an OpenAI one ranks first. Billed
 * server tools (web_search_*) stay refused.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const HEADERS = { 'x-api-key': 'anything', 'anthropic-version': '2023-06-01' };

const stack = new h.Stack({
    tag: 'msg-client-tools',
    servers: ['lighttpd'],
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            an: { type: 'anthropic', model: 'claude-mock-1' },
            oa: { model: 'gpt-mock-1', capabilities: { tools: true, streaming: true } },
            ob: { model: 'gpt-mock-2', capabilities: { tools: true, streaming: true } },
        },
        groups: {
            'g-ant': ['an'],
            'g-oai': ['oa', 'ob'],
            /* OpenAI ranked first: a plain request goes there. */
            'g-mix': { deployments: ['oa', 'an'], strategy: 'priority' },
        },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(async () => {
    await stack.mock.reset();
    await stack.mock.ctl('DELETE', '/_mock/requests');
});

/* The tool as Anthropic's SDK types it (ToolTextEditor20250728), with
 * the optional members a translation would lose. */
const EDITOR = {
    type: 'text_editor_20250728',
    name: 'str_replace_based_edit_tool',
    max_characters: 10000,
    cache_control: { type: 'ephemeral' },
};
const BASH = { type: 'bash_20250124', name: 'bash' };
const CUSTOM = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

function body(model, extra = {}) {
    return {
        model, max_tokens: 64,
        messages: [{ role: 'user', content: 'Fix the typo in README.md' }],
        tools: [CUSTOM, EDITOR, BASH],
        ...extra,
    };
}

function post(server, b) {
    return h.request(stack.base(server), {
        method: 'POST', path: '/v1/messages', headers: HEADERS, body: b, timeout: 20000,
    });
}

/* An Anthropic error body with 'status' and error type 'type'. */
function assertAnthropicError(r, status, type) {
    const why = `${r.status} ${r.error || ''} ${r.body.slice(0, 600)}`;
    assert.equal(r.status, status, why);
    assert.ok(r.json, `not JSON: ${why}`);
    assert.deepEqual(Object.keys(r.json).sort(), ['error', 'type'], why);
    assert.equal(r.json.type, 'error', why);
    assert.equal(r.json.error.type, type, why);
    assert.equal(typeof r.json.error.message, 'string', why);
    return r.json.error;
}

for (const server of stack.servers) {
    describe(`Anthropic client tools behind ${server}`, () => {
        it('reach an Anthropic deployment unchanged, plain and streamed', async () => {
            const r = await post(server, body('g-ant'));
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.type, 'message', r.body);
            assert.equal(r.headers['x-switchyard-deployment'], 'an');
            const s = await post(server, body('g-ant', { stream: true }));
            assert.equal(s.status, 200, s.body);
            assert.match(s.headers['content-type'] || '', /^text\/event-stream/);
            assert.ok(s.events.some((e) => e.json && e.json.type === 'message_stop'), s.body);
            const reqs = await stack.mock.requests('an');
            assert.equal(reqs.length, 2);
            for (const q of reqs) {
                assert.equal(q.path, '/an/v1/messages');
                assert.equal(q.body.model, 'claude-mock-1');
                assert.deepEqual(q.body.tools, [CUSTOM, EDITOR, BASH]);
            }
        });

        it('a group with only OpenAI deployments: 400 naming the tool, nothing sent', async () => {
            const r = await post(server, body('g-oai', { tools: [EDITOR] }));
            const e = assertAnthropicError(r, 400, 'invalid_request_error');
            assert.match(e.message, /text_editor_20250728/);
            assert.match(e.message, /needs a deployment of type 'anthropic'/);
            assert.match(e.message, /\boa \(/);
            assert.match(e.message, /\bob \(/);
            assert.equal(await stack.mock.count('oa'), 0);
            assert.equal(await stack.mock.count('ob'), 0);
        });

        it('a search_result block is native-only too', async () => {
            const sr = {
                type: 'search_result', source: 'https://docs.test/a', title: 'A',
                content: [{ type: 'text', text: 'The answer is 42.' }], citations: { enabled: true },
            };
            const messages = [{ role: 'user', content: [sr, { type: 'text', text: 'What is it?' }] }];
            const bad = await post(server, { model: 'g-oai', max_tokens: 64, messages });
            const e = assertAnthropicError(bad, 400, 'invalid_request_error');
            assert.match(e.message, /search_result/);
            const ok = await post(server, { model: 'g-ant', max_tokens: 64, messages });
            assert.equal(ok.status, 200, ok.body);
            const [q] = await stack.mock.requests('an');
            assert.deepEqual(q.body.messages, messages);
        });

        it('a mixed group uses its Anthropic deployment only', async () => {
            /* Without a client tool the OpenAI deployment, first, serves. */
            const plain = await post(server, body('g-mix', { tools: [CUSTOM] }));
            assert.equal(plain.status, 200, plain.body);
            assert.equal(plain.headers['x-switchyard-deployment'], 'oa');
            await stack.mock.resetStats();
            for (const stream of [false, true, false, true]) {
                const r = await post(server, body('g-mix', { stream }));
                assert.equal(r.status, 200, r.body);
                assert.equal(r.headers['x-switchyard-deployment'], 'an');
                assert.equal(r.headers['x-switchyard-attempts'], '1');
            }
            assert.equal(await stack.mock.count('oa'), 0);
            assert.equal(await stack.mock.count('an'), 4);
            const reqs = await stack.mock.requests('an');
            for (const q of reqs) assert.deepEqual(q.body.tools, [CUSTOM, EDITOR, BASH]);
        });

        it('billed server tools stay refused', async () => {
            const r = await post(server, body('g-ant', {
                tools: [EDITOR, { type: 'web_search_20250305', name: 'web_search' }],
            }));
            const e = assertAnthropicError(r, 400, 'invalid_request_error');
            assert.match(e.message, /^tools\.1\.type: .*web_search_20250305/);
            assert.equal(await stack.mock.count('an'), 0);
        });
    });
}
