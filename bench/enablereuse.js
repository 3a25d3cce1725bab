/*
 * enablereuse.js - Apache mod_proxy_fcgi in front of switchyard, with
 * conf/apache-proxy-fcgi-subpath.conf as shipped and with ProxyPass
 * options changed, under wrk: requests per second, p50/p99 and non-2xx
 * answers per variant, two rounds each (docs/deployment.md,
 * "enablereuse"). Needs wrk, apache2 and a build (SY_BUILD_DIR).
 *
 *   SY_BUILD_DIR=build P=2 T=8 node bench/enablereuse.js \
 *     '{"on":[["flushpackets=on","flushpackets=on enablereuse=on"]],"default":[]}' 16 5
 *
 * argv: variants as {label: [[from, to], ...]} (text replacements in the
 * config), wrk connections, seconds per run; P and T: the switchyard
 * pool's processes and threads; PATHS: comma-separated paths.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const h = require('../tests/integration/harness');

const variants = JSON.parse(process.argv[2] || '{"default":[]}');
const conns = Number(process.argv[3] || 16);
const secs = Number(process.argv[4] || 5);
const procs = Number(process.env.P || 2);
const threads = Number(process.env.T || 8);
const paths = (process.env.PATHS || '/llm/healthz,/llm/v1/models').split(',');

async function main() {
    const stack = new h.Stack({
        tag: 'reuse', servers: [], processes: procs, threads,
        config: (mp) => h.gatewayConfig(mp, {
            deployments: { a: {} }, groups: { g: ['a'] },
            server: { processes: procs, threads, log_level: 'warn' },
        }),
    });
    await stack.start();
    try {
        const d = stack.dir;
        fs.mkdirSync(path.join(d, 'site'));
        fs.mkdirSync(path.join(d, 'other'));
        const src = fs.readFileSync(path.join(h.ROOT, 'conf', 'apache-proxy-fcgi-subpath.conf'), 'utf8');
        for (const round of [1, 2]) {
            for (const [label, reps] of Object.entries(variants)) {
                let text = src;
                for (const [a, b] of reps) {
                    if (!text.includes(a)) throw new Error(`not in the config: ${a}`);
                    text = text.split(a).join(b);
                }
                const name = `${label}-${round}`;
                const conf = path.join(d, `${name}.conf`);
                fs.writeFileSync(conf, text);
                const run = path.join(d, `run-${name}`);
                fs.mkdirSync(run, { mode: 0o755 });
                await stack.startWebAs(name, {
                    kind: 'apache', confFile: conf, readyPath: '/llm/healthz',
                    env: {
                        SWITCHYARD_DOC_ROOT: path.join(d, 'site'),
                        SWITCHYARD_OTHER_DIR: path.join(d, 'other'), SWITCHYARD_RUN_DIR: run,
                    },
                });
                for (const p of paths) {
                    const out = execFileSync('wrk', ['-t2', `-c${conns}`, `-d${secs}s`, '--timeout', '5s',
                        '--latency', stack.base(name) + p], { encoding: 'utf8' });
                    const lat = /50%\s+(\S+)[\s\S]*?99%\s+(\S+)/.exec(out) || [];
                    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
                    const tmo = /timeout (\d+)/.exec(out);
                    console.log(`round ${round} ${label} ${p}: ` +
                        `${/Requests\/sec:\s+(\S+)/.exec(out)[1]} req/s, ` +
                        `${/(\d+) requests in/.exec(out)[1]} requests, p50 ${lat[1]} p99 ${lat[2]}, ` +
                        `non-2xx ${non2xx ? non2xx[1] : 0}, timed out ${tmo ? tmo[1] : 0}`);
                }
                await h.stopProc(stack.web[name].proc);
                delete stack.web[name];
            }
        }
    } finally {
        await stack.stop();
    }
}

main().catch((e) => { console.error(e); process.exit(1); });
