/*
 * window.js - one measurement window: snapshot the process groups, run
 * wrk, snapshot again, append one JSON line to the results file.
 *
 *   node bench/window.js --out FILE --round N --target NAME --conns C \
 *        group=ROOTPID ... -- wrk ARGS...
 *
 * The line holds wrk's figures (req/s, p50/p90/p99 in us, errors), the
 * CPU ticks each group used during the window, each group's RSS at the
 * end, wrk's own CPU (this process' waited-for children) and the
 * machine-wide busy ticks, so other load on the machine shows up.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { snapshot, cpuDelta, parseWrk, parseArgs } = require('./lib');

const { opts, pairs } = parseArgs(process.argv.slice(2));
if (!opts.out || !opts.target || !opts._rest || !opts._rest.length) {
    process.stderr.write('usage: window.js --out FILE --round N --target NAME ' +
                         '--conns C group=PID ... -- wrk ARGS...\n');
    process.exit(2);
}

const before = snapshot(pairs, { rss: false });
const r = spawnSync(opts._rest[0], opts._rest.slice(1), {
    encoding: 'utf8', timeout: 600000, env: process.env,
});
const after = snapshot(pairs, { rss: true });
if (r.status !== 0) {
    process.stderr.write(`window: wrk failed (status ${r.status}): ${r.stderr}\n`);
    process.exit(1);
}
const wrk = parseWrk(r.stdout);
const rec = {
    kind: 'wrk',
    round: Number(opts.round || 0),
    target: opts.target,
    conns: Number(opts.conns || 0),
    wrk: { ...wrk, text: undefined },
    wall_ms: after.t - before.t,
    cpu_ticks: cpuDelta(before, after),
    rss_kb: Object.fromEntries(Object.entries(after.groups).map(([k, g]) => [k, g.rss_kb])),
    nproc: Object.fromEntries(Object.entries(after.groups).map(([k, g]) => [k, g.nproc])),
    client_ticks: after.self_cticks - before.self_cticks,
    machine: {
        busy: after.machine.busy - before.machine.busy,
        total: after.machine.total - before.machine.total,
        softirq: after.machine.softirq - before.machine.softirq,
        steal: after.machine.steal - before.machine.steal,
    },
};
fs.appendFileSync(opts.out, JSON.stringify(rec) + '\n');
fs.appendFileSync(`${opts.out}.wrk.txt`,
    `# round ${rec.round} target ${rec.target} conns ${rec.conns}\n${r.stdout}\n`);
const us = (x) => (Number.isFinite(x) ? `${Math.round(x)}us` : '-');
process.stdout.write(`  ${opts.target} c=${rec.conns} r${rec.round}: ` +
    `${Math.round(wrk.rps || 0)} req/s p50 ${us(wrk.p50_us)} p99 ${us(wrk.p99_us)}` +
    `${wrk.non2xx || wrk.sock_errors ? ` ERRORS non2xx=${wrk.non2xx} sock=${wrk.sock_errors}` : ''}\n`);
