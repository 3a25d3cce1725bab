/*
 * multihost.test.js - shared state across a network: three gateway hosts
 * (each its own lighttpd and switchyard pool) in separate network
 * namespaces, Redis and the mock provider in two more, joined by a bridge
 * (topology.sh). Each host reaches Redis through build/relay, which adds
 * 2 ms each way, so breaker propagation, budget races and rate limits are
 * measured over a network, not a loopback. Prints its figures (added RTT,
 * breaker propagation time, budget overshoot, admitted count) as lines
 * starting with "multihost:".
 *
 *   sh tests/integration/multihost/run.sh build      (root: creates namespaces)
 *
 * Skipped when not started by run.sh, or redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../harness');
const mh = require('./cluster');

const SKIP = mh.missing() || false;

const SECRETS = {
    SY_MH_KEY_SECRET: 'mh-key-secret-0123456789abcdef',
    SY_MH_CK_MAIN: 'sk-mh-main-0123456789abcdef',
    SY_MH_CK_LIMITED: 'sk-mh-limited-0123456789abcdef',
};
const MAIN = { Authorization: `Bearer ${SECRETS.SY_MH_CK_MAIN}` };
const LIMITED_RPM = 30;
/* Admitted may fall short of the limit by this much (never exceed it): a
 * request refused while others' reservations were in flight. */
const RPM_TOLERANCE = 2;
const OPEN_MS = 10000;
const PROPAGATION_BOUND_MS = 2000;

/* The budget deployment's prices (micro-USD per token: 1 in, 1000 out):
 * the mock's answer has 3 completion tokens, so a request costs about
 * 3000 micro-USD, at most about 5000 + the prompt with max_tokens 5. */
const PRICE = { input_per_mtok: 1, output_per_mtok: 1000 };
const MAX_TOKENS = 5;
const BUDGET_USD = 0.03;
const BUDGET_MICRO = 30000;

function config(redisUrl, mockBase) {
    const cfg = h.gatewayConfig(1, {
        deployments: { 'brk-x': {}, 'brk-fb': {}, basic: {}, bud: {} },
        groups: {
            'g-brk': ['brk-x', 'brk-fb'],
            /* brk-x second: a host answering this group never calls it,
             * yet its route header says when it sees the breaker open. */
            'g-watch': ['brk-fb', 'brk-x'],
            'g-basic': ['basic'],
            'g-bud': ['bud'],
        },
        server: { processes: 2, threads: 8 },
    });
    for (const p of Object.values(cfg.providers)) {
        p.base_url = p.base_url.replace('http://127.0.0.1:1', mockBase);
    }
    cfg.deployments.bud.price = { ...PRICE };
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200,
        connect_timeout_ms: 300, command_timeout_ms: 1000, cluster_workers: 6,
        key_secret_env: 'SY_MH_KEY_SECRET',
        breaker: {
            consecutive: 5, min_requests: 20, failure_pct: 50, window_ms: 30000,
            open_ms: OPEN_MS, open_max_ms: 60000, jitter_pct: 0, probe_ms: 10000,
        },
    };
    cfg.keys = {
        main: { key_env: 'SY_MH_CK_MAIN', rpm: 100000, tpm: 100000000 },
        limited: { key_env: 'SY_MH_CK_LIMITED', rpm: LIMITED_RPM, tpm: 1000000 },
    };
    return cfg;
}

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 200)}`;
}

function report(line) {
    process.stderr.write(`multihost: ${line}\n`);
}

describe('three gateway hosts across a network', { skip: SKIP }, () => {
    let c;
    let cliConfig;

    function chatOn(host, model, opts = {}) {
        return h.chat(c.base(host), { model, headers: opts.headers || MAIN, timeout: 15000, ...opts });
    }

    before(async () => {
        c = new mh.Cluster({ config, env: SECRETS });
        await c.start();
        /* The CLI runs here, in the clients' namespace: Redis directly. */
        cliConfig = path.join(c.dir, 'cli.json');
        fs.writeFileSync(cliConfig, JSON.stringify(config(c.redisUrl, 'http://127.0.0.1:1')));
    });

    after(async () => {
        if (c) await c.stop();
    });

    test('the relay adds 4 ms to every round trip to Redis', () => {
        const direct = mh.redisLatency('h1', mh.ADDR.redis, mh.PORT.redis);
        const relayed = mh.redisLatency('h1', '127.0.0.1', mh.PORT.relay);
        assert.ok(direct && relayed, 'redis-cli --latency gave no figures');
        report(`Redis RTT from h1: direct avg ${direct.avg} ms (min ${direct.min}, ` +
            `max ${direct.max}), through the relay avg ${relayed.avg} ms (min ${relayed.min}, ` +
            `max ${relayed.max}): +${(relayed.avg - direct.avg).toFixed(2)} ms`);
        /* 2 ms each way is a floor: the relay never sends early. */
        assert.ok(relayed.min >= 2 * mh.RELAY_DELAY_MS, `relayed min ${relayed.min} ms`);
        assert.ok(relayed.avg - direct.avg >= 2 * mh.RELAY_DELAY_MS - 0.5,
            `added only ${relayed.avg - direct.avg} ms`);
    });

    test(`breaker: opened by h1's failures, h2 and h3 stop using it within ${PROPAGATION_BOUND_MS} ms`, async () => {
        await c.mock.fault('brk-x', { status: 500 });
        /* h2 and h3 keep answering g-watch (two loops each) while h1 fails
         * on brk-x; each answer records when it was sent and received and
         * whether that host had brk-x excluded. */
        const seen = { h2: [], h3: [] };
        let stop = false;
        async function watch(host) {
            let excludedInARow = 0;
            while (!stop && excludedInARow < 3) {
                const tSend = Date.now();
                const r = await chatOn(host, 'g-watch');
                const route = r.headers['x-switchyard-route'] || '';
                const excluded = /excluded brk-x\(breaker open\)/.test(route);
                seen[host].push({ tSend, tRecv: Date.now(), excluded, r });
                excludedInARow = excluded ? excludedInARow + 1 : 0;
            }
        }
        const watchers = ['h2', 'h2', 'h3', 'h3'].map(watch);
        await h.sleep(100);
        let br = {};
        for (let i = 0; i < 15 && Number(br.state || 0) !== 1; i++) {
            const r = await chatOn('h1', 'g-brk');
            assert.equal(r.status, 200, brief(r));
            br = await c.hash('sy:br:{brk-x}');
        }
        const tSeen = Date.now();
        for (let i = 0; i < 100 && Number(br.state || 0) !== 1; i++) {
            await h.sleep(10);
            br = await c.hash('sy:br:{brk-x}');
        }
        assert.equal(Number(br.state || 0), 1, `breaker not open in Redis: ${JSON.stringify(br)}`);
        /* When it opened: open_until - open_ms (no jitter), unless that
         * is not plausible (then when this test saw it). */
        let tOpen = Number(br.open_until) - OPEN_MS;
        if (!(tOpen <= Date.now() && tOpen > tSeen - 5000)) tOpen = tSeen;
        const deadline = setTimeout(() => { stop = true; }, PROPAGATION_BOUND_MS + 3000);
        await Promise.all(watchers);
        clearTimeout(deadline);
        const figures = {};
        for (const host of ['h2', 'h3']) {
            const rs = seen[host].sort((a, b) => a.tSend - b.tSend);
            for (const x of rs) {
                assert.equal(x.r.status, 200, brief(x.r));
                assert.equal(x.r.headers['x-switchyard-deployment'], 'brk-fb');
            }
            const first = rs.find((x) => x.excluded && x.tSend >= tOpen - 50);
            assert.ok(first, `${host} never excluded brk-x (${rs.length} answers)`);
            /* It knew by the time that answer came back, and did not know
             * yet when the last answer without the exclusion was sent. */
            const before = rs.filter((x) => !x.excluded && x.tSend <= first.tSend);
            const hi = first.tRecv - tOpen;
            const lo = before.length ? Math.max(0, before[before.length - 1].tSend - tOpen) : 0;
            const took = rs.map((x) => x.tRecv - x.tSend).sort((a, b) => a - b);
            figures[host] = { lo, hi, answers: rs.length, median: took[took.length >> 1] };
            assert.ok(hi <= PROPAGATION_BOUND_MS, `${host}: ${hi} ms`);
            /* Once seen, it stays excluded (the breaker is open 10 s). */
            const after = rs.filter((x) => x.tSend >= first.tRecv);
            assert.ok(after.every((x) => x.excluded), `${host} forgot the open breaker`);
        }
        /* The resolution is about one watch request (its median time). */
        report(`breaker propagation: h2 between ${figures.h2.lo} and ${figures.h2.hi} ms, ` +
            `h3 between ${figures.h3.lo} and ${figures.h3.hi} ms after it opened in Redis ` +
            `(${figures.h2.answers + figures.h3.answers} watch answers, median ` +
            `${figures.h2.median}/${figures.h3.median} ms each)`);

        /* And they stop sending to it: g-brk on h2 and h3 goes straight to
         * the fallback, the mock sees nothing for brk-x. */
        await c.mock.resetStats();
        const rs = [];
        for (let i = 0; i < 8; i++) rs.push(chatOn(i % 2 ? 'h3' : 'h2', 'g-brk'));
        for (const r of await Promise.all(rs)) {
            assert.equal(r.status, 200, brief(r));
            assert.equal(r.headers['x-switchyard-deployment'], 'brk-fb');
            assert.equal(r.headers['x-switchyard-attempts'], '1');
        }
        assert.equal(await c.mock.count('brk-x'), 0, 'h2/h3 still sent to brk-x');
        await c.mock.fault('brk-x', {});
    });

    test('budget: 32 clients on one virtual key over three hosts overshoot by at most one request', async () => {
        const name = 'mh-bud';
        const cr = h.runSwitchyard(['keys', 'create', '--name', name, '--budget-usd',
            String(BUDGET_USD), '--period', 'total', '--json', '--config', cliConfig], { env: SECRETS });
        assert.equal(cr.status, 0, `keys create: ${cr.stderr}`);
        const key = JSON.parse(cr.stdout).key;
        const hdr = { Authorization: `Bearer ${key}` };
        const results = [];
        /* Client i sends to host i % 3 until refused three times in a row
         * (a refusal may come while others hold reservations they will
         * partly give back). */
        async function client(i) {
            const host = mh.HOSTS[i % 3];
            let refused = 0;
            for (let n = 0; n < 60 && refused < 3; n++) {
                const r = await chatOn(host, 'g-bud', { headers: hdr, extra: { max_tokens: MAX_TOKENS } });
                results.push({ host, r });
                if (r.status === 200) {
                    refused = 0;
                } else {
                    refused++;
                    await h.sleep(30);
                }
            }
        }
        await Promise.all(Array.from({ length: 32 }, (_, i) => client(i)));
        const ok = results.filter((x) => x.r.status === 200);
        for (const x of results.filter((y) => y.r.status !== 200)) {
            assert.equal(x.r.status, 429, brief(x.r));
            assert.equal(x.r.json.error.code, 'budget_exceeded', brief(x.r));
        }
        const costs = ok.map((x) => Math.round(Number(x.r.headers['x-switchyard-cost-usd']) * 1e6));
        for (const cost of costs) assert.ok(cost > 0 && cost < 6000, `cost ${cost}`);
        const largest = Math.max(...costs);
        const sum = costs.reduce((a, b) => a + b, 0);
        const hb = await c.hash(`sy:budget:{${name}}:total`);
        const spent = Number(hb.spent || 0);
        const overshoot = Math.max(0, spent - BUDGET_MICRO);
        const perHost = mh.HOSTS.map((n) => `${n} ${ok.filter((x) => x.host === n).length}`).join(', ');
        report(`budget: $${BUDGET_USD} on one key, ${results.length} requests from 32 clients: ` +
            `${ok.length} admitted (${perHost}), spent ${spent} micro-USD, overshoot ${overshoot} ` +
            `micro-USD (largest request ${largest})`);
        assert.equal(spent, sum, `Redis spent ${spent} vs answers ${sum}: ${JSON.stringify(hb)}`);
        assert.ok(overshoot <= largest, `overshoot ${overshoot} > largest request ${largest}`);
        assert.ok(spent > BUDGET_MICRO - 6000, `spent only ${spent}`);
        assert.equal(Number(hb.reserved || 0), 0, JSON.stringify(hb));
        assert.deepEqual(Object.keys(hb).filter((k) => k.startsWith('r:')), [], JSON.stringify(hb));
        assert.equal(await c.redis('ZCARD', `sy:budget:{${name}}:total:res`), 0);
    });

    test(`rate limit: ${LIMITED_RPM} RPM on one caller key holds across three hosts`, async () => {
        const hdr = { Authorization: `Bearer ${SECRETS.SY_MH_CK_LIMITED}` };
        /* One request per host first, one after the other: each host
         * admits under the shared limit (in a single concurrent burst
         * which host gets there first is up to the scheduler), then 117
         * at once. */
        const first = [];
        for (const host of mh.HOSTS) {
            first.push({ host, r: await chatOn(host, 'g-basic', { headers: hdr }) });
        }
        const rs = [];
        for (let i = 3; i < 120; i++) {
            const host = mh.HOSTS[i % 3];
            rs.push(chatOn(host, 'g-basic', { headers: hdr }).then((r) => ({ host, r })));
        }
        const all = first.concat(await Promise.all(rs));
        const ok = all.filter((x) => x.r.status === 200);
        const other = all.filter((x) => x.r.status !== 200 && x.r.status !== 429);
        const perHost = mh.HOSTS.map((n) => `${n} ${ok.filter((x) => x.host === n).length}`).join(', ');
        report(`rate limit: ${LIMITED_RPM} RPM, 120 concurrent requests over 3 hosts: ` +
            `${ok.length} admitted (${perHost}), ${all.length - ok.length - other.length} refused`);
        assert.equal(other.length, 0, other.map((x) => brief(x.r)).join('\n'));
        assert.ok(ok.length <= LIMITED_RPM, `${ok.length} admitted, limit ${LIMITED_RPM}`);
        assert.ok(ok.length >= LIMITED_RPM - RPM_TOLERANCE, `only ${ok.length} admitted`);
        assert.ok(mh.HOSTS.every((n) => ok.some((x) => x.host === n)), `a host admitted none: ${perHost}`);
        for (const x of all.filter((y) => y.r.status === 429)) {
            assert.equal(x.r.json.error.code, 'rate_limit_exceeded', x.r.body);
            assert.equal(x.r.headers['x-ratelimit-limit-requests'], String(LIMITED_RPM));
        }
    });
});
