/*
 * scrape.js - what one GET /metrics scrape costs as the config grows
 * (issue 15: "scraping costs a bounded number of Redis calls"). For each
 * deployment count (spread over groups of three, weighted strategy) one
 * stack: its own redis-server, mock provider, one switchyard process
 * behind lighttpd, all on free 127.0.0.1 ports (tests/integration/
 * harness.js) and stopped at the end. Virtual keys are then created
 * through the admin API in steps (half of them with a money budget) and
 * some traffic is sent so the counters, cost series and budget counters
 * exist. At each step, for every stack:
 *
 *   - Redis commands per scrape, exact: MONITOR around a few scrapes,
 *     counting the commands of the connections that read the metrics
 *     hashes (commands a script runs, "[0 lua]", belong to the EVAL
 *     line before them);
 *   - the same from INFO commandstats diffed around the latency rounds,
 *     minus the background (the state thread's refresh) measured over an
 *     idle window of the same Redis;
 *   - round trips: the gateway's own switchyard_scrape_redis_calls;
 *   - latency (client side, a new connection each, through lighttpd)
 *     p50/p99 over rounds that interleave the stacks; body size.
 *
 *   node bench/scrape.js [--build DIR] [--out DIR] [--deps 3,30,300]
 *        [--keys 0,100,1000] [--rounds 6] [--per 10]
 *
 * Writes DIR/results.json and DIR/summary.md (default
 * BUILD/bench-scrape). Node 18 or later, no npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { quantile, median, parseArgs } = require('./lib');

const { opts } = parseArgs(process.argv.slice(2));
const ROOT = path.resolve(__dirname, '..');
const BUILD = path.resolve(ROOT, opts.build || 'build');
const OUT = path.resolve(opts.out || path.join(BUILD, 'bench-scrape'));
const DEPS = (opts.deps || '3,30,300').split(',').map(Number);
const KEYS = (opts.keys || '0,100,1000').split(',').map(Number);
const ROUNDS = Number(opts.rounds || 6);
const PER = Number(opts.per || 10);     /* scrapes per stack per round */
const MON_SCRAPES = 2;                   /* scrapes under MONITOR */
const IDLE_MS = 3000;                    /* background window */
const REFRESH_MS = 1000;                 /* state.refresh_ms of the stacks */
const VK_TRAFFIC = 20;                   /* new keys that send a request */

/* The harness' safety nets, sized for the whole run (about 4 minutes). */
process.env.SY_BUILD_DIR = BUILD;
process.env.SY_TEST_LIFETIME = '420';
process.env.SY_TEST_FILE_TIMEOUT = '450';
const h = require('../tests/integration/harness');

const SECRETS = {
    SY_B_ADMIN: 'bench-scrape-admin-key-0123456789',
    SY_B_SECRET: 'bench-scrape-server-secret-0123456789abcdef',
    SY_B_CK: 'bench-scrape-caller-key-0123456789',
};
const ADMIN = { Authorization: `Bearer ${SECRETS.SY_B_ADMIN}` };

function log(msg) {
    process.stderr.write(`bench-scrape: ${msg}\n`);
}

function loadavg() {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

const pad = (n, w) => String(n).padStart(w, '0');

/* D deployments d000.. in groups of three g000.. (weighted), priced so
 * requests cost money; one static caller key for the keyless traffic. */
function config(mockPort, redisUrl, ndeps) {
    const deployments = {};
    const groups = {};
    for (let i = 0; i < ndeps; i++) {
        const d = `d${pad(i, 3)}`;
        deployments[d] = {};
        const g = `g${pad(Math.floor(i / 3), 3)}`;
        if (!groups[g]) groups[g] = { deployments: [], strategy: 'weighted' };
        groups[g].deployments.push(d);
    }
    const cfg = h.gatewayConfig(mockPort, {
        deployments, groups,
        server: { processes: 1, threads: 4, admin_key_env: 'SY_B_ADMIN', log_level: 'warn' },
    });
    for (const d of Object.values(cfg.deployments)) {
        d.price = { input_per_mtok: 1, output_per_mtok: 2 };
    }
    /* Window and slices at their defaults (60 s in 5 s slices). */
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: REFRESH_MS,
        key_secret_env: 'SY_B_SECRET',
    };
    cfg.keys = { bench: { key_env: 'SY_B_CK' } };
    cfg.metrics = { allow: [] };
    return cfg;
}

/* Run fn over items, at most n at a time. */
async function pool(items, n, fn) {
    let next = 0;
    const work = async () => {
        while (next < items.length) {
            const i = next++;
            await fn(items[i], i);
        }
    };
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, work));
}

/* INFO commandstats as {command: calls}. */
async function commandstats(redis) {
    const text = await redis.cmd('INFO', 'commandstats');
    const out = {};
    for (const m of String(text).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        out[m[1]] = Number(m[2]);
    }
    return out;
}

/* Our own reads of Redis, left out of the diffs. */
const OURS = new Set(['info', 'monitor', 'ping', 'scan']);

function statDiff(a, b) {
    const out = {};
    for (const [k, v] of Object.entries(b)) {
        if (OURS.has(k)) continue;
        const d = v - (a[k] || 0);
        if (d) out[k] = d;
    }
    return out;
}

function addInto(acc, d, scale = 1) {
    for (const [k, v] of Object.entries(d)) acc[k] = (acc[k] || 0) + v * scale;
}

const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/*
 * A MONITOR connection: lines "ts [db addr] "CMD" "arg"...", the commands
 * a script runs as "[db lua]" right after their EVAL/EVALSHA line.
 */
class Monitor {
    constructor(port) {
        this.port = port;
        this.buf = '';
        this.lines = [];
    }

    start() {
        return new Promise((resolve, reject) => {
            this.sock = net.connect({ host: '127.0.0.1', port: this.port });
            this.sock.setEncoding('utf8');
            this.sock.on('error', reject);
            this.sock.on('connect', () => this.sock.write('MONITOR\r\n'));
            let ok = false;
            this.sock.on('data', (d) => {
                this.buf += d;
                let nl;
                while ((nl = this.buf.indexOf('\r\n')) >= 0) {
                    const line = this.buf.slice(0, nl);
                    this.buf = this.buf.slice(nl + 2);
                    if (!ok && line === '+OK') {
                        ok = true;
                        resolve();
                    } else if (line.startsWith('+')) {
                        this.lines.push(line.slice(1));
                    }
                }
            });
        });
    }

    stop() {
        this.sock.destroy();
        return this.lines;
    }
}

/* Commands per scrape connection: {cmd: calls}, script commands as
 * "CMD (script)". Scrape connections: those that HGETALL the requests
 * family (only a scrape reads it). */
function attribute(lines) {
    const parsed = [];
    for (const l of lines) {
        const m = /^[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"(?: "((?:[^"\\]|\\.)*)")?/.exec(l);
        if (m) parsed.push({ who: m[1], cmd: m[2].toUpperCase(), arg: m[3] || '' });
    }
    const scrapers = new Set(parsed
        .filter((p) => p.cmd === 'HGETALL' && p.arg === 'sy:metrics:requests')
        .map((p) => p.who));
    const out = {};
    let owner = null;
    for (const p of parsed) {
        if (p.who === 'lua') {
            if (owner && scrapers.has(owner)) {
                const k = `${p.cmd} (script)`;
                out[k] = (out[k] || 0) + 1;
            }
            continue;
        }
        owner = p.who;
        if (scrapers.has(p.who)) out[p.cmd] = (out[p.cmd] || 0) + 1;
    }
    return out;
}

/* One scrape: client-side time, body size, samples, the gauge. */
async function scrape(st) {
    const r = await h.request(st.stack.base('lighttpd'), {
        path: '/metrics', headers: ADMIN, timeout: 30000,
    });
    if (r.status !== 200) throw new Error(`scrape D=${st.ndeps}: ${r.status} ${r.error || ''}`);
    const m = /^switchyard_scrape_redis_calls (\d+)$/m.exec(r.body);
    const up = /^switchyard_redis_up (\d+)$/m.exec(r.body);
    let samples = 0;
    for (const line of r.body.split('\n')) if (line && line[0] !== '#') samples++;
    return {
        ms: r.tEnd, bytes: Buffer.byteLength(r.body), samples,
        calls: m ? Number(m[1]) : NaN, up: up ? Number(up[1]) : NaN, body: r.body,
    };
}

/* Samples per metric family (histogram and summary parts together). */
function families(body) {
    const out = {};
    for (const line of body.split('\n')) {
        if (!line || line[0] === '#') continue;
        const name = line.slice(0, line.search(/[{ ]/))
            .replace(/_(bucket|sum|count)$/, '');
        out[name] = (out[name] || 0) + 1;
    }
    return out;
}

async function startStack(ndeps) {
    const redis = new h.Redis(h.makeTmpDir(`scrape-redis-${ndeps}`));
    await redis.start();
    const stack = new h.Stack({
        tag: `scrape-${ndeps}`, env: SECRETS,
        config: (mockPort) => config(mockPort, redis.url, ndeps),
    });
    await stack.start();
    return { ndeps, ngroups: Math.ceil(ndeps / 3), redis, stack, vkeys: [] };
}

async function chatOk(st, model, key) {
    const r = await h.chat(st.stack.base('lighttpd'), {
        model, headers: { Authorization: `Bearer ${key}` }, timeout: 15000,
        extra: { max_tokens: 16 },
    });
    if (r.status !== 200) throw new Error(`chat ${model}: ${r.status} ${r.body.slice(0, 200)}`);
}

/* Keys up to 'want' (even ones with a 5 USD monthly budget), then one
 * request from each of up to VK_TRAFFIC of the new ones. */
async function growKeys(st, want) {
    const from = st.vkeys.length;
    const names = [];
    for (let i = from; i < want; i++) names.push(`k${pad(i, 4)}`);
    await pool(names, 6, async (name, j) => {
        const i = from + j;
        const body = { name, team: `t${i % 10}` };
        if (i % 2 === 0) Object.assign(body, { budget_usd: 5, budget_period: 'month' });
        const r = await h.request(st.stack.base('lighttpd'), {
            method: 'POST', path: '/admin/keys', headers: ADMIN, body, timeout: 15000,
        });
        if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body}`);
        st.vkeys[i] = r.json.key;
    });
    const users = st.vkeys.slice(from, from + VK_TRAFFIC);
    await pool(users, 4, (k, j) =>
        chatOk(st, `g${pad((from + j) % st.ngroups, 3)}`, k));
}

/* Three requests per group with the static key. */
async function baseTraffic(st) {
    const models = [];
    for (let g = 0; g < st.ngroups; g++) for (let k = 0; k < 3; k++) models.push(`g${pad(g, 3)}`);
    await pool(models, 6, (m) => chatOk(st, m, SECRETS.SY_B_CK));
}

/* Background commands per ms of the state thread, Redis otherwise idle. */
async function background(st) {
    const a = await commandstats(st.redis);
    const t0 = Date.now();
    await h.sleep(IDLE_MS);
    const b = await commandstats(st.redis);
    const d = statDiff(a, b);
    const ms = Date.now() - t0;
    const rate = {};
    for (const [k, v] of Object.entries(d)) rate[k] = v / ms;
    return rate;
}

/* Interleaved rounds: each round visits every stack (rotated order) for
 * PER scrapes, commandstats read around each visit. */
async function latencyRounds(stacks, cells) {
    for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < stacks.length; i++) {
            const st = stacks[(i + r) % stacks.length];
            const c = cells.get(st);
            const a = await commandstats(st.redis);
            const t0 = Date.now();
            for (let k = 0; k < PER; k++) {
                const s = await scrape(st);
                delete s.body;
                c.samples.push(s);
            }
            const ms = Date.now() - t0;
            const b = await commandstats(st.redis);
            addInto(c.rawStats, statDiff(a, b));
            c.statMs += ms;
        }
    }
}

async function monitorPass(st) {
    const mon = new Monitor(st.redis.port);
    await mon.start();
    await h.sleep(50);
    let last;
    for (let k = 0; k < MON_SCRAPES; k++) last = await scrape(st);
    await h.sleep(200);
    const by = attribute(mon.stop());
    const out = {};
    for (const [k, v] of Object.entries(by)) out[k] = v / MON_SCRAPES;
    return { cmds: out, families: families(last.body) };
}

function summarize(st, nkeys, c, bg, { cmds: mon, families: fam }) {
    const n = c.samples.length;
    const ms = c.samples.map((s) => s.ms).sort((a, b) => a - b);
    const corrected = {};
    for (const [k, v] of Object.entries(c.rawStats)) {
        corrected[k] = (v - (bg[k] || 0) * c.statMs) / n;
    }
    const bgPerScrape = total(bg) * c.statMs / n;
    const calls = c.samples.map((s) => s.calls);
    return {
        deployments: st.ndeps, groups: st.ngroups, vkeys: nkeys,
        budgeted: Math.ceil(nkeys / 2), scrapes: n,
        round_trips: { min: Math.min(...calls), max: Math.max(...calls) },
        redis_up_all: c.samples.every((s) => s.up === 1),
        monitor_cmds: total(mon), monitor_by_cmd: mon,
        stats_raw_per_scrape: total(c.rawStats) / n,
        stats_bg_per_scrape: bgPerScrape,
        stats_cmds: total(corrected), stats_by_cmd: corrected,
        p50_ms: quantile(ms, 0.5), p99_ms: quantile(ms, 0.99), max_ms: ms[n - 1],
        bytes: median(c.samples.map((s) => s.bytes)),
        samples: median(c.samples.map((s) => s.samples)),
        families: fam,
    };
}

function fmtCmds(by, top = Infinity) {
    return Object.entries(by).filter(([, v]) => Math.abs(v) >= 0.5)
        .sort((a, b) => b[1] - a[1]).slice(0, top)
        .map(([k, v]) => `${k} ${Math.round(v)}`).join(', ');
}

function report(meta, rows) {
    const L = [];
    L.push(`Command: \`${meta.command}\``, '');
    L.push(`Date: ${meta.date}; git ${meta.git}; ${meta.cpus} CPUs; load average at start ` +
           `${meta.load_start}, at end ${meta.load_end}; ${meta.seconds} s.`, '');
    L.push('| deployments (groups) | virtual keys (with budget) | round trips | Redis commands per scrape (MONITOR) | commandstats per scrape, background removed | p50 ms | p99 ms | body KiB | samples |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
        const rt = r.round_trips.min === r.round_trips.max ? `${r.round_trips.min}`
            : `${r.round_trips.min}-${r.round_trips.max}`;
        L.push(`| ${r.deployments} (${r.groups}) | ${r.vkeys} (${r.budgeted}) | ${rt} | ` +
               `${Math.round(r.monitor_cmds)} | ${Math.round(r.stats_cmds)} | ` +
               `${r.p50_ms.toFixed(1)} | ${r.p99_ms.toFixed(1)} | ` +
               `${(r.bytes / 1024).toFixed(1)} | ${r.samples} |`);
    }
    L.push('', 'Commands per scrape by name (MONITOR; "(script)" = run inside an EVALSHA):', '');
    for (const r of rows) {
        L.push(`- ${r.deployments} deployments, ${r.vkeys} keys: ${fmtCmds(r.monitor_by_cmd)}`);
    }
    L.push('', 'Largest metric families (samples in one scrape):', '');
    for (const r of rows) {
        L.push(`- ${r.deployments} deployments, ${r.vkeys} keys: ${fmtCmds(r.families, 6)}`);
    }
    L.push('', `Each cell: ${rows[0] ? rows[0].scrapes : 0} scrapes (${ROUNDS} rounds x ${PER}, ` +
           'stacks interleaved); commandstats background (state thread refresh every ' +
           `${REFRESH_MS} ms) measured over ${IDLE_MS} ms idle and subtracted.`);
    return L.join('\n') + '\n';
}

async function main() {
    const t0 = Date.now();
    const meta = {
        command: `node bench/scrape.js --build ${path.relative(ROOT, BUILD) || '.'}`,
        date: new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
        git: (spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })
            .stdout || '?').trim(),
        cpus: os.cpus().length, load_start: loadavg(),
    };
    for (const m of [['redis', 'redis-server'], ['lighttpd', 'lighttpd']]) {
        if (h.missing(m[0])) throw new Error(`${m[1]} is not installed`);
    }
    const stacks = [];
    const rows = [];
    try {
        for (const d of DEPS) {
            log(`starting the stack with ${d} deployments`);
            stacks.push(await startStack(d));
        }
        for (const st of stacks) await baseTraffic(st);
        for (const nkeys of KEYS) {
            for (const st of stacks) await growKeys(st, nkeys);
            log(`${nkeys} keys: traffic sent, waiting for the flush`);
            await h.sleep(2.5 * REFRESH_MS);
            for (const st of stacks) for (let k = 0; k < 2; k++) await scrape(st);
            const bgs = await Promise.all(stacks.map(background));
            const cells = new Map(stacks.map((st) => [st, { samples: [], rawStats: {}, statMs: 0 }]));
            await latencyRounds(stacks, cells);
            for (let i = 0; i < stacks.length; i++) {
                const st = stacks[i];
                const mon = await monitorPass(st);
                const row = summarize(st, nkeys, cells.get(st), bgs[i], mon);
                rows.push(row);
                log(`D=${st.ndeps} K=${nkeys}: ${row.monitor_cmds} cmds, ` +
                    `rt ${row.round_trips.min}-${row.round_trips.max}, ` +
                    `p50 ${row.p50_ms.toFixed(1)} ms, ${row.bytes} bytes`);
            }
        }
    } finally {
        for (const st of stacks) {
            await st.stack.stop();
            await st.redis.stop();
        }
    }
    meta.load_end = loadavg();
    meta.seconds = Math.round((Date.now() - t0) / 1000);
    rows.sort((a, b) => a.deployments - b.deployments || a.vkeys - b.vkeys);
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify({ meta, rows }, null, 2));
    const md = report(meta, rows);
    fs.writeFileSync(path.join(OUT, 'summary.md'), md);
    process.stdout.write(md);
}

main().then(() => process.exit(0), (e) => {
    log(`failed: ${e.stack || e}`);
    process.exit(1);
});
