/*
 * report.js - turn a bench run's raw data (results.jsonl, meta.txt) into
 * summary.md: medians of rounds, ratios, and each target met or not.
 *
 *   node bench/report.js OUT_DIR > OUT_DIR/summary.md
 *
 * Every figure printed here comes from OUT_DIR/results.jsonl.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { HZ, median, quantile } = require('./lib');
const { scaleSection, scaleTargetRows } = require('./report-scale');

const dir = process.argv[2];
if (!dir) {
    process.stderr.write('usage: report.js OUT_DIR\n');
    process.exit(2);
}
const recs = fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const meta = {};
try {
    for (const l of fs.readFileSync(path.join(dir, 'meta.txt'), 'utf8').split('\n')) {
        const i = l.indexOf('=');
        if (i > 0) meta[l.slice(0, i)] = l.slice(i + 1);
    }
} catch (e) { /* no meta */ }
let commands = '';
try { commands = fs.readFileSync(path.join(dir, 'commands.txt'), 'utf8'); } catch (e) { /* */ }

const TARGETS = {
    a: { name: '(a) mock direct', web: null, workers: null, redis: false },
    b: { name: '(b) nginx -> mock', web: 'nginx', workers: null, redis: false },
    c: { name: '(c) lighttpd -> fcgi-hello', web: 'lthello', workers: 'hello', redis: false },
    d: { name: '(d) lighttpd -> switchyard', web: 'ltgw', workers: 'sy', redis: true },
    m: { name: '(m) lighttpd -> switchyard, Anthropic Messages', web: 'ltgw', workers: 'sy', redis: true },
    r: { name: '(r) lighttpd -> switchyard, Responses ("store": false)', web: 'ltgw', workers: 'sy', redis: true },
    p: { name: '(p) lighttpd -> switchyard, Responses stored (the API default)', web: 'ltgw', workers: 'sy', redis: true },
    h: { name: '(h) lighttpd -> switchyard, hedging armed', web: 'ltgw', workers: 'sy', redis: true },
    e: { name: '(e) Apache -> switchyard', web: 'apache', workers: 'sy', redis: true },
    g: { name: '(g) Apache enablereuse=on -> switchyard', web: 'apache2', workers: 'sy', redis: true },
    f: { name: '(f) lighttpd -> switchyard, BENCH_COMPARE build', web: 'ltgw2', workers: 'sy2', redis: true },
};
const TICK_US = 1e6 / HZ;

const f0 = (x) => (Number.isFinite(x) ? String(Math.round(x)) : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const mib = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '-');
const us = (x) => (Number.isFinite(x) ? `${Math.round(x)}` : '-');

/* Per-window derived figures. */
function derive(r) {
    const t = TARGETS[r.target];
    const n = r.wrk.requests || 0;
    const per = (g) => (g && n ? (r.cpu_ticks[g] * TICK_US) / n : NaN);
    const web = t.web ? per(t.web) : 0;
    const workers = t.workers ? per(t.workers) : 0;
    const redis = t.redis ? per('redis') : 0;
    const ours = Object.values(r.cpu_ticks).reduce((a, b) => a + b, 0);
    const softirq = r.machine.softirq || 0;
    /* A process's utime+stime is its scheduler run time, softirq work
     * done in its context included: softirq overlaps the groups. */
    const other = Math.max(0, r.machine.busy - ours - r.client_ticks);
    return {
        rps: r.wrk.rps, p50: r.wrk.p50_us, p90: r.wrk.p90_us, p99: r.wrk.p99_us,
        errors: (r.wrk.non2xx || 0) + (r.wrk.sock_errors || 0),
        web, workers, redis, mock: per('mock'),
        stack: web + workers + redis,
        rss_web: t.web ? r.rss_kb[t.web] : NaN,
        rss_workers: t.workers ? r.rss_kb[t.workers] : NaN,
        rss_redis: t.redis ? r.rss_kb.redis : NaN,
        busy_pct: (100 * r.machine.busy) / r.machine.total,
        other_pct: (100 * other) / r.machine.total,
        softirq: n ? (softirq * TICK_US) / n : NaN,
        client_pct: (100 * r.client_ticks) / r.machine.total,
    };
}

const wrkRecs = recs.filter((r) => r.kind === 'wrk');
const rounds = [...new Set(wrkRecs.map((r) => r.round))].sort((a, b) => a - b);
function series(conns, target) {
    return wrkRecs.filter((r) => r.conns === conns && r.target === target)
        .sort((a, b) => a.round - b.round).map(derive);
}
function med(conns, target, key) {
    return median(series(conns, target).map((d) => d[key]));
}
/* Median over rounds of a per-round pairing of two targets. */
function paired(conns, t1, t2, fn) {
    const out = [];
    for (const r of rounds) {
        const x = wrkRecs.find((w) => w.conns === conns && w.target === t1 && w.round === r);
        const y = wrkRecs.find((w) => w.conns === conns && w.target === t2 && w.round === r);
        if (x && y) out.push(fn(derive(x), derive(y)));
    }
    return { med: median(out), all: out };
}

const o = [];
const cpuD0 = () => med(64, 'd', 'stack');
const p = (s = '') => o.push(s);

p(`# Switchyard benchmark, ${meta.date_utc || ''}`);
p();
p(`Machine: ${meta.nproc} x ${meta.cpu_model}, ${meta.memory}, ${meta.kernel}, ${meta.os}.`);
p(`Software: ${meta.lighttpd}; ${meta.apache}; ${meta.nginx}; Redis ${meta.redis}; ` +
  `wrk ${meta.wrk}; node ${meta.node}; curl ${meta.curl}; ${meta.cc}; ${meta.libs}`);
p(`Gateway: ${meta.binary || ''}; git ${meta.git}; ${meta.gateway_a} for phases 1-3, ${meta.gateway_b} for the held streams.`);
p(`Settings: ${meta.settings}. Load average at start ${meta.loadavg_start}, at end ${meta.loadavg_end}.`);
p();
p('All figures are medians of the rounds. "softirq" is the machine-wide irq+softirq time of /proc/stat over the ' +
  'window per request (mostly the loopback network stack); part of it is already in the process columns (a process\'s ' +
  'utime+stime is its run time, softirq work done in its context included), so it is shown apart, never added. ' +
  'CPU is utime+stime from /proc/PID/stat of each process group ' +
  '(all processes and threads) over the window, divided by the requests wrk completed in it. ' +
  '"stack" = web server + workers + Redis, the gateway\'s own cost (the mock is the provider, shown apart). ' +
  'RSS = sum of VmRSS of the group at the end of the window.');
p();

function throughputTable(conns) {
    p('| target | req/s | p50 us | p90 us | p99 us | web us/req | workers us/req | Redis us/req | stack us/req | mock us/req | softirq us/req | RSS web MiB | RSS workers MiB | req/s vs (a) | req/s vs (c) | errors |');
    p('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const t of Object.keys(TARGETS)) {
        const s = series(conns, t);
        if (!s.length) continue;
        const va = paired(conns, t, 'a', (x, y) => x.rps / y.rps).med;
        const vc = paired(conns, t, 'c', (x, y) => x.rps / y.rps).med;
        const T = TARGETS[t];
        p(`| ${T.name} | ${f0(med(conns, t, 'rps'))} | ${us(med(conns, t, 'p50'))} | ${us(med(conns, t, 'p90'))} | ` +
          `${us(med(conns, t, 'p99'))} | ${T.web ? f1(med(conns, t, 'web')) : '-'} | ` +
          `${T.workers ? f1(med(conns, t, 'workers')) : '-'} | ${T.redis ? f1(med(conns, t, 'redis')) : '-'} | ` +
          `${f1(med(conns, t, 'stack'))} | ${f1(med(conns, t, 'mock'))} | ${f1(med(conns, t, 'softirq'))} | ` +
          `${T.web ? mib(med(conns, t, 'rss_web')) : '-'} | ` +
          `${T.workers ? mib(med(conns, t, 'rss_workers')) : '-'} | ${f2(va)} | ${f2(vc)} | ` +
          `${s.map((d) => d.errors).reduce((a, b) => a + b, 0)} |`);
    }
    p();
    const busy = median(wrkRecs.filter((r) => r.conns === conns).map((r) => derive(r).busy_pct));
    const other = median(wrkRecs.filter((r) => r.conns === conns).map((r) => derive(r).other_pct));
    const client = median(wrkRecs.filter((r) => r.conns === conns).map((r) => derive(r).client_pct));
    p(`Machine during these windows (median): ${f0(busy)}% of all CPUs busy, of which wrk ${f0(client)}% and ` +
      `CPU time of no benchmark process ${f0(other)}% (other tenants of the machine, interrupts on idle CPUs).`);
    p();
}

p(`## 1. Throughput: wrk -t2 -c64, ${rounds.length} rounds`);
p();
throughputTable(64);
p(`## 2. Single connection: wrk -t1 -c1, ${rounds.length} rounds`);
p();
throughputTable(1);
const added1 = paired(1, 'd', 'a', (x, y) => x.p50 - y.p50);
const added1e = paired(1, 'e', 'a', (x, y) => x.p50 - y.p50);
const added1c = paired(1, 'c', 'a', (x, y) => x.p50 - y.p50);
p(`Added p50 latency over (a), per round paired: (d) ${added1.all.map(us).join(', ')} us ` +
  `(median ${us(added1.med)}); (e) median ${us(added1e.med)} us; (c) median ${us(added1c.med)} us.`);
p();

/* ------------------------------------------------------------ TTFB */
const ttfb = {};
for (const r of recs.filter((x) => x.kind === 'ttfb')) {
    const s = [...r.values_us].sort((a, b) => a - b);
    ttfb[r.target] = {
        n: s.length, errors: r.errors, p50: quantile(s, 0.5), p90: quantile(s, 0.9),
        p99: quantile(s, 0.99), max: s[s.length - 1],
    };
}
if (Object.keys(ttfb).length) {
    p('## 3. Streaming: time to first byte');
    p();
    p('curl, sequential requests on a keep-alive connection, batches interleaved (a, d, e, a, d, e, ...); ' +
      'TTFB = time_starttransfer - time_connect (connection set-up excluded). The mock sends its events without delay.');
    p();
    p('| target | requests | errors | p50 us | p90 us | p99 us | max us | added p50 us | added p99 us |');
    p('|---|---|---|---|---|---|---|---|---|');
    const names = {
        a: TARGETS.a.name, d: TARGETS.d.name, e: TARGETS.e.name, f: TARGETS.f.name,
        a_gap: '(a) mock direct, events 20 ms apart', d_gap: '(d) lighttpd -> switchyard, events 20 ms apart',
    };
    for (const t of ['a', 'd', 'e', 'f', 'a_gap', 'd_gap']) {
        const x = ttfb[t];
        if (!x) continue;
        const a = t.endsWith('_gap') ? ttfb.a_gap : ttfb.a;
        const base = t === 'a' || t === 'a_gap';
        p(`| ${names[t]} | ${x.n} | ${x.errors} | ${us(x.p50)} | ${us(x.p90)} | ${us(x.p99)} | ${us(x.max)} | ` +
          `${base ? '-' : us(x.p50 - a.p50)} | ${base ? '-' : us(x.p99 - a.p99)} |`);
    }
    p();
    if (ttfb.d_gap) {
        p('The last two rows: the gateway holds the first event of a stream (the role delta) until the ' +
          'second arrives, so that a provider failing right after it can still be replaced unseen ' +
          '(core/serve/pipeline.c, on_chunk); its TTFB is therefore the time to the second event. The target ' +
          'below uses the first rows (events back to back).');
        p();
    }
}

/* ----------------------------------------------------------- scale */
const scale = recs.filter((r) => r.kind === 'streams');
scaleSection(recs, p);

/* --------------------------------------------------------- profile */
let buckets = null;
try { buckets = JSON.parse(fs.readFileSync(path.join(dir, 'profile-buckets.json'), 'utf8')); } catch (e) { /* none */ }
if (buckets) {
    const perReq = med(64, 'd', 'workers');
    p('## 5. Where the switchyard workers spend their CPU ((d) under wrk -t2 -c64)');
    p();
    p(`perf record -e cpu-clock --call-graph dwarf on every worker, ${buckets.total} samples; each sample charged ` +
      'to the leaf-most component frame of its stack (bench/perf-buckets.js). "us/req" applies the share to the ' +
      `median worker CPU per request of phase 1 (${f1(perReq)} us), so it is an estimate. Full listing: profile.txt.`);
    p();
    p('| component | % of worker CPU | of which kernel | of which context switches | ~us/req |');
    p('|---|---|---|---|---|');
    for (const c of buckets.components) {
        if (c.share < 0.005) continue;
        p(`| ${c.name} | ${f1(100 * c.share)} | ${f1(100 * c.kernel)} | ${f1(100 * c.csw)} | ${f1(c.share * perReq)} |`);
    }
    p();
}

/* Redis INFO commandstats over the profile run (only (d) under load). */
try {
    const cs = fs.readFileSync(path.join(dir, 'redis-commandstats.txt'), 'utf8');
    const w = /(\d+) requests in/.exec(fs.readFileSync(path.join(dir, 'profile-wrk.txt'), 'utf8'));
    const n = w ? Number(w[1]) : 0;
    const rows = [];
    for (const l of cs.split('\n')) {
        const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(l.trim());
        if (m) rows.push({ cmd: m[1], calls: Number(m[2]), usec: Number(m[3]), per: Number(m[4]) });
    }
    rows.sort((a, b) => b.usec - a.usec);
    if (n && rows.length) {
        p('## 6. Redis during the profile run (INFO commandstats)');
        p();
        p(`CONFIG RESETSTAT before, INFO commandstats after the profile run: ${n} requests to (d) and nothing else. ` +
          'Commands run inside scripts are counted on their own lines too (and inside the EVALSHA time). ' +
          'Command time excludes Redis\' event loop and socket I/O, which the CPU column of phase 1 includes.');
        p();
        p('| command | calls | calls per request | us per call | us per request |');
        p('|---|---|---|---|---|');
        for (const r of rows.slice(0, 10)) {
            p(`| ${r.cmd} | ${r.calls} | ${f2(r.calls / n)} | ${f2(r.per)} | ${f2(r.usec / n)} |`);
        }
        p();
    }
} catch (e) { /* no commandstats */ }

/* --------------------------------------------------------- targets */
p('## Targets (issue #16)');
p();
p('For chat completions through lighttpd with the full routing path, (d), everything measured in this run: ' +
  'CPU per request (web server + workers + Redis, -c64, median of the rounds) at most 1.3 x the floor, which is ' +
  'the bare FastCGI stack of (c) (lighttpd + fcgi-hello) plus the proxy hop of (b) (the nginx processes only, ' +
  'not the mock), each the median of its rounds; requests per second at least 0.6 x (c)\'s (-c64, per-round ' +
  'ratio, median); single-connection p50 at most 100 us over the mock direct (a) (-c1, per-round difference, ' +
  'median); streaming time to first byte p99 at most 1 ms over (a)\'s p99 (phase 2). The Anthropic Messages ' +
  '(m) and Responses (r) surfaces and hedging armed but not firing (h), all served by the same lighttpd and ' +
  'switchyard pool as (d), each within 10 % of (d)\'s CPU per request (per-round ratio, median; a cheaper one ' +
  'is met, and errors fail it). Apache with enablereuse=on (g) is measured beside (e), not judged.');
p();
p('| target | measured | met |');
p('|---|---|---|');
const yes = (b) => (b ? 'met' : '**not met**');
const judge = (x, ok) => (Number.isFinite(x) ? yes(ok) : 'not measured');
const errs = (conns, t) => series(conns, t).map((d) => d.errors).reduce((a, b) => a + b, 0);
const cpuD = med(64, 'd', 'stack');
const floorC = med(64, 'c', 'stack');
const floorB = med(64, 'b', 'web');
const floor = floorC + floorB;
p(`| (d) CPU per request <= 1.3 x (bare FastCGI (c) + nginx hop (b)) (-c64) | ${f1(cpuD)} us ` +
  `(lighttpd ${f1(med(64, 'd', 'web'))}, switchyard ${f1(med(64, 'd', 'workers'))}, Redis ${f1(med(64, 'd', 'redis'))}) ` +
  `vs floor ${f1(floor)} us ((c) lighttpd + fcgi-hello ${f1(floorC)}, (b) nginx ${f1(floorB)}): ` +
  `x${f2(cpuD / floor)}, limit ${f1(1.3 * floor)} us | ${judge(cpuD / floor, cpuD <= 1.3 * floor)} |`);
const thr = paired(64, 'd', 'c', (x, y) => x.rps / y.rps);
p(`| (d) throughput >= 0.6 x (c) (-c64) | x${f2(thr.med)} per round paired (${thr.all.map(f2).join(', ')}); ` +
  `${f0(med(64, 'd', 'rps'))} vs ${f0(med(64, 'c', 'rps'))} req/s | ${judge(thr.med, thr.med >= 0.6)} |`);
p(`| (d) single-connection added p50 latency <= 100 us over (a) (-c1) | ${us(added1.med)} us ` +
  `(per round ${added1.all.map(us).join(', ')}) | ${judge(added1.med, added1.med <= 100)} |`);
if (ttfb.d && ttfb.a) {
    const add = ttfb.d.p99 - ttfb.a.p99;
    p(`| (d) added streaming TTFB p99 <= 1 ms | ${f2(add / 1000)} ms (${f2(ttfb.d.p99 / 1000)} vs ` +
      `${f2(ttfb.a.p99 / 1000)} ms; added p50 ${f2((ttfb.d.p50 - ttfb.a.p50) / 1000)} ms) | ${yes(add <= 1000)} |`);
} else {
    p('| (d) added streaming TTFB p99 <= 1 ms | - | not measured (phase 2 not run) |');
}
for (const t of ['m', 'r', 'h']) {
    if (!series(64, t).length) continue;
    const q = paired(64, t, 'd', (x, y) => x.stack / y.stack);
    const e = errs(64, t);
    let verdict = judge(q.med, q.med <= 1.1 && e === 0);
    if (verdict === 'met' && q.med < 0.9) verdict = 'met (cheaper than (d))';
    p(`| ${TARGETS[t].name}: CPU per request within 10 % of (d) (-c64) | x${f2(q.med)} per round paired ` +
      `(${q.all.map(f2).join(', ')}); ${f1(med(64, t, 'stack'))} vs ${f1(cpuD)} us (switchyard ` +
      `${f1(med(64, t, 'workers'))} vs ${f1(med(64, 'd', 'workers'))}, Redis ${f1(med(64, t, 'redis'))} vs ` +
      `${f1(med(64, 'd', 'redis'))}); ${f0(med(64, t, 'rps'))} req/s; ${e} errors | ${verdict} |`);
}
if (series(64, 'p').length) {
    const q = paired(64, 'p', 'd', (x, y) => x.stack / y.stack);
    p(`| ${TARGETS.p.name}: CPU per request beside (d) (-c64) | x${f2(q.med)} per round paired; ` +
      `${f1(med(64, 'p', 'stack'))} vs ${f1(cpuD)} us (switchyard ${f1(med(64, 'p', 'workers'))}, ` +
      `Redis ${f1(med(64, 'p', 'redis'))}: the SET of each response); ${errs(64, 'p')} errors | measured |`);
}
if (series(64, 'g').length) {
    const ge = paired(64, 'g', 'e', (x, y) => x.rps / y.rps).med;
    p(`| Apache with enablereuse=on (g) measured beside (e) (-c64) | (e) ${f0(med(64, 'e', 'rps'))} req/s, ` +
      `${f1(med(64, 'e', 'stack'))} us/req (Apache ${f1(med(64, 'e', 'web'))}), ${errs(64, 'e')} errors; ` +
      `(g) ${f0(med(64, 'g', 'rps'))} req/s (x${f2(ge)}), ${f1(med(64, 'g', 'stack'))} us/req ` +
      `(Apache ${f1(med(64, 'g', 'web'))}), ${errs(64, 'g')} errors | measured |`);
}
for (const row of scaleTargetRows(scale, yes)) p(row);
p();
if (series(64, 'f').length) {
    p('## Compared build (BENCH_COMPARE)');
    p();
    p(`(f) runs ${meta.compare || 'another switchyard binary'} with the configuration of (d) (its own Redis prefix), ` +
      'behind its own lighttpd, in the same interleaved rounds. Per-round paired medians:');
    p();
    const r64 = paired(64, 'f', 'd', (x, y) => x.rps / y.rps).med;
    const rc = paired(64, 'f', 'c', (x, y) => x.rps / y.rps).med;
    const cpuF = med(64, 'f', 'stack');
    const addF = paired(1, 'f', 'a', (x, y) => x.p50 - y.p50).med;
    p('| figure | (d) | (f) |');
    p('|---|---|---|');
    p(`| req/s, -c64 | ${f0(med(64, 'd', 'rps'))} | ${f0(med(64, 'f', 'rps'))} (x${f2(r64)}) |`);
    p(`| stack us/req, -c64 (web + workers + Redis) | ${f1(cpuD0())} | ${f1(cpuF)} (lighttpd ${f1(med(64, 'f', 'web'))}, switchyard ${f1(med(64, 'f', 'workers'))}, Redis ${f1(med(64, 'f', 'redis'))}) |`);
    p(`| throughput vs (c), -c64 | ${f0(100 * paired(64, 'd', 'c', (x, y) => x.rps / y.rps).med)}% | ${f0(100 * rc)}% |`);
    p(`| added p50 latency over (a), -c1 | ${us(paired(1, 'd', 'a', (x, y) => x.p50 - y.p50).med)} us | ${us(addF)} us |`);
    if (ttfb.f && ttfb.a) {
        p(`| added streaming TTFB p50 / p99 | ${us(ttfb.d.p50 - ttfb.a.p50)} / ${us(ttfb.d.p99 - ttfb.a.p99)} us | ` +
          `${us(ttfb.f.p50 - ttfb.a.p50)} / ${us(ttfb.f.p99 - ttfb.a.p99)} us |`);
    }
    p();
}

p('## Commands');
p();
p('```');
p(commands.trim());
p('```');
process.stdout.write(o.join('\n') + '\n');
