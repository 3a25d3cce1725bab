#!/usr/bin/env node
/*
 * bench/hostile_schema.js - CPU time and peak RSS of one request carrying
 * a pathological JSON Schema pattern (issue 10, items 1-2), each answered
 * by switchyard in CGI mode (one process per request, so /usr/bin/time
 * measures exactly that request) against the mock provider on a free
 * 127.0.0.1 port. Prints a table; a baseline row (a plain schema) comes
 * first.
 *
 *   SY_BUILD_DIR=build node bench/hostile_schema.js [ROUNDS]
 *
 * Each case runs ROUNDS times (default 5); the table shows the largest
 * user+system CPU and max RSS seen, and the HTTP status. A run that
 * takes longer than BENCH_CASE_TIMEOUT seconds (default 120) is killed
 * and shown as such. BENCH_CASES=regex picks cases by name.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../tests/integration/harness');

const ROUNDS = Number(process.argv[2] || 5);
const CASE_TIMEOUT_MS = 1000 * Number(process.env.BENCH_CASE_TIMEOUT || 120);
const PICK = new RegExp(process.env.BENCH_CASES || '.');

function body(schema, directive) {
    return JSON.stringify(h.chatBody({
        model: 'g', text: 'Answer as JSON.', directive,
        extra: { response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } },
    }));
}

function prop(pattern) {
    return { type: 'object', properties: { a: { type: 'string', pattern } } };
}

const CASES = [
    ['baseline ^[a-z]+$', body(prop('^[a-z]+$'), { content: '{"a":"abc"}' })],
    ['((a?){1000}){6} on 30 a', body(prop('((a?){1000}){6}'), { content: JSON.stringify({ a: 'a'.repeat(30) }) })],
    ['(a{0,1000}){0,19}b on 30', body(prop('(a{0,1000}){0,19}b'), { content: JSON.stringify({ a: `${'a'.repeat(30)}cb` }) })],
    ['(a{0,1000}){0,19}b on 2000', body(prop('(a{0,1000}){0,19}b'), { content: JSON.stringify({ a: `${'a'.repeat(2000)}cb` }) })],
    ['(.{0,1000}){0,19}\\x01 on 30', body(prop('(.{0,1000}){0,19}\\x01'), { content: JSON.stringify({ a: `${'x'.repeat(30)}\n\u0001` }) })],
    ['(.{0,1000}){0,19}\\x01 on 2000', body(prop('(.{0,1000}){0,19}\\x01'), { content: JSON.stringify({ a: `${'x'.repeat(2000)}\n\u0001` }) })],
    ['(a|a)*b on 40', body(prop('(a|a)*b'), { content: JSON.stringify({ a: `${'a'.repeat(40)}cb` }) })],
    ['(a+)+$ on 40', body(prop('(a+)+$'), { content: JSON.stringify({ a: `${'a'.repeat(40)}!` }) })],
    ['budget: 400 x not (a|a)*b', body({ type: 'array', items: { not: { pattern: '^(a|a)*b' } } },
        { content: JSON.stringify(Array(400).fill(`${'a'.repeat(15)}cb`)) })],
    ['1000 nested groups (refused)', body(prop(`${'('.repeat(1000)}a${')'.repeat(1000)}`), { content: '{}' })],
];

async function main() {
    const dir = h.makeTmpDir('bench-hostile');
    const mock = new h.Mock(dir);
    await mock.start();
    try {
        const cfg = h.gatewayConfig(mock.port, {
            deployments: { a: {}, b: {} },
            groups: { g: { deployments: ['a', 'b'], contract: { on_violation: 'next' } } },
        });
        const file = path.join(dir, 'switchyard.json');
        fs.writeFileSync(file, JSON.stringify(cfg));
        console.log(`| case | HTTP | CPU user+sys (ms, max of ${ROUNDS}) | max RSS (KiB) |`);
        console.log('|---|---|---|---|');
        for (const [name, b] of CASES) {
            if (!PICK.test(name)) continue;
            let cpu = 0, rss = 0, status = '';
            for (let i = 0; i < ROUNDS; i++) {
                /* time -> timeout -> switchyard: a run past the limit is
                 * killed, and time still reports it (its children). */
                const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', 'timeout', '-s', 'KILL',
                    String(CASE_TIMEOUT_MS / 1000), h.SWITCHYARD], {
                    input: b, encoding: 'utf8', cwd: h.ROOT, timeout: CASE_TIMEOUT_MS + 30000,
                    env: {
                        ...process.env, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'POST',
                        REQUEST_URI: '/v1/chat/completions', SERVER_PROTOCOL: 'HTTP/1.1',
                        REMOTE_ADDR: '127.0.0.1', SWITCHYARD_CONFIG: file,
                        CONTENT_LENGTH: String(Buffer.byteLength(b)), CONTENT_TYPE: 'application/json',
                    },
                });
                const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr || '');
                if (!m) throw new Error(`${name}: no time output: ${r.stderr}`);
                cpu = Math.max(cpu, (Number(m[1]) + Number(m[2])) * 1000);
                rss = Math.max(rss, Number(m[3]));
                const s = /^Status: (\d+)/m.exec(r.stdout || '');
                status = s ? s[1] : '200';
                if (/Command terminated by signal 9/.test(r.stderr)) {
                    /* timeout dies of the same signal: no usage left */
                    status = `killed at ${CASE_TIMEOUT_MS / 1000} s`;
                    cpu = Infinity;
                    break;
                } else if (/Command terminated by signal/.test(r.stderr)) {
                    status = 'crashed';
                }
            }
            console.log(cpu === Infinity
                ? `| ${name} | ${status} | > ${CASE_TIMEOUT_MS} | ? |`
                : `| ${name} | ${status} | ${cpu.toFixed(0)} | ${rss} |`);
        }
    } finally {
        await mock.stop();
        h.removeTmpDir(dir);
    }
}

main().catch((e) => { console.error(e); process.exit(1); });
