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
 *
 * The store switched off, behind lighttpd: a "previous_response_id" key
 * written with JSON escapes ("previous\u005fresponse_id") is a 400 as
 * the plain one, with no Redis and with state.responses_ttl_s 0 (where
 * records stored before are not served either: previous_response_id
 * and GET refused). GET /v1/responses/{id}/input_items pages as OpenAI's:
 * order asc/desc, limit with has_more, first_id and last_id, after; a
 * bad order, limit or after is a 400 naming it. Hostile query strings:
 * after= of 1,000 bytes, limit=-1 and 99999999999999999999, order=xyz,
 * bytes that are no UTF-8 or control bytes (a 400 naming it, whose
 * message shows none of them), %00 and bad escapes (400, param null),
 * a repeated key (the last one counts, each one checked), and query
 * strings of 8,191, 8,192 and 100,000 bytes (served; a 400 from the
 * gateway, which keeps 8,192 bytes of a parameter; or the web server's
 * own 414 / 431 before it), through both web servers.
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

/* The store off: no Redis; Redis with state.responses_ttl_s 0 (the
 * same prefix and caller key as 'stack', so its records are there). */
const noStore = new h.Stack({
    tag: 'resp-nostore',
    servers: ['lighttpd'],
    env: { SY_IT_RH_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, { deployments: DEPS, groups: GROUPS });
        cfg.keys = { k: { key_env: 'SY_IT_RH_KEY' } };
        return cfg;
    },
});
const ttl0 = new h.Stack({
    tag: 'resp-ttl0',
    servers: ['lighttpd'],
    env: { SY_IT_RH_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, { deployments: DEPS, groups: GROUPS });
        cfg.state = { ...cfg.state, redis_url: redis.url, prefix: 'syrh:', responses_ttl_s: 0 };
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
    if (!h.missing('lighttpd')) {
        await noStore.start();
        if (redis) await ttl0.start();
    }
}, { timeout: 60000 });
after(async () => {
    await ttl0.stop();
    await noStore.stop();
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

        it('a wrong method on /v1/responses/{id}[/input_items]: 405 with Allow', async () => {
            for (const [method, p, allow] of [['DELETE', '/v1/responses/resp_x/input_items', 'GET'],
                ['POST', '/v1/responses/resp_x/input_items', 'GET'],
                ['PUT', '/v1/responses/resp_x', 'GET, DELETE']]) {
                const r = await h.request(stack.base(server), { method, path: p, headers: HEADERS });
                const what = `${method} ${p}: ${r.status} ${r.body.slice(0, 200)}`;
                /* Apache answers some methods itself (501): only the
                 * gateway's answers are checked. */
                if (r.status === 501 && !r.json) continue;
                assertOpenAIError(r, 405);
                assert.equal(r.headers.allow, allow, what);
            }
            for (const method of ['GET', 'DELETE']) {
                const r = await h.request(stack.base(server), {
                    method, path: '/v1/responses/resp_x/other', headers: HEADERS });
                assertOpenAIError(r, 404);
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

/* A POST /v1/responses to stack 'on' behind lighttpd. */
function postTo(on, body) {
    return h.request(on.base('lighttpd'), {
        method: 'POST', path: '/v1/responses', headers: HEADERS, body,
    });
}

/* The previous_response_id key as sent: plain and with JSON escapes. */
const PREV_KEYS = ['previous_response_id', 'previous\\u005fresponse_id',
    '\\u0070revious_response_id', 'previous_response\\u005Fid'];

describe('the conversation store switched off', { skip: h.missing('lighttpd') || false }, () => {
    it('without Redis: previous_response_id, escaped or not, is a 400 naming it, nothing sent', async () => {
        await noStore.mock.reset();
        for (const key of PREV_KEYS) {
            const r = await postTo(noStore, `{"model":"g-oa","${key}":"resp_abc123","input":"hi"}`);
            const e = assertOpenAIError(r, 400);
            assert.equal(e.param, 'previous_response_id', `${key}: ${r.body}`);
            assert.match(e.message, /needs the conversation store/, `${key}: ${r.body}`);
        }
        assert.equal(await noStore.mock.count('oa'), 0);
        /* A body with other escapes is still served. */
        const ok = await postTo(noStore, '{"model":"g-oa","input":"caf\\u00e9\\n"}');
        assert.equal(ok.status, 200, ok.body.slice(0, 300));
        assert.equal(ok.json.previous_response_id, null);
    });

    it('state.responses_ttl_s 0: records stored before are not served, escaped key refused too',
        { skip: h.missing('redis') || false }, async () => {
            const first = await post('lighttpd', { model: 'g-oa', input: 'Remember me.' });
            assert.equal(first.status, 200, first.body.slice(0, 300));
            const id = first.json.id;
            /* Stored: the storing stack serves it. */
            const got = await h.request(stack.base('lighttpd'), { path: `/v1/responses/${id}`, headers: HEADERS });
            assert.equal(got.status, 200, got.body.slice(0, 300));
            await ttl0.mock.reset();
            for (const key of PREV_KEYS) {
                const r = await postTo(ttl0, `{"model":"g-oa","${key}":"${id}","input":"and?"}`);
                const e = assertOpenAIError(r, 400);
                assert.equal(e.param, 'previous_response_id', `${key}: ${r.body}`);
                assert.match(e.message, /responses_ttl_s/, r.body);
            }
            assert.equal(await ttl0.mock.count('oa'), 0);
            for (const p of [`/v1/responses/${id}`, `/v1/responses/${id}/input_items`]) {
                const r = await h.request(ttl0.base('lighttpd'), { path: p, headers: HEADERS });
                assertOpenAIError(r, 400);
            }
            const del = await h.request(ttl0.base('lighttpd'), {
                method: 'DELETE', path: `/v1/responses/${id}`, headers: HEADERS,
            });
            assertOpenAIError(del, 400);
            /* Nothing was deleted. */
            const still = await h.request(stack.base('lighttpd'), { path: `/v1/responses/${id}`, headers: HEADERS });
            assert.equal(still.status, 200, still.body.slice(0, 300));
        });
});

describe('GET /v1/responses/{id}/input_items pages', { skip: h.missing('lighttpd') || h.missing('redis') || false }, () => {
    let id = null;
    const texts = ['m0', 'm1', 'm2', 'm3', 'm4'];
    const items = (on, query) => h.request(on.base('lighttpd'), {
        path: `/v1/responses/${id}/input_items${query}`, headers: HEADERS,
    });
    const textOf = (it) => (typeof it.content === 'string' ? it.content
        : it.content.map((p) => p.text).join(''));

    before(async () => {
        const r = await post('lighttpd', { model: 'g-oa', input: [
            { role: 'user', content: 'm0' },
            { type: 'message', id: 'msg_given_1', role: 'assistant',
                content: [{ type: 'output_text', text: 'm1' }] },
            { role: 'user', content: 'm2' },
            { role: 'assistant', content: 'm3' },
            { role: 'user', content: 'm4' },
        ] });
        assert.equal(r.status, 200, r.body.slice(0, 300));
        id = r.json.id;
    });

    /* The page of 'query': its texts, first_id, last_id, has_more. */
    async function page(query) {
        const r = await items(stack, query);
        assert.equal(r.status, 200, `${query}: ${r.body.slice(0, 300)}`);
        const l = r.json;
        assert.equal(l.object, 'list');
        const ids = l.data.map((x) => x.id);
        assert.equal(l.first_id, ids[0] || '', `${query}: ${r.body.slice(0, 300)}`);
        assert.equal(l.last_id, ids[ids.length - 1] || '', `${query}: ${r.body.slice(0, 300)}`);
        return { texts: l.data.map(textOf), ids, more: l.has_more };
    }

    it('no query: all of them, newest first', async () => {
        const p = await page('');
        assert.deepEqual(p.texts, [...texts].reverse());
        assert.equal(p.more, false);
        assert.equal(p.ids[3], 'msg_given_1');
        assert.equal(p.ids[0], `${id}_in4`);
    });

    it('order, limit and after', async () => {
        let p = await page('?order=asc&limit=1');
        assert.deepEqual(p.texts, ['m0']);
        assert.equal(p.more, true);
        p = await page('?order=asc&limit=2');
        assert.deepEqual([p.texts, p.more], [['m0', 'm1'], true]);
        assert.equal(p.ids[1], 'msg_given_1');
        p = await page(`?order=asc&limit=2&after=${p.ids[1]}`);
        assert.deepEqual([p.texts, p.more], [['m2', 'm3'], true]);
        p = await page(`?order=asc&limit=2&after=${p.ids[1]}`);
        assert.deepEqual([p.texts, p.more], [['m4'], false]);
        p = await page('?order=desc&limit=3');
        assert.deepEqual([p.texts, p.more], [['m4', 'm3', 'm2'], true]);
        p = await page(`?limit=3&after=${encodeURIComponent(p.ids[2])}`);
        assert.deepEqual([p.texts, p.more], [['m1', 'm0'], false]);
        p = await page('?order=asc&after=msg_given_1&limit=100');
        assert.deepEqual([p.texts, p.more], [['m2', 'm3', 'm4'], false]);
        p = await page('?limit=5');
        assert.deepEqual([p.texts, p.more], [[...texts].reverse(), false]);
        p = await page('?order=asc&include[]=message.input_image.image_url&limit=4');
        assert.deepEqual([p.texts, p.more], [['m0', 'm1', 'm2', 'm3'], true]);
    });

    it('a bad order, limit or after: 400 naming it', async () => {
        for (const [query, param] of [['?limit=0', 'limit'], ['?limit=101', 'limit'],
            ['?limit=abc', 'limit'], ['?limit=-1', 'limit'], ['?limit=', 'limit'], ['?limit=1.5', 'limit'],
            ['?order=sideways', 'order'], ['?order=ASC', 'order'], ['?after=msg_nowhere', 'after']]) {
            const r = await items(stack, query);
            const e = assertOpenAIError(r, 400);
            assert.equal(e.param, param, `${query}: ${r.body}`);
        }
    });

    /* 'query' through every web server: each answer is the gateway's 400
     * (checked by 'check') or the web server's own 400 before it
     * (lighttpd refuses control bytes and bad escapes in a URL); the
     * gateway must have answered through one of them at least (Apache
     * passes the query string as it came). */
    async function hostile(query, check) {
        const seen = [];
        for (const server of stack.servers) {
            const r = await h.request(stack.base(server), {
                path: `/v1/responses/${id}/input_items${query}`, headers: HEADERS,
            });
            const why = `${server} ${query.slice(0, 80)}: ${r.status} ${r.body.slice(0, 300)}`;
            if (r.json && r.json.error) {
                check(assertOpenAIError(r, 400), why);
                seen.push(`${server}:gateway`);
            } else {
                assert.equal(r.status, 400, why);
                assert.ok(!r.headers['x-request-id'], `not the web server's: ${why}`);
                seen.push(`${server}:web`);
            }
        }
        if (stack.servers.length > 1 || !seen[0].endsWith(':web')) {
            assert.ok(seen.some((x) => x.endsWith(':gateway')), `${query.slice(0, 80)}: ${seen.join(' ')}`);
        }
        return seen;
    }

    it('hostile values: a 400 naming the parameter, its value shown safely', async () => {
        for (const [query, param] of [[`?after=${'a'.repeat(1000)}`, 'after'], ['?limit=-1', 'limit'],
            ['?limit=99999999999999999999', 'limit'], ['?limit=00000000000000000000000000001x', 'limit'],
            ['?order=xyz', 'order'], ['?order=%FF%FEasc', 'order'], ['?order=%C3', 'order'],
            [`?order=${'%C3%A9'.repeat(40)}`, 'order'], ['?order=a%0A%0D%1B%7Fb', 'order'],
            ['?limit=1%0A', 'limit'], [`?after=${'%E2%82%AC'.repeat(100)}`, 'after']]) {
            await hostile(query, (e, why) => {
                assert.equal(e.param, param, why);
                assert.equal(e.code, 'invalid_value', why);
                /* Valid UTF-8 (no U+FFFD from the decoder), no control
                 * characters, the value cut. */
                assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f\ufffd]/, `${why} ${JSON.stringify(e.message)}`);
                assert.ok(e.message.length < 400, `${why}: ${e.message.length} chars`);
            });
        }
    });

    /* A bad escape that the web server re-encodes ('%' to '%25', as
     * lighttpd does) reaches the gateway as a bad value instead. */
    it('%00 and bad escapes: a 400 with param null (or naming the value)', async () => {
        for (const [query, param] of [['?after=msg%00x'], ['?lim%00it=5'], ['?%00'], ['?order=asc%00'],
            ['?limit=%', 'limit'], ['?limit=%4', 'limit'], ['?order=%zz', 'order'], ['?after=%%', 'after']]) {
            const seen = await hostile(query, (e, why) => {
                if (e.param !== null) assert.equal(e.param, param, why);
            });
            process.stderr.write(`responses_hostile: input_items${query}: ${seen.join(' ')}\n`);
        }
    });

    it('a repeated key: the last one counts, each one is checked', async () => {
        let p = await page('?limit=1&limit=2&order=desc&order=asc');
        assert.deepEqual([p.texts, p.more], [['m0', 'm1'], true]);
        p = await page('?order=asc&after=nowhere&after=msg_given_1&limit=1');
        assert.deepEqual([p.texts, p.more], [['m2'], true]);
        /* Escaped keys are keys, empty pieces nothing. */
        p = await page('?%6Frder=asc&&lim%69t=1&=&x');
        assert.deepEqual([p.texts, p.more], [['m0'], true]);
        for (const [query, param] of [['?limit=2&limit=0', 'limit'], ['?limit=0&limit=2', 'limit'],
            ['?order=xyz&order=asc', 'order']]) {
            const e = assertOpenAIError(await items(stack, query), 400);
            assert.equal(e.param, param, query);
        }
    });

    it('query strings of 8,191, 8,192 and 100,000 bytes: served or refused, never a 5xx', async () => {
        /* 'order=asc&limit=1&pad=xxx...' of 'len' bytes after the '?'. */
        const padded = (len) => {
            const head = 'order=asc&limit=1&pad=';
            return `?${head}${'x'.repeat(len - head.length)}`;
        };
        for (const server of stack.servers) {
            for (const len of [8191, 8192, 100000]) {
                const r = await h.request(stack.base(server), {
                    path: `/v1/responses/${id}/input_items${padded(len)}`, headers: HEADERS,
                });
                const why = `${server} ${len}: ${r.status} ${r.error || ''} ${r.body.slice(0, 200)}`;
                process.stderr.write(`responses_hostile: input_items query of ${len} bytes via ${server}: ${r.status}\n`);
                assert.ok(r.status >= 200 && r.status < 500, why);
                if (r.status === 200) {
                    /* Whole: the gateway only serves what it got whole. */
                    assert.ok(len < 8192, why);
                    assert.deepEqual(r.json.data.map(textOf), ['m0'], why);
                } else if (r.json && r.json.error) {
                    /* The gateway's: the query string may have been cut. */
                    const e = assertOpenAIError(r, 400);
                    assert.ok(len >= 8192, why);
                    assert.equal(e.param, null, why);
                    assert.match(e.message, /longer than 8191 bytes/, why);
                } else {
                    /* The web server's own refusal, before the gateway. */
                    assert.ok([400, 414, 431].includes(r.status), why);
                }
            }
            /* Neither web server passes one that long with its stock
             * limits; tests/unit/test_responses_store.c gives the
             * gateway the 8,192 bytes the transport would keep. */
        }
    });
});
