/*
 * harness.js - start and stop the real pieces for the integration tests:
 * the mock provider (build/mock-llm), the switchyard worker pool with a
 * generated config, lighttpd and Apache httpd with conf/lighttpd.conf and
 * conf/apache.conf (or any config, nginx included: Stack.startWebAs),
 * all on free 127.0.0.1 ports inside one temporary
 * directory; plus an HTTP client that records when each SSE event
 * arrives, and a control client for the mock.
 *
 * Safety: every process runs under coreutils 'timeout' (a lifetime of
 * SY_TEST_LIFETIME seconds, default 300) in its own process group, is
 * killed by Stack.stop() (call it from an after() hook), and again on
 * process exit; a global watchdog (SY_TEST_FILE_TIMEOUT seconds, default
 * 240) kills everything and fails the file if it hangs.
 * SY_TEST_LEAVE=1 keeps the temporary directory (configs, logs);
 * SY_BUILD_DIR picks the build directory (default: build).
 *
 * Node 18 or later, no npm packages.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.resolve(ROOT, process.env.SY_BUILD_DIR || 'build');
const SWITCHYARD = path.join(BUILD, 'switchyard');
const MOCK = path.join(BUILD, 'mock-llm');
const LIGHTTPD_CONF = path.join(ROOT, 'conf', 'lighttpd.conf');
const APACHE_CONF = path.join(ROOT, 'conf', 'apache.conf');
const LIFETIME_S = Number(process.env.SY_TEST_LIFETIME || 300);
const FILE_TIMEOUT_S = Number(process.env.SY_TEST_FILE_TIMEOUT || 240);
const LEAVE = process.env.SY_TEST_LEAVE === '1';

/* ------------------------------------------------------------------ */
/* Process bookkeeping and the safety nets                             */

const live = new Set();     /* struct Proc, see spawnProc */
const tmpDirs = new Set();

function killAllSync() {
    for (const p of live) {
        try { process.kill(-p.child.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
    live.clear();
    if (!LEAVE) {
        for (const d of tmpDirs) {
            try { fs.rmSync(d, { recursive: true, force: true }); } catch (e) { /* */ }
        }
    }
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => { killAllSync(); process.exit(130); });
}
const watchdog = setTimeout(() => {
    process.stderr.write(`harness: global timeout of ${FILE_TIMEOUT_S}s ` +
                         'reached; killing every process\n');
    killAllSync();
    process.exit(1);
}, FILE_TIMEOUT_S * 1000);
watchdog.unref();

/* Find an executable in PATH or the sbin directories (where lighttpd and
 * apache2 live, often outside a normal user's PATH). */
function which(names) {
    const dirs = (process.env.PATH || '').split(':')
        .concat(['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin']);
    for (const name of names) {
        for (const d of dirs) {
            const f = path.join(d || '.', name);
            try {
                fs.accessSync(f, fs.constants.X_OK);
                return f;
            } catch (e) { /* next */ }
        }
    }
    return null;
}

const TOOLS = {
    timeout: which(['timeout']),
    lighttpd: which(['lighttpd']),
    apache: which(['apache2', 'httpd']),
    redis: which(['redis-server']),
    nginx: which(['nginx']),
};

/* Why 'server' cannot be tested here, or null when it can. */
function missing(server) {
    if (server === 'lighttpd' && !TOOLS.lighttpd) return 'lighttpd not installed';
    if (server === 'apache' && !TOOLS.apache) return 'apache2/httpd not installed';
    if (server === 'redis' && !TOOLS.redis) return 'redis-server not installed';
    if (server === 'nginx' && !TOOLS.nginx) return 'nginx not installed';
    if (server === 'fcgid') {
        if (!TOOLS.apache) return 'apache2/httpd not installed';
        const root = process.env.SWITCHYARD_APACHE_ROOT || '/usr/lib/apache2';
        if (!fs.existsSync(path.join(root, 'modules', 'mod_fcgid.so'))) {
            return 'mod_fcgid not installed (Debian: libapache2-mod-fcgid)';
        }
    }
    return null;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function makeTmpDir(tag) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sy-${tag}-`));
    /* Apache's children run as an unprivileged user and must reach the
     * switchyard socket in here. */
    fs.chmodSync(dir, 0o755);
    tmpDirs.add(dir);
    return dir;
}

function removeTmpDir(dir) {
    tmpDirs.delete(dir);
    if (LEAVE) {
        process.stderr.write(`harness: SY_TEST_LEAVE=1: kept ${dir}\n`);
        return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

/*
 * Start 'argv' under 'timeout LIFETIME' in a new process group, output to
 * 'log'. Returns a Proc: {name, child, log, exited (promise of
 * {code, signal}), exitInfo (null while running)}.
 */
function spawnProc(name, argv, { env, log, cwd, lifetime } = {}) {
    if (!TOOLS.timeout) throw new Error('coreutils timeout is missing');
    const fd = fs.openSync(log, 'a');
    const life = String(lifetime || LIFETIME_S);
    const child = spawn(TOOLS.timeout, ['-k', '3', life, ...argv], {
        cwd: cwd || ROOT,
        env: { ...process.env, ...(env || {}) },
        stdio: ['ignore', fd, fd],
        detached: true,          /* own process group: kill(-pid) */
    });
    fs.closeSync(fd);
    const p = { name, child, log, exitInfo: null };
    p.exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
            p.exitInfo = { code, signal };
            live.delete(p);
            resolve(p.exitInfo);
        });
        child.on('error', (err) => {
            p.exitInfo = { code: -1, signal: null, error: err };
            live.delete(p);
            resolve(p.exitInfo);
        });
    });
    live.add(p);
    return p;
}

/* Stop a Proc: SIGTERM to its group, SIGKILL after 'graceMs'. */
async function stopProc(p, graceMs = 3000) {
    if (!p || p.exitInfo) return;
    try { process.kill(-p.child.pid, 'SIGTERM'); } catch (e) { /* gone */ }
    const t = setTimeout(() => {
        try { process.kill(-p.child.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }, graceMs);
    await p.exited;
    clearTimeout(t);
    /* Stragglers in the group (a worker that ignored the parent). */
    try { process.kill(-p.child.pid, 'SIGKILL'); } catch (e) { /* gone */ }
}

function tail(file, lines = 40) {
    try {
        const t = fs.readFileSync(file, 'utf8').split('\n');
        return t.slice(-lines).join('\n');
    } catch (e) {
        return `(no ${file})`;
    }
}

/* A port that was free a moment ago. */
function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.unref();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/* Poll 'fn' (async, truthy when ready) every 25 ms for 'ms'. */
async function waitFor(what, fn, ms = 10000, proc = null) {
    const end = Date.now() + ms;
    let last = null;
    for (;;) {
        if (proc && proc.exitInfo) {
            throw new Error(`${what}: ${proc.name} exited ` +
                            `(${JSON.stringify(proc.exitInfo)}); log:\n${tail(proc.log)}`);
        }
        try {
            if (await fn()) return;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) {
            throw new Error(`${what}: not ready after ${ms} ms` +
                            (last ? ` (${last.message})` : '') +
                            (proc ? `; log:\n${tail(proc.log)}` : ''));
        }
        await sleep(25);
    }
}

function canConnect(opts) {
    return new Promise((resolve) => {
        const s = net.connect(opts);
        s.on('connect', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
    });
}

/* ------------------------------------------------------------------ */
/* HTTP client                                                         */

/* Parse complete SSE records out of 'state.buf'; append to 'events'. */
function sseFeed(state, chunk, t) {
    state.buf += chunk;
    let i;
    while ((i = state.buf.indexOf('\n\n')) >= 0) {
        const rec = state.buf.slice(0, i);
        state.buf = state.buf.slice(i + 2);
        const data = rec.split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
        const comment = rec.split('\n').every((l) => l.startsWith(':'));
        if (comment) {
            state.comments.push({ t, text: rec });
            continue;
        }
        let json = null;
        if (data !== '[DONE]') {
            try { json = JSON.parse(data); } catch (e) { json = undefined; }
        }
        state.events.push({ t, data, json });
    }
}

/*
 * One HTTP request to 'base' (http://127.0.0.1:PORT). Never rejects for
 * HTTP errors or a cut connection: the result says what happened.
 * 'chunked' sends the body with Transfer-Encoding: chunked.
 * Result: {status, headers, body (string), json (parsed or undefined),
 * events [{t, data, json}] for text/event-stream, comments, tHead (ms
 * after sending until the head arrived), tEnd, complete (the response
 * ended normally), error (a transport error message or null)}. Times are
 * milliseconds since the request was sent.
 */
function request(base, { method = 'GET', path: p = '/', headers = {}, body,
                         timeout = 20000, onEvent, chunked = false } = {}) {
    return new Promise((resolve) => {
        const url = new URL(p, base);
        const t0 = performance.now();
        const payload = body === undefined ? undefined
            : (typeof body === 'string' || Buffer.isBuffer(body) ? body
                : JSON.stringify(body));
        const h = { ...headers };
        if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
            h['Content-Type'] = 'application/json';
        }
        /* chunked: no Content-Length, the body goes in two chunks. */
        if (payload !== undefined && !chunked) h['Content-Length'] = Buffer.byteLength(payload);
        const res = {
            status: 0, headers: {}, body: '', json: undefined, events: [],
            comments: [], tHead: null, tEnd: null, complete: false, error: null,
        };
        const sse = { buf: '', events: res.events, comments: res.comments };
        let settled = false;
        const finish = () => {
            if (settled) return;
            settled = true;
            res.tEnd = performance.now() - t0;
            if (res.body && /json/.test(res.headers['content-type'] || '')) {
                try { res.json = JSON.parse(res.body); } catch (e) { /* leave undefined */ }
            }
            resolve(res);
        };
        const req = http.request({
            hostname: url.hostname, port: url.port, path: url.pathname + url.search,
            method, headers: h, agent: false,
        }, (r) => {
            res.status = r.statusCode;
            res.headers = r.headers;
            res.tHead = performance.now() - t0;
            const isSse = /^text\/event-stream/.test(r.headers['content-type'] || '');
            r.setEncoding('utf8');
            r.on('data', (chunk) => {
                res.body += chunk;
                if (isSse) {
                    const n = res.events.length;
                    sseFeed(sse, chunk, performance.now() - t0);
                    if (onEvent) {
                        for (let k = n; k < res.events.length; k++) onEvent(res.events[k], req);
                    }
                }
            });
            r.on('end', () => { res.complete = true; finish(); });
            r.on('aborted', () => { res.error = res.error || 'aborted'; });
            r.on('error', (e) => { res.error = res.error || e.message; finish(); });
            r.on('close', finish);
        });
        req.setTimeout(timeout, () => {
            res.error = `timeout after ${timeout} ms`;
            req.destroy(new Error(res.error));
        });
        req.on('error', (e) => { res.error = res.error || e.message; finish(); });
        if (payload !== undefined && chunked) {
            const buf = Buffer.from(payload);
            const half = Math.floor(buf.length / 2);
            req.write(buf.subarray(0, half));
            setTimeout(() => { req.write(buf.subarray(half)); req.end(); }, 20);
            return;
        }
        if (payload !== undefined) req.write(payload);
        req.end();
    });
}

/* A chat completion request body. 'directive' becomes the mock's
 * per-request fault spec: [[mock {...}]] in the user message. */
function chatBody({ model = 'm-basic', text = 'Say hello.', directive, stream,
                    includeUsage, extra } = {}) {
    const content = directive ? `${text} [[mock ${JSON.stringify(directive)}]]` : text;
    const b = { model, messages: [{ role: 'user', content }] };
    if (stream !== undefined) b.stream = stream;
    if (includeUsage !== undefined) b.stream_options = { include_usage: includeUsage };
    return Object.assign(b, extra || {});
}

function chat(base, opts = {}) {
    return request(base, {
        method: 'POST', path: '/v1/chat/completions', body: chatBody(opts),
        headers: opts.headers, timeout: opts.timeout, onEvent: opts.onEvent,
    });
}

/* The text of a non-streaming answer, or of a stream's content deltas. */
function contentOf(res) {
    if (res.events.length) {
        return res.events
            .filter((e) => e.json && e.json.choices && e.json.choices[0] &&
                           e.json.choices[0].delta && typeof e.json.choices[0].delta.content === 'string')
            .map((e) => e.json.choices[0].delta.content).join('');
    }
    return res.json && res.json.choices && res.json.choices[0].message.content;
}

/* ------------------------------------------------------------------ */
/* The mock provider                                                   */

class Mock {
    constructor(dir) {
        this.dir = dir;
        this.proc = null;
        this.port = 0;
    }

    async start() {
        const portFile = path.join(this.dir, 'mock.port');
        this.proc = spawnProc('mock-llm', [MOCK, '--port', '0', '--port-file', portFile,
            '--max-lifetime', String(LIFETIME_S), '--threads', '4', '--quiet'],
            { log: path.join(this.dir, 'mock.log') });
        await waitFor('mock-llm port file', () => {
            const t = fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim();
            if (t && /^\d+$/.test(t)) this.port = Number(t);
            return this.port > 0;
        }, 10000, this.proc);
        this.base = `http://127.0.0.1:${this.port}`;
    }

    async stop() { await stopProc(this.proc); }

    async ctl(method, p, body) {
        const r = await request(this.base, { method, path: p, body });
        if (r.status !== 200) {
            throw new Error(`mock control ${method} ${p}: ${r.status} ${r.body}`);
        }
        return r.json;
    }

    /* Set the fault spec of deployment 'dep' (see tests/fakes). */
    fault(dep, spec) { return this.ctl('PUT', `/_mock/faults/${dep}`, spec); }
    clearFaults() { return this.ctl('DELETE', '/_mock/faults'); }
    resetStats() { return this.ctl('PUT', '/_mock/reset-stats', {}); }
    async stats() { return (await this.ctl('GET', '/_mock/stats')).deployments; }
    /* Requests the deployment received since the last reset (0 if none). */
    async count(dep) {
        const s = await this.stats();
        return s[dep] ? s[dep].requests : 0;
    }
    requests(dep) { return this.ctl('GET', `/_mock/requests/${dep}`); }
    /* The usage the mock reported to its callers, and its call log (see
     * tests/fakes/README.md, "The tally"); resetTally() forgets it. */
    tally() { return this.ctl('GET', '/_mock/tally'); }
    resetTally() { return this.ctl('DELETE', '/_mock/tally'); }
    async reset() {
        await this.clearFaults();
        await this.resetStats();
    }
}

/* ------------------------------------------------------------------ */
/* Gateway configuration                                               */

const DEFAULT_TIMEOUTS = { connect_ms: 1000, first_byte_ms: 3000, idle_ms: 3000, total_ms: 20000 };

/* The mock's base URL path per provider type (see tests/fakes/README.md). */
const BASE_PATH = { openai: 'v1', anthropic: 'v1', gemini: 'v1beta' };

/*
 * A switchyard config where every deployment is one mock deployment of
 * the same name: deployments is {name: {timeouts, max_response_bytes,
 * port, type, model, api_key_env, provider}} ('port' overrides the
 * mock's, e.g. a closed port; 'type' is the provider type, 'openai' by
 * default, also 'anthropic' or 'gemini', which the mock speaks too;
 * 'model' the deployment's model, default 'mock-model'; 'api_key_env'
 * names the key variables instead of "auth": "none"; 'provider' holds
 * extra provider keys; 'capabilities' is copied as the deployment's
 * "capabilities" object), groups is {model: [deployment, ...]} or
 * {model: {deployments: [...], contract, strategy, ...}} (an object is
 * copied as the group as it is), server overrides server keys.
 */
function gatewayConfig(mockPort, { deployments, groups, server, state } = {}) {
    const cfg = {
        server: {
            processes: 2, threads: 4, max_body_bytes: 1048576, max_json_depth: 32,
            drain_timeout_ms: 5000, log_level: 'info', ...(server || {}),
        },
        /* Breakers off unless a test asks for them: the failover tests fail
         * the same deployment again and again on purpose, and an open
         * breaker would (rightly) stop sending to it. */
        state: state || { breaker: { consecutive: 0, failure_pct: 0 } },
        providers: {}, deployments: {}, groups: {},
    };
    for (const [name, d] of Object.entries(deployments || {})) {
        const type = d.type || 'openai';
        const prov = {
            type,
            base_url: `http://127.0.0.1:${d.port || mockPort}/${name}/${BASE_PATH[type] || 'v1'}`,
            ...(d.provider || {}),
        };
        if (d.api_key_env) prov.api_key_env = d.api_key_env;
        else prov.auth = 'none';
        cfg.providers[`p-${name}`] = prov;
        const dep = {
            provider: `p-${name}`, model: d.model || 'mock-model',
            timeouts: { ...DEFAULT_TIMEOUTS, ...(d.timeouts || {}) },
        };
        if (d.max_response_bytes) dep.max_response_bytes = d.max_response_bytes;
        if (d.capabilities) dep.capabilities = { ...d.capabilities };
        cfg.deployments[name] = dep;
    }
    for (const [model, g] of Object.entries(groups || {})) {
        cfg.groups[model] = Array.isArray(g) ? { deployments: g } : { ...g };
    }
    return cfg;
}

/* ------------------------------------------------------------------ */
/* The stack: mock + switchyard + web servers                          */

function httpUser() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
        return { user: `#${process.getuid ? process.getuid() : 0}`,
                 group: `#${process.getgid ? process.getgid() : 0}` };
    }
    /* As root: Apache refuses to serve as root, so its children run as
     * www-data (or nobody) in group root, which may use the switchyard
     * socket (mode 0660, owner root:root). */
    let passwd = '';
    try { passwd = fs.readFileSync('/etc/passwd', 'utf8'); } catch (e) { /* */ }
    const user = /^www-data:/m.test(passwd) ? 'www-data'
        : /^daemon:/m.test(passwd) ? 'daemon' : 'nobody';
    return { user, group: '#0' };
}

class Stack {
    /*
     * opts: {tag, servers: ['lighttpd', 'apache'], config: (mockPort) =>
     * object (see gatewayConfig), processes, threads, env (extra
     * environment for switchyard), mock: bool (default true), backend:
     * async (stack) => void, started instead of switchyard}.
     */
    constructor(opts = {}) {
        this.opts = opts;
        this.tag = opts.tag || 'it';
        this.servers = (opts.servers || ['lighttpd']).filter((s) => !missing(s));
        this.skipped = (opts.servers || ['lighttpd']).filter((s) => missing(s));
        this.web = {};      /* name -> {proc, port, base} */
        this.mock = null;
        this.gw = null;
    }

    async start() {
        this.dir = makeTmpDir(this.tag);
        this.sock = path.join(this.dir, 'switchyard.sock');
        this.pidFile = path.join(this.dir, 'switchyard.pid');
        if (this.opts.mock !== false) {
            this.mock = new Mock(this.dir);
            await this.mock.start();
        }
        this.config = this.opts.config ? this.opts.config(this.mock ? this.mock.port : 1) : null;
        this.configFile = path.join(this.dir, 'switchyard.json');
        if (this.config) fs.writeFileSync(this.configFile, JSON.stringify(this.config, null, 2));
        /* opts.backend(stack) replaces the switchyard pool: it must make
         * stack.sock accept FastCGI connections. */
        if (this.opts.backend) await this.opts.backend(this);
        else await this.startGateway();
        for (const s of this.servers) await this.startWeb(s);
        return this;
    }

    /* Start (or restart) the switchyard pool. */
    async startGateway() {
        try { fs.unlinkSync(this.pidFile); } catch (e) { /* */ }
        const argv = [SWITCHYARD, 'serve', '--listen', `unix:${this.sock}`,
            '--pid-file', this.pidFile];
        if (this.config) argv.push('--config', this.configFile);
        if (this.opts.processes) argv.push('--processes', String(this.opts.processes));
        if (this.opts.threads) argv.push('--threads', String(this.opts.threads));
        this.gw = spawnProc('switchyard', argv, {
            log: path.join(this.dir, 'switchyard.log'),
            env: this.opts.env,
        });
        await waitFor('switchyard socket', async () =>
            fs.existsSync(this.pidFile) && canConnect({ path: this.sock }), 10000, this.gw);
        this.gwPid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
        /* Every worker process is up (their threads accept at once). */
        const want = this.opts.processes || (this.config && this.config.server.processes) || 1;
        await waitFor('switchyard workers', () => workerPids(this.gwPid).length >= want,
                      10000, this.gw);
    }

    async stopGateway() { await stopProc(this.gw, 8000); }

    envFor(port) {
        const u = httpUser();
        return {
            SWITCHYARD_HTTP_ADDR: '127.0.0.1',
            SWITCHYARD_HTTP_PORT: String(port),
            SWITCHYARD_SOCKET: this.sock,
            SWITCHYARD_RUN_DIR: path.join(this.dir, 'run'),
            SWITCHYARD_HTTP_USER: u.user,
            SWITCHYARD_HTTP_GROUP: u.group,
        };
    }

    async startWeb(server, { confFile } = {}) {
        fs.mkdirSync(path.join(this.dir, 'run'), { recursive: true, mode: 0o755 });
        fs.chmodSync(path.join(this.dir, 'run'), 0o755);
        let lastErr;
        for (let attempt = 0; attempt < 3; attempt++) {
            const port = await freePort();
            const env = this.envFor(port);
            const log = path.join(this.dir, `${server}.out`);
            const argv = server === 'lighttpd'
                ? [TOOLS.lighttpd, '-D', '-f', confFile || LIGHTTPD_CONF]
                : [TOOLS.apache, '-f', confFile || APACHE_CONF, '-DFOREGROUND'];
            const proc = spawnProc(server, argv, { env, log });
            const base = `http://127.0.0.1:${port}`;
            try {
                await waitFor(`${server} on port ${port}`, async () => {
                    if (!(await canConnect({ host: '127.0.0.1', port }))) return false;
                    const r = await request(base, { path: '/healthz', timeout: 2000 });
                    return r.status === 200;
                }, 15000, proc);
                this.web[server] = { proc, port, base };
                return this.web[server];
            } catch (e) {
                lastErr = e;
                await stopProc(proc);
                const errLog = path.join(this.dir, 'run', server === 'lighttpd'
                    ? 'lighttpd-error.log' : 'apache-error.log');
                lastErr = new Error(`${e.message}\n${server} error log:\n${tail(errLog)}`);
            }
        }
        throw lastErr;
    }

    /*
     * Start a web server under the name 'name' with any config file:
     * kind 'lighttpd', 'apache' or 'nginx'; 'env' is added to envFor(port)
     * (the port is chosen here); 'readyPath' must answer 200 before it
     * counts as up. nginx runs in the foreground with its prefix, error
     * log and temporary files in the stack's run directory; its config is
     * a template whose ${SWITCHYARD_*} placeholders are filled from the
     * same environment (fillTemplate), written next to copies of
     * 'nginxIncludes' (files from /etc/nginx, e.g. fastcgi_params).
     */
    async startWebAs(name, { kind, confFile, env = {}, readyPath = '/healthz',
                             nginxIncludes = [] } = {}) {
        const run = path.join(this.dir, 'run');
        fs.mkdirSync(run, { recursive: true, mode: 0o755 });
        fs.chmodSync(run, 0o755);
        let lastErr;
        for (let attempt = 0; attempt < 3; attempt++) {
            const port = await freePort();
            const fullEnv = { ...this.envFor(port), ...env };
            const log = path.join(this.dir, `${name}.out`);
            let argv;
            let errLog;
            if (kind === 'lighttpd') {
                argv = [TOOLS.lighttpd, '-D', '-f', confFile];
                errLog = path.join(run, 'lighttpd-error.log');
            } else if (kind === 'apache') {
                argv = [TOOLS.apache, '-f', confFile, '-DFOREGROUND'];
                errLog = path.join(run, 'apache-error.log');
            } else if (kind === 'nginx') {
                const ndir = path.join(this.dir, `nginx-${name}`);
                fs.mkdirSync(ndir, { recursive: true });
                for (const f of nginxIncludes) {
                    fs.copyFileSync(path.join('/etc/nginx', f), path.join(ndir, f));
                }
                const filled = path.join(ndir, 'nginx.conf');
                fs.writeFileSync(filled, fillTemplate(fs.readFileSync(confFile, 'utf8'), fullEnv));
                errLog = path.join(run, 'nginx-error.log');
                argv = [TOOLS.nginx, '-p', ndir, '-e', errLog, '-c', filled,
                    '-g', 'daemon off;'];
            } else {
                throw new Error(`startWebAs: unknown kind ${kind}`);
            }
            const proc = spawnProc(name, argv, { env: fullEnv, log });
            const base = `http://127.0.0.1:${port}`;
            try {
                await waitFor(`${name} on port ${port}`, async () => {
                    if (!(await canConnect({ host: '127.0.0.1', port }))) return false;
                    const r = await request(base, { path: readyPath, timeout: 2000 });
                    return r.status === 200;
                }, 15000, proc);
                this.web[name] = { proc, port, base, errLog };
                return this.web[name];
            } catch (e) {
                await stopProc(proc);
                lastErr = new Error(`${e.message}\n${name} error log:\n${tail(errLog)}`);
            }
        }
        throw lastErr;
    }

    base(server) { return this.web[server].base; }

    /* Pids of the switchyard worker processes (children of the parent). */
    workers() { return workerPids(this.gwPid); }

    logs() {
        const out = [];
        for (const f of ['switchyard.log', 'mock.log', 'run/lighttpd-error.log',
            'run/apache-error.log']) {
            const p = path.join(this.dir, f);
            if (fs.existsSync(p)) out.push(`--- ${f}\n${tail(p, 30)}`);
        }
        return out.join('\n');
    }

    async stop() {
        for (const w of Object.values(this.web)) await stopProc(w.proc);
        this.web = {};
        await stopProc(this.gw, 8000);
        if (this.mock) await this.mock.stop();
        if (process.env.SY_TEST_VERBOSE === '1' && this.dir) process.stderr.write(this.logs() + '\n');
        if (this.dir) removeTmpDir(this.dir);
    }
}

/* 'text' with every ${NAME} for a NAME in 'vars' replaced by its value
 * (what 'envsubst' does when given the names): other $variables, such
 * as nginx's own, stay as they are. */
function fillTemplate(text, vars) {
    return text.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (m, name) =>
        (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m));
}

/* Children of 'ppid', from /proc. */
function workerPids(ppid) {
    const out = [];
    for (const ent of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(ent)) continue;
        let stat;
        try { stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8'); } catch (e) { continue; }
        /* pid (comm) state ppid ...; comm may hold spaces or ')' */
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(rest[1]) === ppid && rest[0] !== 'Z') out.push(Number(ent));
    }
    return out.sort((a, b) => a - b);
}

function alive(pid) {
    try {
        process.kill(pid, 0);
    } catch (e) {
        return false;
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch (e) {
        return false;
    }
}

/* Run build/switchyard synchronously (check-config, CGI mode). */
function runSwitchyard(args, { env, input, timeout = 15000 } = {}) {
    /* An 'undefined' value removes the variable. */
    const e = { ...process.env, ...(env || {}) };
    for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
    const r = spawnSync(TOOLS.timeout, ['-k', '2', String(Math.ceil(timeout / 1000)), SWITCHYARD, ...args], {
        env: e, input, encoding: 'utf8', cwd: ROOT,
    });
    return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

/* ------------------------------------------------------------------ */
/* Redis: a throwaway redis-server and a minimal RESP client           */

/* Parse one RESP reply from 'buf' at 'pos'; returns {value, pos} or null
 * when more bytes are needed. Errors come back as {error: message}. */
function respParse(buf, pos) {
    const nl = buf.indexOf('\r\n', pos);
    if (nl < 0) return null;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString('utf8', pos + 1, nl);
    const next = nl + 2;
    if (type === '+') return { value: line, pos: next };
    if (type === '-') return { value: { error: line }, pos: next };
    if (type === ':') return { value: Number(line), pos: next };
    if (type === '$') {
        const n = Number(line);
        if (n < 0) return { value: null, pos: next };
        if (buf.length < next + n + 2) return null;
        return { value: buf.toString('utf8', next, next + n), pos: next + n + 2 };
    }
    if (type === '*') {
        const n = Number(line);
        if (n < 0) return { value: null, pos: next };
        const out = [];
        let p = next;
        for (let i = 0; i < n; i++) {
            const r = respParse(buf, p);
            if (!r) return null;
            out.push(r.value);
            p = r.pos;
        }
        return { value: out, pos: p };
    }
    throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
}

/* Send commands (arrays of strings) to Redis on 127.0.0.1:'port' in one
 * connection; resolves with the replies in order (an error reply is
 * {error}); rejects on a connection error or after 'timeout' ms. */
function redisPipeline(port, cmds, timeout = 3000) {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port });
        let buf = Buffer.alloc(0);
        const replies = [];
        let pos = 0;
        const t = setTimeout(() => {
            s.destroy();
            reject(new Error(`redis ${port}: no reply within ${timeout} ms`));
        }, timeout);
        s.on('connect', () => {
            const parts = [];
            for (const c of cmds) {
                parts.push(`*${c.length}\r\n`);
                for (const a of c) {
                    const v = String(a);
                    parts.push(`$${Buffer.byteLength(v)}\r\n${v}\r\n`);
                }
            }
            s.write(parts.join(''));
        });
        s.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            for (;;) {
                const r = respParse(buf, pos);
                if (!r) break;
                replies.push(r.value);
                pos = r.pos;
            }
            if (replies.length >= cmds.length) {
                clearTimeout(t);
                s.destroy();
                resolve(replies);
            }
        });
        s.on('error', (e) => { clearTimeout(t); reject(e); });
    });
}

async function redisCommand(port, ...args) {
    return (await redisPipeline(port, [args]))[0];
}

/*
 * A redis-server on 127.0.0.1, no persistence, in the harness' process
 * bookkeeping (bounded lifetime, killed on exit). start() picks a free
 * port the first time and reuses it on a restart, so clients configured
 * with its URL find it again.
 */
class Redis {
    constructor(dir) {
        this.dir = dir;
        this.port = 0;
        this.proc = null;
        this.starts = 0;
    }

    get url() { return `redis://127.0.0.1:${this.port}`; }

    async start() {
        if (!TOOLS.redis) throw new Error('redis-server is not installed');
        let lastErr;
        for (let attempt = 0; attempt < 3; attempt++) {
            const fixed = this.port > 0;
            if (!fixed) this.port = await freePort();
            this.starts++;
            this.proc = spawnProc('redis-server', [TOOLS.redis, '--bind', '127.0.0.1',
                '--port', String(this.port), '--save', '', '--appendonly', 'no',
                '--dir', this.dir, '--protected-mode', 'no'],
            { log: path.join(this.dir, `redis-${this.starts}.log`) });
            try {
                await waitFor(`redis-server on port ${this.port}`, async () =>
                    (await redisCommand(this.port, 'PING')) === 'PONG', 10000, this.proc);
                return this;
            } catch (e) {
                lastErr = e;
                await stopProc(this.proc);
                if (fixed) {
                    /* The port may still be in TIME_WAIT or taken: a
                     * restart must use the same port, so wait and retry. */
                    await sleep(300);
                } else {
                    this.port = 0;
                }
            }
        }
        throw lastErr;
    }

    /* SIGKILL: no shutdown, connections reset (what a crash looks like). */
    async kill() {
        if (!this.proc || this.proc.exitInfo) return;
        try { process.kill(-this.proc.child.pid, 'SIGKILL'); } catch (e) { /* gone */ }
        await this.proc.exited;
    }

    async stop() { await stopProc(this.proc); }

    cmd(...args) { return redisCommand(this.port, ...args); }
    pipeline(cmds) { return redisPipeline(this.port, cmds); }

    /* Every key matching 'pattern' (SCAN, so it is safe on a big db). */
    async keys(pattern) {
        const out = [];
        let cursor = '0';
        do {
            const r = await this.cmd('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = r[0];
            out.push(...r[1]);
        } while (cursor !== '0');
        return out;
    }
}

/* Servers to run a scenario behind, for describe() loops. */
const SERVERS = ['lighttpd', 'apache'];

/* ------------------------------------------------------------------ */
/* Money, as core/config/cost.c computes it                            */

/* A price in USD per million tokens as integer pico-dollars per token
 * (rounded to nearest), as BigInt. */
function priceRate(usdPerMtok) {
    return usdPerMtok > 0 ? BigInt(Math.round(usdPerMtok * 1e6)) : 0n;
}

/* pico-dollars times (1 + markup) in micro-dollars, rounded once: to
 * nearest with halves up, or up when 'roundUp' (cost.c to_micro). */
function picoToMicro(pico, markupPct, roundUp) {
    const d = 10000n * 1000000n;
    const m = 10000n + BigInt(Math.round((markupPct || 0) * 100));
    const frac = ((pico % d) * m + (roundUp ? d - 1n : d / 2n)) / d;
    return Number((pico / d) * m + frac);
}

/* The cost in micro-dollars of 'usage' ({prompt_tokens,
 * completion_tokens, cached_tokens, cache_write_tokens,
 * cache_write_1h_tokens (the part written for one hour), reasoning_tokens})
 * at 'price' ({input_per_mtok, output_per_mtok, cached_input_per_mtok,
 * cache_write_per_mtok, cache_write_1h_per_mtok}) with the provider's
 * 'markupPct': sy_cost_micro_usd. */
function costMicroUsd(price, usage, markupPct = 0) {
    const rin = priceRate(price.input_per_mtok);
    const rcached = priceRate(price.cached_input_per_mtok) || rin;
    const rwrite = priceRate(price.cache_write_per_mtok) || rin;
    const rhour = priceRate(price.cache_write_1h_per_mtok) || rwrite;
    const prompt = BigInt(Math.max(usage.prompt_tokens || 0, 0));
    const cached = BigInt(Math.max(usage.cached_tokens || 0, 0));
    const uncached0 = prompt > cached ? prompt - cached : 0n;
    const written = BigInt(Math.max(usage.cache_write_tokens || 0, 0));
    const uncached = uncached0 > written ? uncached0 - written : 0n;
    const hour = BigInt(Math.max(usage.cache_write_1h_tokens || 0, 0));
    const minutes = written > hour ? written - hour : 0n;
    /* 1h writes above the writes: all billed at the higher write rate. */
    const hourRate = written >= hour || rhour >= rwrite ? rhour : rwrite;
    const completion = BigInt(Math.max(usage.completion_tokens || 0, usage.reasoning_tokens || 0, 0));
    const pico = uncached * rin + cached * rcached + minutes * rwrite + hour * hourRate +
        completion * priceRate(price.output_per_mtok);
    return picoToMicro(pico, markupPct, false);
}

/* The most a request may cost (a budget reservation): 'inTokens' at the
 * highest of the input, cached and both cache write prices, 'outTokens' at the output
 * price, the markup, rounded up: sy_cost_worst_case_micro_usd. The
 * gateway counts a request's input as its body bytes + 1 (capped by the
 * context window) and its output as max_tokens x n. */
function worstCaseMicroUsd(price, inTokens, outTokens, markupPct = 0) {
    const rin = priceRate(price.input_per_mtok);
    const rc = priceRate(price.cached_input_per_mtok);
    const rw = priceRate(price.cache_write_per_mtok);
    const rh = priceRate(price.cache_write_1h_per_mtok);
    let rmax = rc > rin ? rc : rin;
    if (rw > rmax) rmax = rw;
    if (rh > rmax) rmax = rh;
    const pico = BigInt(inTokens) * rmax +
        BigInt(outTokens) * priceRate(price.output_per_mtok);
    return picoToMicro(pico, markupPct, true);
}

/* The JSON lines of a usage log (server.usage_log), [] when absent. */
function readUsageLog(file) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch (e) { return []; }
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

module.exports = {
    ROOT, BUILD, SWITCHYARD, MOCK, LIGHTTPD_CONF, APACHE_CONF, TOOLS, SERVERS,
    Stack, Mock, gatewayConfig, request, chat, chatBody, contentOf, freePort,
    waitFor, sleep, spawnProc, stopProc, makeTmpDir, removeTmpDir, missing,
    workerPids, alive, runSwitchyard, tail, canConnect, fillTemplate, httpUser,
    Redis, redisCommand, redisPipeline, costMicroUsd, worstCaseMicroUsd, readUsageLog,
};
