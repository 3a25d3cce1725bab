/*
 * hostile_json.test.js - request bodies built to make the JSON parser
 * allocate hundreds of times their size (json-c spends ~800 bytes on an
 * empty object) are refused with a 413 before any tree is built, quickly,
 * by the same worker processes; an ordinary body of the same size is
 * served. Through lighttpd and Apache, with the harness body limit (1 MiB).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const stack = new h.Stack({
    tag: 'hjson',
    servers: h.SERVERS,
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { a: {} },
        groups: { 'm-basic': ['a'] },
    }),
});

before(() => stack.start(), { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

/* A chat body whose "metadata" holds 'n' bytes of the given filler. */
function bodyWith(filler) {
    return `{"model":"m-basic","messages":[{"role":"user","content":"hi"}],` +
        `"metadata":{"x":${filler}}}`;
}

function tinyContainers(bytes, unit) {
    return `[${Array(Math.floor(bytes / (unit.length + 1))).fill(unit).join(',')}]`;
}

/* Peak resident memory of a process in KiB (VmHWM), or 0. */
function peakKiB(pid) {
    try {
        const m = /VmHWM:\s+(\d+) kB/.exec(require('fs').readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : 0;
    } catch (e) {
        return 0;
    }
}

describe('bodies that would make the JSON tree explode', () => {
    for (const server of h.SERVERS) {
        it(`${server}: 0.9 MiB of empty objects and arrays get 413, workers alive and small`, async (t) => {
            if (stack.skipped.includes(server)) return t.skip(`${server} not installed`);
            const pids = stack.workers();
            assert.ok(pids.length > 0);
            await stack.mock.resetStats();
            for (const unit of ['{}', '[]', '[{}]', '{"a":{}}']) {
                const body = bodyWith(tinyContainers(0.9 * (1 << 20), unit));
                const r = await h.request(stack.base(server), {
                    method: 'POST', path: '/v1/chat/completions', body, timeout: 20000,
                });
                assert.equal(r.status, 413, `${unit}: ${r.body.slice(0, 300)}`);
                assert.equal(r.json.error.code, 'request_too_large');
                assert.match(r.json.error.message, /too complex|too many JSON values/);
                /* json-c would have taken ~1 GB and seconds per body. */
                assert.ok(r.tEnd < 5000, `${unit}: took ${r.tEnd} ms`);
            }
            assert.deepEqual(stack.workers(), pids, 'a worker process died');
            for (const pid of pids) {
                assert.ok(peakKiB(pid) < 128 * 1024, `worker ${pid} peaked at ${peakKiB(pid)} KiB`);
            }
            const st = await stack.mock.stats();
            assert.equal((st.a || {}).requests || 0, 0, 'a refused body reached the provider');
        });

        it(`${server}: an ordinary body of 2,000 turns is served`, async (t) => {
            if (stack.skipped.includes(server)) return t.skip(`${server} not installed`);
            const messages = [];
            for (let i = 0; i < 2000; i++) {
                messages.push({ role: i % 2 ? 'assistant' : 'user',
                    content: [{ type: 'text', text: `turn ${i}` }] });
            }
            messages.push({ role: 'user', content: 'Say hello.' });
            const r = await h.request(stack.base(server), {
                method: 'POST', path: '/v1/chat/completions',
                body: { model: 'm-basic', messages }, timeout: 20000,
            });
            assert.equal(r.status, 200, r.body.slice(0, 300));
        });
    }
});
