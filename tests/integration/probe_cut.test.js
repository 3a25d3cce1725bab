/*
 * probe_cut.test.js - the cut of an exploration probe
 * (core/serve/pipeline_probe.c) against what the deployment sends. A
 * latency group of a fast deployment (pf) and one known to be slow (ps,
 * over max_ttft_ms, its window then run thin) explores ps on every
 * second request; the probe is cut once pf would have answered twice
 * over (SY_PROBE_CUT_MIN_MS, 1 s), but only when nothing came back, not
 * even a header (uc->no_response, core/io/upstream.c).
 *
 *   1. ps holds its response head for 2.5 s: the probe is cut at about
 *      1 s and pf answers (attempts 2) - the setup really probes;
 *   2. ps sends its head at once, then nothing for 1.8 s, then its
 *      stream (the mock's head_stall_ms): a deployment that answered,
 *      not a hang, so the probe is not cut and ps answers (attempts 1);
 *   3. ps sends its head and then never a body byte: the call ends at
 *      the idle time-out (3 s), not at the cut, then pf answers.
 *
 *   sh tests/integration/run.sh build tests/integration/probe_cut.test.js
 *
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const server = h.SERVERS.find((s) => !h.missing(s));
const CUT_MS = 1000;     /* SY_PROBE_CUT_MIN_MS: pf's p95 is a few ms */
const IDLE_MS = 3000;    /* the harness' timeouts.idle_ms (and first_byte_ms) */
const WINDOW_MS = 2000;  /* state.window_ms: ps's window runs thin after it */
let S;

function ask(model, directive) {
    return h.chat(S.base(server), { model, stream: true, directive, timeout: 15000 });
}

function brief(r) {
    return `${r.status} ${r.error || ''} route="${r.headers['x-switchyard-route']}" ` +
        `dep=${r.headers['x-switchyard-deployment']} attempts=${r.headers['x-switchyard-attempts']} ` +
        `${r.body.slice(0, 200)}`;
}

/* Requests to g-probe until one explores ps (every second one does)
 * with 'spec' as ps's fault; returns it with the time it took, checked
 * to be answered by 'dep' at attempt 'attempts'. */
async function probe(spec, dep, attempts, why = '') {
    await S.mock.fault('ps', spec);
    const seen = [];
    for (let i = 0; i < 8; i++) {
        const t0 = Date.now();
        const r = await ask('g-probe');
        const took = Date.now() - t0;
        if (/^latency; ps\(exploring\)/.test(r.headers['x-switchyard-route'] || '')) {
            assert.equal(r.status, 200, brief(r));
            assert.equal(r.headers['x-switchyard-deployment'], dep, `${why} (${took} ms): ${brief(r)}`);
            assert.equal(r.headers['x-switchyard-attempts'], attempts, brief(r));
            return { r, took };
        }
        seen.push(brief(r));
    }
    assert.fail(`no request explored ps:\n${seen.join('\n')}`);
    return null;
}

describe('exploration probe cut', { skip: !server }, () => {
    before(async () => {
        S = new h.Stack({
            tag: 'probecut', servers: [server],
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { pf: {}, ps: {} },
                    groups: {
                        'g-pf': { deployments: ['pf'], min_samples: 3 },
                        'g-ps': { deployments: ['ps'], min_samples: 3 },
                        'g-probe': { deployments: ['pf', 'ps'], strategy: 'latency',
                            min_samples: 3, explore_pct: 50, thresholds: { max_ttft_ms: 400 } },
                    },
                    server: { processes: 1, threads: 8 },
                });
                cfg.state = { refresh_ms: 50, window_ms: WINDOW_MS, slice_ms: 500,
                    breaker: { consecutive: 0, failure_pct: 0 } };
                return cfg;
            },
        });
        await S.start();
        /* pf answers in 50 ms: a TTFT p95 under 1 ms reads as none, and
         * with no healthy p95 to go by nothing is cut. */
        await S.mock.fault('pf', { delay_ms: 50 });
        /* Both learned, ps known slow (700 ms to its first token, over
         * max_ttft_ms), through their single-deployment groups. */
        const warm = [];
        for (let i = 0; i < 4; i++) {
            warm.push(ask('g-pf'));
            warm.push(ask('g-ps', { delay_ms: 700 }));
        }
        for (const r of await Promise.all(warm)) assert.equal(r.status, 200, brief(r));
        /* ps's window empties: judged by its known picture, thin, so
         * only probes go to it. Meanwhile pf stays live, and every
         * routing takes the views, which keeps ps's known picture while
         * its window is live (state_known.c). */
        const until = Date.now() + WINDOW_MS + 700;
        while (Date.now() < until) {
            const r = await ask('g-pf');
            assert.equal(r.status, 200, brief(r));
            await h.sleep(100);
        }
    }, { timeout: 60000 });
    after(() => (S ? S.stop() : undefined), { timeout: 30000 });

    it('cuts a probe that sends nothing, not even a header (control)', async () => {
        const { r, took } = await probe({ delay_ms: 2500 }, 'pf', '2', 'not cut');
        assert.ok(took >= CUT_MS - 100 && took < 2300, `cut after ${took} ms: ${brief(r)}`);
    });

    it('does not cut a probe whose headers came before it stalled', async () => {
        const { r, took } = await probe({ head_stall_ms: 1800 }, 'ps', '1',
            'the probe was cut after its headers came');
        assert.equal(h.contentOf(r), 'Hello from ps.');
        assert.ok(took >= 1700, `answered after ${took} ms`);
    });

    it('a probe stalled after its headers ends at the idle time-out, not the cut', async () => {
        const { r, took } = await probe({ stream_stall_after: 0 }, 'pf', '2');
        assert.ok(took >= IDLE_MS - 200, `given up after ${took} ms, before the idle time-out: ${brief(r)}`);
    });
});
