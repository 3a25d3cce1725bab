/*
 * affinity.test.js - prompt-cache affinity on a latency group of three
 * equal deployments: the requests of one conversation (Claude Code's
 * session header, or the caller's prompt_cache_key) land on one
 * deployment, different conversations spread over all three, and when
 * that deployment fails (the mock's fault injection) the conversation
 * moves and stays moved while its breaker is open. x-switchyard-
 * deployment says where a request went, x-switchyard-route how
 * ("affinity=hit|moved|miss|none"). Without affinity the same group's
 * traffic is spread too (no herding onto one deployment).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const DEPS = ['af1', 'af2', 'af3'];
const SPREAD = ['sp1', 'sp2', 'sp3']; /* their own: af*'s breaker opens */

const stack = new h.Stack({
    tag: 'affinity',
    servers: ['lighttpd'],
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: Object.fromEntries([...DEPS, ...SPREAD].map((d) => [d, {}])),
            /* One process: its local breaker is the only one. */
            server: { processes: 1, threads: 8 },
            state: {
                breaker: {
                    consecutive: 2, min_requests: 1000, failure_pct: 0,
                    open_ms: 60000, open_max_ms: 60000, jitter_pct: 0,
                },
            },
        });
        cfg.groups['m-aff'] = { deployments: DEPS, strategy: 'latency', affinity: true, min_samples: 3 };
        cfg.groups['m-spread'] = { deployments: SPREAD, strategy: 'latency', min_samples: 3 };
        /* One group per deployment, to learn them first. */
        for (const d of [...DEPS, ...SPREAD]) cfg.groups[`m-${d}`] = { deployments: [d] };
        return cfg;
    },
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

const base = () => stack.base('lighttpd');
const session = (id) => ({ 'X-Claude-Code-Session-Id': id });

async function ask(model, opts = {}) {
    const r = await h.chat(base(), { model, ...opts });
    assert.equal(r.status, 200, r.body);
    return r;
}

const dep = (r) => r.headers['x-switchyard-deployment'];

/* Every deployment answers after the same fixed delay, as a real one
 * does (an instant mock leaves only the test machine's noise: under
 * the sanitizers, equal deployments measured 18 and 63 ms apart, and
 * the strategy rightly drained the "slower" one). */
const LATENCY_MS = 120;
async function equalLatency(deps) {
    for (const d of deps) await stack.mock.fault(d, { delay_ms: LATENCY_MS });
}
const route = (r) => r.headers['x-switchyard-route'] || '';

describe('prompt-cache affinity', { skip: h.missing('lighttpd') || false }, () => {
    it('keeps a session on one deployment, spreads sessions, and moves a session off a failed deployment', async () => {
        await stack.mock.reset();
        await equalLatency(DEPS);
        /* A deployment still being learned gets no conversations: the
         * first request of a session on a cold group goes in the
         * strategy's order ("miss"). Learn them first. */
        assert.match(route(await ask('m-aff', { headers: session('cold') })), /; affinity=miss$/);
        for (const d of DEPS) for (let i = 0; i < 4; i++) await ask(`m-${d}`);
        /* One session, streaming and not: one deployment. */
        const first = [];
        for (let i = 0; i < 12; i++) {
            first.push(await ask('m-aff', { headers: session('sess-A'), stream: i % 2 === 1 }));
        }
        const home = dep(first[0]);
        for (const r of first) {
            assert.equal(dep(r), home, `session moved: ${route(r)}`);
            assert.match(route(r), /; affinity=hit$/);
        }

        /* Many sessions: every deployment gets some. */
        const per = {};
        const where = {};
        for (let i = 0; i < 30; i++) {
            const id = `sess-${i}`;
            const a = await ask('m-aff', { headers: session(id) });
            const b = await ask('m-aff', { headers: session(id) });
            assert.equal(dep(a), dep(b), `session ${id} split: ${route(a)} / ${route(b)}`);
            per[dep(a)] = (per[dep(a)] || 0) + 1;
            where[id] = dep(a);
        }
        process.stderr.write(`affinity: 30 sessions over ${JSON.stringify(per)}\n`);
        for (const d of DEPS) assert.ok(per[d] >= 3, `${d} got ${per[d] || 0} of 30 sessions`);

        /* The caller's prompt_cache_key keys a conversation too; a short
         * prompt with no key names none. */
        const k1 = await ask('m-aff', { extra: { prompt_cache_key: 'conv-42' } });
        const k2 = await ask('m-aff', { extra: { prompt_cache_key: 'conv-42' } });
        assert.equal(dep(k1), dep(k2));
        assert.match(route(k1), /; affinity=hit$/);
        assert.match(route(await ask('m-aff')), /; affinity=none$/);

        /* The session's deployment fails: its requests fail over at once,
         * then (the breaker open) go to one other deployment, "moved". */
        await stack.mock.fault(home, { status: 500 });
        const during = [];
        for (let i = 0; i < 14; i++) during.push(await ask('m-aff', { headers: session('sess-A') }));
        for (const r of during) assert.notEqual(dep(r), home, route(r));
        const settled = during.slice(4);
        const moved = dep(settled[0]);
        for (const r of settled) {
            assert.equal(dep(r), moved, `did not stay moved: ${route(r)}`);
            assert.equal(r.headers['x-switchyard-attempts'], '1', route(r));
            assert.match(route(r), /; affinity=moved$/);
            assert.match(route(r), new RegExp(`excluded ${home}\\(breaker open\\)`));
        }
        /* Only the failed deployment's sessions moved: the others stay
         * where they were. */
        for (let i = 0; i < 30; i++) {
            const id = `sess-${i}`;
            const r = await ask('m-aff', { headers: session(id) });
            if (where[id] === home) {
                assert.notEqual(dep(r), home);
                assert.match(route(r), /; affinity=moved$/);
            } else {
                assert.equal(dep(r), where[id], `${id} moved: ${route(r)}`);
                assert.match(route(r), /; affinity=hit$/);
            }
        }
        await stack.mock.clearFaults();
        /* /metrics counts the results: hits and the moves off the failed
         * deployment. */
        const want = ['hit', 'moved'].map((w) =>
            new RegExp(`switchyard_cache_affinity_total\\{group="m-aff",result="${w}"\\} [1-9]`));
        let m = '';
        for (let i = 0; i < 50; i++) {
            m = (await h.request(base(), { path: '/metrics' })).body;
            if (want.every((re) => re.test(m))) break;
            await h.sleep(100);
        }
        for (const re of want) assert.match(m, re);
    });

    it('without affinity, equal deployments share the traffic', async () => {
        await stack.mock.reset();
        await equalLatency(SPREAD);
        for (const d of SPREAD) {
            for (let i = 0; i < 4; i++) await ask(`m-${d}`);
        }
        const per = {};
        const wave = async () => {
            const rs = [];
            for (let i = 0; i < 6; i++) rs.push(ask('m-spread'));
            for (const r of await Promise.all(rs)) per[dep(r)] = (per[dep(r)] || 0) + 1;
        };
        for (let i = 0; i < 10; i++) await wave();
        process.stderr.write(`affinity: 60 requests without affinity over ${JSON.stringify(per)}\n`);
        for (const d of SPREAD) assert.ok((per[d] || 0) >= 6, `${d} got ${per[d] || 0} of 60: ${JSON.stringify(per)}`);
    });
});
