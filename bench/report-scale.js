/*
 * report-scale.js - the held-streams part of summary.md (phase 4,
 * bench/scale.sh): for each level, errors, streams in flight, RSS per
 * in-flight stream, CPU per stream event, and what the processes held
 * against their limits (descriptors, mappings, threads). Used by
 * report.js; every figure comes from the 'streams' records of
 * results.jsonl (bench/streams.js).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { HZ } = require('./lib');

const TICK_US = 1e6 / HZ;
const f0 = (x) => (Number.isFinite(x) ? String(Math.round(x)) : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const mib = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '-');

/* Derived figures of one level. */
function level(r) {
    const pl = r.plateau || {};
    const rss = pl.rss_kb || {};
    const idle = r.idle_rss_kb || {};
    const inflight = pl.open || 0;
    const tot = (rss.web || 0) + (rss.sy || 0);
    const idleTot = (idle.web || 0) + (idle.sy || 0);
    const ev = r.events || 0;
    const perEv = (g) => (ev ? ((r.cpu_ticks[g] || 0) * TICK_US) / ev : NaN);
    return {
        inflight, tot, idleTot,
        perInflight: inflight ? tot / inflight : NaN,
        marginal: inflight ? (tot - idleTot) / inflight : NaN,
        web: perEv('web'), sy: perEv('sy'), redis: perEv('redis'), mock: perEv('mock'),
        softirq: ev && r.machine ? (r.machine.softirq * TICK_US) / ev : NaN,
        client: ev ? r.client_cpu_us / ev : NaN,
        evPerStream: r.ok ? ev / r.n : NaN,
        /* switchyard CPU per second of one held stream (older records:
         * streams x median duration) */
        syPerHeld: ((r.cpu_ticks.sy || 0) * TICK_US) / (r.held_s || (r.ok * r.dur_ms.p50) / 1000),
        wallS: r.wall_ms / 1000,
    };
}

function scaleSection(recs, p) {
    const scale = recs.filter((r) => r.kind === 'streams');
    if (!scale.length) return;
    const r0 = scale[0];
    p('## 4. Held streams through lighttpd + switchyard (bench/scale.sh)');
    p();
    p(`One connection per stream (node, bench/streams.js), opened at ${f0(r0.n * 1000 / r0.ramp_ms)} per second ` +
      '("last start": when the last one was opened); each stream is the ' +
      `mock's slow reply, ${r0.chunks || '?'} content events ${r0.chunk_ms || '?'} ms apart plus the role, stop ` +
      'and [DONE] events. Each level runs on a fresh gateway (processes x threads: the level + headroom, one ' +
      'thread per in-flight stream, sy-b-N.json) and a fresh lighttpd (with server.max-worker processes when ' +
      'one process\'s descriptors cannot hold 2 per stream, lighttpd-scale-N.conf). "in flight" = streams open ' +
      'at the plateau sample, taken when every stream has its response head (the mock\'s own in_flight count ' +
      'in brackets). TTFB is the time to the response head and first event: the gateway holds the first event ' +
      'until the second arrives (core/serve/pipeline.c), so it is about one event interval.');
    p();
    p('| streams | gateway processes x threads | lighttpd processes | last start s | ok | errors | in flight | TTFB p50 ms | TTFB p99 ms | duration p50 s | events delivered |');
    p('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of scale) {
        const d = level(r);
        p(`| ${r.n} | ${r.pool || '-'} | ${r.web_workers || 1} | ${f1(r.ramp_done_ms / 1000)} | ${r.ok} | ${r.errors} | ` +
          `${d.inflight} (${(r.plateau || {}).mock_in_flight ?? '-'}) | ${f1(r.ttfb_ms.p50)} | ${f1(r.ttfb_ms.p99)} | ` +
          `${f1(r.dur_ms.p50 / 1000)} | ${r.events} (${f1(d.evPerStream)} per stream) |`);
    }
    p();
    p('RSS = sum of VmRSS of every process of the group (lighttpd: its watcher and workers; switchyard: its ' +
      'parent and workers) at the plateau. "per in-flight" = (lighttpd + switchyard) / in flight; "marginal" ' +
      'subtracts the same groups\' RSS measured idle just before the level (pool started, no stream). CPU per ' +
      'event = utime+stime ticks of the group over the whole level (ramp, plateau, end) / events delivered to ' +
      'the client. Redis is paid per request, not per event (shown per event for the sum: "stack" = lighttpd + ' +
      'switchyard + Redis). The mock is the provider and node the load generator: shown apart, never added. ' +
      'A held stream\'s thread sleeps between events (core/io/upstream.c, poll_ms: until data or a ' +
      'deadline, at most 30 s); "per held stream-second" = switchyard CPU / the sum of the streams\' ' +
      'durations.');
    p();
    p('| streams | RSS lighttpd MiB | RSS switchyard MiB | idle (both) MiB | KiB per in-flight | marginal KiB per in-flight | CPU us/event lighttpd | switchyard | Redis | stack | mock | node client | softirq | switchyard us per held stream-second | node loop delay p99 / max ms |');
    p('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of scale) {
        const d = level(r);
        const rss = (r.plateau || {}).rss_kb || {};
        const ld = r.client_loop_delay_ms || {};
        p(`| ${r.n} | ${mib(rss.web)} | ${mib(rss.sy)} | ${mib(d.idleTot)} | ${f0(d.perInflight)} | ` +
          `${f0(d.marginal)} | ${f1(d.web)} | ${f1(d.sy)} | ${f1(d.redis)} | ${f1(d.web + d.sy + d.redis)} | ` +
          `${f1(d.mock)} | ${f1(d.client)} | ${f1(d.softirq)} | ${f1(d.syPerHeld)} | ${f1(ld.p99)} / ${f1(ld.max)} |`);
    }
    p();
    p('What the processes held at the plateau (/proc/PID/fd, /proc/PID/maps, Threads: of /proc/PID/status; ' +
      '"max" = the largest single process of the group, the figure a per-process limit applies to: ' +
      'RLIMIT_NOFILE, vm.max_map_count):');
    p();
    p('| streams | lighttpd fds (max per process) | switchyard threads (max per process) | switchyard fds (max per process) | switchyard maps (max per process) | Redis fds | mock fds |');
    p('|---|---|---|---|---|---|---|');
    for (const r of scale) {
        const lim = (r.plateau || {}).limits;
        if (!lim) continue;
        const w = lim.web || {};
        const s = lim.sy || {};
        p(`| ${r.n} | ${w.fds} (${w.max_fds}) | ${s.threads} (${s.max_threads}) | ${s.fds} (${s.max_fds}) | ` +
          `${s.maps} (${s.max_maps}) | ${(lim.redis || {}).fds ?? '-'} | ${(lim.mock || {}).fds ?? '-'} |`);
    }
    p();
    for (const r of scale) {
        if (r.errors) {
            p(`Errors at ${r.n}: ${JSON.stringify(r.error_kinds)}; first: ` +
              `${(r.error_samples || []).slice(0, 3).join(' | ')}`);
            p();
        }
    }
}

/* The targets table's rows for the held streams. */
function scaleTargetRows(recs, yes) {
    const scale = recs.filter((r) => r.kind === 'streams');
    const r = scale.find((x) => x.n === 10000);
    if (!r) return ['| 10,000 concurrent streams, 0 errors | - | not measured (no 10000 level) |'];
    const d = level(r);
    return [
        `| 10,000 concurrent streams, 0 errors | ${r.errors} errors, ${r.ok} ok, ${d.inflight} in flight at ` +
        `the plateau (mock: ${(r.plateau || {}).mock_in_flight ?? '-'}), gateway ${r.pool}, ` +
        `${r.web_workers || 1} lighttpd processes | ${yes(r.errors === 0 && r.ok === 10000 && d.inflight === 10000)} |`,
        `| RSS per in-flight stream and CPU per event at 10,000 (reported) | ${f0(d.perInflight)} KiB ` +
        `(marginal ${f0(d.marginal)} KiB); ${f1(d.web + d.sy + d.redis)} us/event (lighttpd ${f1(d.web)}, ` +
        `switchyard ${f1(d.sy)}, Redis ${f1(d.redis)}) | measured |`,
    ];
}

module.exports = { scaleSection, scaleTargetRows };
