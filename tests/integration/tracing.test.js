/*
 * tracing.test.js - W3C trace context, span export and the access log
 * through the real stack (lighttpd -> switchyard -> mock provider), with
 * a tiny OTLP/HTTP collector in this file (node http on 127.0.0.1).
 *
 * A caller's traceparent keeps its trace id: the provider call carries a
 * traceparent with the same trace id (and the attempt's span as
 * parent), the response carries the gateway's request span, the usage
 * log and the access log name the trace; an invalid traceparent starts
 * a new trace. Spans arrive at the collector (one SERVER, one CLIENT per
 * attempt) with the GenAI attributes and the configured header. The
 * access log has one line per request, refusals (401, 404) included,
 * and never a key. SIGHUP after a rename (log rotation) moves the
 * usage and access logs to new files at the same paths. A collector that
 * never answers does not hold requests up, and its warning shows the
 * endpoint without the user info or the query string.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const h = require('./harness');

const KEY = 'sk-trace-caller-0123456789';
const AUTH = { Authorization: `Bearer ${KEY}` };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TOKEN = 'collector-token-do-not-log-0123';
/* Secrets in the endpoint itself: never in a log line. */
const URL_PASS = 'url-pass-do-not-log-4567';
const URL_SIG = 'url-sig-do-not-log-89ab';

/* The collector: records every POST body; 'hang' keeps new requests
 * open without an answer. */
const collector = { port: 0, bodies: [], headers: [], hang: false, held: [] };
const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
        if (collector.hang) { collector.held.push(res); return; }
        collector.headers.push(req.headers);
        try { collector.bodies.push(JSON.parse(body)); } catch (e) { collector.bodies.push(null); }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
    });
});

function spans() {
    const out = [];
    for (const b of collector.bodies) {
        for (const rs of (b && b.resourceSpans) || []) {
            for (const ss of rs.scopeSpans || []) {
                for (const s of ss.spans || []) out.push({ ...s, resource: rs.resource });
            }
        }
    }
    return out;
}

function attrs(span) {
    const o = {};
    for (const a of span.attributes || []) {
        const v = a.value;
        o[a.key] = v.stringValue !== undefined ? v.stringValue
            : v.intValue !== undefined ? Number(v.intValue)
                : v.arrayValue ? v.arrayValue.values.map((x) => x.stringValue) : v;
    }
    return o;
}

const stack = new h.Stack({
    tag: 'tracing',
    servers: ['lighttpd'],
    env: { SY_T_TRACE: KEY, SY_T_TOKEN: TOKEN },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { d1: {} },
            groups: { 'm-basic': ['d1'] },
            server: {
                access_log: path.join(stack.dir, 'access.log'),
                usage_log: path.join(stack.dir, 'usage.log'),
            },
        });
        cfg.keys = { 'trace-key': { key_env: 'SY_T_TRACE' } };
        cfg.tracing = {
            otlp_endpoint: `http://trace:${URL_PASS}@127.0.0.1:${collector.port}/v1/traces?sig=${URL_SIG}`,
            service_name: 'sy-test',
            headers: { 'x-collector-token': '${SY_T_TOKEN}' },
            batch_size: 4, interval_ms: 100, queue_size: 16, timeout_ms: 3000,
        };
        return cfg;
    },
});

before(async () => {
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    collector.port = server.address().port;
    await stack.start();
}, { timeout: 60000 });
after(async () => {
    await stack.stop();
    for (const r of collector.held) { try { r.destroy(); } catch (e) { /* */ } }
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
}, { timeout: 30000 });

function logLines(name) {
    const f = path.join(stack.dir, name);
    if (!fs.existsSync(f)) return [];
    return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

/* Parse "00-trace-span-flags". */
function tp(v) {
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(v || '');
    assert.ok(m, `traceparent ${v}`);
    return { trace: m[1], span: m[2], flags: m[3] };
}

describe('trace context', () => {
    const base = () => stack.base('lighttpd');

    it('keeps the caller trace id, passes it to the provider and back', async () => {
        await stack.mock.ctl('DELETE', '/_mock/requests');
        const r = await h.chat(base(), {
            headers: { ...AUTH, traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'rojo=00f067aa0ba902b7' },
        });
        assert.equal(r.status, 200, r.body);
        const back = tp(r.headers.traceparent);
        assert.equal(back.trace, TRACE);
        assert.notEqual(back.span, PARENT);
        const reqs = await stack.mock.requests('d1');
        assert.equal(reqs.length, 1);
        const up = tp(reqs[0].headers.traceparent);
        assert.equal(up.trace, TRACE);
        assert.notEqual(up.span, PARENT);
        assert.notEqual(up.span, back.span);
        assert.equal(reqs[0].headers.tracestate, 'rojo=00f067aa0ba902b7');

        /* The spans: SERVER under the caller's span, CLIENT under it. */
        await h.waitFor('spans', () => spans().filter((s) => s.traceId === TRACE).length >= 2, 10000);
        const mine = spans().filter((s) => s.traceId === TRACE);
        const srv = mine.find((s) => s.kind === 2);
        const cli = mine.find((s) => s.kind === 3);
        assert.ok(srv && cli, JSON.stringify(mine));
        assert.equal(srv.spanId, back.span);
        assert.equal(srv.parentSpanId, PARENT);
        assert.equal(cli.parentSpanId, back.span);
        assert.equal(cli.spanId, up.span);
        const a = attrs(cli);
        assert.equal(a['gen_ai.operation.name'], 'chat');
        assert.equal(a['gen_ai.provider.name'], 'openai');
        assert.equal(a['gen_ai.request.model'], 'mock-model');
        assert.equal(a['gen_ai.response.model'], 'mock-model');
        assert.ok(a['gen_ai.usage.input_tokens'] > 0);
        assert.equal(a['gen_ai.usage.output_tokens'], 3);
        assert.deepEqual(a['gen_ai.response.finish_reasons'], ['stop']);
        assert.equal(a['switchyard.deployment'], 'd1');
        assert.equal(a['http.response.status_code'], 200);
        assert.equal(a['error.type'], undefined);
        const sa = attrs(srv);
        assert.equal(sa['gen_ai.request.model'], 'm-basic');
        assert.equal(sa['http.response.status_code'], 200);
        assert.ok(BigInt(srv.endTimeUnixNano) >= BigInt(cli.endTimeUnixNano) - 5000000n);
        assert.equal(srv.resource.attributes[0].value.stringValue, 'sy-test');
        assert.equal(collector.headers[0]['x-collector-token'], TOKEN);

        /* The usage log and the access log name the trace. */
        await h.waitFor('usage line', () => logLines('usage.log').some((l) => l.trace_id === TRACE), 5000);
        await h.waitFor('access line', () => logLines('access.log').some((l) => l.trace_id === TRACE), 5000);
        const acc = logLines('access.log').find((l) => l.trace_id === TRACE);
        assert.equal(acc.status, 200);
        assert.equal(acc.key, 'trace-key');
        assert.equal(acc.group, 'm-basic');
        assert.equal(acc.deployment, 'd1');
        assert.equal(acc.attempts, 1);
        assert.equal(acc.method, 'POST');
        assert.equal(acc.path, '/v1/chat/completions');
        assert.equal(acc.remote_addr, '127.0.0.1');
        assert.ok(acc.input_tokens > 0 && acc.output_tokens === 3);
        assert.ok(acc.total_ms >= acc.provider_ms && acc.provider_ms > 0);
        assert.equal(acc.request_id, r.headers['x-request-id']);
        /* Every gateway log line of the request carries the trace id. */
        const log = fs.readFileSync(path.join(stack.dir, 'switchyard.log'), 'utf8');
        const reqLines = log.split('\n').filter((l) => l.includes(`req ${acc.request_id}`));
        assert.ok(reqLines.length > 0);
        for (const l of reqLines) assert.ok(l.includes(`trace ${TRACE}`), l);
    });

    it('starts a new trace for an invalid or absent traceparent', async () => {
        await stack.mock.ctl('DELETE', '/_mock/requests');
        const bad = `00-${TRACE.toUpperCase()}-${PARENT}-01`;
        const r = await h.chat(base(), { headers: { ...AUTH, traceparent: bad, tracestate: 'x=1' } });
        assert.equal(r.status, 200, r.body);
        const back = tp(r.headers.traceparent);
        assert.notEqual(back.trace, TRACE);
        const reqs = await stack.mock.requests('d1');
        assert.equal(tp(reqs[0].headers.traceparent).trace, back.trace);
        assert.equal(reqs[0].headers.tracestate, undefined);
        const r2 = await h.chat(base(), { headers: AUTH });
        const b2 = tp(r2.headers.traceparent);
        assert.notEqual(b2.trace, back.trace);
    });

    it('writes one access-log line per request, refusals included', async () => {
        const t401 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
        const t404 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2';
        const r1 = await h.chat(base(), {
            headers: { Authorization: 'Bearer sk-wrong-key-secret', traceparent: `00-${t401}-${PARENT}-01` },
        });
        assert.equal(r1.status, 401);
        assert.equal(tp(r1.headers.traceparent).trace, t401);
        const r2 = await h.request(base(), {
            path: '/v1/nope', headers: { ...AUTH, traceparent: `00-${t404}-${PARENT}-00` },
        });
        assert.equal(r2.status, 404);
        assert.equal(tp(r2.headers.traceparent).trace, t404);
        assert.equal(tp(r2.headers.traceparent).flags, '00');
        await h.waitFor('access lines', () => {
            const ls = logLines('access.log');
            return ls.some((l) => l.trace_id === t401) && ls.some((l) => l.trace_id === t404);
        }, 5000);
        const ls = logLines('access.log');
        const l1 = ls.filter((l) => l.trace_id === t401);
        const l2 = ls.filter((l) => l.trace_id === t404);
        assert.equal(l1.length, 1);
        assert.equal(l2.length, 1);
        assert.equal(l1[0].status, 401);
        assert.equal(l1[0].key, null);
        assert.equal(l2[0].status, 404);
        /* An unknown path is logged by its length only (a key pasted
         * into a URL must not reach a log). */
        assert.equal(l2[0].path, '(unknown path, 8 bytes)');
        const text = fs.readFileSync(path.join(stack.dir, 'access.log'), 'utf8');
        assert.ok(!text.includes('sk-wrong-key-secret') && !text.includes(KEY));
        const gwlog = fs.readFileSync(path.join(stack.dir, 'switchyard.log'), 'utf8');
        assert.ok(!gwlog.includes(TOKEN), 'the collector token was logged');
        /* One line per request: request ids are unique in the log. */
        const ids = ls.map((l) => l.request_id);
        assert.equal(new Set(ids).size, ids.length);
        /* The 404's server span is exported too. */
        await h.waitFor('404 span', () => spans().some((s) => s.traceId === t404 && s.kind === 2), 10000);
        const s404 = spans().find((s) => s.traceId === t404 && s.kind === 2);
        assert.equal(attrs(s404)['http.response.status_code'], 404);
        assert.ok(attrs(s404)['error.type']);
    });

    it('SIGHUP reopens the usage and access logs after a rename', async () => {
        const acc = path.join(stack.dir, 'access.log');
        const use = path.join(stack.dir, 'usage.log');
        const r1 = await h.chat(base(), { headers: AUTH });
        assert.equal(r1.status, 200, r1.body);
        const id1 = r1.headers['x-request-id'];
        await h.waitFor('line before', () => logLines('usage.log').some((l) => l.request_id === id1) &&
            logLines('access.log').some((l) => l.request_id === id1), 5000);
        /* What logrotate does: rename, then signal the pool's parent. */
        fs.renameSync(acc, `${acc}.1`);
        fs.renameSync(use, `${use}.1`);
        const gwlog = path.join(stack.dir, 'switchyard.log');
        const reopened = () => (fs.readFileSync(gwlog, 'utf8').match(/SIGHUP: log files reopened/g) || []).length;
        const before = reopened();
        const workers = stack.workers().length;
        assert.ok(workers >= 1);
        process.kill(stack.gwPid, 'SIGHUP');
        await h.waitFor('every worker reopened', () => reopened() >= before + workers, 5000);
        /* Enough requests to reach every worker process. */
        const ids = [];
        for (let i = 0; i < 4; i++) {
            const rs = await Promise.all([0, 1, 2, 3].map(() => h.chat(base(), { headers: AUTH })));
            for (const r of rs) {
                assert.equal(r.status, 200, r.body);
                ids.push(r.headers['x-request-id']);
            }
        }
        await h.waitFor('lines after', () => ids.every((id) => logLines('access.log').some((l) => l.request_id === id) &&
            logLines('usage.log').some((l) => l.request_id === id)), 5000);
        for (const name of ['access.log.1', 'usage.log.1']) {
            const old = logLines(name).map((l) => l.request_id);
            assert.ok(old.includes(id1), `${name} has the line from before`);
            for (const id of ids) assert.ok(!old.includes(id), `${name} got ${id} after the reopen`);
        }
        for (const name of ['access.log', 'usage.log']) {
            assert.ok(!logLines(name).some((l) => l.request_id === id1), `${name} has the old line`);
        }
        /* The pool is still up (SIGHUP used to end it). */
        assert.ok(h.alive(stack.gwPid));
        assert.equal(stack.workers().length, workers);
    });

    it('a collector that never answers does not hold requests up', async () => {
        collector.hang = true;
        const t0 = Date.now();
        const rs = [];
        for (let i = 0; i < 8; i++) {
            rs.push(...await Promise.all([0, 1, 2, 3].map(() => h.chat(base(), { headers: AUTH, timeout: 15000 }))));
        }
        for (const r of rs) {
            assert.equal(r.status, 200, r.body);
            assert.ok(r.headers.traceparent);
        }
        assert.equal(rs.length, 32);
        /* Not a timing assertion: far below what 32 requests waiting on a
         * 3 s export timeout would take one after another. */
        assert.ok(Date.now() - t0 < 60000);
        assert.ok(collector.held.length >= 1, 'the exporter never tried the collector');
        /* The failed export is logged (after timeout_ms) with the
         * endpoint redacted: no password, no query string. */
        const gwlog = path.join(stack.dir, 'switchyard.log');
        await h.waitFor('export warning', () => fs.readFileSync(gwlog, 'utf8').includes('trace export to '), 15000);
        const text = fs.readFileSync(gwlog, 'utf8');
        assert.ok(text.includes(`trace export to http://[redacted]@127.0.0.1:${collector.port}/v1/traces?[redacted]`),
            text.split('\n').filter((l) => l.includes('trace export')).join('\n'));
        assert.ok(!text.includes(URL_PASS) && !text.includes(URL_SIG), 'an endpoint secret was logged');
    });
});
