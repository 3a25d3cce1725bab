/*
 * hardening.test.js - the small hardening items of issue 10, end to end:
 * a secret pasted into a path never reaches the gateway's logs (also on
 * 401 and 404), JSON endpoints refuse what a cross-site form can send
 * (415) behind both web servers, a CGI body that stops arriving gets a
 * 408, '--listen PORT' binds 127.0.0.1 only,
 * the serving processes cannot dump core (provider keys stay out of core
 * files), check-config bounds server.body_timeout_ms, and the pid file and the usage log are never opened through a
 * symlink planted at their path.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const CANARY = 'sk-canary-5c0e1f7a9b3d2c4e6f80';
const KEY = 'sk-hardening-caller-0123456789';
const ADMIN = 'sk-hardening-admin-0123456789';

let stack = null;
let procs = [];
let dirs = [];
afterEach(async () => {
    for (const p of procs) await h.stopProc(p);
    procs = [];
    if (stack) await stack.stop();
    stack = null;
    for (const d of dirs) h.removeTmpDir(d);
    dirs = [];
});

/* Every file under 'dir' (recursively) holding 'needle'. */
function filesWith(dir, needle) {
    const hits = [];
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, ent.name);
        if (ent.isDirectory()) hits.push(...filesWith(p, needle));
        else if (ent.isFile() && fs.readFileSync(p, 'latin1').includes(needle)) hits.push(p);
    }
    return hits;
}

describe('secrets in paths', () => {
    it('a canary pasted into paths is in no log of the gateway, whatever the status',
        { timeout: 60000 }, async () => {
            stack = new h.Stack({
                tag: 'pathlog', servers: h.SERVERS,
                env: { SY_IT_HARD_KEY: KEY, SY_IT_HARD_ADMIN: ADMIN },
                config: (port) => {
                    const cfg = h.gatewayConfig(port, {
                        deployments: { a: {} }, groups: { 'm-basic': ['a'] },
                        server: { admin_key_env: 'SY_IT_HARD_ADMIN', log_level: 'debug' },
                    });
                    cfg.keys = { k: { key_env: 'SY_IT_HARD_KEY' } };
                    return cfg;
                },
            });
            await stack.start();
            const paths = [`/v1/models/${CANARY}`, `/admin/keys/${CANARY}`, `/${CANARY}`,
                `/v1/chat/completions/${CANARY}`, `/v1/${CANARY}/models`];
            const auths = [null, 'Bearer sk-wrong', `Bearer ${KEY}`, `Bearer ${ADMIN}`];
            let n = 0;
            for (const server of Object.keys(stack.web)) {
                for (const p of paths) {
                    for (const a of auths) {
                        const headers = a ? { Authorization: a } : {};
                        for (const method of ['GET', 'POST', 'DELETE']) {
                            const r = await h.request(stack.base(server), {
                                method, path: p, headers,
                                body: method === 'POST' ? { model: 'm-basic' } : undefined,
                            });
                            assert.ok(r.status >= 400, `${method} ${p}: ${r.status}`);
                            n++;
                        }
                    }
                }
            }
            assert.ok(n >= 60);
            /* The requests were logged, in their redacted form. */
            await h.sleep(200);
            const log = fs.readFileSync(path.join(stack.dir, 'switchyard.log'), 'utf8');
            assert.match(log, /GET \/v1\/models\/\(30 bytes\) 404/);
            assert.match(log, /\/admin\/keys\/\(30 bytes\) 401/);
            assert.match(log, /\(unknown path, 31 bytes\) 404/);
            /* The gateway's log and the web servers' error logs: no canary.
             * (Access logs record the request line by design: see
             * docs/deployment.md, "Slow clients and secrets in URLs".) */
            const ours = [path.join(stack.dir, 'switchyard.log')];
            for (const f of fs.readdirSync(path.join(stack.dir, 'run'))) {
                if (/error/.test(f)) ours.push(path.join(stack.dir, 'run', f));
            }
            for (const f of ours) {
                assert.ok(!fs.readFileSync(f, 'latin1').includes(CANARY), `${f} holds the canary`);
                assert.ok(!fs.readFileSync(f, 'latin1').includes('canary'), `${f} holds part of it`);
            }
        });
});

describe('Content-Type', () => {
    it('JSON endpoints refuse form posts with 415, behind both web servers', { timeout: 60000 }, async () => {
        stack = new h.Stack({
            tag: 'ctype', servers: h.SERVERS,
            config: (port) => h.gatewayConfig(port, { deployments: { a: {} }, groups: { 'm-basic': ['a'] } }),
        });
        await stack.start();
        const body = JSON.stringify(h.chatBody({ model: 'm-basic' }));
        for (const server of Object.keys(stack.web)) {
            const base = stack.base(server);
            for (const ct of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded',
                'multipart/form-data; boundary=----x']) {
                const r = await h.request(base, {
                    method: 'POST', path: '/v1/chat/completions', body, headers: { 'Content-Type': ct },
                });
                assert.equal(r.status, 415, `${server} ${ct}: ${r.body}`);
                assert.equal(r.json.error.code, 'unsupported_media_type');
                assert.equal(r.json.error.type, 'invalid_request_error');
            }
            const before = await stack.mock.count('a');
            assert.equal(before, 0, 'a refused post reached the provider');
            const ok = await h.request(base, {
                method: 'POST', path: '/v1/chat/completions', body,
                headers: { 'Content-Type': 'Application/JSON; charset=utf-8' },
            });
            assert.equal(ok.status, 200, `${server}: ${ok.body}`);
            await stack.mock.reset();
        }
    });
});

/* Start 'switchyard serve' directly (no web server); 'wrap' goes before
 * it on the command line (e.g. setpriv). Resolves with {proc, pid}. */
async function serve(dir, args, { wrap = [], env } = {}) {
    const pidFile = path.join(dir, 'sy.pid');
    const proc = h.spawnProc('switchyard', [...wrap, h.SWITCHYARD, 'serve', '--pid-file', pidFile,
        '--processes', '1', '--threads', '1', ...args], { log: path.join(dir, 'switchyard.log'), env });
    procs.push(proc);
    await h.waitFor('switchyard pid file', () => fs.existsSync(pidFile) &&
        /^\d+\s*$/.test(fs.readFileSync(pidFile, 'utf8')), 10000, proc);
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    await h.waitFor('a worker', () => h.workerPids(pid).length >= 1, 10000, proc);
    return { proc, pid };
}

/* The local addresses listening on TCP port 'port' (from /proc/net/tcp). */
function listeners(port) {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const out = [];
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try { text = fs.readFileSync(f, 'utf8'); } catch (e) { continue; }
        for (const line of text.split('\n').slice(1)) {
            const col = line.trim().split(/\s+/);
            if (col.length > 3 && col[3] === '0A' && col[1].endsWith(`:${hex}`)) out.push(col[1]);
        }
    }
    return out;
}

function configFile(dir, server) {
    const f = path.join(dir, 'switchyard.json');
    fs.writeFileSync(f, JSON.stringify(h.gatewayConfig(1, {
        deployments: { a: {} }, groups: { 'm-basic': ['a'] }, server,
    })));
    fs.chmodSync(f, 0o644);
    return f;
}

describe('server.body_timeout_ms', () => {
    it('check-config takes it within 100..3600000 ms and names it otherwise', () => {
        const dir = h.makeTmpDir('bodytmo');
        dirs.push(dir);
        assert.equal(h.runSwitchyard(['check-config', configFile(dir, { body_timeout_ms: 5000 })]).status, 0);
        for (const bad of [5, 3600001, 'slow']) {
            const r = h.runSwitchyard(['check-config', configFile(dir, { body_timeout_ms: bad })]);
            assert.equal(r.status, 1, `${bad}: ${r.stdout}${r.stderr}`);
            assert.match(r.stdout + r.stderr, /server\.body_timeout_ms/);
        }
    });
});

describe('CGI mode', () => {
    it('a body that stops arriving on stdin gets 408 at server.body_timeout_ms', { timeout: 20000 }, async () => {
        const dir = h.makeTmpDir('cgitmo');
        dirs.push(dir);
        const { spawn } = require('node:child_process');
        const t0 = performance.now();
        const child = spawn(h.TOOLS.timeout, ['-k', '2', '15', h.SWITCHYARD], {
            env: {
                ...process.env, GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'POST',
                REQUEST_URI: '/v1/chat/completions', CONTENT_TYPE: 'application/json',
                CONTENT_LENGTH: '1000', SWITCHYARD_CONFIG: configFile(dir, { body_timeout_ms: 800 }),
            },
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stdin.on('error', () => { /* it may exit first */ });
        child.stdin.write('{"model":');
        const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
        const ms = performance.now() - t0;
        child.stdin.destroy();
        assert.equal(code, 0);
        assert.match(out, /^Status: 408 /);
        assert.match(out, /"code":"request_timeout"/);
        assert.ok(ms >= 700 && ms < 5000, `answered after ${ms.toFixed(0)} ms`);
    });
});

describe('serve', () => {
    it('--listen PORT binds 127.0.0.1 only', { timeout: 30000 }, async () => {
        const dir = h.makeTmpDir('listen');
        dirs.push(dir);
        const port = await h.freePort();
        await serve(dir, ['--config', configFile(dir), '--listen', String(port)]);
        assert.deepEqual(listeners(port), [`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`]);
    });

    it('cannot dump core: its /proc files belong to root, not to the user it runs as',
        { timeout: 30000 }, async () => {
            const dir = h.makeTmpDir('dump');
            dirs.push(dir);
            fs.chmodSync(dir, 0o777);
            const root = process.getuid() === 0;
            /* As root, run it as nobody, so that root ownership means
             * "not dumpable" and nothing else. */
            const wrap = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
            const uid = root ? 65534 : process.getuid();
            const port = await h.freePort();
            const { pid } = await serve(dir, ['--config', configFile(dir), '--listen', `127.0.0.1:${port}`],
                { wrap });
            for (const p of [pid, ...h.workerPids(pid)]) {
                const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
                assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s`, 'm'), `pid ${p} runs as ${uid}`);
                assert.equal(fs.statSync(`/proc/${p}/status`).uid, 0,
                    `pid ${p}: dumpable (its /proc files belong to its user)`);
            }
        });

    it('refuses a pid file that is a symlink, and never writes through it', { timeout: 30000 }, () => {
        const dir = h.makeTmpDir('pidlink');
        dirs.push(dir);
        const victim = path.join(dir, 'victim');
        fs.writeFileSync(victim, 'precious\n');
        const link = path.join(dir, 'sy.pid');
        fs.symlinkSync(victim, link);
        const sock = path.join(dir, 's.sock');
        const r = h.runSwitchyard(['serve', '--config', configFile(dir), '--listen', `unix:${sock}`,
            '--pid-file', link, '--processes', '1', '--threads', '1'], { timeout: 10000 });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /pid file .*sy\.pid: it is a symbolic link; refusing to follow it/);
        assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
        assert.ok(!fs.existsSync(sock), 'the socket was left behind');
    });

    it('refuses a usage log that is a symlink, and never writes through it', { timeout: 30000 }, async () => {
        const dir = h.makeTmpDir('uselink');
        dirs.push(dir);
        const victim = path.join(dir, 'victim');
        fs.writeFileSync(victim, 'precious\n');
        const link = path.join(dir, 'usage.jsonl');
        fs.symlinkSync(victim, link);
        const port = await h.freePort();
        await serve(dir, ['--config', configFile(dir, { usage_log: link }), '--listen', `127.0.0.1:${port}`]);
        await h.waitFor('the usage log error', () => /usage log .*usage\.jsonl: is a symbolic link; refusing/
            .test(fs.readFileSync(path.join(dir, 'switchyard.log'), 'utf8')), 5000);
        assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    });
});
