/*
 * admin_hostile.test.js - the virtual-key admin API (core/serve/admin.c)
 * against bodies and requests that used to slip through:
 *   - names "." and ".." were accepted, but /admin/keys/. and
 *     /admin/keys/.. are dot segments (resolved by clients and web
 *     servers, refused by core/api/mount.c): a live key the API could
 *     never show, update or revoke. Now 400 at create;
 *   - a positive budget_usd below 0.000001 rounded to 0 (or 1) micro-USD; 0
 *     means "no budget": an unlimited key. Now 400 (create and PATCH);
 *   - an escaped NUL cut strings ({"name":"ab\u0000cd"} created "ab",
 *     a models entry "g-basic\u0000,x" allowed "g-basic"). Now 400;
 *   - a 405 came without the Allow header RFC 9110 requires.
 * docs/keys.md describes the API.
 * SPDX-License-Identifier: MIT
 */
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const h = require('./harness');

const SKIP = h.missing('redis') || h.missing('lighttpd') || false;
const ENV = { SY_T_AH_ADMIN: 'admin-hostile-admin-key-0123456789',
    SY_T_AH_SECRET: 'admin-hostile-secret-0123456789abcdef' };

/* node's http.request sends the path and body as they are. */
function raw(port, method, p, body) {
    return new Promise((resolve) => {
        const headers = { Authorization: `Bearer ${ENV.SY_T_AH_ADMIN}` };
        if (body) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (r) => {
            let b = '';
            r.setEncoding('utf8');
            r.on('data', (c) => { b += c; });
            r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body: b }));
        });
        req.on('error', (e) => resolve({ status: 0, headers: {}, body: String(e) }));
        if (body) req.write(body);
        req.end();
    });
}

/* A 400 naming 'param'. */
function refused(r, param, what) {
    assert.equal(r.status, 400, `${what} -> ${r.status} ${r.body.slice(0, 200)}`);
    assert.equal(JSON.parse(r.body).error.param, param, `${what}: ${r.body.slice(0, 200)}`);
}

describe('admin API: hostile bodies and methods', { skip: SKIP }, () => {
    let redis, redisDir, S, port;
    before(async () => {
        redisDir = h.makeTmpDir('redis');
        redis = new h.Redis(redisDir);
        await redis.start();
        S = new h.Stack({ tag: 'admin_hostile', env: ENV, config: (mp) => {
            const cfg = h.gatewayConfig(mp, { deployments: { basic: {} }, groups: { 'g-basic': ['basic'] },
                server: { processes: 1, threads: 4, admin_key_env: 'SY_T_AH_ADMIN' } });
            cfg.state = { redis_url: redis.url, prefix: 'sy:', key_secret_env: 'SY_T_AH_SECRET',
                breaker: { consecutive: 0, failure_pct: 0 } };
            return cfg;
        } });
        await S.start();
        port = S.web.lighttpd.port;
    });
    after(async () => {
        if (S) await S.stop();
        if (redis) await redis.stop();
        if (redisDir) h.removeTmpDir(redisDir);
    });

    test('names "." and ".." are refused: no URL could reach them', async () => {
        for (const name of ['.', '..']) {
            const c = await raw(port, 'POST', '/admin/keys', JSON.stringify({ name }));
            refused(c, 'name', `name '${name}'`);
            assert.match(JSON.parse(c.body).error.message, /cannot be addressed/);
        }
        /* other names with dots are path segments like any other */
        for (const name of ['...', '.x', 'x..']) {
            const c = await raw(port, 'POST', '/admin/keys', JSON.stringify({ name }));
            assert.equal(c.status, 201, `${name}: ${c.body.slice(0, 200)}`);
            const d = await raw(port, 'DELETE', `/admin/keys/${name}`);
            assert.equal(d.status, 200, `${name}: ${d.body.slice(0, 200)}`);
        }
    });

    test('a positive budget below 1 micro-USD is refused, never turned into no budget', async () => {
        for (const b of [1e-7, 0.0000004, 0.0000007, 5e-324]) {
            refused(await raw(port, 'POST', '/admin/keys', JSON.stringify({ name: 'tiny', budget_usd: b })),
                'budget_usd', `create budget_usd ${b}`);
        }
        assert.equal((await raw(port, 'GET', '/admin/keys/tiny')).status, 404);
        const c = await raw(port, 'POST', '/admin/keys', JSON.stringify({ name: 'tiny', budget_usd: 0.000001 }));
        assert.equal(c.status, 201, c.body);
        assert.equal(JSON.parse(c.body).budget_usd, 0.000001);
        refused(await raw(port, 'PATCH', '/admin/keys/tiny', JSON.stringify({ budget_usd: 0.0000004 })),
            'budget_usd', 'PATCH budget_usd 4e-7');
        const s = await raw(port, 'GET', '/admin/keys/tiny');
        assert.equal(JSON.parse(s.body).budget_usd, 0.000001, s.body);
        /* 0 and null still mean "no budget" */
        const z = await raw(port, 'PATCH', '/admin/keys/tiny', JSON.stringify({ budget_usd: 0 }));
        assert.equal(z.status, 200, z.body);
        assert.equal(JSON.parse(z.body).budget_usd, null);
    });

    test('a NUL inside a string is refused, not cut', async () => {
        for (const [body, param] of [['{"name":"ab\\u0000cd"}', 'name'],
            ['{"name":"t1","team":"qa\\u0000x"}', 'team'],
            ['{"name":"m1","models":["g-basic\\u0000,x"]}', 'models'],
            ['{"name":"p1","budget_period":"day\\u0000x"}', 'budget_period'],
            ['{"name":"e1","expires_at":"2099-01-01\\u0000x"}', 'expires_at']]) {
            refused(await raw(port, 'POST', '/admin/keys', body), param, body);
        }
        for (const name of ['ab', 't1', 'm1', 'p1', 'e1'])
            assert.equal((await raw(port, 'GET', `/admin/keys/${name}`)).status, 404, name);
        const c = await raw(port, 'POST', '/admin/keys', JSON.stringify({ name: 'nul' }));
        assert.equal(c.status, 201, c.body);
        refused(await raw(port, 'PATCH', '/admin/keys/nul', '{"team":"a\\u0000b"}'), 'team', 'PATCH team');
        refused(await raw(port, 'PATCH', '/admin/keys/nul', '{"models":["g-basic\\u0000"]}'), 'models', 'PATCH models');
    });

    test('a 405 carries Allow', async () => {
        for (const [method, p, allow] of [['OPTIONS', '/admin/keys', 'GET, POST'],
            ['PUT', '/admin/keys', 'GET, POST'], ['PUT', '/admin/keys/x', 'GET, PATCH, DELETE'],
            ['POST', '/admin/keys/x', 'GET, PATCH, DELETE']]) {
            const r = await raw(port, method, p, method === 'POST' ? '{}' : undefined);
            assert.equal(r.status, 405, `${method} ${p}: ${r.body.slice(0, 200)}`);
            assert.equal(r.headers.allow, allow, `${method} ${p}`);
            assert.match(JSON.parse(r.body).error.message, new RegExp(allow));
        }
        const ok = await raw(port, 'GET', '/admin/keys');
        assert.equal(ok.status, 200);
        assert.equal(ok.headers.allow, undefined);
    });
});
