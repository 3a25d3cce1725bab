/*
 * webserver.test.js - what conf/lighttpd.conf and conf/apache.conf hand to
 * the FastCGI backend (checked with a tiny FastCGI responder that echoes
 * its parameters: the Authorization header must get through, and the
 * request URI, method and body length), and the commented lighttpd
 * variant where lighttpd spawns switchyard itself (bin-path).
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./harness');

/* ------------------------------------------------------------------ */
/* A FastCGI responder that answers every request with its parameters   */

const FCGI = { BEGIN: 1, END: 3, PARAMS: 4, STDIN: 5, STDOUT: 6 };

function record(type, id, content) {
    const head = Buffer.alloc(8);
    head[0] = 1;
    head[1] = type;
    head.writeUInt16BE(id, 2);
    head.writeUInt16BE(content.length, 4);
    return Buffer.concat([head, content]);
}

function decodePairs(buf) {
    const out = {};
    let i = 0;
    const len = () => {
        if (buf[i] & 0x80) {
            const n = buf.readUInt32BE(i) & 0x7fffffff;
            i += 4;
            return n;
        }
        return buf[i++];
    };
    while (i < buf.length) {
        const nl = len();
        const vl = len();
        out[buf.toString('latin1', i, i + nl)] = buf.toString('latin1', i + nl, i + nl + vl);
        i += nl + vl;
    }
    return out;
}

function echoServer(sockPath) {
    const server = net.createServer((conn) => {
        let buf = Buffer.alloc(0);
        let params = Buffer.alloc(0);
        let stdin = Buffer.alloc(0);
        conn.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 8) {
                const type = buf[1];
                const id = buf.readUInt16BE(2);
                const clen = buf.readUInt16BE(4);
                const plen = buf[6];
                if (buf.length < 8 + clen + plen) break;
                const content = buf.subarray(8, 8 + clen);
                buf = buf.subarray(8 + clen + plen);
                if (type === FCGI.PARAMS) params = Buffer.concat([params, content]);
                if (type === FCGI.STDIN && clen > 0) stdin = Buffer.concat([stdin, content]);
                if (type === FCGI.STDIN && clen === 0) {
                    const body = JSON.stringify({ params: decodePairs(params), stdin: stdin.toString() });
                    const out = Buffer.from('Status: 200 OK\r\nContent-Type: application/json\r\n\r\n' + body);
                    const end = Buffer.alloc(8);
                    conn.end(Buffer.concat([
                        record(FCGI.STDOUT, id, out), record(FCGI.STDOUT, id, Buffer.alloc(0)),
                        record(FCGI.END, id, end)]));
                }
            }
        });
        conn.on('error', () => {});
    });
    return new Promise((resolve, reject) => {
        server.on('error', reject);
        server.listen(sockPath, () => {
            fs.chmodSync(sockPath, 0o666);
            resolve(server);
        });
    });
}

/* ------------------------------------------------------------------ */

describe('parameters passed to the FastCGI backend', () => {
    let echo = null;
    const stack = new h.Stack({
        tag: 'fcgi', servers: h.SERVERS, mock: false,
        backend: async (s) => { echo = await echoServer(s.sock); },
    });
    before(() => stack.start(), { timeout: 60000 });
    after(async () => {
        await stack.stop();
        if (echo) echo.close();
    });

    for (const server of h.SERVERS) {
        it(`${server} passes Authorization, the URI, method and body`, { skip: h.missing(server) || false }, async () => {
            const body = JSON.stringify({ hello: 'world' });
            const r = await h.request(stack.base(server), {
                method: 'POST', path: '/v1/chat/completions?x=1', body,
                headers: { Authorization: 'Bearer sk-test-123', 'X-Request-Id': 'abc-42' },
            });
            assert.equal(r.status, 200, r.body);
            const p = r.json.params;
            assert.equal(p.HTTP_AUTHORIZATION, 'Bearer sk-test-123', JSON.stringify(p));
            assert.equal(p.REQUEST_METHOD, 'POST');
            assert.equal(p.REQUEST_URI, '/v1/chat/completions?x=1');
            assert.equal(p.CONTENT_LENGTH, String(body.length));
            assert.match(p.CONTENT_TYPE, /^application\/json/);
            assert.equal(p.HTTP_X_REQUEST_ID, 'abc-42');
            assert.equal(p.REMOTE_ADDR, '127.0.0.1');
            assert.equal(r.json.stdin, body);
        });
    }
});

/* conf/lighttpd.conf with its commented bin-path variant switched on. */
function binPathConf(configFile) {
    const lines = fs.readFileSync(h.LIGHTTPD_CONF, 'utf8').split('\n');
    const out = [];
    let state = 'copy';
    for (const line of lines) {
        if (state === 'copy' && line === 'fastcgi.server = (') { state = 'skip'; continue; }
        if (state === 'skip') { if (line === ')') state = 'copy'; continue; }
        if (line === '#fastcgi.server = (') state = 'variant';
        if (state === 'variant') {
            out.push(line.slice(1)
                .replace('/usr/local/bin/switchyard', h.SWITCHYARD)
                .replace('/etc/switchyard/switchyard.json', configFile));
            if (line === '#)') state = 'copy';
            continue;
        }
        out.push(line);
    }
    const text = out.join('\n');
    assert.ok(text.includes(`"bin-path" => "${h.SWITCHYARD}"`), 'bin-path variant not found in conf/lighttpd.conf');
    return text;
}

describe('lighttpd spawning switchyard (bin-path variant)', { skip: h.missing('lighttpd') || false }, () => {
    const stack = new h.Stack({
        tag: 'binpath', servers: [],
        config: (mockPort) => h.gatewayConfig(mockPort, {
            deployments: { a: {} }, groups: { 'm-basic': ['a'] },
            server: { processes: 2, threads: 2 },
        }),
        /* lighttpd starts switchyard: nothing to do here. */
        backend: async () => {},
    });
    before(async () => {
        await stack.start();
        const conf = path.join(stack.dir, 'lighttpd-binpath.conf');
        fs.writeFileSync(conf, binPathConf(stack.configFile));
        await stack.startWeb('lighttpd', { confFile: conf });
    }, { timeout: 60000 });
    after(() => stack.stop(), { timeout: 30000 });

    it('serves chat completions, streaming included', async () => {
        const base = stack.base('lighttpd');
        const r = await h.chat(base, { model: 'm-basic' });
        assert.equal(r.status, 200, r.body);
        assert.equal(h.contentOf(r), 'Hello from a.');
        const s = await h.chat(base, {
            model: 'm-basic', stream: true, directive: { chunks: 4, chunk_delay_ms: 300 },
        });
        assert.equal(s.events[s.events.length - 1].data, '[DONE]');
        const content = s.events.filter((e) => e.json && e.json.choices[0] && e.json.choices[0].delta.content);
        assert.ok(content[content.length - 1].t - content[0].t >= 600, 'events were buffered');
    });

    it('runs the configured pool and stops it with lighttpd', async () => {
        const timeoutPid = stack.web.lighttpd.proc.child.pid;
        const [lighttpdPid] = h.workerPids(timeoutPid);
        assert.ok(lighttpdPid, 'lighttpd pid not found');
        const parents = h.workerPids(lighttpdPid);
        assert.equal(parents.length, 1, `lighttpd children: ${parents}`);
        const workers = h.workerPids(parents[0]);
        assert.equal(workers.length, 2, `switchyard workers: ${workers}`);
        /* SIGTERM to lighttpd alone: it must stop the backend it spawned. */
        process.kill(lighttpdPid, 'SIGTERM');
        await h.waitFor('switchyard to exit with lighttpd', () =>
            ![lighttpdPid, parents[0], ...workers].some(h.alive), 10000);
    });
});
