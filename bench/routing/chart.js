/*
 * chart.js - the routing benchmark's charts as SVG text (stacked areas,
 * lines, grouped bars), turned into PNG by rsvg-convert (Debian package
 * librsvg2-bin). No npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v) => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(2))));

function text(x, y, s, { size = 11, anchor = 'start', color = '#222', bold = false } = {}) {
    return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="DejaVu Sans,sans-serif" ` +
        `font-size="${size}" text-anchor="${anchor}" fill="${color}"${bold ? ' font-weight="bold"' : ''}>${esc(s)}</text>`;
}

/* A panel's frame with axes: returns {x(v), y(v), svg[]}. */
function frame(px, py, pw, ph, { xmax, ymax, ymin = 0, title, ylabel, xlabel, log = false, marks = [] }) {
    const ly = (v) => (log ? Math.log10(Math.max(v, ymin)) : v);
    const y0 = ly(ymin);
    const y1 = ly(ymax);
    const x = (v) => px + (v / xmax) * pw;
    const y = (v) => py + ph - ((ly(v) - y0) / (y1 - y0 || 1)) * ph;
    const s = [`<rect x="${px}" y="${py}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`];
    if (title) s.push(text(px + pw / 2, py - 6, title, { anchor: 'middle', bold: true }));
    const ticks = log ? [] : [0, 0.25, 0.5, 0.75, 1].map((f) => ymin + f * (ymax - ymin));
    if (log) for (let v = 10 ** Math.floor(y0); v <= ymax * 1.001; v *= 10) if (v >= ymin) ticks.push(v);
    for (const v of ticks) {
        s.push(`<line x1="${px}" x2="${px + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
        s.push(text(px - 4, y(v) + 4, fmt(v), { anchor: 'end', size: 10 }));
    }
    for (let t = 0; t <= xmax; t += xmax > 100 ? 20 : 10) s.push(text(x(t), py + ph + 13, String(t), { anchor: 'middle', size: 10 }));
    for (const m of marks) {
        s.push(`<line x1="${x(m.t).toFixed(1)}" x2="${x(m.t).toFixed(1)}" y1="${py}" y2="${py + ph}" stroke="#555" stroke-dasharray="3,3"/>`);
    }
    if (ylabel) s.push(text(px - 34, py + ph / 2, ylabel, { size: 10, anchor: 'middle' }).replace('<text ', `<text transform="rotate(-90 ${px - 34} ${py + ph / 2})" `));
    if (xlabel) s.push(text(px + pw / 2, py + ph + 26, xlabel, { size: 10, anchor: 'middle' }));
    return { x, y, svg: s };
}

function legend(x, y, names) {
    return names.map((n, i) => `<rect x="${x + i * 95}" y="${y - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>` +
        text(x + i * 95 + 14, y, n, { size: 11 })).join('');
}

/* Stacked shares (0..1) per panel: panels [{title, t: [..], series: {name: [..]}}]. */
function stackedPanels({ title, panels, names, xmax, marks }) {
    const cols = 3;
    const pw = 250;
    const ph = 120;
    const rows = Math.ceil(panels.length / cols);
    const W = 60 + cols * (pw + 50);
    const H = 70 + rows * (ph + 55);
    const s = [text(W / 2, 20, title, { anchor: 'middle', size: 13, bold: true }), legend(60, 42, names)];
    panels.forEach((p, i) => {
        const px = 60 + (i % cols) * (pw + 50);
        const py = 70 + Math.floor(i / cols) * (ph + 55);
        const f = frame(px, py, pw, ph, { xmax, ymax: 1, title: p.title, xlabel: 'seconds', marks });
        s.push(...f.svg);
        const base = p.t.map(() => 0);
        names.forEach((n, k) => {
            const vals = p.series[n] || p.t.map(() => 0);
            const top = vals.map((v, j) => base[j] + v);
            const pts = p.t.map((t, j) => `${f.x(t).toFixed(1)},${f.y(top[j]).toFixed(1)}`)
                .concat(p.t.slice().reverse().map((t, j) => `${f.x(t).toFixed(1)},${f.y(base[p.t.length - 1 - j]).toFixed(1)}`));
            s.push(`<polygon points="${pts.join(' ')}" fill="${COLORS[k % COLORS.length]}" fill-opacity="0.8"/>`);
            top.forEach((v, j) => { base[j] = v; });
        });
    });
    return svgDoc(W, H, s);
}

/* Lines per series in panels: panels [{title, series: {name: [[t, v], ..]}}]. */
function linePanels({ title, panels, names, xmax, ylabel, log, marks }) {
    const pw = 380;
    const ph = 200;
    const W = 70 + panels.length * (pw + 70);
    const H = 300;
    const s = [text(W / 2, 20, title, { anchor: 'middle', size: 13, bold: true }), legend(70, 42, names)];
    panels.forEach((p, i) => {
        let ymax = 1;
        let ymin = Infinity;
        for (const pts of Object.values(p.series)) for (const [, v] of pts) { ymax = Math.max(ymax, v); ymin = Math.min(ymin, v); }
        ymin = log ? Math.max(10, 10 ** Math.floor(Math.log10(Math.max(ymin, 10)))) : 0;
        const f = frame(70 + i * (pw + 70), 65, pw, ph, { xmax, ymax: ymax * 1.05, ymin, title: p.title, ylabel, xlabel: 'seconds', log, marks });
        s.push(...f.svg);
        names.forEach((n, k) => {
            const pts = (p.series[n] || []).map(([t, v]) => `${f.x(t).toFixed(1)},${f.y(v).toFixed(1)}`);
            if (pts.length) s.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="1.8"/>`);
        });
    });
    return svgDoc(W, H, s);
}

/* Grouped bars: groups [{label, values: {name: v}}]. */
function groupedBars({ title, groups, names, ylabel }) {
    const gw = names.length * 16 + 24;
    const W = Math.max(90 + groups.length * gw + 20, 90 + names.length * 95);
    const H = 300;
    let ymax = 0;
    for (const g of groups) for (const v of Object.values(g.values)) ymax = Math.max(ymax, v);
    const f = frame(70, 60, groups.length * gw, 190, { xmax: 1, ymax: ymax * 1.1 || 1, ylabel });
    const s = [text(W / 2, 20, title, { anchor: 'middle', size: 13, bold: true }), legend(70, 42, names),
        ...f.svg.filter((x) => !/>0<\/text>|>1<\/text>/.test(x) || /text-anchor="end"/.test(x))];
    groups.forEach((g, i) => {
        const gx = 70 + i * gw + 12;
        names.forEach((n, k) => {
            const v = g.values[n];
            if (v === undefined) return;
            s.push(`<rect x="${gx + k * 16}" y="${f.y(v).toFixed(1)}" width="14" height="${(f.y(0) - f.y(v)).toFixed(1)}" fill="${COLORS[k % COLORS.length]}"/>`);
        });
        s.push(text(gx + (names.length * 16) / 2, 266, g.label, { anchor: 'middle', size: 10 }));
    });
    return svgDoc(W, H, s);
}

function svgDoc(W, H, parts) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
        `<rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

/* Write 'svg' as PNG to 'file' (the SVG next to it when rsvg-convert is
 * missing). Returns the file written. */
function writePng(svg, file) {
    const svgFile = file.replace(/\.png$/, '.svg');
    fs.writeFileSync(svgFile, svg);
    const r = spawnSync('rsvg-convert', ['-f', 'png', '-o', file, svgFile], { encoding: 'utf8' });
    if (r.status !== 0) {
        process.stderr.write(`chart: rsvg-convert failed (${r.error ? r.error.message : r.stderr}); kept ${svgFile}\n`);
        return svgFile;
    }
    fs.unlinkSync(svgFile);
    return file;
}

module.exports = { stackedPanels, linePanels, groupedBars, writePng, COLORS };
