/*
 * ttfb.js - time to first byte of streamed chat completions, per request,
 * measured by curl (%{time_starttransfer} - %{time_connect}: from the
 * start of the request to the first response byte, connection set-up
 * excluded; time_connect is 0 on a reused connection). Not
 * time_pretransfer: curl records it after the request has been sent.
 *
 *   node bench/ttfb.js --out FILE --batches B --per-batch K \
 *        --body-file F [--key KEY] name=URL ...
 *
 * Targets are interleaved batch by batch (a, d, e, a, d, e, ...); each
 * batch is one curl process sending K sequential requests on one
 * keep-alive connection. Appends one JSON line per target to FILE with
 * every value in microseconds.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { parseArgs, quantile } = require('./lib');

const { opts, pairs } = parseArgs(process.argv.slice(2));
const batches = Number(opts.batches || 6);
const per = Number(opts['per-batch'] || 50);
if (!opts.out || !opts['body-file'] || !Object.keys(pairs).length) {
    process.stderr.write('usage: ttfb.js --out FILE --batches B --per-batch K ' +
                         '--body-file F [--key KEY] name=URL ...\n');
    process.exit(2);
}

const res = {};
for (const name of Object.keys(pairs)) res[name] = { values_us: [], errors: 0, statuses: {} };

for (let b = 0; b < batches; b++) {
    for (const [name, url] of Object.entries(pairs)) {
        const args = ['-s', '--http1.1', '-H', 'Content-Type: application/json',
            '--data-binary', `@${opts['body-file']}`,
            '-w', '%{http_code} %{time_connect} %{time_starttransfer} %{size_download}\\n'];
        if (opts.key) args.push('-H', `Authorization: Bearer ${opts.key}`);
        for (let i = 0; i < per; i++) args.push('-o', '/dev/null', url);
        const r = spawnSync('curl', args, { encoding: 'utf8', timeout: 120000 });
        const lines = (r.stdout || '').trim().split('\n').filter(Boolean);
        for (const l of lines) {
            const [code, conn, start, size] = l.split(' ');
            res[name].statuses[code] = (res[name].statuses[code] || 0) + 1;
            if (code !== '200' || Number(size) === 0) {
                res[name].errors++;
                continue;
            }
            res[name].values_us.push((Number(start) - Number(conn)) * 1e6);
        }
        res[name].errors += Math.max(0, per - lines.length);
    }
}

for (const [name, r] of Object.entries(res)) {
    fs.appendFileSync(opts.out, JSON.stringify({ kind: 'ttfb', target: name, ...r }) + '\n');
    const s = [...r.values_us].sort((x, y) => x - y);
    process.stdout.write(`  ttfb ${name}: n=${s.length} p50 ${Math.round(quantile(s, 0.5))}us ` +
        `p99 ${Math.round(quantile(s, 0.99))}us errors=${r.errors}\n`);
}
