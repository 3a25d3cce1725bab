/*
 * redis_readonly.test.js - a Redis that answers but takes no writes (out
 * of memory under noeviction; a read-only replica and a failed save say
 * so the same way) is not "up": /healthz says degraded while the state
 * thread's writes are refused, and ok again once they are taken
 * (core/state/state.c, core/io/store_reply.c sy_store_writes_refused).
 * Before, /healthz said {"status":"ok","redis":"up"} for the whole
 * episode while spend, metrics and stored responses were refused.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let redis;
const stack = new h.Stack({
    tag: 'redis-readonly',
    servers: ['lighttpd'],
    config: (mockPort) => {
        const cfg = h.gatewayConfig(mockPort, {
            deployments: { a: {} },
            groups: { 'm-a': ['a'] },
            server: { processes: 1, threads: 2 },
        });
        cfg.state = { redis_url: redis.url, prefix: 'sy:', refresh_ms: 100 };
        return cfg;
    },
});

before(async () => {
    redis = new h.Redis(h.makeTmpDir('redis-readonly'));
    await redis.start();
    await stack.start();
}, { timeout: 60000 });

after(async () => {
    await stack.stop();
    await redis.cmd('CONFIG', 'SET', 'maxmemory', '0').catch(() => {});
    await redis.stop();
}, { timeout: 30000 });

async function health() {
    const r = await h.request(stack.base('lighttpd'), { path: '/healthz', timeout: 3000 });
    return JSON.parse(r.body);
}

/* Requests keep the state thread writing (latency samples, metrics). */
async function until(what, fn) {
    await h.waitFor(what, async () => {
        const r = await h.chat(stack.base('lighttpd'), { model: 'm-a', timeout: 5000 });
        assert.equal(r.status, 200, 'requests are still served');
        return fn(await health());
    }, 15000);
}

describe('a Redis that refuses writes', () => {
    it('is reported degraded, and ok again when it takes them', { timeout: 60000 }, async () => {
        await until('healthz ok', (j) => j.status === 'ok' && j.redis === 'up');
        await redis.cmd('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        await redis.cmd('CONFIG', 'SET', 'maxmemory', '1');
        await until('healthz degraded', (j) => j.status === 'degraded' && j.redis === 'down');
        await redis.cmd('CONFIG', 'SET', 'maxmemory', '0');
        await until('healthz ok again', (j) => j.status === 'ok' && j.redis === 'up');
    });
});
