/*
 * cli.test.js - the switchyard command without a web server: check-config
 * on valid and invalid files, serve refusing an invalid config with the
 * same messages, and the plain CGI mode (one request from the environment
 * and stdin, answered on stdout; the answer ends before the span export
 * is flushed).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

let dir;
let mock;
let goodFile;
let badFile;

/* Invalid on purpose, one error of each kind: [json path, text expected
 * in the message or hint]. */
const BAD = {
    server: { processes: 0, colour: 'blue' },
    providers: {
        p: { type: 'openai', base_url: 'ftp://example.invalid', auth: 'none' },
        q: { type: 'no-such-adapter', base_url: 'http://127.0.0.1:1/v1', auth: 'none' },
    },
    deployments: {
        d: { provider: 'zz', model: 'm', timeouts: { connect_ms: 'fast' } },
    },
    groups: { g: { deployments: ['d', 'missing'] } },
};
const BAD_LINES = [
    ['server.colour', /unknown key "colour".*\(hint: known keys here: .*processes/],
    ['server.processes', /out of range.*\(hint: allowed range 1\.\.256\)/],
    ['providers.p.base_url', /not an HTTP URL.*\(hint: /],
    ['providers.q.type', /unknown provider type.*\(hint: known types: openai/],
    ['deployments.d.provider', /unknown provider "zz".*\(hint: defined providers: p, q\)/],
    ['deployments.d.timeouts.connect_ms', /must be an integer/],
    ['groups.g.deployments[1]', /unknown deployment "missing".*\(hint: /],
];

before(async () => {
    dir = h.makeTmpDir('cli');
    mock = new h.Mock(dir);
    await mock.start();
    goodFile = path.join(dir, 'good.json');
    fs.writeFileSync(goodFile, JSON.stringify(h.gatewayConfig(mock.port, {
        deployments: { c1: {}, c2: {} },
        groups: { 'm-cgi': ['c1', 'c2'] },
        server: { max_body_bytes: 4096 },
    })));
    badFile = path.join(dir, 'bad.json');
    fs.writeFileSync(badFile, JSON.stringify(BAD, null, 1));
}, { timeout: 30000 });

after(async () => {
    if (mock) await mock.stop();
    if (dir) h.removeTmpDir(dir);
});

describe('switchyard check-config', () => {
    it('accepts a valid file with exit status 0', () => {
        const r = h.runSwitchyard(['check-config', goodFile]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /OK/);
        assert.match(r.stdout, /m-cgi/);
        assert.equal(r.stderr, '');
    });

    it('accepts the embedded default config', () => {
        const r = h.runSwitchyard(['check-config'], { env: { SWITCHYARD_CONFIG: '' } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /gpt-4o-mini/);
    });

    it('accepts the shipped conf/switchyard.json', () => {
        const r = h.runSwitchyard(['check-config', path.join(h.ROOT, 'conf', 'switchyard.json')]);
        assert.equal(r.status, 0, r.stderr);
    });

    it('rejects an invalid file with exit status 1, naming each error\'s path and a hint', () => {
        const r = h.runSwitchyard(['check-config', badFile]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        const lines = r.stderr.trim().split('\n');
        for (const [jpath, re] of BAD_LINES) {
            const line = lines.find((l) => l.startsWith(`${badFile}: ${jpath}: `));
            assert.ok(line, `no error for ${jpath} in:\n${r.stderr}`);
            assert.match(line, re);
        }
    });

    it('reports invalid JSON with its line and column', () => {
        const f = path.join(dir, 'syntax.json');
        fs.writeFileSync(f, '{\n  "server": {\n    "processes": 2,\n  }\n');
        const r = h.runSwitchyard(['check-config', f]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`^${f.replace(/[.]/g, '\\.')}: .*line \\d+.*\\(hint: `, 'm'));
    });

    it('reports a missing file', () => {
        const r = h.runSwitchyard(['check-config', path.join(dir, 'nope.json')]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /nope\.json: .*(No such file|cannot open)/);
    });
});

describe('switchyard serve with an invalid config', () => {
    it('refuses to start, with the same messages', () => {
        const sock = path.join(dir, 'refused.sock');
        const check = h.runSwitchyard(['check-config', badFile]);
        const r = h.runSwitchyard(['serve', '--config', badFile, '--listen', `unix:${sock}`,
            '--processes', '1', '--threads', '1'], { timeout: 10000 });
        assert.equal(r.status, 1, r.stderr);
        for (const line of check.stderr.trim().split('\n')) {
            assert.ok(r.stderr.includes(line), `serve did not print: ${line}`);
        }
        assert.match(r.stderr, /not starting/);
        assert.ok(!fs.existsSync(sock), 'serve created its socket');
    });

    it('refuses bad command-line values', () => {
        const r = h.runSwitchyard(['serve', '--config', goodFile, '--processes', '0']);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--processes/);
    });
});

/* Run one CGI request; returns {status, headers, body, raw}. */
function cgi({ method = 'GET', uri, body, env = {} }) {
    const e = {
        GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: method, REQUEST_URI: uri,
        SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1',
        SWITCHYARD_CONFIG: goodFile, ...env,
    };
    if (body !== undefined) {
        e.CONTENT_LENGTH = String(Buffer.byteLength(body));
        e.CONTENT_TYPE = 'application/json';
    }
    const r = h.runSwitchyard([], { env: e, input: body || '' });
    assert.equal(r.status, 0, r.stderr);
    const sep = r.stdout.indexOf('\r\n\r\n');
    assert.ok(sep > 0, `no CGI header block in: ${JSON.stringify(r.stdout.slice(0, 200))}`);
    const headers = {};
    for (const l of r.stdout.slice(0, sep).split('\r\n')) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number((headers.status || '200').split(' ')[0]);
    return { status, headers, body: r.stdout.slice(sep + 4), raw: r.stdout, stderr: r.stderr };
}

describe('CGI mode', () => {
    const chatBody = (extra) => JSON.stringify({
        model: 'm-cgi', messages: [{ role: 'user', content: 'hi' }], ...extra,
    });

    it('answers a chat completion', () => {
        const r = cgi({ method: 'POST', uri: '/v1/chat/completions', body: chatBody() });
        assert.equal(r.status, 200, r.raw);
        assert.match(r.headers.status, /^200 /);
        assert.match(r.headers['content-type'], /^application\/json/);
        assert.ok(r.headers['x-request-id']);
        assert.equal(r.headers['x-switchyard-deployment'], 'c1');
        assert.equal(r.headers['x-switchyard-attempts'], '1');
        const j = JSON.parse(r.body);
        assert.equal(j.choices[0].message.content, 'Hello from c1.');
    });

    it('streams a chat completion', () => {
        const r = cgi({ method: 'POST', uri: '/v1/chat/completions', body: chatBody({ stream: true }) });
        assert.equal(r.status, 200, r.raw);
        assert.match(r.headers['content-type'], /^text\/event-stream/);
        assert.match(r.body, /^data: \{/);
        assert.match(r.body, /data: \[DONE\]\n\n$/);
    });

    it('fails over in CGI mode too', async () => {
        await mock.fault('c1', { status: 503 });
        try {
            const r = cgi({ method: 'POST', uri: '/v1/chat/completions', body: chatBody() });
            assert.equal(r.status, 200, r.raw);
            assert.equal(r.headers['x-switchyard-deployment'], 'c2');
            assert.equal(r.headers['x-switchyard-attempts'], '2');
        } finally {
            await mock.clearFaults();
        }
    });

    it('answers GET /v1/models and /healthz', () => {
        const m = cgi({ uri: '/v1/models' });
        assert.equal(m.status, 200, m.raw);
        assert.deepEqual(JSON.parse(m.body).data.map((x) => x.id), ['m-cgi']);
        const hz = cgi({ uri: '/healthz' });
        assert.equal(hz.status, 200, hz.raw);
    });

    it('answers bad input with an OpenAI error and its status', () => {
        const bad = cgi({ method: 'POST', uri: '/v1/chat/completions', body: '{"model":' });
        assert.equal(bad.status, 400, bad.raw);
        assert.ok(JSON.parse(bad.body).error.message);
        const big = cgi({ method: 'POST', uri: '/v1/chat/completions',
            body: chatBody({ pad: 'x'.repeat(8192) }) });
        assert.equal(big.status, 413, big.raw);
        const unk = cgi({ uri: '/nope' });
        assert.equal(unk.status, 404, unk.raw);
        const meth = cgi({ uri: '/v1/chat/completions' });
        assert.equal(meth.status, 405, meth.raw);
    });

    it('uses SCRIPT_NAME + PATH_INFO when REQUEST_URI is absent', () => {
        const r = cgi({ uri: undefined, env: { SCRIPT_NAME: '/v1', PATH_INFO: '/models' } });
        assert.equal(r.status, 200, r.raw);
    });

    it('writes the usage log like FastCGI mode', () => {
        const log = path.join(dir, 'cgi-usage.log');
        const cfgFile = path.join(dir, 'cgi-usage.json');
        fs.writeFileSync(cfgFile, JSON.stringify(h.gatewayConfig(mock.port, {
            deployments: { c1: {} }, groups: { 'm-cgi': ['c1'] },
            server: { usage_log: log },
        })));
        const env = { SWITCHYARD_CONFIG: cfgFile, HTTP_X_REQUEST_ID: 'cgi-usage-1' };
        const r = cgi({ method: 'POST', uri: '/v1/chat/completions', body: chatBody(), env });
        assert.equal(r.status, 200, r.raw);
        assert.ok(fs.existsSync(log), 'CGI mode did not open server.usage_log');
        const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.equal(lines.length, 1);
        assert.equal(lines[0].request_id, 'cgi-usage-1');
        assert.equal(lines[0].deployment, 'c1');
        assert.equal(lines[0].status, 200);
        assert.ok(lines[0].completion_tokens > 0, JSON.stringify(lines[0]));
    });

    it('answers 500 config_invalid when SWITCHYARD_CONFIG is invalid', () => {
        const r = cgi({ uri: '/healthz', env: { SWITCHYARD_CONFIG: badFile } });
        assert.equal(r.status, 500, r.raw);
        assert.equal(JSON.parse(r.body).error.code, 'config_invalid');
        assert.match(r.stderr, /server\.processes/);
    });
});

describe('CGI mode with span export', () => {
    /* A collector that accepts the connection and never answers. */
    let hang;
    const held = [];
    before(async () => {
        hang = require('node:net').createServer((c) => { held.push(c); });
        await new Promise((resolve) => hang.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
        for (const c of held) c.destroy();
        await new Promise((resolve) => hang.close(resolve));
    });

    it('ends the answer (stdout) before it flushes the spans', async () => {
        const cfg = JSON.parse(fs.readFileSync(goodFile, 'utf8'));
        cfg.tracing = { otlp_endpoint: `http://127.0.0.1:${hang.address().port}/v1/traces`, timeout_ms: 5000 };
        const file = path.join(dir, 'cgi-tracing.json');
        fs.writeFileSync(file, JSON.stringify(cfg));
        const body = JSON.stringify({ model: 'm-cgi', messages: [{ role: 'user', content: 'hi' }] });
        const env = {
            ...process.env, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'POST',
            REQUEST_URI: '/v1/chat/completions', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1',
            SWITCHYARD_CONFIG: file, CONTENT_LENGTH: String(Buffer.byteLength(body)),
            CONTENT_TYPE: 'application/json',
        };
        const child = require('node:child_process').spawn(h.SWITCHYARD, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (b) => { out += b; });
        child.stderr.on('data', (b) => { err += b; });
        const ended = new Promise((resolve) => child.stdout.on('end', () => resolve(Date.now())));
        const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, t: Date.now() })));
        child.stdin.end(body);
        const tEnd = await ended;
        const ex = await exited;
        assert.equal(ex.code, 0, err);
        assert.match(out, /^Status: 200 /m);
        assert.match(out, /Hello from c1\./);
        /* The span export to the silent collector (bounded at 0.5 s)
         * runs after stdout closed: the web server has the whole answer
         * while the process still flushes. */
        assert.ok(ex.t - tEnd >= 200, `stdout closed ${ex.t - tEnd} ms before exit`);
        assert.ok(held.length >= 1, 'the exporter never tried the collector');
    });
});

describe('switchyard without a command', () => {
    it('prints its usage and exits 2 outside CGI and FastCGI', () => {
        const r = h.runSwitchyard([], { env: { GATEWAY_INTERFACE: undefined } });
        assert.equal(r.status, 2);
        assert.match(r.stderr, /usage: switchyard/);
    });

    it('prints its version', () => {
        const r = h.runSwitchyard(['--version']);
        assert.equal(r.status, 0);
        assert.match(r.stdout, /^switchyard \d+\.\d+/);
    });
});
