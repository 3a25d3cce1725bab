/*
 * cluster.js - the pieces of the multi-host tests, each started inside its
 * network namespace of topology.sh (with 'ip netns exec', under the
 * harness' process bookkeeping: bounded lifetime, own process group,
 * killed on exit):
 *
 *   redis   redis-server on NET.2:6379
 *   mock    build/mock-llm on the namespace's 127.0.0.1, exposed on
 *           NET.3:8000 by build/relay (no delay)
 *   hN      build/relay on 127.0.0.1:6380 -> NET.2:6379 adding RELAY_DELAY_MS
 *           each way, the switchyard pool (its Redis is that relay, its
 *           provider the mock on NET.3), lighttpd on NET.1N:8080
 *
 * The test runs in PREFIX-cl (run.sh puts it there) and reaches the hosts
 * and the mock by their addresses; its own Redis client goes through a
 * relay without delay on its 127.0.0.1 (so the harness' RESP client,
 * which talks to 127.0.0.1, can be used as it is). Fixed ports are fine:
 * every namespace is new and empty.
 * Environment (from run.sh): SY_MH_PREFIX, SY_MH_NET, SY_BUILD_DIR.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../harness');

const PREFIX = process.env.SY_MH_PREFIX || '';
const NET = process.env.SY_MH_NET || '';
const RELAY = path.join(h.BUILD, 'relay');
const RELAY_DELAY_MS = 2;
const HOSTS = ['h1', 'h2', 'h3'];
const ADDR = { redis: `${NET}.2`, mock: `${NET}.3`, h1: `${NET}.11`, h2: `${NET}.12`,
    h3: `${NET}.13`, cl: `${NET}.100` };
const PORT = { redis: 6379, mock: 8000, relay: 6380, http: 8080 };
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((f) => fs.existsSync(f));

/* Why the tests cannot run (null when they can). */
function missing() {
    if (!PREFIX || !/^10\.\d+\.\d+$/.test(NET)) {
        return 'not started by tests/integration/multihost/run.sh (no SY_MH_PREFIX/SY_MH_NET)';
    }
    if (!IP) return 'iproute2 (ip) not installed';
    for (const f of [h.SWITCHYARD, h.MOCK, RELAY]) {
        if (!fs.existsSync(f)) return `${f} is missing (run make)`;
    }
    return h.missing('redis') || h.missing('lighttpd') || null;
}

/* argv run inside namespace PREFIX-'ns'. */
function inNs(ns, argv) {
    return [IP, 'netns', 'exec', `${PREFIX}-${ns}`, ...argv];
}

function readPort(file) {
    const t = fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim();
    return t && /^\d+$/.test(t) ? Number(t) : 0;
}

/* Start build/relay (in namespace 'ns', or here when null); resolves once
 * it listens, with {proc, port}. */
async function startRelay(dir, name, ns, listen, to, delayMs) {
    const portFile = path.join(dir, `${name}.port`);
    const argv = [RELAY, '--listen', listen, '--to', to, '--delay-us', String(delayMs * 1000),
        '--port-file', portFile, '--max-lifetime', String(Number(process.env.SY_TEST_LIFETIME || 300))];
    const proc = h.spawnProc(name, ns ? inNs(ns, argv) : argv, { log: path.join(dir, `${name}.log`) });
    let port = 0;
    await h.waitFor(name, () => (port = readPort(portFile)) > 0, 10000, proc);
    return { proc, port };
}

/*
 * RTT from namespace 'ns' to 'host':'port' measured by redis-cli --latency
 * (one second of PINGs): {min, max, avg, samples} in ms, or null.
 */
function redisLatency(ns, host, port) {
    const r = spawnSync(h.TOOLS.timeout, ['-k', '1', '5', ...inNs(ns,
        ['redis-cli', '-h', host, '-p', String(port), '--latency', '--raw'])], { encoding: 'utf8' });
    const m = /^\s*([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/m.exec(r.stdout || '');
    return m ? { min: Number(m[1]), max: Number(m[2]), avg: Number(m[3]), samples: Number(m[4]) }
        : null;
}

class Cluster {
    /*
     * opts: {config: (redisUrl, mockBase) => switchyard config object,
     * env: extra environment of every pool, hostEnv: {h1: {...}, ...}}.
     */
    constructor(opts) {
        this.opts = opts;
        this.hosts = {};      /* name -> {dir, relay, gw, gwPid, web, base} */
        this.procs = [];
    }

    get redisUrl() { return `redis://${ADDR.redis}:${PORT.redis}`; }

    async start() {
        this.dir = h.makeTmpDir('mh');
        await this.startRedis();
        await this.startMock();
        /* The test's own view of Redis, with no delay. */
        const r = await startRelay(this.dir, 'relay-cl', null, '127.0.0.1:0',
            `${ADDR.redis}:${PORT.redis}`, 0);
        this.procs.push(r.proc);
        this.redisPort = r.port;
        await Promise.all(HOSTS.map((n) => this.startHost(n)));
        return this;
    }

    async startRedis() {
        const proc = h.spawnProc('redis-server', inNs('redis', [h.TOOLS.redis,
            '--bind', ADDR.redis, '--port', String(PORT.redis), '--save', '', '--appendonly', 'no',
            '--dir', this.dir, '--protected-mode', 'no']), { log: path.join(this.dir, 'redis.log') });
        this.procs.push(proc);
        await h.waitFor('redis-server', () => h.canConnect({ host: ADDR.redis, port: PORT.redis }),
            10000, proc);
    }

    async startMock() {
        const portFile = path.join(this.dir, 'mock.port');
        const proc = h.spawnProc('mock-llm', inNs('mock', [h.MOCK, '--port', '0',
            '--port-file', portFile, '--max-lifetime', String(Number(process.env.SY_TEST_LIFETIME || 300)),
            '--threads', '4', '--quiet']), { log: path.join(this.dir, 'mock.log') });
        this.procs.push(proc);
        let port = 0;
        await h.waitFor('mock-llm', () => (port = readPort(portFile)) > 0, 10000, proc);
        const r = await startRelay(this.dir, 'relay-mock', 'mock', `${ADDR.mock}:${PORT.mock}`,
            `127.0.0.1:${port}`, 0);
        this.procs.push(r.proc);
        /* The harness' mock client, pointed at the mock's address. */
        this.mock = new h.Mock(this.dir);
        this.mock.port = PORT.mock;
        this.mock.base = `http://${ADDR.mock}:${PORT.mock}`;
    }

    async startHost(name) {
        const dir = path.join(this.dir, name);
        const run = path.join(dir, 'run');
        fs.mkdirSync(run, { recursive: true, mode: 0o755 });
        const host = { name, dir, addr: ADDR[name] };
        this.hosts[name] = host;
        host.relay = await startRelay(dir, 'relay-redis', name, `127.0.0.1:${PORT.relay}`,
            `${ADDR.redis}:${PORT.redis}`, RELAY_DELAY_MS);
        const cfg = this.opts.config(`redis://127.0.0.1:${PORT.relay}`,
            `http://${ADDR.mock}:${PORT.mock}`);
        host.configFile = path.join(dir, 'switchyard.json');
        fs.writeFileSync(host.configFile, JSON.stringify(cfg, null, 2));
        const sock = path.join(dir, 'switchyard.sock');
        const pidFile = path.join(dir, 'switchyard.pid');
        host.gw = h.spawnProc(`switchyard-${name}`, inNs(name, [h.SWITCHYARD, 'serve',
            '--listen', `unix:${sock}`, '--pid-file', pidFile, '--config', host.configFile]), {
            log: path.join(dir, 'switchyard.log'),
            env: { ...(this.opts.env || {}), ...((this.opts.hostEnv || {})[name] || {}) },
        });
        await h.waitFor(`switchyard on ${name}`, async () =>
            fs.existsSync(pidFile) && h.canConnect({ path: sock }), 15000, host.gw);
        host.web = h.spawnProc(`lighttpd-${name}`, inNs(name, [h.TOOLS.lighttpd, '-D', '-f',
            h.LIGHTTPD_CONF]), {
            log: path.join(dir, 'lighttpd.out'),
            env: { SWITCHYARD_HTTP_ADDR: host.addr, SWITCHYARD_HTTP_PORT: String(PORT.http),
                SWITCHYARD_SOCKET: sock, SWITCHYARD_RUN_DIR: run },
        });
        host.base = `http://${host.addr}:${PORT.http}`;
        /* Up when /healthz says Redis is up: the pool reached it through
         * the relay. */
        await h.waitFor(`${name} healthz`, async () => {
            const r = await h.request(host.base, { path: '/healthz', timeout: 2000 });
            return r.status === 200 && r.json && r.json.redis === 'up';
        }, 20000, host.web);
    }

    base(name) { return this.hosts[name].base; }

    redis(...args) { return h.redisCommand(this.redisPort, ...args); }

    async hash(key) {
        const r = await this.redis('HGETALL', key);
        const o = {};
        for (let i = 0; i + 1 < r.length; i += 2) o[r[i]] = r[i + 1];
        return o;
    }

    logs() {
        const out = [];
        for (const n of HOSTS) {
            for (const f of ['switchyard.log', 'run/lighttpd-error.log', 'relay-redis.log']) {
                const p = path.join(this.dir, n, f);
                if (fs.existsSync(p)) out.push(`--- ${n}/${f}\n${h.tail(p, 20)}`);
            }
        }
        return out.join('\n');
    }

    async stop() {
        for (const host of Object.values(this.hosts)) {
            await h.stopProc(host.web);
            await h.stopProc(host.gw, 8000);
            if (host.relay) await h.stopProc(host.relay.proc);
        }
        for (const p of this.procs.reverse()) await h.stopProc(p);
        if (process.env.SY_TEST_VERBOSE === '1' && this.dir) process.stderr.write(`${this.logs()}\n`);
        if (this.dir) h.removeTmpDir(this.dir);
    }
}

module.exports = { Cluster, missing, redisLatency, inNs, ADDR, PORT, HOSTS, RELAY_DELAY_MS };
