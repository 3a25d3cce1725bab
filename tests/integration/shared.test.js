/*
 * shared.test.js - shared state in Redis across two independent gateway
 * stacks (each its own lighttpd + switchyard pool) and one mock provider:
 * cluster-wide breakers (propagation, one half-open probe), caller-key
 * limits across stacks, latency routing that follows a slowdown and a
 * recovery, provider key pools draining a rate-limited key, `switchyard
 * status`, and Redis killed or hung under load.
 *
 *   sh tests/integration/run.sh build tests/integration/shared.test.js
 *
 * Skipped when redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;

/* Secrets in the environment of both pools (and of `switchyard status`). */
const SECRETS = {
    SY_T_CK_MAIN: 'sk-main-0123456789abcdef',
    SY_T_CK_LIMITED: 'sk-limited-0123456789abcdef',
    SY_T_CK_NARROW: 'sk-narrow-0123456789abcdef',
    SY_T_CK_OUTAGE: 'sk-outage-0123456789abcdef',
    SY_T_CK_TOKENS: 'sk-tokens-0123456789abcdef',
    SY_T_PK_POOL1: 'pk-pool-one-0123456789abcdef',
    SY_T_PK_POOL2: 'pk-pool-two-0123456789abcdef',
};
const AUTH = { Authorization: `Bearer ${SECRETS.SY_T_CK_MAIN}` };
const LIMITED_RPM = 30;
const LIMITED_TPM = 1000000;
const TOKENS_TPM = 500;
const OPEN_MS = 3000;

/* The mock's base delays of the latency group: lat-a is the fastest, and
 * lat-b and lat-c stay over twice its time even with a sanitizer build's
 * overhead on every call (the spread shares traffic between deployments
 * less than 2x apart). */
const LAT_BASE = { 'lat-a': 20, 'lat-b': 600, 'lat-c': 900 };
const SLOWDOWN_MS = 2000;
const EXPLORE_PCT = 5; /* the latency group's explore_pct (the default) */
const WORKERS = 4;     /* worker processes in the two stacks */

function config(mockPort, redisUrl) {
    const deps = {};
    for (const n of ['brk-a', 'brk-fb', 'basic', 'cerr', 'st-err', 'st-fb', 'lat-a', 'lat-b', 'lat-c',
        'pool-fb', 'probe-a', 'probe-fb']) deps[n] = {};
    deps.pool = {
        api_key_env: ['SY_T_PK_POOL1', 'SY_T_PK_POOL2'],
        provider: { key_rpm: 1000, key_tpm: 10000000 },
    };
    const cfg = h.gatewayConfig(mockPort, {
        deployments: deps,
        groups: {
            'g-brk': ['brk-a', 'brk-fb'],
            'g-basic': ['basic'],
            'g-cerr': ['cerr'],
            'g-st': ['st-err', 'st-fb'],
            'g-lat-a': ['lat-a'],
            'g-lat-b': ['lat-b'],
            'g-lat-c': ['lat-c'],
            'g-pool': ['pool', 'pool-fb'],
            'g-probe': ['probe-a', 'probe-fb'],
        },
        server: { processes: 2, threads: 16 },
    });
    cfg.groups['g-lat'] = {
        deployments: ['lat-a', 'lat-b', 'lat-c'], strategy: 'latency', min_samples: 3,
        explore_pct: EXPLORE_PCT,
    };
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200, window_ms: 6000, slice_ms: 1000,
        connect_timeout_ms: 200, command_timeout_ms: 200, cluster_workers: 4,
        breaker: {
            consecutive: 5, min_requests: 20, failure_pct: 50, window_ms: 30000,
            open_ms: OPEN_MS, open_max_ms: 60000, jitter_pct: 0, probe_ms: 10000,
        },
    };
    cfg.keys = {
        main: { key_env: 'SY_T_CK_MAIN', rpm: 100000, tpm: 100000000 },
        limited: { key_env: 'SY_T_CK_LIMITED', rpm: LIMITED_RPM, tpm: LIMITED_TPM },
        narrow: { key_env: 'SY_T_CK_NARROW', models: ['g-basic'] },
        /* Used only while Redis is down: local caps of 20 / 4 = 5 per
         * worker process, 4 processes in the two stacks. */
        outage: { key_env: 'SY_T_CK_OUTAGE', rpm: 20 },
        tokens: { key_env: 'SY_T_CK_TOKENS', rpm: 100000, tpm: TOKENS_TPM },
    };
    return cfg;
}

function chatOn(stack, model, opts = {}) {
    return h.chat(stack.base('lighttpd'), {
        model, headers: opts.headers || AUTH, timeout: opts.timeout || 15000, ...opts,
    });
}

function health(stack) {
    return h.request(stack.base('lighttpd'), { path: '/healthz', timeout: 3000 });
}

/* Redis' idea of a breaker: {state: 0 closed / 1 open / 2 half-open, ...}. */
async function breakerOf(redis, dep) {
    const r = await redis.cmd('HGETALL', `sy:br:{${dep}}`);
    const o = {};
    for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
    return { state: Number(o.state || 0), openUntil: Number(o.open_until || 0),
        trips: Number(o.trips || 0), raw: o };
}

async function redisNowMs(redis) {
    const t = await redis.cmd('TIME');
    return Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
}

/* Open-loop load: call fn(i) every 1000/rate ms for durationMs; resolves
 * with [{t (ms since start when sent), i, r}] once every call is done. */
async function openLoop(rate, durationMs, fn) {
    const out = [];
    const pending = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < durationMs; i++) {
        const t = Date.now() - t0;
        pending.push(fn(i).then((r) => { out.push({ t, i, r }); }));
        const next = t0 + (i + 1) * (1000 / rate);
        await h.sleep(Math.max(0, next - Date.now()));
    }
    await Promise.all(pending);
    return out.sort((a, b) => a.i - b.i);
}

/* Short description of a failed answer, for assertion messages. */
function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 200)}`;
}

describe('shared state across two stacks', { skip: SKIP }, () => {
    let redis;
    let redisDir;
    let A;
    let B;
    let limitedAdmitted = null; /* requests the 'limited' key got through */

    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        A = new h.Stack({ tag: 'shA', env: SECRETS,
            config: (mockPort) => config(mockPort, redis.url) });
        await A.start();
        /* B shares A's mock (mock: false), so per-deployment stats cover
         * both stacks. */
        B = new h.Stack({ tag: 'shB', env: SECRETS, mock: false,
            config: () => config(A.mock.port, redis.url) });
        await B.start();
        for (const [d, ms] of Object.entries(LAT_BASE)) await A.mock.fault(d, { delay_ms: ms });
    });

    after(async () => {
        if (process.env.SY_TEST_VERBOSE === '1') {
            for (const s of [A, B]) if (s) process.stderr.write(`${s.logs()}\n`);
        }
        if (B) await B.stop();
        if (A) await A.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('healthz reports Redis up on both stacks', async () => {
        for (const s of [A, B]) {
            const r = await health(s);
            assert.equal(r.status, 200);
            assert.equal(r.json.status, 'ok', r.body);
            assert.equal(r.json.redis, 'up', r.body);
        }
    });

    test('failures seen only by stack A open the breaker; stack B stops sending within 250 ms', async () => {
        await A.mock.fault('brk-a', { status: 500 });
        /* Only A sends to g-brk: each request fails on brk-a, then brk-fb
         * answers. */
        for (let i = 0; i < 7; i++) {
            const r = await chatOn(A, 'g-brk');
            assert.equal(r.status, 200, brief(r));
            const b = await breakerOf(redis, 'brk-a');
            if (b.state === 1) break;
        }
        let tOpen = null;
        const t0 = Date.now();
        while (Date.now() - t0 < 2000) {
            if ((await breakerOf(redis, 'brk-a')).state === 1) { tOpen = Date.now(); break; }
            await h.sleep(10);
        }
        assert.ok(tOpen, `breaker of brk-a not open in Redis: ${JSON.stringify(await breakerOf(redis, 'brk-a'))}`);
        const aFailures = (await A.mock.stats())['brk-a'].by_status['500'];
        assert.ok(aFailures >= 5, `brk-a saw ${aFailures} failures`);

        /* How long until B excludes it (B has never sent to brk-a). */
        let seenAt = null;
        let last;
        while (Date.now() - tOpen < 1500) {
            last = await chatOn(B, 'g-brk');
            if (/excluded brk-a\(breaker open\)/.test(last.headers['x-switchyard-route'] || '')) {
                seenAt = Date.now();
                break;
            }
        }
        assert.ok(seenAt, `B never excluded brk-a; last route: ${last && last.headers['x-switchyard-route']}`);
        process.stderr.write(`shared: B excluded brk-a ${seenAt - tOpen} ms after Redis had it open\n`);

        await h.sleep(Math.max(0, tOpen + 250 - Date.now()));
        await A.mock.resetStats();
        const rs = [];
        for (let i = 0; i < 6; i++) rs.push(chatOn(B, 'g-brk'));
        for (const r of await Promise.all(rs)) {
            assert.equal(r.status, 200, brief(r));
            assert.equal(r.headers['x-switchyard-deployment'], 'brk-fb');
            assert.equal(r.headers['x-switchyard-attempts'], '1');
            assert.match(r.headers['x-switchyard-route'], /^priority;.*excluded brk-a\(breaker open\)/);
        }
        const st = await A.mock.stats();
        assert.equal(st['brk-a'] ? st['brk-a'].requests : 0, 0, 'B still sent to brk-a');
        await A.mock.fault('brk-a', {});
    });

    test('a caller key RPM limit holds across both stacks under concurrent load', async () => {
        const hdr = { Authorization: `Bearer ${SECRETS.SY_T_CK_LIMITED}` };
        const rs = [];
        for (let i = 0; i < 120; i++) rs.push(chatOn(i % 2 ? B : A, 'g-basic', { headers: hdr }));
        const all = await Promise.all(rs);
        const ok = all.filter((r) => r.status === 200);
        const limited = all.filter((r) => r.status === 429);
        const other = all.filter((r) => r.status !== 200 && r.status !== 429);
        process.stderr.write(`shared: rpm ${LIMITED_RPM}: ${ok.length} admitted ` +
            `(A ${all.filter((r, i) => i % 2 === 0 && r.status === 200).length}, ` +
            `B ${all.filter((r, i) => i % 2 === 1 && r.status === 200).length}), ` +
            `${limited.length} refused\n`);
        limitedAdmitted = ok.length;
        assert.equal(other.length, 0, other.map(brief).join('\n'));
        assert.ok(ok.length <= LIMITED_RPM, `${ok.length} admitted, limit ${LIMITED_RPM}`);
        assert.ok(ok.length >= LIMITED_RPM - 2, `only ${ok.length} admitted of ${LIMITED_RPM}`);
        assert.ok(all.filter((r, i) => i % 2 === 0 && r.status === 200).length > 0, 'A admitted none');
        assert.ok(all.filter((r, i) => i % 2 === 1 && r.status === 200).length > 0, 'B admitted none');
        for (const r of limited) {
            assert.equal(r.json.error.code, 'rate_limit_exceeded', r.body);
            assert.equal(r.headers['x-ratelimit-limit-requests'], String(LIMITED_RPM));
            assert.equal(r.headers['x-ratelimit-remaining-requests'], '0');
            assert.match(r.headers['x-ratelimit-reset-requests'] || '', /^(\d+ms|\d+s|\d+m\d+s)$/);
            assert.match(r.headers['retry-after'] || '', /^[1-9]\d*$/);
            assert.ok(Number(r.headers['retry-after']) <= 60, r.headers['retry-after']);
        }
    });

    test('a caller key over its TPM gets a 429 with the -tokens headers', async () => {
        /* A request reserves its prompt estimate plus max_tokens until it
         * settles with the real usage. While a big one is in flight (the
         * mock holds it), the next big one does not fit the key's TPM. */
        const hdr = { Authorization: `Bearer ${SECRETS.SY_T_CK_TOKENS}` };
        const first = chatOn(A, 'g-basic', { headers: hdr, directive: { delay_ms: 1500 },
            extra: { max_tokens: 2 * TOKENS_TPM } });
        await new Promise((res) => setTimeout(res, 300));
        const r = await chatOn(B, 'g-basic', { headers: hdr, extra: { max_tokens: 2 * TOKENS_TPM } });
        assert.equal(r.status, 429, brief(r));
        assert.equal(r.json.error.code, 'rate_limit_exceeded', r.body);
        assert.equal(r.headers['x-ratelimit-limit-tokens'], String(TOKENS_TPM));
        assert.equal(r.headers['x-ratelimit-remaining-tokens'], '0');
        assert.match(r.headers['x-ratelimit-reset-tokens'] || '', /^(\d+ms|\d+s|\d+m\d+s)$/);
        assert.equal(r.headers['x-ratelimit-limit-requests'], '100000');
        assert.match(r.headers['retry-after'] || '', /^[1-9]\d*$/);
        const f = await first;
        assert.equal(f.status, 200, brief(f));
        /* Settled with the real (small) usage: the key has room again. */
        const ok = await chatOn(A, 'g-basic', { headers: hdr, extra: { max_tokens: 16 } });
        assert.equal(ok.status, 200, brief(ok));
    });

    test('caller keys: unknown or missing key is 401, a model outside the key is 403', async () => {
        for (const headers of [{}, { Authorization: 'Bearer sk-not-a-key-0123456789' },
            { Authorization: SECRETS.SY_T_CK_MAIN }]) {
            const r = await chatOn(B, 'g-basic', { headers });
            assert.equal(r.status, 401, brief(r));
            assert.equal(r.json.error.code, 'invalid_api_key');
            assert.ok(!r.body.includes(SECRETS.SY_T_CK_MAIN));
        }
        const narrow = { Authorization: `Bearer ${SECRETS.SY_T_CK_NARROW}` };
        const r = await chatOn(A, 'g-brk', { headers: narrow });
        assert.equal(r.status, 403, brief(r));
        assert.equal(r.json.error.code, 'model_not_allowed');
        const ok = await chatOn(A, 'g-basic', { headers: narrow });
        assert.equal(ok.status, 200, brief(ok));
    });

    test('caller errors (4xx) and callers that go away never count against the breaker', async () => {
        await A.mock.resetStats();
        const rs = [];
        for (let i = 0; i < 6; i++) {
            rs.push(chatOn(i % 2 ? B : A, 'g-cerr', { directive: { status: i % 3 ? 400 : 422 } }));
        }
        for (const r of await Promise.all(rs)) assert.ok(r.status === 400 || r.status === 422, brief(r));
        /* Callers that give up while the provider is still working. */
        const gone = [];
        for (let i = 0; i < 6; i++) {
            gone.push(chatOn(i % 2 ? B : A, 'g-cerr', {
                directive: { delay_ms: 800 }, stream: i % 2 === 0, timeout: 200,
            }));
        }
        for (const r of await Promise.all(gone)) assert.ok(r.error, `not cut: ${brief(r)}`);
        await h.sleep(1300);
        const st = (await A.mock.stats()).cerr;
        assert.equal(st.requests, 12, JSON.stringify(st));
        const b = await breakerOf(redis, 'cerr');
        const fails = Object.entries(b.raw).filter(([k]) => /^f\d+$/.test(k))
            .reduce((n, [, v]) => n + Number(v), 0);
        assert.equal(b.state, 0, JSON.stringify(b.raw));
        assert.equal(fails, 0, `counted as provider failures: ${JSON.stringify(b.raw)}`);
        const ok = await chatOn(A, 'g-cerr');
        assert.equal(ok.status, 200, brief(ok));
    });

    test('latency routing: a 2 s slowdown of the fastest moves >= 90 % of traffic off it within 10 s, and it comes back', async () => {
        /* Every deployment learned (min_samples 3) before the latency
         * group is used: single-deployment groups feed the same stats. */
        const warm = [];
        for (const d of ['a', 'b', 'c']) {
            for (let i = 0; i < 4; i++) warm.push(chatOn(i % 2 ? B : A, `g-lat-${d}`));
        }
        for (const r of await Promise.all(warm)) assert.equal(r.status, 200, brief(r));
        await h.sleep(600);
        const share = (rs, from, to) => {
            const win = rs.filter((x) => x.t >= from && x.t < to);
            const onA = win.filter((x) => x.r.headers['x-switchyard-deployment'] === 'lat-a');
            return { n: win.length, a: onA.length, frac: win.length ? onA.length / win.length : 0 };
        };
        const send = (i) => chatOn(i % 2 ? B : A, 'g-lat');
        const base = await openLoop(20, 1500, send);
        for (const x of base) assert.equal(x.r.status, 200, brief(x.r));
        const b = share(base, 0, 1500);
        /* The last route that is not an exploration probe (those lead
         * with the probed deployment, within explore_pct by design). */
        const routes = base.map((x) => x.r.headers['x-switchyard-route'] || '');
        const route = routes.filter((x) => !/\(exploring\)/.test(x)).pop() || '';
        process.stderr.write(`shared: latency baseline ${b.a}/${b.n} on lat-a; route "${route}"\n`);
        assert.match(route, /^latency; lat-a=\d+ms lat-b=\d+ms lat-c=\d+ms/);
        assert.ok(b.frac >= 0.9, `baseline: only ${b.a}/${b.n} on the fastest`);

        await A.mock.fault('lat-a', { delay_ms: LAT_BASE['lat-a'] + SLOWDOWN_MS });
        const slow = await openLoop(20, 12000, send);
        for (const x of slow) assert.equal(x.r.status, 200, brief(x.r));
        const perSecond = [];
        for (let s = 0; s < 12; s++) {
            const w = share(slow, s * 1000, (s + 1) * 1000);
            perSecond.push(`${w.a}/${w.n}`);
        }
        process.stderr.write(`shared: lat-a share per second after the slowdown: ${perSecond.join(' ')}\n`);
        const late = share(slow, 10000, 12000);
        assert.ok(late.frac <= 0.1,
            `10-12 s after the slowdown ${late.a}/${late.n} still on lat-a (per second: ${perSecond.join(' ')}); ` +
            `last route: ${slow[slow.length - 1].r.headers['x-switchyard-route']}`);
        /* Strict: once moved (the first second with at most 10 % on
         * lat-a, within 10 s; from the next one, as every process has
         * refreshed), lat-a gets nothing but its exploration share: each
         * worker process explores every (100 / explore_pct)th request of
         * the group, unlearned deployments in turn, so never more than
         * that share plus one per process. */
        const moved = perSecond.findIndex((x, i) => share(slow, i * 1000, (i + 1) * 1000).frac <= 0.1);
        assert.ok(moved >= 0 && moved < 10, `not moved off lat-a within 10 s: ${perSecond.join(' ')}`);
        /* And not before lat-a's first slowed call can have ended (its
         * delay) and every process refreshed: until then no process can
         * know it is slow, and the spread moves traffic off it on its
         * calls in flight alone. */
        const known = LAT_BASE['lat-a'] + SLOWDOWN_MS + 1000;
        const after = slow.filter((x) => x.t >= Math.max((moved + 1) * 1000, known));
        const onA = after.filter((x) => x.r.headers['x-switchyard-deployment'] === 'lat-a');
        for (const x of onA) {
            assert.match(x.r.headers['x-switchyard-route'], /lat-a\(exploring\)/,
                `lat-a routed to at ${x.t} ms without exploring`);
        }
        /* A probe of the slowed lat-a is given up once the healthy ones
         * would have answered twice over (pipeline_probe.c: twice lat-b's
         * p95, about 1.2 s, before lat-a's 2 s), and served by another. */
        const probes = slow.filter((x) => x.t >= known &&
            /^latency; lat-a\(exploring\)/.test(x.r.headers['x-switchyard-route'] || ''));
        for (const x of probes) {
            assert.notEqual(x.r.headers['x-switchyard-deployment'], 'lat-a',
                `a probe at ${x.t} ms waited for the slowed lat-a`);
            assert.equal(x.r.headers['x-switchyard-attempts'], '2', `probe at ${x.t} ms`);
        }
        const bound = Math.ceil(after.length * EXPLORE_PCT / 100) + WORKERS;
        process.stderr.write(`shared: moved off lat-a in second ${moved}; then ${probes.length} probes cut, ${onA.length} explorations ` +
            `of lat-a in ${after.length} requests (bound ${bound})\n`);
        assert.ok(onA.length <= bound, `${onA.length} requests on lat-a after the move, bound ${bound}`);

        await A.mock.fault('lat-a', { delay_ms: LAT_BASE['lat-a'] });
        const rec = await openLoop(20, 20000, send);
        for (const x of rec) assert.equal(x.r.status, 200, brief(x.r));
        const recPerSecond = [];
        let back = null;
        for (let s = 0; s < 20; s++) {
            const w = share(rec, s * 1000, (s + 1) * 1000);
            recPerSecond.push(`${w.a}/${w.n}`);
            if (back === null && w.frac >= 0.9) back = s;
        }
        process.stderr.write(`shared: lat-a share per second after recovery: ${recPerSecond.join(' ')}\n`);
        assert.ok(back !== null, `traffic never came back to lat-a: ${recPerSecond.join(' ')}`);
        /* At the end lat-a takes everything but the other deployments'
         * exploration trials: every one of those is marked as such, and
         * there are at most EXPLORE_PCT % of the requests plus one per
         * process (each process paces its own trials), the bound used
         * after the move above. */
        const tailReqs = rec.filter((x) => x.t >= 18000 && x.t < 20000);
        const tail = share(rec, 18000, 20000);
        for (const x of tailReqs) {
            if (x.r.headers['x-switchyard-deployment'] === 'lat-a') continue;
            assert.match(x.r.headers['x-switchyard-route'], /\(exploring\)/,
                `at ${x.t} ms a request went to ${x.r.headers['x-switchyard-deployment']} without exploring`);
        }
        const tailBound = Math.ceil(tail.n * EXPLORE_PCT / 100) + WORKERS;
        assert.ok(tail.n - tail.a <= tailBound,
            `at the end only ${tail.a}/${tail.n} on lat-a (bound ${tailBound} elsewhere)`);
        /* Strict: once back, the others get only exploration. */
        for (const x of rec.filter((y) => y.t >= (back + 1) * 1000)) {
            const dep = x.r.headers['x-switchyard-deployment'];
            if (dep !== 'lat-a') {
                assert.match(x.r.headers['x-switchyard-route'], new RegExp(`${dep}\\(exploring\\)`),
                    `${dep} routed to at ${x.t} ms after lat-a was back, not exploring`);
            }
        }
    });

    test('a provider key answering 429 drains to the next key of the same deployment without tripping the breaker', async () => {
        await A.mock.fault('pool', { status: 429, retry_after: 1, only_key: SECRETS.SY_T_PK_POOL1 });
        await A.mock.resetStats();
        const out = [];
        for (let wave = 0; wave < 6; wave++) {
            const rs = [];
            for (let i = 0; i < 8; i++) rs.push(chatOn(i % 2 ? B : A, 'g-pool'));
            out.push(...await Promise.all(rs));
            await h.sleep(250);
        }
        for (const r of out) {
            assert.equal(r.status, 200, brief(r));
            assert.equal(r.headers['x-switchyard-deployment'], 'pool', JSON.stringify(r.headers));
            assert.ok(Number(r.headers['x-switchyard-attempts']) <= 2,
                `attempts ${r.headers['x-switchyard-attempts']}`);
        }
        const st = await A.mock.stats();
        const n429 = st.pool.by_status['429'] || 0;
        process.stderr.write(`shared: key pool: ${out.length} answers, ${n429} 429s from key 1, ` +
            `attempts: ${out.map((r) => r.headers['x-switchyard-attempts']).join('')}\n`);
        assert.ok(n429 >= 1, 'key 1 was never tried: the test proves nothing');
        assert.equal(st['pool-fb'] ? st['pool-fb'].requests : 0, 0, 'requests left the deployment');
        /* Every 429 came from key 1, and key 1 was parked: far fewer 429s
         * than requests. */
        assert.ok(n429 < out.length / 2, `${n429} 429s for ${out.length} requests: key 1 not parked?`);
        await h.sleep(400);
        const b = await breakerOf(redis, 'pool');
        assert.equal(b.state, 0, `breaker of pool: ${JSON.stringify(b.raw)}`);
        const fails = Object.entries(b.raw).filter(([k]) => /^f\d+$/.test(k))
            .reduce((s, [, v]) => s + Number(v), 0);
        assert.equal(fails, 0, `429s counted as failures: ${JSON.stringify(b.raw)}`);
        await A.mock.fault('pool', {});
    });

    test('`switchyard status` shows the traffic: latency, breakers, provider keys (by name) and caller keys', async () => {
        /* Fresh outcomes: 3 provider failures in 10 on st-err (not in a
         * row enough to trip), samples for 'basic' and 'pool' within the
         * 6 s window. */
        await A.mock.fault('st-err', { status: 500, count: 3 });
        for (let i = 0; i < 10; i++) {
            const r = await chatOn(i % 2 ? B : A, 'g-st');
            assert.equal(r.status, 200, brief(r));
        }
        const rs = [];
        for (let i = 0; i < 12; i++) rs.push(chatOn(i % 2 ? B : A, i % 3 ? 'g-basic' : 'g-pool'));
        for (const r of await Promise.all(rs)) assert.equal(r.status, 200, brief(r));
        await h.sleep(500);
        const env = { ...SECRETS };
        const j = h.runSwitchyard(['status', '--config', A.configFile, '--json'], { env });
        assert.equal(j.status, 0, j.stderr);
        const s = JSON.parse(j.stdout);
        const dep = Object.fromEntries(s.deployments.map((d) => [d.name, d]));
        assert.ok(dep.basic.samples >= 8, JSON.stringify(dep.basic));
        assert.ok(dep.basic.latency_ms.p50 > 0 && dep.basic.latency_ms.p99 >= dep.basic.latency_ms.p50);
        assert.ok(dep.basic.ttft_ms.p50 > 0 && dep.basic.ttft_ms.p95 >= dep.basic.ttft_ms.p50);
        assert.equal(dep.basic.breaker.state, 'closed');
        assert.equal(dep.basic.error_rate, 0);
        assert.equal(dep['st-err'].outcomes, 10, JSON.stringify(dep['st-err']));
        assert.equal(dep['st-err'].failures, 3, JSON.stringify(dep['st-err']));
        assert.equal(dep['st-err'].error_rate, 0.3);
        assert.equal(dep['st-err'].breaker.state, 'closed');
        assert.ok(dep['st-err'].samples >= 7, JSON.stringify(dep['st-err']));
        /* brk-a opened in the first test; nobody has probed it since. */
        assert.ok(dep['brk-a'].breaker.trips >= 1, JSON.stringify(dep['brk-a']));
        assert.equal(dep['brk-a'].breaker.state, 'open', JSON.stringify(dep['brk-a']));
        assert.ok(dep['brk-a'].breaker.open_until_ms > 0);
        assert.equal(dep.pool.breaker.state, 'closed');
        const pk = Object.fromEntries(s.provider_keys.map((k) => [k.name, k]));
        assert.deepEqual(Object.keys(pk).sort(), ['p-pool#1', 'p-pool#2']);
        assert.equal(pk['p-pool#2'].rpm.limit, 1000);
        assert.equal(pk['p-pool#2'].tpm.limit, 10000000);
        assert.ok(pk['p-pool#2'].rpm.used >= 4, JSON.stringify(pk['p-pool#2']));
        assert.ok(pk['p-pool#2'].tpm.used > 0, JSON.stringify(pk['p-pool#2']));
        const ck = Object.fromEntries(s.caller_keys.map((k) => [k.name, k]));
        assert.equal(ck.limited.rpm.limit, LIMITED_RPM);
        /* What the 'limited' key got through is all in the current or the
         * previous minute (the 'used' estimate decays after a rollover). */
        if (limitedAdmitted !== null) {
            assert.equal(ck.limited.rpm.current_window + ck.limited.rpm.previous_window,
                limitedAdmitted, JSON.stringify(ck.limited));
        }
        assert.ok(ck.limited.rpm.used <= LIMITED_RPM, JSON.stringify(ck.limited));
        assert.ok(ck.main.rpm.used >= 12, JSON.stringify(ck.main));
        assert.equal(ck.narrow.rpm.limit, null);

        const t = h.runSwitchyard(['status', '--config', A.configFile], { env });
        assert.equal(t.status, 0, t.stderr);
        assert.match(t.stdout, /^DEPLOYMENT +SAMPLES/m);
        assert.match(t.stdout, /^basic +\d+ +\d/m);
        assert.match(t.stdout, /^brk-a .*open/m);
        assert.match(t.stdout, /^st-err +\d+ .* 30\.0% of 10 +closed/m);
        assert.match(t.stdout, /^p-pool#2 +\d+\/1000 +\d+\/10000000/m);
        assert.match(t.stdout, /^limited +\d+\/30 /m);
        for (const out of [j.stdout, t.stdout, j.stderr, t.stderr]) {
            for (const secret of Object.values(SECRETS)) assert.ok(!out.includes(secret), 'a secret in the output');
        }

        /* Without shared state it says so and fails. */
        const cfg = JSON.parse(fs.readFileSync(A.configFile, 'utf8'));
        delete cfg.state.redis_url;
        const f = path.join(A.dir, 'nostate.json');
        fs.writeFileSync(f, JSON.stringify(cfg));
        const n = h.runSwitchyard(['status', '--config', f], { env });
        assert.equal(n.status, 1);
        assert.match(n.stderr, /state\.redis_url/);
    });

    test('half-open: one probe at a time for the whole cluster, then traffic returns', async () => {
        await A.mock.fault('probe-a', { status: 500 });
        for (let i = 0; i < 7; i++) {
            const r = await chatOn(i % 2 ? B : A, 'g-probe');
            assert.equal(r.status, 200, brief(r));
            if ((await breakerOf(redis, 'probe-a')).state === 1) break;
        }
        await h.waitFor('probe-a open in Redis', async () =>
            (await breakerOf(redis, 'probe-a')).state === 1, 2000);
        /* Recovered, but slow: the probe holds its slot 1.5 s. */
        await A.mock.fault('probe-a', { delay_ms: 1500 });
        const br = await breakerOf(redis, 'probe-a');
        const wait = br.openUntil - (await redisNowMs(redis));
        assert.ok(wait > 0 && wait <= OPEN_MS + 100, `open for ${wait} ms`);
        await h.sleep(wait + 50);
        await A.mock.resetStats();
        /* Waves of concurrent requests from both stacks while the probe is
         * out, all with one caller-chosen 64-character X-Request-Id (the
         * probe token must be the gateway's own id). */
        const pending = [];
        const rid = { ...AUTH, 'X-Request-Id': `probe-${'x'.repeat(58)}` };
        for (let wave = 0; wave < 8; wave++) {
            for (let i = 0; i < 8; i++) pending.push(chatOn(i % 2 ? B : A, 'g-probe', { headers: rid }));
            await h.sleep(100);
        }
        await h.sleep(300);
        const during = (await A.mock.stats())['probe-a'] || { requests: 0, max_in_flight: 0 };
        const all = await Promise.all(pending);
        for (const r of all) assert.equal(r.status, 200, brief(r));
        const st = (await A.mock.stats())['probe-a'];
        process.stderr.write(`shared: half-open: probe-a got ${st.requests} request(s) during the waves, ` +
            `max in flight ${st.max_in_flight}\n`);
        assert.equal(during.requests, 1, `probe-a received ${during.requests} requests while half-open`);
        assert.equal(st.max_in_flight, 1);
        const byProbe = all.filter((r) => r.headers['x-switchyard-deployment'] === 'probe-a');
        assert.ok(byProbe.length >= 1, 'the probe did not answer anyone');
        /* The probe succeeded: closed everywhere, probe-a serves again. */
        await h.waitFor('probe-a closed in Redis', async () =>
            (await breakerOf(redis, 'probe-a')).state === 0, 2000);
        await A.mock.fault('probe-a', {});
        await h.sleep(300);
        for (const s of [A, B]) {
            const rs = [];
            for (let i = 0; i < 6; i++) rs.push(chatOn(s, 'g-probe'));
            const got = await Promise.all(rs);
            const deps = got.map((r) => r.headers['x-switchyard-deployment']);
            assert.ok(deps.every((d) => d === 'probe-a'),
                `${s === A ? 'A' : 'B'} after the close: ${deps.join(' ')}; route ${got[0].headers['x-switchyard-route']}`);
        }
    });

    /* Closed-loop load on g-basic from 'n' clients over both stacks;
     * returns {results, stop()}. */
    function background(n) {
        const results = [];
        let stopped = false;
        const loop = async (s) => {
            while (!stopped) {
                const r = await chatOn(s, 'g-basic');
                results.push({ t: Date.now(), r });
            }
        };
        const loops = [];
        for (let i = 0; i < n; i++) loops.push(loop(i % 2 ? B : A));
        return { results, stop: async () => { stopped = true; await Promise.all(loops); } };
    }

    /* Every answer of /healthz on both stacks (any worker may answer)
     * satisfies 'pred', 'n' times in a row each. */
    async function allHealth(pred, n = 8) {
        for (const s of [A, B]) {
            for (let i = 0; i < n; i++) {
                const r = await health(s);
                if (!(r.status === 200 && r.json && pred(r.json))) return false;
            }
        }
        return true;
    }

    test('Redis killed under load: no failed request, healthz degraded, state resumes after a restart', async () => {
        const load = background(6);
        try {
            await h.sleep(500);
            await redis.kill();
            const tKill = Date.now();
            /* A worker notices at its next refresh (refresh_ms 200) or
             * call; then every worker says so. */
            await h.waitFor('healthz degraded on every worker', () =>
                allHealth((j) => j.status === 'degraded' && j.redis === 'down'), 3000);
            process.stderr.write(`shared: degraded on every worker ${Date.now() - tKill} ms after the kill\n`);
            /* Caller limits fall back to local caps: limit / cluster_workers
             * per process. */
            const hdr = { Authorization: `Bearer ${SECRETS.SY_T_CK_OUTAGE}` };
            const burst = [];
            for (let i = 0; i < 80; i++) burst.push(chatOn(i % 2 ? B : A, 'g-basic', { headers: hdr }));
            const got = await Promise.all(burst);
            const admitted = got.filter((r) => r.status === 200).length;
            process.stderr.write(`shared: Redis down: rpm 20 key admitted ${admitted} of 80 ` +
                '(local caps 5 per process, 4 processes)\n');
            assert.ok(admitted <= 20 && admitted >= 5, `admitted ${admitted}`);
            for (const r of got.filter((x) => x.status !== 200)) {
                assert.equal(r.status, 429, brief(r));
                assert.equal(r.json.error.code, 'rate_limit_exceeded');
            }
            await h.sleep(1000);
            assert.ok(await allHealth((j) => j.status === 'degraded' && j.redis === 'down', 10),
                'a worker said ok while Redis was down');
            await redis.start();
            const tBack = Date.now();
            await h.waitFor('new samples in Redis', async () =>
                (await redis.keys('sy:lat1:{basic}:total:*')).length > 0, 5000);
            const tSamples = Date.now() - tBack;
            await h.waitFor('healthz ok on every worker', () =>
                allHealth((j) => j.status === 'ok' && j.redis === 'up'), 5000);
            const tOk = Date.now() - tBack;
            process.stderr.write(`shared: after the restart: samples in Redis after ${tSamples} ms, ` +
                `healthz ok on every worker after ${tOk} ms\n`);
            assert.ok(tSamples <= 2000, `samples back after ${tSamples} ms`);
            assert.ok(tOk <= 2000, `healthz ok after ${tOk} ms`);
        } finally {
            await load.stop();
            if (!redis.proc || redis.proc.exitInfo) await redis.start();
        }
        const failed = load.results.filter((x) => x.r.status !== 200);
        process.stderr.write(`shared: ${load.results.length} requests during the outage test, ${failed.length} failed\n`);
        assert.ok(load.results.length > 50, `only ${load.results.length} requests`);
        assert.equal(failed.length, 0, failed.slice(0, 5).map((x) => brief(x.r)).join('\n'));
        /* Rate limits are shared again: the caller key's counter is in
         * the new Redis. */
        await h.waitFor('caller-key counter in Redis', async () =>
            (await redis.keys('sy:rl:{ck:main:rpm}:*')).length > 0, 2000);
    });

    test('Redis hung (SIGSTOP) under load: no failed request, no request waits more than about one timeout', async () => {
        if (!redis.proc || redis.proc.exitInfo) await redis.start();
        /* Shared state in use again after the previous test. */
        await h.waitFor('healthz ok', () => allHealth((j) => j.status === 'ok'), 5000);
        const load = background(6);
        /* redis-server runs under 'timeout': stop the whole group. */
        const group = -redis.proc.child.pid;
        let tStop = 0;
        let tCont = 0;
        try {
            await h.sleep(500);
            process.kill(group, 'SIGSTOP');
            tStop = Date.now();
            await h.waitFor('healthz degraded while hung', () =>
                allHealth((j) => j.status === 'degraded'), 3000);
            await h.sleep(2000);
        } finally {
            try { process.kill(group, 'SIGCONT'); } catch (e) { /* gone */ }
            tCont = Date.now();
            try {
                await h.waitFor('healthz ok after SIGCONT', () =>
                    allHealth((j) => j.status === 'ok'), 5000);
            } finally {
                await load.stop();
            }
        }
        process.stderr.write(`shared: healthz ok on every worker ${Date.now() - tCont} ms after SIGCONT\n`);
        const during = load.results.filter((x) => x.t >= tStop && x.t <= tCont + 200);
        const failed = load.results.filter((x) => x.r.status !== 200);
        const slowest = during.reduce((m, x) => Math.max(m, x.r.tEnd), 0);
        process.stderr.write(`shared: hung Redis: ${during.length} requests while hung, ${failed.length} failed, ` +
            `slowest ${Math.round(slowest)} ms\n`);
        assert.equal(failed.length, 0, failed.slice(0, 5).map((x) => brief(x.r)).join('\n'));
        assert.ok(during.length > 20, `only ${during.length} requests while hung`);
        /* command_timeout_ms 200: one timeout plus the request itself. */
        assert.ok(slowest < 1000, `a request took ${Math.round(slowest)} ms while Redis was hung`);
    });
});
