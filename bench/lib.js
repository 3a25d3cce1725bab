/*
 * lib.js - what the bench scripts share: /proc snapshots of process
 * groups (CPU ticks, RSS), wrk output parsing, small statistics.
 *
 * A group is a root pid (the 'timeout' wrapper run.sh starts every
 * server under) and all its descendants, found again at every snapshot:
 * Apache and switchyard fork children, and a child that appears during a
 * window is counted from zero. CPU is utime + stime from /proc/PID/stat
 * (all threads of the process), in clock ticks (USER_HZ, 100 per second
 * on Linux); RSS is VmRSS from /proc/PID/status.
 * Node 18 or later, no npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');

const HZ = 100; /* USER_HZ: /proc reports CPU times in these ticks */

/* pid -> {ppid, ticks, cticks} for every process, read once. */
function procTable() {
    const out = new Map();
    for (const ent of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(ent)) continue;
        let stat;
        try { stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8'); } catch (e) { continue; }
        /* "pid (comm) state ppid ..."; comm may hold spaces or ')' */
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        /* f[0] = state (field 3), so field N is f[N - 3] */
        out.set(Number(ent), {
            state: f[0],
            ppid: Number(f[1]),
            ticks: Number(f[11]) + Number(f[12]),   /* utime + stime */
            cticks: Number(f[13]) + Number(f[14]),  /* waited-for children */
        });
    }
    return out;
}

function descendants(table, root) {
    const kids = new Map();
    for (const [pid, p] of table) {
        if (!kids.has(p.ppid)) kids.set(p.ppid, []);
        kids.get(p.ppid).push(pid);
    }
    const out = [];
    const todo = [root];
    while (todo.length) {
        const pid = todo.pop();
        if (!table.has(pid)) continue;
        out.push(pid);
        for (const k of kids.get(pid) || []) todo.push(k);
    }
    return out;
}

function rssKb(pid) {
    try {
        const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : 0;
    } catch (e) {
        return 0;
    }
}

/* Machine-wide CPU ticks from /proc/stat: {busy, total, softirq,
 * steal}. With tick-based accounting a tick that lands in interrupt or
 * softirq context (the loopback network stack, for much of it) is
 * charged to irq/softirq, not to the process that was running. */
function machineTicks() {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    /* user nice system idle iowait irq softirq steal guest guest_nice;
     * guest time is already counted in user */
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3] + v[4];
    return { busy: total - idle, total, softirq: v[5] + v[6], steal: v[7] };
}

/*
 * Snapshot of the groups {name: rootPid}: {t (ms), machine, groups:
 * {name: {pids: {pid: ticks}, rss_kb}}, self_cticks}. 'rss' false skips
 * the RSS reads.
 */
function snapshot(groups, { rss = true } = {}) {
    const table = procTable();
    const snap = { t: Date.now(), machine: machineTicks(), groups: {} };
    for (const [name, root] of Object.entries(groups)) {
        const g = { pids: {}, rss_kb: 0, nproc: 0 };
        if (root) {
            for (const pid of descendants(table, Number(root))) {
                const p = table.get(pid);
                if (p.state === 'Z') continue;
                g.pids[pid] = p.ticks;
                g.nproc++;
                if (rss) g.rss_kb += rssKb(pid);
            }
        }
        snap.groups[name] = g;
    }
    const self = table.get(process.pid);
    snap.self_cticks = self ? self.cticks : 0;
    return snap;
}

/* CPU ticks each group used between two snapshots: per pid, after minus
 * before (0 for a pid that is new). A process that exited in between is
 * lost (none should: the servers keep their processes). */
function cpuDelta(before, after) {
    const out = {};
    for (const [name, g] of Object.entries(after.groups)) {
        const b = (before.groups[name] || { pids: {} }).pids;
        let sum = 0;
        for (const [pid, t] of Object.entries(g.pids)) sum += t - (b[pid] || 0);
        out[name] = sum;
    }
    return out;
}

/* Parse wrk's text output (with --latency). Times in microseconds. */
function parseWrk(text) {
    const unit = (v, u) => {
        const x = Number(v);
        if (u === 'us') return x;
        if (u === 'ms') return x * 1e3;
        if (u === 's') return x * 1e6;
        if (u === 'm') return x * 60e6;
        return NaN;
    };
    const r = { text };
    const pct = /^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm;
    let m;
    while ((m = pct.exec(text)) !== null) r[`p${m[1]}_us`] = unit(m[2], m[3]);
    m = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text);
    if (m) {
        r.requests = Number(m[1]);
        r.secs = unit(m[2], m[3]) / 1e6;
    }
    m = /Requests\/sec:\s+([\d.]+)/.exec(text);
    if (m) r.rps = Number(m[1]);
    m = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
    r.non2xx = m ? Number(m[1]) : 0;
    m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    r.sock_errors = m ? m.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
    return r;
}

function quantile(sorted, q) {
    if (!sorted.length) return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[i];
}

function median(xs) {
    const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (!s.length) return NaN;
    const h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/* Command-line "--key value" pairs and bare "name=value" words. */
function parseArgs(argv) {
    const opts = {};
    const pairs = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--') {
            opts._rest = argv.slice(i + 1);
            break;
        }
        if (a.startsWith('--')) {
            opts[a.slice(2)] = argv[++i];
        } else if (a.includes('=')) {
            const k = a.slice(0, a.indexOf('='));
            pairs[k] = a.slice(a.indexOf('=') + 1);
        }
    }
    return { opts, pairs };
}

module.exports = {
    HZ, snapshot, cpuDelta, parseWrk, quantile, median, parseArgs, machineTicks,
};
