/*
 * hedge_cold.test.js - a hedged group's first seconds: requests planned
 * while every deployment was still being learned (latency strategy, no
 * hedge delay known yet) are hedged once a delay is known. c1 holds its
 * answers for 5 s; c2 is learned from another group meanwhile; each
 * waiting request on c1 must be hedged to c2 within about a second, not
 * wait out its first-byte time-out (3 s here) and fail over. Before the
 * fix, a pair kept the plan's "learning" marks and never found a peer.
 * The group's hedge share is half its requests: as many again are sent
 * once c2 is learned, so that it has room for every wait.
 *
 *   sh tests/integration/run.sh build tests/integration/hedge_cold.test.js
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const server = h.SERVERS.find((s) => !h.missing(s));
const KEY = 'sk-hedge-cold-0123456789';
const AUTH = { Authorization: `Bearer ${KEY}` };
const WAITS = 10;

describe('a hedge at a cold start', { skip: !server }, () => {
    let S;
    const ask = (model, id) => h.chat(S.base(server), {
        model, stream: false, headers: { ...AUTH, 'X-Request-Id': id },
    });

    before(async () => {
        S = new h.Stack({
            tag: 'hedge-cold', servers: [server], env: { SY_T_HEDGE_COLD_KEY: KEY },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { c1: {}, c2: {} },
                    groups: {
                        'g-cold': { deployments: ['c1', 'c2'], strategy: 'latency', hedge: { max_share: 0.5 } },
                        'g-c2': ['c2'],
                    },
                    server: { processes: 1, threads: 16 },
                });
                cfg.keys = { ck: { key_env: 'SY_T_HEDGE_COLD_KEY' } };
                return cfg;
            },
        });
        await S.start();
    }, { timeout: 60000 });
    after(() => (S ? S.stop() : undefined), { timeout: 30000 });

    it('waits planned before any delay was known are hedged once one is', { timeout: 60000 }, async () => {
        await S.mock.fault('c1', { delay_ms: 5000 });
        await S.mock.fault('c2', { delay_ms: 40 });
        const t0 = Date.now();
        const waits = [];
        for (let k = 0; k < WAITS; k++) {
            waits.push(ask('g-cold', `cold-${k}`).then((r) => ({ r, ms: Date.now() - t0 })));
        }
        await h.sleep(100);
        /* c2 learned meanwhile (its latency window, from another group) */
        for (let j = 0; j < 14; j++) {
            const r = await ask('g-c2', `warm-${j}`);
            assert.equal(r.status, 200, r.body);
        }
        /* As many requests again once c2 is learned (planned on c2, or
         * an exploration of c1, hedged too): the group's hedge share
         * (half its requests) then has room for every wait on c1. */
        const more = [];
        for (let k = 0; k < WAITS; k++) more.push(ask('g-cold', `more-${k}`));
        const done = await Promise.all(waits);
        for (const r of await Promise.all(more)) assert.equal(r.status, 200, r.body);
        await S.mock.clearFaults();
        const onC1 = done.filter((x) => /^latency; c1\(learning\)/.test(x.r.headers['x-switchyard-route'] || ''));
        /* the plan orders two unlearned deployments at random: with ten
         * requests, some start on c1 (all on c2: 1 in 1,024) */
        assert.ok(onC1.length > 0, done.map((x) => x.r.headers['x-switchyard-route']).join('\n'));
        for (const x of done) assert.equal(x.r.status, 200, x.r.body);
        for (const x of onC1) {
            const route = x.r.headers['x-switchyard-route'];
            assert.match(route, /hedge=won:c2/, `not hedged: ${route} after ${x.ms} ms`);
            assert.ok(x.ms < 2500, `hedged only after ${x.ms} ms: ${route}`);
        }
    });
});
