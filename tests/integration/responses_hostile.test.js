/*
 * responses_hostile.test.js - hostile requests to POST /v1/responses
 * (and GET / DELETE /v1/responses/{id}) over real HTTP, through lighttpd
 * and Apache: input nested 4,000 levels deep (400), 10,000 input items
 * (served), a 50 MB body (413), max_output_tokens 1e30, -1, "12" and 0
 * (400 naming it), an unknown input item type (400 naming
 * input[i].type), a hosted tool (400 naming tools[i], on a translated and
 * on the native path), previous_response_id of 10 KB or with slashes and
 * quotes (400 or 404, never a 5xx, nothing sent; the same ids in the
 * paths of GET and DELETE), a provider that drops a stream mid-way (an
 * "error" event last, no response.completed, in every dialect) and a
 * caller leaving mid-stream (the provider call ends, the next request is
 * served). Every error is OpenAI's shape ({"error":{"message","type",
 * "param","code"}}); after each case /healthz answers and the worker
 * processes are the same ones.
 *
 * The gateway has the conversation store (state.redis_url) when
 * redis-server is installed, so that previous_response_id is looked up;
 * without it the same cases are refused earlier (400).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const KEY = 'sk-sy-responses-hostile-call-01';
const HEADERS = { authorization: `Bearer ${KEY}` };
const DEPS = {
    oa: { model: 'gpt-mock-1' },
    an: { type: 'anthropic', model: 'claude-mock-1' },
    ge: { type: 'gemini', model: 'gemini-mock-1' },
    rs: { type: 'openai-responses', model: 'gpt-mock-r1' },
};
const GROUPS = { 'g-oa': ['oa'], 'g-an': ['an'], 'g-ge': ['ge'], 'g-rs': ['rs'] };

let redis = null;
let redisDir = null;

const stack = new h.Stack({
    tag: 'resp-hostile',
    servers: h.SERVERS,
    env: { SY_IT_RH_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, { deployments: DEPS, groups: GROUPS });
        if (redis) cfg.state = { ...cfg.state, redis_url: redis.url, prefix: 'syrh:' };
        cfg.keys = { k: { key_env: 'SY_IT_RH_KEY' } };
        return cfg;
    },
});

let pids = [];
before(async () => {
    if (!h.missing('redis')) {
        redisDir = h.makeTmpDir('rh-redis');
        redis = new h.Redis(redisDir);
        await redis.start();
    }
    await stack.start();
    pids = stack.workers();
}, { timeout: 60000 });
after(async () => {
    await stack.stop();
    if (redis) await redis.stop();
    if (redisDir) h.removeTmpDir(redisDir);
}, { timeout: 30000 });
beforeEach(() => stack.mock.reset());

/* The gateway still answers, with the same worker processes. */
afterEach(async () => {
    for (const server of stack.servers) {
        const hz = await h.request(stack.base(server), { path: '/healthz', timeout: 5000 });
        assert.equal(hz.status, 200, `${server} /healthz: ${hz.error || hz.body}`);
    }
    assert.deepEqual(stack.workers(), pids, `a worker process died\n${stack.logs()}`);
});

function post(server, body, { timeout = 20000, onEvent } = {}) {
    return h.request(stack.base(server), {
        method: 'POST', path: '/v1/responses', headers: HEADERS, body, timeout, onEvent,
    });
}

/* An OpenAI error body with 'status' (one of them when an array). */
function assertOpenAIError(r, status) {
    const why = `${r.status} ${r.error || ''} ${r.body.slice(0, 400)}`;
    if (Array.isArray(status)) assert.ok(status.includes(r.status), why);
    else assert.equal(r.status, status, why);
    assert.ok(r.json && r.json.error, `not an OpenAI error: ${why}`);
    assert.equal(typeof r.json.error.message, 'string', why);
    assert.equal(typeof r.json.error.type, 'string', why);
    return r.json.error;
}

/* The number of provider requests of every deployment. */
async function sent() {
    const st = await stack.mock.stats();
    return Object.keys(DEPS).reduce((n, d) => n + (st[d] ? st[d].requests : 0), 0);
}

/* The names of a stream's events ('event:' lines). */
const eventNames = (r) => r.body.split('\n').filter((l) => l.startsWith('event:'))
    .map((l) => l.slice(6).trim());

for (const server of h.SERVERS) {
    describe(`hostile /v1/responses behind ${server}`, { skip: h.missing(server) || false }, () => {
        it('input nested 4,000 levels deep: 400, nothing sent', async () => {
            const deepArray = `{"model":"g-oa","input":${'['.repeat(4000)}${']'.repeat(4000)}}`;
            let part = '{"type":"input_text","text":"x"}';
            for (let i = 0; i < 4000; i++) {
                part = `{"type":"function_call_output","call_id":"c","output":[${part}]}`;
            }
            const deepItems = `{"model":"g-rs","input":[${part}]}`;
            const deepMeta = `{"model":"g-an","input":"hi","metadata":${'{"a":'.repeat(4000)}1${'}'.repeat(4000)}}`;
            for (const body of [deepArray, deepItems, deepMeta]) {
                const r = await post(server, body);
                const e = assertOpenAIError(r, 400);
                assert.match(e.message, /deep|nest|depth/i, body.slice(0, 40));
            }
            assert.equal(await sent(), 0);
        });

        it('10,000 input items are served', async () => {
            const items = [];
            for (let i = 0; i < 10000; i++) {
                items.push(i % 2 === 0 ? { role: 'user', content: `w${i}` }
                    : { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `a${i}` }] });
            }
            items.push({ role: 'user', content: 'last' });
            for (const model of ['g-oa', 'g-rs']) {
                const r = await post(server, { model, input: items });
                assert.equal(r.status, 200, `${model}: ${r.body.slice(0, 400)}`);
                assert.equal(r.json.object, 'response');
                assert.equal(r.json.status, 'completed');
                assert.ok(r.tEnd < 10000, `${model}: took ${r.tEnd} ms`);
            }
        });

        it('a 50 MB body: 413 in OpenAI shape', async () => {
            const body = JSON.stringify({ model: 'g-oa', input: 'x'.repeat(50 * 1000 * 1000) });
            const r = await post(server, body, { timeout: 60000 });
            assertOpenAIError(r, 413);
            assert.equal(await sent(), 0);
        });

        it('max_output_tokens 1e30, -1, "12" and 0: 400 naming max_output_tokens', async () => {
            for (const model of ['g-oa', 'g-rs']) {
                for (const raw of ['1e30', '-1', '"12"', '0', '1.5', '99999999999999999999999']) {
                    const r = await post(server, `{"model":"${model}","input":"hi","max_output_tokens":${raw}}`);
                    const e = assertOpenAIError(r, 400);
                    assert.match(`${e.message} ${e.param}`, /max_output_tokens/, `${model} ${raw}: ${r.body}`);
                    assert.doesNotMatch(e.message, /max_completion_tokens|max_tokens\b/, `${model} ${raw}`);
                }
            }
            assert.equal(await sent(), 0);
        });

        it('an unknown input item type: 400 naming input[i].type', async () => {
            for (const model of ['g-oa', 'g-rs']) {
                const r = await post(server, { model, input: [
                    { role: 'user', content: 'hi' },
                    { type: 'message', role: 'assistant', content: 'ok' },
                    { type: 'hologram', data: 'x' },
                ] });
                const e = assertOpenAIError(r, 400);
                assert.equal(e.param, 'input[2].type', r.body);
                assert.match(e.message, /hologram/);
            }
            assert.equal(await sent(), 0);
        });

        it('a hosted tool (file_search): 400 naming tools[i], nothing sent', async () => {
            for (const model of ['g-oa', 'g-an', 'g-rs']) {
                const r = await post(server, { model, input: 'find it', tools: [
                    { type: 'function', name: 'f', parameters: { type: 'object' } },
                    { type: 'file_search', vector_store_ids: ['vs_1'] },
                ] });
                const e = assertOpenAIError(r, 400);
                assert.match(`${e.param} ${e.message}`, /tools\[1\]/, `${model}: ${r.body}`);
                assert.match(e.message, /file_search/);
            }
            assert.equal(await sent(), 0);
        });

        it('previous_response_id of 10 KB, with slashes or quotes: 400 or 404, nothing sent', async () => {
            const ids = ['x'.repeat(10 * 1024), 'resp_../../etc/passwd', 'resp_a"b\'c', 'resp_\\"}],"x":{"',
                'resp_a b', 'resp_\u00e9\u0000z', '*', ''];
            for (const id of ids) {
                for (const model of ['g-oa', 'g-rs']) {
                    const r = await post(server, { model, previous_response_id: id, input: 'hi' });
                    const e = assertOpenAIError(r, [400, 404]);
                    assert.equal(e.param, 'previous_response_id', `${JSON.stringify(id.slice(0, 30))}: ${r.body.slice(0, 300)}`);
                }
            }
            for (const raw of ['123', 'true', '{"a":1}', '["resp_1"]']) {
                const r = await post(server, `{"model":"g-oa","previous_response_id":${raw},"input":"hi"}`);
                const e = assertOpenAIError(r, 400);
                assert.equal(e.param, 'previous_response_id', `${raw}: ${r.body.slice(0, 300)}`);
            }
            assert.equal(await sent(), 0);
            /* null is no previous response, as OpenAI takes it. */
            const r = await post(server, '{"model":"g-oa","previous_response_id":null,"input":"hi"}');
            assert.equal(r.status, 200, r.body.slice(0, 300));
        });

        it('GET and DELETE /v1/responses/{id} with hostile ids: never a 5xx', async () => {
            const paths = [`/v1/responses/${'x'.repeat(10 * 1024)}`, `/v1/responses/${'y'.repeat(1024)}`,
                '/v1/responses/a%2Fb', '/v1/responses/a/b', '/v1/responses/a/input_items',
                '/v1/responses/%22quoted%22', "/v1/responses/it's", '/v1/responses/..%2F..%2Fx',
                '/v1/responses/%00', '/v1/responses/', '/v1/responses/resp_missing'];
            for (const p of paths) {
                for (const method of ['GET', 'DELETE']) {
                    const r = await h.request(stack.base(server), { method, path: p, headers: HEADERS });
                    const what = `${method} ${p.slice(0, 40)}: ${r.status} ${r.body.slice(0, 200)}`;
                    assert.equal(r.error, null, what);
                    assert.ok(r.status >= 400 && r.status < 500, what);
                    /* Answers of the gateway are OpenAI errors; the web
                     * server refuses overlong lines itself. */
                    if (r.status === 400 || r.status === 404) {
                        if (r.json) assert.ok(r.json.error, what);
                    }
                }
            }
        });

        /*
         * The stream ends with an "error" event, followed at most by a
         * response.failed (the response the stream described, status
         * "failed": what Codex waits for), never response.completed.
         * On the native path (g-rs, an openai-responses deployment,
         * provider events relayed as they are) the gateway's events go
         * on from the provider's last sequence_number and name the
         * response id of its response.created.
         */
        it('a provider dropping the stream mid-way: an error event, no response.completed', async () => {
            const misnumbered = [];
            for (const model of Object.keys(GROUPS)) {
                const r = await post(server, { model, stream: true,
                    input: `Tell me more [[mock ${JSON.stringify({
                        content: 'one two three four five six seven eight',
                        chunks: 8, chunk_delay_ms: 20, stream_drop_after: 6,
                    })}]]` });
                assert.equal(r.status, 200, `${model}: ${r.body.slice(0, 300)}`);
                const names = eventNames(r);
                const all = `${model}: ${names.join(' ')}`;
                assert.equal(names[0], 'response.created', all);
                assert.ok(!names.includes('response.completed'), all);
                const at = names.indexOf('error');
                assert.ok(at > 0, `${all}: no error event`);
                const after = names.slice(at + 1);
                assert.ok(after.length === 0 || (after.length === 1 && after[0] === 'response.failed'),
                    `${all}: events after the error`);
                const err = r.events[at];
                assert.ok(err.json && err.json.type === 'error', `${model}: ${err.data}`);
                assert.equal(typeof err.json.message, 'string');
                if (after.length) {
                    const failed = r.events[at + 1].json;
                    assert.equal(failed.response.status, 'failed', JSON.stringify(failed));
                    assert.equal(failed.response.id, r.events[0].json.response.id, JSON.stringify(failed));
                }
                const text = r.events.filter((e) => e.json && e.json.type === 'response.output_text.delta')
                    .map((e) => e.json.delta).join('');
                assert.ok(text.length < 'one two three four five six seven eight'.length, `${model}: ${text}`);
                /* Every event numbered on from the one before it, the
                 * error event too. */
                const seqs = r.events.map((e) => e.json && e.json.sequence_number);
                if (!seqs.every((n, i) => n === i)) misnumbered.push(`${model}: ${seqs.join(',')}`);
            }
            assert.deepEqual(misnumbered, [], 'sequence_number not 0, 1, 2, ...');
        });

        it('a caller leaving mid-stream: the provider call ends, the next request is served', async () => {
            for (const [model, dep] of [['g-oa', 'oa'], ['g-rs', 'rs']]) {
                let events = 0;
                const r = await post(server, {
                    model, stream: true,
                    input: `tell me [[mock ${JSON.stringify({ chunks: 40, chunk_delay_ms: 100 })}]]`,
                }, {
                    onEvent: (ev, req) => {
                        events++;
                        if (events === 4) req.destroy();
                    },
                });
                assert.equal(r.status, 200);
                assert.equal(r.complete, false, `${model}: the stream ran to its end`);
                const next = await post(server, { model, input: 'again' });
                assert.equal(next.status, 200, next.body.slice(0, 300));
                assert.equal(next.json.output[0].content[0].text, `Hello from ${dep}.`);
                await h.waitFor(`the abandoned ${dep} stream to end`, async () => {
                    const st = await stack.mock.stats();
                    return st[dep] && st[dep].in_flight === 0;
                }, 6000);
            }
        });
    });
}
