/*
 * ledger.test.js - every provider call is paid for, and every breaker is
 * fair (issue 12), with real Redis and two stacks (lighttpd + its
 * switchyard pool, Apache + its own pool) on one mock provider.
 *
 * One virtual key with a money budget takes an adversarial mix from 32
 * concurrent callers spread over both stacks: streamed json_schema
 * violations, callers that disconnect at random points of a stream,
 * non-streamed violations on an on_violation "next" group (every
 * deployment is called), replies and streams without usage, streams
 * the provider cuts, failover chains (the first deployment answers 500),
 * n = 2. Every request is tagged (X-Request-Id and the mock directive
 * "tag"), so the mock's tally (the usage it REPORTED, per call) can be
 * joined with the usage log row by row. Afterwards:
 *
 *   - spend: the key's spend in Redis is the sum over every provider
 *     call of what the mock's tally says it cost, by the config's prices
 *     exactly as core/config/cost.c computes (harness costMicroUsd),
 *     where the rule for the calls the mock answered WITHOUT usage
 *     (outcome "no_usage": left out, stream cut, caller gone) is: charged
 *     an estimate > 0 and <= the reservation bound of that deployment for
 *     that request (body bytes + 1 input tokens at the dearer input
 *     price, max_tokens x n output tokens, markup, rounded up:
 *     worstCaseMicroUsd); calls answered with an error status cost 0;
 *     calls that got no answer at all (outcome "none": reset, stall) may
 *     cost 0 or such an estimate;
 *   - overshoot: spend - budget <= the largest single request's cost
 *     (its calls at their cost, or their bound when without usage), and
 *     the budget runs out: one caller at a time, a request is refused
 *     only within one reservation of it;
 *   - no reservation is left in Redis (budget hash and its :res set);
 *   - the usage log reconciles with Redis: the sum of cost_micro_usd of
 *     the key's lines is the Redis spend, and every provider call the
 *     mock counted has exactly one line (same request id and
 *     deployment; tokens and cost equal for calls with usage; marked
 *     "estimated" for calls without);
 *   - breakers: five long NON-streamed answers (token pacing slower than
 *     first_byte_ms) do not open a breaker and all succeed.
 *
 *   sh tests/integration/run.sh build tests/integration/ledger.test.js
 *
 * SY_LEDGER_SEED picks another mix. Skipped without redis-server or
 * lighttpd; without Apache both stacks run lighttpd.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;
const WEB = { A: 'lighttpd', B: h.missing('apache') ? 'lighttpd' : 'apache' };
const ENV = { SY_T_SECRET: 'ledger-test-server-secret-0123456789', SY_T_PK: 'pk-ledger-0123456789' };

const CALLERS = 32;
const ROUNDS = 8;
const MAX_TOKENS = 40;
const BUDGET_USD = 0.03;
const BUDGET_MICRO = 30000;
const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu';

/* Prices and markups: uneven on purpose, so that rounding matters. */
const DEPS = {
    lp: { price: { input_per_mtok: 2.5, output_per_mtok: 10 }, markup: 0 },
    na: { price: { input_per_mtok: 1.25, output_per_mtok: 5 }, markup: 5.5 },
    nb: { price: { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 1.5 }, markup: 0 },
    nc: { price: { input_per_mtok: 0.15, output_per_mtok: 0.6 }, markup: 20 },
    fa: { price: { input_per_mtok: 5, output_per_mtok: 20 }, markup: 0 },
    fb: { price: { input_per_mtok: 2, output_per_mtok: 8 }, markup: 10 },
    fc: { price: { input_per_mtok: 1, output_per_mtok: 4 }, markup: 0 },
    'long-a': { price: { input_per_mtok: 1, output_per_mtok: 1 }, markup: 0, slow: true },
    'long-b': { price: { input_per_mtok: 1, output_per_mtok: 1 }, markup: 0, slow: true },
};
const FIRST_BYTE_MS = 800;
const LONG_DIRECTIVE = { content: WORDS, chunks: 6, chunk_delay_ms: 250 }; /* 1.5 s */

const PERSON = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
    required: ['name', 'age'],
    additionalProperties: false,
};
const SCHEMA = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } };

function config(mockPort, redisUrl, usageLog) {
    const deps = {};
    for (const [name, d] of Object.entries(DEPS)) {
        deps[name] = { api_key_env: 'SY_T_PK', provider: { markup_pct: d.markup } };
        if (d.slow) deps[name].timeouts = { first_byte_ms: FIRST_BYTE_MS, idle_ms: 3000, total_ms: 10000 };
    }
    const cfg = h.gatewayConfig(mockPort, {
        deployments: deps,
        groups: {
            'g-plain': ['lp'],
            'g-next': { deployments: ['na', 'nb', 'nc'], contract: { on_violation: 'next' } },
            'g-chain': ['fa', 'fb', 'fc'],
            'g-long': ['long-a', 'long-b'],
        },
        server: { processes: 2, threads: 8, usage_log: usageLog },
    });
    for (const [name, d] of Object.entries(DEPS)) cfg.deployments[name].price = { ...d.price };
    cfg.deployments.lp.allow_fields = ['n'];
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200, key_secret_env: 'SY_T_SECRET',
        connect_timeout_ms: 300, command_timeout_ms: 1000,
        breaker: {
            consecutive: 5, min_requests: 20, failure_pct: 50, window_ms: 30000,
            open_ms: 5000, open_max_ms: 60000, jitter_pct: 0, probe_ms: 10000,
        },
    };
    return cfg;
}

/* ------------------------------------------------------------------ */
/* The mix                                                             */

/* A small deterministic PRNG (mulberry32), so a failing mix repeats. */
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/* Kinds of request, with their weight in the mix. Each returns the
 * request: {model, stream, directive, extra, cutAfter (events after
 * which the caller leaves), includeUsage}. */
const KINDS = {
    ok: [1, () => ({ model: 'g-plain', directive: { content: WORDS } })],
    okStream: [1, (r) => ({ model: 'g-plain', stream: true, includeUsage: r() < 0.5,
        directive: { content: WORDS, chunk_delay_ms: 5 } })],
    streamViolation: [2, (r) => ({ model: 'g-next', stream: true, includeUsage: r() < 0.5,
        extra: { response_format: SCHEMA },
        directive: { content: '{"name": 7, "note": "the age is missing"}', chunks: 4, chunk_delay_ms: 15 } })],
    violationNext: [2, () => ({ model: 'g-next', extra: { response_format: SCHEMA },
        directive: { content: `not json at all: ${WORDS}` } })],
    disconnect: [2, (r) => ({ model: 'g-plain', stream: true, includeUsage: r() < 0.7,
        cutAfter: 1 + Math.floor(r() * 9), directive: { content: WORDS, chunk_delay_ms: 25 } })],
    noUsage: [1, () => ({ model: 'g-plain', directive: { content: WORDS, no_usage: true } })],
    noUsageStream: [1, (r) => ({ model: 'g-plain', stream: true, includeUsage: r() < 0.5,
        directive: { content: WORDS, no_usage: true, chunk_delay_ms: 5 } })],
    providerCut: [1, () => ({ model: 'g-plain', stream: true,
        directive: { content: WORDS, stream_drop_after: 5, chunk_delay_ms: 10 } })],
    failover: [1, () => ({ model: 'g-chain', directive: { content: WORDS } })],
    failoverStream: [1, () => ({ model: 'g-chain', stream: true, directive: { content: WORDS, chunk_delay_ms: 5 } })],
    choices: [1, (r) => ({ model: 'g-plain', stream: r() < 0.5, extra: { n: 2 },
        directive: { content: WORDS, chunk_delay_ms: 5 } })],
};

function pick(r) {
    const total = Object.values(KINDS).reduce((s, [w]) => s + w, 0);
    let x = r() * total;
    for (const [name, [w, make]] of Object.entries(KINDS)) {
        if ((x -= w) < 0) return [name, make(r)];
    }
    throw new Error('unreachable');
}

/* Send one request of the mix; resolves with what the caller saw. */
function send(base, key, tag, spec, r) {
    const body = { model: spec.model, max_tokens: MAX_TOKENS,
        messages: [{ role: 'user', content: `Tell me about ${tag}. [[mock ${JSON.stringify({ ...spec.directive, tag })}]]` }],
        ...(spec.extra || {}) };
    if (spec.stream) {
        body.stream = true;
        if (spec.includeUsage) body.stream_options = { include_usage: true };
    }
    let seen = 0;
    const leaveAfter = Math.floor(r() * 20);
    return h.request(base, {
        method: 'POST', path: '/v1/chat/completions', body, timeout: 20000,
        headers: { Authorization: `Bearer ${key}`, 'X-Request-Id': tag },
        onEvent: spec.cutAfter ? (ev, req) => {
            if (++seen === spec.cutAfter) setTimeout(() => req.destroy(), leaveAfter);
        } : undefined,
    }).then((res) => ({ tag, bodyBytes: Buffer.byteLength(JSON.stringify(body)), spec, res }));
}

/* ------------------------------------------------------------------ */
/* The books                                                           */

/* What a call the mock counted costs by the rule in the file comment:
 * {exact} for calls with reported usage or an error, else {min, max}. */
function callCost(call, req) {
    const d = DEPS[call.deployment];
    if (call.outcome === 'usage') return { exact: h.costMicroUsd(d.price, call.usage, d.markup) };
    if (call.outcome === 'error') return { exact: 0 };
    const choices = (req.spec.extra && req.spec.extra.n) || 1;
    const max = h.worstCaseMicroUsd(d.price, req.bodyBytes + 1, MAX_TOKENS * choices, d.markup);
    return { min: call.outcome === 'no_usage' ? 1 : 0, max };
}

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 200)}`;
}

describe('every provider call is paid for (issue 12)', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let A;
    let B;
    const vk = {};
    let results = [];
    let calls = [];     /* the mock's log, ledger calls only */
    let lines = [];     /* usage-log lines of the ledger key */
    let books = null;   /* {spent, reserved, live, resCount} */
    const byTag = new Map();

    function cli(args) {
        return h.runSwitchyard(['keys', ...args, '--config', A.configFile], { env: ENV });
    }

    function createKey(name, opts) {
        const r = cli(['create', '--name', name, ...opts, '--json']);
        assert.equal(r.status, 0, `keys create ${name}: ${r.stderr}`);
        vk[name] = JSON.parse(r.stdout).key;
    }

    async function budgetBooks(name) {
        const raw = await redis.cmd('HGETALL', `sy:budget:{${name}}:total`);
        const o = {};
        for (let i = 0; i + 1 < raw.length; i += 2) o[raw[i]] = raw[i + 1];
        return {
            spent: Number(o.spent || 0), reserved: Number(o.reserved || 0),
            live: Object.keys(o).filter((k) => k.startsWith('r:')),
            resCount: await redis.cmd('ZCARD', `sy:budget:{${name}}:total:res`),
        };
    }

    before(async () => {
        redisDir = h.makeTmpDir('redis-ledger');
        redis = new h.Redis(redisDir);
        await redis.start();
        A = new h.Stack({ tag: 'ledgerA', env: ENV, servers: [WEB.A],
            config: (mockPort) => config(mockPort, redis.url, path.join(A.dir, 'usage.log')) });
        await A.start();
        B = new h.Stack({ tag: 'ledgerB', env: ENV, servers: [WEB.B], mock: false,
            config: () => config(A.mock.port, redis.url, path.join(B.dir, 'usage.log')) });
        await B.start();
        createKey('ledger', ['--budget-usd', String(BUDGET_USD), '--period', 'total']);
        createKey('brk', []);
        /* The head of every failover chain fails; its second half the time. */
        await A.mock.fault('fa', { status: 500 });
        await A.mock.fault('fb', { status: 500, rate: 0.5 });
        await A.mock.resetTally();
    }, { timeout: 60000 });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1') {
            for (const s of [A, B]) if (s) process.stderr.write(`${s.logs()}\n`);
        }
        if (B) await B.stop();
        if (A) await A.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    }, { timeout: 30000 });

    test('32 callers on both stacks run the adversarial mix', { timeout: 60000 }, async () => {
        const seed = Number(process.env.SY_LEDGER_SEED || 12);
        const callers = [];
        for (let c = 0; c < CALLERS; c++) {
            const stack = c % 2 ? B : A;
            const base = stack.base(c % 2 ? WEB.B : WEB.A);
            const r = prng(seed * 1000 + c);
            callers.push((async () => {
                const out = [];
                for (let i = 0; i < ROUNDS; i++) {
                    const [kind, spec] = pick(r);
                    const tag = `L${String(c).padStart(2, '0')}-${i}-${kind}`;
                    out.push({ kind, ...(await send(base, vk.ledger, tag, spec, r)) });
                }
                return out;
            })());
        }
        results = (await Promise.all(callers)).flat();
        for (const q of results) byTag.set(q.tag, q);
        /* Settling runs after the answer: wait for the books to close. */
        const t0 = Date.now();
        do {
            await h.sleep(200);
            books = await budgetBooks('ledger');
        } while (books.reserved !== 0 && Date.now() - t0 < 5000);
        await h.sleep(300);
        books = await budgetBooks('ledger');
        const tally = await A.mock.tally();
        calls = tally.log.filter((x) => byTag.has(x.tag));
        lines = [A, B].flatMap((s) => h.readUsageLog(path.join(s.dir, 'usage.log')))
            .filter((l) => l.key === 'ledger');
        const kinds = {};
        for (const q of results) {
            const k = kinds[q.kind] || (kinds[q.kind] = {});
            const st = q.res.error && !q.res.status ? 'cut' : String(q.res.status);
            k[st] = (k[st] || 0) + 1;
        }
        const outcomes = {};
        for (const x of calls) outcomes[x.outcome] = (outcomes[x.outcome] || 0) + 1;
        const left = results.filter((q) => q.spec.cutAfter && q.res.status === 200 && !q.res.complete).length;
        process.stdout.write(`# ledger mix (seed ${seed}): ${results.length} requests ` +
            `${JSON.stringify(kinds)}, ${left} callers left mid-stream\n# mock: ${calls.length} calls ${JSON.stringify(outcomes)}, ` +
            `log_dropped ${tally.log_dropped}; usage log: ${lines.length} lines; ` +
            `redis: spent ${books.spent} reserved ${books.reserved}\n`);
        assert.equal(tally.log_dropped, 0);
        assert.ok(calls.length >= CALLERS / 2, `only ${calls.length} provider calls`);
        const refused = results.filter((q) => q.res.status === 429);
        assert.ok(refused.every((q) => q.res.json && q.res.json.error.code === 'budget_exceeded'),
            refused.map((q) => brief(q.res)).join('\n'));
        /* Only contract violations may end in a 502 (every deployment
         * broke it); anything else must be served or refused. */
        const bad = results.filter((q) => q.res.status >= 500 && !/^(violationNext|streamViolation)$/.test(q.kind));
        assert.equal(bad.length, 0, bad.map((q) => `${q.tag}: ${brief(q.res)}`).join('\n'));
    });

    test('the key\'s spend in Redis is what the mock reported, by the config\'s prices', () => {
        let exact = 0;
        let lo = 0;
        let hi = 0;
        let nEst = 0;
        for (const x of calls) {
            const c = callCost(x, byTag.get(x.tag));
            if (c.exact !== undefined) exact += c.exact;
            else { lo += c.min; hi += c.max; nEst++; }
        }
        const msg = `Redis spent ${books.spent}; calls with usage or errors cost ${exact}; ` +
            `${nEst} calls without usage may add ${lo}..${hi}`;
        process.stdout.write(`# ${msg}\n`);
        assert.ok(books.spent >= exact + lo && books.spent <= exact + hi, msg);
    });

    test('overshoot of the budget is at most the largest single request', () => {
        const perTag = new Map();
        for (const x of calls) {
            const c = callCost(x, byTag.get(x.tag));
            perTag.set(x.tag, (perTag.get(x.tag) || 0) + (c.exact !== undefined ? c.exact : c.max));
        }
        const largest = Math.max(0, ...perTag.values());
        const over = books.spent - BUDGET_MICRO;
        process.stdout.write(`# budget ${BUDGET_MICRO}, spent ${books.spent}, overshoot ${over}, ` +
            `largest request ${largest}\n`);
        assert.ok(over <= largest, `overshoot ${over} > largest request ${largest}`);
    });

    test('the budget runs out: sequential requests are refused only within one reservation of it', async () => {
        /* Under 32 concurrent callers a refusal can come from money held
         * by reservations still in flight; one caller at a time, a request
         * is refused only when what was spent leaves less than its worst
         * case. A gateway that charges calls 0 never gets there. */
        const spec = { model: 'g-plain', directive: { content: WORDS } };
        let last = null;
        let worst = 0;
        for (let i = 0; i < 200; i++) {
            last = await send(A.base(WEB.A), vk.ledger, `LSEQ-${i}`, spec, prng(i));
            worst = Math.max(worst, h.worstCaseMicroUsd(DEPS.lp.price, last.bodyBytes + 1, MAX_TOKENS, DEPS.lp.markup));
            if (last.res.status !== 200) break;
        }
        assert.equal(last.res.status, 429, brief(last.res));
        assert.equal(last.res.json.error.code, 'budget_exceeded');
        let now;
        const t0 = Date.now();
        do {
            await h.sleep(100);
            now = await budgetBooks('ledger');
        } while (now.reserved !== 0 && Date.now() - t0 < 5000);
        process.stdout.write(`# sequential: refused at spent ${now.spent} of ${BUDGET_MICRO} (worst case ${worst})\n`);
        assert.ok(now.spent > BUDGET_MICRO - worst,
            `refused at spent ${now.spent} of ${BUDGET_MICRO}: more than one reservation (${worst}) left`);
        assert.ok(now.spent <= BUDGET_MICRO + worst);
    });

    test('no reservation is left in Redis', () => {
        assert.equal(books.reserved, 0, `reserved ${books.reserved}`);
        assert.deepEqual(books.live, [], 'live reservation fields');
        assert.equal(books.resCount, 0, 'members left in the :res set');
    });

    test('the usage log sums to the Redis spend', () => {
        const sum = lines.reduce((s, l) => s + l.cost_micro_usd, 0);
        assert.equal(sum, books.spent, `usage log ${sum} over ${lines.length} lines, Redis ${books.spent}`);
    });

    /* Join the mock's calls with the key's log lines: per request id, a
     * line of the same deployment; for a call with usage, the same tokens
     * and cost; for one without, a line marked estimated (its cost is
     * checked by the next test). Fills 'estimates'. */
    const estimates = [];
    test('every provider call the mock counted has one usage-log line, row by row', () => {
        const left = new Map();
        for (const l of lines) {
            if (!left.has(l.request_id)) left.set(l.request_id, []);
            left.get(l.request_id).push(l);
        }
        const problems = [];
        const counts = { calls: calls.length, lines: lines.length, matched: 0, missing: 0, wrong: 0 };
        const isEstimated = (l) => l.estimated === 1 || l.estimated === true;
        for (const x of calls) {
            const pool = left.get(x.tag) || [];
            const c = callCost(x, byTag.get(x.tag));
            const fits = (l) => {
                if (l.deployment !== x.deployment) return false;
                if (x.outcome === 'usage') {
                    return !isEstimated(l) && l.prompt_tokens === x.usage.prompt_tokens &&
                        l.completion_tokens === x.usage.completion_tokens && l.cost_micro_usd === c.exact;
                }
                if (x.outcome === 'error') return l.cost_micro_usd === 0;
                return x.outcome === 'none' || isEstimated(l);
            };
            let i = pool.findIndex(fits);
            if (i >= 0) {
                counts.matched++;
                const l = pool.splice(i, 1)[0];
                if (c.exact === undefined) estimates.push({ x, c, l });
                continue;
            }
            i = pool.findIndex((l) => l.deployment === x.deployment);
            counts[i >= 0 ? 'wrong' : 'missing']++;
            const l = i >= 0 ? pool.splice(i, 1)[0] : null;
            if (problems.length < 8) {
                problems.push(`${x.tag} ${x.deployment} ${x.outcome} usage ${JSON.stringify(x.usage)} ` +
                    (l ? `line ${l.prompt_tokens}/${l.completion_tokens} cost ${l.cost_micro_usd} ` +
                        `estimated ${l.estimated} outcome ${l.outcome}` : 'no line'));
            }
        }
        const extra = [...left.values()].flat().filter((l) => byTag.has(l.request_id));
        for (const l of extra.slice(0, 4)) {
            problems.push(`extra line ${l.request_id} ${l.deployment} cost ${l.cost_micro_usd}`);
        }
        const msg = `${JSON.stringify({ ...counts, extra: extra.length })}\n${problems.join('\n')}`;
        process.stdout.write(`# usage log vs mock: ${msg.split('\n')[0]}\n`);
        assert.ok(counts.missing === 0 && counts.wrong === 0 && extra.length === 0, msg);
    });

    test('calls without usage are charged an estimate > 0 within the reservation bound', () => {
        const bad = estimates.filter(({ c, l }) => l.cost_micro_usd < c.min || l.cost_micro_usd > c.max);
        const show = bad.slice(0, 6).map(({ x, c, l }) => `${x.tag} ${x.deployment} ${x.outcome}: ` +
            `charged ${l.cost_micro_usd} for ${l.prompt_tokens}/${l.completion_tokens} tokens, ` +
            `allowed ${c.min}..${c.max} (reply had ${x.tokens ? x.tokens.completion_tokens : '-'} ` +
            `completion tokens, max_tokens ${MAX_TOKENS})`);
        process.stdout.write(`# estimates: ${estimates.length} charged, ${bad.length} out of bounds\n`);
        assert.ok(estimates.length > 0, 'no call without usage was matched to an estimated line');
        assert.equal(bad.length, 0, show.join('\n'));
    });

    test('five long non-streamed answers open no breaker and all succeed', { timeout: 30000 }, async () => {
        const ask = (s, web, i) => h.request(s.base(web), {
            method: 'POST', path: '/v1/chat/completions', timeout: 25000,
            headers: { Authorization: `Bearer ${vk.brk}`, 'X-Request-Id': `long-${i}` },
            body: { model: 'g-long', max_tokens: MAX_TOKENS,
                messages: [{ role: 'user', content: `Write at length. [[mock ${JSON.stringify(LONG_DIRECTIVE)}]]` }] },
        });
        const rs = await Promise.all([0, 1, 2, 3, 4].map((i) => (i % 2 ? ask(B, WEB.B, i) : ask(A, WEB.A, i))));
        await h.sleep(600); /* a state refresh */
        const st = h.runSwitchyard(['status', '--config', A.configFile, '--json'], { env: ENV });
        assert.equal(st.status, 0, st.stderr);
        const dep = Object.fromEntries(JSON.parse(st.stdout).deployments.map((d) => [d.name, d]));
        const seen = rs.map((r) => `${r.status} ${r.headers['x-switchyard-deployment']} ` +
            `attempts=${r.headers['x-switchyard-attempts']} route=${r.headers['x-switchyard-route']}`);
        const states = ['long-a', 'long-b'].map((d) => `${d}: ${dep[d].breaker.state} ` +
            `(failures ${dep[d].failures})`);
        process.stdout.write(`# long answers: ${seen.join('; ')}\n# breakers: ${states.join('; ')}\n`);
        for (const r of rs) {
            assert.equal(r.status, 200, `${brief(r)}\n${seen.join('\n')}`);
            assert.ok(r.tEnd > 2 * FIRST_BYTE_MS, `a long answer took only ${r.tEnd} ms`);
            assert.equal(r.headers['x-switchyard-attempts'], '1', seen.join('\n'));
        }
        for (const d of ['long-a', 'long-b']) {
            assert.equal(dep[d].breaker.state, 'closed', states.join('; '));
        }
        const again = await ask(A, WEB.A, 5);
        assert.equal(again.status, 200, brief(again));
        assert.equal(again.headers['x-switchyard-deployment'], 'long-a', brief(again));
    });
});
