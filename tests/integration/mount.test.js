/*
 * mount.test.js - Switchyard mounted under /llm/ next to other content,
 * behind each supported web server, with the very config files conf/
 * ships: lighttpd (socket mode and spawn mode, conf/lighttpd-subpath.conf),
 * Apache mod_proxy_fcgi (conf/apache-proxy-fcgi-subpath.conf), Apache
 * mod_fcgid (conf/apache-fcgid-subpath.conf, which starts switchyard on an
 * inherited socket) and nginx (conf/nginx-subpath.conf, a template). For
 * each: the official openai SDK with baseURL .../llm/v1 (chat; a stream
 * whose events arrive one by one, not batched; models, one whose id has
 * a slash, sent as %2F), /llm/healthz, the
 * admin API reached under the prefix, a 1.5 MiB prompt passing and a
 * 5 MiB body getting the gateway's JSON 413 (the servers' size limits are
 * above the gateway's), the gateway's JSON 404 for an
 * unknown path under the prefix, the Anthropic SDK and the Responses API
 * with their base URLs under the prefix, an unknown /v1/messages path
 * answered in Anthropic's error shape, and the site's static file and
 * second location still served. Plus server.base_path in CGI mode.
 *
 * The SDKs come from tests/client/node_modules ('npm ci' there); without
 * them the SDK tests are skipped and say so.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const h = require('./harness');

const CONF = path.join(h.ROOT, 'conf');
const CLIENT_MODULES = path.join(h.ROOT, 'tests', 'client', 'node_modules');

function optionalRequire(name) {
    try {
        return require(path.join(CLIENT_MODULES, name));
    } catch (e) {
        return null;
    }
}
const openaiPkg = optionalRequire('openai');
const anthropicPkg = optionalRequire('@anthropic-ai/sdk');
const NO_OPENAI = openaiPkg ? false : 'openai SDK missing: run npm ci in tests/client';
const NO_ANTHROPIC = anthropicPkg ? false
    : '@anthropic-ai/sdk missing: run npm ci in tests/client';

/* conf/lighttpd-subpath.conf in spawn mode: the socket-mode
 * fastcgi.server block of the gateway dropped, the #SPAWN lines
 * uncommented (what the file tells a reader to do). */
function lighttpdSpawnConf() {
    const lines = fs.readFileSync(path.join(CONF, 'lighttpd-subpath.conf'), 'utf8').split('\n');
    const out = [];
    let skip = false;
    let dropped = 0;
    for (const line of lines) {
        if (line === '    fastcgi.server = (') { skip = true; dropped++; continue; }
        if (skip) { if (line === '    )') skip = false; continue; }
        out.push(line.replace(/^(\s*)#SPAWN ?/, '$1'));
    }
    const text = out.join('\n');
    assert.equal(dropped, 1, 'socket-mode block not found in lighttpd-subpath.conf');
    assert.ok(text.includes('"bin-path" => env.SWITCHYARD_BIN'), 'spawn block not found');
    return text;
}

/* nginx's user directive wants names (ignored unless started as root). */
function nginxUser() {
    const u = h.httpUser();
    if (typeof process.getuid === 'function' && process.getuid() === 0) {
        return { SWITCHYARD_HTTP_USER: u.user, SWITCHYARD_HTTP_GROUP: 'root' };
    }
    const name = os.userInfo().username;
    return { SWITCHYARD_HTTP_USER: name, SWITCHYARD_HTTP_GROUP: name };
}

/* The servers: name -> how to start it, or why it cannot run here. */
const VARIANTS = {
    'lighttpd': { kind: 'lighttpd', need: 'lighttpd', file: 'lighttpd-subpath.conf' },
    'lighttpd-spawn': { kind: 'lighttpd', need: 'lighttpd', file: 'lighttpd-subpath.conf', spawn: true },
    'apache-proxy-fcgi': { kind: 'apache', need: 'apache', file: 'apache-proxy-fcgi-subpath.conf' },
    'apache-fcgid': { kind: 'apache', need: 'fcgid', file: 'apache-fcgid-subpath.conf', spawn: true },
    'nginx': { kind: 'nginx', need: 'nginx', file: 'nginx-subpath.conf' },
};

const ADMIN_KEY = 'mount-admin-key-0123456789';
const stack = new h.Stack({
    tag: 'mount', servers: [],
    env: { SY_MOUNT_ADMIN: ADMIN_KEY },
    config: (mockPort) => h.gatewayConfig(mockPort, {
        deployments: { a: {} }, groups: { 'gpt-4o-mini': ['a'], 'vendor/model': ['a'] },
        server: {
            processes: 2, threads: 4, admin_key_env: 'SY_MOUNT_ADMIN',
            max_body_bytes: 4 << 20,
        },
    }),
});

before(async () => {
    await stack.start();
    const d = stack.dir;
    const site = path.join(d, 'site');
    const other = path.join(d, 'other');
    fs.mkdirSync(site, { mode: 0o755 });
    fs.mkdirSync(other, { mode: 0o755 });
    fs.writeFileSync(path.join(site, 'index.html'), '<p>the static site</p>\n');
    fs.writeFileSync(path.join(site, 'hello.txt'), 'a static file\n');
    fs.writeFileSync(path.join(other, 'page.txt'), 'the other location\n');
    /* What a server that starts switchyard itself (lighttpd bin-path,
     * mod_fcgid) hands it: only SWITCHYARD_CONFIG, no admin key variable,
     * so a config without the admin API; one process, as
     * conf/apache-fcgid-subpath.conf advises. */
    const spawned = { ...stack.config, server: { ...stack.config.server, processes: 1 } };
    delete spawned.server.admin_key_env;
    const spawnedFile = path.join(d, 'spawned.json');
    fs.writeFileSync(spawnedFile, JSON.stringify(spawned, null, 2));
    fs.chmodSync(spawnedFile, 0o644);
    fs.chmodSync(d, 0o755);

    for (const [name, v] of Object.entries(VARIANTS)) {
        if (h.missing(v.need)) continue;
        const env = {
            SWITCHYARD_DOC_ROOT: site, SWITCHYARD_OTHER_DIR: other,
            SWITCHYARD_BIN: h.SWITCHYARD, SWITCHYARD_CONFIG: spawnedFile,
        };
        let confFile = path.join(CONF, v.file);
        if (name === 'lighttpd-spawn') {
            confFile = path.join(d, 'lighttpd-subpath-spawn.conf');
            fs.writeFileSync(confFile, lighttpdSpawnConf());
            env.SWITCHYARD_SOCKET = path.join(d, 'spawn.sock');
        }
        /* One run directory per server (pid files, logs). */
        env.SWITCHYARD_RUN_DIR = path.join(d, `run-${name}`);
        fs.mkdirSync(env.SWITCHYARD_RUN_DIR, { mode: 0o755 });
        fs.chmodSync(env.SWITCHYARD_RUN_DIR, 0o755);
        if (v.kind === 'nginx') Object.assign(env, nginxUser());
        await stack.startWebAs(name, {
            kind: v.kind, confFile, env, readyPath: '/llm/healthz',
            nginxIncludes: v.kind === 'nginx' ? ['fastcgi_params', 'mime.types'] : [],
        });
    }
}, { timeout: 90000 });
after(() => stack.stop(), { timeout: 30000 });

const directive = (spec) => `[[mock ${JSON.stringify(spec)}]]`;

for (const [name, v] of Object.entries(VARIANTS)) {
    describe(`gateway at /llm/ behind ${name}`, { skip: h.missing(v.need) || false }, () => {
        const base = () => stack.base(name);

        it('openai SDK (baseURL .../llm/v1): chat completion', { skip: NO_OPENAI }, async () => {
            const client = new openaiPkg.OpenAI({
                baseURL: `${base()}/llm/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
            const { data, response } = await client.chat.completions.create({
                model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }],
            }).withResponse();
            assert.equal(data.object, 'chat.completion');
            assert.equal(data.choices[0].message.content, 'Hello from a.');
            assert.equal(response.headers.get('x-switchyard-deployment'), 'a');
        });

        it('openai SDK (baseURL .../llm/v1): the Responses API under the prefix', { skip: NO_OPENAI }, async () => {
            const client = new openaiPkg.OpenAI({
                baseURL: `${base()}/llm/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
            const { data, response } = await client.responses.create({
                model: 'gpt-4o-mini', input: 'Hello!',
            }).withResponse();
            assert.equal(data.object, 'response');
            assert.equal(data.output_text, 'Hello from a.');
            assert.equal(response.headers.get('x-switchyard-deployment'), 'a');
        });

        it('openai SDK: stream events arrive one by one (no buffering)', { skip: NO_OPENAI }, async () => {
            const client = new openaiPkg.OpenAI({
                baseURL: `${base()}/llm/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
            const t0 = performance.now();
            const stream = await client.chat.completions.create({
                model: 'gpt-4o-mini', stream: true,
                messages: [{ role: 'user', content: `Count. ${directive({ chunks: 5, chunk_delay_ms: 250 })}` }],
            });
            const times = [];
            let text = '';
            for await (const chunk of stream) {
                const c = chunk.choices[0] && chunk.choices[0].delta.content;
                if (typeof c === 'string' && c !== '') {
                    times.push(performance.now() - t0);
                    text += c;
                }
            }
            assert.ok(times.length >= 5, `content events: ${times.length}`);
            assert.ok(text.length > 0);
            /* 4 gaps of 250 ms between the first and the last event: a
             * buffering server delivers them together at the end. */
            const spread = times[times.length - 1] - times[0];
            assert.ok(spread >= 700, `events arrived within ${spread.toFixed(0)} ms: buffered (${times.map((t) => t.toFixed(0))})`);
            /* ...and each one about when it was sent, not in lumps. */
            for (let i = 1; i < times.length; i++) {
                assert.ok(times[i] - times[i - 1] >= 50,
                          `events ${i - 1} and ${i} arrived together (${times.map((t) => t.toFixed(0))})`);
            }
        });

        it('openai SDK: models', { skip: NO_OPENAI }, async () => {
            const client = new openaiPkg.OpenAI({
                baseURL: `${base()}/llm/v1`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
            const ids = [];
            for await (const m of client.models.list()) ids.push(m.id);
            assert.deepEqual(ids, ['gpt-4o-mini', 'vendor/model']);
            const one = await client.models.retrieve('gpt-4o-mini');
            assert.equal(one.id, 'gpt-4o-mini');
            /* vendor%2Fmodel: Apache hands it over still encoded. */
            const slash = await client.models.retrieve('vendor/model');
            assert.equal(slash.id, 'vendor/model');
        });

        it('/llm/healthz', async () => {
            const r = await h.request(base(), { path: '/llm/healthz' });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.status, 'ok');
        });

        it('an unknown path under the prefix gets the gateway\'s JSON 404', async () => {
            for (const p of ['/llm/v1/nothing', '/llm/', '/llm/healthz/x', '/llm/v1/chat/completions/x']) {
                const r = await h.request(base(), { path: p });
                assert.equal(r.status, 404, `${p}: ${r.body}`);
                assert.match(r.headers['content-type'], /^application\/json/, p);
                assert.equal(r.json.error.code, 'not_found', `${p}: ${r.body}`);
                assert.ok(r.headers['x-request-id'], p);
            }
        });

        it('a long prompt gets through; an oversized body gets the gateway\'s 413', async () => {
            /* 1.5 MiB: above nginx's default client_max_body_size (1m)
             * and mod_fcgid's FcgidMaxRequestLen (128 KiB), below the
             * gateway's max_body_bytes (4 MiB). */
            const long = await h.request(base(), {
                method: 'POST', path: '/llm/v1/chat/completions', timeout: 30000,
                body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(1536 * 1024) }] },
            });
            assert.equal(long.status, 200, long.body.slice(0, 300));
            assert.equal(long.json.choices[0].message.content, 'Hello from a.');
            const big = await h.request(base(), {
                method: 'POST', path: '/llm/v1/chat/completions', timeout: 30000,
                body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(5 << 20) }] },
            });
            assert.equal(big.status, 413, big.body.slice(0, 300));
            assert.match(big.headers['content-type'], /^application\/json/);
            assert.ok(big.json.error, big.body.slice(0, 300));
        });

        it('the admin API is reached under the prefix', { skip: v.spawn ? 'spawned by the web server: no admin key in its environment' : false }, async () => {
            const r = await h.request(base(), { path: '/llm/admin/keys', headers: { Authorization: 'Bearer wrong' } });
            assert.equal(r.status, 401, r.body);
            assert.equal(r.json.error.message, 'invalid admin key');
        });

        it('/llm/metrics and /llm/dashboard under the prefix', async () => {
            /* Spawned by the web server there is no admin key, so the
             * default list (the local host) lets the test in; otherwise
             * the admin key does. */
            const auth = v.spawn ? {} : { Authorization: `Bearer ${ADMIN_KEY}` };
            const m = await h.request(base(), { path: '/llm/metrics', headers: auth });
            assert.equal(m.status, 200, m.body.slice(0, 300));
            assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
            assert.match(m.body, /^# TYPE switchyard_requests_total counter$/m);
            const d = await h.request(base(), { path: '/llm/dashboard', headers: auth });
            assert.equal(d.status, 200, d.body.slice(0, 300));
            assert.match(d.headers['content-type'], /^text\/html/);
            /* Its data comes from a relative URL: /llm/metrics here. */
            assert.match(d.body, /fetch\('metrics'/);
            assert.doesNotMatch(d.body, /fetch\('\//);
        });

        it('the Anthropic SDK (baseURL .../llm): Messages under the prefix, one reply and a stream', { skip: NO_ANTHROPIC }, async () => {
            const client = new anthropicPkg.Anthropic({
                baseURL: `${base()}/llm`, apiKey: 'test', maxRetries: 0, timeout: 15000,
            });
            const { data, response } = await client.messages.create({
                model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }],
            }).withResponse();
            assert.equal(data.type, 'message');
            assert.equal(data.content[0].text, 'Hello from a.');
            assert.equal(response.headers.get('x-switchyard-deployment'), 'a');
            const stream = client.messages.stream({
                model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }],
            });
            let pieces = 0;
            stream.on('text', () => { pieces++; });
            const msg = await stream.finalMessage();
            assert.equal(msg.content[0].text, 'Hello from a.');
            assert.ok(pieces > 1, `text arrived in ${pieces} piece(s)`);
            /* A path the gateway does not serve under the prefix: its own
             * JSON 404. */
            const r = await h.request(base(), { path: '/llm/v1/messages/batches', method: 'POST', body: {} });
            assert.equal(r.status, 404, r.body);
            assert.match(r.body, /unknown path/);
            assert.equal(JSON.parse(r.body).type, 'error', 'Anthropic\'s error shape under /v1/messages');
        });

        it('the site is still served: static file and the other location', async () => {
            const idx = await h.request(base(), { path: '/' });
            assert.equal(idx.status, 200);
            assert.match(idx.body, /the static site/);
            const f = await h.request(base(), { path: '/hello.txt' });
            assert.equal(f.status, 200);
            assert.equal(f.body, 'a static file\n');
            const o = await h.request(base(), { path: '/other/page.txt' });
            assert.equal(o.status, 200);
            assert.equal(o.body, 'the other location\n');
            /* Not under the mount: the server's own 404, not the gateway's. */
            const n = await h.request(base(), { path: '/llmx/v1/models' });
            assert.equal(n.status, 404);
            assert.doesNotMatch(n.body, /not_found/);
        });
    });
}

/* ------------------------------------------------------------------ */
/* server.base_path, for servers that do not pass SCRIPT_NAME/PATH_INFO */

describe('server.base_path (CGI mode)', () => {
    let dir;
    let file;
    before(() => {
        dir = h.makeTmpDir('mount-cgi');
        file = path.join(dir, 'base.json');
        fs.writeFileSync(file, JSON.stringify(h.gatewayConfig(1, {
            deployments: { a: {} }, groups: { 'gpt-4o-mini': ['a'] },
            server: { base_path: '/llm' },
        })));
    });
    after(() => h.removeTmpDir(dir));

    function cgi(uri, extra = {}) {
        const r = h.runSwitchyard([], {
            env: {
                GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', REQUEST_URI: uri,
                SERVER_PROTOCOL: 'HTTP/1.1', SWITCHYARD_CONFIG: file,
                SCRIPT_NAME: undefined, PATH_INFO: undefined, ...extra,
            },
        });
        assert.equal(r.status, 0, r.stderr);
        const sep = r.stdout.indexOf('\r\n\r\n');
        const status = Number((/^Status: (\d+)/m.exec(r.stdout.slice(0, sep)) || [0, 200])[1]);
        return { status, json: JSON.parse(r.stdout.slice(sep + 4)) };
    }

    it('cuts the base path off REQUEST_URI', () => {
        const r = cgi('/llm/v1/models?x=1', { SCRIPT_NAME: '/llm/v1/models' });
        assert.equal(r.status, 200);
        assert.equal(r.json.data[0].id, 'gpt-4o-mini');
        assert.equal(cgi('/llm/healthz').json.status, 'ok');
    });

    it('answers a path outside it, or a trick, with its JSON 404', () => {
        for (const uri of ['/v1/models', '/llmx/v1/models', '/llm/x/../v1/models', '/llm/v1/%2e%2e/healthz']) {
            const r = cgi(uri);
            assert.equal(r.status, 404, uri);
            assert.equal(r.json.error.code, 'not_found', uri);
        }
    });

    it('check-config refuses an unusable base path', () => {
        const bad = path.join(dir, 'bad.json');
        fs.writeFileSync(bad, JSON.stringify(h.gatewayConfig(1, {
            deployments: { a: {} }, groups: { g: ['a'] }, server: { base_path: 'llm/../x' },
        })));
        const r = h.runSwitchyard(['check-config', bad]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr + r.stdout, /server\.base_path/);
    });
});
