/*
 * run.js - the routing benchmark ('make bench-routing'): for each
 * scenario, the real stack (the mock provider, switchyard with Redis
 * state, lighttpd) on free 127.0.0.1 ports, one group per routing
 * strategy, each group with its own copies of the scenario's mock
 * deployments (so one strategy's traffic never teaches another's
 * latency windows or fills its caches), the same seeded workload sent to
 * every group at once and the scenario's timeline of shifts applied to
 * every group's copy at the same moment. Writes one JSON file per
 * scenario (every request, the mock's counters) for report.js.
 *
 *   node bench/routing/run.js --build DIR [--scenario NAME|all]
 *        [--duration SECS] [--callers N] [--seed N] [--out DIR]
 *
 * --duration replaces each scenario's duration_s and scales its timeline
 * with it. Everything started is stopped at the end (or on Ctrl-C).
 * Node 18 or later, no npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');

function parseArgs(argv) {
    const o = {};
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[++i];
    }
    return o;
}

const args = parseArgs(process.argv.slice(2));
const BUILD = path.resolve(args.build || 'build');
const SEED = Number(args.seed || 1);
const OUT = path.resolve(args.out || path.join(BUILD, 'bench-routing'));
const SCEN_DIR = path.join(HERE, 'scenarios');
const names = (!args.scenario || args.scenario === 'all')
    ? fs.readdirSync(SCEN_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()
    : args.scenario.split(',');
const scenarios = names.map((n) => {
    const f = path.join(SCEN_DIR, `${n}.json`);
    if (!fs.existsSync(f)) {
        process.stderr.write(`bench-routing: no scenario ${f}\n`);
        process.exit(2);
    }
    return { name: n, ...JSON.parse(fs.readFileSync(f, 'utf8')) };
});
const durOf = (sc) => Number(args.duration || sc.duration_s);
const total = scenarios.reduce((a, sc) => a + durOf(sc) + 30, 0);

/* The harness' safety nets, sized for the whole run. */
process.env.SY_BUILD_DIR = BUILD;
process.env.SY_TEST_LIFETIME = String(total + 120);
process.env.SY_TEST_FILE_TIMEOUT = String(total + 180);
const h = require('../../tests/integration/harness');

/* ------------------------------------------------------------------ */
/* Strategies: one group each                                          */

const STRATEGIES = [
    { key: 'priority', group: () => ({ strategy: 'priority' }) },
    { key: 'weighted', group: () => ({ strategy: 'weighted' }) },
    { key: 'latency', group: (sc) => ({ strategy: 'latency', thresholds: sc.thresholds }) },
    { key: 'cost', group: (sc) => ({ strategy: 'cost', thresholds: sc.thresholds }) },
    { key: 'hedge', needs: 'hedge',
      group: (sc) => ({ strategy: 'latency', thresholds: sc.thresholds,
                        hedge: { after_ms: 'p95', max_share: 0.04 } }) },
    { key: 'affinity', needs: 'affinity',
      group: (sc) => ({ strategy: 'latency', thresholds: sc.thresholds, affinity: true }) },
];

/* Does this switchyard accept the group key 'key'? (check-config on a
 * one-group config holding it.) */
function supports(key, sample) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-check-'));
    const file = path.join(dir, 'c.json');
    const cfg = h.gatewayConfig(1, { deployments: { x: {} }, groups: { m: { deployments: ['x'], ...sample } } });
    fs.writeFileSync(file, JSON.stringify(cfg));
    const r = h.runSwitchyard(['check-config', file]);
    fs.rmSync(dir, { recursive: true, force: true });
    return r.status === 0 ? null : `switchyard refuses the group key "${key}": ` +
        `${String(r.stderr || r.stdout || '').trim().split('\n')[0]}`;
}

function groupsFor(sc) {
    const out = [];
    const skipped = [];
    for (const s of STRATEGIES) {
        const g = s.group(sc);
        const why = s.needs ? supports(s.needs, { [s.needs]: g[s.needs] }) : null;
        if (why) skipped.push({ key: s.key, why });
        else out.push({ key: s.key, conf: g, deps: sc.order.slice() });
    }
    if (sc.single) out.push({ key: 'single', conf: { strategy: 'priority' }, deps: [sc.single] });
    return { groups: out, skipped };
}

function config(sc, groups, redisUrl, mockPort) {
    const deployments = {};
    const gs = {};
    for (const g of groups) {
        for (const d of g.deps) {
            /* Each deployment has an API key, as a real one does: a 429
             * parks it (a keyless provider is never parked). */
            deployments[`${g.key}-${d}`] = {
                timeouts: { connect_ms: 1000, first_byte_ms: 10000, idle_ms: 10000, total_ms: 60000 },
                api_key_env: ['SY_BENCH_PROVIDER_KEY'],
            };
        }
        gs[g.key] = { deployments: g.deps.map((d) => `${g.key}-${d}`), ...g.conf };
    }
    const cfg = h.gatewayConfig(mockPort, {
        deployments, groups: gs,
        server: { processes: 2, threads: 48, log_level: 'warn' },
        state: { redis_url: redisUrl },
    });
    for (const g of groups) {
        for (const d of g.deps) {
            const dep = cfg.deployments[`${g.key}-${d}`];
            const spec = sc.deployments[d];
            if (spec.price) dep.price = { ...spec.price };
            if (spec.weight !== undefined) dep.weight = spec.weight;
        }
    }
    return cfg;
}

/* ------------------------------------------------------------------ */
/* The mock, started with --seed                                       */

class SeededMock extends h.Mock {
    async start() {
        const portFile = path.join(this.dir, 'mock.port');
        this.proc = h.spawnProc('mock-llm', [h.MOCK, '--port', '0', '--port-file', portFile,
            '--max-lifetime', process.env.SY_TEST_LIFETIME, '--threads', '4', '--quiet',
            '--seed', String(SEED), '--common-draws'], { log: path.join(this.dir, 'mock.log') });
        await h.waitFor('mock-llm port file', () => {
            const t = fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim();
            if (t && /^\d+$/.test(t)) this.port = Number(t);
            return this.port > 0;
        }, 10000, this.proc);
        this.base = `http://127.0.0.1:${this.port}`;
    }
}

function profile(spec) {
    return {
        delay_dist: spec.ttft,
        chunk_delay_dist: spec.token,
        prompt_cache: spec.prompt_cache || {},
    };
}

/* ------------------------------------------------------------------ */
/* One request and its record                                          */

function costOf(res) {
    const hdr = res.headers['x-switchyard-cost-usd'];
    if (hdr !== undefined) return Number(hdr);
    for (const c of res.comments) {
        const m = /x-switchyard-cost-usd ([0-9.]+)/.exec(c.text);
        if (m) return Number(m[1]);
    }
    return 0;
}

function firstTokenMs(res) {
    for (const e of res.events) {
        const ch = e.json && e.json.choices && e.json.choices[0];
        if (ch && ch.delta && typeof ch.delta.content === 'string' && ch.delta.content) return e.t;
    }
    return null;
}

function answerText(res) {
    if (res.events.length) return res.events.map((e) => {
        const ch = e.json && e.json.choices && e.json.choices[0];
        return ch && ch.delta && ch.delta.content ? ch.delta.content : '';
    }).join('');
    const ch = res.json && res.json.choices && res.json.choices[0];
    return ch && ch.message ? ch.message.content : '';
}

function record(g, t0, req, res) {
    const streamOk = !req.stream || (res.events.length && res.events[res.events.length - 1].data === '[DONE]' &&
        !res.events.some((e) => e.json && e.json.error));
    const ok = res.status === 200 && res.complete && !res.error && streamOk;
    const dep = String(res.headers['x-switchyard-deployment'] || '').replace(`${g}-`, '');
    const route = String(res.headers['x-switchyard-route'] || '');
    const ttft = req.stream ? firstTokenMs(res) : null;
    return {
        g, t: Number((t0 / 1000).toFixed(3)), kind: req.kind, stream: req.stream, status: res.status,
        ok, err: ok ? null : (res.error || (res.json && res.json.error && res.json.error.code) || `status ${res.status}`),
        dep, ttft: ttft === null ? null : Math.round(ttft), total: Math.round(res.tEnd),
        cost: ok ? costOf(res) : 0,
        attempts: Number(res.headers['x-switchyard-attempts'] || 0),
        hedged: /hedge=(won|lost)/.test(route), hedge_won: /hedge=won/.test(route),
        affinity: (/affinity=([a-z-]+)/.exec(route) || [])[1] || null,
        route, /* the whole x-switchyard-route, to read a run by hand */
    };
}

async function caller(base, g, idx, sc, start, end, out) {
    const { Caller } = require('./workload');
    const c = new Caller(SEED * 1000 + idx, sc.mix, `${idx}`);
    const think = require('./workload').rng(SEED * 7919 + idx);
    for (let n = 0; performance.now() < end; n++) {
        const req = c.next(g);
        const t0 = performance.now() - start;
        const res = await h.request(base, {
            method: 'POST', path: '/v1/chat/completions', body: req.body,
            headers: req.headers, timeout: 60000,
        });
        /* c, n: the caller and its request's number, the same request in
         * every group (to compare groups request by request by hand) */
        out.push({ ...record(g, t0, req, res), c: idx, n });
        c.answered(answerText(res));
        await h.sleep(Math.floor(think() * 100));
    }
}

/* ------------------------------------------------------------------ */
/* One scenario                                                        */

async function runScenario(sc) {
    const dur = durOf(sc);
    const f = dur / sc.duration_s;
    const { groups, skipped } = groupsFor(sc);
    for (const s of skipped) process.stdout.write(`  skipped ${s.key}: ${s.why}\n`);
    const dir = h.makeTmpDir('bench-routing');
    const redis = new h.Redis(dir);
    const mock = new SeededMock(dir);
    let stack = null;
    const load0 = os.loadavg();
    try {
        await redis.start();
        await mock.start();
        for (const g of groups) {
            for (const d of g.deps) await mock.ctl('PUT', `/_mock/profile/${g.key}-${d}`, profile(sc.deployments[d]));
        }
        stack = new h.Stack({ tag: 'bench-routing', mock: false, servers: ['lighttpd'],
            env: { SY_BENCH_PROVIDER_KEY: 'sk-bench-routing-0123456789' },
            config: () => config(sc, groups, redis.url, mock.port) });
        await stack.start();
        const base = stack.base('lighttpd');
        const requests = [];
        const shifts = [];
        const start = performance.now();
        const end = start + dur * 1000;
        const timers = (sc.timeline || []).map((ev) => setTimeout(async () => {
            for (const g of groups) {
                if (g.deps.includes(ev.dep)) await mock.ctl('PUT', `/_mock/faults/${g.key}-${ev.dep}`, ev.fault);
            }
            shifts.push({ t: Number(((performance.now() - start) / 1000).toFixed(3)), ...ev });
            process.stdout.write(`  t=${Math.round((performance.now() - start) / 1000)}s ${ev.label || ev.dep}\n`);
        }, ev.at_s * f * 1000));
        const callers = [];
        const n = Number(args.callers || sc.callers || 6);
        for (const g of groups) {
            for (let i = 0; i < n; i++) callers.push(caller(base, g.key, i, sc, start, end, requests));
        }
        await Promise.all(callers);
        timers.forEach(clearTimeout);
        const stats = await mock.stats();
        const tally = await mock.tally();
        return {
            scenario: sc.name, description: sc.description, seed: SEED, duration_s: dur,
            time_scale: f, callers_per_group: n, load_start: load0, load_end: os.loadavg(),
            ncpu: os.cpus().length, date: new Date().toISOString(),
            scenario_def: sc, groups: groups.map((g) => ({ key: g.key, conf: g.conf, deps: g.deps })),
            skipped, shifts, requests,
            mock: {
                requests: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.requests])),
                by_status: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.by_status])),
                tally: tally.by_deployment,
            },
        };
    } finally {
        if (stack) await stack.stop();
        await mock.stop();
        await redis.stop();
        h.removeTmpDir(dir);
    }
}

async function main() {
    fs.mkdirSync(OUT, { recursive: true });
    for (const sc of scenarios) {
        process.stdout.write(`bench-routing: ${sc.name} (${durOf(sc)} s, load ${os.loadavg()[0].toFixed(2)})\n`);
        const r = await runScenario(sc);
        const file = path.join(OUT, `${sc.name}.json`);
        fs.writeFileSync(file, JSON.stringify(r));
        const per = {};
        for (const q of r.requests) per[q.g] = (per[q.g] || 0) + 1;
        process.stdout.write(`  ${r.requests.length} requests ${JSON.stringify(per)} -> ${file}\n`);
    }
}

main().then(() => process.exit(0), (e) => {
    process.stderr.write(`bench-routing: ${e.stack || e}\n`);
    process.exit(1);
});
