/*
 * mixed.test.js - groups that mix an OpenAI, an Anthropic and a Gemini
 * mock deployment (the mock speaks all three dialects). The first
 * deployment failing (500, reset) moves the request to the next provider
 * and the answer is valid OpenAI, plain and streamed; error classes map
 * across providers (Anthropic 529 -> next, Anthropic 400 -> returned
 * with its message, Gemini 429 RESOURCE_EXHAUSTED with RetryInfo ->
 * next, all rate limited -> 429 with Retry-After); an Anthropic or Gemini
 * error event after the first content ends the caller's stream with one
 * error event and no [DONE]; each provider got its own auth header (and
 * Anthropic its anthropic-version), never the caller's Authorization.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const KEYS = {
    SY_IT_OAI_KEY: 'sk-oai-gateway-key',
    SY_IT_ANT_KEY: 'sk-ant-gateway-key',
    SY_IT_GEM_KEY: 'gem-gateway-key',
};
const CLIENT_AUTH = 'Bearer sk-caller-secret-0123';

const stack = new h.Stack({
    tag: 'mixed',
    servers: h.SERVERS,
    env: KEYS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: {
            oa: { api_key_env: ['SY_IT_OAI_KEY'] },
            an: { type: 'anthropic', model: 'claude-mock', api_key_env: ['SY_IT_ANT_KEY'] },
            ge: { type: 'gemini', model: 'gemini-mock', api_key_env: ['SY_IT_GEM_KEY'] },
            /* Anthropic provider keys: the version and beta headers. */
            anv: {
                type: 'anthropic', model: 'claude-mock', api_key_env: ['SY_IT_ANT_KEY'],
                provider: { api_version: '2099-12-31', beta: 'mock-beta-2099' },
            },
        },
        groups: {
            'mix-oag': ['oa', 'an', 'ge'],
            'mix-ago': ['an', 'ge', 'oa'],
            'mix-goa': ['ge', 'oa', 'an'],
            'm-anv': ['anv'],
        },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(async () => {
    await stack.mock.reset();
    await stack.mock.ctl('DELETE', '/_mock/requests');
});

/* The model each deployment reports (OpenAI: the mock echoes the request's). */
const MODEL = { oa: 'mock-model', an: 'claude-mock', ge: 'gemini-mock', anv: 'claude-mock' };

/* A complete, valid chat.completion from deployment 'dep'. */
function assertCompletion(r, dep) {
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    const c = r.json;
    assert.ok(c, r.body);
    assert.equal(c.object, 'chat.completion');
    assert.equal(typeof c.id, 'string');
    assert.ok(c.id.length > 0);
    assert.ok(Number.isInteger(c.created) && c.created > 1600000000, `created ${c.created}`);
    assert.equal(c.model, MODEL[dep]);
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].message.content, `Hello from ${dep}.`);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.ok(Number.isInteger(c.usage.prompt_tokens) && c.usage.prompt_tokens > 0);
    assert.equal(c.usage.completion_tokens, 3);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    assert.equal(r.headers['x-switchyard-deployment'], dep);
}

/* A complete, valid chunk stream from deployment 'dep', [DONE] last. */
function assertStream(r, dep, { usage = false } = {}) {
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'] || '', /^text\/event-stream/);
    assert.ok(r.complete, r.error);
    assert.equal(r.headers['x-switchyard-deployment'], dep);
    const ev = r.events;
    assert.ok(ev.length >= 4, r.body);
    assert.equal(ev[ev.length - 1].data, '[DONE]');
    const chunks = ev.slice(0, -1);
    for (const e of chunks) {
        assert.ok(e.json, `not JSON: ${e.data}`);
        assert.equal(e.json.error, undefined, `error event: ${e.data}`);
        assert.equal(e.json.object, 'chat.completion.chunk', e.data);
        assert.equal(e.json.model, MODEL[dep]);
        assert.ok(Number.isInteger(e.json.created));
    }
    assert.equal(new Set(chunks.map((e) => e.json.id)).size, 1, 'chunk ids differ');
    assert.equal(chunks[0].json.choices[0].delta.role, 'assistant');
    const finishes = chunks.filter((e) => e.json.choices[0] && e.json.choices[0].finish_reason);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0].json.choices[0].finish_reason, 'stop');
    assert.equal(h.contentOf(r), `Hello from ${dep}.`);
    const usageChunks = chunks.filter((e) => e.json.usage);
    if (usage) {
        assert.equal(usageChunks.length, 1);
        assert.equal(usageChunks[0], chunks[chunks.length - 1], 'usage is not the last chunk');
        assert.deepEqual(usageChunks[0].json.choices, []);
        assert.equal(usageChunks[0].json.usage.completion_tokens, 3);
    } else {
        assert.equal(usageChunks.length, 0, 'usage chunk without include_usage');
    }
}

/* An OpenAI error object with 'status'. */
function assertError(r, status) {
    assert.equal(r.status, status, r.body);
    assert.match(r.headers['content-type'] || '', /^application\/json/);
    assert.ok(r.json && r.json.error, `not an OpenAI error object: ${r.body}`);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(typeof r.json.error.type, 'string');
    assert.ok('param' in r.json.error && 'code' in r.json.error, r.body);
    return r.json.error;
}

/* A Gemini 429 with RetryInfo in the body and no Retry-After header. */
function geminiQuota(seconds) {
    return {
        status: 429,
        error_body: JSON.stringify({
            error: {
                code: 429,
                message: 'Resource has been exhausted (e.g. check quota).',
                status: 'RESOURCE_EXHAUSTED',
                details: [
                    {
                        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
                        violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
                                       quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }],
                    },
                    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` },
                ],
            },
        }),
    };
}

for (const server of h.SERVERS) {
    describe(`mixed providers behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);
        const post = (opts) => h.chat(base(), { ...opts, headers: { Authorization: CLIENT_AUTH, ...(opts.headers || {}) } });

        it('answers from each provider type in OpenAI format', async () => {
            for (const [model, dep] of [['mix-oag', 'oa'], ['mix-ago', 'an'], ['mix-goa', 'ge']]) {
                assertCompletion(await post({ model }), dep);
                assertStream(await post({ model, stream: true, includeUsage: true }), dep, { usage: true });
                assertStream(await post({ model, stream: true }), dep);
            }
        });

        /* group, failing first deployment, the next one */
        const ROTATIONS = [['mix-oag', 'oa', 'an'], ['mix-ago', 'an', 'ge'], ['mix-goa', 'ge', 'oa']];
        for (const [model, first, next] of ROTATIONS) {
            for (const [what, fault] of [['500', { status: 500 }], ['a reset', { reset: true }]]) {
                it(`moves from ${first} to ${next} after ${what}`, async () => {
                    await stack.mock.fault(first, fault);
                    const r = await post({ model });
                    assertCompletion(r, next);
                    assert.equal(r.headers['x-switchyard-attempts'], '2');
                    const rs = await post({ model, stream: true, includeUsage: true });
                    assertStream(rs, next, { usage: true });
                    assert.equal(rs.headers['x-switchyard-attempts'], '2');
                    const st = await stack.mock.stats();
                    assert.equal(st[next].requests, 2);
                    const third = ROTATIONS.find((x) => x[1] === next)[2];
                    assert.equal(st[third] ? st[third].requests : 0, 0, 'a third deployment was tried');
                });
            }
        }

        it('moves on after Anthropic 529 overloaded', async () => {
            await stack.mock.fault('an', { status: 529 });
            const r = await post({ model: 'mix-ago' });
            assertCompletion(r, 'ge');
            assert.equal(r.headers['x-switchyard-attempts'], '2');
            assertStream(await post({ model: 'mix-ago', stream: true }), 'ge');
            const st = await stack.mock.stats();
            assert.equal(st.an.by_status['529'], 2);
        });

        it('returns Anthropic 400 invalid_request_error with its message', async () => {
            await stack.mock.fault('an', {
                status: 400,
                error_body: JSON.stringify({
                    type: 'error',
                    error: { type: 'invalid_request_error', message: 'messages.0.content: field required (mock)' },
                }),
            });
            for (const stream of [false, true]) {
                const r = await post({ model: 'mix-ago', stream });
                const err = assertError(r, 400);
                assert.equal(err.message, 'messages.0.content: field required (mock)');
                assert.equal(err.type, 'invalid_request_error');
                assert.equal(r.headers['x-switchyard-attempts'], '1');
            }
            /* The mock's own 400 body: "mock fault 400". */
            await stack.mock.fault('an', { status: 400 });
            const r = await post({ model: 'mix-ago' });
            assert.match(assertError(r, 400).message, /mock fault 400/);
            const st = await stack.mock.stats();
            assert.equal(st.ge ? st.ge.requests : 0, 0, 'a caller error was retried elsewhere');
            assert.equal(st.oa ? st.oa.requests : 0, 0, 'a caller error was retried elsewhere');
        });

        /* A 429 parks the provider's key by its Retry-After (the only
         * key too): until then requests routed there move on without a
         * call. Each test ends after its parks have, so that the next one
         * finds every deployment callable. */
        const PARK_END_MS = 3100;

        it('moves on after Gemini 429 RESOURCE_EXHAUSTED with RetryInfo', async () => {
            await stack.mock.fault('ge', geminiQuota(1));
            const r = await post({ model: 'mix-goa' });
            assertCompletion(r, 'oa');
            assert.equal(r.headers['x-switchyard-attempts'], '2');
            assertStream(await post({ model: 'mix-goa', stream: true }), 'oa');
            /* And the mock's own 429 (RetryInfo plus Retry-After), once
             * the park above has ended: ge is called, and parked again. */
            await h.sleep(1100);
            const before = (await stack.mock.stats()).ge.by_status['429'];
            await stack.mock.fault('ge', { status: 429, retry_after: 1 });
            const r2 = await post({ model: 'mix-goa' });
            assertCompletion(r2, 'oa');
            assert.equal(r2.headers['x-switchyard-attempts'], '2');
            assert.equal((await stack.mock.stats()).ge.by_status['429'], before + 1);
            await h.sleep(1100);
        });

        it('answers 429 with Retry-After when every provider is rate limited', async () => {
            /* OpenAI: Retry-After 3; Anthropic: Retry-After 2; Gemini:
             * RetryInfo 1s only in the body. The shortest wait wins. */
            await stack.mock.fault('oa', { status: 429, retry_after: 3 });
            await stack.mock.fault('an', { status: 429, retry_after: 2 });
            await stack.mock.fault('ge', geminiQuota(1));
            const r = await post({ model: 'mix-oag' });
            const err = assertError(r, 429);
            assert.equal(r.headers['retry-after'], '1', `Retry-After ${r.headers['retry-after']}`);
            for (const dep of ['oa', 'an', 'ge']) assert.match(err.message, new RegExp(dep));
            assert.equal(r.headers['x-switchyard-attempts'], '3');
            /* Now every key is parked in the process that answered: a
             * request there calls no provider and gets the same 429, with
             * the shortest wait left (a process that has parked nothing
             * yet calls all three, and parks them). */
            let parked = null;
            for (let i = 0; i < 20 && !parked; i++) {
                const before = await stack.mock.stats();
                const calls = (st) => ['oa', 'an', 'ge'].reduce((n, d) => n + (st[d] ? st[d].requests : 0), 0);
                const rs = await post({ model: 'mix-oag', stream: i % 2 === 1 });
                const e = assertError(rs, 429);
                assert.equal(rs.headers['retry-after'], '1', `Retry-After ${rs.headers['retry-after']}`);
                if (rs.headers['x-switchyard-attempts'] === '0') {
                    assert.equal(calls(await stack.mock.stats()), calls(before), 'a parked key was called');
                    assert.match(e.message, /rate limited now/);
                    for (const dep of ['oa', 'an', 'ge']) assert.match(e.message, new RegExp(dep));
                    parked = rs;
                }
            }
            assert.ok(parked, 'no request found every key parked');
            /* Without Gemini's hint: Anthropic's 2 s. */
            await h.sleep(PARK_END_MS);
            await stack.mock.fault('ge', { status: 429, error_body: '{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}' });
            const r2 = await post({ model: 'mix-oag' });
            assertError(r2, 429);
            assert.equal(r2.headers['retry-after'], '2');
            await h.sleep(PARK_END_MS);
        });

        for (const [dep, model] of [['an', 'mix-ago'], ['ge', 'mix-goa']]) {
            it(`ends the stream with an error event on a mid-stream ${dep === 'an' ? 'Anthropic' : 'Gemini'} error`, async () => {
                const r = await post({
                    model, stream: true, includeUsage: true,
                    directive: { content: 'one two three four', chunks: 4, stream_error: true },
                });
                assert.equal(r.status, 200, r.body);
                assert.ok(r.complete, r.error);
                assert.equal(r.headers['x-switchyard-deployment'], dep);
                const ev = r.events;
                assert.equal(ev.filter((e) => e.data === '[DONE]').length, 0, `[DONE] after a failure: ${r.body}`);
                const last = ev[ev.length - 1];
                assert.ok(last.json && last.json.error, `last event is not an error: ${last.data}`);
                assert.equal(ev.filter((e) => e.json && e.json.error).length, 1, r.body);
                assert.equal(typeof last.json.error.message, 'string');
                assert.match(last.json.error.message, new RegExp(dep));
                assert.match(last.json.error.message, dep === 'an' ? /overloaded/i : /UNAVAILABLE|overloaded/);
                assert.equal(typeof last.json.error.type, 'string');
                assert.ok('code' in last.json.error);
                /* The first content arrived before the error, and no
                 * finish or usage chunk claims success. */
                assert.equal(h.contentOf(r), 'one ');
                for (const e of ev.slice(0, -1)) {
                    assert.equal(e.json.object, 'chat.completion.chunk');
                    assert.equal(e.json.usage, undefined);
                    assert.equal(e.json.choices[0].finish_reason, null);
                }
                const st = await stack.mock.stats();
                assert.equal(st[dep].requests, 1);
                assert.deepEqual(Object.keys(st).filter((d) => d !== dep && st[d].requests > 0), [],
                                 'another deployment was tried');
            });
        }

        it('sends each provider its own auth, never the caller\'s Authorization', async () => {
            assertCompletion(await post({ model: 'mix-oag' }), 'oa');
            assertStream(await post({ model: 'mix-ago', stream: true }), 'an');
            assertCompletion(await post({ model: 'mix-ago' }), 'an');
            assertStream(await post({ model: 'mix-goa', stream: true }), 'ge');
            assertCompletion(await post({ model: 'mix-goa' }), 'ge');
            const reqs = {};
            for (const dep of ['oa', 'an', 'ge']) {
                reqs[dep] = await stack.mock.requests(dep);
                assert.ok(reqs[dep].length >= 1, `no request recorded for ${dep}`);
                for (const q of reqs[dep]) {
                    assert.ok(!JSON.stringify(q).includes('sk-caller-secret'),
                              `the caller's key reached ${dep}: ${JSON.stringify(q.headers)}`);
                }
            }
            for (const q of reqs.oa) {
                assert.equal(q.path, '/oa/v1/chat/completions');
                assert.equal(q.headers.authorization, `Bearer ${KEYS.SY_IT_OAI_KEY}`);
                assert.equal(q.headers['x-api-key'], undefined);
                assert.equal(q.headers['anthropic-version'], undefined);
            }
            assert.equal(reqs.an.length, 2);
            for (const q of reqs.an) {
                assert.equal(q.path, '/an/v1/messages');
                assert.equal(q.headers['x-api-key'], KEYS.SY_IT_ANT_KEY);
                assert.equal(q.headers['anthropic-version'], '2023-06-01');
                assert.equal(q.headers['anthropic-beta'], undefined);
                assert.equal(q.headers.authorization, undefined);
                assert.equal(q.headers['x-goog-api-key'], undefined);
                assert.match(q.headers['content-type'], /^application\/json/);
                assert.equal(q.body.model, 'claude-mock');
            }
            /* A non-streaming caller is served from a provider stream too
             * (first_byte_ms measures the provider, not the answer). */
            assert.deepEqual(reqs.an.map((q) => q.body.stream === true), [true, true]);
            assert.equal(reqs.ge.length, 2);
            assert.deepEqual(reqs.ge.map((q) => q.path), [
                '/ge/v1beta/models/gemini-mock:streamGenerateContent?alt=sse',
                '/ge/v1beta/models/gemini-mock:streamGenerateContent?alt=sse',
            ]);
            for (const q of reqs.ge) {
                assert.equal(q.headers['x-goog-api-key'], KEYS.SY_IT_GEM_KEY);
                assert.equal(q.headers.authorization, undefined);
                assert.equal(q.headers['x-api-key'], undefined);
                assert.equal(q.headers['anthropic-version'], undefined);
            }
        });

        it('sends the configured anthropic-version and anthropic-beta', async () => {
            const r = await post({ model: 'm-anv' });
            assertCompletion(r, 'anv');
            const [q] = await stack.mock.requests('anv');
            assert.equal(q.headers['anthropic-version'], '2099-12-31');
            assert.equal(q.headers['anthropic-beta'], 'mock-beta-2099');
            assert.equal(q.headers['x-api-key'], KEYS.SY_IT_ANT_KEY);
            assert.equal(q.headers.authorization, undefined);
        });
    });
}
