/*
 * billing.test.js - callers cannot choose what the provider bills
 * (issue 10, items 5 and 6), through each web server: billed fields
 * (n > 1, service_tier, store, OpenRouter routing...) are refused with a
 * 400 naming the field and the deployments, before any provider call,
 * unless a deployment's "allow_fields" names them; unknown fields are
 * dropped, never forwarded; caller numbers out of range are a 400; a
 * caller key or a virtual key (Redis) with a 50-tokens-a-minute limit does
 * not let 30,000 tokens through; and a budget reservation multiplies
 * max_tokens by n (a 0.05 USD key takes n=4 of 1,000 tokens, not n=5).
 * `switchyard spend --from-log` over a request that failed over once
 * (one usage-log line per attempt) charges both attempts to their
 * deployments and counts the group's baseline on the answering line only.
 *
 *   sh tests/integration/run.sh build tests/integration/billing.test.js
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const KEY = 'sk-billing-test-key-free-0123456789';
const KEY50 = 'sk-billing-test-key-50tpm-0123456789';

const stack = new h.Stack({
    tag: 'billing',
    servers: h.SERVERS,
    env: { SY_T_FREE: KEY, SY_T_K50: KEY50 },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { plain: {}, paid: {}, rt: { type: 'openrouter' } },
            groups: { 'g-plain': ['plain'], 'g-paid': ['plain', 'paid'], 'g-rt': ['rt'] },
            server: { processes: 1, threads: 4 },
        });
        cfg.deployments.paid.allow_fields = ['n', 'service_tier'];
        cfg.keys = { free: { key_env: 'SY_T_FREE' }, k50: { key_env: 'SY_T_K50', tpm: 50 } };
        return cfg;
    },
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });
beforeEach(() => stack.mock.reset());

const msgs = [{ role: 'user', content: 'Say hello.' }];

function post(base, body, key = KEY) {
    return h.request(base, {
        method: 'POST', path: '/v1/chat/completions',
        headers: { Authorization: `Bearer ${key}` },
        body: typeof body === 'string' ? body : JSON.stringify(body),
    });
}

async function lastBody(dep) {
    const reqs = await stack.mock.requests(dep);
    const last = reqs[reqs.length - 1];
    return typeof last.body === 'string' ? JSON.parse(last.body) : last.body;
}

for (const server of h.SERVERS) {
    describe(`billing behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);

        it('refuses billed fields no deployment allows, before any call', async () => {
            const billed = {
                n: 4, service_tier: 'priority', store: true, web_search_options: {},
                audio: { voice: 'alloy', format: 'mp3' }, prediction: { type: 'content', content: 'x' },
            };
            for (const [field, value] of Object.entries(billed)) {
                const r = await post(base(), { model: 'g-plain', messages: msgs, [field]: value });
                assert.equal(r.status, 400, `${field}: ${r.body}`);
                assert.equal(r.json.error.param, field, r.body);
                assert.equal(r.json.error.code, 'no_capable_deployment');
                assert.match(r.json.error.message, /plain/);
                assert.match(r.json.error.message, /allow_fields/);
            }
            const r = await post(base(), { model: 'g-rt', messages: msgs, models: ['a/b', 'c/d'] });
            assert.equal(r.status, 400, r.body);
            assert.equal(r.json.error.param, 'models');
            assert.equal(await stack.mock.count('plain'), 0);
            assert.equal(await stack.mock.count('rt'), 0);
        });

        it('serves a billed field on a deployment that allows it', async () => {
            const r = await post(base(), {
                model: 'g-paid', messages: msgs, n: 2, service_tier: 'priority', foo: 'bar',
            });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.headers['x-switchyard-deployment'], 'paid');
            assert.match(r.headers['x-switchyard-route'] || '', /plain/);
            assert.equal(await stack.mock.count('plain'), 0);
            const body = await lastBody('paid');
            assert.equal(body.n, 2);
            assert.equal(body.service_tier, 'priority');
            assert.equal(body.foo, undefined, 'an unknown field was forwarded');
        });

        it('drops unknown fields and keeps harmless values', async () => {
            const r = await post(base(), {
                model: 'g-plain', messages: msgs, n: 1, store: false, user: 'u1',
                x_unknown: { a: 1 }, extra_body: { provider: 'x' },
            });
            assert.equal(r.status, 200, r.body);
            const body = await lastBody('plain');
            assert.equal(body.n, 1);
            assert.equal(body.store, false);
            assert.equal(body.user, 'u1');
            assert.equal(body.x_unknown, undefined);
            assert.equal(body.extra_body, undefined);
        });

        it('refuses caller numbers out of range with a 400 naming them', async () => {
            for (const [field, v] of [['max_tokens', '9223372036854775807'],
                ['max_tokens', '18446744073709551616'], ['max_completion_tokens', '10000001'],
                ['n', '1000'], ['top_logprobs', '99']]) {
                const r = await post(base(),
                    `{"model":"g-plain","messages":[{"role":"user","content":"hi"}],"${field}":${v}}`);
                assert.equal(r.status, 400, `${field}=${v}: ${r.body}`);
                assert.equal(r.json.error.param, field);
            }
            assert.equal(await stack.mock.count('plain'), 0);
        });
    });
}

describe('a 50-tokens-a-minute caller key', () => {
    it('lets one request through, not 30,000 tokens', async () => {
        const server = h.SERVERS.find((s) => !h.missing(s));
        const base = stack.base(server);
        let tokens = 0;
        let ok = 0;
        for (let i = 0; i < 30; i++) {
            const r = await post(base, { model: 'g-plain', messages: msgs, max_tokens: 1000 }, KEY50);
            if (r.status === 200) {
                ok++;
                tokens += 1000; /* what it may have used */
            } else {
                assert.equal(r.status, 429, r.body);
            }
        }
        assert.ok(ok <= 1, `${ok} requests admitted (${tokens} tokens)`);
        const huge = await post(base,
            '{"model":"g-plain","messages":[{"role":"user","content":"hi"}],"max_tokens":9223372036854775807}',
            KEY50);
        assert.equal(huge.status, 400, huge.body);
    });
});

/* Virtual keys (Redis): the budget reservation multiplies by n, and a
 * 50-tokens-a-minute virtual key holds against huge max_tokens. */
describe('virtual keys: budgets and token limits', { skip: h.missing('redis') || h.missing('lighttpd') || false }, () => {
    const ENV = { SY_T_FREE: KEY, SY_T_K50: KEY50, SY_T_SECRET: 'billing-test-server-secret-0123456789' };
    let redis;
    let redisDir;
    let S;
    const vk = {};

    function create(name, opts) {
        const r = h.runSwitchyard(['keys', 'create', '--name', name, ...opts, '--json',
            '--config', S.configFile], { env: ENV });
        assert.equal(r.status, 0, r.stderr);
        vk[name] = JSON.parse(r.stdout).key;
    }

    before(async () => {
        redisDir = h.makeTmpDir('redis-billing');
        redis = new h.Redis(redisDir);
        await redis.start();
        S = new h.Stack({
            tag: 'billing-vk', env: ENV, servers: ['lighttpd'],
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { paid: {} }, groups: { 'g-paid': ['paid'] },
                    server: { processes: 2, threads: 4 },
                    state: {
                        redis_url: redis.url, prefix: 'sy:', key_secret_env: 'SY_T_SECRET',
                        breaker: { consecutive: 0, failure_pct: 0 },
                    },
                });
                cfg.deployments.paid.allow_fields = ['n', 'service_tier', 'web_search_options'];
                /* 2.50 / 10.00 USD per million tokens (gpt-4o) */
                cfg.deployments.paid.price = { input_per_mtok: 2.5, output_per_mtok: 10 };
                return cfg;
            },
        });
        await S.start();
    }, { timeout: 60000 });

    after(async () => {
        if (S) await S.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    }, { timeout: 30000 });

    function ask(key, extra, raw) {
        return h.request(S.base('lighttpd'), {
            method: 'POST', path: '/v1/chat/completions',
            headers: { Authorization: `Bearer ${key}` },
            body: raw || JSON.stringify({ model: 'g-paid', messages: msgs, ...extra }),
        });
    }

    it('reserves max_tokens for each of the n choices', async () => {
        /* 0.05 USD: one choice of 1,000 tokens reserves 0.01, four 0.04,
         * five 0.05 plus the prompt: too much. 128 (the attack,
         * 1.28 USD of output on a 0.50 budget) is refused outright. */
        create('bill-n', ['--budget-usd', '0.05', '--period', 'total']);
        const five = await ask(vk['bill-n'], { n: 5, max_tokens: 1000 });
        assert.equal(five.status, 429, five.body);
        assert.equal(five.json.error.code, 'budget_exceeded');
        const many = await ask(vk['bill-n'], { n: 128, max_tokens: 1000 });
        assert.equal(many.status, 429, many.body);
        const four = await ask(vk['bill-n'], { n: 4, max_tokens: 1000 });
        assert.equal(four.status, 200, four.body);
        const hb = await redis.cmd('HGET', 'sy:budget:{bill-n}:total', 'reserved');
        assert.equal(Number(hb || 0), 0, 'a reservation was left');
    });

    it('a money budget cannot take an allowed field it cannot price', async () => {
        /* The deployment allows service_tier and web search, but their fees
         * and tiers are beyond token prices: a budgeted key gets a 400
         * naming the field, before any provider call; a key without a
         * money budget is served. */
        create('bill-tier', ['--budget-usd', '1', '--period', 'total']);
        create('bill-free', []);
        await S.mock.resetStats();
        for (const extra of [{ service_tier: 'priority' }, { web_search_options: {} }]) {
            const r = await ask(vk['bill-tier'], extra);
            assert.equal(r.status, 400, r.body);
            assert.equal(r.json.error.code, 'unpriced_field', r.body);
            assert.equal(r.json.error.param, Object.keys(extra)[0]);
        }
        const st = await S.mock.stats();
        assert.equal((st.paid || {}).requests || 0, 0, 'a refused request reached the provider');
        const ok = await ask(vk['bill-free'], { service_tier: 'priority' });
        assert.equal(ok.status, 200, ok.body);
        const n = await ask(vk['bill-tier'], { n: 2, max_tokens: 100 });
        assert.equal(n.status, 200, n.body);
    });

    it('holds a 50-tokens-a-minute virtual key against huge max_tokens', async () => {
        create('bill-tpm', ['--tpm', '50']);
        const huge = await ask(vk['bill-tpm'], null,
            '{"model":"g-paid","messages":[{"role":"user","content":"hi"}],"max_tokens":9223372036854775807}');
        assert.equal(huge.status, 400, huge.body);
        assert.equal(huge.json.error.param, 'max_tokens');
        let ok = 0;
        for (let i = 0; i < 30; i++) {
            const r = await ask(vk['bill-tpm'], { max_tokens: 1000 });
            if (r.status === 200) ok++;
            else assert.equal(r.status, 429, r.body);
        }
        assert.ok(ok <= 1, `${ok} requests of up to 1,000 tokens went through a 50-token limit`);
    });
});

/* The spend report from the usage log, one line per provider attempt:
 * the first deployment breaks the output contract (its answer is charged,
 * with tokens), the second answers. */
describe('spend --from-log over a request that failed over once', () => {
    const server = h.SERVERS.find((s) => !h.missing(s));
    const PRICE = {
        'fo-a': { input_per_mtok: 2.5, output_per_mtok: 10 },
        'fo-b': { input_per_mtok: 1, output_per_mtok: 4 },
    };
    const PERSON = {
        type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } },
        required: ['name', 'age'], additionalProperties: false,
    };
    let S;
    let logFile;

    before(async () => {
        S = new h.Stack({
            tag: 'billing-log', servers: [server],
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { 'fo-a': {}, 'fo-b': {}, lie: {} },
                    groups: { 'g-fo': { deployments: ['fo-a', 'fo-b'], contract: { on_violation: 'next' } },
                        'g-lie': ['lie'] },
                    server: { processes: 1, threads: 2, usage_log: path.join(S.dir, 'usage.log') },
                });
                for (const [d, price] of Object.entries(PRICE)) cfg.deployments[d].price = { ...price };
                cfg.deployments.lie.price = { ...PRICE['fo-a'] };
                return cfg;
            },
        });
        await S.start();
        logFile = path.join(S.dir, 'usage.log');
    }, { timeout: 60000 });

    after(() => (S ? S.stop() : undefined), { timeout: 30000 });

    function spend(by, day, file) {
        const r = h.runSwitchyard(['spend', '--config', S.configFile, '--from-log', file,
            '--from', day, '--to', day, '--by', by, '--json']);
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
    }

    const cost = (rep, name) => (rep.rows.find((x) => x.name === name) || {}).cost_micro_usd;

    it('charges both attempts and counts the baseline on the answering line only', async () => {
        await S.mock.fault('fo-a', { content: 'not json at all: alpha beta gamma delta' });
        await S.mock.fault('fo-b', { content: '{"name":"Ada","age":36}' });
        const r = await h.request(S.base(server), {
            method: 'POST', path: '/v1/chat/completions',
            body: { model: 'g-fo', messages: msgs, max_tokens: 50,
                response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } } },
        });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-switchyard-deployment'], 'fo-b');
        /* The lines are written when the request settles, after the answer. */
        let lines = [];
        for (let i = 0; i < 50 && lines.length < 2; i++) {
            await h.sleep(100);
            lines = h.readUsageLog(logFile);
        }
        assert.equal(lines.length, 2, JSON.stringify(lines));
        const [a, b] = lines.sort((x, y) => x.attempt - y.attempt);
        assert.deepEqual([a.deployment, a.attempt, b.deployment, b.attempt, b.outcome],
            ['fo-a', 1, 'fo-b', 2, 'ok']);
        assert.notEqual(a.outcome, 'ok');
        assert.ok(a.prompt_tokens > 0 && a.completion_tokens > 0, JSON.stringify(a));
        const costA = h.costMicroUsd(PRICE['fo-a'], a);
        const costB = h.costMicroUsd(PRICE['fo-b'], b);
        assert.ok(costA > 0 && costB > 0);
        assert.deepEqual([a.cost_micro_usd, b.cost_micro_usd], [costA, costB]);
        const day = b.time.slice(0, 10);
        const deps = spend('deployment', day, logFile);
        assert.deepEqual([cost(deps, 'fo-a'), cost(deps, 'fo-b')], [costA, costB]);
        assert.equal(deps.total_micro_usd, costA + costB);
        assert.equal(deps.source.records_in_range, 2);
        /* The baseline: what fo-a would have charged for the answer alone. */
        const base = h.costMicroUsd(PRICE['fo-a'], b);
        const groups = spend('group', day, logFile);
        const g = groups.rows.find((x) => x.name === 'g-fo');
        assert.ok(g, JSON.stringify(groups));
        assert.equal(g.cost_micro_usd, costA + costB);
        assert.equal(g.baseline_micro_usd, base, JSON.stringify(g));
        assert.equal(g.first_deployment, 'fo-a');
        /* A log written before lines were per attempt (no "attempt",
         * "outcome"): its successful line carries the baseline. */
        const old = { ...b };
        delete old.attempt;
        delete old.outcome;
        delete old.estimated;
        const oldFile = path.join(S.dir, 'usage-old.log');
        fs.writeFileSync(oldFile, `${JSON.stringify(old)}\n`);
        const og = spend('group', day, oldFile).rows.find((x) => x.name === 'g-fo');
        assert.equal(og.baseline_micro_usd, base, JSON.stringify(og));
    });

    /* A provider that reports a prompt no request of this size can be
     * billed (5,000,000 tokens for a few hundred bytes): the usage log
     * charges at most the body's bytes plus the provider's framing
     * allowance (4,096), streamed or not; the completion as reported. */
    for (const stream of [false, true]) {
        it(`bounds a provider's impossible prompt count by the request (stream ${stream})`, async () => {
            await S.mock.fault('lie', { usage: { prompt_tokens: 5000000, completion_tokens: 7 } });
            const body = { model: 'g-lie', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, stream };
            if (stream) body.stream_options = { include_usage: true };
            const r = await h.request(S.base(server), { method: 'POST', path: '/v1/chat/completions', body });
            assert.equal(r.status, 200, r.body);
            const id = r.headers['x-request-id'];
            let line;
            for (let i = 0; i < 50 && !line; i++) {
                await h.sleep(100);
                line = h.readUsageLog(logFile).find((l) => l.request_id === id);
            }
            assert.ok(line, 'no usage line');
            const bytes = Buffer.byteLength(JSON.stringify(body));
            assert.ok(line.prompt_tokens > 0 && line.prompt_tokens <= bytes + 1 + 4096,
                      `prompt_tokens ${line.prompt_tokens} for a body of ${bytes} bytes`);
            assert.equal(line.completion_tokens, 7);
            assert.equal(line.cost_micro_usd, h.costMicroUsd(PRICE['fo-a'], line));
        });
    }
});
