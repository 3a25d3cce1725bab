/*
 * header_limits.test.js - a request parameter longer than the gateway
 * keeps (a header value of SY_CGI_PARAM_MAX, 8192 bytes, or more; a path over
 * SY_PATH_MAX, 4096) is refused, never cut and used: 431 for a header,
 * 414 for the path, in the error shape of the path's API, with no
 * provider call, and the worker processes go on.
 *
 * What reaches the gateway depends on the web server. With the shipped
 * conf/lighttpd.conf and conf/apache.conf no header over 8 KiB does:
 *   - lighttpd answers 431 itself (server.max-request-field-size, 8192
 *     bytes for the whole header block, by default);
 *   - Apache answers 400 itself (LimitRequestFieldSize 8190 per line;
 *     2.4 checks a header sent in several lines once joined, too).
 * Those are checked below (no provider call either), and the gateway's
 * own 431 through both servers with their limit raised (the configs
 * copied with server.max-request-field-size / LimitRequestFieldSize
 * 65536 added, as an operator may do for long cookies). A 5000-byte path
 * passes either server as shipped and gets the gateway's 414.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const KEY = 'sk-test-header-limits-0123456789';

const stack = new h.Stack({
    tag: 'hdrlim',
    servers: h.SERVERS,
    env: { SY_T_HDRLIM_KEY: KEY },
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { a: {} },
            groups: { 'm-basic': ['a'] },
        });
        cfg.keys = { k: { key_env: 'SY_T_HDRLIM_KEY' } };
        return cfg;
    },
});

/* The shipped configs with the web server's header limit raised. */
const RAISED = {
    'lighttpd-raised': { kind: 'lighttpd', need: 'lighttpd', conf: h.LIGHTTPD_CONF,
        add: 'server.max-request-field-size = 65536\n' },
    'apache-raised': { kind: 'apache', need: 'apache', conf: h.APACHE_CONF,
        add: 'LimitRequestFieldSize 65536\n' },
};

before(async () => {
    await stack.start();
    for (const [name, v] of Object.entries(RAISED)) {
        if (h.missing(v.need)) continue;
        const run = path.join(stack.dir, `run-${name}`);
        fs.mkdirSync(path.join(run, 'htdocs'), { recursive: true, mode: 0o755 });
        fs.chmodSync(run, 0o755);
        const confFile = path.join(stack.dir, `${name}.conf`);
        fs.writeFileSync(confFile, fs.readFileSync(v.conf, 'utf8') + v.add);
        await stack.startWebAs(name, { kind: v.kind, confFile,
                                       env: { SWITCHYARD_RUN_DIR: run } });
    }
}, { timeout: 60000 });
after(() => stack.stop(), { timeout: 30000 });

/* A value that looks like a key, so an echo of it would show. */
const secret = (n) => 'sk-SECRET'.repeat(Math.ceil(n / 9)).slice(0, n);
const CHAT = { model: 'm-basic', messages: [{ role: 'user', content: 'hi' }] };
const MSGS = { model: 'm-basic', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

/* What each web server answers itself to one header line over 8 KiB. */
const OWN_STATUS = { lighttpd: 431, apache: 400 };

function brief(r) {
    return `${r.status} ${r.error || ''} ${(r.body || '').slice(0, 300)}`;
}

function messages(base, headers) {
    return h.request(base, {
        method: 'POST', path: '/v1/messages', body: MSGS,
        headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', ...headers },
    });
}

function chat(base, headers) {
    return h.request(base, {
        method: 'POST', path: '/v1/chat/completions', body: CHAT,
        headers: { Authorization: `Bearer ${KEY}`, ...headers },
    });
}

/* The gateway's 431/414 in Anthropic's shape, naming 'what'. */
function assertAnthropic(r, status, what) {
    assert.equal(r.status, status, brief(r));
    assert.match(r.headers['content-type'] || '', /^application\/json/, brief(r));
    assert.ok(r.json, brief(r));
    assert.equal(r.json.type, 'error', brief(r));
    assert.equal(r.json.error.type, 'invalid_request_error', brief(r));
    assert.ok(r.json.error.message.includes(what), r.json.error.message);
    assert.ok(r.headers['x-request-id'], 'no x-request-id');
    assert.ok(!r.body.includes('SECRET'), 'the value was echoed');
}

/* ...and in OpenAI's. */
function assertOpenAI(r, status, code, what) {
    assert.equal(r.status, status, brief(r));
    assert.match(r.headers['content-type'] || '', /^application\/json/, brief(r));
    assert.ok(r.json && r.json.error, brief(r));
    assert.equal(r.json.type, undefined, brief(r));
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.code, code);
    assert.ok(r.json.error.message.includes(what), r.json.error.message);
    assert.ok(r.headers['x-request-id'], 'no x-request-id');
    assert.ok(!r.body.includes('SECRET'), 'the value was echoed');
}

for (const server of h.SERVERS) {
    describe(`long parameters behind ${server}`, { skip: h.missing(server) || false }, () => {
        const base = () => stack.base(server);
        let calls0;
        before(async () => { calls0 = await stack.mock.count('a'); });

        it('refuses one 9000-byte anthropic-beta on /v1/messages', async () => {
            const r = await messages(base(), { 'anthropic-beta': secret(9000) });
            assert.equal(r.status, OWN_STATUS[server], brief(r));
            assert.ok(!r.body.includes('SECRET'), 'the value was echoed');
        });

        it('refuses one 9000-byte Authorization on /v1/chat/completions', async () => {
            const r = await chat(base(), { Authorization: `Bearer ${secret(9000)}` });
            assert.equal(r.status, OWN_STATUS[server], brief(r));
            assert.ok(!r.body.includes('SECRET'), 'the value was echoed');
        });

        it('answers 414 to a path over 4096 bytes, in the shape of its API', async () => {
            const id = secret(5000);
            const m = await h.request(base(), {
                method: 'GET', path: `/v1/models/${id}`,
                headers: { Authorization: `Bearer ${KEY}` },
            });
            assertOpenAI(m, 414, 'uri_too_long', 'the request path is longer than 4096 bytes');
            const a = await h.request(base(), {
                method: 'POST', path: `/v1/messages/${id}`, body: MSGS,
                headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
            });
            assertAnthropic(a, 414, 'the request path is longer than 4096 bytes');
        });

        it('made no provider call, and serves a good request after', async () => {
            assert.equal(await stack.mock.count('a'), calls0);
            const c = await chat(base(), { 'anthropic-beta': secret(4000) });
            assert.equal(c.status, 200, brief(c));
            const m = await messages(base(), {});
            assert.equal(m.status, 200, brief(m));
            assert.equal(await stack.mock.count('a'), calls0 + 2);
        });
    });
}

for (const [name, v] of Object.entries(RAISED)) {
    describe(`long headers reaching the gateway behind ${name}`, { skip: h.missing(v.need) || false }, () => {
        const base = () => stack.base(name);
        let calls0;
        before(async () => { calls0 = await stack.mock.count('a'); });

        it('answers 431 to a 9000-byte anthropic-beta on /v1/messages, Anthropic-shaped', async () => {
            const r = await messages(base(), { 'anthropic-beta': secret(9000) });
            assertAnthropic(r, 431, "header 'anthropic-beta' is longer than 8191 bytes");
        });

        it('answers 431 to a 9000-byte Authorization on /v1/chat/completions, OpenAI-shaped', async () => {
            const r = await chat(base(), { Authorization: `Bearer ${secret(9000)}` });
            assertOpenAI(r, 431, 'request_header_fields_too_large',
                         "header 'Authorization' is longer than 8191 bytes");
        });

        it('answers 431 to a 9000-byte x-api-key; drops a 9000-byte traceparent', async () => {
            const k = await messages(base(), { 'x-api-key': secret(9000) });
            assertAnthropic(k, 431, "header 'x-api-key' is longer than 8191 bytes");
            /* a hint the gateway goes without: a new trace, served */
            const t = await chat(base(), { traceparent: secret(9000) });
            assert.equal(t.status, 200, brief(t));
            assert.doesNotMatch(t.body, /sk-SECRET|SECRET/);
            calls0 += 1;
        });

        it('made no provider call, and serves a long header within the limit', async () => {
            assert.equal(await stack.mock.count('a'), calls0);
            const m = await messages(base(), { 'anthropic-beta': secret(8191) });
            assert.equal(m.status, 200, brief(m));
            assert.equal(await stack.mock.count('a'), calls0 + 1);
        });
    });
}

describe('the pool after long parameters', () => {
    it('lost no worker process', () => {
        assert.equal(stack.workers().length, stack.config.server.processes);
        assert.ok(!/killed by signal|restarting/.test(h.tail(`${stack.dir}/switchyard.log`, 1000)),
            'a worker died');
    });
});
