/*
 * streams.js - hold N slow streaming chat completions open at once and
 * measure what they cost.
 *
 *   node bench/streams.js --out FILE --url URL --n N --ramp-ms R \
 *        --body-file F [--key KEY] [--timeout-ms T] [--mock BASE] \
 *        [--label L] [--pool PxT] [--web-workers W] [--chunks C] \
 *        [--chunk-ms MS] [--plateau-wait-ms W] group=ROOTPID ...
 *
 * Opens N requests (one connection each), spread evenly over R ms, and
 * reads every stream to its end. A stream counts as an error when its
 * status is not 200, the connection fails or times out, it carries an
 * SSE error event, or it ends without "data: [DONE]".
 *
 * Snapshots of the process groups (lib.js): before the first request
 * (idle RSS), at the plateau (every stream open and answering: the RSS
 * per in-flight request is taken there, together with the mock's own
 * in_flight count from BASE/_mock/stats; or W ms after the last start,
 * 2000 by default, when not all answer by then), and after the last stream
 * (CPU ticks per group over the whole run). At the plateau also each
 * group's descriptors, memory mappings and threads (sum, and the largest
 * single process: the limits are per process). "events" counts the SSE
 * events ("data: " lines) delivered to the client, [DONE] included: the
 * CPU per event divides by it. --pool, --web-workers, --chunks and
 * --chunk-ms are recorded as given (what run.sh configured).
 * Appends one JSON line to FILE.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const { snapshot, cpuDelta, parseArgs, quantile } = require('./lib');

const { opts, pairs } = parseArgs(process.argv.slice(2));
const N = Number(opts.n || 100);
const RAMP = Number(opts['ramp-ms'] || 1000);
const TIMEOUT = Number(opts['timeout-ms'] || 60000);
const PLATEAU_WAIT = Number(opts['plateau-wait-ms'] || 2000);
if (!opts.out || !opts.url || !opts['body-file']) {
    process.stderr.write('usage: streams.js --out FILE --url URL --n N --ramp-ms R ' +
                         '--body-file F [--key KEY] [--timeout-ms T] [--mock BASE] group=PID ...\n');
    process.exit(2);
}
const body = fs.readFileSync(opts['body-file']);
const url = new URL(opts.url);
const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length };
if (opts.key) headers.Authorization = `Bearer ${opts.key}`;

const st = {
    started: 0, open: 0, withHead: 0, finished: 0, ok: 0,
    errors: { status: {}, transport: 0, timeout: 0, no_done: 0, error_event: 0 },
    errorSamples: [], ttfb: [], dur: [], events: 0,
};
let plateau = null;
let peak = { open: 0 };
/* Does this one client keep up? Its event loop's delay over the run. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/* What limits a process: descriptors, memory mappings, threads. Per
 * group: the sum and the largest single process (the limits are per
 * process: RLIMIT_NOFILE, vm.max_map_count). */
function countLines(file) {
    try {
        const t = fs.readFileSync(file, 'utf8');
        let n = 0;
        for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) n++;
        return n;
    } catch (e) {
        return 0;
    }
}
function limitsOf(snap) {
    const out = {};
    for (const [name, g] of Object.entries(snap.groups)) {
        const o = { fds: 0, max_fds: 0, maps: 0, max_maps: 0, threads: 0, max_threads: 0 };
        for (const pid of Object.keys(g.pids)) {
            let fds = 0;
            try { fds = fs.readdirSync(`/proc/${pid}/fd`).length; } catch (e) { /* gone */ }
            const maps = countLines(`/proc/${pid}/maps`);
            let thr = 0;
            try {
                const m = /Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
                thr = m ? Number(m[1]) : 0;
            } catch (e) { /* gone */ }
            o.fds += fds;
            o.maps += maps;
            o.threads += thr;
            o.max_fds = Math.max(o.max_fds, fds);
            o.max_maps = Math.max(o.max_maps, maps);
            o.max_threads = Math.max(o.max_threads, thr);
        }
        out[name] = o;
    }
    return out;
}

function fail(kind, detail) {
    if (st.errorSamples.length < 10) st.errorSamples.push(`${kind}: ${detail}`);
}

function getJson(u) {
    return new Promise((resolve) => {
        const req = http.get(u, { agent: false, timeout: 5000 }, (r) => {
            let s = '';
            r.setEncoding('utf8');
            r.on('data', (d) => { s += d; });
            r.on('end', () => { try { resolve(JSON.parse(s)); } catch (e) { resolve(null); } });
        });
        req.on('error', () => resolve(null));
        req.on('timeout', () => { req.destroy(); resolve(null); });
    });
}

async function takePlateau(why) {
    if (plateau) return;
    plateau = { why, t_ms: Math.round(performance.now() - t0), open: st.open, with_head: st.withHead };
    const snap = snapshot(pairs, { rss: true });
    plateau.rss_kb = Object.fromEntries(Object.entries(snap.groups).map(([k, g]) => [k, g.rss_kb]));
    plateau.nproc = Object.fromEntries(Object.entries(snap.groups).map(([k, g]) => [k, g.nproc]));
    plateau.limits = limitsOf(snap);
    plateau.open_after = st.open;
    if (opts.mock) {
        const s = await getJson(`${opts.mock}/_mock/stats`);
        if (s && s.deployments) {
            plateau.mock_in_flight = Object.values(s.deployments)
                .reduce((a, d) => a + (d.in_flight || 0), 0);
        }
    }
    process.stdout.write(`  plateau (${why}) at ${plateau.t_ms} ms: ${plateau.open} open, ` +
        `${plateau.with_head} answering, mock in_flight ${plateau.mock_in_flight}\n`);
}

function one() {
    const t = performance.now();
    st.started++;
    st.open++;
    let status = 0;
    let tail = '';
    let done = false;
    let errEvent = false;
    let settled = false;
    const finish = (kind, detail) => {
        if (settled) return;
        settled = true;
        st.open--;
        st.finished++;
        if (status !== 0) st.withHead--;
        if (kind === 'end') {
            if (status !== 200) {
                st.errors.status[status] = (st.errors.status[status] || 0) + 1;
                fail('status', `${status} ${tail.slice(0, 200)}`);
            } else if (errEvent) {
                st.errors.error_event++;
                fail('error event', tail.slice(-200));
            } else if (!done) {
                st.errors.no_done++;
                fail('no [DONE]', tail.slice(-200));
            } else {
                st.ok++;
                st.dur.push(performance.now() - t);
            }
        } else {
            st.errors[kind]++;
            fail(kind, detail);
        }
        if (st.finished === N) finished();
    };
    const req = http.request({
        hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST',
        headers, agent: false,
    }, (res) => {
        status = res.statusCode;
        st.withHead++;
        st.ttfb.push(performance.now() - t);
        if (st.withHead === N && !plateau) takePlateau('all answering');
        res.setEncoding('utf8');
        res.on('data', (d) => {
            const s = tail + d;
            /* Count each event once: an event line wholly inside the
             * kept tail was counted with the previous chunk. */
            const from = Math.max(0, tail.length - 5);
            for (let i = s.indexOf('data: ', from); i >= 0; i = s.indexOf('data: ', i + 6)) st.events++;
            if (s.includes('data: {"error"')) errEvent = true;
            if (s.includes('data: [DONE]')) done = true;
            tail = s.slice(-256);
        });
        res.on('end', () => finish('end'));
        res.on('error', (e) => finish('transport', e.message));
        res.on('aborted', () => finish('transport', 'aborted'));
    });
    req.setTimeout(TIMEOUT, () => {
        req.destroy();
        finish('timeout', `after ${TIMEOUT} ms`);
    });
    req.on('error', (e) => finish('transport', e.message));
    req.end(body);
}

const before = snapshot(pairs, { rss: true });
const idleLimits = limitsOf(before);
const cpu0 = process.cpuUsage();
const t0 = performance.now();

/* Start the requests evenly over RAMP ms, checked every 10 ms: each
 * tick starts what the clock says is due, so a late timer (a busy
 * machine) does not stretch the ramp. */
const step = 10;
let rampEnd = NaN;
const starter = setInterval(() => {
    const due = Math.min(N, Math.ceil((N * (performance.now() - t0 + step)) / Math.max(1, RAMP)));
    while (st.started < due) one();
    if (st.started >= N) {
        clearInterval(starter);
        rampEnd = performance.now() - t0;
        giveUpAfter(TIMEOUT + 10000);
        /* Fallback: when not every stream answers together (errors, or
         * streams shorter than the ramp), take the plateau PLATEAU_WAIT
         * ms after the last start. */
        setTimeout(() => takePlateau(`${PLATEAU_WAIT} ms after the last start`), PLATEAU_WAIT);
    }
}, step);
const peakTimer = setInterval(() => {
    if (st.open > peak.open) peak = { open: st.open, t_ms: Math.round(performance.now() - t0) };
}, 50);

let finishedCalled = false;
async function finished() {
    if (finishedCalled) return;
    finishedCalled = true;
    clearInterval(peakTimer);
    loopDelay.disable();
    if (!plateau) await takePlateau('end');
    const after = snapshot(pairs, { rss: true });
    const cpu = process.cpuUsage(cpu0);
    const sort = (a) => [...a].sort((x, y) => x - y);
    const ttfb = sort(st.ttfb);
    const dur = sort(st.dur);
    const errors = st.errors.transport + st.errors.timeout + st.errors.no_done +
        st.errors.error_event + Object.values(st.errors.status).reduce((a, b) => a + b, 0);
    const rec = {
        kind: 'streams', label: opts.label || '', n: N, ramp_ms: RAMP, ramp_done_ms: Math.round(rampEnd), ok: st.ok, errors,
        pool: opts.pool || '', web_workers: Number(opts['web-workers'] || 1),
        chunks: Number(opts.chunks || 0), chunk_ms: Number(opts['chunk-ms'] || 0),
        error_kinds: st.errors, error_samples: st.errorSamples,
        events: st.events,
        ttfb_ms: { p50: quantile(ttfb, 0.5), p99: quantile(ttfb, 0.99), max: ttfb[ttfb.length - 1] },
        dur_ms: { p50: quantile(dur, 0.5), p99: quantile(dur, 0.99) },
        held_s: dur.reduce((a, b) => a + b, 0) / 1000,
        peak_open: peak.open,
        plateau,
        idle_rss_kb: Object.fromEntries(Object.entries(before.groups).map(([k, g]) => [k, g.rss_kb])),
        end_rss_kb: Object.fromEntries(Object.entries(after.groups).map(([k, g]) => [k, g.rss_kb])),
        cpu_ticks: cpuDelta(before, after),
        wall_ms: after.t - before.t,
        client_cpu_us: cpu.user + cpu.system,
        client_loop_delay_ms: {
            p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6,
        },
        idle_limits: idleLimits,
        machine: {
            busy: after.machine.busy - before.machine.busy,
            total: after.machine.total - before.machine.total,
            softirq: after.machine.softirq - before.machine.softirq,
            steal: after.machine.steal - before.machine.steal,
        },
    };
    fs.appendFileSync(opts.out, JSON.stringify(rec) + '\n');
    process.stdout.write(`  ${opts.label || ''} n=${N}: ok ${st.ok}, errors ${errors}` +
        ` (${JSON.stringify(st.errors)}), ttfb p50 ${Math.round(rec.ttfb_ms.p50)} ms` +
        ` p99 ${Math.round(rec.ttfb_ms.p99)} ms, duration p50 ${Math.round(rec.dur_ms.p50)} ms\n`);
    if (st.errorSamples.length) process.stdout.write(`  first errors: ${st.errorSamples.slice(0, 3).join(' | ')}\n`);
    process.exit(0);
}

/* Never hang: the run ends TIMEOUT + 10 s after the last start (and
 * never later than 2 x RAMP + TIMEOUT + 60 s after the first). */
function giveUpAfter(ms) {
    setTimeout(() => {
        process.stdout.write(`  streams: ${N - st.finished} stream(s) never ended; giving up\n`);
        st.errors.timeout += N - st.finished;
        st.finished = N;
        finished();
    }, ms).unref();
}
giveUpAfter(2 * RAMP + TIMEOUT + 60000);
