/*
 * report.js - the routing benchmark's figures from run.js' JSON files:
 * per scenario and strategy, p50/p95/p99 time to first token (streams)
 * and total time, caller-visible errors, cost, cached-token share, extra
 * provider load, traffic share per deployment over time; the targets of
 * issue 17 checked; charts as PNG.
 *
 *   node bench/routing/report.js --in DIR [--img DIR]
 *
 * Writes DIR/summary.md (and prints it); charts go to --img (default
 * DIR/img).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const chart = require('./chart');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const IN = path.resolve(args.in || 'build/bench-routing');
const IMG = path.resolve(args.img || path.join(IN, 'img'));
fs.mkdirSync(IMG, { recursive: true });

function q(xs, p) {
    if (!xs.length) return NaN;
    const s = xs.slice().sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)}` : '-');
const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '-');

/* Figures of group 'g' over requests 'rs' of run 'r'. */
function figures(r, g, rs) {
    const ok = rs.filter((x) => x.ok);
    const ttft = ok.filter((x) => x.ttft !== null).map((x) => x.ttft);
    const tot = ok.map((x) => x.total);
    let calls = 0;
    let prompt = 0;
    let cached = 0;
    for (const d of g.deps) {
        calls += r.mock.requests[`${g.key}-${d}`] || 0;
        const t = r.mock.tally[`${g.key}-${d}`];
        if (t) { prompt += t.prompt_tokens; cached += t.cached_tokens; }
    }
    const cost = ok.reduce((a, x) => a + x.cost, 0);
    return {
        n: rs.length, errors: rs.length - ok.length,
        ttft: [q(ttft, 0.5), q(ttft, 0.95), q(ttft, 0.99)],
        total: [q(tot, 0.5), q(tot, 0.95), q(tot, 0.99)],
        cost, cost_per_1k: ok.length ? (cost / ok.length) * 1000 : NaN,
        cached_share: prompt ? cached / prompt : NaN,
        extra_load: rs.length ? calls / rs.length - 1 : NaN,
        hedged: rs.filter((x) => x.hedged).length,
        hedge_won: rs.filter((x) => x.hedge_won).length,
        affinity_hit: rs.filter((x) => x.affinity === 'hit').length,
    };
}

/* Shift figures: share off the shifted deployment from 10 s after the
 * shift to its end, callers' p99 then, healthy deployments' p99. */
function shiftFigures(r, g, rs) {
    const sh = r.scenario_def.shift;
    if (!sh || !g.deps.includes(sh.dep) || g.deps.length < 2) return null;
    const from = sh.from_s * r.time_scale;
    const to = sh.to_s * r.time_scale;
    const after = rs.filter((x) => x.t >= from + 10 && x.t < to);
    const healthy = rs.filter((x) => x.ok && x.dep && x.dep !== sh.dep).map((x) => x.total);
    const off = after.filter((x) => x.dep !== sh.dep).length;
    return {
        off_share: after.length ? off / after.length : NaN,
        p99_after: q(after.filter((x) => x.ok).map((x) => x.total), 0.99),
        p99_healthy: q(healthy, 0.99),
        n_after: after.length,
    };
}

/* Per time bin: share per deployment, p50 and p99 total. */
function series(r, g, rs, bins) {
    const w = r.duration_s / bins;
    const t = [];
    const share = Object.fromEntries(g.deps.map((d) => [d, []]));
    const p50 = [];
    const p99 = [];
    for (let b = 0; b < bins; b++) {
        const inb = rs.filter((x) => x.t >= b * w && x.t < (b + 1) * w);
        const mid = (b + 0.5) * w;
        t.push(mid);
        /* an empty bin keeps the previous shares */
        for (const d of g.deps) {
            const prev = share[d].length ? share[d][share[d].length - 1] : 0;
            share[d].push(inb.length ? inb.filter((x) => x.dep === d).length / inb.length : prev);
        }
        const tot = inb.filter((x) => x.ok).map((x) => x.total);
        if (tot.length) { p50.push([mid, q(tot, 0.5)]); p99.push([mid, q(tot, 0.99)]); }
    }
    return { t, share, p50, p99 };
}

function scenarioReport(r, out) {
    const lines = [];
    const marks = (r.shifts || []).map((s) => ({ t: s.t }));
    lines.push(`### ${r.scenario}`, '', r.description, '',
        `${r.duration_s} s, ${r.callers_per_group} callers per group, seed ${r.seed}, ` +
        `load average ${r.load_start.map((x) => x.toFixed(2)).join(' ')} at start, ` +
        `${r.load_end.map((x) => x.toFixed(2)).join(' ')} at end (${r.ncpu} CPUs).` +
        (r.shifts.length ? ` Shifts: ${r.shifts.map((s) => `${s.label} at ${Math.round(s.t)} s`).join(', ')}.` : ''), '');
    for (const s of r.skipped) lines.push(`Not measured: **${s.key}** (${s.why}).`, '');
    lines.push('| strategy | requests | errors | TTFT p50/p95/p99 ms (streams) | total p50/p95/p99 ms | $ per 1k req | cached share | extra provider calls | hedged (won) | affinity hits |',
        '|---|---|---|---|---|---|---|---|---|---|');
    const res = {};
    const bins = 15;
    const panels = [];
    const lat50 = {};
    const lat99 = {};
    const depNames = Object.keys(r.scenario_def.deployments);
    for (const g of r.groups) {
        const rs = r.requests.filter((x) => x.g === g.key);
        const f = figures(r, g, rs);
        f.shift = shiftFigures(r, g, rs);
        res[g.key] = f;
        lines.push(`| ${g.key} | ${f.n} | ${f.errors} | ${f.ttft.map(ms).join(' / ')} | ${f.total.map(ms).join(' / ')} | ` +
            `${f.cost_per_1k.toFixed(3)} | ${pct(f.cached_share)} | ${pct(f.extra_load)} | ${f.hedged} (${f.hedge_won}) | ${f.affinity_hit} |`);
        const s = series(r, g, rs, bins);
        panels.push({ title: g.key, t: s.t, series: s.share });
        lat50[g.key] = s.p50;
        lat99[g.key] = s.p99;
    }
    const withShift = r.groups.filter((g) => res[g.key].shift);
    if (withShift.length) {
        lines.push('', `After the shift (from 10 s after it to its end; "healthy p99" = total time of the requests the other deployments served, whole run):`, '',
            '| strategy | requests | off the shifted deployment | caller p99 ms | healthy p99 ms | ratio |', '|---|---|---|---|---|---|');
        for (const g of withShift) {
            const s = res[g.key].shift;
            lines.push(`| ${g.key} | ${s.n_after} | ${pct(s.off_share)} | ${ms(s.p99_after)} | ${ms(s.p99_healthy)} | ${(s.p99_after / s.p99_healthy).toFixed(2)} |`);
        }
    }
    const xmax = r.duration_s;
    const names = r.groups.map((g) => g.key);
    const share = chart.writePng(chart.stackedPanels({
        title: `${r.scenario}: traffic share per deployment over time`, panels, names: depNames, xmax, marks,
    }), path.join(IMG, `${r.scenario}-share.png`));
    const lat = chart.writePng(chart.linePanels({
        title: `${r.scenario}: callers' total time per ${Math.round(r.duration_s / bins)} s bin (ms, log scale)`,
        panels: [{ title: 'p50', series: lat50 }, { title: 'p99', series: lat99 }],
        names, xmax, ylabel: 'ms', log: true, marks,
    }), path.join(IMG, `${r.scenario}-latency.png`));
    lines.push('', `![${r.scenario} traffic share](${path.relative(out, share)})`, '',
        `![${r.scenario} latency](${path.relative(out, lat)})`, '');
    return { lines, res };
}

/* The p99 of pick(x) over the answered requests of groups 'ga' and 'gb'
 * at the same rank from the slowest (that of the smaller group): a
 * closed-loop group that answers more requests puts its p99 one or two
 * requests further down, which alone moved it by hundreds of ms between
 * groups whose slowest requests were the same (the mock's common draws). */
function sameRank(run, ga, gb, pick) {
    const vals = (g) => run.requests.filter((x) => x.g === g && x.ok)
        .map(pick).filter((v) => v !== null).sort((u, v) => v - u);
    const va = vals(ga);
    const vb = vals(gb);
    const n = Math.min(va.length, vb.length);
    if (!n) return null;
    const k = n - Math.ceil(0.99 * n); /* 0: the slowest */
    return { k: k + 1, a: va[k], b: vb[k] };
}

function ordinal(k) {
    return k === 1 ? '1st' : k === 2 ? '2nd' : k === 3 ? '3rd' : `${k}th`;
}

function ratio(a, b) { return Number.isFinite(a) && Number.isFinite(b) && b ? a / b : NaN; }

/* The targets of issue 17, as far as the runs measured them. */
function targets(all) {
    const out = ['## Targets (issue 17)', '', '| target | scenario | figure | met |', '|---|---|---|---|'];
    const yes = (b) => (b ? 'yes' : '**no**');
    for (const [name, { res, run }] of Object.entries(all)) {
        const lat = res.latency;
        const pri = res.priority;
        if (run.scenario_def.shift && lat && lat.shift) {
            const s = lat.shift;
            out.push(`| >= 90 % of traffic off the slowed deployment within 10 s | ${name} | ${pct(s.off_share)} (latency) | ${yes(s.off_share >= 0.9)} |`);
            const rr = s.p99_after / s.p99_healthy;
            out.push(`| caller p99 <= 1.2x healthy p99 after the shift | ${name} | ${rr.toFixed(2)}x (${ms(s.p99_after)} / ${ms(s.p99_healthy)} ms) | ${yes(rr <= 1.2)} |`);
        }
        if (run.shifts.length && lat && pri) {
            const p = sameRank(run, 'latency', 'priority', (x) => x.total);
            const all = `each group's own p99: ${ms(lat.total[2])} vs ${ms(pri.total[2])} ms`;
            if (p) out.push(`| latency beats priority on p99 (total) | ${name} | ${ms(p.a)} vs ${ms(p.b)} ms, the ${ordinal(p.k)} slowest of each (${all}) | ${yes(p.a < p.b)} |`);
            else out.push(`| latency beats priority on p99 (total) | ${name} | ${all} | ${yes(lat.total[2] < pri.total[2])} |`);
        }
        if (res.hedge && lat) {
            const p = sameRank(run, 'hedge', 'latency', (x) => x.ttft);
            const hq = p ? p.a : res.hedge.ttft[2];
            const lq = p ? p.b : lat.ttft[2];
            const cut = 1 - ratio(hq, lq);
            const extra = res.hedge.extra_load - lat.extra_load;
            /* A hedge answers at best after its delay (a p95) plus a
             * healthy deployment's time to first token: where latency
             * routing alone is within twice the fastest deployment's own
             * p99, there is little tail left to cut (said, not excused). */
            const own = Math.min(...Object.values(run.scenario_def.deployments)
                .filter((d) => d.ttft && d.ttft.p99_ms).map((d) => d.ttft.p99_ms));
            const note = Number.isFinite(own) && lq <= 2 * own
                ? `; latency alone is within 2x the fastest deployment's own p99 (${ms(own)} ms)` : '';
            const over = p ? `, the ${ordinal(p.k)} slowest stream of each` : '';
            out.push(`| hedging cuts p99 TTFT >= 40 % for <= 5 % extra calls | ${name} | ${pct(cut)} cut, ${pct(extra)} extra calls (p99 ${ms(hq)} vs ${ms(lq)} ms${over})${note} | ${yes(cut >= 0.4 && extra <= 0.05)} |`);
        } else if (lat && name === 'bad-tail') {
            out.push(`| hedging cuts p99 TTFT >= 40 % for <= 5 % extra calls | ${name} | not measured (no "hedge" group key) | - |`);
        }
        if (res.single) {
            const a = res.affinity;
            if (a) {
                const keep = ratio(a.cached_share, res.single.cached_share);
                out.push(`| affinity keeps >= 90 % of the single-deployment cached share | ${name} | ${pct(a.cached_share)} vs ${pct(res.single.cached_share)} = ${pct(keep)} | ${yes(keep >= 0.9)} |`);
                if (a.shift) out.push(`| affinity still leaves a deployment that slows | ${name} | ${pct(a.shift.off_share)} off it | ${yes(a.shift.off_share >= 0.9)} |`);
            } else {
                out.push(`| affinity keeps >= 90 % of the single-deployment cached share | ${name} | not measured (no "affinity" group key); latency alone: ${pct(lat && lat.cached_share)} vs ${pct(res.single.cached_share)} | - |`);
            }
        }
        if (name === 'mixed-price' && res.cost && pri) {
            const save = 1 - ratio(res.cost.cost_per_1k, pri.cost_per_1k);
            out.push(`| cost saves >= 30 % against priority | ${name} | ${pct(save)} ($${res.cost.cost_per_1k.toFixed(3)} vs $${pri.cost_per_1k.toFixed(3)} per 1k req; p99 ${ms(res.cost.total[2])} vs ${ms(pri.total[2])} ms) | ${yes(save >= 0.3)} |`);
        }
    }
    return out;
}

function main() {
    const files = fs.readdirSync(IN).filter((f) => f.endsWith('.json') && f !== 'summary.json').sort();
    const all = {};
    const out = ['# Routing benchmark results', ''];
    const costGroups = [];
    const names = new Set();
    for (const f of files) {
        const run = JSON.parse(fs.readFileSync(path.join(IN, f), 'utf8'));
        const { lines, res } = scenarioReport(run, IN);
        all[run.scenario] = { res, run };
        out.push(...lines);
        const values = {};
        for (const [k, v] of Object.entries(res)) { values[k] = v.cost_per_1k; names.add(k); }
        costGroups.push({ label: run.scenario, values });
    }
    const order = ['priority', 'weighted', 'latency', 'cost', 'hedge', 'affinity', 'single'].filter((n) => names.has(n));
    const costPng = chart.writePng(chart.groupedBars({
        title: 'Cost per 1,000 requests (USD) per strategy', groups: costGroups, names: order, ylabel: 'USD',
    }), path.join(IMG, 'cost.png'));
    out.push(`![cost per strategy](${path.relative(IN, costPng)})`, '', ...targets(all), '');
    fs.writeFileSync(path.join(IN, 'summary.md'), out.join('\n'));
    fs.writeFileSync(path.join(IN, 'summary.json'), JSON.stringify(Object.fromEntries(
        Object.entries(all).map(([k, v]) => [k, v.res])), null, 1));
    process.stdout.write(out.join('\n') + '\n');
}

main();
