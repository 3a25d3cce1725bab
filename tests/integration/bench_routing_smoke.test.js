/*
 * bench_routing_smoke.test.js - a short run of the routing benchmark
 * (bench/routing/run.js and report.js, 'make bench-routing'): one
 * scenario for 15 s with one caller per group through the real stack;
 * the report must be written, with its charts, and every strategy group
 * must have served requests.
 *
 *   sh tests/integration/run.sh build tests/integration/bench_routing_smoke.test.js
 *
 * Skipped when redis-server or lighttpd is missing.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;
const BENCH = path.join(h.ROOT, 'bench', 'routing');

test('bench-routing: a 15 s run of slow-peak produces the report', { skip: SKIP, timeout: 60000 }, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-smoke-'));
    try {
        const run = spawnSync('node', [path.join(BENCH, 'run.js'), '--build', h.BUILD,
            '--scenario', 'slow-peak', '--duration', '15', '--callers', '1', '--out', out],
        { encoding: 'utf8', timeout: 50000 });
        assert.equal(run.status, 0, `run.js: ${run.stdout}\n${run.stderr}`);
        const rep = spawnSync('node', [path.join(BENCH, 'report.js'), '--in', out],
            { encoding: 'utf8', timeout: 20000 });
        assert.equal(rep.status, 0, `report.js: ${rep.stderr}`);
        const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
        assert.match(md, /## Targets/);
        for (const png of ['slow-peak-share.png', 'slow-peak-latency.png', 'cost.png']) {
            const f = path.join(out, 'img', png);
            assert.ok(fs.existsSync(f) || fs.existsSync(f.replace(/png$/, 'svg')), `${png} missing`);
        }
        const r = JSON.parse(fs.readFileSync(path.join(out, 'slow-peak.json'), 'utf8'));
        assert.ok(r.groups.length >= 4, 'priority, weighted, latency and cost at least');
        for (const g of r.groups) {
            const served = r.requests.filter((q) => q.g === g.key && q.ok).length;
            assert.ok(served > 0, `group ${g.key} served no request`);
        }
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
});
