/*
 * cdp.js - drive headless Chromium (Debian's 'chromium') from node with
 * the Chrome DevTools Protocol, no npm package: the protocol runs over
 * the pipe Chromium opens with --remote-debugging-pipe (it reads commands
 * on its fd 3 and writes answers and events on its fd 4, each a JSON
 * message ended by a NUL byte). A pipe needs no port and no WebSocket
 * client (node 20 has none built in), and no other local process can
 * attach to the browser the way it could to a debugging port.
 *
 *   const b = await Browser.launch({ dir });   // dir: a temporary directory
 *   const p = await b.newPage();
 *   await p.navigate(url); await p.evaluate('document.title');
 *   await p.screenshot(file); await b.close();
 *
 * The browser runs under coreutils 'timeout' in its own process group
 * with a temporary --user-data-dir; close() ends it (and the group is
 * killed on process exit whatever happens).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/* The browser binary: Debian's real one, not its shell wrapper (which
 * reads /etc/chromium.d and adds flags of its own), or 'chromium' in PATH. */
function chromiumBinary() {
    for (const f of [process.env.SY_CHROMIUM, '/usr/lib/chromium/chromium',
        '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
        if (!f) continue;
        try { fs.accessSync(f, fs.constants.X_OK); return f; } catch (e) { /* next */ }
    }
    return null;
}

const live = new Set();
process.on('exit', () => {
    for (const pid of live) {
        try { process.kill(-pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
});

class Browser {
    constructor(child, log) {
        this.child = child;
        this.log = log;
        this.nextId = 1;
        this.pending = new Map();   /* id -> {resolve, reject, method} */
        this.listeners = [];        /* {method, sessionId, fn} */
        this.buf = Buffer.alloc(0);
        this.closed = false;
        this.out = child.stdio[3];
        child.stdio[4].on('data', (d) => this.onData(d));
        child.on('exit', () => {
            this.closed = true;
            live.delete(child.pid);
            for (const p of this.pending.values()) {
                p.reject(new Error(`chromium exited during ${p.method}`));
            }
            this.pending.clear();
        });
    }

    /*
     * Start Chromium headless in 'dir' (its profile and log go there).
     * --no-sandbox: Chromium refuses to start as root with its sandbox
     * (the tests run as root in CI containers, where the user namespaces
     * the sandbox needs are usually off too); the page it loads is our own
     * dashboard from a 127.0.0.1 test server, nothing from the network.
     */
    static async launch({ dir, lifetime = 240, width = 1400, height = 1000 } = {}) {
        const bin = chromiumBinary();
        if (!bin) throw new Error('chromium is not installed');
        const profile = path.join(dir, 'chromium-profile');
        fs.mkdirSync(profile, { recursive: true });
        const log = path.join(dir, 'chromium.log');
        const fd = fs.openSync(log, 'a');
        const args = [
            '-k', '3', String(lifetime), bin,
            '--headless=new', '--no-sandbox', '--disable-gpu',
            '--disable-dev-shm-usage', '--remote-debugging-pipe',
            `--user-data-dir=${profile}`, `--window-size=${width},${height}`,
            '--no-first-run', '--no-default-browser-check', '--disable-extensions',
            '--disable-background-networking', '--disable-sync',
            '--disable-component-update', '--disable-default-apps',
            '--metrics-recording-only', '--mute-audio', '--password-store=basic',
            '--use-mock-keychain', 'about:blank',
        ];
        const child = spawn('timeout', args, {
            stdio: ['ignore', fd, fd, 'pipe', 'pipe'],
            detached: true,
        });
        fs.closeSync(fd);
        live.add(child.pid);
        const b = new Browser(child, log);
        await b.send('Browser.getVersion', {}, null, 20000);
        return b;
    }

    onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        let i;
        while ((i = this.buf.indexOf(0)) >= 0) {
            const text = this.buf.subarray(0, i).toString('utf8');
            this.buf = this.buf.subarray(i + 1);
            let m;
            try { m = JSON.parse(text); } catch (e) { continue; }
            if (m.id !== undefined && this.pending.has(m.id)) {
                const p = this.pending.get(m.id);
                this.pending.delete(m.id);
                if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
                else p.resolve(m.result);
            } else if (m.method) {
                for (const l of this.listeners) {
                    if (l.method === m.method && l.sessionId === (m.sessionId || null)) {
                        l.fn(m.params);
                    }
                }
            }
        }
    }

    send(method, params = {}, sessionId = null, timeoutMs = 30000) {
        if (this.closed) return Promise.reject(new Error('chromium is not running'));
        const id = this.nextId++;
        const msg = { id, method, params };
        if (sessionId) msg.sessionId = sessionId;
        return new Promise((resolve, reject) => {
            const t = setTimeout(() => {
                this.pending.delete(id);
                reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(id, {
                method,
                resolve: (v) => { clearTimeout(t); resolve(v); },
                reject: (e) => { clearTimeout(t); reject(e); },
            });
            this.out.write(`${JSON.stringify(msg)}\0`);
        });
    }

    on(method, sessionId, fn) { this.listeners.push({ method, sessionId, fn }); }

    async newPage() {
        const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
        const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
        const page = new Page(this, sessionId);
        await page.init();
        return page;
    }

    /* Ask the browser to quit; kill its process group if it does not. */
    async close() {
        if (!this.closed) {
            try { await this.send('Browser.close', {}, null, 3000); } catch (e) { /* killed below */ }
        }
        const pid = this.child.pid;
        const gone = this.closed ? Promise.resolve()
            : new Promise((r) => this.child.once('exit', r));
        const t = setTimeout(() => {
            try { process.kill(-pid, 'SIGKILL'); } catch (e) { /* gone */ }
        }, 3000);
        await gone;
        clearTimeout(t);
        try { process.kill(-pid, 'SIGKILL'); } catch (e) { /* gone */ }
        live.delete(pid);
    }
}

class Page {
    constructor(browser, sessionId) {
        this.b = browser;
        this.sessionId = sessionId;
        this.console = [];     /* console messages, exceptions, log entries */
        this.loaded = 0;
    }

    send(method, params) { return this.b.send(method, params, this.sessionId); }

    async init() {
        this.b.on('Page.loadEventFired', this.sessionId, () => { this.loaded++; });
        this.b.on('Runtime.consoleAPICalled', this.sessionId, (p) => {
            this.console.push(`console.${p.type}: ${p.args.map((a) => a.value).join(' ')}`);
        });
        this.b.on('Runtime.exceptionThrown', this.sessionId, (p) => {
            const d = p.exceptionDetails;
            this.console.push(`exception: ${d.exception ? d.exception.description : d.text}`);
        });
        /* CSP violations and failed loads arrive as log entries. */
        this.b.on('Log.entryAdded', this.sessionId, (p) => {
            this.console.push(`log.${p.entry.level} [${p.entry.source}]: ${p.entry.text}`);
        });
        await this.send('Page.enable');
        await this.send('Runtime.enable');
        await this.send('Log.enable');
    }

    /* Load 'url' and wait for its load event. */
    async navigate(url, timeoutMs = 15000) {
        const before = this.loaded;
        const r = await this.send('Page.navigate', { url });
        if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
        const until = Date.now() + timeoutMs;
        while (this.loaded === before) {
            if (Date.now() > until) throw new Error(`navigate ${url}: no load event`);
            await new Promise((res) => setTimeout(res, 50));
        }
    }

    /* The value of a JavaScript expression in the page (promises awaited). */
    async evaluate(expression) {
        const r = await this.send('Runtime.evaluate', {
            expression, returnByValue: true, awaitPromise: true,
        });
        if (r.exceptionDetails) {
            const d = r.exceptionDetails;
            throw new Error(`evaluate: ${d.exception ? d.exception.description : d.text}`);
        }
        return r.result.value;
    }

    /* Evaluate 'expression' until it is truthy; its value. On a time-out
     * the error carries the value of 'detail' (an expression), if given. */
    async waitFor(what, expression, timeoutMs = 20000, detail = null) {
        const until = Date.now() + timeoutMs;
        let v;
        for (;;) {
            v = await this.evaluate(expression);
            if (v) return v;
            if (Date.now() > until) {
                const seen = detail ? `: ${JSON.stringify(await this.evaluate(detail))}` : '';
                throw new Error(`timed out waiting for ${what}${seen}`);
            }
            await new Promise((res) => setTimeout(res, 250));
        }
    }

    /* A PNG of the whole page into 'file'. */
    async screenshot(file) {
        const r = await this.send('Page.captureScreenshot', {
            format: 'png', captureBeyondViewport: true,
        });
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
        return file;
    }
}

module.exports = { Browser, chromiumBinary };
