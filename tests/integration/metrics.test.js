/*
 * metrics.test.js - GET /metrics through lighttpd with Redis: traffic
 * (answers, a 4xx, a failover by the mock's fault injection) moves the
 * cluster's counters by exactly what was sent, the body passes
 * `promtool check metrics`, a scrape costs one Redis round trip, the
 * access rule (metrics.allow is [] here: only the admin key gets in),
 * the path under a sub-path mount (/llm/metrics), a CGI request's counts
 * in Redis by the time it exits, and a 200 with switchyard_redis_up 0
 * once Redis is gone. Without Redis: every scrape, whichever worker
 * process answers it, shows the host's counts, which survive the
 * workers being killed and restarted.
 *
 *   sh tests/integration/run.sh build tests/integration/metrics.test.js
 *
 * Skipped when redis-server or lighttpd is missing; the promtool check
 * is skipped (with a note) when Debian's prometheus package is not
 * installed.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;
const ADMIN_KEY = 'metrics-admin-key-0123456789';
const ADMIN = { Authorization: `Bearer ${ADMIN_KEY}` };
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool']
    .find((p) => fs.existsSync(p));
const CONF = path.join(__dirname, '..', '..', 'conf');

/* A provider of timed streams, by the deployment's name (the first path
 * segment): 'orole' (OpenAI type) sends the role with the first text,
 * as Ollama and llama.cpp do, and the rest 1.2 s later; 'alate'
 * (Anthropic) opens with message_start at once and sends its first text
 * 400 ms later. */
function sse(name, data) {
    return `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}
function ochunk(delta, finish = null) {
    return sse('', { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o',
                     choices: [{ index: 0, delta, finish_reason: finish }] });
}
const TIMED = {
    orole: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(ochunk({ role: 'assistant', content: 'Hello' }));
        setTimeout(() => res.end(ochunk({ content: ' world' }) + ochunk({}, 'stop') +
            sse('', { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm-o', choices: [],
                      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }) +
            'data: [DONE]\n\n'), 1200);
    },
    alate: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(sse('message_start', { type: 'message_start', message: {
            id: 'msg_t', type: 'message', role: 'assistant', model: 'claude-x', content: [],
            stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } }));
        setTimeout(() => res.end(
            sse('content_block_start', { type: 'content_block_start', index: 0,
                                         content_block: { type: 'text', text: '' } }) +
            sse('content_block_delta', { type: 'content_block_delta', index: 0,
                                         delta: { type: 'text_delta', text: 'Hello' } }) +
            sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
            sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' },
                                   usage: { output_tokens: 2 } }) +
            sse('message_stop', { type: 'message_stop' })), 400);
    },
};
const timed = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
        const s = TIMED[req.url.split('/')[1]];
        if (s) return s(res);
        res.writeHead(404, { 'Content-Type': 'application/json' });
        return res.end('{"error":{"message":"no scenario"}}');
    });
});

function config(mockPort, redisUrl) {
    const tp = timed.address().port;
    const cfg = h.gatewayConfig(mockPort, {
        deployments: { ok: {}, f1: {}, f2: {}, hang: { timeouts: { first_byte_ms: 300 } }, tok: {},
                       orole: { port: tp, model: 'm-o' },
                       alate: { port: tp, type: 'anthropic', model: 'claude-x' } },
        groups: { 'g-ok': ['ok'], 'g-fo': ['f1', 'f2'], 'g-hang': ['hang', 'f2'], 'g-tok': ['tok'],
                  'g-orole': ['orole'], 'g-alate': ['alate'] },
        server: { processes: 2, threads: 4, admin_key_env: 'SY_T_METRICS_ADMIN' },
    });
    cfg.state = {
        redis_url: redisUrl, prefix: 'sy:', refresh_ms: 200, window_ms: 6000, slice_ms: 1000,
        connect_timeout_ms: 200, command_timeout_ms: 500,
        breaker: { consecutive: 0, failure_pct: 0 },
    };
    cfg.metrics = { allow: [] };
    return cfg;
}

/* The samples of a text exposition: "name{labels}" -> value. */
function parse(text) {
    const out = new Map();
    for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const at = line.lastIndexOf(' ');
        out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return out;
}

function series(name, labels) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
    return l ? `${name}{${l}}` : name;
}

function delta(a, b, key) {
    return (b.get(key) || 0) - (a.get(key) || 0);
}

function promtoolCheck(body) {
    const r = childProcess.spawnSync(PROMTOOL, ['check', 'metrics'], {
        input: body, encoding: 'utf8', timeout: 20000,
    });
    return r;
}

describe('GET /metrics', { skip: SKIP }, () => {
    let redis;
    let stack;
    const base = () => stack.base('lighttpd');
    const scrape = (headers = ADMIN, p = '/metrics') =>
        h.request(base(), { path: p, headers, timeout: 10000 });

    before(async () => {
        await new Promise((r) => timed.listen(0, '127.0.0.1', r));
        redis = new h.Redis(h.makeTmpDir('metrics-redis'));
        await redis.start();
        stack = new h.Stack({
            tag: 'metrics', env: { SY_T_METRICS_ADMIN: ADMIN_KEY },
            config: (mockPort) => config(mockPort, redis.url),
        });
        await stack.start();
    }, { timeout: 60000 });

    after(async () => {
        if (stack) await stack.stop();
        if (redis) await redis.stop();
        timed.closeAllConnections();
        await new Promise((r) => timed.close(r));
    }, { timeout: 30000 });

    test('refused without the admin key from an address outside metrics.allow', async () => {
        const none = await scrape({});
        assert.equal(none.status, 401, none.body);
        assert.equal(none.json.error.code, 'invalid_api_key');
        const wrong = await scrape({ Authorization: 'Bearer nope-0123456789abcdef' });
        assert.equal(wrong.status, 401, wrong.body);
        assert.ok(wrong.json.error.message.length > 0);
    });

    test('traffic moves the cluster counters by what was sent', { timeout: 60000 }, async () => {
        const before0 = await scrape();
        assert.equal(before0.status, 200, before0.body);
        assert.match(before0.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        const a = parse(before0.body);

        for (let i = 0; i < 3; i++) {
            const r = await h.chat(base(), { model: 'g-ok' });
            assert.equal(r.status, 200, r.body);
        }
        const nf = await h.chat(base(), { model: 'no-such-group' });
        assert.equal(nf.status, 404, nf.body);
        await stack.mock.fault('f1', { status: 500 });
        const fo = await h.chat(base(), { model: 'g-fo' });
        assert.equal(fo.status, 200, fo.body);
        assert.equal(fo.headers['x-switchyard-deployment'], 'f2');
        await stack.mock.clearFaults();

        /* Each worker flushes at most once a second, on its refresh. */
        let b;
        let body = '';
        const want = series('switchyard_requests_total', {
            surface: 'chat', group: 'g-ok', deployment: 'ok', provider: 'p-ok',
            status_class: '2xx',
        });
        for (let i = 0; i < 40; i++) {
            await h.sleep(250);
            const r = await scrape();
            assert.equal(r.status, 200, r.body);
            body = r.body;
            b = parse(body);
            if (delta(a, b, want) >= 3 && delta(a, b, series('switchyard_requests_total', {
                surface: 'chat', group: 'g-fo', deployment: 'f2', provider: 'p-f2',
                status_class: '2xx' })) >= 1) break;
        }
        assert.equal(delta(a, b, want), 3, body);
        assert.equal(delta(a, b, series('switchyard_requests_total', {
            surface: 'chat', group: '', deployment: '', provider: '', status_class: '4xx',
        })), 1, body);
        assert.equal(delta(a, b, series('switchyard_requests_total', {
            surface: 'chat', group: 'g-fo', deployment: 'f2', provider: 'p-f2',
            status_class: '2xx' })), 1, body);
        assert.equal(delta(a, b, series('switchyard_attempts_total', {
            group: 'g-fo', deployment: 'f1', provider: 'p-f1', outcome: 'SY_EUP_5XX',
        })), 1, body);
        assert.equal(delta(a, b, series('switchyard_attempts_total', {
            group: 'g-fo', deployment: 'f2', provider: 'p-f2', outcome: 'ok',
        })), 1, body);
        assert.equal(delta(a, b, series('switchyard_failovers_total', {
            group: 'g-fo', reason: 'SY_EUP_5XX' })), 1, body);
        assert.equal(delta(a, b, series('gen_ai_server_request_duration_seconds_count', {
            gen_ai_provider_name: 'p-ok', gen_ai_request_model: 'mock-model', deployment: 'ok',
        })), 3, body);
        assert.ok(delta(a, b, series('switchyard_tokens_total', {
            deployment: 'ok', provider: 'p-ok', gen_ai_token_type: 'input' })) > 0, body);
        assert.ok(delta(a, b, series('switchyard_overhead_seconds_count', {
            surface: 'chat' })) >= 5, body);
        assert.equal(b.get('switchyard_redis_up'), 1);
        assert.equal(b.get('switchyard_scrape_redis_calls'), 1);
        assert.equal(b.get(series('switchyard_breaker_state', {
            deployment: 'f1', provider: 'p-f1' })), 0);
        assert.ok(b.get('switchyard_requests_in_flight') >= 1, body);
        assert.ok(b.has(series('switchyard_deployment_window_samples', {
            deployment: 'ok', provider: 'p-ok' })), body);

        if (!PROMTOOL) {
            process.stderr.write('metrics: promtool missing (Debian package '
                + 'prometheus): the format check is skipped\n');
            return;
        }
        const pt = promtoolCheck(body);
        assert.equal(pt.status, 0, `promtool: ${pt.stdout}${pt.stderr}\n${body}`);
    });

    /* The TTFT samples of 'lbl' added since scrape 'a', once 'n' have
     * come (the counters reach Redis on the next refresh). */
    async function ttftSince(a, lbl, n) {
        const count = series('gen_ai_server_time_to_first_token_seconds_count', lbl);
        const sum = series('gen_ai_server_time_to_first_token_seconds_sum', lbl);
        let b;
        for (let i = 0; i < 40; i++) {
            await h.sleep(250);
            b = parse((await scrape()).body);
            if (delta(a, b, count) >= n) break;
        }
        return { b, count: delta(a, b, count), sum: delta(a, b, sum) };
    }

    test('a first-byte time-out is a latency sample of at least its deadline (a hang is learned, not lost)', { timeout: 30000 }, async () => {
        const a = parse((await scrape()).body);
        await stack.mock.fault('hang', { stall: true });
        for (const stream of [false, true]) {
            const r = await h.chat(base(), { model: 'g-hang', stream });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.headers['x-switchyard-deployment'], 'f2');
        }
        await stack.mock.clearFaults();
        const lbl = { gen_ai_provider_name: 'p-hang', gen_ai_request_model: 'mock-model', deployment: 'hang' };
        const { b, count, sum } = await ttftSince(a, lbl, 2);
        assert.equal(count, 2);
        assert.ok(sum >= 0.6, `sum ${sum} s for two 300 ms time-outs`);
        /* Still a provider failure for the breaker and the counters. */
        assert.equal(delta(a, b, series('switchyard_attempts_total', {
            group: 'g-hang', deployment: 'hang', provider: 'p-hang', outcome: 'SY_EUP_TIMEOUT',
        })), 2);
    });

    test('time to first token is taken at the first content, not at the role-only opening', { timeout: 30000 }, async () => {
        const a = parse((await scrape()).body);
        /* The mock sends the role chunk at once, then each content chunk
         * 400 ms after the one before. */
        const r = await h.chat(base(), {
            model: 'g-tok', stream: true,
            directive: { content: 'one two', chunks: 2, chunk_delay_ms: 400 },
        });
        assert.equal(r.status, 200, r.body);
        const lbl = { gen_ai_provider_name: 'p-tok', gen_ai_request_model: 'mock-model', deployment: 'tok' };
        const { count, sum } = await ttftSince(a, lbl, 1);
        assert.equal(count, 1);
        assert.ok(sum >= 0.35, `time to first token ${sum} s for a first content 400 ms after the role`);
    });

    /* One streamed request to 'group'; the TTFT sum it added to the
     * series of deployment 'dep' (provider p-<dep>, model 'model'). */
    async function ttftOf(group, dep, model) {
        const a = parse((await scrape()).body);
        const r = await h.chat(base(), { model: group, stream: true });
        assert.equal(r.status, 200, r.body);
        const lbl = { gen_ai_provider_name: `p-${dep}`, gen_ai_request_model: model, deployment: dep };
        const { b, count, sum } = await ttftSince(a, lbl, 1);
        assert.equal(count, 1, [...b.keys()].filter((k) => k.includes(dep)).join('\n'));
        return { r, ttft: sum };
    }

    test('an OpenAI-type first chunk with the role and the first text is the first token', { timeout: 30000 }, async () => {
        const { r, ttft } = await ttftOf('g-orole', 'orole', 'm-o');
        assert.ok(r.body.includes('Hello') && r.body.includes(' world'), r.body);
        assert.ok(ttft < 0.6, `time to first token ${ttft} s for a first chunk with text at once (the next came 1.2 s later)`);
    });

    test('an Anthropic first text 400 ms after message_start is the first token', { timeout: 30000 }, async () => {
        const { r, ttft } = await ttftOf('g-alate', 'alate', 'claude-x');
        assert.ok(r.body.includes('Hello'), r.body);
        assert.ok(ttft >= 0.35, `time to first token ${ttft} s for a first text 400 ms after message_start`);
    });

    test('the Grafana dashboard in conf/ asks only for metrics the gateway exports', async () => {
        const dash = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'conf', 'grafana-dashboard.json'), 'utf8'));
        const exprs = [];
        (function walk(o) {
            if (Array.isArray(o)) o.forEach(walk);
            else if (o && typeof o === 'object') {
                for (const [k, v] of Object.entries(o)) {
                    if (k === 'expr' && typeof v === 'string') exprs.push(v);
                    else walk(v);
                }
            }
        })(dash);
        assert.ok(exprs.length >= 10, `${exprs.length} queries`);
        const r = await scrape();
        assert.equal(r.status, 200);
        const families = new Set([...r.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
        const used = new Set();
        for (const e of exprs) {
            for (const m of e.matchAll(/\b((?:switchyard|gen_ai)_[a-z0-9_]+)\b/g)) {
                if (m[1] === 'gen_ai_token_type' || m[1].startsWith('gen_ai_provider') || m[1].startsWith('gen_ai_request')) continue;
                used.add(m[1].replace(/_(bucket|sum|count)$/, ''));
            }
        }
        const missing = [...used].filter((n) => !families.has(n));
        assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`);
    });

    test('a bounded number of Redis keys for the counters', async () => {
        const keys = await redis.keys('sy:metrics:*');
        assert.ok(keys.length > 0 && keys.length <= 13, keys.join(' '));
        const req = await redis.cmd('HGETALL', 'sy:metrics:requests');
        assert.ok(req.includes('chat|g-ok|ok|2xx'), req.join(' '));
    });

    test('under a sub-path mount: /llm/metrics', { timeout: 60000 }, async () => {
        const d = stack.dir;
        const site = path.join(d, 'site');
        const other = path.join(d, 'other');
        const run = path.join(d, 'run-sub');
        for (const p of [site, other, run]) fs.mkdirSync(p, { recursive: true, mode: 0o755 });
        await stack.startWebAs('sub', {
            kind: 'lighttpd', confFile: path.join(CONF, 'lighttpd-subpath.conf'),
            env: { SWITCHYARD_DOC_ROOT: site, SWITCHYARD_OTHER_DIR: other,
                SWITCHYARD_RUN_DIR: run },
            readyPath: '/llm/healthz',
        });
        const r = await h.request(stack.base('sub'), {
            path: '/llm/metrics', headers: ADMIN, timeout: 10000 });
        assert.equal(r.status, 200, r.body);
        assert.match(r.body, /^# HELP switchyard_requests_total /m);
        const no = await h.request(stack.base('sub'), { path: '/llm/metrics', timeout: 10000 });
        assert.equal(no.status, 401, no.body);
    });

    test('a CGI request\'s counts are in Redis when it exits', { timeout: 30000 }, async () => {
        const field = 'chat|g-ok|ok|2xx';
        const before0 = Number(await redis.cmd('HGET', 'sy:metrics:requests', field)) || 0;
        const body = JSON.stringify({ model: 'g-ok', messages: [{ role: 'user', content: 'hi' }] });
        const r = h.runSwitchyard([], {
            env: {
                GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'POST',
                REQUEST_URI: '/v1/chat/completions', SERVER_PROTOCOL: 'HTTP/1.1',
                REMOTE_ADDR: '127.0.0.1', CONTENT_TYPE: 'application/json',
                CONTENT_LENGTH: String(Buffer.byteLength(body)),
                SWITCHYARD_CONFIG: stack.configFile, SY_T_METRICS_ADMIN: ADMIN_KEY,
            },
            input: body,
        });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /"chat\.completion"/, r.stdout);
        /* No wait: the process flushed before it exited. */
        const after0 = Number(await redis.cmd('HGET', 'sy:metrics:requests', field)) || 0;
        assert.equal(after0 - before0, 1, r.stderr);
    });

    test('Redis down: 200 with switchyard_redis_up 0', { timeout: 30000 }, async () => {
        await redis.kill();
        const r = await scrape();
        assert.equal(r.status, 200, r.body);
        const m = parse(r.body);
        assert.equal(m.get('switchyard_redis_up'), 0, r.body);
        assert.ok(m.has('switchyard_requests_in_flight'));
        if (PROMTOOL) {
            const pt = promtoolCheck(r.body);
            assert.equal(pt.status, 0, `promtool: ${pt.stdout}${pt.stderr}\n${r.body}`);
        }
    });
});

describe('GET /metrics without Redis: the host\'s counters', { skip: h.missing('lighttpd') || false }, () => {
    let stack;
    const base = () => stack.base('lighttpd');
    const scrape = () => h.request(base(), { path: '/metrics', headers: ADMIN, timeout: 10000 });
    const want = series('switchyard_requests_total', {
        surface: 'chat', group: 'g-ok', deployment: 'ok', provider: 'p-ok', status_class: '2xx',
    });

    before(async () => {
        stack = new h.Stack({
            tag: 'metrics-local', env: { SY_T_METRICS_ADMIN: ADMIN_KEY },
            config: (mockPort) => {
                const cfg = h.gatewayConfig(mockPort, {
                    deployments: { ok: {} }, groups: { 'g-ok': ['ok'] },
                    server: { processes: 3, threads: 2, admin_key_env: 'SY_T_METRICS_ADMIN' },
                });
                cfg.metrics = { allow: [] };
                return cfg;
            },
        });
        await stack.start();
    }, { timeout: 60000 });

    after(async () => {
        if (stack) await stack.stop();
    }, { timeout: 30000 });

    /* Every scrape (each may land on another worker) shows all 'n'. */
    async function allSee(n) {
        for (let i = 0; i < 12; i++) {
            const r = await scrape();
            assert.equal(r.status, 200, r.body);
            const m = parse(r.body);
            assert.equal(m.get(want), n, r.body);
            assert.equal(m.get('switchyard_redis_up'), 0);
        }
    }

    test('every scrape shows the whole host, never one process\'s share', { timeout: 60000 }, async () => {
        const sent = 12;
        await Promise.all(Array.from({ length: sent }, async () => {
            const r = await h.chat(base(), { model: 'g-ok' });
            assert.equal(r.status, 200, r.body);
        }));
        await allSee(sent);
    });

    test('the counts outlive the workers: killed and restarted', { timeout: 60000 }, async () => {
        const old = stack.workers();
        assert.equal(old.length, 3);
        for (const pid of old) process.kill(pid, 'SIGKILL');
        await h.waitFor('the workers restarted', () => {
            const now = stack.workers();
            return now.length === 3 && now.every((p) => !old.includes(p));
        }, 20000);
        await h.waitFor('a worker answers', async () => (await scrape()).status === 200, 20000);
        await allSee(12);
    });
});
