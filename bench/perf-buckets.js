/*
 * perf-buckets.js - where the switchyard workers spend their CPU, by
 * component of the request path, from 'perf script' output of a profile
 * recorded with call graphs (bench/run.sh: perf record -e cpu-clock
 * --call-graph dwarf).
 *
 *   perf script -i perf.data -F comm,tid,ip,sym,dso | node bench/perf-buckets.js [--json FILE]
 *
 * Each sample goes to the component of the first (leaf-most) frame of its
 * stack that names one (the table below), so nested work is charged to
 * the most specific component: the Redis round trip of the caller-key
 * reservation is "caller-key rate limit", not "pipeline". For each
 * component: its share of all samples, and how much of that share was in
 * the kernel and in context switches (a blocked thread switching out;
 * finish_task_switch is where a cpu-clock sample lands for it).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('./lib');

const COMPONENTS = [
    [/^sy_quota_/, 'caller-key rate limit: synchronous Redis EVALSHA (sy_quota_caller/settle)'],
    [/^sy_state_allow$|^sy_breaker_shared_allow$/, 'breaker check (sy_state_allow)'],
    [/^sy_state_record$|^record$/, 'outcome recording (sy_state_record)'],
    [/^sy_router_|^sy_state_views$/, 'routing plan (sy_router_plan, sy_state_views, explain)'],
    [/^sy_upstream_/, 'upstream HTTP call: libcurl (sy_upstream_perform)'],
    [/_build_request$/, 'adapter: build the provider request'],
    [/_parse_response$|_stream_event$|^sy_sse_|^sy_adapter_json_parse$/, 'adapter: parse the provider reply (json-c)'],
    [/^sy_chat_req_parse$/, 'client request JSON parse + validation (sy_chat_req_parse, json-c)'],
    [/^sy_contract_|^sy_jsonschema_|^sy_caps_|^sy_chat_req_needs$/, 'output contracts and capability checks (sy_contract_*, sy_caps_*)'],
    [/^sy_log$|^sy_log_/, 'request log line (sy_log)'],
    [/^send_|^sy_sink_|^fcgi_write$|^fcgi_flush$|^FCGX_PutStr$|^FCGX_FFlush$|^release_held$|^write_event$/,
        'response write (send_*, FCGX_PutStr, FCGX_FFlush)'],
    [/^sy_fcgi_read_request$|^FCGX_GetStr$|^FCGX_GetParam$/, 'request read (params, body)'],
    [/^FCGX_Accept_r$/, 'FastCGI accept + params (FCGX_Accept_r, libfcgi)'],
    [/^FCGX_Finish_r$|^FCGX_Free$/, 'FastCGI finish + lingering close (FCGX_Finish_r, libfcgi)'],
    [/^sy_arena_/, 'request arena (sy_arena_*)'],
    [/^state_main$|^flush_and_refresh$/, 'state thread (Redis pipelines, every refresh_ms)'],
    [/^sy_pipeline_handle$|^handle_chat$|^sy_fcgi_serve_one$|^attempt$|^try_deployment$/,
        'pipeline, other (handle_chat itself)'],
];
const OTHER = 'other (outside the frames above)';

const { opts } = parseArgs(process.argv.slice(2));
const text = fs.readFileSync(opts.in || 0, 'utf8');

const comp = new Map();
let total = 0;
const leafSyms = new Map();
for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.startsWith('\t') || /^\s+[0-9a-f]+ /.test(l));
    if (!lines.length) continue;
    const frames = lines.map((l) => {
        const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(l);
        if (!m) return { sym: '', dso: '' };
        return { sym: m[1].replace(/\+0x[0-9a-f]+$/, '').replace(/ \(inlined\)$/, ''), dso: m[2] };
    });
    total++;
    let name = OTHER;
    outer: for (const f of frames) {
        for (const [re, n] of COMPONENTS) {
            if (re.test(f.sym)) {
                name = n;
                break outer;
            }
        }
    }
    const leaf = frames[0];
    const kernel = leaf.dso.includes('kernel');
    const csw = /^finish_task_switch|^__schedule$|^schedule$/.test(leaf.sym);
    if (!comp.has(name)) comp.set(name, { n: 0, kernel: 0, csw: 0 });
    const c = comp.get(name);
    c.n++;
    if (kernel) c.kernel++;
    if (csw) c.csw++;
    const key = `${leaf.sym || '?'} (${(leaf.dso || '?').replace(/.*\//, '')})`;
    leafSyms.set(key, (leafSyms.get(key) || 0) + 1);
}

const pct = (x) => (total ? ((100 * x) / total).toFixed(1) : '-');
const rows = [...comp.entries()].sort((a, b) => b[1].n - a[1].n);
const out = [];
out.push(`${total} samples.`);
out.push('');
out.push('| component (leaf-most frame of the stack) | % of samples | of which kernel | of which context switch |');
out.push('|---|---|---|---|');
for (const [name, c] of rows) out.push(`| ${name} | ${pct(c.n)} | ${pct(c.kernel)} | ${pct(c.csw)} |`);
const sum = (k) => rows.reduce((a, [, c]) => a + c[k], 0);
out.push(`| all | 100.0 | ${pct(sum('kernel'))} | ${pct(sum('csw'))} |`);
out.push('');
out.push('Top leaf symbols (self time):');
out.push('');
for (const [k, n] of [...leafSyms.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    out.push(`    ${pct(n).padStart(5)}%  ${k}`);
}
process.stdout.write(out.join('\n') + '\n');
if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({
        total,
        components: rows.map(([name, c]) => ({ name, share: c.n / total, kernel: c.kernel / total, csw: c.csw / total })),
    }, null, 1));
}
